//! Stage 8: resources. Pooled connections (kept, grown, or — when new connections cannot be
//! made — slowly lost), connections held at each callee (and refusals past its limit), CPU,
//! memory (leaks, GC pressure, OOM kills), disk.

use crate::model::{
    BASE_MEMORY_SHARE, CONN_CHURN_PER_S, CRASH_RESTART_BACKOFF_S, MEMORY_PER_INFLIGHT_MB, Model,
    POOL_HEADROOM, POOL_MIN_IDLE,
};
use crate::num::Bound;
use crate::ops;
use crate::state::{Clock, DownReason, Fleet, Instance, Life, ServiceState, ZoneState};
use crate::systems::followers::Followers;
use crate::systems::load::NO_LEADER;
use crate::systems::{PendingLogs, Scratch, lifecycle};
use crate::telemetry::LogLevel;

/// The resources stage (run by `systems::late_stages`).
pub fn resources(
    model: &Model,
    clock: &Clock,
    fleet: &mut Fleet,
    sc: &mut Scratch,
    logs: &mut PendingLogs,
) {
    let tick = clock.tick;
    let dt = model.tick_s;
    sc.held.fill(0.0);
    // Per-service factors (multiplications instead of divisions per instance), from the
    // scenario's specs: computed on the first tick of this world only.
    if sc.resource_factors.len() != fleet.services.len() {
        sc.resource_factors.clear();
        for s in 0..fleet.services.len() {
            let spec = model.spec(s as u32);
            sc.resource_factors.push(Factors {
                base_memory_mb: spec.memory_mb * BASE_MEMORY_SHARE,
                inv_memory_mb: 1.0 / spec.memory_mb.max(1.0),
                disk_gb: spec.disk_gb,
                disk_percent_per_gb: 100.0 / spec.disk_gb.max(1e-9),
                max_connections: f64::from(spec.max_connections),
            });
        }
    }
    let mut oom: Vec<u32> = Vec::new();
    {
        let Fleet {
            zones,
            services,
            instances,
            dns_failing,
            ..
        } = &mut *fleet;
        let n = instances.len();
        // The load stage sized them for these instances (`Scratch::fit`).
        if sc.follows.len() < n || sc.group_n.len() < n {
            sc.follows.resize(n, NO_LEADER);
            sc.group_n.resize(n, 1);
        }
        let (follows, group_n) = (&sc.follows[..n], &sc.group_n[..n]);
        let factors = &sc.resource_factors[..];
        // Instances are only ever added, and keep their service: the answer holds while
        // their count does.
        let by_service = match sc.by_service {
            Some((count, answer)) if count == n => answer,
            _ => {
                let answer = ids_by_service(services, instances);
                sc.by_service = Some((n, answer));
                answer
            }
        };
        debug_assert_eq!(by_service, ids_by_service(services, instances));
        let own = by_service.then_some(&sc.own_ids[..services.len()]);
        instance_resources(
            (dt, zones, *dns_failing),
            (services, sc.fx_services.as_deref()),
            instances,
            (follows, group_n, factors),
            own,
            &mut sc.held,
            &mut oom,
        );
        if oom.is_empty() {
            // The usual case: each service's sums are taken (a follower's numbers are its
            // leader's) and its instances due in the lifecycle stage are found.
            service_pass(
                services,
                instances,
                (follows, &sc.held, factors),
                (tick, &sc.svc_fx_maybe, &mut sc.life_due),
                by_service,
            );
        }
        // Else the aggregates after the kills below (and the lifecycle stage scans every
        // instance).
    }
    // From now until the next load stage, followers share their leader's tick and
    // per-dependency rows through the fleet's record (`followers`; nothing copies them, the
    // kills below materialise them).
    let follows = std::mem::take(&mut sc.follows);
    fleet.followers.keep(follows, &mut fleet.instances);
    // The lifecycle stage's list holds unless an instance was killed below.
    sc.life_due_tick = oom.is_empty().then_some(tick);
    if oom.is_empty() {
        return;
    }
    for &id in &oom {
        let backoff = model.secs_to_ticks(CRASH_RESTART_BACKOFF_S);
        ops::kill(fleet, id, DownReason::OomKilled, Some(tick + backoff));
        let inst = &fleet.instances[id as usize];
        logs.lines.push((
            inst.service,
            Some(inst.index),
            LogLevel::Error,
            "java.lang.OutOfMemoryError: Java heap space; process killed (exit 137)".to_owned(),
        ));
    }
    let Fleet {
        services,
        instances,
        followers,
        ..
    } = &mut *fleet;
    for ((svc, &held), f) in services.iter_mut().zip(&sc.held).zip(&sc.resource_factors) {
        let sums = ServiceSums::of_shared(&svc.instances, instances, followers);
        aggregates(svc, held, f, &sums);
    }
}

