//! Opening a game in a data directory (new, or recovered from its journal), replaying a
//! journal, and the state hash that proves two replays agree.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use breakathon_scenario::Scenario;
use breakathon_sim::snapshot::SNAPSHOT_FORMAT;
use breakathon_sim::{FaultSchedule, Simulation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::checkpoint::{self, Marks};
use crate::data_lock::DataDirLock;
use crate::game::Game;
use crate::journal::{
    CheckpointHead, JOURNAL_FILE_NAME, JOURNAL_FORMAT_VERSION, Journal, SqliteJournal, StoredWorld,
};
use crate::record::Core;
use crate::team::{generate_token, to_hex};
use crate::{ClockMode, GameError, GameMeta, GameState, JournalEntry, TeamId, TokenHash};

/// File in the data directory that keeps generated organizer and judge tokens.
pub const TOKENS_FILE_NAME: &str = "tokens.json";
/// Folder in the data directory where old journals go when a new game starts.
pub const ARCHIVE_DIR_NAME: &str = "archive";
/// Most archived journals numbered before giving up (a safety limit).
pub const MAX_ARCHIVES: u32 = 100_000;
/// Most threads that read and rebuild a checkpoint's worlds at once.
pub const MAX_RESTORE_THREADS: usize = 4;

/// How to open a game.
#[derive(Clone, Debug)]
pub struct GameOptions {
    /// The data directory (created if missing).
    pub data_dir: PathBuf,
    /// Scenario file name, for messages.
    pub scenario_name: String,
    /// Scenario RON text (validate it before; it is parsed here again).
    pub scenario_source: String,
    /// How the clock runs (a recovered game keeps its own).
    pub clock: ClockMode,
    /// Archive an existing journal and start a fresh game.
    pub new_game: bool,
    /// Organizer token from the environment; else generated once and kept in the data dir.
    pub organizer_token: Option<String>,
    /// Judge token from the environment; else generated once and kept in the data dir.
    pub judge_token: Option<String>,
}

/// An opened game and the tokens of the organizer and judges.
pub struct Opened {
    /// The game.
    pub game: Game,
    /// The organizer's token.
    pub organizer_token: String,
    /// The judges' token.
    pub judge_token: String,
    /// Whether it was recovered from an existing journal.
    pub recovered: bool,
    /// The tick of the checkpoint recovery started from, if any.
    pub checkpoint_tick: Option<u64>,
    /// Journal records replayed on top of it.
    pub replayed_records: usize,
    /// Wall time spent loading the checkpoint (reading, decoding, rebuilding worlds), ms.
    pub checkpoint_load_ms: u64,
    /// Wall time spent replaying the journal after it, ms.
    pub replay_ms: u64,
}

/// How a game was rebuilt.
#[derive(Clone, Debug, Default)]
struct Rebuilt {
    checkpoint_tick: Option<u64>,
    replayed_records: usize,
    /// Ring marks of the checkpoint recovered from (its chunks are stored).
    marks: Marks,
    checkpoint_load_ms: u64,
    replay_ms: u64,
}

#[derive(Default, Serialize, Deserialize)]
struct StoredTokens {
    organizer: Option<String>,
    judge: Option<String>,
}

/// SHA-256 of `text`, hex.
pub fn sha256_hex(text: &str) -> String {
    to_hex(&Sha256::digest(text.as_bytes()))
}

/// The program version written into new journals.
pub const PROGRAM_VERSION: &str = env!("CARGO_PKG_VERSION");

fn major_minor(version: &str) -> &str {
    match version.match_indices('.').nth(1) {
        Some((i, _)) => &version[..i],
        None => version,
    }
}

fn check_program_version(meta: &GameMeta, path: &Path) -> Result<(), GameError> {
    if meta.format_version != JOURNAL_FORMAT_VERSION
        || major_minor(&meta.program_version) != major_minor(PROGRAM_VERSION)
    {
        return Err(GameError::Incompatible(format!(
            "{} was written by breakathon {} (journal format {}); this is breakathon \
             {PROGRAM_VERSION} (format {JOURNAL_FORMAT_VERSION}), which cannot replay it \
             exactly — use the version that wrote it",
            path.display(),
            meta.program_version,
            meta.format_version,
        )));
    }
    Ok(())
}

impl Game {
    /// Opens the game in `options.data_dir`: recovers the journal there (a running game comes
    /// back paused at the tick it had reached; a manual-clock game exactly where it was), or
    /// starts a new one. Refuses a journal of another scenario; `new_game` archives it.
    /// The game holds the data directory's [`DataDirLock`] until dropped: opening a
    /// directory that another game (in any process) holds is refused before anything in it
    /// is read or archived.
    pub fn open(options: GameOptions, now_ms: u64) -> Result<Opened, GameError> {
        let dir = &options.data_dir;
        fs::create_dir_all(dir)
            .map_err(|e| GameError::io(format!("creating {}", dir.display()), e))?;
        // Before anything in the directory is read or moved; the game keeps it (with its
        // journal) until dropped.
        let lock = DataDirLock::acquire(dir)?;
        let (organizer_token, judge_token) = load_tokens(
            dir,
            options.organizer_token.clone(),
            options.judge_token.clone(),
        )?;
        let path = dir.join(JOURNAL_FILE_NAME);
        if options.new_game && path.exists() {
            archive_journal(dir, &path)?;
        }
        let hash = sha256_hex(&options.scenario_source);
        let recovered = path.exists();
        let (mut game, rebuilt) = if recovered {
            let journal = SqliteJournal::open(&path)?;
            let meta = journal.meta()?;
            check_program_version(&meta, &path)?;
            if meta.scenario_hash != hash {
                return Err(GameError::Incompatible(format!(
                    "the data directory {} holds a game of scenario `{}` ({}), not of `{}`; \
                     start a new game (`serve --new`) to archive it, or open it with its own scenario",
                    dir.display(),
                    meta.scenario_name,
                    short(&meta.scenario_hash),
                    options.scenario_name,
                )));
            }
            restore(meta, Box::new(journal), None, true)?
        } else {
            let meta = GameMeta {
                format_version: JOURNAL_FORMAT_VERSION,
                program_version: PROGRAM_VERSION.to_owned(),
                scenario_name: options.scenario_name.clone(),
                scenario_source: options.scenario_source.clone(),
                scenario_hash: hash,
                clock: options.clock,
            };
            // Parse before creating any file, so that a bad scenario leaves nothing behind.
            Game::from_meta(meta.clone(), None)?;
            let journal = SqliteJournal::create(&path, &meta)?;
            let game = Game::from_meta(meta, Some(Box::new(journal)))?;
            (game, Rebuilt::default())
        };
        game.data_lock = Some(lock);
        game.start_checkpointer()?;
        if let Some(writer) = &game.checkpointer {
            // The next checkpoint only adds what came after the one recovered from.
            writer.seed_marks(rebuilt.marks.clone());
        }
        game.organizer_token = Some(TokenHash::new(&organizer_token)?);
        game.judge_token = Some(TokenHash::new(&judge_token)?);
        if recovered {
            if game.core.state == GameState::Running && game.clock.mode != ClockMode::Manual {
                let tick = game.core.tick;
                let entry = JournalEntry::Pause { recovered: true };
                game.append_recovered(tick, entry, now_ms)?;
            } else if game.core.state == GameState::Running {
                game.clock.anchor(now_ms, game.core.tick);
            }
        }
        Ok(Opened {
            game,
            organizer_token,
            judge_token,
            recovered,
            checkpoint_tick: rebuilt.checkpoint_tick,
            replayed_records: rebuilt.replayed_records,
            checkpoint_load_ms: rebuilt.checkpoint_load_ms,
            replay_ms: rebuilt.replay_ms,
        })
    }

    fn append_recovered(
        &mut self,
        tick: u64,
        entry: JournalEntry,
        now_ms: u64,
    ) -> Result<(), GameError> {
        if let Some(journal) = self.journal.as_mut() {
            self.last_seq = journal.append(&[(tick, entry.clone())])?;
        }
        self.apply(tick, &entry, now_ms)?;
        Ok(())
    }

    /// Recomputes a game from a journal file alone — from its first record, ignoring
    /// checkpoints — up to `until_tick` if given (the state at the end of that tick: after
    /// every command accepted at it) or to its end. The result is not attached to the
    /// journal.
    pub fn replay(path: &Path, until_tick: Option<u64>) -> Result<Game, GameError> {
        let journal = SqliteJournal::open_read_only(path)?;
        let meta = journal.meta()?;
        check_program_version(&meta, path)?;
        let (mut game, _) = restore(meta, Box::new(journal), until_tick, false)?;
        game.journal = None;
        Ok(game)
    }

    /// A stable hash of the game's state: the worlds, teams, scores, ledgers, incidents,
    /// announcements and freeze — not whether a started game is running or paused, nor wall
    /// time, nor tokens of the organizer or judges. Two processes replaying the same journal
    /// to the same tick get the same hash.
    pub fn state_hash(&self) -> u64 {
        #[derive(Serialize)]
        struct Hashed<'a> {
            tick: u64,
            end_tick: u64,
            finished: bool,
            started: bool,
            teams: &'a std::collections::BTreeMap<TeamId, crate::record::TeamRecord>,
            announcements: &'a [crate::Announcement],
            frozen: bool,
            frozen_board: Option<&'a crate::Scoreboard>,
            auto_freeze_done: bool,
            first_fix: &'a std::collections::BTreeMap<breakathon_sim::IncidentId, u64>,
            worlds: Vec<(TeamId, u64)>,
        }
        let hashed = Hashed {
            tick: self.core.tick,
            end_tick: self.core.end_tick,
            finished: self.core.state == GameState::Finished,
            started: self.core.state != GameState::Lobby,
            teams: &self.core.teams,
            announcements: &self.core.announcements,
            frozen: self.core.frozen.is_some(),
            frozen_board: self.core.frozen.as_ref().map(|f| &f.board),
            auto_freeze_done: self.core.auto_freeze_done,
            first_fix: &self.core.first_fix,
            worlds: world_hashes(&self.worlds),
        };
        let json = serde_json::to_vec(&hashed).unwrap_or_default();
        let digest = Sha256::digest(&json);
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&digest[..8]);
        u64::from_be_bytes(bytes)
    }

    /// The journal position of the last applied record.
    pub fn journal_seq(&self) -> u64 {
        self.last_seq
    }
}

