#!/usr/bin/env python3
"""Build tiaki's embedded starter knowledge pack (a STIX 2.1 bundle) from the
human-readable sources in ``intel/src``.

Python 3.11+ standard library only (``tomllib`` reads the sources).

    build_pack.py                 write intel/starter-pack.json
    build_pack.py --check         fail (exit 1) if starter-pack.json is stale or invalid
    build_pack.py --sync-catalog  refresh the generated ATT&CK catalogues in intel/src
    build_pack.py --draft G0065   print a draft group file from the ATT&CK bundle

Every build validates the bundle it produces (references resolve, relationship
source/target types fit the relationship type, vocabularies, timestamps, ids).
When the ATT&CK bundle and MISP galaxy are found (``--shared``, default
``<repo>/../shared``) the facts are also checked against them: every ATT&CK id
exists and is not revoked or deprecated, names and tactics agree, every
relationship said to come from ATT&CK is in ATT&CK, every ATT&CK relationship of
a covered group is either in the pack or listed as omitted, and every MISP alias
is in the named MISP cluster. ``--no-external`` skips those checks.

Ids are UUIDv5 over a fixed namespace (``pack.toml``) and a stable name such as
``intrusion-set:G0065`` or ``relationship:uses:intrusion-set:G0065:attack-pattern:T1190``,
so the same sources always give byte-identical output.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
import uuid
from pathlib import Path

INTEL = Path(__file__).resolve().parent.parent
SRC = INTEL / "src"
OUT = INTEL / "starter-pack.json"
DEFAULT_SHARED = INTEL.parent.parent / "shared"
ATTACK_REL = Path("data/attack/enterprise-attack.json")
MISP_REL = Path("data/misp-galaxy/clusters_threat-actor.json")

TLP_CLEAR_ID = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
TLP_EXT_ID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"

# STIX 2.1 open vocabularies used by the pack (checked on every build).
INDUSTRY_SECTOR = {
    "agriculture", "aerospace", "automotive", "chemical", "commercial", "communications",
    "construction", "defense", "education", "energy", "entertainment", "financial-services",
    "government", "emergency-services", "government-national", "government-regional",
    "government-local", "government-public-services", "healthcare", "hospitality-leisure",
    "infrastructure", "dams", "nuclear", "water", "insurance", "manufacturing", "mining",
    "non-profit", "pharmaceuticals", "retail", "technology", "telecommunications",
    "transportation", "utilities",
}
REGION = {
    "africa", "eastern-africa", "middle-africa", "northern-africa", "southern-africa",
    "western-africa", "americas", "latin-america-caribbean", "south-america", "caribbean",
    "central-america", "northern-america", "asia", "central-asia", "eastern-asia",
    "southern-asia", "south-eastern-asia", "western-asia", "europe", "eastern-europe",
    "northern-europe", "southern-europe", "western-europe", "oceania", "antarctica",
    "australia-new-zealand", "melanesia", "micronesia", "polynesia",
}
MOTIVATION = {
    "accidental", "coercion", "dominance", "ideology", "notoriety", "organizational-gain",
    "personal-gain", "personal-satisfaction", "revenge", "unpredictable",
}
RESOURCE_LEVEL = {"individual", "club", "contest", "team", "organization", "government"}
THREAT_ACTOR_TYPE = {
    "activist", "competitor", "crime-syndicate", "criminal", "hacker", "insider-accidental",
    "insider-disgruntled", "nation-state", "sensationalist", "spy", "terrorist", "unknown",
}
THREAT_ACTOR_ROLE = {
    "agent", "director", "independent", "infrastructure-architect",
    "infrastructure-operator", "malware-author", "sponsor",
}
IDENTITY_CLASS = {"individual", "group", "system", "organization", "class", "unknown"}
TACTICS = {
    "reconnaissance", "resource-development", "initial-access", "execution", "persistence",
    "privilege-escalation", "defense-evasion", "credential-access", "discovery",
    "lateral-movement", "collection", "command-and-control", "exfiltration", "impact",
}

# Which relationship types the pack may emit, and the (source, target) types
# STIX 2.1 (section 4 "common relationships" per SDO) allows for each.
RELATIONSHIP_RULES = {
    "uses": {
        ("intrusion-set", "attack-pattern"), ("intrusion-set", "malware"),
        ("intrusion-set", "tool"), ("intrusion-set", "infrastructure"),
        ("campaign", "attack-pattern"), ("campaign", "malware"), ("campaign", "tool"),
        ("threat-actor", "attack-pattern"), ("threat-actor", "malware"), ("threat-actor", "tool"),
    },
    "targets": {
        ("intrusion-set", "identity"), ("intrusion-set", "location"),
        ("intrusion-set", "vulnerability"), ("campaign", "identity"),
        ("campaign", "location"), ("campaign", "vulnerability"),
        ("threat-actor", "identity"), ("threat-actor", "location"),
        ("threat-actor", "vulnerability"),
    },
    "originates-from": {("intrusion-set", "location"), ("campaign", "location"), ("malware", "location")},
    "attributed-to": {
        ("campaign", "intrusion-set"), ("campaign", "threat-actor"),
        ("intrusion-set", "threat-actor"), ("threat-actor", "identity"),
    },
    "located-at": {("threat-actor", "location"), ("identity", "location")},
}

ID_RE = re.compile(
    r"^([a-z][a-z0-9-]+[a-z0-9])--[0-9a-f]{8}-[0-9a-f]{4}-([1-5])[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
)
TS_MS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3,}Z$")
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
TECH_RE = re.compile(r"^T\d{4}(\.\d{3})?$")
SOFT_RE = re.compile(r"^S\d{4}$")
GROUP_RE = re.compile(r"^G\d{4}$")
CAMPAIGN_RE = re.compile(r"^C\d{4}$")
CVE_RE = re.compile(r"^CVE-\d{4}-\d{4,7}$")


def text(v: str) -> str:
    """Source prose is wrapped for reading; the bundle carries it as one line."""
    return " ".join(v.split())


class PackError(Exception):
    """A source file is malformed or the built bundle is invalid."""


# --------------------------------------------------------------------------- loading


def load_toml(path: Path) -> dict:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise PackError(f"{path.relative_to(INTEL.parent)}: {e}") from e


class Sources:
    """Everything under intel/src, loaded and cross-checked."""

    def __init__(self, src: Path = SRC):
        self.src = src
        self.pack = load_toml(src / "pack.toml")
        refs = load_toml(src / "attack-references.toml") if (src / "attack-references.toml").exists() else {}
        own = load_toml(src / "references.toml")
        self.references = {**refs, **own}
        self.techniques = load_toml(src / "attack-techniques.toml")
        self.software = load_toml(src / "attack-software.toml")
        extra = load_toml(src / "software-extra.toml")
        for k in extra:
            if k in self.software:
                raise PackError(f"software-extra.toml: {k} is also an ATT&CK software id")
        self.software_extra = extra
        self.vulnerabilities = load_toml(src / "vulnerabilities.toml")
        self.sectors = load_toml(src / "sectors.toml")
        locs = load_toml(src / "locations.toml")
        self.countries = locs.get("country", {})
        self.regions = locs.get("region", {})
        self.sponsors = load_toml(src / "sponsors.toml")
        self.campaigns = load_toml(src / "campaigns.toml")
        self.groups = {}
        self.group_files = {}
        for path in sorted((src / "groups").glob("*.toml")):
            g = load_toml(path)
            gid = g.get("attack_id")
            if not gid or not GROUP_RE.match(gid):
                raise PackError(f"{path.name}: attack_id missing or not a G-number")
            if gid in self.groups:
                raise PackError(f"{path.name}: {gid} defined twice")
            self.groups[gid] = g
            self.group_files[gid] = path.name

    def where(self, gid: str) -> str:
        return f"groups/{self.group_files[gid]}"


# --------------------------------------------------------------------------- building


def seen_ts(v: str, where: str, end: bool = False) -> tuple[str, str | None]:
    """A first_seen/last_seen value: an RFC 3339 timestamp is kept; YYYY and YYYY-MM become the
    start (or, for last_seen, the end) of that year/month, and the precision is returned so it
    can be recorded next to the timestamp."""
    if TS_RE.match(v):
        return v, None
    if re.fullmatch(r"\d{4}", v):
        return (f"{v}-12-31T23:59:59Z" if end else f"{v}-01-01T00:00:00Z"), "year"
    m = re.fullmatch(r"(\d{4})-(\d{2})", v)
    if m:
        y, mo = int(m.group(1)), int(m.group(2))
        last = [31, 29 if y % 4 == 0 and (y % 100 or y % 400 == 0) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1]
        return (f"{v}-{last:02d}T23:59:59Z" if end else f"{v}-01T00:00:00Z"), "month"
    raise PackError(f"{where}: {v!r} is not a timestamp, YYYY or YYYY-MM")


class Builder:
    def __init__(self, s: Sources):
        self.s = s
        p = s.pack["pack"]
        self.ns = uuid.UUID(p["namespace"])
        self.created = p["created"]
        self.modified = p["modified"]
        self.attack_version = p["attack_version"]
        self.identity_id = self.sid("identity", "tiaki")
        self.mitre_marking_id = self.sid("marking-definition", "mitre-attack-terms")
        self.objects: dict[str, dict] = {}
        self.order: dict[str, tuple] = {}
        self.used_refs: set[str] = set()
        self.attack_cited: set[str] = set()
        self.current_group: str | None = None

    # ids ------------------------------------------------------------------
    def sid(self, stix_type: str, key: str) -> str:
        return f"{stix_type}--{uuid.uuid5(self.ns, f'{stix_type}:{key}')}"

    def add(self, obj: dict, rank: int, key: str) -> str:
        oid = obj["id"]
        if oid in self.objects:
            raise PackError(f"duplicate object {oid} ({key})")
        self.objects[oid] = obj
        self.order[oid] = (rank, key)
        return oid

    def common(self, stix_type: str, key: str, mitre: bool = False) -> dict:
        o = {
            "type": stix_type,
            "spec_version": "2.1",
            "id": self.sid(stix_type, key),
            "created_by_ref": self.identity_id,
            "created": self.created,
            "modified": self.modified,
        }
        o["object_marking_refs"] = [TLP_CLEAR_ID] + ([self.mitre_marking_id] if mitre else [])
        return o

    @staticmethod
    def finish(o: dict) -> dict:
        """Move object_marking_refs and x_ properties to the end for readability."""
        tail_keys = ["external_references", "object_marking_refs"] + sorted(k for k in o if k.startswith("x_"))
        out = {k: v for k, v in o.items() if k not in tail_keys}
        for k in tail_keys:
            if k in o:
                out[k] = o[k]
        return out

    # references -------------------------------------------------------------
    def ext_ref(self, key: str, where: str, brief: bool = False) -> dict:
        """The STIX external reference for a source key. brief=True (used on relationships)
        leaves out the description when a url or external id already identifies the source;
        the full entry is on the objects (intrusion sets, campaigns, threat actors)."""
        if key.startswith("attack:"):
            # "attack:G0065" / "attack:C0049": the ATT&CK page of that group or campaign
            # (its description states the fact, e.g. targeted sectors or regions).
            xid = key.split(":", 1)[1]
            if not (GROUP_RE.match(xid) or CAMPAIGN_RE.match(xid)):
                raise PackError(f"{where}: {key!r}: only groups and campaigns can be cited this way")
            self.attack_cited.add(xid)
            kind = "group" if xid[0] == "G" else "campaign"
            return {"source_name": "MITRE ATT&CK",
                    "description": f"Enterprise v{self.attack_version}: {kind} {xid} description",
                    "url": self.attack_url(xid)}
        if key == "misp":
            g = self.s.groups.get(self.current_group or "")
            if not g or not g.get("misp_cluster"):
                raise PackError(f"{where}: 'misp' cited outside a group with a misp_cluster")
            return {"source_name": "misp-galaxy:threat-actor", "external_id": g["misp_cluster"],
                    "description": "MISP galaxy threat-actor cluster; cfr-suspected-victims / cfr-target-category",
                    "url": "https://github.com/MISP/misp-galaxy/blob/main/clusters/threat-actor.json"}
        r = self.s.references.get(key)
        if r is None:
            raise PackError(f"{where}: unknown reference {key!r} (add it to src/references.toml)")
        self.used_refs.add(key)
        out = {"source_name": r.get("source_name", key)}
        for f in ("description", "url", "external_id"):
            if r.get(f):
                out[f] = text(r[f])
        if brief and ("url" in out or "external_id" in out):
            out.pop("description", None)
        return out

    def ext_refs(self, keys, where: str, brief: bool = False) -> list[dict]:
        seen, out = set(), []
        for k in keys:
            if k in seen:
                raise PackError(f"{where}: reference {k!r} listed twice")
            seen.add(k)
            out.append(self.ext_ref(k, where, brief))
        return out

    @staticmethod
    def attack_url(xid: str) -> str:
        if TECH_RE.match(xid):
            return "https://attack.mitre.org/techniques/" + xid.replace(".", "/")
        kind = {"S": "software", "G": "groups", "C": "campaigns"}[xid[0]]
        return f"https://attack.mitre.org/{kind}/{xid}"

    def attack_basis_ref(self, via: str, gid: str) -> dict:
        g = self.s.groups[gid]
        if via == "group":
            return {
                "source_name": "MITRE ATT&CK",
                "description": f"Enterprise v{self.attack_version}: procedure examples of {gid} ({g['name']})",
                "url": self.attack_url(gid),
            }
        c = self.s.campaigns[via]
        return {
            "source_name": "MITRE ATT&CK",
            "description": f"Enterprise v{self.attack_version}: campaign {via} ({c['name']}), attributed to {gid} ({g['name']})",
            "url": self.attack_url(via),
        }

    # catalogue objects (emitted once, on first use) -------------------------
    def technique(self, tid: str, where: str) -> str:
        oid = self.sid("attack-pattern", tid)
        if oid in self.objects:
            return oid
        t = self.s.techniques.get(tid)
        if t is None:
            raise PackError(f"{where}: technique {tid} not in src/attack-techniques.toml (run --sync-catalog)")
        name = t["name"]
        if "." in tid:
            parent = self.s.techniques.get(tid.split(".")[0])
            if parent is None:
                raise PackError(f"{where}: parent of {tid} not in src/attack-techniques.toml")
            name = f"{parent['name']}: {name}"
        o = self.common("attack-pattern", tid, mitre=True)
        o["name"] = name
        o["kill_chain_phases"] = [{"kill_chain_name": "mitre-attack", "phase_name": p} for p in t["tactics"]]
        o["external_references"] = [{"source_name": "mitre-attack", "external_id": tid, "url": self.attack_url(tid)}]
        return self.add(self.finish(o), 30, tid)

    def software_obj(self, key: str, where: str) -> str:
        if key in self.s.software:
            t = self.s.software[key]
            stype = t["type"]
            oid = self.sid(stype, key)
            if oid in self.objects:
                return oid
            o = self.common(stype, key, mitre=True)
            o["name"] = t["name"]
            if stype == "malware":
                o["is_family"] = True
            if t.get("aliases"):
                o["aliases"] = t["aliases"]
            o["external_references"] = [{"source_name": "mitre-attack", "external_id": key, "url": self.attack_url(key)}]
            return self.add(self.finish(o), 40 if stype == "malware" else 41, key)
        t = self.s.software_extra.get(key)
        if t is None:
            raise PackError(f"{where}: software {key} in neither attack-software.toml nor software-extra.toml")
        stype = t["type"]
        oid = self.sid(stype, key)
        if oid in self.objects:
            return oid
        o = self.common(stype, key)
        o["name"] = t["name"]
        if t.get("description"):
            o["description"] = text(t["description"])
        if stype == "malware":
            o["is_family"] = True
            if t.get("malware_types"):
                o["malware_types"] = t["malware_types"]
        if t.get("aliases"):
            o["aliases"] = t["aliases"]
        o["external_references"] = self.ext_refs(t.get("refs", []), f"software-extra.toml [{key}]")
        return self.add(self.finish(o), 40 if stype == "malware" else 41, key)

    def vulnerability(self, cve: str, where: str) -> str:
        oid = self.sid("vulnerability", cve)
        if oid in self.objects:
            return oid
        v = self.s.vulnerabilities.get(cve)
        if v is None:
            raise PackError(f"{where}: {cve} not in src/vulnerabilities.toml")
        o = self.common("vulnerability", cve)
        o["name"] = cve
        o["description"] = text(f"{v['product']}: {v['summary']}")
        o["external_references"] = [
            {"source_name": "cve", "external_id": cve, "url": f"https://www.cve.org/CVERecord?id={cve}"}
        ]
        return self.add(self.finish(o), 50, cve)

    def sector(self, key: str, where: str) -> str:
        oid = self.sid("identity", f"sector:{key}")
        if oid in self.objects:
            return oid
        t = self.s.sectors.get(key)
        if t is None:
            raise PackError(f"{where}: sector {key!r} not in src/sectors.toml")
        o = self.common("identity", f"sector:{key}")
        o["name"] = t["name"]
        if t.get("description"):
            o["description"] = text(t["description"])
        o["identity_class"] = "class"
        if t.get("sectors"):
            o["sectors"] = t["sectors"]
        return self.add(self.finish(o), 60, key)

    def location(self, key: str, where: str) -> str:
        if key.startswith("region:"):
            r = key.split(":", 1)[1]
            if r not in self.s.regions:
                raise PackError(f"{where}: region {r!r} not in src/locations.toml")
            oid = self.sid("location", key)
            if oid in self.objects:
                return oid
            o = self.common("location", key)
            o["name"] = self.s.regions[r]["name"]
            o["region"] = r
            return self.add(self.finish(o), 70, key)
        c = self.s.countries.get(key)
        if c is None:
            raise PackError(f"{where}: country {key!r} not in src/locations.toml")
        oid = self.sid("location", f"country:{key}")
        if oid in self.objects:
            return oid
        o = self.common("location", f"country:{key}")
        o["name"] = c["name"]
        if c.get("region"):
            o["region"] = c["region"]
        o["country"] = key
        return self.add(self.finish(o), 71, key)

    def sponsor(self, key: str, where: str) -> str:
        oid = self.sid("threat-actor", key)
        if oid in self.objects:
            return oid
        t = self.s.sponsors.get(key)
        if t is None:
            raise PackError(f"{where}: sponsor {key!r} not in src/sponsors.toml")
        o = self.common("threat-actor", key)
        o["name"] = t["name"]
        o["description"] = text(t["description"])
        o["threat_actor_types"] = t["threat_actor_types"]
        if t.get("aliases"):
            o["aliases"] = t["aliases"]
        o["roles"] = t["roles"]
        o["resource_level"] = t["resource_level"]
        o["primary_motivation"] = t["primary_motivation"]
        o["external_references"] = self.ext_refs(t["refs"], f"sponsors.toml [{key}]")
        self.add(self.finish(o), 20, key)
        loc = self.location(t["country"], f"sponsors.toml [{key}]")
        self.relationship("located-at", oid, loc, ("threat-actor", key), ("location", t["country"]),
                          refs=self.ext_refs(t["refs"], f"sponsors.toml [{key}]", brief=True))
        return oid

    def campaign(self, cid: str, where: str) -> str:
        oid = self.sid("campaign", cid)
        if oid in self.objects:
            return oid
        c = self.s.campaigns.get(cid)
        if c is None:
            raise PackError(f"{where}: campaign {cid} not in src/campaigns.toml")
        is_attack = bool(CAMPAIGN_RE.match(cid))
        o = self.common("campaign", cid, mitre=is_attack)
        o["name"] = c["name"]
        o["description"] = text(c["description"])
        if c.get("aliases"):
            o["aliases"] = c["aliases"]
        prec = {}
        for f in ("first_seen", "last_seen"):
            if c.get(f):
                o[f], p = seen_ts(str(c[f]), f"campaigns.toml [{cid}] {f}", end=(f == "last_seen"))
                if p:
                    prec[f] = p
        if prec:
            o["x_tiaki_seen_precision"] = prec
        if c.get("objective"):
            o["objective"] = text(c["objective"])
        refs = []
        if is_attack:
            refs.append({"source_name": "mitre-attack", "external_id": cid, "url": self.attack_url(cid)})
        refs += self.ext_refs(c.get("refs", []), f"campaigns.toml [{cid}]")
        o["external_references"] = refs
        self.add(self.finish(o), 15, cid)
        for i, t in enumerate(c.get("targets_sectors", [])):
            tgt = self.sector(t["sector"], f"campaigns.toml [{cid}]")
            self.relationship("targets", oid, tgt, ("campaign", cid), ("identity", f"sector:{t['sector']}"),
                              refs=self.ext_refs(t["refs"], f"campaigns.toml [{cid}] targets_sectors[{i}]", brief=True),
                              description=t.get("note"))
        for i, t in enumerate(c.get("targets_locations", [])):
            tgt = self.location(t["location"], f"campaigns.toml [{cid}]")
            self.relationship("targets", oid, tgt, ("campaign", cid), ("location", t["location"]),
                              refs=self.ext_refs(t["refs"], f"campaigns.toml [{cid}] targets_locations[{i}]", brief=True),
                              description=t.get("note"))
        return oid

    # relationships ----------------------------------------------------------
    def relationship(self, rtype, src, tgt, src_key, tgt_key, refs, description=None,
                     confidence=None, mitre=False, extra=None) -> str:
        key = f"{rtype}:{src_key[0]}:{src_key[1]}:{tgt_key[0]}:{tgt_key[1]}"
        # Anything resting on ATT&CK (a mapping or a statement in an ATT&CK description)
        # carries MITRE's notice.
        mitre = mitre or any(r.get("source_name") == "MITRE ATT&CK" for r in (refs or []))
        o = self.common("relationship", key, mitre=mitre)
        o["relationship_type"] = rtype
        o["source_ref"] = src
        o["target_ref"] = tgt
        if description:
            o["description"] = text(description)
        if confidence is not None:
            o["confidence"] = confidence
        if refs:
            o["external_references"] = refs
        for k, v in (extra or {}).items():
            o[k] = v
        return self.add(self.finish(o), 90, key)

    def uses_entry(self, gid: str, kind: str, entry: dict, idx: int) -> None:
        where = f"{self.s.where(gid)} {kind}[{idx}]"
        gref = self.sid("intrusion-set", gid)
        via = entry.get("via", ["group"])
        if not via:
            raise PackError(f"{where}: empty via")
        basis, camp_refs, refs = [], [], []
        for v in via:
            if v == "group":
                basis.append("attack-group")
                refs.append(self.attack_basis_ref("group", gid))
            elif v == "report":
                basis.append("public-report")
            elif CAMPAIGN_RE.match(v) or v in self.s.campaigns:
                c = self.s.campaigns.get(v)
                if c is None or gid not in c.get("attributed_to", []):
                    raise PackError(f"{where}: via {v}, which is not a campaign attributed to {gid}")
                if not c.get("fold", False):
                    raise PackError(f"{where}: via {v}, but campaigns.toml does not fold {v} into its group")
                basis.append("attack-campaign" if CAMPAIGN_RE.match(v) else "tiaki-campaign")
                camp_refs.append(self.campaign(v, where))
                if CAMPAIGN_RE.match(v):
                    refs.append(self.attack_basis_ref(v, gid))
            else:
                raise PackError(f"{where}: unknown via {v!r} (group, report or a campaign id)")
        if not entry.get("refs"):
            raise PackError(f"{where}: no refs")
        refs += self.ext_refs(entry["refs"], where, brief=True)
        extra = {"x_tiaki_basis": sorted(set(basis))}
        if camp_refs:
            extra["x_tiaki_campaign_refs"] = camp_refs
        mitre = any(b.startswith("attack-") for b in basis)
        if kind == "techniques":
            tid = entry["id"]
            tgt = self.technique(tid, where)
            tkey = ("attack-pattern", tid)
            rtype = "uses"
        elif kind == "software":
            sw = entry["id"]
            tgt = self.software_obj(sw, where)
            tkey = (self.objects[tgt]["type"], sw)
            rtype = "uses"
        else:
            cve = entry["cve"]
            tgt = self.vulnerability(cve, where)
            tkey = ("vulnerability", cve)
            rtype = "targets"
        self.relationship(rtype, gref, tgt, ("intrusion-set", gid), tkey, refs,
                          description=entry.get("note"), mitre=mitre, extra=extra)

    def group(self, gid: str) -> None:
        self.current_group = gid
        g = self.s.groups[gid]
        where = self.s.where(gid)
        for f in ("name", "description", "resource_level", "primary_motivation", "origin"):
            if f not in g:
                raise PackError(f"{where}: missing {f}")
        o = self.common("intrusion-set", gid, mitre=True)
        o["name"] = g["name"]
        o["description"] = text(g["description"])
        aliases = [g["name"]]
        for a in g.get("aliases_attack", []) + g.get("aliases_misp", []) + [x["alias"] for x in g.get("aliases_other", [])]:
            if a.casefold() not in {x.casefold() for x in aliases}:
                aliases.append(a)
        o["aliases"] = aliases
        if g.get("first_seen"):
            o["first_seen"], p = seen_ts(str(g["first_seen"]), f"{where} first_seen")
            if p:
                o["x_tiaki_seen_precision"] = {"first_seen": p}
        if g.get("goals"):
            o["goals"] = g["goals"]
        o["resource_level"] = g["resource_level"]
        o["primary_motivation"] = g["primary_motivation"]
        if g.get("secondary_motivations"):
            o["secondary_motivations"] = g["secondary_motivations"]
        refs = [{"source_name": "mitre-attack", "external_id": gid, "url": self.attack_url(gid)}]
        refs += self.ext_refs(g.get("references", []), f"{where} references")
        if g.get("misp_cluster"):
            refs.append({
                "source_name": "misp-galaxy:threat-actor",
                "external_id": g["misp_cluster"],
                "description": "MISP galaxy threat-actor cluster (aliases, CFR victimology)",
                "url": "https://github.com/MISP/misp-galaxy/blob/main/clusters/threat-actor.json",
            })
        o["external_references"] = refs
        srcs = {"mitre-attack": g.get("aliases_attack", [])}
        if g.get("aliases_misp"):
            srcs["misp-galaxy"] = g["aliases_misp"]
        # Custom properties name sources by the same source_name as external_references.
        def names(keys, w):
            return [self.ext_ref(k, w)["source_name"] for k in keys]
        for x in g.get("aliases_other", []):
            srcs.setdefault(names([x["ref"]], f"{where} aliases_other")[0], []).append(x["alias"])
        o["x_tiaki_alias_sources"] = srcs
        if g.get("first_seen_refs"):
            o["x_tiaki_first_seen_sources"] = names(g["first_seen_refs"], f"{where} first_seen_refs")
        if g.get("activity_hours"):
            h = dict(g["activity_hours"])
            h["sources"] = names(h.get("sources", []), f"{where} activity_hours")
            o["x_tiaki_activity_hours"] = {k: (text(v) if isinstance(v, str) else v) for k, v in h.items()}
        gref = self.add(self.finish(o), 10, gid)

        org = g["origin"]
        loc = self.location(org["country"], f"{where} origin")
        self.relationship("originates-from", gref, loc, ("intrusion-set", gid), ("location", org["country"]),
                          refs=self.ext_refs(org["refs"], f"{where} origin", brief=True),
                          confidence=org.get("confidence"), description=org.get("note"))
        for i, sp in enumerate(g.get("sponsors", [])):
            ta = self.sponsor(sp["actor"], f"{where} sponsors[{i}]")
            self.relationship("attributed-to", gref, ta, ("intrusion-set", gid), ("threat-actor", sp["actor"]),
                              refs=self.ext_refs(sp["refs"], f"{where} sponsors[{i}]", brief=True),
                              confidence=sp.get("confidence"), description=sp.get("note"))
        for kind in ("techniques", "software", "vulnerabilities"):
            seen = set()
            for i, e in enumerate(g.get(kind, [])):
                k = e.get("id") or e.get("cve")
                if k in seen:
                    raise PackError(f"{where}: {kind} lists {k} twice")
                seen.add(k)
                self.uses_entry(gid, kind, e, i)
        for i, t in enumerate(g.get("targets_sectors", [])):
            tgt = self.sector(t["sector"], where)
            self.relationship("targets", gref, tgt, ("intrusion-set", gid), ("identity", f"sector:{t['sector']}"),
                              refs=self.ext_refs(t["refs"], f"{where} targets_sectors[{i}]", brief=True),
                              description=t.get("note"))
        for i, t in enumerate(g.get("targets_locations", [])):
            tgt = self.location(t["location"], where)
            lk = t["location"] if t["location"].startswith("region:") else f"country:{t['location']}"
            self.relationship("targets", gref, tgt, ("intrusion-set", gid), ("location", lk),
                              refs=self.ext_refs(t["refs"], f"{where} targets_locations[{i}]", brief=True),
                              description=t.get("note"))

    def campaigns_attribution(self) -> None:
        for cid, c in sorted(self.s.campaigns.items()):
            groups = [x for x in c.get("attributed_to", []) if x in self.s.groups]
            if not groups:
                raise PackError(f"campaigns.toml [{cid}]: attributed to no group of the pack")
            coid = self.campaign(cid, f"campaigns.toml [{cid}]")
            for gid in groups:
                refs = []
                if CAMPAIGN_RE.match(cid):
                    refs.append({"source_name": "MITRE ATT&CK",
                                 "description": f"Enterprise v{self.attack_version}: {cid} attributed to {gid}",
                                 "url": self.attack_url(cid)})
                refs += self.ext_refs(c.get("attribution_refs", []), f"campaigns.toml [{cid}] attribution_refs", brief=True)
                self.relationship("attributed-to", coid, self.sid("intrusion-set", gid), ("campaign", cid),
                                  ("intrusion-set", gid), refs=refs,
                                  confidence=c.get("attribution_confidence"),
                                  description=c.get("attribution_note"),
                                  mitre=bool(CAMPAIGN_RE.match(cid)))

    def build(self) -> dict:
        p = self.s.pack
        ident = {
            "type": "identity",
            "spec_version": "2.1",
            "id": self.identity_id,
            "created_by_ref": self.identity_id,
            "created": self.created,
            "modified": self.modified,
            "name": p["identity"]["name"],
            "description": text(p["identity"]["description"]),
            "identity_class": p["identity"]["identity_class"],
            "object_marking_refs": [TLP_CLEAR_ID],
        }
        self.add(ident, 1, "tiaki")
        tlp = {
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": TLP_CLEAR_ID,
            "created": "2022-10-01T00:00:00.000Z",
            "name": "TLP:CLEAR",
            "extensions": {TLP_EXT_ID: {"extension_type": "property-extension", "tlp_2_0": "clear"}},
        }
        self.add(tlp, 0, "0-tlp-clear")
        mm = p["mitre_marking"]
        mitre = {
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": self.mitre_marking_id,
            "created_by_ref": self.identity_id,
            "created": self.created,
            "name": mm["name"],
            "definition_type": "statement",
            "definition": {"statement": text(mm["statement"])},
        }
        self.add(mitre, 0, "1-mitre")
        for gid in sorted(self.s.groups):
            self.group(gid)
        self.current_group = None
        self.campaigns_attribution()
        objs = [self.objects[k] for k in sorted(self.objects, key=lambda k: (self.order[k], k))]
        bundle = {"type": "bundle", "id": self.sid("bundle", p["pack"]["name"]), "objects": objs}
        unused = sorted(set(self.s.references) - self.used_refs)
        self.unused_refs = unused
        return bundle, unused


def render(bundle: dict) -> str:
    return json.dumps(bundle, indent=2, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- validation


def walk_refs(obj, path=""):
    """Yield (path, id) for every *_ref / *_refs value, recursively."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == "extensions":
                continue
            p = f"{path}.{k}" if path else k
            if k.endswith("_ref") and isinstance(v, str):
                yield p, v
            elif k.endswith("_refs") and isinstance(v, list):
                for i, x in enumerate(v):
                    yield f"{p}[{i}]", x
            else:
                yield from walk_refs(v, p)
    elif isinstance(obj, list):
        for i, x in enumerate(obj):
            yield from walk_refs(x, f"{path}[{i}]")


