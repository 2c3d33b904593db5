//! Property tests of the advertisement decoders: arbitrary bytes never panic and never yield
//! an invalid reading; encryption is transparent (an encrypted BTHome payload decodes to the
//! same readings as its plaintext); pvvx and ATC1441 encode -> decode is the identity.

use acs_proto::ble::{
    decode_manufacturer_data, decode_service_data, Advertisement, Context, BTHOME_OBJECTS,
    COMPANY_RUUVI, MAX_READINGS, UUID_BTHOME, UUID_ENVIRONMENTAL_SENSING,
};
use aes::Aes128;
use ccm::aead::generic_array::GenericArray;
use ccm::aead::{AeadInPlace, KeyInit};
use ccm::consts::{U13, U4};
use ccm::Ccm;
use proptest::collection::vec;
use proptest::prelude::*;

const FRAME_COMPANY: u16 = 0xffff;

fn assert_sound(adv: &Advertisement<'_>) {
    assert!(adv.readings.len() <= MAX_READINGS);
    for reading in &adv.readings {
        assert!(reading.validate().is_ok(), "{reading:?}");
    }
}

/// A plaintext BTHome object list built from the table, so most of it decodes.
fn objects() -> impl Strategy<Value = Vec<u8>> {
    vec((0..BTHOME_OBJECTS.len(), vec(any::<u8>(), 0..8)), 0..10).prop_map(|items| {
        let mut out = Vec::new();
        for (index, filler) in items {
            let object = &BTHOME_OBJECTS[index];
            out.push(object.id);
            if object.len == 0 {
                out.push(filler.len() as u8);
                out.extend_from_slice(&filler);
            } else {
                out.extend(
                    (0..object.len).map(|i| filler.get(usize::from(i)).copied().unwrap_or(i)),
                );
            }
        }
        out
    })
}

fn seal(key: &[u8; 16], mac: [u8; 6], info: u8, counter: u32, plain: &[u8]) -> Vec<u8> {
    let mut nonce = Vec::from(mac);
    nonce.extend_from_slice(&[0xd2, 0xfc, info]);
    nonce.extend_from_slice(&counter.to_le_bytes());
    let mut body = plain.to_vec();
    let tag = Ccm::<Aes128, U4, U13>::new(GenericArray::from_slice(key))
        .encrypt_in_place_detached(GenericArray::from_slice(&nonce), &[], &mut body)
        .expect("encrypt");
    let mut out = vec![info];
    out.extend_from_slice(&body);
    out.extend_from_slice(&counter.to_le_bytes());
    out.extend_from_slice(&tag);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in vec(any::<u8>(), 0..300),
        uuid in prop_oneof![Just(UUID_BTHOME), Just(UUID_ENVIRONMENTAL_SENSING), any::<u16>()],
        company in prop_oneof![Just(COMPANY_RUUVI), Just(FRAME_COMPANY), any::<u16>()],
        key in any::<[u8; 16]>(),
        mac in any::<[u8; 6]>(),
    ) {
        let context = Context { mac: Some(mac), bindkey: Some(&key), frame_company_id: Some(FRAME_COMPANY) };
        for context in [context, Context::default()] {
            if let Ok(adv) = decode_service_data(uuid, &bytes, &context) {
                assert_sound(&adv);
            }
            if let Ok(adv) = decode_manufacturer_data(company, &bytes, &context) {
                assert_sound(&adv);
            }
        }
    }

    #[test]
    fn bthome_objects_never_panic_and_stay_sound(plain in objects()) {
        let mut payload = vec![0x40];
        payload.extend_from_slice(&plain);
        if let Ok(adv) = decode_service_data(UUID_BTHOME, &payload, &Context::default()) {
            assert_sound(&adv);
        }
    }

    #[test]
    fn bthome_encryption_is_transparent(
        plain in objects(),
        key in any::<[u8; 16]>(),
        mac in any::<[u8; 6]>(),
        counter in any::<u32>(),
    ) {
        prop_assume!(plain.len() <= 200);
        let mut clear = vec![0x40];
        clear.extend_from_slice(&plain);
        let sealed = seal(&key, mac, 0x41, counter, &plain);
        let context = Context { mac: Some(mac), bindkey: Some(&key), frame_company_id: None };
        let want = decode_service_data(UUID_BTHOME, &clear, &Context::default());
        let got = decode_service_data(UUID_BTHOME, &sealed, &context);
        match (want, got) {
            (Ok(want), Ok(got)) => {
                prop_assert!(got.encrypted);
                prop_assert_eq!(got.packet_id, Some(counter));
                prop_assert_eq!(got.readings, want.readings);
                prop_assert_eq!(got.stopped, want.stopped);
            }
            (Err(want), Err(got)) => prop_assert_eq!(want, got),
            (want, got) => prop_assert!(false, "plain {:?} vs sealed {:?}", want, got),
        }
        let mut other = key;
        other[0] ^= 1;
        let wrong = Context { bindkey: Some(&other), ..context };
        prop_assert!(decode_service_data(UUID_BTHOME, &sealed, &wrong).is_err());
    }

    #[test]
    fn pvvx_encode_decode_is_identity(
        mac in any::<[u8; 6]>(), temp in any::<i16>(), hum in any::<u16>(),
        mv in any::<u16>(), pct in any::<u8>(), counter in any::<u8>(), flags in any::<u8>(),
    ) {
        let mut p: Vec<u8> = mac.iter().rev().copied().collect();
        p.extend_from_slice(&temp.to_le_bytes());
        p.extend_from_slice(&hum.to_le_bytes());
        p.extend_from_slice(&mv.to_le_bytes());
        p.extend_from_slice(&[pct, counter, flags]);
        let adv = decode_service_data(UUID_ENVIRONMENTAL_SENSING, &p, &Context::default()).unwrap();
        prop_assert_eq!(adv.mac, Some(mac));
        prop_assert_eq!(adv.packet_id, Some(u32::from(counter)));
        let r = &adv.readings;
        prop_assert_eq!(r.get("temperature").unwrap().as_f64(), f64::from(temp) / 100.0);
        prop_assert_eq!(r.get("humidity").unwrap().as_f64(), f64::from(hum) / 100.0);
        prop_assert_eq!(r.get("battery_mv").unwrap().as_f64(), f64::from(mv));
        prop_assert_eq!(r.get("battery").unwrap().as_f64(), f64::from(pct));
    }

    #[test]
    fn atc1441_encode_decode_is_identity(
        mac in any::<[u8; 6]>(), temp in any::<i16>(), hum in any::<u8>(),
        pct in any::<u8>(), mv in any::<u16>(), counter in any::<u8>(),
    ) {
        let mut p = mac.to_vec();
        p.extend_from_slice(&temp.to_be_bytes());
        p.extend_from_slice(&[hum, pct]);
        p.extend_from_slice(&mv.to_be_bytes());
        p.push(counter);
        let adv = decode_service_data(UUID_ENVIRONMENTAL_SENSING, &p, &Context::default()).unwrap();
        prop_assert_eq!(adv.mac, Some(mac));
        prop_assert_eq!(adv.packet_id, Some(u32::from(counter)));
        let r = &adv.readings;
        prop_assert_eq!(r.get("temperature").unwrap().as_f64(), f64::from(temp) / 10.0);
        prop_assert_eq!(r.get("humidity").unwrap().as_f64(), f64::from(hum));
        prop_assert_eq!(r.get("battery").unwrap().as_f64(), f64::from(pct));
        prop_assert_eq!(r.get("battery_mv").unwrap().as_f64(), f64::from(mv));
    }
}
