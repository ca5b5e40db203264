//! Stage 2: team actions. Validation (at submit time) and, at the tick boundary, each action's
//! natural effect on the model, then what it means for each open incident (resolve, mitigate,
//! worsen — see `faults::remedy`).

use bevy_ecs::prelude::*;
use breakathon_scenario::{ActionKind, FaultClass, ServiceKind};

use crate::action::{Action, echo};
use crate::error::ActionError;
use crate::faults::remedy::{Verdict, bare_key, classify};
use crate::faults::{Incidents, data, resolve_removes_cause};
use crate::model::{
    CACHE_WARM_S, DEFAULT_SHED_PERCENT, FAULT_RETURN_S, MAX_SCALE_COUNT, MAX_SHED_PERCENT, Model,
};
use crate::ops;
use crate::state::{Clock, DownReason, Fleet, Life};
use crate::systems::{ActionQueue, PendingLogs, followers};
use crate::telemetry::LogLevel;

/// Most mitigations (and, separately, worsenings) recorded per incident.
pub const MAX_REMEDY_RECORDS: usize = 64;
/// Most retries a `set_config retries` accepts (the scenario's own bound).
pub const MAX_RETRIES: u32 = breakathon_scenario::validate::MAX_RETRIES;
/// Largest pool a `set_config pool_size` accepts (the scenario's own bound).
pub const MAX_POOL_SIZE: u32 = breakathon_scenario::validate::MAX_POOL_SIZE;
/// Most characters of a `set_config` value.
pub const MAX_CONFIG_VALUE_CHARS: usize = 256;
/// Most characters of a version name (`rollback` / `roll_forward`).
pub const MAX_VERSION_CHARS: usize = 64;
/// The config keys every service understands (besides its own, from the scenario).
pub const KNOWN_CONFIG_KEYS: [&str; 5] = [
    "circuit_breaker",
    "pool_size",
    "rate_limit",
    "retries",
    "timeout",
];

/// The action stage (run by `systems::early_stages`).
pub fn team_actions(
    model: &Model,
    clock: &Clock,
    queue: &mut ActionQueue,
    fleet: &mut Fleet,
    incidents: &mut Incidents,
    logs: &mut PendingLogs,
) {
    if queue.pending.is_empty() {
        return;
    }
    let tick = clock.tick;
    let pending = std::mem::take(&mut queue.pending);
    for action in pending {
        // Re-validate: the fleet may have changed since submission.
        let Ok(target) = validate(model, fleet, &action) else {
            continue;
        };
        // Classify against incidents before the natural effect (it may move instances).
        let verdicts: Vec<Verdict> = incidents
            .runtime
            .iter()
            .zip(&incidents.statuses)
            .map(|(rt, st)| {
                if st.active {
                    classify(model, fleet, rt, &action, target.service, target.zone)
                } else {
                    Verdict::Unrelated
                }
            })
            .collect();
        apply(model, fleet, &action, &target, tick, logs);
        let incidents = &mut *incidents;
        for (k, verdict) in verdicts.into_iter().enumerate() {
            let status = &mut incidents.statuses[k];
            let rt = &mut incidents.runtime[k];
            match verdict {
                Verdict::Resolves => {
                    if status.resolved_tick.is_none() {
                        status.resolved_tick = Some(tick);
                    }
                    if resolve_removes_cause(status.class) {
                        status.active = false;
                    }
                }
                Verdict::Mitigates => {
                    if status.mitigations.len() < MAX_REMEDY_RECORDS {
                        status.mitigations.push((tick, action.kind));
                    }
                    if matches!(
                        status.class,
                        FaultClass::CpuSaturation | FaultClass::ConnectionPoolExhausted
                    ) && matches!(
                        action.kind,
                        ActionKind::RestartInstance | ActionKind::RestartService
                    ) && let Some(s) = target.service
                    {
                        let boot = model.services[s as usize].boot_ticks;
                        let until = tick + boot * 2 + model.secs_to_ticks(FAULT_RETURN_S);
                        for id in restarted(fleet, &action, &target) {
                            rt.suppressed.retain(|&(i, _)| i != id);
                            rt.suppressed.push((id, until));
                        }
                    }
                }
                Verdict::Worsens => {
                    if status.worsenings.len() < MAX_REMEDY_RECORDS {
                        status.worsenings.push((tick, action.kind));
                    }
                }
                Verdict::Unrelated => {}
            }
        }
    }
}

