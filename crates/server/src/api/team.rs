//! Team routes: the team's own fleet and telemetry, declarations, actions, notifications,
//! hints, incidents, ledger and debrief. The team always comes from the token.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use breakathon_game::{Declaration, DeclaredTarget, Notification, TeamId};
use breakathon_scenario::FaultClass;
use breakathon_sim::action::echo;
use breakathon_sim::{Action, ActionParams};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::api::bodies::{ActionBody, DeclarationBody, LogsQuery, MetricsQuery, NotificationBody};
use crate::api::public::to_json;
use crate::auth::Team;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery};
use crate::limits::{MAX_LOG_LINES, MAX_MESSAGE_BYTES};
use crate::state::AppState;

/// Parses a snake_case name into one of the vocabulary enums, with a clear error (the name
/// echoed at most [`breakathon_sim::action::MAX_ECHO_CHARS`] characters long).
pub fn parse_name<T: DeserializeOwned>(what: &str, name: &str) -> Result<T, ApiError> {
    serde_json::from_value(Value::String(name.to_owned()))
        .map_err(|_| ApiError::bad_request(format!("unknown {what} `{}`", echo(name))))
}

/// Parses a fault class; the error lists the declarable ones.
fn parse_fault_class(name: &str) -> Result<FaultClass, ApiError> {
    parse_name("fault class", name).map_err(|_| {
        let known: Vec<&str> = FaultClass::ALL.into_iter().map(FaultClass::name).collect();
        ApiError::bad_request(format!(
            "unknown fault class `{}`; the fault classes are: {}",
            echo(name),
            known.join(", ")
        ))
    })
}

/// Simulated seconds to the first tick at or after them.
fn seconds_to_tick(seconds: u64, tick_ms: u64) -> u64 {
    seconds.saturating_mul(1000) / tick_ms.max(1)
}

/// Reads the team's world through `f`.
async fn world<R, F>(state: &AppState, team: TeamId, f: F) -> Result<R, ApiError>
where
    R: Send + 'static,
    F: FnOnce(&breakathon_sim::Simulation) -> Result<R, ApiError> + Send + 'static,
{
    state
        .read_team(team, move |game| {
            let world = game.world(team)?;
            f(world)
        })
        .await?
}

/// The calling team's id and name.
#[utoipa::path(get, path = "/api/v1/team/me", tag = "team",
    responses((status = 200, body = Value), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn me(State(state): State<AppState>, Team(team): Team) -> Result<Json<Value>, ApiError> {
    let info = state
        .read_team(team, move |game| {
            game.teams().into_iter().find(|info| info.id == team)
        })
        .await?
        .ok_or_else(|| ApiError::not_found("this team was removed"))?;
    to_json(&info)
}

/// The team's fleet: services, zones, instances, dependencies, health and current metrics.
#[utoipa::path(get, path = "/api/v1/team/fleet", tag = "team",
    responses((status = 200, body = Value), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn fleet(
    State(state): State<AppState>,
    Team(team): Team,
) -> Result<Json<Value>, ApiError> {
    let fleet = world(&state, team, |world| Ok(world.fleet())).await?;
    to_json(&fleet)
}

/// A service's metric history.
#[utoipa::path(get, path = "/api/v1/team/metrics", tag = "team", params(MetricsQuery),
    responses((status = 200, body = Value), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn metrics(
    State(state): State<AppState>,
    Team(team): Team,
    ApiQuery(query): ApiQuery<MetricsQuery>,
) -> Result<Json<Value>, ApiError> {
    let points = world(&state, team, move |world| {
        let since_tick = seconds_to_tick(query.since.unwrap_or(0), world.tick_ms());
        world
            .metrics(&query.service, since_tick)
            .map_err(|_| ApiError::not_found(format!("unknown service `{}`", echo(&query.service))))
    })
    .await?;
    to_json(&points)
}

/// Log lines, newest last, filtered by service and text.
#[utoipa::path(get, path = "/api/v1/team/logs", tag = "team", params(LogsQuery),
    responses((status = 200, body = Value)), security(("bearer" = [])))]
pub async fn logs(
    State(state): State<AppState>,
    Team(team): Team,
    ApiQuery(query): ApiQuery<LogsQuery>,
) -> Result<Json<Value>, ApiError> {
    let lines = world(&state, team, move |world| {
        let since_tick = seconds_to_tick(query.since.unwrap_or(0), world.tick_ms());
        Ok(world.logs(
            query.service.as_deref(),
            query.q.as_deref(),
            since_tick,
            query.limit.unwrap_or(MAX_LOG_LINES).min(MAX_LOG_LINES),
        ))
    })
    .await?;
    to_json(&lines)
}

/// Alerts firing and recently resolved.
#[utoipa::path(get, path = "/api/v1/team/alerts", tag = "team",
    responses((status = 200, body = Value)), security(("bearer" = [])))]
pub async fn alerts(
    State(state): State<AppState>,
    Team(team): Team,
) -> Result<Json<Value>, ApiError> {
    let alerts = world(&state, team, |world| Ok(world.alerts())).await?;
    to_json(&alerts)
}

/// Customer complaints.
#[utoipa::path(get, path = "/api/v1/team/complaints", tag = "team",
    responses((status = 200, body = Value)), security(("bearer" = [])))]
