//! Health counters of the server itself, exposed on `GET /metrics`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the command latency histogram buckets.
pub const LATENCY_BUCKETS_S: [f64; 10] = [
    0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.1, 1.0,
];

/// Lock-free counters updated by handlers, the ticker and streams.
#[derive(Debug, Default)]
pub struct ServerStats {
    /// HTTP requests answered.
    pub requests: AtomicU64,
    /// Responses with a 4xx or 5xx status.
    pub errors: AtomicU64,
    /// Writes refused by the rate limiter.
    pub rate_limited: AtomicU64,
    /// Ticker rounds run.
    pub pumps: AtomicU64,
    /// Stream clients connected now.
    pub stream_clients: AtomicU64,
    command_count: AtomicU64,
    command_sum_ns: AtomicU64,
    command_buckets: [AtomicU64; LATENCY_BUCKETS_S.len()],
}

impl ServerStats {
    /// Records one game command (which includes its journal append).
    pub fn record_command(&self, latency: Duration) {
        let seconds = latency.as_secs_f64();
        self.command_count.fetch_add(1, Ordering::Relaxed);
        self.command_sum_ns.fetch_add(
            u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        for (bound, bucket) in LATENCY_BUCKETS_S.iter().zip(&self.command_buckets) {
            if seconds <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Commands recorded, their total latency in seconds and the cumulative bucket counts.
    pub fn command_latency(&self) -> (u64, f64, Vec<(f64, u64)>) {
        let buckets = LATENCY_BUCKETS_S
            .iter()
            .zip(&self.command_buckets)
            .map(|(bound, count)| (*bound, count.load(Ordering::Relaxed)))
            .collect();
        (
            self.command_count.load(Ordering::Relaxed),
            self.command_sum_ns.load(Ordering::Relaxed) as f64 / 1e9,
            buckets,
        )
    }
}
