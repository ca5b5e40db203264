//! The fault catalog in the engine: each active incident changes parameters of the model
//! (capacity, error share, latency, memory growth, reachability, hit rate, quota); load and
//! queueing do the rest. One file per family:
//! [`compute`] (crash, bad deploy, leak, CPU hog, clock skew),
//! [`network`] (pool, latency, packet loss, partition, zone outage, DNS, TLS, noisy neighbour),
//! [`data`] (disk, bad config, feature flag, cache, replica lag, quota, telemetry),
//! [`load`] (retry storm, traffic spike).

pub mod compute;
pub mod data;
pub mod health;
pub mod load;
pub mod network;
pub mod remedy;

use bevy_ecs::prelude::Resource;
use breakathon_scenario::{FaultClass, FaultKind, Remedies};
use serde::{Deserialize, Serialize};

use crate::incident::IncidentStatus;
use crate::model::Model;
use crate::state::{Fleet, InstanceEffects, ServiceEffects};

/// Engine-side facts of one incident.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncidentRuntime {
    /// The fault with its parameters.
    pub kind: FaultKind,
    /// Remedies in force.
    pub remedies: Remedies,
    /// The root service, if the root is a service.
    pub service: Option<u32>,
    /// The root zone, if the root is a zone.
    pub zone: Option<u32>,
    /// The instances it strikes (ids); empty = every instance of the service / zone.
    pub instances: Vec<u32>,
    /// Tick it ends by itself.
    pub end_tick: Option<u64>,
    /// Instances on which a mitigation holds the effect off, until a tick.
    pub suppressed: Vec<(u32, u64)>,
    /// A dependency index the fault is about (pool exhaustion), or a config/flag name.
    pub dep: Option<u16>,
    /// A config key or flag name the fault changed.
    pub name: Option<String>,
}

impl IncidentRuntime {
    /// Whether the effect is held off on instance `id` at `tick`.
    pub fn suppressed_on(&self, id: u32, tick: u64) -> bool {
        self.suppressed
            .iter()
            .any(|&(i, until)| i == id && tick < until)
    }

    /// Whether it strikes instance `id` of `service`.
    pub fn strikes(&self, fleet: &Fleet, id: u32) -> bool {
        if self.instances.is_empty() {
            let inst = &fleet.instances[id as usize];
            self.service.is_none_or(|s| s == inst.service)
                && self.zone.is_none_or(|z| z == inst.zone)
        } else {
            self.instances.contains(&id)
        }
    }

    /// Calls `f` with the id and the effects of every instance it strikes now, in the order of
    /// [`IncidentRuntime::targets`] (without collecting them: this runs every tick).
    pub fn for_each_target(&self, fleet: &mut Fleet, mut f: impl FnMut(u32, &mut InstanceEffects)) {
        let Fleet {
            services,
            instances,
            ..
        } = fleet;
        let mut on = |id: u32| {
            if let Some(inst) = instances.get_mut(id as usize) {
                f(id, &mut inst.fx);
            }
        };
        if !self.instances.is_empty() {
            self.instances.iter().for_each(|&id| on(id));
            return;
        }
        match (self.service, self.zone) {
            (Some(s), _) => services[s as usize].instances.iter().for_each(|&id| on(id)),
            (None, Some(z)) => {
                for (id, inst) in instances.iter_mut().enumerate() {
                    if inst.zone == z {
                        f(id as u32, &mut inst.fx);
                    }
                }
            }
            (None, None) => {}
        }
    }

    /// The instances it strikes now (ids, ascending).
    pub fn targets(&self, fleet: &Fleet) -> Vec<u32> {
        if !self.instances.is_empty() {
            return self.instances.clone();
        }
        match (self.service, self.zone) {
            (Some(s), _) => fleet.services[s as usize].instances.clone(),
            (None, Some(z)) => (0..fleet.instances.len() as u32)
                .filter(|&i| fleet.instances[i as usize].zone == z)
                .collect(),
            (None, None) => Vec::new(),
        }
    }
}

/// Every incident of this world: the public statuses and, index for index, their runtime.
#[derive(Resource, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Incidents {
    /// Public statuses, in injection order.
    pub statuses: Vec<IncidentStatus>,
    /// Runtime facts, same indices.
    pub runtime: Vec<IncidentRuntime>,
    /// Next scheduled incident to inject.
    pub next_scheduled: usize,
    /// Per conditional fault: tick its condition started holding.
    pub when_since: Vec<Option<u64>>,
    /// Per conditional fault: the tick it fired, if it did.
    pub when_fired: Vec<Option<u64>>,
}

