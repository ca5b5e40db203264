//! The mutable state of one world, held in bevy resources. Every collection is a `Vec` indexed
//! by a stable id (service index, zone index, instance id in creation order), so iteration
//! order never depends on the ECS storage and a restored world steps exactly like the original.

use std::collections::BTreeMap;

use bevy_ecs::prelude::Resource;
use serde::{Deserialize, Serialize};

/// The tick counter: simulated time. Nothing reads the wall clock.
#[derive(Resource, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Clock {
    /// The tick being simulated (during a step) / ticks completed (between steps).
    pub tick: u64,
}

/// Why an instance is down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DownReason {
    /// It died (a crash fault): it stays down until restarted or replaced.
    Crashed,
    /// Killed for running out of memory; the platform restarts it.
    OomKilled,
    /// Its version crashes on its own; the platform restarts it.
    CrashLoop,
    /// Its zone is gone.
    ZoneLost,
}

/// Lifecycle of an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Life {
    /// Starting; serves from `ready_tick`.
    Booting {
        /// First tick it serves.
        ready_tick: u64,
    },
    /// Serving (warming up for the service's warm-up time after `since_tick`).
    Running {
        /// Tick it became ready.
        since_tick: u64,
    },
    /// Not running.
    Down {
        /// Why.
        reason: DownReason,
        /// When the platform restarts it by itself, if it does.
        restart_tick: Option<u64>,
    },
    /// Gone from the fleet.
    Removed,
}

/// The dominant reason an instance's requests failed this tick (drives the log lines).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cause {
    /// Nothing failed.
    #[default]
    None,
    /// Queue too long: requests timed out or were dropped.
    Overload,
    /// The instance is down but still in the load balancer's rotation.
    Refused,
    /// A bad config value.
    BadConfig,
    /// A bad feature flag.
    BadFlag,
    /// Token checks fail (clock skew).
    ClockSkew,
    /// Writes fail (disk full).
    DiskFull,
    /// Answering 429 (quota).
    Quota,
    /// Stale reads from a lagging replica.
    StaleRead,
    /// A dependency call failed; the dependency index and why.
    Dependency(u16, DepCause),
}

/// Why calls to a dependency failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DepCause {
    /// No free connection in the pool before the timeout.
    PoolTimeout,
    /// New connections cannot resolve the callee's name.
    Dns,
    /// New TLS handshakes fail: the callee's certificate expired.
    Tls,
    /// The callee refused connections (its connection limit).
    ConnRefused,
    /// The callee is in a zone this caller cannot reach.
    Unreachable,
    /// The call timed out.
    Timeout,
    /// The callee answered 429.
    TooManyRequests,
    /// The callee answered an error.
    Upstream,
    /// The caller's circuit breaker is open.
    BreakerOpen,
}

/// Fault effects on one instance, recomputed from the active incidents every tick.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InstanceEffects {
    /// Share of CPU taken by a runaway job, 0–1.
    pub hog: f64,
    /// Share of CPU stolen by a noisy neighbour, 0–1.
    pub steal: f64,
    /// Latency added to every request, ms.
    pub extra_latency_ms: f64,
    /// Memory leaked per tick at nominal load, MB.
    pub leak_mb_per_tick: f64,
    /// Disk filled per tick, GB.
    pub disk_fill_gb_per_tick: f64,
    /// Share of requests failing from a bad feature flag, 0–1.
    pub flag_error: f64,
    /// Latency added by a bad feature flag, ms.
    pub flag_latency_ms: f64,
    /// Share of packets lost on this instance's calls, 0–1.
    pub loss: f64,
    /// Share of requests failing from a bad config it loaded, 0–1.
    pub config_error: f64,
    /// Crash-loop: ticks a running instance lasts before it crashes (0 = it does not).
    pub crash_after_ticks: u64,
    /// Pool exhaustion: (dependency index, usable connections); the rest of the pool is stuck.
    pub pool_limit: Option<(u16, u32)>,
}

/// Per-instance, per-dependency state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InstanceDep {
    /// Open (pooled) connections to the callee.
    pub conns: f64,
    /// Retries to send next tick, calls/s.
    pub retry_rps: f64,
    /// Calls/s this tick (fresh plus retries).
    pub calls_rps: f64,
    /// Fresh calls/s this tick (without retries).
    pub fresh_rps: f64,
    /// Calls/s actually sent to the callee this tick.
    pub sent_rps: f64,
    /// Share of calls that got a connection this tick.
    pub pool_frac: f64,
    /// Share of calls that succeeded (after in-request retries).
    pub ok_frac: f64,
    /// Median call latency, ms.
    pub latency_p50_ms: f64,
    /// 99th percentile call latency, ms.
    pub latency_p99_ms: f64,
    /// How long a call holds a connection (latency without pool waits and retries), ms.
    pub hold_ms: f64,
    /// Why calls failed, if they did.
    pub cause: Option<DepCause>,
}

