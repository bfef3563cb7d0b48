//! From detections to incidents: group by shared entities and time, order along the ATT&CK
//! kill chain, rate the severity from facts, and write the title and narrative.
//!
//! # The grouping rule
//!
//! Detections are nodes of a union–find. Two detections join when they share a key within a
//! time limit (occurrences of a key are sorted by time and each is joined to the previous one
//! when the gap is small enough, so a chain of activity a few days apart stays one incident):
//!
//! * **strong keys**, within [`IncidentOptions::window`] (default 7 days): a non-noise
//!   account; an external address, or an internal address that is not the
//!   detection's own host's; a process GUID (lineage: a process and its children, with
//!   `svchost.exe`/`services.exe`-style parents left out); an unusual image or file path; a
//!   domain; the same evidence record (a Sigma hit and an indicator hit on one line, a
//!   correlation and the records it names). Web shells, process GUIDs and records join at any
//!   distance in time: they are unique to one intrusion, and a web shell used again weeks later
//!   is the same intrusion coming back. Indicator hits whose indicators name the same
//!   intrusion set join within the window too (the feed says both are one actor's; turn it off
//!   with [`IncidentOptions::join_by_intrusion_set`]);
//! * **host keys**: detections on the same host within [`IncidentOptions::host_gap`]
//!   (default 2 h); a detection that names another host (the `WorkstationName` or address of a
//!   logon's source, `\\PDO-FS01\C$` on a command line) joins the nearest detection on that
//!   host within [`IncidentOptions::peer_gap`] (default 15 min). An internal address known to
//!   belong to a host (`s-ip`, a logon's `IpAddress` + `WorkstationName`, or
//!   [`IncidentOptions::host_addresses`]) stands for that host, not for a strong key: a jump
//!   host's address is the source of its administrators' work and of an intruder's alike. A
//!   shared host alone is weak evidence of one intrusion, so it only joins activity close in
//!   time. Web requests
//!   that failed (HTTP status ≥ 400) take no part in host joins: a botnet's 404s next to an
//!   intrusion are not part of it.
//!
//! **Informational detections** (a logoff, a service ticket) are context, not evidence: they
//! take no part in the joins above; each attaches to the nearest detection of level low or
//! above it shares a key with within the host gap, so it can never bridge two incidents. The
//! rest group among themselves, and by rule and host.
//!
//! **Routine.** A detection repeated with the same rule, host and entities on at least
//! [`IncidentOptions::routine_min_days`] days (a reporting job's RC4 ticket every 15 minutes,
//! a nightly backup, a web shell's daily keep-alive) takes no part in host joins; it still
//! joins through its entities.
//!
//! **Hubs.** A key seen in at least [`IncidentOptions::hub_min_detections`] detections on at
//! least [`IncidentOptions::hub_min_hosts`] distinct hosts (a domain controller's address, an
//! authorised scanner, an administrator's account used everywhere) would glue unrelated
//! clusters together; it is not used for joining (it is still listed as an entity). The hubs
//! found are reported by [`correlate`].
//!
//! # Tactics
//!
//! A detection carries technique ids only. Each technique's tactics come from the knowledge
//! base. A technique with one tactic is *definite* (T1021.002: lateral movement); the
//! detection goes under the latest definite tactic of its techniques. When all its techniques
//! are ambiguous (T1078.002: initial access, persistence, privilege escalation, defense
//! evasion), its candidates are the tactics its techniques share (or all of them when they
//! share none), and it goes under the latest candidate that some detection of the same
//! incident has as a definite tactic (consistency with the others), else under its latest
//! candidate. Detections without techniques (indicator hits, most correlations) have no tactic.
//!
//! # Severity
//!
//! Only *effective* detections raise severity: level medium or above, and not a web request
//! that failed (HTTP status ≥ 400). From the effective ones:
//!
//! * **critical**: ≥ 4 tactics, including credential access, lateral movement or
//!   exfiltration, with a high or critical detection, and hands-on activity on ≥ 2 hosts
//!   (an effective detection of something done on the host — a process, a logon, a file —
//!   not only a web request it served, unless that request hit a web shell);
//! * **high**: ≥ 3 tactics with a high or critical detection;
//! * **medium**: a high or critical detection, or medium detections of ≥ 2 different rules;
//! * **low**: anything else at level low or above (failed web requests included);
//! * **informational**: only informational detections.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, TimeDelta, Utc};
use tiaki::Detection;
use tiaki_intel::kb::KnowledgeBase;
use tiaki_sigma::Level;

use crate::entities::{EntityRules, Extracted, is_internal, text};
use crate::model::{Entity, EntityKind, Incident, IncidentEvent, Link, Phase, Severity};

/// ATT&CK Enterprise tactics in kill-chain order: (short name, display name).
pub const TACTICS: &[(&str, &str)] = &[
    ("reconnaissance", "Reconnaissance"),
    ("resource-development", "Resource Development"),
    ("initial-access", "Initial Access"),
    ("execution", "Execution"),
    ("persistence", "Persistence"),
    ("privilege-escalation", "Privilege Escalation"),
    ("defense-evasion", "Defense Evasion"),
    ("credential-access", "Credential Access"),
    ("discovery", "Discovery"),
    ("lateral-movement", "Lateral Movement"),
    ("collection", "Collection"),
    ("command-and-control", "Command and Control"),
    ("exfiltration", "Exfiltration"),
    ("impact", "Impact"),
];

/// The tactics whose presence makes a multi-stage incident critical.
pub const DECISIVE_TACTICS: &[&str] = &["credential-access", "lateral-movement", "exfiltration"];

/// Position of a tactic in kill-chain order (unknown tactics last).
pub fn tactic_rank(short: &str) -> usize {
    TACTICS
        .iter()
        .position(|(s, _)| *s == short)
        .unwrap_or(TACTICS.len())
}

/// Display name of a tactic (`initial-access` → `Initial Access`).
pub fn tactic_name(short: &str) -> String {
    TACTICS
        .iter()
        .find(|(s, _)| *s == short)
        .map(|(_, n)| n.to_string())
        .unwrap_or_else(|| short.to_string())
}

/// How detections are grouped.
#[derive(Debug, Clone)]
pub struct IncidentOptions {
    /// Largest gap between two detections sharing a strong entity (default 7 days).
    pub window: TimeDelta,
    /// Largest gap between two detections on the same host sharing nothing else
    /// (default 2 hours).
    pub host_gap: TimeDelta,
    /// Largest gap between a detection that names another host (a logon from it, a UNC path
    /// to it, an address of it) and a detection on that host (default 15 minutes).
    pub peer_gap: TimeDelta,
    /// A detection repeated (same rule, host and entities) on at least this many days is
    /// routine: it takes no part in host joins (0 turns this off; default 4).
    pub routine_min_days: usize,
    /// A key is a hub (not joined on) when it is in at least this many detections…
    pub hub_min_detections: usize,
    /// …on at least this many distinct hosts.
    pub hub_min_hosts: usize,
    /// Most links kept per incident (strongest first).
    pub max_links: usize,
    /// Entities never joined on (an allow-listed scanner, say), besides the hubs found.
    pub ignore: Vec<Entity>,
    /// Known addresses of hosts (an asset inventory: `172.16.10.30` → `PDO-RAG01`), added to
    /// what the logs teach (`s-ip`, a logon's `WorkstationName`).
    pub host_addresses: BTreeMap<String, String>,
    /// Join indicator hits whose indicators name the same intrusion set (within `window`):
    /// the feed says both values are the same actor's (default true).
    pub join_by_intrusion_set: bool,
}

