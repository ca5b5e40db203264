//! Checkpoints: snapshot at tick k, serialize (JSON and RON), restore, step to n — equals
//! stepping straight to n: the full state hash right after the restore, every
//! [`FULL_HASH_EVERY_TICKS`] ticks and at the end, and a fingerprint of every tick between
//! (the full hash serializes the whole world, too slow to take every tick).

use std::sync::Arc;

use breakathon_scenario::ActionKind;
use breakathon_sim::{Action, ActionParams, Simulation, WorldSnapshot};
use common::{determinism_fixture, tick_fingerprint};
use proptest::prelude::*;

mod common;

/// Ticks simulated per run (the fixture lasts 30 minutes of 1 s ticks).
const RUN_TICKS: u64 = 1_800;

/// How often the full state hash is taken.
const FULL_HASH_EVERY_TICKS: u64 = 60;

/// Scripted actions: (tick at which it is submitted, action).
fn script() -> Vec<(u64, Action)> {
    let act = |kind, service: &str| Action {
        kind,
        service: Some(service.to_owned()),
        instance: None,
        zone: None,
        params: ActionParams::default(),
    };
    vec![
        (200, act(ActionKind::RestartService, "api")),
        (420, act(ActionKind::Rollback, "api")),
        (760, act(ActionKind::RevertConfig, "web")),
    ]
}

/// Steps `sim` to `until`, submitting the scripted actions that fall due, and returns each
/// tick's fingerprint and, every [`FULL_HASH_EVERY_TICKS`] ticks, the full state hash.
fn run_to(sim: &mut Simulation, until: u64, actions: &[(u64, Action)]) -> Vec<u64> {
    let mut hashes = Vec::new();
    while sim.tick() < until {
        let now = sim.tick();
        for (_, action) in actions.iter().filter(|(tick, _)| *tick == now) {
            sim.submit(action.clone())
                .expect("scripted action is valid");
        }
        sim.step();
        hashes.push(tick_fingerprint(sim));
        if sim.tick().is_multiple_of(FULL_HASH_EVERY_TICKS) || sim.tick() == RUN_TICKS {
            hashes.push(sim.state_hash());
        }
    }
    hashes
}

/// Runs straight through, and through a checkpoint at `k` restored from `encode`d text;
/// returns both hash histories after `k`.
fn compare(
    seed: u64,
    k: u64,
    round_trip: fn(&WorldSnapshot) -> WorldSnapshot,
) -> (Vec<u64>, Vec<u64>) {
    let (scenario, schedule) = determinism_fixture(seed);
    let actions = script();

    let mut straight =
        Simulation::new(Arc::clone(&scenario), Arc::clone(&schedule)).expect("valid");
    run_to(&mut straight, k, &actions);
    let straight_after = run_to(&mut straight, RUN_TICKS, &actions);

    let mut first = Simulation::new(Arc::clone(&scenario), Arc::clone(&schedule)).expect("valid");
    run_to(&mut first, k, &actions);
    let hash_at_k = first.state_hash();
    let snapshot = round_trip(&first.snapshot());
    drop(first);
    let mut restored = Simulation::restore(scenario, schedule, snapshot).expect("restores");
    assert_eq!(restored.tick(), k);
    assert_eq!(
        restored.state_hash(),
        hash_at_k,
        "restored state differs at tick {k}"
    );
    let restored_after = run_to(&mut restored, RUN_TICKS, &actions);
    (straight_after, restored_after)
}

fn via_json(snapshot: &WorldSnapshot) -> WorldSnapshot {
    let text = serde_json::to_string(snapshot).expect("snapshot serializes to JSON");
    serde_json::from_str(&text).expect("snapshot deserializes from JSON")
}

fn via_ron(snapshot: &WorldSnapshot) -> WorldSnapshot {
    let text = ron::to_string(snapshot).expect("snapshot serializes to RON");
    ron::from_str(&text).expect("snapshot deserializes from RON")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    #[test]
    fn restore_then_step_equals_stepping_straight(seed in any::<u64>(), k in 0u64..RUN_TICKS) {
        let (straight, restored) = compare(seed, k, via_json);
        prop_assert_eq!(straight.len(), restored.len());
        for (offset, (a, b)) in straight.iter().zip(&restored).enumerate() {
            prop_assert_eq!(a, b, "diverges at entry {} after tick {}", offset, k);
        }
    }
}

#[test]
fn checkpoints_survive_ron_too_in_the_middle_of_incidents() {
    // 21 minutes: inside the zone outage, after the bad config and several chaos firings.
    let (straight, restored) = compare(7, 21 * 60, via_ron);
    assert_eq!(straight, restored);
    assert!(!straight.is_empty());
}

#[test]
fn a_restored_world_keeps_its_injected_incidents() {
    let (scenario, schedule) = determinism_fixture(3);
    let mut sim = Simulation::new(Arc::clone(&scenario), Arc::clone(&schedule)).expect("valid");
    sim.step_until(13 * 60);
    let before = sim.incidents().len();
    assert!(
        before >= 3,
        "crash, leak and bad config have struck: {before}"
    );
    let restored =
        Simulation::restore(scenario, schedule, via_json(&sim.snapshot())).expect("restores");
    assert_eq!(restored.incidents().len(), before);
}
