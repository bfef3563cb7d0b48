//! Validation of STIX 2.1 content against the specification's MUST rules.
//!
//! tiaki both consumes partners' STIX and produces its own; a producer that emits invalid
//! STIX gets its intelligence dropped by the other side's TAXII server, and a consumer
//! that trusts invalid input mis-attributes. [`validate`] checks one object, a bundle (and
//! every object in it) or a list of objects, and returns every [`Issue`] found, each naming
//! the object and the property.
//!
//! Only MUST requirements are errors here; SHOULD-level best practice (custom-property
//! prefixes, open-vocabulary values) is not reported. The rule set is the one the OASIS
//! reference validator (stix2-validator) applies with its default options, written as
//! tables in `tables.rs` plus the cross-property rules in this file, and it is held to the
//! reference's verdicts by the 552 vectors in `tests/validator_vectors.rs`.
//!
//! Custom rules (the equivalent of the reference validator's extra JSON schemas for
//! extension definitions) plug in through [`Validator::with_rule`].

mod musts;
mod pattern_check;
mod props;
mod tables;
mod types;

pub use musts::is_language_tag;

use std::fmt;
use std::sync::{Arc, LazyLock};

use serde_json::{Map, Value};

use crate::object::kind;
use props::{Ty, check, check_custom_value, check_table, id_has_type};
use tables::{
    CORE_PROPS, EXTENSION_TYPES, RESERVED_PROPERTIES, SCO_CORE_PROPS, SCO_TYPES, rules_for,
};

/// One problem found in STIX content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// The id of the object the problem is in (when it has one).
    pub object_id: Option<String>,
    /// The property path, e.g. `external_references[0].external_id` (empty for the object).
    pub property: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(id) = &self.object_id {
            write!(f, "{id}: ")?;
        }
        if !self.property.is_empty() {
            write!(f, "{}: ", self.property)?;
        }
        f.write_str(&self.message)
    }
}

/// The STIX version to validate as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecVersion {
    /// STIX 2.0: only the version-independent checks are applied (see the crate README).
    V20,
    /// STIX 2.1.
    V21,
}

/// Collects issues for one object.
pub(crate) struct Ctx<'a> {
    object_id: Option<String>,
    out: &'a mut Vec<Issue>,
}

impl Ctx<'_> {
    pub(crate) fn err(&mut self, property: &str, message: String) {
        self.out.push(Issue {
            object_id: self.object_id.clone(),
            property: property.to_string(),
            message,
        });
    }
}

/// A custom rule: called with every object validated, returns its issues.
pub type CustomRule = Arc<dyn Fn(&Map<String, Value>) -> Vec<Issue> + Send + Sync>;

/// A configurable validator. [`validate`] is `Validator::new().validate(..)`.
#[derive(Clone, Default)]
pub struct Validator {
    version: Option<SpecVersion>,
    rules: Vec<CustomRule>,
}

impl fmt::Debug for Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Validator")
            .field("version", &self.version)
            .field("rules", &self.rules.len())
            .finish()
    }
}

/// Validates STIX 2.1 content with the default options: one object, a bundle, or a JSON
/// array of objects. An empty result means valid.
pub fn validate(v: &Value) -> Vec<Issue> {
    Validator::new().validate(v)
}

impl Validator {
    /// A validator with the default options: the version comes from the content
    /// (`spec_version`, or 2.1), no custom rules.
    pub fn new() -> Validator {
        Validator::default()
    }

    /// Validates as this STIX version whatever the content says (as the reference
    /// validator's `--version`).
    pub fn force_version(mut self, v: SpecVersion) -> Validator {
        self.version = Some(v);
        self
    }

    /// Adds a rule run on every object (top-level and in bundles), e.g. the schema of an
    /// extension definition the caller knows.
    pub fn with_rule(
        mut self,
        rule: impl Fn(&Map<String, Value>) -> Vec<Issue> + Send + Sync + 'static,
    ) -> Validator {
        self.rules.push(Arc::new(rule));
        self
    }

