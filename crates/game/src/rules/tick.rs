//! What the referee does for one team after each simulated tick: follow its incidents
//! (mitigation, fix with the sustain window, expiry), book revenue once per simulated minute
//! and SLA penalties.

use std::collections::BTreeMap;

use breakathon_scenario::Scenario;
use breakathon_sim::{IncidentId, Simulation};

use crate::record::{IncidentRecord, TeamRecord};
use crate::rules::Weights;
use crate::{LedgerEntry, LedgerKind};

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
}

/// Seconds, with a short form for reasons.
pub(crate) fn secs(ticks: u64, tick_ms: u64) -> f64 {
    ticks.saturating_mul(tick_ms) as f64 / 1000.0
}

/// Applies the rules to `team` after its world completed tick `ctx.tick`; pushes the
/// incidents whose status changed onto `changes` (for the team's live stream).
pub(crate) fn after_tick(
    team: &mut TeamRecord,
    world: &Simulation,
    ctx: &TickContext<'_>,
    first_fix: &mut BTreeMap<IncidentId, u64>,
    changes: &mut Vec<IncidentId>,
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
            changes.push(rec.id);
            continue;
        }
        // Mitigated: health back through a mitigating action, without a resolving one.
        if rec.mitigated_tick.is_none()
            && status.resolved_tick.is_none()
            && status.healthy
            && status.mitigations.first().is_some_and(|(t, _)| *t <= k)
        {
            rec.mitigated_tick = Some(k);
            changes.push(rec.id);
        }
        // Fixed: a resolving action took effect, then health held for the sustain window.
        let resolved = status.resolved_tick.is_some_and(|r| r <= k);
        if resolved && status.healthy && k >= since {
            let start = *rec.run_start.get_or_insert(k);
            if k + 1 - start >= ctx.sustain_ticks {
                let rec_id = rec.id;
                confirm_fix(team, rec_id, start, ctx, first_fix, changes);
            }
        } else if rec.run_start.take().is_some() {
            changes.push(rec.id);
        }
    }
    book_revenue_and_sla(team, world, ctx);
}

fn confirm_fix(
    team: &mut TeamRecord,
    id: IncidentId,
    fix_tick: u64,
    ctx: &TickContext<'_>,
    first_fix: &mut BTreeMap<IncidentId, u64>,
    changes: &mut Vec<IncidentId>,
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
    let first = match first_fix.get(&id) {
        None => true,
        Some(&earliest) => fix_tick <= earliest,
    };
    if first {
        first_fix
            .entry(id)
            .and_modify(|t| *t = (*t).min(fix_tick))
            .or_insert(fix_tick);
    }
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
    changes.push(id);
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
        let sla = team.sla.entry(service.clone()).or_default();
        sla.breached_ticks += 1;
        let breached_ms = sla.breached_ticks.saturating_mul(ctx.tick_ms);
        let minutes = breached_ms.saturating_sub(budget_ms) / MINUTE_MS;
        let already = sla.minutes_penalised;
        sla.minutes_penalised = minutes.max(already);
        for minute in already..minutes {
            team.book(
                n,
                ctx.tick_ms,
                -ctx.weights.sla_penalty_points_per_min,
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
