//! Allocator settings for a tool that loads a large rule set once and then streams evidence.
//!
//! mimalloc is fast on the many small strings rules and events allocate, but by default it
//! keeps freed memory for a while before returning it to the system, and (with transparent huge
//! pages) grows resident memory in 2 MiB steps. Loading 3,754 Sigma rules builds parse trees that
//! are freed as soon as the rules are compiled; returning that memory at once roughly halves peak
//! resident memory (BENCHMARKS.md). While events stream through, though, immediate returns cost
//! a system call per freed page run: about 15% of hunting throughput. So memory is returned at
//! once while rules load ([`tune`]) and with a short delay afterwards ([`streaming`]).
//! Transparent huge pages are disabled at build time (the `no_thp` feature). A
//! `MIMALLOC_PURGE_DELAY` set in the environment wins over both.

/// mimalloc's `mi_option_purge_delay` (v3 numbering): milliseconds before freed memory is
/// returned to the system.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Purge delay while events stream (milliseconds).
const STREAMING_PURGE_DELAY_MS: i64 = 100;

fn set_purge_delay(ms: i64) {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: `mi_option_set` stores an integer in mimalloc's option table, which mimalloc
    // reads when it next decides whether to purge; no memory is touched.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, ms as _) };
}

/// The loading phase: freed memory goes back to the system at once. Call first in `main`.
pub fn tune() {
    set_purge_delay(0);
}

/// The streaming phase, once the rules are compiled: freed memory is kept for a short while,
/// since the next batch of events will need it again.
pub fn streaming() {
    set_purge_delay(STREAMING_PURGE_DELAY_MS);
}
