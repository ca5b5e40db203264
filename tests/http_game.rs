//! A scripted game from lobby to finish, two teams, manual clock, over a real socket:
//! declarations (correct and false), actions, a fix, pause, freeze, announcements, finish,
//! the revealed timeline, debriefs and exports.

mod http_support;

use http_support::{JUDGE, ORGANIZER, TestServer};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn row<'a>(board: &'a Value, name: &str) -> &'a Value {
    board["teams"]
        .as_array()
        .and_then(|teams| teams.iter().find(|team| team["name"] == name))
        .unwrap_or_else(|| panic!("no row for {name} in {board}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scripted_game_from_lobby_to_finish() {
    let server = TestServer::start().await;
    let game = server.ok("/api/v1/game", None).await;
    assert_eq!(game["state"], "lobby");
    assert_eq!(game["frozen"], false);
    assert!(
        game.get("state_hash").is_none(),
        "the hash is for organizers only"
    );
    assert!(server.ok("/api/v1/game", Some(ORGANIZER)).await["state_hash"].is_string());

    let (a_id, a) = server.team("Alpha").await;
    let (_b_id, b) = server.team("Bravo").await;
    let teams = server.ok("/api/v1/teams", Some(ORGANIZER)).await;
    assert_eq!(teams.as_array().map(Vec::len), Some(2));
    assert!(
        !teams.to_string().contains(&a),
        "the team list never shows tokens"
    );

    let started = server.organizer("/api/v1/game/start", json!({})).await;
    assert_eq!(started["state"], "running");
    // The tutorial's first fault (a shop-api instance crash) strikes at 3 minutes.
    let status = server.advance(190).await;
    assert_eq!(status["elapsed_s"], 190.0);

    let truth = server.ok("/api/v1/judge/incidents", Some(JUDGE)).await;
    let first = &truth[0];
    assert_eq!(first["class"], "crash");
    let target = &first["target"];
    let service = target["Service"]
        .as_str()
        .or(target["service"].as_str())
        .expect("a service target")
        .to_owned();
    assert_eq!(service, "shop-api");

    // Alpha declares correctly, Bravo raises a false alarm.
    let verdict = server
        .post(
            "/api/v1/team/declarations",
            Some(&a),
            json!({"service": service, "fault": "crash"}),
        )
        .await;
    assert_eq!(verdict.status, StatusCode::OK, "{}", verdict.text);
    assert_eq!(verdict.body["verdict"], "correct");
    assert_eq!(verdict.body["ttd_s"], 10.0);
    let wrong = server
        .post(
            "/api/v1/team/declarations",
            Some(&b),
            json!({"service": "db", "fault": "disk_full"}),
        )
        .await;
    assert_eq!(wrong.body["verdict"], "false_alarm", "{}", wrong.text);
    assert!(wrong.body["points"].as_i64().unwrap_or(0) < 0);

    // Alpha restarts the service: accepted for the next tick, then fixed after the sustain
    // window (45 s in the tutorial).
    let accepted = server
        .post(
            "/api/v1/team/actions",
            Some(&a),
            json!({"action": "restart_service", "service": service}),
        )
        .await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{}", accepted.text);
    // Ticks are numbered from 0: after 190 completed ticks the next one is tick 190.
    assert_eq!(
        accepted.body["apply_tick"],
        server.ok("/api/v1/game", None).await["tick"]
    );
    // The restart boots and warms up, then health must hold for the sustain window.
    let mut incidents = Value::Null;
    for _ in 0..10 {
        server.advance(30).await;
        incidents = server.ok("/api/v1/team/incidents", Some(&a)).await;
        if incidents[0]["phase"] == "fixed" {
            break;
        }
    }
    assert_eq!(incidents[0]["phase"], "fixed", "{incidents}");
    assert!(incidents[0]["ttf_s"].as_f64().is_some());
    assert_eq!(
        server.ok("/api/v1/team/incidents", Some(&b)).await,
        json!([])
    );

    let board = server.ok("/api/v1/scoreboard", None).await;
    let alpha = row(&board, "Alpha");
    assert_eq!(alpha["rank"], 1);
    assert_eq!(alpha["incidents_detected"], 1);
    assert_eq!(alpha["incidents_fixed"], 1);
    assert_eq!(alpha["median_ttd_s"], 10.0);
    let bravo = row(&board, "Bravo");
    assert_eq!(bravo["incidents_detected"], 0);
    assert!(bravo["median_ttd_s"].is_null());
    assert!(alpha["score"].as_i64() > bravo["score"].as_i64());
    let ledger = server.ok("/api/v1/team/ledger", Some(&a)).await;
    assert!(ledger.as_array().is_some_and(|entries| !entries.is_empty()));

    // Pause stops the clock and team commands.
    let paused = server.organizer("/api/v1/game/pause", json!({})).await;
    assert_eq!(paused["state"], "paused");
    let refused = server
        .post(
            "/api/v1/team/actions",
            Some(&a),
            json!({"action": "restart_service", "service": "web"}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(
        server
            .post("/api/v1/game/pause", Some(ORGANIZER), json!({}))
            .await
            .status,
        StatusCode::CONFLICT
    );
    server.organizer("/api/v1/game/resume", json!({})).await;

    // Freeze: the public board stops changing, staff still see the live one.
    server.organizer("/api/v1/game/freeze", json!({})).await;
    let frozen_before = server.ok("/api/v1/scoreboard", None).await;
    assert_eq!(frozen_before["frozen"], true);
    server
        .post(
            "/api/v1/judge/adjustments",
            Some(JUDGE),
            json!({"team": a_id, "points": 500, "reason": "great postmortem"}),
        )
        .await;
    server.advance(30).await;
    let frozen_after = server.ok("/api/v1/scoreboard", None).await;
    assert_eq!(
        frozen_before, frozen_after,
        "the frozen board does not move"
    );
    let live = server.ok("/api/v1/scoreboard", Some(ORGANIZER)).await;
    assert_eq!(live["frozen"], false);
    assert!(row(&live, "Alpha")["score"].as_i64() > row(&frozen_after, "Alpha")["score"].as_i64());
    assert_eq!(
        server.ok("/api/v1/scoreboard", Some(JUDGE)).await["teams"],
        live["teams"]
    );
    server.organizer("/api/v1/game/unfreeze", json!({})).await;
    assert_eq!(
        server.ok("/api/v1/scoreboard", None).await["teams"],
        live["teams"]
    );

    // Announcements and extension.
    let announced = server
        .post(
            "/api/v1/announcements",
            Some(ORGANIZER),
            json!({"message": "Ten minutes left"}),
        )
        .await;
    assert_eq!(announced.status, StatusCode::CREATED);
    let announcements = server.ok("/api/v1/announcements", Some(&b)).await;
    assert!(announcements.to_string().contains("Ten minutes left"));
    let before = server.ok("/api/v1/game", None).await["remaining_s"]
        .as_f64()
        .unwrap_or(0.0);
    let extended = server
        .organizer("/api/v1/game/extend", json!({"seconds": 120}))
        .await;
    assert_eq!(
        extended["remaining_s"].as_f64().unwrap_or(0.0),
        before + 120.0
    );

    // Before Finish the grid and debriefs are secret.
    assert_eq!(
        server.get("/api/v1/incidents", None).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        server.get("/api/v1/team/debrief", Some(&a)).await.status,
        StatusCode::CONFLICT
    );

    let finished = server.organizer("/api/v1/game/finish", json!({})).await;
    assert_eq!(finished["state"], "finished");
    let grid = server.ok("/api/v1/incidents", None).await;
    assert!(
        grid.to_string().contains("shop-api-instance-crash"),
        "the truth is revealed: {grid}"
    );
    let debrief = server.ok("/api/v1/team/debrief", Some(&a)).await;
    assert_eq!(debrief["name"], "Alpha");
    assert_eq!(debrief["rank"], 1);
    let after = server
        .post(
            "/api/v1/team/actions",
            Some(&a),
            json!({"action": "restart_service", "service": "web"}),
        )
        .await;
    assert_eq!(after.status, StatusCode::CONFLICT);

    let json_export = server
        .get("/api/v1/export?format=json", Some(ORGANIZER))
        .await;
    assert_eq!(json_export.status, StatusCode::OK);
    assert!(json_export.text.contains("Alpha") && json_export.text.contains("Bravo"));
    let csv = server
        .client
        .get(format!("{}/api/v1/export?format=csv", server.base))
        .bearer_auth(ORGANIZER)
        .send()
        .await
        .expect("csv export");
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(
        csv.headers()[reqwest::header::CONTENT_TYPE]
            .to_str()
            .unwrap_or("")
            .starts_with("text/csv")
    );
    let files = csv.headers()["x-export-files"]
        .to_str()
        .unwrap_or("")
        .to_owned();
    let text = csv.text().await.expect("csv text");
    assert!(text.contains("Alpha"), "{text}");
    for file in files.split(',') {
        let reply = server
            .get(
                &format!("/api/v1/export?format=csv&file={file}"),
                Some(ORGANIZER),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{file}");
    }
    assert_eq!(
        server
            .get("/api/v1/export?format=xml", Some(ORGANIZER))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_classes_are_listed_in_the_rules_and_named_in_errors() {
    let server = TestServer::start().await;
    let rules = server.ok("/api/v1/rules", None).await;
    let classes = rules["fault_classes"].as_array().expect("fault_classes");
    assert_eq!(classes.len(), 22, "{classes:?}");
    let class = |name: &str| {
        classes
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {classes:?}"))
    };
    assert_eq!(class("crash")["on_service"], true);
    assert_eq!(class("crash")["on_zone"], false);
    assert_eq!(class("zone_outage")["on_zone"], true);
    assert_eq!(class("zone_outage")["on_service"], false);
    assert_eq!(class("packet_loss")["on_zone"], true);
    assert!(class("disk_full")["symptoms"].is_string());

    let (_id, token) = server.team("Alpha").await;
    server.organizer("/api/v1/game/start", json!({})).await;
    let unknown = server
        .post(
            "/api/v1/team/declarations",
            Some(&token),
            json!({"service": "web", "fault": "nope"}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.text);
    let message = unknown.body["message"].as_str().unwrap_or(&unknown.text);
    assert!(
        message.contains("crash") && message.contains("telemetry_outage"),
        "{message}"
    );
    let long = "n".repeat(5_000);
    let huge = server
        .post(
            "/api/v1/team/declarations",
            Some(&token),
            json!({"service": "web", "fault": long}),
        )
        .await;
    assert_eq!(huge.status, StatusCode::BAD_REQUEST);
    assert!(huge.text.len() < 1_000, "{}", huge.text);
    let zone = server
        .post(
            "/api/v1/team/declarations",
            Some(&token),
            json!({"zone": "main", "fault": "crash"}),
        )
        .await;
    assert_eq!(zone.status, StatusCode::BAD_REQUEST, "{}", zone.text);
    assert!(zone.text.contains("zone_outage"), "{}", zone.text);
    let ledger = server.ok("/api/v1/team/ledger", Some(&token)).await;
    assert_eq!(ledger.as_array().map(Vec::len), Some(0), "{ledger}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_that_cannot_be_written_stops_the_game_visibly() {
    let server = TestServer::start().await;
    server.team("Alpha").await;
    server.organizer("/api/v1/game/start", json!({})).await;
    server.advance(5).await;
    let game = server.ok("/api/v1/game", None).await;
    assert_eq!(game["failure"], Value::Null);
    assert_eq!(game["behind"], false, "a manual clock is never behind");
    assert_eq!(
        server.get("/api/v1/healthz", None).await.status,
        StatusCode::OK
    );

    // The journal's table disappears behind the server's back: it cannot be written (as
    // on a full disk).
    let journal = server
        .data_dir()
        .join(breakathon_game::journal::JOURNAL_FILE_NAME);
    let other = rusqlite::Connection::open(journal).expect("journal");
    other
        .execute_batch("ALTER TABLE journal RENAME TO hidden")
        .expect("hide");
    let failed = server
        .post(
            "/api/v1/game/advance",
            Some(ORGANIZER),
            json!({"seconds": 5}),
        )
        .await;
    assert_eq!(
        failed.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        failed.text
    );
    let message = failed.body["message"].as_str().unwrap_or(&failed.text);
    assert!(
        message.contains("journal could not be written"),
        "{message}"
    );
    assert!(message.contains("restart"), "{message}");
    other
        .execute_batch("ALTER TABLE hidden RENAME TO journal")
        .expect("unhide");
    drop(other);

    // It stays stopped until a restart, and says so.
    let refused = server
        .post(
            "/api/v1/announcements",
            Some(ORGANIZER),
            json!({"message": "hello"}),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        refused.text
    );
    let health = server.get("/api/v1/healthz", None).await;
    assert_eq!(
        health.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        health.text
    );
    assert_eq!(health.body["error"], "stopped");
    let game = server.ok("/api/v1/game", None).await;
    assert_eq!(
        game["tick"], 5,
        "reads still answer; the failed advance did not apply"
    );
    assert!(
        game["failure"]
            .as_str()
            .is_some_and(|why| why.contains("journal")),
        "{game}"
    );
    let metrics = server.get("/metrics", Some(ORGANIZER)).await;
    assert!(
        metrics.text.contains("breakathon_game_stopped 1"),
        "{}",
        metrics.text
    );
    server.shutdown().await;
}
