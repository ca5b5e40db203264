//! The durable journal: every accepted command, committed before it is acknowledged, with
//! the tick at which it applies; the clock's progress; checkpoints. SQLite (WAL,
//! `synchronous=FULL`) behind a small trait so that another store can take its place.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::{GameError, GameMeta, JournalEntry};

/// Version of the journal's layout and entry encoding; a journal of another version is refused.
pub const JOURNAL_FORMAT_VERSION: u32 = 1;
/// File name of the journal inside the data directory.
pub const JOURNAL_FILE_NAME: &str = "game.sqlite";
/// Checkpoints kept in the journal (older ones are deleted).
pub const CHECKPOINTS_KEPT: u32 = 2;
/// World snapshots written per transaction of a checkpoint (a few MB: short enough that
/// journal commits on the other connection barely wait).
pub const CHECKPOINT_WORLDS_PER_TRANSACTION: usize = 16;

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

/// A checkpoint as stored: the game state after applying record `seq`, encoded.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredCheckpoint {
    /// Last record applied.
    pub seq: u64,
    /// Tick reached.
    pub tick: u64,
    /// The game's own state, encoded.
    pub core: Vec<u8>,
    /// Every team's world snapshot, encoded, by team id.
    pub worlds: Vec<(u32, Vec<u8>)>,
}

/// Where commands are kept: append, read back from a position, keep checkpoints.
pub trait Journal: Send {
    /// Appends `entries` (each with its tick) atomically and durably; returns the last seq.
    fn append(&mut self, entries: &[(u64, JournalEntry)]) -> Result<u64, GameError>;
    /// Every record after `after_seq`, in order.
    fn read_from(&self, after_seq: u64) -> Result<Vec<JournalRecord>, GameError>;
    /// The game's meta data.
    fn meta(&self) -> Result<GameMeta, GameError>;
    /// Stores a checkpoint (and drops old ones). It counts only once completely written.
    fn save_checkpoint(&mut self, checkpoint: &StoredCheckpoint) -> Result<(), GameError>;
    /// The newest completely written checkpoint, if any.
    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, GameError>;
    /// Where the journal lives, if a second connection can be opened to it (for writing
    /// checkpoints on another thread).
    fn path(&self) -> Option<&Path>;
}

/// How long a writer waits for the other connection (journal vs checkpoint writer).
pub const BUSY_TIMEOUT_MS: u64 = 10_000;

/// The SQLite journal.
pub struct SqliteJournal {
    conn: Connection,
    last_seq: u64,
    path: Option<PathBuf>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS journal (seq INTEGER PRIMARY KEY, tick INTEGER NOT NULL, entry TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (seq INTEGER PRIMARY KEY, tick INTEGER NOT NULL, core BLOB NOT NULL, complete INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS checkpoint_worlds (seq INTEGER NOT NULL, team INTEGER NOT NULL, snapshot BLOB NOT NULL, PRIMARY KEY (seq, team));
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
        })
    }

    /// Opens an existing journal for appending, after checking its format version.
    pub fn open(path: &Path) -> Result<SqliteJournal, GameError> {
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        Self::configure(&conn)?;
        check_format(&conn, path)?;
        let last_seq: i64 =
            conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM journal", [], |r| {
                r.get(0)
            })?;
        Ok(SqliteJournal {
            conn,
            last_seq: to_u64(last_seq),
            path: Some(path.to_owned()),
        })
    }

    /// Opens an existing journal for writing checkpoints from another thread. Its commits
    /// are not synced one by one (`synchronous=NORMAL`): a checkpoint lost in a power cut
    /// only means an older one is used, and WAL commits stay in order, so a checkpoint is
    /// never seen complete without its rows.
    pub fn open_for_checkpoints(path: &Path) -> Result<SqliteJournal, GameError> {
        let journal = Self::open(path)?;
        journal.conn.pragma_update(None, "synchronous", "NORMAL")?;
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
        })
    }

    fn configure(conn: &Connection) -> Result<(), GameError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(Duration::from_millis(BUSY_TIMEOUT_MS))?;
        Ok(())
    }

    /// Folds the write-ahead log into the main file (before archiving it).
    pub fn checkpoint_wal(&self) -> Result<(), GameError> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }
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
        Ok(seq)
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
            .execute("DELETE FROM checkpoint_worlds WHERE seq = ?1", params![seq])?;
        self.conn.execute(
            "INSERT OR REPLACE INTO checkpoints (seq, tick, core, complete) VALUES (?1, ?2, ?3, 0)",
            params![seq, to_i64(checkpoint.tick), checkpoint.core],
        )?;
        for chunk in checkpoint.worlds.chunks(CHECKPOINT_WORLDS_PER_TRANSACTION) {
            let tx = self.conn.transaction()?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO checkpoint_worlds (seq, team, snapshot) VALUES (?1, ?2, ?3)",
                )?;
                for (team, snapshot) in chunk {
                    stmt.execute(params![seq, team, snapshot])?;
                }
            }
            tx.commit()?;
        }
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE checkpoints SET complete = 1 WHERE seq = ?1",
            params![seq],
        )?;
        tx.execute(
            "DELETE FROM checkpoints WHERE seq NOT IN \
             (SELECT seq FROM checkpoints WHERE complete = 1 ORDER BY seq DESC LIMIT ?1)",
            params![CHECKPOINTS_KEPT],
        )?;
        tx.execute(
            "DELETE FROM checkpoint_worlds WHERE seq NOT IN (SELECT seq FROM checkpoints)",
            [],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, GameError> {
        let head = self
            .conn
            .query_row(
                "SELECT seq, tick, core FROM checkpoints WHERE complete = 1 \
                 ORDER BY seq DESC LIMIT 1",
                [],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, Vec<u8>>(2)?,
                    ))
                },
            )
            .optional()?;
        let Some((seq, tick, core)) = head else {
            return Ok(None);
        };
        let mut stmt = self
            .conn
            .prepare("SELECT team, snapshot FROM checkpoint_worlds WHERE seq = ?1 ORDER BY team")?;
        let worlds = stmt
            .query_map(params![seq], |r| {
                Ok((r.get::<_, u32>(0)?, r.get::<_, Vec<u8>>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(StoredCheckpoint {
            seq: to_u64(seq),
            tick: to_u64(tick),
            core,
            worlds,
        }))
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
        for seq in 1..=3 {
            j.save_checkpoint(&StoredCheckpoint {
                seq,
                tick: seq,
                core: vec![1, 2],
                worlds: vec![(0, vec![3]), (2, vec![4, 5])],
            })
            .unwrap();
        }
        let latest = j.latest_checkpoint().unwrap().unwrap();
        assert_eq!(latest.seq, 3);
        assert_eq!(latest.worlds, vec![(0, vec![3]), (2, vec![4, 5])]);
        // A checkpoint cut short (never marked complete) is ignored.
        j.conn
            .execute(
                "INSERT INTO checkpoints (seq, tick, core) VALUES (9, 9, x'00')",
                [],
            )
            .unwrap();
        assert_eq!(j.latest_checkpoint().unwrap().unwrap().seq, 3);
        let kept: i64 = j
            .conn
            .query_row(
                "SELECT COUNT(DISTINCT seq) FROM checkpoint_worlds",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(kept, 2, "older checkpoints are dropped");
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