/// The resolved target of a valid action.
#[derive(Clone, Copy, Debug, Default)]
pub struct ActionTarget {
    /// Service index.
    pub service: Option<u32>,
    /// Zone index.
    pub zone: Option<u32>,
    /// Instance id.
    pub instance: Option<u32>,
}

fn restarted(fleet: &Fleet, action: &Action, target: &ActionTarget) -> Vec<u32> {
    match (action.kind, target.service, target.instance) {
        (ActionKind::RestartInstance, _, Some(id)) => vec![id],
        (_, Some(s), _) => fleet.services[s as usize].instances.clone(),
        _ => Vec::new(),
    }
}

fn missing(action: &Action, what: &str) -> ActionError {
    ActionError::Missing {
        action: action.kind.name().to_owned(),
        what: what.to_owned(),
    }
}

fn bad(action: &Action, reason: String) -> ActionError {
    ActionError::BadParam {
        action: action.kind.name().to_owned(),
        reason,
    }
}

/// Checks an action against the fleet: targets exist, the action fits the service kind, the
/// parameters make sense.
pub fn validate(
    model: &Model,
    fleet: &Fleet,
    action: &Action,
) -> Result<ActionTarget, ActionError> {
    let mut target = ActionTarget::default();
    if let Some(name) = &action.service {
        let s = *model
            .service_index
            .get(name)
            .ok_or_else(|| ActionError::UnknownService(echo(name)))?;
        target.service = Some(s);
        let kind = model.services[s as usize].kind;
        if !action.kind.valid_for(kind) {
            let valid: Vec<&str> = action.kind.valid_kinds().iter().map(|k| k.name()).collect();
            return Err(ActionError::InvalidForKind {
                action: action.kind.name().to_owned(),
                service: name.clone(),
                kind: kind.name().to_owned(),
                valid: valid.join(", "),
            });
        }
    }
    if let Some(name) = &action.zone {
        let z = *model
            .zone_index
            .get(name)
            .ok_or_else(|| ActionError::UnknownZone(echo(name)))?;
        target.zone = Some(z);
    }
    if action.kind.targets_zone() {
        if target.zone.is_none() {
            return Err(missing(action, "a zone"));
        }
    } else if target.service.is_none() {
        return Err(missing(action, "a service"));
    }
    if let Some(index) = action.instance {
        let s = target
            .service
            .ok_or_else(|| missing(action, "a service for the instance"))?;
        let id = fleet.services[s as usize]
            .instances
            .iter()
            .copied()
            .find(|&id| {
                let inst = &fleet.instances[id as usize];
                inst.index == index && inst.exists()
            })
            .ok_or_else(|| ActionError::UnknownInstance {
                service: model.services[s as usize].name.clone(),
                index,
            })?;
        target.instance = Some(id);
    }
    let p = &action.params;
    if let Some(v) = &p.version {
        check_version(action, v)?;
    }
    match action.kind {
        ActionKind::RestartInstance if target.instance.is_none() => {
            return Err(missing(action, "an instance index"));
        }
        ActionKind::ScaleOut | ActionKind::ScaleIn => {
            let count = p.count.unwrap_or(1);
            if count == 0 || count > MAX_SCALE_COUNT {
                return Err(bad(
                    action,
                    format!("count must be between 1 and {MAX_SCALE_COUNT}, not {count}"),
                ));
            }
            if action.kind == ActionKind::ScaleIn
                && let Some(s) = target.service
            {
                let existing = fleet.services[s as usize]
                    .instances
                    .iter()
                    .filter(|&&id| fleet.instances[id as usize].exists())
                    .count();
                if existing <= count as usize {
                    return Err(bad(
                        action,
                        format!("the service has {existing} instances; at least one must stay"),
                    ));
                }
            }
        }
        ActionKind::Rollback => {
            let s = target.service.unwrap_or(0) as usize;
            let svc = &fleet.services[s];
            match &p.version {
                Some(v) => {
                    let known = svc.version_history.contains(v)
                        || model.spec(s as u32).rollback_versions.contains(v)
                        || model.spec(s as u32).version == *v;
                    if !known {
                        return Err(bad(
                            action,
                            format!("no earlier version `{}` to roll back to", echo(v)),
                        ));
                    }
                }
                None if svc.version_history.is_empty() => {
                    return Err(bad(
                        action,
                        "there is no earlier version to roll back to".into(),
                    ));
                }
                None => {}
            }
        }
        ActionKind::SetConfig => {
            let key = p
                .key
                .as_deref()
                .ok_or_else(|| missing(action, "a config key"))?;
            let value = p
                .value
                .as_deref()
                .ok_or_else(|| missing(action, "a value"))?;
            let s = target.service.unwrap_or(0);
            if let Some((dep, _)) = key.rsplit_once('.')
                && !model.spec(s).dependencies.iter().any(|d| d.service == dep)
            {
                return Err(bad(
                    action,
                    format!("`{}` is not a dependency of this service", echo(dep)),
                ));
            }
            check_config_key(model, fleet, s, action, key)?;
            if value.chars().count() > MAX_CONFIG_VALUE_CHARS {
                return Err(bad(
                    action,
                    format!("a config value has at most {MAX_CONFIG_VALUE_CHARS} characters"),
                ));
            }
            parse_config(bare_key(key), value).map_err(|reason| bad(action, reason))?;
        }
        ActionKind::ToggleFlag => {
            let flag = p
                .flag
                .as_deref()
                .ok_or_else(|| missing(action, "a flag name"))?;
            let s = target.service.unwrap_or(0) as usize;
            if !fleet.services[s].flags.contains_key(flag) {
                let known: Vec<&str> = fleet.services[s].flags.keys().map(String::as_str).collect();
                let reason = if known.is_empty() {
                    format!(
                        "unknown flag `{}`: this service has no feature flags",
                        echo(flag)
                    )
                } else {
                    format!(
                        "unknown flag `{}` (flags: {})",
                        echo(flag),
                        known.join(", ")
                    )
                };
                return Err(bad(action, reason));
            }
        }
        ActionKind::ShedLoad => {
            let level = p.level_percent.unwrap_or(DEFAULT_SHED_PERCENT);
            if !(0.0..=MAX_SHED_PERCENT).contains(&level) {
                return Err(bad(
                    action,
                    format!("level must be between 0 and {MAX_SHED_PERCENT} percent"),
                ));
            }
        }
        _ => {}
    }
    Ok(target)
}

