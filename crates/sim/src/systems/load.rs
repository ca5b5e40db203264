//! Stage 5: offered load flows down the call graph (callers before callees). Each service's
//! load (entry traffic, calls from callers, retries from the last tick) is spread over the
//! instances in the load balancer's rotation; each instance queues what it cannot serve this
//! tick (fluid M/M/1-style: waiting rises steeply near saturation, a backlog grows beyond it)
//! and forwards calls to its dependencies through its connection pools.

use bevy_ecs::prelude::*;
use breakathon_scenario::ServiceKind;

use crate::model::{
    CLOCK_SKEW_ERROR_SHARE, CUSTOMER_TIMEOUT_MS, DISK_WRITE_SHARE, GC_CAPACITY_LOSS, GC_PAUSE_MS,
    GC_PRESSURE_START, LB_PANIC_SHARE, MAX_QUEUE_FACTOR, Model, NORMAL_CACHE_HIT, P99_IDLE_FACTOR,
    PRIMARY_ONLY_CAPACITY, QUOTA_FLOOR_SHARE, REFUSED_LATENCY_MS, STALE_LAG_S, STALE_READ_SHARE,
    STORM_LATE_SHARE, WARMUP_START_FACTOR,
};
use crate::state::{Cause, Clock, Fleet, InstanceTick, Life, ServiceTick};
use crate::systems::Scratch;

/// Clock offset beyond which token checks fail, s.
pub const SKEW_TOLERANCE_S: f64 = 1.0;
/// Smallest capacity an instance can have (avoids dividing by zero), requests/s.
const MIN_CAPACITY_RPS: f64 = 1e-6;

