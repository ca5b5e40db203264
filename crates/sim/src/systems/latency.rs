//! Stage 6: latency and errors flow back up the call graph (callees before callers). Each
//! caller instance sees, per dependency: connections it could not get (pool, DNS, TLS, the
//! callee's connection limit), zones it cannot reach, packet loss (retransmissions in the
//! tail), timeouts against the callee's latency, and the callee's own errors. Retries succeed
//! within the request and add load next tick.

use bevy_ecs::prelude::*;

use crate::model::{CUSTOMER_TIMEOUT_MS, Model, PACKETS_PER_CALL, RETRANSMIT_MS};
use crate::num::Bound;
use crate::state::{
    Cause, Clock, DepCause, DepState, Fleet, Instance, InstanceTick, ServiceState, ZoneState,
};
use crate::systems::load::{LEADER_SLOTS, NO_LEADER};
use crate::systems::{Scratch, timeout_share, times_out_nothing};

/// Weight of the past in the smoothed connection hold time.
const HOLD_SMOOTHING: f64 = 0.7;
/// Error share under which a dependency's failures get no cause attached.
const CAUSE_THRESHOLD: f64 = 0.005;

/// The latency-and-errors system.
pub fn latency_and_errors(
    model: Res<Model>,
    clock: Res<Clock>,
    mut fleet: ResMut<Fleet>,
    mut scratch: ResMut<Scratch>,
) {
    let Fleet {
        zones,
        services,
        instances,
        reach,
        dns_failing,
        ..
    } = &mut *fleet;
    let links = Links {
        zones,
        reach,
        dns_failing: *dns_failing,
    };
    let (tick, sc) = (clock.tick, &mut *scratch);
    // The usual zone counts get code of their own (loops over zones unrolled).
    match zones.len() {
        1 => latency_of::<1>(&model, tick, links, services, instances, sc),
        2 => latency_of::<2>(&model, tick, links, services, instances, sc),
        3 => latency_of::<3>(&model, tick, links, services, instances, sc),
        4 => latency_of::<4>(&model, tick, links, services, instances, sc),
        _ => latency_of::<0>(&model, tick, links, services, instances, sc),
    }
}

/// The zones, their reachability and the DNS state: what the latency stage only reads.
struct Links<'a> {
    zones: &'a [ZoneState],
    reach: &'a [bool],
    dns_failing: bool,
}

/// The latency stage on plain references and slices (function arguments the compiler knows
/// do not alias, so it keeps their lengths and pointers in registers across the stores).
/// `NZ` is the number of zones, or 0 for any number.
fn latency_of<const NZ: usize>(
    model: &Model,
    tick: u64,
    links: Links<'_>,
    services: &mut [ServiceState],
    instances: &mut [Instance],
    sc: &mut Scratch,
) {
    let Links {
        zones,
        reach,
        dns_failing,
    } = links;
    debug_assert!(NZ == 0 || NZ == zones.len());
    let nz = if NZ == 0 { zones.len() } else { NZ };
    let ns = services.len();
    let lossless = zones.iter().all(|zone| zone.loss == 0.0);
    sc.classify_reach(reach, nz);
    // Bit `z`: zone `z` reaches every zone (zones from 64 on are told apart by `zone_call`).
    let mut reach_all: u64 = 0;
    for z in 0..nz.min(64) {
        if reach[z * nz..(z + 1) * nz].iter().all(|&r| r) {
            reach_all |= 1 << z;
        }
    }
    // Every service's sums are written with its rows, before its callers read them.
    sc.call_sums.resize(ns, CallSum::default());
    // Nothing is cleared: a slot written in an earlier call of the stage (another round) is
    // free, and its key, call and outcome are written when it is taken.
    sc.zone_memo_round += 1;
    let memo_round = sc.zone_memo_round;
    sc.zone_memo
        .resize(ns * ZONE_MEMO_SLOTS, ZoneMemo::default());
    // Per-zone sums of the service being computed: zero, and set back to zero as each
    // service's rows are written.
    sc.zone_acc.clear();
    sc.zone_acc.resize(nz, ZoneAcc::default());
    // Followers per group and zone: zero, and set back to zero as each service reads them.
    sc.group_zone_n.clear();
    sc.group_zone_n.resize(LEADER_SLOTS * nz, 0);
    let Scratch {
        share,
        count,
        group_n,
        zone_rows,
        call_sums,
        rotation,
        edge_failed,
        follows,
        succ: succ_of,
        reach_class,
        zone_memo,
        dep_sums,
        group_zone_n,
        zone_acc,
        uniform,
        own_ids,
        ..
    } = sc;
    // Every dependency's sums, for the service with the most dependencies.
    let max_deps = services.iter().map(|svc| svc.deps.len()).max().unwrap_or(0);
    if dep_sums.len() < max_deps {
        dep_sums.resize(max_deps, [0.0; 3]);
    }
    // Slices from here on: their pointers and lengths stay in registers across the stores
    // (a `Vec` behind a reference is read again after every store that might alias it).
    let acc = &mut zone_acc[..nz];
    // Every row is written (by its service) before it is read (by its callers).
    zone_rows.resize(ns * nz, ZoneRow::default());
    let (share, count, group_n) = (share.as_slice(), count.as_slice(), group_n.as_slice());
    let zone_rows = zone_rows.as_mut_slice();
    let call_sums = &mut call_sums[..ns];
    let (rotation, edge_failed, follows, succ_of, reach_class) = (
        rotation.as_slice(),
        edge_failed.as_slice(),
        follows.as_slice(),
        succ_of.as_mut_slice(),
        reach_class.as_slice(),
    );
    // The per-instance slices cut to the instance count (the load stage sized them,
    // `Scratch::fit`): one index check covers them all.
    let ni = instances.len();
    let (rotation, follows, group_n, succ_of) = (
        &rotation[..ni],
        &follows[..ni],
        &group_n[..ni],
        &mut succ_of[..ni],
    );
    // The per-zone ones (and the zone-by-zone reachability) cut to the zone count (a
    // constant for the usual counts).
    let (zones, reach_class, reach) = (&zones[..nz], &reach_class[..nz], &reach[..nz * nz]);
    // Likewise the per-service ones (the model and the fleet have the same services).
    let (edge_failed, stats) = (&edge_failed[..ns], &model.services[..ns]);
    // The load stage's uniform flags (none if it did not set them for these services).
    let uniform = uniform.get(..ns).unwrap_or_default();
    // Per service, its instances that compute their own tick (not followers), in instance
    // order: the load stage's lists, one per service.
    let own_ids = &own_ids[..ns];
    let (zone_memo, dep_sums, group_zone_n) = (
        &mut zone_memo[..ns * ZONE_MEMO_SLOTS],
        dep_sums.as_mut_slice(),
        group_zone_n.as_mut_slice(),
    );
    // Every service's rows of the per-zone results are written once it has been computed
    // (callees before callers): a caller reads only rows written this tick.
    for &s in model.topo.iter().rev() {
        let s = s as usize;
        let is_entry = stats[s].entry_rps > 0.0;
        let row = s * nz..(s + 1) * nz;
        debug_assert!(
            (own_ids[s].iter().copied()).eq((services[s].instances.iter().copied())
                .filter(|&id| follows[id as usize] == NO_LEADER)),
            "the load stage's list of service {s}'s instances that compute their own tick"
        );
        // What the instances' calls read: the callees' rows (this service's are written only
        // after its instances), the zones and the callees' settings.
        let callees = Callees {
            view: ZoneView {
                rows: zone_rows,
                sums: call_sums,
                zones: nz,
                lossless,
                reach_all,
            },
            zones,
            reach,
            reach_class,
            services,
            tick,
            dns_failing,
            svc_loss: services[s].fx.loss,
            is_entry,
            memo_round,
        };
        if let Some(id) = lone_leader(
            &own_ids[s],
            (rotation, group_n),
            instances,
            uniform,
            &count[row.clone()],
            s,
        ) {
            // The usual service: one running leader in rotation, all the others its followers.
            let deps = &services[s].deps;
            let t = compute_instance::<NZ, false>(
                &mut instances[id],
                deps,
                &callees,
                zone_memo,
                dep_sums,
            );
            succ_of[id] = t.succ;
            let lead = &instances[id];
            let m = &lead.m;
            let zl = lead.zone as usize;
            // The leader's sums, then its followers' (its group less itself): the sums the
            // general path makes (from zero, the leader first), the same operations.
            let g = f64::from(group_n[id] - 1);
            let mut lead_acc = ZoneAcc::default();
            let a = &mut lead_acc.shared;
            a.offered += m.offered_rps;
            a.done += m.served_rps + m.abandoned_rps;
            a.potential += t.succ;
            a.p50_plain += t.p50;
            a.n += 1;
            let a = &mut lead_acc.own;
            a.ok += t.ok;
            a.p50 += t.p50 * m.offered_rps;
            a.p99 = a.p99.at_least(t.p99);
            if m.cause != Cause::None {
                a.cause = m.cause;
            }
            call_sums[s] = uniform_rows(
                lead_acc,
                zl,
                (m, t.succ),
                count[row.start],
                &share[row.clone()],
                &mut zone_rows[row.clone()],
            )
            .of_callee(&services[s]);
            let totals = Totals {
                ok: (0.0 + t.ok) + m.ok_rps * g,
                failed: (0.0 + t.failed) + m.failed_rps * g,
                served: (0.0 + m.served_rps) + m.served_rps * g,
                p50_weighted: (0.0 + t.p50 * m.served_rps) + m.latency_p50_ms * m.served_rps * g,
                p99_max: 0.0.at_least(t.p99).at_least(m.latency_p99_ms),
            };
            let svc = &mut services[s];
            for (dep, ldep) in svc.deps.iter_mut().zip(&lead.deps) {
                let mut sums = [0.0; 3];
                add_dep_sums(&mut sums, ldep);
                sums[0] += ldep.calls_rps * g;
                sums[1] += ldep.calls_rps * (1.0 - ldep.ok_frac) * g;
                sums[2] += ldep.calls_rps * ldep.latency_p50_ms * g;
                set_dep_sums(dep, sums);
            }
            set_service_metrics(&mut svc.m, totals, edge_failed[s]);
            #[cfg(debug_assertions)]
            check_lone(
                (lead, t.succ, group_n[id]),
                (&count[row.clone()], &share[row.clone()]),
                (&zone_rows[row], &call_sums[s]),
                (svc, edge_failed[s]),
            );
            continue;
        }
        // Any other service. Per dependency (`dep_sums`): calls, failed calls and latency ×
        // calls over the instances (read by the resilience stage; instances out of rotation
        // or down made no calls). Zero where used: every sum is taken (and left zero) at the
        // end of its service.
        // Leaders with followers in this service, in instance order.
        let mut leads = [NO_LEADER; LEADER_SLOTS];
        let mut n_leads = 0;
        let mut totals = Totals::default();
        // Followers are not visited: an instance in the same state as one computed before it
        // gets the same results (its leader's, `followers`), and what it adds
        // to the sums is added once per group and zone after the loop (the sums are added in
        // a different order: results can differ in the last bits).
        for &id in &own_ids[s] {
            let id = id as usize;
            if !rotation[id] {
                continue;
            }
            if group_n[id] > 1 {
                // It leads a group (at most `LEADER_SLOTS` per service, see `load`).
                leads[n_leads.min(LEADER_SLOTS - 1)] = id as u32;
                n_leads += 1;
            }
            let inst = &mut instances[id];
            let z = inst.zone as usize;
            let zk = z.min(MAX_ZONES - 1);
            if !inst.is_running() {
                totals.failed += inst.m.failed_rps;
                let a = &mut acc[zk].shared;
                a.offered += inst.m.offered_rps;
                a.done += inst.m.offered_rps;
                a.n += 1;
                a.p50_plain += inst.m.latency_p50_ms;
                let a = &mut acc[z].own;
                a.p50 += inst.m.latency_p50_ms * inst.m.offered_rps;
                a.cause = Cause::Refused;
                continue;
            }
            let t = compute_instance::<NZ, true>(
                inst,
                &services[s].deps,
                &callees,
                zone_memo,
                dep_sums,
            );
            let inst = &instances[id];
            let served_rps = inst.m.served_rps;
            succ_of[id] = t.succ;
            totals.ok += t.ok;
            totals.failed += t.failed;
            totals.served += served_rps;
            totals.p50_weighted += t.p50 * served_rps;
            totals.p99_max = totals.p99_max.at_least(t.p99);
            let a = &mut acc[zk].shared;
            a.offered += inst.m.offered_rps;
            a.done += served_rps + inst.m.abandoned_rps;
            a.potential += t.succ;
            a.p50_plain += t.p50;
            a.n += 1;
            let a = &mut acc[z].own;
            a.ok += t.ok;
            a.p50 += t.p50 * inst.m.offered_rps;
            a.p99 = a.p99.at_least(t.p99);
            if inst.m.cause != Cause::None {
                a.cause = inst.m.cause;
            }
        }
        // The groups (leaders in the order of their first follower) and their followers per
        // zone (`group_zone_n`), and the zones' last causes with the followers'.
        let ids = &services[s].instances;
        let (groups, n_groups) = if n_leads == 0 {
            ([NO_LEADER; LEADER_SLOTS], 0)
        } else if n_leads == 1 && nz <= MAX_ZONES {
            // One group: its followers in a zone are the instances in rotation there that
            // were not computed (`acc`'s count, one zone per slot here).
            let leader = leads[0];
            let cause = instances[leader as usize].m.cause;
            let mut in_order = true;
            for ((n, &in_rotation), a) in group_zone_n[..nz]
                .iter_mut()
                .zip(&count[row.clone()])
                .zip(acc.iter_mut())
            {
                *n = in_rotation - a.shared.n;
                if *n > 0 && cause != Cause::None {
                    // The zone's last cause is the followers' unless an instance computed
                    // after the last of them has another (then it is told in order).
                    match a.own.cause {
                        Cause::None => a.own.cause = cause,
                        c if c == cause => {}
                        _ => in_order = false,
                    }
                }
            }
            debug_assert_eq!(
                group_zone_n[..nz].iter().sum::<u32>() + 1,
                group_n[leader as usize],
                "one group's followers"
            );
            if !in_order {
                zone_causes(ids, rotation, follows, instances, acc);
            }
            let mut groups = [NO_LEADER; LEADER_SLOTS];
            groups[0] = leader;
            (groups, 1)
        } else {
            groups_and_causes(ids, (rotation, follows, instances), acc, group_zone_n)
        };
        #[cfg(debug_assertions)]
        check_groups(
            ids,
            (rotation, follows, instances),
            (&groups[..n_groups], &group_zone_n[..n_groups * nz]),
            acc,
        );
        // The followers' shares of the sums: their leader's, times their number.
        for (k, &leader) in groups[..n_groups].iter().enumerate() {
            let lead = &instances[leader as usize];
            let m = &lead.m;
            let succ = succ_of[leader as usize];
            let counts = &mut group_zone_n[k * nz..(k + 1) * nz];
            // Its followers (its group less itself).
            let n_all = group_n[leader as usize] - 1;
            debug_assert_eq!(n_all, counts.iter().sum::<u32>(), "a group's followers");
            let g = f64::from(n_all);
            totals.ok += m.ok_rps * g;
            totals.failed += m.failed_rps * g;
            totals.served += m.served_rps * g;
            totals.p50_weighted += m.latency_p50_ms * m.served_rps * g;
            totals.p99_max = totals.p99_max.at_least(m.latency_p99_ms);
            for (sum, ldep) in dep_sums.iter_mut().zip(&lead.deps) {
                sum[0] += ldep.calls_rps * g;
                sum[1] += ldep.calls_rps * (1.0 - ldep.ok_frac) * g;
                sum[2] += ldep.calls_rps * ldep.latency_p50_ms * g;
            }
            for (z, n) in counts.iter_mut().enumerate() {
                // Taken: the counts are zero again for the next service.
                let n = std::mem::take(n);
                if n == 0 {
                    continue;
                }
                let zk = z.min(MAX_ZONES - 1);
                let mut shared = acc[zk].shared;
                add_followers(&mut shared, &mut acc[z].own, m, succ, n);
                acc[zk].shared = shared;
            }
        }
        // This service's rows of the per-zone results, and what calls that reach every zone
        // and time none out see of them (`zone_call`'s sums for such calls, the same
        // operations in the same order).
        let (out_rows, row_share) = (&mut zone_rows[row.clone()], &share[row]);
        let mut sum = CallSum::default();
        for z in 0..nz {
            let zk = z.min(MAX_ZONES - 1);
            // Zones past the last tracked one share its sums (`MAX_ZONES`): they are taken
            // (zeroed) with the service's last zone.
            let shared = if z < MAX_ZONES - 1 || z + 1 == nz {
                std::mem::take(&mut acc[zk].shared)
            } else {
                acc[zk].shared
            };
            let own = std::mem::take(&mut acc[z].own);
            let r = zone_row(shared, own, row_share[z]);
            out_rows[z] = r;
            sum.add_zone(r.share, r.ok, r.p50, r.p99, r.quota);
        }
        call_sums[s] = sum.finish().of_callee(&services[s]);
        let svc = &mut services[s];
        for (dep, sums) in svc.deps.iter_mut().zip(dep_sums.iter_mut()) {
            set_dep_sums(dep, std::mem::take(sums));
        }
        set_service_metrics(&mut svc.m, totals, edge_failed[s]);
    }
}

