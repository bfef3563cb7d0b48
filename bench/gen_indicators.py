#!/usr/bin/env python3
"""Writes N mixed indicators for the indicator-sweep benchmark, in every feed format tiaki reads.

Usage: gen_indicators.py EVENTS_JSONL OUT_DIR N

OUT_DIR receives (shares of N):
  stix/indicators.json   15% STIX 2.1 bundle: simple patterns (addresses, CIDRs, domains, URLs,
                         hashes, file names), 1 in 100 a multi-comparison pattern the index
                         cannot decompose, `indicates` links to 20 intrusion sets, TLP markings
  misp/                  15% a MISP feed folder: manifest.json + 50 events, attributes of every
                         mapped type, some grouped in file objects, event-level TLP tags
  list.csv               30% CSV with a header (type,value,comment,threat_actor,tlp)
  list.txt               40% a plain list, one value per line, 1 in 10 defanged

The values are random (seeded, deterministic) and do not occur in the generated events, except
for 1 in 50,000 which are taken from the regression events EVENTS_JSONL (addresses, domains and
hashes found there; not file names, which the generated events repeat in every other line), so
that the sweep also reports hits, about as rarely as a real sweep does.
"""
import ipaddress
import json
import os
import random
import sys
import uuid

rng = random.Random(20261129)
NS = uuid.UUID("5b0ab0f5-5cdd-4d1b-9d3c-2b1f3e6a1a01")
TLD = ["com", "net", "org", "info", "xyz", "top", "co", "io", "biz", "online"]
WORDS = ["update", "cdn", "mail", "secure", "login", "portal", "static", "api", "files", "sync",
         "cloud", "news", "support", "office", "gov", "health", "data", "web", "app", "host"]
GROUPS = [f"Synthetic Group {i:02d}" for i in range(20)]
TLPS = ["clear", "green", "amber", "amber+strict", "red"]
TLP1 = {"clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
        "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
        "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
        "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"}


def uid(*parts):
    return str(uuid.uuid5(NS, "/".join(str(p) for p in parts)))


def hexs(n):
    return "%0*x" % (n, rng.getrandbits(4 * n))


def ipv4():
    # Public-looking space, avoiding the documentation ranges the events use.
    return str(ipaddress.IPv4Address(rng.randrange(0x0B000000, 0xDF000000)))


def ipv6():
    return str(ipaddress.IPv6Address((0x2a00 << 112) | rng.getrandbits(112)))


def domain():
    return f"{rng.choice(WORDS)}-{hexs(6)}.{rng.choice(WORDS)}.{rng.choice(TLD)}"


def value(kind):
    if kind == "ipv4":
        return ipv4()
    if kind == "cidr":
        return f"{ipv4().rsplit('.', 1)[0]}.0/24"
    if kind == "ipv6":
        return ipv6()
    if kind == "domain":
        return domain()
    if kind == "url":
        return f"http://{domain()}/{rng.choice(WORDS)}/{hexs(8)}.php"
    if kind == "md5":
        return hexs(32)
    if kind == "sha1":
        return hexs(40)
    if kind == "sha256":
        return hexs(64)
    if kind == "filename":
        return f"{rng.choice(WORDS)}{hexs(4)}.{rng.choice(['exe', 'dll', 'aspx', 'jsp', 'ps1'])}"
    raise ValueError(kind)


# The mix of a national feed: mostly addresses and domains, then hashes and URLs.
KINDS = (["ipv4"] * 34 + ["cidr"] * 3 + ["ipv6"] * 4 + ["domain"] * 25 + ["url"] * 10
         + ["md5"] * 6 + ["sha1"] * 4 + ["sha256"] * 10 + ["filename"] * 4)


def harvest(events_path):
    """Values seen in the regression events, by kind."""
    found = {"ipv4": set(), "domain": set(), "md5": set(), "sha256": set()}
    with open(events_path, encoding="utf-8") as f:
        for line in f:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if not isinstance(ev, dict):
                continue
            fields = ev.get("event") or ev.get("fields") or ev
            for k, v in fields.items():
                if not isinstance(v, str):
                    continue
                if k in ("DestinationIp", "SourceIp", "IpAddress"):
                    try:
                        if ipaddress.ip_address(v).version == 4:
                            found["ipv4"].add(v)
                    except ValueError:
                        pass
                elif k in ("QueryName", "DestinationHostname") and "." in v:
                    found["domain"].add(v.lower())
                elif k == "Hashes":
                    for part in v.split(","):
                        alg, _, h = part.partition("=")
                        if alg.upper() == "MD5":
                            found["md5"].add(h.lower())
                        elif alg.upper() == "SHA256":
                            found["sha256"].add(h.lower())
    return {k: sorted(v) for k, v in found.items() if v}


def draw(seen):
    kind = rng.choice(KINDS)
    if seen and rng.random() < 1 / 50000:
        k = rng.choice(sorted(seen))
        return k, rng.choice(seen[k])
    return kind, value(kind)


STIX_PATH = {"ipv4": "ipv4-addr:value", "cidr": "ipv4-addr:value", "ipv6": "ipv6-addr:value",
             "domain": "domain-name:value", "url": "url:value", "md5": "file:hashes.MD5",
             "sha1": "file:hashes.'SHA-1'", "sha256": "file:hashes.'SHA-256'",
             "filename": "file:name"}


