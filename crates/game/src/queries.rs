//! Read-only views of the game for each role.

use std::sync::Arc;

use breakathon_scenario::Scenario;
use breakathon_sim::{IncidentId, Simulation};

use crate::game::Game;
use crate::record::{IncidentRecord, TeamRecord};
use crate::rules::tick::secs;
use crate::rules::{Median, RankKey, rank_rows};
use crate::team::team_of_token;
use crate::views::{
    Debrief, DebriefIncident, DeclarationOutcome, GameStatus, HintView, IncidentGrid,
    JudgeIncidentView, ScoreRow, Scoreboard, TeamEvent, TeamIncidentResult, TeamIncidentView,
    TeamScoreSeries, TimelineEntry, TimelineKind, TrueIncident,
};
use crate::{
    Announcement, ClockMode, GameError, GameState, LedgerEntry, LedgerKind, Principal, TeamId,
};

/// Most events returned by one `team_events_since` call.
pub const MAX_EVENTS_PER_CALL: usize = 1_000;

impl Game {
    /// Who holds `token`, if anyone.
    pub fn authenticate(&self, token: &str) -> Option<Principal> {
        if let Some(id) = team_of_token(token)
            && let Some(team) = self.core.teams.get(&id)
            && !team.removed
            && team.token.matches(token)
        {
            return Some(Principal::Team(id));
        }
        if self
            .organizer_token
            .as_ref()
            .is_some_and(|h| h.matches(token))
        {
            return Some(Principal::Organizer);
        }
        if self.judge_token.as_ref().is_some_and(|h| h.matches(token)) {
            return Some(Principal::Judge);
        }
        None
    }

    /// Bumps on every visible change (score, state, teams, announcements, events).
    pub fn change_seq(&self) -> u64 {
        self.change_seq
    }

    /// How this game's time advances (fixed when the game was created: it is in the
    /// journal's meta).
    pub fn clock_mode(&self) -> ClockMode {
        self.clock.mode
    }

    /// The scenario being played.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The scenario's RON text.
    pub fn scenario_source(&self) -> &str {
        &self.meta.scenario_source
    }

    /// Ticks completed.
    pub fn tick(&self) -> u64 {
        self.core.tick
    }

    /// Lifecycle state.
    pub fn state(&self) -> GameState {
        self.core.state
    }

    /// Public status.
    pub fn status(&self) -> GameStatus {
        let tick_ms = self.clock.tick_ms;
        GameStatus {
            title: self.scenario.title.clone(),
            state: self.core.state,
            tick: self.core.tick,
            elapsed_s: secs(self.core.tick, tick_ms),
            remaining_s: secs(self.core.end_tick.saturating_sub(self.core.tick), tick_ms),
            duration_s: secs(self.core.end_tick, tick_ms),
            clock: self.clock.mode.name().to_owned(),
            speed: match self.clock.mode {
                ClockMode::Speed(s) => Some(s),
                ClockMode::Manual => None,
            },
            frozen: self.core.frozen.is_some(),
            teams: self.core.teams.values().filter(|t| !t.removed).count(),
        }
    }

    /// The team's world (fleet, metrics, logs, alerts, complaints).
    pub fn world(&self, team: TeamId) -> Result<&Simulation, GameError> {
        self.team(team)?;
        if !self.is_current(team) {
            return Err(GameError::Busy(format!(
                "team {team}'s fleet is stepping; try again in a moment"
            )));
        }
        self.worlds
            .get(&team)
            .ok_or_else(|| GameError::NotFound(format!("team {team} has no world")))
    }

    /// The live scoreboard, computed once per change of the board and shared until the next.
    pub(crate) fn live_board(&self) -> Arc<Scoreboard> {
        let key = (self.board_seq, self.core.tick, self.core.teams.len());
        let mut cache = self
            .board_cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((cached, board)) = cache.as_ref()
            && *cached == key
        {
            return Arc::clone(board);
        }
        let board = Arc::new(self.compute_scoreboard());
        *cache = Some((key, Arc::clone(&board)));
        board
    }

