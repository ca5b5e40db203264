//! Stage 3: fault effects. Every tick the per-tick effect fields are reset to neutral and each
//! active incident writes its parameters (capacity, latency, error share, loss, reachability,
//! quota...) into them.

use crate::faults::{self, Incidents};
use crate::model::Model;
use crate::state::{Clock, Fleet, InstanceEffects};
use crate::systems::Scratch;

/// The fault-effects stage (run by `systems::early_stages`). Only the instances an incident struck last tick can have effects
/// to reset (`Scratch::fx_struck`); before a world's first tick, all of them.
pub fn fault_effects(
    model: &Model,
    clock: &Clock,
    fleet: &mut Fleet,
    incidents: &Incidents,
    sc: &mut Scratch,
) {
    faults::reset_effects(fleet, sc.fx_struck.as_deref());
    let mut struck = sc.fx_struck.take().unwrap_or_default();
    struck.clear();
    let mut known = true;
    for (status, rt) in incidents.statuses.iter().zip(&incidents.runtime) {
        if status.active {
            known &= faults::struck_instances(fleet, rt, &mut struck);
            faults::apply(fleet, model, rt, status, clock.tick);
        }
    }
    debug_assert!(
        !known
            || fleet.instances.iter().enumerate().all(|(id, inst)| {
                inst.fx == InstanceEffects::default() || struck.contains(&(id as u32))
            }),
        "an incident set the effects of an instance it does not strike"
    );
    sc.fx_struck = known.then_some(struck);
}
