//! Typed views of the STIX domain and relationship objects tiaki reads and writes.
//!
//! These are the objects of an intrusion investigation: the ATT&CK knowledge base
//! (attack-pattern, intrusion-set, malware, tool, course-of-action, campaign), the
//! intelligence partners share (indicator, infrastructure, vulnerability, report,
//! observed-data, location, identity) and what tiaki emits (sighting, relationship,
//! report). Use them through [`crate::StixObject::view`] and [`crate::StixObject::set_view`].
//! Note, opinion, grouping and other types are read fine as plain [`crate::StixObject`]s.

use serde_json::Value;

use crate::object::KillChainPhase;
use crate::timestamp::Timestamp;

stix_view! {
    /// `attack-pattern`: a technique, e.g. ATT&CK T1059.001 PowerShell.
    AttackPattern = "attack-pattern" {
        /// The technique name.
        name: String,
        /// A description.
        description: String,
        /// Other names.
        aliases: Vec<String>,
        /// Tactics the technique serves (ATT&CK: `mitre-attack` phases).
        kill_chain_phases: Vec<KillChainPhase>,
    }
}

stix_view! {
    /// `campaign`: a set of intrusion activity over a period against specific targets.
    Campaign = "campaign" {
        /// The campaign name.
        name: String,
        /// A description.
        description: String,
        /// Other names.
        aliases: Vec<String>,
        /// First seen.
        first_seen: Timestamp,
        /// Last seen.
        last_seen: Timestamp,
        /// The campaign's objective.
        objective: String,
    }
}

stix_view! {
    /// `course-of-action`: a mitigation.
    CourseOfAction = "course-of-action" {
        /// The name.
        name: String,
        /// A description.
        description: String,
    }
}

stix_view! {
    /// `identity`: an individual, organisation or group (also tiaki itself as a producer).
    Identity = "identity" {
        /// The name.
        name: String,
        /// A description.
        description: String,
        /// Roles the identity plays.
        roles: Vec<String>,
        /// `individual`, `group`, `system`, `organization`, `class`, `unknown`.
        identity_class: String,
        /// Industry sectors.
        sectors: Vec<String>,
        /// Contact information.
        contact_information: String,
    }
}

stix_view! {
    /// `indicator`: a detection pattern (STIX, Sigma, YARA, …) for suspicious activity.
    Indicator = "indicator" {
        /// A name.
        name: String,
        /// A description.
        description: String,
        /// Indicator types vocabulary, e.g. `malicious-activity`.
        indicator_types: Vec<String>,
        /// The detection pattern.
        pattern: String,
        /// The pattern language: `stix`, `pcre`, `sigma`, `snort`, `suricata`, `yara`.
        pattern_type: String,
        /// The version of the pattern language.
        pattern_version: String,
        /// From when the indicator is valid.
        valid_from: Timestamp,
        /// Until when the indicator is valid.
        valid_until: Timestamp,
        /// Kill chain phases.
        kill_chain_phases: Vec<KillChainPhase>,
    }
}

stix_view! {
    /// `infrastructure`: systems used by an adversary (C2, staging, exfiltration…).
    Infrastructure = "infrastructure" {
        /// The name.
        name: String,
        /// A description.
        description: String,
        /// Infrastructure types vocabulary.
        infrastructure_types: Vec<String>,
        /// Other names.
        aliases: Vec<String>,
        /// Kill chain phases.
        kill_chain_phases: Vec<KillChainPhase>,
        /// First seen.
        first_seen: Timestamp,
        /// Last seen.
        last_seen: Timestamp,
    }
}

stix_view! {
    /// `intrusion-set`: an adversary's grouped behaviour, e.g. ATT&CK G0065 (APT40/Leviathan).
    IntrusionSet = "intrusion-set" {
        /// The name.
        name: String,
        /// A description.
        description: String,
        /// Other names (APT40, TEMP.Periscope, …).
        aliases: Vec<String>,
        /// First seen.
        first_seen: Timestamp,
        /// Last seen.
        last_seen: Timestamp,
        /// Goals.
        goals: Vec<String>,
        /// Resource level vocabulary.
        resource_level: String,
        /// Primary motivation vocabulary.
        primary_motivation: String,
        /// Secondary motivations.
        secondary_motivations: Vec<String>,
    }
}

stix_view! {
    /// `malware`: a malware family or instance.
    Malware = "malware" {
        /// The name (required when `is_family` is true).
        name: String,
        /// A description.
        description: String,
        /// Whether this is a family rather than an instance (required by the specification).
        is_family: bool,
        /// Malware types vocabulary.
        malware_types: Vec<String>,
        /// Other names.
        aliases: Vec<String>,
        /// Kill chain phases.
        kill_chain_phases: Vec<KillChainPhase>,
        /// First seen.
        first_seen: Timestamp,
        /// Last seen.
        last_seen: Timestamp,
        /// Operating systems (software SCO ids).
        operating_system_refs: Vec<String>,
        /// Processor architectures.
        architecture_execution_envs: Vec<String>,
        /// Implementation languages.
        implementation_languages: Vec<String>,
        /// Capabilities vocabulary.
        capabilities: Vec<String>,
        /// Samples (file or artifact SCO ids).
        sample_refs: Vec<String>,
    }
}

