//! The outgoing mail queue (table `mail_outbox`; docs/plc-api.md §12.5 for what is sent): mail a call
//! causes is queued in that call's transaction, so it goes out only if the call commits, and
//! never makes the call wait for, or fail because of, the relay. Delivery happens afterwards, in
//! the background ([`run`]), by any instance sharing the database.
//!
//! The delivery loop claims one due row at a time in a short write transaction (setting
//! `claimed_until` past the end of its attempt, so another instance on the same PostgreSQL
//! database skips it), sends it with no transaction open, then records the outcome in a second
//! short transaction: `sent`; or, on a transient failure, the attempt counted and the next one
//! scheduled `retry_seconds · 2^(attempts-1)` later (at most a day); or, on a permanent failure or after
//! `max_attempts`, `failed` with an error log line. Finished rows are deleted after 30 days.

use crate::context::Cx;
use crate::fault::{Fault, MethodResult};
use bootmedium_mail::{Envelope, MailSettings, Mailer, SendError};
use bootmedium_registry::{Registry, Tx, ops};
use std::cell::Cell;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::Notify;

/// Queues `mail` (made from template `message_id`, when it was) for delivery as soon as the
/// call commits. Addresses must be single lines: a recipient list is stored one per line.
pub async fn enqueue(cx: &mut Cx<'_>, mail: &Envelope, message_id: Option<&str>) -> MethodResult<()> {
    enqueue_in(&mut cx.tx, mail, message_id).await
}

tokio::task_local! {
    /// Set when mail was queued during the call [`tracking`] runs.
    static QUEUED: Cell<bool>;
}

/// Runs a call and tells whether it queued mail, wherever it did (a method through its `Cx`,
/// or a notice in a transaction of its own), so the API can wake the delivery loop once the
/// call has returned, its transactions committed, without every committing site having to
/// remember to. A call that queued and then rolled back only wakes the loop for nothing.
pub(crate) async fn tracking<F: Future>(call: F) -> (F::Output, bool) {
    QUEUED
        .scope(Cell::new(false), async move {
            let out = call.await;
            (out, QUEUED.with(Cell::get))
        })
        .await
}

/// [`enqueue`] inside a write transaction that is not a method's (the authfail notice, which
/// auth sends after the failed call's read transaction has ended). The call during which it is
/// committed wakes the delivery loop; queued outside a call, the loop finds it within seconds.
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
    let recipients = mail.to.join("\n");
    let queued = ops::outbox::NewMail {
        created: now,
        message_id,
        sender: &mail.from,
        reply_to: mail.reply_to.as_deref(),
        recipients: &recipients,
        subject: &mail.subject,
        body: &mail.body,
        next_attempt: now,
    };
    ops::outbox::enqueue(tx, &queued).await?;
    // Outside a tracked call (tests, tools) there is nobody to wake.
    let _ = QUEUED.try_with(|q| q.set(true));
    Ok(())
}

/// How long sent and failed rows are kept (to answer "did that mail go out?").
pub const KEEP_FINISHED_SECONDS: i64 = 30 * 86400;
/// The loop looks for due mail at least this often (mail queued by another instance, retries).
const POLL: Duration = Duration::from_secs(5);
/// A claim outlives its attempt's timeout by this much, so a slow database write after the
/// attempt cannot let another instance take the row while its outcome is being recorded.
const CLAIM_MARGIN_SECONDS: i64 = 30;

/// A queued mail, claimed for one attempt.
struct Claimed {
    mail_id: i64,
    created: i64,
    template: Option<String>,
    attempts: i64,
    claimed_until: i64,
    mail: Envelope,
}

