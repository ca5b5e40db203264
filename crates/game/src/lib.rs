//! The Breakathon referee: one simulated fleet per team in lockstep, the commands of
//! organizers, judges and teams, the rules that turn what happens into points, and a durable
//! journal from which every game can be recovered or replayed exactly. No HTTP here.
//!
//! Layout: [`game`] (the [`Game`] and its commands), [`queries`] (views per role),
//! [`clock`], [`team`] (teams and tokens), [`command`] (inputs and journal entries),
//! [`journal`] (SQLite journal), [`data_lock`] (one process per data directory), [`checkpoint`] (snapshots that bound recovery time), [`recovery`] (open, replay, state hash),
//! [`rules`] (points, ranking, per-tick rules), [`ledger`], [`views`], [`export`].
//! The rules as teams read them are in `docs/RULES.md`.

pub mod checkpoint;
pub mod clock;
pub mod command;
pub mod data_lock;
pub mod durability;
pub mod error;
pub mod export;
pub mod game;
pub mod journal;
pub mod ledger;
pub mod queries;
pub(crate) mod record;
pub mod recovery;
pub mod rules;
pub mod shared;
pub mod stepping;
pub mod team;
pub mod views;

pub use clock::{ClockMode, GameState};
pub use command::{
    Audience, Declaration, DeclaredTarget, GameMeta, JournalEntry, Notification, Ruling,
};
pub use data_lock::DataDirLock;
pub use error::{ErrorKind, GameError};
pub use game::Game;
pub use ledger::{LedgerEntry, LedgerKind};
pub use recovery::{GameOptions, Opened};
pub use shared::{Access, SharedGame};
pub use stepping::TeamBatch;
pub use team::{Principal, TeamId, TokenHash};
pub use views::*;

/// Re-exported so that callers name the same types.
pub use breakathon_sim::{Action, ActionParams, IncidentId, RootTarget};

/// The rules as teams read them (`docs/RULES.md`).
pub const RULES_MARKDOWN: &str = include_str!("../../../docs/RULES.md");