def validate_bundle(bundle: dict) -> list[str]:
    errs = []
    if bundle.get("type") != "bundle" or "spec_version" in bundle:
        errs.append("bundle: type must be 'bundle' and 2.1 bundles carry no spec_version")
    if not ID_RE.match(bundle.get("id", "")) or not bundle["id"].startswith("bundle--"):
        errs.append("bundle: bad id")
    objs = bundle.get("objects", [])
    by_id = {}
    for o in objs:
        oid = o.get("id", "?")
        if oid in by_id:
            errs.append(f"{oid}: duplicate id")
        by_id[oid] = o
    rel_keys = set()
    for o in objs:
        oid, t = o.get("id", "?"), o.get("type")
        m = ID_RE.match(oid)
        if not m or m.group(1) != t:
            errs.append(f"{oid}: id does not match the STIX id form or its type {t!r}")
        elif oid != TLP_CLEAR_ID and m.group(2) != "5":
            errs.append(f"{oid}: not a UUIDv5 (ids must be deterministic)")
        if o.get("spec_version") != "2.1":
            errs.append(f"{oid}: spec_version must be '2.1'")
        if not TS_MS_RE.match(o.get("created", "")):
            errs.append(f"{oid}: created must be RFC 3339 UTC with millisecond precision")
        if t != "marking-definition":
            if not TS_MS_RE.match(o.get("modified", "")):
                errs.append(f"{oid}: modified must be RFC 3339 UTC with millisecond precision")
            elif o["modified"] < o["created"]:
                errs.append(f"{oid}: modified before created")
            if TLP_CLEAR_ID not in o.get("object_marking_refs", []):
                errs.append(f"{oid}: not marked TLP:CLEAR")
            if not o.get("created_by_ref"):
                errs.append(f"{oid}: no created_by_ref")
        elif "modified" in o:
            errs.append(f"{oid}: marking definitions are immutable and have no modified")
        for p, ref in walk_refs(o):
            if ref not in by_id:
                errs.append(f"{oid}: {p} -> {ref} does not resolve inside the bundle")
        if o.get("created_by_ref") and by_id.get(o["created_by_ref"], {}).get("type") != "identity":
            errs.append(f"{oid}: created_by_ref is not an identity")
        for r in o.get("object_marking_refs", []):
            if by_id.get(r, {}).get("type") != "marking-definition":
                errs.append(f"{oid}: object_marking_refs entry {r} is not a marking-definition")
        for i, er in enumerate(o.get("external_references", [])):
            if not er.get("source_name"):
                errs.append(f"{oid}: external_references[{i}] has no source_name")
            if not (er.get("url") or er.get("description") or er.get("external_id")):
                errs.append(f"{oid}: external_references[{i}] needs a url, description or external_id")
        for k in o:
            if not re.fullmatch(r"[a-z0-9_]{3,250}", k) and k not in ("id",):
                errs.append(f"{oid}: property name {k!r} is not STIX-conformant")
        # type-specific checks
        if t == "relationship":
            rt = o.get("relationship_type")
            s, g = by_id.get(o.get("source_ref")), by_id.get(o.get("target_ref"))
            if s and g and (s["type"], g["type"]) not in RELATIONSHIP_RULES.get(rt, set()):
                errs.append(f"{oid}: {s['type']} {rt} {g['type']} is not a relationship this pack allows")
            key = (rt, o.get("source_ref"), o.get("target_ref"))
            if key in rel_keys:
                errs.append(f"{oid}: duplicate relationship {key}")
            rel_keys.add(key)
            if not o.get("external_references"):
                errs.append(f"{oid}: relationship names no source")
            c = o.get("confidence")
            if c is not None and not (isinstance(c, int) and 0 <= c <= 100):
                errs.append(f"{oid}: confidence out of range")
        elif t == "intrusion-set":
            if o.get("resource_level") not in RESOURCE_LEVEL:
                errs.append(f"{oid}: resource_level not in vocabulary")
            for mv in [o.get("primary_motivation")] + o.get("secondary_motivations", []):
                if mv not in MOTIVATION:
                    errs.append(f"{oid}: motivation {mv!r} not in vocabulary")
            if "first_seen" in o and not TS_RE.match(o["first_seen"]):
                errs.append(f"{oid}: first_seen not a timestamp")
            if not any(r.get("source_name") == "mitre-attack" for r in o.get("external_references", [])):
                errs.append(f"{oid}: intrusion set without its ATT&CK id")
        elif t == "campaign":
            for f in ("first_seen", "last_seen"):
                if f in o and not TS_RE.match(o[f]):
                    errs.append(f"{oid}: {f} not a timestamp")
            if "first_seen" in o and "last_seen" in o and o["last_seen"] < o["first_seen"]:
                errs.append(f"{oid}: last_seen before first_seen")
        elif t == "threat-actor":
            if not set(o.get("threat_actor_types", [])) <= THREAT_ACTOR_TYPE:
                errs.append(f"{oid}: threat_actor_types not in vocabulary")
            if not set(o.get("roles", [])) <= THREAT_ACTOR_ROLE:
                errs.append(f"{oid}: roles not in vocabulary")
        elif t == "attack-pattern":
            ids = [r.get("external_id", "") for r in o.get("external_references", []) if r.get("source_name") == "mitre-attack"]
            if len(ids) != 1 or not TECH_RE.match(ids[0]):
                errs.append(f"{oid}: attack-pattern needs exactly one mitre-attack T-id")
            for kc in o.get("kill_chain_phases", []):
                if kc.get("kill_chain_name") != "mitre-attack" or kc.get("phase_name") not in TACTICS:
                    errs.append(f"{oid}: bad kill_chain_phases entry {kc}")
            if not o.get("kill_chain_phases"):
                errs.append(f"{oid}: no kill_chain_phases")
        elif t == "malware":
            if o.get("is_family") is not True or not o.get("name"):
                errs.append(f"{oid}: malware families need is_family true and a name")
        elif t == "identity":
            if o.get("identity_class") not in IDENTITY_CLASS:
                errs.append(f"{oid}: identity_class not in vocabulary")
            if not set(o.get("sectors", [])) <= INDUSTRY_SECTOR:
                errs.append(f"{oid}: sectors not in vocabulary: {o.get('sectors')}")
        elif t == "location":
            if "region" in o and o["region"] not in REGION:
                errs.append(f"{oid}: region {o['region']!r} not in vocabulary")
            if "country" in o and not re.fullmatch(r"[A-Z]{2}", o["country"]):
                errs.append(f"{oid}: country must be ISO 3166-1 alpha-2")
            if not ("region" in o or "country" in o):
                errs.append(f"{oid}: location needs a region or country")
        elif t == "vulnerability":
            if not CVE_RE.match(o.get("name", "")):
                errs.append(f"{oid}: vulnerability name is not a CVE id")
    # Every intrusion set has an origin and some behaviour.
    for o in objs:
        if o["type"] != "intrusion-set":
            continue
        rels = [r for r in objs if r["type"] == "relationship" and r["source_ref"] == o["id"]]
        if not any(r["relationship_type"] == "originates-from" for r in rels):
            errs.append(f"{o['id']} ({o['name']}): no originates-from")
        if not any(r["relationship_type"] == "uses" for r in rels):
            errs.append(f"{o['id']} ({o['name']}): uses nothing")
    return errs


