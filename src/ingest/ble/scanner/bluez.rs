//! One scan session with btleplug: connect to BlueZ on the system bus, pick the adapter, start
//! discovery, and turn its events into [`Advert`]s with the device's address and RSSI.
//!
//! Invariants: only service data and manufacturer data events (and the data a device carries
//! when it is discovered during the scan, not the stale data of devices BlueZ already knew)
//! become adverts, so an RSSI-only update never stores a
//! measurement twice; service data under a UUID outside the Bluetooth base range (no UUID16)
//! is skipped; the session ends with an error when the event stream ends, the adapter is
//! powered off, or the adapter stops answering (probed every [`PROBE_INTERVAL`]).

use super::{ScanSettings, POLL_INTERVAL};
use crate::ingest::ble::sink::{AdvertSink, WriterGone};
use crate::ingest::ble::{Advert, BleAddress, Payload};
use crate::ingest::stats::{BleCounters, ScannerState};
use crate::threads::StopFlag;
use btleplug::api::bleuuid::BleUuid;
use btleplug::api::{Central, CentralEvent, CentralState, Manager as _, Peripheral as _};
use btleplug::api::{PeripheralProperties, ScanFilter};
use btleplug::platform::{Adapter, Manager, PeripheralId};
use smol::stream::StreamExt;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// How often a quiet adapter is asked whether it is still there.
const PROBE_INTERVAL: Duration = Duration::from_secs(10);
/// Longest wait for one D-Bus call (libdbus' own default is 25 s).
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a scan session ended.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("D-Bus/BlueZ: {0}")]
    Bluetooth(#[from] btleplug::Error),
    #[error("no Bluetooth adapter{}", found_text(.0))]
    NoAdapter(Vec<String>),
    #[error("adapter '{wanted}' not found{}", found_text(.found))]
    AdapterNotFound { wanted: String, found: Vec<String> },
    #[error("the adapter was powered off")]
    PoweredOff,
    #[error("the adapter's event stream ended")]
    EventsEnded,
    #[error("BlueZ did not answer within {} s", CALL_TIMEOUT.as_secs())]
    Timeout,
}

fn found_text(found: &[String]) -> String {
    if found.is_empty() {
        String::new()
    } else {
        format!(" (found: {})", found.join(", "))
    }
}

async fn call<T>(
    future: impl std::future::Future<Output = btleplug::Result<T>>,
) -> Result<T, ScanError> {
    match tokio::time::timeout(CALL_TIMEOUT, future).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(ScanError::Timeout),
    }
}

/// Scans until `stop` is set (Ok) or something fails (Err). Ok also when the writer is gone.
pub(super) async fn scan(
    settings: &ScanSettings,
    sink: &mut AdvertSink<'_>,
    counters: &BleCounters,
    stop: &StopFlag,
) -> Result<(), ScanError> {
    let manager = call(Manager::new()).await?;
    let (adapter, name) = pick_adapter(&manager, settings.adapter.as_deref()).await?;
    // BlueZ keeps devices it heard before, with their last data; btleplug reports them as
    // discovered when the stream opens. That data may be hours old and has no time, so it is
    // not stored: those devices count from their next advertisement.
    let mut cached: HashSet<PeripheralId> = call(adapter.peripherals())
        .await?
        .iter()
        .map(|p| p.id())
        .collect();
    let mut events = call(adapter.events()).await?;
    call(adapter.start_scan(ScanFilter::default())).await?;
    counters.set_scanner(ScannerState::Running, Some(&name), None);
    log::info!("adapter={name} BLE scanner running");
    let mut last_probe = Instant::now();
    while !stop.is_set() {
        let event = match tokio::time::timeout(POLL_INTERVAL, events.next()).await {
            Ok(Some(event)) => event,
            Ok(None) => return Err(ScanError::EventsEnded),
            Err(_) => {
                if last_probe.elapsed() >= PROBE_INTERVAL {
                    last_probe = Instant::now();
                    call(adapter.adapter_info()).await?;
                }
                continue;
            }
        };
        let advert = match event {
            CentralEvent::StateUpdate(CentralState::PoweredOff) => {
                return Err(ScanError::PoweredOff)
            }
            CentralEvent::ServiceDataAdvertisement { id, service_data } => {
                advert_of(&adapter, &id, &service_data, &HashMap::new()).await
            }
            CentralEvent::ManufacturerDataAdvertisement {
                id,
                manufacturer_data,
            } => advert_of(&adapter, &id, &HashMap::new(), &manufacturer_data).await,
            CentralEvent::DeviceDiscovered(id) if !cached.remove(&id) => {
                match properties(&adapter, &id).await {
                    Some(p) => advert_from(&p, &p.service_data, &p.manufacturer_data),
                    None => None,
                }
            }
            _ => None,
        };
        if let Some(advert) = advert {
            if let Err(WriterGone) = sink.submit(&advert) {
                break;
            }
        }
    }
    // Best effort: the daemon is stopping, and BlueZ ends a discovery whose client left anyway.
    let _ = tokio::time::timeout(CALL_TIMEOUT, adapter.stop_scan()).await;
    Ok(())
}

