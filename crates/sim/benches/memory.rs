//! Memory of one world: a 50-service fleet simulated over a whole 4-hour game, measured with a
//! counting global allocator (live bytes after building and after the game, peak, allocations
//! per tick) and the size of its snapshot. Also allocations per tick for fleets of several
//! sizes, to see whether hot systems allocate per entity per tick.
//!
//! It also times a whole 4-hour game of the 100-service fleet in wall time and in on-CPU time
//! of this thread (from `/proc/thread-self/schedstat`, Linux), which stays meaningful on a busy
//! machine where criterion's wall-clock figures are inflated by other processes: once as a
//! team's world (recording the telemetry the team sees) and once as a dry run's world
//! (recording nothing, `Simulation::stop_recording`).
//!
//! Run with `cargo bench -p breakathon-sim --bench memory`. It prints a table; the figures go
//! into `docs/PERFORMANCE.md`.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use breakathon_sim::history::PackedPoint;
use breakathon_sim::{FaultSchedule, RingMarks, Simulation};

/// Counts live bytes, peak live bytes and allocations, then defers to the system allocator.
struct Counting;

static LIVE_BYTES: AtomicU64 = AtomicU64::new(0);
static PEAK_BYTES: AtomicU64 = AtomicU64::new(0);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to `System`; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_alloc(layout.size());
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_alloc(layout.size());
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_sub(layout.size() as u64, Ordering::Relaxed);
        count_alloc(new_size);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn count_alloc(size: usize) {
    ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    let live = LIVE_BYTES.fetch_add(size as u64, Ordering::Relaxed) + size as u64;
    PEAK_BYTES.fetch_max(live, Ordering::Relaxed);
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Ticks of warm-up before allocations per tick are counted.
const WARMUP_TICKS: u64 = 1_800;
/// Ticks over which allocations per tick are counted.
const COUNTED_TICKS: u64 = 1_800;

/// Timed runs of the 4-hour game (the best is kept).
const TIMED_RUNS: usize = 3;

/// Nanoseconds this thread has spent on a CPU (Linux `schedstat`), if available.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing useful either way.
    let scenario = Arc::new(common::generated_fleet(50, "4h"));
    let end_tick = scenario.duration.to_ticks(scenario.tick);
    let schedule = Arc::new(FaultSchedule::compute(&scenario, scenario.seed));

    let before = LIVE_BYTES.load(Ordering::Relaxed);
    PEAK_BYTES.store(before, Ordering::Relaxed);
    let mut sim = Simulation::new(Arc::clone(&scenario), Arc::clone(&schedule)).expect("valid");
    let built = LIVE_BYTES.load(Ordering::Relaxed) - before;
    let allocations_before = ALLOCATIONS.load(Ordering::Relaxed);
    sim.step_until(end_tick);
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - allocations_before;
    let after = LIVE_BYTES.load(Ordering::Relaxed) - before;
    let peak = PEAK_BYTES.load(Ordering::Relaxed) - before;
    let snapshot = sim.snapshot();
    let log_ring = &snapshot.telemetry.logs;
    let (log_ring_bytes, log_text_bytes) = (log_ring.heap_bytes(), log_ring.text_bytes());
    let snapshot = serde_json::to_vec(&snapshot).expect("snapshot serializes");
    let hash_start = std::time::Instant::now();
    std::hint::black_box(sim.state_hash());
    let hash_ms = hash_start.elapsed().as_secs_f64() * 1e3;
    println!("memory of one 50-service world over a 4-hour game ({end_tick} ticks):");
    println!("  live after building      {:>10.2} MiB", mib(built));
    println!("  live after the game      {:>10.2} MiB", mib(after));
    println!("  peak during the game     {:>10.2} MiB", mib(peak));
    println!(
        "  snapshot (JSON)          {:>10.2} MiB",
        mib(snapshot.len() as u64)
    );
    println!(
        "  allocations              {allocations:>10} ({:.1} per tick)",
        allocations as f64 / end_tick as f64
    );
    println!("  state_hash() once        {hash_ms:>10.2} ms");
    println!("  incidents injected       {:>10}", sim.incidents().len());
    let logs = sim.logs(None, None, 0, usize::MAX);
    println!(
        "  log lines kept           {:>10} ({:.1} B of text on average; the ring's slots and \
         text buffer {:.2} MiB)",
        logs.len(),
        log_text_bytes as f64 / logs.len().max(1) as f64,
        mib(log_ring_bytes as u64)
    );
    println!(
        "  metric point size        {:>10} B (stored)",
        std::mem::size_of::<PackedPoint>()
    );
    let delta = sim.ring_delta(&RingMarks::default());
    let rings = breakathon_sim::RingDelta::encode_points(&delta.recent).len()
        + breakathon_sim::RingDelta::encode_points(&delta.old).len()
        + breakathon_sim::RingDelta::encode_logs(&delta.logs).len();
    let base = serde_json::to_vec(&sim.snapshot_base()).expect("base serializes");
    println!(
        "  rings as checkpoint bytes{:>10.2} MiB (base without them: {:.1} KiB JSON)",
        mib(rings as u64),
        base.len() as f64 / 1024.0
    );
    drop(logs);
    drop(sim);

    let (fleet, source) = common::fleet_100();
    let fleet = Arc::new(fleet);
    let end_tick = fleet.duration.to_ticks(fleet.tick);
    let schedule = Arc::new(FaultSchedule::compute(&fleet, fleet.seed));
    let service_ticks = (fleet.services.len() as u64 * end_tick) as f64;
    println!("\nwhole 4-hour game of the 100-service fleet ({source}), best of {TIMED_RUNS}:");
    for recording in [true, false] {
        let mut best_wall = f64::MAX;
        let mut best_cpu = f64::MAX;
        for _ in 0..TIMED_RUNS {
            let cpu_start = thread_cpu_ns();
            let wall_start = std::time::Instant::now();
            let mut sim =
                Simulation::new(Arc::clone(&fleet), Arc::clone(&schedule)).expect("valid");
            if !recording {
                sim.stop_recording();
            }
            sim.step_until(end_tick);
            std::hint::black_box(sim.tick());
            best_wall = best_wall.min(wall_start.elapsed().as_secs_f64());
            if let (Some(start), Some(end)) = (cpu_start, thread_cpu_ns()) {
                best_cpu = best_cpu.min((end - start) as f64 / 1e9);
            }
        }
        let what = if recording {
            "a team's world (recording telemetry)"
        } else {
            "a dry run's world (recording nothing)"
        };
        println!(
            "  {what}: wall {best_wall:.3} s, on-CPU {best_cpu:.3} s -> {:.2} M service-ticks/s on-CPU",
            service_ticks / best_cpu / 1e6
        );
    }

    println!(
        "\nallocations per tick after {WARMUP_TICKS} ticks of warm-up, over {COUNTED_TICKS} ticks:"
    );
    for services in [10, 50, 100, 200] {
        for faults in [false, true] {
            let mut scenario = common::generated_fleet(services, "4h");
            if !faults {
                scenario.faults.clear();
            }
            let scenario = Arc::new(scenario);
            let schedule = Arc::new(FaultSchedule::compute(&scenario, scenario.seed));
            let mut sim = Simulation::new(scenario, schedule).expect("valid");
            sim.step_until(WARMUP_TICKS);
            let start = ALLOCATIONS.load(Ordering::Relaxed);
            sim.step_until(WARMUP_TICKS + COUNTED_TICKS);
            let counted = ALLOCATIONS.load(Ordering::Relaxed) - start;
            println!(
                "  {services:>4} services, faults {:<5}: {:>8.2} allocations per tick",
                faults,
                counted as f64 / COUNTED_TICKS as f64
            );
        }
    }
}