    /// Validates one object, a bundle, or a JSON array of objects.
    pub fn validate(&self, v: &Value) -> Vec<Issue> {
        let mut out = Vec::new();
        match v {
            Value::Array(items) => {
                for item in items {
                    self.validate_top(item, &mut out);
                }
            }
            other => self.validate_top(other, &mut out),
        }
        out
    }

    fn validate_top(&self, v: &Value, out: &mut Vec<Issue>) {
        let Some(obj) = v
            .as_object()
            .filter(|m| m.contains_key("type") && m.contains_key("id"))
        else {
            out.push(Issue {
                object_id: None,
                property: String::new(),
                message: "input must be a JSON object with 'type' and 'id' properties".into(),
            });
            return;
        };
        let version = self.version.unwrap_or(
            if obj.get("spec_version").and_then(Value::as_str) == Some("2.0") {
                SpecVersion::V20
            } else {
                SpecVersion::V21
            },
        );
        if obj.get("type").and_then(Value::as_str) == Some("bundle") {
            self.validate_bundle(obj, version, out);
        } else {
            self.validate_object(obj, version, out);
        }
    }

    fn validate_bundle(&self, b: &Map<String, Value>, version: SpecVersion, out: &mut Vec<Issue>) {
        let mut ctx = Ctx {
            object_id: b.get("id").and_then(Value::as_str).map(str::to_string),
            out,
        };
        check(&mut ctx, "id", &b["id"], &Ty::IdOf(&["bundle"]));
        if version == SpecVersion::V20 && self.version == Some(SpecVersion::V20) {
            match b.get("spec_version") {
                None => ctx.err(
                    "",
                    "'spec_version' is a required property of a STIX 2.0 bundle".into(),
                ),
                Some(v) if v.as_str() != Some("2.0") => {
                    ctx.err("spec_version", format!("{v} is not '2.0'"))
                }
                _ => {}
            }
        }
        let bundle_version = match b.get("spec_version").and_then(Value::as_str) {
            Some("2.0") => SpecVersion::V20,
            _ => SpecVersion::V21,
        };
        let Some(objects) = b.get("objects") else {
            return;
        };
        let Some(items) = objects.as_array() else {
            ctx.err("objects", format!("must be a list, not {}", kind(objects)));
            return;
        };
        if items.is_empty() {
            ctx.err("objects", "empty lists are not allowed".into());
        }
        for (i, item) in items.iter().enumerate() {
            let Some(o) = item.as_object() else {
                ctx.err(
                    &format!("objects[{i}]"),
                    format!("must be a STIX object, not {}", kind(item)),
                );
                continue;
            };
            if !o.contains_key("type") {
                ctx.err(
                    &format!("objects[{i}]"),
                    "each object in a bundle must have a 'type' property".into(),
                );
                continue;
            }
            // The object's version, as the reference validator decides it: a 2.0 bundle
            // holds 2.0 objects; in a 2.1 bundle an object without spec_version but with
            // created is a 2.0 object; otherwise the forced or declared version.
            let mut v = match self.version {
                Some(v) => v,
                None if o.get("spec_version").and_then(Value::as_str) == Some("2.0") => {
                    SpecVersion::V20
                }
                None => SpecVersion::V21,
            };
            if bundle_version == SpecVersion::V20
                || (!o.contains_key("spec_version") && o.contains_key("created"))
            {
                v = SpecVersion::V20;
            }
            self.validate_object(o, v, ctx.out);
        }
    }

    fn validate_object(&self, o: &Map<String, Value>, version: SpecVersion, out: &mut Vec<Issue>) {
        let mut ctx = Ctx {
            object_id: o.get("id").and_then(Value::as_str).map(str::to_string),
            out,
        };
        let ty = o.get("type").and_then(Value::as_str).unwrap_or("");
        schema_checks(&mut ctx, o, ty, version);
        musts::must_checks(&mut ctx, o, ty);
        for rule in &self.rules {
            ctx.out.extend(rule(o));
        }
    }
}

