//! "Press Briefing": the APT31-like contrast storyline of research file section 4.3.
//!
//! Why a contrast: attribution must tell two PRC-nexus actors apart. This one is email-first
//! and endpoint-centric (tracking pixels, an MSI from a code-hosting site, a PyInstaller
//! implant using the Dropbox API, browser credential theft, webmail access through foreign
//! ORB hops) with no web shells, no w3wp children and no Kerberoasting. The nine days are
//! working days from Monday 2025-03-03; the victim's own actions follow NZ office hours,
//! the operator's follow UTC+8 office hours (01:00–09:30 UTC), the implant beacons
//! around the clock.

use chrono::{DateTime, Duration, Utc};

use crate::clock::{ms, secs, utc};
use crate::rng::Rng;
use crate::sink::{Sink, Tag};
use crate::truth::Plan;
use crate::w3c::{Req, iis};
use crate::winlog::{self as wl, Channel, Logon, Proc};
use crate::zeek::{self, Conn, Http};

const WS: &str = "LSA-WS014";
const WS_IP: &str = "10.30.10.114";
const PROXY: &str = "10.30.0.5";
const DNS: &str = "10.30.0.10";
const USER: &str = "LSA\\rtaylor";
const HOME: &str = "C:\\Users\\rtaylor";
const EDGE: &str = "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe";
const IMPLANT: &str = "C:\\Users\\rtaylor\\AppData\\Local\\Dropbox\\Update\\dbxupd.exe";
const MEI: &str = "C:\\Users\\rtaylor\\AppData\\Local\\Temp\\_MEI52082";
const PIXEL_HOST: &str = "img.newsroom-digest.example";
const PIXEL_IP: &str = "192.0.2.150";
const CODE_HOST: &str = "raw.codehost.example";
const CODE_IP: &str = "198.18.50.10";
const DBX: &str = "content.dropboxapi.com";
const DBX_IP: &str = "198.18.60.10";
const UA_PY: &str = "python-requests/2.31.0";
const EXCH: &str = "LSA-EXCH01";
const EXCH_IP: &str = "10.30.0.40";
const ORB1: &str = "198.51.100.140";
const ORB2: &str = "203.0.113.201";
const UA_EWS: &str = "ExchangeServicesClient/15.00.0913.015";

fn steps(plan: &mut Plan) -> Vec<Tag> {
    let defs: &[(&str, &[&str], &str, &str)] = &[
        (
            "Newsletter with per-recipient tracking pixels from a lookalike news domain",
            &["T1598.003", "T1583.001"],
            "reconnaissance",
            "LSA-PRX01",
        ),
        (
            "Follow-up spearphish link: MSI downloaded from a code-hosting raw URL",
            &["T1566.002", "T1204.001", "T1583.006"],
            "initial-access",
            WS,
        ),
        (
            "MSI run silently by msiexec, PyInstaller implant dbxupd.exe dropped",
            &["T1218.007", "T1059.006"],
            "execution",
            WS,
        ),
        (
            "Run key \"Dropbox Update Setup\" persistence",
            &["T1547.001", "T1036.004"],
            "persistence",
            WS,
        ),
        (
            "Host registration discovery by the implant",
            &["T1082", "T1033", "T1124", "T1016", "T1012"],
            "discovery",
            WS,
        ),
        (
            "C2 over the Dropbox API every ~5 minutes",
            &["T1102.002", "T1573.001", "T1071.001"],
            "command-and-control",
            WS,
        ),
        (
            "Browser credential theft (Chrome Login Data)",
            &["T1555.003"],
            "credential-access",
            WS,
        ),
        (
            "Webmail access with stolen credentials through ORB hops",
            &["T1078", "T1090.003"],
            "initial-access",
            EXCH,
        ),
        (
            "Mailbox collection through EWS from an ORB",
            &["T1114.002"],
            "collection",
            EXCH,
        ),
        (
            "Exfiltration to Dropbox (about 800 MB)",
            &["T1567.002"],
            "exfiltration",
            WS,
        ),
    ];
    defs.iter()
        .enumerate()
        .map(|(i, (n, tech, tac, h))| plan.step(&format!("S{:02}", i + 1), n, tech, tac, h))
        .collect()
}

/// Working day `n` (0-based) from Monday 2025-03-03, at `hms` UTC.
fn wday(n: i64, hms: &str) -> DateTime<Utc> {
    let base = utc(&format!("2025-03-03 {hms}"));
    let weeks = n / 5;
    base + Duration::days(weeks * 7 + n % 5)
}

