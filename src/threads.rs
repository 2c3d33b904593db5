//! Bounded waits for the daemon's worker threads: a stop must never wait on a thread longer than
//! its grace (procd sends SIGKILL 5-15 s after SIGTERM), so joins are preceded by a timed poll.

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Waits up to `grace` for `thread` to end; true when it has (a join then returns at once).
pub fn wait_finished<T>(thread: &JoinHandle<T>, grace: Duration) -> bool {
    let deadline = Instant::now() + grace;
    while !thread.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    thread.is_finished()
}
