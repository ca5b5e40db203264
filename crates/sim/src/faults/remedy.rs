//! How a team action relates to an open incident: it resolves it, mitigates it, worsens it,
//! or has nothing to do with it. The action's natural effect on the model is applied
//! elsewhere (`systems::actions`); this only decides what to record and whether the cause goes.

use breakathon_scenario::{ActionKind, FaultClass};

use super::IncidentRuntime;
use crate::action::Action;
use crate::model::Model;
use crate::state::Fleet;

/// What an action does to an incident.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A resolving action on the root target.
    Resolves,
    /// A mitigation (health may come back; the cause stays).
    Mitigates,
    /// It makes things worse.
    Worsens,
    /// Unrelated.
    Unrelated,
}

/// The bare key of a `set_config` key (`db.pool_size` → `pool_size`).
pub fn bare_key(key: &str) -> &str {
    key.rsplit('.').next().unwrap_or(key)
}

/// Classifies `action` (already validated; `service`/`zone` are its resolved indices) for the
/// incident `rt`.
pub fn classify(
    model: &Model,
    fleet: &Fleet,
    rt: &IncidentRuntime,
    action: &Action,
    service: Option<u32>,
    zone: Option<u32>,
) -> Verdict {
    let class = rt.kind.class();
    let kind = action.kind;
    let direct = match (rt.service, rt.zone) {
        (Some(r), _) => service == Some(r),
        (None, Some(z)) => zone == Some(z),
        (None, None) => false,
    };
    let caller = match (rt.service, service) {
        (Some(r), Some(s)) => model.services[r as usize]
            .callers
            .iter()
            .any(|&(c, _)| c == s),
        _ => false,
    };
    // Zone-level faults: service-wide actions anywhere in the fleet count as mitigations or
    // worsenings (scale the survivors, restart what is left).
    let zone_fleet = rt.zone.is_some() && service.is_some() && zone.is_none();
    let restart = matches!(
        kind,
        ActionKind::RestartInstance | ActionKind::RestartService
    );
    let level = action
        .params
        .level_percent
        .unwrap_or(crate::model::DEFAULT_SHED_PERCENT);
    if kind == ActionKind::ShedLoad && level <= 0.0 {
        return Verdict::Unrelated;
    }
    if !specific_ok(fleet, rt, action, class) {
        return Verdict::Unrelated;
    }
    let r = &rt.remedies;
    if r.resolves.contains(&kind) {
        let from_caller = class == FaultClass::RetryStorm
            && caller
            && matches!(kind, ActionKind::SetConfig | ActionKind::ShedLoad);
        if direct || from_caller {
            return Verdict::Resolves;
        }
    }
    if r.mitigates.contains(&kind) && (direct || caller || zone_fleet) {
        return Verdict::Mitigates;
    }
    if r.worsens.contains(&kind)
        && (direct || caller || zone_fleet || (class == FaultClass::DnsFailure && restart))
    {
        return Verdict::Worsens;
    }
    Verdict::Unrelated
}

/// Checks that make an action count only when it really addresses the fault: the right
/// config key, the right flag, the right instance.
fn specific_ok(fleet: &Fleet, rt: &IncidentRuntime, action: &Action, class: FaultClass) -> bool {
    let key = action.params.key.as_deref().map(bare_key).unwrap_or("");
    let value: Option<f64> = action
        .params
        .value
        .as_deref()
        .and_then(|v| v.trim().parse().ok());
    match action.kind {
        ActionKind::SetConfig => match class {
            FaultClass::ConnectionPoolExhausted => {
                let limit = match rt.kind {
                    breakathon_scenario::FaultKind::ConnectionPoolExhausted {
                        pool_size, ..
                    } => f64::from(pool_size),
                    _ => 0.0,
                };
                key == "pool_size" && value.is_some_and(|v| v > limit)
            }
            FaultClass::RetryStorm => {
                (key == "retries" && value.is_some_and(|v| v <= 1.0)) || key == "rate_limit"
            }
            FaultClass::QuotaExceeded => key == "retries",
            FaultClass::DependencyLatency => {
                matches!(key, "timeout" | "retries" | "circuit_breaker")
            }
            FaultClass::PacketLoss => matches!(key, "timeout" | "retries"),
            _ => true,
        },
        ActionKind::ToggleFlag => match class {
            FaultClass::BadFeatureFlag => {
                action.params.enabled != Some(true)
                    && action.params.flag.is_some()
                    && action.params.flag == rt.name
            }
            FaultClass::QuotaExceeded => action.params.enabled != Some(true),
            _ => true,
        },
        ActionKind::RestartInstance => match class {
            FaultClass::ClockSkew | FaultClass::Crash if !rt.instances.is_empty() => {
                let Some(s) = rt.service else { return false };
                let Some(index) = action.instance else {
                    return false;
                };
                rt.instances.iter().any(|&id| {
                    let inst = &fleet.instances[id as usize];
                    inst.service == s && inst.index == index
                })
            }
            _ => true,
        },
        _ => true,
    }
}
