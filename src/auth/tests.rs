use super::*;
use argon2::password_hash::{PasswordHasher, SaltString};

/// A cheap hash (m = 64 KiB, t = 1) so these tests do not spend their time in argon2.
fn cheap_hash(password: &str) -> String {
    let params = argon2::Params::new(64, 1, 1, None).unwrap();
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
    argon
        .hash_password(password.as_bytes(), &salt)
        .unwrap()
        .to_string()
}

fn config(users: &[(&str, bool)]) -> AuthSettings {
    AuthSettings {
        token_ttl: Duration::from_secs(60),
        login_max_failures: 3,
        login_lockout: Duration::from_secs(60),
        users: users
            .iter()
            .map(|(name, enabled)| UserSettings {
                name: (*name).to_owned(),
                password_hash: cheap_hash(&format!("pw-of-{name}")),
                enabled: *enabled,
            })
            .collect(),
        api_tokens: Vec::new(),
    }
}

const CLIENT: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

#[test]
fn login_issues_a_token_that_names_the_user() {
    let auth = Auth::new(&config(&[("alice", true)]), Arc::default());
    let issued = auth.login("alice", "pw-of-alice", CLIENT).unwrap();
    assert_eq!(
        auth.check_token(&issued.token),
        Ok(Principal::User("alice".into()))
    );
    assert_eq!(auth.check_token("nope"), Err(AuthError::InvalidToken));
    assert_eq!(auth.stats.logins_ok.load(Ordering::Relaxed), 1);
}

#[test]
fn unknown_disabled_and_wrong_password_fail_alike_and_count_towards_the_limit() {
    let auth = Auth::new(&config(&[("alice", true), ("bob", false)]), Arc::default());
    assert_eq!(
        auth.login("alice", "wrong", CLIENT).unwrap_err(),
        AuthError::BadCredentials
    );
    assert_eq!(
        auth.login("carol", "pw-of-carol", CLIENT).unwrap_err(),
        AuthError::BadCredentials
    );
    assert_eq!(
        auth.login("bob", "pw-of-bob", CLIENT).unwrap_err(),
        AuthError::BadCredentials
    );
    assert!(matches!(
        auth.login("alice", "pw-of-alice", CLIENT),
        Err(AuthError::LockedOut { retry_after_s: 60 })
    ));
    assert_eq!(auth.stats.logins_failed.load(Ordering::Relaxed), 3);
    assert_eq!(auth.stats.logins_limited.load(Ordering::Relaxed), 1);
}

#[test]
fn while_a_hash_runs_a_clean_address_waits_its_turn_and_a_failing_one_is_refused_at_once() {
    let auth = Arc::new(Auth::new(&config(&[("alice", true)]), Arc::default()));
    let failing: IpAddr = "192.0.2.9".parse().unwrap();
    assert_eq!(
        auth.login("alice", "wrong", failing).unwrap_err(),
        AuthError::BadCredentials
    );
    let slot = auth.gate.enter(false).unwrap();
    assert_eq!(
        auth.login("alice", "pw-of-alice", failing).unwrap_err(),
        AuthError::Busy,
        "an address with a recent failure does not wait"
    );
    let owner = {
        let auth = auth.clone();
        std::thread::spawn(move || auth.login("alice", "pw-of-alice", CLIENT).map(|_| ()))
    };
    std::thread::sleep(Duration::from_millis(50));
    drop(slot);
    assert_eq!(
        owner.join().unwrap(),
        Ok(()),
        "the clean address got the slot"
    );
    assert_eq!(auth.stats.logins_limited.load(Ordering::Relaxed), 1);
}

#[test]
fn failed_logins_get_their_own_log_line_only_up_to_a_bound_per_window() {
    let auth = Auth::new(&config(&[]), Arc::default());
    let mut st = auth.lock();
    let t0 = Instant::now();
    let own: Vec<bool> = (0..15).map(|_| st.log_failure(t0)).collect();
    assert_eq!(own.iter().filter(|&&o| o).count(), FAILURES_LOGGED as usize);
    assert!(own[..FAILURES_LOGGED as usize].iter().all(|&o| o));
    assert_eq!(st.failure_log.failed, 15);
    assert!(st.log_failure(t0 + FAILURE_LOG_WINDOW), "a new window");
    assert_eq!(st.failure_log.failed, 1);
}

#[test]
fn reload_ends_the_sessions_of_removed_and_disabled_users_only() {
    let auth = Auth::new(
        &config(&[("alice", true), ("bob", true), ("carol", true)]),
        Arc::default(),
    );
    let tokens: Vec<String> = ["alice", "bob", "carol"]
        .iter()
        .map(|u| auth.login(u, &format!("pw-of-{u}"), CLIENT).unwrap().token)
        .collect();
    auth.reload(&config(&[("alice", true), ("bob", false)]));
    assert!(auth.check_token(&tokens[0]).is_ok());
    assert_eq!(auth.check_token(&tokens[1]), Err(AuthError::InvalidToken));
    assert_eq!(auth.check_token(&tokens[2]), Err(AuthError::InvalidToken));
}

#[test]
fn configured_api_tokens_are_recognised_until_disabled() {
    let mut cfg = config(&[]);
    let token = tokens::new_token().unwrap();
    cfg.api_tokens.push(ApiTokenSettings {
        name: "ci".into(),
        token_hash: tokens::format_hash(&tokens::digest(&token)),
        enabled: true,
        metrics_only: false,
    });
    let auth = Auth::new(&cfg, Arc::default());
    assert_eq!(
        auth.check_token(&token),
        Ok(Principal::ApiToken("ci".into()))
    );
    cfg.api_tokens[0].metrics_only = true;
    auth.reload(&cfg);
    assert_eq!(
        auth.check_token(&token),
        Ok(Principal::MetricsToken("ci".into()))
    );
    cfg.api_tokens[0].enabled = false;
    auth.reload(&cfg);
    assert_eq!(auth.check_token(&token), Err(AuthError::InvalidToken));
}
