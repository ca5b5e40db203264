//! A tick completed in stages — worlds handed out and back, team commands in the middle of
//! the tick — gives exactly what a replay of its journal gives, where every tick is stepped
//! whole before the commands at it apply.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use breakathon_game::journal::JOURNAL_FILE_NAME;
use breakathon_game::{
    Access, Action, Audience, ClockMode, Declaration, DeclaredTarget, Game, GameError, GameState,
    Notification, SharedGame, TeamId, Verdict,
};
use breakathon_scenario::{ActionKind, FaultClass};

const TUTORIAL: &str = include_str!("../../../scenarios/tutorial.ron");
const TEAMS: usize = 12;
/// Past the crash injected at 3 minutes, so that some declarations are right.
const TICKS: u64 = 200;

fn open_speed(dir: &std::path::Path) -> (Game, Vec<TeamId>) {
    let options = common::options(dir, "tutorial.ron", TUTORIAL, ClockMode::Speed(1.0));
    let mut game = Game::open(options, 0).unwrap().game;
    let ids = (0..TEAMS)
        .map(|i| game.create_team(&format!("team {i}")).unwrap().0.id)
        .collect();
    game.start(0).unwrap();
    (game, ids)
}

/// A team's command at `tick`: a declaration, an action or a notification in turn (each is
/// accepted; which one depends on the tick and the team, so teams diverge).
fn command(game: &mut Game, team: TeamId, tick: u64) {
    match (tick + u64::from(team.0)) % 3 {
        0 => {
            game.declare(
                team,
                Declaration {
                    target: DeclaredTarget::Service("shop-api".into()),
                    class: FaultClass::Crash,
                },
            )
            .unwrap();
        }
        1 => {
            game.act(team, Action::on_service(ActionKind::FreeDisk, "db"))
                .unwrap();
        }
        _ => game
            .notify(
                team,
                Notification {
                    audience: Audience::CustomerService,
                    message: "looking into shop-api".into(),
                    service: Some("shop-api".into()),
                    zone: None,
                },
            )
            .unwrap(),
    }
}

fn replayed_hash(dir: &std::path::Path) -> u64 {
    Game::replay(&dir.join(JOURNAL_FILE_NAME), None)
        .unwrap()
        .state_hash()
}

#[test]
fn commands_in_the_middle_of_a_tick_give_what_replaying_the_journal_gives() {
    let dir = tempfile::tempdir().unwrap();
    let (mut game, ids) = open_speed(dir.path());
    for t in 1..=TICKS {
        assert!(game.begin_due_tick(t * 1000).unwrap(), "tick {t} is due");
        let first = game.check_out(4);
        // A team whose world is out can be neither read nor commanded until it is back.
        assert!(matches!(game.catch_up(ids[1]), Err(GameError::Busy(_))));
        assert!(matches!(game.world(ids[1]), Err(GameError::Busy(_))));
        assert!(matches!(game.world(ids[9]), Err(GameError::Busy(_))));
        // A lagging team's command steps it first; an organizer's command waits.
        command(&mut game, ids[9], t);
        assert!(game.world(ids[9]).is_ok());
        assert!(matches!(game.announce("hello"), Err(GameError::Busy(_))));
        game.check_in(first);
        // A team already stepped commands at once.
        command(&mut game, ids[2], t);
        let second = game.check_out(4);
        game.check_in(second);
        // Completing the tick steps whoever is left.
        game.finish_tick().unwrap();
        command(&mut game, ids[5], t);
        assert_eq!(game.tick(), t);
    }
    let correct = game
        .declarations(ids[9])
        .unwrap()
        .iter()
        .filter(|d| d.verdict == Verdict::Correct)
        .count();
    assert_eq!(correct, 1, "team 9 detected the crash once");
    let live = game.state_hash();
    drop(game);
    assert_eq!(replayed_hash(dir.path()), live);
}

/// Plays `ticks` ticks through a [`SharedGame`] — the worlds stepping on threads outside the
/// lock — while two threads send a command per team and tick as soon as they can; returns
/// the state hash at the end.
fn play_shared(dir: &std::path::Path, ticks: u64) -> u64 {
    let (game, ids) = open_speed(dir);
    let shared = SharedGame::new(game);
    let done = AtomicBool::new(false);
    let mid_tick = AtomicU64::new(0);
    std::thread::scope(|scope| {
        for half in ids.chunks(TEAMS / 2) {
            let (shared, done, mid_tick) = (&shared, &done, &mid_tick);
            scope.spawn(move || {
                // One command per team and tick, each acknowledged once durable.
                let mut last_tick = vec![u64::MAX; half.len()];
                while !done.load(Ordering::Acquire) {
                    for (last, &team) in last_tick.iter_mut().zip(half) {
                        shared
                            .command(Access::Team(team), |game| {
                                let tick = game.tick();
                                if tick != *last {
                                    if !game.settled() {
                                        mid_tick.fetch_add(1, Ordering::Relaxed);
                                    }
                                    command(game, team, tick);
                                    *last = tick;
                                }
                            })
                            .unwrap();
                    }
                    std::thread::yield_now();
                }
            });
        }
        for t in 1..=ticks {
            shared.pump(t * 1000).unwrap();
        }
        done.store(true, Ordering::Release);
    });
    let mut game = shared.lock_settled().unwrap();
    assert_eq!(game.tick(), ticks);
    // Paused, so that a recovery (which pauses a running game) changes nothing.
    game.pause(ticks * 1000).unwrap();
    println!(
        "{} commands landed in the middle of a tick",
        mid_tick.load(Ordering::Relaxed)
    );
    game.state_hash()
}

