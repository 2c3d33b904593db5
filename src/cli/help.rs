//! The command line's help: one entry per command, all of them shown by `acs-edge --help`, and
//! the entries of one command (with their details) by `acs-edge help COMMAND` or
//! `acs-edge COMMAND --help`. A topic names a command (`passwd`), a group (`decode`, `token`)
//! or one command of a group (`decode frame`); a group's help shows every command in it.

struct Entry {
    topic: &'static str,
    usage: &'static str,
    details: &'static str,
}

const ENTRIES: &[Entry] = &[
    Entry {
        topic: "run",
        usage: "  acs-edge [run] [--config FILE]     run the daemon (default config /etc/config/acs-edge)
           [--replay-ble CAPTURE]    ... and ingest the BLE advertisements of a capture file
",
        details: "\
The daemon runs in the foreground until SIGTERM or SIGINT and reloads FILE on SIGHUP.
Without a config file it refuses to start; write a commented default one with
  acs-edge print-config > /etc/config/acs-edge
--replay-ble needs a build with the `ble` feature.
",
    },
    Entry {
        topic: "check-config",
        usage: "  acs-edge check-config [FILE]       validate a config file and print warnings
",
        details: "\
Every error is printed with its line, then the files the config names (TLS certificates and
keys, model files) are checked to exist and be readable. Exit 0 when the file is usable, 1
otherwise. FILE defaults to /etc/config/acs-edge (also: --config FILE).
",
    },
    Entry {
        topic: "print-config",
        usage: "  acs-edge print-config              print the fully commented default config
",
        details: "\
Every section and option with its default and meaning; a starting point for a new file:
  acs-edge print-config > /etc/config/acs-edge
",
    },
    Entry {
        topic: "status",
        usage: "  acs-edge status [--config FILE]    ask the running daemon for its health
",
        details: "\
Prints GET /api/v1/health from the API address in FILE (default /etc/config/acs-edge; a
wildcard address is asked on loopback). Exit 0 when the daemon reports status ok, 1 when it
is degraded or does not answer within 5 s. For container health checks.
",
    },
    Entry {
        topic: "decode frame",
        usage: "  acs-edge decode frame HEX          decode an acs-proto frame and print its readings as JSON
",
        details: "\
Exit 1 when the frame does not pass its checks, 2 when HEX is not hex.
",
    },
    Entry {
        topic: "decode ble",
        usage: "  acs-edge decode ble (--service-data UUID16:HEX | --manufacturer-data COMPANY:HEX)
           [--mac MAC] [--bindkey HEX] [--frame-company COMPANY]
                                     decode a BLE advertisement payload and print its readings
",
        details: "\
Exit 1 when the payload cannot be decoded, 2 for bad arguments. Needs a build with the
`ble` feature (the package acs-edge-full).
",
    },
    Entry {
        topic: "decode lorawan",
        usage: "  acs-edge decode lorawan HEX --nwkskey HEX --appskey HEX
                                     check and decrypt a LoRaWAN uplink, print it as JSON
",
        details: "\
Exit 1 for a frame that does not parse or whose MIC does not match, 2 for bad arguments.
Needs a build with the `lora` feature (the package acs-edge-full).
",
    },
    Entry {
        topic: "passwd",
        usage: "  acs-edge passwd USER [--config FILE]
                                     create a user or set its password (asked twice on a
                                     terminal, else the first line of stdin)
",
        details: "\
The password needs at least 8 characters. FILE (default /etc/config/acs-edge) must exist;
it is rewritten atomically and keeps its comments. Reload the daemon to apply the change
(/etc/init.d/acs-edge reload, or SIGHUP).
",
    },
    Entry {
        topic: "token create",
        usage: "  acs-edge token create NAME [--config FILE]
                                     add an API token for a machine client; prints it once
",
        details: "\
The token is printed on stdout once; only its hash is kept in FILE (default
/etc/config/acs-edge, which must exist). Reload the daemon to apply it.
",
    },
    Entry {
        topic: "token revoke",
        usage: "  acs-edge token revoke NAME [--config FILE]
                                     remove an API token
",
        details: "\
NAME is the name the token was created with; reload the daemon to apply it.
",
    },
    Entry {
        topic: "help",
        usage: "  acs-edge help [COMMAND]            print this help, or that of one command
                                     (also: acs-edge COMMAND --help)
  acs-edge --version                 print version, git revision and target
",
        details: "",
    },
];