/// Delivers queued mail until `stop` resolves: at once when `wake` is notified (a call that
/// queued mail committed), otherwise every few seconds and when a retry falls due. An attempt
/// in progress is finished before stopping (bounded by `[mail] timeout_seconds`), so its outcome
/// is recorded. Runs only when `[mail] enabled`; when it does not, queued mail waits.
pub async fn run(registry: Registry, settings: MailSettings, mailer: Mailer, wake: Arc<Notify>, stop: impl Future) {
    tokio::pin!(stop);
    let mut purged_at = None::<std::time::Instant>;
    loop {
        if purged_at.is_none_or(|t| t.elapsed() >= Duration::from_secs(3600)) {
            match purge(&registry, crate::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(rows = n, "deleted mail sent or failed more than 30 days ago"),
                Err(e) => tracing::warn!(error = %e, "could not delete old mail"),
            }
            purged_at = Some(std::time::Instant::now());
        }
        let pause = match deliver_due(&registry, &settings, &mailer, &mut stop).await {
            Ok(true) => return,
            Ok(false) => match next_due(&registry).await {
                Ok(Some(due)) => Duration::from_secs(u64::try_from(due - crate::now()).unwrap_or(0)).min(POLL),
                Ok(None) => POLL,
                Err(e) => {
                    tracing::warn!(error = %e, "mail delivery: cannot read the queue");
                    POLL
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "mail delivery: cannot use the queue");
                POLL
            }
        };
        tokio::select! {
            _ = &mut stop => return,
            _ = wake.notified() => {}
            _ = tokio::time::sleep(pause.max(Duration::from_millis(200))) => {}
        }
    }
}