/// Every world's state hash, by team, computed on up to [`MAX_RESTORE_THREADS`] threads
/// (hashing serializes the whole state: seconds for a thousand long-running worlds).
fn world_hashes(worlds: &BTreeMap<TeamId, Simulation>) -> Vec<(TeamId, u64)> {
    let all: Vec<(&TeamId, &Simulation)> = worlds.iter().collect();
    let threads = restore_threads().min(all.len().max(1));
    let per_thread = all.len().div_ceil(threads).max(1);
    let hash = |part: &[(&TeamId, &Simulation)]| -> Vec<(TeamId, u64)> {
        part.iter().map(|(id, w)| (**id, w.state_hash())).collect()
    };
    if threads <= 1 {
        return hash(&all);
    }
    let parts: Vec<&[(&TeamId, &Simulation)]> = all.chunks(per_thread).collect();
    std::thread::scope(|scope| {
        let helpers: Vec<_> = (parts.iter().skip(1))
            .map(|p| scope.spawn(move || hash(p)))
            .collect();
        let mut out = hash(parts.first().copied().unwrap_or_default());
        for (helper, part) in helpers.into_iter().zip(parts.iter().skip(1)) {
            // A hashing thread fails only by a bug: hash its part again here then.
            out.extend(helper.join().unwrap_or_else(|_| hash(part)));
        }
        out
    })
}

