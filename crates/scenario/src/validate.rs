//! Semantic checks of a parsed scenario: references, uniqueness, cycles, times, selectors,
//! numbers and remedies. Every problem is reported, each at its own span.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::ops::Range;

use crate::diagnostic::{Diagnostic, DiagnosticKind as K, suggestion};
use crate::span_index::SpanIndex;
use crate::{
    Condition, FaultClass, FaultKind, Pick, Scenario, Service, SimDuration, Target, Trigger,
};

/// Most ticks a game may have (duration divided by tick).
pub const MAX_TICKS: u64 = 2_000_000;
/// Most instances of one service in one zone.
pub const MAX_INSTANCES_PER_ZONE: u32 = 1_000;
/// Most zones in a scenario.
pub const MAX_ZONES: usize = 64;
/// Most services in a scenario.
pub const MAX_SERVICES: usize = 1_000;
/// Most faults in a scenario.
pub const MAX_FAULTS: usize = 10_000;
/// Hours in a simulated day (length of `traffic.daily_curve`).
pub const HOURS_PER_DAY: usize = 24;
/// Most points any scoring weight or hint cost may be worth (the judge's adjustment limit).
pub const MAX_POINTS: i64 = 1_000_000;
/// Most revenue units one point may take.
pub const MAX_REVENUE_UNITS_PER_POINT: u64 = 1_000_000_000_000;
/// Most retries of one dependency call (the same bound as a team's `set_config retries`).
pub const MAX_RETRIES: u32 = 10;
/// Largest connection pool of one dependency (the same bound as `set_config pool_size`).
pub const MAX_POOL_SIZE: u32 = 10_000;
/// Most connections one instance accepts.
pub const MAX_CONNECTIONS: u32 = 1_000_000;
/// Most consecutive failed probes before an instance is marked unhealthy.
pub const MAX_PROBE_FAILURES: u32 = 100;
/// Most calls to a dependency per incoming request.
pub const MAX_CALLS_PER_REQUEST: f64 = 100.0;

/// Runs every check of `scenario`, locating problems through `index`.
pub(crate) fn validate(scenario: &Scenario, index: &SpanIndex) -> Vec<Diagnostic> {
    let mut checker = Checker {
        s: scenario,
        index,
        out: Vec::new(),
    };
    checker.metadata();
    checker.zones();
    checker.services();
    checker.dependency_cycles();
    checker.traffic();
    checker.alerts();
    checker.faults();
    checker.trigger_cycles();
    checker.decoys();
    checker.hints();
    checker.scoring_and_customers();
    checker.announcements();
    // An unknown name already explains why something looks unreachable.
    if !checker
        .out
        .iter()
        .any(|d| d.kind == K::UnknownReference && d.is_error())
    {
        checker.reachability();
    }
    checker.out
}

struct Checker<'a> {
    s: &'a Scenario,
    index: &'a SpanIndex,
    out: Vec<Diagnostic>,
}

/// How a target of a fault is being checked.
#[derive(Clone, Copy)]
struct FaultContext<'a> {
    class: FaultClass,
    kind: &'a FaultKind,
}

impl<'a> Checker<'a> {
    /// Span of the value at `path`, or of its nearest written ancestor (not the whole file).
    fn span(&self, path: &str) -> Option<Range<usize>> {
        let span = self.index.nearest(path)?;
        if self.index.get("") == Some(span.clone()) && !path.is_empty() {
            // Only the whole file encloses it: point at the opening bracket instead.
            return Some(span.start..span.start + 1);
        }
        Some(span)
    }

    fn push(&mut self, diagnostic: Diagnostic) {
        self.out.push(diagnostic);
    }

    fn error(&mut self, kind: K, path: &str, message: String, label: &str, help: Option<String>) {
        let span = self.span(path);
        self.push(
            Diagnostic::error(kind, message)
                .with_label(span, label)
                .with_optional_help(help),
        );
    }

    fn warning(&mut self, kind: K, path: &str, message: String, label: &str, help: Option<String>) {
        let span = self.span(path);
        self.push(
            Diagnostic::warning(kind, message)
                .with_label(span, label)
                .with_optional_help(help),
        );
    }

    // ---- numbers -------------------------------------------------------------------

    /// Reports a number that is not finite (too large to write, or not a number); true if so.
    fn not_finite(&mut self, path: &str, value: f64, what: &str) -> bool {
        if value.is_finite() {
            return false;
        }
        let message = if value.is_nan() {
            format!("`{what}` must be a number, found {value}")
        } else {
            format!("`{what}` is too large: it must be a finite number, found {value}")
        };
        self.error(K::OutOfRange, path, message, "not a finite number", None);
        true
    }

    fn positive(&mut self, path: &str, value: f64, what: &str) {
        if self.not_finite(path, value, what) {
            return;
        }
        if value <= 0.0 {
            self.error(
                K::OutOfRange,
                path,
                format!("`{what}` must be greater than 0, found {value}"),
                "must be > 0",
                None,
            );
        }
    }

    fn non_negative(&mut self, path: &str, value: f64, what: &str) {
        if self.not_finite(path, value, what) {
            return;
        }
        if value < 0.0 {
            self.error(
                K::OutOfRange,
                path,
                format!("`{what}` must be 0 or more, found {value}"),
                "must be ≥ 0",
                None,
            );
        }
    }

    fn percent(&mut self, path: &str, value: f64, what: &str) {
        if !(value.is_finite() && (0.0..=100.0).contains(&value)) {
            self.error(
                K::OutOfRange,
                path,
                format!("`{what}` is a percentage and must be between 0 and 100, found {value}"),
                "must be within 0–100",
                None,
            );
        }
    }

    fn nonzero_percent(&mut self, path: &str, value: f64, what: &str) {
        if value == 0.0 {
            self.error(
                K::OutOfRange,
                path,
                format!("`{what}` of 0% has no effect"),
                "must be above 0",
                Some("use a value between 1 and 100".to_owned()),
            );
        } else {
            self.percent(path, value, what);
        }
    }

    fn nonzero_duration(&mut self, path: &str, value: SimDuration, what: &str) {
        if value == SimDuration::ZERO {
            self.error(
                K::OutOfRange,
                path,
                format!("`{what}` must be longer than 0s"),
                "must be > 0s",
                None,
            );
        }
    }

    fn positive_int(&mut self, path: &str, value: u64, what: &str) {
        if value == 0 {
            self.error(
                K::OutOfRange,
                path,
                format!("`{what}` must be at least 1, found 0"),
                "must be ≥ 1",
                None,
            );
        }
    }

