//! Why a config file was refused: every error names the line, and the section and option
//! (or the named instance) it is about, so `check-config` and the daemon point at the fix.

use super::uci;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Syntax(#[from] uci::ParseError),
    #[error("{}option '{option}' in section '{section}': {message}", at(.line))]
    Invalid {
        line: Option<usize>,
        section: &'static str,
        option: &'static str,
        message: String,
    },
    #[error("line {line}: {kind} '{name}': {message}")]
    Instance {
        line: usize,
        kind: &'static str,
        name: String,
        message: String,
    },
}

fn at(line: &Option<usize>) -> String {
    line.map(|l| format!("line {l}: ")).unwrap_or_default()
}

impl ConfigError {
    /// The 1-based line the error is about, when it is about one.
    pub fn line(&self) -> Option<usize> {
        match self {
            ConfigError::Read { .. } => None,
            ConfigError::Syntax(e) => Some(e.line),
            ConfigError::Invalid { line, .. } => *line,
            ConfigError::Instance { line, .. } => Some(*line),
        }
    }
}
