//! Helpers shared by the methods: reading rows, resolving id-or-name arguments, and checking the
//! fields of Add*/Update* structs.

use crate::args::{Datum, Done, Fields, IdOrName};
use crate::context::Cx;
use crate::fault::{Fault, MethodResult};
use crate::filter::{self, Filter, ReturnFields, Viewer};
use crate::validate::check_max_bytes;
use bootmedium_registry::{CmpOp, Cond, FieldRef, Query, Row, SqlValue, TableSpec};

/// Reads rows of `table` named by a client's filter, with the given fields (names written in
/// this crate, so they may be fields the caller cannot read itself).
pub async fn select(
    cx: &mut Cx<'_>,
    table: &'static TableSpec,
    filter: &Filter,
    fields: &[&str],
) -> MethodResult<Vec<Row>> {
    let f = filter::parse_filter(table, filter, Viewer::of(&cx.caller))?;
    let fields = field_refs(table, fields)?;
    Ok(cx.tx.select(&Query { table, cond: f.cond, fields, sort: f.sort, offset: f.offset, limit: f.limit }).await?)
}

/// The standard `Get*(auth, filter, return_fields)` body (either left out: everything).
pub async fn get(
    cx: &mut Cx<'_>,
    table: &'static TableSpec,
    filter: Option<Filter>,
    return_fields: Option<ReturnFields>,
) -> MethodResult<Vec<Row>> {
    let (filter, return_fields) = (filter.unwrap_or_default(), return_fields.unwrap_or_default());
    let q = filter::query(table, &filter, &return_fields, Viewer::of(&cx.caller))?;
    Ok(cx.tx.select(&q).await?)
}

/// Finds exactly one row by id or name. `what` names the class in the fault
/// (`No such node 'x'`).
pub async fn find_one(
    cx: &mut Cx<'_>,
    table: &'static TableSpec,
    key: &IdOrName,
    fields: &[&str],
    what: &str,
) -> MethodResult<Row> {
    let cond = match key {
        IdOrName::Id(id) => Cond::Compare(field(table, table.primary_key)?, CmpOp::Eq, SqlValue::int(*id)),
        IdOrName::Name(n) => match table.secondary_key {
            Some(sk) => Cond::Compare(field(table, sk)?, CmpOp::Eq, SqlValue::text(n.as_str())),
            None => return Err(Fault::invalid(format!("No such {what} {}", key.py_repr()))),
        },
    };
    let fields = field_refs(table, fields)?;
    let rows = cx.tx.select(&Query { table, cond, fields, sort: vec![], offset: None, limit: Some(1) }).await?;
    rows.into_iter().next().ok_or_else(|| Fault::invalid(format!("No such {what} {}", key.py_repr())))
}

/// The named fields of a class (names written in this crate, not by clients).
fn field_refs(table: &'static TableSpec, names: &[&str]) -> MethodResult<Vec<FieldRef>> {
    names.iter().map(|n| field(table, n)).collect()
}

pub fn field(table: &'static TableSpec, name: &str) -> MethodResult<FieldRef> {
    table.field(name).map(FieldRef::Field).ok_or_else(|| Fault::internal(format!("unknown field {name}")))
}

/// How a writable field is typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WTy {
    Int,
    Str,
    Bool,
    Double,
}

/// One field an Add*/Update* method accepts.
#[derive(Debug, Clone, Copy)]
pub struct WField {
    pub name: &'static str,
    pub column: &'static str,
    pub ty: WTy,
    pub max_bytes: usize,
    pub nullok: bool,
}

pub const fn w(name: &'static str, ty: WTy, max_bytes: usize) -> WField {
    WField { name, column: name, ty, max_bytes, nullok: true }
}

/// A checked field value.
#[derive(Debug, Clone)]
pub struct Written {
    pub field: WField,
    pub value: SqlValue,
}

impl Written {
    pub fn text(&self) -> Option<&str> {
        self.value.as_text()
    }
}

fn convert(f: &WField, v: &Datum) -> MethodResult<SqlValue> {
    let mismatch = || {
        let exp = match f.ty {
            WTy::Int => "int",
            WTy::Str => "string",
            WTy::Bool => "boolean",
            WTy::Double => "double",
        };
        Fault::invalid_named(f.name, format!("expected {exp}, got {}", v.type_name()))
    };
    if matches!(v, Datum::Nil) {
        if !f.nullok {
            return Err(mismatch());
        }
        return Ok(match f.ty {
            WTy::Int | WTy::Bool => SqlValue::Int(None),
            WTy::Double => SqlValue::Float(None),
            WTy::Str => SqlValue::Text(None),
        });
    }
    Ok(match (f.ty, v) {
        (WTy::Int, Datum::Int(_) | Datum::Bool(_)) => {
            // PLC's integer columns are 32-bit.
            let n = v.as_int().unwrap_or(0);
            if i32::try_from(n).is_err() {
                return Err(Fault::invalid(format!("{} must fit in 32 bits", f.name)));
            }
            SqlValue::int(n)
        }
        (WTy::Bool, Datum::Bool(b)) => SqlValue::bool(*b),
        (WTy::Double, Datum::Double(d)) => SqlValue::Float(Some(*d)),
        (WTy::Double, Datum::Int(i)) => SqlValue::Float(Some(*i as f64)),
        (WTy::Str, Datum::Str(s)) => {
            check_max_bytes(f.name, s, f.max_bytes)?;
            SqlValue::text(s.clone())
        }
        _ => return Err(mismatch()),
    })
}

/// A tag given as a pseudo-field: (tag name, value).
pub type TagValue = (String, String);

/// Checks an Add*/Update* struct: every key must be one of `accepted` or of `tags`; values are
/// type-checked and length-checked. Returns the native fields and the tag values separately.
pub fn collect(
    class: &str,
    adding: bool,
    accepted: &[WField],
    tags: &[&str],
    fields: &Fields,
) -> MethodResult<(Vec<Written>, Vec<TagValue>)> {
    let unknown: Vec<&String> = fields
        .keys()
        .filter(|k| !accepted.iter().any(|a| a.name == k.as_str()) && !tags.contains(&k.as_str()))
        .collect();
    if !unknown.is_empty() {
        let list = crate::roles::python_list(&unknown);
        return Err(Fault::invalid(if adding {
            format!("Cannot add {class} with column(s) {list}")
        } else {
            format!("Cannot update {class} column(s) {list}")
        }));
    }
    let mut native = Vec::new();
    let mut tag_values = Vec::new();
    for (k, v) in fields {
        if let Some(f) = accepted.iter().find(|a| a.name == k.as_str()) {
            native.push(Written { field: *f, value: convert(f, v)? });
        } else {
            let s =
                v.as_str().ok_or_else(|| Fault::invalid_named(k, format!("expected string, got {}", v.type_name())))?;
            tag_values.push((k.clone(), s.to_string()));
        }
    }
    Ok((native, tag_values))
}

pub fn find<'a>(written: &'a [Written], name: &str) -> Option<&'a Written> {
    written.iter().find(|w| w.field.name == name)
}

/// The columns to store.
pub fn columns(written: &[Written]) -> Vec<(&'static str, SqlValue)> {
    written.iter().map(|w| (w.field.column, w.value.clone())).collect()
}

/// 1, the usual return of Update*/Delete*.
pub fn one() -> Done {
    Done
}
