//! Stage 9: instance lifecycle (rolling restarts, boot, warm-up, crash loops, the platform's
//! own restarts) and the slow state of data services (cache hit rate, replica lag).

use breakathon_scenario::ServiceKind;

use crate::model::{CACHE_REFILL_PER_S, CRASH_RESTART_BACKOFF_S, Model, NORMAL_CACHE_HIT};
use crate::ops;
use crate::state::{Clock, DownReason, Fleet, Instance, Life};
use crate::systems::{PendingLogs, Scratch};
use crate::telemetry::LogLevel;

/// Replica lag caught up per second once nothing makes it grow, s.
pub const LAG_CATCHUP_PER_S: f64 = 1.0;

/// Whether the lifecycle stage does anything to instance `inst` at `tick` (the usual answer is
/// no, found in three tests: running, no crash loop, no restart planned).
#[inline]
pub fn due(inst: &Instance, tick: u64) -> bool {
    if inst.restart_at.is_none() && inst.fx.crash_after_ticks == 0 && inst.is_running() {
        return false;
    }
    due_unusual(inst, tick)
}

/// `due` for an instance not in the usual case.
#[cold]
#[inline(never)]
fn due_unusual(inst: &Instance, tick: u64) -> bool {
    inst.restart_at.is_some_and(|at| at <= tick)
        || match inst.life {
            Life::Booting { ready_tick } => tick >= ready_tick,
            Life::Running { since_tick } => {
                inst.fx.crash_after_ticks > 0
                    && tick.saturating_sub(since_tick) >= inst.fx.crash_after_ticks
            }
            Life::Down {
                restart_tick: Some(at),
                ..
            } => tick >= at,
            _ => false,
        }
}

/// Adds the instances among `ids` due at `tick` (`due`) to `found`; returns whether they
/// are all calm: running, removed or down for good (no restart of the platform's own
/// planned: only `ops` brings it back), with no restart planned. A service whose instances
/// were all calm when last looked at (`ServiceState::life_kept`, cleared wherever an
/// instance's life changes or a restart is planned: `ops`, this stage) has none due while no
/// incident may have struck one of them (a crash loop): the resources stage looks only at
/// the others.
pub fn find_due(ids: &[u32], instances: &[Instance], tick: u64, found: &mut Vec<u32>) -> bool {
    let mut calm = true;
    for &id in ids {
        let inst = &instances[id as usize];
        if due(inst, tick) {
            found.push(id);
        }
        calm &= inst.restart_at.is_none()
            && matches!(
                inst.life,
                Life::Running { .. }
                    | Life::Removed
                    | Life::Down {
                        restart_tick: None,
                        ..
                    }
            );
    }
    calm
}

/// The caches and databases of a world, in order: the services with slow state (derived from
/// its model on the lifecycle stage's first run; a world's model never changes).
#[derive(Debug, Default)]
pub struct DataServices(Option<Vec<usize>>);