    fn non_negative_points(&mut self, path: &str, value: i64, what: &str) {
        if value < 0 {
            self.error(
                K::OutOfRange,
                path,
                format!("`{what}` must be 0 or more, found {value}"),
                "must be ≥ 0",
                Some("write amounts as positive numbers; the rules decide the sign".to_owned()),
            );
        } else if value > MAX_POINTS {
            self.error(
                K::OutOfRange,
                path,
                format!("`{what}` must be at most {MAX_POINTS} points, found {value}"),
                "too many points",
                None,
            );
        }
    }

    /// A whole number from `min` (0 or 1) to `max`.
    fn int_at_most(&mut self, path: &str, value: u64, min: u64, max: u64, what: &str) {
        if min > 0 && value == 0 {
            self.positive_int(path, value, what);
        } else if value > max {
            self.error(
                K::OutOfRange,
                path,
                format!("`{what}` must be at most {max}, found {value}"),
                "too large",
                None,
            );
        }
    }

    /// `time` must fall strictly inside the game (`allow_end`: the end itself is fine).
    fn inside_game(&mut self, path: &str, time: SimDuration, what: &str, allow_end: bool) {
        let end = self.s.duration;
        let outside = if allow_end { time > end } else { time >= end };
        if outside {
            self.error(
                K::OutsideGame,
                path,
                format!("{what} at {time} is outside the game, which lasts {end}"),
                "after the end of the game",
                Some(format!("move it before {end} or lengthen `duration`")),
            );
        }
    }

    // ---- names ---------------------------------------------------------------------

