//! GetBootMedium part 1 (issue 3) end to end against the real binary: node-preview and
//! node-floppy, key renewal under concurrency, file results, and a table of bad requests that
//! must each fault with upstream's code and write nothing. Runs on SQLite, and on PostgreSQL
//! when BOOTMEDIUM_TEST_POSTGRES_URL is set.

use crate::support::*;
use bootmedium_xmlrpc::Value;
use std::path::Path;

struct Fixture {
    server: Server,
    site: i64,
    node: i64,
    hostname: &'static str,
    pi: Value,
    other_pi: Value,
    user: Value,
    reservable: i64,
}

const PW: &str = "fixture-pw-1";

fn person(server: &Server, email: &str, role: &str, site: &str) -> Value {
    server.admin_int(
        "AddPerson",
        vec![st! { "email" => email, "first_name" => "F", "last_name" => "L", "password" => PW }],
    );
    server.admin_one("UpdatePerson", vec![s(email), st! { "enabled" => true }]);
    server.admin_one("AddRoleToPerson", vec![s(role), s(email)]);
    server.admin_one("AddPersonToSite", vec![s(email), s(site)]);
    // Session auth keeps the password hash out of the hot path of the concurrency test.
    let session = server.ok("GetSession", vec![password_auth(email, PW)]);
    session_auth(session.as_str().unwrap_or_default())
}

fn static_interface() -> Value {
    st! {
        "method" => "static", "type" => "ipv4", "ip" => "10.0.0.5", "network" => "10.0.0.0",
        "broadcast" => "10.0.0.255", "netmask" => "255.255.255.0", "gateway" => "10.0.0.1",
        "dns1" => "10.0.0.53", "mac" => "52:54:00:AA:BB:CC"
    }
}

fn fixture() -> Fixture {
    let server = Server::start();
    let site = server
        .admin_int("AddSite", vec![st! { "name" => "Site One", "abbreviated_name" => "One", "login_base" => "one" }]);
    server.admin_int("AddSite", vec![st! { "name" => "Site Two", "abbreviated_name" => "Two", "login_base" => "two" }]);
    let pi = person(&server, "pi@one.example.org", "pi", "one");
    let other_pi = person(&server, "pi@two.example.org", "pi", "two");
    let user = person(&server, "user@one.example.org", "user", "one");
    let hostname = "node1.one.example.org";
    let node = server.admin_int("AddNode", vec![s("one"), st! { "hostname" => hostname }]);
    server.admin_int("AddInterface", vec![i(node), static_interface()]);
    let reservable = server.admin_int(
        "AddNode",
        vec![s("one"), st! { "hostname" => "res1.one.example.org", "node_type" => "reservable" }],
    );
    server.admin_int("AddInterface", vec![i(reservable), st! { "method" => "dhcp", "type" => "ipv4" }]);
    Fixture { server, site, node, hostname, pi, other_pi, user, reservable }
}

fn stored_key(server: &Server, node: i64) -> (Value, Value) {
    let row = server.admin_row("GetNodes", vec![i(node), strs(&["key", "last_download"])]);
    (field(&row, "key").clone(), field(&row, "last_download").clone())
}

fn key_of(text: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix("NODE_KEY=\""))
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or_else(|| panic!("no NODE_KEY in {text}"))
        .to_string()
}

fn hmac_check(server: &Server, node: i64, key: &str) -> Result<Value, (i64, String)> {
    server.call("AuthCheck", vec![hmac_auth(node, key, &[])])
}

