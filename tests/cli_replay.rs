//! `breakathon replay` and `breakathon export`, driven through the real binary on a journal
//! written by a scripted game.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use breakathon_game::{ClockMode, Declaration, DeclaredTarget, Game, GameOptions};
use breakathon_scenario::FaultClass;

const SCENARIO: &str = r#"(
    title: "replay test",
    duration: "5m",
    sustain: "10s",
    services: [
        (name: "web", kind: frontend, customer_facing: true, dependencies: [(service: "db")]),
        (name: "db", kind: database),
    ],
    traffic: (entry_points: [(service: "web", rps: 20.0)]),
    faults: [(name: "dark", kind: telemetry_outage, target: Service("db"), trigger: At("30s"))],
)"#;

fn breakathon(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_breakathon"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs")
}

fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli_replay-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Plays a short game into `dir`; returns the journal path and the state hashes at tick 40
/// and at the end.
fn play(dir: &Path) -> (PathBuf, u64, u64) {
    let opened = Game::open(
        GameOptions {
            data_dir: dir.to_owned(),
            scenario_name: "replay-test.ron".into(),
            scenario_source: SCENARIO.into(),
            clock: ClockMode::Manual,
            new_game: false,
            organizer_token: None,
            judge_token: None,
        },
        0,
    )
    .expect("opens");
    let mut game = opened.game;
    let red = game.create_team("Red, the \"first\"").expect("team").0.id;
    game.create_team("Blue").expect("team");
    game.start(0).expect("starts");
    game.advance(40).expect("advances");
    game.declare(
        red,
        Declaration {
            target: DeclaredTarget::Service("db".into()),
            class: FaultClass::TelemetryOutage,
        },
    )
    .expect("declares");
    // The state "at tick 40" is after every command accepted at tick 40.
    let at_40 = game.state_hash();
    game.advance(30).expect("advances");
    (dir.join("game.sqlite"), at_40, game.state_hash())
}

#[test]
fn replay_prints_the_same_state_hash_as_the_live_game() {
    let dir = scratch("hash");
    let (journal, at_40, at_end) = play(&dir);
    let journal = journal.to_str().expect("utf-8 path");
    let output = breakathon(&["replay", journal, "--format", "json"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(doc["state_hash"], format!("{at_end:016x}"));
    assert_eq!(doc["tick"], 70);
    assert_eq!(
        doc["scoreboard"]["teams"][0]["score"], 75,
        "detection 50 + ahead 25"
    );

    let output = breakathon(&["replay", journal, "--until-tick", "40", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(doc["state_hash"], format!("{at_40:016x}"));

    let output = breakathon(&["replay", journal]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("replay test — running at tick 70"), "{text}");
}

#[test]
fn export_writes_one_csv_per_table_or_one_json_document() {
    let dir = scratch("export");
    let (journal, _, _) = play(&dir);
    let journal = journal.to_str().expect("utf-8 path");
    let out = dir.join("csv");
    let output = breakathon(&[
        "export",
        journal,
        "--format",
        "csv",
        "--out",
        out.to_str().expect("path"),
    ]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let teams = std::fs::read_to_string(out.join("teams.csv")).expect("teams.csv");
    assert!(teams.starts_with("rank,team,name,score,"), "{teams}");
    assert!(
        teams.contains("1,0,\"Red, the \"\"first\"\"\",75,1,0"),
        "{teams}"
    );
    let ledger = std::fs::read_to_string(out.join("ledger.csv")).expect("ledger.csv");
    assert_eq!(
        ledger.lines().count(),
        3,
        "header, detection, ahead of customer: {ledger}"
    );
    assert!(out.join("incidents.csv").exists());

    let output = breakathon(&["export", journal, "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(doc["teams"][0]["score"], 75);
    assert_eq!(doc["ledger"].as_array().map(Vec::len), Some(2));

    let output = breakathon(&["export", journal, "--format", "csv"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--out DIR"));
}

#[test]
fn replay_refuses_a_file_that_is_not_a_journal() {
    let dir = scratch("bad");
    let path = dir.join("not-a-journal.sqlite");
    std::fs::write(&path, "hello").expect("write");
    let output = breakathon(&["replay", path.to_str().expect("path")]);
    assert_eq!(output.status.code(), Some(1));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("not a Breakathon journal"), "{err}");
}

/// `export ... | head` and `replay ... | head`: a reader that goes away early ends the
/// command quietly (exit 0, no panic, no error), QA finding F16.
#[test]
fn a_reader_that_goes_away_early_is_not_an_error() {
    let dir = scratch("broken-pipe");
    let (journal, _, _) = play(&dir);
    let journal = journal.to_str().expect("utf-8 path");
    for args in [
        &["export", journal, "--format", "json"][..],
        &["replay", journal, "--format", "json"][..],
        &["replay", journal][..],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_breakathon"))
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the binary runs");
        // Close the reading end before the game is replayed and anything is written.
        drop(child.stdout.take());
        let output = child.wait_with_output().expect("it ends");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
    }
}

#[test]
fn a_corrupt_journal_is_reported_with_each_cause_once() {
    let dir = scratch("corrupt");
    // Too short to hold a database header (QA: "disk I/O error: disk I/O error: …"), and a
    // page of text (not a database at all).
    for (name, text) in [
        ("short", "x\n".to_owned()),
        ("text", "not a database\n".repeat(300)),
    ] {
        let journal = dir.join(format!("{name}.sqlite"));
        std::fs::write(&journal, text).expect("write");
        let output = breakathon(&["replay", journal.to_str().expect("utf-8")]);
        assert_eq!(output.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&output.stderr);
        let line = stderr.trim();
        assert!(line.starts_with("error: "), "{line}");
        let parts: Vec<&str> = line.split(": ").collect();
        for (i, part) in parts.iter().enumerate() {
            assert!(
                !parts[i + 1..].contains(part),
                "`{part}` is said twice: {line}"
            );
        }
    }
}
