//! Stage 7: resilience. Circuit breakers open on a dependency's error share and half-open
//! after their pause; customers (and, during a retry storm, aggressive clients) retry failed
//! requests next tick. Timeouts act in the latency stage; load shedding and rate limits in the
//! load stage.

use crate::model::{CUSTOMER_RETRY_SHARE, Model, STORM_CLIENT_RETRIES};
use crate::num::Bound;
use crate::state::{Clock, Fleet};

/// Highest share of failed requests retried next tick (keeps retry load bounded).
pub const MAX_CLIENT_RETRY_SHARE: f64 = 0.9;

/// The call edges with a circuit breaker, as (service, dependency index) in order, kept
/// from one resilience stage to the next (most fleets have few or none). Breakers are set
/// only where a call edge's settings are written (an action's config, a config fault's
/// revert), which clears `ServiceState::timeouts_kept`; the load stage folds those marks
/// into `Scratch::timeouts_kept`, and the list is found again when it is false.
#[derive(Debug, Default)]
pub struct BreakerEdges(Option<Vec<(u32, u32)>>);

impl BreakerEdges {
    /// The call edges of `fleet` with a breaker, in order.
    fn find(fleet: &Fleet) -> Vec<(u32, u32)> {
        (fleet.services.iter().enumerate())
            .flat_map(|(s, svc)| {
                (svc.deps.iter().enumerate())
                    .filter(|(_, dep)| dep.breaker.is_some())
                    .map(move |(d, _)| (s as u32, d as u32))
            })
            .collect()
    }
}

/// The resilience stage (run by `systems::late_stages`, first; `edges_kept`: no call edge's
/// settings were written since the last tick's, `Scratch::timeouts_kept`).
pub fn resilience(
    model: &Model,
    clock: &Clock,
    fleet: &mut Fleet,
    edges_kept: bool,
    breakers: &mut BreakerEdges,
) {
    let tick = clock.tick;
    if !edges_kept || breakers.0.is_none() {
        breakers.0 = Some(BreakerEdges::find(fleet));
    }
    let edges = breakers.0.as_deref().unwrap_or_default();
    debug_assert_eq!(
        edges,
        BreakerEdges::find(fleet).as_slice(),
        "the kept call edges with a breaker"
    );
    let services = &mut fleet.services;
    // Each dependency's calls, failures and latency were summed by the latency stage.
    for &(s, d) in edges {
        let dep = &mut services[s as usize].deps[d as usize];
        let (calls, failed) = (dep.calls_rps, dep.failed_rps);
        if let Some(breaker) = dep.breaker {
            if dep.breaker_open_until.is_some_and(|until| tick >= until) {
                dep.breaker_open_until = None;
            } else if dep.breaker_open_until.is_none()
                && calls > 1e-9
                && failed / calls > breaker.error_share
            {
                dep.breaker_open_until = Some(tick + breaker.open_ticks);
            }
        }
    }
    for (s, svc) in services.iter_mut().enumerate() {
        let stat = &model.services[s];
        let m = &svc.m;
        let entry_failed = if stat.entry_rps > 0.0 && m.offered_rps > 1e-9 {
            m.failed_rps
                * ((svc.entry_rps * svc.fx.load_factor + svc.client_retry_rps) / m.offered_rps)
                    .at_most(1.0)
        } else {
            0.0
        };
        let customer = entry_failed * CUSTOMER_RETRY_SHARE;
        // A retry storm's aggressive clients retry every failure, but each request at most
        // `STORM_CLIENT_RETRIES` times: their retries never exceed that many times the load
        // without them (bounded, no geometric growth), yet they keep an overloaded fleet
        // overloaded after the burst (metastable) until the team lowers retries or sheds.
        let storm = if svc.fx.storm_retry_share > 0.0 {
            let without = (m.offered_rps - svc.client_retry_rps).at_least(0.0);
            m.failed_rps.at_most(STORM_CLIENT_RETRIES * without)
        } else {
            0.0
        };
        svc.client_retry_rps = customer.at_most(m.failed_rps * MAX_CLIENT_RETRY_SHARE) + storm;
        svc.client_retry_rps = svc.client_retry_rps.at_most(m.failed_rps);
    }
}
