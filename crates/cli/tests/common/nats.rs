//! Real `nats-server` processes for integration tests.
//!
//! The sharing and server code talks to NATS JetStream; mocking the wire protocol would test
//! the mock, not the behaviour (acks, redelivery, leader elections, a node dying mid-publish).
//! So these helpers start the real Debian `nats-server` binary (`/usr/sbin/nats-server`,
//! override with `TIAKI_NATS_SERVER`) on loopback with free ports and a temporary store.
//! A missing binary is a test failure, never a skip: a green run must mean the tests ran.
//!
//! Every child process is killed and reaped on drop, including when a test panics. Each
//! server's stdout/stderr goes to a log file in its temporary directory, and the last lines
//! of that log are part of every readiness-timeout panic.

#![allow(dead_code)]

use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// Default location of the Debian package's binary.
const DEFAULT_BINARY: &str = "/usr/sbin/nats-server";
/// Environment variable that overrides the `nats-server` binary.
const BINARY_ENV: &str = "TIAKI_NATS_SERVER";
/// How long a single server may take to accept connections and report JetStream healthy.
const SERVER_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a cluster may take to form and elect a JetStream meta leader.
const CLUSTER_TIMEOUT: Duration = Duration::from_secs(30);
/// Lines of server log included in panic messages.
const LOG_TAIL_LINES: usize = 40;
/// Cluster name used by [`NatsCluster`].
const CLUSTER_NAME: &str = "tiaki-test";

/// The `nats-server` binary to run: `$TIAKI_NATS_SERVER`, else `/usr/sbin/nats-server`, else
/// `nats-server` on `PATH`. Panics (never skips) when none exists.
fn nats_server_binary() -> PathBuf {
    if let Some(p) = std::env::var_os(BINARY_ENV).filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "{BINARY_ENV}={} does not exist or is not a file; point it at a nats-server \
             binary, or unset it and `apt-get install nats-server` ({DEFAULT_BINARY}). \
             These tests need a real nats-server and do not skip.",
            p.display()
        );
        return p;
    }
    let default = PathBuf::from(DEFAULT_BINARY);
    if default.is_file() {
        return default;
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join("nats-server");
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "nats-server not found (looked at ${BINARY_ENV}, {DEFAULT_BINARY} and PATH). \
         Install it with `apt-get install nats-server` (Debian/Ubuntu) or set \
         {BINARY_ENV} to a nats-server binary. These tests need a real NATS JetStream \
         server and do not skip."
    );
}

/// `n` distinct free loopback ports. All are bound at once (so they differ), then released;
/// another process could grab one before the server binds it, a race accepted here.
fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0 for a free port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("local_addr of probe listener").port())
        .collect()
}

/// The last `n` lines of the file at `path` (or a note saying why it could not be read).
fn log_tail(path: &Path, n: usize) -> String {
    match fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            let start = lines.len().saturating_sub(n);
            lines[start..].join("\n")
        }
        Err(e) => format!("<cannot read log {}: {e}>", path.display()),
    }
}

/// Whether something accepts TCP connections on `127.0.0.1:port`.
fn port_open(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(250)).is_ok()
}

/// A plain HTTP/1.0 GET to `127.0.0.1:port` `path`: `(status, body)`, or `None` when the
/// request fails (not listening yet, reset, timeout, unparsable response).
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.set_write_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n")?;
    // "HTTP/1.0 200 OK"
    let status = head
        .lines()
        .next()?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some((status, body.to_string()))
}

/// The JetStream meta leader this node's `/jsz` reports, if any.
fn meta_leader(monitor_port: u16) -> Option<String> {
    let (status, body) = http_get(monitor_port, "/jsz")?;
    if status != 200 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
    let leader = v.get("meta_cluster")?.get("leader")?.as_str()?;
    (!leader.is_empty()).then(|| leader.to_string())
}

