//! The static side of a world: what is derived once from the scenario (indices, call-graph
//! order, tick lengths) plus the named constants of the fluid model.

use std::collections::HashMap;
use std::sync::Arc;

use bevy_ecs::prelude::Resource;
use breakathon_scenario::{
    AlertRule, Comparison, Condition, Metric, Scenario, ServiceKind, SimDuration,
};

use crate::error::SimError;
use crate::schedule::FaultSchedule;

/// Cache hit rate of a warm cache, 0–1.
pub const NORMAL_CACHE_HIT: f64 = 0.9;
/// Cap of the M/M/1 waiting factor ρ/(1−ρ) below saturation.
pub const MAX_QUEUE_FACTOR: f64 = 50.0;
/// p99 over p50 of service time on an idle instance.
pub const P99_IDLE_FACTOR: f64 = 2.5;
/// How long a customer waits before giving up, ms.
pub const CUSTOMER_TIMEOUT_MS: f64 = 10_000.0;
/// Share of failed customer requests the customers retry (hit refresh) next tick.
pub const CUSTOMER_RETRY_SHARE: f64 = 0.3;
/// Share of failed requests retried next tick by clients during a retry storm.
pub const STORM_RETRY_SHARE: f64 = 0.5;
/// Retries each request gets from the aggressive clients of a retry storm: their retry load is
/// at most this many times the load without it (bounded, yet enough to keep a fleet that
/// was pushed past its capacity overloaded: a metastable failure).
pub const STORM_CLIENT_RETRIES: f64 = 3.0;
/// During a retry storm, share of the work of an overloaded (backlogged) instance spent on
/// requests whose clients already gave up: their answers arrive too late and count as failed.
pub const STORM_LATE_SHARE: f64 = 0.8;
/// Share of pooled connections that close each second (max lifetime ≈ 5 min).
pub const CONN_CHURN_PER_S: f64 = 1.0 / 300.0;
/// Idle connections a pool keeps open beyond what it needs.
pub const POOL_MIN_IDLE: f64 = 2.0;
/// Headroom a pool keeps over its current concurrency.
pub const POOL_HEADROOM: f64 = 1.25;
/// Delay a TCP retransmission adds to a call, ms.
pub const RETRANSMIT_MS: f64 = 300.0;
/// Packets per call (each can be lost).
pub const PACKETS_PER_CALL: i32 = 4;
/// Capacity of a freshly booted instance, as a share of full, rising to 1 over the warm-up.
pub const WARMUP_START_FACTOR: f64 = 0.5;
/// Memory an idle instance uses, share of its memory.
pub const BASE_MEMORY_SHARE: f64 = 0.35;
/// Memory per request in flight, MB.
pub const MEMORY_PER_INFLIGHT_MB: f64 = 0.5;
/// Memory share above which garbage collection starts to hurt.
pub const GC_PRESSURE_START: f64 = 0.8;
/// Capacity lost at full GC pressure, share.
pub const GC_CAPACITY_LOSS: f64 = 0.5;
/// Latency added at full GC pressure (pauses), ms.
pub const GC_PAUSE_MS: f64 = 300.0;
/// Disk used at the start, share of the disk.
pub const BASE_DISK_SHARE: f64 = 0.3;
/// Share of requests that write (and fail when the disk is full).
pub const DISK_WRITE_SHARE: f64 = 0.3;
/// Latency of a refused connection, ms.
pub const REFUSED_LATENCY_MS: f64 = 1.0;
/// Delay before the platform restarts a crashed (OOM / crash-loop) instance, s.
pub const CRASH_RESTART_BACKOFF_S: u64 = 5;
/// How long a mitigation holds a fault's effect off before it comes back, s.
pub const FAULT_RETURN_S: u64 = 300;
/// Share of database reads that fail their read-your-writes check when the replica is stale:
/// a few customers see an old cart or profile — a data-quality symptom, not an outage.
pub const STALE_READ_SHARE: f64 = 0.003;
/// Replica lag over which reads count as stale, s.
pub const STALE_LAG_S: f64 = 10.0;
/// Capacity of a database serving reads on the primary only, share of normal.
pub const PRIMARY_ONLY_CAPACITY: f64 = 0.6;
/// Time a cache warm-up takes, s.
pub const CACHE_WARM_S: u64 = 60;
/// Hit rate a cold cache regains per second from successful fills, share.
pub const CACHE_REFILL_PER_S: f64 = 0.002;
/// Share of requests failing on an instance whose clock is skewed.
pub const CLOCK_SKEW_ERROR_SHARE: f64 = 0.9;
/// Lowest share of quota a throttled provider still admits when hammered.
pub const QUOTA_FLOOR_SHARE: f64 = 0.25;
/// Error share above which a probe fails.
pub const PROBE_ERROR_SHARE: f64 = 0.5;
/// Below this share of healthy instances the load balancer routes to all (panic mode).
pub const LB_PANIC_SHARE: f64 = 0.5;
/// Error percent a service without an SLO is held to.
pub const DEFAULT_ERROR_PERCENT: f64 = 2.0;
/// p99 latency a service without an SLO is held to, ms.
pub const DEFAULT_P99_MS: f64 = 1_000.0;
/// Most instances in one scale action.
pub const MAX_SCALE_COUNT: u32 = 50;
/// Most instances one service may have (including removed ones).
pub const MAX_INSTANCES_PER_SERVICE: usize = 500;
/// Share of load a `shed_load` sheds when no level is given, percent.
pub const DEFAULT_SHED_PERCENT: f64 = 50.0;
/// Highest shed level, percent.
pub const MAX_SHED_PERCENT: f64 = 95.0;
/// Calls per second a healthy external API allows without a quota fault (unlimited).
pub const UNLIMITED_RPS: f64 = f64::INFINITY;

