//! Bearer tokens: session tokens issued by login (kept in memory, bounded, expiring) and
//! configured API tokens (`config api_token`, only their SHA-256 on disk).
//!
//! Invariants: a token is 32 bytes from the OS RNG (256 bits), sent as 64 hex digits; only
//! its SHA-256 is kept, in memory and on disk. A presented token is hashed and compared with
//! every entry in constant time (`subtle`), without stopping at a match, so the time taken says
//! nothing about which entry, if any, matched. The session table holds at most
//! [`MAX_SESSIONS`]; an expired session stays in it (so its token is answered "expired", not
//! "not valid") until a new session needs its place: expired ones go first, then the oldest.

use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};
use subtle::{ConditionallySelectable, ConstantTimeEq};

/// Bytes of randomness in a token.
pub const TOKEN_BYTES: usize = 32;
/// Most sessions kept; a login beyond it ends the oldest session.
pub const MAX_SESSIONS: usize = 256;

const HASH_PREFIX: &str = "sha256:";

/// SHA-256 of a presented token.
pub type TokenDigest = [u8; 32];

/// A fresh token from the OS RNG, as 64 lowercase hex digits.
pub fn new_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes)?;
    Ok(hex(&bytes))
}

pub fn digest(token: &str) -> TokenDigest {
    Sha256::digest(token.as_bytes()).into()
}

/// `sha256:<hex>`, the form of `api_token.token_hash`.
pub fn format_hash(digest: &TokenDigest) -> String {
    format!("{HASH_PREFIX}{}", hex(digest))
}

/// The digest in a `token_hash` value.
pub fn parse_hash(raw: &str) -> Option<TokenDigest> {
    let digits = raw.strip_prefix(HASH_PREFIX)?.as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in digits.chunks(2).enumerate() {
        let high = (pair[0] as char).to_digit(16)?;
        let low = (pair[1] as char).to_digit(16)?;
        out[i] = (high * 16 + low) as u8;
    }
    Some(out)
}

