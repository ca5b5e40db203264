//! Dry run: simulate a whole scenario as fast as possible with nobody acting (or with a
//! scripted list of actions) and report the fault timeline and the impact each incident
//! would have if nobody reacted.
//!
//! Method (also printed under the report, see [`ATTRIBUTION_METHOD`]): the scenario runs twice
//! in lockstep from the same seed — once with its faults, once without any fault and with
//! nobody acting (the baseline). Every tick, the difference between the two (requests failed
//! on customer-facing services, revenue, and customer-facing SLO breaches that the baseline
//! does not have) is split equally among the incidents open at that tick (injected, neither
//! resolved nor expired) whose root target is unhealthy at that tick — or among all open ones
//! when every root target looks healthy. Whatever differs while no incident is open
//! (after-effects, or the effect of scripted actions) is reported as unattributed.

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, SyncSender};

use breakathon_scenario::{ActionKind, FaultClass, Scenario, SimDuration};
use serde::{Deserialize, Serialize};

use crate::{
    Action, ActionError, ActionParams, FaultSchedule, IncidentId, InstanceRef, RootTarget,
    SimError, Simulation,
};

/// Most scripted actions a dry run accepts.
pub const MAX_SCRIPTED_ACTIONS: usize = 10_000;

/// How often (in ticks) the progress callback is called.
pub const PROGRESS_EVERY_TICKS: u64 = 600;

/// How impact is attributed to incidents; printed under every report.
pub const ATTRIBUTION_METHOD: &str = "Impact is measured against a baseline: the same scenario \
and seed simulated in lockstep with no faults and nobody acting. Each tick, the extra requests \
failed on customer-facing services, the revenue not earned and the customer-facing SLO breaches \
the baseline does not have are split equally among the incidents open at that tick (injected, \
neither resolved nor expired) whose root target is unhealthy then (its health checks or the \
fault's own symptom check fail), or among all open incidents if none is. Differences while no \
incident is open are unattributed. Error-minutes count minutes of breached customer-facing SLO, \
per service. Negative revenue lost is revenue gained (a traffic spike served well).";

/// One action of a dry-run script: when, and what.
///
/// Written in RON as `(at: "5m", action: (kind: restart_instance, service: "web", instance: 0))`
/// or `(tick: 300, action: ...)`; in JSON as
/// `{"at": "5m", "action": {"kind": "restart_instance", "service": "web", "instance": 0}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedAction {
    /// The tick at whose start the action takes effect (give this or `at`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tick: Option<u64>,
    /// The simulated time, from the start, at which the action takes effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<SimDuration>,
    /// The action.
    pub action: ScriptedActionSpec,
}

/// An action as written in a script: its kind, target and parameters, all flat.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedActionSpec {
    /// What to do.
    pub kind: ActionKind,
    /// The service acted on.
    #[serde(default)]
    pub service: Option<String>,
    /// The instance acted on.
    #[serde(default)]
    pub instance: Option<u32>,
    /// The zone acted on.
    #[serde(default)]
    pub zone: Option<String>,
    /// How many (scale out / in).
    #[serde(default)]
    pub count: Option<u32>,
    /// Version (rollback / roll forward).
    #[serde(default)]
    pub version: Option<String>,
    /// Config key.
    #[serde(default)]
    pub key: Option<String>,
    /// Config value.
    #[serde(default)]
    pub value: Option<String>,
    /// Feature flag.
    #[serde(default)]
    pub flag: Option<String>,
    /// Flag value.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Load shedding level, 0–100.
    #[serde(default)]
    pub level_percent: Option<f64>,
}

impl ScriptedActionSpec {
    /// The engine action this spec describes.
    pub fn to_action(&self) -> Action {
        Action {
            kind: self.kind,
            service: self.service.clone(),
            instance: self.instance,
            zone: self.zone.clone(),
            params: ActionParams {
                count: self.count,
                version: self.version.clone(),
                key: self.key.clone(),
                value: self.value.clone(),
                flag: self.flag.clone(),
                enabled: self.enabled,
                level_percent: self.level_percent,
            },
        }
    }
}

