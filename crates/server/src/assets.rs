//! The web pages (`web/`), embedded in the binary with rust-embed.

use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

use crate::error::ApiError;

/// Everything the pages load comes from this server.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'";

/// Files of the `web/` folder at the workspace root.
#[derive(RustEmbed)]
#[folder = "../../web/"]
pub struct WebAssets;

/// Serves one embedded file with its content type, or 404.
pub fn file(path: &str) -> Response {
    match WebAssets::get(path) {
        Some(file) => {
            let mime = file.metadata.mimetype().to_owned();
            let mut response = Response::new(Body::from(file.data.into_owned()));
            if let Ok(value) = HeaderValue::from_str(&mime) {
                response.headers_mut().insert(header::CONTENT_TYPE, value);
            }
            let headers = response.headers_mut();
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CONTENT_SECURITY_POLICY),
            );
            headers.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            response
        }
        None => (
            StatusCode::NOT_FOUND,
            ApiError::not_found(format!("no page or asset `{path}`")),
        )
            .into_response(),
    }
}

/// `GET /`: the public scoreboard.
#[utoipa::path(get, path = "/", tag = "pages",
    responses((status = 200, description = "The public scoreboard page.", content_type = "text/html", body = String)))]
pub async fn scoreboard_page() -> Response {
    file("index.html")
}

/// `GET /team`: the team console.
#[utoipa::path(get, path = "/team", tag = "pages",
    responses((status = 200, description = "The team console page.", content_type = "text/html", body = String)))]
pub async fn team_page() -> Response {
    file("team.html")
}

/// `GET /judge`: the judge console.
#[utoipa::path(get, path = "/judge", tag = "pages",
    responses((status = 200, description = "The judge console page.", content_type = "text/html", body = String)))]
pub async fn judge_page() -> Response {
    file("judge.html")
}

/// `GET /organizer`: the organizer console.
#[utoipa::path(get, path = "/organizer", tag = "pages",
    responses((status = 200, description = "The organizer console page.", content_type = "text/html", body = String)))]
pub async fn organizer_page() -> Response {
    file("organizer.html")
}

/// `GET /assets/{*path}`: any other file of `web/`.
#[utoipa::path(get, path = "/assets/{*path}", tag = "pages",
    params(("path" = String, Path, description = "file under web/")),
    responses((status = 200, description = "the file", body = String), (status = 404, body = crate::error::ErrorBody)))]
pub async fn asset(Path(path): Path<String>) -> Response {
    if path.split('/').any(|part| part == "..") {
        return ApiError::bad_request("asset paths may not contain `..`").into_response();
    }
    file(&path)
}
