//! The scenario language: serde types read from RON. Every field that has a sensible default
//! may be left out, so that a tutorial fits on one screen.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{ActionKind, FaultKind, SimDuration};

/// A whole game day: the fleet, its traffic, the faults and the rules of scoring.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short title shown everywhere.
    pub title: String,
    /// Description shown to teams before and during the game.
    #[serde(default)]
    pub description: String,
    /// Planned length of the game, in simulated time.
    pub duration: SimDuration,
    /// How hard the organizers think it is.
    #[serde(default)]
    pub difficulty: Difficulty,
    /// Length of one simulation tick.
    #[serde(default = "defaults::tick")]
    pub tick: SimDuration,
    /// Default speed factor: simulated seconds per wall second.
    #[serde(default = "defaults::speed")]
    pub speed: f64,
    /// When the public scoreboard freezes, measured from the start.
    #[serde(default)]
    pub freeze_at: Option<SimDuration>,
    /// Seed of every random draw in the game.
    #[serde(default)]
    pub seed: u64,
    /// How long health must hold after a resolving action for an incident to count as fixed.
    #[serde(default = "defaults::sustain")]
    pub sustain: SimDuration,
    /// Zones (datacenters / availability zones); one zone `main` when left out.
    #[serde(default = "defaults::zones")]
    pub zones: Vec<Zone>,
    /// The fleet.
    pub services: Vec<Service>,
    /// Where requests come from and how their rate changes.
    #[serde(default)]
    pub traffic: Traffic,
    /// Alert rules a team's monitoring fires on (defaults are derived from SLOs when empty).
    #[serde(default)]
    pub alerts: Vec<AlertRule>,
    /// The faults: what breaks, where, when and how it is repaired.
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// Alerts that fire with nothing behind them.
    #[serde(default)]
    pub decoys: Vec<Decoy>,
    /// How simulated customers react to SLO breaches.
    #[serde(default)]
    pub customers: Customers,
    /// Hints teams may buy.
    #[serde(default)]
    pub hints: Vec<Hint>,
    /// Scoring weights.
    #[serde(default)]
    pub scoring: Scoring,
    /// Messages to all teams, scheduled in advance.
    #[serde(default)]
    pub announcements: Vec<Announcement>,
}

/// How hard a scenario is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Difficulty {
    /// For first-timers.
    Easy,
    /// The usual.
    #[default]
    Medium,
    /// For experienced teams.
    Hard,
    /// For the organizers' friends.
    Expert,
}

/// A datacenter or availability zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Zone {
    /// Unique name.
    pub name: String,
    /// Human description (region, provider...).
    #[serde(default)]
    pub description: String,
}

/// What a service is; decides which actions make sense on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceKind {
    /// Serves pages to customers.
    Frontend,
    /// An API service.
    Api,
    /// A background worker.
    Worker,
    /// A database (primary with a replica).
    Database,
    /// A cache in front of something slower.
    Cache,
    /// A message queue.
    Queue,
    /// A DNS resolver.
    Dns,
    /// A load balancer.
    LoadBalancer,
    /// A third party's API, out of the team's hands.
    ExternalApi,
}

impl ServiceKind {
    /// Every kind, in a stable order.
    pub const ALL: [ServiceKind; 9] = [
        ServiceKind::Frontend,
        ServiceKind::Api,
        ServiceKind::Worker,
        ServiceKind::Database,
        ServiceKind::Cache,
        ServiceKind::Queue,
        ServiceKind::Dns,
        ServiceKind::LoadBalancer,
        ServiceKind::ExternalApi,
    ];

    /// The snake_case name used in scenarios and the API.
    pub fn name(self) -> &'static str {
        match self {
            ServiceKind::Frontend => "frontend",
            ServiceKind::Api => "api",
            ServiceKind::Worker => "worker",
            ServiceKind::Database => "database",
            ServiceKind::Cache => "cache",
            ServiceKind::Queue => "queue",
            ServiceKind::Dns => "dns",
            ServiceKind::LoadBalancer => "load_balancer",
            ServiceKind::ExternalApi => "external_api",
        }
    }
}

