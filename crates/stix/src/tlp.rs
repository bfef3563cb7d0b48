//! The Traffic Light Protocol (FIRST TLP 2.0) as STIX 2.1 encodes it.
//!
//! tiaki shares findings with partner agencies, and the TLP marking decides who may see
//! them. Markings are recognised **by marking-definition id, never by name** (names are
//! free text): the five TLP 2.0 definitions OASIS publishes through
//! `extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d`, and the four TLP 1.0
//! definitions predefined in STIX 2.1 (WHITE counts as CLEAR). Levels are ordered
//! CLEAR < GREEN < AMBER < AMBER+STRICT < RED so that "most restrictive wins" is `max`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value, json};

use crate::object::StixObject;
use crate::timestamp::Timestamp;

/// The extension definition that carries TLP 2.0 marking definitions.
pub const TLP2_EXTENSION_ID: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

/// The `created` timestamp of the OASIS TLP 2.0 marking definitions.
pub const TLP2_CREATED: &str = "2022-10-01T00:00:00.000Z";

/// The `created` timestamp of the STIX 2.1 predefined TLP 1.0 marking definitions.
pub const TLP1_CREATED: &str = "2017-01-20T00:00:00.000Z";

/// A TLP level, ordered from least to most restrictive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tlp {
    /// TLP:CLEAR (TLP 1.0 WHITE): no limit on disclosure.
    Clear,
    /// TLP:GREEN: the recipient's community, not public.
    Green,
    /// TLP:AMBER: the recipient's organisation and its clients, need-to-know.
    Amber,
    /// TLP:AMBER+STRICT: the recipient's organisation only.
    AmberStrict,
    /// TLP:RED: named individual recipients only.
    Red,
}

/// A string that names no TLP level.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a TLP level (expected CLEAR, WHITE, GREEN, AMBER, AMBER+STRICT or RED)")]
pub struct TlpParseError(pub String);

impl Tlp {
    /// All levels, least restrictive first.
    pub const ALL: [Tlp; 5] = [
        Tlp::Clear,
        Tlp::Green,
        Tlp::Amber,
        Tlp::AmberStrict,
        Tlp::Red,
    ];

