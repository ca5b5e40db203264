//! The score ledger: every change of a team's score is one entry with its reason and tick.

use breakathon_sim::IncidentId;
use serde::{Deserialize, Serialize};

/// Why points changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerKind {
    /// Revenue from healthy requests, booked once per simulated minute.
    Revenue,
    /// Detection points (decaying with TTD).
    Detection,
    /// Fix points (decaying with TTF).
    Fix,
    /// Bonus: among the first to fix an incident.
    FirstToFix,
    /// Bonus: detected before the first customer complaint.
    AheadOfCustomer,
    /// Bonus: told stakeholders between detection and fix.
    Communication,
    /// Penalty: a declaration that named no open incident.
    FalseAlarm,
    /// Cost of a hint.
    Hint,
    /// Penalty: a customer-facing SLO breached beyond its error budget.
    SlaPenalty,
    /// A judge's adjustment.
    JudgeAdjustment,
    /// Points moved by a judge's ruling on a verdict or an incident.
    JudgeRuling,
}

/// One change of a team's score.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// Position in the team's ledger, from 0.
    pub seq: u32,
    /// Tick at which it was booked.
    pub tick: u64,
    /// Simulated seconds since the start at that tick.
    pub elapsed_s: f64,
    /// Points (negative for a loss).
    pub points: i64,
    /// The score after this entry.
    pub score_after: i64,
    /// What kind of change.
    pub kind: LedgerKind,
    /// Why, in words.
    pub reason: String,
    /// The incident it is about, if any.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub incident: Option<IncidentId>,
}
