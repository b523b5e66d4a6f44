//! The outgoing mail queue (table `mail_outbox`): mail a call causes is queued in that call's
//! transaction, so it goes out only if the call commits, and never makes the call wait for, or
//! fail because of, the relay. Delivery happens afterwards, in the background.

use crate::api::Cx;
use crate::fault::{Fault, MethodResult};
use bootmedium_mail::Envelope;
use bootmedium_registry::{SqlValue, Tx};

/// Queues `mail` (made from template `message_id`, when it was) for delivery as soon as the
/// call commits. Addresses must be single lines: a recipient list is stored one per line.
pub async fn enqueue(cx: &mut Cx<'_>, mail: &Envelope, message_id: Option<&str>) -> MethodResult<()> {
    enqueue_in(&mut cx.tx, mail, message_id).await
}

/// [`enqueue`] inside a write transaction that is not a method's (the authfail notice, which
/// auth sends after the failed call's read transaction has ended).
pub async fn enqueue_in(tx: &mut Tx, mail: &Envelope, message_id: Option<&str>) -> MethodResult<()> {
    let one_line = |s: &str| !s.contains(['\r', '\n']);
    if !mail.to.iter().all(|a| one_line(a) && !a.is_empty())
        || !one_line(&mail.from)
        || !mail.reply_to.as_deref().is_none_or(one_line)
        || !one_line(&mail.subject)
    {
        return Err(Fault::internal("refusing to queue a mail with a line break in a header"));
    }
    let now = crate::now();
    tx.insert(
        "mail_outbox",
        "mail_id",
        &[
            ("created", SqlValue::int(now)),
            ("message_id", SqlValue::Text(message_id.map(str::to_string))),
            ("sender", SqlValue::text(mail.from.as_str())),
            ("reply_to", SqlValue::Text(mail.reply_to.clone())),
            ("recipients", SqlValue::text(mail.to.join("\n"))),
            ("subject", SqlValue::text(mail.subject.as_str())),
            ("body", SqlValue::text(mail.body.as_str())),
            ("next_attempt", SqlValue::int(now)),
        ],
    )
    .await?;
    Ok(())
}
