//! Values as they cross the database boundary, typed even when NULL (PostgreSQL checks the type
//! of every bound parameter, NULL included).

/// One bound parameter or one decoded column.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Int(Option<i64>),
    Float(Option<f64>),
    Text(Option<String>),
}

impl SqlValue {
    pub fn int(v: i64) -> Self {
        SqlValue::Int(Some(v))
    }
    pub fn text(v: impl Into<String>) -> Self {
        SqlValue::Text(Some(v.into()))
    }
    pub fn bool(v: bool) -> Self {
        SqlValue::Int(Some(i64::from(v)))
    }
    pub fn is_null(&self) -> bool {
        matches!(self, SqlValue::Int(None) | SqlValue::Float(None) | SqlValue::Text(None))
    }
    pub fn as_int(&self) -> Option<i64> {
        match self {
            SqlValue::Int(v) => *v,
            _ => None,
        }
    }
    pub fn as_text(&self) -> Option<&str> {
        match self {
            SqlValue::Text(v) => v.as_deref(),
            _ => None,
        }
    }
}

pub(crate) fn bind<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    v: &SqlValue,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    match v {
        SqlValue::Int(i) => q.bind(*i),
        SqlValue::Float(f) => q.bind(*f),
        SqlValue::Text(s) => q.bind(s.clone()),
    }
}
