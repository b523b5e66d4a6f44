//! A registry per backend with the administrator and the demo site (a PI, a node with a
//! static primary interface), and an `Api` over it.

use bootmedium_plc::bootstrap::{self, DEMO};
use bootmedium_plc::{Api, PlcConfig, Reply};
use bootmedium_registry::Backend;
use bootmedium_registry::testing::{self, TestDb};
use bootmedium_xmlrpc::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

pub const ADMIN: (&str, &str) = ("admin@test.example.org", "admin-password");

/// An `Api` over a fresh database (the database is dropped with it).
pub struct Db {
    pub api: Arc<Api>,
    pub backend: &'static str,
    pub dir: std::path::PathBuf,
    _db: TestDb,
}

impl Db {
    /// The registry under the `Api`, for setting up reference data no method writes.
    pub fn registry(&self) -> &bootmedium_registry::Registry {
        &self._db.registry
    }
}

/// SQLite always; PostgreSQL too when the environment names one: each with the administrator
/// and the demo site.
pub async fn databases() -> Vec<Db> {
    let mut out = Vec::new();
    for db in testing::databases("domain").await {
        let config = PlcConfig::default();
        bootstrap::initialise(&db.registry, &config, ADMIN.0, ADMIN.1).await.unwrap();
        bootstrap::seed_demo(&db.registry).await.unwrap();
        let backend = match db.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        };
        let api = Arc::new(Api::new(db.registry.clone(), config));
        out.push(Db { api, backend, dir: db.dir.path().to_path_buf(), _db: db });
    }
    out
}

pub fn password_auth(user: &str, password: &str) -> Value {
    let mut m = BTreeMap::new();
    m.insert("AuthMethod".to_string(), Value::from("password"));
    m.insert("Username".to_string(), Value::from(user));
    m.insert("AuthString".to_string(), Value::from(password));
    Value::Struct(m)
}

pub fn admin() -> Value {
    password_auth(ADMIN.0, ADMIN.1)
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

/// A struct argument.
pub fn fields(pairs: &[(&str, Value)]) -> Value {
    Value::Struct(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
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
