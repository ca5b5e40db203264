//! The durable journal: every accepted command, committed before it is acknowledged, with
//! the tick at which it applies; the clock's progress; checkpoints. SQLite (WAL,
//! `synchronous=FULL`) behind a small trait so that another store can take its place.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::blob::Blob;
use rusqlite::{Connection, MAIN_DB, OpenFlags, OptionalExtension, params};

use crate::durability::{self, WalSync};
use crate::{GameError, GameMeta, JournalEntry};

/// Version of the journal's layout and entry encoding; a journal of another version is refused.
pub const JOURNAL_FORMAT_VERSION: u32 = 1;
/// File name of the journal inside the data directory.
pub const JOURNAL_FILE_NAME: &str = "game.sqlite";
/// Checkpoints kept in the journal (older ones are deleted, and with them the ring chunks
/// that no kept checkpoint needs).
pub const CHECKPOINTS_KEPT: u32 = 2;
/// Worlds written (or pruned) per transaction of a checkpoint (under a MB: short enough that
/// journal commits on the other connection barely wait, and that the next journal commit's
/// fsync has little of the checkpoint's data to flush).
pub const CHECKPOINT_WORLDS_PER_TRANSACTION: usize = 2;
/// After each transaction of a checkpoint the writer rests this many times as long as the
/// transaction took, so that it holds SQLite's write lock and the disk at most a third of
/// the time and journal commits stay fast.
pub const CHECKPOINT_REST_FACTOR: u32 = 2;
/// Pages of write-ahead log after which the checkpoint writer folds it into the main file
/// (SQLite's default).
pub const WAL_AUTOCHECKPOINT_PAGES: i64 = 1000;
/// Chunk kind: recent metric points (one per tick).
pub const CHUNK_RECENT: u8 = 0;
/// Chunk kind: downsampled metric points.
pub const CHUNK_OLD: u8 = 1;
/// Chunk kind: log lines.
pub const CHUNK_LOGS: u8 = 2;
/// Chunk kinds, in the order of [`StoredWorld::needs_from_tick`].
pub const CHUNK_KINDS: [u8; 3] = [CHUNK_RECENT, CHUNK_OLD, CHUNK_LOGS];

/// One journal record.
#[derive(Clone, Debug, PartialEq)]
pub struct JournalRecord {
    /// Position, from 1, dense.
    pub seq: u64,
    /// Tick at which the entry applies.
    pub tick: u64,
    /// The entry.
    pub entry: JournalEntry,
}

/// A checkpoint to store: the game state after applying record `seq`, encoded, and per world
/// its base snapshot and the ring chunks appended since the previous checkpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredCheckpoint {
    /// Last record applied.
    pub seq: u64,
    /// Tick reached.
    pub tick: u64,
    /// Layout version of the world snapshots (a checkpoint of another is not used).
    pub format: u32,
    /// The game's own state, encoded.
    pub core: Vec<u8>,
    /// Every team's world.
    pub worlds: Vec<StoredWorld>,
}

/// One world of a checkpoint.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StoredWorld {
    /// The team.
    pub team: u32,
    /// Everything but the rings' contents, encoded.
    pub base: Vec<u8>,
    /// Per chunk kind ([`CHUNK_KINDS`]): the oldest tick of an item the world's rings keep
    /// (`None`: none kept). Chunks whose items are all older are not needed.
    pub needs_from_tick: [Option<u64>; 3],
    /// When saving: the chunks appended since the previous checkpoint. When reading: every
    /// stored chunk of the team that the checkpoint may need.
    pub chunks: Vec<StoredChunk>,
}

/// A chunk of a world's rings: the items of one kind appended between two checkpoints.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StoredChunk {
    /// Kind ([`CHUNK_KINDS`]).
    pub kind: u8,
    /// Largest tick of its items.
    pub last_tick: u64,
    /// The items, encoded.
    pub data: Vec<u8>,
}

/// A completely written checkpoint, without its worlds.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckpointHead {
    /// Last record applied.
    pub seq: u64,
    /// Tick reached.
    pub tick: u64,
    /// Layout version of the world snapshots.
    pub format: u32,
    /// Worlds written.
    pub teams: u64,
}

