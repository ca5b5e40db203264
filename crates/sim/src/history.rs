//! Bounded metric history: every tick for the recent past, downsampled averages beyond, so a
//! world's memory does not grow with the length of the game.
//!
//! Points are stored packed ([`PackedPoint`]: `f32` values, 48 bytes instead of 88) in
//! [`Ring`]s whose capacity follows their bound exactly (no doubling slack). A ring counts
//! every item ever pushed, so that a checkpoint can store only what was appended since the
//! previous one ([`Ring::since_mark`]) and recovery can rebuild it ([`Ring::rebuild`]).
//!
//! A running world keeps its services' histories in [`Histories`]: the recent points of all
//! services in one buffer laid out by tick, so that a tick's pushes go through memory in
//! order; it serializes as, and converts to and from, one [`ServiceHistory`] per service.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::telemetry::{METRICS, MetricPoint};

/// Points kept at full resolution (one per tick).
pub const RECENT_POINTS: usize = 600;
/// Ticks averaged into one downsampled point.
pub const DOWNSAMPLE_TICKS: u64 = 60;
/// Downsampled points kept.
pub const OLD_POINTS: usize = 1_440;
/// Downsampled points the old ring's capacity grows by at once (an hour of them), so that its
/// capacity stays close to its length over a game of a few hours.
pub const OLD_GROWTH_POINTS: usize = 60;

/// A stored metric point: its tick and the ten metrics as `f32` (seven significant digits,
/// more than a chart shows), in the order of [`MetricPoint::values`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PackedPoint {
    /// The tick (for a downsampled point: the first tick of its window).
    pub tick: u64,
    /// The metrics, rounded to `f32`.
    pub values: [f32; METRICS],
}

impl PackedPoint {
    /// `point` rounded to `f32` values.
    pub fn pack(point: &MetricPoint) -> PackedPoint {
        PackedPoint::from_values(point.tick, point.values())
    }

    /// The point of `tick` with `values` in the order of [`MetricPoint::values`], packed.
    pub fn from_values(tick: u64, values: [f64; METRICS]) -> PackedPoint {
        // Rounding to f32 is the point of packing.
        #[allow(clippy::cast_possible_truncation)]
        let values = values.map(|v| v as f32);
        PackedPoint { tick, values }
    }

    /// The point as the public API shows it.
    pub fn unpack(&self) -> MetricPoint {
        MetricPoint::from_values(self.tick, self.values.map(f64::from))
    }
}

/// A bounded ring of items, oldest first, that counts every item ever pushed: the item at
/// position `i` of the ring has index `pushed - len + i` in the whole sequence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ring<T> {
    /// The items kept, oldest first.
    pub items: VecDeque<T>,
    /// Items pushed since the ring was created (kept and evicted).
    pub pushed: u64,
}

impl<T> Default for Ring<T> {
    fn default() -> Self {
        Ring {
            items: VecDeque::new(),
            pushed: 0,
        }
    }
}

/// The items of a ring from index `start` on, oldest first (a chunk of an incremental
/// checkpoint).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RingSlice<T> {
    /// Index of the first item in the whole sequence.
    pub start: u64,
    /// The items.
    pub items: Vec<T>,
}

impl<T> Default for RingSlice<T> {
    fn default() -> Self {
        RingSlice {
            start: 0,
            items: Vec::new(),
        }
    }
}

/// Items of a ring missing from the slices it is rebuilt from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingGap {
    /// Index of the first missing item.
    pub missing_from: u64,
}

/// How many items a ring bounded to `cap` holds after `pushed` pushes.
pub fn ring_len(pushed: u64, cap: usize) -> usize {
    usize::try_from(pushed).map_or(cap, |p| p.min(cap))
}

impl<T: Clone> Ring<T> {
    /// Appends `item`, evicting and returning the oldest one if the ring already holds `cap`.
    /// When it must grow, the capacity grows by at most `growth` (and never beyond `cap`).
    pub fn push(&mut self, item: T, cap: usize, growth: usize) -> Option<T> {
        let len = self.items.len();
        let evicted = if len >= cap {
            self.items.pop_front()
        } else {
            if len == self.items.capacity() {
                self.items.reserve_exact(growth.clamp(1, cap - len));
            }
            None
        };
        self.items.push_back(item);
        self.pushed += 1;
        evicted
    }

