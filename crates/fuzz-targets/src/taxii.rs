//! The TAXII 2.1 server's request handlers, reached through the whole axum router of
//! `tiaki serve` (authentication, routing, body limit, query and header parsing, the case
//! store behind it), without a socket.
//!
//! Why the router and not the handlers: that is what a partner's request meets. Why a text
//! request format with placeholders: collection ids and tokens are random per store, and a
//! fuzzer could never guess them; the seeds name them (`{COLL}`, `{TOKEN}`) and the fuzzer
//! mutates everything else.

use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, Request, Uri};
use base64::Engine as _;
use tiaki_stix::tlp::Tlp;
use tiaki_store::CaseStore;
use tiaki_store::auth::{Access, Role};
use tiaki_store::taxii::NewCollection;
use tower::ServiceExt as _;

use crate::MAX_INPUT;

/// Largest request body the fuzzed server accepts (`--max-body-mib`, small here).
const MAX_BODY: usize = 256 * 1024;

/// The server under test: a case store in a temporary directory with one writer (`ana`,
/// with a token), a collection she may read and write (TLP:AMBER ceiling), one she may only
/// read (TLP:GREEN), one she may not see, and the router over it on a current-thread
/// runtime. Built once per process: requests that write (add, delete objects) change it,
/// as they would a real server.
struct Fixture {
    rt: tokio::runtime::Runtime,
    app: Router,
    /// Placeholder → value, substituted in the request text.
    subs: Vec<(&'static str, String)>,
    _dir: tempfile::TempDir,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = dir.path().join("case.db");
        let mut s = CaseStore::open(&db).expect("a new case store");
        s.upsert_user("ana", Role::Write).expect("user");
        let token = s.issue_token("ana", "fuzz").expect("token");
        let mut coll = |title: &str, max_tlp: Tlp, access: Option<Access>| {
            let c = s
                .create_collection(NewCollection {
                    title: title.into(),
                    description: String::new(),
                    alias: None,
                    max_tlp,
                })
                .expect("collection");
            if let Some(a) = access {
                s.grant("ana", &c.id, a).expect("grant");
            }
            c.id
        };
        let rw = coll(
            "rw",
            Tlp::Amber,
            Some(Access {
                can_read: true,
                can_write: true,
            }),
        );
        let ro = coll(
            "ro",
            Tlp::Green,
            Some(Access {
                can_read: true,
                can_write: false,
            }),
        );
        let hidden = coll("hidden", Tlp::Amber, None);
        drop(s);
        let config = tiaki_server::ServerConfig {
            db,
            title: "tiaki fuzz".into(),
            max_body: MAX_BODY,
            connections: 2,
            // No request rate or failed-authentication limits: the fuzzer is one client
            // sending thousands of requests a second, many with bad credentials.
            rate_per_sec: 0,
            auth_failures: 0,
            ..tiaki_server::ServerConfig::default()
        };
        let app = tiaki_server::router(tiaki_server::state(config).expect("server state"));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("ana:{token}"));
        Fixture {
            rt,
            app,
            subs: vec![
                ("{COLL}", rw),
                ("{COLL_RO}", ro),
                ("{COLL_HIDDEN}", hidden),
                ("{TOKEN}", token),
                ("{BASIC}", basic),
            ],
            _dir: dir,
        }
    })
}

/// A request decoded from fuzz bytes: `METHOD PATH?QUERY`, then `Name: value` header lines,
/// an empty line, and the body (bytes, as is). Placeholders are replaced in the request
/// line and headers. The path always starts with `/taxii2/` (the TAXII tree).
fn decode(data: &[u8], f: &Fixture) -> Option<Request<Body>> {
    let (head, body) = match find(data, b"\n\n") {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (data, &[][..]),
    };
    let head = String::from_utf8_lossy(head);
    let mut head = head.into_owned();
    for (k, v) in &f.subs {
        if head.contains(k) {
            head = head.replace(k, v);
        }
    }
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let first = lines.next().unwrap_or("");
    let (method, target) = first.split_once(' ').unwrap_or(("GET", first));
    let method = Method::from_bytes(method.as_bytes()).ok()?;
    let target = target.trim();
    let target = if target.starts_with("/taxii2/") {
        target.to_owned()
    } else {
        format!("/taxii2/{}", target.trim_start_matches('/'))
    };
    let uri = Uri::try_from(target).ok()?;
    let mut req = Request::builder().method(method).uri(uri);
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.trim().as_bytes()),
            HeaderValue::from_str(value.trim()),
        ) else {
            continue;
        };
        req = req.header(name, value);
    }
    req.body(Body::from(body.to_vec())).ok()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// One HTTP request to the TAXII 2.1 server (see `decode` for the text form of the input),
/// sent through the router with `oneshot`; the response body is read to the end. A 5xx
/// response is a failure: malformed requests are the client's fault (4xx).
pub fn taxii_request(data: &[u8]) {
    if data.len() > MAX_INPUT {
        return;
    }
    let f = fixture();
    let Some(req) = decode(data, f) else {
        return;
    };
    let desc = format!("{} {}", req.method(), req.uri());
    let app = f.app.clone();
    f.rt.block_on(async move {
        let resp = match app.oneshot(req).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
        let status = resp.status();
        let body = axum::body::to_bytes(resp.into_body(), 64 << 20)
            .await
            .unwrap_or_default();
        if crate::verbose() {
            eprintln!(
                "taxii_request: {desc}: {status} {}",
                String::from_utf8_lossy(&body[..body.len().min(200)])
            );
        }
        if status.is_server_error() {
            panic!(
                "{desc}: {status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(500)])
            );
        }
    });
}
