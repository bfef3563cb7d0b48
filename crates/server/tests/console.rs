//! The console and the JSON API over real HTTP: an in-process server on a temporary case store
//! holding the "Operation Quiet Draft" investigation (the report tests' fixture: two incidents,
//! G0065 at 0.90, a containment plan, hostile strings in the evidence) and a handful of
//! detections, spoken to with `ureq` as a browser or a script would.
//!
//! What is checked: log-in sets an `HttpOnly`, `SameSite=Strict` session cookie and log-out
//! ends it; pages redirect to `/login` without a session; the timeline's filters change the
//! rows and bad filters are a 400; a verdict needs the CSRF token and the write role; the
//! API's JSON shapes and status codes; the OpenAPI document covers every API route; hostile
//! strings stay text; every page carries the CSP.

#[path = "../../report/tests/common/mod.rs"]
mod fixture;

use std::net::SocketAddr;
use std::path::PathBuf;

use serde_json::{Value, json};
use tiaki_store::CaseStore;
use tiaki_store::auth::Role;
use tiaki_store::cases::NewEvidence;

/// A detection as `tiaki hunt` writes it.
#[allow(clippy::too_many_arguments)]
fn detection(
    rule: &str,
    level: &str,
    time: &str,
    host: &str,
    technique: &str,
    kind: &str,
    record: u64,
    event: Value,
) -> tiaki::Detection {
    serde_json::from_value(json!({
        "rule_id": format!("rule-{record}"),
        "rule_title": rule,
        "level": level,
        "timestamp": time,
        "host": host,
        "attack": [technique],
        "source": {"path": format!("evidence/{host}/Security.evtx"), "record_id": record},
        "event": event,
        "kind": kind,
        "rule_path": "rules/x.yml",
    }))
    .expect("detection JSON")
}

fn detections() -> Vec<tiaki::Detection> {
    vec![
        detection(
            "Web shell spawns cmd",
            "critical",
            "2025-03-03T02:31:00Z",
            "PDO-WEB01",
            "T1505.003",
            "detection",
            11,
            json!({"Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": "cmd /c whoami"}),
        ),
        detection(
            "Suspicious URI <img src=x onerror=alert(1)>",
            "high",
            "2025-03-03T02:35:00Z",
            "PDO-WEB01",
            "T1190",
            "detection",
            12,
            json!({"cs-uri-stem": "/owa/auth/<script>alert(document.domain)</script>.aspx"}),
        ),
        detection(
            "LSASS memory access",
            "high",
            "2025-03-05T01:10:00Z",
            "PDO-DC01",
            "T1003.001",
            "detection",
            13,
            json!({"TargetImage": "C:\\Windows\\System32\\lsass.exe"}),
        ),
        detection(
            "NTDS copy",
            "critical",
            "2025-03-06T01:12:00Z",
            "PDO-DC01",
            "T1003.003",
            "detection",
            14,
            json!({"CommandLine": "ntdsutil \"ac i ntds\" ifm"}),
        ),
        detection(
            "RDP logon from jump host",
            "medium",
            "2025-03-10T02:00:00Z",
            "PDO-FS01",
            "T1021.001",
            "correlation",
            15,
            json!({"TargetUserName": "adm.tkereama"}),
        ),
        detection(
            "Known bad address",
            "low",
            "2025-03-12T03:00:00Z",
            "PDO-FS01",
            "T1071",
            "indicator",
            16,
            json!({"DestinationIp": "203.0.113.45"}),
        ),
    ]
}

/// A server on a populated temporary store, with a writer and a reader.
struct Server {
    _dir: tempfile::TempDir,
    addr: SocketAddr,
    /// `analyst` (write) and their token.
    writer: (String, String),
    /// `auditor` (read) and their token.
    reader: (String, String),
}

