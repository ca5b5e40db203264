//! Operations on instances shared by faults, actions and the lifecycle: restart, kill, add,
//! remove, rolling restarts. Each gives the instances whose tick or per-dependency rows it
//! changes (and the followers sharing them) their own first (`systems::followers`), and marks
//! the service's load-balancer rotation changed (`Fleet::rotation_changed`).

use crate::model::Model;
use crate::state::{DownReason, Fleet, Instance, InstanceDep, InstanceEffects, InstanceTick, Life};
use crate::systems::followers;

/// Restarts instance `id` now: it boots (no traffic) for the service's boot time, then warms
/// up. Memory, queue, pooled connections and clock are reset; it loads the service's current
/// version and config.
pub fn restart(fleet: &mut Fleet, model: &Model, id: u32, tick: u64) {
    let Some(inst) = fleet.instances.get(id as usize) else {
        return;
    };
    if inst.life == Life::Removed {
        return;
    }
    let s = inst.service as usize;
    let zone_up = fleet.zones[inst.zone as usize].up;
    followers::before_change(fleet, id as usize);
    fleet.rotation_changed(s as u32);
    drop_callers_connections(fleet, model, s as u32);
    let version = fleet.services[s].version.clone();
    let config_bad = fleet.services[s].config_bad;
    let boot = model.services[s].boot_ticks;
    let inst = &mut fleet.instances[id as usize];
    inst.life = if zone_up {
        Life::Booting {
            ready_tick: tick + boot,
        }
    } else {
        Life::Down {
            reason: DownReason::ZoneLost,
            restart_tick: None,
        }
    };
    inst.version = version;
    inst.bad_config = config_bad;
    inst.restart_at = None;
    inst.leaked_mb = 0.0;
    inst.queue = 0.0;
    inst.clock_skew_s = 0.0;
    inst.probe_fail_streak = 0;
    inst.probe_healthy = true;
    for dep in &mut inst.deps {
        dep.conns = 0.0;
        dep.retry_rps = 0.0;
    }
}

/// A restarted server closes its clients' connections: every caller of service `s` loses the
/// share of its pooled connections that went to the restarted instance.
fn drop_callers_connections(fleet: &mut Fleet, model: &Model, s: u32) {
    let existing = fleet.services[s as usize]
        .instances
        .iter()
        .filter(|&&id| fleet.instances[id as usize].is_running())
        .count()
        .max(1) as f64;
    let keep = 1.0 - 1.0 / existing;
    for &(c, d) in &model.services[s as usize].callers {
        followers::materialise_service(fleet, c as usize);
        for i in 0..fleet.services[c as usize].instances.len() {
            let id = fleet.services[c as usize].instances[i] as usize;
            if let Some(dep) = fleet.instances[id].deps.get_mut(d as usize) {
                dep.conns *= keep;
            }
        }
    }
}

/// Takes instance `id` down for `reason`; the platform restarts it at `restart_tick` if given.
pub fn kill(fleet: &mut Fleet, id: u32, reason: DownReason, restart_tick: Option<u64>) {
    followers::before_change(fleet, id as usize);
    if let Some(inst) = fleet.instances.get_mut(id as usize)
        && inst.life != Life::Removed
    {
        let s = inst.service;
        inst.life = Life::Down {
            reason,
            restart_tick,
        };
        inst.queue = 0.0;
        for dep in &mut inst.deps {
            dep.conns = 0.0;
            dep.retry_rps = 0.0;
        }
        fleet.rotation_changed(s);
    }
}

/// Adds a booting instance of service `s` in `zone`; returns its id, or `None` when the
/// service is at its instance limit.
pub fn add_instance(fleet: &mut Fleet, model: &Model, s: u32, zone: u32, tick: u64) -> Option<u32> {
    let svc = &fleet.services[s as usize];
    if svc.instances.len() >= crate::model::MAX_INSTANCES_PER_SERVICE {
        return None;
    }
    let boot = model.services[s as usize].boot_ticks;
    let spec = model.spec(s);
    let id = fleet.instances.len() as u32;
    let index = svc.next_index;
    let inst = Instance {
        service: s,
        zone,
        index,
        life: Life::Booting {
            ready_tick: tick + boot,
        },
        version: svc.version.clone(),
        bad_config: svc.config_bad,
        restart_at: None,
        drained: false,
        leaked_mb: 0.0,
        disk_used_gb: spec.disk_gb * crate::model::BASE_DISK_SHARE,
        clock_skew_s: 0.0,
        queue: 0.0,
        probe_fail_streak: 0,
        probe_healthy: true,
        deps: vec![InstanceDep::default(); svc.deps.len()],
        fx: InstanceEffects::default(),
        m: InstanceTick::default(),
    };
    fleet.instances.push(inst);
    let svc = &mut fleet.services[s as usize];
    svc.next_index += 1;
    svc.instances.push(id);
    fleet.rotation_changed(s);
    Some(id)
}

/// Takes instance `id` out of the fleet for good.
pub fn remove(fleet: &mut Fleet, id: u32) {
    followers::before_change(fleet, id as usize);
    if let Some(inst) = fleet.instances.get_mut(id as usize) {
        inst.life = Life::Removed;
        inst.queue = 0.0;
        inst.m = InstanceTick::default();
        let s = inst.service;
        fleet.rotation_changed(s);
    }
}

/// Schedules a rolling restart of the instances of service `s` accepted by `filter`: one zone
/// at a time (a single-zone service rolls in two halves), each batch one boot time after the
/// previous. The first batch restarts at `tick`.
pub fn rolling_restart(
    fleet: &mut Fleet,
    model: &Model,
    s: u32,
    tick: u64,
    filter: impl Fn(&Instance) -> bool,
) {
    let stat = &model.services[s as usize];
    let step = stat.boot_ticks.max(1);
    let ids: Vec<u32> = fleet.services[s as usize]
        .instances
        .iter()
        .copied()
        .filter(|&id| {
            let inst = &fleet.instances[id as usize];
            inst.exists() && filter(inst)
        })
        .collect();
    let mut zones: Vec<u32> = ids
        .iter()
        .map(|&id| fleet.instances[id as usize].zone)
        .collect();
    zones.sort_unstable();
    zones.dedup();
    let batch_of = |pos_in_list: usize, zone: u32| -> u64 {
        if zones.len() > 1 {
            zones.iter().position(|&z| z == zone).unwrap_or(0) as u64
        } else {
            u64::from(pos_in_list * 2 >= ids.len())
        }
    };
    for (pos, &id) in ids.iter().enumerate() {
        let zone = fleet.instances[id as usize].zone;
        let at = tick + batch_of(pos, zone) * step;
        if at <= tick {
            restart(fleet, model, id, tick);
        } else {
            fleet.instances[id as usize].restart_at = Some(at);
            // A restart planned: the resources stage looks for lifecycle work here again
            // (`ServiceState::life_kept`).
            let s = fleet.instances[id as usize].service;
            fleet.rotation_changed(s);
        }
    }
}
