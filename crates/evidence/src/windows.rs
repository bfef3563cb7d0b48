//! Flattening Windows events into the field names Sigma rules use.
//!
//! Why exactly these rules: SigmaHQ rules, and the SigmaHQ regression data, see a Windows
//! event as one flat map. The rules (`shared/research/sigma-spec.md` 1.8, checked against the
//! 238 flattened regression events):
//!
//! * `<System>` children become their name (`EventID`, `Channel`, `Computer`…); an empty one
//!   is `null` (`Correlation`); a child with text and attributes gives both (`EventID` and
//!   `EventID_Qualifiers`);
//! * `<System>` tag attributes become `Tag_Attribute` (`Provider_Name`, `Provider_Guid`,
//!   `TimeCreated_SystemTime`, `Execution_ProcessID`, `Security_UserID`…);
//! * `<EventData><Data Name="X">v</Data>` becomes `X`, with spaces stripped from the name
//!   (`Source Name` → `SourceName`); attributes of `EventData` itself are dropped; unnamed
//!   `Data` elements become `Data` (a list when there are several); `<Binary>` stays `Binary`;
//! * `<UserData>` (and any other top-level element) is flattened the same way: nested
//!   elements are walked down to their leaves, which become fields named after the leaf;
//! * a name already taken (a `UserData` leaf called `Channel`) gets `_1`, `_2`… appended, so
//!   `<System>` values are never overwritten.
//!
//! The input is the JSON shape `evtx_dump` writes (`{"Event": {"#attributes":…, "System":…}}`),
//! which is also what the `evtx` crate renders records to. It is walked with a serde
//! `DeserializeSeed`, straight from the bytes into the flat map, without building the nested
//! `serde_json::Value` tree first: this is the hot path for both EVTX and JSON exports.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Values that the EVTX reader renders differently from `evtx_dump`'s JSON exports, found by
/// type in the record's substitution values (see `readers::evtx`). Strings equal to one of
/// these renderings are rewritten to the export's form, so an event flattens to the same
/// fields whether it was read from the `.evtx` or from its JSON export.
#[derive(Debug, Default)]
pub(crate) struct Normalize {
    /// GUIDs as the `evtx` crate renders them: `{xxxxxxxx-…}` in lower case (38 bytes).
    pub guids: Vec<[u8; 38]>,
    /// FILETIME/SYSTEMTIME values as rendered: `YYYY-MM-DDThh:mm:ss.fffffffZ` (28 bytes).
    pub times: Vec<[u8; 28]>,
}

impl Normalize {
    fn apply(&self, s: &str) -> Option<String> {
        let b = s.as_bytes();
        if b.len() == 38 && b[0] == b'{' && self.guids.iter().any(|g| g == b) {
            // evtx_dump: upper case, no braces.
            return Some(s[1..37].to_ascii_uppercase());
        }
        if b.len() == 28 && b[27] == b'Z' && self.times.iter().any(|t| t == b) {
            // evtx_dump: microseconds (6 fractional digits, truncated).
            let mut out = String::with_capacity(27);
            out.push_str(&s[..26]);
            out.push('Z');
            return Some(out);
        }
        None
    }
}

/// Flattens one `{"Event": {...}}` JSON document into `out`. Returns `Ok(false)` if the
/// document has no `Event` object (so it is some other shape).
pub(crate) fn flatten_json<'de, D: Deserializer<'de>>(
    de: D,
    out: &mut Map<String, Value>,
    norm: Option<&Normalize>,
) -> Result<bool, D::Error> {
    let mut flat = Flat { out, norm };
    Node {
        flat: &mut flat,
        kind: Kind::Root,
        name: String::new(),
    }
    .deserialize(de)
}

/// Strips spaces from an EventData name (`Source Name` → `SourceName`).
pub(crate) fn data_name(k: &str) -> Cow<'_, str> {
    if k.contains(' ') {
        Cow::Owned(k.replace(' ', ""))
    } else {
        Cow::Borrowed(k)
    }
}

/// Inserts without overwriting: a taken name gets `_1`, `_2`… .
pub(crate) fn put(out: &mut Map<String, Value>, key: String, v: Value) {
    if !out.contains_key(&key) {
        out.insert(key, v);
        return;
    }
    for i in 1.. {
        let k = format!("{key}_{i}");
        if !out.contains_key(&k) {
            out.insert(k, v);
            return;
        }
    }
}

/// Converts digit strings to integers for the fields EVTX stores as integers (text exports
/// carry them as strings), so every Windows input gives the same JSON types.
pub(crate) fn integer_fields(out: &mut Map<String, Value>, names: &[String]) {
    // One pass over the fields (no hashing): most values are not strings of these names.
    for (k, v) in out.iter_mut() {
        let Value::String(s) = v else { continue };
        if !names.iter().any(|n| n.len() == k.len() && n == k) {
            continue;
        }
        let t = s.trim();
        if !t.is_empty() && t.len() <= 20 && t.bytes().all(|c| c.is_ascii_digit()) {
            if let Ok(i) = t.parse::<u64>() {
                *v = Value::Number(i.into());
            }
        } else if let Some(h) = t.strip_prefix("0x")
            && k == "EventRecordID"
            && let Ok(i) = u64::from_str_radix(h, 16)
        {
            *v = Value::Number(i.into());
        }
    }
}

