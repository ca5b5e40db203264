//! The referee: one simulated world per team in lockstep, the commands of every role, and the
//! rules applied after each tick. Every accepted command is journaled before it is applied
//! and acknowledged; the state is a pure function of the journal.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use breakathon_scenario::{FaultClass, Scenario};
use breakathon_sim::action::echo;
use breakathon_sim::{Action, FaultSchedule, IncidentId, RootTarget, Simulation};

use crate::checkpoint::{self, CheckpointJob, Checkpointer};
use crate::clock::Clock;
use crate::command::MAX_MESSAGE_CHARS;
use crate::data_lock::DataDirLock;
use crate::journal::Journal;
use crate::record::{
    ActionRecord, Core, DeclarationRecord, FrozenBoard, JudgeNote, MAX_RECORDS_PER_TEAM,
    NotificationRecord, TeamRecord,
};
use crate::rules::Weights;
use crate::rules::tick::{self, BaselineTick, TickContext, TickOutcome, secs};
use crate::stepping::Stepping;
use crate::team::{self, MAX_TEAMS, TEAM_TOKEN_PREFIX};
use crate::views::{
    ActionAccepted, DeclarationOutcome, Event, EventIds, HintView, Scoreboard, TeamInfo, Verdict,
};
use crate::{
    Announcement, ClockMode, Declaration, DeclaredTarget, GameError, GameMeta, GameState,
    JournalEntry, LedgerEntry, LedgerKind, Notification, Ruling, TeamId, TokenHash,
};

/// Most events kept for live streams (older ones are dropped; clients resync).
pub const MAX_EVENTS: usize = 20_000;
/// Largest extension or manual advance at once, simulated seconds (one day).
pub const MAX_CLOCK_STEP_SECS: u64 = 86_400;
/// Largest judge adjustment at once, points.
pub const MAX_ADJUST_POINTS: i64 = 1_000_000;
/// Most team-ticks one `pump` simulates (1,000 teams: 20 ticks), so that a game that runs
/// behind its clock holds the caller for a bounded time; the next pump catches up.
pub const MAX_TEAM_TICKS_PER_PUMP: u64 = 20_000;
/// Simulated milliseconds between the clock's progress records in the journal.
pub const TICK_RECORD_INTERVAL_MS: u64 = 1_000;

/// What the cached scoreboard was computed at: the board's change counter, the tick and the
/// number of teams.
pub(crate) type BoardKey = (u64, u64, usize);

/// The referee of one game. Single-threaded: the server wraps it in a mutex.
pub struct Game {
    pub(crate) scenario: Arc<Scenario>,
    pub(crate) meta: GameMeta,
    pub(crate) schedule: Arc<FaultSchedule>,
    pub(crate) weights: Weights,
    pub(crate) clock: Clock,
    pub(crate) sustain_ticks: u64,
    pub(crate) core: Core,
    pub(crate) worlds: BTreeMap<TeamId, Simulation>,
    pub(crate) journal: Option<Box<dyn Journal>>,
    pub(crate) last_seq: u64,
    pub(crate) last_checkpoint_tick: u64,
    pub(crate) organizer_token: Option<TokenHash>,
    pub(crate) judge_token: Option<TokenHash>,
    pub(crate) change_seq: u64,
    pub(crate) events: VecDeque<(u64, Option<TeamId>, Event)>,
    /// Durable ids of stream events (the same after a restart; see [`EventIds`]).
    pub(crate) event_ids: EventIds,
    pub(crate) emitted_ledger: BTreeMap<TeamId, usize>,
    pub(crate) poisoned: Option<String>,
    pub(crate) checkpointer: Option<Checkpointer>,
    /// Bumps whenever the scoreboard may have changed (a tick, a command that moves points or
    /// changes the teams); the cached board is computed once per value.
    pub(crate) board_seq: u64,
    /// The live scoreboard computed at `(board_seq, tick, teams)`, shared until they change.
    pub(crate) board_cache: Mutex<Option<(BoardKey, Arc<Scoreboard>)>>,
    /// The baseline world (no faults, nobody acting), for what incidents cost.
    pub(crate) baseline: Option<Simulation>,
    /// The baseline's report of every tick so far (index `tick − 1`).
    pub(crate) baseline_ticks: Vec<BaselineTick>,
    /// The tick under way, while some teams have not stepped to it (see `stepping`).
    pub(crate) stepping: Option<Stepping>,
    /// The lock on the data directory of a game opened there ([`Game::open`]); the last
    /// field, so that it is released after the journal and the checkpoint writer are closed.
    pub(crate) data_lock: Option<DataDirLock>,
}

/// What applying an entry produced, for the command that caused it.
pub(crate) enum Applied {
    Nothing,
    Declared(DeclarationOutcome),
    Hint(HintView),
    Ledger(Option<LedgerEntry>),
    Announced(Announcement),
}

impl Game {
    /// A game in the lobby for `meta`, with no teams, writing to `journal` if given.
    pub(crate) fn from_meta(
        meta: GameMeta,
        journal: Option<Box<dyn Journal>>,
    ) -> Result<Game, GameError> {
        let scenario = breakathon_scenario::parse_unchecked(&meta.scenario_source)
            .map_err(|e| GameError::Scenario(format!("scenario {}: {e}", meta.scenario_name)))?;
        let scenario = Arc::new(scenario);
        let schedule = Arc::new(FaultSchedule::compute(&scenario, scenario.seed));
        let tick_ms = scenario.tick.as_millis().max(1);
        let end_tick = scenario.duration.to_ticks(scenario.tick);
        let sustain_ticks = scenario.sustain.to_ticks(scenario.tick).max(1);
        Ok(Game {
            weights: Weights::from_scoring(&scenario.scoring),
            clock: Clock::new(meta.clock, tick_ms),
            sustain_ticks,
            core: Core {
                tick: 0,
                state: GameState::Lobby,
                end_tick,
                next_team: 0,
                teams: BTreeMap::new(),
                announcements: Vec::new(),
                frozen: None,
                auto_freeze_done: false,
                first_fix: BTreeMap::new(),
            },
            scenario,
            schedule,
            meta,
            worlds: BTreeMap::new(),
            journal,
            last_seq: 0,
            last_checkpoint_tick: 0,
            organizer_token: None,
            judge_token: None,
            change_seq: 0,
            events: VecDeque::new(),
            event_ids: EventIds::default(),
            emitted_ledger: BTreeMap::new(),
            poisoned: None,
            checkpointer: None,
            board_seq: 0,
            board_cache: Mutex::new(None),
            baseline: None,
            baseline_ticks: Vec::new(),
            stepping: None,
            data_lock: None,
        })
    }

    // ------------------------------------------------------------------ journal plumbing

    pub(crate) fn append(&mut self, entries: &[(u64, JournalEntry)]) -> Result<(), GameError> {
        if let Some(reason) = &self.poisoned {
            return Err(stopped(reason));
        }
        match self.journal.as_mut() {
            Some(journal) => match journal.append(entries) {
                Ok(seq) => self.last_seq = seq,
                // Nothing written: the caller may try again.
                Err(error) if error.is_journal_busy() => {
                    return Err(GameError::Busy(format!(
                        "the journal is busy ({error}); nothing was done, try again"
                    )));
                }
                Err(error) => {
                    // Nothing of this command applied; nothing more will be (the journal
                    // must hold every acknowledged command, in order).
                    let reason = format!(
                        "its journal could not be written ({error}); free space or fix the \
                         data directory"
                    );
                    let refused = stopped(&reason);
                    self.poisoned = Some(reason);
                    return Err(refused);
                }
            },
            None => self.last_seq += entries.len() as u64,
        }
        Ok(())
    }

