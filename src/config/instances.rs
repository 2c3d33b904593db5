//! Multi-instance section types (`config user 'alice'`, `config api_token 'ci'`, declared in
//! the option table's `MULTI_SECTIONS`): each instance is named, checked against the table like
//! a single section, must set its spec's required options, and becomes one typed entry.

use super::error::ConfigError;
use super::options::auth::{API_TOKEN, USER};
use super::options::keys::{Flag, Int, Text};
use super::options::spec::MultiSectionSpec;
use super::secret::Secret;
use super::uci;
use super::values::{set_entry, Values};
use std::time::Duration;

/// Longest name of a multi-instance section (a user name, a token name).
pub const MAX_INSTANCE_NAME: usize = 64;

/// One named instance of a multi-instance section type, with its checked values.
pub struct Instance {
    pub kind: &'static str,
    pub name: String,
    pub line: usize,
    pub values: Values,
}

/// The checked instance, or `None` when it has errors (each one goes to `errors`).
pub fn parse_instance(
    multi: &MultiSectionSpec,
    section: &uci::Section,
    warnings: &mut Vec<String>,
    errors: &mut Vec<ConfigError>,
) -> Option<Instance> {
    let fail = |name: &str, message: String| ConfigError::Instance {
        line: section.line,
        kind: multi.name,
        name: name.to_owned(),
        message,
    };
    let Some(name) = section.name.clone() else {
        errors.push(fail(
            "",
            format!("needs a name: config {0} 'NAME'", multi.name),
        ));
        return None;
    };
    if name.len() > MAX_INSTANCE_NAME {
        errors.push(fail(
            &name,
            format!("the name is longer than {MAX_INSTANCE_NAME} characters"),
        ));
        return None;
    }
    let before = errors.len();
    let mut values = Values::defaults();
    for entry in &section.options {
        if let Err(e) = set_entry(&mut values, multi.name, entry, warnings) {
            errors.push(e);
        }
    }
    for required in multi.required {
        let given = multi
            .options
            .iter()
            .find(|o| o.name == *required)
            .is_some_and(|o| values.is_given(o.kind));
        // An option refused above is not also reported missing.
        let refused = errors[before..]
            .iter()
            .any(|e| matches!(e, ConfigError::Invalid { option, .. } if option == required));
        if !given && !refused {
            errors.push(fail(&name, format!("option '{required}' is required")));
        }
    }
    (errors.len() == before).then_some(Instance {
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
    /// The token opens only `/metrics`.
    pub metrics_only: bool,
    pub line: usize,
}

/// The typed `Auth` from the `api` options and the `user` / `api_token` instances.
pub fn auth_from(v: &Values, instances: &[Instance]) -> Auth {
    let secs = |key| Duration::from_secs(v.int(key));
    Auth {
        token_ttl: secs(Int::ApiTokenTtlS),
        login_max_failures: v.int(Int::ApiLoginMaxFailures) as u32,
        login_lockout: secs(Int::ApiLoginLockoutS),
        users: instances
            .iter()
            .filter(|i| i.kind == USER.name)
            .map(|i| User {
                name: i.name.clone(),
                password_hash: Secret::new(i.values.text(Text::UserPasswordHash)),
                enabled: i.values.flag(Flag::UserEnabled),
                line: i.line,
            })
            .collect(),
        api_tokens: instances
            .iter()
            .filter(|i| i.kind == API_TOKEN.name)
            .map(|i| ApiToken {
                name: i.name.clone(),
                token_hash: Secret::new(i.values.text(Text::ApiTokenTokenHash)),
                enabled: i.values.flag(Flag::ApiTokenEnabled),
                metrics_only: i.values.flag(Flag::ApiTokenMetricsOnly),
                line: i.line,
            })
            .collect(),
    }
}