pub async fn complaints(
    State(state): State<AppState>,
    Team(team): Team,
) -> Result<Json<Value>, ApiError> {
    let complaints = world(&state, team, |world| Ok(world.complaints().to_vec())).await?;
    to_json(&complaints)
}

/// Declares an incident: "this service (or zone) has this fault class". Answers the verdict.
#[utoipa::path(post, path = "/api/v1/team/declarations", tag = "team", request_body = DeclarationBody,
    responses((status = 200, description = "the verdict", body = Value), (status = 400, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn declare(
    State(state): State<AppState>,
    Team(team): Team,
    ApiJson(body): ApiJson<DeclarationBody>,
) -> Result<Json<Value>, ApiError> {
    let target = match (body.service, body.zone) {
        (Some(service), None) => DeclaredTarget::Service(service),
        (None, Some(zone)) => DeclaredTarget::Zone(zone),
        _ => {
            return Err(ApiError::bad_request(
                "name exactly one of `service` or `zone`",
            ));
        }
    };
    let class = parse_fault_class(&body.fault)?;
    let declaration = Declaration { target, class };
    let outcome = state
        .write_team(team, move |game, _| game.declare(team, declaration))
        .await?;
    to_json(&outcome)
}

/// Acts on the fleet; the action applies at the start of the next tick.
#[utoipa::path(post, path = "/api/v1/team/actions", tag = "team", request_body = ActionBody,
    responses((status = 202, description = "accepted with the tick it applies at", body = Value),
        (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn act(
    State(state): State<AppState>,
    Team(team): Team,
    ApiJson(body): ApiJson<ActionBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let action = Action {
        kind: parse_name("action", &body.action)?,
        service: body.service,
        instance: body.instance,
        zone: body.zone,
        params: ActionParams {
            count: body.params.count,
            version: body.params.version,
            key: body.params.key,
            value: body.params.value,
            flag: body.params.flag,
            enabled: body.params.enabled,
            level_percent: body.params.level_percent,
        },
    };
    let accepted = state
        .write_team(team, move |game, _| game.act(team, action))
        .await?;
    Ok((StatusCode::ACCEPTED, to_json(&accepted)?))
}

/// Tells stakeholders (customer service, sales...) about an incident.
#[utoipa::path(post, path = "/api/v1/team/notifications", tag = "team", request_body = NotificationBody,
    responses((status = 201, body = Value), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn notify(
    State(state): State<AppState>,
    Team(team): Team,
    ApiJson(body): ApiJson<NotificationBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if body.message.len() > MAX_MESSAGE_BYTES {
        return Err(ApiError::bad_request(format!(
            "a notification has at most {MAX_MESSAGE_BYTES} bytes"
        )));
    }
    let notification = Notification {
        audience: parse_name("audience", &body.audience)?,
        message: body.message,
        service: body.service,
        zone: body.zone,
    };
    state
        .write_team(team, move |game, _| game.notify(team, notification))
        .await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({"sent": true}))))
}

/// Hints on offer, with their cost and (once taken) their text.
#[utoipa::path(get, path = "/api/v1/team/hints", tag = "team",
    responses((status = 200, body = Value)), security(("bearer" = [])))]
pub async fn hints(
    State(state): State<AppState>,
    Team(team): Team,
) -> Result<Json<Value>, ApiError> {
    let hints = state.read_team(team, move |game| game.hints(team)).await?;
    to_json(&hints)
}

/// Takes (buys) a hint.
#[utoipa::path(post, path = "/api/v1/team/hints/{id}/take", tag = "team",
    params(("id" = u32, Path, description = "hint id")),
    responses((status = 200, body = Value), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn take_hint(
    State(state): State<AppState>,
    Team(team): Team,
    Path(id): Path<u32>,
) -> Result<Json<Value>, ApiError> {
    let hint = state
        .write_team(team, move |game, _| game.take_hint(team, id))
        .await?;
    to_json(&hint)
}

/// The team's declared incidents with TTD, TTF and status.
#[utoipa::path(get, path = "/api/v1/team/incidents", tag = "team",
    responses((status = 200, body = Value)), security(("bearer" = [])))]
pub async fn incidents(
    State(state): State<AppState>,
    Team(team): Team,
) -> Result<Json<Value>, ApiError> {
    let incidents = state
        .read_team(team, move |game| game.team_incidents(team))
        .await??;
    to_json(&incidents)
}

/// Every change of the team's score with its reason and tick.
#[utoipa::path(get, path = "/api/v1/team/ledger", tag = "team",
    responses((status = 200, body = Value)), security(("bearer" = [])))]
pub async fn ledger(
    State(state): State<AppState>,
    Team(team): Team,
) -> Result<Json<Value>, ApiError> {
    let ledger = state
        .read_team(team, move |game| game.ledger(team))
        .await??;
    to_json(&ledger)
}

/// What broke when, what the team did, what it cost (after Finish only).
#[utoipa::path(get, path = "/api/v1/team/debrief", tag = "team",
    responses((status = 200, body = Value), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn debrief(
    State(state): State<AppState>,
    Team(team): Team,
) -> Result<Json<Value>, ApiError> {
    let debrief = state
        .read_team(team, move |game| game.debrief(team))
        .await??;
    to_json(&debrief)
}
