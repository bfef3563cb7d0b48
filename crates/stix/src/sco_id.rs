//! Deterministic identifiers for cyber-observable objects (STIX 2.1 §2.9).
//!
//! Two producers that see the same IP address must give it the same id, or every merge of
//! partner intelligence duplicates it. STIX 2.1 therefore makes SCO ids UUIDv5 in a fixed
//! namespace over the JSON Canonicalization Scheme (RFC 8785) form of the type's
//! *ID-contributing properties*. With several hashes only one is used, chosen MD5, SHA-1,
//! SHA-256, SHA-512 in that order (as python-stix2 does), so the id does not depend on
//! which hashes a producer happened to compute beyond that preference.
//! Types with no contributing properties present (and `process`) get a random UUIDv4.

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::object::{StixObject, TypedObject, ViewError};

/// The STIX 2.1 namespace for SCO UUIDv5 ids: `00abedb4-aa42-466c-9c01-fed23315a9b7`.
pub const SCO_NAMESPACE: Uuid = Uuid::from_bytes([
    0x00, 0xab, 0xed, 0xb4, 0xaa, 0x42, 0x46, 0x6c, 0x9c, 0x01, 0xfe, 0xd2, 0x33, 0x15, 0xa9, 0xb7,
]);

/// The ID-contributing properties of each STIX 2.1 SCO type (empty for `process` and for
/// types the specification does not define).
pub fn id_contributing_properties(sco_type: &str) -> &'static [&'static str] {
    match sco_type {
        "artifact" => &["hashes", "payload_bin"],
        "autonomous-system" => &["number"],
        "directory" => &["path"],
        "domain-name" | "email-addr" | "ipv4-addr" | "ipv6-addr" | "mac-addr" | "url" => &["value"],
        "email-message" => &["from_ref", "subject", "body"],
        "file" => &["hashes", "name", "parent_directory_ref", "extensions"],
        "mutex" => &["name"],
        "network-traffic" => &[
            "start",
            "end",
            "src_ref",
            "dst_ref",
            "src_port",
            "dst_port",
            "protocols",
            "extensions",
        ],
        "software" => &["name", "cpe", "swid", "vendor", "version"],
        "user-account" => &["account_type", "user_id", "account_login"],
        "windows-registry-key" => &["key", "values"],
        "x509-certificate" => &["hashes", "serial_number"],
        _ => &[],
    }
}

fn choose_one_hash(hashes: &Map<String, Value>) -> Option<Map<String, Value>> {
    let key = ["MD5", "SHA-1", "SHA-256", "SHA-512"]
        .into_iter()
        .find(|k| hashes.contains_key(*k))
        .map(str::to_string)
        .or_else(|| hashes.keys().next().cloned())?;
    let mut m = Map::new();
    m.insert(key.clone(), hashes[&key].clone());
    Some(m)
}

/// The UUIDv5 id an SCO must have, or `None` when its type has no ID-contributing
/// properties or none of them is present (then the id must be a UUIDv4).
/// `obj` must have a `type`; an existing `id` is ignored.
pub fn deterministic_id(obj: &Map<String, Value>) -> Option<String> {
    let ty = obj.get("type")?.as_str()?;
    let props = id_contributing_properties(ty);
    let mut streamlined = Map::new();
    for &p in props {
        let Some(v) = obj.get(p) else { continue };
        if p == "hashes" {
            if let Some(h) = v.as_object().and_then(choose_one_hash) {
                streamlined.insert(p.to_string(), Value::Object(h));
            }
        } else {
            streamlined.insert(p.to_string(), v.clone());
        }
    }
    if streamlined.is_empty() {
        return None;
    }
    let data = canonical_json(&Value::Object(streamlined));
    Some(format!(
        "{ty}--{}",
        Uuid::new_v5(&SCO_NAMESPACE, data.as_bytes())
    ))
}

/// The id for an SCO: deterministic where the specification asks for it, UUIDv4 otherwise.
pub fn sco_id(obj: &Map<String, Value>) -> String {
    deterministic_id(obj).unwrap_or_else(|| {
        let ty = obj
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("x-unknown");
        format!("{ty}--{}", Uuid::new_v4())
    })
}

/// A new STIX 2.1 SCO from a typed view, with its deterministic id.
pub fn new_sco<T: TypedObject>(view: &T) -> Result<StixObject, ViewError> {
    let mut obj = StixObject::new(T::TYPE, String::new());
    obj.spec_version = Some("2.1".into());
    obj.set_view(view)?;
    let mut m = obj.properties.clone();
    m.insert("type".into(), Value::String(T::TYPE.into()));
    obj.id = sco_id(&m);
    Ok(obj)
}

/// JSON in the RFC 8785 canonical form: object keys sorted by UTF-16 code units, no
/// whitespace, minimal string escaping. Integers print as integers; other numbers use the
/// shortest round-trip form (the ECMAScript exponent forms for very large or small
/// magnitudes are not reproduced, which no ID-contributing property needs).
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.push_str(&i.to_string());
            } else if let Some(u) = n.as_u64() {
                out.push_str(&u.to_string());
            } else if let Some(f) = n.as_f64() {
                if f.fract() == 0.0 && f.abs() < 1e21 {
                    out.push_str(&format!("{f:.0}"));
                } else {
                    out.push_str(&f.to_string());
                }
            }
        }
        Value::String(s) => {
            out.push_str(&serde_json::to_string(s).unwrap_or_default());
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(x, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).unwrap_or_default());
                out.push(':');
                write_canonical(&m[k], out);
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ipv4_example_from_the_research_note() {
        let o = json!({"type": "ipv4-addr", "value": "198.51.100.7"});
        assert_eq!(
            deterministic_id(o.as_object().unwrap()).unwrap(),
            "ipv4-addr--12592121-be4c-5a93-a813-5a5af16e50db"
        );
    }

    #[test]
    fn canonical_form_sorts_and_compacts() {
        let v = json!({"b": [1, 2.5, "é\n"], "a": {"z": null, "y": true}});
        assert_eq!(
            canonical_json(&v),
            r#"{"a":{"y":true,"z":null},"b":[1,2.5,"é\n"]}"#
        );
    }

    #[test]
    fn process_gets_a_random_id() {
        let o = json!({"type": "process", "pid": 4});
        assert!(deterministic_id(o.as_object().unwrap()).is_none());
        let id = sco_id(o.as_object().unwrap());
        assert_eq!(
            Uuid::parse_str(&id["process--".len()..])
                .unwrap()
                .get_version_num(),
            4
        );
    }

    #[test]
    fn new_sco_from_view() {
        let v = crate::sco::Ipv4Addr {
            value: Some("198.51.100.7".into()),
            ..Default::default()
        };
        let o = new_sco(&v).unwrap();
        assert_eq!(o.id, "ipv4-addr--12592121-be4c-5a93-a813-5a5af16e50db");
    }
}