    /// Journals `entry` at the current tick, then applies it.
    fn commit(&mut self, entry: JournalEntry, now_ms: u64) -> Result<Applied, GameError> {
        self.check_may_apply(&entry)?;
        let tick = self.core.tick;
        self.append(&[(tick, entry.clone())])?;
        let applied = self.apply(tick, &entry, now_ms);
        if let Err(e) = &applied {
            // Validated before journaling, so this is a bug; refuse to go on diverging.
            self.poisoned = Some(e.to_string());
        }
        applied
    }

    /// While a tick is under way only a team's own command applies, once the team is at
    /// the game's tick; everything else waits for the tick to complete (see `stepping`).
    fn check_may_apply(&self, entry: &JournalEntry) -> Result<(), GameError> {
        match entry {
            JournalEntry::Declare { team, .. }
            | JournalEntry::Notify { team, .. }
            | JournalEntry::TakeHint { team, .. }
            | JournalEntry::Act { team, .. }
                if self.is_current(*team) =>
            {
                Ok(())
            }
            _ => self.check_settled(),
        }
    }

    /// Applies one journal entry at `tick` (stepping the worlds there first).
    pub(crate) fn apply(
        &mut self,
        tick: u64,
        entry: &JournalEntry,
        now_ms: u64,
    ) -> Result<Applied, GameError> {
        if tick > self.core.tick {
            self.step_to(tick);
        }
        if tick != self.core.tick && !matches!(entry, JournalEntry::Tick) {
            return Err(GameError::Incompatible(format!(
                "journal entry at tick {tick} cannot apply at tick {} (the journal and this \
                 program disagree)",
                self.core.tick
            )));
        }
        // Entries that cannot move points nor change the teams leave the board as it is; a
        // notification may earn the communication bonus.
        let ledger_before = match entry {
            JournalEntry::Notify { team, .. } => self.team(*team).map(|t| t.ledger.len()).ok(),
            _ => None,
        };
        let applied = self.apply_entry(entry, now_ms)?;
        // Ledger lines are streamed here, not by the caller, so that a replay streams them at
        // the same point as the live game did (stream event ids must survive a restart).
        // A team's or a judge's command about one team books points for that team only.
        match entry {
            JournalEntry::Declare { team, .. }
            | JournalEntry::Notify { team, .. }
            | JournalEntry::TakeHint { team, .. }
            | JournalEntry::Adjust { team, .. }
            | JournalEntry::Rule { team, .. } => self.flush_team_ledger_events(*team),
            // A live tick streams each team's lines as the team steps (see `stepping`).
            JournalEntry::Tick => {}
            _ => self.flush_ledger_events(),
        }
        let board_moved = match entry {
            JournalEntry::Act { .. }
            | JournalEntry::RotateToken { .. }
            | JournalEntry::Announce { .. }
            | JournalEntry::Tick => false,
            JournalEntry::Notify { team, .. } => {
                self.team(*team).map(|t| t.ledger.len()).ok() != ledger_before
            }
            _ => true,
        };
        if board_moved {
            self.board_seq += 1;
        }
        Ok(applied)
    }

    fn apply_entry(&mut self, entry: &JournalEntry, now_ms: u64) -> Result<Applied, GameError> {
        let applied = match entry {
            JournalEntry::CreateTeam { team, name, token } => {
                self.apply_create_team(*team, name, token)?;
                Applied::Nothing
            }
            JournalEntry::RotateToken { team, token } => {
                self.team_mut(*team)?.token = token.clone();
                Applied::Nothing
            }
            JournalEntry::RemoveTeam { team } => {
                self.team_mut(*team)?.removed = true;
                self.worlds.remove(team);
                self.bump();
                Applied::Nothing
            }
            JournalEntry::Start => {
                self.core.state = GameState::Running;
                self.clock.anchor(now_ms, self.core.tick);
                self.state_event();
                Applied::Nothing
            }
            JournalEntry::Pause { .. } => {
                self.core.state = GameState::Paused;
                self.state_event();
                Applied::Nothing
            }
            JournalEntry::Resume => {
                self.core.state = GameState::Running;
                self.clock.anchor(now_ms, self.core.tick);
                self.state_event();
                Applied::Nothing
            }
            JournalEntry::Finish => {
                self.finish_now();
                Applied::Nothing
            }
            JournalEntry::Extend { seconds } => {
                let ticks = self.clock.ticks_in_secs(*seconds);
                self.core.end_tick = self.core.end_tick.saturating_add(ticks);
                self.bump();
                Applied::Nothing
            }
            JournalEntry::Advance { seconds } => {
                let target = self
                    .core
                    .tick
                    .saturating_add(self.clock.ticks_in_secs(*seconds))
                    .min(self.core.end_tick);
                self.step_to(target);
                Applied::Nothing
            }
            JournalEntry::Tick => Applied::Nothing,
            JournalEntry::Freeze => {
                self.freeze_now();
                Applied::Nothing
            }
            JournalEntry::Unfreeze => {
                self.core.frozen = None;
                self.bump();
                Applied::Nothing
            }
            JournalEntry::Announce { message } => {
                let announcement = Announcement {
                    at_s: self.elapsed_s(),
                    message: message.clone(),
                    scheduled: false,
                };
                self.core.announcements.push(announcement.clone());
                self.push_event(None, Event::Announcement(announcement.clone()));
                Applied::Announced(announcement)
            }
            JournalEntry::Declare { team, declaration } => {
                Applied::Declared(self.apply_declare(*team, declaration)?)
            }
            JournalEntry::Act { team, action } => {
                self.apply_act(*team, action)?;
                Applied::Nothing
            }
            JournalEntry::Notify { team, notification } => {
                self.apply_notify(*team, notification)?;
                Applied::Nothing
            }
            JournalEntry::TakeHint { team, hint } => Applied::Hint(self.apply_hint(*team, *hint)?),
            JournalEntry::Adjust {
                team,
                points,
                reason,
            } => {
                let tick_ms = self.clock.tick_ms;
                let tick = self.core.tick;
                let record = self.team_mut(*team)?;
                record.judge_notes.push(JudgeNote {
                    tick,
                    text: format!("adjusted {points:+} points: {reason}"),
                    incident: None,
                });
                let entry = record.book(
                    tick,
                    tick_ms,
                    *points,
                    LedgerKind::JudgeAdjustment,
                    format!("judge: {reason}"),
                    None,
                );
                self.bump();
                Applied::Ledger(entry)
            }
            JournalEntry::Rule {
                team,
                incident,
                ruling,
                reason,
            } => {
                self.apply_rule(*team, *incident, *ruling, reason)?;
                Applied::Nothing
            }
        };
        Ok(applied)
    }

    // ------------------------------------------------------------------ time

    /// Advances every world to the tick the clock says at `now_ms` (speed mode, running),
    /// journaling the clock's progress first, all under the caller's borrow. Does nothing
    /// when paused, manual or finished. [`crate::SharedGame::pump`] does the same with the
    /// worlds stepping outside the game's lock.
    pub fn pump(&mut self, now_ms: u64) -> Result<(), GameError> {
        let limit = self.pump_limit();
        while self.core.tick < limit && self.begin_due_tick(now_ms)? {
            self.finish_tick()?;
        }
        Ok(())
    }

