//! Get* filters and return fields (docs/plc-api.md §10.3), turned into registry queries.
//!
//! Filter forms: nil (everything), a bare int (primary key), a bare string (secondary key), a
//! list of both, or a struct of field criteria with the prefixes `~ < > [ ] & |` and the
//! specials `-SORT -OFFSET -LIMIT -AND -OR`. Field names are checked against the class (and its
//! exposed tags); they never reach SQL as text.
//!
//! A field's [`Readers`] (declared with the field in the registry's views) bound every use a
//! client makes of it: a field the [`Viewer`] may not read is left out of the output and refused
//! (fault 102) in criteria, patterns and `-SORT`, since comparisons alone would leak it.

use crate::args::as_int;
use crate::caller::Caller;
use crate::fault::{Fault, MethodResult};
use bootmedium_registry::{Cell, CmpOp, Cond, FieldKind, FieldRef, Query, Readers, Row, SortKey, SqlValue, TableSpec};
use bootmedium_xmlrpc::Value;
use std::collections::BTreeMap;

/// The tags a class exposes as pseudo-fields (readable, filterable).
pub fn exposed_tags(table: &TableSpec) -> &'static [&'static str] {
    match table.class {
        "Node" => &["arch", "pldistro", "fcdistro", "virt", "deployment", "extensions", "hrn"],
        "Interface" => &["ifname"],
        _ => &[],
    }
}

/// Whose request a filter or field list is: decides which fields it may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    /// An administrator (a person with the admin role): every field.
    Admin,
    /// Anyone else, nodes and anonymous callers included: fields readable by anyone.
    Restricted,
}

impl Viewer {
    pub fn of(caller: &Caller) -> Viewer {
        if caller.is_admin() && caller.person().is_some() { Viewer::Admin } else { Viewer::Restricted }
    }

    pub fn may_read(self, field: &FieldRef) -> bool {
        match field.readers() {
            Readers::Anyone => true,
            Readers::Admins => self == Viewer::Admin,
            Readers::Nobody => false,
        }
    }
}

/// A field a client names in a filter or `-SORT`: it must exist and be readable by the viewer.
fn client_field(table: &'static TableSpec, name: &str, viewer: Viewer, what: &str) -> MethodResult<FieldRef> {
    let field = field_ref(table, name).ok_or_else(|| Fault::invalid(format!("Invalid {what} field '{name}'")))?;
    if !viewer.may_read(&field) {
        return Err(Fault::invalid(format!(
            "Invalid {what} field '{name}': {} field '{name}' is not readable by this caller",
            table.class
        )));
    }
    Ok(field)
}

/// A field clients may name. A field nobody reads (a person's password) is no field to them:
/// naming it is the fault an unknown name gets.
fn field_ref(table: &'static TableSpec, name: &str) -> Option<FieldRef> {
    if let Some(f) = table.field(name).filter(|f| f.readers != Readers::Nobody) {
        return Some(FieldRef::Field(f));
    }
    if table.has_tags() && exposed_tags(table).contains(&name) {
        return Some(FieldRef::Tag(name.to_string()));
    }
    None
}

fn pk(table: &'static TableSpec) -> MethodResult<FieldRef> {
    field_ref(table, table.primary_key).ok_or_else(|| Fault::internal("class without primary key"))
}

fn is_pattern(s: &str) -> bool {
    s.contains('*') || s.contains('%')
}

/// `*` and `%` match any run of characters; `_` and `\` are literal.
fn like_pattern(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '*' | '%' => out.push('%'),
            '_' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            other => out.push(other),
        }
    }
    out
}

/// Converts a filter value to the field's type.
fn coerce(field: &FieldRef, v: &Value) -> MethodResult<SqlValue> {
    let bad = || Fault::invalid(format!("Invalid filter value for '{}': {}", field.name(), v.type_name()));
    Ok(match field.kind() {
        FieldKind::Int | FieldKind::IntList | FieldKind::Bool => match v {
            Value::String(s) => SqlValue::int(s.trim().parse().map_err(|_| bad())?),
            other => SqlValue::int(as_int(other).ok_or_else(bad)?),
        },
        FieldKind::Float => match v {
            Value::Double(d) => SqlValue::Float(Some(*d)),
            other => SqlValue::Float(Some(as_int(other).ok_or_else(bad)? as f64)),
        },
        FieldKind::Text | FieldKind::TextList => match v {
            Value::String(s) => SqlValue::text(s.clone()),
            Value::Int(i) => SqlValue::text(i.to_string()),
            _ => return Err(bad()),
        },
    })
}