/// Writes the storyline.
pub(crate) fn generate(s: &mut Sink, plan: &mut Plan, seed: u64) {
    let t = steps(plan);
    let r = &mut Rng::derive(seed, "apt31");

    // S01: pixels fetched by Outlook through the proxy (opens on days 0-2; the rest of the
    // 60 recipients open at home, invisible to the sensor).
    let tag = t[0];
    let staff = crate::net::ENV.staff("LSA");
    for i in 0..26 {
        let day = (i % 3) as i64;
        let u = staff[i % staff.len()];
        let tt = wday(day, "21:00:00") + secs(r.range(0, 7 * 3600)) - Duration::days(1);
        let tt = if tt < utc("2025-03-03 00:30:00") {
            tt + Duration::days(1)
        } else {
            tt
        };
        let token = crate::background::base64(
            format!(
                "{}{}@lsa.example",
                if i < staff.len() { "" } else { "mp." },
                u.sam
            )
            .as_bytes(),
        )
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_");
        zeek::dns(s, tt - ms(80), &u.ip, DNS, PIXEL_HOST, PIXEL_IP, tag);
        zeek::http(
            s,
            tt,
            &Http {
                orig: &u.ip,
                resp: PROXY,
                resp_p: 8080,
                method: "GET",
                host: PIXEL_HOST,
                uri: &format!("/p/{token}.gif"),
                ua: crate::background::UA_OUTLOOK,
                req_len: 0,
                resp_len: 43,
                status: 200,
                mime: "image/gif",
            },
            tag,
        );
    }

    // S02: the follow-up link, day 3 (Thursday), NZ late morning.
    let tag = t[1];
    let t0 = wday(3, "22:14:05") - Duration::days(1);
    let msi = format!("{HOME}\\Downloads\\Briefing_Note_Mar2025.msi");
    wl::dns_query(
        s,
        r,
        WS,
        t0,
        EDGE,
        CODE_HOST,
        &format!("::ffff:{CODE_IP};"),
        USER,
        tag,
    );
    zeek::dns(s, t0, WS_IP, DNS, CODE_HOST, CODE_IP, tag);
    wl::net_conn(
        s,
        r,
        WS,
        t0 + ms(40),
        EDGE,
        USER,
        (WS_IP, 55_812),
        (PROXY, 8080),
        "",
        tag,
    );
    zeek::http(
        s,
        t0 + ms(60),
        &Http {
            orig: WS_IP,
            resp: PROXY,
            resp_p: 8080,
            method: "GET",
            host: CODE_HOST,
            uri: "/press-desk/briefings/raw/main/Briefing_Note_Mar2025.msi",
            ua: crate::background::UA_EDGE,
            req_len: 0,
            resp_len: 9_437_184,
            status: 200,
            mime: "application/x-msi",
        },
        tag,
    );
    wl::file_create(s, r, WS, t0 + secs(3), EDGE, &msi, USER, tag);
    wl::event(s, WS, Channel::Sysmon, t0 + secs(3) + ms(20), 15, vec![
        ("RuleName", "-".into()), ("UtcTime", (t0 + secs(3)).format("%Y-%m-%d %H:%M:%S%.3f").to_string()),
        ("ProcessGuid", "{8F2B6C1A-5E10-67C9-2A01-000000001F00}".into()), ("ProcessId", "7420".into()), ("Image", EDGE.into()),
        ("TargetFilename", format!("{msi}:Zone.Identifier")), ("CreationUtcTime", (t0 + secs(3)).format("%Y-%m-%d %H:%M:%S%.3f").to_string()),
        ("Hash", "SHA256=E1C4A6F0B7D2C3A4958677A0B1C2D3E4F5061728394A5B6C7D8E9F0A1B2C3D4E".into()),
        ("Contents", "[ZoneTransfer]  ZoneId=3  HostUrl=https://raw.codehost.example/press-desk/briefings/raw/main/Briefing_Note_Mar2025.msi".into()),
        ("User", USER.into()),
    ], tag);

    // S03: msiexec, implant dropped and started.
    let tag = t[2];
    let t1 = t0 + secs(41);
    let msiexec = "C:\\Windows\\System32\\msiexec.exe";
    let mcmd = format!("msiexec.exe /i \"{msi}\" /qn");
    wl::process(
        s,
        r,
        WS,
        t1,
        &Proc::new(
            msiexec,
            &mcmd,
            EDGE,
            &format!("\"{EDGE}\" --single-argument {msi}"),
            USER,
        )
        .cwd(&format!("{HOME}\\Downloads\\")),
        tag,
    );
    wl::process(
        s,
        r,
        WS,
        t1 + ms(600),
        &Proc::new(
            msiexec,
            "C:\\Windows\\system32\\msiexec.exe /V",
            "C:\\Windows\\System32\\services.exe",
            "C:\\Windows\\system32\\services.exe",
            "NT AUTHORITY\\SYSTEM",
        ),
        tag,
    );
    wl::process(
        s,
        r,
        WS,
        t1 + secs(2),
        &Proc::new(
            msiexec,
            "C:\\Windows\\System32\\MsiExec.exe -Embedding 4C1A7E8D2F1B0C9A8E7D6C5B4A392817 C",
            msiexec,
            "C:\\Windows\\system32\\msiexec.exe /V",
            USER,
        ),
        tag,
    );
    wl::file_create(s, r, WS, t1 + secs(3), msiexec, IMPLANT, USER, tag);
    wl::process(
        s,
        r,
        WS,
        t1 + secs(6),
        &Proc::new(
            IMPLANT,
            &format!("\"{IMPLANT}\""),
            msiexec,
            "C:\\Windows\\System32\\MsiExec.exe -Embedding 4C1A7E8D2F1B0C9A8E7D6C5B4A392817 C",
            USER,
        )
        .original("dbxupd.exe")
        .cwd(&format!("{HOME}\\AppData\\Local\\Dropbox\\Update\\")),
        tag,
    );
    wl::process(
        s,
        r,
        WS,
        t1 + secs(7),
        &Proc::new(
            IMPLANT,
            &format!("\"{IMPLANT}\""),
            IMPLANT,
            &format!("\"{IMPLANT}\""),
            USER,
        )
        .original("dbxupd.exe")
        .cwd(&format!("{HOME}\\AppData\\Local\\Dropbox\\Update\\")),
        tag,
    );
    for f in [
        "python311.dll",
        "base_library.zip",
        "_ssl.pyd",
        "libcrypto-3.dll",
    ] {
        wl::file_create(
            s,
            r,
            WS,
            t1 + secs(6) + ms(200),
            IMPLANT,
            &format!("{MEI}\\{f}"),
            USER,
            tag,
        );
    }

    // S04: persistence.
    let tag = t[3];
    wl::reg_set(
        s,
        r,
        WS,
        t1 + secs(9),
        IMPLANT,
        "HKU\\S-1-5-21-1004336348-1177238915-682003330-1514\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\Dropbox Update Setup",
        &format!("{HOME}\\AppData\\Local\\Dropbox\\Update\\dbxupd.exe"),
        USER,
        tag,
    );

    // S05: discovery children and the Python runtime load.
    let tag = t[4];
    wl::image_load(
        s,
        r,
        WS,
        t1 + secs(7) + ms(300),
        IMPLANT,
        &format!("{MEI}\\python311.dll"),
        USER,
        tag,
    );
    let mut tt = t1 + secs(15);
    for (img, c) in [
        (
            "C:\\Windows\\System32\\reg.exe",
            "reg query \"HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\" /v ProxyServer",
        ),
        ("C:\\Windows\\System32\\whoami.exe", "whoami"),
        (
            "C:\\Windows\\System32\\cmd.exe",
            "C:\\Windows\\system32\\cmd.exe /c time /t",
        ),
        ("C:\\Windows\\System32\\systeminfo.exe", "systeminfo"),
        ("C:\\Windows\\System32\\ipconfig.exe", "ipconfig /all"),
    ] {
        wl::process(
            s,
            r,
            WS,
            tt,
            &Proc::new(img, c, IMPLANT, &format!("\"{IMPLANT}\""), USER)
                .cwd(&format!("{HOME}\\AppData\\Local\\Dropbox\\Update\\")),
            tag,
        );
        tt += ms(r.range(800, 4000));
    }

    // S06: C2 beacons from day 3 to day 8, every ~5 min with jitter, all hours.
    let tag = t[5];
    let end = wday(8, "09:30:00");
    let mut tb = t1 + secs(60);
    let mut k = 0u64;
    while tb < end {
        if k.is_multiple_of(6) {
            wl::dns_query(
                s,
                r,
                WS,
                tb - ms(30),
                IMPLANT,
                DBX,
                &format!("::ffff:{DBX_IP};"),
                USER,
                tag,
            );
            zeek::dns(s, tb - ms(30), WS_IP, DNS, DBX, DBX_IP, tag);
        }
        let p = r.range(49152, 65000) as u16;
        wl::net_conn(
            s,
            r,
            WS,
            tb,
            IMPLANT,
            USER,
            (WS_IP, p),
            (PROXY, 8080),
            "",
            tag,
        );
        let down = k.is_multiple_of(2);
        zeek::http(
            s,
            tb + ms(20),
            &Http {
                orig: WS_IP,
                resp: PROXY,
                resp_p: 8080,
                method: "POST",
                host: DBX,
                uri: if down {
                    "/2/files/download"
                } else {
                    "/2/files/upload"
                },
                ua: UA_PY,
                req_len: if down { 0 } else { 336 + r.below(400) },
                resp_len: if down { 208 + r.below(300) } else { 412 },
                status: 200,
                mime: "application/octet-stream",
            },
            tag,
        );
        tb += secs(300 + r.range(-45, 46));
        k += 1;
    }

    // S07: browser credential theft, day 4 (operator tasking, UTC+8 hours).
    let tag = t[6];
    let tc = wday(4, "02:17:40");
    let ld = format!("{HOME}\\AppData\\Local\\Google\\Chrome\\User Data\\Default\\Login Data");
    let ls = format!("{HOME}\\AppData\\Local\\Google\\Chrome\\User Data\\Local State");
    for (i, obj) in [&ld, &ls].iter().enumerate() {
        wl::event(
            s,
            WS,
            Channel::Security,
            tc + ms(i as i64 * 200),
            4663,
            wl::data(&[
                (
                    "SubjectUserSid",
                    "S-1-5-21-1004336348-1177238915-682003330-1514",
                ),
                ("SubjectUserName", "rtaylor"),
                ("SubjectDomainName", "LSA"),
                ("SubjectLogonId", "0x2f1a3c"),
                ("ObjectServer", "Security"),
                ("ObjectType", "File"),
                ("ObjectName", obj),
                ("HandleId", "0x6c4"),
                ("AccessList", "%%4416"),
                ("AccessMask", "0x1"),
                ("ProcessId", "0x1d30"),
                ("ProcessName", IMPLANT),
                ("ResourceAttributes", "S:AI"),
            ]),
            tag,
        );
    }
    wl::proc_access(
        s,
        r,
        WS,
        tc - secs(1),
        IMPLANT,
        "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
        "0x1410",
        "C:\\Windows\\SYSTEM32\\ntdll.dll+9d4c4|C:\\Windows\\System32\\KERNELBASE.dll+2c13e|C:\\Users\\rtaylor\\AppData\\Local\\Temp\\_MEI52082\\python311.dll+1a2f3",
        USER,
        tag,
    );
    wl::file_create(
        s,
        r,
        WS,
        tc + ms(500),
        IMPLANT,
        &format!("{MEI}\\ld.sqlite"),
        USER,
        tag,
    );
    wl::file_create(
        s,
        r,
        WS,
        tc + ms(700),
        IMPLANT,
        &format!("{MEI}\\ls.json"),
        USER,
        tag,
    );
    let p = r.range(49152, 65000) as u16;
    wl::net_conn(
        s,
        r,
        WS,
        tc + secs(3),
        IMPLANT,
        USER,
        (WS_IP, p),
        (PROXY, 8080),
        "",
        tag,
    );
    zeek::http(
        s,
        tc + secs(3),
        &Http {
            orig: WS_IP,
            resp: PROXY,
            resp_p: 8080,
            method: "POST",
            host: DBX,
            uri: "/2/files/upload",
            ua: UA_PY,
            req_len: 61_440,
            resp_len: 412,
            status: 200,
            mime: "application/octet-stream",
        },
        tag,
    );

    // S08: webmail with the stolen password, day 5, from two foreign ORBs.
    let tag = t[7];
    let tw = wday(5, "01:42:10");
    for (orb, t_) in [(ORB1, tw), (ORB2, tw + Duration::minutes(47))] {
        let lid = wl::logon(
            s,
            r,
            EXCH,
            t_ + ms(300),
            &Logon {
                user: "rtaylor",
                domain: "LSA",
                logon_type: 8,
                ip: orb,
                workstation: "-",
                package: "NTLM",
            },
            tag,
        );
        wl::logoff(s, EXCH, t_ + secs(40), "rtaylor", "LSA", 8, &lid, tag);
        for (i, (m, stem, q, st)) in [
            ("POST", "/EWS/Exchange.asmx", "SoapAction=GetFolder", 200),
            ("POST", "/EWS/Exchange.asmx", "SoapAction=FindFolder", 200),
            ("GET", "/owa/", "", 302),
            ("POST", "/owa/auth.owa", "", 302),
            ("GET", "/owa/", "", 200),
        ]
        .iter()
        .enumerate()
        {
            iis(
                s,
                EXCH,
                EXCH_IP,
                t_ + secs(i as i64 * 6),
                &Req {
                    method: m,
                    stem,
                    query: q,
                    user: if i == 2 { "" } else { "rtaylor@lsa.example" },
                    client: orb,
                    ua: if stem.starts_with("/EWS") {
                        UA_EWS
                    } else {
                        crate::background::UA_EDGE
                    },
                    referer: "",
                    status: *st,
                    sc_bytes: 2_000 + r.below(30_000),
                    cs_bytes: 900 + r.below(800),
                    taken: 30 + r.below(200),
                },
                tag,
            );
        }
        let p = r.range(49152, 65000) as u16;
        zeek::conn(
            s,
            t_ - ms(200),
            &Conn {
                orig: orb,
                orig_p: p,
                resp: EXCH_IP,
                resp_p: 443,
                proto: "tcp",
                service: "ssl",
                duration: 40.0,
                orig_bytes: 9_000,
                resp_bytes: 120_000,
                state: "SF",
            },
            tag,
        );
    }

    // S09: EWS FindItem/GetItem bursts on days 6-8 from the ORBs.
    let tag = t[8];
    for day in 6..=8 {
        for burst in 0..3 {
            let orb = if (day + burst) % 2 == 0 { ORB1 } else { ORB2 };
            let tb = wday(day, "01:30:00") + Duration::minutes(110 * burst) + secs(r.range(0, 900));
            let n = 60 + r.below(60) as i64;
            for i in 0..n {
                let action = if i % 5 == 0 { "FindItem" } else { "GetItem" };
                let folder = ["Inbox", "Sent Items", "IPAC", "Constituency"][(i as usize / 15) % 4];
                iis(
                    s,
                    EXCH,
                    EXCH_IP,
                    tb + ms(i * 700 + r.range(0, 400)),
                    &Req {
                        method: "POST",
                        stem: "/EWS/Exchange.asmx",
                        query: &format!("SoapAction={action}&Folder={}", folder.replace(' ', "+")),
                        user: "rtaylor@lsa.example",
                        client: orb,
                        ua: UA_EWS,
                        referer: "",
                        status: 200,
                        sc_bytes: if action == "GetItem" {
                            20_000 + r.below(400_000)
                        } else {
                            8_000 + r.below(20_000)
                        },
                        cs_bytes: 1_100 + r.below(500),
                        taken: 40 + r.below(500),
                    },
                    tag,
                );
            }
            let p = r.range(49152, 65000) as u16;
            zeek::conn(
                s,
                tb - ms(300),
                &Conn {
                    orig: orb,
                    orig_p: p,
                    resp: EXCH_IP,
                    resp_p: 443,
                    proto: "tcp",
                    service: "ssl",
                    duration: n as f64 * 0.7,
                    orig_bytes: 90_000,
                    resp_bytes: 14_000_000 + r.below(9_000_000),
                    state: "SF",
                },
                tag,
            );
        }
    }

    // S10: large uploads to Dropbox from the workstation, days 6-8 (~800 MB).
    let tag = t[9];
    for day in 6..=8 {
        for k in 0..6 {
            let tu = wday(day, "03:05:00") + Duration::minutes(35 * k) + secs(r.range(0, 600));
            let len = 40_000_000 + r.below(8_000_000);
            let p = r.range(49152, 65000) as u16;
            wl::net_conn(
                s,
                r,
                WS,
                tu,
                IMPLANT,
                USER,
                (WS_IP, p),
                (PROXY, 8080),
                "",
                tag,
            );
            zeek::http(
                s,
                tu + ms(30),
                &Http {
                    orig: WS_IP,
                    resp: PROXY,
                    resp_p: 8080,
                    method: "POST",
                    host: DBX,
                    uri: "/2/files/upload",
                    ua: UA_PY,
                    req_len: len,
                    resp_len: 498,
                    status: 200,
                    mime: "application/octet-stream",
                },
                tag,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::ENV;

    #[test]
    fn constants_match_the_environment() {
        assert!(ENV.actor.apt31_orbs.iter().any(|o| o == ORB1));
        assert!(ENV.actor.apt31_orbs.iter().any(|o| o == ORB2));
        assert!(ENV.actor.apt31_orbs.iter().any(|o| o == PIXEL_IP));
        assert_eq!(WS_IP, ENV.host(WS).ip);
        assert_eq!(PROXY, ENV.infrastructure.lsa_proxy);
        assert_eq!(wday(5, "01:00:00"), utc("2025-03-10 01:00:00"));
    }
}
