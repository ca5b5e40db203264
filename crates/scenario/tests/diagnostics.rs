//! Every diagnostic kind, rendered as people see it, from the fixtures in `tests/fixtures/`.
//!
//! Each fixture is a small scenario with one kind of problem (several instances of it, to show
//! that all are reported in one run). The rendered text is snapshotted with `insta`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use breakathon_scenario::{DiagnosticKind, Report, check};
use miette::{GraphicalReportHandler, GraphicalTheme};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

/// Checks the fixture `name` (without `.ron`).
fn check_fixture(name: &str) -> Report {
    let path = fixtures_dir().join(format!("{name}.ron"));
    let source = std::fs::read_to_string(&path).expect("fixture exists");
    check(&format!("{name}.ron"), &source)
}

/// Every diagnostic rendered without colour, then the summary.
fn render(report: &Report) -> String {
    let handler =
        GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor()).with_width(100);
    let mut text = String::new();
    for diagnostic in report.renderable() {
        handler
            .render_report(&mut text, &diagnostic)
            .expect("rendering into a String");
    }
    text.push_str(&report.summary());
    text.push('\n');
    text
}

/// The kinds found in a report.
fn kinds(report: &Report) -> BTreeSet<DiagnosticKind> {
    report.diagnostics.iter().map(|d| d.kind).collect()
}

/// Checks a fixture, asserts it has exactly `expected` kinds, and snapshots its rendering.
fn snapshot(name: &str, expected: &[DiagnosticKind]) -> Report {
    let report = check_fixture(name);
    assert_eq!(
        kinds(&report),
        expected.iter().copied().collect::<BTreeSet<_>>(),
        "{report}"
    );
    insta::assert_snapshot!(name, render(&report));
    report
}

#[test]
fn syntax_error_in_brackets() {
    let report = snapshot("syntax-unclosed", &[DiagnosticKind::Syntax]);
    assert!(report.has_errors());
}

#[test]
fn syntax_unknown_field_suggests_the_right_name() {
    let report = snapshot("syntax-unknown-field", &[DiagnosticKind::Syntax]);
    let help = report.diagnostics[0].help.as_deref();
    assert_eq!(help, Some("did you mean `instances_per_zone`?"));
    let record = &report.records()[0];
    assert_eq!((record.line, record.column), (Some(6), Some(39)));
}

#[test]
fn syntax_unknown_variant_suggests_the_right_name() {
    let report = snapshot("syntax-unknown-variant", &[DiagnosticKind::Syntax]);
    assert_eq!(
        report.diagnostics[0].help.as_deref(),
        Some("did you mean `database`?")
    );
}

#[test]
fn syntax_bad_duration_says_how_to_write_one() {
    let report = snapshot("syntax-bad-duration", &[DiagnosticKind::Syntax]);
    assert!(report.diagnostics[0].message.contains("\"1h30m\""));
}

#[test]
fn syntax_missing_comma_points_after_the_previous_item() {
    let report = snapshot("syntax-missing-comma", &[DiagnosticKind::Syntax]);
    let record = &report.records()[0];
    // Right after `"30m"`, not at the start of the next line.
    assert_eq!((record.line, record.column), (Some(4), Some(15)));
}

#[test]
fn syntax_unknown_fault_parameter_is_refused() {
    let report = snapshot("syntax-unknown-parameter", &[DiagnosticKind::Syntax]);
    assert_eq!(
        report.diagnostics[0].help.as_deref(),
        Some("did you mean `mb_per_min`?")
    );
}

#[test]
fn syntax_file_ending_early_points_at_the_open_bracket() {
    let report = snapshot("syntax-file-ends-early", &[DiagnosticKind::Syntax]);
    let record = &report.records()[0];
    assert_eq!((record.line, record.column), (Some(5), Some(15)));
}

#[test]
fn syntax_mismatched_bracket_points_at_both() {
    let report = snapshot("syntax-mismatched-bracket", &[DiagnosticKind::Syntax]);
    assert_eq!(report.diagnostics[0].labels.len(), 2);
}

#[test]
fn syntax_runaway_string_is_named() {
    let report = snapshot("syntax-runaway-string", &[DiagnosticKind::Syntax]);
    assert_eq!(
        report.diagnostics[0].message,
        "this string runs on to the next line"
    );
}

#[test]
fn syntax_missing_field() {
    snapshot("syntax-missing-field", &[DiagnosticKind::Syntax]);
}

#[test]
fn unknown_services_everywhere_with_suggestions() {
    let report = snapshot("unknown-service", &[DiagnosticKind::UnknownReference]);
    assert_eq!(report.error_count(), 5);
    let helps: Vec<_> = report
        .diagnostics
        .iter()
        .filter_map(|d| d.help.as_deref())
        .collect();
    assert!(helps.contains(&"did you mean `payments`?"));
    assert!(helps.contains(&"did you mean `web`?"));
    assert!(helps.contains(&"known services: `payments`, `web`"));
}