/// The lifecycle stage (run by `systems::late_stages`).
pub fn lifecycle(
    model: &Model,
    clock: &Clock,
    fleet: &mut Fleet,
    logs: &mut PendingLogs,
    scratch: &mut Scratch,
    data: &mut DataServices,
) {
    let tick = clock.tick;
    let dt = model.tick_s;
    let backoff = model.secs_to_ticks(CRASH_RESTART_BACKOFF_S);
    // The instances found due by the resources stage this tick (`find_due`; rare: an
    // instance out of memory makes it scan again), else every instance scanned here; only
    // they are visited.
    // Visiting one changes no other's answer: the list stays valid as they are visited.
    let mut found = std::mem::take(&mut scratch.life_due);
    if scratch.life_due_tick != Some(tick) {
        found.clear();
        found.extend(
            (fleet.instances.iter().enumerate())
                .filter(|(_, inst)| due(inst, tick))
                .map(|(id, _)| id as u32),
        );
    }
    debug_assert!(
        found
            .iter()
            .copied()
            .eq((fleet.instances.iter().enumerate())
                .filter(|(_, inst)| due(inst, tick))
                .map(|(id, _)| id as u32)),
        "the instances due in the lifecycle stage at tick {tick}"
    );
    scratch.life_due_tick = None;
    for &id in &found {
        let id = id as usize;
        let inst = &fleet.instances[id];
        if inst.restart_at.is_some_and(|at| at <= tick) {
            ops::restart(fleet, model, id as u32, tick);
        }
        let inst = &fleet.instances[id];
        let (s, index) = (inst.service, inst.index);
        match inst.life {
            Life::Booting { ready_tick } if tick >= ready_tick => {
                let crash_loop = inst.fx.crash_after_ticks > 0;
                let version = inst.version.clone();
                fleet.instances[id].life = Life::Running {
                    since_tick: tick.max(1),
                };
                fleet.rotation_changed(s);
                logs.lines.push((
                    s,
                    Some(index),
                    LogLevel::Info,
                    format!("started {version}, accepting traffic"),
                ));
                if crash_loop {
                    logs.lines.push((
                        s,
                        Some(index),
                        LogLevel::Error,
                        format!("startup exception in {version}: java.lang.IllegalStateException: migration 42 failed"),
                    ));
                }
            }
            Life::Running { since_tick }
                if inst.fx.crash_after_ticks > 0
                    && tick.saturating_sub(since_tick) >= inst.fx.crash_after_ticks =>
            {
                let version = inst.version.clone();
                ops::kill(
                    fleet,
                    id as u32,
                    DownReason::CrashLoop,
                    Some(tick + backoff),
                );
                logs.lines.push((
                    s,
                    Some(index),
                    LogLevel::Error,
                    format!("process exited with code 1 (startup exception in {version}); restarting in {CRASH_RESTART_BACKOFF_S}s"),
                ));
            }
            Life::Down {
                restart_tick: Some(at),
                ..
            } if tick >= at => {
                ops::restart(fleet, model, id as u32, tick);
            }
            _ => {}
        }
    }
    scratch.life_due = found;
    let Fleet {
        services,
        instances,
        ..
    } = &mut *fleet;
    let data = data.0.get_or_insert_with(|| {
        (model.services.iter().enumerate())
            .filter(|(_, stat)| matches!(stat.kind, ServiceKind::Cache | ServiceKind::Database))
            .map(|(s, _)| s)
            .collect()
    });
    for &s in data.iter() {
        let svc = &mut services[s];
        match model.services[s].kind {
            ServiceKind::Cache => {
                if let Some(until) = svc.cache_warm_until {
                    if tick >= until {
                        svc.cache_hit = NORMAL_CACHE_HIT;
                        svc.cache_warm_until = None;
                    } else {
                        let left = (until - tick + 1) as f64;
                        svc.cache_hit += (NORMAL_CACHE_HIT - svc.cache_hit) / left;
                    }
                } else if svc.m.ok_rps > 0.0 && svc.cache_hit < NORMAL_CACHE_HIT {
                    svc.cache_hit = (svc.cache_hit + CACHE_REFILL_PER_S * dt).min(NORMAL_CACHE_HIT);
                }
                if let Some(cap) = svc.fx.cache_cap {
                    svc.cache_hit = svc.cache_hit.min(cap);
                }
                // A cache with no instance serving has lost its contents.
                let serving = svc
                    .instances
                    .iter()
                    .any(|&id| instances[id as usize].is_running());
                if !serving {
                    svc.cache_hit = 0.0;
                }
            }
            ServiceKind::Database => {
                if svc.fx.lag_growth_s_per_tick > 0.0 {
                    svc.replica_lag_s += svc.fx.lag_growth_s_per_tick;
                } else {
                    svc.replica_lag_s = (svc.replica_lag_s - LAG_CATCHUP_PER_S * dt).max(0.0);
                }
            }
            _ => {}
        }
    }
}
