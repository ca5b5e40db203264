//! Baseline for `docs/PERFORMANCE.md`: a bare axum server answering `GET /api/v1/scoreboard`
//! with a fixed JSON body of the same size as the real one, with no state, no auth and no
//! middleware. `cargo run --release -p breakathon-server --example bare -- PORT BYTES`.

use axum::Router;
use axum::http::header;
use axum::routing::get;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(8090);
    let bytes: usize = args.next().and_then(|b| b.parse().ok()).unwrap_or(600);
    let body: &'static str =
        Box::leak(format!("{{\"teams\":\"{}\"}}", "x".repeat(bytes)).into_boxed_str());
    let app = Router::new().route(
        "/api/v1/scoreboard",
        get(move || async move { ([(header::CONTENT_TYPE, "application/json")], body) }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("bare axum on http://127.0.0.1:{port}");
    axum::serve(listener, app).await
}
