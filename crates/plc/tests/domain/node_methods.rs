//! The node side's methods in process, on SQLite and on PostgreSQL (docs/plc-api.md §12.3,
//! §12.5, §2.5): BootUpdateNode's bookkeeping and changes, ReportRunlevel, BootGetNodeDetails,
//! GetPlcRelease, BootCheckAuthentication, the authfail notice (read back from the mail queue
//! with sqlite3 / psql) and its rate limit, and the quality bars: bad node input and role ×
//! method tables, each refused with its fault and changing nothing. (The message templates
//! across a restart and the notices' log lines need the binary: crates/cli/tests/it.)

use crate::support::{Plc, each_backend, each_backend_with};
use bootmedium_plc::PlcConfig;
use bootmedium_testkit::*;

const BOOT_ADDRESS: &str = "boot-msgs@plc.example.org";
const SUPPORT: &str = "support@plc.example.org";

/// `[mail]` enabled with a relay nobody listens on (delivery is not this file's subject; the
/// queue is), and the web host the mails point at.
fn mail_on(c: &mut PlcConfig) {
    c.mail.enabled = true;
    c.mail.relay = "127.0.0.1".to_string();
    c.mail.port = 9;
    c.mail.boot_address = BOOT_ADDRESS.to_string();
    c.mail.support_address = SUPPORT.to_string();
    c.mail.from = String::new();
    c.plc.www_host = "www.plc.example.org".to_string();
    c.plc.www_ssl_port = 8443;
}

/// (what, method, auth, arguments after auth, fault code, text the fault contains)
type BadCase<'a> = (&'a str, &'a str, Value, Vec<Value>, i64, &'a str);

fn node_row(plc: &Plc, node: i64) -> Value {
    plc.admin_row("GetNodes", vec![i(node)])
}

// ---------------------------------------------------------------------------------------------
// BootUpdateNode, ReportRunlevel, GetNodes visibility