impl Default for IncidentOptions {
    fn default() -> Self {
        IncidentOptions {
            window: TimeDelta::days(7),
            host_gap: TimeDelta::hours(2),
            peer_gap: TimeDelta::minutes(15),
            routine_min_days: 4,
            hub_min_detections: 40,
            hub_min_hosts: 8,
            max_links: 40,
            ignore: Vec::new(),
            host_addresses: BTreeMap::new(),
            join_by_intrusion_set: true,
        }
    }
}

/// The incidents and what grouping learned on the way.
#[derive(Debug, Clone, Default)]
pub struct Correlation {
    /// Incidents, most severe first, then by first activity.
    pub incidents: Vec<Incident>,
    /// Keys not joined on because they were hubs.
    pub hubs: Vec<Entity>,
    /// Addresses learned to belong to hosts (`s-ip`, a logon's `WorkstationName`).
    pub address_hosts: BTreeMap<String, String>,
}

/// Groups detections into incidents (see the module documentation for the rules).
pub fn build_incidents(
    detections: &[Detection],
    kb: &KnowledgeBase,
    options: &IncidentOptions,
) -> Vec<Incident> {
    correlate(detections, kb, options).incidents
}

/// One detection, prepared.
pub(crate) struct Prepared {
    pub x: Extracted,
    pub time: Option<DateTime<Utc>>,
    pub level: Level,
    pub failed_web: bool,
    /// Candidate tactics (kill-chain order).
    pub candidates: Vec<String>,
    /// Tactics of the detection's techniques that have only one (kill-chain order).
    pub definite: Vec<String>,
}

impl Prepared {
    /// Raises severity: medium or above and not a failed web request.
    pub fn effective(&self) -> bool {
        self.level >= Level::Medium && !self.failed_web
    }

    /// Something done on the host, not only a request it served (unless to a web shell).
    pub fn on_host(&self) -> bool {
        self.x.http_status.is_none()
            || self
                .x
                .entities
                .iter()
                .any(|e| e.kind == EntityKind::WebShell)
    }
}

pub(crate) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Candidate tactics of a detection's techniques (the ones all techniques share, else all),
/// and the tactics of its techniques that have only one.
fn candidates(kb: &KnowledgeBase, techniques: &[String]) -> (Vec<String>, Vec<String>) {
    let mut sets: Vec<BTreeSet<String>> = Vec::new();
    for t in techniques {
        let Some(id) = kb.by_external_id(t) else {
            continue;
        };
        let mut tactics = kb.object(id).tactics.clone();
        if tactics.is_empty()
            && let Some(p) = kb.parent_technique(id)
        {
            tactics = kb.object(p).tactics.clone();
        }
        if !tactics.is_empty() {
            sets.push(tactics.into_iter().collect());
        }
    }
    let mut definite: Vec<String> = sets
        .iter()
        .filter(|s| s.len() == 1)
        .flatten()
        .cloned()
        .collect();
    definite.sort_by_key(|t| tactic_rank(t));
    definite.dedup();
    let Some(first) = sets.first() else {
        return (Vec::new(), Vec::new());
    };
    let common: BTreeSet<String> = sets.iter().skip(1).fold(first.clone(), |acc, s| {
        acc.intersection(s).cloned().collect()
    });
    let chosen: BTreeSet<String> = if common.is_empty() {
        sets.into_iter().flatten().collect()
    } else {
        common
    };
    let mut v: Vec<String> = chosen.into_iter().collect();
    v.sort_by_key(|t| tactic_rank(t));
    (v, definite)
}

pub(crate) fn prepare(detections: &[Detection], kb: &KnowledgeBase) -> Vec<Prepared> {
    let rules = EntityRules::embedded();
    detections
        .iter()
        .map(|d| {
            let x = rules.extract(d);
            let (candidates, definite) = candidates(kb, &d.attack);
            Prepared {
                time: d.timestamp.as_deref().and_then(parse_time),
                level: d.level.unwrap_or(Level::Informational),
                failed_web: x.http_status.is_some_and(|s| s >= 400),
                candidates,
                definite,
                x,
            }
        })
        .collect()
}

struct Dsu(Vec<usize>);

impl Dsu {
    fn find(&mut self, mut i: usize) -> usize {
        while self.0[i] != i {
            self.0[i] = self.0[self.0[i]];
            i = self.0[i];
        }
        i
    }
    fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            // Keep the smaller index as root: deterministic.
            let (lo, hi) = if a < b { (a, b) } else { (b, a) };
            self.0[hi] = lo;
        }
    }
}

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Key {
    Entity(Entity),
    LocalAccount(String, String),
    Guid(String),
    Record(String),
    IntrusionSet(String),
    /// Informational detections only: the same rule on the same host.
    RuleHost(String, String),
    Host(String),
}

/// Groups detections and reports the hubs (see the module documentation).
pub fn correlate(
    detections: &[Detection],
    kb: &KnowledgeBase,
    options: &IncidentOptions,
) -> Correlation {
    let prepared = prepare(detections, kb);
    let (groups, hubs, address_hosts) = group(detections, &prepared, options);
    let mut incidents: Vec<Incident> = groups
        .iter()
        .map(|members| assemble(detections, &prepared, members, kb, options))
        .collect();
    // Ids by first activity, then most severe first.
    incidents.sort_by_key(|a| time_key(&a.first_seen));
    for (i, inc) in incidents.iter_mut().enumerate() {
        inc.id = format!("INC-{:03}", i + 1);
    }
    incidents.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| time_key(&a.first_seen).cmp(&time_key(&b.first_seen)))
            .then_with(|| a.id.cmp(&b.id))
    });
    Correlation {
        incidents,
        hubs,
        address_hosts,
    }
}

fn time_key(t: &Option<String>) -> (bool, Option<DateTime<Utc>>) {
    let p = t.as_deref().and_then(parse_time);
    (p.is_none(), p)
}

type Groups = (Vec<Vec<usize>>, Vec<Entity>, BTreeMap<String, String>);

/// How a key joins.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Join {
    /// Consecutive occurrences within this gap.
    Strong(TimeDelta),
    /// The detection happened on the host.
    Own,
    /// The detection names the host (logon source, UNC path, an address of it).
    Peer,
}

