//! `config ble 'ble'` and `config ble_device 'NAME'`: the BLE scanner and known sensors, with
//! the parsers of Bluetooth addresses and company ids the typed configuration uses too.

use super::check::check_device_ref;
use super::keys::{Flag, Int, List, Text};
use super::spec::{Kind, MultiSectionSpec, OptionSpec, SectionSpec};

pub const BLE: SectionSpec = SectionSpec {
    name: "ble",
    doc: "Bluetooth LE sensors heard by an adapter of this router through BlueZ (bluetoothd\n\
          on the system D-Bus): BTHome v2 (encrypted too, with a ble_device bindkey), pvvx\n\
          and ATC1441 thermometer firmware, RuuviTag format 5, and acs-proto frames in\n\
          manufacturer data. Devices get the id ble-<address> (ble-a4c1388d18b2).",
    options: &[
        OptionSpec {
            name: "enabled",
            kind: Kind::Bool(Flag::BleEnabled),
            default: "0",
            reload: false,
            doc: "Scan for BLE advertisements (builds with the `ble` feature; needs bluetoothd).",
        },
        OptionSpec {
            name: "adapter",
            kind: Kind::Text { key: Text::BleAdapter, check: check_adapter },
            default: "",
            reload: false,
            doc: "The adapter to scan with, by name (hci0). '' = the first adapter.",
        },
        OptionSpec {
            name: "dbus_address",
            kind: Kind::Text { key: Text::BleDbusAddress, check: check_dbus_address },
            default: "",
            reload: false,
            doc: "Address of the system D-Bus where bluetoothd runs, such as\n\
                  unix:path=/var/run/dbus/system_bus_socket. '' = the default system bus.",
        },
        OptionSpec {
            name: "frame_company_id",
            kind: Kind::Text { key: Text::BleFrameCompanyId, check: check_company_id },
            default: "",
            reload: false,
            doc: "Company id (hex, such as 0xffff) whose manufacturer data carries acs-proto frames.\n\
                  '' = such frames are not read.",
        },
        OptionSpec {
            name: "allow",
            kind: Kind::List { key: List::BleAllow, check: check_mac },
            default: "",
            reload: false,
            doc: "Addresses to accept (`list allow 'A4:C1:38:8D:18:B2'`, one line each). When any is\n\
                  set, only these and the addresses of ble_device sections are accepted.\n\
                  '' = every device in range.",
        },
        OptionSpec {
            name: "deny",
            kind: Kind::List { key: List::BleDeny, check: check_mac },
            default: "",
            reload: false,
            doc: "Addresses always ignored (`list deny 'A4:C1:38:8D:18:B2'`, one line each).",
        },
        OptionSpec {
            name: "restart_max_s",
            kind: Kind::Int { key: Int::BleRestartMaxS, min: 1, max: 3600 },
            default: "60",
            reload: false,
            doc: "Longest wait in seconds before the scanner starts again after the adapter, bluetoothd\n\
                  or the bus went away (the wait doubles from 1 s up to this).",
        },
    ],
};

pub const BLE_DEVICE: MultiSectionSpec = MultiSectionSpec {
    name: "ble_device",
    doc: "A known Bluetooth LE sensor, named by the section: its bindkey when it encrypts\n\
          (BTHome v2), the device id its readings get, and a place on the allow list\n\
          (see ble.allow). Devices without a section are read too, unless ble.allow is set.",
    required: &["mac"],
    example: "config ble_device 'kitchen'\n\
              \toption mac 'A4:C1:38:8D:18:B2'\n\
              \toption bindkey '231d39c1d7cc1ab1aee224cd096db932'\n\
              \toption id 'kitchen'\n",
    options: &[
        OptionSpec {
            name: "mac",
            kind: Kind::Text {
                key: Text::BleDeviceMac,
                check: check_mac_or_empty,
            },
            default: "",
            reload: false,
            doc: "The device's Bluetooth address, such as A4:C1:38:8D:18:B2.",
        },
        OptionSpec {
            name: "bindkey",
            kind: Kind::Secret(Text::BleDeviceBindkey),
            default: "",
            reload: false,
            doc: "BTHome v2 encryption key: 32 hex digits. '' = the device does not encrypt.\n\
                  Never logged.",
        },
        OptionSpec {
            name: "id",
            kind: Kind::Text {
                key: Text::BleDeviceId,
                check: check_device_ref,
            },
            default: "",
            reload: false,
            doc: "Device id for its readings instead of ble-<address>: letters, digits, _ - . :\n\
                  '' = ble-<address>.",
        },
    ],
};

/// Accepts `A4:C1:38:8D:18:B2`, `a4-c1-38-8d-18-b2` and `a4c1388d18b2`.
pub fn parse_mac(text: &str) -> Result<[u8; 6], String> {
    let digits: String = text.chars().filter(|c| !matches!(c, ':' | '-')).collect();
    let bad = || format!("expected a Bluetooth address such as A4:C1:38:8D:18:B2, got '{text}'");
    if digits.len() != 12 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let bytes = crate::hex::decode(&digits).map_err(|_| bad())?;
    bytes.try_into().map_err(|_| bad())
}

pub fn check_mac(text: &str) -> Result<(), String> {
    parse_mac(text).map(|_| ())
}

/// An address, or '' (the table's default of a required option).
pub fn check_mac_or_empty(text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Ok(());
    }
    check_mac(text)
}

/// `hci0`: the adapter's name in BlueZ ('' = the first adapter).
pub fn check_adapter(text: &str) -> Result<(), String> {
    if text.len() <= 16 && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Ok(())
    } else {
        Err(format!(
            "expected an adapter name such as hci0 (or '' for the first), got '{text}'"
        ))
    }
}

/// A D-Bus server address: `unix:path=/var/run/dbus/system_bus_socket` ('' = the default).
pub fn check_dbus_address(text: &str) -> Result<(), String> {
    let well_formed = text.split(';').all(|address| {
        address
            .split_once(':')
            .is_some_and(|(transport, keys)| !transport.is_empty() && keys.contains('='))
    });
    if text.is_empty() || (well_formed && !text.chars().any(char::is_whitespace)) {
        Ok(())
    } else {
        Err(format!(
            "expected a D-Bus address such as unix:path=/var/run/dbus/system_bus_socket, got '{text}'"
        ))
    }
}

/// A 16-bit company id in hex (`0xffff`, `ffff`), or '' for none.
pub fn check_company_id(text: &str) -> Result<(), String> {
    parse_company_id(text).map(|_| ())
}

pub fn parse_company_id(text: &str) -> Result<Option<u16>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    let bad = || format!("expected a 16-bit hex company id such as 0xffff, got '{text}'");
    if digits.is_empty() || digits.len() > 4 {
        return Err(bad());
    }
    u16::from_str_radix(digits, 16).map(Some).map_err(|_| bad())
}
