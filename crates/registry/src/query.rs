//! Reading PLC classes: a condition tree over the fields of a [`TableSpec`], compiled to one SQL
//! statement for the scalar fields plus one statement per requested list field.
//!
//! A list of values (`In`, `ContainsAny`, `ContainsAll`) travels as ONE bound parameter, a JSON
//! array the database unpacks into a set (`json_each` / `json_array_elements_text`): the
//! statement's size and parameter count do not grow with the list, so SQLite's
//! bound-variable limit and its per-parameter name lookup (quadratic in the count) never apply.

use crate::store::Backend;
use crate::value::{SqlValue, bind};
use crate::views::{FieldKind, FieldSpec, Readers, Source, TableSpec};
use sqlx::Row as _;

/// A field of a class, or a tag exposed as a pseudo-field.
#[derive(Debug, Clone)]
pub enum FieldRef {
    Field(&'static FieldSpec),
    Tag(String),
}

impl FieldRef {
    pub fn name(&self) -> &str {
        match self {
            FieldRef::Field(f) => f.name,
            FieldRef::Tag(t) => t,
        }
    }
    pub fn kind(&self) -> FieldKind {
        match self {
            FieldRef::Field(f) => f.kind,
            FieldRef::Tag(_) => FieldKind::Text,
        }
    }
    /// Who may read it (exposed tags are as public as the tags themselves).
    pub fn readers(&self) -> Readers {
        match self {
            FieldRef::Field(f) => f.readers,
            FieldRef::Tag(_) => Readers::Anyone,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Lt,
    Gt,
    Le,
    Ge,
}

/// A filter condition.
#[derive(Debug, Clone)]
pub enum Cond {
    True,
    False,
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    Compare(FieldRef, CmpOp, SqlValue),
    IsNull(FieldRef),
    In(FieldRef, Vec<SqlValue>),
    /// Case-insensitive match of a `%`/`_` pattern (already escaped with `\`).
    Like(FieldRef, String),
    /// A list field holds every one of the values.
    ContainsAll(FieldRef, Vec<SqlValue>),
    /// A list field holds at least one of the values.
    ContainsAny(FieldRef, Vec<SqlValue>),
}

#[derive(Debug, Clone)]
pub struct SortKey {
    pub field: FieldRef,
    pub descending: bool,
}

/// One read of a class.
#[derive(Debug, Clone)]
pub struct Query {
    pub table: &'static TableSpec,
    pub cond: Cond,
    pub fields: Vec<FieldRef>,
    pub sort: Vec<SortKey>,
    pub offset: Option<i64>,
    pub limit: Option<i64>,
}

/// One decoded cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Scalar(SqlValue),
    Bool(Option<bool>),
    IntList(Vec<i64>),
    TextList(Vec<String>),
}

/// One row: the requested fields in the requested order.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub cells: Vec<(String, Cell)>,
}

impl Row {
    pub fn get(&self, name: &str) -> Option<&Cell> {
        self.cells.iter().find(|(n, _)| n == name).map(|(_, c)| c)
    }
    pub fn int(&self, name: &str) -> Option<i64> {
        match self.get(name)? {
            Cell::Scalar(v) => v.as_int(),
            Cell::Bool(b) => b.map(i64::from),
            _ => None,
        }
    }
    pub fn text(&self, name: &str) -> Option<&str> {
        match self.get(name)? {
            Cell::Scalar(v) => v.as_text(),
            _ => None,
        }
    }
    pub fn bool(&self, name: &str) -> Option<bool> {
        match self.get(name)? {
            Cell::Bool(b) => *b,
            _ => None,
        }
    }
    /// Whether the field is present and not NULL.
    pub fn is_set(&self, name: &str) -> bool {
        match self.get(name) {
            Some(Cell::Scalar(v)) => !v.is_null(),
            Some(Cell::Bool(b)) => b.is_some(),
            Some(_) => true,
            None => false,
        }
    }
    pub fn int_list(&self, name: &str) -> &[i64] {
        match self.get(name) {
            Some(Cell::IntList(v)) => v,
            _ => &[],
        }
    }
    pub fn text_list(&self, name: &str) -> &[String] {
        match self.get(name) {
            Some(Cell::TextList(v)) => v,
            _ => &[],
        }
    }
}

/// Accumulates SQL text and its parameters, numbering placeholders `$1, $2, …` in order of
/// appearance (SQLite binds `$N` by first appearance, PostgreSQL by number: both agree when
/// each number appears once, in order).
pub(crate) struct SqlBuilder {
    pub(crate) sql: String,
    pub(crate) params: Vec<SqlValue>,
    backend: Backend,
}

impl SqlBuilder {
    pub(crate) fn new(backend: Backend) -> Self {
        SqlBuilder { sql: String::new(), params: Vec::new(), backend }
    }
    pub(crate) fn push(&mut self, s: &str) -> &mut Self {
        self.sql.push_str(s);
        self
    }
    pub(crate) fn param(&mut self, v: SqlValue) -> &mut Self {
        self.params.push(v);
        let n = self.params.len();
        self.sql.push('$');
        self.sql.push_str(&n.to_string());
        self
    }
    /// `(SELECT … )`: the values as a set, bound as one JSON array parameter.
    fn value_set(&mut self, values: &[SqlValue]) {
        let (open, close) = self.backend.value_set(set_kind(values));
        self.push(open).param(SqlValue::text(json_array(values))).push(close);
    }
}

/// The type of a set's elements (every element of one list has its field's type).
fn set_kind(values: &[SqlValue]) -> FieldKind {
    match values.first() {
        Some(SqlValue::Int(_)) => FieldKind::Int,
        Some(SqlValue::Float(_)) => FieldKind::Float,
        _ => FieldKind::Text,
    }
}

/// The values as a JSON array (numbers, strings, null).
fn json_array(values: &[SqlValue]) -> String {
    use std::fmt::Write as _;
    let mut out = String::from("[");
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match v {
            SqlValue::Int(Some(n)) => {
                let _ = write!(out, "{n}");
            }
            SqlValue::Float(Some(f)) if f.is_finite() => {
                let _ = write!(out, "{f:?}");
            }
            SqlValue::Text(Some(t)) => {
                out.push('"');
                for c in t.chars() {
                    match c {
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        c if u32::from(c) < 0x20 => {
                            let _ = write!(out, "\\u{:04x}", u32::from(c));
                        }
                        c => out.push(c),
                    }
                }
                out.push('"');
            }
            _ => out.push_str("null"),
        }
    }
    out.push(']');
    out
}