    /// Reports every name that appears twice, at its second place.
    fn unique_names<'n>(&mut self, names: impl IntoIterator<Item = (String, &'n str)>, what: &str) {
        let mut seen: HashMap<&str, String> = HashMap::new();
        for (path, name) in names {
            if let Some(first_path) = seen.get(name) {
                let first = self.span(first_path);
                let here = self.span(&path);
                self.push(
                    Diagnostic::error(
                        K::DuplicateName,
                        format!("{what} `{name}` is defined twice"),
                    )
                    .with_label(here, "defined again here")
                    .with_label(first, "first defined here")
                    .with_help(format!("give each {what} its own name")),
                );
            } else {
                seen.insert(name, path);
            }
        }
    }

    /// Reports every entry of a list that appears twice (a zone, a dependency, an entry
    /// point), at its second place.
    fn unique_entries<'n>(
        &mut self,
        entries: impl IntoIterator<Item = (String, &'n str)>,
        list: &str,
    ) {
        let mut seen: HashMap<&str, String> = HashMap::new();
        for (path, name) in entries {
            if let Some(first_path) = seen.get(name) {
                let first = self.span(first_path);
                let here = self.span(&path);
                self.push(
                    Diagnostic::error(
                        K::DuplicateName,
                        format!("`{name}` appears twice in {list}"),
                    )
                    .with_label(here, "listed again here")
                    .with_label(first, "first listed here")
                    .with_help("list it once"),
                );
            } else {
                seen.insert(name, path);
            }
        }
    }

    fn unknown(&mut self, path: &str, name: &str, what: &str, plural: &str, candidates: &[&str]) {
        self.unknown_in(path, name, what, plural, candidates, None);
    }

    /// An unknown name, optionally of something that belongs to service `owner`.
    fn unknown_in(
        &mut self,
        path: &str,
        name: &str,
        what: &str,
        plural: &str,
        candidates: &[&str],
        owner: Option<&str>,
    ) {
        let (message, label) = match owner {
            Some(owner) => (
                format!("unknown {what} `{name}` on service `{owner}`"),
                format!("`{owner}` has no {what} with this name"),
            ),
            None => (
                format!("unknown {what} `{name}`"),
                format!("no {what} has this name"),
            ),
        };
        self.error(
            K::UnknownReference,
            path,
            message,
            &label,
            Some(suggestion(name, plural, candidates.iter().copied())),
        );
    }

    fn service_ref(&mut self, path: &str, name: &str) -> Option<&'a Service> {
        let found = self.s.service(name);
        if found.is_none() {
            let names = self.s.service_names();
            self.unknown(path, name, "service", "services", &names);
        }
        found
    }

    fn zone_ref(&mut self, path: &str, name: &str) -> bool {
        let names = self.s.zone_names();
        let found = names.contains(&name);
        if !found {
            self.unknown(path, name, "zone", "zones", &names);
        }
        found
    }

    // ---- sections ------------------------------------------------------------------

    fn metadata(&mut self) {
        let s = self.s;
        self.nonzero_duration("duration", s.duration, "duration");
        self.nonzero_duration("tick", s.tick, "tick");
        if s.tick > s.duration {
            self.error(
                K::OutOfRange,
                "tick",
                format!(
                    "the tick ({}) is longer than the game ({})",
                    s.tick, s.duration
                ),
                "longer than `duration`",
                None,
            );
        }
        if s.tick > SimDuration::ZERO && s.duration_ticks() > MAX_TICKS {
            self.error(
                K::OutOfRange,
                "tick",
                format!(
                    "the game would have {} ticks, more than the limit of {MAX_TICKS}",
                    s.duration_ticks()
                ),
                "too short for this duration",
                Some("use a longer tick or a shorter duration".to_owned()),
            );
        }
        self.positive("speed", s.speed, "speed");
        if let Some(freeze) = s.freeze_at
            && freeze > s.duration
        {
            self.warning(
                K::FreezeAfterEnd,
                "freeze_at",
                format!(
                    "the scoreboard freezes at {freeze}, after the game ends at {}",
                    s.duration
                ),
                "after the end of the game",
                Some(
                    "the freeze will never happen; move it before the end or remove it".to_owned(),
                ),
            );
        }
    }

    fn zones(&mut self) {
        let s = self.s;
        if s.zones.is_empty() {
            self.error(
                K::OutOfRange,
                "zones",
                "a scenario needs at least one zone".to_owned(),
                "empty",
                Some("leave `zones` out to get a single zone `main`".to_owned()),
            );
        }
        if s.zones.len() > MAX_ZONES {
            self.error(
                K::OutOfRange,
                "zones",
                format!(
                    "{} zones is more than the limit of {MAX_ZONES}",
                    s.zones.len()
                ),
                "too many zones",
                None,
            );
        }
        self.unique_names(
            s.zones
                .iter()
                .enumerate()
                .map(|(i, z)| (format!("zones[{i}].name"), z.name.as_str())),
            "zone",
        );
    }

    fn services(&mut self) {
        let s = self.s;
        if s.services.is_empty() {
            self.error(
                K::OutOfRange,
                "services",
                "a scenario needs at least one service".to_owned(),
                "empty",
                None,
            );
        }
        if s.services.len() > MAX_SERVICES {
            self.error(
                K::OutOfRange,
                "services",
                format!(
                    "{} services is more than the limit of {MAX_SERVICES}",
                    s.services.len()
                ),
                "too many services",
                None,
            );
        }
        self.unique_names(
            s.services
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("services[{i}].name"), v.name.as_str())),
            "service",
        );
        for (i, service) in s.services.iter().enumerate() {
            let p = format!("services[{i}]");
            for (j, zone) in service.zones.iter().enumerate() {
                self.zone_ref(&format!("{p}.zones[{j}]"), zone);
            }
            self.unique_entries(
                service
                    .zones
                    .iter()
                    .enumerate()
                    .map(|(j, z)| (format!("{p}.zones[{j}]"), z.as_str())),
                &format!("the zones of `{}`", service.name),
            );
            let instances = service.instances_per_zone;
            if instances == 0 || instances > MAX_INSTANCES_PER_ZONE {
                self.error(
                    K::OutOfRange,
                    &format!("{p}.instances_per_zone"),
                    format!(
                        "`instances_per_zone` must be between 1 and {MAX_INSTANCES_PER_ZONE}, found {instances}"
                    ),
                    "out of range",
                    None,
                );
            }
            self.positive(
                &format!("{p}.capacity_rps"),
                service.capacity_rps,
                "capacity_rps",
            );
            self.non_negative(
                &format!("{p}.base_latency_ms"),
                service.base_latency_ms,
                "base_latency_ms",
            );
            self.positive(&format!("{p}.memory_mb"), service.memory_mb, "memory_mb");
            self.positive(&format!("{p}.disk_gb"), service.disk_gb, "disk_gb");
            self.int_at_most(
                &format!("{p}.max_connections"),
                u64::from(service.max_connections),
                1,
                u64::from(MAX_CONNECTIONS),
                "max_connections",
            );
            self.non_negative(
                &format!("{p}.revenue_per_request"),
                service.revenue_per_request,
                "revenue_per_request",
            );
            let hc = &service.health_check;
            self.nonzero_duration(
                &format!("{p}.health_check.interval"),
                hc.interval,
                "health_check.interval",
            );
            self.int_at_most(
                &format!("{p}.health_check.failures"),
                u64::from(hc.failures),
                1,
                u64::from(MAX_PROBE_FAILURES),
                "health_check.failures",
            );
            self.positive(
                &format!("{p}.health_check.timeout_ms"),
                hc.timeout_ms,
                "health_check.timeout_ms",
            );
            if let Some(slo) = &service.slo {
                self.positive(
                    &format!("{p}.slo.latency_p99_ms"),
                    slo.latency_p99_ms,
                    "slo.latency_p99_ms",
                );
                self.percent(
                    &format!("{p}.slo.error_percent"),
                    slo.error_percent,
                    "slo.error_percent",
                );
            }
            for (j, dep) in service.dependencies.iter().enumerate() {
                let dp = format!("{p}.dependencies[{j}]");
                self.service_ref(&format!("{dp}.service"), &dep.service);
                self.non_negative(
                    &format!("{dp}.calls_per_request"),
                    dep.calls_per_request,
                    "calls_per_request",
                );
                if dep.calls_per_request > MAX_CALLS_PER_REQUEST {
                    self.error(
                        K::OutOfRange,
                        &format!("{dp}.calls_per_request"),
                        format!(
                            "`calls_per_request` must be at most {MAX_CALLS_PER_REQUEST}, found {}",
                            dep.calls_per_request
                        ),
                        "too many calls",
                        None,
                    );
                }
                self.int_at_most(
                    &format!("{dp}.pool_size"),
                    u64::from(dep.pool_size),
                    1,
                    u64::from(MAX_POOL_SIZE),
                    "pool_size",
                );
                self.int_at_most(
                    &format!("{dp}.retries"),
                    u64::from(dep.retries),
                    0,
                    u64::from(MAX_RETRIES),
                    "retries",
                );
                self.nonzero_duration(&format!("{dp}.timeout"), dep.timeout, "timeout");
                if let Some(breaker) = &dep.circuit_breaker {
                    self.nonzero_percent(
                        &format!("{dp}.circuit_breaker.error_percent"),
                        breaker.error_percent,
                        "circuit_breaker.error_percent",
                    );
                    self.nonzero_duration(
                        &format!("{dp}.circuit_breaker.open_for"),
                        breaker.open_for,
                        "circuit_breaker.open_for",
                    );
                }
            }
            self.unique_entries(
                service
                    .dependencies
                    .iter()
                    .enumerate()
                    .map(|(j, d)| (format!("{p}.dependencies[{j}].service"), d.service.as_str())),
                &format!("the dependencies of `{}`", service.name),
            );
        }
    }

    fn dependency_cycles(&mut self) {
        let s = self.s;
        let position: HashMap<&str, usize> = s
            .services
            .iter()
            .enumerate()
            .map(|(i, v)| (v.name.as_str(), i))
            .collect();
        // edges[i] = (j, index of the dependency in service i)
        let edges: Vec<Vec<(usize, usize)>> = s
            .services
            .iter()
            .map(|v| {
                v.dependencies
                    .iter()
                    .enumerate()
                    .filter_map(|(k, d)| position.get(d.service.as_str()).map(|&j| (j, k)))
                    .collect()
            })
            .collect();
        for cycle in find_cycles(&edges) {
            let names: Vec<&str> = cycle
                .iter()
                .map(|&(i, _)| s.services[i].name.as_str())
                .collect();
            let (last, dep) = cycle[cycle.len() - 1];
            let path = format!("services[{last}].dependencies[{dep}].service");
            let mut shown = names.join(" → ");
            shown.push_str(&format!(" → {}", names[0]));
            self.error(
                K::DependencyCycle,
                &path,
                format!("dependency cycle: {shown}"),
                "this dependency closes the cycle",
                Some("requests would loop forever; remove one of these dependencies".to_owned()),
            );
        }
    }

    fn traffic(&mut self) {
        let s = self.s;
        let t = &s.traffic;
        for (i, entry) in t.entry_points.iter().enumerate() {
            let p = format!("traffic.entry_points[{i}]");
            self.service_ref(&format!("{p}.service"), &entry.service);
            self.non_negative(&format!("{p}.rps"), entry.rps, "rps");
        }
        self.unique_entries(
            t.entry_points.iter().enumerate().map(|(i, e)| {
                (
                    format!("traffic.entry_points[{i}].service"),
                    e.service.as_str(),
                )
            }),
            "the entry points",
        );
        if !t.daily_curve.is_empty() && t.daily_curve.len() != HOURS_PER_DAY {
            self.error(
                K::OutOfRange,
                "traffic.daily_curve",
                format!(
                    "`daily_curve` needs one value per hour ({HOURS_PER_DAY}), found {}",
                    t.daily_curve.len()
                ),
                "wrong number of values",
                Some("give 24 multipliers, or leave it out for flat traffic".to_owned()),
            );
        }
        for (i, value) in t.daily_curve.iter().enumerate() {
            self.non_negative(
                &format!("traffic.daily_curve[{i}]"),
                *value,
                "daily_curve value",
            );
        }
        if t.start_hour as usize >= HOURS_PER_DAY {
            self.error(
                K::OutOfRange,
                "traffic.start_hour",
                format!(
                    "`start_hour` must be between 0 and 23, found {}",
                    t.start_hour
                ),
                "not an hour of the day",
                None,
            );
        }
        self.percent("traffic.noise_percent", t.noise_percent, "noise_percent");
        let entries = s.entry_point_names();
        for (i, ramp) in t.ramps.iter().enumerate() {
            let p = format!("traffic.ramps[{i}]");
            self.inside_game(&format!("{p}.start"), ramp.start, "a ramp starting", false);
            if ramp.end < ramp.start {
                self.error(
                    K::OutOfRange,
                    &format!("{p}.end"),
                    format!(
                        "the ramp ends ({}) before it starts ({})",
                        ramp.end, ramp.start
                    ),
                    "before `start`",
                    None,
                );
            }
            self.non_negative(&format!("{p}.factor"), ramp.factor, "factor");
            if let Some(name) = &ramp.service
                && !entries.contains(&name.as_str())
            {
                self.unknown(
                    &format!("{p}.service"),
                    name,
                    "entry point",
                    "entry points",
                    &entries,
                );
            }
        }
    }

    fn condition(&mut self, path: &str, condition: &Condition) {
        self.service_ref(&format!("{path}.service"), &condition.service);
        let end = self.s.duration;
        if condition.for_duration >= end {
            self.error(
                K::OutsideGame,
                &format!("{path}.for"),
                format!(
                    "the condition must hold for {}, but the game lasts {end}",
                    condition.for_duration
                ),
                "not shorter than the game",
                Some(format!("use a `for` shorter than {end}")),
            );
        }
        if !condition.threshold.is_finite() {
            self.error(
                K::OutOfRange,
                &format!("{path}.threshold"),
                format!(
                    "`threshold` must be a number, found {}",
                    condition.threshold
                ),
                "not a finite number",
                None,
            );
        }
    }

    fn alerts(&mut self) {
        let s = self.s;
        self.unique_names(
            s.alerts
                .iter()
                .enumerate()
                .map(|(i, a)| (format!("alerts[{i}].name"), a.name.as_str())),
            "alert",
        );
        for (i, alert) in s.alerts.iter().enumerate() {
            self.condition(&format!("alerts[{i}].when"), &alert.when);
        }
    }

    fn faults(&mut self) {
        let s = self.s;
        if s.faults.is_empty() {
            let span = self.index.get("faults");
            self.push(
                Diagnostic::warning(K::NoFaults, "the scenario has no faults")
                    .with_label(span, "nothing breaks")
                    .with_help("add faults to `faults`, or keep it as a quiet practice run"),
            );
        }
        if s.faults.len() > MAX_FAULTS {
            self.error(
                K::OutOfRange,
                "faults",
                format!(
                    "{} faults is more than the limit of {MAX_FAULTS}",
                    s.faults.len()
                ),
                "too many faults",
                None,
            );
        }
        self.unique_names(
            s.faults
                .iter()
                .enumerate()
                .map(|(i, f)| (format!("faults[{i}].name"), f.name.as_str())),
            "fault",
        );
        for (i, fault) in s.faults.iter().enumerate() {
            let p = format!("faults[{i}]");
            let ctx = FaultContext {
                class: fault.kind.class(),
                kind: &fault.kind,
            };
            self.fault_parameters(&format!("{p}.kind"), &fault.kind);
            let service = self.target(&format!("{p}.target"), &fault.target, ctx);
            self.trigger(&format!("{p}.trigger"), &fault.trigger, ctx);
            if let Some(duration) = fault.duration {
                self.nonzero_duration(&format!("{p}.duration"), duration, "duration");
            }
            self.remedies(&p, fault, service);
        }
    }

    fn fault_parameters(&mut self, p: &str, kind: &FaultKind) {
        match kind {
            FaultKind::BadDeploy { crash_every, .. } => {
                self.nonzero_duration(&format!("{p}.crash_every"), *crash_every, "crash_every");
            }
            FaultKind::MemoryLeak { mb_per_min } => {
                self.positive(&format!("{p}.mb_per_min"), *mb_per_min, "mb_per_min");
            }
            FaultKind::CpuSaturation { cpu_percent } => {
                self.nonzero_percent(&format!("{p}.cpu_percent"), *cpu_percent, "cpu_percent");
            }
            FaultKind::DependencyLatency { latency_ms } => {
                self.positive(&format!("{p}.latency_ms"), *latency_ms, "latency_ms");
            }
            FaultKind::PacketLoss { loss_percent } => {
                self.nonzero_percent(&format!("{p}.loss_percent"), *loss_percent, "loss_percent");
            }
            FaultKind::DiskFull { gb_per_min } => {
                self.positive(&format!("{p}.gb_per_min"), *gb_per_min, "gb_per_min");
            }
            FaultKind::BadConfig { error_percent, .. } => {
                self.percent(
                    &format!("{p}.error_percent"),
                    *error_percent,
                    "error_percent",
                );
            }
            FaultKind::BadFeatureFlag {
                error_percent,
                latency_ms,
                ..
            } => {
                self.percent(
                    &format!("{p}.error_percent"),
                    *error_percent,
                    "error_percent",
                );
                self.non_negative(&format!("{p}.latency_ms"), *latency_ms, "latency_ms");
            }
            FaultKind::CacheCold { hit_rate_percent } => {
                self.percent(
                    &format!("{p}.hit_rate_percent"),
                    *hit_rate_percent,
                    "hit_rate_percent",
                );
            }
            FaultKind::RetryStorm { factor, burst } => {
                self.positive(&format!("{p}.factor"), *factor, "factor");
                self.nonzero_duration(&format!("{p}.burst"), *burst, "burst");
            }
            FaultKind::TrafficSpike { factor, .. } => {
                self.positive(&format!("{p}.factor"), *factor, "factor");
            }
            FaultKind::ReplicaLag { lag_s_per_min } => {
                self.positive(
                    &format!("{p}.lag_s_per_min"),
                    *lag_s_per_min,
                    "lag_s_per_min",
                );
            }
            FaultKind::ClockSkew { skew_s } => {
                if !(skew_s.is_finite() && *skew_s != 0.0) {
                    self.error(
                        K::OutOfRange,
                        &format!("{p}.skew_s"),
                        format!("`skew_s` must be a non-zero number of seconds, found {skew_s}"),
                        "no skew",
                        None,
                    );
                }
            }
            FaultKind::NoisyNeighbor { steal_percent } => {
                self.nonzero_percent(
                    &format!("{p}.steal_percent"),
                    *steal_percent,
                    "steal_percent",
                );
            }
            FaultKind::QuotaExceeded { quota_rps } => {
                self.non_negative(&format!("{p}.quota_rps"), *quota_rps, "quota_rps");
            }
            FaultKind::Crash
            | FaultKind::ConnectionPoolExhausted { .. }
            | FaultKind::NetworkPartition { .. }
            | FaultKind::ZoneOutage
            | FaultKind::DnsFailure
            | FaultKind::CertificateExpired
            | FaultKind::TelemetryOutage => {}
        }
    }

    /// Checks a fault's target; returns the targeted service, if it is one.
    fn target(&mut self, p: &str, target: &Target, ctx: FaultContext<'_>) -> Option<&'a Service> {
        let class = ctx.class;
        let service_path;
        let service = match target {
            Target::Zone(zone) => {
                let zone_path = format!("{p}[0]");
                if !class.may_target_zone() {
                    self.error(
                        K::WrongTarget,
                        p,
                        format!("a `{class}` fault strikes a service, not a zone"),
                        "a zone",
                        Some(
                            "aim it at a service: `Service(\"name\")` or `Select(service: \"name\", pick: One)`"
                                .to_owned(),
                        ),
                    );
                }
                if self.zone_ref(&zone_path, zone) {
                    self.zone_fault_parameters(p, zone, ctx);
                }
                return None;
            }
            Target::Service(name) => {
                service_path = format!("{p}[0]");
                self.service_ref(&service_path, name)
            }
            Target::Instance(name, index) => {
                service_path = format!("{p}[0]");
                let service = self.service_ref(&service_path, name);
                if let Some(service) = service {
                    let count = self.s.instance_count(service);
                    if u64::from(*index) >= count {
                        self.error(
                            K::NeverMatches,
                            &format!("{p}[1]"),
                            format!(
                                "service `{name}` has {count} instance(s), so there is no instance {index}"
                            ),
                            "no such instance",
                            Some(format!("instances are numbered from 0 to {}", count.saturating_sub(1))),
                        );
                    }
                }
                service
            }
            Target::Select {
                service: name,
                pick,
                zone,
            } => {
                service_path = format!("{p}.service");
                let service = self.service_ref(&service_path, name);
                let mut available = service.map(|v| self.s.instance_count(v));
                if let Some(zone) = zone
                    && self.zone_ref(&format!("{p}.zone"), zone)
                    && let Some(service) = service
                {
                    if self.s.service_zones(service).contains(&zone.as_str()) {
                        available = Some(u64::from(service.instances_per_zone));
                    } else {
                        self.error(
                            K::NeverMatches,
                            &format!("{p}.zone"),
                            format!("service `{name}` does not run in zone `{zone}`"),
                            "no instances here",
                            Some(format!(
                                "`{name}` runs in: {}",
                                self.s.service_zones(service).join(", ")
                            )),
                        );
                        available = None;
                    }
                }
                self.pick(&format!("{p}.pick"), pick, available, name);
                service
            }
        };
        if !class.may_target_service() {
            self.error(
                K::WrongTarget,
                p,
                format!("a `{class}` fault strikes a zone, not a service"),
                "a service",
                Some("aim it at a zone: `Zone(\"name\")`".to_owned()),
            );
            return service;
        }
        if let Some(service) = service {
            self.service_fault_parameters(p, &service_path, service, ctx);
        }
        service
    }

    fn pick(&mut self, p: &str, pick: &Pick, available: Option<u64>, name: &str) {
        match pick {
            Pick::One | Pick::All => {}
            Pick::Count(n) => {
                if *n == 0 {
                    self.error(
                        K::NeverMatches,
                        &format!("{p}[0]"),
                        "`Count(0)` picks no instance".to_owned(),
                        "picks nothing",
                        Some("pick at least one instance".to_owned()),
                    );
                } else if let Some(available) = available
                    && u64::from(*n) > available
                {
                    self.error(
                        K::NeverMatches,
                        &format!("{p}[0]"),
                        format!(
                            "`Count({n})` asks for more instances than `{name}` has there ({available})"
                        ),
                        "too many",
                        Some(format!("pick at most {available}, or use `All`")),
                    );
                }
            }
            Pick::Percent(percent) => {
                if *percent == 0.0 {
                    self.error(
                        K::NeverMatches,
                        &format!("{p}[0]"),
                        "`Percent(0)` picks no instance".to_owned(),
                        "picks nothing",
                        Some("use a share between 1 and 100".to_owned()),
                    );
                } else {
                    self.percent(&format!("{p}[0]"), *percent, "Percent");
                }
            }
        }
    }

    /// Parameters of zone faults that name other zones.
    fn zone_fault_parameters(&mut self, p: &str, zone: &str, ctx: FaultContext<'_>) {
        if let FaultKind::NetworkPartition { from } = ctx.kind {
            let kind_path = kind_path(p);
            if self.s.zones.len() < 2 {
                self.error(
                    K::NeverMatches,
                    p,
                    "a network partition needs at least two zones".to_owned(),
                    "the only zone",
                    Some("add another zone to `zones`".to_owned()),
                );
            }
            for (j, other) in from.iter().enumerate() {
                let path = format!("{kind_path}.from[{j}]");
                if self.zone_ref(&path, other) && other == zone {
                    self.error(
                        K::NeverMatches,
                        &path,
                        format!("zone `{zone}` cannot be cut off from itself"),
                        "the partitioned zone",
                        None,
                    );
                }
            }
        }
    }

    /// Parameters that name something inside the targeted service, and kind requirements.
    fn service_fault_parameters(
        &mut self,
        p: &str,
        service_path: &str,
        service: &Service,
        ctx: FaultContext<'_>,
    ) {
        let class = ctx.class;
        let name = &service.name;
        if let Some(required) = class.required_service_kind()
            && service.kind != required
        {
            self.error(
                K::WrongTarget,
                service_path,
                format!(
                    "a `{class}` fault needs a service of kind `{required}`, but `{name}` is of kind `{}`",
                    service.kind
                ),
                "wrong kind of service",
                None,
            );
        }
        let kind_path = kind_path(p);
        match ctx.kind {
            FaultKind::TrafficSpike { .. }
                if !self.s.entry_point_names().contains(&name.as_str()) =>
            {
                self.error(
                    K::WrongTarget,
                    service_path,
                    format!("a traffic spike needs an entry point, and `{name}` is not one"),
                    "not an entry point",
                    Some(suggestion(name, "entry points", self.s.entry_point_names())),
                );
            }
            FaultKind::ConnectionPoolExhausted { dependency, .. } => {
                let deps: Vec<&str> = service
                    .dependencies
                    .iter()
                    .map(|d| d.service.as_str())
                    .collect();
                match dependency {
                    Some(dep) if !deps.contains(&dep.as_str()) => self.unknown_in(
                        &format!("{kind_path}.dependency"),
                        dep,
                        "dependency",
                        &format!("dependencies of `{name}`"),
                        &deps,
                        Some(name),
                    ),
                    None if deps.is_empty() => self.error(
                        K::WrongTarget,
                        service_path,
                        format!("`{name}` has no dependencies, so it has no pool to exhaust"),
                        "calls nothing",
                        Some("aim it at a caller".to_owned()),
                    ),
                    _ => {}
                }
            }
            FaultKind::BadConfig { key, .. } => {
                let keys: Vec<&str> = service.config.keys().map(String::as_str).collect();
                self.named_inside(&kind_path, "key", key.as_deref(), name, "config key", &keys);
            }
            FaultKind::BadFeatureFlag { flag, .. } => {
                let flags: Vec<&str> = service.flags.keys().map(String::as_str).collect();
                self.named_inside(
                    &kind_path,
                    "flag",
                    flag.as_deref(),
                    name,
                    "feature flag",
                    &flags,
                );
            }
            _ => {}
        }
    }

    /// A config key or flag named by a fault (or defaulted to the service's first one).
    fn named_inside(
        &mut self,
        kind_path: &str,
        field: &str,
        named: Option<&str>,
        service: &str,
        what: &str,
        known: &[&str],
    ) {
        match named {
            Some(name) if !known.contains(&name) => self.unknown_in(
                &format!("{kind_path}.{field}"),
                name,
                what,
                &format!("{what}s of `{service}`"),
                known,
                Some(service),
            ),
            None if known.is_empty() => self.error(
                K::UnknownReference,
                kind_path,
                format!("`{service}` has no {what} for this fault to break"),
                &format!("names no {what}"),
                Some(format!(
                    "define one on service `{service}`, or name it here with `{field}:`"
                )),
            ),
            _ => {}
        }
    }

    fn trigger(&mut self, p: &str, trigger: &Trigger, ctx: FaultContext<'_>) {
        let s = self.s;
        match trigger {
            Trigger::At(time) => {
                self.inside_game(&format!("{p}[0]"), *time, "a fault striking", false);
            }
            Trigger::After { fault, .. } => {
                if s.fault(fault).is_none() {
                    let names = s.fault_names();
                    self.unknown(&format!("{p}.fault"), fault, "fault", "faults", &names);
                }
            }
            Trigger::When(condition) => self.condition(&format!("{p}[0]"), condition),
            Trigger::Every {
                period,
                start,
                until,
            } => {
                self.nonzero_duration(&format!("{p}.period"), *period, "period");
                self.window(p, start.unwrap_or(*period), *start, *until);
            }
            Trigger::Random {
                mean,
                min_gap,
                targets,
                start,
                until,
            } => {
                self.nonzero_duration(&format!("{p}.mean"), *mean, "mean");
                if *min_gap >= s.duration {
                    self.error(
                        K::OutsideGame,
                        &format!("{p}.min_gap"),
                        format!(
                            "a minimum gap of {min_gap} leaves no room for a second firing in a {} game",
                            s.duration
                        ),
                        "longer than the game",
                        None,
                    );
                }
                self.window(p, start.unwrap_or(SimDuration::ZERO), *start, *until);
                for (k, target) in targets.iter().enumerate() {
                    self.target(&format!("{p}.targets[{k}]"), target, ctx);
                }
            }
        }
    }

    /// The `start` / `until` window of a repeating trigger.
    fn window(
        &mut self,
        p: &str,
        first: SimDuration,
        start: Option<SimDuration>,
        until: Option<SimDuration>,
    ) {
        let start_path = if start.is_some() {
            format!("{p}.start")
        } else {
            format!("{p}.period")
        };
        self.inside_game(&start_path, first, "the first firing", false);
        if let Some(until) = until {
            self.inside_game(&format!("{p}.until"), until, "`until`", true);
            if until < first {
                self.error(
                    K::OutOfRange,
                    &format!("{p}.until"),
                    format!("`until` ({until}) comes before the first firing ({first}), so it never fires"),
                    "before the first firing",
                    None,
                );
            }
        }
    }

    fn remedies(&mut self, p: &str, fault: &crate::Fault, service: Option<&Service>) {
        let lists = [
            ("resolves", &fault.resolves),
            ("mitigates", &fault.mitigates),
            ("worsens", &fault.worsens),
        ];
        self.conflicting_remedies(p, fault);
        if let Target::Zone(zone) = &fault.target {
            self.zone_remedies(p, zone, lists);
        }
        if let Some(service) = service {
            for (field, list) in lists {
                let Some(list) = list else { continue };
                for (k, action) in list.iter().enumerate() {
                    if !action.valid_for(service.kind) {
                        let kinds: Vec<&str> =
                            action.valid_kinds().iter().map(|k| k.name()).collect();
                        self.error(
                            K::InvalidAction,
                            &format!("{p}.{field}[{k}]"),
                            format!(
                                "`{action}` cannot be taken on `{}`, which is of kind `{}`",
                                service.name, service.kind
                            ),
                            &format!("not valid for kind `{}`", service.kind),
                            Some(format!("`{action}` is valid for: {}", kinds.join(", "))),
                        );
                    }
                }
            }
        }
        let resolves = fault.remedies().resolves;
        if resolves.is_empty() {
            self.warning(
                K::NoResolvingAction,
                &format!("{p}.resolves"),
                format!("no action resolves fault `{}`", fault.name),
                "empty",
                Some(
                    "teams can only wait for it to end; give it a `duration` or resolving actions"
                        .to_owned(),
                ),
            );
        } else if let Some(service) = service
            && !resolves.iter().any(|a| a.valid_for(service.kind))
            // A fault on the wrong kind of service is already an error.
            && fault
                .kind
                .class()
                .required_service_kind()
                .is_none_or(|kind| kind == service.kind)
        {
            let names: Vec<&str> = resolves.iter().map(|a| a.name()).collect();
            self.warning(
                K::NoResolvingAction,
                &format!("{p}.target"),
                format!(
                    "none of the actions that resolve fault `{}` ({}) can be taken on `{}`, which is of kind `{}`",
                    fault.name,
                    names.join(", "),
                    service.name,
                    service.kind
                ),
                "nothing resolves it here",
                Some("override `resolves` with actions valid for this kind of service".to_owned()),
            );
        } else if let Some(service) = service
            && fault.kind.class() != FaultClass::BadDeploy
            && service.rollback_versions.is_empty()
            && resolves.contains(&crate::ActionKind::Rollback)
            && resolves
                .iter()
                .filter(|a| a.valid_for(service.kind))
                .all(|a| *a == crate::ActionKind::Rollback)
        {
            // A bad deploy leaves the good version to roll back to; anything else needs one.
            self.warning(
                K::NoResolvingAction,
                &format!("{p}.target"),
                format!(
                    "fault `{}` is resolved only by `rollback`, but `{}` has no version to roll back to",
                    fault.name, service.name
                ),
                "nothing to roll back to",
                Some(format!(
                    "add `rollback_versions: [\"...\"]` to `{}`, or override `resolves`",
                    service.name
                )),
            );
        }
    }

    /// Remedies of a zone fault: zone actions, or actions valid for a service in the zone.
    fn zone_remedies(
        &mut self,
        p: &str,
        zone: &str,
        lists: [(&str, &Option<Vec<crate::ActionKind>>); 3],
    ) {
        let s = self.s;
        let kinds: Vec<crate::ServiceKind> = s
            .services
            .iter()
            .filter(|v| s.service_zones(v).contains(&zone))
            .map(|v| v.kind)
            .collect();
        for (field, list) in lists {
            let Some(list) = list else { continue };
            for (k, action) in list.iter().enumerate() {
                if !action.targets_zone() && !kinds.iter().any(|kind| action.valid_for(*kind)) {
                    let valid: Vec<&str> = action.valid_kinds().iter().map(|k| k.name()).collect();
                    self.error(
                        K::InvalidAction,
                        &format!("{p}.{field}[{k}]"),
                        format!("`{action}` cannot be taken on any service in zone `{zone}`"),
                        "no service here it is valid for",
                        Some(format!("`{action}` is valid for: {}", valid.join(", "))),
                    );
                }
            }
        }
    }

    /// An action in two of a fault's remedy lists (after overrides) contradicts itself.
    fn conflicting_remedies(&mut self, p: &str, fault: &crate::Fault) {
        let remedies = fault.remedies();
        let effective = [
            ("resolves", &remedies.resolves, fault.resolves.is_some()),
            ("mitigates", &remedies.mitigates, fault.mitigates.is_some()),
            ("worsens", &remedies.worsens, fault.worsens.is_some()),
        ];
        for (i, (first, first_list, first_written)) in effective.iter().enumerate() {
            for (second, second_list, second_written) in &effective[i + 1..] {
                for action in first_list.iter() {
                    let Some(k) = second_list.iter().position(|a| a == action) else {
                        continue;
                    };
                    // Point at a list the author wrote (the other may be a default).
                    let (path, other) = if *second_written {
                        (format!("{p}.{second}[{k}]"), first)
                    } else if *first_written {
                        let j = first_list.iter().position(|a| a == action).unwrap_or(0);
                        (format!("{p}.{first}[{j}]"), second)
                    } else {
                        (format!("{p}.kind"), second)
                    };
                    let defaulted = [(first, first_written), (second, second_written)]
                        .iter()
                        .filter(|(_, written)| !**written)
                        .map(|(name, _)| format!("`{name}`"))
                        .collect::<Vec<_>>();
                    let help = if defaulted.is_empty() {
                        "remove it from one of the lists".to_owned()
                    } else {
                        format!(
                            "{} still has the catalog's default; override it too, without `{action}`",
                            defaulted.join(" and ")
                        )
                    };
                    self.error(
                        K::ConflictingRemedies,
                        &path,
                        format!(
                            "`{action}` both {first} and {second} fault `{}`",
                            fault.name
                        ),
                        &format!("also in `{other}`"),
                        Some(help),
                    );
                }
            }
        }
    }

    fn trigger_cycles(&mut self) {
        let s = self.s;
        let position: HashMap<&str, usize> = s
            .faults
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name.as_str(), i))
            .collect();
        let edges: Vec<Vec<(usize, usize)>> = s
            .faults
            .iter()
            .map(|f| match &f.trigger {
                Trigger::After { fault, .. } => position
                    .get(fault.as_str())
                    .map(|&j| vec![(j, 0)])
                    .unwrap_or_default(),
                _ => Vec::new(),
            })
            .collect();
        for cycle in find_cycles(&edges) {
            let names: Vec<&str> = cycle
                .iter()
                .map(|&(i, _)| s.faults[i].name.as_str())
                .collect();
            let (last, _) = cycle[cycle.len() - 1];
            let mut shown = names.join(" → ");
            shown.push_str(&format!(" → {}", names[0]));
            self.error(
                K::TriggerCycle,
                &format!("faults[{last}].trigger.fault"),
                format!("`After` triggers wait for each other in a cycle: {shown}"),
                "this wait closes the cycle",
                Some(
                    "none of these faults can ever strike; start one of them with `At`".to_owned(),
                ),
            );
        }
    }

    fn decoys(&mut self) {
        let s = self.s;
        self.unique_names(
            s.decoys
                .iter()
                .enumerate()
                .map(|(i, d)| (format!("decoys[{i}].name"), d.name.as_str())),
            "decoy",
        );
        for (i, decoy) in s.decoys.iter().enumerate() {
            let p = format!("decoys[{i}]");
            self.service_ref(&format!("{p}.service"), &decoy.service);
            self.inside_game(&format!("{p}.at"), decoy.at, "a decoy firing", false);
            self.nonzero_duration(&format!("{p}.duration"), decoy.duration, "duration");
        }
    }

    fn hints(&mut self) {
        let s = self.s;
        for (i, hint) in s.hints.iter().enumerate() {
            let p = format!("hints[{i}]");
            if s.fault(&hint.fault).is_none() {
                let names = s.fault_names();
                self.unknown(
                    &format!("{p}.fault"),
                    &hint.fault,
                    "fault",
                    "faults",
                    &names,
                );
            }
            self.non_negative_points(&format!("{p}.cost"), hint.cost, "cost");
        }
    }

    fn scoring_and_customers(&mut self) {
        let s = self.s;
        let c = &s.customers;
        self.nonzero_duration(
            "customers.complaint_interval",
            c.complaint_interval,
            "complaint_interval",
        );
        let w = &s.scoring;
        self.int_at_most(
            "scoring.revenue_units_per_point",
            w.revenue_units_per_point,
            1,
            MAX_REVENUE_UNITS_PER_POINT,
            "revenue_units_per_point",
        );
        if w.floor_percent > 100 {
            self.error(
                K::OutOfRange,
                "scoring.floor_percent",
                format!(
                    "`floor_percent` is a percentage and must be between 0 and 100, found {}",
                    w.floor_percent
                ),
                "must be within 0–100",
                None,
            );
        }
        let points = [
            ("detection_points", w.detection_points),
            ("fix_points", w.fix_points),
            ("ahead_of_customer_points", w.ahead_of_customer_points),
            ("communication_points", w.communication_points),
            ("first_to_fix_points", w.first_to_fix_points),
            ("false_alarm_points", w.false_alarm_points),
            ("sla_penalty_points_per_min", w.sla_penalty_points_per_min),
        ];
        for (field, value) in points {
            self.non_negative_points(&format!("scoring.{field}"), value, field);
        }
    }

    fn announcements(&mut self) {
        let s = self.s;
        for (i, announcement) in s.announcements.iter().enumerate() {
            self.inside_game(
                &format!("announcements[{i}].at"),
                announcement.at,
                "an announcement",
                true,
            );
        }
    }

    fn reachability(&mut self) {
        let s = self.s;
        if s.services.is_empty() {
            return;
        }
        if s.traffic.entry_points.is_empty() {
            let span = self.index.get("traffic");
            self.push(
                Diagnostic::warning(K::Unreachable, "no traffic reaches any service")
                    .with_label(span, "no entry points")
                    .with_help(
                        "add entry points: `traffic: (entry_points: [(service: \"web\", rps: 100.0)])`",
                    ),
            );
            return;
        }
        let mut reached: HashSet<&str> = HashSet::new();
        let mut queue: Vec<&str> = s.entry_point_names();
        while let Some(name) = queue.pop() {
            if !reached.insert(name) {
                continue;
            }
            if let Some(service) = s.service(name) {
                queue.extend(service.dependencies.iter().map(|d| d.service.as_str()));
            }
        }
        for (i, service) in s.services.iter().enumerate() {
            if !reached.contains(service.name.as_str()) {
                self.warning(
                    K::Unreachable,
                    &format!("services[{i}].name"),
                    format!("no traffic reaches service `{}`", service.name),
                    "not called by any entry point or service",
                    Some(
                        "add it as a dependency of a service that gets traffic, or as an entry point"
                            .to_owned(),
                    ),
                );
            }
        }
    }
}

