//! The log lines a world keeps: a bounded ring whose texts share one byte buffer, so that
//! appending a line allocates nothing once the buffer has reached its working size (before,
//! every line was an allocation of its own, and once the ring was full every new line freed
//! the oldest one).
//!
//! The buffer is a ring of bytes too: each line's text is one contiguous run (a line never
//! wraps around the buffer's end; the bytes left at the end are skipped), the oldest line's
//! text is at the tail, the newest line's at the head. Lines are dropped by count only
//! ([`MAX_LOG_LINES`]), exactly as before: when the free run is too short the buffer grows
//! and the kept texts are laid out again from its start, so the buffer stays within
//! [`GROWTH_NUM`]`/`[`GROWTH_DEN`] of the kept text (plus one line).
//!
//! Outside, the ring looks like the [`Ring`] of [`StoredLine`]s it replaces: it serializes
//! the same way (so snapshots, checkpoints and the state hash are unchanged), compares by its
//! lines, and hands out [`RingSlice`]s of [`StoredLine`]s for incremental checkpoints.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize, Serializer};

use crate::history::{Ring, RingSlice, ring_len};
use crate::telemetry::{LogLevel, StoredLine};

/// Most log lines a world keeps (oldest dropped first).
pub const MAX_LOG_LINES: usize = 10_000;
/// Fewest lines the log ring's capacity grows by at once (it doubles up to
/// [`MAX_LOG_LINES`], never beyond).
pub const MIN_LOG_GROWTH_LINES: usize = 64;
/// Smallest size of the text buffer once it holds anything, bytes.
pub const MIN_TEXT_BYTES: usize = 4_096;
/// The text buffer grows to `GROWTH_NUM / GROWTH_DEN` of what it must hold (and at least by
/// that factor), so that growing costs a constant share of the bytes appended.
pub const GROWTH_NUM: usize = 5;
/// See [`GROWTH_NUM`].
pub const GROWTH_DEN: usize = 4;

/// What a kept line is besides its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineInfo {
    /// When it was written.
    pub tick: u64,
    /// The instance that wrote it, if any.
    pub instance: Option<u32>,
    /// Index of the service that wrote it.
    pub service: u32,
    /// Severity.
    pub level: LogLevel,
}

/// A kept line: its facts and where its text is in the buffer.
#[derive(Clone, Copy, Debug)]
struct Slot {
    info: LineInfo,
    /// First byte of the text in the buffer.
    start: usize,
    /// Bytes of text.
    len: usize,
}

impl Slot {
    fn end(&self) -> usize {
        self.start + self.len
    }
}

/// A kept line, borrowed from its [`LogRing`].
#[derive(Clone, Copy, Debug)]
pub struct LineRef<'a> {
    /// What it is besides its text.
    pub info: LineInfo,
    /// Its text, as UTF-8 bytes (see [`LineRef::message`]).
    pub bytes: &'a [u8],
}

impl<'a> LineRef<'a> {
    /// Its text.
    pub fn message(&self) -> &'a str {
        // Every text was appended from a `&str`, in one piece.
        let text = std::str::from_utf8(self.bytes);
        debug_assert!(text.is_ok(), "a log line's text is UTF-8");
        text.unwrap_or_default()
    }

    /// The line as a [`StoredLine`] (its text copied).
    pub fn to_stored(&self) -> StoredLine {
        StoredLine {
            tick: self.info.tick,
            message: self.message().into(),
            instance: self.info.instance,
            service: self.info.service,
            level: self.info.level,
        }
    }
}

/// The log lines of a world, oldest first, at most [`MAX_LOG_LINES`]; counts every line ever
/// pushed, as [`Ring`] does (the line at position `i` has index `pushed - len + i`).
#[derive(Clone, Default)]
pub struct LogRing {
    /// The kept lines, oldest first.
    slots: VecDeque<Slot>,
    /// Every kept line's text, each one contiguous; its length is its size (all bytes
    /// initialised).
    text: Vec<u8>,
    /// Lines pushed since the ring was created (kept and dropped).
    pushed: u64,
}

impl LogRing {
    /// An empty ring that has had `pushed` lines pushed (none kept): the ring of a checkpoint
    /// base, whose lines come from the checkpoint's chunks.
    pub fn counted(pushed: u64) -> LogRing {
        LogRing {
            pushed,
            ..LogRing::default()
        }
    }

