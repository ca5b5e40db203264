//! Scripted teams at exact ticks against a tiny scenario whose numbers can be checked by hand.
//!
//! The scenario: tick 1 s, 10 minutes, sustain 30 s, no revenue (no service earns any), and
//! two telemetry outages — the service keeps serving, so customers never complain and no SLO
//! is breached; health is back the very tick `restore_telemetry` takes effect:
//! - incident 0: `dark-db`, telemetry_outage on service `db` at 60 s, until fixed;
//! - incident 1: `dark-web`, telemetry_outage on service `web` at 180 s, lasting 2 minutes
//!   (it expires at 300 s unless fixed).
//!
//! Weights: detection 50, fix 100, full within a 1-minute grace, then linear over 10 minutes
//! to a 30 % floor (15 and 30); ahead of the customer +25; communication +10; first to fix +20;
//! false alarm −20; hint 0 (about `dark-db`, unlocks 30 s after it) costs 15.

use breakathon_game::{
    Action, Audience, ClockMode, Declaration, DeclaredTarget, ExportFormat, Game, GameError,
    GameOptions, GameState, IncidentId, IncidentPhase, LedgerKind, Notification, Principal, Ruling,
    TeamId, Verdict,
};
use breakathon_scenario::{ActionKind, FaultClass};
use common::{at, ledger};

mod common;

const SCENARIO: &str = r#"(
    title: "referee test",
    duration: "10m",
    sustain: "30s",
    seed: 7,
    freeze_at: "8m",
    services: [
        (name: "web", kind: frontend, customer_facing: true, dependencies: [(service: "db")]),
        (name: "db", kind: database),
    ],
    traffic: (entry_points: [(service: "web", rps: 20.0)], noise_percent: 0.0),
    faults: [
        (name: "dark-db", kind: telemetry_outage, target: Service("db"), trigger: At("1m")),
        (name: "dark-web", kind: telemetry_outage, target: Service("web"), trigger: At("3m"),
         duration: "2m"),
    ],
    hints: [(fault: "dark-db", text: "db's metrics pipeline is down", cost: 15, unlock_after: "30s")],
    announcements: [(at: "2m", message: "halfway to lunch")],
    scoring: (grace: "1m", decay: "10m", floor_percent: 30),
)"#;

fn options(dir: &std::path::Path, clock: ClockMode) -> GameOptions {
    common::options(dir, "referee-test.ron", SCENARIO, clock)
}

fn declare(game: &mut Game, team: TeamId, service: &str, class: FaultClass) -> Verdict {
    game.declare(
        team,
        Declaration {
            target: DeclaredTarget::Service(service.into()),
            class,
        },
    )
    .unwrap()
    .verdict
}

struct Teams {
    perfect: TeamId,
    sloppy: TeamId,
    restarter: TeamId,
    idle: TeamId,
}

