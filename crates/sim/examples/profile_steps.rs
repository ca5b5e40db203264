//! Steps a scenario (default `benches/scenarios/fleet-100.ron`) for a number of ticks with
//! nobody acting and prints the time taken and a fingerprint of the result: a small target
//! for `valgrind --tool=callgrind` or `perf`.
//!
//! `cargo run -p breakathon-sim --release --example profile_steps -- [SCENARIO] [TICKS]`
//! (with `PROFILE_STATE_HASH=1`, it also prints the hash of the whole world at the end; with
//! `PROFILE_NO_RECORDING=1` the world records no telemetry, as a dry run's worlds).
use std::sync::Arc;

use breakathon_sim::{FaultSchedule, Simulation};

/// Ticks stepped when none are given (ten minutes at one-second ticks).
const DEFAULT_TICKS: u64 = 600;

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "benches/scenarios/fleet-100.ron".into());
    let ticks: u64 = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_TICKS);
    let text = std::fs::read_to_string(&path).expect("read scenario");
    let scenario = Arc::new(breakathon_scenario::parse_unchecked(&text).expect("parse"));
    let schedule = Arc::new(FaultSchedule::compute(&scenario, scenario.seed));
    let mut sim = Simulation::new(scenario, schedule).expect("sim");
    if std::env::var_os("PROFILE_NO_RECORDING").is_some() {
        sim.stop_recording();
    }
    let t0 = std::time::Instant::now();
    let mut ok = 0.0;
    let mut failed = 0.0;
    let mut revenue = 0.0;
    for _ in 0..ticks {
        sim.step();
        let r = sim.last_tick_report();
        ok += r.requests_ok;
        failed += r.requests_failed;
        revenue += r.revenue_units;
    }
    let elapsed = t0.elapsed();
    println!(
        "{ticks} ticks in {elapsed:?} ({:.1} us/tick); ok={ok:.3} failed={failed:.3} \
         revenue={revenue:.3} bits={:016x}",
        elapsed.as_secs_f64() * 1e6 / ticks as f64,
        ok.to_bits() ^ failed.to_bits().rotate_left(21) ^ revenue.to_bits().rotate_left(42)
    );
    // The whole world at the end (fleet, telemetry with its logs, incidents...): a stricter
    // check than `bits`, not timed.
    if std::env::var_os("PROFILE_STATE_HASH").is_some() {
        println!("state={:016x}", sim.state_hash());
    }
}
