//! A small `log` backend writing one line per event to stderr:
//! `2026-01-01T00:00:00.123Z WARN acs_edge::ingest::mqtt: topic=acs/x/telemetry dropped ...`.
//! On OpenWrt procd forwards stderr to syslog. The level can change at runtime (SIGHUP).

use log::{LevelFilter, Log, Metadata, Record};
use std::io::Write;

struct StderrLogger;

static LOGGER: StderrLogger = StderrLogger;

/// Installs the logger once; later calls only change the level.
pub fn init(level: LevelFilter) {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        // Dependencies log at debug level about their internals; keep them one level quieter.
        let target = record.target();
        if !target.starts_with("acs_edge") && record.level() > log::Level::Info {
            return;
        }
        let line = format!(
            "{} {:<5} {}: {}\n",
            format_utc(crate::model::now_ms()),
            record.level(),
            target,
            record.args()
        );
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {}
}

/// Renders epoch milliseconds as RFC 3339 UTC with milliseconds.
pub fn format_utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Inverse of days_from_civil (H. Hinnant).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms.rem_euclid(1000)
    )
}

/// At most `BURST` warnings per minute, then one line saying how many were suppressed, so a
/// misbehaving device or radio noise cannot flood syslog on a router.
pub struct WarnLimit {
    /// What the suppressed lines were, for the summary line ("malformed messages").
    what: &'static str,
    window_start: Option<std::time::Instant>,
    logged: u32,
    suppressed: u64,
}

impl WarnLimit {
    const BURST: u32 = 10;
    const WINDOW: std::time::Duration = std::time::Duration::from_secs(60);

    pub fn new(what: &'static str) -> WarnLimit {
        WarnLimit {
            what,
            window_start: None,
            logged: 0,
            suppressed: 0,
        }
    }

    /// Logs `line` as a warning unless this window's burst is used up.
    pub fn warn(&mut self, line: std::fmt::Arguments) {
        let now = std::time::Instant::now();
        match self.window_start {
            Some(start) if now.duration_since(start) < Self::WINDOW => {}
            _ => {
                if self.suppressed > 0 {
                    log::warn!(
                        "suppressed={} {} not logged in the last minute",
                        self.suppressed,
                        self.what
                    );
                }
                self.window_start = Some(now);
                self.logged = 0;
                self.suppressed = 0;
            }
        }
        if self.logged < Self::BURST {
            self.logged += 1;
            log::warn!("{line}");
        } else {
            self.suppressed += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_rendering_round_trips_through_the_rfc3339_parser() {
        for ms in [
            0,
            1_767_225_600_123,
            1_709_208_000_500,
            951_782_400_000,
            4_102_444_799_999,
        ] {
            let text = super::format_utc(ms);
            assert_eq!(crate::timestamp::parse_rfc3339(&text), Some(ms), "{text}");
        }
        assert_eq!(
            super::format_utc(1_767_225_600_123),
            "2026-01-01T00:00:00.123Z"
        );
    }
}
