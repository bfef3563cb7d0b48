//! `tiaki serve`: one HTTP server for the analysts' web console, the JSON API behind it, and a
//! TAXII 2.1 server for partner agencies, all over one case store.
//!
//! # Why one server
//!
//! A CERT runs tiaki on an investigation host; a second daemon for sharing would mean a second
//! set of users, a second TLS certificate and a second copy of the data. One axum router
//! serves three trees:
//!
//! * `/taxii2/…` — TAXII 2.1 ([`taxii`]): discovery (the only thing readable without a
//!   credential), API root, collections, objects, manifest, versions, status;
//! * `/api/v1/…` — the JSON API ([`api`]) with its OpenAPI description at
//!   `/api/v1/openapi.json`;
//! * everything else — the console ([`console`]): server-rendered HTML with a little
//!   JavaScript, no build step.
//!
//! Authentication ([`auth`]) is the same everywhere: a bearer token, HTTP Basic with a token as
//! the password (what TAXII clients send), or the console's session cookie.
//!
//! # Hardening shared by the three trees
//!
//! Layers around the whole router, outermost first:
//!
//! * [`security_headers`] on every response, errors and static files included:
//!   Content-Security-Policy, `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`,
//!   `Referrer-Policy: no-referrer`, `Cache-Control: no-store` unless the handler chose
//!   otherwise (static files: `no-cache`), and `Strict-Transport-Security` when the server runs
//!   behind TLS (`secure_cookies`).
//! * [`limit::middleware`]: the per-client request rate and the failed-authentication block
//!   (429 with `Retry-After`, in each tree's error format).
//! * The request body limit (`max_body`): 413 from every extractor, in each tree's format.
//!
//! A path no route knows is a 404 in the format of its tree ([`not_found`]).
//!
//! Serve the router with `into_make_service_with_connect_info::<SocketAddr>()` ([`serve`]
//! does) so that the limits are per client.
//!
//! # Why a pool of SQLite connections behind `spawn_blocking`
//!
//! rusqlite is synchronous. Each request borrows one of a few connections on the blocking
//! thread pool, so a slow query never stalls the async workers; WAL mode lets the readers run
//! in parallel with the one writer.

pub mod api;
pub mod auth;
pub mod console;
pub mod limit;
pub mod taxii;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, STRICT_TRANSPORT_SECURITY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use tiaki_store::CaseStore;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The case store file.
    pub db: PathBuf,
    /// Title shown by the console and in TAXII discovery.
    pub title: String,
    /// Largest request body accepted, in bytes (TAXII `max_content_length`).
    pub max_body: usize,
    /// SQLite connections in the pool.
    pub connections: usize,
    /// Set the `Secure` attribute on the session cookie and send `Strict-Transport-Security`
    /// (serve behind TLS).
    pub secure_cookies: bool,
    /// Requests per second each client may sustain (its bucket's refill rate); 0: no limit.
    pub rate_per_sec: u32,
    /// Requests a client may send at once above the sustained rate (the bucket's size).
    pub rate_burst: u32,
    /// Failed authentications from one client, or for one user name, within `auth_window`
    /// before its credentials are refused (429) until the window ends; 0: no limit.
    pub auth_failures: u32,
    /// The window failed authentications are counted over, from the first one.
    pub auth_window: Duration,
    /// The most clients (and user names) each limiter tracks; the least recently seen go.
    pub limit_clients: usize,
    /// Reverse proxies whose `X-Forwarded-For` names the client (the rightmost address that
    /// is not one of them); requests from anyone else are keyed by their TCP peer.
    pub trusted_proxies: Vec<IpAddr>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            db: PathBuf::from("tiaki.db"),
            title: "tiaki".to_owned(),
            max_body: 10 * 1024 * 1024,
            connections: 4,
            secure_cookies: false,
            rate_per_sec: 20,
            rate_burst: 200,
            auth_failures: 10,
            auth_window: Duration::from_secs(300),
            limit_clients: 10_000,
            trusted_proxies: Vec::new(),
        }
    }
}

