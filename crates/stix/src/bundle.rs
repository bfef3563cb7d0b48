//! Reading and writing STIX bundles, streaming.
//!
//! A bundle is `{"type":"bundle","id":…,"objects":[…]}`, and a real one is large: the
//! ATT&CK enterprise bundle is 50 MB and 24,772 objects. Building one `serde_json::Value`
//! for it first and converting afterwards doubles the memory and the time, so the reader
//! is a serde visitor over the `objects` array that hands each object to a callback as
//! soon as it is parsed; only one object is in memory at a time.
//!
//! Errors say which object failed (its index in `objects`, and its id when it had a
//! readable one) and why, naming every bad property. A lenient reader skips bad objects
//! and reports them in [`BundleSummary::skipped`] instead of stopping: an investigation
//! should not lose a partner's 10,000 good indicators over one malformed one.

use std::cell::RefCell;
use std::fmt;
use std::io::{self, Read, Write};

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::object::{ObjectProblem, StixObject, visit_object};

/// The bundle's own properties (everything but `objects`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BundleHeader {
    /// The bundle id, `bundle--<UUID>`.
    pub id: Option<String>,
    /// Only STIX 2.0 bundles carry a `spec_version` (`"2.0"`).
    pub spec_version: Option<String>,
    /// Any other property of the bundle, kept as read.
    pub extra: Map<String, Value>,
}

/// What a bundle read produced besides the objects.
#[derive(Debug, Clone, Default)]
pub struct BundleSummary {
    /// The bundle's own properties.
    pub header: BundleHeader,
    /// How many objects were handed to the callback.
    pub objects: usize,
    /// Objects skipped by a lenient reader, each with its reason.
    pub skipped: Vec<BundleError>,
}

/// Why a bundle (or one object in it) could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    /// The document is not well-formed JSON.
    #[error("not valid JSON at line {line}, column {column}{}: {message}", in_object(*.object))]
    Json {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The index of the object being read, if inside `objects`.
        object: Option<usize>,
        /// The parser's message.
        message: String,
    },
    /// The document is JSON but not a STIX bundle.
    #[error("not a STIX bundle: {0}")]
    NotABundle(String),
    /// One object of the bundle is not a valid STIX object.
    #[error("object {index}{}: {reason}", id.as_ref().map(|i| format!(" ({i})")).unwrap_or_default())]
    Object {
        /// Its 0-based index in `objects`.
        index: usize,
        /// Its id, if it had a readable one.
        id: Option<String>,
        /// Every reason, naming the properties.
        reason: String,
    },
}

fn in_object(o: Option<usize>) -> String {
    o.map(|i| format!(" (in object {i})")).unwrap_or_default()
}

/// Reads bundles, calling back once per object.
#[derive(Debug, Clone, Copy, Default)]
pub struct BundleReader {
    lenient: bool,
}

impl BundleReader {
    /// A strict reader: the first bad object stops the read with an error.
    pub fn new() -> BundleReader {
        BundleReader { lenient: false }
    }

    /// A lenient reader skips bad objects and lists them in [`BundleSummary::skipped`]
    /// (malformed JSON still stops it: after a syntax error nothing can be trusted).
    pub fn lenient(mut self, yes: bool) -> BundleReader {
        self.lenient = yes;
        self
    }

    /// Reads a bundle from a reader (buffer it; it is read in small pieces).
    pub fn read<R: Read>(
        &self,
        reader: R,
        f: impl FnMut(StixObject),
    ) -> Result<BundleSummary, BundleError> {
        let mut de = serde_json::Deserializer::from_reader(reader);
        self.run(&mut de, f)
    }

    /// Reads a bundle held in memory (the fastest way).
    pub fn read_slice(
        &self,
        bytes: &[u8],
        f: impl FnMut(StixObject),
    ) -> Result<BundleSummary, BundleError> {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        self.run(&mut de, f)
    }

    fn run<'de, R: serde_json::de::Read<'de>>(
        &self,
        de: &mut serde_json::Deserializer<R>,
        mut f: impl FnMut(StixObject),
    ) -> Result<BundleSummary, BundleError> {
        let state = RefCell::new(State::default());
        let seed = BundleSeed {
            f: &mut f,
            lenient: self.lenient,
            state: &state,
        };
        let result = seed.deserialize(&mut *de).and_then(|h| de.end().map(|_| h));
        let mut st = state.into_inner();
        match result {
            Ok(header) => Ok(BundleSummary {
                header,
                objects: st.delivered,
                skipped: st.skipped,
            }),
            Err(e) => Err(st.fatal.take().unwrap_or_else(|| BundleError::Json {
                line: e.line(),
                column: e.column(),
                object: st.current,
                message: strip_position(&e.to_string()),
            })),
        }
    }
}

fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// Reads a bundle strictly from a reader, calling `f` for each object.
pub fn read_bundle<R: Read>(
    reader: R,
    f: impl FnMut(StixObject),
) -> Result<BundleSummary, BundleError> {
    BundleReader::new().read(reader, f)
}

/// Reads a bundle strictly from memory, calling `f` for each object.
pub fn read_bundle_slice(
    bytes: &[u8],
    f: impl FnMut(StixObject),
) -> Result<BundleSummary, BundleError> {
    BundleReader::new().read_slice(bytes, f)
}

#[derive(Default)]
struct State {
    delivered: usize,
    current: Option<usize>,
    skipped: Vec<BundleError>,
    fatal: Option<BundleError>,
}

struct BundleSeed<'a, F> {
    f: &'a mut F,
    lenient: bool,
    state: &'a RefCell<State>,
}

impl<'de, F: FnMut(StixObject)> DeserializeSeed<'de> for BundleSeed<'_, F> {
    type Value = BundleHeader;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<BundleHeader, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, F: FnMut(StixObject)> Visitor<'de> for BundleSeed<'_, F> {
    type Value = BundleHeader;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a STIX bundle object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<BundleHeader, A::Error> {
        let mut header = BundleHeader::default();
        let not_bundle = |state: &RefCell<State>, why: String| {
            state.borrow_mut().fatal = Some(BundleError::NotABundle(why.clone()));
            de::Error::custom(why)
        };
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "objects" => map.next_value_seed(ObjectsSeed {
                    f: &mut *self.f,
                    lenient: self.lenient,
                    state: self.state,
                })?,
                "type" => {
                    let t: Value = map.next_value()?;
                    if t.as_str() != Some("bundle") {
                        return Err(not_bundle(self.state, format!("its type is {t}")));
                    }
                }
                "id" => match map.next_value()? {
                    Value::String(s) => header.id = Some(s),
                    other => header.extra.insert("id".into(), other).map_or((), drop),
                },
                "spec_version" => match map.next_value()? {
                    Value::String(s) => header.spec_version = Some(s),
                    other => header
                        .extra
                        .insert("spec_version".into(), other)
                        .map_or((), drop),
                },
                _ => {
                    let v: Value = map.next_value()?;
                    header.extra.insert(key, v);
                }
            }
        }
        Ok(header)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _seq: A) -> Result<BundleHeader, A::Error> {
        Err(not_a_bundle(self.state, "the document is a JSON array"))
    }
    fn visit_str<E: de::Error>(self, _v: &str) -> Result<BundleHeader, E> {
        Err(not_a_bundle(self.state, "the document is a JSON string"))
    }
    fn visit_bool<E: de::Error>(self, _v: bool) -> Result<BundleHeader, E> {
        Err(not_a_bundle(self.state, "the document is a JSON boolean"))
    }
    fn visit_i64<E: de::Error>(self, _v: i64) -> Result<BundleHeader, E> {
        Err(not_a_bundle(self.state, "the document is a JSON number"))
    }
    fn visit_u64<E: de::Error>(self, _v: u64) -> Result<BundleHeader, E> {
        Err(not_a_bundle(self.state, "the document is a JSON number"))
    }
    fn visit_f64<E: de::Error>(self, _v: f64) -> Result<BundleHeader, E> {
        Err(not_a_bundle(self.state, "the document is a JSON number"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<BundleHeader, E> {
        Err(not_a_bundle(self.state, "the document is null"))
    }
}

fn not_a_bundle<E: de::Error>(state: &RefCell<State>, why: &str) -> E {
    state.borrow_mut().fatal = Some(BundleError::NotABundle(why.into()));
    E::custom(why)
}

struct ObjectsSeed<'a, F> {
    f: &'a mut F,
    lenient: bool,
    state: &'a RefCell<State>,
}

impl<'de, F: FnMut(StixObject)> DeserializeSeed<'de> for ObjectsSeed<'_, F> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, F: FnMut(StixObject)> Visitor<'de> for ObjectsSeed<'_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of STIX objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        loop {
            self.state.borrow_mut().current = Some(index);
            let Some(item) = seq.next_element_seed(ElementSeed)? else {
                break;
            };
            match item {
                Ok(obj) => {
                    self.state.borrow_mut().delivered += 1;
                    (self.f)(obj);
                }
                Err(p) => {
                    let err = BundleError::Object {
                        index,
                        id: p.id.clone(),
                        reason: p.to_string(),
                    };
                    let mut st = self.state.borrow_mut();
                    if self.lenient {
                        st.skipped.push(err);
                    } else {
                        let msg = err.to_string();
                        st.fatal = Some(err);
                        return Err(de::Error::custom(msg));
                    }
                }
            }
            index += 1;
        }
        self.state.borrow_mut().current = None;
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Err(not_a_bundle(self.state, "'objects' is null, not an array"))
    }
    fn visit_map<A: MapAccess<'de>>(self, _map: A) -> Result<(), A::Error> {
        Err(not_a_bundle(
            self.state,
            "'objects' is a JSON object, not an array",
        ))
    }
    fn visit_str<E: de::Error>(self, _v: &str) -> Result<(), E> {
        Err(not_a_bundle(
            self.state,
            "'objects' is a string, not an array",
        ))
    }
    fn visit_bool<E: de::Error>(self, _v: bool) -> Result<(), E> {
        Err(not_a_bundle(
            self.state,
            "'objects' is a boolean, not an array",
        ))
    }
    fn visit_i64<E: de::Error>(self, _v: i64) -> Result<(), E> {
        Err(not_a_bundle(
            self.state,
            "'objects' is a number, not an array",
        ))
    }
    fn visit_u64<E: de::Error>(self, _v: u64) -> Result<(), E> {
        Err(not_a_bundle(
            self.state,
            "'objects' is a number, not an array",
        ))
    }
    fn visit_f64<E: de::Error>(self, _v: f64) -> Result<(), E> {
        Err(not_a_bundle(
            self.state,
            "'objects' is a number, not an array",
        ))
    }
}

