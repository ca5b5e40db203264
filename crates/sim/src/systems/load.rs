//! Stage 5: offered load flows down the call graph (callers before callees). Each service's
//! load (entry traffic, calls from callers, retries from the last tick) is spread over the
//! instances in the load balancer's rotation; each instance queues what it cannot serve this
//! tick (fluid M/M/1-style: waiting rises steeply near saturation, a backlog grows beyond it)
//! and forwards calls to its dependencies through its connection pools.

use breakathon_scenario::ServiceKind;

use crate::model::{
    CLOCK_SKEW_ERROR_SHARE, CUSTOMER_TIMEOUT_MS, DISK_WRITE_SHARE, GC_CAPACITY_LOSS, GC_PAUSE_MS,
    GC_PRESSURE_START, LB_PANIC_SHARE, MAX_QUEUE_FACTOR, Model, NORMAL_CACHE_HIT, P99_IDLE_FACTOR,
    PRIMARY_ONLY_CAPACITY, QUOTA_FLOOR_SHARE, REFUSED_LATENCY_MS, STALE_LAG_S, STALE_READ_SHARE,
    STORM_LATE_SHARE, WARMUP_START_FACTOR,
};
use crate::num::Bound;
use crate::state::{
    Cause, Clock, DepState, Fleet, Instance, InstanceDep, InstanceEffects, InstanceTick, Life,
    ServiceState, ServiceTick, ZoneState,
};
use crate::systems::{Scratch, followers};

/// Clock offset beyond which token checks fail, s.
pub const SKEW_TOLERANCE_S: f64 = 1.0;
/// Debug builds: a service's metrics as the load stage leaves them for the later stages to
/// write, NaN (see `load_of`).
#[cfg(debug_assertions)]
const LATER_SERVICE_TICK: ServiceTick = ServiceTick {
    offered_rps: f64::NAN,
    ok_rps: f64::NAN,
    failed_rps: f64::NAN,
    shed_rps: f64::NAN,
    latency_p50_ms: f64::NAN,
    latency_p99_ms: f64::NAN,
    error_percent: f64::NAN,
    cpu_percent: f64::NAN,
    memory_percent: f64::NAN,
    disk_percent: f64::NAN,
    connections_percent: f64::NAN,
    saturation_percent: f64::NAN,
    healthy_percent: f64::NAN,
};
/// Debug builds: a serving leader's metrics as the load stage leaves them for the later
/// stages to write, NaN (see `load_of`).
#[cfg(debug_assertions)]
const LATER_INSTANCE_TICK: InstanceTick = InstanceTick::unwritten(Cause::None);

/// Debug builds: every instance's metrics are numbers once the resources stage ran (the
/// load stage leaves some of a serving leader's to the latency and resources stages, NaN in
/// debug builds: none may be left). A follower sharing its leader's tick is read through
/// [`Fleet::tick_of`], as every reader does (its own fields are NaN on purpose).
#[cfg(debug_assertions)]
pub fn check_instance_ticks(fleet: &Fleet, tick: u64) {
    for id in 0..fleet.instances.len() {
        let m = &fleet.tick_of(id).m;
        let values = m.numbers();
        debug_assert!(
            values.iter().all(|v| !v.is_nan()),
            "instance {id}'s metrics left unwritten at tick {tick}: {m:?}"
        );
    }
}

/// Smallest capacity an instance can have (avoids dividing by zero), requests/s.
const MIN_CAPACITY_RPS: f64 = 1e-6;
/// Shortest time a request holds a worker thread (avoids dividing by zero), ms.
const MIN_THREAD_MS: f64 = 1e-3;

/// The load stage (run by `systems::early_stages`, last).
pub fn load(model: &Model, clock: &Clock, fleet: &mut Fleet, scratch: &mut Scratch) {
    let Fleet {
        zones,
        services,
        instances,
        reach,
        dns_failing,
        followers,
    } = fleet;
    // Who followed whom last tick: the leader search starts from it, and materialises the
    // tick and per-dependency rows of a follower that stops following (`followers`).
    scratch.follows = followers.take(instances);
    let args = (zones.as_slice(), reach.as_slice(), *dns_failing);
    // A service's last leader search may be kept only if nothing it depends on changed since
    // (`find_leaders`).
    scratch.search_kept.resize(services.len(), false);
    scratch
        .last_zone_key
        .resize(services.len() * zones.len(), u32::MAX);
    let mut timeouts_kept = true;
    let mut rotations_kept = true;
    for (kept, svc) in scratch.search_kept.iter_mut().zip(services.iter()) {
        *kept &= svc.rotation_kept;
        timeouts_kept &= svc.timeouts_kept;
        rotations_kept &= svc.rotation_kept;
    }
    scratch.timeouts_kept = timeouts_kept;
    // The usual zone counts get code of their own, with the per-zone loops unrolled.
    let run = match zones.len() {
        1 => load_of::<1>,
        2 => load_of::<2>,
        3 => load_of::<3>,
        4 => load_of::<4>,
        _ => load_of::<0>,
    };
    // The uniform flags live in `Scratch` (the latency stage reads them), taken out of it
    // while the stage borrows the rest.
    let mut uniform = std::mem::take(&mut scratch.uniform);
    if uniform.len() != services.len() {
        scratch.uniform_reach = None;
    }
    uniform.resize(services.len(), false);
    let bufs = (&mut *scratch, uniform.as_mut_slice());
    run(
        model,
        clock.tick,
        args,
        rotations_kept,
        services,
        instances,
        bufs,
    );
    // Every rotation is now computed: kept until something it depends on changes; so are
    // the clients' timeouts (nothing to set when all were kept).
    if !(rotations_kept & timeouts_kept) {
        for svc in services.iter_mut() {
            svc.rotation_kept = true;
            svc.timeouts_kept = true;
        }
    }
    debug_assert!(
        services
            .iter()
            .all(|svc| svc.rotation_kept & svc.timeouts_kept),
        "a rotation or timeouts not marked kept"
    );
    scratch.uniform = uniform;
}