    /// Lets a running speed clock that is further ahead of the game than a bounded lag at
    /// `now_ms` slip (see [`Clock::slip`]), so that a machine that cannot keep up runs the
    /// game as fast as it can instead of chasing an ever-growing backlog. The server's
    /// clock ([`crate::SharedGame::pump`]) does this before every tick; [`Game::pump`] does
    /// not. The anchor is not journaled (replay follows the tick records), so this changes
    /// only how fast the game runs. Returns the ticks given up.
    pub fn slip_clock(&mut self, now_ms: u64) -> u64 {
        if !self.settled() {
            return 0;
        }
        self.clock.slip(now_ms, self.core.tick, self.core.state)
    }

    /// Whether the machine does not step the game as fast as its speed asks: at `now_ms`
    /// the running clock is further ahead than it may be, or it slipped within the last
    /// seconds (see [`Clock::slip`]).
    pub fn clock_behind(&self, now_ms: u64) -> bool {
        self.clock.behind(now_ms, self.core.tick, self.core.state)
    }

    /// Ticks the speed clock gave up since the game was opened because the machine could
    /// not keep up (not journaled: a restart counts from zero).
    pub fn clock_slipped_ticks(&self) -> u64 {
        self.clock.slipped_ticks()
    }

    /// Why the game stopped accepting commands (its journal could not be written, or a bug),
    /// if it did: a restart recovers from the journal.
    pub fn failure(&self) -> Option<&str> {
        self.poisoned.as_deref()
    }

    /// The furthest tick one pump may reach from here: a game that runs behind its clock
    /// holds the caller for a bounded time, and the next pump catches up.
    pub(crate) fn pump_limit(&self) -> u64 {
        let teams = u64::try_from(self.worlds.len().max(1)).unwrap_or(u64::MAX);
        let most = (MAX_TEAM_TICKS_PER_PUMP / teams).max(1);
        self.core.tick.saturating_add(most)
    }

    /// Begins the next tick if the clock at `now_ms` has reached it (speed mode, running, no
    /// tick under way), journaling the clock's progress at least once per simulated second
    /// and on the last tick the clock has reached. The tick is then completed by stepping
    /// its teams ([`Game::check_out`], [`Game::catch_up`]) and [`Game::finish_tick`].
    pub fn begin_due_tick(&mut self, now_ms: u64) -> Result<bool, GameError> {
        if !self.settled() {
            return Ok(false);
        }
        let target =
            self.clock
                .target_tick(now_ms, self.core.tick, self.core.state, self.core.end_tick);
        let next = self.core.tick + 1;
        if target < next {
            return Ok(false);
        }
        let every = TICK_RECORD_INTERVAL_MS.div_ceil(self.clock.tick_ms).max(1);
        self.begin_tick(next.is_multiple_of(every) || next == target)
    }

    /// Steps every world to `target` (capped at the end), applying the rules after each tick.
    pub(crate) fn step_to(&mut self, target: u64) {
        let target = target.min(self.core.end_tick);
        while self.core.tick < target && self.core.state != GameState::Finished {
            // Unjournaled ticks cannot fail, and only a tick under way refuses (none is here).
            match self.begin_tick(false) {
                Ok(true) => {}
                Ok(false) | Err(_) => break,
            }
            if self.finish_tick().is_err() {
                break;
            }
        }
        self.board_seq += 1;
        self.bump();
    }

    pub(crate) fn after_tick_global(&mut self) {
        let tick = self.core.tick;
        let tick_ms = self.clock.tick_ms;
        let scheduled: Vec<Announcement> = self
            .scenario
            .announcements
            .iter()
            .filter(|a| {
                let at = a.at.as_millis();
                at > (tick - 1).saturating_mul(tick_ms) && at <= tick.saturating_mul(tick_ms)
            })
            .map(|a| Announcement {
                at_s: a.at.as_secs_f64(),
                message: a.message.clone(),
                scheduled: true,
            })
            .collect();
        for a in scheduled {
            self.push_event(None, Event::Announcement(a));
        }
        if !self.core.auto_freeze_done
            && let Some(freeze_at) = self.scenario.freeze_at
            && tick >= freeze_at.to_ticks(self.scenario.tick)
        {
            self.core.auto_freeze_done = true;
            if self.core.frozen.is_none() {
                self.freeze_now();
            }
        }
        if tick >= self.core.end_tick {
            self.finish_now();
        }
    }

    fn freeze_now(&mut self) {
        let board = Scoreboard::clone(&self.live_board());
        self.core.frozen = Some(FrozenBoard {
            tick: self.core.tick,
            board,
        });
        self.bump();
    }

    fn finish_now(&mut self) {
        if self.core.state == GameState::Finished {
            return;
        }
        let tick = self.core.tick;
        let tick_ms = self.clock.tick_ms;
        for team in self.core.teams.values_mut().filter(|t| !t.removed) {
            tick::book_revenue(team, tick, tick_ms, &self.weights);
        }
        self.core.state = GameState::Finished;
        self.state_event();
        self.flush_ledger_events();
    }

    fn checkpoint_job(&self) -> CheckpointJob {
        // Incremental: each world's rings since the last complete checkpoint.
        let marks = self
            .checkpointer
            .as_ref()
            .map(Checkpointer::marks)
            .unwrap_or_default();
        checkpoint::job(self.last_seq, &self.core, &self.worlds, &marks)
    }

    /// Whether a checkpoint is due: the interval for this many teams has passed since the
    /// last one and the background writer, if there is one, is free to take it.
    pub(crate) fn checkpoint_due(&self) -> bool {
        let interval = checkpoint::interval_ticks(self.worlds.len());
        self.journal.is_some()
            && self.core.tick >= self.last_checkpoint_tick + interval
            && self.checkpointer.as_ref().is_none_or(Checkpointer::is_idle)
    }

    /// The ring marks of the last checkpoint written: the next one stores what came after.
    pub(crate) fn checkpoint_marks(&self) -> checkpoint::Marks {
        self.checkpointer
            .as_ref()
            .map(Checkpointer::marks)
            .unwrap_or_default()
    }

    /// Stores a checkpoint job: on the background writer if there is one (dropped if it is
    /// busy), else right here.
    pub(crate) fn store_checkpoint(&mut self, job: CheckpointJob) -> Result<(), GameError> {
        let tick = job.tick;
        match &self.checkpointer {
            Some(writer) => {
                if writer.offer(job) {
                    self.last_checkpoint_tick = tick;
                }
            }
            None => {
                let stored = checkpoint::encode(&job)?;
                if let Some(journal) = self.journal.as_mut() {
                    journal.save_checkpoint(&stored)?;
                }
                self.last_checkpoint_tick = tick;
            }
        }
        Ok(())
    }

    /// Checkpoints the whole state now, under the caller's borrow, when one is due (after a
    /// manual advance; a running clock checkpoints while its worlds step, see `stepping`).
    pub(crate) fn maybe_checkpoint(&mut self) -> Result<(), GameError> {
        if !self.checkpoint_due() {
            return Ok(());
        }
        let job = self.checkpoint_job();
        self.store_checkpoint(job)?;
        // The rest of this tick numbers its stream events as a recovery from this
        // checkpoint will (see `EventIds`).
        self.event_ids.resume_after_checkpoint(self.core.tick);
        Ok(())
    }

