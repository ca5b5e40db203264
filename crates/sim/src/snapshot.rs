//! Checkpoints: everything that changes while a world runs, including the random streams, as
//! one serde value. The static model is rebuilt from the scenario on restore.

use serde::{Deserialize, Serialize};

use crate::faults::Incidents;
use crate::rng::Rngs;
use crate::state::{Clock, Fleet};
use crate::systems::customers::CustomerState;
use crate::systems::telemetry::TelemetryState;
use crate::systems::{ActionQueue, PendingLogs, Report};

/// Version of the snapshot layout.
pub const SNAPSHOT_FORMAT: u32 = 1;

/// The whole mutable state of one world.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorldSnapshot {
    /// Layout version ([`SNAPSHOT_FORMAT`]).
    pub format: u32,
    /// Simulated time.
    pub clock: Clock,
    /// Zones, services, instances.
    pub fleet: Fleet,
    /// Incidents.
    pub incidents: Incidents,
    /// Metric history, logs, alerts.
    pub telemetry: TelemetryState,
    /// Complaints and breach tracking.
    pub customers: CustomerState,
    /// Random streams.
    pub rngs: Rngs,
    /// Actions waiting for the next tick.
    pub queue: ActionQueue,
    /// Lines waiting to be logged.
    pub pending_logs: PendingLogs,
    /// The last tick's report.
    pub report: Report,
}

/// FNV-1a over bytes: a small, fixed, platform-independent hash.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET, |hash, &b| (hash ^ u64::from(b)).wrapping_mul(PRIME))
}
