//! The fault catalog: each kind of fault with its parameters, its class (what a team declares)
//! and its default remedies (see `shared/design/fault-catalog.md`).

use serde::{Deserialize, Serialize};

use crate::{ActionKind, ServiceKind, SimDuration};

/// What a team declares: the class of a fault, without its parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultClass {
    /// An instance died.
    Crash,
    /// A new version crash-loops.
    BadDeploy,
    /// Memory climbs until OOM.
    MemoryLeak,
    /// A runaway job pins the CPU.
    CpuSaturation,
    /// A caller's connection pool is too small.
    ConnectionPoolExhausted,
    /// A service answers slowly.
    DependencyLatency,
    /// Packets are dropped.
    PacketLoss,
    /// Zones cannot reach each other.
    NetworkPartition,
    /// A whole zone is gone.
    ZoneOutage,
    /// The DNS resolver fails.
    DnsFailure,
    /// The disk filled up.
    DiskFull,
    /// A TLS certificate expired.
    CertificateExpired,
    /// A bad config value was pushed.
    BadConfig,
    /// A feature flag broke a slice of requests.
    BadFeatureFlag,
    /// A cache lost its contents.
    CacheCold,
    /// Retries keep a service overloaded after the trigger is gone.
    RetryStorm,
    /// Many more requests than usual (the celebrity effect).
    TrafficSpike,
    /// A database replica falls behind.
    ReplicaLag,
    /// One instance's clock is wrong.
    ClockSkew,
    /// Another tenant steals CPU in one zone.
    NoisyNeighbor,
    /// An external API's quota ran out.
    QuotaExceeded,
    /// Metrics and logs of a service stopped flowing.
    TelemetryOutage,
}

impl FaultClass {
    /// Every class, in catalog order.
    pub const ALL: [FaultClass; 22] = [
        FaultClass::Crash,
        FaultClass::BadDeploy,
        FaultClass::MemoryLeak,
        FaultClass::CpuSaturation,
        FaultClass::ConnectionPoolExhausted,
        FaultClass::DependencyLatency,
        FaultClass::PacketLoss,
        FaultClass::NetworkPartition,
        FaultClass::ZoneOutage,
        FaultClass::DnsFailure,
        FaultClass::DiskFull,
        FaultClass::CertificateExpired,
        FaultClass::BadConfig,
        FaultClass::BadFeatureFlag,
        FaultClass::CacheCold,
        FaultClass::RetryStorm,
        FaultClass::TrafficSpike,
        FaultClass::ReplicaLag,
        FaultClass::ClockSkew,
        FaultClass::NoisyNeighbor,
        FaultClass::QuotaExceeded,
        FaultClass::TelemetryOutage,
    ];

