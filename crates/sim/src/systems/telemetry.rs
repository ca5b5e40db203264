//! Stage 10: telemetry. Health probes, the metric history, log lines (templated, seeded, with
//! the clues an engineer looks for) and alert rules. A service whose telemetry is dark records
//! no points and writes no logs; an instance whose disk is full writes no logs.

use std::collections::VecDeque;
use std::fmt::Write as _;

use bevy_ecs::prelude::*;
use breakathon_scenario::{Comparison, FaultKind, Metric, ServiceKind};
use rand::RngExt;
use serde::{Deserialize, Serialize};

use crate::faults::{IncidentRuntime, Incidents};
use crate::history::{Histories, PackedPoint};
use crate::log_ring::{LineInfo, LogRing};
use crate::model::{Model, STALE_LAG_S};
use crate::rng::Rngs;
use crate::state::{Cause, Clock, DepCause, Fleet, Instance, Life, ServiceState, ServiceTick};
use crate::systems::followers::Followers;
use crate::systems::{PendingLogs, Recording};
use crate::telemetry::{LogLevel, METRICS, MetricPoint};

pub use crate::log_ring::{MAX_LOG_LINES, MIN_LOG_GROWTH_LINES};
/// An instance with failures writes an error line every this many ticks.
pub const ERROR_LOG_EVERY_TICKS: u64 = 5;
/// A service writes a routine access line every this many ticks.
pub const INFO_LOG_EVERY_TICKS: u64 = 15;
/// Resource warnings (GC, CPU, disk, lag, cache) every this many ticks.
pub const WARN_LOG_EVERY_TICKS: u64 = 30;
/// Most error lines per service per tick.
pub const MAX_ERROR_LINES_PER_SERVICE_TICK: usize = 3;
/// Episodes kept per alert rule.
pub const MAX_ALERT_EPISODES: usize = 20;

/// One alert rule's state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertState {
    /// Tick the condition started holding.
    pub holding_since: Option<u64>,
    /// Firing episodes: (since, resolved), oldest first.
    pub episodes: VecDeque<(u64, Option<u64>)>,
    /// Value that fired it (last evaluated).
    pub last_value: f64,
}

/// Telemetry of one world.
#[derive(Resource, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TelemetryState {
    /// Metric history per service.
    pub history: Histories,
    /// Log lines, oldest first (at most [`MAX_LOG_LINES`]).
    pub logs: LogRing,
    /// Per alert rule (same order as `Model::alert_rules`).
    pub alerts: Vec<AlertState>,
}

impl TelemetryState {
    /// Gives every ring the capacity its bound calls for (after a restore).
    pub fn fit_capacity(&mut self) {
        self.history.fit_capacity();
        self.logs.fit_capacity();
    }
}

/// The metric point of service `s` from its current aggregates.
pub fn point_of(model: &Model, fleet: &Fleet, s: u32, tick: u64) -> MetricPoint {
    let _ = model;
    MetricPoint::from_values(tick, metric_values(&fleet.services[s as usize].m))
}

/// The metrics of a service's aggregates `m`, in the order of [`MetricPoint::values`].
fn metric_values(m: &ServiceTick) -> [f64; METRICS] {
    [
        m.offered_rps,
        m.error_percent,
        m.latency_p50_ms,
        m.latency_p99_ms,
        m.cpu_percent,
        m.memory_percent,
        m.disk_percent,
        m.connections_percent,
        m.saturation_percent,
        m.healthy_percent,
    ]
}

/// The metric point of a service's aggregates `m`, packed (what
/// `PackedPoint::pack(&point_of(..))` gives, without building the point).
fn packed_point_of(m: &ServiceTick, tick: u64) -> PackedPoint {
    PackedPoint::from_values(tick, metric_values(m))
}

/// One metric of a service's aggregates `m` (what `point_of(..).get(metric)` gives).
fn metric_of(m: &ServiceTick, metric: Metric) -> f64 {
    match metric {
        Metric::Rps => m.offered_rps,
        Metric::ErrorPercent => m.error_percent,
        Metric::LatencyP50Ms => m.latency_p50_ms,
        Metric::LatencyP99Ms => m.latency_p99_ms,
        Metric::CpuPercent => m.cpu_percent,
        Metric::MemoryPercent => m.memory_percent,
        Metric::DiskPercent => m.disk_percent,
        Metric::ConnectionsPercent => m.connections_percent,
        Metric::SaturationPercent => m.saturation_percent,
        Metric::HealthyPercent => m.healthy_percent,
    }
}

/// Appends a routine access line, as `format!("GET {route} 200 {:.0}ms ({name})", p50_ms)`
/// writes it, to `line`.
fn access_line(line: &mut String, route: &str, p50_ms: f64, name: &str) {
    line.push_str("GET ");
    line.push_str(route);
    line.push_str(" 200 ");
    // Writing into a String cannot fail.
    let _ = Rounded(p50_ms).write_to(line);
    line.push_str("ms (");
    line.push_str(name);
    line.push(')');
}

/// The lowercase hex digits, by value.
const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Writes `id` as `{:08x}` does: eight lowercase hex digits.
fn push_hex8(out: &mut String, id: u32) {
    out.reserve(8);
    for shift in (0..8).rev() {
        out.push(char::from(HEX_DIGITS[((id >> (shift * 4)) & 0xf) as usize]));
    }
}

/// Appends `format!("{callee} returned 503 Service Unavailable (request {request_id:08x})")`
/// to `line`.
fn upstream_line(line: &mut String, callee: &str, request_id: u32) {
    line.push_str(callee);
    line.push_str(" returned 503 Service Unavailable (request ");
    push_hex8(line, request_id);
    line.push(')');
}

