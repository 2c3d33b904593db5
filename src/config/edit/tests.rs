use super::*;

const HASH: &str = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const OTHER: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

const FILE: &str = "# my router\nconfig main 'main'\n\toption log_level 'debug' # chatty\n\n\
                    # machine clients\nconfig api_token 'ci'\n\toption token_hash '";

fn file() -> String {
    format!("{FILE}{HASH}'\n\toption enabled '1'\n\nconfig mqtt 'mqtt'\n\toption port '1884'\n")
}

#[test]
fn replacing_an_option_keeps_every_other_line() {
    let edited = set_option(&file(), "api_token", "ci", "token_hash", OTHER).unwrap();
    assert_eq!(edited, file().replace(HASH, OTHER));
}

#[test]
fn a_missing_option_is_added_after_the_config_line() {
    let text = "config api_token 'ci'\n\toption enabled '0'\n# end\n";
    let edited = set_option(text, "api_token", "ci", "token_hash", HASH).unwrap();
    assert_eq!(
        edited,
        format!(
            "config api_token 'ci'\n\toption token_hash '{HASH}'\n\toption enabled '0'\n# end\n"
        )
    );
}

#[test]
fn a_missing_section_is_appended_and_an_empty_file_gets_one() {
    let text = "config main 'main'\n\toption log_level 'info'";
    let edited = set_option(text, "api_token", "new", "token_hash", HASH).unwrap();
    assert_eq!(
        edited,
        format!("{text}\n\nconfig api_token 'new'\n\toption token_hash '{HASH}'\n")
    );
    let fresh = set_option("", "api_token", "new", "token_hash", HASH).unwrap();
    assert_eq!(
        fresh,
        format!("config api_token 'new'\n\toption token_hash '{HASH}'\n")
    );
    assert_eq!(
        crate::config::parse(&fresh)
            .unwrap()
            .config
            .auth
            .api_tokens
            .len(),
        1
    );
}

#[test]
fn repeated_setters_collapse_into_one() {
    let text = format!(
        "config api_token 'ci'\n  option token_hash '{HASH}'\n\toption token_hash '{HASH}'\n"
    );
    let edited = set_option(&text, "api_token", "ci", "token_hash", OTHER).unwrap();
    assert_eq!(
        edited,
        format!("config api_token 'ci'\n\toption token_hash '{OTHER}'\n")
    );
}

#[test]
fn shared_lines_type_conflicts_and_invalid_results_are_refused() {
    let text = format!("config api_token 'ci'; option token_hash '{HASH}'\n");
    assert!(matches!(
        set_option(&text, "api_token", "ci", "token_hash", OTHER),
        Err(EditError::SharedLine(1))
    ));
    assert!(matches!(
        set_option(&file(), "api_token", "mqtt", "token_hash", HASH),
        Err(EditError::TypeConflict { .. })
    ));
    assert!(matches!(
        set_option(&file(), "api_token", "ci", "token_hash", "md5:x"),
        Err(EditError::Invalid(_))
    ));
}

#[test]
fn removing_a_section_keeps_the_rest() {
    let edited = remove_section(&file(), "api_token", "ci").unwrap().unwrap();
    assert_eq!(
        edited,
        "# my router\nconfig main 'main'\n\toption log_level 'debug' # chatty\n\n\
         # machine clients\n\nconfig mqtt 'mqtt'\n\toption port '1884'\n"
    );
    assert_eq!(remove_section(&edited, "api_token", "ci").unwrap(), None);
}

#[test]
fn atomic_write_replaces_the_file_and_keeps_its_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("acs-edge");
    std::fs::write(&path, "old").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    write_atomically(&path, "new").unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
    let mode = std::fs::metadata(&path).unwrap().mode() & 0o777;
    assert_eq!(mode, 0o640);
    let fresh = dir.path().join("fresh");
    write_atomically(&fresh, "x").unwrap();
    assert_eq!(std::fs::metadata(&fresh).unwrap().mode() & 0o777, 0o600);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}
