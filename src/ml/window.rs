//! Sliding windows of one model section: per device, rows of the section's metrics, and when
//! a window is due.
//!
//! A row is paced by the first metric: each reading of it opens a row holding the latest
//! value of every metric; readings of the other metrics with the same timestamp (one message
//! carries them together) complete that row. A row is closed by the next reading of the first
//! metric or by the end of the committed batch, which never splits a message. Rows before
//! every metric has been seen once are skipped. After the window first fills, a window is
//! ready every `hop` rows.

use crate::model::Reading;
use std::collections::{HashMap, VecDeque};

/// Devices one model keeps windows for; readings of further devices are refused (counted).
pub const MAX_DEVICES_PER_MODEL: usize = 1024;

/// A window due for inference.
#[derive(Debug, Clone, PartialEq)]
pub struct Ready {
    pub device: String,
    /// Timestamp of the newest row: the derived reading's timestamp.
    pub ts_ms: i64,
    /// Rows oldest first, each in metric order.
    pub input: Vec<f32>,
}

/// What one reading did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offered {
    /// Not for this model (other device or metric).
    Ignored,
    Taken,
    /// A new device beyond [`MAX_DEVICES_PER_MODEL`].
    Refused,
}

pub struct Windows {
    device: Option<String>,
    metrics: Vec<String>,
    window: usize,
    hop: usize,
    per_device: HashMap<String, DeviceWindow>,
}

struct DeviceWindow {
    latest: Vec<Option<f32>>,
    /// The row being assembled: its timestamp; its values are `latest`.
    open_row: Option<i64>,
    rows: VecDeque<f32>,
    rows_since_ready: usize,
}

impl Windows {
    /// `device` `None` keeps one window per device.
    pub fn new(device: Option<String>, metrics: Vec<String>, window: usize, hop: usize) -> Self {
        Windows {
            device,
            metrics,
            window: window.max(1),
            hop: hop.max(1),
            per_device: HashMap::new(),
        }
    }

    /// Values per window (window x metrics).
    pub fn input_len(&self) -> usize {
        self.window * self.metrics.len()
    }

    /// Takes one committed reading; a window that becomes due is pushed to `ready`.
    pub fn offer(&mut self, reading: &Reading, ready: &mut Vec<Ready>) -> Offered {
        if self.device.as_ref().is_some_and(|d| *d != reading.device) {
            return Offered::Ignored;
        }
        let Some(column) = self.metrics.iter().position(|m| *m == reading.metric) else {
            return Offered::Ignored;
        };
        if !self.per_device.contains_key(&reading.device) {
            if self.per_device.len() >= MAX_DEVICES_PER_MODEL {
                return Offered::Refused;
            }
            self.per_device.insert(
                reading.device.clone(),
                DeviceWindow {
                    latest: vec![None; self.metrics.len()],
                    open_row: None,
                    rows: VecDeque::with_capacity(self.input_len()),
                    rows_since_ready: 0,
                },
            );
        }
        let (window, hop, width) = (self.window, self.hop, self.metrics.len());
        let Some(dev) = self.per_device.get_mut(&reading.device) else {
            return Offered::Ignored;
        };
        if column == 0 {
            if let Some(ts) = dev.open_row.take() {
                dev.close_row(&reading.device, ts, window, hop, width, ready);
            }
            dev.open_row = Some(reading.ts_ms);
        } else if dev.open_row.is_some_and(|ts| ts != reading.ts_ms) {
            // A later reading of another metric: the open row is complete.
            if let Some(ts) = dev.open_row.take() {
                dev.close_row(&reading.device, ts, window, hop, width, ready);
            }
        }
        dev.latest[column] = Some(reading.value as f32);
        Offered::Taken
    }

    /// Closes every open row (call at the end of each committed batch).
    pub fn flush(&mut self, ready: &mut Vec<Ready>) {
        let (window, hop, width) = (self.window, self.hop, self.metrics.len());
        for (device, dev) in &mut self.per_device {
            if let Some(ts) = dev.open_row.take() {
                dev.close_row(device, ts, window, hop, width, ready);
            }
        }
    }
}

