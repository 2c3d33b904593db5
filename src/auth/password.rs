//! Password hashes: argon2id in PHC string form (`$argon2id$v=19$m=8192,t=4,p=1$salt$hash`).
//!
//! New hashes use [`M_COST_KIB`], [`T_COST`], [`P_COST`] (sized for a 128 MB router, see
//! docs/ARCHITECTURE.md "Login"). Existing argon2id hashes with other parameters are accepted
//! within [`MAX_M_COST_KIB`] / [`MAX_T_COST`] / [`MAX_P_COST`], so a hash made elsewhere works
//! but a config file cannot make one login allocate more than the router can spare.
//!
//! A login for a user that does not exist (or is disabled) runs [`burn`], the same argon2id
//! computation with the default parameters, so both failures take the same time path.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// Memory per hash, KiB (8 MiB): transient, one hash at a time (see `crate::auth`).
pub const M_COST_KIB: u32 = 8 * 1024;
/// Passes over that memory.
pub const T_COST: u32 = 4;
/// Lanes; 1 because the daemon hashes on one thread.
pub const P_COST: u32 = 1;

pub const MAX_M_COST_KIB: u32 = 64 * 1024;
pub const MAX_T_COST: u32 = 16;
pub const MAX_P_COST: u32 = 4;

/// Longest password accepted (characters), by `passwd` and by login.
pub const MAX_PASSWORD_CHARS: usize = 1024;
/// Shortest password `acs-edge passwd` accepts (characters).
pub const MIN_PASSWORD_CHARS: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("the OS random number generator failed: {0}")]
    Rng(String),
    #[error("argon2: {0}")]
    Hash(String),
}

fn hasher() -> Argon2<'static> {
    // The constants are within argon2's limits, so `Params::new` cannot fail for them.
    let params = Params::new(M_COST_KIB, T_COST, P_COST, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A new PHC string for `password`, with a 16-byte salt from the OS RNG.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| PasswordError::Rng(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| PasswordError::Hash(e.to_string()))?;
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` matches `phc` (compared in constant time by the argon2 crate). A hash
/// that does not parse never matches; config loading has already refused such hashes.
pub fn verify(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) if check_parsed(&parsed).is_ok() => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        _ => {
            burn(password);
            false
        }
    }
}

/// The cost of one verification with the default parameters, for logins that have no hash
/// to verify against, so that "no such user" and "wrong password" take the same time.
pub fn burn(password: &str) {
    let mut out = [0u8; 32];
    let _ = hasher().hash_password_into(password.as_bytes(), b"acs-edge-no-such-user", &mut out);
}

/// Config check for `user.password_hash`: '' (unset) or an argon2id PHC string within bounds.
pub fn check_phc(raw: &str) -> Result<(), String> {
    if raw.is_empty() {
        return Ok(());
    }
    let parsed = PasswordHash::new(raw)
        .map_err(|e| format!("not a PHC string ({e}); set it with `acs-edge passwd NAME`"))?;
    check_parsed(&parsed)
}

fn check_parsed(parsed: &PasswordHash<'_>) -> Result<(), String> {
    if parsed.algorithm.as_str() != "argon2id" {
        return Err(format!(
            "algorithm '{}' is not supported; expected argon2id",
            parsed.algorithm
        ));
    }
    if parsed.version.is_some_and(|v| v != 0x13) {
        return Err("argon2 version must be 19 (v=19)".into());
    }
    let params = Params::try_from(parsed).map_err(|e| format!("argon2 parameters: {e}"))?;
    if params.m_cost() > MAX_M_COST_KIB
        || params.t_cost() > MAX_T_COST
        || params.p_cost() > MAX_P_COST
    {
        return Err(format!(
            "argon2 parameters m={},t={},p={} exceed what this router allows \
             (m<={MAX_M_COST_KIB},t<={MAX_T_COST},p<={MAX_P_COST})",
            params.m_cost(),
            params.t_cost(),
            params.p_cost()
        ));
    }
    if parsed.salt.is_none() || parsed.hash.is_none() {
        return Err("the PHC string has no salt or no hash".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_hash_verifies_its_password_only() {
        let phc = hash("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=8192,t=4,p=1$"), "{phc}");
        check_phc(&phc).unwrap();
        assert!(verify("correct horse", &phc));
        assert!(!verify("correct horsf", &phc));
        assert_ne!(phc, hash("correct horse").unwrap(), "salted");
    }

    #[test]
    fn hashes_with_other_parameters_are_accepted_within_bounds() {
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let other = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(1024, 2, 2, None).unwrap(),
        );
        let phc = other.hash_password(b"pw", &salt).unwrap().to_string();
        check_phc(&phc).unwrap();
        assert!(verify("pw", &phc));

        let huge = phc.replace("m=1024", "m=1048576");
        assert!(check_phc(&huge).unwrap_err().contains("exceed"));
        assert!(!verify("pw", &huge));
    }

    #[test]
    fn other_algorithms_and_garbage_are_refused() {
        let argon2i = "$argon2i$v=19$m=1024,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";
        assert!(check_phc(argon2i).unwrap_err().contains("argon2id"));
        assert!(check_phc("hunter2").is_err());
        assert!(check_phc("$argon2id$v=19$m=1024,t=2,p=1").is_err());
        assert!(check_phc("").is_ok(), "'' means unset");
        assert!(!verify("x", "hunter2"));
    }
}
