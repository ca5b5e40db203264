//! Followers share their leader's per-dependency rows between ticks instead of holding a copy
//! (`systems::followers`). A world restored from a snapshot holds every row itself; it must
//! step exactly like the world it came from, which kept sharing them, through the changes
//! that read or write rows: restarts of a leader and of a follower (and the connections their
//! callers drop), removals, kills for running out of memory. (Rows a missed materialisation
//! gets wrong often make no difference to the results; debug builds also check that no
//! leader's rows change while followers share them, which is what fails then.) Likewise the
//! load balancer's rotation, kept from tick to tick until something it depends on changes, and
//! the services the lifecycle stage has nothing to do for.

mod common;

use std::sync::Arc;

use breakathon_scenario::{ActionKind as A, Scenario};
use breakathon_sim::{Action, ActionParams, FaultSchedule, Simulation};
use common::{Knobs, on, scenario, world};

/// Ticks stepped after each change before the worlds are compared.
const SETTLE_TICKS: u64 = 25;

/// Steps `straight` through `actions` (each submitted at its tick); before each, a world
/// restored from `straight`'s snapshot gets the same action, and after `SETTLE_TICKS` both
/// must have the same state hash.
fn compare_through(s: &Arc<Scenario>, actions: &[(u64, Action)]) -> Simulation {
    let schedule = Arc::new(FaultSchedule::compute(s, s.seed));
    let mut straight = world(s);
    for (at, action) in actions {
        straight.step_until(*at);
        let mut restored =
            Simulation::restore(s.clone(), schedule.clone(), straight.snapshot()).unwrap();
        straight.submit(action.clone()).unwrap();
        restored.submit(action.clone()).unwrap();
        for _ in 0..SETTLE_TICKS {
            straight.step();
            restored.step();
            assert_eq!(
                restored.state_hash(),
                straight.state_hash(),
                "after {action:?} at tick {at}, tick {}",
                straight.tick()
            );
        }
    }
    straight
}

#[test]
fn restarts_and_removals_see_the_rows_followers_share() {
    // db and api overloaded: their callers retry (rows that matter from one tick to the
    // next).
    let s = scenario(
        "",
        Knobs {
            api_cap: 55.0,
            db_cap: 40.0,
            ..Knobs::default()
        },
    );
    let instance = |kind, service, index| Action::on_instance(kind, service, index);
    compare_through(
        &s,
        &[
            // api's first instance leads the others; web calls api (its connections drop).
            (60, instance(A::RestartInstance, "api", 0)),
            (120, instance(A::RestartInstance, "api", 3)),
            (180, instance(A::RestartInstance, "web", 0)),
            (240, on(A::RestartService, "api")),
            (
                320,
                on(A::ScaleIn, "web").with(ActionParams {
                    count: Some(1),
                    ..ActionParams::default()
                }),
            ),
        ],
    );
}

#[test]
fn kills_for_memory_see_the_rows_followers_share() {
    // Every api instance leaks alike: a leader and its followers run out of memory at once.
    let fault = r#"(name: "f", kind: memory_leak(mb_per_min: 3000.0), target: Service("api"), trigger: At("20s"))"#;
    let s = scenario(fault, Knobs::default());
    let sim = compare_through(
        &s,
        &[
            (40, Action::on_instance(A::RestartInstance, "web", 1)),
            (80, Action::on_instance(A::RestartInstance, "web", 2)),
            (120, Action::on_instance(A::RestartInstance, "web", 3)),
        ],
    );
    let oom = sim.logs(Some("api"), Some("OutOfMemoryError"), 0, 100);
    assert!(oom.len() >= 2, "api's instances ran out of memory: {oom:?}");
}

#[test]
fn drains_recompute_the_kept_rotation() {
    // The load balancer's rotation is kept from tick to tick until something it depends on
    // changes (`ServiceState::rotation_kept`); a restored world computes it afresh.
    let s = scenario("", Knobs::default());
    let in_zone = |action: Action, zone: &str| Action {
        zone: Some(zone.into()),
        ..action
    };
    compare_through(
        &s,
        &[
            (40, Action::on_zone(A::DrainZone, "a")),
            (80, Action::on_zone(A::UndrainZone, "a")),
            (120, in_zone(on(A::DrainZone, "api"), "b")),
            (160, in_zone(on(A::UndrainZone, "api"), "b")),
            (
                200,
                in_zone(Action::on_instance(A::DrainZone, "web", 1), "a"),
            ),
        ],
    );
}

