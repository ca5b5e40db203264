//! Judge routes: the true timeline, each team's timeline, adjustments and verdicts.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use breakathon_game::{Ruling, TeamId};
use breakathon_sim::IncidentId;
use breakathon_sim::action::echo;
use serde_json::Value;

use crate::api::bodies::{AdjustmentBody, VerdictBody};
use crate::api::public::to_json;
use crate::auth::Judge;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiJson;
use crate::limits::MAX_MESSAGE_BYTES;
use crate::state::AppState;

/// The rulings a judge may give (`ruling` of `POST /judge/verdicts`).
const RULINGS: [&str; 4] = [
    "declaration_correct",
    "declaration_wrong",
    "reopen",
    "close",
];

/// Every incident of the true timeline with every team's status, TTD and TTF.
#[utoipa::path(get, path = "/api/v1/judge/incidents", tag = "judge",
    responses((status = 200, body = Value), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn incidents(State(state): State<AppState>, _: Judge) -> Result<Json<Value>, ApiError> {
    let incidents = state.read(|game| game.judge_incidents()).await?;
    to_json(&incidents)
}

/// One team's timeline: its declarations, actions, notifications and verdicts.
#[utoipa::path(get, path = "/api/v1/judge/teams/{id}/timeline", tag = "judge",
    params(("id" = u32, Path, description = "team id")),
    responses((status = 200, body = Value), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn timeline(
    State(state): State<AppState>,
    _: Judge,
    Path(id): Path<u32>,
) -> Result<Json<Value>, ApiError> {
    let timeline = state
        .read(move |game| game.team_timeline(TeamId(id)))
        .await??;
    to_json(&timeline)
}

fn check_reason(reason: &str) -> Result<(), ApiError> {
    if reason.trim().is_empty() || reason.len() > MAX_MESSAGE_BYTES {
        return Err(ApiError::bad_request(format!(
            "a reason has 1 to {MAX_MESSAGE_BYTES} bytes"
        )));
    }
    Ok(())
}

/// Adds or removes points with a written reason (a ledger entry).
#[utoipa::path(post, path = "/api/v1/judge/adjustments", tag = "judge", request_body = AdjustmentBody,
    responses((status = 201, body = Value), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn adjust(
    State(state): State<AppState>,
    _: Judge,
    ApiJson(body): ApiJson<AdjustmentBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    check_reason(&body.reason)?;
    let entry = state
        .write(move |game, _| game.adjust(TeamId(body.team), body.points, &body.reason))
        .await?;
    Ok((StatusCode::CREATED, to_json(&entry)?))
}

/// Overrules a verdict: mark a declaration correct or wrong, reopen or close an incident.
#[utoipa::path(post, path = "/api/v1/judge/verdicts", tag = "judge", request_body = VerdictBody,
    responses((status = 201, body = Value), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn verdict(
    State(state): State<AppState>,
    _: Judge,
    ApiJson(body): ApiJson<VerdictBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    check_reason(&body.reason)?;
    let mut ruling = serde_json::Map::new();
    ruling.insert("ruling".into(), Value::String(body.ruling.clone()));
    if let Some(declaration) = body.declaration {
        ruling.insert("declaration".into(), Value::from(declaration));
    }
    let ruling: Ruling = serde_json::from_value(Value::Object(ruling)).map_err(|error| {
        // serde names an unknown ruling in full: say which ones exist instead.
        let detail = if RULINGS.contains(&body.ruling.as_str()) {
            error.to_string()
        } else {
            format!("the rulings are: {}", RULINGS.join(", "))
        };
        ApiError::bad_request(format!("bad ruling `{}`: {detail}", echo(&body.ruling)))
    })?;
    state
        .write(move |game, _| {
            game.rule(
                TeamId(body.team),
                IncidentId(body.incident),
                ruling,
                &body.reason,
            )
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({"ruled": true})),
    ))
}