struct Flat<'o, 'n> {
    out: &'o mut Map<String, Value>,
    norm: Option<&'n Normalize>,
}

impl Flat<'_, '_> {
    fn string(&self, s: &str) -> Value {
        if let Some(n) = self.norm
            && let Some(fixed) = n.apply(s)
        {
            return Value::String(fixed);
        }
        Value::String(s.to_owned())
    }
    fn owned_string(&self, s: String) -> Value {
        if let Some(n) = self.norm
            && let Some(fixed) = n.apply(&s)
        {
            return Value::String(fixed);
        }
        Value::String(s)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The document: looks for `Event`.
    Root,
    /// `Event`: `System`, then data containers.
    Event,
    /// `System`: each child is a `SysChild`.
    System,
    /// A child of `System` (`EventID`, `Provider`…): a leaf, or a tag with attributes.
    SysChild,
    /// `#attributes` of a `System` child: each becomes `Tag_Attr`.
    SysAttrs,
    /// `EventData`, `UserData` or an element inside them: leaves become fields.
    Container,
    /// A member of a container: a leaf value, or a nested container.
    DataChild,
}

/// One position in the document being flattened; `name` is the output name at this level.
struct Node<'a, 'o, 'n> {
    flat: &'a mut Flat<'o, 'n>,
    kind: Kind,
    name: String,
}

impl<'de> DeserializeSeed<'de> for Node<'_, '_, '_> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<bool, D::Error> {
        de.deserialize_any(self)
    }
}

impl Node<'_, '_, '_> {
    fn leaf(self, v: Value) -> bool {
        match self.kind {
            Kind::SysChild | Kind::DataChild | Kind::Container => {
                if self.kind == Kind::Container && v.is_null() {
                    return true;
                }
                put(self.flat.out, self.name, v);
                true
            }
            // A scalar where the event or the whole document should be: not an event.
            Kind::Root | Kind::Event => false,
            Kind::System | Kind::SysAttrs => true,
        }
    }
}

