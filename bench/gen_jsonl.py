#!/usr/bin/env python3
"""Writes N JSON Lines events for benchmarks, derived from SigmaHQ's regression events.

Usage: gen_jsonl.py EVENTS_JSONL OUT N

Each line is one of the 238 flattened Windows events of
`shared/data/vectors/sigma/sigmahq-regression/events.jsonl` (Sysmon, Security, Defender...)
with varied fields so that no two lines are equal and automata see realistic input:
increasing `TimeCreated_SystemTime`/`UtcTime`, a new `EventRecordID`, one of 500 hosts, one of
200 users, varied process ids and GUIDs. The regression events are all attacks, so 39 of 40
events have their tell-tale values (images, command lines, file names, registry keys, script
blocks...) replaced with ordinary ones from a pool plus a random token: the field layout stays
that of real Sysmon/Security events while detections stay rare, as in real evidence. The other
1 in 40 keeps its original values and raises the regression detections. Deterministic (seeded).
"""
import json
import random
import sys
from datetime import datetime, timedelta, timezone


# Consistent process profiles: image, original name, metadata, command line and parent agree,
# as on a real workstation ({t} is a random token).
PROFILES = [
    {"Image": "C:\\Program Files\\Mozilla Firefox\\firefox.exe", "OriginalFileName": "firefox.exe",
     "Description": "Firefox", "Product": "Firefox", "Company": "Mozilla Corporation",
     "CommandLine": "\"C:\\Program Files\\Mozilla Firefox\\firefox.exe\" -contentproc --channel={t} tab",
     "ParentImage": "C:\\Program Files\\Mozilla Firefox\\firefox.exe",
     "ParentCommandLine": "\"C:\\Program Files\\Mozilla Firefox\\firefox.exe\""},
    {"Image": "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe",
     "OriginalFileName": "msedge.exe", "Description": "Microsoft Edge", "Product": "Microsoft Edge",
     "Company": "Microsoft Corporation",
     "CommandLine": "\"C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe\" --type=renderer --field-trial-handle={t}",
     "ParentImage": "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe",
     "ParentCommandLine": "\"C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe\""},
    {"Image": "C:\\Windows\\System32\\svchost.exe", "OriginalFileName": "svchost.exe",
     "Description": "Host Process for Windows Services", "Product": "Microsoft® Windows® Operating System",
     "Company": "Microsoft Corporation", "CommandLine": "C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule",
     "ParentImage": "C:\\Windows\\System32\\services.exe", "ParentCommandLine": "C:\\Windows\\system32\\services.exe"},
    {"Image": "C:\\Windows\\System32\\notepad.exe", "OriginalFileName": "NOTEPAD.EXE",
     "Description": "Notepad", "Product": "Microsoft® Windows® Operating System",
     "Company": "Microsoft Corporation", "CommandLine": "\"C:\\Windows\\System32\\notepad.exe\" C:\\Users\\user\\Documents\\notes-{t}.txt",
     "ParentImage": "C:\\Windows\\explorer.exe", "ParentCommandLine": "C:\\Windows\\Explorer.EXE"},
]
# Other tell-tale fields and ordinary values for them.
BENIGN = {
    "TargetFilename": [
        "C:\\Users\\user\\AppData\\Local\\Mozilla\\Firefox\\Profiles\\{t}\\cache2\\entries\\{t}",
        "C:\\Users\\user\\Documents\\report-{t}.docx",
    ],
    "TargetObject": [
        "HKU\\S-1-5-21-1-2-3-1001\\Software\\Mozilla\\Firefox\\{t}",
        "HKU\\S-1-5-21-1-2-3-1001\\Software\\Microsoft\\Notepad\\{t}",
    ],
    "Details": ["DWORD (0x00000001)", "{t}"],
    "ImageLoaded": ["C:\\Windows\\System32\\kernel32.dll", "C:\\Windows\\System32\\user32.dll"],
    "PipeName": ["\\mojo.{t}", "\\chrome.sync.{t}"],
    "ScriptBlockText": ["Get-ChildItem -Path $env:TEMP | Where-Object {$_.Length -gt 0} # {t}"],
    "QueryName": ["www.example.com", "{t}.cdn.example.net"],
    "CallTrace": ["C:\\Windows\\SYSTEM32\\ntdll.dll+9d4c4|C:\\Windows\\System32\\KERNELBASE.dll+{t}"],
    "GrantedAccess": ["0x1000"],
    "Hashes": ["SHA256={t}{t}{t}{t}{t}{t}{t}{t}"],
}
PROCESS_FIELDS = {"SourceImage": "Image", "TargetImage": "Image", "NewProcessName": "Image",
                  "ProcessName": "Image", "ParentProcessName": "ParentImage"}


def main() -> None:
    src, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    base = [json.loads(l)["event"] for l in open(src, encoding="utf-8") if l.strip()]
    rnd = random.Random(20260101)
    hosts = [f"WS-{i:04d}.corp.example" for i in range(500)]
    users = [f"CORP\\user{i:03d}" for i in range(200)]
    t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
    with open(out, "w", encoding="utf-8") as f:
        for i in range(n):
            e = dict(base[i % len(base)])
            t = t0 + timedelta(milliseconds=i * 7)
            e["TimeCreated_SystemTime"] = t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            if "UtcTime" in e:
                e["UtcTime"] = t.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
            e["EventRecordID"] = 1_000_000 + i
            e["Computer"] = hosts[rnd.randrange(len(hosts))]
            if "User" in e:
                e["User"] = users[rnd.randrange(len(users))]
                if "ParentUser" in e:
                    e["ParentUser"] = e["User"]
            if "ProcessId" in e:
                e["ProcessId"] = rnd.randrange(100, 65000)
            if "ProcessGuid" in e:
                e["ProcessGuid"] = "{%08X-%04X-%04X-0000-0010%08X}" % (
                    rnd.getrandbits(32), rnd.getrandbits(16), rnd.getrandbits(16), rnd.getrandbits(32))
            if rnd.randrange(40):
                token = "%08x" % rnd.getrandbits(32)
                profile = PROFILES[rnd.randrange(len(PROFILES))]
                for k, v in profile.items():
                    if isinstance(e.get(k), str):
                        e[k] = v.replace("{t}", token)
                for k, src in PROCESS_FIELDS.items():
                    if isinstance(e.get(k), str):
                        e[k] = profile[src]
                for k, pool in BENIGN.items():
                    if isinstance(e.get(k), str):
                        e[k] = pool[rnd.randrange(len(pool))].replace("{t}", token)
            f.write(json.dumps(e, separators=(",", ":")))
            f.write("\n")


if __name__ == "__main__":
    main()
