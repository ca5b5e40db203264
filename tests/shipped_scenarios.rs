//! Every scenario shipped in `scenarios/` and `benches/scenarios/` loads through the
//! validating loader without errors, runs healthy in the engine until its faults strike,
//! and keeps the promises its name makes (the tutorial is short and gentle, the four-hour
//! game covers the catalog, and so on).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use breakathon_scenario::{
    ActionKind, FaultClass, FaultKind, Scenario, ServiceKind, SimDuration, Target, Trigger,
    load_file,
};
use breakathon_sim::FaultSchedule;
use breakathon_sim::dry_run::{
    DryRunOptions, DryRunReport, IncidentOutcome, ScriptedAction, dry_run,
};

/// Directories (relative to the repository root) whose `.ron` files are shipped.
const SHIPPED_DIRS: [&str; 2] = ["scenarios", "benches/scenarios"];

/// Benchmark fleets written out from the engine benches' generator (`referee-fleet-50.ron`,
/// for the referee's 1,000-team measurements): load and validate like every file, but are not
/// games — some services are unreachable and the fleet runs cool by construction — so the
/// realism check below does not apply to them.
const GENERATED_BENCH_FLEETS: [&str; 1] = ["referee-fleet-50.ron"];

/// Lowest baseline utilisation of an internal service we call realistic, in percent.
const MIN_BASELINE_UTILISATION_PERCENT: f64 = 30.0;

/// Highest baseline utilisation (at the daily curve's peak) we call realistic, in percent.
const MAX_BASELINE_UTILISATION_PERCENT: f64 = 65.0;

/// Largest share of the idle fleet's SLO breach a fleet run by its playbook may still have
/// (restarts and rollbacks have after-effects; the gentle tutorial leaves the least to save).
const MAX_PLAYED_ERROR_SHARE: f64 = 0.6;

/// Largest share of requests that may fail in a fleet where nothing is broken.
const MAX_BASELINE_FAILED_SHARE: f64 = 0.001;

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every shipped scenario file, sorted.
fn shipped_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in SHIPPED_DIRS {
        let entries = std::fs::read_dir(repo_root().join(dir))
            .unwrap_or_else(|e| panic!("cannot list {dir}: {e}"));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.extension().is_some_and(|ext| ext == "ron") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Loads a shipped scenario through the validating loader; any error fails the test.
fn load(relative: &str) -> Scenario {
    let path = repo_root().join(relative);
    match load_file(&path) {
        Ok(loaded) => {
            if loaded.report.warning_count() > 0 {
                eprintln!("{}", loaded.report);
            }
            loaded.scenario
        }
        Err(error) => panic!("{error}"),
    }
}

fn mins(n: u64) -> SimDuration {
    SimDuration::from_mins(n)
}

fn classes(scenario: &Scenario) -> BTreeSet<FaultClass> {
    scenario.faults.iter().map(|f| f.kind.class()).collect()
}

/// Offered load per service at the baseline rate, following `calls_per_request` down the
/// call graph (the validator has already rejected cycles).
fn baseline_load_rps(scenario: &Scenario) -> BTreeMap<String, f64> {
    fn visit<'a>(
        name: &'a str,
        scenario: &'a Scenario,
        seen: &mut BTreeSet<&'a str>,
        order: &mut Vec<&'a str>,
    ) {
        if !seen.insert(name) {
            return;
        }
        if let Some(service) = scenario.services.iter().find(|s| s.name == name) {
            for dependency in &service.dependencies {
                visit(&dependency.service, scenario, seen, order);
            }
        }
        order.push(name);
    }
    let mut seen = BTreeSet::new();
    let mut order = Vec::new();
    for service in &scenario.services {
        visit(&service.name, scenario, &mut seen, &mut order);
    }
    let mut load: BTreeMap<String, f64> = BTreeMap::new();
    for entry in &scenario.traffic.entry_points {
        *load.entry(entry.service.clone()).or_default() += entry.rps;
    }
    // Callers come after their callees in `order`: walk it backwards.
    for name in order.iter().rev() {
        let rps = load.get(*name).copied().unwrap_or(0.0);
        if let Some(service) = scenario.services.iter().find(|s| s.name == *name) {
            for dependency in &service.dependencies {
                *load.entry(dependency.service.clone()).or_default() +=
                    rps * dependency.calls_per_request;
            }
        }
    }
    load
}

