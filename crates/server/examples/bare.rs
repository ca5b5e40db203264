//! Baseline for `docs/PERFORMANCE.md`: a bare axum server with no game, no auth and no
//! middleware. `cargo run --release -p breakathon-server --example bare -- PORT BYTES`.
//!
//! - `GET /api/v1/scoreboard`: a fixed JSON body of BYTES bytes of padding (plus 12).
//! - `GET /api/v1/scoreboard/stream`: a bare broadcast server, for the `serve_load fanout`
//!   generator: server-sent events of a board (the team names so far and BYTES of padding),
//!   encoded once per change into a shared SSE frame and sent to every client from a `watch`
//!   channel.
//! - `POST /api/v1/teams {"name": ...}`: adds a name to that board and broadcasts it.
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
use serde_json::{Value, json};
use tokio::sync::watch;

/// The broadcast board.
struct Board {
    names: Mutex<Vec<String>>,
    padding: String,
    frames: watch::Sender<Bytes>,
}

impl Board {
    /// Encodes the board once as a complete SSE frame.
    fn frame(&self, names: &[String]) -> Bytes {
        let json = json!({ "teams": names, "padding": self.padding }).to_string();
        Bytes::from(format!("id: {}\ndata: {json}\n\n", names.len()))
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
    let (id, frame) = {
        let mut names = board.names.lock().unwrap_or_else(|p| p.into_inner());
        names.push(name.clone());
        (names.len(), board.frame(&names))
    };
    board.frames.send_replace(frame);
    (
        StatusCode::CREATED,
        axum::Json(json!({ "id": id, "name": name, "token": "bare" })),
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
        names: Mutex::new(Vec::new()),
        padding: "x".repeat(bytes),
        frames,
    });
    board.frames.send_replace(board.frame(&[]));
    let app = Router::new()
        .route(
            "/api/v1/scoreboard",
            get(move || async move { ([(header::CONTENT_TYPE, "application/json")], body) }),
        )
        .route("/api/v1/scoreboard/stream", get(stream))
        .route("/api/v1/teams", post(create))
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