#[test]
fn preview_leaves_the_key_and_floppy_renews_it() {
    let f = fixture();
    let sv = &f.server;
    let preview = sv.ok("GetBootMedium", vec![f.pi.clone(), s(f.hostname), s("node-preview"), s("")]);
    let preview = preview.as_str().unwrap();
    assert_eq!(
        preview,
        "NET_DEVICE=\"52:54:00:aa:bb:cc\"\nIP_METHOD=\"static\"\nIP_ADDRESS=\"10.0.0.5\"\nIP_GATEWAY=\"10.0.0.1\"\n\
         IP_NETMASK=\"255.255.255.0\"\nIP_NETADDR=\"10.0.0.0\"\nIP_BROADCASTADDR=\"10.0.0.255\"\nIP_DNS1=\"10.0.0.53\"\n\
         IP_DNS2=\"\"\nHOST_NAME=\"node1\"\nDOMAIN_NAME=\"one.example.org\"\n"
    );
    assert_eq!(stored_key(sv, f.node), (Value::Nil, Value::Nil));

    let before = now();
    let floppy = sv.ok("GetBootMedium", vec![f.pi.clone(), i(f.node), s("node-floppy"), s("")]);
    let floppy = floppy.as_str().unwrap();
    assert!(floppy.starts_with(&format!("NODE_ID=\"{}\"\nNODE_KEY=\"", f.node)), "{floppy}");
    assert!(floppy.contains("\nKEY_RENEWAL_DATE=\""), "{floppy}");
    assert!(floppy.ends_with(preview), "the rest equals the preview: {floppy}");
    let key = key_of(floppy);
    assert_eq!(key.len(), 43);
    let (stored, last_download) = stored_key(sv, f.node);
    assert_eq!(stored, Value::from(key.as_str()));
    assert!(last_download.as_int().unwrap() >= before);
    hmac_check(sv, f.node, &key).expect("the new key authenticates");

    let second = sv.ok("GetBootMedium", vec![f.pi.clone(), i(f.node), s("node-floppy"), s("")]);
    let new_key = key_of(second.as_str().unwrap());
    assert_ne!(new_key, key);
    assert_fault(&hmac_check(sv, f.node, &key), 103, "BootAuth: Call could not be authenticated");
    hmac_check(sv, f.node, &new_key).expect("the newest key authenticates");

    let events = sv.admin_rows(
        "GetEvents",
        vec![st! { "call_name" => "GetBootMedium" }, strs(&["message", "object_types", "object_ids"])],
    );
    assert_eq!(events.len(), 3);
    assert_eq!(
        field(&events[1], "message"),
        &Value::from(format!("GetBootMedium on node {} - action=node-floppy", f.hostname))
    );
    assert_eq!(field(&events[1], "object_types"), &arr!["Node"]);
    assert_eq!(field(&events[1], "object_ids"), &arr![f.node]);
}

#[test]
fn fifty_concurrent_floppies_leave_exactly_one_valid_key() {
    let f = fixture();
    let results: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..50)
            .map(|_| {
                let (sv, pi, node) = (&f.server, f.pi.clone(), f.node);
                scope.spawn(move || sv.ok("GetBootMedium", vec![pi, i(node), s("node-floppy"), s("")]))
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("thread").as_str().unwrap_or_default().to_string()).collect()
    });
    let keys: Vec<String> = results.iter().map(|t| key_of(t)).collect();
    let mut distinct = keys.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 50, "every call got its own key");
    let (stored, _) = stored_key(&f.server, f.node);
    let stored = stored.as_str().unwrap().to_string();
    assert_eq!(keys.iter().filter(|k| **k == stored).count(), 1, "the stored key is one of the returned ones");
    for k in &keys {
        let r = hmac_check(&f.server, f.node, k);
        if *k == stored {
            r.expect("the stored key authenticates");
        } else {
            assert_fault(&r, 103, "Call could not be authenticated");
        }
    }
    let events = f.server.admin_rows("GetEvents", vec![st! { "call_name" => "GetBootMedium" }, strs(&["event_id"])]);
    assert_eq!(events.len(), 50);
}

#[test]
fn file_results_are_confined_atomic_and_protected_for_five_minutes() {
    let f = fixture();
    let sv = &f.server;
    let results = sv.data_dir.join("results");
    let path = sv.ok("GetBootMedium", vec![f.pi.clone(), i(f.node), s("node-floppy"), s("%d/%n-%a-%v%s")]);
    let expected = std::path::absolute(results.join(format!("{}-x86_64-%v.txt", f.hostname))).unwrap();
    assert_eq!(path.as_str().unwrap(), expected.display().to_string());
    let text = std::fs::read_to_string(&expected).unwrap();
    assert_eq!(Value::from(key_of(&text).as_str()), stored_key(sv, f.node).0);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&expected).unwrap().permissions().mode() & 0o777, 0o640);
    assert_eq!(std::fs::metadata(&results).unwrap().permissions().mode() & 0o777, 0o750);
    let key_before = stored_key(sv, f.node);
    let again = sv.call("GetBootMedium", vec![f.pi.clone(), i(f.node), s("node-floppy"), s("%d/%n-%a-%v%s")]);
    assert_fault(&again, 102, "already exists - please try again in 5 minutes");
    assert_eq!(stored_key(sv, f.node), key_before, "a refused call keeps the key");
    assert_eq!(std::fs::read_to_string(&expected).unwrap(), text);
    assert_eq!(entries(&results).len(), 1, "no temporary files: {:?}", entries(&results));
}

