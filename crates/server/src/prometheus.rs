//! Prometheus text exposition: `GET /metrics` (the server's own health, organizer token) and
//! `GET /metrics/team` (the team's fleet, team token).

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use breakathon_sim::{FleetView, Health, InstancePhase, MetricPoint};

use crate::auth::{Organizer, Team};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use crate::stats::LatencyHistogram;

/// Content type of the Prometheus text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Writes one metric family header.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Escapes a label value.
pub fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Formats a float the way Prometheus reads it.
fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{value}")
    }
}

/// Writes a family with one unlabelled sample.
fn scalar(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    family(out, name, kind, help);
    let _ = writeln!(out, "{name} {value}");
}

/// The server's health in Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "metrics",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn server(State(state): State<AppState>, _: Organizer) -> Result<Response, ApiError> {
    let now_ms = state.now_ms();
    let (teams, tick, change_seq, hash, behind, stopped) = state
        .read(move |game| {
            (
                game.teams().len(),
                game.status().tick,
                game.change_seq(),
                game.state_hash(),
                game.clock_behind(now_ms),
                game.failure().is_some(),
            )
        })
        .await?;
    let stats = state.stats();
    let mut out = String::new();
    scalar(
        &mut out,
        "breakathon_teams",
        "gauge",
        "Teams in the game.",
        teams,
    );
    scalar(
        &mut out,
        "breakathon_tick",
        "gauge",
        "Simulation ticks completed.",
        tick,
    );
    scalar(
        &mut out,
        "breakathon_change_seq",
        "gauge",
        "Visible changes so far.",
        change_seq,
    );
    family(
        &mut out,
        "breakathon_state_hash_info",
        "gauge",
        "Hash of the whole game state, as a label.",
    );
    let _ = writeln!(out, "breakathon_state_hash_info{{hash=\"{hash:016x}\"}} 1");
    scalar(
        &mut out,
        "breakathon_game_stopped",
        "gauge",
        "1 once the game stopped accepting commands because its journal could not be written or synced (restart needed).",
        u8::from(stopped),
    );
    scalar(
        &mut out,
        "breakathon_clock_behind",
        "gauge",
        "1 while the machine cannot step the game as fast as its speed asks (the clock slips).",
        u8::from(behind),
    );
    if let Some(syncs) = state.journal_syncs() {
        scalar(
            &mut out,
            "breakathon_journal_syncs_total",
            "counter",
            "fsyncs of the journal's write-ahead log (group commit: commands waiting at the same moment share one).",
            syncs,
        );
    }
    scalar(
        &mut out,
        "breakathon_pumps_total",
        "counter",
        "Ticker rounds run.",
        stats.pumps.load(Ordering::Relaxed),
    );
    scalar(
        &mut out,
        "breakathon_http_requests_total",
        "counter",
        "HTTP requests answered.",
        stats.requests.load(Ordering::Relaxed),
    );
    scalar(
        &mut out,
        "breakathon_http_errors_total",
        "counter",
        "HTTP 4xx and 5xx answers.",
        stats.errors.load(Ordering::Relaxed),
    );
    scalar(
        &mut out,
        "breakathon_rate_limited_total",
        "counter",
        "Writes refused by the rate limiter.",
        stats.rate_limited.load(Ordering::Relaxed),
    );
    scalar(
        &mut out,
        "breakathon_stream_clients",
        "gauge",
        "Live stream clients connected.",
        stats.stream_clients.load(Ordering::Relaxed),
    );
    scalar(
        &mut out,
        "breakathon_boards_published_total",
        "counter",
        "Scoreboard encodings published to streams and readers.",
        stats.boards_published.load(Ordering::Relaxed),
    );
    histogram(
        &mut out,
        "breakathon_command_seconds",
        "Latency of game commands, journal append included.",
        &stats.commands,
    );
    histogram(
        &mut out,
        "breakathon_game_lock_wait_seconds",
        "Time spent waiting for the game lock (commands, reads, ticker).",
        &stats.lock_wait,
    );
    histogram(
        &mut out,
        "breakathon_publish_seconds",
        "Time spent encoding and publishing a changed scoreboard (outside the game lock).",
        &stats.publish,
    );
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], out).into_response())
}

/// Writes one histogram family.
fn histogram(out: &mut String, name: &str, help: &str, histogram: &LatencyHistogram) {
    let (count, sum_s, buckets) = histogram.snapshot();
    family(out, name, "histogram", help);
    for (bound, cumulative) in buckets {
        let _ = writeln!(
            out,
            "{name}_bucket{{le=\"{}\"}} {cumulative}",
            number(bound)
        );
    }
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
    let _ = writeln!(out, "{name}_sum {}", number(sum_s));
    let _ = writeln!(out, "{name}_count {count}");
}

