//! `breakathon dry-run` end to end: runs the real binary on shipped scenarios, checks the JSON
//! report and snapshots each shipped scenario's timeline.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn breakathon(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_breakathon"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the binary runs")
}

fn dry_run_json(scenario: &Path, extra: &[&str]) -> Value {
    let path = scenario.to_str().expect("utf-8 path");
    let mut args = vec!["dry-run", path, "--format", "json"];
    args.extend_from_slice(extra);
    let output = breakathon(&args);
    assert!(
        output.status.success(),
        "dry-run {path} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("stdout is one JSON report")
}

fn incidents(report: &Value) -> &Vec<Value> {
    report["incidents"].as_array().expect("incidents is a list")
}

#[test]
fn tutorial_dry_run_reports_its_three_faults_and_their_cost() {
    let report = dry_run_json(Path::new("scenarios/tutorial.ron"), &[]);
    let incidents = incidents(&report);
    let names: Vec<&str> = incidents
        .iter()
        .map(|i| i["fault_name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        [
            "shop-api-instance-crash",
            "checkout-memory-leak",
            "web-bad-config"
        ]
    );
    let ticks: Vec<u64> = incidents
        .iter()
        .map(|i| i["inject_tick"].as_u64().expect("tick"))
        .collect();
    assert_eq!(ticks, [180, 360, 600]);
    assert_eq!(incidents[0]["class"], "crash");
    assert_eq!(
        incidents[0]["root"],
        serde_json::json!({"service": "shop-api"})
    );
    assert_eq!(incidents[0]["instances"].as_array().map(Vec::len), Some(1));
    assert_eq!(report["duration_ticks"], 900);
    let summary = &report["summary"];
    assert_eq!(summary["incidents"], 3);
    // Nobody acts: the bad config makes 30 % of page views fail, which costs something.
    assert!(summary["requests_failed"].as_f64().expect("number") > 0.0);
    assert!(incidents[2]["requests_failed"].as_f64().expect("number") > 0.0);
    assert!(
        report["method"]
            .as_str()
            .is_some_and(|m| m.contains("baseline"))
    );
}

#[test]
fn seed_override_is_used_and_changes_selector_choices() {
    let path = Path::new("scenarios/tutorial.ron");
    let choices: Vec<Value> = (1..=8)
        .map(|seed| {
            let report = dry_run_json(path, &["--seed", &seed.to_string()]);
            assert_eq!(report["seed"], seed);
            incidents(&report)[0]["instances"].clone()
        })
        .collect();
    assert!(
        choices.iter().any(|c| c != &choices[0]),
        "eight seeds all picked the same instance: {choices:?}"
    );
}

#[test]
fn scripted_actions_fix_the_tutorial() {
    let dir = std::env::temp_dir().join(format!("breakathon-dry-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let quiet = dry_run_json(Path::new("scenarios/tutorial.ron"), &[]);
    let crashed = incidents(&quiet)[0]["instances"][0]["index"]
        .as_u64()
        .expect("index");
    let script = dir.join("actions.ron");
    std::fs::write(
        &script,
        format!(
            "[
               (at: \"3m30s\", action: (kind: restart_instance, service: \"shop-api\", instance: {crashed})),
               (at: \"7m\", action: (kind: rollback, service: \"checkout\", version: \"v11\")),
               (tick: 630, action: (kind: revert_config, service: \"web\")),
             ]"
        ),
    )
    .expect("write script");
    let acted = dry_run_json(
        Path::new("scenarios/tutorial.ron"),
        &["--actions", script.to_str().expect("utf-8")],
    );
    assert_eq!(acted["scripted_actions"], 3);
    for incident in incidents(&acted) {
        assert_eq!(incident["outcome"]["state"], "resolved", "{incident}");
    }
    let failed = |r: &Value| r["summary"]["requests_failed"].as_f64().expect("number");
    assert!(
        failed(&acted) < failed(&quiet),
        "acting should fail fewer requests"
    );

    let json_script = dir.join("actions.json");
    std::fs::write(
        &json_script,
        r#"[{"at": "10m30s", "action": {"kind": "revert_config", "service": "web"}}]"#,
    )
    .expect("write script");
    let acted = dry_run_json(
        Path::new("scenarios/tutorial.ron"),
        &["--actions", json_script.to_str().expect("utf-8")],
    );
    assert_eq!(incidents(&acted)[2]["outcome"]["state"], "resolved");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_inputs_are_reported_not_panicked_on() {
    let dir = std::env::temp_dir().join(format!("breakathon-dry-run-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    // A scenario with an unknown service is rejected like `check` does, with line:column.
    let source = std::fs::read_to_string(root().join("scenarios/tutorial.ron")).expect("read");
    let broken = dir.join("broken.ron");
    std::fs::write(
        &broken,
        source.replacen("Service(\"checkout\")", "Service(\"chekout\")", 1),
    )
    .expect("write");
    let output = breakathon(&["dry-run", broken.to_str().expect("utf-8")]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("chekout"), "{stderr}");
    assert!(output.stdout.is_empty());

    // Runs the tutorial with an action script that must be refused; returns its stderr.
    let script = dir.join("bad.ron");
    let refused = |text: &str| {
        std::fs::write(&script, text).expect("write");
        let output = breakathon(&[
            "dry-run",
            "scenarios/tutorial.ron",
            "--actions",
            script.to_str().expect("utf-8"),
        ]);
        assert!(!output.status.success());
        String::from_utf8_lossy(&output.stderr).into_owned()
    };

    // An action on an unknown service is refused with its position in the script, and the
    // cause is said once (QA: "unknown service `nope`: unknown service `nope`").
    let stderr = refused("[(at: \"1m\", action: (kind: restart_service, service: \"nope\"))]");
    assert!(stderr.contains("#1"), "{stderr}");
    assert_eq!(
        stderr.matches("unknown service `nope`").count(),
        1,
        "{stderr}"
    );

    // A malformed script points at its line and column.
    let stderr = refused("[(at: \"1m\", action: (kind: explode))]");
    assert!(stderr.contains(":1:"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn shipped_scenario_names_work_like_for_serve_and_a_missing_one_is_said_once() {
    // By name, as `serve tutorial` takes it: the same report as the file.
    let by_name = dry_run_json(Path::new("tutorial"), &[]);
    let by_file = dry_run_json(Path::new("scenarios/tutorial.ron"), &[]);
    assert_eq!(by_name, by_file);
    // Neither a file nor a shipped name: one clear message listing the shipped ones.
    let output = breakathon(&["dry-run", "tests/fixtures/does-not-exist.ron"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.matches("does-not-exist.ron").count(), 1, "{stderr}");
    assert!(stderr.contains("breakathon-4h"), "{stderr}");
    // A missing actions file: the OS error once.
    let output = breakathon(&["dry-run", "tutorial", "--actions", "does-not-exist.ron"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.matches("No such file or directory").count(),
        1,
        "{stderr}"
    );
}

#[test]
fn human_output_is_plain_when_piped() {
    let output = breakathon(&["dry-run", "scenarios/tutorial.ron"]);
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    assert!(stdout.contains("Fault timeline"));
    assert!(stdout.contains("checkout-memory-leak"));
    assert!(stdout.contains("Method:"));
    assert!(!stdout.contains('\u{1b}'), "no escape codes when piped");
    // No progress bar when stderr is not a terminal.
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The dry-run timeline of every shipped scenario, as a snapshot: when each incident strikes,
/// where, on which instances, and how it stands at the end if nobody acts.
#[test]
fn shipped_scenario_timelines() {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(root().join("scenarios"))
        .expect("scenarios/ exists")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty());
    for path in paths {
        let report = dry_run_json(&path, &[]);
        let timeline: Vec<Value> = incidents(&report)
            .iter()
            .map(|i| {
                serde_json::json!({
                    "id": i["id"],
                    "at": i["inject_at"],
                    "fault": i["fault_name"],
                    "class": i["class"],
                    "root": i["root"],
                    "instances": i["instances"],
                    "conditional": i["conditional"],
                    "outcome": i["outcome"],
                })
            })
            .collect();
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("file name")
            .to_owned();
        insta::assert_json_snapshot!(format!("dry_run_timeline_{name}"), timeline);
    }
}