/// Appends `format!("timeout calling {callee} after {:.0}ms (request {request_id:08x})",
/// timeout_ms)` to `line`.
fn timeout_line(line: &mut String, callee: &str, timeout_ms: f64, request_id: u32) {
    line.push_str("timeout calling ");
    line.push_str(callee);
    line.push_str(" after ");
    // Writing into a String cannot fail.
    let _ = Rounded(timeout_ms).write_to(line);
    line.push_str("ms (request ");
    push_hex8(line, request_id);
    line.push(')');
}

/// Appends `format!("pool timeout waiting for connection to {callee} after {:.0}ms (pool size
/// {pool_size})", timeout_ms)` to `line`.
fn pool_timeout_line(line: &mut String, callee: &str, timeout_ms: f64, pool_size: u32) {
    line.push_str("pool timeout waiting for connection to ");
    line.push_str(callee);
    line.push_str(" after ");
    // Writing into a String cannot fail.
    let _ = Rounded(timeout_ms).write_to(line);
    line.push_str("ms (pool size ");
    // An integer below 2^53 is written by `{:.0}` as by `{}`.
    let _ = Rounded(f64::from(pool_size)).write_to(line);
    line.push(')');
}

/// Largest value [`Rounded`] writes with its own digits (exactly representable integers and
/// halves; larger ones go through the standard formatter).
const ROUNDED_FAST_MAX: f64 = 1e15;

/// 2^52: from there on the doubles are the integers (see [`Rounded::write_to`]).
const TWO_POW_52: f64 = 4_503_599_627_370_496.0;

/// A number written as `format!("{:.0}", x)` writes it (rounded half to even), without the
/// general float formatter for the usual non-negative values below [`ROUNDED_FAST_MAX`].
struct Rounded(f64);

impl Rounded {
    /// Writes the number into `out` as `format!("{:.0}", x)` does.
    fn write_to(&self, out: &mut impl std::fmt::Write) -> std::fmt::Result {
        let x = self.0;
        // Not NaN, not negative (nor -0.0, which `{:.0}` writes as "-0"), not huge.
        if !(x.is_sign_positive() && x < ROUNDED_FAST_MAX) {
            return write!(out, "{x:.0}");
        }
        // Below 2^52, adding 2^52 rounds x to an integer (half to even: the doubles there
        // are the integers) and subtracting it again is exact: `round_ties_even` without
        // its library call.
        let rounded = (x + TWO_POW_52) - TWO_POW_52;
        debug_assert_eq!(rounded.to_bits(), x.round_ties_even().to_bits(), "{x:e}");
        // Exact: an integer below 2^53.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let mut n = rounded as u64;
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        loop {
            at -= 1;
            // A digit: below 10.
            #[allow(clippy::cast_possible_truncation)]
            let digit = (n % 10) as u8;
            digits[at] = b'0' + digit;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        for &d in &digits[at..] {
            out.write_char(char::from(d))?;
        }
        Ok(())
    }
}

impl std::fmt::Display for Rounded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.write_to(f)
    }
}

/// The line a service logs when a fault is injected into it, if any (a deploy, a config push,
/// a flag flip leave traces; most faults do not).
pub fn injection_log(model: &Model, rt: &IncidentRuntime) -> Option<String> {
    let _ = model;
    match &rt.kind {
        FaultKind::BadDeploy { version, .. } => Some(format!("deploy: rolling out {version}")),
        FaultKind::BadConfig { value, .. } => Some(format!(
            "config push applied: {} = {value}",
            rt.name.as_deref().unwrap_or("config")
        )),
        FaultKind::BadFeatureFlag { .. } => Some(format!(
            "feature flag {} enabled for 100% of traffic",
            rt.name.as_deref().unwrap_or("flag")
        )),
        FaultKind::CacheCold { .. } => Some("cache: FLUSHALL received, keyspace empty".to_owned()),
        _ => None,
    }
}

/// Whether every number of `m` is finite. Sums them in two independent lanes (a NaN or an
/// infinity makes its lane's sum NaN or infinite, and the total too; an overflow only sends
/// the caller to [`ServiceTick::sanitize`], which checks every number).
fn all_finite(m: &ServiceTick) -> bool {
    let v = m.values();
    let mut lanes = [0.0f64; 2];
    for pair in v.chunks_exact(2) {
        lanes[0] += pair[0];
        lanes[1] += pair[1];
    }
    let rest: f64 = v.chunks_exact(2).remainder().iter().sum();
    (lanes[0] + lanes[1] + rest).is_finite()
}

/// What the telemetry stage keeps from one run to the next, besides the world's records
/// (held by the system that runs it, `systems::late_stages`).
#[derive(Debug, Default)]
pub struct TelemetryLocals {
    /// The buffer each log line is written into first.
    line_buf: String,
    /// The alert rules' keys.
    keys: AlertKeys,
    /// The services' next probe ticks.
    probe_clock: ProbeClock,
    /// Per service, this tick: whether the cheap summaries cannot rule out that its
    /// instances write resource warnings, or that every running disk is full.
    unsure: Vec<bool>,
}

