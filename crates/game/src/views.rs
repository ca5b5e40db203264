//! Serializable views of the game for each role. Team views never mention an incident the
//! team has not declared (or fixed) and never a future fault.

use breakathon_scenario::FaultClass;
use breakathon_sim::{IncidentId, RootTarget};
use serde::{Deserialize, Serialize};

use crate::{GameState, LedgerEntry, TeamId};

/// A team as the organizer lists it (never its token).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TeamInfo {
    /// Its id.
    pub id: TeamId,
    /// Its name.
    pub name: String,
    /// Tick at which it joined.
    pub created_tick: u64,
}

/// An accepted action and when it takes effect.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActionAccepted {
    /// The tick at whose start it takes effect.
    pub apply_tick: u64,
    /// The same, in simulated seconds since the start.
    pub apply_s: f64,
}

/// The judgement of a declaration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// It names an open incident not yet detected: detection points.
    Correct,
    /// It names an open incident already detected: nothing.
    Duplicate,
    /// It names an incident that is already fixed or expired: nothing.
    AlreadyClosed,
    /// It names no open incident: false-alarm penalty.
    FalseAlarm,
}

impl std::fmt::Display for Verdict {
    /// In words, for timelines: "correct", "duplicate", "already closed", "false alarm".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Correct => "correct",
            Verdict::Duplicate => "duplicate",
            Verdict::AlreadyClosed => "already closed",
            Verdict::FalseAlarm => "false alarm",
        })
    }
}

/// What became of a declaration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeclarationOutcome {
    /// The team's declaration number, from 0.
    pub declaration: u32,
    /// Tick at which it was accepted.
    pub tick: u64,
    /// Simulated seconds since the start at that tick.
    pub elapsed_s: f64,
    /// What was declared.
    pub target: crate::DeclaredTarget,
    /// The class declared.
    pub class: FaultClass,
    /// The verdict.
    pub verdict: Verdict,
    /// The incident it matched (correct or duplicate ones).
    pub incident: Option<IncidentId>,
    /// Time to detect, seconds (correct ones).
    pub ttd_s: Option<f64>,
    /// Points it moved (all ledger entries it caused).
    pub points: i64,
    /// Whether a judge overruled the verdict.
    pub overruled: bool,
}

/// A hint as a team sees it: the text only once bought.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HintView {
    /// Hint number.
    pub id: u32,
    /// What it costs.
    pub cost: i64,
    /// When it became available, simulated seconds since the start.
    pub available_since_s: f64,
    /// When it was bought.
    pub taken_at_s: Option<f64>,
    /// The text (after buying).
    pub text: Option<String>,
}

/// Where an incident stands for a team.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentPhase {
    /// Open, not mitigated.
    Open,
    /// Open, health brought back without a resolving action (it will return).
    Mitigated,
    /// A resolving action took effect and health is being held for the sustain window.
    Verifying,
    /// Fixed.
    Fixed,
    /// The fault ended by itself before it was fixed.
    Expired,
}

/// One of a team's own incidents (declared or fixed ones only, while the game runs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TeamIncidentView {
    /// The incident.
    pub incident: IncidentId,
    /// Its class.
    pub class: FaultClass,
    /// Its root-cause target.
    pub target: RootTarget,
    /// When it struck, simulated seconds since the start.
    pub injected_s: f64,
    /// When the team detected it.
    pub detected_s: Option<f64>,
    /// Time to detect, s.
    pub ttd_s: Option<f64>,
    /// Time to mitigate, s.
    pub ttm_s: Option<f64>,
    /// When it was fixed (the start of the sustained healthy window).
    pub fixed_s: Option<f64>,
    /// Time to fix, s.
    pub ttf_s: Option<f64>,
    /// When it expired.
    pub expired_s: Option<f64>,
    /// Where it stands.
    pub phase: IncidentPhase,
    /// Points this incident moved for the team (detection, fix, bonuses, rulings).
    pub points: i64,
}

/// One thing a team did, or that happened to it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// Tick.
    pub tick: u64,
    /// Simulated seconds since the start.
    pub elapsed_s: f64,
    /// What kind of thing.
    pub kind: TimelineKind,
    /// What, in words.
    pub text: String,
    /// The incident concerned, if any.
    pub incident: Option<IncidentId>,
}

/// Kinds of timeline entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimelineKind {
    /// A fault struck (judges and debriefs only).
    Injected,
    /// The team declared.
    Declaration,
    /// The team acted.
    Action,
    /// The team notified stakeholders.
    Notification,
    /// The team bought a hint.
    Hint,
    /// An incident was mitigated.
    Mitigated,
    /// An incident was fixed.
    Fixed,
    /// An incident expired.
    Expired,
    /// A judge ruled or adjusted.
    Judge,
}

