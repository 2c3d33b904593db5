//! The option table's typed keys and choices, and the recorded `check-config` results.

use crate::config::options::keys::Key;
use crate::config::options::lora::{
    RADIO_BANDWIDTH_HZ, RADIO_CHIP, RADIO_CODING_RATE, RADIO_PUBLIC_NETWORK, RADIO_TCXO_MV,
};
use crate::config::options::main::LOG_LEVEL;
use crate::config::options::table::all_options;
use crate::config::{parse, LogLevel, RadioChip};

#[test]
fn every_key_belongs_to_exactly_one_option() {
    // Per key type, the slots the table uses: each once, and no gaps (a gap would be a key
    // that no option sets, read as a value no file can give).
    let mut used: [Vec<usize>; 5] = Default::default();
    for (_, opt) in all_options() {
        let (group, slot) = match opt.kind.key() {
            Key::Flag(k) => (0, k as usize),
            Key::Int(k) => (1, k as usize),
            Key::Choice(k) => (2, k as usize),
            Key::Text(k) => (3, k as usize),
            Key::List(k) => (4, k as usize),
        };
        assert!(!used[group].contains(&slot), "{} shares a key", opt.name);
        used[group].push(slot);
    }
    for mut slots in used {
        slots.sort_unstable();
        assert!(slots.iter().copied().eq(0..slots.len()), "{slots:?}");
    }
}

#[test]
fn radio_choices_are_typed_when_the_file_is_read() {
    let lora = parse(
        "config lora 'lora'\n\toption radio_chip 'sx1276'\n\toption radio_bw_khz '62.5'\n\
         \toption radio_cr '4/7'\n\toption radio_tcxo_mv '1800'\n\
         \toption radio_sync_word 'private'\n",
    )
    .unwrap()
    .config
    .lora;
    assert_eq!(lora.radio_chip, RadioChip::Sx1276);
    assert_eq!(lora.radio_bandwidth_hz, 62_500);
    assert_eq!(lora.radio_coding_rate, 7);
    assert_eq!(lora.radio_tcxo_mv, 1800);
    assert!(!lora.radio_public_network);
    let defaults = parse("").unwrap().config;
    assert_eq!(defaults.lora.radio_chip, RadioChip::Sx1262);
    assert_eq!(defaults.lora.radio_bandwidth_hz, 125_000);
    assert_eq!(defaults.lora.radio_coding_rate, 5);
    assert_eq!(defaults.lora.radio_tcxo_mv, 0);
    assert!(defaults.lora.radio_public_network);
}

#[test]
fn each_choice_word_stands_for_the_value_it_spells() {
    for (word, hz) in RADIO_BANDWIDTH_HZ
        .words
        .iter()
        .zip(RADIO_BANDWIDTH_HZ.values)
    {
        let khz: f64 = word.parse().unwrap();
        assert_eq!((khz * 1000.0).round() as u32, *hz, "{word}");
    }
    for (word, x) in RADIO_CODING_RATE.words.iter().zip(RADIO_CODING_RATE.values) {
        assert_eq!(*word, format!("4/{x}"));
    }
    for (word, mv) in RADIO_TCXO_MV.words.iter().zip(RADIO_TCXO_MV.values) {
        assert_eq!(*word, mv.to_string());
    }
    assert_eq!(RADIO_PUBLIC_NETWORK.words[0], "public");
    assert!(RADIO_PUBLIC_NETWORK.values[0]);
    let chips = RADIO_CHIP.words.iter().zip(RADIO_CHIP.values);
    for (word, chip) in chips {
        assert_eq!(word.to_uppercase(), format!("{chip:?}").to_uppercase());
    }
    for (word, level) in LOG_LEVEL.words.iter().zip(LOG_LEVEL.values) {
        assert_eq!(*word, format!("{level:?}").to_lowercase());
        let parsed = parse(&format!("config main\n\toption log_level '{word}'\n")).unwrap();
        assert_eq!(parsed.config.main.log_level, *level);
    }
    assert_eq!(LOG_LEVEL.values[2], LogLevel::Info);
}

/// One recorded case: its name, the file and the expected lines.
fn recorded_cases() -> Vec<(&'static str, String, Vec<&'static str>)> {
    let text = include_str!("check_results.txt");
    text.split("\n=== ")
        .skip(1)
        .map(|case| {
            let (name, rest) = case.split_once('\n').unwrap();
            let (file, expected) = rest.split_once("\n---\n").unwrap();
            let expected = expected.lines().filter(|l| !l.is_empty()).collect();
            (name, format!("{file}\n"), expected)
        })
        .collect()
}

#[test]
fn check_results_match_the_recording() {
    let cases = recorded_cases();
    assert!(cases.len() >= 20, "{}", cases.len());
    for (name, file, expected) in cases {
        let got: Vec<String> = match parse(&file) {
            Ok(loaded) => loaded
                .warnings
                .iter()
                .map(|w| format!("warning: {w}"))
                .chain(["ok".to_owned()])
                .collect(),
            Err(e) => vec![format!("error: {e}")],
        };
        assert_eq!(got, expected, "{name}");
    }
}
