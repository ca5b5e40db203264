//! Cheap lower and upper bounds of floats for the hot stages.
//!
//! `f64::max` and `f64::min` must return the other operand when one is NaN, which costs six
//! instructions on x86-64 (an unordered compare, masks, and a blend) where a compare-and-select
//! is one `maxsd`/`minsd`, and sits on the dependency chain of every formula that bounds a
//! value. The engine's numbers are never NaN (the scenario checks reject non-finite input and
//! telemetry guards every service's metrics), so the stages bound with these instead.

/// A float's bounds by compare-and-select.
pub trait Bound {
    /// The larger of `self` and `floor` (`floor` when `self` is NaN, like `f64::max`).
    fn at_least(self, floor: Self) -> Self;
    /// The smaller of `self` and `ceiling` (`ceiling` when `self` is NaN, like `f64::min`).
    fn at_most(self, ceiling: Self) -> Self;
}

impl Bound for f64 {
    #[inline(always)]
    fn at_least(self, floor: f64) -> f64 {
        if self > floor { self } else { floor }
    }

    #[inline(always)]
    fn at_most(self, ceiling: f64) -> f64 {
        if self < ceiling { self } else { ceiling }
    }
}

#[cfg(test)]
mod tests {
    use super::Bound;

    #[test]
    fn bounds_agree_with_max_and_min_on_numbers_and_a_nan_self() {
        let values = [-3.5, -0.25, 0.0, 1e-9, 0.5, 1.0, 7.0, 1e12, f64::INFINITY];
        for &a in &values {
            for &b in &values {
                assert_eq!(a.at_least(b), a.max(b), "{a} at least {b}");
                assert_eq!(a.at_most(b), a.min(b), "{a} at most {b}");
            }
            assert_eq!(f64::NAN.at_least(a), a);
            assert_eq!(f64::NAN.at_most(a), a);
        }
    }
}