/// Plays the whole script; returns the game and the state hash seen at tick 150.
fn play(dir: &std::path::Path) -> (Game, Teams, u64) {
    let opened = Game::open(options(dir, ClockMode::Manual), 0).unwrap();
    let mut game = opened.game;
    let perfect = game.create_team("Perfect").unwrap().0.id;
    let sloppy = game.create_team("Sloppy").unwrap().0.id;
    let restarter = game.create_team("Restarter").unwrap().0.id;
    let idle = game.create_team("Idle").unwrap().0.id;
    game.start(0).unwrap();

    at(&mut game, 30);
    // Sloppy: nothing is open yet — a false alarm.
    assert_eq!(
        declare(&mut game, sloppy, "web", FaultClass::Crash),
        Verdict::FalseAlarm
    );

    at(&mut game, 70);
    game.act(
        restarter,
        Action::on_instance(ActionKind::RestartInstance, "db", 0),
    )
    .unwrap();

    at(&mut game, 90);
    // Perfect: TTD 90 − 60 = 30 s (within grace) → 50, no complaint yet → +25.
    assert_eq!(
        declare(&mut game, perfect, "db", FaultClass::TelemetryOutage),
        Verdict::Correct
    );
    // A second correct declaration earns nothing.
    assert_eq!(
        declare(&mut game, perfect, "db", FaultClass::TelemetryOutage),
        Verdict::Duplicate
    );
    game.notify(
        perfect,
        Notification {
            audience: Audience::CustomerService,
            message: "db metrics are dark; customers unaffected".into(),
            service: None,
            zone: None,
        },
    )
    .unwrap();
    let accepted = game
        .act(
            perfect,
            Action::on_service(ActionKind::RestoreTelemetry, "db"),
        )
        .unwrap();
    assert_eq!(
        accepted.apply_tick, 90,
        "takes effect at the start of the next tick"
    );
    // Sloppy: right service, wrong class → false alarm; then buys the hint (available at 90).
    assert_eq!(
        declare(&mut game, sloppy, "db", FaultClass::DependencyLatency),
        Verdict::FalseAlarm
    );
    let hint = game.take_hint(sloppy, 0).unwrap();
    assert_eq!(hint.text.as_deref(), Some("db's metrics pipeline is down"));

    at(&mut game, 150);
    let hash_at_150 = game.state_hash();

    at(&mut game, 190);
    game.act(
        restarter,
        Action::on_instance(ActionKind::RestartInstance, "web", 0),
    )
    .unwrap();

    at(&mut game, 200);
    // Perfect: TTD 200 − 180 = 20 s → 50 + 25; fixed from 200 → TTF 20 s → 100 + 20.
    assert_eq!(
        declare(&mut game, perfect, "web", FaultClass::TelemetryOutage),
        Verdict::Correct
    );
    game.act(
        perfect,
        Action::on_service(ActionKind::RestoreTelemetry, "web"),
    )
    .unwrap();

    at(&mut game, 320);
    // Sloppy: `dark-web` expired at 300 — already closed, no penalty.
    assert_eq!(
        declare(&mut game, sloppy, "web", FaultClass::TelemetryOutage),
        Verdict::AlreadyClosed
    );

    at(&mut game, 480);
    // Sloppy: TTD 480 − 60 = 420 s: 6 of 10 decay minutes → 50 − 35 × 6/10 = 29, +25 ahead.
    assert_eq!(
        declare(&mut game, sloppy, "db", FaultClass::TelemetryOutage),
        Verdict::Correct
    );
    game.act(
        sloppy,
        Action::on_service(ActionKind::RestoreTelemetry, "db"),
    )
    .unwrap();

    at(&mut game, 600);
    assert_eq!(game.state(), GameState::Finished);
    (
        game,
        Teams {
            perfect,
            sloppy,
            restarter,
            idle,
        },
        hash_at_150,
    )
}

#[test]
fn scripted_teams_score_exactly_what_the_rules_say() {
    let dir = tempfile::tempdir().unwrap();
    let (game, t, _) = play(dir.path());

    // Perfect: 50 + 25 + 10 (communication) + 100 + 20 (first to fix, TTF 30 s: fixed from
    // tick 90, confirmed after the 30-tick window at tick 120)
    // + 50 + 25 + 100 + 20 (web, fixed from 200, confirmed at 230) = 400.
    assert_eq!(
        ledger(&game, t.perfect),
        vec![
            (90, 50, LedgerKind::Detection),
            (90, 25, LedgerKind::AheadOfCustomer),
            (90, 10, LedgerKind::Communication),
            (120, 100, LedgerKind::Fix),
            (120, 20, LedgerKind::FirstToFix),
            (200, 50, LedgerKind::Detection),
            (200, 25, LedgerKind::AheadOfCustomer),
            (230, 100, LedgerKind::Fix),
            (230, 20, LedgerKind::FirstToFix),
        ]
    );
    assert_eq!(game.score(t.perfect).unwrap(), 400);

    // Sloppy: −20 −20 −15, then db: detection 29 + ahead 25 at 480; fix from 480, TTF 420 s
    // → 100 − 70 × 6/10 = 58, confirmed at 510; not first (Perfect fixed it from 90).
    // −20 − 20 − 15 + 29 + 25 + 58 = 57.
    assert_eq!(
        ledger(&game, t.sloppy),
        vec![
            (30, -20, LedgerKind::FalseAlarm),
            (90, -20, LedgerKind::FalseAlarm),
            (90, -15, LedgerKind::Hint),
            (480, 29, LedgerKind::Detection),
            (480, 25, LedgerKind::AheadOfCustomer),
            (510, 58, LedgerKind::Fix),
        ]
    );
    assert_eq!(game.score(t.sloppy).unwrap(), 57);

    // Restarts resolve neither outage: nothing booked; the same for doing nothing.
    assert_eq!(ledger(&game, t.restarter), vec![]);
    assert_eq!(ledger(&game, t.idle), vec![]);

    // TTD / TTF per incident.
    let perfect = game.team_incidents(t.perfect).unwrap();
    assert_eq!(perfect[0].ttd_s, Some(30.0));
    assert_eq!(perfect[0].ttf_s, Some(30.0));
    assert_eq!(perfect[1].ttd_s, Some(20.0));
    assert_eq!(perfect[1].ttf_s, Some(20.0));
    let sloppy = game.team_incidents(t.sloppy).unwrap();
    assert_eq!(sloppy[0].ttd_s, Some(420.0));
    assert_eq!(sloppy[0].ttf_s, Some(420.0));
    assert_eq!(sloppy[1].phase, IncidentPhase::Expired);
    assert_eq!(sloppy[1].expired_s, Some(300.0));
    let idle = game.team_incidents(t.idle).unwrap();
    assert_eq!(idle[0].phase, IncidentPhase::Open, "never fixed");
    assert_eq!(idle[1].phase, IncidentPhase::Expired);

    // Ranking: 400, 57, then Restarter and Idle tied on every key (0 points, no fix, no
    // median, score never changed) share third place.
    let board = game.scoreboard(true);
    type Row<'a> = (u32, &'a str, i64, u32, u32, Option<f64>, Option<f64>);
    let rows: Vec<Row> = board
        .teams
        .iter()
        .map(|r| {
            (
                r.rank,
                r.name.as_str(),
                r.score,
                r.incidents_detected,
                r.incidents_fixed,
                r.median_ttd_s,
                r.median_ttf_s,
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (1, "Perfect", 400, 2, 2, Some(25.0), Some(25.0)),
            (2, "Sloppy", 57, 1, 1, Some(420.0), Some(420.0)),
            (3, "Restarter", 0, 0, 0, None, None),
            (3, "Idle", 0, 0, 0, None, None),
        ]
    );

    // Freeze at 8 minutes: the board froze when the clock reached tick 480, before the
    // commands accepted at 480 — Sloppy stood at −20 − 20 − 15 = −55, last.
    let public = game.scoreboard(false);
    assert!(public.frozen);
    assert_eq!(public.tick, 480);
    let frozen: Vec<(&str, i64)> = public
        .teams
        .iter()
        .map(|r| (r.name.as_str(), r.score))
        .collect();
    assert_eq!(
        frozen,
        vec![
            ("Perfect", 400),
            ("Restarter", 0),
            ("Idle", 0),
            ("Sloppy", -55)
        ]
    );

    // After Finish: debriefs and (live) grid.
    let debrief = game.debrief(t.idle).unwrap();
    assert_eq!(debrief.incidents.len(), 2);
    assert!(game.incident_grid(false).is_err(), "frozen: not yet public");
    assert_eq!(game.incident_grid(true).unwrap().results.len(), 8);
}

