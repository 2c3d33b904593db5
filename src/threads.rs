//! The daemon's stoppable worker threads: a [`WorkerThread`] owns a thread and the
//! [`StopFlag`] that asks it to end. The thread looks at (a clone of) the flag between units of
//! work and sleeps through [`StopFlag::sleep`], so a stop request is seen within one poll step.
//!
//! Invariant: a bounded stop ([`WorkerThread::wait_finished`], [`WorkerThread::stop_within`])
//! never waits on a thread longer than its grace (procd sends SIGKILL 5-15 s after SIGTERM):
//! it polls before it joins.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Set once, when the thread's owner asks it to end.
#[derive(Debug, Clone, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    pub fn is_set(&self) -> bool {
        self.0.load(Relaxed)
    }

    pub fn set(&self) {
        self.0.store(true, Relaxed);
    }

    /// Sleeps `total` in steps of at most `step`; false when asked to stop meanwhile.
    pub fn sleep(&self, total: Duration, step: Duration) -> bool {
        let until = Instant::now() + total;
        while !self.is_set() {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return true;
            }
            std::thread::sleep(left.min(step));
        }
        false
    }
}

/// A running worker thread; dropping it without a stop leaves the thread running.
pub struct WorkerThread<T = ()> {
    stop: StopFlag,
    thread: JoinHandle<T>,
}

impl<T: Send + 'static> WorkerThread<T> {
    /// Starts thread `name` running `work`. `stop` is the flag [`WorkerThread::request_stop`]
    /// sets; `work` holds a clone of it, made before the thread starts, so the work is built
    /// outside the new thread.
    pub fn spawn(
        name: &str,
        stop: StopFlag,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> std::io::Result<WorkerThread<T>> {
        let thread = std::thread::Builder::new().name(name.into()).spawn(work)?;
        Ok(WorkerThread { stop, thread })
    }

    /// Asks the thread to end, without waiting for it.
    pub fn request_stop(&self) {
        self.stop.set();
    }

    /// Waits up to `grace` for the thread to end; true when it has (a join then returns at once).
    pub fn wait_finished(&self, grace: Duration) -> bool {
        wait_finished(&self.thread, grace)
    }

    /// Asks the thread to end and waits for it; `None` when it panicked.
    pub fn stop(self) -> Option<T> {
        self.request_stop();
        self.thread.join().ok()
    }

    /// Asks the thread to end and waits up to `grace`; a thread still busy then is left to
    /// the process exit, not joined.
    pub fn stop_within(self, grace: Duration) {
        self.request_stop();
        if self.wait_finished(grace) {
            let _ = self.thread.join();
        }
    }
}

/// Waits up to `grace` for `thread` to end; true when it has (a join then returns at once).
fn wait_finished<T>(thread: &JoinHandle<T>, grace: Duration) -> bool {
    let deadline = Instant::now() + grace;
    while !thread.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    thread.is_finished()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_request_ends_the_sleep_and_the_thread() {
        let stop = StopFlag::default();
        let flag = stop.clone();
        let worker = WorkerThread::spawn("test-worker", stop, move || {
            flag.sleep(Duration::from_secs(30), Duration::from_millis(10))
        })
        .unwrap();
        assert!(!worker.wait_finished(Duration::from_millis(50)));
        let started = Instant::now();
        assert_eq!(worker.stop(), Some(false));
        assert!(started.elapsed() < Duration::from_secs(5));

        let running = StopFlag::default();
        assert!(running.sleep(Duration::from_millis(1), Duration::from_millis(10)));
        running.set();
        assert!(!running.sleep(Duration::from_secs(30), Duration::from_millis(10)));
    }
}