/// Sends `signal` (e.g. `-TERM`) to `pid` with the `kill` utility; false when that failed.
fn send_signal(pid: u32, signal: &str) -> bool {
    Command::new("kill")
        .args([signal, &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// One `nats-server` process definition: how to start it, where it logs, and (when running)
/// the child.
struct Node {
    /// Server name (`server_name`), used in messages.
    name: String,
    /// Client port on 127.0.0.1.
    client_port: u16,
    /// HTTP monitoring port on 127.0.0.1.
    monitor_port: u16,
    /// Arguments passed to `nats-server`.
    args: Vec<String>,
    /// stdout/stderr of every run of this node (appended on restart).
    log: PathBuf,
    /// The running process, if started and not killed/stopped.
    child: Option<Child>,
}

impl Node {
    /// Spawns the server (which must not be running).
    fn spawn(&mut self) {
        assert!(self.child.is_none(), "{}: already running", self.name);
        let binary = nats_server_binary();
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap_or_else(|e| panic!("open {}: {e}", self.log.display()));
        let _ = writeln!(
            log,
            "==== harness: starting {} {}",
            binary.display(),
            self.args.join(" ")
        );
        let err = log.try_clone().expect("clone log file handle");
        let child = Command::new(&binary)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(err))
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} ({e}). Install it with `apt-get install nats-server` or \
                     set {BINARY_ENV}; these tests need a real nats-server and do not skip.",
                    binary.display()
                )
            });
        self.child = Some(child);
    }

    /// SIGKILLs the process (if running) and waits for it to exit.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Asks the process to shut down (SIGTERM), waits up to 10 s, then SIGKILLs it.
    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if send_signal(child.id(), "-TERM") {
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                sleep(Duration::from_millis(50));
            }
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Panics (with the log tail) if the process is not running or has exited.
    fn check_alive(&mut self) {
        let status = match self.child.as_mut() {
            None => panic!("{}: not running (killed or stopped)", self.name),
            Some(child) => child.try_wait(),
        };
        match status {
            Ok(None) => {}
            Ok(Some(status)) => {
                self.child = None;
                panic!(
                    "nats-server {} exited early ({status}); last {LOG_TAIL_LINES} lines of \
                     {}:\n{}",
                    self.name,
                    self.log.display(),
                    log_tail(&self.log, LOG_TAIL_LINES)
                );
            }
            Err(e) => panic!("{}: try_wait failed: {e}", self.name),
        }
    }

    /// Whether the client port accepts connections and `/healthz` answers 200.
    fn healthy(&self) -> bool {
        port_open(self.client_port)
            && http_get(self.monitor_port, "/healthz").is_some_and(|(status, _)| status == 200)
    }

    /// Panic message for a readiness timeout on this node.
    fn timeout_message(&self, what: &str, timeout: Duration) -> String {
        format!(
            "nats-server {} (client port {}, monitor port {}) not {what} after {timeout:?}; \
             last {LOG_TAIL_LINES} lines of {}:\n{}",
            self.name,
            self.client_port,
            self.monitor_port,
            self.log.display(),
            log_tail(&self.log, LOG_TAIL_LINES)
        )
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One JetStream-enabled `nats-server` on 127.0.0.1 with a free client port and its store in
/// a temporary directory; the process is killed and the directory removed on drop.
pub struct NatsServer {
    /// The server process.
    node: Node,
    /// Holds the store and log; declared after `node` so the process dies first.
    dir: TempDir,
}

impl NatsServer {
    /// Starts a server (`-js -sd <tmp> -a 127.0.0.1 -p <free> -m <free>`) and waits until
    /// the client port accepts connections and `/healthz` reports 200 (JetStream ready).
    /// Panics with the server's log tail after 20 s, and if `nats-server` is missing.
    pub fn start() -> NatsServer {
        let dir = tempfile::Builder::new()
            .prefix("tiaki-nats-")
            .tempdir()
            .expect("create temp dir for nats-server");
        let store = dir.path().join("store");
        fs::create_dir_all(&store).expect("create JetStream store dir");
        let ports = free_ports(2);
        let (client_port, monitor_port) = (ports[0], ports[1]);
        let args = vec![
            "--server_name".to_string(),
            "s0".to_string(),
            "-js".to_string(),
            "-sd".to_string(),
            store.display().to_string(),
            "-a".to_string(),
            "127.0.0.1".to_string(),
            "-p".to_string(),
            client_port.to_string(),
            "-m".to_string(),
            monitor_port.to_string(),
        ];
        let mut server = NatsServer {
            node: Node {
                name: "s0".to_string(),
                client_port,
                monitor_port,
                args,
                log: dir.path().join("nats-server.log"),
                child: None,
            },
            dir,
        };
        server.node.spawn();
        server.wait_ready(SERVER_TIMEOUT);
        server
    }

    /// The client URL, `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.node.client_port)
    }

    /// The client port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.node.client_port
    }

    /// The HTTP monitoring port on 127.0.0.1 (`/varz`, `/jsz`, `/healthz`, ...).
    pub fn monitor_port(&self) -> u16 {
        self.node.monitor_port
    }

    /// The server's temporary directory (JetStream store under `store/`, log file).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server's log file (stdout and stderr).
    pub fn log_path(&self) -> &Path {
        &self.node.log
    }

    /// The last 40 lines of the server log, for test failure messages.
    pub fn log_tail(&self) -> String {
        log_tail(&self.node.log, LOG_TAIL_LINES)
    }

    /// Polls until the server is up and JetStream is healthy; panics after `timeout`.
    fn wait_ready(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            self.node.check_alive();
            if self.node.healthy() {
                return;
            }
            if Instant::now() >= deadline {
                panic!("{}", self.node.timeout_message("ready", timeout));
            }
            sleep(Duration::from_millis(50));
        }
    }
}