#[test]
fn unfreezing_reveals_the_final_standings() {
    let dir = tempfile::tempdir().unwrap();
    let (mut game, _, _) = play(dir.path());
    assert!(game.scoreboard(false).frozen, "finishing does not unfreeze");
    game.unfreeze().unwrap();
    let public = game.scoreboard(false);
    assert!(!public.frozen);
    assert_eq!(public, game.scoreboard(true));
    assert_eq!(game.incident_grid(false).unwrap().incidents.len(), 2);
    let history = game.score_history(false);
    let sloppy = history.iter().find(|s| s.name == "Sloppy").unwrap();
    assert_eq!(
        sloppy.points.last().map(|p| (p.elapsed_s, p.score)),
        Some((510.0, 57))
    );
}

#[test]
fn team_views_keep_undeclared_incidents_secret() {
    let dir = tempfile::tempdir().unwrap();
    let opened = Game::open(options(dir.path(), ClockMode::Manual), 0).unwrap();
    let mut game = opened.game;
    let team = game.create_team("Quiet").unwrap().0.id;
    game.start(0).unwrap();
    game.advance(200).unwrap();
    assert!(game.team_incidents(team).unwrap().is_empty());
    assert!(game.hints(team).len() == 1, "hint 0 unlocked at 90 s");
    assert_eq!(game.hints(team)[0].text, None, "text only after buying");
    let events = serde_json::to_string(&game.team_events_since(team, 0)).unwrap();
    assert!(!events.contains("telemetry_outage"), "{events}");
    assert!(game.debrief(team).is_err());
    assert_eq!(game.judge_incidents().len(), 2, "judges see everything");
}

