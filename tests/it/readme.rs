//! The README's runnable examples, run the way a reader pastes them.
//!
//! A fenced block whose previous line is `<!-- runnable -->` (an HTML comment, invisible on
//! GitHub) is runnable. All of them run in README order in one `bash -euo pipefail` session, so
//! a later block sees an earlier one's variables (`$TOKEN`) as the reader's shell does, and each
//! must finish without an error. What differs from a reader's machine, and nothing else:
//! - a real mosquitto on a free port; the documented addresses in the blocks (`127.0.0.1:8080`,
//!   `localhost:8080`, `-p 1883`) are rewritten to the test's ports;
//! - the working directory is a scratch directory holding `dev/acs-edge.config`: the repository's
//!   development config with the same two addresses rewritten;
//! - shell functions stand in for the build tools: `cargo run -q -- ARGS` runs the built binary,
//!   and `make run` starts it in the background with that config, as the Makefile does, and
//!   returns once its broker subscription is up (the reader switches to a second terminal);
//! - every block reads, on its stdin, the password a reader types when asked.
//!
//! A `#> ` comment line in a block is output that block must print: consecutive ones join into
//! one line, and `...` in it matches anything within a line.

use crate::common::{self, Broker};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const MARKER: &str = "<!-- runnable -->";
/// Printed on stdout before each block, so its output and a failure can be attributed.
const SEPARATOR: &str = "=== readme block";

struct Block {
    /// 1-based line of the opening fence in the file.
    line: usize,
    script: String,
    expected: Vec<String>,
}

fn runnable_blocks(markdown: &str) -> Vec<Block> {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim() != MARKER {
            i += 1;
            continue;
        }
        let fence = i + 1;
        assert!(
            lines.get(fence).is_some_and(|l| l.starts_with("```")),
            "line {}: {MARKER} must be right above a code fence",
            i + 1
        );
        let end = (fence + 1..lines.len())
            .find(|&j| lines[j].starts_with("```"))
            .unwrap_or_else(|| panic!("line {}: the code block is not closed", fence + 1));
        let body = &lines[fence + 1..end];
        blocks.push(Block {
            line: fence + 1,
            script: body.join("\n"),
            expected: expected_output(body),
        });
        i = end + 1;
    }
    blocks
}

fn expected_output(body: &[&str]) -> Vec<String> {
    let mut expected: Vec<String> = Vec::new();
    let mut continues = false;
    for line in body {
        match line.trim_start().strip_prefix("#>") {
            Some(text) if continues => expected.last_mut().unwrap().push_str(text.trim()),
            Some(text) => expected.push(text.trim().to_owned()),
            None => {}
        }
        continues = line.trim_start().starts_with("#>");
    }
    expected
}

/// Whether one line of `output` holds `pattern`, each `...` in it standing for any text.
fn shows(output: &str, pattern: &str) -> bool {
    output.lines().any(|line| {
        let mut rest = line;
        pattern.split("...").all(|part| match rest.find(part) {
            Some(at) => {
                rest = &rest[at + part.len()..];
                true
            }
            None => false,
        })
    })
}

/// `text` with each `(from, to)` replaced; every `from` must occur, so a changed file fails
/// here rather than running against the wrong address.
fn rewrite(text: &str, what: &str, replacements: &[(&str, String)]) -> String {
    let mut out = text.to_owned();
    for (from, to) in replacements {
        assert!(out.contains(from), "{what} no longer contains {from:?}");
        out = out.replace(from, to);
    }
    out
}

/// The shell functions that stand in for `cargo run` and `make run`.
const PRELUDE: &str = r#"
cargo() {
    if [ "${1:-}" = run ] && [ "${2:-}" = -q ] && [ "${3:-}" = -- ]; then
        shift 3
        "$ACS_EDGE_BIN" "$@"
    else
        echo "readme test: no stand-in for: cargo $*" >&2
        return 127
    fi
}
make() {
    if [ "$*" != run ]; then
        echo "readme test: no stand-in for: make $*" >&2
        return 127
    fi
    mkdir -p data
    "$ACS_EDGE_BIN" --config dev/acs-edge.config </dev/null >>daemon.log 2>&1 &
    echo $! >daemon.pid
    for _ in $(seq 400); do
        if curl -fsS "http://127.0.0.1:$API_PORT/api/v1/health" 2>/dev/null | grep -q '"subscribed":true'; then
            return 0
        fi
        sleep 0.1
    done
    echo "readme test: the daemon did not subscribe within 40 s; its log:" >&2
    cat daemon.log >&2
    return 1
}
"#;

/// Stops the daemon that `make run` left in the background, however the test ends.
struct DaemonPidFile(PathBuf);

impl Drop for DaemonPidFile {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(&self.0) {
            let _ = Command::new("kill").arg(pid.trim()).status();
        }
    }
}

fn require_tool(tool: &str, package: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(found, "{tool} is not installed (apt-get install {package})");
}