/// Where commands are kept: append, read back from a position, keep checkpoints.
pub trait Journal: Send {
    /// Appends `entries` (each with its tick) atomically and durably; returns the last seq.
    fn append(&mut self, entries: &[(u64, JournalEntry)]) -> Result<u64, GameError>;
    /// Every record after `after_seq`, in order.
    fn read_from(&self, after_seq: u64) -> Result<Vec<JournalRecord>, GameError>;
    /// The game's meta data.
    fn meta(&self) -> Result<GameMeta, GameError>;
    /// Stores a checkpoint (and drops old ones and the chunks no kept one needs). It counts
    /// only once completely written.
    fn save_checkpoint(&mut self, checkpoint: &StoredCheckpoint) -> Result<(), GameError>;
    /// The completely written checkpoints, newest first.
    fn checkpoint_heads(&self) -> Result<Vec<CheckpointHead>, GameError>;
    /// The game's own state stored with checkpoint `head`, encoded (it is large — every
    /// team's ledger —, so the heads do not carry it).
    fn read_checkpoint_core(&self, head: &CheckpointHead) -> Result<Vec<u8>, GameError>;
    /// The teams whose worlds checkpoint `head` stores, in order.
    fn checkpoint_teams(&self, head: &CheckpointHead) -> Result<Vec<u32>, GameError>;
    /// Reads team `team`'s world of checkpoint `head`, with the chunks it may need, into
    /// `into` (reusing its buffers: reading many worlds allocates little); false when the
    /// checkpoint holds no world of that team.
    fn read_checkpoint_world(
        &self,
        head: &CheckpointHead,
        team: u32,
        into: &mut StoredWorld,
    ) -> Result<bool, GameError>;
    /// Hands every world of checkpoint `head` to `each`, by team, with the chunks it may need.
    fn read_checkpoint_worlds(
        &self,
        head: &CheckpointHead,
        each: &mut dyn FnMut(&StoredWorld) -> Result<(), GameError>,
    ) -> Result<(), GameError> {
        let mut world = StoredWorld::default();
        for team in self.checkpoint_teams(head)? {
            if self.read_checkpoint_world(head, team, &mut world)? {
                each(&world)?;
            }
        }
        Ok(())
    }
    /// Where the journal lives, if a second connection can be opened to it (for writing
    /// checkpoints on another thread).
    fn path(&self) -> Option<&Path>;
    /// Stops syncing the log at every commit: from now on an appended record is durable
    /// only once the returned [`WalSync`] has synced through it (group commit; see
    /// [`crate::durability`]). `None` when this journal cannot (it keeps syncing itself).
    fn defer_sync(&mut self) -> Result<Option<Arc<WalSync>>, GameError> {
        Ok(None)
    }
}

/// How long the checkpoint writer (and a checkpoint reader) waits for the other connection.
pub const BUSY_TIMEOUT_MS: u64 = 10_000;
/// How long the journal's own connection waits for the checkpoint writer's transaction
/// before an append gives up as busy (nothing written): short, because it waits under the
/// game's lock, and a request must be answered well within the server's timeout.
pub const APPEND_BUSY_TIMEOUT_MS: u64 = 2_000;