    /// The snake_case name teams declare.
    pub fn name(self) -> &'static str {
        match self {
            FaultClass::Crash => "crash",
            FaultClass::BadDeploy => "bad_deploy",
            FaultClass::MemoryLeak => "memory_leak",
            FaultClass::CpuSaturation => "cpu_saturation",
            FaultClass::ConnectionPoolExhausted => "connection_pool_exhausted",
            FaultClass::DependencyLatency => "dependency_latency",
            FaultClass::PacketLoss => "packet_loss",
            FaultClass::NetworkPartition => "network_partition",
            FaultClass::ZoneOutage => "zone_outage",
            FaultClass::DnsFailure => "dns_failure",
            FaultClass::DiskFull => "disk_full",
            FaultClass::CertificateExpired => "certificate_expired",
            FaultClass::BadConfig => "bad_config",
            FaultClass::BadFeatureFlag => "bad_feature_flag",
            FaultClass::CacheCold => "cache_cold",
            FaultClass::RetryStorm => "retry_storm",
            FaultClass::TrafficSpike => "traffic_spike",
            FaultClass::ReplicaLag => "replica_lag",
            FaultClass::ClockSkew => "clock_skew",
            FaultClass::NoisyNeighbor => "noisy_neighbor",
            FaultClass::QuotaExceeded => "quota_exceeded",
            FaultClass::TelemetryOutage => "telemetry_outage",
        }
    }

    /// What a team can see when a fault of this class strikes (from the fault catalog).
    pub fn symptoms(self) -> &'static str {
        match self {
            FaultClass::Crash => {
                "one instance down, its probe fails, capacity drops, neighbours get busier"
            }
            FaultClass::BadDeploy => {
                "the new version restarts every few seconds; errors start right after the deploy"
            }
            FaultClass::MemoryLeak => {
                "memory climbs steadily, GC pauses push latency up, then an OOM kill"
            }
            FaultClass::CpuSaturation => {
                "CPU pinned on some instances, latency up, throughput flat"
            }
            FaultClass::ConnectionPoolExhausted => {
                "callers time out waiting for connections while the callee itself is calm"
            }
            FaultClass::DependencyLatency => {
                "its latency rises; callers' latency and timeouts rise; errors propagate upward"
            }
            FaultClass::PacketLoss => "sporadic timeouts and retries; p99 up while p50 is fine",
            FaultClass::NetworkPartition => {
                "cross-zone calls fail; zones cannot reach each other; replicas diverge"
            }
            FaultClass::ZoneOutage => {
                "every instance in one zone gone at once; the survivors overloaded"
            }
            FaultClass::DnsFailure => {
                "new connections fail to resolve; pooled connections keep working"
            }
            FaultClass::DiskFull => {
                "writes fail and logs stop (the team goes partly blind); the probe may still pass"
            }
            FaultClass::CertificateExpired => {
                "every TLS call to one service fails at one precise moment"
            }
            FaultClass::BadConfig => "errors start at a config change; one route or feature fails",
            FaultClass::BadFeatureFlag => "a slice of requests fails or slows after a flag flip",
            FaultClass::CacheCold => {
                "hit rate collapses, load on what is behind the cache multiplies, latency up"
            }
            FaultClass::RetryStorm => "load stays high after the trigger is gone; retries dominate",
            FaultClass::TrafficSpike => {
                "requests multiply, latency rises, queues grow; nothing is broken"
            }
            FaultClass::ReplicaLag => "stale reads and rising replica lag; writes are fine",
            FaultClass::ClockSkew => "token and TTL errors on one instance only",
            FaultClass::NoisyNeighbor => "latency and CPU steal on the instances of one zone only",
            FaultClass::QuotaExceeded => {
                "calls to an external API return 429 above a rate; a feature partly fails"
            }
            FaultClass::TelemetryOutage => {
                "metrics and logs of a service stop while the service itself is healthy"
            }
        }
    }

    /// Whether the root-cause target of this class is a zone (otherwise a service).
    pub fn targets_zone(self) -> bool {
        matches!(
            self,
            FaultClass::NetworkPartition | FaultClass::ZoneOutage | FaultClass::NoisyNeighbor
        )
    }

    /// Whether a fault of this class may be aimed at a zone. Zone-class faults must be;
    /// packet loss may strike a zone or a service.
    pub fn may_target_zone(self) -> bool {
        self.targets_zone() || self == FaultClass::PacketLoss
    }

    /// Whether a fault of this class may be aimed at a service or its instances.
    pub fn may_target_service(self) -> bool {
        !self.targets_zone()
    }

    /// The only service kind a fault of this class makes sense on, if it has one.
    pub fn required_service_kind(self) -> Option<ServiceKind> {
        match self {
            FaultClass::DnsFailure => Some(ServiceKind::Dns),
            FaultClass::CacheCold => Some(ServiceKind::Cache),
            FaultClass::ReplicaLag => Some(ServiceKind::Database),
            FaultClass::QuotaExceeded => Some(ServiceKind::ExternalApi),
            _ => None,
        }
    }

    /// The catalog's default remedies for this class.
    pub fn default_remedies(self) -> Remedies {
        use ActionKind as A;
        let (resolves, mitigates, worsens): (&[A], &[A], &[A]) = match self {
            FaultClass::Crash => (
                &[A::RestartInstance, A::RestartService, A::ScaleOut],
                &[],
                &[],
            ),
            FaultClass::BadDeploy => (
                &[A::Rollback],
                &[],
                &[A::RestartInstance, A::RestartService, A::ScaleOut],
            ),
            FaultClass::MemoryLeak => (
                &[A::Rollback, A::RollForward],
                &[A::RestartInstance, A::RestartService],
                &[A::ScaleIn],
            ),
            FaultClass::CpuSaturation => (
                &[A::Rollback, A::KillJob],
                &[A::ScaleOut, A::RestartInstance, A::RestartService],
                &[],
            ),
            FaultClass::ConnectionPoolExhausted => (
                &[A::SetConfig],
                &[A::RestartInstance, A::RestartService],
                &[A::ScaleOut],
            ),
            FaultClass::DependencyLatency => (
                &[A::RestartService, A::Rollback, A::FailoverZone],
                &[A::SetConfig, A::ShedLoad],
                &[],
            ),
            FaultClass::PacketLoss => (&[A::DrainZone, A::FailoverZone], &[A::SetConfig], &[]),
            FaultClass::NetworkPartition => (&[A::DrainZone, A::FailoverZone], &[], &[]),
            FaultClass::ZoneOutage => (
                &[A::FailoverZone],
                &[A::ShedLoad, A::ScaleOut],
                &[A::RestartService, A::RestartInstance],
            ),
            FaultClass::DnsFailure => (
                &[A::FailoverDns],
                &[],
                &[A::RestartService, A::RestartInstance],
            ),
            FaultClass::DiskFull => (&[A::FreeDisk], &[], &[]),
            FaultClass::CertificateExpired => (
                &[A::RenewCertificate],
                &[],
                &[A::RestartService, A::RestartInstance, A::Rollback],
            ),
            FaultClass::BadConfig => (
                &[A::RevertConfig],
                &[],
                &[A::RestartService, A::RestartInstance],
            ),
            FaultClass::BadFeatureFlag => (&[A::ToggleFlag], &[], &[A::Rollback]),
            FaultClass::CacheCold => (
                &[A::WarmCache],
                &[A::ShedLoad],
                &[A::FlushCache, A::RestartService, A::RestartInstance],
            ),
            FaultClass::RetryStorm => (
                &[A::SetConfig, A::ShedLoad],
                &[A::ScaleOut],
                &[A::RestartService, A::RestartInstance],
            ),
            FaultClass::TrafficSpike => (
                &[A::ScaleOut, A::ShedLoad],
                &[],
                &[A::RestartService, A::RestartInstance],
            ),
            FaultClass::ReplicaLag => (&[A::PromoteReplica], &[A::RouteReadsToPrimary], &[]),
            FaultClass::ClockSkew => (&[A::RestartInstance], &[], &[]),
            FaultClass::NoisyNeighbor => (&[A::DrainZone, A::FailoverZone], &[A::ScaleOut], &[]),
            FaultClass::QuotaExceeded => (&[A::RaiseQuota], &[A::ToggleFlag], &[A::SetConfig]),
            FaultClass::TelemetryOutage => (
                &[A::RestoreTelemetry],
                &[],
                // Acting blind: restarting or rolling back a service nobody can see.
                &[A::RestartService, A::RestartInstance, A::Rollback],
            ),
        };
        Remedies {
            resolves: resolves.to_vec(),
            mitigates: mitigates.to_vec(),
            worsens: worsens.to_vec(),
        }
    }
}

