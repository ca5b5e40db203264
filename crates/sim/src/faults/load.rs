//! Load faults: retry storm (a burst plus aggressive client retries that outlive it) and
//! traffic spike (the celebrity effect: more customers, nothing broken).

use breakathon_scenario::FaultKind;

use super::IncidentRuntime;
use crate::model::{Model, STORM_RETRY_SHARE};
use crate::state::Fleet;

/// Effects this tick.
pub fn apply(fleet: &mut Fleet, model: &Model, rt: &IncidentRuntime, inject_tick: u64, tick: u64) {
    let Some(s) = rt.service else { return };
    let elapsed = tick.saturating_sub(inject_tick);
    let fx = &mut fleet.services[s as usize].fx;
    match &rt.kind {
        FaultKind::RetryStorm { factor, burst } => {
            if elapsed < burst.to_ticks(model.scenario.tick) {
                fx.load_factor *= factor.max(0.0);
            }
            fx.storm_retry_share = fx.storm_retry_share.max(STORM_RETRY_SHARE);
        }
        FaultKind::TrafficSpike { factor, ramp } => {
            let ramp_ticks = ramp.to_ticks(model.scenario.tick);
            let progress = if ramp_ticks == 0 {
                1.0
            } else {
                (elapsed as f64 / ramp_ticks as f64).min(1.0)
            };
            fx.load_factor *= 1.0 + (factor.max(0.0) - 1.0) * progress;
        }
        _ => {}
    }
}
