//! Whether an incident's root target is healthy this tick: its health probes pass and the
//! fault's own symptom check holds (disk below the threshold, telemetry flowing, replica lag
//! low, errors within the objective...).

use breakathon_scenario::{FaultClass, FaultKind};

use super::IncidentRuntime;
use crate::model::{Model, NORMAL_CACHE_HIT, STALE_LAG_S};
use crate::state::{Fleet, Life};

/// Disk share over which a disk counts as (nearly) full.
pub const DISK_HEALTHY_SHARE: f64 = 0.9;
/// Memory share over which memory counts as exhausted.
pub const MEMORY_HEALTHY_SHARE: f64 = 0.9;
/// CPU percent over which CPU counts as saturated.
pub const CPU_HEALTHY_PERCENT: f64 = 90.0;
/// Share of the warm hit rate a cache must be back to.
pub const CACHE_HEALTHY_SHARE: f64 = 0.8;
/// Own latency over base latency that still counts as normal.
pub const LATENCY_HEALTHY_FACTOR: f64 = 5.0;

/// Whether every instance of service `s` that should serve (not removed, not drained, zone up
/// and not drained) is running and passes its probe.
pub fn service_probes_ok(fleet: &Fleet, s: u32) -> bool {
    fleet.services[s as usize].instances.iter().all(|&id| {
        let inst = &fleet.instances[id as usize];
        let zone = &fleet.zones[inst.zone as usize];
        if !inst.exists() || inst.drained || zone.drained || !zone.up {
            return true;
        }
        inst.is_running() && inst.probe_healthy
    })
}

/// Whether service `s`'s error rate is within its objective.
pub fn errors_ok(model: &Model, fleet: &Fleet, s: u32) -> bool {
    fleet.services[s as usize].m.error_percent <= model.services[s as usize].slo_error_percent
}

/// Whether service `s` meets its whole objective (errors and p99).
pub fn slo_ok(model: &Model, fleet: &Fleet, s: u32) -> bool {
    let m = &fleet.services[s as usize].m;
    let stat = &model.services[s as usize];
    m.error_percent <= stat.slo_error_percent && m.latency_p99_ms <= stat.slo_p99_ms
}

/// Whether every customer-facing service meets its objective.
pub fn customers_ok(model: &Model, fleet: &Fleet) -> bool {
    (0..model.services.len() as u32)
        .filter(|&s| model.spec(s).customer_facing)
        .all(|s| slo_ok(model, fleet, s))
}

/// Whether instance `inst` served tick `tick` as a running instance passing its probe: an
/// instance that finished booting during this tick (at its end) only serves from the next
/// one, so it does not count yet (the service's `healthy_percent` metric sees it the same way).
fn served_healthy(inst: &crate::state::Instance, tick: u64) -> bool {
    inst.probe_healthy
        && matches!(inst.life, Life::Running { since_tick } if since_tick < tick || tick == 0)
}

