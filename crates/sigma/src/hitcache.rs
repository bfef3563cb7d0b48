//! Memoised automaton results for repeated field values.
//!
//! Evidence repeats itself: the same `Image`, `ParentImage`, `TargetObject`
//! prefix, service command line or user name appears in thousands of events.
//! Scanning a value with a large overlapping Aho-Corasick automaton costs tens
//! of instructions per byte; hashing it and comparing it with a remembered copy
//! costs about one. So each scanner keeps a small direct-mapped cache from a
//! value's text (as the event has it, before lowercasing) to the literals the
//! automaton found in it. The result of a scan depends only on the automaton
//! and the text, so a cache hit gives exactly what a scan would have given.
//!
//! Memory is bounded: a fixed number of slots per scanner, allocated on first
//! use, and values longer than [`MAX_CACHED_LEN`] are never stored.

use std::hash::{BuildHasher, Hasher};

/// Slots per scanner (a power of two).
const SLOTS: usize = 1024;

/// Longest value kept in a cache, in bytes. Longer values (script blocks,
/// encoded payloads) are rarely repeated exactly and would pin memory.
pub(crate) const MAX_CACHED_LEN: usize = 2048;

/// One remembered scan: the value and the hits found in it.
#[derive(Debug, Default)]
struct Slot {
    hash: u64,
    used: bool,
    text: String,
    /// (pattern id local to the scanner, hit flags).
    hits: Vec<(u32, u8)>,
}

/// A direct-mapped cache of scan results for one scanner.
#[derive(Debug)]
pub(crate) struct HitCache {
    slots: Vec<Slot>,
    hasher: foldhash::fast::FixedState,
}

impl Default for HitCache {
    fn default() -> Self {
        Self {
            slots: (0..SLOTS).map(|_| Slot::default()).collect(),
            hasher: foldhash::fast::FixedState::with_seed(0x0074_6961_6b69),
        }
    }
}

impl HitCache {
    /// The hash that locates `text` in the cache.
    pub(crate) fn hash(&self, text: &str) -> u64 {
        let mut h = self.hasher.build_hasher();
        h.write(text.as_bytes());
        h.finish()
    }

    /// The remembered hits for `text`, if it is cached.
    pub(crate) fn get(&self, hash: u64, text: &str) -> Option<&[(u32, u8)]> {
        let slot = &self.slots[hash as usize & (SLOTS - 1)];
        (slot.used && slot.hash == hash && slot.text == text).then_some(slot.hits.as_slice())
    }

    /// Remembers the hits found in `text`, replacing whatever used its slot.
    pub(crate) fn put(&mut self, hash: u64, text: &str, hits: &[(u32, u8)]) {
        if text.len() > MAX_CACHED_LEN {
            return;
        }
        let slot = &mut self.slots[hash as usize & (SLOTS - 1)];
        slot.used = true;
        slot.hash = hash;
        slot.text.clear();
        slot.text.push_str(text);
        slot.hits.clear();
        slot.hits.extend_from_slice(hits);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_and_replaces() {
        let mut c = HitCache::default();
        let h = c.hash("cmd.exe");
        assert!(c.get(h, "cmd.exe").is_none());
        c.put(h, "cmd.exe", &[(3, 1), (7, 5)]);
        assert_eq!(c.get(h, "cmd.exe"), Some(&[(3, 1), (7, 5)][..]));
        // Same slot, other text: a miss, never a wrong answer.
        assert!(c.get(h, "CMD.EXE").is_none());
        c.put(h, "cmd.exe", &[]);
        assert_eq!(c.get(h, "cmd.exe"), Some(&[][..]));
    }

    #[test]
    fn long_values_are_not_kept() {
        let mut c = HitCache::default();
        let long = "a".repeat(MAX_CACHED_LEN + 1);
        let h = c.hash(&long);
        c.put(h, &long, &[(1, 1)]);
        assert!(c.get(h, &long).is_none());
    }
}