    /// The TLP 2.0 marking-definition id.
    pub fn marking_id(self) -> &'static str {
        match self {
            Tlp::Clear => "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
            Tlp::Green => "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
            Tlp::Amber => "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
            Tlp::AmberStrict => "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
            Tlp::Red => "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
        }
    }

    /// The TLP 1.0 marking-definition id; AMBER+STRICT has none.
    pub fn marking_id_v1(self) -> Option<&'static str> {
        match self {
            Tlp::Clear => Some("marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"),
            Tlp::Green => Some("marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"),
            Tlp::Amber => Some("marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"),
            Tlp::AmberStrict => None,
            Tlp::Red => Some("marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"),
        }
    }

    /// The level for a TLP 1.0 consumer: AMBER+STRICT becomes RED (never AMBER), the rest
    /// keep their level (CLEAR is written as WHITE).
    pub fn for_tlp1_consumer(self) -> Tlp {
        if self == Tlp::AmberStrict {
            Tlp::Red
        } else {
            self
        }
    }

    /// Recognises a TLP 2.0 or TLP 1.0 marking-definition id.
    pub fn from_marking_id(id: &str) -> Option<Tlp> {
        Tlp::ALL
            .into_iter()
            .find(|t| t.marking_id() == id || t.marking_id_v1() == Some(id))
    }

    /// The value of the `tlp_2_0` extension property (`clear`, `amber+strict`, …).
    pub fn tlp2_value(self) -> &'static str {
        match self {
            Tlp::Clear => "clear",
            Tlp::Green => "green",
            Tlp::Amber => "amber",
            Tlp::AmberStrict => "amber+strict",
            Tlp::Red => "red",
        }
    }

    /// The TLP 2.0 label, e.g. `TLP:AMBER+STRICT`.
    pub fn label(self) -> &'static str {
        match self {
            Tlp::Clear => "TLP:CLEAR",
            Tlp::Green => "TLP:GREEN",
            Tlp::Amber => "TLP:AMBER",
            Tlp::AmberStrict => "TLP:AMBER+STRICT",
            Tlp::Red => "TLP:RED",
        }
    }

    /// The TLP 2.0 marking-definition object, exactly as OASIS publishes it. Bundles that
    /// use TLP 2.0 must include it: unlike TLP 1.0 it is not predefined by STIX.
    pub fn marking_definition(self) -> StixObject {
        let mut obj = StixObject::new("marking-definition", self.marking_id());
        obj.spec_version = Some("2.1".into());
        obj.created = Timestamp::parse(TLP2_CREATED).ok();
        obj.properties
            .insert("name".into(), Value::String(self.label().into()));
        let mut ext = Map::new();
        ext.insert(
            TLP2_EXTENSION_ID.into(),
            json!({"extension_type": "property-extension", "tlp_2_0": self.tlp2_value()}),
        );
        obj.extensions = Some(ext);
        obj
    }

    /// The STIX 2.1 predefined TLP 1.0 marking-definition object (none for AMBER+STRICT).
    pub fn marking_definition_v1(self) -> Option<StixObject> {
        let id = self.marking_id_v1()?;
        let (name, word) = match self {
            Tlp::Clear => ("TLP:WHITE", "white"),
            Tlp::Green => ("TLP:GREEN", "green"),
            Tlp::Amber => ("TLP:AMBER", "amber"),
            _ => ("TLP:RED", "red"),
        };
        let mut obj = StixObject::new("marking-definition", id);
        obj.spec_version = Some("2.1".into());
        obj.created = Timestamp::parse(TLP1_CREATED).ok();
        obj.properties.insert("name".into(), json!(name));
        obj.properties
            .insert("definition_type".into(), json!("tlp"));
        obj.properties
            .insert("definition".into(), json!({ "tlp": word }));
        Some(obj)
    }

    /// The level a marking-definition object stands for: by its id first, then by the
    /// `tlp_2_0` extension property or a TLP 1.0 `definition`, so a partner's own copy of a
    /// TLP definition under another id is still understood.
    pub fn from_marking_definition(md: &StixObject) -> Option<Tlp> {
        if md.type_ != "marking-definition" {
            return None;
        }
        if let Some(t) = Tlp::from_marking_id(&md.id) {
            return Some(t);
        }
        if let Some(v) = md
            .extensions
            .as_ref()
            .and_then(|e| e.get(TLP2_EXTENSION_ID))
            .and_then(|e| e.get("tlp_2_0"))
            .and_then(Value::as_str)
        {
            return v.parse().ok();
        }
        if md.get_str("definition_type") == Some("tlp") {
            return md
                .get("definition")
                .and_then(|d| d.get("tlp"))
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok());
        }
        None
    }

    /// The most restrictive of several levels (`None` for none).
    pub fn most_restrictive(levels: impl IntoIterator<Item = Tlp>) -> Option<Tlp> {
        levels.into_iter().max()
    }
}

/// The TLP of an object from its `object_marking_refs`: the most restrictive TLP marking
/// it references, or `None` when it has no TLP marking. Unmarked is *not* CLEAR: the caller
/// decides (see the research note, "most restrictive of any container").
pub fn tlp_of(obj: &StixObject) -> Option<Tlp> {
    Tlp::most_restrictive(
        obj.object_marking_refs
            .iter()
            .flatten()
            .filter_map(|r| Tlp::from_marking_id(r)),
    )
}

/// [`tlp_of`] for an object held as JSON.
pub fn tlp_of_value(obj: &Value) -> Option<Tlp> {
    Tlp::most_restrictive(
        obj.get("object_marking_refs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter_map(Tlp::from_marking_id),
    )
}

impl FromStr for Tlp {
    type Err = TlpParseError;
    /// Accepts `TLP:AMBER+STRICT`, `tlp:clear`, `amber+strict`, `TLP:WHITE`, `amber-strict`.
    fn from_str(s: &str) -> Result<Tlp, TlpParseError> {
        let t = s.trim().to_ascii_lowercase();
        let t = t
            .strip_prefix("tlp:")
            .or_else(|| t.strip_prefix("tlp "))
            .unwrap_or(&t)
            .trim();
        Ok(match t {
            "clear" | "white" => Tlp::Clear,
            "green" => Tlp::Green,
            "amber" => Tlp::Amber,
            "amber+strict" | "amber-strict" | "amber_strict" | "amber strict" => Tlp::AmberStrict,
            "red" => Tlp::Red,
            _ => return Err(TlpParseError(s.to_string())),
        })
    }
}

impl fmt::Display for Tlp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl Serialize for Tlp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.label())
    }
}

