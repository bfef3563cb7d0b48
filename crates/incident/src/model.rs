//! The data an investigation produces after the hunt: incidents and the containment plan.
//!
//! These types are the contract between the correlation step (this crate), the reports
//! (`tiaki-report`) and anything that stores or shares a case. They serialise to JSON with the
//! field names below; add fields, never rename.

use serde::{Deserialize, Serialize};
use tiaki::SourceRef;

/// How bad an incident is. Ordered: `Informational < Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth recording, nothing to do.
    Informational,
    /// Suspicious but isolated or failed.
    Low,
    /// Suspicious activity that needs an analyst's look.
    Medium,
    /// Hands-on intrusion activity across several stages.
    High,
    /// An intrusion that reached credentials, lateral movement or exfiltration.
    Critical,
}

impl Severity {
    /// Lower-case name (`high`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Informational => "informational",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// The kinds of thing detections share, by which they are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntityKind {
    /// A computer, by its (upper-case, short) name.
    Host,
    /// A user or service account, `DOMAIN\name` or `name` (lower-case).
    Account,
    /// An IP address.
    Address,
    /// A web shell: a script path under a web root, or a URI that served one.
    WebShell,
    /// A process image (lower-case path), for lineage.
    Process,
    /// A file the intrusion wrote or read (dump, archive, tool).
    File,
    /// A domain name.
    Domain,
}

/// One entity: a kind and a normalised value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Entity {
    /// What it is.
    pub kind: EntityKind,
    /// The normalised value.
    pub value: String,
}

/// One detection as an incident keeps it: enough to show it and to find its record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentEvent {
    /// Position of the detection in the hunt's detection list.
    pub index: usize,
    /// `detection`, `correlation`, `indicator` or `yara`.
    pub kind: String,
    /// Rule id, indicator id or YARA rule.
    pub rule_id: Option<String>,
    /// Rule title.
    pub rule_title: String,
    /// Rule level (`high`), if any.
    pub level: Option<String>,
    /// RFC 3339 UTC time, if the record has one.
    pub timestamp: Option<String>,
    /// Host.
    pub host: Option<String>,
    /// ATT&CK techniques.
    pub attack: Vec<String>,
    /// The ATT&CK tactic (short name, `initial-access`) this detection is placed under.
    pub tactic: Option<String>,
    /// Where the record is.
    pub source: SourceRef,
    /// The entities found in the detection's event.
    pub entities: Vec<Entity>,
    /// One line saying what happened (the command line, the request, the logon).
    pub summary: String,
}

/// One ATT&CK tactic in an incident's progression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    /// Tactic short name (`initial-access`).
    pub tactic: String,
    /// Tactic display name (`Initial Access`).
    pub name: String,
    /// Earliest detection time in this phase (RFC 3339).
    pub first: Option<String>,
    /// Latest detection time in this phase.
    pub last: Option<String>,
    /// Techniques seen in this phase.
    pub techniques: Vec<String>,
    /// Detections in this phase.
    pub detections: usize,
}

/// An edge of the incident graph: two entities seen in the same detection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// One end.
    pub from: Entity,
    /// The other end.
    pub to: Entity,
    /// How many detections tie them.
    pub weight: usize,
}

/// Detections grouped into one intrusion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// `INC-001`, in order of first activity.
    pub id: String,
    /// A short title (`Web shell on PDO-WEB01 leading to credential access and exfiltration`).
    pub title: String,
    /// How bad it is.
    pub severity: Severity,
    /// Why that severity (the facts the rule of severity used).
    pub severity_reasons: Vec<String>,
    /// First detection time (RFC 3339).
    pub first_seen: Option<String>,
    /// Last detection time.
    pub last_seen: Option<String>,
    /// Hosts involved, most detections first.
    pub hosts: Vec<String>,
    /// Accounts involved.
    pub accounts: Vec<String>,
    /// External and internal addresses involved.
    pub addresses: Vec<String>,
    /// Web shells (paths or URIs).
    pub web_shells: Vec<String>,
    /// Every ATT&CK technique seen, sorted.
    pub techniques: Vec<String>,
    /// The tactics in kill-chain order.
    pub phases: Vec<Phase>,
    /// The detections, in time order.
    pub events: Vec<IncidentEvent>,
    /// The entity graph.
    pub links: Vec<Link>,
    /// One paragraph generated from the facts above.
    pub narrative: String,
}

/// One thing to do in containment, with why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// What to act on (host name, account, path, address).
    pub target: String,
    /// Why, in one sentence.
    pub reason: String,
    /// Incidents that call for it.
    pub incidents: Vec<String>,
    /// Rule titles or indicator ids that support it.
    pub evidence: Vec<String>,
    /// Priority: 1 first.
    pub priority: u8,
}

/// An indicator to block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockItem {
    /// `ipv4`, `ipv6`, `domain`, `url`, `sha256`, `md5`, `file-name`.
    pub kind: String,
    /// The value.
    pub value: String,
    /// Why.
    pub reason: String,
    /// Incidents it was seen in.
    pub incidents: Vec<String>,
}

/// An ATT&CK mitigation for techniques seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MitigationItem {
    /// `M1026`.
    pub id: String,
    /// `Privileged Account Management`.
    pub name: String,
    /// The techniques seen that it mitigates.
    pub techniques: Vec<String>,
}

/// What to do now: isolate, reset, block, remove, harden.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContainmentPlan {
    /// Hosts to isolate from the network.
    pub isolate_hosts: Vec<Action>,
    /// Accounts whose passwords (and Kerberos keys, tickets) to reset.
    pub reset_accounts: Vec<Action>,
    /// Web shells and attacker files to remove (after imaging).
    pub remove_files: Vec<Action>,
    /// Persistence and configuration to undo (firewall rules, services, tasks, run keys).
    pub revert_changes: Vec<Action>,
    /// Indicators to block at the perimeter.
    pub block: Vec<BlockItem>,
    /// ATT&CK mitigations for the techniques seen, most techniques first.
    pub mitigations: Vec<MitigationItem>,
}
