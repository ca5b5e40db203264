//! Load check of the referee: `cargo run --release -p breakathon-game --example load --
//! SCENARIO TEAMS TICKS` runs TEAMS teams through TICKS ticks on a manual clock (one journal
//! record per simulated second, as a live game writes), times each step, a command commit
//! while that many teams run, a checkpoint, and recovery from it.
//!
//! `... --example load -- SCENARIO TEAMS SECONDS live [COMMANDS_PER_S]` plays the game live
//! instead, as the server does: a speed clock at one tick per second, one [`SharedGame`], a
//! ticker thread that pumps it every 100 ms (the worlds stepping outside the lock) and a
//! client thread that sends team commands at a steady rate (each locking its team with
//! `lock_team`), each taking the scoreboards after a change (encoded after the lock is
//! released, as the server does); it prints the process's CPU share over the run and the
//! commands' latency as the client sees it (waiting for the lock and the team's world
//! included).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use breakathon_game::{
    Action, Audience, ClockMode, Declaration, DeclaredTarget, Game, GameOptions, Notification,
    Scoreboard, SharedGame,
};
use breakathon_scenario::{ActionKind, FaultClass};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .unwrap_or_else(|| "scenarios/breakathon-4h.ron".into());
    let teams: u32 = args.next().map_or(Ok(100), |a| a.parse())?;
    let ticks: u64 = args.next().map_or(Ok(60), |a| a.parse())?;
    let source = std::fs::read_to_string(&path)?;
    if args.next().as_deref() == Some("live") {
        let rate: u64 = args
            .next()
            .map_or(Ok(DEFAULT_COMMANDS_PER_S), |a| a.parse())?;
        return live(&path, source, teams, ticks, rate);
    }
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

/// Commands per second the live client sends unless told.
const DEFAULT_COMMANDS_PER_S: u64 = 20;
/// How often the live ticker pumps the game (the server's `TICK_INTERVAL`).
const PUMP_INTERVAL: Duration = Duration::from_millis(100);
/// Clock ticks per second of `/proc/self/stat` (`USER_HZ`, 100 on Linux).
const USER_HZ: f64 = 100.0;

/// The process's user + system CPU time so far, s.
fn process_cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which ends with the last ')'): utime is the 12th, stime
    // the 13th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / USER_HZ
}

/// Both scoreboards when the game changed, taken under the lock as the server does after
/// every command and pump (it encodes them after releasing the lock, see [`encode`]).
fn changed_boards(game: &Game, last_seq: &AtomicU64) -> Option<(Scoreboard, Scoreboard)> {
    if !game.settled() {
        return None;
    }
    let seq = game.change_seq();
    if last_seq.swap(seq, Ordering::AcqRel) == seq {
        return None;
    }
    let public = game.scoreboard(false);
    let live = if public.frozen {
        game.scoreboard(true)
    } else {
        public.clone()
    };
    Some((live, public))
}

/// Encodes the boards to JSON (outside the lock), as the server publishes them.
fn encode(boards: Option<(Scoreboard, Scoreboard)>) {
    if let Some((live, public)) = boards {
        let json = (
            serde_json::to_string(&live).unwrap_or_default(),
            serde_json::to_string(&public).unwrap_or_default(),
        );
        std::hint::black_box(json);
    }
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(((v.len().max(1) - 1) as f64 * p) as usize)
        .copied()
        .unwrap_or(f64::NAN)
}