/// The services' and their callees' state that an instance's calls read this tick.
struct Callees<'a> {
    /// The callees' rows.
    view: ZoneView<'a>,
    /// The zones.
    zones: &'a [ZoneState],
    /// `[z * zones + y]`: zone `z` reaches zone `y`.
    reach: &'a [bool],
    /// Per zone: its reach class (`Scratch::reach_class`).
    reach_class: &'a [u32],
    /// The services (the callees' settings and effects).
    services: &'a [ServiceState],
    /// This tick.
    tick: u64,
    /// Name resolution fails.
    dns_failing: bool,
    /// Packet loss on the calls of the service being computed.
    svc_loss: f64,
    /// The service being computed takes customers' requests.
    is_entry: bool,
    /// This call's `Scratch::zone_memo_round` (memo slots of other rounds are free).
    memo_round: u64,
}

/// What a computed instance adds to its service's sums (its numbers are also in its
/// `InstanceTick`).
struct Computed {
    /// Success share of its served requests.
    succ: f64,
    /// Successful requests, requests/s.
    ok: f64,
    /// Failed requests, requests/s.
    failed: f64,
    /// Median latency, ms.
    p50: f64,
    /// 99th percentile latency, ms.
    p99: f64,
}

/// A service's sums over its instances for its metrics.
#[derive(Clone, Copy, Default)]
struct Totals {
    /// Successful requests, requests/s.
    ok: f64,
    /// Failed requests, requests/s.
    failed: f64,
    /// Served requests, requests/s.
    served: f64,
    /// Median latency × served requests.
    p50_weighted: f64,
    /// Highest p99 latency, ms.
    p99_max: f64,
}

/// A service's metrics from its sums (`failed_elsewhere`: its requests and calls that never
/// reached an instance).
#[inline(always)]
fn set_service_metrics(m: &mut crate::state::ServiceTick, t: Totals, failed_elsewhere: f64) {
    m.ok_rps = t.ok;
    m.failed_rps = t.failed + failed_elsewhere;
    let done = m.ok_rps + m.failed_rps;
    m.error_percent = if done > 1e-9 {
        m.failed_rps / done * 100.0
    } else {
        0.0
    };
    m.latency_p50_ms = if t.served > 1e-9 {
        t.p50_weighted / t.served
    } else {
        0.0
    };
    m.latency_p99_ms = t.p99_max;
}

/// A dependency's metrics from its sums over the caller's instances (`add_dep_sums`).
#[inline(always)]
fn set_dep_sums(dep: &mut DepState, [calls, failed, latency]: [f64; 3]) {
    dep.calls_rps = calls;
    dep.failed_rps = failed;
    dep.latency_ms = if calls > 1e-9 { latency / calls } else { 0.0 };
}

/// The leader of a usual service, if it is one: uniform (`Scratch::uniform`, up to
/// `MAX_ZONES` zones), one instance that computes its own tick in rotation (`ids`: those
/// instances), running and leading a group of every instance in rotation (`counts`: per
/// zone). Its followers in a zone are then all of the zone's instances in rotation but
/// itself.
#[inline(always)]
fn lone_leader(
    ids: &[u32],
    (rotation, group_n): (&[bool], &[u32]),
    instances: &[Instance],
    uniform: &[bool],
    counts: &[u32],
    s: usize,
) -> Option<usize> {
    let nz = counts.len();
    if !(uniform.get(s).is_some_and(|&u| u) && nz <= MAX_ZONES) {
        return None;
    }
    let id = match *ids {
        // The usual list: the leader alone.
        [id] => id as usize,
        _ => {
            let mut in_rotation = ids.iter().map(|&id| id as usize).filter(|&id| rotation[id]);
            let id = in_rotation.next()?;
            if in_rotation.next().is_some() {
                return None;
            }
            id
        }
    };
    let n = group_n[id];
    let lone = rotation[id]
        && n > 1
        && u64::from(n) == u64::from(*counts.first()?) * nz as u64
        && instances[id].is_running();
    lone.then_some(id)
}

