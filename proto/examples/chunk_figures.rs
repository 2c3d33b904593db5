//! Bytes per point and throughput of the chunk codec on a realistic mixed workload: 20 devices
//! (10 reporting every 60 s, 10 every 10 s, each timestamp jittered by up to +-800 ms), each with
//! five series: temperature at 0.1 degree, humidity at 0.5 %, an integer battery level that
//! rarely changes, a noisy integer RSSI and a power reading with 2 decimals. 100 series of
//! 1,920 points, cut into chunks of 60, 120, 240 and 480 points; bytes include chunk headers.
//!
//! `cargo run --release -p acs-proto --example chunk_figures`

use std::time::Instant;

use acs_proto::chunk::{self, Point};

const DEVICES: u64 = 20;
const POINTS_PER_SERIES: usize = 1920;
const METRICS: [&str; 5] = ["temperature", "humidity", "battery", "rssi", "power"];
const START_MS: i64 = 1_767_225_600_000;

/// splitmix64: small, deterministic, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[-1, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }

    /// Roughly normal, standard deviation about `sd` (sum of three uniforms).
    fn noise(&mut self, sd: f64) -> f64 {
        (self.unit() + self.unit() + self.unit()) * sd
    }
}

/// A reading as a sensor reports it in text: the `f64` nearest to `round(x * 10^k) / 10^k`.
fn decimal(x: f64, k: i32) -> f64 {
    let p = 10f64.powi(k);
    (x * p).round() / p
}

/// The five series of one device, in the order of [`METRICS`].
fn device_series(device: u64) -> [Vec<Point>; 5] {
    let mut rng = Rng(device.wrapping_mul(0x1234_5678_9abc_def1) ^ 0xacce55);
    let interval_ms = if device < DEVICES / 2 { 60_000 } else { 10_000 };
    let day_ms = 86_400_000.0;
    let phase = rng.unit() * 3.0;
    let (mut battery, mut load, mut drift) = (100.0, 150.0 + rng.unit() * 100.0, 0.0);
    let mut series: [Vec<Point>; 5] = Default::default();
    for i in 0..POINTS_PER_SERIES {
        let ts_ms = START_MS + i as i64 * interval_ms + (rng.unit() * 800.0) as i64;
        let day = (ts_ms - START_MS) as f64 / day_ms * std::f64::consts::TAU + phase;
        drift += rng.noise(0.02);
        if rng.next().is_multiple_of(400) {
            battery -= 1.0;
        }
        load = (load + rng.noise(3.0)).clamp(5.0, 3000.0);
        let values = [
            decimal(21.0 + 3.0 * day.sin() + drift + rng.noise(0.05), 1),
            decimal((45.0 - 10.0 * day.sin() + rng.noise(0.3)) * 2.0, 0) / 2.0,
            battery,
            (-70.0 + rng.noise(3.0)).round(),
            decimal(load + rng.noise(0.5), 2),
        ];
        for (s, value) in series.iter_mut().zip(values) {
            s.push(Point { ts_ms, value });
        }
    }
    series
}

fn main() {
    let all: Vec<(usize, Vec<Point>)> = (0..DEVICES)
        .flat_map(|d| device_series(d).into_iter().enumerate())
        .collect();
    let total_points: usize = all.iter().map(|(_, s)| s.len()).sum();
    println!(
        "{} series, {total_points} points; bytes per point including chunk headers",
        all.len()
    );
    print!("{:>6} {:>7}", "chunk", "all");
    for m in METRICS {
        print!(" {m:>11}");
    }
    println!(" {:>14} {:>14}", "encode pts/s", "decode pts/s");

    let mut buf = vec![0u8; chunk::max_encoded_len(480)];
    for size in [60, 120, 240, 480] {
        let mut bytes = [0usize; 5];
        let mut points = [0usize; 5];
        let mut chunks: Vec<Vec<u8>> = Vec::new();
        for (metric, series) in &all {
            for part in series.chunks(size) {
                let len = chunk::encode(part, &mut buf).expect("encodes");
                bytes[*metric] += len;
                points[*metric] += part.len();
                chunks.push(buf[..len].to_vec());
            }
        }
        // Throughput: the best of five rounds over all series.
        let encode_s = best_of_5(|| {
            for (_, series) in &all {
                for part in series.chunks(size) {
                    std::hint::black_box(chunk::encode(part, &mut buf).expect("encodes"));
                }
            }
        });
        let decode_s = best_of_5(|| {
            let mut decoded = 0usize;
            for bytes in &chunks {
                for point in chunk::decode(bytes).expect("header") {
                    std::hint::black_box(point.expect("decodes"));
                    decoded += 1;
                }
            }
            assert_eq!(decoded, total_points);
        });

        let all_bytes: usize = bytes.iter().sum();
        print!("{size:>6} {:>7.3}", all_bytes as f64 / total_points as f64);
        for m in 0..METRICS.len() {
            print!(" {:>11.3}", bytes[m] as f64 / points[m] as f64);
        }
        println!(
            " {:>14.0} {:>14.0}",
            total_points as f64 / encode_s,
            total_points as f64 / decode_s
        );
    }
}

/// The shortest of five runs of `round`, in seconds.
fn best_of_5(mut round: impl FnMut()) -> f64 {
    (0..5)
        .map(|_| {
            let started = Instant::now();
            round();
            started.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}
