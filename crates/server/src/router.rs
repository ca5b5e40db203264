//! The routes, assembled once: every route is registered through utoipa-axum so that the
//! OpenAPI document and the router cannot drift apart.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::{charts, judge, organizer, public, stream, team};
use crate::limits::MAX_BODY_BYTES;
use crate::middleware;
use crate::openapi::{self, ApiDoc};
use crate::state::AppState;
use crate::{assets, prometheus};

/// Every route with its OpenAPI description (state not yet attached).
pub fn api_router() -> OpenApiRouter<AppState> {
    let requests = OpenApiRouter::with_openapi(ApiDoc::openapi())
        // public
        .routes(routes!(public::game))
        .routes(routes!(public::scoreboard))
        .routes(routes!(public::scoreboard_history))
        .routes(routes!(public::rules))
        .routes(routes!(public::announcements, organizer::announce))
        .routes(routes!(public::incidents))
        .routes(routes!(public::healthz))
        .routes(routes!(charts::score_chart))
        .routes(routes!(openapi::openapi_json))
        // organizer
        .routes(routes!(organizer::list_teams, organizer::create_team))
        .routes(routes!(organizer::rotate_team))
        .routes(routes!(organizer::remove_team))
        .routes(routes!(organizer::scenario))
        .routes(routes!(organizer::start))
        .routes(routes!(organizer::pause))
        .routes(routes!(organizer::resume))
        .routes(routes!(organizer::finish))
        .routes(routes!(organizer::extend))
        .routes(routes!(organizer::freeze))
        .routes(routes!(organizer::unfreeze))
        .routes(routes!(organizer::advance))
        .routes(routes!(organizer::export))
        // team
        .routes(routes!(team::me))
        .routes(routes!(team::fleet))
        .routes(routes!(charts::metric_chart))
        .routes(routes!(team::metrics))
        .routes(routes!(team::logs))
        .routes(routes!(team::alerts))
        .routes(routes!(team::complaints))
        .routes(routes!(team::declare))
        .routes(routes!(team::act))
        .routes(routes!(team::notify))
        .routes(routes!(team::hints))
        .routes(routes!(team::take_hint))
        .routes(routes!(team::incidents))
        .routes(routes!(team::ledger))
        .routes(routes!(team::debrief))
        // judge
        .routes(routes!(judge::incidents))
        .routes(routes!(judge::timeline))
        .routes(routes!(judge::adjust))
        .routes(routes!(judge::verdict))
        // outside /api/v1
        .routes(routes!(prometheus::server))
        .routes(routes!(prometheus::team))
        .routes(routes!(assets::scoreboard_page))
        .routes(routes!(assets::team_page))
        .routes(routes!(assets::judge_page))
        .routes(routes!(assets::organizer_page))
        .routes(routes!(assets::asset))
        .layer(from_fn(middleware::timeout));
    // Live streams: no request timeout.
    let streams = OpenApiRouter::new()
        .routes(routes!(stream::scoreboard))
        .routes(routes!(stream::team));
    requests.merge(streams)
}

/// The whole application: routes, limits, fallbacks and state.
pub fn app(state: AppState) -> Router {
    let (router, _) = api_router().split_for_parts();
    router
        .fallback(middleware::not_found)
        .method_not_allowed_fallback(middleware::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(from_fn_with_state(state.clone(), middleware::count))
        .with_state(state)
}