fn short(hash: &str) -> String {
    format!("sha256 {}…", &hash[..hash.len().min(12)])
}

/// Rebuilds a game from `journal`: the newest usable checkpoint (if `use_checkpoints`), then
/// every later record.
fn restore(
    meta: GameMeta,
    journal: Box<dyn Journal>,
    until_tick: Option<u64>,
    use_checkpoints: bool,
) -> Result<(Game, Rebuilt), GameError> {
    let mut game = Game::from_meta(meta, None)?;
    let mut rebuilt = Rebuilt::default();
    let heads = if use_checkpoints {
        journal.checkpoint_heads()?
    } else {
        Vec::new()
    };
    // The newest usable checkpoint: of this snapshot format, not past `until_tick`, and
    // complete (an unreadable one, or one whose chunks are missing, gives way to an older one,
    // and in the end to the whole journal).
    let loading = Instant::now();
    let usable: Vec<&CheckpointHead> = heads
        .iter()
        .filter(|h| h.format == SNAPSHOT_FORMAT && until_tick.is_none_or(|u| h.tick <= u))
        .collect();
    let (scenario, schedule) = (Arc::clone(&game.scenario), Arc::clone(&game.schedule));
    let loaded = std::thread::scope(|scope| {
        // The baseline world (not checkpointed) catches up with the newest checkpoint on its
        // own thread meanwhile; every later tick of the replay needs it.
        if let Some(head) = usable.first() {
            let game = &mut game;
            scope.spawn(move || game.baseline_tick(head.tick));
        }
        usable.iter().find_map(|head| {
            load_checkpoint(&scenario, &schedule, journal.as_ref(), head)
                .ok()
                .map(|loaded| (*head, loaded))
        })
    });
    if let Some((head, (core, worlds))) = loaded {
        game.core = core;
        rebuilt.marks = worlds.iter().map(|(id, w)| (*id, w.ring_marks())).collect();
        game.worlds = worlds;
        game.events_resume_from_checkpoint();
        game.last_seq = head.seq;
        game.last_checkpoint_tick = head.tick;
        rebuilt.checkpoint_tick = Some(head.tick);
        if matches!(game.core.state, GameState::Running) {
            game.clock.anchor(0, game.core.tick);
        }
    }
    rebuilt.checkpoint_load_ms = elapsed_ms(loading);
    let replaying = Instant::now();
    for record in journal.read_from(game.last_seq)? {
        if let Some(until) = until_tick {
            // A manual advance moves time past its own tick: stop inside it if needed.
            let reaches = match record.entry {
                JournalEntry::Advance { seconds } => record
                    .tick
                    .saturating_add(game.clock.ticks_in_secs(seconds)),
                _ => record.tick,
            };
            if reaches > until {
                game.step_to(until);
                break;
            }
        }
        game.apply(record.tick, &record.entry, 0)?;
        game.last_seq = record.seq;
        rebuilt.replayed_records += 1;
    }
    game.flush_ledger_events();
    game.journal = Some(journal);
    rebuilt.replay_ms = elapsed_ms(replaying);
    Ok((game, rebuilt))
}

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Refuses a checkpoint that does not hold one world per team it counted.
fn check_world_count(head: &CheckpointHead, worlds: usize) -> Result<(), GameError> {
    if worlds as u64 == head.teams {
        return Ok(());
    }
    Err(GameError::WrongState(format!(
        "checkpoint {} holds {worlds} of its {} worlds",
        head.seq, head.teams
    )))
}

