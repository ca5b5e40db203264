//! Bounded metric history: every tick for the recent past, downsampled averages beyond, so a
//! world's memory does not grow with the length of the game.
//!
//! Points are stored packed ([`PackedPoint`]: `f32` values, 48 bytes instead of 88) in
//! [`Ring`]s whose capacity follows their bound exactly (no doubling slack). A ring counts
//! every item ever pushed, so that a checkpoint can store only what was appended since the
//! previous one ([`Ring::since_mark`]) and recovery can rebuild it ([`Ring::rebuild`]).

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

    /// Reads the oldest full-resolution point, which the next push folds and drops. Its
    /// memory was written long ago and is rarely in the cache: touching the histories of all
    /// services in a row, before their pushes, lets the processor fetch those lines together
    /// instead of waiting for each in turn. Changes nothing.
    #[inline]
    pub fn touch_oldest(&self) {
        std::hint::black_box(self.oldest_stamp());
    }

    /// What [`Self::touch_oldest`] reads, as a number (the oldest point's tick and last
    /// value mixed; 0 for an empty ring), so that a caller touching many histories can keep
    /// one number of them all instead of one per history.
    #[inline]
    pub fn oldest_stamp(&self) -> u64 {
        // The first and the last field: a point may straddle two cache lines.
        self.recent
            .items
            .front()
            .map_or(0, |p| p.tick ^ u64::from(p.values[METRICS - 1].to_bits()))
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