/// The incident's health at `tick` (evaluated at the end of the tick).
pub fn healthy(model: &Model, fleet: &Fleet, rt: &IncidentRuntime, tick: u64) -> bool {
    if let Some(z) = rt.zone {
        let zone = &fleet.zones[z as usize];
        let probes = zone.drained
            || fleet.instances.iter().all(|inst| {
                inst.zone != z || !inst.exists() || inst.drained || served_healthy(inst, tick)
            });
        let symptom = match rt.kind.class() {
            FaultClass::ZoneOutage => zone.drained || zone.up,
            _ => true,
        };
        return probes && symptom && customers_ok(model, fleet);
    }
    let Some(s) = rt.service else { return true };
    let svc = &fleet.services[s as usize];
    let stat = &model.services[s as usize];
    let spec = model.spec(s);
    let probes = svc.instances.iter().all(|&id| {
        let inst = &fleet.instances[id as usize];
        let zone = &fleet.zones[inst.zone as usize];
        !inst.exists() || inst.drained || zone.drained || !zone.up || served_healthy(inst, tick)
    });
    // Each running instance's tick (a follower's is its leader's, `Fleet::tick_of`).
    let running = || {
        svc.instances
            .iter()
            .filter(|&&id| fleet.instances[id as usize].is_running())
            .map(|&id| fleet.tick_of(id as usize))
    };
    let symptom = match &rt.kind {
        FaultKind::Crash | FaultKind::ClockSkew { .. } | FaultKind::BadFeatureFlag { .. } => {
            errors_ok(model, fleet, s)
        }
        FaultKind::BadDeploy { version, .. } => {
            errors_ok(model, fleet, s)
                && svc.instances.iter().all(|&id| {
                    let i = &fleet.instances[id as usize];
                    !i.exists() || i.version != *version
                })
        }
        FaultKind::MemoryLeak { .. } => running().all(|i| {
            i.m.cpu_percent >= 0.0 && memory_share(model, fleet, i) < MEMORY_HEALTHY_SHARE
        }),
        FaultKind::CpuSaturation { .. } => {
            running().all(|i| i.m.cpu_percent < CPU_HEALTHY_PERCENT) && slo_ok(model, fleet, s)
        }
        FaultKind::ConnectionPoolExhausted { .. } => errors_ok(model, fleet, s),
        FaultKind::DependencyLatency { .. } => {
            running().all(|i| i.m.own_p50_ms <= spec.base_latency_ms * LATENCY_HEALTHY_FACTOR)
        }
        FaultKind::PacketLoss { .. } => slo_ok(model, fleet, s),
        FaultKind::DnsFailure => {
            !fleet.dns_failing
                && (0..fleet.services.len() as u32).all(|t| errors_ok(model, fleet, t))
        }
        FaultKind::DiskFull { .. } => {
            running().all(|i| i.disk_used_gb < spec.disk_gb * DISK_HEALTHY_SHARE)
        }
        FaultKind::CertificateExpired => {
            !svc.fx.cert_expired
                && stat
                    .callers
                    .iter()
                    .all(|&(c, _)| errors_ok(model, fleet, c))
        }
        FaultKind::BadConfig { .. } => {
            errors_ok(model, fleet, s)
                && svc
                    .instances
                    .iter()
                    .all(|&id| !fleet.instances[id as usize].bad_config)
        }
        FaultKind::CacheCold { .. } => svc.cache_hit >= NORMAL_CACHE_HIT * CACHE_HEALTHY_SHARE,
        FaultKind::RetryStorm { .. } => {
            errors_ok(model, fleet, s) && svc.m.saturation_percent < 100.0
        }
        FaultKind::TrafficSpike { .. } => slo_ok(model, fleet, s),
        FaultKind::ReplicaLag { .. } => svc.reads_on_primary || svc.replica_lag_s < STALE_LAG_S,
        FaultKind::QuotaExceeded { .. } => stat
            .callers
            .iter()
            .all(|&(c, _)| errors_ok(model, fleet, c)),
        FaultKind::TelemetryOutage => !svc.fx.telemetry_down,
        FaultKind::NetworkPartition { .. }
        | FaultKind::ZoneOutage
        | FaultKind::NoisyNeighbor { .. } => customers_ok(model, fleet),
    };
    probes && symptom
}

/// Memory use of an instance as a share of its memory.
pub fn memory_share(model: &Model, fleet: &Fleet, inst: &crate::state::Instance) -> f64 {
    let _ = fleet;
    let spec = model.spec(inst.service);
    if matches!(inst.life, Life::Removed | Life::Down { .. }) {
        return 0.0;
    }
    let base = spec.memory_mb * crate::model::BASE_MEMORY_SHARE;
    let inflight =
        inst.m.served_rps * inst.m.latency_p50_ms / 1000.0 * crate::model::MEMORY_PER_INFLIGHT_MB;
    ((base + inflight + inst.leaked_mb) / spec.memory_mb.max(1.0)).max(0.0)
}