/// The load stage on plain references and slices (function arguments the compiler knows do
/// not alias, so it keeps their lengths and pointers in registers across the stores).
/// `NZ` is the number of zones, known at compile time, or 0 for any number (`zones.len()`).
fn load_of<const NZ: usize>(
    model: &Model,
    tick: u64,
    (zones, reach, dns_failing): (&[ZoneState], &[bool], bool),
    rotations_kept: bool,
    services: &mut [ServiceState],
    instances: &mut [Instance],
    (sc, uniform): (&mut Scratch, &mut [bool]),
) {
    let dt = model.tick_s;
    debug_assert!(
        NZ == 0 || NZ == zones.len(),
        "load_of::<{NZ}> for {} zones",
        zones.len()
    );
    let nz = if NZ == 0 { zones.len() } else { NZ };
    // Cut to the zone count: a zone index checked once covers every per-zone slice.
    let (zones, reach) = (&zones[..nz], &reach[..nz * nz]);
    let ns = services.len();
    sc.fit(ns, nz, instances.len());
    sc.classify_reach(reach, nz);
    // Zones that look the same to any instance (same CPU steal, packet loss and reachability,
    // bit for bit) share a class: the first such zone.
    sc.zone_class.clear();
    for z in 0..nz {
        let class = (0..z)
            .find(|&y| {
                zones[y].steal.to_bits() == zones[z].steal.to_bits()
                    && zones[y].loss.to_bits() == zones[z].loss.to_bits()
                    && sc.reach_class[y] == sc.reach_class[z]
            })
            .unwrap_or(z);
        sc.zone_class.push(class as u32);
    }
    // Buffers sized once per tick, written by index below.
    sc.zone_rps.resize(nz, 0.0);
    sc.zone_key.resize(nz, 0);
    sc.unrouted.resize(ns, 0.0);
    sc.own_ids.resize_with(ns, Vec::new);
    // Which instances may have fault effects this tick: those the fault-effects stage says
    // an incident struck (the others have the neutral effects), or all when it cannot tell.
    // A service one of whose instances may have fault effects cannot keep its last leader
    // search (`find_leaders`) nor its calm lifecycle (`resources`, `svc_fx_maybe`).
    sc.fx_maybe.clear();
    sc.svc_fx_maybe.clear();
    match &sc.fx_struck {
        Some(struck) => {
            sc.fx_maybe.resize(instances.len(), false);
            sc.svc_fx_maybe.resize(ns, false);
            for &id in struck {
                if let Some(maybe) = sc.fx_maybe.get_mut(id as usize) {
                    *maybe = true;
                    let s = instances[id as usize].service as usize;
                    if let Some(kept) = sc.search_kept.get_mut(s) {
                        *kept = false;
                    }
                    if let Some(svc) = sc.svc_fx_maybe.get_mut(s) {
                        *svc = true;
                    }
                }
            }
        }
        None => {
            sc.fx_maybe.resize(instances.len(), true);
            sc.svc_fx_maybe.resize(ns, true);
            sc.search_kept.fill(false);
        }
    }
    // The scratch buffers as slices from here on: their lengths and addresses stay in
    // registers across the stores below (through `sc` they would be reloaded after each).
    let Scratch {
        offered: zone_load,
        share,
        count,
        rotation,
        edge_failed,
        first_rps,
        client_timeout_ms,
        follows,
        group_n,
        own_ids,
        zone_rps,
        zone_class,
        fx_maybe,
        zone_key,
        unrouted,
        timeout_bits,
        search_kept,
        last_zone_key,
        timeouts_kept,
        uniform_reach,
        ..
    } = sc;
    // Per service and zone, and per service: cut to the service count, so that one bounds
    // check of a service index covers every per-service slice.
    let (zone_load, share, count, rotation) = (
        &mut zone_load[..ns * nz],
        &mut share[..ns * nz],
        &mut count[..ns * nz],
        rotation.as_mut_slice(),
    );
    let (edge_failed, first_rps, client_timeout_ms) = (
        &mut edge_failed[..ns],
        &mut first_rps[..ns],
        &mut client_timeout_ms[..ns],
    );
    let (follows, group_n, own_ids, zone_rps) = (
        follows.as_mut_slice(),
        group_n.as_mut_slice(),
        &mut own_ids[..ns],
        zone_rps.as_mut_slice(),
    );
    let zone_key = zone_key.as_mut_slice();
    let unrouted = &mut unrouted[..ns];
    let (zone_class, fx_maybe) = (zone_class.as_slice(), fx_maybe.as_slice());
    // The load offered per service and zone is zero between load stages: each service's row
    // is zeroed as its load is read, after all its callers added to it.
    debug_assert!(
        zone_load.iter().all(|&o| o.to_bits() == 0),
        "load offered left from the last tick"
    );

    // The load balancer's rotation.
    // (It also compares the call edges' timeouts with those `client_timeout_ms` was last
    // computed from, below: `timeout_bits` after the service count, unless no timeout was
    // written since; debug builds compare them all the same.)
    let timeouts_kept = *timeouts_kept && timeout_bits.first() == Some(&(ns as u64));
    let check_timeouts = !timeouts_kept || cfg!(debug_assertions);
    let (timeout_diff, timeout_edges) = if rotations_kept && !check_timeouts {
        // No rotation to compute and no timeout to compare (the usual tick): only the sums
        // the pass down the call graph adds to are zeroed.
        edge_failed.fill(0.0);
        first_rps.fill(0.0);
        (0, 0)
    } else {
        rotation_pass::<NZ>(
            services,
            instances,
            zones,
            (count, share, rotation),
            (unrouted, edge_failed, first_rps),
            timeout_bits.get(1..).unwrap_or_default(),
            check_timeouts,
        )
    };
    let n = instances.len();
    let mut bufs = LeaderBufs {
        rotation: &rotation[..n],
        fx_maybe: &fx_maybe[..n],
        zone_class: &zone_class[..nz],
        zone_rps: &mut zone_rps[..nz],
        zone_key: &mut zone_key[..nz],
        follows: &mut follows[..n],
        group_n: &mut group_n[..n],
        own_ids,
        search_kept: &mut search_kept[..ns],
        last_zone_key: &mut last_zone_key[..ns * nz],
    };
    // Every zone reaches every zone (the usual case): no caller's row needs looking at.
    let reach_everywhere = reach.iter().all(|&r| r);
    // Services whose rotation has as many instances in every zone, while every zone reaches
    // every zone (the usual case): each of their per-zone rows holds one value, bit for bit
    // (the shares are the same quotient; the offered load starts at zero and only grows by
    // the same calls times the same share), so the value is computed once for all zones.
    // They are kept while no rotation changed and every zone reaches every zone as before
    // (debug builds compute them again and compare).
    let uniform = &mut uniform[..ns];
    let is_uniform_row = |s: usize| {
        let row = &count[s * nz..(s + 1) * nz];
        reach_everywhere && nz > 0 && row.iter().all(|&n| n == row[0])
    };
    if rotations_kept && *uniform_reach == Some(reach_everywhere) {
        debug_assert!(
            (uniform.iter().enumerate()).all(|(s, &u)| u == is_uniform_row(s)),
            "the kept uniform flags"
        );
    } else {
        for (s, u) in uniform.iter_mut().enumerate() {
            *u = is_uniform_row(s);
        }
        *uniform_reach = Some(reach_everywhere);
    }
    let uniform = &*uniform;
    // The model's per-service rows, cut to the service count like the slices above.
    let (stats, specs) = (&model.services[..ns], &model.scenario.services[..ns]);
    // How long each service's clients wait: the longest timeout of its callers (customers
    // wait `CUSTOMER_TIMEOUT_MS`). Kept from tick to tick, recomputed only when a call edge's
    // timeout changed (an action), compared bit for bit with the ones it came from.
    // `timeout_bits` starts with the service count (so that it is never empty once
    // computed, even without call edges).
    // The differences' bits ORed together (`rotation_pass`, in its loop over the services).
    let diff = u64::from(timeout_bits.first() != Some(&(ns as u64))) | timeout_diff;
    let recompute = check_timeouts && (diff != 0 || timeout_edges + 1 != timeout_bits.len());
    debug_assert!(
        !(timeouts_kept && recompute),
        "a call edge's timeout changed without clearing ServiceState::timeouts_kept"
    );
    if recompute {
        timeout_bits.clear();
        timeout_bits.push(ns as u64);
        for (s, stat) in stats.iter().enumerate() {
            client_timeout_ms[s] = if stat.entry_rps > 0.0 {
                CUSTOMER_TIMEOUT_MS
            } else {
                0.0
            };
        }
        for svc in services.iter() {
            for dep in &svc.deps {
                let t = &mut client_timeout_ms[dep.callee as usize];
                // Timeouts are never NaN (checked when set); a zero of either sign becomes
                // `CUSTOMER_TIMEOUT_MS` below.
                *t = t.at_least(dep.timeout_ms);
                timeout_bits.push(dep.timeout_ms.to_bits());
            }
        }
        for t in client_timeout_ms.iter_mut() {
            if *t <= 0.0 {
                *t = CUSTOMER_TIMEOUT_MS;
            }
        }
    }
    #[cfg(debug_assertions)]
    for (s, stat) in stats.iter().enumerate() {
        let start = if stat.entry_rps > 0.0 {
            CUSTOMER_TIMEOUT_MS
        } else {
            0.0
        };
        let longest = (services.iter().flat_map(|svc| &svc.deps))
            .filter(|dep| dep.callee as usize == s)
            .fold(start, |t, dep| t.at_least(dep.timeout_ms));
        let expected = if longest <= 0.0 {
            CUSTOMER_TIMEOUT_MS
        } else {
            longest
        };
        debug_assert_eq!(
            client_timeout_ms[s].to_bits(),
            expected.to_bits(),
            "the kept client timeout of service {s}"
        );
    }

    for &s in &model.topo {
        let s = s as usize;
        let stat = &stats[s];
        let spec = &specs[s];
        let storm = services[s].fx.storm_retry_share > 0.0;
        let (entry, factor, shed, rate_limit, cert_expired, quota) = {
            let svc = &services[s];
            (
                // Customer arrivals (times a spike's factor) plus customers' retries of last
                // tick's failures, which came from that multiplied load already: multiplying
                // them again made retries grow without bound under a spike.
                svc.entry_rps * svc.fx.load_factor + svc.client_retry_rps,
                svc.fx.load_factor,
                svc.shed,
                svc.rate_limit_rps,
                svc.fx.cert_expired,
                svc.fx.quota_rps,
            )
        };
        let mut m = ServiceTick::default();
        // This service's rows of the per-zone buffers.
        let row = s * nz..(s + 1) * nz;
        // Customers' TLS handshakes fail at the edge when the certificate expired.
        let entry_admitted = if cert_expired {
            edge_failed[s] += entry;
            0.0
        } else {
            entry
        };
        // The load offered per zone, into `zone_rps` until it is divided among the instances
        // (below). Every caller came before (`model.topo`): the service's row of `zone_load`
        // is read for the last time here, and zeroed for the next tick's callers.
        let mut offered_total = 0.0;
        // Instances in rotation (a uniform service has as many in every zone).
        let total_rotation: u32;
        if uniform[s] {
            total_rotation = count[row.start] * nz as u32;
            debug_assert_eq!(total_rotation, count[row.clone()].iter().sum::<u32>());
            // Only the row's first zone is written (`route_uniform`), the others stay zero.
            debug_assert!(
                is_uniform(&share[row.clone()])
                    && zone_load[row.start + 1..row.end]
                        .iter()
                        .all(|&o| o.to_bits() == 0),
                "the rows of service {s} hold one value"
            );
            let v = zone_load[row.start] * factor + entry_admitted * share[row.start];
            zone_load[row.start] = 0.0;
            for _ in 0..nz {
                offered_total += v;
            }
            bufs.zone_rps[0] = v;
        } else {
            total_rotation = count[row.clone()].iter().sum();
            let zones = zone_load[row.clone()].iter_mut().zip(&share[row.clone()]);
            for ((offered, &share), rps) in zones.zip(bufs.zone_rps.iter_mut()) {
                let v = *offered * factor + entry_admitted * share;
                *offered = 0.0;
                *rps = v;
                offered_total += v;
            }
        }
        m.offered_rps = offered_total + edge_failed[s];
        // First attempts: new customers plus callers' first calls (a spike multiplies both).
        let first = (services[s].entry_rps + first_rps[s]) * factor;
        if total_rotation == 0 {
            // No instance in rotation: everything offered fails, customers' requests and the
            // calls callers tried to make (already counted as failed, below) alike.
            edge_failed[s] += entry_admitted;
            m.offered_rps = offered_total + edge_failed[s];
        }
        let mut keep = 1.0 - shed;
        if let Some(limit) = rate_limit
            && offered_total * keep > limit
        {
            keep = limit / offered_total.at_least(MIN_CAPACITY_RPS);
        }
        m.shed_rps = offered_total * (1.0 - keep);
        let first = first.at_most(m.offered_rps);
        first_rps[s] = first;
        // Share of this service's requests that are first attempts (the rest are retries).
        let first_share = if m.offered_rps > 0.0 {
            first / m.offered_rps
        } else {
            1.0
        };
        // Only the numbers no later stage of the tick writes: the latency stage writes the
        // outcome and latencies of every service, the resources stage the rest. (Debug builds
        // write NaN there: the telemetry stage's finite check would catch one left over.)
        let out = &mut services[s].m;
        out.offered_rps = m.offered_rps;
        out.shed_rps = m.shed_rps;
        #[cfg(debug_assertions)]
        {
            *out = ServiceTick {
                offered_rps: m.offered_rps,
                shed_rps: m.shed_rps,
                ..LATER_SERVICE_TICK
            };
        }

        let timeout_ms = client_timeout_ms[s];
        let max_queue_factor = MAX_QUEUE_FACTOR;
        let svc = &services[s];
        // Per-service constants. (Its settings are read where a leader needs them: a service
        // has about one leader, and hoisted here they were stored and read back.)
        let inv_dt = 1.0 / dt;
        let inv_gc_span = 1.0 / (1.0 - GC_PRESSURE_START);
        // Load offered to each instance in rotation, per zone.
        if uniform[s] {
            let rps = bufs.zone_rps[0] * keep / f64::from(count[row.start].max(1));
            bufs.zone_rps.fill(rps);
        } else {
            for (rps, &count) in bufs.zone_rps.iter_mut().zip(&count[row]) {
                *rps = *rps * keep / f64::from(count.max(1));
            }
        }
        let stale = if stat.kind == ServiceKind::Database
            && !svc.reads_on_primary
            && svc.replica_lag_s > STALE_LAG_S
        {
            STALE_READ_SHARE
        } else {
            0.0
        };
        let quota_i = quota.map(|q| q / f64::from(total_rotation.max(1)));
        // No per-service source of own errors this tick (no retry storm, quota or stale
        // reads): with the neutral fault effects, only clock skew and a full disk remain.
        let calm_service = !storm & quota_i.is_none() & (stale == 0.0);
        // An instance in the same state as an earlier serving one of its service, in a zone
        // that looks the same to it (same load per instance, CPU steal, packet loss and
        // reachability), gets exactly the same results this tick: it follows that leader,
        // and load, latency and resources take the leader's results instead of recomputing.
        find_leaders::<NZ>(s, uniform[s], &svc.instances, instances, &mut bufs);
        let rotation = bufs.rotation;
        let follows = &*bufs.follows;
        // Each leader's group (itself and its followers): it routes the calls of its whole
        // group at once.
        let group_n = &*bufs.group_n;
        let per_instance = &bufs.zone_rps[..nz];
        // Followers are skipped: their calls were routed with their leader's (see `group`,
        // below); their results are the leader's (`followers`: nothing copies them into
        // the follower), and nothing before the resources stage reads them.
        for &id in &bufs.own_ids[s] {
            let id = id as usize;
            debug_assert_eq!(follows[id], NO_LEADER, "a follower in own_ids");
            let inst = &mut instances[id];
            let prev = inst.m;
            // This tick's metrics start from nothing but the memory and disk (the resources
            // stage moves them on); a serving leader's are written once, below.
            let fresh_tick = InstanceTick {
                memory_percent: prev.memory_percent,
                disk_percent: prev.disk_percent,
                ..InstanceTick::default()
            };
            // No calls unless made below (a leader's are all set in its loop over them).
            let no_calls = |deps: &mut [InstanceDep]| {
                for dep in deps {
                    dep.calls_rps = 0.0;
                    dep.fresh_rps = 0.0;
                    dep.sent_rps = 0.0;
                }
            };
            if !rotation[id] {
                inst.m = fresh_tick;
                no_calls(&mut inst.deps);
                continue;
            }
            let z = inst.zone as usize;
            let offered = per_instance[z];
            let since = match inst.life {
                Life::Running { since_tick } => since_tick,
                _ => {
                    // Down but still in rotation: connections refused.
                    inst.m = InstanceTick {
                        offered_rps: offered,
                        failed_rps: offered,
                        own_error: 1.0,
                        own_p50_ms: REFUSED_LATENCY_MS,
                        own_p99_ms: REFUSED_LATENCY_MS,
                        latency_p50_ms: REFUSED_LATENCY_MS,
                        latency_p99_ms: REFUSED_LATENCY_MS,
                        cause: Cause::Refused,
                        ..fresh_tick
                    };
                    no_calls(&mut inst.deps);
                    continue;
                }
            };
            // Capacity.
            let warmup_ticks = stat.warmup_ticks;
            let warm = if since == 0 || warmup_ticks == 0 {
                1.0
            } else {
                warm_share(tick, since, warmup_ticks)
            };
            // No incident struck it: the neutral fault effects (no CPU hog, no added latency),
            // whose terms leave the sums below as they are (none of them is negative zero).
            let neutral = !fx_maybe[id];
            debug_assert!(
                !neutral || inst.fx == InstanceEffects::default(),
                "an instance no incident struck has fault effects"
            );
            let steal = inst.fx.steal.at_least(zones[z].steal);
            let cpu_avail = if neutral {
                (1.0 - steal).at_least(0.05)
            } else {
                ((1.0 - inst.fx.hog) * (1.0 - steal)).at_least(0.05)
            };
            let gc =
                ((prev.memory_percent * 0.01 - GC_PRESSURE_START) * inv_gc_span).clamp(0.0, 1.0);
            let mut cap = spec.capacity_rps * warm * cpu_avail * (1.0 - GC_CAPACITY_LOSS * gc);
            if stat.kind == ServiceKind::Database && svc.reads_on_primary {
                cap *= PRIMARY_ONLY_CAPACITY;
            }
            // Past its connection limit a server thrashes (a process or buffer per connection).
            cap *= 1.0 - svc.conn_refuse;
            let service_ms = spec.base_latency_ms / cpu_avail;
            let base = if neutral {
                service_ms + GC_PAUSE_MS * gc * 0.3
            } else {
                let added_ms = inst.fx.extra_latency_ms + inst.fx.flag_latency_ms;
                service_ms + added_ms + GC_PAUSE_MS * gc * 0.3
            };
            // Worker threads limit throughput to threads / time a request holds one (one
            // division rather than a chain of two).
            cap = cap
                .at_most(threads_ms(spec) / prev.thread_ms.at_least(base).at_least(MIN_THREAD_MS))
                .at_least(MIN_CAPACITY_RPS);
            let inv_cap = 1.0 / cap;
            // Queue.
            let arrivals = offered * dt;
            let q0 = inst.queue;
            let work = q0 + arrivals;
            let served = work.at_most(cap * dt);
            let mut q1 = work - served;
            let max_queue = cap * (timeout_ms * 0.001);
            let abandoned = (q1 - max_queue).at_least(0.0);
            q1 -= abandoned;
            inst.queue = q1;
            let rho = offered * inv_cap;
            let queue_wait_ms = (q0 + q1) * (500.0 * inv_cap);
            let wait_ms = if rho < 1.0 {
                (service_ms * (rho / (1.0 - rho)).at_most(max_queue_factor)).at_least(queue_wait_ms)
            } else {
                queue_wait_ms.at_least(service_ms * max_queue_factor * 0.2)
            };
            let served_rps = served * inv_dt;
            let abandoned_rps = abandoned * inv_dt;
            let own_p99_ms = base * P99_IDLE_FACTOR + wait_ms * 2.0 + GC_PAUSE_MS * gc;
            let own_p99_ms = if neutral {
                own_p99_ms
            } else {
                own_p99_ms + inst.fx.extra_latency_ms * 0.2
            };
            debug_assert!(
                !neutral || {
                    let fx = &inst.fx;
                    let cpu = ((1.0 - fx.hog) * (1.0 - steal)).at_least(0.05);
                    let added_ms = fx.extra_latency_ms + fx.flag_latency_ms;
                    let full_base = service_ms + added_ms + GC_PAUSE_MS * gc * 0.3;
                    let p99 = full_base * P99_IDLE_FACTOR
                        + wait_ms * 2.0
                        + GC_PAUSE_MS * gc
                        + fx.extra_latency_ms * 0.2;
                    cpu.to_bits() == cpu_avail.to_bits()
                        && full_base.to_bits() == base.to_bits()
                        && p99.to_bits() == own_p99_ms.to_bits()
                },
                "a leader with the neutral fault effects"
            );
            // Own errors. A calm leader (no per-service source of them, the neutral fault
            // effects) can only have clock skew or a full disk; the others take every source.
            let calm = calm_service & neutral;
            let disk_full_gb = spec.disk_gb * 0.999;
            let skewed_or_full =
                (inst.clock_skew_s.abs() > SKEW_TOLERANCE_S) | (inst.disk_used_gb >= disk_full_gb);
            // Every source of own errors: the share of requests failing on them and the
            // dominant one.
            let all_sources = || {
                let mut quota_reject = 0.0;
                if let Some(q_i) = quota_i
                    && served_rps > q_i
                {
                    let admitted = q_i * (q_i / served_rps).at_least(QUOTA_FLOOR_SHARE);
                    quota_reject = 1.0 - admitted / served_rps;
                }
                let skew = if inst.clock_skew_s.abs() > SKEW_TOLERANCE_S {
                    CLOCK_SKEW_ERROR_SHARE
                } else {
                    0.0
                };
                let disk = if inst.disk_used_gb >= disk_full_gb {
                    DISK_WRITE_SHARE
                } else {
                    0.0
                };
                // A retry storm: an overloaded instance works on requests already given up.
                let late = if storm & (q1 > 0.0) {
                    STORM_LATE_SHARE
                } else {
                    0.0
                };
                // `&`, not `&&`: plain tests, one branch (they all hold in the usual case).
                if (late == 0.0)
                    & (inst.fx.config_error == 0.0)
                    & (inst.fx.flag_error == 0.0)
                    & (skew == 0.0)
                    & (disk == 0.0)
                    & (stale == 0.0)
                    & (quota_reject == 0.0)
                {
                    // The usual case, exactly what the product below gives.
                    (0.0, Cause::None)
                } else {
                    let errs = [
                        (late, Cause::Overload),
                        (inst.fx.config_error, Cause::BadConfig),
                        (inst.fx.flag_error, Cause::BadFlag),
                        (skew, Cause::ClockSkew),
                        (disk, Cause::DiskFull),
                        (stale, Cause::StaleRead),
                        (quota_reject, Cause::Quota),
                    ];
                    let mut ok_share = 1.0;
                    let mut worst = (0.0, Cause::None);
                    for (e, cause) in errs {
                        ok_share *= 1.0 - e;
                        if e > worst.0 {
                            worst = (e, cause);
                        }
                    }
                    (1.0 - ok_share, worst.1)
                }
            };
            let (own_error, mut cause) = if calm & !skewed_or_full {
                // Exactly what every source gives without one.
                debug_assert_eq!(
                    all_sources(),
                    (0.0, Cause::None),
                    "a calm leader's own errors"
                );
                (0.0, Cause::None)
            } else {
                all_sources()
            };
            if (abandoned > 0.0) & (abandoned_rps > served_rps * own_error) {
                cause = Cause::Overload;
            }
            // Only the numbers no later stage of the tick writes: the latency stage writes a
            // serving leader's outcome, latencies and thread time, the resources stage its
            // CPU, connections, memory and disk. (Debug builds write NaN there, and check
            // after the resources stage that none is left: `check_instance_ticks`.)
            let out = &mut inst.m;
            out.offered_rps = offered;
            out.served_rps = served_rps;
            out.capacity_rps = cap;
            out.utilisation = rho;
            out.own_p50_ms = base + wait_ms;
            out.own_p99_ms = own_p99_ms;
            out.own_error = own_error;
            out.wait_ms = wait_ms;
            out.abandoned_rps = abandoned_rps;
            out.cause = cause;
            #[cfg(debug_assertions)]
            {
                *out = InstanceTick {
                    offered_rps: offered,
                    served_rps,
                    capacity_rps: cap,
                    utilisation: rho,
                    own_p50_ms: base + wait_ms,
                    own_p99_ms,
                    own_error,
                    wait_ms,
                    abandoned_rps,
                    cause,
                    ..LATER_INSTANCE_TICK
                };
            }
            // Forward calls through the pools (a service calling nothing, about a third of
            // them, skips the shares below). Inlined: out of line (`#[inline(never)]`, its
            // inputs in two small structs) it cost 14.3 M instructions more for 1 200 ticks of
            // `fleet-100` (about 80 instructions a call to load its inputs, and its slices
            // checked one by one), more than the stack reloads it saved here.
            if svc.deps.is_empty() {
                continue;
            }
            let cache = stat.cache_dep.map(|cd| {
                let callee = svc.deps[cd as usize].callee as usize;
                (cd as usize, services[callee].cache_hit)
            });
            let miss = cache.map_or(1.0, |(cd, hit)| {
                let ok = if prev.served_rps > 0.0 {
                    inst.deps[cd].ok_frac
                } else {
                    1.0
                };
                // Database calls are written for a warm cache: scale by the miss rate over the
                // warm miss rate.
                (1.0 - hit * ok) / (1.0 - NORMAL_CACHE_HIT)
            });
            let zi = inst.zone as usize;
            let prev_success = if prev.served_rps > 0.0 {
                (prev.ok_rps / prev.served_rps).clamp(0.0, 1.0)
            } else {
                1.0
            };
            // The dependency whose pool a fault limits, if any (no index matches `usize::MAX`).
            let (limited_dep, limit) = if calm {
                (usize::MAX, 0)
            } else {
                inst.fx
                    .pool_limit
                    .map_or((usize::MAX, 0), |(pd, limit)| (pd as usize, limit))
            };
            // (Its zone's row of reachable zones is cut only when some zone is out of reach.)
            let reach_row = || &reach[zi * nz..(zi + 1) * nz];
            let reach_all = reach_everywhere || reach_row().iter().all(|&r| r);
            // The instance and its followers (same calls, same reachable zones): their calls
            // are routed once, multiplied by the group's size (sums in a different order than
            // one instance at a time: results can differ in the last bits).
            let group = f64::from(group_n[id]);
            let good_rps = served_rps * (1.0 - own_error);
            debug_assert_eq!(svc.deps.len(), inst.deps.len());
            debug_assert_eq!(svc.deps.len(), stat.behind_cache.len());
            let deps = svc.deps.iter().zip(&stat.behind_cache);
            for (d, ((dep, &behind_cache), idep)) in deps.zip(inst.deps.iter_mut()).enumerate() {
                if dep.disabled {
                    no_calls(std::slice::from_mut(idep));
                    continue;
                }
                // A request failing on the service's own error (bad config or flag, quota,
                // full disk) fails before it calls anything. (Calls not behind the cache are
                // not multiplied by a filter of 1: the same bits, one product less.)
                let mut fresh = good_rps * dep.calls_per_request;
                if behind_cache {
                    fresh *= miss;
                }
                let calls = fresh + idep.retry_rps;
                idep.fresh_rps = fresh;
                idep.calls_rps = calls;
                // The dependency's live settings, read here (a service has about one leader:
                // a row of them per service cost more than it saved).
                let c = dep.callee as usize;
                // No call, no new one (a leader that served nothing, with no retries): no first
                // attempt to add, none sent or lost, the pool free — what the computation
                // below gives for +0 calls (debug builds check), so the callee's sums and
                // rows are left as they are.
                if (calls.to_bits() | fresh.to_bits()) == 0 {
                    #[cfg(debug_assertions)]
                    {
                        let callee = &services[c];
                        let blocked = dns_failing | callee.fx.cert_expired;
                        let breaker = dep.breaker_open_until.is_some_and(|until| tick < until);
                        let hold_ms = idep.hold_ms.at_least(specs[c].base_latency_ms);
                        let (pool_frac, sent, lost) = if breaker {
                            (1.0, 0.0, 0.0)
                        } else {
                            pool_outcome(
                                calls,
                                dep,
                                idep,
                                (d == limited_dep, limit),
                                blocked,
                                hold_ms,
                                callee.conn_refuse,
                            )
                        };
                        debug_assert_eq!(
                            (pool_frac.to_bits(), sent.to_bits()),
                            (1f64.to_bits(), 0),
                            "no call's pool share and calls sent"
                        );
                        debug_assert_eq!(
                            (edge_failed[c] + lost * group).to_bits(),
                            edge_failed[c].to_bits(),
                            "no call's calls lost"
                        );
                        let first = fresh * first_share * prev_success * group;
                        debug_assert_eq!(
                            (first_rps[c] + first).to_bits(),
                            first_rps[c].to_bits(),
                            "no call's first attempts"
                        );
                    }
                    idep.pool_frac = 1.0;
                    idep.sent_rps = 0.0;
                    continue;
                }
                // Customers whose request failed elsewhere (last tick's success share) do not
                // go on to buy: only calls for requests that can still succeed are demand.
                first_rps[c] += fresh * first_share * prev_success * group;
                let callee = &services[c];
                // New connections cannot be made (DNS failing or the callee's certificate
                // expired).
                let blocked = dns_failing | callee.fx.cert_expired;
                if dep.breaker_open_until.is_some_and(|until| tick < until) {
                    idep.pool_frac = 1.0;
                    idep.sent_rps = 0.0;
                    continue;
                }
                let hold_ms = idep.hold_ms.at_least(specs[c].base_latency_ms);
                let (pool_frac, sent, lost) = pool_outcome(
                    calls,
                    dep,
                    idep,
                    (d == limited_dep, limit),
                    blocked,
                    hold_ms,
                    callee.conn_refuse,
                );
                idep.pool_frac = pool_frac;
                idep.sent_rps = sent;
                let (share_row, offered_row) = (
                    &share[c * nz..(c + 1) * nz],
                    &mut zone_load[c * nz..(c + 1) * nz],
                );
                edge_failed[c] += if uniform[c] {
                    route_uniform(
                        share_row,
                        offered_row,
                        unrouted[c],
                        sent * group,
                        lost * group,
                    )
                } else if reach_all {
                    route_reachable(
                        share_row,
                        offered_row,
                        unrouted[c],
                        sent * group,
                        lost * group,
                    )
                } else {
                    route(
                        share_row,
                        offered_row,
                        reach_row(),
                        sent * group,
                        lost * group,
                    )
                };
            }
        }
    }
    debug_assert!(
        zone_load.iter().all(|&o| o.to_bits() == 0),
        "load offered to a service after its load stage"
    );
}

