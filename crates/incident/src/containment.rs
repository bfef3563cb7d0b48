//! The containment plan: what to do now about the incidents found.
//!
//! # Why it looks like this
//!
//! Containment advice is only useful if every line of it can be traced to evidence and if
//! nothing in it is invented. So each [`Action`] names its target exactly as the logs do (host
//! name, account, path, firewall rule name), says why in one sentence, and lists the incidents
//! and the rules that support it. The plan covers the incidents at or above
//! [`ContainmentOptions::min_severity`] (default medium); hosts are isolated only for high and
//! critical incidents, and actions that come from a medium incident only are priority 3 with
//! "verify first" in their reason, because medium is where the benign look-alikes live.
//!
//! * **Isolate**: every host with hands-on activity (an effective detection: level medium or
//!   above, not a failed web request) in a high or critical incident. Priority 1 for hosts
//!   with a web shell and for domain controllers (hosts that logged KDC events 4768/4769 or
//!   where `ntds.dit` was touched), 2 for the others with a high detection, 3 for the rest.
//! * **Reset**: accounts seen in logons (4624/4625/4648/4672/4768/4776, RDP 1149), in
//!   detections placed under lateral movement, credential access or privilege escalation, or
//!   named on a command line (`/user:PDO\svc_sqlrpt`); every service account whose ticket was
//!   requested (4769 `ServiceName`) in an incident with Kerberoasting (T1558.003), because its
//!   password may be cracked offline; and `krbtgt` twice when the AD database was copied
//!   (T1003.003, `ntdsutil`, `ntds.dit`) or replicated (DCSync, T1003.006).
//! * **Remove**: web shells (the file path when a file event gave it, else the URI), files
//!   with the extensions of dumps, archives and tools written or named by the intrusion
//!   outside system directories, and unusual process images that ran.
//! * **Revert**: firewall rules (4946/4947/2004 `RuleName`, `netsh … add rule name=…`) with
//!   their ports, services (7045/4697), scheduled tasks (4698, `schtasks /create /tn`) and run
//!   keys (Sysmon 13 on `…\CurrentVersion\Run`).
//! * **Block**: external addresses of the incidents (not RFC 1918 nor
//!   [`ContainmentOptions::own_addresses`]), domains (not [`ContainmentOptions::own_domains`]),
//!   URLs and hashes from command lines and indicator hits, and the value of every indicator
//!   hit in any incident.
//! * **Mitigations**: the ATT&CK mitigations of the techniques seen, from the knowledge base
//!   when it has mitigation objects, else from the table embedded from ATT&CK
//!   (`data/mitigations.json`, made by `tools/extract_mitigations.py`), most techniques first.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use serde::Deserialize;
use tiaki::Detection;
use tiaki_intel::kb::KnowledgeBase;

use crate::entities::{EntityRules, file_name, is_internal, normalize_address, text};
use crate::model::{
    Action, BlockItem, ContainmentPlan, EntityKind, Incident, IncidentEvent, MitigationItem,
    Severity,
};

/// The embedded technique → mitigation table (`data/mitigations.json`).
pub const MITIGATIONS_JSON: &str = include_str!("../data/mitigations.json");

#[derive(Deserialize)]
struct MitigationTable {
    mitigations: BTreeMap<String, String>,
    techniques: BTreeMap<String, Vec<String>>,
}

static TABLE: LazyLock<MitigationTable> =
    LazyLock::new(|| serde_json::from_str(MITIGATIONS_JSON).expect("data/mitigations.json parses"));

/// The ATT&CK mitigations of a technique from the embedded table: (id, name). A
/// sub-technique without its own entry falls back to its parent's.
pub fn embedded_mitigations(technique: &str) -> Vec<(String, String)> {
    let t = technique.trim().to_ascii_uppercase();
    let ids = TABLE.techniques.get(&t).or_else(|| {
        t.split_once('.')
            .and_then(|(parent, _)| TABLE.techniques.get(parent))
    });
    ids.map(|ids| {
        ids.iter()
            .map(|m| {
                (
                    m.clone(),
                    TABLE
                        .mitigations
                        .get(m)
                        .cloned()
                        .unwrap_or_else(|| m.clone()),
                )
            })
            .collect()
    })
    .unwrap_or_default()
}

/// What goes into the plan.
#[derive(Debug, Clone)]
pub struct ContainmentOptions {
    /// Incidents below this severity are left out (default medium).
    pub min_severity: Severity,
    /// Hosts are isolated for incidents at or above this severity (default high).
    pub isolate_min_severity: Severity,
    /// The organisation's own public addresses: never blocked.
    pub own_addresses: Vec<String>,
    /// The organisation's own domains (suffixes): never blocked.
    pub own_domains: Vec<String>,
}

impl Default for ContainmentOptions {
    fn default() -> Self {
        ContainmentOptions {
            min_severity: Severity::Medium,
            isolate_min_severity: Severity::High,
            own_addresses: Vec::new(),
            own_domains: Vec::new(),
        }
    }
}

/// Event IDs of logons and authentications whose accounts are to be reset.
const LOGON_EVENTS: &[u64] = &[4624, 4625, 4648, 4672, 4768, 4776, 1149];
/// Event IDs only a domain controller's KDC writes.
const KDC_EVENTS: &[u64] = &[4768, 4769, 4771];
/// File extensions of attacker files worth removing.
const DROP_EXTENSIONS: &[&str] = &[
    ".dmp", ".rar", ".7z", ".zip", ".exe", ".dll", ".ps1", ".bat", ".vbs", ".dit", ".bin", ".dat",
    ".tmp", ".sys", ".hta", ".jar", ".sh", ".py", ".elf",
];
/// Directories whose files are the system's own: never proposed for removal.
const SYSTEM_DIRS: &[&str] = &[
    "c:\\windows\\system32\\",
    "c:\\windows\\syswow64\\",
    "c:\\windows\\winsxs\\",
    "c:\\program files\\",
    "c:\\program files (x86)\\",
    "c:\\windows\\microsoft.net\\",
    "/usr/",
    "/bin/",
    "/sbin/",
    "/lib/",
];

fn event_id(d: &Detection) -> Option<u64> {
    text(&d.event, "EventID").and_then(|v| v.parse().ok())
}

#[derive(Default)]
struct Acc {
    reason: String,
    incidents: BTreeSet<String>,
    evidence: BTreeSet<String>,
    priority: u8,
}