#[test]
fn boot_update_node_records_boots_and_changes() {
    each_backend(|plc| {
        let w = world(plc);
        let auth = || session_auth(&w.session_a);

        // First check-in: last_boot and last_contact, no time online/offline yet, no event.
        let t0 = now();
        assert_eq!(plc.call("BootUpdateNode", vec![auth(), st! {}]), Ok(i(1)));
        let n = node_row(plc, w.node_a);
        assert_time_between(&n, "last_boot", t0, now());
        assert_time_between(&n, "last_contact", t0, now());
        assert_eq!(field(&n, "last_time_spent_online"), &nil());
        assert!(events_named(plc, "BootUpdateNode").is_empty(), "a plain check-in is not an event");

        // A run-level report moves last_contact only; the next boot computes online/offline.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        assert_eq!(plc.call("ReportRunlevel", vec![auth(), st! { "run_level" => "boot" }]), Ok(i(1)));
        let reported = node_row(plc, w.node_a);
        assert_eq!(field(&reported, "run_level"), &s("boot"));
        assert_eq!(field(&reported, "last_boot"), field(&n, "last_boot"));
        std::thread::sleep(std::time::Duration::from_millis(1100));
        assert_eq!(plc.call("BootUpdateNode", vec![auth(), st! {}]), Ok(i(1)));
        let m = node_row(plc, w.node_a);
        let (boot0, contact1) = (int_of(field(&reported, "last_boot")), int_of(field(&reported, "last_contact")));
        assert_eq!(int_of(field(&m, "last_time_spent_online")), contact1 - boot0);
        assert_eq!(int_of(field(&m, "last_time_spent_offline")), int_of(field(&m, "last_boot")) - contact1);
        assert!(int_of(field(&m, "last_boot")) > boot0);
        assert_eq!(field(&m, "last_pcu_confirmation"), &nil());

        // A PCU reboot in the last 20 minutes is confirmed by the check-in; an older one is not.
        sql(plc, &format!("UPDATE nodes SET last_pcu_reboot = {} WHERE node_id = {}", now() - 3600, w.node_a));
        plc.ok_one("BootUpdateNode", vec![auth(), st! {}]);
        assert_eq!(field(&node_row(plc, w.node_a), "last_pcu_confirmation"), &nil());
        sql(plc, &format!("UPDATE nodes SET last_pcu_reboot = {} WHERE node_id = {}", now() - 60, w.node_a));
        let t1 = now();
        plc.ok_one("BootUpdateNode", vec![auth(), st! {}]);
        assert_time_between(&node_row(plc, w.node_a), "last_pcu_confirmation", t1, now());

        // boot_state: changed once (one event), the same again (no event); no boot bookkeeping.
        let before = node_row(plc, w.node_a);
        plc.ok_one("BootUpdateNode", vec![auth(), st! { "boot_state" => "safeboot" }]);
        plc.ok_one("BootUpdateNode", vec![auth(), st! { "boot_state" => "safeboot" }]);
        let after = node_row(plc, w.node_a);
        assert_eq!(field(&after, "boot_state"), &s("safeboot"));
        assert_eq!(field(&after, "last_boot"), field(&before, "last_boot"));
        let events = events_named(plc, "BootUpdateNode");
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(field(&events[0], "message"), &s("Boot updated: boot_state"));
        assert_eq!(field(&events[0], "node_id"), &i(w.node_a));
        assert_eq!(field(&events[0], "object_ids"), &ints(&[w.node_a]));

        // The ssh key, under both names (ssh_rsa_key wins when both come).
        let key = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 root@node-a";
        plc.ok_one("BootUpdateNode", vec![auth(), st! { "ssh_host_key" => "ssh-rsa OLD root@node-a" }]);
        assert_eq!(field(&node_row(plc, w.node_a), "ssh_rsa_key"), &s("ssh-rsa OLD root@node-a"));
        plc.ok_one("BootUpdateNode", vec![auth(), st! { "ssh_host_key" => "ssh-rsa X", "ssh_rsa_key" => key }]);
        assert_eq!(field(&node_row(plc, w.node_a), "ssh_rsa_key"), &s(key));

        // primary_network: the writable fields change, the address and unknown keys are ignored
        // (as upstream), and so are unknown top-level keys.
        let net = st! {
            "interface_id" => w.iface_a, "mac" => "52:54:00:AA:BB:01", "ip" => 5,
            "dns2" => "10.1.0.3", "hostname" => "ignored.example.org",
        };
        plc.ok_one("BootUpdateNode", vec![auth(), st! { "primary_network" => net, "future_key" => 1 }]);
        let iface = plc.admin_row("GetInterfaces", vec![i(w.iface_a)]);
        assert_eq!(field(&iface, "mac"), &s("52:54:00:aa:bb:01"));
        assert_eq!(field(&iface, "dns2"), &s("10.1.0.3"));
        assert_eq!(field(&iface, "ip"), &s("10.1.0.10"));
        assert_eq!(field(&iface, "hostname"), &nil());
        let last = events_named(plc, "BootUpdateNode").pop().unwrap();
        assert_eq!(field(&last, "message"), &s("Boot updated: Interface.dns2, Interface.mac"));

        // The node's boot fields are readable by everyone who can call GetNodes; its secrets
        // only by admins.
        let boot_fields = [
            "run_level",
            "last_boot",
            "last_contact",
            "last_time_spent_online",
            "last_time_spent_offline",
            "ssh_rsa_key",
            "last_pcu_confirmation",
        ];
        let admin_view = node_row(plc, w.node_a);
        let viewers = [
            anonymous_auth(),
            password_auth(PI_B, PW),
            password_auth(USER, PW),
            session_auth(&w.session_a),
            hmac_auth(w.node_b, KEY_B, &[i(w.node_a)]),
        ];
        for viewer in viewers {
            let rows = plc.ok_rows("GetNodes", vec![viewer.clone(), i(w.node_a)]);
            assert_eq!(rows.len(), 1, "{viewer:?}");
            for f in boot_fields {
                assert_eq!(field(&rows[0], f), field(&admin_view, f), "{f} as {viewer:?}");
            }
            for secret in NODE_ADMIN_ONLY {
                assert!(!keys_of(&rows[0]).iter().any(|k| k == secret), "{secret} shown to {viewer:?}");
            }
        }
        let mut last_boot_filter = std::collections::BTreeMap::new();
        last_boot_filter.insert("]last_boot".to_string(), i(1));
        let found =
            plc.ok_rows("GetNodes", vec![anonymous_auth(), Value::Struct(last_boot_filter), strs(&["node_id"])]);
        assert_eq!(found.len(), 1);
    });
}

