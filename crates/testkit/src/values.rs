//! Value builders and readers, auth structs, assertions.

use crate::{ADMIN_EMAIL, ADMIN_PASSWORD, st};
use bootmedium_xmlrpc::Value;
use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub fn nil() -> Value {
    Value::Nil
}

pub fn s(text: &str) -> Value {
    Value::String(text.to_owned())
}

pub fn i(n: i64) -> Value {
    Value::Int(n)
}

/// An array of ints.
pub fn ints(ns: &[i64]) -> Value {
    Value::Array(ns.iter().map(|n| Value::Int(*n)).collect())
}

/// An array of strings.
pub fn strs(items: &[&str]) -> Value {
    Value::Array(items.iter().map(|t| s(t)).collect())
}

pub fn password_auth(email: &str, password: &str) -> Value {
    st! { "AuthMethod" => "password", "Username" => email, "AuthString" => password }
}

pub fn admin_auth() -> Value {
    password_auth(ADMIN_EMAIL, ADMIN_PASSWORD)
}

pub fn session_auth(session: &str) -> Value {
    st! { "AuthMethod" => "session", "session" => session }
}

pub fn anonymous_auth() -> Value {
    st! { "AuthMethod" => "anonymous" }
}

/// Member `key` of a struct, panicking with the struct when absent.
pub fn field<'a>(row: &'a Value, key: &str) -> &'a Value {
    row.get(key).unwrap_or_else(|| panic!("no field {key:?} in {row:?}"))
}

pub fn int_of(v: &Value) -> i64 {
    v.as_int().unwrap_or_else(|| panic!("expected an int, got {v:?}"))
}

pub fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("expected a string, got {v:?}"))
}

pub fn array_of(v: &Value) -> &[Value] {
    v.as_array().unwrap_or_else(|| panic!("expected an array, got {v:?}"))
}

/// The ints of an int array, sorted.
pub fn sorted_ints(v: &Value) -> Vec<i64> {
    let mut out: Vec<i64> = array_of(v).iter().map(int_of).collect();
    out.sort();
    out
}

/// The strings of a string array, sorted.
pub fn sorted_strs(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = array_of(v).iter().map(|x| str_of(x).to_owned()).collect();
    out.sort();
    out
}

/// The sorted key set of a struct.
pub fn keys_of(row: &Value) -> Vec<String> {
    row.as_struct().unwrap_or_else(|| panic!("expected a struct, got {row:?}")).keys().cloned().collect()
}

/// Asserts that `row` has exactly the keys `expected` (order irrelevant).
pub fn assert_keys(row: &Value, expected: &[&str]) {
    let mut want: Vec<String> = expected.iter().map(|k| (*k).to_owned()).collect();
    want.sort();
    let got = keys_of(row);
    let missing: Vec<&String> = want.iter().filter(|k| !got.contains(k)).collect();
    let extra: Vec<&String> = got.iter().filter(|k| !want.contains(k)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "key set differs: missing {missing:?}, unexpected {extra:?} in {row:?}"
    );
}

/// Asserts `row[key] == value` for every pair.
pub fn assert_fields(row: &Value, expected: &[(&str, Value)]) {
    for (key, value) in expected {
        assert_eq!(field(row, key), value, "field {key:?} of {row:?}");
    }
}

/// Asserts a timestamp field is an int epoch within [lo, hi] (seconds).
pub fn assert_time_between(row: &Value, key: &str, lo: i64, hi: i64) {
    let t = int_of(field(row, key));
    assert!(t >= lo - 2 && t <= hi + 2, "timestamp {key} = {t} not within [{lo}, {hi}] in {row:?}");
}

pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Asserts a fault `code` (and, when non-empty, that the message contains `needle`).
#[track_caller]
pub fn assert_fault(result: &Result<Value, (i64, String)>, code: i64, needle: &str) {
    match result {
        Ok(v) => panic!("expected fault {code} ({needle:?}), got success {v:?}"),
        Err((c, m)) => {
            assert_eq!(*c, code, "fault code (message {m:?}), expected message containing {needle:?}");
            assert!(m.contains(needle), "fault {c} message {m:?} does not contain {needle:?}");
        }
    }
}

/// Runs a closure and returns its result with the elapsed time (for diagnostics).
pub fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let t = f();
    (t, start.elapsed())
}

/// A struct from key/value pairs (for computed keys).
pub fn struct_of(pairs: Vec<(&str, Value)>) -> Value {
    Value::Struct(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<BTreeMap<_, _>>())
}

/// A compact, deterministic text form of a value (structs are already key-sorted).
pub fn canonical(v: &Value) -> String {
    match v {
        Value::Struct(m) => {
            let inner: Vec<String> = m.iter().map(|(k, x)| format!("{k}={}", canonical(x))).collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(canonical).collect::<Vec<_>>().join(",")),
        other => format!("{other:?}"),
    }
}

/// Line diff of two snapshots (for assertion messages).
pub fn snapshot_diff(before: &str, after: &str) -> String {
    let b: Vec<&str> = before.lines().collect();
    let a: Vec<&str> = after.lines().collect();
    let mut out = String::new();
    for line in &b {
        if !a.contains(line) {
            out.push_str(&format!("- {line}\n"));
        }
    }
    for line in &a {
        if !b.contains(line) {
            out.push_str(&format!("+ {line}\n"));
        }
    }
    out
}

/// A finished command's status and output, for assertion messages.
pub fn describe(out: &std::process::Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