/// A JetStream cluster of `nats-server` processes on 127.0.0.1 (`n0`, `n1`, ...; cluster
/// `tiaki-test`), each with its own client, monitor and route port and store directory.
/// Nodes can be killed, stopped and restarted; all processes are killed on drop.
pub struct NatsCluster {
    /// The nodes, by index.
    nodes: Vec<Node>,
    /// Holds every node's config, store and log; declared after `nodes` so the processes
    /// die first.
    dir: TempDir,
}

impl NatsCluster {
    /// Starts an `n`-node JetStream cluster (one config file per node: `server_name`,
    /// `listen`, `http`, `jetstream { store_dir }`, `cluster { name, listen, routes }`) and
    /// waits until every node is healthy and reports the same JetStream meta leader.
    /// Panics with the log tail of a lagging node after 30 s.
    pub fn start(n: usize) -> NatsCluster {
        assert!(n >= 1, "a cluster needs at least one node");
        let dir = tempfile::Builder::new()
            .prefix("tiaki-nats-cluster-")
            .tempdir()
            .expect("create temp dir for nats cluster");
        let ports = free_ports(3 * n);
        let client = |i: usize| ports[3 * i];
        let monitor = |i: usize| ports[3 * i + 1];
        let route = |i: usize| ports[3 * i + 2];
        let mut nodes = Vec::with_capacity(n);
        for i in 0..n {
            let name = format!("n{i}");
            let node_dir = dir.path().join(&name);
            let store = node_dir.join("store");
            fs::create_dir_all(&store).expect("create JetStream store dir");
            let routes: String = (0..n)
                .filter(|&j| j != i)
                .map(|j| format!("    \"nats://127.0.0.1:{}\"\n", route(j)))
                .collect();
            let config = format!(
                "server_name: \"{name}\"\n\
                 listen: \"127.0.0.1:{client}\"\n\
                 http: \"127.0.0.1:{monitor}\"\n\
                 jetstream {{\n  store_dir: \"{store}\"\n}}\n\
                 cluster {{\n  name: \"{CLUSTER_NAME}\"\n  listen: \"127.0.0.1:{route}\"\n  \
                 routes: [\n{routes}  ]\n}}\n",
                client = client(i),
                monitor = monitor(i),
                store = store.display(),
                route = route(i),
            );
            let config_path = node_dir.join("nats-server.conf");
            fs::write(&config_path, config)
                .unwrap_or_else(|e| panic!("write {}: {e}", config_path.display()));
            nodes.push(Node {
                name,
                client_port: client(i),
                monitor_port: monitor(i),
                args: vec!["-c".to_string(), config_path.display().to_string()],
                log: node_dir.join("nats-server.log"),
                child: None,
            });
        }
        let mut cluster = NatsCluster { nodes, dir };
        for node in &mut cluster.nodes {
            node.spawn();
        }
        cluster.wait_ready();
        cluster
    }

    /// Number of nodes (running or not).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the cluster has no nodes (never true for a started cluster).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// All client URLs, comma-separated (`nats://127.0.0.1:p1,nats://127.0.0.1:p2,...`), as
    /// NATS clients accept for a server list.
    pub fn url(&self) -> String {
        self.urls().join(",")
    }