#[test]
fn report_runlevel_node_and_admin_forms() {
    each_backend(|plc| {
        let w = world(plc);
        let t0 = now();
        // A node names itself (by id or hostname) or nobody.
        for target in [vec![], vec![i(w.node_a)], vec![s("node-a.a.example.org")]] {
            let mut params = vec![session_auth(&w.session_a), st! { "run_level" => "safeboot" }];
            params.extend(target);
            assert_eq!(plc.call("ReportRunlevel", params), Ok(i(1)));
        }
        let n = node_row(plc, w.node_a);
        assert_eq!(field(&n, "run_level"), &s("safeboot"));
        assert_time_between(&n, "last_contact", t0, now());
        // hmac-signed, the legacy way: the signature covers the report's values.
        let report = st! { "run_level" => "failboot" };
        let auth = hmac_auth(w.node_a, KEY_A, std::slice::from_ref(&report));
        assert_eq!(plc.call("ReportRunlevel", vec![auth, report]), Ok(i(1)));
        assert_eq!(field(&node_row(plc, w.node_a), "run_level"), &s("failboot"));
        // An admin names the node.
        plc.admin_one("ReportRunlevel", vec![st! { "run_level" => "reinstall" }, i(w.node_b)]);
        assert_eq!(field(&node_row(plc, w.node_b), "run_level"), &s("reinstall"));
        // Without run_level only the contact is recorded.
        plc.ok_one("ReportRunlevel", vec![session_auth(&w.session_a), st! {}]);
        assert_eq!(field(&node_row(plc, w.node_a), "run_level"), &s("failboot"));
        // Never logged (upstream: every 15 minutes per node).
        assert!(events_named(plc, "ReportRunlevel").is_empty());
    });
}

// ---------------------------------------------------------------------------------------------
// Quality bars: bad node input, roles

