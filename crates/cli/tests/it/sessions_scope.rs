//! Sessions and tag scope against the real binary: node sessions end with the key that made
//! them (every renewal path), with the node, and when unused for
//! `[api] node_session_lifetime_seconds`; person sessions end on a password change, a role
//! removal or disabling; asked-for lifetimes are capped by `[api] max_session_lifetime_seconds`;
//! a node writes only its own tags; GetNodeFlavour records defaults only where the caller could
//! write them; events never record node keys or hmac signatures.
//!
//! Section numbers (§N) refer to docs/plc-api.md.

use crate::support::*;
use bootmedium_xmlrpc::Value;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Helpers

/// The node's current key (an admin reads it), or a new one set by the admin when it has none.
fn node_key(server: &Server, node: i64) -> String {
    match stored_key(server, node) {
        Value::String(k) if !k.is_empty() => k,
        _ => {
            server.admin_one("UpdateNode", vec![i(node), st! { "key" => "first-key-of-the-node" }]);
            "first-key-of-the-node".to_owned()
        }
    }
}

/// A node session made the BootManager's way: GetSession with hmac over `[]`.
fn node_session(server: &Server, node: i64) -> String {
    let key = node_key(server, node);
    let session = server.ok("GetSession", vec![hmac_auth(node, &key, &[])]);
    str_of(&session).to_owned()
}

/// The fault code of `AuthCheck` with this session, 0 when it works.
fn session_check(server: &Server, session: &str) -> i64 {
    match server.call("AuthCheck", vec![session_auth(session)]) {
        Ok(v) => {
            assert_eq!(v, i(1));
            0
        }
        Err((code, _)) => code,
    }
}

/// `POST /api/v1/media` with a bearer session; returns the HTTP status.
fn issue_download(server: &Server, session: &str, node: &str, action: &str) -> u16 {
    let body = serde_json::json!({ "node": node, "action": action, "options": [] }).to_string();
    let request = format!(
        "POST /api/v1/media HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {session}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        server.addr,
        body.len()
    );
    let (status, _, answer) = server.raw_exchange(request.as_bytes()).unwrap();
    assert!(status == 201, "POST /api/v1/media: {status} {}", String::from_utf8_lossy(&answer));
    status
}

/// Sleeps until `at` (an instant in the test's own schedule).
fn sleep_until(at: Instant) {
    if let Some(d) = at.checked_duration_since(Instant::now()) {
        std::thread::sleep(d);
    }
}