    /// Index of the oldest item kept.
    pub fn first_index(&self) -> u64 {
        self.pushed - self.items.len() as u64
    }

    /// The items kept whose index is at least `mark`: what was appended since a checkpoint
    /// taken when `pushed` was `mark` (everything kept, if more was appended than is kept).
    pub fn since_mark(&self, mark: u64) -> RingSlice<T> {
        let start = mark.clamp(self.first_index(), self.pushed);
        let skip = usize::try_from(start - self.first_index()).unwrap_or(usize::MAX);
        RingSlice {
            start,
            items: self.items.iter().skip(skip).cloned().collect(),
        }
    }

    /// The ring bounded to `cap` after `pushed` pushes, its items taken from `slices` (in any
    /// order, overlapping or not; items outside the ring's window are ignored). Fails when
    /// an item of the window is in none of them. The capacity is exactly the length.
    pub fn rebuild<'a>(
        pushed: u64,
        cap: usize,
        slices: impl IntoIterator<Item = &'a RingSlice<T>>,
    ) -> Result<Ring<T>, RingGap>
    where
        T: 'a,
    {
        let len = ring_len(pushed, cap);
        let first = pushed - len as u64;
        let mut slices: Vec<&RingSlice<T>> = slices
            .into_iter()
            .filter(|s| s.start + (s.items.len() as u64) > first && s.start < pushed)
            .collect();
        slices.sort_by_key(|s| s.start);
        let mut items = VecDeque::with_capacity(len);
        let mut next = first;
        for slice in slices {
            if slice.start > next {
                break;
            }
            let end = slice.start + slice.items.len() as u64;
            if end <= next {
                continue;
            }
            let from = usize::try_from(next - slice.start).unwrap_or(usize::MAX);
            let to = usize::try_from(end.min(pushed) - slice.start).unwrap_or(usize::MAX);
            items.extend(slice.items[from..to].iter().cloned());
            next = end.min(pushed);
            if next == pushed {
                break;
            }
        }
        if next < pushed {
            return Err(RingGap { missing_from: next });
        }
        Ok(Ring { items, pushed })
    }

    /// Gives the ring the capacity its bound calls for: exactly `cap` if it is full (or
    /// `growth` is at least `cap`), else its length (a restored ring must not keep the
    /// doubling slack of deserialization).
    pub fn fit_capacity(&mut self, cap: usize, growth: usize) {
        let len = self.items.len();
        let want = if len >= cap || growth >= cap {
            cap.max(len)
        } else {
            len
        };
        if self.items.capacity() != want {
            let mut items = VecDeque::with_capacity(want);
            items.extend(self.items.drain(..));
            self.items = items;
        }
    }
}

/// The history of one service.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceHistory {
    /// Recent points, one per tick with telemetry, oldest first.
    pub recent: Ring<PackedPoint>,
    /// Downsampled points, oldest first.
    pub old: Ring<PackedPoint>,
    /// First tick of the window being downsampled.
    pub acc_tick: u64,
    /// Sums of the window being downsampled, in [`MetricPoint::values`] order.
    pub acc: [f64; METRICS],
    /// Points in `acc`.
    pub acc_count: u32,
}

impl ServiceHistory {
    /// Records a point.
    pub fn push(&mut self, point: MetricPoint) {
        self.push_packed(PackedPoint::pack(&point));
    }

    /// Records a point already packed (the point of [`PackedPoint::pack`]).
    #[inline]
    pub fn push_packed(&mut self, packed: PackedPoint) {
        self.push_packed_with(|| packed);
    }

    /// Records the point `packed` gives, asked for once the oldest point has been folded
    /// (so that a caller's values need not be held across the fold).
    #[inline]
    pub fn push_packed_with(&mut self, packed: impl FnOnce() -> PackedPoint) {
        // What `self.recent.push(packed, RECENT_POINTS, RECENT_POINTS)` does, with the
        // evicted point folded in place.
        let len = self.recent.items.len();
        if len >= RECENT_POINTS {
            // Full: the oldest point is folded into the downsampled window as it is dropped.
            if let Some(evicted) = self.recent.items.pop_front() {
                self.fold(&evicted);
            }
        } else if len == self.recent.items.capacity() {
            // Growing: straight to the bound (a growth of `RECENT_POINTS`, clamped).
            self.recent.items.reserve_exact(RECENT_POINTS - len);
        }
        self.recent.items.push_back(packed());
        self.recent.pushed += 1;
    }

