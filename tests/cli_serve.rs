//! `breakathon serve` on a data directory, as a real process: one process at a time owns a
//! data directory, and a restart says which clock the recovered game keeps.

mod http_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use http_support::ServeProcess;

/// Longest wait for a line on a server's stderr.
const STDERR_WAIT: Duration = Duration::from_secs(30);

fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli_serve-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Runs `breakathon serve ARGS --port 0` to its end (it should refuse to start).
fn serve_to_end(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_breakathon"))
        .arg("serve")
        .args(args)
        .args(["--port", "0", "--bind", "127.0.0.1"])
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs")
}

/// Waits until the server printed `text` on stderr; false after [`STDERR_WAIT`].
fn stderr_shows(server: &ServeProcess, text: &str) -> bool {
    let deadline = Instant::now() + STDERR_WAIT;
    while Instant::now() < deadline {
        if server.stderr.lock().is_ok_and(|s| s.contains(text)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn a_second_server_on_a_data_dir_in_use_is_refused_and_archives_nothing() {
    let dir = scratch("lock");
    let data = dir.to_str().expect("utf-8");
    let first = ServeProcess::spawn(&["tutorial", "--clock", "manual", "--data-dir", data]);
    let pid = first.child.id();
    for extra in [&[][..], &["--new"][..]] {
        let mut args = vec!["tutorial", "--clock", "manual", "--data-dir", data];
        args.extend_from_slice(extra);
        let output = serve_to_end(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{extra:?}: {stderr}");
        assert!(
            stderr.contains("is in use by another breakathon process"),
            "{extra:?}: {stderr}"
        );
        assert!(stderr.contains(&format!("(pid {pid})")), "{stderr}");
        assert!(stderr.contains("--data-dir"), "{stderr}");
    }
    assert!(
        !dir.join("archive").exists(),
        "--new archived a game in use"
    );
    // Killed (SIGKILL), the first server's lock goes with it: the directory opens again.
    first.kill();
    let again = ServeProcess::spawn(&["tutorial", "--clock", "manual", "--data-dir", data]);
    again.assert_banner_mentions("recovered game");
}

#[test]
fn a_restart_with_another_clock_says_the_game_keeps_its_own() {
    let dir = scratch("clock");
    let data = dir.to_str().expect("utf-8");
    drop(ServeProcess::spawn(&[
        "tutorial",
        "--speed",
        "10",
        "--data-dir",
        data,
    ]));
    let restarted = ServeProcess::spawn(&["tutorial", "--clock", "manual", "--data-dir", data]);
    assert!(
        stderr_shows(&restarted, "--clock manual is ignored"),
        "{:?}",
        restarted.stderr
    );
    assert!(stderr_shows(&restarted, "speed 10"));
    assert!(stderr_shows(&restarted, "--new"));
    drop(restarted);
    // The same clock (or none named): no warning.
    let same = ServeProcess::spawn(&["tutorial", "--speed", "10", "--data-dir", data]);
    // The warning comes right after the banner: give it time to show if it were printed.
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !same.stderr.lock().is_ok_and(|s| s.contains("is ignored")),
        "{:?}",
        same.stderr
    );
}