impl Server {
    fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let db: PathBuf = dir.path().join("case.db");
        let mut s = CaseStore::open(&db).unwrap();
        s.ensure_case(
            "pdo",
            Some("Operation Quiet Draft"),
            Some("Parliamentary Drafting Office"),
            Some("TLP:AMBER"),
        )
        .unwrap();
        s.ensure_case("empty", Some("Nothing yet <b>"), None, Some("TLP:GREEN"))
            .unwrap();
        s.add_detections("pdo", &detections(), None).unwrap();
        s.add_evidence(
            "pdo",
            &NewEvidence {
                path: "evidence/PDO-WEB01/Security.evtx".into(),
                sha256: "a".repeat(64),
                size: 1_048_576,
                added_by: "analyst".into(),
                tlp: None,
            },
        )
        .unwrap();
        s.save_analysis("pdo", &fixture::quiet_draft()).unwrap();
        s.upsert_user("analyst", Role::Write).unwrap();
        s.upsert_user("auditor", Role::Read).unwrap();
        let wt = s.issue_token("analyst", "test").unwrap();
        let rt = s.issue_token("auditor", "test").unwrap();
        drop(s);
        let config = tiaki_server::ServerConfig {
            db,
            title: "tiaki test".into(),
            ..Default::default()
        };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let app = tiaki_server::router(tiaki_server::state(config).unwrap());
                let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(l.local_addr().unwrap()).unwrap();
                axum::serve(l, app.into_make_service_with_connect_info::<SocketAddr>())
                    .await
                    .unwrap();
            });
        });
        let addr = rx.recv().unwrap();
        Server {
            _dir: dir,
            addr,
            writer: ("analyst".into(), wt),
            reader: ("auditor".into(), rt),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Logs in through the form; returns the session cookie value.
    fn login(&self, who: &(String, String)) -> String {
        let r = agent()
            .post(&self.url("/login"))
            .send_form([
                ("user", who.0.as_str()),
                ("token", who.1.as_str()),
                ("next", "/"),
            ])
            .unwrap();
        assert_eq!(r.status(), 303, "log-in should redirect");
        let set = r
            .headers()
            .get("set-cookie")
            .expect("a cookie")
            .to_str()
            .unwrap()
            .to_owned();
        for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(set.contains(attr), "{set}");
        }
        set.split(';')
            .next()
            .unwrap()
            .trim()
            .strip_prefix("tiaki_session=")
            .unwrap()
            .to_owned()
    }
}

/// No redirects followed, no error on 4xx/5xx: tests look at every status.
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

struct Got {
    status: u16,
    headers: ureq::http::HeaderMap,
    body: String,
}

