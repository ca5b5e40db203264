//! A read-only picture of a team's fleet: what the team console shows as the map.

use std::collections::BTreeMap;

use breakathon_scenario::ServiceKind;
use serde::{Deserialize, Serialize};

use crate::telemetry::MetricPoint;

/// The whole fleet at the last completed tick.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FleetView {
    /// Ticks completed.
    pub tick: u64,
    /// Zones, in scenario order.
    pub zones: Vec<ZoneView>,
    /// Services, in scenario order.
    pub services: Vec<ServiceView>,
}

/// One zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ZoneView {
    /// Its name.
    pub name: String,
    /// Whether it answers at all (false during a zone outage).
    pub up: bool,
    /// Whether traffic is drained away from it.
    pub drained: bool,
}

/// The colour of a service on the map.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// Every instance passes probes and errors are within the objective.
    Healthy,
    /// Something is off (an instance failing, errors or latency above objective).
    Degraded,
    /// No instance serves.
    Down,
    /// No telemetry: the team cannot tell.
    Unknown,
}

/// One service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceView {
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: ServiceKind,
    /// The version being deployed.
    pub version: String,
    /// Whether customers call it directly.
    pub customer_facing: bool,
    /// Map colour.
    pub health: Health,
    /// Current metrics (`None` while its telemetry is dark).
    pub metrics: Option<MetricPoint>,
    /// Percent of load being shed (0 = none).
    pub shed_percent: f64,
    /// Rate limit in requests/s, if one is set.
    pub rate_limit_rps: Option<f64>,
    /// Feature flags.
    pub flags: BTreeMap<String, bool>,
    /// Config values.
    pub config: BTreeMap<String, String>,
    /// Its instances.
    pub instances: Vec<InstanceView>,
    /// The services it calls.
    pub dependencies: Vec<DependencyView>,
}

/// Lifecycle state of an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstancePhase {
    /// Starting; not serving yet.
    Booting,
    /// Serving with reduced capacity while it warms up.
    WarmingUp,
    /// Serving.
    Running,
    /// Not running (crashed, killed, its zone lost).
    Down,
    /// Taken out of the fleet (scaled in or replaced).
    Removed,
}

/// One instance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceView {
    /// Index within its service (stable; new instances get new indices).
    pub index: u32,
    /// Its zone.
    pub zone: String,
    /// Lifecycle state.
    pub phase: InstancePhase,
    /// The version it runs.
    pub version: String,
    /// Whether the platform's health probe currently passes.
    pub probe_healthy: bool,
    /// Whether traffic is drained away from it.
    pub drained: bool,
    /// Its metrics this tick (`None` while the service's telemetry is dark).
    pub metrics: Option<InstanceMetrics>,
}

/// Per-instance metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InstanceMetrics {
    /// Requests per second offered.
    pub rps: f64,
    /// Errors, 0–100.
    pub error_percent: f64,
    /// Median latency, ms.
    pub latency_p50_ms: f64,
    /// 99th percentile latency, ms.
    pub latency_p99_ms: f64,
    /// CPU, 0–100.
    pub cpu_percent: f64,
    /// Memory, 0–100.
    pub memory_percent: f64,
    /// Disk, 0–100.
    pub disk_percent: f64,
    /// Connections in use (server side).
    pub connections_in_use: f64,
    /// Offered load over capacity, 0–100+.
    pub saturation_percent: f64,
}

/// One call edge, as the caller sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DependencyView {
    /// The callee.
    pub service: String,
    /// Calls per incoming request.
    pub calls_per_request: f64,
    /// Connection pool per caller instance.
    pub pool_size: u32,
    /// Call timeout, ms.
    pub timeout_ms: f64,
    /// Retries after a failed call.
    pub retries: u32,
    /// Whether a failure fails the caller's request.
    pub critical: bool,
    /// Whether the caller's circuit breaker on this call is open.
    pub circuit_open: bool,
    /// Calls per second this tick.
    pub calls_rps: f64,
    /// Failed calls, 0–100.
    pub error_percent: f64,
    /// Median call latency seen by the caller, ms.
    pub latency_ms: f64,
}
