//! Message templates and boot notices (docs/plc-api.md §12.3, §12.5): GetMessages, AddMessage,
//! UpdateMessage, DeleteMessage and BootNotifyOwners (composition and recipients in
//! `crate::notify`).
//!
//! Stricter than upstream: a subject with a line break is refused (it would be a mail header),
//! and GetMessages refuses integer ids (message ids are strings). BootNotifyOwners sends the same
//! template for the same node at most once per `notify::NOTIFY_WINDOW_SECONDS`.

use super::common::{self, collect, columns, find};
use crate::args::{Done, Fields, IdOrName};
use crate::caller::Caller;
use crate::context::Cx;
use crate::fault::{Fault, MethodResult};
use crate::filter::{Filter, ReturnFields, Viewer};
use crate::notify::{self, Notice};
use bootmedium_registry::views::MESSAGE;
use bootmedium_registry::{Row, SortKey, SqlValue, WriteOp, ops};

pub async fn get_messages(
    cx: &mut Cx<'_>,
    message_filter: Option<Filter>,
    return_fields: Option<ReturnFields>,
) -> MethodResult<Vec<Row>> {
    let filter = message_filter.unwrap_or_default();
    let ints = match &filter {
        Filter::One(key) => matches!(key, IdOrName::Id(_)),
        Filter::Keys(keys) => keys.iter().any(|k| matches!(k, IdOrName::Id(_))),
        Filter::All | Filter::Match(_) => false,
    };
    if ints {
        return Err(Fault::invalid_named("message_filter", "message ids are strings"));
    }
    let mut q = crate::filter::query(&MESSAGE, &filter, &return_fields.unwrap_or_default(), Viewer::of(&cx.caller))?;
    q.sort.push(SortKey { field: common::field(&MESSAGE, "message_id")?, descending: false });
    Ok(cx.tx.select(&q).await?)
}

/// Checks and normalises the written fields: nil subject or template is stored as "", and a
/// subject must be one line (it becomes the mail's Subject header).
fn checked(mut written: Vec<common::Written>) -> MethodResult<Vec<common::Written>> {
    for wr in written.iter_mut() {
        match wr.field.name {
            "subject" | "template" if wr.value.is_null() => wr.value = SqlValue::text(""),
            "subject" if wr.text().is_some_and(|s| s.contains(['\r', '\n'])) => {
                return Err(Fault::invalid_named("subject", "must be a single line"));
            }
            "message_id" => {
                let id = wr.text().unwrap_or_default();
                if id.is_empty() || id.chars().any(char::is_control) {
                    return Err(Fault::invalid_named("message_id", "must be a non-empty single line"));
                }
            }
            _ => {}
        }
    }
    Ok(written)
}

async fn message_exists(cx: &mut Cx<'_>, id: &str) -> MethodResult<bool> {
    Ok(ops::messages::exists(&mut cx.tx, id).await?)
}

pub async fn add_message(cx: &mut Cx<'_>, message_fields: Fields) -> MethodResult<Done> {
    let (written, _) = collect(&MESSAGE, WriteOp::Add, &cx.caller, &[], &message_fields)?;
    let written = checked(written)?;
    let Some(id) = find(&written, "message_id").and_then(|w| w.text()).map(str::to_string) else {
        return Err(Fault::invalid("message_id must be specified and cannot be unset in class Message"));
    };
    if message_exists(cx, &id).await? {
        return Err(Fault::invalid(format!("Message {id} already exists")));
    }
    cx.tx.insert_plain("messages", &columns(&written)).await?;
    cx.note(format!("Message {id} added"), vec![]);
    Ok(common::one())
}

/// The message_id argument of UpdateMessage / DeleteMessage, which must exist.
async fn existing(cx: &mut Cx<'_>, id: &str) -> MethodResult<()> {
    if !message_exists(cx, id).await? {
        return Err(Fault::invalid(format!("No such message template {id}")));
    }
    Ok(())
}

pub async fn update_message(cx: &mut Cx<'_>, message_id: String, message_fields: Fields) -> MethodResult<Done> {
    existing(cx, &message_id).await?;
    let id = message_id;
    let (written, _) = collect(&MESSAGE, WriteOp::Update, &cx.caller, &[], &message_fields)?;
    let written = checked(written)?;
    cx.tx.update("messages", "message_id", SqlValue::text(id.clone()), &columns(&written)).await?;
    cx.note(format!("Message {id} updated"), vec![]);
    Ok(common::one())
}

pub async fn delete_message(cx: &mut Cx<'_>, message_id: String) -> MethodResult<Done> {
    existing(cx, &message_id).await?;
    let id = message_id;
    cx.tx.delete("messages", &[("message_id", SqlValue::text(id.clone()))]).await?;
    cx.note(format!("Message {id} deleted"), vec![]);
    Ok(common::one())
}

/// `BootNotifyOwners(auth, message_id, include_pis, include_techs, include_support)`: always 1
/// (a missing, disabled or broken template, or a notice sent too recently, is only logged).
pub async fn boot_notify_owners(
    cx: &mut Cx<'_>,
    message_id: String,
    include_pis: Option<i64>,
    include_techs: Option<i64>,
    include_support: Option<i64>,
) -> MethodResult<Done> {
    let Caller::Node(node) = cx.caller.clone() else {
        return Err(Fault::denied("Only nodes may send boot notices"));
    };
    let message_id = message_id.as_str();
    common::check_text(&MESSAGE, "message_id", message_id)?;
    let since = crate::now() - notify::NOTIFY_WINDOW_SECONDS;
    notify::lock_node(&mut cx.tx, node.node_id).await?;
    if notify::sent_since(&mut cx.tx, node.node_id, message_id, since).await? {
        tracing::info!(message_id, node_id = node.node_id, "boot notice already sent recently; not sent again");
        return Ok(common::one());
    }
    let notice = Notice {
        message_id,
        include_pis: notify::flag(include_pis),
        include_techs: notify::flag(include_techs),
        include_support: notify::flag(include_support),
        fault: None,
    };
    let services = cx.services;
    let config = &services.config;
    if let Some(mail) = notify::compose(&mut cx.tx, config, &node, &notice).await? {
        notify::send(&mut cx.tx, config, &mail, message_id).await?;
        cx.note(notify::event_message(message_id), vec![("Node", node.node_id)]);
    }
    Ok(common::one())
}
