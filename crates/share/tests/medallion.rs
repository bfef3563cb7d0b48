//! The TAXII client against the OASIS reference server (medallion 3.0.0): push a tiaki export,
//! pull it back page by page, and check it came back unchanged.
//!
//! Needs the interop Python environment (`scripts/interop-env.sh`); fails without it.

mod common;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tiaki_share::{Auth, Filter, ShareError, TaxiiClient};
use tiaki_stix::Tlp;

const COLLECTION: &str = "365fed99-08fa-fdcd-a1b3-fb247eb41d01";
const USER: &str = "tiaki";
const PASSWORD: &str = "correct horse";

/// A medallion process, killed on drop.
struct Medallion {
    child: Child,
    dir: tempfile::TempDir,
    url: String,
}

impl Drop for Medallion {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Medallion {
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("medallion.log")).unwrap_or_default()
    }
}

fn medallion_script(py: &std::path::Path) -> PathBuf {
    let s = py
        .parent()
        .expect("python has a directory")
        .join("medallion");
    assert!(
        s.exists(),
        "{} not found: run `bash scripts/interop-env.sh`",
        s.display()
    );
    s
}

fn start(max_page_size: usize, max_content_length: usize) -> Medallion {
    let py = common::interop_python("medallion");
    let script = medallion_script(&py);
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let data = json!({
        "/discovery": {
            "title": "tiaki interop test server",
            "description": "medallion, memory backend",
            "contact": "nobody@example.invalid",
            "default": format!("{base}/api1/"),
            "api_roots": [format!("{base}/api1/")],
        },
        "api1": {
            "information": {
                "title": "partner exchange",
                "description": "one read/write collection",
                "versions": ["application/taxii+json;version=2.1"],
                "max_content_length": max_content_length,
            },
            "status": [],
            "collections": [{
                "id": COLLECTION,
                "title": "partners",
                "description": "read/write",
                "can_read": true,
                "can_write": true,
                "media_types": ["application/stix+json;version=2.1"],
                "objects": [],
                "manifest": [],
            }],
        },
    });
    let data_path = dir.path().join("data.json");
    std::fs::write(&data_path, serde_json::to_vec_pretty(&data).unwrap()).unwrap();
    let config = json!({
        "backend": {
            "module": "medallion.backends.memory_backend",
            "module_class": "MemoryBackend",
            "filename": data_path,
        },
        "users": { USER: PASSWORD },
        "taxii": { "max_page_size": max_page_size },
    });
    let config_path = dir.path().join("config.json");
    std::fs::write(&config_path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    let log = std::fs::File::create(dir.path().join("medallion.log")).unwrap();
    let child = Command::new(&script)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .arg(&config_path)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", script.display()));
    let mut m = Medallion {
        child,
        dir,
        url: format!("{base}/taxii2/"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let probe = TaxiiClient::new(&m.url, Auth::Basic(USER.into(), PASSWORD.into()))
        .unwrap()
        .with_timeout(Duration::from_secs(2));
    loop {
        if probe.discovery().is_ok() {
            return m;
        }
        if let Ok(Some(st)) = m.child.try_wait() {
            panic!("medallion exited with {st}:\n{}", m.log());
        }
        assert!(
            Instant::now() < deadline,
            "medallion did not answer:\n{}",
            m.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn client(m: &Medallion) -> TaxiiClient {
    TaxiiClient::new(&m.url, Auth::Basic(USER.into(), PASSWORD.into()))
        .unwrap()
        .with_timeout(Duration::from_secs(20))
        .with_status_timeout(Duration::from_secs(20))
}

#[test]
fn push_then_pull_round_trips_a_case() {
    let m = start(5, 16 * 1024);
    let c = client(&m);
    let d = c.discovery().unwrap();
    assert_eq!(d.title, "tiaki interop test server");
    assert!(c.api_root_url().unwrap().ends_with("/api1/"));
    assert_eq!(c.api_root().unwrap().max_content_length, 16 * 1024);
    let cols = c.collections().unwrap();
    assert_eq!(cols.len(), 1);
    assert!(cols[0].can_write);

    let e = common::export_fixture("quiet-draft", Tlp::Amber, "2026-02-12T10:00:00Z");
    let pushed = e.objects().to_vec();
    assert!(pushed.len() > 20, "{}", pushed.len());
    let st = c.add_objects(COLLECTION, &pushed).unwrap();
    assert_eq!(st.total as usize, pushed.len(), "{st:?}");
    assert_eq!(st.success, st.total, "{st:?}\n{}", m.log());
    assert_eq!(st.failure, 0);
    assert!(
        st.status_ids.len() > 1,
        "16 KiB max_content_length must split the push"
    );

    // Pages of 5 (the server caps `limit` at max_page_size too).
    let pulled = c
        .get_objects(
            COLLECTION,
            &Filter {
                limit: Some(5),
                ..Filter::default()
            },
        )
        .unwrap();
    assert_eq!(pulled.objects.len(), pushed.len());
    for o in &pushed {
        let back = pulled
            .objects
            .iter()
            .find(|b| b["id"] == o["id"])
            .unwrap_or_else(|| panic!("{} did not come back", o["id"]));
        assert_eq!(back, o, "{} changed on the way", o["id"]);
    }
    let last = pulled.last_added.clone().expect("X-TAXII-Date-Added-Last");

    // Incremental pull: nothing added after the last object.
    let again = c
        .get_objects(
            COLLECTION,
            &Filter {
                added_after: Some(last),
                limit: Some(5),
                ..Filter::default()
            },
        )
        .unwrap();
    assert!(
        again.objects.is_empty(),
        "{:?}",
        common::ids(&again.objects)
    );

    // Filters: type, and id (comma-ORed).
    let inds = c
        .get_objects(
            COLLECTION,
            &Filter {
                types: vec!["indicator".into(), "sighting".into()],
                limit: Some(2),
                ..Filter::default()
            },
        )
        .unwrap();
    let want = pushed
        .iter()
        .filter(|o| o["type"] == "indicator" || o["type"] == "sighting")
        .count();
    assert_eq!(inds.objects.len(), want);
    let some: Vec<String> = common::ids(&pushed).into_iter().take(3).collect();
    let by_id = c
        .get_objects(
            COLLECTION,
            &Filter {
                ids: some.clone(),
                ..Filter::default()
            },
        )
        .unwrap();
    assert_eq!(by_id.objects.len(), 3);

    // Pushing the same versions again: the server refuses them as duplicates, which is a
    // status, not an error.
    let dup = c.add_objects(COLLECTION, &pushed[..4]).unwrap();
    assert_eq!(dup.total, 4);
    assert_eq!(dup.success + dup.failure, 4);

    // A later export of the same case is a new version of the same objects.
    let later = common::export_fixture("quiet-draft", Tlp::Amber, "2026-02-13T10:00:00Z");
    let v2: Vec<Value> = later
        .objects()
        .iter()
        .filter(|o| o["type"] == "indicator")
        .cloned()
        .collect();
    let st2 = c.add_objects(COLLECTION, &v2).unwrap();
    assert_eq!(st2.success as usize, v2.len(), "{st2:?}");
    let latest = c
        .get_objects(
            COLLECTION,
            &Filter {
                ids: common::ids(&v2),
                ..Filter::default()
            },
        )
        .unwrap();
    assert!(
        latest
            .objects
            .iter()
            .all(|o| o["modified"] == "2026-02-13T10:00:00.000Z")
    );
}

#[test]
fn server_errors_name_url_status_and_reason() {
    let m = start(100, 10_000_000);
    let bad = TaxiiClient::new(&m.url, Auth::Basic(USER.into(), "wrong".into())).unwrap();
    let err = bad.collections().unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ShareError::Http { status: 401, .. }), "{msg}");
    assert!(msg.contains("/taxii2/"), "{msg}");

    let c = client(&m);
    let err = c
        .get_objects("00000000-0000-4000-8000-000000000000", &Filter::default())
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ShareError::Http { status: 404, .. }), "{msg}");
    assert!(
        msg.contains("/collections/00000000-0000-4000-8000-000000000000/objects/"),
        "{msg}"
    );

    // Nothing listens here any more: a transport error naming the URL, quickly.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let gone = TaxiiClient::new(&format!("http://127.0.0.1:{port}/taxii2/"), Auth::None)
        .unwrap()
        .with_timeout(Duration::from_secs(3));
    let err = gone.discovery().unwrap_err();
    assert!(matches!(err, ShareError::Transport { .. }), "{err}");
}
