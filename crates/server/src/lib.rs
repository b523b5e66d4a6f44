//! The HTTP front end:
//! - `POST /PLCAPI/` (and `//PLCAPI//`) carries XML-RPC ([`plcapi`]);
//! - `POST /api/v1/media` issues a download link for a node's medium and `GET|HEAD /media/{id}`
//!   serves it, with ranges and resume ([`downloads`]);
//! - `GET /healthz` answers `ok`.
#![forbid(unsafe_code)]

mod body;
mod downloads;
mod plcapi;
mod range;

use axum::Router;
use axum::routing::{get, post};
use bootmedium_plc::Api;
use std::net::SocketAddr;
use std::sync::Arc;

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Largest accepted request body.
    pub max_body_bytes: usize,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings { max_body_bytes: 16 * 1024 * 1024 }
    }
}

struct AppState {
    api: Api,
    settings: ServerSettings,
}

/// The application's routes.
pub fn router(api: Api, settings: ServerSettings) -> Router {
    let state = Arc::new(AppState { api, settings });
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/api/v1/media", post(downloads::issue))
        .route("/media/{id}", get(downloads::serve))
        .fallback(plcapi::dispatch)
        .with_state(state)
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}
