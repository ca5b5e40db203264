//! What a team's monitoring shows: metric points, log lines, alerts, customer complaints, and
//! the per-tick report the game scores from.

use serde::{Deserialize, Serialize};

/// Metrics in a [`MetricPoint`].
pub const METRICS: usize = 10;

/// One point of a service's metrics (a tick, or the average of a downsampled window).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricPoint {
    /// The tick (for a downsampled point: the first tick of its window).
    pub tick: u64,
    /// Requests per second offered to the service.
    pub rps: f64,
    /// Errors, 0–100 of requests.
    pub error_percent: f64,
    /// Median latency, ms.
    pub latency_p50_ms: f64,
    /// 99th percentile latency, ms.
    pub latency_p99_ms: f64,
    /// Mean CPU of running instances, 0–100.
    pub cpu_percent: f64,
    /// Highest memory use of running instances, 0–100.
    pub memory_percent: f64,
    /// Highest disk use of running instances, 0–100.
    pub disk_percent: f64,
    /// Connections in use, 0–100 of the service's limit.
    pub connections_percent: f64,
    /// Offered load over capacity, 0–100 (above 100 when overloaded).
    pub saturation_percent: f64,
    /// Instances passing health probes, 0–100 of those not removed.
    pub healthy_percent: f64,
}

impl MetricPoint {
    /// The value of `metric` in this point.
    pub fn get(&self, metric: breakathon_scenario::Metric) -> f64 {
        use breakathon_scenario::Metric as M;
        match metric {
            M::Rps => self.rps,
            M::ErrorPercent => self.error_percent,
            M::LatencyP50Ms => self.latency_p50_ms,
            M::LatencyP99Ms => self.latency_p99_ms,
            M::CpuPercent => self.cpu_percent,
            M::MemoryPercent => self.memory_percent,
            M::DiskPercent => self.disk_percent,
            M::ConnectionsPercent => self.connections_percent,
            M::SaturationPercent => self.saturation_percent,
            M::HealthyPercent => self.healthy_percent,
        }
    }

    /// The metrics in a fixed order: rps, error, p50, p99, CPU, memory, disk, connections,
    /// saturation, healthy.
    pub fn values(&self) -> [f64; METRICS] {
        [
            self.rps,
            self.error_percent,
            self.latency_p50_ms,
            self.latency_p99_ms,
            self.cpu_percent,
            self.memory_percent,
            self.disk_percent,
            self.connections_percent,
            self.saturation_percent,
            self.healthy_percent,
        ]
    }

    /// The point of `tick` with `values` in the order of [`MetricPoint::values`].
    pub fn from_values(tick: u64, values: [f64; METRICS]) -> MetricPoint {
        let [
            rps,
            error_percent,
            latency_p50_ms,
            latency_p99_ms,
            cpu_percent,
            memory_percent,
            disk_percent,
            connections_percent,
            saturation_percent,
            healthy_percent,
        ] = values;
        MetricPoint {
            tick,
            rps,
            error_percent,
            latency_p50_ms,
            latency_p99_ms,
            cpu_percent,
            memory_percent,
            disk_percent,
            connections_percent,
            saturation_percent,
            healthy_percent,
        }
    }
}

/// Severity of a log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    /// Routine.
    Info,
    /// Something looks off.
    Warn,
    /// Something failed.
    Error,
}

/// One log line of a service (or one of its instances).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    /// When it was written.
    pub tick: u64,
    /// The service that wrote it.
    pub service: String,
    /// The instance that wrote it, if any.
    pub instance: Option<u32>,
    /// Severity.
    pub level: LogLevel,
    /// The text.
    pub message: String,
}

/// A log line as a world keeps it: the service as its index in the model (not a copy of its
/// name per line) and the text without spare capacity. [`LogLine`] is what the API shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredLine {
    /// When it was written.
    pub tick: u64,
    /// The text.
    pub message: Box<str>,
    /// The instance that wrote it, if any.
    pub instance: Option<u32>,
    /// Index of the service that wrote it.
    pub service: u32,
    /// Severity.
    pub level: LogLevel,
}

/// An alert as the team sees it (decoys look exactly like real alerts).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertView {
    /// The rule's name.
    pub name: String,
    /// The service it is about.
    pub service: String,
    /// What it says.
    pub message: String,
    /// Whether it is firing now.
    pub firing: bool,
    /// Tick it started firing.
    pub since_tick: u64,
    /// Tick it stopped firing, if it did.
    pub resolved_tick: Option<u64>,
}

/// A customer complaint, filed when a customer-facing SLO stays breached.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Complaint {
    /// When it was filed.
    pub tick: u64,
    /// The customer-facing service complained about.
    pub service: String,
    /// What the customer wrote.
    pub message: String,
}

/// What happened in the last tick, for scoring.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TickReport {
    /// The tick this report is about.
    pub tick: u64,
    /// Revenue earned this tick from successful customer-facing requests.
    pub revenue_units: f64,
    /// Customers' requests served successfully this tick, counted at the customer-facing
    /// entry points (where customers' traffic enters the fleet).
    pub requests_ok: f64,
    /// Customers' requests that failed this tick, counted at the customer-facing entry points.
    pub requests_failed: f64,
    /// Customer-facing services whose SLO is breached this tick.
    pub slo_breached: Vec<String>,
}
