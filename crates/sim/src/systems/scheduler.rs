//! Stage 1: the fault scheduler. Injects the shared schedule's incidents at their tick, fires
//! `When` faults whose condition held long enough in this world, and expires faults whose
//! duration ran out.

use breakathon_scenario::{Comparison, Condition, Pick, Target, Trigger};
use rand::RngExt;

use crate::faults::{self, IncidentRuntime, Incidents};
use crate::incident::IncidentStatus;
use crate::model::Model;
use crate::rng::Rngs;
use crate::schedule::{IncidentId, InstanceRef, RootTarget};
use crate::state::{Clock, Fleet};
use crate::systems::PendingLogs;
use crate::telemetry::LogLevel;

/// The fault-scheduler stage (run by `systems::early_stages`).
pub fn fault_scheduler(
    model: &Model,
    clock: &Clock,
    fleet: &mut Fleet,
    incidents: &mut Incidents,
    rngs: &mut Rngs,
    logs: &mut PendingLogs,
) {
    let tick = clock.tick;
    let schedule = model.schedule.clone();
    // Scheduled incidents.
    while let Some(next) = schedule.incidents.get(incidents.next_scheduled) {
        if next.inject_tick > tick {
            break;
        }
        incidents.next_scheduled += 1;
        let fault = &model.scenario.faults[next.fault_index];
        start_incident(
            model,
            fleet,
            incidents,
            logs,
            StartSpec {
                id: next.id,
                fault_index: next.fault_index,
                root: next.root.clone(),
                instances: &next.instances,
                end_tick: next.end_tick,
                kind: fault.kind.clone(),
            },
            tick,
        );
    }
    // Conditional incidents (this world only).
    let n_cond = schedule.conditional.len();
    if incidents.when_since.len() != n_cond {
        incidents.when_since.resize(n_cond, None);
        incidents.when_fired.resize(n_cond, None);
    }
    for k in 0..n_cond {
        if incidents.when_fired[k].is_some() {
            continue;
        }
        let fault_index = schedule.conditional[k];
        let fault = &model.scenario.faults[fault_index];
        let fire = match &fault.trigger {
            Trigger::When(cond) => {
                let holds = condition_holds(model, fleet, cond);
                if holds {
                    let since = *incidents.when_since[k].get_or_insert(tick);
                    tick - since >= cond.for_duration.to_ticks(model.scenario.tick)
                } else {
                    incidents.when_since[k] = None;
                    false
                }
            }
            Trigger::After {
                fault: other,
                delay,
            } => {
                let waited = schedule
                    .conditional
                    .iter()
                    .position(|&f| model.scenario.faults[f].name == *other)
                    .and_then(|j| incidents.when_fired[j]);
                waited.is_some_and(|t0| tick >= t0 + delay.to_ticks(model.scenario.tick))
            }
            _ => false,
        };
        if !fire {
            continue;
        }
        incidents.when_fired[k] = Some(tick);
        let Some(id) = schedule.conditional_id(fault_index) else {
            continue;
        };
        let (root, instances) =
            resolve_target(model, fleet, rngs, &fault.target, fault.kind.class());
        let end_tick = fault
            .duration
            .map(|d| tick + d.to_ticks(model.scenario.tick));
        start_incident(
            model,
            fleet,
            incidents,
            logs,
            StartSpec {
                id,
                fault_index,
                root,
                instances: &instances,
                end_tick,
                kind: fault.kind.clone(),
            },
            tick,
        );
    }
    // Expiry.
    let incidents = &mut *incidents;
    for (status, rt) in incidents.statuses.iter_mut().zip(&incidents.runtime) {
        if status.active && rt.end_tick.is_some_and(|end| end <= tick) {
            status.active = false;
            if status.resolved_tick.is_none() {
                status.ended_tick = Some(tick);
            }
            faults::expire(fleet, model, rt, tick);
        }
    }
}

/// What is needed to start an incident.
struct StartSpec<'a> {
    id: IncidentId,
    fault_index: usize,
    root: RootTarget,
    instances: &'a [InstanceRef],
    end_tick: Option<u64>,
    kind: breakathon_scenario::FaultKind,
}

