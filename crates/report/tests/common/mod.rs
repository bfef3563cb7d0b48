//! A realistic investigation for the report tests: "Operation Quiet Draft", the APT40-like
//! intrusion at the fictional Parliamentary Drafting Office (`../shared/research/apt40-facts.md`
//! §4.1), as the pipeline would hand it to the reports: 64 detections over 24 days (recon from
//! Mon 2025-02-24, hands-on Mon 03-03 to Wed 03-19, weekdays, 01:00–03:45 UTC) on six hosts, two
//! incidents, a G0065 (Leviathan) candidate at 0.90, a containment plan and storyline recall.
//!
//! Two values are hostile on purpose: an IIS request with a `<script>` payload in an event
//! summary, and a rule title with an `<img onerror>` payload, as hostile evidence and
//! third-party rules can carry them.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use tiaki::SourceRef;
use tiaki_incident::{
    Action, BlockItem, ContainmentPlan, Entity, EntityKind, Incident, IncidentEvent, Link,
    MitigationItem, Phase, Severity,
};
use tiaki_intel::attribution::{
    Assessment, Candidate, Channel, Direction, EvidenceItem, EvidenceSummary as AttribSummary,
    Prior, Unresolved, Verdict,
};
use tiaki_report::{
    EvidenceSummary, HuntSummary, Investigation, StepRecall, TechniqueCount, enterprise_tactics,
};

/// The `<script>` payload in an event summary.
pub const HOSTILE_SUMMARY: &str =
    "GET /owa/auth/<script>alert(document.domain)</script>.aspx 404 from 192.0.2.66";
/// The `<img onerror>` payload in a rule title.
pub const HOSTILE_RULE: &str = "Suspicious URI <img src=x onerror=alert(1)> | pipe";

/// Technique names and tactics, as the knowledge base would give them.
const TECHNIQUES: &[(&str, &str, &[&str])] = &[
    (
        "T1003.001",
        "OS Credential Dumping: LSASS Memory",
        &["credential-access"],
    ),
    (
        "T1003.003",
        "OS Credential Dumping: NTDS",
        &["credential-access"],
    ),
    (
        "T1016",
        "System Network Configuration Discovery",
        &["discovery"],
    ),
    ("T1018", "Remote System Discovery", &["discovery"]),
    (
        "T1021.001",
        "Remote Services: Remote Desktop Protocol",
        &["lateral-movement"],
    ),
    (
        "T1021.002",
        "Remote Services: SMB/Windows Admin Shares",
        &["lateral-movement"],
    ),
    (
        "T1036.003",
        "Masquerading: Rename Legitimate Utilities",
        &["defense-evasion"],
    ),
    ("T1039", "Data from Network Shared Drive", &["collection"]),
    ("T1041", "Exfiltration Over C2 Channel", &["exfiltration"]),
    (
        "T1047",
        "Windows Management Instrumentation",
        &["execution"],
    ),
    (
        "T1049",
        "System Network Connections Discovery",
        &["discovery"],
    ),
    (
        "T1053.005",
        "Scheduled Task/Job: Scheduled Task",
        &["execution", "persistence", "privilege-escalation"],
    ),
    ("T1057", "Process Discovery", &["discovery"]),
    (
        "T1068",
        "Exploitation for Privilege Escalation",
        &["privilege-escalation"],
    ),
    (
        "T1069.002",
        "Permission Groups Discovery: Domain Groups",
        &["discovery"],
    ),
    (
        "T1070.004",
        "Indicator Removal: File Deletion",
        &["defense-evasion"],
    ),
    (
        "T1074.001",
        "Data Staged: Local Data Staging",
        &["collection"],
    ),
    (
        "T1078.002",
        "Valid Accounts: Domain Accounts",
        &[
            "defense-evasion",
            "persistence",
            "privilege-escalation",
            "initial-access",
        ],
    ),
    ("T1082", "System Information Discovery", &["discovery"]),
    (
        "T1087.002",
        "Account Discovery: Domain Account",
        &["discovery"],
    ),
    ("T1135", "Network Share Discovery", &["discovery"]),
    (
        "T1190",
        "Exploit Public-Facing Application",
        &["initial-access"],
    ),
    (
        "T1213.006",
        "Data from Information Repositories: Databases",
        &["collection"],
    ),
    ("T1482", "Domain Trust Discovery", &["discovery"]),
    (
        "T1505.003",
        "Server Software Component: Web Shell",
        &["persistence"],
    ),
    (
        "T1552.001",
        "Unsecured Credentials: Credentials In Files",
        &["credential-access"],
    ),
    (
        "T1558.003",
        "Steal or Forge Kerberos Tickets: Kerberoasting",
        &["credential-access"],
    ),
    (
        "T1560.001",
        "Archive Collected Data: Archive via Utility",
        &["collection"],
    ),
    (
        "T1562.004",
        "Impair Defenses: Disable or Modify System Firewall",
        &["defense-evasion"],
    ),
    ("T1572", "Protocol Tunneling", &["command-and-control"]),
    ("T1594", "Search Victim-Owned Websites", &["reconnaissance"]),
    (
        "T1595.002",
        "Active Scanning: Vulnerability Scanning",
        &["reconnaissance"],
    ),
    ("T1615", "Group Policy Discovery", &["discovery"]),
];

const WEB: &str = "PDO-WEB01";
const EXCH: &str = "PDO-EXCH01";
const DC: &str = "PDO-DC01";
const FS: &str = "PDO-FS01";
const SQL: &str = "PDO-SQL01";
const JMP: &str = "PDO-JMP01";

const ACTOR1: &str = "203.0.113.45";
const ACTOR2: &str = "198.51.100.23";
const ACTOR3: &str = "192.0.2.66";
const SHELL1: &str = r"C:\inetpub\wwwroot\drafts\Images\thumbs\spinner.aspx";
const SHELL2: &str = r"C:\inetpub\wwwroot\drafts\App_Themes\Default\ErrorPage.aspx";
const POOL: &str = r"iis apppool\draftsportal";
const SQLRPT: &str = r"pdo\svc_sqlrpt";
const ADM: &str = r"pdo\adm.tkereama";
const DRAFTSWEB: &str = r"pdo\svc_draftsweb";

/// (time, host, rule, level, technique, tactic, summary, source, extra entities)
type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    (&'static str, u64),
    &'static [(EntityKind, &'static str)],
);

use EntityKind::{Account as A, Address as IP, WebShell as WS};

