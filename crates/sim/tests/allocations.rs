//! Hot systems do not allocate per entity per tick: after a warm-up, stepping a fleet
//! almost never allocates (log lines are written into the log ring's one text buffer; what
//! remains is the rare lines other stages queue, such as an instance's start, and the
//! buffers' rare growth). Allocation counts are deterministic (the simulation is), so this test
//! does not depend on timing or on the machine. It is the only test in this binary, because
//! the counting allocator is global.

#[path = "../benches/common/mod.rs"]
mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use breakathon_sim::{FaultSchedule, Simulation};

/// Counts allocations, then defers to the system allocator.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to `System`; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Ticks stepped before counting (histories and pools reach their working size).
const WARMUP_TICKS: u64 = 1_200;
/// Ticks counted.
const COUNTED_TICKS: u64 = 600;
/// Most allocations allowed per service per tick in a healthy fleet (measured: 0.0002 with
/// 20 services, 0.00003 with 100; before the log ring's text buffer, when every log line was an
/// allocation of its own, 0.06 in the memory bench's fleets). A
/// system that allocates for every service (or instance) every tick would be at 1 or more,
/// one that allocates per log line at about 0.1.
const MAX_QUIET_ALLOCATIONS_PER_SERVICE_TICK: f64 = 0.005;
/// The same with faults, which add error log lines and restarts (measured: 0.0009 with 20
/// services, 0.0004 with 100; about 0.06 when every log line was an allocation).
const MAX_FAULTY_ALLOCATIONS_PER_SERVICE_TICK: f64 = 0.01;

fn allocations_per_service_tick(services: usize, faults: bool) -> f64 {
    let mut scenario = common::generated_fleet(services, "1h");
    if !faults {
        scenario.faults.clear();
    }
    let scenario = Arc::new(scenario);
    let schedule = Arc::new(FaultSchedule::compute(&scenario, scenario.seed));
    let mut sim = Simulation::new(scenario, schedule).expect("generated fleet is valid");
    sim.step_until(WARMUP_TICKS);
    let start = ALLOCATIONS.load(Ordering::Relaxed);
    sim.step_until(WARMUP_TICKS + COUNTED_TICKS);
    let counted = ALLOCATIONS.load(Ordering::Relaxed) - start;
    counted as f64 / (services as f64 * COUNTED_TICKS as f64)
}

#[test]
fn stepping_does_not_allocate_per_service_per_tick() {
    for services in [20, 100] {
        for faults in [false, true] {
            let per = allocations_per_service_tick(services, faults);
            let max = if faults {
                MAX_FAULTY_ALLOCATIONS_PER_SERVICE_TICK
            } else {
                MAX_QUIET_ALLOCATIONS_PER_SERVICE_TICK
            };
            assert!(
                per < max,
                "{services} services (faults: {faults}): {per:.3} allocations per service-tick"
            );
        }
    }
}
