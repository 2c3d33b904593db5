//! The checked values of a config file (or of one named instance), one typed slot per option
//! of the table, each with the line that set it. Values are checked once, here, against the
//! option's kind: a choice is kept as the index of its word and read back as its typed value.
//!
//! Invariant: every slot holds a valid value: the table's default until a line sets it.

use super::error::ConfigError;
use super::options::check::{check_bool, check_choice, check_int};
use super::options::keys::{Flag, Int, Key, List, Text};
use super::options::spec::{Check, ChoiceKey, Kind};
use super::options::table::{all_options, options_of};
use super::uci;

#[derive(Clone, Default)]
struct Slot<T> {
    value: T,
    line: Option<usize>,
}

#[derive(Clone)]
pub struct Values {
    flags: Vec<Slot<bool>>,
    ints: Vec<Slot<u64>>,
    choices: Vec<Slot<u8>>,
    texts: Vec<Slot<String>>,
    lists: Vec<Slot<Vec<String>>>,
}

impl Values {
    /// Every option at the table's default.
    pub fn defaults() -> Values {
        let mut sizes = [0usize; 5];
        for (_, opt) in all_options() {
            let (i, n) = match opt.kind.key() {
                Key::Flag(k) => (0, k as usize),
                Key::Int(k) => (1, k as usize),
                Key::Choice(k) => (2, k as usize),
                Key::Text(k) => (3, k as usize),
                Key::List(k) => (4, k as usize),
            };
            sizes[i] = sizes[i].max(n + 1);
        }
        let mut values = Values {
            flags: vec![Slot::default(); sizes[0]],
            ints: vec![Slot::default(); sizes[1]],
            choices: vec![Slot::default(); sizes[2]],
            texts: vec![Slot::default(); sizes[3]],
            lists: vec![Slot::default(); sizes[4]],
        };
        for (section, opt) in all_options() {
            if let Err(e) = values.set(opt.kind, opt.default, None) {
                panic!("default of {section}.{} is invalid: {e}", opt.name);
            }
        }
        values
    }

    /// Puts every option of `section` back to its default (a repeated section replaces the
    /// earlier one whole).
    pub fn reset_section(&mut self, section: &str) {
        let defaults = Values::defaults();
        for opt in options_of(section) {
            match opt.kind.key() {
                Key::Flag(k) => self.flags[k as usize] = defaults.flags[k as usize].clone(),
                Key::Int(k) => self.ints[k as usize] = defaults.ints[k as usize].clone(),
                Key::Choice(k) => self.choices[k as usize] = defaults.choices[k as usize].clone(),
                Key::Text(k) => self.texts[k as usize] = defaults.texts[k as usize].clone(),
                Key::List(k) => self.lists[k as usize] = defaults.lists[k as usize].clone(),
            }
        }
    }

    /// Checks a single raw value against `kind` and keeps it; the error completes
    /// "expected ..., got '<value>'" or explains.
    fn set(&mut self, kind: Kind, raw: &str, line: Option<usize>) -> Result<(), String> {
        match kind {
            Kind::Bool(k) => self.flags[k as usize] = slot(check_bool(raw)?, line),
            Kind::Int { key, min, max } => {
                self.ints[key as usize] = slot(check_int(raw, min, max)?, line)
            }
            Kind::Choice { key, words } => {
                self.choices[key as usize] = slot(check_choice(raw, words)?, line)
            }
            Kind::Text { key, check } => {
                check(raw)?;
                self.texts[key as usize] = slot(raw.to_owned(), line);
            }
            Kind::Secret(key) => self.texts[key as usize] = slot(raw.to_owned(), line),
            Kind::List { key, check } => {
                self.lists[key as usize] = slot(check_items(check, raw.split_whitespace())?, line)
            }
        }
        Ok(())
    }

    /// Checks the items of a UCI `list` (each one a value).
    fn set_list(&mut self, kind: Kind, items: &[String], line: usize) -> Result<(), String> {
        match kind {
            Kind::List { key, check } => {
                let items = check_items(check, items.iter().map(String::as_str))?;
                self.lists[key as usize] = slot(items, Some(line));
                Ok(())
            }
            _ => Err("expected a single value, got a list".into()),
        }
    }

    pub fn flag(&self, key: Flag) -> bool {
        self.flags[key as usize].value
    }

    pub fn int(&self, key: Int) -> u64 {
        self.ints[key as usize].value
    }

    pub fn text(&self, key: Text) -> &str {
        &self.texts[key as usize].value
    }

    /// A text where '' means "not set".
    pub fn opt_text(&self, key: Text) -> Option<String> {
        Some(self.text(key))
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
    }

    /// The items of a list option (none when unset).
    pub fn list(&self, key: List) -> &[String] {
        &self.lists[key as usize].value
    }

    /// The typed value of the word a choice option holds.
    pub fn choice<T: Copy>(&self, key: &ChoiceKey<T>) -> T {
        key.values[usize::from(self.choices[key.slot as usize].value)]
    }

    /// The line that set the option, `None` while it has its default.
    pub fn line(&self, key: impl Into<Key>) -> Option<usize> {
        match key.into() {
            Key::Flag(k) => self.flags[k as usize].line,
            Key::Int(k) => self.ints[k as usize].line,
            Key::Choice(k) => self.choices[k as usize].line,
            Key::Text(k) => self.texts[k as usize].line,
            Key::List(k) => self.lists[k as usize].line,
        }
    }

    /// Whether a line set the option to something other than '' (or an empty list).
    pub fn is_given(&self, kind: Kind) -> bool {
        let empty = match kind.key() {
            Key::Text(k) => self.texts[k as usize].value.is_empty(),
            Key::List(k) => self.lists[k as usize].value.is_empty(),
            _ => false,
        };
        self.line(kind.key()).is_some() && !empty
    }
}

fn slot<T>(value: T, line: Option<usize>) -> Slot<T> {
    Slot { value, line }
}

fn check_items<'a>(
    check: Check,
    items: impl Iterator<Item = &'a str>,
) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for item in items {
        check(item)?;
        out.push(item.to_owned());
    }
    Ok(out)
}

/// Checks one `option` line against the table and records its value; unknown options warn.
pub fn set_entry(
    values: &mut Values,
    section: &'static str,
    entry: &uci::Entry,
    warnings: &mut Vec<String>,
) -> Result<(), ConfigError> {
    let Some(opt) = options_of(section).iter().find(|o| o.name == entry.name) else {
        warnings.push(format!(
            "line {}: unknown option '{}' in section '{section}' (ignored)",
            entry.line, entry.name
        ));
        return Ok(());
    };
    let checked = match &entry.value {
        uci::Value::Single(raw) => values.set(opt.kind, raw, Some(entry.line)),
        uci::Value::List(items) => values.set_list(opt.kind, items, entry.line),
    };
    checked.map_err(|message| ConfigError::Invalid {
        line: Some(entry.line),
        section,
        option: opt.name,
        message,
    })
}