impl Got {
    fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

fn done(mut r: ureq::http::Response<ureq::Body>) -> Got {
    Got {
        status: r.status().as_u16(),
        headers: r.headers().clone(),
        body: r.body_mut().read_to_string().unwrap(),
    }
}

fn get(url: &str, cookie: Option<&str>) -> Got {
    let mut req = agent().get(url);
    if let Some(c) = cookie {
        req = req.header("Cookie", &format!("tiaki_session={c}"));
    }
    done(req.call().unwrap())
}

fn post_form(url: &str, cookie: Option<&str>, form: &[(&str, &str)]) -> Got {
    let mut req = agent().post(url);
    if let Some(c) = cookie {
        req = req.header("Cookie", &format!("tiaki_session={c}"));
    }
    done(req.send_form(form.iter().copied()).unwrap())
}

fn bearer_get(url: &str, token: &str) -> Got {
    done(
        agent()
            .get(url)
            .header("Authorization", &format!("Bearer {token}"))
            .call()
            .unwrap(),
    )
}

fn bearer_post(url: &str, token: &str, body: Value) -> Got {
    done(
        agent()
            .post(url)
            .header("Authorization", &format!("Bearer {token}"))
            .header("Content-Type", "application/json")
            .send(body.to_string())
            .unwrap(),
    )
}

/// The value of `<meta name="csrf-token" content="…">`.
fn csrf_of(page: &str) -> String {
    let i = page
        .find("name=\"csrf-token\" content=\"")
        .expect("csrf meta")
        + 27;
    page[i..].split('"').next().unwrap().to_owned()
}

/// The detection keys listed in `table#timeline`.
fn keys_of(page: &str) -> Vec<String> {
    page.match_indices("<tr class=\"det")
        .map(|(i, _)| {
            let j = page[i..].find("data-key=\"").unwrap() + i + 10;
            page[j..].split('"').next().unwrap().to_owned()
        })
        .collect()
}

#[test]
fn log_in_sets_a_session_and_pages_need_one() {
    let srv = Server::start();
    for path in [
        "/",
        "/cases/pdo",
        "/cases/pdo/timeline?host=PDO-DC01",
        "/cases/pdo/attack",
    ] {
        let r = get(&srv.url(path), None);
        assert_eq!(r.status, 302, "{path}");
        assert!(
            r.header("location").starts_with("/login?next=%2F"),
            "{}",
            r.header("location")
        );
    }
    let r = get(&srv.url("/login?next=%2Fcases%2Fpdo"), None);
    assert_eq!(r.status, 200);
    assert!(r.body.contains("id=\"login\"") && r.body.contains("value=\"/cases/pdo\""));
    // A wrong token.
    let r = post_form(
        &srv.url("/login"),
        None,
        &[("user", "analyst"), ("token", "tiaki_x_y")],
    );
    assert_eq!(r.status, 401);
    assert!(r.body.contains("id=\"login-error\""));
    assert!(r.header("set-cookie").is_empty());
    // An open redirect is not followed.
    let r = post_form(
        &srv.url("/login"),
        None,
        &[
            ("user", "analyst"),
            ("token", srv.writer.1.as_str()),
            ("next", "//evil.example/"),
        ],
    );
    assert_eq!((r.status, r.header("location").as_str()), (303, "/"));

    let cookie = srv.login(&srv.writer);
    let r = get(&srv.url("/"), Some(&cookie));
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-security-policy")
            .starts_with("default-src 'self'")
    );
    assert_eq!(r.header("x-frame-options"), "DENY");
    assert!(r.body.contains("<table id=\"cases\">"));
    assert!(r.body.contains("data-case=\"pdo\"") && r.body.contains("data-case=\"empty\""));
    assert!(r.body.contains("tlpbadge tlp-amber"));
    assert!(
        r.body.contains("Nothing yet &lt;b&gt;"),
        "titles are escaped"
    );
    assert!(r.body.contains("G0065"), "top attribution in the list");

    // Log-out needs the token, then the session is gone.
    let csrf = csrf_of(&r.body);
    let r = post_form(&srv.url("/logout"), Some(&cookie), &[("csrf", "nope")]);
    assert_eq!(r.status, 403);
    assert_eq!(get(&srv.url("/"), Some(&cookie)).status, 200);
    let r = post_form(
        &srv.url("/logout"),
        Some(&cookie),
        &[("csrf", csrf.as_str())],
    );
    assert_eq!(r.status, 303);
    assert!(r.header("set-cookie").contains("Max-Age=0"));
    assert_eq!(get(&srv.url("/"), Some(&cookie)).status, 302);
}

