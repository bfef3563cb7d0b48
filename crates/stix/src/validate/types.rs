//! Rules that belong to one object type and involve several of its properties.
//!
//! The property tables say what each property is; these functions say how properties of
//! one type go together (a location needs a region, a country or coordinates; an artifact
//! has `payload_bin` or `url`, not both; a TLP 1.0 marking definition is exactly one of the
//! four predefined ones). They are kept apart from the tables because they are logic, and
//! apart from `musts.rs` because they are the per-type ("schema") layer.

use serde_json::{Map, Value};

use super::Ctx;
use super::props::{Ty, check_dict, check_table};
use super::tables::{SCO_CORE_PROPS, SCO_EXTENSIONS, rules_for};
use super::{check_extensions, check_property_names, check_type_name};
use crate::object::kind;

pub(super) fn has(o: &Map<String, Value>, p: &str) -> bool {
    o.contains_key(p)
}

fn any_of(ctx: &mut Ctx, o: &Map<String, Value>, ty: &str, props: &[&str]) {
    if !props.iter().any(|p| has(o, p)) {
        ctx.err(
            "",
            format!(
                "a '{ty}' object must contain at least one of: {}",
                props.join(", ")
            ),
        );
    }
}

pub(super) fn type_specific(ctx: &mut Ctx, o: &Map<String, Value>, ty: &str) {
    match ty {
        "location" => {
            if !(has(o, "region")
                || has(o, "country")
                || (has(o, "latitude") && has(o, "longitude")))
            {
                ctx.err(
                    "",
                    "a location must have 'region', 'country', or 'latitude' and 'longitude'"
                        .into(),
                );
            }
            if has(o, "latitude") != has(o, "longitude") {
                ctx.err(
                    "",
                    "'latitude' and 'longitude' must be given together".into(),
                );
            }
            if has(o, "precision") && !(has(o, "latitude") && has(o, "longitude")) {
                ctx.err(
                    "precision",
                    "'precision' requires 'latitude' and 'longitude'".into(),
                );
            }
        }
        "malware" => {
            if o.get("is_family") == Some(&Value::Bool(true)) && !has(o, "name") {
                ctx.err("", "'name' is required when 'is_family' is true".into());
            }
        }
        "malware-analysis" => any_of(ctx, o, ty, &["result", "analysis_sco_refs"]),
        "observed-data" => observed_data(ctx, o),
        "extension-definition" => {
            let toplevel = o
                .get("extension_types")
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().any(|t| t == "toplevel-property-extension"));
            if has(o, "extension_properties") && !toplevel {
                ctx.err(
                    "extension_properties",
                    "only allowed when 'extension_types' contains 'toplevel-property-extension'"
                        .into(),
                );
            }
        }
        _ => sco_specific(ctx, o, ty),
    }
}

const SDO_TYPES: &[&str] = &[
    "attack-pattern",
    "campaign",
    "course-of-action",
    "grouping",
    "identity",
    "incident",
    "indicator",
    "infrastructure",
    "intrusion-set",
    "location",
    "malware-analysis",
    "malware",
    "note",
    "observed-data",
    "opinion",
    "report",
    "threat-actor",
    "tool",
    "vulnerability",
];

fn observed_data(ctx: &mut Ctx, o: &Map<String, Value>) {
    match (has(o, "objects"), has(o, "object_refs")) {
        (true, true) => ctx.err(
            "",
            "only one of 'objects' and 'object_refs' may be present".into(),
        ),
        (false, false) => ctx.err("", "one of 'objects' or 'object_refs' is required".into()),
        _ => {}
    }
    if let Some(refs) = o.get("object_refs").and_then(Value::as_array) {
        for (i, r) in refs.iter().enumerate() {
            if let Some(s) = r.as_str()
                && SDO_TYPES.iter().any(|t| s.starts_with(t))
            {
                ctx.err(
                    &format!("object_refs[{i}]"),
                    format!("'{s}': observed-data may only refer to SCOs and SROs"),
                );
            }
        }
    }
    if let Some(objects) = o.get("objects") {
        let Some(m) = objects.as_object() else {
            ctx.err(
                "objects",
                "observed-data 'objects' must be a dictionary".into(),
            );
            return;
        };
        if m.is_empty() {
            ctx.err("objects", "must not be empty".into());
        }
        for (k, sco) in m {
            let Some(s) = sco.as_object() else {
                ctx.err(&format!("objects.{k}"), "must be an object".into());
                continue;
            };
            let Some(t) = s.get("type").and_then(Value::as_str) else {
                ctx.err(
                    &format!("objects.{k}"),
                    "an observable object must have a 'type'".into(),
                );
                continue;
            };
            let before = ctx.out.len();
            let mut inner = Ctx {
                object_id: ctx.object_id.clone(),
                out: &mut *ctx.out,
            };
            if let Some(tv) = s.get("type") {
                check_type_name(&mut inner, tv);
            }
            check_table(&mut inner, "", s, &[], SCO_CORE_PROPS);
            if let Some(e) = s.get("extensions") {
                check_extensions(&mut inner, e, true);
            }
            check_property_names(&mut inner, "", s);
            if let Some(rules) = rules_for(t) {
                check_table(&mut inner, "", s, rules.required, rules.props);
            }
            sco_specific(&mut inner, s, t);
            for issue in &mut ctx.out[before..] {
                issue.property = if issue.property.is_empty() {
                    format!("objects.{k}")
                } else {
                    format!("objects.{k}.{}", issue.property)
                };
            }
        }
    }
}

