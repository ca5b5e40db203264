//! Stage 4: traffic. The rate customers offer to each entry point: baseline × daily curve ×
//! background ramps × seeded noise. Spikes are faults (applied in the load stage).

use crate::model::Model;
use crate::rng::{Rngs, unit};
use crate::state::{Clock, Fleet};

/// Seconds in an hour.
const SECS_PER_HOUR: f64 = 3600.0;

/// The services customers' traffic enters the fleet at, in order (derived from a world's
/// model on the traffic stage's first run; a world's model never changes).
#[derive(Debug, Default)]
pub struct EntryServices(Option<Vec<usize>>);

/// The traffic stage (run by `systems::early_stages`).
pub fn traffic(
    model: &Model,
    clock: &Clock,
    fleet: &mut Fleet,
    rngs: &mut Rngs,
    entries: &mut EntryServices,
) {
    let t_s = clock.tick as f64 * model.tick_s;
    let traffic = &model.scenario.traffic;
    let daily = daily_factor(&traffic.daily_curve, traffic.start_hour, t_s);
    let noise = traffic.noise_percent.max(0.0) / 100.0;
    let services = &mut fleet.services;
    let entries = entries.0.get_or_insert_with(|| {
        // The others get none, now and on every tick after (nothing else writes it).
        for (svc, stat) in services.iter_mut().zip(&model.services) {
            if stat.entry_rps <= 0.0 {
                svc.entry_rps = 0.0;
            }
        }
        (0..model.services.len())
            .filter(|&s| model.services[s].entry_rps > 0.0)
            .collect()
    });
    debug_assert!(
        (services.iter().zip(&model.services))
            .all(|(svc, stat)| stat.entry_rps > 0.0 || svc.entry_rps == 0.0),
        "entry traffic offered to a service that is no entry point"
    );
    for &s in entries.iter() {
        let stat = &model.services[s];
        let mut ramp = 1.0;
        for r in &traffic.ramps {
            if r.service.as_ref().is_some_and(|name| *name != stat.name) {
                continue;
            }
            let start = r.start.as_secs_f64();
            let end = r.end.as_secs_f64();
            let progress = if t_s <= start {
                0.0
            } else if t_s >= end || end <= start {
                1.0
            } else {
                (t_s - start) / (end - start)
            };
            ramp *= 1.0 + (r.factor - 1.0) * progress;
        }
        let jitter = 1.0 + noise * (2.0 * unit(&mut rngs.traffic) - 1.0);
        services[s].entry_rps = (stat.entry_rps * daily * ramp * jitter).max(0.0);
    }
}

/// The daily curve's multiplier at `t_s` seconds into the game (linear between hours).
fn daily_factor(curve: &[f64], start_hour: u32, t_s: f64) -> f64 {
    if curve.is_empty() {
        return 1.0;
    }
    let n = curve.len();
    let hour = f64::from(start_hour) + t_s / SECS_PER_HOUR;
    let i = hour.floor() as usize % n;
    let frac = hour - hour.floor();
    curve[i] * (1.0 - frac) + curve[(i + 1) % n] * frac
}