/// The share of its capacity an instance running since `since_tick` has at `tick` while it
/// warms up for `warmup_ticks` (not 0). Out of line and cold: an instance warming up is
/// rare, and inlined its conversions were made for every service.
#[cold]
#[inline(never)]
fn warm_share(tick: u64, since_tick: u64, warmup_ticks: u64) -> f64 {
    let progress = (tick.saturating_sub(since_tick)) as f64 / warmup_ticks as f64;
    (WARMUP_START_FACTOR + (1.0 - WARMUP_START_FACTOR) * progress).at_most(1.0)
}

/// How many milliseconds of work the worker threads of a service with `spec` do per second.
#[inline(always)]
fn threads_ms(spec: &breakathon_scenario::Service) -> f64 {
    f64::from(spec.max_connections.max(1)) * 1000.0
}

/// A dependency's pool for `calls` calls/s (`limited`: whether a fault limits this pool, to
/// how many connections; `blocked`: no new connection can be made; `hold_ms`: how long a
/// call holds a connection, at least the callee's base latency; `refuse`: the callee's
/// share of refused connections): the share of calls the pool lets through, the calls sent,
/// and the calls lost (refused, or blocked for want of a connection).
#[inline(always)]
fn pool_outcome(
    calls: f64,
    dep: &DepState,
    idep: &InstanceDep,
    (limited, limit): (bool, u32),
    blocked: bool,
    hold_ms: f64,
    refuse: f64,
) -> (f64, f64, f64) {
    let mut usable = f64::from(dep.pool_size);
    if limited {
        usable = usable.at_most(f64::from(limit));
    }
    if blocked {
        usable = usable.at_most(idep.conns);
    }
    let needed = calls * hold_ms * 0.001;
    let pool_frac = if needed <= usable {
        1.0
    } else {
        usable / needed
    };
    let sent = calls * pool_frac * (1.0 - refuse);
    // Calls that never reach an instance of the callee count as the callee's failures (its
    // error rate and SLO show the outage its callers see): refused connections, connections
    // that cannot be made (DNS, TLS), unreachable zones, no instance in rotation at all.
    let lost = calls * pool_frac * refuse
        + if blocked {
            calls * (1.0 - pool_frac)
        } else {
            0.0
        };
    (pool_frac, sent, lost)
}