const IIS_WEB: &str = "evidence/PDO-WEB01/W3SVC2/u_ex2503.log";
const IIS_EXCH: &str = "evidence/PDO-EXCH01/W3SVC1/u_ex2502.log";
const SYSMON_WEB: &str = "evidence/PDO-WEB01/Microsoft-Windows-Sysmon%4Operational.evtx";
const PS_WEB: &str = "evidence/PDO-WEB01/Microsoft-Windows-PowerShell%4Operational.evtx";
const SEC_WEB: &str = "evidence/PDO-WEB01/Security.evtx";
const SEC_DC: &str = "evidence/PDO-DC01/Security.evtx";
const SYSMON_DC: &str = "evidence/PDO-DC01/Microsoft-Windows-Sysmon%4Operational.evtx";
const SEC_FS: &str = "evidence/PDO-FS01/Security.evtx";
const SYSMON_FS: &str = "evidence/PDO-FS01/Microsoft-Windows-Sysmon%4Operational.evtx";
const SYSMON_SQL: &str = "evidence/PDO-SQL01/Microsoft-Windows-Sysmon%4Operational.evtx";
const SEC_JMP: &str = "evidence/PDO-JMP01/Security.evtx";
const SYSMON_JMP: &str = "evidence/PDO-JMP01/Microsoft-Windows-Sysmon%4Operational.evtx";

const RECON: &[Row] = &[
    (
        "2025-02-24T02:11:07Z",
        EXCH,
        "Exchange ProxyShell Pattern",
        "high",
        "T1190",
        "initial-access",
        "GET /autodiscover/autodiscover.json @evil.example/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@evil.example 400",
        (IIS_EXCH, 1812),
        &[(IP, ACTOR3)],
    ),
    (
        "2025-02-24T02:14:40Z",
        EXCH,
        "Exchange ProxyShell Pattern",
        "high",
        "T1190",
        "initial-access",
        "GET /autodiscover/autodiscover.json @evil.example/owa/ 400",
        (IIS_EXCH, 1840),
        &[(IP, ACTOR3)],
    ),
    (
        "2025-02-25T03:02:10Z",
        EXCH,
        "Exchange ProxyShell Pattern",
        "high",
        "T1190",
        "initial-access",
        "GET /autodiscover/autodiscover.json @evil.example/powershell/ 400",
        (IIS_EXCH, 5120),
        &[(IP, ACTOR3)],
    ),
    (
        "2025-02-26T01:48:55Z",
        EXCH,
        HOSTILE_RULE,
        "medium",
        "T1595.002",
        "reconnaissance",
        HOSTILE_SUMMARY,
        (IIS_EXCH, 9051),
        &[(IP, ACTOR3)],
    ),
    (
        "2025-02-27T02:20:03Z",
        EXCH,
        "Web Server Vulnerability Scan",
        "medium",
        "T1595.002",
        "reconnaissance",
        "412 requests in 6 min, 98 % 404, from 192.0.2.66",
        (IIS_EXCH, 12007),
        &[(IP, ACTOR3)],
    ),
];

