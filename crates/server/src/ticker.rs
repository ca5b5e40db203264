//! The ticker: advances the game clock every [`TICK_INTERVAL`] and publishes the scoreboard
//! when something visible changed.

use std::sync::atomic::Ordering;
use std::time::Instant;

use tokio::time::MissedTickBehavior;

use crate::limits::{CLOCK_ERROR_LOG_INTERVAL, TICK_INTERVAL};
use crate::state::AppState;

/// Runs until shutdown.
pub async fn run(state: AppState) {
    let mut interval = tokio::time::interval(TICK_INTERVAL);
    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut log = ErrorLog::default();
    loop {
        tokio::select! {
            () = state.shutdown().cancelled() => break,
            _ = interval.tick() => {}
        }
        let pump_state = state.clone();
        let outcome = tokio::task::spawn_blocking(move || pump_state.pump_prepared()).await;
        state.stats().pumps.fetch_add(1, Ordering::Relaxed);
        let outcome = outcome.map(|prepared| {
            prepared.and_then(|(result, prepared)| {
                if let Some(prepared) = prepared {
                    // On this worker, so that woken stream tasks queue locally.
                    state.send(prepared);
                }
                result
            })
        });
        let message = match outcome {
            Ok(Ok(())) => None,
            Ok(Err(error)) => Some(format!("the game clock could not advance: {error}")),
            Err(error) => Some(format!("the game clock task failed: {error}")),
        };
        if let Some(line) = log.line(message, Instant::now()) {
            eprintln!("breakathon: {line}");
        }
    }
}

/// Rate limit of the ticker's error log: a failure is logged when it starts, when it changes
/// and then at most once per [`CLOCK_ERROR_LOG_INTERVAL`] (with how often it repeated).
#[derive(Debug, Default)]
struct ErrorLog {
    /// The failure last logged, when it was logged, and how often it recurred since.
    last: Option<(String, Instant, u64)>,
}

impl ErrorLog {
    /// The line to log for this pump's outcome (`None`: success), if any.
    fn line(&mut self, message: Option<String>, now: Instant) -> Option<String> {
        let Some(message) = message else {
            let recovered = self.last.take().map(|(last, _, _)| last);
            return recovered.map(|last| format!("the game clock advances again (after: {last})"));
        };
        match &mut self.last {
            Some((last, logged, repeated)) if *last == message => {
                *repeated += 1;
                if now.duration_since(*logged) < CLOCK_ERROR_LOG_INTERVAL {
                    return None;
                }
                let line = format!("{message} (repeated {repeated} times)");
                *logged = now;
                *repeated = 0;
                Some(line)
            }
            _ => {
                self.last = Some((message.clone(), now, 0));
                Some(message)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_failure_is_logged_once_per_interval() {
        let mut log = ErrorLog::default();
        let start = Instant::now();
        let failure = || Some("journal: database or disk is full".to_owned());
        assert!(log.line(failure(), start).is_some(), "the first time");
        for _ in 0..599 {
            assert_eq!(log.line(failure(), start + TICK_INTERVAL), None);
        }
        let again = log
            .line(failure(), start + CLOCK_ERROR_LOG_INTERVAL)
            .expect("once the interval passed");
        assert!(again.contains("repeated 600 times"), "{again}");
        assert!(
            log.line(
                Some("another failure".into()),
                start + CLOCK_ERROR_LOG_INTERVAL
            )
            .is_some(),
            "a different failure at once"
        );
        assert!(
            log.line(None, start + CLOCK_ERROR_LOG_INTERVAL).is_some(),
            "recovery"
        );
        assert_eq!(log.line(None, start + CLOCK_ERROR_LOG_INTERVAL), None);
    }
}