    /// Writes a checkpoint of the whole state now (after the last journaled record) and
    /// waits until it is stored.
    pub fn checkpoint(&mut self) -> Result<(), GameError> {
        self.check_settled()?;
        if let Some(writer) = &self.checkpointer {
            writer.wait_idle();
        }
        let stored = checkpoint::encode(&self.checkpoint_job())?;
        if let Some(journal) = self.journal.as_mut() {
            journal.save_checkpoint(&stored)?;
        }
        self.last_checkpoint_tick = self.core.tick;
        self.event_ids.resume_after_checkpoint(self.core.tick);
        Ok(())
    }

    /// The error of the last background checkpoint, if it failed (the game goes on; the
    /// journal alone still recovers everything, only more slowly).
    pub fn checkpoint_error(&self) -> Option<String> {
        self.checkpointer
            .as_ref()
            .and_then(Checkpointer::last_error)
    }

    /// Starts writing automatic checkpoints on a background thread.
    pub(crate) fn start_checkpointer(&mut self) -> Result<(), GameError> {
        if let Some(path) = self.journal.as_ref().and_then(|j| j.path()) {
            self.checkpointer = Some(Checkpointer::start(path)?);
        }
        Ok(())
    }

    // ------------------------------------------------------------------ events

    pub(crate) fn bump(&mut self) {
        self.change_seq += 1;
    }

    pub(crate) fn push_event(&mut self, team: Option<TeamId>, event: Event) {
        let id = self.event_ids.next(self.core.tick, team);
        self.change_seq += 1;
        self.events.push_back((id, team, event));
        while self.events.len() > MAX_EVENTS {
            self.events.pop_front();
        }
    }

    fn state_event(&mut self) {
        let state = self.core.state;
        self.push_event(None, Event::State { state });
    }

    /// After a checkpoint was loaded: its ledger lines were streamed before (not again), and
    /// events of its tick that follow it get ids above those streamed before the checkpoint.
    pub(crate) fn events_resume_from_checkpoint(&mut self) {
        for (id, team) in &self.core.teams {
            self.emitted_ledger.insert(*id, team.ledger.len());
        }
        self.event_ids.resume_after_checkpoint(self.core.tick);
    }

    /// Streams one team's new ledger lines.
    pub(crate) fn flush_team_ledger_events(&mut self, id: TeamId) {
        let Some(team) = self.core.teams.get(&id) else {
            return;
        };
        let emitted = self.emitted_ledger.entry(id).or_insert(0);
        let fresh: Vec<LedgerEntry> = team.ledger.get(*emitted..).unwrap_or_default().to_vec();
        *emitted = team.ledger.len();
        for entry in fresh {
            self.push_event(Some(id), Event::Ledger(entry));
        }
    }

    pub(crate) fn flush_ledger_events(&mut self) {
        let mut fresh = Vec::new();
        for (id, team) in &self.core.teams {
            let emitted = self.emitted_ledger.entry(*id).or_insert(0);
            if team.ledger.len() > *emitted {
                fresh.extend(team.ledger[*emitted..].iter().map(|e| (*id, e.clone())));
                *emitted = team.ledger.len();
            }
        }
        for (id, entry) in fresh {
            self.push_event(Some(id), Event::Ledger(entry));
        }
    }

    // ------------------------------------------------------------------ helpers

    pub(crate) fn elapsed_s(&self) -> f64 {
        secs(self.core.tick, self.clock.tick_ms)
    }

    pub(crate) fn team(&self, id: TeamId) -> Result<&TeamRecord, GameError> {
        self.core
            .teams
            .get(&id)
            .filter(|t| !t.removed)
            .ok_or_else(|| GameError::NotFound(format!("no team {id}")))
    }

    fn team_mut(&mut self, id: TeamId) -> Result<&mut TeamRecord, GameError> {
        self.core
            .teams
            .get_mut(&id)
            .filter(|t| !t.removed)
            .ok_or_else(|| GameError::NotFound(format!("no team {id}")))
    }

    /// Team commands need a running game and an existing team.
    fn check_team_command(&self, team: TeamId) -> Result<(), GameError> {
        self.team(team)?;
        match self.core.state {
            GameState::Running => Ok(()),
            GameState::Lobby => Err(GameError::WrongState("the game has not started yet".into())),
            GameState::Paused => Err(GameError::WrongState(
                "the game is paused: team commands are refused until it resumes".into(),
            )),
            GameState::Finished => Err(GameError::WrongState("the game is over".into())),
        }
    }

    fn check_records(&self, team: TeamId, len: usize, what: &str) -> Result<(), GameError> {
        if len >= MAX_RECORDS_PER_TEAM {
            return Err(GameError::BadRequest(format!(
                "team {team} has reached the limit of {MAX_RECORDS_PER_TEAM} {what}"
            )));
        }
        Ok(())
    }

    fn check_service(&self, name: &str) -> Result<(), GameError> {
        if self.scenario.services.iter().any(|s| s.name == name) {
            return Ok(());
        }
        let names: Vec<&str> = self
            .scenario
            .services
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        Err(GameError::BadRequest(format!(
            "unknown service `{}`{}",
            echo(name),
            suggestion(name, &names)
        )))
    }

    fn check_zone(&self, name: &str) -> Result<(), GameError> {
        if self.scenario.zones.iter().any(|z| z.name == name) {
            return Ok(());
        }
        let names: Vec<&str> = self
            .scenario
            .zones
            .iter()
            .map(|z| z.name.as_str())
            .collect();
        Err(GameError::BadRequest(format!(
            "unknown zone `{}`{}",
            echo(name),
            suggestion(name, &names)
        )))
    }

    /// The baseline's report of game tick `tick` (the world's tick `tick − 1`), stepping the
    /// baseline world — the scenario without faults, nobody acting — that far if needed. It
    /// is the same for every team, and rebuilt from the scenario after a recovery.
    pub(crate) fn baseline_tick(&mut self, tick: u64) -> Option<BaselineTick> {
        let index = usize::try_from(tick.checked_sub(1)?).ok()?;
        while self.baseline_ticks.len() <= index {
            if self.baseline.is_none() {
                self.baseline = Simulation::baseline(&self.scenario).ok();
            }
            let world = self.baseline.as_mut()?;
            world.step();
            let report = world.last_tick_report();
            self.baseline_ticks.push(BaselineTick {
                revenue_units: report.revenue_units,
                requests_failed: report.requests_failed,
            });
        }
        self.baseline_ticks.get(index).copied()
    }

    fn new_world(&self) -> Result<Simulation, GameError> {
        Simulation::new(self.scenario.clone(), self.schedule.clone())
            .map_err(|e| GameError::Scenario(e.to_string()))
    }

    // ------------------------------------------------------------------ organizer

    /// Creates a team; returns it and its token (shown once, stored only hashed). A team
    /// created after the start joins with a world that ran to the current tick untouched.
    pub fn create_team(&mut self, name: &str) -> Result<(TeamInfo, String), GameError> {
        if self.core.state == GameState::Finished {
            return Err(GameError::WrongState("the game is over".into()));
        }
        if self.core.teams.len() >= MAX_TEAMS {
            return Err(GameError::BadRequest(format!(
                "a game has at most {MAX_TEAMS} teams"
            )));
        }
        let name = team::validate_team_name(name)?;
        if self
            .core
            .teams
            .values()
            .any(|t| !t.removed && t.name.eq_ignore_ascii_case(&name))
        {
            return Err(GameError::BadRequest(format!(
                "there is already a team named `{name}`"
            )));
        }
        let id = TeamId(self.core.next_team);
        let token = team::generate_token(&format!("{TEAM_TOKEN_PREFIX}{id}-"))?;
        let hash = TokenHash::new(&token)?;
        self.commit(
            JournalEntry::CreateTeam {
                team: id,
                name: name.clone(),
                token: hash,
            },
            0,
        )?;
        let record = self.team(id)?;
        Ok((
            TeamInfo {
                id,
                name,
                created_tick: record.created_tick,
            },
            token,
        ))
    }