/// Collects actions by target, keeping the best priority and the first reason.
#[derive(Default)]
struct Actions(BTreeMap<String, Acc>);

impl Actions {
    fn add(&mut self, target: String, reason: String, inc: &str, evidence: &str, priority: u8) {
        let a = self.0.entry(target).or_insert_with(|| Acc {
            reason: reason.clone(),
            priority,
            ..Default::default()
        });
        if priority < a.priority {
            a.priority = priority;
            a.reason = reason;
        }
        a.incidents.insert(inc.to_string());
        if !evidence.is_empty() {
            a.evidence.insert(evidence.to_string());
        }
    }

    fn finish(self) -> Vec<Action> {
        let mut v: Vec<Action> = self
            .0
            .into_iter()
            .map(|(target, a)| Action {
                target,
                reason: a.reason,
                incidents: a.incidents.into_iter().collect(),
                evidence: a.evidence.into_iter().take(8).collect(),
                priority: a.priority,
            })
            .collect();
        v.sort_by(|a, b| {
            a.priority
                .cmp(&b.priority)
                .then_with(|| a.target.cmp(&b.target))
        });
        v
    }
}

/// The plan for `incidents` (see the module documentation). `detections` is the list the
/// incidents' event indexes point into.
pub fn containment_plan(
    incidents: &[Incident],
    detections: &[Detection],
    kb: &KnowledgeBase,
    options: &ContainmentOptions,
) -> ContainmentPlan {
    let rules = EntityRules::embedded();
    let mut isolate = Actions::default();
    let mut reset = Actions::default();
    let mut remove = Actions::default();
    let mut revert = Actions::default();
    let mut block: BTreeMap<(String, String), (String, BTreeSet<String>)> = BTreeMap::new();
    let mut add_block = |kind: &str, value: String, reason: String, inc: &str| {
        let e = block
            .entry((kind.to_string(), value))
            .or_insert_with(|| (reason, BTreeSet::new()));
        e.1.insert(inc.to_string());
    };
    let own_addr = |a: &str| options.own_addresses.iter().any(|o| o == a);
    let own_dom = |d: &str| {
        options.own_domains.iter().any(|o| {
            let o = o.trim_start_matches('.').to_lowercase();
            d == o || d.ends_with(&format!(".{o}"))
        })
    };
    let mut techniques: BTreeSet<String> = BTreeSet::new();

    for inc in incidents {
        let get = |e: &IncidentEvent| detections.get(e.index);
        // Every indicator hit's value, whatever the incident's severity.
        for ev in &inc.events {
            let Some(d) = get(ev) else { continue };
            if let Some(ind) = &d.indicator {
                let (kind, value) = indicator_block(&ind.kind, &ind.value);
                if let Some(kind) = kind
                    && !(kind.starts_with("ipv") && (is_internal(&value) || own_addr(&value)))
                    && !(kind == "domain" && own_dom(&value))
                {
                    add_block(
                        kind,
                        value,
                        format!(
                            "matched indicator {}",
                            ind.name.as_deref().unwrap_or(&ind.id)
                        ),
                        &inc.id,
                    );
                }
            }
        }
        if inc.severity < options.min_severity {
            continue;
        }
        let medium_only = inc.severity < Severity::High;
        let p = |base: u8| if medium_only { 3 } else { base };
        let verify = if medium_only {
            " (medium incident: verify first)"
        } else {
            ""
        };
        techniques.extend(inc.techniques.iter().cloned());
        let has_tech = |prefix: &str| {
            inc.techniques
                .iter()
                .any(|t| t == prefix || t.starts_with(&format!("{prefix}.")))
        };

        // Facts per event.
        let mut hands_on: BTreeMap<String, (usize, bool, BTreeSet<String>)> = BTreeMap::new();
        let mut shell_hosts: BTreeSet<String> = BTreeSet::new();
        let mut dc_hosts: BTreeSet<String> = BTreeSet::new();
        let mut ntds = has_tech("T1003.003") || has_tech("T1003.006");
        for ev in &inc.events {
            let Some(d) = get(ev) else { continue };
            let host = ev.host.clone();
            let level = d.level.unwrap_or(tiaki_sigma::Level::Informational);
            let x = rules.extract(d);
            let failed = x.http_status.is_some_and(|s| s >= 400);
            let effective = level >= tiaki_sigma::Level::Medium && !failed;
            let eid = event_id(d);
            let cl = text(&d.event, "CommandLine")
                .map(|c| c.into_owned())
                .unwrap_or_default();
            let cl_lower = cl.to_lowercase();
            let blob = serde_json::to_string(&d.event)
                .unwrap_or_default()
                .to_lowercase();
            if blob.contains("ntds.dit") || cl_lower.contains("ntdsutil") {
                ntds = true;
                if let Some(h) = &host {
                    dc_hosts.insert(h.clone());
                }
            }
            if let (Some(h), Some(id)) = (&host, eid)
                && KDC_EVENTS.contains(&id)
            {
                dc_hosts.insert(h.clone());
            }
            // Hands-on: an effective detection of something done on the host (a process, a
            // logon, a file), not only a request it served, unless that request hit a web shell.
            let on_host = x.http_status.is_none()
                || x.entities.iter().any(|e| e.kind == EntityKind::WebShell);
            if effective
                && on_host
                && let Some(h) = &host
            {
                let e = hands_on.entry(h.clone()).or_default();
                e.0 += 1;
                e.1 |= level >= tiaki_sigma::Level::High;
                e.2.insert(d.rule_title.clone());
            }

            // Accounts.
            let tactic = ev.tactic.as_deref().unwrap_or("");
            let logon = eid.is_some_and(|i| LOGON_EVENTS.contains(&i));
            let lm = matches!(
                tactic,
                "lateral-movement" | "credential-access" | "privilege-escalation"
            );
            // A 4769's service account is the ticket's target, not a user of it (below).
            let tgs_service = (eid == Some(4769))
                .then(|| text(&d.event, "ServiceName"))
                .flatten()
                .and_then(|s| rules.account(&s, None))
                .map(|(s, _)| s);
            if effective || logon {
                for e in &x.entities {
                    if e.kind != EntityKind::Account
                        || x.local_accounts.contains(&e.value)
                        || tgs_service.as_deref() == Some(e.value.as_str())
                    {
                        continue;
                    }
                    let on_cl = !cl_lower.is_empty() && cl_lower.contains(&e.value);
                    if logon || lm || on_cl {
                        let why = if logon {
                            "used to log on"
                        } else if on_cl {
                            "its credentials were given on a command line"
                        } else {
                            "used in lateral movement or credential access"
                        };
                        reset.add(
                            e.value.clone(),
                            format!(
                                "{why} in {}{}",
                                host.as_deref()
                                    .map(|h| format!("activity on {h}"))
                                    .unwrap_or_else(|| "the incident".into()),
                                verify
                            ),
                            &inc.id,
                            &d.rule_title,
                            p(1),
                        );
                    }
                }
            }
            // Kerberoasted service accounts.
            if has_tech("T1558.003")
                && eid == Some(4769)
                && let Some(svc) = text(&d.event, "ServiceName")
                && let Some((svc, false)) = rules.account(&svc, None)
            {
                reset.add(
                    svc,
                    format!(
                        "a service ticket for it was requested in an incident with Kerberoasting (T1558.003): its password may be cracked offline{verify}"
                    ),
                    &inc.id,
                    &d.rule_title,
                    p(2),
                );
            }

            // Files.
            for e in &x.entities {
                if e.kind == EntityKind::WebShell && !failed {
                    let yara_path = d
                        .yara
                        .as_ref()
                        .and_then(|_| text(&d.event, "path"))
                        .map(|p| p.into_owned());
                    let target = match (&host, text(&d.event, "TargetFilename")) {
                        _ if yara_path.is_some() => format!(
                            "{}:{}",
                            host.as_deref().unwrap_or("evidence"),
                            yara_path.clone().unwrap_or_default()
                        ),
                        (Some(h), Some(f)) if rules.web_shell_path(&f).is_some() => {
                            format!("{h}:{f}")
                        }
                        (Some(h), _) => format!("{h}:{}", e.value),
                        (None, _) => e.value.clone(),
                    };
                    if !target.contains(':') || target.contains(":/") || target.contains(":\\") {
                        remove.add(
                            target,
                            format!("web shell {}{verify}", e.value),
                            &inc.id,
                            &d.rule_title,
                            p(1),
                        );
                    }
                }
            }
            if effective && let Some(h) = &host {
                let mut paths: BTreeSet<String> = BTreeSet::new();
                for e in &x.entities {
                    if matches!(e.kind, EntityKind::File | EntityKind::Process) {
                        paths.insert(e.value.clone());
                    }
                }
                let mut cl_paths: BTreeSet<String> = BTreeSet::new();
                for tok in path_tokens(&cl) {
                    cl_paths.insert(tok.to_lowercase());
                }
                // A command run on another host (`wmic /node:X`, `schtasks /s X`) names that
                // host's files.
                let remote = (cl_lower.contains("/node:") || cl_lower.contains(" /s "))
                    && x.peer_hosts.len() == 1;
                let cl_host = if remote { &x.peer_hosts[0] } else { h };
                let all = paths
                    .into_iter()
                    .map(|p| (h, p))
                    .chain(cl_paths.into_iter().map(|p| (cl_host, p)));
                for (fh, path) in all {
                    if let Some(kind) = drop_kind(&path) {
                        remove.add(
                            format!("{fh}:{path}"),
                            format!("{kind} written or used by the intrusion{verify}"),
                            &inc.id,
                            &d.rule_title,
                            p(2),
                        );
                    }
                }
            }

            // Changes.
            if effective && let Some(h) = &host {
                for (target, reason) in changes(d, eid, &cl) {
                    revert.add(
                        format!("{h}: {target}"),
                        format!("{reason}{verify}"),
                        &inc.id,
                        &d.rule_title,
                        p(2),
                    );
                }
            }

            // Blocks.
            for e in &x.entities {
                match e.kind {
                    EntityKind::Address if !is_internal(&e.value) && !own_addr(&e.value) => {
                        let kind = if e.value.contains(':') {
                            "ipv6"
                        } else {
                            "ipv4"
                        };
                        add_block(
                            kind,
                            e.value.clone(),
                            format!("external address seen in {}", inc.id),
                            &inc.id,
                        );
                    }
                    EntityKind::Domain if !own_dom(&e.value) => {
                        add_block(
                            "domain",
                            e.value.clone(),
                            format!("domain seen in {}", inc.id),
                            &inc.id,
                        );
                    }
                    _ => {}
                }
            }
            if let (Some(_), Some(h)) = (&d.yara, text(&d.event, "sha256"))
                && !failed
            {
                for (kind, value) in hashes(&format!("SHA256={h}")) {
                    add_block(
                        kind,
                        value,
                        format!("hash of a file flagged by YARA in {}", inc.id),
                        &inc.id,
                    );
                }
            }
            if effective {
                for url in urls(&cl) {
                    let host_ok = rules.url_host(&url).is_some_and(|e| match e.kind {
                        EntityKind::Address => !is_internal(&e.value) && !own_addr(&e.value),
                        _ => !own_dom(&e.value),
                    });
                    if host_ok {
                        add_block(
                            "url",
                            url,
                            format!("URL on a command line in {}", inc.id),
                            &inc.id,
                        );
                    }
                }
                if let Some(h) = text(&d.event, "Hashes")
                    && drop_kind(&text(&d.event, "Image").unwrap_or_default().to_lowercase())
                        .is_some()
                {
                    for (kind, value) in hashes(&h) {
                        add_block(
                            kind,
                            value,
                            format!("hash of a tool run in {}", inc.id),
                            &inc.id,
                        );
                    }
                }
            }
        }

        if inc.severity >= options.isolate_min_severity {
            for (h, (n, high, titles)) in &hands_on {
                let shell = inc.events.iter().any(|e| {
                    e.host.as_deref() == Some(h)
                        && e.entities.iter().any(|x| x.kind == EntityKind::WebShell)
                });
                if shell {
                    shell_hosts.insert(h.clone());
                }
                let (prio, role) = if shell {
                    (1, "web shell host; ")
                } else if dc_hosts.contains(h) {
                    (1, "domain controller; ")
                } else if *high {
                    (2, "")
                } else {
                    (3, "")
                };
                isolate.add(
                    h.clone(),
                    format!(
                        "{role}hands-on activity: {n} detection(s) in {} ({})",
                        inc.id,
                        titles
                            .iter()
                            .take(3)
                            .cloned()
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                    &inc.id,
                    titles.iter().next().map(String::as_str).unwrap_or(""),
                    prio,
                );
            }
        }
        if ntds {
            reset.add(
                "krbtgt".into(),
                format!(
                    "the Active Directory database was copied or replicated (T1003.003/T1003.006, ntds.dit) in {}: reset krbtgt twice, {} apart at least, to invalidate forged tickets{verify}",
                    inc.id, "the maximum ticket lifetime"
                ),
                &inc.id,
                "",
                p(1),
            );
        }
    }

    // Mitigations.
    let mut mit: BTreeMap<String, (String, BTreeSet<String>)> = BTreeMap::new();
    let kb_has = !kb.mitigations().is_empty();
    for t in &techniques {
        let list: Vec<(String, String)> = if kb_has {
            match kb.by_external_id(t) {
                Some(id) => {
                    let mut ms = kb.mitigations_of(id);
                    if ms.is_empty()
                        && let Some(p) = kb.parent_technique(id)
                    {
                        ms = kb.mitigations_of(p);
                    }
                    ms.into_iter()
                        .map(|m| (kb.label(m).to_string(), kb.object(m).name.clone()))
                        .collect()
                }
                None => Vec::new(),
            }
        } else {
            embedded_mitigations(t)
        };
        for (id, name) in list {
            // ATT&CK lists "Do Not Mitigate" (M1055) among mitigations; it is no action.
            if id == "M1055" {
                continue;
            }
            mit.entry(id)
                .or_insert_with(|| (name, BTreeSet::new()))
                .1
                .insert(t.clone());
        }
    }
    let mut mitigations: Vec<MitigationItem> = mit
        .into_iter()
        .map(|(id, (name, ts))| MitigationItem {
            id,
            name,
            techniques: ts.into_iter().collect(),
        })
        .collect();
    mitigations.sort_by(|a, b| {
        b.techniques
            .len()
            .cmp(&a.techniques.len())
            .then_with(|| a.id.cmp(&b.id))
    });

    let mut blocks: Vec<BlockItem> = block
        .into_iter()
        .map(|((kind, value), (reason, incs))| BlockItem {
            kind,
            value,
            reason,
            incidents: incs.into_iter().collect(),
        })
        .collect();
    blocks.sort_by(|a, b| {
        block_rank(&a.kind)
            .cmp(&block_rank(&b.kind))
            .then_with(|| a.value.cmp(&b.value))
    });
    // A web shell known by its file path need not be listed again by its URI.
    let mut remove_files = remove.finish();
    let known: BTreeSet<(String, String)> = remove_files
        .iter()
        .filter_map(|a| {
            let (h, p) = a.target.split_once(':')?;
            rules
                .web_shell_path(p)
                .filter(|_| !p.starts_with('/'))
                .map(|u| (h.to_string(), u))
        })
        .collect();
    remove_files.retain(|a| match a.target.split_once(':') {
        Some((h, p)) if p.starts_with('/') => !known.contains(&(h.to_string(), p.to_string())),
        _ => true,
    });
    ContainmentPlan {
        isolate_hosts: isolate.finish(),
        reset_accounts: reset.finish(),
        remove_files,
        revert_changes: revert.finish(),
        block: blocks,
        mitigations,
    }
}

fn block_rank(kind: &str) -> usize {
    [
        "ipv4",
        "ipv6",
        "domain",
        "url",
        "sha256",
        "sha1",
        "md5",
        "file-name",
    ]
    .iter()
    .position(|k| *k == kind)
    .unwrap_or(99)
}

/// The block-list kind and value of an indicator hit.
fn indicator_block(kind: &str, value: &str) -> (Option<&'static str>, String) {
    let v = value.trim().to_string();
    match kind {
        "ipv4" | "ipv6" | "ip" | "pattern" => match normalize_address(&v) {
            Some(ip) if ip.contains(':') => (Some("ipv6"), ip),
            Some(ip) => (Some("ipv4"), ip),
            None => (None, v),
        },
        "domain" | "domain-name" | "hostname" => (Some("domain"), v.to_lowercase()),
        "url" => (Some("url"), v),
        "sha256" => (Some("sha256"), v.to_lowercase()),
        "sha1" => (Some("sha1"), v.to_lowercase()),
        "md5" => (Some("md5"), v.to_lowercase()),
        "file-name" | "filename" => (Some("file-name"), v),
        _ => (None, v),
    }
}

/// Kind of a file worth removing, from its path, or `None`.
fn drop_kind(path: &str) -> Option<&'static str> {
    let lower = path.to_lowercase();
    if SYSTEM_DIRS.iter().any(|d| lower.starts_with(d)) {
        return None;
    }
    // Paths only (not a bare name): a drive, a UNC or a Unix root.
    if !(lower.get(1..3) == Some(":\\") || lower.starts_with('/')) {
        return None;
    }
    let ext = DROP_EXTENSIONS.iter().find(|e| lower.ends_with(*e))?;
    Some(match *ext {
        ".dmp" | ".dit" | ".bin" => "dump",
        ".rar" | ".7z" | ".zip" => "archive",
        ".dat" | ".tmp" => "staged file",
        _ => "tool",
    })
}

