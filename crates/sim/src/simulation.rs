//! One team's world: a bevy `World` holding the fleet's resources and the tick schedule.

use std::sync::Arc;

use bevy_ecs::prelude::*;
use breakathon_scenario::Scenario;

use crate::action::Action;
use crate::error::{ActionError, SimError};
use crate::faults::{Incidents, health};
use crate::history::{Histories, OLD_POINTS, RECENT_POINTS, Ring, RingGap};
use crate::incident::IncidentStatus;
use crate::log_ring::LogRing;
use crate::model::Model;
use crate::rng::Rngs;
use crate::schedule::FaultSchedule;
use crate::snapshot::{Fnv1a, RingDelta, RingMarks, RingTicks, SNAPSHOT_FORMAT, WorldSnapshot};
use crate::state::{Clock, Fleet, Life};
use crate::systems::customers::CustomerState;
use crate::systems::telemetry::{TelemetryState, point_of};
use crate::systems::{self, ActionQueue, PendingLogs, Recording, Report, Scratch, followers};
use crate::telemetry::{AlertView, Complaint, LogLine, MetricPoint, TickReport};
use crate::view::{
    DependencyView, FleetView, Health, InstanceMetrics, InstancePhase, InstanceView, ServiceView,
    ZoneView,
};

/// How long a resolved alert stays listed, s.
pub const RESOLVED_ALERT_VISIBLE_S: u64 = 900;

/// One team's simulated fleet. Not `Clone`: checkpoint it with [`Simulation::snapshot`].
pub struct Simulation {
    world: World,
    schedule: Schedule,
}

impl std::fmt::Debug for Simulation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulation")
            .field("tick", &self.tick())
            .finish()
    }
}

impl Simulation {
    /// A fresh world for `scenario` with the game's shared `schedule`.
    pub fn new(
        scenario: Arc<Scenario>,
        schedule: Arc<FaultSchedule>,
    ) -> Result<Simulation, SimError> {
        let seed = scenario.seed;
        let model = Model::new(scenario, schedule)?;
        let mut fleet = systems::setup::initial_fleet(&model);
        for s in 0..fleet.services.len() as u32 {
            systems::actions::refresh_flag_gates(&model, &mut fleet, s);
        }
        let snapshot = WorldSnapshot {
            format: SNAPSHOT_FORMAT,
            clock: Clock::default(),
            fleet,
            incidents: Incidents::default(),
            telemetry: TelemetryState::default(),
            customers: CustomerState::default(),
            rngs: Rngs::new(seed),
            queue: ActionQueue::default(),
            pending_logs: PendingLogs::default(),
            report: Report::default(),
        };
        Ok(Self::build(model, snapshot))
    }

    fn build(model: Model, mut snap: WorldSnapshot) -> Simulation {
        snap.telemetry.fit_capacity();
        let mut world = World::new();
        let mut scratch = Scratch::default();
        scratch.fit(
            snap.fleet.services.len(),
            snap.fleet.zones.len(),
            snap.fleet.instances.len(),
        );
        world.insert_resource(model);
        world.insert_resource(scratch);
        world.insert_resource(snap.clock);
        world.insert_resource(snap.fleet);
        world.insert_resource(snap.incidents);
        world.insert_resource(snap.telemetry);
        world.insert_resource(snap.customers);
        world.insert_resource(snap.rngs);
        world.insert_resource(snap.queue);
        world.insert_resource(snap.pending_logs);
        world.insert_resource(snap.report);
        world.insert_resource(Recording::default());
        Simulation {
            world,
            schedule: systems::tick_schedule(),
        }
    }

    fn model(&self) -> &Model {
        self.world.resource::<Model>()
    }

    fn fleet_state(&self) -> &Fleet {
        self.world.resource::<Fleet>()
    }

    /// Ticks completed so far.
    pub fn tick(&self) -> u64 {
        self.world.resource::<Clock>().tick
    }

    /// Length of one tick, ms.
    pub fn tick_ms(&self) -> u64 {
        self.model().tick_ms
    }

    /// The baseline world of `scenario`, what incidents are measured against: the same
    /// fleet, seed and traffic without faults or hints, nobody acting. It is read only
    /// through its tick reports, so it records no telemetry.
    pub fn baseline(scenario: &Scenario) -> Result<Simulation, SimError> {
        let mut scenario = scenario.clone();
        scenario.faults.clear();
        scenario.hints.clear();
        let mut world = Simulation::new(Arc::new(scenario), Arc::default())?;
        world.stop_recording();
        Ok(world)
    }