    fn apply_create_team(
        &mut self,
        id: TeamId,
        name: &str,
        token: &TokenHash,
    ) -> Result<(), GameError> {
        if self.core.teams.contains_key(&id) {
            return Err(GameError::Incompatible(format!("team {id} created twice")));
        }
        let mut world = self.new_world()?;
        let mut record = TeamRecord::new(id, name.to_owned(), token.clone(), self.core.tick);
        // A late team's world catches up with nobody acting.
        let mut outcome = TickOutcome::default();
        for t in 1..=self.core.tick {
            world.step();
            let baseline = self.baseline_tick(t);
            let ctx = TickContext::new(
                &self.scenario,
                &self.weights,
                self.clock.tick_ms,
                self.sustain_ticks,
                t,
                baseline,
            );
            outcome.clear();
            tick::after_tick(
                &mut record,
                &world,
                &ctx,
                &self.core.first_fix,
                &mut outcome,
            );
            outcome.merge_fixes(&mut self.core.first_fix);
        }
        // Its points start at its creation: nothing the untouched world earned or lost before
        // the team existed is booked to it (QA F19).
        record.start_scoring_now();
        self.core.next_team = self.core.next_team.max(id.0 + 1);
        self.core.teams.insert(id, record);
        self.worlds.insert(id, world);
        self.bump();
        Ok(())
    }

    /// The teams in the game (not removed ones).
    pub fn teams(&self) -> Vec<TeamInfo> {
        self.core
            .teams
            .values()
            .filter(|t| !t.removed)
            .map(|t| TeamInfo {
                id: t.id,
                name: t.name.clone(),
                created_tick: t.created_tick,
            })
            .collect()
    }

    /// Gives a team a new token (the old one stops working); returns it, shown once.
    pub fn rotate_token(&mut self, team: TeamId) -> Result<String, GameError> {
        self.team(team)?;
        let token = team::generate_token(&format!("{TEAM_TOKEN_PREFIX}{team}-"))?;
        let hash = TokenHash::new(&token)?;
        self.commit(JournalEntry::RotateToken { team, token: hash }, 0)?;
        Ok(token)
    }

    /// Removes a team: its token stops working, its world stops, it leaves the board.
    pub fn remove_team(&mut self, team: TeamId) -> Result<(), GameError> {
        self.team(team)?;
        self.commit(JournalEntry::RemoveTeam { team }, 0)?;
        Ok(())
    }

    /// Starts the game (from the lobby).
    pub fn start(&mut self, now_ms: u64) -> Result<(), GameError> {
        if self.core.state != GameState::Lobby {
            return Err(GameError::WrongState(format!(
                "the game can only start from the lobby; it is {}",
                self.core.state.name()
            )));
        }
        self.commit(JournalEntry::Start, now_ms)?;
        Ok(())
    }

    /// Pauses the game at the tick it has reached (a tick under way completes first:
    /// [`GameError::Busy`] until then). Ticks the clock is ahead are not stepped: on a
    /// machine that falls behind, pausing never waits for a backlog.
    pub fn pause(&mut self, now_ms: u64) -> Result<(), GameError> {
        if self.core.state != GameState::Running {
            return Err(GameError::WrongState(format!(
                "only a running game can pause; it is {}",
                self.core.state.name()
            )));
        }
        self.commit(JournalEntry::Pause { recovered: false }, now_ms)?;
        Ok(())
    }

    /// Resumes a paused game; time runs again from `now_ms`.
    pub fn resume(&mut self, now_ms: u64) -> Result<(), GameError> {
        if self.core.state != GameState::Paused {
            return Err(GameError::WrongState(format!(
                "only a paused game can resume; it is {}",
                self.core.state.name()
            )));
        }
        self.commit(JournalEntry::Resume, now_ms)?;
        Ok(())
    }

    /// Ends the game now (before its planned end), at the tick it has reached (like
    /// [`Game::pause`], it steps no backlog of the clock).
    pub fn finish(&mut self, now_ms: u64) -> Result<(), GameError> {
        match self.core.state {
            GameState::Running | GameState::Paused => {}
            GameState::Lobby => {
                return Err(GameError::WrongState("the game has not started yet".into()));
            }
            GameState::Finished => return Err(GameError::WrongState("the game is over".into())),
        }
        if self.core.state == GameState::Finished {
            return Ok(());
        }
        self.commit(JournalEntry::Finish, now_ms)?;
        Ok(())
    }

    /// Adds `seconds` of simulated time at the end (`At` times stay measured from the start).
    pub fn extend(&mut self, seconds: u64) -> Result<(), GameError> {
        if self.core.state == GameState::Finished {
            return Err(GameError::WrongState("the game is over".into()));
        }
        if seconds == 0 || seconds > MAX_CLOCK_STEP_SECS {
            return Err(GameError::BadRequest(format!(
                "extend by 1 to {MAX_CLOCK_STEP_SECS} simulated seconds"
            )));
        }
        self.commit(JournalEntry::Extend { seconds }, 0)?;
        Ok(())
    }

    /// Advances a manual clock by `seconds` of simulated time (stops at the end).
    pub fn advance(&mut self, seconds: u64) -> Result<(), GameError> {
        if self.clock.mode != ClockMode::Manual {
            return Err(GameError::WrongState(
                "only a manual clock is advanced by hand; this game runs at a speed".into(),
            ));
        }
        if self.core.state != GameState::Running {
            return Err(GameError::WrongState(format!(
                "time only advances while the game runs; it is {}",
                self.core.state.name()
            )));
        }
        if seconds == 0 || seconds > MAX_CLOCK_STEP_SECS {
            return Err(GameError::BadRequest(format!(
                "advance by 1 to {MAX_CLOCK_STEP_SECS} simulated seconds"
            )));
        }
        self.commit(JournalEntry::Advance { seconds }, 0)?;
        self.maybe_checkpoint()?;
        Ok(())
    }

    /// Freezes the public scoreboard as it is now.
    pub fn freeze(&mut self) -> Result<(), GameError> {
        if self.core.frozen.is_some() {
            return Err(GameError::WrongState(
                "the scoreboard is already frozen".into(),
            ));
        }
        self.commit(JournalEntry::Freeze, 0)?;
        Ok(())
    }

    /// Unfreezes the public scoreboard (reveals the live standings).
    pub fn unfreeze(&mut self) -> Result<(), GameError> {
        if self.core.frozen.is_none() {
            return Err(GameError::WrongState("the scoreboard is not frozen".into()));
        }
        self.commit(JournalEntry::Unfreeze, 0)?;
        Ok(())
    }

    /// Sends a message to all teams now.
    pub fn announce(&mut self, message: &str) -> Result<Announcement, GameError> {
        let message = check_message(message, "an announcement")?;
        match self.commit(JournalEntry::Announce { message }, 0)? {
            Applied::Announced(a) => Ok(a),
            _ => Err(GameError::Incompatible("announcement not recorded".into())),
        }
    }

    // ------------------------------------------------------------------ team