    /// Computes the live scoreboard (one buffer for every team's durations).
    fn compute_scoreboard(&self) -> Scoreboard {
        let tick_ms = self.clock.tick_ms;
        let mut durations_ms: Vec<u64> = Vec::new();
        let mut median_of = |values: &mut dyn Iterator<Item = u64>| {
            durations_ms.clear();
            durations_ms.extend(values);
            (Median::of_mut(&mut durations_ms), durations_ms.len())
        };
        let mut rows: Vec<(ScoreRow, RankKey)> = self
            .core
            .teams
            .values()
            .filter(|t| !t.removed)
            .map(|t| {
                let (median_ttd, detected) = median_of(&mut t.incidents.values().filter_map(|r| {
                    Some(r.detected_tick?.saturating_sub(r.inject_tick) * tick_ms)
                }));
                let (median_ttf, fixed) =
                    median_of(&mut t.incidents.values().filter_map(|r| {
                        Some(r.fixed_tick?.saturating_sub(r.inject_tick) * tick_ms)
                    }));
                let fixed = u32::try_from(fixed).unwrap_or(u32::MAX);
                (
                    ScoreRow {
                        rank: 0,
                        id: t.id,
                        name: t.name.clone(),
                        score: t.score,
                        incidents_detected: u32::try_from(detected).unwrap_or(u32::MAX),
                        incidents_fixed: fixed,
                        median_ttd_s: median_ttd.map(Median::secs),
                        median_ttf_s: median_ttf.map(Median::secs),
                    },
                    RankKey {
                        score: t.score,
                        fixed,
                        median_ttf,
                        reached_tick: t.reached_tick,
                    },
                )
            })
            .collect();
        let ranks = rank_rows(&mut rows, |r| r.1, |r| u64::from(r.0.id.0));
        let teams = rows
            .into_iter()
            .zip(ranks)
            .map(|((mut row, _), rank)| {
                row.rank = rank;
                row
            })
            .collect();
        Scoreboard {
            frozen: false,
            tick: self.core.tick,
            elapsed_s: secs(self.core.tick, tick_ms),
            teams,
        }
    }

    /// The scoreboard: the frozen one while frozen unless `live` (organizers and judges).
    pub fn scoreboard(&self, live: bool) -> Scoreboard {
        Scoreboard::clone(&self.scoreboard_shared(live))
    }

    /// [`Game::scoreboard`] without copying it: the live board is computed once per change
    /// and shared by every caller until the next.
    pub fn scoreboard_shared(&self, live: bool) -> Arc<Scoreboard> {
        match (&self.core.frozen, live) {
            (Some(frozen), false) => Arc::new(Scoreboard {
                frozen: true,
                ..frozen.board.clone()
            }),
            _ => self.live_board(),
        }
    }

    /// Every team's score over time (cut at the freeze unless `live`).
    pub fn score_history(&self, live: bool) -> Vec<TeamScoreSeries> {
        let cut_s = match (&self.core.frozen, live) {
            (Some(frozen), false) => secs(frozen.tick, self.clock.tick_ms),
            _ => f64::INFINITY,
        };
        let visible: Vec<TeamId> = self.scoreboard(live).teams.iter().map(|r| r.id).collect();
        self.core
            .teams
            .values()
            .filter(|t| visible.contains(&t.id))
            .map(|t| TeamScoreSeries {
                id: t.id,
                name: t.name.clone(),
                points: t
                    .history
                    .iter()
                    .copied()
                    .filter(|p| p.elapsed_s <= cut_s)
                    .collect(),
            })
            .collect()
    }

    /// Announcements shown so far: scheduled ones whose time has come and ad-hoc ones.
    pub fn announcements(&self) -> Vec<Announcement> {
        let now_ms = self.core.tick.saturating_mul(self.clock.tick_ms);
        let started = self.core.state != GameState::Lobby;
        let mut all: Vec<Announcement> = self
            .scenario
            .announcements
            .iter()
            .filter(|a| started && a.at.as_millis() <= now_ms)
            .map(|a| Announcement {
                at_s: a.at.as_secs_f64(),
                message: a.message.clone(),
                scheduled: true,
            })
            .chain(self.core.announcements.iter().cloned())
            .collect();
        all.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
        all
    }

