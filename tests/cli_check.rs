//! `breakathon check` and `breakathon new`, driven through the real binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn breakathon(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_breakathon"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A fresh directory for one test's files.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli_check-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

#[test]
fn valid_files_exit_zero_with_one_summary_line_each() {
    let output = breakathon(&[
        "check",
        "tests/fixtures/warnings.ron",
        "tests/fixtures/no-faults.ron",
    ]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let text = stdout(&output);
    assert!(
        text.contains("tests/fixtures/warnings.ron: ok (6 warnings)"),
        "{text}"
    );
    assert!(
        text.contains("tests/fixtures/no-faults.ron: ok (2 warnings)"),
        "{text}"
    );
    assert!(
        text.contains("⚠ no traffic reaches service `batch`"),
        "{text}"
    );
}

#[test]
fn any_invalid_file_exits_one() {
    let output = breakathon(&[
        "check",
        "tests/fixtures/warnings.ron",
        "tests/fixtures/unknown-service.ron",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(
        text.contains("tests/fixtures/unknown-service.ron: 5 errors"),
        "{text}"
    );
    assert!(text.contains("help: did you mean `payments`?"), "{text}");
    // The source line with a caret under the typo.
    assert!(
        text.contains(r#"dependencies: [(service: "paymnts")]"#),
        "{text}"
    );
}

#[test]
fn json_format_lists_every_diagnostic_with_positions() {
    let output = breakathon(&[
        "check",
        "--format",
        "json",
        "tests/fixtures/unknown-fault.ron",
        "tests/fixtures/syntax-unknown-field.ron",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let records: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    insta::assert_json_snapshot!("check_json", records);
}

#[test]
fn json_for_a_valid_file_is_an_empty_array() {
    let dir = scratch("json-valid");
    let file = dir.join("starter.ron");
    let file = file.to_str().expect("utf-8 path");
    assert_eq!(breakathon(&["new", file]).status.code(), Some(0));
    let output = breakathon(&["check", "--format", "json", file]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout(&output).trim(), "[]");
}

#[test]
fn a_missing_file_is_an_error_not_a_crash() {
    let output = breakathon(&[
        "check",
        "--format",
        "json",
        "tests/fixtures/does-not-exist.ron",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let records: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(records[0]["code"], "unreadable");
    assert_eq!(records[0]["line"], serde_json::Value::Null);
}

#[test]
fn shipped_scenario_names_are_checked_like_serve_finds_them() {
    let output = breakathon(&["check", "tutorial", "chaos-cat.ron"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let text = stdout(&output);
    assert!(text.contains("tutorial.ron"), "{text}");
    assert!(text.contains("chaos-cat.ron"), "{text}");
    // An unknown name stays an unreadable file, its cause said once.
    let output = breakathon(&["check", "no-such-scenario"]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert_eq!(
        text.matches("No such file or directory").count(),
        1,
        "{text}"
    );
}

#[test]
fn check_needs_a_file() {
    let output = breakathon(&["check"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn new_writes_a_starter_that_passes_check_and_refuses_to_overwrite() {
    let dir = scratch("new");
    let file = dir.join("my-game.ron");
    let name = file.to_str().expect("utf-8 path");

    let output = breakathon(&["new", name]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let written = std::fs::read_to_string(&file).expect("written");
    assert_eq!(written, breakathon_scenario::STARTER_SCENARIO);
    assert!(written.contains("//"), "the starter is commented");

    let output = breakathon(&["check", name]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout(&output).trim(), format!("{name}: ok"));

    std::fs::write(&file, "mine").expect("overwrite for the test");
    let output = breakathon(&["new", name]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("already exists"));
    assert_eq!(std::fs::read_to_string(&file).expect("kept"), "mine");

    let output = breakathon(&["new", "--force", name]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(&file).expect("rewritten"),
        breakathon_scenario::STARTER_SCENARIO
    );
}