#[test]
fn clock_skew_and_freed_disks_redo_the_kept_leader_search() {
    // A service's leader search is kept from tick to tick while nothing it compares changed
    // (`load::find_leaders`); clock skew and freed disks change what it compares.
    let faults = r#"
        (name: "skew", kind: clock_skew(), target: Instance("api", 1), trigger: At("30s")),
        (name: "fill", kind: disk_full(), target: Service("web"), trigger: At("30s"))
    "#;
    let s = scenario(faults, Knobs::default());
    compare_through(
        &s,
        &[
            (20, on(A::FreeDisk, "api")),
            (60, on(A::FreeDisk, "web")),
            (100, Action::on_instance(A::RestartInstance, "api", 1)),
            (140, on(A::FreeDisk, "web")),
        ],
    );
}

#[test]
fn timeout_changes_recompute_the_kept_client_timeouts() {
    // Clients' timeouts are kept from tick to tick until a call edge's timeout is written
    // (`ServiceState::timeouts_kept`); a restored world computes them afresh. db is
    // overloaded: how long api waits for it bounds db's queue, so the timeout matters.
    let s = scenario(
        "",
        Knobs {
            db_cap: 40.0,
            ..Knobs::default()
        },
    );
    compare_through(
        &s,
        &[
            (60, common::set("api", "db.timeout", "50ms")),
            (120, on(A::RevertConfig, "api")),
        ],
    );
}

#[test]
fn restarts_scale_out_and_crash_loops_wake_calm_services() {
    // The resources stage looks for lifecycle work only in services whose instances were
    // not all running with no restart planned when it last looked, or that an incident may
    // strike (`ServiceState::life_kept`); a restored world looks at every service afresh.
    // A rolling restart plans its later batches, a scale-out boots an instance (whose id
    // comes after every other service's), a bad deploy crash-loops until rolled back.
    let fault = r#"(name: "f", kind: bad_deploy(), target: Select(service: "api", pick: One), trigger: At("30s"))"#;
    let s = scenario(fault, Knobs::default());
    let sim = compare_through(
        &s,
        &[
            (20, on(A::RestartService, "db")),
            (
                60,
                on(A::ScaleOut, "web").with(ActionParams {
                    count: Some(1),
                    ..ActionParams::default()
                }),
            ),
            (200, on(A::Rollback, "api")),
            (240, on(A::RestartService, "web")),
        ],
    );
    let crashes = sim.logs(Some("api"), Some("startup exception in v-bad"), 0, 100);
    assert!(!crashes.is_empty(), "api crash-looped");
}

#[test]
fn views_show_a_followers_metrics_as_its_leaders() {
    // A follower's metrics are its leader's, which nothing copies into it: readers go
    // through the leader (`Fleet::tick_of`). The team's view of a world that kept its
    // followers must equal the view of the world restored from its snapshot, where every
    // instance holds its own metrics. api leaks memory, so its metrics change every tick.
    let fault = r#"(name: "f", kind: memory_leak(mb_per_min: 300.0), target: Service("api"), trigger: At("20s"))"#;
    let s = scenario(fault, Knobs::default());
    let schedule = Arc::new(FaultSchedule::compute(&s, s.seed));
    let mut sim = world(&s);
    for at in [30, 60, 90] {
        sim.step_until(at);
        let restored = Simulation::restore(s.clone(), schedule.clone(), sim.snapshot()).unwrap();
        let view = sim.fleet();
        assert_eq!(view, restored.fleet(), "the views at tick {at}");
        // api's four instances in two zones: some follow a leader (the same metrics), and
        // their memory grew.
        let api = view.services.iter().find(|v| v.name == "api").unwrap();
        let metrics: Vec<_> = api.instances.iter().filter_map(|i| i.metrics).collect();
        assert_eq!(metrics.len(), 4, "api's instances at tick {at}");
        assert!(
            metrics[1..].iter().any(|m| *m == metrics[0]) && metrics[0].memory_percent > 0.0,
            "api's instances at tick {at}: {metrics:?}"
        );
    }
}
