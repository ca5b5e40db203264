//! Checkpoints: everything that changes while a world runs, including the random streams, as
//! one serde value. The static model is rebuilt from the scenario on restore.

use serde::{Deserialize, Serialize};

use std::collections::VecDeque;

use crate::error::SimError;
use crate::faults::Incidents;
use crate::history::{
    Histories, OLD_POINTS, PackedPoint, RECENT_POINTS, Ring, RingSlice, ring_len,
};
use crate::log_ring::{LineInfo, LogRing};
use crate::rng::Rngs;
use crate::state::{Clock, Fleet};
use crate::systems::customers::CustomerState;
use crate::systems::telemetry::{MAX_LOG_LINES, TelemetryState};
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
        let mut r = Reader { bytes };
        let start = r.u64()?;
        let n = r.count(18)?;
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            let line = read_line(&mut r)?;
            items.push(line.into_stored()?);
        }
        Ok(RingSlice { start, items })
    }
}

/// The encoded ring chunks of one world, as [`RingDelta::encode_points`] and
/// [`RingDelta::encode_logs`] wrote them, borrowed (no copy): what
/// [`WorldSnapshot::fill_rings`] rebuilds a base's rings from.
#[derive(Clone, Debug, Default)]
pub struct EncodedRings<'a> {
    /// Chunks of recent points.
    pub recent: Vec<&'a [u8]>,
    /// Chunks of downsampled points.
    pub old: Vec<&'a [u8]>,
    /// Chunks of log lines.
    pub logs: Vec<&'a [u8]>,
}

/// The items of one ring found in one encoded chunk: their first index, count and bytes.
#[derive(Clone, Copy, Debug)]
struct Segment<'a> {
    start: u64,
    count: u64,
    bytes: &'a [u8],
}

impl Segment<'_> {
    fn end(&self) -> u64 {
        self.start.saturating_add(self.count)
    }
}

/// Splits an encoded chunk of points into its services' segments, appending service `s`'s
/// to `per_service[s]` (services beyond `per_service` are ignored).
fn point_segments<'a>(
    bytes: &'a [u8],
    per_service: &mut [Vec<Segment<'a>>],
) -> Result<(), SimError> {
    let mut r = Reader { bytes };
    let services = r.count(12)?;
    for s in 0..services {
        let start = r.u64()?;
        let n = r.count(POINT_BYTES)?;
        let bytes = r.take(n * POINT_BYTES)?;
        if let Some(list) = per_service.get_mut(s) {
            list.push(Segment {
                start,
                count: n as u64,
                bytes,
            });
        }
    }
    Ok(())
}

/// Appends items `from..to` of a segment to a ring's items.
type TakeItems<'a, T> =
    dyn FnMut(&Segment<'a>, usize, usize, &mut VecDeque<T>) -> Result<(), SimError>;

/// Fills `items` with the items `[pushed − len, pushed)` of a ring bounded to `cap` from
/// `segments` (in any order, overlapping or not), each item taken by `take(segment, from,
/// to, items)` (items `from..to` of the segment). Fails, naming `what`, on a missing item.
fn fill_window<'a, T>(
    items: &mut VecDeque<T>,
    pushed: u64,
    cap: usize,
    segments: &mut [Segment<'a>],
    what: &dyn Fn() -> String,
    take: &mut TakeItems<'a, T>,
) -> Result<(), SimError> {
    let len = ring_len(pushed, cap);
    let first = pushed - len as u64;
    *items = VecDeque::with_capacity(len);
    // Chunks come oldest first: usually sorted already.
    segments.sort_by_key(|s| s.start);
    let mut next = first;
    for seg in segments.iter() {
        if next == pushed {
            break;
        }
        if seg.end() <= next {
            continue;
        }
        if seg.start > next {
            break;
        }
        let end = seg.end().min(pushed);
        let from = usize::try_from(next - seg.start).unwrap_or(usize::MAX);
        let to = usize::try_from(end - seg.start).unwrap_or(usize::MAX);
        take(seg, from, to, items)?;
        next = end;
    }
    if next < pushed {
        return Err(SimError::SnapshotMismatch(format!(
            "the checkpoint's {} misses item {next} on",
            what()
        )));
    }
    Ok(())
}

/// Appends points `from..to` of a segment of encoded points.
fn take_points(
    seg: &Segment<'_>,
    from: usize,
    to: usize,
    items: &mut VecDeque<PackedPoint>,
) -> Result<(), SimError> {
    let bytes = seg
        .bytes
        .get(from * POINT_BYTES..to * POINT_BYTES)
        .ok_or_else(|| SimError::SnapshotMismatch("a checkpoint chunk is truncated".into()))?;
    for p in bytes.chunks_exact(POINT_BYTES) {
        let (tick, rest) = p.split_at(8);
        let mut t = [0u8; 8];
        t.copy_from_slice(tick);
        let mut values = [0f32; METRICS];
        for (v, b) in values.iter_mut().zip(rest.chunks_exact(4)) {
            let mut f = [0u8; 4];
            f.copy_from_slice(b);
            *v = f32::from_le_bytes(f);
        }
        items.push_back(PackedPoint {
            tick: u64::from_le_bytes(t),
            values,
        });
    }
    Ok(())
}

/// One encoded log line, borrowed.
struct LineRef<'a> {
    tick: u64,
    service: u32,
    level: LogLevel,
    instance: Option<u32>,
    text: &'a [u8],
}

