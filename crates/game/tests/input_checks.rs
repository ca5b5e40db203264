//! Team and judge inputs at the edges: refused with a clear sentence, never booked or
//! journaled, never echoed back in full.

use breakathon_game::{
    Action, Audience, Declaration, DeclaredTarget, Game, GameError, Notification, TeamId,
};
use breakathon_scenario::{ActionKind, FaultClass};
use breakathon_sim::ActionParams;
use common::at;

mod common;

/// `web` has config keys of its own, one of which a `bad_config` fault breaks at 60 s; `db`
/// has none and no feature flags; one hint unlocks 30 s after the fault.
const SCENARIO: &str = r#"(
    title: "input checks",
    duration: "10m",
    seed: 3,
    zones: [(name: "main")],
    services: [
        (name: "web", kind: frontend, customer_facing: true, version: "v7",
         config: {"search_page_size": "24"}, dependencies: [(service: "db")]),
        (name: "db", kind: database),
    ],
    traffic: (entry_points: [(service: "web", rps: 20.0)]),
    faults: [
        (name: "page", kind: bad_config(key: "search_page_size", value: "0", error_percent: 30.0),
         target: Service("web"), trigger: At("1m")),
    ],
    hints: [(fault: "page", text: "look at web's config", cost: 15, unlock_after: "30s")],
)"#;

fn open(dir: &std::path::Path) -> (Game, TeamId) {
    let mut game = common::open_manual(dir, "input-checks.ron", SCENARIO);
    let team = game.create_team("Green").unwrap().0.id;
    game.start(0).unwrap();
    (game, team)
}

fn params(f: impl FnOnce(&mut ActionParams)) -> ActionParams {
    let mut p = ActionParams::default();
    f(&mut p);
    p
}

fn refused(result: Result<impl std::fmt::Debug, GameError>) -> String {
    match result {
        Err(GameError::BadRequest(message)) => message,
        other => panic!("expected a bad request, got {other:?}"),
    }
}

#[test]
fn actions_with_bad_values_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut game, team) = open(dir.path());
    at(&mut game, 5);
    let seq = game.journal_seq();
    let web = |kind| Action::on_service(kind, "web");
    for version in ["", "  ", &"v".repeat(65), "v\u{0}8"] {
        let action = web(ActionKind::RollForward).with(params(|p| {
            p.version = Some(version.into());
        }));
        let err = refused(game.act(team, action));
        assert!(err.contains("a version has 1 to 64 characters"), "{err}");
    }
    let set = |key: &str, value: &str| {
        web(ActionKind::SetConfig).with(params(|p| {
            p.key = Some(key.into());
            p.value = Some(value.into());
        }))
    };
    let err = refused(game.act(team, set("nope", "1")));
    assert!(
        err.contains(
            "unknown config key `nope` (keys: circuit_breaker, pool_size, rate_limit, retries, \
             search_page_size, timeout)"
        ),
        "{err}"
    );
    let err = refused(game.act(team, set("search_page_size", &"9".repeat(5_000))));
    assert!(err.contains("at most 256 characters"), "{err}");
    let flag = Action::on_service(ActionKind::ToggleFlag, "db").with(params(|p| {
        p.flag = Some("dark_mode".into());
    }));
    let err = refused(game.act(team, flag));
    assert!(err.contains("this service has no feature flags"), "{err}");
    assert!(!err.contains("(flags: )"), "{err}");
    let long = "x".repeat(5_000);
    let err = refused(game.act(team, Action::on_service(ActionKind::RestartService, &long)));
    assert!(err.chars().count() < 200, "{err}");
    assert!(err.contains('…'), "{err}");
    assert_eq!(game.journal_seq(), seq, "nothing refused was journaled");

    // The scenario's own key (the one the bad_config fault breaks) stays settable, before and
    // after the fault; so do the built-in keys, also for one dependency.
    game.act(team, set("search_page_size", "20")).unwrap();
    at(&mut game, 70);
    game.act(team, set("search_page_size", "24")).unwrap();
    game.act(team, set("db.timeout", "2s")).unwrap();
    let forward = web(ActionKind::RollForward).with(params(|p| p.version = Some("v8".into())));
    game.act(team, forward).unwrap();
}

#[test]
fn declarations_and_notifications_that_cannot_be_right_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut game, team) = open(dir.path());
    at(&mut game, 5);
    let seq = game.journal_seq();
    let err = refused(game.declare(
        team,
        Declaration {
            target: DeclaredTarget::Zone("main".into()),
            class: FaultClass::Crash,
        },
    ));
    assert!(
        err.contains(
            "zone fault classes are: packet_loss, network_partition, zone_outage, noisy_neighbor"
        ),
        "{err}"
    );
    let long = "z".repeat(5_000);
    let err = refused(game.declare(
        team,
        Declaration {
            target: DeclaredTarget::Zone(long),
            class: FaultClass::ZoneOutage,
        },
    ));
    assert!(err.chars().count() < 200, "{err}");
    let notification = |message: &str, service: Option<&str>, zone: Option<&str>| Notification {
        audience: Audience::CustomerService,
        message: message.into(),
        service: service.map(Into::into),
        zone: zone.map(Into::into),
    };
    let err = refused(game.notify(team, notification("down", Some("web"), Some("main"))));
    assert!(err.contains("at most one of `service` or `zone`"), "{err}");
    for message in ["web\u{0}down", "web \u{1b}[31mdown", "web\u{7f}"] {
        let err = refused(game.notify(team, notification(message, None, None)));
        assert!(err.contains("control characters"), "{err}");
    }
    let err = refused(game.adjust(team, 5, "late\u{0}"));
    assert!(err.contains("control characters"), "{err}");
    assert_eq!(game.journal_seq(), seq, "nothing refused was journaled");
    assert!(
        game.ledger(team).unwrap().is_empty(),
        "no false alarm booked"
    );
    game.notify(
        team,
        notification("web is slow;\n\tlooking", Some("web"), None),
    )
    .unwrap();
    // A zone class on the zone is judged (no such incident: a false alarm).
    game.declare(
        team,
        Declaration {
            target: DeclaredTarget::Zone("main".into()),
            class: FaultClass::ZoneOutage,
        },
    )
    .unwrap();
}

#[test]
fn a_hint_not_yet_available_and_one_that_does_not_exist_get_the_same_answer() {
    let dir = tempfile::tempdir().unwrap();
    let (mut game, team) = open(dir.path());
    at(&mut game, 5);
    let answer = |game: &mut Game, hint: u32| match game.take_hint(team, hint) {
        Err(GameError::NotFound(message)) => message.replace(&hint.to_string(), "N"),
        other => panic!("expected not found, got {other:?}"),
    };
    let locked = answer(&mut game, 0);
    assert_eq!(locked, answer(&mut game, 1));
    assert_eq!(locked, answer(&mut game, 99));
    at(&mut game, 95);
    game.take_hint(team, 0).unwrap();
}