/// Computes a running instance's tick (in rotation, not following a leader): what each
/// dependency's calls see (`inst.deps`), its end-to-end success, latencies and cause
/// (`inst.m`); with `SUMS`, adds its calls to `dep_sums` (`add_dep_sums`).
#[inline(always)]
fn compute_instance<const NZ: usize, const SUMS: bool>(
    inst: &mut Instance,
    deps: &[DepState],
    k: &Callees<'_>,
    zone_memo: &mut [ZoneMemo],
    dep_sums: &mut [[f64; 3]],
) -> Computed {
    let Callees {
        zones,
        reach,
        reach_class,
        services,
        tick,
        dns_failing,
        ..
    } = *k;
    let view = &k.view;
    let z = inst.zone as usize;
    let own_error = inst.m.own_error;
    let mut succ = 1.0 - own_error;
    let mut p50 = inst.m.own_p50_ms;
    let mut p99 = inst.m.own_p99_ms;
    let mut tail: f64 = 0.0;
    // The critical dependency that failed the most with a cause so far (its index; the
    // cause is read from its `inst.deps` entry after the loop), and how much it failed.
    let (mut worst_err, mut worst_d) = (own_error, usize::MAX);
    let served_rps = inst.m.served_rps;
    let inv_served = 1.0 / served_rps;
    // Packet loss on the calls of the instance's zone and service.
    let zone_loss = zones[z].loss.at_least(k.svc_loss);
    // This instance has packet loss of its own, beyond its zone's and service's.
    let own_loss = inst.fx.loss > zone_loss;
    debug_assert_eq!(inst.deps.len(), deps.len());
    debug_assert!(dep_sums.len() >= deps.len(), "a sum per dependency");
    // What each dependency's calls see, and what they add to the instance's success and
    // latencies (in dependency order).
    let n = deps.len().min(inst.deps.len()).min(dep_sums.len());
    let (deps, ideps, dep_sums) = (&deps[..n], &mut inst.deps[..n], &mut dep_sums[..n]);
    for d in 0..n {
        let (dep, idep, sums) = (&deps[d], &mut ideps[d], &mut dep_sums[d]);
        if dep.disabled {
            idep.ok_frac = 1.0;
            idep.latency_p50_ms = 0.0;
            idep.latency_p99_ms = 0.0;
            idep.cause = None;
            idep.retry_rps = 0.0;
            if SUMS {
                add_dep_sums(sums, idep);
            }
            continue;
        }
        let c = dep.callee as usize;
        let timeout = dep.timeout_ms;
        let (ok_frac, lat50, lat99, cause, retry, hold) =
            if dep.breaker_open_until.is_some_and(|until| tick < until) {
                (0.0, 0.0, 0.0, Some(DepCause::BreakerOpen), 0.0, 0.0)
            } else {
                let link = DepLink {
                    callee: &view.sums[c],
                    dep,
                    dns_failing,
                };
                debug_assert!(
                    link.callee.refuse.to_bits() == services[c].conn_refuse.to_bits()
                        && link.callee.cert_expired == services[c].fx.cert_expired,
                    "the callee's sums carry its refused connections and certificate"
                );
                let pool_frac = idep.pool_frac;
                let o = if own_loss {
                    let zc = zone_call_apart::<NZ>(
                        *view,
                        zones,
                        reach,
                        services,
                        c,
                        z,
                        inst.fx.loss,
                        timeout,
                    );
                    dep_outcome(&zc, &link, pool_frac)
                } else if let Some(call) = view.summed(c, z, zone_loss, timeout) {
                    // Calls that see the callee's zones summed (the usual case): the call is
                    // at hand, and its outcome costs less than a memo slot's stores would.
                    #[cfg(debug_assertions)]
                    check_call(
                        &call,
                        &zone_call::<NZ>(view, zones, reach, services, c, z, zone_loss, timeout),
                        "a summed call",
                    );
                    dep_outcome(&call, &link, pool_frac)
                } else {
                    // Callers of the same callee with the same timeout, from zones
                    // that see it the same way, see the same calls: memoised per
                    // callee for this tick, with the last outcome computed from them.
                    let key = (timeout.to_bits(), zone_loss.to_bits(), reach_class[z]);
                    let slots = &mut zone_memo[c * ZONE_MEMO_SLOTS..(c + 1) * ZONE_MEMO_SLOTS];
                    let outcome_key = Some((dep.retries, pool_frac.to_bits()));
                    // Slots are taken in order and kept all tick: the first slot with
                    // this key or free is the one with the key if there is one.
                    let round = k.memo_round;
                    match slots.iter_mut().find(|m| m.round != round || m.key == key) {
                        Some(m) => {
                            if m.round != round {
                                // Computed in the slot.
                                m.round = round;
                                m.key = key;
                                m.call = zone_call::<NZ>(
                                    view, zones, reach, services, c, z, zone_loss, timeout,
                                );
                                m.outcome = dep_outcome(&m.call, &link, pool_frac);
                                m.outcome_key = outcome_key;
                            } else if m.outcome_key != outcome_key {
                                m.outcome = dep_outcome(&m.call, &link, pool_frac);
                                m.outcome_key = outcome_key;
                            }
                            // A slot of this round is this call's (never one of an earlier one).
                            #[cfg(debug_assertions)]
                            check_call(
                                &m.call,
                                &zone_call::<NZ>(
                                    view, zones, reach, services, c, z, zone_loss, timeout,
                                ),
                                "a memoised call",
                            );
                            m.outcome
                        }
                        None => {
                            let call = zone_call_apart::<NZ>(
                                *view, zones, reach, services, c, z, zone_loss, timeout,
                            );
                            dep_outcome(&call, &link, pool_frac)
                        }
                    }
                };
                (
                    o.ok_frac,
                    o.l50,
                    o.l99,
                    o.cause,
                    idep.fresh_rps * o.retry_factor,
                    o.hold,
                )
            };
        // Smoothed: pools react to the recent past, not to one tick.
        idep.hold_ms = if idep.hold_ms > 0.0 {
            HOLD_SMOOTHING * idep.hold_ms + (1.0 - HOLD_SMOOTHING) * hold
        } else {
            hold
        };
        idep.ok_frac = ok_frac;
        idep.latency_p50_ms = lat50;
        idep.latency_p99_ms = lat99;
        idep.cause = cause;
        idep.retry_rps = retry;
        if SUMS {
            add_dep_sums(sums, idep);
        }
        let cpr = if served_rps > 0.0 {
            idep.fresh_rps * inv_served
        } else {
            dep.calls_per_request
        };
        if dep.critical {
            let ds = if cpr <= 1.0 {
                1.0 - cpr * (1.0 - ok_frac)
            } else if ok_frac == 1.0 {
                // Exactly what `powf` gives, without its cost.
                1.0
            } else {
                ok_frac.powf(cpr)
            };
            succ *= ds;
            if 1.0 - ds > worst_err && cause.is_some() {
                (worst_err, worst_d) = (1.0 - ds, d);
            }
        }
        p50 += cpr * lat50;
        p99 += cpr * lat50;
        tail = tail.at_least(lat99 - lat50);
    }
    p99 += tail;
    if k.is_entry {
        succ *= 1.0 - timeout_share(p50, p99, CUSTOMER_TIMEOUT_MS);
    }
    let ok = served_rps * succ;
    let failed = served_rps - ok + inst.m.abandoned_rps;
    inst.m.ok_rps = ok;
    inst.m.failed_rps = failed;
    inst.m.latency_p50_ms = p50;
    inst.m.latency_p99_ms = p99;
    inst.m.thread_ms = (p50 - inst.m.wait_ms).at_least(0.0);
    if let Some(cause) = ideps.get(worst_d).and_then(|idep| idep.cause) {
        inst.m.cause = Cause::Dependency(worst_d as u16, cause);
    }
    Computed {
        succ,
        ok,
        failed,
        p50,
        p99,
    }
}

/// Debug builds: a usual service's rows, `CallSum`, dependency sums and metrics (see
/// `lone_leader`) are bit for bit those of the general path: its leader's sums from zero in
/// its zone, each zone's followers added in zone order with their cause, the rows and their
/// `CallSum` in zone order; the service's sums the leader's, then its followers'.
#[cfg(debug_assertions)]
fn check_lone(
    (lead, succ, group): (&Instance, f64, u32),
    (counts, shares): (&[u32], &[f64]),
    (rows, call_sum): (&[ZoneRow], &CallSum),
    (svc, failed_elsewhere): (&ServiceState, f64),
) {
    let (m, zl, nz) = (&lead.m, lead.zone as usize, counts.len());
    let mut acc = [ZoneAcc::default(); MAX_ZONES];
    acc[zl] = ZoneAcc::of_leader(m, succ);
    let mut sum = CallSum::default();
    for (z, a) in acc[..nz].iter_mut().enumerate() {
        let n = counts[z] - a.shared.n;
        if n > 0 {
            if m.cause != Cause::None && a.own.cause == Cause::None {
                a.own.cause = m.cause;
            }
            add_followers(&mut a.shared, &mut a.own, m, succ, n);
        }
        let r = zone_row(a.shared, a.own, shares[z]);
        assert_eq!(r.bits(), rows[z].bits(), "a usual service's zone row");
        sum.add_zone(r.share, r.ok, r.p50, r.p99, r.quota);
    }
    assert_eq!(
        sum.finish().of_callee(svc).bits(),
        call_sum.bits(),
        "a usual service's sums"
    );
    let g = f64::from(group - 1);
    let mut t = Totals::default();
    t.ok += m.ok_rps;
    t.failed += m.failed_rps;
    t.served += m.served_rps;
    t.p50_weighted += m.latency_p50_ms * m.served_rps;
    t.p99_max = t.p99_max.at_least(m.latency_p99_ms);
    t.ok += m.ok_rps * g;
    t.failed += m.failed_rps * g;
    t.served += m.served_rps * g;
    t.p50_weighted += m.latency_p50_ms * m.served_rps * g;
    t.p99_max = t.p99_max.at_least(m.latency_p99_ms);
    let mut want = svc.m;
    set_service_metrics(&mut want, t, failed_elsewhere);
    let bits = |m: &crate::state::ServiceTick| {
        [
            m.ok_rps,
            m.failed_rps,
            m.error_percent,
            m.latency_p50_ms,
            m.latency_p99_ms,
        ]
        .map(f64::to_bits)
    };
    assert_eq!(bits(&want), bits(&svc.m), "a usual service's metrics");
    for (dep, ldep) in svc.deps.iter().zip(&lead.deps) {
        let mut sums = [0.0; 3];
        add_dep_sums(&mut sums, ldep);
        sums[0] += ldep.calls_rps * g;
        sums[1] += ldep.calls_rps * (1.0 - ldep.ok_frac) * g;
        sums[2] += ldep.calls_rps * ldep.latency_p50_ms * g;
        let mut want = dep.clone();
        set_dep_sums(&mut want, sums);
        let bits = |d: &DepState| [d.calls_rps, d.failed_rps, d.latency_ms].map(f64::to_bits);
        assert_eq!(bits(&want), bits(dep), "a usual service's dependency sums");
    }
}

