//! A world that records no telemetry (`Simulation::stop_recording`, used by dry runs and a
//! game's baseline) computes exactly what a recording world computes, tick by tick, and keeps
//! no metric history, logs or alerts.

use breakathon_scenario::ActionKind;
use breakathon_sim::{Action, Simulation};
use common::{determinism_fixture, tick_fingerprint};

mod common;

/// Ticks simulated (the fixture lasts 30 minutes of 1 s ticks; its faults strike before).
const RUN_TICKS: u64 = 1_800;

#[test]
fn a_world_that_records_nothing_computes_the_same_ticks_and_keeps_no_telemetry() {
    let (scenario, schedule) = determinism_fixture(7);
    let mut watched = Simulation::new(scenario.clone(), schedule.clone()).expect("fixture");
    let mut unwatched = Simulation::new(scenario, schedule).expect("fixture");
    unwatched.stop_recording();
    assert!(watched.is_recording());
    assert!(!unwatched.is_recording());
    let restart = Action::on_service(ActionKind::RestartService, "api");
    while watched.tick() < RUN_TICKS {
        if watched.tick() == 600 {
            watched.submit(restart.clone()).expect("valid action");
            unwatched.submit(restart.clone()).expect("valid action");
        }
        watched.step();
        unwatched.step();
        assert_eq!(
            tick_fingerprint(&watched),
            tick_fingerprint(&unwatched),
            "tick {} differs",
            watched.tick()
        );
    }
    // The recording world has telemetry to lose; the other has none.
    assert!(!watched.logs(None, None, 0, 10).is_empty());
    assert!(!watched.metrics("api", 0).expect("known service").is_empty());
    assert!(unwatched.logs(None, None, 0, 10).is_empty());
    assert!(
        unwatched
            .metrics("api", 0)
            .expect("known service")
            .is_empty()
    );
    assert!(unwatched.alerts().is_empty());
}
