//! Shared by the benches: the scenarios they run.
//!
//! The 100-service fleet is the committed `benches/scenarios/fleet-100.ron` at the workspace
//! root when it exists; otherwise (and for other sizes) a layered fleet is generated here.

use std::fmt::Write as _;
use std::path::Path;

use breakathon_scenario::Scenario;

/// The committed 100-service scenario, relative to the workspace root.
#[allow(dead_code, reason = "each bench binary uses a part of this module")]
pub const FLEET_100_PATH: &str = "benches/scenarios/fleet-100.ron";

/// The 100-service scenario: the committed file if present, else a generated one.
#[allow(dead_code, reason = "each bench binary uses a part of this module")]
pub fn fleet_100() -> (Scenario, &'static str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(FLEET_100_PATH);
    if let Ok(text) = std::fs::read_to_string(&path) {
        match breakathon_scenario::parse_unchecked(&text) {
            Ok(scenario) => return (scenario, FLEET_100_PATH),
            Err(err) => eprintln!("{FLEET_100_PATH} does not parse ({err}); generating one"),
        }
    }
    (generated_fleet(100, "4h"), "generated")
}

/// A generated fleet of `services` services in three zones, lasting `duration`: an entry
/// frontend layer, API layers, caches and databases, with five faults (three active from
/// the first minutes on: a memory leak, a CPU hog and an injected latency).
pub fn generated_fleet(services: usize, duration: &str) -> Scenario {
    assert!(
        services >= 10,
        "the generated fleet needs at least 10 services"
    );
    let frontends = services / 10;
    let dbs = services / 10;
    let caches = services / 10;
    let apis = services - frontends - dbs - caches;
    let mut names = Vec::new();
    let mut text = String::new();
    let _ = write!(
        text,
        "(title: \"generated fleet of {services}\", duration: \"{duration}\", seed: 1,\n\
         zones: [(name: \"a\"), (name: \"b\"), (name: \"c\")],\n services: [\n"
    );
    for i in 0..frontends {
        let deps: Vec<String> = (0..3)
            .map(|k| {
                format!(
                    "(service: \"api-{}\", calls_per_request: 0.5)",
                    (i * 3 + k) % apis
                )
            })
            .collect();
        let _ = writeln!(
            text,
            "(name: \"web-{i}\", kind: frontend, customer_facing: true, revenue_per_request: 0.1, \
             capacity_rps: 200.0, slo: (), dependencies: [{}]),",
            deps.join(", ")
        );
        names.push(format!("web-{i}"));
    }
    for i in 0..apis {
        let mut deps = vec![
            format!(
                "(service: \"cache-{}\", calls_per_request: 1.0)",
                i % caches
            ),
            format!("(service: \"db-{}\", calls_per_request: 0.2)", i % dbs),
        ];
        // A second API layer: the first half of the APIs call one API of the second half.
        if i < apis / 2 {
            deps.push(format!(
                "(service: \"api-{}\", calls_per_request: 0.3)",
                apis / 2 + i % (apis - apis / 2)
            ));
        }
        let _ = writeln!(
            text,
            "(name: \"api-{i}\", kind: api, capacity_rps: 150.0, dependencies: [{}]),",
            deps.join(", ")
        );
    }
    for i in 0..caches {
        let _ = writeln!(
            text,
            "(name: \"cache-{i}\", kind: cache, capacity_rps: 800.0, \
             dependencies: [(service: \"db-{}\", calls_per_request: 0.1)]),",
            i % dbs
        );
    }
    for i in 0..dbs {
        let _ = writeln!(
            text,
            "(name: \"db-{i}\", kind: database, capacity_rps: 600.0),"
        );
    }
    text.push_str("],\n traffic: (entry_points: [");
    for i in 0..frontends {
        let _ = write!(text, "(service: \"web-{i}\", rps: 300.0), ");
    }
    text.push_str("], daily_curve: []),\n faults: [\n");
    text.push_str(
        "(name: \"leak\", kind: memory_leak(mb_per_min: 5.0), target: Service(\"api-1\"), trigger: At(\"1m\")),\n\
         (name: \"hog\", kind: cpu_saturation(cpu_percent: 50.0), target: Select(service: \"api-2\", pick: One), trigger: At(\"2m\")),\n\
         (name: \"slow\", kind: dependency_latency(latency_ms: 200.0), target: Service(\"db-0\"), trigger: At(\"3m\")),\n\
         (name: \"monkey\", kind: crash, target: Select(service: \"api-3\", pick: One), trigger: Random(mean: \"20m\", min_gap: \"5m\")),\n\
         (name: \"cold\", kind: cache_cold(), target: Service(\"cache-0\"), trigger: Every(period: \"1h\", start: \"30m\"), duration: \"10m\"),\n",
    );
    text.push_str("],\n)\n");
    breakathon_scenario::parse_unchecked(&text).expect("generated fleet parses")
}