    /// From now on this world records no telemetry (metric history, logs, alerts), for a
    /// world read only through its tick reports and incidents: its numbers stay the same,
    /// and each tick costs less.
    pub fn stop_recording(&mut self) {
        *self.world.resource_mut::<Recording>() = Recording::Nothing;
    }

    /// Whether this world records the telemetry a team sees (see [`Self::stop_recording`]).
    pub fn is_recording(&self) -> bool {
        *self.world.resource::<Recording>() == Recording::Everything
    }

    /// Simulates one tick.
    pub fn step(&mut self) {
        self.schedule.run(&mut self.world);
    }

    /// Simulates until `tick` ticks are completed.
    pub fn step_until(&mut self, tick: u64) {
        while self.tick() < tick {
            self.step();
        }
    }

    /// Validates `action` now and queues it; it takes effect at the start of the next tick,
    /// whose number is returned.
    pub fn submit(&mut self, action: Action) -> Result<u64, ActionError> {
        systems::actions::validate(self.model(), self.fleet_state(), &action)?;
        let tick = self.tick();
        self.world
            .resource_mut::<ActionQueue>()
            .pending
            .push(action);
        Ok(tick)
    }

    /// Every incident injected so far in this world, in injection order.
    pub fn incidents(&self) -> &[IncidentStatus] {
        &self.world.resource::<Incidents>().statuses
    }

    /// What happened in the last tick.
    pub fn last_tick_report(&self) -> &TickReport {
        &self.world.resource::<Report>().0
    }

    /// The fleet as the team's map shows it.
    pub fn fleet(&self) -> FleetView {
        let model = self.model();
        let fleet = self.fleet_state();
        let tick = self.tick();
        let zones = model
            .zone_names
            .iter()
            .zip(&fleet.zones)
            .map(|(name, z)| ZoneView {
                name: name.clone(),
                up: z.up,
                drained: z.drained,
            })
            .collect();
        let services = (0..fleet.services.len() as u32)
            .map(|s| service_view(model, fleet, s, tick))
            .collect();
        FleetView {
            tick,
            zones,
            services,
        }
    }

    /// The metric history of `service` from `since_tick` on (bounded; older points are
    /// downsampled; ticks with dark telemetry are missing).
    pub fn metrics(&self, service: &str, since_tick: u64) -> Result<Vec<MetricPoint>, SimError> {
        let s = *self
            .model()
            .service_index
            .get(service)
            .ok_or_else(|| SimError::UnknownService(service.to_owned()))?;
        let telemetry = self.world.resource::<TelemetryState>();
        let s = s as usize;
        Ok(if s < telemetry.history.len() {
            telemetry.history.since(s, since_tick)
        } else {
            Vec::new()
        })
    }

    /// The last `limit` log lines from `since_tick` on, oldest first, optionally only of
    /// `service` and only those containing `query` (case-insensitive).
    pub fn logs(
        &self,
        service: Option<&str>,
        query: Option<&str>,
        since_tick: u64,
        limit: usize,
    ) -> Vec<LogLine> {
        let model = self.model();
        let only = match service {
            Some(name) => match model.service_index.get(name) {
                Some(&s) => Some(s),
                None => return Vec::new(),
            },
            None => None,
        };
        let query = query.map(str::to_lowercase);
        let telemetry = self.world.resource::<TelemetryState>();
        let mut out: Vec<LogLine> = telemetry
            .logs
            .iter()
            .rev()
            .take_while(|l| l.info.tick >= since_tick)
            .filter(|l| only.is_none_or(|s| l.info.service == s))
            .filter(|l| {
                query
                    .as_ref()
                    .is_none_or(|q| l.message().to_lowercase().contains(q.as_str()))
            })
            .take(limit)
            .map(|l| LogLine {
                tick: l.info.tick,
                service: model
                    .services
                    .get(l.info.service as usize)
                    .map(|s| s.name.clone())
                    .unwrap_or_default(),
                instance: l.info.instance,
                level: l.info.level,
                message: l.message().to_owned(),
            })
            .collect();
        out.reverse();
        out
    }

