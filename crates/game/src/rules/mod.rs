//! The rules of scoring, as pure integer functions: points that decay with time, medians and
//! the ranking order. The game applies them; `docs/RULES.md` explains them to teams.

pub mod points;
pub mod ranking;
pub(crate) mod tick;

pub use points::{Weights, decayed_points};
pub use ranking::{Median, RankKey, rank_rows};