def validate_sources(s: Sources, unused_refs: list[str]) -> list[str]:
    errs = []
    for gid, g in s.groups.items():
        w = s.where(gid)
        for f in ("name", "description", "resource_level", "primary_motivation", "origin"):
            if f not in g:
                errs.append(f"{w}: missing {f}")
        for e in g.get("techniques", []):
            if not TECH_RE.match(e.get("id", "")):
                errs.append(f"{w}: bad technique id {e.get('id')!r}")
        for e in g.get("vulnerabilities", []):
            if not CVE_RE.match(e.get("cve", "")):
                errs.append(f"{w}: bad CVE id {e.get('cve')!r}")
        h = g.get("activity_hours")
        if h:
            for f in ("tz", "utc_offset_hours", "weekday_hours_local", "sources", "confidence", "assumption"):
                if f not in h:
                    errs.append(f"{w}: activity_hours needs {f}")
    for k, r in s.references.items():
        if not (r.get("url") or r.get("description") or r.get("external_id")):
            errs.append(f"references: {k!r} needs a url, description or external_id")
    for k in unused_refs:
        if k in load_toml(s.src / "references.toml"):
            errs.append(f"references.toml: {k!r} is defined but not used")
    for k, c in s.countries.items():
        if not re.fullmatch(r"[A-Z]{2}", k):
            errs.append(f"locations.toml: country key {k!r} is not ISO 3166-1 alpha-2")
        if c.get("region") and c["region"] not in REGION:
            errs.append(f"locations.toml: {k} region {c['region']!r} not in region-ov")
    for k in s.regions:
        if k not in REGION:
            errs.append(f"locations.toml: region {k!r} not in region-ov")
    return errs