/// Distinct values, first occurrence kept (`ContainsAll` counts them).
fn distinct(values: &[SqlValue]) -> Vec<SqlValue> {
    let mut out: Vec<SqlValue> = Vec::with_capacity(values.len());
    let mut seen = std::collections::HashSet::new();
    for v in values {
        if seen.insert(json_array(std::slice::from_ref(v))) {
            out.push(v.clone());
        }
    }
    out
}

fn tag_expr(table: &TableSpec, b: &mut SqlBuilder, tagname: &str) {
    if let Some(tags) = &table.tags {
        b.push("(SELECT tg.value FROM ")
            .push(tags.table)
            .push(" tg JOIN tag_types tgt ON tgt.tag_type_id = tg.tag_type_id WHERE tg.")
            .push(tags.owner)
            .push(" = ")
            .push(table.primary_key_expr)
            .push(" AND tgt.tagname = ")
            .param(SqlValue::text(tagname))
            .push(")");
    } else {
        b.push("NULL");
    }
}

fn scalar_expr(table: &TableSpec, b: &mut SqlBuilder, field: &FieldRef) {
    match field {
        FieldRef::Field(FieldSpec { source: Source::Expr(e), .. }) => {
            b.push(e);
        }
        FieldRef::Field(_) => {
            b.push("NULL");
        }
        FieldRef::Tag(name) => tag_expr(table, b, name),
    }
}

/// Whether `scalar_expr` gives more than a constant NULL for `field`.
fn has_column(table: &TableSpec, field: &FieldRef) -> bool {
    match field {
        FieldRef::Field(FieldSpec { source, .. }) => matches!(source, Source::Expr(_)),
        FieldRef::Tag(_) => table.tags.is_some(),
    }
}

fn compile_cond(table: &TableSpec, b: &mut SqlBuilder, cond: &Cond) {
    match cond {
        Cond::True => {
            b.push("1 = 1");
        }
        Cond::False => {
            b.push("1 = 0");
        }
        Cond::And(cs) | Cond::Or(cs) => {
            if cs.is_empty() {
                b.push(if matches!(cond, Cond::And(_)) { "1 = 1" } else { "1 = 0" });
                return;
            }
            let joiner = if matches!(cond, Cond::And(_)) { " AND " } else { " OR " };
            b.push("(");
            for (i, c) in cs.iter().enumerate() {
                if i > 0 {
                    b.push(joiner);
                }
                compile_cond(table, b, c);
            }
            b.push(")");
        }
        Cond::Not(c) => {
            // NULL-safe negation: a row whose field is NULL does not match `x = v`, so it
            // does match `~x = v`, as in upstream (`NOT (x = v)` would drop it).
            b.push("NOT COALESCE((");
            compile_cond(table, b, c);
            b.push("), 1 = 0)");
        }
        Cond::Compare(f, op, v) => compile_compare(table, b, f, *op, v),
        Cond::IsNull(f) => {
            scalar_expr(table, b, f);
            b.push(" IS NULL");
        }
        Cond::In(f, values) => {
            if values.is_empty() {
                b.push("1 = 0");
                return;
            }
            if let FieldRef::Field(FieldSpec { source: Source::List(_), .. }) = f {
                compile_contains(table, b, f, values, false);
                return;
            }
            scalar_expr(table, b, f);
            b.push(" IN ");
            b.value_set(values);
        }
        Cond::Like(f, pattern) => {
            b.push("LOWER(");
            scalar_expr(table, b, f);
            b.push(") LIKE LOWER(").param(SqlValue::text(pattern.clone())).push(") ESCAPE '\\'");
        }
        Cond::ContainsAll(f, values) => compile_contains(table, b, f, values, true),
        Cond::ContainsAny(f, values) => compile_contains(table, b, f, values, false),
    }
}

