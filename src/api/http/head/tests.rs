use super::*;

const HEAD: usize = 1024;
const BODY: usize = 100;

fn ok(raw: &[u8]) -> Head {
    parse(raw, HEAD, BODY).unwrap().expect("a complete head")
}

fn refused(raw: &[u8]) -> u16 {
    parse(raw, HEAD, BODY).unwrap_err().status
}

#[test]
fn a_complete_head_gives_its_length_fields_and_framing() {
    let raw = b"POST /a?b=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
    let head = ok(raw);
    assert_eq!(head.method, Method::Post);
    assert_eq!(head.url, "/a?b=1");
    assert_eq!(head.content_length, 5);
    assert_eq!(head.len, raw.len() - 5);
    assert!(head.keep_alive);
    assert_eq!(head.headers[0], ("Host".to_owned(), "x".to_owned()));
}

#[test]
fn an_incomplete_head_waits_until_the_limit_then_is_refused() {
    assert_eq!(parse(b"GET / HTTP/1.1\r\nHost:", HEAD, BODY), Ok(None));
    let long = format!("GET /{} HTTP/1.1\r\n", "a".repeat(HEAD));
    assert_eq!(refused(long.as_bytes()), 431);
    let complete_but_long = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(HEAD));
    assert_eq!(refused(complete_but_long.as_bytes()), 431);
}

#[test]
fn keep_alive_follows_the_version_and_connection_field() {
    assert!(!ok(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n").keep_alive);
    assert!(!ok(b"GET / HTTP/1.0\r\n\r\n").keep_alive);
    assert!(ok(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
    assert!(ok(b"GET / HTTP/1.1\r\nConnection: upgrade, keep-alive\r\n\r\n").keep_alive);
}

#[test]
fn body_framing_is_one_bounded_content_length() {
    assert_eq!(
        refused(b"POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n"),
        413
    );
    assert_eq!(
        refused(b"POST / HTTP/1.1\r\nContent-Length: 100000000000000000000000\r\n\r\n"),
        413
    );
    assert_eq!(
        refused(b"POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n"),
        400
    );
    assert_eq!(
        refused(b"POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n"),
        400
    );
    assert_eq!(
        refused(b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
        400
    );
    let same = ok(b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n");
    assert_eq!(same.content_length, 5);
    assert_eq!(
        refused(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
        411
    );
    assert!(ok(b"POST / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n").expect_continue);
}

#[test]
fn versions_other_than_http_1_x_are_refused_with_505() {
    assert_eq!(refused(b"GET / HTTP/2.0\r\n\r\n"), 505);
    assert_eq!(refused(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 505);
}

#[test]
fn targets_are_ascii_and_absolute_forms_become_paths() {
    assert_eq!(refused(b"GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n"), 400);
    assert_eq!(refused(b"GET example.com:80 HTTP/1.1\r\n\r\n"), 400);
    assert_eq!(ok(b"GET http://h:1/p?q HTTP/1.1\r\n\r\n").url, "/p?q");
    assert_eq!(ok(b"GET HTTP://h?q HTTP/1.1\r\n\r\n").url, "/?q");
    assert_eq!(ok(b"GET https://h HTTP/1.1\r\n\r\n").url, "/");
    assert_eq!(ok(b"OPTIONS * HTTP/1.1\r\n\r\n").url, "*");
}

#[test]
fn unknown_methods_keep_their_name() {
    assert_eq!(
        ok(b"BREW /pot HTTP/1.1\r\n\r\n").method,
        Method::Other("BREW".into())
    );
}
