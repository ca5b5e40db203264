//! Human-written durations (`"90s"`, `"5m"`, `"1h30m"`, `"250ms"`) as whole milliseconds.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A span of simulated time, in whole milliseconds.
///
/// Written in scenarios as a string of one or more `<number><unit>` parts, units `ms`, `s`,
/// `m`, `h`, `d`: `"90s"`, `"5m"`, `"1h30m"`, `"1.5s"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimDuration {
    millis: u64,
}

impl SimDuration {
    /// The empty duration.
    pub const ZERO: SimDuration = SimDuration { millis: 0 };

    /// A duration of `millis` milliseconds.
    pub const fn from_millis(millis: u64) -> Self {
        SimDuration { millis }
    }

    /// A duration of `secs` seconds.
    pub const fn from_secs(secs: u64) -> Self {
        SimDuration {
            millis: secs.saturating_mul(1000),
        }
    }

    /// A duration of `mins` minutes.
    pub const fn from_mins(mins: u64) -> Self {
        Self::from_secs(mins.saturating_mul(60))
    }

    /// Whole milliseconds.
    pub const fn as_millis(self) -> u64 {
        self.millis
    }

    /// Seconds, as a float (for display and rates).
    pub fn as_secs_f64(self) -> f64 {
        self.millis as f64 / 1000.0
    }

    /// How many whole ticks of `tick` fit in this duration, rounding up so that a non-zero
    /// duration never becomes zero ticks. A zero `tick` gives zero.
    pub fn to_ticks(self, tick: SimDuration) -> u64 {
        if tick.millis == 0 {
            return 0;
        }
        self.millis.div_ceil(tick.millis)
    }
}

/// Why a duration string was not understood.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration `{text}`: {reason} (write it like \"90s\", \"5m\" or \"1h30m\")")]
pub struct ParseDurationError {
    /// The text that was given.
    pub text: String,
    /// What was wrong with it.
    pub reason: &'static str,
}

impl FromStr for SimDuration {
    type Err = ParseDurationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = |reason| ParseDurationError {
            text: text.to_owned(),
            reason,
        };
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(fail("it is empty"));
        }
        let mut total_ms: f64 = 0.0;
        let mut rest = trimmed;
        while !rest.is_empty() {
            rest = rest.trim_start();
            let number_len = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            if number_len == 0 {
                return Err(fail("expected a number"));
            }
            let number: f64 = rest[..number_len]
                .parse()
                .map_err(|_| fail("malformed number"))?;
            rest = rest[number_len..].trim_start();
            let unit_len = rest
                .find(|c: char| !c.is_ascii_alphabetic())
                .unwrap_or(rest.len());
            let unit_ms = match &rest[..unit_len] {
                "ms" => 1.0,
                "s" | "sec" | "secs" => 1_000.0,
                "m" | "min" | "mins" => 60_000.0,
                "h" | "hr" | "hrs" => 3_600_000.0,
                "d" => 86_400_000.0,
                "" => return Err(fail("a number needs a unit (ms, s, m, h or d)")),
                _ => return Err(fail("unknown unit (use ms, s, m, h or d)")),
            };
            rest = &rest[unit_len..];
            total_ms += number * unit_ms;
        }
        if !total_ms.is_finite() || total_ms > u64::MAX as f64 / 2.0 {
            return Err(fail("it is too long"));
        }
        Ok(SimDuration::from_millis(total_ms.round() as u64))
    }
}

impl fmt::Display for SimDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.millis == 0 {
            return f.write_str("0s");
        }
        let mut ms = self.millis;
        for (unit, size) in [("h", 3_600_000), ("m", 60_000), ("s", 1_000)] {
            if ms >= size {
                write!(f, "{}{unit}", ms / size)?;
                ms %= size;
            }
        }
        if ms > 0 {
            write!(f, "{ms}ms")?;
        }
        Ok(())
    }
}

impl Serialize for SimDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SimDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_ways_people_write_durations() {
        let cases = [
            ("90s", 90_000),
            ("5m", 300_000),
            ("1h30m", 5_400_000),
            ("1h 30m", 5_400_000),
            ("250ms", 250),
            ("1.5s", 1_500),
            ("2d", 172_800_000),
        ];
        for (text, millis) in cases {
            assert_eq!(
                text.parse::<SimDuration>().unwrap().as_millis(),
                millis,
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_nonsense_with_a_reason() {
        for text in ["", "5", "m", "5 parsecs", "1..2s", "-5s"] {
            let err = text.parse::<SimDuration>().unwrap_err();
            assert!(!err.reason.is_empty(), "{text}");
        }
    }

    #[test]
    fn display_round_trips() {
        for millis in [0, 1, 999, 1_000, 61_000, 5_400_000, 3_723_456] {
            let d = SimDuration::from_millis(millis);
            assert_eq!(d.to_string().parse::<SimDuration>().unwrap(), d);
        }
    }

    #[test]
    fn ticks_round_up() {
        let tick = SimDuration::from_secs(1);
        assert_eq!(SimDuration::from_millis(1_500).to_ticks(tick), 2);
        assert_eq!(SimDuration::from_secs(90).to_ticks(tick), 90);
        assert_eq!(SimDuration::ZERO.to_ticks(tick), 0);
    }
}