/// Why a dry run could not run.
#[derive(Debug, thiserror::Error)]
pub enum DryRunError {
    /// The engine refused the scenario.
    #[error(transparent)]
    Sim(#[from] SimError),
    /// The script is longer than [`MAX_SCRIPTED_ACTIONS`].
    #[error("the script has {count} actions; at most {MAX_SCRIPTED_ACTIONS} are allowed")]
    TooManyActions {
        /// How many were given.
        count: usize,
    },
    /// A scripted action has no time, or two.
    #[error("scripted action #{index}: give exactly one of `tick` or `at`")]
    ActionTime {
        /// Position in the script, from 1.
        index: usize,
    },
    /// A scripted action is at or after the end of the game.
    #[error(
        "scripted action #{index} at tick {tick} is after the end of the game (tick {end_tick})"
    )]
    ActionAfterEnd {
        /// Position in the script, from 1.
        index: usize,
        /// Its tick.
        tick: u64,
        /// The game's last tick + 1.
        end_tick: u64,
    },
    /// The engine refused a scripted action.
    #[error("scripted action #{index} ({kind}) at tick {tick}: {source}")]
    Action {
        /// Position in the script, from 1.
        index: usize,
        /// Its kind.
        kind: ActionKind,
        /// Its tick.
        tick: u64,
        /// Why.
        source: ActionError,
    },
}

/// How a dry run is set up.
#[derive(Clone, Debug, Default)]
pub struct DryRunOptions {
    /// Overrides the scenario's seed.
    pub seed: Option<u64>,
    /// Scripted actions (any order; applied in tick order, then script order).
    pub actions: Vec<ScriptedAction>,
}

/// How an incident stood at the end of the dry run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "tick")]
pub enum IncidentOutcome {
    /// Still open at the end of the game.
    Open,
    /// A resolving action took effect at this tick.
    Resolved(u64),
    /// The fault ended by itself at this tick.
    Expired(u64),
}

/// One incident of the dry run with its impact.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncidentImpact {
    /// Its id.
    pub id: IncidentId,
    /// The fault entry's name.
    pub fault_name: String,
    /// The class a team declares.
    pub class: FaultClass,
    /// The root-cause target a team declares.
    pub root: RootTarget,
    /// Tick at which it was injected.
    pub inject_tick: u64,
    /// The same, as simulated time from the start (`"3m"`).
    pub inject_at: String,
    /// Whether it came from a `When` trigger (fires per team) rather than the shared schedule.
    pub conditional: bool,
    /// The instances chosen by the selector (empty = the whole service or zone).
    pub instances: Vec<InstanceRef>,
    /// How it stood at the end.
    pub outcome: IncidentOutcome,
    /// Ticks during which it was open.
    pub open_ticks: u64,
    /// Its share of customer-facing SLO breach minutes beyond the baseline.
    pub error_minutes: f64,
    /// Its share of extra failed customer-facing requests.
    pub requests_failed: f64,
    /// Its share of revenue not earned, in revenue units.
    pub revenue_lost_units: f64,
    /// Tick of the first customer complaint it caused.
    pub first_complaint_tick: Option<u64>,
}

/// Breach minutes of one customer-facing service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceImpact {
    /// The service.
    pub service: String,
    /// Minutes its SLO was breached with the faults.
    pub breached_minutes: f64,
    /// Minutes its SLO was breached in the baseline.
    pub baseline_breached_minutes: f64,
}

/// Totals of a dry run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DryRunSummary {
    /// Incidents injected (scheduled and conditional).
    pub incidents: usize,
    /// Of which from `When` triggers.
    pub conditional_incidents: usize,
    /// Incidents still open at the end.
    pub open_at_end: usize,
    /// Customer-facing requests served, with faults.
    pub requests_ok: f64,
    /// Customer-facing requests failed, with faults.
    pub requests_failed: f64,
    /// Customer-facing requests failed in the baseline.
    pub baseline_requests_failed: f64,
    /// Revenue earned with faults, in revenue units.
    pub revenue_units: f64,
    /// Revenue earned in the baseline.
    pub baseline_revenue_units: f64,
    /// Baseline minus actual revenue.
    pub revenue_lost_units: f64,
    /// Customer-facing SLO breach minutes beyond the baseline, all services.
    pub error_minutes: f64,
    /// Error-minutes not attributed to any incident.
    pub unattributed_error_minutes: f64,
    /// Failed requests not attributed to any incident.
    pub unattributed_requests_failed: f64,
    /// Revenue lost not attributed to any incident.
    pub unattributed_revenue_lost_units: f64,
    /// Customer complaints filed.
    pub complaints: usize,
}