    /// The ring that has had `pushed` lines pushed and keeps `lines` (the last ones, oldest
    /// first), with the capacity its bound calls for.
    pub fn from_kept<'s>(
        pushed: u64,
        lines: impl IntoIterator<Item = (LineInfo, &'s str)>,
    ) -> LogRing {
        let mut ring = LogRing::counted(0);
        for (info, text) in lines {
            ring.push(info, text);
        }
        ring.pushed = pushed.max(ring.pushed);
        ring.fit_capacity();
        ring
    }

    /// Lines kept.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether no line is kept.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Lines pushed since the ring was created (kept and dropped).
    pub fn pushed(&self) -> u64 {
        self.pushed
    }

    /// Index of the oldest line kept.
    pub fn first_index(&self) -> u64 {
        self.pushed - self.slots.len() as u64
    }

    /// The tick of the oldest line kept.
    pub fn first_tick(&self) -> Option<u64> {
        self.slots.front().map(|s| s.info.tick)
    }

    /// Bytes the ring holds on the heap: its line slots and its text buffer.
    pub fn heap_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<Slot>() + self.text.capacity()
    }

    /// Bytes of text kept.
    pub fn text_bytes(&self) -> usize {
        self.slots.iter().map(|s| s.len).sum()
    }

    /// The kept lines, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = LineRef<'_>> + ExactSizeIterator {
        self.slots.iter().map(|s| LineRef {
            info: s.info,
            bytes: &self.text[s.start..s.end()],
        })
    }

    /// Appends a line, dropping the oldest one if the ring already holds [`MAX_LOG_LINES`].
    #[inline]
    pub fn push(&mut self, info: LineInfo, message: &str) {
        let len = self.slots.len();
        if len >= MAX_LOG_LINES {
            self.slots.pop_front();
        } else if len == self.slots.capacity() {
            // Doubling, by at least MIN_LOG_GROWTH_LINES, never beyond MAX_LOG_LINES.
            let growth = len.max(MIN_LOG_GROWTH_LINES);
            self.slots
                .reserve_exact(growth.clamp(1, MAX_LOG_LINES - len));
        }
        let bytes = message.as_bytes();
        let start = self.place(bytes.len());
        debug_assert!(
            self.slots.front().is_none_or(|oldest| oldest.len == 0
                || bytes.is_empty()
                || start + bytes.len() <= oldest.start
                || oldest.end() <= start),
            "a new text overwrites the oldest kept one"
        );
        self.text[start..start + bytes.len()].copy_from_slice(bytes);
        self.slots.push_back(Slot {
            info,
            start,
            len: bytes.len(),
        });
        self.pushed += 1;
    }

    /// Where the next text of `n` bytes goes: after the head if it fits before the buffer's
    /// end (or, the texts having wrapped, before the tail), else at the start if it fits
    /// before the tail; else the buffer grows.
    ///
    /// While the texts have not wrapped, the slots' starts never decrease; once they have,
    /// the newest start is below the oldest (the strict tests below keep it so even for
    /// empty texts), which is how the two cases are told apart.
    #[inline]
    fn place(&mut self, n: usize) -> usize {
        if let (Some(oldest), Some(newest)) = (self.slots.front(), self.slots.back()) {
            let (tail, head) = (oldest.start, newest.end());
            if newest.start >= oldest.start {
                // Kept texts in [tail, head).
                if head + n <= self.text.len() {
                    return head;
                }
                if n < tail {
                    return 0;
                }
            } else if head + n < tail {
                // Kept texts in [tail, end) and [0, head).
                return head;
            }
        } else if n <= self.text.len() {
            return 0;
        }
        self.grow(n)
    }

    /// Grows the buffer to hold the kept texts and `n` more bytes, lays the kept texts out
    /// again from its start, and returns where the next text goes (right after them).
    #[cold]
    #[inline(never)]
    fn grow(&mut self, n: usize) -> usize {
        let needed = self.text_bytes() + n;
        let size = (needed / GROWTH_DEN * GROWTH_NUM)
            .max(self.text.len() / GROWTH_DEN * GROWTH_NUM)
            .max(needed)
            .max(MIN_TEXT_BYTES);
        self.relayout(size)
    }

    /// Lays the kept texts out from the start of a new buffer of `size` bytes (at least their
    /// total) and returns where they end.
    fn relayout(&mut self, size: usize) -> usize {
        let mut text = vec![0u8; size];
        let mut at = 0;
        for slot in &mut self.slots {
            text[at..at + slot.len].copy_from_slice(&self.text[slot.start..slot.end()]);
            slot.start = at;
            at += slot.len;
        }
        self.text = text;
        at
    }

    /// Gives the ring the capacity its bound calls for (after a restore): slots for exactly
    /// [`MAX_LOG_LINES`] if it is full, else its length; a text buffer of
    /// [`GROWTH_NUM`]`/`[`GROWTH_DEN`] of the kept text.
    pub fn fit_capacity(&mut self) {
        let len = self.slots.len();
        let want = if len >= MAX_LOG_LINES || MIN_LOG_GROWTH_LINES >= MAX_LOG_LINES {
            MAX_LOG_LINES.max(len)
        } else {
            len
        };
        if self.slots.capacity() != want {
            let mut slots = VecDeque::with_capacity(want);
            slots.extend(self.slots.drain(..));
            self.slots = slots;
        }
        let kept = self.text_bytes();
        let size = if kept == 0 {
            0
        } else {
            (kept / GROWTH_DEN * GROWTH_NUM).max(MIN_TEXT_BYTES)
        };
        if size != self.text.len() {
            self.relayout(size);
        }
    }

    /// The kept lines whose index is at least `mark`: what was appended since a checkpoint
    /// taken when [`LogRing::pushed`] was `mark` (everything kept, if more was appended than
    /// is kept). See [`Ring::since_mark`].
    pub fn since_mark(&self, mark: u64) -> RingSlice<StoredLine> {
        let start = mark.clamp(self.first_index(), self.pushed);
        let skip = usize::try_from(start - self.first_index()).unwrap_or(usize::MAX);
        RingSlice {
            start,
            items: self.iter().skip(skip).map(|l| l.to_stored()).collect(),
        }
    }

    /// The ring after `pushed` pushes, its lines taken from `slices` as
    /// [`Ring::rebuild`] takes them.
    pub fn rebuild<'a>(
        pushed: u64,
        slices: impl IntoIterator<Item = &'a RingSlice<StoredLine>>,
    ) -> Result<LogRing, crate::history::RingGap> {
        let ring = Ring::rebuild(pushed, MAX_LOG_LINES, slices)?;
        Ok(LogRing::from(ring))
    }
}

