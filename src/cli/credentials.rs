//! `acs-edge passwd USER` and `acs-edge token create|revoke NAME`: they change the config file
//! in place (see `config::edit`) and tell the user to reload the daemon. Secrets are read from
//! the terminal without echo, or from stdin when it is not a terminal, and are never written
//! anywhere but as hashes; a new API token is printed once, on stdout.
//!
//! The config file must exist: a mistyped `--config` would otherwise become a new file holding
//! one section, while the daemon goes on reading the real one.

use crate::auth::{password, tokens};
use crate::config::{edit, uci, MAX_INSTANCE_NAME};
use std::io::{IsTerminal, Read};
use std::path::Path;
use std::process::ExitCode;

fn fail(command: &str, message: impl std::fmt::Display) -> ExitCode {
    eprintln!("acs-edge {command}: {message}");
    ExitCode::from(1)
}

/// The config file's text; a missing file (or directory) is refused with what to do about it.
fn read_config(path: &Path) -> Result<String, String> {
    let shown = path.display();
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let dir = match path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            if !dir.is_dir() {
                Err(format!(
                    "{shown}: the directory {} does not exist; give the config file with \
                     --config FILE",
                    dir.display()
                ))
            } else {
                Err(format!(
                    "no config file at {shown} (nothing changed).\n{}",
                    super::no_config_hint(path)
                ))
            }
        }
        Err(e) => Err(format!("{shown}: {e}")),
    }
}

fn check_name(what: &str, name: &str) -> Result<(), String> {
    if uci::is_valid_name(name) && name.len() <= MAX_INSTANCE_NAME {
        Ok(())
    } else {
        Err(format!(
            "{what} {name:?} must be 1 to {MAX_INSTANCE_NAME} letters, digits or _"
        ))
    }
}

/// The new password: prompted twice without echo on a terminal, else the first line of stdin.
fn read_password(user: &str) -> Result<String, String> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("New password for {user}: "))
            .map_err(|e| format!("cannot read the password: {e}"))?;
        let again = rpassword::prompt_password("Repeat it: ")
            .map_err(|e| format!("cannot read the password: {e}"))?;
        if first != again {
            return Err("the passwords differ; nothing changed".into());
        }
        first
    } else {
        let mut input = Vec::new();
        std::io::stdin()
            .take(4 * password::MAX_PASSWORD_CHARS as u64 + 3)
            .read_to_end(&mut input)
            .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
        let text = String::from_utf8(input).map_err(|_| "the password is not UTF-8".to_string())?;
        let line = text.split('\n').next().unwrap_or_default();
        line.strip_suffix('\r').unwrap_or(line).to_owned()
    };
    if password.chars().count() > password::MAX_PASSWORD_CHARS {
        return Err(format!(
            "the password is longer than {} characters",
            password::MAX_PASSWORD_CHARS
        ));
    }
    if password.chars().count() < password::MIN_PASSWORD_CHARS {
        return Err(format!(
            "the password must have at least {} characters",
            password::MIN_PASSWORD_CHARS
        ));
    }
    Ok(password)
}

/// Creates user `user` or sets a new password for it.
pub fn passwd(user: &str, config: &Path) -> ExitCode {
    const CMD: &str = "passwd";
    if let Err(e) = check_name("user name", user) {
        return fail(CMD, e);
    }
    let text = match read_config(config) {
        Ok(t) => t,
        Err(e) => return fail(CMD, e),
    };
    let password = match read_password(user) {
        Ok(p) => p,
        Err(e) => return fail(CMD, e),
    };
    let hash = match password::hash(&password) {
        Ok(h) => h,
        Err(e) => return fail(CMD, e),
    };
    let result = edit::set_option(&text, "user", user, "password_hash", &hash)
        .and_then(|text| edit::write_atomically(config, &text));
    match result {
        Ok(()) => {
            eprintln!(
                "password of user '{user}' set in {}; reload the daemon to apply it \
                 (/etc/init.d/acs-edge reload, or SIGHUP)",
                config.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(CMD, format!("{}: {e}", config.display())),
    }
}

/// Adds API token `name` and prints the token once. An existing name is refused.
pub fn token_create(name: &str, config: &Path) -> ExitCode {
    const CMD: &str = "token create";
    if let Err(e) = check_name("token name", name) {
        return fail(CMD, e);
    }
    let text = match read_config(config) {
        Ok(t) => t,
        Err(e) => return fail(CMD, e),
    };
    match crate::config::parse(&text) {
        Ok(loaded) if loaded.config.auth.api_tokens.iter().any(|t| t.name == name) => {
            return fail(
                CMD,
                format!(
                    "a token named '{name}' exists; revoke it first (acs-edge token revoke {name})"
                ),
            )
        }
        Ok(_) => {}
        Err(e) => return fail(CMD, format!("{}: {e}", config.display())),
    }
    let token = match tokens::new_token() {
        Ok(t) => t,
        Err(e) => return fail(CMD, format!("the OS random number generator failed: {e}")),
    };
    let hash = tokens::format_hash(&tokens::digest(&token));
    let result = edit::set_option(&text, "api_token", name, "token_hash", &hash)
        .and_then(|text| edit::write_atomically(config, &text));
    if let Err(e) = result {
        return fail(CMD, format!("{}: {e}", config.display()));
    }
    if let Err(e) = super::write_stdout(&format!("{token}\n")) {
        return fail(
            CMD,
            format!(
                "token '{name}' was added to {} but could not be printed ({e}); revoke it \
                 (acs-edge token revoke {name}) and create it again",
                config.display()
            ),
        );
    }
    eprintln!(
        "token '{name}' added to {}; it is shown only this once. Reload the daemon to apply it.",
        config.display()
    );
    ExitCode::SUCCESS
}

/// Removes API token `name`.
pub fn token_revoke(name: &str, config: &Path) -> ExitCode {
    const CMD: &str = "token revoke";
    let text = match read_config(config) {
        Ok(t) => t,
        Err(e) => return fail(CMD, e),
    };
    let text = match edit::remove_section(&text, "api_token", name) {
        Ok(Some(text)) => text,
        Ok(None) => {
            return fail(
                CMD,
                format!("no token named '{name}' in {}", config.display()),
            )
        }
        Err(e) => return fail(CMD, format!("{}: {e}", config.display())),
    };
    match edit::write_atomically(config, &text) {
        Ok(()) => {
            eprintln!(
                "token '{name}' removed from {}; reload the daemon to apply it.",
                config.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(CMD, e),
    }
}
