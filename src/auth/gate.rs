//! The password-hashing slot: at most [`MAX_CONCURRENT_HASHES`] hashes at a time, and who gets
//! the slot when logins compete for it.
//!
//! A login from an address without recent failures (a *clean* login) waits for the slot, up to
//! about two hash times ([`Gate::wait_limit`]), and is served before any address with recent
//! failures (a *suspect* login). A suspect login never waits: it takes the slot only when the slot
//! is free, no clean login is waiting, and suspect hashing has a budget left; otherwise it is
//! answered 429 at once. The budget refills at half the wall-clock rate up to
//! [`SUSPECT_BURST`], so suspect hashing takes at most about half of one core over time, however
//! many addresses guess. An owner logging in while rotating addresses guess passwords therefore
//! waits for at most the one hash in progress.
//!
//! Invariants: at most [`MAX_WAITING`] logins wait (each holds an API worker while it waits, so
//! with the default 2 workers one is always left for other requests or for the hash); every
//! wait ends by its deadline; the gate's lock is never held while hashing.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Password hashes computed at once (each takes `password::M_COST_KIB` of memory).
pub const MAX_CONCURRENT_HASHES: usize = 1;
/// Clean logins waiting for the slot at once; more are answered 429 at once.
pub const MAX_WAITING: usize = 1;
/// Suspect hashing time that may be spent in one burst before the half-rate limit applies.
pub const SUSPECT_BURST: Duration = Duration::from_secs(4);
/// Bounds of a clean login's wait; within them it is twice the recent hash time.
const MIN_WAIT: Duration = Duration::from_millis(250);
const MAX_WAIT: Duration = Duration::from_secs(10);
/// What a hash is assumed to take before one has been measured.
const FIRST_HASH_GUESS: Duration = Duration::from_secs(1);

pub struct Gate {
    inner: Mutex<Inner>,
    freed: Condvar,
}

struct Inner {
    hashing: usize,
    waiting: usize,
    /// Suspect hashing budget, ns; negative after a hash that ran past it.
    credit_ns: i64,
    credit_at: Instant,
    /// Recent hash time: follows a slower hash at once, a faster one by a quarter per hash.
    hash_time: Duration,
}

impl Inner {
    fn refill(&mut self, now: Instant) {
        let half = now.saturating_duration_since(self.credit_at).as_nanos() / 2;
        let burst = SUSPECT_BURST.as_nanos() as i64;
        self.credit_ns = (self.credit_ns as i128 + half as i128).min(burst as i128) as i64;
        self.credit_at = now;
    }

    fn wait_limit(&self) -> Duration {
        (self.hash_time * 2).clamp(MIN_WAIT, MAX_WAIT)
    }

    fn suspect_may_hash(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.hashing < MAX_CONCURRENT_HASHES && self.waiting == 0 && self.credit_ns > 0
    }
}

/// The slot, held while hashing; dropping it frees the slot for the next login.
pub struct Slot<'a> {
    gate: &'a Gate,
    suspect: bool,
    started: Instant,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let now = Instant::now();
        let took = now.saturating_duration_since(self.started);
        let mut g = self.gate.lock();
        g.hashing -= 1;
        g.hash_time = took.max(g.hash_time - g.hash_time / 4);
        if self.suspect {
            g.refill(now);
            g.credit_ns = g
                .credit_ns
                .saturating_sub(i64::try_from(took.as_nanos()).unwrap_or(i64::MAX));
        }
        drop(g);
        self.gate.freed.notify_all();
    }
}

impl Default for Gate {
    fn default() -> Gate {
        Gate {
            inner: Mutex::new(Inner {
                hashing: 0,
                waiting: 0,
                credit_ns: SUSPECT_BURST.as_nanos() as i64,
                credit_at: Instant::now(),
                hash_time: FIRST_HASH_GUESS,
            }),
            freed: Condvar::new(),
        }
    }
}

impl Gate {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How long a clean login waits for the slot at most: twice the recent hash time, within
    /// 250 ms..10 s, so it outlasts the hash in progress but never holds a worker for long.
    pub fn wait_limit(&self) -> Duration {
        self.lock().wait_limit()
    }

