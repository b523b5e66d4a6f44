//! Secret fields, in process on every backend: a node's `key`, `session` and `boot_nonce` and a person's
//! `verification_key` / `verification_expires` are readable by admins only, and everyone else
//! can neither read them nor filter, pattern-match or sort on them (each comparison would leak
//! them: a `<key` binary search recovers a node key in a few hundred anonymous calls).
//! Table: caller × method × field × use.

use crate::support::each_backend;
use bootmedium_testkit::*;

const NODE_KEY: &str = "Secret-node-key-0123456789abcdefghijklmnopq";
const PI: (&str, &str) = ("pi@secrets.org", "pi-secrets-pw");
const TECH: (&str, &str) = ("tech@secrets.org", "tech-secrets-pw");
const USER: (&str, &str) = ("user@secrets.org", "user-secrets-pw");

/// Makes a caller's auth struct for a call's arguments (hmac signs them).
type AuthFor = Box<dyn Fn(&[Value]) -> Value>;

/// A caller of the table.
struct Who {
    name: &'static str,
    admin: bool,
    auth: AuthFor,
}

/// The ways a client can name a field in a filter struct.
fn uses(field: &str, sample: Value) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = ["", "~", "<", ">", "[", "]"]
        .iter()
        .map(|prefix| (format!("{prefix}{field}"), st! { format!("{prefix}{field}") => sample.clone() }))
        .collect();
    if matches!(sample, Value::String(_)) {
        out.push((format!("{field} pattern"), st! { field => "S*" }));
    }
    out.push((format!("{field} in list"), st! { field => arr![sample.clone()] }));
    out.push((format!("{field} is nil"), st! { field => nil() }));
    out.push((format!("-SORT {field}"), st! { "-SORT" => field }));
    out.push((format!("-SORT -{field}"), st! { "-SORT" => arr![format!("-{field}")] }));
    out
}

