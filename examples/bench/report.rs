//! The benchmark's output: one row per figure, each with the limit or peer it is compared
//! with and the ratio of the two, printed as one table and written to `bench/results.json`
//! with the machine the run happened on. A figure that could not be measured is still a row,
//! with the reason in place of its value, so a missing peer or binary is visible.

use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;

/// One line of the table.
#[derive(Debug, Clone)]
pub struct Row {
    pub figure: String,
    /// `None` when the figure could not be measured; `compared` then says why.
    pub value: Option<f64>,
    pub unit: String,
    /// What the value is compared with: a limit measured in the same run, a peer, or a budget.
    pub compared: String,
    /// value / the compared figure (or the compared figure / value for costs, as named).
    pub ratio: Option<f64>,
}

impl Row {
    /// A figure with nothing to compare it with.
    pub fn plain(figure: impl Into<String>, value: f64, unit: &str) -> Row {
        Row::vs(figure, value, unit, "", None)
    }

    /// A figure next to `compared`, with `ratio` (already computed by the caller).
    pub fn vs(
        figure: impl Into<String>,
        value: f64,
        unit: &str,
        compared: impl Into<String>,
        ratio: Option<f64>,
    ) -> Row {
        let row = Row {
            figure: figure.into(),
            value: Some(value),
            unit: unit.into(),
            compared: compared.into(),
            ratio,
        };
        println!("  {}: {} {}", row.figure, fmt_value(value), row.unit);
        row
    }

    /// A figure that was not measured, and why.
    pub fn skipped(figure: impl Into<String>, why: impl Into<String>) -> Row {
        let row = Row {
            figure: figure.into(),
            value: None,
            unit: String::new(),
            compared: format!(
                "not measured: {}",
                why.into().lines().next().unwrap_or("").trim()
            ),
            ratio: None,
        };
        println!("  {}: {}", row.figure, row.compared);
        row
    }

    fn to_json(&self) -> Value {
        json!({"figure": self.figure, "value": self.value, "unit": self.unit,
               "limit_or_peer": self.compared, "ratio": self.ratio})
    }
}

/// `a / b`, or `None` when `b` is zero or either side is not finite.
pub fn ratio(a: f64, b: f64) -> Option<f64> {
    let r = a / b;
    (b != 0.0 && r.is_finite()).then_some(r)
}

fn fmt_value(v: f64) -> String {
    if v.abs() >= 1000.0 {
        let digits = format!("{:.0}", v.abs());
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        if v < 0.0 {
            out.insert(0, '-');
        }
        out
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// The table: figure | value | unit | compared with | ratio.
pub fn print_table(rows: &[Row]) {
    let width = rows
        .iter()
        .map(|r| r.figure.len())
        .max()
        .unwrap_or(6)
        .min(72);
    println!();
    println!(
        "{:<width$} | {:>12} | {:<12} | {:<48} | ratio",
        "figure", "value", "unit", "compared with"
    );
    println!("{}", "-".repeat(width + 90));
    for r in rows {
        let value = r.value.map(fmt_value).unwrap_or_else(|| "-".into());
        let ratio = r.ratio.map(|x| format!("{x:.2}x")).unwrap_or_default();
        println!(
            "{:<width$} | {:>12} | {:<12} | {:<48} | {}",
            r.figure, value, r.unit, r.compared, ratio
        );
    }
}

/// The machine the run happened on, for the JSON and the table's heading.
pub fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .unwrap_or("")
        .trim()
        .to_owned();
    let mem_mb = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map(|kb| kb / 1024);
    let load = std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    json!({
        "cpu_model": model,
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "memory_mb": mem_mb,
        "kernel": command_line("uname", &["-sr"]),
        "date": command_line("date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"]),
        "git_revision": command_line("git", &["describe", "--always", "--dirty"]),
        "load_average_at_start": load,
    })
}

/// The first line a command prints, or "" when it cannot run.
pub fn command_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_owned()
        })
        .unwrap_or_default()
}

pub fn write_json(path: &Path, machine: Value, mode: &str, rows: &[Row]) {
    let end_load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let doc = json!({
        "machine": machine,
        "mode": mode,
        "load_average_at_end": end_load.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        "results": rows.iter().map(Row::to_json).collect::<Vec<_>>(),
    });
    std::fs::write(path, serde_json::to_string_pretty(&doc).unwrap() + "\n").unwrap();
    println!("\nwritten to {}", path.display());
}

/// When the run started (the first call), for the section headers.
fn run_start() -> std::time::Instant {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    *START.get_or_init(std::time::Instant::now)
}

/// Prints a part's header with the seconds since the run started, so a slow part shows.
pub fn section(title: &str) {
    println!(
        "\n== {title} ({:.0} s into the run)",
        run_start().elapsed().as_secs_f64()
    );
}