fn group(detections: &[Detection], prepared: &[Prepared], options: &IncidentOptions) -> Groups {
    // Which host each address belongs to: the most frequent claim wins.
    let mut claims: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for p in prepared {
        for (ip, h) in &p.x.address_hosts {
            *claims
                .entry(ip.clone())
                .or_default()
                .entry(h.clone())
                .or_default() += 1;
        }
    }
    let mut address_hosts: BTreeMap<String, String> = claims
        .into_iter()
        .filter_map(|(ip, hs)| {
            hs.into_iter()
                .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
                .map(|(h, _)| (ip, h))
        })
        .collect();
    for (ip, h) in &options.host_addresses {
        if let (Some(ip), Some(h)) = (
            crate::entities::normalize_address(ip),
            crate::entities::normalize_host(h),
        ) {
            address_hosts.insert(ip, h);
        }
    }

    let record = |s: &tiaki::SourceRef| match (s.record_id, s.line) {
        (Some(r), _) => format!("{}#{r}", s.path),
        (None, Some(l)) => format!("{}:{l}", s.path),
        _ => s.path.clone(),
    };
    let routine = routine(detections, prepared, options);

    // The keys of each detection.
    let mut keys: Vec<Vec<(Key, Join)>> = Vec::with_capacity(detections.len());
    for (i, (d, p)) in detections.iter().zip(prepared).enumerate() {
        let own = p.x.host.as_deref();
        let mut k: Vec<(Key, Join)> = Vec::new();
        let strong = Join::Strong(options.window);
        let mut peer_hosts: BTreeSet<String> = p.x.peer_hosts.iter().cloned().collect();
        for e in &p.x.entities {
            match e.kind {
                EntityKind::Host => continue,
                EntityKind::Account if p.x.local_accounts.contains(&e.value) => {
                    if let Some(h) = own {
                        k.push((Key::LocalAccount(h.to_string(), e.value.clone()), strong));
                    }
                    continue;
                }
                EntityKind::Address if is_internal(&e.value) => {
                    // An internal address of a known host stands for that host.
                    if let Some(h) = address_hosts.get(&e.value) {
                        if Some(h.as_str()) != own {
                            peer_hosts.insert(h.clone());
                        }
                        continue;
                    }
                }
                _ => {}
            }
            if options.ignore.contains(e) {
                continue;
            }
            let j = if e.kind == EntityKind::WebShell {
                Join::Strong(TimeDelta::MAX)
            } else {
                strong
            };
            k.push((Key::Entity(e.clone()), j));
        }
        for g in &p.x.guids {
            k.push((Key::Guid(g.clone()), Join::Strong(TimeDelta::MAX)));
        }
        if d.source.record_id.is_some() || d.source.line.is_some() {
            k.push((Key::Record(record(&d.source)), Join::Strong(TimeDelta::MAX)));
        }
        if let Some(c) = &d.correlation {
            for s in &c.sources {
                k.push((Key::Record(record(s)), Join::Strong(TimeDelta::MAX)));
            }
        }
        if options.join_by_intrusion_set
            && let Some(ind) = &d.indicator
        {
            let sets: BTreeSet<String> = ind
                .intrusion_sets
                .iter()
                .chain(ind.intrusion_set.iter())
                .map(|s| s.trim().to_lowercase())
                .filter(|s| !s.is_empty())
                .collect();
            for set in sets {
                k.push((Key::IntrusionSet(set), strong));
            }
        }
        // Informational detections left alone group by rule and host (pass 3).
        if p.level < Level::Low {
            k.push((
                Key::RuleHost(
                    d.rule_id.clone().unwrap_or_else(|| d.rule_title.clone()),
                    own.unwrap_or("").to_string(),
                ),
                Join::Strong(TimeDelta::MAX),
            ));
        }
        // Failed web requests and routine detections take no part in host joins.
        if !p.failed_web && !routine[i] {
            if let Some(h) = own {
                k.push((Key::Host(h.to_string()), Join::Own));
            }
            for h in peer_hosts {
                if Some(h.as_str()) != own {
                    k.push((Key::Host(h), Join::Peer));
                }
            }
        }
        keys.push(k);
    }

    // Hubs: entities in many detections on many hosts.
    let mut occ: HashMap<&Key, Vec<usize>> = HashMap::new();
    for (i, k) in keys.iter().enumerate() {
        for (key, _) in k {
            occ.entry(key).or_default().push(i);
        }
    }
    let mut hub_keys: BTreeSet<Key> = BTreeSet::new();
    for (key, o) in &occ {
        let Key::Entity(e) = key else { continue };
        if e.kind == EntityKind::WebShell {
            continue;
        }
        // Where each occurrence comes from: its host, or (sensor logs) its other addresses.
        let distinct: BTreeSet<&str> = o
            .iter()
            .flat_map(|&i| {
                let x = &prepared[i].x;
                let from: Vec<&str> = match &x.host {
                    Some(h) => vec![h.as_str()],
                    None => x
                        .entities
                        .iter()
                        .filter(|f| f.kind == EntityKind::Address && f != &e)
                        .map(|f| f.value.as_str())
                        .collect(),
                };
                from
            })
            .collect();
        if o.len() >= options.hub_min_detections && distinct.len() >= options.hub_min_hosts {
            hub_keys.insert((*key).clone());
        }
    }
    let hubs: Vec<Entity> = hub_keys
        .iter()
        .filter_map(|k| match k {
            Key::Entity(e) => Some(e.clone()),
            _ => None,
        })
        .collect();
    drop(occ);
    for k in &mut keys {
        k.retain(|(key, _)| !hub_keys.contains(key));
    }

    let n = detections.len();
    let signal: Vec<bool> = prepared.iter().map(|p| p.level >= Level::Low).collect();
    let mut dsu = Dsu((0..n).collect());
    // Pass 1: detections at level low or above.
    join_pass(&keys, prepared, options, &mut dsu, |i| signal[i]);
    // Pass 2: an informational detection attaches to the nearest signal detection it shares a
    // key with (within the host gap); it never bridges two incidents.
    let mut by_key: HashMap<&Key, Vec<(DateTime<Utc>, usize)>> = HashMap::new();
    for (i, k) in keys.iter().enumerate() {
        if let (true, Some(t)) = (signal[i], prepared[i].time) {
            for (key, _) in k {
                by_key.entry(key).or_default().push((t, i));
            }
        }
    }
    for v in by_key.values_mut() {
        v.sort();
    }
    let mut attached = vec![false; n];
    for i in (0..n).filter(|&i| !signal[i]) {
        let Some(ti) = prepared[i].time else { continue };
        let mut best: Option<(TimeDelta, usize)> = None;
        for (key, _) in &keys[i] {
            let Some(v) = by_key.get(key) else { continue };
            // The occurrences either side of `ti` are the nearest.
            let pos = v.partition_point(|&(t, _)| t < ti);
            for &(tj, j) in [pos.checked_sub(1), Some(pos)]
                .into_iter()
                .flatten()
                .filter_map(|p| v.get(p))
            {
                let gap = (ti - tj).abs();
                if gap <= options.host_gap && best.is_none_or(|(g, b)| (gap, j) < (g, b)) {
                    best = Some((gap, j));
                }
            }
        }
        if let Some((_, j)) = best {
            dsu.union(i, j);
            attached[i] = true;
        }
    }
    // Pass 3: the other informational detections group among themselves (and by rule and
    // host, so that a day of logoffs is one informational incident, not hundreds).
    join_pass(&keys, prepared, options, &mut dsu, |i| {
        !signal[i] && !attached[i]
    });

    let mut by_root: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..n {
        let r = dsu.find(i);
        by_root.entry(r).or_default().push(i);
    }
    (by_root.into_values().collect(), hubs, address_hosts)
}

/// Joins the detections `take` selects through their keys.
fn join_pass(
    keys: &[Vec<(Key, Join)>],
    prepared: &[Prepared],
    options: &IncidentOptions,
    dsu: &mut Dsu,
    take: impl Fn(usize) -> bool,
) {
    let mut occ: BTreeMap<&Key, Vec<(usize, Join)>> = BTreeMap::new();
    for (i, k) in keys.iter().enumerate() {
        if take(i) {
            for (key, j) in k {
                occ.entry(key).or_default().push((i, *j));
            }
        }
    }
    for (_, mut o) in occ {
        o.sort_by_key(|&(i, _)| (prepared[i].time.is_none(), prepared[i].time, i));
        // Strong keys: consecutive occurrences within the gap; untimed ones join the first.
        let strong: Vec<(usize, TimeDelta)> = o
            .iter()
            .filter_map(|&(i, j)| match j {
                Join::Strong(g) => Some((i, g)),
                _ => None,
            })
            .collect();
        let mut prev: Option<(usize, DateTime<Utc>)> = None;
        for &(i, gap) in &strong {
            match prepared[i].time {
                Some(t) => {
                    if let Some((p, tp)) = prev
                        && t - tp <= gap
                    {
                        dsu.union(i, p);
                    }
                    prev = Some((i, t));
                }
                None => {
                    if let Some(&(first, _)) = strong.first()
                        && first != i
                    {
                        dsu.union(i, first);
                    }
                }
            }
        }
        // Host keys: own occurrences within the host gap of each other; a peer occurrence
        // joins the nearest own occurrence within the peer gap.
        let own: Vec<(usize, DateTime<Utc>)> = o
            .iter()
            .filter(|(_, j)| *j == Join::Own)
            .filter_map(|&(i, _)| prepared[i].time.map(|t| (i, t)))
            .collect();
        for w in own.windows(2) {
            if w[1].1 - w[0].1 <= options.host_gap {
                dsu.union(w[0].0, w[1].0);
            }
        }
        for &(i, j) in &o {
            if j != Join::Peer {
                continue;
            }
            let Some(t) = prepared[i].time else { continue };
            let pos = own.partition_point(|&(_, to)| to < t);
            let near = [pos.checked_sub(1), Some(pos)]
                .into_iter()
                .flatten()
                .filter_map(|p| own.get(p))
                .min_by_key(|&&(_, to)| (to - t).abs());
            if let Some(&(o_i, to)) = near
                && (to - t).abs() <= options.peer_gap
            {
                dsu.union(i, o_i);
            }
        }
    }
}