fn compile_compare(table: &TableSpec, b: &mut SqlBuilder, f: &FieldRef, op: CmpOp, v: &SqlValue) {
    if let FieldRef::Field(FieldSpec { source: Source::List(_), .. }) = f {
        // `{'interface_ids': 5}`: the list holds 5.
        compile_contains(table, b, f, std::slice::from_ref(v), false);
        return;
    }
    scalar_expr(table, b, f);
    b.push(match op {
        CmpOp::Eq => " = ",
        CmpOp::Lt => " < ",
        CmpOp::Gt => " > ",
        CmpOp::Le => " <= ",
        CmpOp::Ge => " >= ",
    });
    b.param(v.clone());
}

fn compile_contains(table: &TableSpec, b: &mut SqlBuilder, f: &FieldRef, values: &[SqlValue], all: bool) {
    let FieldRef::Field(FieldSpec { source: Source::List(src), .. }) = f else {
        b.push("1 = 0");
        return;
    };
    if values.is_empty() {
        b.push(if all { "1 = 1" } else { "1 = 0" });
        return;
    }
    // `(SELECT <what> FROM <list> WHERE owner = pk AND value IN <set>)`
    let rows_of = |b: &mut SqlBuilder, count: bool, vals: &[SqlValue]| {
        b.push("(SELECT ");
        if count {
            b.push("COUNT(DISTINCT ").push(src.value).push(")");
        } else {
            b.push("1");
        }
        b.push(" FROM ")
            .push(src.from)
            .push(" WHERE ")
            .push(src.owner)
            .push(" = ")
            .push(table.primary_key_expr)
            .push(" AND ")
            .push(src.value)
            .push(" IN ");
        b.value_set(vals);
        b.push(")");
    };
    if all {
        // Every value is there: as many distinct matches as distinct values.
        let wanted = distinct(values);
        rows_of(b, true, &wanted);
        b.push(" = ").param(SqlValue::int(i64::try_from(wanted.len()).unwrap_or(i64::MAX)));
    } else {
        b.push("EXISTS ");
        rows_of(b, false, values);
    }
}

fn live_and(table: &TableSpec, b: &mut SqlBuilder, cond: &Cond) {
    b.push(" WHERE ");
    if let Some(live) = table.live {
        b.push(live).push(" AND ");
    }
    compile_cond(table, b, cond);
}

fn decode_scalar(row: &sqlx::any::AnyRow, idx: usize, kind: FieldKind) -> Result<Cell, sqlx::Error> {
    Ok(match kind {
        FieldKind::Int => Cell::Scalar(SqlValue::Int(row.try_get(idx)?)),
        FieldKind::Bool => Cell::Bool(row.try_get::<Option<i64>, _>(idx)?.map(|v| v != 0)),
        FieldKind::Float => Cell::Scalar(SqlValue::Float(row.try_get(idx)?)),
        FieldKind::Text => Cell::Scalar(SqlValue::Text(row.try_get(idx)?)),
        FieldKind::IntList => Cell::IntList(Vec::new()),
        FieldKind::TextList => Cell::TextList(Vec::new()),
    })
}

pub(crate) fn build_select(backend: Backend, q: &Query) -> SqlBuilder {
    let t = q.table;
    let mut b = SqlBuilder::new(backend);
    b.push("SELECT ").push(t.primary_key_expr);
    for f in &q.fields {
        if !f.kind().is_list() {
            b.push(", ");
            scalar_expr(t, &mut b, f);
        }
    }
    // List fields come in the same statement, one JSON array per row, so a read costs one
    // round trip whatever fields it asks for.
    for f in &q.fields {
        if let FieldRef::Field(FieldSpec { source: Source::List(src), .. }) = f {
            b.push(", ");
            list_expr(t, &mut b, src);
        }
    }
    b.push(" FROM ").push(t.from);
    live_and(t, &mut b, &q.cond);
    b.push(" ORDER BY ");
    // A key without a column (a list field, one upstream fills from tables not modelled here,
    // a tag of a class without tags) is NULL on every row: it orders nothing, and PostgreSQL
    // refuses a constant in ORDER BY.
    for k in q.sort.iter().filter(|k| has_column(t, &k.field)) {
        scalar_expr(t, &mut b, &k.field);
        // NULL sorts as the largest value, PostgreSQL's default and so upstream's; SQLite's
        // default is the opposite.
        b.push(if k.descending { " DESC NULLS FIRST, " } else { " ASC NULLS LAST, " });
    }
    b.push(t.primary_key_expr);
    if let Some(limit) = q.limit {
        b.push(" LIMIT ").param(SqlValue::int(limit));
    } else if q.offset.is_some() {
        // SQLite needs a LIMIT before OFFSET; -1 means none there, and PostgreSQL reads
        // LIMIT ALL the same way.
        b.push(" LIMIT ").param(SqlValue::int(i64::MAX));
    }
    if let Some(offset) = q.offset {
        b.push(" OFFSET ").param(SqlValue::int(offset));
    }
    b
}

