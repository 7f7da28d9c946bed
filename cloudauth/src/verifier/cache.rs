//! An opt-in cache of verification results, so a repeated token skips its signature check.
//!
//! Entries are keyed by the exact token text. A hit still checks `exp` and `nbf` against the
//! clock and the scope requirement. An entry is dropped when the key that verified the token
//! has left the key set, or when it is older than the cache's time to live.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::algorithm::Algorithm;

/// The number of independently locked parts of the cache, to keep threads apart.
const SHARDS: usize = 16;

/// A verified token's facts that a cache hit needs.
#[derive(Debug)]
pub(crate) struct Entry {
    /// The token, compared in full on a hit.
    pub(crate) token: Box<str>,
    /// The decoded payload, from which the caller's claims type is read again.
    pub(crate) payload: Arc<str>,
    pub(crate) exp: i64,
    pub(crate) nbf: Option<i64>,
    pub(crate) kid: Option<Box<str>>,
    pub(crate) alg: Algorithm,
    /// The fingerprint of the key that verified the signature.
    pub(crate) key: u64,
    /// The names the verifier's scope claim grants.
    pub(crate) scopes: Box<[String]>,
    /// When the entry was added, in seconds since the Unix epoch.
    pub(crate) added: i64,
}

/// One part of the cache: entries by the hash of their token's signature.
type Shard = Mutex<HashMap<u64, Arc<Entry>>>;

/// A bounded map from token to [`Entry`].
#[derive(Debug)]
pub(crate) struct TokenCache {
    shards: Box<[Shard]>,
    hasher: RandomState,
    per_shard: usize,
    /// The longest an entry is used, in seconds.
    pub(crate) ttl: i64,
}

impl TokenCache {
    /// Creates a cache of at most `max_entries` tokens, each used for at most `ttl` seconds.
    pub(crate) fn new(max_entries: usize, ttl: i64) -> Self {
        let shards = (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect();
        Self {
            shards,
            hasher: RandomState::new(),
            per_shard: max_entries.div_ceil(SHARDS).max(1),
            ttl,
        }
    }

    /// Returns the entry for `token`, if one was stored.
    pub(crate) fn get(&self, token: &str) -> Option<Arc<Entry>> {
        let hash = self.hash(token);
        let shard = self.shard(hash);
        shard
            .get(&hash)
            .filter(|entry| *entry.token == *token)
            .cloned()
    }

    /// Stores `entry`, evicting another when the shard is full.
    pub(crate) fn insert(&self, entry: Entry) {
        let hash = self.hash(&entry.token);
        let mut shard = self.shard(hash);
        if shard.len() >= self.per_shard && !shard.contains_key(&hash) {
            let now = entry.added;
            shard.retain(|_, old| old.exp > now);
            if shard.len() >= self.per_shard
                && let Some(victim) = shard.keys().next().copied()
            {
                shard.remove(&victim);
            }
        }
        shard.insert(hash, Arc::new(entry));
    }

    /// Removes the entry for `token`.
    pub(crate) fn remove(&self, token: &str) {
        let hash = self.hash(token);
        self.shard(hash).remove(&hash);
    }

    /// Hashes the signature segment only: it differs between tokens, and a hit compares the
    /// whole token anyway.
    fn hash(&self, token: &str) -> u64 {
        let signature = token
            .rsplit_once('.')
            .map_or(token, |(_, signature)| signature);
        self.hasher.hash_one(signature)
    }

    #[expect(
        clippy::indexing_slicing,
        reason = "the index is below SHARDS, the length of the slice, by the modulo"
    )]
    fn shard(&self, hash: u64) -> MutexGuard<'_, HashMap<u64, Arc<Entry>>> {
        let index = usize::try_from(hash % SHARDS as u64).unwrap_or(0);
        // The map contains only finished entries, so it is usable after a panic elsewhere.
        self.shards[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