/// Detections that are part of a host's routine: the same rule on the same host with the same
/// entities on at least `routine_min_days` different days (a reporting job's RC4 ticket every
/// 15 minutes, a nightly backup). They still join through their entities, never through their
/// host.
fn routine(
    detections: &[Detection],
    prepared: &[Prepared],
    options: &IncidentOptions,
) -> Vec<bool> {
    type Series<'a> = (&'a str, Option<&'a str>, Vec<&'a Entity>);
    let mut days: HashMap<Series<'_>, BTreeSet<chrono::NaiveDate>> = HashMap::new();
    let sig = |i: usize| -> Series<'_> {
        let d = &detections[i];
        let p = &prepared[i];
        (
            d.rule_id.as_deref().unwrap_or(&d.rule_title),
            p.x.host.as_deref(),
            p.x.entities
                .iter()
                .filter(|e| e.kind != EntityKind::Host)
                .collect(),
        )
    };
    for (i, p) in prepared.iter().enumerate() {
        if let Some(t) = p.time {
            days.entry(sig(i)).or_default().insert(t.date_naive());
        }
    }
    (0..detections.len())
        .map(|i| {
            options.routine_min_days > 0
                && days
                    .get(&sig(i))
                    .is_some_and(|d| d.len() >= options.routine_min_days)
        })
        .collect()
}

/// Places each member under a tactic (see the module documentation).
fn place_tactics(prepared: &[Prepared], members: &[usize]) -> HashMap<usize, String> {
    let anchored: BTreeSet<&str> = members
        .iter()
        .flat_map(|&i| prepared[i].definite.iter().map(String::as_str))
        .collect();
    let mut out = HashMap::new();
    for &i in members {
        let c = &prepared[i].candidates;
        let pick = prepared[i].definite.last().or_else(|| {
            c.iter()
                .rev()
                .find(|t| anchored.contains(t.as_str()))
                .or_else(|| c.last())
        });
        if let Some(t) = pick {
            out.insert(i, t.clone());
        }
    }
    out
}

