#!/usr/bin/env python3
"""Writes the two fictional partner bundles the parliamentary demo sweeps with.

Deterministic: ids are UUIDv5 of fixed names, so re-running gives the same files.
All addresses are documentation ranges (RFC 5737), all domains end in .example.
Run from anywhere: python3 examples/parliament/intel/build_bundles.py
"""
import json
import pathlib
import uuid

NS = uuid.UUID("6f1d2a8e-4c3b-4e5f-9a7b-1c2d3e4f5a6b")
TLP_AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
TLP_EXT = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"


def sid(kind, name):
    return f"{kind}--{uuid.uuid5(NS, kind + ':' + name)}"


def bundle(name, author, created, actor, indicators):
    ident = sid("identity", author)
    objs = [
        {"type": "identity", "spec_version": "2.1", "id": ident, "created": created,
         "modified": created, "name": author, "identity_class": "organization"},
        {"type": "marking-definition", "spec_version": "2.1", "id": TLP_AMBER,
         "created": "2022-10-01T00:00:00.000Z", "name": "TLP:AMBER",
         "extensions": {TLP_EXT: {"extension_type": "property-extension", "tlp_2_0": "amber"}}},
    ]
    iset = sid("intrusion-set", actor["name"])
    objs.append({"type": "intrusion-set", "spec_version": "2.1", "id": iset, "created": created,
                 "modified": created, "created_by_ref": ident, "name": actor["name"],
                 "aliases": actor["aliases"],
                 "external_references": [{"source_name": "mitre-attack",
                                          "external_id": actor["attack_id"],
                                          "url": f"https://attack.mitre.org/groups/{actor['attack_id']}/"}],
                 "object_marking_refs": [TLP_AMBER]})
    for ind in indicators:
        iid = sid("indicator", ind["pattern"])
        objs.append({"type": "indicator", "spec_version": "2.1", "id": iid, "created": created,
                     "modified": created, "created_by_ref": ident, "name": ind["name"],
                     "indicator_types": ind["types"], "pattern": ind["pattern"],
                     "pattern_type": "stix", "valid_from": ind.get("valid_from", created),
                     "confidence": ind.get("confidence", 70),
                     "object_marking_refs": [TLP_AMBER]})
        objs.append({"type": "relationship", "spec_version": "2.1",
                     "id": sid("relationship", iid + "->" + iset), "created": created,
                     "modified": created, "created_by_ref": ident,
                     "relationship_type": "indicates", "source_ref": iid, "target_ref": iset,
                     "object_marking_refs": [TLP_AMBER]})
    return {"type": "bundle", "id": sid("bundle", name), "objects": objs}


APT40 = bundle(
    "pdo-partner-notification", "Partner national CERT (fictional)", "2025-03-20T00:00:00.000Z",
    {"name": "APT40", "attack_id": "G0065",
     "aliases": ["Leviathan", "Kryptonite Panda", "Gingham Typhoon", "BRONZE MOHAWK"]},
    [
        {"name": "Compromised end-of-life SOHO router used as APT40 last-hop relay (fictional)",
         "types": ["malicious-activity", "anonymization"], "pattern": "[ipv4-addr:value = '203.0.113.45']",
         "valid_from": "2025-01-15T00:00:00.000Z", "confidence": 85},
        {"name": "Compromised SOHO NAS used as APT40 relay (fictional)",
         "types": ["malicious-activity", "anonymization"], "pattern": "[ipv4-addr:value = '198.51.100.23']",
         "valid_from": "2025-01-15T00:00:00.000Z", "confidence": 75},
        {"name": "Leased VPS used by APT40 for vulnerability scanning (fictional)",
         "types": ["malicious-activity"], "pattern": "[ipv4-addr:value = '192.0.2.66']",
         "valid_from": "2025-01-15T00:00:00.000Z", "confidence": 60},
        {"name": "Tunneller staged in C:\\Windows\\Debug by APT40 (file name)",
         "types": ["malicious-activity"], "pattern": "[file:name = 'wiadbg.exe']",
         "valid_from": "2025-01-15T00:00:00.000Z", "confidence": 50},
    ])

APT31 = bundle(
    "lsa-partner-advisory-apt31", "Partner national CERT (fictional)", "2025-03-01T00:00:00.000Z",
    {"name": "APT31", "attack_id": "G0128",
     "aliases": ["ZIRCONIUM", "Violet Typhoon", "Judgment Panda"]},
    [
        {"name": "APT31 operational relay box: compromised residential router (fictional)",
         "types": ["malicious-activity", "anonymization"], "pattern": "[ipv4-addr:value = '198.51.100.140']",
         "valid_from": "2025-01-01T00:00:00.000Z", "confidence": 75},
        {"name": "APT31 operational relay box: compromised IoT device (fictional)",
         "types": ["malicious-activity", "anonymization"], "pattern": "[ipv4-addr:value = '203.0.113.201']",
         "valid_from": "2025-01-01T00:00:00.000Z", "confidence": 75},
        {"name": "APT31 operational relay box: VPS (fictional)",
         "types": ["malicious-activity", "anonymization"], "pattern": "[ipv4-addr:value = '192.0.2.150']",
         "valid_from": "2025-01-01T00:00:00.000Z", "confidence": 60},
        {"name": "Lookalike news domain sending tracking-image emails (fictional)",
         "types": ["malicious-activity", "attribution"],
         "pattern": "[domain-name:value = 'newsroom-digest.example'] OR [domain-name:value = 'img.newsroom-digest.example']",
         "valid_from": "2025-01-01T00:00:00.000Z", "confidence": 80},
    ])

here = pathlib.Path(__file__).resolve().parent
for fname, b in (("pdo-partner-notification.json", APT40), ("apt31-partner-advisory.json", APT31)):
    (here / fname).write_text(json.dumps(b, indent=1) + "\n")
    print("wrote", here / fname, len(b["objects"]), "objects")