#[test]
fn a_shared_game_stepping_unlocked_under_concurrent_commands_replays_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let live = play_shared(dir.path(), TICKS);
    assert_eq!(replayed_hash(dir.path()), live);
}

#[test]
fn a_checkpoint_taken_while_the_worlds_step_recovers_the_same_state() {
    let dir = tempfile::tempdir().unwrap();
    // 12 teams checkpoint every 300 ticks: the one of tick 300 is taken during tick 301.
    let interval = breakathon_game::checkpoint::interval_ticks(TEAMS);
    let live = play_shared(dir.path(), interval + 20);
    let options = common::options(dir.path(), "tutorial.ron", TUTORIAL, ClockMode::Speed(1.0));
    let opened = Game::open(options, 0).unwrap();
    assert_eq!(opened.checkpoint_tick, Some(interval));
    assert_eq!(opened.game.tick(), interval + 20);
    assert_eq!(opened.game.state_hash(), live);
    drop(opened);
    assert_eq!(replayed_hash(dir.path()), live);
}

#[test]
fn team_commands_wait_for_a_tick_that_ends_the_game() {
    let dir = tempfile::tempdir().unwrap();
    let (mut game, ids) = open_speed(dir.path());
    let end = 15 * 60;
    game.pump((end - 1) * 1000).unwrap();
    assert_eq!(game.tick(), end - 1);
    assert!(game.begin_due_tick(end * 1000).unwrap());
    // The last tick finishes the game: a command may not slip in before that.
    assert!(matches!(game.catch_up(ids[0]), Err(GameError::Busy(_))));
    game.finish_tick().unwrap();
    assert!(matches!(
        game.act(ids[0], Action::on_service(ActionKind::FreeDisk, "db")),
        Err(GameError::WrongState(_))
    ));
}

#[test]
fn a_shared_game_acknowledges_a_command_once_its_record_is_synced() {
    let dir = tempfile::tempdir().unwrap();
    let (game, ids) = open_speed(dir.path());
    let shared = SharedGame::new(game);
    let synced = || {
        shared
            .wal_sync()
            .expect("a SQLite journal commits in groups")
            .syncs()
    };
    let before = synced();
    shared
        .command(Access::Team(ids[0]), |game| {
            game.act(ids[0], Action::on_service(ActionKind::FreeDisk, "db"))
        })
        .unwrap()
        .unwrap();
    assert_eq!(synced(), before + 1, "the action's record was synced");
    // A read journals nothing, so it waits for no disk.
    let tick = shared
        .command(Access::Team(ids[0]), |game| game.tick())
        .unwrap();
    assert_eq!(tick, 0);
    assert_eq!(synced(), before + 1);
}

#[test]
fn a_game_behind_its_clock_slips_and_pauses_at_the_tick_it_reached() {
    let dir = tempfile::tempdir().unwrap();
    // 100 ticks per wall second: the clock may be at most 100 ticks (one second) ahead.
    let options = common::options(
        dir.path(),
        "tutorial.ron",
        TUTORIAL,
        ClockMode::Speed(100.0),
    );
    let mut game = Game::open(options, 0).unwrap().game;
    game.create_team("slow machine").unwrap();
    game.start(0).unwrap();
    let shared = SharedGame::new(game);
    shared.pump(100).unwrap();
    let tick = || shared.lock_settled().unwrap().tick();
    assert_eq!(tick(), 10, "keeping up: no slip");
    assert!(!shared.lock_settled().unwrap().clock_behind(100));
    // The machine stalled for a minute: the clock says tick 6,000, but it slips to one
    // second ahead instead of chasing the backlog.
    shared.pump(60_000).unwrap();
    assert_eq!(tick(), 110);
    {
        let game = shared.lock_settled().unwrap();
        assert!(game.clock_behind(60_000));
        assert_eq!(game.clock_slipped_ticks(), 6_000 - 110);
    }
    // Half a second later 150 ticks are due; the pause lands where the game is, stepping
    // none of them.
    shared
        .command(Access::Settled, |game| game.pause(60_500))
        .unwrap()
        .unwrap();
    assert_eq!(tick(), 110);
    assert_eq!(
        shared.lock_settled().unwrap().status().state,
        GameState::Paused
    );
    shared
        .command(Access::Settled, |game| game.resume(70_000))
        .unwrap()
        .unwrap();
    shared.pump(70_050).unwrap();
    assert_eq!(tick(), 115, "resumed at the speed, from where it paused");
    // Finish, like pause, steps no backlog.
    shared
        .command(Access::Settled, |game| game.finish(90_000))
        .unwrap()
        .unwrap();
    let game = shared.lock_settled().unwrap();
    assert_eq!(game.tick(), 115);
    assert_eq!(game.status().state, GameState::Finished);
    let live = game.state_hash();
    drop(game);
    drop(shared);
    // The anchor is not journaled: replay follows the tick records.
    assert_eq!(replayed_hash(dir.path()), live);
}