/// The rows of a uniform service (`Scratch::uniform`: `per_zone` instances in rotation in
/// every zone, `shares` one value) whose instances in rotation are one running leader in zone
/// `zl` and its followers, written to `out`, and its `CallSum`; from the leader's sums
/// (`lead_acc`, its zone's sums before the followers') and `(m, succ)`, its numbers and
/// success share. The same operations, in the same order, as the stage's per-zone sums and
/// rows for such a service: a zone's followers add the leader's numbers times their count to
/// its sums (zero, but in the leader's zone), and their last cause is the leader's. Every zone
/// but the leader's has the same count, share and cause: the same sums, computed once (and
/// with up to `MAX_PER_ZONE_SAME_ROW` instances per zone, the leader's zone's row is theirs).
#[inline(always)]
fn uniform_rows(
    lead_acc: ZoneAcc,
    zl: usize,
    (m, succ): (&InstanceTick, f64),
    per_zone: u32,
    shares: &[f64],
    out: &mut [ZoneRow],
) -> CallSum {
    let cause = m.cause;
    // (The leader's zone's last cause is already the leader's, its followers' too.)
    debug_assert_eq!(lead_acc.own.cause, cause, "the leader's cause");
    let mut lead = lead_acc;
    if per_zone > 1 {
        add_followers(&mut lead.shared, &mut lead.own, m, succ, per_zone - 1);
    }
    let lead_row = zone_row(lead.shared, lead.own, shares[zl]);
    // Another zone's row: its followers' sums from zero, their cause the leader's.
    let rest_row = || {
        let mut rest = ZoneAcc::default();
        rest.own.cause = cause;
        add_followers(&mut rest.shared, &mut rest.own, m, succ, per_zone);
        zone_row(rest.shared, rest.own, shares[zl])
    };
    let rest_row = if per_zone <= MAX_PER_ZONE_SAME_ROW {
        // Few instances in rotation per zone: the leader's zone's sums and another zone's
        // are the same bits (`MAX_PER_ZONE_SAME_ROW`), with the same cause (the leader's, or
        // none in both): the same row.
        #[cfg(debug_assertions)]
        assert_eq!(
            rest_row().bits(),
            lead_row.bits(),
            "a zone of few instances"
        );
        if out.len() <= MAX_ZONES_ONE_TERM {
            // Every zone has this row: `add_zone` adds the same terms once per zone.
            out.fill(lead_row);
            let sum = CallSum::of_equal_zones(&lead_row, out.len()).finish();
            #[cfg(debug_assertions)]
            {
                let mut want = CallSum::default();
                for r in out.iter() {
                    want.add_zone(r.share, r.ok, r.p50, r.p99, r.quota);
                }
                assert_eq!(want.finish().bits(), sum.bits(), "the sums of equal zones");
            }
            return sum;
        }
        lead_row
    } else {
        rest_row()
    };
    let mut sum = CallSum::default();
    for (z, out) in out.iter_mut().enumerate() {
        let r = if z == zl { lead_row } else { rest_row };
        *out = r;
        sum.add_zone(r.share, r.ok, r.p50, r.p99, r.quota);
    }
    sum.finish()
}

/// Instances in rotation per zone up to which a usual service's zones all have its leader's
/// zone's row: each sum there is `(0 + y) + y·(n − 1)` (the leader, then its `n − 1`
/// followers) and elsewhere `0 + y·n`, the same bits for `n` up to 5: `y·1`, `y·2` and
/// `y·4` are exact, so `y + 2y` and `y + 4y` are `3y` and `5y` rounded once; `y + 3y` is
/// `4y` (rounding `3y` ties only when `y`'s significand is even, and the sum's tie then goes
/// to `4y`, whose significand is `y`'s). From 6 on they differ (`y + 5y` rounds twice).
/// A test pins both sides.
const MAX_PER_ZONE_SAME_ROW: u32 = 5;

/// Zones up to which adding the same term once per zone from +0, `((0 + t) + t) + …`, is
/// `0 + t·n` bit for bit (`t + t` and `2t + 2t` are exact, `2t + t` and `4t + t` are `3t` and
/// `5t` rounded once, and `3t` rounded plus `t` is `4t`; see `MAX_PER_ZONE_SAME_ROW`); from
/// 6 on they differ. A test pins both sides.
const MAX_ZONES_ONE_TERM: usize = 5;

/// Adds `n` followers of a leader (its numbers `m`, its success share `succ`) to a zone's
/// sums.
#[inline(always)]
fn add_followers(shared: &mut ZoneShared, own: &mut ZoneOwn, m: &InstanceTick, succ: f64, n: u32) {
    let g = f64::from(n);
    shared.offered += m.offered_rps * g;
    shared.done += (m.served_rps + m.abandoned_rps) * g;
    shared.potential += succ * g;
    shared.p50_plain += m.latency_p50_ms * g;
    shared.n += n;
    own.ok += m.ok_rps * g;
    own.p50 += m.latency_p50_ms * m.offered_rps * g;
    own.p99 = own.p99.at_least(m.latency_p99_ms);
}

/// A zone's row of a service's results from its sums (`shared`, `own`) and its share `w` of
/// the service's rotation.
#[inline(always)]
fn zone_row(shared: ZoneShared, own: ZoneOwn, w: f64) -> ZoneRow {
    let (mut ok, mut p50, mut p99) = (own.ok, own.p50, own.p99);
    let n = shared.n;
    if n != 0 {
        if shared.offered > 1e-9 && shared.done > 1e-9 {
            ok /= shared.done;
            p50 /= shared.offered;
        } else {
            ok = shared.potential / f64::from(n);
            p50 = shared.p50_plain / f64::from(n);
        }
        ok = ok.clamp(0.0, 1.0);
        p99 = p99.at_least(p50);
    }
    ZoneRow {
        share: w,
        ok,
        p50,
        p99,
        quota: own.cause == Cause::Quota,
    }
}

/// The cause an instance in rotation gives its zone: its leader's (computed before it) if it
/// follows `leader`, `Refused` if it is down, else its own.
#[inline(always)]
fn rotation_cause(inst: &Instance, leader: u32, instances: &[Instance]) -> Cause {
    if leader != NO_LEADER {
        instances[leader as usize].m.cause
    } else if !inst.is_running() {
        Cause::Refused
    } else {
        inst.m.cause
    }
}

/// Sets each zone's last cause in instance order (`ZoneOwn::cause`) over the instances `ids`
/// of one service in rotation, computed (their own cause; `Refused` if down) or following a
/// leader (the leader's, computed before them).
fn zone_causes(
    ids: &[u32],
    rotation: &[bool],
    follows: &[u32],
    instances: &[Instance],
    acc: &mut [ZoneAcc],
) {
    for a in acc.iter_mut() {
        a.own.cause = Cause::None;
    }
    for &id in ids {
        let id = id as usize;
        if !rotation[id] {
            continue;
        }
        let inst = &instances[id];
        let cause = rotation_cause(inst, follows[id], instances);
        if cause != Cause::None {
            acc[inst.zone as usize].own.cause = cause;
        }
    }
}

/// The leaders of the followers among the instances `ids` of one service, in the order of
/// their first follower, with their number, and adds each one's followers per zone to
/// `group_zone_n[k * nz + z]` (what `groups_and_causes` is checked against).
#[cfg(any(debug_assertions, test))]
fn follower_groups(
    ids: &[u32],
    rotation: &[bool],
    follows: &[u32],
    instances: &[Instance],
    group_zone_n: &mut [u32],
    nz: usize,
) -> ([u32; LEADER_SLOTS], usize) {
    let mut groups = [NO_LEADER; LEADER_SLOTS];
    let mut n_groups = 0;
    for &id in ids {
        let id = id as usize;
        let leader = follows[id];
        if !rotation[id] || leader == NO_LEADER {
            continue;
        }
        let k = group_slot(&mut groups, &mut n_groups, leader);
        group_zone_n[k * nz + instances[id].zone as usize] += 1;
    }
    (groups, n_groups)
}

/// The slot of `leader` among the first `n_groups` of `groups`, taken (and counted) if it has
/// none yet; at most `LEADER_SLOTS` leaders per service (see `load`), a later one shares
/// the last slot.
#[inline(always)]
fn group_slot(groups: &mut [u32; LEADER_SLOTS], n_groups: &mut usize, leader: u32) -> usize {
    match groups[..*n_groups].iter().position(|&g| g == leader) {
        Some(k) => k,
        None => {
            let k = (*n_groups).min(LEADER_SLOTS - 1);
            groups[k] = leader;
            *n_groups = k + 1;
            k
        }
    }
}

/// `zone_causes` and `follower_groups` in one pass over the instances `ids` of one service
/// (each instance read once): the zones' last causes in `acc`, the leaders in the order of
/// their first follower with their number, and their followers per zone in `group_zone_n`
/// (`acc.len()` zones; debug builds compare with the two, `check_groups`).
fn groups_and_causes(
    ids: &[u32],
    (rotation, follows, instances): (&[bool], &[u32], &[Instance]),
    acc: &mut [ZoneAcc],
    group_zone_n: &mut [u32],
) -> ([u32; LEADER_SLOTS], usize) {
    let nz = acc.len();
    for a in acc.iter_mut() {
        a.own.cause = Cause::None;
    }
    let mut groups = [NO_LEADER; LEADER_SLOTS];
    let mut n_groups = 0;
    for &id in ids {
        let id = id as usize;
        if !rotation[id] {
            continue;
        }
        let inst = &instances[id];
        let z = inst.zone as usize;
        let leader = follows[id];
        if leader != NO_LEADER {
            let k = group_slot(&mut groups, &mut n_groups, leader);
            group_zone_n[k * nz + z] += 1;
        }
        let cause = rotation_cause(inst, leader, instances);
        if cause != Cause::None {
            acc[z].own.cause = cause;
        }
    }
    (groups, n_groups)
}

/// Debug builds: the groups, their followers per zone and the zones' causes are those the
/// instances tell in order (`follower_groups`, `zone_causes`). Up to `MAX_ZONES` zones (on
/// the stack: the stage allocates nothing per tick).
#[cfg(debug_assertions)]
fn check_groups(
    ids: &[u32],
    (rotation, follows, instances): (&[bool], &[u32], &[Instance]),
    (groups, group_zone_n): (&[u32], &[u32]),
    acc: &[ZoneAcc],
) {
    let nz = acc.len();
    if nz > MAX_ZONES {
        return;
    }
    let mut counts = [0; LEADER_SLOTS * MAX_ZONES];
    let (want, n) = follower_groups(ids, rotation, follows, instances, &mut counts, nz);
    assert_eq!(groups, &want[..n], "the groups in order");
    assert_eq!(
        group_zone_n,
        &counts[..n * nz],
        "the followers per group and zone"
    );
    let mut causes = [ZoneAcc::default(); MAX_ZONES];
    let causes = &mut causes[..nz];
    causes.copy_from_slice(acc);
    zone_causes(ids, rotation, follows, instances, causes);
    for (a, b) in acc.iter().zip(causes.iter()) {
        assert_eq!(a.own.cause, b.own.cause, "the zone's last cause");
    }
}

/// Adds one instance's calls to a dependency to its sums: calls, failed calls, latency ×
/// calls. Instances that are not computed (out of rotation, down) made no calls: adding their
/// zeros would change nothing.
#[inline]
fn add_dep_sums(sum: &mut [f64; 3], idep: &crate::state::InstanceDep) {
    sum[0] += idep.calls_rps;
    sum[1] += idep.calls_rps * (1.0 - idep.ok_frac);
    sum[2] += idep.calls_rps * idep.latency_p50_ms;
}

/// Most zones the engine tracks separately (more zones share the last slot).
pub const MAX_ZONES: usize = 16;

/// Calls memoised per callee and tick (distinct caller timeouts, losses and reach classes; only
/// calls `ZoneView::summed` does not answer).
pub const ZONE_MEMO_SLOTS: usize = 4;

/// Per-zone sums of the service being computed (`Scratch::zone_acc`), zero between services.
#[derive(Clone, Copy, Debug, Default)]
pub struct ZoneAcc {
    /// Sums kept per zone up to `MAX_ZONES` (later zones share the last one's).
    pub shared: ZoneShared,
    /// Sums kept for every zone.
    pub own: ZoneOwn,
}