/// Static facts of one service.
#[derive(Clone, Debug)]
pub struct ServiceStatic {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: ServiceKind,
    /// Zones it runs in (indices).
    pub zones: Vec<u32>,
    /// Boot time, ticks.
    pub boot_ticks: u64,
    /// Warm-up time, ticks.
    pub warmup_ticks: u64,
    /// Probe interval, ticks (≥ 1).
    pub probe_interval_ticks: u64,
    /// Baseline entry traffic, requests/s (0 if not an entry point).
    pub entry_rps: f64,
    /// Objective error percent.
    pub slo_error_percent: f64,
    /// Objective p99, ms.
    pub slo_p99_ms: f64,
    /// The dependency index of a cache it calls, if any (its database calls are filtered).
    pub cache_dep: Option<u16>,
    /// For each dependency: whether it sits behind the cache (a database).
    pub behind_cache: Vec<bool>,
    /// Callers: (caller service, dependency index in the caller).
    pub callers: Vec<(u32, u16)>,
}

/// Everything derived once from the scenario. Not part of snapshots: it is rebuilt from the
/// scenario on restore.
#[derive(Resource, Clone, Debug)]
pub struct Model {
    /// The scenario.
    pub scenario: Arc<Scenario>,
    /// The shared fault schedule.
    pub schedule: Arc<FaultSchedule>,
    /// Tick length, ms.
    pub tick_ms: u64,
    /// Tick length, s.
    pub tick_s: f64,
    /// Services by index.
    pub services: Vec<ServiceStatic>,
    /// Zone names by index.
    pub zone_names: Vec<String>,
    /// Service index by name.
    pub service_index: HashMap<String, u32>,
    /// Zone index by name.
    pub zone_index: HashMap<String, u32>,
    /// Services with callers before callees.
    pub topo: Vec<u32>,
    /// Alert rules: the scenario's, or defaults derived from the SLOs when it has none.
    pub alert_rules: Vec<AlertRule>,
    /// Per alert rule: the index of the service it watches (`None`: no such service).
    pub alert_rule_service: Vec<Option<u32>>,
}

