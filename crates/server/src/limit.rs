//! Rate limits: a token bucket of requests per client address, and a counter of failed
//! authentications per client address and per user name.
//!
//! # Why our own, and why these two
//!
//! Tokens are 256-bit secrets, so a failed-login limit is not what keeps them from being
//! guessed; it keeps a scanner or a misconfigured TAXII client from filling the store's
//! connections with hopeless attempts, and it makes an attack visible (one log line when a
//! block starts). The request limit keeps one client from starving the others of the few
//! SQLite connections. Both are a few dozen lines over a `HashMap` behind a `Mutex`, which is
//! easier to audit than a dependency (`governor`, `tower_governor`) whose keyed limiters would
//! still need our own eviction and our own 429 bodies (TAXII, JSON and HTML differ).
//!
//! # Rules
//!
//! * **Requests**: each client address has a bucket of `rate_burst` tokens refilled at
//!   `rate_per_sec`; a request takes one; an empty bucket answers `429 Too Many Requests` with
//!   `Retry-After` (whole seconds until a token is back).
//! * **Failed authentications**: a credential that is present but wrong (bearer token, HTTP
//!   Basic, malformed `Authorization`, stale session cookie, a failed console log-in) counts
//!   against the client address, and for Basic and the log-in form against the user name too.
//!   After `auth_failures` within `auth_window` (counted from the first failure), every request
//!   from that address, or naming that user, that carries a credential is answered 429 with
//!   `Retry-After` until the window has passed, right credentials included. Successful
//!   authentications do not count. Requests without a credential (TAXII discovery, the log-in
//!   page, static files) are not refused by this rule.
//! * **Bounded state**: each table holds at most `limit_clients` entries. When it is full, idle
//!   entries (a full bucket, an expired window) are dropped first, then the least recently
//!   seen one. User names are kept to their first 128 bytes.
//! * **Behind a proxy**: the client is the TCP peer, unless the peer is one of
//!   `trusted_proxies`; then it is the rightmost `X-Forwarded-For` address that is not a
//!   trusted proxy. Without `ConnectInfo` (a router served without
//!   `into_make_service_with_connect_info`) every request counts as one client,
//!   `0.0.0.0`: fail closed.
//!
//! User names never reach the log: a user who pastes a token into the user-name field would
//! otherwise put it there.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{AUTHORIZATION, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::{ServerConfig, SharedState};

tokio::task_local! {
    /// The client address of the request being handled (set by [`middleware`]).
    static CLIENT: IpAddr;
}

/// The client address of the request being handled, when called inside [`middleware`].
pub fn current_client() -> Option<IpAddr> {
    CLIENT.try_with(|c| *c).ok()
}

/// The longest user name kept as a key (bytes; longer names are cut at a char boundary).
const MAX_USER_KEY: usize = 128;

/// What failures are counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum FailKey {
    Client(IpAddr),
    User(String),
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    start: Instant,
    count: u32,
    last: Instant,
}

/// A map with a size cap: full, it drops idle entries, then the least recently seen.
struct Table<K, V> {
    map: HashMap<K, V>,
    cap: usize,
}

impl<K: Eq + Hash + Clone, V> Table<K, V> {
    fn new(cap: usize) -> Self {
        Table {
            map: HashMap::new(),
            cap: cap.max(1),
        }
    }

    /// The entry for `key`, made with `new` if absent (evicting first when full).
    fn entry(
        &mut self,
        key: &K,
        new: impl FnOnce() -> V,
        idle: impl Fn(&V) -> bool,
        last: impl Fn(&V) -> Instant,
    ) -> &mut V {
        if !self.map.contains_key(key) {
            if self.map.len() >= self.cap {
                self.map.retain(|_, v| !idle(v));
            }
            if self.map.len() >= self.cap
                && let Some(oldest) = self
                    .map
                    .iter()
                    .min_by_key(|(_, v)| last(v))
                    .map(|(k, _)| k.clone())
            {
                self.map.remove(&oldest);
            }
            self.map.insert(key.clone(), new());
        }
        self.map.get_mut(key).expect("inserted above")
    }
}

/// Both limiters, shared by every request.
pub struct Limits {
    rate: f64,
    burst: f64,
    max_failures: u32,
    window: Duration,
    buckets: Mutex<Table<IpAddr, Bucket>>,
    failures: Mutex<Table<FailKey, Failures>>,
}