#[test]
fn a_caller_that_cannot_have_the_game_in_time_is_refused_and_nothing_is_done() {
    let dir = tempfile::tempdir().unwrap();
    let (mut game, ids) = open_speed(dir.path());
    assert!(game.begin_due_tick(1000).unwrap());
    let out = game.check_out(1);
    let shared = SharedGame::new(game);
    let soon = Instant::now() + Duration::from_millis(50);
    // A game-wide command waits for the tick, which nobody completes here.
    let busy = shared
        .lock_for_until(Access::Settled, soon)
        .map(|_| ())
        .unwrap_err();
    assert!(matches!(busy, GameError::Busy(_)), "{busy}");
    assert!(busy.to_string().contains("nothing was done"), "{busy}");
    // A deadline already passed refuses even a game that is free.
    let past = Instant::now()
        .checked_sub(Duration::from_millis(1))
        .unwrap();
    let late = shared
        .lock_for_until(Access::Team(ids[5]), past)
        .map(|_| ())
        .unwrap_err();
    assert!(matches!(late, GameError::Busy(_)), "{late}");
    // In time, a team at home is served in the middle of the tick.
    let game = shared
        .lock_for_until(
            Access::Team(ids[5]),
            Instant::now() + Duration::from_secs(5),
        )
        .unwrap();
    assert_eq!(game.tick(), 1);
    drop(game);
    drop(out);
}

#[test]
fn a_journal_that_cannot_be_written_stops_the_game_and_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let mut game = common::open_manual(dir.path(), "tutorial.ron", TUTORIAL);
    game.create_team("Red").unwrap();
    game.start(0).unwrap();
    game.advance(5).unwrap();
    // The journal's table disappears behind the game's back: it cannot be written (as on a
    // full disk).
    let other = rusqlite::Connection::open(dir.path().join(JOURNAL_FILE_NAME)).unwrap();
    other
        .execute_batch("ALTER TABLE journal RENAME TO hidden")
        .unwrap();
    let error = game.advance(5).unwrap_err();
    assert_eq!(error.kind(), breakathon_game::ErrorKind::Storage, "{error}");
    assert!(
        error.to_string().contains("journal could not be written"),
        "{error}"
    );
    assert_eq!(game.tick(), 5, "not applied");
    assert!(game.failure().is_some());
    other
        .execute_batch("ALTER TABLE hidden RENAME TO journal")
        .unwrap();
    // Even once it could be written again, nothing more is accepted until a restart.
    let again = game.announce("still there?").unwrap_err();
    assert!(matches!(again, GameError::Stopped(_)), "{again}");
    assert!(again.to_string().contains("restart"), "{again}");
    let shared = SharedGame::new(game);
    assert!(shared.failure().is_some());
    assert!(shared.lock_settled().is_ok(), "reads still answer");
    drop(shared);
    // A restart recovers every acknowledged command.
    let recovered = common::open_manual(dir.path(), "tutorial.ron", TUTORIAL);
    assert_eq!(recovered.tick(), 5);
    assert_eq!(recovered.teams().len(), 1);
    assert!(recovered.failure().is_none());
}

#[test]
fn a_journal_busy_with_another_writer_refuses_the_command_without_stopping_the_game() {
    let dir = tempfile::tempdir().unwrap();
    let mut game = common::open_manual(dir.path(), "tutorial.ron", TUTORIAL);
    game.create_team("Red").unwrap();
    game.start(0).unwrap();
    // Another connection holds the write lock longer than an append waits.
    let other = rusqlite::Connection::open(dir.path().join(JOURNAL_FILE_NAME)).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let busy = game.advance(5).unwrap_err();
    assert!(matches!(busy, GameError::Busy(_)), "{busy}");
    assert!(busy.to_string().contains("nothing was done"), "{busy}");
    assert_eq!(game.tick(), 0);
    assert!(game.failure().is_none(), "busy is not a failure");
    other.execute_batch("ROLLBACK").unwrap();
    game.advance(5).unwrap();
    assert_eq!(game.tick(), 5);
}
