//! Allocator settings for a tool that runs once over a pile of evidence.
//!
//! mimalloc is fast on the many small strings rules and events allocate, but its defaults
//! favour long-running servers: freed memory is returned to the system only after a delay, and
//! (with transparent huge pages) in 2 MiB units. A hunt loads its rules, frees the parse trees
//! and then streams events through bounded buffers; returning freed pages at once keeps peak
//! resident memory near what is really in use (measured in BENCHMARKS.md: about half on the
//! EVTX samples, at no measurable cost in speed). Transparent huge pages are disabled at build
//! time (the `no_thp` feature).

/// mimalloc's `mi_option_purge_delay` (v3 numbering): milliseconds before freed memory is
/// returned to the system.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Applies the settings; call first thing in `main`, before threads start. A
/// `MIMALLOC_PURGE_DELAY` set in the environment is left to win.
pub fn tune() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: `mi_option_set` only stores an integer in mimalloc's option table; it is called
    // before any other thread exists, as mimalloc requires.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
}
