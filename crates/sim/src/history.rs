//! Bounded metric history: every tick for the recent past, downsampled averages beyond, so a
//! world's memory does not grow with the length of the game.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::telemetry::MetricPoint;

/// Points kept at full resolution (one per tick).
pub const RECENT_POINTS: usize = 600;
/// Ticks averaged into one downsampled point.
pub const DOWNSAMPLE_TICKS: u64 = 60;
/// Downsampled points kept.
pub const OLD_POINTS: usize = 1_440;

/// The history of one service.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceHistory {
    /// Recent points, oldest first.
    pub recent: VecDeque<MetricPoint>,
    /// Downsampled points, oldest first.
    pub old: VecDeque<MetricPoint>,
    /// Sum of the window being downsampled.
    pub acc: MetricPoint,
    /// Points in `acc`.
    pub acc_count: u32,
}

impl ServiceHistory {
    /// Records a point.
    pub fn push(&mut self, point: MetricPoint) {
        if self.recent.len() >= RECENT_POINTS
            && let Some(evicted) = self.recent.pop_front()
        {
            self.fold(evicted);
        }
        self.recent.push_back(point);
    }

    fn fold(&mut self, p: MetricPoint) {
        if self.acc_count > 0 && p.tick / DOWNSAMPLE_TICKS != self.acc.tick / DOWNSAMPLE_TICKS {
            self.flush();
        }
        if self.acc_count == 0 {
            self.acc = MetricPoint {
                tick: p.tick / DOWNSAMPLE_TICKS * DOWNSAMPLE_TICKS,
                ..MetricPoint::default()
            };
        }
        let a = &mut self.acc;
        a.rps += p.rps;
        a.error_percent += p.error_percent;
        a.latency_p50_ms += p.latency_p50_ms;
        a.latency_p99_ms += p.latency_p99_ms;
        a.cpu_percent += p.cpu_percent;
        a.memory_percent += p.memory_percent;
        a.disk_percent += p.disk_percent;
        a.connections_percent += p.connections_percent;
        a.saturation_percent += p.saturation_percent;
        a.healthy_percent += p.healthy_percent;
        self.acc_count += 1;
    }

    fn flush(&mut self) {
        let n = f64::from(self.acc_count.max(1));
        let a = self.acc;
        let avg = MetricPoint {
            tick: a.tick,
            rps: a.rps / n,
            error_percent: a.error_percent / n,
            latency_p50_ms: a.latency_p50_ms / n,
            latency_p99_ms: a.latency_p99_ms / n,
            cpu_percent: a.cpu_percent / n,
            memory_percent: a.memory_percent / n,
            disk_percent: a.disk_percent / n,
            connections_percent: a.connections_percent / n,
            saturation_percent: a.saturation_percent / n,
            healthy_percent: a.healthy_percent / n,
        };
        if self.old.len() >= OLD_POINTS {
            self.old.pop_front();
        }
        self.old.push_back(avg);
        self.acc_count = 0;
    }

    /// Points from `since_tick` on, oldest first (downsampled ones first).
    pub fn since(&self, since_tick: u64) -> Vec<MetricPoint> {
        self.old
            .iter()
            .filter(|p| p.tick + DOWNSAMPLE_TICKS > since_tick)
            .chain(self.recent.iter().filter(|p| p.tick >= since_tick))
            .copied()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_is_bounded_and_downsamples() {
        let mut h = ServiceHistory::default();
        let total = RECENT_POINTS as u64 + DOWNSAMPLE_TICKS * (OLD_POINTS as u64 + 10);
        for tick in 0..total {
            h.push(MetricPoint {
                tick,
                rps: tick as f64,
                ..MetricPoint::default()
            });
        }
        assert_eq!(h.recent.len(), RECENT_POINTS);
        assert_eq!(h.old.len(), OLD_POINTS);
        // A downsampled point is the mean of its window.
        let p = h.old.back().copied().unwrap_or_default();
        let first = p.tick as f64;
        let expected = first + (DOWNSAMPLE_TICKS as f64 - 1.0) / 2.0;
        assert!((p.rps - expected).abs() < 1e-9, "{} vs {expected}", p.rps);
        assert_eq!(h.since(total - 10).len(), 10);
    }
}