/// The result of a dry run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DryRunReport {
    /// Scenario title.
    pub title: String,
    /// Seed used.
    pub seed: u64,
    /// Length of one tick, in milliseconds.
    pub tick_ms: u64,
    /// Ticks simulated.
    pub duration_ticks: u64,
    /// Scripted actions applied.
    pub scripted_actions: usize,
    /// Every incident injected, in id order.
    pub incidents: Vec<IncidentImpact>,
    /// Customer-facing services and their breach minutes.
    pub services: Vec<ServiceImpact>,
    /// Totals.
    pub summary: DryRunSummary,
    /// How impact was attributed.
    pub method: String,
}

/// Per-incident accumulators while running.
#[derive(Clone, Debug, Default)]
struct Accumulator {
    open_ticks: u64,
    breach_ticks: f64,
    requests_failed: f64,
    revenue_lost_units: f64,
}

/// Runs a dry run of `scenario`; `progress(done_ticks, total_ticks)` is called every
/// [`PROGRESS_EVERY_TICKS`] ticks and at the end.
pub fn dry_run(
    scenario: &Scenario,
    options: &DryRunOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<DryRunReport, DryRunError> {
    let seed = options.seed.unwrap_or(scenario.seed);
    let mut scenario = scenario.clone();
    scenario.seed = seed;
    let end_tick = scenario.duration.to_ticks(scenario.tick);
    let script = order_script(&scenario, &options.actions, end_tick)?;

    let schedule = Arc::new(FaultSchedule::compute(&scenario, seed));
    let baseline_sim = Simulation::baseline(&scenario)?;
    let scenario = Arc::new(scenario);
    // The report reads only tick reports and incidents: neither world records telemetry.
    let mut world = Simulation::new(Arc::clone(&scenario), Arc::clone(&schedule))?;
    world.stop_recording();

    let customer_facing: Vec<&str> = scenario
        .services
        .iter()
        .filter(|s| s.customer_facing)
        .map(|s| s.name.as_str())
        .collect();
    let mut breach_ticks = vec![0u64; customer_facing.len()];
    let mut baseline_breach_ticks = vec![0u64; customer_facing.len()];
    let mut accumulators: Vec<Accumulator> = Vec::new();
    let mut summary = DryRunSummary::default();
    let mut unattributed_breach_ticks = 0.0;
    let mut extra_breach_ticks = 0u64;
    let mut next_action = 0;
    let mut open: Vec<usize> = Vec::new();
    let mut unhealthy: Vec<usize> = Vec::new();

    // The baseline runs on a thread of its own, a few chunks of ticks ahead of the world at
    // most: the two simulations are independent, so on two cores the report takes about the
    // time of one; the numbers are the same as in lockstep.
    let (baseline_tx, baseline_rx) = mpsc::sync_channel(BASELINE_CHUNKS_AHEAD);
    let mut baseline = BaselineCursor::new(baseline_rx, customer_facing.len());
    std::thread::scope(|scope| -> Result<(), DryRunError> {
        scope.spawn(|| run_baseline(baseline_sim, end_tick, &customer_facing, baseline_tx));
        while world.tick() < end_tick {
            let tick = world.tick();
            while let Some((index, action_tick, spec)) = script.get(next_action) {
                if *action_tick > tick {
                    break;
                }
                world
                    .submit(spec.to_action())
                    .map_err(|source| DryRunError::Action {
                        index: *index,
                        kind: spec.kind,
                        tick: *action_tick,
                        source,
                    })?;
                next_action += 1;
            }
            world.step();
            // None only when the baseline's thread panicked; the scope passes its panic on.
            let Some(base) = baseline.next_tick() else {
                break;
            };

            let report = world.last_tick_report();
            summary.requests_ok += report.requests_ok;
            summary.requests_failed += report.requests_failed;
            summary.baseline_requests_failed += base.requests_failed;
            summary.revenue_units += report.revenue_units;
            summary.baseline_revenue_units += base.revenue_units;
            let mut extra_breaches = 0u64;
            for (k, service) in customer_facing.iter().enumerate() {
                let breached = report.slo_breached.iter().any(|s| s == service);
                let base_breached = base.breached[k];
                breach_ticks[k] += u64::from(breached);
                baseline_breach_ticks[k] += u64::from(base_breached);
                extra_breaches += u64::from(breached && !base_breached);
            }
            extra_breach_ticks += extra_breaches;
            let failed_delta = report.requests_failed - base.requests_failed;
            let revenue_delta = base.revenue_units - report.revenue_units;

            open.clear();
            unhealthy.clear();
            for status in world.incidents() {
                let Ok(slot) = usize::try_from(status.id.0) else {
                    continue;
                };
                if accumulators.len() <= slot {
                    accumulators.resize_with(slot + 1, Accumulator::default);
                }
                if status.resolved_tick.is_none() && status.ended_tick.is_none() {
                    open.push(slot);
                    if !status.healthy {
                        unhealthy.push(slot);
                    }
                }
            }
            for &slot in &open {
                accumulators[slot].open_ticks += 1;
            }
            // Blame the open incidents whose root target is unhealthy; if none is, all open ones.
            let blamed = if unhealthy.is_empty() {
                &open
            } else {
                &unhealthy
            };
            if blamed.is_empty() {
                unattributed_breach_ticks += extra_breaches as f64;
                summary.unattributed_requests_failed += failed_delta;
                summary.unattributed_revenue_lost_units += revenue_delta;
            } else {
                let share = 1.0 / blamed.len() as f64;
                for &slot in blamed {
                    let acc = &mut accumulators[slot];
                    acc.breach_ticks += extra_breaches as f64 * share;
                    acc.requests_failed += failed_delta * share;
                    acc.revenue_lost_units += revenue_delta * share;
                }
            }
            let done = world.tick();
            if done.is_multiple_of(PROGRESS_EVERY_TICKS) {
                progress(done, end_tick);
            }
        }
        // Dropping the cursor here, not after the scope, lets a baseline still waiting to send
        // (when an action fails part-way) see that nobody reads any more and stop.
        drop(baseline);
        Ok(())
    })?;
    progress(world.tick(), end_tick);

    let tick_ms = scenario.tick.as_millis();
    let minutes = |ticks: f64| round2(ticks * tick_ms as f64 / 60_000.0);
    let incidents: Vec<IncidentImpact> = world
        .incidents()
        .iter()
        .map(|status| {
            let slot = usize::try_from(status.id.0).unwrap_or(usize::MAX);
            let acc = accumulators.get(slot).cloned().unwrap_or_default();
            let scheduled = schedule.get(status.id);
            let fault_index = scheduled.map(|s| s.fault_index).or_else(|| {
                slot.checked_sub(schedule.incidents.len())
                    .and_then(|k| schedule.conditional.get(k).copied())
            });
            let fault_name = fault_index
                .and_then(|i| scenario.faults.get(i))
                .map(|f| f.name.clone())
                .unwrap_or_default();
            IncidentImpact {
                id: status.id,
                fault_name,
                class: status.class,
                root: status.root.clone(),
                inject_tick: status.inject_tick,
                inject_at: SimDuration::from_millis(status.inject_tick.saturating_mul(tick_ms))
                    .to_string(),
                conditional: scheduled.is_none(),
                instances: scheduled.map(|s| s.instances.clone()).unwrap_or_default(),
                outcome: match (status.resolved_tick, status.ended_tick) {
                    (Some(t), _) => IncidentOutcome::Resolved(t),
                    (None, Some(t)) => IncidentOutcome::Expired(t),
                    (None, None) => IncidentOutcome::Open,
                },
                open_ticks: acc.open_ticks,
                error_minutes: minutes(acc.breach_ticks),
                requests_failed: round2(acc.requests_failed),
                revenue_lost_units: round2(acc.revenue_lost_units),
                first_complaint_tick: status.first_complaint_tick,
            }
        })
        .collect();

    summary.incidents = incidents.len();
    summary.conditional_incidents = incidents.iter().filter(|i| i.conditional).count();
    summary.open_at_end = incidents
        .iter()
        .filter(|i| i.outcome == IncidentOutcome::Open)
        .count();
    summary.requests_ok = round2(summary.requests_ok);
    summary.requests_failed = round2(summary.requests_failed);
    summary.baseline_requests_failed = round2(summary.baseline_requests_failed);
    summary.revenue_lost_units = round2(summary.baseline_revenue_units - summary.revenue_units);
    summary.revenue_units = round2(summary.revenue_units);
    summary.baseline_revenue_units = round2(summary.baseline_revenue_units);
    summary.error_minutes = minutes(extra_breach_ticks as f64);
    summary.unattributed_error_minutes = minutes(unattributed_breach_ticks);
    summary.unattributed_requests_failed = round2(summary.unattributed_requests_failed);
    summary.unattributed_revenue_lost_units = round2(summary.unattributed_revenue_lost_units);
    summary.complaints = world.complaints().len();

    let services = customer_facing
        .iter()
        .enumerate()
        .map(|(k, name)| ServiceImpact {
            service: (*name).to_owned(),
            breached_minutes: minutes(breach_ticks[k] as f64),
            baseline_breached_minutes: minutes(baseline_breach_ticks[k] as f64),
        })
        .collect();

    Ok(DryRunReport {
        title: scenario.title.clone(),
        seed,
        tick_ms,
        duration_ticks: world.tick(),
        scripted_actions: script.len(),
        incidents,
        services,
        summary,
        method: ATTRIBUTION_METHOD.to_owned(),
    })
}

/// Ticks of the baseline handed to the dry run at once.
const BASELINE_CHUNK_TICKS: usize = 256;
/// Chunks the baseline may run ahead of the world.
const BASELINE_CHUNKS_AHEAD: usize = 4;

/// What the dry run needs of a run of the baseline's ticks.
#[derive(Debug, Default)]
struct BaselineChunk {
    /// Per tick: customer-facing requests failed.
    requests_failed: Vec<f64>,
    /// Per tick: revenue earned.
    revenue_units: Vec<f64>,
    /// `[tick * customer-facing services + k]`: whether the `k`-th customer-facing service's
    /// SLO was breached.
    breached: Vec<bool>,
}

/// One tick of the baseline, as the dry run reads it.
struct BaselineTick<'a> {
    requests_failed: f64,
    revenue_units: f64,
    /// Per customer-facing service: its SLO breached.
    breached: &'a [bool],
}