#[test]
fn bad_node_input_is_refused_and_changes_nothing() {
    each_backend(|plc| {
        let w = world(plc);
        // A second, non-primary interface of node A.
        let second = plc.admin_int(
            "AddInterface",
            vec![i(w.node_a), st! { "method" => "dhcp", "type" => "ipv4", "is_primary" => false }],
        );
        let sess = || session_auth(&w.session_a);
        let net = |fields: Vec<(&str, Value)>| {
            let mut m = std::collections::BTreeMap::new();
            for (k, v) in fields {
                m.insert(k.to_string(), v);
            }
            st! { "primary_network" => Value::Struct(m) }
        };
        let signed = |args: Vec<Value>| hmac_auth(w.node_a, KEY_A, &args);
        let long_key = "k".repeat(1025);
        let cases: Vec<BadCase> = vec![
            (
                "unknown boot state",
                "BootUpdateNode",
                sess(),
                vec![st! { "boot_state" => "flying" }],
                102,
                "Invalid boot state 'flying'",
            ),
            (
                "boot state type",
                "BootUpdateNode",
                sess(),
                vec![st! { "boot_state" => 5 }],
                102,
                "Invalid boot_state value: expected string, got int",
            ),
            (
                "oversized key",
                "BootUpdateNode",
                sess(),
                vec![st! { "ssh_rsa_key" => long_key.as_str() }],
                102,
                "ssh_rsa_key must be at most 1024 bytes",
            ),
            (
                "oversized old-name key",
                "BootUpdateNode",
                sess(),
                vec![st! { "ssh_host_key" => long_key.as_str() }],
                102,
                "ssh_host_key must be at most 1024 bytes",
            ),
            (
                "two key lines",
                "BootUpdateNode",
                sess(),
                vec![st! { "ssh_rsa_key" => "ssh-rsa A x\nssh-rsa B y" }],
                102,
                "control characters",
            ),
            (
                "nil key",
                "BootUpdateNode",
                sess(),
                vec![st! { "ssh_rsa_key" => nil() }],
                102,
                "expected string, got nil",
            ),
            (
                "valid state, bad key: all or nothing",
                "BootUpdateNode",
                sess(),
                vec![st! { "boot_state" => "disabled", "ssh_rsa_key" => "a\tb" }],
                102,
                "control characters",
            ),
            (
                "another node's interface",
                "BootUpdateNode",
                sess(),
                vec![net(vec![("interface_id", i(w.iface_b)), ("mac", s("52:54:00:00:00:99"))])],
                102,
                "Interface not associated with calling node",
            ),
            (
                "no such interface",
                "BootUpdateNode",
                sess(),
                vec![net(vec![("interface_id", i(999_999)), ("mac", s("52:54:00:00:00:99"))])],
                102,
                "Interface not associated with calling node",
            ),
            (
                "no interface_id",
                "BootUpdateNode",
                sess(),
                vec![net(vec![("mac", s("52:54:00:00:00:99"))])],
                102,
                "Interface not specified",
            ),
            (
                "interface_id type",
                "BootUpdateNode",
                sess(),
                vec![net(vec![("interface_id", s("x"))])],
                102,
                "Invalid interface_id value: expected int, got string",
            ),
            (
                "not the primary",
                "BootUpdateNode",
                sess(),
                vec![net(vec![("interface_id", i(second)), ("method", s("dhcp"))])],
                102,
                "Not the primary interface on record",
            ),
            (
                "bad mac",
                "BootUpdateNode",
                sess(),
                vec![net(vec![("interface_id", i(w.iface_a)), ("mac", s("zz:zz"))])],
                102,
                "Invalid MAC address zz:zz",
            ),
            (
                "gateway off the network",
                "BootUpdateNode",
                sess(),
                vec![net(vec![("interface_id", i(w.iface_a)), ("gateway", s("10.99.0.1"))])],
                102,
                "Gateway 10.99.0.1 is not reachable",
            ),
            (
                "static without netmask",
                "BootUpdateNode",
                sess(),
                vec![net(vec![("interface_id", i(w.iface_a)), ("netmask", nil())])],
                102,
                "netmask is required",
            ),
            (
                "unknown method",
                "BootUpdateNode",
                sess(),
                vec![net(vec![("interface_id", i(w.iface_a)), ("method", s("warp"))])],
                102,
                "Invalid addressing method warp",
            ),
            (
                "primary_network type",
                "BootUpdateNode",
                sess(),
                vec![st! { "primary_network" => "eth0" }],
                102,
                "Invalid primary_network value: expected struct, got string",
            ),
            (
                "fields type",
                "BootUpdateNode",
                sess(),
                vec![s("boot")],
                102,
                "Invalid node_fields value: expected struct, got string",
            ),
            ("no fields", "BootUpdateNode", sess(), vec![], 101, "Expected 2 arguments, got 1"),
            (
                "unknown run level",
                "ReportRunlevel",
                sess(),
                vec![st! { "run_level" => "turbo" }],
                102,
                "Invalid run level 'turbo'",
            ),
            (
                "run level type",
                "ReportRunlevel",
                sess(),
                vec![st! { "run_level" => 1 }],
                102,
                "Invalid run_level value: expected string, got int",
            ),
            (
                "another node's run level",
                "ReportRunlevel",
                sess(),
                vec![st! { "run_level" => "boot" }, i(w.node_b)],
                108,
                "A node may only report its own run level",
            ),
            (
                "another node's run level by name",
                "ReportRunlevel",
                sess(),
                vec![st! { "run_level" => "boot" }, s("node-b.b.example.org")],
                108,
                "own run level",
            ),
            (
                "admin names no node",
                "ReportRunlevel",
                plc.admin_auth(),
                vec![st! { "run_level" => "boot" }],
                102,
                "No such node",
            ),
            (
                "admin names no such node",
                "ReportRunlevel",
                plc.admin_auth(),
                vec![st! { "run_level" => "boot" }, s("nope.example.org")],
                102,
                "No such node",
            ),
            (
                "flag type",
                "BootNotifyOwners",
                sess(),
                vec![s("installfinished"), s("yes")],
                102,
                "Invalid include_pis value: expected int, got string",
            ),
            (
                "signature for other arguments",
                "BootUpdateNode",
                signed(vec![st! { "boot_state" => "boot" }]),
                vec![st! { "boot_state" => "disabled" }],
                103,
                "BootAuth: Call could not be authenticated",
            ),
            (
                "signature for no arguments",
                "BootUpdateNode",
                signed(vec![]),
                vec![st! { "ssh_rsa_key" => "ssh-rsa X" }],
                103,
                "Call could not be authenticated",
            ),
            (
                "another node's key",
                "BootUpdateNode",
                hmac_auth(w.node_b, KEY_A, &[st! { "boot_state" => "disabled" }]),
                vec![st! { "boot_state" => "disabled" }],
                103,
                "Call could not be authenticated",
            ),
            (
                "signature for another node",
                "ReportRunlevel",
                hmac_auth(w.node_b, KEY_A, &[st! { "run_level" => "failboot" }]),
                vec![st! { "run_level" => "failboot" }],
                103,
                "Call could not be authenticated",
            ),
            (
                "no such node",
                "BootUpdateNode",
                hmac_auth(999_999, KEY_A, &[st! {}]),
                vec![st! {}],
                103,
                "BootAuth: No such node",
            ),
            (
                "anonymous",
                "BootUpdateNode",
                anonymous_auth(),
                vec![st! { "boot_state" => "disabled" }],
                103,
                "AnonymousAuth: method cannot be called anonymously",
            ),
            (
                "anonymous run level",
                "ReportRunlevel",
                anonymous_auth(),
                vec![st! { "run_level" => "boot" }],
                103,
                "AnonymousAuth",
            ),
            (
                "unknown session",
                "BootUpdateNode",
                session_auth("bm-no-such-session"),
                vec![st! { "boot_state" => "disabled" }],
                103,
                "SessionAuth: No such session",
            ),
        ];
        let rows = cases.into_iter().map(|(what, method, auth, args, code, needle)| {
            let mut params = vec![auth];
            params.extend(args);
            refusal(what, method, params, code, needle)
        });
        // Each change is reported once, at the row that made it.
        let mut before = rows_snapshot(plc, &["GetNodes", "GetInterfaces"]);
        let failures = plc.run_refusals(rows.collect(), |_, _| {
            let after = rows_snapshot(plc, &["GetNodes", "GetInterfaces"]);
            let changed = (before != after).then(|| format!("changed something:\n{}", snapshot_diff(&before, &after)));
            before = after;
            changed.into_iter().collect()
        });
        failures.assert_none("bad node inputs");
        // The node's session still works after all that.
        assert_eq!(plc.call("BootCheckAuthentication", vec![session_auth(&w.session_a)]), Ok(i(1)));
    });
}

