//! Live streams over a real socket: the scoreboard stream delivers every change (the same
//! JSON as `GET /scoreboard`), a client that never reads does not hold others back, the team
//! stream carries the team's own events only, and every stream ends on shutdown.

mod http_support;

use std::time::Duration;

use breakathon_game::ClockMode;
use breakathon_server::ServerConfig;
use futures_util::StreamExt;
use http_support::{ORGANIZER, TUTORIAL, TestServer};
use serde_json::{Value, json};

/// Reads server-sent events off a response body.
struct SseReader {
    body: std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<Vec<u8>>> + Send>>,
    buffer: String,
}

impl SseReader {
    async fn open(server: &TestServer, path: &str, token: Option<&str>) -> SseReader {
        let mut request = server.client.get(format!("{}{path}", server.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("stream opens");
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap_or("")
                .starts_with("text/event-stream")
        );
        SseReader {
            body: Box::pin(
                response
                    .bytes_stream()
                    .map(|chunk| chunk.map(|bytes| bytes.to_vec())),
            ),
            buffer: String::new(),
        }
    }

    /// The next event's (name, data), or None when the stream ended.
    async fn next(&mut self) -> Option<(String, String)> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = String::new();
                let mut data = Vec::new();
                for line in block.lines() {
                    if let Some(value) = line.strip_prefix("event:") {
                        name = value.trim().to_owned();
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push(value.strip_prefix(' ').unwrap_or(value).to_owned());
                    }
                }
                if data.is_empty() {
                    continue; // keep-alive comment
                }
                return Some((name, data.join("\n")));
            }
            match self.body.next().await {
                Some(Ok(chunk)) => self.buffer.push_str(&String::from_utf8_lossy(&chunk)),
                _ => return None,
            }
        }
    }

    /// Waits (at most 5 s) for an event whose data satisfies `wanted`.
    async fn until(&mut self, wanted: impl Fn(&Value) -> bool) -> Value {
        tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                let (_, data) = self.next().await.expect("the stream is still open");
                let value: Value = serde_json::from_str(&data).expect("event data is JSON");
                if wanted(&value) {
                    return value;
                }
            }
        })
        .await
        .expect("the awaited event arrived in time")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scoreboard_stream_delivers_every_change_and_ends_on_shutdown() {
    let server = TestServer::start().await;
    let mut watcher = SseReader::open(&server, "/api/v1/scoreboard/stream", None).await;
    // A client that never reads must not hold anyone back.
    let _stalled = SseReader::open(&server, "/api/v1/scoreboard/stream", None).await;

    let (name, first) = watcher.next().await.expect("the current board at once");
    assert_eq!(name, "", "unnamed events reach EventSource.onmessage");
    let first: Value = serde_json::from_str(&first).expect("json");
    assert_eq!(first, server.ok("/api/v1/scoreboard", None).await);

    for index in 0..20 {
        let name = format!("Team {index}");
        server.team(&name).await;
        let seen = watcher
            .until(|board| {
                board["teams"]
                    .as_array()
                    .is_some_and(|teams| teams.iter().any(|t| t["name"] == name.as_str()))
            })
            .await;
        assert_eq!(
            seen,
            server.ok("/api/v1/scoreboard", None).await,
            "same JSON as GET"
        );
    }
    let metrics = server.get("/metrics", Some(ORGANIZER)).await.text;
    assert!(metrics.contains("breakathon_stream_clients 2"), "{metrics}");

    server.state.shutdown().cancel();
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while watcher.next().await.is_some() {}
    })
    .await;
    assert!(ended.is_ok(), "the stream ends on shutdown");
    server.shutdown().await;
}

/// The first complete SSE frame (up to and including its blank line) of a raw response body.
async fn raw_frame<B: AsRef<[u8]>>(
    body: &mut (impl futures_util::Stream<Item = reqwest::Result<B>> + Unpin),
    buffer: &mut Vec<u8>,
) -> Vec<u8> {
    loop {
        if let Some(end) = buffer.windows(2).position(|w| w == b"\n\n") {
            let frame: Vec<u8> = buffer.drain(..end + 2).collect();
            if frame.starts_with(b":") {
                continue; // keep-alive comment
            }
            return frame;
        }
        let chunk = tokio::time::timeout(Duration::from_secs(5), body.next())
            .await
            .expect("a frame in time")
            .expect("the stream is open")
            .expect("chunk");
        buffer.extend_from_slice(chunk.as_ref());
    }
}

