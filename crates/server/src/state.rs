//! Shared server state: the game behind a mutex, the clock, the published scoreboards and the
//! shutdown signal.

use std::io::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use breakathon_game::{Access, Game, GameError, Principal, Scoreboard, SharedGame, TeamId};
use bytes::Bytes;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::error::ApiError;
use crate::limits::{KEEP_ALIVE_INTERVAL, MAX_GAME_WAIT, RateLimit, RateLimiter};
use crate::stats::ServerStats;
use crate::tokens::TokenCache;

/// Settings of one server instance.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Per-token write limits.
    pub rate_limit: RateLimit,
    /// Longest silence on a scoreboard stream before it gets a keep-alive comment.
    pub keep_alive_interval: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            rate_limit: RateLimit::default(),
            keep_alive_interval: KEEP_ALIVE_INTERVAL,
        }
    }
}

/// One scoreboard view as pre-encoded JSON, published once per change and shared by every
/// reader and stream client (cloning it only bumps reference counts).
#[derive(Debug, Clone)]
pub struct Published {
    /// `change_seq` of the game when this was encoded.
    pub seq: u64,
    /// The JSON of `GET /scoreboard` for this view.
    pub json: Bytes,
    /// The complete server-sent event carrying `json`: `id: SEQ\ndata: JSON\n\n`.
    pub frame: Bytes,
}

impl Published {
    /// Encodes a board once, as JSON and as its SSE frame.
    pub fn encode(seq: u64, board: &Scoreboard) -> Self {
        let json = serde_json::to_vec(board).unwrap_or_else(|error| {
            format!("{{\"error\":\"internal\",\"message\":\"{error}\"}}").into_bytes()
        });
        let mut frame = Vec::with_capacity(json.len() + SSE_FRAME_OVERHEAD_BYTES);
        // Compact JSON has no line breaks, so one `data:` line carries it whole.
        let _ = write!(frame, "id: {seq}\ndata: ");
        frame.extend_from_slice(&json);
        frame.extend_from_slice(b"\n\n");
        Self {
            seq,
            json: Bytes::from(json),
            frame: Bytes::from(frame),
        }
    }
}

/// Room for `id: SEQ\ndata: ` and the closing blank line around the JSON of a frame.
const SSE_FRAME_OVERHEAD_BYTES: usize = 40;

/// Both views of the scoreboard as computed under the game lock, to be compared and encoded
/// after it is released.
#[derive(Debug)]
pub struct BoardSnapshot {
    seq: u64,
    /// The live board when it differs from the public one (only while frozen).
    live: Option<Scoreboard>,
    public: Scoreboard,
}

/// The boards last published (compared with new snapshots so that an unchanged board is
/// neither encoded nor sent).
#[derive(Debug)]
struct LastBoards {
    seq: u64,
    live: Scoreboard,
    public: Scoreboard,
}

/// Cheaply cloneable handle on everything the handlers share.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    game: SharedGame,
    started: Instant,
    boards: Mutex<LastBoards>,
    public_board: watch::Sender<Published>,
    live_board: watch::Sender<Published>,
    changes: watch::Sender<u64>,
    tokens: TokenCache,
    shutdown: CancellationToken,
    limiter: RateLimiter,
    stats: ServerStats,
    last_seq: AtomicU64,
    streams_ended: AtomicBool,
    keep_alive_interval: Duration,
    keep_alive_started: AtomicBool,
}

