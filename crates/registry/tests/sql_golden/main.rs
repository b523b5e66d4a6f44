//! Golden tests of the condition-tree → SQL compiler (crates/registry/src/query.rs: `Cond`,
//! `FieldRef`, tag pseudo-fields, list fields and their fill statements, sort, paging, the live
//! condition, JSON-array sets for In / ContainsAny / ContainsAll), per docs/plc-api.md §10.3's filters.
//!
//! - `cases.rs`: the case table, one row per case, with the ids each returns.
//! - `golden.rs`: each case's SQL and bound values for SQLite and for PostgreSQL, compared with
//!   `tests/golden/sqlite.sql` and `tests/golden/postgres.sql`. After a deliberate change to
//!   the compiler, regenerate them and review the diff:
//!   `UPDATE_GOLDEN=1 cargo test -p bootmedium-registry --test sql_golden`
//! - here, the runner: every case executed on a real SQLite database (a temporary file,
//!   migrated by `Registry::open`) holding the rows of `fixture.rs`, and, when
//!   `BOOTMEDIUM_TEST_POSTGRES_URL` is set, on PostgreSQL in a fresh schema of that database:
//!   each backend must return the case's ids, and both the same rows, so a statement that only
//!   one engine accepts, or reads differently, fails.

mod cases;
mod fixture;
mod golden;

use bootmedium_registry::{Backend, Registry, Row};
use cases::Case;

#[test]
fn golden_sql() {
    let cases = cases::cases();
    let mut failures = Vec::new();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        if let Err(e) = golden::check(backend, &cases) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn case_names_are_unique() {
    let cases = cases::cases();
    let mut names: Vec<&str> = cases.iter().map(|c| c.name).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len(), "two cases share a name");
}

/// The ids of the rows (the primary key is every case's first field).
fn ids(rows: &[Row], case: &Case) -> Vec<i64> {
    let pk = case.query.table.primary_key;
    rows.iter().map(|r| r.int(pk).unwrap_or(i64::MIN)).collect()
}

/// Runs every case; the rows of each, or a description of what went wrong.
async fn run_all(registry: &Registry, cases: &[Case]) -> Vec<Result<Vec<Row>, String>> {
    let mut out = Vec::with_capacity(cases.len());
    for case in cases {
        let result = async {
            let mut tx = registry.begin_read().await?;
            let rows = tx.select(&case.query).await?;
            tx.commit().await?;
            Ok::<_, bootmedium_registry::Error>(rows)
        }
        .await;
        out.push(result.map_err(|e| e.to_string()));
    }
    out
}

/// Checks one backend's results against the table; returns the failures.
fn check_ids(backend: Backend, cases: &[Case], results: &[Result<Vec<Row>, String>]) -> Vec<String> {
    let mut failures = Vec::new();
    for (case, result) in cases.iter().zip(results) {
        let expected = match (backend, case.postgres_differs) {
            (Backend::Postgres, Some((ids, _))) => ids,
            _ => case.ids,
        };
        match result {
            Err(e) => failures.push(format!("{backend:?} {}: {e}", case.name)),
            Ok(rows) if ids(rows, case) != expected => {
                failures.push(format!("{backend:?} {}: ids {:?}, expected {expected:?}", case.name, ids(rows, case)))
            }
            Ok(_) => {}
        }
    }
    failures
}

async fn sqlite_registry(dir: &tempfile::TempDir) -> Registry {
    let url = format!("sqlite:{}", dir.path().join("golden.db").display());
    let registry = Registry::open(&url).await.expect("open SQLite");
    fixture::load(&registry).await.expect("load the fixture into SQLite");
    registry
}

/// A fresh schema in the database `admin_url` names, dropped by [`PgSchema::drop_now`].
struct PgSchema {
    admin_url: String,
    name: String,
    /// Whether the database orders text by bytes, as SQLite does (its collation is C).
    bytewise_text: bool,
}

impl PgSchema {
    async fn create(admin_url: &str) -> PgSchema {
        use sqlx::Connection as _;
        sqlx::any::install_default_drivers();
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let name = format!("golden_{}_{nanos}", std::process::id());
        let mut conn = sqlx::AnyConnection::connect(admin_url).await.expect("connect to PostgreSQL");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
            .execute(&mut conn)
            .await
            .expect("CREATE SCHEMA");
        let bytewise: i64 = sqlx::query("SELECT CAST(CASE WHEN 'B' < 'a' THEN 1 ELSE 0 END AS BIGINT)")
            .fetch_one(&mut conn)
            .await
            .and_then(|row| sqlx::Row::try_get(&row, 0))
            .expect("ask how the database orders text");
        conn.close().await.expect("close");
        PgSchema { admin_url: admin_url.to_string(), name, bytewise_text: bytewise == 1 }
    }

    /// The URL of the same database with this schema first (and only) on the search path, so
    /// the migrations create their tables in it.
    fn url(&self) -> String {
        let sep = if self.admin_url.contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-c%20search_path%3D{}", self.admin_url, self.name)
    }

    async fn drop_now(self) {
        use sqlx::Connection as _;
        if let Ok(mut conn) = sqlx::AnyConnection::connect(&self.admin_url).await {
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {} CASCADE", self.name)))
                .execute(&mut conn)
                .await;
            let _ = conn.close().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cases_run_on_both_backends() {
    let cases = cases::cases();
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite = sqlite_registry(&dir).await;
    let sqlite_results = run_all(&sqlite, &cases).await;
    sqlite.close().await;
    let mut failures = check_ids(Backend::Sqlite, &cases, &sqlite_results);
    let mut note = "";

    match std::env::var("BOOTMEDIUM_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty()) {
        None => eprintln!("BOOTMEDIUM_TEST_POSTGRES_URL is not set: the cases ran on SQLite only"),
        Some(admin_url) => {
            let schema = PgSchema::create(&admin_url).await;
            let pg_results = async {
                let registry = Registry::open(&schema.url()).await.map_err(|e| e.to_string())?;
                fixture::load(&registry).await.map_err(|e| e.to_string())?;
                let results = run_all(&registry, &cases).await;
                registry.close().await;
                Ok::<_, String>(results)
            }
            .await;
            if !schema.bytewise_text {
                note = "\n(this PostgreSQL database's collation does not order text by bytes as SQLite does: \
                        the cases comparing or sorting text read differently)";
            }
            schema.drop_now().await;
            let pg_results = pg_results.expect("PostgreSQL registry with the fixture");
            failures.extend(check_ids(Backend::Postgres, &cases, &pg_results));
            // Beyond the ids, every field of every row (lists included) must read the same.
            for ((case, lite), pg) in cases.iter().zip(&sqlite_results).zip(&pg_results) {
                if let (Ok(lite), Ok(pg), None) = (lite, pg, case.postgres_differs)
                    && lite != pg
                {
                    failures.push(format!("{}: SQLite read {lite:?}\nPostgreSQL read {pg:?}", case.name));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}{note}", failures.len(), cases.len(), failures.join("\n"));
}
