//! A registry per backend with the administrator and the demo site (a PI, a node with a
//! static primary interface), and an `Api` over it.

use bootmedium_plc::bootstrap::{self, DEMO};
use bootmedium_plc::{Api, PlcConfig, Reply};
use bootmedium_registry::Registry;
use bootmedium_xmlrpc::Value;
use std::collections::BTreeMap;
use std::process::{Command, Stdio};

pub const ADMIN: (&str, &str) = ("admin@test.example.org", "admin-password");

/// An `Api` on a fresh database; a PostgreSQL one is dropped with it.
pub struct Db {
    pub api: std::sync::Arc<Api>,
    pub backend: &'static str,
    pg: Option<(String, String)>,
    pub dir: tempfile::TempDir,
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.pg {
            let _ = Command::new("psql")
                .args([admin.as_str(), "-q", "-c", &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")])
                .stdin(Stdio::null())
                .output();
        }
    }
}

async fn prepared(url: &str) -> Api {
    let registry = Registry::open(url).await.unwrap();
    let config = PlcConfig::default();
    bootstrap::initialise(&registry, &config, ADMIN.0, ADMIN.1).await.unwrap();
    bootstrap::seed_demo(&registry).await.unwrap();
    Api::new(registry, config)
}

/// SQLite always; PostgreSQL too when the environment names one.
pub async fn databases() -> Vec<Db> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("t.db").display());
    let mut out = vec![Db { api: std::sync::Arc::new(prepared(&url).await), backend: "sqlite", pg: None, dir }];
    if let Some(admin) = std::env::var("BOOTMEDIUM_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty()) {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let name = format!("bm_domain_{}_{}", std::process::id(), N.fetch_add(1, std::sync::atomic::Ordering::SeqCst));
        let created = Command::new("psql")
            .args([admin.as_str(), "-v", "ON_ERROR_STOP=1", "-q", "-c", &format!("CREATE DATABASE {name}")])
            .stdin(Stdio::null())
            .output()
            .expect("run psql");
        assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
        let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
        let api = prepared(&format!("{base}/{name}")).await;
        out.push(Db {
            api: std::sync::Arc::new(api),
            backend: "postgres",
            pg: Some((admin, name)),
            dir: tempfile::tempdir().unwrap(),
        });
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