/// Opens the public scoreboard stream.
async fn open_scoreboard_stream(server: &TestServer) -> reqwest::Response {
    server
        .client
        .get(format!("{}/api/v1/scoreboard/stream", server.base))
        .send()
        .await
        .expect("stream opens")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scoreboard_frames_carry_the_encoded_board_byte_for_byte() {
    let server = TestServer::start().await;
    let response = open_scoreboard_stream(&server).await;
    assert_eq!(response.headers()["cache-control"], "no-cache");
    let mut body = Box::pin(response.bytes_stream());
    let mut buffer = Vec::new();
    for round in 0..3 {
        if round > 0 {
            server.team(&format!("Team {round}")).await;
        }
        let frame = raw_frame(&mut body, &mut buffer).await;
        let board = server.get("/api/v1/scoreboard", None).await.text;
        let seq = server.state.subscribe(false).borrow().seq;
        let expected = format!("id: {seq}\ndata: {board}\n\n");
        assert_eq!(
            String::from_utf8_lossy(&frame),
            expected,
            "one id line, one data line with exactly the bytes of GET /scoreboard"
        );
    }
    // Readers and streams share one encoding: nothing is re-encoded or copied per request.
    assert_eq!(
        server.state.scoreboard_json(false).as_ptr(),
        server.state.subscribe(false).borrow().json.as_ptr()
    );
    // Unless frozen the live and public views are one board, encoded once for both.
    assert_eq!(
        server.state.subscribe(true).borrow().frame.as_ptr(),
        server.state.subscribe(false).borrow().frame.as_ptr()
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_scoreboard_stream_gets_keep_alives_then_the_next_board() {
    let interval = Duration::from_millis(200);
    let config = ServerConfig {
        keep_alive_interval: interval,
        ..ServerConfig::default()
    };
    let server = TestServer::start_with(TUTORIAL, ClockMode::Manual, config).await;
    let response = open_scoreboard_stream(&server).await;
    let mut body = Box::pin(response.bytes_stream());
    let mut buffer = Vec::new();
    let first = raw_frame(&mut body, &mut buffer).await;
    assert!(first.starts_with(b"id: "), "the board comes first");
    // Nothing changes: only keep-alive comments arrive, about one per interval.
    let quiet = interval * 6;
    let _ = tokio::time::timeout(quiet, async {
        while let Some(Ok(chunk)) = body.next().await {
            buffer.extend_from_slice(&chunk);
        }
    })
    .await;
    let comments = buffer.windows(3).filter(|w| *w == b":\n\n").count();
    assert_eq!(
        buffer.len(),
        comments * 3,
        "only keep-alive comments while the board stays the same: {:?}",
        String::from_utf8_lossy(&buffer)
    );
    assert!(
        (2..=7).contains(&comments),
        "about one keep-alive per interval, got {comments}"
    );
    buffer.clear();
    server.team("Alpha").await;
    let next = raw_frame(&mut body, &mut buffer).await;
    assert!(
        String::from_utf8_lossy(&next).contains("\"Alpha\""),
        "the next board follows the keep-alives"
    );
    server.shutdown().await;
}

/// The `breakathon_boards_published_total` counter of `GET /metrics`.
async fn boards_published(server: &TestServer) -> u64 {
    let metrics = server.get("/metrics", Some(ORGANIZER)).await.text;
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("breakathon_boards_published_total "))
        .and_then(|value| value.trim().parse().ok())
        .expect("the counter is exported")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_that_leaves_the_board_unchanged_publishes_nothing() {
    let server = TestServer::start().await;
    let (_, a) = server.team("Alpha").await;
    server.organizer("/api/v1/game/start", json!({})).await;
    let mut team_stream = SseReader::open(&server, "/api/v1/team/stream", Some(&a)).await;
    let before = boards_published(&server).await;
    let board = server.get("/api/v1/scoreboard", None).await.text;
    let accepted = server
        .post(
            "/api/v1/team/actions",
            Some(&a),
            json!({"action": "restart_service", "service": "web"}),
        )
        .await;
    assert_eq!(accepted.status, 202, "{}", accepted.text);
    assert_eq!(server.get("/api/v1/scoreboard", None).await.text, board);
    assert_eq!(
        boards_published(&server).await,
        before,
        "an unchanged board is neither encoded nor sent again"
    );
    // Team streams still wake on the change (the action is one of the team's events).
    server
        .post(
            "/api/v1/team/declarations",
            Some(&a),
            json!({"service": "db", "fault": "disk_full"}),
        )
        .await;
    team_stream.until(|event| event["type"] == "verdict").await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_team_stream_carries_the_teams_own_events() {
    let server = TestServer::start().await;
    let (_, a) = server.team("Alpha").await;
    let (_, b) = server.team("Bravo").await;
    server.organizer("/api/v1/game/start", json!({})).await;
    let mut alpha = SseReader::open(&server, "/api/v1/team/stream", Some(&a)).await;
    // Browsers' EventSource cannot set headers: the token may come as a query parameter.
    let mut bravo = SseReader::open(&server, &format!("/api/v1/team/stream?token={b}"), None).await;

    let verdict = server
        .post(
            "/api/v1/team/declarations",
            Some(&a),
            json!({"service": "db", "fault": "disk_full"}),
        )
        .await;
    assert_eq!(verdict.body["verdict"], "false_alarm");
    let event = alpha.until(|event| event["type"] == "verdict").await;
    assert_eq!(event["data"]["verdict"], "false_alarm");

    server
        .post(
            "/api/v1/announcements",
            Some(ORGANIZER),
            json!({"message": "hello all"}),
        )
        .await;
    let announcement = bravo.until(|event| event["type"] == "announcement").await;
    assert_eq!(announcement["data"]["message"], "hello all");
    // Bravo saw the announcement, which came after Alpha's verdict: had Bravo been sent
    // Alpha's verdict it would have come first.
    let bravo_declared = server
        .post(
            "/api/v1/team/declarations",
            Some(&b),
            json!({"service": "web", "fault": "crash"}),
        )
        .await;
    assert_eq!(bravo_declared.body["verdict"], "false_alarm");
    let bravo_verdict = bravo.until(|event| event["type"] == "verdict").await;
    assert_eq!(bravo_verdict["data"]["target"], json!({"service": "web"}));

    server.state.shutdown().cancel();
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while alpha.next().await.is_some() {}
    })
    .await;
    assert!(ended.is_ok(), "team streams end on shutdown too");
    server.shutdown().await;
}