fn start_incident(
    model: &Model,
    fleet: &mut Fleet,
    incidents: &mut Incidents,
    logs: &mut PendingLogs,
    spec: StartSpec<'_>,
    tick: u64,
) {
    let fault = &model.scenario.faults[spec.fault_index];
    let (service, zone) = match &spec.root {
        RootTarget::Service(name) => (model.service_index.get(name).copied(), None),
        RootTarget::Zone(name) => (None, model.zone_index.get(name).copied()),
    };
    let mut instances = Vec::new();
    for r in spec.instances {
        let Some(&s) = model.service_index.get(&r.service) else {
            continue;
        };
        if let Some(&id) = fleet.services[s as usize]
            .instances
            .iter()
            .find(|&&id| fleet.instances[id as usize].index == r.index)
        {
            instances.push(id);
        }
    }
    instances.sort_unstable();
    let mut rt = IncidentRuntime {
        kind: spec.kind,
        remedies: fault.remedies(),
        service,
        zone,
        instances,
        end_tick: spec.end_tick,
        suppressed: Vec::new(),
        dep: None,
        name: None,
    };
    faults::inject(fleet, model, &mut rt, tick);
    if let Some(s) = service
        && let Some(line) = crate::systems::telemetry::injection_log(model, &rt)
    {
        logs.lines.push((s, None, LogLevel::Warn, line));
    }
    incidents.statuses.push(IncidentStatus::injected(
        spec.id,
        spec.fault_index,
        fault.kind.class(),
        spec.root,
        tick,
    ));
    incidents.runtime.push(rt);
}

/// Whether `cond` holds on the world's true metrics of the last tick.
pub fn condition_holds(model: &Model, fleet: &Fleet, cond: &Condition) -> bool {
    let Some(&s) = model.service_index.get(&cond.service) else {
        return false;
    };
    let value = crate::systems::telemetry::point_of(model, fleet, s, 0).get(cond.metric);
    match cond.op {
        Comparison::Above => value > cond.threshold,
        Comparison::Below => value < cond.threshold,
    }
}

/// Resolves a fault target in this world (for `When` faults): the root and the instances.
fn resolve_target(
    model: &Model,
    fleet: &Fleet,
    rngs: &mut Rngs,
    target: &Target,
    class: breakathon_scenario::FaultClass,
) -> (RootTarget, Vec<InstanceRef>) {
    let (service, zone, instances): (String, Option<String>, Vec<InstanceRef>) = match target {
        Target::Zone(z) => return (RootTarget::Zone(z.clone()), Vec::new()),
        Target::Service(s) => (s.clone(), None, Vec::new()),
        Target::Instance(s, i) => (
            s.clone(),
            None,
            vec![InstanceRef {
                service: s.clone(),
                index: *i,
            }],
        ),
        Target::Select {
            service,
            pick,
            zone,
        } => {
            let Some(&s) = model.service_index.get(service) else {
                return (RootTarget::Service(service.clone()), Vec::new());
            };
            let zone_idx = zone.as_ref().and_then(|z| model.zone_index.get(z).copied());
            let mut pool: Vec<u32> = fleet.services[s as usize]
                .instances
                .iter()
                .map(|&id| &fleet.instances[id as usize])
                .filter(|i| i.exists() && zone_idx.is_none_or(|z| i.zone == z))
                .map(|i| i.index)
                .collect();
            let want = match pick {
                Pick::One => 1,
                Pick::All => pool.len(),
                Pick::Count(n) => *n as usize,
                Pick::Percent(p) => ((pool.len() as f64) * p / 100.0).ceil() as usize,
            }
            .min(pool.len());
            let mut chosen = Vec::with_capacity(want);
            for _ in 0..want {
                let k = rngs.world.random_range(0..pool.len());
                chosen.push(pool.swap_remove(k));
            }
            chosen.sort_unstable();
            let refs = chosen
                .into_iter()
                .map(|index| InstanceRef {
                    service: service.clone(),
                    index,
                })
                .collect();
            (service.clone(), zone.clone(), refs)
        }
    };
    if class.targets_zone() {
        let zone = zone.or_else(|| {
            let first = instances.first()?;
            let &s = model.service_index.get(&first.service)?;
            let id = fleet.services[s as usize]
                .instances
                .iter()
                .find(|&&id| fleet.instances[id as usize].index == first.index)?;
            Some(model.zone_names[fleet.instances[*id as usize].zone as usize].clone())
        });
        if let Some(z) = zone {
            return (RootTarget::Zone(z), instances);
        }
    }
    (RootTarget::Service(service), instances)
}