    fn fold(&mut self, p: &PackedPoint) {
        let mut down = Downsampled {
            old: std::mem::take(&mut self.old),
            acc_tick: self.acc_tick,
            acc: self.acc,
            acc_count: self.acc_count,
        };
        down.fold(p);
        self.old = down.old;
        self.acc_tick = down.acc_tick;
        self.acc = down.acc;
        self.acc_count = down.acc_count;
    }

    /// Points from `since_tick` on, oldest first (downsampled ones first).
    pub fn since(&self, since_tick: u64) -> Vec<MetricPoint> {
        self.old
            .items
            .iter()
            .filter(|p| p.tick + DOWNSAMPLE_TICKS > since_tick)
            .chain(self.recent.items.iter().filter(|p| p.tick >= since_tick))
            .map(PackedPoint::unpack)
            .collect()
    }

    /// Gives both rings the capacity their bounds call for (after a restore).
    pub fn fit_capacity(&mut self) {
        self.recent.fit_capacity(RECENT_POINTS, RECENT_POINTS);
        self.old.fit_capacity(OLD_POINTS, OLD_GROWTH_POINTS);
    }
}

/// The downsampled part of a service's history: the downsampled points and the window being
/// averaged (the fields of [`ServiceHistory`] besides `recent`).
#[derive(Clone, Debug, Default, PartialEq)]
struct Downsampled {
    old: Ring<PackedPoint>,
    acc_tick: u64,
    acc: [f64; METRICS],
    acc_count: u32,
}

impl Downsampled {
    /// Adds `p`, the oldest full-resolution point being dropped, to the window being
    /// averaged (first flushing the window if `p` is outside it).
    #[inline]
    fn fold(&mut self, p: &PackedPoint) {
        // `acc_tick` is the first tick of its window (a multiple of `DOWNSAMPLE_TICKS`), so
        // `p` is in another window exactly when it is outside [acc_tick, acc_tick + window).
        debug_assert!(self.acc_count == 0 || self.acc_tick.is_multiple_of(DOWNSAMPLE_TICKS));
        if self.acc_count > 0 && p.tick.wrapping_sub(self.acc_tick) >= DOWNSAMPLE_TICKS {
            self.flush();
        }
        if self.acc_count == 0 {
            self.acc_tick = p.tick / DOWNSAMPLE_TICKS * DOWNSAMPLE_TICKS;
            self.acc = [0.0; METRICS];
        }
        for (sum, v) in self.acc.iter_mut().zip(p.values) {
            *sum += f64::from(v);
        }
        self.acc_count += 1;
    }

    #[cold]
    #[inline(never)]
    fn flush(&mut self) {
        let n = f64::from(self.acc_count.max(1));
        let avg = MetricPoint::from_values(self.acc_tick, self.acc.map(|sum| sum / n));
        self.old
            .push(PackedPoint::pack(&avg), OLD_POINTS, OLD_GROWTH_POINTS);
        self.acc_count = 0;
    }
}

/// The frame of a service's `k`-th recent point in [`Histories`].
fn frame_of(k: u64) -> usize {
    // Below RECENT_POINTS.
    #[allow(clippy::cast_possible_truncation)]
    let frame = (k % RECENT_POINTS as u64) as usize;
    frame
}

/// One service's place in [`Histories`].
#[derive(Clone, Debug, Default)]
struct Lane {
    /// Recent points pushed (kept and dropped).
    pushed: u64,
    /// Recent points kept (the last ones pushed; at most [`RECENT_POINTS`]).
    len: usize,
    /// Frame of the next push: `pushed % RECENT_POINTS`.
    head: usize,
    /// The downsampled history.
    down: Downsampled,
}