/// Per service, in order: its sums, where a follower's numbers are its leader's
/// (`ServiceSums::with_followers`), then its aggregates; the instances the
/// lifecycle stage has work for at `tick` go to `life_due`, in id order (`svc_fx_maybe`:
/// the load stage's, per service). `follows` is `Scratch`'s, one per instance; `held`,
/// `factors` one per service; `by_service`: the ids are grouped by service
/// (`ids_by_service`).
fn service_pass(
    services: &mut [ServiceState],
    instances: &[Instance],
    (follows, held, factors): (&[u32], &[f64], &[Factors]),
    (tick, svc_fx_maybe, life_due): (u64, &[bool], &mut Vec<u32>),
    by_service: bool,
) {
    life_due.clear();
    for ((s, svc), (&held, f)) in services
        .iter_mut()
        .enumerate()
        .zip(held.iter().zip(factors))
    {
        // Nothing below changes what the lifecycle stage looks at.
        if !svc.life_kept || svc_fx_maybe.get(s).copied().unwrap_or(true) {
            svc.life_kept = lifecycle::find_due(&svc.instances, instances, tick, life_due);
        }
        let ids = &svc.instances;
        let sums = match ids.first() {
            // Ids grouped by service: the service's instances are the ids in a row from
            // its first.
            Some(&first) if by_service => {
                let range = first as usize..first as usize + ids.len();
                debug_assert!(ids.iter().copied().eq(first..first + ids.len() as u32));
                let (insts, follows) = (&instances[range.clone()], &follows[range]);
                ServiceSums::with_followers_in_row(insts, follows, first)
            }
            _ => ServiceSums::with_followers(ids, instances, follows),
        };
        aggregates(svc, held, f, &sums);
    }
    // (Found in service order: the same as id order unless an instance was added since the
    // start.)
    life_due.sort_unstable();
    debug_assert!(
        life_due.iter().copied().eq((instances.iter().enumerate())
            .filter(|(_, inst)| lifecycle::due(inst, tick))
            .map(|(id, _)| id as u32)),
        "the instances due at tick {tick}, found by service"
    );
}

/// Service `svc`'s aggregates (CPU, memory, disk, connections, saturation, health) from its
/// instances' sums, the connections its callers hold to it and its factors.
#[inline(always)]
fn aggregates(svc: &mut ServiceState, held: f64, f: &Factors, sums: &ServiceSums) {
    let ServiceSums {
        existing,
        running,
        healthy,
        cpu,
        memory_percent: mem,
        disk_percent: disk,
        inflight,
        capacity,
    } = *sums;
    let limit = f.max_connections * running;
    svc.conn_refuse = if held > limit && held > 0.0 {
        refused_share(limit, held)
    } else {
        0.0
    };
    let m = &mut svc.m;
    m.cpu_percent = if running > 0.0 { cpu / running } else { 0.0 };
    m.memory_percent = mem;
    m.disk_percent = disk;
    // Connections past the limit are refused, not in use: at most 100 %.
    m.connections_percent = if limit > 0.0 {
        ((held + inflight) / limit * 100.0).at_most(100.0)
    } else {
        0.0
    };
    let admitted = m.offered_rps - m.shed_rps;
    m.saturation_percent = if capacity > 0.0 {
        admitted / capacity * 100.0
    } else if admitted > 0.0 {
        1000.0
    } else {
        0.0
    };
    m.healthy_percent = if existing > 0.0 {
        healthy / existing * 100.0
    } else {
        0.0
    };
}