/// The telemetry stage (run by `systems::late_stages`).
#[allow(clippy::too_many_arguments)]
pub fn telemetry(
    model: &Model,
    clock: &Clock,
    fleet: &mut Fleet,
    state: &mut TelemetryState,
    pending: &mut PendingLogs,
    rngs: &mut Rngs,
    incidents: &Incidents,
    locals: &mut TelemetryLocals,
    recording: Recording,
    struck: Option<&[u32]>,
) {
    let tick = clock.tick;
    let TelemetryLocals {
        line_buf,
        keys,
        probe_clock,
        unsure,
    } = locals;
    probes(model, fleet, tick, probe_clock);
    if recording == Recording::Nothing {
        // Nobody reads this world's records: the probes (above) and the guard are all the
        // simulation needs of this stage.
        pending.lines.clear();
        guard_finite(fleet, tick);
        return;
    }
    let ns = fleet.services.len();
    mark_unsure(unsure, fleet, pending, struck);
    // Logs the other stages queued this tick.
    for (s, index, level, message) in pending.lines.drain(..) {
        if visible(model, fleet, s, index) {
            let info = LineInfo {
                tick,
                instance: index,
                service: s,
                level,
            };
            state.logs.push(info, &message);
        }
    }
    state.history.prepare(ns);
    // No read-ahead of the oldest history points the pushes drop (the seventh round's
    // `touch_oldest`): with `Histories` they are read in order, which the processor fetches
    // ahead by itself (the read-ahead then cost 1-2 % of CPU time).
    for svc in &mut fleet.services {
        guard_service(svc, tick);
    }
    // Service `s` writes warnings when `(tick + s)` is a multiple of WARN_LOG_EVERY_TICKS and
    // routine lines when it is one of INFO_LOG_EVERY_TICKS: every so many services from the
    // first such `s`.
    let mut next_warn = first_due(tick, WARN_LOG_EVERY_TICKS);
    let mut next_info = first_due(tick, INFO_LOG_EVERY_TICKS);
    let due = ErrorsDue::at(tick);
    let mut sink = LineSink {
        logs: &mut state.logs,
        buf: line_buf,
        tick,
    };
    // The history point and the lines of each service, in order.
    let fleet: &Fleet = fleet;
    let mut logs = ServiceLogs {
        model,
        fleet,
        incidents,
        s: 0,
        tick,
        unsure: unsure.as_slice(),
    };
    let history = &mut state.history;
    for (s, (svc, stat)) in fleet.services.iter().zip(&model.services).enumerate() {
        let warn_due = s == next_warn;
        if warn_due {
            next_warn += WARN_LOG_EVERY_TICKS as usize;
        }
        let info_due = s == next_info;
        if info_due {
            next_info += INFO_LOG_EVERY_TICKS as usize;
        }
        debug_assert_eq!(
            warn_due,
            (tick + s as u64).is_multiple_of(WARN_LOG_EVERY_TICKS)
        );
        debug_assert_eq!(
            info_due,
            (tick + s as u64).is_multiple_of(INFO_LOG_EVERY_TICKS)
        );
        if svc.fx.telemetry_down {
            continue;
        }
        history.push_with(s, || packed_point_of(&svc.m, tick));
        if stat.kind == ServiceKind::ExternalApi {
            continue;
        }
        logs.s = s as u32;
        logs.write(&mut sink, rngs, warn_due, info_due, due);
    }
    // Alerts.
    if state.alerts.len() != model.alert_rules.len() {
        state
            .alerts
            .resize_with(model.alert_rules.len(), AlertState::default);
    }
    if keys.0.len() != model.alert_rules.len() {
        keys.0 = RuleKey::all(model);
    }
    alerts(&keys.0, &mut state.alerts, fleet, tick);
}

/// Evaluates every alert rule (keys `keys`, states `alerts`) at `tick`.
#[inline(never)]
fn alerts(keys: &[RuleKey], alerts: &mut [AlertState], fleet: &Fleet, tick: u64) {
    for (key, alert) in keys.iter().zip(alerts.iter_mut()) {
        let Some(svc) = fleet.services.get(key.service as usize) else {
            continue;
        };
        let holds = !svc.fx.telemetry_down && {
            // Most rules watch the share of healthy instances (every service's "down" rule).
            let value = if key.metric == Metric::HealthyPercent {
                svc.m.healthy_percent
            } else {
                metric_of(&svc.m, key.metric)
            };
            alert.last_value = value;
            key.holds(value)
        };
        if holds {
            let firing = alert.episodes.back().is_some_and(|e| e.1.is_none());
            let since = *alert.holding_since.get_or_insert(tick);
            if !firing && tick - since >= key.need_ticks {
                if alert.episodes.len() >= MAX_ALERT_EPISODES {
                    alert.episodes.pop_front();
                }
                alert.episodes.push_back((tick, None));
            }
        } else {
            // A firing episode (the last one, still open) is resolved. An episode opens only
            // while the condition holds, and is resolved as soon as it stops holding: with no
            // holding condition (the usual case) there is none to resolve.
            debug_assert!(
                alert.holding_since.is_some()
                    || alert.episodes.back().is_none_or(|e| e.1.is_some()),
                "an open alert episode without a holding condition"
            );
            // Tested before it is cleared: no store for the usual rule, which did not hold
            // last tick either.
            if alert.holding_since.is_some() {
                alert.holding_since = None;
                if let Some(last) = alert.episodes.back_mut()
                    && last.1.is_none()
                {
                    last.1 = Some(tick);
                }
            }
        }
    }
}

/// What the alert loop reads of one rule of `Model::alert_rules`, packed together.
#[derive(Clone, Copy, Debug)]
struct RuleKey {
    /// Index of the service it watches (`u32::MAX` when there is no such service).
    service: u32,
    /// The metric it watches.
    metric: Metric,
    /// 1 when it holds above the threshold, -1 when below.
    sign: f64,
    /// The threshold times `sign`.
    signed_threshold: f64,
    /// Ticks the condition must hold before the rule fires.
    need_ticks: u64,
}

impl RuleKey {
    /// The keys of the model's rules, in order.
    fn all(model: &Model) -> Vec<RuleKey> {
        model
            .alert_rules
            .iter()
            .zip(&model.alert_rule_service)
            .map(|(rule, &service)| {
                let sign = if rule.when.op == Comparison::Above {
                    1.0
                } else {
                    -1.0
                };
                RuleKey {
                    service: service.unwrap_or(u32::MAX),
                    metric: rule.when.metric,
                    sign,
                    signed_threshold: sign * rule.when.threshold,
                    need_ticks: rule.when.for_duration.to_ticks(model.scenario.tick),
                }
            })
            .collect()
    }

