//! Who may use the API: users with argon2 password hashes and configured API tokens (both from
//! the UCI file, replaced on SIGHUP), session tokens issued by login, and the failed-login limit.
//!
//! Invariants:
//! - Secrets are never logged: not passwords, not tokens, not hashes. Log lines name the user
//!   and the client address only.
//! - Password hashing never runs under the state lock, and at most [`MAX_CONCURRENT_HASHES`]
//!   hashes run at a time: a login burst cannot occupy every API worker or allocate more than
//!   that many times argon2's memory. Who gets the slot is decided by the client address only
//!   (see [`gate`]): an address without recent failures waits briefly and goes first; one with
//!   recent failures is refused at once (429) when the slot is taken or its budget is spent.
//! - A login for an unknown or disabled user costs the same argon2 work as a wrong password.
//! - Locked-out addresses are refused before any hashing.
//! - Failed logins are logged one by one only up to [`FAILURES_LOGGED`] a minute, then as one
//!   summary line, so guessing cannot flood syslog; the counters count every one.
//! - A reload that removes or disables a user ends that user's sessions.

pub mod gate;
pub mod limiter;
pub mod password;
pub mod stats;
pub mod tokens;

use limiter::Limiter;
use stats::AuthCounters;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokens::{Lookup, Sessions, TokenDigest};

pub use gate::MAX_CONCURRENT_HASHES;

/// Failed logins logged one by one per [`FAILURE_LOG_WINDOW`]; the rest are summed up.
pub const FAILURES_LOGGED: u32 = 10;
const FAILURE_LOG_WINDOW: Duration = Duration::from_secs(60);

/// Who a request is made for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A user logged in with a password (`config user`).
    User(String),
    /// A configured machine token (`config api_token`).
    ApiToken(String),
    /// A configured machine token that opens only `/metrics` (`option metrics_only '1'`).
    MetricsToken(String),
}

impl Principal {
    pub fn name(&self) -> &str {
        match self {
            Principal::User(n) | Principal::ApiToken(n) | Principal::MetricsToken(n) => n,
        }
    }
}

/// Why a login or a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("invalid username or password")]
    BadCredentials,
    #[error("the token is not valid")]
    InvalidToken,
    #[error("the token has expired; log in again")]
    ExpiredToken,
    #[error("too many failed logins from this address; retry after {retry_after_s} s")]
    LockedOut { retry_after_s: u64 },
    #[error("another login is being checked; retry in a second")]
    Busy,
    #[error("cannot create a token: {0}")]
    Internal(String),
}

/// Who may log in and the login policy, as configured (`config user`, `config api_token`,
/// the `api` login options); built by `runtime::settings::auth_settings` at start and reload.
/// No `Debug`: it holds password and token hashes.
pub struct AuthSettings {
    pub token_ttl: Duration,
    pub login_max_failures: u32,
    pub login_lockout: Duration,
    pub users: Vec<UserSettings>,
    pub api_tokens: Vec<ApiTokenSettings>,
}

pub struct UserSettings {
    pub name: String,
    /// An argon2 PHC string.
    pub password_hash: String,
    pub enabled: bool,
}

pub struct ApiTokenSettings {
    pub name: String,
    /// `sha256:<hex>` of the token.
    pub token_hash: String,
    pub enabled: bool,
    /// The token opens only `/metrics` (see [`Principal::MetricsToken`]).
    pub metrics_only: bool,
}

/// A successful login.
#[derive(Debug, Clone)]
pub struct Issued {
    pub token: String,
    /// Epoch ms.
    pub expires_at_ms: i64,
}

struct UserEntry {
    phc: String,
    enabled: bool,
}

struct TokenEntry {
    name: String,
    digest: TokenDigest,
    metrics_only: bool,
}

struct State {
    users: HashMap<String, UserEntry>,
    api_tokens: Vec<TokenEntry>,
    token_ttl: Duration,
    max_failures: u32,
    lockout: Duration,
    sessions: Sessions,
    limiter: Limiter,
    failure_log: FailureLog,
}

/// The failed logins of the current log window.
#[derive(Default)]
struct FailureLog {
    window_start: Option<Instant>,
    failed: u64,
    logged: u32,
}

impl State {
    /// Counts a failed login for the log; true when it gets a line of its own. Opening a new
    /// window logs the summary of the last one if some of its failures were not logged.
    fn log_failure(&mut self, now: Instant) -> bool {
        let log = &mut self.failure_log;
        match log.window_start {
            Some(start) if now.saturating_duration_since(start) < FAILURE_LOG_WINDOW => {}
            start => {
                if let Some(start) = start.filter(|_| log.failed > u64::from(log.logged)) {
                    log::warn!(
                        "failed_logins={} addresses={} in the last {} s ({} not logged one by one)",
                        log.failed,
                        self.limiter.failing_since(start),
                        now.saturating_duration_since(start).as_secs(),
                        log.failed - u64::from(log.logged)
                    );
                }
                *log = FailureLog {
                    window_start: Some(now),
                    ..FailureLog::default()
                };
            }
        }
        log.failed += 1;
        let own_line = log.logged < FAILURES_LOGGED;
        log.logged += u32::from(own_line);
        own_line
    }
}

pub struct Auth {
    state: Mutex<State>,
    gate: gate::Gate,
    stats: Arc<AuthCounters>,
}

