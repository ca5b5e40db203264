//! The exclusive lock on a data directory: one process at a time opens a game there. Two
//! servers on one journal would each append with their own idea of the next record (and an
//! archiving `--new` would move the journal from under a running server), so the second
//! opener is refused at once. The lock is an OS file lock on [`LOCK_FILE_NAME`] (`flock`
//! on Unix): the OS releases it when the process ends, however it ends (even `kill -9`).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::GameError;

/// File in the data directory that the process owning it keeps locked; it holds that
/// process's id (for the message that refuses another one).
pub const LOCK_FILE_NAME: &str = "lock";

/// Most bytes of the lock file read for the owner's process id.
const MAX_PID_BYTES: u64 = 32;

/// An exclusive lock on a data directory, held until dropped (or the process ends).
#[derive(Debug)]
pub struct DataDirLock {
    /// The locked file (the lock lives as long as this handle).
    file: File,
    /// The data directory.
    dir: PathBuf,
}

impl DataDirLock {
    /// Locks `dir` (which must exist) for this process, or refuses at once when another
    /// opener holds it — another process, or another open in this one.
    pub fn acquire(dir: &Path) -> Result<DataDirLock, GameError> {
        let path = dir.join(LOCK_FILE_NAME);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| GameError::io(format!("opening {}", path.display()), e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let owner = read_pid(&mut file)
                    .map(|pid| format!(" (pid {pid})"))
                    .unwrap_or_default();
                return Err(GameError::WrongState(format!(
                    "the data directory {} is in use by another breakathon process{owner}; \
                     stop it first or use another --data-dir",
                    dir.display()
                )));
            }
            Err(TryLockError::Error(e)) => {
                return Err(GameError::io(format!("locking {}", path.display()), e));
            }
        }
        // Ours now: record who holds it (best effort; the lock itself is what counts).
        let _ = file
            .set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| writeln!(file, "{}", std::process::id()));
        Ok(DataDirLock {
            file,
            dir: dir.to_owned(),
        })
    }

    /// The locked data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for DataDirLock {
    fn drop(&mut self) {
        // Closing the file releases the lock anyway; unlocking first says it explicitly.
        let _ = self.file.unlock();
    }
}

/// The process id written in a lock file, if it holds one.
fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.take(MAX_PID_BYTES).read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_of_one_directory_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDirLock::acquire(dir.path()).unwrap();
        let err = DataDirLock::acquire(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("is in use by another breakathon process"),
            "{err}"
        );
        assert!(
            err.contains(&format!("(pid {})", std::process::id())),
            "{err}"
        );
        assert!(err.contains(&dir.path().display().to_string()), "{err}");
        drop(first);
        DataDirLock::acquire(dir.path()).unwrap();
    }
}