/// One line saying what happened.
pub(crate) fn summary(d: &Detection) -> String {
    let ev = &d.event;
    let f = |k: &str| text(ev, k).map(|v| v.into_owned());
    let s = if let Some(cl) = f("CommandLine") {
        cl
    } else if let Some(uri) = f("cs-uri-stem") {
        let mut s = format!("{} {uri}", f("cs-method").unwrap_or_else(|| "GET".into()));
        if let Some(q) = f("cs-uri-query").filter(|q| q != "-") {
            s.push('?');
            s.push_str(&q);
        }
        if let Some(c) = f("c-ip") {
            s.push_str(&format!(" from {c}"));
        }
        if let Some(st) = f("sc-status").or_else(|| f("status")) {
            s.push_str(&format!(" → {st}"));
        }
        s
    } else if let Some(sb) = f("ScriptBlockText") {
        sb
    } else if let Some(svc) = f("ServiceName").filter(|_| ev.contains_key("TicketEncryptionType")) {
        format!(
            "Kerberos service ticket for {svc} requested by {} (encryption {}) from {}",
            f("TargetUserName").unwrap_or_else(|| "?".into()),
            f("TicketEncryptionType").unwrap_or_else(|| "?".into()),
            f("IpAddress").unwrap_or_else(|| "?".into())
        )
    } else if let (Some(user), Some(lt)) = (f("TargetUserName"), f("LogonType")) {
        format!(
            "logon type {lt} of {user} from {}",
            f("IpAddress").unwrap_or_else(|| "?".into())
        )
    } else if let Some(rn) = f("RuleName").filter(|r| r != "-") {
        let ports = f("LocalPorts")
            .map(|p| format!(" ports {p}"))
            .unwrap_or_default();
        format!("firewall rule {rn}{ports}")
    } else if let Some(svc) = f("ServiceName") {
        format!(
            "service {svc} ({})",
            f("ImagePath").unwrap_or_else(|| "?".into())
        )
    } else if let Some(t) = f("TargetFilename") {
        format!(
            "{} wrote {t}",
            f("Image").unwrap_or_else(|| "a process".into())
        )
    } else if let (Some(src), Some(tgt)) = (f("SourceImage"), f("TargetImage")) {
        format!("{src} opened {tgt}")
    } else if let Some(q) = f("QueryName") {
        format!("DNS query {q}")
    } else if let Some(ind) = &d.indicator {
        format!(
            "{} matched {}",
            ind.value,
            ind.field.as_deref().unwrap_or("the event")
        )
    } else if let Some(c) = &d.correlation {
        format!("{} ({} records)", c.rules.join(" then "), c.events_total)
    } else if let Some(m) = f("message") {
        m
    } else {
        d.rule_title.clone()
    };
    truncate(&s.replace(['\r', '\n'], " "), 240)
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

/// Counts, most frequent first, ties by value.
fn ranked(counts: BTreeMap<String, usize>) -> Vec<String> {
    let mut v: Vec<(String, usize)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.into_iter().map(|(k, _)| k).collect()
}

fn assemble(
    detections: &[Detection],
    prepared: &[Prepared],
    members: &[usize],
    kb: &KnowledgeBase,
    options: &IncidentOptions,
) -> Incident {
    let mut members = members.to_vec();
    members.sort_by_key(|&i| (prepared[i].time.is_none(), prepared[i].time, i));
    let tactics = place_tactics(prepared, &members);

    let first = members.iter().find_map(|&i| prepared[i].time);
    let last = members.iter().filter_map(|&i| prepared[i].time).max();
    let fmt = |t: Option<DateTime<Utc>>| t.map(|t| tiaki::detection::rfc3339(&t));

    let mut host_counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut peer: BTreeSet<String> = BTreeSet::new();
    let mut accounts: BTreeMap<String, usize> = BTreeMap::new();
    let mut addresses: BTreeMap<String, usize> = BTreeMap::new();
    let mut shells: BTreeSet<String> = BTreeSet::new();
    let mut techniques: BTreeSet<String> = BTreeSet::new();
    let mut events = Vec::new();
    let mut link_counts: BTreeMap<(Entity, Entity), usize> = BTreeMap::new();
    for &i in &members {
        let d = &detections[i];
        let p = &prepared[i];
        if let Some(h) = &p.x.host {
            *host_counts.entry(h.clone()).or_default() += 1;
        }
        peer.extend(p.x.peer_hosts.iter().cloned());
        for e in p.x.entities.iter().chain(&p.x.weak) {
            match e.kind {
                EntityKind::Account => *accounts.entry(e.value.clone()).or_default() += 1,
                EntityKind::Address => *addresses.entry(e.value.clone()).or_default() += 1,
                EntityKind::WebShell => {
                    shells.insert(e.value.clone());
                }
                _ => {}
            }
        }
        techniques.extend(d.attack.iter().cloned());
        let ents = &p.x.entities;
        for a in 0..ents.len() {
            for b in a + 1..ents.len() {
                *link_counts
                    .entry((ents[a].clone(), ents[b].clone()))
                    .or_default() += 1;
            }
        }
        let mut all = ents.clone();
        all.extend(p.x.weak.iter().cloned());
        all.extend(p.x.peer_hosts.iter().map(|h| Entity {
            kind: EntityKind::Host,
            value: h.clone(),
        }));
        all.sort();
        all.dedup();
        events.push(IncidentEvent {
            index: i,
            kind: d.kind.as_str().to_string(),
            rule_id: d.rule_id.clone(),
            rule_title: d.rule_title.clone(),
            level: d.level.map(|l| l.as_str().to_string()),
            timestamp: d.timestamp.clone(),
            host: p.x.host.clone(),
            attack: d.attack.clone(),
            tactic: tactics.get(&i).cloned(),
            source: d.source.clone(),
            entities: all,
            summary: summary(d),
        });
    }
    let mut hosts = ranked(host_counts);
    for h in peer {
        if !hosts.contains(&h) {
            hosts.push(h);
        }
    }
    let accounts = ranked(accounts);
    // External addresses first, then by count.
    let mut addresses: Vec<(String, usize)> = addresses.into_iter().collect();
    addresses.sort_by(|a, b| {
        is_internal(&a.0)
            .cmp(&is_internal(&b.0))
            .then_with(|| b.1.cmp(&a.1))
            .then_with(|| a.0.cmp(&b.0))
    });
    let addresses: Vec<String> = addresses.into_iter().map(|(a, _)| a).collect();

    // Phases.
    let mut by_tactic: BTreeMap<usize, Phase> = BTreeMap::new();
    for &i in &members {
        let Some(t) = tactics.get(&i) else { continue };
        let d = &detections[i];
        let ph = by_tactic.entry(tactic_rank(t)).or_insert_with(|| Phase {
            tactic: t.clone(),
            name: tactic_name(t),
            first: None,
            last: None,
            techniques: Vec::new(),
            detections: 0,
        });
        ph.detections += 1;
        if let Some(ts) = prepared[i].time {
            let s = tiaki::detection::rfc3339(&ts);
            if ph
                .first
                .as_deref()
                .and_then(parse_time)
                .is_none_or(|f| ts < f)
            {
                ph.first = Some(s.clone());
            }
            if ph
                .last
                .as_deref()
                .and_then(parse_time)
                .is_none_or(|l| ts > l)
            {
                ph.last = Some(s);
            }
        }
        // The techniques of this detection that belong to the tactic (all, if none say so).
        let own: Vec<&String> = d
            .attack
            .iter()
            .filter(|tech| {
                kb.by_external_id(tech)
                    .is_some_and(|id| kb.object(id).tactics.iter().any(|x| x == t))
            })
            .collect();
        let chosen: Vec<&String> = if own.is_empty() {
            d.attack.iter().collect()
        } else {
            own
        };
        for tech in chosen {
            if !ph.techniques.contains(tech) {
                ph.techniques.push(tech.clone());
            }
        }
    }
    let mut phases: Vec<Phase> = by_tactic.into_values().collect();
    for p in &mut phases {
        p.techniques.sort();
    }

    let (severity, severity_reasons) = rate(detections, prepared, &members, &tactics);

    let mut links: Vec<Link> = link_counts
        .into_iter()
        .map(|((from, to), weight)| Link { from, to, weight })
        .collect();
    links.sort_by(|a, b| {
        b.weight
            .cmp(&a.weight)
            .then_with(|| a.from.cmp(&b.from))
            .then_with(|| a.to.cmp(&b.to))
    });
    links.truncate(options.max_links);

    let mut inc = Incident {
        id: String::new(),
        title: String::new(),
        severity,
        severity_reasons,
        first_seen: fmt(first),
        last_seen: fmt(last),
        hosts,
        accounts,
        addresses,
        web_shells: shells.into_iter().collect(),
        techniques: techniques.into_iter().collect(),
        phases,
        events,
        links,
        narrative: String::new(),
    };
    inc.title = title(&inc);
    inc.narrative = narrative(&inc, kb);
    inc
}

/// Severity from facts (see the module documentation), with the facts used.
fn rate(
    detections: &[Detection],
    prepared: &[Prepared],
    members: &[usize],
    tactics: &HashMap<usize, String>,
) -> (Severity, Vec<String>) {
    let eff: Vec<usize> = members
        .iter()
        .copied()
        .filter(|&i| prepared[i].effective())
        .collect();
    let failed = members.iter().filter(|&&i| prepared[i].failed_web).count();
    let low_only = members
        .iter()
        .filter(|&&i| !prepared[i].failed_web && prepared[i].level < Level::Medium)
        .count();
    let mut eff_tactics: Vec<&str> = eff
        .iter()
        .filter_map(|i| tactics.get(i).map(String::as_str))
        .collect();
    eff_tactics.sort_by_key(|t| tactic_rank(t));
    eff_tactics.dedup();
    let high: Vec<usize> = eff
        .iter()
        .copied()
        .filter(|&i| prepared[i].level >= Level::High)
        .collect();
    // Hands-on hosts: something was done on them (a process, a logon, a file), not only a
    // request they served, unless the request hit a web shell.
    let eff_hosts: BTreeSet<&str> = eff
        .iter()
        .filter(|&&i| prepared[i].on_host())
        .filter_map(|&i| prepared[i].x.host.as_deref())
        .collect();
    let decisive: Vec<&str> = eff_tactics
        .iter()
        .copied()
        .filter(|t| DECISIVE_TACTICS.contains(t))
        .collect();
    let medium_rules: BTreeSet<&str> = eff
        .iter()
        .filter(|&&i| prepared[i].level == Level::Medium)
        .map(|&i| detections[i].rule_title.as_str())
        .collect();

    let names = |ts: &[&str]| {
        ts.iter()
            .map(|t| tactic_name(t))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut reasons = Vec::new();
    let sev = if eff_tactics.len() >= 4
        && !decisive.is_empty()
        && !high.is_empty()
        && eff_hosts.len() >= 2
    {
        reasons.push(format!(
            "{} ATT&CK tactics ({}), including {}",
            eff_tactics.len(),
            names(&eff_tactics),
            names(&decisive)
        ));
        reasons.push(format!("{} high or critical detection(s)", high.len()));
        reasons.push(format!(
            "hands-on activity on {} hosts ({})",
            eff_hosts.len(),
            eff_hosts.iter().copied().collect::<Vec<_>>().join(", ")
        ));
        Severity::Critical
    } else if eff_tactics.len() >= 3 && !high.is_empty() {
        reasons.push(format!(
            "{} ATT&CK tactics ({})",
            eff_tactics.len(),
            names(&eff_tactics)
        ));
        reasons.push(format!("{} high or critical detection(s)", high.len()));
        if decisive.is_empty() {
            reasons.push("no credential access, lateral movement or exfiltration".into());
        } else if eff_hosts.len() < 2 {
            reasons.push("confined to one host".into());
        } else {
            reasons.push("fewer than 4 tactics".into());
        }
        Severity::High
    } else if !high.is_empty() {
        let titles: BTreeSet<&str> = high
            .iter()
            .map(|&i| detections[i].rule_title.as_str())
            .collect();
        reasons.push(format!(
            "{} high or critical detection(s): {}",
            high.len(),
            titles.into_iter().collect::<Vec<_>>().join("; ")
        ));
        reasons.push(format!(
            "{} tactic(s){}",
            eff_tactics.len(),
            if eff_tactics.is_empty() {
                String::new()
            } else {
                format!(" ({})", names(&eff_tactics))
            }
        ));
        Severity::Medium
    } else if medium_rules.len() >= 2 {
        reasons.push(format!(
            "medium detections of {} rules: {}",
            medium_rules.len(),
            medium_rules.iter().copied().collect::<Vec<_>>().join("; ")
        ));
        Severity::Medium
    } else if members.iter().any(|&i| prepared[i].level >= Level::Low) {
        if eff.is_empty() {
            reasons.push("only low or informational detections".into());
        } else {
            reasons.push(format!(
                "a single medium rule ({})",
                medium_rules.iter().copied().collect::<Vec<_>>().join("; ")
            ));
        }
        Severity::Low
    } else {
        reasons.push("only informational detections".into());
        Severity::Informational
    };
    if failed > 0 {
        reasons.push(format!(
            "{failed} failed web request(s) (HTTP status ≥ 400) not counted"
        ));
    }
    if low_only > 0 && sev > Severity::Low {
        reasons.push(format!(
            "{low_only} low or informational detection(s) not counted"
        ));
    }
    (sev, reasons)
}

fn title(inc: &Incident) -> String {
    let host = inc
        .hosts
        .first()
        .map(String::as_str)
        .unwrap_or("an unknown host");
    let start = if !inc.web_shells.is_empty() {
        format!("Web shell on {host}")
    } else if inc.events.len() == 1 {
        format!("{} on {host}", inc.events[0].rule_title)
    } else {
        // The most frequent rule.
        let mut c: BTreeMap<&str, usize> = BTreeMap::new();
        for e in &inc.events {
            *c.entry(e.rule_title.as_str()).or_default() += 1;
        }
        let top = c
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(a.0)))
            .map(|(t, _)| t)
            .unwrap_or("Activity");
        format!("{top} on {host}")
    };
    let later: Vec<String> = inc
        .phases
        .iter()
        .filter(|p| DECISIVE_TACTICS.contains(&p.tactic.as_str()) || p.tactic == "impact")
        .map(|p| p.name.to_lowercase())
        .collect();
    let mut t = start;
    if !later.is_empty() && inc.phases.len() >= 2 {
        t.push_str(" leading to ");
        t.push_str(&join_and(&later));
    }
    if inc.hosts.len() > 1 {
        t.push_str(&format!(" ({} hosts)", inc.hosts.len()));
    }
    t
}