    /// Alerts firing now and those resolved recently, including decoys (which look the same).
    pub fn alerts(&self) -> Vec<AlertView> {
        let model = self.model();
        let tick = self.tick();
        let telemetry = self.world.resource::<TelemetryState>();
        let recent = model.secs_to_ticks(RESOLVED_ALERT_VISIBLE_S);
        let mut out = Vec::new();
        for (rule, state) in model.alert_rules.iter().zip(&telemetry.alerts) {
            for &(since, resolved) in &state.episodes {
                if resolved.is_some_and(|r| r + recent < tick) {
                    continue;
                }
                out.push(AlertView {
                    name: rule.name.clone(),
                    service: rule.when.service.clone(),
                    message: format!(
                        "{}{} {} at {:.1} {} ({} {} {} for {})",
                        // Once resolved the value shown is the current one: say so first.
                        if resolved.is_some() { "resolved: " } else { "" },
                        rule.when.service,
                        rule.when.metric.label(),
                        state.last_value,
                        rule.when.metric.unit(),
                        // The rule as the scenario writes it, to find it there.
                        metric_name(rule.when.metric),
                        match rule.when.op {
                            breakathon_scenario::Comparison::Above => "above",
                            breakathon_scenario::Comparison::Below => "below",
                        },
                        rule.when.threshold,
                        rule.when.for_duration
                    ),
                    firing: resolved.is_none(),
                    since_tick: since,
                    resolved_tick: resolved,
                });
            }
        }
        for decoy in &model.scenario.decoys {
            let at = decoy.at.to_ticks(model.scenario.tick);
            let end = at + decoy.duration.to_ticks(model.scenario.tick);
            if at >= tick || end + recent < tick {
                continue;
            }
            out.push(AlertView {
                name: decoy.name.clone(),
                service: decoy.service.clone(),
                message: decoy.message.clone(),
                firing: tick < end,
                since_tick: at,
                resolved_tick: (tick >= end).then_some(end),
            });
        }
        out.sort_by(|a, b| {
            a.since_tick
                .cmp(&b.since_tick)
                .then_with(|| a.name.cmp(&b.name))
        });
        out
    }

    /// Customer complaints filed so far.
    pub fn complaints(&self) -> &[Complaint] {
        &self.world.resource::<CustomerState>().complaints
    }

    /// The whole mutable state, for checkpoints.
    pub fn snapshot(&self) -> WorldSnapshot {
        let w = &self.world;
        WorldSnapshot {
            format: SNAPSHOT_FORMAT,
            clock: w.resource::<Clock>().clone(),
            fleet: followers::materialised(w.resource::<Fleet>()),
            incidents: w.resource::<Incidents>().clone(),
            telemetry: w.resource::<TelemetryState>().clone(),
            customers: w.resource::<CustomerState>().clone(),
            rngs: w.resource::<Rngs>().clone(),
            queue: w.resource::<ActionQueue>().clone(),
            pending_logs: w.resource::<PendingLogs>().clone(),
            report: w.resource::<Report>().clone(),
        }
    }

    /// A world continuing exactly from `snapshot`.
    pub fn restore(
        scenario: Arc<Scenario>,
        schedule: Arc<FaultSchedule>,
        snapshot: WorldSnapshot,
    ) -> Result<Simulation, SimError> {
        let model = Model::new(scenario, schedule)?;
        if snapshot.format != SNAPSHOT_FORMAT {
            return Err(SimError::SnapshotMismatch(format!(
                "format {} (this build reads {SNAPSHOT_FORMAT})",
                snapshot.format
            )));
        }
        if snapshot.fleet.services.len() != model.services.len()
            || snapshot.fleet.zones.len() != model.zone_names.len()
        {
            return Err(SimError::SnapshotMismatch(
                "the fleet has a different number of services or zones".into(),
            ));
        }
        if snapshot.fleet.instances.iter().any(|i| {
            i.service as usize >= model.services.len() || i.zone as usize >= model.zone_names.len()
        }) {
            return Err(SimError::SnapshotMismatch(
                "an instance refers to an unknown service or zone".into(),
            ));
        }
        if snapshot.telemetry.history.len() > model.services.len()
            || snapshot
                .telemetry
                .logs
                .iter()
                .any(|l| l.info.service as usize >= model.services.len())
        {
            return Err(SimError::SnapshotMismatch(
                "the telemetry refers to an unknown service".into(),
            ));
        }
        Ok(Self::build(model, snapshot))
    }

    /// How far each ring (metric history per service, logs) has been appended to: a
    /// checkpoint taken now stores these, and the next one only what came after.
    pub fn ring_marks(&self) -> RingMarks {
        let telemetry = self.world.resource::<TelemetryState>();
        let h = &telemetry.history;
        RingMarks {
            recent: (0..h.len()).map(|s| h.recent_pushed(s)).collect(),
            old: (0..h.len()).map(|s| h.old(s).pushed).collect(),
            logs: telemetry.logs.pushed(),
        }
    }

