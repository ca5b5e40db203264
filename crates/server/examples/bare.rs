//! Baseline for `docs/PERFORMANCE.md`: a bare axum server with no game, no auth and no
//! middleware. `cargo run --release -p breakathon-server --example bare -- PORT BYTES`.
//!
//! - `GET /api/v1/scoreboard`: a fixed JSON body of BYTES bytes of padding (plus 12).
//! - `GET /api/v1/scoreboard/stream`: a bare broadcast server, for the `serve_load fanout`
//!   generator: server-sent events of a board (rows shaped like the game's scoreboard rows,
//!   and BYTES of padding), encoded once per change into a shared SSE frame and sent to every
//!   client from a `watch` channel.
//! - `POST /api/v1/teams {"name": ...}`: adds a row with score 0 and broadcasts the board.
//! - `POST /api/v1/judge/adjustments {"team": ID, "points": N, ...}`: changes a row's score
//!   and broadcasts the board (no token check, no journal: the bare cost of a score change).
//!
//! A third argument `graceful` serves with axum's graceful shutdown (as `breakathon serve`
//! does), to measure what it costs.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use futures_util::stream;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::watch;

/// One row of the broadcast board, serialized in the game's order (`name` before `score`).
#[derive(Serialize)]
struct Row {
    rank: usize,
    id: usize,
    name: String,
    score: i64,
    incidents_detected: u32,
    incidents_fixed: u32,
    median_ttd_s: Option<f64>,
    median_ttf_s: Option<f64>,
}

/// The broadcast board.
struct Board {
    rows: Mutex<(u64, Vec<Row>)>,
    padding: String,
    frames: watch::Sender<Bytes>,
}

impl Board {
    /// Encodes the board once as a complete SSE frame.
    fn frame(&self, seq: u64, rows: &[Row]) -> Bytes {
        /// The board's JSON (a struct, so that the rows keep their field order).
        #[derive(Serialize)]
        struct Json<'a> {
            teams: &'a [Row],
            padding: &'a str,
        }
        let json = serde_json::to_string(&Json {
            teams: rows,
            padding: &self.padding,
        })
        .unwrap_or_default();
        Bytes::from(format!("id: {seq}\ndata: {json}\n\n"))
    }

    /// Applies a change to the rows, then encodes and broadcasts the board once.
    fn change<R>(&self, change: impl FnOnce(&mut Vec<Row>) -> R) -> R {
        let (result, frame) = {
            let mut rows = self.rows.lock().unwrap_or_else(|p| p.into_inner());
            let result = change(&mut rows.1);
            rows.0 += 1;
            (result, self.frame(rows.0, &rows.1))
        };
        self.frames.send_replace(frame);
        result
    }
}

async fn stream(State(board): State<Arc<Board>>) -> Response {
    let mut receiver = board.frames.subscribe();
    receiver.mark_changed();
    let frames = stream::unfold(receiver, |mut receiver| async move {
        receiver.changed().await.ok()?;
        let frame = receiver.borrow_and_update().clone();
        Some((Ok::<_, Infallible>(frame), receiver))
    });
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(frames),
    )
        .into_response()
}

async fn create(
    State(board): State<Arc<Board>>,
    axum::Json(body): axum::Json<Value>,
) -> (StatusCode, axum::Json<Value>) {
    let name = body["name"].as_str().unwrap_or("team").to_owned();
    let id = board.change(|rows| {
        let id = rows.len() + 1;
        rows.push(Row {
            rank: id,
            id,
            name: name.clone(),
            score: 0,
            incidents_detected: 0,
            incidents_fixed: 0,
            median_ttd_s: None,
            median_ttf_s: None,
        });
        id
    });
    (
        StatusCode::CREATED,
        axum::Json(json!({ "id": id, "name": name, "token": "bare" })),
    )
}

async fn adjust(
    State(board): State<Arc<Board>>,
    axum::Json(body): axum::Json<Value>,
) -> StatusCode {
    let team = body["team"].as_u64().unwrap_or(0);
    let points = body["points"].as_i64().unwrap_or(0);
    board.change(
        |rows| match rows.iter_mut().find(|row| row.id as u64 == team) {
            Some(row) => {
                row.score += points;
                StatusCode::CREATED
            }
            None => StatusCode::NOT_FOUND,
        },
    )
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(8090);
    let bytes: usize = args.next().and_then(|b| b.parse().ok()).unwrap_or(600);
    let graceful = args.next().as_deref() == Some("graceful");
    let body: &'static str =
        Box::leak(format!("{{\"teams\":\"{}\"}}", "x".repeat(bytes)).into_boxed_str());
    let (frames, _) = watch::channel(Bytes::new());
    let board = Arc::new(Board {
        rows: Mutex::new((0, Vec::new())),
        padding: "x".repeat(bytes),
        frames,
    });
    board.frames.send_replace(board.frame(0, &[]));
    let app = Router::new()
        .route(
            "/api/v1/scoreboard",
            get(move || async move { ([(header::CONTENT_TYPE, "application/json")], body) }),
        )
        .route("/api/v1/scoreboard/stream", get(stream))
        .route("/api/v1/teams", post(create))
        .route("/api/v1/judge/adjustments", post(adjust))
        .route("/api/v1/healthz", get(|| async { "ok" }))
        .with_state(board);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("bare axum on http://127.0.0.1:{port} (graceful shutdown: {graceful})");
    if graceful {
        axum::serve(listener, app)
            .with_graceful_shutdown(std::future::pending())
            .await
    } else {
        axum::serve(listener, app).await
    }
}
