//! The device registry: one row per device of any transport. Devices are created by the write
//! path (first reading or status); the API may rename, disable or annotate them.

use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;

use super::{Ctx, Store, StoreError};
use crate::model::Transport;

/// A device as the REST API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Device {
    pub id: String,
    pub name: Option<String>,
    pub transport: Transport,
    #[serde(rename = "first_seen")]
    pub first_seen_ms: i64,
    #[serde(rename = "last_seen")]
    pub last_seen_ms: i64,
    pub online: bool,
    pub enabled: bool,
    /// Always a JSON object.
    pub metadata: serde_json::Value,
}

/// Changes for `PATCH /devices/{id}`; `None` leaves a field alone. `name: Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DevicePatch {
    pub name: Option<Option<String>>,
    pub enabled: Option<bool>,
    pub metadata: Option<serde_json::Value>,
}

const COLUMNS: &str =
    "key, name, transport, first_seen, last_seen, online, enabled, metadata FROM devices";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Device> {
    let transport: Option<String> = r.get(2)?;
    let metadata: Option<String> = r.get(7)?;
    Ok(Device {
        id: r.get(0)?,
        name: r.get(1)?,
        transport: transport
            .as_deref()
            .and_then(Transport::parse)
            .unwrap_or(Transport::Mqtt),
        first_seen_ms: r.get::<_, Option<i64>>(3)?.unwrap_or(0),
        last_seen_ms: r.get::<_, Option<i64>>(4)?.unwrap_or(0),
        online: r.get::<_, Option<i64>>(5)?.unwrap_or(0) != 0,
        enabled: r.get::<_, Option<i64>>(6)?.unwrap_or(1) != 0,
        metadata: metadata
            .and_then(|m| serde_json::from_str(&m).ok())
            .filter(serde_json::Value::is_object)
            .unwrap_or_else(|| serde_json::Value::Object(Default::default())),
    })
}

impl Store {
    /// Every device, ordered by id string. Bounded by `max_devices`.
    pub fn devices(&self) -> Result<Vec<Device>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} ORDER BY key"))
            .ctx("devices")?;
        let rows = stmt.query_map([], from_row).ctx("devices")?;
        let mut devices = rows.collect::<Result<Vec<_>, _>>().ctx("devices")?;
        devices.iter_mut().for_each(|d| self.overlay_seen(d));
        Ok(devices)
    }

    /// What a RAM head saw of the device since the last flush (`head.rs`) over the file's row.
    fn overlay_seen(&self, device: &mut Device) {
        let Some(entry) = self.st.devices.get(&device.id) else {
            return;
        };
        if let Some(seen) = self.st.deferred.seen.get(&entry.id) {
            if let Some(ts) = seen.last_seen {
                device.last_seen_ms = device.last_seen_ms.max(ts);
            }
            device.online = seen.online;
            device.transport = seen.transport;
        }
    }

    /// The `(device, metric)` series that hold readings, by registry ids, at most `limit`: one
    /// index seek per series in the head (the walk of the age eviction), not a scan of the
    /// rows, then the series of sealed chunks (a scan of their index).
    pub fn series(&self, limit: usize) -> Result<Vec<(String, String)>, StoreError> {
        let mut next = self
            .conn
            .prepare_cached(
                "SELECT device_id, metric_id FROM readings WHERE (device_id, metric_id) > (?1, ?2) \
                 ORDER BY device_id, metric_id LIMIT 1",
            )
            .ctx("series")?;
        let mut from = (i64::MIN, i64::MIN);
        let mut pairs = std::collections::BTreeSet::new();
        while pairs.len() < limit {
            let pair: Option<(i64, i64)> = next
                .query_row(params![from.0, from.1], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
                .ctx("series")?;
            let Some(pair) = pair else { break };
            from = pair;
            pairs.insert(pair);
        }
        if self.st.sealed > 0 {
            let sealed: Vec<(i64, i64)> = self
                .conn
                .prepare_cached("SELECT DISTINCT device_id, metric_id FROM chunks")
                .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
                .ctx("series")?;
            pairs.extend(sealed);
        }
        let mut series = Vec::new();
        for (device, metric) in pairs.into_iter().take(limit) {
            let device = self.st.device_keys.get(&device);
            if let (Some(device), Some(metric)) = (device, self.st.metric_names.get(&metric)) {
                series.push((device.clone(), metric.clone()));
            }
        }
        Ok(series)
    }

    /// One device by its id string.
    pub fn device(&self, key: &str) -> Result<Option<Device>, StoreError> {
        if !self.st.devices.contains_key(key) {
            return Ok(None);
        }
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} WHERE key = ?1"))
            .ctx("device")?;
        let mut rows = stmt.query_map([key], from_row).ctx("device")?;
        let mut device = rows.next().transpose().ctx("device")?;
        if let Some(d) = &mut device {
            self.overlay_seen(d);
        }
        Ok(device)
    }

    /// Applies `patch` to device `key`; `None` when there is no such device. Disabling takes
    /// effect for the next batch: its readings are dropped and counted.
    pub fn patch_device(
        &mut self,
        key: &str,
        patch: &DevicePatch,
    ) -> Result<Option<Device>, StoreError> {
        let Some(entry) = self.st.devices.get(key).copied() else {
            return Ok(None);
        };
        let metadata = match &patch.metadata {
            Some(m) if !m.is_object() => return Err(StoreError::InvalidMetadata),
            Some(m) => Some(m.to_string()),
            None => None,
        };
        let tx = self.conn.transaction().ctx("patch_device: begin")?;
        if let Some(name) = &patch.name {
            tx.execute(
                "UPDATE devices SET name = ?1 WHERE id = ?2",
                params![name, entry.id],
            )
            .ctx("patch_device: name")?;
        }
        if let Some(enabled) = patch.enabled {
            tx.execute(
                "UPDATE devices SET enabled = ?1 WHERE id = ?2",
                params![enabled, entry.id],
            )
            .ctx("patch_device: enabled")?;
        }
        if let Some(m) = metadata {
            tx.execute(
                "UPDATE devices SET metadata = ?1 WHERE id = ?2",
                params![m, entry.id],
            )
            .ctx("patch_device: metadata")?;
        }
        tx.commit().ctx("patch_device: commit")?;
        if let Some(enabled) = patch.enabled {
            if let Some(e) = self.st.devices.get_mut(key) {
                e.enabled = enabled;
            }
        }
        self.device(key)
    }
}