#[cfg(any(debug_assertions, test))]
impl ZoneAcc {
    /// A zone's sums holding only a running leader with numbers `m` and success share
    /// `succ`, added as the stage adds an instance it computed (its cause only if it has
    /// one): what the checks of the usual service's path start from.
    fn of_leader(m: &InstanceTick, succ: f64) -> ZoneAcc {
        let mut a = ZoneAcc::default();
        a.shared.offered += m.offered_rps;
        a.shared.done += m.served_rps + m.abandoned_rps;
        a.shared.potential += succ;
        a.shared.p50_plain += m.latency_p50_ms;
        a.shared.n += 1;
        a.own.ok += m.ok_rps;
        a.own.p50 += m.latency_p50_ms * m.offered_rps;
        a.own.p99 = a.own.p99.at_least(m.latency_p99_ms);
        if m.cause != Cause::None {
            a.own.cause = m.cause;
        }
        a
    }
}

/// The sums of `ZoneAcc` that zones past `MAX_ZONES` share.
#[derive(Clone, Copy, Debug, Default)]
pub struct ZoneShared {
    /// Load offered, requests/s.
    pub offered: f64,
    /// Requests served or abandoned (offered, for instances down), requests/s.
    pub done: f64,
    /// Success shares of the instances, summed.
    pub potential: f64,
    /// Median latencies of the instances, summed, ms.
    pub p50_plain: f64,
    /// Instances counted.
    pub n: u32,
}

/// The sums of `ZoneAcc` kept for every zone: the zone's row of the results, before its
/// division.
#[derive(Clone, Copy, Debug, Default)]
pub struct ZoneOwn {
    /// Successful requests, requests/s.
    pub ok: f64,
    /// Median latency × offered load, ms × requests/s.
    pub p50: f64,
    /// Highest p99 latency, ms.
    pub p99: f64,
    /// The last cause in instance order.
    pub cause: Cause,
}

/// One memoised `zone_call` of a callee this tick.
#[derive(Clone, Copy, Debug, Default)]
pub struct ZoneMemo {
    /// The stage's call (`Scratch::zone_memo_round`) it was written in: free in any other.
    pub round: u64,
    /// (caller's timeout, caller zone's packet loss — both as bits —, caller zone's reach
    /// class).
    pub key: (u64, u64, u32),
    /// What such calls see.
    pub call: ZoneCall,
    /// (caller's retries, caller's pool share as bits) `outcome` was computed for, if any
    /// (the rest of `dep_outcome`'s inputs are the callee's and the tick's).
    pub outcome_key: Option<(u32, u64)>,
    /// What a caller with those retries and that pool share sees of such calls.
    pub outcome: DepOutcome,
}

/// What calls from one zone to a dependency see, before the caller's own pool.
#[derive(Clone, Copy, Debug)]
pub struct ZoneCall {
    /// Share of calls that get through and succeed.
    pub s_net: f64,
    /// Median latency, ms.
    pub l50: f64,
    /// 99th percentile latency, ms.
    pub l99: f64,
    /// Share of calls to zones out of reach.
    pub unreach: f64,
    /// Share of calls that time out (incl. lost packets).
    pub timed_out: f64,
    /// Share of calls the callee fails.
    pub upstream: f64,
    /// How the callee fails them.
    pub upstream_cause: DepCause,
}

impl Default for ZoneCall {
    fn default() -> Self {
        ZoneCall {
            s_net: 1.0,
            l50: 0.0,
            l99: 0.0,
            unreach: 0.0,
            timed_out: 0.0,
            upstream: 0.0,
            upstream_cause: DepCause::Upstream,
        }
    }
}

/// The facts about one dependency that `dep_outcome` needs, the same for every instance of the
/// caller: read where they are used (fewer values live across the dependency loop).
struct DepLink<'a> {
    /// The callee's sums: the share of connections it refuses, whether its certificate
    /// expired (new connections cannot be made; read only when a cause is taken).
    callee: &'a CallSum,
    /// The caller's side of the call: its timeout (ms) and retries per failed call.
    dep: &'a DepState,
    /// Name resolution fails (new connections cannot be made).
    dns_failing: bool,
}

/// What one caller instance sees of one dependency, given its pool share.
#[derive(Clone, Copy, Debug, Default)]
pub struct DepOutcome {
    /// Share of calls that succeed, retries included.
    pub ok_frac: f64,
    /// Median latency, ms.
    pub l50: f64,
    /// 99th percentile latency, ms.
    pub l99: f64,
    /// Why calls fail, if enough do.
    pub cause: Option<DepCause>,
    /// Retries per fresh call.
    pub retry_factor: f64,
    /// How long a connection is held, ms.
    pub hold: f64,
}

/// Outcome of calls that see `zc` through a pool that grants `pool_frac` of them a
/// connection: connection failures, retries, the dominant cause.
#[inline(always)]
fn dep_outcome(zc: &ZoneCall, link: &DepLink<'_>, pool_frac: f64) -> DepOutcome {
    let timeout = link.dep.timeout_ms;
    let refuse = link.callee.refuse;
    let mut l50 = zc.l50;
    let mut l99 = zc.l99;
    let conn_ok = pool_frac * (1.0 - refuse);
    let s_call = conn_ok * zc.s_net;
    let hold = l50;
    if pool_frac < 1.0 {
        l50 += (1.0 - pool_frac) * timeout * 0.5;
        l99 = timeout;
    }
    let f = (1.0 - s_call).clamp(0.0, 1.0);
    let r = link.dep.retries as i32;
    let mut retry = 0.0;
    let mut fk = 1.0;
    for _ in 0..r {
        fk *= f;
        retry += fk;
    }
    let ok_frac = 1.0 - fail_all(f, fk, r);
    if r > 0 && f > 0.0 {
        l50 += f * l50;
        if f > 0.01 {
            l99 += l50;
        }
    }
    let cause = if f > CAUSE_THRESHOLD {
        let blocked = if link.dns_failing {
            DepCause::Dns
        } else if link.callee.cert_expired {
            DepCause::Tls
        } else {
            DepCause::PoolTimeout
        };
        let candidates = [
            (1.0 - pool_frac, blocked),
            (pool_frac * refuse, DepCause::ConnRefused),
            (zc.unreach, DepCause::Unreachable),
            (zc.timed_out, DepCause::Timeout),
            (zc.upstream, zc.upstream_cause),
        ];
        candidates
            .into_iter()
            .fold(None::<(f64, DepCause)>, |best, cand| match best {
                Some(b) if b.0 >= cand.0 => Some(b),
                _ if cand.0 > 0.0 => Some(cand),
                _ => best,
            })
            .map(|(_, cause)| cause)
            .or(Some(DepCause::Upstream))
    } else {
        None
    };
    DepOutcome {
        ok_frac,
        l50,
        l99,
        cause,
        retry_factor: retry,
        hold,
    }
}

/// Retries up to which the retry loop's next product equals `powi_exact(f, r + 1)` bit for
/// bit: `1·f = f`, `f·f`, `(f·f)·f = f·(f·f)` (a product does not depend on its operands'
/// order); from 3 retries on the square-and-multiply order differs.
const MAX_RETRIES_LOOP_POW: i32 = 2;

/// `f^(r + 1)` as `powi_exact` computes it, where `fk` is `f^r` as the retry loop built it
/// (`r` products from 1): for up to `MAX_RETRIES_LOOP_POW` retries one more product.
#[inline(always)]
fn fail_all(f: f64, fk: f64, r: i32) -> f64 {
    let all = if (0..=MAX_RETRIES_LOOP_POW).contains(&r) {
        fk * f
    } else {
        powi_exact(f, r + 1)
    };
    // (A NaN may differ in its payload: `powi_exact` passes a signalling one through.)
    debug_assert!(
        all.to_bits() == powi_exact(f, r + 1).to_bits() || all.is_nan(),
        "the retry loop's product is not powi"
    );
    all
}

/// `x.powi(n)` computed as the runtime's `__powidf2` computes it (square and multiply: the
/// same products in the same order, so the same bits; tested against `powi`), inline: the
/// stage's loop then makes no call for it.
#[inline]
fn powi_exact(x: f64, n: i32) -> f64 {
    let mut pow = n.unsigned_abs();
    let mut base = x;
    let mut acc = if pow & 1 != 0 { x } else { 1.0 };
    loop {
        pow >>= 1;
        if pow == 0 {
            break;
        }
        base *= base;
        if pow & 1 != 0 {
            acc *= base;
        }
    }
    if n < 0 { 1.0 / acc } else { acc }
}

/// The callees' rows `zone_call` reads.
#[derive(Clone, Copy)]
pub struct ZoneView<'a> {
    /// `[c * zones + b]`: service `c` in zone `b`.
    rows: &'a [ZoneRow],
    /// Per service: its rows summed for calls that see all of them alike (`CallSum`).
    sums: &'a [CallSum],
    /// Zones count.
    zones: usize,
    /// No zone has packet loss this tick.
    lossless: bool,
    /// Bit `z`: zone `z` reaches every zone.
    reach_all: u64,
}

impl ZoneView<'_> {
    /// `zone_call`'s answer for calls from zone `z` (with packet loss `own_loss` on the
    /// caller's side) to service `c`, from the callee's `CallSum`, when it is that sum: no
    /// packet loss anywhere (the callee's own is folded into its `CallSum`'s tail,
    /// `CallSum::through_loss`), every zone in reach and no zone's tail near the timeout.
    /// `None` otherwise (then `zone_call` tells).
    #[inline(always)]
    fn summed(&self, c: usize, z: usize, own_loss: f64, timeout: f64) -> Option<ZoneCall> {
        let sum = &self.sums[c];
        let reaches_all = z < 64 && self.reach_all >> z & 1 != 0;
        // Without short-circuit: all the values are at hand.
        let quiet = self.lossless & (own_loss == 0.0) & reaches_all;
        if !(quiet && times_out_nothing(sum.tail, timeout)) {
            return None;
        }
        Some(ZoneCall {
            s_net: sum.s_net,
            l50: sum.l50,
            l99: sum.l99,
            unreach: 0.0,
            timed_out: 0.0,
            upstream: sum.upstream,
            upstream_cause: if sum.quota {
                DepCause::TooManyRequests
            } else {
                DepCause::Upstream
            },
        })
    }
}

/// A service's rows summed as `zone_call` sums them for calls from a zone that reaches every
/// zone, with no packet loss on the way, when the timeout is past every zone's tail
/// (`times_out_nothing`): then the timeout changes none of the sums, and the highest tail
/// tells whether it is past every zone's (the test is monotonic in the tail).
#[derive(Clone, Copy, Debug, Default)]
pub struct CallSum {
    /// `ZoneCall::s_net` of such calls.
    pub s_net: f64,
    /// `ZoneCall::upstream` of such calls.
    pub upstream: f64,
    /// `ZoneCall::l50` of such calls, ms.
    pub l50: f64,
    /// `ZoneCall::l99` of such calls, ms.
    pub l99: f64,
    /// The highest tail (p99, or p50 if higher) of a zone with calls, ms; NaN if any is
    /// (set by `finish`).
    pub tail: f64,
    /// A zone with calls rejects for quota.
    pub quota: bool,
    /// The service's share of connections it refuses (`ServiceState::conn_refuse`, set by
    /// `of_callee`): its callers' `dep_outcome` reads it here, with the sums.
    pub refuse: f64,
    /// The service's certificate expired (`ServiceEffects::cert_expired`, set by `of_callee`).
    pub cert_expired: bool,
}

