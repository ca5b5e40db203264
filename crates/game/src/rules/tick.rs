//! What the referee does for one team after each simulated tick: follow its incidents
//! (mitigation, fix with the sustain window, expiry), book revenue once per simulated minute
//! and SLA penalties. [`step_teams`] steps every team's world and applies these rules, the
//! teams in parallel (they are independent within a tick, so the result is the same).

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

use breakathon_scenario::Scenario;
use breakathon_sim::{IncidentId, Simulation};

use crate::record::{IncidentRecord, Losses, SlaRecord, TeamRecord};
use crate::rules::Weights;
use crate::{LedgerEntry, LedgerKind, TeamId};

/// Most threads that step worlds at once (the machine's parallelism, at most this many).
pub const MAX_STEP_THREADS: usize = 8;
/// Teams a stepping thread takes from the shared queue at a time.
pub const TEAMS_PER_CHUNK: usize = 4;
/// Fewest teams for which stepping is spread over threads (fewer: the caller's thread alone).
pub const MIN_TEAMS_FOR_THREADS: usize = 8;

/// Milliseconds in a simulated minute.
pub const MINUTE_MS: u64 = 60_000;
/// Error budget of a customer-facing service that has no SLO of its own (the scenario
/// language's default budget).
pub const DEFAULT_ERROR_BUDGET_MS: u64 = 5 * MINUTE_MS;

/// What the per-tick rules need to know about the game.
pub(crate) struct TickContext<'a> {
    pub scenario: &'a Scenario,
    pub weights: &'a Weights,
    pub tick: u64,
    pub tick_ms: u64,
    pub sustain_ticks: u64,
    /// The baseline world's report of this tick (none: losses are not attributed).
    pub baseline: Option<BaselineTick>,
}

impl<'a> TickContext<'a> {
    /// The context of `tick` in a game of `scenario` scored with `weights`.
    pub fn new(
        scenario: &'a Scenario,
        weights: &'a Weights,
        tick_ms: u64,
        sustain_ticks: u64,
        tick: u64,
        baseline: Option<BaselineTick>,
    ) -> Self {
        Self {
            scenario,
            weights,
            tick,
            tick_ms,
            sustain_ticks,
            baseline,
        }
    }
}

/// What the baseline world (the scenario with no fault and nobody acting) served in a tick.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct BaselineTick {
    /// Revenue earned, units.
    pub revenue_units: f64,
    /// Customer-facing requests failed.
    pub requests_failed: f64,
}

/// Seconds, with a short form for reasons.
pub(crate) fn secs(ticks: u64, tick_ms: u64) -> f64 {
    ticks.saturating_mul(tick_ms) as f64 / 1000.0
}

/// What one team's tick produced, for the game to merge in team order.
#[derive(Debug, Default)]
pub(crate) struct TickOutcome {
    /// Incidents whose status changed (for the team's live stream).
    pub changes: Vec<IncidentId>,
    /// Fixes confirmed this tick: (incident, fix tick), to merge into the first-fix table.
    pub fixes: Vec<(IncidentId, u64)>,
    /// Whether the team's ledger got new lines (to stream only those teams' lines).
    pub booked: bool,
}

impl TickOutcome {
    /// Empties it, keeping its memory.
    pub fn clear(&mut self) {
        self.changes.clear();
        self.fixes.clear();
        self.booked = false;
    }

    /// Merges this tick's confirmed fixes into the game's first-fix table (earliest wins).
    pub fn merge_fixes(&self, first_fix: &mut BTreeMap<IncidentId, u64>) {
        merge_first_fixes(&self.fixes, first_fix);
    }
}

/// Records `fixes` (incident, fix tick) in the first-fix table, keeping the earliest tick.
pub(crate) fn merge_first_fixes(
    fixes: &[(IncidentId, u64)],
    first_fix: &mut BTreeMap<IncidentId, u64>,
) {
    for &(id, tick) in fixes {
        first_fix
            .entry(id)
            .and_modify(|t| *t = (*t).min(tick))
            .or_insert(tick);
    }
}