/// A version name: 1 to [`MAX_VERSION_CHARS`] characters, none of them control characters.
fn check_version(action: &Action, version: &str) -> Result<(), ActionError> {
    let v = version.trim();
    if v.is_empty() || v.chars().count() > MAX_VERSION_CHARS || v.chars().any(char::is_control) {
        return Err(bad(
            action,
            format!("a version has 1 to {MAX_VERSION_CHARS} characters and no control characters"),
        ));
    }
    Ok(())
}

/// A config key a team may set on service `s`: one every service understands (possibly
/// prefixed with a dependency), or one the service has — from the scenario, or changed by a
/// fault (a `bad_config` fault's key is one of the service's, so it stays settable).
fn check_config_key(
    model: &Model,
    fleet: &Fleet,
    s: u32,
    action: &Action,
    key: &str,
) -> Result<(), ActionError> {
    let spec_keys = &model.spec(s).config;
    let live_keys = &fleet.services[s as usize].config;
    if KNOWN_CONFIG_KEYS.contains(&bare_key(key))
        || spec_keys.contains_key(key)
        || live_keys.contains_key(key)
    {
        return Ok(());
    }
    let mut known: Vec<&str> = KNOWN_CONFIG_KEYS.to_vec();
    known.extend(spec_keys.keys().map(String::as_str));
    known.extend(live_keys.keys().map(String::as_str));
    known.sort_unstable();
    known.dedup();
    Err(bad(
        action,
        format!(
            "unknown config key `{}` (keys: {})",
            echo(key),
            known.join(", ")
        ),
    ))
}

