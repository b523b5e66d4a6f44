//! The event log of calls (docs/plc-api.md §2.8): one `events` row per recorded call, with its
//! `event_object` rows.
//!
//! A call that writes records its event in its own write transaction, so the two commit together
//! or not at all. A call that only reads (GetBootMedium's node-preview, and every call in debug
//! mode) has nothing else to commit: its event goes through [`EventBatcher`], a group commit —
//! events that arrive while one batch is being written wait and are written together in the
//! next transaction — so reading calls never take the write lock one by one. Each call still
//! returns only once its event has committed (or with the fault that stopped it).

use crate::auth::AuthMethod;
use crate::caller::Caller;
use crate::context::{EventNote, MethodSpec};
use crate::fault::{Fault, MethodResult};
use bootmedium_registry::{Registry, Tx, ops};
use bootmedium_xmlrpc::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::oneshot;

/// A call about to be recorded.
pub(crate) struct EventRecord<'a> {
    pub spec: &'static MethodSpec,
    /// The call's arguments as sent, the auth struct first: the one source of the recorded
    /// call text (redacted, [`crate::pyrepr::redacted_args`]).
    pub params: &'a [Value],
    /// The call's AuthMethod, from its credentials (or from an auth struct that named a valid
    /// method but was malformed otherwise); none for the operator's command line.
    pub auth_method: Option<AuthMethod>,
    pub caller: Option<&'a Caller>,
    pub fault_code: i64,
    pub note: EventNote,
    pub started: Instant,
}

/// One `events` row and its objects, ready to insert.
pub(crate) struct EventRow {
    person_id: Option<i64>,
    node_id: Option<i64>,
    auth_type: Option<String>,
    fault_code: i64,
    call_name: &'static str,
    call: String,
    message: Option<String>,
    runtime: f64,
    time: i64,
    objects: Vec<(&'static str, i64)>,
}

impl From<EventRecord<'_>> for EventRow {
    fn from(rec: EventRecord<'_>) -> Self {
        let (person_id, node_id) = match rec.caller {
            // person_id 0 is the maintenance account or the local operator: no person row.
            Some(Caller::Person(p)) if p.person_id > 0 => (Some(p.person_id), None),
            Some(Caller::Node(n)) => (None, Some(n.node_id)),
            _ => (None, None),
        };
        let auth_type = rec.auth_method.and_then(AuthMethod::event_auth_type).map(str::to_string);
        EventRow {
            person_id,
            node_id,
            auth_type,
            fault_code: rec.fault_code,
            call_name: rec.spec.name,
            call: format!("{}{}", rec.spec.name, crate::pyrepr::redacted_args(rec.params)),
            message: rec.note.message,
            runtime: rec.started.elapsed().as_secs_f64(),
            time: crate::now(),
            objects: rec.note.objects,
        }
    }
}

/// Records a writing call's event as its last write and commits the call's transaction.
pub(crate) async fn record_and_commit(tx: Tx, rec: EventRecord<'_>) -> MethodResult<()> {
    let row = EventRow::from(rec);
    ops::events::record_and_commit(tx, &row.new_event()).await?;
    Ok(())
}

impl EventRow {
    fn new_event(&self) -> ops::events::NewEvent<'_> {
        ops::events::NewEvent {
            person_id: self.person_id,
            node_id: self.node_id,
            auth_type: self.auth_type.as_deref(),
            fault_code: self.fault_code,
            call_name: self.call_name,
            call: &self.call,
            message: self.message.as_deref(),
            runtime: self.runtime,
            time: self.time,
            objects: &self.objects,
        }
    }
}

type Waiting = (EventRow, oneshot::Sender<MethodResult<()>>);

/// Group commit for the events of calls that wrote nothing else (see the module doc).
#[derive(Default)]
pub struct EventBatcher {
    /// Held while a batch is written: one event transaction at a time.
    writer: Arc<tokio::sync::Mutex<()>>,
    /// Events waiting for the next batch.
    pending: Mutex<Vec<Waiting>>,
    /// Batches written so far (how many write transactions the events cost).
    batches: Arc<AtomicU64>,
}

impl EventBatcher {
    /// Records a call on its own, together with the events of other calls arriving meanwhile;
    /// returns once it has committed.
    pub(crate) async fn record(&self, registry: &Registry, rec: EventRecord<'_>) -> MethodResult<()> {
        let (done, answer) = oneshot::channel();
        self.lock_pending().push((EventRow::from(rec), done));
        let turn = self.writer.clone().lock_owned().await;
        let batch = std::mem::take(&mut *self.lock_pending());
        // Empty: the batch before took this event along and has answered it already.
        if !batch.is_empty() {
            let registry = registry.clone();
            let batches = self.batches.clone();
            // A task of its own, so that a caller who goes away mid-batch does not cut the batch
            // (and the events of the others in it) short; the turn ends when it is written.
            tokio::spawn(async move {
                let _turn = turn;
                let (rows, senders): (Vec<EventRow>, Vec<_>) = batch.into_iter().unzip();
                let written = write_batch(&registry, &rows).await;
                batches.fetch_add(1, Ordering::Relaxed);
                for s in senders {
                    let _ = s.send(written.clone());
                }
            });
        }
        answer.await.map_err(|_| Fault::internal("the event log writer stopped before recording this call"))?
    }

    fn lock_pending(&self) -> std::sync::MutexGuard<'_, Vec<Waiting>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

async fn write_batch(registry: &Registry, rows: &[EventRow]) -> MethodResult<()> {
    let events: Vec<ops::events::NewEvent<'_>> = rows.iter().map(EventRow::new_event).collect();
    ops::events::record_batch(registry, &events).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bootmedium_registry::{Cond, Query, views};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn events_arriving_while_the_writer_waits_are_written_together() {
        let dir = tempfile::tempdir().unwrap();
        let registry = Registry::open(&format!("sqlite:{}", dir.path().join("e.db").display())).await.unwrap();
        let batcher = Arc::new(EventBatcher::default());
        // Another writer holds SQLite's write lock while ten reading calls finish.
        let held = registry.begin_write().await.unwrap();
        let mut calls = Vec::new();
        for i in 0..10 {
            let (batcher, registry) = (batcher.clone(), registry.clone());
            calls.push(tokio::spawn(async move {
                let spec = crate::methods::boot_medium_spec();
                let note = EventNote { message: Some(format!("call {i}")), objects: vec![("Node", i)] };
                let rec = EventRecord {
                    spec,
                    params: &[],
                    auth_method: None,
                    caller: None,
                    fault_code: 0,
                    note,
                    started: Instant::now(),
                };
                batcher.record(&registry, rec).await
            }));
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(batcher.batches.load(Ordering::Relaxed), 0, "nothing is written while the lock is held");
        held.commit().await.unwrap();
        for c in calls {
            c.await.unwrap().unwrap();
        }
        // One write transaction for the first event, one for the nine that queued behind it
        // (one per call without the group commit).
        let batches = batcher.batches.load(Ordering::Relaxed);
        assert!((1..=2).contains(&batches), "{batches} write transactions for 10 events");
        let mut tx = registry.begin_read().await.unwrap();
        let all =
            Query { table: &views::EVENT, cond: Cond::True, fields: vec![], sort: vec![], offset: None, limit: None };
        assert_eq!(tx.select(&all).await.unwrap().len(), 10);
    }
}