    /// Whether the rule's condition holds for `value`: `value > threshold` for a rule
    /// above, `value < threshold` for one below (a negation is exact, so comparing the
    /// negated values compares the same numbers).
    #[inline]
    fn holds(&self, value: f64) -> bool {
        let holds = self.sign * value > self.signed_threshold;
        debug_assert_eq!(
            holds,
            if self.sign > 0.0 {
                value > self.signed_threshold
            } else {
                value < -self.signed_threshold
            }
        );
        holds
    }
}

/// The keys of a world's alert rules, derived on the telemetry system's first run (a
/// world's model never changes; a restored world has a system of its own).
#[derive(Debug, Default)]
pub struct AlertKeys(Vec<RuleKey>);

/// The tick each service's health probes are next due: the first tick from now that makes
/// `tick + s` a multiple of its probe interval (kept by the telemetry system from tick to
/// tick instead of a division per service; set again whenever it is not within one interval
/// of the clock, e.g. on the system's first run).
#[derive(Debug, Default)]
pub struct ProbeClock {
    next: Vec<u64>,
    /// The probe interval of every service, when they all share one (then `next` is not
    /// used: the services due are found by their index).
    uniform: Option<u64>,
}

/// Whether the probes of service `s`, every `interval` ticks (at least 1, as the model's
/// are), are due at `tick`: whether `tick + s` is a multiple of `interval`. `next` is the
/// service's next due tick, moved on when it is this one (and set again when it is not
/// within one interval from `tick`).
fn probe_due(next: &mut u64, tick: u64, s: u64, interval: u64) -> bool {
    // Exactly one due tick lies in any `interval` ticks: `next` is the one from now on.
    if next.wrapping_sub(tick) >= interval {
        *next = tick + first_due(tick + s, interval) as u64;
    }
    let due = *next == tick;
    debug_assert_eq!(
        due,
        (tick + s).is_multiple_of(interval),
        "probe clock of service {s}"
    );
    if due {
        *next += interval;
    }
    due
}

/// Guard: no NaN or infinity ever leaves the engine in a service's metrics (a bug, caught in
/// debug builds; zeroed in release builds).
fn guard_finite(fleet: &mut Fleet, tick: u64) {
    for svc in &mut fleet.services {
        guard_service(svc, tick);
    }
}

/// [`guard_finite`] for one service.
#[inline]
fn guard_service(svc: &mut ServiceState, tick: u64) {
    debug_assert!(
        svc.m.is_finite(),
        "non-finite service metrics at tick {tick}: {:?}",
        svc.m
    );
    if !all_finite(&svc.m) {
        svc.m.sanitize();
    }
}

/// The probe interval every service of `model` shares, if they all have the same one.
fn uniform_interval(model: &Model) -> Option<u64> {
    let first = model.services.first()?.probe_interval_ticks;
    model
        .services
        .iter()
        .all(|stat| stat.probe_interval_ticks == first)
        .then_some(first)
}

/// Runs the health probes due this tick.
fn probes(model: &Model, fleet: &mut Fleet, tick: u64, clock: &mut ProbeClock) {
    let Fleet {
        services,
        instances,
        followers,
        ..
    } = fleet;
    if clock.next.len() != services.len() {
        // Not within one interval of any clock: set on first use below.
        clock.next = vec![u64::MAX; services.len()];
        clock.uniform = uniform_interval(model).filter(|_| model.services.len() == services.len());
    }
    if let Some(interval) = clock.uniform {
        // Every service probes every `interval` ticks: those due (`tick + s` a multiple of
        // the interval) are every interval-th from the first.
        let interval = interval.max(1);
        let mut s = first_due(tick, interval);
        debug_assert!(
            (0..services.len())
                .filter(|&s| (tick + s as u64).is_multiple_of(interval))
                .eq((s..services.len()).step_by(interval as usize)),
            "the probes due at tick {tick}"
        );
        while let Some(svc) = services.get_mut(s) {
            probe_service(model, svc, instances, followers, s as u32);
            s += interval as usize;
        }
        return;
    }
    for (s, ((stat, svc), next)) in model
        .services
        .iter()
        .zip(services.iter_mut())
        .zip(clock.next.iter_mut())
        .enumerate()
    {
        if probe_due(next, tick, s as u64, stat.probe_interval_ticks) {
            probe_service(model, svc, instances, followers, s as u32);
        }
    }
}

/// Probes the instances of service `s` (`svc`; a follower's latency is its leader's,
/// `followers`).
#[inline(always)]
fn probe_service(
    model: &Model,
    svc: &mut ServiceState,
    instances: &mut [Instance],
    followers: &Followers,
    s: u32,
) {
    let hc = &model.spec(s).health_check;
    for &id in &svc.instances {
        let id = id as usize;
        let inst = &instances[id];
        if matches!(inst.life, Life::Booting { .. } | Life::Removed) {
            continue;
        }
        let pass = inst.is_running()
            && instances[followers.leader_of(id).unwrap_or(id)]
                .m
                .own_p50_ms
                <= hc.timeout_ms;
        let inst = &mut instances[id];
        let was_healthy = inst.probe_healthy;
        if pass {
            inst.probe_fail_streak = 0;
            inst.probe_healthy = true;
        } else {
            inst.probe_fail_streak += 1;
            if inst.probe_fail_streak >= hc.failures.max(1) {
                inst.probe_healthy = false;
            }
        }
        // The load balancer's rotation depends on it (`Fleet::rotation_changed`).
        svc.rotation_kept &= inst.probe_healthy == was_healthy;
    }
}