/// Drive paths on a command line (`C:\Windows\Debug\lsd.dmp`), quotes removed.
fn path_tokens(cl: &str) -> Vec<String> {
    let mut out = Vec::new();
    for raw in cl
        .split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | '&' | '|' | '>' | '<'))
    {
        let t = raw.trim_matches(|c: char| c == '(' || c == ')' || c == ';');
        let b = t.as_bytes();
        if b.len() > 3
            && b[0].is_ascii_alphabetic()
            && b[1] == b':'
            && b[2] == b'\\'
            && !t.contains('*')
        {
            out.push(t.to_string());
        }
    }
    out
}

/// `http(s)://` URLs on a command line.
fn urls(cl: &str) -> Vec<String> {
    cl.split(|c: char| c.is_whitespace() || c == '"' || c == '\'')
        .filter(|t| {
            let l = t.to_ascii_lowercase();
            l.starts_with("http://") || l.starts_with("https://")
        })
        .map(str::to_string)
        .collect()
}

/// Hashes of a Sysmon `Hashes` field (`SHA256=…,MD5=…`), all-zero placeholders left out.
fn hashes(h: &str) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for part in h.split(',') {
        let Some((k, v)) = part.split_once('=') else {
            continue;
        };
        let v = v.trim().to_lowercase();
        if v.is_empty() || v.chars().all(|c| c == '0') || !v.chars().all(|c| c.is_ascii_hexdigit())
        {
            continue;
        }
        let kind = match k.trim().to_ascii_uppercase().as_str() {
            "SHA256" => "sha256",
            "SHA1" => "sha1",
            "MD5" => "md5",
            _ => continue,
        };
        out.push((kind, v));
    }
    out
}

