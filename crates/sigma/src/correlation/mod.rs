//! Sigma correlation rules: parse, validate, resolve and evaluate them over
//! a stream of events.
//!
//! A correlation rule (specification v2.1, `correlation:` documents) does not
//! look at one event: it counts, aggregates or sequences the *matches* of
//! other rules per group (`group-by`) inside a time window (`timespan`). The
//! specification defines the vocabulary but leaves most run-time behaviour to
//! "the backend": which window, when an alert is emitted and how often, what
//! happens to events lacking a group-by field, to late events, to memory.
//! An investigation tool must answer every one of those questions the same
//! way every time, and say how, because an analyst will defend its output.
//! This module makes each choice explicit (see the crate README, section
//! "Correlation rules") and keeps the engine streaming with bounded memory:
//!
//! * **Sliding, event-time windows.** Every time a referenced rule matches,
//!   the condition is evaluated over the window `[t - timespan, t]` that ends
//!   at that match (both ends inclusive). Time is the `ts_ms` the caller
//!   passes, never the wall clock.
//! * **One alert per episode.** A group fires when its condition holds, then
//!   stays silent for windows overlapping the one that fired.
//! * **Bounded state.** Per-group entries expire with their window, idle
//!   groups are dropped via a time-ordered index, and hard caps on groups and
//!   entries evict (and count) the oldest state.
//! * **Chains.** A correlation may reference another correlation; the inner
//!   one's alerts are the outer one's events. Only correlations not hidden by
//!   a referencing correlation (`generate: false`, the default) report.
//!
//! Parsing happens while a [`Collection`](crate::Collection) loads rules
//! ([`CorrelationRule`]); references are resolved, cycles refused and the
//! run-time state built by [`CorrelationEngine::new`].

mod engine;
mod rule;
mod state;
#[cfg(test)]
mod tests;

pub use engine::CorrelationEngine;
pub use rule::*;
pub use state::{Alert, CorrelationCounters, CorrelationStats, EngineOptions, Referenced};
