//! The tick's systems, one module per stage, run in this fixed order by a single-threaded
//! bevy schedule: fault scheduler → team actions → fault effects → traffic → load (down the
//! call graph) → latency and errors (back up) → resilience → resources → lifecycle →
//! telemetry → customers → clock.

pub mod actions;
pub mod customers;
pub mod effects;
pub mod followers;
pub mod latency;
pub mod lifecycle;
pub mod load;
pub mod resilience;
pub mod resources;
pub mod scheduler;
pub mod setup;
pub mod telemetry;
pub mod traffic;

use bevy_ecs::prelude::*;
use bevy_ecs::schedule::SingleThreadedExecutor;
use serde::{Deserialize, Serialize};

use crate::action::Action;
use crate::faults::Incidents;
use crate::model::Model;
use crate::num::Bound;
use crate::rng::Rngs;
use crate::state::{Clock, Fleet};
use crate::telemetry::{LogLevel, TickReport};

/// Actions submitted and waiting for the next tick, in submission order.
#[derive(Resource, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ActionQueue {
    /// The queue.
    pub pending: Vec<Action>,
}

/// What the telemetry stage records. Its records (metric history, logs, alerts) are read
/// only by the people watching a world: nothing in the simulation reads them back, and log
/// details draw from a random stream of their own, so a world that records less computes the
/// same numbers.
#[derive(Resource, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Recording {
    /// Everything a team sees (the default).
    #[default]
    Everything,
    /// Nothing: a world nobody watches (a dry run's worlds, a game's baseline), which is read
    /// only through its tick reports and incidents. Health probes still run (the load
    /// balancer acts on them).
    Nothing,
}

/// The report of the last tick.
#[derive(Resource, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Report(pub TickReport);

/// Log lines produced by stages other than telemetry this tick (lifecycle events, actions),
/// written out by the telemetry stage unless the service's logging is dark.
#[derive(Resource, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PendingLogs {
    /// (service, instance index, level, message).
    pub lines: Vec<(u32, Option<u32>, LogLevel, String)>,
}

