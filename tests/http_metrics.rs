//! The Prometheus exposition of `/metrics` (server health) and `/metrics/team` (the team's
//! fleet) passes `promtool check metrics`. Without promtool the test skips, except under CI
//! (`CI` set), where a missing promtool is a failure.

mod http_support;

use std::io::Write;
use std::process::{Command, Stdio};

use http_support::{ORGANIZER, TestServer};
use reqwest::StatusCode;
use serde_json::json;

/// Runs `promtool check metrics` on `text`; None when promtool is not installed.
fn promtool(text: &str) -> Option<(bool, String)> {
    let mut child = match Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(_) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "promtool is required under CI (Debian package `prometheus`)"
            );
            eprintln!("skipping: promtool is not installed");
            return None;
        }
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let output = child.wait_with_output().expect("promtool ran");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Some((output.status.success(), report))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_pass_promtool() {
    let server = TestServer::start().await;
    let (_, a) = server.team("Alpha").await;
    server.organizer("/api/v1/game/start", json!({})).await;
    server.advance(200).await;
    server
        .post(
            "/api/v1/team/actions",
            Some(&a),
            json!({"action": "restart_service", "service": "shop-api"}),
        )
        .await;
    server.advance(5).await;

    let health = server.get("/metrics", Some(ORGANIZER)).await;
    assert_eq!(health.status, StatusCode::OK);
    for family in [
        "breakathon_teams 1",
        "breakathon_tick 205",
        "breakathon_command_seconds_count",
        "breakathon_stream_clients 0",
    ] {
        assert!(
            health.text.contains(family),
            "missing `{family}` in\n{}",
            health.text
        );
    }
    // The action was acknowledged only after a sync of the journal.
    let syncs: u64 = health
        .text
        .lines()
        .find_map(|line| line.strip_prefix("breakathon_journal_syncs_total "))
        .and_then(|value| value.parse().ok())
        .expect("breakathon_journal_syncs_total");
    assert!(syncs >= 1, "{syncs} journal syncs");
    let fleet = server.get("/metrics/team", Some(&a)).await;
    assert_eq!(fleet.status, StatusCode::OK);
    assert!(
        fleet.text.contains("service=\"shop-api\""),
        "{}",
        fleet.text
    );

    for (name, text) in [("/metrics", &health.text), ("/metrics/team", &fleet.text)] {
        if let Some((ok, report)) = promtool(text) {
            assert!(
                ok,
                "promtool rejects {name}:\n{report}\n--- output ---\n{text}"
            );
        }
    }
    server.shutdown().await;
}
