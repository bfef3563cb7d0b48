//! The property tables: what each STIX 2.1 object type requires and what its properties are.
//!
//! Transcribed from the STIX 2.1 specification's property tables (the same ones the OASIS
//! JSON schemas encode). Open vocabularies are plain strings here: an unknown value in an
//! open vocabulary is a SHOULD, not a MUST. Closed vocabularies (`opinion`,
//! `encryption_algorithm`, `extension_type`, …) are [`Ty::Enum`].

use std::sync::LazyLock;

use regex::Regex;

use super::props::{Re, Ty};

/// Rules for one object type.
pub(crate) struct TypeRules {
    pub ty: &'static str,
    pub required: &'static [&'static str],
    pub props: &'static [(&'static str, Ty)],
}

const STR_LIST: Ty = Ty::List(&Ty::Str);
const KCP: Ty = Ty::List(&Ty::KillChain);
const ID_LIST: Ty = Ty::List(&Ty::Id);

/// Properties every SDO and SRO may have (`core`), with their kinds.
pub(crate) static CORE_PROPS: &[(&str, Ty)] = &[
    ("spec_version", Ty::Enum(&["2.0", "2.1"])),
    ("created_by_ref", Ty::Id),
    ("labels", STR_LIST),
    ("created", Ty::TsMillis),
    ("modified", Ty::TsMillis),
    ("revoked", Ty::Bool),
    ("confidence", Ty::Int(Some(0), Some(100))),
    ("lang", Ty::Str),
    ("external_references", Ty::List(&Ty::ExtRef)),
    ("object_marking_refs", ID_LIST),
    ("granular_markings", Ty::List(&Ty::Granular)),
];

/// Properties every SCO may have (`cyber-observable-core`).
pub(crate) static SCO_CORE_PROPS: &[(&str, Ty)] = &[
    ("spec_version", Ty::Enum(&["2.0", "2.1"])),
    ("object_marking_refs", ID_LIST),
    ("granular_markings", Ty::List(&Ty::Granular)),
    ("defanged", Ty::Bool),
];