#[test]
fn roles_of_the_node_methods() {
    each_backend(|plc| {
        let w = world(plc);
        let admin_session = str_of(&plc.ok("GetSession", vec![admin_auth()])).to_owned();
        let people: Vec<(&str, Value, Value)> = [ADMIN_EMAIL, PI, TECH, USER]
            .iter()
            .map(|email| {
                let pw = if *email == ADMIN_EMAIL { ADMIN_PASSWORD } else { PW };
                let password = password_auth(email, pw);
                let session = if *email == ADMIN_EMAIL {
                    admin_session.clone()
                } else {
                    str_of(&plc.ok("GetSession", vec![password.clone()])).to_owned()
                };
                (*email, password, session_auth(&session))
            })
            .collect();
        let node_only: [(&str, Vec<Value>); 3] = [
            ("BootUpdateNode", vec![st! { "boot_state" => "disabled" }]),
            ("BootNotifyOwners", vec![s("installfinished"), i(1), i(1), i(1)]),
            ("BootGetNodeDetails", vec![]),
        ];
        let before = rows_snapshot(plc, &["GetNodes", "GetInterfaces"]);
        // (who, method, arguments after the auth struct's, fault, message fragment)
        let mut rows = Vec::new();
        let with_auth = |auth: &Value, args: &[Value]| {
            let mut params = vec![auth.clone()];
            params.extend(args.iter().cloned());
            params
        };
        for (method, args) in &node_only {
            for (who, password, session) in &people {
                let (by_password, by_session) = (with_auth(password, args), with_auth(session, args));
                rows.push(refusal(format!("{who} {method}"), method, by_password, 103, "PasswordAuth: missing role"));
                let name = format!("{who} session {method}");
                rows.push(refusal(name, method, by_session, 108, "SessionAuth: missing role"));
            }
            rows.push(refusal(
                format!("anonymous {method}"),
                method,
                with_auth(&anonymous_auth(), args),
                103,
                "AnonymousAuth",
            ));
        }
        // ReportRunlevel: node and admin only.
        for (who, password, _) in &people[1..] {
            let params = vec![password.clone(), st! { "run_level" => "boot" }, i(w.node_a)];
            rows.push(refusal(format!("{who} ReportRunlevel"), "ReportRunlevel", params, 103, "missing role"));
        }
        // Message templates: admins write, admins and nodes read.
        let node_auth = session_auth(&w.session_a);
        for who in [PI, TECH, USER] {
            let auth = password_auth(who, PW);
            rows.push(refusal(format!("{who} GetMessages"), "GetMessages", vec![auth.clone()], 103, "missing role"));
            let params = vec![auth, st! { "message_id" => "x" }];
            rows.push(refusal(format!("{who} AddMessage"), "AddMessage", params, 103, "missing role"));
        }
        let params = vec![node_auth.clone(), st! { "message_id" => "x" }];
        rows.push(refusal("node AddMessage", "AddMessage", params, 108, "missing 'node' role"));
        let params = vec![node_auth.clone(), s("authfail"), st! { "enabled" => false }];
        rows.push(refusal("node UpdateMessage", "UpdateMessage", params, 108, ""));
        rows.push(refusal("node DeleteMessage", "DeleteMessage", vec![node_auth.clone(), s("authfail")], 108, ""));
        plc.run_refusals(rows, |_, _| Vec::new()).assert_none("refused callers");
        assert_eq!(plc.ok_rows("GetMessages", vec![node_auth.clone(), strs(&["authfail"])]).len(), 1);
        let after = rows_snapshot(plc, &["GetNodes", "GetInterfaces"]);
        assert!(before == after, "{}", snapshot_diff(&before, &after));

        // BootCheckAuthentication: every role, as upstream.
        for (who, password, session) in &people {
            assert_eq!(plc.call("BootCheckAuthentication", vec![password.clone()]), Ok(i(1)), "{who}");
            assert_eq!(plc.call("BootCheckAuthentication", vec![session.clone()]), Ok(i(1)), "{who}");
        }
        assert_eq!(plc.call("BootCheckAuthentication", vec![node_auth.clone()]), Ok(i(1)));
        assert_eq!(plc.call("BootCheckAuthentication", vec![hmac_auth(w.node_a, KEY_A, &[])]), Ok(i(1)));
        assert_fault(&plc.call("BootCheckAuthentication", vec![anonymous_auth()]), 103, "AnonymousAuth");

        // GetPlcRelease: everyone, anonymous included; build['target-arch'] is the flavour's.
        let arch = plc.config().flavour.arch.clone();
        for auth in [anonymous_auth(), node_auth.clone(), password_auth(USER, PW)] {
            let release = plc.ok("GetPlcRelease", vec![auth]);
            assert_eq!(field(field(&release, "build"), "target-arch"), &s(&arch));
            assert!(matches!(field(&release, "tags"), Value::Struct(_)));
            assert!(matches!(field(&release, "rpms"), Value::Struct(_)));
        }
    });
}

