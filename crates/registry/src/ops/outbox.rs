//! The outgoing mail queue (`mail_outbox`): rows are queued in a call's transaction, claimed
//! one at a time by a conditional UPDATE (so instances sharing a database never send a row
//! twice), and their outcome recorded only while the claim still holds.

use super::{all, first, get};
use crate::{Result, SqlValue, Tx};

/// A mail to queue. Recipients are one address per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMail<'a> {
    pub created: i64,
    /// The template it was made from, if any.
    pub message_id: Option<&'a str>,
    pub sender: &'a str,
    pub reply_to: Option<&'a str>,
    pub recipients: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    pub next_attempt: i64,
}

/// Queues `mail`; returns its mail_id.
pub async fn enqueue(tx: &mut Tx, mail: &NewMail<'_>) -> Result<i64> {
    tx.insert(
        "mail_outbox",
        "mail_id",
        &[
            ("created", SqlValue::int(mail.created)),
            ("message_id", SqlValue::Text(mail.message_id.map(str::to_string))),
            ("sender", SqlValue::text(mail.sender)),
            ("reply_to", SqlValue::Text(mail.reply_to.map(str::to_string))),
            ("recipients", SqlValue::text(mail.recipients)),
            ("subject", SqlValue::text(mail.subject)),
            ("body", SqlValue::text(mail.body)),
            ("next_attempt", SqlValue::int(mail.next_attempt)),
        ],
    )
    .await
}

/// The next queued row due at `now` and not claimed by an attempt in progress.
pub async fn due(tx: &mut Tx, now: i64) -> Result<Option<i64>> {
    first(
        tx,
        "SELECT mail_id FROM mail_outbox WHERE state = 'queued' AND next_attempt <= $1 \
         AND (claimed_until IS NULL OR claimed_until < $1) ORDER BY next_attempt, mail_id LIMIT 1",
        &[SqlValue::int(now)],
        |r| get(r, "mail_id"),
    )
    .await
}

/// Claims queued row `mail_id` until `until` unless another claim still holds at `now`;
/// false when it does (or the row is no longer queued). On PostgreSQL a second claimer's
/// UPDATE waits for the first to commit, then finds the claim and changes nothing.
pub async fn claim(tx: &mut Tx, mail_id: i64, until: i64, now: i64) -> Result<bool> {
    let changed = tx
        .execute(
            "UPDATE mail_outbox SET claimed_until = $1 WHERE mail_id = $2 AND state = 'queued' \
             AND (claimed_until IS NULL OR claimed_until < $3)",
            &[SqlValue::int(until), SqlValue::int(mail_id), SqlValue::int(now)],
        )
        .await?;
    Ok(changed == 1)
}

/// A queued mail as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMail {
    pub created: i64,
    pub message_id: Option<String>,
    pub attempts: i64,
    pub sender: String,
    pub reply_to: Option<String>,
    /// One address per line.
    pub recipients: String,
    pub subject: String,
    pub body: String,
}

pub async fn mail(tx: &mut Tx, mail_id: i64) -> Result<Option<QueuedMail>> {
    first(
        tx,
        "SELECT created, message_id, attempts, sender, reply_to, recipients, subject, body \
         FROM mail_outbox WHERE mail_id = $1",
        &[SqlValue::int(mail_id)],
        |r| {
            Ok(QueuedMail {
                created: get(r, "created")?,
                message_id: get(r, "message_id")?,
                attempts: get(r, "attempts")?,
                sender: get(r, "sender")?,
                reply_to: get(r, "reply_to")?,
                recipients: get(r, "recipients")?,
                subject: get(r, "subject")?,
                body: get(r, "body")?,
            })
        },
    )
    .await
}

/// Records a delivered mail (`attempts` in all, finished at `now`) if the claim ending at
/// `claimed_until` still holds; false when it expired and another attempt may own the row.
pub async fn mark_sent(tx: &mut Tx, mail_id: i64, claimed_until: i64, attempts: i64, now: i64) -> Result<bool> {
    let changed = tx
        .execute(
            "UPDATE mail_outbox SET state = 'sent', attempts = $1, finished = $2, claimed_until = NULL \
             WHERE mail_id = $3 AND claimed_until = $4",
            &[SqlValue::int(attempts), SqlValue::int(now), SqlValue::int(mail_id), SqlValue::int(claimed_until)],
        )
        .await?;
    Ok(changed == 1)
}

/// Records a mail given up on (`error` the last reason), like [`mark_sent`].
pub async fn mark_failed(
    tx: &mut Tx,
    mail_id: i64,
    claimed_until: i64,
    attempts: i64,
    now: i64,
    error: &str,
) -> Result<bool> {
    let changed = tx
        .execute(
            "UPDATE mail_outbox SET state = 'failed', attempts = $1, finished = $2, last_error = $3, \
             claimed_until = NULL WHERE mail_id = $4 AND claimed_until = $5",
            &[
                SqlValue::int(attempts),
                SqlValue::int(now),
                SqlValue::text(error),
                SqlValue::int(mail_id),
                SqlValue::int(claimed_until),
            ],
        )
        .await?;
    Ok(changed == 1)
}

/// Records a failed attempt and the time of the next one, like [`mark_sent`].
pub async fn schedule_retry(
    tx: &mut Tx,
    mail_id: i64,
    claimed_until: i64,
    attempts: i64,
    next_attempt: i64,
    error: &str,
) -> Result<bool> {
    let changed = tx
        .execute(
            "UPDATE mail_outbox SET attempts = $1, next_attempt = $2, last_error = $3, claimed_until = NULL \
             WHERE mail_id = $4 AND claimed_until = $5",
            &[
                SqlValue::int(attempts),
                SqlValue::int(next_attempt),
                SqlValue::text(error),
                SqlValue::int(mail_id),
                SqlValue::int(claimed_until),
            ],
        )
        .await?;
    Ok(changed == 1)
}

/// When a queued row is next due: its next attempt, or just after the end of a claim that
/// outlasts it (an attempt that never recorded its outcome). `None` when nothing is queued.
pub async fn next_due(tx: &mut Tx) -> Result<Option<i64>> {
    Ok(first(
        tx,
        "SELECT MIN(CASE WHEN claimed_until IS NOT NULL AND claimed_until > next_attempt \
         THEN claimed_until + 1 ELSE next_attempt END) AS due FROM mail_outbox WHERE state = 'queued'",
        &[],
        |r| get::<Option<i64>>(r, "due"),
    )
    .await?
    .flatten())
}

/// Deletes sent and failed rows finished before `before`; returns how many.
pub async fn purge_finished(tx: &mut Tx, before: i64) -> Result<u64> {
    tx.execute("DELETE FROM mail_outbox WHERE state IN ('sent', 'failed') AND finished < $1", &[SqlValue::int(before)])
        .await
}

/// A row's delivery state, for operators and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryState {
    pub mail_id: i64,
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub finished: Option<i64>,
    pub claimed_until: Option<i64>,
}

/// Every row's delivery state, by mail_id.
pub async fn delivery_states(tx: &mut Tx) -> Result<Vec<DeliveryState>> {
    all(
        tx,
        "SELECT mail_id, state, attempts, last_error, finished, claimed_until FROM mail_outbox ORDER BY mail_id",
        &[],
        |r| {
            Ok(DeliveryState {
                mail_id: get(r, "mail_id")?,
                state: get(r, "state")?,
                attempts: get(r, "attempts")?,
                last_error: get(r, "last_error")?,
                finished: get(r, "finished")?,
                claimed_until: get(r, "claimed_until")?,
            })
        },
    )
    .await
}