    /// Each node's client URL, by index.
    pub fn urls(&self) -> Vec<String> {
        (0..self.nodes.len()).map(|i| self.node_url(i)).collect()
    }

    /// Node `i`'s client URL, `nats://127.0.0.1:PORT`.
    pub fn node_url(&self, i: usize) -> String {
        format!("nats://127.0.0.1:{}", self.nodes[i].client_port)
    }

    /// Node `i`'s HTTP monitoring port on 127.0.0.1.
    pub fn monitor_port(&self, i: usize) -> u16 {
        self.nodes[i].monitor_port
    }

    /// Node `i`'s server name (`n{i}`).
    pub fn name(&self, i: usize) -> &str {
        &self.nodes[i].name
    }

    /// Whether node `i`'s process is running (started and not killed or stopped).
    pub fn is_running(&self, i: usize) -> bool {
        self.nodes[i].child.is_some()
    }

    /// The JetStream meta leader node `i` reports on `/jsz`, if it is up and knows one.
    pub fn meta_leader(&self, i: usize) -> Option<String> {
        meta_leader(self.nodes[i].monitor_port)
    }

    /// Node `i`'s log file (stdout and stderr of every run).
    pub fn log_path(&self, i: usize) -> &Path {
        &self.nodes[i].log
    }

    /// The last 40 lines of node `i`'s log, for test failure messages.
    pub fn log_tail(&self, i: usize) -> String {
        log_tail(&self.nodes[i].log, LOG_TAIL_LINES)
    }

    /// The cluster's temporary directory (one subdirectory per node).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// SIGKILLs node `i` and waits for it to exit (no-op if it is not running).
    pub fn kill(&mut self, i: usize) {
        self.nodes[i].kill();
    }

    /// Stops node `i` gracefully (SIGTERM, then SIGKILL after 10 s) and waits for it to exit
    /// (no-op if it is not running).
    pub fn stop(&mut self, i: usize) {
        self.nodes[i].stop();
    }

    /// Starts node `i` again (after [`kill`](Self::kill) or [`stop`](Self::stop)) with the
    /// same ports, config and store directory, then waits until every running node is
    /// healthy and agrees on a meta leader. Panics if node `i` is still running.
    pub fn restart(&mut self, i: usize) {
        self.nodes[i].spawn();
        self.wait_ready();
    }

    /// Waits (30 s at most) until every running node accepts client connections, answers
    /// `/healthz` with 200 and reports on `/jsz` the same JetStream meta leader, which is
    /// itself a running node. Panics with the log tail of the first lagging node.
    pub fn wait_ready(&mut self) {
        let timeout = CLUSTER_TIMEOUT;
        let deadline = Instant::now() + timeout;
        loop {
            for node in &mut self.nodes {
                if node.child.is_some() {
                    node.check_alive();
                }
            }
            let lagging = self.first_lagging();
            let Some(i) = lagging else {
                return;
            };
            if Instant::now() >= deadline {
                let node = &self.nodes[i];
                let leaders: Vec<String> = (0..self.nodes.len())
                    .map(|j| format!("{}: {:?}", self.nodes[j].name, self.meta_leader(j)))
                    .collect();
                panic!(
                    "{}\nmeta leaders seen: {}",
                    node.timeout_message("ready (healthy with a JetStream meta leader)", timeout),
                    leaders.join(", ")
                );
            }
            sleep(Duration::from_millis(100));
        }
    }

    /// The first running node that is not healthy or does not agree on a live meta leader.
    fn first_lagging(&self) -> Option<usize> {
        let running: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].child.is_some())
            .collect();
        let mut agreed: Option<String> = None;
        for &i in &running {
            if !self.nodes[i].healthy() {
                return Some(i);
            }
            let Some(leader) = self.meta_leader(i) else {
                return Some(i);
            };
            let leader_running = self
                .nodes
                .iter()
                .any(|n| n.name == leader && n.child.is_some());
            if !leader_running {
                return Some(i);
            }
            match &agreed {
                None => agreed = Some(leader),
                Some(l) if *l == leader => {}
                Some(_) => return Some(i),
            }
        }
        None
    }
}