/// Config check for `api_token.token_hash`: '' (unset) or `sha256:` and 64 hex digits.
pub fn check_token_hash(raw: &str) -> Result<(), String> {
    if raw.is_empty() || parse_hash(raw).is_some() {
        Ok(())
    } else {
        Err("expected sha256: followed by 64 hex digits (use `acs-edge token create NAME`)".into())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Index of the entry whose digest equals `presented`, examining every entry in constant time.
pub fn find_ct<'a, I>(presented: &TokenDigest, entries: I) -> Option<usize>
where
    I: IntoIterator<Item = &'a TokenDigest>,
{
    let mut found = subtle::Choice::from(0);
    let mut index = 0u64;
    for (i, candidate) in entries.into_iter().enumerate() {
        let hit = candidate.ct_eq(presented);
        index.conditional_assign(&(i as u64), hit);
        found |= hit;
    }
    bool::from(found).then_some(index as usize)
}

/// A logged-in user's token.
#[derive(Debug, Clone)]
pub struct Session {
    pub digest: TokenDigest,
    pub user: String,
    pub issued: Instant,
    pub expires: Instant,
}

/// What a token lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Valid(String),
    Expired,
    Unknown,
}

/// The bounded table of live sessions.
#[derive(Debug, Default)]
pub struct Sessions {
    items: Vec<Session>,
}

impl Sessions {
    /// Adds a session for `user`; returns how many live sessions were ended to make room.
    pub fn insert(
        &mut self,
        digest: TokenDigest,
        user: &str,
        ttl: Duration,
        now: Instant,
    ) -> usize {
        let mut evicted = 0;
        if self.items.len() >= MAX_SESSIONS {
            // The longest-expired session goes first; with none expired, the oldest live one.
            let victim = (0..self.items.len()).min_by_key(|&i| {
                let s = &self.items[i];
                if s.expires > now {
                    (true, s.issued)
                } else {
                    (false, s.expires)
                }
            });
            if let Some(i) = victim {
                evicted = usize::from(self.items[i].expires > now);
                self.items.swap_remove(i);
            }
        }
        self.items.push(Session {
            digest,
            user: user.to_owned(),
            issued: now,
            expires: now + ttl,
        });
        evicted
    }

    pub fn lookup(&self, digest: &TokenDigest, now: Instant) -> Lookup {
        match find_ct(digest, self.items.iter().map(|s| &s.digest)) {
            None => Lookup::Unknown,
            Some(i) if self.items[i].expires <= now => Lookup::Expired,
            Some(i) => Lookup::Valid(self.items[i].user.clone()),
        }
    }

    /// Ends every session of a user (removed or disabled on reload).
    pub fn end_user(&mut self, user: &str) {
        self.items.retain(|s| s.user != user);
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn users(&self) -> impl Iterator<Item = &str> {
        self.items.iter().map(|s| s.user.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bit_hex_and_distinct() {
        let a = new_token().unwrap();
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, new_token().unwrap());
    }

    #[test]
    fn token_hash_round_trips_and_bad_forms_are_refused() {
        let d = digest("abc");
        let text = format_hash(&d);
        assert_eq!(
            text,
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(parse_hash(&text), Some(d));
        check_token_hash(&text).unwrap();
        for bad in [
            "sha256:xyz",
            "md5:00",
            &text[..70],
            &format!("{text}0"),
            "ba7816bf",
        ] {
            assert!(check_token_hash(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn constant_time_search_finds_the_matching_entry() {
        let entries = [digest("a"), digest("b"), digest("c")];
        assert_eq!(find_ct(&digest("c"), &entries), Some(2));
        assert_eq!(find_ct(&digest("a"), &entries), Some(0));
        assert_eq!(find_ct(&digest("z"), &entries), None);
    }

    #[test]
    fn sessions_expire_and_the_table_is_bounded() {
        let mut s = Sessions::default();
        let t0 = Instant::now();
        let ttl = Duration::from_secs(10);
        s.insert(digest("first"), "alice", ttl, t0);
        assert_eq!(
            s.lookup(&digest("first"), t0),
            Lookup::Valid("alice".into())
        );
        assert_eq!(s.lookup(&digest("first"), t0 + ttl), Lookup::Expired);
        assert_eq!(
            s.lookup(&digest("first"), t0 + ttl * 2),
            Lookup::Expired,
            "still known as expired after it was seen"
        );
        s.insert(digest("second"), "alice", ttl, t0 + ttl);
        assert_eq!(
            s.lookup(&digest("first"), t0 + ttl),
            Lookup::Expired,
            "a new login does not forget expired tokens while there is room"
        );

        let mut s = Sessions::default();
        let mut evicted = 0;
        for i in 0..MAX_SESSIONS + 5 {
            let at = t0 + Duration::from_millis(i as u64);
            evicted += s.insert(digest(&i.to_string()), "bob", ttl, at);
        }
        assert_eq!(s.len(), MAX_SESSIONS);
        assert_eq!(evicted, 5);
        assert_eq!(
            s.lookup(&digest("0"), t0),
            Lookup::Unknown,
            "oldest evicted"
        );
        let last = (MAX_SESSIONS + 4).to_string();
        assert_eq!(s.lookup(&digest(&last), t0), Lookup::Valid("bob".into()));
    }

    #[test]
    fn a_full_table_ends_expired_sessions_before_live_ones() {
        let mut s = Sessions::default();
        let t0 = Instant::now();
        let (short, long) = (Duration::from_secs(1), Duration::from_secs(100));
        s.insert(digest("old but live"), "a", long, t0);
        for i in 1..MAX_SESSIONS {
            let ttl = if i % 2 == 0 { short } else { long };
            s.insert(
                digest(&i.to_string()),
                "b",
                ttl,
                t0 + Duration::from_millis(i as u64),
            );
        }
        let later = t0 + Duration::from_secs(10);
        assert_eq!(
            s.insert(digest("new"), "c", long, later),
            0,
            "an expired one made room"
        );
        assert_eq!(
            s.lookup(&digest("2"), later),
            Lookup::Unknown,
            "the longest expired went"
        );
        assert_eq!(s.lookup(&digest("4"), later), Lookup::Expired);
        assert_eq!(
            s.lookup(&digest("old but live"), later),
            Lookup::Valid("a".into())
        );
    }
}
