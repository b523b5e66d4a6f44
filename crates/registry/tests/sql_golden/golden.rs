//! The golden files: per backend, every case's statements (the main SELECT, then one per list
//! field it returns) and their bound values, as text, compared with the committed file or
//! rewritten when `UPDATE_GOLDEN` is set.

use crate::cases::Case;
use bootmedium_registry::{Backend, SqlValue, compiled};
use std::fmt::Write as _;
use std::path::PathBuf;

pub const REGENERATE: &str = "UPDATE_GOLDEN=1 cargo test -p bootmedium-registry --test sql_golden";

pub fn path(backend: Backend) -> PathBuf {
    let name = match backend {
        Backend::Sqlite => "sqlite.sql",
        Backend::Postgres => "postgres.sql",
    };
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name)
}

fn describe(v: &SqlValue) -> String {
    match v {
        SqlValue::Int(Some(n)) => format!("int {n}"),
        SqlValue::Float(Some(f)) => format!("float {f:?}"),
        SqlValue::Text(Some(t)) => format!("text {t:?}"),
        SqlValue::Int(None) => "int NULL".into(),
        SqlValue::Float(None) => "float NULL".into(),
        SqlValue::Text(None) => "text NULL".into(),
    }
}

fn statement(out: &mut String, sql: &str, params: &[SqlValue]) {
    let _ = writeln!(out, "{sql};");
    for (n, v) in params.iter().enumerate() {
        let _ = writeln!(out, "--   ${} = {}", n + 1, describe(v));
    }
}

/// One case's section: a header naming it, then its statements.
pub fn section(backend: Backend, case: &Case) -> String {
    let q = &case.query;
    let mut out = format!("-- case {}\n--   {}", case.name, q.table.class);
    let fields: Vec<&str> = q.fields.iter().map(|f| f.name()).collect();
    let _ = write!(out, "; fields: {}", fields.join(", "));
    if !q.sort.is_empty() {
        let keys: Vec<String> =
            q.sort.iter().map(|k| format!("{}{}", if k.descending { "-" } else { "" }, k.field.name())).collect();
        let _ = write!(out, "; sort: {}", keys.join(", "));
    }
    if let Some(n) = q.limit {
        let _ = write!(out, "; limit {n}");
    }
    if let Some(n) = q.offset {
        let _ = write!(out, "; offset {n}");
    }
    out.push('\n');
    let (sql, params) = compiled::select(backend, q);
    statement(&mut out, &sql, &params);
    out
}

pub fn render(backend: Backend, cases: &[Case]) -> String {
    let name = match backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    };
    let mut out = format!(
        "-- The SQL the registry's condition-tree compiler (crates/registry/src/query.rs) sends to {name}\n\
         -- for each case of crates/registry/tests/sql_golden/cases.rs: the one statement (list fields as\n\
         -- JSON arrays in it), followed by its bound values.\n\
         -- Generated, do not edit: {REGENERATE}\n"
    );
    for case in cases {
        out.push('\n');
        out.push_str(&section(backend, case));
    }
    out
}

/// Compares the committed file with `render`'s text (or rewrites it under `UPDATE_GOLDEN`);
/// the error names the cases whose sections differ, with both versions.
pub fn check(backend: Backend, cases: &[Case]) -> Result<(), String> {
    let path = path(backend);
    let actual = render(backend, cases);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &actual).map_err(|e| format!("writing {}: {e}", path.display()))?;
        return Ok(());
    }
    let committed = std::fs::read_to_string(&path)
        .map_err(|e| format!("reading {}: {e} (generate it with {REGENERATE})", path.display()))?;
    if committed == actual {
        return Ok(());
    }
    let sections = |text: &str| -> Vec<(String, String)> {
        text.split("\n-- case ")
            .skip(1)
            .map(|s| {
                let name = s.lines().next().unwrap_or_default().to_string();
                (name, s.to_string())
            })
            .collect()
    };
    let old = sections(&committed);
    let new = sections(&actual);
    let mut report = format!("{} differs from the compiler's output ({REGENERATE} to accept it):\n", path.display());
    for (name, text) in &new {
        match old.iter().find(|(n, _)| n == name) {
            None => {
                let _ = writeln!(report, "\nnew case {name}:\n-- case {text}");
            }
            Some((_, was)) if was != text => {
                let _ = writeln!(report, "\ncase {name} was:\n-- case {was}now:\n-- case {text}");
            }
            Some(_) => {}
        }
    }
    for (name, _) in old.iter().filter(|(n, _)| !new.iter().any(|(m, _)| m == n)) {
        let _ = writeln!(report, "\ncase {name} is gone");
    }
    Err(report)
}
