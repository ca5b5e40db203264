//! Recovery at the end of a long game: `cargo run --release -p breakathon-game --example
//! recovery -- build DIR SCENARIO TEAMS [TICKS]` plays TEAMS teams that never act through TICKS
//! ticks (the scenario's whole length by default, less [`TAIL_TICKS`]) on a manual clock in a
//! fresh data directory, with the background checkpoints a live game takes, and writes the tick
//! and state hash it reached to `DIR/expected.txt`; then `... -- recover DIR SCENARIO` opens
//! that directory in a fresh process, as after `kill -9`, and prints how long recovery took
//! (wall and on-CPU time of the whole process) and whether the state equals the one the
//! game had (`--no-hash`: only the timings, for profiling).
//!
//! `build` prints its progress every simulated hour; `du` of the directory shows the size of
//! the journal with its checkpoints.

use std::path::{Path, PathBuf};
use std::time::Instant;

use breakathon_game::{ClockMode, Game, GameOptions};

/// Simulated seconds per `advance` while building (one journal record each).
const ADVANCE_SECS: u64 = 60;
/// Ticks played after the last checkpoint due, so that recovery replays about half an
/// interval (a crash in the middle of one).
const TAIL_TICKS: u64 = 30;
/// Ticks per simulated hour (1 s ticks), for progress.
const HOUR_TICKS: u64 = 3_600;

/// On-CPU time of this process, all threads, s (Linux `/proc/self/stat`, 100 Hz ticks).
fn process_cpu_s() -> f64 {
    let Ok(text) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = text.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    match (ticks(11), ticks(12)) {
        (Some(user), Some(system)) => (user + system) / 100.0,
        _ => f64::NAN,
    }
}

fn options(dir: &Path, scenario: &str) -> Result<GameOptions, Box<dyn std::error::Error>> {
    Ok(GameOptions {
        data_dir: dir.to_owned(),
        scenario_name: scenario.to_owned(),
        scenario_source: std::fs::read_to_string(scenario)?,
        clock: ClockMode::Manual,
        new_game: false,
        organizer_token: None,
        judge_token: None,
    })
}

fn build(
    dir: &Path,
    scenario: &str,
    teams: u32,
    ticks: Option<u64>,
) -> Result<(), Box<dyn std::error::Error>> {
    if dir
        .join(breakathon_game::journal::JOURNAL_FILE_NAME)
        .exists()
    {
        return Err(format!("{} already holds a game", dir.display()).into());
    }
    let wall = Instant::now();
    let mut game = Game::open(options(dir, scenario)?, 0)?.game;
    for i in 0..teams {
        game.create_team(&format!("team {i}"))?;
    }
    game.start(0)?;
    // 1 s ticks: the game's length in seconds is its length in ticks.
    let end = game.status().duration_s as u64;
    let target = ticks.unwrap_or(end.saturating_sub(TAIL_TICKS)).min(end);
    let interval = breakathon_game::checkpoint::interval_ticks(teams as usize);
    // Stop at the last multiple of the checkpoint interval before the target, then play the
    // tail: recovery starts from that checkpoint and replays the tail.
    let checkpoint_at = target / interval * interval;
    println!(
        "{teams} teams, {scenario}: playing to tick {checkpoint_at} (checkpoint every {interval} ticks), then to {target}"
    );
    while game.tick() < checkpoint_at {
        let step = ADVANCE_SECS.min(checkpoint_at - game.tick());
        game.advance(step)?;
        if game.tick() % HOUR_TICKS < step {
            println!(
                "  tick {:>6}: wall {:>7.1} s, process on-CPU {:>7.1} s",
                game.tick(),
                wall.elapsed().as_secs_f64(),
                process_cpu_s()
            );
        }
        if let Some(e) = game.checkpoint_error() {
            return Err(format!("checkpoint failed: {e}").into());
        }
    }
    // Make sure the checkpoint at `checkpoint_at` is the newest complete one: a synchronous
    // one on top of the background writer's (which may have been busy when it was due).
    let s = Instant::now();
    game.checkpoint()?;
    println!(
        "  synchronous checkpoint at tick {}: {:.1} s",
        game.tick(),
        s.elapsed().as_secs_f64()
    );
    if target > game.tick() {
        game.advance(target - game.tick())?;
    }
    let hash = game.state_hash();
    let tick = game.tick();
    std::fs::write(dir.join("expected.txt"), format!("{tick} {hash}\n"))?;
    println!(
        "built: tick {tick}, state hash {hash:016x}; wall {:.1} s, process on-CPU {:.1} s",
        wall.elapsed().as_secs_f64(),
        process_cpu_s()
    );
    // Dropped without any shutdown: the background writer finishes what it took.
    Ok(())
}

fn recover(dir: &Path, scenario: &str, check: bool) -> Result<(), Box<dyn std::error::Error>> {
    let expected = std::fs::read_to_string(dir.join("expected.txt"))?;
    let mut parts = expected.split_whitespace();
    let tick: u64 = parts.next().ok_or("expected.txt: no tick")?.parse()?;
    let hash: u64 = parts.next().ok_or("expected.txt: no hash")?.parse()?;
    let options = options(dir, scenario)?;
    let cpu = process_cpu_s();
    let wall = Instant::now();
    let opened = Game::open(options, 0)?;
    let wall_s = wall.elapsed().as_secs_f64();
    let cpu_s = process_cpu_s() - cpu;
    println!(
        "recovery of {} teams: wall {wall_s:.2} s, process on-CPU {cpu_s:.2} s \
         (checkpoint at tick {:?} loaded in {:.2} s, {} records replayed in {:.2} s, tick {})",
        opened.game.teams().len(),
        opened.checkpoint_tick,
        opened.checkpoint_load_ms as f64 / 1e3,
        opened.replayed_records,
        opened.replay_ms as f64 / 1e3,
        opened.game.tick()
    );
    if !check {
        return Ok(());
    }
    let s = Instant::now();
    let recovered = opened.game.state_hash();
    println!(
        "state hash {recovered:016x} ({:.1} s to compute): {}",
        s.elapsed().as_secs_f64(),
        if recovered == hash && opened.game.tick() == tick {
            "equal to the game's before the crash"
        } else {
            "DIFFERENT from the game's before the crash"
        }
    );
    if recovered != hash {
        return Err("recovered state differs".into());
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: recovery build DIR SCENARIO TEAMS [TICKS] | recovery recover DIR SCENARIO \
                 [--no-hash]";
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["build", dir, scenario, teams] => {
            build(&PathBuf::from(dir), scenario, teams.parse()?, None)
        }
        ["build", dir, scenario, teams, ticks] => build(
            &PathBuf::from(dir),
            scenario,
            teams.parse()?,
            Some(ticks.parse()?),
        ),
        ["recover", dir, scenario] => recover(&PathBuf::from(dir), scenario, true),
        ["recover", dir, scenario, "--no-hash"] => recover(&PathBuf::from(dir), scenario, false),
        _ => Err(usage.into()),
    }
}