impl std::fmt::Display for ServiceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One service of the fleet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Unique name.
    pub name: String,
    /// What it is.
    pub kind: ServiceKind,
    /// Instances in each zone it runs in.
    #[serde(default = "defaults::instances_per_zone")]
    pub instances_per_zone: u32,
    /// Zones it runs in (default: every zone).
    #[serde(default)]
    pub zones: Vec<String>,
    /// Requests per second one healthy, warm instance serves.
    #[serde(default = "defaults::capacity_rps")]
    pub capacity_rps: f64,
    /// Latency of one request on an idle instance, before dependencies, in milliseconds.
    #[serde(default = "defaults::base_latency_ms")]
    pub base_latency_ms: f64,
    /// Time from start to accepting traffic.
    #[serde(default = "defaults::boot_time")]
    pub boot_time: SimDuration,
    /// Time after boot during which capacity ramps up from half to full.
    #[serde(default = "defaults::warmup")]
    pub warmup: SimDuration,
    /// Memory of one instance, in MB.
    #[serde(default = "defaults::memory_mb")]
    pub memory_mb: f64,
    /// Disk of one instance, in GB.
    #[serde(default = "defaults::disk_gb")]
    pub disk_gb: f64,
    /// Connections one instance accepts (server side).
    #[serde(default = "defaults::max_connections")]
    pub max_connections: u32,
    /// The version deployed at the start.
    #[serde(default = "defaults::version")]
    pub version: String,
    /// Earlier versions it can be rolled back to, newest first.
    #[serde(default)]
    pub rollback_versions: Vec<String>,
    /// Feature flags and their starting values.
    #[serde(default)]
    pub flags: BTreeMap<String, bool>,
    /// Config keys and their starting values.
    #[serde(default)]
    pub config: BTreeMap<String, String>,
    /// Services this one calls.
    #[serde(default)]
    pub dependencies: Vec<Dependency>,
    /// How the platform probes its instances.
    #[serde(default)]
    pub health_check: HealthCheck,
    /// Service-level objectives.
    #[serde(default)]
    pub slo: Option<Slo>,
    /// Whether customers see this service directly.
    #[serde(default)]
    pub customer_facing: bool,
    /// Revenue earned per successful request, in the scenario's revenue units.
    #[serde(default)]
    pub revenue_per_request: f64,
}

/// A call from one service to another.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dependency {
    /// The callee.
    pub service: String,
    /// Calls made per incoming request.
    #[serde(default = "defaults::calls_per_request")]
    pub calls_per_request: f64,
    /// Connections in the caller's pool to this callee, per caller instance.
    #[serde(default = "defaults::pool_size")]
    pub pool_size: u32,
    /// How long a call may take before the caller gives up.
    #[serde(default = "defaults::timeout")]
    pub timeout: SimDuration,
    /// Retries after a failed or timed-out call.
    #[serde(default)]
    pub retries: u32,
    /// The caller's circuit breaker on this call, if any.
    #[serde(default)]
    pub circuit_breaker: Option<CircuitBreaker>,
    /// Whether a failure of this call fails the caller's request (otherwise it degrades).
    #[serde(default = "defaults::yes")]
    pub critical: bool,
}

/// A circuit breaker: opens when errors pass a threshold, half-opens after a pause.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CircuitBreaker {
    /// Error rate (0–100) over which the breaker opens.
    #[serde(default = "defaults::breaker_error_percent")]
    pub error_percent: f64,
    /// How long it stays open before trying again.
    #[serde(default = "defaults::breaker_open_for")]
    pub open_for: SimDuration,
}

/// How the platform probes instances.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthCheck {
    /// Time between probes.
    #[serde(default = "defaults::probe_interval")]
    pub interval: SimDuration,
    /// Consecutive failed probes before an instance is marked unhealthy.
    #[serde(default = "defaults::probe_failures")]
    pub failures: u32,
    /// A probe fails when the instance's latency exceeds this, in milliseconds.
    #[serde(default = "defaults::probe_timeout_ms")]
    pub timeout_ms: f64,
}

impl Default for HealthCheck {
    fn default() -> Self {
        HealthCheck {
            interval: defaults::probe_interval(),
            failures: defaults::probe_failures(),
            timeout_ms: defaults::probe_timeout_ms(),
        }
    }
}

/// Service-level objectives of a service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slo {
    /// p99 latency objective, in milliseconds.
    #[serde(default = "defaults::slo_latency_ms")]
    pub latency_p99_ms: f64,
    /// Error-rate objective, 0–100.
    #[serde(default = "defaults::slo_error_percent")]
    pub error_percent: f64,
    /// Breached time allowed over the game before SLA penalties start.
    #[serde(default = "defaults::error_budget")]
    pub error_budget: SimDuration,
}

/// Where requests come from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Traffic {
    /// Entry points and their baseline rates.
    #[serde(default)]
    pub entry_points: Vec<EntryPoint>,
    /// Hourly multipliers of the baseline over a simulated day (24 values, or empty for flat).
    #[serde(default)]
    pub daily_curve: Vec<f64>,
    /// Hour of the simulated day at which the game starts, 0–23.
    #[serde(default)]
    pub start_hour: u32,
    /// Slow background changes of traffic (not incidents).
    #[serde(default)]
    pub ramps: Vec<Ramp>,
    /// Seeded noise on traffic, as a percent of the rate.
    #[serde(default = "defaults::noise_percent")]
    pub noise_percent: f64,
}

