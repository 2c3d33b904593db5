//! `acs-edge decode lorawan`: a LoRaWAN uplink, its MIC check, decrypted payload and Cayenne
//! LPP readings as pretty JSON. The counter's upper 16 bits are taken as 0 (a frame seen
//! without its session history).

use super::uplink::lpp_readings;
use acs_proto::lorawan::{extend_fcnt, AesKey, PhyPayload, MAX_PHY_LEN};
use serde_json::json;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The frame as JSON; an error for a structurally bad frame or a MIC mismatch.
pub fn describe_lorawan(
    bytes: &[u8],
    nwk_s_key: &AesKey,
    app_s_key: &AesKey,
) -> Result<String, String> {
    let frame = PhyPayload::new_checked(bytes).map_err(|e| e.to_string())?;
    let fcnt = extend_fcnt(None, frame.fcnt16());
    frame.verify_mic(nwk_s_key, fcnt).map_err(|e| {
        format!(
            "{e}: DevAddr {:08X}, FCnt {fcnt}, MIC {}",
            frame.dev_addr(),
            hex(&frame.mic())
        )
    })?;
    let mut plain = [0u8; MAX_PHY_LEN];
    let n = frame
        .decrypt_frm_payload(nwk_s_key, app_s_key, fcnt, &mut plain)
        .map_err(|e| e.to_string())?;
    let plain = &plain[..n];
    let device = format!("{:08X}", frame.dev_addr());
    let (readings, payload_error) = match frame.fport() {
        Some(port) if port > 0 => lpp_readings(&device, plain, 0),
        _ => (Vec::new(), None),
    };
    let items: Vec<_> = readings
        .iter()
        .map(|r| json!({"metric": r.metric, "value": r.value}))
        .collect();
    let fctrl = frame.fctrl();
    let doc = json!({
        "mtype": frame.mtype().name(),
        "dev_addr": device,
        "fctrl": {
            "adr": fctrl.adr,
            "adr_ack_req": fctrl.adr_ack_req,
            "ack": fctrl.ack,
            "class_b": fctrl.class_b,
        },
        "fcnt": fcnt,
        "fopts": hex(frame.fopts()),
        "fport": frame.fport(),
        "mic": hex(&frame.mic()),
        "mic_ok": true,
        "frm_payload": hex(plain),
        "frm_payload_utf8": std::str::from_utf8(plain).ok(),
        "readings": items,
        "payload_error": payload_error,
    });
    Ok(serde_json::to_string_pretty(&doc).unwrap_or_default())
}
