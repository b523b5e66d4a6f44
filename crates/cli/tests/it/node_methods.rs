//! The node side's messages against the real binary, on SQLite and on PostgreSQL
//! (docs/plc-api.md §12.5): message templates across a restart (which inserts missing defaults
//! again), BootNotifyOwners' mail (read back from the mail queue with sqlite3 / psql), its rate
//! limit and the notices' log lines. The node methods' other behaviour is tested in process
//! (crates/plc/tests/domain/node_methods.rs).

use crate::support::*;

const BOOT_ADDRESS: &str = "boot-msgs@plc.example.org";
const SUPPORT: &str = "support@plc.example.org";

// ---------------------------------------------------------------------------------------------
// Fixtures

/// `[mail]` enabled with a relay nobody listens on (delivery is not this file's subject; the
/// queue is), and the web host the mails point at.
fn mail_on(dir: &std::path::Path) {
    set_config(dir, "mail", "enabled", true);
    set_config(dir, "mail", "relay", "127.0.0.1");
    set_config(dir, "mail", "port", 9i64);
    set_config(dir, "mail", "boot_address", BOOT_ADDRESS);
    set_config(dir, "mail", "support_address", SUPPORT);
    set_config(dir, "mail", "from", "");
    set_config(dir, "plc", "www_host", "www.plc.example.org");
    set_config(dir, "plc", "www_ssl_port", 8443i64);
}

/// Runs `test` on a fresh SQLite server and, when PostgreSQL is configured, a fresh PostgreSQL one.
fn on_both(prepare: fn(&std::path::Path), test: impl Fn(&Server)) {
    test(&Server::start_sqlite_with(prepare));
    if let Some(server) = Server::start_postgres_with(prepare) {
        test(&server);
    }
}

// ---------------------------------------------------------------------------------------------
// Message templates and mail

#[test]
fn message_templates_are_managed_by_admins_and_defaults_survive_edits() {
    let mut server = Server::start();
    let all = server.admin_rows("GetMessages", vec![]);
    let ids = sorted_strs(&Value::Array(all.iter().map(|m| field(m, "message_id").clone()).collect()));
    assert_eq!(
        ids,
        [
            "authfail",
            "filesystemcorrupted",
            "hostnamenotresolve",
            "installfinished",
            "insufficientdisk",
            "insufficientmemory",
            "missingkernel",
            "mountfailed",
            "noconfig",
            "nodetectednetwork",
            "notinstalled"
        ]
    );
    let m = server.admin_row("GetMessages", vec![strs(&["installfinished"])]);
    assert_eq!(field(&m, "subject"), &s("%(hostname)s completed installation"));
    assert_eq!(field(&m, "enabled"), &Value::Bool(true));
    assert!(str_of(field(&m, "template")).contains("/db/nodes/?id=%(node_id)d"));

    server.admin_one("UpdateMessage", vec![s("installfinished"), st! { "subject" => "Done: %(hostname)s" }]);
    server.admin_one("DeleteMessage", vec![s("noconfig")]);
    server.admin_one(
        "AddMessage",
        vec![st! { "message_id" => "custom", "subject" => "Hi %(hostname)s", "template" => "x", "enabled" => false }],
    );
    let custom = server.admin_row("GetMessages", vec![st! { "message_id" => "custom" }, strs(&["enabled", "subject"])]);
    assert_eq!(custom, st! { "enabled" => false, "subject" => "Hi %(hostname)s" });

    let before = server.admin_rows("GetMessages", vec![]);
    let bad: Vec<(&str, Vec<Value>, &str)> = vec![
        ("AddMessage", vec![st! { "message_id" => "custom" }], "Message custom already exists"),
        ("AddMessage", vec![st! { "subject" => "x" }], "message_id must be specified"),
        ("AddMessage", vec![st! { "message_id" => "" }], "Invalid message_id value"),
        ("AddMessage", vec![st! { "message_id" => "y", "bogus" => 1 }], "Cannot add Message with column(s) ['bogus']"),
        (
            "AddMessage",
            vec![st! { "message_id" => "y", "subject" => "a\r\nBcc: x@y" }],
            "Invalid subject value: must be a single line",
        ),
        ("UpdateMessage", vec![s("custom"), st! { "subject" => "a\nb" }], "single line"),
        (
            "UpdateMessage",
            vec![s("custom"), st! { "message_id" => "z" }],
            "Cannot update Message column(s) ['message_id']",
        ),
        ("UpdateMessage", vec![s("nosuch"), st! { "enabled" => true }], "No such message template nosuch"),
        (
            "UpdateMessage",
            vec![s("custom"), st! { "enabled" => "yes" }],
            "Invalid enabled value: expected boolean, got string",
        ),
        ("DeleteMessage", vec![s("nosuch")], "No such message template nosuch"),
        ("GetMessages", vec![ints(&[1])], "message ids are strings"),
    ];
    for (method, args, needle) in bad {
        assert_fault(&server.admin_call(method, args), 102, needle);
    }
    assert_eq!(server.admin_rows("GetMessages", vec![]), before);

    // A restart inserts the missing defaults again and keeps the edits.
    server.restart();
    let m = server.admin_row("GetMessages", vec![strs(&["installfinished"])]);
    assert_eq!(field(&m, "subject"), &s("Done: %(hostname)s"));
    assert_eq!(server.admin_rows("GetMessages", vec![strs(&["noconfig"])]).len(), 1);
    assert_eq!(server.admin_rows("GetMessages", vec![strs(&["custom"])]).len(), 1);
}