/// What one thread of [`load_checkpoint`] rebuilt: the game state if it took that task, and
/// worlds.
type LoadedPart = (Option<Core>, Vec<(TeamId, Simulation)>);

/// The game state and worlds of checkpoint `head`. Both are read, decoded and rebuilt on
/// [`restore_threads`] threads, each with its own read-only connection to the journal (when
/// it has a path) taking the next task — the game state first, then one team's world at a
/// time — from a shared counter, so that every core stays busy however the tasks differ.
/// Fails when a world is missing or its chunks do not cover its rings.
fn load_checkpoint(
    scenario: &Arc<Scenario>,
    schedule: &Arc<FaultSchedule>,
    journal: &dyn Journal,
    head: &CheckpointHead,
) -> Result<(Core, BTreeMap<TeamId, Simulation>), GameError> {
    let teams = journal.checkpoint_teams(head)?;
    check_world_count(head, teams.len())?;
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    // Takes tasks from `next` until none is left: task 0 is the game state, task `i + 1`
    // the world of `teams[i]`.
    let work = |journal: &dyn Journal| -> Result<LoadedPart, GameError> {
        let mut stored = StoredWorld::default();
        let (mut core, mut worlds) = (None, Vec::new());
        while !failed.load(Ordering::Relaxed) {
            let task = next.fetch_add(1, Ordering::Relaxed);
            let result = if task == 0 {
                journal
                    .read_checkpoint_core(head)
                    .and_then(|bytes| checkpoint::decode_core(&bytes))
                    .map(|c| core = Some(c))
            } else {
                let Some(&team) = teams.get(task - 1) else {
                    break;
                };
                match journal.read_checkpoint_world(head, team, &mut stored) {
                    Ok(true) => checkpoint::restore_world(scenario, schedule, &stored)
                        .map(|world| worlds.push(world)),
                    Ok(false) => Err(GameError::WrongState(format!(
                        "checkpoint {} lost team {team}'s world",
                        head.seq
                    ))),
                    Err(e) => Err(e),
                }
            };
            if let Err(e) = result {
                failed.store(true, Ordering::Relaxed);
                return Err(e);
            }
        }
        Ok((core, worlds))
    };
    let threads = restore_threads().min(teams.len() + 1);
    let parts: Vec<Result<LoadedPart, GameError>> = match journal.path() {
        Some(path) if threads > 1 => std::thread::scope(|scope| {
            let work = &work;
            let helpers: Vec<_> = (1..threads)
                .map(|_| {
                    scope.spawn(move || {
                        let reader = SqliteJournal::open_checkpoint_reader(path)?;
                        work(&reader)
                    })
                })
                .collect();
            let mut parts = vec![work(journal)];
            for helper in helpers {
                parts.push(helper.join().unwrap_or_else(|_| {
                    Err(GameError::WrongState(
                        "restoring a checkpoint's worlds failed".into(),
                    ))
                }));
            }
            parts
        }),
        _ => vec![work(journal)],
    };
    let (mut core, mut worlds) = (None, BTreeMap::new());
    for part in parts {
        let (c, w) = part?;
        core = core.or(c);
        worlds.extend(w);
    }
    let Some(core) = core else {
        return Err(GameError::WrongState(format!(
            "checkpoint {}'s game state was not read",
            head.seq
        )));
    };
    check_world_count(head, worlds.len())?;
    Ok((core, worlds))
}

