//! The shapes of the option table: a section, an option, and the kind of value an option holds.
//!
//! Every kind carries the typed key of the slot its checked value is kept in (see [`keys`]), so
//! the table entry and the code that reads the value agree on its type at compile time.
//!
//! [`keys`]: super::keys

use super::keys::{ChoiceSlot, Flag, Int, Key, List, Text};

/// A validator of free text: `Err` explains the refusal.
pub type Check = fn(&str) -> Result<(), String>;

/// A section of the config file: `config <name> '<name>'`.
pub struct SectionSpec {
    pub name: &'static str,
    pub doc: &'static str,
    /// In the order `print-config` renders them.
    pub options: &'static [OptionSpec],
}

/// A section type that may appear any number of times, each instance named by its section
/// name (`config user 'alice'`, `config user 'bob'`).
pub struct MultiSectionSpec {
    pub name: &'static str,
    pub doc: &'static str,
    /// Options every instance must set (a default of '' would make no sense for them).
    pub required: &'static [&'static str],
    /// A complete instance, rendered commented out by `print-config` (the default file has
    /// no instances). A test parses it, so it cannot drift from the table.
    pub example: &'static str,
    pub options: &'static [OptionSpec],
}

/// One option: `option <name> '<default>'` inside its section.
pub struct OptionSpec {
    pub name: &'static str,
    pub kind: Kind,
    pub default: &'static str,
    /// Applied by a SIGHUP reload; otherwise the daemon must be restarted.
    pub reload: bool,
    pub doc: &'static str,
}

#[derive(Clone, Copy)]
pub enum Kind {
    /// 1/0, true/false, yes/no, on/off, enabled/disabled.
    Bool(Flag),
    /// A decimal integer in `min..=max`.
    Int { key: Int, min: u64, max: u64 },
    /// One of the listed words; built by [`ChoiceKey::kind`], which pairs each
    /// word with its typed value.
    Choice {
        key: ChoiceSlot,
        words: &'static [&'static str],
    },
    /// Free text, checked by the function (which explains a refusal).
    Text { key: Text, check: Check },
    /// Text that must never be logged or printed.
    Secret(Text),
    /// Any number of values, each checked by the function: UCI `list` lines, or one `option`
    /// holding them separated by spaces ('' = none).
    List { key: List, check: Check },
}

/// A choice option: its slot, its words as the config file spells them, and the typed value
/// each word stands for (`values[i]` for `words[i]`). The slot keeps the index of the word.
pub struct ChoiceKey<T: 'static> {
    pub slot: ChoiceSlot,
    pub words: &'static [&'static str],
    pub values: &'static [T],
}

impl<T> ChoiceKey<T> {
    /// The option's kind for the table; a word without a value fails the build.
    pub const fn kind(&self) -> Kind {
        assert!(self.words.len() == self.values.len());
        Kind::Choice {
            key: self.slot,
            words: self.words,
        }
    }
}

impl Kind {
    /// The key of the slot the value is kept in.
    pub fn key(self) -> Key {
        match self {
            Kind::Bool(key) => Key::Flag(key),
            Kind::Int { key, .. } => Key::Int(key),
            Kind::Choice { key, .. } => Key::Choice(key),
            Kind::Text { key, .. } | Kind::Secret(key) => Key::Text(key),
            Kind::List { key, .. } => Key::List(key),
        }
    }
}