/// A parsed config value of a known key.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ConfigValue {
    /// `pool_size`.
    PoolSize(u32),
    /// `timeout`, ms.
    TimeoutMs(f64),
    /// `retries`.
    Retries(u32),
    /// `rate_limit`, requests/s (`None` = off).
    RateLimit(Option<f64>),
    /// `circuit_breaker` on/off.
    Breaker(bool),
    /// Any other key: stored as text.
    Other,
}

/// Parses `value` for `key`.
pub fn parse_config(key: &str, value: &str) -> Result<ConfigValue, String> {
    let v = value.trim();
    match key {
        "pool_size" => match v.parse::<u32>() {
            Ok(n) if (1..=MAX_POOL_SIZE).contains(&n) => Ok(ConfigValue::PoolSize(n)),
            _ => Err(format!(
                "pool_size must be a whole number from 1 to {MAX_POOL_SIZE}"
            )),
        },
        "timeout" => {
            let ms = v.parse::<f64>().ok().or_else(|| {
                v.parse::<breakathon_scenario::SimDuration>()
                    .ok()
                    .map(|d| d.as_millis() as f64)
            });
            match ms {
                Some(ms) if ms > 0.0 && ms.is_finite() => Ok(ConfigValue::TimeoutMs(ms)),
                _ => Err("timeout must be a duration like \"500ms\" or \"2s\"".into()),
            }
        }
        "retries" => match v.parse::<u32>() {
            Ok(n) if n <= MAX_RETRIES => Ok(ConfigValue::Retries(n)),
            _ => Err(format!(
                "retries must be a whole number from 0 to {MAX_RETRIES}"
            )),
        },
        "rate_limit" => {
            if v == "off" {
                return Ok(ConfigValue::RateLimit(None));
            }
            match v.parse::<f64>() {
                Ok(0.0) => Ok(ConfigValue::RateLimit(None)),
                Ok(x) if x > 0.0 && x.is_finite() => Ok(ConfigValue::RateLimit(Some(x))),
                _ => Err("rate_limit must be requests per second, or `off`".into()),
            }
        }
        "circuit_breaker" => match v {
            "on" | "true" => Ok(ConfigValue::Breaker(true)),
            "off" | "false" => Ok(ConfigValue::Breaker(false)),
            _ => Err("circuit_breaker must be `on` or `off`".into()),
        },
        _ => Ok(ConfigValue::Other),
    }
}