/// One element of `objects`: a STIX object, or a problem (including "not a JSON object").
struct ElementSeed;

impl<'de> DeserializeSeed<'de> for ElementSeed {
    type Value = Result<StixObject, ObjectProblem>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(ElementVisitor)
    }
}

struct ElementVisitor;

fn not_object(what: &str) -> Result<StixObject, ObjectProblem> {
    Err(ObjectProblem {
        id: None,
        type_: None,
        reasons: vec![format!("expected a JSON object, found {what}")],
    })
}

impl<'de> Visitor<'de> for ElementVisitor {
    type Value = Result<StixObject, ObjectProblem>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a STIX object")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        visit_object(map)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(not_object("an array"))
    }
    fn visit_str<E: de::Error>(self, _v: &str) -> Result<Self::Value, E> {
        Ok(not_object("a string"))
    }
    fn visit_bool<E: de::Error>(self, _v: bool) -> Result<Self::Value, E> {
        Ok(not_object("a boolean"))
    }
    fn visit_i64<E: de::Error>(self, _v: i64) -> Result<Self::Value, E> {
        Ok(not_object("a number"))
    }
    fn visit_u64<E: de::Error>(self, _v: u64) -> Result<Self::Value, E> {
        Ok(not_object("a number"))
    }
    fn visit_f64<E: de::Error>(self, _v: f64) -> Result<Self::Value, E> {
        Ok(not_object("a number"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(not_object("null"))
    }
}

/// A whole bundle in memory. For large inputs prefer [`read_bundle`], which streams.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Bundle {
    /// Always `bundle`.
    #[serde(rename = "type")]
    pub type_: String,
    /// The bundle id.
    pub id: String,
    /// The objects.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<StixObject>,
    /// Any other property of the bundle, kept as read.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Bundle {
    /// An empty bundle with a fresh `bundle--<UUIDv4>` id.
    pub fn new() -> Bundle {
        Bundle {
            type_: "bundle".into(),
            id: format!("bundle--{}", uuid::Uuid::new_v4()),
            objects: Vec::new(),
            extra: Map::new(),
        }
    }

    /// Reads a whole bundle from a reader with the streaming reader (strict).
    pub fn from_reader<R: Read>(reader: R) -> Result<Bundle, BundleError> {
        let mut objects = Vec::new();
        let s = read_bundle(reader, |o| objects.push(o))?;
        Ok(Bundle::from_parts(s.header, objects))
    }

    /// Reads a whole bundle from memory (strict).
    pub fn from_slice(bytes: &[u8]) -> Result<Bundle, BundleError> {
        let mut objects = Vec::new();
        let s = read_bundle_slice(bytes, |o| objects.push(o))?;
        Ok(Bundle::from_parts(s.header, objects))
    }

    fn from_parts(header: BundleHeader, objects: Vec<StixObject>) -> Bundle {
        let mut extra = header.extra;
        if let Some(v) = header.spec_version {
            extra.insert("spec_version".into(), Value::String(v));
        }
        Bundle {
            type_: "bundle".into(),
            id: header.id.unwrap_or_default(),
            objects,
            extra,
        }
    }

    /// Writes the bundle as compact JSON.
    pub fn write_to<W: Write>(&self, w: W) -> io::Result<()> {
        serde_json::to_writer(w, self).map_err(io::Error::from)
    }
}