fn scalar_cond(field: FieldRef, op: CmpOp, v: &Value) -> MethodResult<Cond> {
    match v {
        Value::Nil => Ok(Cond::IsNull(field)),
        Value::Array(items) => {
            let values = items.iter().map(|i| coerce(&field, i)).collect::<MethodResult<Vec<_>>>()?;
            Ok(Cond::In(field, values))
        }
        Value::String(s) if op == CmpOp::Eq && is_pattern(s) => {
            if field.kind() != FieldKind::Text {
                return Err(Fault::invalid(format!("Cannot use a pattern on field '{}'", field.name())));
            }
            Ok(Cond::Like(field, like_pattern(s)))
        }
        other => Ok(Cond::Compare(field.clone(), op, coerce(&field, other)?)),
    }
}

fn key_cond(table: &'static TableSpec, v: &Value) -> MethodResult<Cond> {
    match v {
        Value::String(s) => {
            let Some(sk) = table.secondary_key.and_then(|k| field_ref(table, k)) else {
                return Err(Fault::invalid(format!("{} filter must be an id or a list of ids", table.class)));
            };
            scalar_cond(sk, CmpOp::Eq, &Value::String(s.clone()))
        }
        other => {
            let id = as_int(other).ok_or_else(|| {
                Fault::invalid(format!("Invalid {} filter element {}", table.class, other.type_name()))
            })?;
            Ok(Cond::Compare(pk(table)?, CmpOp::Eq, SqlValue::int(id)))
        }
    }
}

/// A parsed filter: the condition plus ordering and paging.
pub struct Filter {
    pub cond: Cond,
    pub sort: Vec<SortKey>,
    pub offset: Option<i64>,
    pub limit: Option<i64>,
}

/// The most values one filter may hold (list elements, summed over the whole filter); the
/// registry tests each list as one set, so this bounds work per call, not SQL size.
pub const MAX_FILTER_VALUES: usize = 10_000;

fn count_values(v: &Value) -> usize {
    match v {
        Value::Array(items) => items.iter().map(count_values).sum(),
        Value::Struct(m) => m.values().map(count_values).sum(),
        _ => 1,
    }
}

/// `[1, 'a.example.org', 'b*', …]`: ids as one set on the primary key, names as one set on the
/// secondary key, patterns one by one.
fn key_list_cond(table: &'static TableSpec, items: &[Value]) -> MethodResult<Cond> {
    let (mut ids, mut names, mut others) = (Vec::new(), Vec::new(), Vec::new());
    for item in items {
        match item {
            Value::String(s) if !is_pattern(s) && table.secondary_key.is_some() => names.push(s.clone()),
            Value::String(_) => others.push(key_cond(table, item)?),
            other => match as_int(other) {
                Some(id) => ids.push(SqlValue::int(id)),
                None => others.push(key_cond(table, other)?),
            },
        }
    }
    let mut conds = Vec::new();
    if !ids.is_empty() {
        conds.push(Cond::In(pk(table)?, ids));
    }
    if let Some(sk) = table.secondary_key.and_then(|k| field_ref(table, k)).filter(|_| !names.is_empty()) {
        conds.push(Cond::In(sk, names.into_iter().map(SqlValue::text).collect()));
    }
    conds.extend(others);
    Ok(Cond::Or(conds))
}

/// Parses a client's filter; key fields (primary and secondary) are readable by everyone.
pub fn parse_filter(table: &'static TableSpec, v: &Value, viewer: Viewer) -> MethodResult<Filter> {
    let n = count_values(v);
    if n > MAX_FILTER_VALUES {
        return Err(Fault::invalid(format!(
            "a filter may hold at most {MAX_FILTER_VALUES} values, this one holds {n}"
        )));
    }
    let mut f = Filter { cond: Cond::True, sort: vec![], offset: None, limit: None };
    match v {
        Value::Nil => {}
        Value::Array(items) => f.cond = key_list_cond(table, items)?,
        Value::Struct(m) => parse_struct(table, m, viewer, &mut f)?,
        other => f.cond = key_cond(table, other)?,
    }
    Ok(f)
}

