//! Unit tests of the UCI parser and renderer.

use super::*;

fn single(text: &str) -> String {
    let sections = parse(text).unwrap();
    match &sections[0].options[0].value {
        Value::Single(v) => v.clone(),
        other => panic!("expected a single value, got {other:?}"),
    }
}

fn error(text: &str) -> ParseError {
    parse(text).unwrap_err()
}

#[test]
fn named_and_anonymous_sections_keep_their_lines() {
    let text = "package acs-edge\n\nconfig main 'main'\n\toption enabled '1'\n\nconfig rule\n\toption name x\n";
    let sections = parse(text).unwrap();
    assert_eq!(sections.len(), 2);
    assert_eq!(sections[0].kind, "main");
    assert_eq!(sections[0].name.as_deref(), Some("main"));
    assert_eq!(sections[0].line, 3);
    assert_eq!(sections[0].options[0].line, 4);
    assert_eq!(sections[1].kind, "rule");
    assert_eq!(sections[1].name, None);
    assert_eq!(sections[1].line, 6);
    assert_eq!(sections[1].options[0].line, 7);
}

#[test]
fn empty_section_name_is_anonymous() {
    let sections = parse("config rule ''\n").unwrap();
    assert_eq!(sections[0].name, None);
}

#[test]
fn repeated_section_name_continues_the_section() {
    let text =
        "config mqtt 'mqtt'\n option port 1\nconfig mqtt 'mqtt'\n option port 2\n option host h\n";
    let sections = parse(text).unwrap();
    assert_eq!(sections.len(), 1);
    assert_eq!(sections[0].options.len(), 2);
    assert_eq!(sections[0].options[0].value, Value::Single("2".into()));
    assert_eq!(sections[0].options[0].line, 4);
}

#[test]
fn whole_line_and_trailing_comments_are_ignored() {
    let text = "# header\n  # indented\nconfig a 'b' # trailing\n\toption x 'y' # note\n\toption z w#no space needed\n";
    let sections = parse(text).unwrap();
    assert_eq!(sections[0].name.as_deref(), Some("b"));
    assert_eq!(sections[0].options[0].value, Value::Single("y".into()));
    assert_eq!(sections[0].options[1].value, Value::Single("w".into()));
}

#[test]
fn hash_inside_quotes_is_part_of_the_value() {
    assert_eq!(single("config a\noption x 'a # b'\n"), "a # b");
    assert_eq!(single("config a\noption x \"#1\"\n"), "#1");
}

#[test]
fn unquoted_single_and_double_quoted_values() {
    assert_eq!(single("config a\noption x plain\n"), "plain");
    assert_eq!(single("config a\noption x 'with space'\n"), "with space");
    assert_eq!(single("config a\noption x \"with space\"\n"), "with space");
    assert_eq!(single("config a\noption x ''\n"), "");
}

#[test]
fn single_quotes_take_backslashes_literally() {
    assert_eq!(single("config a\noption x 'a\\nb\\'\n"), "a\\nb\\");
}

#[test]
fn double_quotes_take_the_character_after_a_backslash() {
    assert_eq!(
        single("config a\noption x \"say \\\"hi\\\" \\\\o/\"\n"),
        "say \"hi\" \\o/"
    );
    assert_eq!(single("config a\noption x \"it's\"\n"), "it's");
}

#[test]
fn adjacent_quoted_parts_are_concatenated() {
    assert_eq!(single("config a\noption x 'a'\"b\"c\n"), "abc");
    assert_eq!(single("config a\noption x 'it'\\''s'\n"), "it's");
}

#[test]
fn quoted_values_may_span_lines_and_backslash_continues_a_line() {
    let sections =
        parse("config a\noption x 'one\ntwo'\noption y long\\\nvalue\noption z 3\n").unwrap();
    let opts = &sections[0].options;
    assert_eq!(opts[0].value, Value::Single("one\ntwo".into()));
    assert_eq!(opts[1].value, Value::Single("longvalue".into()));
    assert_eq!(opts[1].line, 4);
    assert_eq!(opts[2].line, 6);
}

#[test]
fn semicolons_separate_statements() {
    let sections = parse("config a 'a'; option x 1; option y 2\n").unwrap();
    assert_eq!(sections[0].options.len(), 2);
}

#[test]
fn lists_keep_order_and_an_option_turns_into_a_list() {
    let text = "config a\n list l one\n list l 'two'\n option m x\n list m y\n";
    let sections = parse(text).unwrap();
    let opts = &sections[0].options;
    assert_eq!(opts[0].value, Value::List(vec!["one".into(), "two".into()]));
    assert_eq!(opts[1].value, Value::List(vec!["x".into(), "y".into()]));
    assert_eq!(opts[1].line, 5);
}

#[test]
fn later_option_replaces_earlier() {
    let sections = parse("config a\n option x 1\n option x 2\n").unwrap();
    assert_eq!(sections[0].options.len(), 1);
    assert_eq!(sections[0].options[0].value, Value::Single("2".into()));
}

#[test]
fn crlf_line_endings_are_accepted() {
    assert_eq!(single("config a\r\n\toption x 'y'\r\n"), "y");
}

