//! The shared fault schedule: every time-based injection (`At`, `After`, `Every`, `Random`) and
//! every selector's choice of instance or zone, drawn once from the scenario and its seed
//! before the game, identical for every team.
//!
//! Rules (also in the scenario docs):
//! - Times become ticks with [`SimDuration::to_ticks`] (rounding up). A firing at or after the
//!   end of the game (`scenario.duration`) does not happen.
//! - `At(t)` fires once at `t`.
//! - `After(fault: A, delay: d)` fires once, `d` after the **first** firing of `A`. If `A` never
//!   fires, neither does it; if `A` is conditional (`When`, or an `After` chain that leads to
//!   a `When`), it is conditional too and goes to [`FaultSchedule::conditional`]. A cycle or an
//!   unknown name (which the validating loader rejects) never fires.
//! - `Every(period, start, until)` fires at `start` (default: one period in), then every
//!   `period`, while the time is at most `until` (default: the end of the game).
//! - `Random(mean, min_gap, targets, start, until)` draws the gaps between firings from an
//!   exponential distribution of mean `mean`, each gap at least `min_gap` (and at least one
//!   tick), the first gap counted from `start` (default: 0); it stops after `until` (default:
//!   the end of the game). Each firing draws its target uniformly from `targets` (default: the
//!   fault's own target), then resolves that target's selector.
//! - Every fault fires at most [`MAX_FIRINGS_PER_FAULT`] times.
//! - Each fault draws from its own named stream (`"schedule/<fault name>"`, see
//!   [`named_stream`]), so adding or editing one fault does not change the draws of another.
//! - Incidents are sorted by (inject tick, fault index, firing number) and numbered densely in
//!   that order.
//!
//! Instance indexing: a service runs `instances_per_zone` instances in each of its zones (its
//! `zones` list, or every scenario zone when empty); instance `index` is
//! `zone_position * instances_per_zone + i` (see [`instance_zone`]).

use breakathon_scenario::{FaultClass, Pick, Scenario, Target, Trigger};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Most firings one fault entry may produce over a game (`Every` with a tiny period, or a
/// `Random` with a tiny mean, stop here).
pub const MAX_FIRINGS_PER_FAULT: usize = 1_000;

/// Prefix of the named random stream of each fault's schedule draws.
pub const SCHEDULE_STREAM_PREFIX: &str = "schedule/";

/// Identifies one incident of a game: dense, in schedule order (conditional ones after).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub struct IncidentId(pub u32);

impl std::fmt::Display for IncidentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// What a team must name when declaring an incident: its root-cause target.
///
/// In JSON `{"service": "x"}` or `{"zone": "a"}`, as teams write declarations (the
/// capitalised names of older records are still read).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RootTarget {
    /// A service.
    #[serde(rename = "service", alias = "Service")]
    Service(String),
    /// A zone (for zone-level faults).
    #[serde(rename = "zone", alias = "Zone")]
    Zone(String),
}

impl RootTarget {
    /// The service or zone name.
    pub fn name(&self) -> &str {
        match self {
            RootTarget::Service(name) | RootTarget::Zone(name) => name,
        }
    }
}

impl std::fmt::Display for RootTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RootTarget::Service(name) => write!(f, "service {name}"),
            RootTarget::Zone(name) => write!(f, "zone {name}"),
        }
    }
}

/// One instance of a service, by its index (see the module docs for the indexing).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct InstanceRef {
    /// The service.
    pub service: String,
    /// Index in the service's instance list.
    pub index: u32,
}

impl std::fmt::Display for InstanceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}[{}]", self.service, self.index)
    }
}

/// One firing of one fault entry, decided before the game.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScheduledIncident {
    /// Its id (dense, in schedule order).
    pub id: IncidentId,
    /// Index of the fault entry in `scenario.faults`.
    pub fault_index: usize,
    /// The fault entry's name.
    pub fault_name: String,
    /// The class a team declares.
    pub class: FaultClass,
    /// The root-cause target a team declares.
    pub root: RootTarget,
    /// Tick at which it is injected.
    pub inject_tick: u64,
    /// Tick at which the fault ends by itself (`inject + duration`), `None` = until fixed.
    pub end_tick: Option<u64>,
    /// The selector's choice of instances, sorted; empty = the whole service or zone.
    pub instances: Vec<InstanceRef>,
}

