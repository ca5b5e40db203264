//! Chart routes: SVG images of the score over time and of a service's metrics, drawn on the
//! server by [`crate::charts`] so that the pages need no chart library.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use breakathon_scenario::Metric;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::team::parse_name;
use crate::auth::{Caller, Team};
use crate::charts::{self, ChartSeries};
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiQuery;
use crate::state::AppState;

/// Milliseconds in a second, to turn ticks into simulated seconds.
const MS_PER_SECOND: f64 = 1000.0;

/// `GET /team/metrics/chart.svg`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct MetricChartQuery {
    /// Service to chart.
    pub service: String,
    /// Metric, by its scenario name (`cpu_percent`, `latency_p99_ms`, ...).
    pub metric: String,
    /// Only points from this simulated second on.
    pub since: Option<u64>,
}

fn svg(body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// Every team's score over time as an SVG chart (frozen view while frozen, live for staff).
#[utoipa::path(get, path = "/api/v1/scoreboard/chart.svg", tag = "public",
    responses((status = 200, description = "SVG chart", content_type = "image/svg+xml", body = String)))]
pub async fn score_chart(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let live = caller.is_staff();
    let (series, until_s) = state
        .read(move |game| {
            let until_s = game.scoreboard(live).elapsed_s;
            let series: Vec<ChartSeries> = game
                .score_history(live)
                .into_iter()
                .map(|team| ChartSeries {
                    label: team.name,
                    points: team
                        .points
                        .iter()
                        .map(|point| (point.elapsed_s, point.score as f64))
                        .collect(),
                })
                .collect();
            (series, until_s)
        })
        .await?;
    Ok(svg(charts::score_history_svg(&series, until_s)))
}

/// One metric of one of the team's services over time, as an SVG chart.
#[utoipa::path(get, path = "/api/v1/team/metrics/chart.svg", tag = "team", params(MetricChartQuery),
    responses((status = 200, description = "SVG chart", content_type = "image/svg+xml", body = String),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn metric_chart(
    State(state): State<AppState>,
    Team(team): Team,
    ApiQuery(query): ApiQuery<MetricChartQuery>,
) -> Result<Response, ApiError> {
    let metric: Metric = parse_name("metric", &query.metric)?;
    let body = state
        .read_team(team, move |game| -> Result<String, ApiError> {
            let world = game.world(team)?;
            let tick_ms = world.tick_ms().max(1);
            let since_tick = query.since.unwrap_or(0).saturating_mul(1000) / tick_ms;
            let points = world
                .metrics(&query.service, since_tick)
                .map_err(|error| ApiError::not_found(error.to_string()))?;
            let seconds_per_tick = tick_ms as f64 / MS_PER_SECOND;
            let series = ChartSeries {
                label: query.service.clone(),
                points: points
                    .iter()
                    .map(|point| (point.tick as f64 * seconds_per_tick, point.get(metric)))
                    .collect(),
            };
            Ok(charts::metric_svg(&[series], &query.metric))
        })
        .await??;
    Ok(svg(body))
}