/// The value of `name=…` (quoted or not) on a command line, case-insensitive.
fn arg_value(cl: &str, name: &str) -> Option<String> {
    // ASCII lower-casing keeps byte offsets valid in `cl`.
    let lower = cl.to_ascii_lowercase();
    let i = lower.find(&format!("{name}="))?;
    let rest = &cl[i + name.len() + 1..];
    let v = if let Some(q) = rest.strip_prefix('"') {
        q.split('"').next()?
    } else {
        rest.split(|c: char| c.is_whitespace() || matches!(c, '"' | '&' | '|'))
            .next()?
    };
    (!v.is_empty()).then(|| v.to_string())
}

/// The value after a switch (`/tn "\Microsoft\x"`), quoted or not.
fn switch_value(cl: &str, sw: &str) -> Option<String> {
    let lower = cl.to_ascii_lowercase();
    let i = lower.find(&format!(" {sw} "))?;
    let rest = cl[i + sw.len() + 2..].trim_start();
    let v = if let Some(q) = rest.strip_prefix('"') {
        q.split('"').next()?
    } else {
        rest.split_whitespace().next()?
    };
    (!v.is_empty()).then(|| v.to_string())
}

/// Persistence and configuration changes an event records: (target, reason).
fn changes(d: &Detection, eid: Option<u64>, cl: &str) -> Vec<(String, String)> {
    let ev = &d.event;
    let f = |k: &str| text(ev, k).map(|v| v.into_owned());
    let mut out = Vec::new();
    let lower = cl.to_ascii_lowercase();
    // Firewall rules.
    let fw_rule = match eid {
        Some(4946) | Some(4947) | Some(2004) | Some(2005) => f("RuleName"),
        _ => None,
    };
    let netsh_rule =
        (lower.contains("netsh") && lower.contains("firewall") && lower.contains(" add "))
            .then(|| arg_value(cl, "name"))
            .flatten();
    if let Some(name) = fw_rule.or(netsh_rule) {
        let ports = f("LocalPorts")
            .filter(|p| p != "*" && !p.is_empty())
            .or_else(|| arg_value(cl, "localport"));
        let app = f("ApplicationPath").filter(|a| !a.is_empty());
        let mut reason = "firewall rule added by the intrusion".to_string();
        if let Some(p) = &ports {
            reason.push_str(&format!(", opening port(s) {p}"));
        }
        if let Some(a) = app {
            reason.push_str(&format!(" for {a}"));
        }
        reason.push_str(": delete it");
        out.push((format!("firewall rule \"{name}\""), reason));
    }
    // Services.
    if matches!(eid, Some(7045) | Some(4697))
        && let Some(svc) = f("ServiceName")
    {
        let img = f("ImagePath").or_else(|| f("ServiceFileName"));
        out.push((
            format!("service \"{svc}\""),
            format!(
                "service installed{}: stop, disable and delete it",
                img.map(|i| format!(" running {i}")).unwrap_or_default()
            ),
        ));
    }
    if (file_name(&f("Image").unwrap_or_default()) == "sc.exe" || lower.starts_with("sc "))
        && let Some(i) = lower.find(" create ")
    {
        let rest = cl[i + 8..].trim_start();
        let name = if let Some(q) = rest.strip_prefix('"') {
            q.split('"').next()
        } else {
            rest.split_whitespace().next()
        };
        if let Some(name) = name.filter(|n| !n.is_empty()) {
            let bin = arg_value(cl, "binpath").or_else(|| {
                let l = cl.to_ascii_lowercase();
                let j = l.find("binpath= ")?;
                let r = cl[j + 9..].trim_start();
                Some(match r.strip_prefix('"') {
                    Some(q) => q.split('"').next()?.to_string(),
                    None => r.split_whitespace().next()?.to_string(),
                })
            });
            out.push((
                format!("service \"{name}\""),
                format!(
                    "service created with sc.exe{}: stop, disable and delete it",
                    bin.map(|b| format!(" running {b}")).unwrap_or_default()
                ),
            ));
        }
    }
    // Scheduled tasks.
    let task = if eid == Some(4698) {
        f("TaskName")
    } else if file_name(&f("Image").unwrap_or_default()) == "schtasks.exe"
        || lower.starts_with("schtasks")
    {
        lower
            .contains("/create")
            .then(|| switch_value(cl, "/tn"))
            .flatten()
    } else {
        None
    };
    if let Some(t) = task {
        out.push((
            format!("scheduled task \"{t}\""),
            "scheduled task created by the intrusion: delete it".into(),
        ));
    }
    // Run keys.
    if let Some(obj) = f("TargetObject") {
        let l = obj.to_lowercase();
        if l.contains("\\currentversion\\run") {
            let details = f("Details").map(|d| format!(" = {d}")).unwrap_or_default();
            out.push((
                format!("registry value {obj}"),
                format!("autostart entry{details}: delete it"),
            ));
        }
    }
    out
}