#[test]
fn error_unterminated_single_quote_names_the_opening_line() {
    let e = error("config a\n\n option x 'abc\n\n");
    assert_eq!(
        e,
        ParseError {
            line: 3,
            kind: ErrorKind::UnterminatedQuote('\'')
        }
    );
    assert_eq!(
        e.to_string(),
        "line 3: unterminated ' quote: the file ends before the closing '"
    );
}

#[test]
fn error_unterminated_double_quote() {
    let e = error("config a\n option x \"ab\\\"\n");
    assert_eq!(
        e,
        ParseError {
            line: 2,
            kind: ErrorKind::UnterminatedQuote('"')
        }
    );
}

#[test]
fn error_option_outside_a_section() {
    let e = error("# c\noption x y\n");
    assert_eq!(e.line, 2);
    assert_eq!(e.kind, ErrorKind::OutsideSection("option".into()));
    assert_eq!(
        error("list x y\n").kind,
        ErrorKind::OutsideSection("list".into())
    );
}

#[test]
fn error_bad_names() {
    let e = error("config a\n option bad-name 1\n");
    assert_eq!(e.line, 2);
    assert!(matches!(
        e.kind,
        ErrorKind::BadName {
            what: "option name",
            ..
        }
    ));
    let e = error("config a-b\n");
    assert!(matches!(
        e.kind,
        ErrorKind::BadName {
            what: "section type",
            ..
        }
    ));
    let e = error("\nconfig a 'b.c'\n");
    assert_eq!(e.line, 2);
    assert!(matches!(
        e.kind,
        ErrorKind::BadName {
            what: "section name",
            ..
        }
    ));
    assert!(matches!(
        error("config ''\n").kind,
        ErrorKind::BadName { .. }
    ));
}

#[test]
fn error_missing_type_name_and_value() {
    assert_eq!(
        error("config\n"),
        ParseError {
            line: 1,
            kind: ErrorKind::MissingType
        }
    );
    let e = error("config a\n\n option\n");
    assert_eq!(
        e,
        ParseError {
            line: 3,
            kind: ErrorKind::MissingName("option".into())
        }
    );
    let e = error("config a\n option port # none\n");
    assert_eq!(
        e,
        ParseError {
            line: 2,
            kind: ErrorKind::MissingValue("port".into())
        }
    );
    assert_eq!(
        e.to_string(),
        "line 2: option 'port' has no value (write '' for an empty one)"
    );
}

#[test]
fn error_too_many_words() {
    let e = error("config a\n option x hello world\n");
    assert_eq!(
        e,
        ParseError {
            line: 2,
            kind: ErrorKind::TooManyWords("option".into())
        }
    );
    assert_eq!(
        error("config a b c\n").kind,
        ErrorKind::TooManyWords("config".into())
    );
}

#[test]
fn error_unknown_keyword() {
    let e = error("config a\n\topton x 1\n");
    assert_eq!(
        e,
        ParseError {
            line: 2,
            kind: ErrorKind::UnknownKeyword("opton".into())
        }
    );
}

#[test]
fn error_same_name_different_type() {
    let e = error("config a 'x'\nconfig b 'x'\n");
    assert_eq!(e.line, 2);
    assert!(matches!(e.kind, ErrorKind::TypeConflict { .. }));
}

#[test]
fn render_round_trips() {
    let text = "config main 'main'\n option enabled 1\n option note \"it's \\\"quoted\\\"\"\n option multi 'a\nb'\n option empty ''\n\nconfig rule\n list tag x\n list tag 'y z'\n list tag \"#\"\n";
    let sections = parse(text).unwrap();
    let rendered = render(&sections);
    let again = parse(&rendered).unwrap();
    // Line numbers differ (comments and blank lines are gone); everything else is kept.
    let strip = |mut sections: Vec<Section>| {
        for s in &mut sections {
            s.line = 0;
            s.options.iter_mut().for_each(|e| e.line = 0);
        }
        sections
    };
    assert_eq!(strip(again), strip(sections));
    assert_eq!(render(&parse(&rendered).unwrap()), rendered);
}

#[test]
fn render_writes_canonical_form() {
    let sections =
        parse("config main main\noption a 1\nconfig rule\nlist t x\nlist t y\n").unwrap();
    assert_eq!(
        render(&sections),
        "config main 'main'\n\toption a '1'\n\nconfig rule\n\tlist t 'x'\n\tlist t 'y'\n"
    );
}

#[test]
fn odd_input_gives_errors_not_panics() {
    let sample = "config a 'b'\n\toption x \"q\\\"\\\n'\\'\"; list l 'v'#c\n\\\r\nc x\n";
    for end in (0..=sample.len()).filter(|&e| sample.is_char_boundary(e)) {
        let _ = parse(&sample[..end]);
    }
    // A small deterministic generator over the characters the lexer treats specially.
    let alphabet = b"co ltpinsa'\"\\#;\n\r\t_x\xc3\xa9";
    let mut state: u32 = 0x2545_f491;
    for _ in 0..5000 {
        let mut bytes = Vec::new();
        for _ in 0..(state % 40) {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            bytes.push(alphabet[state as usize % alphabet.len()]);
        }
        let _ = parse(&String::from_utf8_lossy(&bytes));
    }
}
