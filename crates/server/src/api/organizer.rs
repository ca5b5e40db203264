//! Organizer routes: teams, clock control, freeze, announcements, scenario, export.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use breakathon_game::{Export, ExportFormat, Game, GameError, TeamId};
use serde_json::Value;

use crate::api::bodies::{
    AnnouncementBody, CreateTeamBody, ExportQuery, SecondsBody, TeamTokenBody,
};
use crate::api::public::to_json;
use crate::auth::Organizer;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery};
use crate::limits::{MAX_MESSAGE_BYTES, MAX_TEAM_NAME_CHARS};
use crate::state::AppState;

/// Creates a team; its token is shown only in this answer.
#[utoipa::path(post, path = "/api/v1/teams", tag = "organizer", request_body = CreateTeamBody,
    responses((status = 201, body = TeamTokenBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_team(
    State(state): State<AppState>,
    _: Organizer,
    ApiJson(body): ApiJson<CreateTeamBody>,
) -> Result<(StatusCode, Json<TeamTokenBody>), ApiError> {
    let name = body.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > MAX_TEAM_NAME_CHARS {
        return Err(ApiError::bad_request(format!(
            "a team name has 1 to {MAX_TEAM_NAME_CHARS} characters"
        )));
    }
    let (info, token) = state.write(move |game, _| game.create_team(&name)).await?;
    Ok((
        StatusCode::CREATED,
        Json(TeamTokenBody {
            id: info.id.0,
            name: info.name,
            token,
        }),
    ))
}

/// Lists the teams.
#[utoipa::path(get, path = "/api/v1/teams", tag = "organizer",
    responses((status = 200, body = Value)), security(("bearer" = [])))]
pub async fn list_teams(
    State(state): State<AppState>,
    _: Organizer,
) -> Result<Json<Value>, ApiError> {
    let teams = state.read(|game| game.teams()).await?;
    to_json(&teams)
}

/// Issues a new token for a team (the old one stops working).
#[utoipa::path(post, path = "/api/v1/teams/{id}/rotate", tag = "organizer",
    params(("id" = u32, Path, description = "team id")),
    responses((status = 200, body = TeamTokenBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn rotate_team(
    State(state): State<AppState>,
    _: Organizer,
    Path(id): Path<u32>,
) -> Result<Json<TeamTokenBody>, ApiError> {
    let (name, token) = state
        .write(move |game, _| {
            let token = game.rotate_token(TeamId(id))?;
            let name = team_name(game, TeamId(id));
            Ok((name, token))
        })
        .await?;
    state.forget_tokens();
    Ok(Json(TeamTokenBody { id, name, token }))
}

/// Removes a team.
#[utoipa::path(delete, path = "/api/v1/teams/{id}", tag = "organizer",
    params(("id" = u32, Path, description = "team id")),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn remove_team(
    State(state): State<AppState>,
    _: Organizer,
    Path(id): Path<u32>,
) -> Result<StatusCode, ApiError> {
    state
        .write(move |game, _| game.remove_team(TeamId(id)))
        .await?;
    state.forget_tokens();
    Ok(StatusCode::NO_CONTENT)
}

fn team_name(game: &Game, team: TeamId) -> String {
    game.teams()
        .into_iter()
        .find(|info| info.id == team)
        .map(|info| info.name)
        .unwrap_or_default()
}

/// The scenario (with its fault script) and its check diagnostics.
#[utoipa::path(get, path = "/api/v1/scenario", tag = "organizer",
    responses((status = 200, description = "scenario and diagnostics", body = Value)),
    security(("bearer" = [])))]
pub async fn scenario(
    State(state): State<AppState>,
    _: Organizer,
) -> Result<Json<Value>, ApiError> {
    let value = state
        .read(|game| {
            let report = breakathon_scenario::check("scenario", game.scenario_source());
            serde_json::to_value(serde_json::json!({
                "scenario": game.scenario(),
                "diagnostics": report.records(),
            }))
        })
        .await?;
    value
        .map(Json)
        .map_err(|error| ApiError::internal(error.to_string()))
}

/// Runs a clock command and answers with the new game status.
async fn clock(
    state: AppState,
    command: impl FnOnce(&mut Game, u64) -> Result<(), GameError> + Send + 'static,
) -> Result<Json<Value>, ApiError> {
    let status = state
        .write(move |game, now_ms| {
            command(game, now_ms)?;
            Ok(game.status())
        })
        .await?;
    to_json(&status)
}

