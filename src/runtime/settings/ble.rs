//! Settings of the BLE source (`config ble`, `config ble_device`).

use crate::config::Config;
use crate::ingest::ble::{scanner::ScanSettings, BleAddress, BleDeviceSettings, BleSettings};

/// BLE decoding settings from `config ble` and the `config ble_device` sections: bindkeys and
/// ids of known devices, the allow list (the `allow` addresses join the known devices, and
/// then only known devices are accepted), the deny list and the company id of acs-proto frames.
pub fn ble_settings(config: &Config) -> BleSettings {
    let ble = &config.ble;
    let mut devices: Vec<BleDeviceSettings> = ble
        .devices
        .iter()
        .map(|d| BleDeviceSettings {
            mac: BleAddress(d.mac),
            bindkey: d.bindkey,
            id: d.id.clone(),
        })
        .collect();
    for mac in &ble.allow {
        if !devices.iter().any(|d| d.mac.0 == *mac) {
            devices.push(BleDeviceSettings {
                mac: BleAddress(*mac),
                bindkey: None,
                id: None,
            });
        }
    }
    BleSettings {
        frame_company_id: ble.frame_company_id,
        devices,
        only_listed: !ble.allow.is_empty(),
        deny: ble.deny.iter().copied().map(BleAddress).collect(),
    }
}

/// Where and how the BLE scanner listens (`config ble`).
pub fn ble_scan_settings(config: &Config) -> ScanSettings {
    ScanSettings {
        adapter: config.ble.adapter.clone(),
        dbus_address: config.ble.dbus_address.clone(),
        restart_max: config.ble.restart_max,
    }
}
