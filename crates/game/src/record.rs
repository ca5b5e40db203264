//! The game's own state (everything but the worlds), serializable for checkpoints and hashed
//! for `state_hash`.

use std::collections::BTreeMap;

use breakathon_scenario::FaultClass;
use breakathon_sim::{Action, IncidentId, RootTarget};
use serde::{Deserialize, Serialize};

use crate::views::{IncidentPhase, ScorePoint, Scoreboard, Verdict};
use crate::{
    Announcement, Declaration, GameState, LedgerEntry, LedgerKind, Notification, TeamId, TokenHash,
};

/// Most ledger entries, declarations, actions or notifications kept per team.
pub const MAX_RECORDS_PER_TEAM: usize = 100_000;

/// Everything the game decides, apart from the simulated worlds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Core {
    /// Ticks completed.
    pub tick: u64,
    /// Lifecycle state.
    pub state: GameState,
    /// The tick at which the game ends.
    pub end_tick: u64,
    /// Next team id.
    pub next_team: u32,
    /// Every team ever created.
    pub teams: BTreeMap<TeamId, TeamRecord>,
    /// Ad-hoc announcements (scheduled ones come from the scenario).
    pub announcements: Vec<Announcement>,
    /// The public board while frozen.
    pub frozen: Option<FrozenBoard>,
    /// Whether the scenario's scheduled freeze has happened.
    pub auto_freeze_done: bool,
    /// Per incident, the earliest fix tick of any team.
    pub first_fix: BTreeMap<IncidentId, u64>,
}

/// The public board as it was when it froze.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct FrozenBoard {
    /// Tick of the freeze.
    pub tick: u64,
    /// The board then.
    pub board: Scoreboard,
}

/// One team.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct TeamRecord {
    pub id: TeamId,
    pub name: String,
    pub token: TokenHash,
    pub removed: bool,
    pub created_tick: u64,
    pub score: i64,
    /// Tick at which the score last changed.
    pub reached_tick: u64,
    pub ledger: Vec<LedgerEntry>,
    pub history: Vec<ScorePoint>,
    pub declarations: Vec<DeclarationRecord>,
    pub actions: Vec<ActionRecord>,
    pub notifications: Vec<NotificationRecord>,
    /// Hint number → tick bought.
    pub hints: BTreeMap<u32, u64>,
    pub incidents: BTreeMap<IncidentId, IncidentRecord>,
    /// Revenue earned, in thousandths of a revenue unit.
    pub revenue_milli_units: u64,
    /// Revenue points booked so far.
    pub revenue_points_booked: i64,
    /// Per customer-facing service: SLA breach accounting.
    pub sla: BTreeMap<String, SlaRecord>,
    /// Judges' rulings and adjustments, for the timeline.
    pub judge_notes: Vec<JudgeNote>,
    /// What the world lost while no incident was open (see [`Losses`]).
    #[serde(default)]
    pub unattributed_losses: Losses,
}

/// What a team's world lost compared with the baseline (the same fleet with no fault and
/// nobody acting), summed over ticks: revenue not earned and extra customer-facing requests
/// failed. Negative revenue lost is revenue gained.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Losses {
    /// Revenue units not earned.
    pub revenue_lost_units: f64,
    /// Customer-facing requests failed beyond the baseline's.
    pub requests_failed: f64,
}

impl Losses {
    /// Adds `share` of `tick`'s losses.
    pub fn add(&mut self, tick: Losses, share: f64) {
        self.revenue_lost_units += tick.revenue_lost_units * share;
        self.requests_failed += tick.requests_failed * share;
    }
}

/// A declaration and its verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct DeclarationRecord {
    pub tick: u64,
    pub declaration: Declaration,
    pub verdict: Verdict,
    pub incident: Option<IncidentId>,
    pub overruled: bool,
    /// Points it moved in all (verdict and rulings).
    pub points: i64,
}

/// An action a team took.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct ActionRecord {
    pub tick: u64,
    pub apply_tick: u64,
    pub action: Action,
}

/// A notification a team sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct NotificationRecord {
    pub tick: u64,
    pub notification: Notification,
}

/// A judge's ruling or adjustment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct JudgeNote {
    pub tick: u64,
    pub text: String,
    pub incident: Option<IncidentId>,
}

/// SLA breach accounting of one service.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct SlaRecord {
    /// Ticks the SLO was breached, in all.
    pub breached_ticks: u64,
    /// Minutes beyond the error budget already penalised.
    pub minutes_penalised: u64,
}