    /// The tick from which `hint` is available to `team` (`None`: its fault has not struck
    /// the team's world yet, or there is no such hint).
    pub(crate) fn hint_available_tick(
        &self,
        team: TeamId,
        hint: u32,
    ) -> Result<Option<u64>, GameError> {
        let record = self.team(team)?;
        // A hint that does not exist is never available (said the same way as one that
        // is not available yet: teams must not learn how many there are).
        let Some(spec) = self
            .scenario
            .hints
            .get(usize::try_from(hint).unwrap_or(usize::MAX))
        else {
            return Ok(None);
        };
        let Some(fault) = self
            .scenario
            .faults
            .iter()
            .position(|f| f.name == spec.fault)
        else {
            return Ok(None);
        };
        let unlock = spec.unlock_after.to_ticks(self.scenario.tick);
        Ok(record
            .incidents
            .values()
            .filter(|r| r.fault_index == fault)
            .map(|r| r.inject_tick.saturating_add(unlock))
            .min())
    }

    /// The hints available to a team now (or bought); text only once bought.
    pub fn hints(&self, team: TeamId) -> Vec<HintView> {
        let Ok(record) = self.team(team) else {
            return Vec::new();
        };
        let tick_ms = self.clock.tick_ms;
        (0..self.scenario.hints.len())
            .filter_map(|i| {
                let id = u32::try_from(i).ok()?;
                let available = self.hint_available_tick(team, id).ok()??;
                if available > self.core.tick {
                    return None;
                }
                let spec = &self.scenario.hints[i];
                let taken = record.hints.get(&id);
                Some(HintView {
                    id,
                    cost: spec.cost.saturating_abs(),
                    available_since_s: secs(available, tick_ms),
                    taken_at_s: taken.map(|t| secs(*t, tick_ms)),
                    text: taken.map(|_| spec.text.clone()),
                })
            })
            .collect()
    }

    fn visible_to_team(&self, rec: &IncidentRecord) -> bool {
        self.core.state == GameState::Finished
            || rec.detected_tick.is_some()
            || rec.fixed_tick.is_some()
    }

    pub(crate) fn team_incident_view(
        &self,
        team: &TeamRecord,
        rec: &IncidentRecord,
    ) -> TeamIncidentView {
        let tick_ms = self.clock.tick_ms;
        let s = |t: u64| secs(t, tick_ms);
        let since = |t: Option<u64>| t.map(|t| s(t.saturating_sub(rec.inject_tick)));
        TeamIncidentView {
            incident: rec.id,
            class: rec.class,
            target: rec.root.clone(),
            injected_s: s(rec.inject_tick),
            detected_s: rec.detected_tick.map(s),
            ttd_s: since(rec.detected_tick),
            ttm_s: since(rec.mitigated_tick),
            fixed_s: rec.fixed_tick.map(s),
            ttf_s: since(rec.fixed_tick),
            expired_s: rec.expired_tick.map(s),
            phase: rec.phase(),
            points: team.incident_points(rec.id),
        }
    }

    pub(crate) fn team_incident_view_if_visible(
        &self,
        team: TeamId,
        incident: IncidentId,
    ) -> Option<TeamIncidentView> {
        let record = self.core.teams.get(&team)?;
        let rec = record.incidents.get(&incident)?;
        self.visible_to_team(rec)
            .then(|| self.team_incident_view(record, rec))
    }

    /// A team's own incidents: those it has declared (or fixed); all of them after Finish.
    pub fn team_incidents(&self, team: TeamId) -> Result<Vec<TeamIncidentView>, GameError> {
        let record = self.team(team)?;
        Ok(record
            .incidents
            .values()
            .filter(|r| self.visible_to_team(r))
            .map(|r| self.team_incident_view(record, r))
            .collect())
    }