pub(crate) static RE_IPV4: Re = Re(
    LazyLock::new(|| {
        Regex::new(r"^(([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])\.){3}([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])(/(3[0-2]|[1-2][0-9]|[0-9]))?$").expect("ipv4")
    }),
    "an IPv4 address or CIDR block",
);
pub(crate) static RE_MAC: Re = Re(
    LazyLock::new(|| Regex::new(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$").expect("mac")),
    "a lower-case, colon-separated MAC address",
);
pub(crate) static RE_MIME: Re = Re(
    LazyLock::new(|| {
        Regex::new(
            r"^(application|audio|font|image|message|model|multipart|text|video)/[a-zA-Z0-9.+_-]+$",
        )
        .expect("mime")
    }),
    "a media type of the form 'type/subtype' with an IANA top-level type",
);
pub(crate) static RE_CHARSET: Re = Re(
    LazyLock::new(|| Regex::new(r"^[a-zA-Z0-9_()-]{2,250}$").expect("charset")),
    "an IANA character-set name",
);
pub(crate) static RE_HIVE_ABBREV: Re = Re(
    LazyLock::new(|| {
        Regex::new(r"^(HKLM|HKCC|HKCR|HKCU|HKU|hklm|hkcc|hkcr|hkcu|hku)").expect("hive")
    }),
    "",
);
pub(crate) static RE_REL_TYPE: Re = Re(
    LazyLock::new(|| Regex::new(r"^[a-z0-9-]+$").expect("rel")),
    "a relationship type (a-z, 0-9 and '-')",
);
pub(crate) static RE_CPE: Re = Re(
    LazyLock::new(|| {
        Regex::new(concat!(
            r##"^cpe:2\.3:[aho*\-](:(((\?*|\*?)([a-zA-Z0-9\-._]|(\\[\\*?!"#$%&'()+,/:;<=>@\[\]\^`{|}~]))+(\?*|\*?))|[*\-])){5}"##,
            r##"(:(([a-zA-Z]{2,3}(-([a-zA-Z]{2}|[0-9]{3}))?)|[*\-]))"##,
            r##"(:(((\?*|\*?)([a-zA-Z0-9\-._]|(\\[\\*?!"#$%&'()+,/:;<=>@\[\]\^`{|}~]))+(\?*|\*?))|[*\-])){4}$"##
        ))
        .expect("cpe")
    }),
    "a CPE 2.3 formatted string",
);

const NOT_SRO_TARGETS: &[&str] = &[
    "relationship",
    "sighting",
    "bundle",
    "marking-definition",
    "language-content",
];

/// The SDO, SRO, meta and SCO types the specification defines.
pub(crate) static TYPES: &[TypeRules] = &[
    TypeRules {
        ty: "attack-pattern",
        required: &["name"],
        props: &[
            ("name", Ty::Str),
            ("aliases", Ty::ListOrEmpty(&Ty::Str)),
            ("kill_chain_phases", KCP),
            ("description", Ty::Str),
        ],
    },
    TypeRules {
        ty: "campaign",
        required: &["name"],
        props: &[
            ("name", Ty::Str),
            ("aliases", STR_LIST),
            ("first_seen", Ty::Ts),
            ("last_seen", Ty::Ts),
            ("objective", Ty::Str),
            ("description", Ty::Str),
        ],
    },
    TypeRules {
        ty: "course-of-action",
        required: &["name"],
        props: &[("name", Ty::Str), ("description", Ty::Str)],
    },
    TypeRules {
        ty: "grouping",
        required: &["context", "object_refs"],
        props: &[
            ("name", Ty::Str),
            ("context", Ty::Str),
            ("object_refs", ID_LIST),
            ("description", Ty::Str),
        ],
    },
    TypeRules {
        ty: "identity",
        required: &["name"],
        props: &[
            ("name", Ty::Str),
            ("roles", STR_LIST),
            ("identity_class", Ty::Str),
            ("sectors", STR_LIST),
            ("contact_information", Ty::Str),
            ("description", Ty::Str),
        ],
    },
    TypeRules {
        ty: "incident",
        required: &["name"],
        props: &[
            ("name", Ty::Str),
            ("description", Ty::Str),
            ("kill_chain_phases", KCP),
        ],
    },
    TypeRules {
        ty: "indicator",
        required: &["pattern", "pattern_type", "valid_from"],
        props: &[
            ("name", Ty::Str),
            ("description", Ty::Str),
            ("indicator_types", STR_LIST),
            ("pattern", Ty::Str),
            ("pattern_type", Ty::Str),
            ("pattern_version", Ty::Str),
            ("valid_from", Ty::Ts),
            ("valid_until", Ty::Ts),
            ("kill_chain_phases", KCP),
        ],
    },
    TypeRules {
        ty: "infrastructure",
        required: &["name"],
        props: &[
            ("name", Ty::Str),
            ("description", Ty::Str),
            ("infrastructure_types", STR_LIST),
            ("aliases", STR_LIST),
            ("kill_chain_phases", KCP),
            ("first_seen", Ty::Ts),
            ("last_seen", Ty::Ts),
        ],
    },
    TypeRules {
        ty: "intrusion-set",
        required: &["name"],
        props: &[
            ("name", Ty::Str),
            ("description", Ty::Str),
            ("aliases", STR_LIST),
            ("first_seen", Ty::Ts),
            ("last_seen", Ty::Ts),
            ("goals", STR_LIST),
            ("resource_level", Ty::Str),
            ("primary_motivation", Ty::Str),
            ("secondary_motivations", STR_LIST),
        ],
    },
    TypeRules {
        ty: "location",
        required: &[],
        props: &[
            ("name", Ty::Str),
            ("description", Ty::Str),
            ("latitude", Ty::Num(Some(-90.0), Some(90.0))),
            ("longitude", Ty::Num(Some(-180.0), Some(180.0))),
            ("precision", Ty::Num(None, None)),
            ("region", Ty::Str),
            ("country", Ty::Str),
            ("administrative_area", Ty::Str),
            ("city", Ty::Str),
            ("street_address", Ty::Str),
            ("postal_code", Ty::Str),
        ],
    },
    TypeRules {
        ty: "malware",
        required: &["is_family"],
        props: &[
            ("name", Ty::Str),
            ("description", Ty::Str),
            ("is_family", Ty::Bool),
            ("aliases", STR_LIST),
            ("first_seen", Ty::Ts),
            ("last_seen", Ty::Ts),
            ("operating_system_refs", Ty::List(&Ty::IdOf(&["software"]))),
            ("architecture_execution_envs", STR_LIST),
            ("implementation_languages", STR_LIST),
            ("capabilities", STR_LIST),
            ("sample_refs", ID_LIST),
            ("malware_types", STR_LIST),
            ("kill_chain_phases", KCP),
        ],
    },
    TypeRules {
        ty: "malware-analysis",
        required: &["product"],
        props: &[
            ("product", Ty::Str),
            ("version", Ty::Str),
            ("configuration_version", Ty::Str),
            ("modules", STR_LIST),
            ("analysis_engine_version", Ty::Str),
            ("analysis_definition_version", Ty::Str),
            ("submitted", Ty::Ts),
            ("analysis_started", Ty::Ts),
            ("analysis_ended", Ty::Ts),
            ("result_name", Ty::Str),
            ("result", Ty::Str),
            ("host_vm_ref", Ty::IdOf(&["software"])),
            ("operating_system_ref", Ty::IdOf(&["software"])),
            (
                "installed_software_refs",
                Ty::List(&Ty::IdOf(&["software"])),
            ),
            ("analysis_sco_refs", ID_LIST),
            (
                "sample_ref",
                Ty::IdOf(&["artifact", "file", "network-traffic"]),
            ),
        ],
    },
    TypeRules {
        ty: "note",
        required: &["content", "object_refs"],
        props: &[
            ("abstract", Ty::Str),
            ("content", Ty::Str),
            ("authors", STR_LIST),
            ("object_refs", ID_LIST),
        ],
    },
    TypeRules {
        ty: "observed-data",
        required: &["first_observed", "last_observed", "number_observed"],
        props: &[
            ("first_observed", Ty::Ts),
            ("last_observed", Ty::Ts),
            ("number_observed", Ty::Int(Some(1), Some(999_999_999))),
            ("objects", Ty::Object),
            ("object_refs", ID_LIST),
        ],
    },
    TypeRules {
        ty: "opinion",
        required: &["object_refs", "opinion"],
        props: &[
            ("explanation", Ty::Str),
            ("authors", STR_LIST),
            ("object_refs", ID_LIST),
            (
                "opinion",
                Ty::Enum(&[
                    "strongly-disagree",
                    "disagree",
                    "neutral",
                    "agree",
                    "strongly-agree",
                ]),
            ),
        ],
    },
    TypeRules {
        ty: "report",
        required: &["name", "object_refs", "published"],
        props: &[
            ("name", Ty::Str),
            ("description", Ty::Str),
            ("report_types", STR_LIST),
            ("published", Ty::Ts),
            ("object_refs", ID_LIST),
        ],
    },
    TypeRules {
        ty: "threat-actor",
        required: &["name"],
        props: &[
            ("name", Ty::Str),
            ("description", Ty::Str),
            ("threat_actor_types", STR_LIST),
            ("aliases", STR_LIST),
            ("roles", STR_LIST),
            ("goals", STR_LIST),
            ("first_seen", Ty::Ts),
            ("last_seen", Ty::Ts),
            ("sophistication", Ty::Str),
            ("resource_level", Ty::Str),
            ("primary_motivation", Ty::Str),
            ("secondary_motivations", STR_LIST),
            ("personal_motivations", STR_LIST),
        ],
    },
    TypeRules {
        ty: "tool",
        required: &["name"],
        props: &[
            ("name", Ty::Str),
            ("description", Ty::Str),
            ("aliases", STR_LIST),
            ("tool_types", STR_LIST),
            ("tool_version", Ty::Str),
            ("kill_chain_phases", KCP),
        ],
    },
    TypeRules {
        ty: "vulnerability",
        required: &["name"],
        props: &[("name", Ty::Str), ("description", Ty::Str)],
    },
    TypeRules {
        ty: "relationship",
        required: &["relationship_type", "source_ref", "target_ref"],
        props: &[
            ("relationship_type", Ty::Re(&RE_REL_TYPE)),
            ("description", Ty::Str),
            (
                "source_ref",
                Ty::IdNot(
                    NOT_SRO_TARGETS,
                    "relationships cannot link bundles, marking definitions, language content, sightings or other relationships",
                ),
            ),
            (
                "target_ref",
                Ty::IdNot(
                    NOT_SRO_TARGETS,
                    "relationships cannot link bundles, marking definitions, language content, sightings or other relationships",
                ),
            ),
            ("start_time", Ty::Ts),
            ("stop_time", Ty::Ts),
        ],
    },
    TypeRules {
        ty: "sighting",
        required: &["sighting_of_ref"],
        props: &[
            ("description", Ty::Str),
            ("first_seen", Ty::Ts),
            ("last_seen", Ty::Ts),
            ("count", Ty::Int(Some(0), Some(999_999_999))),
            (
                "sighting_of_ref",
                Ty::IdNot(
                    NOT_SRO_TARGETS,
                    "'sighting_of_ref' must refer to a STIX Domain Object or a custom object",
                ),
            ),
            (
                "observed_data_refs",
                Ty::List(&Ty::IdOf(&["observed-data"])),
            ),
            (
                "where_sighted_refs",
                Ty::List(&Ty::IdOf(&["identity", "location"])),
            ),
            ("summary", Ty::Bool),
        ],
    },
    TypeRules {
        ty: "language-content",
        required: &["object_ref", "contents"],
        props: &[
            (
                "object_ref",
                Ty::IdNot(
                    &["bundle", "language-content"],
                    "language content cannot refer to a bundle or language content",
                ),
            ),
            ("object_modified", Ty::Ts),
            ("contents", Ty::Dict),
        ],
    },
    TypeRules {
        ty: "extension-definition",
        required: &["name", "schema", "version", "extension_types"],
        props: &[
            ("name", Ty::Str),
            ("description", Ty::Str),
            ("schema", Ty::Str),
            ("version", Ty::Str),
            ("extension_types", Ty::List(&Ty::Enum(EXTENSION_TYPES))),
            ("extension_properties", STR_LIST),
        ],
    },
    // Cyber-observable objects.
    TypeRules {
        ty: "artifact",
        required: &[],
        props: &[
            ("mime_type", Ty::Re(&RE_MIME)),
            ("payload_bin", Ty::Binary),
            ("url", Ty::Uri),
            ("hashes", Ty::Hashes),
            (
                "encryption_algorithm",
                Ty::Enum(&["AES-256-GCM", "ChaCha20-Poly1305", "mime-type-indicated"]),
            ),
            ("decryption_key", Ty::Str),
        ],
    },
    TypeRules {
        ty: "autonomous-system",
        required: &["number"],
        props: &[
            ("number", Ty::Int(None, None)),
            ("name", Ty::Str),
            ("rir", Ty::Str),
        ],
    },
    TypeRules {
        ty: "directory",
        required: &["path"],
        props: &[
            ("path", Ty::Str),
            ("path_enc", Ty::Re(&RE_CHARSET)),
            ("ctime", Ty::Ts),
            ("mtime", Ty::Ts),
            ("atime", Ty::Ts),
            ("contains_refs", ID_LIST),
        ],
    },
    TypeRules {
        ty: "domain-name",
        required: &["value"],
        props: &[("value", Ty::Str), ("resolves_to_refs", ID_LIST)],
    },
    TypeRules {
        ty: "email-addr",
        required: &["value"],
        props: &[
            ("value", Ty::Email),
            ("display_name", Ty::Str),
            ("belongs_to_ref", Ty::RefOf(&["user-account"])),
        ],
    },
    TypeRules {
        ty: "email-message",
        required: &["is_multipart"],
        props: &[
            ("is_multipart", Ty::Bool),
            ("date", Ty::Ts),
            ("content_type", Ty::Str),
            ("from_ref", Ty::RefOf(&["email-addr"])),
            ("sender_ref", Ty::RefOf(&["email-addr"])),
            ("to_refs", Ty::List(&Ty::RefOf(&["email-addr"]))),
            ("cc_refs", Ty::List(&Ty::RefOf(&["email-addr"]))),
            ("bcc_refs", Ty::List(&Ty::RefOf(&["email-addr"]))),
            ("message_id", Ty::Str),
            ("subject", Ty::Str),
            ("received_lines", Ty::ListOrEmpty(&Ty::Str)),
            ("additional_header_fields", Ty::Dict),
            ("body", Ty::Str),
            ("body_multipart", Ty::ListOrEmpty(&Ty::Object)),
            ("raw_email_ref", Ty::RefOf(&["artifact"])),
        ],
    },
    TypeRules {
        ty: "file",
        required: &[],
        props: &[
            ("hashes", Ty::Hashes),
            ("size", Ty::Int(Some(0), None)),
            ("name", Ty::Str),
            ("name_enc", Ty::Re(&RE_CHARSET)),
            ("magic_number_hex", Ty::Hex),
            ("mime_type", Ty::Str),
            ("ctime", Ty::Ts),
            ("mtime", Ty::Ts),
            ("atime", Ty::Ts),
            ("parent_directory_ref", Ty::RefOf(&["directory"])),
            ("contains_refs", ID_LIST),
            ("content_ref", Ty::RefOf(&["artifact"])),
            ("extensions", Ty::Dict),
        ],
    },
    TypeRules {
        ty: "ipv4-addr",
        required: &["value"],
        props: &[
            ("value", Ty::Re(&RE_IPV4)),
            ("resolves_to_refs", Ty::List(&Ty::RefOf(&["mac-addr"]))),
            (
                "belongs_to_refs",
                Ty::List(&Ty::RefOf(&["autonomous-system"])),
            ),
        ],
    },
    TypeRules {
        ty: "ipv6-addr",
        required: &["value"],
        props: &[
            ("value", Ty::Ipv6),
            ("resolves_to_refs", Ty::List(&Ty::RefOf(&["mac-addr"]))),
            (
                "belongs_to_refs",
                Ty::List(&Ty::RefOf(&["autonomous-system"])),
            ),
        ],
    },
    TypeRules {
        ty: "mac-addr",
        required: &["value"],
        props: &[("value", Ty::Re(&RE_MAC))],
    },
    TypeRules {
        ty: "mutex",
        required: &["name"],
        props: &[("name", Ty::Str)],
    },
    TypeRules {
        ty: "network-traffic",
        required: &["protocols"],
        props: &[
            ("start", Ty::Ts),
            ("end", Ty::Ts),
            ("is_active", Ty::Bool),
            (
                "src_ref",
                Ty::RefOf(&["ipv4-addr", "ipv6-addr", "mac-addr", "domain-name"]),
            ),
            (
                "dst_ref",
                Ty::RefOf(&["ipv4-addr", "ipv6-addr", "mac-addr", "domain-name"]),
            ),
            ("src_port", Ty::Int(Some(0), Some(65535))),
            ("dst_port", Ty::Int(Some(0), Some(65535))),
            ("protocols", STR_LIST),
            ("src_byte_count", Ty::Int(Some(0), None)),
            ("dst_byte_count", Ty::Int(Some(0), None)),
            ("src_packets", Ty::Int(Some(0), None)),
            ("dst_packets", Ty::Int(Some(0), None)),
            ("ipfix", Ty::Dict),
            ("src_payload_ref", Ty::RefOf(&["artifact"])),
            ("dst_payload_ref", Ty::RefOf(&["artifact"])),
            (
                "encapsulates_refs",
                Ty::List(&Ty::RefOf(&["network-traffic"])),
            ),
            ("encapsulated_by_ref", Ty::RefOf(&["network-traffic"])),
            ("extensions", Ty::Dict),
        ],
    },
    TypeRules {
        ty: "process",
        required: &[],
        props: &[
            ("is_hidden", Ty::Bool),
            ("pid", Ty::Int(None, None)),
            ("created_time", Ty::Ts),
            ("cwd", Ty::Str),
            ("command_line", Ty::Str),
            ("environment_variables", Ty::Dict),
            (
                "opened_connection_refs",
                Ty::List(&Ty::RefOf(&["network-traffic"])),
            ),
            ("creator_user_ref", Ty::RefOf(&["user-account"])),
            ("image_ref", Ty::RefOf(&["file"])),
            ("parent_ref", Ty::RefOf(&["process"])),
            ("child_refs", Ty::List(&Ty::RefOf(&["process"]))),
            ("extensions", Ty::Dict),
        ],
    },
    TypeRules {
        ty: "software",
        required: &["name"],
        props: &[
            ("name", Ty::Str),
            ("cpe", Ty::Re(&RE_CPE)),
            ("swid", Ty::Str),
            ("languages", STR_LIST),
            ("vendor", Ty::Str),
            ("version", Ty::Str),
        ],
    },
    TypeRules {
        ty: "url",
        required: &["value"],
        props: &[("value", Ty::Uri)],
    },
    TypeRules {
        ty: "user-account",
        required: &[],
        props: &[
            ("user_id", Ty::Str),
            ("credential", Ty::Str),
            ("account_login", Ty::Str),
            ("account_type", Ty::Str),
            ("display_name", Ty::Str),
            ("is_service_account", Ty::Bool),
            ("is_privileged", Ty::Bool),
            ("can_escalate_privs", Ty::Bool),
            ("is_disabled", Ty::Bool),
            ("account_created", Ty::Ts),
            ("account_expires", Ty::Ts),
            ("credential_last_changed", Ty::Ts),
            ("account_first_login", Ty::Ts),
            ("account_last_login", Ty::Ts),
            ("extensions", Ty::Dict),
        ],
    },
    TypeRules {
        ty: "windows-registry-key",
        required: &[],
        props: &[
            (
                "key",
                Ty::NotRe(
                    &RE_HIVE_ABBREV,
                    "the hive must be spelled out (HKEY_LOCAL_MACHINE, not HKLM)",
                ),
            ),
            ("values", Ty::ListOrEmpty(&Ty::Object)),
            ("modified_time", Ty::Ts),
            ("creator_user_ref", Ty::RefOf(&["user-account"])),
            ("number_of_subkeys", Ty::Int(Some(0), None)),
        ],
    },
    TypeRules {
        ty: "x509-certificate",
        required: &[],
        props: &[
            ("is_self_signed", Ty::Bool),
            ("hashes", Ty::Hashes),
            ("version", Ty::Str),
            ("serial_number", Ty::Str),
            ("signature_algorithm", Ty::Str),
            ("issuer", Ty::Str),
            ("validity_not_before", Ty::Ts),
            ("validity_not_after", Ty::Ts),
            ("subject", Ty::Str),
            ("subject_public_key_algorithm", Ty::Str),
            ("subject_public_key_modulus", Ty::Str),
            ("subject_public_key_exponent", Ty::Int(None, None)),
            ("x509_v3_extensions", Ty::Object),
        ],
    },
];

/// The closed vocabulary of `extension_type`.
pub(crate) const EXTENSION_TYPES: &[&str] = &[
    "new-sdo",
    "new-sco",
    "new-sro",
    "property-extension",
    "toplevel-property-extension",
];

/// The STIX 2.1 SCO types.
pub(crate) const SCO_TYPES: &[&str] = &[
    "artifact",
    "autonomous-system",
    "directory",
    "domain-name",
    "email-addr",
    "email-message",
    "file",
    "ipv4-addr",
    "ipv6-addr",
    "mac-addr",
    "mutex",
    "network-traffic",
    "process",
    "software",
    "url",
    "user-account",
    "windows-registry-key",
    "x509-certificate",
];

/// Properties that no object may use (reserved by the specification for future use).
pub(crate) const RESERVED_PROPERTIES: &[&str] =
    &["severity", "action", "username", "phone_numbers"];

/// Timestamp pairs that must be ordered: (later, strictly?, earlier).
pub(crate) const TIMESTAMP_ORDER: &[(&str, &str, bool, &str)] = &[
    ("campaign", "last_seen", false, "first_seen"),
    ("indicator", "valid_until", true, "valid_from"),
    ("infrastructure", "last_seen", false, "first_seen"),
    ("intrusion-set", "last_seen", false, "first_seen"),
    ("malware", "last_seen", false, "first_seen"),
    ("observed-data", "last_observed", false, "first_observed"),
    ("relationship", "stop_time", true, "start_time"),
    ("sighting", "last_seen", false, "first_seen"),
    ("threat-actor", "last_seen", false, "first_seen"),
    ("network-traffic", "end", false, "start"),
    (
        "x509-certificate",
        "validity_not_after",
        false,
        "validity_not_before",
    ),
];

/// Rules of the extensions the specification predefines for SCOs:
/// (SCO type, extension name, required, at-least-one-of, properties).
pub(crate) type ExtRule = (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
    &'static [(&'static str, Ty)],
);