/// Share of new connections refused when callers hold `held` connections against a limit of
/// `limit`. Rare, and out of line: inline, the compiler divides for every service whether the
/// limit is exceeded or not (a division on the path of every service's aggregates).
#[cold]
#[inline(never)]
fn refused_share(limit: f64, held: f64) -> f64 {
    1.0 - limit / held
}

/// A service's sums over its instances for its aggregates.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct ServiceSums {
    /// Instances that exist.
    existing: f64,
    /// Instances running.
    running: f64,
    /// Running instances passing their probes.
    healthy: f64,
    /// Sum of the running instances' CPU, percent.
    cpu: f64,
    /// Highest memory use of a running instance, percent.
    memory_percent: f64,
    /// Highest disk use of a running or booting instance, percent.
    disk_percent: f64,
    /// Requests in flight on the running instances.
    inflight: f64,
    /// Capacity of the running instances, requests/s.
    capacity: f64,
}

impl ServiceSums {
    /// The sums over instances `ids`, in their order, each instance's numbers read from
    /// `tick_of(id)` (the instance holding its tick).
    fn of_ticks<'a>(
        ids: &[u32],
        instances: &'a [Instance],
        tick_of: impl Fn(usize) -> &'a Instance,
    ) -> ServiceSums {
        let mut sums = ServiceSums::default();
        for &id in ids {
            let id = id as usize;
            sums.add_as(&instances[id], tick_of(id));
        }
        sums
    }

    /// The sums over instances `ids`, in their order, where those in `followers` take their
    /// leader's numbers (`Fleet::tick_of`).
    fn of_shared(ids: &[u32], instances: &[Instance], followers: &Followers) -> ServiceSums {
        ServiceSums::of_ticks(ids, instances, |id| {
            &instances[followers.leader_of(id).unwrap_or(id)]
        })
    }

    /// The sums over instances `ids`, in their order, where the followers among them
    /// (`follows`, one per instance: their leader, or `NO_LEADER`) take their leader's
    /// numbers (nothing copies them into the follower, `followers`): in a run of followers
    /// of one leader they are added one by one as for any instance (the same sums, bit for
    /// bit) but from registers. Followers run (they serve), with their own probes' verdict;
    /// their leader, an earlier instance of the service, is in the sums already, so its
    /// memory and disk are the highest of theirs. Debug builds compare with `of_ticks`.
    #[inline(always)]
    fn with_followers(ids: &[u32], instances: &[Instance], follows: &[u32]) -> ServiceSums {
        let mut sums = ServiceSums::default();
        let mut i = 0;
        while i < ids.len() {
            let id = ids[i] as usize;
            let leader = follows[id];
            i += 1;
            if leader == NO_LEADER {
                sums.add(&instances[id]);
                continue;
            }
            let lead = &instances[leader as usize];
            debug_assert!(
                leader < id as u32
                    && lead.is_running()
                    && lead.service == instances[id].service
                    && sums.memory_percent >= lead.m.memory_percent
                    && sums.disk_percent >= lead.m.disk_percent,
                "the leader of instance {id} is not in its service's sums"
            );
            let (cpu, inflight, capacity) = (
                lead.m.cpu_percent,
                lead.m.connections_in_use,
                lead.m.capacity_rps,
            );
            let mut run = (sums.cpu, sums.inflight, sums.capacity);
            let (mut k, mut healthy) = (0u32, 0u32);
            let mut fid = id;
            loop {
                let inst = &instances[fid];
                debug_assert!(inst.is_running(), "follower {fid} does not run");
                healthy += u32::from(inst.probe_healthy);
                run.0 += cpu;
                run.1 += inflight;
                run.2 += capacity;
                k += 1;
                if i == ids.len() {
                    break;
                }
                let next = ids[i] as usize;
                if follows[next] != leader {
                    break;
                }
                fid = next;
                i += 1;
            }
            (sums.cpu, sums.inflight, sums.capacity) = run;
            // (Sums of ones: exact.)
            sums.existing += f64::from(k);
            sums.running += f64::from(k);
            sums.healthy += f64::from(healthy);
        }
        #[cfg(debug_assertions)]
        {
            let full = ServiceSums::of_ticks(ids, instances, |id| match follows[id] {
                NO_LEADER => &instances[id],
                leader => &instances[leader as usize],
            });
            debug_assert!(
                sums.bits() == full.bits(),
                "sums taken with the followers: {sums:?}, not {full:?}"
            );
        }
        sums
    }

    /// `with_followers` for a service whose instances are ids in a row, from `first`:
    /// `instances` and `follows` cut to them.
    #[inline(always)]
    fn with_followers_in_row(instances: &[Instance], follows: &[u32], first: u32) -> ServiceSums {
        let mut sums = ServiceSums::default();
        // Both cut to one length: the indices below need no bounds check.
        let n = instances.len().min(follows.len());
        let (instances, follows) = (&instances[..n], &follows[..n]);
        let mut i = 0;
        while i < n {
            let leader = follows[i];
            if leader == NO_LEADER {
                sums.add(&instances[i]);
                i += 1;
                continue;
            }
            // Its leader is an earlier instance of the service.
            let lead = &instances[..i][leader.wrapping_sub(first) as usize];
            debug_assert!(
                lead.is_running()
                    && sums.memory_percent >= lead.m.memory_percent
                    && sums.disk_percent >= lead.m.disk_percent,
                "the leader of instance {} is not in its service's sums",
                first as usize + i
            );
            let (cpu, inflight, capacity) = (
                lead.m.cpu_percent,
                lead.m.connections_in_use,
                lead.m.capacity_rps,
            );
            let (start, mut healthy) = (i, 0u32);
            while i < n && follows[i] == leader {
                debug_assert!(instances[i].is_running(), "a follower does not run");
                healthy += u32::from(instances[i].probe_healthy);
                i += 1;
            }
            let k = (i - start) as u32;
            // Their numbers, added one by one (in a loop of their own: fewer registers).
            let mut run = (sums.cpu, sums.inflight, sums.capacity);
            for _ in 0..k {
                run.0 += cpu;
                run.1 += inflight;
                run.2 += capacity;
            }
            (sums.cpu, sums.inflight, sums.capacity) = run;
            // (Sums of ones: exact.)
            sums.existing += f64::from(k);
            sums.running += f64::from(k);
            sums.healthy += f64::from(healthy);
        }
        #[cfg(debug_assertions)]
        {
            let mut full = ServiceSums::default();
            for (inst, &leader) in instances.iter().zip(follows) {
                let tick = match leader {
                    NO_LEADER => inst,
                    leader => &instances[(leader - first) as usize],
                };
                full.add_as(inst, tick);
            }
            debug_assert!(
                sums.bits() == full.bits(),
                "sums taken with the followers: {sums:?}, not {full:?}"
            );
        }
        sums
    }

    /// Its numbers' bits, for bit-for-bit checks.
    #[cfg(debug_assertions)]
    fn bits(&self) -> [u64; 8] {
        [
            self.existing,
            self.running,
            self.healthy,
            self.cpu,
            self.memory_percent,
            self.disk_percent,
            self.inflight,
            self.capacity,
        ]
        .map(f64::to_bits)
    }

    /// Adds instance `inst`, which holds its own tick.
    #[inline(always)]
    fn add(&mut self, inst: &Instance) {
        self.add_as(inst, inst);
    }

    /// Adds instance `inst`, whose tick `tick` holds (itself, or its leader: `followers`).
    #[inline(always)]
    fn add_as(&mut self, inst: &Instance, tick: &Instance) {
        let m = &tick.m;
        match inst.life {
            Life::Removed => {}
            Life::Running { .. } => {
                self.existing += 1.0;
                self.running += 1.0;
                self.cpu += m.cpu_percent;
                self.memory_percent = self.memory_percent.at_least(m.memory_percent);
                self.disk_percent = self.disk_percent.at_least(m.disk_percent);
                self.inflight += m.connections_in_use;
                self.capacity += m.capacity_rps;
                if inst.probe_healthy {
                    self.healthy += 1.0;
                }
            }
            Life::Booting { .. } => {
                self.existing += 1.0;
                self.disk_percent = self.disk_percent.at_least(m.disk_percent);
            }
            Life::Down { .. } => self.existing += 1.0,
        }
    }
}

