//! Incidents from detections, and what to do about them.
//!
//! `tiaki hunt` answers "which records match which rules"; an analyst asks "what happened, to
//! which machines, how bad is it, and what do I do now". This crate answers the second from the
//! first, with no other input than the detections and the ATT&CK knowledge base:
//!
//! * [`entities`] finds the accounts, addresses, hosts, processes, files, web shells and domains
//!   each detection names (rules in `data/entities.toml`);
//! * [`correlate`] groups detections that share them, close in time, into [`Incident`]s, orders
//!   each along the ATT&CK kill chain, rates its severity from stated facts, and writes its
//!   title and narrative;
//! * [`containment`] turns the serious incidents into a [`ContainmentPlan`]: hosts to isolate,
//!   accounts to reset, files to remove, changes to revert, indicators to block (with
//!   exporters for firewalls and DNS) and ATT&CK mitigations.
//!
//! Everything is deterministic: the same detections give the same incidents, ids and text.
//! See `README.md` for the rules and their weaknesses.

pub mod containment;
pub mod correlate;
pub mod entities;
pub mod model;

pub use containment::{ContainmentOptions, containment_plan};
pub use correlate::{Correlation, IncidentOptions, build_incidents, correlate};
pub use model::*;