/// Whether a line of service `s` (instance `index`) gets written: telemetry flowing and the
/// instance's disk not full.
fn visible(model: &Model, fleet: &Fleet, s: u32, index: Option<u32>) -> bool {
    let svc = &fleet.services[s as usize];
    if svc.fx.telemetry_down {
        return false;
    }
    let disk = model.spec(s).disk_gb * 0.999;
    let Some(index) = index else {
        return !all_disks_full(model, fleet, s);
    };
    !svc.instances.iter().any(|&id| {
        let inst = &fleet.instances[id as usize];
        inst.index == index && fleet.tick_of(id as usize).disk_used_gb >= disk
    })
}

/// Whether every running instance of service `s` has a full disk (service-level lines stop).
fn all_disks_full(model: &Model, fleet: &Fleet, s: u32) -> bool {
    let disk = model.spec(s).disk_gb * 0.999;
    // (A follower runs, as its leader does, and its disk is its leader's.)
    let mut running = fleet.services[s as usize]
        .instances
        .iter()
        .map(|&id| fleet.tick_of(id as usize))
        .filter(|i| i.is_running())
        .peekable();
    running.peek().is_some() && running.all(|i| i.disk_used_gb >= disk)
}

/// Where this tick's lines go: the log ring, and a buffer each line is written into first.
struct LineSink<'a> {
    logs: &'a mut LogRing,
    buf: &'a mut String,
    tick: u64,
}

impl LineSink<'_> {
    /// Appends the line `write` writes, of service `s` (its instance `instance`, if any).
    fn line(
        &mut self,
        s: u32,
        instance: Option<u32>,
        level: LogLevel,
        write: impl FnOnce(&mut String),
    ) {
        self.buf.clear();
        write(self.buf);
        let info = LineInfo {
            tick: self.tick,
            instance,
            service: s,
            level,
        };
        self.logs.push(info, self.buf);
    }
}

/// The smallest `i` that makes `tick + i` a multiple of `every` (at least 1).
fn first_due(tick: u64, every: u64) -> usize {
    let every = every.max(1);
    // Below `every`, a small constant.
    #[allow(clippy::cast_possible_truncation)]
    let first = ((every - tick % every) % every) as usize;
    first
}

/// Which instances have an error line due this tick: those whose index `i` makes
/// `tick + i` a multiple of [`ERROR_LOG_EVERY_TICKS`].
#[derive(Clone, Copy)]
struct ErrorsDue {
    /// The smallest such index.
    first: usize,
}

impl ErrorsDue {
    /// The instances due at `tick`.
    fn at(tick: u64) -> ErrorsDue {
        ErrorsDue {
            first: first_due(tick, ERROR_LOG_EVERY_TICKS),
        }
    }
}

/// What one service's lines this tick are written from.
struct ServiceLogs<'a> {
    model: &'a Model,
    fleet: &'a Fleet,
    incidents: &'a Incidents,
    s: u32,
    tick: u64,
    /// Per service: see [`TelemetryLocals::unsure`].
    unsure: &'a [bool],
}

/// Highest memory or disk share, percent, above which an instance writes a warning.
const WARN_ABOVE_PERCENT: f64 = 80.0;

/// A service's highest disk share (percent, of the instances running or booting in the
/// resources stage) below which not every running disk can be full (full: at least 99.9 %).
const SOME_DISK_FREE_BELOW_PERCENT: f64 = 99.8;

/// Marks in `unsure` the services whose instances the service aggregates may not describe
/// this tick: those with an instance the fault-effects stage may have struck (hog, steal,
/// loss; every service when it could not tell or a zone has steal or loss), and those with a
/// line queued by another stage (the lifecycle stage logs every instance it starts or
/// kills after the aggregates were taken).
fn mark_unsure(
    unsure: &mut Vec<bool>,
    fleet: &Fleet,
    pending: &PendingLogs,
    struck: Option<&[u32]>,
) {
    let ns = fleet.services.len();
    let zones_struck = fleet.zones.iter().any(|z| z.steal > 0.0 || z.loss > 0.0);
    unsure.clear();
    match struck {
        Some(ids) if !zones_struck => {
            unsure.resize(ns, false);
            for &id in ids {
                if let Some(inst) = fleet.instances.get(id as usize)
                    && let Some(flag) = unsure.get_mut(inst.service as usize)
                {
                    *flag = true;
                }
            }
        }
        _ => unsure.resize(ns, true),
    }
    for &(s, ..) in &pending.lines {
        if let Some(flag) = unsure.get_mut(s as usize) {
            *flag = true;
        }
    }
}

