//! The Breakathon simulation engine: a deterministic, aggregate (fluid) model of one team's
//! fleet of fake services on bevy_ecs, driven by a scenario and the shared fault schedule,
//! producing the symptoms an on-call engineer sees and reacting to the actions they take.
//!
//! Layout: [`schedule`] (the shared fault schedule), [`simulation`] (the world and its public
//! API), [`action`], [`incident`], [`telemetry`], [`view`], [`snapshot`] (public types),
//! [`model`] (static facts and the model's constants), [`state`] (the mutable resources),
//! [`faults`] (the catalog in the engine), [`systems`] (one module per tick stage),
//! [`history`] (bounded metric history), [`log_ring`] (the kept log lines), [`rng`] (named seeded streams), [`ops`] (instance
//! operations).

pub mod action;
pub mod dry_run;
pub mod error;
pub mod faults;
pub mod history;
pub mod incident;
pub mod log_ring;
pub mod model;
pub mod num;
pub mod ops;
pub mod rng;
pub mod schedule;
pub mod simulation;
pub mod snapshot;
pub mod state;
pub mod systems;
pub mod telemetry;
pub mod view;

pub use action::{Action, ActionParams};
pub use error::{ActionError, SimError};
pub use incident::IncidentStatus;
pub use schedule::{FaultSchedule, IncidentId, InstanceRef, RootTarget, ScheduledIncident};
pub use simulation::Simulation;
pub use snapshot::{RingDelta, RingMarks, RingTicks, WorldSnapshot};
pub use telemetry::{AlertView, Complaint, LogLevel, LogLine, MetricPoint, StoredLine, TickReport};
pub use view::{
    DependencyView, FleetView, Health, InstanceMetrics, InstancePhase, InstanceView, ServiceView,
    ZoneView,
};
