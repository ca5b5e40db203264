//! Engine throughput on the 100-service fleet (`benches/scenarios/fleet-100.ron`, or a
//! generated one when that file is missing), with at least three faults active:
//! - `step/100-services`: one tick of a warmed-up world (throughput in service-ticks);
//! - `dry-run-4h/100-services`: a whole 4-hour game, building the world included;
//! - `dry-run-report-4h/100-services`: the full `dry_run` report (world plus baseline).
//!
//! Run with `cargo bench -p breakathon-sim --bench engine`.

mod common;

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use breakathon_sim::dry_run::{DryRunOptions, dry_run};
use breakathon_sim::{FaultSchedule, Simulation};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// Ticks stepped before measuring `step`, so that the first faults are active.
const WARMUP_TICKS: u64 = 600;

fn engine(c: &mut Criterion) {
    let (scenario, source) = common::fleet_100();
    let services = scenario.services.len() as u64;
    let end_tick = scenario.duration.to_ticks(scenario.tick);
    eprintln!(
        "fleet: {source}, {services} services, {} faults, {end_tick} ticks",
        scenario.faults.len()
    );
    let scenario = Arc::new(scenario);
    let schedule = Arc::new(FaultSchedule::compute(&scenario, scenario.seed));

    let mut group = c.benchmark_group("step");
    group.throughput(Throughput::Elements(services));
    group.bench_function("100-services", |b| {
        let mut sim = Simulation::new(Arc::clone(&scenario), Arc::clone(&schedule)).expect("valid");
        sim.step_until(WARMUP_TICKS);
        let active = sim.incidents().iter().filter(|i| i.active).count();
        assert!(active >= 3, "want at least 3 active faults, got {active}");
        b.iter(|| {
            sim.step();
            black_box(sim.tick())
        });
    });
    group.finish();

    let mut group = c.benchmark_group("dry-run-4h");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(services * end_tick));
    group.bench_function("100-services", |b| {
        b.iter(|| {
            let mut sim =
                Simulation::new(Arc::clone(&scenario), Arc::clone(&schedule)).expect("valid");
            sim.step_until(end_tick);
            black_box(sim.tick())
        });
    });
    group.finish();

    let mut group = c.benchmark_group("dry-run-report-4h");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.bench_function("100-services", |b| {
        b.iter(|| {
            let report =
                dry_run(&scenario, &DryRunOptions::default(), &mut |_, _| {}).expect("dry run");
            black_box(report.summary.requests_failed)
        });
    });
    group.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