# --------------------------------------------------------------------------- ATT&CK / MISP facts


class Attack:
    def __init__(self, path: Path):
        data = json.loads(path.read_text(encoding="utf-8"))
        self.objs = data["objects"]
        self.by_id = {o["id"]: o for o in self.objs}
        self.by_ext: dict[str, dict] = {}
        for o in self.objs:
            for r in o.get("external_references", []):
                if r.get("source_name") == "mitre-attack" and r.get("external_id"):
                    xid = r["external_id"]
                    prev = self.by_ext.get(xid)
                    if prev is None or self.inactive(prev):
                        self.by_ext[xid] = o
        self.uses: dict[str, dict[str, list[dict]]] = {}
        self.attributed: dict[str, set[str]] = {}
        self.citations: dict[str, dict] = {}
        for o in self.objs:
            for r in o.get("external_references", []):
                if r.get("source_name") and r.get("source_name") != "mitre-attack" and (r.get("url") or r.get("description")):
                    self.citations.setdefault(r["source_name"], r)
            if o["type"] != "relationship" or self.inactive(o):
                continue
            s, t = self.by_id.get(o["source_ref"]), self.by_id.get(o["target_ref"])
            if not s or not t or self.inactive(s) or self.inactive(t):
                continue
            sx, tx = self.ext(s), self.ext(t)
            if not sx or not tx:
                continue
            if o["relationship_type"] == "uses":
                self.uses.setdefault(sx, {}).setdefault(tx, []).append(o)
            elif o["relationship_type"] == "attributed-to":
                self.attributed.setdefault(sx, set()).add(tx)

    @staticmethod
    def inactive(o) -> bool:
        return bool(o.get("revoked") or o.get("x_mitre_deprecated"))

    @staticmethod
    def ext(o):
        for r in o.get("external_references", []):
            if r.get("source_name") == "mitre-attack":
                return r.get("external_id")
        return None

    def get(self, xid):
        o = self.by_ext.get(xid)
        return None if o is None or self.inactive(o) else o

    def tactics(self, o):
        return [k["phase_name"] for k in o.get("kill_chain_phases", []) if k.get("kill_chain_name") == "mitre-attack"]

    def cites(self, rels):
        out = []
        for r in rels:
            for e in r.get("external_references", []):
                if e.get("source_name") and e["source_name"] not in out:
                    out.append(e["source_name"])
        return out