#[test]
fn every_shipped_scenario_loads_without_errors() {
    let files = shipped_files();
    assert!(
        files.len() >= 6,
        "expected the five shipped scenarios and the benchmark, found {files:?}"
    );
    let mut failures = Vec::new();
    for path in &files {
        match load_file(path) {
            Ok(loaded) => eprintln!("{}", loaded.report),
            Err(error) => failures.push(error.to_string()),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn shipped_fleets_run_at_a_realistic_baseline_utilisation() {
    for path in shipped_files() {
        let generated = path
            .file_name()
            .is_some_and(|name| GENERATED_BENCH_FLEETS.iter().any(|g| name == *g));
        if generated {
            continue;
        }
        let relative = path.strip_prefix(repo_root()).expect("under the root");
        let scenario = load(&relative.to_string_lossy());
        let peak = scenario
            .traffic
            .daily_curve
            .iter()
            .copied()
            .fold(1.0_f64, f64::max);
        let load = baseline_load_rps(&scenario);
        for service in &scenario.services {
            let rps = load.get(&service.name).copied().unwrap_or(0.0);
            assert!(
                rps > 0.0,
                "{}: no traffic reaches {}",
                path.display(),
                service.name
            );
            // Partners' capacity is theirs; queues and workers may run cool.
            if matches!(
                service.kind,
                ServiceKind::ExternalApi | ServiceKind::Queue | ServiceKind::Worker
            ) {
                continue;
            }
            let zones = if service.zones.is_empty() {
                scenario.zones.len()
            } else {
                service.zones.len()
            };
            let capacity_rps =
                service.capacity_rps * f64::from(service.instances_per_zone) * zones as f64;
            let utilisation = 100.0 * rps * peak / capacity_rps;
            assert!(
                (MIN_BASELINE_UTILISATION_PERCENT..=MAX_BASELINE_UTILISATION_PERCENT)
                    .contains(&utilisation),
                "{}: {} runs at {utilisation:.1} % of capacity at baseline",
                path.display(),
                service.name
            );
        }
    }
}

#[test]
fn game_scenarios_are_healthy_until_something_breaks() {
    for path in shipped_files() {
        let relative = path.strip_prefix(repo_root()).expect("under the root");
        if !relative.starts_with("scenarios") {
            continue;
        }
        let scenario = load(&relative.to_string_lossy());
        let report = dry_run(&scenario, &DryRunOptions::default(), &mut |_, _| {})
            .unwrap_or_else(|e| panic!("{}: {e}", relative.display()));
        // The same fleet with no fault and nobody acting breaches no customer-facing SLO.
        for service in &report.services {
            assert_eq!(
                service.baseline_breached_minutes,
                0.0,
                "{}: {} breaches its SLO with nothing broken",
                relative.display(),
                service.service
            );
        }
        let served = report.summary.requests_ok + report.summary.requests_failed;
        assert!(
            report.summary.baseline_requests_failed <= served * MAX_BASELINE_FAILED_SHARE,
            "{}: {} requests fail with nothing broken",
            relative.display(),
            report.summary.baseline_requests_failed
        );
        // Every fault on the shared schedule strikes, and together they hurt customers.
        for fault in &scenario.faults {
            if matches!(fault.trigger, Trigger::When(_)) {
                continue;
            }
            assert!(
                report.incidents.iter().any(|i| i.fault_name == fault.name),
                "{}: {} never strikes",
                relative.display(),
                fault.name
            );
        }
        assert!(report.summary.error_minutes > 0.0, "{}", relative.display());
    }
}

/// The playbook of a shipped game scenario, `scenarios/playbooks/<name>.ron`: the right
/// actions at the right times.
fn playbook(relative: &Path) -> Vec<ScriptedAction> {
    let name = relative.file_name().expect("a file name");
    let path = repo_root().join("scenarios/playbooks").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "every game scenario has a playbook: {}: {e}",
            path.display()
        )
    });
    ron::Options::default()
        .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
        .from_str(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Each shipped game scenario with no one acting, then with its playbook.
fn idle_and_played() -> Vec<(PathBuf, DryRunReport, DryRunReport)> {
    let mut runs = Vec::new();
    for path in shipped_files() {
        let relative = path.strip_prefix(repo_root()).expect("under the root");
        if !relative.starts_with("scenarios") {
            continue;
        }
        let scenario = load(&relative.to_string_lossy());
        let idle = dry_run(&scenario, &DryRunOptions::default(), &mut |_, _| {})
            .unwrap_or_else(|e| panic!("{}: {e}", relative.display()));
        let options = DryRunOptions {
            actions: playbook(relative),
            ..DryRunOptions::default()
        };
        let played = dry_run(&scenario, &options, &mut |_, _| {})
            .unwrap_or_else(|e| panic!("{} with its playbook: {e}", relative.display()));
        runs.push((relative.to_owned(), idle, played));
    }
    runs
}

#[test]
fn every_playbook_resolves_every_incident_of_its_scenario() {
    let runs = idle_and_played();
    assert!(runs.len() >= 5, "one playbook per shipped game scenario");
    for (relative, idle, played) in runs {
        assert!(
            idle.incidents
                .iter()
                .all(|i| !matches!(i.outcome, IncidentOutcome::Resolved(_))),
            "{}: nothing resolves itself when nobody acts",
            relative.display()
        );
        for incident in &played.incidents {
            assert!(
                matches!(incident.outcome, IncidentOutcome::Resolved(_)),
                "{}: the playbook leaves {} {:?}",
                relative.display(),
                incident.fault_name,
                incident.outcome
            );
        }
    }
}

#[test]
fn following_the_playbook_spares_the_customers_much_of_the_pain() {
    for (relative, idle, played) in idle_and_played() {
        assert!(
            played.summary.error_minutes <= idle.summary.error_minutes * MAX_PLAYED_ERROR_SHARE,
            "{}: {:.1} error-minutes with the playbook, {:.1} without",
            relative.display(),
            played.summary.error_minutes,
            idle.summary.error_minutes
        );
    }
}

/// The shared fault schedule as a table: when, what, where, until when.
fn timeline(scenario: &Scenario) -> String {
    let tick = scenario.tick;
    let at = |t: u64| SimDuration::from_millis(t.saturating_mul(tick.as_millis())).to_string();
    let schedule = FaultSchedule::compute(scenario, scenario.seed);
    let mut text = String::new();
    for incident in &schedule.incidents {
        let instances: Vec<String> = incident.instances.iter().map(|i| i.to_string()).collect();
        let line = format!(
            "{:>8}  {:<30} {:<26} {:<25} until {:<8} {}",
            at(incident.inject_tick),
            incident.fault_name,
            incident.class.name(),
            incident.root.to_string(),
            incident.end_tick.map_or_else(|| "fixed".to_owned(), at),
            instances.join(" ")
        );
        text.push_str(line.trim_end());
        text.push('\n');
    }
    for &index in &schedule.conditional {
        let fault = &scenario.faults[index];
        text.push_str(&format!(
            "{:>8}  {:<30} {}\n",
            "per team",
            fault.name,
            fault.kind.class().name()
        ));
    }
    text
}

#[test]
fn the_fault_timelines_of_the_game_scenarios_are_stable() {
    // The playbooks name instances and times drawn from the seeds: a change here means
    // they need a look too.
    for path in shipped_files() {
        let relative = path.strip_prefix(repo_root()).expect("under the root");
        if !relative.starts_with("scenarios") {
            continue;
        }
        let scenario = load(&relative.to_string_lossy());
        let name = relative
            .file_stem()
            .expect("a file name")
            .to_string_lossy()
            .into_owned();
        insta::assert_snapshot!(format!("timeline_{name}"), timeline(&scenario));
    }
}

#[test]
fn game_scenarios_have_customers_revenue_and_a_hint_for_every_fault() {
    for path in shipped_files() {
        let relative = path.strip_prefix(repo_root()).expect("under the root");
        if !relative.starts_with("scenarios") {
            continue;
        }
        let scenario = load(&relative.to_string_lossy());
        let name = relative.display();
        assert!(!scenario.description.is_empty(), "{name}: no description");
        assert!(
            !scenario.announcements.is_empty(),
            "{name}: no announcements"
        );
        let customer_facing: Vec<_> = scenario
            .services
            .iter()
            .filter(|s| s.customer_facing)
            .collect();
        assert!(
            !customer_facing.is_empty(),
            "{name}: nothing customer-facing"
        );
        for service in &customer_facing {
            assert!(service.slo.is_some(), "{name}: {} has no SLO", service.name);
        }
        assert!(
            scenario
                .services
                .iter()
                .any(|s| s.revenue_per_request > 0.0),
            "{name}: nothing earns revenue"
        );
        for fault in &scenario.faults {
            assert!(
                scenario.hints.iter().any(|h| h.fault == fault.name),
                "{name}: fault {} has no hint",
                fault.name
            );
        }
    }
}

#[test]
fn the_tutorial_is_short_small_and_gentle() {
    let scenario = load("scenarios/tutorial.ron");
    assert_eq!(scenario.duration, mins(15));
    assert!((4..=6).contains(&scenario.services.len()));
    assert!((2..=3).contains(&scenario.faults.len()));
    assert_eq!(scenario.difficulty, breakathon_scenario::Difficulty::Easy);
    assert!(scenario.decoys.is_empty(), "no decoys for first-timers");
    for fault in &scenario.faults {
        // Gentle: one service-level fault at a fixed time, at least a few minutes apart.
        assert!(!fault.kind.class().targets_zone(), "{}", fault.name);
        assert!(matches!(fault.trigger, Trigger::At(_)), "{}", fault.name);
    }
    let mut times: Vec<_> = scenario
        .faults
        .iter()
        .filter_map(|f| match f.trigger {
            Trigger::At(t) => Some(t),
            _ => None,
        })
        .collect();
    times.sort();
    for pair in times.windows(2) {
        assert!(pair[1].as_millis() - pair[0].as_millis() >= mins(3).as_millis());
    }
}

#[test]
fn the_four_hour_game_covers_the_catalog_with_cascades_decoys_and_a_freeze() {
    let scenario = load("scenarios/breakathon-4h.ron");
    assert_eq!(scenario.duration, SimDuration::from_mins(240));
    assert_eq!(scenario.freeze_at, Some(mins(210)));
    assert!(scenario.faults.len() >= 12);
    assert!(scenario.services.len() >= 20);
    assert_eq!(scenario.zones.len(), 3);
    assert!(!scenario.decoys.is_empty());
    let missing: Vec<_> = FaultClass::ALL
        .into_iter()
        .filter(|c| !classes(&scenario).contains(c))
        .collect();
    assert!(missing.is_empty(), "classes never used: {missing:?}");
    let kinds: BTreeSet<_> = scenario.services.iter().map(|s| s.kind).collect();
    assert_eq!(kinds.len(), ServiceKind::ALL.len(), "every kind of service");
    let triggers = |pred: fn(&Trigger) -> bool| scenario.faults.iter().any(|f| pred(&f.trigger));
    assert!(triggers(|t| matches!(t, Trigger::After { .. })));
    assert!(triggers(|t| matches!(t, Trigger::Every { .. })));
    assert!(triggers(|t| matches!(t, Trigger::When(_))));
    // The cascade: a slow database under the checkout path.
    let slow_db = scenario
        .faults
        .iter()
        .find(|f| f.kind.class() == FaultClass::DependencyLatency)
        .expect("a slow dependency");
    let Target::Service(db) = &slow_db.target else {
        panic!("the slow dependency targets a service");
    };
    let checkout = scenario
        .services
        .iter()
        .find(|s| s.revenue_per_request > 0.0)
        .expect("a revenue path");
    assert!(checkout.dependencies.iter().any(|d| &d.service == db));
    // A quiet start: nothing in the first ten minutes.
    for fault in &scenario.faults {
        if let Trigger::At(t) = fault.trigger {
            assert!(
                t >= mins(10),
                "{} strikes during the quiet start",
                fault.name
            );
        }
    }
}

#[test]
fn the_celebrity_spike_is_ten_times_and_restarts_make_it_worse() {
    let scenario = load("scenarios/retail-celebrity-spike.ron");
    let spike = scenario
        .faults
        .iter()
        .find(|f| f.kind.class() == FaultClass::TrafficSpike)
        .expect("a traffic spike");
    let FaultKind::TrafficSpike { factor, .. } = spike.kind else {
        unreachable!("class checked above");
    };
    assert!(factor >= 10.0, "factor {factor}");
    let Target::Service(entry) = &spike.target else {
        panic!("the spike targets a service");
    };
    assert!(
        scenario
            .traffic
            .entry_points
            .iter()
            .any(|e| &e.service == entry)
    );
    let remedies = spike.remedies();
    assert!(remedies.worsens.contains(&ActionKind::RestartService));
    assert!(remedies.worsens.contains(&ActionKind::RestartInstance));
    assert!(remedies.resolves.contains(&ActionKind::ScaleOut));
    assert!(remedies.resolves.contains(&ActionKind::ShedLoad));
    // Non-critical load exists to shed.
    assert!(
        scenario
            .services
            .iter()
            .flat_map(|s| &s.dependencies)
            .any(|d| !d.critical)
    );
}

#[test]
fn failure_friday_spans_three_datacenters_and_loses_one() {
    let scenario = load("scenarios/failure-friday-three-datacenters.ron");
    let zones: Vec<_> = scenario.zones.iter().map(|z| z.name.as_str()).collect();
    assert_eq!(zones, ["dc1", "dc2", "dc3"]);
    let outage = scenario
        .faults
        .iter()
        .find(|f| f.kind.class() == FaultClass::ZoneOutage)
        .expect("a zone outage");
    assert!(matches!(outage.target, Target::Zone(_)));
    assert!(classes(&scenario).contains(&FaultClass::NetworkPartition));
    // Every service survives the loss of one zone: it runs in all three.
    for service in &scenario.services {
        assert!(service.zones.is_empty() || service.zones.len() == 3);
    }
}

#[test]
fn chaos_cat_strikes_at_random() {
    let scenario = load("scenarios/chaos-cat.ron");
    assert!(
        scenario
            .faults
            .iter()
            .all(|f| matches!(f.trigger, Trigger::Random { .. })),
        "every chaos-cat fault is random"
    );
    assert!(scenario.faults.iter().any(|f| {
        f.kind.class() == FaultClass::Crash
            && matches!(&f.trigger, Trigger::Random { targets, .. }
                if targets.len() > 1 && targets.iter().all(|t| matches!(t, Target::Select { .. })))
    }));
}

#[test]
fn the_benchmark_fleet_has_a_hundred_services_and_early_faults() {
    let scenario = load("benches/scenarios/fleet-100.ron");
    assert_eq!(scenario.services.len(), 100);
    assert_eq!(scenario.zones.len(), 3);
    assert_eq!(scenario.duration, mins(240));
    let early: BTreeSet<_> = scenario
        .faults
        .iter()
        .filter(|f| matches!(f.trigger, Trigger::At(t) if t <= mins(5)) && f.duration.is_none())
        .map(|f| f.kind.class())
        .collect();
    for class in [
        FaultClass::MemoryLeak,
        FaultClass::DependencyLatency,
        FaultClass::TrafficSpike,
    ] {
        assert!(early.contains(&class), "{class} active from the start");
    }
}
