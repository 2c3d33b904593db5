//! The login counters, reported in `/api/v1/health` as `api.auth`. Auth counts the logins; the
//! API counts the requests it refused for a missing or bad token.

use portable_atomic::AtomicU64;
use serde::Serialize;
use std::sync::atomic::Ordering::Relaxed;

/// Totals since start.
#[derive(Default)]
pub struct AuthCounters {
    pub logins_ok: AtomicU64,
    pub logins_failed: AtomicU64,
    pub logins_limited: AtomicU64,
    pub unauthorized: AtomicU64,
}

impl AuthCounters {
    pub fn snapshot(&self) -> AuthSnapshot {
        let get = |c: &AtomicU64| c.load(Relaxed);
        AuthSnapshot {
            logins_ok: get(&self.logins_ok),
            logins_failed: get(&self.logins_failed),
            logins_limited: get(&self.logins_limited),
            unauthorized: get(&self.unauthorized),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct AuthSnapshot {
    /// Logins that issued a token.
    pub logins_ok: u64,
    /// Logins refused for a wrong user name or password.
    pub logins_failed: u64,
    /// Logins refused unchecked: the address was locked out, or the password check was busy
    /// (see `crate::auth::gate`).
    pub logins_limited: u64,
    /// Requests refused with 401 (no, invalid or expired token).
    pub unauthorized: u64,
}
