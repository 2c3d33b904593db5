use crate::config::{parse, ConfigError, LorawanPayload};

const ABP: &str = "config lorawan_device 'field_1'\n\
                   \toption dev_addr '26011bda'\n\
                   \toption nwkskey '2B7E151628AED2A6ABF7158809CF4F3C'\n\
                   \toption appskey '3C4FCF098815F7ABA6D2AE2816157E2B'\n";

fn error(text: &str) -> String {
    match parse(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn lorawan_and_frame_devices_become_typed_keys_with_ids_defaulted() {
    let text = format!(
        "{ABP}\nconfig lora_frame_device 'node_1'\n\toption eui '70B3D57ED0000001'\n\
         \toption key '6578616D706C652D6E6F64652D6B6579'\n\toption enabled '0'\n\n\
         config lora_frame_device 'node_2'\n\toption device_id 'node-2'\n\
         \toption eui '0000000000000002'\n\toption key '00000000000000000000000000000001'\n"
    );
    let devices = parse(&text).unwrap().config.lora_devices;
    let abp = &devices.lorawan[0];
    assert_eq!(abp.device_id, "field_1");
    assert_eq!(abp.dev_addr, 0x2601_1BDA);
    assert_eq!(abp.nwkskey.0[..3], [0x2B, 0x7E, 0x15]);
    assert_eq!(abp.appskey.0[15], 0x2B);
    assert_eq!(abp.payload, LorawanPayload::Lpp);
    assert!(abp.enabled);
    assert_eq!(devices.frames[0].device_id, "70b3d57ed0000001");
    assert_eq!(&devices.frames[0].key.0, b"example-node-key");
    assert!(!devices.frames[0].enabled);
    assert_eq!(devices.frames[1].device_id, "node-2");
    assert_eq!(devices.frames[1].eui, 2);
}

#[test]
fn debug_output_hides_every_key() {
    let devices = parse(ABP).unwrap().config.lora_devices;
    let debug = format!("{devices:?}");
    assert!(
        debug.contains("26011BDA") || debug.contains("637606874"),
        "{debug}"
    );
    for secret in ["2B7E", "2b7e", "3C4F", "3c4f", "43, 126"] {
        assert!(!debug.contains(secret), "{debug}");
    }
}

#[test]
fn bad_keys_name_line_section_and_option_without_echoing_the_key() {
    let short = ABP.replace(
        "2B7E151628AED2A6ABF7158809CF4F3C",
        "2B7E151628AED2A6ABF7158809CF4F",
    );
    let e = error(&short);
    assert!(
        e.starts_with("line 3: option 'nwkskey' in section 'lorawan_device'"),
        "{e}"
    );
    assert!(
        e.contains("expected 32 hex digits") && !e.contains("2B7E"),
        "{e}"
    );
    let e = error(&ABP.replace("26011bda", "26011bdz"));
    assert!(e.starts_with("line 2: option 'dev_addr'"), "{e}");
    let e = error(&ABP.replace("\toption appskey '3C4FCF098815F7ABA6D2AE2816157E2B'\n", ""));
    assert_eq!(
        e,
        "line 1: lorawan_device 'field_1': option 'appskey' is required"
    );
    let e = error("config lora_frame_device 'n'\n\toption eui '0102'\n");
    assert!(
        e.contains("option 'eui' in section 'lora_frame_device'"),
        "{e}"
    );
    let e = error("config lorawan_device\n\toption dev_addr '01020304'\n");
    assert!(e.contains("needs a name"), "{e}");
}

#[test]
fn device_ids_and_euis_must_be_unique() {
    let twice = format!(
        "{ABP}\nconfig lora_frame_device 'n'\n\toption device_id 'field_1'\n\
         \toption eui '0000000000000001'\n\toption key '00000000000000000000000000000001'\n"
    );
    let e = error(&twice);
    assert!(
        e.starts_with("line 7: lora_frame_device 'n': device id 'field_1' is already used by lorawan_device 'field_1' at line 1"),
        "{e}"
    );
    let same_eui = "config lora_frame_device 'a'\n\toption eui '00000000000000AA'\n\
                    \toption key '00000000000000000000000000000001'\n\
                    config lora_frame_device 'b'\n\toption eui '00000000000000aa'\n\
                    \toption key '00000000000000000000000000000002'\n";
    let e = error(same_eui);
    assert!(
        e.contains("lora_frame_device 'b': eui 00000000000000AA is already"),
        "{e}"
    );
    assert!(matches!(
        parse(same_eui),
        Err(ConfigError::Instance { line: 5, .. })
    ));
}

#[test]
fn devices_sharing_a_dev_addr_are_allowed() {
    let two = format!("{ABP}\n{}", ABP.replace("field_1", "field_2"));
    let devices = parse(&two).unwrap().config.lora_devices;
    assert_eq!(devices.lorawan.len(), 2);
}
