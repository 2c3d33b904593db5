//! Failed-login limits per client address: after `max_failures` failed logins in a row (no
//! gap longer than `lockout`), the address is refused for `lockout` with 429, before any
//! password hashing is done.
//!
//! Invariants: the table holds at most [`MAX_ADDRESSES`] entries (a flood of addresses evicts
//! the entry with the oldest failure, never grows memory); IPv6 clients are keyed by their /64,
//! since one host usually owns a whole /64; a successful login clears its address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

pub const MAX_ADDRESSES: usize = 1024;

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last_failure: Instant,
    blocked_until: Option<Instant>,
}

#[derive(Debug, Default)]
pub struct Limiter {
    entries: HashMap<IpAddr, Entry>,
}

/// The key an address is counted under: IPv4 as is, IPv6 by its /64 (IPv4-mapped as IPv4).
pub fn key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut seg = v6.segments();
                seg[4..].fill(0);
                IpAddr::V6(seg.into())
            }
        },
    }
}

impl Limiter {
    /// `Err(seconds to wait)` while the address is locked out.
    pub fn check(&self, addr: IpAddr, now: Instant) -> Result<(), u64> {
        match self.entries.get(&key(addr)).and_then(|e| e.blocked_until) {
            Some(until) if until > now => Err(ceil_secs(until - now)),
            _ => Ok(()),
        }
    }

    /// Counts a failed login; returns true when it locked the address out.
    pub fn failure(
        &mut self,
        addr: IpAddr,
        now: Instant,
        max_failures: u32,
        lockout: Duration,
    ) -> bool {
        let key = key(addr);
        if !self.entries.contains_key(&key) && self.entries.len() >= MAX_ADDRESSES {
            self.evict(now);
        }
        let entry = self.entries.entry(key).or_insert(Entry {
            failures: 0,
            last_failure: now,
            blocked_until: None,
        });
        if now.duration_since(entry.last_failure) > lockout
            || entry.blocked_until.is_some_and(|u| u <= now)
        {
            entry.failures = 0;
            entry.blocked_until = None;
        }
        entry.failures += 1;
        entry.last_failure = now;
        if entry.failures >= max_failures {
            entry.blocked_until = Some(now + lockout);
            entry.failures = 0;
            true
        } else {
            false
        }
    }

    /// Whether the address failed a login within `window`: its logins wait behind those of
    /// addresses without failures (see `super::gate`).
    pub fn suspect(&self, addr: IpAddr, now: Instant, window: Duration) -> bool {
        self.entries
            .get(&key(addr))
            .is_some_and(|e| now.saturating_duration_since(e.last_failure) < window)
    }

    /// How many addresses failed a login at or after `since` (for the summary log line).
    pub fn failing_since(&self, since: Instant) -> usize {
        self.entries
            .values()
            .filter(|e| e.last_failure >= since)
            .count()
    }

    pub fn success(&mut self, addr: IpAddr) {
        self.entries.remove(&key(addr));
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Makes room for one entry: the one whose last failure is oldest goes.
    fn evict(&mut self, now: Instant) {
        let oldest = self
            .entries
            .iter()
            .filter(|(_, e)| e.blocked_until.is_none_or(|u| u <= now))
            .min_by_key(|(_, e)| e.last_failure)
            .or_else(|| self.entries.iter().min_by_key(|(_, e)| e.last_failure))
            .map(|(k, _)| *k);
        if let Some(k) = oldest {
            self.entries.remove(&k);
        }
    }
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCKOUT: Duration = Duration::from_secs(60);

    #[test]
    fn an_address_is_locked_after_max_failures_and_freed_after_the_lockout() {
        let mut l = Limiter::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let t = Instant::now();
        for i in 0..4 {
            assert!(!l.failure(a, t, 5, LOCKOUT), "failure {i}");
            assert_eq!(l.check(a, t), Ok(()));
        }
        assert!(l.failure(a, t, 5, LOCKOUT));
        assert_eq!(l.check(a, t), Err(60));
        assert_eq!(l.check(a, t + Duration::from_millis(59_500)), Err(1));
        assert_eq!(l.check(a, t + LOCKOUT), Ok(()));
        assert!(l.suspect(a, t + LOCKOUT / 2, LOCKOUT));
        assert!(
            !l.suspect(a, t + LOCKOUT, LOCKOUT),
            "failures long ago do not count"
        );
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        assert_eq!(
            l.check(other, t),
            Ok(()),
            "other addresses are not affected"
        );
        assert!(!l.suspect(other, t, LOCKOUT));
        l.failure(other, t + Duration::from_secs(1), 5, LOCKOUT);
        assert_eq!(l.failing_since(t), 2);
        assert_eq!(l.failing_since(t + Duration::from_millis(500)), 1);
    }

    #[test]
    fn success_clears_and_a_long_gap_restarts_the_count() {
        let mut l = Limiter::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let t = Instant::now();
        for _ in 0..4 {
            l.failure(a, t, 5, LOCKOUT);
        }
        l.success(a);
        assert!(!l.failure(a, t, 5, LOCKOUT));
        for _ in 0..3 {
            l.failure(a, t, 5, LOCKOUT);
        }
        let later = t + LOCKOUT + Duration::from_secs(1);
        assert!(!l.failure(a, later, 5, LOCKOUT), "the count restarted");
    }

    #[test]
    fn ipv6_is_counted_per_64_and_the_table_is_bounded() {
        let mut l = Limiter::default();
        let t = Instant::now();
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        l.failure(a, t, 2, LOCKOUT);
        assert!(l.failure(b, t, 2, LOCKOUT), "same /64");
        assert!(l.check(a, t).is_err());
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());

        for i in 0..(MAX_ADDRESSES as u32 + 100) {
            let addr = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            l.failure(
                addr,
                t + Duration::from_millis(u64::from(i) + 1),
                5,
                LOCKOUT,
            );
        }
        assert_eq!(l.len(), MAX_ADDRESSES);
        assert!(l.check(a, t).is_err(), "a locked address is evicted last");
    }
}
