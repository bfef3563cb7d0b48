//! # tiaki-intel
//!
//! Threat intelligence for attribution: a knowledge base of intrusion sets, campaigns,
//! techniques, software and mitigations built from STIX 2.1 (MITRE ATT&CK and other feeds),
//! actor-name resolution across vendors' naming schemes, group profiles with leakage-aware
//! constructions, and the attribution benchmark every scorer is measured with.
//!
//! * [`kb`] — the knowledge base ([`KnowledgeBase`]), alias resolution, group profiles and tokens.
//! * [`eval`] — the benchmark protocols (E1 campaign hold-out, E2 noisy partial evidence,
//!   E3 report hold-out), metrics, calibration, baseline scorers behind the [`eval::Scorer`]
//!   trait, and [`eval::run_evaluation`], which returns a serialisable [`eval::EvalReport`].
//!
//! ```no_run
//! use tiaki_intel::{KnowledgeBase, eval};
//!
//! let mut kb = KnowledgeBase::from_bundle_file("enterprise-attack.json")?;
//! kb.add_misp_threat_actors_file("clusters_threat-actor.json")?;
//! let apt40 = kb.resolve("Gingham Typhoon").unwrap();
//! assert_eq!(kb.label(apt40), "G0065");
//! let report = eval::run_evaluation(&kb, &eval::EvalConfig::quick())?;
//! println!("{}", report.to_markdown());
//! # Ok::<(), tiaki_intel::IntelError>(())
//! ```

#![warn(missing_docs)]

pub mod attribution;
mod error;
pub mod eval;
pub mod infer;
pub mod kb;
pub mod pack;
pub mod store;
pub mod update;

pub use error::{IntelError, Result};
pub use kb::{KnowledgeBase, ObjId};
