//! The tutorial played well: each fault fixed with the action its hint names, a minute after
//! it strikes. Every incident is resolved, and health holds for the sustain window after.

use std::sync::Arc;

use breakathon_scenario::ActionKind as A;
use breakathon_sim::{Action, FaultSchedule, Simulation};

/// How long after injection the team acts, ticks.
const REACTION_TICKS: u64 = 60;

#[test]
fn the_tutorial_is_winnable_with_the_hinted_actions() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scenarios/tutorial.ron");
    let text = std::fs::read_to_string(path).expect("tutorial");
    let scenario = Arc::new(breakathon_scenario::parse_unchecked(&text).expect("parses"));
    let schedule = Arc::new(FaultSchedule::compute(&scenario, scenario.seed));
    let crashed = schedule.incidents[0].instances[0].index;
    let plan: Vec<(u64, Action)> = vec![
        (
            schedule.incidents[0].inject_tick + REACTION_TICKS,
            Action::on_instance(A::RestartInstance, "shop-api", crashed),
        ),
        (
            schedule.incidents[1].inject_tick + REACTION_TICKS,
            Action::on_service(A::Rollback, "checkout"),
        ),
        (
            schedule.incidents[2].inject_tick + REACTION_TICKS,
            Action::on_service(A::RevertConfig, "web"),
        ),
    ];
    let mut sim = Simulation::new(scenario.clone(), schedule.clone()).expect("builds");
    let end = scenario.duration.to_ticks(scenario.tick);
    let sustain = scenario.sustain.to_ticks(scenario.tick);
    let mut healthy_since = vec![None::<u64>; schedule.incidents.len()];
    let mut fixed_at = vec![None::<u64>; schedule.incidents.len()];
    while sim.tick() < end {
        for (at, action) in &plan {
            if *at == sim.tick() {
                sim.submit(action.clone()).expect("valid");
            }
        }
        sim.step();
        let tick = sim.tick() - 1;
        for (k, incident) in sim.incidents().iter().enumerate() {
            let Some(resolved) = incident.resolved_tick else {
                continue;
            };
            if incident.healthy {
                let since = *healthy_since[k].get_or_insert(tick.max(resolved));
                if tick + 1 - since >= sustain && fixed_at[k].is_none() {
                    fixed_at[k] = Some(since);
                }
            } else {
                healthy_since[k] = None;
            }
        }
    }
    for (k, incident) in sim.incidents().iter().enumerate() {
        let planned = plan[k].0;
        assert_eq!(incident.resolved_tick, Some(planned), "{incident:?}");
        let fixed =
            fixed_at[k].unwrap_or_else(|| panic!("incident {k} never held health: {incident:?}"));
        // Fixed within a few minutes of acting (boot, warm-up, probes).
        assert!(
            fixed < planned + 180,
            "incident {k} fixed at {fixed}, acted at {planned}"
        );
    }
}