    /// What the rings appended since `marks` (everything they keep for marks of another
    /// world or [`RingMarks::default`]).
    pub fn ring_delta(&self, marks: &RingMarks) -> RingDelta {
        let telemetry = self.world.resource::<TelemetryState>();
        let mark = |v: &[u64], s: usize| v.get(s).copied().unwrap_or(0);
        let h = &telemetry.history;
        RingDelta {
            recent: (0..h.len())
                .map(|s| h.recent_since_mark(s, mark(&marks.recent, s)))
                .collect(),
            old: (0..h.len())
                .map(|s| h.old(s).since_mark(mark(&marks.old, s)))
                .collect(),
            logs: telemetry.logs.since_mark(marks.logs),
        }
    }

    /// The tick of the oldest item each kind of ring keeps now (`None`: nothing kept); a
    /// chunk whose items are all older is not needed by a checkpoint taken now.
    pub fn ring_oldest_ticks(&self) -> RingTicks {
        let telemetry = self.world.resource::<TelemetryState>();
        let h = &telemetry.history;
        RingTicks {
            recent: (0..h.len())
                .filter_map(|s| h.recent(s).next().map(|p| p.tick))
                .min(),
            old: (0..h.len())
                .filter_map(|s| h.old(s).items.front().map(|p| p.tick))
                .min(),
            logs: telemetry.logs.first_tick(),
        }
    }

    /// The whole mutable state but the contents of the rings (their counts are kept): with
    /// the [`RingDelta`]s of this and earlier checkpoints, [`Simulation::restore_incremental`]
    /// rebuilds the world.
    pub fn snapshot_base(&self) -> WorldSnapshot {
        let w = &self.world;
        let telemetry = w.resource::<TelemetryState>();
        let emptied = TelemetryState {
            history: telemetry.history.emptied(),
            logs: LogRing::counted(telemetry.logs.pushed()),
            alerts: telemetry.alerts.clone(),
        };
        WorldSnapshot {
            format: SNAPSHOT_FORMAT,
            clock: w.resource::<Clock>().clone(),
            fleet: followers::materialised(w.resource::<Fleet>()),
            incidents: w.resource::<Incidents>().clone(),
            telemetry: emptied,
            customers: w.resource::<CustomerState>().clone(),
            rngs: w.resource::<Rngs>().clone(),
            queue: w.resource::<ActionQueue>().clone(),
            pending_logs: w.resource::<PendingLogs>().clone(),
            report: w.resource::<Report>().clone(),
        }
    }

    /// A world continuing exactly from `base` (a [`Simulation::snapshot_base`]) whose rings
    /// are rebuilt from `deltas` (the [`RingDelta`]s of that checkpoint and earlier ones, in
    /// any order, each possibly holding only some kinds of ring). Fails when an item the
    /// rings keep is in none of them.
    pub fn restore_incremental(
        scenario: Arc<Scenario>,
        schedule: Arc<FaultSchedule>,
        mut base: WorldSnapshot,
        deltas: &[RingDelta],
    ) -> Result<Simulation, SimError> {
        let gap = |what: String, g: RingGap| {
            SimError::SnapshotMismatch(format!(
                "the checkpoint's {what} misses item {} on",
                g.missing_from
            ))
        };
        let telemetry = &mut base.telemetry;
        let mut histories = telemetry.history.to_services();
        for (s, h) in histories.iter_mut().enumerate() {
            h.recent = Ring::rebuild(
                h.recent.pushed,
                RECENT_POINTS,
                deltas.iter().filter_map(|d| d.recent.get(s)),
            )
            .map_err(|g| gap(format!("recent history of service {s}"), g))?;
            h.old = Ring::rebuild(
                h.old.pushed,
                OLD_POINTS,
                deltas.iter().filter_map(|d| d.old.get(s)),
            )
            .map_err(|g| gap(format!("downsampled history of service {s}"), g))?;
        }
        telemetry.history = Histories::from_services(histories);
        telemetry.logs = LogRing::rebuild(telemetry.logs.pushed(), deltas.iter().map(|d| &d.logs))
            .map_err(|g| gap("log".into(), g))?;
        Self::restore(scenario, schedule, base)
    }

    /// A stable hash of the whole state (FNV-1a over its canonical RON form, streamed; only
    /// the fleet is copied, to materialise the ticks and rows followers share,
    /// `systems::followers`).
    pub fn state_hash(&self) -> u64 {
        let w = &self.world;
        // Followers' ticks and rows materialised (`followers`), as snapshots hold them.
        let fleet = followers::materialised(w.resource::<Fleet>());
        let state = (
            SNAPSHOT_FORMAT,
            w.resource::<Clock>(),
            &fleet,
            w.resource::<Incidents>(),
            w.resource::<TelemetryState>(),
            w.resource::<CustomerState>(),
            w.resource::<Rngs>(),
            w.resource::<ActionQueue>(),
            w.resource::<PendingLogs>(),
            w.resource::<Report>(),
        );
        let mut hasher = Fnv1a::default();
        // Writing into the hasher cannot fail; a serializer error would be a bug in a type.
        let _ = ron::ser::to_writer(&mut hasher, &state);
        hasher.finish()
    }
}