/// Errors starting the server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The case store could not be opened.
    #[error(transparent)]
    Store(#[from] tiaki_store::StoreError),
    /// The address could not be bound, or serving failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// A few store connections shared by the request handlers.
pub struct StorePool {
    stores: Vec<Mutex<CaseStore>>,
    next: AtomicUsize,
}

impl StorePool {
    /// Opens `n` connections (at least one) to the store at `path`.
    pub fn open(path: &std::path::Path, n: usize) -> Result<StorePool, tiaki_store::StoreError> {
        let stores = (0..n.max(1))
            .map(|_| CaseStore::open(path).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(StorePool {
            stores,
            next: AtomicUsize::new(0),
        })
    }

    /// Runs `f` with one connection on the blocking thread pool.
    pub async fn run<R, F>(self: &Arc<Self>, f: F) -> R
    where
        F: FnOnce(&mut CaseStore) -> R + Send + 'static,
        R: Send + 'static,
    {
        let pool = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let i = pool.next.fetch_add(1, Ordering::Relaxed) % pool.stores.len();
            let mut guard = match pool.stores[i].lock() {
                Ok(g) => g,
                // A handler that panicked mid-request leaves the connection usable: SQLite
                // rolled back its transaction.
                Err(poisoned) => poisoned.into_inner(),
            };
            f(&mut guard)
        })
        .await
        .expect("store task panicked")
    }
}

/// What every handler can reach.
pub struct AppState {
    /// The configuration the server started with.
    pub config: ServerConfig,
    /// Connections to the case store.
    pub pool: Arc<StorePool>,
    /// The request and failed-authentication limits.
    pub limits: limit::Limits,
}

/// Shared state handle.
pub type SharedState = Arc<AppState>;

/// The whole application: console, API and TAXII, with the request size limit, the rate
/// limits and the security headers. Serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()` for per-client limits.
pub fn router(state: SharedState) -> Router {
    let limit = state.config.max_body;
    Router::new()
        .merge(taxii::routes())
        .merge(api::routes())
        .merge(console::routes())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            limit::middleware,
        ))
        .layer(axum::middleware::map_response_with_state(
            Arc::clone(&state),
            security_headers,
        ))
        .with_state(state)
}

/// A path no route knows: a TAXII error under `/taxii2/`, the console's 404 page elsewhere
/// (the API answers its own 404s).
pub async fn not_found(State(st): State<SharedState>, uri: Uri) -> Response {
    if uri.path().starts_with(taxii::DISCOVERY_PATH) {
        taxii::TaxiiError::not_found("resource").into_response()
    } else {
        console::plain_error(&st, StatusCode::NOT_FOUND, "There is no such page.")
    }
}

/// The `Strict-Transport-Security` value sent when the server runs behind TLS (one year).
pub const HSTS: &str = "max-age=31536000";

/// Adds the security headers to every response (see the module documentation).
pub async fn security_headers(State(st): State<SharedState>, mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(console::CSP),
    );
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if !h.contains_key(CACHE_CONTROL) {
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if st.config.secure_cookies {
        h.insert(STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
    r
}

/// Opens the store and builds the state.
pub fn state(config: ServerConfig) -> Result<SharedState, ServerError> {
    let pool = Arc::new(StorePool::open(&config.db, config.connections)?);
    let limits = limit::Limits::new(&config);
    Ok(Arc::new(AppState {
        config,
        pool,
        limits,
    }))
}

/// Binds `addr` and serves until Ctrl-C. `on_ready` gets the bound address (port 0 picks one).
pub async fn serve(
    config: ServerConfig,
    addr: SocketAddr,
    on_ready: impl FnOnce(SocketAddr),
) -> Result<(), ServerError> {
    let app = router(state(config)?);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    on_ready(listener.local_addr()?);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
