//! A tick in stages, so that the worlds can step while the game is not locked.
//!
//! [`Game::begin_tick`] moves the clock to the next tick; from then on every team is
//! *lagging* until its world has stepped to that tick and its rules have run. A lagging team
//! is brought up to date by whoever needs it first: a stepping thread that took its world out
//! with [`Game::check_out`] and returned it with [`Game::check_in`], a command or read of that
//! team through [`Game::catch_up`], or [`Game::finish_tick`], which steps the rest and applies
//! the tick's game-wide effects.
//!
//! Why this replays exactly: the journal records the tick before any team steps to it (as it
//! always did), and a team's command during the tick applies to that team once it has
//! stepped. Replaying steps every team and then applies the command: the same result, because
//! a team's tick reads only its own world and record and the first-fix table as it was before
//! the tick, and the tick's game-wide effects (merging fixes, announcements) read no record —
//! except on ticks that freeze the board or end the game, during which team commands wait
//! for the tick to complete ([`Stepping::global`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use breakathon_scenario::Scenario;
use breakathon_sim::{IncidentId, Simulation};

use crate::checkpoint::{self, CheckpointJob, Marks, WorldJob};
use crate::game::Game;
use crate::record::Core;
use crate::rules::Weights;
use crate::rules::tick::{self, BaselineTick, TeamTick, TickContext, TickOutcome};
use crate::{GameError, GameState, JournalEntry, TeamId};

/// The state of a tick under way (see the module documentation).
pub(crate) struct Stepping {
    /// What the per-team rules need to know about this tick.
    rules: TickRules,
    /// The first-fix table as it was before this tick: every team's rules read this one.
    first_fix: BTreeMap<IncidentId, u64>,
    /// Teams whose worlds have not stepped to this tick and are at home.
    waiting: BTreeSet<TeamId>,
    /// Teams whose worlds are out being stepped.
    out: BTreeSet<TeamId>,
    /// Fixes confirmed during this tick, merged into the table when it completes.
    fixes: Vec<(IncidentId, u64)>,
    /// Whether completing this tick changes the whole game (the board freezes or the game
    /// ends): commands and reads of every kind wait for it.
    global: bool,
    /// The checkpoint of the previous tick taken during this one, if one is due.
    checkpoint: Option<PendingCheckpoint>,
}

/// The game's parameters of the tick under way, owned, so that the per-team rules can run
/// while the records are borrowed mutably.
struct TickRules {
    scenario: Arc<Scenario>,
    weights: Weights,
    tick_ms: u64,
    sustain_ticks: u64,
    tick: u64,
    baseline: Option<BaselineTick>,
}

impl TickRules {
    fn context(&self) -> TickContext<'_> {
        TickContext::new(
            &self.scenario,
            &self.weights,
            self.tick_ms,
            self.sustain_ticks,
            self.tick,
            self.baseline,
        )
    }
}

/// A checkpoint of the state at the end of the previous tick, taken while this tick's worlds
/// step: each world is snapshotted just before it steps, outside the lock when a stepping
/// thread has it (so no lock is held to snapshot every world at once). Nothing else touches a
/// world between the start of the tick and its step, so the snapshots and the records copied
/// at the start are all the state after journal record `seq`.
struct PendingCheckpoint {
    seq: u64,
    tick: u64,
    core: Core,
    marks: Arc<Marks>,
    worlds: Vec<WorldJob>,
}

/// Worlds taken out of the game to step outside its lock (see [`Game::check_out`]).
#[derive(Default)]
pub struct TeamBatch {
    worlds: Vec<(TeamId, Simulation)>,
    stepped: bool,
    /// The ring marks of the last checkpoint, when these worlds are to be checkpointed
    /// before they step.
    marks: Option<Arc<Marks>>,
    /// Their checkpoint jobs.
    jobs: Vec<WorldJob>,
}

impl TeamBatch {
    /// Whether the batch holds no world (every team has been handed out).
    pub fn is_empty(&self) -> bool {
        self.worlds.is_empty()
    }

    /// Steps every world of the batch once, checkpointing it first if the tick takes a
    /// checkpoint (no game state is touched: call it unlocked).
    pub fn step(&mut self) {
        for (id, world) in &mut self.worlds {
            let checkpoint = self.marks.as_deref().map(|marks| (marks, &mut self.jobs));
            checkpoint_then_step(*id, world, checkpoint);
        }
        self.stepped = true;
    }
}

