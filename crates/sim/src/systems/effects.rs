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
    faults::reset_effects(fleet, sc.fx_struck.as_deref(), sc.fx_services.as_deref());
    let mut struck = sc.fx_struck.take().unwrap_or_default();
    struck.clear();
    let mut touched = sc.fx_services.take().unwrap_or_default();
    touched.clear();
    let mut known = true;
    let mut known_services = true;
    for (status, rt) in incidents.statuses.iter().zip(&incidents.runtime) {
        // (A fault with no effect after its injection, a crash or clock skew, needs nothing
        // here: it strikes nothing and sets nothing.)
        if status.active && faults::has_tick_effects(rt) {
            known &= faults::struck_instances(fleet, rt, &mut struck);
            known_services &= faults::touched_services(rt, &mut touched);
            faults::apply(fleet, model, rt, status, clock.tick);
        }
    }
    debug_assert!(
        !known_services
            || fleet.services.iter().enumerate().all(|(s, svc)| {
                svc.fx == faults::neutral_service_effects() || touched.contains(&(s as u32))
            }),
        "an incident set the effects of a service it does not touch"
    );
    sc.fx_services = known_services.then_some(touched);
    debug_assert!(
        !known
            || fleet.instances.iter().enumerate().all(|(id, inst)| {
                inst.fx == InstanceEffects::default() || struck.contains(&(id as u32))
            }),
        "an incident set the effects of an instance it does not strike"
    );
    sc.fx_struck = known.then_some(struck);
}