/// The SQLite journal.
pub struct SqliteJournal {
    conn: Connection,
    last_seq: u64,
    path: Option<PathBuf>,
    /// Set once commits stopped syncing the log themselves (see [`Journal::defer_sync`]).
    wal_sync: Option<Arc<WalSync>>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS journal (seq INTEGER PRIMARY KEY, tick INTEGER NOT NULL, entry TEXT NOT NULL);
";

/// Tables of incremental checkpoints (also added to a journal that predates them).
const CHECKPOINT_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS world_checkpoints (seq INTEGER PRIMARY KEY, tick INTEGER NOT NULL, format INTEGER NOT NULL, teams INTEGER NOT NULL, core BLOB NOT NULL, complete INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS checkpoint_bases (seq INTEGER NOT NULL, team INTEGER NOT NULL, base BLOB NOT NULL, recent_from INTEGER, old_from INTEGER, logs_from INTEGER, PRIMARY KEY (seq, team));
CREATE TABLE IF NOT EXISTS checkpoint_chunks (id INTEGER PRIMARY KEY, team INTEGER NOT NULL, kind INTEGER NOT NULL, seq INTEGER NOT NULL, last_tick INTEGER NOT NULL, data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS checkpoint_chunks_by_team ON checkpoint_chunks (team, kind, last_tick);
";

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl SqliteJournal {
    /// Creates a new journal at `path` (which must not exist) holding `meta`.
    pub fn create(path: &Path, meta: &GameMeta) -> Result<SqliteJournal, GameError> {
        let conn = Connection::open(path)?;
        Self::configure(&conn)?;
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(CHECKPOINT_SCHEMA)?;
        let meta_json = serde_json::to_string(meta)
            .map_err(|e| GameError::codec("encoding the game's meta data", e))?;
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('game', ?1), ('format_version', ?2)",
            params![meta_json, meta.format_version.to_string()],
        )?;
        Ok(SqliteJournal {
            conn,
            last_seq: 0,
            path: Some(path.to_owned()),
            wal_sync: None,
        })
    }

    /// Opens an existing journal for appending, after checking its format version.
    pub fn open(path: &Path) -> Result<SqliteJournal, GameError> {
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        Self::configure(&conn)?;
        check_format(&conn, path)?;
        conn.execute_batch(CHECKPOINT_SCHEMA)?;
        let last_seq: i64 =
            conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM journal", [], |r| {
                r.get(0)
            })?;
        Ok(SqliteJournal {
            conn,
            last_seq: to_u64(last_seq),
            path: Some(path.to_owned()),
            wal_sync: None,
        })
    }

    /// Opens an existing journal for writing checkpoints from another thread. Its commits
    /// are not synced one by one (`synchronous=NORMAL`): a checkpoint lost in a power cut
    /// only means an older one is used, and WAL commits stay in order, so a checkpoint is
    /// never seen complete without its rows.
    pub fn open_for_checkpoints(path: &Path) -> Result<SqliteJournal, GameError> {
        let journal = Self::open(path)?;
        journal
            .conn
            .busy_timeout(Duration::from_millis(BUSY_TIMEOUT_MS))?;
        journal.conn.pragma_update(None, "synchronous", "NORMAL")?;
        journal
            .conn
            .pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)?;
        Ok(journal)
    }

    /// Opens a journal file read-only (for replay and export), after checking its version.
    pub fn open_read_only(path: &Path) -> Result<SqliteJournal, GameError> {
        if !path.exists() {
            return Err(GameError::NotFound(format!(
                "no journal at {}",
                path.display()
            )));
        }
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        check_format(&conn, path)?;
        Ok(SqliteJournal {
            conn,
            last_seq: 0,
            path: None,
            wal_sync: None,
        })
    }

    /// Opens a second, read-only connection to the journal at `path` for reading a
    /// checkpoint's worlds on another thread (no format check: the journal was opened and
    /// checked already).
    pub fn open_checkpoint_reader(path: &Path) -> Result<SqliteJournal, GameError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_millis(BUSY_TIMEOUT_MS))?;
        Ok(SqliteJournal {
            conn,
            last_seq: 0,
            path: None,
            wal_sync: None,
        })
    }

    fn configure(conn: &Connection) -> Result<(), GameError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // A command's commit never folds the write-ahead log into the main file (megabytes
        // when checkpoints were written): the checkpoint writer does (`open_for_checkpoints`),
        // and closing or archiving the journal does.
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        conn.busy_timeout(Duration::from_millis(APPEND_BUSY_TIMEOUT_MS))?;
        Ok(())
    }

    /// Deletes, in small transactions, the worlds of checkpoints no longer kept and the chunks
    /// that no kept checkpoint needs (their items all older than its rings keep), up to the
    /// chunks of checkpoint `newest`.
    fn prune_checkpoints(&mut self, newest: i64) -> Result<(), GameError> {
        let batch = to_i64(CHECKPOINT_WORLDS_PER_TRANSACTION as u64);
        loop {
            let deleted = self.conn.execute(
                "DELETE FROM checkpoint_bases WHERE rowid IN (SELECT rowid FROM checkpoint_bases \
                 WHERE seq NOT IN (SELECT seq FROM world_checkpoints) LIMIT ?1)",
                params![batch],
            )?;
            if deleted == 0 {
                break;
            }
        }
        let mut needs: Vec<(u32, [Option<i64>; 3])> = Vec::new();
        {
            let mut stmt = self.conn.prepare(
                "SELECT team, MIN(recent_from), MIN(old_from), MIN(logs_from) \
                 FROM checkpoint_bases GROUP BY team ORDER BY team",
            )?;
            let rows =
                stmt.query_map([], |r| Ok((r.get(0)?, [r.get(1)?, r.get(2)?, r.get(3)?])))?;
            for row in rows {
                needs.push(row?);
            }
        }
        for batch in needs.chunks(CHECKPOINT_WORLDS_PER_TRANSACTION) {
            let tx = self.conn.transaction()?;
            {
                let mut stmt = tx.prepare_cached(
                    "DELETE FROM checkpoint_chunks \
                     WHERE team = ?1 AND kind = ?2 AND last_tick < ?3 AND seq <= ?4",
                )?;
                for (team, from) in batch {
                    for (kind, from) in CHUNK_KINDS.into_iter().zip(from) {
                        stmt.execute(params![team, kind, from.unwrap_or(i64::MAX), newest])?;
                    }
                }
            }
            tx.commit()?;
        }
        self.conn.execute(
            "DELETE FROM checkpoint_chunks WHERE seq <= ?1 \
             AND team NOT IN (SELECT team FROM checkpoint_bases)",
            params![newest],
        )?;
        Ok(())
    }

    /// Syncs the write-ahead log to disk without holding SQLite's write lock: the checkpoint
    /// writer does it after each of its transactions, so that the next command's sync
    /// (which must flush whatever the log holds) finds little of the checkpoint to write.
    fn sync_log(&self) -> Result<(), GameError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        durability::sync_file(&wal_path(path))
    }

    /// Folds the write-ahead log into the main file (before archiving it).
    pub fn checkpoint_wal(&self) -> Result<(), GameError> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }
}