/// Per-instance metrics of this tick.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InstanceTick {
    /// Offered requests/s.
    pub offered_rps: f64,
    /// Requests/s processed.
    pub served_rps: f64,
    /// Requests/s that succeeded.
    pub ok_rps: f64,
    /// Requests/s that failed (incl. dropped and refused).
    pub failed_rps: f64,
    /// Effective capacity, requests/s.
    pub capacity_rps: f64,
    /// Offered over capacity.
    pub utilisation: f64,
    /// Own (queue + service) median latency, ms.
    pub own_p50_ms: f64,
    /// Own 99th percentile latency, ms.
    pub own_p99_ms: f64,
    /// End-to-end median latency incl. dependencies, ms.
    pub latency_p50_ms: f64,
    /// End-to-end 99th percentile, ms.
    pub latency_p99_ms: f64,
    /// Own failure share (before dependencies), 0–1.
    pub own_error: f64,
    /// How long a request holds a worker thread (latency without queueing), ms.
    pub thread_ms: f64,
    /// Queueing delay this tick, ms.
    pub wait_ms: f64,
    /// CPU, 0–100.
    pub cpu_percent: f64,
    /// Server-side connections in use.
    pub connections_in_use: f64,
    /// Memory, 0–100.
    pub memory_percent: f64,
    /// Disk, 0–100.
    pub disk_percent: f64,
    /// Requests/s that failed for the customer (entry services: timed out at the customer).
    pub abandoned_rps: f64,
    /// Dominant cause of failures.
    pub cause: Cause,
}

impl InstanceTick {
    /// Every number NaN and `cause` as the cause: what debug builds write where a later
    /// step must write before anything reads (a forgotten write or a wrong read shows).
    pub const fn unwritten(cause: Cause) -> InstanceTick {
        InstanceTick {
            offered_rps: f64::NAN,
            served_rps: f64::NAN,
            ok_rps: f64::NAN,
            failed_rps: f64::NAN,
            capacity_rps: f64::NAN,
            utilisation: f64::NAN,
            own_p50_ms: f64::NAN,
            own_p99_ms: f64::NAN,
            latency_p50_ms: f64::NAN,
            latency_p99_ms: f64::NAN,
            own_error: f64::NAN,
            thread_ms: f64::NAN,
            wait_ms: f64::NAN,
            cpu_percent: f64::NAN,
            connections_in_use: f64::NAN,
            memory_percent: f64::NAN,
            disk_percent: f64::NAN,
            abandoned_rps: f64::NAN,
            cause,
        }
    }

    /// Its numbers, in field order (for checks that look at all of them).
    pub fn numbers(&self) -> [f64; 18] {
        [
            self.offered_rps,
            self.served_rps,
            self.ok_rps,
            self.failed_rps,
            self.capacity_rps,
            self.utilisation,
            self.own_p50_ms,
            self.own_p99_ms,
            self.latency_p50_ms,
            self.latency_p99_ms,
            self.own_error,
            self.thread_ms,
            self.wait_ms,
            self.cpu_percent,
            self.connections_in_use,
            self.memory_percent,
            self.disk_percent,
            self.abandoned_rps,
        ]
    }
}

/// One instance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    /// Its service.
    pub service: u32,
    /// Its zone.
    pub zone: u32,
    /// Index within the service (stable).
    pub index: u32,
    /// Lifecycle.
    pub life: Life,
    /// Version it runs.
    pub version: String,
    /// Whether it loaded a bad config.
    pub bad_config: bool,
    /// A rolling restart scheduled for this tick.
    pub restart_at: Option<u64>,
    /// Whether traffic is drained away from it.
    pub drained: bool,
    /// Memory leaked so far, MB.
    pub leaked_mb: f64,
    /// Disk used, GB.
    pub disk_used_gb: f64,
    /// Clock offset, s.
    pub clock_skew_s: f64,
    /// Requests waiting, at the end of the tick.
    pub queue: f64,
    /// Consecutive failed probes.
    pub probe_fail_streak: u32,
    /// Whether the load balancer considers it healthy.
    pub probe_healthy: bool,
    /// Per-dependency state.
    pub deps: Vec<InstanceDep>,
    /// Fault effects this tick.
    pub fx: InstanceEffects,
    /// Metrics this tick.
    pub m: InstanceTick,
}

impl Instance {
    /// Whether it is neither down nor removed nor booting.
    pub fn is_running(&self) -> bool {
        matches!(self.life, Life::Running { .. })
    }

    /// Whether it is still part of the fleet.
    pub fn exists(&self) -> bool {
        self.life != Life::Removed
    }
}