fn parse_struct(
    table: &'static TableSpec,
    m: &BTreeMap<String, Value>,
    viewer: Viewer,
    f: &mut Filter,
) -> MethodResult<()> {
    let mut conds = Vec::new();
    let mut use_or = false;
    for (key, v) in m {
        match key.as_str() {
            "-SORT" => f.sort = parse_sort(table, v, viewer)?,
            "-OFFSET" => f.offset = Some(non_negative(key, v)?),
            "-LIMIT" => f.limit = Some(non_negative(key, v)?),
            "-OR" => use_or = true,
            "-AND" => use_or = false,
            _ => conds.push(criterion(table, key, v, viewer)?),
        }
    }
    f.cond = if use_or { Cond::Or(conds) } else { Cond::And(conds) };
    Ok(())
}

fn non_negative(key: &str, v: &Value) -> MethodResult<i64> {
    match as_int(v) {
        Some(n) if n >= 0 => Ok(n),
        _ => Err(Fault::invalid(format!("{key} must be a non-negative integer"))),
    }
}

fn criterion(table: &'static TableSpec, key: &str, v: &Value, viewer: Viewer) -> MethodResult<Cond> {
    let (prefix, name) = match key.chars().next() {
        Some(c @ ('~' | '<' | '>' | '[' | ']' | '&' | '|')) => (Some(c), &key[1..]),
        _ => (None, key),
    };
    let field = client_field(table, name, viewer, "filter")?;
    let list_values = |v: &Value| -> MethodResult<Vec<SqlValue>> {
        match v {
            Value::Array(items) => items.iter().map(|i| coerce(&field, i)).collect(),
            other => Ok(vec![coerce(&field, other)?]),
        }
    };
    Ok(match prefix {
        None => scalar_cond(field.clone(), CmpOp::Eq, v)?,
        Some('~') => Cond::Not(Box::new(scalar_cond(field.clone(), CmpOp::Eq, v)?)),
        Some('<') => Cond::Compare(field.clone(), CmpOp::Lt, coerce(&field, v)?),
        Some('>') => Cond::Compare(field.clone(), CmpOp::Gt, coerce(&field, v)?),
        Some('[') => Cond::Compare(field.clone(), CmpOp::Le, coerce(&field, v)?),
        Some(']') => Cond::Compare(field.clone(), CmpOp::Ge, coerce(&field, v)?),
        Some('&') => Cond::ContainsAll(field.clone(), list_values(v)?),
        Some(_) => Cond::ContainsAny(field.clone(), list_values(v)?),
    })
}

fn parse_sort(table: &'static TableSpec, v: &Value, viewer: Viewer) -> MethodResult<Vec<SortKey>> {
    let names: Vec<&str> = match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().ok_or_else(|| Fault::invalid("-SORT takes field names")))
            .collect::<MethodResult<_>>()?,
        _ => return Err(Fault::invalid("-SORT takes a field name or a list of them")),
    };
    names
        .into_iter()
        .map(|n| {
            let (descending, name) = match n.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, n.strip_prefix('+').unwrap_or(n)),
            };
            let field = client_field(table, name, viewer, "sort")?;
            if field.kind().is_list() {
                return Err(Fault::invalid(format!("Invalid sort field '{name}'")));
            }
            Ok(SortKey { field, descending })
        })
        .collect()
}