#[cfg(any(test, debug_assertions))]
impl CallSum {
    /// Its numbers as bits, and its quota flag (for bit-for-bit checks).
    fn bits(&self) -> ([u64; 6], [bool; 2]) {
        let n = [
            self.s_net,
            self.upstream,
            self.l50,
            self.l99,
            self.tail,
            self.refuse,
        ];
        (n.map(f64::to_bits), [self.quota, self.cert_expired])
    }
}

impl CallSum {
    /// Adds a zone's row (share `w` of the calls; success share `ok`, latencies `p50`,
    /// `p99`, ms; `quota` if it rejects for quota), as `zone_call`'s loop without packet
    /// loss does for a reachable zone whose tail the timeout is past.
    /// A row's p99 is at least its p50 (`latency_and_errors` makes it so), so the zone's
    /// tail is its p99 and the highest tail is `l99`. `zone_call` adds `p50 + 0.0` (+0 for
    /// -0): the same sum `l50`, which starts at +0 (adding -0 or +0 to it changes nothing).
    #[inline(always)]
    fn add_zone(&mut self, w: f64, ok: f64, p50: f64, p99: f64, quota: bool) {
        debug_assert!(
            p99 >= p50 || p99.is_nan() || p50.is_nan(),
            "a row's p99 under its p50"
        );
        if w <= 0.0 {
            return;
        }
        self.s_net += w * ok;
        self.upstream += w * (1.0 - ok);
        self.quota |= quota;
        self.l50 += w * p50;
        self.l99 = self.l99.at_least(p99 + 0.0);
    }

    /// The sum of `n` zones (up to `MAX_ZONES_ONE_TERM`) that all have the row `r`: what
    /// `add_zone` makes of them one by one, each sum's terms times `n` (added to +0).
    #[inline(always)]
    fn of_equal_zones(r: &ZoneRow, n: usize) -> CallSum {
        debug_assert!(n <= MAX_ZONES_ONE_TERM, "too many zones for one term");
        let mut sum = CallSum::default();
        let w = r.share;
        if n == 0 || w <= 0.0 {
            return sum;
        }
        let k = n as f64;
        sum.s_net += w * r.ok * k;
        sum.upstream += w * (1.0 - r.ok) * k;
        sum.quota = r.quota;
        sum.l50 += w * r.p50 * k;
        sum.l99 = sum.l99.at_least(r.p99 + 0.0);
        sum
    }

    /// The sum with its highest tail: `l99`, or NaN if a zone's p50 was NaN (then its tail
    /// was too, and `l50` is NaN): the maximum loses a NaN, and the timeout test must fail on
    /// it as `zone_call`'s does.
    #[inline(always)]
    fn finish(mut self) -> CallSum {
        self.tail = if self.l50.is_nan() {
            f64::NAN
        } else {
            self.l99
        };
        self
    }

    /// The sum as calls to a service with its own packet loss `loss` (0–1) see it: with any
    /// loss (or NaN) they do not see the plain sum, so its tail is NaN and the timeout test
    /// of `ZoneView::summed` fails on it, as its test of the callee's loss did.
    #[inline(always)]
    fn through_loss(mut self, loss: f64) -> CallSum {
        if loss != 0.0 {
            self.tail = f64::NAN;
        }
        self
    }

    /// The sum as the callers of service `svc` read it this tick: through its packet loss
    /// (`through_loss`), with its refused connections and certificate (which no stage
    /// changes between its rows and its callers', computed after it).
    #[inline(always)]
    fn of_callee(self, svc: &ServiceState) -> CallSum {
        let mut sum = self.through_loss(svc.fx.loss);
        sum.refuse = svc.conn_refuse;
        sum.cert_expired = svc.fx.cert_expired;
        sum
    }
}

/// Debug builds: a call found without `zone_call` (`what`: from a callee's `CallSum`, or
/// memoised) is, bit for bit, the call `zone_call` computes.
#[cfg(debug_assertions)]
fn check_call(got: &ZoneCall, full: &ZoneCall, what: &str) {
    let bits = |c: &ZoneCall| {
        [c.s_net, c.l50, c.l99, c.unreach, c.timed_out, c.upstream].map(f64::to_bits)
    };
    assert_eq!(bits(got), bits(full), "{what}'s numbers");
    assert_eq!(got.upstream_cause, full.upstream_cause, "{what}'s cause");
}

/// What callers see of one service in one zone this tick (`Scratch::zone_rows`).
#[derive(Clone, Copy, Debug, Default)]
pub struct ZoneRow {
    /// Share of the service's rotation in the zone.
    pub share: f64,
    /// Success share of requests to it.
    pub ok: f64,
    /// Median latency, ms.
    pub p50: f64,
    /// 99th percentile latency, ms.
    pub p99: f64,
    /// Its dominant cause is a quota.
    pub quota: bool,
}

#[cfg(any(test, debug_assertions))]
impl ZoneRow {
    /// Its numbers as bits, and its quota flag (for bit-for-bit checks).
    fn bits(&self) -> ([u64; 4], bool) {
        (
            [self.share, self.ok, self.p50, self.p99].map(f64::to_bits),
            self.quota,
        )
    }
}

/// `zone_call` in a function of its own, for the rare calls that are not memoised (the view
/// by value: a copy made where it is called, so that the hot path need not keep one in
/// memory).
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn zone_call_apart<const NZ: usize>(
    v: ZoneView<'_>,
    zones: &[crate::state::ZoneState],
    reach: &[bool],
    services: &[crate::state::ServiceState],
    c: usize,
    z: usize,
    own_loss: f64,
    timeout: f64,
) -> ZoneCall {
    zone_call::<NZ>(&v, zones, reach, services, c, z, own_loss, timeout)
}

/// Calls from zone `z` (with packet loss `own_loss` on the caller's side) to service `c`
/// (inlined where a missed memo slot is filled: no call, so the caller's floats need not be
/// saved around it).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn zone_call<const NZ: usize>(
    v: &ZoneView<'_>,
    zones: &[crate::state::ZoneState],
    reach: &[bool],
    services: &[crate::state::ServiceState],
    c: usize,
    z: usize,
    own_loss: f64,
    timeout: f64,
) -> ZoneCall {
    let nz = if NZ == 0 { v.zones } else { NZ };
    let mut out = ZoneCall {
        s_net: 0.0,
        ..ZoneCall::default()
    };
    // The callee's rows and the caller zone's reachability row, sliced once (one bounds
    // check per row rather than per zone and row).
    let rows = &v.rows[c * nz..(c + 1) * nz];
    let reach_row = &reach[z * nz..(z + 1) * nz];
    let callee_loss = services[c].fx.loss;
    // Neither the caller's side nor the callee has packet loss (then a callee zone without
    // it sees none: the maximum of zeros).
    let no_loss = own_loss == 0.0 && callee_loss == 0.0;
    if no_loss && v.lossless {
        // No packet loss anywhere on the way to any zone: the loop below without its loss
        // tests and terms (the same operations for a loss of 0).
        let (mut s_net, mut timed_out, mut upstream, mut unreach) = (0.0, 0.0, 0.0, 0.0);
        let (mut l50, mut l99): (f64, f64) = (0.0, 0.0);
        let mut quota = false;
        for (r, &reachable) in rows.iter().zip(reach_row) {
            let w = r.share;
            if w <= 0.0 {
                continue;
            }
            if !reachable {
                unreach += w;
                l50 += w * timeout;
                l99 = l99.at_least(timeout);
                continue;
            }
            // `add_zone_call` for no retransmissions and no lost calls.
            let c50 = r.p50 + 0.0;
            let c99 = r.p99 + 0.0;
            let tail = c99.at_least(c50);
            if times_out_nothing(tail, timeout) {
                // The timeout at least twice the p99 (the usual case): `timeout_share` is
                // exactly +0, so the same sums are these: `w * ok * (1 - 0)` is `w * ok`, a
                // timed-out share of `w * (0 + 1 * 0)` adds +0 to a sum that is never -0, and
                // both latencies are under the timeout.
                s_net += w * r.ok;
                upstream += w * (1.0 - r.ok);
                quota |= r.quota;
                l50 += w * c50;
                l99 = l99.at_least(c99);
                continue;
            }
            let to = timeout_share(c50, tail, timeout);
            s_net += w * r.ok * (1.0 - to);
            timed_out += w * (to + (1.0 - to) * 0.0);
            upstream += w * (1.0 - r.ok);
            quota |= r.quota;
            l50 += w * c50.at_most(timeout);
            l99 = l99.at_least(c99.at_most(timeout));
        }
        return ZoneCall {
            s_net,
            l50,
            l99,
            unreach,
            timed_out,
            upstream,
            upstream_cause: if quota {
                DepCause::TooManyRequests
            } else {
                DepCause::Upstream
            },
        };
    }
    for b in 0..nz.min(zones.len()) {
        let r = &rows[b];
        let w = r.share;
        if w <= 0.0 {
            continue;
        }
        if !reach_row[b] {
            out.unreach += w;
            out.l50 += w * timeout;
            out.l99 = out.l99.at_least(timeout);
            continue;
        }
        let (zok, p50, p99, quota) = (r.ok, r.p50, r.p99, r.quota);
        if no_loss && zones[b].loss == 0.0 {
            // No packet loss anywhere on the way: the general case for a loss of 0 (a
            // branch of its own, so that the compiler drops the exact no-ops).
            add_zone_call(&mut out, w, zok, p50, p99, quota, timeout, 0.0, 0.0);
        } else {
            let loss = own_loss.at_least(zones[b].loss).at_least(callee_loss);
            let p_retx = if loss > 0.0 {
                1.0 - (1.0 - loss).powi(PACKETS_PER_CALL)
            } else {
                0.0
            };
            let p_lost = loss * loss;
            add_zone_call(&mut out, w, zok, p50, p99, quota, timeout, p_retx, p_lost);
        }
    }
    out
}

/// Adds the calls to one reachable callee zone (share `w` of the calls; its success share
/// `zok`, latencies `p50`, `p99` in ms, `quota` if it rejects for quota) to `out`, with
/// `p_retx` of the calls retransmitting and `p_lost` lost.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn add_zone_call(
    out: &mut ZoneCall,
    w: f64,
    zok: f64,
    p50: f64,
    p99: f64,
    quota: bool,
    timeout: f64,
    p_retx: f64,
    p_lost: f64,
) {
    let c50 = p50 + if p_retx > 0.5 { RETRANSMIT_MS } else { 0.0 };
    let c99 = p99 + if p_retx > 0.01 { RETRANSMIT_MS } else { 0.0 };
    let tail = c99.at_least(c50);
    if times_out_nothing(tail, timeout) {
        // The timeout at least twice the p99: `timeout_share` is exactly +0 and both
        // latencies are under the timeout (see `zone_call`), so the sums below are these
        // (`x * (1 - 0)` is `x`, `0 + p_lost` is `p_lost`).
        out.s_net += w * zok * (1.0 - p_lost);
        out.timed_out += w * p_lost;
        out.upstream += w * (1.0 - zok);
        if quota {
            out.upstream_cause = DepCause::TooManyRequests;
        }
        out.l50 += w * c50;
        out.l99 = out.l99.at_least(c99);
        return;
    }
    let to = timeout_share(c50, tail, timeout);
    out.s_net += w * zok * (1.0 - to) * (1.0 - p_lost);
    out.timed_out += w * (to + (1.0 - to) * p_lost);
    out.upstream += w * (1.0 - zok);
    if quota {
        out.upstream_cause = DepCause::TooManyRequests;
    }
    out.l50 += w * c50.at_most(timeout);
    out.l99 = out.l99.at_least(c99.at_most(timeout));
}