/// Steps one world of the tick under way, snapshotting it first into `checkpoint` (the
/// marks of the last checkpoint and the jobs collected) when the tick takes one.
fn checkpoint_then_step(
    id: TeamId,
    world: &mut Simulation,
    checkpoint: Option<(&Marks, &mut Vec<WorldJob>)>,
) {
    if let Some((marks, jobs)) = checkpoint {
        jobs.push(checkpoint::world_job(id, world, marks));
    }
    world.step();
}

impl Game {
    /// Whether no tick is under way (every team is at the game's tick).
    pub fn settled(&self) -> bool {
        self.stepping.is_none()
    }

    /// Refuses with [`GameError::Busy`] while a tick is under way.
    pub(crate) fn check_settled(&self) -> Result<(), GameError> {
        if self.settled() {
            Ok(())
        } else {
            Err(busy("the game is completing a tick"))
        }
    }

    /// Moves the clock to the next tick, journaling it first when `journal` is set, and
    /// makes every team lagging. Does nothing (returns false) when the game cannot move on:
    /// finished, at its end tick, or a tick is already under way.
    pub(crate) fn begin_tick(&mut self, journal: bool) -> Result<bool, GameError> {
        if self.stepping.is_some()
            || self.core.state == GameState::Finished
            || self.core.tick >= self.core.end_tick
        {
            return Ok(false);
        }
        let next = self.core.tick + 1;
        // The state before this tick's record: checkpointed as the worlds step.
        let checkpoint = (journal && self.checkpoint_due()).then(|| PendingCheckpoint {
            seq: self.last_seq,
            tick: self.core.tick,
            core: self.core.clone(),
            marks: Arc::new(self.checkpoint_marks()),
            worlds: Vec::with_capacity(self.worlds.len()),
        });
        if journal {
            self.append(&[(next, JournalEntry::Tick)])?;
        }
        let baseline = self.baseline_tick(next);
        let freezes = !self.core.auto_freeze_done
            && self
                .scenario
                .freeze_at
                .is_some_and(|at| next >= at.to_ticks(self.scenario.tick));
        self.stepping = Some(Stepping {
            rules: TickRules {
                scenario: Arc::clone(&self.scenario),
                weights: self.weights.clone(),
                tick_ms: self.clock.tick_ms,
                sustain_ticks: self.sustain_ticks,
                tick: next,
                baseline,
            },
            first_fix: self.core.first_fix.clone(),
            waiting: self.worlds.keys().copied().collect(),
            out: BTreeSet::new(),
            fixes: Vec::new(),
            global: freezes || next >= self.core.end_tick,
            checkpoint,
        });
        self.core.tick = next;
        Ok(true)
    }

    /// Takes up to `most` lagging teams' worlds out of the game, to be stepped unlocked and
    /// handed back with [`Game::check_in`]. Empty when none is left (or no tick is under way).
    pub fn check_out(&mut self, most: usize) -> TeamBatch {
        let mut batch = TeamBatch::default();
        let Some(stepping) = self.stepping.as_mut() else {
            return batch;
        };
        batch.marks = stepping.checkpoint.as_ref().map(|c| Arc::clone(&c.marks));
        while batch.worlds.len() < most {
            let Some(id) = stepping.waiting.pop_first() else {
                break;
            };
            if let Some(world) = self.worlds.remove(&id) {
                stepping.out.insert(id);
                batch.worlds.push((id, world));
            }
        }
        batch
    }

    /// Takes back worlds stepped by [`TeamBatch::step`] and applies their teams' rules for
    /// the tick. A batch that was not stepped is stepped here.
    pub fn check_in(&mut self, mut batch: TeamBatch) {
        if !batch.stepped {
            batch.step();
        }
        if let Some(pending) = self.stepping.as_mut().and_then(|s| s.checkpoint.as_mut()) {
            pending.worlds.append(&mut batch.jobs);
        }
        for (id, world) in batch.worlds {
            if let Some(stepping) = self.stepping.as_mut() {
                stepping.out.remove(&id);
            }
            self.worlds.insert(id, world);
            self.apply_team_rules(id);
        }
    }

    /// Brings one team up to the game's tick if it is lagging (stepping its world here).
    /// [`GameError::Busy`] when that cannot be done now: its world is out being stepped, or
    /// the tick under way changes the whole game. Unknown teams are left to the caller.
    pub fn catch_up(&mut self, team: TeamId) -> Result<(), GameError> {
        let Some(stepping) = self.stepping.as_mut() else {
            return Ok(());
        };
        if stepping.global {
            return Err(busy(
                "the game is completing a tick that changes every team",
            ));
        }
        if stepping.out.contains(&team) {
            return Err(busy("this team's fleet is stepping"));
        }
        if stepping.waiting.remove(&team) {
            if let Some(world) = self.worlds.get_mut(&team) {
                let checkpoint = stepping
                    .checkpoint
                    .as_mut()
                    .map(|pending| (&*pending.marks, &mut pending.worlds));
                checkpoint_then_step(team, world, checkpoint);
            }
            self.apply_team_rules(team);
        }
        Ok(())
    }

