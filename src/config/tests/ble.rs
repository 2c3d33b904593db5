use crate::config::{parse, ConfigError};

fn error(text: &str) -> ConfigError {
    parse(text).expect_err("the text should be refused")
}

#[test]
fn ble_defaults_are_off_with_no_devices_and_no_lists() {
    let ble = parse("").unwrap().config.ble;
    assert!(!ble.enabled);
    assert_eq!(ble.adapter, None);
    assert_eq!(ble.dbus_address, None);
    assert_eq!(ble.frame_company_id, None);
    assert!(ble.allow.is_empty() && ble.deny.is_empty() && ble.devices.is_empty());
    assert_eq!(ble.restart_max.as_secs(), 60);
}

#[test]
fn ble_section_options_and_lists_become_typed_fields() {
    let text = "config ble 'ble'\n\
                \toption enabled '1'\n\
                \toption adapter 'hci1'\n\
                \toption dbus_address 'unix:path=/var/run/dbus/system_bus_socket'\n\
                \toption frame_company_id '0xFFFF'\n\
                \tlist allow 'A4:C1:38:8D:18:B2'\n\
                \tlist allow 'a4-c1-38-00-00-01'\n\
                \toption deny '112233445566 AA:BB:CC:DD:EE:FF'\n";
    let ble = parse(text).unwrap().config.ble;
    assert!(ble.enabled);
    assert_eq!(ble.adapter.as_deref(), Some("hci1"));
    assert_eq!(
        ble.dbus_address.as_deref(),
        Some("unix:path=/var/run/dbus/system_bus_socket")
    );
    assert_eq!(ble.frame_company_id, Some(0xffff));
    assert_eq!(
        ble.allow,
        vec![
            [0xa4, 0xc1, 0x38, 0x8d, 0x18, 0xb2],
            [0xa4, 0xc1, 0x38, 0, 0, 1]
        ]
    );
    assert_eq!(
        ble.deny,
        vec![
            [0x11, 0x22, 0x33, 0x44, 0x55, 0x66],
            [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]
        ]
    );
}

#[test]
fn a_bad_address_in_a_list_names_the_line_section_and_option() {
    let e = error("config ble 'ble'\n\tlist deny 'A4:C1:38:8D:18:B2'\n\tlist deny 'A4:C1:38'\n");
    assert_eq!(e.line(), Some(3));
    let text = e.to_string();
    assert!(text.contains("option 'deny' in section 'ble'"), "{text}");
    assert!(text.contains("'A4:C1:38'"), "{text}");
}

#[test]
fn bad_adapter_bus_address_and_company_id_are_refused() {
    for (option, value) in [
        ("adapter", "hci 0"),
        ("dbus_address", "/var/run/dbus/system_bus_socket"),
        ("frame_company_id", "0x12345"),
        ("frame_company_id", "zz"),
    ] {
        let e = error(&format!("config ble 'ble'\n\toption {option} '{value}'\n"));
        assert_eq!(e.line(), Some(2), "{option}={value}");
        assert!(e.to_string().contains(option), "{e}");
    }
}

#[test]
fn ble_device_sections_give_keys_ids_and_addresses() {
    let text = "config ble_device 'kitchen'\n\
                \toption mac 'a4:c1:38:8d:18:b2'\n\
                \toption bindkey '231d39c1d7cc1ab1aee224cd096db932'\n\
                \toption id 'kitchen'\n\
                config ble_device 'garden'\n\
                \toption mac '11:22:33:44:55:66'\n";
    let devices = parse(text).unwrap().config.ble.devices;
    assert_eq!(devices.len(), 2);
    assert_eq!(devices[0].name, "kitchen");
    assert_eq!(devices[0].mac, [0xa4, 0xc1, 0x38, 0x8d, 0x18, 0xb2]);
    assert_eq!(devices[0].bindkey.unwrap()[0], 0x23);
    assert_eq!(devices[0].id.as_deref(), Some("kitchen"));
    assert_eq!(devices[1].bindkey, None);
    assert_eq!(devices[1].id, None);
    assert_eq!(devices[1].line, 5);
}

#[test]
fn a_bindkey_never_appears_in_debug_output_or_errors() {
    let key = "231d39c1d7cc1ab1aee224cd096db932";
    let text = format!(
        "config ble_device 'k'\n\toption mac '11:22:33:44:55:66'\n\toption bindkey '{key}'\n"
    );
    let config = parse(&text).unwrap().config;
    assert!(!format!("{config:?}").contains(key));
    assert!(!format!("{config:?}").to_lowercase().contains("231d39"));
    let short = &key[..30];
    let e = error(&format!(
        "config ble_device 'k'\n\toption mac '11:22:33:44:55:66'\n\toption bindkey '{short}'\n"
    ));
    let message = e.to_string();
    assert!(
        message.starts_with("line 1: ble_device 'k': option 'bindkey': expected 32 hex digits"),
        "{message}"
    );
    assert!(!message.contains(short), "{message}");
}

#[test]
fn a_ble_device_needs_a_valid_unique_address() {
    let missing = error("config ble_device 'k'\n\toption id 'k'\n");
    assert_eq!(
        missing.to_string(),
        "line 1: ble_device 'k': option 'mac' is required"
    );
    let bad = error("config ble_device 'k'\n\toption mac 'A4:C1:38:8D:18'\n");
    assert_eq!(bad.line(), Some(2));
    assert!(
        bad.to_string()
            .contains("option 'mac' in section 'ble_device'"),
        "{bad}"
    );
    let twice = error(
        "config ble_device 'a'\n\toption mac '11:22:33:44:55:66'\n\
         config ble_device 'b'\n\toption mac '11-22-33-44-55-66'\n",
    );
    assert_eq!(
        twice.to_string(),
        "line 3: ble_device 'b': address 11:22:33:44:55:66 is already used by ble_device 'a' (line 1)"
    );
    let bad_id =
        error("config ble_device 'k'\n\toption mac '11:22:33:44:55:66'\n\toption id 'a b'\n");
    assert_eq!(bad_id.line(), Some(3));
}

#[test]
fn ble_enabled_warns_only_in_a_build_without_the_ble_feature() {
    let loaded = parse("config ble 'ble'\n\toption enabled '1'\n").unwrap();
    let warned = loaded.warnings.iter().any(|w| w.contains("ble.enabled"));
    assert_eq!(warned, !cfg!(feature = "ble"), "{:?}", loaded.warnings);
}