/// The buffers the leader search reads and writes, cut once per tick (per instance: the
/// fleet's length; per zone: the zone count).
struct LeaderBufs<'a> {
    /// Per instance: in the balancer's rotation (`Scratch::rotation`).
    rotation: &'a [bool],
    /// Per instance: may have fault effects (`Scratch::fx_maybe`).
    fx_maybe: &'a [bool],
    /// Per zone: its class (`Scratch::zone_class`).
    zone_class: &'a [u32],
    /// Per zone: load offered to each instance in rotation of the service being loaded.
    zone_rps: &'a mut [f64],
    /// Per zone: working space of the leader search (`Scratch::zone_key`).
    zone_key: &'a mut [u32],
    /// `Scratch::follows`.
    follows: &'a mut [u32],
    /// `Scratch::group_n`.
    group_n: &'a mut [u32],
    /// `Scratch::own_ids`, one list per service.
    own_ids: &'a mut [Vec<u32>],
    /// `Scratch::search_kept`, one per service.
    search_kept: &'a mut [bool],
    /// `Scratch::last_zone_key`, one row of zones per service.
    last_zone_key: &'a mut [u32],
}

/// The first zone that looks the same as zone `z` to an instance of the service being
/// loaded: the same load per instance (`zone_rps`, bit for bit) and the same zone class.
#[inline(always)]
fn first_zone_alike(zone_rps: &[f64], zone_class: &[u32], z: usize) -> usize {
    (0..z)
        .find(|&y| zone_rps[y].to_bits() == zone_rps[z].to_bits() && zone_class[y] == zone_class[z])
        .unwrap_or(z)
}