#[test]
fn pause_stops_time_and_refuses_team_commands() {
    let dir = tempfile::tempdir().unwrap();
    let opened = Game::open(options(dir.path(), ClockMode::Speed(2.0)), 0).unwrap();
    let mut game = opened.game;
    let team = game.create_team("Red").unwrap().0.id;
    game.start(1_000).unwrap();
    game.pump(6_000).unwrap();
    assert_eq!(game.tick(), 10, "5 wall seconds at 2×");
    game.pause(6_400).unwrap();
    assert_eq!(game.tick(), 10);
    game.pump(600_000).unwrap();
    assert_eq!(game.tick(), 10, "paused: no time passes");
    let err = game
        .act(team, Action::on_service(ActionKind::RestartService, "web"))
        .unwrap_err();
    assert!(err.to_string().contains("paused"), "{err}");
    // Judges and organizers still work while paused.
    game.adjust(team, 5, "good sportsmanship").unwrap();
    game.extend(60).unwrap();
    game.resume(700_000).unwrap();
    game.pump(701_000).unwrap();
    assert_eq!(game.tick(), 12);
    assert_eq!(game.status().duration_s, 660.0);
}

#[test]
fn extend_moves_the_end_and_the_game_finishes_there() {
    let dir = tempfile::tempdir().unwrap();
    let mut game = Game::open(options(dir.path(), ClockMode::Manual), 0)
        .unwrap()
        .game;
    let team = game.create_team("Blue").unwrap().0.id;
    game.start(0).unwrap();
    game.advance(590).unwrap();
    game.extend(30).unwrap();
    game.advance(100).unwrap();
    assert_eq!(game.tick(), 630, "stopped at the extended end");
    assert_eq!(game.state(), GameState::Finished);
    let err = game
        .declare(
            team,
            Declaration {
                target: DeclaredTarget::Service("db".into()),
                class: FaultClass::TelemetryOutage,
            },
        )
        .unwrap_err();
    assert!(matches!(err, GameError::WrongState(_)), "{err}");
    assert!(game.extend(10).is_err());
}

#[test]
fn bad_commands_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut game = Game::open(options(dir.path(), ClockMode::Manual), 0)
        .unwrap()
        .game;
    let team = game.create_team("Green").unwrap().0.id;
    assert!(game.create_team("green").is_err(), "names are unique");
    game.start(0).unwrap();
    game.advance(70).unwrap();
    let before = game.state_hash();
    let seq = game.journal_seq();
    let err = game
        .declare(
            team,
            Declaration {
                target: DeclaredTarget::Service("dbb".into()),
                class: FaultClass::TelemetryOutage,
            },
        )
        .unwrap_err();
    assert!(err.to_string().contains("did you mean `db`"), "{err}");
    assert!(
        game.act(team, Action::on_service(ActionKind::RestartService, "nope"))
            .is_err()
    );
    assert!(
        game.act(
            TeamId(99),
            Action::on_service(ActionKind::RestartService, "db")
        )
        .is_err()
    );
    assert!(game.take_hint(team, 7).is_err());
    assert!(game.adjust(team, 5, "  ").is_err());
    assert!(
        game.rule(team, IncidentId(1), Ruling::Close, "x").is_err(),
        "not struck yet"
    );
    assert_eq!(game.state_hash(), before);
    assert_eq!(game.journal_seq(), seq);
}

#[test]
fn judges_overrule_verdicts_and_reopen_incidents_through_the_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let mut game = Game::open(options(dir.path(), ClockMode::Manual), 0)
        .unwrap()
        .game;
    let team = game.create_team("Gold").unwrap().0.id;
    game.start(0).unwrap();
    game.advance(100).unwrap();
    // Wrong class at 100: false alarm −20.
    declare(&mut game, team, "db", FaultClass::DiskFull);
    // The judge rules it right: +20 refund, detection with TTD 40 s (50) and ahead (+25).
    game.rule(
        team,
        IncidentId(0),
        Ruling::DeclarationCorrect { declaration: 0 },
        "close enough",
    )
    .unwrap();
    // −20 (false alarm) + 20 (refund) + 50 + 25 = 75.
    assert_eq!(game.score(team).unwrap(), 75);
    // Then closes the incident at 100: TTF 40 s → 100.
    game.rule(
        team,
        IncidentId(0),
        Ruling::Close,
        "they restored it by hand",
    )
    .unwrap();
    assert_eq!(game.score(team).unwrap(), 175);
    // And reopens it: the fix points go again.
    game.rule(team, IncidentId(0), Ruling::Reopen, "it was not")
        .unwrap();
    assert_eq!(game.score(team).unwrap(), 75);
    // Marking the declaration wrong withdraws the 75 and costs a false alarm.
    game.rule(
        team,
        IncidentId(0),
        Ruling::DeclarationWrong { declaration: 0 },
        "on reflection",
    )
    .unwrap();
    assert_eq!(game.score(team).unwrap(), -20);
    let kinds: Vec<LedgerKind> = game.ledger(team).unwrap().iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == LedgerKind::JudgeRuling)
            .count(),
        3
    );
    assert!(
        game.ledger(team)
            .unwrap()
            .iter()
            .all(|e| e.tick == 100 && !e.reason.is_empty())
    );
}