impl std::fmt::Display for FaultClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The actions that resolve a fault, only mitigate it, or make it worse.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remedies {
    /// Taking one of these (then holding health for the sustain window) fixes the incident.
    pub resolves: Vec<ActionKind>,
    /// These bring health back for a while; the cause stays and the effect returns.
    pub mitigates: Vec<ActionKind>,
    /// These make the numbers worse.
    pub worsens: Vec<ActionKind>,
}

/// A fault with its parameters. Every parameter has a catalog default, so `crash` or
/// `memory_leak()` alone is a complete fault.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultKind {
    /// Kills the targeted instances.
    Crash,
    /// Deploys `version`, which crash-loops every `crash_every` after booting.
    BadDeploy {
        /// The broken version's name.
        #[serde(default = "defaults::bad_version")]
        version: String,
        /// How long an instance of the bad version runs before it crashes again.
        #[serde(default = "defaults::crash_every")]
        crash_every: SimDuration,
    },
    /// Memory grows by `mb_per_min` per instance until it is OOM-killed.
    MemoryLeak {
        /// Growth per instance, in MB per simulated minute.
        #[serde(default = "defaults::leak_mb_per_min")]
        mb_per_min: f64,
    },
    /// A runaway job takes `cpu_percent` of each targeted instance's CPU.
    CpuSaturation {
        /// Share of CPU the runaway job takes, 0–100.
        #[serde(default = "defaults::hog_cpu_percent")]
        cpu_percent: f64,
    },
    /// The caller's pool to `dependency` shrinks to `pool_size` connections.
    ConnectionPoolExhausted {
        /// The callee whose pool is exhausted (default: the caller's first dependency).
        #[serde(default)]
        dependency: Option<String>,
        /// The pool size after the fault.
        #[serde(default = "defaults::exhausted_pool_size")]
        pool_size: u32,
    },
    /// Adds `latency_ms` to every request the target serves.
    DependencyLatency {
        /// Extra latency, in milliseconds.
        #[serde(default = "defaults::injected_latency_ms")]
        latency_ms: f64,
    },
    /// Drops `loss_percent` of packets to and from the target.
    PacketLoss {
        /// Percent of packets lost, 0–100.
        #[serde(default = "defaults::loss_percent")]
        loss_percent: f64,
    },
    /// Cuts the target zone off from `from` (default: from every other zone).
    NetworkPartition {
        /// The zones on the other side of the cut (default: all others).
        #[serde(default)]
        from: Vec<String>,
    },
    /// Takes a whole zone down.
    ZoneOutage,
    /// New DNS lookups through the target resolver fail; pooled connections keep working.
    DnsFailure,
    /// Fills the target's disk at `gb_per_min` until writes fail and logging stops.
    DiskFull {
        /// Fill rate, in GB per simulated minute.
        #[serde(default = "defaults::disk_fill_gb_per_min")]
        gb_per_min: f64,
    },
    /// The target's TLS certificate expires: every TLS call to it fails.
    CertificateExpired,
    /// Pushes `value` for config `key`, making `error_percent` of requests fail.
    BadConfig {
        /// The config key that was changed (default: the service's first key).
        #[serde(default)]
        key: Option<String>,
        /// The bad value.
        #[serde(default = "defaults::bad_config_value")]
        value: String,
        /// Percent of requests that fail because of it, 0–100.
        #[serde(default = "defaults::bad_config_error_percent")]
        error_percent: f64,
    },
    /// Turns `flag` on, making `error_percent` of requests fail and adding `latency_ms`.
    BadFeatureFlag {
        /// The flag that was flipped (default: the service's first flag).
        #[serde(default)]
        flag: Option<String>,
        /// Percent of requests that fail, 0–100.
        #[serde(default = "defaults::flag_error_percent")]
        error_percent: f64,
        /// Extra latency on flagged requests, in milliseconds.
        #[serde(default)]
        latency_ms: f64,
    },
    /// The target cache's hit rate falls to `hit_rate_percent` and recovers only when warmed.
    CacheCold {
        /// Hit rate right after the flush, 0–100.
        #[serde(default)]
        hit_rate_percent: f64,
    },
    /// A `factor`× load burst with aggressive client retries that outlives its trigger.
    RetryStorm {
        /// How much offered load the trigger adds, as a multiple of normal.
        #[serde(default = "defaults::storm_factor")]
        factor: f64,
        /// How long the triggering burst lasts.
        #[serde(default = "defaults::storm_burst")]
        burst: SimDuration,
    },
    /// Multiplies the traffic of the target entry point by `factor`, reached over `ramp`.
    TrafficSpike {
        /// Traffic multiple at the peak.
        #[serde(default = "defaults::spike_factor")]
        factor: f64,
        /// How long traffic takes to reach the peak.
        #[serde(default = "defaults::spike_ramp")]
        ramp: SimDuration,
    },
    /// The target database's replica falls behind by `lag_s_per_min` each minute.
    ReplicaLag {
        /// Lag growth, in seconds of lag per simulated minute.
        #[serde(default = "defaults::lag_s_per_min")]
        lag_s_per_min: f64,
    },
    /// One instance's clock is off by `skew_s` seconds; its tokens are rejected.
    ClockSkew {
        /// Clock offset, in seconds.
        #[serde(default = "defaults::skew_s")]
        skew_s: f64,
    },
    /// Another tenant steals `steal_percent` of CPU on every instance in the target zone.
    NoisyNeighbor {
        /// CPU steal, 0–100.
        #[serde(default = "defaults::steal_percent")]
        steal_percent: f64,
    },
    /// The target external API starts answering 429 above `quota_rps`.
    QuotaExceeded {
        /// Requests per second the quota still allows.
        #[serde(default = "defaults::quota_rps")]
        quota_rps: f64,
    },
    /// Metrics and logs of the target stop flowing; the service itself is fine.
    TelemetryOutage,
}