def validate_attack(s: Sources, bundle: dict, a: Attack) -> list[str]:
    errs = []
    ver = next((o.get("x_mitre_version") for o in a.objs if o["type"] == "x-mitre-collection"), None)
    if ver and ver != s.pack["pack"]["attack_version"]:
        errs.append(f"pack.toml says ATT&CK {s.pack['pack']['attack_version']} but the bundle is {ver}")
    for o in bundle["objects"]:
        for r in o.get("external_references", []):
            if r.get("source_name") != "mitre-attack":
                continue
            xid = r["external_id"]
            ao = a.get(xid)
            if ao is None:
                errs.append(f"{o['type']} {xid}: not an active object in ATT&CK v{s.pack['pack']['attack_version']}")
                continue
            want_type = o["type"]
            if ao["type"] != want_type:
                errs.append(f"{xid}: pack has it as {want_type}, ATT&CK as {ao['type']}")
            if o["type"] == "attack-pattern":
                name = ao["name"]
                if "." in xid:
                    name = a.get(xid.split(".")[0])["name"] + ": " + name
                if o["name"] != name:
                    errs.append(f"{xid}: name {o['name']!r} differs from ATT&CK {name!r}")
                if [k["phase_name"] for k in o["kill_chain_phases"]] != a.tactics(ao):
                    errs.append(f"{xid}: tactics differ from ATT&CK {a.tactics(ao)}")
            elif o["type"] in ("malware", "tool", "intrusion-set", "campaign") and o["name"] != ao["name"]:
                errs.append(f"{xid}: name {o['name']!r} differs from ATT&CK {ao['name']!r}")
    for cid, c in s.campaigns.items():
        if CAMPAIGN_RE.match(cid):
            ac = a.get(cid)
            if ac is None:
                errs.append(f"campaigns.toml [{cid}]: not an active ATT&CK campaign")
                continue
            for f in ("first_seen", "last_seen"):
                if c.get(f) != ac.get(f):
                    errs.append(f"campaigns.toml [{cid}]: {f} {c.get(f)} differs from ATT&CK {ac.get(f)}")
            for gid in c.get("attributed_to", []):
                if gid not in a.attributed.get(cid, set()):
                    errs.append(f"campaigns.toml [{cid}]: ATT&CK does not attribute it to {gid}")
            for gid in a.attributed.get(cid, set()):
                if gid in s.groups and gid not in c.get("attributed_to", []):
                    errs.append(f"campaigns.toml [{cid}]: ATT&CK also attributes it to {gid}")
    for gid, g in s.groups.items():
        w = s.where(gid)
        ao = a.get(gid)
        if ao is None:
            continue
        aal = [x for x in ao.get("aliases", []) if x != ao["name"]]
        if sorted(g.get("aliases_attack", [])) != sorted(aal):
            errs.append(f"{w}: aliases_attack {g.get('aliases_attack')} differ from ATT&CK {aal}")
        folded = [cid for cid, c in s.campaigns.items()
                  if CAMPAIGN_RE.match(cid) and gid in c.get("attributed_to", []) and c.get("fold")]
        for cid in a.attributed:
            if gid in a.attributed[cid] and cid not in s.campaigns:
                errs.append(f"{w}: ATT&CK campaign {cid} is attributed to {gid} but not in campaigns.toml")
        omitted = {x["id"]: x for x in g.get("attack_omitted", [])}
        for kind in ("techniques", "software"):
            listed = {}
            for e in g.get(kind, []):
                listed[e["id"]] = e
                for v in e.get("via", ["group"]):
                    src = gid if v == "group" else v
                    if v == "report" or not (v == "group" or CAMPAIGN_RE.match(v)):
                        continue
                    if e["id"] not in a.uses.get(src, {}):
                        errs.append(f"{w}: {e['id']} claims via {v}, but ATT&CK has no {src} uses {e['id']}")
            for src in [gid] + folded:
                for tx in a.uses.get(src, {}):
                    is_tech = bool(TECH_RE.match(tx))
                    if is_tech != (kind == "techniques"):
                        continue
                    v = "group" if src == gid else src
                    if tx in omitted:
                        continue
                    if tx not in listed:
                        errs.append(f"{w}: ATT&CK {src} uses {tx}, missing from {kind} (or add to attack_omitted)")
                    elif v not in listed[tx].get("via", ["group"]):
                        errs.append(f"{w}: {tx} should list via {v!r}")
        for e in g.get("vulnerabilities", []):
            for v in e.get("via", ["group"]):
                if v == "report" or not (v == "group" or CAMPAIGN_RE.match(v)):
                    continue
                src = gid if v == "group" else v
                texts = [r.get("description", "") for rels in a.uses.get(src, {}).values() for r in rels]
                if not any(e["cve"] in t for t in texts):
                    errs.append(f"{w}: {e['cve']} claims via {v}, but no ATT&CK {src} relationship mentions it")
    return errs