impl From<Ring<StoredLine>> for LogRing {
    fn from(ring: Ring<StoredLine>) -> LogRing {
        let kept = ring_len(ring.pushed, MAX_LOG_LINES).min(ring.items.len());
        let skip = ring.items.len() - kept;
        LogRing::from_kept(
            ring.pushed,
            ring.items.iter().skip(skip).map(|l| {
                let info = LineInfo {
                    tick: l.tick,
                    instance: l.instance,
                    service: l.service,
                    level: l.level,
                };
                (info, &*l.message)
            }),
        )
    }
}

impl PartialEq for LogRing {
    /// Rings are equal when they have had as many lines pushed and keep the same lines
    /// (wherever their texts are in the buffers).
    fn eq(&self, other: &LogRing) -> bool {
        self.pushed == other.pushed
            && self.len() == other.len()
            && self
                .iter()
                .zip(other.iter())
                .all(|(a, b)| a.info == b.info && a.bytes == b.bytes)
    }
}

impl std::fmt::Debug for LogRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogRing")
            .field("items", &Lines(self))
            .field("pushed", &self.pushed)
            .finish()
    }
}

/// The kept lines of a ring as a sequence of [`StoredLine`]s, borrowed: what the ring
/// serializes (and debug-prints) its `items` as.
struct Lines<'a>(&'a LogRing);

impl std::fmt::Debug for Lines<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|l| (l.info, l.message())))
            .finish()
    }
}

/// A [`StoredLine`] borrowed from a ring: the same fields, in the same order, under the same
/// name, so that it serializes exactly as a [`StoredLine`] does.
#[derive(Serialize)]
#[serde(rename = "StoredLine")]
struct StoredLineRef<'a> {
    tick: u64,
    message: &'a str,
    instance: Option<u32>,
    service: u32,
    level: LogLevel,
}

impl Serialize for Lines<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|l| StoredLineRef {
            tick: l.info.tick,
            message: l.message(),
            instance: l.info.instance,
            service: l.info.service,
            level: l.info.level,
        }))
    }
}

/// A [`Ring`] of [`StoredLine`]s borrowed from a ring: what it serializes as.
#[derive(Serialize)]
#[serde(rename = "Ring")]
struct RingRef<'a> {
    items: Lines<'a>,
    pushed: u64,
}