/// Steps the baseline to `end_tick` and sends what the dry run needs of each tick, a chunk at
/// a time; stops early when the dry run no longer reads.
fn run_baseline(
    mut baseline: Simulation,
    end_tick: u64,
    customer_facing: &[&str],
    chunks: SyncSender<BaselineChunk>,
) {
    let mut chunk = BaselineChunk::default();
    while baseline.tick() < end_tick {
        baseline.step();
        let report = baseline.last_tick_report();
        chunk.requests_failed.push(report.requests_failed);
        chunk.revenue_units.push(report.revenue_units);
        chunk.breached.extend(
            customer_facing
                .iter()
                .map(|service| report.slo_breached.iter().any(|s| s == service)),
        );
        let full = chunk.requests_failed.len() == BASELINE_CHUNK_TICKS;
        if (full || baseline.tick() == end_tick) && chunks.send(std::mem::take(&mut chunk)).is_err()
        {
            return;
        }
    }
}

/// Reads the baseline's ticks in order from its thread.
struct BaselineCursor {
    chunks: Receiver<BaselineChunk>,
    chunk: BaselineChunk,
    next: usize,
    services: usize,
}

impl BaselineCursor {
    fn new(chunks: Receiver<BaselineChunk>, services: usize) -> BaselineCursor {
        BaselineCursor {
            chunks,
            chunk: BaselineChunk::default(),
            next: 0,
            services,
        }
    }

