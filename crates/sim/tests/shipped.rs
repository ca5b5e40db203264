//! Every shipped scenario runs to its end with nobody acting, and every number the team sees
//! stays finite and within its range (no NaN, no negative rates, percentages within bounds).

use std::sync::Arc;

use breakathon_sim::{FaultSchedule, Simulation};

/// How often (ticks) the fleet is inspected.
const CHECK_EVERY_TICKS: u64 = 30;

#[test]
fn shipped_scenarios_stay_finite_and_in_range() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scenarios");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .expect("scenarios directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty());
    for path in paths {
        let text = std::fs::read_to_string(&path).expect("readable");
        let scenario = Arc::new(breakathon_scenario::parse_unchecked(&text).expect("parses"));
        let schedule = Arc::new(FaultSchedule::compute(&scenario, scenario.seed));
        let mut sim = Simulation::new(scenario.clone(), schedule).expect("builds");
        let end = scenario.duration.to_ticks(scenario.tick);
        let name = path.display();
        while sim.tick() < end {
            sim.step();
            let r = sim.last_tick_report();
            assert!(
                r.requests_ok.is_finite() && r.requests_ok >= 0.0,
                "{name}: {r:?}"
            );
            assert!(
                r.requests_failed.is_finite() && r.requests_failed >= 0.0,
                "{name}: {r:?}"
            );
            assert!(
                r.revenue_units.is_finite() && r.revenue_units >= 0.0,
                "{name}: {r:?}"
            );
            if !sim.tick().is_multiple_of(CHECK_EVERY_TICKS) {
                continue;
            }
            for svc in sim.fleet().services {
                let Some(m) = svc.metrics else { continue };
                let values = [
                    m.rps,
                    m.latency_p50_ms,
                    m.latency_p99_ms,
                    m.cpu_percent,
                    m.memory_percent,
                    m.disk_percent,
                    m.connections_percent,
                    m.saturation_percent,
                ];
                assert!(
                    values.iter().all(|v| v.is_finite() && *v >= 0.0),
                    "{name} t={} {}: {m:?}",
                    sim.tick(),
                    svc.name
                );
                assert!(
                    (0.0..=100.0).contains(&m.error_percent),
                    "{name} {}: {m:?}",
                    svc.name
                );
                assert!(
                    (0.0..=100.0).contains(&m.healthy_percent),
                    "{name} {}: {m:?}",
                    svc.name
                );
                assert!(
                    m.cpu_percent <= 100.0 && m.memory_percent <= 100.0,
                    "{name}: {m:?}"
                );
            }
        }
        assert!(!sim.incidents().is_empty(), "{name}: faults were injected");
    }
}