/// The team's fleet in Prometheus text format.
#[utoipa::path(get, path = "/metrics/team", tag = "metrics",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn team(State(state): State<AppState>, Team(team): Team) -> Result<Response, ApiError> {
    let out = state
        .read_team(team, move |game| {
            game.world(team).map(|world| fleet_text(&world.fleet()))
        })
        .await??;
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], out).into_response())
}

/// Renders a fleet view as Prometheus text: one gauge family per metric, labelled by
/// service (and instance, zone). Services whose telemetry is dark have no metric samples,
/// as with a real scrape target that stopped answering.
pub fn fleet_text(fleet: &FleetView) -> String {
    let mut out = String::new();
    scalar(
        &mut out,
        "breakathon_fleet_tick",
        "gauge",
        "Simulation tick of this view.",
        fleet.tick,
    );

    family(
        &mut out,
        "breakathon_zone_up",
        "gauge",
        "Whether the zone answers (1) or is lost (0).",
    );
    for zone in &fleet.zones {
        let _ = writeln!(
            out,
            "breakathon_zone_up{{zone=\"{}\"}} {}",
            escape_label(&zone.name),
            u8::from(zone.up)
        );
    }
    family(
        &mut out,
        "breakathon_zone_drained",
        "gauge",
        "Whether traffic is drained away from the zone.",
    );
    for zone in &fleet.zones {
        let _ = writeln!(
            out,
            "breakathon_zone_drained{{zone=\"{}\"}} {}",
            escape_label(&zone.name),
            u8::from(zone.drained)
        );
    }

    family(
        &mut out,
        "breakathon_service_health",
        "gauge",
        "Map colour of the service: 1 for its current health, 0 otherwise.",
    );
    for service in &fleet.services {
        let name = escape_label(&service.name);
        for (health, label) in [
            (Health::Healthy, "healthy"),
            (Health::Degraded, "degraded"),
            (Health::Down, "down"),
            (Health::Unknown, "unknown"),
        ] {
            let _ = writeln!(
                out,
                "breakathon_service_health{{service=\"{name}\",health=\"{label}\"}} {}",
                u8::from(service.health == health)
            );
        }
    }

    type Getter = fn(&MetricPoint) -> f64;
    let gauges: [(&str, &str, Getter); 10] = [
        (
            "breakathon_service_requests_per_second",
            "Requests per second offered to the service.",
            |m| m.rps,
        ),
        (
            "breakathon_service_error_ratio",
            "Share of requests that fail, 0 to 1.",
            |m| m.error_percent / 100.0,
        ),
        (
            "breakathon_service_latency_p50_seconds",
            "Median latency.",
            |m| m.latency_p50_ms / 1000.0,
        ),
        (
            "breakathon_service_latency_p99_seconds",
            "99th percentile latency.",
            |m| m.latency_p99_ms / 1000.0,
        ),
        (
            "breakathon_service_cpu_ratio",
            "Mean CPU use of running instances, 0 to 1.",
            |m| m.cpu_percent / 100.0,
        ),
        (
            "breakathon_service_memory_ratio",
            "Highest memory use of running instances, 0 to 1.",
            |m| m.memory_percent / 100.0,
        ),
        (
            "breakathon_service_disk_ratio",
            "Highest disk use of running instances, 0 to 1.",
            |m| m.disk_percent / 100.0,
        ),
        (
            "breakathon_service_connections_ratio",
            "Connections in use over the limit, 0 to 1.",
            |m| m.connections_percent / 100.0,
        ),
        (
            "breakathon_service_saturation_ratio",
            "Offered load over capacity (above 1 when overloaded).",
            |m| m.saturation_percent / 100.0,
        ),
        (
            "breakathon_service_healthy_instances_ratio",
            "Instances passing health probes, 0 to 1.",
            |m| m.healthy_percent / 100.0,
        ),
    ];
    for (name, help, get) in gauges {
        family(&mut out, name, "gauge", help);
        for service in &fleet.services {
            if let Some(metrics) = &service.metrics {
                let _ = writeln!(
                    out,
                    "{name}{{service=\"{}\"}} {}",
                    escape_label(&service.name),
                    number(get(metrics))
                );
            }
        }
    }

    family(
        &mut out,
        "breakathon_instance_up",
        "gauge",
        "Whether the instance's health probe passes.",
    );
    for service in &fleet.services {
        for instance in &service.instances {
            if instance.phase == InstancePhase::Removed {
                continue;
            }
            let _ = writeln!(
                out,
                "breakathon_instance_up{{service=\"{}\",instance=\"{}\",zone=\"{}\"}} {}",
                escape_label(&service.name),
                instance.index,
                escape_label(&instance.zone),
                u8::from(instance.probe_healthy)
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped_and_numbers_are_prometheus_floats() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(number(f64::INFINITY), "+Inf");
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(number(0.25), "0.25");
    }
}
