//! Sessions (PLC_SPEC §2.3, §2.4): GetSession, AddSession, DeleteSession, AuthCheck,
//! BootCheckAuthentication.

use super::common::{self, find_one};
use crate::api::Cx;
use crate::args::Args;
use crate::caller::Caller;
use crate::crypto;
use crate::fault::{Fault, MethodResult};
use bootmedium_registry::SqlValue;
use bootmedium_registry::views::PERSON;
use bootmedium_xmlrpc::Value;

async fn purge_expired(cx: &mut Cx<'_>) -> MethodResult<()> {
    cx.tx
        .execute("DELETE FROM sessions WHERE expires IS NOT NULL AND expires < $1", &[SqlValue::int(crate::now())])
        .await?;
    Ok(())
}

async fn new_person_session(cx: &mut Cx<'_>, person_id: i64, expires: i64) -> MethodResult<String> {
    purge_expired(cx).await?;
    let id = crypto::new_session_id().map_err(|e| Fault::internal(e.to_string()))?;
    cx.tx
        .insert_plain(
            "sessions",
            &[
                ("session_id", SqlValue::text(id.clone())),
                ("expires", SqlValue::int(expires)),
                ("person_id", SqlValue::int(person_id)),
            ],
        )
        .await?;
    Ok(id)
}

pub async fn get_session(cx: &mut Cx<'_>, a: Args<'_>) -> MethodResult<Value> {
    if let Some(s) = cx.auth.get("session").and_then(Value::as_str) {
        return Ok(Value::from(s));
    }
    match cx.caller.clone() {
        Caller::Person(p) => {
            let now = crate::now();
            let expires = match a.get(0) {
                Value::Nil => now + cx.config().api.session_lifetime_seconds,
                v => {
                    let seconds = crate::args::as_int(v).unwrap_or(0);
                    if i32::try_from(seconds).is_err() {
                        return Err(Fault::invalid_named("expires", "must fit in 32 bits"));
                    }
                    now + seconds
                }
            };
            if expires <= now {
                return Err(Fault::invalid("Expiration date must be in the future"));
            }
            Ok(Value::String(new_person_session(cx, p.person_id, expires).await?))
        }
        Caller::Node(n) => {
            // A node has at most one session, and it does not expire.
            purge_expired(cx).await?;
            cx.tx.delete("sessions", &[("node_id", SqlValue::int(n.node_id))]).await?;
            let id = crypto::new_session_id().map_err(|e| Fault::internal(e.to_string()))?;
            cx.tx
                .insert_plain(
                    "sessions",
                    &[
                        ("session_id", SqlValue::text(id.clone())),
                        ("expires", SqlValue::Int(None)),
                        ("node_id", SqlValue::int(n.node_id)),
                    ],
                )
                .await?;
            Ok(Value::String(id))
        }
        Caller::Anonymous => Err(Fault::denied("anonymous callers have no session")),
    }
}

pub async fn add_session(cx: &mut Cx<'_>, a: Args<'_>) -> MethodResult<Value> {
    let p = find_one(cx, &PERSON, a.get(0), &["person_id"], "account").await?;
    let person_id = p.int("person_id").unwrap_or(0);
    let expires = crate::now() + 86400;
    let id = new_person_session(cx, person_id, expires).await?;
    cx.note(format!("Session added for person {person_id}"), vec![("Person", person_id)]);
    Ok(Value::String(id))
}

pub async fn delete_session(cx: &mut Cx<'_>, _a: Args<'_>) -> MethodResult<Value> {
    let Some(session) = cx.auth.get("session").and_then(Value::as_str).map(str::to_string) else {
        return Err(Fault::invalid_named("auth", "DeleteSession requires session authentication"));
    };
    cx.tx.delete("sessions", &[("session_id", SqlValue::text(session))]).await?;
    Ok(common::one())
}

pub async fn auth_check(_cx: &mut Cx<'_>, _a: Args<'_>) -> MethodResult<Value> {
    Ok(common::one())
}