#[test]
fn bad_requests_fault_with_upstream_codes_and_write_nothing() {
    let f = fixture();
    let sv = &f.server;
    // Give the node a key so "unchanged" is observable.
    let first = sv.ok("GetBootMedium", vec![f.pi.clone(), i(f.node), s("node-floppy"), s("")]);
    let key = key_of(first.as_str().unwrap());
    let results = sv.data_dir.join("results");
    std::fs::create_dir_all(&results).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), results.join("escape")).unwrap();
    std::fs::write(results.join("plainfile"), b"x").unwrap();
    let results_before = entries(&results);
    let snapshot = sv.db_snapshot();
    let node_session = {
        sv.admin_one("UpdateNode", vec![i(f.node), st! { "session" => "node-session-for-tests" }]);
        session_auth("node-session-for-tests")
    };
    let snapshot_with_session = sv.db_snapshot();
    let node = i(f.node);
    let not_allowed = format!("Not allowed to generate a configuration file for {}", f.hostname);
    let cases: Vec<(&str, Vec<Value>, i64, &str)> = vec![
        ("unknown node id", vec![admin_auth(), i(9999), s("node-floppy"), s("")], 102, "No such node 9999"),
        (
            "unknown hostname",
            vec![admin_auth(), s("nope.example.org"), s("node-floppy"), s("")],
            102,
            "No such node 'nope.example.org'",
        ),
        (
            "unknown action",
            vec![admin_auth(), node.clone(), s("node-frobnicate"), s("")],
            102,
            "Action node-frobnicate not valid for regular nodes, valid actions are node-preview|node-floppy|",
        ),
        (
            "action not allowed for reservable",
            vec![admin_auth(), i(f.reservable), s("node-floppy"), s("")],
            102,
            "not valid for reservable nodes, valid actions are node-preview|node-iso|node-usb",
        ),
        (
            "options with a text action",
            vec![admin_auth(), node.clone(), s("node-floppy"), s(""), strs(&["serial"])],
            102,
            "Options are not supported for node configs",
        ),
        (
            "options with preview",
            vec![admin_auth(), node.clone(), s("node-preview"), s(""), strs(&["cramfs"])],
            102,
            "Options are not supported for node configs",
        ),
        ("traversal as PI", vec![f.pi.clone(), node.clone(), s("node-floppy"), s("%d/../../etc/x")], 102, "not under"),
        ("relative traversal as PI", vec![f.pi.clone(), node.clone(), s("node-floppy"), s("../x")], 102, "not under"),
        (
            "foreign absolute path as PI",
            vec![f.pi.clone(), node.clone(), s("node-floppy"), s("/etc/cron.d/pwned")],
            102,
            "not under",
        ),
        (
            "symlinked component as PI",
            vec![f.pi.clone(), node.clone(), s("node-floppy"), s("%d/escape/x.txt")],
            102,
            "not under",
        ),
        (
            "uncreatable directory",
            vec![admin_auth(), node.clone(), s("node-floppy"), s("%d/plainfile/sub/x.txt")],
            108,
            "Could not create dir",
        ),
        (
            "directory as target",
            vec![admin_auth(), node.clone(), s("node-floppy"), s("%d/escape/")],
            102,
            "does not name a file",
        ),
        ("PI of another site", vec![f.other_pi.clone(), node.clone(), s("node-floppy"), s("")], 108, &not_allowed),
        (
            "user-role caller (session)",
            vec![f.user.clone(), node.clone(), s("node-floppy"), s("")],
            108,
            "SessionAuth: missing role",
        ),
        (
            "user-role caller (password)",
            vec![password_auth("user@one.example.org", PW), node.clone(), s("node-floppy"), s("")],
            103,
            "PasswordAuth: missing role",
        ),
        ("node session", vec![node_session.clone(), node.clone(), s("node-floppy"), s("")], 108, "missing 'node' role"),
        (
            "hmac auth",
            vec![
                hmac_auth(f.node, &key, &[node.clone(), s("node-floppy"), s("")]),
                node.clone(),
                s("node-floppy"),
                s(""),
            ],
            103,
            "BootAuth: Not allowed to call method, missing 'node' role",
        ),
        ("too few arguments", vec![admin_auth(), node.clone(), s("node-floppy")], 101, "Expected 4-5 arguments, got 3"),
        (
            "nil filename",
            vec![admin_auth(), node.clone(), s("node-floppy"), nil()],
            102,
            "Invalid filename value: expected string, got nil",
        ),
        (
            "options not strings",
            vec![admin_auth(), node.clone(), s("node-floppy"), s(""), arr![1]],
            102,
            "Invalid options value",
        ),
        (
            "image action without boot settings",
            vec![admin_auth(), node.clone(), s("node-iso"), s("")],
            111,
            "the [boot] settings are unusable",
        ),
    ];
    let rows =
        cases.into_iter().map(|(name, params, code, needle)| refusal(name, "GetBootMedium", params, code, needle));
    // Each change is reported once, at the row that made it.
    let (mut results_now, mut registry_now) = (results_before.clone(), snapshot_with_session.clone());
    let failures = sv.run_refusals(rows.collect(), |_, got| {
        let mut why = Vec::new();
        if let Err((_, m)) = got
            && !m.contains(": GetBootMedium: ")
        {
            why.push(format!("no method prefix in {m:?}"));
        }
        let results = entries(&results);
        if results != results_now {
            why.push(format!("the results directory changed: {results:?}"));
            results_now = results;
        }
        let registry = sv.db_snapshot();
        if registry != registry_now {
            why.push(format!("the registry changed:\n{}", snapshot_diff(&registry_now, &registry)));
            registry_now = registry;
        }
        why
    });
    failures.assert_none("GetBootMedium refusals");
    assert_eq!(entries(&results), results_before, "the results directory changed");
    assert_eq!(sv.db_snapshot(), snapshot_with_session, "the registry changed");
    assert_ne!(snapshot, snapshot_with_session);
    assert_eq!(stored_key(sv, f.node).0, Value::from(key.as_str()));
    assert!(!Path::new("/etc/cron.d/pwned").exists());
    sv.assert_alive();
}

