//! Mail through the real binary: `serve` checks `[mail]` at start, delivers queued mail to a real
//! SMTP relay (tests/python/smtp_sink.py, aiosmtpd) when `[mail] enabled`, logs what it gives
//! up, and leaves queued mail alone when mail is off.

#[macro_use]
mod common;
#[path = "../../plc/tests/support/smtp_sink.rs"]
mod smtp_sink;

use bootmedium_mail::Envelope;
use common::*;
use smtp_sink::{Sink, closed_port};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// `[mail]` pointing at a relay on `port`, with short timeouts and retries.
fn mail_on(dir: &Path, port: u16) {
    set_config(dir, "mail", "enabled", true);
    set_config(dir, "mail", "relay", "127.0.0.1");
    set_config(dir, "mail", "port", i64::from(port));
    set_config(dir, "mail", "starttls", "never");
    set_config(dir, "mail", "timeout_seconds", 2i64);
    set_config(dir, "mail", "retry_seconds", 1i64);
    set_config(dir, "mail", "max_attempts", 2i64);
}

/// The server's database URL (its PostgreSQL database, or its SQLite file).
fn database(server: &Server) -> String {
    match server.database_url() {
        Some(url) => url.to_owned(),
        None => format!("sqlite:{}", server.data_dir.join("bootmedium.db").display()),
    }
}

/// Queues a mail the way another instance sharing the database would: a committed
/// `mail_outbox` row this server's loop only finds by looking.
fn queue_elsewhere(server: &Server, to: &str, subject: &str) {
    let url = database(server);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let registry = bootmedium_registry::Registry::open(&url).await.unwrap();
        let mut tx = registry.begin_write().await.unwrap();
        let mail = Envelope {
            from: "support@plc.example.org".into(),
            reply_to: None,
            to: vec![to.into()],
            subject: subject.into(),
            body: "text\n".into(),
        };
        bootmedium_plc::outbox::enqueue_in(&mut tx, &mail, Some("test")).await.unwrap();
        tx.commit().await.unwrap();
        registry.close().await;
    });
}

/// The `state` and `attempts` of every mail_outbox row, in order.
fn states(server: &Server) -> Vec<(String, i64)> {
    rows(server).into_iter().map(|(s, n, _)| (s, n)).collect()
}