/// How the object is classified for the common-property rules.
#[derive(PartialEq, Eq, Clone, Copy)]
enum Category {
    /// SDOs, SROs, language-content, extension-definition and custom objects with created/modified.
    Core,
    /// SCOs and custom objects without created/modified.
    Observable,
    /// marking-definition, which has its own rules.
    Marking,
}

fn category(o: &Map<String, Value>, ty: &str) -> Category {
    if ty == "marking-definition" {
        Category::Marking
    } else if SCO_TYPES.contains(&ty) || (!o.contains_key("created") && !o.contains_key("modified"))
    {
        Category::Observable
    } else {
        Category::Core
    }
}

static PROP_NAME: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"^([a-z][a-z0-9_]{2,249})|id$").expect("name"));
static BIN_NAME: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"^[a-z][a-z0-9_]{0,245}_bin$").expect("bin"));
static HEX_NAME: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"^[a-z][a-z0-9_]{0,245}_hex$").expect("hex"));
static STIX20_MILLIS: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"T\d{2}:\d{2}:\d{2}\.\d{3}Z$").expect("millis"));
pub(super) static PROPERTY_FORMAT: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"^[a-z0-9_]{3,250}$").expect("prop"));
pub(super) static PATTERN_TYPE_FORMAT: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"^-?[a-z0-9]+(-[a-z0-9]+)*-?$").expect("type"));

/// Property names: 3–250 characters of a-z, 0-9, `_` starting with a letter (`id` is
/// allowed), `*_bin` values base64 and `*_hex` values hex; no null values, no empty lists.
fn check_property_names(ctx: &mut Ctx, path: &str, m: &Map<String, Value>) {
    for (k, v) in m {
        let p = if path.is_empty() {
            k.clone()
        } else {
            format!("{path}.{k}")
        };
        let bin = BIN_NAME.is_match(k);
        let hex = HEX_NAME.is_match(k);
        let name = PROP_NAME.is_match(k);
        if bin {
            check(ctx, &p, v, &Ty::Binary);
        }
        if hex {
            check(ctx, &p, v, &Ty::Hex);
        }
        if name {
            check_custom_value(ctx, &p, v);
        }
        if !(bin || hex || name) {
            ctx.err(
                path,
                format!("'{k}' is not a valid property name (3–250 characters of a-z, 0-9 and '_', starting with a letter)"),
            );
        }
    }
}

fn check_type_name(ctx: &mut Ctx, v: &Value) {
    let Some(t) = v.as_str() else {
        ctx.err("type", format!("must be a string, not {}", kind(v)));
        return;
    };
    if !props::TYPE_NAME.is_match(t) {
        ctx.err(
            "type",
            format!("'{t}' does not match {}", props::TYPE_NAME.1),
        );
    }
    if t.len() < 3 || t.len() > 250 {
        ctx.err("type", format!("'{t}' must be 3–250 characters long"));
    }
    if t == "action" {
        ctx.err("type", "'action' is a reserved type".into());
    }
}

fn check_extensions(ctx: &mut Ctx, v: &Value, allow_predefined: bool) {
    let Some(m) = v.as_object() else {
        ctx.err("extensions", format!("must be an object, not {}", kind(v)));
        return;
    };
    if m.is_empty() {
        ctx.err("extensions", "must not be empty".into());
    }
    for (k, e) in m {
        let p = format!("extensions.{k}");
        if allow_predefined && props::EXT_NAME.is_match(k) {
            match e.as_object() {
                None => ctx.err(
                    "extensions",
                    format!("'{k}' must be an object, not {}", kind(e)),
                ),
                Some(em) => {
                    if em.is_empty() {
                        ctx.err(&p, "must not be empty".into());
                    }
                    check_property_names(ctx, &p, em);
                }
            }
        } else if props::EXT_DEF_ID.is_match(k) {
            match e.as_object() {
                None => ctx.err(
                    "extensions",
                    format!("'{k}' must be an object, not {}", kind(e)),
                ),
                Some(em) => {
                    match em.get("extension_type") {
                        None => ctx.err(&p, "'extension_type' is a required property".into()),
                        Some(t) => check(
                            ctx,
                            &format!("{p}.extension_type"),
                            t,
                            &Ty::Enum(EXTENSION_TYPES),
                        ),
                    }
                    check_property_names(ctx, &p, em);
                }
            }
        } else {
            ctx.err(
                "extensions",
                format!("'{k}' is neither an extension-definition id nor a predefined '…-ext' extension name"),
            );
        }
    }
}

