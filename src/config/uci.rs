//! Reader and writer for OpenWrt UCI files, following what libuci (`uci`, LuCI) accepts.
//!
//! Grammar, one statement per line (or several separated by `;`):
//!
//! ```text
//! package <name>                 ignored: the file name is the package
//! config <type> ['<name>']       opens a section; no name (or '') = anonymous
//! option <name> <value>          sets a value (a later one replaces it)
//! list <name> <value>            appends to a list (an option of the same name becomes one)
//! # comment                      also after a value; `#` outside quotes ends the line
//! ```
//!
//! A value is a run of unquoted text, `'single quoted'` (no escapes) and `"double quoted"`
//! (backslash takes the next character literally) parts, concatenated: `'a'"b"c` is `abc`.
//! A backslash at the end of a line continues the value on the next one; quoted values may
//! span lines. Types, section names and option names are `[A-Za-z0-9_]`. As in libuci, a
//! second `config` with the same name continues the first section, and extra words on a
//! line are an error. Keywords may be abbreviated to their first letter.

use std::fmt;

/// One `config` block, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The section type: `config <kind>`.
    pub kind: String,
    /// `None` for an anonymous section.
    pub name: Option<String>,
    /// 1-based line of the (first) `config` statement.
    pub line: usize,
    pub options: Vec<Entry>,
}

/// One option or list of a section, in the order first set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub value: Value,
    /// 1-based line of the statement that set the value last.
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Single(String),
    List(Vec<String>),
}

/// A syntax error, with the 1-based line where the offending statement (or quote) starts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {kind}")]
pub struct ParseError {
    pub line: usize,
    pub kind: ErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    #[error("unterminated {0} quote: the file ends before the closing {0}")]
    UnterminatedQuote(char),
    #[error("'{0}' before the first 'config' line: options belong to a section")]
    OutsideSection(String),
    #[error("invalid {what} '{name}': only letters, digits and _ are allowed")]
    BadName { what: &'static str, name: String },
    #[error("'config' needs a section type")]
    MissingType,
    #[error("'{0}' needs an option name")]
    MissingName(String),
    #[error("option '{0}' has no value (write '' for an empty one)")]
    MissingValue(String),
    #[error("too many words in '{0}' statement (quote a value that contains spaces)")]
    TooManyWords(String),
    #[error("unknown keyword '{0}' (expected config, option, list or package)")]
    UnknownKeyword(String),
    #[error("section '{name}' was declared as '{first}' and again as '{again}'")]
    TypeConflict {
        name: String,
        first: String,
        again: String,
    },
}

/// Parses a UCI file into its sections.
pub fn parse(text: &str) -> Result<Vec<Section>, ParseError> {
    let mut lexer = Lexer {
        src: text.as_bytes(),
        pos: 0,
        line: 1,
    };
    let mut sections: Vec<Section> = Vec::new();
    let mut current: Option<usize> = None;
    while let Some((line, words)) = lexer.statement()? {
        let fail = |kind| Err(ParseError { line, kind });
        let Some((keyword, args)) = words.split_first() else {
            continue;
        };
        match keyword.as_str() {
            "package" | "p" => {}
            "config" | "c" => {
                let Some(kind) = args.first() else {
                    return fail(ErrorKind::MissingType);
                };
                check_name("section type", kind, line)?;
                let name = args.get(1).filter(|n| !n.is_empty());
                if let Some(name) = name {
                    check_name("section name", name, line)?;
                }
                if args.len() > 2 {
                    return fail(ErrorKind::TooManyWords(keyword.clone()));
                }
                let existing = name.and_then(|n| {
                    sections
                        .iter()
                        .position(|s| s.name.as_deref() == Some(n.as_str()))
                });
                if let Some(i) = existing {
                    if sections[i].kind != *kind {
                        return fail(ErrorKind::TypeConflict {
                            name: name.cloned().unwrap_or_default(),
                            first: sections[i].kind.clone(),
                            again: kind.clone(),
                        });
                    }
                    current = Some(i);
                } else {
                    sections.push(Section {
                        kind: kind.clone(),
                        name: name.cloned(),
                        line,
                        options: Vec::new(),
                    });
                    current = Some(sections.len() - 1);
                }
            }
            "option" | "o" | "list" | "l" => {
                let Some(section) = current else {
                    return fail(ErrorKind::OutsideSection(keyword.clone()));
                };
                let Some(name) = args.first() else {
                    return fail(ErrorKind::MissingName(keyword.clone()));
                };
                check_name("option name", name, line)?;
                let Some(value) = args.get(1) else {
                    return fail(ErrorKind::MissingValue(name.clone()));
                };
                if args.len() > 2 {
                    return fail(ErrorKind::TooManyWords(keyword.clone()));
                }
                let is_list = keyword.starts_with('l');
                set(&mut sections[section], name, value, is_list, line);
            }
            _ => return fail(ErrorKind::UnknownKeyword(keyword.clone())),
        }
    }
    Ok(sections)
}

/// One statement and the lines it spans, for tools that edit a file in place
/// (`super::edit`): several statements may share a line (`;`), one may span lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// 1-based line where the statement starts.
    pub first_line: usize,
    /// 1-based line where it ends.
    pub last_line: usize,
    pub words: Vec<String>,
}