/// The leader search of service `s` (`ids`, its instances; `same_rps`: the load per instance
/// is the same in every zone, bit for bit): sets `follows` and `group_n` of
/// its instances and writes those that compute their own tick (all but the followers), in
/// order, to its list of `own_ids`. A follower of last tick that stops
/// following its leader gets its own tick and per-dependency rows here
/// (`followers::copy_shared`), before
/// the leader is computed. `zone_key` (one per zone) is
/// working space; `NZ` as in `load_of`. Inlined (callgrind, 1 200 ticks of `fleet-100`: out
/// of line it cost 4.6 M instructions more, now that its buffers come in one struct).
#[inline(always)]
fn find_leaders<const NZ: usize>(
    s: usize,
    same_rps: bool,
    ids: &[u32],
    instances: &mut [Instance],
    bufs: &mut LeaderBufs<'_>,
) {
    let LeaderBufs {
        rotation,
        fx_maybe,
        zone_class,
        zone_rps,
        zone_key,
        follows,
        group_n,
        own_ids,
        search_kept,
        last_zone_key,
    } = bufs;
    let own_ids = &mut own_ids[s];
    if ids.is_empty() {
        own_ids.clear();
        return;
    }
    debug_assert!(
        ids.iter()
            .all(|&id| instances[id as usize].service as usize == s)
    );
    let (zone_rps, zone_class) = (&**zone_rps, *zone_class);
    let nz = if NZ == 0 { zone_rps.len() } else { NZ };
    let (zone_rps, zone_class, zone_key) =
        (&zone_rps[..nz], &zone_class[..nz], &mut zone_key[..nz]);
    // Zones that look the same to an instance of this service (the same load per instance,
    // and the same zone class) share a key: the first such zone. Both tests compare bits, so
    // "looks the same" is an equivalence. With the same load per instance in every zone
    // (`same_rps`: the service's rows hold one value, `load_of`'s `uniform`) the key is the
    // zone's class (the first zone of that class); debug builds check it.
    let zone_key: &[u32] = if same_rps {
        debug_assert!(is_uniform(zone_rps), "service {s}: one load per instance");
        zone_class
    } else {
        for (z, key) in zone_key.iter_mut().enumerate() {
            *key = first_zone_alike(zone_rps, zone_class, z) as u32;
        }
        zone_key
    };
    #[cfg(debug_assertions)]
    for (z, &key) in zone_key.iter().enumerate() {
        debug_assert_eq!(
            key as usize,
            first_zone_alike(zone_rps, zone_class, z),
            "service {s}: the key of zone {z}"
        );
    }
    // Every per-instance slice cut to the same length: one bounds check covers them all.
    let n = instances.len();
    let (rotation, fx_maybe) = (&rotation[..n], &fx_maybe[..n]);
    let (follows, group_n) = (&mut follows[..n], &mut group_n[..n]);
    // Last tick's answer holds when the service's last search found at most one leader
    // (then every other serving instance in rotation followed it: with a second leader,
    // states that grew equal could merge), nothing its instances' lives, probes, drains,
    // clock skew or disks depend on changed since (`ServiceState::rotation_kept`), no
    // instance may have fault effects (both folded into `search_kept` by `load`), and its
    // zones' keys are the same: every follower then passes `same_kept_state` with the leader it had, and the
    // others are what they were, as is the list of those computing their own tick. Debug
    // builds search in full and check that nothing changed.
    debug_assert!(
        !(search_kept[s] && ids.iter().any(|&id| fx_maybe[id as usize])),
        "service {s} may have fault effects and keep its search"
    );
    let key_row = &mut last_zone_key[s * nz..(s + 1) * nz];
    let keep = search_kept[s] && *key_row == *zone_key;
    if keep && !cfg!(debug_assertions) {
        // (Its zone keys are the ones kept.)
        return;
    }
    key_row.copy_from_slice(zone_key);
    // (Only debug builds get here with a kept search: `own_ids` is then checked, not
    // written.)
    #[cfg(debug_assertions)]
    let kept_answer = keep;
    #[cfg(debug_assertions)]
    let groups_before: u64 = ids.iter().map(|&id| u64::from(group_n[id as usize])).sum();
    // The leaders so far: their ids, their zones' keys, whether they may have fault effects,
    // and their followers so far.
    let mut leaders = [NO_LEADER; LEADER_SLOTS];
    let mut leader_keys = [0u32; LEADER_SLOTS];
    let mut leader_fx = [false; LEADER_SLOTS];
    let mut leader_followers = [0u32; LEADER_SLOTS];
    let mut n_leaders = 0;
    let mut n_own = 0;
    if !keep {
        own_ids.clear();
    }
    for &id in ids {
        let id = id as usize;
        // The leader it followed last tick, if any: its tick and per-dependency rows are
        // still that leader's (`followers`); see `same_kept_state`. No leader of this service
        // has been computed yet: their ticks and rows are still those of last tick.
        let followed = follows[id];
        group_n[id] = 1;
        // Only serving instances are compared (`|`: one branch for two plain tests).
        if !rotation[id] | !instances[id].is_running() {
            #[cfg(debug_assertions)]
            debug_assert!(
                !kept_answer || followed == NO_LEADER,
                "a kept leader search changed for instance {id}"
            );
            if followed != NO_LEADER {
                followers::copy_shared(instances, id, followed as usize);
            }
            follows[id] = NO_LEADER;
            push_own(own_ids, &mut n_own, id as u32, keep);
            continue;
        }
        let key = zone_key[instances[id].zone as usize];
        // At most one leader matches (a leader is an instance that matched no earlier one,
        // and matching is an equivalence). The one it followed last tick is tried first,
        // with the short check, and only if it does not match are the others tried.
        // Usually the service's first leader: tried before the search.
        let kept = if n_leaders > 0 && leaders[0] == followed {
            Some(0)
        } else {
            leaders[..n_leaders].iter().position(|&l| l == followed)
        };
        let found = match kept {
            Some(k)
                if leader_keys[k] == key && {
                    let lead = &instances[leaders[k] as usize];
                    same_kept_state(lead, &instances[id], leader_fx[k] || fx_maybe[id])
                } =>
            {
                // Its rows stay its leader's.
                Some(k)
            }
            _ => {
                // It stops following: its own tick and rows, before the full comparison
                // reads them (and before its leader is computed).
                if followed != NO_LEADER {
                    followers::copy_shared(instances, id, followed as usize);
                }
                let inst = &instances[id];
                (0..n_leaders).find(|&k| {
                    leaders[k] != followed
                        && leader_keys[k] == key
                        && same_state(&instances[leaders[k] as usize], inst)
                })
            }
        };
        #[cfg(debug_assertions)]
        {
            // The instance as an eager copy would have left it: with its leader's tick and
            // rows if it keeps following.
            let inst = &instances[id];
            let shared = if found.is_some() && found == kept {
                &instances[followed as usize]
            } else {
                inst
            };
            debug_assert_eq!(
                found,
                leaders[..n_leaders].iter().position(|&l| {
                    let lead = &instances[l as usize];
                    let (lz, z) = (lead.zone as usize, inst.zone as usize);
                    let same_zone = lz == z
                        || (zone_rps[lz].to_bits() == zone_rps[z].to_bits()
                            && zone_class[lz] == zone_class[z]);
                    same_zone && same_state_shared(lead, inst, shared)
                }),
                "the first matching leader"
            );
        }
        #[cfg(debug_assertions)]
        debug_assert!(
            !kept_answer || found.map_or(NO_LEADER, |k| leaders[k]) == followed,
            "a kept leader search changed for instance {id}"
        );
        match found {
            Some(k) => {
                follows[id] = leaders[k];
                leader_followers[k] += 1;
            }
            None => {
                follows[id] = NO_LEADER;
                if n_leaders < LEADER_SLOTS {
                    leaders[n_leaders] = id as u32;
                    leader_keys[n_leaders] = key;
                    leader_fx[n_leaders] = fx_maybe[id];
                    n_leaders += 1;
                }
                push_own(own_ids, &mut n_own, id as u32, keep);
            }
        }
    }
    for (&lead, &followers) in leaders[..n_leaders].iter().zip(&leader_followers) {
        group_n[lead as usize] = 1 + followers;
    }
    #[cfg(debug_assertions)]
    debug_assert!(
        !kept_answer
            || groups_before == ids.iter().map(|&id| u64::from(group_n[id as usize])).sum(),
        "a kept leader search changed its groups"
    );
    debug_assert_eq!(
        n_own,
        own_ids.len(),
        "a kept leader search changed who computes its own tick"
    );
    search_kept[s] = n_leaders <= 1;
}

