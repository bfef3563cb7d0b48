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
//! # Why a pool of SQLite connections behind `spawn_blocking`
//!
//! rusqlite is synchronous. Each request borrows one of a few connections on the blocking
//! thread pool, so a slow query never stalls the async workers; WAL mode lets the readers run
//! in parallel with the one writer.

pub mod api;
pub mod auth;
pub mod console;
pub mod taxii;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::DefaultBodyLimit;
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
    /// Set the `Secure` attribute on the session cookie (serve behind TLS).
    pub secure_cookies: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            db: PathBuf::from("tiaki.db"),
            title: "tiaki".to_owned(),
            max_body: 10 * 1024 * 1024,
            connections: 4,
            secure_cookies: false,
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
}

/// Shared state handle.
pub type SharedState = Arc<AppState>;

/// The whole application: console, API and TAXII, with the request size limit.
pub fn router(state: SharedState) -> Router {
    let limit = state.config.max_body;
    Router::new()
        .merge(taxii::routes())
        .merge(api::routes())
        .merge(console::routes())
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// Opens the store and builds the state.
pub fn state(config: ServerConfig) -> Result<SharedState, ServerError> {
    let pool = Arc::new(StorePool::open(&config.db, config.connections)?);
    Ok(Arc::new(AppState { config, pool }))
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
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
