//! Group commit: journal appends are written under the game's lock without waiting for the
//! disk, and made durable after it is released, one `fsync` of the write-ahead log shared by
//! every command that waits for it at the same moment.
//!
//! SQLite with `synchronous=FULL` syncs the log at every commit, inside the game's lock, so
//! commands queue behind each other's `fsync`. With [`WalSync`] the journal's connection runs
//! at `synchronous=NORMAL` (a commit writes its frames to the log file, which survives the
//! process being killed) and a command is acknowledged only after [`WalSync::sync_through`]
//! has synced the log past its record — what `FULL` would have done, without the lock.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::GameError;

/// Makes appended journal records durable, sharing one `fsync` between waiting commands.
#[derive(Debug)]
pub struct WalSync {
    /// The write-ahead log file of the journal.
    wal_path: PathBuf,
    /// The last record written to the log (not necessarily synced).
    appended_seq: AtomicU64,
    /// The last record known to be on disk; held while syncing, so that commands that
    /// arrive meanwhile wait for this sync and then find themselves covered.
    synced_seq: Mutex<u64>,
    /// `fsync` calls made.
    syncs: AtomicU64,
}

impl WalSync {
    /// A syncer for the log at `wal_path`, with every record up to `seq` already durable.
    pub(crate) fn new(wal_path: PathBuf, seq: u64) -> Self {
        Self {
            wal_path,
            appended_seq: AtomicU64::new(seq),
            synced_seq: Mutex::new(seq),
            syncs: AtomicU64::new(0),
        }
    }

    /// Notes that every record up to `seq` is written to the log.
    pub(crate) fn appended(&self, seq: u64) {
        self.appended_seq.fetch_max(seq, Ordering::AcqRel);
    }

    /// Returns once every record up to `seq` is on disk: at once if a sync already covered
    /// it, else after waiting for the sync under way (if any) and syncing every record
    /// written so far.
    pub fn sync_through(&self, seq: u64) -> Result<(), GameError> {
        let mut synced = self
            .synced_seq
            .lock()
            .map_err(|_| GameError::Internal("a journal sync failed before".into()))?;
        if *synced >= seq {
            return Ok(());
        }
        // Records written before this load are in the file, so this sync covers them.
        let target = self.appended_seq.load(Ordering::Acquire).max(seq);
        sync_file(&self.wal_path)?;
        self.syncs.fetch_add(1, Ordering::Relaxed);
        *synced = target;
        Ok(())
    }

    /// `fsync` calls made so far.
    pub fn syncs(&self) -> u64 {
        self.syncs.load(Ordering::Relaxed)
    }
}

/// Flushes a file's data to disk (`fdatasync`), through a handle of its own.
pub(crate) fn sync_file(path: &Path) -> Result<(), GameError> {
    File::open(path)
        .and_then(|file| file.sync_data())
        .map_err(|e| GameError::io(format!("syncing {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_already_covered_by_a_sync_costs_no_other() {
        let dir = tempfile::tempdir().unwrap();
        let wal = dir.path().join("log-wal");
        std::fs::write(&wal, b"frames").unwrap();
        let sync = WalSync::new(wal, 0);
        sync.appended(3);
        sync.sync_through(2).unwrap();
        assert_eq!(sync.syncs(), 1);
        // Record 3 was written before that sync began: covered.
        sync.sync_through(3).unwrap();
        assert_eq!(sync.syncs(), 1);
        sync.appended(4);
        sync.sync_through(4).unwrap();
        assert_eq!(sync.syncs(), 2);
    }

    #[test]
    fn a_log_that_cannot_be_synced_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let sync = WalSync::new(dir.path().join("missing-wal"), 0);
        sync.appended(1);
        assert!(matches!(sync.sync_through(1), Err(GameError::Io { .. })));
    }
}