/// Whether resolving this class removes its cause (otherwise the cause stays and the remedy
/// makes the fleet healthy despite it: a spike is not stopped by scaling out).
pub fn resolve_removes_cause(class: FaultClass) -> bool {
    !matches!(
        class,
        FaultClass::TrafficSpike
            | FaultClass::ZoneOutage
            | FaultClass::NetworkPartition
            | FaultClass::NoisyNeighbor
    )
}

/// Applies the first effects of an incident at injection.
pub fn inject(fleet: &mut Fleet, model: &Model, rt: &mut IncidentRuntime, tick: u64) {
    match rt.kind.class() {
        FaultClass::Crash
        | FaultClass::BadDeploy
        | FaultClass::MemoryLeak
        | FaultClass::CpuSaturation
        | FaultClass::ClockSkew => compute::inject(fleet, model, rt, tick),
        FaultClass::ConnectionPoolExhausted
        | FaultClass::DependencyLatency
        | FaultClass::PacketLoss
        | FaultClass::NetworkPartition
        | FaultClass::ZoneOutage
        | FaultClass::DnsFailure
        | FaultClass::CertificateExpired
        | FaultClass::NoisyNeighbor => network::inject(fleet, model, rt, tick),
        FaultClass::DiskFull
        | FaultClass::BadConfig
        | FaultClass::BadFeatureFlag
        | FaultClass::CacheCold
        | FaultClass::ReplicaLag
        | FaultClass::QuotaExceeded
        | FaultClass::TelemetryOutage => data::inject(fleet, model, rt, tick),
        FaultClass::RetryStorm | FaultClass::TrafficSpike => {}
    }
}

/// Undoes what must be undone when a fault expires by itself.
pub fn expire(fleet: &mut Fleet, model: &Model, rt: &IncidentRuntime, tick: u64) {
    match rt.kind.class() {
        FaultClass::Crash | FaultClass::ClockSkew => compute::expire(fleet, model, rt, tick),
        FaultClass::ZoneOutage => network::expire(fleet, model, rt, tick),
        FaultClass::BadConfig | FaultClass::BadFeatureFlag => data::expire(fleet, model, rt, tick),
        _ => {}
    }
}

/// A service's effects with no incident: normal load, nothing else.
pub fn neutral_service_effects() -> ServiceEffects {
    ServiceEffects {
        load_factor: 1.0,
        ..ServiceEffects::default()
    }
}

/// Resets every per-tick effect to neutral: of every zone, of the instances `set` (those
/// whose effects may not be neutral: see [`struck_instances`]) or of every instance if
/// `None`, and of the services `services` (see [`touched_services`]) or of every service if
/// `None`.
pub fn reset_effects(fleet: &mut Fleet, set: Option<&[u32]>, services: Option<&[u32]>) {
    for zone in &mut fleet.zones {
        zone.loss = 0.0;
        zone.steal = 0.0;
    }
    match services {
        Some(ids) => {
            for &s in ids {
                fleet.services[s as usize].fx = neutral_service_effects();
            }
        }
        None => {
            for svc in &mut fleet.services {
                svc.fx = neutral_service_effects();
            }
        }
    }
    match set {
        Some(ids) => {
            for &id in ids {
                fleet.instances[id as usize].fx = InstanceEffects::default();
            }
        }
        None => {
            for inst in &mut fleet.instances {
                inst.fx = InstanceEffects::default();
            }
        }
    }
    fleet.reach.iter_mut().for_each(|r| *r = true);
    fleet.dns_failing = false;
}

/// Adds to `ids` every service whose effects [`apply`] may set for the incident `rt`: its root
/// service; returns `false` when it cannot tell (a network partition stalls the replication
/// of any service across the cut) and the caller must take every service.
pub fn touched_services(rt: &IncidentRuntime, ids: &mut Vec<u32>) -> bool {
    ids.extend(rt.service);
    rt.kind.class() != FaultClass::NetworkPartition
}

/// Adds to `ids` every instance whose effects [`apply`] may set for the incident `rt`: none
/// for a fault that sets no instance's effects ([`sets_instance_effects`]), else its
/// instances and those of its root service (some faults act on every instance of the
/// service whatever the targets); returns `false` when it cannot tell (a zone-wide incident:
/// every instance of the zone) and the caller must take every instance.
pub fn struck_instances(fleet: &Fleet, rt: &IncidentRuntime, ids: &mut Vec<u32>) -> bool {
    if !sets_instance_effects(rt) {
        return true;
    }
    ids.extend_from_slice(&rt.instances);
    match (rt.service, rt.zone) {
        (Some(s), _) => {
            ids.extend_from_slice(&fleet.services[s as usize].instances);
            true
        }
        (None, Some(_)) => !rt.instances.is_empty(),
        (None, None) => true,
    }
}