fn sco_specific(ctx: &mut Ctx, o: &Map<String, Value>, ty: &str) {
    match ty {
        "artifact" => {
            match (has(o, "payload_bin"), has(o, "url")) {
                (true, true) => ctx.err(
                    "",
                    "an artifact must contain either 'payload_bin' or 'url' but not both".into(),
                ),
                (false, false) => ctx.err(
                    "",
                    "an artifact must contain either 'payload_bin' or 'url'".into(),
                ),
                (false, true) if !has(o, "hashes") => {
                    ctx.err("", "an artifact with 'url' must also have 'hashes'".into())
                }
                _ => {}
            }
            if has(o, "decryption_key") && !has(o, "encryption_algorithm") {
                ctx.err("decryption_key", "requires 'encryption_algorithm'".into());
            }
        }
        "email-message" => match o.get("is_multipart") {
            Some(Value::Bool(false)) if has(o, "body_multipart") => ctx.err(
                "",
                "since 'is_multipart' is false, 'body_multipart' must not be present".into(),
            ),
            Some(Value::Bool(true)) if has(o, "body") => ctx.err(
                "",
                "since 'is_multipart' is true, 'body' must not be present".into(),
            ),
            Some(Value::Bool(true)) => {
                for (i, part) in o
                    .get("body_multipart")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    if let Some(pm) = part.as_object()
                        && has(pm, "body") == has(pm, "body_raw_ref")
                    {
                        ctx.err(
                            &format!("body_multipart[{i}]"),
                            "a MIME part must have exactly one of 'body' and 'body_raw_ref'".into(),
                        );
                    }
                }
            }
            _ => {}
        },
        "file" => any_of(ctx, o, ty, &["hashes", "name"]),
        "network-traffic" => {
            any_of(ctx, o, ty, &["src_ref", "dst_ref"]);
            if o.get("is_active") == Some(&Value::Bool(true)) && has(o, "end") {
                ctx.err(
                    "end",
                    "if 'is_active' is true, 'end' must not be included".into(),
                );
            }
        }
        "process"
            if !o.keys().any(|k| {
                !matches!(
                    k.as_str(),
                    "type"
                        | "id"
                        | "spec_version"
                        | "object_marking_refs"
                        | "granular_markings"
                        | "defanged"
                )
            }) =>
        {
            ctx.err(
                "",
                "a process must contain at least one property besides the common ones".into(),
            );
        }
        "user-account" => any_of(
            ctx,
            o,
            ty,
            &[
                "extensions",
                "user_id",
                "credential",
                "account_login",
                "account_type",
                "display_name",
                "is_service_account",
                "is_privileged",
                "can_escalate_privs",
                "is_disabled",
                "account_created",
                "account_expires",
                "credential_last_changed",
                "account_first_login",
                "account_last_login",
            ],
        ),
        "windows-registry-key" => {
            any_of(
                ctx,
                o,
                ty,
                &[
                    "key",
                    "values",
                    "modified",
                    "modified_time",
                    "creator_user_ref",
                    "number_of_subkeys",
                ],
            );
            for (i, v) in o
                .get("values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let p = format!("values[{i}]");
                if let Some(vm) = v.as_object() {
                    if !["name", "data", "data_type"]
                        .iter()
                        .any(|k| vm.contains_key(*k))
                    {
                        ctx.err(
                            &p,
                            "a registry value must have 'name', 'data' or 'data_type'".into(),
                        );
                    }
                    check_table(
                        ctx,
                        &p,
                        vm,
                        &[],
                        &[
                            ("name", Ty::Str),
                            ("data", Ty::Str),
                            ("data_type", Ty::Enum(REG_DATA_TYPES)),
                        ],
                    );
                }
            }
        }
        "x509-certificate" => {
            if !o.keys().any(|k| {
                !matches!(
                    k.as_str(),
                    "type"
                        | "id"
                        | "spec_version"
                        | "object_marking_refs"
                        | "granular_markings"
                        | "defanged"
                        | "extensions"
                )
            }) {
                ctx.err(
                    "",
                    "an x509-certificate must contain at least one of its own properties".into(),
                );
            }
            if let Some(x) = o.get("x509_v3_extensions").and_then(Value::as_object) {
                check_table(
                    ctx,
                    "x509_v3_extensions",
                    x,
                    &[],
                    &[
                        ("private_key_usage_period_not_before", Ty::Ts),
                        ("private_key_usage_period_not_after", Ty::Ts),
                    ],
                );
            }
        }
        _ => {}
    }
    if let Some(ext) = o.get("extensions")
        && SCO_EXTENSIONS.iter().any(|(t, ..)| *t == ty)
    {
        check_dict(ctx, "extensions", ext);
        for (name, e) in ext.as_object().into_iter().flatten() {
            let p = format!("extensions.{name}");
            match SCO_EXTENSIONS
                .iter()
                .find(|(t, n, ..)| *t == ty && n == name)
            {
                Some((_, _, required, one_of, props)) => match e.as_object() {
                    None => ctx.err(&p, format!("must be an object, not {}", kind(e))),
                    Some(em) => {
                        check_table(ctx, &p, em, required, props);
                        if !one_of.is_empty() && !one_of.iter().any(|k| em.contains_key(*k)) {
                            ctx.err(
                                &p,
                                format!("must contain at least one of: {}", one_of.join(", ")),
                            );
                        }
                    }
                },
                None => check_dict(ctx, &p, e),
            }
        }
    }
}

