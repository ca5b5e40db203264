//! What each incident cost a team, as its debrief and the export show it, against numbers
//! computed here independently: this test steps the team's world and the baseline world (the
//! scenario with no fault) itself, straight from the engine, and applies the rule written in
//! `docs/RULES.md` ("What each incident cost you") with its own code.
//!
//! The scenario: `web` (customer-facing, 0.1 revenue units per request, 50 rps, no noise) calls
//! `db`. Two faults nobody fixes, each lasting 2 minutes, overlapping for one:
//! - `half-web`: bad_config on `web` failing 50 % of requests, from 60 s to 180 s;
//! - `slow-db`: bad_config on `db` failing 30 % of its requests, from 120 s to 240 s.
//!
//! Nobody acts, so an incident is open from its injection until it expires.

use std::sync::Arc;

use breakathon_game::{ExportFormat, IncidentId};
use breakathon_sim::{FaultSchedule, Simulation};
use common::at;

mod common;

const SCENARIO: &str = r#"(
    title: "debrief costs",
    duration: "5m",
    seed: 11,
    services: [
        (name: "web", kind: frontend, customer_facing: true, revenue_per_request: 0.1,
         dependencies: [(service: "db")]),
        (name: "db", kind: database),
    ],
    traffic: (entry_points: [(service: "web", rps: 50.0)], noise_percent: 0.0),
    faults: [
        (name: "half-web", kind: bad_config(error_percent: 50.0), target: Service("web"),
         trigger: At("1m"), duration: "2m"),
        (name: "slow-db", kind: bad_config(error_percent: 30.0), target: Service("db"),
         trigger: At("2m"), duration: "2m"),
    ],
    scoring: (revenue_units_per_point: 10),
)"#;

/// Game length in ticks (1 tick = 1 s).
const END_TICK: u64 = 300;