impl ServiceLogs<'_> {
    /// Routine lines, resource warnings and error lines of the service this tick
    /// (`warn_due`, `info_due`: whether its warnings and its routine line are due).
    fn write(
        &self,
        sink: &mut LineSink<'_>,
        rngs: &mut Rngs,
        warn_due: bool,
        info_due: bool,
        due: ErrorsDue,
    ) {
        let (model, fleet, s, tick) = (self.model, self.fleet, self.s, self.tick);
        let svc = &fleet.services[s as usize];
        let mut errors = 0usize;
        // The usual service-tick: neither warnings nor a routine line due, so only the error
        // lines of the instances due (what the general path below does then).
        if !(warn_due | info_due) && svc.next_index as usize == svc.instances.len() {
            self.error_lines(sink, rngs, &svc.instances, due, &mut errors);
            return;
        }
        let unsure = self.unsure.get(s as usize).is_none_or(|&u| u);
        // Whether every disk is full matters only on the ticks of warnings and routine lines;
        // with a disk below SOME_DISK_FREE_BELOW_PERCENT among the instances the aggregates
        // saw (and no instance started or stopped since), some running disk has room.
        let blind = (warn_due || info_due)
            && (unsure || svc.m.disk_percent >= SOME_DISK_FREE_BELOW_PERCENT)
            && all_disks_full(model, fleet, s);
        debug_assert!(
            blind == ((warn_due || info_due) && all_disks_full(model, fleet, s)),
            "the disk summary of service {s} at tick {tick}"
        );
        let warn_tick = !blind && warn_due;
        // Instances write resource warnings only above WARN_ABOVE_PERCENT of memory or disk
        // (of which the service's aggregates hold the highest) or under fault effects (of
        // which `unsure` tells): without either, the warning tick visits no instance.
        let instance_warnings = warn_tick
            && (unsure
                || svc.m.memory_percent > WARN_ABOVE_PERCENT
                || svc.m.disk_percent > WARN_ABOVE_PERCENT);
        debug_assert!(
            instance_warnings
                || !warn_tick
                || svc.instances.iter().all(|&id| {
                    let inst = &fleet.instances[id as usize];
                    let tick = fleet.tick_of(id as usize);
                    !inst.is_running()
                        || tick.disk_used_gb >= model.spec(s).disk_gb * 0.999
                        || !self.may_warn(inst, tick)
                }),
            "the warning summary of service {s} at tick {tick}"
        );
        let instances = svc.instances.as_slice();
        // Instance `k` of a service has index `k` (indices are given in order as instances
        // are added, and never taken back), so the instances with an error line due are
        // every ERROR_LOG_EVERY_TICKS-th from `due.first`: only those are visited unless
        // warnings are due (or the indices are not the positions: then every one is).
        if instance_warnings || svc.next_index as usize != instances.len() {
            for &id in instances {
                let inst = &fleet.instances[id as usize];
                let error_due =
                    (tick + u64::from(inst.index)).is_multiple_of(ERROR_LOG_EVERY_TICKS);
                if !instance_warnings && !error_due {
                    continue;
                }
                let shared = fleet.tick_of(id as usize);
                self.instance_lines(
                    sink,
                    rngs,
                    (inst, shared),
                    instance_warnings,
                    error_due,
                    &mut errors,
                );
            }
        } else {
            self.error_lines(sink, rngs, instances, due, &mut errors);
        }
        if warn_tick {
            self.service_warnings(sink);
        }
        if !blind && info_due && svc.m.ok_rps > 0.0 {
            let routes = ["/", "/api/items", "/api/cart", "/health", "/api/checkout"];
            let route = routes[rngs.logs.random_range(0..routes.len())];
            sink.line(s, None, LogLevel::Info, |b| {
                access_line(
                    b,
                    route,
                    svc.m.latency_p50_ms,
                    &model.services[s as usize].name,
                )
            });
        }
    }

    /// The error lines of the service's `instances` due this tick, without warnings, when
    /// each instance's index is its position (counted in `errors`).
    #[inline(always)]
    fn error_lines(
        &self,
        sink: &mut LineSink<'_>,
        rngs: &mut Rngs,
        instances: &[u32],
        due: ErrorsDue,
        errors: &mut usize,
    ) {
        let fleet = self.fleet;
        let mut k = due.first;
        while k < instances.len() && *errors < MAX_ERROR_LINES_PER_SERVICE_TICK {
            let id = instances[k] as usize;
            let (inst, shared) = (&fleet.instances[id], fleet.tick_of(id));
            debug_assert_eq!(inst.index as usize, k, "instance index is its position");
            // Without warnings due, an instance whose requests fail for no cause (most
            // of them) writes nothing.
            if shared.m.cause != Cause::None {
                self.instance_lines(sink, rngs, (inst, shared), false, true, errors);
            }
            k += ERROR_LOG_EVERY_TICKS as usize;
        }
    }

    /// The warnings (if `warn_tick`) and the error line (if `error_due` and the service has
    /// written fewer than its most this tick, counted in `errors`) of instance `inst`, whose
    /// tick `shared` holds (`Fleet::tick_of`).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn instance_lines(
        &self,
        sink: &mut LineSink<'_>,
        rngs: &mut Rngs,
        (inst, shared): (&crate::state::Instance, &crate::state::Instance),
        warn_tick: bool,
        error_due: bool,
        errors: &mut usize,
    ) {
        let (model, fleet, s) = (self.model, self.fleet, self.s);
        if !inst.is_running() || shared.disk_used_gb >= model.spec(s).disk_gb * 0.999 {
            return;
        }
        let idx = Some(inst.index);
        if warn_tick {
            self.instance_warnings(sink, inst, shared);
        }
        let m = &shared.m;
        let failed_share = if m.offered_rps > 1e-9 {
            m.failed_rps / m.offered_rps
        } else {
            0.0
        };
        // Stale reads are rare but each is logged (the clue to a lagging replica).
        if (failed_share < 0.005 && m.cause != Cause::StaleRead) || m.cause == Cause::None {
            return;
        }
        if !error_due || *errors >= MAX_ERROR_LINES_PER_SERVICE_TICK {
            return;
        }
        *errors += 1;
        let request_id: u32 = rngs.logs.random();
        sink.line(s, idx, LogLevel::Error, |b| {
            error_message(
                b,
                model,
                fleet,
                self.incidents,
                s,
                (inst, shared),
                request_id,
            )
        });
    }

    /// Whether instance `inst` (a running one with room on its disk; its tick in `shared`)
    /// writes a resource warning: what [`Self::instance_warnings`] tests.
    fn may_warn(&self, inst: &crate::state::Instance, shared: &crate::state::Instance) -> bool {
        let fleet = self.fleet;
        let zone = &fleet.zones[inst.zone as usize];
        shared.m.memory_percent > WARN_ABOVE_PERCENT
            || inst.fx.hog > 0.0
            || inst.fx.steal.max(zone.steal) > 0.0
            || shared.m.disk_percent > WARN_ABOVE_PERCENT
            || (inst.fx.loss.max(zone.loss) > 0.0
                && !fleet.services[self.s as usize].deps.is_empty())
    }

    /// The resource warnings of instance `inst` (a running one with room on its disk; its
    /// tick in `shared`).
    #[inline(never)]
    fn instance_warnings(
        &self,
        sink: &mut LineSink<'_>,
        inst: &crate::state::Instance,
        shared: &crate::state::Instance,
    ) {
        let (fleet, s) = (self.fleet, self.s);
        let svc = &fleet.services[s as usize];
        let idx = Some(inst.index);
        let m = &shared.m;
        if m.memory_percent > WARN_ABOVE_PERCENT {
            let pause = 50.0 + (m.memory_percent - WARN_ABOVE_PERCENT) * 15.0;
            sink.line(s, idx, LogLevel::Warn, |b| {
                let _ = write!(
                    b,
                    "GC pause {}ms (heap {}% used after full GC)",
                    Rounded(pause),
                    Rounded(m.memory_percent)
                );
            });
        }
        if inst.fx.hog > 0.0 {
            sink.line(s, idx, LogLevel::Warn, |b| {
                let _ = write!(
                    b,
                    "high CPU: process 'batch-reindex' using {}% CPU",
                    Rounded(inst.fx.hog * 100.0)
                );
            });
        }
        let steal = inst.fx.steal.max(fleet.zones[inst.zone as usize].steal);
        if steal > 0.0 {
            sink.line(s, idx, LogLevel::Warn, |b| {
                let _ = write!(
                    b,
                    "cpu steal time {}% (hypervisor contention)",
                    Rounded(steal * 100.0)
                );
            });
        }
        if m.disk_percent > WARN_ABOVE_PERCENT {
            sink.line(s, idx, LogLevel::Warn, |b| {
                let _ = write!(b, "disk usage {}% on /var/log", Rounded(m.disk_percent));
            });
        }
        let loss = inst.fx.loss.max(fleet.zones[inst.zone as usize].loss);
        if loss > 0.0 && !svc.deps.is_empty() {
            sink.line(s, idx, LogLevel::Warn, |b| {
                b.push_str("TCP retransmission timeout, resending segment")
            });
        }
    }

    /// The service's own warnings (on the ticks of warnings, unless every disk is full).
    #[inline(never)]
    fn service_warnings(&self, sink: &mut LineSink<'_>) {
        let (model, fleet, s) = (self.model, self.fleet, self.s);
        let svc = &fleet.services[s as usize];
        match model.services[s as usize].kind {
            ServiceKind::Database if svc.replica_lag_s > STALE_LAG_S / 2.0 => {
                sink.line(s, None, LogLevel::Warn, |b| {
                    let _ = write!(
                        b,
                        "replica lag {}s behind primary",
                        Rounded(svc.replica_lag_s)
                    );
                });
            }
            ServiceKind::Cache if svc.cache_hit < 0.5 => {
                sink.line(s, None, LogLevel::Warn, |b| {
                    let _ = write!(
                        b,
                        "cache hit rate {}%, evictions high",
                        Rounded(svc.cache_hit * 100.0)
                    );
                });
            }
            ServiceKind::Dns if svc.fx.dns_failing => {
                sink.line(s, None, LogLevel::Error, |b| {
                    b.push_str("SERVFAIL: upstream resolver timed out")
                });
            }
            _ => {}
        }
        if svc.fx.cert_expired {
            sink.line(s, None, LogLevel::Warn, |b| {
                b.push_str("http: TLS handshake error: remote error: tls: bad certificate")
            });
        }
    }
}

