//! What customers experience is counted once per request, where it enters the fleet.

mod common;

use breakathon_scenario::ActionKind as A;
use common::{Knobs, on, scenario};

/// Ticks simulated.
const TICKS: u64 = 120;
/// Tick at which the api's instances are all restarted (customers' requests fail meanwhile).
const RESTART: u64 = 60;

/// Customers' requests (served + failed) in the last tick of a run of `text`, and the share
/// that failed over the whole run.
fn requests(text: &std::sync::Arc<breakathon_scenario::Scenario>) -> (f64, f64) {
    let mut sim = common::world(text);
    let (mut ok, mut failed) = (0.0, 0.0);
    while sim.tick() < TICKS {
        if sim.tick() == RESTART {
            sim.submit(on(A::RestartService, "api")).expect("valid");
        }
        sim.step();
        let r = sim.last_tick_report();
        ok += r.requests_ok;
        failed += r.requests_failed;
    }
    let last = sim.last_tick_report();
    (
        last.requests_ok + last.requests_failed,
        failed / (ok + failed),
    )
}

#[test]
fn a_failure_behind_two_customer_facing_services_counts_once() {
    let plain = scenario("", Knobs::default());
    // The same fleet where the api behind web is customer-facing too.
    let mut both = (*plain).clone();
    both.services
        .iter_mut()
        .find(|s| s.name == "api")
        .expect("api")
        .customer_facing = true;
    let both = std::sync::Arc::new(both);

    let (per_tick_plain, failed_plain) = requests(&plain);
    let (per_tick_both, failed_both) = requests(&both);
    // 240 customer requests per second enter at web (±2 % noise), whatever is customer-facing.
    assert!((200.0..280.0).contains(&per_tick_plain), "{per_tick_plain}");
    assert_eq!(per_tick_both, per_tick_plain);
    // The restart made customers' requests fail, and the share is the same: nothing is
    // counted twice.
    assert!(failed_plain > 0.0, "the restart costs requests");
    assert_eq!(failed_both, failed_plain);
}
