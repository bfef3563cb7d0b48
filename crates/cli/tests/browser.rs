//! The console in a real browser: `tiaki hunt` fills a case store with the bundled APT40
//! scenario, `tiaki serve` serves it, and headless Chromium, driven through chromedriver over
//! the W3C WebDriver HTTP protocol (spoken with `ureq`), logs in with an API token and looks
//! at what an analyst would: the timeline table has rows, the attribution names APT40 (G0065),
//! the ATT&CK heat map has coloured cells (so the console's CSP lets the renderers' style
//! attributes through). A screenshot of the overview is written to
//! `<target>/browser/console.png` and its path printed.
//!
//! There is no skip: without chromedriver (Debian package `chromium-driver`, or
//! `TIAKI_CHROMEDRIVER`) the test fails and says what to install. Every process it starts is
//! killed by a drop guard, also when an assertion fails.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Kills (and reaps) a child process when dropped.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

mod common;
use common::CASE_HUNT;

fn workspace() -> PathBuf {
    common::repo()
}

fn tiaki(db: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_tiaki"))
        .current_dir(workspace())
        .arg("--store")
        .arg(db)
        .args(args)
        .output()
        .expect("run tiaki");
    assert!(
        out.status.success(),
        "tiaki {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn chromedriver() -> PathBuf {
    let p = std::env::var_os("TIAKI_CHROMEDRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromedriver"));
    assert!(
        p.is_file(),
        "chromedriver not found at {}: install Debian's `chromium-driver` package \
         (apt-get install chromium chromium-driver) or set TIAKI_CHROMEDRIVER. This test does not skip.",
        p.display()
    );
    p
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// A WebDriver session; deleted when dropped (before chromedriver's guard is).
struct Browser {
    base: String,
    session: String,
}

impl Browser {
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        wd(method, &url, body)
    }

    /// Navigates and waits until the new document has finished loading.
    fn open(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url })));
        self.wait_until("return document.readyState === 'complete'");
    }

    /// Polls `js` (a script returning a boolean) until it is true; a click that submits a
    /// form returns before the navigation it starts has finished, so every check after one
    /// waits for the page it expects. Panics after 20 s.
    fn wait_until(&self, js: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if self.script(js) == Value::Bool(true) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "waited 20 s for `{js}`; at {}",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn find(&self, css: &str) -> String {
        let v = self.call(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_owned()
    }

    fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.call(
            "POST",
            &format!("/element/{e}/value"),
            Some(json!({ "text": text })),
        );
    }

    fn click(&self, css: &str) {
        let e = self.find(css);
        self.call("POST", &format!("/element/{e}/click"), Some(json!({})));
    }

    fn script(&self, js: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({"script": js, "args": []})),
        )
    }

    fn url(&self) -> String {
        self.call("GET", "/url", None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let url = format!("{}/session/{}", self.base, self.session);
        let _ = agent().delete(&url).call();
    }
}

/// One WebDriver command; returns `value`, panics on a WebDriver error.
fn wd(method: &str, url: &str, body: Option<Value>) -> Value {
    let a = agent();
    let r = match (method, body) {
        ("GET", _) => a.get(url).call(),
        ("DELETE", _) => a.delete(url).call(),
        (_, b) => a
            .post(url)
            .header("Content-Type", "application/json")
            .send(b.unwrap_or(json!({})).to_string()),
    };
    let mut r = r.unwrap_or_else(|e| panic!("WebDriver {method} {url}: {e}"));
    let status = r.status().as_u16();
    let text = r.body_mut().read_to_string().unwrap();
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    assert!(status < 400, "WebDriver {method} {url}: {status} {text}");
    v["value"].clone()
}

