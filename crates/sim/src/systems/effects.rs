//! Stage 3: fault effects. Every tick the per-tick effect fields are reset to neutral and each
//! active incident writes its parameters (capacity, latency, error share, loss, reachability,
//! quota...) into them.

use bevy_ecs::prelude::*;

use crate::faults::{self, Incidents};
use crate::model::Model;
use crate::state::{Clock, Fleet};

/// The fault-effects system.
pub fn fault_effects(
    model: Res<Model>,
    clock: Res<Clock>,
    mut fleet: ResMut<Fleet>,
    incidents: Res<Incidents>,
) {
    faults::reset_effects(&mut fleet);
    for (status, rt) in incidents.statuses.iter().zip(&incidents.runtime) {
        if status.active {
            faults::apply(&mut fleet, &model, rt, status, clock.tick);
        }
    }
}