#[cfg(test)]
mod tests {
    use super::{
        CallSum, MAX_PER_ZONE_SAME_ROW, MAX_RETRIES_LOOP_POW, MAX_ZONES, MAX_ZONES_ONE_TERM,
        ZoneAcc, ZoneCall, ZoneRow, ZoneView, add_followers, fail_all, follower_groups,
        groups_and_causes, lone_leader, powi_exact, uniform_rows, zone_call, zone_causes, zone_row,
    };
    use crate::FaultSchedule;
    use crate::model::Model;
    use crate::num::Bound;
    use crate::state::DepCause;
    use crate::state::ZoneState;
    use crate::state::{Cause, Instance, InstanceTick, Life};
    use crate::systems::load::{LEADER_SLOTS, NO_LEADER};
    use crate::systems::setup::initial_fleet;
    use crate::systems::{timeout_share, times_out_nothing};
    use std::hint::black_box;
    use std::sync::Arc;

    /// A deterministic stream of 64-bit states for the property tests (an LCG): each call
    /// returns the next state.
    fn lcg(seed: u64) -> impl FnMut() -> u64 {
        let mut x = seed;
        move || {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            x
        }
    }

    /// Numbers in [0, 1) from `lcg(seed)`'s states (their top 53 bits).
    fn units(seed: u64) -> impl FnMut() -> f64 {
        let mut next = lcg(seed);
        move || (next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Case `i`'s timeout around the boundary of `times_out_nothing` for `tail` (the tail plus
    /// at least 1 ms): one case in four `random()` (drawn only then), the others on the
    /// boundary and one ulp either side of it.
    fn timeout_around(tail: f64, i: usize, random: impl FnOnce() -> f64) -> f64 {
        let edge = tail + tail.at_least(1.0);
        match i % 4 {
            0 => random(),
            1 => edge,
            2 => f64::from_bits(edge.to_bits() + 1),
            _ => f64::from_bits(edge.to_bits() - 1),
        }
    }

    /// The model of the determinism fixture (seed 1): a small fleet the tests take services
    /// and instances from.
    fn fixture_model() -> Model {
        let text = include_str!("../../tests/fixtures/determinism.ron");
        let scenario = Arc::new(breakathon_scenario::parse_unchecked(text).expect("fixture"));
        let schedule = Arc::new(FaultSchedule::compute(&scenario, 1));
        Model::new(scenario, schedule).expect("model")
    }

    /// `zone_call`'s numbers and cause, as bits.
    fn call_bits(c: &ZoneCall) -> ([u64; 6], crate::state::DepCause) {
        let n = [c.s_net, c.l50, c.l99, c.unreach, c.timed_out, c.upstream];
        (n.map(f64::to_bits), c.upstream_cause)
    }

    /// Where `ZoneView::summed` answers, it is `zone_call`'s answer bit for bit, and it answers
    /// exactly where `zone_call` would take its no-loss, nothing-times-out branch for every
    /// zone with calls: over random rows (some without calls; p99 at least p50, as the stage
    /// makes them), 1 to 5 zones, timeouts on and around the highest tail's boundary, with a
    /// zone out of reach and with packet loss on either side (then it never answers).
    #[test]
    fn a_summed_call_is_zone_calls_answer_where_it_answers() {
        let model = fixture_model();
        let mut services = initial_fleet(&model).services;
        let mut next = units(0x853c_49e6_748f_ea9b);
        let (mut answered, mut declined) = (0, 0);
        for i in 0..60_000 {
            let nz = 1 + i % 5;
            let scale = [1e-3, 1.0, 100.0, 1e4][i / 5 % 4];
            let rows: Vec<ZoneRow> = (0..nz)
                .map(|_| {
                    let p50 = next() * scale;
                    ZoneRow {
                        share: if next() < 0.2 { 0.0 } else { next() },
                        ok: if next() < 0.2 { 1.0 } else { next() },
                        p50,
                        p99: p50 + next() * scale,
                        quota: next() < 0.1,
                    }
                })
                .collect();
            let mut sum = CallSum::default();
            for r in &rows {
                sum.add_zone(r.share, r.ok, r.p50, r.p99, r.quota);
            }
            let plain = sum.finish();
            let tail = plain.tail;
            let timeout = timeout_around(tail, i, || next() * 4.0 * scale);
            // Every zone in reach, or (one case in 8) zone 0 out of reach of the caller's,
            // the last.
            let z = nz - 1;
            let mut reach = vec![true; nz * nz];
            let cut = nz > 1 && i % 8 == 5;
            if cut {
                reach[z * nz] = false;
            }
            let reach_all = (0..nz)
                .filter(|&z| reach[z * nz..(z + 1) * nz].iter().all(|&r| r))
                .fold(0u64, |m, z| m | 1 << z);
            // Packet loss on the caller's side or the callee's in one case in 8 each.
            let own_loss = if i % 8 == 6 { 0.01 } else { 0.0 };
            services[0].fx.loss = if i % 8 == 7 { 0.02 } else { 0.0 };
            let sums = [plain.through_loss(services[0].fx.loss)];
            let zones = vec![
                ZoneState {
                    up: true,
                    drained: false,
                    loss: 0.0,
                    steal: 0.0,
                };
                nz
            ];
            let view = ZoneView {
                rows: &rows,
                sums: &sums,
                zones: nz,
                lossless: true,
                reach_all,
            };
            let full = zone_call::<0>(&view, &zones, &reach, &services, 0, z, own_loss, timeout);
            // (With no zone with calls, it answers only for a timeout of 1 ms or more.)
            let quiet = times_out_nothing(0.0, timeout)
                && rows
                    .iter()
                    .filter(|r| r.share > 0.0)
                    .all(|r| times_out_nothing((r.p99 + 0.0).at_least(r.p50 + 0.0), timeout));
            let lossy = own_loss > 0.0 || services[0].fx.loss > 0.0;
            match view.summed(0, z, own_loss, timeout) {
                Some(call) => {
                    answered += 1;
                    assert!(
                        quiet && !cut && !lossy,
                        "answered for {rows:?} at {timeout}"
                    );
                    assert_eq!(call_bits(&call), call_bits(&full), "{rows:?} at {timeout}");
                }
                None => {
                    declined += 1;
                    assert!(!quiet || cut || lossy, "declined {rows:?} at {timeout}");
                }
            }
        }
        assert!(
            answered > 15_000 && declined > 15_000,
            "{answered} {declined}"
        );
    }

    /// `lone_leader` takes a service for the usual one exactly when it is uniform, has up to
    /// `MAX_ZONES` zones and one instance computing its own tick in rotation (others out of
    /// rotation do not count), running, whose group (more than itself) is every instance in
    /// rotation.
    #[test]
    fn the_usual_service_is_one_running_leader_of_every_instance_in_rotation() {
        let model = fixture_model();
        let mut instances = initial_fleet(&model).instances;
        assert!(instances.len() >= 2, "the fixture's instances");
        for inst in &mut instances[..2] {
            inst.life = Life::Running { since_tick: 0 };
        }
        let n = instances.len();
        let rotation = vec![true; n];
        let mut group_n = vec![1; n];
        group_n[0] = 6;
        let (counts, uniform) = ([2, 2, 2], [true]);
        let lone = |ids: &[u32],
                    rotation: &[bool],
                    group_n: &[u32],
                    insts: &[Instance],
                    uniform: &[bool],
                    counts: &[u32]| {
            lone_leader(ids, (rotation, group_n), insts, uniform, counts, 0)
        };
        assert_eq!(
            lone(&[0], &rotation, &group_n, &instances, &uniform, &counts),
            Some(0)
        );
        // Not uniform, or too many zones.
        assert_eq!(
            lone(&[0], &rotation, &group_n, &instances, &[false], &counts),
            None
        );
        assert_eq!(
            lone(&[0], &rotation, &group_n, &instances, &[], &counts),
            None
        );
        let many = [1; MAX_ZONES + 1];
        let mut big = group_n.clone();
        big[0] = many.len() as u32;
        assert_eq!(
            lone(&[0], &rotation, &big, &instances, &uniform, &many),
            None
        );
        // Its group is not every instance in rotation, or only itself.
        let mut other = group_n.clone();
        other[0] = 5;
        assert_eq!(
            lone(&[0], &rotation, &other, &instances, &uniform, &counts),
            None
        );
        let mut alone = group_n.clone();
        alone[0] = 1;
        assert_eq!(
            lone(&[0], &rotation, &alone, &instances, &uniform, &[1]),
            None
        );
        // Another instance computing its own tick in rotation, or only out of rotation.
        assert_eq!(
            lone(&[0, 1], &rotation, &group_n, &instances, &uniform, &counts),
            None
        );
        let mut out = rotation.clone();
        out[1] = false;
        assert_eq!(
            lone(&[1, 0], &out, &group_n, &instances, &uniform, &counts),
            Some(0)
        );
        out[0] = false;
        assert_eq!(
            lone(&[0], &out, &group_n, &instances, &uniform, &counts),
            None
        );
        assert_eq!(
            lone(&[1, 0], &out, &group_n, &instances, &uniform, &counts),
            None
        );
        assert_eq!(
            lone(&[], &rotation, &group_n, &instances, &uniform, &counts),
            None
        );
        // Not running.
        instances[0].life = Life::Booting { ready_tick: 9 };
        assert_eq!(
            lone(&[0], &rotation, &group_n, &instances, &uniform, &counts),
            None
        );
    }

    /// `uniform_rows` gives, bit for bit, the rows and `CallSum` of the stage's per-zone sums
    /// (the leader's own sums in its zone, then each zone's followers added in zone order, the
    /// followers' cause merged, each zone's row, the sum over the rows in order): 1 to 5
    /// zones, the leader in any zone, 1 to 4 instances per zone (1: the leader's zone has no
    /// followers), with and without a cause, including quota, and numbers that take the
    /// stage's other branch (load under 1e-9), zeros of either sign and NaN.
    /// `groups_and_causes` is `zone_causes` then `follower_groups`: over random services (the
    /// fixture's instances in 1 to 5 zones, in rotation or not, running or not, each with a
    /// cause or none, following one of up to `LEADER_SLOTS + 1` leaders or none), the same
    /// causes, groups in the same order and the same followers per group and zone, the
    /// leaders past `LEADER_SLOTS` sharing the last slot.
    #[test]
    fn groups_and_causes_are_zone_causes_and_follower_groups() {
        let model = fixture_model();
        let mut instances = initial_fleet(&model).instances;
        let n = instances.len();
        assert!(n >= LEADER_SLOTS + 2, "the fixture's instances");
        let causes = [
            Cause::None,
            Cause::Overload,
            Cause::Quota,
            Cause::Dependency(1, DepCause::Timeout),
        ];
        let mut next = lcg(0x2545_f491_4f6c_dd1d);
        let mut pick = |k: usize| (next() >> 33) as usize % k;
        let (mut grouped, mut capped) = (0, 0);
        for i in 0..3_000 {
            let nz = 1 + i % 5;
            let leaders = 1 + pick(LEADER_SLOTS + 1);
            let mut rotation = vec![false; n];
            let mut follows = vec![NO_LEADER; n];
            for (id, inst) in instances.iter_mut().enumerate() {
                inst.zone = pick(nz) as u32;
                inst.life = if pick(4) == 0 {
                    Life::Booting { ready_tick: 9 }
                } else {
                    Life::Running { since_tick: 0 }
                };
                inst.m.cause = causes[pick(causes.len())];
                rotation[id] = pick(5) != 0;
                // The first `leaders` instances lead; the others may follow one of them.
                if id >= leaders && pick(3) != 0 {
                    follows[id] = pick(leaders) as u32;
                }
            }
            let ids: Vec<u32> = (0..n as u32).filter(|_| pick(6) != 0).collect();
            let mut acc = vec![ZoneAcc::default(); nz];
            for a in &mut acc {
                a.own.cause = causes[pick(causes.len())];
            }
            let mut want_acc = acc.clone();
            let mut counts = vec![0; LEADER_SLOTS * nz];
            let mut want_counts = counts.clone();
            let (groups, k) = groups_and_causes(
                &ids,
                (&rotation, &follows, &instances),
                &mut acc,
                &mut counts,
            );
            zone_causes(&ids, &rotation, &follows, &instances, &mut want_acc);
            let (want, want_k) =
                follower_groups(&ids, &rotation, &follows, &instances, &mut want_counts, nz);
            assert_eq!(groups[..k], want[..want_k], "case {i}: the groups");
            assert_eq!(counts, want_counts, "case {i}: the followers per zone");
            for (a, b) in acc.iter().zip(&want_acc) {
                assert_eq!(a.own.cause, b.own.cause, "case {i}: a zone's cause");
            }
            grouped += usize::from(k >= 2);
            capped += usize::from(k == LEADER_SLOTS && leaders > LEADER_SLOTS);
        }
        assert!(grouped > 100 && capped > 10, "{grouped} {capped}");
    }

    /// `MAX_PER_ZONE_SAME_ROW`: a leader's sum with its `n - 1` followers, `(0 + y) +
    /// y·(n − 1)`, is `0 + y·n` bit for bit up to it (over random bits, and numbers near the
    /// overflow, zero, infinities and NaNs), and not always just past it; likewise
    /// `MAX_ZONES_ONE_TERM` for `n` equal terms added from +0.
    #[test]
    fn a_zone_of_few_instances_sums_what_a_zone_of_followers_sums() {
        let mut next = lcg(0x9e37_79b9_7f4a_7c15);
        let specials = [
            0.0,
            -0.0,
            f64::NAN,
            -f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
            f64::MAX / 3.0,
            f64::MAX / 5.0,
            f64::MIN_POSITIVE,
            5e-324,
        ];
        let sums = |y: f64, n: u32| {
            let lead = (0.0 + y) + y * f64::from(n - 1);
            let rest = 0.0 + y * f64::from(n);
            (lead.to_bits(), rest.to_bits())
        };
        // `MAX_ZONES_ONE_TERM`: the same term added once per zone from +0, and times `n`.
        let terms = |t: f64, n: usize| {
            let added = (0..n).fold(0.0, |sum, _| sum + t);
            (added.to_bits(), (0.0 + t * n as f64).to_bits())
        };
        let (mut past, mut past_terms) = (0, 0);
        for i in 0..200_000 {
            let bits = next();
            let y = match i % 3 {
                _ if i < specials.len() => specials[i],
                0 => f64::from_bits(bits),
                _ => f64::from_bits(bits >> 12 | 0x3ff0_0000_0000_0000) * 100.0,
            };
            for n in 2..=MAX_PER_ZONE_SAME_ROW {
                let (lead, rest) = sums(y, n);
                assert_eq!(lead, rest, "{n} instances, {y:e}");
            }
            let (lead, rest) = sums(y, MAX_PER_ZONE_SAME_ROW + 1);
            past += usize::from(lead != rest);
            for n in 1..=MAX_ZONES_ONE_TERM {
                let (added, times) = terms(y, n);
                assert_eq!(added, times, "{n} zones, {y:e}");
            }
            let (added, times) = terms(y, MAX_ZONES_ONE_TERM + 1);
            past_terms += usize::from(added != times);
        }
        assert!(past > 1_000, "{past} differ past the limit");
        assert!(
            past_terms > 1_000,
            "{past_terms} sums differ past the limit"
        );
    }

    #[test]
    fn uniform_rows_are_the_per_zone_sums_rows() {
        let mut next = units(0x6a09_e667_f3bc_c908);
        let causes = [Cause::None, Cause::Quota, Cause::Overload];
        for i in 0..20_000 {
            let nz = 1 + i % 7;
            let zl = (i / 7) % nz;
            let per_zone = 1 + (i / 49 % 7) as u32;
            // Draws for this case: a value, and whether it is replaced by a special one.
            let d: [f64; 16] = std::array::from_fn(|_| next());
            let kind = (i / 100) % 7;
            let special = |k: usize, v: f64| match kind {
                0 if d[k] < 0.3 => 0.0,
                1 if d[k] < 0.3 => -0.0,
                2 if d[k] < 0.3 => 1e-12,
                3 if d[k] < 0.05 => f64::NAN,
                _ => v,
            };
            let served = special(0, d[1] * 100.0);
            let m = InstanceTick {
                offered_rps: special(2, served + d[3] * 10.0),
                served_rps: served,
                ok_rps: special(4, served * d[5]),
                abandoned_rps: special(6, d[7]),
                latency_p50_ms: special(8, d[9] * 50.0),
                latency_p99_ms: special(10, d[11] * 500.0),
                cause: causes[i / 7 % 3],
                ..InstanceTick::default()
            };
            let succ = special(12, d[13]);
            let shares = vec![d[14]; nz];
            // The leader's own sums in its zone, as the stage adds them.
            let lead = ZoneAcc::of_leader(&m, succ);
            // The stage's per-zone way.
            let mut acc = vec![ZoneAcc::default(); nz];
            acc[zl] = lead;
            let mut want = vec![ZoneRow::default(); nz];
            let mut want_sum = CallSum::default();
            for (z, a) in acc.iter_mut().enumerate() {
                let n = per_zone - u32::from(z == zl);
                if n > 0 {
                    if m.cause != Cause::None && a.own.cause == Cause::None {
                        a.own.cause = m.cause;
                    }
                    add_followers(&mut a.shared, &mut a.own, &m, succ, n);
                }
                want[z] = zone_row(a.shared, a.own, shares[z]);
                let r = want[z];
                want_sum.add_zone(r.share, r.ok, r.p50, r.p99, r.quota);
            }
            let want_sum = want_sum.finish();
            let mut got = vec![ZoneRow::default(); nz];
            let got_sum = uniform_rows(lead, zl, (&m, succ), per_zone, &shares, &mut got);
            for (z, (a, b)) in got.iter().zip(&want).enumerate() {
                assert_eq!(a.bits(), b.bits(), "zone {z} of {nz}, case {i}: {m:?}");
            }
            assert_eq!(got_sum.bits(), want_sum.bits(), "case {i}: {m:?}");
        }
    }

    /// Where `times_out_nothing` holds (and `zone_call` and `add_zone_call` skip
    /// `timeout_share`), the share is exactly +0 and both latencies are under the timeout: over
    /// a spread of latencies and timeouts, with timeouts on and around the boundary.
    #[test]
    fn a_timeout_far_past_the_tail_times_out_nothing_exactly() {
        let mut next = units(0x2545_f491_4f6c_dd1d);
        let mut taken = 0;
        for i in 0..300_000 {
            let scale = [1e-3, 1.0, 100.0, 1e4, 1e7][i % 5];
            let c50 = next() * scale;
            let c99 = next() * scale;
            let tail = c99.at_least(c50);
            let timeout = timeout_around(tail, i, || next() * 4.0 * scale);
            if times_out_nothing(tail, timeout) {
                taken += 1;
                let to = timeout_share(c50, tail, timeout);
                assert_eq!(to.to_bits(), 0.0f64.to_bits(), "{c50} {c99} {timeout}");
                assert!(c50 < timeout && c99 < timeout, "{c50} {c99} {timeout}");
            }
        }
        assert!(taken > 100_000, "the boundary was reached {taken} times");
    }

    /// Same bits as `f64::powi` (the runtime's `__powidf2`) for every exponent the stage can
    /// use and more, over special values and a spread of bit patterns.
    #[test]
    fn powi_exact_matches_powi_bit_for_bit() {
        let mut bases = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.5,
            1.0 - f64::EPSILON,
            1e-300,
            f64::MIN_POSITIVE / 3.0,
            f64::MAX,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        let mut next = lcg(0x9e37_79b9_7f4a_7c15);
        for _ in 0..20_000 {
            let x = next();
            bases.push(f64::from_bits(x));
            // Shares in [0, 1], what the stage raises to a power.
            bases.push((x >> 11) as f64 / (1u64 << 53) as f64);
        }
        for &b in &bases {
            for n in -12..=70 {
                let want = black_box(b).powi(black_box(n));
                let got = powi_exact(b, n);
                assert!(
                    want.to_bits() == got.to_bits() || (want.is_nan() && got.is_nan()),
                    "{b:e}^{n}: powi {want:e}, powi_exact {got:e}"
                );
            }
        }
    }

    /// `fail_all` from the retry loop's product equals `powi_exact(f, r + 1)` bit for bit for
    /// every retry count up to past `MAX_RETRIES_LOOP_POW`, over shares in [0, 1] and
    /// special values (the boundary: 2 retries by the loop, 3 by `powi_exact`).
    #[test]
    fn fail_all_matches_powi_exact_bit_for_bit() {
        let mut fs = vec![0.0, -0.0, 1.0, 0.5, 1.0 - f64::EPSILON, 1e-300, f64::NAN];
        let mut next = lcg(0x2545_f491_4f6c_dd1d);
        for _ in 0..50_000 {
            let x = next();
            fs.push((x >> 11) as f64 / (1u64 << 53) as f64);
            fs.push(f64::from_bits(x));
        }
        for &f in &fs {
            for r in 0..=MAX_RETRIES_LOOP_POW + 3 {
                let mut fk = 1.0;
                for _ in 0..r {
                    fk *= f;
                }
                let got = fail_all(f, fk, r);
                let want = powi_exact(f, r + 1);
                assert!(
                    want.to_bits() == got.to_bits() || (want.is_nan() && got.is_nan()),
                    "{f:e} with {r} retries: powi_exact {want:e}, fail_all {got:e}"
                );
            }
        }
    }
}
