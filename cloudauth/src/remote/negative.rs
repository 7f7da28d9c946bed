//! A bounded set of key ids known to be absent from the current key set, each remembered for a
//! limited time.

use std::collections::{HashMap, VecDeque};

/// The maximum length of a remembered key id, in bytes; longer ones never cause a fetch.
pub(crate) const MAX_REMEMBERED_KID_LEN: usize = 256;

/// Key ids that a successful refetch did not find, with the time each was added; the oldest
/// is evicted first.
#[derive(Debug, Default)]
pub(crate) struct NegativeCache {
    members: HashMap<Box<str>, i64>,
    order: VecDeque<Box<str>>,
    capacity: usize,
}

impl NegativeCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            members: HashMap::new(),
            order: VecDeque::new(),
            capacity,
        }
    }

    /// Returns `true` when `kid` was added less than `ttl` seconds before `now`.
    pub(crate) fn contains(&self, kid: &str, now: i64, ttl: i64) -> bool {
        self.members
            .get(kid)
            .is_some_and(|added| now.saturating_sub(*added) < ttl)
    }

    pub(crate) fn insert(&mut self, kid: &str, now: i64) {
        if self.capacity == 0 || kid.len() > MAX_REMEMBERED_KID_LEN {
            return;
        }
        if let Some(added) = self.members.get_mut(kid) {
            *added = now;
            return;
        }
        if self.order.len() >= self.capacity
            && let Some(oldest) = self.order.pop_front()
        {
            self.members.remove(&oldest);
        }
        self.members.insert(kid.into(), now);
        self.order.push_back(kid.into());
    }

    pub(crate) fn clear(&mut self) {
        self.members.clear();
        self.order.clear();
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }
}

#[cfg(test)]
mod tests {
    use super::NegativeCache;

    #[test]
    fn oldest_entry_is_evicted() {
        let mut cache = NegativeCache::new(2);
        cache.insert("a", 0);
        cache.insert("b", 0);
        cache.insert("c", 0);

        assert!(!cache.contains("a", 0, 30));
        assert!(cache.contains("b", 0, 30));
        assert!(cache.contains("c", 0, 30));
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn entries_expire_after_ttl() {
        let mut cache = NegativeCache::new(8);
        cache.insert("a", 100);

        assert!(cache.contains("a", 129, 30));
        assert!(!cache.contains("a", 130, 30));
    }

    #[test]
    fn long_kids_are_not_remembered() {
        let mut cache = NegativeCache::new(8);
        cache.insert(&"k".repeat(257), 0);
        assert_eq!(cache.len(), 0);
    }
}
