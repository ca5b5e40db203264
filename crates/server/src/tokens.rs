//! A cache of valid bearer tokens, so that authenticating a request costs no game lock and no
//! hop to the blocking pool once its token has been seen.
//!
//! Only tokens the game accepted are cached (an unknown token always asks the game), so the
//! cache holds at most one entry per live principal. Whatever can invalidate a token (rotating
//! it, removing its team) must call [`TokenCache::forget`] after the change; a lookup that
//! started before a `forget` never inserts its (possibly stale) answer afterwards, because
//! `forget` bumps a generation that the insert checks under the same lock.

use std::collections::HashMap;
use std::sync::RwLock;

use breakathon_game::Principal;

/// Most cached tokens before the cache starts over (more than any real game has principals).
pub const MAX_CACHED_TOKENS: usize = 10_000;

#[derive(Debug, Default)]
struct Entries {
    generation: u64,
    principals: HashMap<String, Principal>,
}

/// Tokens the game accepted, with their principal.
#[derive(Debug, Default)]
pub struct TokenCache {
    entries: RwLock<Entries>,
}

impl TokenCache {
    /// The principal of a cached token.
    pub fn get(&self, token: &str) -> Option<Principal> {
        let entries = match self.entries.read() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        entries.principals.get(token).copied()
    }

    /// The current generation: read it before asking the game, pass it to
    /// [`TokenCache::insert`] after.
    pub fn generation(&self) -> u64 {
        match self.entries.read() {
            Ok(guard) => guard.generation,
            Err(poisoned) => poisoned.into_inner().generation,
        }
    }

    /// Caches `token` if no [`TokenCache::forget`] happened since `generation` was read.
    pub fn insert(&self, generation: u64, token: String, principal: Principal) {
        let mut entries = match self.entries.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if entries.generation != generation {
            return;
        }
        if entries.principals.len() >= MAX_CACHED_TOKENS {
            entries.principals.clear();
        }
        entries.principals.insert(token, principal);
    }

    /// Drops every cached token (after a token was rotated or a team removed).
    pub fn forget(&self) {
        let mut entries = match self.entries.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        entries.generation += 1;
        entries.principals.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use breakathon_game::TeamId;

    #[test]
    fn a_lookup_that_started_before_forget_is_not_cached() {
        let cache = TokenCache::default();
        let before = cache.generation();
        cache.insert(before, "a".into(), Principal::Team(TeamId(1)));
        assert_eq!(cache.get("a"), Some(Principal::Team(TeamId(1))));
        let stale = cache.generation();
        cache.forget();
        assert_eq!(cache.get("a"), None);
        // The answer of a lookup that began before the rotation arrives late: not cached.
        cache.insert(stale, "a".into(), Principal::Team(TeamId(1)));
        assert_eq!(cache.get("a"), None);
        cache.insert(cache.generation(), "b".into(), Principal::Organizer);
        assert_eq!(cache.get("b"), Some(Principal::Organizer));
    }
}