    /// Declares an incident: "target T has fault class F". Judged at once.
    pub fn declare(
        &mut self,
        team: TeamId,
        declaration: Declaration,
    ) -> Result<DeclarationOutcome, GameError> {
        self.catch_up(team)?;
        self.check_team_command(team)?;
        self.check_records(team, self.team(team)?.declarations.len(), "declarations")?;
        match &declaration.target {
            DeclaredTarget::Service(s) => self.check_service(s)?,
            DeclaredTarget::Zone(z) => self.check_zone(z)?,
        }
        check_declared_class(&declaration)?;
        match self.commit(JournalEntry::Declare { team, declaration }, 0)? {
            Applied::Declared(outcome) => Ok(outcome),
            _ => Err(GameError::Incompatible("declaration not recorded".into())),
        }
    }

    fn apply_declare(
        &mut self,
        team_id: TeamId,
        declaration: &Declaration,
    ) -> Result<DeclarationOutcome, GameError> {
        let tick = self.core.tick;
        let tick_ms = self.clock.tick_ms;
        let weights = self.weights.clone();
        let team = self.team_mut(team_id)?;
        let number = u32::try_from(team.declarations.len()).unwrap_or(u32::MAX);
        let matches = |root: &RootTarget| match (root, &declaration.target) {
            (RootTarget::Service(a), DeclaredTarget::Service(b))
            | (RootTarget::Zone(a), DeclaredTarget::Zone(b)) => a == b,
            _ => false,
        };
        let mut candidates: Vec<_> = team
            .incidents
            .values()
            .filter(|r| r.class == declaration.class && matches(&r.root) && r.inject_tick <= tick)
            .map(|r| (r.inject_tick, r.id, r.is_open(), r.detected_tick.is_some()))
            .collect();
        candidates.sort();
        let undetected = candidates.iter().find(|c| c.2 && !c.3).map(|c| c.1);
        let open_detected = candidates.iter().find(|c| c.2 && c.3).map(|c| c.1);
        let closed = candidates.iter().find(|c| !c.2).map(|c| c.1);
        let (verdict, incident) = match (undetected, open_detected, closed) {
            (Some(id), _, _) => (Verdict::Correct, Some(id)),
            (None, Some(id), _) => (Verdict::Duplicate, Some(id)),
            (None, None, Some(id)) => (Verdict::AlreadyClosed, Some(id)),
            (None, None, None) => (Verdict::FalseAlarm, None),
        };
        let mut points = 0;
        let what = format!("{} on {}", declaration.class, declaration.target);
        match (verdict, incident) {
            (Verdict::Correct, Some(id)) => {
                let (inject, complaint) = team
                    .incidents
                    .get(&id)
                    .map(|r| (r.inject_tick, r.first_complaint_tick))
                    .unwrap_or((tick, None));
                let ttd_ticks = tick.saturating_sub(inject);
                let detection = weights.detection(ttd_ticks.saturating_mul(tick_ms));
                if let Some(e) = team.book(
                    tick,
                    tick_ms,
                    detection,
                    LedgerKind::Detection,
                    format!("detected {what}: TTD {}s", secs(ttd_ticks, tick_ms)),
                    Some(id),
                ) {
                    points += e.points;
                }
                if complaint.is_none_or(|c| tick <= c)
                    && let Some(e) = team.book(
                        tick,
                        tick_ms,
                        weights.ahead_of_customer_points,
                        LedgerKind::AheadOfCustomer,
                        format!("detected {what} before any customer complained"),
                        Some(id),
                    )
                {
                    points += e.points;
                }
                if let Some(r) = team.incidents.get_mut(&id) {
                    r.detected_tick = Some(tick);
                    r.detected_by = Some(number);
                    r.detection_credit += points;
                }
            }
            (Verdict::FalseAlarm, _) => {
                if let Some(e) = team.book(
                    tick,
                    tick_ms,
                    weights.false_alarm_points.saturating_neg(),
                    LedgerKind::FalseAlarm,
                    format!("false alarm: no open incident is {what}"),
                    None,
                ) {
                    points += e.points;
                }
            }
            _ => {}
        }
        team.declarations.push(DeclarationRecord {
            tick,
            declaration: declaration.clone(),
            verdict,
            incident,
            overruled: false,
            points,
        });
        let outcome = self.declaration_outcome(team_id, number)?;
        self.push_event(Some(team_id), Event::Verdict(outcome.clone()));
        if let Some(id) = incident
            && verdict == Verdict::Correct
            && let Some(view) = self.team_incident_view_if_visible(team_id, id)
        {
            self.push_event(Some(team_id), Event::Incident(view));
        }
        Ok(outcome)
    }

    /// Acts on the team's fleet; the action takes effect at the start of the next tick.
    pub fn act(&mut self, team: TeamId, action: Action) -> Result<ActionAccepted, GameError> {
        self.catch_up(team)?;
        self.check_team_command(team)?;
        self.check_records(team, self.team(team)?.actions.len(), "actions")?;
        if let Some(reason) = &self.poisoned {
            return Err(stopped(reason));
        }
        // The world validates and queues in one step; journal right after, and if that
        // fails (even busy) the world is ahead of the journal: stop accepting commands.
        // `catch_up` above brought the team to the game's tick, so it may act mid-tick.
        let accepted = self.apply_act(team, &action)?;
        let tick = self.core.tick;
        if let Err(error) = self.append(&[(tick, JournalEntry::Act { team, action })]) {
            let reason = self
                .poisoned
                .get_or_insert_with(|| {
                    format!("an action was applied but could not be journaled ({error})")
                })
                .clone();
            return Err(stopped(&reason));
        }
        // As the replay's `apply` does (stream event ids must survive a restart).
        self.flush_ledger_events();
        self.bump();
        Ok(accepted)
    }

    fn apply_act(&mut self, team: TeamId, action: &Action) -> Result<ActionAccepted, GameError> {
        self.team(team)?;
        let world = self
            .worlds
            .get_mut(&team)
            .ok_or_else(|| GameError::NotFound(format!("team {team} has no world")))?;
        let apply_tick = world
            .submit(action.clone())
            .map_err(|e| GameError::BadRequest(e.to_string()))?;
        let tick = self.core.tick;
        let tick_ms = self.clock.tick_ms;
        self.team_mut(team)?.actions.push(ActionRecord {
            tick,
            apply_tick,
            action: action.clone(),
        });
        Ok(ActionAccepted {
            apply_tick,
            apply_s: secs(apply_tick, tick_ms),
        })
    }

    /// Notifies stakeholders. Naming an incident's target (in `service`/`zone` or as a word
    /// of the message) between its detection and its confirmed fix earns the communication
    /// bonus once per incident.
    pub fn notify(&mut self, team: TeamId, notification: Notification) -> Result<(), GameError> {
        self.catch_up(team)?;
        self.check_team_command(team)?;
        self.check_records(team, self.team(team)?.notifications.len(), "notifications")?;
        let message = check_message(&notification.message, "a notification")?;
        if notification.service.is_some() && notification.zone.is_some() {
            return Err(GameError::BadRequest(
                "a notification names at most one of `service` or `zone`".into(),
            ));
        }
        if let Some(s) = &notification.service {
            self.check_service(s)?;
        }
        if let Some(z) = &notification.zone {
            self.check_zone(z)?;
        }
        let notification = Notification {
            message,
            ..notification
        };
        self.commit(JournalEntry::Notify { team, notification }, 0)?;
        Ok(())
    }