#[test]
fn unknown_zones() {
    let report = snapshot("unknown-zone", &[DiagnosticKind::UnknownReference]);
    assert_eq!(report.error_count(), 4);
}

#[test]
fn unknown_faults_in_after_and_hints() {
    let report = snapshot("unknown-fault", &[DiagnosticKind::UnknownReference]);
    assert_eq!(report.error_count(), 2);
}

#[test]
fn unknown_flags_config_keys_and_dependencies() {
    let report = snapshot(
        "unknown-flag-key-dependency",
        &[DiagnosticKind::UnknownReference],
    );
    assert_eq!(report.error_count(), 4);
}

#[test]
fn duplicate_names_point_at_both_places() {
    let report = snapshot("duplicate-names", &[DiagnosticKind::DuplicateName]);
    assert_eq!(report.error_count(), 8);
    assert!(report.diagnostics.iter().all(|d| d.labels.len() == 2));
}

#[test]
fn dependency_cycles_are_named() {
    let report = snapshot("dependency-cycle", &[DiagnosticKind::DependencyCycle]);
    let messages: Vec<_> = report
        .diagnostics
        .iter()
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(
        messages,
        [
            "dependency cycle: web → api → db → web",
            "dependency cycle: worker → worker",
        ]
    );
}

#[test]
fn after_chains_in_a_cycle() {
    let report = snapshot("trigger-cycle", &[DiagnosticKind::TriggerCycle]);
    assert_eq!(report.error_count(), 1);
}

#[test]
fn everything_after_the_end_of_the_game() {
    let report = snapshot("outside-game", &[DiagnosticKind::OutsideGame]);
    assert_eq!(report.error_count(), 8);
}

#[test]
fn selectors_that_never_match() {
    let report = snapshot("never-matches", &[DiagnosticKind::NeverMatches]);
    assert_eq!(report.error_count(), 7);
}

#[test]
fn numbers_out_of_range_all_in_one_run() {
    let report = snapshot("out-of-range", &[DiagnosticKind::OutOfRange]);
    assert!(report.error_count() >= 20, "{}", report.error_count());
}

#[test]
fn numbers_too_large_to_mean_anything_are_refused() {
    let report = snapshot("absurd-values", &[DiagnosticKind::OutOfRange]);
    // capacity_rps, base_latency_ms, max_connections, failures, retries, pool_size,
    // calls_per_request, the hint's cost, revenue_units_per_point and the 7 points weights.
    assert_eq!(report.error_count(), 16, "{report}");
    let text = render(&report);
    assert!(text.contains("`capacity_rps` is too large"), "{text}");
    assert!(
        !text.contains("must be greater than 0, found inf"),
        "{text}"
    );
    assert!(text.contains("`retries` must be at most 10"), "{text}");
    assert!(
        text.contains("`detection_points` must be at most 1000000"),
        "{text}"
    );
}

#[test]
fn actions_invalid_for_the_service_kind() {
    let report = snapshot("invalid-action", &[DiagnosticKind::InvalidAction]);
    // Three on services, one on a zone where no DNS resolver runs.
    assert_eq!(report.error_count(), 5);
}

#[test]
fn an_action_cannot_both_fix_and_worsen() {
    let report = snapshot(
        "conflicting-remedies",
        &[DiagnosticKind::ConflictingRemedies],
    );
    assert_eq!(report.error_count(), 2);
}

#[test]
fn targets_of_the_wrong_kind() {
    let report = snapshot("wrong-target", &[DiagnosticKind::WrongTarget]);
    assert_eq!(report.error_count(), 5);
}

#[test]
fn warnings_do_not_reject_the_scenario() {
    let report = snapshot(
        "warnings",
        &[
            DiagnosticKind::NoResolvingAction,
            DiagnosticKind::Unreachable,
            DiagnosticKind::FreezeAfterEnd,
        ],
    );
    assert!(!report.has_errors());
    assert!(report.scenario.is_some());
    assert_eq!(report.warning_count(), 6);
}

#[test]
fn no_faults_and_no_traffic_are_warnings() {
    let report = snapshot(
        "no-faults",
        &[DiagnosticKind::NoFaults, DiagnosticKind::Unreachable],
    );
    assert!(report.scenario.is_some());
}

#[test]
fn every_diagnostic_kind_has_a_fixture() {
    let mut covered = BTreeSet::new();
    for entry in std::fs::read_dir(fixtures_dir()).expect("fixtures dir") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "ron") {
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .expect("utf-8 name");
            covered.extend(kinds(&check_fixture(name)));
        }
    }
    // Unreadable files are covered by the CLI tests (tests/cli_check.rs).
    covered.insert(DiagnosticKind::Unreadable);
    let all: BTreeSet<_> = DiagnosticKind::ALL.into_iter().collect();
    assert_eq!(covered, all);
}