#[test]
fn boot_get_node_details_answers_hmac_callers_with_a_new_session() {
    each_backend(|plc| {
        let w = world(plc);
        let details = plc.ok("BootGetNodeDetails", vec![hmac_auth(w.node_a, KEY_A, &[])]);
        assert_eq!(field(&details, "hostname"), &s("node-a.a.example.org"));
        assert_eq!(field(&details, "boot_state"), &s("boot"));
        assert_eq!(field(&details, "model"), &s(""), "nil model as an empty string");
        let networks = array_of(field(&details, "networks"));
        assert_eq!(networks.len(), 1);
        assert_eq!(field(&networks[0], "ip"), &s("10.1.0.10"));
        assert_eq!(field(&networks[0], "dns2"), &s(""), "nil values as empty strings");
        assert_eq!(field(&networks[0], "bwlimit"), &s(""));
        let session = str_of(field(&details, "session")).to_owned();
        assert_eq!(plc.call("AuthCheck", vec![session_auth(&session)]), Ok(i(1)));
        // A node has one session: the one GetSession made before is gone.
        assert_fault(&plc.call("AuthCheck", vec![session_auth(&w.session_a)]), 103, "SessionAuth");
        // hmac only (old BootManagers): a session is refused.
        assert_fault(&plc.call("BootGetNodeDetails", vec![session_auth(&session)]), 102, "requires hmac");
    });
}