#[test]
fn boot_notify_owners_queues_the_mail_for_the_site_staff() {
    on_both(mail_on, |server| {
        let w = world(server);
        let sess = || session_auth(&w.session_a);
        let notify = |id: &str, pis: i64, techs: i64, support: i64| {
            assert_eq!(server.call("BootNotifyOwners", vec![sess(), s(id), i(pis), i(techs), i(support)]), Ok(i(1)));
        };
        // The BootManager's call: techs only.
        notify("installfinished", 0, 1, 0);
        let mails = outbox(server);
        assert_eq!(mails.len(), 1, "{mails:?}");
        let [message_id, to, subject, body, from, reply_to] = &mails[0];
        assert_eq!(message_id, "installfinished");
        assert_eq!(to, &format!("{BOOT_ADDRESS}\n{TECH}"), "boot address, then the enabled techs");
        assert_eq!(subject, "node-a.a.example.org completed installation");
        assert!(body.contains(&format!("https://www.plc.example.org:8443/db/nodes/?id={}", w.node_a)), "{body}");
        assert_eq!(from, &format!("\"{PLC_NAME} Support\" <{SUPPORT}>"));
        assert_eq!(reply_to, from);
        let events = events_named(server, "BootNotifyOwners");
        assert_eq!(events.len(), 1);
        assert_eq!(field(&events[0], "message"), &s("Sent message installfinished"));
        assert_eq!(field(&events[0], "object_ids"), &ints(&[w.node_a]));

        // A node in a boot loop: the same notice again within 10 minutes is not sent.
        notify("installfinished", 0, 1, 0);
        assert_eq!(outbox(server).len(), 1);
        // Another template, everyone asked: support and PIs too; never the disabled tech or
        // the user, nor site B's PI.
        notify("hostnamenotresolve", 1, 1, 1);
        let mails = outbox(server);
        assert_eq!(mails.len(), 2);
        assert_eq!(mails[1][1], [BOOT_ADDRESS, SUPPORT, PI, TECH].join("\n"));
        assert_eq!(mails[1][2], "node-a.a.example.org does not resolve");
        // Only the boot address when nobody else is asked.
        notify("insufficientdisk", 0, 0, 0);
        assert_eq!(outbox(server)[2][1], BOOT_ADDRESS);

        // Missing, disabled and broken templates: 1, nothing queued, logged.
        server.admin_one("UpdateMessage", vec![s("noconfig"), st! { "enabled" => false }]);
        server.admin_one(
            "AddMessage",
            vec![st! { "message_id" => "broken", "subject" => "%(hostname)s", "template" => "%(password)s" }],
        );
        server.admin_one("AddMessage", vec![st! { "message_id" => "badint", "subject" => "%(hostname)d" }]);
        for id in ["nosuchtemplate", "noconfig", "broken", "badint"] {
            notify(id, 1, 1, 1);
        }
        assert_eq!(outbox(server).len(), 3);
        let log = server.stderr_log();
        assert!(log.contains("no such enabled message template"), "{log}");
        assert!(log.contains("unknown substitution %(password)"), "{log}");
        assert!(log.contains("%(hostname)d needs a number"), "{log}");
        assert_eq!(events_named(server, "BootNotifyOwners").len(), 3);
    });
}

#[test]
fn with_mail_disabled_notices_are_only_logged() {
    let server = Server::start();
    let w = world(&server);
    let got = server.call("BootNotifyOwners", vec![session_auth(&w.session_a), s("installfinished"), i(0), i(1), i(0)]);
    assert_eq!(got, Ok(i(1)));
    assert!(outbox(&server).is_empty());
    let log = server.stderr_log();
    let line = log.lines().find(|l| l.contains("mail disabled; would have sent")).unwrap_or_else(|| panic!("{log}"));
    assert!(line.contains("installfinished") && line.contains(TECH), "{line}");
}
