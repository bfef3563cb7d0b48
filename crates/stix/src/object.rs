//! The STIX 2.1 object model: one struct for every object, typed where tiaki looks.
//!
//! Every STIX object, whatever its type, is a [`StixObject`]: the common properties the
//! specification defines for all objects are typed fields, and everything else (type-specific
//! properties, `x_` custom properties, properties of types tiaki has never heard of such as
//! ATT&CK's `x-mitre-tactic`) lives unchanged in [`StixObject::properties`]. That split is
//! the point: tiaki forwards partners' intelligence, and a round trip through it must not
//! drop or rewrite anything it does not understand.
//!
//! Type-specific structs ([`crate::sdo`], [`crate::sco`]) are *views*: they are deserialized
//! from `properties` on demand ([`StixObject::view`]) and written back with
//! [`StixObject::set_view`]. Each view again keeps the properties it does not name.
//!
//! Deserialization is written by hand rather than derived: a derived `#[serde(flatten)]`
//! buffers every object twice, and the hand-written visitor lets the bundle reader report
//! *which* object (its index and id) failed and why, after reading the whole object.

use std::fmt;

use serde::de::{self, DeserializeOwned, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::timestamp::Timestamp;

/// The name of the ATT&CK external reference source (`mitre-attack`).
pub const MITRE_ATTACK: &str = "mitre-attack";

/// A reference from a STIX object to non-STIX information (a CVE, an ATT&CK id, a URL).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExternalReference {
    /// The source, e.g. `mitre-attack`, `cve`, `capec`. Required by the specification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
    /// A human-readable description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A URL for the reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Hashes of the content at `url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hashes: Option<Map<String, Value>>,
    /// The identifier within the source, e.g. `T1059.001`, `CVE-2021-26855`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Any other properties, kept as read.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A marking that applies to selected properties of an object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GranularMarking {
    /// The language of the selected text (a language marking), instead of a marking reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// The marking-definition that applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marking_ref: Option<String>,
    /// Selectors of the marked properties, e.g. `description`, `external_references.[0].url`.
    #[serde(default)]
    pub selectors: Vec<String>,
    /// Any other properties, kept as read.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A phase of a kill chain; for ATT&CK, `kill_chain_name` is `mitre-attack` and
/// `phase_name` is the tactic's short name (`initial-access`, `exfiltration`, …).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KillChainPhase {
    /// The kill chain, e.g. `mitre-attack`, `lockheed-martin-cyber-kill-chain`.
    pub kill_chain_name: String,
    /// The phase within it.
    pub phase_name: String,
}

/// One STIX object of any type: common properties typed, all others kept verbatim.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StixObject {
    /// The object type (`indicator`, `ipv4-addr`, `x-mitre-tactic`, …).
    pub type_: String,
    /// The identifier, `<type>--<UUID>`.
    pub id: String,
    /// `2.1` for STIX 2.1 objects; absent on 2.0 objects and optional on SCOs.
    pub spec_version: Option<String>,
    /// When the first version of the object was created (SDOs, SROs, marking definitions).
    pub created: Option<Timestamp>,
    /// When this version of the object was created (SDOs and SROs).
    pub modified: Option<Timestamp>,
    /// The identity that created the object.
    pub created_by_ref: Option<String>,
    /// Whether the object has been revoked by its creator.
    pub revoked: Option<bool>,
    /// Free-form classification labels.
    pub labels: Option<Vec<String>>,
    /// The creator's confidence in the object, 0–100.
    pub confidence: Option<i64>,
    /// The language of the object's text properties.
    pub lang: Option<String>,
    /// References to non-STIX information.
    pub external_references: Option<Vec<ExternalReference>>,
    /// Marking definitions that apply to the whole object (e.g. a TLP level).
    pub object_marking_refs: Option<Vec<String>>,
    /// Markings that apply to selected properties.
    pub granular_markings: Option<Vec<GranularMarking>>,
    /// Extensions, keyed by `extension-definition--<UUID>` or a predefined `*-ext` name.
    pub extensions: Option<Map<String, Value>>,
    /// Every other property, exactly as read (type-specific, custom `x_…`, unknown).
    pub properties: Map<String, Value>,
}

/// An object that could not be read as a [`StixObject`]: what was known of it and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectProblem {
    /// The object's `id`, if it had a readable one.
    pub id: Option<String>,
    /// The object's `type`, if it had a readable one.
    pub type_: Option<String>,
    /// One message per bad property, naming the property.
    pub reasons: Vec<String>,
}

