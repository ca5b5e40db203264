//! The state of each incident in one team's world.

use breakathon_scenario::{ActionKind, FaultClass};
use serde::{Deserialize, Serialize};

use crate::schedule::{IncidentId, RootTarget};

/// One incident (one firing of one fault) as it stands in this world.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncidentStatus {
    /// Its id (shared by every team for scheduled incidents).
    pub id: IncidentId,
    /// Index of its fault entry in `scenario.faults`.
    pub fault_index: usize,
    /// The class a team declares.
    pub class: FaultClass,
    /// The root-cause target a team declares.
    pub root: RootTarget,
    /// Tick it was injected.
    pub inject_tick: u64,
    /// Whether the fault is still in effect (its cause is present).
    pub active: bool,
    /// First tick a resolving action (per the fault's remedy list) took effect on the root target.
    pub resolved_tick: Option<u64>,
    /// Tick the fault expired by itself (its duration ran out) before being resolved.
    pub ended_tick: Option<u64>,
    /// This tick: the root target's health checks and the fault's own symptom check pass.
    pub healthy: bool,
    /// First customer complaint filed while this incident was hurting.
    pub first_complaint_tick: Option<u64>,
    /// Mitigating actions seen (tick they took effect, kind).
    pub mitigations: Vec<(u64, ActionKind)>,
    /// Worsening actions seen (tick they took effect, kind).
    pub worsenings: Vec<(u64, ActionKind)>,
}

impl IncidentStatus {
    /// Incident `id` (of fault entry `fault_index`, of `class`, rooted at `root`) as it stands
    /// when injected at `inject_tick`: active, unresolved, not yet healthy, nothing seen.
    pub fn injected(
        id: IncidentId,
        fault_index: usize,
        class: FaultClass,
        root: RootTarget,
        inject_tick: u64,
    ) -> IncidentStatus {
        IncidentStatus {
            id,
            fault_index,
            class,
            root,
            inject_tick,
            active: true,
            resolved_tick: None,
            ended_tick: None,
            healthy: false,
            first_complaint_tick: None,
            mitigations: Vec::new(),
            worsenings: Vec::new(),
        }
    }
}
