//! The server's hardening over real HTTP (issue 9, deliverable 5): every route but TAXII
//! discovery (and the console's log-in page and static files) refuses a request without a
//! credential; every state-changing route refuses a read-only user; TAXII collection
//! permissions (404 for a collection the user cannot see, 403 for the wrong kind of access);
//! TLP:RED is never served by TAXII; the security headers on every response, errors
//! included; 413 over the body limit in each tree's format; the request rate limit and the
//! failed-authentication block (429 with `Retry-After`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};
use tiaki_stix::tlp::Tlp;
use tiaki_store::CaseStore;
use tiaki_store::auth::{Access, Role};
use tiaki_store::taxii::NewCollection;

const TAXII: &str = "application/taxii+json;version=2.1";
const MAX_BODY: usize = 32 * 1024;

/// A server on a temporary store: a case, users of each role, collections of each access.
struct Server {
    addr: SocketAddr,
    db: PathBuf,
    /// (user, token) for `writer` (write), `reader` (read), `boss` (admin).
    writer: (String, String),
    reader: (String, String),
    boss: (String, String),
    /// Collections granted to `writer`: read+write, read only, write only, none; and one
    /// `reader` may read and write by grant (but its role is read).
    rw: String,
    ro: String,
    wo: String,
    hidden: String,
    _rt: Option<tokio::runtime::Runtime>,
}

fn detection() -> tiaki::Detection {
    serde_json::from_value(json!({
        "rule_id": "rule-1", "rule_title": "Web shell spawns cmd", "level": "critical",
        "timestamp": "2025-03-03T02:31:00Z", "host": "PDO-WEB01", "attack": ["T1505.003"],
        "source": {"path": "evidence/Security.evtx", "record_id": 1},
        "event": {"CommandLine": "cmd /c whoami"}, "kind": "detection",
        "rule_path": "rules/x.yml",
    }))
    .unwrap()
}

/// Prepares the store (the directory must outlive the server).
fn prepare() -> (tempfile::TempDir, PathBuf, Server) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("case.db");
    let mut s = CaseStore::open(&db).unwrap();
    s.ensure_case("pdo", Some("Quiet Draft"), None, Some("TLP:AMBER"))
        .unwrap();
    s.add_detections("pdo", &[detection()], None).unwrap();
    let mut tok = |name: &str, role: Role| {
        s.upsert_user(name, role).unwrap();
        (name.to_owned(), s.issue_token(name, "test").unwrap())
    };
    let writer = tok("writer", Role::Write);
    let reader = tok("reader", Role::Read);
    let boss = tok("boss", Role::Admin);
    let mut coll = |title: &str, max_tlp: Tlp| {
        s.create_collection(NewCollection {
            title: title.into(),
            description: String::new(),
            alias: None,
            max_tlp,
        })
        .unwrap()
        .id
    };
    let rw = coll("rw", Tlp::AmberStrict);
    let ro = coll("ro", Tlp::AmberStrict);
    let wo = coll("wo", Tlp::AmberStrict);
    let hidden = coll("hidden", Tlp::AmberStrict);
    let grant = |s: &mut CaseStore, u: &str, c: &str, r: bool, w: bool| {
        s.grant(
            u,
            c,
            Access {
                can_read: r,
                can_write: w,
            },
        )
        .unwrap()
    };
    grant(&mut s, "writer", &rw, true, true);
    grant(&mut s, "writer", &ro, true, false);
    grant(&mut s, "writer", &wo, false, true);
    grant(&mut s, "reader", &rw, true, true);
    drop(s);
    let server = Server {
        addr: "127.0.0.1:0".parse().unwrap(),
        db: db.clone(),
        writer,
        reader,
        boss,
        rw,
        ro,
        wo,
        hidden,
        _rt: None,
    };
    (dir, db, server)
}

/// Starts `server` with `config` (its `db` is set here), served with connect info.
fn start_with(
    mut server: Server,
    keep: tempfile::TempDir,
    config: tiaki_server::ServerConfig,
) -> (Server, tempfile::TempDir) {
    let config = tiaki_server::ServerConfig {
        db: server.db.clone(),
        title: "tiaki test".into(),
        max_body: MAX_BODY,
        connections: 2,
        ..config
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = tiaki_server::router(tiaki_server::state(config).unwrap());
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    server.addr = listener.local_addr().unwrap();
    rt.spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap()
    });
    server._rt = Some(rt);
    (server, keep)
}

/// No rate limits: the tests that walk every route with wrong credentials would trip them
/// (the limits have tests of their own below).
fn unlimited() -> tiaki_server::ServerConfig {
    tiaki_server::ServerConfig {
        rate_per_sec: 0,
        auth_failures: 0,
        ..Default::default()
    }
}