/// The metric histories of every service of a world, with the recent points of all services
/// in one buffer of [`RECENT_POINTS`] frames, one point per service each: the `k`-th point
/// pushed of service `s` is in frame `k % RECENT_POINTS`, at `s`. Services that push every
/// tick (all but those whose telemetry went dark) push into the same frame, so a tick's pushes
/// — and the reads of the oldest points they drop, written [`RECENT_POINTS`] ticks earlier
/// and no longer in the cache — go through memory in order, which the processor fetches
/// ahead, instead of one cold place per service.
///
/// Outside, it is the `Vec` of [`ServiceHistory`] it replaces: it serializes as that, compares
/// by content, and converts to and from it ([`Histories::to_services`],
/// [`Histories::from_services`]).
#[derive(Clone, Default)]
pub struct Histories {
    lanes: Vec<Lane>,
    /// `RECENT_POINTS * lanes.len()` points once anything was pushed (else empty).
    points: Vec<PackedPoint>,
}

impl Histories {
    /// Services.
    pub fn len(&self) -> usize {
        self.lanes.len()
    }

    /// Whether there are no services.
    pub fn is_empty(&self) -> bool {
        self.lanes.is_empty()
    }

    /// The histories of `services` services, with the buffer ready for their pushes (what the
    /// histories become before the first push; services added are empty).
    pub fn prepare(&mut self, services: usize) {
        if self.lanes.len() != services {
            let mut all = self.to_services();
            all.resize_with(services, ServiceHistory::default);
            *self = Histories::from_services(all);
        }
        if self.points.len() != RECENT_POINTS * services {
            debug_assert!(self.lanes.iter().all(|lane| lane.len == 0));
            self.points = vec![PackedPoint::default(); RECENT_POINTS * services];
        }
    }

    /// Where the `k`-th recent point of service `s` is.
    fn slot(&self, s: usize, k: u64) -> usize {
        frame_of(k) * self.lanes.len() + s
    }

    /// The index of service `s`'s oldest kept recent point.
    fn first_index(&self, s: usize) -> u64 {
        let lane = &self.lanes[s];
        lane.pushed - lane.len as u64
    }

    /// Service `s`'s kept recent points, oldest first.
    pub fn recent(&self, s: usize) -> impl DoubleEndedIterator<Item = &PackedPoint> {
        (self.first_index(s)..self.lanes[s].pushed).map(move |k| &self.points[self.slot(s, k)])
    }

    /// Recent points of service `s` pushed (kept and dropped).
    pub fn recent_pushed(&self, s: usize) -> u64 {
        self.lanes[s].pushed
    }

    /// Service `s`'s downsampled points.
    pub fn old(&self, s: usize) -> &Ring<PackedPoint> {
        &self.lanes[s].down.old
    }

    /// Service `s`'s kept recent points whose index is at least `mark` (see
    /// [`Ring::since_mark`]).
    pub fn recent_since_mark(&self, s: usize, mark: u64) -> RingSlice<PackedPoint> {
        let first = self.first_index(s);
        let start = mark.clamp(first, self.lanes[s].pushed);
        RingSlice {
            start,
            items: (start..self.lanes[s].pushed)
                .map(|k| self.points[self.slot(s, k)])
                .collect(),
        }
    }

    /// Points of service `s` from `since_tick` on, oldest first (downsampled ones first), as
    /// [`ServiceHistory::since`] gives them.
    pub fn since(&self, s: usize, since_tick: u64) -> Vec<MetricPoint> {
        self.old(s)
            .items
            .iter()
            .filter(|p| p.tick + DOWNSAMPLE_TICKS > since_tick)
            .chain(self.recent(s).filter(|p| p.tick >= since_tick))
            .map(PackedPoint::unpack)
            .collect()
    }

    /// Service `s`'s history as a [`ServiceHistory`] of its own (a copy).
    pub fn service(&self, s: usize) -> ServiceHistory {
        let lane = &self.lanes[s];
        ServiceHistory {
            recent: Ring {
                items: self.recent(s).copied().collect(),
                pushed: lane.pushed,
            },
            old: lane.down.old.clone(),
            acc_tick: lane.down.acc_tick,
            acc: lane.down.acc,
            acc_count: lane.down.acc_count,
        }
    }

    /// Every service's history as a [`ServiceHistory`] of its own (copies).
    pub fn to_services(&self) -> Vec<ServiceHistory> {
        (0..self.len()).map(|s| self.service(s)).collect()
    }