/// Appends `id` to a service's `own_ids` (its `n`-th), or, for a kept search (`kept`: debug
/// builds only, which search in full all the same), checks that the kept list has it there.
#[inline(always)]
fn push_own(own_ids: &mut Vec<u32>, n: &mut usize, id: u32, kept: bool) {
    if kept {
        debug_assert_eq!(
            own_ids.get(*n),
            Some(&id),
            "a kept leader search changed who computes its own tick"
        );
    } else {
        own_ids.push(id);
    }
    *n += 1;
}

/// The load balancer's rotation of every service: `rotation` (per instance), `count` and
/// `share` (per service and zone, every row written), `unrouted` (per service); also zeroes
/// every service's `edge_failed` and `first_rps`. `NZ` as in `load_of`.
/// A service whose rotation nothing changed since the last load stage
/// (`ServiceState::rotation_kept`) keeps the one it has (debug builds compute it again and
/// compare).
/// Also compares the call edges' timeouts (the services' dependencies in order) with
/// `kept_timeout_bits`, in the same loop over the services: returns the differences' bits
/// ORed together (1 if there are more edges than kept bits) and the number of edges; when
/// `check_timeouts` is false, 0 and the number of edges.
/// Inlined (out of line it cost 1.8 M instructions more for 1 200 ticks of `fleet-100`).
#[inline(always)]
fn rotation_pass<const NZ: usize>(
    services: &[ServiceState],
    instances: &[Instance],
    zones: &[ZoneState],
    (count, share, rotation): (&mut [u32], &mut [f64], &mut [bool]),
    (unrouted, edge_failed, first_rps): (&mut [f64], &mut [f64], &mut [f64]),
    kept_timeout_bits: &[u64],
    check_timeouts: bool,
) -> (u64, usize) {
    let mut timeout_diff = 0;
    let mut edges = 0;
    let mut kept = kept_timeout_bits;
    let nz = if NZ == 0 { zones.len() } else { NZ };
    let zones = &zones[..nz];
    let rotation = &mut rotation[..instances.len()];
    // Per-service slices cut to the service count (no bounds check per service).
    let ns = services.len();
    let (unrouted, edge_failed, first_rps) = (
        &mut unrouted[..ns],
        &mut edge_failed[..ns],
        &mut first_rps[..ns],
    );
    let (count, share) = (&mut count[..ns * nz], &mut share[..ns * nz]);
    for (s, svc) in services.iter().enumerate() {
        let mut healthy = 0u32;
        let mut candidates = 0u32;
        let count = &mut count[s * nz..(s + 1) * nz];
        // The sums the pass down the call graph adds to, zeroed here rather than by two fills
        // of whole buffers (the offered load's rows are zeroed as they are read).
        edge_failed[s] = 0.0;
        first_rps[s] = 0.0;
        edges += svc.deps.len();
        match kept.split_at_checked(svc.deps.len()) {
            _ if !check_timeouts => {}
            Some((bits, rest)) => {
                for (dep, &b) in svc.deps.iter().zip(bits) {
                    timeout_diff |= dep.timeout_ms.to_bits() ^ b;
                }
                kept = rest;
            }
            None => {
                timeout_diff = 1;
                kept = &[];
            }
        }
        if svc.rotation_kept {
            #[cfg(debug_assertions)]
            check_kept_rotation(
                svc,
                instances,
                zones,
                (count, &share[s * nz..(s + 1) * nz], rotation),
                unrouted[s],
            );
            continue;
        }
        count.fill(0);
        // One pass: healthy candidates are in rotation in any case; unhealthy ones that run
        // only if the balancer panics (a second pass, only then).
        for &id in &svc.instances {
            let inst = &instances[id as usize];
            let z = inst.zone as usize;
            // `|`, not `||`: both are plain loads, one branch is cheaper than two.
            let healthy_candidate = if inst.drained | zones[z].drained {
                false
            } else if inst.is_running() {
                candidates += 1;
                inst.probe_healthy
            } else if inst.probe_healthy && matches!(inst.life, Life::Down { .. }) {
                candidates += 1;
                true
            } else {
                false
            };
            debug_assert_eq!(
                healthy_candidate,
                is_candidate(inst, zones) && inst.probe_healthy
            );
            rotation[id as usize] = healthy_candidate;
            if healthy_candidate {
                healthy += 1;
                count[z] += 1;
            }
        }
        debug_assert_eq!(
            candidates as usize,
            (svc.instances.iter())
                .filter(|&&id| is_candidate(&instances[id as usize], zones))
                .count()
        );
        let panic = candidates > 0 && f64::from(healthy) < LB_PANIC_SHARE * f64::from(candidates);
        let mut total = healthy;
        if panic && candidates > healthy {
            for &id in &svc.instances {
                let inst = &instances[id as usize];
                if !inst.probe_healthy && inst.is_running() && is_candidate(inst, zones) {
                    rotation[id as usize] = true;
                    count[inst.zone as usize] += 1;
                    total += 1;
                }
            }
        }
        // Every share of the row is written (no need to clear the whole buffer first).
        let share = &mut share[s * nz..(s + 1) * nz];
        // The sum `route` makes of the positive shares (adding a zero share, as here, leaves
        // the sum as it is: it is never negative zero).
        let mut routed = 0.0;
        if total > 0 {
            for (share, &n) in share.iter_mut().zip(count.iter()) {
                let w = f64::from(n) / f64::from(total);
                *share = w;
                routed += w;
            }
        } else {
            share.fill(0.0);
        }
        unrouted[s] = (1.0 - routed).at_least(0.0);
    }
    (timeout_diff, edges)
}

