//! `breakathon serve --demo` at 60×: the real binary plays the tutorial with its four bots,
//! and they finish in the order of their skill: perfect > sloppy > restart-only > idle.

mod http_support;

use std::time::{Duration, Instant};

use http_support::{ORGANIZER, ServeProcess};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_bots_finish_in_the_order_of_their_skill() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("data");
    let data_dir = data_dir.to_str().expect("utf-8 path");
    let server = ServeProcess::spawn(&["--demo", "--speed", "60", "--data-dir", data_dir]);
    server.assert_banner_mentions("organizer token: ");
    let client = reqwest::Client::new();
    // The tutorial lasts 15 simulated minutes: 15 s at 60×.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let game: Value = client
            .get(format!("{}/api/v1/game", server.base))
            .send()
            .await
            .expect("game status")
            .json()
            .await
            .expect("json");
        if game["state"] == "finished" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the demo game did not finish: {game}"
        );
        assert_ne!(game["state"], "lobby", "--demo starts the game");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let board: Value = client
        .get(format!("{}/api/v1/scoreboard", server.base))
        .bearer_auth(ORGANIZER)
        .send()
        .await
        .expect("scoreboard")
        .json()
        .await
        .expect("json");
    let rows = board["teams"].as_array().expect("teams");
    let score = |bot: &str| -> i64 {
        rows.iter()
            .find(|row| row["name"].as_str().is_some_and(|name| name.contains(bot)))
            .and_then(|row| row["score"].as_i64())
            .unwrap_or_else(|| panic!("no {bot} bot in {board}"))
    };
    let (perfect, sloppy, restart, idle) = (
        score("Perfect"),
        score("Sloppy"),
        score("Restart"),
        score("Idle"),
    );
    eprintln!("perfect {perfect}, sloppy {sloppy}, restart-only {restart}, idle {idle}");
    assert!(
        perfect > sloppy && sloppy > restart && restart > idle,
        "perfect {perfect}, sloppy {sloppy}, restart-only {restart}, idle {idle}: {board}"
    );
    let perfect_row = rows
        .iter()
        .find(|row| row["name"].as_str().is_some_and(|n| n.contains("Perfect")));
    assert_eq!(
        perfect_row.map(|row| &row["incidents_fixed"]),
        Some(&Value::from(3)),
        "{board}"
    );
    server.kill();
}

/// The README's first command, run a second time on the same data directory: the recovered
/// game comes back paused (as every recovered game does) and the demo carries on playing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demo_restarted_on_its_data_directory_carries_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("data");
    let data_dir = data_dir.to_str().expect("utf-8 path");
    let client = reqwest::Client::new();
    let state_of = |base: String| {
        let client = client.clone();
        async move {
            let game: Value = client
                .get(format!("{base}/api/v1/game"))
                .send()
                .await
                .expect("game status")
                .json()
                .await
                .expect("json");
            game["state"].as_str().unwrap_or_default().to_owned()
        }
    };
    let first = ServeProcess::spawn(&["--demo", "--data-dir", data_dir]);
    assert_eq!(state_of(first.base.clone()).await, "running");
    first.kill();
    let second = ServeProcess::spawn(&["--demo", "--data-dir", data_dir]);
    assert!(
        second.banner[0].contains("recovered"),
        "the second start recovers the game: {:#?}",
        second.banner
    );
    assert_eq!(state_of(second.base.clone()).await, "running");
}
