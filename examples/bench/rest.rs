//! REST latency of the daemon holding a full store: the day query (86,400 points of one
//! metric, paged by 10,000 as the API serves it, JSON parsed by the client into typed points,
//! as a chart would), and the p50/p99 of
//! one-hour queries from one client and from N concurrent clients, each over its own
//! keep-alive connection with the API token.

use crate::harness::Daemon;
use crate::report::{ratio, Row};
use crate::store::DAY_POINTS;
use std::io::Read;
use std::time::{Duration, Instant};

const T0: i64 = 1_767_225_600_000;

/// A page as a chart client reads it: the points' time and value (names are skipped unread).
#[derive(serde::Deserialize)]
struct PageBody {
    items: Vec<Point>,
    next_cursor: Option<String>,
}

#[derive(serde::Deserialize)]
struct Point {
    #[allow(dead_code)]
    ts: i64,
    #[allow(dead_code)]
    value: f64,
}

/// The body is read whole, then parsed: serde_json's reader interface reads byte by byte and
/// would measure the client's framing, not the daemon.
fn get(agent: &ureq::Agent, daemon: &Daemon, query: &str) -> Result<PageBody, String> {
    let mut body = Vec::with_capacity(1 << 20);
    daemon
        .authed(agent.get(&daemon.url(&format!("/api/v1/telemetry?{query}"))))
        .call()
        .map_err(|e| e.to_string())?
        .into_reader()
        .read_to_end(&mut body)
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&body).map_err(|e| e.to_string())
}

/// One whole day query: (ms, points).
fn day_query(agent: &ureq::Agent, daemon: &Daemon) -> Result<(f64, usize), String> {
    let start = Instant::now();
    let base = format!(
        "device=day&metric=t&from={T0}&to={}&limit=10000",
        T0 + DAY_POINTS as i64 * 1000
    );
    let mut cursor: Option<String> = None;
    let mut points = 0;
    loop {
        let query = match &cursor {
            Some(c) => format!("{base}&cursor={c}"),
            None => base.clone(),
        };
        let page = get(agent, daemon, &query)?;
        points += page.items.len();
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    Ok((start.elapsed().as_secs_f64() * 1e3, points))
}

/// Latencies (ms) of `requests` one-hour queries at pseudo-random hours of the day.
fn hour_queries(daemon: &Daemon, seed: u64, requests: usize) -> Result<Vec<f64>, String> {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build();
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut out = Vec::with_capacity(requests);
    for _ in 0..requests {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let hour = ((x >> 33) % 23) as i64;
        let from = T0 + hour * 3_600_000;
        let start = Instant::now();
        let page = get(
            &agent,
            daemon,
            &format!(
                "device=day&metric=t&from={from}&to={}&limit=10000",
                from + 3_600_000
            ),
        )?;
        out.push(start.elapsed().as_secs_f64() * 1e3);
        if page.items.len() != 3600 {
            return Err(format!(
                "an hour query returned {} points",
                page.items.len()
            ));
        }
    }
    Ok(out)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// (p50, p99, queries/s) of `clients` threads running `requests` queries each.
fn concurrent(daemon: &Daemon, clients: usize, requests: usize) -> Result<(f64, f64, f64), String> {
    let start = Instant::now();
    let all: Vec<Result<Vec<f64>, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|c| s.spawn(move || hour_queries(daemon, c as u64 + 1, requests)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let secs = start.elapsed().as_secs_f64();
    let mut lat = Vec::new();
    for r in all {
        lat.extend(r?);
    }
    lat.sort_by(f64::total_cmp);
    Ok((
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat.len() as f64 / secs,
    ))
}

/// The REST rows; `in_process_ms` is the same day query through the store directly.
pub fn bench(
    daemon: &Daemon,
    clients: usize,
    requests: usize,
    in_process_ms: Option<f64>,
) -> Vec<Row> {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(60))
        .build();
    let mut rows = Vec::new();
    let mut days = Vec::new();
    for _ in 0..5 {
        match day_query(&agent, daemon) {
            Ok(d) => days.push(d),
            Err(e) => return vec![Row::skipped("REST day query", e)],
        }
    }
    days.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (ms, points) = days[2];
    let compared = match in_process_ms {
        Some(p) => format!("budget 50 ms; in process {p:.1} ms ({points} points)"),
        None => format!("budget 50 ms ({points} points)"),
    };
    rows.push(Row::vs(
        "REST day query, 86,400 points in 9 pages (median of 5)",
        ms,
        "ms",
        compared,
        ratio(ms, 50.0),
    ));
    let one = concurrent(daemon, 1, requests * 2);
    let many = concurrent(daemon, clients, requests);
    match (one, many) {
        (Ok((p50_1, p99_1, qps_1)), Ok((p50, p99, qps))) => {
            rows.push(Row::plain(
                "REST one-hour query (3,600 points), 1 client, p50",
                p50_1,
                "ms",
            ));
            rows.push(Row::plain(
                "REST one-hour query, 1 client, p99",
                p99_1,
                "ms",
            ));
            rows.push(Row::vs(
                format!("REST one-hour query, {clients} concurrent clients, p50"),
                p50,
                "ms",
                format!("1 client p50 {p50_1:.1} ms"),
                ratio(p50, p50_1),
            ));
            rows.push(Row::vs(
                format!("REST one-hour query, {clients} concurrent clients, p99"),
                p99,
                "ms",
                format!("1 client p99 {p99_1:.1} ms"),
                ratio(p99, p99_1),
            ));
            rows.push(Row::vs(
                format!("REST one-hour queries served, {clients} concurrent clients"),
                qps,
                "queries/s",
                format!("1 client {qps_1:.0}/s"),
                ratio(qps, qps_1),
            ));
        }
        (Err(e), _) | (_, Err(e)) => rows.push(Row::skipped("REST concurrent queries", e)),
    }
    rows
}