/// The load system.
pub fn load(
    model: Res<Model>,
    clock: Res<Clock>,
    mut fleet: ResMut<Fleet>,
    mut scratch: ResMut<Scratch>,
) {
    let tick = clock.tick;
    let dt = model.tick_s;
    let Fleet {
        zones,
        services,
        instances,
        reach,
        dns_failing,
    } = &mut *fleet;
    let sc = &mut *scratch;
    let nz = zones.len();
    let ns = services.len();
    sc.fit(ns, nz, instances.len());
    sc.offered.fill(0.0);
    sc.share.fill(0.0);
    sc.count.fill(0);
    sc.edge_failed.fill(0.0);
    sc.first_rps.fill(0.0);

    // The load balancer's rotation.
    for s in 0..ns {
        let mut healthy = 0usize;
        let mut candidates = 0usize;
        // First pass: `rotation` marks the candidates; the second keeps those that serve.
        for &id in &services[s].instances {
            let inst = &instances[id as usize];
            let zone = &zones[inst.zone as usize];
            let candidate = inst.exists()
                && !inst.drained
                && !zone.drained
                && !matches!(inst.life, Life::Booting { .. })
                && (inst.is_running() || inst.probe_healthy);
            sc.rotation[id as usize] = candidate;
            if candidate {
                candidates += 1;
                if inst.probe_healthy {
                    healthy += 1;
                }
            }
        }
        let panic = candidates > 0 && (healthy as f64) < LB_PANIC_SHARE * candidates as f64;
        let mut total = 0u32;
        for &id in &services[s].instances {
            if !sc.rotation[id as usize] {
                continue;
            }
            let inst = &instances[id as usize];
            if inst.probe_healthy || (panic && inst.is_running()) {
                sc.count[s * nz + inst.zone as usize] += 1;
                total += 1;
            } else {
                sc.rotation[id as usize] = false;
            }
        }
        if total > 0 {
            for z in 0..nz {
                sc.share[s * nz + z] = f64::from(sc.count[s * nz + z]) / f64::from(total);
            }
        }
        // How long this service's clients wait.
        let stat = &model.services[s];
        let mut timeout: f64 = if stat.entry_rps > 0.0 {
            CUSTOMER_TIMEOUT_MS
        } else {
            0.0
        };
        for &(c, d) in &stat.callers {
            timeout = timeout.max(services[c as usize].deps[d as usize].timeout_ms);
        }
        sc.client_timeout_ms[s] = if timeout > 0.0 {
            timeout
        } else {
            CUSTOMER_TIMEOUT_MS
        };
    }

    for &s in &model.topo {
        let s = s as usize;
        let stat = &model.services[s];
        let spec = model.spec(s as u32);
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
        let total_rotation: u32 = (0..nz).map(|z| sc.count[s * nz + z]).sum();
        // Customers' TLS handshakes fail at the edge when the certificate expired.
        let entry_admitted = if cert_expired {
            sc.edge_failed[s] += entry;
            0.0
        } else {
            entry
        };
        let mut offered_total = 0.0;
        for z in 0..nz {
            let v = sc.offered[s * nz + z] * factor + entry_admitted * sc.share[s * nz + z];
            sc.offered[s * nz + z] = v;
            offered_total += v;
        }
        m.offered_rps = offered_total + sc.edge_failed[s];
        // First attempts: new customers plus callers' first calls (a spike multiplies both).
        let first = (services[s].entry_rps + sc.first_rps[s]) * factor;
        if total_rotation == 0 {
            // No instance in rotation: everything offered fails, customers' requests and the
            // calls callers tried to make (already counted as failed, below) alike.
            sc.edge_failed[s] += entry_admitted;
            m.offered_rps = offered_total + sc.edge_failed[s];
        }
        let mut keep = 1.0 - shed;
        if let Some(limit) = rate_limit
            && offered_total * keep > limit
        {
            keep = limit / offered_total.max(MIN_CAPACITY_RPS);
        }
        m.shed_rps = offered_total * (1.0 - keep);
        let first = first.min(m.offered_rps);
        sc.first_rps[s] = first;
        // Share of this service's requests that are first attempts (the rest are retries).
        let first_share = if m.offered_rps > 0.0 {
            first / m.offered_rps
        } else {
            1.0
        };
        services[s].m = m;

        let timeout_ms = sc.client_timeout_ms[s];
        let max_queue_factor = MAX_QUEUE_FACTOR;
        let cache = stat.cache_dep.map(|cd| {
            let callee = services[s].deps[cd as usize].callee as usize;
            (cd as usize, services[callee].cache_hit)
        });
        for k in 0..services[s].instances.len() {
            let id = services[s].instances[k] as usize;
            let prev = instances[id].m;
            instances[id].m = InstanceTick {
                memory_percent: prev.memory_percent,
                disk_percent: prev.disk_percent,
                ..InstanceTick::default()
            };
            for dep in &mut instances[id].deps {
                dep.calls_rps = 0.0;
                dep.fresh_rps = 0.0;
                dep.sent_rps = 0.0;
            }
            if !sc.rotation[id] {
                continue;
            }
            let inst = &mut instances[id];
            let z = inst.zone as usize;
            let count = sc.count[s * nz + z].max(1);
            let offered = sc.offered[s * nz + z] * keep / f64::from(count);
            inst.m.offered_rps = offered;
            let since = match inst.life {
                Life::Running { since_tick } => since_tick,
                _ => {
                    // Down but still in rotation: connections refused.
                    inst.m.failed_rps = offered;
                    inst.m.own_error = 1.0;
                    inst.m.own_p50_ms = REFUSED_LATENCY_MS;
                    inst.m.own_p99_ms = REFUSED_LATENCY_MS;
                    inst.m.latency_p50_ms = REFUSED_LATENCY_MS;
                    inst.m.latency_p99_ms = REFUSED_LATENCY_MS;
                    inst.m.cause = Cause::Refused;
                    continue;
                }
            };
            // Capacity.
            let warm = if since == 0 || stat.warmup_ticks == 0 {
                1.0
            } else {
                let progress = (tick.saturating_sub(since)) as f64 / stat.warmup_ticks as f64;
                (WARMUP_START_FACTOR + (1.0 - WARMUP_START_FACTOR) * progress).min(1.0)
            };
            let steal = inst.fx.steal.max(zones[z].steal);
            let cpu_avail = ((1.0 - inst.fx.hog) * (1.0 - steal)).max(0.05);
            let gc = ((prev.memory_percent / 100.0 - GC_PRESSURE_START)
                / (1.0 - GC_PRESSURE_START))
                .clamp(0.0, 1.0);
            let mut cap = spec.capacity_rps * warm * cpu_avail * (1.0 - GC_CAPACITY_LOSS * gc);
            if stat.kind == ServiceKind::Database && services[s].reads_on_primary {
                cap *= PRIMARY_ONLY_CAPACITY;
            }
            // Past its connection limit a server thrashes (a process or buffer per connection).
            cap *= 1.0 - services[s].conn_refuse;
            let service_ms = spec.base_latency_ms / cpu_avail;
            let added_ms = inst.fx.extra_latency_ms + inst.fx.flag_latency_ms;
            let base = service_ms + added_ms + GC_PAUSE_MS * gc * 0.3;
            let last_latency_s = prev.thread_ms.max(base) / 1000.0;
            let threads = f64::from(spec.max_connections.max(1));
            cap = cap
                .min(threads / last_latency_s.max(1e-6))
                .max(MIN_CAPACITY_RPS);
            // Queue.
            let arrivals = offered * dt;
            let q0 = inst.queue;
            let work = q0 + arrivals;
            let served = work.min(cap * dt);
            let mut q1 = work - served;
            let max_queue = cap * timeout_ms / 1000.0;
            let abandoned = (q1 - max_queue).max(0.0);
            q1 -= abandoned;
            inst.queue = q1;
            let rho = offered / cap;
            let queue_wait_ms = (q0 + q1) * 0.5 / cap * 1000.0;
            let wait_ms = if rho < 1.0 {
                (service_ms * (rho / (1.0 - rho)).min(max_queue_factor)).max(queue_wait_ms)
            } else {
                queue_wait_ms.max(service_ms * max_queue_factor * 0.2)
            };
            inst.m.capacity_rps = cap;
            inst.m.utilisation = rho;
            inst.m.served_rps = served / dt;
            inst.m.abandoned_rps = abandoned / dt;
            inst.m.own_p50_ms = base + wait_ms;
            inst.m.wait_ms = wait_ms;
            inst.m.own_p99_ms = base * P99_IDLE_FACTOR
                + wait_ms * 2.0
                + GC_PAUSE_MS * gc
                + inst.fx.extra_latency_ms * 0.2;
            // Own errors.
            let served_rps = inst.m.served_rps;
            let mut quota_reject = 0.0;
            if let Some(q) = quota {
                let q_i = q / f64::from(total_rotation.max(1));
                if served_rps > q_i {
                    let admitted = q_i * (q_i / served_rps).max(QUOTA_FLOOR_SHARE);
                    quota_reject = 1.0 - admitted / served_rps;
                }
            }
            let skew = if inst.clock_skew_s.abs() > SKEW_TOLERANCE_S {
                CLOCK_SKEW_ERROR_SHARE
            } else {
                0.0
            };
            let disk = if inst.disk_used_gb >= spec.disk_gb * 0.999 {
                DISK_WRITE_SHARE
            } else {
                0.0
            };
            let stale = if stat.kind == ServiceKind::Database
                && !services[s].reads_on_primary
                && services[s].replica_lag_s > STALE_LAG_S
            {
                STALE_READ_SHARE
            } else {
                0.0
            };
            // A retry storm: an overloaded instance works on requests already given up.
            let late = if storm && q1 > 0.0 {
                STORM_LATE_SHARE
            } else {
                0.0
            };
            let errs = [
                (late, Cause::Overload),
                (inst.fx.config_error, Cause::BadConfig),
                (inst.fx.flag_error, Cause::BadFlag),
                (skew, Cause::ClockSkew),
                (disk, Cause::DiskFull),
                (stale, Cause::StaleRead),
                (quota_reject, Cause::Quota),
            ];
            if errs.iter().all(|&(e, _)| e == 0.0) {
                // The usual case, exactly what the product below gives.
                inst.m.own_error = 0.0;
                inst.m.cause = Cause::None;
            } else {
                let mut ok_share = 1.0;
                let mut worst = (0.0, Cause::None);
                for (e, cause) in errs {
                    ok_share *= 1.0 - e;
                    if e > worst.0 {
                        worst = (e, cause);
                    }
                }
                inst.m.own_error = 1.0 - ok_share;
                inst.m.cause = worst.1;
            }
            if abandoned > 0.0 && inst.m.abandoned_rps > served_rps * inst.m.own_error {
                inst.m.cause = Cause::Overload;
            }
            // Forward calls through the pools.
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
            let zi = inst.zone;
            let prev_success = if prev.served_rps > 0.0 {
                (prev.ok_rps / prev.served_rps).clamp(0.0, 1.0)
            } else {
                1.0
            };
            for (d, dep) in services[s].deps.iter().enumerate() {
                if dep.disabled {
                    continue;
                }
                let c = dep.callee as usize;
                let filter = if stat.behind_cache[d] { miss } else { 1.0 };
                // A request failing on the service's own error (bad config or flag, quota,
                // full disk) fails before it calls anything.
                let fresh = served_rps * (1.0 - inst.m.own_error) * dep.calls_per_request * filter;
                let idep = &mut inst.deps[d];
                let calls = fresh + idep.retry_rps;
                idep.fresh_rps = fresh;
                idep.calls_rps = calls;
                // Customers whose request failed elsewhere (last tick's success share) do not
                // go on to buy: only calls for requests that can still succeed are demand.
                sc.first_rps[c] += fresh * first_share * prev_success;
                if dep.breaker_open_until.is_some_and(|until| tick < until) {
                    idep.pool_frac = 1.0;
                    continue;
                }
                let mut usable = f64::from(dep.pool_size);
                if let Some((pd, limit)) = inst.fx.pool_limit
                    && pd as usize == d
                {
                    usable = usable.min(f64::from(limit));
                }
                let callee = &services[c];
                if *dns_failing || callee.fx.cert_expired {
                    usable = usable.min(idep.conns);
                }
                let callee_base = model.spec(c as u32).base_latency_ms;
                let lat_s = idep.hold_ms.max(callee_base) / 1000.0;
                let needed = calls * lat_s;
                let pool_frac = if needed <= usable {
                    1.0
                } else {
                    usable / needed
                };
                idep.pool_frac = pool_frac;
                let sent = calls * pool_frac * (1.0 - callee.conn_refuse);
                idep.sent_rps = sent;
                // Calls that never reach an instance of the callee count as the callee's
                // failures (its error rate and SLO show the outage its callers see): refused
                // connections, connections that cannot be made (DNS, TLS), unreachable zones,
                // no instance in rotation at all.
                let blocked = *dns_failing || callee.fx.cert_expired;
                let mut lost = calls * pool_frac * callee.conn_refuse
                    + if blocked {
                        calls * (1.0 - pool_frac)
                    } else {
                        0.0
                    };
                if sent > 0.0 {
                    let mut routed = 0.0;
                    for b in 0..nz {
                        let w = sc.share[c * nz + b];
                        if w > 0.0 {
                            routed += w;
                            if reach[zi as usize * nz + b] {
                                sc.offered[c * nz + b] += sent * w;
                            } else {
                                lost += sent * w;
                            }
                        }
                    }
                    lost += sent * (1.0 - routed).max(0.0);
                }
                sc.edge_failed[c] += lost;
            }
        }
    }
}
