//! Revenue, SLA penalties, complaints, bonuses and mitigation against scenarios whose
//! revenue is easy to count by hand.
//!
//! Scenario "economy": `web` (customer-facing, 0.5 revenue units per request) calls `db`;
//! 20 requests/s, no noise — so 10 units per healthy tick, 600 per minute, 6 points per
//! minute at 100 units per point. At 60 s a bad config makes every `web` request fail (no
//! revenue, SLO breached; customers complain after a minute). `revert_config` fixes it the
//! tick it takes effect. Default SLO error budget: 5 minutes; SLA penalty 5 per minute.

use breakathon_game::{
    Action, Audience, Declaration, DeclaredTarget, Game, GameState, IncidentId, IncidentPhase,
    LedgerKind, Notification, TeamId, Verdict,
};
use breakathon_scenario::{ActionKind, FaultClass};
use common::{at, ledger};

mod common;

const ECONOMY: &str = r#"(
    title: "economy",
    duration: "10m",
    sustain: "30s",
    services: [
        (name: "web", kind: frontend, customer_facing: true, revenue_per_request: 0.5,
         dependencies: [(service: "db")]),
        (name: "db", kind: database),
    ],
    traffic: (entry_points: [(service: "web", rps: 20.0)], noise_percent: 0.0),
    faults: [
        (name: "boom", kind: bad_config(error_percent: 100.0), target: Service("web"),
         trigger: At("1m")),
    ],
    customers: (complaint_delay: "1m", complaint_interval: "1m"),
    scoring: (grace: "1m", decay: "10m"),
)"#;

/// Scenario "lag": the `db` replica falls behind from 60 s; routing reads to the primary
/// only mitigates, promoting the replica fixes.
const LAG: &str = r#"(
    title: "lag",
    duration: "5m",
    sustain: "20s",
    services: [
        (name: "web", kind: frontend, customer_facing: true, dependencies: [(service: "db")]),
        (name: "db", kind: database),
    ],
    traffic: (entry_points: [(service: "web", rps: 20.0)], noise_percent: 0.0),
    faults: [
        (name: "lag", kind: replica_lag(lag_s_per_min: 60.0), target: Service("db"),
         trigger: At("1m")),
    ],
)"#;

fn open(dir: &std::path::Path, scenario: &str) -> Game {
    common::open_manual(dir, "economy.ron", scenario)
}

fn declare_web(game: &mut Game, team: TeamId) -> Verdict {
    game.declare(
        team,
        Declaration {
            target: DeclaredTarget::Service("web".into()),
            class: FaultClass::BadConfig,
        },
    )
    .unwrap()
    .verdict
}

fn notify(game: &mut Game, team: TeamId, message: &str) {
    game.notify(
        team,
        Notification {
            audience: Audience::CustomerService,
            message: message.into(),
            service: None,
            zone: None,
        },
    )
    .unwrap();
}

