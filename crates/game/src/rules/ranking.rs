//! Medians and the ranking order: higher score, then more incidents fixed, then lower median
//! TTF (none last), then the earlier tick at which the team reached its score.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

/// A median of durations, kept exact as twice its value in milliseconds (so that the mean of
/// the two middle values of an even count stays an integer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Median {
    /// Twice the median, in ms.
    pub twice_ms: u64,
}

impl Median {
    /// The median of `values_ms`; `None` when there are none.
    pub fn of(values_ms: &[u64]) -> Option<Median> {
        Median::of_mut(&mut values_ms.to_vec())
    }

    /// The median of `values_ms`, sorting them in place (no allocation); `None` when empty.
    pub fn of_mut(values_ms: &mut [u64]) -> Option<Median> {
        if values_ms.is_empty() {
            return None;
        }
        values_ms.sort_unstable();
        let sorted = &*values_ms;
        let n = sorted.len();
        let twice_ms = if n % 2 == 1 {
            sorted[n / 2].saturating_mul(2)
        } else {
            sorted[n / 2 - 1].saturating_add(sorted[n / 2])
        };
        Some(Median { twice_ms })
    }

    /// The median in seconds.
    pub fn secs(self) -> f64 {
        self.twice_ms as f64 / 2000.0
    }
}

/// What a team is ranked by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RankKey {
    /// Total points.
    pub score: i64,
    /// Incidents fixed.
    pub fixed: u32,
    /// Median TTF; none ranks last.
    pub median_ttf: Option<Median>,
    /// Tick at which the team's score last changed.
    pub reached_tick: u64,
}

impl RankKey {
    /// Orders better teams first.
    pub fn better_first(&self, other: &RankKey) -> Ordering {
        other
            .score
            .cmp(&self.score)
            .then(other.fixed.cmp(&self.fixed))
            .then(match (self.median_ttf, other.median_ttf) {
                (Some(a), Some(b)) => a.cmp(&b),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            })
            .then(self.reached_tick.cmp(&other.reached_tick))
    }
}

/// Sorts `rows` best first (ties by `tiebreak`, e.g. team id, for a stable display) and
/// returns each row's rank: equal keys share a rank, and the next rank skips (1, 1, 3).
pub fn rank_rows<T>(
    rows: &mut [T],
    key: impl Fn(&T) -> RankKey,
    tiebreak: impl Fn(&T) -> u64,
) -> Vec<u32> {
    rows.sort_by(|a, b| {
        key(a)
            .better_first(&key(b))
            .then(tiebreak(a).cmp(&tiebreak(b)))
    });
    let mut ranks = Vec::with_capacity(rows.len());
    for i in 0..rows.len() {
        let rank = if i > 0 && key(&rows[i]).better_first(&key(&rows[i - 1])) == Ordering::Equal {
            ranks[i - 1]
        } else {
            u32::try_from(i + 1).unwrap_or(u32::MAX)
        };
        ranks.push(rank);
    }
    ranks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_even_and_none() {
        assert_eq!(Median::of(&[]), None);
        assert_eq!(Median::of(&[30_000, 10_000, 20_000]).unwrap().secs(), 20.0);
        assert_eq!(Median::of(&[10_000, 25_000]).unwrap().secs(), 17.5);
    }

    #[test]
    fn ranking_keys_in_order() {
        let k = |score, fixed, ttf: Option<u64>, reached| RankKey {
            score,
            fixed,
            median_ttf: ttf.map(|t| Median { twice_ms: t }),
            reached_tick: reached,
        };
        let mut rows = vec![
            (0, k(10, 1, None, 0)),
            (1, k(10, 1, Some(5), 9)),
            (2, k(10, 2, Some(9), 9)),
            (3, k(20, 0, None, 50)),
            (4, k(10, 1, Some(5), 3)),
            (5, k(10, 1, Some(5), 3)),
        ];
        let ranks = rank_rows(&mut rows, |r| r.1, |r| r.0);
        let order: Vec<u64> = rows.iter().map(|r| r.0).collect();
        assert_eq!(order, vec![3, 2, 4, 5, 1, 0]);
        assert_eq!(ranks, vec![1, 2, 3, 3, 5, 6]);
    }
}
