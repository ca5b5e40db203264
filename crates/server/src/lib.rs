//! The Breakathon game server: the JSON API per role under `/api/v1`, live streams (SSE),
//! Prometheus metrics, the OpenAPI document and the embedded web pages, on axum.
//!
//! Layout: [`state`] holds the [`breakathon_game::Game`] behind a mutex; handlers in [`api`]
//! run game calls on the blocking pool through [`state::AppState::read`] / `write`, which also
//! publish the pre-encoded scoreboard to a `watch` channel that streams share; [`ticker`]
//! advances the clock; [`router::app`] assembles the routes (all documented through utoipa);
//! [`serve`] runs it until the shutdown token is cancelled.

pub mod api;
pub mod assets;
pub mod auth;
pub mod charts;
pub mod demo;
pub mod error;
pub mod extract;
pub mod limits;
pub mod middleware;
pub mod openapi;
pub mod prometheus;
pub mod router;
pub mod state;
pub mod stats;
pub mod ticker;
pub mod tokens;

pub use breakathon_game::Access;
pub use error::ApiError;
pub use router::app;
pub use state::{AppState, ServerConfig};

/// Serves `state` on `listener` until its shutdown token is cancelled, then stops the ticker
/// and ends every stream. The caller drops the state afterwards, which closes the game.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    let ticker = tokio::spawn(ticker::run(state.clone()));
    let shutdown = state.shutdown().clone();
    let streams = state.clone();
    // `into_make_service`: each connection gets a reference-counted clone of the router.
    // Serving the `Router` itself would rebuild every route for every connection (axum
    // applies the state to all of them eagerly per connection), which with this many routes
    // costs more than answering a scoreboard request.
    let result = axum::serve(listener, app(state.clone()).into_make_service())
        .with_graceful_shutdown(async move {
            shutdown.cancelled().await;
            streams.end_streams();
        })
        .await;
    state.shutdown().cancel();
    let _ = ticker.await;
    result
}