/// The statements of a UCI text in order, with their line spans (comments are not statements).
pub fn statements(text: &str) -> Result<Vec<Statement>, ParseError> {
    let mut lexer = Lexer {
        src: text.as_bytes(),
        pos: 0,
        line: 1,
    };
    let mut out = Vec::new();
    while let Some((first_line, words)) = lexer.statement()? {
        let ended_by_newline = lexer.pos > 0 && lexer.src.get(lexer.pos - 1) == Some(&b'\n');
        let last_line = if ended_by_newline {
            lexer.line - 1
        } else {
            lexer.line
        };
        out.push(Statement {
            first_line,
            last_line,
            words,
        });
    }
    Ok(out)
}

/// `option` replaces a value in place; `list` appends, turning a single value into a list.
fn set(section: &mut Section, name: &str, value: &str, is_list: bool, line: usize) {
    let existing = section.options.iter_mut().find(|e| e.name == name);
    match (existing, is_list) {
        (Some(entry), false) => {
            entry.value = Value::Single(value.to_owned());
            entry.line = line;
        }
        (Some(entry), true) => {
            match &mut entry.value {
                Value::List(items) => items.push(value.to_owned()),
                Value::Single(old) => {
                    entry.value = Value::List(vec![std::mem::take(old), value.to_owned()])
                }
            }
            entry.line = line;
        }
        (None, is_list) => section.options.push(Entry {
            name: name.to_owned(),
            value: if is_list {
                Value::List(vec![value.to_owned()])
            } else {
                Value::Single(value.to_owned())
            },
            line,
        }),
    }
}

fn check_name(what: &'static str, name: &str, line: usize) -> Result<(), ParseError> {
    if is_valid_name(name) {
        Ok(())
    } else {
        Err(ParseError {
            line,
            kind: ErrorKind::BadName {
                what,
                name: name.to_owned(),
            },
        })
    }
}

/// Types, section names and option names: one or more of `[A-Za-z0-9_]`.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Writes sections back in the canonical form `uci export` uses: a blank line between
/// sections, tab-indented options, every value single-quoted. Comments are not kept, and an
/// empty list has no representation in UCI, so it is left out.
pub fn render(sections: &[Section]) -> String {
    let mut out = String::new();
    for (i, section) in sections.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str("config ");
        out.push_str(&section.kind);
        if let Some(name) = &section.name {
            out.push(' ');
            out.push_str(&quote(name));
        }
        out.push('\n');
        for entry in &section.options {
            match &entry.value {
                Value::Single(v) => push_line(&mut out, "option", &entry.name, v),
                Value::List(items) => {
                    for v in items {
                        push_line(&mut out, "list", &entry.name, v);
                    }
                }
            }
        }
    }
    out
}