/// Whole seconds to wait, at least one.
fn secs(d: Duration) -> u64 {
    (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
}

impl Limits {
    /// The limiters `config` asks for.
    pub fn new(config: &ServerConfig) -> Limits {
        Limits {
            rate: f64::from(config.rate_per_sec),
            burst: f64::from(config.rate_burst.max(1)),
            max_failures: config.auth_failures,
            window: config.auth_window,
            buckets: Mutex::new(Table::new(config.limit_clients)),
            failures: Mutex::new(Table::new(config.limit_clients)),
        }
    }

    /// Takes a token from `client`'s bucket; `Err(wait)` when it is empty.
    pub fn request(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let (rate, burst) = (self.rate, self.burst);
        let mut t = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let b = t.entry(
            &client,
            || Bucket {
                tokens: burst,
                last: now,
            },
            |b| b.tokens + now.saturating_duration_since(b.last).as_secs_f64() * rate >= burst,
            |b| b.last,
        );
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate).min(burst);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / rate))
        }
    }

    fn keys(client: Option<IpAddr>, user: Option<&str>) -> Vec<FailKey> {
        let mut keys: Vec<FailKey> = client.map(FailKey::Client).into_iter().collect();
        if let Some(u) = user.filter(|u| !u.is_empty()) {
            let mut end = u.len().min(MAX_USER_KEY);
            while !u.is_char_boundary(end) {
                end -= 1;
            }
            keys.push(FailKey::User(u[..end].to_owned()));
        }
        keys
    }

    /// How long `client` (or `user`) is still refused, if it is.
    pub fn auth_blocked(
        &self,
        client: Option<IpAddr>,
        user: Option<&str>,
        now: Instant,
    ) -> Option<Duration> {
        if self.max_failures == 0 {
            return None;
        }
        let t = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        Self::keys(client, user)
            .iter()
            .filter_map(|k| t.map.get(k))
            .filter(|f| f.count >= self.max_failures)
            .filter_map(|f| (f.start + self.window).checked_duration_since(now))
            .filter(|d| !d.is_zero())
            .max()
    }

    /// Counts one failed authentication against `client` and `user`.
    pub fn auth_failed(&self, client: Option<IpAddr>, user: Option<&str>, now: Instant) {
        if self.max_failures == 0 {
            return;
        }
        let window = self.window;
        let mut t = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        for key in Self::keys(client, user) {
            let f = t.entry(
                &key,
                || Failures {
                    start: now,
                    count: 0,
                    last: now,
                },
                |f| now.saturating_duration_since(f.start) >= window,
                |f| f.last,
            );
            if now.saturating_duration_since(f.start) >= window {
                *f = Failures {
                    start: now,
                    count: 0,
                    last: now,
                };
            }
            f.count += 1;
            f.last = now;
            if f.count == self.max_failures {
                let whom = match &key {
                    FailKey::Client(ip) => format!("from {ip}"),
                    FailKey::User(_) => "for one user name".to_owned(),
                };
                eprintln!(
                    "tiaki serve: {} failed authentications {whom} within {} s: refusing its credentials until the window ends",
                    self.max_failures,
                    window.as_secs()
                );
            }
        }
    }

    /// Entries held (requests, failures): for tests of the cap.
    pub fn sizes(&self) -> (usize, usize) {
        let b = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        (b.map.len(), f.map.len())
    }
}

/// The client of a request: the TCP peer, or behind a trusted proxy the rightmost
/// `X-Forwarded-For` address that is not a trusted proxy.
pub fn client_of(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    let Some(peer) = peer else {
        return IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    };
    if !trusted.contains(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|a| a.trim().parse::<IpAddr>())
        .collect::<Result<_, _>>()
        .unwrap_or_default();
    forwarded
        .into_iter()
        .rev()
        .find(|a| !trusted.contains(a))
        .unwrap_or(peer)
}

/// Whether a request carries a credential, or is a log-in attempt.
fn carries_credential(req: &Request) -> bool {
    req.headers().contains_key(AUTHORIZATION)
        || crate::auth::session_cookie(req.headers()).is_some()
        || (req.method() == Method::POST && req.uri().path() == "/login")
}

/// The request limit, the failed-authentication block, and the client address for the
/// handlers ([`current_client`]).
pub async fn middleware(State(st): State<SharedState>, req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let client = client_of(peer, req.headers(), &st.config.trusted_proxies);
    let now = Instant::now();
    if let Err(wait) = st.limits.request(client, now) {
        return too_many(&st, req.uri().path(), wait, "too many requests");
    }
    if carries_credential(&req) {
        let user = match crate::auth::credential(req.headers()) {
            Some(crate::auth::Credential::Basic(u, _)) => Some(u),
            _ => None,
        };
        if let Some(wait) = st.limits.auth_blocked(Some(client), user.as_deref(), now) {
            return too_many(
                &st,
                req.uri().path(),
                wait,
                "too many failed authentications",
            );
        }
    }
    CLIENT.scope(client, next.run(req)).await
}