impl<'de> Visitor<'de> for Node<'_, '_, '_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an evtx_dump JSON event")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        Ok(self.leaf(Value::Bool(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
        Ok(self.leaf(Value::Number(v.into())))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
        Ok(self.leaf(Value::Number(v.into())))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<bool, E> {
        Ok(self.leaf(Number::from_f64(v).map_or(Value::Null, Value::Number)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        let v = self.flat.string(v);
        Ok(self.leaf(v))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<bool, E> {
        let v = self.flat.owned_string(v);
        Ok(self.leaf(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(self.leaf(Value::Null))
    }
    fn visit_none<E: de::Error>(self) -> Result<bool, E> {
        Ok(self.leaf(Value::Null))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(4));
        while let Some(v) = seq.next_element_seed(ValueSeed(self.flat.norm))? {
            items.push(v);
        }
        Ok(self.leaf(Value::Array(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let Node { flat, kind, name } = self;
        let mut found = kind != Kind::Root;
        while let Some(Key(k)) = map.next_key()? {
            let (child_kind, child_name) = match kind {
                Kind::Root if k == "Event" => (Kind::Event, String::new()),
                Kind::Root => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
                Kind::Event => match &*k {
                    "System" => (Kind::System, String::new()),
                    "#attributes" => {
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    }
                    _ => (Kind::Container, k.into_owned()),
                },
                Kind::System => (Kind::SysChild, k.into_owned()),
                Kind::SysChild => match &*k {
                    "#attributes" => (Kind::SysAttrs, name.clone()),
                    "#text" => (Kind::SysChild, name.clone()),
                    _ => (Kind::SysChild, joined(&name, &k)),
                },
                Kind::SysAttrs => (Kind::SysChild, joined(&name, &k)),
                Kind::Container | Kind::DataChild => match &*k {
                    "#attributes" => {
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    }
                    "#text" => (Kind::DataChild, name.clone()),
                    _ => (Kind::DataChild, data_name(&k).into_owned()),
                },
            };
            let child = Node {
                flat,
                kind: child_kind,
                name: child_name,
            };
            let child_found = map.next_value_seed(child)?;
            if kind == Kind::Root {
                found |= child_found;
            }
        }
        Ok(found)
    }
}

/// `Tag_Attribute` (without `format!`, which is slow on this hot path).
fn joined(tag: &str, attr: &str) -> String {
    let mut s = String::with_capacity(tag.len() + 1 + attr.len());
    s.push_str(tag);
    s.push('_');
    s.push_str(attr);
    s
}

/// A map key, borrowed from the input when possible.
struct Key<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// Deserializes any value, normalizing strings (for lists and objects kept whole).
struct ValueSeed<'n>(Option<&'n Normalize>);

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(match self.0.and_then(|n| n.apply(v)) {
            Some(s) => Value::String(s),
            None => Value::String(v.to_owned()),
        })
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(ValueSeed(self.0))? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut m = Map::new();
        while let Some(Key(k)) = map.next_key()? {
            let v = map.next_value_seed(ValueSeed(self.0))?;
            m.insert(k.into_owned(), v);
        }
        Ok(Value::Object(m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn flat(v: Value) -> Map<String, Value> {
        let mut out = Map::new();
        assert!(flatten_json(v, &mut out, None).unwrap());
        out
    }

    #[test]
    fn system_and_eventdata() {
        let out = flat(json!({"Event": {
            "#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
            "System": {
                "Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing", "Guid": "54849625-5478-4994-A5BA-3E3B0328C30D"}},
                "EventID": {"#attributes": {"Qualifiers": 16384}, "#text": 4688},
                "Correlation": null,
                "Security": {"#attributes": {"UserID": "S-1-5-18"}},
                "Channel": "Security"
            },
            "EventData": {"#attributes": {"Name": "X"}, "Source Name": "Real-Time Protection", "Image": "a.exe",
                          "Data": {"#text": ["p1", "p2"]}, "Binary": "00FF"}
        }}));
        assert_eq!(
            Value::Object(out),
            json!({"Provider_Name": "Microsoft-Windows-Security-Auditing",
                   "Provider_Guid": "54849625-5478-4994-A5BA-3E3B0328C30D",
                   "EventID_Qualifiers": 16384, "EventID": 4688, "Correlation": null,
                   "Security_UserID": "S-1-5-18", "Channel": "Security",
                   "SourceName": "Real-Time Protection", "Image": "a.exe", "Data": ["p1", "p2"], "Binary": "00FF"})
        );
    }

    #[test]
    fn userdata_is_flattened_to_leaves_without_overwriting_system() {
        let out = flat(
            json!({"Event": {"System": {"Channel": "Security", "EventID": 1102},
            "UserData": {"LogFileCleared": {"#attributes": {"xmlns": "x"}, "SubjectUserName": "bob",
                                             "Channel": "System", "BackupPath": null}}}}),
        );
        assert_eq!(
            Value::Object(out),
            json!({"Channel": "Security", "EventID": 1102, "SubjectUserName": "bob",
                   "Channel_1": "System", "BackupPath": null})
        );
    }

    #[test]
    fn other_documents_are_not_events() {
        let mut out = Map::new();
        assert!(!flatten_json(json!({"Event": 1}), &mut out, None).unwrap());
        assert!(!flatten_json(json!({"foo": 1}), &mut out, None).unwrap());
        assert!(out.is_empty());
    }

    #[test]
    fn normalizes_evtx_renderings() {
        let mut n = Normalize::default();
        n.guids.push(*b"{5770385f-c22a-43e0-bf4c-06f5698ffbd9}");
        n.times.push(*b"2025-12-06T21:11:02.6491508Z");
        let mut out = Map::new();
        let doc = br##"{"Event":{"System":{"Provider":{"#attributes":{"Guid":"{5770385f-c22a-43e0-bf4c-06f5698ffbd9}"}},
            "TimeCreated":{"#attributes":{"SystemTime":"2025-12-06T21:11:02.6491508Z"}}},
            "EventData":{"Other":"{00000000-0000-0000-0000-000000000000}","S":"2025-12-06T21:11:02.6491508Z"}}}"##;
        let mut de = serde_json::Deserializer::from_slice(doc);
        assert!(flatten_json(&mut de, &mut out, Some(&n)).unwrap());
        assert_eq!(out["Provider_Guid"], "5770385F-C22A-43E0-BF4C-06F5698FFBD9");
        assert_eq!(out["TimeCreated_SystemTime"], "2025-12-06T21:11:02.649150Z");
        // Only values that were GUID/time typed in the record are rewritten.
        assert_eq!(out["Other"], "{00000000-0000-0000-0000-000000000000}");
    }

    #[test]
    fn integer_conversion() {
        let mut m =
            json!({"EventID": "4688", "Level": " 0 ", "Task": "abc", "EventRecordID": "0x10"})
                .as_object()
                .unwrap()
                .clone();
        let names: Vec<String> = ["EventID", "Level", "Task", "EventRecordID"]
            .map(String::from)
            .into();
        integer_fields(&mut m, &names);
        assert_eq!(
            Value::Object(m),
            json!({"EventID": 4688, "Level": 0, "Task": "abc", "EventRecordID": 16})
        );
    }
}