    /// A team's declarations and their verdicts.
    pub fn declarations(&self, team: TeamId) -> Result<Vec<DeclarationOutcome>, GameError> {
        let record = self.team(team)?;
        (0..record.declarations.len())
            .map(|i| self.declaration_outcome(team, u32::try_from(i).unwrap_or(u32::MAX)))
            .collect()
    }

    pub(crate) fn declaration_outcome(
        &self,
        team: TeamId,
        number: u32,
    ) -> Result<DeclarationOutcome, GameError> {
        let record = self.team(team)?;
        let d = record
            .declarations
            .get(usize::try_from(number).unwrap_or(usize::MAX))
            .ok_or_else(|| GameError::NotFound(format!("no declaration {number}")))?;
        let tick_ms = self.clock.tick_ms;
        let ttd_s = d.incident.and_then(|id| {
            let rec = record.incidents.get(&id)?;
            (rec.detected_by == Some(number))
                .then(|| secs(d.tick.saturating_sub(rec.inject_tick), tick_ms))
        });
        // A late declaration does not reveal which incident it matched unless the team may see it.
        let incident = d.incident.filter(|id| {
            d.verdict != crate::views::Verdict::AlreadyClosed
                || record
                    .incidents
                    .get(id)
                    .is_some_and(|r| self.visible_to_team(r))
        });
        Ok(DeclarationOutcome {
            declaration: number,
            tick: d.tick,
            elapsed_s: secs(d.tick, tick_ms),
            target: d.declaration.target.clone(),
            class: d.declaration.class,
            verdict: d.verdict,
            incident,
            ttd_s,
            points: d.points,
            overruled: d.overruled,
        })
    }

    /// A team's score ledger.
    pub fn ledger(&self, team: TeamId) -> Result<Vec<LedgerEntry>, GameError> {
        Ok(self.team(team)?.ledger.clone())
    }

    /// A team's score.
    pub fn score(&self, team: TeamId) -> Result<i64, GameError> {
        Ok(self.team(team)?.score)
    }

    fn true_incident(&self, rec: &IncidentRecord) -> TrueIncident {
        let tick_ms = self.clock.tick_ms;
        let scheduled = self.schedule.get(rec.id);
        TrueIncident {
            incident: rec.id,
            fault: self
                .scenario
                .faults
                .get(rec.fault_index)
                .map(|f| f.name.clone())
                .unwrap_or_default(),
            class: rec.class,
            target: rec.root.clone(),
            injected_s: scheduled.map(|s| secs(s.inject_tick, tick_ms)),
            ends_s: scheduled.and_then(|s| s.end_tick).map(|t| secs(t, tick_ms)),
        }
    }

    fn team_result(&self, team: &TeamRecord, rec: &IncidentRecord) -> TeamIncidentResult {
        let view = self.team_incident_view(team, rec);
        TeamIncidentResult {
            team: team.id,
            name: team.name.clone(),
            incident: rec.id,
            injected_s: view.injected_s,
            detected_s: view.detected_s,
            ttd_s: view.ttd_s,
            ttm_s: view.ttm_s,
            ttf_s: view.ttf_s,
            expired_s: view.expired_s,
            first_complaint_s: rec
                .first_complaint_tick
                .map(|t| secs(t, self.clock.tick_ms)),
            phase: view.phase,
            points: view.points,
            revenue_lost_units: round2(rec.losses.revenue_lost_units),
            revenue_lost_points: round2(
                rec.losses.revenue_lost_units / self.weights.revenue_units_per_point as f64,
            ),
            requests_failed: round2(rec.losses.requests_failed),
        }
    }