    /// The slot for one hash, or `None` when the login is to be refused (429) unchecked.
    pub fn enter(&self, suspect: bool) -> Option<Slot<'_>> {
        let now = Instant::now();
        let mut g = self.lock();
        let free = if suspect {
            g.suspect_may_hash(now)
        } else if g.hashing < MAX_CONCURRENT_HASHES && g.waiting == 0 {
            true
        } else {
            let (guard, free) = self.wait(g, now);
            g = guard;
            free
        };
        if !free {
            return None;
        }
        g.hashing += 1;
        Some(Slot {
            gate: self,
            suspect,
            started: Instant::now(),
        })
    }

    /// Waits as a clean login until the slot is free; false when it is not free by the
    /// deadline, or when another login is waiting already.
    fn wait<'g>(
        &'g self,
        mut g: MutexGuard<'g, Inner>,
        now: Instant,
    ) -> (MutexGuard<'g, Inner>, bool) {
        if g.waiting >= MAX_WAITING {
            return (g, false);
        }
        let deadline = now + g.wait_limit();
        g.waiting += 1;
        let mut free = true;
        while g.hashing >= MAX_CONCURRENT_HASHES {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                free = false;
                break;
            }
            g = self
                .freed
                .wait_timeout(g, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        g.waiting -= 1;
        (g, free)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_clean_login_waits_for_the_slot_and_a_suspect_one_is_refused_at_once() {
        let gate = Arc::new(Gate::default());
        let held = gate.enter(false).expect("a free slot");
        assert!(gate.enter(true).is_none(), "suspects never wait");
        // The waiter keeps its slot until told, so the check below sees it either waiting or
        // hashing, never already done.
        let (release, released) = std::sync::mpsc::channel::<()>();
        let waiter = {
            let gate = gate.clone();
            std::thread::spawn(move || {
                let started = Instant::now();
                let slot = gate.enter(false);
                let waited = started.elapsed();
                let got = slot.is_some().then_some(());
                let _ = released.recv();
                drop(slot);
                (got, waited)
            })
        };
        while gate.lock().waiting == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(gate.enter(false).is_none(), "one waiter at most");
        std::thread::sleep(Duration::from_millis(100));
        drop(held);
        assert!(
            gate.enter(true).is_none(),
            "the waiting clean login goes first"
        );
        release.send(()).unwrap();
        let (slot, waited) = waiter.join().unwrap();
        assert_eq!(slot, Some(()));
        assert!(waited >= Duration::from_millis(100), "{waited:?}");
        assert!(
            gate.enter(true).is_some(),
            "free, nobody waiting, budget left"
        );
    }

    #[test]
    fn a_clean_wait_ends_at_its_deadline() {
        let gate = Gate::default();
        gate.lock().hash_time = Duration::from_millis(10);
        assert_eq!(gate.wait_limit(), MIN_WAIT);
        let _held = gate.enter(false).unwrap();
        let started = Instant::now();
        assert!(gate.enter(false).is_none());
        let waited = started.elapsed();
        assert!(waited >= MIN_WAIT && waited < MIN_WAIT * 4, "{waited:?}");
        assert_eq!(gate.lock().waiting, 0);
    }

    #[test]
    fn suspect_hashing_is_held_to_half_the_time_after_a_burst() {
        let gate = Gate::default();
        let mut g = gate.lock();
        let t0 = Instant::now();
        g.credit_at = t0;
        assert!(g.suspect_may_hash(t0), "a burst is allowed");
        // A burst's worth of suspect hashing spends the budget.
        g.credit_ns = 0;
        assert!(!g.suspect_may_hash(t0));
        // Hashing costs its full time and the budget refills at half rate: 1 s of waiting buys
        // 0.5 s of hashing.
        assert!(g.suspect_may_hash(t0 + Duration::from_secs(1)));
        assert_eq!(g.credit_ns, 500_000_000);
        g.refill(t0 + Duration::from_secs(100));
        assert_eq!(g.credit_ns, SUSPECT_BURST.as_nanos() as i64, "capped");
    }

    #[test]
    fn the_wait_limit_follows_slow_hashes_at_once_and_fast_ones_slowly() {
        let gate = Gate::default();
        assert_eq!(gate.wait_limit(), FIRST_HASH_GUESS * 2);
        {
            let slot = gate.enter(false).unwrap();
            std::thread::sleep(Duration::from_millis(20));
            drop(slot);
        }
        assert_eq!(
            gate.wait_limit(),
            FIRST_HASH_GUESS * 3 / 2,
            "down by a quarter"
        );
        gate.lock().hash_time = Duration::from_millis(1);
        {
            let slot = gate.enter(false).unwrap();
            std::thread::sleep(Duration::from_millis(300));
            drop(slot);
        }
        assert!(gate.wait_limit() >= Duration::from_millis(600));
    }
}