fn belongs(entry: &Entry, topic: &str) -> bool {
    entry
        .topic
        .strip_prefix(topic)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
}

/// Every command's usage.
pub fn overview() -> String {
    let mut text = String::from("Usage:\n");
    for entry in ENTRIES {
        text.push_str(entry.usage);
    }
    text
}

/// The help of `topic` (`passwd`, `decode`, `decode frame`...), or `None` for no such command.
pub fn topic(topic: &str) -> Option<String> {
    let entries: Vec<&Entry> = ENTRIES.iter().filter(|e| belongs(e, topic)).collect();
    if entries.is_empty() {
        return None;
    }
    let mut text = String::from("Usage:\n");
    for entry in &entries {
        text.push_str(entry.usage);
    }
    for entry in &entries {
        if !entry.details.is_empty() {
            text.push('\n');
            text.push_str(entry.details);
        }
    }
    Some(text)
}

/// The topic of a help request, from the words of a command line: `help WORDS...`, or a `-h` /
/// `--help` anywhere (the command is then the longest run of leading words that names one, so
/// `passwd alice --help` is `passwd`). `None` when the line asks for no help; `Some("")` for
/// the overview.
pub fn requested(args: &[String]) -> Option<String> {
    let words: &[String] = match args.split_first() {
        Some((first, rest)) if first == "help" => rest,
        _ if args.iter().any(|a| a == "-h" || a == "--help") => args,
        _ => return None,
    };
    let leading: Vec<&str> = words
        .iter()
        .map(String::as_str)
        .take_while(|w| !w.starts_with('-'))
        .collect();
    for n in (1..=leading.len()).rev() {
        let candidate = leading[..n].join(" ");
        if ENTRIES.iter().any(|e| belongs(e, &candidate)) {
            return Some(candidate);
        }
    }
    Some(leading.first().map(|w| w.to_string()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn a_help_request_names_the_longest_command_before_the_options() {
        let cases = [
            ("--help", Some("")),
            ("-h", Some("")),
            ("help", Some("")),
            ("help passwd", Some("passwd")),
            ("help decode", Some("decode")),
            ("passwd --help", Some("passwd")),
            ("passwd alice --config x -h", Some("passwd")),
            ("decode frame --help", Some("decode frame")),
            ("token create ci --help", Some("token create")),
            ("--config x --help", Some("")),
            ("frobnicate --help", Some("frobnicate")),
            ("help passwd --config x", Some("passwd")),
            ("passwd alice", None),
            ("", None),
        ];
        for (line, want) in cases {
            assert_eq!(requested(&words(line)).as_deref(), want, "{line:?}");
        }
    }

    #[test]
    fn a_group_shows_each_of_its_commands_and_a_command_only_itself() {
        let decode = topic("decode").unwrap();
        for kind in ["decode frame HEX", "decode ble", "decode lorawan HEX"] {
            assert!(decode.contains(kind), "{decode}");
        }
        let frame = topic("decode frame").unwrap();
        assert!(!frame.contains("lorawan"), "{frame}");
        assert!(topic("pass").is_none(), "a topic is a whole word");
        assert!(topic("frobnicate").is_none());
        for entry in ENTRIES {
            assert!(overview().contains(entry.usage));
        }
    }

    #[test]
    fn passwd_help_states_the_minimum_length_the_command_enforces() {
        let min = crate::auth::password::MIN_PASSWORD_CHARS;
        let help = topic("passwd").unwrap();
        assert!(
            help.contains(&format!("at least {min} characters")),
            "{help}"
        );
    }
}