impl AppState {
    /// Wraps an opened game. `started` is the instant `now_ms` counts from (the same one that
    /// was used to open the game).
    pub fn new(game: Game, started: Instant, config: ServerConfig) -> Self {
        let seq = game.change_seq();
        let snapshot = snapshot(&game);
        let public = Published::encode(seq, &snapshot.public);
        let live = match &snapshot.live {
            Some(live) => Published::encode(seq, live),
            None => public.clone(),
        };
        let live_board_now = snapshot.live.unwrap_or_else(|| snapshot.public.clone());
        let (public_board, _) = watch::channel(public);
        let (live_board, _) = watch::channel(live);
        let (changes, _) = watch::channel(seq);
        Self {
            inner: Arc::new(Inner {
                game: SharedGame::new(game),
                started,
                boards: Mutex::new(LastBoards {
                    seq,
                    live: live_board_now,
                    public: snapshot.public,
                }),
                public_board,
                live_board,
                changes,
                tokens: TokenCache::default(),
                shutdown: CancellationToken::new(),
                limiter: RateLimiter::new(config.rate_limit),
                stats: ServerStats::default(),
                last_seq: AtomicU64::new(seq),
                streams_ended: AtomicBool::new(false),
                keep_alive_interval: config.keep_alive_interval,
                keep_alive_started: AtomicBool::new(false),
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

    /// Ends every live stream (on shutdown): marks them ended and wakes their clients, which
    /// then see [`AppState::streams_ended`]. Streams learn of the end through the channel they
    /// already wait on, so a stream client polls no shared lock per frame.
    pub fn end_streams(&self) {
        self.inner.streams_ended.store(true, Ordering::Release);
        self.inner.live_board.send_modify(|_| {});
        self.inner.public_board.send_modify(|_| {});
        self.inner.changes.send_modify(|_| {});
    }

    /// Whether [`AppState::end_streams`] was called.
    pub fn streams_ended(&self) -> bool {
        self.inner.streams_ended.load(Ordering::Acquire)
    }

    /// Server health counters.
    pub fn stats(&self) -> &ServerStats {
        &self.inner.stats
    }

    /// Why the game stopped accepting commands (its journal could not be written or
    /// synced), if it did: a restart is needed once the cause is fixed.
    pub fn failure(&self) -> Option<String> {
        self.inner.game.failure()
    }

    /// How many times the journal's log was synced (group commit), if it commits in groups.
    pub fn journal_syncs(&self) -> Option<u64> {
        self.inner.game.wal_sync().map(|sync| sync.syncs())
    }

    /// The per-token write limiter.
    pub fn limiter(&self) -> &RateLimiter {
        &self.inner.limiter
    }

    /// A receiver of the latest scoreboard: the live view or the public one (frozen while
    /// frozen). It is marked changed when its board changes (a newer [`Published::seq`]), on
    /// [`AppState::end_streams`], and when the board stayed the same for a keep-alive interval
    /// (same `seq`: the stream sends a keep-alive comment). Starts the keep-alive task on the
    /// first call inside a runtime.
    pub fn subscribe(&self, live: bool) -> watch::Receiver<Published> {
        self.keep_streams_alive();
        if live {
            self.inner.live_board.subscribe()
        } else {
            self.inner.public_board.subscribe()
        }
    }

    /// Starts, once, the task that wakes the receivers of a board that was not sent for a
    /// keep-alive interval, so that streams need no timer of their own (polling one per
    /// client on every wake-up costs more than the wake-up). It ends with the streams or when
    /// the state is dropped.
    fn keep_streams_alive(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.inner.keep_alive_started.swap(true, Ordering::AcqRel) {
            return;
        }
        runtime.spawn(keep_alive(
            Arc::downgrade(&self.inner),
            self.inner.keep_alive_interval,
        ));
    }

    /// A receiver of the game's change counter: it moves on every visible change (team
    /// events included), not only on scoreboard changes.
    pub fn subscribe_changes(&self) -> watch::Receiver<u64> {
        self.inner.changes.subscribe()
    }

    /// The latest encoded scoreboard JSON of a view (shared, not copied).
    pub fn scoreboard_json(&self, live: bool) -> Bytes {
        let sender = if live {
            &self.inner.live_board
        } else {
            &self.inner.public_board
        };
        sender.borrow().json.clone()
    }

    /// Resolves a bearer token to its principal: from the token cache, or from the game (on
    /// the blocking pool) the first time a token is seen.
    pub async fn authenticate(&self, token: String) -> Result<Option<Principal>, ApiError> {
        if let Some(principal) = self.inner.tokens.get(&token) {
            return Ok(Some(principal));
        }
        let generation = self.inner.tokens.generation();
        let (token, principal) = self
            .read(move |game| {
                let principal = game.authenticate(&token);
                (token, principal)
            })
            .await?;
        if let Some(principal) = principal {
            self.inner.tokens.insert(generation, token, principal);
        }
        Ok(principal)
    }

    /// Forgets every cached token: call it after rotating a token or removing a team.
    pub fn forget_tokens(&self) {
        self.inner.tokens.forget();
    }

    /// Runs a read-only closure on the game on the blocking pool, with no tick under way
    /// (for reads about the whole game).
    pub async fn read<R, F>(&self, f: F) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnOnce(&Game) -> R + Send + 'static,
    {
        self.read_as(Access::Settled, f).await
    }

    /// Runs a read-only closure about one team on the blocking pool, with that team at the
    /// game's tick (it need not wait for the other teams' worlds to step).
    pub async fn read_team<R, F>(&self, team: TeamId, f: F) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnOnce(&Game) -> R + Send + 'static,
    {
        self.read_as(Access::Team(team), f).await
    }

    async fn read_as<R, F>(&self, access: Access, f: F) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnOnce(&Game) -> R + Send + 'static,
    {
        let state = self.clone();
        let deadline = std::time::Instant::now() + MAX_GAME_WAIT;
        tokio::task::spawn_blocking(move || {
            let game = state.lock_until(access, deadline)?;
            Ok(f(&game))
        })
        .await
        .map_err(|error| ApiError::internal(format!("game task failed: {error}")))?
    }

    /// Runs a command on the game on the blocking pool, records its latency (it includes the
    /// journal append) and publishes the scoreboards if they changed (encoded after the game
    /// lock is released).
    pub async fn write<R, F>(&self, f: F) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Game, u64) -> Result<R, GameError> + Send + 'static,
    {
        self.write_as(Access::Settled, f).await
    }

    /// [`AppState::write`] for a team's own command: it waits only for that team's world,
    /// not for the whole tick.
    pub async fn write_team<R, F>(&self, team: TeamId, f: F) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Game, u64) -> Result<R, GameError> + Send + 'static,
    {
        self.write_as(Access::Team(team), f).await
    }

    async fn write_as<R, F>(&self, access: Access, f: F) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Game, u64) -> Result<R, GameError> + Send + 'static,
    {
        let state = self.clone();
        // Counted from here, so that time queued for a blocking thread counts too.
        let deadline = std::time::Instant::now() + MAX_GAME_WAIT;
        let (result, prepared) =
            tokio::task::spawn_blocking(move || state.write_prepared(access, deadline, f))
                .await
                .map_err(|error| ApiError::internal(format!("game task failed: {error}")))??;
        if let Some(prepared) = prepared {
            // Back on a worker: the stream tasks it wakes queue here (see `send`).
            self.send(prepared);
        }
        result.map_err(ApiError::from)
    }

    /// Runs a command under the game lock and prepares the changed boards after releasing
    /// it; sending them is left to the caller. The command runs only if the game could be
    /// locked for it before `deadline` (else 503 `busy`, nothing applied); once it has run,
    /// what is left (the journal sync, encoding the boards) does not give up, so a command
    /// that was applied is answered as such.
    fn write_prepared<R, F>(
        &self,
        access: Access,
        deadline: std::time::Instant,
        f: F,
    ) -> Result<(Result<R, GameError>, Option<Prepared>), ApiError>
    where
        F: FnOnce(&mut Game, u64) -> Result<R, GameError>,
    {
        let mut game = self.lock_until(access, deadline)?;
        let started = std::time::Instant::now();
        let result = f(&mut game, self.now_ms());
        self.inner.stats.record_command(started.elapsed());
        let seq = game.journal_seq();
        let changed = self.changed_boards(&game);
        drop(game);
        // Group commit: acknowledged (and published) only once its journal record is on
        // disk; the lock is free meanwhile.
        self.inner.game.make_durable(seq)?;
        Ok((result, changed.map(|snapshot| self.prepare(snapshot))))
    }

    /// The synchronous body of [`AppState::write`], for callers already on a blocking thread.
    pub fn write_blocking<R, F>(&self, f: F) -> Result<R, ApiError>
    where
        F: FnOnce(&mut Game, u64) -> Result<R, GameError>,
    {
        let deadline = std::time::Instant::now() + MAX_GAME_WAIT;
        let (result, prepared) = self.write_prepared(Access::Settled, deadline, f)?;
        if let Some(prepared) = prepared {
            self.send(prepared);
        }
        result.map_err(ApiError::from)
    }

    /// Advances the game to the wall clock and publishes what changed.
    pub fn pump(&self) -> Result<(), ApiError> {
        let (result, prepared) = self.pump_prepared()?;
        if let Some(prepared) = prepared {
            self.send(prepared);
        }
        result
    }

    /// [`AppState::pump`] without sending: the caller (the ticker, on a worker) sends. The
    /// worlds step outside the game lock; commands go on meanwhile.
    pub fn pump_prepared(&self) -> Result<(Result<(), ApiError>, Option<Prepared>), ApiError> {
        let result = self.inner.game.pump(self.now_ms()).map_err(ApiError::from);
        let game = self.lock()?;
        let changed = self.changed_boards(&game);
        drop(game);
        Ok((result, changed.map(|snapshot| self.prepare(snapshot))))
    }

    /// Closes the game after shutdown: writes a checkpoint so that the next start recovers
    /// quickly (every acknowledged command is already durable in the journal).
    pub fn close(&self) -> Result<(), ApiError> {
        let mut game = self.lock_for(Access::Settled)?;
        game.checkpoint().map_err(ApiError::from)
    }

    /// Locks the game as it is — a tick may be under way, with some teams behind the game's
    /// tick (500 if a panic poisoned it), recording the wait.
    pub fn lock(&self) -> Result<MutexGuard<'_, Game>, ApiError> {
        self.lock_for(Access::AsIs)
    }