impl fmt::Display for ObjectProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reasons.join("; "))
    }
}

/// A typed view of one object type's specific properties (see [`crate::sdo`], [`crate::sco`]).
pub trait TypedObject: Serialize + DeserializeOwned {
    /// The STIX `type` this view is for.
    const TYPE: &'static str;
}

/// Why a typed view could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    /// The object is of another type.
    #[error("object {id} is a '{actual}', not a '{expected}'")]
    WrongType {
        /// The object id.
        id: String,
        /// The view's type.
        expected: &'static str,
        /// The object's type.
        actual: String,
    },
    /// A property has the wrong shape for the view.
    #[error("object {id}: {source}")]
    Property {
        /// The object id.
        id: String,
        /// The serde error, naming the property.
        source: serde_json::Error,
    },
}

impl StixObject {
    /// A new object with only `type` and `id`; fill in the rest with the fields and
    /// [`StixObject::set_view`].
    pub fn new(type_: impl Into<String>, id: impl Into<String>) -> StixObject {
        StixObject {
            type_: type_.into(),
            id: id.into(),
            ..StixObject::default()
        }
    }

    /// A new STIX 2.1 domain or relationship object: `spec_version` 2.1 and
    /// `created` = `modified` = `at`.
    pub fn new_sdo(type_: impl Into<String>, id: impl Into<String>, at: Timestamp) -> StixObject {
        StixObject {
            spec_version: Some("2.1".into()),
            created: Some(at.clone()),
            modified: Some(at),
            ..StixObject::new(type_, id)
        }
    }

    /// A new SDO/SRO of the view's type with a fresh UUIDv4 id and the view's properties.
    pub fn from_view<T: TypedObject>(view: &T, at: Timestamp) -> Result<StixObject, ViewError> {
        let id = format!("{}--{}", T::TYPE, uuid::Uuid::new_v4());
        let mut obj = StixObject::new_sdo(T::TYPE, id, at);
        obj.set_view(view)?;
        Ok(obj)
    }

    /// The type-specific view of this object, e.g. `obj.view::<IntrusionSet>()`.
    pub fn view<T: TypedObject>(&self) -> Result<T, ViewError> {
        if self.type_ != T::TYPE {
            return Err(ViewError::WrongType {
                id: self.id.clone(),
                expected: T::TYPE,
                actual: self.type_.clone(),
            });
        }
        serde_json::from_value(Value::Object(self.properties.clone())).map_err(|source| {
            ViewError::Property {
                id: self.id.clone(),
                source,
            }
        })
    }

    /// Replaces the type-specific properties with those of `view` (common properties stay).
    pub fn set_view<T: TypedObject>(&mut self, view: &T) -> Result<(), ViewError> {
        let value = serde_json::to_value(view).map_err(|source| ViewError::Property {
            id: self.id.clone(),
            source,
        })?;
        if let Value::Object(map) = value {
            self.properties = map;
        }
        Ok(())
    }

    /// A property that is not one of the typed common ones, e.g. `name`, `x_mitre_version`.
    pub fn get(&self, property: &str) -> Option<&Value> {
        self.properties.get(property)
    }

    /// A string property, if present and a string.
    pub fn get_str(&self, property: &str) -> Option<&str> {
        self.properties.get(property).and_then(Value::as_str)
    }

    /// The `name` property, which most SDOs have.
    pub fn name(&self) -> Option<&str> {
        self.get_str("name")
    }

    /// The `description` property.
    pub fn description(&self) -> Option<&str> {
        self.get_str("description")
    }

    /// The `external_id` of the first external reference from `source_name`, e.g.
    /// `external_id("mitre-attack")` → `Some("G0065")`.
    pub fn external_id(&self, source_name: &str) -> Option<&str> {
        self.external_references
            .as_deref()?
            .iter()
            .find(|r| r.source_name.as_deref() == Some(source_name))
            .and_then(|r| r.external_id.as_deref())
    }

    /// The ATT&CK id (`T1059.001`, `G0065`, `S0154`, `TA0001`), if the object has one.
    pub fn attack_id(&self) -> Option<&str> {
        self.external_id(MITRE_ATTACK)
    }

    /// Whether the creator revoked the object (`revoked: true`).
    pub fn is_revoked(&self) -> bool {
        self.revoked == Some(true)
    }

    /// Whether ATT&CK marks the object deprecated (`x_mitre_deprecated: true`).
    pub fn is_deprecated(&self) -> bool {
        self.get("x_mitre_deprecated").and_then(Value::as_bool) == Some(true)
    }

