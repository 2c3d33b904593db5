//! `config store 'store'`: the SQLite ring buffer's file, limits and commit pace.

use super::check::check_not_empty;
use super::keys::{Int, Text};
use super::spec::{Kind, OptionSpec, SectionSpec};

pub const STORE: SectionSpec = SectionSpec {
    name: "store",
    doc: "The SQLite ring buffer. Readings stay until one of the limits evicts the oldest\n\
          (evictions are counted), and upstream sync reads from it.",
    options: &[
        OptionSpec {
            name: "path",
            kind: Kind::Text { key: Text::StorePath, check: check_not_empty },
            default: "/var/lib/acs-edge/store.db",
            reload: false,
            doc: "The store's SQLite file. The default is in RAM on OpenWrt (/var is tmpfs): no\n\
                  flash wear, kept across daemon restarts, lost on reboot or power cut. Installing\n\
                  the package moves it to the overlay (/etc/acs-edge/store.db) when that is flash\n\
                  with 8 MiB free or more, so that it survives reboots; flush_interval_s keeps the\n\
                  writes small. USB storage suits large stores. docs/OPERATIONS.md has the wear.",
        },
        OptionSpec {
            name: "max_rows",
            kind: Kind::Int { key: Int::StoreMaxRows, min: 1000,
                max: 100_000_000, },
            default: "1000000",
            reload: true,
            doc: "Most readings kept; the oldest are evicted beyond it.",
        },
        OptionSpec {
            name: "max_mb",
            kind: Kind::Int { key: Int::StoreMaxMb, min: 1, max: 65536 },
            default: "4",
            reload: true,
            doc: "Most megabytes the store file may take; the oldest readings are evicted beyond it.",
        },
        OptionSpec {
            name: "max_age_days",
            kind: Kind::Int { key: Int::StoreMaxAgeDays, min: 0, max: 3650 },
            default: "30",
            reload: true,
            doc: "Readings older than this many days are evicted. 0 = no age limit.",
        },
        OptionSpec {
            name: "commit_interval_ms",
            kind: Kind::Int { key: Int::StoreCommitIntervalMs, min: 10, max: 60000 },
            default: "1000",
            reload: true,
            doc: "Milliseconds between commits of batched readings: how long a reading waits before\n\
                  queries, live events and rules see it. With flush_interval_s 0 every commit is a\n\
                  write to the file: longer writes less to flash.",
        },
        OptionSpec {
            name: "flush_interval_s",
            kind: Kind::Int { key: Int::StoreFlushIntervalS, min: 0, max: 86400 },
            default: "300",
            reload: false,
            doc: "Seconds the newest readings wait in RAM before they are sealed into the store\n\
                  file in one write (also when 32,768 wait, and always at a clean stop). A power\n\
                  cut loses at most this much; it is what keeps flash wear low. 0 = every commit\n\
                  goes to the file.",
        },
        OptionSpec {
            name: "rollup_minute_days",
            kind: Kind::Int { key: Int::StoreRollupMinuteDays, min: 0, max: 3650 },
            default: "0",
            reload: false,
            doc: "Days to keep per-minute rollups (count, sum, min, max, last) of readings the ring\n\
                  has evicted, for GET /telemetry?step= queries past the raw history. Worth it for\n\
                  series faster than one reading a minute. 0 = none.",
        },
        OptionSpec {
            name: "rollup_hour_days",
            kind: Kind::Int { key: Int::StoreRollupHourDays, min: 0, max: 3650 },
            default: "365",
            reload: false,
            doc: "Days to keep per-hour rollups of evicted readings. Rollups share the store with\n\
                  raw readings and take at most a quarter of max_mb; beyond it the oldest go first,\n\
                  per-minute before per-hour. 0 = none.",
        },
        OptionSpec {
            name: "max_devices",
            kind: Kind::Int { key: Int::StoreMaxDevices, min: 1, max: 100_000 },
            default: "1000",
            reload: false,
            doc: "Most devices in the registry; messages from further new devices are refused whole,\n\
                  counted and logged.",
        },
        OptionSpec {
            name: "max_metrics",
            kind: Kind::Int { key: Int::StoreMaxMetrics, min: 1, max: 100_000 },
            default: "1000",
            reload: false,
            doc: "Most distinct metric names; a message with more new names than there is room for\n\
                  is refused whole (never stored in part), counted and logged.",
        },
        OptionSpec {
            name: "max_future_skew_s",
            kind: Kind::Int { key: Int::StoreMaxFutureSkewS, min: 1,
                max: 31_536_000, },
            default: "86400",
            reload: true,
            doc: "A message with a reading stamped more than this many seconds ahead of the gateway\n\
                  clock is refused whole and counted (ingest.rejected_future_ts).",
        },
    ],
};