/// Debug builds: a kept rotation (`ServiceState::rotation_kept`) of service `svc` — its
/// instances' `rotation`, its `count` and `share` rows, its `unrouted` share — is the one
/// `rotation_pass` computes now.
#[cfg(debug_assertions)]
fn check_kept_rotation(
    svc: &ServiceState,
    instances: &[Instance],
    zones: &[ZoneState],
    (count, share, rotation): (&[u32], &[f64], &[bool]),
    unrouted: f64,
) {
    let ids = || svc.instances.iter().map(|&id| &instances[id as usize]);
    let candidates = ids().filter(|i| is_candidate(i, zones)).count() as u32;
    let healthy = ids()
        .filter(|i| is_candidate(i, zones) && i.probe_healthy)
        .count() as u32;
    let panic = candidates > 0 && f64::from(healthy) < LB_PANIC_SHARE * f64::from(candidates);
    let mut total = 0;
    for (z, &n) in count.iter().enumerate() {
        let expected = svc.instances.iter().filter(|&&id| {
            let inst = &instances[id as usize];
            let in_rotation =
                is_candidate(inst, zones) && (inst.probe_healthy || (panic && inst.is_running()));
            debug_assert_eq!(rotation[id as usize], in_rotation, "kept rotation of {id}");
            inst.zone as usize == z && in_rotation
        });
        debug_assert_eq!(
            n as usize,
            expected.count(),
            "kept rotation count of zone {z}"
        );
        total += n;
    }
    let mut routed = 0.0;
    for (z, (&w, &n)) in share.iter().zip(count).enumerate() {
        let expected = if total > 0 {
            f64::from(n) / f64::from(total)
        } else {
            0.0
        };
        debug_assert_eq!(w.to_bits(), expected.to_bits(), "kept share of zone {z}");
        routed += expected;
    }
    debug_assert_eq!(
        unrouted.to_bits(),
        (1.0 - routed).at_least(0.0).to_bits(),
        "kept unrouted share"
    );
}

/// Whether the load balancer may send an instance requests (it still needs to pass its
/// probes, unless the balancer panics and it runs).
#[inline]
fn is_candidate(inst: &Instance, zones: &[ZoneState]) -> bool {
    // Running, or down but still passing its probes (neither booting nor removed).
    let in_service = match inst.life {
        Life::Running { .. } => true,
        Life::Down { .. } => inst.probe_healthy,
        Life::Booting { .. } | Life::Removed => false,
    };
    in_service && !inst.drained && !zones[inst.zone as usize].drained
}

/// No leader: the instance computes its own results (`Scratch::follows`).
pub const NO_LEADER: u32 = u32::MAX;

/// Most leaders an instance is compared with (distinct states within one service).
pub const LEADER_SLOTS: usize = 4;

/// `route` for a caller that reaches every zone: `unrouted` is the callee's share of calls
/// no zone takes (`Scratch::unrouted`, the same sum `route` makes). Every share is added, a
/// zero one too: the offered loads are never negative zero (they start at zero and only
/// grow here), so adding a zero leaves them as they are.
/// (Rare on `fleet-100`, but out of line, it and `route` cost 1.8 M instructions more for
/// 1 200 ticks: a call in the dependency loop moves more of its values to the stack.)
#[inline]
fn route_reachable(
    share_row: &[f64],
    offered_row: &mut [f64],
    unrouted: f64,
    sent: f64,
    mut lost: f64,
) -> f64 {
    if sent > 0.0 {
        debug_assert!(sent.is_finite(), "calls sent: {sent}");
        debug_assert_eq!(
            unrouted.to_bits(),
            unrouted_share(share_row).to_bits(),
            "the callee's unrouted share"
        );
        for (&w, offered) in share_row.iter().zip(offered_row) {
            debug_assert!(w >= 0.0 && offered.is_sign_positive());
            *offered += sent * w;
        }
        lost += sent * unrouted;
    }
    lost
}