impl ContainmentPlan {
    /// How many actions the plan holds, and the non-empty kinds as a phrase
    /// (`7 hosts to isolate, 9 accounts to reset, 11 indicators to block`): the headline the
    /// report and the console show. `(0, "")` for an empty plan.
    pub fn action_summary(&self) -> (usize, String) {
        let parts = [
            (self.isolate_hosts.len(), "host", "to isolate"),
            (self.reset_accounts.len(), "account", "to reset"),
            (self.remove_files.len(), "file", "to remove"),
            (self.revert_changes.len(), "change", "to revert"),
            (self.block.len(), "indicator", "to block"),
        ];
        let total = parts.iter().map(|p| p.0).sum();
        let phrase = parts
            .iter()
            .filter(|p| p.0 > 0)
            .map(|(n, what, verb)| format!("{n} {what}{} {verb}", if *n == 1 { "" } else { "s" }))
            .collect::<Vec<_>>()
            .join(", ");
        (total, phrase)
    }

    /// The block-list values of one kind (`ipv4`, `ipv6`, `domain`, `url`, `sha256`, `md5`…),
    /// sorted, one per line.
    pub fn blocklist_plain(&self, kind: &str) -> String {
        let set: BTreeSet<&str> = self
            .block
            .iter()
            .filter(|b| b.kind == kind)
            .map(|b| b.value.as_str())
            .collect();
        set.into_iter().map(|v| format!("{v}\n")).collect()
    }