/// Whether [`apply`] may set the effects of some instance for the incident `rt`. Crashes and
/// clock skew act at injection only; the others here set service, zone or reachability
/// effects (a zone's packet loss is the zone's, a service's is also its targets'). The
/// fault-effects stage checks in debug builds that an instance no incident strikes keeps
/// the neutral effects.
pub fn sets_instance_effects(rt: &IncidentRuntime) -> bool {
    match rt.kind.class() {
        FaultClass::BadDeploy
        | FaultClass::MemoryLeak
        | FaultClass::CpuSaturation
        | FaultClass::ConnectionPoolExhausted
        | FaultClass::DependencyLatency
        | FaultClass::DiskFull
        | FaultClass::BadConfig
        | FaultClass::BadFeatureFlag => true,
        FaultClass::PacketLoss => rt.zone.is_none(),
        FaultClass::Crash
        | FaultClass::ClockSkew
        | FaultClass::NetworkPartition
        | FaultClass::ZoneOutage
        | FaultClass::DnsFailure
        | FaultClass::CertificateExpired
        | FaultClass::NoisyNeighbor
        | FaultClass::CacheCold
        | FaultClass::ReplicaLag
        | FaultClass::QuotaExceeded
        | FaultClass::TelemetryOutage
        | FaultClass::RetryStorm
        | FaultClass::TrafficSpike => false,
    }
}

/// Whether [`apply`] may set anything for the incident `rt` (a crash and clock skew act at
/// injection only, and set nothing after: their services and instances keep the neutral
/// effects).
#[inline]
pub fn has_tick_effects(rt: &IncidentRuntime) -> bool {
    !matches!(rt.kind, FaultKind::Crash | FaultKind::ClockSkew { .. })
}

