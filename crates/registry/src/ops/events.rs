//! The event log (docs/plc-api.md §2.8): one row per call, with the objects it touched.

use super::any_row;
use crate::{Result, SqlValue, Tx};

/// One call's event.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent<'a> {
    pub person_id: Option<i64>,
    pub node_id: Option<i64>,
    pub auth_type: Option<&'a str>,
    pub fault_code: i64,
    pub call_name: &'a str,
    /// The call as text, secrets redacted.
    pub call: &'a str,
    pub message: Option<&'a str>,
    pub runtime: f64,
    pub time: i64,
    /// (object type, object id) pairs: `("Node", 7)`.
    pub objects: &'a [(&'a str, i64)],
}

/// Records `event` and its objects; returns its event_id.
pub async fn record(tx: &mut Tx, event: &NewEvent<'_>) -> Result<i64> {
    let event_id = tx
        .insert(
            "events",
            "event_id",
            &[
                ("person_id", SqlValue::Int(event.person_id)),
                ("node_id", SqlValue::Int(event.node_id)),
                ("auth_type", SqlValue::Text(event.auth_type.map(str::to_string))),
                ("fault_code", SqlValue::int(event.fault_code)),
                ("call_name", SqlValue::text(event.call_name)),
                ("call", SqlValue::text(event.call)),
                ("message", SqlValue::Text(event.message.map(str::to_string))),
                ("runtime", SqlValue::Float(Some(event.runtime))),
                ("time", SqlValue::int(event.time)),
            ],
        )
        .await?;
    for (object_type, object_id) in event.objects {
        tx.insert_plain(
            "event_object",
            &[
                ("event_id", SqlValue::int(event_id)),
                ("object_id", SqlValue::int(*object_id)),
                ("object_type", SqlValue::text(*object_type)),
            ],
        )
        .await?;
    }
    Ok(event_id)
}

/// Whether an event with message `message` about node `node_id` was recorded at or after
/// `since` (epoch seconds): how notices are rate-limited.
pub async fn node_message_since(tx: &mut Tx, node_id: i64, message: &str, since: i64) -> Result<bool> {
    any_row(
        tx,
        "SELECT e.event_id FROM events e JOIN event_object eo ON eo.event_id = e.event_id \
         WHERE eo.object_type = 'Node' AND eo.object_id = $1 AND e.message = $2 AND e.time >= $3 LIMIT 1",
        &[SqlValue::int(node_id), SqlValue::text(message), SqlValue::int(since)],
    )
    .await
}
