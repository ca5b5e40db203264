//! Shared server state: the game behind a mutex, the clock, the published scoreboards and the
//! shutdown signal.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use breakathon_game::{Game, GameError};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::error::ApiError;
use crate::limits::{RateLimit, RateLimiter};
use crate::stats::ServerStats;

/// Settings of one server instance.
#[derive(Debug, Clone, Default)]
pub struct ServerConfig {
    /// Per-token write limits.
    pub rate_limit: RateLimit,
}

/// One scoreboard view as pre-encoded JSON, published once per change and shared by every
/// stream client.
#[derive(Debug, Clone)]
pub struct Published {
    /// `change_seq` of the game when this was encoded.
    pub seq: u64,
    /// The JSON of `GET /scoreboard` for this view.
    pub json: Arc<str>,
}

/// Cheaply cloneable handle on everything the handlers share.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    game: Mutex<Game>,
    started: Instant,
    public_board: watch::Sender<Published>,
    live_board: watch::Sender<Published>,
    shutdown: CancellationToken,
    limiter: RateLimiter,
    stats: ServerStats,
    last_seq: AtomicU64,
}

impl AppState {
    /// Wraps an opened game. `started` is the instant `now_ms` counts from (the same one that
    /// was used to open the game).
    pub fn new(game: Game, started: Instant, config: ServerConfig) -> Self {
        let seq = game.change_seq();
        let (public_board, _) = watch::channel(encode(&game, false));
        let (live_board, _) = watch::channel(encode(&game, true));
        Self {
            inner: Arc::new(Inner {
                game: Mutex::new(game),
                started,
                public_board,
                live_board,
                shutdown: CancellationToken::new(),
                limiter: RateLimiter::new(config.rate_limit),
                stats: ServerStats::default(),
                last_seq: AtomicU64::new(seq),
            }),
        }
    }

    /// Monotonic milliseconds since the server started: the game's wall clock.
    pub fn now_ms(&self) -> u64 {
        u64::try_from(self.inner.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The shutdown signal: cancelled on Ctrl-C; ends the ticker and every stream.
    pub fn shutdown(&self) -> &CancellationToken {
        &self.inner.shutdown
    }

    /// Server health counters.
    pub fn stats(&self) -> &ServerStats {
        &self.inner.stats
    }

    /// The per-token write limiter.
    pub fn limiter(&self) -> &RateLimiter {
        &self.inner.limiter
    }

    /// A receiver of the latest scoreboard: the live view (it changes on every visible
    /// change) or the public one (frozen while frozen).
    pub fn subscribe(&self, live: bool) -> watch::Receiver<Published> {
        if live {
            self.inner.live_board.subscribe()
        } else {
            self.inner.public_board.subscribe()
        }
    }

    /// The latest encoded scoreboard JSON of a view.
    pub fn scoreboard_json(&self, live: bool) -> Arc<str> {
        let sender = if live {
            &self.inner.live_board
        } else {
            &self.inner.public_board
        };
        sender.borrow().json.clone()
    }

    /// Runs a read-only closure on the game on the blocking pool.
    pub async fn read<R, F>(&self, f: F) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnOnce(&Game) -> R + Send + 'static,
    {
        let state = self.clone();
        tokio::task::spawn_blocking(move || {
            let game = state.lock()?;
            Ok(f(&game))
        })
        .await
        .map_err(|error| ApiError::internal(format!("game task failed: {error}")))?
    }

    /// Runs a command on the game on the blocking pool, records its latency (it includes the
    /// journal append) and publishes the scoreboards if anything visible changed.
    pub async fn write<R, F>(&self, f: F) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Game, u64) -> Result<R, GameError> + Send + 'static,
    {
        let state = self.clone();
        tokio::task::spawn_blocking(move || state.write_blocking(f))
            .await
            .map_err(|error| ApiError::internal(format!("game task failed: {error}")))?
    }

    /// The synchronous body of [`AppState::write`], for callers already on a blocking thread.
    pub fn write_blocking<R, F>(&self, f: F) -> Result<R, ApiError>
    where
        F: FnOnce(&mut Game, u64) -> Result<R, GameError>,
    {
        let mut game = self.lock()?;
        let started = std::time::Instant::now();
        let result = f(&mut game, self.now_ms());
        self.inner.stats.record_command(started.elapsed());
        self.publish_if_changed(&game);
        result.map_err(ApiError::from)
    }

    /// Advances the game to the wall clock and publishes what changed.
    pub fn pump(&self) -> Result<(), ApiError> {
        let mut game = self.lock()?;
        let result = game.pump(self.now_ms());
        self.publish_if_changed(&game);
        result.map_err(ApiError::from)
    }

    /// Closes the game after shutdown: writes a checkpoint so that the next start recovers
    /// quickly (every acknowledged command is already durable in the journal).
    pub fn close(&self) -> Result<(), ApiError> {
        let mut game = self.lock()?;
        game.checkpoint().map_err(ApiError::from)
    }

    /// Locks the game (500 if a panic poisoned it).
    pub fn lock(&self) -> Result<MutexGuard<'_, Game>, ApiError> {
        self.inner.game.lock().map_err(|_| {
            ApiError::internal("the game state is unavailable after an internal error")
        })
    }

    /// Encodes and publishes the scoreboards when the game's change counter moved.
    pub fn publish_if_changed(&self, game: &Game) {
        let seq = game.change_seq();
        if self.inner.last_seq.swap(seq, Ordering::AcqRel) == seq {
            return;
        }
        // The live board is sent on every change (team streams wake on it); the public one
        // only when its JSON differs (it stands still while frozen).
        self.inner.live_board.send_replace(encode(game, true));
        let public = encode(game, false);
        self.inner.public_board.send_if_modified(|current| {
            if current.json == public.json {
                false
            } else {
                *current = public;
                true
            }
        });
    }
}

/// Encodes one scoreboard view.
fn encode(game: &Game, live: bool) -> Published {
    let json = serde_json::to_string(&game.scoreboard(live))
        .unwrap_or_else(|error| format!("{{\"error\":\"internal\",\"message\":\"{error}\"}}"));
    Published {
        seq: game.change_seq(),
        json: json.into(),
    }
}
