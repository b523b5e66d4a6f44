//! Sessions (docs/plc-api.md §2.3): person sessions and node sessions (`node_id` set).

use super::get;
use super::persons::{Account, account_columns, account_usable, decode_account};
use crate::{Backend, Result, SqlValue, Tx};

/// One row of `sessions`, with the account it authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// `None` for a node session made before node sessions expired.
    pub expires: Option<i64>,
    pub person_id: Option<i64>,
    pub node_id: Option<i64>,
    /// The person's account when it is usable (live, enabled, local); `None` for a node's
    /// session and for a person who is gone or disabled.
    pub account: Option<Account>,
}

/// The session `session_id`, if stored, and its usable account, in one statement: a call
/// authenticated by session costs one round trip.
pub async fn find(tx: &mut Tx, session_id: &str) -> Result<Option<Session>> {
    let sql = match tx.backend() {
        Backend::Sqlite => concat!(
            "SELECT s.expires, s.person_id, s.node_id, ",
            account_columns!(sqlite),
            " FROM sessions s LEFT JOIN persons p ON p.person_id = s.person_id AND ",
            account_usable!(),
            " WHERE s.session_id = $1"
        ),
        Backend::Postgres => concat!(
            "SELECT s.expires, s.person_id, s.node_id, ",
            account_columns!(postgres),
            " FROM sessions s LEFT JOIN persons p ON p.person_id = s.person_id AND ",
            account_usable!(),
            " WHERE s.session_id = $1"
        ),
    };
    let rows = tx.rows(sql, &[SqlValue::text(session_id)]).await?;
    let Some(r) = rows.first() else { return Ok(None) };
    Ok(Some(Session {
        expires: get(r, "expires")?,
        person_id: get(r, "person_id")?,
        node_id: get(r, "node_id")?,
        account: decode_account(r)?,
    }))
}

/// Deletes session `session_id` (one that failed to authenticate); returns how many rows.
pub async fn delete(tx: &mut Tx, session_id: &str) -> Result<u64> {
    tx.delete("sessions", &[("session_id", SqlValue::text(session_id))]).await
}

/// Deletes sessions whose expiry is before `now` (sessions without one stay); returns how many.
pub async fn purge_expired(tx: &mut Tx, now: i64) -> Result<u64> {
    tx.execute("DELETE FROM sessions WHERE expires IS NOT NULL AND expires < $1", &[SqlValue::int(now)]).await
}

/// Ends a person's sessions except `keep` (the session making the change).
pub async fn end_person_sessions_except(tx: &mut Tx, person_id: i64, keep: &str) -> Result<u64> {
    tx.execute(
        "DELETE FROM sessions WHERE person_id = $1 AND session_id <> $2",
        &[SqlValue::int(person_id), SqlValue::text(keep)],
    )
    .await
}

/// Pushes a node session's expiry to `expires`; a person's session of that id is left alone.
/// Returns how many rows changed (0 or 1).
pub async fn extend_node_session(tx: &mut Tx, session_id: &str, expires: i64) -> Result<u64> {
    tx.execute(
        "UPDATE sessions SET expires = $1 WHERE session_id = $2 AND node_id IS NOT NULL",
        &[SqlValue::int(expires), SqlValue::text(session_id)],
    )
    .await
}
