//! Building the starting fleet from the scenario.

use breakathon_scenario::CircuitBreaker;

use crate::model::{BASE_DISK_SHARE, Model, NORMAL_CACHE_HIT};
use crate::state::{
    Breaker, DepState, Fleet, Instance, InstanceDep, InstanceEffects, InstanceTick, Life,
    ServiceEffects, ServiceState, ServiceTick, ZoneState,
};

/// Converts a scenario circuit breaker into the engine's.
pub fn breaker_of(model: &Model) -> impl Fn(&CircuitBreaker) -> Breaker + '_ {
    |cb: &CircuitBreaker| Breaker {
        error_share: (cb.error_percent / 100.0).clamp(0.0, 1.0),
        open_ticks: cb.open_for.to_ticks(model.scenario.tick).max(1),
    }
}

/// The fleet at tick 0: every instance running and warm.
pub fn initial_fleet(model: &Model) -> Fleet {
    let zones = model
        .zone_names
        .iter()
        .map(|_| ZoneState {
            up: true,
            drained: false,
            loss: 0.0,
            steal: 0.0,
        })
        .collect::<Vec<_>>();
    let mut services = Vec::with_capacity(model.services.len());
    let mut instances = Vec::new();
    for (s, stat) in model.services.iter().enumerate() {
        let spec = model.spec(s as u32);
        let deps: Vec<DepState> = spec
            .dependencies
            .iter()
            .map(|d| DepState {
                callee: model.service_index[&d.service],
                calls_per_request: d.calls_per_request.max(0.0),
                pool_size: d.pool_size,
                timeout_ms: d.timeout.as_millis() as f64,
                retries: d.retries,
                breaker: d.circuit_breaker.as_ref().map(breaker_of(model)),
                breaker_open_until: None,
                critical: d.critical,
                disabled: false,
                calls_rps: 0.0,
                failed_rps: 0.0,
                latency_ms: 0.0,
            })
            .collect();
        let mut ids = Vec::new();
        let per_zone = spec.instances_per_zone;
        for (zp, &zone) in stat.zones.iter().enumerate() {
            for i in 0..per_zone {
                let id = instances.len() as u32;
                ids.push(id);
                instances.push(Instance {
                    service: s as u32,
                    zone,
                    index: zp as u32 * per_zone + i,
                    life: Life::Running { since_tick: 0 },
                    version: spec.version.clone(),
                    bad_config: false,
                    restart_at: None,
                    drained: false,
                    leaked_mb: 0.0,
                    disk_used_gb: spec.disk_gb * BASE_DISK_SHARE,
                    clock_skew_s: 0.0,
                    queue: 0.0,
                    probe_fail_streak: 0,
                    probe_healthy: true,
                    deps: vec![InstanceDep::default(); deps.len()],
                    fx: InstanceEffects::default(),
                    m: InstanceTick::default(),
                });
            }
        }
        services.push(ServiceState {
            version: spec.version.clone(),
            version_history: spec.rollback_versions.iter().rev().cloned().collect(),
            flags: spec.flags.clone(),
            config: spec.config.clone(),
            config_bad: false,
            deps,
            shed: 0.0,
            rate_limit_rps: None,
            dns_secondary: false,
            cache_hit: NORMAL_CACHE_HIT,
            cache_warm_until: None,
            replica_lag_s: 0.0,
            reads_on_primary: false,
            next_index: per_zone * stat.zones.len() as u32,
            client_retry_rps: 0.0,
            conn_refuse: 0.0,
            entry_rps: 0.0,
            instances: ids,
            rotation_kept: false,
            timeouts_kept: false,
            life_kept: false,
            fx: ServiceEffects {
                load_factor: 1.0,
                ..ServiceEffects::default()
            },
            m: ServiceTick::default(),
        });
    }
    let n = zones.len();
    Fleet {
        zones,
        services,
        instances,
        reach: vec![true; n * n],
        dns_failing: false,
        followers: Default::default(),
    }
}