    fn apply_notify(&mut self, team_id: TeamId, n: &Notification) -> Result<(), GameError> {
        let tick = self.core.tick;
        let tick_ms = self.clock.tick_ms;
        let bonus = self.weights.communication_points;
        let team = self.team_mut(team_id)?;
        team.notifications.push(NotificationRecord {
            tick,
            notification: n.clone(),
        });
        let words: Vec<String> = n
            .message
            .split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '_'))
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect();
        let names = |root: &RootTarget| match root {
            RootTarget::Service(s) => {
                n.service.as_deref() == Some(s.as_str()) || words.contains(&s.to_lowercase())
            }
            RootTarget::Zone(z) => {
                n.zone.as_deref() == Some(z.as_str()) || words.contains(&z.to_lowercase())
            }
        };
        let due: Vec<(IncidentId, String)> = team
            .incidents
            .values()
            .filter(|r| {
                r.is_open() && r.detected_tick.is_some() && !r.communicated && names(&r.root)
            })
            .map(|r| (r.id, format!("{} on {}", r.class, r.root)))
            .collect();
        for (id, what) in due {
            if let Some(r) = team.incidents.get_mut(&id) {
                r.communicated = true;
            }
            team.book(
                tick,
                tick_ms,
                bonus,
                LedgerKind::Communication,
                format!("told stakeholders about {what}"),
                Some(id),
            );
        }
        self.bump();
        Ok(())
    }

    /// Buys a hint (it must be available and not bought yet); returns it with its text.
    pub fn take_hint(&mut self, team: TeamId, hint: u32) -> Result<HintView, GameError> {
        self.catch_up(team)?;
        self.check_team_command(team)?;
        // One answer for a hint that does not exist and one not available yet: telling
        // them apart would reveal how many hints (and so scripted faults) there are.
        let not_available = || GameError::NotFound(format!("hint {hint} is not available"));
        let Some(available) = self.hint_available_tick(team, hint)? else {
            return Err(not_available());
        };
        if available > self.core.tick {
            return Err(not_available());
        }
        if self.team(team)?.hints.contains_key(&hint) {
            return Err(GameError::BadRequest(format!(
                "hint {hint} is already yours"
            )));
        }
        match self.commit(JournalEntry::TakeHint { team, hint }, 0)? {
            Applied::Hint(view) => Ok(view),
            _ => Err(GameError::Incompatible("hint not recorded".into())),
        }
    }

    fn apply_hint(&mut self, team_id: TeamId, hint: u32) -> Result<HintView, GameError> {
        let tick = self.core.tick;
        let tick_ms = self.clock.tick_ms;
        let spec = self
            .scenario
            .hints
            .get(usize::try_from(hint).unwrap_or(usize::MAX))
            .cloned()
            .ok_or_else(|| GameError::NotFound(format!("no hint {hint}")))?;
        let team = self.team_mut(team_id)?;
        team.hints.insert(hint, tick);
        team.book(
            tick,
            tick_ms,
            spec.cost.saturating_abs().saturating_neg(),
            LedgerKind::Hint,
            format!("bought hint {hint}"),
            None,
        );
        self.bump();
        self.hints(team_id)
            .into_iter()
            .find(|h| h.id == hint)
            .ok_or_else(|| GameError::NotFound(format!("no hint {hint}")))
    }

    // ------------------------------------------------------------------ judge

    /// Adds (or removes, with negative points) points with a written reason.
    pub fn adjust(
        &mut self,
        team: TeamId,
        points: i64,
        reason: &str,
    ) -> Result<LedgerEntry, GameError> {
        self.team(team)?;
        let reason = check_message(reason, "a reason")?;
        // `unsigned_abs`: `i64::MIN.abs()` overflows (it wrapped past this check once).
        if points == 0 || points.unsigned_abs() > MAX_ADJUST_POINTS.unsigned_abs() {
            return Err(GameError::BadRequest(format!(
                "adjust by a non-zero number of points up to {MAX_ADJUST_POINTS} either way"
            )));
        }
        match self.commit(
            JournalEntry::Adjust {
                team,
                points,
                reason,
            },
            0,
        )? {
            Applied::Ledger(Some(entry)) => Ok(entry),
            _ => Err(GameError::Incompatible("adjustment not recorded".into())),
        }
    }

    /// Overrules a verdict or reopens/closes an incident for a team, with a written reason.
    pub fn rule(
        &mut self,
        team: TeamId,
        incident: IncidentId,
        ruling: Ruling,
        reason: &str,
    ) -> Result<(), GameError> {
        let reason = check_message(reason, "a reason")?;
        self.check_rule(team, incident, ruling)?;
        self.commit(
            JournalEntry::Rule {
                team,
                incident,
                ruling,
                reason,
            },
            0,
        )?;
        Ok(())
    }

    fn check_rule(
        &self,
        team: TeamId,
        incident: IncidentId,
        ruling: Ruling,
    ) -> Result<(), GameError> {
        let record = self.team(team)?;
        let rec = record.incidents.get(&incident).ok_or_else(|| {
            GameError::NotFound(format!("incident {incident} has not struck team {team}"))
        })?;
        let declaration = |d: u32| {
            record
                .declarations
                .get(usize::try_from(d).unwrap_or(usize::MAX))
                .ok_or_else(|| GameError::NotFound(format!("team {team} has no declaration {d}")))
        };
        match ruling {
            Ruling::DeclarationCorrect { declaration: d } => {
                let decl = declaration(d)?;
                if decl.verdict == Verdict::Correct {
                    return Err(GameError::BadRequest(format!(
                        "declaration {d} is already correct"
                    )));
                }
                if let Some(by) = rec.detected_by {
                    return Err(GameError::BadRequest(format!(
                        "incident {incident} is already detected by declaration {by}"
                    )));
                }
            }
            Ruling::DeclarationWrong { declaration: d } => {
                let decl = declaration(d)?;
                if decl.verdict == Verdict::FalseAlarm {
                    return Err(GameError::BadRequest(format!(
                        "declaration {d} is already a false alarm"
                    )));
                }
                if decl.incident != Some(incident) {
                    return Err(GameError::BadRequest(format!(
                        "declaration {d} is not about incident {incident}"
                    )));
                }
            }
            Ruling::Reopen => {
                if rec.is_open() {
                    return Err(GameError::BadRequest(format!(
                        "incident {incident} is already open for team {team}"
                    )));
                }
            }
            Ruling::Close => {
                if !rec.is_open() {
                    return Err(GameError::BadRequest(format!(
                        "incident {incident} is already closed for team {team}"
                    )));
                }
            }
        }
        Ok(())
    }

    fn apply_rule(
        &mut self,
        team_id: TeamId,
        incident: IncidentId,
        ruling: Ruling,
        reason: &str,
    ) -> Result<(), GameError> {
        self.check_rule(team_id, incident, ruling).map_err(|e| {
            GameError::Incompatible(format!("journaled ruling no longer applies: {e}"))
        })?;
        let tick = self.core.tick;
        let tick_ms = self.clock.tick_ms;
        let weights = self.weights.clone();
        let team = self.team_mut(team_id)?;
        let judge = |what: &str| format!("judge: {what} ({reason})");
        let Some(rec) = team.incidents.get(&incident).cloned() else {
            return Err(GameError::NotFound(format!("no incident {incident}")));
        };
        let what = format!("{} on {}", rec.class, rec.root);
        let note = match ruling {
            Ruling::DeclarationCorrect { declaration: d } => {
                let idx = usize::try_from(d).unwrap_or(usize::MAX);
                let Some(decl) = team.declarations.get(idx).cloned() else {
                    return Err(GameError::NotFound(format!("no declaration {d}")));
                };
                let mut points = 0;
                if decl.verdict == Verdict::FalseAlarm
                    && let Some(e) = team.book(
                        tick,
                        tick_ms,
                        weights.false_alarm_points,
                        LedgerKind::JudgeRuling,
                        judge(&format!(
                            "declaration {d} was right; false-alarm penalty refunded"
                        )),
                        Some(incident),
                    )
                {
                    points += e.points;
                }
                let ttd_ticks = decl.tick.saturating_sub(rec.inject_tick);
                let mut credit = 0;
                if let Some(e) = team.book(
                    tick,
                    tick_ms,
                    weights.detection(ttd_ticks.saturating_mul(tick_ms)),
                    LedgerKind::Detection,
                    judge(&format!(
                        "declaration {d} detected {what}: TTD {}s",
                        secs(ttd_ticks, tick_ms)
                    )),
                    Some(incident),
                ) {
                    credit += e.points;
                }
                if rec.first_complaint_tick.is_none_or(|c| decl.tick <= c)
                    && let Some(e) = team.book(
                        tick,
                        tick_ms,
                        weights.ahead_of_customer_points,
                        LedgerKind::AheadOfCustomer,
                        judge(&format!("declaration {d} came before any complaint")),
                        Some(incident),
                    )
                {
                    credit += e.points;
                }
                if let Some(r) = team.incidents.get_mut(&incident) {
                    r.detected_tick = Some(decl.tick.max(r.inject_tick));
                    r.detected_by = Some(d);
                    r.detection_credit += credit;
                }
                if let Some(decl) = team.declarations.get_mut(idx) {
                    decl.verdict = Verdict::Correct;
                    decl.incident = Some(incident);
                    decl.overruled = true;
                    decl.points += points + credit;
                }
                format!("declaration {d} ruled correct for incident {incident}: {reason}")
            }
            Ruling::DeclarationWrong { declaration: d } => {
                let idx = usize::try_from(d).unwrap_or(usize::MAX);
                let mut points = 0;
                if rec.detected_by == Some(d) {
                    if let Some(e) = team.book(
                        tick,
                        tick_ms,
                        rec.detection_credit.saturating_neg(),
                        LedgerKind::JudgeRuling,
                        judge(&format!(
                            "declaration {d} was wrong; detection points withdrawn"
                        )),
                        Some(incident),
                    ) {
                        points += e.points;
                    }
                    // The communication bonus needed a detection first: without this
                    // declaration there was none (QA F22).
                    if rec.communicated
                        && let Some(e) = team.book(
                            tick,
                            tick_ms,
                            weights.communication_points.saturating_neg(),
                            LedgerKind::JudgeRuling,
                            judge(&format!(
                                "declaration {d} was wrong; communication bonus withdrawn"
                            )),
                            Some(incident),
                        )
                    {
                        points += e.points;
                    }
                    if let Some(r) = team.incidents.get_mut(&incident) {
                        r.detected_tick = None;
                        r.detected_by = None;
                        r.detection_credit = 0;
                        r.communicated = false;
                    }
                }
                if let Some(e) = team.book(
                    tick,
                    tick_ms,
                    weights.false_alarm_points.saturating_neg(),
                    LedgerKind::FalseAlarm,
                    judge(&format!("declaration {d} ruled a false alarm")),
                    None,
                ) {
                    points += e.points;
                }
                if let Some(decl) = team.declarations.get_mut(idx) {
                    decl.verdict = Verdict::FalseAlarm;
                    decl.incident = None;
                    decl.overruled = true;
                    decl.points += points;
                }
                format!("declaration {d} ruled a false alarm: {reason}")
            }
            Ruling::Reopen => {
                team.book(
                    tick,
                    tick_ms,
                    rec.fix_credit.saturating_neg(),
                    LedgerKind::JudgeRuling,
                    judge(&format!("{what} reopened; fix points withdrawn")),
                    Some(incident),
                );
                if let Some(r) = team.incidents.get_mut(&incident) {
                    r.fixed_tick = None;
                    r.fix_confirmed_tick = None;
                    r.fixed_by_judge = false;
                    r.expired_tick = None;
                    r.run_start = None;
                    r.fix_credit = 0;
                    r.reopened_at = Some(tick);
                }
                format!("incident {incident} reopened: {reason}")
            }
            Ruling::Close => {
                let ttf_ticks = tick.saturating_sub(rec.inject_tick);
                let entry = team.book(
                    tick,
                    tick_ms,
                    weights.fix(ttf_ticks.saturating_mul(tick_ms)),
                    LedgerKind::Fix,
                    judge(&format!(
                        "{what} ruled fixed: TTF {}s",
                        secs(ttf_ticks, tick_ms)
                    )),
                    Some(incident),
                );
                if let Some(r) = team.incidents.get_mut(&incident) {
                    r.fixed_tick = Some(tick);
                    r.fix_confirmed_tick = Some(tick);
                    r.fixed_by_judge = true;
                    r.run_start = None;
                    r.fix_credit += entry.map_or(0, |e| e.points);
                }
                format!("incident {incident} ruled fixed: {reason}")
            }
        };
        team.judge_notes.push(JudgeNote {
            tick,
            text: note,
            incident: Some(incident),
        });
        if let Some(view) = self.team_incident_view_if_visible(team_id, incident) {
            self.push_event(Some(team_id), Event::Incident(view));
        }
        self.bump();
        Ok(())
    }
}

