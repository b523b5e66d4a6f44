//! The HTTP front end:
//! - `POST /PLCAPI/` (and `//PLCAPI//`) carries XML-RPC ([`plcapi`]);
//! - `POST /api/v1/media` issues a download link for a node's medium and `GET|HEAD /media/{id}`
//!   serves it, with ranges and resume ([`downloads`]), its file bytes sent by `sendfile` ([`direct`]);
//! - `POST /boot/` and `/boot/getnodeid.php` are the boot server pages a booting node asks for
//!   its BootManager payload and its node id ([`boot`]);
//! - `GET /healthz` answers `ok`;
//! - the client address of every request is the socket peer's, or a trusted proxy's header's
//!   ([`client`]);
//! - in front of them, [`conn`]: connection caps, timeouts and graceful shutdown, on plain HTTP
//!   listeners and HTTPS ones ([`tls`]: rustls, certificates reloaded without a restart).
#![forbid(unsafe_code)]

mod body;
mod boot;
mod cache;
pub mod client;
mod conn;
mod direct;
mod downloads;
mod plcapi;
mod range;
pub mod tls;

use axum::Router;
use axum::routing::{get, post};
use bootmedium_plc::Api;
use std::sync::Arc;
use std::time::Duration;

/// Settings of the HTTP layer (`[server]` of bootmedium.toml; the defaults are documented
/// there and in [`conn`]'s module doc).
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// A new connection must have sent its first request's headers within this time.
    pub header_timeout: Duration,
    /// An idle keep-alive connection must start its next request within this time.
    pub keepalive_timeout: Duration,
    /// A request body must arrive within this time plus one second per `body_min_rate` bytes.
    pub body_timeout: Duration,
    /// Bytes per second a long request body must keep up (0: `body_timeout` is the whole time).
    pub body_min_rate: u64,
    /// A client that accepts no response bytes for this long is dropped.
    pub send_timeout: Duration,
    /// Open connections at most (the longest-idle one makes room for a new one).
    pub max_connections: usize,
    /// Open connections from one IP address at most.
    pub max_connections_per_ip: usize,
    /// How long shutdown waits for requests in flight.
    pub shutdown_grace: Duration,
    /// Cramfs-type download media kept built while their links live, at most.
    pub download_cache_media: usize,
    /// Bytes of temporary files those media may hold, at most.
    pub download_cache_bytes: u64,
    /// Peers whose client-address header is believed (none by default).
    pub trusted_proxies: Vec<client::ProxyNet>,
    /// The header a trusted proxy puts the client address in.
    pub client_address_header: String,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            max_body_bytes: 16 * 1024 * 1024,
            header_timeout: Duration::from_secs(10),
            keepalive_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(30),
            body_min_rate: 32 * 1024,
            send_timeout: Duration::from_secs(60),
            max_connections: 2048,
            max_connections_per_ip: 256,
            shutdown_grace: Duration::from_secs(10),
            download_cache_media: 16,
            download_cache_bytes: 2 * 1024 * 1024 * 1024,
            trusted_proxies: Vec::new(),
            client_address_header: "X-Forwarded-For".to_owned(),
        }
    }
}

struct AppState {
    api: Api,
    settings: ServerSettings,
    downloads: cache::MediaCache,
    /// Downloads being opened (ledger row read, medium prepared) at once: one per core. When a
    /// thousand nodes ask at once, the rest wait here, not in the database pool's queue or for
    /// the CPU, where they would hold up every API call behind them.
    opening: tokio::sync::Semaphore,
    /// How a request's client address is found.
    client: client::ClientAddressRule,
}

impl AppState {
    /// The client address of a request from `peer` (see [`client`]).
    pub(crate) fn client_ip(&self, peer: std::net::SocketAddr, headers: &axum::http::HeaderMap) -> std::net::IpAddr {
        self.client.client(peer.ip(), headers)
    }
}

/// The application's routes.
pub fn router(api: Api, settings: ServerSettings) -> Router {
    let downloads = cache::MediaCache::new(settings.download_cache_media, settings.download_cache_bytes);
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let opening = tokio::sync::Semaphore::new(cores);
    let client = client::ClientAddressRule {
        trusted_proxies: settings.trusted_proxies.clone(),
        header: settings.client_address_header.to_ascii_lowercase(),
    };
    let state = Arc::new(AppState { api, settings, downloads, opening, client });
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/api/v1/media", post(downloads::issue))
        .route("/media/{id}", get(downloads::serve))
        .fallback(fallback)
        .with_state(state)
}

/// The paths axum's router cannot spell (`//boot/`, `//PLCAPI//`): the boot pages, else the
/// XML-RPC endpoint (which answers 404 to anything else).
async fn fallback(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    req: axum::extract::Request,
) -> axum::response::Response {
    let client = state.client_ip(peer, req.headers());
    match boot::page_of(req.uri().path()) {
        Some(page) => boot::serve(state, page, client, req).await,
        None => plcapi::dispatch(state, client, req).await,
    }
}

/// A listening socket, plain HTTP or HTTPS.
pub struct Listener {
    tcp: tokio::net::TcpListener,
    tls: Option<Arc<tls::Certificates>>,
}

impl Listener {
    /// Plain HTTP on `tcp`.
    pub fn http(tcp: tokio::net::TcpListener) -> Self {
        Listener { tcp, tls: None }
    }

    /// HTTPS on `tcp`, with `certificates` (which the caller may reload).
    pub fn https(tcp: tokio::net::TcpListener, certificates: Arc<tls::Certificates>) -> Self {
        Listener { tcp, tls: Some(certificates) }
    }
}

/// Serves on every listener (one set of connection caps for all) until `shutdown` resolves,
/// then lets requests in flight finish for at most `settings.shutdown_grace`.
pub async fn serve(
    listeners: Vec<Listener>,
    app: Router,
    settings: ServerSettings,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    conn::serve(listeners, app, settings, shutdown).await
}