impl Auth {
    pub fn new(settings: &AuthSettings, stats: Arc<AuthCounters>) -> Auth {
        let auth = Auth {
            state: Mutex::new(State {
                users: HashMap::new(),
                api_tokens: Vec::new(),
                token_ttl: settings.token_ttl,
                max_failures: settings.login_max_failures,
                lockout: settings.login_lockout,
                sessions: Sessions::default(),
                limiter: Limiter::default(),
                failure_log: FailureLog::default(),
            }),
            gate: gate::Gate::default(),
            stats,
        };
        auth.reload(settings);
        auth
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces users, API tokens and the login policy. Sessions of users that are gone or
    /// disabled end; other sessions keep their expiry.
    pub fn reload(&self, settings: &AuthSettings) {
        let users: HashMap<String, UserEntry> = settings
            .users
            .iter()
            .map(|u| {
                let entry = UserEntry {
                    phc: u.password_hash.clone(),
                    enabled: u.enabled,
                };
                (u.name.clone(), entry)
            })
            .collect();
        let api_tokens = settings
            .api_tokens
            .iter()
            .filter(|t| t.enabled)
            .filter_map(|t| {
                let digest = tokens::parse_hash(&t.token_hash)?;
                Some(TokenEntry {
                    name: t.name.clone(),
                    digest,
                    metrics_only: t.metrics_only,
                })
            })
            .collect::<Vec<_>>();
        let mut st = self.lock();
        let ended: Vec<String> = st
            .sessions
            .users()
            .filter(|name| !users.get(*name).is_some_and(|u| u.enabled))
            .map(str::to_owned)
            .collect();
        for name in &ended {
            st.sessions.end_user(name);
        }
        let enabled_users = users.values().filter(|u| u.enabled).count();
        log::info!(
            "users={enabled_users} api_tokens={} token_ttl_s={} credentials loaded",
            api_tokens.len(),
            settings.token_ttl.as_secs()
        );
        if enabled_users == 0 && api_tokens.is_empty() {
            log::warn!(
                "no users and no API tokens are configured: every endpoint except health and \
                 login answers 401; create a user with `acs-edge passwd NAME` and reload"
            );
        }
        st.users = users;
        st.api_tokens = api_tokens;
        st.token_ttl = settings.token_ttl;
        st.max_failures = settings.login_max_failures;
        st.lockout = settings.login_lockout;
    }

    /// Checks a password and issues a session token. `client` is the real client address.
    pub fn login(
        &self,
        username: &str,
        password: &str,
        client: IpAddr,
    ) -> Result<Issued, AuthError> {
        let now = Instant::now();
        let (phc, suspect) = {
            let st = self.lock();
            if let Err(retry_after_s) = st.limiter.check(client, now) {
                self.stats.logins_limited.fetch_add(1, Ordering::Relaxed);
                return Err(AuthError::LockedOut { retry_after_s });
            }
            let phc = st
                .users
                .get(username)
                .filter(|u| u.enabled)
                .map(|u| u.phc.clone());
            (phc, st.limiter.suspect(client, now, st.lockout))
        };
        let Some(_slot) = self.gate.enter(suspect) else {
            self.stats.logins_limited.fetch_add(1, Ordering::Relaxed);
            return Err(AuthError::Busy);
        };
        let ok = match &phc {
            Some(phc) => password::verify(password, phc),
            None => {
                password::burn(password);
                false
            }
        };
        let now = Instant::now();
        let mut st = self.lock();
        if !ok {
            let own_line = st.log_failure(now);
            let (max, lockout) = (st.max_failures, st.lockout);
            let locked = st.limiter.failure(client, now, max, lockout);
            self.stats.logins_failed.fetch_add(1, Ordering::Relaxed);
            if own_line {
                log::warn!(
                    "user={username:?} client={client} login failed{}",
                    if locked { "; address locked out" } else { "" }
                );
            }
            return Err(AuthError::BadCredentials);
        }
        let token = tokens::new_token().map_err(|e| AuthError::Internal(e.to_string()))?;
        let ttl = st.token_ttl;
        st.limiter.success(client);
        let evicted = st
            .sessions
            .insert(tokens::digest(&token), username, ttl, now);
        if evicted > 0 {
            log::info!(
                "sessions={} oldest session ended to make room",
                st.sessions.len()
            );
        }
        drop(st);
        self.stats.logins_ok.fetch_add(1, Ordering::Relaxed);
        log::info!("user={username} client={client} logged in");
        Ok(Issued {
            token,
            expires_at_ms: crate::model::now_ms()
                .saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)),
        })
    }

    /// The principal a bearer token stands for.
    pub fn check_token(&self, token: &str) -> Result<Principal, AuthError> {
        let digest = tokens::digest(token);
        let st = self.lock();
        let api = tokens::find_ct(&digest, st.api_tokens.iter().map(|t| &t.digest));
        let session = st.sessions.lookup(&digest, Instant::now());
        match (api, session) {
            (Some(i), _) => {
                let entry = &st.api_tokens[i];
                let name = entry.name.clone();
                Ok(if entry.metrics_only {
                    Principal::MetricsToken(name)
                } else {
                    Principal::ApiToken(name)
                })
            }
            (None, Lookup::Valid(user)) => Ok(Principal::User(user)),
            (None, Lookup::Expired) => Err(AuthError::ExpiredToken),
            (None, Lookup::Unknown) => Err(AuthError::InvalidToken),
        }
    }

    /// The login counters (the API counts its 401s here too).
    pub fn stats(&self) -> &AuthCounters {
        &self.stats
    }
}

#[cfg(test)]
mod tests;
