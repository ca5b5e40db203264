//! The ticker: advances the game clock every [`TICK_INTERVAL`] and publishes the scoreboard
//! when something visible changed.

use std::sync::atomic::Ordering;

use tokio::time::MissedTickBehavior;

use crate::limits::TICK_INTERVAL;
use crate::state::AppState;

/// Runs until shutdown.
pub async fn run(state: AppState) {
    let mut interval = tokio::time::interval(TICK_INTERVAL);
    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
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
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!("breakathon: the game clock could not advance: {error}"),
            Err(error) => eprintln!("breakathon: the game clock task failed: {error}"),
        }
    }
}