/// Per-tick working buffers, reused every tick (never part of a snapshot).
#[derive(Resource, Clone, Debug, Default)]
pub struct Scratch {
    /// Zones count.
    pub zones: usize,
    /// `[s * zones + z]`: load offered to service `s` in zone `z`, requests/s.
    pub offered: Vec<f64>,
    /// `[s * zones + z]`: share of `s`'s rotation in zone `z`.
    pub share: Vec<f64>,
    /// `[s * zones + z]`: instances in rotation.
    pub count: Vec<u32>,
    /// Per instance: in the load balancer's rotation.
    pub rotation: Vec<bool>,
    /// Per service: requests and calls that never reached one of its instances (expired
    /// certificate, no instance in rotation, connections refused or impossible, unreachable
    /// zone), requests/s.
    pub edge_failed: Vec<f64>,
    /// Per service: first attempts offered to it (customers' new requests and callers' first
    /// calls for them, without any retry), requests/s: the demand revenue can come from.
    pub first_rps: Vec<f64>,
    /// Per service: total connections callers hold to it.
    pub held: Vec<f64>,
    /// Per service: how long its clients wait before giving up, ms.
    pub client_timeout_ms: Vec<f64>,
    /// Per instance: the instance whose results are its own this tick (same service, zone
    /// and state; see `followers`), or `load::NO_LEADER`.
    pub follows: Vec<u32>,
    /// Per instance: the size of its group (itself and its followers) if it leads one, else 1.
    pub group_n: Vec<u32>,
    /// Per service: the load stage's instances of it that compute their own tick (not
    /// followers), in instance order, as its last leader search found them (kept with the
    /// search, see `load::find_leaders`).
    pub own_ids: Vec<Vec<u32>>,
    /// Per instance: success share of its served requests this tick (set by latency).
    pub succ: Vec<f64>,
    /// Per zone: load offered to each instance in rotation of the service being loaded,
    /// requests/s.
    pub zone_rps: Vec<f64>,
    /// Per zone: the first zone with the same CPU steal, packet loss and reachability (this
    /// tick; see `load`).
    pub zone_class: Vec<u32>,
    /// Per zone: the first zone that looks the same to an instance of the service being
    /// loaded (same zone class, same load per instance; see `load`).
    pub zone_key: Vec<u32>,
    /// Per service: the share of calls to it that no zone takes (1 minus the sum of its
    /// positive zone shares, at least 0; see `load`).
    pub unrouted: Vec<f64>,
    /// The service count, then per call edge (the services' dependencies in order) the bits
    /// of the timeout `client_timeout_ms` was last computed from (see `load`).
    pub timeout_bits: Vec<u64>,
    /// Per service: the resources stage's constants.
    pub resource_factors: Vec<resources::Factors>,
    /// The instance count for which the resources stage last found whether the instance
    /// ids are grouped by service in service order, and its answer (`resources`).
    pub by_service: Option<(usize, bool)>,
    /// The instances whose fault effects the last fault-effects stage may have set (ids,
    /// possibly repeated); `None` when it could not tell, or before the first tick.
    pub fx_struck: Option<Vec<u32>>,
    /// The services whose fault effects the last fault-effects stage may have set (indices,
    /// possibly repeated); `None` when it could not tell, or before the first tick.
    pub fx_services: Option<Vec<u32>>,
    /// Per instance: it may have fault effects this tick (see `fx_struck`; set by `load`).
    pub fx_maybe: Vec<bool>,
    /// Per service: one of its instances may have fault effects this tick (`fx_maybe`; set
    /// by `load`, read by `resources`).
    pub svc_fx_maybe: Vec<bool>,
    /// Per zone: the smallest zone with the same reachability row.
    pub reach_class: Vec<u32>,
    /// `[c * ZONE_MEMO_SLOTS + k]`: calls to service `c` memoised this tick.
    pub zone_memo: Vec<latency::ZoneMemo>,
    /// The latency stage's calls so far: a `zone_memo` slot written in an earlier one is
    /// free (nothing is cleared between ticks).
    pub zone_memo_round: u64,
    /// Per dependency of the service being computed: (calls, failed calls, latency × calls),
    /// summed over its instances.
    pub dep_sums: Vec<[f64; 3]>,
    /// `[k * zones + z]`: followers in zone `z` of the `k`-th leader with followers of the
    /// service being computed.
    pub group_zone_n: Vec<u32>,
    /// Per zone: sums of the service being computed by the latency stage.
    pub zone_acc: Vec<latency::ZoneAcc>,
    /// `[s * zones + z]`: what callers see of service `s` in zone `z` (set by latency).
    pub zone_rows: Vec<latency::ZoneRow>,
    /// Per service: what calls without packet loss that reach all of its zones and time
    /// none of them out see of it (set by latency with its rows).
    pub call_sums: Vec<latency::CallSum>,
    /// The instances the lifecycle stage has work for this tick (`lifecycle::due`), in id
    /// order, found by the resources stage (`lifecycle::find_due`); `life_due_tick` is the
    /// tick they were found for (`None`: the lifecycle stage scans every instance itself).
    pub life_due: Vec<u32>,
    /// The tick of `life_due`.
    pub life_due_tick: Option<u64>,
    /// Per service: its last leader search found at most one leader, and (once `load` folded
    /// in `ServiceState::rotation_kept` and the instances struck by an incident) nothing it
    /// depends on changed since and no instance may have fault effects (see
    /// `load::find_leaders`).
    pub search_kept: Vec<bool>,
    /// `[s * zones + z]`: the zone keys of service `s`'s last leader search (see `load`).
    pub last_zone_key: Vec<u32>,
    /// Per service: its rotation has as many instances in every zone and every zone reaches
    /// every zone this tick, so each of its `share`/`offered` rows (and the load stage's
    /// `zone_rps`) holds one value, bit for bit (set by `load`; read by latency). The load
    /// stage keeps that value of its `offered` row in the row's first zone only.
    pub uniform: Vec<bool>,
    /// Whether every zone reached every zone when `uniform` was last computed (`None`: never
    /// computed); `load` keeps `uniform` while this holds and no rotation changed.
    pub uniform_reach: Option<bool>,
    /// No service's call-edge timeouts were written since the last load stage
    /// (`ServiceState::timeouts_kept`, folded over the services by `load`).
    pub timeouts_kept: bool,
}

impl Scratch {
    /// Sets `reach_class`: zones with the same reachability row (`reach[z * zones + y]`)
    /// share a class, the smallest such zone (the usual case: all of them share one).
    pub fn classify_reach(&mut self, reach: &[bool], zones: usize) {
        self.reach_class.clear();
        for z in 0..zones {
            let row = &reach[z * zones..(z + 1) * zones];
            let class = (0..z)
                .find(|&y| reach[y * zones..(y + 1) * zones] == *row)
                .unwrap_or(z);
            self.reach_class.push(class as u32);
        }
    }

    /// Resizes every buffer for `services` services, `zones` zones, `instances` instances.
    pub fn fit(&mut self, services: usize, zones: usize, instances: usize) {
        self.zones = zones;
        let n = services * zones;
        self.offered.resize(n, 0.0);
        self.share.resize(n, 0.0);
        self.count.resize(n, 0);
        self.rotation.resize(instances, false);
        self.follows.resize(instances, load::NO_LEADER);
        self.group_n.resize(instances, 1);
        self.succ.resize(instances, 0.0);
        self.edge_failed.resize(services, 0.0);
        self.first_rps.resize(services, 0.0);
        self.held.resize(services, 0.0);
        self.client_timeout_ms.resize(services, 0.0);
    }
}

/// Advances the clock: the last stage of a tick.
pub fn advance_clock(clock: &mut Clock) {
    clock.tick += 1;
}