    /// The histories of `services` (each keeps at most its last [`RECENT_POINTS`] recent
    /// points).
    pub fn from_services(services: Vec<ServiceHistory>) -> Histories {
        let n = services.len();
        let any = services.iter().any(|h| !h.recent.items.is_empty());
        let mut out = Histories {
            lanes: Vec::with_capacity(n),
            points: if any {
                vec![PackedPoint::default(); RECENT_POINTS * n]
            } else {
                Vec::new()
            },
        };
        let mut recents = Vec::with_capacity(n);
        for h in services {
            let len = h.recent.items.len().min(RECENT_POINTS);
            let pushed = h.recent.pushed.max(len as u64);
            let mut old = h.old;
            old.fit_capacity(OLD_POINTS, OLD_GROWTH_POINTS);
            out.lanes.push(Lane {
                pushed,
                len,
                head: frame_of(pushed),
                down: Downsampled {
                    old,
                    acc_tick: h.acc_tick,
                    acc: h.acc,
                    acc_count: h.acc_count,
                },
            });
            recents.push(h.recent.items);
        }
        for (s, items) in recents.into_iter().enumerate() {
            let len = out.lanes[s].len;
            let first = out.first_index(s);
            let skip = items.len() - len;
            for (k, p) in (first..).zip(items.into_iter().skip(skip)) {
                let slot = out.slot(s, k);
                out.points[slot] = p;
            }
        }
        out
    }

    /// The histories with the same counts and downsampling windows but no points kept: what a
    /// checkpoint's base holds (see [`ServiceHistory`]'s rings' counts).
    pub fn emptied(&self) -> Histories {
        Histories {
            lanes: (self.lanes.iter())
                .map(|lane| Lane {
                    len: 0,
                    down: Downsampled {
                        old: Ring {
                            items: Default::default(),
                            pushed: lane.down.old.pushed,
                        },
                        ..lane.down.clone()
                    },
                    ..*lane
                })
                .collect(),
            points: Vec::new(),
        }
    }

    /// Gives the downsampled rings the capacity their bound calls for (after a restore).
    pub fn fit_capacity(&mut self) {
        for lane in &mut self.lanes {
            lane.down.old.fit_capacity(OLD_POINTS, OLD_GROWTH_POINTS);
        }
    }

    /// Records the point `packed` gives as service `s`'s next recent point (folding the
    /// oldest one into the downsampled window if [`RECENT_POINTS`] are kept). The buffer must
    /// be ready ([`Histories::prepare`]).
    #[inline]
    pub fn push_with(&mut self, s: usize, packed: impl FnOnce() -> PackedPoint) {
        let n = self.lanes.len();
        let lane = &mut self.lanes[s];
        let slot = lane.head * n + s;
        if lane.len >= RECENT_POINTS {
            // Full: the oldest point (in this slot) is folded as it is dropped.
            lane.down.fold(&self.points[slot]);
        } else {
            lane.len += 1;
        }
        self.points[slot] = packed();
        lane.head += 1;
        if lane.head == RECENT_POINTS {
            lane.head = 0;
        }
        lane.pushed += 1;
    }
}

impl PartialEq for Histories {
    /// Equal when every service's history is (wherever the points are in the buffers).
    fn eq(&self, other: &Histories) -> bool {
        self.len() == other.len()
            && (0..self.len()).all(|s| {
                let (a, b) = (&self.lanes[s], &other.lanes[s]);
                a.pushed == b.pushed
                    && a.len == b.len
                    && a.down == b.down
                    && self.recent(s).eq(other.recent(s))
            })
    }
}

impl std::fmt::Debug for Histories {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.to_services()).finish()
    }
}

/// A [`Ring`] of recent points borrowed from [`Histories`], serialized as the ring.
#[derive(Serialize)]
#[serde(rename = "Ring")]
struct RecentRef<'a> {
    items: RecentItems<'a>,
    pushed: u64,
}

/// Service `s`'s recent points, serialized as the ring's `items`.
struct RecentItems<'a> {
    histories: &'a Histories,
    s: usize,
}

impl Serialize for RecentItems<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let h = self.histories;
        let points =
            (h.first_index(self.s)..h.lanes[self.s].pushed).map(|k| &h.points[h.slot(self.s, k)]);
        serializer.collect_seq(points)
    }
}

