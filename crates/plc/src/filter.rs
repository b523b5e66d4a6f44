//! Get* filters and return fields (docs/plc-api.md §10.3), turned into registry queries.
//!
//! Filter forms: nil (everything), a bare int (primary key), a bare string (secondary key), a
//! list of both, or a struct of field criteria with the prefixes `~ < > [ ] & |` and the
//! specials `-SORT -OFFSET -LIMIT -AND -OR`. A method receives the form as a [`Filter`] (built
//! from the XML-RPC value once, in `wire.rs`) and compiles it here against its class. Field
//! names are checked against the class (and its exposed tags); they never reach SQL as text.
//!
//! A field's [`Readers`] (declared with the field in the registry's views) bound every use a
//! client makes of it: a field the [`Viewer`] may not read is left out of the output and refused
//! (fault 102) in criteria, patterns and `-SORT`, since comparisons alone would leak it.

use crate::args::{Datum, Fields, IdOrName};
use crate::caller::Caller;
use crate::fault::{Fault, MethodResult};
use bootmedium_registry::{CmpOp, Cond, FieldKind, FieldRef, Query, Readers, SortKey, SqlValue, TableSpec};

/// A client's filter, as sent: which rows of a class a Get* call asks for.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Filter {
    /// nil (or left out): every row.
    #[default]
    All,
    /// A bare id (primary key) or name (secondary key, `*` patterns allowed).
    One(IdOrName),
    /// A list of ids and names.
    Keys(Vec<IdOrName>),
    /// A struct of field criteria and `-SORT`, `-OFFSET`, `-LIMIT`, `-AND`, `-OR`.
    Match(Fields),
}

impl Filter {
    /// `{field: value}`: the rows whose `field` equals `value`.
    pub fn field_is(field: &str, value: Datum) -> Filter {
        Filter::Match(Fields::from([(field.to_string(), value)]))
    }
}

/// A client's `return_fields`: nil (or left out) for every field the caller may read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ReturnFields {
    #[default]
    All,
    Named(Vec<String>),
}

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
fn coerce(field: &FieldRef, v: &Datum) -> MethodResult<SqlValue> {
    let bad = || Fault::invalid(format!("Invalid filter value for '{}': {}", field.name(), v.type_name()));
    Ok(match field.kind() {
        FieldKind::Int | FieldKind::IntList | FieldKind::Bool => match v {
            Datum::Str(s) => SqlValue::int(s.trim().parse().map_err(|_| bad())?),
            other => SqlValue::int(other.as_int().ok_or_else(bad)?),
        },
        FieldKind::Float => match v {
            Datum::Double(d) => SqlValue::Float(Some(*d)),
            other => SqlValue::Float(Some(other.as_int().ok_or_else(bad)? as f64)),
        },
        FieldKind::Text | FieldKind::TextList => match v {
            Datum::Str(s) => SqlValue::text(s.clone()),
            Datum::Int(i) => SqlValue::text(i.to_string()),
            _ => return Err(bad()),
        },
    })
}

fn scalar_cond(field: FieldRef, op: CmpOp, v: &Datum) -> MethodResult<Cond> {
    match v {
        Datum::Nil => Ok(Cond::IsNull(field)),
        Datum::List(items) => {
            let values = items.iter().map(|i| coerce(&field, i)).collect::<MethodResult<Vec<_>>>()?;
            Ok(Cond::In(field, values))
        }
        Datum::Str(s) if op == CmpOp::Eq && is_pattern(s) => {
            if field.kind() != FieldKind::Text {
                return Err(Fault::invalid(format!("Cannot use a pattern on field '{}'", field.name())));
            }
            Ok(Cond::Like(field, like_pattern(s)))
        }
        other => Ok(Cond::Compare(field.clone(), op, coerce(&field, other)?)),
    }
}

fn key_cond(table: &'static TableSpec, key: &IdOrName) -> MethodResult<Cond> {
    match key {
        IdOrName::Name(s) => {
            let Some(sk) = table.secondary_key.and_then(|k| field_ref(table, k)) else {
                return Err(Fault::invalid(format!("{} filter must be an id or a list of ids", table.class)));
            };
            scalar_cond(sk, CmpOp::Eq, &Datum::Str(s.clone()))
        }
        IdOrName::Id(id) => Ok(Cond::Compare(pk(table)?, CmpOp::Eq, SqlValue::int(*id))),
    }
}