/// The shared fault schedule of a game.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultSchedule {
    /// Every `At` / `After` / `Every` / `Random` firing, sorted by (inject tick, id).
    pub incidents: Vec<ScheduledIncident>,
    /// Indices (into `scenario.faults`, ascending) of the faults that fire per world: `When`
    /// triggers and `After` chains that wait for one. The k-th gets incident id
    /// `incidents.len() + k` when it fires.
    pub conditional: Vec<usize>,
}

impl FaultSchedule {
    /// Computes the schedule of `scenario` with `seed` (normally `scenario.seed`, or an
    /// override from the command line).
    pub fn compute(scenario: &Scenario, seed: u64) -> FaultSchedule {
        let end_tick = scenario.duration.to_ticks(scenario.tick);
        let mut resolver = Resolver {
            scenario,
            seed,
            end_tick,
            state: vec![FaultState::Unvisited; scenario.faults.len()],
        };
        let mut firings: Vec<(usize, usize, Draw)> = Vec::new();
        let mut conditional = Vec::new();
        for index in 0..scenario.faults.len() {
            match resolver.resolve(index) {
                Resolved::Conditional => conditional.push(index),
                Resolved::Fires(draws) => {
                    firings.extend(draws.into_iter().enumerate().map(|(n, d)| (index, n, d)));
                }
                Resolved::Never => {}
            }
        }
        firings.sort_by_key(|(index, n, draw)| (draw.tick, *index, *n));
        let incidents = firings
            .into_iter()
            .zip(0u32..)
            .map(|((index, _, draw), id)| {
                let fault = &scenario.faults[index];
                let tick = draw.tick;
                ScheduledIncident {
                    id: IncidentId(id),
                    fault_index: index,
                    fault_name: fault.name.clone(),
                    class: fault.kind.class(),
                    root: draw.root,
                    inject_tick: tick,
                    end_tick: fault
                        .duration
                        .map(|d| tick.saturating_add(d.to_ticks(scenario.tick))),
                    instances: draw.instances,
                }
            })
            .collect();
        FaultSchedule {
            incidents,
            conditional,
        }
    }

    /// The incidents injected at `tick`, in id order.
    pub fn injected_at(&self, tick: u64) -> &[ScheduledIncident] {
        let start = self.incidents.partition_point(|i| i.inject_tick < tick);
        let end = self.incidents.partition_point(|i| i.inject_tick <= tick);
        &self.incidents[start..end]
    }

    /// The incident id the conditional fault `fault_index` gets when it fires, if it is one.
    pub fn conditional_id(&self, fault_index: usize) -> Option<IncidentId> {
        let k = self.conditional.iter().position(|&f| f == fault_index)?;
        u32::try_from(self.incidents.len() + k).ok().map(IncidentId)
    }

    /// The incident with `id`, if it is a scheduled one.
    pub fn get(&self, id: IncidentId) -> Option<&ScheduledIncident> {
        self.incidents.get(usize::try_from(id.0).ok()?)
    }
}

/// A random stream named `name` derived from the game's `seed`: the same pair always gives the
/// same stream, different names give independent streams.
pub fn named_stream(seed: u64, name: &str) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(stream_seed(seed, name))
}

/// The 64-bit seed of stream `name` (FNV-1a of the name, mixed with the game seed by
/// SplitMix64; stable across platforms and Rust versions, unlike `std`'s hashers).
pub fn stream_seed(seed: u64, name: &str) -> u64 {
    const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = FNV_OFFSET;
    for byte in name.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    splitmix64(seed ^ splitmix64(hash))
}

/// One round of SplitMix64, a good 64-bit mixer.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The zones a service runs in: its own list, or every scenario zone when empty.
pub fn service_zones<'a>(scenario: &'a Scenario, service: &str) -> Vec<&'a str> {
    let Some(svc) = scenario.services.iter().find(|s| s.name == service) else {
        return Vec::new();
    };
    if svc.zones.is_empty() {
        scenario.zones.iter().map(|z| z.name.as_str()).collect()
    } else {
        svc.zones.iter().map(String::as_str).collect()
    }
}

