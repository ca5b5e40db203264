//! Data and platform faults: disk full, bad config, bad feature flag, cold cache, replica
//! lag, quota exhausted, telemetry outage.

use breakathon_scenario::FaultKind;

use super::IncidentRuntime;
use crate::model::Model;
use crate::state::Fleet;

/// Name of the flag a `bad_feature_flag` turns on when the fault names none and the service
/// has none.
pub const DEFAULT_FLAG: &str = "new_feature";
/// Name of the config key a `bad_config` changes when the fault names none and the service
/// has none.
pub const DEFAULT_CONFIG_KEY: &str = "config";

/// First effects at injection.
pub fn inject(fleet: &mut Fleet, _model: &Model, rt: &mut IncidentRuntime, _tick: u64) {
    let Some(s) = rt.service else { return };
    match &rt.kind {
        FaultKind::BadConfig { key, value, .. } => {
            let svc = &mut fleet.services[s as usize];
            let key = key
                .clone()
                .or_else(|| svc.config.keys().next().cloned())
                .unwrap_or_else(|| DEFAULT_CONFIG_KEY.to_owned());
            svc.config.insert(key.clone(), value.clone());
            svc.config_bad = true;
            rt.name = Some(key);
            for id in rt.targets(fleet) {
                fleet.instances[id as usize].bad_config = true;
            }
        }
        FaultKind::BadFeatureFlag { flag, .. } => {
            let svc = &mut fleet.services[s as usize];
            let flag = flag
                .clone()
                .or_else(|| svc.flags.keys().next().cloned())
                .unwrap_or_else(|| DEFAULT_FLAG.to_owned());
            svc.flags.insert(flag.clone(), true);
            rt.name = Some(flag);
        }
        FaultKind::CacheCold { hit_rate_percent } => {
            let svc = &mut fleet.services[s as usize];
            svc.cache_hit = svc
                .cache_hit
                .min((hit_rate_percent / 100.0).clamp(0.0, 1.0));
            svc.cache_warm_until = None;
        }
        _ => {}
    }
}

/// Effects this tick.
pub fn apply(fleet: &mut Fleet, model: &Model, rt: &IncidentRuntime, _tick: u64) {
    let Some(s) = rt.service else { return };
    match &rt.kind {
        FaultKind::DiskFull { gb_per_min } => {
            let per_tick = gb_per_min / 60.0 * model.tick_s;
            rt.for_each_target(fleet, |_, fx| fx.disk_fill_gb_per_tick += per_tick);
        }
        FaultKind::BadConfig { error_percent, .. } => {
            let share = (error_percent / 100.0).clamp(0.0, 1.0);
            for i in 0..fleet.services[s as usize].instances.len() {
                let id = fleet.services[s as usize].instances[i] as usize;
                let inst = &mut fleet.instances[id];
                if inst.bad_config {
                    inst.fx.config_error = inst.fx.config_error.max(share);
                }
            }
        }
        FaultKind::BadFeatureFlag {
            error_percent,
            latency_ms,
            ..
        } => {
            let on = rt
                .name
                .as_ref()
                .and_then(|f| fleet.services[s as usize].flags.get(f))
                .copied()
                .unwrap_or(false);
            if on {
                let share = (error_percent / 100.0).clamp(0.0, 1.0);
                for i in 0..fleet.services[s as usize].instances.len() {
                    let id = fleet.services[s as usize].instances[i] as usize;
                    let fx = &mut fleet.instances[id].fx;
                    fx.flag_error = fx.flag_error.max(share);
                    fx.flag_latency_ms += latency_ms.max(0.0);
                }
            }
        }
        FaultKind::CacheCold { hit_rate_percent } => {
            fleet.services[s as usize].fx.cache_cap =
                Some((hit_rate_percent / 100.0).clamp(0.0, 1.0));
        }
        FaultKind::ReplicaLag { lag_s_per_min } => {
            fleet.services[s as usize].fx.lag_growth_s_per_tick +=
                lag_s_per_min / 60.0 * model.tick_s;
        }
        FaultKind::QuotaExceeded { quota_rps } => {
            let fx = &mut fleet.services[s as usize].fx;
            fx.quota_rps = Some(fx.quota_rps.map_or(*quota_rps, |q| q.min(*quota_rps)));
        }
        FaultKind::TelemetryOutage => {
            fleet.services[s as usize].fx.telemetry_down = true;
        }
        _ => {}
    }
}

/// Undoes effects when the fault expires by itself.
pub fn expire(fleet: &mut Fleet, model: &Model, rt: &IncidentRuntime, _tick: u64) {
    let Some(s) = rt.service else { return };
    match &rt.kind {
        FaultKind::BadConfig { .. } => {
            revert_config(fleet, model, s);
        }
        FaultKind::BadFeatureFlag { .. } => {
            if let Some(flag) = &rt.name {
                let initial = model.spec(s).flags.get(flag).copied().unwrap_or(false);
                fleet.services[s as usize]
                    .flags
                    .insert(flag.clone(), initial);
            }
        }
        _ => {}
    }
}

/// Puts service `s`'s config back to the scenario's values (and its call settings), and
/// every instance reloads it.
pub fn revert_config(fleet: &mut Fleet, model: &Model, s: u32) {
    let spec = model.spec(s);
    let svc = &mut fleet.services[s as usize];
    svc.config = spec.config.clone();
    svc.config_bad = false;
    svc.rate_limit_rps = None;
    // Call edges' timeouts are set again (`load` compares them again).
    svc.timeouts_kept = false;
    for (dep, d) in svc.deps.iter_mut().zip(&spec.dependencies) {
        dep.pool_size = d.pool_size;
        dep.timeout_ms = d.timeout.as_millis() as f64;
        dep.retries = d.retries;
        dep.breaker = d
            .circuit_breaker
            .as_ref()
            .map(crate::systems::setup::breaker_of(model));
    }
    for i in 0..svc.instances.len() {
        let id = fleet.services[s as usize].instances[i] as usize;
        fleet.instances[id].bad_config = false;
    }
}