/// A [`ServiceHistory`] borrowed from [`Histories`]: the same fields in the same order under
/// the same name, so that it serializes exactly as one.
#[derive(Serialize)]
#[serde(rename = "ServiceHistory")]
struct ServiceHistoryRef<'a> {
    recent: RecentRef<'a>,
    old: &'a Ring<PackedPoint>,
    acc_tick: u64,
    acc: &'a [f64; METRICS],
    acc_count: u32,
}

impl Serialize for Histories {
    /// Exactly as the `Vec` of [`ServiceHistory`] with the same histories serializes.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(
            self.lanes
                .iter()
                .enumerate()
                .map(|(s, lane)| ServiceHistoryRef {
                    recent: RecentRef {
                        items: RecentItems { histories: self, s },
                        pushed: lane.pushed,
                    },
                    old: &lane.down.old,
                    acc_tick: lane.down.acc_tick,
                    acc: &lane.down.acc,
                    acc_count: lane.down.acc_count,
                }),
        )
    }
}

impl<'de> Deserialize<'de> for Histories {
    /// What a `Vec` of [`ServiceHistory`] deserializes from.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Histories, D::Error> {
        Vec::<ServiceHistory>::deserialize(deserializer).map(Histories::from_services)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(tick: u64) -> MetricPoint {
        MetricPoint {
            tick,
            rps: tick as f64,
            ..MetricPoint::default()
        }
    }

    #[test]
    fn history_is_bounded_and_downsamples() {
        let mut h = ServiceHistory::default();
        let total = RECENT_POINTS as u64 + DOWNSAMPLE_TICKS * (OLD_POINTS as u64 + 10);
        for tick in 0..total {
            h.push(point(tick));
        }
        assert_eq!(h.recent.items.len(), RECENT_POINTS);
        assert_eq!(h.old.items.len(), OLD_POINTS);
        assert_eq!(h.recent.pushed, total);
        // A downsampled point is the mean of its window.
        let p = h
            .old
            .items
            .back()
            .map(PackedPoint::unpack)
            .unwrap_or_default();
        let first = p.tick as f64;
        let expected = first + (DOWNSAMPLE_TICKS as f64 - 1.0) / 2.0;
        assert!((p.rps - expected).abs() < 1e-2, "{} vs {expected}", p.rps);
        assert_eq!(h.since(total - 10).len(), 10);
    }

    #[test]
    fn ring_capacity_follows_its_bound_exactly() {
        let mut h = ServiceHistory::default();
        let ticks = RECENT_POINTS as u64 + DOWNSAMPLE_TICKS * 90;
        for tick in 0..ticks {
            h.push(point(tick));
        }
        assert_eq!(h.recent.items.capacity(), RECENT_POINTS);
        // 89 or 90 downsampled points: capacity at most one growth step above the length.
        let old = h.old.items.len();
        assert!((89..=90).contains(&old), "{old}");
        assert!(h.old.items.capacity() < old + OLD_GROWTH_POINTS);
        assert!(h.old.items.capacity() >= old);
    }

    #[test]
    fn packed_points_keep_seven_significant_digits() {
        let p = MetricPoint {
            tick: 7,
            rps: 12_345.678,
            latency_p99_ms: 0.123_456_7,
            ..MetricPoint::default()
        };
        let q = PackedPoint::pack(&p).unpack();
        assert_eq!(q.tick, 7);
        assert!((q.rps - p.rps).abs() / p.rps < 1e-7);
        assert!((q.latency_p99_ms - p.latency_p99_ms).abs() / p.latency_p99_ms < 1e-7);
    }

    #[test]
    fn a_ring_rebuilds_from_the_slices_appended_since_each_mark() {
        const CAP: usize = 10;
        let mut ring = Ring::default();
        let mut slices = Vec::new();
        let mut mark = 0;
        for round in 0..7u64 {
            for i in 0..(round * 3) {
                ring.push(round * 100 + i, CAP, CAP);
            }
            let slice = ring.since_mark(mark);
            mark = ring.pushed;
            slices.push(slice);
        }
        let rebuilt = Ring::rebuild(ring.pushed, CAP, &slices).expect("complete");
        assert_eq!(rebuilt, ring);
        // Overlapping slices (a full one on top) are fine; a missing one is a gap.
        slices.push(ring.since_mark(0));
        assert_eq!(Ring::rebuild(ring.pushed, CAP, &slices), Ok(ring.clone()));
        slices.pop();
        let last = slices.pop().expect("a slice");
        assert!(!last.items.is_empty());
        assert_eq!(
            Ring::rebuild(ring.pushed, CAP, &slices),
            Err(RingGap {
                missing_from: last.start
            })
        );
    }