/// The zone of instance `index` of `service` at the start of the game, if it exists.
pub fn instance_zone<'a>(scenario: &'a Scenario, service: &str, index: u32) -> Option<&'a str> {
    let per_zone = scenario
        .services
        .iter()
        .find(|s| s.name == service)?
        .instances_per_zone;
    if per_zone == 0 {
        return None;
    }
    let position = usize::try_from(index / per_zone).ok()?;
    service_zones(scenario, service).get(position).copied()
}

/// The instance indices of `service` at the start, optionally only those in `zone`.
fn instance_indices(scenario: &Scenario, service: &str, zone: Option<&str>) -> Vec<u32> {
    let Some(svc) = scenario.services.iter().find(|s| s.name == service) else {
        return Vec::new();
    };
    let per_zone = svc.instances_per_zone;
    let mut indices = Vec::new();
    for (position, name) in service_zones(scenario, service).into_iter().enumerate() {
        if zone.is_some_and(|z| z != name) {
            continue;
        }
        let Ok(position) = u32::try_from(position) else {
            break;
        };
        let first = position.saturating_mul(per_zone);
        indices.extend((0..per_zone).map(|i| first.saturating_add(i)));
    }
    indices
}

/// One firing: when, and the resolved target.
#[derive(Clone, Debug)]
struct Draw {
    tick: u64,
    root: RootTarget,
    instances: Vec<InstanceRef>,
}

/// What a fault's trigger resolves to.
#[derive(Clone, Debug)]
enum Resolved {
    /// Fires at these times (possibly none inside the game).
    Fires(Vec<Draw>),
    /// Fires per world (a `When`, or an `After` that waits for one).
    Conditional,
    /// Never fires (unknown reference or a cycle).
    Never,
}

/// Memo of the trigger resolution, to follow `After` chains once and catch cycles.
#[derive(Clone, Debug)]
enum FaultState {
    Unvisited,
    InProgress,
    Done(Resolved),
}

/// Resolves triggers fault by fault, following `After` chains.
struct Resolver<'a> {
    scenario: &'a Scenario,
    seed: u64,
    end_tick: u64,
    state: Vec<FaultState>,
}

impl Resolver<'_> {
    fn resolve(&mut self, index: usize) -> Resolved {
        match &self.state[index] {
            FaultState::Done(resolved) => return resolved.clone(),
            FaultState::InProgress => return Resolved::Never,
            FaultState::Unvisited => {}
        }
        self.state[index] = FaultState::InProgress;
        let resolved = self.compute(index);
        self.state[index] = FaultState::Done(resolved.clone());
        resolved
    }

    fn ticks(&self, duration: breakathon_scenario::SimDuration) -> u64 {
        duration.to_ticks(self.scenario.tick)
    }

    fn compute(&mut self, index: usize) -> Resolved {
        let scenario = self.scenario;
        let fault = &scenario.faults[index];
        let class = fault.kind.class();
        let mut rng = named_stream(
            self.seed,
            &format!("{SCHEDULE_STREAM_PREFIX}{}", fault.name),
        );
        let mut times: Vec<u64> = Vec::new();
        let mut random_targets: Option<&[Target]> = None;
        match &fault.trigger {
            Trigger::At(at) => times.push(self.ticks(*at)),
            Trigger::When(_) => return Resolved::Conditional,
            Trigger::After {
                fault: other,
                delay,
            } => {
                let Some(other_index) = scenario.faults.iter().position(|f| &f.name == other)
                else {
                    return Resolved::Never;
                };
                match self.resolve(other_index) {
                    Resolved::Conditional => return Resolved::Conditional,
                    Resolved::Never => return Resolved::Never,
                    Resolved::Fires(draws) => {
                        if let Some(first) = draws.first() {
                            times.push(first.tick.saturating_add(self.ticks(*delay)));
                        }
                    }
                }
            }
            Trigger::Every {
                period,
                start,
                until,
            } => {
                let period_ticks = self.ticks(*period).max(1);
                let mut t = start.map_or(period_ticks, |s| self.ticks(s));
                let until_tick = until.map_or(self.end_tick, |u| self.ticks(u));
                while t <= until_tick && t < self.end_tick && times.len() < MAX_FIRINGS_PER_FAULT {
                    times.push(t);
                    t = t.saturating_add(period_ticks);
                }
            }
            Trigger::Random {
                mean,
                min_gap,
                targets,
                start,
                until,
            } => {
                let mean_ticks = if scenario.tick.as_millis() == 0 {
                    0.0
                } else {
                    mean.as_millis() as f64 / scenario.tick.as_millis() as f64
                };
                let min_gap_ticks = self.ticks(*min_gap).max(1);
                let until_tick = until.map_or(self.end_tick, |u| self.ticks(u));
                let mut t = start.map_or(0, |s| self.ticks(s));
                loop {
                    let u: f64 = rng.random();
                    let gap = (-mean_ticks * (1.0 - u).ln()).ceil();
                    // `as` saturates: a huge or non-finite gap ends the firings.
                    let gap_ticks = (gap as u64).max(min_gap_ticks);
                    t = t.saturating_add(gap_ticks);
                    if t > until_tick || t >= self.end_tick || times.len() >= MAX_FIRINGS_PER_FAULT
                    {
                        break;
                    }
                    times.push(t);
                }
                if !targets.is_empty() {
                    random_targets = Some(targets);
                }
            }
        }
        let mut draws = Vec::with_capacity(times.len());
        for tick in times {
            if tick >= self.end_tick || draws.len() >= MAX_FIRINGS_PER_FAULT {
                continue;
            }
            let target = match random_targets {
                Some(candidates) => &candidates[rng.random_range(0..candidates.len())],
                None => &fault.target,
            };
            let (root, instances) = resolve_target(scenario, target, class, &mut rng);
            draws.push(Draw {
                tick,
                root,
                instances,
            });
        }
        Resolved::Fires(draws)
    }
}

