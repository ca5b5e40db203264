//! Actions are validated with clear errors and take effect at the next tick boundary.

mod common;

use breakathon_scenario::ActionKind as A;
use breakathon_sim::{Action, ActionError, ActionParams, InstancePhase};
use common::{Knobs, on, scenario, set, world};

#[test]
fn invalid_actions_are_refused_with_a_sentence() {
    let s = scenario("", Knobs::default());
    let mut sim = world(&s);
    let err = sim.submit(on(A::RestartService, "paymnts")).unwrap_err();
    assert_eq!(err, ActionError::UnknownService("paymnts".into()));
    let err = sim.submit(on(A::WarmCache, "api")).unwrap_err();
    assert!(matches!(err, ActionError::InvalidForKind { .. }));
    assert!(err.to_string().contains("cache"), "{err}");
    let err = sim.submit(on(A::RestartService, "payments")).unwrap_err();
    assert!(
        matches!(err, ActionError::InvalidForKind { .. }),
        "an external API is not ours"
    );
    let err = sim
        .submit(Action::on_instance(A::RestartInstance, "api", 9))
        .unwrap_err();
    assert!(matches!(err, ActionError::UnknownInstance { index: 9, .. }));
    let err = sim.submit(Action::on_zone(A::DrainZone, "z")).unwrap_err();
    assert_eq!(err, ActionError::UnknownZone("z".into()));
    let err = sim.submit(on(A::RestartInstance, "api")).unwrap_err();
    assert!(matches!(err, ActionError::Missing { .. }));
    let err = sim.submit(set("api", "pool_size", "lots")).unwrap_err();
    assert!(err.to_string().contains("pool_size"), "{err}");
    let err = sim.submit(set("api", "nosuch.pool_size", "5")).unwrap_err();
    assert!(matches!(err, ActionError::BadParam { .. }));
    let err = sim
        .submit(on(A::ToggleFlag, "web").with(ActionParams {
            flag: Some("nope".into()),
            ..ActionParams::default()
        }))
        .unwrap_err();
    assert!(
        err.to_string().contains("new_checkout"),
        "lists known flags: {err}"
    );
    let err = sim
        .submit(on(A::ScaleIn, "recs").with(ActionParams {
            count: Some(2),
            ..ActionParams::default()
        }))
        .unwrap_err();
    assert!(err.to_string().contains("at least one"), "{err}");
}

#[test]
fn actions_take_effect_at_the_next_tick_with_realistic_delays() {
    let s = scenario("", Knobs::default());
    let mut sim = world(&s);
    sim.step_until(10);
    let effective = sim
        .submit(Action::on_instance(A::RestartInstance, "api", 2))
        .unwrap();
    assert_eq!(effective, 10);
    let phase = |sim: &breakathon_sim::Simulation| {
        sim.fleet()
            .services
            .into_iter()
            .find(|s| s.name == "api")
            .and_then(|s| s.instances.into_iter().find(|i| i.index == 2))
            .map(|i| i.phase)
    };
    assert_eq!(
        phase(&sim),
        Some(InstancePhase::Running),
        "not before the tick"
    );
    sim.step();
    assert_eq!(phase(&sim), Some(InstancePhase::Booting));
    sim.step_until(10 + 31);
    assert_eq!(
        phase(&sim),
        Some(InstancePhase::WarmingUp),
        "boots for 30 s, then warms up"
    );
    sim.step_until(10 + 70);
    assert_eq!(phase(&sim), Some(InstancePhase::Running));
    // Scaling out adds booting instances with new indices.
    sim.submit(on(A::ScaleOut, "api").with(ActionParams {
        count: Some(2),
        ..ActionParams::default()
    }))
    .unwrap();
    sim.step();
    let fleet = sim.fleet();
    let api = fleet.services.iter().find(|s| s.name == "api").unwrap();
    assert_eq!(api.instances.len(), 6);
    assert!(
        api.instances
            .iter()
            .filter(|i| i.index >= 4)
            .all(|i| i.phase == InstancePhase::Booting)
    );
    // Config changes are visible.
    sim.submit(set("api", "db.timeout", "250ms")).unwrap();
    sim.step();
    let fleet = sim.fleet();
    let api = fleet.services.iter().find(|s| s.name == "api").unwrap();
    let db = api.dependencies.iter().find(|d| d.service == "db").unwrap();
    assert_eq!(db.timeout_ms, 250.0);
}

#[test]
fn decoys_fire_as_alerts_with_nothing_behind_them() {
    let mut scenario = (*scenario("", Knobs::default())).clone();
    scenario.decoys.push(breakathon_scenario::Decoy {
        name: "disk almost full".into(),
        service: "db".into(),
        message: "disk usage above 85% on db".into(),
        at: breakathon_scenario::SimDuration::from_secs(30),
        duration: breakathon_scenario::SimDuration::from_secs(60),
    });
    let mut sim = world(&std::sync::Arc::new(scenario));
    sim.step_until(40);
    let alerts = sim.alerts();
    let decoy = alerts
        .iter()
        .find(|a| a.name == "disk almost full")
        .unwrap();
    assert!(decoy.firing);
    assert!(sim.incidents().is_empty(), "a decoy is not an incident");
    assert!(sim.last_tick_report().slo_breached.is_empty());
    sim.step_until(100);
    assert!(!sim.alerts().iter().any(|a| a.firing));
}

#[test]
fn default_alerts_fire_on_slo_breaches() {
    let fault = r#"(name: "f", kind: bad_config(error_percent: 50.0), target: Service("web"), trigger: At("30s"))"#;
    let s = scenario(fault, Knobs::default());
    let mut sim = world(&s);
    sim.step_until(100);
    let alerts = sim.alerts();
    assert!(
        alerts
            .iter()
            .any(|a| a.firing && a.name == "web error rate above SLO"),
        "{alerts:?}"
    );
}

#[test]
fn when_faults_fire_per_world_from_its_own_state() {
    let faults = r#"
        (name: "hog", kind: cpu_saturation(cpu_percent: 80.0), target: Service("api"), trigger: At("60s")),
        (name: "fill", kind: disk_full(), target: Service("api"),
         trigger: When((metric: cpu_percent, service: "api", op: above, threshold: 90.0, for: "30s")))
    "#;
    let s = scenario(faults, Knobs::default());
    let mut hogged = world(&s);
    hogged.step_until(200);
    let fired: Vec<_> = hogged
        .incidents()
        .iter()
        .map(|i| (i.id.0, i.inject_tick))
        .collect();
    assert_eq!(fired.len(), 2, "{fired:?}");
    assert!(fired[1].1 >= 90 && fired[1].1 <= 95, "{fired:?}");
    assert_eq!(fired[1].0, 1, "conditional ids follow the scheduled ones");
    // A team that kills the runaway job before the condition holds long enough never gets it.
    let mut quick = world(&s);
    quick.step_until(70);
    quick.submit(on(A::KillJob, "api")).unwrap();
    quick.step_until(200);
    assert_eq!(quick.incidents().len(), 1);
}
