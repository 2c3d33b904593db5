//! Config files through the UCI reader (`config::uci::parse`) and the typed layer on top of it
//! (`config::parse`). Nothing may panic. A file that parses must hold only valid names, render
//! (`uci::render`) to text that parses back to the same sections (lines aside), render
//! canonically (render is a fixed point), and load to the same typed config either way.
#![no_main]

use acs_edge::config::{self, uci};
use libfuzzer_sys::fuzz_target;

/// Line numbers differ after rendering (comments and blank lines are gone); nothing else may.
fn strip_lines(mut sections: Vec<uci::Section>) -> Vec<uci::Section> {
    for s in &mut sections {
        s.line = 0;
        s.options.iter_mut().for_each(|e| e.line = 0);
    }
    sections
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let typed = config::parse(text);
    let sections = match uci::parse(text) {
        Ok(sections) => sections,
        Err(e) => {
            assert!(typed.is_err(), "config::parse accepted what uci::parse refused: {e}");
            assert!(e.line >= 1 && e.line <= text.matches('\n').count() + 1, "error line {e}");
            return;
        }
    };
    let mut names = std::collections::HashSet::new();
    for s in &sections {
        assert!(uci::is_valid_name(&s.kind), "section type {:?}", s.kind);
        if let Some(name) = &s.name {
            assert!(uci::is_valid_name(name), "section name {name:?}");
            assert!(names.insert(name.clone()), "section name {name:?} twice");
        }
        let mut options = std::collections::HashSet::new();
        for e in &s.options {
            assert!(uci::is_valid_name(&e.name), "option name {:?}", e.name);
            assert!(options.insert(e.name.clone()), "option {:?} twice in a section", e.name);
            if let uci::Value::List(items) = &e.value {
                assert!(!items.is_empty(), "an empty list has no UCI representation");
            }
        }
    }

    let rendered = uci::render(&sections);
    let again = uci::parse(&rendered)
        .unwrap_or_else(|e| panic!("rendered text does not parse: {e}\n{rendered}"));
    assert_eq!(
        strip_lines(again.clone()),
        strip_lines(sections),
        "round trip changed the sections\n{rendered}"
    );
    assert_eq!(uci::render(&again), rendered, "render is not canonical");

    match (typed, config::parse(&rendered)) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.config, b.config, "typed config changed by the round trip");
            assert_eq!(a.warnings.len(), b.warnings.len(), "{:?} vs {:?}", a.warnings, b.warnings);
        }
        (Err(_), Err(_)) => {}
        (a, b) => panic!(
            "round trip changed acceptance: {:?} vs {:?}\n{rendered}",
            a.map(|l| l.warnings),
            b.map(|l| l.warnings)
        ),
    }
});