/// An incident as judges and the final grid see it: the truth.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrueIncident {
    /// The incident.
    pub incident: IncidentId,
    /// The fault entry's name.
    pub fault: String,
    /// Its class.
    pub class: FaultClass,
    /// Its root-cause target.
    pub target: RootTarget,
    /// When it strikes (shared schedule) — `None` for a per-team `When` fault.
    pub injected_s: Option<f64>,
    /// When it ends by itself, if it has a duration.
    pub ends_s: Option<f64>,
}

/// One team's result on one incident.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TeamIncidentResult {
    /// The team.
    pub team: TeamId,
    /// Its name.
    pub name: String,
    /// The incident.
    pub incident: IncidentId,
    /// When it struck in this team's world.
    pub injected_s: f64,
    /// When the team detected it.
    pub detected_s: Option<f64>,
    /// Time to detect, s.
    pub ttd_s: Option<f64>,
    /// Time to mitigate, s.
    pub ttm_s: Option<f64>,
    /// Time to fix, s.
    pub ttf_s: Option<f64>,
    /// When it expired.
    pub expired_s: Option<f64>,
    /// When its first customer complaint came.
    pub first_complaint_s: Option<f64>,
    /// Where it stands.
    pub phase: IncidentPhase,
    /// Points it moved for the team.
    pub points: i64,
    /// What it cost the team's world: its share of the revenue not earned, against the
    /// baseline, while it was open (`docs/RULES.md`), revenue units (2 decimals).
    #[serde(default)]
    pub revenue_lost_units: f64,
    /// The same in points (revenue units ÷ units per point, 2 decimals): the revenue points it
    /// kept the team from earning.
    #[serde(default)]
    pub revenue_lost_points: f64,
    /// Its share of the customer-facing requests that failed beyond the baseline's while it
    /// was open (2 decimals).
    #[serde(default)]
    pub requests_failed: f64,
}

/// The judges' view of an incident: the truth beside every team's status.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JudgeIncidentView {
    /// The incident.
    #[serde(flatten)]
    pub truth: TrueIncident,
    /// Each team in whose world it struck.
    pub teams: Vec<TeamIncidentResult>,
}

/// A team's debrief after the game.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Debrief {
    /// The team.
    pub team: TeamId,
    /// Its name.
    pub name: String,
    /// Final score.
    pub score: i64,
    /// Final rank.
    pub rank: u32,
    /// What broke when in its world, and how it went.
    pub incidents: Vec<DebriefIncident>,
    /// What it did.
    pub timeline: Vec<TimelineEntry>,
    /// Every change of its score.
    pub ledger: Vec<LedgerEntry>,
    /// Points from revenue in all.
    pub revenue_points: i64,
    /// Points lost to SLA penalties in all.
    pub sla_penalty_points: i64,
    /// Revenue not earned (against the baseline) while no incident was open, units.
    pub unattributed_revenue_lost_units: f64,
    /// Customer-facing requests failed beyond the baseline's while no incident was open.
    pub unattributed_requests_failed: f64,
}

/// One incident in a debrief.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DebriefIncident {
    /// The truth.
    #[serde(flatten)]
    pub truth: TrueIncident,
    /// The team's result (what it cost or earned).
    pub result: TeamIncidentResult,
}

/// The game's status, public.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GameStatus {
    /// Scenario title.
    pub title: String,
    /// Lifecycle state.
    pub state: GameState,
    /// Ticks completed.
    pub tick: u64,
    /// Simulated seconds since the start.
    pub elapsed_s: f64,
    /// Simulated seconds left.
    pub remaining_s: f64,
    /// Planned length plus extensions, simulated seconds.
    pub duration_s: f64,
    /// "speed" or "manual".
    pub clock: String,
    /// Speed factor (speed mode).
    pub speed: Option<f64>,
    /// Whether the public scoreboard is frozen.
    pub frozen: bool,
    /// Teams in the game.
    pub teams: usize,
}

/// One row of the scoreboard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScoreRow {
    /// Rank (equal teams share one).
    pub rank: u32,
    /// Team id.
    pub id: TeamId,
    /// Team name.
    pub name: String,
    /// Score.
    pub score: i64,
    /// Incidents detected.
    pub incidents_detected: u32,
    /// Incidents fixed.
    pub incidents_fixed: u32,
    /// Median TTD, s (none: "–").
    pub median_ttd_s: Option<f64>,
    /// Median TTF, s (none: "–").
    pub median_ttf_s: Option<f64>,
}

/// The scoreboard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scoreboard {
    /// Whether this is the frozen view.
    pub frozen: bool,
    /// Tick it shows.
    pub tick: u64,
    /// Simulated seconds since the start at that tick.
    pub elapsed_s: f64,
    /// Rows, best first.
    pub teams: Vec<ScoreRow>,
}