impl DeviceWindow {
    fn close_row(
        &mut self,
        device: &str,
        ts_ms: i64,
        window: usize,
        hop: usize,
        width: usize,
        ready: &mut Vec<Ready>,
    ) {
        if self.latest.iter().any(Option::is_none) {
            return;
        }
        if self.rows.len() == window * width {
            self.rows.drain(..width);
        }
        self.rows.extend(self.latest.iter().flatten());
        self.rows_since_ready += 1;
        if self.rows.len() == window * width && self.rows_since_ready >= hop {
            self.rows_since_ready = 0;
            ready.push(Ready {
                device: device.to_owned(),
                ts_ms,
                input: self.rows.iter().copied().collect(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(device: &str, metric: &str, ts_ms: i64, value: f64) -> Reading {
        Reading {
            device: device.into(),
            metric: metric.into(),
            ts_ms,
            value,
        }
    }

    fn feed(w: &mut Windows, readings: &[Reading]) -> Vec<Ready> {
        let mut ready = Vec::new();
        for r in readings {
            w.offer(r, &mut ready);
        }
        w.flush(&mut ready);
        ready
    }

    #[test]
    fn a_window_is_ready_once_full_and_then_every_hop_rows() {
        let mut w = Windows::new(Some("d".into()), vec!["t".into()], 4, 2);
        let mut out = Vec::new();
        for i in 0..9 {
            out.extend(feed(&mut w, &[reading("d", "t", i, i as f64)]));
        }
        let got: Vec<_> = out.iter().map(|r| (r.ts_ms, r.input.clone())).collect();
        assert_eq!(
            got,
            vec![
                (3, vec![0.0, 1.0, 2.0, 3.0]),
                (5, vec![2.0, 3.0, 4.0, 5.0]),
                (7, vec![4.0, 5.0, 6.0, 7.0]),
            ]
        );
    }

    #[test]
    fn rows_join_the_metrics_of_one_message_in_column_order() {
        let mut w = Windows::new(None, vec!["t".into(), "h".into()], 2, 1);
        // The humidity of a message may come before or after its temperature.
        let ready = feed(
            &mut w,
            &[
                reading("d", "h", 1, 50.0),
                reading("d", "t", 1, 20.0),
                reading("d", "t", 2, 21.0),
                reading("d", "h", 2, 55.0),
            ],
        );
        assert_eq!(ready.len(), 1);
        assert_eq!(ready[0].input, vec![20.0, 50.0, 21.0, 55.0]);
        assert_eq!(ready[0].ts_ms, 2);
    }

    #[test]
    fn each_device_has_its_own_window_and_other_devices_and_metrics_are_ignored() {
        let mut w = Windows::new(None, vec!["t".into()], 2, 1);
        let ready = feed(
            &mut w,
            &[
                reading("a", "t", 1, 1.0),
                reading("b", "t", 1, 10.0),
                reading("a", "t.anomaly", 1, 99.0),
                reading("a", "t", 2, 2.0),
                reading("b", "t", 2, 20.0),
            ],
        );
        let mut got: Vec<_> = ready
            .iter()
            .map(|r| (r.device.as_str(), r.input.clone()))
            .collect();
        got.sort_by(|x, y| x.0.cmp(y.0));
        assert_eq!(got, vec![("a", vec![1.0, 2.0]), ("b", vec![10.0, 20.0])]);

        let mut only_a = Windows::new(Some("a".into()), vec!["t".into()], 1, 1);
        let mut sink = Vec::new();
        assert_eq!(
            only_a.offer(&reading("b", "t", 1, 1.0), &mut sink),
            Offered::Ignored
        );
    }

    #[test]
    fn devices_beyond_the_cap_are_refused() {
        let mut w = Windows::new(None, vec!["t".into()], 2, 1);
        let mut sink = Vec::new();
        for i in 0..MAX_DEVICES_PER_MODEL {
            assert_eq!(
                w.offer(&reading(&format!("d{i}"), "t", 1, 0.0), &mut sink),
                Offered::Taken
            );
        }
        assert_eq!(
            w.offer(&reading("one-more", "t", 1, 0.0), &mut sink),
            Offered::Refused
        );
        assert_eq!(
            w.offer(&reading("d0", "t", 2, 0.0), &mut sink),
            Offered::Taken
        );
    }
}