def validate_misp(s: Sources, path: Path) -> list[str]:
    errs = []
    data = json.loads(path.read_text(encoding="utf-8"))
    clusters = {v["uuid"]: v for v in data["values"]}
    for gid, g in s.groups.items():
        w = s.where(gid)
        u = g.get("misp_cluster")
        if not u:
            continue
        c = clusters.get(u)
        if c is None:
            errs.append(f"{w}: MISP cluster {u} not found")
            continue
        names = {c["value"].casefold()} | {x.casefold() for x in c.get("meta", {}).get("synonyms", [])}
        for al in g.get("aliases_misp", []):
            if al.casefold() not in names:
                errs.append(f"{w}: alias {al!r} is not in MISP cluster {c['value']}")
    return errs


# --------------------------------------------------------------------------- catalogue sync and drafts


def toml_str(v) -> str:
    return json.dumps(v, ensure_ascii=False)


def toml_key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else toml_str(k)


def sync_catalog(s: Sources, a: Attack) -> None:
    tids, sids, cites = set(), set(), set()
    for g in s.groups.values():
        for e in g.get("techniques", []):
            tids.add(e["id"])
            if "." in e["id"]:
                tids.add(e["id"].split(".")[0])
        for e in g.get("software", []):
            if SOFT_RE.match(e["id"]):
                sids.add(e["id"])
    own = load_toml(s.src / "references.toml")

    def need(keys):
        for k in keys:
            if k.startswith("attack:") or k == "misp":
                continue
            if k not in own:
                cites.add(k)

    for g in s.groups.values():
        for kind in ("techniques", "software", "vulnerabilities", "targets_sectors", "targets_locations"):
            for e in g.get(kind, []):
                need(e.get("refs", []))
        need(g.get("references", []))
        need(g.get("first_seen_refs", []))
        need(g.get("origin", {}).get("refs", []))
        for sp in g.get("sponsors", []):
            need(sp["refs"])
        for x in g.get("aliases_other", []):
            need([x["ref"]])
        need(g.get("activity_hours", {}).get("sources", []))
    for c in s.campaigns.values():
        need(c.get("refs", []))
        need(c.get("attribution_refs", []))
        for t in c.get("targets_sectors", []) + c.get("targets_locations", []):
            need(t["refs"])
    for t in s.sponsors.values():
        need(t["refs"])
    for t in s.software_extra.values():
        need(t.get("refs", []))
    head = (f"# GENERATED by intel/tools/build_pack.py --sync-catalog from MITRE ATT&CK Enterprise "
            f"v{s.pack['pack']['attack_version']}.\n# Facts (ids, names, tactics); do not edit by hand.\n"
            "# (c) 2025 The MITRE Corporation. This work is reproduced and distributed with the permission "
            "of The MITRE Corporation.\n\n")
    lines = [head]
    for tid in sorted(tids):
        o = a.get(tid)
        if o is None:
            raise PackError(f"{tid}: not an active ATT&CK technique")
        lines.append(f"[{toml_key(tid)}]\nname = {toml_str(o['name'])}\ntactics = {toml_str(a.tactics(o))}\n\n")
    (s.src / "attack-techniques.toml").write_text("".join(lines).rstrip("\n") + "\n", encoding="utf-8")
    lines = [head]
    for sid_ in sorted(sids):
        o = a.get(sid_)
        if o is None:
            raise PackError(f"{sid_}: not active ATT&CK software")
        aliases = [x for x in o.get("x_mitre_aliases", []) if x != o["name"]]
        lines.append(f"[{sid_}]\nname = {toml_str(o['name'])}\ntype = {toml_str(o['type'])}\n")
        if aliases:
            lines.append(f"aliases = {toml_str([o['name']] + aliases)}\n")
        lines.append("\n")
    (s.src / "attack-software.toml").write_text("".join(lines).rstrip("\n") + "\n", encoding="utf-8")
    lines = [head.replace("Facts (ids, names, tactics)", "Citations (source name, bibliographic line, url) that ATT&CK gives")]
    for k in sorted(cites):
        c = a.citations.get(k)
        if c is None:
            raise PackError(f"reference {k!r} is neither in references.toml nor an ATT&CK citation")
        lines.append(f"[{toml_key(k)}]\n")
        if c.get("description"):
            lines.append(f"description = {toml_str(' '.join(c['description'].split()))}\n")
        if c.get("url"):
            lines.append(f"url = {toml_str(c['url'])}\n")
        lines.append("\n")
    (s.src / "attack-references.toml").write_text("".join(lines).rstrip("\n") + "\n", encoding="utf-8")
    print(f"synced {len(tids)} techniques, {len(sids)} software, {len(cites)} ATT&CK citations", file=sys.stderr)