/// A server without rate limits.
fn start() -> (Server, tempfile::TempDir) {
    let (keep, _, s) = prepare();
    start_with(s, keep, unlimited())
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
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Any request: no redirects followed, every status returned.
    fn req(&self, method: &str, path: &str, headers: &[(&str, String)], body: &[u8]) -> Got {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        let mut b = ureq::http::Request::builder()
            .method(method)
            .uri(self.url(path));
        for (k, v) in headers {
            b = b.header(*k, v.as_str());
        }
        let mut r = if body.is_empty() || method == "GET" || method == "DELETE" {
            agent.run(b.body(()).unwrap())
        } else {
            agent.run(b.body(body.to_vec()).unwrap())
        }
        .unwrap();
        Got {
            status: r.status().as_u16(),
            headers: r.headers().clone(),
            body: r.body_mut().read_to_string().unwrap_or_default(),
        }
    }

    /// Logs in through the form; the session cookie.
    fn login(&self, who: &(String, String)) -> String {
        let body = format!("user={}&token={}&next=%2F", who.0, who.1);
        let r = self.req("POST", "/login", &[form_type()], body.as_bytes());
        assert_eq!(r.status, 303, "{}", r.body);
        let set = r.header("set-cookie");
        set.split(';')
            .next()
            .unwrap()
            .strip_prefix("tiaki_session=")
            .unwrap()
            .to_owned()
    }

    /// The CSRF token of a session (from a page's meta element).
    fn csrf(&self, cookie: &str) -> String {
        let page = self.req("GET", "/", &[cookie_h(cookie)], b"").body;
        let i = page.find("name=\"csrf-token\" content=\"").expect("csrf") + 27;
        page[i..].split('"').next().unwrap().to_owned()
    }
}

fn form_type() -> (&'static str, String) {
    (
        "Content-Type",
        "application/x-www-form-urlencoded".to_owned(),
    )
}

fn cookie_h(c: &str) -> (&'static str, String) {
    ("Cookie", format!("tiaki_session={c}"))
}

fn bearer(t: &str) -> (&'static str, String) {
    ("Authorization", format!("Bearer {t}"))
}

fn basic(user: &str, pass: &str) -> (&'static str, String) {
    use base64::Engine as _;
    let b = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
    ("Authorization", format!("Basic {b}"))
}

fn taxii_h() -> Vec<(&'static str, String)> {
    vec![
        ("Accept", TAXII.to_owned()),
        ("Content-Type", TAXII.to_owned()),
    ]
}

fn fill(template: &str, coll: &str) -> String {
    template
        .replace("{name}", "pdo")
        .replace("{key}", "x")
        .replace("{api_root}", "tiaki")
        .replace("{collection_id}", coll)
        .replace(
            "{object_id}",
            "indicator--00000000-0000-4000-8000-000000000001",
        )
        .replace("{status_id}", "00000000-0000-4000-8000-000000000000")
}

/// Every TAXII route but discovery, `(method, path template)`.
const TAXII_ROUTES: &[(&str, &str)] = &[
    ("GET", "/taxii2/{api_root}/"),
    ("GET", "/taxii2/{api_root}/status/{status_id}/"),
    ("GET", "/taxii2/{api_root}/collections/"),
    ("GET", "/taxii2/{api_root}/collections/{collection_id}/"),
    (
        "GET",
        "/taxii2/{api_root}/collections/{collection_id}/objects/",
    ),
    (
        "POST",
        "/taxii2/{api_root}/collections/{collection_id}/objects/",
    ),
    (
        "GET",
        "/taxii2/{api_root}/collections/{collection_id}/objects/{object_id}/",
    ),
    (
        "DELETE",
        "/taxii2/{api_root}/collections/{collection_id}/objects/{object_id}/",
    ),
    (
        "GET",
        "/taxii2/{api_root}/collections/{collection_id}/objects/{object_id}/versions/",
    ),
    (
        "GET",
        "/taxii2/{api_root}/collections/{collection_id}/manifest/",
    ),
];

fn envelope(objects: Vec<Value>) -> Vec<u8> {
    json!({ "objects": objects }).to_string().into_bytes()
}

fn indicator(n: u32, modified: &str, marking: Option<&str>) -> Value {
    let mut o = json!({"type": "indicator", "spec_version": "2.1",
        "id": format!("indicator--00000000-0000-4000-8000-{n:012}"),
        "created": "2025-01-01T00:00:00.000Z", "modified": modified, "pattern_type": "stix",
        "pattern": "[ipv4-addr:value = '198.51.100.7']", "valid_from": "2025-01-01T00:00:00Z"});
    if let Some(m) = marking {
        o["object_marking_refs"] = json!([m]);
    }
    o
}

fn assert_taxii_error(r: &Got, status: u16, what: &str) {
    assert_eq!(r.status, status, "{what}: {}", r.body);
    assert_eq!(r.header("content-type"), TAXII, "{what}");
    assert_eq!(r.json()["http_status"], status.to_string(), "{what}");
}

