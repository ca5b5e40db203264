//! Circuit breakers turned on and off by the team: the resilience stage keeps its list of
//! call edges with a breaker between ticks, and must see every change.

mod common;

use common::{Knobs, run, scenario, set};

/// Every instance of `recs` crashes at 30 s and stays down: `web`'s calls to it all fail.
const RECS_DOWN: &str =
    r#"(name: "recs-down", kind: crash, target: Service("recs"), trigger: At("30s"))"#;

/// Whether `web`'s breaker on its calls to `recs` is open.
fn recs_breaker_open(sim: &breakathon_sim::Simulation) -> bool {
    let fleet = sim.fleet();
    let web = fleet.services.iter().find(|s| s.name == "web");
    let dep = web.and_then(|web| web.dependencies.iter().find(|d| d.service == "recs"));
    dep.expect("web calls recs").circuit_open
}

#[test]
fn a_breaker_turned_on_opens_and_one_turned_off_closes() {
    let s = scenario(RECS_DOWN, Knobs::default());
    let on = set("web", "recs.circuit_breaker", "on");
    let off = set("web", "recs.circuit_breaker", "off");
    // No breaker: every call keeps failing.
    let before = run(&s, &[], 60);
    assert!(!recs_breaker_open(&before.sim), "no breaker yet");
    // Turned on at 60 s: it opens on the failures of the next tick.
    let after_on = run(&s, &[(60, on.clone())], 63);
    assert!(
        recs_breaker_open(&after_on.sim),
        "the breaker turned on opens"
    );
    // Turned off while open: closed at once, and stays closed.
    let after_off = run(&s, &[(60, on), (70, off)], 75);
    assert!(!recs_breaker_open(&after_off.sim), "the breaker turned off");
}