    /// The next tick, waiting for it; `None` when the baseline has stopped sending.
    fn next_tick(&mut self) -> Option<BaselineTick<'_>> {
        if self.next == self.chunk.requests_failed.len() {
            self.chunk = self.chunks.recv().ok()?;
            self.next = 0;
        }
        let t = self.next;
        self.next += 1;
        Some(BaselineTick {
            requests_failed: self.chunk.requests_failed[t],
            revenue_units: self.chunk.revenue_units[t],
            breached: &self.chunk.breached[t * self.services..(t + 1) * self.services],
        })
    }
}

/// Checks the script's times and orders it by (tick, script position).
fn order_script<'a>(
    scenario: &Scenario,
    actions: &'a [ScriptedAction],
    end_tick: u64,
) -> Result<Vec<(usize, u64, &'a ScriptedActionSpec)>, DryRunError> {
    if actions.len() > MAX_SCRIPTED_ACTIONS {
        return Err(DryRunError::TooManyActions {
            count: actions.len(),
        });
    }
    let mut ordered = Vec::with_capacity(actions.len());
    for (position, scripted) in actions.iter().enumerate() {
        let index = position + 1;
        let tick = match (scripted.tick, scripted.at) {
            (Some(tick), None) => tick,
            (None, Some(at)) => at.to_ticks(scenario.tick),
            _ => return Err(DryRunError::ActionTime { index }),
        };
        if tick >= end_tick {
            return Err(DryRunError::ActionAfterEnd {
                index,
                tick,
                end_tick,
            });
        }
        ordered.push((index, tick, &scripted.action));
    }
    ordered.sort_by_key(|(index, tick, _)| (*tick, *index));
    Ok(ordered)
}