/// Per-service constants of the resources stage, from the scenario's specs.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Factors {
    /// Memory used by an idle instance, MB.
    pub base_memory_mb: f64,
    /// 1 / its memory, 1/MB.
    pub inv_memory_mb: f64,
    /// Its disk, GB.
    pub disk_gb: f64,
    /// Disk percent per GB used.
    pub disk_percent_per_gb: f64,
    /// Connections each running instance accepts.
    pub max_connections: f64,
}

/// Pools, CPU, memory and disk of every instance but the followers, on plain references and
/// slices (function arguments the compiler knows do not alias); instances out of memory are
/// added to `oom`. `follows` and `group_n` are `Scratch`'s, one per instance; `factors` one
/// per service; `fx_services`: `Scratch`'s, the only services whose fault effects may not
/// be neutral (`None`: any). With `own` (`Scratch::own_ids`: per service, its instances that are not
/// followers, in order), when the instance ids are grouped by service in service order
/// (`ids_by_service`), only those are visited, in the same order; else every instance.
fn instance_resources(
    (dt, zones, dns_failing): (f64, &[ZoneState], bool),
    (services, fx_services): (&[ServiceState], Option<&[u32]>),
    instances: &mut [Instance],
    (follows, group_n, factors): (&[u32], &[u32], &[Factors]),
    own: Option<&[Vec<u32>]>,
    held: &mut [f64],
    oom: &mut Vec<u32>,
) {
    // Whether any call may be blocked (usually none: then no callee is looked at), and one
    // bounds check for the callee's `held` and state. A certificate expires only by a fault
    // effect: only the services an incident touched are looked at.
    let expired = |s: &u32| {
        services
            .get(*s as usize)
            .is_some_and(|svc| svc.fx.cert_expired)
    };
    let blocked_any = dns_failing
        || match fx_services {
            Some(touched) => touched.iter().any(expired),
            None => services.iter().any(|svc| svc.fx.cert_expired),
        };
    debug_assert_eq!(
        blocked_any,
        dns_failing || services.iter().any(|svc| svc.fx.cert_expired),
        "a certificate expired in a service no incident touched"
    );
    let world = (dt, zones, dns_failing, blocked_any);
    let held = &mut held[..services.len()];
    if let Some(own) = own {
        for ids in own {
            for &id in ids {
                let id = id as usize;
                debug_assert_eq!(follows[id], NO_LEADER, "a follower among the own ids");
                if own_resources(
                    world,
                    services,
                    &mut instances[id],
                    group_n[id],
                    factors,
                    held,
                ) {
                    oom.push(id as u32);
                }
            }
        }
    } else {
        for id in 0..instances.len().min(follows.len()).min(group_n.len()) {
            if follows[id] != NO_LEADER {
                // Same state as an instance computed before it: the same results, its
                // leader's (`followers`: its tick and per-dependency rows stay shared with
                // the leader; its connections were added to the callees' by its leader, for
                // the whole group).
                continue;
            }
            if own_resources(
                world,
                services,
                &mut instances[id],
                group_n[id],
                factors,
                held,
            ) {
                oom.push(id as u32);
            }
        }
    }
    // The followers of a leader out of memory are, as it is (rare: after the loop, which
    // then needs no test per follower).
    if !oom.is_empty() {
        let leaders = oom.len();
        for (id, &leader) in follows.iter().enumerate() {
            if leader != NO_LEADER && oom[..leaders].contains(&leader) {
                oom.push(id as u32);
            }
        }
        oom.sort_unstable();
    }
}