/// Threads that restore a checkpoint's worlds: the machine's parallelism, at most
/// [`MAX_RESTORE_THREADS`].
fn restore_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .clamp(1, MAX_RESTORE_THREADS)
}

/// Reads or creates the organizer and judge tokens (explicit ones win and are not stored).
fn load_tokens(
    dir: &Path,
    organizer: Option<String>,
    judge: Option<String>,
) -> Result<(String, String), GameError> {
    let path = dir.join(TOKENS_FILE_NAME);
    let mut stored: StoredTokens = if path.exists() {
        let text = fs::read_to_string(&path)
            .map_err(|e| GameError::io(format!("reading {}", path.display()), e))?;
        serde_json::from_str(&text)
            .map_err(|e| GameError::codec(format!("reading {}", path.display()), e))?
    } else {
        StoredTokens::default()
    };
    let mut changed = false;
    let mut pick = |given: Option<String>, slot: &mut Option<String>, prefix: &str| {
        if let Some(token) = given {
            return Ok::<String, GameError>(token);
        }
        if let Some(token) = slot.clone() {
            return Ok(token);
        }
        let token = generate_token(prefix)?;
        *slot = Some(token.clone());
        changed = true;
        Ok(token)
    };
    let organizer = pick(organizer, &mut stored.organizer, "org-")?;
    let judge = pick(judge, &mut stored.judge, "judge-")?;
    if changed {
        let text = serde_json::to_string_pretty(&stored)
            .map_err(|e| GameError::codec("encoding tokens", e))?;
        write_private(&path, &text)?;
    }
    Ok((organizer, judge))
}

fn write_private(path: &Path, text: &str) -> Result<(), GameError> {
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write;
        let mut file = fs::File::create(&tmp)
            .map_err(|e| GameError::io(format!("writing {}", tmp.display()), e))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| GameError::io(format!("writing {}", tmp.display()), e))?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&tmp, fs::Permissions::from_mode(0o600))
            .map_err(|e| GameError::io(format!("protecting {}", tmp.display()), e))?;
    }
    fs::rename(&tmp, path).map_err(|e| GameError::io(format!("writing {}", path.display()), e))
}