/// Rounds to two decimals, for readable and stable reports.
fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCENARIO: &str = r#"(
        title: "dry run test",
        duration: "20m",
        seed: 5,
        services: [
            (name: "web", kind: frontend, instances_per_zone: 2, customer_facing: true,
             revenue_per_request: 1.0, slo: (), config: {"page_size": "24"},
             dependencies: [(service: "db")]),
            (name: "db", kind: database, instances_per_zone: 2),
        ],
        traffic: (entry_points: [(service: "web", rps: 100.0)]),
        faults: [
            (name: "crash", kind: crash, target: Select(service: "db", pick: One),
             trigger: At("2m")),
            (name: "config", kind: bad_config(key: "page_size", error_percent: 30.0),
             target: Service("web"), trigger: At("5m"), duration: "5m"),
        ],
    )"#;

    fn scenario() -> Scenario {
        breakathon_scenario::parse_unchecked(SCENARIO).expect("test scenario parses")
    }

    #[test]
    fn attribution_adds_up_to_the_difference_from_the_baseline() {
        let report =
            dry_run(&scenario(), &DryRunOptions::default(), &mut |_, _| {}).expect("dry run");
        let s = &report.summary;
        assert_eq!(report.incidents.len(), 2);
        assert_eq!(report.incidents[1].outcome, IncidentOutcome::Expired(600));
        let attributed: f64 = report.incidents.iter().map(|i| i.requests_failed).sum();
        let extra = s.requests_failed - s.baseline_requests_failed;
        assert!(extra > 0.0, "the bad config fails requests");
        assert!(
            (attributed + s.unattributed_requests_failed - extra).abs() < 1.0,
            "{attributed} + {} != {extra}",
            s.unattributed_requests_failed
        );
        let lost: f64 = report.incidents.iter().map(|i| i.revenue_lost_units).sum();
        assert!((lost + s.unattributed_revenue_lost_units - s.revenue_lost_units).abs() < 1.0);
        // Open windows: the crash from 2 min to the end, the config fault for its 5 minutes.
        assert_eq!(report.incidents[0].open_ticks, 1_200 - 120);
        assert_eq!(report.incidents[1].open_ticks, 600 - 300);
    }

    #[test]
    fn scripts_are_checked_before_running() {
        let action = ScriptedActionSpec {
            kind: ActionKind::RevertConfig,
            service: Some("web".into()),
            instance: None,
            zone: None,
            count: None,
            version: None,
            key: None,
            value: None,
            flag: None,
            enabled: None,
            level_percent: None,
        };
        let run = |tick, at| {
            let options = DryRunOptions {
                seed: None,
                actions: vec![ScriptedAction {
                    tick,
                    at,
                    action: action.clone(),
                }],
            };
            dry_run(&scenario(), &options, &mut |_, _| {})
        };
        assert!(matches!(
            run(None, None),
            Err(DryRunError::ActionTime { index: 1 })
        ));
        assert!(matches!(
            run(Some(5_000), None),
            Err(DryRunError::ActionAfterEnd { tick: 5_000, .. })
        ));
        let fixed = run(None, Some(SimDuration::from_secs(330))).expect("valid script");
        assert_eq!(fixed.incidents[1].outcome, IncidentOutcome::Resolved(330));
        let mut bad = action.clone();
        bad.service = Some("nope".into());
        let options = DryRunOptions {
            seed: None,
            actions: vec![ScriptedAction {
                tick: Some(10),
                at: None,
                action: bad,
            }],
        };
        assert!(matches!(
            dry_run(&scenario(), &options, &mut |_, _| {}),
            Err(DryRunError::Action { index: 1, .. })
        ));
    }
}
