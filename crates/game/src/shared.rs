//! A game shared between threads: commands and reads take one lock, while the worlds of a
//! tick step outside it, a few teams at a time (see [`crate::stepping`]).
//!
//! A command of a team waits only for that team (its world may be out for one batch, a
//! fraction of a millisecond), not for the whole tick; commands and reads about the whole
//! game wait until the tick completes.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::rules::tick::step_threads;
use crate::{Game, GameError, TeamId};

/// How long a command waits for a tick to make room before it is refused as busy.
pub const MAX_WAIT: Duration = Duration::from_secs(30);
/// Teams a stepping thread takes out of the game at once: small, so that a command for one
/// of them waits little, and large enough that the lock is not taken per world.
pub const TEAMS_PER_BATCH: usize = 4;

/// A [`Game`] behind a mutex, with the protocol that lets its worlds step unlocked.
pub struct SharedGame {
    game: Mutex<Game>,
    /// Signalled whenever worlds come home or a tick completes.
    changed: Condvar,
}

impl SharedGame {
    /// Shares `game`.
    pub fn new(game: Game) -> Self {
        Self {
            game: Mutex::new(game),
            changed: Condvar::new(),
        }
    }

    /// Locks the game as it is: a tick may be under way, so some teams may lag behind the
    /// game's tick. For what every tick leaves consistent (tokens, the clock) or for callers
    /// that handle [`GameError::Busy`] themselves.
    pub fn lock(&self) -> Result<MutexGuard<'_, Game>, GameError> {
        self.game.lock().map_err(|_| poisoned())
    }

    /// Locks the game with `team` at the game's tick: steps it here if it lags, or waits
    /// while its world is out being stepped (or while a tick that changes every team
    /// completes).
    pub fn lock_team(&self, team: TeamId) -> Result<MutexGuard<'_, Game>, GameError> {
        let deadline = Instant::now() + MAX_WAIT;
        let mut game = self.lock()?;
        loop {
            match game.catch_up(team) {
                Err(GameError::Busy(why)) => game = self.wait(game, deadline, why)?,
                other => return other.map(|()| game),
            }
        }
    }

    /// Locks the game with no tick under way (every team at the game's tick): for commands
    /// and reads about the whole game.
    pub fn lock_settled(&self) -> Result<MutexGuard<'_, Game>, GameError> {
        let deadline = Instant::now() + MAX_WAIT;
        let mut game = self.lock()?;
        while !game.settled() {
            game = self.wait(game, deadline, "the game is completing a tick".into())?;
        }
        Ok(game)
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
            let finished = self.lock()?.finish_tick();
            self.changed.notify_all();
            stepped?;
            finished?;
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