#[test]
fn timeline_filters_change_the_rows() {
    let srv = Server::start();
    let cookie = srv.login(&srv.reader);
    let rows = |q: &str| {
        let r = get(&srv.url(&format!("/cases/pdo/timeline{q}")), Some(&cookie));
        assert_eq!(r.status, 200, "{q}: {}", r.body);
        keys_of(&r.body).len()
    };
    assert_eq!(rows(""), 6);
    assert_eq!(rows("?host=PDO-DC01"), 2);
    assert_eq!(rows("?min_level=critical"), 2);
    assert_eq!(rows("?min_level=high&host=PDO-WEB01"), 2);
    assert_eq!(rows("?technique=T1003.003"), 1);
    assert_eq!(rows("?kind=indicator"), 1);
    assert_eq!(rows("?text=ntdsutil"), 1);
    assert_eq!(rows("?since=2025-03-06&until=2025-03-11"), 2);
    assert_eq!(rows("?verdict=tp"), 0);
    assert_eq!(rows("?verdict=none"), 6);
    // Paging keeps the filter.
    let r = get(
        &srv.url("/cases/pdo/timeline?limit=25&min_level=low"),
        Some(&cookie),
    );
    assert!(r.body.contains("id=\"timeline-count\" data-total=\"6\""));
    let r = get(&srv.url("/cases/pdo/timeline?limit=4&offset=0"), None);
    assert_eq!(r.status, 302);
    let api = bearer_get(
        &srv.url("/api/v1/cases/pdo/timeline?limit=4"),
        &srv.reader.1,
    )
    .json();
    assert_eq!(
        (api["total"].as_u64(), api["rows"].as_array().unwrap().len()),
        (Some(6), 4)
    );
    // The report's chart is there, under its own id; the hostile strings stay text.
    let r = get(&srv.url("/cases/pdo/timeline"), Some(&cookie));
    assert!(r.body.contains("<section id=\"timeline-chart\">"));
    assert!(r.body.contains("<table id=\"timeline\""));
    assert!(!r.body.contains("<script>alert") && !r.body.contains("<img src=x"));
    assert!(r.body.contains("&lt;img src=x onerror=alert(1)&gt;"));
    // A bad filter is a 400 with the reason on the page.
    for q in [
        "?min_level=severe",
        "?since=yesterday",
        "?limit=0",
        "?verdict=maybe",
    ] {
        let r = get(&srv.url(&format!("/cases/pdo/timeline{q}")), Some(&cookie));
        assert_eq!(r.status, 400, "{q}");
        assert!(r.body.contains("id=\"filter-error\""), "{q}");
    }
    // Readers see no verdict buttons.
    assert!(!r.body.contains("class=\"vform\""));
}

