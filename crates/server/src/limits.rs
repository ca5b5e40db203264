//! Every limit of the HTTP layer as a named constant, and the per-principal write rate
//! limiter.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// Largest accepted request body (JSON commands are small).
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Longest time a request route may take before it answers 503 (not applied to streams).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest a request waits for the game (its lock, or a tick under way to complete) before
/// it is refused with 503 `busy` — and then nothing was applied. Well below
/// [`REQUEST_TIMEOUT`], so that a command is either applied and answered, or refused.
pub const MAX_GAME_WAIT: Duration = Duration::from_secs(4);
const _: () = assert!(MAX_GAME_WAIT.as_millis() * 2 <= REQUEST_TIMEOUT.as_millis());
/// Least time between two log lines about the same failure of the game clock (a failing
/// journal would otherwise be reported at every tick of the ticker, onto a full disk).
pub const CLOCK_ERROR_LOG_INTERVAL: Duration = Duration::from_secs(60);
/// Writes a token may burst before it is throttled.
pub const WRITE_BURST: u32 = 30;
/// Writes per second a token may sustain.
pub const WRITES_PER_SECOND: u32 = 10;
/// Most distinct tokens the rate limiter tracks before it forgets idle ones.
pub const MAX_TRACKED_TOKENS: usize = 10_000;
/// Longest announcement or notification message, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 2_000;
/// Longest team name, in characters.
pub const MAX_TEAM_NAME_CHARS: usize = 64;
/// Most log lines returned by one request.
pub const MAX_LOG_LINES: usize = 500;
/// Interval of the ticker that advances the game clock.
pub const TICK_INTERVAL: Duration = Duration::from_millis(100);
/// Interval of SSE keep-alive comments.
pub const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(15);
/// Most events sent to a team stream in one batch.
pub const MAX_TEAM_EVENTS_PER_BATCH: usize = 1_000;

/// Settings of the token bucket (tests and `serve` may loosen them).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Bucket size: writes allowed at once.
    pub burst: u32,
    /// Refill rate in writes per second.
    pub per_second: f64,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            burst: WRITE_BURST,
            per_second: f64::from(WRITES_PER_SECOND),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated_ms: u64,
}

/// A token bucket per principal (organizer, judge, each team), for write requests.
#[derive(Debug)]
pub struct RateLimiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// A limiter with the given settings.
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one write from `key`'s bucket at time `now_ms`; false when it is empty.
    pub fn try_acquire(&self, key: &str, now_ms: u64) -> bool {
        let mut buckets = match self.buckets.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let burst = f64::from(self.limit.burst);
        if buckets.len() >= MAX_TRACKED_TOKENS && !buckets.contains_key(key) {
            // Forget buckets that have refilled completely: they carry no information.
            let per_second = self.limit.per_second;
            buckets.retain(|_, bucket| {
                let refill = now_ms.saturating_sub(bucket.updated_ms) as f64 / 1000.0 * per_second;
                bucket.tokens + refill < burst
            });
            if buckets.len() >= MAX_TRACKED_TOKENS {
                return false;
            }
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: burst,
            updated_ms: now_ms,
        });
        let elapsed_s = now_ms.saturating_sub(bucket.updated_ms) as f64 / 1000.0;
        bucket.tokens = (bucket.tokens + elapsed_s * self.limit.per_second).min(burst);
        bucket.updated_ms = now_ms;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_refills_with_time() {
        let limiter = RateLimiter::new(RateLimit {
            burst: 3,
            per_second: 2.0,
        });
        assert!((0..3).all(|_| limiter.try_acquire("a", 0)));
        assert!(!limiter.try_acquire("a", 0));
        // Another token has its own bucket.
        assert!(limiter.try_acquire("b", 0));
        // Half a second refills one write at 2/s.
        assert!(limiter.try_acquire("a", 500));
        assert!(!limiter.try_acquire("a", 500));
    }
}