fn push_line(out: &mut String, keyword: &str, name: &str, value: &str) {
    out.push('\t');
    out.push_str(keyword);
    out.push(' ');
    out.push_str(name);
    out.push(' ');
    out.push_str(&quote(value));
    out.push('\n');
}

/// Single-quotes a value; an embedded `'` becomes `'\''` (close, escaped quote, reopen).
pub fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// Splits the text into statements: a line, or the part of one between `;`s.
struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
    line: usize,
}

type Lexed = (usize, Vec<String>);

impl Lexer<'_> {
    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.src.get(self.pos + ahead).copied()
    }

    /// The next statement with the line it starts on, or `None` at the end of the text.
    fn statement(&mut self) -> Result<Option<Lexed>, ParseError> {
        let mut words = Vec::new();
        let mut start = self.line;
        loop {
            while self.peek().is_some_and(is_blank) {
                self.pos += 1;
            }
            match self.peek() {
                None => return Ok((!words.is_empty()).then_some((start, words))),
                Some(b'\n') => {
                    self.pos += 1;
                    self.line += 1;
                    if !words.is_empty() {
                        return Ok(Some((start, words)));
                    }
                }
                Some(b';') => {
                    self.pos += 1;
                    if !words.is_empty() {
                        return Ok(Some((start, words)));
                    }
                }
                Some(b'#') => {
                    while self.peek().is_some_and(|c| c != b'\n') {
                        self.pos += 1;
                    }
                }
                Some(_) => {
                    if words.is_empty() {
                        start = self.line;
                    }
                    words.push(self.word()?);
                }
            }
        }
    }

    /// One word: unquoted and quoted parts up to a blank, newline, `;` or `#`.
    fn word(&mut self) -> Result<String, ParseError> {
        let mut out = Vec::new();
        while let Some(c) = self.peek() {
            match c {
                b'\'' | b'"' => self.quoted(c, &mut out)?,
                b'\\' => {
                    self.pos += 1;
                    if !self.continuation() {
                        if let Some(next) = self.peek() {
                            out.push(next);
                            self.pos += 1;
                        }
                    }
                }
                b'#' | b';' | b'\n' => break,
                c if is_blank(c) => break,
                c => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
        // Only ASCII bytes were removed, at character boundaries, so this is still UTF-8.
        Ok(String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into()))
    }

    /// A quoted part starting at `self.pos`; newlines inside it belong to the value.
    fn quoted(&mut self, quote: u8, out: &mut Vec<u8>) -> Result<(), ParseError> {
        let opened = self.line;
        let unterminated = || ParseError {
            line: opened,
            kind: ErrorKind::UnterminatedQuote(quote as char),
        };
        self.pos += 1;
        loop {
            let c = self.peek().ok_or_else(unterminated)?;
            self.pos += 1;
            match c {
                _ if c == quote => return Ok(()),
                b'\\' if quote == b'"' => {
                    if !self.continuation() {
                        out.push(self.peek().ok_or_else(unterminated)?);
                        self.pos += 1;
                    }
                }
                b'\n' => {
                    self.line += 1;
                    out.push(c);
                }
                _ => out.push(c),
            }
        }
    }

    /// After a backslash: skips a following line break (`\n` or `\r\n`), if there is one.
    fn continuation(&mut self) -> bool {
        let len = match (self.peek(), self.peek_at(1)) {
            (Some(b'\n'), _) => 1,
            (Some(b'\r'), Some(b'\n')) => 2,
            _ => return false,
        };
        self.pos += len;
        self.line += 1;
        true
    }
}

fn is_blank(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | 0x0b | 0x0c)
}

impl fmt::Display for Value {
    /// The value as `uci get` prints it: a list as its items separated by spaces.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Single(v) => f.write_str(v),
            Value::List(items) => f.write_str(&items.join(" ")),
        }
    }
}

#[cfg(test)]
mod tests;
