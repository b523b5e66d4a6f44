//! Versioned schema migrations. Each migration is one SQL file applied in one transaction; the
//! `schema_migrations` table records what has been applied. Several instances sharing one
//! PostgreSQL database may start at once: the first takes a table lock, the others wait and then
//! find nothing left to do.

use crate::store::{Backend, Registry};
use crate::{Error, Result};

struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, name: "initial", sql: include_str!("../migrations/0001_initial.sql") },
    Migration { version: 2, name: "issued_media", sql: include_str!("../migrations/0002_issued_media.sql") },
    Migration { version: 3, name: "result_files", sql: include_str!("../migrations/0003_result_files.sql") },
    Migration { version: 4, name: "node_side", sql: include_str!("../migrations/0004_node_side.sql") },
    Migration {
        version: 5,
        name: "event_object_index",
        sql: include_str!("../migrations/0005_event_object_index.sql"),
    },
    Migration { version: 6, name: "list_indexes", sql: include_str!("../migrations/0006_list_indexes.sql") },
    Migration { version: 7, name: "current_key_index", sql: include_str!("../migrations/0007_current_key_index.sql") },
];

pub(crate) async fn run(registry: &Registry) -> Result<()> {
    let mut tx = registry.begin_write().await?;
    tx.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        &[],
    )
    .await?;
    if registry.backend() == Backend::Postgres {
        tx.execute("LOCK TABLE schema_migrations IN EXCLUSIVE MODE", &[]).await?;
    }
    let rows =
        tx.fetch("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[], &[crate::FieldKind::Int]).await?;
    let current = rows.first().and_then(|r| r.first()).and_then(|v| v.as_int()).unwrap_or(0);
    let known = MIGRATIONS.last().map(|m| m.version).unwrap_or(0);
    if current > known {
        return Err(Error::SchemaTooNew { found: current, known });
    }
    for m in MIGRATIONS.iter().filter(|m| m.version > current) {
        let sql = m.sql.replace("{{ID}}", registry.backend().id_column());
        for stmt in statements(&sql) {
            tx.execute_owned(stmt).await.map_err(|e| Error::Migration {
                version: m.version,
                name: m.name,
                source: e,
            })?;
        }
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            &[crate::SqlValue::int(m.version), crate::SqlValue::text(m.name), crate::SqlValue::int(now())],
        )
        .await?;
    }
    tx.commit().await
}

/// Splits a migration file into statements at `;` line ends, dropping comment lines.
fn statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in sql.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("--") || trimmed.is_empty() {
            continue;
        }
        cur.push_str(line);
        cur.push('\n');
        if trimmed.ends_with(';') {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn splits_statements_and_drops_comments() {
        let s = super::statements("-- c\nCREATE TABLE a (x INT);\n\nINSERT INTO a VALUES (1),\n (2);\n");
        assert_eq!(s, vec!["CREATE TABLE a (x INT);\n", "INSERT INTO a VALUES (1),\n (2);\n"]);
    }
}