/// Resolves a target (drawing a selector's choice from `rng`) into the root-cause target and
/// the chosen instances.
///
/// The root is the zone for a `Zone` target or a zone-level fault class (the zone of the first
/// chosen instance, or the service's first zone), otherwise the service.
fn resolve_target(
    scenario: &Scenario,
    target: &Target,
    class: FaultClass,
    rng: &mut ChaCha8Rng,
) -> (RootTarget, Vec<InstanceRef>) {
    let (service, instances) = match target {
        Target::Zone(zone) => return (RootTarget::Zone(zone.clone()), Vec::new()),
        Target::Service(service) => (service, Vec::new()),
        Target::Instance(service, index) => (
            service,
            vec![InstanceRef {
                service: service.clone(),
                index: *index,
            }],
        ),
        Target::Select {
            service,
            pick,
            zone,
        } => {
            let mut candidates = instance_indices(scenario, service, zone.as_deref());
            let wanted = match pick {
                Pick::One => 1,
                Pick::All => candidates.len(),
                Pick::Count(n) => usize::try_from(*n).unwrap_or(usize::MAX),
                Pick::Percent(p) => {
                    let share = (candidates.len() as f64 * p.clamp(0.0, 100.0) / 100.0).ceil();
                    (share as usize).max(1)
                }
            }
            .min(candidates.len());
            // Partial Fisher–Yates: the first `wanted` slots become a uniform sample.
            for slot in 0..wanted {
                let other = rng.random_range(slot..candidates.len());
                candidates.swap(slot, other);
            }
            candidates.truncate(wanted);
            candidates.sort_unstable();
            let chosen = candidates
                .into_iter()
                .map(|index| InstanceRef {
                    service: service.clone(),
                    index,
                })
                .collect();
            (service, chosen)
        }
    };
    let root = if class.targets_zone() {
        let zone = instances
            .first()
            .and_then(|i| instance_zone(scenario, &i.service, i.index))
            .or_else(|| service_zones(scenario, service).first().copied())
            .unwrap_or_default();
        RootTarget::Zone(zone.to_owned())
    } else {
        RootTarget::Service(service.clone())
    };
    (root, instances)
}

#[cfg(test)]
mod tests {
    use super::*;
    use breakathon_scenario::{Fault, FaultKind, Scenario, SimDuration};

