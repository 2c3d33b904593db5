//! Settings of the LoRa sources: the GWMP server, the radio, and the device keys.

use crate::config::{Config, LorawanPayload, RadioChip};
use crate::ingest::lora::{
    radio::Chip, FrameDeviceKey, LoraKeys, LoraSettings, LorawanDeviceKeys, PayloadCodec,
    RadioSettings,
};

pub fn lora_settings(config: &Config) -> LoraSettings {
    LoraSettings {
        gwmp_listen: config.lora.gwmp_listen,
    }
}

pub fn radio_settings(config: &Config) -> RadioSettings {
    let lora = &config.lora;
    RadioSettings {
        chip: match lora.radio_chip {
            RadioChip::Sx1261 => Chip::Sx1261,
            RadioChip::Sx1262 => Chip::Sx1262,
            RadioChip::Sx1276 => Chip::Sx1276,
        },
        spi_device: lora.radio_spi.clone(),
        gpio_chip: lora.radio_gpiochip.clone(),
        reset_pin: lora.radio_reset_pin,
        busy_pin: lora.radio_busy_pin,
        irq_pin: lora.radio_irq_pin,
        tcxo_mv: Some(lora.radio_tcxo_mv).filter(|mv| *mv > 0),
        frequency_hz: lora.radio_frequency_hz,
        spreading_factor: lora.radio_sf,
        bandwidth_hz: lora.radio_bandwidth_hz,
        coding_rate: lora.radio_coding_rate,
        public_network: lora.radio_public_network,
    }
}

/// The keys of the enabled `lorawan_device` and `lora_frame_device` sections.
pub fn lora_keys(config: &Config) -> LoraKeys {
    let devices = &config.lora_devices;
    LoraKeys {
        lorawan: devices
            .lorawan
            .iter()
            .filter(|d| d.enabled)
            .map(|d| LorawanDeviceKeys {
                device_id: d.device_id.clone(),
                dev_addr: d.dev_addr,
                nwk_s_key: d.nwkskey.0,
                app_s_key: d.appskey.0,
                payload: match d.payload {
                    LorawanPayload::Lpp => PayloadCodec::Lpp,
                    LorawanPayload::None => PayloadCodec::None,
                },
            })
            .collect(),
        frames: devices
            .frames
            .iter()
            .filter(|d| d.enabled)
            .map(|d| FrameDeviceKey {
                device_id: d.device_id.clone(),
                eui: d.eui,
                key: d.key.0,
            })
            .collect(),
    }
}