#[test]
fn secret_fields_are_hidden_from_output_filters_and_sorting() {
    each_backend(|plc| {
        let site = add_site(plc, "secrets");
        for (email, pw, role) in [(PI.0, PI.1, "pi"), (TECH.0, TECH.1, "tech"), (USER.0, USER.1, "user")] {
            add_person(plc, email, pw, &[role], Some(site));
        }
        let node = add_node(plc, site, "n1.secrets.org");
        add_static_interface(plc, node, 7);
        plc.admin_one("UpdateNode", vec![i(node), st! { "key" => NODE_KEY, "boot_nonce" => "Snonce" }]);
        let node_session = str_of(&plc.ok("GetSession", vec![hmac_auth(node, NODE_KEY, &[])])).to_owned();
        let admin_session = str_of(&plc.ok("GetSession", vec![admin_auth()])).to_owned();

        let password =
            |(email, pw): (&'static str, &'static str)| -> AuthFor { Box::new(move |_| password_auth(email, pw)) };
        let callers = vec![
            Who { name: "anonymous", admin: false, auth: Box::new(|_| anonymous_auth()) },
            Who { name: "node hmac", admin: false, auth: Box::new(move |args| hmac_auth(node, NODE_KEY, args)) },
            Who {
                name: "node session",
                admin: false,
                auth: Box::new({
                    let s = node_session.clone();
                    move |_| session_auth(&s)
                }),
            },
            Who { name: "user", admin: false, auth: password(USER) },
            Who { name: "tech", admin: false, auth: password(TECH) },
            Who { name: "pi", admin: false, auth: password(PI) },
            Who { name: "admin", admin: true, auth: Box::new(|_| admin_auth()) },
            Who { name: "admin session", admin: true, auth: Box::new(move |_| session_auth(&admin_session)) },
        ];
        // (method, field, a value of its type, the class's key field, which callers may call it)
        let secrets: &[(&str, &str, Value, &str, bool)] = &[
            ("GetNodes", "key", s("M"), "hostname", true),
            ("GetNodes", "session", s("M"), "hostname", true),
            ("GetNodes", "boot_nonce", s("M"), "hostname", true),
            ("GetPersons", "verification_key", s("M"), "email", false),
            ("GetPersons", "verification_expires", i(0), "email", false),
        ];

        let before = plc.db_snapshot();
        let mut failures = Failures::default();
        let mut cases = 0;
        for who in &callers {
            for (method, field, sample, key_field, anonymous_ok) in secrets {
                if who.name == "anonymous" && !anonymous_ok {
                    continue;
                }
                for (use_name, filter) in uses(field, sample.clone()) {
                    let args = [filter.clone(), strs(&[key_field])];
                    let got = plc.call(method, vec![(who.auth)(&args), args[0].clone(), args[1].clone()]);
                    let label = format!("{} {method} {use_name}", who.name);
                    failures.row();
                    match &got {
                        Ok(_) => failures.check(&label, who.admin, || format!("expected fault 102, got {got:?}")),
                        Err((code, message)) => failures.check(
                            &label,
                            !who.admin
                                && *code == 102
                                && message.contains(&format!("'{field}'"))
                                && message.contains("not readable"),
                            || format!("fault {code}: {message}"),
                        ),
                    }
                    cases += 1;
                }
                // Output: left out of the full struct and of a named list; alone, refused.
                let filter = if *method == "GetNodes" { ints(&[node]) } else { nil() };
                for return_fields in [nil(), strs(&[key_field, field])] {
                    let args = [filter.clone(), return_fields.clone()];
                    let label = format!("{} {method} returning {return_fields:?}", who.name);
                    failures.row();
                    match plc.call(method, vec![(who.auth)(&args), args[0].clone(), args[1].clone()]) {
                        Ok(rows) => {
                            let rows = array_of(&rows);
                            failures.check(&label, !rows.is_empty(), || "no rows".to_owned());
                            for row in rows {
                                failures.check(&label, row.get(field).is_some() == who.admin, || {
                                    format!("{field} in {row:?}")
                                });
                            }
                        }
                        Err(e) => failures.fail(&label, format!("{e:?}")),
                    }
                }
                let args = [filter.clone(), strs(&[field])];
                let alone = plc.call(method, vec![(who.auth)(&args), args[0].clone(), args[1].clone()]);
                let label = format!("{} {method} [{field}]", who.name);
                failures.row();
                if who.admin {
                    failures.check(&label, alone.is_ok(), || format!("{alone:?}"));
                } else {
                    failures.fault(&label, &alone, 102, "not readable");
                }
            }
        }
        failures.assert_none("caller × field × use rows");
        // Text fields have eleven uses, the integer verification_expires ten (no pattern).
        assert_eq!(cases, 8 * 3 * 11 + 7 * (11 + 10));
        // The admin sees the real values (so the fields are there to hide).
        let row = plc.admin_row("GetNodes", vec![ints(&[node]), strs(&["key", "boot_nonce", "session"])]);
        assert_eq!(row.get("key"), Some(&s(NODE_KEY)));
        assert_eq!(row.get("session"), Some(&s(&node_session)));
        assert_eq!(row.get("boot_nonce"), Some(&s("Snonce")));
        // Reads only: the registry is as it was (sessions of the password callers aside, none made).
        assert_eq!(snapshot_diff(&before, &plc.db_snapshot()), "");
    });
}

/// The attack of the audit, step one: an anonymous caller's first comparison on `key` is refused,
/// so the search never starts.
#[test]
fn anonymous_key_search_is_refused_at_the_first_call() {
    each_backend(|plc| {
        let site = add_site(plc, "keysearch");
        let node = add_node(plc, site, "n1.keysearch.org");
        plc.admin_one("UpdateNode", vec![i(node), st! { "key" => NODE_KEY }]);
        let (got, took) = timed(|| {
            plc.call("GetNodes", vec![anonymous_auth(), st! { "hostname" => "n1.keysearch.org", "<key" => "M" }, nil()])
        });
        assert_fault(&got, 102, "Invalid filter field 'key'");
        assert!(took.as_secs() < 5);
    });
}
