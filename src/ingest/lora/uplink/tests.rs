use super::*;
use acs_proto::lorawan::{FCtrl, UplinkRepr};
use acs_proto::{FrameRepr, Metric, MetricCode, Value};

const NWK: [u8; 16] = [0x11; 16];
const APP: [u8; 16] = [0x22; 16];
const FRAME_KEY: [u8; 16] = [0x33; 16];
const EUI: u64 = 0x0011_2233_4455_6677;

fn keys() -> LoraKeys {
    LoraKeys {
        lorawan: vec![LorawanDeviceKeys {
            device_id: "field-1".into(),
            dev_addr: 0x2601_1bda,
            nwk_s_key: NWK,
            app_s_key: APP,
            payload: PayloadCodec::Lpp,
        }],
        frames: vec![FrameDeviceKey {
            device_id: "node-7".into(),
            eui: EUI,
            key: FRAME_KEY,
        }],
    }
}

fn decoder(counters: &[(&str, u32)]) -> UplinkDecoder {
    let keys = keys();
    let counters = counters.iter().map(|(d, c)| (d.to_string(), *c)).collect();
    UplinkDecoder::new(keys, counters, Duration::from_secs(60))
}

fn uplink(fcnt: u32, payload: &[u8]) -> Vec<u8> {
    let repr = UplinkRepr {
        confirmed: false,
        dev_addr: 0x2601_1bda,
        fctrl: FCtrl::default(),
        fcnt,
        fopts: &[],
        fport: Some(2),
        payload,
    };
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&NWK, &APP, &mut buf).unwrap();
    buf
}

fn signed_frame(counter: u32) -> Vec<u8> {
    let readings = [acs_proto::Reading {
        metric: Metric::Code(MetricCode::HUMIDITY),
        ts_offset_ms: 0,
        value: Value::F32(40.0),
    }];
    let mut buf = [0u8; acs_proto::MAX_FRAME_LEN];
    let n = FrameRepr::new(EUI, counter)
        .emit_signed(0, &readings, &mut buf, &FRAME_KEY)
        .unwrap();
    buf[..n].to_vec()
}

const RADIO: RadioMeta = RadioMeta {
    rssi: Some(-80.0),
    snr: Some(7.5),
};
// Temperature 21.5 °C on channel 1, humidity 48.5 % on channel 2.
const LPP: &[u8] = &[1, 0x67, 0x00, 0xd7, 2, 0x68, 0x61];

#[test]
fn lorawan_uplinks_become_lpp_readings_with_signal_figures() {
    let mut d = decoder(&[]);
    let a = d
        .accept(&uplink(1, LPP), RADIO, 1_000, Instant::now())
        .unwrap();
    assert_eq!((a.device.as_str(), a.counter), ("field-1", 1));
    let got: Vec<_> = a
        .readings
        .iter()
        .map(|r| (r.metric.as_str(), r.value))
        .collect();
    assert_eq!(
        got,
        [
            ("temperature_1", 21.5),
            ("humidity_2", 48.5),
            ("rssi", -80.0),
            ("snr", 7.5)
        ]
    );
}

#[test]
fn replays_duplicates_and_forgeries_are_told_apart() {
    let mut d = decoder(&[]);
    let t0 = Instant::now();
    let first = uplink(5, LPP);
    d.accept(&first, RADIO, 1, t0).unwrap();
    assert!(matches!(
        d.accept(&first, RADIO, 1, t0 + Duration::from_secs(1)),
        Err(Rejected::Duplicate { counter: 5, .. })
    ));
    assert!(matches!(
        d.accept(&first, RADIO, 1, t0 + Duration::from_secs(120)),
        Err(Rejected::Replay {
            counter: 5,
            last: 5,
            ..
        })
    ));
    assert!(matches!(
        d.accept(&uplink(4, LPP), RADIO, 1, t0),
        Err(Rejected::Replay { counter: 4, .. })
    ));
    let mut forged = uplink(6, LPP);
    let last = forged.len() - 1;
    forged[last] ^= 1;
    assert!(matches!(
        d.accept(&forged, RADIO, 1, t0),
        Err(Rejected::BadMic(_))
    ));
    assert!(d.accept(&uplink(6, LPP), RADIO, 1, t0).is_ok());
}

