//! Unit tests of the request scanner and the canned responses.

use super::*;

fn body_of(canned: &[u8]) -> (usize, usize) {
    let text = std::str::from_utf8(canned).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let declared = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .unwrap()
        .parse()
        .unwrap();
    (declared, body.len())
}

#[test]
fn canned_responses_declare_their_real_length_and_are_json() {
    for r in [
        overloaded(),
        request_timeout(),
        Reject::HeaderTooLarge.response(),
        Reject::BodyTooLarge.response(),
        Reject::BadFraming.response(),
        Reject::LengthRequired.response(),
    ] {
        let (declared, real) = body_of(&r);
        assert_eq!(declared, real, "{}", String::from_utf8_lossy(&r));
        let body = std::str::from_utf8(&r)
            .unwrap()
            .split_once("\r\n\r\n")
            .unwrap()
            .1;
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert!(v["error"]["code"].is_string());
    }
}

fn scan(max_header: usize, max_body: u64, data: &[u8]) -> Result<(Fed, bool), Reject> {
    let mut s = Scanner::new(max_header, max_body);
    let fed = s.feed(data)?;
    Ok((fed, s.in_request()))
}

#[test]
fn scanner_frames_requests_with_and_without_bodies() {
    let (fed, busy) = scan(1024, 100, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    assert_eq!((fed.completed, busy), (1, false));
    let req = b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\n\r\n";
    let (fed, busy) = scan(1024, 100, req).unwrap();
    assert_eq!((fed.completed, busy), (2, false));
    let (fed, busy) = scan(
        1024,
        100,
        b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhel",
    )
    .unwrap();
    assert_eq!((fed.completed, busy), (0, true));
}

#[test]
fn scanner_feeds_byte_by_byte_like_whole() {
    let req = b"POST / HTTP/1.1\r\n  content-LENGTH :5\r\ncOnTeNt-LeNgTh:\t+7 \r\n\r\n1234567";
    let mut s = Scanner::new(1024, 100);
    let mut completed = 0;
    for b in req {
        completed += s.feed(std::slice::from_ref(b)).unwrap().completed;
    }
    // "content-LENGTH :5" has whitespace in the name: tiny_http refuses that line, so only
    // the second header counts.
    assert_eq!(completed, 1);
    assert!(!s.in_request());
}

#[test]
fn scanner_refuses_what_would_break_framing_or_memory() {
    let big = b"POST / HTTP/1.1\r\nContent-Length: 4000000000\r\n\r\n";
    assert_eq!(scan(1024, 100, big), Err(Reject::BodyTooLarge));
    let huge = b"POST / HTTP/1.1\r\nContent-Length:  99999999999999999999999999\r\n\r\n";
    assert_eq!(scan(1024, 100, huge), Err(Reject::BodyTooLarge));
    let two = b"POST / HTTP/1.1\r\nContent-Length: 1\r\ncontent-length: 1\r\n\r\nx";
    assert_eq!(scan(1024, 100, two), Err(Reject::BadFraming));
    let bad = b"POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\nx";
    assert_eq!(scan(1024, 100, bad), Err(Reject::BadFraming));
    let te = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert_eq!(scan(1024, 100, te), Err(Reject::LengthRequired));
    let long = [b"GET / HTTP/1.1\r\nX: ".as_slice(), &[b'a'; 2000]].concat();
    assert_eq!(scan(1024, 100, &long), Err(Reject::HeaderTooLarge));
    // A pipelined second request is checked too.
    let piped = b"GET / HTTP/1.1\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n";
    assert_eq!(scan(1024, 100, piped), Err(Reject::BodyTooLarge));
}

/// The scanner must read `Content-Length` exactly as tiny_http does.
#[test]
fn scanner_agrees_with_tiny_http_on_content_length_lines() {
    let lines = [
        "Content-Length: 12",
        "content-length:12",
        "  Content-Length:   +12  ",
        "Content-Length :12",
        "Content-Lengthx: 12",
        "Content-Lengt: 12",
        "Content-Length: 1 2",
        "Content-Length: -1",
        "Content-Length: +",
        "Content-Length:",
        "Content-Length: 0x10",
        "Content-Length: 012",
        "\tContent-Length: 12\t",
        "Content-Length: 12\x0b",
    ];
    for line in lines {
        let tiny: Option<u64> = line
            .trim()
            .parse::<tiny_http::Header>()
            .ok()
            .filter(|h| h.field.equiv("Content-Length"))
            .and_then(|h| h.value.as_str().parse::<usize>().ok())
            .map(|v| v as u64);
        let req = format!("POST / HTTP/1.1\r\n{line}\r\n\r\n");
        let mut s = Scanner::new(4096, 1 << 20);
        let ours = s.feed(req.as_bytes());
        let field_matches = line
            .trim()
            .parse::<tiny_http::Header>()
            .is_ok_and(|h| h.field.equiv("Content-Length"));
        match (tiny, ours) {
            (Some(n), Ok(_)) => {
                assert_eq!(n == 0, !s.in_request(), "{line:?}");
                if n > 0 {
                    assert!(matches!(s.state, State::Body { remaining } if remaining == n));
                }
            }
            (None, Err(Reject::BadFraming)) => assert!(field_matches, "{line:?}"),
            (None, Ok(fed)) => assert_eq!(fed.completed, 1, "{line:?}"),
            other => panic!("{line:?}: {other:?}"),
        }
    }
}
