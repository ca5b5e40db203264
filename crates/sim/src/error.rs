//! Errors of the simulation crate.

use thiserror::Error;

/// Why a simulation could not be built, restored or queried.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum SimError {
    /// The scenario cannot be simulated (it should have been rejected by the checker).
    #[error("invalid scenario: {0}")]
    InvalidScenario(String),
    /// A service name that does not exist in the fleet.
    #[error("unknown service `{0}`")]
    UnknownService(String),
    /// A snapshot that does not fit the scenario it is restored with.
    #[error("snapshot does not match the scenario: {0}")]
    SnapshotMismatch(String),
}

/// Why a team action was refused. Each message is a sentence a team can act on.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ActionError {
    /// The action names a service that does not exist.
    #[error("unknown service `{0}`")]
    UnknownService(String),
    /// The action names a zone that does not exist.
    #[error("unknown zone `{0}`")]
    UnknownZone(String),
    /// The action names an instance the service does not have.
    #[error("service `{service}` has no instance {index}")]
    UnknownInstance {
        /// The service.
        service: String,
        /// The instance index given.
        index: u32,
    },
    /// The action does not apply to this kind of service.
    #[error(
        "`{action}` cannot be done on `{service}`, {article} {kind} (it works on: {valid})",
        article = indefinite_article(kind)
    )]
    InvalidForKind {
        /// The action's name.
        action: String,
        /// The service.
        service: String,
        /// The service's kind.
        kind: String,
        /// The kinds it is valid for.
        valid: String,
    },
    /// A required target or parameter is missing.
    #[error("`{action}` needs {what}")]
    Missing {
        /// The action's name.
        action: String,
        /// What is missing, in words.
        what: String,
    },
    /// A parameter has a value that cannot be used.
    #[error("`{action}`: {reason}")]
    BadParam {
        /// The action's name.
        action: String,
        /// What is wrong, in words.
        reason: String,
    },
}

/// "an" before a word that starts with a vowel sound ("an api"), "a" otherwise ("a cache").
fn indefinite_article(word: &str) -> &'static str {
    match word.chars().next().map(|c| c.to_ascii_lowercase()) {
        Some('a' | 'e' | 'i' | 'o' | 'u') => "an",
        _ => "a",
    }
}