#[test]
fn verdicts_need_the_csrf_token_and_the_write_role() {
    let srv = Server::start();
    let cookie = srv.login(&srv.writer);
    let page = get(&srv.url("/cases/pdo/timeline?host=PDO-DC01"), Some(&cookie)).body;
    assert!(page.contains("class=\"vform\""), "writers see the buttons");
    let csrf = csrf_of(&page);
    let key = keys_of(&page)[0].clone();
    let url = srv.url(&format!("/cases/pdo/detections/{key}/verdict"));
    // No token, a wrong token: refused, nothing recorded.
    let r = post_form(&url, Some(&cookie), &[("verdict", "true-positive")]);
    assert_eq!(r.status, 403);
    let r = post_form(
        &url,
        Some(&cookie),
        &[("verdict", "true-positive"), ("csrf", &csrf[..63])],
    );
    assert_eq!(r.status, 403);
    // Another session's token does not do either.
    let other = srv.login(&srv.writer);
    let other_csrf = csrf_of(&get(&srv.url("/"), Some(&other)).body);
    assert_ne!(other_csrf, csrf);
    let r = post_form(
        &url,
        Some(&cookie),
        &[("verdict", "tp"), ("csrf", other_csrf.as_str())],
    );
    assert_eq!(r.status, 403);
    let api = bearer_get(
        &srv.url("/api/v1/cases/pdo/timeline?verdict=tp"),
        &srv.writer.1,
    )
    .json();
    assert_eq!(api["total"], 0);
    // With the token: recorded, back to the same filter.
    let r = post_form(
        &url,
        Some(&cookie),
        &[
            ("verdict", "true-positive"),
            ("reason", "dumped NTDS"),
            ("csrf", csrf.as_str()),
            ("back", "host=PDO-DC01"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        r.header("location"),
        "/cases/pdo/timeline?host=PDO-DC01#timeline"
    );
    let api = bearer_get(
        &srv.url("/api/v1/cases/pdo/timeline?verdict=tp"),
        &srv.writer.1,
    )
    .json();
    assert_eq!(api["total"], 1);
    assert_eq!(api["rows"][0]["key"], key.as_str());
    assert_eq!(api["rows"][0]["verdict"]["analyst"], "analyst");
    assert_eq!(api["rows"][0]["verdict"]["reason"], "dumped NTDS");
    let page = get(&srv.url("/cases/pdo/timeline?verdict=tp"), Some(&cookie)).body;
    assert!(page.contains("det v-tp"));
    // An unknown detection: 404.
    let r = post_form(
        &srv.url("/cases/pdo/detections/nope/verdict"),
        Some(&cookie),
        &[("verdict", "fp"), ("csrf", csrf.as_str())],
    );
    assert_eq!(r.status, 404);
    // A reader, with a valid token of their own: 403.
    let rc = srv.login(&srv.reader);
    let rpage = get(&srv.url("/cases/pdo/timeline"), Some(&rc)).body;
    assert!(!rpage.contains("class=\"vform\""));
    assert!(
        !get(&srv.url("/cases/pdo"), Some(&rc))
            .body
            .contains("id=\"note-form\"")
    );
    let r = post_form(
        &url,
        Some(&rc),
        &[
            ("verdict", "false-positive"),
            ("csrf", csrf_of(&rpage).as_str()),
        ],
    );
    assert_eq!(r.status, 403);
    assert!(r.body.contains("needs write"));
    // Notes through the form.
    let r = post_form(
        &srv.url("/cases/pdo/notes"),
        Some(&cookie),
        &[("text", "Called the CISO <b>"), ("csrf", csrf.as_str())],
    );
    assert_eq!(r.status, 303);
    let page = get(&srv.url("/cases/pdo"), Some(&cookie)).body;
    assert!(page.contains("Called the CISO &lt;b&gt;"));
    let r = post_form(
        &srv.url("/cases/pdo/notes"),
        Some(&cookie),
        &[("text", "forged")],
    );
    assert_eq!(r.status, 403);
}

#[test]
fn pages_show_the_report_sections() {
    let srv = Server::start();
    let cookie = srv.login(&srv.reader);
    let page = |p: &str| {
        let r = get(&srv.url(p), Some(&cookie));
        assert_eq!(r.status, 200, "{p}");
        assert!(
            r.header("content-security-policy")
                .contains("frame-ancestors 'none'")
        );
        // The only script is the console's own file.
        assert_eq!(r.body.matches("<script").count(), 1, "{p}");
        assert!(
            r.body
                .contains("<script src=\"/static/console.js\" defer></script>")
        );
        assert!(
            !r.body.contains("<style"),
            "{p}: no inline style element under the CSP"
        );
        r.body
    };
    let o = page("/cases/pdo");
    for id in [
        "id=\"what\"",
        "id=\"who\"",
        "id=\"todo\"",
        "id=\"incident-summary\"",
        "id=\"evidence\"",
        "id=\"custody-log\"",
        "id=\"note-list\"",
    ] {
        assert!(o.contains(id), "{id}");
    }
    assert!(o.contains("G0065") && o.contains("INC-001"));
    assert!(o.contains(&"a".repeat(64)), "evidence SHA-256");
    assert!(o.contains("class=\"tlp tlp-amber\""));
    assert!(page("/cases/pdo/graph").contains("<section id=\"graph\">"));
    let a = page("/cases/pdo/attack");
    assert!(a.contains("<div id=\"heatmap\">") && a.contains("class=\"cell\""));
    let at = page("/cases/pdo/attribution");
    assert!(
        at.contains("<section id=\"attribution\">") && at.contains("<section id=\"assessments\">")
    );
    assert!(at.contains("id=\"assessment-history\""));
    assert!(page("/cases/pdo/containment").contains("<section id=\"containment\">"));
    assert!(page("/cases/pdo/incidents").contains("<section id=\"incidents\">"));
    let e = page("/cases/empty");
    assert!(e.contains("id=\"no-analysis\""));
    assert_eq!(get(&srv.url("/cases/nosuch"), Some(&cookie)).status, 404);
    assert_eq!(
        get(&srv.url("/cases/nosuch/timeline"), Some(&cookie)).status,
        404
    );
    for (path, ct) in [
        ("/static/console.css", "text/css"),
        ("/static/report.css", "text/css"),
        ("/static/console.js", "text/javascript"),
    ] {
        let r = get(&srv.url(path), None);
        assert_eq!(r.status, 200);
        assert!(r.header("content-type").starts_with(ct), "{path}");
        assert!(!r.body.is_empty());
    }
}

#[test]
fn api_answers_json() {
    let srv = Server::start();
    let (w, r) = (srv.writer.1.clone(), srv.reader.1.clone());
    // No credential.
    let g = get(&srv.url("/api/v1/cases"), None);
    assert_eq!(g.status, 401);
    assert!(g.header("www-authenticate").starts_with("Bearer"));
    assert!(g.json()["error"].is_string());
    // Basic with a token as the password works too.
    let basic = done(
        agent()
            .get(&srv.url("/api/v1/cases"))
            .header(
                "Authorization",
                &format!("Basic {}", base64_encode(&format!("auditor:{r}"))),
            )
            .call()
            .unwrap(),
    );
    assert_eq!(basic.status, 200);
    let cases = bearer_get(&srv.url("/api/v1/cases"), &r).json();
    let pdo = cases["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["case"]["name"] == "pdo")
        .unwrap()
        .clone();
    assert_eq!(pdo["detections"], 6);
    assert_eq!(pdo["top_attribution"]["id"], "G0065");
    let c = bearer_get(&srv.url("/api/v1/cases/pdo"), &r).json();
    assert_eq!(c["case"]["tlp"], "TLP:AMBER");
    assert_eq!(c["evidence"][0]["sha256"], "a".repeat(64));
    assert!(c["custody"].is_array() && c["runs"].is_array());
    assert_eq!(bearer_get(&srv.url("/api/v1/cases/nosuch"), &r).status, 404);
    let t = bearer_get(
        &srv.url("/api/v1/cases/pdo/timeline?host=PDO-WEB01&newest_first=true"),
        &r,
    )
    .json();
    assert_eq!(t["total"], 2);
    assert_eq!(
        t["rows"][0]["detection"]["timestamp"],
        "2025-03-03T02:35:00Z"
    );
    let bad = bearer_get(&srv.url("/api/v1/cases/pdo/timeline?min_level=severe"), &r);
    assert_eq!(bad.status, 400);
    assert!(bad.json()["error"].as_str().unwrap().contains("min_level"));
    assert_eq!(
        bearer_get(&srv.url("/api/v1/cases/pdo/timeline?offset=x"), &r).status,
        400
    );
    let inc = bearer_get(&srv.url("/api/v1/cases/pdo/incidents"), &r).json();
    assert_eq!(inc["incidents"].as_array().unwrap().len(), 2);
    assert_eq!(inc["incidents"][0]["id"], "INC-001");
    let a = bearer_get(&srv.url("/api/v1/cases/pdo/attribution"), &r).json();
    assert!(
        a["key_judgement"]["headline"]
            .as_str()
            .unwrap()
            .contains("G0065")
    );
    assert_eq!(a["assessment"]["candidates"][0]["id"], "G0065");
    assert_eq!(a["history"].as_array().unwrap().len(), 1);
    let ct = bearer_get(&srv.url("/api/v1/cases/pdo/containment"), &r).json();
    assert!(
        !ct["containment"]["isolate_hosts"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // Notes: writers only.
    let n = bearer_post(
        &srv.url("/api/v1/cases/pdo/notes"),
        &r,
        json!({"text": "hi"}),
    );
    assert_eq!(n.status, 403);
    let n = bearer_post(
        &srv.url("/api/v1/cases/pdo/notes"),
        &w,
        json!({"text": "Scope agreed", "tlp": "TLP:RED"}),
    );
    assert_eq!(n.status, 201, "{}", n.body);
    assert!(n.json()["note"].is_number());
    let n = bearer_post(
        &srv.url("/api/v1/cases/pdo/notes"),
        &w,
        json!({"text": "on INC-001", "target": "incident", "id": "INC-001"}),
    );
    assert_eq!(n.status, 201, "{}", n.body);
    assert_eq!(
        bearer_post(&srv.url("/api/v1/cases/pdo/notes"), &w, json!({"text": ""})).status,
        400
    );
    assert_eq!(
        bearer_post(&srv.url("/api/v1/cases/pdo/notes"), &w, json!({"nope": 1})).status,
        400
    );
    assert_eq!(
        bearer_post(
            &srv.url("/api/v1/cases/nosuch/notes"),
            &w,
            json!({"text": "x"})
        )
        .status,
        404
    );
    let notes = bearer_get(&srv.url("/api/v1/cases/pdo/notes"), &r).json();
    assert_eq!(notes["notes"].as_array().unwrap().len(), 2);
    assert_eq!(notes["notes"][0]["author"], "analyst");
    // Verdicts.
    let key = t["rows"][0]["key"].as_str().unwrap().to_owned();
    let vurl = srv.url(&format!("/api/v1/cases/pdo/detections/{key}/verdict"));
    assert_eq!(bearer_post(&vurl, &r, json!({"verdict": "fp"})).status, 403);
    assert_eq!(
        bearer_post(&vurl, &w, json!({"verdict": "maybe"})).status,
        400
    );
    let v = bearer_post(&vurl, &w, json!({"verdict": "fp", "reason": "scanner"}));
    assert_eq!(v.status, 200, "{}", v.body);
    assert_eq!(v.json()["verdict"], "false-positive");
    assert_eq!(
        bearer_post(
            &srv.url("/api/v1/cases/pdo/detections/nope/verdict"),
            &w,
            json!({"verdict": "fp"})
        )
        .status,
        404
    );
    // Not JSON: 415, so a cross-site form cannot post here.
    let form = done(
        agent()
            .post(&vurl)
            .header("Authorization", &format!("Bearer {w}"))
            .send_form([("verdict", "tp")])
            .unwrap(),
    );
    assert_eq!(form.status, 415);
    // A session-cookie write needs the CSRF header.
    let cookie = srv.login(&srv.writer);
    let post_cookie = |csrf: Option<&str>| {
        let mut req = agent()
            .post(&vurl)
            .header("Cookie", &format!("tiaki_session={cookie}"))
            .header("Content-Type", "application/json");
        if let Some(c) = csrf {
            req = req.header("X-CSRF-Token", c);
        }
        done(req.send(json!({"verdict": "tp"}).to_string()).unwrap())
    };
    assert_eq!(post_cookie(None).status, 403);
    let csrf = csrf_of(&get(&srv.url("/"), Some(&cookie)).body);
    assert_eq!(post_cookie(Some(&csrf)).status, 200);
    // Export.
    let x = bearer_get(&srv.url("/api/v1/cases/pdo/export"), &r).json();
    assert_eq!(x["case"]["name"], "pdo");
    assert_eq!(x["detections"].as_array().unwrap().len(), 6);
    assert_eq!(x["verdicts"].as_array().unwrap().len(), 2);
    // Unknown routes are JSON 404s too.
    let u = bearer_get(&srv.url("/api/v1/nothing/here"), &r);
    assert_eq!(u.status, 404);
    assert!(u.json()["error"].is_string());
}

#[test]
fn openapi_describes_every_route() {
    let srv = Server::start();
    let anonymous = get(&srv.url("/api/v1/openapi.json"), None);
    assert_eq!(
        anonymous.status, 401,
        "nothing but discovery without a token"
    );
    let g = bearer_get(&srv.url("/api/v1/openapi.json"), &srv.reader.1);
    let doc = g.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    for (method, path) in tiaki_server::api::ROUTES {
        assert!(
            paths.get(*path).and_then(|p| p.get(*method)).is_some(),
            "{method} {path} is routed but not in openapi.json"
        );
    }
    let mut documented = 0;
    for (path, item) in paths {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                documented += 1;
                assert!(
                    tiaki_server::api::ROUTES.contains(&(method, path.as_str())),
                    "{method} {path} is documented but not routed"
                );
            }
        }
    }
    assert_eq!(documented, tiaki_server::api::ROUTES.len());
    // Every $ref resolves.
    let text = g.body.clone();
    for (i, _) in text.match_indices("\"$ref\": \"#/") {
        let start = i + "\"$ref\": \"#".len();
        let pointer = text[start..].split('"').next().unwrap();
        assert!(doc.pointer(pointer).is_some(), "dangling $ref #{pointer}");
    }
}

fn base64_encode(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}