/// Applies the natural effect of a valid action.
pub fn apply(
    model: &Model,
    fleet: &mut Fleet,
    action: &Action,
    target: &ActionTarget,
    tick: u64,
    logs: &mut PendingLogs,
) {
    let p = &action.params;
    let s = target.service;
    let mut note = |s: u32, text: String| logs.lines.push((s, None, LogLevel::Info, text));
    match action.kind {
        ActionKind::RestartInstance => {
            if let Some(id) = target.instance {
                ops::restart(fleet, model, id, tick);
            }
        }
        ActionKind::RestartService => {
            if let Some(s) = s {
                ops::rolling_restart(fleet, model, s, tick, |_| true);
                note(s, "rolling restart started".into());
            }
        }
        ActionKind::Rollback | ActionKind::RollForward => {
            let Some(s) = s else { return };
            let svc = &mut fleet.services[s as usize];
            let current = svc.version.clone();
            let new = if action.kind == ActionKind::Rollback {
                match &p.version {
                    Some(v) => {
                        svc.version_history.retain(|h| h != v);
                        v.clone()
                    }
                    None => match svc.version_history.pop() {
                        Some(v) => v,
                        None => return,
                    },
                }
            } else {
                let v = p
                    .version
                    .clone()
                    .unwrap_or_else(|| format!("{current}-patch"));
                svc.version_history.push(current.clone());
                v
            };
            svc.version = new.clone();
            note(s, format!("deploy: {current} -> {new}"));
            ops::rolling_restart(fleet, model, s, tick, |inst| inst.version != new);
        }
        ActionKind::ScaleOut => {
            let Some(s) = s else { return };
            // Dead instances are replaced.
            for i in 0..fleet.services[s as usize].instances.len() {
                let id = fleet.services[s as usize].instances[i];
                if matches!(
                    fleet.instances[id as usize].life,
                    Life::Down {
                        reason: DownReason::Crashed,
                        ..
                    }
                ) {
                    ops::remove(fleet, id);
                }
            }
            let count = p.count.unwrap_or(1);
            for _ in 0..count {
                let Some(zone) = emptiest_zone(model, fleet, s, None) else {
                    break;
                };
                ops::add_instance(fleet, model, s, zone, tick);
            }
            note(s, format!("scaling out by {count}"));
        }
        ActionKind::ScaleIn => {
            let Some(s) = s else { return };
            let count = p.count.unwrap_or(1) as usize;
            let ids: Vec<u32> = fleet.services[s as usize]
                .instances
                .iter()
                .rev()
                .copied()
                .filter(|&id| fleet.instances[id as usize].exists())
                .take(count)
                .collect();
            for id in ids {
                ops::remove(fleet, id);
            }
            note(s, format!("scaling in by {count}"));
        }
        ActionKind::DrainZone | ActionKind::UndrainZone | ActionKind::FailoverZone => {
            let Some(z) = target.zone else { return };
            let drain = action.kind != ActionKind::UndrainZone;
            match (s, target.instance) {
                (_, Some(id)) => {
                    fleet.instances[id as usize].drained = drain;
                    let s = fleet.instances[id as usize].service;
                    fleet.rotation_changed(s);
                }
                (Some(s), None) => {
                    for i in 0..fleet.services[s as usize].instances.len() {
                        let id = fleet.services[s as usize].instances[i] as usize;
                        if fleet.instances[id].zone == z {
                            fleet.instances[id].drained = drain;
                        }
                    }
                    fleet.rotation_changed(s);
                }
                (None, None) => {
                    fleet.zones[z as usize].drained = drain;
                    fleet.rotation_all_changed();
                }
            }
            if action.kind == ActionKind::FailoverZone {
                let services: Vec<u32> = match s {
                    Some(s) => vec![s],
                    None => (0..fleet.services.len() as u32).collect(),
                };
                for s in services {
                    let lost = fleet.services[s as usize]
                        .instances
                        .iter()
                        .filter(|&&id| {
                            let inst = &fleet.instances[id as usize];
                            inst.exists() && inst.zone == z
                        })
                        .count();
                    for _ in 0..lost {
                        let Some(zone) = emptiest_zone(model, fleet, s, Some(z)) else {
                            break;
                        };
                        ops::add_instance(fleet, model, s, zone, tick);
                    }
                }
            }
        }
        ActionKind::SetConfig => {
            let Some(s) = s else { return };
            let (Some(key), Some(value)) = (p.key.as_deref(), p.value.as_deref()) else {
                return;
            };
            let only_dep: Option<u32> = key
                .rsplit_once('.')
                .and_then(|(dep, _)| model.service_index.get(dep).copied());
            let Ok(parsed) = parse_config(bare_key(key), value) else {
                return;
            };
            let svc = &mut fleet.services[s as usize];
            svc.config.insert(key.to_owned(), value.to_owned());
            // A call edge's timeout may change (`load` compares them again).
            svc.timeouts_kept = false;
            if let ConfigValue::RateLimit(limit) = parsed {
                svc.rate_limit_rps = limit;
            }
            let default_breaker = crate::state::Breaker {
                error_share: 0.5,
                open_ticks: model.secs_to_ticks(30),
            };
            for dep in &mut svc.deps {
                if only_dep.is_some_and(|c| c != dep.callee) {
                    continue;
                }
                match parsed {
                    ConfigValue::PoolSize(n) => dep.pool_size = n,
                    ConfigValue::TimeoutMs(ms) => dep.timeout_ms = ms,
                    ConfigValue::Retries(n) => dep.retries = n,
                    ConfigValue::Breaker(on) => {
                        dep.breaker = on.then(|| dep.breaker.unwrap_or(default_breaker));
                        if !on {
                            dep.breaker_open_until = None;
                        }
                    }
                    ConfigValue::RateLimit(_) | ConfigValue::Other => {}
                }
            }
            note(s, format!("config: {key} = {value}"));
        }
        ActionKind::RevertConfig => {
            if let Some(s) = s {
                data::revert_config(fleet, model, s);
                note(s, "config reverted to last known good".into());
            }
        }
        ActionKind::ToggleFlag => {
            let (Some(s), Some(flag)) = (s, p.flag.as_deref()) else {
                return;
            };
            let on = p.enabled.unwrap_or(false);
            fleet.services[s as usize].flags.insert(flag.to_owned(), on);
            refresh_flag_gates(model, fleet, s);
            note(s, format!("feature flag {flag} = {on}"));
        }
        ActionKind::WarmCache => {
            if let Some(s) = s {
                fleet.services[s as usize].cache_warm_until =
                    Some(tick + model.secs_to_ticks(CACHE_WARM_S));
            }
        }
        ActionKind::FlushCache => {
            if let Some(s) = s {
                let svc = &mut fleet.services[s as usize];
                svc.cache_hit = 0.0;
                svc.cache_warm_until = None;
            }
        }
        ActionKind::FreeDisk => {
            if let Some(s) = s {
                let base = model.spec(s).disk_gb * crate::model::BASE_DISK_SHARE;
                // Its followers' disks are their leaders' until they hold their own.
                followers::materialise_service(fleet, s as usize);
                for i in 0..fleet.services[s as usize].instances.len() {
                    let id = fleet.services[s as usize].instances[i] as usize;
                    fleet.instances[id].disk_used_gb = base;
                }
                fleet.rotation_changed(s);
                note(s, "logs rotated, disk freed".into());
            }
        }
        ActionKind::ShedLoad => {
            if let Some(s) = s {
                let level = p.level_percent.unwrap_or(DEFAULT_SHED_PERCENT);
                fleet.services[s as usize].shed = (level / 100.0).clamp(0.0, 1.0);
            }
        }
        ActionKind::PromoteReplica => {
            if let Some(s) = s {
                let svc = &mut fleet.services[s as usize];
                svc.replica_lag_s = 0.0;
                svc.reads_on_primary = false;
            }
        }
        ActionKind::RouteReadsToPrimary => {
            if let Some(s) = s {
                fleet.services[s as usize].reads_on_primary = true;
            }
        }
        ActionKind::FailoverDns => {
            if let Some(s) = s
                && model.services[s as usize].kind == ServiceKind::Dns
            {
                fleet.services[s as usize].dns_secondary = true;
            }
        }
        ActionKind::RenewCertificate
        | ActionKind::RaiseQuota
        | ActionKind::RestoreTelemetry
        | ActionKind::KillJob => {
            if let Some(s) = s {
                note(s, format!("{} done", action.kind.name()));
            }
        }
    }
}