// ---------------------------------------------------------------------------------------------
// Mail

#[test]
fn a_wrong_node_signature_mails_the_owners_at_most_hourly() {
    each_backend_with(mail_on, |plc| {
        let w = world(plc);
        let forged = hmac_auth(w.node_a, "not-the-key", &[]);
        assert_fault(&plc.call("GetSession", vec![forged.clone()]), 103, "BootAuth: Call could not be authenticated");
        let mails = outbox(plc);
        assert_eq!(mails.len(), 1, "{mails:?}");
        let [message_id, to, subject, body, _, _] = &mails[0];
        assert_eq!(message_id, "authfail");
        assert_eq!(to, &[BOOT_ADDRESS, PI, TECH].join("\n"));
        assert_eq!(subject, "node-a.a.example.org failed to authenticate");
        assert!(body.contains("Failed to authenticate call: BootAuth: Call could not be authenticated"), "{body}");
        // The notice's event names the node, records no caller and no signature.
        let events = plc.admin_rows("GetEvents", vec![st! { "message" => "Sent message authfail" }]);
        assert_eq!(events.len(), 1);
        assert_eq!(field(&events[0], "object_ids"), &ints(&[w.node_a]));
        assert_eq!(field(&events[0], "fault_code"), &i(103));
        assert_eq!(field(&events[0], "node_id"), &nil());
        assert!(!str_of(field(&events[0], "call")).contains(str_of(field(&forged, "value"))));

        // Anyone can send wrong signatures for any node: the owners hear of it once an hour.
        for _ in 0..5 {
            assert_fault(&plc.call("BootUpdateNode", vec![forged.clone(), st! {}]), 103, "");
        }
        assert_eq!(outbox(plc).len(), 1);
        // No mail for unknown nodes or nodes without a key; none for a good signature.
        let keyless = add_node(plc, 1, "keyless.example.org");
        assert_fault(&plc.call("GetSession", vec![hmac_auth(keyless, "x", &[])]), 103, "No node key");
        assert_fault(&plc.call("GetSession", vec![hmac_auth(999_999, "x", &[])]), 103, "No such node");
        plc.ok("GetSession", vec![hmac_auth(w.node_b, KEY_B, &[])]);
        assert_eq!(outbox(plc).len(), 1);
        // Node B's owners are told about node B separately, once, however many wrong signatures
        // arrive at the same moment.
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    assert_fault(&plc.call("GetSession", vec![hmac_auth(w.node_b, KEY_A, &[])]), 103, "");
                });
            }
        });
        let mails = outbox(plc);
        assert_eq!(mails.len(), 2);
        assert_eq!(mails[1][1], [BOOT_ADDRESS, PI_B].join("\n"));
    });
}