impl Serialize for LogRing {
    /// Exactly as the [`Ring`] of [`StoredLine`]s with the same lines serializes.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        RingRef {
            items: Lines(self),
            pushed: self.pushed,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for LogRing {
    /// What a [`Ring`] of [`StoredLine`]s deserializes from.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<LogRing, D::Error> {
        Ring::<StoredLine>::deserialize(deserializer).map(LogRing::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(tick: u64) -> LineInfo {
        LineInfo {
            tick,
            instance: tick.is_multiple_of(3).then_some(7),
            service: (tick % 5) as u32,
            level: LogLevel::Warn,
        }
    }

    /// A text whose length varies with `i` (empty ones too).
    fn text(i: u64) -> String {
        "x".repeat(((i * 37) % 101) as usize) + &i.to_string()[..(i % 2) as usize]
    }

    /// The same lines in the ring this module replaces.
    fn plain(lines: u64) -> Ring<StoredLine> {
        let mut ring = Ring::default();
        for i in 0..lines {
            let message = text(i);
            let l = LineRef {
                info: info(i),
                bytes: message.as_bytes(),
            };
            ring.push(l.to_stored(), MAX_LOG_LINES, MAX_LOG_LINES);
        }
        ring
    }

    fn filled(lines: u64) -> LogRing {
        let mut ring = LogRing::default();
        for i in 0..lines {
            ring.push(info(i), &text(i));
        }
        ring
    }

    #[test]
    fn keeps_the_last_lines_in_order_with_their_texts() {
        for lines in [0, 1, 5, 9_999, 10_000, 10_001, 25_003] {
            let ring = filled(lines);
            let expected = plain(lines);
            assert_eq!(ring.pushed(), lines);
            assert_eq!(ring.len(), expected.items.len());
            for (got, want) in ring.iter().zip(&expected.items) {
                assert_eq!(got.to_stored(), *want);
            }
            assert_eq!(LogRing::from(expected), ring);
        }
    }

    #[test]
    fn the_text_buffer_stays_within_its_growth_of_the_kept_text() {
        let mut ring = LogRing::default();
        for i in 0..40_000u64 {
            ring.push(info(i), &text(i));
            if i % 1_000 == 999 {
                let kept = ring.text_bytes();
                assert!(
                    ring.text.len() <= (kept + 4 * 101) * GROWTH_NUM / GROWTH_DEN + MIN_TEXT_BYTES,
                    "{} bytes for {kept}",
                    ring.text.len()
                );
            }
        }
        // Once full, the buffer stops growing: the lines' lengths repeat.
        let size = ring.text.len();
        for i in 40_000..60_000u64 {
            ring.push(info(i), &text(i));
        }
        assert_eq!(ring.text.len(), size);
    }

    #[test]
    fn serializes_as_the_ring_of_stored_lines() {
        for lines in [0, 3, 10_500] {
            let ring = filled(lines);
            let expected = plain(lines);
            let text = ron::to_string(&ring).expect("ron");
            assert_eq!(text, ron::to_string(&expected).expect("ron"));
            let back: LogRing = ron::from_str(&text).expect("ron");
            assert_eq!(back, ring);
            // With the types' names too.
            let named = ron::ser::PrettyConfig::new().struct_names(true);
            assert_eq!(
                ron::ser::to_string_pretty(&ring, named.clone()).expect("ron"),
                ron::ser::to_string_pretty(&expected, named).expect("ron")
            );
        }
    }

    #[test]
    fn empty_texts_do_not_confuse_the_wrap() {
        let mut ring = LogRing::default();
        let mut expected = Ring::default();
        for i in 0..30_000u64 {
            // Long runs of empty texts between long ones, around the buffer's end.
            let message = if (i / 7) % 3 == 0 {
                String::new()
            } else {
                "y".repeat((i % 300) as usize)
            };
            ring.push(info(i), &message);
            let line = LineRef {
                info: info(i),
                bytes: message.as_bytes(),
            };
            expected.push(line.to_stored(), MAX_LOG_LINES, MAX_LOG_LINES);
            // No text was overwritten while kept.
            if i % 997 == 0 {
                assert_eq!(ring, LogRing::from(expected.clone()), "after line {i}");
            }
        }
        assert_eq!(ring, LogRing::from(expected.clone()));
        assert!(
            ring.iter()
                .zip(&expected.items)
                .all(|(a, b)| a.to_stored() == *b)
        );
    }

    #[test]
    fn a_slice_since_a_mark_rebuilds_the_ring() {
        let ring = filled(12_345);
        let slice = ring.since_mark(12_000);
        assert_eq!(slice.start, 12_000);
        assert_eq!(slice.items.len(), 345);
        let all = ring.since_mark(0);
        assert_eq!(all.start, ring.first_index());
        let rebuilt = LogRing::rebuild(ring.pushed(), [&all, &slice]).expect("complete");
        assert_eq!(rebuilt, ring);
        let mut restored = ring.clone();
        restored.fit_capacity();
        assert_eq!(restored, ring);
    }
}