impl<'a> LineRef<'a> {
    fn text(&self) -> Result<&'a str, SimError> {
        std::str::from_utf8(self.text)
            .map_err(|_| SimError::SnapshotMismatch("a log chunk has text not in UTF-8".into()))
    }

    fn info(&self) -> LineInfo {
        LineInfo {
            tick: self.tick,
            instance: self.instance,
            service: self.service,
            level: self.level,
        }
    }

    fn into_stored(self) -> Result<StoredLine, SimError> {
        let text = self.text()?;
        Ok(StoredLine {
            tick: self.tick,
            message: text.into(),
            instance: self.instance,
            service: self.service,
            level: self.level,
        })
    }
}

fn read_line<'a>(r: &mut Reader<'a>) -> Result<LineRef<'a>, SimError> {
    let bad = |what: &str| SimError::SnapshotMismatch(format!("a log chunk has {what}"));
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
    let text = r.take(len)?;
    Ok(LineRef {
        tick,
        service,
        level,
        instance,
        text,
    })
}

/// Appends lines `from..to` of a segment of encoded log lines (earlier ones are skipped),
/// borrowed from the segment.
fn take_lines<'a>(
    seg: &Segment<'a>,
    from: usize,
    to: usize,
    items: &mut VecDeque<LineRef<'a>>,
) -> Result<(), SimError> {
    let mut r = Reader { bytes: seg.bytes };
    for i in 0..to {
        let line = read_line(&mut r)?;
        if i >= from {
            items.push_back(line);
        }
    }
    Ok(())
}

