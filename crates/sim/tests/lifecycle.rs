//! The lifecycle stage and the services it knows calm (`ServiceState::life_kept`): an
//! instance down for good leaves its service calm, and still comes back when restarted.

mod common;

use breakathon_scenario::ActionKind;
use breakathon_sim::{Action, InstancePhase};
use common::{Knobs, run, scenario};

/// Instance 1 of `api` crashes at 30 s and stays down (nobody restarts a crashed instance
/// but the team).
const API_1_DOWN: &str =
    r#"(name: "api-1-down", kind: crash, target: Instance("api", 1), trigger: At("30s"))"#;

/// The phase of instance `index` of `api`.
fn api_phase(sim: &breakathon_sim::Simulation, index: u32) -> Option<InstancePhase> {
    let fleet = sim.fleet();
    let api = fleet.services.into_iter().find(|s| s.name == "api")?;
    api.instances
        .into_iter()
        .find(|i| i.index == index)
        .map(|i| i.phase)
}

#[test]
fn an_instance_down_for_good_comes_back_when_restarted() {
    let s = scenario(API_1_DOWN, Knobs::default());
    let down = run(&s, &[], 90);
    assert_eq!(api_phase(&down.sim, 1), Some(InstancePhase::Down));
    assert_eq!(api_phase(&down.sim, 0), Some(InstancePhase::Running));
    // Restarted at 90 s: it boots for 30 s, then warms up and serves.
    let restart = Action::on_instance(ActionKind::RestartInstance, "api", 1);
    let booting = run(&s, &[(90, restart.clone())], 100);
    assert_eq!(api_phase(&booting.sim, 1), Some(InstancePhase::Booting));
    let back = run(&s, &[(90, restart)], 130);
    assert_eq!(api_phase(&back.sim, 1), Some(InstancePhase::WarmingUp));
}