#[test]
fn console_in_headless_chromium() {
    let driver_bin = chromedriver();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tiaki.db");

    tiaki(
        &db,
        &[
            CASE_HUNT,
            &[
                "--title",
                "PDO intrusion",
                "--sector",
                "government-national",
                "--country",
                "NZ",
            ],
        ]
        .concat(),
    );
    tiaki(&db, &["user", "add", "analyst", "--role", "write"]);
    let token = tiaki(&db, &["user", "token", "analyst"])
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    assert!(token.starts_with("tiaki_"), "token: {token:?}");

    // The server: its first stdout line gives the address.
    let mut server = Guard(
        Command::new(env!("CARGO_BIN_EXE_tiaki"))
            .current_dir(workspace())
            .arg("--store")
            .arg(&db)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tiaki serve"),
    );
    let mut first = String::new();
    BufReader::new(server.0.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let site = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line from tiaki serve: {first:?}"))
        .trim_end_matches('/')
        .to_owned();

    // chromedriver, ready when /status says so.
    let port = free_port();
    let _driver = Guard(
        Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    let base = format!("http://127.0.0.1:{port}");
    let start = Instant::now();
    loop {
        if let Ok(mut r) = agent().get(&format!("{base}/status")).call()
            && let Ok(t) = r.body_mut().read_to_string()
            && serde_json::from_str::<Value>(&t)
                .ok()
                .and_then(|v| v["value"]["ready"].as_bool())
                == Some(true)
        {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "chromedriver did not become ready"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut options = json!({
        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000"]
    });
    let chromium = std::env::var("TIAKI_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if Path::new(&chromium).is_file() {
        options["binary"] = json!(chromium);
    }
    let created = wd(
        "POST",
        &format!("{base}/session"),
        Some(json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": options}}})),
    );
    let b = Browser {
        base: base.clone(),
        session: created["sessionId"]
            .as_str()
            .expect("session id")
            .to_owned(),
    };

    // Log in.
    b.open(&format!("{site}/cases/pdo"));
    assert!(b.url().contains("/login"), "not logged in yet: {}", b.url());
    b.type_into("#user", "analyst");
    b.type_into("#token", &token);
    b.click("#login-submit");
    // Back on the case after log-in (the click returns before the redirect has landed).
    b.wait_until(
        "return location.pathname === '/cases/pdo' && document.readyState === 'complete' \
         && document.querySelector('#who') !== null",
    );
    let who = b.script("return document.querySelector('#who').textContent");
    assert!(
        who.as_str().unwrap_or_default().contains("G0065"),
        "key judgement: {who}"
    );

    // The screenshot of the overview.
    let png = b.call("GET", "/screenshot", None);
    let png = base64_decode(png.as_str().unwrap());
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap_or(Path::new("."))
        .join("browser");
    std::fs::create_dir_all(&shots).unwrap();
    let shot = shots.join("console.png");
    std::fs::write(&shot, &png).unwrap();
    println!("screenshot: {}", shot.display());

    // The timeline has rows.
    b.open(&format!("{site}/cases/pdo/timeline"));
    b.wait_until("return document.querySelector('#paging') !== null");
    // Rows and buttons counted in one script, so both see the same document.
    let counts = b.script(
        "return [document.querySelectorAll('#timeline tbody tr.det').length, \
         document.querySelectorAll('#timeline form.vform button.tp').length]",
    );
    let (rows, buttons) = (
        counts[0].as_u64().unwrap_or(0),
        counts[1].as_u64().unwrap_or(0),
    );
    assert!(rows > 0, "timeline rows: {counts}");
    assert_eq!(buttons, rows, "a writer sees a TP button per row");

    // The attribution names APT40 (G0065).
    b.open(&format!("{site}/cases/pdo/attribution"));
    let text = b.script("return document.querySelector('#attribution').textContent");
    let text = text.as_str().unwrap_or_default();
    assert!(
        text.contains("G0065") && text.contains("APT40"),
        "attribution: {}",
        &text[..text.len().min(600)]
    );

    // The heat map: cells with text and a colour (the CSP lets style attributes through).
    b.open(&format!("{site}/cases/pdo/attack"));
    let cells = b.script(
        "return Array.from(document.querySelectorAll('#heatmap .cell')).map(c => \
         [c.textContent.trim(), getComputedStyle(c).backgroundColor])",
    );
    let cells = cells.as_array().cloned().unwrap_or_default();
    assert!(!cells.is_empty(), "heat-map cells");
    for c in &cells {
        assert!(
            !c[0].as_str().unwrap_or_default().is_empty(),
            "empty cell {c}"
        );
        let bg = c[1].as_str().unwrap_or_default();
        assert!(
            bg != "rgba(0, 0, 0, 0)" && bg != "transparent",
            "uncoloured cell {c}"
        );
    }
    // No console errors (script errors, CSP violations) on the way.
    let logs = agent()
        .post(&format!("{base}/session/{}/se/log", b.session))
        .header("Content-Type", "application/json")
        .send(json!({"type": "browser"}).to_string());
    if let Ok(mut r) = logs
        && r.status().as_u16() < 400
    {
        let v: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap_or_default())
            .unwrap_or(Value::Null);
        let severe: Vec<&Value> = v["value"]
            .as_array()
            .map(|a| a.iter().filter(|e| e["level"] == "SEVERE").collect())
            .unwrap_or_default();
        assert!(severe.is_empty(), "browser errors: {severe:?}");
    }
    drop(b);
}

fn base64_decode(s: &str) -> Vec<u8> {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes() {
        let Some(v) = T.iter().position(|t| *t == c) else {
            continue;
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}