    fn values(&self, kind: &str) -> Vec<&str> {
        let set: BTreeSet<&str> = self
            .block
            .iter()
            .filter(|b| b.kind == kind)
            .map(|b| b.value.as_str())
            .collect();
        set.into_iter().collect()
    }

    /// An `nft -f` script: table `inet tiaki_block` with sets `blocked_v4`/`blocked_v6` of the
    /// addresses to block and filter chains (input, forward, output) that drop traffic from
    /// and to them. Load with `nft -f FILE`; remove with `nft delete table inet tiaki_block`.
    pub fn blocklist_nftables(&self) -> String {
        let v4 = self.values("ipv4");
        let v6 = self.values("ipv6");
        let mut s = String::new();
        s.push_str("#!/usr/sbin/nft -f\n");
        s.push_str(&format!(
            "# tiaki containment block list: {} IPv4 and {} IPv6 address(es)\n",
            v4.len(),
            v6.len()
        ));
        s.push_str("table inet tiaki_block {\n");
        for (name, ty, vals) in [
            ("blocked_v4", "ipv4_addr", &v4),
            ("blocked_v6", "ipv6_addr", &v6),
        ] {
            s.push_str(&format!("\tset {name} {{\n\t\ttype {ty}\n"));
            if !vals.is_empty() {
                s.push_str(&format!("\t\telements = {{ {} }}\n", vals.join(", ")));
            }
            s.push_str("\t}\n");
        }
        for (chain, rules) in [
            (
                "input",
                &["ip saddr @blocked_v4 drop", "ip6 saddr @blocked_v6 drop"][..],
            ),
            (
                "forward",
                &[
                    "ip saddr @blocked_v4 drop",
                    "ip daddr @blocked_v4 drop",
                    "ip6 saddr @blocked_v6 drop",
                    "ip6 daddr @blocked_v6 drop",
                ][..],
            ),
            (
                "output",
                &["ip daddr @blocked_v4 drop", "ip6 daddr @blocked_v6 drop"][..],
            ),
        ] {
            s.push_str(&format!(
                "\tchain {chain} {{\n\t\ttype filter hook {chain} priority filter; policy accept;\n"
            ));
            for r in rules {
                s.push_str(&format!("\t\t{r}\n"));
            }
            s.push_str("\t}\n");
        }
        s.push_str("}\n");
        s
    }

    /// A DNS Response Policy Zone: an SOA and NS header, then `domain CNAME .` (NXDOMAIN) for
    /// each domain and its subdomains. Serve it as a `response-policy` zone (BIND, Unbound,
    /// Knot Resolver, PowerDNS Recursor).
    pub fn blocklist_rpz(&self) -> String {
        let mut s = String::new();
        s.push_str("; tiaki containment block list (DNS RPZ)\n");
        s.push_str("$TTL 300\n");
        s.push_str("@ IN SOA localhost. hostmaster.localhost. 1 3600 600 86400 300\n");
        s.push_str("@ IN NS localhost.\n");
        for d in self.values("domain") {
            s.push_str(&format!("{d} CNAME .\n*.{d} CNAME .\n"));
        }
        s
    }

    /// A hosts file: `0.0.0.0 domain` for each domain.
    pub fn blocklist_hosts(&self) -> String {
        let mut s = String::from("# tiaki containment block list\n");
        for d in self.values("domain") {
            s.push_str(&format!("0.0.0.0 {d}\n"));
        }
        s
    }

