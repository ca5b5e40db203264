//! placeholder

pub mod schedule;
pub use schedule::{FaultSchedule, IncidentId, InstanceRef, RootTarget, ScheduledIncident};
