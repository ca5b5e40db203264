//! Cross-cutting request handling: request timeouts, counting, and JSON answers for unknown
//! routes. (Write rate limits are applied per principal in [`crate::auth`].)

use std::sync::atomic::Ordering;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::limits::REQUEST_TIMEOUT;
use crate::state::AppState;

/// Counts requests and error responses.
pub async fn count(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let stats = state.stats();
    stats.requests.fetch_add(1, Ordering::Relaxed);
    if response.status().is_client_error() || response.status().is_server_error() {
        stats.errors.fetch_add(1, Ordering::Relaxed);
    }
    response
}

/// Answers 503 when a request route takes longer than [`REQUEST_TIMEOUT`] (streams are
/// mounted without this layer).
pub async fn timeout(request: Request, next: Next) -> Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::timeout("the request took too long").into_response(),
    }
}

/// JSON 404 for paths no route serves.
pub async fn not_found(request: Request) -> ApiError {
    ApiError::not_found(format!(
        "no route for {} {}",
        request.method(),
        request.uri().path()
    ))
}

/// JSON 405 for known paths with another method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}
