//! Public routes: game clock, scoreboard, rules, announcements, post-game incidents.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use breakathon_game::Principal;
use serde_json::Value;

use crate::api::bodies::{FaultClassBody, Health, RulesBody};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Content type of the pre-encoded scoreboard.
const JSON_CONTENT_TYPE: &str = "application/json";

/// The game's clock and state (`state_hash` is added for organizers).
#[utoipa::path(get, path = "/api/v1/game", tag = "public",
    responses((status = 200, description = "state, elapsed_s, remaining_s, speed, frozen, tick_ms, behind, slipped_s, failure (+ state_hash for organizers)", body = Value)))]
pub async fn game(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let organizer = matches!(caller.0, Some(Principal::Organizer));
    let now_ms = state.now_ms();
    let value = state
        .read(move |game| {
            let mut value = serde_json::to_value(game.status())?;
            if let Value::Object(map) = &mut value {
                let tick_ms = game.scenario().tick.as_millis();
                map.insert("tick_ms".into(), Value::from(tick_ms));
                // The machine does not keep up with the speed: the clock slips.
                map.insert("behind".into(), Value::from(game.clock_behind(now_ms)));
                let slipped_ms = game.clock_slipped_ticks().saturating_mul(tick_ms);
                map.insert("slipped_s".into(), Value::from(slipped_ms as f64 / 1000.0));
                map.insert(
                    "failure".into(),
                    game.failure().map_or(Value::Null, Value::from),
                );
                if organizer {
                    map.insert(
                        "state_hash".into(),
                        Value::from(format!("{:016x}", game.state_hash())),
                    );
                }
            }
            Ok::<_, serde_json::Error>(value)
        })
        .await?
        .map_err(|error| ApiError::internal(error.to_string()))?;
    Ok(Json(value))
}

/// The scoreboard: frozen while frozen, live for organizer and judge tokens.
#[utoipa::path(get, path = "/api/v1/scoreboard", tag = "public",
    responses((status = 200, description = "teams: rank, id, name, score, incidents_detected, incidents_fixed, median_ttd_s, median_ttf_s", body = Value)))]
pub async fn scoreboard(State(state): State<AppState>, caller: Caller) -> Response {
    // The pre-encoded bytes are shared with every other reader, not copied.
    let json = state.scoreboard_json(caller.is_staff());
    let mut response = Body::from(json).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    response
}

/// Every team's score over time (frozen view while frozen, live for staff).
#[utoipa::path(get, path = "/api/v1/scoreboard/history", tag = "public",
    responses((status = 200, description = "score series per team", body = Value)))]
pub async fn scoreboard_history(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let live = caller.is_staff();
    let history = state
        .read(move |game| serde_json::to_value(game.score_history(live)))
        .await?;
    history
        .map(Json)
        .map_err(|error| ApiError::internal(error.to_string()))
}

/// The rules with this scenario's weights, and the fault classes teams may declare.
#[utoipa::path(get, path = "/api/v1/rules", tag = "public",
    responses((status = 200, body = RulesBody)))]
pub async fn rules(State(state): State<AppState>) -> Result<Json<RulesBody>, ApiError> {
    let markdown = state.read(|game| game.rules_markdown()).await?;
    Ok(Json(RulesBody {
        markdown,
        fault_classes: FaultClassBody::all(),
    }))
}

/// Announcements to everyone, oldest first.
#[utoipa::path(get, path = "/api/v1/announcements", tag = "public",
    responses((status = 200, body = Value)))]
pub async fn announcements(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let value = state
        .read(|game| serde_json::to_value(game.announcements()))
        .await?;
    value
        .map(Json)
        .map_err(|error| ApiError::internal(error.to_string()))
}

/// The per-incident grid and the true fault timeline (after Finish only).
#[utoipa::path(get, path = "/api/v1/incidents", tag = "public",
    responses((status = 200, body = Value), (status = 409, description = "the game is not finished", body = ErrorBody)))]
pub async fn incidents(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let live = caller.is_staff();
    let grid = state.read(move |game| game.incident_grid(live)).await??;
    to_json(&grid)
}

/// Health check: 503 once the game stopped accepting commands (its journal could not be
/// written or synced; a restart is needed once that is fixed).
#[utoipa::path(get, path = "/api/v1/healthz", tag = "public",
    responses((status = 200, body = Health),
        (status = 503, description = "the game stopped: its journal could not be written", body = ErrorBody)))]
pub async fn healthz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    let failure = tokio::task::spawn_blocking(move || state.failure())
        .await
        .map_err(|error| ApiError::internal(format!("game task failed: {error}")))?;
    match failure {
        Some(why) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "stopped",
            format!(
                "the game stopped accepting commands: {why}; restart the server once that is \
                 fixed"
            ),
        )),
        None => Ok(Json(Health { status: "ok" })),
    }
}

/// Serializes a view for a JSON response.
pub fn to_json<T: serde::Serialize>(value: &T) -> Result<Json<Value>, ApiError> {
    serde_json::to_value(value)
        .map(Json)
        .map_err(|error| ApiError::internal(error.to_string()))
}
