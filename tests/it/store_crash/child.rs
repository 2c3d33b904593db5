//! The processes a crash loop kills: this test binary run again with `--ignored --exact NAME`
//! (the usual way to get a child process in a Rust test), told what to do through
//! [`CHILD_ENV`]. A child reports on stdout, one line per step, flushed before the next step
//! ([`Say`]); a pipe keeps what was written even when the child dies, so after the kill the
//! parent knows how far the child got.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Set in a child's environment: its [`Task`], as `PATH\nFIRST\nSEED`.
const CHILD_ENV: &str = "ACS_EDGE_CRASH_WRITER";
/// Starts each line a child reports on (the test harness prints its own words too, on the
/// child's first line as well).
const LINE_MARK: &str = "crash-writer: ";

/// What a writer child works on.
pub struct Task {
    /// The store file.
    pub path: PathBuf,
    /// The counter of its first reading.
    pub first: i64,
    /// Seeds its choices.
    pub seed: u64,
}

/// The child's side: its task (`None` when a crash loop did not start it: the hidden test
/// then does nothing).
pub fn task() -> Option<Task> {
    let spec = std::env::var(CHILD_ENV).ok()?;
    let mut parts = spec.split('\n');
    let mut next = || parts.next().expect("a whole task");
    Some(Task {
        path: PathBuf::from(next()),
        first: next().parse().unwrap(),
        seed: next().parse().unwrap(),
    })
}

/// The child's reporting line.
pub struct Say(std::io::StdoutLock<'static>);

impl Say {
    pub fn new() -> Say {
        Say(std::io::stdout().lock())
    }

    /// Writes and flushes one line; `false` when the parent is gone (the child should stop).
    pub fn line(&mut self, line: std::fmt::Arguments) -> bool {
        writeln!(self.0, "{LINE_MARK}{line}")
            .and_then(|()| self.0.flush())
            .is_ok()
    }
}

/// A child process, killed when dropped (also when the test fails).
pub struct Child {
    child: std::process::Child,
    lines: Option<std::thread::JoinHandle<Vec<String>>>,
    /// The reported lines as they come, for a parent that kills at a given step.
    live: std::sync::mpsc::Receiver<String>,
}

impl Child {
    /// Starts the hidden test `name` (its full path, e.g. `store_crash::writer_child`) with
    /// `task`.
    pub fn start(name: &str, task: &Task) -> Child {
        let spec = format!("{}\n{}\n{}", task.path.display(), task.first, task.seed);
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                name,
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, spec)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the child");
        // Drained as it comes, so the child never blocks on a full pipe.
        let stdout = child.stdout.take().unwrap();
        let (tx, live) = std::sync::mpsc::channel();
        let lines = std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some((_, said)) = line.split_once(LINE_MARK) {
                    // The parent may have stopped listening; the lines are kept anyway.
                    let _ = tx.send(said.to_owned());
                    lines.push(said.to_owned());
                }
            }
            lines
        });
        Child {
            child,
            lines: Some(lines),
            live,
        }
    }

    /// Waits (at most `patience`) for the next reported line that `wanted` accepts; `false`
    /// when the child stopped reporting first or the time ran out.
    pub fn wait_for(&self, patience: std::time::Duration, wanted: impl Fn(&str) -> bool) -> bool {
        let deadline = std::time::Instant::now() + patience;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.live.recv_timeout(left) {
                Ok(line) if wanted(&line) => return true,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
    }

    /// SIGKILL (what `Child::kill` sends on Unix); waits for the process and returns every
    /// line it reported. Panics when the child had exited by itself.
    pub fn kill(mut self) -> Vec<String> {
        if let Some(status) = self.child.try_wait().unwrap() {
            let lines = self.lines.take().unwrap().join().unwrap();
            panic!("the child exited by itself ({status}) after {lines:?}");
        }
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        self.lines.take().unwrap().join().unwrap()
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