fn service_view(model: &Model, fleet: &Fleet, s: u32, tick: u64) -> ServiceView {
    let svc = &fleet.services[s as usize];
    let stat = &model.services[s as usize];
    let spec = model.spec(s);
    let dark = svc.fx.telemetry_down;
    let instances: Vec<InstanceView> = svc
        .instances
        .iter()
        .map(|&id| (&fleet.instances[id as usize], fleet.tick_of(id as usize)))
        .filter(|(i, _)| i.exists())
        .map(|(inst, shared)| {
            let phase = match inst.life {
                Life::Booting { .. } => InstancePhase::Booting,
                Life::Running { since_tick }
                    if since_tick > 0 && tick < since_tick + stat.warmup_ticks =>
                {
                    InstancePhase::WarmingUp
                }
                Life::Running { .. } => InstancePhase::Running,
                Life::Down { .. } => InstancePhase::Down,
                Life::Removed => InstancePhase::Removed,
            };
            InstanceView {
                index: inst.index,
                zone: model.zone_names[inst.zone as usize].clone(),
                phase,
                version: inst.version.clone(),
                probe_healthy: inst.probe_healthy,
                drained: inst.drained,
                // (A follower's metrics are its leader's, `Fleet::tick_of`.)
                metrics: (!dark).then(|| {
                    let m = &shared.m;
                    InstanceMetrics {
                        rps: m.offered_rps,
                        error_percent: if m.offered_rps > 1e-9 {
                            (m.failed_rps / m.offered_rps * 100.0).min(100.0)
                        } else {
                            0.0
                        },
                        latency_p50_ms: m.latency_p50_ms,
                        latency_p99_ms: m.latency_p99_ms,
                        cpu_percent: m.cpu_percent,
                        memory_percent: m.memory_percent,
                        disk_percent: m.disk_percent,
                        connections_in_use: m.connections_in_use,
                        saturation_percent: m.utilisation * 100.0,
                    }
                }),
            }
        })
        .collect();
    let health = if dark {
        Health::Unknown
    } else if !instances
        .iter()
        .any(|i| i.phase == InstancePhase::Running || i.phase == InstancePhase::WarmingUp)
    {
        Health::Down
    } else if health::service_probes_ok(fleet, s) && health::slo_ok(model, fleet, s) {
        Health::Healthy
    } else {
        Health::Degraded
    };
    let dependencies = svc
        .deps
        .iter()
        .map(|d| DependencyView {
            service: model.services[d.callee as usize].name.clone(),
            calls_per_request: d.calls_per_request,
            pool_size: d.pool_size,
            timeout_ms: d.timeout_ms,
            retries: d.retries,
            critical: d.critical,
            circuit_open: d.breaker_open_until.is_some_and(|u| tick < u),
            calls_rps: d.calls_rps,
            error_percent: if d.calls_rps > 1e-9 {
                d.failed_rps / d.calls_rps * 100.0
            } else {
                0.0
            },
            latency_ms: d.latency_ms,
        })
        .collect();
    ServiceView {
        name: stat.name.clone(),
        kind: stat.kind,
        version: svc.version.clone(),
        customer_facing: spec.customer_facing,
        health,
        metrics: (!dark).then(|| point_of(model, fleet, s, tick.saturating_sub(1))),
        shed_percent: svc.shed * 100.0,
        rate_limit_rps: svc.rate_limit_rps,
        flags: svc.flags.clone(),
        config: svc.config.clone(),
        instances,
        dependencies,
    }
}

/// The snake_case name of a metric, as scenarios write it.
pub fn metric_name(metric: breakathon_scenario::Metric) -> &'static str {
    use breakathon_scenario::Metric as M;
    match metric {
        M::Rps => "rps",
        M::ErrorPercent => "error_percent",
        M::LatencyP50Ms => "latency_p50_ms",
        M::LatencyP99Ms => "latency_p99_ms",
        M::CpuPercent => "cpu_percent",
        M::MemoryPercent => "memory_percent",
        M::DiskPercent => "disk_percent",
        M::ConnectionsPercent => "connections_percent",
        M::SaturationPercent => "saturation_percent",
        M::HealthyPercent => "healthy_percent",
    }
}
