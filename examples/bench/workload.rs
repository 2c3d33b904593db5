//! A realistic mixed sensor workload: 20 devices x 5 metrics = 100 series.
//! Every device reports all five metrics in one JSON message: half of them every 60 s, half
//! every 10 s, each report up to 800 ms early or late. Temperature moves in 0.1 degree steps,
//! humidity in 0.5 % steps, the battery level is an integer that drops by one now and then,
//! RSSI is a noisy integer, power has two decimals. Deterministic: the same seed, the same
//! messages.

/// Devices in the workload; the first half report every 60 s, the rest every 10 s.
pub const DEVICES: u64 = 20;
pub const METRICS: u64 = 5;
/// 2026-01-01T00:00:00Z.
pub const T0: i64 = 1_767_225_600_000;

/// A small deterministic generator (PCG-style LCG, upper bits).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(6364136223846793005).wrapping_add(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    /// Uniform in `-span..=span`.
    pub fn jitter(&mut self, span: i64) -> i64 {
        (self.next() % (2 * span as u64 + 1)) as i64 - span
    }
}

/// One device's slowly changing state.
struct Sensor {
    period_ms: i64,
    next_tick: i64,
    temperature_dc: i64,
    humidity_half: i64,
    battery: i64,
    power_cw: i64,
}

/// The workload's messages in time order: `(topic, JSON payload)`, 5 readings each.
pub struct Workload {
    rng: Rng,
    sensors: Vec<Sensor>,
}

impl Workload {
    pub fn new(seed: u64) -> Workload {
        let mut rng = Rng::new(seed);
        let sensors = (0..DEVICES)
            .map(|d| Sensor {
                period_ms: if d < DEVICES / 2 { 60_000 } else { 10_000 },
                next_tick: T0 + (rng.next() % 10_000) as i64,
                temperature_dc: 180 + (rng.next() % 60) as i64,
                humidity_half: 80 + (rng.next() % 40) as i64,
                battery: 100 - (rng.next() % 20) as i64,
                power_cw: 1_000 + (rng.next() % 5_000) as i64,
            })
            .collect();
        Workload { rng, sensors }
    }
}

impl Iterator for Workload {
    type Item = (String, String);

    fn next(&mut self) -> Option<(String, String)> {
        let (d, _) = self
            .sensors
            .iter()
            .enumerate()
            .min_by_key(|(_, s)| s.next_tick)?;
        let rng = &mut self.rng;
        let s = &mut self.sensors[d];
        let ts = s.next_tick + rng.jitter(800);
        s.next_tick += s.period_ms;
        s.temperature_dc += rng.jitter(1);
        s.humidity_half = (s.humidity_half + rng.jitter(1)).clamp(0, 200);
        if rng.next().is_multiple_of(500) {
            s.battery = (s.battery - 1).max(0);
        }
        s.power_cw = (s.power_cw + rng.jitter(40)).max(0);
        let rssi = -70 + rng.jitter(6);
        let payload = format!(
            "{{\"ts\":{ts},\"temperature\":{:.1},\"humidity\":{:.1},\"battery\":{},\"rssi\":{rssi},\"power\":{:.2}}}",
            s.temperature_dc as f64 / 10.0,
            s.humidity_half as f64 / 2.0,
            s.battery,
            s.power_cw as f64 / 100.0,
        );
        Some((format!("acs/mix{d:02}/telemetry"), payload))
    }
}

/// `n` readings of one temperature series every `period_ms` (+-800 ms) from `start`, as JSON
/// arrays of at most 500 readings (one MQTT message each).
pub fn one_series(start: i64, n: u64, period_ms: i64, seed: u64) -> Vec<String> {
    let mut rng = Rng::new(seed);
    let mut temperature_dc = 200i64;
    let points: Vec<String> = (0..n as i64)
        .map(|k| {
            temperature_dc += rng.jitter(1);
            let ts = start + k * period_ms + rng.jitter(800).max(-period_ms / 2);
            format!(
                "{{\"ts\":{ts},\"temperature\":{:.1}}}",
                temperature_dc as f64 / 10.0
            )
        })
        .collect();
    points
        .chunks(500)
        .map(|c| format!("[{}]", c.join(",")))
        .collect()
}
