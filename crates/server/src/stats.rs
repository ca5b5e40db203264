//! Health counters of the server itself, exposed on `GET /metrics`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the latency histogram buckets.
pub const LATENCY_BUCKETS_S: [f64; 10] = [
    0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.1, 1.0,
];

/// A lock-free latency histogram with the buckets of [`LATENCY_BUCKETS_S`].
#[derive(Debug, Default)]
pub struct LatencyHistogram {
    count: AtomicU64,
    sum_ns: AtomicU64,
    buckets: [AtomicU64; LATENCY_BUCKETS_S.len()],
}

impl LatencyHistogram {
    /// Records one observation.
    pub fn record(&self, latency: Duration) {
        let seconds = latency.as_secs_f64();
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(
            u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        for (bound, bucket) in LATENCY_BUCKETS_S.iter().zip(&self.buckets) {
            if seconds <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Observations recorded, their sum in seconds and the cumulative bucket counts.
    pub fn snapshot(&self) -> (u64, f64, Vec<(f64, u64)>) {
        let buckets = LATENCY_BUCKETS_S
            .iter()
            .zip(&self.buckets)
            .map(|(bound, count)| (*bound, count.load(Ordering::Relaxed)))
            .collect();
        (
            self.count.load(Ordering::Relaxed),
            self.sum_ns.load(Ordering::Relaxed) as f64 / 1e9,
            buckets,
        )
    }
}

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
    /// Scoreboard encodings published (each one is shared by every stream client).
    pub boards_published: AtomicU64,
    /// Game commands, journal append included (the game lock held).
    pub commands: LatencyHistogram,
    /// Time spent waiting for the game lock (commands, reads and the ticker).
    pub lock_wait: LatencyHistogram,
    /// Time spent encoding and publishing changed scoreboards (outside the game lock).
    pub publish: LatencyHistogram,
}

impl ServerStats {
    /// Records one game command (which includes its journal append).
    pub fn record_command(&self, latency: Duration) {
        self.commands.record(latency);
    }

    /// Commands recorded, their total latency in seconds and the cumulative bucket counts.
    pub fn command_latency(&self) -> (u64, f64, Vec<(f64, u64)>) {
        self.commands.snapshot()
    }
}
