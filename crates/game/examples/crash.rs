//! Crash drill: `cargo run -p breakathon-game --example crash -- DATA_DIR` plays a few
//! commands into DATA_DIR, prints the state hash and tick, and aborts without closing anything
//! (as `kill -9` would). Then `breakathon replay DATA_DIR/game.sqlite --until-tick TICK`
//! or reopening the directory must give the same hash.

use breakathon_game::{ClockMode, Declaration, DeclaredTarget, Game, GameOptions};
use breakathon_scenario::FaultClass;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).ok_or("usage: crash DATA_DIR")?;
    let path = "scenarios/tutorial.ron";
    let mut game = Game::open(
        GameOptions {
            data_dir: dir.into(),
            scenario_name: path.into(),
            scenario_source: std::fs::read_to_string(path)?,
            clock: ClockMode::Manual,
            new_game: true,
            organizer_token: None,
            judge_token: None,
        },
        0,
    )?
    .game;
    let team = game.create_team("Crashers")?.0.id;
    game.start(0)?;
    game.advance(400)?;
    game.declare(
        team,
        Declaration {
            target: DeclaredTarget::Service("shop-api".into()),
            class: FaultClass::Crash,
        },
    )?;
    game.checkpoint()?;
    game.advance(100)?;
    println!("{:016x} {}", game.state_hash(), game.tick());
    std::process::abort();
}
