//! Sites (docs/plc-api.md §4 Site).

use super::{any_row, first, get};
use crate::{Result, SqlValue, Tx};

/// How many sites there are, deleted ones included (none: the registry was never initialised).
pub async fn count_all(tx: &mut Tx) -> Result<i64> {
    Ok(first(tx, "SELECT COUNT(*) AS n FROM sites", &[], |r| get(r, "n")).await?.unwrap_or(0))
}

/// Whether a live site other than `except_site_id` has `login_base` (0: any site).
pub async fn login_base_taken(tx: &mut Tx, login_base: &str, except_site_id: i64) -> Result<bool> {
    any_row(
        tx,
        concat!("SELECT t.site_id FROM sites t WHERE t.login_base = $1 AND ", site_live!("t"), " AND t.site_id <> $2"),
        &[SqlValue::text(login_base), SqlValue::int(except_site_id)],
    )
    .await
}

/// Whether site `site_id` exists and is live.
pub async fn live_exists(tx: &mut Tx, site_id: i64) -> Result<bool> {
    any_row(tx, concat!("SELECT 1 FROM sites t WHERE t.site_id = $1 AND ", site_live!("t")), &[SqlValue::int(site_id)])
        .await
}

/// Marks site `site_id` deleted (out of its class's `live` condition) as of `now`; the row
/// stays for the event log and foreign keys. Returns how many rows changed.
pub async fn soft_delete(tx: &mut Tx, site_id: i64, now: i64) -> Result<u64> {
    tx.update(
        "sites",
        "site_id",
        SqlValue::int(site_id),
        &[("deleted", SqlValue::int(1)), ("last_updated", SqlValue::int(now))],
    )
    .await
}