/// Moves the journal to `archive/game-N.sqlite` (after folding its write-ahead log in).
fn archive_journal(dir: &Path, path: &Path) -> Result<PathBuf, GameError> {
    SqliteJournal::open(path)?.checkpoint_wal()?;
    let archive = dir.join(ARCHIVE_DIR_NAME);
    fs::create_dir_all(&archive)
        .map_err(|e| GameError::io(format!("creating {}", archive.display()), e))?;
    for n in 1..=MAX_ARCHIVES {
        let target = archive.join(format!("game-{n}.sqlite"));
        if target.exists() {
            continue;
        }
        fs::rename(path, &target)
            .map_err(|e| GameError::io(format!("archiving {}", path.display()), e))?;
        for suffix in ["-wal", "-shm"] {
            let side = PathBuf::from(format!("{}{suffix}", path.display()));
            if side.exists() {
                let _ = fs::remove_file(side);
            }
        }
        return Ok(target);
    }
    Err(GameError::BadRequest(format!(
        "{} already holds {MAX_ARCHIVES} archived games",
        archive.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Action;
    use breakathon_scenario::ActionKind;

    /// A 27-service, 4-hour scenario: enough logs and history to fill and evict the rings.
    const SCENARIO: &str = include_str!("../../../scenarios/breakathon-4h.ron");
    /// Ticks between the checkpoints of the tests (more than one ring of recent points).
    const STEP_TICKS: u64 = 700;

    fn options(dir: &Path) -> GameOptions {
        GameOptions {
            data_dir: dir.to_owned(),
            scenario_name: "breakathon-4h.ron".into(),
            scenario_source: SCENARIO.into(),
            clock: ClockMode::Manual,
            new_game: false,
            organizer_token: None,
            judge_token: None,
        }
    }

    /// Waits until the background writer has finished the checkpoint it took.
    fn settle(game: &Game) {
        while game.checkpointer.as_ref().is_some_and(|w| !w.is_idle()) {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(game.checkpoint_error(), None);
    }

    /// Plays two teams (one restarting a service) with a background checkpoint after every
    /// [`STEP_TICKS`], `steps` times, then `extra` ticks more; returns the state hash.
    fn play(dir: &Path, steps: u64, extra: u64) -> u64 {
        let mut game = Game::open(options(dir), 0).unwrap().game;
        let (red, _) = game.create_team("Red").unwrap();
        game.create_team("Blue").unwrap();
        game.start(0).unwrap();
        let service = game.scenario.services[0].name.clone();
        for step in 0..steps {
            game.advance(STEP_TICKS).unwrap();
            settle(&game);
            if step == 1 {
                game.act(
                    red.id,
                    Action::on_service(ActionKind::RestartService, &service),
                )
                .unwrap();
            }
        }
        if extra > 0 {
            game.advance(extra).unwrap();
        }
        settle(&game);
        game.state_hash()
    }

    fn count(dir: &Path, sql: &str) -> i64 {
        let conn = rusqlite::Connection::open(dir.join(JOURNAL_FILE_NAME)).unwrap();
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn incremental_checkpoints_recover_the_state_a_fresh_replay_reaches() {
        let dir = tempfile::tempdir().unwrap();
        let hash = play(dir.path(), 4, 123);
        let ticks = 4 * STEP_TICKS + 123;
        let opened = Game::open(options(dir.path()), 0).unwrap();
        assert_eq!(opened.checkpoint_tick, Some(4 * STEP_TICKS));
        assert_eq!(opened.game.tick(), ticks);
        assert_eq!(opened.game.state_hash(), hash);
        let fresh = Game::replay(&dir.path().join(JOURNAL_FILE_NAME), None).unwrap();
        assert_eq!(fresh.state_hash(), hash);
        // The next checkpoint adds to the recovered one's chunks: recover once more from it.
        let mut game = opened.game;
        game.advance(STEP_TICKS).unwrap();
        settle(&game);
        let hash = game.state_hash();
        drop(game);
        let opened = Game::open(options(dir.path()), 0).unwrap();
        assert_eq!(opened.checkpoint_tick, Some(5 * STEP_TICKS + 123));
        assert_eq!(opened.game.state_hash(), hash);
    }

    #[test]
    fn chunks_out_of_every_kept_window_are_pruned() {
        let dir = tempfile::tempdir().unwrap();
        play(dir.path(), 5, 0);
        // Recent points: each kept checkpoint needs its last 600 ticks, i.e. the chunks of the
        // last two checkpoints at most (700 ticks apart); three checkpoints were pruned.
        let recent = count(
            dir.path(),
            "SELECT COUNT(*) FROM checkpoint_chunks WHERE kind = 0",
        );
        assert!(recent <= 2 * 2, "{recent} chunks of recent points kept");
        assert_eq!(
            count(
                dir.path(),
                "SELECT COUNT(DISTINCT seq) FROM checkpoint_bases"
            ),
            i64::from(crate::journal::CHECKPOINTS_KEPT)
        );
        // Downsampled points stay (a day of them is kept): one chunk per checkpoint and team.
        let old = count(
            dir.path(),
            "SELECT COUNT(*) FROM checkpoint_chunks WHERE kind = 1",
        );
        assert_eq!(old, 5 * 2);
    }

    #[test]
    fn a_checkpoint_missing_a_chunk_gives_way_to_an_older_one() {
        let dir = tempfile::tempdir().unwrap();
        let hash = play(dir.path(), 3, 50);
        let conn = rusqlite::Connection::open(dir.path().join(JOURNAL_FILE_NAME)).unwrap();
        let newest: i64 = conn
            .query_row("SELECT MAX(seq) FROM world_checkpoints", [], |r| r.get(0))
            .unwrap();
        // Lose the newest checkpoint's recent points of one team.
        let deleted = conn
            .execute(
                "DELETE FROM checkpoint_chunks WHERE seq = ?1 AND kind = 0 AND team = 1",
                [newest],
            )
            .unwrap();
        assert_eq!(deleted, 1);
        drop(conn);
        let opened = Game::open(options(dir.path()), 0).unwrap();
        assert_eq!(opened.checkpoint_tick, Some(2 * STEP_TICKS));
        assert_eq!(opened.game.state_hash(), hash);
    }

    #[test]
    fn a_data_dir_held_by_an_open_game_is_refused_to_a_second_opener() {
        let dir = tempfile::tempdir().unwrap();
        let mut first = Game::open(options(dir.path()), 0).unwrap().game;
        first.create_team("Red").unwrap();
        let err = Game::open(options(dir.path()), 0)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("is in use by another breakathon process"),
            "{err}"
        );
        assert!(err.contains("--data-dir"), "{err}");
        // `--new` is refused too, and archives nothing from under the first game.
        let mut new_game = options(dir.path());
        new_game.new_game = true;
        let err = Game::open(new_game.clone(), 0).err().unwrap().to_string();
        assert!(
            err.contains("is in use by another breakathon process"),
            "{err}"
        );
        assert!(!dir.path().join(ARCHIVE_DIR_NAME).exists());
        assert!(dir.path().join(JOURNAL_FILE_NAME).exists());
        // The first game still writes to its journal; once it is dropped, the directory is
        // free again.
        first.create_team("Blue").unwrap();
        drop(first);
        let reopened = Game::open(options(dir.path()), 0).unwrap();
        assert_eq!(reopened.game.teams().len(), 2);
        drop(reopened);
        assert!(!Game::open(new_game, 0).unwrap().recovered);
        assert!(
            dir.path()
                .join(ARCHIVE_DIR_NAME)
                .join("game-1.sqlite")
                .exists()
        );
    }

    #[test]
    fn a_journal_from_another_program_version_is_refused_clearly() {
        let meta = |version: &str| GameMeta {
            format_version: JOURNAL_FORMAT_VERSION,
            program_version: version.into(),
            scenario_name: "s.ron".into(),
            scenario_source: String::new(),
            scenario_hash: String::new(),
            clock: ClockMode::Manual,
        };
        let path = Path::new("game.sqlite");
        assert!(check_program_version(&meta(PROGRAM_VERSION), path).is_ok());
        let err = check_program_version(&meta("9.9.0"), path).unwrap_err();
        assert!(
            err.to_string().contains("written by breakathon 9.9.0"),
            "{err}"
        );
        assert!(err.to_string().contains("cannot replay it"), "{err}");
    }
}