impl Model {
    /// Derives the model of `scenario`.
    pub fn new(scenario: Arc<Scenario>, schedule: Arc<FaultSchedule>) -> Result<Model, SimError> {
        let tick_ms = scenario.tick.as_millis();
        if tick_ms == 0 {
            return Err(SimError::InvalidScenario(
                "the tick must be longer than 0".into(),
            ));
        }
        if scenario.zones.is_empty() {
            return Err(SimError::InvalidScenario(
                "a scenario needs at least one zone".into(),
            ));
        }
        let zone_names: Vec<String> = scenario.zones.iter().map(|z| z.name.clone()).collect();
        let zone_index: HashMap<String, u32> = zone_names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i as u32))
            .collect();
        let service_index: HashMap<String, u32> = scenario
            .services
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.clone(), i as u32))
            .collect();
        if service_index.len() != scenario.services.len() {
            return Err(SimError::InvalidScenario(
                "two services share a name".into(),
            ));
        }
        let tick = scenario.tick;
        let mut services = Vec::with_capacity(scenario.services.len());
        for svc in &scenario.services {
            let zones: Vec<u32> = if svc.zones.is_empty() {
                (0..zone_names.len() as u32).collect()
            } else {
                let mut zones = Vec::new();
                for z in &svc.zones {
                    let Some(&i) = zone_index.get(z) else {
                        return Err(SimError::InvalidScenario(format!(
                            "service `{}` runs in unknown zone `{z}`",
                            svc.name
                        )));
                    };
                    zones.push(i);
                }
                zones
            };
            let mut cache_dep = None;
            let mut behind_cache = Vec::with_capacity(svc.dependencies.len());
            for (d, dep) in svc.dependencies.iter().enumerate() {
                let Some(&callee) = service_index.get(&dep.service) else {
                    return Err(SimError::InvalidScenario(format!(
                        "service `{}` calls unknown service `{}`",
                        svc.name, dep.service
                    )));
                };
                let kind = scenario.services[callee as usize].kind;
                if kind == ServiceKind::Cache && cache_dep.is_none() {
                    cache_dep = Some(d as u16);
                }
                behind_cache.push(kind == ServiceKind::Database);
            }
            if cache_dep.is_none() {
                behind_cache.iter_mut().for_each(|b| *b = false);
            }
            let entry_rps = scenario
                .traffic
                .entry_points
                .iter()
                .filter(|e| e.service == svc.name)
                .map(|e| e.rps)
                .sum();
            let (slo_error_percent, slo_p99_ms) = svc
                .slo
                .as_ref()
                .map_or((DEFAULT_ERROR_PERCENT, DEFAULT_P99_MS), |s| {
                    (s.error_percent, s.latency_p99_ms)
                });
            services.push(ServiceStatic {
                name: svc.name.clone(),
                kind: svc.kind,
                zones,
                boot_ticks: svc.boot_time.to_ticks(tick),
                warmup_ticks: svc.warmup.to_ticks(tick),
                probe_interval_ticks: svc.health_check.interval.to_ticks(tick).max(1),
                entry_rps,
                slo_error_percent,
                slo_p99_ms,
                cache_dep,
                behind_cache,
                callers: Vec::new(),
            });
        }
        for (s, svc) in scenario.services.iter().enumerate() {
            for (d, dep) in svc.dependencies.iter().enumerate() {
                let callee = service_index[&dep.service] as usize;
                services[callee].callers.push((s as u32, d as u16));
            }
        }
        let topo = topo_order(&scenario, &service_index)?;
        let alert_rules = if scenario.alerts.is_empty() {
            default_alerts(&scenario)
        } else {
            scenario.alerts.clone()
        };
        let alert_rule_service = alert_rules
            .iter()
            .map(|rule| service_index.get(&rule.when.service).copied())
            .collect();
        Ok(Model {
            alert_rules,
            alert_rule_service,
            tick_ms,
            tick_s: tick_ms as f64 / 1000.0,
            scenario,
            schedule,
            services,
            zone_names,
            service_index,
            zone_index,
            topo,
        })
    }

    /// Ticks in `secs` simulated seconds (at least 1).
    pub fn secs_to_ticks(&self, secs: u64) -> u64 {
        (secs * 1000).div_ceil(self.tick_ms).max(1)
    }

    /// The scenario's service `s`.
    pub fn spec(&self, s: u32) -> &breakathon_scenario::Service {
        &self.scenario.services[s as usize]
    }
}