#[test]
fn refuses_to_render_unsafe_stored_values_and_to_store_them() {
    let f = fixture();
    let sv = &f.server;
    // `ifname` is a standard tag type (interface/config, writable by admin, pi and tech).
    let iface = sv.admin_rows("GetInterfaces", vec![st! { "node_id" => f.node }, strs(&["interface_id"])]);
    let iface = int_of(field(&iface[0], "interface_id"));
    for bad in ["eth0\"; touch /tmp/x; \"", "$(id)", "`id`", "a\nNODE_ID=\"1\"", "back\\slash"] {
        let r = sv.call("AddInterfaceTag", vec![f.pi.clone(), i(iface), s("ifname"), s(bad)]);
        assert_fault(&r, 102, "Invalid value value");
    }
    for bad in ["a b", "x=y", "q\"uote", "new\nline"] {
        let r = sv.admin_call("AddTagType", vec![st! { "tagname" => "t1", "category" => bad }]);
        assert_fault(&r, 102, "Invalid category");
    }
    sv.ok_int("AddInterfaceTag", vec![f.pi.clone(), i(iface), s("ifname"), s("eth1")]);
    let text = sv.ok("GetBootMedium", vec![f.pi.clone(), i(f.node), s("node-preview"), s("")]);
    assert!(text.as_str().unwrap().ends_with("### Category : interface/config\nINTERFACE/CONFIG_IFNAME=\"eth1\"\n"));
}

#[test]
fn operator_cli_runs_the_same_code_path() {
    let f = fixture();
    let dir = f.server.data_dir.clone();
    let out = bootmedium().arg("--data-dir").arg(&dir).args(["medium", f.hostname, "node-preview"]).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let api = f.server.ok("GetBootMedium", vec![f.pi.clone(), i(f.node), s("node-preview"), s("")]);
    assert_eq!(String::from_utf8(out.stdout).unwrap(), api.as_str().unwrap());
    let target = dir.join("floppy.txt");
    let out = bootmedium()
        .arg("--data-dir")
        .arg(&dir)
        .args(["medium", &f.node.to_string(), "node-floppy", "--output"])
        .arg(&target)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let written = std::fs::read_to_string(&target).unwrap();
    assert_eq!(Value::from(key_of(&written).as_str()), stored_key(&f.server, f.node).0);
    let out =
        bootmedium().arg("--data-dir").arg(&dir).args(["medium", "nope.example.org", "node-preview"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("No such node"), "{}", describe(&out));
    let _ = f.site;
}

#[test]
fn node_types_decide_the_actions() {
    let f = fixture();
    let sv = &f.server;
    sv.admin_one("AddNodeType", vec![s("custom")]);
    let custom =
        sv.admin_int("AddNode", vec![s("one"), st! { "hostname" => "c1.one.example.org", "node_type" => "custom" }]);
    sv.admin_int("AddInterface", vec![i(custom), st! { "method" => "dhcp", "type" => "ipv4" }]);
    let r = sv.call("GetBootMedium", vec![f.pi.clone(), i(custom), s("node-preview"), s("")]);
    assert_fault(&r, 102, "No boot media are configured for custom nodes");
    let dummy =
        sv.admin_int("AddNode", vec![s("one"), st! { "hostname" => "d1.one.example.org", "node_type" => "dummynet" }]);
    sv.admin_int("AddInterface", vec![i(dummy), st! { "method" => "dhcp", "type" => "ipv4" }]);
    let text = sv.ok("GetBootMedium", vec![f.pi.clone(), i(dummy), s("node-preview"), s("")]);
    assert_eq!(text.as_str().unwrap(), "IP_METHOD=\"dhcp\"\nHOST_NAME=\"d1\"\nDOMAIN_NAME=\"one.example.org\"\n");
    let r = sv.call("GetBootMedium", vec![f.pi.clone(), i(dummy), s("node-floppy"), s("")]);
    assert_fault(
        &r,
        102,
        "Action node-floppy not valid for dummynet nodes, valid actions are node-preview|dummynet-iso|dummynet-usb",
    );
}