    /// Locks the game for `access`, recording the wait (which includes waiting for worlds to
    /// step when the access needs them).
    pub fn lock_for(&self, access: Access) -> Result<MutexGuard<'_, Game>, ApiError> {
        self.lock_until(access, std::time::Instant::now() + MAX_GAME_WAIT)
    }

    /// [`AppState::lock_for`], refused with 503 `busy` (nothing done) once `deadline` has
    /// passed.
    pub fn lock_until(
        &self,
        access: Access,
        deadline: std::time::Instant,
    ) -> Result<MutexGuard<'_, Game>, ApiError> {
        let waiting = std::time::Instant::now();
        let guard = self.inner.game.lock_for_until(access, deadline);
        self.inner.stats.lock_wait.record(waiting.elapsed());
        guard.map_err(ApiError::from)
    }

    /// Encodes and publishes the scoreboards when they changed (for callers that hold the
    /// game lock anyway; prefer releasing it first, as `write` does).
    pub fn publish_if_changed(&self, game: &Game) {
        if let Some(snapshot) = self.changed_boards(game) {
            self.publish(snapshot);
        }
    }

    /// Under the game lock: both boards when the change counter moved since the last call.
    /// Computing them is cheap; encoding them is left to [`AppState::publish`].
    pub fn changed_boards(&self, game: &Game) -> Option<BoardSnapshot> {
        // In the middle of a tick the boards would mix teams before and after it: the end
        // of the tick publishes them.
        if !game.settled() {
            return None;
        }
        let seq = game.change_seq();
        if self.inner.last_seq.swap(seq, Ordering::AcqRel) == seq {
            return None;
        }
        Some(snapshot(game))
    }

    /// Outside the game lock: wakes team streams, then encodes and sends each board that
    /// differs from the last one sent (once, shared by every reader and stream client). An
    /// older snapshot arriving after a newer one is dropped.
    pub fn publish(&self, snapshot: BoardSnapshot) {
        self.send(self.prepare(snapshot));
    }

    /// The first half of [`AppState::publish`], for a blocking thread: compares the boards
    /// with the last ones and encodes those that changed.
    pub fn prepare(&self, snapshot: BoardSnapshot) -> Prepared {
        let started = std::time::Instant::now();
        let seq = snapshot.seq;
        let mut prepared = Prepared {
            seq,
            live: None,
            public: None,
        };
        let mut last = match self.inner.boards.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if seq <= last.seq {
            return prepared;
        }
        last.seq = seq;
        // Unless frozen both views are the same board: encoded once, shared by both channels.
        let live = snapshot.live.as_ref().unwrap_or(&snapshot.public);
        if last.live != *live {
            prepared.live = Some(Published::encode(seq, live));
            last.live.clone_from(live);
        }
        if last.public != snapshot.public {
            prepared.public = Some(match (&prepared.live, &snapshot.live) {
                (Some(live), None) => live.clone(),
                _ => Published::encode(seq, &snapshot.public),
            });
            last.public = snapshot.public;
        }
        drop(last);
        self.inner.stats.publish.record(started.elapsed());
        prepared
    }

    /// The second half of [`AppState::publish`], best called on a runtime worker: sends the
    /// encoded boards, then wakes team streams. Waking thousands of stream tasks from a worker
    /// queues them locally; from a blocking-pool thread each wake-up would go through the
    /// runtime's shared queue. A board older than the one in the channel is dropped.
    pub fn send(&self, prepared: Prepared) {
        let seq = prepared.seq;
        // Boards first: their stream tasks are queued before the team streams' (which each
        // go on to read the game), so a score change reaches scoreboard clients first.
        for (board, channel) in [
            (prepared.live, &self.inner.live_board),
            (prepared.public, &self.inner.public_board),
        ] {
            let Some(board) = board else { continue };
            let sent = channel.send_if_modified(|current| {
                let newer = board.seq > current.seq;
                if newer {
                    *current = board;
                }
                newer
            });
            if sent {
                self.inner
                    .stats
                    .boards_published
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
        self.inner.changes.send_if_modified(|current| {
            let newer = seq > *current;
            if newer {
                *current = seq;
            }
            newer
        });
    }
}

/// Checks each board every half interval and wakes its receivers, without changing it, on
/// every second check that finds its `seq` unmoved: a stream is silent for at most one
/// interval, and a board that changes more often than that costs no extra wake-up.
async fn keep_alive(inner: Weak<Inner>, interval: Duration) {
    let mut ticks = tokio::time::interval(interval / 2);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Per board: the seq at the last check and how many checks in a row found it unmoved.
    let mut boards = [(u64::MAX, 0u64); 2];
    loop {
        ticks.tick().await;
        let Some(inner) = inner.upgrade() else { return };
        if inner.streams_ended.load(Ordering::Acquire) {
            return;
        }
        for (channel, (last_seq, quiet_checks)) in [&inner.live_board, &inner.public_board]
            .into_iter()
            .zip(&mut boards)
        {
            let seq = channel.borrow().seq;
            if seq == *last_seq {
                *quiet_checks += 1;
                if *quiet_checks % 2 == 1 {
                    channel.send_modify(|_| {});
                }
            } else {
                *last_seq = seq;
                *quiet_checks = 0;
            }
        }
    }
}

/// Encoded boards ready to send (see [`AppState::prepare`]).
#[derive(Debug)]
pub struct Prepared {
    seq: u64,
    live: Option<Published>,
    public: Option<Published>,
}

/// Both boards of the game now (the public one is the live one unless frozen: then it is
/// not copied under the game lock).
fn snapshot(game: &Game) -> BoardSnapshot {
    let public = game.scoreboard(false);
    let live = public.frozen.then(|| game.scoreboard(true));
    BoardSnapshot {
        seq: game.change_seq(),
        live,
        public,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use breakathon_game::{ClockMode, GameOptions};

    const TUTORIAL: &str = include_str!("../../../scenarios/tutorial.ron");

    #[test]
    fn a_write_that_cannot_have_the_game_in_time_is_refused_as_busy_and_not_applied() {
        let dir = tempfile::tempdir().expect("temp dir");
        let options = GameOptions {
            data_dir: dir.path().to_owned(),
            scenario_name: "tutorial.ron".into(),
            scenario_source: TUTORIAL.into(),
            clock: ClockMode::Speed(1.0),
            new_game: false,
            organizer_token: None,
            judge_token: None,
        };
        let mut game = Game::open(options, 0).expect("game").game;
        game.create_team("Red").expect("team");
        game.start(0).expect("start");
        // A tick under way that nobody completes: a game-wide command must wait for it.
        assert!(game.begin_due_tick(1_000).expect("tick"));
        let out = game.check_out(1);
        let before = game.status().duration_s;
        let state = AppState::new(game, Instant::now(), ServerConfig::default());
        let deadline = std::time::Instant::now() + Duration::from_millis(50);
        let refused = state
            .write_prepared(Access::Settled, deadline, |game, _| game.extend(77))
            .map(|_| ())
            .expect_err("busy");
        assert_eq!(refused.status, axum::http::StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(refused.code, "busy");
        let game = state.lock().expect("as is");
        assert_eq!(game.status().duration_s, before, "not applied");
        drop(game);
        drop(out);
    }

    #[test]
    fn a_frame_is_one_id_line_and_one_data_line_with_the_json_bytes() {
        let board = Scoreboard {
            frozen: false,
            tick: 7,
            elapsed_s: 3.5,
            teams: Vec::new(),
        };
        let published = Published::encode(42, &board);
        let json = serde_json::to_vec(&board).expect("json");
        assert_eq!(&published.json[..], &json[..]);
        let mut frame = b"id: 42\ndata: ".to_vec();
        frame.extend_from_slice(&json);
        frame.extend_from_slice(b"\n\n");
        assert_eq!(&published.frame[..], &frame[..]);
    }
}