/// The path of the `kind` of the fault that `target_path` (`faults[3].target`,
/// `faults[3].trigger.targets[1]`) belongs to.
fn kind_path(target_path: &str) -> String {
    let fault = target_path.split('.').next().unwrap_or(target_path);
    format!("{fault}.kind")
}

/// Every elementary cycle found by a depth-first search, each reported once (by its set of
/// nodes). `edges[i]` lists `(target node, edge label)`; a cycle is returned as the nodes in
/// order, each with the label of the edge leaving it.
fn find_cycles(edges: &[Vec<(usize, usize)>]) -> Vec<Vec<(usize, usize)>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    let mut marks = vec![Mark::New; edges.len()];
    let mut seen: BTreeSet<Vec<usize>> = BTreeSet::new();
    let mut cycles = Vec::new();
    for root in 0..edges.len() {
        if marks[root] != Mark::New {
            continue;
        }
        // Iterative DFS: stack of (node, next edge position); `path` holds (node, label).
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        let mut path: Vec<(usize, usize)> = Vec::new();
        marks[root] = Mark::Active;
        while let Some(top) = stack.last_mut() {
            let node = top.0;
            let edge = edges[node].get(top.1).copied();
            top.1 += 1;
            if let Some((target, label)) = edge {
                match marks[target] {
                    Mark::New => {
                        path.push((node, label));
                        marks[target] = Mark::Active;
                        stack.push((target, 0));
                    }
                    Mark::Active => {
                        let from = path.iter().position(|&(n, _)| n == target);
                        let mut cycle: Vec<(usize, usize)> = match from {
                            Some(from) => path[from..].to_vec(),
                            None => Vec::new(),
                        };
                        cycle.push((node, label));
                        let mut key: Vec<usize> = cycle.iter().map(|&(n, _)| n).collect();
                        key.sort_unstable();
                        if seen.insert(key) {
                            cycles.push(cycle);
                        }
                    }
                    Mark::Done => {}
                }
            } else {
                marks[node] = Mark::Done;
                stack.pop();
                path.pop();
            }
        }
    }
    cycles
}

#[cfg(test)]
mod tests {
    use super::find_cycles;

    #[test]
    fn finds_each_cycle_once_with_its_closing_edge() {
        // 0 → 1 → 2 → 0, 3 → 3, 4 → 0
        let edges = vec![
            vec![(1, 0)],
            vec![(2, 0)],
            vec![(0, 5)],
            vec![(3, 1)],
            vec![(0, 0)],
        ];
        let cycles = find_cycles(&edges);
        assert_eq!(cycles, vec![vec![(0, 0), (1, 0), (2, 5)], vec![(3, 1)]]);
    }

    #[test]
    fn no_cycles_in_a_tree() {
        let edges = vec![vec![(1, 0), (2, 1)], vec![(2, 0)], vec![]];
        assert!(find_cycles(&edges).is_empty());
    }
}
