//! The mail delivery loop (`outbox::run`) against a real SMTP server (tests/python/smtp_sink.py,
//! aiosmtpd) on loopback: headers and encoding as a mail reader decodes them, retries and their
//! limits, permanent refusals, timeouts, STARTTLS with AUTH, two loops sharing one database, and
//! the 30-day purge. Each scenario runs on SQLite and, when `BOOTMEDIUM_TEST_POSTGRES_URL` is
//! set, on a fresh PostgreSQL database.

#[path = "support/smtp_sink.rs"]
mod smtp_sink;

use bootmedium_mail::{Envelope, MailSettings, Mailer, StartTls};
use bootmedium_plc::outbox;
use bootmedium_registry::testing::TestDb;
use bootmedium_registry::{Registry, ops};
use smtp_sink::{Sink, closed_port};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

async fn databases() -> Vec<TestDb> {
    bootmedium_registry::testing::databases("mail").await
}

fn settings(port: u16) -> MailSettings {
    MailSettings {
        enabled: true,
        relay: "127.0.0.1".into(),
        port,
        starttls: StartTls::Never,
        timeout_seconds: 2,
        max_attempts: 3,
        retry_seconds: 1,
        ..MailSettings::default()
    }
}

fn mail(n: usize) -> Envelope {
    Envelope {
        from: "\"PlanetLab Test Support\" <support@plc.example.org>".into(),
        reply_to: Some("support@plc.example.org".into()),
        to: vec!["pi@site.example.org".into(), "tech@site.example.org".into()],
        subject: format!("Nœud n{n}.example.org: installation terminée ✓"),
        body: format!("Bonjour,\n\nle nœud n{n} est installé — 100 %.\nLine with a trailing space \n.\nEnd.\n"),
    }
}

async fn queue(registry: &Registry, mail: &Envelope) {
    let mut tx = registry.begin_write().await.unwrap();
    outbox::enqueue_in(&mut tx, mail, Some("installfinished")).await.unwrap();
    tx.commit().await.unwrap();
}