/// The write-ahead log file of the journal at `path`.
fn wal_path(path: &Path) -> PathBuf {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    PathBuf::from(wal)
}

/// Reads a whole blob into `out` (keeping its allocation; only bytes beyond its old length
/// are zeroed before being overwritten).
fn read_blob(blob: &Blob<'_>, out: &mut Vec<u8>) -> Result<(), GameError> {
    let len = usize::try_from(blob.size()).unwrap_or(0);
    out.resize(len, 0);
    blob.read_at_exact(out, 0)?;
    Ok(())
}

fn check_format(conn: &Connection, path: &Path) -> Result<(), GameError> {
    let version: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'format_version'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(|_| {
            GameError::Incompatible(format!(
                "{} is not a Breakathon journal (no meta table)",
                path.display()
            ))
        })?;
    let Some(version) = version else {
        return Err(GameError::Incompatible(format!(
            "{} is not a Breakathon journal (no format version)",
            path.display()
        )));
    };
    if version != JOURNAL_FORMAT_VERSION.to_string() {
        return Err(GameError::Incompatible(format!(
            "{} is a journal of format version {version}; this breakathon {} reads format \
             version {JOURNAL_FORMAT_VERSION} only",
            path.display(),
            env!("CARGO_PKG_VERSION"),
        )));
    }
    Ok(())
}

impl Journal for SqliteJournal {
    fn append(&mut self, entries: &[(u64, JournalEntry)]) -> Result<u64, GameError> {
        if entries.is_empty() {
            return Ok(self.last_seq);
        }
        let mut encoded = Vec::with_capacity(entries.len());
        for (tick, entry) in entries {
            let text = serde_json::to_string(entry)
                .map_err(|e| GameError::codec("encoding a journal entry", e))?;
            encoded.push((*tick, text));
        }
        let tx = self.conn.transaction()?;
        let mut seq = self.last_seq;
        {
            let mut stmt =
                tx.prepare_cached("INSERT INTO journal (seq, tick, entry) VALUES (?1, ?2, ?3)")?;
            for (tick, text) in &encoded {
                seq += 1;
                stmt.execute(params![to_i64(seq), to_i64(*tick), text])?;
            }
        }
        tx.commit()?;
        self.last_seq = seq;
        if let Some(sync) = &self.wal_sync {
            sync.appended(seq);
        }
        Ok(seq)
    }

    fn defer_sync(&mut self) -> Result<Option<Arc<WalSync>>, GameError> {
        let Some(path) = &self.path else {
            return Ok(None);
        };
        if let Some(sync) = &self.wal_sync {
            return Ok(Some(Arc::clone(sync)));
        }
        let wal = wal_path(path);
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        let sync = Arc::new(WalSync::new(wal, self.last_seq));
        self.wal_sync = Some(Arc::clone(&sync));
        Ok(Some(sync))
    }

