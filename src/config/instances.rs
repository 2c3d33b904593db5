//! Multi-instance section types (`config user 'alice'`, `config api_token 'ci'`, declared in
//! the option table's `MULTI_SECTIONS`): each instance is named, checked against the table like
//! a single section, must set its spec's required options, and becomes one typed entry.

use super::options::{MultiSectionSpec, Val};
use super::{set_entry, uci, ConfigError, Secret, Values};
use std::time::Duration;

/// Longest name of a multi-instance section (a user name, a token name).
pub const MAX_INSTANCE_NAME: usize = 64;

/// One named instance of a multi-instance section type, with its checked values.
pub(super) struct Instance {
    pub kind: &'static str,
    pub name: String,
    pub line: usize,
    pub values: Values,
}

pub(super) fn parse_instance(
    multi: &MultiSectionSpec,
    section: &uci::Section,
    warnings: &mut Vec<String>,
) -> Result<Instance, ConfigError> {
    let fail = |name: &str, message: String| ConfigError::Instance {
        line: section.line,
        kind: multi.name,
        name: name.to_owned(),
        message,
    };
    let Some(name) = section.name.clone() else {
        return Err(fail(
            "",
            format!("needs a name: config {0} 'NAME'", multi.name),
        ));
    };
    if name.len() > MAX_INSTANCE_NAME {
        return Err(fail(
            &name,
            format!("the name is longer than {MAX_INSTANCE_NAME} characters"),
        ));
    }
    let mut values = Values::defaults();
    for entry in &section.options {
        set_entry(&mut values, multi.name, entry, warnings)?;
    }
    for required in multi.required {
        let empty = match values.get(multi.name, required) {
            Val::Text(t) => t.is_empty(),
            Val::List(items) => items.is_empty(),
            _ => false,
        };
        if values.line(multi.name, required).is_none() || empty {
            return Err(fail(&name, format!("option '{required}' is required")));
        }
    }
    Ok(Instance {
        kind: multi.name,
        name,
        line: section.line,
        values,
    })
}

/// Who may use the API, and the login policy (options `api.token_ttl_s`,
/// `api.login_max_failures`, `api.login_lockout_s`; sections `user` and `api_token`).
/// All of it is applied by a reload.
#[derive(Debug, Clone, PartialEq)]
pub struct Auth {
    pub token_ttl: Duration,
    pub login_max_failures: u32,
    pub login_lockout: Duration,
    pub users: Vec<User>,
    pub api_tokens: Vec<ApiToken>,
}

/// `config user '<name>'`.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub name: String,
    /// An argon2 PHC string, checked by [`crate::auth::password::check_phc`].
    pub password_hash: Secret,
    pub enabled: bool,
    /// Line of the section, for messages.
    pub line: usize,
}

/// `config api_token '<name>'`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiToken {
    pub name: String,
    /// `sha256:<hex>` of the token.
    pub token_hash: Secret,
    pub enabled: bool,
    pub line: usize,
}

/// The typed `Auth` from the `api` options and the `user` / `api_token` instances.
pub(super) fn auth_from(v: &Values, instances: &[Instance]) -> Auth {
    let secs = |s, n| Duration::from_secs(v.int(s, n));
    Auth {
        token_ttl: secs("api", "token_ttl_s"),
        login_max_failures: v.int("api", "login_max_failures") as u32,
        login_lockout: secs("api", "login_lockout_s"),
        users: instances
            .iter()
            .filter(|i| i.kind == "user")
            .map(|i| User {
                name: i.name.clone(),
                password_hash: Secret::new(i.values.text("user", "password_hash")),
                enabled: i.values.flag("user", "enabled"),
                line: i.line,
            })
            .collect(),
        api_tokens: instances
            .iter()
            .filter(|i| i.kind == "api_token")
            .map(|i| ApiToken {
                name: i.name.clone(),
                token_hash: Secret::new(i.values.text("api_token", "token_hash")),
                enabled: i.values.flag("api_token", "enabled"),
                line: i.line,
            })
            .collect(),
    }
}
