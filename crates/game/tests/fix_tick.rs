//! The fix tick against the tutorial's crash: the first tick of the sustain window is the
//! first tick the team's own metrics show the root service healthy, never the last unhealthy
//! one (QA finding F6: the instance finished booting at the end of a tick it did not serve,
//! and that tick was taken as the fix tick).

use breakathon_game::{Action, Game, IncidentPhase};
use breakathon_scenario::{ActionKind, FaultClass};

mod common;

fn tutorial(dir: &std::path::Path) -> Game {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scenarios/tutorial.ron");
    let source = std::fs::read_to_string(path).unwrap();
    common::open_manual(dir, "tutorial.ron", &source)
}

#[test]
fn the_fix_tick_is_the_first_tick_the_root_service_is_healthy() {
    let dir = tempfile::tempdir().unwrap();
    let mut game = tutorial(dir.path());
    let team = game.create_team("Restarter").unwrap().0.id;
    game.start(0).unwrap();
    game.advance(240).unwrap();
    // The crash (3m) took down one instance of shop-api; find which from the fleet.
    let fleet = game.world(team).unwrap().fleet();
    let shop = fleet
        .services
        .iter()
        .find(|s| s.name == "shop-api")
        .unwrap();
    let down = shop
        .instances
        .iter()
        .find(|i| !matches!(i.phase, breakathon_sim::InstancePhase::Running))
        .expect("one shop-api instance is down")
        .index;
    game.act(
        team,
        Action::on_instance(ActionKind::RestartInstance, "shop-api", down),
    )
    .unwrap();
    game.advance(200).unwrap();
    let crash = game
        .team_incidents(team)
        .unwrap()
        .into_iter()
        .find(|i| i.class == FaultClass::Crash)
        .expect("the crash is fixed, so it is listed");
    assert_eq!(crash.phase, IncidentPhase::Fixed);
    let fixed = crash.fixed_s.unwrap() as u64;
    let sustain = 45;
    let points = game.world(team).unwrap().metrics("shop-api", 200).unwrap();
    let healthy_at = |t: u64| {
        let p = points.iter().find(|p| p.tick == t).unwrap();
        p.healthy_percent >= 100.0
    };
    // Pinned: restart at 240 takes effect at 240, shop-api boots for 30 s, serves from 271.
    assert!(
        !healthy_at(fixed - 1),
        "still unhealthy just before the fix"
    );
    assert!(
        (fixed..fixed + sustain).all(healthy_at),
        "healthy over the whole window [{fixed}, {})",
        fixed + sustain
    );
    assert_eq!(fixed, 271);
}

/// QA F6, second repro: rolling checkout back during its memory leak restarts its instances;
/// the fix tick is the first tick both serve again (healthy_percent 100), not the tick the
/// last one finished booting.
#[test]
fn a_rollback_is_fixed_when_the_restarted_instances_serve_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut game = tutorial(dir.path());
    let team = game.create_team("Roller").unwrap().0.id;
    game.start(0).unwrap();
    game.advance(420).unwrap();
    game.act(
        team,
        Action::on_service(ActionKind::Rollback, "checkout").with(breakathon_game::ActionParams {
            version: Some("v11".into()),
            ..Default::default()
        }),
    )
    .unwrap();
    game.advance(240).unwrap();
    let leak = game
        .team_incidents(team)
        .unwrap()
        .into_iter()
        .find(|i| i.class == FaultClass::MemoryLeak)
        .expect("the leak is fixed, so it is listed");
    assert_eq!(leak.phase, IncidentPhase::Fixed);
    let fixed = leak.fixed_s.unwrap() as u64;
    let points = game.world(team).unwrap().metrics("checkout", 400).unwrap();
    let healthy_at = |t: u64| {
        let p = points.iter().find(|p| p.tick == t).unwrap();
        p.healthy_percent >= 100.0
    };
    assert!(
        !healthy_at(fixed - 1),
        "still restarting just before {fixed}"
    );
    assert!((fixed..fixed + 45).all(healthy_at));
}
