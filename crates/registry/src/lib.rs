//! The PLC registry: the one crate that knows SQL.
//!
//! It owns the schema (versioned migrations that run unchanged on SQLite and PostgreSQL), the
//! table descriptions the API filters and returns (`views`), and transactions. Every statement is
//! built from `&'static str` fragments written in this crate; values supplied by clients only ever
//! travel as bound parameters, never as SQL text.
#![forbid(unsafe_code)]

/// The live (not soft-deleted) condition of nodes, sites and persons over the table alias `$t`:
/// one text for the class's `TableSpec::live` and for the statements in `ops` that filter on it
/// (a macro, so both are `&'static str` built at compile time).
macro_rules! node_live {
    ($t:literal) => {
        concat!($t, ".deleted = 0")
    };
}
macro_rules! site_live {
    ($t:literal) => {
        concat!($t, ".deleted = 0")
    };
}
macro_rules! person_live {
    ($t:literal) => {
        concat!($t, ".deleted = 0")
    };
}

mod migrate;
pub mod ops;
mod query;
mod store;
mod value;
pub mod views;

pub use query::{Cell, CmpOp, Cond, FieldRef, Query, Row, SortKey};
pub use store::{Backend, Registry, Tx};
pub use value::SqlValue;
pub use views::{FieldKind, FieldSpec, Given, Readers, TableSpec, Write, WriteOp, Writers};

/// Entry points for the fuzz targets in `fuzz/`; not part of the API.
#[doc(hidden)]
pub mod fuzzing {
    /// The SQL text of `query` and the number of parameters bound to it, as a read on
    /// `backend` would send them.
    pub fn select_sql(backend: crate::Backend, query: &crate::Query) -> (String, usize) {
        let built = crate::query::build_select(backend, query);
        (built.sql, built.params.len())
    }
}

/// The statements a read sends, text and bound values, for the golden tests
/// (`tests/sql_golden/`); not part of the API.
#[doc(hidden)]
pub mod compiled {
    use crate::query::build_select;
    use crate::{Backend, Query, SqlValue};

    /// The main statement of `query`: its scalar fields, condition, order and paging.
    pub fn select(backend: Backend, query: &Query) -> (String, Vec<SqlValue>) {
        let built = build_select(backend, query);
        (built.sql, built.params)
    }
}

/// Fresh databases for tests: SQLite always, PostgreSQL too when `BOOTMEDIUM_TEST_POSTGRES_URL`
/// names a server (a database of its own, created with `psql` and dropped with the value).
#[cfg(feature = "testing")]
#[doc(hidden)]
pub mod testing {
    use crate::{Backend, Registry};
    use std::process::{Command, Stdio};
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A migrated registry on a database of its own.
    pub struct TestDb {
        pub registry: Registry,
        pub url: String,
        pub backend: Backend,
        /// A scratch directory that lives as long as the database (the SQLite file is in it).
        pub dir: tempfile::TempDir,
        /// The admin URL and the name of a PostgreSQL database to drop.
        pg: Option<(String, String)>,
    }

    impl Drop for TestDb {
        fn drop(&mut self) {
            if let Some((admin, name)) = &self.pg {
                let _ = Command::new("psql")
                    .args([admin.as_str(), "-q", "-c", &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")])
                    .stdin(Stdio::null())
                    .output();
            }
        }
    }

    /// The URL of a new, empty PostgreSQL database named after `prefix` (and its name), when the
    /// environment names a server.
    fn postgres_database(prefix: &str) -> Option<(String, String, String)> {
        let admin = std::env::var("BOOTMEDIUM_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty())?;
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!("bm_{prefix}_{}_{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst));
        let created = Command::new("psql")
            .args([admin.as_str(), "-v", "ON_ERROR_STOP=1", "-q", "-c", &format!("CREATE DATABASE {name}")])
            .stdin(Stdio::null())
            .output()
            .expect("run psql");
        assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
        let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin).to_string();
        Some((format!("{base}/{name}"), admin, name))
    }

    /// SQLite always; PostgreSQL too when the environment names a server. `prefix` names the
    /// PostgreSQL databases (`bm_<prefix>_<pid>_<n>`).
    pub async fn databases(prefix: &str) -> Vec<TestDb> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite:{}", dir.path().join("t.db").display());
        let registry = Registry::open(&url).await.expect("open the SQLite test database");
        let mut out = vec![TestDb { registry, url, backend: Backend::Sqlite, dir, pg: None }];
        if let Some((url, admin, name)) = postgres_database(prefix) {
            let registry = Registry::open(&url).await.expect("open the PostgreSQL test database");
            let dir = tempfile::tempdir().expect("a temporary directory");
            out.push(TestDb { registry, url, backend: Backend::Postgres, dir, pg: Some((admin, name)) });
        }
        out
    }
}

/// What can go wrong talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot open database {url}: {source}")]
    Open { url: String, source: sqlx::Error },
    #[error("unsupported database URL {0:?}: expected sqlite:… or postgres://…")]
    UnsupportedUrl(String),
    #[error("migration {version} ({name}) failed: {source}")]
    Migration { version: i64, name: &'static str, source: sqlx::Error },
    #[error("the database schema is at version {found}, newer than this program knows ({known})")]
    SchemaTooNew { found: i64, known: i64 },
    /// A UNIQUE or PRIMARY KEY constraint refused the write (a concurrent writer won a race).
    #[error("a row with the same unique key already exists")]
    Conflict,
    /// A FOREIGN KEY constraint refused the write.
    #[error("a referenced row does not exist")]
    MissingReference,
    /// The database's file system (or PostgreSQL's) is full: nothing of the transaction was
    /// written, and writes work again once space is freed.
    #[error("the database's disk is full: {0}")]
    DiskFull(sqlx::Error),
    #[error("database error: {0}")]
    Sql(sqlx::Error),
    /// A column came back NULL (or of another type) where the statement's Rust type has no
    /// room for that: the schema and the statement disagree.
    #[error("cannot decode column {column}: {source}")]
    Decode { column: &'static str, source: sqlx::Error },
    /// A statement on a transaction that has ended: committed, or not reopened for writing
    /// (see `Tx::reopen_for_write`).
    #[error("the transaction has ended")]
    Ended,
    /// A write on a reading transaction (a bug of the caller: writes belong in a transaction
    /// from `Registry::begin_write` or `Tx::reopen_for_write`).
    #[error("a write on a reading transaction")]
    ReadOnly,
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            match db.kind() {
                sqlx::error::ErrorKind::UniqueViolation => return Error::Conflict,
                sqlx::error::ErrorKind::ForeignKeyViolation => return Error::MissingReference,
                _ => {}
            }
            // SQLITE_FULL (13, also for a full disk under the WAL) and PostgreSQL's disk_full.
            if matches!(db.code().as_deref(), Some("13" | "53100")) {
                return Error::DiskFull(e);
            }
        }
        Error::Sql(e)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