#[test]
fn replay_from_the_journal_alone_reproduces_the_game() {
    let dir = tempfile::tempdir().unwrap();
    let (game, t, hash_at_150) = play(dir.path());
    let journal = dir.path().join("game.sqlite");
    let replayed = Game::replay(&journal, None).unwrap();
    assert_eq!(replayed.state_hash(), game.state_hash());
    assert_eq!(replayed.score(t.perfect).unwrap(), 400);
    let at_150 = Game::replay(&journal, Some(150)).unwrap();
    assert_eq!(at_150.tick(), 150);
    assert_eq!(at_150.state_hash(), hash_at_150);
    let Ok(breakathon_game::Export::Json(json)) = replayed.export(ExportFormat::Json) else {
        panic!("json export");
    };
    assert!(json.contains("\"Perfect\""));
}

#[test]
fn recovery_from_checkpoint_and_journal_equals_a_fresh_replay() {
    let dir = tempfile::tempdir().unwrap();
    let opened = Game::open(options(dir.path(), ClockMode::Speed(1.0)), 0).unwrap();
    let org = opened.organizer_token.clone();
    let mut game = opened.game;
    let (red, token) = game.create_team("Red").unwrap();
    game.start(0).unwrap();
    game.pump(95_000).unwrap();
    game.declare(
        red.id,
        Declaration {
            target: DeclaredTarget::Service("db".into()),
            class: FaultClass::TelemetryOutage,
        },
    )
    .unwrap();
    game.checkpoint().unwrap();
    game.act(
        red.id,
        Action::on_service(ActionKind::RestoreTelemetry, "db"),
    )
    .unwrap();
    game.pump(140_000).unwrap();
    let hash = game.state_hash();
    let tick = game.tick();
    drop(game); // as if killed: nothing is flushed on drop

    let reopened = Game::open(options(dir.path(), ClockMode::Speed(1.0)), 999_000).unwrap();
    assert!(reopened.recovered);
    assert_eq!(
        reopened.organizer_token, org,
        "organizer token kept in the data dir"
    );
    let game = reopened.game;
    assert_eq!(
        game.state(),
        GameState::Paused,
        "a running game comes back paused"
    );
    assert_eq!(game.tick(), tick);
    assert_eq!(game.state_hash(), hash);
    assert_eq!(game.authenticate(&token), Some(Principal::Team(red.id)));
    let fresh = Game::replay(&dir.path().join("game.sqlite"), Some(tick)).unwrap();
    assert_eq!(fresh.state_hash(), hash);
}

#[test]
fn a_data_dir_of_another_scenario_is_refused_and_a_new_game_archives_it() {
    let dir = tempfile::tempdir().unwrap();
    drop(Game::open(options(dir.path(), ClockMode::Manual), 0).unwrap());
    let mut other = options(dir.path(), ClockMode::Manual);
    other.scenario_source = SCENARIO.replace("referee test", "another test");
    other.scenario_name = "other.ron".into();
    let err = Game::open(other.clone(), 0).err().unwrap();
    assert!(err.to_string().contains("referee-test.ron"), "{err}");
    // QA F18: the message names the flag that archives the old game.
    assert!(err.to_string().contains("--new"), "{err}");
    other.new_game = true;
    let opened = Game::open(other, 0).unwrap();
    assert!(!opened.recovered);
    assert!(dir.path().join("archive/game-1.sqlite").exists());
}

#[test]
fn a_manual_game_comes_back_exactly_where_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let mut game = Game::open(options(dir.path(), ClockMode::Manual), 0)
        .unwrap()
        .game;
    game.create_team("Red").unwrap();
    game.start(0).unwrap();
    game.advance(42).unwrap();
    let hash = game.state_hash();
    drop(game);
    let game = Game::open(options(dir.path(), ClockMode::Manual), 0)
        .unwrap()
        .game;
    assert_eq!(game.state(), GameState::Running);
    assert_eq!(game.tick(), 42);
    assert_eq!(game.state_hash(), hash);
}