    /// Judges: every incident that has struck any world, with every team's status.
    pub fn judge_incidents(&self) -> Vec<JudgeIncidentView> {
        let mut by_id: std::collections::BTreeMap<IncidentId, JudgeIncidentView> =
            std::collections::BTreeMap::new();
        for team in self.core.teams.values().filter(|t| !t.removed) {
            for rec in team.incidents.values() {
                let result = self.team_result(team, rec);
                by_id
                    .entry(rec.id)
                    .or_insert_with(|| JudgeIncidentView {
                        truth: self.true_incident(rec),
                        teams: Vec::new(),
                    })
                    .teams
                    .push(result);
            }
        }
        by_id.into_values().collect()
    }

    /// Judges: everything a team did and what happened to it, in order.
    pub fn team_timeline(&self, team: TeamId) -> Result<Vec<TimelineEntry>, GameError> {
        let record = self.team(team)?;
        Ok(self.timeline(record, true))
    }

    fn timeline(&self, t: &TeamRecord, truth: bool) -> Vec<TimelineEntry> {
        let tick_ms = self.clock.tick_ms;
        let entry = |tick: u64, kind, text: String, incident| TimelineEntry {
            tick,
            elapsed_s: secs(tick, tick_ms),
            kind,
            text,
            incident,
        };
        let mut out = Vec::new();
        for (i, d) in t.declarations.iter().enumerate() {
            out.push(entry(
                d.tick,
                TimelineKind::Declaration,
                format!(
                    "declaration {i}: {} on {} → {}{}",
                    d.declaration.class,
                    d.declaration.target,
                    d.verdict,
                    if d.overruled { " (overruled)" } else { "" }
                ),
                d.incident,
            ));
        }
        for a in &t.actions {
            let target = a
                .action
                .service
                .clone()
                .or_else(|| a.action.zone.clone())
                .unwrap_or_default();
            let instance = a
                .action
                .instance
                .map(|i| format!("[{i}]"))
                .unwrap_or_default();
            out.push(entry(
                a.tick,
                TimelineKind::Action,
                format!(
                    "{} {target}{instance} (effective at {}s)",
                    a.action.kind,
                    secs(a.apply_tick, tick_ms)
                ),
                None,
            ));
        }
        for n in &t.notifications {
            out.push(entry(
                n.tick,
                TimelineKind::Notification,
                format!("to {}: {}", n.notification.audience, n.notification.message),
                None,
            ));
        }
        for (hint, tick) in &t.hints {
            out.push(entry(
                *tick,
                TimelineKind::Hint,
                format!("bought hint {hint}"),
                None,
            ));
        }
        for note in &t.judge_notes {
            out.push(entry(
                note.tick,
                TimelineKind::Judge,
                note.text.clone(),
                note.incident,
            ));
        }
        for rec in t.incidents.values() {
            let what = format!("{} on {}", rec.class, rec.root);
            if truth {
                out.push(entry(
                    rec.inject_tick,
                    TimelineKind::Injected,
                    format!("{what} struck"),
                    Some(rec.id),
                ));
            }
            if truth || rec.detected_tick.is_some() {
                if let Some(m) = rec.mitigated_tick {
                    out.push(entry(
                        m,
                        TimelineKind::Mitigated,
                        format!("{what} mitigated"),
                        Some(rec.id),
                    ));
                }
                if let Some(f) = rec.fixed_tick {
                    out.push(entry(
                        f,
                        TimelineKind::Fixed,
                        format!("{what} fixed"),
                        Some(rec.id),
                    ));
                }
                if let Some(e) = rec.expired_tick {
                    out.push(entry(
                        e,
                        TimelineKind::Expired,
                        format!("{what} expired"),
                        Some(rec.id),
                    ));
                }
            }
        }
        out.sort_by_key(|e| e.tick);
        out
    }

