//! A game shared between threads: commands and reads take one lock, while the worlds of a
//! tick step outside it, a few teams at a time (see [`crate::stepping`]).
//!
//! A command of a team waits only for that team (its world may be out for one batch, a
//! fraction of a millisecond), not for the whole tick; commands and reads about the whole
//! game wait until the tick completes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use crate::durability::WalSync;
use crate::rules::tick::step_threads;
use crate::{Game, GameError, TeamId};

/// How long a command waits for a tick to make room before it is refused as busy (and not
/// applied). Callers with a deadline of their own (the server's, well below its request
/// timeout) use [`SharedGame::lock_for_until`].
pub const MAX_WAIT: Duration = Duration::from_secs(5);
/// Longest the clock waits, before it begins a tick, for callers that wait for a settled
/// game (commands and reads about the whole game), so that back-to-back ticks of a game
/// that runs behind its clock do not starve them.
pub const MAX_TICK_YIELD: Duration = Duration::from_millis(200);
/// Teams a stepping thread takes out of the game at once: small, so that a command for one
/// of them waits little, and large enough that the lock is not taken per world.
pub const TEAMS_PER_BATCH: usize = 4;

/// What a caller needs of the game when it locks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The game as it is, possibly in the middle of a tick.
    AsIs,
    /// One team at the game's tick (its own commands and reads).
    Team(TeamId),
    /// No tick under way: every team at the game's tick.
    Settled,
}

/// A [`Game`] behind a mutex, with the protocol that lets its worlds step unlocked and its
/// journal commit in groups.
pub struct SharedGame {
    game: Mutex<Game>,
    /// Signalled whenever worlds come home or a tick completes.
    changed: Condvar,
    /// Group commit of the journal, when it supports it (else every append syncs itself).
    sync: Option<Arc<WalSync>>,
    /// Why the journal could not be made durable: the game then refuses everything.
    failed: OnceLock<String>,
    /// Callers waiting for a settled game: the clock lets them in before its next tick.
    settled_waiters: AtomicUsize,
}

impl SharedGame {
    /// Shares `game`; its journal, if it can, stops syncing at every commit: acknowledge a
    /// command only after [`SharedGame::make_durable`] (or use [`SharedGame::command`]).
    pub fn new(mut game: Game) -> Self {
        let sync = game
            .journal
            .as_mut()
            .and_then(|journal| journal.defer_sync().ok().flatten());
        Self {
            game: Mutex::new(game),
            changed: Condvar::new(),
            sync,
            failed: OnceLock::new(),
            settled_waiters: AtomicUsize::new(0),
        }
    }

