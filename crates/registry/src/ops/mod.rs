//! Named, typed statements: every fixed SQL statement of the PLC domain (docs/plc-api.md §2–§12 as
//! bootmedium implements them), grouped by subject. Each function takes the caller's transaction
//! (one call, one transaction: it never begins or commits one), binds its values as
//! parameters and decodes columns by name into Rust types. A NULL where the schema says NOT
//! NULL is [`Error::Decode`], never a silent default. Soft-deleted classes are filtered with the
//! same `live` text their `TableSpec` carries.

pub mod events;
pub mod interfaces;
pub mod ledger;
pub mod lookups;
pub mod messages;
pub mod nodes;
pub mod outbox;
pub mod persons;
pub mod results;
pub mod sessions;
pub mod sites;
pub mod tags;

use crate::{Error, Result, SqlValue, Tx};
use sqlx::any::AnyRow;
use sqlx::{Any, Row as _};

/// Column `column` of `row` as `T`.
pub(crate) fn get<'r, T>(row: &'r AnyRow, column: &'static str) -> Result<T>
where
    T: sqlx::Decode<'r, Any> + sqlx::Type<Any>,
{
    row.try_get(column).map_err(|source| Error::Decode { column, source })
}

/// Whether `sql` yields at least one row (its columns are not read).
pub(crate) async fn any_row(tx: &mut Tx, sql: &'static str, params: &[SqlValue]) -> Result<bool> {
    Ok(!tx.rows(sql, params).await?.is_empty())
}

/// The first row of `sql`, decoded by `decode`.
pub(crate) async fn first<T>(
    tx: &mut Tx,
    sql: &'static str,
    params: &[SqlValue],
    decode: impl Fn(&AnyRow) -> Result<T>,
) -> Result<Option<T>> {
    tx.rows(sql, params).await?.first().map(decode).transpose()
}

/// Every row of `sql`, decoded by `decode`.
pub(crate) async fn all<T>(
    tx: &mut Tx,
    sql: &'static str,
    params: &[SqlValue],
    decode: impl Fn(&AnyRow) -> Result<T>,
) -> Result<Vec<T>> {
    tx.rows(sql, params).await?.iter().map(decode).collect()
}
