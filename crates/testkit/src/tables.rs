//! Tables of cases: a refusal row per case, and the failed rows reported together.

use bootmedium_xmlrpc::Value;

/// A row of a refusal table: `method(params…)` must fault with `code`, its message containing
/// `needle` (empty: any message).
pub struct Refusal {
    pub name: String,
    pub method: &'static str,
    pub params: Vec<Value>,
    pub code: i64,
    pub needle: String,
}

/// A [`Refusal`] row.
pub fn refusal(
    name: impl Into<String>,
    method: &'static str,
    params: Vec<Value>,
    code: i64,
    needle: impl Into<String>,
) -> Refusal {
    Refusal { name: name.into(), method, params, code, needle: needle.into() }
}

/// The failed rows of a table, reported together: a failing row does not hide the rows after it.
#[derive(Default)]
pub struct Failures {
    rows: usize,
    failed: Vec<String>,
}

impl Failures {
    /// Counts a row (for the report's "N of M").
    pub fn row(&mut self) {
        self.rows += 1;
    }

    /// Records why row `name` failed.
    pub fn fail(&mut self, name: &str, why: impl std::fmt::Display) {
        self.failed.push(format!("[{name}] {why}"));
    }

    /// Records a failure of row `name` unless `ok`.
    pub fn check(&mut self, name: &str, ok: bool, why: impl FnOnce() -> String) {
        if !ok {
            self.fail(name, why());
        }
    }

    /// Records a failure of row `name` unless `got` is fault `code` with `needle` in its message.
    pub fn fault(&mut self, name: &str, got: &Result<Value, (i64, String)>, code: i64, needle: &str) {
        match got {
            Err((c, m)) if *c == code && m.contains(needle) => {}
            Err((c, m)) => self.fail(name, format!("expected fault {code} containing {needle:?}, got {c}: {m:?}")),
            Ok(v) => self.fail(name, format!("expected fault {code} containing {needle:?}, got success {v:?}")),
        }
    }

    /// Panics listing every failed row.
    #[track_caller]
    pub fn assert_none(&self, what: &str) {
        assert!(
            self.failed.is_empty(),
            "{} of {} {what} failed:\n{}",
            self.failed.len(),
            self.rows,
            self.failed.join("\n")
        );
    }
}