/// Applies the effects of one active incident for this tick.
pub fn apply(
    fleet: &mut Fleet,
    model: &Model,
    rt: &IncidentRuntime,
    status: &IncidentStatus,
    tick: u64,
) {
    match rt.kind.class() {
        FaultClass::Crash
        | FaultClass::BadDeploy
        | FaultClass::MemoryLeak
        | FaultClass::CpuSaturation
        | FaultClass::ClockSkew => compute::apply(fleet, model, rt, tick),
        FaultClass::ConnectionPoolExhausted
        | FaultClass::DependencyLatency
        | FaultClass::PacketLoss
        | FaultClass::NetworkPartition
        | FaultClass::ZoneOutage
        | FaultClass::DnsFailure
        | FaultClass::CertificateExpired
        | FaultClass::NoisyNeighbor => network::apply(fleet, model, rt, tick),
        FaultClass::DiskFull
        | FaultClass::BadConfig
        | FaultClass::BadFeatureFlag
        | FaultClass::CacheCold
        | FaultClass::ReplicaLag
        | FaultClass::QuotaExceeded
        | FaultClass::TelemetryOutage => data::apply(fleet, model, rt, tick),
        FaultClass::RetryStorm | FaultClass::TrafficSpike => {
            load::apply(fleet, model, rt, status.inject_tick, tick)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use breakathon_scenario::{FaultKind, Remedies};

    use super::{
        IncidentRuntime, apply, has_tick_effects, reset_effects, sets_instance_effects,
        struck_instances,
    };
    use crate::FaultSchedule;
    use crate::incident::IncidentStatus;
    use crate::model::Model;
    use crate::schedule::{IncidentId, RootTarget};
    use crate::state::InstanceEffects;
    use crate::systems::setup::initial_fleet;

    /// One fault of every kind (RON, as scenarios write them).
    const KINDS: [&str; 22] = [
        "crash",
        r#"bad_deploy(version: "v-bad")"#,
        "memory_leak(mb_per_min: 50.0)",
        "cpu_saturation(cpu_percent: 60.0)",
        "connection_pool_exhausted(pool_size: 1)",
        "dependency_latency(latency_ms: 300.0)",
        "packet_loss(loss_percent: 5.0)",
        "network_partition()",
        "zone_outage",
        "dns_failure",
        "disk_full(gb_per_min: 2.0)",
        "certificate_expired",
        r#"bad_config(value: "x", error_percent: 20.0)"#,
        r#"bad_feature_flag(flag: Some("f"), error_percent: 20.0, latency_ms: 5.0)"#,
        "cache_cold(hit_rate_percent: 20.0)",
        "retry_storm(factor: 3.0)",
        "traffic_spike(factor: 3.0)",
        "replica_lag(lag_s_per_min: 5.0)",
        "clock_skew(skew_s: 30.0)",
        "noisy_neighbor(steal_percent: 40.0)",
        "quota_exceeded(quota_rps: 10.0)",
        "telemetry_outage",
    ];

    /// A fault that `struck_instances` says strikes no instance (`sets_instance_effects`)
    /// leaves every instance with the neutral effects, whatever its root (a service or a
    /// zone) and targets; a service's packet loss (unlike a zone's) does strike its targets;
    /// one the fault-effects stage skips (`has_tick_effects`) sets nothing at all.
    #[test]
    fn faults_said_to_strike_no_instance_leave_every_instance_neutral() {
        let text = include_str!("../../tests/fixtures/determinism.ron");
        let scenario = Arc::new(breakathon_scenario::parse_unchecked(text).expect("fixture"));
        let schedule = Arc::new(FaultSchedule::compute(&scenario, 1));
        let model = Model::new(scenario, schedule).expect("model");
        let (mut seen_without, mut seen_idle) = (0, 0);
        for text in KINDS {
            let kind: FaultKind = ron::from_str(text).expect(text);
            let status = IncidentStatus::injected(
                IncidentId(0),
                0,
                kind.class(),
                RootTarget::Zone("a".into()),
                0,
            );
            // (service, zone, instances): a whole service, one of its instances, a whole
            // zone, one instance of a zone.
            for (service, zone, instances) in [
                (Some(1), None, vec![]),
                (Some(1), None, vec![2]),
                (None, Some(0), vec![]),
                (None, Some(1), vec![3]),
            ] {
                let mut fleet = initial_fleet(&model);
                for inst in &mut fleet.instances {
                    // What bad configs, deploys and flags act on.
                    inst.bad_config = true;
                    inst.version = "v-bad".into();
                }
                for svc in &mut fleet.services {
                    svc.flags.insert("f".into(), true);
                }
                let rt = IncidentRuntime {
                    kind: kind.clone(),
                    remedies: Remedies::default(),
                    service,
                    zone,
                    instances,
                    end_tick: None,
                    suppressed: Vec::new(),
                    dep: Some(0),
                    name: Some("f".into()),
                };
                reset_effects(&mut fleet, None, None);
                let reset = fleet.clone();
                let mut ids = Vec::new();
                let known = struck_instances(&fleet, &rt, &mut ids);
                apply(&mut fleet, &model, &rt, &status, 10);
                let set: Vec<usize> = (fleet.instances.iter().enumerate())
                    .filter(|(_, inst)| inst.fx != InstanceEffects::default())
                    .map(|(id, _)| id)
                    .collect();
                if !has_tick_effects(&rt) {
                    // Nothing set: the fleet is as the reset left it.
                    let fx = |f: &crate::state::Fleet| -> Vec<_> {
                        f.services.iter().map(|svc| svc.fx).collect()
                    };
                    assert_eq!(fx(&fleet), fx(&reset), "{text}: no service effect");
                    assert_eq!(
                        (&fleet.zones, &fleet.reach, fleet.dns_failing),
                        (&reset.zones, &reset.reach, reset.dns_failing),
                        "{text}: no zone effect"
                    );
                    assert!(set.is_empty(), "{text}: no instance effect");
                    seen_idle += 1;
                }
                if !sets_instance_effects(&rt) {
                    assert!(known && ids.is_empty(), "{text}: nothing struck");
                    assert_eq!(set, Vec::<usize>::new(), "{text} on {service:?} {zone:?}");
                    seen_without += 1;
                } else if known {
                    assert!(
                        set.iter().all(|&id| ids.contains(&(id as u32))),
                        "{text}: every instance it set is struck"
                    );
                }
                if text.starts_with("packet_loss") {
                    assert_eq!(sets_instance_effects(&rt), zone.is_none(), "{text}");
                    assert_eq!(set.is_empty(), zone.is_some(), "{text} on {zone:?}");
                }
            }
        }
        // 13 kinds with any root, and a zone's packet loss.
        assert_eq!(seen_without, 13 * 4 + 2);
        // Crash and clock skew, with any root.
        assert_eq!(seen_idle, 2 * 4);
    }
}
