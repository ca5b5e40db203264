//! No NaN or infinity ever leaves the engine: every number a dry run reports for every shipped
//! game scenario — nobody acting and following its playbook — is finite (and, in debug builds,
//! the engine asserts every tick that its service metrics are).

use std::path::{Path, PathBuf};

use breakathon_sim::dry_run::{DryRunOptions, DryRunReport, ScriptedAction, dry_run};

/// The repository's `scenarios/` directory.
fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios")
}

/// The scripted playbook shipped for `name`, if any.
fn playbook(name: &str) -> Vec<ScriptedAction> {
    let path = scenarios_dir().join("playbooks").join(name);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Vec::new();
    };
    ron::Options::default()
        .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
        .from_str(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every number of a report, named.
fn numbers(report: &DryRunReport) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    for i in &report.incidents {
        out.push((format!("{} error-min", i.fault_name), i.error_minutes));
        out.push((format!("{} failed", i.fault_name), i.requests_failed));
        out.push((
            format!("{} revenue lost", i.fault_name),
            i.revenue_lost_units,
        ));
    }
    for s in &report.services {
        out.push((format!("{} breached", s.service), s.breached_minutes));
        out.push((
            format!("{} baseline breached", s.service),
            s.baseline_breached_minutes,
        ));
    }
    let m = &report.summary;
    for (name, v) in [
        ("requests ok", m.requests_ok),
        ("requests failed", m.requests_failed),
        ("baseline failed", m.baseline_requests_failed),
        ("revenue", m.revenue_units),
        ("baseline revenue", m.baseline_revenue_units),
        ("revenue lost", m.revenue_lost_units),
        ("error-min", m.error_minutes),
        ("unattributed error-min", m.unattributed_error_minutes),
        ("unattributed failed", m.unattributed_requests_failed),
        (
            "unattributed revenue lost",
            m.unattributed_revenue_lost_units,
        ),
    ] {
        out.push((name.to_owned(), v));
    }
    out
}

#[test]
fn every_shipped_dry_run_reports_only_finite_numbers() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(scenarios_dir())
        .expect("scenarios/ lists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "shipped scenarios found: {files:?}");
    for path in files {
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let loaded =
            breakathon_scenario::load_file(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        for actions in [Vec::new(), playbook(&name)] {
            let played = !actions.is_empty();
            let options = DryRunOptions {
                actions,
                ..DryRunOptions::default()
            };
            let report = dry_run(&loaded.scenario, &options, &mut |_, _| {})
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            for (what, v) in numbers(&report) {
                assert!(v.is_finite(), "{name} (playbook: {played}): {what} = {v}");
            }
        }
    }
}