#[test]
fn every_route_but_discovery_needs_a_credential() {
    let (s, _keep) = start();
    // TAXII: discovery is public, everything else 401 with WWW-Authenticate and a TAXII body,
    // with no credential, a wrong token, a wrong user name, a malformed header.
    assert_eq!(
        s.req("GET", "/taxii2/", &[("Accept", TAXII.into())], b"")
            .status,
        200
    );
    let wrong: Vec<Vec<(&str, String)>> = vec![
        vec![],
        vec![bearer("tiaki_nope_nope")],
        vec![basic("writer", "tiaki_nope_nope")],
        vec![basic("reader", &s.writer.1)],
        vec![("Authorization", "Basic !!!".into())],
        vec![("Authorization", "Digest x".into())],
        vec![cookie_h("tiakis_nope_nope")],
    ];
    for (method, path) in TAXII_ROUTES {
        let url = fill(path, &s.rw);
        for creds in &wrong {
            let mut h = taxii_h();
            h.extend(creds.iter().cloned());
            let r = s.req(method, &url, &h, &envelope(vec![]));
            assert_taxii_error(&r, 401, &format!("{method} {url} {creds:?}"));
            assert!(r.header("www-authenticate").starts_with("Basic realm="));
        }
    }
    // API: every route of the router's table (the OpenAPI document's), 401 JSON.
    for (method, path) in tiaki_server::api::ROUTES {
        let url = fill(path, "");
        for creds in &wrong {
            let mut h = vec![("Content-Type", "application/json".to_owned())];
            h.extend(creds.iter().cloned());
            let r = s.req(
                &method.to_uppercase(),
                &url,
                &h,
                br#"{"text":"x","verdict":"tp"}"#,
            );
            assert_eq!(r.status, 401, "{method} {url} {creds:?}: {}", r.body);
            assert!(r.json()["error"].is_string(), "{method} {url}");
            assert!(r.header("www-authenticate").starts_with("Bearer"));
        }
    }
    // An unknown API path needs no credential to be told it is unknown, and says nothing.
    assert_eq!(s.req("GET", "/api/v1/nope", &[], b"").status, 404);
    // Console: pages redirect to the log-in page; forms too (no session, no change); static
    // files and the log-in page are public.
    for (method, path) in tiaki_server::console::route_list() {
        let url = fill(&path, "");
        for creds in &wrong {
            let mut h = vec![form_type()];
            h.extend(creds.iter().cloned());
            let r = s.req(method, &url, &h, b"csrf=x&text=x&verdict=tp");
            let public = url == "/login" || url.starts_with("/static/") || url == "/favicon.ico";
            if public && method == "GET" {
                assert_eq!(r.status, 200, "{method} {url}");
            } else if url == "/login" {
                // A log-in without a right token: 401 (the form again).
                assert_eq!(r.status, 401, "{method} {url}: {}", r.body);
            } else if url == "/logout" {
                assert!(
                    r.status == 303 || r.status == 403,
                    "{method} {url} {creds:?}: {}",
                    r.status
                );
            } else {
                assert_eq!(r.status, 302, "{method} {url} {creds:?}");
                assert!(
                    r.header("location").starts_with("/login?next="),
                    "{method} {url}"
                );
            }
        }
    }
    // Nothing changed: no note was added.
    let notes = s.req("GET", "/api/v1/cases/pdo/notes", &[bearer(&s.boss.1)], b"");
    assert_eq!(notes.json()["notes"], json!([]));
}

#[test]
fn read_only_users_cannot_change_anything() {
    let (s, _keep) = start();
    // API writes: 403 for the reader (bearer, Basic and session with the CSRF header).
    let cookie = s.login(&s.reader);
    let csrf = s.csrf(&cookie);
    for (method, path) in tiaki_server::api::ROUTES
        .iter()
        .filter(|(m, _)| *m != "get")
    {
        let url = fill(path, "");
        for creds in [
            vec![bearer(&s.reader.1)],
            vec![basic("reader", &s.reader.1)],
            vec![cookie_h(&cookie), ("X-CSRF-Token", csrf.clone())],
        ] {
            let mut h = vec![("Content-Type", "application/json".to_owned())];
            h.extend(creds);
            let r = s.req(
                &method.to_uppercase(),
                &url,
                &h,
                br#"{"text":"x","verdict":"tp"}"#,
            );
            assert_eq!(r.status, 403, "{method} {url}: {}", r.body);
        }
    }
    // Console forms: 403 for the reader with a valid CSRF token.
    for (method, path) in tiaki_server::console::route_list() {
        if method != "POST" || path == "/login" || path == "/logout" {
            continue;
        }
        let r = s.req(
            method,
            &fill(&path, ""),
            &[form_type(), cookie_h(&cookie)],
            format!("csrf={csrf}&text=x&verdict=tp").as_bytes(),
        );
        assert_eq!(r.status, 403, "{path}: {}", r.body);
    }
    // TAXII: the reader has a read+write grant on `rw`, but writing needs the write role.
    let env = envelope(vec![indicator(1, "2025-01-01T00:00:00.000Z", None)]);
    let mut h = taxii_h();
    h.push(basic("reader", &s.reader.1));
    let r = s.req("POST", &fill(TAXII_ROUTES[5].1, &s.rw), &h, &env);
    assert_taxii_error(&r, 403, "reader POST");
    let r = s.req("DELETE", &fill(TAXII_ROUTES[7].1, &s.rw), &h, b"");
    assert_taxii_error(&r, 403, "reader DELETE");
    let r = s.req("GET", &fill(TAXII_ROUTES[3].1, &s.rw), &h, b"");
    assert_eq!(r.json()["can_write"], false);
    // Nothing changed.
    let notes = s.req("GET", "/api/v1/cases/pdo/notes", &[bearer(&s.boss.1)], b"");
    assert_eq!(notes.json()["notes"], json!([]));
    let mut h = taxii_h();
    h.push(basic("boss", &s.boss.1));
    let objs = s.req("GET", &fill(TAXII_ROUTES[4].1, &s.rw), &h, b"");
    assert_eq!((objs.status, objs.json().get("objects")), (200, None));
    // The writer can (the denials above are about the role, not the request).
    let mut h = taxii_h();
    h.push(basic("writer", &s.writer.1));
    assert_eq!(
        s.req("POST", &fill(TAXII_ROUTES[5].1, &s.rw), &h, &env)
            .status,
        202
    );
}

