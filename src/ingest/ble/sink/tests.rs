use super::*;
use crate::ingest::ble::{BleAddress, Payload};

fn advert(mac: [u8; 6], uuid: u16, hex: &str) -> Advert {
    Advert {
        mac: BleAddress(mac),
        rssi: Some(-60),
        ts_ms: Some(1_767_225_600_000),
        payloads: vec![Payload::ServiceData {
            uuid,
            data: crate::hex::decode(hex).unwrap(),
        }],
    }
}

#[test]
fn every_advert_is_counted_once_by_what_became_of_it() {
    let (tx, rx) = async_channel::bounded(8);
    let stats = IngestStats::default();
    let denied = [0, 0, 0, 0, 0, 1];
    let settings = BleSettings {
        deny: vec![BleAddress(denied)],
        ..BleSettings::default()
    };
    let mut sink = AdvertSink::new(settings, &tx, &stats);
    let pvvx = advert(
        [0xa4, 0xc1, 0x38, 2, 0x83, 0xf4],
        0x181a,
        "f4830238c1a4a9066911b60b58f70d",
    );
    assert_eq!(
        sink.submit(&pvvx),
        Ok(Handled::Stored {
            readings: 5,
            partial: None
        })
    );
    assert_eq!(sink.submit(&pvvx), Ok(Handled::Duplicate));
    assert_eq!(
        sink.submit(&advert(denied, 0x181a, "f4830238c1a4a9066911b60b58f70d")),
        Ok(Handled::Ignored(IgnoreReason::Denied))
    );
    assert_eq!(
        sink.submit(&advert([1; 6], 0xfe95, "00")),
        Ok(Handled::Ignored(IgnoreReason::UnknownFormat))
    );
    assert!(matches!(
        sink.submit(&advert([2; 6], 0x181a, "f483")),
        Ok(Handled::Malformed(_))
    ));
    let ble = stats.ble.snapshot();
    assert_eq!(
        (ble.received, ble.decoded, ble.readings, ble.duplicates),
        (5, 1, 5, 1)
    );
    assert_eq!((ble.denied, ble.unknown_format, ble.undecodable), (1, 1, 1));
    assert_eq!(ble.unknown_devices, 0);
    assert_eq!(stats.readings.received.load(Relaxed), 5);
    let Ok(Event::Readings(Transport::Ble, readings)) = rx.try_recv() else {
        panic!("the readings were not sent with transport ble");
    };
    assert_eq!(readings.len(), 5);
    assert!(rx.try_recv().is_err());
}

#[test]
fn a_closed_writer_channel_is_reported() {
    let (tx, rx) = async_channel::bounded(1);
    drop(rx);
    let stats = IngestStats::default();
    let mut sink = AdvertSink::new(BleSettings::default(), &tx, &stats);
    let pvvx = advert([3; 6], 0x181a, "f4830238c1a4a9066911b60b58f70d");
    assert_eq!(sink.submit(&pvvx), Err(WriterGone));
}
