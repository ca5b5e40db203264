//! QA findings on outages, load and revenue: a dead service shows its callers' failed calls
//! (F3), retries stay bounded under a spike and a retry storm is metastable but finite (F0,
//! F9), revenue never rises because of a fault (F2), a lagging replica is a mild symptom (F21).

mod common;

use std::sync::Arc;

use breakathon_scenario::Scenario;
use common::{Knobs, metrics, scenario, world};

/// `api` of the test shop made customer-facing with an SLO (it is only called by `web`).
fn shop_with_customer_facing_api(fault: &str) -> Arc<Scenario> {
    let mut s = Arc::unwrap_or_clone(scenario(fault, Knobs::default()));
    let web_slo = s
        .services
        .iter()
        .find(|svc| svc.name == "web")
        .and_then(|w| w.slo.clone());
    let api = s
        .services
        .iter_mut()
        .find(|svc| svc.name == "api")
        .expect("api");
    api.customer_facing = true;
    api.slo = web_slo;
    Arc::new(s)
}

#[test]
fn a_dead_callee_shows_its_callers_failed_calls_and_breaches_its_slo() {
    let fault = r#"(name: "f", kind: crash, target: Select(service: "api", pick: All), trigger: At("60s"))"#;
    let s = shop_with_customer_facing_api(fault);
    let mut sim = world(&s);
    sim.step_until(50);
    let before = metrics(&sim, "api");
    assert!(before.error_percent < 1.0, "{before:?}");
    sim.step_until(60 + 30);
    let api = metrics(&sim, "api");
    // web still sends its calls: they fail, and they are api's errors, not "0 rps, 0 %".
    assert!(api.rps > before.rps * 0.5, "{before:?} -> {api:?}");
    assert!(api.error_percent > 99.0, "{api:?}");
    assert_eq!(api.healthy_percent, 0.0);
    let report = sim.last_tick_report();
    assert!(
        report.slo_breached.contains(&"api".to_owned()),
        "{report:?}"
    );
    // A complete outage pages within seconds, not after the minute of "instances unhealthy".
    assert!(
        sim.alerts()
            .iter()
            .any(|a| a.service == "api" && a.firing && a.name.contains("down")),
        "{:?}",
        sim.alerts()
    );
    // Alert texts say in words what is wrong where, name the rule's metric as scenarios write
    // it, and say when they are resolved.
    let firing = sim.alerts();
    let down = firing
        .iter()
        .find(|a| a.service == "api" && a.name.contains("down"))
        .expect("down alert");
    assert!(
        down.message
            .starts_with("api healthy instances at 0.0 % (healthy_percent below"),
        "{down:?}"
    );
    sim.submit(common::on(
        breakathon_scenario::ActionKind::RestartService,
        "api",
    ))
    .expect("restart is valid");
    sim.step_until(60 + 240);
    let alerts = sim.alerts();
    let down = alerts
        .iter()
        .find(|a| a.service == "api" && a.name.contains("down"))
        .expect("resolved down alert still listed");
    assert!(!down.firing, "{down:?}");
    assert!(
        down.message
            .starts_with("resolved: api healthy instances at"),
        "{down:?}"
    );
}

/// Fault injection tick of the tests below.
const INJECT: u64 = 60;

