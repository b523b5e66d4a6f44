//! Sessions and tag scope, in process on every backend: node sessions end when unused for
//! `[api] node_session_lifetime_seconds`; person sessions end on a password change, a role
//! removal or disabling; asked-for lifetimes are capped by `[api] max_session_lifetime_seconds`;
//! a call's own session is that of session auth only;
//! a node writes only its own tags; GetNodeFlavour records defaults only where the caller could
//! write them; events never record node keys or hmac signatures.
//!
//! Section numbers (§N) refer to docs/plc-api.md.

use crate::support::{Plc, each_backend, each_backend_with};
use bootmedium_testkit::*;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Helpers

/// Sleeps until `at` (an instant in the test's own schedule).
fn sleep_until(at: Instant) {
    if let Some(d) = at.checked_duration_since(Instant::now()) {
        std::thread::sleep(d);
    }
}

// ---------------------------------------------------------------------------------------------
// Node sessions

#[test]
fn a_node_session_expires_when_unused_and_lives_on_while_used() {
    each_backend_with(
        |c| c.api.node_session_lifetime_seconds = 6,
        |plc| {
            let site = add_site(plc, "exp");
            let node = add_node(plc, site, "exp1.example.org");
            let start = Instant::now();
            let session = node_session(plc, node);
            // Used within its lifetime, a session is pushed out again: at 8 s it still works although
            // it was made 8 s ago with a lifetime of 6 s.
            sleep_until(start + Duration::from_secs(4));
            assert_eq!(session_check(plc, &session), 0, "used after 4 s");
            sleep_until(start + Duration::from_secs(8));
            assert_eq!(session_check(plc, &session), 0, "used after 8 s (last use at 4 s)");
            // Unused for longer than its lifetime, it is refused (103) and deleted.
            sleep_until(start + Duration::from_secs(15));
            assert_fault(&plc.call("AuthCheck", vec![session_auth(&session)]), 103, "SessionAuth: Invalid session");
            assert_fault(&plc.call("AuthCheck", vec![session_auth(&session)]), 103, "SessionAuth: No such session");
            // The node authenticates again with its key, as the BootManager does.
            let again = node_session(plc, node);
            assert_eq!(session_check(plc, &again), 0);
        },
    );
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
    each_backend(|plc| {
        plc.use_admin_session();
        let site = add_site(plc, "ps");
        let other_site = add_site(plc, "po");
        let node = add_node(plc, site, "ps1.example.org");
        // (case, who changes, the change, expected AuthCheck code of (session 1, session 2))
        type Change = fn(&Plc, Value, i64, i64);
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
            (
                "a role added",
                By::Admin,
                |sv, auth, id, _| sv.ok_one("AddRoleToPerson", vec![auth, s("pi"), i(id)]),
                (0, 0),
            ),
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
            let id = add_person(plc, &email, "old-pw", &["user", "tech"], Some(site));
            plc.admin_one("AddPersonToSite", vec![i(id), i(other_site)]);
            let one = str_of(&plc.ok("GetSession", vec![password_auth(&email, "old-pw")])).to_owned();
            let two = str_of(&plc.ok("GetSession", vec![password_auth(&email, "old-pw")])).to_owned();
            let auth = match by {
                By::Admin => plc.admin_auth(),
                By::OwnSession => session_auth(&one),
                By::OwnPassword => password_auth(&email, "old-pw"),
            };
            change(plc, auth, id, site);
            let got = (session_check(plc, &one), session_check(plc, &two));
            if got != expected {
                wrong.push(format!("{case} (by {by:?}): sessions answer {got:?}, expected {expected:?}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));

        // A session that survives a site removal loses that site's rights at once.
        let id = add_person(plc, "moved@ps.example.org", "pw", &["tech"], Some(site));
        let session = str_of(&plc.ok("GetSession", vec![password_auth("moved@ps.example.org", "pw")])).to_owned();
        plc.ok_one("UpdateNode", vec![session_auth(&session), i(node), st! { "model" => "before" }]);
        plc.admin_one("AddPersonToSite", vec![i(id), i(other_site)]);
        plc.admin_one("DeletePersonFromSite", vec![i(id), i(site)]);
        assert_fault(
            &plc.call("UpdateNode", vec![session_auth(&session), i(node), st! { "model" => "after" }]),
            108,
            "Not allowed to update nodes from specified site",
        );
    });
}

#[test]
fn asked_session_lifetimes_are_capped() {
    each_backend_with(
        |c| c.api.max_session_lifetime_seconds = 3,
        |plc| {
            let site = add_site(plc, "cap");
            add_person(plc, "u@cap.example.org", "pw", &["user"], Some(site));
            let start = Instant::now();
            // (how the session was asked for, the session)
            let sessions = [
                ("GetSession(2147483647)", plc.admin("GetSession", vec![i(i64::from(i32::MAX))])),
                ("GetSession(1209600), the web UI's", plc.admin("GetSession", vec![i(1_209_600)])),
                ("GetSession() (the default lifetime)", plc.admin("GetSession", vec![])),
                ("AddSession (24 h)", plc.admin("AddSession", vec![s("u@cap.example.org")])),
            ];
            for (how, session) in &sessions {
                assert_eq!(session_check(plc, str_of(session)), 0, "{how}: works at first");
            }
            sleep_until(start + Duration::from_millis(4500));
            let wrong: Vec<String> = sessions
                .iter()
                .filter_map(|(how, session)| {
                    let code = session_check(plc, str_of(session));
                    (code != 103).then(|| format!("{how}: answers {code} after the 3 s cap, expected 103"))
                })
                .collect();
            assert!(wrong.is_empty(), "{}", wrong.join("\n"));
            // Shorter lifetimes than the cap are kept as asked (upstream's rule).
            assert_fault(&plc.admin_call("GetSession", vec![i(-5)]), 102, "Expiration date must be in the future");
        },
    );
}

/// A call's session is the one it authenticated with: a `session` member in an auth struct of
/// another AuthMethod is ignored (upstream's GetSession answers it whatever the AuthMethod).
#[test]
fn only_session_auth_names_the_calls_session() {
    each_backend(|plc| {
        let site = add_site(plc, "own");
        add_person(plc, "u@own.example.org", "pw", &["user"], Some(site));
        let theirs = str_of(&plc.ok("GetSession", vec![password_auth("u@own.example.org", "pw")])).to_owned();
        let carrying_theirs = |auth: Value| {
            let Value::Struct(mut members) = auth else { panic!("an auth struct is a struct") };
            members.insert("session".into(), s(&theirs));
            Value::Struct(members)
        };
        // By password, GetSession makes the caller a session of their own.
        let mine = str_of(&plc.ok("GetSession", vec![carrying_theirs(admin_auth())])).to_owned();
        assert_ne!(mine, theirs);
        assert_eq!(session_check(plc, &mine), 0);
        // By session, it answers that session.
        assert_eq!(str_of(&plc.ok("GetSession", vec![session_auth(&mine)])), mine);
        // DeleteSession ends the session it is called with, and only by session auth.
        assert_fault(
            &plc.call("DeleteSession", vec![carrying_theirs(admin_auth())]),
            102,
            "DeleteSession requires session authentication",
        );
        assert_eq!(session_check(plc, &theirs), 0, "a session member of a password auth struct ends nothing");
        plc.ok("DeleteSession", vec![session_auth(&theirs)]);
        assert_eq!(session_check(plc, &theirs), 103);
        assert_eq!(session_check(plc, &mine), 0);
    });
}

// ---------------------------------------------------------------------------------------------
// Tag scope

#[test]
fn a_node_writes_only_its_own_tags() {
    each_backend(|plc| {
        plc.use_admin_session();
        let site = add_site(plc, "own");
        let other_site = add_site(plc, "oth");
        let me = add_node(plc, site, "me.own.example.org");
        let sibling = add_node(plc, site, "sib.own.example.org");
        let foreign = add_node(plc, other_site, "far.oth.example.org");
        let interface = |node, net| add_static_interface(plc, node, net);
        let interfaces =
            [(me, interface(me, 11)), (sibling, interface(sibling, 12)), (foreign, interface(foreign, 13))];
        // A tag type nodes hold a role for, with a tag on every node and interface to update and
        // delete.
        let tt = plc.admin_int(
            "AddTagType",
            vec![st! { "tagname" => "node-writable", "category" => "node/test", "description" => "test" }],
        );
        plc.admin_one("AddRoleToTagType", vec![s("node"), i(tt)]);
        let node_tag = |node| plc.admin_int("AddNodeTag", vec![i(node), i(tt), s("v0")]);
        let node_tags = [(me, node_tag(me)), (sibling, node_tag(sibling)), (foreign, node_tag(foreign))];
        let interface_tags: Vec<(i64, i64)> = interfaces
            .iter()
            .map(|(node, ifc)| (*node, plc.admin_int("AddInterfaceTag", vec![i(*ifc), i(tt), s("v0")])))
            .collect();
        let key = node_key(plc, me);

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
                        "session" => session_auth(&node_session(plc, me)),
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
                    let before = rows_snapshot(plc, &["GetNodeTags", "GetInterfaceTags"]);
                    let mut params = vec![auth];
                    params.extend(args);
                    let got = match plc.call(method, params) {
                        Ok(_) => 0,
                        Err((code, _)) => code,
                    };
                    if got != want {
                        wrong.push(format!("node {auth_kind} × {method} × {target}: {got}, expected {want}"));
                    }
                    if want != 0 && rows_snapshot(plc, &["GetNodeTags", "GetInterfaceTags"]) != before {
                        wrong.push(format!("node {auth_kind} × {method} × {target}: refused, yet tags changed"));
                    }
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    });
}

#[test]
fn get_node_flavour_records_defaults_only_where_the_caller_could_write_them() {
    each_backend(|plc| {
        plc.use_admin_session();
        let site = add_site(plc, "fl");
        let other_site = add_site(plc, "fo");
        add_person(plc, "user@fl.example.org", "pw", &["user"], Some(site));
        add_person(plc, "pi@fl.example.org", "pw", &["pi"], Some(site));
        let caller_node = add_node(plc, site, "caller.fl.example.org");
        let user = password_auth("user@fl.example.org", "pw");
        let pi = password_auth("pi@fl.example.org", "pw");
        let node = session_auth(&node_session(plc, caller_node));
        let admin = plc.admin_auth();
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
                "same site" => add_node(plc, site, &format!("t{n}.fl.example.org")),
                _ => add_node(plc, other_site, &format!("t{n}.fo.example.org")),
            };
            let flavour_tags = || {
                let rows = plc.admin_rows("GetNodeTags", vec![st! { "node_id" => target }, strs(&["tagname"])]);
                let mut names: Vec<String> = rows
                    .iter()
                    .map(|r| str_of(field(r, "tagname")).to_owned())
                    .filter(|t| ["arch", "fcdistro", "pldistro"].contains(&t.as_str()))
                    .collect();
                names.sort();
                names
            };
            assert!(flavour_tags().is_empty(), "{who} × {which}: the node starts without flavour tags");
            let got = plc.call("GetNodeFlavour", vec![auth, i(target)]);
            match (&got, want) {
                (Ok(flavour), 0) => {
                    assert_eq!(
                        field(flavour, "nodefamily"),
                        &s(DEFAULT_FAMILY),
                        "{who} × {which}: the defaults answer"
                    );
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
    });
}

// ---------------------------------------------------------------------------------------------
// Events

#[test]
fn events_never_record_node_keys_sessions_nonces_or_hmac_signatures() {
    each_backend_with(
        |c| c.api.debug = true,
        |plc| {
            plc.use_admin_session();
            let site = add_site(plc, "ev");
            let node = add_node(plc, site, "ev1.example.org");
            let secrets = [
                ("key", "Key-Secret-0123456789abcdefghijklmnopqrstuv"),
                ("boot_nonce", "Nonce-Secret-0123456789"),
                ("session", "Session-Secret-0123456789abcdefghijklmnopq="),
            ];
            for (name, secret) in secrets {
                plc.admin_one("UpdateNode", vec![i(node), struct_of(vec![(name, s(secret))])]);
            }
            // The BootManager's signature over `[]` (with debug on, this call is recorded too).
            let key = secrets[0].1;
            let signed = hmac_auth(node, key, &[]);
            let signature = str_of(field(&signed, "value")).to_owned();
            plc.ok("GetSession", vec![signed]);

            let events = plc.admin_rows("GetEvents", vec![st! {}, strs(&["call_name", "call"])]);
            let calls: Vec<&str> = events.iter().map(|e| str_of(field(e, "call"))).collect();
            assert!(calls.iter().any(|c| c.contains("'key': 'Removed by API'")), "{calls:#?}");
            let mut leaked = Vec::new();
            for (name, secret) in secrets.iter().chain(&[("hmac value", signature.as_str())]) {
                for call in calls.iter().filter(|c| c.contains(secret)) {
                    leaked.push(format!("{name} in {call}"));
                }
            }
            assert!(leaked.is_empty(), "{}", leaked.join("\n"));
        },
    );
}
