//! Get* filters and return fields (PLC_SPEC §10.3), turned into registry queries.
//!
//! Filter forms: nil (everything), a bare int (primary key), a bare string (secondary key), a
//! list of both, or a struct of field criteria with the prefixes `~ < > [ ] & |` and the
//! specials `-SORT -OFFSET -LIMIT -AND -OR`. Field names are checked against the class (and its
//! exposed tags); they never reach SQL as text.

use crate::args::as_int;
use crate::fault::{Fault, MethodResult};
use bootmedium_registry::{Cell, CmpOp, Cond, FieldKind, FieldRef, Query, Row, SortKey, SqlValue, TableSpec};
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

fn field_ref(table: &'static TableSpec, name: &str) -> Option<FieldRef> {
    if let Some(f) = table.field(name) {
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

pub fn parse_filter(table: &'static TableSpec, v: &Value) -> MethodResult<Filter> {
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
        Value::Struct(m) => parse_struct(table, m, &mut f)?,
        other => f.cond = key_cond(table, other)?,
    }
    Ok(f)
}

fn parse_struct(table: &'static TableSpec, m: &BTreeMap<String, Value>, f: &mut Filter) -> MethodResult<()> {
    let mut conds = Vec::new();
    let mut use_or = false;
    for (key, v) in m {
        match key.as_str() {
            "-SORT" => f.sort = parse_sort(table, v)?,
            "-OFFSET" => f.offset = Some(non_negative(key, v)?),
            "-LIMIT" => f.limit = Some(non_negative(key, v)?),
            "-OR" => use_or = true,
            "-AND" => use_or = false,
            _ => conds.push(criterion(table, key, v)?),
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

fn criterion(table: &'static TableSpec, key: &str, v: &Value) -> MethodResult<Cond> {
    let (prefix, name) = match key.chars().next() {
        Some(c @ ('~' | '<' | '>' | '[' | ']' | '&' | '|')) => (Some(c), &key[1..]),
        _ => (None, key),
    };
    let field = field_ref(table, name).ok_or_else(|| Fault::invalid(format!("Invalid filter field '{name}'")))?;
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

fn parse_sort(table: &'static TableSpec, v: &Value) -> MethodResult<Vec<SortKey>> {
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
            let field = field_ref(table, name)
                .filter(|f| !f.kind().is_list())
                .ok_or_else(|| Fault::invalid(format!("Invalid sort field '{name}'")))?;
            Ok(SortKey { field, descending })
        })
        .collect()
}

/// The fields to return: nil means every native field; names may include exposed tags.
pub fn parse_return_fields(table: &'static TableSpec, v: &Value) -> MethodResult<Vec<FieldRef>> {
    match v {
        Value::Nil => Ok(table.fields.iter().map(FieldRef::Field).collect()),
        Value::Array(items) => {
            let mut fields = Vec::new();
            let mut unknown = Vec::new();
            for i in items {
                let name = i.as_str().unwrap_or_default();
                match field_ref(table, name) {
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
            if fields.is_empty() {
                return Err(Fault::invalid(format!("No valid return fields specified for class {}", table.class)));
            }
            Ok(fields)
        }
        _ => Err(Fault::invalid("return_fields must be a list of field names")),
    }
}

/// A query from the usual `(filter, return_fields)` pair.
pub fn query(table: &'static TableSpec, filter: &Value, return_fields: &Value) -> MethodResult<Query> {
    let f = parse_filter(table, filter)?;
    Ok(Query {
        table,
        cond: f.cond,
        fields: parse_return_fields(table, return_fields)?,
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

    #[test]
    fn unknown_filter_fields_are_refused() {
        let mut m = BTreeMap::new();
        m.insert("hostname; DROP TABLE nodes".to_string(), Value::from("x"));
        let e = parse_filter(&NODE, &Value::Struct(m)).err().unwrap();
        assert_eq!(e.code, 102);
        assert!(e.message.contains("Invalid filter field"));
    }

    #[test]
    fn return_fields_errors() {
        let e = parse_return_fields(&NODE, &Value::Array(vec!["nope".into()])).err().unwrap();
        assert_eq!(e.message, "Invalid argument: unknown column(s) specified ['nope'] in Node");
        let e = parse_return_fields(&NODE, &Value::Array(vec![])).err().unwrap();
        assert_eq!(e.message, "Invalid argument: No valid return fields specified for class Node");
        let f = parse_return_fields(&NODE, &Value::Array(vec!["hostname".into(), "arch".into()])).unwrap();
        assert_eq!(f.len(), 2);
    }
}