    fn scenario_with(faults: Vec<Fault>) -> Scenario {
        let text = r#"(
            title: "schedule test",
            duration: "4h",
            seed: 7,
            zones: [(name: "a"), (name: "b"), (name: "c")],
            services: [
                (name: "web", kind: frontend, instances_per_zone: 2, customer_facing: true,
                 dependencies: [(service: "db")]),
                (name: "db", kind: database, instances_per_zone: 1, zones: ["b", "c"]),
            ],
            traffic: (entry_points: [(service: "web", rps: 50.0)]),
        )"#;
        let mut scenario = breakathon_scenario::parse_unchecked(text).expect("test scenario");
        scenario.faults = faults;
        scenario
    }

    fn fault(name: &str, kind: FaultKind, target: Target, trigger: Trigger) -> Fault {
        Fault {
            name: name.to_owned(),
            kind,
            target,
            trigger,
            duration: None,
            resolves: None,
            mitigates: None,
            worsens: None,
        }
    }

    fn mins(m: u64) -> SimDuration {
        SimDuration::from_mins(m)
    }

    fn chaos(mean_m: u64, gap_m: u64) -> Fault {
        fault(
            "monkey",
            FaultKind::Crash,
            Target::Select {
                service: "web".into(),
                pick: Pick::One,
                zone: None,
            },
            Trigger::Random {
                mean: mins(mean_m),
                min_gap: mins(gap_m),
                targets: Vec::new(),
                start: None,
                until: None,
            },
        )
    }

    #[test]
    fn same_seed_gives_the_same_schedule() {
        let scenario = scenario_with(vec![chaos(10, 2)]);
        let a = FaultSchedule::compute(&scenario, 1);
        let b = FaultSchedule::compute(&scenario, 1);
        assert_eq!(a, b);
        assert!(a.incidents.len() > 5, "{}", a.incidents.len());
    }

    #[test]
    fn different_seeds_give_different_random_schedules() {
        let scenario = scenario_with(vec![chaos(10, 2)]);
        let ticks = |seed| -> Vec<u64> {
            FaultSchedule::compute(&scenario, seed)
                .incidents
                .iter()
                .map(|i| i.inject_tick)
                .collect()
        };
        assert_ne!(ticks(1), ticks(2));
        assert_ne!(ticks(2), ticks(3));
    }

    #[test]
    fn random_mean_is_roughly_respected() {
        let scenario = scenario_with(vec![chaos(10, 0)]);
        // 4 h at a 10 min mean: ~24 firings per seed; average over seeds.
        let total: usize = (0..50)
            .map(|seed| FaultSchedule::compute(&scenario, seed).incidents.len())
            .sum();
        let mean = total as f64 / 50.0;
        assert!((18.0..30.0).contains(&mean), "mean firings {mean}");
    }

    #[test]
    fn every_fires_at_start_then_each_period_until() {
        let scenario = scenario_with(vec![
            fault(
                "tick",
                FaultKind::Crash,
                Target::Service("web".into()),
                Trigger::Every {
                    period: mins(30),
                    start: None,
                    until: None,
                },
            ),
            fault(
                "bounded",
                FaultKind::Crash,
                Target::Service("db".into()),
                Trigger::Every {
                    period: mins(10),
                    start: Some(mins(5)),
                    until: Some(mins(45)),
                },
            ),
        ]);
        let schedule = FaultSchedule::compute(&scenario, 0);
        let of = |index| -> Vec<u64> {
            schedule
                .incidents
                .iter()
                .filter(|i| i.fault_index == index)
                .map(|i| i.inject_tick / 60)
                .collect()
        };
        // 30, 60, ..., 210 minutes: the firing at 240 min is the end of the game.
        assert_eq!(of(0), vec![30, 60, 90, 120, 150, 180, 210]);
        assert_eq!(of(1), vec![5, 15, 25, 35, 45]);
    }

    #[test]
    fn firings_are_capped() {
        let scenario = scenario_with(vec![fault(
            "storm",
            FaultKind::Crash,
            Target::Service("web".into()),
            Trigger::Every {
                period: SimDuration::from_secs(1),
                start: None,
                until: None,
            },
        )]);
        let schedule = FaultSchedule::compute(&scenario, 0);
        assert_eq!(schedule.incidents.len(), MAX_FIRINGS_PER_FAULT);
    }

    #[test]
    fn after_fires_delay_after_the_first_firing_and_chains() {
        let scenario = scenario_with(vec![
            fault(
                "c",
                FaultKind::Crash,
                Target::Service("db".into()),
                Trigger::After {
                    fault: "b".into(),
                    delay: mins(1),
                },
            ),
            fault(
                "a",
                FaultKind::Crash,
                Target::Service("web".into()),
                Trigger::Every {
                    period: mins(20),
                    start: Some(mins(10)),
                    until: None,
                },
            ),
            fault(
                "b",
                FaultKind::Crash,
                Target::Service("db".into()),
                Trigger::After {
                    fault: "a".into(),
                    delay: mins(5),
                },
            ),
            fault(
                "w",
                FaultKind::Crash,
                Target::Service("db".into()),
                Trigger::When(breakathon_scenario::Condition {
                    metric: breakathon_scenario::Metric::CpuPercent,
                    service: "db".into(),
                    op: breakathon_scenario::Comparison::Above,
                    threshold: 90.0,
                    for_duration: mins(5),
                }),
            ),
            fault(
                "after-w",
                FaultKind::Crash,
                Target::Service("db".into()),
                Trigger::After {
                    fault: "w".into(),
                    delay: mins(5),
                },
            ),
            fault(
                "loop1",
                FaultKind::Crash,
                Target::Service("db".into()),
                Trigger::After {
                    fault: "loop2".into(),
                    delay: mins(5),
                },
            ),
            fault(
                "loop2",
                FaultKind::Crash,
                Target::Service("db".into()),
                Trigger::After {
                    fault: "loop1".into(),
                    delay: mins(5),
                },
            ),
        ]);
        let schedule = FaultSchedule::compute(&scenario, 0);
        let first = |name: &str| {
            schedule
                .incidents
                .iter()
                .filter(|i| i.fault_name == name)
                .map(|i| i.inject_tick)
                .collect::<Vec<_>>()
        };
        assert_eq!(first("b"), vec![15 * 60]);
        assert_eq!(first("c"), vec![16 * 60]);
        assert!(first("loop1").is_empty() && first("loop2").is_empty());
        assert_eq!(schedule.conditional, vec![3, 4]);
        let n = schedule.incidents.len() as u32;
        assert_eq!(schedule.conditional_id(4), Some(IncidentId(n + 1)));
        // Sorted by tick, ids dense in that order.
        for (k, incident) in schedule.incidents.iter().enumerate() {
            assert_eq!(incident.id, IncidentId(k as u32));
        }
        assert!(
            schedule
                .incidents
                .windows(2)
                .all(|w| w[0].inject_tick <= w[1].inject_tick)
        );
    }

    #[test]
    fn faults_at_or_after_the_end_never_fire_and_durations_set_end_ticks() {
        let mut late = fault(
            "late",
            FaultKind::Crash,
            Target::Service("web".into()),
            Trigger::At(mins(240)),
        );
        late.duration = Some(mins(1));
        let mut early = late.clone();
        early.name = "early".into();
        early.trigger = Trigger::At(mins(3));
        let schedule = FaultSchedule::compute(&scenario_with(vec![late, early]), 0);
        assert_eq!(schedule.incidents.len(), 1);
        assert_eq!(schedule.incidents[0].inject_tick, 180);
        assert_eq!(schedule.incidents[0].end_tick, Some(240));
        assert_eq!(schedule.injected_at(180).len(), 1);
        assert!(schedule.injected_at(181).is_empty());
    }

    #[test]
    fn selectors_pick_within_the_service_and_zone() {
        let select = |pick, zone: Option<&str>| {
            fault(
                "sel",
                FaultKind::Crash,
                Target::Select {
                    service: "web".into(),
                    pick,
                    zone: zone.map(str::to_owned),
                },
                Trigger::At(mins(1)),
            )
        };
        let pick = |f| {
            FaultSchedule::compute(&scenario_with(vec![f]), 3).incidents[0]
                .instances
                .iter()
                .map(|i| i.index)
                .collect::<Vec<_>>()
        };
        // web: 2 per zone in a, b, c -> indices 0..6; zone b holds 2 and 3.
        assert_eq!(pick(select(Pick::All, None)), vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(pick(select(Pick::All, Some("b"))), vec![2, 3]);
        assert_eq!(pick(select(Pick::Count(4), None)).len(), 4);
        assert_eq!(pick(select(Pick::Count(40), None)).len(), 6);
        assert_eq!(pick(select(Pick::Percent(50.0), None)).len(), 3);
        assert_eq!(pick(select(Pick::Percent(1.0), None)).len(), 1);
        let one = pick(select(Pick::One, Some("c")));
        assert!(one == vec![4] || one == vec![5], "{one:?}");
        // db runs in b and c only: instance 1 is in c.
        let scenario = scenario_with(vec![]);
        assert_eq!(instance_zone(&scenario, "db", 1), Some("c"));
        assert_eq!(instance_zone(&scenario, "db", 2), None);
        assert_eq!(instance_zone(&scenario, "web", 5), Some("c"));
    }

    #[test]
    fn zone_class_faults_are_rooted_in_a_zone() {
        let scenario = scenario_with(vec![
            fault(
                "outage",
                FaultKind::ZoneOutage,
                Target::Zone("b".into()),
                Trigger::At(mins(1)),
            ),
            fault(
                "neighbour",
                FaultKind::NoisyNeighbor {
                    steal_percent: 40.0,
                },
                Target::Instance("db".into(), 1),
                Trigger::At(mins(2)),
            ),
            fault(
                "crash",
                FaultKind::Crash,
                Target::Instance("db".into(), 1),
                Trigger::At(mins(3)),
            ),
        ]);
        let schedule = FaultSchedule::compute(&scenario, 0);
        let roots: Vec<_> = schedule.incidents.iter().map(|i| i.root.clone()).collect();
        assert_eq!(
            roots,
            vec![
                RootTarget::Zone("b".into()),
                RootTarget::Zone("c".into()),
                RootTarget::Service("db".into()),
            ]
        );
    }

    #[test]
    fn random_draws_a_target_per_firing() {
        let mut monkey = chaos(5, 1);
        monkey.trigger = Trigger::Random {
            mean: mins(5),
            min_gap: mins(1),
            targets: vec![Target::Service("web".into()), Target::Service("db".into())],
            start: Some(mins(30)),
            until: Some(mins(120)),
        };
        let schedule = FaultSchedule::compute(&scenario_with(vec![monkey]), 11);
        let roots: std::collections::BTreeSet<_> =
            schedule.incidents.iter().map(|i| i.root.name()).collect();
        assert_eq!(roots.len(), 2);
        assert!(
            schedule
                .incidents
                .iter()
                .all(|i| (30 * 60..=120 * 60).contains(&i.inject_tick))
        );
    }

    #[test]
    fn one_fault_does_not_shift_another_faults_draws() {
        let alone = scenario_with(vec![chaos(10, 2)]);
        let mut with_other = alone.clone();
        with_other.faults.insert(
            0,
            fault(
                "other",
                FaultKind::Crash,
                Target::Select {
                    service: "db".into(),
                    pick: Pick::One,
                    zone: None,
                },
                Trigger::At(mins(1)),
            ),
        );
        let ticks = |s: &Scenario| -> Vec<(u64, Vec<InstanceRef>)> {
            FaultSchedule::compute(s, 5)
                .incidents
                .into_iter()
                .filter(|i| i.fault_name == "monkey")
                .map(|i| (i.inject_tick, i.instances))
                .collect()
        };
        assert_eq!(ticks(&alone), ticks(&with_other));
    }

    #[test]
    fn streams_differ_by_name_and_seed() {
        assert_ne!(stream_seed(1, "schedule"), stream_seed(1, "traffic"));
        assert_ne!(stream_seed(1, "schedule"), stream_seed(2, "schedule"));
        assert_eq!(stream_seed(9, "x"), stream_seed(9, "x"));
    }

    proptest::proptest! {
        #[test]
        fn random_firings_respect_min_gap(seed in proptest::prelude::any::<u64>(), mean_m in 1u64..30, gap_m in 0u64..10) {
            let scenario = scenario_with(vec![chaos(mean_m, gap_m)]);
            let schedule = FaultSchedule::compute(&scenario, seed);
            let gap_ticks = (gap_m * 60).max(1);
            for pair in schedule.incidents.windows(2) {
                proptest::prop_assert!(pair[1].inject_tick - pair[0].inject_tick >= gap_ticks);
            }
            for incident in &schedule.incidents {
                proptest::prop_assert!(incident.inject_tick < 4 * 3600);
                proptest::prop_assert_eq!(incident.instances.len(), 1);
                proptest::prop_assert!(incident.instances[0].index < 6);
            }
        }
    }
}
