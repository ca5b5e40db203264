//! Compute faults: crash, crash-looping deploy, memory leak, CPU hog, clock skew.

use breakathon_scenario::FaultKind;

use super::IncidentRuntime;
use crate::model::Model;
use crate::ops;
use crate::state::{DownReason, Fleet, Life};

/// First effects at injection.
pub fn inject(fleet: &mut Fleet, model: &Model, rt: &mut IncidentRuntime, tick: u64) {
    match &rt.kind {
        FaultKind::Crash => {
            for id in rt.targets(fleet) {
                if fleet.instances[id as usize].exists() {
                    ops::kill(fleet, id, DownReason::Crashed, None);
                }
            }
        }
        FaultKind::BadDeploy { version, .. } => {
            let Some(s) = rt.service else { return };
            let svc = &mut fleet.services[s as usize];
            if svc.version != *version {
                let old = std::mem::replace(&mut svc.version, version.clone());
                svc.version_history.push(old);
            }
            rt.name = Some(version.clone());
            for id in rt.targets(fleet) {
                ops::restart(fleet, model, id, tick);
            }
        }
        FaultKind::ClockSkew { skew_s } => {
            if rt.instances.is_empty()
                && let Some(s) = rt.service
            {
                // One instance: the first one serving.
                let first = fleet.services[s as usize]
                    .instances
                    .iter()
                    .copied()
                    .find(|&id| fleet.instances[id as usize].is_running());
                rt.instances.extend(first);
            }
            for id in rt.instances.clone() {
                fleet.instances[id as usize].clock_skew_s = *skew_s;
                let s = fleet.instances[id as usize].service;
                fleet.rotation_changed(s);
            }
        }
        _ => {}
    }
}

/// Effects this tick.
pub fn apply(fleet: &mut Fleet, model: &Model, rt: &IncidentRuntime, tick: u64) {
    match &rt.kind {
        FaultKind::BadDeploy {
            version,
            crash_every,
        } => {
            let Some(s) = rt.service else { return };
            let ticks = crash_every.to_ticks(model.scenario.tick).max(1);
            for i in 0..fleet.services[s as usize].instances.len() {
                let id = fleet.services[s as usize].instances[i] as usize;
                let inst = &mut fleet.instances[id];
                if inst.version == *version {
                    inst.fx.crash_after_ticks = ticks;
                }
            }
        }
        FaultKind::MemoryLeak { mb_per_min } => {
            let per_tick = mb_per_min / 60.0 * model.tick_s;
            rt.for_each_target(fleet, |_, fx| fx.leak_mb_per_tick += per_tick);
        }
        FaultKind::CpuSaturation { cpu_percent } => {
            rt.for_each_target(fleet, |id, fx| {
                if !rt.suppressed_on(id, tick) {
                    fx.hog = (fx.hog + cpu_percent / 100.0).clamp(0.0, 0.99);
                }
            });
        }
        _ => {}
    }
}

/// Undoes effects when the fault expires by itself.
pub fn expire(fleet: &mut Fleet, model: &Model, rt: &IncidentRuntime, tick: u64) {
    match &rt.kind {
        FaultKind::Crash => {
            for id in rt.targets(fleet) {
                if matches!(
                    fleet.instances[id as usize].life,
                    Life::Down {
                        reason: DownReason::Crashed,
                        ..
                    }
                ) {
                    ops::restart(fleet, model, id, tick);
                }
            }
        }
        FaultKind::ClockSkew { .. } => {
            for &id in &rt.instances {
                fleet.instances[id as usize].clock_skew_s = 0.0;
                let s = fleet.instances[id as usize].service;
                fleet.rotation_changed(s);
            }
        }
        _ => {}
    }
}