impl FaultKind {
    /// The class a team declares for this fault.
    pub fn class(&self) -> FaultClass {
        match self {
            FaultKind::Crash => FaultClass::Crash,
            FaultKind::BadDeploy { .. } => FaultClass::BadDeploy,
            FaultKind::MemoryLeak { .. } => FaultClass::MemoryLeak,
            FaultKind::CpuSaturation { .. } => FaultClass::CpuSaturation,
            FaultKind::ConnectionPoolExhausted { .. } => FaultClass::ConnectionPoolExhausted,
            FaultKind::DependencyLatency { .. } => FaultClass::DependencyLatency,
            FaultKind::PacketLoss { .. } => FaultClass::PacketLoss,
            FaultKind::NetworkPartition { .. } => FaultClass::NetworkPartition,
            FaultKind::ZoneOutage => FaultClass::ZoneOutage,
            FaultKind::DnsFailure => FaultClass::DnsFailure,
            FaultKind::DiskFull { .. } => FaultClass::DiskFull,
            FaultKind::CertificateExpired => FaultClass::CertificateExpired,
            FaultKind::BadConfig { .. } => FaultClass::BadConfig,
            FaultKind::BadFeatureFlag { .. } => FaultClass::BadFeatureFlag,
            FaultKind::CacheCold { .. } => FaultClass::CacheCold,
            FaultKind::RetryStorm { .. } => FaultClass::RetryStorm,
            FaultKind::TrafficSpike { .. } => FaultClass::TrafficSpike,
            FaultKind::ReplicaLag { .. } => FaultClass::ReplicaLag,
            FaultKind::ClockSkew { .. } => FaultClass::ClockSkew,
            FaultKind::NoisyNeighbor { .. } => FaultClass::NoisyNeighbor,
            FaultKind::QuotaExceeded { .. } => FaultClass::QuotaExceeded,
            FaultKind::TelemetryOutage => FaultClass::TelemetryOutage,
        }
    }
}

