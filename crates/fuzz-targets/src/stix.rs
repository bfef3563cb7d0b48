//! STIX 2.1: the streaming bundle reader and validator, the indicator feed built on it, and
//! the patterning language (parser, inspector, matcher).
//!
//! Why the pattern target also goes through the indicator feed: a partner's pattern is read
//! by the parser, then turned into index terms by `tiaki-indicators`, then matched against
//! events; each step sees the same hostile text.

use std::sync::OnceLock;

use serde_json::{Value, json};
use tiaki_indicators::feed::{FeedReport, read_stix_bundle};
use tiaki_stix::pattern::Observation;
use tiaki_stix::validate::SpecVersion;
use tiaki_stix::{BundleReader, Pattern, tlp_of, validate};

use crate::MAX_INPUT;
use crate::feeds::sweep;

/// A STIX bundle as `tiaki intel import` and `--intel` read it: leniently (bad objects skipped)
/// and strictly, each object validated, and the indicators taken from it indexed and
/// swept with the observables of a few events.
pub fn stix_bundle(data: &[u8]) {
    if data.len() > MAX_INPUT {
        return;
    }
    let mut objects = 0usize;
    let _ = BundleReader::new().lenient(true).read_slice(data, |o| {
        objects += 1;
        let v = serde_json::to_value(&o).unwrap_or(Value::Null);
        let _ = validate(&v);
        let _ = tlp_of(&o);
    });
    let _ = BundleReader::new().read_slice(data, |_| {});
    let _ = BundleReader::new().read(data, |_| {});
    let mut out = Vec::new();
    let mut report = FeedReport::default();
    if read_stix_bundle(data, "fuzz.json", &mut out, &mut report).is_ok() {
        let _ = report.to_string();
        sweep(out);
    }
}

/// Observations the matcher is tried on when the input brings none: a file, a network
/// connection with addresses, a URL and a registry key, over a few minutes.
fn default_observations() -> &'static [Observation] {
    static OBS: OnceLock<Vec<Observation>> = OnceLock::new();
    OBS.get_or_init(|| {
        let objects = json!([
            {"type": "observed-data", "id": "observed-data--1", "first_observed": "2021-03-15T02:15:00Z",
             "last_observed": "2021-03-15T02:15:00Z", "number_observed": 1,
             "object_refs": ["file--1", "directory--1"]},
            {"type": "file", "id": "file--1", "name": "shell.aspx", "size": 1024,
             "hashes": {"MD5": "0123456789abcdef0123456789abcdef", "SHA-256":
                 "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f"},
             "parent_directory_ref": "directory--1"},
            {"type": "directory", "id": "directory--1", "path": "C:\\inetpub\\wwwroot\\aspnet_client"},
            {"type": "observed-data", "id": "observed-data--2", "first_observed": "2021-03-15T02:16:00Z",
             "last_observed": "2021-03-15T02:17:00Z", "number_observed": 3,
             "object_refs": ["network-traffic--1", "ipv4-addr--1", "ipv6-addr--1", "url--1", "domain-name--1"]},
            {"type": "network-traffic", "id": "network-traffic--1", "src_ref": "ipv4-addr--1",
             "dst_ref": "ipv6-addr--1", "dst_port": 443, "protocols": ["tcp", "tls"],
             "extensions": {"http-request-ext": {"request_method": "POST", "request_value": "/a"}}},
            {"type": "ipv4-addr", "id": "ipv4-addr--1", "value": "198.51.100.7"},
            {"type": "ipv6-addr", "id": "ipv6-addr--1", "value": "2001:db8::7"},
            {"type": "url", "id": "url--1", "value": "http://evil.example/gate.php?id=1"},
            {"type": "domain-name", "id": "domain-name--1", "value": "evil.example",
             "resolves_to_refs": ["ipv4-addr--1"]},
            {"type": "observed-data", "id": "observed-data--3", "first_observed": "2021-03-15T02:20:00Z",
             "last_observed": "2021-03-15T02:20:00.5Z", "number_observed": 1,
             "object_refs": ["windows-registry-key--1", "process--1"]},
            {"type": "windows-registry-key", "id": "windows-registry-key--1",
             "key": "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run",
             "values": [{"name": "x", "data": "c:\\x.exe", "data_type": "REG_SZ"}]},
            {"type": "process", "id": "process--1", "pid": 4242, "command_line": "cmd.exe /c whoami",
             "created_time": "2021-03-15T02:20:00Z", "image_ref": "file--1"}
        ]);
        let list = objects.as_array().cloned().unwrap_or_default();
        Observation::from_stix_objects(&list).unwrap_or_default()
    })
}

/// A STIX pattern, then optionally observations. The first line is the pattern; the rest,
/// when present, is a JSON list of STIX objects (or a bundle) whose `observed-data` are
/// the observations. The pattern is parsed (2.1 and 2.0), validated, inspected, written
/// back and parsed again, matched bracket by bracket and as a whole (with a smaller search
/// budget than the default, so one input stays within the fuzzer's time limit), and read
/// as an indicator's pattern by the STIX indicator feed.
pub fn stix_pattern(data: &[u8]) {
    if data.len() > MAX_INPUT {
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (pattern, rest) = text.split_once('\n').unwrap_or((text, ""));
    let parsed_obs;
    let observations: &[Observation] = if rest.trim().is_empty() {
        default_observations()
    } else {
        let Ok(v) = serde_json::from_str::<Value>(rest) else {
            return;
        };
        let list = match v {
            Value::Array(a) => a,
            other => vec![other],
        };
        match Observation::from_stix_objects(&list) {
            Ok(o) => {
                parsed_obs = o;
                &parsed_obs
            }
            Err(_) => return,
        }
    };
    let _ = Pattern::parse_version(pattern, SpecVersion::V20);
    let _ = Pattern::validate(pattern, SpecVersion::V21);
    if let Ok(p) = Pattern::parse(pattern) {
        let p = p.with_search_budget(200_000);
        let written = p.to_string();
        let _ = Pattern::parse(&written);
        let _ = p.inspect();
        let _ = p.simple_comparisons();
        let _ = p.semantic_issues();
        let _ = p.comparisons();
        let _ = p.check_evaluable();
        for b in 0..p.brackets().len() {
            for o in observations {
                let _ = p.matches_bracket(b, o);
            }
        }
        let found = p.find_binding(observations);
        if crate::verbose() {
            eprintln!(
                "stix_pattern: {} observations, {} brackets: {found:?}",
                observations.len(),
                p.brackets().len()
            );
        }
    }
    // The same pattern as a partner's indicator.
    let bundle = json!({
        "type": "bundle", "id": "bundle--6f3e6c4a-3c8e-4a8c-9b1e-1f0c2c7d3e10",
        "objects": [{
            "type": "indicator", "spec_version": "2.1",
            "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "created": "2021-03-01T00:00:00.000Z", "modified": "2021-03-01T00:00:00.000Z",
            "name": "fuzz", "pattern": pattern, "pattern_type": "stix",
            "valid_from": "2021-03-01T00:00:00Z"
        }]
    });
    let bytes = serde_json::to_vec(&bundle).unwrap_or_default();
    let mut out = Vec::new();
    let mut report = FeedReport::default();
    if read_stix_bundle(&bytes, "fuzz.json", &mut out, &mut report).is_ok() {
        sweep(out);
    }
}
