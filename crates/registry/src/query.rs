//! Reading PLC classes: a condition tree over the fields of a [`TableSpec`], compiled to one SQL
//! statement for the scalar fields plus one statement per requested list field.

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
#[derive(Default)]
pub(crate) struct SqlBuilder {
    pub(crate) sql: String,
    pub(crate) params: Vec<SqlValue>,
}

impl SqlBuilder {
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
    fn params_list(&mut self, values: &[SqlValue]) {
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.param(v.clone());
        }
    }
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
            b.push(" IN (");
            b.params_list(values);
            b.push(")");
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
    let one = |b: &mut SqlBuilder, vals: &[SqlValue]| {
        b.push("EXISTS (SELECT 1 FROM ")
            .push(src.from)
            .push(" WHERE ")
            .push(src.owner)
            .push(" = ")
            .push(table.primary_key_expr)
            .push(" AND ")
            .push(src.value)
            .push(" IN (");
        b.params_list(vals);
        b.push("))");
    };
    if all {
        b.push("(");
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                b.push(" AND ");
            }
            one(b, std::slice::from_ref(v));
        }
        b.push(")");
    } else {
        one(b, values);
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

pub(crate) fn build_select(q: &Query) -> SqlBuilder {
    let t = q.table;
    let mut b = SqlBuilder::default();
    b.push("SELECT ").push(t.primary_key_expr);
    for f in &q.fields {
        if !f.kind().is_list() {
            b.push(", ");
            scalar_expr(t, &mut b, f);
        }
    }
    b.push(" FROM ").push(t.from);
    live_and(t, &mut b, &q.cond);
    b.push(" ORDER BY ");
    for k in &q.sort {
        scalar_expr(t, &mut b, &k.field);
        b.push(if k.descending { " DESC, " } else { " ASC, " });
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

pub(crate) async fn run_select(conn: &mut sqlx::AnyConnection, q: &Query) -> Result<Vec<Row>, sqlx::Error> {
    let b = build_select(q);
    let mut query = sqlx::query(sqlx::AssertSqlSafe(b.sql));
    for p in &b.params {
        query = bind(query, p);
    }
    let raw = query.fetch_all(&mut *conn).await?;
    let mut ids = Vec::with_capacity(raw.len());
    let mut rows = Vec::with_capacity(raw.len());
    for r in &raw {
        let id: i64 = r.try_get(0)?;
        ids.push(id);
        let mut idx = 1;
        let mut cells = Vec::with_capacity(q.fields.len());
        for f in &q.fields {
            let cell = if f.kind().is_list() {
                decode_scalar(r, 0, f.kind())?
            } else {
                idx += 1;
                decode_scalar(r, idx - 1, f.kind())?
            };
            cells.push((f.name().to_string(), cell));
        }
        rows.push(Row { cells });
    }
    for (pos, f) in q.fields.iter().enumerate() {
        if let FieldRef::Field(FieldSpec { source: Source::List(src), kind, .. }) = f {
            fill_list(conn, src, *kind, &ids, pos, &mut rows).await?;
        }
    }
    Ok(rows)
}

async fn fill_list(
    conn: &mut sqlx::AnyConnection,
    src: &crate::views::ListSource,
    kind: FieldKind,
    ids: &[i64],
    pos: usize,
    rows: &mut [Row],
) -> Result<(), sqlx::Error> {
    if ids.is_empty() {
        return Ok(());
    }
    let index: std::collections::HashMap<i64, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    // Bounded chunks keep the parameter count under SQLite's limit.
    for chunk in ids.chunks(500) {
        let mut b = SqlBuilder::default();
        b.push("SELECT ").push(src.owner).push(", ").push(src.value);
        b.push(" FROM ").push(src.from).push(" WHERE ").push(src.owner).push(" IN (");
        let vals: Vec<SqlValue> = chunk.iter().map(|i| SqlValue::int(*i)).collect();
        b.params_list(&vals);
        b.push(") ORDER BY ").push(src.owner).push(", ").push(src.order);
        let mut query = sqlx::query(sqlx::AssertSqlSafe(b.sql));
        for p in &b.params {
            query = bind(query, p);
        }
        for r in query.fetch_all(&mut *conn).await? {
            let owner: i64 = r.try_get(0)?;
            let Some(&row_idx) = index.get(&owner) else { continue };
            match &mut rows[row_idx].cells[pos].1 {
                Cell::IntList(v) if kind == FieldKind::IntList => v.push(r.try_get(1)?),
                Cell::TextList(v) => v.push(r.try_get(1)?),
                _ => {}
            }
        }
    }
    Ok(())
}
