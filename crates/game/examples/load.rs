//! Load check of the referee: `cargo run --release -p breakathon-game --example load --
//! SCENARIO TEAMS TICKS` runs TEAMS teams through TICKS ticks on a manual clock (one journal
//! record per simulated second, as a live game writes), times each step, a command commit
//! while that many teams run, a checkpoint, and recovery from it.

use std::time::Instant;

use breakathon_game::{Action, ClockMode, Game, GameOptions};
use breakathon_scenario::ActionKind;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .unwrap_or_else(|| "scenarios/breakathon-4h.ron".into());
    let teams: u32 = args.next().map_or(Ok(100), |a| a.parse())?;
    let ticks: u64 = args.next().map_or(Ok(60), |a| a.parse())?;
    let source = std::fs::read_to_string(&path)?;
    let dir = tempfile::tempdir()?;
    let options = GameOptions {
        data_dir: dir.path().to_owned(),
        scenario_name: path.clone(),
        scenario_source: source,
        clock: ClockMode::Manual,
        new_game: true,
        organizer_token: None,
        judge_token: None,
    };
    let mut game = Game::open(options.clone(), 0)?.game;
    let started = Instant::now();
    let mut ids = Vec::new();
    for i in 0..teams {
        ids.push(game.create_team(&format!("team {i}"))?.0.id);
    }
    println!("created {teams} teams in {:?}", started.elapsed());
    game.start(0)?;
    let service = game.scenario().services[0].name.clone();
    let mut step_ms = Vec::new();
    let mut commit_ms = Vec::new();
    for t in 0..ticks {
        let s = Instant::now();
        game.advance(1)?;
        step_ms.push(s.elapsed().as_secs_f64() * 1000.0);
        let team = ids[usize::try_from(t).unwrap_or(0) % ids.len().max(1)];
        let s = Instant::now();
        game.act(team, Action::on_service(ActionKind::FreeDisk, &service))?;
        commit_ms.push(s.elapsed().as_secs_f64() * 1000.0);
    }
    let pct = |v: &mut Vec<f64>, p: f64| {
        v.sort_by(f64::total_cmp);
        v[((v.len() as f64 - 1.0) * p) as usize]
    };
    println!(
        "one tick of {teams} teams: median {:.2} ms, p99 {:.2} ms",
        pct(&mut step_ms, 0.5),
        pct(&mut step_ms, 0.99)
    );
    println!(
        "command commit: median {:.3} ms, p99 {:.3} ms",
        pct(&mut commit_ms, 0.5),
        pct(&mut commit_ms, 0.99)
    );
    if let Some(id) = ids.first() {
        let snapshot = game.world(*id)?.snapshot();
        for (name, named) in [("named", true), ("compact", false)] {
            let s = Instant::now();
            let bytes = if named {
                rmp_serde::to_vec_named(&snapshot)?
            } else {
                rmp_serde::to_vec(&snapshot)?
            };
            println!(
                "one world, MessagePack {name}: {} KB in {:?}",
                bytes.len() / 1000,
                s.elapsed()
            );
        }
    }
    let s = Instant::now();
    game.checkpoint()?;
    println!(
        "checkpoint (encode and write, synchronous): {:?}",
        s.elapsed()
    );
    // Run one more checkpoint interval, so that recovery replays about that much.
    let interval = breakathon_game::checkpoint::interval_ticks(ids.len());
    game.advance(interval - 1)?;
    let hash = game.state_hash();
    drop(game);
    let s = Instant::now();
    let opened = Game::open(
        GameOptions {
            new_game: false,
            ..options
        },
        0,
    )?;
    println!(
        "recovery: {:?} (checkpoint at tick {:?}, {} records replayed)",
        s.elapsed(),
        opened.checkpoint_tick,
        opened.replayed_records
    );
    assert_eq!(opened.game.state_hash(), hash, "recovered state differs");
    Ok(())
}