/// An entry point: customers call this service directly.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryPoint {
    /// The service called.
    pub service: String,
    /// Baseline requests per second.
    pub rps: f64,
}

/// A background change of traffic: the rate goes linearly to `factor`× between `start` and
/// `end`, and stays there.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ramp {
    /// When the ramp starts, from the game's start.
    pub start: SimDuration,
    /// When it reaches its factor.
    pub end: SimDuration,
    /// The multiple reached.
    pub factor: f64,
    /// The entry point it applies to (default: all).
    #[serde(default)]
    pub service: Option<String>,
}

/// A metric that alerts and `When` triggers can watch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Requests per second served.
    Rps,
    /// Error rate, 0–100.
    ErrorPercent,
    /// Median latency, ms.
    LatencyP50Ms,
    /// 99th percentile latency, ms.
    LatencyP99Ms,
    /// CPU use, 0–100.
    CpuPercent,
    /// Memory use, 0–100 of the instance's memory.
    MemoryPercent,
    /// Disk use, 0–100.
    DiskPercent,
    /// Connections in use, 0–100 of the limit.
    ConnectionsPercent,
    /// Utilisation of capacity, 0–100 (can exceed 100 when overloaded).
    SaturationPercent,
    /// Healthy instances, 0–100 of those running.
    HealthyPercent,
}

impl Metric {
    /// What the metric measures, in words a team reads ("p99 latency").
    pub fn label(self) -> &'static str {
        match self {
            Metric::Rps => "traffic",
            Metric::ErrorPercent => "error rate",
            Metric::LatencyP50Ms => "p50 latency",
            Metric::LatencyP99Ms => "p99 latency",
            Metric::CpuPercent => "CPU",
            Metric::MemoryPercent => "memory",
            Metric::DiskPercent => "disk",
            Metric::ConnectionsPercent => "connections in use",
            Metric::SaturationPercent => "saturation",
            Metric::HealthyPercent => "healthy instances",
        }
    }

    /// The unit its values are in ("ms", "%", "req/s").
    pub fn unit(self) -> &'static str {
        match self {
            Metric::Rps => "req/s",
            Metric::LatencyP50Ms | Metric::LatencyP99Ms => "ms",
            Metric::ErrorPercent
            | Metric::CpuPercent
            | Metric::MemoryPercent
            | Metric::DiskPercent
            | Metric::ConnectionsPercent
            | Metric::SaturationPercent
            | Metric::HealthyPercent => "%",
        }
    }
}

/// A comparison in a condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    /// Strictly above the threshold.
    Above,
    /// Strictly below the threshold.
    Below,
}

/// A structured condition on a team's world: `metric` of `service` compared to `threshold`,
/// holding for `for_duration`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// The metric watched.
    pub metric: Metric,
    /// The service watched.
    pub service: String,
    /// How it compares.
    pub op: Comparison,
    /// The threshold, in the metric's unit.
    pub threshold: f64,
    /// How long the comparison must hold.
    #[serde(default, rename = "for")]
    pub for_duration: SimDuration,
}

/// An alert rule of the team's monitoring.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertRule {
    /// Unique name, shown to the team.
    pub name: String,
    /// The condition that fires it.
    pub when: Condition,
}

/// One scripted fault.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// Unique name (referenced by `After` triggers and hints).
    pub name: String,
    /// What breaks, with its parameters.
    pub kind: FaultKind,
    /// Where it strikes.
    pub target: Target,
    /// When it strikes.
    pub trigger: Trigger,
    /// How long it lasts if nobody fixes it (default: until fixed).
    #[serde(default)]
    pub duration: Option<SimDuration>,
    /// Overrides the catalog's resolving actions.
    #[serde(default)]
    pub resolves: Option<Vec<ActionKind>>,
    /// Overrides the catalog's mitigating actions.
    #[serde(default)]
    pub mitigates: Option<Vec<ActionKind>>,
    /// Overrides the catalog's worsening actions.
    #[serde(default)]
    pub worsens: Option<Vec<ActionKind>>,
}

impl Fault {
    /// The remedies in force: the catalog's defaults with this fault's overrides applied.
    pub fn remedies(&self) -> crate::Remedies {
        let mut remedies = self.kind.class().default_remedies();
        if let Some(list) = &self.resolves {
            remedies.resolves = list.clone();
        }
        if let Some(list) = &self.mitigates {
            remedies.mitigates = list.clone();
        }
        if let Some(list) = &self.worsens {
            remedies.worsens = list.clone();
        }
        remedies
    }
}