/// The zone (among the service's zones, up and not drained, not `avoid`) with the fewest
/// existing instances; ties go to the earlier zone.
fn emptiest_zone(model: &Model, fleet: &Fleet, s: u32, avoid: Option<u32>) -> Option<u32> {
    let mut own: Vec<u32> = model.services[s as usize].zones.clone();
    own.retain(|&z| {
        Some(z) != avoid && fleet.zones[z as usize].up && !fleet.zones[z as usize].drained
    });
    own.into_iter().min_by_key(|&z| {
        fleet.services[s as usize]
            .instances
            .iter()
            .filter(|&&id| {
                let inst = &fleet.instances[id as usize];
                inst.exists() && inst.zone == z
            })
            .count()
    })
}

/// A dependency is turned off when the caller has a flag named after the callee
/// (`<callee>`, `use_<callee>` or `<callee>_enabled`) and that flag is off.
pub fn refresh_flag_gates(model: &Model, fleet: &mut Fleet, s: u32) {
    let svc = &mut fleet.services[s as usize];
    for dep in &mut svc.deps {
        let callee = &model.services[dep.callee as usize].name;
        let gate = [
            callee.clone(),
            format!("use_{callee}"),
            format!("{callee}_enabled"),
        ]
        .into_iter()
        .find_map(|name| svc.flags.get(&name).copied());
        dep.disabled = gate == Some(false);
    }
}