/// A 429 in the shape of the tree `path` belongs to, with `Retry-After`.
pub fn too_many(st: &SharedState, path: &str, wait: Duration, what: &str) -> Response {
    let secs = secs(wait);
    let message = format!("{what}: try again in {secs} s");
    let mut r = if path.starts_with("/taxii2/") {
        crate::taxii::TaxiiError::new(StatusCode::TOO_MANY_REQUESTS, "Too many requests", message)
            .into_response()
    } else if path == "/api/v1" || path.starts_with("/api/v1/") {
        crate::api::ApiError::new(StatusCode::TOO_MANY_REQUESTS, message).into_response()
    } else {
        crate::console::plain_error(st, StatusCode::TOO_MANY_REQUESTS, &message)
    };
    r.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(rate: u32, burst: u32, failures: u32, cap: usize) -> ServerConfig {
        ServerConfig {
            rate_per_sec: rate,
            rate_burst: burst,
            auth_failures: failures,
            auth_window: Duration::from_secs(60),
            limit_clients: cap,
            ..Default::default()
        }
    }

    #[test]
    fn bucket_allows_a_burst_then_the_rate() {
        let l = Limits::new(&config(2, 3, 0, 10));
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.request(ip, t0).is_ok());
        }
        let wait = l.request(ip, t0).unwrap_err();
        assert!(
            wait <= Duration::from_millis(500) && !wait.is_zero(),
            "{wait:?}"
        );
        assert_eq!(secs(wait), 1);
        // Another client has its own bucket.
        assert!(l.request("192.0.2.2".parse().unwrap(), t0).is_ok());
        // Half a second later one token is back.
        let t1 = t0 + Duration::from_millis(500);
        assert!(l.request(ip, t1).is_ok());
        assert!(l.request(ip, t1).is_err());
        // Off.
        let off = Limits::new(&config(0, 1, 0, 10));
        for _ in 0..100 {
            assert!(off.request(ip, t0).is_ok());
        }
    }

    #[test]
    fn failures_block_the_client_and_the_user_until_the_window_ends() {
        let l = Limits::new(&config(0, 1, 3, 10));
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.9".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..2 {
            l.auth_failed(Some(ip), Some("ana"), t0);
        }
        assert_eq!(l.auth_blocked(Some(ip), None, t0), None);
        l.auth_failed(Some(ip), Some("ana"), t0 + Duration::from_secs(10));
        let t = t0 + Duration::from_secs(20);
        assert_eq!(
            l.auth_blocked(Some(ip), None, t),
            Some(Duration::from_secs(40))
        );
        // The user name is blocked from any address; another user from another is not.
        assert!(l.auth_blocked(Some(other), Some("ana"), t).is_some());
        assert_eq!(l.auth_blocked(Some(other), Some("bo"), t), None);
        // The window passes.
        assert_eq!(
            l.auth_blocked(Some(ip), Some("ana"), t0 + Duration::from_secs(60)),
            None
        );
        // A new window starts from zero.
        l.auth_failed(Some(ip), None, t0 + Duration::from_secs(61));
        assert_eq!(
            l.auth_blocked(Some(ip), None, t0 + Duration::from_secs(62)),
            None
        );
    }

    #[test]
    fn tables_stay_within_their_cap() {
        let l = Limits::new(&config(1, 5, 2, 4));
        let t0 = Instant::now();
        for i in 0..50u8 {
            let ip = IpAddr::V4(Ipv4Addr::new(198, 51, 100, i));
            let _ = l.request(ip, t0 + Duration::from_millis(u64::from(i)));
            l.auth_failed(
                Some(ip),
                Some(&format!("user{i}")),
                t0 + Duration::from_millis(u64::from(i)),
            );
        }
        let (b, f) = l.sizes();
        assert!(b <= 4 && f <= 4, "{b} {f}");
        // The most recent client is still tracked.
        let last = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 49));
        l.auth_failed(Some(last), None, t0 + Duration::from_millis(60));
        assert!(
            l.auth_blocked(Some(last), None, t0 + Duration::from_millis(61))
                .is_some()
        );
        // Long user names are cut.
        let long = "x".repeat(10_000);
        assert_eq!(
            Limits::keys(None, Some(&long)),
            vec![FailKey::User("x".repeat(MAX_USER_KEY))]
        );
    }

    #[test]
    fn the_client_behind_a_trusted_proxy() {
        let proxy: IpAddr = "127.0.0.1".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("10.9.9.9, 203.0.113.7"),
        );
        assert_eq!(
            client_of(Some(proxy), &h, &[proxy]),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
        // An untrusted peer's header is ignored.
        let peer: IpAddr = "192.0.2.4".parse().unwrap();
        assert_eq!(client_of(Some(peer), &h, &[proxy]), peer);
        // Garbage in the header: the proxy itself.
        h.insert("x-forwarded-for", HeaderValue::from_static("nonsense"));
        assert_eq!(client_of(Some(proxy), &h, &[proxy]), proxy);
        assert_eq!(client_of(None, &h, &[]), IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    }
}