/// Pools, CPU, memory and disk of instance `inst`, which leads a group of `group` instances
/// (itself and its followers; 1 if it leads none), adding its group's connections to
/// `held` (one per service); returns whether it is out of memory. `blocked_any`: some DNS
/// resolver fails or some service's certificate expired.
#[inline(always)]
fn own_resources(
    (dt, zones, dns_failing, blocked_any): (f64, &[ZoneState], bool, bool),
    services: &[ServiceState],
    inst: &mut Instance,
    group: u32,
    factors: &[Factors],
    held: &mut [f64],
) -> bool {
    let s = inst.service as usize;
    let f = &factors[s];
    let running = inst.is_running();
    // The connections of its followers too (sums in a different order than one instance at
    // a time: results can differ in the last bits).
    let group = f64::from(group);
    for (d, (dep, idep)) in services[s].deps.iter().zip(&mut inst.deps).enumerate() {
        if !running {
            idep.conns = 0.0;
            continue;
        }
        let callee = dep.callee as usize;
        let pool = f64::from(dep.pool_size);
        let stuck = inst.fx.pool_limit.is_some_and(|(pd, _)| pd as usize == d);
        if stuck {
            idep.conns = pool;
        } else {
            let needed = idep.sent_rps * idep.hold_ms * 0.001;
            let target = pool.at_most(needed * POOL_HEADROOM + POOL_MIN_IDLE);
            let blocked = blocked_any && (dns_failing || services[callee].fx.cert_expired);
            if blocked {
                idep.conns = idep.conns.at_most(target) * (1.0 - CONN_CHURN_PER_S * dt);
            } else {
                idep.conns = target;
            }
        }
        held[callee] += idep.conns * group;
    }
    if !running {
        inst.m.cpu_percent = 0.0;
        inst.m.memory_percent = 0.0;
        inst.m.connections_in_use = 0.0;
        inst.m.disk_percent = inst.disk_used_gb * f.disk_percent_per_gb;
        return false;
    }
    let steal = inst.fx.steal.at_least(zones[inst.zone as usize].steal);
    let busy = if inst.m.capacity_rps > 0.0 {
        (inst.m.served_rps / inst.m.capacity_rps).at_most(1.0)
    } else {
        0.0
    };
    let hog = inst.fx.hog;
    inst.m.cpu_percent =
        ((busy * (1.0 - hog) * (1.0 - steal) + hog + steal * (1.0 - hog)) * 100.0).at_most(100.0);
    let inflight = inst.m.served_rps * inst.m.latency_p50_ms * 0.001;
    inst.m.connections_in_use = inflight;
    inst.leaked_mb += inst.fx.leak_mb_per_tick * (0.5 + inst.m.utilisation.at_most(2.0));
    let memory = f.base_memory_mb + inflight * MEMORY_PER_INFLIGHT_MB + inst.leaked_mb;
    let share = memory * f.inv_memory_mb;
    inst.m.memory_percent = (share * 100.0).at_most(100.0);
    inst.disk_used_gb = (inst.disk_used_gb + inst.fx.disk_fill_gb_per_tick).at_most(f.disk_gb);
    inst.m.disk_percent = inst.disk_used_gb * f.disk_percent_per_gb;
    share >= 1.0
}

/// Whether the instance ids are grouped by service in service order: each service's
/// instances (ascending ids) are the ids after the previous service's, as the starting
/// fleet has them (an instance added later comes after every other service's).
fn ids_by_service(services: &[ServiceState], instances: &[Instance]) -> bool {
    let mut next = 0usize;
    for svc in services {
        for &id in &svc.instances {
            if id as usize != next {
                return false;
            }
            next += 1;
        }
    }
    next == instances.len()
}
