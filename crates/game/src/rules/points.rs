//! Points that are full within a grace period and then fall linearly to a floor.

use breakathon_scenario::Scoring;

/// The scoring weights of a game, with durations in milliseconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Weights {
    /// Revenue units per point (at least 1).
    pub revenue_units_per_point: u64,
    /// Full detection points.
    pub detection_points: i64,
    /// Full fix points.
    pub fix_points: i64,
    /// Grace period, ms.
    pub grace_ms: u64,
    /// Decay window, ms.
    pub decay_ms: u64,
    /// Floor, percent of full points (at most 100).
    pub floor_percent: u32,
    /// Ahead-of-the-customer bonus.
    pub ahead_of_customer_points: i64,
    /// Communication bonus.
    pub communication_points: i64,
    /// First-to-fix bonus.
    pub first_to_fix_points: i64,
    /// Points lost per false alarm (a positive number).
    pub false_alarm_points: i64,
    /// Points lost per simulated minute of SLA breach beyond the error budget.
    pub sla_penalty_points_per_min: i64,
}

impl Weights {
    /// The weights of a scenario.
    pub fn from_scoring(scoring: &Scoring) -> Weights {
        Weights {
            revenue_units_per_point: scoring.revenue_units_per_point.max(1),
            detection_points: scoring.detection_points,
            fix_points: scoring.fix_points,
            grace_ms: scoring.grace.as_millis(),
            decay_ms: scoring.decay.as_millis(),
            floor_percent: scoring.floor_percent.min(100),
            ahead_of_customer_points: scoring.ahead_of_customer_points,
            communication_points: scoring.communication_points,
            first_to_fix_points: scoring.first_to_fix_points,
            false_alarm_points: scoring.false_alarm_points.saturating_abs(),
            sla_penalty_points_per_min: scoring.sla_penalty_points_per_min.saturating_abs(),
        }
    }

    /// Detection points for a TTD of `elapsed_ms`.
    pub fn detection(&self, elapsed_ms: u64) -> i64 {
        decayed_points(self.detection_points, elapsed_ms, self)
    }

    /// Fix points for a TTF of `elapsed_ms`.
    pub fn fix(&self, elapsed_ms: u64) -> i64 {
        decayed_points(self.fix_points, elapsed_ms, self)
    }
}

/// `full` points within the grace period; then falling linearly over the decay window to
/// `floor = full × floor_percent / 100` (integer division); the floor after that.
///
/// Exactly: `full − (full − floor) × (elapsed − grace) / decay`, integer division rounding
/// toward zero, all times in milliseconds. A zero decay window drops straight to the floor.
pub fn decayed_points(full: i64, elapsed_ms: u64, weights: &Weights) -> i64 {
    let floor = full.saturating_mul(i64::from(weights.floor_percent)) / 100;
    if elapsed_ms <= weights.grace_ms {
        return full;
    }
    let late_ms = elapsed_ms - weights.grace_ms;
    if weights.decay_ms == 0 || late_ms >= weights.decay_ms {
        return floor;
    }
    // In i128: `full − floor` and the product overflow i64 for extreme weights.
    let span = i128::from(full) - i128::from(floor);
    let lost = span * i128::from(late_ms) / i128::from(weights.decay_ms);
    let points = i128::from(full) - lost;
    i64::try_from(points).unwrap_or(if points < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weights() -> Weights {
        Weights::from_scoring(&Scoring::default())
    }

    #[test]
    fn full_then_linear_then_floor() {
        let w = weights(); // grace 2m, decay 20m, floor 30 %
        assert_eq!(w.detection(0), 50);
        assert_eq!(w.detection(120_000), 50);
        // 10 of 20 minutes into the decay: 50 − 35 × 10/20 = 50 − 17 (17.5 rounded toward 0)
        assert_eq!(w.detection(720_000), 33);
        assert_eq!(w.fix(720_000), 100 - 35);
        assert_eq!(w.detection(1_320_000), 15);
        assert_eq!(w.detection(99_000_000), 15);
        assert_eq!(w.fix(99_000_000), 30);
    }

    #[test]
    fn zero_decay_drops_to_the_floor() {
        let mut w = weights();
        w.decay_ms = 0;
        assert_eq!(w.fix(120_001), 30);
    }

    #[test]
    fn extreme_penalties_saturate_instead_of_overflowing() {
        let scoring = Scoring {
            false_alarm_points: i64::MIN,
            sla_penalty_points_per_min: i64::MIN,
            ..Scoring::default()
        };
        let w = Weights::from_scoring(&scoring);
        assert_eq!(w.false_alarm_points, i64::MAX);
        assert_eq!(w.sla_penalty_points_per_min, i64::MAX);
    }
}