/// Plays `teams` teams live for `seconds` wall seconds at one tick per second.
fn live(
    path: &str,
    source: String,
    teams: u32,
    seconds: u64,
    rate: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let options = GameOptions {
        data_dir: dir.path().to_owned(),
        scenario_name: path.to_owned(),
        scenario_source: source,
        clock: ClockMode::Speed(1.0),
        new_game: true,
        organizer_token: None,
        judge_token: None,
    };
    let epoch = Instant::now();
    let now_ms = move || u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
    let mut game = Game::open(options, now_ms())?.game;
    let mut ids = Vec::new();
    for i in 0..teams {
        ids.push(game.create_team(&format!("team {i}"))?.0.id);
    }
    let service = game.scenario().services[0].name.clone();
    game.start(now_ms())?;
    let game = Arc::new(SharedGame::new(game));
    let last_seq = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let cpu_start = process_cpu_s();
    let wall_start = Instant::now();

    let ticker = {
        let game = Arc::clone(&game);
        let last_seq = Arc::clone(&last_seq);
        std::thread::spawn(move || -> Result<(Vec<f64>, u64), String> {
            let mut pump_ms = Vec::new();
            let mut next = Instant::now();
            while next < deadline {
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
                next += PUMP_INTERVAL;
                let s = Instant::now();
                let before = game.lock().map_err(|e| e.to_string())?.tick();
                game.pump(now_ms()).map_err(|e| e.to_string())?;
                let locked = game.lock().map_err(|e| e.to_string())?;
                let stepped = locked.tick() > before;
                let boards = changed_boards(&locked, &last_seq);
                drop(locked);
                if stepped {
                    pump_ms.push(s.elapsed().as_secs_f64() * 1000.0);
                }
                encode(boards);
            }
            let tick = game.lock().map_err(|e| e.to_string())?.tick();
            Ok((pump_ms, tick))
        })
    };
    let client = {
        let shared = Arc::clone(&game);
        let last_seq = Arc::clone(&last_seq);
        std::thread::spawn(move || -> Result<(Vec<f64>, Vec<f64>), String> {
            let mut latency_ms = Vec::new();
            let mut wait_ms = Vec::new();
            let period = Duration::from_micros(1_000_000 / rate.max(1));
            let mut next = Instant::now();
            let mut n = 0_usize;
            while next < deadline {
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
                next += period;
                let team = ids[n % ids.len()];
                let s = Instant::now();
                let mut game = shared.lock_team(team).map_err(|e| e.to_string())?;
                wait_ms.push(s.elapsed().as_secs_f64() * 1000.0);
                match n % 3 {
                    0 => game
                        .act(team, Action::on_service(ActionKind::FreeDisk, &service))
                        .map(drop),
                    1 => game.notify(
                        team,
                        Notification {
                            audience: Audience::CustomerService,
                            message: format!("all fine on {service}"),
                            service: None,
                            zone: None,
                        },
                    ),
                    _ => game
                        .declare(
                            team,
                            Declaration {
                                target: DeclaredTarget::Service(service.clone()),
                                class: FaultClass::DiskFull,
                            },
                        )
                        .map(drop),
                }
                .map_err(|e| e.to_string())?;
                let boards = changed_boards(&game, &last_seq);
                let seq = game.journal_seq();
                drop(game);
                // Group commit, as the server acknowledges: once the record is on disk.
                shared.make_durable(seq).map_err(|e| e.to_string())?;
                latency_ms.push(s.elapsed().as_secs_f64() * 1000.0);
                encode(boards);
                n += 1;
            }
            Ok((latency_ms, wait_ms))
        })
    };
    let (mut pump_ms, tick) = ticker.join().map_err(|_| "ticker panicked")??;
    let (mut latency_ms, mut wait_ms) = client.join().map_err(|_| "client panicked")??;
    let wall_s = wall_start.elapsed().as_secs_f64();
    let cpu_s = process_cpu_s() - cpu_start;
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    println!(
        "live: {teams} teams, {wall_s:.1} s wall, reached tick {tick}; CPU {cpu_s:.1} s = \
         {:.1} % of {cores} cores",
        100.0 * cpu_s / (wall_s * cores as f64)
    );
    println!(
        "pumps that stepped ({}, the worlds stepping outside the lock): median {:.1} ms, \
         p99 {:.1} ms, max {:.1} ms",
        pump_ms.len(),
        percentile(&mut pump_ms, 0.5),
        percentile(&mut pump_ms, 0.99),
        percentile(&mut pump_ms, 1.0)
    );
    println!(
        "commands ({}, {rate}/s, act/notify/declare): latency median {:.2} ms, p99 {:.2} ms, \
         max {:.2} ms",
        latency_ms.len(),
        percentile(&mut latency_ms, 0.5),
        percentile(&mut latency_ms, 0.99),
        percentile(&mut latency_ms, 1.0)
    );
    println!(
        "  of which waiting for the lock and the team's world: median {:.2} ms, p99 {:.2} ms, \
         max {:.2} ms",
        percentile(&mut wait_ms, 0.5),
        percentile(&mut wait_ms, 0.99),
        percentile(&mut wait_ms, 1.0)
    );
    Ok(())
}
