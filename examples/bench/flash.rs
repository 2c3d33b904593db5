//! Flash wear: runs `bench/flash-wear.sh` (the release daemon at 1k readings/s into a full
//! ring, bytes written per committed reading from `/proc/<pid>/io`) and turns its lines into
//! rows, each next to the size one row takes in the store (table + index, from `/health`).
//! DESIGN.md's budget is 3x that size.

use crate::harness::release_binary;
use crate::report::{ratio, Row};
use std::process::Command;

/// One line of the script's table.
struct Line {
    interval_ms: u64,
    readings: u64,
    wchar: f64,
    write_bytes: f64,
    row_bytes: f64,
}

fn parse(stdout: &str) -> Vec<Line> {
    stdout
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() != 7 {
                return None;
            }
            Some(Line {
                interval_ms: f[0].parse().ok()?,
                readings: f[1].parse().ok()?,
                wchar: f[3].parse().ok()?,
                write_bytes: f[4].parse().ok()?,
                row_bytes: f[5].parse().ok()?,
            })
        })
        .collect()
}

pub fn bench(intervals: &[u64], run_seconds: u64) -> Vec<Row> {
    let out = Command::new("bench/flash-wear.sh")
        .args(intervals.iter().map(u64::to_string))
        .env("ACS_EDGE_BIN", release_binary())
        .env("RUN_SECONDS", run_seconds.to_string())
        .output();
    let out = match out {
        Ok(o) if o.status.success() => o,
        Ok(o) => {
            return vec![Row::skipped(
                "flash wear",
                String::from_utf8_lossy(&o.stderr).trim().to_owned(),
            )]
        }
        Err(e) => return vec![Row::skipped("flash wear", e.to_string())],
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    print!("{stdout}");
    let lines = parse(&stdout);
    if lines.is_empty() {
        return vec![Row::skipped(
            "flash wear",
            "flash-wear.sh printed no figures",
        )];
    }
    let mut rows = Vec::new();
    for l in lines {
        let budget = format!("row size {:.0} B (budget 3x)", l.row_bytes);
        rows.push(Row::vs(
            format!(
                "flash wear at 1k/s, commit every {} ms: bytes to write() per reading ({} readings)",
                l.interval_ms, l.readings
            ),
            l.wchar,
            "B/reading",
            budget.clone(),
            ratio(l.wchar, l.row_bytes),
        ));
        rows.push(Row::vs(
            format!(
                "flash wear at 1k/s, commit every {} ms: block-layer bytes per reading",
                l.interval_ms
            ),
            l.write_bytes,
            "B/reading",
            budget,
            ratio(l.write_bytes, l.row_bytes),
        ));
    }
    rows
}