const INTRUSION: &[Row] = &[
    (
        "2025-03-03T01:52:40Z",
        WEB,
        "Drafts Portal API Enumeration",
        "low",
        "T1594",
        "reconnaissance",
        "GET /drafts/api/help 200 from 203.0.113.45",
        (IIS_WEB, 40211),
        &[(IP, ACTOR1)],
    ),
    (
        "2025-03-03T01:53:02Z",
        WEB,
        "Drafts Portal API Enumeration",
        "low",
        "T1595.002",
        "reconnaissance",
        "GET /drafts/Attachments/Upload.ashx 405 from 203.0.113.45",
        (IIS_WEB, 40218),
        &[(IP, ACTOR1)],
    ),
    (
        "2025-03-03T02:31:44Z",
        WEB,
        "Path Traversal In Upload Request",
        "high",
        "T1190",
        "initial-access",
        "POST /drafts/Attachments/Upload.ashx folder=..%2F..%2FImages%2Fthumbs 200 from 203.0.113.45",
        (IIS_WEB, 40533),
        &[(IP, ACTOR1)],
    ),
    (
        "2025-03-03T02:31:45Z",
        WEB,
        "ASPX File Created By IIS Worker Process",
        "high",
        "T1505.003",
        "persistence",
        r"w3wp.exe created C:\inetpub\wwwroot\drafts\Images\thumbs\spinner.aspx",
        (SYSMON_WEB, 88121),
        &[(WS, SHELL1), (A, POOL)],
    ),
    (
        "2025-03-03T02:33:10Z",
        WEB,
        "Chopper Webshell Process Pattern",
        "high",
        "T1505.003",
        "persistence",
        r#"w3wp.exe > cmd /c "cd /d C:\inetpub\wwwroot\drafts\Images\thumbs\&whoami&echo [S]&cd&echo [E]""#,
        (SYSMON_WEB, 88140),
        &[(WS, SHELL1), (A, POOL), (IP, ACTOR1)],
    ),
    (
        "2025-03-03T02:40:02Z",
        WEB,
        "Webshell Detection With Command Line Keywords",
        "high",
        "T1016",
        "discovery",
        "w3wp.exe > cmd /c ipconfig /all",
        (SYSMON_WEB, 88161),
        &[(WS, SHELL1), (A, POOL)],
    ),
    (
        "2025-03-03T02:41:30Z",
        WEB,
        "Webshell Detection With Command Line Keywords",
        "high",
        "T1082",
        "discovery",
        "w3wp.exe > cmd /c systeminfo",
        (SYSMON_WEB, 88170),
        &[(WS, SHELL1), (A, POOL)],
    ),
    (
        "2025-03-03T02:43:02Z",
        WEB,
        "Webshell Detection With Command Line Keywords",
        "high",
        "T1057",
        "discovery",
        "w3wp.exe > cmd /c tasklist /v",
        (SYSMON_WEB, 88188),
        &[(WS, SHELL1), (A, POOL)],
    ),
    (
        "2025-03-03T02:44:15Z",
        WEB,
        "Webshell Detection With Command Line Keywords",
        "high",
        "T1049",
        "discovery",
        "w3wp.exe > cmd /c netstat -ano",
        (SYSMON_WEB, 88195),
        &[(WS, SHELL1), (A, POOL)],
    ),
    (
        "2025-03-03T02:47:51Z",
        WEB,
        "Suspicious Group And Account Reconnaissance Activity Using Net.EXE",
        "medium",
        "T1087.002",
        "discovery",
        "w3wp.exe > cmd /c net user /domain",
        (SYSMON_WEB, 88210),
        &[(WS, SHELL1), (A, POOL)],
    ),
    (
        "2025-03-03T02:49:05Z",
        WEB,
        "Suspicious Group And Account Reconnaissance Activity Using Net.EXE",
        "medium",
        "T1069.002",
        "discovery",
        "w3wp.exe > cmd /c net group \"Domain Admins\" /domain",
        (SYSMON_WEB, 88219),
        &[(WS, SHELL1), (A, POOL)],
    ),
    (
        "2025-03-03T02:55:40Z",
        WEB,
        "Domain Controller Discovery Via Nltest",
        "medium",
        "T1018",
        "discovery",
        "w3wp.exe > cmd /c nltest /dclist:pdo.example",
        (SYSMON_WEB, 88240),
        &[(WS, SHELL1), (A, POOL)],
    ),
    (
        "2025-03-03T02:57:12Z",
        WEB,
        "Domain Trust Discovery Via Nltest",
        "medium",
        "T1482",
        "discovery",
        "w3wp.exe > cmd /c nltest /domain_trusts  (reveals lsa.example)",
        (SYSMON_WEB, 88251),
        &[(WS, SHELL1), (A, POOL)],
    ),
    (
        "2025-03-03T03:01:33Z",
        WEB,
        "Group Policy Discovery Via Gpresult",
        "low",
        "T1615",
        "discovery",
        "w3wp.exe > cmd /c gpresult /r",
        (SYSMON_WEB, 88266),
        &[(WS, SHELL1), (A, POOL)],
    ),
    (
        "2025-03-03T03:05:12Z",
        WEB,
        "ASPX File Created By IIS Worker Process",
        "high",
        "T1505.003",
        "persistence",
        r"w3wp.exe created C:\inetpub\wwwroot\drafts\App_Themes\Default\ErrorPage.aspx (timestomped)",
        (SYSMON_WEB, 88290),
        &[(WS, SHELL2), (A, POOL)],
    ),
    (
        "2025-03-04T01:30:22Z",
        WEB,
        "Microsoft IIS Connection Strings Decryption",
        "high",
        "T1552.001",
        "credential-access",
        r#"aspnet_regiis.exe -pdf "connectionStrings" C:\inetpub\wwwroot\drafts"#,
        (SYSMON_WEB, 90110),
        &[(WS, SHELL1), (A, POOL)],
    ),
    (
        "2025-03-04T01:41:05Z",
        WEB,
        "Webshell Detection With Command Line Keywords",
        "high",
        "T1552.001",
        "credential-access",
        r"w3wp.exe > cmd /c type C:\inetpub\wwwroot\drafts\web.config",
        (SYSMON_WEB, 90131),
        &[(WS, SHELL1), (A, POOL)],
    ),
    (
        "2025-03-04T01:52:47Z",
        WEB,
        "Findstr Password Search In Binaries",
        "medium",
        "T1552.001",
        "credential-access",
        r#"w3wp.exe > cmd /c findstr /i "password pwd" C:\inetpub\wwwroot\drafts\bin\*.dll"#,
        (SYSMON_WEB, 90152),
        &[(WS, SHELL1), (A, POOL)],
    ),
    (
        "2025-03-05T01:47:10Z",
        WEB,
        "Unsigned Binary Executed From Windows Debug Folder",
        "high",
        "T1068",
        "privilege-escalation",
        r"C:\Windows\Debug\wmsvc.exe (unsigned) > cmd.exe as NT AUTHORITY\SYSTEM",
        (SYSMON_WEB, 91820),
        &[(A, POOL)],
    ),
    (
        "2025-03-05T02:05:33Z",
        WEB,
        "Kerberoasting Via KerberosRequestorSecurityToken",
        "high",
        "T1558.003",
        "credential-access",
        "PowerShell 4104: KerberosRequestorSecurityToken over (&(samAccountType=805306368)(servicePrincipalName=*))",
        (PS_WEB, 4410),
        &[(A, DRAFTSWEB)],
    ),
    (
        "2025-03-05T02:05:36Z",
        DC,
        "Kerberos RC4 Service Ticket Request",
        "medium",
        "T1558.003",
        "credential-access",
        "4769 svc_draftsweb@PDO.EXAMPLE ServiceName=svc_sqlrpt TicketEncryptionType=0x17 from 172.16.10.21",
        (SEC_DC, 7_712_004),
        &[(A, DRAFTSWEB), (IP, "172.16.10.21")],
    ),
    (
        "2025-03-05T02:05:37Z",
        DC,
        "Kerberos RC4 Service Ticket Request",
        "medium",
        "T1558.003",
        "credential-access",
        "4769 ServiceName=svc_backup TicketEncryptionType=0x17 from 172.16.10.21",
        (SEC_DC, 7_712_006),
        &[(A, DRAFTSWEB), (IP, "172.16.10.21")],
    ),
    (
        "2025-03-05T02:05:38Z",
        DC,
        "Kerberos RC4 Service Ticket Request",
        "medium",
        "T1558.003",
        "credential-access",
        "4769 ServiceName=svc_bmsdb TicketEncryptionType=0x17 from 172.16.10.21",
        (SEC_DC, 7_712_009),
        &[(A, DRAFTSWEB), (IP, "172.16.10.21")],
    ),
    (
        "2025-03-05T02:05:39Z",
        DC,
        "Kerberos RC4 Service Ticket Request",
        "medium",
        "T1558.003",
        "credential-access",
        "4769 ServiceName=HTTP-sharepoint TicketEncryptionType=0x17 from 172.16.10.21",
        (SEC_DC, 7_712_011),
        &[(A, DRAFTSWEB), (IP, "172.16.10.21")],
    ),
    (
        "2025-03-06T02:01:12Z",
        WEB,
        "POST To Newly Seen ASPX Page",
        "low",
        "T1505.003",
        "persistence",
        "POST /drafts/Images/thumbs/spinner.aspx 200 655 bytes from 203.0.113.45",
        (IIS_WEB, 61002),
        &[(WS, SHELL1), (IP, ACTOR1)],
    ),
    (
        "2025-03-07T01:58:40Z",
        WEB,
        "POST To Newly Seen ASPX Page",
        "low",
        "T1505.003",
        "persistence",
        "POST /drafts/Images/thumbs/spinner.aspx 200 655 bytes from 203.0.113.45",
        (IIS_WEB, 66310),
        &[(WS, SHELL1), (IP, ACTOR1)],
    ),
    (
        "2025-03-10T01:35:02Z",
        WEB,
        "Ping Sweep Via For Loop",
        "medium",
        "T1018",
        "discovery",
        r#"cmd /c for /L %i in (1,1,254) do @ping -n 1 -w 80 10.20.0.%i | find "TTL=""#,
        (SYSMON_WEB, 99012),
        &[(WS, SHELL1), (A, POOL)],
    ),
    (
        "2025-03-10T01:38:40Z",
        WEB,
        "Net View Share Discovery",
        "low",
        "T1135",
        "discovery",
        r"cmd /c net view \\PDO-FS01 /all",
        (SYSMON_WEB, 99030),
        &[(WS, SHELL1), (A, POOL)],
    ),
    (
        "2025-03-10T02:12:03Z",
        WEB,
        "Net Use With Explicit Credentials",
        "medium",
        "T1021.002",
        "lateral-movement",
        r"net use \\PDO-FS01\C$ /user:PDO\svc_sqlrpt ********",
        (SYSMON_WEB, 99101),
        &[(A, SQLRPT)],
    ),
    (
        "2025-03-10T02:12:05Z",
        FS,
        "Service Account Network Logon From DMZ",
        "high",
        "T1078.002",
        "lateral-movement",
        "4624 type 3 svc_sqlrpt from 172.16.10.21 (PDO-WEB01) NTLM",
        (SEC_FS, 3_301_877),
        &[(A, SQLRPT), (IP, "172.16.10.21")],
    ),
    (
        "2025-03-10T02:12:06Z",
        FS,
        "Admin Share Access",
        "medium",
        "T1021.002",
        "lateral-movement",
        r"5140 \\*\C$ by svc_sqlrpt from 172.16.10.21",
        (SEC_FS, 3_301_880),
        &[(A, SQLRPT), (IP, "172.16.10.21")],
    ),
    (
        "2025-03-10T02:40:18Z",
        WEB,
        "WMIC Remote Command Execution",
        "high",
        "T1047",
        "execution",
        r#"wmic /node:PDO-SQL01 /user:PDO\svc_sqlrpt process call create "cmd /c sqlcmd -S . -E -Q ...""#,
        (SYSMON_WEB, 99188),
        &[(A, SQLRPT)],
    ),
    (
        "2025-03-10T02:40:21Z",
        SQL,
        "WmiPrvSE Spawned Command Shell",
        "high",
        "T1047",
        "execution",
        "WmiPrvSE.exe > cmd.exe > sqlcmd.exe as svc_sqlrpt",
        (SYSMON_SQL, 50_231),
        &[(A, SQLRPT)],
    ),
    (
        "2025-03-10T02:40:25Z",
        SQL,
        "Sqlcmd Database Enumeration",
        "medium",
        "T1213.006",
        "collection",
        r#"sqlcmd -S . -E -Q "SELECT name FROM sys.databases" > C:\Windows\Temp\d.txt"#,
        (SYSMON_SQL, 50_236),
        &[(A, SQLRPT)],
    ),
    (
        "2025-03-11T03:02:44Z",
        FS,
        "Access To Vendor BMS Configuration",
        "medium",
        "T1552.001",
        "credential-access",
        r"5145 \\PDO-BMS01\C$\ProgramData\VendorBMS\config\site.xml read by svc_sqlrpt",
        (SEC_FS, 3_412_009),
        &[(A, SQLRPT)],
    ),
    (
        "2025-03-11T03:30:05Z",
        WEB,
        "Executable Dropped In Windows Debug Folder",
        "high",
        "T1572",
        "command-and-control",
        r"C:\Windows\Debug\wiadbg.exe created by cmd.exe (SYSTEM)",
        (SYSMON_WEB, 101_554),
        &[],
    ),
    (
        "2025-03-11T03:30:41Z",
        WEB,
        "Firewall Rule Added Via Netsh",
        "high",
        "T1562.004",
        "defense-evasion",
        r#"netsh advfirewall firewall add rule name="Windows Image Acquisition Debug" dir=in action=allow protocol=TCP localport=9998-9999"#,
        (SYSMON_WEB, 101_561),
        &[],
    ),
    (
        "2025-03-11T03:30:44Z",
        WEB,
        "Inbound Firewall Port Range Opened",
        "medium",
        "T1562.004",
        "defense-evasion",
        "4946 RuleName=Windows Image Acquisition Debug LocalPorts=9998-9999",
        (SEC_WEB, 2_210_417),
        &[],
    ),
    (
        "2025-03-11T03:31:02Z",
        WEB,
        "Outbound TLS Tunnel From Debug Folder Binary",
        "high",
        "T1572",
        "command-and-control",
        r"C:\Windows\Debug\wiadbg.exe -> 203.0.113.45:443 (long-lived)",
        (SYSMON_WEB, 101_570),
        &[(IP, ACTOR1)],
    ),
    (
        "2025-03-12T01:58:12Z",
        WEB,
        "Remote Scheduled Task Creation",
        "high",
        "T1053.005",
        "execution",
        r#"schtasks /create /s PDO-FS01 /u PDO\svc_sqlrpt /tn "\Microsoft\Windows\WDI\DiagSync" /tr "C:\Windows\Debug\pd64.exe -accepteula -ma lsass.exe C:\Windows\Debug\lsd.dmp" /ru SYSTEM"#,
        (SYSMON_WEB, 103_020),
        &[(A, SQLRPT)],
    ),
    (
        "2025-03-12T01:59:01Z",
        FS,
        "Scheduled Task Created",
        "medium",
        "T1053.005",
        "persistence",
        r"4698 \Microsoft\Windows\WDI\DiagSync by svc_sqlrpt",
        (SEC_FS, 3_520_114),
        &[(A, SQLRPT)],
    ),
    (
        "2025-03-12T01:59:03Z",
        FS,
        "Potential LSASS Process Dump Via Procdump",
        "critical",
        "T1003.001",
        "credential-access",
        r"C:\Windows\Debug\pd64.exe -accepteula -ma lsass.exe C:\Windows\Debug\lsd.dmp",
        (SYSMON_FS, 70_410),
        &[],
    ),
    (
        "2025-03-12T01:59:04Z",
        FS,
        "LSASS Access From Unsigned Tool",
        "high",
        "T1003.001",
        "credential-access",
        "pd64.exe opened lsass.exe GrantedAccess=0x1FFFFF",
        (SYSMON_FS, 70_412),
        &[],
    ),
    (
        "2025-03-12T02:14:30Z",
        WEB,
        "Large Download From Web Root",
        "high",
        "T1041",
        "exfiltration",
        "GET /drafts/Images/thumbs/t1.dat 200 64,962,113 bytes to 203.0.113.45",
        (IIS_WEB, 90_118),
        &[(WS, SHELL1), (IP, ACTOR1)],
    ),
    (
        "2025-03-13T02:20:11Z",
        JMP,
        "RDP Logon From DMZ Host",
        "high",
        "T1021.001",
        "lateral-movement",
        "1149 adm.tkereama from 172.16.10.21 (web server, via tunnel)",
        (SEC_JMP, 1_200_331),
        &[(A, ADM), (IP, "172.16.10.21")],
    ),
    (
        "2025-03-13T02:20:12Z",
        JMP,
        "Domain Admin Interactive Logon From DMZ",
        "critical",
        "T1078.002",
        "privilege-escalation",
        "4624 type 10 adm.tkereama from 172.16.10.21 while logged on at PDO-WS007",
        (SEC_JMP, 1_200_334),
        &[(A, ADM), (IP, "172.16.10.21")],
    ),
    (
        "2025-03-13T03:05:40Z",
        DC,
        "NTDS.DIT Creation By Ntdsutil",
        "critical",
        "T1003.003",
        "credential-access",
        r#"ntdsutil.exe "ac i ntds" "ifm" "create full C:\Windows\Temp\ifm" q q"#,
        (SYSMON_DC, 812_040),
        &[(A, ADM)],
    ),
    (
        "2025-03-13T03:40:02Z",
        JMP,
        "Robocopy Share Collection",
        "medium",
        "T1039",
        "collection",
        r"robocopy \\PDO-FS01\Cabinet\2025 C:\PerfLogs\c /E /MAXAGE:60 /R:0",
        (SYSMON_JMP, 20_101),
        &[(A, ADM)],
    ),
    (
        "2025-03-14T02:02:55Z",
        JMP,
        "Rar Compression With Password",
        "high",
        "T1560.001",
        "collection",
        r"C:\PerfLogs\rr.exe a -hp******** -m5 -v250m -r C:\PerfLogs\q1.rar C:\PerfLogs\c\*",
        (SYSMON_JMP, 20_388),
        &[(A, ADM)],
    ),
    (
        "2025-03-14T02:03:10Z",
        JMP,
        "Renamed Rar Execution",
        "high",
        "T1036.003",
        "defense-evasion",
        "rr.exe OriginalFileName=Rar.exe",
        (SYSMON_JMP, 20_389),
        &[(A, ADM)],
    ),
    (
        "2025-03-14T02:45:00Z",
        JMP,
        "Domain Trust Discovery Via Nltest",
        "medium",
        "T1482",
        "discovery",
        "nltest /dsgetdc:lsa.example",
        (SYSMON_JMP, 20_512),
        &[(A, ADM)],
    ),
    (
        "2025-03-17T01:10:32Z",
        WEB,
        "Net Use With Explicit Credentials",
        "medium",
        "T1021.002",
        "lateral-movement",
        r"net use \\PDO-JMP01\C$ /user:PDO\adm.tkereama ********",
        (SYSMON_WEB, 121_004),
        &[(A, ADM)],
    ),
    (
        "2025-03-17T01:12:05Z",
        JMP,
        "Admin Share Access",
        "medium",
        "T1021.002",
        "lateral-movement",
        r"5145 PerfLogs\q1.part*.rar read by adm.tkereama from 172.16.10.21",
        (SEC_JMP, 1_310_902),
        &[(A, ADM), (IP, "172.16.10.21")],
    ),
    (
        "2025-03-17T01:20:44Z",
        WEB,
        "Archive Files Staged In Web Root",
        "high",
        "T1074.001",
        "collection",
        r"q1.part01.rar … q1.part14.rar created in C:\inetpub\wwwroot\drafts\Images\thumbs",
        (SYSMON_WEB, 121_050),
        &[(WS, SHELL1)],
    ),
    (
        "2025-03-17T01:35:10Z",
        WEB,
        "Large Archive Download From Web Root",
        "high",
        "T1041",
        "exfiltration",
        "GET /drafts/Images/thumbs/q1.part01.rar 200 262,144,731 bytes to 198.51.100.23",
        (IIS_WEB, 130_441),
        &[(WS, SHELL1), (IP, ACTOR2)],
    ),
    (
        "2025-03-17T03:55:02Z",
        WEB,
        "Large Archive Download From Web Root",
        "high",
        "T1041",
        "exfiltration",
        "GET /drafts/Images/thumbs/q1.part07.rar 200 262,144,731 bytes to 198.51.100.23",
        (IIS_WEB, 131_902),
        &[(WS, SHELL1), (IP, ACTOR2)],
    ),
    (
        "2025-03-18T02:55:10Z",
        WEB,
        "Large Archive Download From Web Root",
        "high",
        "T1041",
        "exfiltration",
        "GET /drafts/Images/thumbs/q1.part14.rar 200 262,144,731 bytes to 198.51.100.23",
        (IIS_WEB, 138_007),
        &[(WS, SHELL1), (IP, ACTOR2)],
    ),
    (
        "2025-03-19T02:10:05Z",
        JMP,
        "File Deletion Of Staged Archives",
        "medium",
        "T1070.004",
        "defense-evasion",
        r"cmd /c del /f /q C:\PerfLogs\*.rar C:\PerfLogs\c\*",
        (SYSMON_JMP, 21_880),
        &[(A, ADM)],
    ),
    (
        "2025-03-19T02:12:40Z",
        WEB,
        "File Deletion Of Staged Archives",
        "medium",
        "T1070.004",
        "defense-evasion",
        r"del C:\inetpub\wwwroot\drafts\Images\thumbs\*.dat C:\inetpub\wwwroot\drafts\Images\thumbs\*.rar",
        (SYSMON_WEB, 140_220),
        &[(WS, SHELL1)],
    ),
];

