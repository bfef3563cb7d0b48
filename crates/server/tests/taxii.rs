//! The TAXII 2.1 server over real HTTP: an in-process server on a temporary case store,
//! spoken to with raw requests for what taxii2-client cannot provoke: 401 (with
//! `WWW-Authenticate`), 403, 404, 406, 413, 415 and 400, each with a TAXII error body and the
//! TAXII media type; pagination; `added_after`; versions; delete; the TLP ceiling.

use std::net::SocketAddr;

use serde_json::{Value, json};
use tiaki_stix::tlp::Tlp;
use tiaki_store::auth::{Access, Role};
use tiaki_store::taxii::NewCollection;

const TAXII: &str = "application/taxii+json;version=2.1";
const MAX_BODY: usize = 64 * 1024;

struct Server {
    base: String,
    token: String,
    rw: String,
    ro: String,
    wo: String,
    hidden: String,
    green: String,
    _rt: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("case.db");
    let mut s = tiaki_store::CaseStore::open(&db).unwrap();
    s.upsert_user("ana", Role::Write).unwrap();
    let token = s.issue_token("ana", "taxii test").unwrap();
    let mut coll = |title: &str, max_tlp: Tlp, read: bool, write: bool| {
        let c = s
            .create_collection(NewCollection {
                title: title.into(),
                description: String::new(),
                alias: None,
                max_tlp,
            })
            .unwrap();
        if read || write {
            let a = Access {
                can_read: read,
                can_write: write,
            };
            s.grant("ana", &c.id, a).unwrap();
        }
        c.id
    };
    let rw = coll("rw", Tlp::Amber, true, true);
    let ro = coll("ro", Tlp::Amber, true, false);
    let wo = coll("wo", Tlp::Amber, false, true);
    let hidden = coll("hidden", Tlp::Amber, false, false);
    let green = coll("green", Tlp::Green, true, true);
    drop(s);
    let config = tiaki_server::ServerConfig {
        db,
        title: "tiaki test".into(),
        max_body: MAX_BODY,
        connections: 2,
        secure_cookies: false,
        ..Default::default()
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
    let addr: SocketAddr = listener.local_addr().unwrap();
    rt.spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap()
    });
    Server {
        base: format!("http://{addr}/taxii2/"),
        token,
        rw,
        ro,
        wo,
        hidden,
        green,
        _rt: rt,
        _dir: dir,
    }
}