    /// After Finish: a team's debrief — what broke when, what it did, what each incident
    /// cost or earned it.
    pub fn debrief(&self, team: TeamId) -> Result<Debrief, GameError> {
        if self.core.state != GameState::Finished {
            return Err(GameError::WrongState(
                "debriefs are available after the game ends".into(),
            ));
        }
        let record = self.team(team)?;
        let rank = self
            .live_board()
            .teams
            .iter()
            .find(|r| r.id == team)
            .map_or(0, |r| r.rank);
        let sum = |kind: LedgerKind| -> i64 {
            record
                .ledger
                .iter()
                .filter(|e| e.kind == kind)
                .map(|e| e.points)
                .sum()
        };
        Ok(Debrief {
            team,
            name: record.name.clone(),
            score: record.score,
            rank,
            incidents: record
                .incidents
                .values()
                .map(|rec| DebriefIncident {
                    truth: self.true_incident(rec),
                    result: self.team_result(record, rec),
                })
                .collect(),
            timeline: self.timeline(record, true),
            ledger: record.ledger.clone(),
            revenue_points: sum(LedgerKind::Revenue),
            sla_penalty_points: sum(LedgerKind::SlaPenalty),
            unattributed_revenue_lost_units: round2(record.unattributed_losses.revenue_lost_units),
            unattributed_requests_failed: round2(record.unattributed_losses.requests_failed),
        })
    }

    /// After Finish: the true timeline and every team's result on every incident. While the
    /// board is frozen only `live` callers (organizers, judges) get it.
    pub fn incident_grid(&self, live: bool) -> Result<IncidentGrid, GameError> {
        if self.core.state != GameState::Finished {
            return Err(GameError::WrongState(
                "the incident grid is revealed after the game ends".into(),
            ));
        }
        if self.core.frozen.is_some() && !live {
            return Err(GameError::WrongState(
                "the incident grid is revealed when the scoreboard unfreezes".into(),
            ));
        }
        let judge = self.judge_incidents();
        Ok(IncidentGrid {
            incidents: judge.iter().map(|j| j.truth.clone()).collect(),
            results: judge.into_iter().flat_map(|j| j.teams).collect(),
        })
    }

    /// Events for a team's live stream after `seq` (its own and those for everyone).
    pub fn team_events_since(&self, team: TeamId, seq: u64) -> Vec<TeamEvent> {
        self.events
            .iter()
            .filter(|(s, to, _)| *s > seq && to.is_none_or(|t| t == team))
            .take(MAX_EVENTS_PER_CALL)
            .map(|(s, _, event)| TeamEvent {
                seq: *s,
                event: event.clone(),
            })
            .collect()
    }

    /// Events for everyone (public stream) after `seq`.
    pub fn public_events_since(&self, seq: u64) -> Vec<TeamEvent> {
        self.events
            .iter()
            .filter(|(s, to, _)| *s > seq && to.is_none())
            .take(MAX_EVENTS_PER_CALL)
            .map(|(s, _, event)| TeamEvent {
                seq: *s,
                event: event.clone(),
            })
            .collect()
    }

    /// The rules teams read (`docs/RULES.md`) followed by this scenario's numbers.
    pub fn rules_markdown(&self) -> String {
        let w = &self.weights;
        let m = |ms: u64| breakathon_scenario::SimDuration::from_millis(ms).to_string();
        format!(
            "{}\n\n## This scenario's numbers\n\n| rule | value |\n| --- | --- |\n\
             | revenue | 1 point per {} revenue units |\n\
             | detection | {} points |\n| fix | {} points |\n\
             | grace period | {} |\n| decay window | {} |\n| floor | {} % |\n\
             | ahead of the customer | +{} |\n| communication | +{} |\n| first to fix | +{} |\n\
             | false alarm | −{} |\n| SLA penalty | −{} per minute beyond the error budget |\n\
             | sustain window | {} |\n",
            crate::RULES_MARKDOWN,
            w.revenue_units_per_point,
            w.detection_points,
            w.fix_points,
            m(w.grace_ms),
            m(w.decay_ms),
            w.floor_percent,
            w.ahead_of_customer_points,
            w.communication_points,
            w.first_to_fix_points,
            w.false_alarm_points,
            w.sla_penalty_points_per_min,
            self.scenario.sustain,
        )
    }
}

/// Rounded to 2 decimals, for costs shown to people.
fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}
