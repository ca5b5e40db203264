//! Stage 11: customers. Revenue from successful customer-facing requests, SLO breaches,
//! complaints after the scenario's delay, and each incident's health this tick.

use bevy_ecs::prelude::*;
use serde::{Deserialize, Serialize};

use crate::faults::{Incidents, health};
use crate::model::Model;
use crate::state::{Clock, Fleet};
use crate::systems::{Report, Scratch};
use crate::telemetry::{Complaint, TickReport};

/// Most complaints a world keeps.
pub const MAX_COMPLAINTS: usize = 1_000;

/// Customers' memory of this world.
#[derive(Resource, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CustomerState {
    /// Per service: tick its SLO breach started.
    pub breach_since: Vec<Option<u64>>,
    /// Per service: next tick a complaint may be filed.
    pub next_complaint: Vec<u64>,
    /// Complaints filed, oldest first.
    pub complaints: Vec<Complaint>,
}

/// Complaint texts, picked by the service's breach: errors or slowness.
const ERROR_COMPLAINTS: [&str; 3] = [
    "I keep getting an error page when I try to check out.",
    "Your site is broken, nothing works!",
    "Payment failed three times in a row, what is going on?",
];
const SLOW_COMPLAINTS: [&str; 3] = [
    "The site is painfully slow today.",
    "Pages take forever to load, I gave up on my order.",
    "Everything is so slow, is something wrong?",
];

/// The customers stage (run by `systems::late_stages`).
#[allow(clippy::too_many_arguments)]
pub fn customers(
    model: &Model,
    clock: &Clock,
    fleet: &Fleet,
    state: &mut CustomerState,
    incidents: &mut Incidents,
    report: &mut Report,
    scratch: &Scratch,
    facing: &mut CustomerFacing,
) {
    let tick = clock.tick;
    let dt = model.tick_s;
    let ns = fleet.services.len();
    if state.breach_since.len() != ns {
        state.breach_since.resize(ns, None);
        state.next_complaint.resize(ns, 0);
    }
    // Incident health first (complaints are attributed to unhealthy incidents).
    {
        let incidents = &mut *incidents;
        for (status, rt) in incidents.statuses.iter_mut().zip(&incidents.runtime) {
            status.healthy = health::healthy(model, fleet, rt, tick);
        }
    }
    let mut out = TickReport {
        tick,
        ..TickReport::default()
    };
    // Last tick's list, its names overwritten in place (no allocation while they fit).
    std::mem::swap(&mut out.slo_breached, &mut report.0.slo_breached);
    let mut breached_n = 0;
    let delay = model
        .scenario
        .customers
        .complaint_delay
        .to_ticks(model.scenario.tick);
    let interval = model
        .scenario
        .customers
        .complaint_interval
        .to_ticks(model.scenario.tick)
        .max(1);
    if facing.0.is_none() {
        facing.0 = Some(
            (0..ns)
                .filter(|&s| model.spec(s as u32).customer_facing)
                .collect(),
        );
    }
    for &s in facing.0.iter().flatten() {
        let spec = model.spec(s as u32);
        let m = &fleet.services[s].m;
        // Customers' requests are counted where they enter the fleet: a failure deep in a
        // chain of customer-facing services (edge → web → checkout) is one failed request,
        // not one per service it passed through.
        if model.services[s].entry_rps > 0.0 {
            out.requests_ok += m.ok_rps * dt;
            out.requests_failed += m.failed_rps * dt;
        }
        // Revenue comes from distinct customer intents: a retried request that succeeds
        // earns once, so successes never earn more than the first attempts offered.
        out.revenue_units += m.ok_rps.min(scratch.first_rps[s]) * dt * spec.revenue_per_request;
        let stat = &model.services[s];
        let errors = m.error_percent > stat.slo_error_percent;
        let slow = m.latency_p99_ms > stat.slo_p99_ms;
        let breached = (errors || slow) && m.offered_rps > 0.0;
        if !breached {
            state.breach_since[s] = None;
            continue;
        }
        match out.slo_breached.get_mut(breached_n) {
            Some(name) => name.clone_from(&stat.name),
            None => out.slo_breached.push(stat.name.clone()),
        }
        breached_n += 1;
        let since = *state.breach_since[s].get_or_insert(tick);
        let _ = &since;
        if tick - since >= delay && tick >= state.next_complaint[s] {
            state.next_complaint[s] = tick + interval;
            let texts = if errors {
                &ERROR_COMPLAINTS
            } else {
                &SLOW_COMPLAINTS
            };
            let n = state.complaints.len();
            if n >= MAX_COMPLAINTS {
                state.complaints.remove(0);
            }
            state.complaints.push(Complaint {
                tick,
                service: stat.name.clone(),
                message: texts[n % texts.len()].to_owned(),
            });
            for status in &mut incidents.statuses {
                if status.first_complaint_tick.is_none()
                    && !status.healthy
                    && status.ended_tick.is_none()
                {
                    status.first_complaint_tick = Some(tick);
                }
            }
        }
    }
    out.slo_breached.truncate(breached_n);
    report.0 = out;
}

/// The customer-facing services of a world, in order (derived from its model on the
/// customers system's first run; a world's model never changes).
#[derive(Debug, Default)]
pub struct CustomerFacing(Option<Vec<usize>>);