fn schema_checks(ctx: &mut Ctx, o: &Map<String, Value>, ty: &str, version: SpecVersion) {
    let cat = category(o, ty);
    if let Some(t) = o.get("type") {
        check_type_name(ctx, t);
    }
    let id = o.get("id");
    if let Some(id) = id {
        check(ctx, "id", id, &Ty::Id);
        if let (Some(s), true) = (
            id.as_str(),
            rules_for(ty).is_some() || ty == "marking-definition",
        ) && props::IDENTIFIER.is_match(s)
            && !id_has_type(s, ty)
        {
            ctx.err("id", format!("'{s}' does not start with '{ty}--'"));
        }
    } else {
        ctx.err("", "'id' is a required property".into());
    }

    if version == SpecVersion::V20 {
        // STIX 2.0 content: the version-independent rules only.
        if cat != Category::Observable {
            for r in ["created", "modified"] {
                if (ty != "marking-definition" || r == "created") && !o.contains_key(r) {
                    ctx.err("", format!("'{r}' is a required property"));
                }
            }
            for p in ["created", "modified"] {
                if let Some(v) = o.get(p) {
                    check(ctx, p, v, &Ty::Ts);
                    if v.as_str().is_some_and(|s| !STIX20_MILLIS.is_match(s)) {
                        ctx.err(
                            p,
                            format!("{v} must have exactly millisecond precision in STIX 2.0"),
                        );
                    }
                }
            }
        }
        // STIX 2.0 identifiers (the object's and its references) are UUIDv4.
        for (k, v) in o {
            let ids: Vec<&Value> = if k == "id" || k.ends_with("_ref") {
                vec![v]
            } else if k.ends_with("_refs") {
                v.as_array().map(|a| a.iter().collect()).unwrap_or_default()
            } else {
                continue;
            };
            for id in ids.into_iter().filter_map(Value::as_str) {
                if !props::IDENTIFIER_V20.is_match(id) {
                    ctx.err(
                        k,
                        format!("'{id}' does not match {}", props::IDENTIFIER_V20.1),
                    );
                }
            }
        }
        check_property_names(ctx, "", o);
        return;
    }

    match cat {
        Category::Marking => {
            types::marking_definition_checks(ctx, o);
            return;
        }
        Category::Core => {
            check_table(
                ctx,
                "",
                o,
                &["type", "spec_version", "id", "created", "modified"],
                CORE_PROPS,
            );
        }
        Category::Observable => {
            check_table(ctx, "", o, &["type", "id"], SCO_CORE_PROPS);
        }
    }
    if let Some(e) = o.get("extensions") {
        check_extensions(ctx, e, true);
    }
    check_property_names(ctx, "", o);
    for r in RESERVED_PROPERTIES {
        if o.contains_key(*r) {
            ctx.err(
                r,
                format!("'{r}' is a reserved property and must not be used"),
            );
        }
    }
    if let Some(rules) = rules_for(ty) {
        check_table(ctx, "", o, rules.required, rules.props);
    }
    types::type_specific(ctx, o, ty);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn indicator() -> Value {
        json!({
            "type": "indicator", "spec_version": "2.1",
            "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "created": "2016-04-06T20:03:48.000Z", "modified": "2016-04-06T20:03:48.000Z",
            "pattern_type": "stix", "pattern": "[ipv4-addr:value = '198.51.100.7']",
            "valid_from": "2016-04-06T20:03:48Z"
        })
    }

    fn messages(v: &Value) -> Vec<String> {
        validate(v).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_good_indicator_is_valid() {
        assert_eq!(messages(&indicator()), Vec::<String>::new());
    }

    #[test]
    fn modified_before_created() {
        let mut v = indicator();
        v["modified"] = json!("2015-04-06T20:03:48.000Z");
        let m = messages(&v);
        assert!(
            m.iter()
                .any(|e| e.contains("modified") && e.contains("later than or equal to")),
            "{m:?}"
        );
    }

    #[test]
    fn timestamps_need_z_and_millis() {
        let mut v = indicator();
        v["created"] = json!("2016-04-06T20:03:48Z");
        v["valid_from"] = json!("2016-04-06T20:03:48+00:00");
        let m = messages(&v);
        assert!(
            m.iter()
                .any(|e| e.contains("created: ") && e.contains("millisecond")),
            "{m:?}"
        );
        assert!(m.iter().any(|e| e.contains("valid_from")), "{m:?}");
    }

    #[test]
    fn id_must_match_type() {
        let mut v = indicator();
        v["id"] = json!("malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f");
        assert!(
            messages(&v)
                .iter()
                .any(|e| e.contains("does not start with 'indicator--'"))
        );
        v["id"] = json!("indicator--not-a-uuid");
        assert!(messages(&v).iter().any(|e| e.contains("id format")));
    }

    #[test]
    fn required_and_reserved_properties() {
        let mut v = indicator();
        v.as_object_mut().unwrap().remove("pattern");
        v["severity"] = json!("high");
        let m = messages(&v);
        assert!(
            m.iter()
                .any(|e| e.contains("'pattern' is a required property")),
            "{m:?}"
        );
        assert!(m.iter().any(|e| e.contains("reserved")), "{m:?}");
    }

    #[test]
    fn property_names() {
        let mut v = indicator();
        v["x-bad-name"] = json!(1);
        v["ok_custom"] = json!([]);
        let m = messages(&v);
        assert!(
            m.iter()
                .any(|e| e.contains("'x-bad-name' is not a valid property name")),
            "{m:?}"
        );
        assert!(
            m.iter().any(|e| e.contains("ok_custom: empty lists")),
            "{m:?}"
        );
    }

    #[test]
    fn relationship_refs() {
        let r = json!({"type": "relationship", "spec_version": "2.1",
            "id": "relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad",
            "created": "2016-04-06T20:06:37.000Z", "modified": "2016-04-06T20:06:37.000Z",
            "relationship_type": "indicates",
            "source_ref": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "target_ref": "bundle--31b940d4-6f7f-459a-80ea-9c1f17b5891b"});
        let m = messages(&r);
        assert!(
            m.iter().any(|e| e
                .starts_with("relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad: target_ref:")),
            "{m:?}"
        );
    }

    #[test]
    fn bundle_objects_are_checked() {
        let b = json!({"type": "bundle", "id": "bundle--44af6c39-c09b-49c5-9de2-394224b04982",
            "objects": [indicator(), {"type": "identity", "spec_version": "2.1", "id": "identity--8ae20dde-83d4-4218-88fd-41ef0dabf9d1",
             "created": "2016-08-22T14:09:00.123Z", "modified": "2016-08-22T14:09:00.123Z"}]});
        let m = messages(&b);
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(
            m[0].contains("identity--8ae20dde") && m[0].contains("'name' is a required property")
        );
    }

    #[test]
    fn language_tags() {
        for ok in [
            "en",
            "mi",
            "en-NZ",
            "zh-Hant-TW",
            "eng",
            "es-419",
            "de-CH-1996",
        ] {
            assert!(is_language_tag(ok), "{ok}");
        }
        for bad in ["foo", "bbb", "english", "en_NZ", ""] {
            assert!(!is_language_tag(bad), "{bad}");
        }
    }

    #[test]
    fn custom_rules_plug_in() {
        let v = Validator::new().with_rule(|o| {
            if o.get("name").is_none() {
                vec![Issue {
                    object_id: None,
                    property: "name".into(),
                    message: "our policy wants a name".into(),
                }]
            } else {
                vec![]
            }
        });
        assert_eq!(v.validate(&indicator()).len(), 1);
    }
}