/// The fields to return: nil means every native field the viewer may read; names may include
/// exposed tags. Named fields the viewer may not read are left out, as upstream leaves them out
/// of its answer; when nothing readable is left the call is refused.
pub fn parse_return_fields(table: &'static TableSpec, v: &Value, viewer: Viewer) -> MethodResult<Vec<FieldRef>> {
    match v {
        Value::Nil => Ok(table.fields.iter().map(FieldRef::Field).filter(|f| viewer.may_read(f)).collect()),
        Value::Array(items) => {
            let mut fields = Vec::new();
            let mut unknown = Vec::new();
            let mut hidden = Vec::new();
            for i in items {
                let name = i.as_str().unwrap_or_default();
                match field_ref(table, name) {
                    Some(f) if !viewer.may_read(&f) => hidden.push(name.to_string()),
                    Some(f) if !fields.iter().any(|x: &FieldRef| x.name() == name) => fields.push(f),
                    Some(_) => {}
                    None => unknown.push(name.to_string()),
                }
            }
            if !unknown.is_empty() {
                return Err(Fault::invalid(format!(
                    "unknown column(s) specified {} in {}",
                    crate::roles::python_list(&unknown),
                    table.class
                )));
            }
            if fields.is_empty() && !hidden.is_empty() {
                return Err(Fault::invalid(format!(
                    "{} field(s) {} are not readable by this caller",
                    table.class,
                    crate::roles::python_list(&hidden)
                )));
            }
            if fields.is_empty() {
                return Err(Fault::invalid(format!("No valid return fields specified for class {}", table.class)));
            }
            Ok(fields)
        }
        _ => Err(Fault::invalid("return_fields must be a list of field names")),
    }
}

/// A query from the usual `(filter, return_fields)` pair.
pub fn query(table: &'static TableSpec, filter: &Value, return_fields: &Value, viewer: Viewer) -> MethodResult<Query> {
    let f = parse_filter(table, filter, viewer)?;
    Ok(Query {
        table,
        cond: f.cond,
        fields: parse_return_fields(table, return_fields, viewer)?,
        sort: f.sort,
        offset: f.offset,
        limit: f.limit,
    })
}