pub(crate) async fn run_select(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    q: &Query,
) -> Result<Vec<Row>, sqlx::Error> {
    let b = build_select(backend, q);
    let mut query = sqlx::query(sqlx::AssertSqlSafe(b.sql));
    for p in &b.params {
        query = bind(query, p);
    }
    let raw = query.fetch_all(&mut *conn).await?;
    let scalars = q.fields.iter().filter(|f| !f.kind().is_list()).count();
    let mut rows = Vec::with_capacity(raw.len());
    for r in &raw {
        let (mut scalar_idx, mut list_idx) = (1, 1 + scalars);
        let mut cells = Vec::with_capacity(q.fields.len());
        for f in &q.fields {
            let cell = match f {
                FieldRef::Field(FieldSpec { source: Source::List(_), kind, .. }) => {
                    list_idx += 1;
                    decode_list(r, list_idx - 1, *kind)?
                }
                // Lists upstream fills from tables not modelled here are empty.
                _ if f.kind().is_list() => decode_scalar(r, 0, f.kind())?,
                _ => {
                    scalar_idx += 1;
                    decode_scalar(r, scalar_idx - 1, f.kind())?
                }
            };
            cells.push((f.name().to_string(), cell));
        }
        rows.push(Row { cells });
    }
    Ok(rows)
}

/// A list field's values for the row, as one JSON array in the row's order.
fn list_expr(t: &TableSpec, b: &mut SqlBuilder, src: &crate::views::ListSource) {
    let (open, close) = match b.backend {
        // No quoted literal in generated SQL (the fuzz target checks it): `json_build_array()`
        // is the empty array.
        Backend::Postgres => ("(SELECT COALESCE(json_agg(", "), json_build_array())::text FROM "),
        Backend::Sqlite => ("(SELECT json_group_array(", ") FROM "),
    };
    b.push(open).push(src.value).push(" ORDER BY ").push(src.order).push(close).push(src.from);
    b.push(" WHERE ").push(src.owner).push(" = ").push(t.primary_key_expr).push(")");
}

fn decode_list(row: &sqlx::any::AnyRow, idx: usize, kind: FieldKind) -> Result<Cell, sqlx::Error> {
    let json: String = row.try_get(idx)?;
    let bad = |e: serde_json::Error| sqlx::Error::Decode(Box::new(e));
    Ok(match kind {
        FieldKind::TextList => Cell::TextList(serde_json::from_str(&json).map_err(bad)?),
        _ => Cell::IntList(serde_json::from_str(&json).map_err(bad)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_are_json_arrays() {
        let values = [SqlValue::int(-3), SqlValue::int(7)];
        assert_eq!(json_array(&values), "[-3,7]");
        let text = [SqlValue::text("a\"b\\c\u{1}d é"), SqlValue::text("")];
        assert_eq!(json_array(&text), "[\"a\\\"b\\\\c\\u0001d é\",\"\"]");
        assert_eq!(json_array(&[SqlValue::Float(Some(1.5)), SqlValue::Float(Some(f64::NAN))]), "[1.5,null]");
        assert_eq!(
            distinct(&[SqlValue::int(1), SqlValue::int(2), SqlValue::int(1)]),
            vec![SqlValue::int(1), SqlValue::int(2)]
        );
    }

    #[test]
    fn a_list_is_one_parameter_whatever_its_length() {
        let table = &crate::views::NODE;
        let field = FieldRef::Field(table.field("node_id").unwrap());
        let cond = Cond::In(field, (0..50_000).map(SqlValue::int).collect());
        let q = Query { table, cond, fields: vec![], sort: vec![], offset: None, limit: None };
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let b = build_select(backend, &q);
            assert_eq!(b.params.len(), 1, "{backend:?}: {}", b.sql);
            assert!(b.sql.len() < 2000, "{backend:?}: {}", b.sql);
        }
    }
}
