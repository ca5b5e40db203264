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

/// FNV-1a offset basis.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
/// FNV-1a prime.
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a over bytes: a small, fixed, platform-independent hash.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h = Fnv1a::default();
    h.write_bytes(bytes);
    h.finish()
}

/// A streaming FNV-1a hasher that text can be written into.
#[derive(Clone, Copy, Debug)]
pub struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(FNV_OFFSET)
    }
}

impl Fnv1a {
    /// Adds bytes.
    pub fn write_bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(FNV_PRIME);
        }
    }

    /// The hash so far.
    pub fn finish(&self) -> u64 {
        self.0
    }
}

impl std::fmt::Write for Fnv1a {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.write_bytes(s.as_bytes());
        Ok(())
    }
}