/// Every node tag and interface tag, as an admin sees them (what a refused write must leave).
fn tags_snapshot(server: &Server) -> String {
    let mut out = String::new();
    for method in ["GetNodeTags", "GetInterfaceTags"] {
        for row in server.admin_rows(method, vec![st! {}]) {
            out.push_str(&format!("{method} {}\n", canonical(&row)));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Node sessions

#[test]
fn a_node_session_ends_with_every_renewal_of_its_key_and_with_the_node() {
    const HOST: &str = "renew1.one.example.org";
    let server = Server::start_with(|dir| media::provision(dir, DEFAULT_FAMILY));
    server.use_admin_session();
    let site = add_site(&server, "one");
    let node = add_node(&server, site, HOST);
    add_static_interface(&server, node, 5);
    let admin_session = str_of(&server.admin("GetSession", vec![])).to_owned();

    type Action<'a> = Box<dyn Fn(&Server) + 'a>;
    let gbm = |action: &'static str| -> Action {
        Box::new(move |sv: &Server| {
            sv.admin("GetBootMedium", vec![s(HOST), s(action), s(""), strs(&[])]);
        })
    };
    // (path, whether it renews the key)
    let paths: Vec<(&str, Action, bool)> = vec![
        ("GetBootMedium node-preview", gbm("node-preview"), false),
        ("GetBootMedium node-floppy", gbm("node-floppy"), true),
        ("GetBootMedium node-iso", gbm("node-iso"), true),
        ("GetBootMedium node-usb", gbm("node-usb"), true),
        ("GetBootMedium generic-iso", gbm("generic-iso"), false),
        (
            "GetBootMedium node-iso to a file",
            Box::new(|sv: &Server| {
                sv.admin("GetBootMedium", vec![s(HOST), s("node-iso"), s("%d/%n.iso"), strs(&[])]);
            }),
            true,
        ),
        (
            "POST /api/v1/media node-iso",
            Box::new(|sv: &Server| {
                issue_download(sv, &admin_session, HOST, "node-iso");
            }),
            true,
        ),
        (
            "UpdateNode key",
            Box::new(|sv: &Server| sv.admin_one("UpdateNode", vec![s(HOST), st! { "key" => "a-key-set-by-hand" }])),
            true,
        ),
    ];
    let mut wrong = Vec::new();
    for (path, action, renews) in &paths {
        let session = node_session(&server, node);
        assert_eq!(session_check(&server, &session), 0, "{path}: fresh session");
        action(&server);
        let expected = if *renews { 103 } else { 0 };
        let got = session_check(&server, &session);
        if got != expected {
            wrong.push(format!("{path}: the old node session answers {got}, expected {expected}"));
        }
        // The node gets a session again with whatever key it now holds.
        let again = node_session(&server, node);
        assert_eq!(session_check(&server, &again), 0, "{path}: a session with the current key");
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // A deleted node's session is dead.
    let session = node_session(&server, node);
    server.admin_one("DeleteNode", vec![i(node)]);
    assert_fault(&server.call("AuthCheck", vec![session_auth(&session)]), 103, "SessionAuth");
}

#[test]
fn a_node_session_expires_when_unused_and_lives_on_while_used() {
    let server = Server::start_with(|dir| set_config(dir, "api", "node_session_lifetime_seconds", 6));
    let site = add_site(&server, "exp");
    let node = add_node(&server, site, "exp1.example.org");
    let start = Instant::now();
    let session = node_session(&server, node);
    // Used within its lifetime, a session is pushed out again: at 8 s it still works although
    // it was made 8 s ago with a lifetime of 6 s.
    sleep_until(start + Duration::from_secs(4));
    assert_eq!(session_check(&server, &session), 0, "used after 4 s");
    sleep_until(start + Duration::from_secs(8));
    assert_eq!(session_check(&server, &session), 0, "used after 8 s (last use at 4 s)");
    // Unused for longer than its lifetime, it is refused (103) and deleted.
    sleep_until(start + Duration::from_secs(15));
    assert_fault(&server.call("AuthCheck", vec![session_auth(&session)]), 103, "SessionAuth: Invalid session");
    assert_fault(&server.call("AuthCheck", vec![session_auth(&session)]), 103, "SessionAuth: No such session");
    // The node authenticates again with its key, as the BootManager does.
    let again = node_session(&server, node);
    assert_eq!(session_check(&server, &again), 0);
}

// ---------------------------------------------------------------------------------------------
// Person sessions

/// Who makes a change to a person's account.
#[derive(Clone, Copy, Debug)]
enum By {
    Admin,
    /// The person, from the first of their two sessions.
    OwnSession,
    /// The person, with password authentication.
    OwnPassword,
}

#[test]
fn person_sessions_end_on_password_change_role_removal_and_disable() {
    let server = Server::start();
    server.use_admin_session();
    let site = add_site(&server, "ps");
    let other_site = add_site(&server, "po");
    let node = add_node(&server, site, "ps1.example.org");
    // (case, who changes, the change, expected AuthCheck code of (session 1, session 2))
    type Change = fn(&Server, Value, i64, i64);
    let cases: Vec<(&str, By, Change, (i64, i64))> = vec![
        (
            "password changed by an admin",
            By::Admin,
            |sv, auth, id, _| sv.ok_one("UpdatePerson", vec![auth, i(id), st! { "password" => "new-pw-1" }]),
            (103, 103),
        ),
        (
            "password changed from the person's own session (that one is kept)",
            By::OwnSession,
            |sv, auth, id, _| sv.ok_one("UpdatePerson", vec![auth, i(id), st! { "password" => "new-pw-2" }]),
            (0, 103),
        ),
        (
            "password changed by the person with password auth",
            By::OwnPassword,
            |sv, auth, id, _| sv.ok_one("UpdatePerson", vec![auth, i(id), st! { "password" => "new-pw-3" }]),
            (103, 103),
        ),
        (
            "a role removed (others left)",
            By::Admin,
            |sv, auth, id, _| sv.ok_one("DeleteRoleFromPerson", vec![auth, s("tech"), i(id)]),
            (103, 103),
        ),
        (
            "disabled",
            By::Admin,
            |sv, auth, id, _| sv.ok_one("UpdatePerson", vec![auth, i(id), st! { "enabled" => false }]),
            (103, 103),
        ),
        (
            "disabled, then enabled again",
            By::Admin,
            |sv, auth, id, _| {
                sv.ok_one("UpdatePerson", vec![auth.clone(), i(id), st! { "enabled" => false }]);
                sv.ok_one("UpdatePerson", vec![auth, i(id), st! { "enabled" => true }]);
            },
            (103, 103),
        ),
        ("deleted", By::Admin, |sv, auth, id, _| sv.ok_one("DeletePerson", vec![auth, i(id)]), (103, 103)),
        // Site membership and added roles are read at every call, so these end no session.
        (
            "removed from a site",
            By::Admin,
            |sv, auth, id, site| sv.ok_one("DeletePersonFromSite", vec![auth, i(id), i(site)]),
            (0, 0),
        ),
        ("a role added", By::Admin, |sv, auth, id, _| sv.ok_one("AddRoleToPerson", vec![auth, s("pi"), i(id)]), (0, 0)),
        (
            "another field changed",
            By::OwnSession,
            |sv, auth, id, _| sv.ok_one("UpdatePerson", vec![auth, i(id), st! { "phone" => "+1 555 0100" }]),
            (0, 0),
        ),
    ];
    let mut wrong = Vec::new();
    for (n, (case, by, change, expected)) in cases.into_iter().enumerate() {
        let email = format!("p{n}@ps.example.org");
        let id = add_person(&server, &email, "old-pw", &["user", "tech"], Some(site));
        server.admin_one("AddPersonToSite", vec![i(id), i(other_site)]);
        let one = str_of(&server.ok("GetSession", vec![password_auth(&email, "old-pw")])).to_owned();
        let two = str_of(&server.ok("GetSession", vec![password_auth(&email, "old-pw")])).to_owned();
        let auth = match by {
            By::Admin => server.admin_auth(),
            By::OwnSession => session_auth(&one),
            By::OwnPassword => password_auth(&email, "old-pw"),
        };
        change(&server, auth, id, site);
        let got = (session_check(&server, &one), session_check(&server, &two));
        if got != expected {
            wrong.push(format!("{case} (by {by:?}): sessions answer {got:?}, expected {expected:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // A session that survives a site removal loses that site's rights at once.
    let id = add_person(&server, "moved@ps.example.org", "pw", &["tech"], Some(site));
    let session = str_of(&server.ok("GetSession", vec![password_auth("moved@ps.example.org", "pw")])).to_owned();
    server.ok_one("UpdateNode", vec![session_auth(&session), i(node), st! { "model" => "before" }]);
    server.admin_one("AddPersonToSite", vec![i(id), i(other_site)]);
    server.admin_one("DeletePersonFromSite", vec![i(id), i(site)]);
    assert_fault(
        &server.call("UpdateNode", vec![session_auth(&session), i(node), st! { "model" => "after" }]),
        108,
        "Not allowed to update nodes from specified site",
    );
}

#[test]
fn asked_session_lifetimes_are_capped() {
    let server = Server::start_with(|dir| set_config(dir, "api", "max_session_lifetime_seconds", 3));
    let site = add_site(&server, "cap");
    add_person(&server, "u@cap.example.org", "pw", &["user"], Some(site));
    let start = Instant::now();
    // (how the session was asked for, the session)
    let sessions = [
        ("GetSession(2147483647)", server.admin("GetSession", vec![i(i64::from(i32::MAX))])),
        ("GetSession(1209600), the web UI's", server.admin("GetSession", vec![i(1_209_600)])),
        ("GetSession() (the default lifetime)", server.admin("GetSession", vec![])),
        ("AddSession (24 h)", server.admin("AddSession", vec![s("u@cap.example.org")])),
    ];
    for (how, session) in &sessions {
        assert_eq!(session_check(&server, str_of(session)), 0, "{how}: works at first");
    }
    sleep_until(start + Duration::from_millis(4500));
    let wrong: Vec<String> = sessions
        .iter()
        .filter_map(|(how, session)| {
            let code = session_check(&server, str_of(session));
            (code != 103).then(|| format!("{how}: answers {code} after the 3 s cap, expected 103"))
        })
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // Shorter lifetimes than the cap are kept as asked (upstream's rule).
    assert_fault(&server.admin_call("GetSession", vec![i(-5)]), 102, "Expiration date must be in the future");
}

// ---------------------------------------------------------------------------------------------
// Tag scope

#[test]
fn a_node_writes_only_its_own_tags() {
    let server = Server::start();
    server.use_admin_session();
    let site = add_site(&server, "own");
    let other_site = add_site(&server, "oth");
    let me = add_node(&server, site, "me.own.example.org");
    let sibling = add_node(&server, site, "sib.own.example.org");
    let foreign = add_node(&server, other_site, "far.oth.example.org");
    let interface = |node, net| add_static_interface(&server, node, net);
    let interfaces = [(me, interface(me, 11)), (sibling, interface(sibling, 12)), (foreign, interface(foreign, 13))];
    // A tag type nodes hold a role for, with a tag on every node and interface to update and
    // delete.
    let tt = server.admin_int(
        "AddTagType",
        vec![st! { "tagname" => "node-writable", "category" => "node/test", "description" => "test" }],
    );
    server.admin_one("AddRoleToTagType", vec![s("node"), i(tt)]);
    let node_tag = |node| server.admin_int("AddNodeTag", vec![i(node), i(tt), s("v0")]);
    let node_tags = [(me, node_tag(me)), (sibling, node_tag(sibling)), (foreign, node_tag(foreign))];
    let interface_tags: Vec<(i64, i64)> = interfaces
        .iter()
        .map(|(node, ifc)| (*node, server.admin_int("AddInterfaceTag", vec![i(*ifc), i(tt), s("v0")])))
        .collect();
    let key = node_key(&server, me);

    let targets = [("own node", me), ("sibling node", sibling), ("other site's node", foreign)];
    let of = |list: &[(i64, i64)], node: i64| list.iter().find(|(n, _)| *n == node).map(|(_, id)| *id).unwrap_or(0);
    type Args<'a> = Box<dyn Fn(i64) -> Vec<Value> + 'a>;
    // (method, its arguments for a target node, whether the method has the node role, whether
    // the tag type lets a node write it)
    let methods: Vec<(&str, Args, bool, bool)> = vec![
        ("AddNodeTag", Box::new(|n| vec![i(n), i(tt), s("x")]), false, true),
        ("UpdateNodeTag", Box::new(|n| vec![i(of(&node_tags, n)), s("v1")]), false, true),
        ("DeleteNodeTag", Box::new(|n| vec![i(of(&node_tags, n))]), false, true),
        ("AddInterfaceTag", Box::new(|n| vec![i(of(&interfaces, n)), s("ifname"), s("eth9")]), false, true),
        ("UpdateInterfaceTag", Box::new(|n| vec![i(of(&interface_tags, n)), s("v1")]), false, true),
        ("DeleteInterfaceTag", Box::new(|n| vec![i(of(&interface_tags, n))]), false, true),
        ("SetNodeArch", Box::new(|n| vec![i(n), s("i386")]), true, true),
        ("SetNodePldistro", Box::new(|n| vec![i(n), s("onelab")]), true, true),
        ("SetNodeFcdistro", Box::new(|n| vec![i(n), s("f12")]), true, true),
        ("SetNodeVirt", Box::new(|n| vec![i(n), s("vs")]), true, true),
        ("SetNodeHrn", Box::new(|n| vec![i(n), s("x.y.z")]), true, true),
        ("SetNodeSerial", Box::new(|n| vec![i(n), s("ttyS0:115200:n:8")]), false, false),
        ("SetNodeDeployment", Box::new(|n| vec![i(n), s("alpha")]), false, false),
    ];
    let mut wrong = Vec::new();
    for auth_kind in ["session", "hmac"] {
        for (method, args, node_role, node_may) in &methods {
            for (target, node) in targets {
                let args = args(node);
                let auth = match auth_kind {
                    "session" => session_auth(&node_session(&server, me)),
                    _ => hmac_auth(me, &key, &args),
                };
                // Without the node role: hmac 103 (§2.5), a session 108 (§2.3). With it: only
                // the node's own tags.
                let want = match (node_role, auth_kind) {
                    (false, "hmac") => 103,
                    (false, _) => 108,
                    (true, _) if *node_may && node == me => 0,
                    (true, _) => 108,
                };
                let before = tags_snapshot(&server);
                let mut params = vec![auth];
                params.extend(args);
                let got = match server.call(method, params) {
                    Ok(_) => 0,
                    Err((code, _)) => code,
                };
                if got != want {
                    wrong.push(format!("node {auth_kind} × {method} × {target}: {got}, expected {want}"));
                }
                if want != 0 && tags_snapshot(&server) != before {
                    wrong.push(format!("node {auth_kind} × {method} × {target}: refused, yet tags changed"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn get_node_flavour_records_defaults_only_where_the_caller_could_write_them() {
    let server = Server::start();
    server.use_admin_session();
    let site = add_site(&server, "fl");
    let other_site = add_site(&server, "fo");
    add_person(&server, "user@fl.example.org", "pw", &["user"], Some(site));
    add_person(&server, "pi@fl.example.org", "pw", &["pi"], Some(site));
    let caller_node = add_node(&server, site, "caller.fl.example.org");
    let user = password_auth("user@fl.example.org", "pw");
    let pi = password_auth("pi@fl.example.org", "pw");
    let node = session_auth(&node_session(&server, caller_node));
    let admin = server.admin_auth();
    // (caller, which node: own / same site / other site, expected code, whether tags are written)
    let cases: Vec<(&str, Value, &str, i64, bool)> = vec![
        ("admin", admin.clone(), "other site", 0, true),
        ("user", user.clone(), "same site", 0, true),
        ("user", user, "other site", 0, false),
        ("pi", pi, "same site", 103, false),
        ("node session", node.clone(), "own", 0, true),
        ("node session", node.clone(), "same site", 0, false),
        ("node session", node, "other site", 0, false),
    ];
    let mut wrong = Vec::new();
    for (n, (who, auth, which, want, writes)) in cases.into_iter().enumerate() {
        let target = match which {
            "own" => caller_node,
            "same site" => add_node(&server, site, &format!("t{n}.fl.example.org")),
            _ => add_node(&server, other_site, &format!("t{n}.fo.example.org")),
        };
        let flavour_tags = || {
            let rows = server.admin_rows("GetNodeTags", vec![st! { "node_id" => target }, strs(&["tagname"])]);
            let mut names: Vec<String> = rows
                .iter()
                .map(|r| str_of(field(r, "tagname")).to_owned())
                .filter(|t| ["arch", "fcdistro", "pldistro"].contains(&t.as_str()))
                .collect();
            names.sort();
            names
        };
        assert!(flavour_tags().is_empty(), "{who} × {which}: the node starts without flavour tags");
        let got = server.call("GetNodeFlavour", vec![auth, i(target)]);
        match (&got, want) {
            (Ok(flavour), 0) => {
                assert_eq!(field(flavour, "nodefamily"), &s(DEFAULT_FAMILY), "{who} × {which}: the defaults answer");
            }
            (Err((code, _)), w) if *code == w => {}
            _ => wrong.push(format!("{who} × {which}: {got:?}, expected code {want}")),
        }
        let expected: Vec<String> =
            if writes { vec!["arch".into(), "fcdistro".into(), "pldistro".into()] } else { vec![] };
        let tags = flavour_tags();
        if tags != expected {
            wrong.push(format!("{who} × {which}: flavour tags afterwards {tags:?}, expected {expected:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Events

#[test]
fn events_never_record_node_keys_sessions_nonces_or_hmac_signatures() {
    let server = Server::start_with(|dir| set_config(dir, "api", "debug", true));
    server.use_admin_session();
    let site = add_site(&server, "ev");
    let node = add_node(&server, site, "ev1.example.org");
    let secrets = [
        ("key", "Key-Secret-0123456789abcdefghijklmnopqrstuv"),
        ("boot_nonce", "Nonce-Secret-0123456789"),
        ("session", "Session-Secret-0123456789abcdefghijklmnopq="),
    ];
    for (name, secret) in secrets {
        server.admin_one("UpdateNode", vec![i(node), struct_of(vec![(name, s(secret))])]);
    }
    // The BootManager's signature over `[]` (with debug on, this call is recorded too).
    let key = secrets[0].1;
    let signed = hmac_auth(node, key, &[]);
    let signature = str_of(field(&signed, "value")).to_owned();
    server.ok("GetSession", vec![signed]);

    let events = server.admin_rows("GetEvents", vec![st! {}, strs(&["call_name", "call"])]);
    let calls: Vec<&str> = events.iter().map(|e| str_of(field(e, "call"))).collect();
    assert!(calls.iter().any(|c| c.contains("'key': 'Removed by API'")), "{calls:#?}");
    let mut leaked = Vec::new();
    for (name, secret) in secrets.iter().chain(&[("hmac value", signature.as_str())]) {
        for call in calls.iter().filter(|c| c.contains(secret)) {
            leaked.push(format!("{name} in {call}"));
        }
    }
    assert!(leaked.is_empty(), "{}", leaked.join("\n"));
}