    /// Locks the game for `access` (see [`Access`]).
    pub fn lock_for(&self, access: Access) -> Result<MutexGuard<'_, Game>, GameError> {
        self.lock_for_until(access, Instant::now() + MAX_WAIT)
    }

    /// Locks the game for `access`, or refuses with [`GameError::Busy`] once `deadline` has
    /// passed — also when the lock itself was obtained only after it: a caller that must
    /// answer by some time (a server under its request timeout) either gets the game in
    /// time or knows that nothing was done.
    pub fn lock_for_until(
        &self,
        access: Access,
        deadline: Instant,
    ) -> Result<MutexGuard<'_, Game>, GameError> {
        let game = match access {
            Access::AsIs => self.lock()?,
            Access::Team(team) => self.lock_when(|game| game.catch_up(team), deadline, false)?,
            Access::Settled => self.lock_when(|game| game.check_settled(), deadline, true)?,
        };
        if Instant::now() > deadline {
            return Err(too_late());
        }
        Ok(game)
    }

    /// Why the game stopped accepting commands, if it did: its journal could not be synced
    /// (then it refuses everything) or written (then it still answers reads).
    pub fn failure(&self) -> Option<String> {
        if let Some(why) = self.failed.get() {
            return Some(format!("its journal could not be synced ({why})"));
        }
        let game = self.game.lock().ok()?;
        game.failure().map(str::to_owned)
    }

    /// Runs `f` on the game locked for `access`, then returns once everything it journaled
    /// is durable (the lock is released before waiting for the disk).
    pub fn command<R>(
        &self,
        access: Access,
        f: impl FnOnce(&mut Game) -> R,
    ) -> Result<R, GameError> {
        let mut game = self.lock_for(access)?;
        let out = f(&mut game);
        let seq = game.journal_seq();
        drop(game);
        self.make_durable(seq)?;
        Ok(out)
    }

    /// Returns once every journal record up to `seq` is on disk, sharing the `fsync` with
    /// other commands waiting at the same time. A failure stops the game: nothing more is
    /// accepted, and a restart recovers from what the journal holds.
    pub fn make_durable(&self, seq: u64) -> Result<(), GameError> {
        let Some(sync) = &self.sync else {
            return Ok(());
        };
        sync.sync_through(seq).inspect_err(|e| {
            let _ = self.failed.set(e.to_string());
        })
    }

    /// The journal's group commit, if it has one (its `fsync` count is a health figure).
    pub fn wal_sync(&self) -> Option<&WalSync> {
        self.sync.as_deref()
    }

    /// Locks the game as it is: a tick may be under way, so some teams may lag behind the
    /// game's tick. For what every tick leaves consistent (tokens, the clock) or for callers
    /// that handle [`GameError::Busy`] themselves.
    pub fn lock(&self) -> Result<MutexGuard<'_, Game>, GameError> {
        if let Some(why) = self.failed.get() {
            return Err(GameError::Internal(format!(
                "the game stopped after its journal could not be synced ({why}); restart the \
                 server to recover from the journal"
            )));
        }
        self.game.lock().map_err(|_| poisoned())
    }

    /// Locks the game with `team` at the game's tick: steps it here if it lags, or waits
    /// while its world is out being stepped (or while a tick that changes every team
    /// completes).
    pub fn lock_team(&self, team: TeamId) -> Result<MutexGuard<'_, Game>, GameError> {
        self.lock_for(Access::Team(team))
    }

    /// Locks the game with no tick under way (every team at the game's tick): for commands
    /// and reads about the whole game.
    pub fn lock_settled(&self) -> Result<MutexGuard<'_, Game>, GameError> {
        self.lock_for(Access::Settled)
    }

    /// Locks the game once `ready` accepts it, waiting (until `deadline`) for worlds to come
    /// back or the tick to complete while it answers [`GameError::Busy`]. A caller that
    /// waits for the tick (`settled`) is counted, so that the clock lets it in before
    /// beginning the next one.
    fn lock_when(
        &self,
        ready: impl Fn(&mut Game) -> Result<(), GameError>,
        deadline: Instant,
        settled: bool,
    ) -> Result<MutexGuard<'_, Game>, GameError> {
        let mut game = self.lock()?;
        let mut counted = false;
        let outcome = loop {
            match ready(&mut game) {
                Err(GameError::Busy(why)) => {
                    if settled && !counted {
                        counted = true;
                        self.settled_waiters.fetch_add(1, Ordering::AcqRel);
                    }
                    match self.wait(game, deadline, why) {
                        Ok(guard) => game = guard,
                        Err(error) => break Err(error),
                    }
                }
                Err(error) => break Err(error),
                Ok(()) => break Ok(game),
            }
        };
        if counted {
            self.settled_waiters.fetch_sub(1, Ordering::AcqRel);
            // The clock may be waiting for this caller to have had its turn.
            self.changed.notify_all();
        }
        outcome
    }

    /// Advances the game to the clock at `now_ms` (speed mode, running), like
    /// [`Game::pump`], but letting a clock the machine cannot follow slip
    /// ([`Game::slip_clock`]) and with the worlds stepping outside the lock on the machine's
    /// threads: the lock is held to begin each tick (and journal it), to hand out and take
    /// back a few worlds at a time, and to complete the tick.
    pub fn pump(&self, now_ms: u64) -> Result<(), GameError> {
        let limit = self.lock()?.pump_limit();
        let threads = step_threads();
        while self.begin_due_tick(now_ms, limit)? {
            let stepped = std::thread::scope(|scope| {
                let helpers: Vec<_> = (1..threads)
                    .map(|_| scope.spawn(|| self.step_batches()))
                    .collect();
                let mine = self.step_batches();
                helpers
                    .into_iter()
                    .map(|helper| helper.join().unwrap_or_else(|_| Err(poisoned())))
                    .fold(mine, Result::and)
            });
            // Whatever a failed thread left lagging, completing the tick steps here.
            let (finished, seq) = {
                let mut game = self.lock()?;
                (game.finish_tick(), game.journal_seq())
            };
            self.changed.notify_all();
            stepped?;
            finished?;
            // The clock's progress record, synced like a command (shared with any waiting).
            self.make_durable(seq)?;
        }
        Ok(())
    }

    fn begin_due_tick(&self, now_ms: u64, limit: u64) -> Result<bool, GameError> {
        let mut game = self.lock()?;
        // Callers waiting for the last tick to complete go first (for a bounded time).
        let yield_until = Instant::now() + MAX_TICK_YIELD;
        while self.settled_waiters.load(Ordering::Acquire) > 0 {
            let left = yield_until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            game = self
                .changed
                .wait_timeout(game, left)
                .map_err(|_| poisoned())?
                .0;
        }
        game.slip_clock(now_ms);
        Ok(game.tick() < limit && game.begin_due_tick(now_ms)?)
    }

    /// Takes out, steps unlocked and hands back batches of lagging worlds until none is left.
    fn step_batches(&self) -> Result<(), GameError> {
        loop {
            let mut batch = self.lock()?.check_out(TEAMS_PER_BATCH);
            if batch.is_empty() {
                return Ok(());
            }
            batch.step();
            self.lock()?.check_in(batch);
            self.changed.notify_all();
        }
    }

    fn wait<'a>(
        &'a self,
        game: MutexGuard<'a, Game>,
        deadline: Instant,
        why: String,
    ) -> Result<MutexGuard<'a, Game>, GameError> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(GameError::Busy(format!(
                "{why}; nothing was done, try again in a moment"
            )));
        }
        let (game, _) = self
            .changed
            .wait_timeout(game, left)
            .map_err(|_| poisoned())?;
        Ok(game)
    }
}

/// The game was obtained only after the caller's deadline: refused, nothing done.
fn too_late() -> GameError {
    GameError::Busy("the game is too busy to take this now; nothing was done, try again".into())
}

fn poisoned() -> GameError {
    GameError::Internal("the game state is unavailable after an internal error".into())
}