impl<'de> Deserialize<'de> for Tlp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Tlp, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordering_and_most_restrictive() {
        assert!(Tlp::Clear < Tlp::Green);
        assert!(Tlp::Green < Tlp::Amber);
        assert!(Tlp::Amber < Tlp::AmberStrict);
        assert!(Tlp::AmberStrict < Tlp::Red);
        assert_eq!(
            Tlp::most_restrictive([Tlp::Green, Tlp::AmberStrict, Tlp::Amber]),
            Some(Tlp::AmberStrict)
        );
        assert_eq!(Tlp::most_restrictive([]), None);
    }

    #[test]
    fn parsing() {
        assert_eq!("TLP:AMBER+STRICT".parse::<Tlp>().unwrap(), Tlp::AmberStrict);
        assert_eq!("tlp:clear".parse::<Tlp>().unwrap(), Tlp::Clear);
        assert_eq!("amber+strict".parse::<Tlp>().unwrap(), Tlp::AmberStrict);
        assert_eq!("TLP:WHITE".parse::<Tlp>().unwrap(), Tlp::Clear);
        assert_eq!(" Red ".parse::<Tlp>().unwrap(), Tlp::Red);
        assert!("TLP:PURPLE".parse::<Tlp>().is_err());
        for t in Tlp::ALL {
            assert_eq!(t.to_string().parse::<Tlp>().unwrap(), t);
        }
    }

    #[test]
    fn ids_of_both_versions_are_recognised() {
        for t in Tlp::ALL {
            assert_eq!(Tlp::from_marking_id(t.marking_id()), Some(t));
            if let Some(id) = t.marking_id_v1() {
                assert_eq!(Tlp::from_marking_id(id), Some(t));
            }
        }
        assert_eq!(
            Tlp::from_marking_id("marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"),
            Some(Tlp::Clear)
        );
        assert_eq!(Tlp::AmberStrict.for_tlp1_consumer(), Tlp::Red);
    }

    #[test]
    fn tlp_of_an_object() {
        let mut o = StixObject::new(
            "indicator",
            "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        );
        assert_eq!(tlp_of(&o), None);
        o.object_marking_refs = Some(vec![
            Tlp::Green.marking_id_v1().unwrap().into(),
            "marking-definition--00000000-0000-4000-8000-000000000000".into(),
            Tlp::Amber.marking_id().into(),
        ]);
        assert_eq!(tlp_of(&o), Some(Tlp::Amber));
        assert_eq!(tlp_of_value(&o.to_value()), Some(Tlp::Amber));
    }

    #[test]
    fn marking_definition_objects() {
        let md = Tlp::AmberStrict.marking_definition();
        let expected: Value = serde_json::from_str(r#"{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003","created":"2022-10-01T00:00:00.000Z","name":"TLP:AMBER+STRICT","extensions":{"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d":{"extension_type":"property-extension","tlp_2_0":"amber+strict"}}}"#).unwrap();
        assert_eq!(md.to_value(), expected);
        assert_eq!(Tlp::from_marking_definition(&md), Some(Tlp::AmberStrict));
        for t in Tlp::ALL {
            assert!(crate::validate::validate(&t.marking_definition().to_value()).is_empty());
            if let Some(v1) = t.marking_definition_v1() {
                let issues = crate::validate::validate(&v1.to_value());
                assert!(issues.is_empty(), "{t}: {issues:?}");
            }
        }
        let mut copy = md.clone();
        copy.id = "marking-definition--00000000-0000-4000-8000-000000000000".into();
        assert_eq!(Tlp::from_marking_definition(&copy), Some(Tlp::AmberStrict));
    }
}
