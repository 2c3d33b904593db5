//! In-place edits of a UCI file for the commands that change it (`acs-edge passwd`,
//! `acs-edge token`): set one option of a named section, or remove a named section, keeping
//! every other byte of the file (comments, blank lines, other sections) as it was.
//!
//! Invariants: an edit touches only whole lines that hold nothing but the statements it
//! changes; when a statement it would change shares a line with another one (`;`), the edit is
//! refused rather than guessed. The result must still load as a valid config, otherwise it is
//! refused. [`write_atomically`] replaces the file by rename, so a reader (the daemon on
//! SIGHUP, `uci`) sees the old file or the new one, never a mix, and keeps its mode and owner.

use super::uci::{self, Statement};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error(transparent)]
    Syntax(#[from] uci::ParseError),
    #[error("section '{name}' is a '{found}' section, not a '{wanted}' one")]
    TypeConflict {
        name: String,
        found: String,
        wanted: String,
    },
    #[error("line {0} holds other statements too; edit it by hand")]
    SharedLine(usize),
    #[error("the edited file would not load: {0}")]
    Invalid(#[from] super::ConfigError),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn is_config(s: &Statement) -> bool {
    matches!(s.words.first().map(String::as_str), Some("config" | "c"))
}

fn is_option(s: &Statement, option: &str) -> bool {
    matches!(
        s.words.first().map(String::as_str),
        Some("option" | "o" | "list" | "l")
    ) && s.words.get(1).map(String::as_str) == Some(option)
}

/// Indices of the statements that belong to section `name` (its `config` lines and what
/// follows each of them up to the next `config`), after checking its type.
fn section_statements(
    statements: &[Statement],
    kind: &str,
    name: &str,
) -> Result<Vec<usize>, EditError> {
    let mut inside = false;
    let mut out = Vec::new();
    for (i, s) in statements.iter().enumerate() {
        if is_config(s) {
            inside = s.words.get(2).map(String::as_str) == Some(name);
            let found = s.words.get(1).map(String::as_str).unwrap_or_default();
            if inside && found != kind {
                return Err(EditError::TypeConflict {
                    name: name.to_owned(),
                    found: found.to_owned(),
                    wanted: kind.to_owned(),
                });
            }
        }
        if inside {
            out.push(i);
        }
    }
    Ok(out)
}

/// Fails unless statement `i` is alone on its lines.
fn check_alone(statements: &[Statement], i: usize) -> Result<(), EditError> {
    let s = &statements[i];
    let before = i > 0 && statements[i - 1].last_line >= s.first_line;
    let after = statements
        .get(i + 1)
        .is_some_and(|n| n.first_line <= s.last_line);
    if before || after {
        Err(EditError::SharedLine(s.first_line))
    } else {
        Ok(())
    }
}

/// The text split into lines, each with its line break.
fn lines(text: &str) -> Vec<String> {
    text.split_inclusive('\n').map(str::to_owned).collect()
}

fn indent_of(line: &str) -> &str {
    &line[..line.len() - line.trim_start().len()]
}

/// Sets `option` of section `config <kind> '<name>'` to `value`: replaces the line(s) that set
/// it, else adds a line after the section's `config` line, else appends the section.
pub fn set_option(
    text: &str,
    kind: &str,
    name: &str,
    option: &str,
    value: &str,
) -> Result<String, EditError> {
    let statements = uci::statements(text)?;
    let section = section_statements(&statements, kind, name)?;
    let mut lines = lines(text);
    let new_line = |indent: &str| format!("{indent}option {option} {}\n", uci::quote(value));
    let setters: Vec<usize> = section
        .iter()
        .copied()
        .filter(|&i| is_option(&statements[i], option))
        .collect();
    if let Some((&last, earlier)) = setters.split_last() {
        for &i in &setters {
            check_alone(&statements, i)?;
        }
        // Replace the effective (last) one; drop earlier ones, working from the end so line
        // numbers of the ones still to do stay valid.
        let s = &statements[last];
        let indent = indent_of(&lines[s.first_line - 1]).to_owned();
        lines.splice(s.first_line - 1..s.last_line, [new_line(&indent)]);
        for &i in earlier.iter().rev() {
            let s = &statements[i];
            lines.drain(s.first_line - 1..s.last_line);
        }
    } else if let Some(&first) = section.first() {
        check_alone(&statements, first)?;
        let at = statements[first].last_line;
        if !lines[at - 1].ends_with('\n') {
            lines[at - 1].push('\n');
        }
        lines.insert(at, new_line("\t"));
    } else {
        if lines.last().is_some_and(|l| !l.ends_with('\n')) {
            lines.push("\n".into());
        }
        if !lines.is_empty() {
            lines.push("\n".into());
        }
        lines.push(format!("config {kind} {}\n", uci::quote(name)));
        lines.push(new_line("\t"));
    }
    let edited = lines.concat();
    super::parse(&edited)?;
    Ok(edited)
}

/// Removes section `config <kind> '<name>'` (every statement of it); `None` when there is none.
pub fn remove_section(text: &str, kind: &str, name: &str) -> Result<Option<String>, EditError> {
    let statements = uci::statements(text)?;
    let section = section_statements(&statements, kind, name)?;
    if section.is_empty() {
        return Ok(None);
    }
    for &i in &section {
        check_alone(&statements, i)?;
    }
    let mut lines = lines(text);
    for &i in section.iter().rev() {
        let s = &statements[i];
        lines.drain(s.first_line - 1..s.last_line);
        // Do not leave two blank lines where the section was.
        let at = s.first_line - 1;
        let blank = |l: Option<&String>| l.is_some_and(|l| l.trim().is_empty());
        if blank(lines.get(at)) && (at == 0 || blank(lines.get(at - 1))) {
            lines.remove(at);
        }
    }
    let edited = lines.concat();
    super::parse(&edited)?;
    Ok(Some(edited))
}

/// Replaces `path` with `text`: a temporary file in the same directory, fsynced, given the
/// old file's mode and owner (0600 for a new file), renamed over the old one. A symlink is
/// followed, so the file it points to is replaced.
pub fn write_atomically(path: &Path, text: &str) -> Result<(), EditError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| EditError::Io { path, source }
    };
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let old = std::fs::metadata(&path).ok();
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.tmp{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io(&tmp))?;
        file.write_all(text.as_bytes()).map_err(io(&tmp))?;
        if let Some(old) = &old {
            // Owner first: chown clears set-id bits, the mode then restores them.
            let _ = std::os::unix::fs::fchown(&file, Some(old.uid()), Some(old.gid()));
            file.set_permissions(std::fs::Permissions::from_mode(old.mode() & 0o7777))
                .map_err(io(&tmp))?;
        }
        file.sync_all().map_err(io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io(&path))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result?;
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests;
