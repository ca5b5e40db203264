//! A small two-zone shop used by the fault tests, written in RON, with knobs for capacities.

#![allow(dead_code)]

use std::sync::Arc;

use breakathon_scenario::{ActionKind, Scenario};
use breakathon_sim::{Action, ActionParams, FaultSchedule, Simulation};

/// The test fleet:
///
/// customers -> web -> api -> cache, db (behind the cache), payments (external, 20 % of
/// requests); web -> recs (non-critical). Two zones `a` and `b`, two instances of web and api
/// per zone, one of the others. `dns` is the fleet's resolver.
pub const BASE: &str = r#"(
    title: "fault test shop",
    duration: "1h",
    seed: 42,
    sustain: "30s",
    zones: [(name: "a"), (name: "b")],
    services: [
        (name: "web", kind: frontend, instances_per_zone: 2, capacity_rps: WEB_CAP, max_connections: 500,
         base_latency_ms: 10.0, version: "v2", rollback_versions: ["v1"],
         flags: {"new_checkout": false}, config: {"search_page_size": "24"},
         customer_facing: true, revenue_per_request: 1.0,
         slo: (latency_p99_ms: 800.0, error_percent: 1.0),
         dependencies: [
            (service: "api", timeout: "2s", pool_size: 60),
            (service: "recs", timeout: "500ms", critical: false),
         ]),
        (name: "api", kind: api, instances_per_zone: 2, capacity_rps: API_CAP, max_connections: 500,
         base_latency_ms: 20.0, version: "v5", rollback_versions: ["v4"],
         flags: {"payments": true},
         dependencies: [
            (service: "cache", timeout: "500ms"),
            (service: "db", timeout: "1s", pool_size: 20),
            (service: "payments", calls_per_request: 0.2, timeout: "2s"),
         ]),
        (name: "recs", kind: api, instances_per_zone: 1, capacity_rps: 400.0, base_latency_ms: 30.0),
        (name: "cache", kind: cache, instances_per_zone: 1, capacity_rps: 2000.0, base_latency_ms: 2.0),
        (name: "db", kind: database, instances_per_zone: 1, capacity_rps: DB_CAP,
         base_latency_ms: DB_LATENCY, max_connections: 100),
        (name: "payments", kind: external_api, instances_per_zone: 1, capacity_rps: 1000.0,
         base_latency_ms: 100.0),
        (name: "dns", kind: dns, instances_per_zone: 1, capacity_rps: 1000.0, base_latency_ms: 1.0),
    ],
    traffic: (entry_points: [(service: "web", rps: 240.0)], noise_percent: 2.0),
    faults: [FAULT],
)"#;

/// Capacity knobs of the test fleet.
#[derive(Clone, Copy, Debug)]
pub struct Knobs {
    /// web capacity per instance.
    pub web_cap: f64,
    /// api capacity per instance.
    pub api_cap: f64,
    /// db capacity per instance.
    pub db_cap: f64,
    /// db base latency, ms.
    pub db_latency: f64,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            web_cap: 200.0,
            api_cap: 170.0,
            db_cap: 400.0,
            db_latency: 10.0,
        }
    }
}

/// The scenario with `fault` (one RON fault entry, or empty) and `knobs`.
pub fn scenario(fault: &str, knobs: Knobs) -> Arc<Scenario> {
    let text = BASE
        .replace("WEB_CAP", &format!("{:.1}", knobs.web_cap))
        .replace("API_CAP", &format!("{:.1}", knobs.api_cap))
        .replace("DB_CAP", &format!("{:.1}", knobs.db_cap))
        .replace("DB_LATENCY", &format!("{:.1}", knobs.db_latency))
        .replace("FAULT", fault);
    Arc::new(breakathon_scenario::parse_unchecked(&text).expect("test scenario parses"))
}

/// A fresh world.
pub fn world(scenario: &Arc<Scenario>) -> Simulation {
    let schedule = Arc::new(FaultSchedule::compute(scenario, scenario.seed));
    Simulation::new(scenario.clone(), schedule).expect("test world builds")
}

/// What a run produced.
#[derive(Debug)]
pub struct Outcome {
    /// The world at the end.
    pub sim: Simulation,
    /// Customer error-minutes: per tick, the failed share of customer requests plus one if a
    /// customer-facing SLO is breached, in minutes.
    pub pain: f64,
}

/// Runs `scenario` for `ticks`, submitting each action at its tick.
pub fn run(scenario: &Arc<Scenario>, actions: &[(u64, Action)], ticks: u64) -> Outcome {
    let mut sim = world(scenario);
    let mut pain = 0.0;
    while sim.tick() < ticks {
        for (at, action) in actions {
            if *at == sim.tick() {
                sim.submit(action.clone()).expect("test action is valid");
            }
        }
        sim.step();
        let r = sim.last_tick_report();
        let total = r.requests_ok + r.requests_failed;
        let failed = if total > 0.0 {
            r.requests_failed / total
        } else {
            0.0
        };
        let breached = if r.slo_breached.is_empty() { 0.0 } else { 1.0 };
        pain += (failed + breached) / 60.0;
    }
    Outcome { sim, pain }
}

/// An action on a service.
pub fn on(kind: ActionKind, service: &str) -> Action {
    Action::on_service(kind, service)
}

/// A `set_config` action.
pub fn set(service: &str, key: &str, value: &str) -> Action {
    on(ActionKind::SetConfig, service).with(ActionParams {
        key: Some(key.into()),
        value: Some(value.into()),
        ..ActionParams::default()
    })
}

/// A scale action with a count.
pub fn scale(kind: ActionKind, service: &str, count: u32) -> Action {
    on(kind, service).with(ActionParams {
        count: Some(count),
        ..ActionParams::default()
    })
}

/// A service's current metric point.
pub fn metrics(sim: &Simulation, service: &str) -> breakathon_sim::MetricPoint {
    sim.fleet()
        .services
        .into_iter()
        .find(|s| s.name == service)
        .and_then(|s| s.metrics)
        .unwrap_or_default()
}

/// Whether any log line of `service` (or any service) contains `text`.
pub fn logged(sim: &Simulation, service: Option<&str>, text: &str) -> bool {
    !sim.logs(service, Some(text), 0, 1).is_empty()
}

/// The determinism fixture: two zones, five services, faults of every trigger kind.
const DETERMINISM_FIXTURE: &str = include_str!("../fixtures/determinism.ron");

/// The determinism fixture with `seed`, and its fault schedule.
pub fn determinism_fixture(seed: u64) -> (Arc<Scenario>, Arc<FaultSchedule>) {
    let mut scenario =
        breakathon_scenario::parse_unchecked(DETERMINISM_FIXTURE).expect("fixture parses");
    scenario.seed = seed;
    let schedule = Arc::new(FaultSchedule::compute(&scenario, seed));
    (Arc::new(scenario), schedule)
}

/// A cheap, stable fingerprint of one tick: what it reported and where every incident stands
/// (FNV-1a, stable across runs unlike std's RandomState).
pub fn tick_fingerprint(sim: &Simulation) -> u64 {
    use std::fmt::Write as _;
    let mut hash = breakathon_sim::snapshot::Fnv1a::default();
    let _ = write!(hash, "{:?}{:?}", sim.last_tick_report(), sim.incidents());
    hash.finish()
}