def stix_bundle(n, seen, path):
    objs = []
    sets = []
    for g in GROUPS:
        sid = "intrusion-set--" + uid("set", g)
        sets.append(sid)
        objs.append({"type": "intrusion-set", "spec_version": "2.1", "id": sid,
                     "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
                     "name": g})
    for i in range(n):
        kind, v = draw(seen)
        op = "ISSUBSET" if kind == "cidr" else "="
        if i % 100 == 99:
            pattern = (f"[network-traffic:dst_ref.value = '{ipv4()}' AND network-traffic:dst_port = "
                       f"{rng.choice([443, 8443, 4444])}] FOLLOWEDBY [file:name = '{value('filename')}']"
                       " WITHIN 600 SECONDS")
        else:
            pattern = f"[{STIX_PATH[kind]} {op} '{v}']"
        iid = "indicator--" + uid("stix", i)
        ind = {"type": "indicator", "spec_version": "2.1", "id": iid,
               "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
               "pattern": pattern, "pattern_type": "stix", "valid_from": "2020-01-01T00:00:00Z",
               "indicator_types": ["malicious-activity"]}
        if rng.random() < 0.5:
            ind["object_marking_refs"] = [TLP1[rng.choice(TLPS)]]
        objs.append(ind)
        if rng.random() < 0.3:
            objs.append({"type": "relationship", "spec_version": "2.1",
                         "id": "relationship--" + uid("rel", i),
                         "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
                         "relationship_type": "indicates", "source_ref": iid,
                         "target_ref": rng.choice(sets)})
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"type": "bundle", "id": "bundle--" + uid("bundle"), "objects": objs}, f)


MISP_TYPE = {"ipv4": "ip-dst", "cidr": "ip-dst", "ipv6": "ip-dst", "domain": "domain", "url": "url",
             "md5": "md5", "sha1": "sha1", "sha256": "sha256", "filename": "filename"}


def misp_feed(n, seen, folder):
    os.makedirs(folder, exist_ok=True)
    manifest = {}
    per_event = max(1, n // 50)
    made = 0
    e = 0
    while made < n:
        eid = uid("event", e)
        tags = [{"name": f"tlp:{rng.choice(['white', 'green', 'amber', 'red'])}"}]
        if rng.random() < 0.5:
            tags.append({"name": f'misp-galaxy:threat-actor="{rng.choice(GROUPS)}"'})
        attrs, objects = [], []
        for j in range(min(per_event, n - made)):
            kind, v = draw(seen)
            if j % 50 == 49:
                # A file object: name and hash together.
                objects.append({"name": "file", "meta-category": "file", "uuid": uid("obj", e, j),
                                "Attribute": [
                                    {"uuid": uid("oa", e, j, 0), "type": "filename", "category": "Payload delivery",
                                     "object_relation": "filename", "value": value("filename"), "to_ids": True},
                                    {"uuid": uid("oa", e, j, 1), "type": "sha256", "category": "Payload delivery",
                                     "object_relation": "sha256", "value": value("sha256"), "to_ids": True}]})
            else:
                attrs.append({"uuid": uid("attr", e, j), "type": MISP_TYPE[kind], "category": "Network activity",
                              "value": v, "to_ids": True, "timestamp": "1767225600", "deleted": False})
            made += 1
        event = {"Event": {"uuid": eid, "info": f"Synthetic event {e}", "date": "2026-01-01",
                           "threat_level_id": "2", "analysis": "2", "timestamp": "1767225600",
                           "published": True, "Orgc": {"name": "Bench CERT", "uuid": uid("org")},
                           "Tag": tags, "Attribute": attrs, "Object": objects}}
        with open(os.path.join(folder, eid + ".json"), "w", encoding="utf-8") as f:
            json.dump(event, f)
        manifest[eid] = {"Orgc": {"name": "Bench CERT", "uuid": uid("org")}, "Tag": tags,
                         "info": f"Synthetic event {e}", "date": "2026-01-01", "analysis": 2,
                         "threat_level_id": 2, "timestamp": 1767225600}
        e += 1
    with open(os.path.join(folder, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f)


def csv_list(n, seen, path):
    with open(path, "w", encoding="utf-8") as f:
        f.write("type,value,comment,threat_actor,tlp\n")
        for i in range(n):
            kind, v = draw(seen)
            actor = rng.choice(GROUPS) if rng.random() < 0.2 else ""
            t = {"cidr": "ip-dst", "ipv4": "ip-dst", "ipv6": "ip-dst"}.get(kind, kind)
            f.write(f"{t},{v},bench row {i},{actor},{rng.choice(TLPS)}\n")


def plain_list(n, seen, path):
    with open(path, "w", encoding="utf-8") as f:
        f.write("# synthetic indicator list for the sweep benchmark\n")
        for i in range(n):
            _, v = draw(seen)
            if i % 10 == 0:
                v = v.replace("http://", "hxxp://").replace(".", "[.]", 1)
            f.write(v + "\n")


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    events, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    seen = harvest(events)
    os.makedirs(os.path.join(out, "stix"), exist_ok=True)
    shares = [int(n * 0.15), int(n * 0.15), int(n * 0.30)]
    shares.append(n - sum(shares))
    stix_bundle(shares[0], seen, os.path.join(out, "stix", "indicators.json"))
    misp_feed(shares[1], seen, os.path.join(out, "misp"))
    csv_list(shares[2], seen, os.path.join(out, "list.csv"))
    plain_list(shares[3], seen, os.path.join(out, "list.txt"))
    print(f"{n} indicators in {out}: stix {shares[0]}, misp {shares[1]}, csv {shares[2]}, "
          f"list {shares[3]}; values from the events: "
          + ", ".join(f"{k} {len(v)}" for k, v in seen.items()))


if __name__ == "__main__":
    main()