#[test]
fn automatic_checkpoints_are_written_in_the_background_and_used_on_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let opened = Game::open(options(dir.path(), ClockMode::Speed(1.0)), 0).unwrap();
    let mut game = opened.game;
    game.create_team("Red").unwrap();
    game.start(0).unwrap();
    // One team: a checkpoint every 300 ticks (the most); pump in steps of 50 s.
    for s in 1..=9 {
        game.pump(s * 50_000).unwrap();
    }
    assert_eq!(game.tick(), 450);
    assert_eq!(game.checkpoint_error(), None);
    let hash = game.state_hash();
    drop(game); // waits for a checkpoint in flight

    let reopened = Game::open(options(dir.path(), ClockMode::Speed(1.0)), 0).unwrap();
    // Due at 300; a pump that finds the writer busy leaves it to the next one.
    assert!(
        reopened
            .checkpoint_tick
            .is_some_and(|t| (300..=450).contains(&t)),
        "{:?}",
        reopened.checkpoint_tick
    );
    assert!(reopened.replayed_records > 0);
    assert_eq!(reopened.game.tick(), 450);
    assert_eq!(reopened.game.state_hash(), hash);
    let fresh = Game::replay(&dir.path().join("game.sqlite"), None).unwrap();
    assert_eq!(fresh.state_hash(), hash);
}

#[test]
fn the_rules_teams_read_carry_this_scenarios_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let game = Game::open(options(dir.path(), ClockMode::Manual), 0)
        .unwrap()
        .game;
    let rules = game.rules_markdown();
    assert!(rules.starts_with("# Breakathon rules"), "{rules}");
    for row in [
        "| grace period | 1m |",
        "| decay window | 10m |",
        "| floor | 30 % |",
        "| sustain window | 30s |",
        "| false alarm | −20 |",
    ] {
        assert!(rules.contains(row), "{row} missing from:\n{rules}");
    }
}

#[test]
fn live_streams_carry_verdicts_ledger_lines_and_announcements() {
    let dir = tempfile::tempdir().unwrap();
    let (game, t, _) = play(dir.path());
    let events = serde_json::to_value(game.team_events_since(t.perfect, 0)).unwrap();
    let kinds: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "verdict").count(), 3);
    assert_eq!(kinds.iter().filter(|k| **k == "ledger").count(), 9);
    assert!(kinds.contains(&"incident"));
    // Events are in order and resumable from any sequence number.
    let seqs: Vec<u64> = game
        .team_events_since(t.perfect, 0)
        .iter()
        .map(|e| e.seq)
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    let later = game.team_events_since(t.perfect, seqs[seqs.len() / 2]);
    assert_eq!(later.len(), seqs.len() - seqs.len() / 2 - 1);
    // Another team's ledger never reaches this stream; announcements reach everyone.
    assert!(game.team_events_since(t.idle, 0).iter().all(|e| !matches!(
        e.event,
        breakathon_game::Event::Ledger(_) | breakathon_game::Event::Verdict(_)
    )));
    let public = serde_json::to_string(&game.public_events_since(0)).unwrap();
    assert!(public.contains("halfway to lunch"), "{public}");
    assert!(!public.contains("ledger"), "{public}");
}

/// QA F22: the communication bonus hinged on the detection; when a judge rules the detecting
/// declaration wrong, the bonus goes with it (a ledger line), and can be earned again after
/// a new correct declaration.
#[test]
fn a_declaration_ruled_wrong_takes_its_communication_bonus_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut game = Game::open(options(dir.path(), ClockMode::Manual), 0)
        .unwrap()
        .game;
    let team = game.create_team("Talker").unwrap().0.id;
    game.start(0).unwrap();
    at(&mut game, 90);
    // TTD 30 s: 50 + 25 ahead of the customer.
    assert_eq!(
        declare(&mut game, team, "db", FaultClass::TelemetryOutage),
        Verdict::Correct
    );
    let tell = |game: &mut Game| {
        game.notify(
            team,
            Notification {
                audience: Audience::CustomerService,
                message: "db metrics are dark, we are on it".into(),
                service: None,
                zone: None,
            },
        )
        .unwrap();
    };
    tell(&mut game);
    assert_eq!(game.score(team).unwrap(), 85);
    game.rule(
        team,
        IncidentId(0),
        Ruling::DeclarationWrong { declaration: 0 },
        "they guessed",
    )
    .unwrap();
    // −75 (detection and ahead), −10 (communication), −20 (false alarm).
    assert_eq!(game.score(team).unwrap(), -20);
    let withdrawn: Vec<i64> = game
        .ledger(team)
        .unwrap()
        .iter()
        .filter(|e| e.kind == LedgerKind::JudgeRuling)
        .map(|e| e.points)
        .collect();
    assert_eq!(withdrawn, vec![-75, -10]);
    // A new correct declaration (TTD 40 s: 50, +25) and a new notification earn it again.
    at(&mut game, 100);
    assert_eq!(
        declare(&mut game, team, "db", FaultClass::TelemetryOutage),
        Verdict::Correct
    );
    tell(&mut game);
    assert_eq!(game.score(team).unwrap(), -20 + 75 + 10);

    // QA F15: the timeline speaks words, not Rust names; targets are `{"service": ...}` in
    // JSON like declarations.
    let texts: Vec<String> = game
        .team_timeline(team)
        .unwrap()
        .into_iter()
        .map(|e| e.text)
        .collect();
    let all = texts.join("\n");
    assert!(
        all.contains("→ false alarm (overruled)") && all.contains("→ correct"),
        "{all}"
    );
    assert!(all.contains("to customer service: db metrics"), "{all}");
    for debug_name in ["FalseAlarm", "CustomerService", "Correct"] {
        assert!(!all.contains(debug_name), "{debug_name} in {all}");
    }
    let incidents = serde_json::to_value(game.team_incidents(team).unwrap()).unwrap();
    assert_eq!(incidents[0]["target"], serde_json::json!({"service": "db"}));
}