    /// The type prefix of the id (`indicator` for `indicator--…`).
    pub fn id_type(&self) -> &str {
        self.id.split_once("--").map_or("", |(t, _)| t)
    }

    /// Converts the object to a JSON value (common properties first).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Reads an object from a JSON value.
    pub fn from_value(value: Value) -> Result<StixObject, serde_json::Error> {
        serde_json::from_value(value)
    }

    /// The object's `kill_chain_phases` (attack patterns, indicators, malware, tools).
    pub fn kill_chain_phases(&self) -> Vec<KillChainPhase> {
        self.get("kill_chain_phases")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default()
    }
}

/// Reads one object from a serde map, collecting every bad property instead of stopping
/// at the first, so the caller can say which object failed and all the reasons.
pub(crate) fn visit_object<'de, A: MapAccess<'de>>(
    mut map: A,
) -> Result<Result<StixObject, ObjectProblem>, A::Error> {
    let mut obj = StixObject::default();
    let mut have_type = false;
    let mut have_id = false;
    let mut reasons = Vec::new();

    fn string(v: Value, prop: &str, reasons: &mut Vec<String>) -> Option<String> {
        match v {
            Value::String(s) => Some(s),
            other => {
                reasons.push(format!("{prop}: expected a string, found {}", kind(&other)));
                None
            }
        }
    }
    fn typed<T: DeserializeOwned>(v: Value, prop: &str, reasons: &mut Vec<String>) -> Option<T> {
        match serde_json::from_value(v) {
            Ok(t) => Some(t),
            Err(e) => {
                reasons.push(format!("{prop}: {e}"));
                None
            }
        }
    }

    while let Some(key) = map.next_key::<String>()? {
        let v: Value = map.next_value()?;
        let r = &mut reasons;
        match key.as_str() {
            "type" => {
                if let Some(s) = string(v, "type", r) {
                    obj.type_ = s;
                    have_type = true;
                }
            }
            "id" => {
                if let Some(s) = string(v, "id", r) {
                    obj.id = s;
                    have_id = true;
                }
            }
            "spec_version" => obj.spec_version = string(v, "spec_version", r),
            "created" => obj.created = typed(v, "created", r),
            "modified" => obj.modified = typed(v, "modified", r),
            "created_by_ref" => obj.created_by_ref = string(v, "created_by_ref", r),
            "revoked" => obj.revoked = typed(v, "revoked", r),
            "labels" => obj.labels = typed(v, "labels", r),
            "confidence" => obj.confidence = typed(v, "confidence", r),
            "lang" => obj.lang = string(v, "lang", r),
            "external_references" => obj.external_references = typed(v, "external_references", r),
            "object_marking_refs" => obj.object_marking_refs = typed(v, "object_marking_refs", r),
            "granular_markings" => obj.granular_markings = typed(v, "granular_markings", r),
            "extensions" => obj.extensions = typed(v, "extensions", r),
            _ => {
                obj.properties.insert(key, v);
            }
        }
    }
    if !have_type && !reasons.iter().any(|r| r.starts_with("type:")) {
        reasons.push("type: required property is missing".into());
    }
    if !have_id && !reasons.iter().any(|r| r.starts_with("id:")) {
        reasons.push("id: required property is missing".into());
    }
    if reasons.is_empty() {
        Ok(Ok(obj))
    } else {
        Ok(Err(ObjectProblem {
            id: have_id.then_some(obj.id),
            type_: have_type.then_some(obj.type_),
            reasons,
        }))
    }
}

/// A short name for a JSON value's kind, for messages.
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub(crate) struct ObjectVisitor;

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = Result<StixObject, ObjectProblem>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a STIX object (a JSON object with 'type' and 'id')")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        visit_object(map)
    }
}

impl<'de> Deserialize<'de> for StixObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match deserializer.deserialize_map(ObjectVisitor)? {
            Ok(obj) => Ok(obj),
            Err(p) => Err(de::Error::custom(match &p.id {
                Some(id) => format!("object {id}: {p}"),
                None => p.to_string(),
            })),
        }
    }
}