fn fault(kind: &str, target: &str) -> String {
    format!(r#"(name: "f", kind: {kind}, target: {target}, trigger: At("{INJECT}s"))"#)
}

/// Steps `sim` to `tick`, submitting `actions` at their ticks; returns the revenue earned and
/// the highest rps any service reported (every number checked finite on the way).
fn drive(
    sim: &mut breakathon_sim::Simulation,
    actions: &[(u64, breakathon_sim::Action)],
    tick: u64,
) -> (f64, f64) {
    let mut revenue = 0.0;
    let mut peak: f64 = 0.0;
    while sim.tick() < tick {
        for (at, action) in actions {
            if *at == sim.tick() {
                sim.submit(action.clone()).expect("valid action");
            }
        }
        sim.step();
        let r = sim.last_tick_report();
        assert!(r.revenue_units.is_finite() && r.requests_failed.is_finite());
        revenue += r.revenue_units;
        for s in sim.fleet().services {
            if let Some(m) = s.metrics {
                assert!(m.rps.is_finite(), "{} at {}: {m:?}", s.name, sim.tick());
                peak = peak.max(m.rps);
            }
        }
    }
    (revenue, peak)
}

#[test]
fn a_tenfold_spike_with_retries_keeps_load_bounded() {
    // web can serve ~800 rps; the spike offers 2 400, customers retry failures.
    let s = scenario(
        &fault(
            r#"traffic_spike(factor: 10.0, ramp: "10s")"#,
            r#"Service("web")"#,
        ),
        Knobs::default(),
    );
    let mut sim = world(&s);
    let (_, peak) = drive(&mut sim, &[], 600);
    let offered = 240.0 * 10.0;
    // Retries at most double the spiked load; nothing grows without bound.
    assert!(peak < 2.0 * offered * 1.05, "peak {peak} rps");
    let web = metrics(&sim, "web");
    assert!(web.rps > offered * 0.9, "{web:?}");
}

#[test]
fn a_retry_storm_is_metastable_finite_and_drains_once_retries_drop_and_load_is_shed() {
    use breakathon_scenario::ActionKind as A;
    use common::{on, set};
    // api: 4 x 170 = 680 rps for 240 offered; the burst (x3) pushes it past its capacity.
    let s = scenario(
        &fault(
            r#"retry_storm(factor: 3.0, burst: "60s")"#,
            r#"Service("api")"#,
        ),
        Knobs::default(),
    );
    let mut idle = world(&s);
    let (_, peak) = drive(&mut idle, &[], 400);
    // Long after the burst (ended at 120 s) retries still dominate: load far above 240 rps...
    let api = metrics(&idle, "api");
    assert!(api.rps > 240.0 * 1.5, "still high after the burst: {api:?}");
    assert!(api.error_percent > 10.0, "{api:?}");
    // ...but bounded by the retries: at most (1 + retries) x the load without them.
    let bound = (1.0 + breakathon_sim::model::STORM_CLIENT_RETRIES) * 240.0 * 3.0 * 1.1;
    assert!(peak < bound, "peak {peak} rps, bound {bound}");
    // Lowering retries on the caller and shedding load drains it.
    let shed = on(A::ShedLoad, "api").with(breakathon_sim::ActionParams {
        level_percent: Some(30.0),
        ..breakathon_sim::ActionParams::default()
    });
    let mut fixed = world(&s);
    drive(
        &mut fixed,
        &[(200, set("web", "retries", "0")), (200, shed)],
        400,
    );
    let api = metrics(&fixed, "api");
    assert!(api.rps < 240.0 * 1.2, "drained: {api:?}");
    assert!(api.error_percent < 1.0, "{api:?}");
}

#[test]
fn a_fault_never_raises_revenue_and_fixing_it_never_costs_revenue() {
    use breakathon_scenario::ActionKind as A;
    use common::on;
    let kind = r#"bad_config(key: "search_page_size", value: "0", error_percent: 30.0)"#;
    let healthy = scenario("", Knobs::default());
    let broken = scenario(&fault(kind, r#"Service("web")"#), Knobs::default());
    let end = 900;
    let (baseline, _) = drive(&mut world(&healthy), &[], end);
    let (idle, _) = drive(&mut world(&broken), &[], end);
    let (fixed, _) = drive(
        &mut world(&broken),
        &[(150, on(A::RevertConfig, "web"))],
        end,
    );
    // Failed page views are retried by customers, yet they buy once: the outage costs revenue.
    assert!(idle < baseline * 0.95, "idle {idle} vs baseline {baseline}");
    assert!(
        fixed <= baseline * 1.000_001,
        "fixed {fixed} vs baseline {baseline}"
    );
    assert!(fixed > idle, "fixed {fixed} vs idle {idle}");
}

#[test]
fn a_lagging_replica_is_a_mild_data_quality_symptom_not_an_outage() {
    let s = scenario(
        &fault("replica_lag(lag_s_per_min: 120.0)", r#"Service("db")"#),
        Knobs::default(),
    );
    let mut sim = world(&s);
    let mut breached_ticks = 0;
    while sim.tick() < 600 {
        sim.step();
        if !sim.last_tick_report().slo_breached.is_empty() {
            breached_ticks += 1;
        }
    }
    // Stale reads are logged and the lag keeps rising...
    assert!(common::logged(&sim, Some("db"), "stale read"));
    assert!(common::logged(&sim, Some("db"), "replica lag"));
    // ...but customers barely notice: no SLO breach, well under 1 % of requests failing.
    assert_eq!(breached_ticks, 0);
    let web = metrics(&sim, "web");
    assert!(web.error_percent < 1.0, "{web:?}");
}
