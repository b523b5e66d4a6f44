//! The event log (docs/plc-api.md §2.8): one row per call, with the objects it touched.

use super::any_row;
use crate::{Backend, Registry, Result, SqlValue, Tx};

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

/// The parameters of the statements that record one event: the events row's columns as `$1`…`$9`,
/// its objects as one JSON array `$10`.
fn params(event: &NewEvent<'_>) -> Vec<SqlValue> {
    vec![
        SqlValue::Int(event.person_id),
        SqlValue::Int(event.node_id),
        SqlValue::Text(event.auth_type.map(str::to_string)),
        SqlValue::int(event.fault_code),
        SqlValue::text(event.call_name),
        SqlValue::text(event.call),
        SqlValue::Text(event.message.map(str::to_string)),
        SqlValue::Float(Some(event.runtime)),
        SqlValue::int(event.time),
        SqlValue::text(objects_json(event.objects).to_string()),
    ]
}

/// Records `event` and its objects in one step: on PostgreSQL one statement (the event's insert
/// feeds its objects' in a data-modifying CTE), on SQLite a script of two.
pub async fn record(tx: &mut Tx, event: &NewEvent<'_>) -> Result<()> {
    let params = params(event);
    if tx.backend() == Backend::Postgres {
        tx.execute(
            "WITH e AS (INSERT INTO events (person_id, node_id, auth_type, fault_code, call_name, call, message, \
             runtime, time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING event_id) \
             INSERT INTO event_object (event_id, object_id, object_type) \
             SELECT e.event_id, o.object_id, o.object_type FROM e \
             CROSS JOIN json_to_recordset(CAST($10 AS json)) AS o(object_id BIGINT, object_type TEXT)",
            &params,
        )
        .await?;
        return Ok(());
    }
    tx.execute(SQLITE_RECORD, &params).await?;
    Ok(())
}

/// The event, then its objects, which name it by the highest event id (the write lock is held:
/// no other event is being written); one step of the connection's worker.
macro_rules! sqlite_record {
    () => {
        "INSERT INTO events (person_id, node_id, auth_type, fault_code, call_name, call, message, runtime, time) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9); \
         INSERT INTO event_object (event_id, object_id, object_type) \
         SELECT (SELECT MAX(event_id) FROM events), json_extract(j.value, '$.object_id'), \
         json_extract(j.value, '$.object_type') FROM json_each($10) AS j"
    };
}
const SQLITE_RECORD: &str = sqlite_record!();

/// Records `event` (see [`record`]) as a call's last write and commits the call's transaction:
/// on SQLite in the same step as the event's statements.
pub async fn record_and_commit(mut tx: Tx, event: &NewEvent<'_>) -> Result<()> {
    if tx.backend() == Backend::Postgres {
        record(&mut tx, event).await?;
        return tx.commit().await;
    }
    tx.commit_script(concat!(sqlite_record!(), "; COMMIT"), &params(event)).await
}

/// `[{"object_type": …, "object_id": …}, …]`: an event's objects as one JSON value.
fn objects_json(objects: &[(&str, i64)]) -> serde_json::Value {
    objects
        .iter()
        .map(|(object_type, object_id)| serde_json::json!({"object_type": object_type, "object_id": object_id}))
        .collect()
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

/// A batch of events as a write of its own (the event log's group commit): on PostgreSQL one
/// statement in autocommit, whatever the batch's size — the batch's events and their objects
/// travel as one JSON parameter; on SQLite one write transaction.
pub async fn record_batch(registry: &Registry, events: &[NewEvent<'_>]) -> Result<()> {
    if registry.backend() == Backend::Sqlite {
        let mut tx = registry.begin_write().await?;
        for event in events {
            record(&mut tx, event).await?;
        }
        return tx.commit().await;
    }
    let rows: Vec<serde_json::Value> = events
        .iter()
        .map(|e| {
            serde_json::json!({
                "person_id": e.person_id, "node_id": e.node_id, "auth_type": e.auth_type,
                "fault_code": e.fault_code, "call_name": e.call_name, "call": e.call, "message": e.message,
                "runtime": e.runtime, "time": e.time, "objects": objects_json(e.objects),
            })
        })
        .collect();
    let mut tx = registry.begin_single_write().await?;
    tx.execute(
        // Each event's id is drawn first (the CTE is materialised once), so its objects can
        // name it.
        "WITH x AS MATERIALIZED (SELECT nextval(pg_get_serial_sequence('events', 'event_id')) AS event_id, r.* \
         FROM json_to_recordset(CAST($1 AS json)) AS r(person_id BIGINT, node_id BIGINT, auth_type TEXT, \
         fault_code BIGINT, call_name TEXT, call TEXT, message TEXT, runtime DOUBLE PRECISION, time BIGINT, \
         objects JSON)), \
         e AS (INSERT INTO events (event_id, person_id, node_id, auth_type, fault_code, call_name, call, message, \
         runtime, time) SELECT event_id, person_id, node_id, auth_type, fault_code, call_name, call, message, \
         runtime, time FROM x ORDER BY event_id) \
         INSERT INTO event_object (event_id, object_id, object_type) SELECT x.event_id, o.object_id, o.object_type \
         FROM x CROSS JOIN json_to_recordset(x.objects) AS o(object_id BIGINT, object_type TEXT)",
        &[SqlValue::text(serde_json::Value::Array(rows).to_string())],
    )
    .await?;
    tx.commit().await
}
