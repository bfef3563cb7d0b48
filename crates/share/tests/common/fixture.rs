//! A realistic case for tests: two incidents at a government agency, indicator hits under
//! GREEN, AMBER and RED feeds, a false positive, and an attribution to Leviathan (G0065).
//! Shared by the unit tests (through `#[path]`) and the integration tests.
#![allow(dead_code)]

use serde_json::{Map, json};
use tiaki::detection::IndicatorInfo;
use tiaki::{Detection, DetectionKind, SourceRef};
use tiaki_incident::{Entity, EntityKind, Incident, IncidentEvent, Severity};
use tiaki_report::Investigation;
use tiaki_report::investigation::TechniqueCount;
use tiaki_stix::Tlp;

use super::SharedDetection;

/// One detection of the fixture.
pub struct Hit {
    pub key: &'static str,
    pub incident: Option<&'static str>,
    pub rule: &'static str,
    pub time: &'static str,
    pub attack: &'static [&'static str],
    pub entities: Vec<(EntityKind, &'static str)>,
    /// (kind, value, feed TLP) for indicator hits.
    pub indicator: Option<(&'static str, &'static str, &'static str)>,
    pub tlp: Tlp,
    pub fp: bool,
}

pub fn hits() -> Vec<Hit> {
    use EntityKind::*;
    vec![
        Hit {
            key: "0",
            incident: Some("INC-001"),
            rule: "indicator--6a1c2f4e-0b7d-4d0a-9b1e-2f3c4d5e6f70",
            time: "2026-02-10T21:14:03.250Z",
            attack: &["T1190"],
            entities: vec![(Address, "203.0.113.45"), (Host, "PDO-WEB01")],
            indicator: Some(("ipv4", "203.0.113.45", "TLP:GREEN")),
            tlp: Tlp::Green,
            fp: false,
        },
        Hit {
            key: "1",
            incident: Some("INC-001"),
            rule: "5f2c4b1e-webshell-w3wp",
            time: "2026-02-10T21:15:44Z",
            attack: &["T1505.003"],
            entities: vec![
                (WebShell, r"C:\inetpub\wwwroot\aspnet_client\help.aspx"),
                (Account, r"pdo\svc_web"),
                (Host, "PDO-WEB01"),
            ],
            indicator: None,
            tlp: Tlp::Green,
            fp: false,
        },
        Hit {
            key: "2",
            incident: Some("INC-001"),
            rule: "indicator--1d2e3f40-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
            time: "2026-02-10T22:01:10.5Z",
            attack: &["T1071.001"],
            entities: vec![(Domain, "update-check.example.net"), (Host, "PDO-WEB01")],
            indicator: Some(("domain", "update-check.example.net", "TLP:AMBER")),
            tlp: Tlp::Green,
            fp: false,
        },
        Hit {
            key: "3",
            incident: Some("INC-001"),
            rule: "indicator--9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a",
            time: "2026-02-10T22:30:00Z",
            attack: &["T1105"],
            entities: vec![(Address, "198.51.100.99")],
            indicator: Some(("ipv4", "198.51.100.99", "TLP:GREEN")),
            tlp: Tlp::Green,
            fp: true,
        },
        Hit {
            key: "4",
            incident: Some("INC-002"),
            rule: "0d9f1a2b-lsass-dump",
            time: "2026-02-11T02:05:00.123456Z",
            attack: &["T1003.001"],
            entities: vec![(File, r"C:\Windows\Temp\lsass.dmp"), (Host, "PDO-DC01")],
            indicator: None,
            tlp: Tlp::Green,
            fp: false,
        },
        Hit {
            key: "5",
            incident: Some("INC-002"),
            rule: "indicator--0a0b0c0d-1e1f-4a2b-8c3d-4e5f60718293",
            time: "2026-02-11T02:07:30Z",
            attack: &[],
            entities: vec![(Host, "PDO-DC01")],
            indicator: Some((
                "sha256",
                "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                "TLP:RED",
            )),
            tlp: Tlp::Green,
            fp: false,
        },
    ]
}

fn detection(h: &Hit) -> Detection {
    Detection {
        rule_id: Some(h.rule.to_string()),
        rule_title: format!("rule {}", h.rule),
        level: None,
        timestamp: Some(h.time.to_string()),
        host: None,
        attack: h.attack.iter().map(|s| s.to_string()).collect(),
        source: SourceRef {
            path: "evidence/web01/u_ex260210.log".into(),
            record_id: None,
            line: Some(100 + h.key.parse::<u64>().unwrap()),
            recovered: false,
        },
        event: Map::new(),
        kind: if h.indicator.is_some() {
            DetectionKind::Indicator
        } else {
            DetectionKind::Detection
        },
        rule_path: "rules".into(),
        logsource: None,
        correlation: None,
        indicator: h.indicator.map(|(kind, value, tlp)| IndicatorInfo {
            id: h.rule.to_string(),
            name: None,
            kind: kind.into(),
            value: value.into(),
            field: None,
            pattern: None,
            source: "partner-feed.json".into(),
            tlp: Some(tlp.into()),
            // The GREEN and AMBER feeds name the group; the RED one (a single analyst's tip)
            // does not, so the attribution stays shareable at AMBER.
            intrusion_set: (tlp != "TLP:RED" && tlp != "red").then(|| "Leviathan".into()),
            intrusion_sets: vec![],
            confidence: Some(80),
            labels: vec![],
        }),
        yara: None,
    }
}

pub fn shared(hits: &[Hit]) -> Vec<SharedDetection> {
    hits.iter()
        .map(|h| SharedDetection {
            key: h.key.to_string(),
            detection: detection(h),
            tlp: h.tlp,
            false_positive: h.fp,
        })
        .collect()
}

fn incident(id: &str, title: &str, hits: &[Hit]) -> Incident {
    let mine: Vec<&Hit> = hits.iter().filter(|h| h.incident == Some(id)).collect();
    let events = mine
        .iter()
        .map(|h| {
            let d = detection(h);
            IncidentEvent {
                index: h.key.parse().unwrap(),
                kind: d.kind.as_str().into(),
                rule_id: d.rule_id.clone(),
                rule_title: d.rule_title.clone(),
                level: None,
                timestamp: d.timestamp.clone(),
                host: None,
                attack: d.attack.clone(),
                tactic: None,
                source: d.source.clone(),
                entities: h
                    .entities
                    .iter()
                    .map(|(k, v)| Entity {
                        kind: *k,
                        value: v.to_string(),
                    })
                    .collect(),
                summary: "…".into(),
            }
        })
        .collect();
    Incident {
        id: id.into(),
        title: title.into(),
        severity: Severity::High,
        severity_reasons: vec!["hands-on-keyboard activity".into()],
        first_seen: mine.first().map(|h| h.time.to_string()),
        last_seen: mine.last().map(|h| h.time.to_string()),
        hosts: vec![],
        accounts: vec![],
        addresses: vec![],
        web_shells: vec![],
        techniques: vec![],
        phases: vec![],
        events,
        links: vec![],
        narrative: format!("{title}."),
    }
}

pub fn investigation(hits: &[Hit], attributed: bool) -> Investigation {
    let verdict = if attributed {
        json!({"kind": "attributed", "id": "G0065", "name": "Leviathan", "confidence": 0.82, "threshold": 0.6})
    } else {
        json!({"kind": "insufficient-evidence", "reason": "below threshold", "unknown": 0.5,
               "hypotheses": [], "threshold": 0.6})
    };
    let assessment = serde_json::from_value(json!({
        "candidates": [{
            "id": "G0065", "name": "Leviathan", "aliases": ["APT40", "Gingham Typhoon"],
            "probability": 0.82, "rank": 1, "logit": 1.5,
            "evidence": [
                {"channel": "technique", "item": "T1505.003 Server Software Component: Web Shell",
                 "weight": 0.9, "direction": "for", "observed": true},
                {"channel": "infrastructure", "item": "203.0.113.45",
                 "weight": 0.8, "direction": "for", "observed": true},
                {"channel": "technique", "item": "T1003.001 OS Credential Dumping: LSASS Memory",
                 "weight": 0.4, "direction": "for", "observed": true}
            ]
        }],
        "unknown": 0.1, "rest": 0.08, "verdict": verdict,
        "summary": {"techniques": 4, "software": 0, "indicators_matched": 1, "indicators": 4, "cves": 0,
                    "sectors": 0, "countries": 0, "activity_hours": 3, "group_tags": 0},
        "unresolved": [], "groups_ranked": 170, "prior": "documentation", "rank_micros": 10
    }))
    .expect("assessment fixture");
    let tech = |id: &str, name: &str, tactic: &str| TechniqueCount {
        id: id.into(),
        name: name.into(),
        tactics: vec![tactic.into()],
        count: 1,
    };
    Investigation {
        title: "Operation Quiet Draft".into(),
        organisation: "Parliamentary Drafting Office".into(),
        generated: "2026-02-12T09:00:00Z".into(),
        tlp: "TLP:GREEN".into(),
        incidents: vec![
            incident("INC-001", "Web shell on PDO-WEB01", hits),
            incident("INC-002", "Credential dumping on PDO-DC01", hits),
        ],
        assessment: Some(assessment),
        techniques: vec![
            tech(
                "T1190",
                "Exploit Public-Facing Application",
                "initial-access",
            ),
            tech(
                "T1505.003",
                "Server Software Component: Web Shell",
                "persistence",
            ),
            tech(
                "T1003.001",
                "OS Credential Dumping: LSASS Memory",
                "credential-access",
            ),
            tech(
                "T1071.001",
                "Application Layer Protocol: Web Protocols",
                "command-and-control",
            ),
            tech("T1105", "Ingress Tool Transfer", "command-and-control"),
        ],
        ..Investigation::default()
    }
}