fn entity(kind: EntityKind, value: &str) -> Entity {
    Entity {
        kind,
        value: value.to_string(),
    }
}

fn events(rows: &[Row], first_index: usize) -> Vec<IncidentEvent> {
    rows.iter()
        .enumerate()
        .map(
            |(k, (ts, host, rule, level, tech, tactic, summary, (path, n), extra))| {
                let mut entities = vec![entity(EntityKind::Host, host)];
                entities.extend(extra.iter().map(|(kind, v)| entity(*kind, v)));
                let is_text = path.ends_with(".log");
                IncidentEvent {
                    index: first_index + k,
                    kind: "detection".into(),
                    rule_id: Some(format!("{:08x}-0000-4000-8000-{:012x}", k * 7919, k)),
                    rule_title: rule.to_string(),
                    level: Some(level.to_string()),
                    timestamp: Some(ts.to_string()),
                    host: Some(host.to_string()),
                    attack: vec![tech.to_string()],
                    tactic: Some(tactic.to_string()),
                    source: SourceRef {
                        path: path.to_string(),
                        record_id: (!is_text).then_some(*n),
                        line: is_text.then_some(*n),
                        recovered: false,
                    },
                    entities,
                    summary: summary.to_string(),
                }
            },
        )
        .collect()
}

/// Builds an incident the way the correlation step would: entities, links, techniques and
/// phases derived from the events.
fn incident(
    id: &str,
    title: &str,
    severity: Severity,
    reasons: &[&str],
    narrative: &str,
    events: Vec<IncidentEvent>,
) -> Incident {
    let mut hosts: BTreeMap<String, usize> = BTreeMap::new();
    let (mut accounts, mut addresses, mut shells) =
        (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    let mut links: BTreeMap<(Entity, Entity), usize> = BTreeMap::new();
    let mut techniques = BTreeSet::new();
    let mut phases: BTreeMap<usize, Phase> = BTreeMap::new();
    for e in &events {
        for en in &e.entities {
            match en.kind {
                EntityKind::Host => *hosts.entry(en.value.clone()).or_insert(0) += 1,
                EntityKind::Account => {
                    accounts.insert(en.value.clone());
                }
                EntityKind::Address => {
                    addresses.insert(en.value.clone());
                }
                EntityKind::WebShell => {
                    shells.insert(en.value.clone());
                }
                _ => {}
            }
        }
        for (i, a) in e.entities.iter().enumerate() {
            for b in &e.entities[i + 1..] {
                let key = if a <= b {
                    (a.clone(), b.clone())
                } else {
                    (b.clone(), a.clone())
                };
                *links.entry(key).or_insert(0) += 1;
            }
        }
        techniques.extend(e.attack.iter().cloned());
        let tactic = e.tactic.clone().unwrap_or_default();
        let order = enterprise_tactics()
            .iter()
            .position(|t| t.0 == tactic)
            .unwrap_or(99);
        let p = phases.entry(order).or_insert_with(|| Phase {
            tactic: tactic.clone(),
            name: enterprise_tactics()
                .get(order)
                .map(|t| t.1.clone())
                .unwrap_or_default(),
            first: e.timestamp.clone(),
            last: e.timestamp.clone(),
            techniques: vec![],
            detections: 0,
        });
        p.last = e.timestamp.clone();
        for t in &e.attack {
            if !p.techniques.contains(t) {
                p.techniques.push(t.clone());
            }
        }
        p.detections += 1;
    }
    let mut hosts: Vec<(String, usize)> = hosts.into_iter().collect();
    hosts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Incident {
        id: id.into(),
        title: title.into(),
        severity,
        severity_reasons: reasons.iter().map(|s| s.to_string()).collect(),
        first_seen: events.first().and_then(|e| e.timestamp.clone()),
        last_seen: events.last().and_then(|e| e.timestamp.clone()),
        hosts: hosts.into_iter().map(|h| h.0).collect(),
        accounts: accounts.into_iter().collect(),
        addresses: addresses.into_iter().collect(),
        web_shells: shells.into_iter().collect(),
        techniques: techniques.into_iter().collect(),
        phases: phases.into_values().collect(),
        events,
        links: links
            .into_iter()
            .map(|((from, to), weight)| Link { from, to, weight })
            .collect(),
        narrative: narrative.into(),
    }
}

fn item(
    channel: Channel,
    item: &str,
    weight: f64,
    observed: bool,
    why: Option<&str>,
) -> EvidenceItem {
    EvidenceItem {
        channel,
        item: item.into(),
        weight,
        direction: if weight >= 0.0 {
            Direction::For
        } else {
            Direction::Against
        },
        why: why.map(str::to_string),
        observed,
    }
}

fn candidate(
    rank: usize,
    id: &str,
    name: &str,
    aliases: &[&str],
    p: f64,
    evidence: Vec<EvidenceItem>,
) -> Candidate {
    Candidate {
        id: id.into(),
        name: name.into(),
        aliases: aliases.iter().map(|s| s.to_string()).collect(),
        probability: p,
        rank,
        logit: (p / (1.0 - p)).ln(),
        evidence,
    }
}

/// The G0065-led assessment: Leviathan at 0.90, attributed.
pub fn assessment() -> Assessment {
    use Channel::*;
    Assessment {
        candidates: vec![
            candidate(
                1,
                "G0065",
                "Leviathan",
                &[
                    "APT40",
                    "Gingham Typhoon",
                    "TEMP.Periscope",
                    "BRONZE MOHAWK",
                ],
                0.90,
                vec![
                    item(
                        Technique,
                        "T1505.003 Server Software Component: Web Shell",
                        1.12,
                        true,
                        Some(
                            "Leviathan has used web shells, including China Chopper, on internet-facing servers (CISA AA21-200A; ASD AA24-190A).",
                        ),
                    ),
                    item(
                        Technique,
                        "T1552.001 Unsecured Credentials: Credentials In Files",
                        0.63,
                        true,
                        Some(
                            "Credentials harvested from web.config and hard-coded in application binaries (AA24-190A).",
                        ),
                    ),
                    item(
                        Technique,
                        "T1558.003 Steal or Forge Kerberos Tickets: Kerberoasting",
                        0.41,
                        true,
                        None,
                    ),
                    item(
                        Infrastructure,
                        "203.0.113.45 (compromised SOHO router, in-country last hop)",
                        0.35,
                        true,
                        Some(
                            "Partner reporting links the address to APT40 operational relay infrastructure.",
                        ),
                    ),
                    item(
                        Sector,
                        "government (legislative drafting)",
                        0.30,
                        true,
                        None,
                    ),
                    item(
                        Country,
                        "NZ",
                        0.27,
                        true,
                        Some(
                            "Leviathan targeted New Zealand government networks in 2021 (NCSC NZ).",
                        ),
                    ),
                    item(
                        Technique,
                        "T1562.004 Impair Defenses: Disable or Modify System Firewall",
                        0.22,
                        true,
                        None,
                    ),
                    item(
                        WorkingHours,
                        "14 of 16 activity hours fall in 09:00–18:00 UTC+8, Mon–Fri",
                        0.18,
                        true,
                        Some("Mandiant (2019) observed APT40 activity in UTC+8 working hours."),
                    ),
                    item(
                        Profile,
                        "T1566.001 Phishing: Spearphishing Attachment (not observed)",
                        -0.21,
                        false,
                        Some("A documented Leviathan initial-access method the evidence lacks."),
                    ),
                    item(
                        Software,
                        "S0228 NanHaiShu (not observed)",
                        -0.15,
                        false,
                        None,
                    ),
                    item(
                        Technique,
                        "T1003.003 OS Credential Dumping: NTDS",
                        -0.05,
                        true,
                        Some("Not in Leviathan's profile; common to many sets."),
                    ),
                ],
            ),
            candidate(
                2,
                "G0096",
                "APT41",
                &["Wicked Panda", "BARIUM"],
                0.025,
                vec![
                    item(
                        Technique,
                        "T1505.003 Server Software Component: Web Shell",
                        0.48,
                        true,
                        None,
                    ),
                    item(
                        Technique,
                        "T1003.001 OS Credential Dumping: LSASS Memory",
                        0.22,
                        true,
                        None,
                    ),
                    item(
                        Profile,
                        "S0013 PlugX (not observed)",
                        -0.64,
                        false,
                        Some("APT41 intrusions usually deploy bespoke malware."),
                    ),
                    item(Country, "NZ", -0.12, true, None),
                ],
            ),
            candidate(
                3,
                "G0027",
                "Threat Group-3390",
                &["APT27", "Emissary Panda"],
                0.015,
                vec![
                    item(
                        Technique,
                        "T1505.003 Server Software Component: Web Shell",
                        0.51,
                        true,
                        None,
                    ),
                    item(
                        Profile,
                        "S0070 HTTPBrowser (not observed)",
                        -0.58,
                        false,
                        None,
                    ),
                ],
            ),
            candidate(
                4,
                "G0128",
                "ZIRCONIUM",
                &["APT31", "Violet Typhoon"],
                0.010,
                vec![
                    item(WorkingHours, "UTC+8 working hours", 0.18, true, None),
                    item(
                        Profile,
                        "T1566.002 Phishing: Spearphishing Link (not observed)",
                        -0.72,
                        false,
                        Some("APT31 operations in the region were e-mail first."),
                    ),
                ],
            ),
        ],
        unknown: 0.035,
        rest: 0.015,
        verdict: Verdict::Attributed {
            id: "G0065".into(),
            name: "Leviathan".into(),
            confidence: 0.90,
            threshold: 0.7,
        },
        summary: AttribSummary {
            techniques: 33,
            software: 0,
            indicators_matched: 1,
            indicators: 3,
            cves: 0,
            sectors: 1,
            countries: 1,
            activity_hours: 16,
            group_tags: 0,
        },
        unresolved: vec![Unresolved {
            channel: Channel::Software,
            item: "wiadbg.exe".into(),
            reason: "not a software name in the knowledge base".into(),
        }],
        groups_ranked: 172,
        prior: Prior::Documentation,
        rank_micros: 1830,
    }
}

fn action(target: &str, reason: &str, evidence: &[&str], priority: u8) -> Action {
    Action {
        target: target.into(),
        reason: reason.into(),
        incidents: vec!["INC-002".into()],
        evidence: evidence.iter().map(|s| s.to_string()).collect(),
        priority,
    }
}

/// The whole case.
pub fn quiet_draft() -> Investigation {
    let recon = events(RECON, 0);
    let intrusion = events(INTRUSION, RECON.len());
    let inc1 = incident(
        "INC-001",
        "ProxyShell-style probing of PDO-EXCH01 from a leased VPS",
        Severity::Low,
        &[
            "all requests failed (HTTP 400/404)",
            "no follow-on activity on the host",
        ],
        "Between 24 and 27 February 192.0.2.66 sent ProxyShell-style autodiscover requests and a broad vulnerability scan to the Exchange server. Every request failed; the server is patched. The same address is listed by partners as infrastructure of the actor in INC-002.",
        recon,
    );
    let inc2 = incident(
        "INC-002",
        "Web shell on PDO-WEB01 leading to credential theft, lateral movement and exfiltration",
        Severity::Critical,
        &[
            "web shell served to an external address",
            "LSASS memory dumped on PDO-FS01 and NTDS.dit copied on PDO-DC01",
            "Domain Admin logon from the DMZ",
            "about 3.4 GB downloaded from the web root",
        ],
        "On 3 March an actor at 203.0.113.45 exploited a path traversal in the Drafts Portal upload handler and planted a China Chopper-style web shell (spinner.aspx), then enumerated the host and the domain through it. Credentials taken from web.config and by Kerberoasting gave the actor svc_sqlrpt, used from 10 March to reach PDO-FS01 and PDO-SQL01; LSASS memory dumped on PDO-FS01 yielded the Domain Admin adm.tkereama, used over a tunnel to log on to PDO-JMP01 and copy the AD database. Cabinet documents were archived on PDO-JMP01 and downloaded through the web root on 17–18 March. The web shells and the firewall rule remain in place.",
        intrusion,
    );
    // Techniques, with names and tactics from the "knowledge base".
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for e in inc1.events.iter().chain(inc2.events.iter()) {
        for t in &e.attack {
            *counts.entry(t.clone()).or_insert(0) += 1;
        }
    }
    let techniques = counts
        .into_iter()
        .map(|(id, count)| {
            let (name, tactics) = TECHNIQUES
                .iter()
                .find(|(t, _, _)| *t == id)
                .map(|(_, n, ts)| (n.to_string(), ts.iter().map(|s| s.to_string()).collect()))
                .unwrap_or_default();
            TechniqueCount {
                id,
                name,
                tactics,
                count,
            }
        })
        .collect();
    let detections = (inc1.events.len() + inc2.events.len()) as u64;
    Investigation {
        title: "Operation Quiet Draft: intrusion at the Parliamentary Drafting Office".into(),
        organisation: "Parliamentary Drafting Office".into(),
        generated: "2025-03-21T04:30:00Z".into(),
        tlp: "TLP:AMBER".into(),
        evidence: EvidenceSummary {
            paths: vec!["evidence/PDO-WEB01".into(), "evidence/PDO-EXCH01".into(), "evidence/PDO-DC01".into(), "evidence/PDO-FS01".into(), "evidence/PDO-SQL01".into(), "evidence/PDO-JMP01".into()],
            files: 214,
            events: 1_832_406,
            bytes: 2_914_331_008,
            skipped: 12,
            damaged_files: 1,
        },
        hunt: HuntSummary {
            detections: detections + 9,
            by_kind: [("detection".to_string(), detections + 6), ("correlation".to_string(), 2), ("indicator".to_string(), 1)].into_iter().collect(),
            rules_loaded: 3142,
            top_rules: vec![
                ("Webshell Detection With Command Line Keywords".to_string(), 6, "high".to_string()),
                ("Kerberos RC4 Service Ticket Request".to_string(), 4, "medium".to_string()),
                ("Large Archive Download From Web Root".to_string(), 3, "high".to_string()),
                ("Exchange ProxyShell Pattern".to_string(), 3, "high".to_string()),
                (HOSTILE_RULE.to_string(), 1, "medium".to_string()),
            ],
        },
        incidents: vec![inc1, inc2],
        assessment: Some(assessment()),
        kb_label: "ATT&CK v18.1 bundle".into(),
        containment: ContainmentPlan {
            isolate_hosts: vec![
                action("PDO-WEB01", "Hosts two web shells and the tunnel to 203.0.113.45; the actor's way in.", &["Chopper Webshell Process Pattern", "Outbound TLS Tunnel From Debug Folder Binary"], 1),
                action("PDO-JMP01", "Domain Admin session from the DMZ; staging of archives.", &["Domain Admin Interactive Logon From DMZ"], 1),
                action("PDO-FS01", "LSASS dumped; svc_sqlrpt used as administrator.", &["Potential LSASS Process Dump Via Procdump"], 2),
                action("PDO-SQL01", "Remote execution as svc_sqlrpt.", &["WmiPrvSE Spawned Command Shell"], 3),
            ],
            reset_accounts: vec![
                action(r"PDO\adm.tkereama", "Domain Admin credentials taken from LSASS on PDO-FS01 and used from the DMZ.", &["Domain Admin Interactive Logon From DMZ"], 1),
                action(r"PDO\svc_sqlrpt", "Kerberoasted (RC4) and used for lateral movement; set a long random password and remove RC4.", &["Kerberos RC4 Service Ticket Request"], 1),
                action("krbtgt", "NTDS.dit copied: reset twice, ten hours apart.", &["NTDS.DIT Creation By Ntdsutil"], 1),
                action(r"PDO\svc_draftsweb", "Password read from web.config and the application binaries.", &["Microsoft IIS Connection Strings Decryption"], 2),
            ],
            remove_files: vec![
                action(SHELL1, "China Chopper-style web shell.", &["ASPX File Created By IIS Worker Process"], 1),
                action(SHELL2, "Second web shell, timestomped.", &["ASPX File Created By IIS Worker Process"], 1),
                action(r"C:\Windows\Debug\wiadbg.exe", "Tunneller to 203.0.113.45.", &["Executable Dropped In Windows Debug Folder"], 2),
                action(r"C:\Windows\Debug\pd64.exe", "ProcDump copy used on LSASS.", &["Potential LSASS Process Dump Via Procdump"], 3),
            ],
            revert_changes: vec![
                action("Firewall rule \"Windows Image Acquisition Debug\" (TCP 9998-9999 in)", "Opens the tunnel's ports.", &["Firewall Rule Added Via Netsh"], 1),
                action(r"Scheduled task \Microsoft\Windows\WDI\DiagSync on PDO-FS01", "Ran the LSASS dump as SYSTEM.", &["Scheduled Task Created"], 2),
            ],
            block: vec![
                BlockItem { kind: "ipv4".into(), value: ACTOR1.into(), reason: "Web shell operator and tunnel endpoint (compromised SOHO router).".into(), incidents: vec!["INC-002".into()] },
                BlockItem { kind: "ipv4".into(), value: ACTOR2.into(), reason: "Downloaded the archives (compromised SOHO NAS).".into(), incidents: vec!["INC-002".into()] },
                BlockItem { kind: "ipv4".into(), value: ACTOR3.into(), reason: "Exchange probing; partner-listed infrastructure.".into(), incidents: vec!["INC-001".into()] },
            ],
            mitigations: vec![
                MitigationItem { id: "M1026".into(), name: "Privileged Account Management".into(), techniques: vec!["T1078.002".into(), "T1003.001".into(), "T1021.002".into()] },
                MitigationItem { id: "M1027".into(), name: "Password Policies".into(), techniques: vec!["T1558.003".into(), "T1552.001".into()] },
                MitigationItem { id: "M1030".into(), name: "Network Segmentation".into(), techniques: vec!["T1021.001".into(), "T1021.002".into()] },
                MitigationItem { id: "M1050".into(), name: "Exploit Protection".into(), techniques: vec!["T1190".into()] },
            ],
        },
        techniques,
        tactics: enterprise_tactics(),
        recall: Some(vec![
            StepRecall { id: "d0-initial-access".into(), name: "Upload handler path traversal".into(), techniques: vec!["T1190".into()], detected: true, records_hit: 2, records_total: 2 },
            StepRecall { id: "d0-webshell".into(), name: "Web shell test".into(), techniques: vec!["T1505.003".into()], detected: true, records_hit: 3, records_total: 4 },
            StepRecall { id: "d0-discovery".into(), name: "Host and domain enumeration".into(), techniques: vec!["T1082".into(), "T1016".into(), "T1482".into()], detected: true, records_hit: 9, records_total: 11 },
            StepRecall { id: "d2-kerberoast".into(), name: "Kerberoasting".into(), techniques: vec!["T1558.003".into()], detected: true, records_hit: 5, records_total: 9 },
            StepRecall { id: "d9-lsass".into(), name: "LSASS dump on FS01".into(), techniques: vec!["T1003.001".into()], detected: true, records_hit: 2, records_total: 6 },
            StepRecall { id: "d10-rag".into(), name: "Branch B: remote-access gateway".into(), techniques: vec!["T1190".into(), "T1528".into()], detected: false, records_hit: 0, records_total: 14 },
        ]),
        notes: vec![
            "All times are UTC; New Zealand daylight time is UTC+13.".into(),
            "PDO-RAG01 (remote-access gateway) and PDO-BKP01 logs were not provided: Branch B of the intrusion is unexamined.".into(),
            "Fictional case for testing: documentation addresses only.".into(),
        ],
    }
}