/// Sends every due row, one claim at a time, until none is left or `stop` has resolved (true
/// then); the attempt in progress is always finished and recorded first.
async fn deliver_due<S: Future>(
    registry: &Registry,
    settings: &MailSettings,
    mailer: &Mailer,
    stop: &mut std::pin::Pin<&mut S>,
) -> bootmedium_registry::Result<bool> {
    while let Some(c) = claim(registry, settings).await? {
        let date = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(c.created).unwrap_or(0));
        let id = bootmedium_mail::message_id(c.mail_id, c.created, &c.mail.from);
        let outcome = mailer.send(&c.mail, &id, date).await;
        record(registry, settings, &c, outcome).await?;
        let stopped = tokio::select! {
            biased;
            _ = stop.as_mut() => true,
            _ = std::future::ready(()) => false,
        };
        if stopped {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Claims the next due row in a short write transaction. On PostgreSQL two instances may pick
/// the same row; the claim is conditional ([`ops::outbox::claim`]), so only the first gets it
/// (the second one's waits for the first to commit, then finds the claim and changes nothing).
async fn claim(registry: &Registry, settings: &MailSettings) -> bootmedium_registry::Result<Option<Claimed>> {
    let now = crate::now();
    let timeout = i64::try_from(settings.timeout_seconds).unwrap_or(i64::MAX / 4);
    let until = now.saturating_add(timeout).saturating_add(CLAIM_MARGIN_SECONDS);
    // Looked for on a read transaction first: an idle queue never takes SQLite's write lock.
    let mut tx = registry.begin_read().await?;
    if ops::outbox::due(&mut tx, now).await?.is_none() {
        return Ok(None);
    }
    tx.reopen_for_write(registry).await?;
    loop {
        let Some(mail_id) = ops::outbox::due(&mut tx, now).await? else {
            tx.commit().await?;
            return Ok(None);
        };
        if !ops::outbox::claim(&mut tx, mail_id, until, now).await? {
            // Another instance claimed it after this one found it due: look again.
            continue;
        }
        let queued = ops::outbox::mail(&mut tx, mail_id).await?;
        tx.commit().await?;
        let Some(q) = queued else { return Ok(None) };
        let mail = Envelope {
            from: q.sender,
            reply_to: q.reply_to,
            to: q.recipients.lines().filter(|l| !l.is_empty()).map(str::to_string).collect(),
            subject: q.subject,
            body: q.body,
        };
        return Ok(Some(Claimed {
            mail_id,
            created: q.created,
            template: q.message_id,
            attempts: q.attempts,
            claimed_until: until,
            mail,
        }));
    }
}

/// Records an attempt's outcome, if the claim is still this loop's (a process stopped for
/// longer than the claim lets another instance retry the row; its outcome then counts).
async fn record(
    registry: &Registry,
    settings: &MailSettings,
    c: &Claimed,
    outcome: Result<(), SendError>,
) -> bootmedium_registry::Result<()> {
    let now = crate::now();
    let attempts = c.attempts + 1;
    let recipients = c.mail.to.join(", ");
    let template = c.template.as_deref().unwrap_or("-");
    let mut tx = registry.begin_write().await?;
    let recorded = match &outcome {
        Ok(()) => ops::outbox::mark_sent(&mut tx, c.mail_id, c.claimed_until, attempts, now).await?,
        Err(e) if e.is_permanent() || attempts >= i64::from(settings.max_attempts) => {
            ops::outbox::mark_failed(&mut tx, c.mail_id, c.claimed_until, attempts, now, &e.to_string()).await?
        }
        Err(e) => {
            let next = now.saturating_add(retry_delay(settings.retry_seconds, attempts));
            ops::outbox::schedule_retry(&mut tx, c.mail_id, c.claimed_until, attempts, next, &e.to_string()).await?
        }
    };
    tx.commit().await?;
    if !recorded {
        tracing::warn!(mail_id = c.mail_id, "mail delivery: the claim expired before the outcome was recorded");
        return Ok(());
    }
    match outcome {
        Ok(()) => tracing::info!(mail_id = c.mail_id, %template, %recipients, attempts, "mail sent"),
        Err(e) if e.is_permanent() || attempts >= i64::from(settings.max_attempts) => tracing::error!(
            mail_id = c.mail_id,
            %template,
            %recipients,
            subject = %c.mail.subject,
            attempts,
            reason = %e,
            "mail failed: {}",
            if e.is_permanent() { "the relay refused it" } else { "giving up after the last attempt" }
        ),
        Err(e) => tracing::warn!(
            mail_id = c.mail_id,
            %template,
            %recipients,
            attempts,
            retry_in_seconds = retry_delay(settings.retry_seconds, attempts),
            reason = %e,
            "mail not delivered yet; will retry"
        ),
    }
    Ok(())
}

/// `retry_seconds · 2^(attempts-1)`: the wait after the `attempts`-th failed attempt, at most
/// a day (or `retry_seconds`, if longer), so a large `max_attempts` keeps trying daily.
pub fn retry_delay(retry_seconds: u64, attempts: i64) -> i64 {
    let doublings = u32::try_from((attempts - 1).clamp(0, 40)).unwrap_or(40);
    let base = i64::try_from(retry_seconds).unwrap_or(i64::MAX / 2);
    base.saturating_mul(1i64 << doublings).min(base.max(86400))
}

/// When the loop has work next: the earliest retry, or the end of a claim a stopped instance
/// left behind.
async fn next_due(registry: &Registry) -> bootmedium_registry::Result<Option<i64>> {
    let mut tx = registry.begin_read().await?;
    ops::outbox::next_due(&mut tx).await
}

/// Deletes sent and failed rows finished more than [`KEEP_FINISHED_SECONDS`] before `now`.
pub async fn purge(registry: &Registry, now: i64) -> bootmedium_registry::Result<u64> {
    let mut tx = registry.begin_write().await?;
    let n = ops::outbox::purge_finished(&mut tx, now - KEEP_FINISHED_SECONDS).await?;
    tx.commit().await?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_call_that_queues_mail_is_told_so() {
        let dir = tempfile::tempdir().unwrap();
        let registry = Registry::open(&format!("sqlite:{}", dir.path().join("t.db").display())).await.unwrap();
        let mail = Envelope {
            from: "support@plc.example.org".into(),
            reply_to: None,
            to: vec!["pi@site.example.org".into()],
            subject: "s".into(),
            body: "b".into(),
        };
        let queue = || async {
            let mut tx = registry.begin_write().await.unwrap();
            enqueue_in(&mut tx, &mail, None).await.unwrap();
            tx.commit().await.unwrap();
        };
        assert!(tracking(queue()).await.1);
        assert!(!tracking(async {}).await.1);
        // Outside a tracked call it queues all the same.
        queue().await;
        // A header with a line break is refused and queues nothing.
        let bad = Envelope { subject: "a\nBcc: x@y.z".into(), ..mail.clone() };
        let mut tx = registry.begin_write().await.unwrap();
        let (refused, queued) = tracking(enqueue_in(&mut tx, &bad, None)).await;
        assert!(refused.is_err() && !queued);
        drop(tx);
        assert!(next_due(&registry).await.unwrap().is_some());
    }

    #[test]
    fn retries_back_off_exponentially() {
        assert_eq!(super::retry_delay(60, 1), 60);
        assert_eq!(super::retry_delay(60, 2), 120);
        assert_eq!(super::retry_delay(60, 4), 480);
        assert_eq!(super::retry_delay(60, 12), 86400);
        assert_eq!(super::retry_delay(60, 1000), 86400);
        assert_eq!(super::retry_delay(200_000, 3), 200_000);
    }
}