/// Where a fault strikes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Target {
    /// Every instance of a service (or the service as a whole).
    Service(String),
    /// One instance of a service, by index in the service's instance list.
    Instance(String, u32),
    /// A zone.
    Zone(String),
    /// Some instances of a service, chosen from the seed.
    Select {
        /// The service whose instances are chosen from.
        service: String,
        /// How many.
        pick: Pick,
        /// Only instances in this zone.
        #[serde(default)]
        zone: Option<String>,
    },
}

/// How a selector picks instances.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Pick {
    /// One, at random.
    One,
    /// All of them.
    All,
    /// A fixed number, at random.
    Count(u32),
    /// A share of them (rounded up), at random, 0–100.
    Percent(f64),
}

/// When a fault strikes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Trigger {
    /// At a fixed time from the start.
    At(SimDuration),
    /// A delay after another fault strikes.
    After {
        /// The fault waited for.
        fault: String,
        /// The delay after it strikes.
        #[serde(default)]
        delay: SimDuration,
    },
    /// When a condition on the team's own world holds (fires per team; at most once).
    When(Condition),
    /// Repeatedly, every `period` from `start` until `until`.
    Every {
        /// Time between firings.
        period: SimDuration,
        /// First firing (default: one period in).
        #[serde(default)]
        start: Option<SimDuration>,
        /// No firing after this (default: the end of the game).
        #[serde(default)]
        until: Option<SimDuration>,
    },
    /// Chaos: at random times with mean interval `mean`, at least `min_gap` apart, each time
    /// at one of `targets` (default: the fault's own target).
    Random {
        /// Mean time between firings.
        mean: SimDuration,
        /// Minimum time between firings.
        #[serde(default)]
        min_gap: SimDuration,
        /// Candidate targets, one drawn per firing.
        #[serde(default)]
        targets: Vec<Target>,
        /// No firing before this.
        #[serde(default)]
        start: Option<SimDuration>,
        /// No firing after this (default: the end of the game).
        #[serde(default)]
        until: Option<SimDuration>,
    },
}

/// An alert with nothing behind it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decoy {
    /// Unique name.
    pub name: String,
    /// The service the alert names.
    pub service: String,
    /// The alert's message.
    pub message: String,
    /// When it fires.
    pub at: SimDuration,
    /// How long it stays firing.
    #[serde(default = "defaults::decoy_duration")]
    pub duration: SimDuration,
}

/// How simulated customers react.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Customers {
    /// Time a customer-facing SLO must stay breached before the first complaint.
    #[serde(default = "defaults::complaint_delay")]
    pub complaint_delay: SimDuration,
    /// Time between further complaints while the breach lasts.
    #[serde(default = "defaults::complaint_interval")]
    pub complaint_interval: SimDuration,
}

impl Default for Customers {
    fn default() -> Self {
        Customers {
            complaint_delay: defaults::complaint_delay(),
            complaint_interval: defaults::complaint_interval(),
        }
    }
}

/// A hint teams may buy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hint {
    /// The fault it is about.
    pub fault: String,
    /// What it says.
    pub text: String,
    /// Points it costs.
    #[serde(default = "defaults::hint_cost")]
    pub cost: i64,
    /// Time after the fault strikes before it can be bought.
    #[serde(default)]
    pub unlock_after: SimDuration,
}

/// Scoring weights; every number of the rules.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scoring {
    /// Revenue units that make one point.
    #[serde(default = "defaults::revenue_units_per_point")]
    pub revenue_units_per_point: u64,
    /// Points for detecting an incident within the grace period.
    #[serde(default = "defaults::detection_points")]
    pub detection_points: i64,
    /// Points for fixing an incident within the grace period.
    #[serde(default = "defaults::fix_points")]
    pub fix_points: i64,
    /// Time after injection during which detection and fix earn full points.
    #[serde(default = "defaults::grace")]
    pub grace: SimDuration,
    /// Time after the grace period over which points fall linearly to the floor.
    #[serde(default = "defaults::decay")]
    pub decay: SimDuration,
    /// The floor, as a percent of full points.
    #[serde(default = "defaults::floor_percent")]
    pub floor_percent: u32,
    /// Bonus for detecting an incident before the first customer complaint.
    #[serde(default = "defaults::ahead_of_customer_points")]
    pub ahead_of_customer_points: i64,
    /// Bonus for notifying stakeholders between detection and fix.
    #[serde(default = "defaults::communication_points")]
    pub communication_points: i64,
    /// Bonus for being (among) the first to fix an incident.
    #[serde(default = "defaults::first_to_fix_points")]
    pub first_to_fix_points: i64,
    /// Points lost per false alarm.
    #[serde(default = "defaults::false_alarm_points")]
    pub false_alarm_points: i64,
    /// Points lost per simulated minute a customer-facing SLO stays breached beyond its budget.
    #[serde(default = "defaults::sla_penalty_points_per_min")]
    pub sla_penalty_points_per_min: i64,
}

