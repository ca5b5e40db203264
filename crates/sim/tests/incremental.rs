//! Incremental checkpoints: a base snapshot (everything but the rings' contents) plus the
//! ring deltas of every checkpoint so far, each through its byte encoding, restore a world
//! that then steps exactly like one that ran straight through; a missing delta is refused.

use std::sync::Arc;

use breakathon_scenario::Scenario;
use breakathon_sim::history::RingSlice;
use breakathon_sim::{FaultSchedule, RingDelta, RingMarks, Simulation, WorldSnapshot};
use proptest::prelude::*;

/// The fixture scenario: two zones, five services, faults of every trigger kind.
const FIXTURE: &str = include_str!("fixtures/determinism.ron");

/// Ticks simulated per run.
const RUN_TICKS: u64 = 1_800;

fn setup(seed: u64) -> (Arc<Scenario>, Arc<FaultSchedule>) {
    let mut scenario = breakathon_scenario::parse_unchecked(FIXTURE).expect("fixture parses");
    scenario.seed = seed;
    let schedule = Arc::new(FaultSchedule::compute(&scenario, seed));
    (Arc::new(scenario), schedule)
}

/// A delta through its byte encoding, one kind per chunk (as a journal stores them).
fn through_bytes(delta: &RingDelta) -> Vec<RingDelta> {
    let recent = RingDelta::decode_points(&RingDelta::encode_points(&delta.recent)).unwrap();
    let old = RingDelta::decode_points(&RingDelta::encode_points(&delta.old)).unwrap();
    let logs = RingDelta::decode_logs(&RingDelta::encode_logs(&delta.logs)).unwrap();
    vec![
        RingDelta {
            recent,
            ..RingDelta::default()
        },
        RingDelta {
            old,
            ..RingDelta::default()
        },
        RingDelta {
            logs,
            ..RingDelta::default()
        },
    ]
}

/// Runs to `k`, taking a checkpoint every `every` ticks; returns the world, the base at `k`
/// and every checkpoint's chunks.
fn checkpointed(seed: u64, k: u64, every: u64) -> (Simulation, WorldSnapshot, Vec<RingDelta>) {
    let (scenario, schedule) = setup(seed);
    let mut sim = Simulation::new(scenario, schedule).expect("valid");
    let mut marks = RingMarks::default();
    let mut chunks = Vec::new();
    while sim.tick() < k {
        sim.step_until((sim.tick() + every).min(k));
        chunks.extend(through_bytes(&sim.ring_delta(&marks)));
        marks = sim.ring_marks();
    }
    let base = via_json(&sim.snapshot_base());
    (sim, base, chunks)
}

fn via_json(snapshot: &WorldSnapshot) -> WorldSnapshot {
    serde_json::from_str(&serde_json::to_string(snapshot).unwrap()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4))]

    #[test]
    fn base_plus_deltas_restores_a_world_that_steps_like_the_original(
        seed in any::<u64>(),
        k in 1u64..RUN_TICKS,
        every in 7u64..400,
    ) {
        let (mut original, base, chunks) = checkpointed(seed, k, every);
        let (scenario, schedule) = setup(seed);
        let mut restored =
            Simulation::restore_incremental(scenario, schedule, base, &chunks).expect("complete");
        prop_assert_eq!(restored.state_hash(), original.state_hash());
        let end = (k + 300).min(RUN_TICKS);
        original.step_until(end);
        restored.step_until(end);
        prop_assert_eq!(restored.state_hash(), original.state_hash());
    }
}

#[test]
fn rings_full_and_evicting_rebuild_exactly() {
    // 30 minutes: 1,800 recent points per service pushed (600 kept), 20 downsampled, the log
    // ring evicting if the fixture is chatty.
    let (original, base, chunks) = checkpointed(5, RUN_TICKS, 60);
    let (scenario, schedule) = setup(5);
    let restored = Simulation::restore_incremental(scenario, schedule, base, &chunks).unwrap();
    assert_eq!(restored.state_hash(), original.state_hash());
    assert_eq!(
        restored.metrics("api", 0).unwrap(),
        original.metrics("api", 0).unwrap()
    );
    assert_eq!(
        restored.logs(None, None, 0, usize::MAX),
        original.logs(None, None, 0, usize::MAX)
    );
}

#[test]
fn a_missing_chunk_is_refused() {
    let (_, base, mut chunks) = checkpointed(9, 900, 60);
    // Drop the recent points of the last checkpoint (every third chunk is a kind).
    let recent_chunks: Vec<usize> = (0..chunks.len())
        .filter(|&i| !chunks[i].recent.is_empty())
        .collect();
    let last = *recent_chunks.last().unwrap();
    assert!(chunks[last].recent.iter().any(|s| !s.items.is_empty()));
    chunks[last].recent = vec![RingSlice::default(); chunks[last].recent.len()];
    let (scenario, schedule) = setup(9);
    let err = Simulation::restore_incremental(scenario, schedule, base, &chunks).unwrap_err();
    assert!(err.to_string().contains("misses item"), "{err}");
}

#[test]
fn a_truncated_chunk_is_an_error_not_a_panic() {
    let (sim, _, _) = checkpointed(2, 300, 300);
    let delta = sim.ring_delta(&RingMarks::default());
    let points = RingDelta::encode_points(&delta.recent);
    let logs = RingDelta::encode_logs(&delta.logs);
    for cut in [1, 5, points.len() / 2, points.len() - 1] {
        assert!(RingDelta::decode_points(&points[..cut]).is_err());
    }
    for cut in [1, 11, logs.len() / 2, logs.len() - 1] {
        assert!(RingDelta::decode_logs(&logs[..cut]).is_err());
    }
}