/// Starts the game (from the lobby).
#[utoipa::path(post, path = "/api/v1/game/start", tag = "organizer",
    responses((status = 200, body = Value), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn start(State(state): State<AppState>, _: Organizer) -> Result<Json<Value>, ApiError> {
    clock(state, |game, now_ms| game.start(now_ms)).await
}

/// Pauses the simulation and every timer.
#[utoipa::path(post, path = "/api/v1/game/pause", tag = "organizer",
    responses((status = 200, body = Value), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn pause(State(state): State<AppState>, _: Organizer) -> Result<Json<Value>, ApiError> {
    clock(state, |game, now_ms| game.pause(now_ms)).await
}

/// Resumes a paused game.
#[utoipa::path(post, path = "/api/v1/game/resume", tag = "organizer",
    responses((status = 200, body = Value), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn resume(State(state): State<AppState>, _: Organizer) -> Result<Json<Value>, ApiError> {
    clock(state, |game, now_ms| game.resume(now_ms)).await
}

/// Ends the game and reveals the true timeline.
#[utoipa::path(post, path = "/api/v1/game/finish", tag = "organizer",
    responses((status = 200, body = Value), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn finish(State(state): State<AppState>, _: Organizer) -> Result<Json<Value>, ApiError> {
    clock(state, |game, now_ms| game.finish(now_ms)).await
}

/// Adds simulated seconds at the end of the game.
#[utoipa::path(post, path = "/api/v1/game/extend", tag = "organizer", request_body = SecondsBody,
    responses((status = 200, body = Value), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn extend(
    State(state): State<AppState>,
    _: Organizer,
    ApiJson(body): ApiJson<SecondsBody>,
) -> Result<Json<Value>, ApiError> {
    clock(state, move |game, _| game.extend(body.seconds)).await
}

/// Freezes the public scoreboard.
#[utoipa::path(post, path = "/api/v1/game/freeze", tag = "organizer",
    responses((status = 200, body = Value), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn freeze(State(state): State<AppState>, _: Organizer) -> Result<Json<Value>, ApiError> {
    clock(state, |game, _| game.freeze()).await
}

/// Unfreezes the public scoreboard (reveals the standings).
#[utoipa::path(post, path = "/api/v1/game/unfreeze", tag = "organizer",
    responses((status = 200, body = Value), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn unfreeze(
    State(state): State<AppState>,
    _: Organizer,
) -> Result<Json<Value>, ApiError> {
    clock(state, |game, _| game.unfreeze()).await
}

/// Advances the manual clock by simulated seconds (manual clock only).
#[utoipa::path(post, path = "/api/v1/game/advance", tag = "organizer", request_body = SecondsBody,
    responses((status = 200, body = Value), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn advance(
    State(state): State<AppState>,
    _: Organizer,
    ApiJson(body): ApiJson<SecondsBody>,
) -> Result<Json<Value>, ApiError> {
    clock(state, move |game, _| game.advance(body.seconds)).await
}

/// Posts an announcement to everyone.
#[utoipa::path(post, path = "/api/v1/announcements", tag = "organizer", request_body = AnnouncementBody,
    responses((status = 201, body = Value), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn announce(
    State(state): State<AppState>,
    _: Organizer,
    ApiJson(body): ApiJson<AnnouncementBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if body.message.trim().is_empty() || body.message.len() > MAX_MESSAGE_BYTES {
        return Err(ApiError::bad_request(format!(
            "an announcement has 1 to {MAX_MESSAGE_BYTES} bytes"
        )));
    }
    let announcement = state
        .write(move |game, _| game.announce(&body.message))
        .await?;
    Ok((StatusCode::CREATED, to_json(&announcement)?))
}

/// Exports the results: `format=json` (one document) or `format=csv` (`file=` picks one of
/// the CSV files; the `X-Export-Files` header lists them).
#[utoipa::path(get, path = "/api/v1/export", tag = "organizer", params(ExportQuery),
    responses((status = 200, description = "JSON document or CSV file", body = String),
        (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn export(
    State(state): State<AppState>,
    _: Organizer,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let format = match query.format.as_deref().unwrap_or("json") {
        "json" => ExportFormat::Json,
        "csv" => ExportFormat::Csv,
        other => {
            return Err(ApiError::bad_request(format!(
                "unknown export format `{other}`: use `json` or `csv`"
            )));
        }
    };
    let export = state.read(move |game| game.export(format)).await??;
    match export {
        Export::Json(text) => {
            Ok(([(header::CONTENT_TYPE, "application/json")], text).into_response())
        }
        Export::Csv(files) => {
            let names = files
                .iter()
                .map(|(name, _)| name.as_str())
                .collect::<Vec<_>>()
                .join(",");
            let chosen = match &query.file {
                Some(wanted) => files.iter().find(|(name, _)| name == wanted),
                None => files.first(),
            };
            let Some((name, text)) = chosen else {
                return Err(ApiError::not_found(format!(
                    "no such export file; the files are: {names}"
                )));
            };
            Ok((
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{name}\""),
                    ),
                    (
                        header::HeaderName::from_static("x-export-files"),
                        names.clone(),
                    ),
                ],
                text.clone(),
            )
                .into_response())
        }
    }
}