/// A delivery loop, stopped (and awaited) on [`Loop::stop`].
struct Loop {
    wake: Arc<Notify>,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Loop {
    fn start(registry: &Registry, settings: MailSettings) -> Loop {
        let wake = Arc::new(Notify::new());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let mailer = Mailer::new(&settings).unwrap();
        let task = tokio::spawn(outbox::run(registry.clone(), settings, mailer, wake.clone(), async {
            let _ = stopped.await;
        }));
        Loop { wake, stop, task }
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(20), self.task).await.expect("the loop stops").unwrap();
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Row {
    mail_id: i64,
    state: String,
    attempts: i64,
    last_error: Option<String>,
    finished: Option<i64>,
    claimed_until: Option<i64>,
}

async fn rows(registry: &Registry) -> Vec<Row> {
    let mut tx = registry.begin_read().await.unwrap();
    let rows = ops::outbox::delivery_states(&mut tx).await.unwrap();
    rows.into_iter()
        .map(|r| Row {
            mail_id: r.mail_id,
            state: r.state,
            attempts: r.attempts,
            last_error: r.last_error,
            finished: r.finished,
            claimed_until: r.claimed_until,
        })
        .collect()
}

/// Waits (at most `limit`) until every row is finished (sent or failed).
async fn wait_finished(registry: &Registry, limit: Duration) -> Vec<Row> {
    let start = Instant::now();
    loop {
        let now = rows(registry).await;
        if now.iter().all(|r| r.state != "queued") || start.elapsed() > limit {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_mail_arrives_with_its_headers_and_utf8_text() {
    for db in databases().await {
        let sink = Sink::start(&[]);
        let running = Loop::start(&db.registry, settings(sink.port));
        queue(&db.registry, &mail(1)).await;
        let queued_at = Instant::now();
        running.wake.notify_one();
        let got = sink.wait_messages(1, Duration::from_secs(10));
        assert_eq!(got.len(), 1, "{}", db.url);
        assert!(queued_at.elapsed() < Duration::from_secs(3), "woken at once, not at the next poll");
        let m = &got[0];
        assert_eq!(m["mail_from"], "support@plc.example.org");
        assert_eq!(m["rcpt_tos"], serde_json::json!(["pi@site.example.org", "tech@site.example.org"]));
        let h = &m["headers"];
        assert_eq!(h["from"], "PlanetLab Test Support <support@plc.example.org>");
        assert_eq!(h["reply-to"], "support@plc.example.org");
        assert_eq!(h["to"], "pi@site.example.org, tech@site.example.org");
        assert_eq!(h["subject"], "Nœud n1.example.org: installation terminée ✓");
        // The relay stores the message before it answers; the row is marked sent after that.
        let row = wait_finished(&db.registry, Duration::from_secs(5)).await.remove(0);
        let message_id = h["message-id"].as_str().unwrap();
        assert!(message_id.ends_with(&format!(".{}.bootmedium@plc.example.org>", row.mail_id)), "{h}");
        assert!(h["date"].as_str().unwrap().contains(" +0000"), "{h}");
        assert_eq!(m["content_type"], "text/plain");
        assert_eq!(m["charset"], "utf-8");
        // Python's parser gives the body with its line ends as sent (CRLF turned into \n).
        assert_eq!(m["body"].as_str().unwrap().replace("\r\n", "\n"), mail(1).body);
        // On the wire: 7-bit, encoded words in the subject.
        let data = m["data"].as_str().unwrap();
        assert!(data.is_ascii() && data.contains("Subject: =?utf-8?"), "{data}");
        assert_eq!(row.state, "sent");
        assert_eq!(row.attempts, 1);
        assert!(row.finished.is_some() && row.claimed_until.is_none(), "{row:?}");
        running.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_is_down_is_retried_with_backoff_then_given_up() {
    for db in databases().await {
        let port = closed_port();
        let running = Loop::start(&db.registry, settings(port));
        queue(&db.registry, &mail(1)).await;
        let start = Instant::now();
        running.wake.notify_one();
        // Attempts at 0, +1 s, +2 s more: the third (max_attempts) fails it.
        let mut seen = Vec::new();
        let rows = loop {
            let r = rows(&db.registry).await;
            if seen.last() != Some(&r[0].attempts) {
                seen.push(r[0].attempts);
            }
            if r[0].state != "queued" || start.elapsed() > Duration::from_secs(20) {
                break r;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let row = &rows[0];
        assert_eq!(row.state, "failed", "{}: {row:?}", db.url);
        assert_eq!(row.attempts, 3);
        assert!(seen.contains(&1) && seen.contains(&2), "the attempts grew one by one: {seen:?}");
        assert!(
            start.elapsed() >= Duration::from_secs(2),
            "retries wait retry_seconds, doubled: {:?}",
            start.elapsed()
        );
        let error = row.last_error.as_deref().unwrap();
        assert!(error.to_lowercase().contains("connection refused"), "{error}");
        running.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_refusal_fails_at_once_without_retries() {
    for db in databases().await {
        let sink = Sink::start(&["--refuse"]);
        let running = Loop::start(&db.registry, settings(sink.port));
        queue(&db.registry, &mail(1)).await;
        running.wake.notify_one();
        let row = wait_finished(&db.registry, Duration::from_secs(10)).await.remove(0);
        assert_eq!(row.state, "failed", "{}", db.url);
        assert_eq!(row.attempts, 1);
        assert!(row.last_error.as_deref().unwrap().contains("550"), "{row:?}");
        // Nothing more is tried later.
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert_eq!(sink.transactions(), 1);
        assert_eq!(rows(&db.registry).await[0], row);
        running.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transient_refusal_is_retried_until_the_relay_accepts() {
    for db in databases().await {
        let sink = Sink::start(&["--defer", "2"]);
        let running = Loop::start(&db.registry, settings(sink.port));
        queue(&db.registry, &mail(1)).await;
        running.wake.notify_one();
        let row = wait_finished(&db.registry, Duration::from_secs(15)).await.remove(0);
        assert_eq!(row.state, "sent", "{}: {row:?}", db.url);
        assert_eq!(row.attempts, 3);
        assert!(row.last_error.as_deref().unwrap().contains("451"), "the last failure is kept: {row:?}");
        assert_eq!(sink.transactions(), 3);
        assert_eq!(sink.messages().len(), 1);
        running.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_relay_times_out_and_the_next_attempt_delivers() {
    for db in databases().await {
        let sink = Sink::start(&["--slow", "30"]);
        let mut s = settings(sink.port);
        s.timeout_seconds = 1;
        let running = Loop::start(&db.registry, s);
        queue(&db.registry, &mail(1)).await;
        let start = Instant::now();
        running.wake.notify_one();
        let row = wait_finished(&db.registry, Duration::from_secs(15)).await.remove(0);
        assert_eq!(row.state, "sent", "{}: {row:?}", db.url);
        assert_eq!(row.attempts, 2);
        assert!(row.last_error.as_deref().unwrap().contains("timeout_seconds"), "{row:?}");
        assert!(start.elapsed() < Duration::from_secs(10), "the attempt was cut at 1 s: {:?}", start.elapsed());
        assert_eq!(sink.messages().len(), 1);
        running.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_loops_on_one_database_deliver_each_mail_exactly_once() {
    const N: usize = 30;
    for db in databases().await {
        let sink = Sink::start(&[]);
        let second = Registry::open(&db.url).await.unwrap();
        let a = Loop::start(&db.registry, settings(sink.port));
        let b = Loop::start(&second, settings(sink.port));
        for n in 0..N {
            queue(if n % 2 == 0 { &db.registry } else { &second }, &mail(n)).await;
            a.wake.notify_one();
            b.wake.notify_one();
        }
        let rows = wait_finished(&db.registry, Duration::from_secs(30)).await;
        assert!(rows.iter().all(|r| r.state == "sent" && r.attempts == 1), "{}: {rows:?}", db.url);
        let got = sink.wait_messages(N, Duration::from_secs(5));
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(sink.messages().len(), N, "each mail once");
        assert_eq!(sink.transactions(), N, "no second attempt at any mail");
        let mut ids: Vec<&str> = got.iter().map(|m| m["headers"]["message-id"].as_str().unwrap()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), N);
        a.stop().await;
        b.stop().await;
        second.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_with_auth_delivers_and_a_relay_without_tls_gets_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = smtp_sink::certificates(dir.path());
    for db in databases().await {
        // A relay that requires STARTTLS and AUTH, whose certificate we trust through ca_certificate.
        let sink = Sink::start(&["--tls", cert.to_str().unwrap(), key.to_str().unwrap(), "--auth", "plc:s3cret"]);
        let mut s = settings(sink.port);
        s.starttls = StartTls::Required;
        s.ca_certificate = ca.clone();
        s.username = "plc".into();
        s.password = "s3cret".into();
        let running = Loop::start(&db.registry, s.clone());
        queue(&db.registry, &mail(1)).await;
        running.wake.notify_one();
        let row = wait_finished(&db.registry, Duration::from_secs(10)).await.remove(0);
        assert_eq!(row.state, "sent", "{}: {row:?}", db.url);
        assert_eq!(sink.messages().len(), 1);
        assert_eq!(sink.logins(), vec!["plc".to_owned()]);
        running.stop().await;

        // "required" towards a relay that offers no STARTTLS: nothing goes out in clear text.
        let plain = Sink::start(&[]);
        s.port = plain.port;
        let running = Loop::start(&db.registry, s);
        queue(&db.registry, &mail(2)).await;
        running.wake.notify_one();
        let row = wait_finished(&db.registry, Duration::from_secs(15)).await.remove(1);
        assert_eq!(row.state, "failed", "{row:?}");
        assert_eq!(row.attempts, 3, "a missing STARTTLS is the relay's configuration: retried");
        assert_eq!(plain.transactions(), 0, "no MAIL command without TLS");
        running.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_mail_is_deleted_after_30_days_and_queued_mail_never() {
    for db in databases().await {
        let now = bootmedium_plc::now();
        let old = now - outbox::KEEP_FINISHED_SECONDS - 10;
        queue(&db.registry, &mail(0)).await;
        let mut tx = db.registry.begin_write().await.unwrap();
        // An old queued row (a relay down for a long time, mail switched off) stays.
        let stale = ops::outbox::NewMail {
            created: old,
            message_id: None,
            sender: "support@plc.example.org",
            reply_to: None,
            recipients: "pi@site.example.org",
            subject: "s",
            body: "b",
            next_attempt: old,
        };
        ops::outbox::enqueue(&mut tx, &stale).await.unwrap();
        tx.commit().await.unwrap();
        queue(&db.registry, &mail(2)).await;
        // The first sent more than 30 days ago, the last failed yesterday, as the loop records them.
        let ids: Vec<i64> = rows(&db.registry).await.iter().map(|r| r.mail_id).collect();
        let mut tx = db.registry.begin_write().await.unwrap();
        assert!(ops::outbox::claim(&mut tx, ids[0], now + 60, now).await.unwrap());
        assert!(ops::outbox::mark_sent(&mut tx, ids[0], now + 60, 1, old).await.unwrap());
        assert!(ops::outbox::claim(&mut tx, ids[2], now + 60, now).await.unwrap());
        assert!(ops::outbox::mark_failed(&mut tx, ids[2], now + 60, 1, now - 86400, "550").await.unwrap());
        tx.commit().await.unwrap();
        assert_eq!(outbox::purge(&db.registry, now).await.unwrap(), 1, "{}", db.url);
        let states: Vec<String> = rows(&db.registry).await.into_iter().map(|r| r.state).collect();
        assert_eq!(states, ["queued", "failed"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_finishes_the_attempt_in_progress_and_starts_no_other() {
    let db = databases().await.remove(0);
    let sink = Sink::start(&["--slow", "30", "--slow-count", "100"]);
    let mut s = settings(sink.port);
    s.timeout_seconds = 1;
    for n in 0..5 {
        queue(&db.registry, &mail(n)).await;
    }
    let running = Loop::start(&db.registry, s);
    running.wake.notify_one();
    while sink.transactions() == 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let start = Instant::now();
    running.stop().await;
    assert!(start.elapsed() < Duration::from_secs(3), "{:?}", start.elapsed());
    let rows = rows(&db.registry).await;
    assert_eq!(rows.iter().map(|r| r.attempts).sum::<i64>(), 1, "{rows:?}");
    assert!(rows.iter().all(|r| r.state == "queued" && r.claimed_until.is_none()), "{rows:?}");
    assert_eq!(sink.transactions(), 1);
}