#[test]
fn revenue_sla_penalties_and_bonuses_add_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut game = open(dir.path(), ECONOMY);
    let idle = game.create_team("Idle").unwrap().0.id;
    let early = game.create_team("Early").unwrap().0.id;
    let twin = game.create_team("Twin").unwrap().0.id;
    let late = game.create_team("Late").unwrap().0.id;
    game.start(0).unwrap();

    at(&mut game, 80);
    // Before detection a notification earns nothing.
    notify(&mut game, twin, "web looks unwell");
    at(&mut game, 90);
    assert_eq!(declare_web(&mut game, early), Verdict::Correct);
    assert_eq!(declare_web(&mut game, twin), Verdict::Correct);
    notify(&mut game, early, "web is failing, we are on it");
    at(&mut game, 100);
    for team in [early, twin] {
        game.act(team, Action::on_service(ActionKind::RevertConfig, "web"))
            .unwrap();
    }
    at(&mut game, 200);
    assert_eq!(declare_web(&mut game, late), Verdict::Correct);
    at(&mut game, 600);
    assert_eq!(game.state(), GameState::Finished);

    // Idle: the first minute earns 600 units = 6 points (booked at 60 s); then nothing.
    // The SLO is breached from tick 60 on: 540 breached seconds by the end, 300 of them
    // covered by the budget, the other 240 cost 4 minutes × 5 (at 420, 480, 540, 600).
    assert_eq!(
        ledger(&game, idle),
        vec![
            (60, 6, LedgerKind::Revenue),
            (420, -5, LedgerKind::SlaPenalty),
            (480, -5, LedgerKind::SlaPenalty),
            (540, -5, LedgerKind::SlaPenalty),
            (600, -5, LedgerKind::SlaPenalty),
        ]
    );
    assert_eq!(game.score(idle).unwrap(), -14);

    // Early: TTD 30 s → 50, before any complaint → 25, told customer service naming `web`
    // → 10. Reverted at 100 (healthy at once, held 30 s → confirmed at 130): TTF 40 s → 100,
    // first to fix → 20. Revenue: minute 2 = 40 s without revenue, then the tick the config
    // is reverted the sim serves the backlog of customer retries (28.571… requests →
    // 14.286 units), then 19 × 10 units: 600 + 14.286 + 190 = 804.286 units → 8 points in
    // all, 2 more; then 6 a minute for the 8 minutes to the end = 48. Revenue 6 + 2 + 48 = 56.
    assert_eq!(
        ledger(&game, early),
        vec![
            (60, 6, LedgerKind::Revenue),
            (90, 50, LedgerKind::Detection),
            (90, 25, LedgerKind::AheadOfCustomer),
            (90, 10, LedgerKind::Communication),
            (120, 2, LedgerKind::Revenue),
            (130, 100, LedgerKind::Fix),
            (130, 20, LedgerKind::FirstToFix),
            (180, 6, LedgerKind::Revenue),
            (240, 6, LedgerKind::Revenue),
            (300, 6, LedgerKind::Revenue),
            (360, 6, LedgerKind::Revenue),
            (420, 6, LedgerKind::Revenue),
            (480, 6, LedgerKind::Revenue),
            (540, 6, LedgerKind::Revenue),
            (600, 6, LedgerKind::Revenue),
        ]
    );
    assert_eq!(game.score(early).unwrap(), 56 + 50 + 25 + 10 + 100 + 20);
    // Twin fixed on the same tick: first to fix too; its early notification earned nothing.
    assert_eq!(game.score(twin).unwrap(), 56 + 50 + 25 + 100 + 20);

    // Late: declared at 200, after the first complaint: no ahead-of-customer bonus.
    // TTD 140 s: 80 s into the 10-minute decay → 50 − 35 × 80/600 = 50 − 4 (4.67 rounded
    // toward zero) = 46. Revenue and SLA as Idle: 6 − 20.
    let complaint_s = game.debrief(late).unwrap().incidents[0]
        .result
        .first_complaint_s;
    assert!(
        complaint_s.is_some_and(|s| s > 90.0 && s < 200.0),
        "{complaint_s:?}"
    );
    assert_eq!(
        ledger(&game, late)
            .into_iter()
            .filter(|e| e.2 == LedgerKind::Detection || e.2 == LedgerKind::AheadOfCustomer)
            .collect::<Vec<_>>(),
        vec![(200, 46, LedgerKind::Detection)]
    );
    assert_eq!(game.score(late).unwrap(), 6 + 46 - 20);

    // Ranking: Early 261, Twin 251, Late 32, Idle −14.
    let names: Vec<(String, i64)> = game
        .scoreboard(true)
        .teams
        .into_iter()
        .map(|r| (r.name, r.score))
        .collect();
    assert_eq!(
        names,
        vec![
            ("Early".to_owned(), 261),
            ("Twin".to_owned(), 251),
            ("Late".to_owned(), 32),
            ("Idle".to_owned(), -14)
        ]
    );
}

#[test]
fn mitigation_is_recorded_but_only_a_resolving_action_fixes() {
    let dir = tempfile::tempdir().unwrap();
    let mut game = open(dir.path(), LAG);
    let mitigator = game.create_team("Mitigator").unwrap().0.id;
    let fixer = game.create_team("Fixer").unwrap().0.id;
    game.start(0).unwrap();
    at(&mut game, 140);
    for team in [mitigator, fixer] {
        game.declare(
            team,
            Declaration {
                target: DeclaredTarget::Service("db".into()),
                class: FaultClass::ReplicaLag,
            },
        )
        .unwrap();
    }
    at(&mut game, 150);
    for team in [mitigator, fixer] {
        game.act(
            team,
            Action::on_service(ActionKind::RouteReadsToPrimary, "db"),
        )
        .unwrap();
    }
    at(&mut game, 180);
    game.act(fixer, Action::on_service(ActionKind::PromoteReplica, "db"))
        .unwrap();
    at(&mut game, 300);

    // Health came back at 150 through a mitigation: time to mitigate 150 − 60 = 90 s.
    let m = &game.team_incidents(mitigator).unwrap()[0];
    assert_eq!(m.incident, IncidentId(0));
    assert_eq!(m.ttm_s, Some(90.0));
    assert_eq!(m.ttf_s, None);
    assert_eq!(m.phase, IncidentPhase::Mitigated);
    // Promoting the replica at 180 resolves it; healthy through the 20 s window: TTF 120 s.
    let f = &game.team_incidents(fixer).unwrap()[0];
    assert_eq!(f.ttm_s, Some(90.0));
    assert_eq!(f.ttf_s, Some(120.0));
    assert_eq!(f.phase, IncidentPhase::Fixed);
    // This scenario keeps the default 2-minute grace: TTF 120 s earns the full 100, plus
    // first to fix; confirmed at 180 + 20 = 200.
    let fix: Vec<(u64, i64, LedgerKind)> = ledger(&game, fixer)
        .into_iter()
        .filter(|e| matches!(e.2, LedgerKind::Fix | LedgerKind::FirstToFix))
        .collect();
    assert_eq!(
        fix,
        vec![
            (200, 100, LedgerKind::Fix),
            (200, 20, LedgerKind::FirstToFix)
        ]
    );
}

