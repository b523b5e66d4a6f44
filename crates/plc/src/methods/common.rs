//! Helpers shared by the methods: reading rows, resolving id-or-name arguments, and checking the
//! fields of Add*/Update* structs against the class description (the registry's views: each
//! field's type, limits, when it may be written and by whom; docs/plc-api.md §4).

use crate::args::{Datum, Done, Fields, IdOrName};
use crate::caller::Caller;
use crate::context::Cx;
use crate::fault::{Fault, MethodResult};
use crate::filter::{self, Filter, ReturnFields, Viewer};
use crate::roles::Role;
use crate::validate::check_max_bytes;
use bootmedium_registry::{
    CmpOp, Cond, FieldKind, FieldRef, FieldSpec, Given, Query, Row, SqlValue, TableSpec, WriteOp, Writers,
};

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
    spec(table, name).map(FieldRef::Field)
}

/// A role by id or name: its id and name (AddRoleToPerson, AddRoleToTagType, …).
pub async fn role(cx: &mut Cx<'_>, key: &IdOrName) -> MethodResult<(i64, String)> {
    let rows = select(cx, &bootmedium_registry::views::ROLE, &Filter::One(key.clone()), &["role_id", "name"]).await?;
    match rows.first() {
        Some(r) => Ok((r.int("role_id").unwrap_or(0), r.text("name").unwrap_or_default().to_string())),
        None => Err(Fault::invalid(format!("Invalid role {}", key.py_repr()))),
    }
}

/// A checked field value.
#[derive(Debug, Clone)]
pub struct Written {
    pub field: &'static FieldSpec,
    pub value: SqlValue,
}

impl Written {
    pub fn text(&self) -> Option<&str> {
        self.value.as_text()
    }
}

/// A field of `table` by a name written in this crate.
pub fn spec(table: &'static TableSpec, name: &str) -> MethodResult<&'static FieldSpec> {
    table.field(name).ok_or_else(|| Fault::internal(format!("unknown field {name}")))
}

/// Checks a text given to a method as an argument (not in a struct) against its field's
/// `max_bytes` in the class description.
pub fn check_text(table: &'static TableSpec, name: &str, value: &str) -> MethodResult<()> {
    check_max_bytes(name, value, spec(table, name)?.max_bytes)
}

/// Whether `caller` is one of a field's writers (the description's roles; a node holds `node`).
pub fn may_write(caller: &Caller, writers: Writers) -> bool {
    match caller {
        Caller::Person(p) => writers.admits(&p.roles),
        Caller::Node(_) => writers.admits(&[Role::Node.name()]),
        Caller::Anonymous => false,
    }
}

fn convert(f: &FieldSpec, v: &Datum) -> MethodResult<SqlValue> {
    let mismatch = || {
        let exp = match f.kind {
            FieldKind::Int => "int",
            FieldKind::Text => "string",
            FieldKind::Bool => "boolean",
            FieldKind::Float => "double",
            FieldKind::IntList | FieldKind::TextList => "array",
        };
        Fault::invalid_named(f.name, format!("expected {exp}, got {}", v.type_name()))
    };
    if matches!(v, Datum::Nil) {
        if !f.nullok {
            return Err(mismatch());
        }
        return Ok(match f.kind {
            FieldKind::Int | FieldKind::Bool => SqlValue::Int(None),
            FieldKind::Float => SqlValue::Float(None),
            FieldKind::Text => SqlValue::Text(None),
            FieldKind::IntList | FieldKind::TextList => return Err(mismatch()),
        });
    }
    Ok(match (f.kind, v) {
        (FieldKind::Int, Datum::Int(_) | Datum::Bool(_)) => {
            // PLC's integer columns are 32-bit.
            let n = v.as_int().unwrap_or(0);
            if i32::try_from(n).is_err() {
                return Err(Fault::invalid(format!("{} must fit in 32 bits", f.name)));
            }
            SqlValue::int(n)
        }
        (FieldKind::Bool, Datum::Bool(b)) => SqlValue::bool(*b),
        (FieldKind::Float, Datum::Double(d)) => SqlValue::Float(Some(*d)),
        (FieldKind::Float, Datum::Int(i)) => SqlValue::Float(Some(*i as f64)),
        (FieldKind::Text, Datum::Str(s)) => {
            check_max_bytes(f.name, s, f.max_bytes)?;
            SqlValue::text(s.clone())
        }
        _ => return Err(mismatch()),
    })
}

/// A tag given as a pseudo-field: (tag name, value).
pub type TagValue = (String, String);

/// Checks an Add*/Update* struct against the class description: every key must be a field
/// the operation takes (`Write`) or one of `tags`; values are type-checked and length-checked.
/// Fields the operation drops are left out unchecked; values of fields the caller is not one of
/// the writers of are checked, then left out (upstream drops them silently). Returns the native
/// fields and the tag values separately.
pub fn collect(
    table: &'static TableSpec,
    op: WriteOp,
    caller: &Caller,
    tags: &[&str],
    fields: &Fields,
) -> MethodResult<(Vec<Written>, Vec<TagValue>)> {
    let given = |k: &str| table.field(k).map(|f| (f, f.write.on(op)));
    let unknown: Vec<&String> = fields
        .keys()
        .filter(|k| matches!(given(k), None | Some((_, Given::Refused))) && !tags.contains(&k.as_str()))
        .collect();
    if !unknown.is_empty() {
        let list = crate::roles::python_list(&unknown);
        return Err(Fault::invalid(match op {
            WriteOp::Add => format!("Cannot add {} with column(s) {list}", table.class),
            WriteOp::Update => format!("Cannot update {} column(s) {list}", table.class),
        }));
    }
    let mut native = Vec::new();
    let mut tag_values = Vec::new();
    for (k, v) in fields {
        match given(k) {
            Some((f, Given::Taken)) => {
                let value = convert(f, v)?;
                if may_write(caller, f.writers) {
                    native.push(Written { field: f, value });
                }
            }
            Some((_, Given::Dropped)) => {}
            _ => {
                let s = v
                    .as_str()
                    .ok_or_else(|| Fault::invalid_named(k, format!("expected string, got {}", v.type_name())))?;
                tag_values.push((k.clone(), s.to_string()));
            }
        }
    }
    Ok((native, tag_values))
}

pub fn find<'a>(written: &'a [Written], name: &str) -> Option<&'a Written> {
    written.iter().find(|w| w.field.name == name)
}

/// The columns to store. A field that is no column of the class's table (a node's `session`)
/// is stored by its method.
pub fn columns(written: &[Written]) -> Vec<(&'static str, SqlValue)> {
    written.iter().filter_map(|w| w.field.column().map(|c| (c, w.value.clone()))).collect()
}

/// 1, the usual return of Update*/Delete*.
pub fn one() -> Done {
    Done
}
