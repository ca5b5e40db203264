//! Cascades emerge from the model: latency injected on the database alone raises the
//! frontend's p99 and breaches the customer-facing SLO.

mod common;

use common::{Knobs, metrics, scenario, world};

#[test]
fn slow_database_breaches_the_frontend_slo() {
    let fault = r#"(name: "slow-db", kind: dependency_latency(latency_ms: 600.0), target: Service("db"), trigger: At("60s"))"#;
    let s = scenario(fault, Knobs::default());
    let mut sim = world(&s);
    sim.step_until(55);
    let web_before = metrics(&sim, "web");
    let api_before = metrics(&sim, "api");
    assert!(
        sim.last_tick_report().slo_breached.is_empty(),
        "healthy before"
    );
    sim.step_until(120);
    let web_after = metrics(&sim, "web");
    let api_after = metrics(&sim, "api");
    let db_after = metrics(&sim, "db");
    // Only the database was touched...
    let fleet = sim.fleet();
    assert!(
        fleet
            .services
            .iter()
            .all(|s| s.instances.iter().all(|i| i.probe_healthy))
    );
    // ...yet every caller up the chain is slower, and customers feel it.
    assert!(db_after.latency_p50_ms > 600.0);
    assert!(
        api_after.latency_p99_ms > api_before.latency_p99_ms + 500.0,
        "{api_before:?} -> {api_after:?}"
    );
    assert!(
        web_after.latency_p99_ms > web_before.latency_p99_ms + 500.0,
        "{web_before:?} -> {web_after:?}"
    );
    assert!(
        web_after.latency_p99_ms > 800.0,
        "web p99 over its SLO: {web_after:?}"
    );
    assert!(
        sim.last_tick_report()
            .slo_breached
            .contains(&"web".to_owned())
    );
    // Customers complain after the scenario's delay (3 minutes by default).
    sim.step_until(60 + 200);
    assert!(!sim.complaints().is_empty());
    assert!(sim.incidents()[0].first_complaint_tick.is_some());
}

#[test]
fn overload_builds_a_queue_and_latency_climbs_steeply_near_saturation() {
    // The same fleet at rising traffic: latency rises slowly, then steeply near saturation.
    let latency_at = |rps: f64| {
        let mut scenario = (*scenario("", Knobs::default())).clone();
        scenario.traffic.entry_points[0].rps = rps;
        scenario.traffic.noise_percent = 0.0;
        let mut sim = world(&std::sync::Arc::new(scenario));
        sim.step_until(30);
        metrics(&sim, "api").latency_p50_ms
    };
    let light = latency_at(200.0);
    let busy = latency_at(500.0);
    let near = latency_at(640.0);
    assert!(busy - light < near - busy, "convex: {light} {busy} {near}");
    assert!(near > 2.0 * light, "{light} {near}");
}
