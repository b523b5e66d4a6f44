//! Result files written on callers' behalf (their quota is counted over these rows).

use super::{all, get};
use crate::{Result, SqlValue, Tx};

/// The paths recorded for `caller`.
pub async fn paths_of(tx: &mut Tx, caller: &str) -> Result<Vec<String>> {
    all(tx, "SELECT path FROM result_files WHERE caller = $1", &[SqlValue::text(caller)], |r| get(r, "path")).await
}

/// Forgets the row of `path` (its file is gone).
pub async fn forget(tx: &mut Tx, path: &str) -> Result<u64> {
    tx.execute("DELETE FROM result_files WHERE path = $1", &[SqlValue::text(path)]).await
}

/// Records that `caller` wrote `size` bytes at `path` at `written_at`, replacing an earlier
/// row of the same path.
pub async fn record(tx: &mut Tx, path: &str, caller: &str, size: i64, written_at: i64) -> Result<()> {
    tx.execute(
        "INSERT INTO result_files (path, caller, size, written_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (path) DO UPDATE SET caller = excluded.caller, size = excluded.size, written_at = excluded.written_at",
        &[SqlValue::text(path), SqlValue::text(caller), SqlValue::int(size), SqlValue::int(written_at)],
    )
    .await?;
    Ok(())
}
