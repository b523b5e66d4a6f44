//! The API in process on every backend: a registry per backend (SQLite always, PostgreSQL when
//! `BOOTMEDIUM_TEST_POSTGRES_URL` names a server) with the administrator, and an `Api` over it.
//!
//! Two shapes: [`databases`] (async, with the demo site) for the typed entry points, and
//! [`each_backend`] (synchronous, the registry as `bootmedium init` leaves it) for tests written
//! against `bootmedium_testkit::Client`, the helper surface the binary's integration tests use
//! too, so a test reads the same in process as over HTTP.

use bootmedium_plc::bootstrap::{self, DEMO};
use bootmedium_plc::{Api, PlcConfig, Reply};
use bootmedium_registry::Backend;
use bootmedium_registry::testing::{self, TestDb};
use bootmedium_testkit::{ADMIN_EMAIL, ADMIN_PASSWORD, Answer, Client, PLC_NAME};
use bootmedium_xmlrpc::Value;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, OnceLock};

pub use bootmedium_testkit::{admin_auth as admin, password_auth};

/// An `Api` over a fresh database (the database is dropped with it).
pub struct Db {
    pub api: Arc<Api>,
    pub backend: &'static str,
    pub dir: std::path::PathBuf,
    db: TestDb,
}

impl Db {
    /// The registry under the `Api`, for setting up reference data no method writes.
    pub fn registry(&self) -> &bootmedium_registry::Registry {
        &self.db.registry
    }
}

fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

/// SQLite always; PostgreSQL too when the environment names one: each with the administrator
/// and the demo site.
pub async fn databases() -> Vec<Db> {
    let mut out = Vec::new();
    for db in testing::databases("domain").await {
        let config = PlcConfig::default();
        bootstrap::initialise(&db.registry, &config, ADMIN_EMAIL, ADMIN_PASSWORD).await.unwrap();
        bootstrap::seed_demo(&db.registry).await.unwrap();
        let api = Arc::new(Api::new(db.registry.clone(), config));
        out.push(Db { api, backend: backend_name(db.backend), dir: db.dir.path().to_path_buf(), db });
    }
    out
}

pub fn pi() -> Value {
    password_auth(DEMO.pi_email, DEMO.pi_password)
}

/// A call's value; panics with the fault otherwise.
pub async fn value(api: &Api, method: &str, params: Vec<Value>) -> Value {
    match api.call(method, &params, None).await.result {
        Ok(Reply::Value(v)) => v,
        Ok(Reply::Medium(_)) => panic!("{method} answered an image"),
        Err(f) => panic!("{method}: fault {} {}", f.code, f.message),
    }
}

/// A call's fault; panics when it succeeds.
pub async fn fault(api: &Api, method: &str, params: Vec<Value>) -> bootmedium_plc::Fault {
    match api.call(method, &params, None).await.result {
        Ok(_) => panic!("{method} succeeded"),
        Err(f) => f,
    }
}

/// A session for `auth`'s caller.
pub async fn session(api: &Api, auth: Value) -> String {
    value(api, "GetSession", vec![auth]).await.as_str().unwrap().to_string()
}

// ---------------------------------------------------------------------------------------------
// The synchronous client

/// The API of one backend, called in process: a [`Client`] like the integration tests' server.
/// Calls come from 127.0.0.1 unless [`Plc::call_from`] says otherwise, as a local HTTP client's
/// would.
pub struct Plc {
    pub api: Arc<Api>,
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    admin_session: OnceLock<String>,
    // Dropped in this order: the API's pool, then the database, then the runtime it ran on.
    db: TestDb,
    runtime: Arc<tokio::runtime::Runtime>,
}

impl Plc {
    /// The configuration the API runs with.
    pub fn config(&self) -> &PlcConfig {
        &self.api.config
    }

    /// [`Client::call`] from another client address.
    pub fn call_from(&self, peer: IpAddr, method: &str, params: Vec<Value>) -> Answer {
        let outcome = self.runtime.block_on(self.api.call(method, &params, Some(peer)));
        match outcome.result {
            Ok(Reply::Value(v)) => Ok(v),
            Ok(Reply::Medium(_)) => panic!("{method} answered an image"),
            Err(f) => Err((f.code, f.message)),
        }
    }
}

impl Client for Plc {
    fn call(&self, method: &str, params: Vec<Value>) -> Answer {
        self.call_from(IpAddr::V4(Ipv4Addr::LOCALHOST), method, params)
    }

    fn admin_session(&self) -> &OnceLock<String> {
        &self.admin_session
    }

    fn registry_url(&self) -> String {
        self.db.url.clone()
    }
}

/// A fresh registry per backend as `bootmedium init` and `serve` leave it (the standard tag
/// types, the message templates, the system site and the administrator; no demo data), with the
/// API configured by `configure` from the defaults `init` writes.
fn backends(configure: &dyn Fn(&mut PlcConfig)) -> Vec<Plc> {
    let runtime = Arc::new(
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a tokio runtime"),
    );
    let dbs = runtime.block_on(testing::databases("domain"));
    dbs.into_iter()
        .map(|db| {
            let mut config = PlcConfig::default();
            config.plc.name = PLC_NAME.to_string();
            config.medium.results_dir = db.dir.path().join("results");
            configure(&mut config);
            runtime.block_on(async {
                bootmedium_plc::standard_tags::ensure_all(&db.registry).await.unwrap();
                bootstrap::ensure_messages(&db.registry).await.unwrap();
                bootstrap::initialise(&db.registry, &config, ADMIN_EMAIL, ADMIN_PASSWORD).await.unwrap();
            });
            let api = Arc::new(Api::new(db.registry.clone(), config));
            Plc { api, backend: backend_name(db.backend), admin_session: OnceLock::new(), db, runtime: runtime.clone() }
        })
        .collect()
}

/// Runs `test` on every backend at once (a thread each), with the default configuration; a
/// failure names its backend.
pub fn each_backend(test: impl Fn(&Plc) + Sync) {
    each_backend_with(|_| {}, test)
}

/// [`each_backend`] with the configuration changed by `configure` first.
pub fn each_backend_with(configure: impl Fn(&mut PlcConfig), test: impl Fn(&Plc) + Sync) {
    let plcs = backends(&configure);
    let failures: Vec<String> = std::thread::scope(|scope| {
        let running: Vec<_> = plcs.iter().map(|plc| (plc.backend, scope.spawn(|| test(plc)))).collect();
        running
            .into_iter()
            .filter_map(|(backend, handle)| {
                let panic = handle.join().err()?;
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|m| m.to_string()))
                    .unwrap_or_default();
                Some(format!("on {backend}: {message}"))
            })
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Runs `test` on SQLite alone, configured by `configure`: for what concerns SQLite's one
/// writer at a time (PostgreSQL's BEGIN takes no lock).
pub fn on_sqlite_with(configure: impl Fn(&mut PlcConfig), test: impl Fn(&Plc)) {
    let plcs = backends(&configure);
    let sqlite = plcs.iter().find(|p| p.backend == "sqlite").expect("the SQLite backend");
    test(sqlite);
}
