//! Shared pieces of the fuzz targets: building XML-RPC values from fuzz bytes with a dictionary
//! of the words the PLC API knows (so the filter target reaches past "unknown field"), and
//! walking every entry of a file system image with bounded work.
#![forbid(unsafe_code)]

use arbitrary::{Result, Unstructured};
use bootmedium_registry::TableSpec;
use bootmedium_registry::views;
use bootmedium_xmlrpc::Value;
use std::collections::BTreeMap;

/// Every class a Get* method or a lookup reads through the filter compiler.
pub const TABLES: &[&TableSpec] = &[
    &views::NODE,
    &views::INTERFACE,
    &views::SITE,
    &views::PERSON,
    &views::TAG_TYPE,
    &views::NODE_TAG,
    &views::INTERFACE_TAG,
    &views::NODE_GROUP,
    &views::ROLE,
    &views::EVENT,
    &views::EVENT_OBJECT,
    &views::ISSUED_MEDIUM,
];

/// Filter keys without a field: the specials of docs/plc-api.md §10.3.
const SPECIALS: &[&str] = &["-SORT", "-OFFSET", "-LIMIT", "-AND", "-OR"];
/// Field prefixes of a filter key, and the sort direction prefixes.
const PREFIXES: &[&str] = &["", "~", "<", ">", "[", "]", "&", "|", "-", "+"];
/// Strings the filter compiler treats specially (patterns, numbers, empties).
const WORDS: &[&str] = &["*", "%", "_", "\\", "*.edu", "a%b_c\\", "", " 1 ", "-1", "9223372036854775808", "1e3"];

/// How deep generated arrays and structs nest.
const MAX_DEPTH: usize = 4;

/// A field or exposed-tag name of any class, sometimes with a prefix.
fn known_name(u: &mut Unstructured<'_>) -> Result<String> {
    let table = u.choose(TABLES)?;
    let mut names: Vec<&str> = table.fields.iter().map(|f| f.name).collect();
    names.extend_from_slice(bootmedium_plc::filter::exposed_tags(table));
    let name = u.choose(&names)?;
    let prefix = u.choose(PREFIXES)?;
    Ok(format!("{prefix}{name}"))
}

/// A string: mostly words the API knows, sometimes arbitrary text.
pub fn string(u: &mut Unstructured<'_>) -> Result<String> {
    Ok(match u.int_in_range(0..=3u8)? {
        0 => known_name(u)?,
        1 => (*u.choose(SPECIALS)?).to_owned(),
        2 => (*u.choose(WORDS)?).to_owned(),
        _ => u.arbitrary()?,
    })
}

/// An XML-RPC value of any type, nested at most [`MAX_DEPTH`] deep.
pub fn value(u: &mut Unstructured<'_>, depth: usize) -> Result<Value> {
    let nested = depth < MAX_DEPTH;
    Ok(match u.int_in_range(0..=if nested { 9u8 } else { 7 })? {
        0 => Value::Nil,
        1 => Value::Int(*u.choose(&[0, 1, -1, 2, i64::from(i32::MAX) + 1, i64::MIN, i64::MAX])?),
        2 => Value::Int(u.arbitrary()?),
        3 => Value::Bool(u.arbitrary()?),
        4 => Value::Double(u.arbitrary()?),
        5 | 6 => Value::String(string(u)?),
        7 => {
            if u.arbitrary()? {
                Value::Base64(u.arbitrary()?)
            } else {
                Value::DateTime(u.arbitrary()?)
            }
        }
        8 => {
            let mut items = Vec::new();
            u.arbitrary_loop(None, Some(16), |u| {
                items.push(value(u, depth + 1)?);
                Ok(std::ops::ControlFlow::Continue(()))
            })?;
            Value::Array(items)
        }
        _ => {
            let mut members = BTreeMap::new();
            u.arbitrary_loop(None, Some(16), |u| {
                members.insert(string(u)?, value(u, depth + 1)?);
                Ok(std::ops::ControlFlow::Continue(()))
            })?;
            Value::Struct(members)
        }
    })
}

/// Whether every double in `v` is finite (XML-RPC cannot carry the others, so the writer sends
/// them as nil and a round trip changes them).
pub fn all_finite(v: &Value) -> bool {
    match v {
        Value::Double(d) => d.is_finite(),
        Value::Array(items) => items.iter().all(all_finite),
        Value::Struct(members) => members.values().all(all_finite),
        _ => true,
    }
}
