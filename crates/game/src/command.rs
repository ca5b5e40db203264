//! What callers ask of the game, and the journal entry each accepted command becomes.

use breakathon_scenario::FaultClass;
use breakathon_sim::{Action, IncidentId};
use serde::{Deserialize, Serialize};

use crate::{ClockMode, TeamId, TokenHash};

/// Longest message (announcement, notification, reason) accepted, in characters.
pub const MAX_MESSAGE_CHARS: usize = 2_000;

/// What a team declares is broken: a service or a zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclaredTarget {
    /// A service, by name.
    Service(String),
    /// A zone, by name.
    Zone(String),
}

impl DeclaredTarget {
    /// The service or zone name.
    pub fn name(&self) -> &str {
        match self {
            DeclaredTarget::Service(n) | DeclaredTarget::Zone(n) => n,
        }
    }
}

impl std::fmt::Display for DeclaredTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeclaredTarget::Service(n) => write!(f, "service {n}"),
            DeclaredTarget::Zone(n) => write!(f, "zone {n}"),
        }
    }
}

/// A team's claim: "target T has fault class F".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Declaration {
    /// The root-cause target named.
    pub target: DeclaredTarget,
    /// The fault class named.
    pub class: FaultClass,
}

/// Who a notification is addressed to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// Customer service.
    CustomerService,
    /// Sales.
    Sales,
    /// Management.
    Management,
    /// Everyone in the company.
    Everyone,
}

impl std::fmt::Display for Audience {
    /// In words, for timelines: "customer service", "sales", "management", "everyone".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Audience::CustomerService => "customer service",
            Audience::Sales => "sales",
            Audience::Management => "management",
            Audience::Everyone => "everyone",
        })
    }
}

/// A message to stakeholders about an incident.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// Who it is for.
    pub audience: Audience,
    /// What it says.
    pub message: String,
    /// The service it is about, if one is named.
    #[serde(default)]
    pub service: Option<String>,
    /// The zone it is about, if one is named.
    #[serde(default)]
    pub zone: Option<String>,
}

/// A judge's ruling on one incident of one team.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "ruling")]
pub enum Ruling {
    /// The declaration was right after all: it detects the incident.
    DeclarationCorrect {
        /// The team's declaration number.
        declaration: u32,
    },
    /// The declaration was wrong after all: it becomes a false alarm.
    DeclarationWrong {
        /// The team's declaration number.
        declaration: u32,
    },
    /// The incident is open again for this team (fix points and first-to-fix withdrawn).
    Reopen,
    /// The incident counts as fixed for this team now (fix points by TTF, no first-to-fix).
    Close,
}

/// One accepted command, as written to the journal. The game's state is a pure function of
/// the sequence of these (with the tick at which each applies).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "cmd")]
pub enum JournalEntry {
    /// A team was created.
    CreateTeam {
        /// Its id.
        team: TeamId,
        /// Its name.
        name: String,
        /// Its token's hash.
        token: TokenHash,
    },
    /// A team's token was replaced.
    RotateToken {
        /// The team.
        team: TeamId,
        /// The new token's hash.
        token: TokenHash,
    },
    /// A team was removed.
    RemoveTeam {
        /// The team.
        team: TeamId,
    },
    /// The game started.
    Start,
    /// The game was paused (by the organizer, or on recovery of a running game).
    Pause {
        /// Paused because the server restarted.
        recovered: bool,
    },
    /// The game resumed.
    Resume,
    /// The game ended early (the planned end is reached by the clock without an entry).
    Finish,
    /// The end moved later.
    Extend {
        /// Simulated seconds added.
        seconds: u64,
    },
    /// A manual clock was advanced.
    Advance {
        /// Simulated seconds.
        seconds: u64,
    },
    /// The clock reached the entry's tick.
    Tick,
    /// The public scoreboard froze.
    Freeze,
    /// The public scoreboard unfroze.
    Unfreeze,
    /// An ad-hoc announcement to all teams.
    Announce {
        /// The text.
        message: String,
    },
    /// A team declared an incident.
    Declare {
        /// The team.
        team: TeamId,
        /// What it declared.
        declaration: Declaration,
    },
    /// A team acted on its fleet.
    Act {
        /// The team.
        team: TeamId,
        /// The action.
        action: Action,
    },
    /// A team notified stakeholders.
    Notify {
        /// The team.
        team: TeamId,
        /// The notification.
        notification: Notification,
    },
    /// A team bought a hint.
    TakeHint {
        /// The team.
        team: TeamId,
        /// The hint (index in the scenario's hints).
        hint: u32,
    },
    /// A judge adjusted a team's points.
    Adjust {
        /// The team.
        team: TeamId,
        /// Points added (negative: removed).
        points: i64,
        /// Why.
        reason: String,
    },
    /// A judge ruled on an incident of a team.
    Rule {
        /// The team.
        team: TeamId,
        /// The incident.
        incident: IncidentId,
        /// The ruling.
        ruling: Ruling,
        /// Why.
        reason: String,
    },
}

/// What the journal stores about the game itself (meta table).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GameMeta {
    /// Journal format version.
    pub format_version: u32,
    /// Version of the program that created the journal.
    pub program_version: String,
    /// Scenario file name, for messages.
    pub scenario_name: String,
    /// Scenario RON text.
    pub scenario_source: String,
    /// SHA-256 of the scenario text, hex.
    pub scenario_hash: String,
    /// How the clock runs.
    pub clock: ClockMode,
}
