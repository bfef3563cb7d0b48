//! `tiaki serve` as a real process: no secret reaches its output (log-ins with wrong and right
//! tokens, a token pasted into the user-name field, bad HTTP Basic headers, bad and good
//! session cookies, a log-out, a blocked client), and `tiaki collection add --max-tlp red` is
//! refused, so no collection serves TLP:RED.

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::thread::JoinHandle;

fn run(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tiaki"))
        .arg("--store")
        .arg(db)
        .args(args)
        .output()
        .unwrap()
}

fn ok(db: &Path, args: &[&str]) -> String {
    let out = run(db, args);
    assert!(
        out.status.success(),
        "tiaki {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The server, its address, and readers collecting the rest of its stdout and its stderr.
struct Server {
    child: Child,
    base: String,
    out: Option<JoinHandle<String>>,
    err: Option<JoinHandle<String>>,
}

impl Server {
    fn start(db: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tiaki"))
            .arg("--store")
            .arg(db)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        let mut stderr = child.stderr.take().unwrap();
        let out = std::thread::spawn(move || {
            let mut s = line;
            let _ = stdout.read_to_string(&mut s);
            s
        });
        let err = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        Server {
            child,
            base,
            out: Some(out),
            err: Some(err),
        }
    }

    /// Stops the server; everything it wrote.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let out = self.out.take().unwrap().join().unwrap();
        let err = self.err.take().unwrap().join().unwrap();
        format!("{out}\n{err}")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A request with raw headers; the status and the headers.
fn req(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, ureq::http::HeaderMap) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let mut b = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{base}{path}"));
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let mut r = if body.is_empty() {
        agent.run(b.body(()).unwrap())
    } else {
        agent.run(b.body(body.to_owned()).unwrap())
    }
    .unwrap();
    let _ = r.body_mut().read_to_string();
    (r.status().as_u16(), r.headers().clone())
}

/// Standard base64 (for Basic headers; the CLI's tests have no base64 crate).
fn b64(s: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in s.as_bytes().chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn form() -> (&'static str, &'static str) {
    ("Content-Type", "application/x-www-form-urlencoded")
}

#[test]
fn no_secret_reaches_the_servers_output() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cert.db");
    ok(&db, &["user", "add", "ana", "--role", "write"]);
    let token = ok(&db, &["user", "token", "ana"]).trim().to_owned();
    let (prefix, secret) = token.rsplit_once('_').unwrap();
    assert!(secret.len() >= 32, "{token}");
    // Wrong tokens that look right: the real id with another secret, and a made-up one.
    let wrong = format!("{prefix}_{}", "0123456789abcdef".repeat(4));
    let made_up = format!("tiaki_feedface_{}", "fedcba9876543210".repeat(4));
    let bad_cookie = format!("tiakis_c0ffee_{}", "5ec7e75ec7e75ec7".repeat(4));
    // 14 failures come before the right credentials below; 20 blocks the address later.
    let s = Server::start(&db, &["--auth-failures", "20"]);
    let b = s.base.clone();

    // Log-ins: wrong token, a token in the user-name field, then the right one.
    let login = |user: &str, tok: &str| {
        req(
            &b,
            "POST",
            "/login",
            &[form()],
            &format!("user={user}&token={tok}&next=%2F"),
        )
    };
    assert_eq!(login("ana", &wrong).0, 401);
    assert_eq!(login(&token, &made_up).0, 401);
    let (status, headers) = login("ana", &token);
    assert_eq!(status, 303);
    let cookie = headers
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let cookie_secret = cookie.rsplit_once('_').unwrap().1.to_owned();
    // Bad Basic headers, a wrong bearer token, bad cookies; the right ones.
    let basic_wrong = format!("Basic {}", b64(&format!("ana:{wrong}")));
    let basic_garbage = format!("Basic {secret}!!");
    let bearer_wrong = format!("Bearer {made_up}");
    let bad_session = format!("tiaki_session={bad_cookie}");
    for h in [
        ("Authorization", basic_wrong.as_str()),
        ("Authorization", basic_garbage.as_str()),
        ("Authorization", bearer_wrong.as_str()),
        ("Cookie", bad_session.as_str()),
    ] {
        assert_eq!(req(&b, "GET", "/api/v1/cases", &[h], "").0, 401, "{h:?}");
        assert_eq!(req(&b, "GET", "/taxii2/tiaki/", &[h], "").0, 401, "{h:?}");
        assert_eq!(req(&b, "GET", "/", &[h], "").0, 302, "{h:?}");
    }
    let basic_right = format!("Basic {}", b64(&format!("ana:{token}")));
    let bearer_right = format!("Bearer {token}");
    for h in [
        ("Authorization", basic_right.as_str()),
        ("Authorization", bearer_right.as_str()),
        ("Cookie", cookie.as_str()),
    ] {
        assert_eq!(req(&b, "GET", "/api/v1/cases", &[h], "").0, 200, "{h:?}");
    }
    // A write with the session but without the CSRF token, a log-out with a wrong one.
    let (status, _) = req(
        &b,
        "POST",
        "/api/v1/cases/none/notes",
        &[("Cookie", &cookie), ("Content-Type", "application/json")],
        r#"{"text":"x"}"#,
    );
    assert_eq!(status, 403);
    assert_eq!(
        req(
            &b,
            "POST",
            "/logout",
            &[form(), ("Cookie", &cookie)],
            "csrf=nope"
        )
        .0,
        403
    );
    // Enough failures to be blocked: the block is logged (by address, not by credential).
    for _ in 0..8 {
        req(
            &b,
            "GET",
            "/api/v1/cases",
            &[("Authorization", &bearer_wrong)],
            "",
        );
    }
    assert_eq!(
        req(
            &b,
            "GET",
            "/api/v1/cases",
            &[("Authorization", &bearer_right)],
            ""
        )
        .0,
        429
    );

    let output = s.stop();
    assert!(
        output.contains("failed authentications from 127.0.0.1"),
        "the block should be logged: {output}"
    );
    let b64_secrets = [b64(&format!("ana:{wrong}")), b64(&format!("ana:{token}"))];
    for needle in [
        token.as_str(),
        secret,
        wrong.as_str(),
        made_up.as_str(),
        bad_cookie.as_str(),
        cookie.as_str(),
        cookie_secret.as_str(),
        b64_secrets[0].as_str(),
        b64_secrets[1].as_str(),
        "Authorization",
        "Bearer",
        "Basic",
        "tiaki_session",
    ] {
        assert!(
            !output.contains(needle),
            "the server's output holds {needle:?}:\n{output}"
        );
    }
    // Nothing but the start-up lines and the block.
    for line in output.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            line.starts_with("listening on ")
                || line.starts_with("tiaki serve: case store ")
                || line.contains("failed authentications from 127.0.0.1"),
            "unexpected output line: {line}"
        );
    }
}

#[test]
fn no_collection_can_be_configured_to_serve_red() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cert.db");
    for red in ["red", "RED", "TLP:RED"] {
        let out = run(&db, &["collection", "add", "secret", "--max-tlp", red]);
        assert!(!out.status.success(), "--max-tlp {red} was accepted");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("TLP:RED"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The highest ceiling allowed is AMBER+STRICT; nothing was created by the refusals.
    ok(
        &db,
        &["collection", "add", "strict", "--max-tlp", "amber+strict"],
    );
    let list = ok(&db, &["collection", "list"]);
    assert_eq!(list.lines().count(), 1, "{list}");
    assert!(list.contains("AMBER+STRICT"), "{list}");
}