/// `state`, `attempts` and whether it is claimed, of every mail_outbox row, in order.
fn rows(server: &Server) -> Vec<(String, i64, bool)> {
    let url = database(server);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let registry = bootmedium_registry::Registry::open(&url).await.unwrap();
        let mut tx = registry.begin_read().await.unwrap();
        use bootmedium_registry::{FieldKind, SqlValue};
        let rows = tx
            .fetch(
                "SELECT state, attempts, CASE WHEN claimed_until IS NULL THEN 0 ELSE 1 END \
                 FROM mail_outbox ORDER BY mail_id",
                &[],
                &[FieldKind::Text, FieldKind::Int, FieldKind::Int],
            )
            .await
            .unwrap();
        drop(tx);
        registry.close().await;
        rows.into_iter()
            .map(|r| match (&r[0], &r[1], &r[2]) {
                (SqlValue::Text(Some(s)), SqlValue::Int(Some(n)), SqlValue::Int(Some(c))) => (s.clone(), *n, *c == 1),
                other => panic!("{other:?}"),
            })
            .collect()
    })
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn serve_refuses_unusable_mail_settings() {
    // (key, value, what the error must name, whether only enabled mail is checked)
    let cases: &[(&str, toml::Value, &str, bool)] = &[
        ("relay", "".into(), "mail.relay", true),
        ("port", 0i64.into(), "mail.port", true),
        ("max_attempts", 0i64.into(), "mail.max_attempts", true),
        ("timeout_seconds", 0i64.into(), "mail.timeout_seconds", true),
        ("username", "only-a-user".into(), "mail.username", true),
        ("ca_certificate", "missing/ca.pem".into(), "mail.ca_certificate", true),
        // Not a value of the setting at all: the file does not parse.
        ("starttls", "sometimes".into(), "starttls", false),
    ];
    let tmp = tempfile::tempdir().unwrap();
    for (n, (key, value, named, when_enabled)) in cases.iter().enumerate() {
        let dir = tmp.path().join(format!("d{n}"));
        let out = init(&dir, None);
        assert!(out.status.success(), "{}", describe(&out));
        set_config(&dir, "mail", "enabled", true);
        set_config(&dir, "mail", key, value.clone());
        let mut child = bootmedium()
            .arg("--data-dir")
            .arg(&dir)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if start.elapsed() > Duration::from_secs(20) {
                let _ = child.kill();
                panic!("serve started with [mail] {key} = {value}");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let out = child.wait_with_output().unwrap();
        assert!(!status.success(), "[mail] {key} = {value}: {}", describe(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(named), "[mail] {key} = {value}: the error names {named}: {stderr}");
        if !when_enabled {
            continue;
        }
        // The same setting with mail off starts (nothing is delivered, so nothing is checked).
        set_config(&dir, "mail", "enabled", false);
        let log = dir.join("serve.stderr");
        let (mut child, url) = spawn_serve(&dir, None, &log, &[]);
        // Serving (so its signal handlers are in place) before it is stopped.
        let addr = url.trim_start_matches("http://").split('/').next().unwrap_or_default().to_owned();
        let health = http_exchange(&addr, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assert_eq!(health.map(|r| r.0).ok(), Some(200));
        let stopped = stop_child(&mut child, "TERM");
        let log = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(stopped.is_some_and(|s| s.success()), "[mail] {key} with mail off: {stopped:?}\n{log}");
    }
}

#[test]
fn serve_delivers_queued_mail_and_logs_what_it_gives_up() {
    let sink = Sink::start(&[]);
    let server = Server::start_with(|dir| mail_on(dir, sink.port));
    assert!(server.stderr_log().contains("delivering mail through the relay"), "{}", server.stderr_log());
    // Mail another instance queued is found by looking (every few seconds).
    queue_elsewhere(&server, "pi@site.example.org", "first");
    let got = sink.wait_messages(1, Duration::from_secs(15));
    assert_eq!(got.len(), 1, "{}", server.stderr_log());
    assert_eq!(got[0]["headers"]["subject"], "first");
    assert_eq!(got[0]["rcpt_tos"], serde_json::json!(["pi@site.example.org"]));
    wait_for("the row is marked sent", Duration::from_secs(5), || states(&server) == [("sent".to_owned(), 1)]);
    assert!(server.stderr_log().contains("mail sent"), "{}", server.stderr_log());

    // The relay goes away: the next mail is tried max_attempts (2) times, then given up with
    // an error line naming the mail, its recipients and the reason.
    let port = sink.port;
    drop(sink);
    assert_ne!(port, closed_port());
    queue_elsewhere(&server, "tech@site.example.org", "second");
    wait_for("the second mail fails", Duration::from_secs(20), || {
        states(&server).get(1).is_some_and(|(s, _)| s == "failed")
    });
    assert_eq!(states(&server)[1], ("failed".to_owned(), 2));
    let log = server.stderr_log();
    let line = log.lines().find(|l| l.contains("mail failed")).unwrap_or_else(|| panic!("no failure line:\n{log}"));
    assert!(line.contains("ERROR"), "{line}");
    assert!(line.contains("mail_id=2"), "{line}");
    assert!(line.contains("tech@site.example.org"), "{line}");
    assert!(line.to_lowercase().contains("connection refused"), "{line}");
    assert!(log.contains("will retry"), "the first failure is a warning with its retry: {log}");
}

#[test]
fn with_mail_off_queued_mail_stays_queued() {
    let sink = Sink::start(&[]);
    let server = Server::start_with(|dir| {
        mail_on(dir, sink.port);
        set_config(dir, "mail", "enabled", false);
    });
    assert!(server.stderr_log().contains("mail is off"), "{}", server.stderr_log());
    queue_elsewhere(&server, "pi@site.example.org", "waiting");
    // Longer than the delivery loop's poll.
    std::thread::sleep(Duration::from_secs(7));
    assert_eq!(states(&server), [("queued".to_owned(), 0)]);
    assert_eq!(sink.transactions(), 0);
}

#[test]
fn shutdown_lets_the_attempt_in_progress_finish_and_records_it() {
    // A relay that answers nothing in time: the attempt runs until timeout_seconds (2).
    let sink = Sink::start(&["--slow", "60", "--slow-count", "100"]);
    let mut server = Server::start_with(|dir| mail_on(dir, sink.port));
    queue_elsewhere(&server, "pi@site.example.org", "in flight");
    wait_for("the attempt begins", Duration::from_secs(15), || sink.transactions() == 1);
    let (status, took) = timed(|| server.stop_with("TERM"));
    assert!(status.success(), "{status:?}");
    assert!(took < Duration::from_secs(10), "stopped within the attempt's timeout: {took:?}");
    // Recorded as a failed attempt to retry, not left claimed by a process that is gone.
    let (state, attempts, claimed) = rows(&server).remove(0);
    assert_eq!((state.as_str(), claimed), ("queued", false), "{}", server.stderr_log());
    assert!(attempts >= 1);
}