def draft(gid: str, a: Attack, misp_path: Path | None) -> str:
    g = a.get(gid)
    if g is None or g["type"] != "intrusion-set":
        raise PackError(f"{gid}: not an active ATT&CK group")
    camps = sorted(c for c, gs in a.attributed.items() if gid in gs and CAMPAIGN_RE.match(c))
    known = load_toml(SRC / "campaigns.toml") if (SRC / "campaigns.toml").exists() else {}
    not_folded = [c for c in camps if c in known and not known[c].get("fold")]
    camps = [c for c in camps if c not in not_folded]
    out = [f"# {gid} {g['name']} — DRAFT from ATT&CK; write the description, victimology and origin yourself.\n",
           f'attack_id = "{gid}"\nname = {toml_str(g["name"])}\n',
           f"aliases_attack = {toml_str([x for x in g.get('aliases', []) if x != g['name']])}\n"]
    if misp_path:
        data = json.loads(misp_path.read_text(encoding="utf-8"))
        for v in data["values"]:
            syn = v.get("meta", {}).get("synonyms", [])
            if gid in syn or any(x.casefold() in {y.casefold() for y in syn + [v["value"]]} for x in g.get("aliases", [])):
                out.append(f"# MISP cluster {v['value']}: synonyms {toml_str(syn)}\nmisp_cluster = \"{v['uuid']}\"\n")
                break
    out.append(f"# ATT&CK campaigns attributed to {gid} and folded here: {camps}; not folded: {not_folded}\n")
    for kind, pred in (("techniques", lambda x: TECH_RE.match(x)), ("software", lambda x: SOFT_RE.match(x))):
        rows = {}
        for src in [gid] + camps:
            for tx, rels in a.uses.get(src, {}).items():
                if not pred(tx):
                    continue
                r = rows.setdefault(tx, {"via": [], "refs": []})
                r["via"].append("group" if src == gid else src)
                for c in a.cites(rels):
                    if c not in r["refs"]:
                        r["refs"].append(c)
        out.append(f"{kind} = [\n")
        for tx in sorted(rows):
            r = rows[tx]
            via = "" if r["via"] == ["group"] else f"via = {toml_str(r['via'])}, "
            name = a.get(tx)["name"]
            out.append(f"  {{ id = \"{tx}\", {via}refs = {toml_str(r['refs'])} }},  # {name}\n")
        out.append("]\n")
    return "".join(out)