/// One incident in one team's world.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct IncidentRecord {
    pub id: IncidentId,
    pub fault_index: usize,
    pub class: FaultClass,
    pub root: RootTarget,
    pub inject_tick: u64,
    pub detected_tick: Option<u64>,
    pub detected_by: Option<u32>,
    pub mitigated_tick: Option<u64>,
    /// Start of the current run of sustained health after a resolving action.
    pub run_start: Option<u64>,
    /// Fix tick (start of the sustained window).
    pub fixed_tick: Option<u64>,
    /// Tick at which the fix was confirmed (end of the window) or ruled.
    pub fix_confirmed_tick: Option<u64>,
    pub fixed_by_judge: bool,
    pub expired_tick: Option<u64>,
    pub first_complaint_tick: Option<u64>,
    pub communicated: bool,
    /// A judge reopened it at this tick: earlier fixes and expiries no longer count.
    pub reopened_at: Option<u64>,
    /// Detection and ahead-of-customer points currently credited (withdrawn by a ruling).
    pub detection_credit: i64,
    /// Fix and first-to-fix points currently credited (withdrawn by a ruling).
    pub fix_credit: i64,
    /// What the world lost to this incident (its share of each tick's losses while open).
    #[serde(default)]
    pub losses: Losses,
}

impl IncidentRecord {
    /// Open: neither fixed nor expired.
    pub fn is_open(&self) -> bool {
        self.fixed_tick.is_none() && self.expired_tick.is_none()
    }

    /// Where it stands.
    pub fn phase(&self) -> IncidentPhase {
        if self.fixed_tick.is_some() {
            IncidentPhase::Fixed
        } else if self.expired_tick.is_some() {
            IncidentPhase::Expired
        } else if self.run_start.is_some() {
            IncidentPhase::Verifying
        } else if self.mitigated_tick.is_some() {
            IncidentPhase::Mitigated
        } else {
            IncidentPhase::Open
        }
    }
}

impl TeamRecord {
    /// A new team.
    pub fn new(id: TeamId, name: String, token: TokenHash, tick: u64) -> TeamRecord {
        TeamRecord {
            id,
            name,
            token,
            removed: false,
            created_tick: tick,
            score: 0,
            reached_tick: tick,
            ledger: Vec::new(),
            history: Vec::new(),
            declarations: Vec::new(),
            actions: Vec::new(),
            notifications: Vec::new(),
            hints: BTreeMap::new(),
            incidents: BTreeMap::new(),
            revenue_milli_units: 0,
            revenue_points_booked: 0,
            sla: BTreeMap::new(),
            judge_notes: Vec::new(),
            unattributed_losses: Losses::default(),
        }
    }

    /// Forgets the points of the ticks before now (a late team's world caught up with nobody
    /// acting): score, ledger, revenue and SLA breach time count from its creation tick.
    pub fn start_scoring_now(&mut self) {
        self.score = 0;
        self.reached_tick = self.created_tick;
        self.ledger.clear();
        self.history.clear();
        self.revenue_milli_units = 0;
        self.revenue_points_booked = 0;
        self.sla.clear();
        self.unattributed_losses = Losses::default();
        for rec in self.incidents.values_mut() {
            rec.detection_credit = 0;
            rec.fix_credit = 0;
            rec.losses = Losses::default();
        }
    }

    /// Books `points` into the ledger (nothing for zero points) and returns the entry.
    pub fn book(
        &mut self,
        tick: u64,
        tick_ms: u64,
        points: i64,
        kind: LedgerKind,
        reason: String,
        incident: Option<IncidentId>,
    ) -> Option<LedgerEntry> {
        if points == 0 {
            return None;
        }
        self.score = self.score.saturating_add(points);
        self.reached_tick = tick;
        let elapsed_s = tick.saturating_mul(tick_ms) as f64 / 1000.0;
        let entry = LedgerEntry {
            seq: u32::try_from(self.ledger.len()).unwrap_or(u32::MAX),
            tick,
            elapsed_s,
            points,
            score_after: self.score,
            kind,
            reason,
            incident,
        };
        self.ledger.push(entry.clone());
        match self.history.last_mut() {
            Some(last) if last.elapsed_s == elapsed_s => last.score = self.score,
            _ => self.history.push(ScorePoint {
                elapsed_s,
                score: self.score,
            }),
        }
        Some(entry)
    }

    /// Every point booked about `incident`.
    pub fn incident_points(&self, incident: IncidentId) -> i64 {
        self.ledger
            .iter()
            .filter(|e| e.incident == Some(incident))
            .map(|e| e.points)
            .sum()
    }
}