/// Writes a bundle object by object, without holding them all: `{"type":"bundle","id":…,
/// "objects":[…]}` as compact JSON. Pass objects as they are produced.
pub fn write_bundle<'a, W: Write>(
    mut w: W,
    bundle_id: &str,
    objects: impl IntoIterator<Item = &'a StixObject>,
) -> io::Result<()> {
    w.write_all(b"{\"type\":\"bundle\",\"id\":")?;
    serde_json::to_writer(&mut w, bundle_id)?;
    w.write_all(b",\"objects\":[")?;
    for (i, o) in objects.into_iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        serde_json::to_writer(&mut w, o)?;
    }
    w.write_all(b"]}")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> String {
        json!({
            "type": "bundle",
            "id": "bundle--44af6c39-c09b-49c5-9de2-394224b04982",
            "x_producer": "tiaki",
            "objects": [
                {"type": "identity", "spec_version": "2.1", "id": "identity--8ae20dde-83d4-4218-88fd-41ef0dabf9d1",
                 "created": "2016-08-22T14:09:00.123Z", "modified": "2016-08-22T14:09:00.123Z", "name": "mitre.org"},
                {"type": "x-mitre-collection", "id": "x-mitre-collection--1f5f1533-f617-4ca8-9ab4-6a02367fa019",
                 "created": "2018-01-17T12:56:55.080Z", "modified": "2025-10-28T15:00:00.000Z", "x_mitre_contents": [{"object_ref": "identity--8ae20dde-83d4-4218-88fd-41ef0dabf9d1"}]}
            ]
        })
        .to_string()
    }

    #[test]
    fn streams_objects_and_keeps_header() {
        let mut seen = Vec::new();
        let s = read_bundle_slice(sample().as_bytes(), |o| seen.push(o.id)).unwrap();
        assert_eq!(s.objects, 2);
        assert_eq!(seen.len(), 2);
        assert_eq!(
            s.header.id.as_deref(),
            Some("bundle--44af6c39-c09b-49c5-9de2-394224b04982")
        );
        assert_eq!(s.header.extra["x_producer"], json!("tiaki"));
        let s2 = read_bundle(sample().as_bytes(), |_| {}).unwrap();
        assert_eq!(s2.objects, 2);
    }

    #[test]
    fn write_then_read_is_lossless() {
        let b = Bundle::from_slice(sample().as_bytes()).unwrap();
        let mut out = Vec::new();
        b.write_to(&mut out).unwrap();
        let a: Value = serde_json::from_slice(&out).unwrap();
        let e: Value = serde_json::from_str(&sample()).unwrap();
        assert_eq!(a, e);
        let mut out2 = Vec::new();
        write_bundle(&mut out2, &b.id, &b.objects).unwrap();
        let c: Value = serde_json::from_slice(&out2).unwrap();
        assert_eq!(c["objects"], e["objects"]);
    }

    #[test]
    fn errors_name_the_object() {
        let doc = json!({"type": "bundle", "id": "bundle--44af6c39-c09b-49c5-9de2-394224b04982", "objects": [
            {"type": "identity", "id": "identity--8ae20dde-83d4-4218-88fd-41ef0dabf9d1"},
            {"type": "indicator", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "created": "2016-04-06T20:03:48+01:00"},
            "junk"
        ]})
        .to_string();
        let e = read_bundle_slice(doc.as_bytes(), |_| {}).unwrap_err();
        match &e {
            BundleError::Object { index, id, reason } => {
                assert_eq!(*index, 1);
                assert_eq!(
                    id.as_deref(),
                    Some("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f")
                );
                assert!(reason.contains("created"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        assert!(e.to_string().starts_with("object 1 (indicator--"), "{e}");

        let mut n = 0;
        let s = BundleReader::new()
            .lenient(true)
            .read_slice(doc.as_bytes(), |_| n += 1)
            .unwrap();
        assert_eq!(n, 1);
        assert_eq!(s.skipped.len(), 2);
        assert!(
            s.skipped[1]
                .to_string()
                .contains("object 2: expected a JSON object")
        );
    }

    #[test]
    fn syntax_errors_have_positions() {
        let doc = "{\"type\":\"bundle\",\"objects\":[{\"type\":\"identity\",\n\"id\": }]}";
        match read_bundle_slice(doc.as_bytes(), |_| {}).unwrap_err() {
            BundleError::Json { line, object, .. } => {
                assert_eq!(line, 2);
                assert_eq!(object, Some(0));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            read_bundle_slice(b"{\"type\":\"identity\"}", |_| {}),
            Err(BundleError::NotABundle(_))
        ));
        assert!(matches!(
            read_bundle_slice(b"[1]", |_| {}),
            Err(BundleError::NotABundle(_))
        ));
    }
}
