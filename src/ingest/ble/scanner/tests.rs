use super::*;
use crate::ingest::ble::Payload;
use std::collections::HashMap;

#[test]
fn payloads_are_ordered_and_service_data_without_a_uuid16_is_skipped() {
    let bthome = vec![0x40, 0x02, 0xca, 0x09];
    let custom = vec![1, 2, 3];
    let pvvx = vec![0xf4, 0x83];
    let service = [
        (Some(0xfcd2), &bthome),
        (None, &custom),
        (Some(0x181a), &pvvx),
    ];
    let manufacturer = HashMap::from([(0x0499, vec![5]), (0x004c, vec![2, 0x15])]);
    let payloads = payloads_of(service.into_iter(), &manufacturer);
    assert_eq!(
        payloads,
        vec![
            Payload::ServiceData {
                uuid: 0x181a,
                data: pvvx.clone()
            },
            Payload::ServiceData {
                uuid: 0xfcd2,
                data: bthome.clone()
            },
            Payload::ManufacturerData {
                company: 0x004c,
                data: vec![2, 0x15]
            },
            Payload::ManufacturerData {
                company: 0x0499,
                data: vec![5]
            },
        ]
    );
    assert!(payloads_of(std::iter::empty(), &HashMap::new()).is_empty());
}