    /// CSV of every block item: `kind,value,reason,incidents` (incidents separated by `;`),
    /// RFC 4180 quoting.
    pub fn blocklist_csv(&self) -> String {
        let q = |v: &str| {
            if v.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", v.replace('"', "\"\""))
            } else {
                v.to_string()
            }
        };
        let mut s = String::from("kind,value,reason,incidents\n");
        for b in &self.block {
            s.push_str(&format!(
                "{},{},{},{}\n",
                q(&b.kind),
                q(&b.value),
                q(&b.reason),
                q(&b.incidents.join(";"))
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlate::tests::{det, kb};
    use crate::{IncidentOptions, build_incidents};
    use serde_json::json;

    fn scenario() -> Vec<Detection> {
        vec![
            det("Upload", "high", "2025-03-03T02:31:44Z", "PDO-WEB01", &["T1190"],
                json!({"cs-method": "POST", "cs-uri-stem": "/drafts/Attachments/Upload.ashx", "c-ip": "203.0.113.45", "sc-status": "200", "s-ip": "172.16.10.21"})),
            det("Web shell written", "high", "2025-03-03T02:31:45Z", "PDO-WEB01", &["T1505.003"],
                json!({"EventID": 11, "User": "IIS APPPOOL\\DraftsPortal", "Image": "C:\\Windows\\System32\\inetsrv\\w3wp.exe", "TargetFilename": "C:\\inetpub\\wwwroot\\drafts\\Images\\thumbs\\spinner.aspx"})),
            det("Roast script", "high", "2025-03-05T02:04:58Z", "PDO-WEB01", &["T1558.003"],
                json!({"EventID": 1, "Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", "CommandLine": "powershell -enc AAAA", "User": "IIS APPPOOL\\DraftsPortal"})),
            det("Net use", "high", "2025-03-10T02:11:50Z", "PDO-WEB01", &["T1021.002"],
                json!({"EventID": 1, "Image": "C:\\Windows\\System32\\net.exe", "CommandLine": "net use \\\\PDO-FS01\\C$ /user:PDO\\svc_sqlrpt x", "User": "IIS APPPOOL\\DraftsPortal"})),
            det("Kerberoast", "high", "2025-03-05T02:05:00Z", "PDO-DC01", &["T1558.003"],
                json!({"EventID": 4769, "ServiceName": "svc_sqlrpt", "TargetUserName": "svc_draftsweb@PDO.EXAMPLE", "TicketEncryptionType": "0x17", "IpAddress": "::ffff:172.16.10.21"})),
            det("Kerberoast", "high", "2025-03-05T02:05:01Z", "PDO-DC01", &["T1558.003"],
                json!({"EventID": 4769, "ServiceName": "svc_backup", "TargetUserName": "svc_draftsweb@PDO.EXAMPLE", "TicketEncryptionType": "0x17", "IpAddress": "::ffff:172.16.10.21"})),
            det("Logon from DMZ", "high", "2025-03-10T02:12:00Z", "PDO-FS01", &["T1021.002"],
                json!({"EventID": 4624, "TargetUserName": "svc_sqlrpt", "LogonType": 3, "IpAddress": "172.16.10.21", "WorkstationName": "PDO-WEB01"})),
            det("Keep-alive", "high", "2025-03-08T02:00:00Z", "PDO-WEB01", &["T1505.003"],
                json!({"cs-method": "POST", "cs-uri-stem": "/drafts/Images/thumbs/spinner.aspx", "c-ip": "203.0.113.45", "sc-status": "200"})),
            det("RDP from DMZ", "high", "2025-03-13T02:20:00Z", "PDO-JMP01", &["T1021.001"],
                json!({"EventID": 4624, "TargetUserName": "adm.tkereama", "TargetDomainName": "PDO", "LogonType": 10, "IpAddress": "172.16.10.21"})),
            det("Firewall opened", "high", "2025-03-11T03:30:00Z", "PDO-WEB01", &["T1562.004"],
                json!({"EventID": 1, "Image": "C:\\Windows\\System32\\netsh.exe", "CommandLine": "netsh advfirewall firewall add rule name=\"Windows Image Acquisition Debug\" dir=in action=allow protocol=TCP localport=9998-9999", "User": "NT AUTHORITY\\SYSTEM"})),
            det("Firewall rule", "medium", "2025-03-11T03:30:01Z", "PDO-WEB01", &["T1562.004"],
                json!({"EventID": 2004, "RuleName": "Windows Image Acquisition Debug", "LocalPorts": "9998-9999", "ApplicationPath": ""})),
            det("Tunnel", "high", "2025-03-11T03:31:00Z", "PDO-WEB01", &["T1572"],
                json!({"EventID": 3, "Image": "C:\\Windows\\Debug\\wiadbg.exe", "DestinationIp": "203.0.113.45", "SourceIp": "172.16.10.21"})),
            det("LSASS dump", "critical", "2025-03-12T01:59:00Z", "PDO-FS01", &["T1003.001"],
                json!({"EventID": 1, "Image": "C:\\Windows\\Debug\\pd64.exe", "CommandLine": "C:\\Windows\\Debug\\pd64.exe -accepteula -ma lsass.exe C:\\Windows\\Debug\\lsd.dmp", "User": "NT AUTHORITY\\SYSTEM", "Hashes": "SHA256=ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789"})),
            det("Task", "high", "2025-03-12T01:58:00Z", "PDO-WEB01", &["T1053.005"],
                json!({"EventID": 1, "Image": "C:\\Windows\\System32\\schtasks.exe", "CommandLine": "schtasks /create /s PDO-FS01 /u PDO\\svc_sqlrpt /p x /tn \"\\Microsoft\\Windows\\WDI\\DiagSync\" /tr \"C:\\Windows\\Debug\\pd64.exe\" /sc once"})),
            det("IFM", "critical", "2025-03-13T03:05:00Z", "PDO-DC01", &["T1003.003"],
                json!({"EventID": 1, "Image": "C:\\Windows\\System32\\ntdsutil.exe", "CommandLine": "ntdsutil.exe \"ac i ntds\" \"ifm\" \"create full C:\\Windows\\Temp\\ifm\" q q", "User": "PDO\\adm.tkereama"})),
            det("Exfil", "high", "2025-03-13T02:25:00Z", "PDO-WEB01", &["T1041"],
                json!({"cs-method": "GET", "cs-uri-stem": "/drafts/Images/thumbs/q1.part01.rar", "c-ip": "198.51.100.23", "sc-status": "200"})),
            det("Exfil", "high", "2025-03-13T02:25:00Z", "PDO-WEB01", &["T1041"],
                json!({"cs-method": "POST", "cs-uri-stem": "/drafts/Images/thumbs/spinner.aspx", "c-ip": "198.51.100.23", "sc-status": "200"})),
        ]
        .into_iter()
        .map(|mut d| {
            if d.rule_title == "Exfil" && d.event["cs-method"] == "POST" {
                d.attack = vec!["T1505.003".into()];
            }
            d
        })
        .collect()
    }

    #[test]
    fn plan_from_a_storyline() {
        let k = kb();
        let d = scenario();
        let incs = build_incidents(&d, &k, &IncidentOptions::default());
        assert_eq!(
            incs.len(),
            1,
            "{:#?}",
            incs.iter().map(|i| &i.title).collect::<Vec<_>>()
        );
        assert_eq!(
            incs[0].severity,
            Severity::Critical,
            "{:?}",
            incs[0].severity_reasons
        );
        let plan = containment_plan(&incs, &d, &k, &ContainmentOptions::default());
        let targets = |v: &[Action]| v.iter().map(|a| a.target.clone()).collect::<Vec<_>>();
        let iso = targets(&plan.isolate_hosts);
        assert_eq!(
            iso[..2],
            ["PDO-DC01".to_string(), "PDO-WEB01".to_string()],
            "{iso:?}"
        );
        assert!(iso.contains(&"PDO-FS01".to_string()));
        assert_eq!(plan.isolate_hosts[0].priority, 1);
        let acc = targets(&plan.reset_accounts);
        for a in [
            "svc_sqlrpt",
            "svc_backup",
            "svc_draftsweb",
            "krbtgt",
            "adm.tkereama",
        ] {
            assert!(acc.contains(&a.to_string()), "{a} not in {acc:?}");
        }
        let krbtgt = plan
            .reset_accounts
            .iter()
            .find(|a| a.target == "krbtgt")
            .unwrap();
        assert!(krbtgt.reason.contains("twice"));
        let backup = plan
            .reset_accounts
            .iter()
            .find(|a| a.target == "svc_backup")
            .unwrap();
        assert!(backup.reason.contains("Kerberoasting"));
        let files = targets(&plan.remove_files);
        assert!(
            files.contains(
                &"PDO-WEB01:C:\\inetpub\\wwwroot\\drafts\\Images\\thumbs\\spinner.aspx".to_string()
            ),
            "{files:?}"
        );
        assert!(
            files.contains(&"PDO-FS01:c:\\windows\\debug\\lsd.dmp".to_string()),
            "{files:?}"
        );
        assert!(
            files.contains(&"PDO-FS01:c:\\windows\\debug\\pd64.exe".to_string()),
            "{files:?}"
        );
        assert!(
            files.contains(&"PDO-WEB01:c:\\windows\\debug\\wiadbg.exe".to_string()),
            "{files:?}"
        );
        let ch = targets(&plan.revert_changes);
        assert!(
            ch.contains(
                &"PDO-WEB01: firewall rule \"Windows Image Acquisition Debug\"".to_string()
            ),
            "{ch:?}"
        );
        assert!(
            ch.contains(
                &"PDO-WEB01: scheduled task \"\\Microsoft\\Windows\\WDI\\DiagSync\"".to_string()
            ),
            "{ch:?}"
        );
        let fw = plan
            .revert_changes
            .iter()
            .find(|a| a.target.contains("firewall"))
            .unwrap();
        assert!(fw.reason.contains("9998-9999"), "{}", fw.reason);
        assert_eq!(
            plan.blocklist_plain("ipv4"),
            "198.51.100.23\n203.0.113.45\n"
        );
        assert!(plan.block.iter().any(|b| b.kind == "sha256"));
        // The starter pack has no mitigations: the embedded table answers.
        assert!(
            plan.mitigations
                .iter()
                .any(|m| m.id == "M1026" || m.id == "M1027"),
            "{:?}",
            plan.mitigations
        );
        let counts: Vec<usize> = plan
            .mitigations
            .iter()
            .map(|m| m.techniques.len())
            .collect();
        assert!(counts.windows(2).all(|w| w[0] >= w[1]));
    }

    #[test]
    fn embedded_mitigation_table() {
        let m = embedded_mitigations("T1505.003");
        assert!(
            m.iter()
                .any(|(id, name)| id == "M1018" && name == "User Account Management"),
            "{m:?}"
        );
        assert!(!embedded_mitigations("T1558.003").is_empty());
        assert!(embedded_mitigations("T9999").is_empty());
    }

    fn plan_with_blocks() -> ContainmentPlan {
        let item = |kind: &str, value: &str| BlockItem {
            kind: kind.into(),
            value: value.into(),
            reason: "seen, in \"INC-001\"".into(),
            incidents: vec!["INC-001".into(), "INC-002".into()],
        };
        ContainmentPlan {
            block: vec![
                item("ipv4", "203.0.113.45"),
                item("ipv4", "198.51.100.23"),
                item("ipv6", "2001:db8::1"),
                item("domain", "evil.example"),
                item("url", "http://203.0.113.77/s.txt"),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn action_summary_counts_and_phrases_the_non_empty_kinds() {
        assert_eq!(
            ContainmentPlan::default().action_summary(),
            (0, String::new())
        );
        let (total, phrase) = plan_with_blocks().action_summary();
        assert_eq!(total, 5);
        assert_eq!(phrase, "5 indicators to block");
    }

    #[test]
    fn exporters_exact_text() {
        let p = plan_with_blocks();
        assert_eq!(p.blocklist_plain("ipv4"), "198.51.100.23\n203.0.113.45\n");
        assert_eq!(p.blocklist_plain("md5"), "");
        assert_eq!(
            p.blocklist_nftables(),
            "#!/usr/sbin/nft -f\n\
             # tiaki containment block list: 2 IPv4 and 1 IPv6 address(es)\n\
             table inet tiaki_block {\n\
             \tset blocked_v4 {\n\t\ttype ipv4_addr\n\t\telements = { 198.51.100.23, 203.0.113.45 }\n\t}\n\
             \tset blocked_v6 {\n\t\ttype ipv6_addr\n\t\telements = { 2001:db8::1 }\n\t}\n\
             \tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\
             \t\tip saddr @blocked_v4 drop\n\t\tip6 saddr @blocked_v6 drop\n\t}\n\
             \tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n\
             \t\tip saddr @blocked_v4 drop\n\t\tip daddr @blocked_v4 drop\n\
             \t\tip6 saddr @blocked_v6 drop\n\t\tip6 daddr @blocked_v6 drop\n\t}\n\
             \tchain output {\n\t\ttype filter hook output priority filter; policy accept;\n\
             \t\tip daddr @blocked_v4 drop\n\t\tip6 daddr @blocked_v6 drop\n\t}\n\
             }\n"
        );
        assert_eq!(
            p.blocklist_rpz(),
            "; tiaki containment block list (DNS RPZ)\n$TTL 300\n\
             @ IN SOA localhost. hostmaster.localhost. 1 3600 600 86400 300\n\
             @ IN NS localhost.\n\
             evil.example CNAME .\n*.evil.example CNAME .\n"
        );
        assert_eq!(
            p.blocklist_hosts(),
            "# tiaki containment block list\n0.0.0.0 evil.example\n"
        );
        assert_eq!(
            p.blocklist_csv(),
            "kind,value,reason,incidents\n\
             ipv4,203.0.113.45,\"seen, in \"\"INC-001\"\"\",INC-001;INC-002\n\
             ipv4,198.51.100.23,\"seen, in \"\"INC-001\"\"\",INC-001;INC-002\n\
             ipv6,2001:db8::1,\"seen, in \"\"INC-001\"\"\",INC-001;INC-002\n\
             domain,evil.example,\"seen, in \"\"INC-001\"\"\",INC-001;INC-002\n\
             url,http://203.0.113.77/s.txt,\"seen, in \"\"INC-001\"\"\",INC-001;INC-002\n"
        );
        // An empty plan still gives a valid nft script (sets without elements).
        let empty = ContainmentPlan::default().blocklist_nftables();
        assert!(!empty.contains("elements"));
    }

    #[test]
    fn medium_incidents_do_not_isolate() {
        let k = kb();
        let d = vec![det(
            "Procdump of w3wp",
            "high",
            "2025-03-04T03:00:00Z",
            "PDO-WEB01",
            &["T1003"],
            json!({"EventID": 1, "Image": "C:\\Tools\\procdump64.exe", "CommandLine": "procdump64.exe -ma -e 1 w3wp.exe C:\\dumps\\w3wp.dmp", "User": "PDO\\ops.jdoe"}),
        )];
        let incs = build_incidents(&d, &k, &IncidentOptions::default());
        assert_eq!(incs[0].severity, Severity::Medium);
        let plan = containment_plan(&incs, &d, &k, &ContainmentOptions::default());
        assert!(plan.isolate_hosts.is_empty());
        assert!(
            plan.remove_files
                .iter()
                .all(|a| a.priority == 3 && a.reason.contains("verify"))
        );
        let high_only = ContainmentOptions {
            min_severity: Severity::High,
            ..Default::default()
        };
        let plan = containment_plan(&incs, &d, &k, &high_only);
        assert_eq!(plan, ContainmentPlan::default());
    }
}
