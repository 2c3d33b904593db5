//! The replay source: reads advertisements from a capture file (JSON lines, see
//! [`super::advert`]) and hands them to the same [`AdvertSink`] the scanner uses.
//! For tests and for users debugging a sensor: `acs-edge --replay-ble FILE`.
//!
//! Invariants: lines are read one at a time and capped at [`MAX_LINE_LEN`] bytes, so memory
//! does not grow with the file; a bad line is counted, logged (the first [`LOGGED_ERRORS`]) and
//! skipped; the file is read once, as fast as the writer takes it (the readings keep the
//! capture's timestamps); when the writer queue is full this thread blocks.

use super::advert::MAX_LINE_LEN;
use super::sink::{AdvertSink, Handled, WriterGone};
use super::{Advert, BleSettings};
use crate::ingest::stats::IngestStats;
use crate::model::Event;
use crate::threads::{StopFlag, WorkerThread};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Bad lines logged one by one; the rest only appear in the final count.
pub const LOGGED_ERRORS: u64 = 10;

/// What a replay did, line by line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplaySummary {
    pub lines: u64,
    pub accepted: u64,
    pub readings: u64,
    pub duplicates: u64,
    pub ignored: u64,
    pub malformed: u64,
}

/// A running replay; it ends by itself at the end of the file.
pub struct ReplaySource {
    thread: WorkerThread<ReplaySummary>,
}

impl ReplaySource {
    pub fn spawn(
        path: PathBuf,
        settings: BleSettings,
        tx: async_channel::Sender<Event>,
        stats: Arc<IngestStats>,
    ) -> std::io::Result<ReplaySource> {
        let stop = StopFlag::default();
        let flag = stop.clone();
        let thread = WorkerThread::spawn("ble-replay", stop, move || {
            let summary = match std::fs::File::open(&path) {
                Ok(file) => replay(file, settings, &tx, &stats, &flag),
                Err(e) => {
                    log::error!("file={} cannot open the BLE capture: {e}", path.display());
                    ReplaySummary::default()
                }
            };
            log_summary(&path, &summary);
            summary
        })?;
        Ok(ReplaySource { thread })
    }

    /// Asks the thread to stop after the line in hand, without waiting.
    pub fn request_stop(&self) {
        self.thread.request_stop();
    }

    /// Stops and waits for the thread; returns what it did.
    pub fn stop(self) -> ReplaySummary {
        self.thread.stop().unwrap_or_default()
    }
}

fn log_summary(path: &Path, s: &ReplaySummary) {
    log::info!(
        "file={} lines={} accepted={} readings={} duplicates={} ignored={} malformed={} BLE replay finished",
        path.display(),
        s.lines,
        s.accepted,
        s.readings,
        s.duplicates,
        s.ignored,
        s.malformed
    );
}

/// Replays every line of `input`; public so tests can drive it without a daemon.
pub fn replay(
    input: impl Read,
    settings: BleSettings,
    tx: &async_channel::Sender<Event>,
    stats: &IngestStats,
    stop: &StopFlag,
) -> ReplaySummary {
    let mut sink = AdvertSink::new(settings, tx, stats);
    let mut reader = BufReader::new(input);
    let mut summary = ReplaySummary::default();
    let mut line = Vec::new();
    while !stop.is_set() {
        line.clear();
        let parsed = match read_bounded_line(&mut reader, &mut line) {
            Ok(None) => break,
            Ok(Some(true)) => match std::str::from_utf8(&line) {
                Ok(text) if text.trim().is_empty() => continue,
                Ok(text) => Advert::from_json_line(text.trim()),
                Err(_) => Err("not UTF-8".into()),
            },
            Ok(Some(false)) => Err(format!("line longer than {MAX_LINE_LEN} bytes")),
            Err(e) => {
                log::error!("reading the BLE capture failed: {e}");
                break;
            }
        };
        summary.lines += 1;
        let handled = match parsed {
            Ok(advert) => match sink.submit(&advert) {
                Ok(handled) => handled,
                Err(WriterGone) => break,
            },
            Err(reason) => Handled::Malformed(reason),
        };
        match handled {
            Handled::Stored { readings, partial } => {
                if let Some(reason) = partial {
                    log::warn!("line={} kept the readings before: {reason}", summary.lines);
                }
                summary.accepted += 1;
                summary.readings += readings as u64;
            }
            Handled::Duplicate => summary.duplicates += 1,
            Handled::Ignored(_) => summary.ignored += 1,
            Handled::Malformed(reason) => {
                summary.malformed += 1;
                if summary.malformed <= LOGGED_ERRORS {
                    log::warn!("line={} dropped BLE advertisement: {reason}", summary.lines);
                }
            }
        }
    }
    summary
}

/// Reads one line into `line` without its newline. `Ok(None)` at the end of input,
/// `Ok(Some(false))` when the line exceeded [`MAX_LINE_LEN`] (the rest of it is skipped).
fn read_bounded_line(
    reader: &mut impl BufRead,
    line: &mut Vec<u8>,
) -> std::io::Result<Option<bool>> {
    let n = reader
        .by_ref()
        .take(MAX_LINE_LEN as u64 + 1)
        .read_until(b'\n', line)?;
    if n == 0 {
        return Ok(None);
    }
    if line.last() == Some(&b'\n') {
        line.pop();
        return Ok(Some(true));
    }
    if line.len() <= MAX_LINE_LEN {
        return Ok(Some(true)); // last line without a newline
    }
    let mut rest = Vec::new();
    loop {
        rest.clear();
        let n = reader
            .by_ref()
            .take(MAX_LINE_LEN as u64)
            .read_until(b'\n', &mut rest)?;
        if n == 0 || rest.last() == Some(&b'\n') {
            return Ok(Some(false));
        }
    }
}