/// How long a default alert's condition must hold.
pub const DEFAULT_ALERT_FOR: SimDuration = SimDuration::from_secs(60);

/// How long no instance of a service may be healthy before its "down" alert fires.
pub const DOWN_ALERT_FOR: SimDuration = SimDuration::from_secs(10);
/// Healthy instances below this share (of 100) mean the service is down.
pub const DOWN_HEALTHY_PERCENT: f64 = 1.0;

/// Default alerts: per service with an SLO (or customer-facing), error rate and p99 above the
/// objective; per service, instances failing their probes.
pub fn default_alerts(scenario: &Scenario) -> Vec<AlertRule> {
    let mut rules = Vec::new();
    for svc in &scenario.services {
        let rule = |name: String, metric, op, threshold| AlertRule {
            name,
            when: Condition {
                metric,
                service: svc.name.clone(),
                op,
                threshold,
                for_duration: DEFAULT_ALERT_FOR,
            },
        };
        if svc.slo.is_some() || svc.customer_facing {
            let (err, p99) = svc
                .slo
                .as_ref()
                .map_or((DEFAULT_ERROR_PERCENT, DEFAULT_P99_MS), |s| {
                    (s.error_percent, s.latency_p99_ms)
                });
            rules.push(rule(
                format!("{} error rate above SLO", svc.name),
                Metric::ErrorPercent,
                Comparison::Above,
                err,
            ));
            rules.push(rule(
                format!("{} p99 latency above SLO", svc.name),
                Metric::LatencyP99Ms,
                Comparison::Above,
                p99,
            ));
        }
        rules.push(rule(
            format!("{} instances unhealthy", svc.name),
            Metric::HealthyPercent,
            Comparison::Below,
            100.0,
        ));
        // A complete outage pages at once, even if it is over before the minute is.
        let mut down = rule(
            format!("{} down: no healthy instance", svc.name),
            Metric::HealthyPercent,
            Comparison::Below,
            DOWN_HEALTHY_PERCENT,
        );
        down.when.for_duration = DOWN_ALERT_FOR;
        rules.push(down);
    }
    rules
}

/// Kahn's algorithm: callers before callees; ties broken by scenario order.
fn topo_order(scenario: &Scenario, index: &HashMap<String, u32>) -> Result<Vec<u32>, SimError> {
    let n = scenario.services.len();
    let mut indegree = vec![0usize; n];
    for svc in &scenario.services {
        for dep in &svc.dependencies {
            indegree[index[&dep.service] as usize] += 1;
        }
    }
    let mut order = Vec::with_capacity(n);
    let mut ready: Vec<usize> = (0..n).filter(|&i| indegree[i] == 0).collect();
    while let Some(&next) = ready.iter().min() {
        ready.retain(|&i| i != next);
        order.push(next as u32);
        for dep in &scenario.services[next].dependencies {
            let callee = index[&dep.service] as usize;
            indegree[callee] -= 1;
            if indegree[callee] == 0 {
                ready.push(callee);
            }
        }
    }
    if order.len() != n {
        return Err(SimError::InvalidScenario(
            "the dependency graph has a cycle".into(),
        ));
    }
    Ok(order)
}