struct Reply {
    status: u16,
    content_type: String,
    headers: ureq::http::HeaderMap,
    body: Value,
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
    fn coll(&self, id: &str, rest: &str) -> String {
        self.url(&format!("tiaki/collections/{id}/{rest}"))
    }
    fn auth(&self) -> String {
        use base64::Engine as _;
        let b = base64::engine::general_purpose::STANDARD.encode(format!("ana:{}", self.token));
        format!("Basic {b}")
    }
    /// A request: `auth` adds Basic credentials, `body` makes it a POST.
    fn req(
        &self,
        method: &str,
        url: &str,
        auth: bool,
        hdrs: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Reply {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut b = ureq::http::Request::builder().method(method).uri(url);
        if auth {
            b = b.header("Authorization", self.auth());
        }
        for (k, v) in hdrs {
            b = b.header(*k, *v);
        }
        let mut resp = match body {
            Some(bytes) => agent.run(b.body(bytes.to_vec()).unwrap()),
            None => agent.run(b.body(()).unwrap()),
        }
        .unwrap();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        Reply {
            status: resp.status().as_u16(),
            content_type: header(resp.headers(), "content-type"),
            headers: resp.headers().clone(),
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        }
    }
    fn get(&self, url: &str) -> Reply {
        self.req("GET", url, true, &[("Accept", TAXII)], None)
    }
    fn post(&self, url: &str, body: &Value) -> Reply {
        let bytes = body.to_string();
        self.req(
            "POST",
            url,
            true,
            &[("Accept", TAXII), ("Content-Type", TAXII)],
            Some(bytes.as_bytes()),
        )
    }
}

fn header(h: &ureq::http::HeaderMap, name: &str) -> String {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

fn assert_error(r: &Reply, status: u16) {
    assert_eq!(r.status, status, "{:?}", r.body);
    assert_eq!(r.content_type, TAXII);
    assert!(
        r.body["title"].is_string(),
        "TAXII error body: {:?}",
        r.body
    );
    assert_eq!(r.body["http_status"], status.to_string());
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

#[test]
fn discovery_is_public_and_names_its_api_root_consistently() {
    let s = start();
    let r = s.req("GET", &s.url(""), false, &[("Accept", TAXII)], None);
    assert_eq!((r.status, r.content_type.as_str()), (200, TAXII));
    assert_eq!(r.body["title"], "tiaki test");
    let root = s.url("tiaki/");
    assert_eq!(r.body["default"], root);
    assert_eq!(r.body["api_roots"], json!([root]));
    let r = s.req(
        "GET",
        &s.url(""),
        false,
        &[("Accept", "application/taxii+json;version=2.0")],
        None,
    );
    assert_error(&r, 406);
}

#[test]
fn authentication_and_negotiation() {
    let s = start();
    for url in [
        s.url("tiaki/"),
        s.url("tiaki/collections/"),
        s.coll(&s.rw, "objects/"),
    ] {
        let r = s.req("GET", &url, false, &[("Accept", TAXII)], None);
        assert_error(&r, 401);
        assert!(header(&r.headers, "www-authenticate").starts_with("Basic realm=\"tiaki\""));
    }
    let bad = s.req(
        "GET",
        &s.url("tiaki/"),
        false,
        &[("Authorization", "Basic YW5hOm5vcGU=")],
        None,
    );
    assert_error(&bad, 401);
    let r = s.get(&s.url("tiaki/"));
    assert_eq!((r.status, r.content_type.as_str()), (200, TAXII));
    assert_eq!(r.body["versions"], json!([TAXII]));
    assert_eq!(r.body["max_content_length"], MAX_BODY);
    for accept in ["*/*", "application/taxii+json"] {
        assert_eq!(
            s.req("GET", &s.url("tiaki/"), true, &[("Accept", accept)], None)
                .status,
            200
        );
    }
    let r = s.req(
        "GET",
        &s.url("tiaki/"),
        true,
        &[("Accept", "application/json")],
        None,
    );
    assert_error(&r, 406);
    assert_error(&s.get(&s.url("nope/")), 404);
    assert_error(&s.get(&s.url("nope/collections/")), 404);
}

#[test]
fn collections_visibility_and_permissions() {
    let s = start();
    let r = s.get(&s.url("tiaki/collections/"));
    assert_eq!(r.status, 200);
    let cols = r.body["collections"].as_array().unwrap();
    let flags: Vec<(String, bool, bool)> = cols
        .iter()
        .map(|c| {
            (
                c["title"].as_str().unwrap().to_owned(),
                c["can_read"] == true,
                c["can_write"] == true,
            )
        })
        .collect();
    assert_eq!(
        flags,
        vec![
            ("rw".to_owned(), true, true),
            ("ro".to_owned(), true, false),
            ("wo".to_owned(), false, true),
            ("green".to_owned(), true, true),
        ]
    );
    assert_eq!(
        cols[0]["media_types"],
        json!(["application/stix+json;version=2.1"])
    );
    assert_eq!(s.get(&s.coll(&s.rw, "")).body["id"], s.rw);
    assert_error(&s.get(&s.coll(&s.hidden, "")), 404);
    assert_error(&s.get(&s.coll(&s.hidden, "objects/")), 404);
    assert_error(
        &s.get(&s.coll("6a3bd0c7-54b8-4a5b-a37a-5a0a4d5b3f15", "")),
        404,
    );
    assert_error(&s.get(&s.coll(&s.wo, "objects/")), 403);
    assert_error(&s.get(&s.coll(&s.wo, "manifest/")), 403);
    let env = json!({"objects": [indicator(1, "2025-01-01T00:00:00.000Z", None)]});
    assert_error(&s.post(&s.coll(&s.ro, "objects/"), &env), 403);
    assert_eq!(s.post(&s.coll(&s.wo, "objects/"), &env).status, 202);
    // 415, 413, 400.
    let body = env.to_string();
    let r = s.req(
        "POST",
        &s.coll(&s.rw, "objects/"),
        true,
        &[("Content-Type", "application/json")],
        Some(body.as_bytes()),
    );
    assert_error(&r, 415);
    let big = json!({"objects": [{"type": "note", "content": "x".repeat(MAX_BODY)}]}).to_string();
    let r = s.req(
        "POST",
        &s.coll(&s.rw, "objects/"),
        true,
        &[("Content-Type", TAXII)],
        Some(big.as_bytes()),
    );
    assert_error(&r, 413);
    assert_error(&s.post(&s.coll(&s.rw, "objects/"), &json!([1, 2])), 400);
    let r = s.req(
        "POST",
        &s.coll(&s.rw, "objects/"),
        true,
        &[("Content-Type", TAXII)],
        Some(b"{not json"),
    );
    assert_error(&r, 400);
}

#[test]
fn add_status_pagination_versions_and_delete() {
    let s = start();
    let objs: Vec<Value> = (1..=5)
        .map(|n| indicator(n, "2025-01-01T00:00:00.000Z", None))
        .collect();
    let r = s.post(&s.coll(&s.rw, "objects/"), &json!({ "objects": objs }));
    assert_eq!((r.status, r.content_type.as_str()), (202, TAXII));
    assert_eq!(
        (
            r.body["status"].as_str(),
            r.body["total_count"].as_u64(),
            r.body["success_count"].as_u64()
        ),
        (Some("complete"), Some(5), Some(5))
    );
    let st = s.get(&s.url(&format!("tiaki/status/{}/", r.body["id"].as_str().unwrap())));
    assert_eq!(st.body, r.body);
    assert_error(
        &s.get(&s.url("tiaki/status/00000000-0000-4000-8000-000000000000/")),
        404,
    );
    // Pages of 2: 3 pages, no duplicates, next always with more, date headers.
    let (mut seen, mut next, mut pages) = (vec![], None::<String>, 0);
    loop {
        let url = match &next {
            Some(n) => format!("{}?limit=2&next={n}", s.coll(&s.rw, "objects/")),
            None => format!("{}?limit=2", s.coll(&s.rw, "objects/")),
        };
        let r = s.get(&url);
        pages += 1;
        assert_eq!(r.status, 200);
        let page = r.body["objects"].as_array().unwrap();
        assert!(page.len() <= 2);
        assert!(!header(&r.headers, "x-taxii-date-added-first").is_empty());
        assert!(!header(&r.headers, "x-taxii-date-added-last").is_empty());
        seen.extend(page.iter().map(|o| o["id"].clone()));
        if r.body["more"] != true {
            break;
        }
        next = Some(r.body["next"].as_str().expect("next with more").to_owned());
    }
    assert_eq!((pages, seen.len()), (3, 5));
    let mut dedup = seen.clone();
    dedup.dedup();
    assert_eq!(dedup.len(), 5);
    // A cursor with other filters, bad limits and timestamps: 400.
    let url = format!(
        "{}?limit=2&next={}&match[type]=malware",
        s.coll(&s.rw, "objects/"),
        next.unwrap()
    );
    assert_error(&s.get(&url), 400);
    for q in [
        "limit=0",
        "limit=x",
        "added_after=yesterday",
        "match[version]=newest",
        "match[colour]=red",
    ] {
        assert_error(&s.get(&format!("{}?{q}", s.coll(&s.rw, "objects/"))), 400);
    }
    // added_after is exclusive.
    let r = s.get(&format!(
        "{}?match[type]=indicator",
        s.coll(&s.rw, "manifest/")
    ));
    let last = header(&r.headers, "x-taxii-date-added-last");
    assert_eq!(r.body["objects"].as_array().unwrap().len(), 5);
    let r = s.get(&format!("{}?added_after={last}", s.coll(&s.rw, "objects/")));
    assert_eq!((r.status, r.body.get("objects")), (200, None));
    // A second version: default last, all, first, versions endpoint.
    let id = objs[0]["id"].as_str().unwrap();
    let v2 = indicator(1, "2025-02-01T00:00:00.000Z", None);
    assert_eq!(
        s.post(&s.coll(&s.rw, "objects/"), &json!({"objects": [v2]}))
            .body["success_count"],
        1
    );
    let one = |q: &str| s.get(&format!("{}{q}", s.coll(&s.rw, &format!("objects/{id}/"))));
    assert_eq!(
        one("").body["objects"][0]["modified"],
        "2025-02-01T00:00:00.000Z"
    );
    assert_eq!(
        one("?match[version]=all").body["objects"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        one("?match[version]=first").body["objects"][0]["modified"],
        "2025-01-01T00:00:00.000Z"
    );
    assert_error(&one("?match[type]=indicator"), 400);
    let vs = s.get(&s.coll(&s.rw, &format!("objects/{id}/versions/")));
    assert_eq!(
        vs.body["versions"],
        json!(["2025-01-01T00:00:00.000Z", "2025-02-01T00:00:00.000Z"])
    );
    let missing = "indicator--00000000-0000-4000-8000-999999999999";
    assert_error(&s.get(&s.coll(&s.rw, &format!("objects/{missing}/"))), 404);
    assert_error(
        &s.get(&s.coll(&s.rw, &format!("objects/{missing}/versions/"))),
        404,
    );
    // Delete needs read and write; then the object is gone.
    let del = |coll: &str| {
        s.req(
            "DELETE",
            &s.coll(coll, &format!("objects/{id}/")),
            true,
            &[("Accept", TAXII)],
            None,
        )
    };
    assert_error(&del(&s.ro), 403);
    let r = del(&s.rw);
    assert_eq!((r.status, r.content_type.as_str()), (200, TAXII));
    assert_error(&one(""), 404);
    assert_error(&del(&s.rw), 404);
}

#[test]
fn objects_above_the_tlp_ceiling_are_refused() {
    let s = start();
    let amber = indicator(1, "2025-01-01T00:00:00.000Z", Some(Tlp::Amber.marking_id()));
    let green = indicator(2, "2025-01-01T00:00:00.000Z", Some(Tlp::Green.marking_id()));
    let red_v1 = indicator(3, "2025-01-01T00:00:00.000Z", Tlp::Red.marking_id_v1());
    let unmarked = indicator(4, "2025-01-01T00:00:00.000Z", None);
    let r = s.post(
        &s.coll(&s.green, "objects/"),
        &json!({"objects": [amber, green, red_v1, unmarked]}),
    );
    assert_eq!(r.status, 202);
    assert_eq!(
        (
            r.body["success_count"].as_u64(),
            r.body["failure_count"].as_u64()
        ),
        (Some(2), Some(2))
    );
    for f in r.body["failures"].as_array().unwrap() {
        assert!(
            f["message"]
                .as_str()
                .unwrap()
                .contains("above the collection's TLP ceiling"),
            "{f}"
        );
    }
    let got = s.get(&s.coll(&s.green, "objects/"));
    let ids: Vec<&str> = got.body["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![
            "indicator--00000000-0000-4000-8000-000000000002",
            "indicator--00000000-0000-4000-8000-000000000004",
        ]
    );
    // The AMBER collection takes the AMBER object.
    let amber = indicator(1, "2025-01-01T00:00:00.000Z", Some(Tlp::Amber.marking_id()));
    assert_eq!(
        s.post(&s.coll(&s.rw, "objects/"), &json!({"objects": [amber]}))
            .body["success_count"],
        1
    );
}
