//! Fault effects are recomputed from the active incidents every tick, and the fault-effects
//! stage resets only the instances an incident struck the tick before: an incident that ends
//! must leave nothing behind on them, and one that starts must not see another's leftovers.

mod common;

use common::{Knobs, metrics, run, scenario};

/// Tick the first fault is injected at (one tick per second).
const INJECT: u64 = 60;
/// Ticks simulated: long after the faults ended.
const TICKS: u64 = 400;

/// A fault of `kind` on `target`, injected at `at_s` seconds, lasting `for_s` seconds.
fn fault(name: &str, kind: &str, target: &str, at_s: u64, for_s: u64) -> String {
    format!(
        r#"(name: "{name}", kind: {kind}, target: {target}, trigger: At("{at_s}s"), duration: "{for_s}s")"#
    )
}

#[test]
fn an_ended_cpu_hog_leaves_the_cpu_alone() {
    let hog = fault(
        "hog",
        "cpu_saturation(cpu_percent: 70.0)",
        r#"Service("api")"#,
        INJECT,
        60,
    );
    // While it lasts, the CPU is pinned (the effect is applied every tick).
    let during = run(&scenario(&hog, Knobs::default()), &[], INJECT + 30);
    assert!(
        metrics(&during.sim, "api").cpu_percent > 99.0,
        "{:?}",
        metrics(&during.sim, "api")
    );
    let after = run(&scenario(&hog, Knobs::default()), &[], TICKS);
    assert!(!after.sim.incidents()[0].active, "the fault ended");
    let m = metrics(&after.sim, "api");
    assert!(m.cpu_percent < 80.0, "no hog left behind: {m:?}");
}

#[test]
fn a_zone_wide_fault_then_a_service_fault_leave_nothing_behind() {
    // A hog on every instance of zone `a` (the stage cannot tell which instances it struck
    // from the service: it resets them all the next tick), then a shorter one on `api`.
    let faults = format!(
        "{}, {}",
        fault(
            "zone",
            "cpu_saturation(cpu_percent: 70.0)",
            r#"Zone("a")"#,
            INJECT,
            60
        ),
        fault(
            "api",
            "cpu_saturation(cpu_percent: 70.0)",
            r#"Service("api")"#,
            INJECT + 90,
            30
        ),
    );
    let during = run(&scenario(&faults, Knobs::default()), &[], INJECT + 30);
    assert!(
        max_instance_cpu(&during.sim) >= HOG_PERCENT,
        "the zone hog runs"
    );
    let after = run(&scenario(&faults, Knobs::default()), &[], TICKS);
    assert!(after.sim.incidents().iter().all(|i| !i.active));
    // A hog alone takes 70 % of an instance's CPU: no instance has it any more.
    assert!(
        max_instance_cpu(&after.sim) < HOG_PERCENT,
        "no hog left behind"
    );
}

/// The CPU taken by the hogs of these tests, percent.
const HOG_PERCENT: f64 = 70.0;

/// The highest CPU of any instance reporting metrics, percent.
fn max_instance_cpu(sim: &breakathon_sim::Simulation) -> f64 {
    sim.fleet()
        .services
        .iter()
        .flat_map(|s| &s.instances)
        .filter_map(|i| i.metrics.as_ref())
        .map(|m| m.cpu_percent)
        .fold(0.0, f64::max)
}