/// A circuit breaker's settings.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Breaker {
    /// Error share over which it opens, 0–1.
    pub error_share: f64,
    /// Ticks it stays open.
    pub open_ticks: u64,
}

/// One call edge of a service, with its live settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DepState {
    /// The callee.
    pub callee: u32,
    /// Calls per incoming request.
    pub calls_per_request: f64,
    /// Pool size per caller instance.
    pub pool_size: u32,
    /// Call timeout, ms.
    pub timeout_ms: f64,
    /// Retries after a failure.
    pub retries: u32,
    /// Circuit breaker, if any.
    pub breaker: Option<Breaker>,
    /// Open until this tick.
    pub breaker_open_until: Option<u64>,
    /// Whether a failure fails the caller's request.
    pub critical: bool,
    /// Turned off by a feature flag.
    pub disabled: bool,
    /// Calls/s this tick, over all instances.
    pub calls_rps: f64,
    /// Failed calls/s this tick.
    pub failed_rps: f64,
    /// Median call latency, ms (mean over instances).
    pub latency_ms: f64,
}

/// Fault effects on a service, recomputed every tick.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceEffects {
    /// Multiplier of the load offered to it (spike, storm burst).
    pub load_factor: f64,
    /// Share of failed requests its clients retry next tick (retry storm).
    pub storm_retry_share: f64,
    /// TLS certificate expired.
    pub cert_expired: bool,
    /// Quota in requests/s (external API), if limited.
    pub quota_rps: Option<f64>,
    /// Replica lag growth per tick, s.
    pub lag_growth_s_per_tick: f64,
    /// Highest cache hit rate the fault allows, 0–1.
    pub cache_cap: Option<f64>,
    /// Telemetry dark.
    pub telemetry_down: bool,
    /// New name lookups fail (this is a DNS resolver that failed).
    pub dns_failing: bool,
    /// Packet loss on calls to and from it, 0–1.
    pub loss: f64,
}

/// Aggregated metrics of a service this tick.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceTick {
    /// Offered requests/s.
    pub offered_rps: f64,
    /// Successful requests/s.
    pub ok_rps: f64,
    /// Failed requests/s.
    pub failed_rps: f64,
    /// Requests/s shed or rate-limited (not errors).
    pub shed_rps: f64,
    /// Median latency, ms (served-weighted mean of instances).
    pub latency_p50_ms: f64,
    /// 99th percentile latency, ms (highest of serving instances).
    pub latency_p99_ms: f64,
    /// Errors, 0–100.
    pub error_percent: f64,
    /// Mean CPU of running instances.
    pub cpu_percent: f64,
    /// Highest memory use, 0–100.
    pub memory_percent: f64,
    /// Highest disk use, 0–100.
    pub disk_percent: f64,
    /// Connections in use, 0–100 of the limit.
    pub connections_percent: f64,
    /// Offered over capacity, 0–100+.
    pub saturation_percent: f64,
    /// Instances passing probes, 0–100.
    pub healthy_percent: f64,
}

impl ServiceTick {
    /// Every number in it, for checks.
    pub fn values(&self) -> [f64; 13] {
        [
            self.offered_rps,
            self.ok_rps,
            self.failed_rps,
            self.shed_rps,
            self.latency_p50_ms,
            self.latency_p99_ms,
            self.error_percent,
            self.cpu_percent,
            self.memory_percent,
            self.disk_percent,
            self.connections_percent,
            self.saturation_percent,
            self.healthy_percent,
        ]
    }

    /// Whether every number in it is finite (neither NaN nor infinite).
    pub fn is_finite(&self) -> bool {
        self.values().iter().all(|v| v.is_finite())
    }

    /// Replaces any NaN or infinite number by 0 (a guard: none should ever occur).
    pub fn sanitize(&mut self) {
        // Fast path: the sum is finite only if every number is (a NaN or an infinity makes
        // it NaN or infinite; an overflow only sends us to the check below).
        if self.values().iter().sum::<f64>().is_finite() {
            return;
        }
        for v in [
            &mut self.offered_rps,
            &mut self.ok_rps,
            &mut self.failed_rps,
            &mut self.shed_rps,
            &mut self.latency_p50_ms,
            &mut self.latency_p99_ms,
            &mut self.error_percent,
            &mut self.cpu_percent,
            &mut self.memory_percent,
            &mut self.disk_percent,
            &mut self.connections_percent,
            &mut self.saturation_percent,
            &mut self.healthy_percent,
        ] {
            if !v.is_finite() {
                *v = 0.0;
            }
        }
    }
}

