//! Bearer-token authentication: extractors that resolve a token to a role and refuse the
//! wrong one (401 without a valid token, 403 with a token of another role).

use axum::extract::FromRequestParts;
use std::sync::atomic::Ordering;

use axum::http::Method;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use breakathon_game::{Principal, TeamId};

use crate::error::ApiError;
use crate::state::AppState;

/// Longest token accepted before looking it up.
pub const MAX_TOKEN_BYTES: usize = 256;

/// The bearer token of a request, if any (`Authorization: Bearer TOKEN`; streams may also pass
/// `?token=TOKEN` because browsers' EventSource cannot set headers).
pub fn bearer_token(parts: &Parts) -> Option<String> {
    if let Some(value) = parts.headers.get(AUTHORIZATION) {
        let text = value.to_str().ok()?;
        let (scheme, token) = text.split_once(' ')?;
        if scheme.eq_ignore_ascii_case("bearer") {
            return Some(token.trim().to_owned());
        }
        return None;
    }
    if parts.uri.path().ends_with("/stream") {
        let query = parts.uri.query()?;
        for pair in query.split('&') {
            if let Some(token) = pair.strip_prefix("token=") {
                return Some(token.to_owned());
            }
        }
    }
    None
}

/// Resolves the request's token: `Ok(None)` without one, 401 for an unknown one, 429 when a
/// write exceeds the principal's budget.
async fn principal(parts: &Parts, state: &AppState) -> Result<Option<Principal>, ApiError> {
    let Some(token) = bearer_token(parts) else {
        return Ok(None);
    };
    if token.is_empty() || token.len() > MAX_TOKEN_BYTES {
        return Err(ApiError::unauthorized("the token is not valid"));
    }
    let Some(principal) = state.authenticate(token).await? else {
        return Err(ApiError::unauthorized("the token is not valid"));
    };
    let is_write = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    if is_write
        && !state
            .limiter()
            .try_acquire(&rate_key(principal), state.now_ms())
    {
        state.stats().rate_limited.fetch_add(1, Ordering::Relaxed);
        return Err(ApiError::rate_limited(
            "too many writes with this token; retry in a second",
        ));
    }
    Ok(Some(principal))
}

/// The rate limiter's key: one budget per principal (a team's members share one).
fn rate_key(principal: Principal) -> String {
    match principal {
        Principal::Organizer => "organizer".into(),
        Principal::Judge => "judge".into(),
        Principal::Team(team) => format!("team:{}", team.0),
    }
}

fn missing() -> ApiError {
    ApiError::unauthorized("this route needs `Authorization: Bearer TOKEN`")
}

/// Whoever is calling, possibly nobody (public routes that show more to staff).
#[derive(Debug, Clone, Copy)]
pub struct Caller(pub Option<Principal>);

impl Caller {
    /// Organizers and judges see the live scoreboard even while it is frozen.
    pub fn is_staff(&self) -> bool {
        matches!(self.0, Some(Principal::Organizer | Principal::Judge))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        principal(parts, state).await.map(Caller)
    }
}

/// An organizer's request.
#[derive(Debug, Clone, Copy)]
pub struct Organizer;

impl FromRequestParts<AppState> for Organizer {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match principal(parts, state).await? {
            Some(Principal::Organizer) => Ok(Organizer),
            Some(_) => Err(ApiError::forbidden("this route is for organizers")),
            None => Err(missing()),
        }
    }
}

/// A judge's request.
#[derive(Debug, Clone, Copy)]
pub struct Judge;

impl FromRequestParts<AppState> for Judge {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match principal(parts, state).await? {
            Some(Principal::Judge) => Ok(Judge),
            Some(_) => Err(ApiError::forbidden("this route is for judges")),
            None => Err(missing()),
        }
    }
}

/// A team's request, carrying the team the token belongs to.
#[derive(Debug, Clone, Copy)]
pub struct Team(pub TeamId);

impl FromRequestParts<AppState> for Team {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match principal(parts, state).await? {
            Some(Principal::Team(team)) => Ok(Team(team)),
            Some(_) => Err(ApiError::forbidden("this route is for teams")),
            None => Err(missing()),
        }
    }
}
