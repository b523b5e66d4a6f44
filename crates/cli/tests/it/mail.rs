//! Mail through the real binary: `serve` checks `[mail]` at start, delivers queued mail to a real
//! SMTP relay (tests/python/smtp_sink.py, aiosmtpd) when `[mail] enabled`, logs what it gives
//! up, and leaves queued mail alone when mail is off.

#[path = "../../../plc/tests/support/smtp_sink.rs"]
mod smtp_sink;

use crate::support::*;
use bootmedium_mail::Envelope;
use bootmedium_xmlrpc::Value;
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
    server.registry_url()
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
        let rows = bootmedium_registry::ops::outbox::delivery_states(&mut tx).await.unwrap();
        drop(tx);
        registry.close().await;
        rows.into_iter().map(|r| (r.state, r.attempts, r.claimed_until.is_some())).collect()
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

// ---------------------------------------------------------------------------------------------
// End to end: a node's BootNotifyOwners call, the mail at the relay

const KEY: &str = "node-key-0123456789abcdef";
const TECH: &str = "tech@site-a.example.org";
const BOOT_ADDRESS: &str = "boot-msgs@plc.example.org";
const SUPPORT: &str = "support@plc.example.org";
const HOST: &str = "node-a.site-a.example.org";

/// `[mail]` at the relay on `port` with the PLC's addresses, and the web host mails point at.
fn boot_mail_on(dir: &Path, port: u16) {
    mail_on(dir, port);
    set_config(dir, "mail", "boot_address", BOOT_ADDRESS);
    set_config(dir, "mail", "support_address", SUPPORT);
    set_config(dir, "plc", "www_host", "www.plc.example.org");
    set_config(dir, "plc", "www_ssl_port", 443i64);
}

/// A site with a keyed node and a tech; the node's session (as the BootManager gets it).
fn node_with_tech(server: &Server) -> (i64, Value) {
    server.use_admin_session();
    let site = add_site(server, "sitea");
    let node = add_node(server, site, HOST);
    server.admin_one("UpdateNode", vec![i(node), st! { "key" => KEY }]);
    add_person(server, TECH, "Person-passw0rd", &["tech"], Some(site));
    let session = server.ok("GetSession", vec![hmac_auth(node, KEY, &[])]);
    (node, session_auth(str_of(&session)))
}

/// The BootManager's call after an installation: techs only.
fn install_finished(server: &Server, auth: Value) -> Duration {
    let (answer, took) = timed(|| server.call("BootNotifyOwners", vec![auth, s("installfinished"), i(0), i(1), i(0)]));
    assert_eq!(answer, Ok(i(1)));
    took
}

#[test]
fn boot_notify_owners_mail_arrives_at_the_relay_right_after_the_call() {
    let sink = Sink::start(&[]);
    let server = Server::start_with(|dir| boot_mail_on(dir, sink.port));
    let (node, auth) = node_with_tech(&server);
    // Something delivered first: the loop has just gone to sleep for its poll interval (5 s),
    // so a mail arriving well before that was woken by the call.
    queue_elsewhere(&server, "pi@site.example.org", "first");
    sink.wait_messages(1, Duration::from_secs(15));
    wait_for("the first mail is marked sent", Duration::from_secs(5), || states(&server)[0].0 == "sent");
    // The loop is asleep from about now; its next poll is 5 s away.
    let called = Instant::now();
    install_finished(&server, auth);
    let got = sink.wait_messages(2, Duration::from_secs(15));
    assert_eq!(got.len(), 2, "{}", server.stderr_log());
    assert!(called.elapsed() < Duration::from_millis(4500), "woken by the call, not the poll: {:?}", called.elapsed());
    let m = &got[1];
    assert_eq!(m["mail_from"], SUPPORT);
    assert_eq!(m["rcpt_tos"], serde_json::json!([BOOT_ADDRESS, TECH]));
    let h = &m["headers"];
    assert_eq!(h["from"], format!("{PLC_NAME} Support <{SUPPORT}>"));
    assert_eq!(h["reply-to"], h["from"]);
    assert_eq!(h["to"], format!("{BOOT_ADDRESS}, {TECH}"));
    assert_eq!(h["subject"], format!("{HOST} completed installation"));
    let body = m["body"].as_str().unwrap();
    assert!(body.contains(&format!("https://www.plc.example.org:443/db/nodes/?id={node}")), "{body}");
    wait_for("the second mail is marked sent", Duration::from_secs(5), || states(&server)[1].0 == "sent");
    assert_eq!(states(&server)[1], ("sent".to_owned(), 1));

    // The authfail notice, queued by a call that fails authentication, wakes the loop as well.
    let called = Instant::now();
    let forged = server.call("GetSession", vec![hmac_auth(node, "not-the-key", &[])]);
    assert_fault(&forged, 103, "BootAuth");
    let got = sink.wait_messages(3, Duration::from_secs(15));
    assert_eq!(got.len(), 3, "{}", server.stderr_log());
    assert!(called.elapsed() < Duration::from_millis(4500), "woken by the call: {:?}", called.elapsed());
    assert_eq!(got[2]["headers"]["subject"], format!("{HOST} failed to authenticate"));
    assert!(got[2]["rcpt_tos"].as_array().unwrap().contains(&serde_json::json!(TECH)), "{}", got[2]);
}

#[test]
fn a_relay_that_is_down_or_slow_never_slows_the_call() {
    // Down: the call answers at once; the mail is retried, then given up with a log line.
    let server = Server::start_with(|dir| boot_mail_on(dir, closed_port()));
    let (_, auth) = node_with_tech(&server);
    let took = install_finished(&server, auth);
    assert!(took < Duration::from_millis(1500), "{took:?}");
    wait_for("the mail is given up", Duration::from_secs(20), || {
        states(&server).first().is_some_and(|(s, _)| s == "failed")
    });
    assert_eq!(states(&server)[0], ("failed".to_owned(), 2));
    let log = server.stderr_log();
    let line = log.lines().find(|l| l.contains("mail failed")).unwrap_or_else(|| panic!("{log}"));
    assert!(line.contains("template=installfinished") && line.contains(TECH), "{line}");

    // Slow: a relay that takes longer than timeout_seconds (2) to answer; the call does not wait
    // for it, the attempt times out, and the next one delivers.
    let sink = Sink::start(&["--slow", "5"]);
    let server = Server::start_with(|dir| boot_mail_on(dir, sink.port));
    let (_, auth) = node_with_tech(&server);
    let took = install_finished(&server, auth);
    assert!(took < Duration::from_millis(1500), "{took:?}");
    let got = sink.wait_messages(1, Duration::from_secs(20));
    assert_eq!(got.len(), 1, "{}", server.stderr_log());
    wait_for("the row is marked sent", Duration::from_secs(5), || states(&server)[0].0 == "sent");
    assert_eq!(states(&server)[0], ("sent".to_owned(), 2), "the first attempt timed out");
    assert!(server.stderr_log().contains("timeout_seconds"), "{}", server.stderr_log());
}