# --------------------------------------------------------------------------- main


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="fail if intel/starter-pack.json is stale or invalid")
    ap.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="the shared reference folder (ATT&CK, MISP)")
    ap.add_argument("--no-external", action="store_true", help="skip the checks against ATT&CK and MISP")
    ap.add_argument("--sync-catalog", action="store_true", help="refresh src/attack-*.toml from the ATT&CK bundle")
    ap.add_argument("--draft", metavar="GXXXX", help="print a draft group file from ATT&CK")
    ap.add_argument("--stats", action="store_true", help="print object and per-group counts")
    args = ap.parse_args(argv)

    attack_path = args.shared / ATTACK_REL
    misp_path = args.shared / MISP_REL
    try:
        if args.draft:
            print(draft(args.draft, Attack(attack_path), misp_path if misp_path.exists() else None), end="")
            return 0
        s = Sources()
        if args.sync_catalog:
            sync_catalog(s, Attack(attack_path))
            s = Sources()
        builder = Builder(s)
        bundle, unused = builder.build()
    except PackError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    errs = validate_sources(s, unused) + validate_bundle(bundle)
    external = not args.no_external
    if external and attack_path.exists():
        attack = Attack(attack_path)
        errs += validate_attack(s, bundle, attack)
        errs += [f"cited attack:{x}, which is not an active ATT&CK group or campaign"
                 for x in sorted(builder.attack_cited) if attack.get(x) is None]
    elif external:
        print(f"note: {attack_path} not found; ATT&CK facts not checked", file=sys.stderr)
    if external and misp_path.exists():
        errs += validate_misp(s, misp_path)
    elif external:
        print(f"note: {misp_path} not found; MISP aliases not checked", file=sys.stderr)
    if errs:
        for e in errs:
            print(f"invalid: {e}", file=sys.stderr)
        print(f"{len(errs)} problem(s); starter-pack.json not written", file=sys.stderr)
        return 1
    text = render(bundle)
    if args.stats:
        print_stats(bundle)
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else None
        if current != text:
            print("stale: intel/starter-pack.json differs from what intel/src builds; "
                  "run python3 intel/tools/build_pack.py", file=sys.stderr)
            return 1
        print(f"ok: intel/starter-pack.json is current ({len(bundle['objects'])} objects)", file=sys.stderr)
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.relative_to(INTEL.parent)} ({len(bundle['objects'])} objects, {len(text)} bytes)", file=sys.stderr)
    return 0


def print_stats(bundle: dict) -> None:
    objs = bundle["objects"]
    by_id = {o["id"]: o for o in objs}
    counts = {}
    for o in objs:
        counts[o["type"]] = counts.get(o["type"], 0) + 1
    print("objects by type:")
    for t, n in sorted(counts.items()):
        print(f"  {t:20} {n}")
    print(f"{'group':34} {'tech':>5} {'soft':>5} {'cve':>4} {'sect':>5} {'loc':>4}")
    for g in [o for o in objs if o["type"] == "intrusion-set"]:
        rels = [r for r in objs if r["type"] == "relationship" and r["source_ref"] == g["id"]]
        def n(rt, types):
            return sum(1 for r in rels if r["relationship_type"] == rt and by_id[r["target_ref"]]["type"] in types)
        gid = next(r["external_id"] for r in g["external_references"] if r["source_name"] == "mitre-attack")
        print(f"{gid + ' ' + g['name']:34} {n('uses', {'attack-pattern'}):5} {n('uses', {'malware', 'tool'}):5} "
              f"{n('targets', {'vulnerability'}):4} {n('targets', {'identity'}):5} {n('targets', {'location'}):4}")


if __name__ == "__main__":
    sys.exit(main())
