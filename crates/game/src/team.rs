//! Teams, roles and access tokens. Tokens are random (from the operating system's CSPRNG),
//! shown once, and stored only as a salted SHA-256 hash.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::GameError;

/// Bytes of randomness in a generated token.
pub const TOKEN_RANDOM_BYTES: usize = 24;
/// Bytes of salt hashed with each token.
pub const TOKEN_SALT_BYTES: usize = 16;
/// Longest team name accepted, in characters.
pub const MAX_TEAM_NAME_CHARS: usize = 64;
/// Most teams a game may have (removed ones included).
pub const MAX_TEAMS: usize = 10_000;
/// Prefix of every generated team token (`bt-<team id>-<secret>`).
pub const TEAM_TOKEN_PREFIX: &str = "bt-";

/// Identifies a team: dense, in creation order, never reused.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub struct TeamId(pub u32);

impl std::fmt::Display for TeamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Who is calling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Principal {
    /// Runs the event.
    Organizer,
    /// Rules on disputes, sees everything.
    Judge,
    /// A competing team (its members share one token).
    Team(TeamId),
}

/// A salted hash of a token; the token itself is never stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenHash {
    /// Random salt, hex.
    pub salt_hex: String,
    /// SHA-256 of salt then token, hex.
    pub hash_hex: String,
}

impl TokenHash {
    /// Hashes `token` with a fresh random salt.
    pub fn new(token: &str) -> Result<TokenHash, GameError> {
        let salt = random_bytes::<TOKEN_SALT_BYTES>()?;
        let salt_hex = to_hex(&salt);
        let hash_hex = hash_with_salt(&salt_hex, token);
        Ok(TokenHash { salt_hex, hash_hex })
    }

    /// Whether `token` is the one hashed here (compared without early exit).
    pub fn matches(&self, token: &str) -> bool {
        let candidate = hash_with_salt(&self.salt_hex, token);
        let (a, b) = (candidate.as_bytes(), self.hash_hex.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

fn hash_with_salt(salt_hex: &str, token: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(salt_hex.as_bytes());
    hasher.update(b":");
    hasher.update(token.as_bytes());
    to_hex(&hasher.finalize())
}

/// Random bytes from the operating system.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], GameError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| {
        GameError::io(
            "reading randomness from the operating system",
            std::io::Error::other(e.to_string()),
        )
    })?;
    Ok(bytes)
}

/// Lower-case hex of `bytes`.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A fresh secret token with a role prefix: `bt-<team>-<hex>` for teams, `<role>-<hex>` else.
pub(crate) fn generate_token(prefix: &str) -> Result<String, GameError> {
    Ok(format!(
        "{prefix}{}",
        to_hex(&random_bytes::<TOKEN_RANDOM_BYTES>()?)
    ))
}

/// The team a generated team token claims to belong to (checked against its hash after).
pub(crate) fn team_of_token(token: &str) -> Option<TeamId> {
    let rest = token.strip_prefix(TEAM_TOKEN_PREFIX)?;
    let (id, _) = rest.split_once('-')?;
    id.parse().ok().map(TeamId)
}

/// Checks a team name: non-empty after trimming, not too long, printable.
pub(crate) fn validate_team_name(name: &str) -> Result<String, GameError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(GameError::BadRequest("a team needs a name".into()));
    }
    if name.chars().count() > MAX_TEAM_NAME_CHARS {
        return Err(GameError::BadRequest(format!(
            "a team name has at most {MAX_TEAM_NAME_CHARS} characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(GameError::BadRequest(
            "a team name may not contain control characters".into(),
        ));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_matches_its_hash_and_nothing_else() {
        let token = generate_token("bt-3-").unwrap();
        let hash = TokenHash::new(&token).unwrap();
        assert!(hash.matches(&token));
        assert!(!hash.matches("bt-3-00"));
        assert_eq!(team_of_token(&token), Some(TeamId(3)));
        assert_ne!(TokenHash::new(&token).unwrap().salt_hex, hash.salt_hex);
    }

    #[test]
    fn team_names_are_checked() {
        assert!(validate_team_name("  ").is_err());
        assert!(validate_team_name(&"x".repeat(65)).is_err());
        assert_eq!(validate_team_name(" Red ").unwrap(), "Red");
    }
}
