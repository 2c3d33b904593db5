//! `acs-edge check-config [FILE]`: every error of the file with its line, then the files it
//! names (TLS certificates and keys, model files), which must exist and be readable. The
//! daemon refuses to start without its upstream files and skips a model whose file it cannot
//! load; this finds both before a start.
//!
//! A named file is an error when the part that reads it is switched on, and a warning when it
//! is off (the file matters once it is switched on).

use crate::config::{self, Config};
use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

/// Exit 0 when the file is usable (warnings are printed), 1 otherwise.
pub fn check_config(path: &Path) -> ExitCode {
    let shown = path.display();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("{shown}: cannot read it: {e}");
            if e.kind() == std::io::ErrorKind::NotFound {
                eprintln!("{}", super::no_config_hint(path));
            }
            return ExitCode::from(1);
        }
    };
    let checked = match config::check(&text) {
        Ok(checked) => checked,
        Err(syntax) => {
            eprintln!("{shown}: {syntax}");
            return ExitCode::from(1);
        }
    };
    for warning in &checked.loaded.warnings {
        eprintln!("warning: {warning}");
    }
    let mut errors: Vec<String> = checked.errors.iter().map(ToString::to_string).collect();
    let config = &checked.loaded.config;
    if checked.errors.is_empty() {
        let looping = crate::runtime::hass_loop_error(&config.hass, config);
        errors.extend(looping.map(|e| e.to_string()));
    }
    for (needed, problem) in named_file_problems(&checked.loaded.config) {
        if needed {
            errors.push(problem);
        } else {
            eprintln!("warning: {problem}");
        }
    }
    for error in &errors {
        eprintln!("{shown}: {error}");
    }
    match errors.len() {
        0 => super::print_stdout(&format!("{shown}: ok\n")),
        1 => ExitCode::from(1),
        n => {
            eprintln!("{shown}: {n} errors");
            ExitCode::from(1)
        }
    }
}

/// Why `path` cannot be read, if it cannot: it is missing, not permitted, or a directory.
fn unreadable(path: &Path) -> Option<std::io::Error> {
    std::fs::File::open(path)
        .and_then(|mut file| file.read(&mut [0u8; 1]))
        .err()
}

/// `(the part that reads it is on, the problem)` for each named file that cannot be read.
fn named_file_problems(config: &Config) -> Vec<(bool, String)> {
    let up = &config.upstream;
    let mut problems = Vec::new();
    for (option, file) in [
        ("ca_file", &up.ca_file),
        ("cert_file", &up.cert_file),
        ("key_file", &up.key_file),
    ] {
        let Some(file) = file else { continue };
        if let Some(e) = unreadable(file) {
            let problem = format!("upstream.{option}: cannot read {}: {e}", file.display());
            problems.push((up.enabled, problem));
        }
    }
    for model in &config.models {
        if let Some(e) = unreadable(&model.path) {
            let problem = format!(
                "line {}: model '{}': option 'path': cannot read {}: {e}",
                model.line,
                model.name,
                model.path.display()
            );
            problems.push((model.enabled, problem));
        }
    }
    problems
}