    fn read_from(&self, after_seq: u64) -> Result<Vec<JournalRecord>, GameError> {
        let mut stmt = self
            .conn
            .prepare("SELECT seq, tick, entry FROM journal WHERE seq > ?1 ORDER BY seq")?;
        let rows = stmt.query_map(params![to_i64(after_seq)], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        let mut records = Vec::new();
        for row in rows {
            let (seq, tick, text) = row?;
            let entry = serde_json::from_str(&text)
                .map_err(|e| GameError::codec(format!("decoding journal record {seq}"), e))?;
            records.push(JournalRecord {
                seq: to_u64(seq),
                tick: to_u64(tick),
                entry,
            });
        }
        Ok(records)
    }

    fn meta(&self) -> Result<GameMeta, GameError> {
        let text: String =
            self.conn
                .query_row("SELECT value FROM meta WHERE key = 'game'", [], |r| {
                    r.get(0)
                })?;
        serde_json::from_str(&text)
            .map_err(|e| GameError::codec("decoding the game's meta data", e))
    }

    fn save_checkpoint(&mut self, checkpoint: &StoredCheckpoint) -> Result<(), GameError> {
        let seq = to_i64(checkpoint.seq);
        // Small transactions, so that journal appends on the other connection never wait
        // for a whole checkpoint; it counts only once marked complete.
        self.conn
            .execute("DELETE FROM world_checkpoints WHERE seq = ?1", params![seq])?;
        self.conn
            .execute("DELETE FROM checkpoint_bases WHERE seq = ?1", params![seq])?;
        self.conn.execute(
            "INSERT INTO world_checkpoints (seq, tick, format, teams, core, complete) \
             VALUES (?1, ?2, ?3, ?4, ?5, 0)",
            params![
                seq,
                to_i64(checkpoint.tick),
                checkpoint.format,
                to_i64(checkpoint.worlds.len() as u64),
                checkpoint.core
            ],
        )?;
        for batch in checkpoint.worlds.chunks(CHECKPOINT_WORLDS_PER_TRANSACTION) {
            let started = std::time::Instant::now();
            let tx = self.conn.transaction()?;
            {
                let mut base = tx.prepare_cached(
                    "INSERT INTO checkpoint_bases \
                     (seq, team, base, recent_from, old_from, logs_from) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?;
                let mut chunk = tx.prepare_cached(
                    "INSERT INTO checkpoint_chunks (team, kind, seq, last_tick, data) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                for world in batch {
                    let [recent, old, logs] = world.needs_from_tick.map(|t| t.map(to_i64));
                    base.execute(params![seq, world.team, world.base, recent, old, logs])?;
                    for c in &world.chunks {
                        chunk.execute(params![
                            world.team,
                            c.kind,
                            seq,
                            to_i64(c.last_tick),
                            c.data
                        ])?;
                    }
                }
            }
            tx.commit()?;
            self.sync_log()?;
            std::thread::sleep(started.elapsed() * CHECKPOINT_REST_FACTOR);
        }
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE world_checkpoints SET complete = 1 WHERE seq = ?1",
            params![seq],
        )?;
        tx.execute(
            "DELETE FROM world_checkpoints WHERE seq NOT IN \
             (SELECT seq FROM world_checkpoints WHERE complete = 1 ORDER BY seq DESC LIMIT ?1)",
            params![CHECKPOINTS_KEPT],
        )?;
        tx.commit()?;
        self.prune_checkpoints(seq)
    }

    fn checkpoint_heads(&self) -> Result<Vec<CheckpointHead>, GameError> {
        let mut stmt = self.conn.prepare(
            "SELECT seq, tick, format, teams FROM world_checkpoints WHERE complete = 1 \
             ORDER BY seq DESC",
        )?;
        let heads = stmt
            .query_map([], |r| {
                Ok(CheckpointHead {
                    seq: to_u64(r.get(0)?),
                    tick: to_u64(r.get(1)?),
                    format: r.get(2)?,
                    teams: to_u64(r.get(3)?),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(heads)
    }

    fn read_checkpoint_core(&self, head: &CheckpointHead) -> Result<Vec<u8>, GameError> {
        let rowid = to_i64(head.seq);
        let blob = self
            .conn
            .blob_open(MAIN_DB, c"world_checkpoints", c"core", rowid, true)?;
        let mut core = Vec::new();
        read_blob(&blob, &mut core)?;
        Ok(core)
    }

    fn checkpoint_teams(&self, head: &CheckpointHead) -> Result<Vec<u32>, GameError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT team FROM checkpoint_bases WHERE seq = ?1 ORDER BY team")?;
        let teams = stmt
            .query_map(params![to_i64(head.seq)], |r| r.get(0))?
            .collect::<Result<Vec<u32>, _>>()?;
        Ok(teams)
    }

    fn read_checkpoint_world(
        &self,
        head: &CheckpointHead,
        team: u32,
        into: &mut StoredWorld,
    ) -> Result<bool, GameError> {
        let seq = to_i64(head.seq);
        let mut bases = self.conn.prepare_cached(
            "SELECT rowid, recent_from, old_from, logs_from FROM checkpoint_bases \
             WHERE seq = ?1 AND team = ?2",
        )?;
        let found = bases
            .query_row(params![seq, team], |r| {
                Ok((r.get::<_, i64>(0)?, [r.get(1)?, r.get(2)?, r.get(3)?]))
            })
            .optional()?;
        let Some((rowid, needs)) = found else {
            return Ok(false);
        };
        let needs: [Option<i64>; 3] = needs;
        into.team = team;
        into.needs_from_tick = needs.map(|t| t.map(to_u64));
        // Blobs are read through SQLite's incremental I/O straight into our buffers (no
        // buffer of SQLite's own per blob).
        let blob = self
            .conn
            .blob_open(MAIN_DB, c"checkpoint_bases", c"base", rowid, true)?;
        read_blob(&blob, &mut into.base)?;
        drop(blob);
        let mut chunks = self.conn.prepare_cached(
            "SELECT id, kind, last_tick FROM checkpoint_chunks \
             WHERE team = ?1 AND seq <= ?2 AND kind = ?3 AND last_tick >= ?4 ORDER BY id",
        )?;
        // Chunk buffers are overwritten in place and only the surplus dropped.
        let mut used = 0;
        let mut blob: Option<Blob<'_>> = None;
        for (kind, from) in CHUNK_KINDS.into_iter().zip(needs) {
            let Some(from) = from else {
                continue;
            };
            let mut rows = chunks.query(params![team, seq, kind, from])?;
            while let Some(row) = rows.next()? {
                let id: i64 = row.get(0)?;
                if used == into.chunks.len() {
                    into.chunks.push(StoredChunk::default());
                }
                let chunk = &mut into.chunks[used];
                chunk.kind = row.get(1)?;
                chunk.last_tick = to_u64(row.get(2)?);
                match blob.as_mut() {
                    Some(b) => b.reopen(id)?,
                    None => {
                        blob = Some(self.conn.blob_open(
                            MAIN_DB,
                            c"checkpoint_chunks",
                            c"data",
                            id,
                            true,
                        )?);
                    }
                }
                if let Some(b) = &blob {
                    read_blob(b, &mut chunk.data)?;
                }
                used += 1;
            }
        }
        into.chunks.truncate(used);
        Ok(true)
    }

    fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ClockMode;

    fn meta() -> GameMeta {
        GameMeta {
            format_version: JOURNAL_FORMAT_VERSION,
            program_version: "0.1.0".into(),
            scenario_name: "t.ron".into(),
            scenario_source: "()".into(),
            scenario_hash: "00".into(),
            clock: ClockMode::Manual,
        }
    }

    #[test]
    fn appended_records_read_back_in_order_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(JOURNAL_FILE_NAME);
        let mut j = SqliteJournal::create(&path, &meta()).unwrap();
        assert_eq!(j.append(&[(0, JournalEntry::Start)]).unwrap(), 1);
        assert_eq!(
            j.append(&[
                (5, JournalEntry::Tick),
                (7, JournalEntry::Extend { seconds: 9 })
            ])
            .unwrap(),
            3
        );
        drop(j);
        let mut j = SqliteJournal::open(&path).unwrap();
        assert_eq!(j.meta().unwrap(), meta());
        let records = j.read_from(1).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].tick, 5);
        assert_eq!(records[1].entry, JournalEntry::Extend { seconds: 9 });
        assert_eq!(j.append(&[(8, JournalEntry::Tick)]).unwrap(), 4);
    }

    /// A world of a checkpoint at `tick` whose rings keep items from `tick - 10` on and which
    /// appended one chunk of each kind since the last one (items of `tick - 4 ..= tick`).
    fn world(team: u32, tick: u64) -> StoredWorld {
        StoredWorld {
            team,
            base: vec![team as u8, tick as u8],
            needs_from_tick: [Some(tick - 10), Some(tick - 10), None],
            chunks: [CHUNK_RECENT, CHUNK_OLD, CHUNK_LOGS]
                .map(|kind| StoredChunk {
                    kind,
                    last_tick: tick,
                    data: vec![kind, tick as u8],
                })
                .to_vec(),
        }
    }

    fn read(j: &SqliteJournal, head: &CheckpointHead) -> Vec<StoredWorld> {
        let mut out = Vec::new();
        j.read_checkpoint_worlds(head, &mut |w| {
            out.push(w.clone());
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn checkpoints_keep_the_chunks_their_rings_need_and_prune_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(JOURNAL_FILE_NAME);
        let mut j = SqliteJournal::create(&path, &meta()).unwrap();
        // Checkpoints every 5 ticks; each needs the chunks of the last 10 ticks.
        for (seq, tick) in [(1, 20), (2, 25), (3, 30), (4, 35)] {
            j.save_checkpoint(&StoredCheckpoint {
                seq,
                tick,
                format: 7,
                core: vec![seq as u8],
                worlds: vec![world(0, tick), world(2, tick)],
            })
            .unwrap();
        }
        let heads = j.checkpoint_heads().unwrap();
        assert_eq!(
            heads.iter().map(|h| h.seq).collect::<Vec<_>>(),
            vec![4, 3],
            "the newest two are kept"
        );
        assert_eq!((heads[0].tick, heads[0].format, heads[0].teams), (35, 7, 2));
        assert_eq!(j.read_checkpoint_core(&heads[0]).unwrap(), vec![4]);
        let worlds = read(&j, &heads[0]);
        assert_eq!(worlds.len(), 2);
        assert_eq!(worlds[1].team, 2);
        assert_eq!(worlds[1].base, vec![2, 35]);
        // Needs ticks 25..: the chunks of 25, 30 and 35, logs not at all.
        let got: Vec<(u8, u64)> = worlds[1]
            .chunks
            .iter()
            .map(|c| (c.kind, c.last_tick))
            .collect();
        let want: Vec<(u8, u64)> = [CHUNK_RECENT, CHUNK_OLD]
            .into_iter()
            .flat_map(|k| [25, 30, 35].map(|t| (k, t)))
            .collect();
        assert_eq!(got, want);
        // The older kept checkpoint (30) needs 20..: chunks before 20 and every log chunk
        // (no kept checkpoint needs logs) are pruned.
        let stored: i64 = j
            .conn
            .query_row("SELECT COUNT(*) FROM checkpoint_chunks", [], |r| r.get(0))
            .unwrap();
        assert_eq!(
            stored,
            2 * 2 * 4,
            "chunks of 20, 25, 30, 35; logs and 15- pruned"
        );
        let bases: i64 = j
            .conn
            .query_row(
                "SELECT COUNT(DISTINCT seq) FROM checkpoint_bases",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(bases, 2, "worlds of dropped checkpoints are deleted");
        // A checkpoint cut short (never marked complete) is not offered.
        j.conn
            .execute(
                "INSERT INTO world_checkpoints (seq, tick, format, teams, core) \
                 VALUES (9, 90, 7, 2, x'00')",
                [],
            )
            .unwrap();
        assert_eq!(j.checkpoint_heads().unwrap()[0].seq, 4);
    }

    #[test]
    fn a_journal_of_another_format_is_refused_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(JOURNAL_FILE_NAME);
        let j = SqliteJournal::create(&path, &meta()).unwrap();
        j.conn
            .execute(
                "UPDATE meta SET value = '99' WHERE key = 'format_version'",
                [],
            )
            .unwrap();
        drop(j);
        let err = SqliteJournal::open_read_only(&path).err().unwrap();
        assert!(err.to_string().contains("format version 99"), "{err}");
    }
}