/// A registry row as an XML-RPC struct.
pub fn row_to_value(row: Row) -> Value {
    let mut m = BTreeMap::new();
    for (name, cell) in row.cells {
        let v = match cell {
            Cell::Scalar(SqlValue::Int(Some(i))) => Value::Int(i),
            Cell::Scalar(SqlValue::Float(Some(f))) => Value::Double(f),
            Cell::Scalar(SqlValue::Text(Some(s))) => Value::String(s),
            Cell::Scalar(_) | Cell::Bool(None) => Value::Nil,
            Cell::Bool(Some(b)) => Value::Bool(b),
            Cell::IntList(v) => Value::Array(v.into_iter().map(Value::Int).collect()),
            Cell::TextList(v) => Value::Array(v.into_iter().map(Value::String).collect()),
        };
        m.insert(name, v);
    }
    Value::Struct(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bootmedium_registry::views::NODE;

    #[test]
    fn patterns_escape_sql_wildcards() {
        assert_eq!(like_pattern("*.edu"), "%.edu");
        assert_eq!(like_pattern("a_b%"), "a\\_b%");
    }

    /// Every admin-only field of every class, under every way a filter can name it: refused
    /// for everyone else before any SQL runs, accepted for admins.
    #[test]
    fn admin_only_fields_cannot_be_filtered_or_sorted_by_others() {
        let mut checked = 0;
        for table in bootmedium_registry::views::ALL {
            for f in table.fields.iter().filter(|f| f.readers == Readers::Admins) {
                let value = match f.kind {
                    FieldKind::Text | FieldKind::TextList => Value::from("M*"),
                    _ => Value::Int(5),
                };
                let mut filters: Vec<Value> = ["", "~", "<", ">", "[", "]", "&", "|"]
                    .iter()
                    .map(|prefix| {
                        let mut m = BTreeMap::new();
                        m.insert(format!("{prefix}{}", f.name), value.clone());
                        Value::Struct(m)
                    })
                    .collect();
                for v in [Value::Nil, Value::Array(vec![value.clone()])] {
                    let mut m = BTreeMap::new();
                    m.insert(f.name.to_string(), v);
                    filters.push(Value::Struct(m));
                }
                for sort in [Value::from(f.name), Value::from(format!("-{}", f.name))] {
                    let mut m = BTreeMap::new();
                    m.insert("-SORT".to_string(), Value::Array(vec![Value::from(table.primary_key), sort]));
                    filters.push(Value::Struct(m));
                }
                for filter in &filters {
                    let e = parse_filter(table, filter, Viewer::Restricted)
                        .err()
                        .unwrap_or_else(|| panic!("{}: {filter:?} accepted for a restricted viewer", table.class));
                    assert_eq!(e.code, 102, "{}: {filter:?}", table.class);
                    assert!(e.message.contains(&format!("'{}'", f.name)), "{}", e.message);
                    assert!(parse_filter(table, filter, Viewer::Admin).is_ok() || f.kind.is_list());
                    checked += 1;
                }
                let fields = parse_return_fields(table, &Value::Nil, Viewer::Restricted).unwrap_or_default();
                assert!(fields.iter().all(|r| r.name() != f.name));
                let named = Value::Array(vec![Value::from(table.primary_key), Value::from(f.name)]);
                let fields = parse_return_fields(table, &named, Viewer::Restricted).unwrap_or_default();
                assert_eq!(fields.len(), 1, "{}", table.class);
                let alone = Value::Array(vec![Value::from(f.name)]);
                assert_eq!(parse_return_fields(table, &alone, Viewer::Restricted).err().map(|e| e.code), Some(102));
                assert_eq!(parse_return_fields(table, &alone, Viewer::Admin).map(|v| v.len()).ok(), Some(1));
            }
        }
        // key, session and boot_nonce of Node; verification_key and verification_expires of Person.
        assert_eq!(checked, 5 * 12);
    }

    /// A field nobody reads (a person's password) is unknown to every viewer, admins included:
    /// not returned, not comparable, not sortable, with the faults an unknown name gets.
    #[test]
    fn write_only_fields_are_unknown_to_every_reader() {
        let mut checked = 0;
        for table in bootmedium_registry::views::ALL {
            for f in table.fields.iter().filter(|f| f.readers == Readers::Nobody) {
                for viewer in [Viewer::Admin, Viewer::Restricted] {
                    let mut m = BTreeMap::new();
                    m.insert(f.name.to_string(), Value::from("x"));
                    let e = parse_filter(table, &Value::Struct(m), viewer).err().unwrap();
                    assert_eq!(e.message, format!("Invalid argument: Invalid filter field '{}'", f.name));
                    let mut m = BTreeMap::new();
                    m.insert("-SORT".to_string(), Value::from(f.name));
                    assert_eq!(parse_filter(table, &Value::Struct(m), viewer).err().map(|e| e.code), Some(102));
                    let all = parse_return_fields(table, &Value::Nil, viewer).unwrap();
                    assert!(all.iter().all(|r| r.name() != f.name));
                    let e = parse_return_fields(table, &Value::Array(vec![Value::from(f.name)]), viewer).err().unwrap();
                    assert_eq!(
                        e.message,
                        format!("Invalid argument: unknown column(s) specified ['{}'] in {}", f.name, table.class)
                    );
                    checked += 1;
                }
            }
        }
        // A person's password.
        assert_eq!(checked, 2);
    }

    #[test]
    fn unknown_filter_fields_are_refused() {
        let mut m = BTreeMap::new();
        m.insert("hostname; DROP TABLE nodes".to_string(), Value::from("x"));
        let e = parse_filter(&NODE, &Value::Struct(m), Viewer::Admin).err().unwrap();
        assert_eq!(e.code, 102);
        assert!(e.message.contains("Invalid filter field"));
    }

    #[test]
    fn return_fields_errors() {
        let e = parse_return_fields(&NODE, &Value::Array(vec!["nope".into()]), Viewer::Admin).err().unwrap();
        assert_eq!(e.message, "Invalid argument: unknown column(s) specified ['nope'] in Node");
        let e = parse_return_fields(&NODE, &Value::Array(vec![]), Viewer::Admin).err().unwrap();
        assert_eq!(e.message, "Invalid argument: No valid return fields specified for class Node");
        let f =
            parse_return_fields(&NODE, &Value::Array(vec!["hostname".into(), "arch".into()]), Viewer::Admin).unwrap();
        assert_eq!(f.len(), 2);
    }
}