#[test]
fn a_late_team_joins_with_a_world_that_ran_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let mut game = open(dir.path(), ECONOMY);
    let first = game.create_team("First").unwrap().0.id;
    game.start(0).unwrap();
    at(&mut game, 120);
    let (late, token) = game.create_team("Latecomer").unwrap();
    assert_eq!(late.created_tick, 120);
    assert_eq!(game.world(late.id).unwrap().tick(), 120);
    // Same untouched world, but no points for the time before it existed (QA F19): the
    // first team earned a minute of revenue before the bad config; the latecomer starts at 0.
    assert!(game.score(first).unwrap() > 0);
    assert_eq!(game.score(late.id).unwrap(), 0);
    assert!(ledger(&game, late.id).is_empty());
    // Its error budget also starts at its creation: both worlds fail from 60 s, but the
    // latecomer's breach time counts from 120 s, so its first SLA penalty comes 60 s later.
    at(&mut game, 500);
    let first_sla = |team| {
        ledger(&game, team)
            .into_iter()
            .find(|e| e.2 == LedgerKind::SlaPenalty)
            .map(|e| e.0)
            .unwrap()
    };
    assert_eq!(first_sla(first), 420);
    assert_eq!(first_sla(late.id), 420 + 60);
    assert!(
        ledger(&game, late.id)
            .iter()
            .all(|e| e.0 >= 120 && e.2 == LedgerKind::SlaPenalty)
    );
    // Its token works until rotated; removal takes it off the board.
    assert!(game.authenticate(&token).is_some());
    let rotated = game.rotate_token(late.id).unwrap();
    assert!(game.authenticate(&token).is_none());
    assert!(game.authenticate(&rotated).is_some());
    game.remove_team(late.id).unwrap();
    assert!(game.authenticate(&rotated).is_none());
    assert_eq!(game.scoreboard(true).teams.len(), 1);
    let journal = dir.path().join("game.sqlite");
    drop(game);
    assert_eq!(Game::replay(&journal, None).unwrap().teams().len(), 1);
}

#[test]
fn zone_faults_are_declared_on_the_zone() {
    let scenario = r#"(
        title: "zones",
        duration: "5m",
        zones: [(name: "east"), (name: "west")],
        services: [(name: "web", kind: frontend, customer_facing: true)],
        traffic: (entry_points: [(service: "web", rps: 20.0)]),
        faults: [(name: "blackout", kind: zone_outage, target: Zone("west"), trigger: At("1m"))],
    )"#;
    let dir = tempfile::tempdir().unwrap();
    let mut game = open(dir.path(), scenario);
    let team = game.create_team("Zoners").unwrap().0.id;
    game.start(0).unwrap();
    at(&mut game, 70);
    let mut verdict = |target: DeclaredTarget| {
        game.declare(
            team,
            Declaration {
                target,
                class: FaultClass::ZoneOutage,
            },
        )
        .unwrap()
        .verdict
    };
    // Naming a service (or the other zone) is wrong; naming the zone is right, TTD 10 s.
    assert_eq!(
        verdict(DeclaredTarget::Service("web".into())),
        Verdict::FalseAlarm
    );
    assert_eq!(
        verdict(DeclaredTarget::Zone("east".into())),
        Verdict::FalseAlarm
    );
    assert_eq!(
        verdict(DeclaredTarget::Zone("west".into())),
        Verdict::Correct
    );
    let err = game
        .declare(
            team,
            Declaration {
                target: DeclaredTarget::Zone("wset".into()),
                class: FaultClass::ZoneOutage,
            },
        )
        .unwrap_err();
    assert!(err.to_string().contains("did you mean `west`"), "{err}");
    assert_eq!(game.team_incidents(team).unwrap()[0].ttd_s, Some(10.0));
}

/// QA F17: one long manual advance streams the team's events in tick order (a revenue line
/// of 60 s comes before the announcement of 120 s, not after every announcement).
#[test]
fn a_long_advance_streams_events_in_tick_order() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = ECONOMY.replace(
        "customers:",
        "announcements: [(at: \"2m\", message: \"lunch\")],\n    customers:",
    );
    let mut game = open(dir.path(), &scenario);
    let team = game.create_team("Streamer").unwrap().0.id;
    game.start(0).unwrap();
    at(&mut game, 300);
    let ticks: Vec<(f64, &str)> = game
        .team_events_since(team, 0)
        .into_iter()
        .filter_map(|e| match e.event {
            breakathon_game::Event::Ledger(l) => Some((l.elapsed_s, "ledger")),
            breakathon_game::Event::Announcement(a) => Some((a.at_s, "announcement")),
            _ => None,
        })
        .collect();
    assert!(ticks.contains(&(60.0, "ledger")), "{ticks:?}");
    assert!(ticks.contains(&(120.0, "announcement")), "{ticks:?}");
    assert!(
        ticks.windows(2).all(|w| w[0].0 <= w[1].0),
        "events out of tick order: {ticks:?}"
    );
}
