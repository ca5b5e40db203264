//! Every route × every role, over a real socket: who may call what, with the expected status
//! of each (401 without a token, 403 with the wrong role), including team A reaching for team
//! B's resources, plus body limits, bad input, unknown routes, rate limits and secrecy.

mod http_support;

use breakathon_game::ClockMode;
use breakathon_server::ServerConfig;
use breakathon_server::limits::{MAX_BODY_BYTES, RateLimit};
use http_support::{JUDGE, ORGANIZER, TUTORIAL, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Expected statuses for: no token, team A, organizer, judge.
type Row = (Method, String, Option<Value>, [u16; 4]);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_each_role_with_the_expected_status() {
    let server = TestServer::start().await;
    let (_a, a) = server.team("Alpha").await;
    let (b_id, b) = server.team("Bravo").await;
    let (c_id, _c) = server.team("Charlie").await;
    server.organizer("/api/v1/game/start", json!({})).await;
    // Past the tutorial's first fault (3 minutes), so incident 0 exists in every world, and
    // past its hint's unlock (a minute later).
    server.advance(250).await;

    let get =
        |path: &str, expected: [u16; 4]| -> Row { (Method::GET, path.to_owned(), None, expected) };
    let post = |path: &str, body: Value, expected: [u16; 4]| -> Row {
        (Method::POST, path.to_owned(), Some(body), expected)
    };
    let rows: Vec<Row> = vec![
        // public
        get("/api/v1/game", [200, 200, 200, 200]),
        get("/api/v1/scoreboard", [200, 200, 200, 200]),
        get("/api/v1/scoreboard/history", [200, 200, 200, 200]),
        get("/api/v1/scoreboard/stream", [200, 200, 200, 200]),
        get("/api/v1/rules", [200, 200, 200, 200]),
        get("/api/v1/announcements", [200, 200, 200, 200]),
        get("/api/v1/incidents", [409, 409, 409, 409]),
        get("/api/v1/healthz", [200, 200, 200, 200]),
        get("/api/v1/openapi.json", [200, 200, 200, 200]),
        get("/", [200, 200, 200, 200]),
        get("/team", [200, 200, 200, 200]),
        get("/judge", [200, 200, 200, 200]),
        get("/organizer", [200, 200, 200, 200]),
        get("/assets/app.css", [200, 200, 200, 200]),
        // organizer
        post(
            "/api/v1/teams",
            json!({"name": "Delta"}),
            [401, 403, 201, 403],
        ),
        get("/api/v1/teams", [401, 403, 200, 403]),
        get("/api/v1/scenario", [401, 403, 200, 403]),
        post("/api/v1/game/start", json!({}), [401, 403, 409, 403]),
        post("/api/v1/game/pause", json!({}), [401, 403, 200, 403]),
        post("/api/v1/game/resume", json!({}), [401, 403, 200, 403]),
        post(
            "/api/v1/game/extend",
            json!({"seconds": 60}),
            [401, 403, 200, 403],
        ),
        post("/api/v1/game/freeze", json!({}), [401, 403, 200, 403]),
        post("/api/v1/game/unfreeze", json!({}), [401, 403, 200, 403]),
        post(
            "/api/v1/game/advance",
            json!({"seconds": 1}),
            [401, 403, 200, 403],
        ),
        post(
            "/api/v1/announcements",
            json!({"message": "hello"}),
            [401, 403, 201, 403],
        ),
        get("/api/v1/export?format=json", [401, 403, 200, 403]),
        get("/api/v1/export?format=csv", [401, 403, 200, 403]),
        // team A reaching for team B's and C's resources
        post(
            &format!("/api/v1/teams/{c_id}/rotate"),
            json!({}),
            [401, 403, 200, 403],
        ),
        (
            Method::DELETE,
            format!("/api/v1/teams/{c_id}"),
            None,
            [401, 403, 204, 403],
        ),
        get(
            &format!("/api/v1/judge/teams/{b_id}/timeline"),
            [401, 403, 403, 200],
        ),
        // team
        get("/api/v1/team/fleet", [401, 200, 403, 403]),
        get("/api/v1/team/metrics?service=web", [401, 200, 403, 403]),
        get("/api/v1/team/metrics?service=nope", [401, 404, 403, 403]),
        get(
            "/api/v1/team/logs?service=web&q=error&since=0",
            [401, 200, 403, 403],
        ),
        get("/api/v1/team/alerts", [401, 200, 403, 403]),
        get("/api/v1/team/complaints", [401, 200, 403, 403]),
        post(
            "/api/v1/team/declarations",
            json!({"service": "db", "fault": "dns_failure"}),
            [401, 200, 403, 403],
        ),
        post(
            "/api/v1/team/actions",
            json!({"action": "restart_instance", "service": "shop-api", "instance": 0}),
            [401, 202, 403, 403],
        ),
        post(
            "/api/v1/team/notifications",
            json!({"audience": "customer_service", "message": "looking into it", "service": "shop-api"}),
            [401, 201, 403, 403],
        ),
        get("/api/v1/team/hints", [401, 200, 403, 403]),
        post("/api/v1/team/hints/0/take", json!({}), [401, 200, 403, 403]),
        get("/api/v1/team/incidents", [401, 200, 403, 403]),
        get("/api/v1/team/ledger", [401, 200, 403, 403]),
        get("/api/v1/team/debrief", [401, 409, 403, 403]),
        get("/api/v1/team/stream", [401, 200, 403, 403]),
        // judge
        get("/api/v1/judge/incidents", [401, 403, 403, 200]),
        post(
            "/api/v1/judge/adjustments",
            json!({"team": b_id, "points": 5, "reason": "good call"}),
            [401, 403, 403, 201],
        ),
        post(
            "/api/v1/judge/verdicts",
            json!({"team": b_id, "incident": 0, "ruling": "close", "reason": "fixed by hand"}),
            [401, 403, 403, 201],
        ),
        // metrics
        get("/metrics", [401, 403, 200, 403]),
        get("/metrics/team", [401, 200, 403, 403]),
        // errors
        get("/api/v1/nope", [404, 404, 404, 404]),
        (
            Method::DELETE,
            "/api/v1/scoreboard".into(),
            None,
            [405, 405, 405, 405],
        ),
    ];

    let mut failures = Vec::new();
    for (method, path, body, expected) in rows {
        let tokens = [None, Some(a.as_str()), Some(ORGANIZER), Some(JUDGE)];
        for (token, want) in tokens.into_iter().zip(expected) {
            let got = server
                .status(method.clone(), &path, token, body.clone())
                .await;
            if got.as_u16() != want {
                let who = token.map_or("nobody", |t| {
                    if t == ORGANIZER {
                        "organizer"
                    } else if t == JUDGE {
                        "judge"
                    } else {
                        "team"
                    }
                });
                failures.push(format!(
                    "{method} {path} as {who}: expected {want}, got {got}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // Team A's false alarm is in A's ledger, never in B's.
    let a_ledger = server.ok("/api/v1/team/ledger", Some(&a)).await.to_string();
    let b_ledger = server.ok("/api/v1/team/ledger", Some(&b)).await.to_string();
    assert!(a_ledger.contains("false_alarm"), "{a_ledger}");
    assert!(!b_ledger.contains("false_alarm"), "{b_ledger}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_json_with_the_right_status() {
    let server = TestServer::start().await;
    let (_, a) = server.team("Alpha").await;

    let unknown_token = server.get("/api/v1/team/fleet", Some("not-a-token")).await;
    assert_eq!(unknown_token.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown_token.body["error"], "unauthorized");
    assert!(unknown_token.body["message"].is_string());

    // Lobby: team commands are refused with 409.
    let early = server
        .post(
            "/api/v1/team/actions",
            Some(&a),
            json!({"action": "restart_service", "service": "web"}),
        )
        .await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.text);
    assert_eq!(early.body["error"], "wrong_state");

    server.organizer("/api/v1/game/start", json!({})).await;
    let bad_json = server
        .client
        .post(format!("{}/api/v1/team/actions", server.base))
        .bearer_auth(&a)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("sent");
    assert_eq!(bad_json.status(), StatusCode::BAD_REQUEST);
    let body: Value = bad_json.json().await.expect("json error");
    assert_eq!(body["error"], "bad_request");

    let unknown_action = server
        .post(
            "/api/v1/team/actions",
            Some(&a),
            json!({"action": "reboot_universe", "service": "web"}),
        )
        .await;
    assert_eq!(unknown_action.status, StatusCode::BAD_REQUEST);
    assert!(
        unknown_action.body["message"]
            .as_str()
            .unwrap_or("")
            .contains("reboot_universe")
    );

    let unknown_service = server
        .post(
            "/api/v1/team/actions",
            Some(&a),
            json!({"action": "restart_service", "service": "paymnts"}),
        )
        .await;
    assert!(
        unknown_service.status.is_client_error(),
        "{}",
        unknown_service.text
    );
    assert!(unknown_service.body["error"].is_string());

    let both_targets = server
        .post(
            "/api/v1/team/declarations",
            Some(&a),
            json!({"service": "web", "zone": "main", "fault": "crash"}),
        )
        .await;
    assert_eq!(both_targets.status, StatusCode::BAD_REQUEST);

    let huge = "x".repeat(MAX_BODY_BYTES + 1);
    let too_large = server
        .post(
            "/api/v1/announcements",
            Some(ORGANIZER),
            json!({ "message": huge }),
        )
        .await;
    assert_eq!(
        too_large.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        too_large.text
    );
    assert_eq!(too_large.body["error"], "payload_too_large");

    let not_found = server
        .post("/api/v1/teams/999/rotate", Some(ORGANIZER), json!({}))
        .await;
    assert_eq!(not_found.status, StatusCode::NOT_FOUND);
    assert_eq!(not_found.body["error"], "not_found");

    let advance_speed_clock = server.get("/api/v1/nowhere", None).await;
    assert_eq!(advance_speed_clock.status, StatusCode::NOT_FOUND);
    assert_eq!(advance_speed_clock.body["error"], "not_found");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_beyond_the_token_budget_are_refused_with_429() {
    let config = ServerConfig {
        rate_limit: RateLimit {
            burst: 5,
            per_second: 0.5,
        },
        ..ServerConfig::default()
    };
    let server = TestServer::start_with(TUTORIAL, ClockMode::Manual, config).await;
    let (_, a) = server.team("Alpha").await;
    server.organizer("/api/v1/game/start", json!({})).await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let reply = server
            .post(
                "/api/v1/team/notifications",
                Some(&a),
                json!({"audience": "sales", "message": "hi"}),
            )
            .await;
        statuses.push(reply.status.as_u16());
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(reply.body["error"], "rate_limited");
        }
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        3,
        "{statuses:?}"
    );
    // Reads are not limited, and other tokens have their own budget.
    assert_eq!(
        server.get("/api/v1/team/fleet", Some(&a)).await.status,
        StatusCode::OK
    );
    let (_, b) = server.team("Bravo").await;
    let other = server
        .post(
            "/api/v1/team/notifications",
            Some(&b),
            json!({"audience": "sales", "message": "hi"}),
        )
        .await;
    assert_eq!(other.status, StatusCode::CREATED);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_public_or_team_facing_reveals_the_fault_script_while_the_game_runs() {
    let server = TestServer::start().await;
    let (_, a) = server.team("Alpha").await;
    server.organizer("/api/v1/game/start", json!({})).await;
    // All three tutorial faults have struck by 11 minutes.
    server.advance(660).await;
    let secrets = [
        "shop-api-instance-crash",
        "checkout-memory-leak",
        "web-bad-config",
    ];
    let public = [
        "/api/v1/game",
        "/api/v1/scoreboard",
        "/api/v1/scoreboard/history",
        "/api/v1/rules",
        "/api/v1/announcements",
        "/api/v1/incidents",
    ];
    let team = [
        "/api/v1/team/fleet",
        "/api/v1/team/alerts",
        "/api/v1/team/complaints",
        "/api/v1/team/logs",
        "/api/v1/team/hints",
        "/api/v1/team/incidents",
        "/api/v1/team/ledger",
        "/api/v1/team/debrief",
        "/metrics/team",
    ];
    for path in public {
        let text = server.get(path, None).await.text;
        for secret in secrets {
            assert!(!text.contains(secret), "{path} reveals `{secret}`: {text}");
        }
    }
    for path in team {
        let text = server.get(path, Some(&a)).await.text;
        for secret in secrets {
            assert!(!text.contains(secret), "{path} reveals `{secret}`");
        }
    }
    // Team incidents list only declared ones: none declared, none listed.
    assert_eq!(
        server.ok("/api/v1/team/incidents", Some(&a)).await,
        json!([])
    );
    // Judges do see the truth.
    let judge = server
        .get("/api/v1/judge/incidents", Some(JUDGE))
        .await
        .text;
    assert!(judge.contains("shop-api-instance-crash"), "{judge}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_or_removed_token_stops_working_at_once_even_after_being_used() {
    let server = TestServer::start().await;
    let (a_id, a) = server.team("Alpha").await;
    let (b_id, b) = server.team("Bravo").await;
    // Use both tokens first, so that the server has seen (and may remember) them.
    for token in [&a, &b] {
        assert_eq!(server.get("/api/v1/team/me", Some(token)).await.status, 200);
        assert_eq!(server.get("/api/v1/team/me", Some(token)).await.status, 200);
    }
    let rotated = server
        .organizer(&format!("/api/v1/teams/{a_id}/rotate"), json!({}))
        .await;
    let fresh = rotated["token"].as_str().expect("new token");
    assert_eq!(
        server.get("/api/v1/team/me", Some(&a)).await.status,
        StatusCode::UNAUTHORIZED,
        "the old token no longer works"
    );
    assert_eq!(server.get("/api/v1/team/me", Some(fresh)).await.status, 200);
    let removed = server
        .call(
            Method::DELETE,
            &format!("/api/v1/teams/{b_id}"),
            Some(ORGANIZER),
            None,
        )
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    assert_eq!(
        server.get("/api/v1/team/me", Some(&b)).await.status,
        StatusCode::UNAUTHORIZED,
        "a removed team's token no longer works"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_values_are_refused_without_echoing_them_in_full() {
    let server = TestServer::start().await;
    let (_id, token) = server.team("Alpha").await;
    server.organizer("/api/v1/game/start", json!({})).await;
    let post = |path: &'static str, body: Value| {
        let server = &server;
        let token = token.clone();
        async move { server.post(path, Some(&token), body).await }
    };
    let long = "s".repeat(5_000);
    for (path, body) in [
        (
            "/api/v1/team/notifications",
            json!({"audience": "customer_service", "message": "down", "service": "web", "zone": "main"}),
        ),
        (
            "/api/v1/team/notifications",
            json!({"audience": "customer_service", "message": "web\u{0}down"}),
        ),
        (
            "/api/v1/team/actions",
            json!({"action": "roll_forward", "service": "web", "params": {"version": ""}}),
        ),
        (
            "/api/v1/team/actions",
            json!({"action": "set_config", "service": "web", "params": {"key": "nope", "value": "1"}}),
        ),
        (
            "/api/v1/team/actions",
            json!({"action": "restart_service", "service": long}),
        ),
        (
            "/api/v1/team/declarations",
            json!({"zone": "main", "fault": "crash"}),
        ),
    ] {
        let reply = post(path, body.clone()).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            reply.text
        );
        assert!(reply.text.len() < 1_000, "{}", reply.text);
    }
    let unknown_metrics = server
        .get(
            &format!("/api/v1/team/metrics?service={long}"),
            Some(&token),
        )
        .await;
    assert_eq!(unknown_metrics.status, StatusCode::NOT_FOUND);
    assert!(
        unknown_metrics.text.len() < 1_000,
        "{}",
        unknown_metrics.text
    );
    let ruling = server
        .post(
            "/api/v1/judge/verdicts",
            Some(JUDGE),
            json!({"team": 0, "incident": 0, "ruling": long, "reason": "x"}),
        )
        .await;
    assert_eq!(ruling.status, StatusCode::BAD_REQUEST);
    assert!(
        ruling.text.contains("reopen") && ruling.text.len() < 1_000,
        "{}",
        ruling.text
    );
    // A hint that does not exist and one not available yet get the same answer.
    let locked = server
        .post("/api/v1/team/hints/0/take", Some(&token), json!({}))
        .await;
    let missing = server
        .post("/api/v1/team/hints/99/take", Some(&token), json!({}))
        .await;
    assert_eq!(locked.status, missing.status);
    assert_eq!(
        locked.body["message"].as_str().map(|m| m.replace('0', "N")),
        missing.body["message"]
            .as_str()
            .map(|m| m.replace("99", "N")),
    );
    let ledger = server.ok("/api/v1/team/ledger", Some(&token)).await;
    assert_eq!(ledger.as_array().map(Vec::len), Some(0), "{ledger}");
}