#[test]
fn collection_permissions_are_enforced_on_every_collection_route() {
    let (s, _keep) = start();
    let mut h = taxii_h();
    h.push(basic("writer", &s.writer.1));
    let env = envelope(vec![indicator(1, "2025-01-01T00:00:00.000Z", None)]);
    // Put an object in every collection (as the admin) so "not found" is about access.
    let mut admin = taxii_h();
    admin.push(basic("boss", &s.boss.1));
    for c in [&s.rw, &s.ro, &s.wo, &s.hidden] {
        assert_eq!(
            s.req("POST", &fill(TAXII_ROUTES[5].1, c), &admin, &env)
                .status,
            202
        );
    }
    let collection_routes = &TAXII_ROUTES[3..];
    for (method, path) in collection_routes {
        // No grant: the collection does not exist for this user (404).
        let r = s.req(method, &fill(path, &s.hidden), &h, &env);
        assert_taxii_error(&r, 404, &format!("hidden {method} {path}"));
        let writes = *method != "GET";
        let reads = *method == "GET" || *method == "DELETE";
        let describe = path.ends_with("{collection_id}/");
        // Read-only grant: writes are 403.
        let r = s.req(method, &fill(path, &s.ro), &h, &env);
        if writes {
            assert_taxii_error(&r, 403, &format!("ro {method} {path}"));
        } else {
            assert_eq!(r.status, 200, "ro {method} {path}: {}", r.body);
        }
        // Write-only grant: reads are 403 (the description itself is visible).
        let r = s.req(method, &fill(path, &s.wo), &h, &env);
        if reads && !describe {
            assert_taxii_error(&r, 403, &format!("wo {method} {path}"));
        } else {
            assert!(r.status == 200 || r.status == 202, "wo {method} {path}");
        }
    }
    // The list shows only the granted collections.
    let r = s.req("GET", &fill(TAXII_ROUTES[2].1, ""), &h, b"");
    let ids: Vec<String> = r.json()["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, vec![s.rw.clone(), s.ro.clone(), s.wo.clone()]);
    // A status resource of a collection the user cannot see is a 404.
    let posted = s.req("POST", &fill(TAXII_ROUTES[5].1, &s.hidden), &admin, &env);
    let status = posted.json()["id"].as_str().unwrap().to_owned();
    let r = s.req("GET", &format!("/taxii2/tiaki/status/{status}/"), &h, b"");
    assert_taxii_error(&r, 404, "status of a hidden collection");
}

/// Sets a collection's stored TLP ceiling behind the store's back (what a hand edit of the
/// database, an older build, or a future bug could do).
fn set_ceiling(db: &std::path::Path, id: &str, label: &str) {
    let c = rusqlite::Connection::open(db).unwrap();
    let n = c
        .execute(
            "UPDATE taxii_collections SET max_tlp = ?1 WHERE id = ?2",
            [label, id],
        )
        .unwrap();
    assert_eq!(n, 1, "collection {id} not found");
}

#[test]
fn tlp_red_is_never_served() {
    let (keep, db, server) = prepare();
    // Two collections with RED objects in them. The store refuses a RED ceiling, so both get
    // one behind its back before the objects go in; the second is then set back to
    // AMBER+STRICT, leaving RED objects under a lower ceiling.
    let red = Tlp::Red.marking_id();
    let red_v1 = Tlp::Red.marking_id_v1().unwrap();
    let amber = Tlp::AmberStrict.marking_id();
    let mut granular = indicator(5, "2025-01-01T00:00:00.000Z", Some(amber));
    granular["granular_markings"] = json!([{"marking_ref": red, "selectors": ["pattern"]}]);
    let objects = vec![
        indicator(1, "2025-01-01T00:00:00.000Z", Some(amber)),
        indicator(2, "2025-01-01T00:00:00.000Z", Some(red)),
        indicator(3, "2025-01-01T00:00:00.000Z", Some(red_v1)),
        indicator(4, "2025-01-01T00:00:00.000Z", Some(amber)),
        indicator(4, "2025-02-01T00:00:00.000Z", Some(red)),
        granular,
        indicator(6, "2025-01-01T00:00:00.000Z", None),
    ];
    let (red_coll, edited) = {
        let mut s = CaseStore::open(&db).unwrap();
        let mut coll = |title: &str| {
            let c = s
                .create_collection(NewCollection {
                    title: title.into(),
                    description: String::new(),
                    alias: None,
                    max_tlp: Tlp::AmberStrict,
                })
                .unwrap()
                .id;
            set_ceiling(&db, &c, Tlp::Red.label());
            let st = s.add_objects(&c, &objects).unwrap();
            assert_eq!(st.success_count, 7, "{st:?}");
            c
        };
        (coll("red"), coll("edited"))
    };
    set_ceiling(&db, &edited, Tlp::AmberStrict.label());
    let (s, _keep) = start_with(server, keep, unlimited());
    let mut h = taxii_h();
    h.push(basic("boss", &s.boss.1));
    // The admin sees every collection but the RED one, and it answers 403 to everything.
    let list = s.req("GET", "/taxii2/tiaki/collections/", &h, b"");
    assert!(!list.body.contains(&red_coll), "{}", list.body);
    for (method, path) in &TAXII_ROUTES[3..] {
        let r = s.req(method, &fill(path, &red_coll), &h, &envelope(vec![]));
        assert_taxii_error(&r, 403, &format!("RED collection {method} {path}"));
    }
    // Posting RED to the highest ceiling allowed (AMBER+STRICT) is refused per object.
    let r = s.req(
        "POST",
        &fill(TAXII_ROUTES[5].1, &s.rw),
        &h,
        &envelope(objects[1..3].to_vec()),
    );
    assert_eq!(
        (r.status, r.json()["success_count"].as_u64()),
        (202, Some(0)),
        "{}",
        r.body
    );
    let coll = |rest: &str| format!("/taxii2/tiaki/collections/{edited}/{rest}");
    let ids = |r: &Got, key: &str| -> Vec<String> {
        r.json()[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|o| o["id"].as_str().unwrap_or("").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let id = |n: u32| format!("indicator--00000000-0000-4000-8000-{n:012}");
    // Objects and manifest, last and all versions: never a RED one.
    for q in [
        "",
        "?match[version]=all",
        "?match[version]=first",
        "?limit=2",
    ] {
        for rest in ["objects/", "manifest/"] {
            let r = s.req("GET", &coll(&format!("{rest}{q}")), &h, b"");
            assert_eq!(r.status, 200, "{rest}{q}");
            assert!(!r.body.contains(red), "{rest}{q}: {}", r.body);
            assert!(!r.body.contains(red_v1), "{rest}{q}: {}", r.body);
            for n in [2, 3, 5] {
                assert!(
                    !ids(&r, "objects").contains(&id(n)),
                    "{rest}{q}: {}",
                    r.body
                );
            }
        }
    }
    let all = s.req("GET", &coll("objects/?match[version]=all"), &h, b"");
    assert_eq!(ids(&all, "objects"), vec![id(1), id(4), id(6)]);
    let manifest = s.req("GET", &coll("manifest/?match[version]=all"), &h, b"");
    assert_eq!(ids(&manifest, "objects"), vec![id(1), id(4), id(6)]);
    // By id and versions: a RED object is not there; a RED version of another is left out.
    for n in [2, 3, 5] {
        for rest in ["", "versions/"] {
            let r = s.req("GET", &coll(&format!("objects/{}/{rest}", id(n))), &h, b"");
            assert_taxii_error(&r, 404, &format!("object {n} {rest}"));
        }
    }
    let v = s.req(
        "GET",
        &coll(&format!("objects/{}/versions/", id(4))),
        &h,
        b"",
    );
    assert_eq!(v.json()["versions"], json!(["2025-01-01T00:00:00.000Z"]));
    let one = s.req(
        "GET",
        &coll(&format!("objects/{}/?match[version]=all", id(4))),
        &h,
        b"",
    );
    assert_eq!(one.json()["objects"].as_array().unwrap().len(), 1);
    assert!(!one.body.contains(red));
    // Its last version is RED: by id without a filter it is not there.
    let last = s.req("GET", &coll(&format!("objects/{}/", id(4))), &h, b"");
    assert_taxii_error(&last, 404, "object 4, last version RED");
}

/// The headers every response carries.
fn assert_security_headers(r: &Got, what: &str) {
    assert_eq!(
        r.header("content-security-policy"),
        tiaki_server::console::CSP,
        "{what}"
    );
    assert_eq!(r.header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(r.header("x-frame-options"), "DENY", "{what}");
    assert_eq!(r.header("referrer-policy"), "no-referrer", "{what}");
    assert!(
        r.header("content-security-policy")
            .contains("frame-ancestors 'none'")
    );
    let cache = r.header("cache-control");
    assert!(
        cache == "no-store" || cache == "no-cache",
        "{what}: {cache}"
    );
}

/// A request and the status it should get: method, path, headers, body, status.
type Case = (
    &'static str,
    String,
    Vec<(&'static str, String)>,
    Vec<u8>,
    u16,
);

#[test]
fn security_headers_on_every_response_and_413_in_each_format() {
    let (keep, _, server) = prepare();
    let (s, _keep) = start_with(
        server,
        keep,
        tiaki_server::ServerConfig {
            secure_cookies: true,
            ..unlimited()
        },
    );
    let cookie = s.login(&s.writer);
    let csrf = s.csrf(&cookie);
    let big = "x".repeat(MAX_BODY + 1);
    let cases: Vec<Case> = vec![
        ("GET", "/".into(), vec![cookie_h(&cookie)], vec![], 200),
        (
            "GET",
            "/cases/pdo/timeline".into(),
            vec![cookie_h(&cookie)],
            vec![],
            200,
        ),
        (
            "GET",
            "/cases/nope".into(),
            vec![cookie_h(&cookie)],
            vec![],
            404,
        ),
        ("GET", "/no/such/page".into(), vec![], vec![], 404),
        ("GET", "/".into(), vec![], vec![], 302),
        ("GET", "/login".into(), vec![], vec![], 200),
        ("GET", "/static/console.js".into(), vec![], vec![], 200),
        ("GET", "/static/console.css".into(), vec![], vec![], 200),
        ("GET", "/favicon.ico".into(), vec![], vec![], 200),
        (
            "POST",
            "/login".into(),
            vec![form_type()],
            b"user=writer&token=tiaki_bad_bad".to_vec(),
            401,
        ),
        (
            "POST",
            "/cases/pdo/notes".into(),
            vec![form_type(), cookie_h(&cookie)],
            b"csrf=wrong&text=x".to_vec(),
            403,
        ),
        (
            "POST",
            "/cases/pdo/notes".into(),
            vec![form_type(), cookie_h(&cookie)],
            format!("csrf={csrf}&text={big}").into_bytes(),
            413,
        ),
        (
            "POST",
            "/login".into(),
            vec![form_type()],
            format!("user=writer&token={big}").into_bytes(),
            413,
        ),
        (
            "POST",
            "/cases/pdo/detections/x/verdict".into(),
            vec![form_type(), cookie_h(&cookie)],
            format!("csrf={csrf}&verdict=tp&reason={big}").into_bytes(),
            413,
        ),
        ("PUT", "/".into(), vec![], vec![], 405),
        ("GET", "/api/v1/cases".into(), vec![], vec![], 401),
        (
            "POST",
            "/api/v1/cases/pdo/notes".into(),
            vec![
                bearer(&s.writer.1),
                ("Content-Type", "application/json".into()),
            ],
            json!({ "text": big }).to_string().into_bytes(),
            413,
        ),
        ("GET", "/taxii2/".into(), vec![], vec![], 200),
        (
            "GET",
            "/taxii2/nope/deeper/path/".into(),
            vec![],
            vec![],
            404,
        ),
        ("GET", "/taxii2/tiaki/".into(), vec![], vec![], 401),
    ];
    for (method, path, headers, body, status) in cases {
        let r = s.req(method, &path, &headers, &body);
        let what = format!("{method} {path}");
        assert_eq!(
            r.status,
            status,
            "{what}: {}",
            &r.body[..r.body.len().min(300)]
        );
        assert_security_headers(&r, &what);
        assert_eq!(r.header("strict-transport-security"), tiaki_server::HSTS);
        if path.starts_with("/api/") {
            assert!(r.json()["error"].is_string(), "{what}");
        } else if path.starts_with("/taxii2/") {
            assert_eq!(r.header("content-type"), TAXII, "{what}");
        } else if status >= 400 && status != 405 {
            assert!(r.header("content-type").starts_with("text/html"), "{what}");
        }
        // Authenticated console pages and every error are not cached.
        if !path.starts_with("/static/") && path != "/favicon.ico" {
            assert_eq!(r.header("cache-control"), "no-store", "{what}");
        }
    }
    // TAXII 413 with a TAXII error body (also when the body has no declared length).
    let mut h = taxii_h();
    h.push(basic("writer", &s.writer.1));
    let body = json!({"objects": [{"type": "note", "content": big}]}).to_string();
    let r = s.req("POST", &fill(TAXII_ROUTES[5].1, &s.rw), &h, body.as_bytes());
    assert_taxii_error(&r, 413, "TAXII POST over the limit");
    assert_security_headers(&r, "TAXII 413");
    // Without secure cookies there is no HSTS (plain HTTP on loopback).
    let (s2, _k2) = start();
    assert_eq!(
        s2.req("GET", "/login", &[], b"")
            .header("strict-transport-security"),
        ""
    );
}

#[test]
fn request_rate_limit_answers_429_with_retry_after() {
    let (keep, _, server) = prepare();
    let (s, _keep) = start_with(
        server,
        keep,
        tiaki_server::ServerConfig {
            rate_per_sec: 1,
            rate_burst: 4,
            trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
            ..Default::default()
        },
    );
    let client = |n: u8| ("X-Forwarded-For", format!("203.0.113.{n}"));
    // One client: 4 requests, then 429 in each tree's format, with Retry-After.
    for _ in 0..4 {
        assert_eq!(s.req("GET", "/login", &[client(1)], b"").status, 200);
    }
    for (path, kind) in [
        ("/login", "html"),
        ("/api/v1/cases", "json"),
        ("/taxii2/", "taxii"),
    ] {
        let r = s.req("GET", path, &[client(1)], b"");
        assert_eq!(r.status, 429, "{path}");
        let wait: u64 = r.header("retry-after").parse().unwrap();
        assert!((1..=2).contains(&wait), "{wait}");
        assert_security_headers(&r, path);
        match kind {
            "json" => assert!(r.json()["error"].as_str().unwrap().contains("too many")),
            "taxii" => assert_taxii_error(&r, 429, path),
            _ => assert!(r.body.contains("Too Many Requests")),
        }
    }
    // Another client is not affected; the first gets a token back after a second.
    assert_eq!(s.req("GET", "/login", &[client(2)], b"").status, 200);
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(s.req("GET", "/login", &[client(1)], b"").status, 200);
    // An untrusted forwarder cannot pick its bucket: a client behind the proxy that sends its
    // own X-Forwarded-For is keyed by the address the proxy appended (the rightmost).
    let spoof = ("X-Forwarded-For", "198.51.100.1, 203.0.113.2".to_owned());
    let statuses: Vec<u16> = (0..5)
        .map(|_| {
            s.req("GET", "/login", std::slice::from_ref(&spoof), b"")
                .status
        })
        .collect();
    assert!(statuses.contains(&429), "{statuses:?}");
}

#[test]
fn failed_authentications_block_the_client_and_the_user_name() {
    let (keep, _, server) = prepare();
    let (s, _keep) = start_with(
        server,
        keep,
        tiaki_server::ServerConfig {
            auth_failures: 3,
            auth_window: Duration::from_secs(2),
            trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
            ..Default::default()
        },
    );
    let client = |n: u8| ("X-Forwarded-For", format!("203.0.113.{n}"));
    // Client 1: three wrong bearer tokens (successes in between do not count)...
    for _ in 0..3 {
        let ok = s.req(
            "GET",
            "/api/v1/cases",
            &[client(1), bearer(&s.writer.1)],
            b"",
        );
        assert_eq!(ok.status, 200);
        let r = s.req(
            "GET",
            "/api/v1/cases",
            &[client(1), bearer("tiaki_a_b")],
            b"",
        );
        assert_eq!(r.status, 401);
    }
    // ...then even the right token is refused, in each tree, with Retry-After.
    let r = s.req(
        "GET",
        "/api/v1/cases",
        &[client(1), bearer(&s.writer.1)],
        b"",
    );
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.header("retry-after").parse::<u64>().unwrap() <= 2);
    let mut h = taxii_h();
    h.extend([client(1), basic("writer", &s.writer.1)]);
    assert_taxii_error(
        &s.req("GET", "/taxii2/tiaki/", &h, b""),
        429,
        "blocked TAXII",
    );
    // Requests without a credential still work: discovery, the log-in page.
    assert_eq!(s.req("GET", "/taxii2/", &[client(1)], b"").status, 200);
    assert_eq!(s.req("GET", "/login", &[client(1)], b"").status, 200);
    // Another client is not blocked.
    assert_eq!(
        s.req(
            "GET",
            "/api/v1/cases",
            &[client(2), bearer(&s.writer.1)],
            b""
        )
        .status,
        200
    );
    // A user name: three failed log-ins for `reader` from three clients, then `reader` is
    // refused from a fourth (right token), while `writer` from that client is not.
    for n in 10..13 {
        let r = s.req(
            "POST",
            "/login",
            &[client(n), form_type()],
            b"user=reader&token=tiaki_wrong_wrong",
        );
        assert_eq!(r.status, 401);
    }
    let body = format!("user=reader&token={}", s.reader.1);
    let r = s.req(
        "POST",
        "/login",
        &[client(20), form_type()],
        body.as_bytes(),
    );
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(!r.header("retry-after").is_empty());
    let mut h = taxii_h();
    h.extend([client(21), basic("reader", &s.reader.1)]);
    assert_taxii_error(
        &s.req("GET", "/taxii2/tiaki/", &h, b""),
        429,
        "blocked user",
    );
    let body = format!("user=writer&token={}", s.writer.1);
    assert_eq!(
        s.req(
            "POST",
            "/login",
            &[client(20), form_type()],
            body.as_bytes()
        )
        .status,
        303
    );
    // Malformed Authorization headers and stale cookies count too.
    for creds in [
        ("Authorization", "Basic !!!".to_owned()),
        ("Authorization", "Negotiate abc".to_owned()),
        cookie_h("tiakis_stale_stale"),
    ] {
        let r = s.req("GET", "/api/v1/cases", &[client(30), creds], b"");
        assert_eq!(r.status, 401);
    }
    let r = s.req(
        "GET",
        "/api/v1/cases",
        &[client(30), bearer(&s.writer.1)],
        b"",
    );
    assert_eq!(r.status, 429);
    // The window passes: the client and the user name are let in again.
    std::thread::sleep(Duration::from_millis(2100));
    let r = s.req(
        "GET",
        "/api/v1/cases",
        &[client(1), bearer(&s.writer.1)],
        b"",
    );
    assert_eq!(r.status, 200);
    let body = format!("user=reader&token={}", s.reader.1);
    assert_eq!(
        s.req(
            "POST",
            "/login",
            &[client(20), form_type()],
            body.as_bytes()
        )
        .status,
        303
    );
}

#[test]
fn a_router_served_without_connect_info_still_works() {
    // The way the other test files served the router before the limits: every request is one
    // client (0.0.0.0), limited together.
    let (_keep, db, server) = prepare();
    let config = tiaki_server::ServerConfig {
        db,
        rate_per_sec: 1,
        rate_burst: 3,
        ..Default::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let app = tiaki_server::router(tiaki_server::state(config).unwrap());
    let l = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = l.local_addr().unwrap();
    rt.spawn(async move { axum::serve(l, app).await.unwrap() });
    let s = Server { addr, ..server };
    for _ in 0..3 {
        assert_eq!(s.req("GET", "/login", &[], b"").status, 200);
    }
    assert_eq!(s.req("GET", "/login", &[], b"").status, 429);
}

#[test]
fn partner_accounts_reach_taxii_only() {
    let (keep, db, server) = prepare();
    let token = {
        let mut st = CaseStore::open(&db).unwrap();
        st.upsert_user("cert-au", Role::Write).unwrap();
        st.set_user_partner("cert-au", true).unwrap();
        st.grant(
            "cert-au",
            &server.rw,
            Access {
                can_read: true,
                can_write: true,
            },
        )
        .unwrap();
        st.issue_token("cert-au", "taxii").unwrap()
    };
    let (s, _keep) = start_with(server, keep, unlimited());
    // TAXII works as for anyone with that grant: list, read, add.
    let mut h = taxii_h();
    h.push(basic("cert-au", &token));
    let list = s.req("GET", "/taxii2/tiaki/collections/", &h, b"");
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.body.contains(&s.rw) && !list.body.contains(&s.hidden));
    let objects = format!("/taxii2/tiaki/collections/{}/objects/", s.rw);
    assert_eq!(s.req("GET", &objects, &h, b"").status, 200);
    let posted = s.req(
        "POST",
        &objects,
        &h,
        &envelope(vec![indicator(
            9,
            "2025-01-01T00:00:00.000Z",
            Some(Tlp::Green.marking_id()),
        )]),
    );
    assert_eq!(posted.status, 202, "{}", posted.body);
    // The JSON API refuses it on every route, whatever the credential.
    for (method, path) in tiaki_server::api::ROUTES {
        let url = fill(path, &s.rw);
        for creds in [bearer(&token), basic("cert-au", &token)] {
            let r = s.req(
                &method.to_uppercase(),
                &url,
                &[creds, ("Content-Type", "application/json".to_owned())],
                br#"{"text":"x","verdict":"tp"}"#,
            );
            assert_eq!(r.status, 403, "{method} {url}: {}", r.body);
            assert!(r.body.contains("partner account"), "{}", r.body);
        }
    }
    // The console: the log-in form opens no session, and a bearer token opens no page.
    let body = format!("user=cert-au&token={token}&next=%2F");
    let r = s.req("POST", "/login", &[form_type()], body.as_bytes());
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.header("set-cookie").is_empty());
    assert!(r.body.contains("partner account"));
    for path in ["/", "/cases/pdo", "/cases/pdo/timeline"] {
        let r = s.req("GET", path, &[bearer(&token)], b"");
        assert_eq!(r.status, 403, "{path}: {}", r.body);
        assert!(!r.body.contains("Quiet Draft"), "{path} shows the case");
    }
}