fn join_and(v: &[String]) -> String {
    match v.len() {
        0 => String::new(),
        1 => v[0].clone(),
        n => format!("{} and {}", v[..n - 1].join(", "), v[n - 1]),
    }
}

fn list_some(v: &[String], n: usize) -> String {
    if v.len() <= n {
        join_and(v)
    } else {
        format!("{} and {} more", v[..n].join(", "), v.len() - n)
    }
}

fn narrative(inc: &Incident, kb: &KnowledgeBase) -> String {
    let mut s = String::new();
    let n = inc.events.len();
    let when = match (&inc.first_seen, &inc.last_seen) {
        (Some(a), Some(b)) if a == b => format!("At {a}"),
        (Some(a), Some(b)) => format!("Between {a} and {b}"),
        _ => "At an unknown time".into(),
    };
    s.push_str(&format!(
        "{when}, {n} detection{} on {} host{} ({})",
        if n == 1 { "" } else { "s" },
        inc.hosts.len(),
        if inc.hosts.len() == 1 { "" } else { "s" },
        list_some(&inc.hosts, 8)
    ));
    if inc.phases.is_empty() {
        s.push_str(" carry no ATT&CK technique.");
    } else {
        let parts: Vec<String> = inc
            .phases
            .iter()
            .map(|p| {
                let techs: Vec<String> = p
                    .techniques
                    .iter()
                    .map(|t| match kb.by_external_id(t) {
                        Some(id) => format!("{t} {}", kb.object(id).name),
                        None => t.clone(),
                    })
                    .collect();
                format!("{} ({})", p.name, list_some(&techs, 4))
            })
            .collect();
        s.push_str(&format!(" progress through {}.", join_and(&parts)));
    }
    if !inc.web_shells.is_empty() {
        s.push_str(&format!(" Web shells: {}.", list_some(&inc.web_shells, 6)));
    }
    if !inc.accounts.is_empty() {
        s.push_str(&format!(" Accounts: {}.", list_some(&inc.accounts, 8)));
    }
    let external: Vec<String> = inc
        .addresses
        .iter()
        .filter(|a| !is_internal(a))
        .cloned()
        .collect();
    let internal: Vec<String> = inc
        .addresses
        .iter()
        .filter(|a| is_internal(a))
        .cloned()
        .collect();
    if !external.is_empty() {
        s.push_str(&format!(
            " External addresses: {}.",
            list_some(&external, 8)
        ));
    }
    if !internal.is_empty() {
        s.push_str(&format!(
            " Internal addresses: {}.",
            list_some(&internal, 8)
        ));
    }
    s.push_str(&format!(
        " Severity {}: {}.",
        inc.severity.as_str(),
        inc.severity_reasons.join("; ")
    ));
    s
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::{Value, json};

    pub fn det(
        title: &str,
        level: &str,
        ts: &str,
        host: &str,
        attack: &[&str],
        event: Value,
    ) -> Detection {
        static LINE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let line = LINE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        serde_json::from_value(json!({
            "rule_id": format!("id-{title}"), "rule_title": title, "level": level,
            "timestamp": ts, "host": host, "attack": attack,
            "source": {"path": format!("{host}.log"), "line": line},
            "event": event, "kind": "detection", "rule_path": "r.yml"
        }))
        .unwrap()
    }

    pub fn kb() -> KnowledgeBase {
        tiaki_intel::pack::LoadedKb::pack_only().unwrap().kb
    }

    fn ids(incs: &[Incident]) -> Vec<Vec<usize>> {
        let mut v: Vec<Vec<usize>> = incs
            .iter()
            .map(|i| {
                let mut e: Vec<usize> = i.events.iter().map(|e| e.index).collect();
                e.sort();
                e
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn shared_account_joins_across_hosts_and_days() {
        let d = vec![
            det(
                "a",
                "high",
                "2025-03-05T02:05:00Z",
                "PDO-DC01",
                &["T1558.003"],
                json!({"EventID": 4624, "TargetUserName": "svc_sqlrpt", "LogonType": 3}),
            ),
            det(
                "b",
                "high",
                "2025-03-10T02:12:00Z",
                "PDO-FS01",
                &["T1021.002"],
                json!({"EventID": 4624, "TargetUserName": "svc_sqlrpt", "LogonType": 3}),
            ),
            det(
                "c",
                "high",
                "2025-03-10T02:40:00Z",
                "PDO-WS001",
                &["T1059"],
                json!({"User": "PDO\\someone"}),
            ),
        ];
        let incs = build_incidents(&d, &kb(), &IncidentOptions::default());
        assert_eq!(ids(&incs), vec![vec![0, 1], vec![2]]);
    }

    #[test]
    fn shared_address_and_web_shell_join() {
        let d = vec![
            det(
                "upload",
                "high",
                "2025-03-03T02:31:44Z",
                "PDO-WEB01",
                &["T1190"],
                json!({"cs-method": "POST", "cs-uri-stem": "/drafts/Attachments/Upload.ashx", "c-ip": "203.0.113.45", "sc-status": "200", "s-ip": "172.16.10.21"}),
            ),
            det(
                "file",
                "high",
                "2025-03-03T02:31:45Z",
                "PDO-WEB01",
                &["T1505.003"],
                json!({"Image": "C:\\Windows\\System32\\inetsrv\\w3wp.exe", "TargetFilename": "C:\\inetpub\\wwwroot\\drafts\\Images\\thumbs\\spinner.aspx"}),
            ),
            // Five days later, another address, same web shell.
            det(
                "post",
                "high",
                "2025-03-08T02:00:00Z",
                "PDO-WEB01",
                &["T1505.003"],
                json!({"cs-method": "POST", "cs-uri-stem": "/drafts/Images/thumbs/spinner.aspx", "c-ip": "198.51.100.23", "sc-status": "200"}),
            ),
            // Same external address as the first, three days on.
            det(
                "dl",
                "high",
                "2025-03-06T03:00:00Z",
                "PDO-WEB01",
                &["T1041"],
                json!({"cs-method": "GET", "cs-uri-stem": "/drafts/x.dat", "c-ip": "203.0.113.45", "sc-status": "200"}),
            ),
        ];
        let incs = build_incidents(&d, &kb(), &IncidentOptions::default());
        assert_eq!(ids(&incs), vec![vec![0, 1, 2, 3]]);
        assert_eq!(
            incs[0].web_shells,
            vec!["/drafts/images/thumbs/spinner.aspx"]
        );
        assert_eq!(incs[0].addresses[0], "203.0.113.45");
    }

    #[test]
    fn shared_host_joins_only_within_the_gap() {
        let d = vec![
            det(
                "a",
                "medium",
                "2025-03-03T01:00:00Z",
                "PDO-WS001",
                &["T1082"],
                json!({}),
            ),
            det(
                "b",
                "medium",
                "2025-03-03T02:30:00Z",
                "PDO-WS001",
                &["T1016"],
                json!({}),
            ),
            det(
                "c",
                "medium",
                "2025-03-03T09:00:00Z",
                "PDO-WS001",
                &["T1033"],
                json!({}),
            ),
        ];
        let incs = build_incidents(&d, &kb(), &IncidentOptions::default());
        assert_eq!(ids(&incs), vec![vec![0, 1], vec![2]]);
        // Same account, beyond the window: split.
        let d = vec![
            det(
                "a",
                "high",
                "2025-03-01T01:00:00Z",
                "H1",
                &[],
                json!({"User": "PDO\\bob"}),
            ),
            det(
                "b",
                "high",
                "2025-03-20T01:00:00Z",
                "H2",
                &[],
                json!({"User": "PDO\\bob"}),
            ),
        ];
        let incs = build_incidents(&d, &kb(), &IncidentOptions::default());
        assert_eq!(incs.len(), 2);
    }

    #[test]
    fn hubs_do_not_glue() {
        // A scanner address seen on 10 hosts; two unrelated detections on two of them.
        let mut d = Vec::new();
        for h in 0..10 {
            for k in 0..5 {
                d.push(det(
                    "scan",
                    "low",
                    &format!("2025-03-04T13:{:02}:{k:02}Z", h),
                    &format!("H{h}"),
                    &[],
                    json!({"cs-uri-stem": "/x", "c-ip": "10.20.5.50", "sc-status": "404"}),
                ));
            }
        }
        let opts = IncidentOptions::default();
        let c = correlate(&d, &kb(), &opts);
        assert_eq!(
            c.hubs,
            vec![Entity {
                kind: EntityKind::Address,
                value: "10.20.5.50".into()
            }]
        );
        // Failed requests take no part in host joins, and the hub joins nothing: 50 incidents.
        assert_eq!(c.incidents.len(), 50);
        assert!(c.incidents.iter().all(|i| i.severity == Severity::Low));
        // Below the threshold the address joins them all.
        let opts = IncidentOptions {
            hub_min_hosts: 20,
            ..Default::default()
        };
        assert_eq!(correlate(&d, &kb(), &opts).incidents.len(), 1);
    }

    #[test]
    fn internal_address_of_another_host_points_to_it() {
        let d = vec![
            // WEB01's own address from IIS.
            det(
                "web",
                "high",
                "2025-03-10T02:00:00Z",
                "PDO-WEB01",
                &["T1505.003"],
                json!({"cs-method": "POST", "cs-uri-stem": "/a.aspx", "c-ip": "203.0.113.45", "sc-status": "200", "s-ip": "172.16.10.21"}),
            ),
            // A logon on FS01 from that address, ten minutes later.
            det(
                "logon",
                "high",
                "2025-03-10T02:10:00Z",
                "PDO-FS01",
                &["T1021.002"],
                json!({"TargetUserName": "svc_x", "IpAddress": "172.16.10.21", "LogonType": 3}),
            ),
        ];
        let incs = build_incidents(&d, &kb(), &IncidentOptions::default());
        assert_eq!(ids(&incs), vec![vec![0, 1]]);
        assert!(incs[0].hosts.contains(&"PDO-FS01".to_string()));
    }

    #[test]
    fn tactics_follow_the_kill_chain() {
        let d = vec![
            det(
                "lm",
                "high",
                "2025-03-10T02:12:00Z",
                "PDO-FS01",
                &["T1078.002", "T1021.002"],
                json!({"TargetUserName": "svc_sqlrpt"}),
            ),
            det(
                "recon",
                "medium",
                "2025-03-03T02:40:00Z",
                "PDO-FS01",
                &["T1082"],
                json!({"TargetUserName": "svc_sqlrpt"}),
            ),
            det(
                "exploit",
                "high",
                "2025-03-03T02:31:00Z",
                "PDO-FS01",
                &["T1190"],
                json!({"TargetUserName": "svc_sqlrpt"}),
            ),
            det(
                "valid",
                "high",
                "2025-03-10T02:13:00Z",
                "PDO-FS01",
                &["T1078.002"],
                json!({"TargetUserName": "svc_sqlrpt"}),
            ),
        ];
        let incs = build_incidents(&d, &kb(), &IncidentOptions::default());
        assert_eq!(incs.len(), 1);
        let names: Vec<&str> = incs[0].phases.iter().map(|p| p.tactic.as_str()).collect();
        // T1078.002 alone is ambiguous (initial access, persistence, privilege escalation,
        // defense evasion); initial access is anchored by T1190 in this incident.
        assert_eq!(
            names,
            vec!["initial-access", "discovery", "lateral-movement"]
        );
        let lm = incs[0]
            .events
            .iter()
            .find(|e| e.rule_title == "lm")
            .unwrap();
        assert_eq!(lm.tactic.as_deref(), Some("lateral-movement"));
        let v = incs[0]
            .events
            .iter()
            .find(|e| e.rule_title == "valid")
            .unwrap();
        assert_eq!(v.tactic.as_deref(), Some("initial-access"));
    }

    #[test]
    fn failed_web_requests_do_not_raise_severity() {
        let mk = |status: &str| {
            vec![
                det(
                    "shell cmd",
                    "high",
                    "2025-03-03T02:00:00Z",
                    "PDO-WEB01",
                    &["T1505.003"],
                    json!({"cs-method": "GET", "cs-uri-stem": "/x.aspx", "cs-uri-query": "cmd=whoami", "c-ip": "10.20.5.50", "sc-status": status}),
                ),
                det(
                    "proxyshell",
                    "high",
                    "2025-03-03T02:00:01Z",
                    "PDO-WEB01",
                    &["T1190"],
                    json!({"cs-method": "GET", "cs-uri-stem": "/autodiscover/autodiscover.json", "c-ip": "10.20.5.50", "sc-status": status}),
                ),
                det(
                    "explore",
                    "high",
                    "2025-03-03T02:00:02Z",
                    "PDO-WEB01",
                    &["T1083"],
                    json!({"cs-method": "GET", "cs-uri-stem": "/etc", "c-ip": "10.20.5.50", "sc-status": status}),
                ),
            ]
        };
        let failed = build_incidents(&mk("404"), &kb(), &IncidentOptions::default());
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].severity, Severity::Low);
        assert!(
            failed[0]
                .severity_reasons
                .iter()
                .any(|r| r.contains("failed web request"))
        );
        let served = build_incidents(&mk("200"), &kb(), &IncidentOptions::default());
        assert_eq!(served[0].severity, Severity::High);
    }

    #[test]
    fn severity_levels() {
        let k = kb();
        let o = IncidentOptions::default();
        let one_high = vec![det(
            "x",
            "high",
            "2025-03-03T02:00:00Z",
            "H",
            &["T1082"],
            json!({}),
        )];
        assert_eq!(
            build_incidents(&one_high, &k, &o)[0].severity,
            Severity::Medium
        );
        let one_low = vec![det(
            "x",
            "low",
            "2025-03-03T02:00:00Z",
            "H",
            &["T1082"],
            json!({}),
        )];
        assert_eq!(build_incidents(&one_low, &k, &o)[0].severity, Severity::Low);
        let one_medium = vec![det(
            "x",
            "medium",
            "2025-03-03T02:00:00Z",
            "H",
            &["T1082"],
            json!({}),
        )];
        assert_eq!(
            build_incidents(&one_medium, &k, &o)[0].severity,
            Severity::Low
        );
        let two_medium = vec![
            det(
                "x",
                "medium",
                "2025-03-03T02:00:00Z",
                "H",
                &["T1082"],
                json!({}),
            ),
            det(
                "y",
                "medium",
                "2025-03-03T02:01:00Z",
                "H",
                &["T1016"],
                json!({}),
            ),
        ];
        assert_eq!(
            build_incidents(&two_medium, &k, &o)[0].severity,
            Severity::Medium
        );
        // Four tactics with credential access on two hosts: critical.
        let crit = vec![
            det(
                "a",
                "high",
                "2025-03-03T02:00:00Z",
                "H1",
                &["T1190"],
                json!({"User": "PDO\\x"}),
            ),
            det(
                "b",
                "high",
                "2025-03-03T02:01:00Z",
                "H1",
                &["T1082"],
                json!({"User": "PDO\\x"}),
            ),
            det(
                "c",
                "high",
                "2025-03-03T02:02:00Z",
                "H2",
                &["T1003.001"],
                json!({"User": "PDO\\x"}),
            ),
            det(
                "d",
                "medium",
                "2025-03-03T02:03:00Z",
                "H2",
                &["T1560.001"],
                json!({"User": "PDO\\x"}),
            ),
        ];
        let inc = &build_incidents(&crit, &k, &o)[0];
        assert_eq!(
            inc.severity,
            Severity::Critical,
            "{:?}",
            inc.severity_reasons
        );
        assert!(inc.title.contains("credential access"), "{}", inc.title);
        assert!(
            inc.narrative
                .contains("T1003.001 OS Credential Dumping: LSASS Memory")
                || inc.narrative.contains("T1003.001")
        );
    }

    #[test]
    fn ids_follow_first_activity_and_order_is_severity_then_time() {
        let k = kb();
        let d = vec![
            det(
                "late high",
                "high",
                "2025-03-05T02:00:00Z",
                "A",
                &[],
                json!({}),
            ),
            det(
                "early low",
                "low",
                "2025-03-01T02:00:00Z",
                "B",
                &[],
                json!({}),
            ),
            det(
                "mid low",
                "low",
                "2025-03-02T02:00:00Z",
                "C",
                &[],
                json!({}),
            ),
        ];
        let incs = build_incidents(&d, &k, &IncidentOptions::default());
        let got: Vec<(&str, &str)> = incs
            .iter()
            .map(|i| (i.id.as_str(), i.events[0].rule_title.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("INC-003", "late high"),
                ("INC-001", "early low"),
                ("INC-002", "mid low")
            ]
        );
    }

    #[test]
    fn indicator_hits_of_one_actor_and_inventory_addresses_join() {
        let ind = |ts: &str, host: &str, ip: &str| {
            let mut d = det(
                "ind",
                "high",
                ts,
                host,
                &[],
                json!({"c-ip": ip, "sc-status": "400"}),
            );
            d.kind = tiaki::DetectionKind::Indicator;
            d.indicator = Some(
                serde_json::from_value(json!({"id": "indicator--1", "type": "ipv4", "value": ip,
                    "source": "feed.json", "intrusion_set": "APT40", "intrusion_sets": ["APT40"]}))
                .unwrap(),
            );
            d
        };
        let d = vec![
            ind("2025-02-24T02:11:07Z", "PDO-EXCH01", "192.0.2.66"),
            ind("2025-03-03T01:52:40Z", "PDO-WEB01", "203.0.113.45"),
        ];
        let k = kb();
        assert_eq!(
            build_incidents(&d, &k, &IncidentOptions::default()).len(),
            1
        );
        let off = IncidentOptions {
            join_by_intrusion_set: false,
            ..Default::default()
        };
        assert_eq!(build_incidents(&d, &k, &off).len(), 2);

        // An SSH logon from an address the inventory gives to another host points to it.
        let d = vec![
            det(
                "rag",
                "high",
                "2025-03-11T02:00:00Z",
                "PDO-RAG01",
                &["T1068"],
                json!({}),
            ),
            det(
                "ssh",
                "high",
                "2025-03-11T02:10:00Z",
                "PDO-BKP01",
                &["T1110.001"],
                json!({"src_ip": "172.16.10.30", "user": "root"}),
            ),
        ];
        assert_eq!(
            build_incidents(&d, &k, &IncidentOptions::default()).len(),
            2
        );
        let inv = IncidentOptions {
            host_addresses: [("172.16.10.30".to_string(), "pdo-rag01".to_string())].into(),
            ..Default::default()
        };
        assert_eq!(build_incidents(&d, &k, &inv).len(), 1);
    }

    #[test]
    fn records_and_lineage_join() {
        let mut a = det(
            "sigma",
            "high",
            "2025-03-03T02:00:00Z",
            "A",
            &["T1059.003"],
            json!({"ProcessGuid": "{11111111-0000-0000-0000-000000000001}", "ParentImage": "C:\\Windows\\System32\\inetsrv\\w3wp.exe", "ParentProcessGuid": "{11111111-0000-0000-0000-00000000000a}"}),
        );
        a.source.line = Some(7);
        let mut b = det(
            "indicator",
            "high",
            "2025-03-03T02:00:00Z",
            "A",
            &[],
            json!({}),
        );
        b.source = a.source.clone();
        b.kind = tiaki::DetectionKind::Indicator;
        // A child process three hours later (beyond the host gap) joins by lineage.
        let c = det(
            "child",
            "high",
            "2025-03-03T05:00:00Z",
            "A",
            &["T1003.001"],
            json!({"ParentProcessGuid": "{11111111-0000-0000-0000-000000000001}", "ParentImage": "C:\\Windows\\System32\\cmd.exe"}),
        );
        let incs = build_incidents(&[a, b, c], &kb(), &IncidentOptions::default());
        assert_eq!(ids(&incs), vec![vec![0, 1, 2]]);
    }
}