#[test]
fn the_scoreboard_is_computed_once_per_change_and_follows_every_change() {
    let dir = tempfile::tempdir().unwrap();
    let mut game = Game::open(options(dir.path(), ClockMode::Manual), 0)
        .unwrap()
        .game;
    let team = game.create_team("Board").unwrap().0.id;
    game.start(0).unwrap();
    at(&mut game, 90);
    let score = |game: &Game| game.scoreboard(true).teams[0].score;
    let before = game.scoreboard_shared(true);
    // An action moves no points: the same board is shared, not recomputed.
    game.act(team, Action::on_service(ActionKind::RestoreTelemetry, "db"))
        .unwrap();
    assert!(std::sync::Arc::ptr_eq(
        &before,
        &game.scoreboard_shared(true)
    ));
    // TTD 30 s → 50, ahead of the customer +25.
    declare(&mut game, team, "db", FaultClass::TelemetryOutage);
    assert_eq!(score(&game), 75);
    assert_eq!(game.scoreboard(true).teams[0].incidents_detected, 1);
    // A notification naming the detected incident's service earns the communication bonus.
    game.notify(
        team,
        Notification {
            audience: Audience::Sales,
            message: "db telemetry is dark".into(),
            service: None,
            zone: None,
        },
    )
    .unwrap();
    assert_eq!(score(&game), 85);
    game.adjust(team, -5, "late to the stand-up").unwrap();
    assert_eq!(score(&game), 80);
    // The fix is confirmed 30 s after it took effect at 90: TTF 30 s → 100, first to fix +20.
    at(&mut game, 121);
    assert_eq!(score(&game), 200);
    assert_eq!(game.scoreboard(true).teams[0].incidents_fixed, 1);
    assert_eq!(game.scoreboard(true).tick, 121);
}

#[test]
fn adjustments_beyond_the_limit_are_refused_even_at_the_integer_edges() {
    let dir = tempfile::tempdir().unwrap();
    let mut game = Game::open(options(dir.path(), ClockMode::Manual), 0)
        .unwrap()
        .game;
    let team = game.create_team("Green").unwrap().0.id;
    game.start(0).unwrap();
    let seq = game.journal_seq();
    for points in [i64::MIN, i64::MIN + 1, i64::MAX, -1_000_001, 1_000_001] {
        let err = game.adjust(team, points, "edge").unwrap_err();
        assert!(err.to_string().contains("up to 1000000"), "{points}: {err}");
    }
    assert_eq!(game.journal_seq(), seq, "nothing was journaled");
    assert_eq!(
        game.adjust(team, -1_000_000, "max").unwrap().points,
        -1_000_000
    );
    assert_eq!(
        game.adjust(team, 1_000_000, "max").unwrap().points,
        1_000_000
    );
}

/// What a client resuming with `Last-Event-ID` gets after a restart must follow what it saw
/// before: every replayed event keeps its id, and nothing it saw comes again.
fn assert_resumes(before: &[breakathon_game::TeamEvent], after: &[breakathon_game::TeamEvent]) {
    let last = before.last().expect("events before the restart").seq;
    for event in after {
        if event.seq <= last {
            assert!(
                before.contains(event),
                "id {} after the restart is not the event it was before: {event:?}",
                event.seq
            );
        } else if event.seq > last {
            assert!(
                matches!(event.event, breakathon_game::Event::State { .. })
                    || !before.iter().any(|seen| seen.event == event.event),
                "an event seen before the restart comes again as {}: {event:?}",
                event.seq
            );
        }
    }
    let seqs: Vec<u64> = after.iter().map(|e| e.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
}

#[test]
fn stream_event_ids_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (game, t, _) = play(dir.path());
    let before = game.team_events_since(t.perfect, 0);
    let sloppy_before = game.team_events_since(t.sloppy, 0);
    assert!(before.len() > 10, "{before:?}");
    drop(game);
    let game = Game::open(options(dir.path(), ClockMode::Manual), 0)
        .unwrap()
        .game;
    assert_resumes(&before, &game.team_events_since(t.perfect, 0));
    assert_resumes(&sloppy_before, &game.team_events_since(t.sloppy, 0));
    let last = before.last().unwrap().seq;
    assert!(game.team_events_since(t.perfect, last).is_empty());
}