stix_view! {
    /// `tool`: legitimate software used by adversaries.
    Tool = "tool" {
        /// The name.
        name: String,
        /// A description.
        description: String,
        /// Tool types vocabulary.
        tool_types: Vec<String>,
        /// Other names.
        aliases: Vec<String>,
        /// Kill chain phases.
        kill_chain_phases: Vec<KillChainPhase>,
        /// The version.
        tool_version: String,
    }
}

stix_view! {
    /// `vulnerability`: a weakness, usually with a `cve` external reference.
    Vulnerability = "vulnerability" {
        /// The name (often the CVE id).
        name: String,
        /// A description.
        description: String,
    }
}

stix_view! {
    /// `report`: a collection of intelligence on a topic, e.g. tiaki's case findings.
    Report = "report" {
        /// The name.
        name: String,
        /// A description.
        description: String,
        /// Report types vocabulary.
        report_types: Vec<String>,
        /// When the report was published.
        published: Timestamp,
        /// The objects the report covers (must be non-empty).
        object_refs: Vec<String>,
    }
}

stix_view! {
    /// `observed-data`: raw observations (SCO ids in `object_refs`) seen a number of times.
    ObservedData = "observed-data" {
        /// Start of the observation window.
        first_observed: Timestamp,
        /// End of the observation window.
        last_observed: Timestamp,
        /// How many times the data was observed (1…999,999,999).
        number_observed: u64,
        /// The observed SCOs (and SROs between them).
        object_refs: Vec<String>,
        /// STIX 2.0-style embedded observables (deprecated in 2.1), kept as read.
        objects: serde_json::Map<String, Value>,
    }
}

stix_view! {
    /// `relationship`: `source_ref` —`relationship_type`→ `target_ref`.
    Relationship = "relationship" {
        /// The type, e.g. `uses`, `indicates`, `attributed-to`, `mitigates`.
        relationship_type: String,
        /// A description.
        description: String,
        /// The source object id.
        source_ref: String,
        /// The target object id.
        target_ref: String,
        /// When the relationship started to hold.
        start_time: Timestamp,
        /// When it stopped holding.
        stop_time: Timestamp,
    }
}

stix_view! {
    /// `sighting`: something (usually an indicator) was seen; tiaki's main hunt output.
    Sighting = "sighting" {
        /// A description.
        description: String,
        /// First seen.
        first_seen: Timestamp,
        /// Last seen.
        last_seen: Timestamp,
        /// How many times (0…999,999,999).
        count: u64,
        /// What was sighted (an SDO id).
        sighting_of_ref: String,
        /// The observed-data behind the sighting.
        observed_data_refs: Vec<String>,
        /// Where it was seen (identity or location ids).
        where_sighted_refs: Vec<String>,
        /// Whether this is a summary of other sightings.
        summary: bool,
    }
}

stix_view! {
    /// `marking-definition`: a data marking such as a TLP level or a statement.
    MarkingDefinition = "marking-definition" {
        /// The name, e.g. `TLP:AMBER+STRICT` (names are free text: identify TLP by id).
        name: String,
        /// `statement` or (TLP 1.0) `tlp`.
        definition_type: String,
        /// The definition, e.g. `{"statement": "…"}` or `{"tlp": "amber"}`.
        definition: serde_json::Map<String, Value>,
    }
}

stix_view! {
    /// `location`: a place, by region, country or coordinates.
    Location = "location" {
        /// The name.
        name: String,
        /// A description.
        description: String,
        /// Latitude (-90…90).
        latitude: f64,
        /// Longitude (-180…180).
        longitude: f64,
        /// Precision in metres.
        precision: f64,
        /// Region vocabulary.
        region: String,
        /// ISO 3166-1 alpha-2 country code.
        country: String,
        /// Administrative area.
        administrative_area: String,
        /// City.
        city: String,
        /// Street address.
        street_address: String,
        /// Postal code.
        postal_code: String,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StixObject;
    use serde_json::json;

    #[test]
    fn view_and_write_back() {
        let v = json!({"type": "intrusion-set", "spec_version": "2.1",
            "id": "intrusion-set--7113eaa5-ba79-4fb3-b68a-398ee9cd698e",
            "created": "2018-04-18T17:59:24.739Z", "modified": "2024-04-10T22:38:17.720Z",
            "name": "Leviathan", "aliases": ["APT40"], "x_mitre_version": "4.1"});
        let mut obj = StixObject::from_value(v.clone()).unwrap();
        let mut set: IntrusionSet = obj.view().unwrap();
        assert_eq!(set.name.as_deref(), Some("Leviathan"));
        assert_eq!(set.extra["x_mitre_version"], json!("4.1"));
        assert!(obj.view::<Malware>().is_err());
        set.aliases
            .get_or_insert_with(Vec::new)
            .push("Kryptonite Panda".into());
        obj.set_view(&set).unwrap();
        let out = obj.to_value();
        assert_eq!(out["aliases"], json!(["APT40", "Kryptonite Panda"]));
        assert_eq!(out["x_mitre_version"], json!("4.1"));
        assert_eq!(out["created"], v["created"]);
    }

    #[test]
    fn build_a_sighting() {
        let s = Sighting {
            sighting_of_ref: Some("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f".into()),
            count: Some(3),
            ..Sighting::default()
        };
        let at = Timestamp::parse("2021-03-01T00:00:00.000Z").unwrap();
        let obj = StixObject::from_view(&s, at).unwrap();
        assert!(obj.id.starts_with("sighting--"));
        assert!(crate::validate::validate(&obj.to_value()).is_empty());
    }
}
