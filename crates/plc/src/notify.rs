//! Boot notices to a node's owners (docs/plc-api.md §12.5, upstream's `PLC/Boot.py notify_owners`):
//! the enabled template `message_id` from `messages`, rendered with exactly `node_id`,
//! `hostname`, `PLC_WWW_HOST`, `PLC_WWW_SSL_PORT` and `fault`, to the boot-messages address
//! (always, when set), support (when asked and set) and the enabled PIs / techs of the node's
//! site (as asked). Used by BootNotifyOwners and by hmac authentication (`authfail`).
//!
//! A missing, disabled or broken template (one that does not render, or renders a subject with
//! a line break) is logged and nothing is sent. When `[mail] enabled` is false the mail that
//! would have gone is logged (one line: template, recipients) and nothing is queued.
//!
//! Nodes must not be able to flood their owners (a node in a boot loop calls BootNotifyOwners
//! on every boot; anyone can provoke `authfail` with a wrong hmac): a notice is sent at most once
//! per template and node within a window, counted from the event log, where every notice sent
//! leaves an event `Sent message <id>` naming the node (upstream's message and event object).

use crate::caller::NodeCaller;
use crate::config::PlcConfig;
use crate::fault::MethodResult;
use crate::pyformat::{self, PyValue};
use bootmedium_mail::Envelope;
use bootmedium_registry::{Tx, ops};
use std::collections::BTreeMap;

/// How often one node may send the same template by BootNotifyOwners.
pub const NOTIFY_WINDOW_SECONDS: i64 = 600;
/// How often one node's owners hear that somebody failed to authenticate as it.
pub const AUTHFAIL_WINDOW_SECONDS: i64 = 3600;

/// What to send and to whom.
pub struct Notice<'a> {
    pub message_id: &'a str,
    pub include_pis: bool,
    pub include_techs: bool,
    pub include_support: bool,
    /// `%(fault)s`: the fault text for `authfail`, None for BootNotifyOwners.
    pub fault: Option<&'a str>,
}

/// The event message a sent notice leaves (upstream's `Sent message <id>`).
pub fn event_message(message_id: &str) -> String {
    format!("Sent message {message_id}")
}

/// Takes the node's row lock for the rest of a write transaction, so that two notices for one
/// node decided at once (PostgreSQL runs write transactions side by side; SQLite one at a time)
/// see each other's event and the window holds.
pub async fn lock_node(tx: &mut Tx, node_id: i64) -> MethodResult<()> {
    Ok(ops::nodes::lock(tx, node_id).await?)
}

/// Whether `message_id` was sent for this node since `since` (epoch seconds).
pub async fn sent_since(tx: &mut Tx, node_id: i64, message_id: &str, since: i64) -> MethodResult<bool> {
    Ok(ops::events::node_message_since(tx, node_id, &event_message(message_id), since).await?)
}

/// The mail for `notice`, or None (logged) when its template is missing, disabled or broken, or
/// nobody would receive it.
pub async fn compose(
    tx: &mut Tx,
    config: &PlcConfig,
    node: &NodeCaller,
    notice: &Notice<'_>,
) -> MethodResult<Option<Envelope>> {
    let Some(ops::messages::Template { subject, template }) = ops::messages::enabled(tx, notice.message_id).await?
    else {
        tracing::warn!(message_id = notice.message_id, node_id = node.node_id, "no such enabled message template");
        return Ok(None);
    };
    let params = BTreeMap::from([
        ("node_id", PyValue::Int(node.node_id)),
        ("hostname", PyValue::Str(node.hostname.clone())),
        ("PLC_WWW_HOST", PyValue::Str(config.plc.www_host.clone())),
        ("PLC_WWW_SSL_PORT", PyValue::Int(i64::from(config.plc.www_ssl_port))),
        ("fault", notice.fault.map(|f| PyValue::Str(f.to_string())).unwrap_or(PyValue::None)),
    ]);
    let rendered = pyformat::format(&subject, &params).and_then(|s| Ok((s, pyformat::format(&template, &params)?)));
    let (subject, body) = match rendered {
        Ok((s, _)) if s.contains(['\r', '\n']) => {
            tracing::warn!(message_id = notice.message_id, "message template is broken: its subject has a line break");
            return Ok(None);
        }
        Ok(pair) => pair,
        Err(e) => {
            tracing::warn!(message_id = notice.message_id, error = %e, "message template is broken; nothing sent");
            return Ok(None);
        }
    };
    let mail = &config.mail;
    let mut to: Vec<String> = Vec::new();
    if !mail.boot_address.is_empty() {
        to.push(mail.boot_address.clone());
    }
    if notice.include_support && !mail.support_address.is_empty() {
        to.push(mail.support_address.clone());
    }
    if notice.include_pis || notice.include_techs {
        use crate::{roles::Role, standard_tags::role_id};
        let roles =
            [notice.include_pis.then_some(role_id(Role::Pi)), notice.include_techs.then_some(role_id(Role::Tech))];
        to.extend(ops::persons::site_emails_with_roles(tx, node.site_id, roles).await?);
    }
    let mut seen = std::collections::BTreeSet::new();
    to.retain(|a| !a.contains(['\r', '\n']) && seen.insert(a.to_lowercase()));
    if to.is_empty() {
        tracing::info!(message_id = notice.message_id, node_id = node.node_id, "boot notice has no recipients");
        return Ok(None);
    }
    let Some(from) = sender(config) else {
        tracing::warn!(message_id = notice.message_id, "no [mail] from or support address to send boot notices from");
        return Ok(None);
    };
    Ok(Some(Envelope { from: from.clone(), reply_to: Some(from), to, subject, body }))
}

/// `"<PLC_NAME> Support" <address>`, the address being `[mail] from` or else the support address.
fn sender(config: &PlcConfig) -> Option<String> {
    let mail = &config.mail;
    let address = if mail.from.is_empty() { &mail.support_address } else { &mail.from };
    if address.is_empty() || address.contains(['\r', '\n']) {
        return None;
    }
    if address.contains('<') {
        return Some(address.clone());
    }
    let name: String = config.plc.name.chars().filter(|c| !matches!(c, '"' | '\\' | '\r' | '\n')).collect();
    Some(format!("\"{name} Support\" <{address}>"))
}

/// Queues `mail` when mail is enabled, else logs what would have been sent.
pub async fn send(tx: &mut Tx, config: &PlcConfig, mail: &Envelope, message_id: &str) -> MethodResult<()> {
    if !config.mail.enabled {
        tracing::info!(message_id, recipients = %mail.to.join(", "), "mail disabled; would have sent");
        return Ok(());
    }
    crate::outbox::enqueue_in(tx, mail, Some(message_id)).await
}

/// Truthiness of an optional int flag argument, as Python's `if include_pis:`.
pub fn flag(v: Option<i64>) -> bool {
    v.is_some_and(|n| n != 0)
}