impl Serialize for StixObject {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut m = serializer.serialize_map(None)?;
        m.serialize_entry("type", &self.type_)?;
        if let Some(v) = &self.spec_version {
            m.serialize_entry("spec_version", v)?;
        }
        m.serialize_entry("id", &self.id)?;
        if let Some(v) = &self.created_by_ref {
            m.serialize_entry("created_by_ref", v)?;
        }
        if let Some(v) = &self.created {
            m.serialize_entry("created", v)?;
        }
        if let Some(v) = &self.modified {
            m.serialize_entry("modified", v)?;
        }
        if let Some(v) = &self.revoked {
            m.serialize_entry("revoked", v)?;
        }
        if let Some(v) = &self.labels {
            m.serialize_entry("labels", v)?;
        }
        if let Some(v) = &self.confidence {
            m.serialize_entry("confidence", v)?;
        }
        if let Some(v) = &self.lang {
            m.serialize_entry("lang", v)?;
        }
        for (k, v) in &self.properties {
            m.serialize_entry(k, v)?;
        }
        if let Some(v) = &self.external_references {
            m.serialize_entry("external_references", v)?;
        }
        if let Some(v) = &self.object_marking_refs {
            m.serialize_entry("object_marking_refs", v)?;
        }
        if let Some(v) = &self.granular_markings {
            m.serialize_entry("granular_markings", v)?;
        }
        if let Some(v) = &self.extensions {
            m.serialize_entry("extensions", v)?;
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn apt40() -> Value {
        json!({
            "type": "intrusion-set",
            "spec_version": "2.1",
            "id": "intrusion-set--7113eaa5-ba79-4fb3-b68a-398ee9cd698e",
            "created": "2018-04-18T17:59:24.739Z",
            "modified": "2024-04-10T22:38:17.720Z",
            "created_by_ref": "identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5",
            "name": "Leviathan",
            "aliases": ["Leviathan", "APT40", "TEMP.Periscope"],
            "revoked": false,
            "x_mitre_deprecated": false,
            "x_mitre_version": "4.1",
            "x_mitre_domains": ["enterprise-attack"],
            "external_references": [
                {"source_name": "mitre-attack", "url": "https://attack.mitre.org/groups/G0065", "external_id": "G0065"},
                {"source_name": "APT40", "description": "(Citation: CISA AA21-200A)", "x_custom": 1}
            ],
            "object_marking_refs": ["marking-definition--fa42a846-8d90-4e51-bc29-71d5b4802168"],
            "granular_markings": [{"marking_ref": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "selectors": ["description"], "x_extra": true}],
            "extensions": {"extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e": {"extension_type": "property-extension", "rank": 5}},
            "confidence": 85,
            "lang": "en",
            "labels": ["state-sponsored"],
            "x_tiaki_note": {"nested": [1, 2.5, null, "x"]}
        })
    }

    #[test]
    fn round_trip_keeps_unknown_properties() {
        let v = apt40();
        let obj: StixObject = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(obj.attack_id(), Some("G0065"));
        assert_eq!(obj.external_id("APT40"), None);
        assert!(!obj.is_revoked());
        assert!(!obj.is_deprecated());
        assert_eq!(obj.name(), Some("Leviathan"));
        assert_eq!(obj.id_type(), "intrusion-set");
        let back = serde_json::to_value(&obj).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn custom_object_types_round_trip() {
        let v = json!({
            "type": "x-mitre-tactic", "id": "x-mitre-tactic--ffd5bcee-6e16-4dd2-8eca-7b3beedf33ca",
            "created": "2018-10-17T00:14:20.652Z", "modified": "2022-04-25T14:00:00.188Z",
            "name": "Initial Access", "x_mitre_shortname": "initial-access",
            "external_references": [{"external_id": "TA0001", "url": "https://attack.mitre.org/tactics/TA0001", "source_name": "mitre-attack"}]
        });
        let obj = StixObject::from_value(v.clone()).unwrap();
        assert_eq!(obj.attack_id(), Some("TA0001"));
        assert_eq!(obj.to_value(), v);
    }

    #[test]
    fn deprecated_and_revoked() {
        let mut v = apt40();
        v["x_mitre_deprecated"] = json!(true);
        v["revoked"] = json!(true);
        let obj = StixObject::from_value(v).unwrap();
        assert!(obj.is_deprecated());
        assert!(obj.is_revoked());
    }

    #[test]
    fn bad_properties_are_all_named() {
        let v = json!({"type": "indicator", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "created": "2016-04-31T00:00:00.000Z", "revoked": "yes"});
        let e = StixObject::from_value(v).unwrap_err().to_string();
        assert!(e.contains("indicator--8e2e2d2b"), "{e}");
        assert!(e.contains("created:"), "{e}");
        assert!(e.contains("revoked:"), "{e}");
        let e = StixObject::from_value(json!({"type": "indicator"}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("id: required"), "{e}");
    }
}