    /// Services' histories pushed one by one and through [`Histories`], with dark ticks
    /// (service `s` skips the ticks where `dark(s, tick)`).
    fn both(services: usize, ticks: u64) -> (Vec<ServiceHistory>, Histories) {
        let dark = |s: usize, tick: u64| s % 3 == 1 && (tick / 97) % 4 == (s as u64 % 4);
        let mut one_by_one = vec![ServiceHistory::default(); services];
        let mut shared = Histories::default();
        shared.prepare(services);
        for tick in 0..ticks {
            shared.prepare(services);
            for (s, h) in one_by_one.iter_mut().enumerate() {
                if dark(s, tick) {
                    continue;
                }
                let p = MetricPoint {
                    tick,
                    rps: (tick * 7 + s as u64) as f64 * 0.37,
                    healthy_percent: 100.0 - s as f64,
                    ..MetricPoint::default()
                };
                h.push(p);
                shared.push_with(s, || PackedPoint::pack(&p));
            }
        }
        (one_by_one, shared)
    }

    #[test]
    fn shared_histories_equal_the_services_own() {
        for ticks in [0, 1, 599, 600, 601, 5_000] {
            let (one_by_one, shared) = both(7, ticks);
            assert_eq!(shared.to_services(), one_by_one, "{ticks} ticks");
            for (s, h) in one_by_one.iter().enumerate() {
                assert_eq!(shared.since(s, ticks / 2), h.since(ticks / 2));
                assert_eq!(shared.recent_pushed(s), h.recent.pushed);
                assert_eq!(shared.recent_since_mark(s, 550), h.recent.since_mark(550));
            }
            // Serialized exactly as the services' own histories, and back.
            let text = ron::to_string(&shared).expect("ron");
            assert_eq!(text, ron::to_string(&one_by_one).expect("ron"));
            let back: Histories = ron::from_str(&text).expect("ron");
            assert_eq!(back, shared);
            assert_eq!(Histories::from_services(one_by_one.clone()), shared);
        }
    }

    #[test]
    fn shared_histories_continue_after_a_round_trip_and_keep_counts_when_emptied() {
        let (mut one_by_one, shared) = both(5, 1_234);
        let mut restored = Histories::from_services(shared.to_services());
        for tick in 1_234..2_500u64 {
            restored.prepare(5);
            for (s, h) in one_by_one.iter_mut().enumerate() {
                let p = MetricPoint {
                    tick,
                    cpu_percent: tick as f64 / 3.0,
                    ..MetricPoint::default()
                };
                h.push(p);
                restored.push_with(s, || PackedPoint::pack(&p));
            }
        }
        assert_eq!(restored.to_services(), one_by_one);
        let emptied = restored.emptied();
        for (s, h) in emptied.to_services().iter().enumerate() {
            assert!(h.recent.items.is_empty() && h.old.items.is_empty());
            assert_eq!(h.recent.pushed, one_by_one[s].recent.pushed);
            assert_eq!(h.old.pushed, one_by_one[s].old.pushed);
            assert_eq!(h.acc, one_by_one[s].acc);
        }
        // More services than before: the new ones start empty, the others keep theirs.
        restored.prepare(6);
        assert_eq!(restored.to_services()[..5], one_by_one[..]);
        assert_eq!(restored.service(5), ServiceHistory::default());
    }

    #[test]
    fn a_slice_since_an_evicted_mark_is_the_whole_ring() {
        let mut ring = Ring::default();
        for i in 0..25u32 {
            ring.push(i, 10, 10);
        }
        let slice = ring.since_mark(3);
        assert_eq!(slice.start, 15);
        assert_eq!(slice.items, (15..25).collect::<Vec<_>>());
        assert!(ring.since_mark(25).items.is_empty());
    }
}
