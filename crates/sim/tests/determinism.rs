//! Determinism: the same scenario, seed and actions (submitted at the same ticks) give the same
//! history; the hash moves with the seed and with the actions.
//!
//! Every tick is compared through a fingerprint of what the tick produced (the tick report
//! and the incidents' status); the full `state_hash()` (which serializes the whole world,
//! ~35 ms for this fixture) is compared every [`FULL_HASH_EVERY_TICKS`] ticks and at the end.

use breakathon_scenario::ActionKind;
use breakathon_sim::{Action, ActionParams, Simulation};
use common::{determinism_fixture, tick_fingerprint};
use proptest::prelude::*;

mod common;

/// Ticks simulated per run (the fixture lasts 30 minutes of 1 s ticks).
const RUN_TICKS: u64 = 1_800;

/// How often the full state hash is taken (it is too slow to take every tick).
const FULL_HASH_EVERY_TICKS: u64 = 60;

fn action(kind: ActionKind, service: &str, instance: Option<u32>) -> Action {
    Action {
        kind,
        service: Some(service.to_owned()),
        instance,
        zone: None,
        params: ActionParams::default(),
    }
}

/// A team's scripted reactions: (tick at which it is submitted, action).
fn script() -> Vec<(u64, Action)> {
    vec![
        (150, action(ActionKind::RestartService, "api", None)),
        (400, action(ActionKind::Rollback, "api", None)),
        (500, action(ActionKind::RestartInstance, "web", Some(1))),
        (800, action(ActionKind::RevertConfig, "web", None)),
        (
            900,
            Action {
                params: ActionParams {
                    count: Some(2),
                    ..ActionParams::default()
                },
                ..action(ActionKind::ScaleOut, "web", None)
            },
        ),
    ]
}

/// Runs the fixture with `seed` and the `actions`: after every tick, its fingerprint, and
/// every [`FULL_HASH_EVERY_TICKS`] ticks (and at the end) the full state hash too.
fn hash_history(seed: u64, actions: &[(u64, Action)]) -> Vec<u64> {
    let (scenario, schedule) = determinism_fixture(seed);
    let mut sim = Simulation::new(scenario, schedule).expect("fixture is valid");
    let mut hashes = Vec::new();
    hashes.push(sim.state_hash());
    let mut next = 0;
    while sim.tick() < RUN_TICKS {
        while let Some((tick, action)) = actions.get(next) {
            if *tick > sim.tick() {
                break;
            }
            sim.submit(action.clone())
                .expect("scripted action is valid");
            next += 1;
        }
        sim.step();
        hashes.push(tick_fingerprint(&sim));
        if sim.tick().is_multiple_of(FULL_HASH_EVERY_TICKS) || sim.tick() == RUN_TICKS {
            hashes.push(sim.state_hash());
        }
    }
    hashes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    #[test]
    fn same_seed_and_actions_give_the_same_hash_every_tick(seed in any::<u64>()) {
        let first = hash_history(seed, &script());
        let second = hash_history(seed, &script());
        prop_assert_eq!(first.len(), second.len());
        for (entry, (a, b)) in first.iter().zip(&second).enumerate() {
            prop_assert_eq!(a, b, "histories diverge at entry {}", entry);
        }
    }

    #[test]
    fn nobody_acting_is_deterministic_too(seed in any::<u64>()) {
        prop_assert_eq!(hash_history(seed, &[]), hash_history(seed, &[]));
    }
}

#[test]
fn the_hash_moves_with_time_seed_and_actions() {
    let quiet = hash_history(1, &[]);
    // The state changes over time (traffic noise, faults): not one frozen hash.
    let distinct: std::collections::BTreeSet<_> = quiet.iter().collect();
    assert!(
        distinct.len() > RUN_TICKS as usize / 2,
        "{}",
        distinct.len()
    );
    // Another seed gives another history.
    assert_ne!(quiet, hash_history(2, &[]));
    // Acting changes the history from the tick the first action takes effect, not before.
    let acted = hash_history(1, &script());
    let first_action_tick = script()[0].0 as usize;
    assert_eq!(quiet[..=first_action_tick], acted[..=first_action_tick]);
    assert_ne!(
        quiet[first_action_tick + 1..],
        acted[first_action_tick + 1..]
    );
}
