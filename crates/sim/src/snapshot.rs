//! Checkpoints: everything that changes while a world runs, including the random streams, as
//! one serde value. The static model is rebuilt from the scenario on restore.

use serde::{Deserialize, Serialize};

use crate::error::SimError;
use crate::faults::Incidents;
use crate::history::{PackedPoint, RingSlice};
use crate::rng::Rngs;
use crate::state::{Clock, Fleet};
use crate::systems::customers::CustomerState;
use crate::systems::telemetry::TelemetryState;
use crate::systems::{ActionQueue, PendingLogs, Report};
use crate::telemetry::{LogLevel, METRICS, StoredLine};

/// Version of the snapshot layout (2: packed `f32` history in counting rings, log lines with
/// a service index).
pub const SNAPSHOT_FORMAT: u32 = 2;

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

/// How far each ring of a world had been appended to (see [`crate::history::Ring`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RingMarks {
    /// Recent points pushed, per service.
    pub recent: Vec<u64>,
    /// Downsampled points pushed, per service.
    pub old: Vec<u64>,
    /// Log lines pushed.
    pub logs: u64,
}

/// What a world's rings appended since some [`RingMarks`]: the chunks of an incremental
/// checkpoint. Each kind encodes on its own ([`RingDelta::encode_points`],
/// [`RingDelta::encode_logs`]) as plain little-endian bytes, fast to write and to read back.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RingDelta {
    /// New recent points, per service.
    pub recent: Vec<RingSlice<PackedPoint>>,
    /// New downsampled points, per service.
    pub old: Vec<RingSlice<PackedPoint>>,
    /// New log lines.
    pub logs: RingSlice<StoredLine>,
}

/// The oldest tick each kind of ring keeps (`None`: empty), see
/// [`crate::Simulation::ring_oldest_ticks`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RingTicks {
    /// Recent points (over every service).
    pub recent: Option<u64>,
    /// Downsampled points (over every service).
    pub old: Option<u64>,
    /// Log lines.
    pub logs: Option<u64>,
}

/// Bytes of one encoded point: the tick and the metrics.
const POINT_BYTES: usize = 8 + 4 * METRICS;
/// Marker of a log line without an instance.
const NO_INSTANCE: u8 = 0;
/// Marker of a log line of an instance.
const WITH_INSTANCE: u8 = 1;

/// A cursor over encoded bytes that fails cleanly on truncated input.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], SimError> {
        if self.bytes.len() < n {
            return Err(SimError::SnapshotMismatch(
                "a checkpoint chunk is truncated".into(),
            ));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], SimError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u64(&mut self) -> Result<u64, SimError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, SimError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u8(&mut self) -> Result<u8, SimError> {
        Ok(self.array::<1>()?[0])
    }

    fn count(&mut self, item_bytes: usize) -> Result<usize, SimError> {
        let n = self.u32()? as usize;
        if n.saturating_mul(item_bytes) > self.bytes.len() {
            return Err(SimError::SnapshotMismatch(
                "a checkpoint chunk is truncated".into(),
            ));
        }
        Ok(n)
    }
}

fn len_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl RingDelta {
    /// Encodes per-service point slices (`recent` or `old`): the number of services, then
    /// per service its start, count and points (tick `u64`, metrics `f32`, little-endian).
    pub fn encode_points(slices: &[RingSlice<PackedPoint>]) -> Vec<u8> {
        let points: usize = slices.iter().map(|s| s.items.len()).sum();
        let mut out = Vec::with_capacity(4 + slices.len() * 12 + points * POINT_BYTES);
        out.extend_from_slice(&len_u32(slices.len()).to_le_bytes());
        for slice in slices {
            out.extend_from_slice(&slice.start.to_le_bytes());
            out.extend_from_slice(&len_u32(slice.items.len()).to_le_bytes());
            for p in &slice.items {
                out.extend_from_slice(&p.tick.to_le_bytes());
                for v in p.values {
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
        }
        out
    }

    /// Decodes what [`RingDelta::encode_points`] wrote.
    pub fn decode_points(bytes: &[u8]) -> Result<Vec<RingSlice<PackedPoint>>, SimError> {
        let mut r = Reader { bytes };
        let services = r.count(12)?;
        let mut slices = Vec::with_capacity(services);
        for _ in 0..services {
            let start = r.u64()?;
            let n = r.count(POINT_BYTES)?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                let tick = r.u64()?;
                let mut values = [0f32; METRICS];
                for v in &mut values {
                    *v = f32::from_le_bytes(r.array()?);
                }
                items.push(PackedPoint { tick, values });
            }
            slices.push(RingSlice { start, items });
        }
        Ok(slices)
    }

    /// Encodes a slice of log lines: start, count, then per line its tick, service, level,
    /// instance (marker and index) and text (length and UTF-8 bytes), little-endian.
    pub fn encode_logs(slice: &RingSlice<StoredLine>) -> Vec<u8> {
        let text: usize = slice.items.iter().map(|l| l.message.len()).sum();
        let mut out = Vec::with_capacity(12 + slice.items.len() * 22 + text);
        out.extend_from_slice(&slice.start.to_le_bytes());
        out.extend_from_slice(&len_u32(slice.items.len()).to_le_bytes());
        for line in &slice.items {
            out.extend_from_slice(&line.tick.to_le_bytes());
            out.extend_from_slice(&line.service.to_le_bytes());
            out.push(match line.level {
                LogLevel::Info => 0,
                LogLevel::Warn => 1,
                LogLevel::Error => 2,
            });
            match line.instance {
                Some(i) => {
                    out.push(WITH_INSTANCE);
                    out.extend_from_slice(&i.to_le_bytes());
                }
                None => out.push(NO_INSTANCE),
            }
            out.extend_from_slice(&len_u32(line.message.len()).to_le_bytes());
            out.extend_from_slice(line.message.as_bytes());
        }
        out
    }

    /// Decodes what [`RingDelta::encode_logs`] wrote.
    pub fn decode_logs(bytes: &[u8]) -> Result<RingSlice<StoredLine>, SimError> {
        let bad = |what: &str| SimError::SnapshotMismatch(format!("a log chunk has {what}"));
        let mut r = Reader { bytes };
        let start = r.u64()?;
        let n = r.count(18)?;
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            let tick = r.u64()?;
            let service = r.u32()?;
            let level = match r.u8()? {
                0 => LogLevel::Info,
                1 => LogLevel::Warn,
                2 => LogLevel::Error,
                _ => return Err(bad("an unknown level")),
            };
            let instance = match r.u8()? {
                NO_INSTANCE => None,
                WITH_INSTANCE => Some(r.u32()?),
                _ => return Err(bad("a bad instance marker")),
            };
            let len = r.u32()? as usize;
            let text = std::str::from_utf8(r.take(len)?).map_err(|_| bad("text not in UTF-8"))?;
            items.push(StoredLine {
                tick,
                message: text.into(),
                instance,
                service,
                level,
            });
        }
        Ok(RingSlice { start, items })
    }
}

/// The largest tick of the items in `slices` (`None`: no items): a chunk older than what
/// every kept checkpoint needs can be deleted.
pub fn last_point_tick(slices: &[RingSlice<PackedPoint>]) -> Option<u64> {
    slices
        .iter()
        .filter_map(|s| s.items.last().map(|p| p.tick))
        .max()
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