/// The stages before latency, in order, as one bevy system (see [`late_stages`]): fault
/// scheduler → team actions → fault effects → traffic → load.
#[allow(clippy::too_many_arguments)]
pub fn early_stages(
    model: Res<Model>,
    clock: Res<Clock>,
    mut fleet: ResMut<Fleet>,
    mut incidents: ResMut<Incidents>,
    mut rngs: ResMut<Rngs>,
    mut logs: ResMut<PendingLogs>,
    mut queue: ResMut<ActionQueue>,
    mut scratch: ResMut<Scratch>,
    mut entries: Local<traffic::EntryServices>,
) {
    let (model, clock, fleet, incidents, rngs, logs) = (
        &*model,
        &*clock,
        &mut *fleet,
        &mut *incidents,
        &mut *rngs,
        &mut *logs,
    );
    scheduler::fault_scheduler(model, clock, fleet, incidents, rngs, logs);
    actions::team_actions(model, clock, &mut queue, fleet, incidents, logs);
    effects::fault_effects(model, clock, fleet, incidents, &mut scratch);
    traffic::traffic(model, clock, fleet, rngs, &mut entries);
    load::load(model, clock, fleet, &mut scratch);
}

/// What the stages run by [`late_stages`] keep from one run to the next.
#[derive(Debug, Default)]
pub struct LateLocals {
    /// The telemetry stage's.
    telemetry: telemetry::TelemetryLocals,
    /// The customers stage's.
    facing: customers::CustomerFacing,
    /// The lifecycle stage's.
    data: lifecycle::DataServices,
    /// The resilience stage's.
    breakers: resilience::BreakerEdges,
}

/// The stages after latency, in order, as one bevy system: resilience → resources →
/// lifecycle → telemetry → customers → clock. (Each system bevy runs costs about 900
/// instructions of its executor and parameter fetching per tick, more than some stages.)
#[allow(clippy::too_many_arguments)]
pub fn late_stages(
    model: Res<Model>,
    mut clock: ResMut<Clock>,
    mut fleet: ResMut<Fleet>,
    mut scratch: ResMut<Scratch>,
    mut logs: ResMut<PendingLogs>,
    mut telemetry_state: ResMut<telemetry::TelemetryState>,
    mut rngs: ResMut<Rngs>,
    mut incidents: ResMut<Incidents>,
    mut customer_state: ResMut<customers::CustomerState>,
    mut report: ResMut<Report>,
    recording: Res<Recording>,
    mut locals: Local<LateLocals>,
) {
    let (model, fleet, scratch, logs) = (&*model, &mut *fleet, &mut *scratch, &mut *logs);
    let locals = &mut *locals;
    let edges_kept = scratch.timeouts_kept;
    resilience::resilience(model, &clock, fleet, edges_kept, &mut locals.breakers);
    resources::resources(model, &clock, fleet, scratch, logs);
    #[cfg(debug_assertions)]
    load::check_instance_ticks(fleet, clock.tick);
    lifecycle::lifecycle(model, &clock, fleet, logs, scratch, &mut locals.data);
    telemetry::telemetry(
        model,
        &clock,
        fleet,
        &mut telemetry_state,
        logs,
        &mut rngs,
        &incidents,
        &mut locals.telemetry,
        *recording,
        scratch.fx_struck.as_deref(),
    );
    customers::customers(
        model,
        &clock,
        fleet,
        &mut customer_state,
        &mut incidents,
        &mut report,
        scratch,
        &mut locals.facing,
    );
    advance_clock(&mut clock);
}

/// The tick schedule, single-threaded, stages chained in order.
pub fn tick_schedule() -> Schedule {
    let mut schedule = Schedule::default();
    schedule.set_executor(SingleThreadedExecutor::new());
    schedule.add_systems((early_stages, latency::latency_and_errors, late_stages).chain());
    schedule
}

/// Whether `timeout_share(p50, p99, timeout)` is exactly +0 for any `p50 <= p99`, with both
/// latencies under the timeout: the timeout is at least twice the p99 (`timeout - p99`, as
/// rounded, is at least the fade-out's divisor, so the tail's share is at most 0 and its
/// floor of 0 is taken). Callers that sum such shares skip the terms it would zero.
#[inline(always)]
pub fn times_out_nothing(p99: f64, timeout: f64) -> bool {
    timeout - p99 >= p99.at_least(1.0)
}

/// Share of requests that time out, for a latency distribution with median `p50` and 99th
/// percentile `p99` against `timeout` (all ms): about half at the median, about 1 % at the p99,
/// none well below it.
pub fn timeout_share(p50: f64, p99: f64, timeout: f64) -> f64 {
    if timeout <= 0.0 {
        return 1.0;
    }
    if timeout >= p99 {
        // Tail beyond the p99: fades out by twice the p99.
        let over = (timeout - p99) / p99.at_least(1.0);
        return (0.01 * (1.0 - over)).at_least(0.0);
    }
    if timeout >= p50 {
        let span = (p99 - p50).at_least(1e-9);
        return 0.01 + 0.49 * (p99 - timeout) / span;
    }
    (0.5 + 0.5 * (p50 - timeout) / p50.at_least(1e-9)).at_most(1.0)
}