const REG_DATA_TYPES: &[&str] = &[
    "REG_NONE",
    "REG_SZ",
    "REG_EXPAND_SZ",
    "REG_BINARY",
    "REG_DWORD",
    "REG_DWORD_BIG_ENDIAN",
    "REG_DWORD_LITTLE_ENDIAN",
    "REG_LINK",
    "REG_MULTI_SZ",
    "REG_RESOURCE_LIST",
    "REG_FULL_RESOURCE_DESCRIPTION",
    "REG_RESOURCE_REQUIREMENTS_LIST",
    "REG_QWORD",
    "REG_INVALID_TYPE",
];

/// The four TLP 1.0 marking definitions STIX 2.1 predefines: (id, name, tlp word).
const TLP1_DEFINITIONS: &[(&str, &str, &str)] = &[
    (
        "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
        "TLP:WHITE",
        "white",
    ),
    (
        "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
        "TLP:GREEN",
        "green",
    ),
    (
        "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
        "TLP:AMBER",
        "amber",
    ),
    (
        "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
        "TLP:RED",
        "red",
    ),
];

pub(super) fn marking_definition_checks(ctx: &mut Ctx, o: &Map<String, Value>) {
    check_table(
        ctx,
        "",
        o,
        &["type", "spec_version", "id", "created"],
        &[
            ("spec_version", Ty::Enum(&["2.0", "2.1"])),
            ("name", Ty::Str),
            ("created_by_ref", Ty::Id),
            ("created", Ty::Ts),
            ("external_references", Ty::List(&Ty::ExtRef)),
            (
                "object_marking_refs",
                Ty::List(&Ty::IdOf(&["marking-definition"])),
            ),
            ("granular_markings", Ty::List(&Ty::Granular)),
        ],
    );
    if let Some(e) = o.get("extensions") {
        check_extensions(ctx, e, false);
    }
    let def_type = o.get("definition_type");
    let def_type_str = def_type.and_then(Value::as_str);
    if def_type_str == Some("tlp") || def_type_str.is_some_and(|s| s.contains("tlp")) {
        // TLP 1.0: exactly one of the four predefined objects.
        let id = o.get("id").and_then(Value::as_str);
        let exact = TLP1_DEFINITIONS.iter().any(|(tid, name, word)| {
            id == Some(*tid)
                && o.get("name").and_then(Value::as_str) == Some(*name)
                && o.get("definition")
                    .and_then(|d| d.get("tlp"))
                    .and_then(Value::as_str)
                    == Some(*word)
        }) && o.get("created").and_then(Value::as_str)
            == Some("2017-01-20T00:00:00.000Z")
            && o.get("spec_version").and_then(Value::as_str) == Some("2.1")
            && def_type_str == Some("tlp")
            && o.keys().all(|k| {
                matches!(
                    k.as_str(),
                    "type"
                        | "id"
                        | "spec_version"
                        | "created"
                        | "name"
                        | "definition"
                        | "definition_type"
                )
            });
        if !exact {
            ctx.err(
                "",
                "TLP marking definitions must match one of those defined in the STIX specification"
                    .into(),
            );
        }
        return;
    }
    match def_type_str {
        Some(s) if s.starts_with("statement") => {
            match o.get("definition").and_then(Value::as_object) {
                Some(d) if d.get("statement").is_some_and(Value::is_string) => {}
                _ => ctx.err(
                    "definition",
                    "a 'statement' marking needs a definition {\"statement\": \"…\"}".into(),
                ),
            }
        }
        Some(_) => {
            if let Some(d) = o.get("definition")
                && !d.is_object()
            {
                ctx.err("definition", format!("must be an object, not {}", kind(d)));
            }
        }
        None if def_type.is_some() => ctx.err("definition_type", "must be a string".into()),
        None => {}
    }
    let has_definition = has(o, "definition") && has(o, "definition_type");
    if !(has(o, "extensions") || has_definition) {
        ctx.err(
            "",
            "marking definitions must use 'definition_type' and 'definition', or an extension"
                .into(),
        );
    }
}