/// The adapter named `wanted`, or the first one; with its name (`hci0`).
async fn pick_adapter(
    manager: &Manager,
    wanted: Option<&str>,
) -> Result<(Adapter, String), ScanError> {
    let mut found = Vec::new();
    for adapter in call(manager.adapters()).await? {
        // "hci0 (usb:v1D6Bp0246d0537)"
        let info = call(adapter.adapter_info()).await?;
        let name = info
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned();
        if wanted.is_none_or(|w| w == name) {
            return Ok((adapter, name));
        }
        found.push(name);
    }
    Err(match wanted {
        Some(wanted) => ScanError::AdapterNotFound {
            wanted: wanted.to_owned(),
            found,
        },
        None => ScanError::NoAdapter(found),
    })
}

/// The device's current properties; `None` when it vanished meanwhile.
async fn properties(adapter: &Adapter, id: &PeripheralId) -> Option<PeripheralProperties> {
    let peripheral = call(adapter.peripheral(id)).await.ok()?;
    call(peripheral.properties()).await.ok().flatten()
}

/// An advert of the data in an event, with the address and RSSI from the device's properties.
async fn advert_of(
    adapter: &Adapter,
    id: &PeripheralId,
    service_data: &HashMap<uuid::Uuid, Vec<u8>>,
    manufacturer_data: &HashMap<u16, Vec<u8>>,
) -> Option<Advert> {
    let props = properties(adapter, id).await?;
    advert_from(&props, service_data, manufacturer_data)
}

fn advert_from(
    props: &PeripheralProperties,
    service_data: &HashMap<uuid::Uuid, Vec<u8>>,
    manufacturer_data: &HashMap<u16, Vec<u8>>,
) -> Option<Advert> {
    let payloads = payloads_of(
        service_data
            .iter()
            .map(|(uuid, data)| (uuid.to_ble_u16(), data)),
        manufacturer_data,
    );
    if payloads.is_empty() {
        return None;
    }
    Some(Advert {
        mac: BleAddress(props.address.into_inner()),
        rssi: props.rssi.filter(|r| (-127..=20).contains(r)),
        ts_ms: None,
        payloads,
    })
}

/// Payloads in a stable order (service data by UUID, then manufacturer data by company), so
/// the decoder tries them the same way every time; service data without a UUID16 is skipped.
pub fn payloads_of<'a>(
    service_data: impl Iterator<Item = (Option<u16>, &'a Vec<u8>)>,
    manufacturer_data: &HashMap<u16, Vec<u8>>,
) -> Vec<Payload> {
    let mut services: Vec<Payload> = service_data
        .filter_map(|(uuid, data)| {
            uuid.map(|uuid| Payload::ServiceData {
                uuid,
                data: data.clone(),
            })
        })
        .collect();
    services.sort_by_key(|p| match p {
        Payload::ServiceData { uuid, .. } => *uuid,
        Payload::ManufacturerData { company, .. } => *company,
    });
    let mut companies: Vec<_> = manufacturer_data.iter().collect();
    companies.sort_by_key(|(company, _)| **company);
    services.extend(
        companies
            .into_iter()
            .map(|(company, data)| Payload::ManufacturerData {
                company: *company,
                data: data.clone(),
            }),
    );
    services
}