/// One service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceState {
    /// The version being deployed (new and restarted instances run it).
    pub version: String,
    /// Versions deployed before, oldest first (rollback goes to the last).
    pub version_history: Vec<String>,
    /// Feature flags.
    pub flags: BTreeMap<String, bool>,
    /// Config values.
    pub config: BTreeMap<String, String>,
    /// Whether the config now pushed is a bad one (restarts load it).
    pub config_bad: bool,
    /// Call edges.
    pub deps: Vec<DepState>,
    /// Share of load shed, 0–1.
    pub shed: f64,
    /// Rate limit, requests/s.
    pub rate_limit_rps: Option<f64>,
    /// A DNS resolver switched to its secondary.
    pub dns_secondary: bool,
    /// Cache hit rate, 0–1 (caches).
    pub cache_hit: f64,
    /// Cache being warmed until this tick.
    pub cache_warm_until: Option<u64>,
    /// Replica lag, s (databases).
    pub replica_lag_s: f64,
    /// Reads routed to the primary (databases).
    pub reads_on_primary: bool,
    /// Next instance index to hand out.
    pub next_index: u32,
    /// Client retries arriving next tick, requests/s.
    pub client_retry_rps: f64,
    /// Share of new connections it refuses (its connection limit is exceeded), 0–1.
    pub conn_refuse: f64,
    /// Entry traffic offered this tick, requests/s (before shedding).
    pub entry_rps: f64,
    /// Instance ids, in creation order.
    pub instances: Vec<u32>,
    /// Fault effects this tick.
    pub fx: ServiceEffects,
    /// Metrics this tick.
    pub m: ServiceTick,
    /// Nothing the load balancer's rotation of its instances depends on (their lives, probes
    /// and drains, its instance list, the zones' drains) changed since the load stage last
    /// computed it, nor their clock skew or disk use (which its leader search also compares):
    /// the next one keeps them (`Fleet::rotation_changed` clears it). Not serialized (a
    /// restored world computes them again).
    #[serde(skip)]
    pub rotation_kept: bool,
    /// No call edge's timeout of this service (`deps[_].timeout_ms`) was written since the
    /// load stage last compared them with the ones its clients' timeouts came from: the next
    /// one need not compare them (cleared wherever one is set). Not serialized.
    #[serde(skip)]
    pub timeouts_kept: bool,
    /// Every instance of it ran, was removed or was down for good (no platform restart
    /// planned: only an operation brings it back), with no restart planned, when the resources
    /// stage last looked (`lifecycle::find_due`), and no instance's life changed since
    /// (`Fleet::rotation_changed` clears it): while no incident strikes one of them, the
    /// lifecycle stage has nothing to do for it. Not serialized.
    #[serde(skip)]
    pub life_kept: bool,
}

/// One zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ZoneState {
    /// Whether it is up.
    pub up: bool,
    /// Traffic drained away.
    pub drained: bool,
    /// Packet loss on calls touching it, 0–1 (this tick).
    pub loss: f64,
    /// CPU steal on its instances, 0–1 (this tick).
    pub steal: f64,
}

/// The fleet: zones, services, instances, and the zone reachability matrix.
#[derive(Resource, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fleet {
    /// Zones by index.
    pub zones: Vec<ZoneState>,
    /// Services by index.
    pub services: Vec<ServiceState>,
    /// Instances by id (creation order; removed ones stay as tombstones).
    pub instances: Vec<Instance>,
    /// `reach[a * zones + b]`: zone `a` can reach zone `b` (this tick).
    pub reach: Vec<bool>,
    /// Some DNS resolver fails new lookups (this tick).
    pub dns_failing: bool,
    /// Which instances share their leader's tick and per-dependency rows (between the
    /// resources stage and the next load stage; see `systems::followers`, and read an
    /// instance's tick with `tick_of`). Not serialized: snapshots and the state hash see
    /// every tick and row materialised.
    #[serde(skip)]
    pub followers: crate::systems::followers::Followers,
}

impl Fleet {
    /// Something service `s`'s rotation or leader search depends on changed (an instance's
    /// life, probes, drain, clock skew or disk, its instance list): the next load stage
    /// computes them again, and the next resources stage looks again for lifecycle work in
    /// it (`ServiceState::life_kept`).
    #[inline]
    pub fn rotation_changed(&mut self, s: u32) {
        if let Some(svc) = self.services.get_mut(s as usize) {
            svc.rotation_kept = false;
            svc.life_kept = false;
        }
    }

    /// Every service's rotation is computed again by the next load stage (a zone's drain).
    pub fn rotation_all_changed(&mut self) {
        for svc in &mut self.services {
            svc.rotation_kept = false;
            svc.life_kept = false;
        }
    }

    /// Whether zone `a` reaches zone `b`.
    pub fn reaches(&self, a: u32, b: u32) -> bool {
        let n = self.zones.len();
        self.reach
            .get(a as usize * n + b as usize)
            .copied()
            .unwrap_or(true)
    }
}
