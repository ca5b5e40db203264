//! The game's error type: every refusal says what was wrong in words, and has a kind the
//! server maps to an HTTP status.

use serde::Serialize;

/// What kind of refusal an error is (the server maps these to 404 / 409 / 400 / 403 / 500).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Something named does not exist (team, incident, hint, service...).
    NotFound,
    /// The command is not allowed in the game's current state (paused, not started, over).
    WrongState,
    /// The command itself is malformed or invalid.
    BadRequest,
    /// The caller may not do this.
    Forbidden,
    /// Storage failed; nothing was acknowledged.
    Storage,
    /// The game is completing a tick; the same command succeeds a moment later.
    Busy,
    /// Something broke on our side.
    Internal,
}

/// Why the game refused or failed a command. Nothing changes when one is returned.
#[derive(Debug, thiserror::Error)]
pub enum GameError {
    /// Something named does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The command is not allowed now.
    #[error("{0}")]
    WrongState(String),
    /// The command is invalid.
    #[error("{0}")]
    BadRequest(String),
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The data directory belongs to another scenario, or the journal is from another version.
    #[error("{0}")]
    Incompatible(String),
    /// The journal database failed.
    #[error("journal: {0}")]
    Journal(#[from] rusqlite::Error),
    /// A file in the data directory could not be read or written.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A stored record could not be encoded or decoded.
    #[error("{context}: {message}")]
    Codec {
        /// What was being encoded or decoded.
        context: String,
        /// What went wrong.
        message: String,
    },
    /// The scenario could not be loaded or simulated.
    #[error("{0}")]
    Scenario(String),
    /// The game is completing a tick and cannot take this now (see [`crate::SharedGame`],
    /// which waits instead of returning it).
    #[error("{0}")]
    Busy(String),
    /// A bug left the game unusable (a thread panicked while holding it).
    #[error("{0}")]
    Internal(String),
    /// The game stopped accepting commands because its journal could not be written or
    /// synced: nothing more is applied until a restart recovers from the journal.
    #[error("{0}")]
    Stopped(String),
}

impl GameError {
    /// The kind of refusal, for mapping to a status code.
    pub fn kind(&self) -> ErrorKind {
        match self {
            GameError::NotFound(_) => ErrorKind::NotFound,
            GameError::WrongState(_) => ErrorKind::WrongState,
            GameError::BadRequest(_) | GameError::Scenario(_) => ErrorKind::BadRequest,
            GameError::Forbidden(_) => ErrorKind::Forbidden,
            GameError::Incompatible(_) => ErrorKind::WrongState,
            GameError::Journal(_)
            | GameError::Io { .. }
            | GameError::Codec { .. }
            | GameError::Stopped(_) => ErrorKind::Storage,
            GameError::Busy(_) => ErrorKind::Busy,
            GameError::Internal(_) => ErrorKind::Internal,
        }
    }

    /// Whether this is the journal database being busy (another connection's transaction
    /// outlasted the wait): nothing was written, and the same write may succeed later.
    pub fn is_journal_busy(&self) -> bool {
        matches!(
            self,
            GameError::Journal(rusqlite::Error::SqliteFailure(error, _))
                if matches!(
                    error.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                )
        )
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        GameError::Io {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn codec(context: impl Into<String>, error: impl std::fmt::Display) -> Self {
        GameError::Codec {
            context: context.into(),
            message: error.to_string(),
        }
    }
}
