//! Checkpoints: a snapshot round-trips through RON, and restoring then stepping equals
//! stepping straight through (same hash, same history).

mod common;

use std::sync::Arc;

use breakathon_scenario::ActionKind as A;
use breakathon_sim::{FaultSchedule, Simulation, WorldSnapshot};
use common::{Knobs, on, scenario, world};

#[test]
fn restore_then_step_equals_stepping_straight_through() {
    let fault = r#"(name: "f", kind: memory_leak(mb_per_min: 300.0), target: Service("api"), trigger: At("40s"))"#;
    let s = scenario(fault, Knobs::default());
    let schedule = Arc::new(FaultSchedule::compute(&s, s.seed));
    let mut straight = world(&s);
    let mut checkpointed = world(&s);
    for sim in [&mut straight, &mut checkpointed] {
        sim.step_until(100);
        sim.submit(on(A::RestartService, "api")).unwrap();
    }
    let text = ron::to_string(&checkpointed.snapshot()).unwrap();
    let snapshot: WorldSnapshot = ron::from_str(&text).unwrap();
    let mut restored = Simulation::restore(s.clone(), schedule, snapshot).unwrap();
    assert_eq!(restored.state_hash(), straight.state_hash());
    straight.step_until(300);
    restored.step_until(300);
    assert_eq!(restored.state_hash(), straight.state_hash());
    assert_eq!(
        restored.metrics("api", 0).unwrap(),
        straight.metrics("api", 0).unwrap()
    );
    assert_eq!(restored.incidents(), straight.incidents());
}

#[test]
fn the_hash_sees_every_change() {
    let s = scenario("", Knobs::default());
    let mut a = world(&s);
    let mut b = world(&s);
    a.step_until(20);
    b.step_until(20);
    assert_eq!(a.state_hash(), b.state_hash());
    b.submit(on(A::RestartService, "web")).unwrap();
    assert_ne!(a.state_hash(), b.state_hash());
}

#[test]
fn a_world_can_move_between_threads() {
    fn assert_send<T: Send>() {}
    assert_send::<Simulation>();
    assert_send::<WorldSnapshot>();
}