impl Default for Scoring {
    fn default() -> Self {
        Scoring {
            revenue_units_per_point: defaults::revenue_units_per_point(),
            detection_points: defaults::detection_points(),
            fix_points: defaults::fix_points(),
            grace: defaults::grace(),
            decay: defaults::decay(),
            floor_percent: defaults::floor_percent(),
            ahead_of_customer_points: defaults::ahead_of_customer_points(),
            communication_points: defaults::communication_points(),
            first_to_fix_points: defaults::first_to_fix_points(),
            false_alarm_points: defaults::false_alarm_points(),
            sla_penalty_points_per_min: defaults::sla_penalty_points_per_min(),
        }
    }
}

/// A message to every team at a set time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Announcement {
    /// When it is shown, from the start.
    pub at: SimDuration,
    /// What it says.
    pub message: String,
}

/// Defaults of the scenario language, in one place.
pub(crate) mod defaults {
    use super::Zone;
    use crate::SimDuration;

    pub fn tick() -> SimDuration {
        SimDuration::from_secs(1)
    }
    pub fn speed() -> f64 {
        1.0
    }
    pub fn sustain() -> SimDuration {
        SimDuration::from_secs(60)
    }
    pub fn zones() -> Vec<Zone> {
        vec![Zone {
            name: "main".to_owned(),
            description: String::new(),
        }]
    }
    pub fn instances_per_zone() -> u32 {
        2
    }
    pub fn capacity_rps() -> f64 {
        100.0
    }
    pub fn base_latency_ms() -> f64 {
        20.0
    }
    pub fn boot_time() -> SimDuration {
        SimDuration::from_secs(30)
    }
    pub fn warmup() -> SimDuration {
        SimDuration::from_secs(30)
    }
    pub fn memory_mb() -> f64 {
        2048.0
    }
    pub fn disk_gb() -> f64 {
        50.0
    }
    pub fn max_connections() -> u32 {
        200
    }
    pub fn version() -> String {
        "v1".to_owned()
    }
    pub fn calls_per_request() -> f64 {
        1.0
    }
    pub fn pool_size() -> u32 {
        20
    }
    pub fn timeout() -> SimDuration {
        SimDuration::from_secs(2)
    }
    pub fn yes() -> bool {
        true
    }
    pub fn breaker_error_percent() -> f64 {
        50.0
    }
    pub fn breaker_open_for() -> SimDuration {
        SimDuration::from_secs(30)
    }
    pub fn probe_interval() -> SimDuration {
        SimDuration::from_secs(10)
    }
    pub fn probe_failures() -> u32 {
        3
    }
    pub fn probe_timeout_ms() -> f64 {
        2_000.0
    }
    pub fn slo_latency_ms() -> f64 {
        500.0
    }
    pub fn slo_error_percent() -> f64 {
        1.0
    }
    pub fn error_budget() -> SimDuration {
        SimDuration::from_mins(5)
    }
    pub fn noise_percent() -> f64 {
        2.0
    }
    pub fn decoy_duration() -> SimDuration {
        SimDuration::from_mins(5)
    }
    pub fn complaint_delay() -> SimDuration {
        SimDuration::from_mins(3)
    }
    pub fn complaint_interval() -> SimDuration {
        SimDuration::from_mins(5)
    }
    pub fn hint_cost() -> i64 {
        15
    }
    pub fn revenue_units_per_point() -> u64 {
        100
    }
    pub fn detection_points() -> i64 {
        50
    }
    pub fn fix_points() -> i64 {
        100
    }
    pub fn grace() -> SimDuration {
        SimDuration::from_mins(2)
    }
    pub fn decay() -> SimDuration {
        SimDuration::from_mins(20)
    }
    pub fn floor_percent() -> u32 {
        30
    }
    pub fn ahead_of_customer_points() -> i64 {
        25
    }
    pub fn communication_points() -> i64 {
        10
    }
    pub fn first_to_fix_points() -> i64 {
        20
    }
    pub fn false_alarm_points() -> i64 {
        20
    }
    pub fn sla_penalty_points_per_min() -> i64 {
        5
    }
}