#[test]
fn stream_event_ids_survive_a_restart_from_a_checkpoint_taken_mid_tick() {
    let dir = tempfile::tempdir().unwrap();
    let mut game = Game::open(options(dir.path(), ClockMode::Speed(1.0)), 0)
        .unwrap()
        .game;
    let (red, _) = game.create_team("Red").unwrap();
    game.start(0).unwrap();
    game.pump(95_000).unwrap();
    declare(&mut game, red.id, "db", FaultClass::TelemetryOutage);
    game.checkpoint().unwrap();
    let seen_before_checkpoint = game.team_events_since(red.id, 0).last().unwrap().seq;
    declare(&mut game, red.id, "web", FaultClass::Crash);
    game.adjust(red.id, 5, "tidy runbook").unwrap();
    game.pump(130_000).unwrap();
    game.adjust(red.id, 2, "later").unwrap();
    let before = game.team_events_since(red.id, 0);
    drop(game); // as if killed

    let mut game = Game::open(options(dir.path(), ClockMode::Speed(1.0)), 999_000)
        .unwrap()
        .game;
    let after = game.team_events_since(red.id, 0);
    assert_resumes(&before, &after);
    // The adjustment at 130 s was replayed with the id it had.
    assert!(
        after.iter().any(|e| before.contains(e)
            && matches!(&e.event, breakathon_game::Event::Ledger(l) if l.reason.contains("later"))),
        "{after:?}"
    );
    // A client that saw events up to the checkpoint gets the rest of that tick (the false
    // alarm, the adjustment) and nothing it saw.
    let rest = game.team_events_since(red.id, seen_before_checkpoint);
    let reasons: Vec<String> = rest
        .iter()
        .filter_map(|e| match &e.event {
            breakathon_game::Event::Ledger(l) => Some(l.reason.clone()),
            _ => None,
        })
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("false alarm")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("tidy runbook")),
        "{reasons:?}"
    );
    assert!(
        !reasons.iter().any(|r| r.contains("detected")),
        "{reasons:?}"
    );
    game.adjust(red.id, 1, "after the restart").unwrap();
    let last = before.last().unwrap().seq;
    let news = game.team_events_since(red.id, last);
    assert!(
        news.iter().any(|e| matches!(
            &e.event,
            breakathon_game::Event::Ledger(l) if l.reason.contains("after the restart")
        )),
        "{news:?}"
    );
    assert_resumes(&before, &game.team_events_since(red.id, 0));
}

#[test]
fn stream_event_ids_survive_a_restart_in_a_game_with_revenue_and_complaints() {
    const TUTORIAL: &str = include_str!("../../../scenarios/tutorial.ron");
    let dir = tempfile::tempdir().unwrap();
    let open = |now_ms| {
        Game::open(
            common::options(dir.path(), "tutorial.ron", TUTORIAL, ClockMode::Speed(1.0)),
            now_ms,
        )
        .unwrap()
        .game
    };
    let mut game = open(0);
    let (blue, _) = game.create_team("Blue").unwrap();
    game.start(0).unwrap();
    game.pump(200_000).unwrap();
    declare(&mut game, blue.id, "shop-api", FaultClass::Crash);
    game.act(
        blue.id,
        Action::on_service(ActionKind::RestartService, "shop-api"),
    )
    .unwrap();
    game.pump(400_000).unwrap();
    let before = game.team_events_since(blue.id, 0);
    assert!(
        before
            .iter()
            .any(|e| matches!(e.event, breakathon_game::Event::Ledger(_))),
        "{before:?}"
    );
    drop(game);
    let game = open(999_000);
    assert_resumes(&before, &game.team_events_since(blue.id, 0));
    let last = before.last().unwrap().seq;
    assert!(
        game.team_events_since(blue.id, last)
            .iter()
            .all(|e| matches!(e.event, breakathon_game::Event::State { .. })),
        "only the pause of the recovery is new"
    );
}