    /// Whether the team's world and record are at the game's tick.
    pub(crate) fn is_current(&self, team: TeamId) -> bool {
        self.stepping
            .as_ref()
            .is_none_or(|s| !s.global && !s.waiting.contains(&team) && !s.out.contains(&team))
    }

    /// Completes the tick under way: steps every team still lagging (on threads), merges the
    /// tick's fixes and applies its game-wide effects (scheduled announcements, freeze, end).
    /// [`GameError::Busy`] while some world is still out.
    pub fn finish_tick(&mut self) -> Result<(), GameError> {
        let Some(stepping) = self.stepping.as_mut() else {
            return Ok(());
        };
        if !stepping.out.is_empty() {
            return Err(busy("some fleets are still stepping"));
        }
        let waiting = std::mem::take(&mut stepping.waiting);
        if let Some(pending) = stepping.checkpoint.as_mut() {
            for id in &waiting {
                if let Some(world) = self.worlds.get(id) {
                    let job = checkpoint::world_job(*id, world, &pending.marks);
                    pending.worlds.push(job);
                }
            }
        }
        let Some(mut stepping) = self.stepping.take() else {
            return Ok(());
        };
        let pending = stepping.checkpoint.take();
        let ctx = stepping.rules.context();
        // Pair every lagging world with its team's record (both maps are ordered by id).
        let mut records = self.core.teams.iter_mut().peekable();
        let mut jobs: Vec<TeamTick<'_>> = self
            .worlds
            .iter_mut()
            .filter(|(id, _)| waiting.contains(id))
            .map(|(id, world)| {
                while records.next_if(|(rid, _)| *rid < id).is_some() {}
                let team = records.next_if(|(rid, _)| *rid == id).map(|(_, r)| r);
                TeamTick {
                    id: *id,
                    world,
                    team,
                    outcome: TickOutcome::default(),
                }
            })
            .collect();
        tick::step_teams(&mut jobs, &ctx, &stepping.first_fix);
        let outcomes: Vec<(TeamId, TickOutcome)> =
            jobs.into_iter().map(|job| (job.id, job.outcome)).collect();
        for (id, outcome) in outcomes {
            self.publish_team_tick(id, &outcome);
            stepping.fixes.extend(outcome.fixes);
        }
        tick::merge_first_fixes(&stepping.fixes, &mut self.core.first_fix);
        self.after_tick_global();
        self.board_seq += 1;
        self.bump();
        match pending {
            Some(mut pending) => {
                pending.worlds.sort_by_key(|w| w.team);
                self.store_checkpoint(CheckpointJob {
                    seq: pending.seq,
                    tick: pending.tick,
                    core: pending.core,
                    worlds: pending.worlds,
                })
            }
            None => Ok(()),
        }
    }

    /// Runs one team's rules for the tick under way (its world has stepped) and publishes
    /// what changed.
    fn apply_team_rules(&mut self, id: TeamId) {
        let Some(stepping) = self.stepping.as_ref() else {
            return;
        };
        let (Some(world), Some(team)) = (self.worlds.get(&id), self.core.teams.get_mut(&id)) else {
            return;
        };
        let ctx = stepping.rules.context();
        let mut outcome = TickOutcome::default();
        let lines = team.ledger.len();
        tick::after_tick(team, world, &ctx, &stepping.first_fix, &mut outcome);
        outcome.booked = team.ledger.len() > lines;
        self.publish_team_tick(id, &outcome);
        if let Some(stepping) = self.stepping.as_mut() {
            stepping.fixes.extend(outcome.fixes);
        }
    }

    /// Streams what one team's tick changed: incidents, then ledger lines.
    fn publish_team_tick(&mut self, id: TeamId, outcome: &TickOutcome) {
        for incident in &outcome.changes {
            if let Some(view) = self.team_incident_view_if_visible(id, *incident) {
                self.push_event(Some(id), crate::views::Event::Incident(view));
            }
        }
        if outcome.booked {
            self.flush_team_ledger_events(id);
        }
    }
}

fn busy(what: &str) -> GameError {
    GameError::Busy(format!("{what}; try again in a moment"))
}