/// One team's share of a tick: its world, its record and what came of it.
pub(crate) struct TeamTick<'a> {
    /// The team.
    pub id: TeamId,
    /// Its world.
    pub world: &'a mut Simulation,
    /// Its record (none for a world without one).
    pub team: Option<&'a mut TeamRecord>,
    /// What the rules produced.
    pub outcome: TickOutcome,
}

/// Threads to step worlds on: the machine's parallelism, capped (read once).
pub(crate) fn step_threads() -> usize {
    static THREADS: OnceLock<usize> = OnceLock::new();
    *THREADS.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(1, std::num::NonZeroUsize::get)
            .clamp(1, MAX_STEP_THREADS)
    })
}

/// Steps every world of `jobs` by one tick and applies the rules of tick `ctx.tick` to its
/// team, spreading the teams over up to [`MAX_STEP_THREADS`] threads. Deterministic: a team's
/// tick reads only its own world and record and the first-fix table as it was before the
/// tick (every fix confirmed in one tick has the same fix tick, `ctx.tick − sustain`, so the
/// order of teams within a tick cannot change who was first); the caller merges the
/// outcomes in team order.
pub(crate) fn step_teams(
    jobs: &mut [TeamTick<'_>],
    ctx: &TickContext<'_>,
    first_fix: &BTreeMap<IncidentId, u64>,
) {
    step_teams_on(jobs, ctx, first_fix, step_threads());
}

/// [`step_teams`] on at most `threads` threads.
fn step_teams_on(
    jobs: &mut [TeamTick<'_>],
    ctx: &TickContext<'_>,
    first_fix: &BTreeMap<IncidentId, u64>,
    threads: usize,
) {
    let run = |job: &mut TeamTick<'_>| {
        job.outcome.clear();
        job.world.step();
        if let Some(team) = job.team.as_deref_mut() {
            let lines = team.ledger.len();
            after_tick(team, job.world, ctx, first_fix, &mut job.outcome);
            job.outcome.booked = team.ledger.len() > lines;
        }
    };
    let threads = threads.min(jobs.len().div_ceil(TEAMS_PER_CHUNK));
    if threads <= 1 || jobs.len() < MIN_TEAMS_FOR_THREADS {
        jobs.iter_mut().for_each(run);
        return;
    }
    let queue = Mutex::new(jobs.chunks_mut(TEAMS_PER_CHUNK));
    let work = || {
        // The guard is dropped inside `and_then`, before the chunk runs. A poisoned queue means
        // another stepping thread panicked; the scope re-raises that panic.
        while let Some(chunk) = queue.lock().ok().and_then(|mut q| q.next()) {
            chunk.iter_mut().for_each(run);
        }
    };
    std::thread::scope(|scope| {
        for _ in 1..threads {
            scope.spawn(work);
        }
        work();
    });
}

/// Applies the rules to `team` after its world completed tick `ctx.tick`; records in `out`
/// the incidents whose status changed and the fixes confirmed. `first_fix` is the earliest
/// fix tick of every team before this tick.
pub(crate) fn after_tick(
    team: &mut TeamRecord,
    world: &Simulation,
    ctx: &TickContext<'_>,
    first_fix: &BTreeMap<IncidentId, u64>,
    out: &mut TickOutcome,
) {
    // The world's statuses describe the tick just simulated: with `n` ticks completed, that
    // is tick `n − 1` in the world's own numbering (injections, action effects, health).
    let k = ctx.tick.saturating_sub(1);
    for status in world.incidents() {
        let rec = team
            .incidents
            .entry(status.id)
            .or_insert_with(|| IncidentRecord {
                id: status.id,
                fault_index: status.fault_index,
                class: status.class,
                root: status.root.clone(),
                inject_tick: status.inject_tick,
                detected_tick: None,
                detected_by: None,
                mitigated_tick: None,
                run_start: None,
                fixed_tick: None,
                fix_confirmed_tick: None,
                fixed_by_judge: false,
                expired_tick: None,
                first_complaint_tick: None,
                communicated: false,
                reopened_at: None,
                detection_credit: 0,
                fix_credit: 0,
                losses: Losses::default(),
            });
        rec.first_complaint_tick = status.first_complaint_tick;
        if !rec.is_open() {
            continue;
        }
        let since = rec.reopened_at.unwrap_or(0);
        // Expired: the fault ended by itself before being fixed.
        if let Some(end) = status.ended_tick
            && status.resolved_tick.is_none()
            && end >= since
        {
            rec.expired_tick = Some(end);
            rec.run_start = None;
            out.changes.push(rec.id);
            continue;
        }
        // Mitigated: health back through a mitigating action, without a resolving one.
        if rec.mitigated_tick.is_none()
            && status.resolved_tick.is_none()
            && status.healthy
            && status.mitigations.first().is_some_and(|(t, _)| *t <= k)
        {
            rec.mitigated_tick = Some(k);
            out.changes.push(rec.id);
        }
        // Fixed: a resolving action took effect, then health held for the sustain window.
        let resolved = status.resolved_tick.is_some_and(|r| r <= k);
        if resolved && status.healthy && k >= since {
            let start = *rec.run_start.get_or_insert(k);
            if k + 1 - start >= ctx.sustain_ticks {
                let rec_id = rec.id;
                confirm_fix(team, rec_id, start, ctx, first_fix, out);
            }
        } else if rec.run_start.take().is_some() {
            out.changes.push(rec.id);
        }
    }
    attribute_losses(team, world, ctx);
    book_revenue_and_sla(team, world, ctx);
}

/// Charges this tick's losses against the baseline to the incidents open for the team after
/// this tick's rules (neither fixed nor expired): shared equally among those whose root target
/// is unhealthy this tick, or among all open ones when none is; to no incident when none is
/// open (`docs/RULES.md`, "What each incident cost you").
fn attribute_losses(team: &mut TeamRecord, world: &Simulation, ctx: &TickContext<'_>) {
    let Some(base) = ctx.baseline else {
        return;
    };
    let report = world.last_tick_report();
    let lost = Losses {
        revenue_lost_units: base.revenue_units - report.revenue_units,
        requests_failed: report.requests_failed - base.requests_failed,
    };
    if !(lost.revenue_lost_units.is_finite() && lost.requests_failed.is_finite()) {
        return;
    }
    let open = |status: &breakathon_sim::IncidentStatus| {
        team.incidents
            .get(&status.id)
            .is_some_and(IncidentRecord::is_open)
    };
    let (mut open_count, mut unhealthy_count) = (0_u32, 0_u32);
    for status in world.incidents().iter().filter(|s| open(s)) {
        open_count += 1;
        unhealthy_count += u32::from(!status.healthy);
    }
    if open_count == 0 {
        team.unattributed_losses.add(lost, 1.0);
        return;
    }
    let blame_unhealthy = unhealthy_count > 0;
    let share = 1.0
        / f64::from(if blame_unhealthy {
            unhealthy_count
        } else {
            open_count
        });
    for status in world.incidents() {
        if blame_unhealthy && status.healthy {
            continue;
        }
        if let Some(rec) = team.incidents.get_mut(&status.id).filter(|r| r.is_open()) {
            rec.losses.add(lost, share);
        }
    }
}

fn confirm_fix(
    team: &mut TeamRecord,
    id: IncidentId,
    fix_tick: u64,
    ctx: &TickContext<'_>,
    first_fix: &BTreeMap<IncidentId, u64>,
    out: &mut TickOutcome,
) {
    let n = ctx.tick;
    let Some(rec) = team.incidents.get_mut(&id) else {
        return;
    };
    rec.fixed_tick = Some(fix_tick);
    rec.fix_confirmed_tick = Some(n);
    rec.run_start = None;
    let ttf_ticks = fix_tick.saturating_sub(rec.inject_tick);
    let ttf_ms = ttf_ticks.saturating_mul(ctx.tick_ms);
    let points = ctx.weights.fix(ttf_ms);
    let declared = rec.detected_tick.is_some();
    let what = format!("{} on {}", rec.class, rec.root);
    let reason = if declared {
        format!("fixed {what}: TTF {}s", secs(ttf_ticks, ctx.tick_ms))
    } else {
        format!(
            "fixed an incident you had not declared ({what}): TTF {}s, no detection points",
            secs(ttf_ticks, ctx.tick_ms)
        )
    };
    let mut credit = 0;
    let first = first_fix
        .get(&id)
        .is_none_or(|&earliest| fix_tick <= earliest);
    out.fixes.push((id, fix_tick));
    if let Some(e) = team.book(n, ctx.tick_ms, points, LedgerKind::Fix, reason, Some(id)) {
        credit += e.points;
    }
    if first
        && let Some(e) = team.book(
            n,
            ctx.tick_ms,
            ctx.weights.first_to_fix_points,
            LedgerKind::FirstToFix,
            format!("first to fix {what}"),
            Some(id),
        )
    {
        credit += e.points;
    }
    if let Some(rec) = team.incidents.get_mut(&id) {
        rec.fix_credit += credit;
    }
    out.changes.push(id);
}

fn book_revenue_and_sla(team: &mut TeamRecord, world: &Simulation, ctx: &TickContext<'_>) {
    let n = ctx.tick;
    let report = world.last_tick_report();
    let units = report.revenue_units;
    if units.is_finite() && units > 0.0 {
        let milli = (units * 1000.0).round();
        let milli = if milli < u64::MAX as f64 {
            milli as u64
        } else {
            u64::MAX
        };
        team.revenue_milli_units = team.revenue_milli_units.saturating_add(milli);
    }
    for service in &report.slo_breached {
        let Some(spec) = ctx.scenario.services.iter().find(|s| &s.name == service) else {
            continue;
        };
        if !spec.customer_facing {
            continue;
        }
        let budget_ms = spec
            .slo
            .as_ref()
            .map_or(DEFAULT_ERROR_BUDGET_MS, |s| s.error_budget.as_millis());
        // Look up before inserting: no new key (and no allocation) on every breached tick.
        if !team.sla.contains_key(service) {
            team.sla.insert(service.clone(), SlaRecord::default());
        }
        let Some(sla) = team.sla.get_mut(service) else {
            continue;
        };
        sla.breached_ticks += 1;
        let breached_ms = sla.breached_ticks.saturating_mul(ctx.tick_ms);
        let minutes = breached_ms.saturating_sub(budget_ms) / MINUTE_MS;
        let already = sla.minutes_penalised;
        sla.minutes_penalised = minutes.max(already);
        for minute in already..minutes {
            team.book(
                n,
                ctx.tick_ms,
                ctx.weights.sla_penalty_points_per_min.saturating_neg(),
                LedgerKind::SlaPenalty,
                format!(
                    "SLA: {service} breached its SLO beyond its error budget (minute {})",
                    minute + 1
                ),
                None,
            );
        }
    }
    let minute_now = n.saturating_mul(ctx.tick_ms) / MINUTE_MS;
    let minute_before = n.saturating_sub(1).saturating_mul(ctx.tick_ms) / MINUTE_MS;
    if minute_now > minute_before {
        book_revenue(team, n, ctx.tick_ms, ctx.weights);
    }
}

/// Books the revenue points earned and not yet booked: `floor(units / units_per_point)` minus
/// what was booked before.
pub(crate) fn book_revenue(
    team: &mut TeamRecord,
    tick: u64,
    tick_ms: u64,
    weights: &Weights,
) -> Option<LedgerEntry> {
    let per_point_milli = weights.revenue_units_per_point.saturating_mul(1000);
    let total = i64::try_from(team.revenue_milli_units / per_point_milli).unwrap_or(i64::MAX);
    let delta = total - team.revenue_points_booked;
    team.revenue_points_booked = total;
    team.book(
        tick,
        tick_ms,
        delta,
        LedgerKind::Revenue,
        format!(
            "revenue up to {}s: {} units in all",
            secs(tick, tick_ms),
            team.revenue_milli_units / 1000
        ),
        None,
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use breakathon_scenario::ActionKind;
    use breakathon_sim::{Action, FaultSchedule};

    use super::*;
    use crate::TokenHash;

    /// One fault (telemetry of `db` dark from 10 s), a 5 s sustain window, and revenue.
    const SCENARIO: &str = r#"(
        title: "parallel stepping",
        duration: "5m",
        sustain: "5s",
        seed: 3,
        services: [
            (name: "web", kind: frontend, customer_facing: true, revenue_per_request: 0.1,
             dependencies: [(service: "db")]),
            (name: "db", kind: database),
        ],
        traffic: (entry_points: [(service: "web", rps: 20.0)]),
        faults: [(name: "dark-db", kind: telemetry_outage, target: Service("db"), trigger: At("10s"))],
    )"#;

    const TEAMS: u32 = 13;
    const TICKS: u64 = 90;

    struct Teams {
        worlds: Vec<Simulation>,
        records: Vec<TeamRecord>,
        first_fix: BTreeMap<IncidentId, u64>,
    }

    fn teams(scenario: &Arc<Scenario>, token: &TokenHash) -> Teams {
        let schedule = Arc::new(FaultSchedule::compute(scenario, scenario.seed));
        Teams {
            worlds: (0..TEAMS)
                .map(|_| Simulation::new(scenario.clone(), schedule.clone()).unwrap())
                .collect(),
            records: (0..TEAMS)
                .map(|i| TeamRecord::new(TeamId(i), format!("t{i}"), token.clone(), 0))
                .collect(),
            first_fix: BTreeMap::new(),
        }
    }

    /// Plays every team (team `i` restores db's telemetry at tick 20 + 3 × (i mod 4), so
    /// several teams fix in the same tick) on `threads` threads.
    fn play(scenario: &Arc<Scenario>, token: &TokenHash, threads: usize) -> Teams {
        let mut t = teams(scenario, token);
        let weights = Weights::from_scoring(&scenario.scoring);
        for tick in 1..=TICKS {
            for (i, world) in t.worlds.iter_mut().enumerate() {
                if tick == 20 + 3 * (i as u64 % 4) {
                    world
                        .submit(Action::on_service(ActionKind::RestoreTelemetry, "db"))
                        .unwrap();
                }
            }
            let ctx = TickContext {
                scenario,
                weights: &weights,
                tick,
                tick_ms: 1000,
                sustain_ticks: 5,
                baseline: None,
            };
            let mut jobs: Vec<TeamTick<'_>> = t
                .worlds
                .iter_mut()
                .zip(t.records.iter_mut())
                .map(|(world, team)| TeamTick {
                    id: team.id,
                    world,
                    team: Some(team),
                    outcome: TickOutcome::default(),
                })
                .collect();
            step_teams_on(&mut jobs, &ctx, &t.first_fix, threads);
            for job in &jobs {
                job.outcome.merge_fixes(&mut t.first_fix);
            }
        }
        t
    }

    #[test]
    fn stepping_on_threads_gives_exactly_the_sequential_result() {
        let scenario = Arc::new(breakathon_scenario::parse_unchecked(SCENARIO).unwrap());
        let token = TokenHash::new("tok").unwrap();
        let one = play(&scenario, &token, 1);
        let four = play(&scenario, &token, 4);
        for (a, b) in one.records.iter().zip(&four.records) {
            assert!(a == b, "team {} differs", a.id);
        }
        assert_eq!(one.first_fix, four.first_fix);
        let hashes = |t: &Teams| {
            t.worlds
                .iter()
                .map(Simulation::state_hash)
                .collect::<Vec<_>>()
        };
        assert_eq!(hashes(&one), hashes(&four));
        // The script did what it says: the earliest fixers got the first-to-fix bonus.
        let first: Vec<bool> = one
            .records
            .iter()
            .map(|r| r.ledger.iter().any(|e| e.kind == LedgerKind::FirstToFix))
            .collect();
        let expected: Vec<bool> = (0..TEAMS).map(|i| i % 4 == 0).collect();
        assert_eq!(first, expected);
        assert!(one.records.iter().all(|r| r.revenue_milli_units > 0));
    }
}
