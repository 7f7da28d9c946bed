//! A bounded set of key ids known to be absent from the current key set.

use std::collections::{HashSet, VecDeque};

/// The longest key id remembered; longer ones are never a reason to fetch.
pub(crate) const MAX_REMEMBERED_KID_LEN: usize = 256;

/// Key ids that a refetch did not find, oldest evicted first.
#[derive(Debug, Default)]
pub(crate) struct NegativeCache {
    members: HashSet<Box<str>>,
    order: VecDeque<Box<str>>,
    capacity: usize,
}

impl NegativeCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            members: HashSet::new(),
            order: VecDeque::new(),
            capacity,
        }
    }

    pub(crate) fn contains(&self, kid: &str) -> bool {
        self.members.contains(kid)
    }

    pub(crate) fn insert(&mut self, kid: &str) {
        if self.capacity == 0 || kid.len() > MAX_REMEMBERED_KID_LEN || self.contains(kid) {
            return;
        }
        if self.order.len() >= self.capacity
            && let Some(oldest) = self.order.pop_front()
        {
            self.members.remove(&oldest);
        }
        self.members.insert(kid.into());
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
        cache.insert("a");
        cache.insert("b");
        cache.insert("c");

        assert!(!cache.contains("a"));
        assert!(cache.contains("b"));
        assert!(cache.contains("c"));
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn long_kids_are_not_remembered() {
        let mut cache = NegativeCache::new(8);
        cache.insert(&"k".repeat(257));
        assert_eq!(cache.len(), 0);
    }
}
