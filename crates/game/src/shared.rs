//! A game shared between threads: commands and reads take one lock, while the worlds of a
//! tick step outside it, a few teams at a time (see [`crate::stepping`]).
//!
//! A command of a team waits only for that team (its world may be out for one batch, a
//! fraction of a millisecond), not for the whole tick; commands and reads about the whole
//! game wait until the tick completes.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use crate::durability::WalSync;
use crate::rules::tick::step_threads;
use crate::{Game, GameError, TeamId};

/// How long a command waits for a tick to make room before it is refused as busy.
pub const MAX_WAIT: Duration = Duration::from_secs(30);
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
        }
    }

    /// Locks the game for `access` (see [`Access`]).
    pub fn lock_for(&self, access: Access) -> Result<MutexGuard<'_, Game>, GameError> {
        match access {
            Access::AsIs => self.lock(),
            Access::Team(team) => self.lock_team(team),
            Access::Settled => self.lock_settled(),
        }
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
        self.lock_when(|game| game.catch_up(team))
    }

    /// Locks the game with no tick under way (every team at the game's tick): for commands
    /// and reads about the whole game.
    pub fn lock_settled(&self) -> Result<MutexGuard<'_, Game>, GameError> {
        self.lock_when(|game| game.check_settled())
    }

    /// Locks the game once `ready` accepts it, waiting (up to [`MAX_WAIT`]) for worlds to
    /// come back or the tick to complete while it answers [`GameError::Busy`].
    fn lock_when(
        &self,
        ready: impl Fn(&mut Game) -> Result<(), GameError>,
    ) -> Result<MutexGuard<'_, Game>, GameError> {
        let deadline = Instant::now() + MAX_WAIT;
        let mut game = self.lock()?;
        loop {
            match ready(&mut game) {
                Err(GameError::Busy(why)) => game = self.wait(game, deadline, why)?,
                other => return other.map(|()| game),
            }
        }
    }

    /// Advances the game to the clock at `now_ms` (speed mode, running), like
    /// [`Game::pump`], but with the worlds stepping outside the lock on the machine's
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
            return Err(GameError::Busy(why));
        }
        let (game, _) = self
            .changed
            .wait_timeout(game, left)
            .map_err(|_| poisoned())?;
        Ok(game)
    }
}

fn poisoned() -> GameError {
    GameError::Internal("the game state is unavailable after an internal error".into())
}
