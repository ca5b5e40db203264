//! Helpers shared by the referee's integration tests.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use breakathon_game::{ClockMode, Game, GameOptions, LedgerKind, TeamId};

/// Options for a game of `source` (named `name`) in `dir`, with `clock`.
pub fn options(dir: &std::path::Path, name: &str, source: &str, clock: ClockMode) -> GameOptions {
    GameOptions {
        data_dir: dir.to_owned(),
        scenario_name: name.into(),
        scenario_source: source.into(),
        clock,
        new_game: false,
        organizer_token: None,
        judge_token: None,
    }
}

/// Opens (or recovers) a manual-clock game of `source` in `dir`.
pub fn open_manual(dir: &std::path::Path, name: &str, source: &str) -> Game {
    Game::open(options(dir, name, source, ClockMode::Manual), 0)
        .unwrap()
        .game
}

/// Advances a manual clock to `tick` (1 tick = 1 s).
pub fn at(game: &mut Game, tick: u64) {
    let now = game.tick();
    assert!(tick >= now, "script goes back in time: {tick} < {now}");
    if tick > now {
        game.advance(tick - now).unwrap();
    }
    assert_eq!(game.tick(), tick);
}

/// A team's ledger as (tick, points, kind).
pub fn ledger(game: &Game, team: TeamId) -> Vec<(u64, i64, LedgerKind)> {
    game.ledger(team)
        .unwrap()
        .into_iter()
        .map(|e| (e.tick, e.points, e.kind))
        .collect()
}