/// Appends the error line for an instance's dominant cause of failure to `out` (the
/// instance `inst`, its tick in `shared`: `Fleet::tick_of`).
fn error_message(
    out: &mut String,
    model: &Model,
    fleet: &Fleet,
    incidents: &Incidents,
    s: u32,
    (inst, shared): (&crate::state::Instance, &crate::state::Instance),
    request_id: u32,
) {
    let svc = &fleet.services[s as usize];
    // Writing into a String cannot fail.
    let _ = match shared.m.cause {
        Cause::None => Ok(()),
        Cause::Overload => write!(
            out,
            "request {request_id:08x} dropped: queue full ({} waiting), server overloaded",
            Rounded(shared.queue)
        ),
        Cause::Refused => out.write_str("connection refused"),
        Cause::BadConfig => {
            let (key, value) = incidents
                .runtime
                .iter()
                .zip(&incidents.statuses)
                .find_map(|(rt, st)| match (&rt.kind, st.active, rt.service) {
                    (FaultKind::BadConfig { value, .. }, true, Some(t)) if t == s => {
                        Some((rt.name.clone().unwrap_or_default(), value.clone()))
                    }
                    _ => None,
                })
                .unwrap_or_else(|| ("config".to_owned(), "?".to_owned()));
            write!(
                out,
                "request {request_id:08x} failed: invalid config value {key}={value}: route /api/checkout disabled"
            )
        }
        Cause::BadFlag => {
            let flag = svc
                .flags
                .iter()
                .find(|(_, on)| **on)
                .map_or("flag", |(f, _)| f.as_str());
            write!(
                out,
                "request {request_id:08x} failed: NullPointerException in {flag} code path"
            )
        }
        Cause::ClockSkew => write!(
            out,
            "clock skew detected: token not yet valid (issued {}s in the future)",
            Rounded(inst.clock_skew_s)
        ),
        Cause::DiskFull => out.write_str("write failed: No space left on device"),
        Cause::Quota => out.write_str("rate limited"),
        Cause::StaleRead => write!(
            out,
            "stale read: replica lag {}s, read-after-write check failed",
            Rounded(svc.replica_lag_s)
        ),
        Cause::Dependency(d, cause) => {
            let dep = &svc.deps[d as usize];
            let callee = &model.services[dep.callee as usize].name;
            match cause {
                DepCause::PoolTimeout => {
                    let pool_size = inst.fx.pool_limit.map_or(dep.pool_size, |(_, n)| n);
                    pool_timeout_line(out, callee, dep.timeout_ms, pool_size);
                    Ok(())
                }
                DepCause::Dns => write!(out, "dial tcp: lookup {callee}.internal: no such host"),
                DepCause::Tls => write!(
                    out,
                    "Post https://{callee}.internal/: x509: certificate has expired or is not yet valid"
                ),
                DepCause::ConnRefused => {
                    let c = dep.callee as usize;
                    let up = fleet.services[c]
                        .instances
                        .iter()
                        .any(|&id| fleet.instances[id as usize].is_running());
                    if !up {
                        // Nothing listens: the callee is down or still booting.
                        write!(
                            out,
                            "dial tcp {callee}.internal:443: connect: connection refused"
                        )
                    } else if model.services[c].kind == ServiceKind::Database {
                        write!(
                            out,
                            "connection to {callee} refused: FATAL: sorry, too many clients already"
                        )
                    } else {
                        write!(
                            out,
                            "{callee} returned 503 Service Unavailable: too many connections"
                        )
                    }
                }
                DepCause::Unreachable => {
                    write!(
                        out,
                        "dial tcp {callee}.internal: i/o timeout (no route to host)"
                    )
                }
                DepCause::Timeout => {
                    timeout_line(out, callee, dep.timeout_ms, request_id);
                    Ok(())
                }
                DepCause::TooManyRequests => {
                    write!(out, "429 Too Many Requests from {callee}: quota exceeded")
                }
                DepCause::Upstream => {
                    upstream_line(out, callee, request_id);
                    Ok(())
                }
                DepCause::BreakerOpen => {
                    write!(out, "circuit breaker open for {callee}: failing fast")
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::{
        Rounded, access_line, first_due, pool_timeout_line, probe_due, timeout_line, upstream_line,
    };

    /// The line `write` appends to an empty buffer.
    fn built(write: impl FnOnce(&mut String)) -> String {
        let mut line = String::new();
        write(&mut line);
        line
    }

    #[test]
    fn first_due_is_the_smallest_offset_to_a_multiple() {
        for every in [1, 2, 5, 7, 15, 30] {
            for tick in 0..400u64 {
                let first = first_due(tick, every) as u64;
                assert!((tick + first).is_multiple_of(every), "{tick} {every}");
                assert!(
                    (0..first).all(|i| !(tick + i).is_multiple_of(every)),
                    "{tick} {every}"
                );
            }
        }
    }

    #[test]
    fn the_probe_clock_agrees_with_the_division_whatever_the_clock_does() {
        for interval in [1, 3, 10] {
            for s in 0..12u64 {
                // From scratch, ticking on, then jumping ahead and back (a restored world).
                let mut next = u64::MAX;
                let ticks = (0..50)
                    .chain(200..230)
                    .chain(5..40)
                    .chain([7, 7, 1_000_003]);
                for tick in ticks {
                    assert_eq!(
                        probe_due(&mut next, tick, s, interval),
                        (tick + s).is_multiple_of(interval),
                        "tick {tick} service {s} every {interval}"
                    );
                }
            }
        }
    }

    #[test]
    fn rounded_writes_what_the_standard_formatter_writes() {
        let mut values = vec![
            0.0,
            -0.0,
            0.3,
            0.5,
            1.5,
            2.5,
            0.499_999_999_999_999_94,
            4_503_599_627_370_495.5,
            999_999_999_999_999.9,
            1e15,
            2e15 + 1.0,
            1e300,
            -0.3,
            -2.5,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
        ];
        for k in 0..20_000u32 {
            let k = f64::from(k);
            values.extend([
                k,
                k + 0.5,
                k + 0.25,
                k * 0.1,
                k * 1.37 + 0.499_999,
                k * 1e10 + 0.5,
            ]);
        }
        let mut x = 1.0e-3f64;
        while x < 1e16 {
            values.extend([x, x.next_up(), x.next_down()]);
            x *= 1.618;
        }
        for (k, v) in values.into_iter().enumerate() {
            // Request ids across the range, the extremes included.
            let id = u32::try_from(k).unwrap_or(0).wrapping_mul(2_654_435_761);
            for id in [id, 0, 1, 0xf, u32::MAX] {
                assert_eq!(
                    built(|b| upstream_line(b, "db", id)),
                    format!("db returned 503 Service Unavailable (request {id:08x})")
                );
            }
            assert_eq!(
                built(|b| timeout_line(b, "api", v, id)),
                format!("timeout calling api after {v:.0}ms (request {id:08x})"),
                "{v:e}"
            );
            for size in [id, 0, 1, 9, 10, 99, 100, u32::MAX] {
                assert_eq!(
                    built(|b| pool_timeout_line(b, "db", v, size)),
                    format!(
                        "pool timeout waiting for connection to db after {v:.0}ms (pool size {size})"
                    ),
                    "{v:e} {size}"
                );
            }
            assert_eq!(format!("{}", Rounded(v)), format!("{v:.0}"), "{v:e}");
            assert_eq!(
                built(|b| access_line(b, "/api/cart", v, "checkout")),
                format!("GET /api/cart 200 {v:.0}ms (checkout)"),
                "{v:e}"
            );
        }
    }
}