#[test]
fn the_readme_runnable_blocks_run_and_print_what_they_show() {
    require_tool("curl", "curl");
    require_tool("mosquitto_pub", "mosquitto-clients");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(repo.join("README.md")).unwrap();
    let blocks = runnable_blocks(&readme);
    for needed in [
        "/auth/login",
        "/telemetry?",
        "/automation/rules",
        "make run",
    ] {
        assert!(
            blocks.iter().any(|b| b.script.contains(needed)),
            "no runnable README block uses {needed}: the first-run, query and rules examples must stay marked {MARKER}"
        );
    }

    let broker = Broker::start();
    let api_port = common::free_port();
    let local = [
        ("127.0.0.1:8080", format!("127.0.0.1:{api_port}")),
        ("localhost:8080", format!("127.0.0.1:{api_port}")),
        ("-p 1883", format!("-p {}", broker.port)),
    ];
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("dev")).unwrap();
    let dev_config = std::fs::read_to_string(repo.join("dev/acs-edge.config")).unwrap();
    let dev_config = rewrite(
        &dev_config,
        "dev/acs-edge.config",
        &[
            (
                "option listen '127.0.0.1:8080'",
                format!("option listen '127.0.0.1:{api_port}'"),
            ),
            (
                "option port '1883'",
                format!("option port '{}'", broker.port),
            ),
        ],
    );
    std::fs::write(dir.path().join("dev/acs-edge.config"), dev_config).unwrap();
    std::fs::write(
        dir.path().join("typed.txt"),
        format!("{}\n", common::TEST_PASSWORD),
    )
    .unwrap();

    let mut script = String::from(PRELUDE);
    for (n, block) in blocks.iter().enumerate() {
        let body: String = block
            .script
            .lines()
            .map(|line| {
                local
                    .iter()
                    .fold(line.to_owned(), |l, (from, to)| l.replace(from, to))
            })
            .collect::<Vec<_>>()
            .join("\n");
        script.push_str(&format!(
            "echo '{SEPARATOR} {n}'\n{{\n{body}\n}} <typed.txt\n"
        ));
    }
    script.push_str(&format!("echo '{SEPARATOR} done'\n"));
    std::fs::write(dir.path().join("readme.sh"), &script).unwrap();

    let _daemon = DaemonPidFile(dir.path().join("daemon.pid"));
    let out = Command::new("timeout")
        .args(["180", "bash", "-euo", "pipefail", "readme.sh"])
        .current_dir(dir.path())
        .env("ACS_EDGE_BIN", common::binary())
        .env("API_PORT", api_port.to_string())
        .stdin(Stdio::null())
        .output()
        .expect("run bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let log = std::fs::read_to_string(dir.path().join("daemon.log")).unwrap_or_default();

    // Each block's output is what follows its separator line.
    let mut outputs: Vec<String> = Vec::new();
    let mut finished = false;
    for line in stdout.lines() {
        match line.strip_prefix(SEPARATOR) {
            Some(" done") => finished = true,
            Some(_) => outputs.push(String::new()),
            None => {
                if let Some(current) = outputs.last_mut() {
                    current.push_str(line);
                    current.push('\n');
                }
            }
        }
    }
    if !out.status.success() || !finished {
        let failed = &blocks[outputs.len().saturating_sub(1)];
        panic!(
            "the README block at line {} failed ({}):\n{}\n--- stdout:\n{stdout}\n--- stderr:\n{stderr}\n--- daemon log:\n{log}",
            failed.line, out.status, failed.script
        );
    }
    for (block, output) in blocks.iter().zip(&outputs) {
        for pattern in &block.expected {
            assert!(
                shows(output, pattern),
                "the README block at line {} does not print what it shows:\n  {pattern}\nit printed:\n{output}",
                block.line
            );
        }
    }
}

#[test]
fn a_marker_selects_the_next_block_and_its_output_lines() {
    let markdown = "text\n\
                    ```sh\nnot marked\n```\n\
                    <!-- runnable -->\n\
                    ```sh\necho '{\"a\": 1,'\n#> {\"a\": ...,\n#>   \"b\": 2}\necho\n#> second\n```\n";
    let blocks = runnable_blocks(markdown);
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].line, 6);
    assert!(blocks[0].script.starts_with("echo '{\"a\": 1,'"));
    assert_eq!(blocks[0].expected, ["{\"a\": ...,\"b\": 2}", "second"]);
}

#[test]
#[should_panic(expected = "must be right above a code fence")]
fn a_marker_that_is_not_above_a_fence_is_an_error() {
    runnable_blocks("<!-- runnable -->\n\nsome text\n```sh\ntrue\n```\n");
}

#[test]
fn documented_output_matches_only_what_it_shows() {
    let printed = r#"{"items":[{"device":"dev1","ts":1796638547839,"value":21.5}]}"#;
    assert!(shows(
        printed,
        r#"{"items":[{"device":"dev1","ts":...,"value":21.5}]}"#
    ));
    assert!(!shows(
        printed,
        r#"{"items":[{"device":"dev1","ts":...,"value":40.2}]}"#
    ));
    assert!(!shows(printed, r#"{"items":[{"device":"dev2",...}]}"#));
    // `...` does not reach across lines.
    assert!(!shows("a\nb", "a...b"));
}