/// `route_reachable` for a callee whose rows hold one value each (`share_row`: the same
/// share in every zone; `offered_row`: the same load, kept in its first zone only, the
/// others zero — the callee's load stage reads the first): the one sum made once, for every
/// zone. Debug builds check it against `route_reachable`'s sum for each zone.
#[inline]
fn route_uniform(
    share_row: &[f64],
    offered_row: &mut [f64],
    unrouted: f64,
    sent: f64,
    mut lost: f64,
) -> f64 {
    if sent > 0.0 {
        debug_assert!(
            is_uniform(share_row) && offered_row[1..].iter().all(|&o| o.to_bits() == 0),
            "a uniform callee's rows"
        );
        debug_assert_eq!(
            unrouted.to_bits(),
            unrouted_share(share_row).to_bits(),
            "the callee's unrouted share"
        );
        let before = offered_row[0];
        let v = before + sent * share_row[0];
        offered_row[0] = v;
        debug_assert!(
            share_row
                .iter()
                .all(|&w| v.to_bits() == (before + sent * w).to_bits()),
            "a uniform callee's offered load"
        );
        lost += sent * unrouted;
    }
    lost
}

/// The share of calls no zone of `share_row` takes: 1 minus the sum of its positive shares,
/// at least 0 (the sum `route` makes; `Scratch::unrouted` keeps it per service).
fn unrouted_share(share_row: &[f64]) -> f64 {
    (1.0 - share_row.iter().filter(|&&w| w > 0.0).sum::<f64>()).at_least(0.0)
}

/// Whether every value of `row` has the bits of the first.
fn is_uniform(row: &[f64]) -> bool {
    row.iter().all(|v| v.to_bits() == row[0].to_bits())
}

/// Routes `sent` calls/s over the callee's zones (`share_row`, its rotation per zone) into
/// their offered load, from a caller that reaches the zones of `reach_row`; returns `lost`
/// plus the calls that reach no instance (unreachable zones, no rotation at all).
#[inline]
fn route(
    share_row: &[f64],
    offered_row: &mut [f64],
    reach_row: &[bool],
    sent: f64,
    mut lost: f64,
) -> f64 {
    if sent > 0.0 {
        let mut routed = 0.0;
        for ((&w, &reachable), offered) in share_row.iter().zip(reach_row).zip(offered_row) {
            if w > 0.0 {
                routed += w;
                if reachable {
                    *offered += sent * w;
                } else {
                    lost += sent * w;
                }
            }
        }
        lost += sent * (1.0 - routed).at_least(0.0);
    }
    lost
}

/// Whether two serving instances of one service hold the same state (bit for bit) in
/// everything the load, latency and resources stages read: then they get the same results.
/// The floats are compared as one OR of XORed bits, without a branch per field: followers
/// are the usual case, so every field is read anyway.
fn same_state(a: &Instance, b: &Instance) -> bool {
    same_state_shared(a, b, b)
}

/// `same_state` with `shared`'s tick and per-dependency rows for `b`'s (debug builds: the
/// leader whose a follower shares, `followers`).
#[inline(always)]
fn same_state_shared(a: &Instance, b: &Instance, shared: &Instance) -> bool {
    let d = |x: f64, y: f64| x.to_bits() ^ y.to_bits();
    let b_deps = &shared.deps;
    if a.life != b.life || a.deps.len() != b_deps.len() || !same_effects(&a.fx, &b.fx) {
        return false;
    }
    let t = shared;
    let mut diff = d(a.queue, t.queue)
        | d(a.clock_skew_s, b.clock_skew_s)
        | d(a.disk_used_gb, t.disk_used_gb)
        | d(a.leaked_mb, t.leaked_mb)
        | d(a.m.memory_percent, t.m.memory_percent)
        | d(a.m.disk_percent, t.m.disk_percent)
        | d(a.m.thread_ms, t.m.thread_ms)
        | d(a.m.served_rps, t.m.served_rps)
        | d(a.m.ok_rps, t.m.ok_rps);
    for (x, y) in a.deps.iter().zip(b_deps) {
        diff |= d(x.retry_rps, y.retry_rps)
            | d(x.conns, y.conns)
            | d(x.hold_ms, y.hold_ms)
            | d(x.ok_frac, y.ok_frac);
    }
    diff == 0
}

/// `same_state` for an instance that followed `a` last tick and still shares its tick
/// (metrics, queue, memory leaked, disk used) and per-dependency rows (`followers`): they are
/// `a`'s, so only its own state is compared. Between the resources stage of one tick and the
/// load stage of the next, only these change it:
/// restart, kill and removal (`ops`), which also change `life` (compared here: a restarted
/// instance boots, or runs since another tick than its leader; both restarted at once get the
/// same values) and give the instance, and those sharing its tick and rows, their own (then
/// it follows nobody: this is not called); a restart's `drop_callers_connections` and
/// freeing disk (the same); fault effects and clock skew (`fx`, `clock_skew_s`, compared
/// here). Debug builds check that the answer is `same_state`'s for `b` with `a`'s tick and
/// rows.
///
/// `fx_may_differ` is false when neither instance can have fault effects this tick (no
/// incident struck either: both have the neutral effects), so they need no comparing.
#[inline(always)]
fn same_kept_state(a: &Instance, b: &Instance, fx_may_differ: bool) -> bool {
    debug_assert!(
        fx_may_differ || (a.fx == InstanceEffects::default() && b.fx == InstanceEffects::default()),
        "an instance no incident struck has fault effects"
    );
    let kept = a.life == b.life
        && a.deps.len() == b.deps.len()
        && (!fx_may_differ || same_effects(&a.fx, &b.fx))
        && a.clock_skew_s.to_bits() == b.clock_skew_s.to_bits();
    // `b` as an eager copy would have left it: its tick and per-dependency rows are `a`'s.
    debug_assert_eq!(
        kept,
        same_state_shared(a, b, a),
        "an instance changed while it shared its leader's tick"
    );
    kept
}

/// Whether two instances' fault effects are the same, bit for bit.
fn same_effects(a: &InstanceEffects, b: &InstanceEffects) -> bool {
    let d = |x: f64, y: f64| x.to_bits() ^ y.to_bits();
    let diff = d(a.hog, b.hog)
        | d(a.steal, b.steal)
        | d(a.extra_latency_ms, b.extra_latency_ms)
        | d(a.leak_mb_per_tick, b.leak_mb_per_tick)
        | d(a.disk_fill_gb_per_tick, b.disk_fill_gb_per_tick)
        | d(a.flag_error, b.flag_error)
        | d(a.flag_latency_ms, b.flag_latency_ms)
        | d(a.loss, b.loss)
        | d(a.config_error, b.config_error)
        | (a.crash_after_ticks ^ b.crash_after_ticks);
    diff == 0 && a.pool_limit == b.pool_limit
}

#[cfg(test)]
mod tests {
    use super::{route_reachable, route_uniform};
    use crate::num::Bound;

    /// `route_uniform` gives `route_reachable`'s sums bit for bit on rows that hold one
    /// value (kept by `route_uniform` in the first zone, the others zero), with and without
    /// calls, with and without a share no zone takes.
    #[test]
    fn a_uniform_callee_is_routed_like_any_reachable_one() {
        for share in [1.0 / 3.0, 0.25, 0.0] {
            let shares = [share; 3];
            // As the rotation pass makes it: the positive shares' sum taken from 1.
            let routed: f64 = shares.iter().filter(|&&w| w > 0.0).sum();
            let unrouted = (1.0 - routed).at_least(0.0);
            for sent in [0.0, 1e-9, 7.3, 12_345.678] {
                for before in [0.0, 0.1, 99.9] {
                    let (mut a, mut b) = ([before, 0.0, 0.0], [before; 3]);
                    let lost_a = route_uniform(&shares, &mut a, unrouted, sent, 0.5);
                    let lost_b = route_reachable(&shares, &mut b, unrouted, sent, 0.5);
                    assert_eq!(lost_a.to_bits(), lost_b.to_bits(), "lost, sent {sent}");
                    for y in &b {
                        assert_eq!(a[0].to_bits(), y.to_bits(), "offered, sent {sent}");
                    }
                    assert_eq!(a[1..], [0.0; 2], "the other zones, sent {sent}");
                }
            }
        }
    }
}