impl WorldSnapshot {
    /// Rebuilds the rings of a base snapshot ([`crate::Simulation::snapshot_base`]: counts,
    /// no contents) straight from the encoded chunks of that checkpoint and earlier ones (in
    /// any order, overlapping or not), without decoding them into [`RingDelta`]s first; the
    /// same rings as [`crate::Simulation::restore_incremental`] builds. Fails when an item
    /// the rings keep is in no chunk, or a chunk is malformed.
    pub fn fill_rings(&mut self, chunks: &EncodedRings<'_>) -> Result<(), SimError> {
        let services = self.telemetry.history.len();
        let mut histories = self.telemetry.history.to_services();
        for (kind, encoded) in [("recent", &chunks.recent), ("downsampled", &chunks.old)] {
            let mut per_service: Vec<Vec<Segment<'_>>> = vec![Vec::new(); services];
            for bytes in encoded.iter() {
                point_segments(bytes, &mut per_service)?;
            }
            for (s, (h, segments)) in (histories.iter_mut()).zip(&mut per_service).enumerate() {
                let (ring, cap): (&mut Ring<PackedPoint>, usize) = if kind == "recent" {
                    (&mut h.recent, RECENT_POINTS)
                } else {
                    (&mut h.old, OLD_POINTS)
                };
                let what = || format!("{kind} history of service {s}");
                fill_window(
                    &mut ring.items,
                    ring.pushed,
                    cap,
                    segments,
                    &what,
                    &mut take_points,
                )?;
            }
        }
        self.telemetry.history = Histories::from_services(histories);
        let mut segments = Vec::with_capacity(chunks.logs.len());
        for bytes in &chunks.logs {
            let mut r = Reader { bytes };
            let start = r.u64()?;
            let count = r.count(18)? as u64;
            segments.push(Segment {
                start,
                count,
                bytes: r.bytes,
            });
        }
        let pushed = self.telemetry.logs.pushed();
        let mut lines = VecDeque::new();
        fill_window(
            &mut lines,
            pushed,
            MAX_LOG_LINES,
            &mut segments,
            &|| "log".to_owned(),
            &mut take_lines,
        )?;
        let mut kept = Vec::with_capacity(lines.len());
        for line in &lines {
            kept.push((line.info(), line.text()?));
        }
        self.telemetry.logs = LogRing::from_kept(pushed, kept);
        Ok(())
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{FaultSchedule, Simulation};

    /// The fixture scenario of the determinism tests: two zones, five services, faults.
    const FIXTURE: &str = include_str!("../tests/fixtures/determinism.ron");

    /// Encoded chunks of kind `pick` (recent, old or logs) of a world run to `ticks` with a
    /// checkpoint every `every` ticks, oldest first; the world and its base at the end.
    fn run(ticks: u64, every: u64) -> (Simulation, WorldSnapshot, [Vec<Vec<u8>>; 3]) {
        let mut scenario = breakathon_scenario::parse_unchecked(FIXTURE).expect("fixture parses");
        scenario.seed = 11;
        let schedule = Arc::new(FaultSchedule::compute(&scenario, 11));
        let mut sim = Simulation::new(Arc::new(scenario), schedule).expect("valid");
        let mut marks = RingMarks::default();
        let mut chunks: [Vec<Vec<u8>>; 3] = Default::default();
        while sim.tick() < ticks {
            sim.step_until((sim.tick() + every).min(ticks));
            let delta = sim.ring_delta(&marks);
            chunks[0].push(RingDelta::encode_points(&delta.recent));
            chunks[1].push(RingDelta::encode_points(&delta.old));
            chunks[2].push(RingDelta::encode_logs(&delta.logs));
            marks = sim.ring_marks();
        }
        let base = sim.snapshot_base();
        (sim, base, chunks)
    }

    fn encoded(chunks: &[Vec<Vec<u8>>; 3]) -> EncodedRings<'_> {
        let all = |k: usize| chunks[k].iter().map(Vec::as_slice).collect();
        EncodedRings {
            recent: all(0),
            old: all(1),
            logs: all(2),
        }
    }

    #[test]
    fn rings_filled_from_encoded_chunks_equal_the_running_world() {
        // 30 minutes: recent rings full and evicting, downsampled points, many log lines.
        let (sim, mut base, chunks) = run(1_800, 60);
        base.fill_rings(&encoded(&chunks)).expect("complete");
        let whole = sim.snapshot();
        assert_eq!(base.telemetry, whole.telemetry);
        // The case is the interesting one: full rings, downsampled points, logs.
        let history = whole.telemetry.history.service(0);
        assert_eq!(history.recent.items.len(), crate::history::RECENT_POINTS);
        assert!(!history.old.items.is_empty());
        assert!(!whole.telemetry.logs.is_empty());
    }

    #[test]
    fn chunks_in_any_order_and_overlapping_fill_the_same_rings() {
        let (sim, base, mut chunks) = run(1_000, 70);
        // Newest first, and everything the rings keep once more on top (an overlap).
        for kind in &mut chunks {
            kind.reverse();
        }
        let full = sim.ring_delta(&RingMarks::default());
        chunks[0].push(RingDelta::encode_points(&full.recent));
        chunks[2].push(RingDelta::encode_logs(&full.logs));
        let mut filled = base.clone();
        filled.fill_rings(&encoded(&chunks)).expect("complete");
        assert_eq!(filled.telemetry, sim.snapshot().telemetry);
    }

    #[test]
    fn a_missing_or_truncated_chunk_is_an_error_not_a_panic() {
        let (_, base, chunks) = run(900, 60);
        let mut missing = chunks.clone();
        missing[0].pop();
        let err = base
            .clone()
            .fill_rings(&encoded(&missing))
            .expect_err("the newest recent points are missing");
        assert!(err.to_string().contains("misses item"), "{err}");
        for kind in 0..3 {
            let mut cut = chunks.clone();
            let last = cut[kind].last_mut().expect("a chunk");
            last.truncate(last.len() - 3);
            assert!(base.clone().fill_rings(&encoded(&cut)).is_err());
        }
    }
}