/// A compiled filter: the condition plus ordering and paging.
pub struct Compiled {
    pub cond: Cond,
    pub sort: Vec<SortKey>,
    pub offset: Option<i64>,
    pub limit: Option<i64>,
}

/// The most values one filter may hold (list elements, summed over the whole filter); the
/// registry tests each list as one set, so this bounds work per call, not SQL size.
pub const MAX_FILTER_VALUES: usize = 10_000;

fn count_values(v: &Datum) -> usize {
    match v {
        Datum::List(items) => items.iter().map(count_values).sum(),
        Datum::Map(m) => m.values().map(count_values).sum(),
        _ => 1,
    }
}

fn count_filter_values(f: &Filter) -> usize {
    match f {
        Filter::All | Filter::One(_) => 1,
        Filter::Keys(keys) => keys.len(),
        Filter::Match(m) => m.values().map(count_values).sum(),
    }
}

/// `[1, 'a.example.org', 'b*', …]`: ids as one set on the primary key, names as one set on the
/// secondary key, patterns one by one.
fn key_list_cond(table: &'static TableSpec, items: &[IdOrName]) -> MethodResult<Cond> {
    let (mut ids, mut names, mut others) = (Vec::new(), Vec::new(), Vec::new());
    for item in items {
        match item {
            IdOrName::Name(s) if !is_pattern(s) && table.secondary_key.is_some() => names.push(s.clone()),
            IdOrName::Name(_) => others.push(key_cond(table, item)?),
            IdOrName::Id(id) => ids.push(SqlValue::int(*id)),
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

/// Compiles a client's filter; key fields (primary and secondary) are readable by everyone.
pub fn parse_filter(table: &'static TableSpec, filter: &Filter, viewer: Viewer) -> MethodResult<Compiled> {
    let n = count_filter_values(filter);
    if n > MAX_FILTER_VALUES {
        return Err(Fault::invalid(format!(
            "a filter may hold at most {MAX_FILTER_VALUES} values, this one holds {n}"
        )));
    }
    let mut f = Compiled { cond: Cond::True, sort: vec![], offset: None, limit: None };
    match filter {
        Filter::All => {}
        Filter::Keys(items) => f.cond = key_list_cond(table, items)?,
        Filter::Match(m) => parse_struct(table, m, viewer, &mut f)?,
        Filter::One(key) => f.cond = key_cond(table, key)?,
    }
    Ok(f)
}

fn parse_struct(table: &'static TableSpec, m: &Fields, viewer: Viewer, f: &mut Compiled) -> MethodResult<()> {
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

fn non_negative(key: &str, v: &Datum) -> MethodResult<i64> {
    match v.as_int() {
        Some(n) if n >= 0 => Ok(n),
        _ => Err(Fault::invalid(format!("{key} must be a non-negative integer"))),
    }
}

fn criterion(table: &'static TableSpec, key: &str, v: &Datum, viewer: Viewer) -> MethodResult<Cond> {
    let (prefix, name) = match key.chars().next() {
        Some(c @ ('~' | '<' | '>' | '[' | ']' | '&' | '|')) => (Some(c), &key[1..]),
        _ => (None, key),
    };
    let field = client_field(table, name, viewer, "filter")?;
    let list_values = |v: &Datum| -> MethodResult<Vec<SqlValue>> {
        match v {
            Datum::List(items) => items.iter().map(|i| coerce(&field, i)).collect(),
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

fn parse_sort(table: &'static TableSpec, v: &Datum, viewer: Viewer) -> MethodResult<Vec<SortKey>> {
    let names: Vec<&str> = match v {
        Datum::Str(s) => vec![s.as_str()],
        Datum::List(items) => items
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

/// The fields to return: all of them means every native field the viewer may read; names may
/// include exposed tags. Named fields the viewer may not read are left out, as upstream leaves
/// them out of its answer; when nothing readable is left the call is refused.
pub fn parse_return_fields(
    table: &'static TableSpec,
    wanted: &ReturnFields,
    viewer: Viewer,
) -> MethodResult<Vec<FieldRef>> {
    match wanted {
        ReturnFields::All => Ok(table.fields.iter().map(FieldRef::Field).filter(|f| viewer.may_read(f)).collect()),
        ReturnFields::Named(items) => {
            let mut fields = Vec::new();
            let mut unknown = Vec::new();
            let mut hidden = Vec::new();
            for name in items {
                let name = name.as_str();
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
    }
}

/// A query from the usual `(filter, return_fields)` pair.
pub fn query(
    table: &'static TableSpec,
    filter: &Filter,
    return_fields: &ReturnFields,
    viewer: Viewer,
) -> MethodResult<Query> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::FromArg;
    use bootmedium_registry::views::NODE;
    use bootmedium_xmlrpc::Value;
    use std::collections::BTreeMap;

    /// A filter as a client sends it, through the adapter that builds the typed one.
    fn filter_value(table: &'static TableSpec, v: &Value, viewer: Viewer) -> MethodResult<Compiled> {
        parse_filter(table, &Filter::from_value("filter", v)?, viewer)
    }

    fn fields_value(table: &'static TableSpec, v: &Value, viewer: Viewer) -> MethodResult<Vec<FieldRef>> {
        parse_return_fields(table, &ReturnFields::from_value("return_fields", v)?, viewer)
    }

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
                    let e = filter_value(table, filter, Viewer::Restricted)
                        .err()
                        .unwrap_or_else(|| panic!("{}: {filter:?} accepted for a restricted viewer", table.class));
                    assert_eq!(e.code, 102, "{}: {filter:?}", table.class);
                    assert!(e.message.contains(&format!("'{}'", f.name)), "{}", e.message);
                    assert!(filter_value(table, filter, Viewer::Admin).is_ok() || f.kind.is_list());
                    checked += 1;
                }
                let fields = fields_value(table, &Value::Nil, Viewer::Restricted).unwrap_or_default();
                assert!(fields.iter().all(|r| r.name() != f.name));
                let named = Value::Array(vec![Value::from(table.primary_key), Value::from(f.name)]);
                let fields = fields_value(table, &named, Viewer::Restricted).unwrap_or_default();
                assert_eq!(fields.len(), 1, "{}", table.class);
                let alone = Value::Array(vec![Value::from(f.name)]);
                assert_eq!(fields_value(table, &alone, Viewer::Restricted).err().map(|e| e.code), Some(102));
                assert_eq!(fields_value(table, &alone, Viewer::Admin).map(|v| v.len()).ok(), Some(1));
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
                    let e = filter_value(table, &Value::Struct(m), viewer).err().unwrap();
                    assert_eq!(e.message, format!("Invalid argument: Invalid filter field '{}'", f.name));
                    let mut m = BTreeMap::new();
                    m.insert("-SORT".to_string(), Value::from(f.name));
                    assert_eq!(filter_value(table, &Value::Struct(m), viewer).err().map(|e| e.code), Some(102));
                    let all = fields_value(table, &Value::Nil, viewer).unwrap();
                    assert!(all.iter().all(|r| r.name() != f.name));
                    let e = fields_value(table, &Value::Array(vec![Value::from(f.name)]), viewer).err().unwrap();
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
        let e = filter_value(&NODE, &Value::Struct(m), Viewer::Admin).err().unwrap();
        assert_eq!(e.code, 102);
        assert!(e.message.contains("Invalid filter field"));
    }

    #[test]
    fn return_fields_errors() {
        let e = fields_value(&NODE, &Value::Array(vec!["nope".into()]), Viewer::Admin).err().unwrap();
        assert_eq!(e.message, "Invalid argument: unknown column(s) specified ['nope'] in Node");
        let e = fields_value(&NODE, &Value::Array(vec![]), Viewer::Admin).err().unwrap();
        assert_eq!(e.message, "Invalid argument: No valid return fields specified for class Node");
        let f = fields_value(&NODE, &Value::Array(vec!["hostname".into(), "arch".into()]), Viewer::Admin).unwrap();
        assert_eq!(f.len(), 2);
    }
}