/// Catalog defaults for fault parameters.
pub(crate) mod defaults {
    use crate::SimDuration;

    pub fn bad_version() -> String {
        "v-bad".to_owned()
    }
    pub fn crash_every() -> SimDuration {
        SimDuration::from_secs(20)
    }
    pub fn leak_mb_per_min() -> f64 {
        64.0
    }
    pub fn hog_cpu_percent() -> f64 {
        70.0
    }
    pub fn exhausted_pool_size() -> u32 {
        2
    }
    pub fn injected_latency_ms() -> f64 {
        800.0
    }
    pub fn loss_percent() -> f64 {
        10.0
    }
    pub fn disk_fill_gb_per_min() -> f64 {
        2.0
    }
    pub fn bad_config_value() -> String {
        "0".to_owned()
    }
    pub fn bad_config_error_percent() -> f64 {
        40.0
    }
    pub fn flag_error_percent() -> f64 {
        25.0
    }
    pub fn storm_factor() -> f64 {
        3.0
    }
    pub fn storm_burst() -> SimDuration {
        SimDuration::from_secs(60)
    }
    pub fn spike_factor() -> f64 {
        10.0
    }
    pub fn spike_ramp() -> SimDuration {
        SimDuration::from_mins(3)
    }
    pub fn lag_s_per_min() -> f64 {
        30.0
    }
    pub fn skew_s() -> f64 {
        300.0
    }
    pub fn steal_percent() -> f64 {
        40.0
    }
    pub fn quota_rps() -> f64 {
        20.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_resolves_somehow_and_names_match_serde() {
        for class in FaultClass::ALL {
            assert!(!class.default_remedies().resolves.is_empty(), "{class}");
            assert_eq!(ron::to_string(&class).unwrap(), class.name());
        }
    }

    #[test]
    fn remedy_lists_are_disjoint() {
        for class in FaultClass::ALL {
            let r = class.default_remedies();
            for a in &r.resolves {
                assert!(
                    !r.mitigates.contains(a) && !r.worsens.contains(a),
                    "{class}: {a}"
                );
            }
            for a in &r.mitigates {
                assert!(!r.worsens.contains(a), "{class}: {a}");
            }
        }
    }
}
