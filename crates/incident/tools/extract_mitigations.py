#!/usr/bin/env python3
"""Extract ATT&CK technique -> mitigation pairs from an ATT&CK Enterprise STIX bundle.

Writes the table tiaki-incident embeds (data/mitigations.json) for knowledge bases that have
no course-of-action objects (the embedded starter pack). For every active technique, its
active mitigations' ATT&CK id and name only -- no descriptions, so the table stays small
and carries no prose that would need attribution beyond the ATT&CK licence notice.

Usage: python3 tools/extract_mitigations.py [BUNDLE] [OUT]
Defaults: /work/shared/data/attack/enterprise-attack.json, data/mitigations.json beside
this script's crate. Python 3 standard library only.
"""

import json
import os
import sys


def attack_id(obj):
    for ref in obj.get("external_references", []):
        if ref.get("source_name") == "mitre-attack" and ref.get("external_id"):
            return ref["external_id"]
    return None


def active(obj):
    return not obj.get("revoked", False) and not obj.get("x_mitre_deprecated", False)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    bundle = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/attack/enterprise-attack.json"
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "..", "data", "mitigations.json")
    with open(bundle, encoding="utf-8") as f:
        objects = json.load(f)["objects"]

    by_id = {o["id"]: o for o in objects if "id" in o}
    version = None
    for o in objects:
        if o.get("type") == "x-mitre-collection":
            version = o.get("x_mitre_version")

    table = {}
    for rel in objects:
        if rel.get("type") != "relationship" or rel.get("relationship_type") != "mitigates":
            continue
        if not active(rel):
            continue
        src = by_id.get(rel.get("source_ref"))
        dst = by_id.get(rel.get("target_ref"))
        if not src or not dst:
            continue
        if src.get("type") != "course-of-action" or dst.get("type") != "attack-pattern":
            continue
        if not active(src) or not active(dst):
            continue
        tid, mid = attack_id(dst), attack_id(src)
        if not tid or not mid:
            continue
        table.setdefault(tid, {})[mid] = src.get("name", mid)

    names = {}
    for ms in table.values():
        names.update(ms)
    # One technique per line: small, and a diff after an ATT&CK update stays readable.
    lines = ["{",
             f' "source": {json.dumps("MITRE ATT&CK Enterprise" + (f" v{version}" if version else ""))},',
             ' "licence": "ATT&CK (c) The MITRE Corporation, reproduced under its terms of use",',
             ' "mitigations": {']
    items = sorted(names.items())
    for i, (m, n) in enumerate(items):
        lines.append(f"  {json.dumps(m)}: {json.dumps(n, ensure_ascii=False)}" + ("," if i + 1 < len(items) else ""))
    lines.append(" },")
    lines.append(' "techniques": {')
    techs = sorted(table.items())
    for i, (t, ms) in enumerate(techs):
        lines.append(f"  {json.dumps(t)}: {json.dumps(sorted(ms))}" + ("," if i + 1 < len(techs) else ""))
    lines.append(" }")
    lines.append("}")
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    n = sum(len(v) for v in table.values())
    print(f"{len(table)} techniques, {n} pairs -> {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
