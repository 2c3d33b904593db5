//! Figures of local inference for the README (`ml` feature): load time, resident memory per
//! loaded model and latency per window of a model file. Prints figures only.
//!
//!     cargo run --release --features ml --example ml_figures -- [MODEL] [WINDOW]

use acs_edge::ml::LoadedModel;
use std::path::PathBuf;
use std::time::Instant;

/// Resident set size in bytes, from /proc/self/statm.
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = PathBuf::from(
        args.next()
            .unwrap_or_else(|| "models/temperature-ae.onnx".into()),
    );
    let window: usize = args.next().and_then(|w| w.parse().ok()).unwrap_or(16);

    let started = Instant::now();
    let first = LoadedModel::load(&path, window).expect("the model loads");
    println!(
        "load + optimize: {:.1} ms (first model)",
        started.elapsed().as_secs_f64() * 1e3
    );

    // Memory: the RSS growth of holding 20 more loaded copies, per copy.
    const COPIES: usize = 20;
    let before = rss_bytes();
    let copies: Vec<LoadedModel> = (0..COPIES)
        .map(|_| LoadedModel::load(&path, window).expect("the model loads"))
        .collect();
    let after = rss_bytes();
    println!(
        "memory per loaded model: {:.0} KiB (RSS growth over {COPIES} copies)",
        (after.saturating_sub(before)) as f64 / COPIES as f64 / 1024.0
    );
    drop(copies);

    // Latency: distinct windows, so no result can be cached.
    let windows: Vec<Vec<f32>> = (0..1000)
        .map(|i| {
            (0..window)
                .map(|j| 20.0 + ((i * 7 + j) as f32 * 0.37).sin())
                .collect()
        })
        .collect();
    for w in windows.iter().take(100) {
        first.score(w).expect("inference");
    }
    let rounds = 20;
    let started = Instant::now();
    let mut checksum = 0.0f64;
    for _ in 0..rounds {
        for w in &windows {
            checksum += f64::from(first.score(w).expect("inference"));
        }
    }
    let per = started.elapsed().as_secs_f64() / (rounds * windows.len()) as f64;
    println!(
        "inference: {:.1} us per window of {window} ({} windows, checksum {checksum:.3})",
        per * 1e6,
        rounds * windows.len()
    );
}