pub(crate) static SCO_EXTENSIONS: &[ExtRule] = &[
    (
        "file",
        "ntfs-ext",
        &[],
        &["sid", "alternate_data_streams"],
        &[
            ("sid", Ty::Str),
            ("alternate_data_streams", Ty::List(&Ty::Object)),
        ],
    ),
    (
        "file",
        "raster-image-ext",
        &[],
        &[
            "image_height",
            "image_width",
            "bits_per_pixel",
            "image_compression_algorithm",
            "exif_tags",
        ],
        &[
            ("image_height", Ty::Int(None, None)),
            ("image_width", Ty::Int(None, None)),
            ("bits_per_pixel", Ty::Int(None, None)),
            ("exif_tags", Ty::Dict),
        ],
    ),
    (
        "file",
        "pdf-ext",
        &[],
        &[
            "version",
            "is_optimized",
            "document_info_dict",
            "pdfid0",
            "pdfid1",
        ],
        &[
            ("version", Ty::Str),
            ("is_optimized", Ty::Bool),
            ("document_info_dict", Ty::Dict),
            ("pdfid0", Ty::Str),
            ("pdfid1", Ty::Str),
        ],
    ),
    (
        "file",
        "archive-ext",
        &["contains_refs"],
        &[],
        &[("contains_refs", ID_LIST), ("comment", Ty::Str)],
    ),
    (
        "file",
        "windows-pebinary-ext",
        &["pe_type"],
        &[
            "imphash",
            "machine_hex",
            "number_of_sections",
            "time_date_stamp",
            "pointer_to_symbol_table_hex",
            "number_of_symbols",
            "size_of_optional_header",
            "characteristics_hex",
            "file_header_hashes",
            "optional_header",
            "sections",
        ],
        &[
            ("pe_type", Ty::Str),
            ("imphash", Ty::Str),
            ("machine_hex", Ty::Hex),
            ("number_of_sections", Ty::Int(Some(0), None)),
            ("time_date_stamp", Ty::TsSeconds),
            ("pointer_to_symbol_table_hex", Ty::Hex),
            ("number_of_symbols", Ty::Int(Some(0), None)),
            ("size_of_optional_header", Ty::Int(Some(0), None)),
            ("characteristics_hex", Ty::Hex),
            ("file_header_hashes", Ty::Hashes),
            ("optional_header", Ty::Object),
            ("sections", Ty::List(&Ty::Object)),
        ],
    ),
    (
        "network-traffic",
        "http-request-ext",
        &["request_method", "request_value"],
        &[],
        &[
            ("request_method", Ty::Str),
            ("request_value", Ty::Str),
            ("request_version", Ty::Str),
            ("request_header", Ty::Dict),
            ("message_body_length", Ty::Int(None, None)),
            ("message_body_data_ref", Ty::RefOf(&["artifact"])),
        ],
    ),
    (
        "network-traffic",
        "icmp-ext",
        &["icmp_type_hex", "icmp_code_hex"],
        &[],
        &[("icmp_type_hex", Ty::Hex), ("icmp_code_hex", Ty::Hex)],
    ),
    (
        "network-traffic",
        "socket-ext",
        &["address_family"],
        &[],
        &[
            (
                "address_family",
                Ty::Enum(&[
                    "AF_UNSPEC",
                    "AF_INET",
                    "AF_IPX",
                    "AF_APPLETALK",
                    "AF_NETBIOS",
                    "AF_INET6",
                    "AF_IRDA",
                    "AF_BTH",
                ]),
            ),
            ("is_blocking", Ty::Bool),
            ("is_listening", Ty::Bool),
            ("options", Ty::Dict),
            (
                "socket_type",
                Ty::Enum(&[
                    "SOCK_STREAM",
                    "SOCK_DGRAM",
                    "SOCK_RAW",
                    "SOCK_RDM",
                    "SOCK_SEQPACKET",
                ]),
            ),
            ("socket_descriptor", Ty::Int(Some(0), None)),
            ("socket_handle", Ty::Int(None, None)),
        ],
    ),
    (
        "network-traffic",
        "tcp-ext",
        &[],
        &["src_flags_hex", "dst_flags_hex"],
        &[("src_flags_hex", Ty::Hex), ("dst_flags_hex", Ty::Hex)],
    ),
    (
        "process",
        "windows-process-ext",
        &[],
        &[
            "aslr_enabled",
            "dep_enabled",
            "priority",
            "owner_sid",
            "window_title",
            "startup_info",
            "integrity_level",
        ],
        &[
            ("aslr_enabled", Ty::Bool),
            ("dep_enabled", Ty::Bool),
            ("priority", Ty::Str),
            ("owner_sid", Ty::Str),
            ("window_title", Ty::Str),
            ("startup_info", Ty::Dict),
            (
                "integrity_level",
                Ty::Enum(&["low", "medium", "high", "system"]),
            ),
        ],
    ),
    (
        "process",
        "windows-service-ext",
        &[],
        &[
            "service_name",
            "descriptions",
            "display_name",
            "group_name",
            "start_type",
            "service_dll_refs",
            "service_type",
            "service_status",
        ],
        &[
            ("service_name", Ty::Str),
            ("descriptions", STR_LIST),
            ("display_name", Ty::Str),
            ("group_name", Ty::Str),
            (
                "start_type",
                Ty::Enum(&[
                    "SERVICE_AUTO_START",
                    "SERVICE_BOOT_START",
                    "SERVICE_DEMAND_START",
                    "SERVICE_DISABLED",
                    "SERVICE_SYSTEM_ALERT",
                ]),
            ),
            ("service_dll_refs", Ty::List(&Ty::RefOf(&["file"]))),
            (
                "service_type",
                Ty::Enum(&[
                    "SERVICE_KERNEL_DRIVER",
                    "SERVICE_FILE_SYSTEM_DRIVER",
                    "SERVICE_WIN32_OWN_PROCESS",
                    "SERVICE_WIN32_SHARE_PROCESS",
                ]),
            ),
            (
                "service_status",
                Ty::Enum(&[
                    "SERVICE_CONTINUE_PENDING",
                    "SERVICE_PAUSE_PENDING",
                    "SERVICE_PAUSED",
                    "SERVICE_RUNNING",
                    "SERVICE_START_PENDING",
                    "SERVICE_STOP_PENDING",
                    "SERVICE_STOPPED",
                ]),
            ),
        ],
    ),
    (
        "user-account",
        "unix-account-ext",
        &[],
        &["gid", "groups", "home_dir", "shell"],
        &[
            ("gid", Ty::Num(None, None)),
            ("groups", STR_LIST),
            ("home_dir", Ty::Str),
            ("shell", Ty::Str),
        ],
    ),
];

/// The rules for a defined type.
pub(crate) fn rules_for(ty: &str) -> Option<&'static TypeRules> {
    TYPES.iter().find(|r| r.ty == ty)
}
