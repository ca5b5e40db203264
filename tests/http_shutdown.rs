//! The real binary shuts down gracefully on Ctrl-C (SIGINT) and SIGTERM: live streams end,
//! the process exits with success, and the next start recovers the game. Binding to a
//! non-loopback address warns and points at docs/DEPLOYMENT.md.

mod http_support;

use std::time::Duration;

use futures_util::StreamExt;
use http_support::{ORGANIZER, ServeProcess};
use serde_json::{Value, json};

/// Sends `signal` (`INT` or `TERM`) to the process.
fn signal(server: &ServeProcess, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([format!("-{signal}"), server.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

/// Waits (at most 10 s) for the process to exit; returns whether it exited with success.
fn wait_exit(server: &mut ServeProcess) -> bool {
    for _ in 0..100 {
        if let Some(status) = server.child.try_wait().expect("try_wait") {
            return status.success();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the server did not exit within 10 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_ends_streams_and_exits_cleanly_and_the_game_is_recovered() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("data");
    let data_dir = data_dir.to_str().expect("utf-8");
    for (round, sig) in ["INT", "TERM"].into_iter().enumerate() {
        let mut server = ServeProcess::spawn(&["--clock", "manual", "--data-dir", data_dir]);
        let client = reqwest::Client::new();
        if round == 0 {
            server.assert_banner_mentions("new game");
            let reply = client
                .post(format!("{}/api/v1/teams", server.base))
                .bearer_auth(ORGANIZER)
                .json(&json!({"name": "Survivors"}))
                .send()
                .await
                .expect("create team");
            assert_eq!(reply.status(), 201);
        } else {
            server.assert_banner_mentions("recovered game");
            let teams: Value = client
                .get(format!("{}/api/v1/teams", server.base))
                .bearer_auth(ORGANIZER)
                .send()
                .await
                .expect("teams")
                .json()
                .await
                .expect("json");
            assert_eq!(teams[0]["name"], "Survivors");
        }
        let response = client
            .get(format!("{}/api/v1/scoreboard/stream", server.base))
            .send()
            .await
            .expect("stream opens");
        let mut body = response.bytes_stream();
        let first = body.next().await.expect("a first event").expect("bytes");
        assert!(String::from_utf8_lossy(&first).contains("data:"));

        signal(&server, sig);
        let ended = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(Ok(_)) = body.next().await {}
        })
        .await;
        assert!(ended.is_ok(), "SIG{sig}: the live stream ends");
        assert!(wait_exit(&mut server), "SIG{sig}: exit status is success");
        let stderr = server
            .stderr
            .lock()
            .map(|text| text.clone())
            .unwrap_or_default();
        assert!(stderr.contains("shutting down"), "{stderr}");
    }
}

#[test]
fn a_non_loopback_bind_warns_and_points_at_the_deployment_guide() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("data");
    let server = ServeProcess::spawn(&[
        "--bind",
        "0.0.0.0",
        "--clock",
        "manual",
        "--data-dir",
        data_dir.to_str().expect("utf-8"),
    ]);
    // The warning is printed before the banner ends; give the stderr reader a moment.
    let mut warned = String::new();
    for _ in 0..50 {
        warned = server
            .stderr
            .lock()
            .map(|text| text.clone())
            .unwrap_or_default();
        if warned.contains("DEPLOYMENT.md") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(warned.contains("warning"), "{warned}");
    assert!(warned.contains("docs/DEPLOYMENT.md"), "{warned}");
    server.kill();
}
