//! Sessions (docs/plc-api.md §2.3, §2.4): GetSession, AddSession, DeleteSession, AuthCheck,
//! BootCheckAuthentication, and the ends of sessions that upstream lets live on.
//!
//! Unlike upstream, person sessions are never longer than `[api] max_session_lifetime_seconds`,
//! node sessions expire when unused for `[api] node_session_lifetime_seconds` (auth.rs pushes
//! the expiry out on use), and sessions end with what they stood for: a node's when its key
//! changes or it is deleted, a person's on a password change, a role removal, disabling or
//! deletion.

use super::common::{self, find_one};
use crate::args::{Done, IdOrName, OrNil};
use crate::caller::Caller;
use crate::context::Cx;
use crate::crypto;
use crate::fault::{Fault, MethodResult};
use bootmedium_registry::SqlValue;
use bootmedium_registry::ops;
use bootmedium_registry::views::PERSON;

async fn purge_expired(cx: &mut Cx<'_>) -> MethodResult<()> {
    ops::sessions::purge_expired(&mut cx.tx, crate::now()).await?;
    Ok(())
}

async fn new_person_session(cx: &mut Cx<'_>, person_id: i64, expires: i64) -> MethodResult<String> {
    purge_expired(cx).await?;
    let id = crypto::new_session_id().map_err(|e| Fault::internal(e.to_string()))?;
    insert_session(cx, &id, expires, ("person_id", person_id)).await?;
    Ok(id)
}

/// Stores session `id` for its owner: `("person_id", id)` or `("node_id", id)`.
async fn insert_session(cx: &mut Cx<'_>, id: &str, expires: i64, owner: (&'static str, i64)) -> MethodResult<()> {
    let (owner_column, owner_id) = owner;
    cx.tx
        .insert_plain(
            "sessions",
            &[
                ("session_id", SqlValue::text(id)),
                ("expires", SqlValue::int(expires)),
                (owner_column, SqlValue::int(owner_id)),
            ],
        )
        .await?;
    Ok(())
}

pub async fn get_session(cx: &mut Cx<'_>, expires: Option<OrNil<i64>>) -> MethodResult<String> {
    if let Some(s) = cx.auth_session() {
        return Ok(s.to_string());
    }
    match cx.caller.clone() {
        Caller::Person(p) => {
            let now = crate::now();
            let asked = expires.and_then(|e| e.0);
            if asked.is_some_and(|seconds| i32::try_from(seconds).is_err()) {
                return Err(Fault::invalid_named("expires", "must fit in 32 bits"));
            }
            let expires = cx.config().api.person_session_expiry(now, asked);
            if expires <= now {
                return Err(Fault::invalid("Expiration date must be in the future"));
            }
            new_person_session(cx, p.person_id, expires).await
        }
        Caller::Node(n) => {
            purge_expired(cx).await?;
            let id = crypto::new_session_id().map_err(|e| Fault::internal(e.to_string()))?;
            set_node_session(cx, n.node_id, &id).await?;
            Ok(id)
        }
        Caller::Anonymous => Err(Fault::denied("anonymous callers have no session")),
    }
}

pub async fn add_session(cx: &mut Cx<'_>, person_id_or_email: IdOrName) -> MethodResult<String> {
    let p = find_one(cx, &PERSON, &person_id_or_email, &["person_id"], "account").await?;
    let person_id = p.int("person_id").unwrap_or(0);
    let expires = cx.config().api.person_session_expiry(crate::now(), Some(86400));
    let id = new_person_session(cx, person_id, expires).await?;
    cx.note(format!("Session added for person {person_id}"), vec![("Person", person_id)]);
    Ok(id)
}

pub async fn delete_session(cx: &mut Cx<'_>) -> MethodResult<Done> {
    let Some(session) = cx.auth_session().map(str::to_string) else {
        return Err(Fault::invalid_named("auth", "DeleteSession requires session authentication"));
    };
    cx.tx.delete("sessions", &[("session_id", SqlValue::text(session))]).await?;
    Ok(common::one())
}

pub async fn auth_check(_cx: &mut Cx<'_>) -> MethodResult<Done> {
    Ok(common::one())
}

/// Makes `session` the node's only session (a node has at most one), expiring when unused for
/// `[api] node_session_lifetime_seconds`.
pub async fn set_node_session(cx: &mut Cx<'_>, node_id: i64, session: &str) -> MethodResult<()> {
    end_node_sessions(cx, node_id).await?;
    cx.tx.delete("sessions", &[("session_id", SqlValue::text(session))]).await?;
    let expires = crate::now().saturating_add(cx.config().api.node_session_lifetime_seconds);
    insert_session(cx, session, expires, ("node_id", node_id)).await
}

/// Ends the node's session: its key changed (a medium or configuration file with a new key, or
/// an admin's UpdateNode), so whoever held the old key must not keep a session made with it.
pub async fn end_node_sessions(cx: &mut Cx<'_>, node_id: i64) -> MethodResult<()> {
    cx.tx.delete("sessions", &[("node_id", SqlValue::int(node_id))]).await?;
    Ok(())
}

/// Ends a person's sessions (all of them, or all but `keep`, the session making the change).
pub async fn end_person_sessions(cx: &mut Cx<'_>, person_id: i64, keep: Option<&str>) -> MethodResult<()> {
    match keep {
        None => cx.tx.delete("sessions", &[("person_id", SqlValue::int(person_id))]).await?,
        Some(keep) => ops::sessions::end_person_sessions_except(&mut cx.tx, person_id, keep).await?,
    };
    Ok(())
}
