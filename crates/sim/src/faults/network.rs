//! Network and connectivity faults: pool exhaustion, slow dependency, packet loss, partition,
//! zone outage, DNS failure, expired certificate, noisy neighbour.

use breakathon_scenario::{FaultKind, ServiceKind};

use super::IncidentRuntime;
use crate::model::Model;
use crate::ops;
use crate::state::{DownReason, Fleet, Life};

/// First effects at injection.
pub fn inject(fleet: &mut Fleet, model: &Model, rt: &mut IncidentRuntime, _tick: u64) {
    match &rt.kind {
        FaultKind::ConnectionPoolExhausted { dependency, .. } => {
            let Some(s) = rt.service else { return };
            let spec = model.spec(s);
            let d = dependency
                .as_ref()
                .and_then(|name| spec.dependencies.iter().position(|d| &d.service == name))
                .unwrap_or(0);
            if d < spec.dependencies.len() {
                rt.dep = Some(d as u16);
            }
        }
        FaultKind::ZoneOutage => {
            let Some(z) = rt.zone else { return };
            fleet.zones[z as usize].up = false;
            for id in 0..fleet.instances.len() {
                let inst = &fleet.instances[id];
                if inst.zone == z && inst.exists() {
                    ops::kill(fleet, id as u32, DownReason::ZoneLost, None);
                }
            }
        }
        _ => {}
    }
}

/// Effects this tick.
pub fn apply(fleet: &mut Fleet, model: &Model, rt: &IncidentRuntime, tick: u64) {
    match &rt.kind {
        FaultKind::ConnectionPoolExhausted { pool_size, .. } => {
            let Some(d) = rt.dep else { return };
            rt.for_each_target(fleet, |id, fx| {
                if !rt.suppressed_on(id, tick) {
                    fx.pool_limit = Some((d, *pool_size));
                }
            });
        }
        FaultKind::DependencyLatency { latency_ms } => {
            rt.for_each_target(fleet, |_, fx| fx.extra_latency_ms += latency_ms.max(0.0));
        }
        FaultKind::PacketLoss { loss_percent } => {
            let loss = (loss_percent / 100.0).clamp(0.0, 1.0);
            if let Some(z) = rt.zone {
                let zone = &mut fleet.zones[z as usize];
                zone.loss = zone.loss.max(loss);
            } else if let Some(s) = rt.service {
                let total = fleet.services[s as usize].instances.len().max(1) as f64;
                let share = if rt.instances.is_empty() {
                    1.0
                } else {
                    rt.instances.len() as f64 / total
                };
                let fx = &mut fleet.services[s as usize].fx;
                fx.loss = fx.loss.max(loss * share);
                rt.for_each_target(fleet, |_, fx| fx.loss = fx.loss.max(loss));
            }
        }
        FaultKind::NetworkPartition { from } => {
            let Some(z) = rt.zone else { return };
            let n = fleet.zones.len();
            for other in 0..n {
                if other == z as usize {
                    continue;
                }
                let cut = from.is_empty() || from.iter().any(|f| *f == model.zone_names[other]);
                if cut {
                    fleet.reach[z as usize * n + other] = false;
                    fleet.reach[other * n + z as usize] = false;
                }
            }
            stall_replication_across_cut(fleet, model, z);
        }
        FaultKind::ZoneOutage => {
            if let Some(z) = rt.zone {
                fleet.zones[z as usize].up = false;
            }
        }
        FaultKind::DnsFailure => {
            if let Some(s) = rt.service
                && !fleet.services[s as usize].dns_secondary
            {
                fleet.dns_failing = true;
                fleet.services[s as usize].fx.dns_failing = true;
            }
        }
        FaultKind::CertificateExpired => {
            if let Some(s) = rt.service {
                fleet.services[s as usize].fx.cert_expired = true;
            }
        }
        FaultKind::NoisyNeighbor { steal_percent } => {
            let steal = (steal_percent / 100.0).clamp(0.0, 0.95);
            if let Some(z) = rt.zone {
                let zone = &mut fleet.zones[z as usize];
                zone.steal = zone.steal.max(steal);
            }
        }
        _ => {}
    }
}

/// Undoes effects when the fault expires by itself.
pub fn expire(fleet: &mut Fleet, model: &Model, rt: &IncidentRuntime, tick: u64) {
    if let FaultKind::ZoneOutage = rt.kind
        && let Some(z) = rt.zone
    {
        fleet.zones[z as usize].up = true;
        for id in 0..fleet.instances.len() {
            let inst = &fleet.instances[id];
            if inst.zone == z
                && matches!(
                    inst.life,
                    Life::Down {
                        reason: DownReason::ZoneLost,
                        ..
                    }
                )
            {
                ops::restart(fleet, model, id as u32, tick);
            }
        }
    }
}

/// Replicas diverge across a partition: a database with serving copies on both sides of the
/// cut around zone `z` cannot replicate between them, so its replica lag grows by one second
/// per simulated second (stale reads once it passes [`crate::model::STALE_LAG_S`]). Draining
/// the cut-off zone leaves one side serving, and the lag catches up again.
fn stall_replication_across_cut(fleet: &mut Fleet, model: &Model, z: u32) {
    let n = fleet.zones.len();
    if fleet.zones[z as usize].drained {
        return;
    }
    for s in 0..fleet.services.len() {
        if model.services[s].kind != ServiceKind::Database {
            continue;
        }
        let (mut inside, mut across) = (false, false);
        for &id in &fleet.services[s].instances {
            let inst = &fleet.instances[id as usize];
            if !inst.exists() || inst.drained || fleet.zones[inst.zone as usize].drained {
                continue;
            }
            if inst.zone == z {
                inside = true;
            } else if !fleet.reach[z as usize * n + inst.zone as usize] {
                across = true;
            }
        }
        if inside && across {
            fleet.services[s].fx.lag_growth_s_per_tick += model.tick_s;
        }
    }
}