/// A team's score over time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TeamScoreSeries {
    /// Team id.
    pub id: TeamId,
    /// Team name.
    pub name: String,
    /// (simulated seconds, score) after each change.
    pub points: Vec<ScorePoint>,
}

/// A point of a score series.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScorePoint {
    /// Simulated seconds since the start.
    pub elapsed_s: f64,
    /// Score then.
    pub score: i64,
}

/// A message to all teams.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Announcement {
    /// When it is (or was) shown, simulated seconds since the start.
    pub at_s: f64,
    /// The text.
    pub message: String,
    /// Scheduled by the scenario (otherwise sent by an organizer).
    pub scheduled: bool,
}

/// After Finish: who detected and fixed what, when, beside the true timeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncidentGrid {
    /// The true incidents.
    pub incidents: Vec<TrueIncident>,
    /// Each team's results, one per incident that struck its world.
    pub results: Vec<TeamIncidentResult>,
}

/// Bits of a stream event id below its tick (see [`EventIds`]).
const EVENT_TICK_SHIFT: u32 = 32;
/// Bits of a stream event id below its count of events for everyone.
const EVENT_GLOBAL_SHIFT: u32 = 16;
/// Most events of one kind (for everyone, or for one team) one tick numbers apart.
const MAX_EVENT_ORDINAL: u64 = (1 << EVENT_GLOBAL_SHIFT) - 1;
/// Where the count of events for everyone resumes, in the tick of a checkpoint, after a
/// restart: above any count reached before the checkpoint.
const RESUMED_GLOBAL_ORDINAL: u64 = 1 << (EVENT_GLOBAL_SHIFT - 1);

/// Ids of stream events that a restart reproduces: `tick << 32 | global << 16 | own`, where
/// `global` counts this tick's events for everyone so far and `own` (0 for an event for
/// everyone) this tick's events for the one team. Both only grow within a tick, so the ids a
/// team sees grow; they depend only on what the journal replays (a tick's events come from its
/// records, in journal order), not on a per-process counter, so `Last-Event-ID` resumes at the
/// same place after a restart. The largest id (tick < 2²¹) stays below 2⁵³ (exact in JSON).
#[derive(Clone, Debug, Default)]
pub(crate) struct EventIds {
    tick: u64,
    global: u64,
    own: std::collections::BTreeMap<TeamId, u64>,
}

impl EventIds {
    /// The id of the next event at `tick`, for `team` or (`None`) for everyone.
    pub(crate) fn next(&mut self, tick: u64, team: Option<TeamId>) -> u64 {
        if tick != self.tick {
            self.tick = tick;
            self.global = 0;
            self.own.clear();
        }
        let (global, own) = match team {
            None => {
                self.global = (self.global + 1).min(MAX_EVENT_ORDINAL);
                (self.global, 0)
            }
            Some(team) => {
                let own = self.own.entry(team).or_insert(0);
                *own = (*own + 1).min(MAX_EVENT_ORDINAL);
                (self.global, *own)
            }
        };
        (tick << EVENT_TICK_SHIFT) | (global << EVENT_GLOBAL_SHIFT) | own
    }

    /// At a checkpoint taken at `tick` (possibly after some of its events), live and when
    /// recovering from it: the rest of that tick numbers its events above those streamed
    /// before the checkpoint, the same way in both. (Two checkpoints in one tick with events
    /// between them are not told apart.)
    pub(crate) fn resume_after_checkpoint(&mut self, tick: u64) {
        self.tick = tick;
        self.global = RESUMED_GLOBAL_ORDINAL;
        self.own.clear();
    }
}

/// Something for a team's live stream.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TeamEvent {
    /// Its id: grows along a team's stream and stays the same after a restart (a client
    /// resumes after the last id it saw).
    pub seq: u64,
    /// What happened.
    #[serde(flatten)]
    pub event: Event,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "data")]
pub enum Event {
    /// The team's score changed.
    Ledger(LedgerEntry),
    /// A declaration was judged (or a verdict overruled).
    Verdict(DeclarationOutcome),
    /// An announcement to all teams.
    Announcement(Announcement),
    /// The game's state changed.
    State {
        /// The new state.
        state: GameState,
    },
    /// One of the team's own (declared or fixed) incidents changed.
    Incident(TeamIncidentView),
}

/// Export formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// One JSON document.
    Json,
    /// One CSV file per table.
    Csv,
}

/// An export's content.
#[derive(Clone, Debug, PartialEq)]
pub enum Export {
    /// A JSON document.
    Json(String),
    /// (file name, CSV text) per table.
    Csv(Vec<(String, String)>),
}