/// Per incident (and `None` for no incident): revenue lost and requests failed over the game
/// ticks after `joined_tick`, summed by the rule: each tick's loss against the baseline goes
/// to the open incidents whose root is unhealthy, equally, or to all open ones when none is;
/// with none open, to nobody.
fn expected(joined_tick: u64) -> Vec<(Option<IncidentId>, f64, f64)> {
    let scenario = breakathon_scenario::parse_unchecked(SCENARIO).unwrap();
    let schedule = Arc::new(FaultSchedule::compute(&scenario, scenario.seed));
    let mut clean = scenario.clone();
    clean.faults.clear();
    let mut world = Simulation::new(Arc::new(scenario), schedule).unwrap();
    let mut baseline = Simulation::new(Arc::new(clean), Arc::default()).unwrap();
    let mut sums: Vec<(Option<IncidentId>, f64, f64)> = vec![
        (None, 0.0, 0.0),
        (Some(IncidentId(0)), 0.0, 0.0),
        (Some(IncidentId(1)), 0.0, 0.0),
    ];
    for tick in 1..=END_TICK {
        world.step();
        baseline.step();
        if tick <= joined_tick {
            continue;
        }
        let (w, b) = (world.last_tick_report(), baseline.last_tick_report());
        let revenue = b.revenue_units - w.revenue_units;
        let failed = w.requests_failed - b.requests_failed;
        // Nobody acts: open means injected and not expired.
        let open: Vec<_> = world
            .incidents()
            .iter()
            .filter(|s| s.ended_tick.is_none())
            .collect();
        let unhealthy: Vec<_> = open.iter().filter(|s| !s.healthy).collect();
        let blamed: Vec<Option<IncidentId>> = if open.is_empty() {
            vec![None]
        } else if unhealthy.is_empty() {
            open.iter().map(|s| Some(s.id)).collect()
        } else {
            unhealthy.iter().map(|s| Some(s.id)).collect()
        };
        for id in &blamed {
            let sum = sums.iter_mut().find(|s| s.0 == *id).unwrap();
            sum.1 += revenue / blamed.len() as f64;
            sum.2 += failed / blamed.len() as f64;
        }
    }
    sums
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

#[test]
fn the_debrief_says_what_each_incident_cost_by_the_written_rule() {
    let expected = expected(0);
    // The scenario does what it says: both incidents cost something, and while both were
    // open and unhealthy they shared the loss.
    assert!(
        expected[1].1 > 100.0 && expected[2].1 > 50.0,
        "{expected:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let mut game = common::open_manual(dir.path(), "debrief-costs.ron", SCENARIO);
    let team = game.create_team("Watchers").unwrap().0.id;
    game.start(0).unwrap();
    at(&mut game, END_TICK);
    let debrief = game.debrief(team).unwrap();
    assert_costs(&debrief, &expected);
    assert_eq!(debrief.unattributed_requests_failed, round2(expected[0].2));

    // The export's per-incident results carry the same figures.
    let exported = game.results();
    let row = exported
        .incidents
        .iter()
        .find(|r| r.team == team && r.incident == IncidentId(0))
        .unwrap();
    assert_eq!(row.revenue_lost_units, round2(expected[1].1));
    let Ok(breakathon_game::Export::Csv(files)) = game.export(ExportFormat::Csv) else {
        panic!("csv export");
    };
    let incidents_csv = &files.iter().find(|f| f.0 == "incidents.csv").unwrap().1;
    assert!(
        incidents_csv
            .lines()
            .next()
            .unwrap()
            .ends_with("points,revenue_lost_units,revenue_lost_points,requests_failed")
    );
}

#[test]
fn replay_and_recovery_reproduce_the_costs() {
    let dir = tempfile::tempdir().unwrap();
    let mut game = common::open_manual(dir.path(), "debrief-costs.ron", SCENARIO);
    let team = game.create_team("Watchers").unwrap().0.id;
    game.start(0).unwrap();
    at(&mut game, 150);
    game.checkpoint().unwrap();
    at(&mut game, END_TICK);
    let live = game.debrief(team).unwrap();
    let hash = game.state_hash();
    drop(game);
    // Recovered from the checkpoint at 150 (the baseline is rebuilt from the scenario).
    let game = common::open_manual(dir.path(), "debrief-costs.ron", SCENARIO);
    assert_eq!(game.state_hash(), hash);
    assert_eq!(game.debrief(team).unwrap(), live);
}

#[test]
fn a_late_team_counts_its_costs_from_when_it_joined() {
    let joined_tick = 90;
    let expected = expected(joined_tick);
    let dir = tempfile::tempdir().unwrap();
    let mut game = common::open_manual(dir.path(), "debrief-costs.ron", SCENARIO);
    game.create_team("Early").unwrap();
    game.start(0).unwrap();
    at(&mut game, joined_tick);
    let late = game.create_team("Late").unwrap().0.id;
    at(&mut game, END_TICK);
    let debrief = game.debrief(late).unwrap();
    assert_costs(&debrief, &expected);
}

/// Checks a debrief's per-incident costs (revenue lost in units and points, requests failed)
/// and its unattributed revenue against `expected` (`[0]` is the unattributed remainder).
fn assert_costs(debrief: &breakathon_game::Debrief, expected: &[(Option<IncidentId>, f64, f64)]) {
    for (id, revenue, failed) in &expected[1..] {
        let incident = debrief
            .incidents
            .iter()
            .find(|i| Some(i.result.incident) == *id)
            .unwrap();
        assert_eq!(
            incident.result.revenue_lost_units,
            round2(*revenue),
            "{id:?}"
        );
        assert_eq!(incident.result.requests_failed, round2(*failed), "{id:?}");
        assert_eq!(
            incident.result.revenue_lost_points,
            round2(revenue / 10.0),
            "{id:?}: 10 revenue units per point"
        );
    }
    assert_eq!(
        debrief.unattributed_revenue_lost_units,
        round2(expected[0].1)
    );
}