/// The refusal of every command once the game stopped for `reason`.
fn stopped(reason: &str) -> GameError {
    GameError::Stopped(format!(
        "the game stopped accepting commands: {reason}; then restart the server to recover \
         from the journal (every acknowledged command is in it)"
    ))
}

/// Checks a free-text message: trimmed, non-empty, not too long, no control characters but
/// newlines and tabs.
fn check_message(message: &str, what: &str) -> Result<String, GameError> {
    let message = message.trim();
    if message.is_empty() {
        return Err(GameError::BadRequest(format!("{what} needs some text")));
    }
    if message.chars().count() > MAX_MESSAGE_CHARS {
        return Err(GameError::BadRequest(format!(
            "{what} has at most {MAX_MESSAGE_CHARS} characters"
        )));
    }
    if message
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(GameError::BadRequest(format!(
            "{what} may not contain control characters (other than newlines and tabs)"
        )));
    }
    Ok(message.to_owned())
}

/// Checks that a fault class declared on a zone is one that can strike a zone, listing
/// those that can. (A zone class declared on a service stays a false alarm: the service may
/// well be where the team saw it.)
fn check_declared_class(declaration: &Declaration) -> Result<(), GameError> {
    if !matches!(declaration.target, DeclaredTarget::Zone(_)) || declaration.class.may_target_zone()
    {
        return Ok(());
    }
    let classes: Vec<&str> = FaultClass::ALL
        .into_iter()
        .filter(|c| c.may_target_zone())
        .map(FaultClass::name)
        .collect();
    Err(GameError::BadRequest(format!(
        "`{}` is not a fault class of a zone; the zone fault classes are: {}",
        declaration.class,
        classes.join(", ")
    )))
}

/// " — did you mean `x`?" for the closest known name, or nothing.
fn suggestion(name: &str, known: &[&str]) -> String {
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(name, k), *k))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| format!(" — did you mean `{k}`?"))
        .unwrap_or_default()
}
