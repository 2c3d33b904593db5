//! `config lora 'lora'`: the GWMP server and the radio attached to this router. The radio's
//! choices are typed here: chip, TCXO voltage, bandwidth, coding rate and sync word.

use super::check::{check_not_empty, check_socket_addr};
use super::keys::{ChoiceSlot, Flag, Int, Text};
use super::spec::{ChoiceKey, Kind, OptionSpec, SectionSpec};

pub const LORA: SectionSpec = SectionSpec {
    name: "lora",
    doc: "LoRa uplinks from a gateway running the Semtech UDP packet forwarder (GWMP):\n\
          LoRaWAN 1.0.x ABP devices (MIC, frame counter, Cayenne LPP payloads) and\n\
          authenticated acs-proto frames. GWMP has no authentication of its own: listen on\n\
          loopback when the forwarder runs on this router, on the LAN address otherwise.",
    options: &[
        OptionSpec {
            name: "gwmp_enabled",
            kind: Kind::Bool(Flag::LoraGwmpEnabled),
            default: "0",
            reload: false,
            doc: "Run the packet-forwarder (GWMP v2) server.",
        },
        OptionSpec {
            name: "gwmp_listen",
            kind: Kind::Text {
                key: Text::LoraGwmpListen,
                check: check_socket_addr,
            },
            default: "127.0.0.1:1700",
            reload: false,
            doc: "UDP address of the GWMP server (the forwarder's serv_port_up/serv_port_down).\n\
                  0.0.0.0:1700 accepts gateways on the LAN; keep it off the WAN.",
        },
        OptionSpec {
            name: "radio_enabled",
            kind: Kind::Bool(Flag::LoraRadioEnabled),
            default: "0",
            reload: false,
            doc: "Receive with a radio attached to this router (builds with the `lora` feature).",
        },
        OptionSpec {
            name: "radio_chip",
            kind: RADIO_CHIP.kind(),
            default: "sx1262",
            reload: false,
            doc: "The radio chip (sx1276 also covers sx1277/sx1278/sx1279 boards).",
        },
        OptionSpec {
            name: "radio_spi",
            kind: Kind::Text {
                key: Text::LoraRadioSpi,
                check: check_not_empty,
            },
            default: "/dev/spidev0.0",
            reload: false,
            doc: "The radio's spidev device (its chip select is the SPI bus's).",
        },
        OptionSpec {
            name: "radio_gpiochip",
            kind: Kind::Text {
                key: Text::LoraRadioGpiochip,
                check: check_not_empty,
            },
            default: "/dev/gpiochip0",
            reload: false,
            doc: "The GPIO character device holding the radio's reset, busy and IRQ lines.",
        },
        OptionSpec {
            name: "radio_reset_pin",
            kind: Kind::Int {
                key: Int::LoraRadioResetPin,
                min: 0,
                max: 1023,
            },
            default: "18",
            reload: false,
            doc: "GPIO line offset of the radio's NRESET.",
        },
        OptionSpec {
            name: "radio_busy_pin",
            kind: Kind::Int {
                key: Int::LoraRadioBusyPin,
                min: 0,
                max: 1023,
            },
            default: "20",
            reload: false,
            doc: "GPIO line offset of BUSY (SX126x only).",
        },
        OptionSpec {
            name: "radio_irq_pin",
            kind: Kind::Int {
                key: Int::LoraRadioIrqPin,
                min: 0,
                max: 1023,
            },
            default: "16",
            reload: false,
            doc: "GPIO line offset of the interrupt line: DIO1 on SX126x, DIO0 on SX127x.",
        },
        OptionSpec {
            name: "radio_tcxo_mv",
            kind: RADIO_TCXO_MV.kind(),
            default: "0",
            reload: false,
            doc: "SX126x: TCXO supply voltage driven on DIO3 in mV; 0 = the board has a crystal.",
        },
        OptionSpec {
            name: "radio_frequency_hz",
            kind: Kind::Int {
                key: Int::LoraRadioFrequencyHz,
                min: 137_000_000,
                max: 1_020_000_000,
            },
            default: "868100000",
            reload: false,
            doc: "Receive frequency in Hz (e.g. 868100000 EU868, 902300000 US915).",
        },
        OptionSpec {
            name: "radio_sf",
            kind: Kind::Int {
                key: Int::LoraRadioSf,
                min: 5,
                max: 12,
            },
            default: "7",
            reload: false,
            doc: "Spreading factor (SX127x: 6..12).",
        },
        OptionSpec {
            name: "radio_bw_khz",
            kind: RADIO_BANDWIDTH_HZ.kind(),
            default: "125",
            reload: false,
            doc: "Bandwidth in kHz.",
        },
        OptionSpec {
            name: "radio_cr",
            kind: RADIO_CODING_RATE.kind(),
            default: "4/5",
            reload: false,
            doc: "Coding rate.",
        },
        OptionSpec {
            name: "radio_sync_word",
            kind: RADIO_PUBLIC_NETWORK.kind(),
            default: "public",
            reload: false,
            doc: "public: the LoRaWAN sync word (0x34); private: 0x12, for private raw-LoRa nodes.",
        },
    ],
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RadioChip {
    Sx1262,
    Sx1261,
    /// Also SX1277/SX1278/SX1279 boards.
    Sx1276,
}

pub const RADIO_CHIP: ChoiceKey<RadioChip> = ChoiceKey {
    slot: ChoiceSlot::LoraRadioChip,
    words: &["sx1262", "sx1261", "sx1276"],
    values: &[RadioChip::Sx1262, RadioChip::Sx1261, RadioChip::Sx1276],
};

/// In mV; 0 = a crystal.
pub const RADIO_TCXO_MV: ChoiceKey<u32> = ChoiceKey {
    slot: ChoiceSlot::LoraRadioTcxoMv,
    words: &[
        "0", "1600", "1700", "1800", "2200", "2400", "2700", "3000", "3300",
    ],
    values: &[0, 1600, 1700, 1800, 2200, 2400, 2700, 3000, 3300],
};

/// Written in kHz, kept in Hz.
pub const RADIO_BANDWIDTH_HZ: ChoiceKey<u32> = ChoiceKey {
    slot: ChoiceSlot::LoraRadioBwKhz,
    words: &[
        "7.8", "10.4", "15.6", "20.8", "31.25", "41.7", "62.5", "125", "250", "500",
    ],
    values: &[
        7_800, 10_400, 15_600, 20_800, 31_250, 41_700, 62_500, 125_000, 250_000, 500_000,
    ],
};

/// The denominator of the coding rate 4/x.
pub const RADIO_CODING_RATE: ChoiceKey<u8> = ChoiceKey {
    slot: ChoiceSlot::LoraRadioCr,
    words: &["4/5", "4/6", "4/7", "4/8"],
    values: &[5, 6, 7, 8],
};

/// `radio_sync_word`: true for the LoRaWAN (public) sync word.
pub const RADIO_PUBLIC_NETWORK: ChoiceKey<bool> = ChoiceKey {
    slot: ChoiceSlot::LoraRadioSyncWord,
    words: &["public", "private"],
    values: &[true, false],
};