#[test]
fn persisted_counters_reject_replays_after_a_restart() {
    let mut d = decoder(&[("field-1", 9), ("node-7", 3)]);
    assert!(matches!(
        d.accept(&uplink(9, LPP), RADIO, 1, Instant::now()),
        Err(Rejected::Replay { last: 9, .. })
    ));
    assert!(matches!(
        d.accept(&signed_frame(3), RADIO, 1, Instant::now()),
        Err(Rejected::Replay { last: 3, .. })
    ));
    assert_eq!(
        d.accept(&uplink(10, LPP), RADIO, 1, Instant::now())
            .unwrap()
            .counter,
        10
    );
}

#[test]
fn counters_cross_the_16_bit_boundary() {
    let mut d = decoder(&[("field-1", 0xffff)]);
    let a = d
        .accept(&uplink(0x1_0001, LPP), RADIO, 1, Instant::now())
        .unwrap();
    assert_eq!(a.counter, 0x1_0001);
}

#[test]
fn signed_frames_are_verified_and_crc_frames_refused() {
    let mut d = decoder(&[]);
    let a = d
        .accept(&signed_frame(1), RadioMeta::default(), 5, Instant::now())
        .unwrap();
    assert_eq!(a.device, "node-7");
    assert_eq!(a.readings[0].metric, "humidity");
    assert_eq!(a.readings.len(), 1);
    let mut forged = signed_frame(2);
    forged[20] ^= 0xff;
    assert!(matches!(
        d.accept(&forged, RADIO, 1, Instant::now()),
        Err(Rejected::BadMic(_))
    ));
    let crc = crate::ingest::frame::encode_frame(EUI, 3, 0, &[("humidity", 1.0)]);
    assert!(matches!(
        d.accept(&crc, RADIO, 1, Instant::now()),
        Err(Rejected::Malformed(_))
    ));
}

#[test]
fn unknown_devices_joins_and_garbage_are_classified() {
    let mut d = decoder(&[]);
    let mut other = uplink(1, LPP);
    other[1] ^= 0xff; // another DevAddr
    assert!(matches!(
        d.accept(&other, RADIO, 1, Instant::now()),
        Err(Rejected::UnknownDevice(_))
    ));
    let join = [0u8; 23];
    assert!(matches!(
        d.accept(&join, RADIO, 1, Instant::now()),
        Err(Rejected::Ignored(_))
    ));
    assert!(matches!(
        d.accept(&[0x40, 1, 2], RADIO, 1, Instant::now()),
        Err(Rejected::Malformed(_))
    ));
}

#[test]
fn lpp_stops_at_an_unknown_type_and_keeps_what_came_before() {
    let (readings, problem) = lpp_readings("d", &[1, 0x67, 0, 10, 9, 0xfe, 0], 0);
    assert_eq!(readings.len(), 1);
    assert!(problem.unwrap().contains("unknown Cayenne LPP type 254"));
    let (readings, _) = lpp_readings(
        "d",
        &[3, 0x88, 6, 0x76, 0x5f, 0xf2, 0x96, 0x0a, 0, 3, 0xe8],
        0,
    );
    let names: Vec<_> = readings.iter().map(|r| r.metric.as_str()).collect();
    assert_eq!(
        names,
        ["gps_3_latitude", "gps_3_longitude", "gps_3_altitude"]
    );
}

#[test]
fn new_keys_apply_at_once_and_counters_survive_them() {
    let mut d = decoder(&[]);
    let t0 = Instant::now();
    d.accept(&uplink(4, LPP), RADIO, 1, t0).unwrap();
    d.set_keys(LoraKeys::default());
    assert!(matches!(
        d.accept(&uplink(5, LPP), RADIO, 1, t0),
        Err(Rejected::UnknownDevice(_))
    ));
    d.set_keys(keys());
    assert!(matches!(
        d.accept(&uplink(4, LPP), RADIO, 1, t0 + Duration::from_secs(120)),
        Err(Rejected::Replay { last: 4, .. })
    ));
    assert_eq!(d.accept(&uplink(5, LPP), RADIO, 1, t0).unwrap().counter, 5);
}

#[test]
fn a_device_without_payload_decoder_stores_only_signal_figures() {
    let mut k = keys();
    k.lorawan[0].payload = PayloadCodec::None;
    let mut d = UplinkDecoder::new(k, HashMap::new(), Duration::from_secs(60));
    let a = d.accept(&uplink(1, LPP), RADIO, 1, Instant::now()).unwrap();
    let metrics: Vec<_> = a.readings.iter().map(|r| r.metric.as_str()).collect();
    assert_eq!((a.counter, metrics), (1, vec!["rssi", "snr"]));
}
