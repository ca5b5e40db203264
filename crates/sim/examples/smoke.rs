//! Runs a scenario with nobody acting and prints the fleet every minute.
use std::sync::Arc;

use breakathon_sim::{FaultSchedule, Simulation};

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "scenarios/tutorial.ron".into());
    let text = std::fs::read_to_string(&path).expect("read scenario");
    let scenario = Arc::new(breakathon_scenario::parse_unchecked(&text).expect("parse"));
    let schedule = Arc::new(FaultSchedule::compute(&scenario, scenario.seed));
    let mut sim = Simulation::new(scenario.clone(), schedule).expect("sim");
    let end = scenario.duration.to_ticks(scenario.tick);
    let every: u64 = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let t0 = std::time::Instant::now();
    while sim.tick() < end {
        sim.step();
        if sim.tick().is_multiple_of(every) {
            let r = sim.last_tick_report();
            println!(
                "t={} ok={:.0} fail={:.0} breached={:?}",
                sim.tick(),
                r.requests_ok,
                r.requests_failed,
                r.slo_breached
            );
            for s in sim.fleet().services {
                if let Some(m) = s.metrics {
                    println!(
                        "  {:10} rps={:7.1} err={:5.1}% p50={:7.1} p99={:7.1} cpu={:5.1} mem={:5.1} disk={:5.1} conn={:5.1} sat={:6.1} healthy={:5.1} {:?}",
                        s.name,
                        m.rps,
                        m.error_percent,
                        m.latency_p50_ms,
                        m.latency_p99_ms,
                        m.cpu_percent,
                        m.memory_percent,
                        m.disk_percent,
                        m.connections_percent,
                        m.saturation_percent,
                        m.healthy_percent,
                        s.health
                    );
                }
            }
        }
    }
    println!("elapsed {:?}", t0.elapsed());
    for i in sim.incidents() {
        println!("{:?}", i);
    }
    for l in sim.logs(None, None, 0, 40) {
        println!(
            "{} {} {:?} {:?} {}",
            l.tick, l.service, l.instance, l.level, l.message
        );
    }
    for a in sim.alerts() {
        println!("{a:?}");
    }
    for c in sim.complaints() {
        println!("{c:?}");
    }
}
