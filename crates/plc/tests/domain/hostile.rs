//! Bad calls (issue 2, "Quality bars"), in process on every backend: a table of well-formed
//! calls with hostile or wrong arguments (methods and argument counts, auth structs, types,
//! names and unicode, interfaces, filters, introspection and multicall, the ledger's methods),
//! one row per case, each answered with the right fault, the database unchanged afterwards (as
//! an admin sees it through the API) and the API still answering. Bodies that are not XML-RPC
//! are the wire's: crates/cli/tests/it/hostile.rs.
//!
//! Section numbers (§N) refer to docs/plc-api.md.

use crate::support::{Plc, each_backend};
use bootmedium_testkit::*;
use std::time::{Duration, Instant};

/// What a case expects.
enum Expect {
    /// A fault with this code whose message contains the needle (empty: any message).
    Fault(i64, &'static str),
    /// Some fault (the code is the API's choice; it is recorded in the output).
    AnyFault,
    /// A successful `system.multicall` whose every entry is a fault struct.
    AllEntriesFault(usize),
}

/// A call and what it must answer.
struct Case {
    name: String,
    method: &'static str,
    params: Vec<Value>,
    expect: Expect,
}

fn call(name: &str, method: &'static str, params: Vec<Value>, code: i64, needle: &'static str) -> Case {
    Case { name: name.to_owned(), method, params, expect: Expect::Fault(code, needle) }
}

/// The objects the cases refer to.
struct Fixture {
    site: i64,
    node1: i64,
    node_nokey: i64,
    user_session: String,
    node_session: String,
    expired_session: String,
}

const PI_EMAIL: &str = "pi@hostile.org";
const PI_PW: &str = "pi-hostile-pw";
const OTHER_PI_EMAIL: &str = "pi@other.org";
const OTHER_PI_PW: &str = "pi-other-pw";
const USER_EMAIL: &str = "user@hostile.org";
const USER_PW: &str = "user-hostile-pw";
const DISABLED_EMAIL: &str = "disabled@hostile.org";
const DISABLED_PW: &str = "disabled-pw";
const NODE_KEY: &str = "testkey123";

fn setup(plc: &Plc) -> Fixture {
    let site = add_site(plc, "hostile");
    let other = add_site(plc, "other");
    add_person(plc, PI_EMAIL, PI_PW, &["pi"], Some(site));
    add_person(plc, OTHER_PI_EMAIL, OTHER_PI_PW, &["pi"], Some(other));
    add_person(plc, USER_EMAIL, USER_PW, &["user"], Some(site));
    plc.admin_int(
        "AddPerson",
        vec![st! { "first_name" => "D", "last_name" => "D", "email" => DISABLED_EMAIL, "password" => DISABLED_PW }],
    );
    let node1 = add_node(plc, site, "n1.hostile.org");
    let node_nokey = add_node(plc, site, "n2.hostile.org");
    add_static_interface(plc, node1, 9);
    plc.admin_one("UpdateNode", vec![i(node1), st! { "key" => NODE_KEY }]);
    plc.admin_int("AddTagType", vec![st! { "tagname" => "htag", "category" => "test" }]);
    plc.admin_int("AddNodeGroup", vec![s("hgroup"), s("htag"), s("yes")]);
    let user_session = str_of(&plc.ok("GetSession", vec![password_auth(USER_EMAIL, USER_PW)])).to_owned();
    let node_session = str_of(&plc.ok("GetSession", vec![hmac_auth(node1, NODE_KEY, &[])])).to_owned();
    // With password auth: GetSession with a session auth returns that session (§2.4).
    let expired_session = str_of(&plc.ok("GetSession", vec![admin_auth(), i(1)])).to_owned();
    std::thread::sleep(Duration::from_millis(2500));
    Fixture { site, node1, node_nokey, user_session, node_session, expired_session }
}

fn cases(fx: &Fixture) -> Vec<Case> {
    [
        methods_and_argument_counts(),
        auth_structs(fx),
        types(fx),
        names_and_unicode(fx),
        interfaces(fx),
        filters(),
        introspection(fx),
        ledger_cases(fx),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Unknown methods and wrong argument counts.
fn methods_and_argument_counts() -> Vec<Case> {
    let admin = admin_auth;
    vec![
        call("unknown method", "NoSuchMethod", vec![admin()], 100, "Invalid method NoSuchMethod"),
        call("SQL in the method name", "GetNodes; DROP TABLE nodes", vec![admin()], 100, "Invalid method"),
        call("empty method name", "", vec![admin()], 100, "Invalid method"),
        call("too few arguments", "AddNode", vec![admin()], 101, "Expected 3 arguments, got 1"),
        call("too many arguments", "AuthCheck", vec![admin(), i(1), i(2)], 101, "Expected 1 arguments, got 3"),
        call("no arguments at all", "GetNodes", vec![], 101, "Expected 1-3 arguments, got 0"),
        call("10000 arguments", "GetNodes", vec![i(1); 10_000], 101, "got 10000"),
    ]
}

/// Malformed, wrong and expired auth structs.
fn auth_structs(fx: &Fixture) -> Vec<Case> {
    let add_site_fields = st! { "name" => "x", "abbreviated_name" => "x", "login_base" => "x" };
    vec![
        call("auth is a string", "GetNodes", vec![s("admin")], 102, "expected struct, got string"),
        call("auth is nil", "AddNode", vec![nil(), s("hostile"), st! {}], 102, ""),
        call(
            "missing AuthMethod",
            "GetNodes",
            vec![st! { "Username" => ADMIN_EMAIL, "AuthString" => ADMIN_PASSWORD }],
            102,
            "'AuthMethod' not specified",
        ),
        call(
            "unknown AuthMethod",
            "GetNodes",
            vec![st! { "AuthMethod" => "kerberos" }],
            102,
            "Invalid AuthMethod value: must be 'session', 'password', 'capability', 'gpg', 'hmac', 'hmac_dummybox', 'anonymous'",
        ),
        call(
            "AuthMethod with SQL",
            "GetNodes",
            vec![st! { "AuthMethod" => "password' OR '1'='1" }],
            102,
            "Invalid AuthMethod value",
        ),
        call("AuthMethod is an int", "GetNodes", vec![st! { "AuthMethod" => 1 }], 102, ""),
        call(
            "password without AuthString",
            "GetNodes",
            vec![st! { "AuthMethod" => "password", "Username" => ADMIN_EMAIL }],
            102,
            "'AuthString' not specified",
        ),
        call(
            "password auth fields of the wrong type",
            "GetNodes",
            vec![st! { "AuthMethod" => "password", "Username" => 5, "AuthString" => ADMIN_PASSWORD }],
            102,
            "expected string, got int",
        ),
        call(
            "wrong password",
            "AddNode",
            vec![password_auth(ADMIN_EMAIL, "wrong"), s("hostile"), st! { "hostname" => "x.hostile.org" }],
            103,
            "PasswordAuth: Password verification failed",
        ),
        call("empty password", "GetNodes", vec![password_auth(ADMIN_EMAIL, "")], 103, "PasswordAuth"),
        call(
            "SQL as the password",
            "GetNodes",
            vec![password_auth(ADMIN_EMAIL, "' OR '1'='1")],
            103,
            "PasswordAuth: Password verification failed",
        ),
        call(
            "unknown user",
            "GetNodes",
            vec![password_auth("nobody@hostile.org", "pw")],
            103,
            "PasswordAuth: No such account",
        ),
        call(
            "SQL as the username",
            "GetNodes",
            vec![password_auth("admin' --", ADMIN_PASSWORD)],
            103,
            "PasswordAuth: No such account",
        ),
        call(
            "wildcard as the username",
            "GetNodes",
            vec![password_auth("*", ADMIN_PASSWORD)],
            103,
            "PasswordAuth: No such account",
        ),
        call(
            "LIKE pattern as the username",
            "GetNodes",
            vec![password_auth("%@test-plc.example.org", ADMIN_PASSWORD)],
            103,
            "PasswordAuth: No such account",
        ),
        call(
            "disabled user",
            "GetNodes",
            vec![password_auth(DISABLED_EMAIL, DISABLED_PW)],
            103,
            "PasswordAuth: No such account",
        ),
        call(
            "capability auth, wrong password",
            "GetNodes",
            vec![st! { "AuthMethod" => "capability", "Username" => ADMIN_EMAIL, "AuthString" => "x" }],
            103,
            "PasswordAuth",
        ),
        call(
            "huge AuthString (1 MB)",
            "GetNodes",
            vec![password_auth(ADMIN_EMAIL, &"p".repeat(1 << 20))],
            103,
            "PasswordAuth",
        ),
        call(
            "unknown session",
            "AddNode",
            vec![session_auth("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="), s("hostile"), st! {}],
            103,
            "SessionAuth: No such session",
        ),
        call("empty session", "GetNodes", vec![session_auth("")], 103, "SessionAuth: No such session"),
        call("SQL as the session", "GetNodes", vec![session_auth("' OR '1'='1")], 103, "SessionAuth: No such session"),
        call(
            "expired session",
            "GetNodes",
            vec![session_auth(&fx.expired_session)],
            103,
            "SessionAuth: Invalid session",
        ),
        call(
            "session auth without session",
            "GetNodes",
            vec![st! { "AuthMethod" => "session" }],
            102,
            "'session' not specified",
        ),
        call(
            "session is an int",
            "GetNodes",
            vec![st! { "AuthMethod" => "session", "session" => 42 }],
            102,
            "expected string, got int",
        ),
        call(
            "wrong HMAC",
            "GetSession",
            vec![hmac_auth(fx.node1, "wrongkey", &[])],
            103,
            "BootAuth: Call could not be authenticated",
        ),
        call(
            "HMAC over other arguments",
            "GetNodes",
            vec![hmac_auth(fx.node1, NODE_KEY, &[ints(&[fx.node1])]), ints(&[fx.node_nokey])],
            103,
            "BootAuth: Call could not be authenticated",
        ),
        call(
            "HMAC for a node without key",
            "GetSession",
            vec![hmac_auth(fx.node_nokey, "", &[])],
            103,
            "BootAuth: No node key",
        ),
        call(
            "HMAC for an unknown node",
            "GetSession",
            vec![hmac_auth(999_999, NODE_KEY, &[])],
            103,
            "BootAuth: No such node",
        ),
        call(
            "HMAC on a method without the node role",
            "AddSite",
            vec![hmac_auth(fx.node1, NODE_KEY, std::slice::from_ref(&add_site_fields)), add_site_fields.clone()],
            103,
            "BootAuth: Not allowed to call method, missing 'node' role",
        ),
        call(
            "HMAC node_id as a string",
            "GetSession",
            vec![st! { "AuthMethod" => "hmac", "node_id" => "1", "value" => "x" }],
            102,
            "",
        ),
        call(
            "HMAC without value",
            "GetSession",
            vec![st! { "AuthMethod" => "hmac", "node_id" => fx.node1 }],
            102,
            "'value' not specified",
        ),
        call(
            // The struct is checked against its AuthMethod's fields before any role (§2.1).
            "HMAC without node_id on a method without the node role",
            "AddSite",
            vec![st! { "AuthMethod" => "hmac", "value" => "x" }, add_site_fields.clone()],
            102,
            "Invalid auth value: 'node_id' not specified",
        ),
        call(
            "BootGetNodeDetails by node session",
            "BootGetNodeDetails",
            vec![session_auth(&fx.node_session)],
            102,
            "BootGetNodeDetails requires hmac authentication",
        ),
        call(
            "gpg auth",
            "GetNodes",
            vec![st! { "AuthMethod" => "gpg", "name" => ADMIN_EMAIL, "signature" => "x" }],
            103,
            "",
        ),
        call(
            "anonymous on AddNode",
            "AddNode",
            vec![anonymous_auth(), i(fx.site), st! { "hostname" => "anon.hostile.org" }],
            103,
            "AnonymousAuth: method cannot be called anonymously",
        ),
        call(
            "user role with password auth on AddNode",
            "AddNode",
            vec![password_auth(USER_EMAIL, USER_PW), s("hostile"), st! { "hostname" => "u.hostile.org" }],
            103,
            "PasswordAuth: missing role",
        ),
        call(
            "user role with session auth on AddNode",
            "AddNode",
            vec![session_auth(&fx.user_session), s("hostile"), st! { "hostname" => "u.hostile.org" }],
            108,
            "SessionAuth: missing role",
        ),
        call(
            "node session on an admin-only method",
            "AddSite",
            vec![session_auth(&fx.node_session), add_site_fields.clone()],
            108,
            "missing 'node' role",
        ),
        call(
            "PI of another site on UpdateNode",
            "UpdateNode",
            vec![password_auth(OTHER_PI_EMAIL, OTHER_PI_PW), i(fx.node1), st! { "model" => "x" }],
            108,
            "Permission denied",
        ),
        call(
            "PI of another site on AddInterface",
            "AddInterface",
            vec![
                password_auth(OTHER_PI_EMAIL, OTHER_PI_PW),
                s("n1.hostile.org"),
                st! { "method" => "dhcp", "type" => "ipv4" },
            ],
            108,
            "Permission denied",
        ),
        call(
            "PI on an admin-only method",
            "AddSite",
            vec![password_auth(PI_EMAIL, PI_PW), add_site_fields.clone()],
            103,
            "PasswordAuth: missing role",
        ),
    ]
}

/// Values of the wrong type.
fn types(fx: &Fixture) -> Vec<Case> {
    let admin = admin_auth;
    let node = |fields: Value| vec![admin(), i(fx.site), fields];
    let iface = |fields: Value| vec![admin(), i(fx.node1), fields];
    vec![
        call("hostname is an int", "AddNode", node(st! { "hostname" => 5 }), 102, "expected string, got int"),
        call(
            "node_fields is a string",
            "AddNode",
            vec![admin(), s("hostile"), s("n9.hostile.org")],
            102,
            "expected struct, got string",
        ),
        call(
            "site is a double",
            "AddNode",
            vec![admin(), Value::Double(1.5), st! { "hostname" => "d.hostile.org" }],
            102,
            "got double",
        ),
        call(
            "model is a dateTime",
            "AddNode",
            node(st! { "hostname" => "dt.hostile.org", "model" => Value::DateTime("20240101T00:00:00".into()) }),
            102,
            "",
        ),
        call(
            "model is base64",
            "AddNode",
            node(st! { "hostname" => "b64.hostile.org", "model" => Value::Base64(b"qemu".to_vec()) }),
            102,
            "",
        ),
        call("hostname is a dateTime", "GetNodes", vec![admin(), Value::DateTime("20240101T00:00:00".into())], 102, ""),
        call("filter is a double", "GetNodes", vec![admin(), Value::Double(1.0)], 102, "got double"),
        call("filter list holds a struct", "GetNodes", vec![admin(), arr![st! { "a" => 1 }]], 102, ""),
        call("filter list holds nil", "GetNodes", vec![admin(), arr![nil()]], 102, ""),
        call(
            "return_fields is a string",
            "GetNodes",
            vec![admin(), nil(), s("hostname")],
            102,
            "expected array, got string",
        ),
        call("return_fields holds an int", "GetNodes", vec![admin(), nil(), arr![1]], 102, ""),
        call(
            "boot_state is a boolean",
            "AddNode",
            node(st! { "hostname" => "bs.hostile.org", "boot_state" => true }),
            102,
            "",
        ),
        call(
            "latitude is a string",
            "AddSite",
            vec![
                admin(),
                st! { "name" => "L", "abbreviated_name" => "L", "login_base" => "lat", "latitude" => "48.5", "longitude" => 2.0 },
            ],
            102,
            "got string",
        ),
        call(
            "enabled is a string on UpdatePerson",
            "UpdatePerson",
            vec![admin(), s(USER_EMAIL), st! { "enabled" => "yes" }],
            102,
            "got string",
        ),
        call("session expiry beyond range", "GetSession", vec![admin(), i(i64::MAX / 2)], 102, ""),
        call(
            "bwlimit beyond 32 bits",
            "AddInterface",
            iface(st! { "method" => "dhcp", "type" => "ipv4", "bwlimit" => 1_i64 << 40 }),
            102,
            "",
        ),
    ]
}

/// Invalid names, hostnames, emails and text, unicode included.
fn names_and_unicode(fx: &Fixture) -> Vec<Case> {
    let admin = admin_auth;
    let node = |fields: Value| vec![admin(), i(fx.site), fields];
    let site_fields = |login_base: &str| st! { "name" => "N", "abbreviated_name" => "N", "login_base" => login_base };
    let person = |email: &str| st! { "first_name" => "F", "last_name" => "L", "email" => email };
    vec![
        call("empty hostname", "AddNode", node(st! { "hostname" => "" }), 102, "Invalid hostname"),
        call("single-label hostname", "AddNode", node(st! { "hostname" => "localhost" }), 102, "Invalid hostname"),
        call(
            "hostname with a trailing newline",
            "AddNode",
            node(st! { "hostname" => "nl.hostile.org\n" }),
            102,
            "Invalid hostname",
        ),
        call(
            "hostname with SQL",
            "AddNode",
            node(st! { "hostname" => "x'; DROP TABLE nodes; --.hostile.org" }),
            102,
            "Invalid hostname",
        ),
        call(
            "hostname with a wildcard",
            "AddNode",
            node(st! { "hostname" => "*.hostile.org" }),
            102,
            "Invalid hostname",
        ),
        call("emoji hostname", "AddNode", node(st! { "hostname" => "\u{1F680}.hostile.org" }), 102, "Invalid hostname"),
        call(
            "hostname with an RTL mark",
            "AddNode",
            node(st! { "hostname" => "n\u{200F}3.hostile.org" }),
            102,
            "Invalid hostname",
        ),
        call(
            "hostname with a combining accent",
            "AddNode",
            node(st! { "hostname" => "no\u{0301}de.hostile.org" }),
            102,
            "Invalid hostname",
        ),
        call(
            "hostname with a zero-width space",
            "AddNode",
            node(st! { "hostname" => "n\u{200B}4.hostile.org" }),
            102,
            "Invalid hostname",
        ),
        call(
            "fullwidth hostname",
            "AddNode",
            node(st! { "hostname" => "\u{FF4E}\u{FF15}.hostile.org" }),
            102,
            "Invalid hostname",
        ),
        call(
            "hostname over 255 bytes",
            "AddNode",
            node(st! { "hostname" => format!("{}.hostile.org", vec!["a".repeat(60); 5].join(".")) }),
            102,
            "must be at most 255 bytes long",
        ),
        call(
            "duplicate hostname",
            "AddNode",
            node(st! { "hostname" => "n1.hostile.org" }),
            102,
            "Hostname already in use",
        ),
        call(
            "duplicate hostname in another case",
            "AddNode",
            node(st! { "hostname" => "N1.Hostile.ORG" }),
            102,
            "Hostname already in use",
        ),
        call(
            "rename onto an existing hostname",
            "UpdateNode",
            vec![admin(), i(fx.node_nokey), st! { "hostname" => "n1.hostile.org" }],
            102,
            "Hostname already in use",
        ),
        call(
            "model of 64 four-byte characters (256 bytes)",
            "AddNode",
            node(st! { "hostname" => "m.hostile.org", "model" => "\u{1F600}".repeat(64) }),
            102,
            "must be at most 255 bytes long",
        ),
        call(
            "unknown node type",
            "AddNode",
            node(st! { "hostname" => "t.hostile.org", "node_type" => "quantum" }),
            102,
            "Invalid node type",
        ),
        call(
            "node type with SQL",
            "AddNode",
            node(st! { "hostname" => "t2.hostile.org", "node_type" => "regular'--" }),
            102,
            "Invalid node type",
        ),
        call(
            "unknown boot state",
            "AddNode",
            node(st! { "hostname" => "b.hostile.org", "boot_state" => "levitating" }),
            102,
            "Invalid boot state",
        ),
        call(
            "unknown boot state on UpdateNode",
            "UpdateNode",
            vec![admin(), i(fx.node1), st! { "boot_state" => "BOOT" }],
            102,
            "Invalid boot state",
        ),
        call(
            "unknown node field",
            "AddNode",
            node(st! { "hostname" => "f.hostile.org", "nosuch" => 1 }),
            102,
            "nosuch",
        ),
        call("read-only node field", "AddNode", node(st! { "hostname" => "ro.hostile.org", "node_id" => 1 }), 102, ""),
        call(
            "unknown site (login_base)",
            "AddNode",
            vec![admin(), s("nosuchsite"), st! { "hostname" => "s.hostile.org" }],
            102,
            "",
        ),
        call(
            "SQL as the site",
            "AddNode",
            vec![admin(), s("hostile' OR '1'='1"), st! { "hostname" => "s2.hostile.org" }],
            102,
            "",
        ),
        call(
            "unknown node on UpdateNode",
            "UpdateNode",
            vec![admin(), s("nosuch.hostile.org"), st! { "model" => "x" }],
            102,
            "",
        ),
        call("unknown node id on DeleteNode", "DeleteNode", vec![admin(), i(999_999)], 102, ""),
        call("duplicate login_base", "AddSite", vec![admin(), site_fields("hostile")], 102, ""),
        call("upper-case login_base", "AddSite", vec![admin(), site_fields("BAD")], 102, ""),
        call("login_base with SQL", "AddSite", vec![admin(), site_fields("x';--")], 102, ""),
        call("empty login_base", "AddSite", vec![admin(), site_fields("")], 102, ""),
        call("unicode login_base", "AddSite", vec![admin(), site_fields("h\u{e9}llo")], 102, ""),
        call(
            "site name of 64 four-byte characters (256 bytes)",
            "AddSite",
            vec![admin(), st! { "name" => "\u{1F30D}".repeat(64), "abbreviated_name" => "E", "login_base" => "emoji" }],
            102,
            "must be at most 254 bytes long",
        ),
        call(
            "latitude without longitude",
            "AddSite",
            vec![admin(), st! { "name" => "L", "abbreviated_name" => "L", "login_base" => "lat", "latitude" => 10.0 }],
            102,
            "",
        ),
        call(
            "latitude out of range",
            "AddSite",
            vec![
                admin(),
                st! { "name" => "L", "abbreviated_name" => "L", "login_base" => "lat", "latitude" => 91.0, "longitude" => 0.0 },
            ],
            102,
            "",
        ),
        call(
            "unknown site field",
            "AddSite",
            vec![admin(), st! { "name" => "U", "abbreviated_name" => "U", "login_base" => "unk", "site_id" => 77 }],
            102,
            "",
        ),
        call(
            "duplicate email (other case)",
            "AddPerson",
            vec![admin(), person(&ADMIN_EMAIL.to_uppercase())],
            102,
            "already in use",
        ),
        call("invalid email", "AddPerson", vec![admin(), person("not-an-email")], 102, "Invalid e-mail address"),
        call("email with SQL", "AddPerson", vec![admin(), person("a'--@hostile.org")], 102, "Invalid e-mail address"),
        call(
            "email with unicode",
            "AddPerson",
            vec![admin(), person("\u{fc}ser@hostile.org")],
            102,
            "Invalid e-mail address",
        ),
        call(
            "person without last_name",
            "AddPerson",
            vec![admin(), st! { "first_name" => "F", "email" => "nolast@hostile.org" }],
            102,
            "",
        ),
        call(
            "first_name of 43 three-byte characters (129 bytes)",
            "AddPerson",
            vec![
                admin(),
                st! { "first_name" => "\u{20AC}".repeat(43), "last_name" => "L", "email" => "euro@hostile.org" },
            ],
            102,
            "must be at most 128 bytes long",
        ),
        call("role by unknown name", "AddRoleToPerson", vec![admin(), s("root"), s(USER_EMAIL)], 102, ""),
        call("duplicate tag type", "AddTagType", vec![admin(), st! { "tagname" => "arch" }], 102, ""),
        call(
            "tag type name over 100 bytes",
            "AddTagType",
            vec![admin(), st! { "tagname" => "t".repeat(101) }],
            102,
            "must be at most 100 bytes long",
        ),
        call("duplicate node group", "AddNodeGroup", vec![admin(), s("hgroup"), s("htag"), s("no")], 102, ""),
        call(
            "node group with unknown tag type",
            "AddNodeGroup",
            vec![admin(), s("g2"), s("nosuchtag"), s("yes")],
            102,
            "",
        ),
        call("duplicate node tag", "AddNodeTag", vec![admin(), i(fx.node1), s("hrn"), s("x")], 102, "already has tag"),
        call("node tag of unknown type", "AddNodeTag", vec![admin(), i(fx.node1), s("nosuchtag"), s("x")], 102, ""),
        call(
            "accessor on an unknown node",
            "SetNodeArch",
            vec![admin(), s("nosuch.hostile.org"), s("x86_64")],
            102,
            "Cannot set tag on Node",
        ),
    ]
}

/// Inconsistent and malformed interfaces.
fn interfaces(fx: &Fixture) -> Vec<Case> {
    let admin = admin_auth;
    let iface = |fields: Value| vec![admin(), i(fx.node1), fields];
    let static_with = |key: &str, value: Value| {
        let mut f = static_interface_fields(9).as_struct().cloned().unwrap_or_default();
        f.insert(key.to_owned(), value);
        iface(Value::Struct(f))
    };
    let static_without = |key: &str| {
        let mut f = static_interface_fields(9).as_struct().cloned().unwrap_or_default();
        f.remove(key);
        iface(Value::Struct(f))
    };
    vec![
        call(
            "IP with trailing junk",
            "AddInterface",
            static_with("ip", s("10.9.0.11 junk")),
            102,
            "Invalid IP address",
        ),
        call("IP shorthand 127.1", "AddInterface", static_with("dns1", s("127.1")), 102, "Invalid IP address"),
        call("hex IP 0x7f.0.0.1", "AddInterface", static_with("gateway", s("0x7f.0.0.1")), 102, "Invalid IP address"),
        call("octal-looking IP", "AddInterface", static_with("ip", s("010.09.0.011")), 102, "Invalid IP address"),
        call("IP octet over 255", "AddInterface", static_with("ip", s("10.9.0.256")), 102, "Invalid IP address"),
        call("single-number IP", "AddInterface", static_with("netmask", s("10")), 102, "Invalid IP address"),
        call("IP with SQL", "AddInterface", static_with("ip", s("10.9.0.1' OR '1'='1")), 102, "Invalid IP address"),
        call(
            "inconsistent static network (ip outside)",
            "AddInterface",
            static_with("ip", s("10.8.0.5")),
            102,
            "is not in network",
        ),
        call(
            "inconsistent static network (broadcast outside)",
            "AddInterface",
            static_with("broadcast", s("10.8.0.255")),
            102,
            "Broadcast address",
        ),
        call(
            "inconsistent static network (gateway outside)",
            "AddInterface",
            static_with("gateway", s("10.8.0.1")),
            102,
            "not reachable",
        ),
        call(
            "non-contiguous netmask",
            "AddInterface",
            static_with("netmask", s("255.0.255.0")),
            102,
            "is not a valid netmask",
        ),
        call(
            "static without network",
            "AddInterface",
            static_without("network"),
            102,
            "For static method, network is required",
        ),
        call(
            "dash-separated MAC",
            "AddInterface",
            static_with("mac", s("52-54-00-aa-bb-cc")),
            102,
            "Invalid MAC address",
        ),
        call(
            "MAC with non-hex digits",
            "AddInterface",
            static_with("mac", s("zz:54:00:aa:bb:cc")),
            102,
            "Invalid MAC address",
        ),
        call(
            "MAC with five parts",
            "AddInterface",
            static_with("mac", s("52:54:00:aa:bb")),
            102,
            "Invalid MAC address",
        ),
        call(
            "MAC with eight parts",
            "AddInterface",
            static_with("mac", s("1:2:3:4:5:6:7:8")),
            102,
            "Invalid MAC address",
        ),
        call(
            "MAC with a 3-digit part",
            "AddInterface",
            static_with("mac", s("152:54:00:aa:bb:cc")),
            102,
            "Invalid MAC address",
        ),
        call(
            "unknown addressing method",
            "AddInterface",
            iface(st! { "method" => "pigeon", "type" => "ipv4" }),
            102,
            "Invalid addressing method",
        ),
        call(
            "address type ipv6",
            "AddInterface",
            iface(st! { "method" => "dhcp", "type" => "ipv6" }),
            102,
            "Invalid address type",
        ),
        call(
            "second primary interface",
            "AddInterface",
            iface(st! { "method" => "dhcp", "type" => "ipv4", "is_primary" => true }),
            102,
            "Can only set one primary interface per node",
        ),
        call(
            "bwlimit below 500000",
            "AddInterface",
            iface(st! { "method" => "dhcp", "type" => "ipv4", "bwlimit" => 1000 }),
            102,
            "Minimum bw is 500 kbs",
        ),
        call(
            "negative bwlimit",
            "AddInterface",
            iface(st! { "method" => "dhcp", "type" => "ipv4", "bwlimit" => -1 }),
            102,
            "",
        ),
        call(
            "proxy with a MAC",
            "AddInterface",
            iface(st! { "method" => "proxy", "type" => "ipv4", "ip" => "10.9.0.50", "mac" => "52:54:00:aa:bb:cc" }),
            102,
            "mac should not be specified",
        ),
        call(
            "interface on an unknown node",
            "AddInterface",
            vec![admin(), i(999_999), st! { "method" => "dhcp", "type" => "ipv4" }],
            102,
            "",
        ),
        call(
            "interface hostname with an emoji",
            "AddInterface",
            iface(st! { "method" => "dhcp", "type" => "ipv4", "hostname" => "\u{1F4A5}.hostile.org" }),
            102,
            "Invalid hostname",
        ),
    ]
}

/// Hostile filters and return fields.
fn filters() -> Vec<Case> {
    let admin = admin_auth;
    vec![
        call(
            "SQL in a filter key",
            "GetNodes",
            vec![admin(), st! { "hostname' OR 1=1 --" => 1 }],
            102,
            "Invalid filter field",
        ),
        call(
            "SQL in a negated filter key",
            "GetNodes",
            vec![admin(), st! { "~node_id) OR (1=1" => 1 }],
            102,
            "Invalid filter field",
        ),
        call(
            "unknown filter key",
            "GetPersons",
            vec![admin(), st! { "nosuch" => "x" }],
            102,
            "Invalid filter field 'nosuch'",
        ),
        call("SQL in -SORT", "GetNodes", vec![admin(), st! { "-SORT" => "hostname; DROP TABLE nodes" }], 102, ""),
        call("unknown special filter key", "GetNodes", vec![admin(), st! { "-GROUP" => "hostname" }], 102, ""),
        call("-LIMIT as a string", "GetNodes", vec![admin(), st! { "-LIMIT" => "1; DROP TABLE nodes" }], 102, ""),
        call("filter value is a struct", "GetNodes", vec![admin(), st! { "hostname" => st! { "a" => 1 } }], 102, ""),
        call("SQL in return_fields", "GetNodes", vec![admin(), nil(), strs(&["hostname, key FROM nodes --"])], 102, ""),
        call("password as a return field", "GetPersons", vec![admin(), nil(), strs(&["email", "password"])], 102, ""),
        call("empty return_fields", "GetNodes", vec![admin(), nil(), arr![]], 102, "No valid return fields"),
    ]
}

/// The system methods, multicall among them, and a special filter key.
fn introspection(fx: &Fixture) -> Vec<Case> {
    let admin = admin_auth;
    let site_fields = |login_base: &str| st! { "name" => "N", "abbreviated_name" => "N", "login_base" => login_base };
    let mut v = vec![
        call("methodHelp of an unknown method", "system.methodHelp", vec![s("NoSuch")], 100, ""),
        call("methodSignature without a name", "system.methodSignature", vec![], 101, ""),
        Case {
            name: "multicall of a string".into(),
            method: "system.multicall",
            params: vec![s("AuthCheck")],
            expect: Expect::AnyFault,
        },
        Case {
            name: "multicall without arguments".into(),
            method: "system.multicall",
            params: vec![],
            expect: Expect::AnyFault,
        },
        Case {
            name: "multicall with garbage entries".into(),
            method: "system.multicall",
            params: vec![arr![
                1,
                "AuthCheck",
                st! {},
                st! { "methodName" => 5, "params" => arr![] },
                st! { "methodName" => "AuthCheck", "params" => "notalist" },
                st! { "methodName" => "system.multicall", "params" => arr![arr![]] },
                st! { "methodName" => "AddSite", "params" => arr![admin(), site_fields("BAD BASE")] },
                st! { "methodName" => "DeleteNode", "params" => arr![password_auth(USER_EMAIL, USER_PW), fx.node1] },
            ]],
            expect: Expect::AllEntriesFault(8),
        },
    ];
    v.push(call("unknown special filter key on GetSites", "GetSites", vec![admin(), st! { "-DROP" => 1 }], 102, ""));
    v
}

/// The issued-media ledger's methods: hidden fields, bad filters, the wrong callers, malformed
/// hmac structs for VerifyIssuedMedium.
fn ledger_cases(fx: &Fixture) -> Vec<Case> {
    let admin = admin_auth;
    let sha = || s(&"0".repeat(64));
    vec![
        call(
            "GetIssuedMedia filtered on the hidden key",
            "GetIssuedMedia",
            vec![admin(), st! { "node_key" => "x" }],
            102,
            "node_key",
        ),
        call(
            "GetIssuedMedia filtered on the download id",
            "GetIssuedMedia",
            vec![admin(), st! { "download_id" => "x" }],
            102,
            "",
        ),
        call(
            "GetIssuedMedia returning the stored plnode.txt",
            "GetIssuedMedia",
            vec![admin(), st! {}, strs(&["node_config"])],
            102,
            "",
        ),
        call("GetIssuedMedia with a float filter", "GetIssuedMedia", vec![admin(), Value::Double(1.5)], 102, ""),
        call(
            "GetIssuedMedia with a bad -SORT",
            "GetIssuedMedia",
            vec![admin(), st! { "-SORT" => "node_key" }],
            102,
            "",
        ),
        call(
            "GetIssuedMedia as a user",
            "GetIssuedMedia",
            vec![password_auth(USER_EMAIL, USER_PW)],
            103,
            "missing role",
        ),
        call("GetIssuedMedia as a node", "GetIssuedMedia", vec![hmac_auth(fx.node1, NODE_KEY, &[])], 103, ""),
        call(
            "VerifyIssuedMedium with password auth",
            "VerifyIssuedMedium",
            vec![admin(), sha()],
            102,
            "Invalid auth value: expected hmac node authentication",
        ),
        call("VerifyIssuedMedium with an auth string", "VerifyIssuedMedium", vec![s("hmac"), sha()], 102, ""),
        call(
            "VerifyIssuedMedium without node_id",
            "VerifyIssuedMedium",
            vec![st! { "AuthMethod" => "hmac", "value" => "00" }, sha()],
            102,
            "node_id",
        ),
        call(
            "VerifyIssuedMedium with a string node_id",
            "VerifyIssuedMedium",
            vec![st! { "AuthMethod" => "hmac", "node_id" => "1", "value" => "00" }, sha()],
            102,
            "",
        ),
        call(
            "VerifyIssuedMedium without value",
            "VerifyIssuedMedium",
            vec![st! { "AuthMethod" => "hmac", "node_id" => fx.node1 }, sha()],
            102,
            "'value' not specified",
        ),
        call(
            "VerifyIssuedMedium with an int checksum",
            "VerifyIssuedMedium",
            vec![hmac_auth(fx.node1, NODE_KEY, &[i(1)]), i(1)],
            102,
            "",
        ),
        call(
            "VerifyIssuedMedium with two checksums",
            "VerifyIssuedMedium",
            vec![hmac_auth(fx.node1, NODE_KEY, &[]), sha(), sha()],
            101,
            "",
        ),
    ]
}

/// The database as an admin sees it, without the authfail notices' events: a wrong signature for
/// an existing node is told to its owners (at most once an hour; node_methods.rs holds that), the
/// one write a refused call makes.
fn snapshot_without_notices(plc: &Plc) -> String {
    let snapshot = plc.db_snapshot();
    snapshot
        .lines()
        .filter(|l| !l.contains("message=String(\"Sent message authfail\")"))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// What `answer` lacks of `expect`, or what was observed.
fn judge(case: &Case, answer: &Answer) -> Result<String, String> {
    match (answer, &case.expect) {
        (Ok(v), Expect::AllEntriesFault(n)) => {
            let entries = v.as_array().unwrap_or_default();
            let faults = entries.iter().filter(|e| e.get("faultCode").and_then(Value::as_int).is_some()).count();
            if entries.len() == *n && faults == *n {
                Ok(format!("{}: {n} fault entries", case.name))
            } else {
                Err(format!("expected {n} fault entries, got {}", canonical(v)))
            }
        }
        (Ok(v), _) => Err(format!("expected a fault, got success {}", &canonical(v)[..canonical(v).len().min(300)])),
        (Err((code, message)), expect) => {
            let short: String = message.chars().take(200).collect();
            match expect {
                Expect::Fault(want, needle) if code != want || !message.contains(needle) => {
                    Err(format!("expected fault {want} containing {needle:?}, got {code}: {short:?}"))
                }
                Expect::AllEntriesFault(_) => Err(format!("expected a multicall result, got fault {code}: {short:?}")),
                _ => Ok(format!("{}: {code} {short:?}", case.name)),
            }
        }
    }
}

#[test]
fn hostile_calls_get_faults_and_change_nothing() {
    each_backend(|plc| {
        plc.use_admin_session();
        let fx = setup(plc);
        let table = cases(&fx);
        assert!(table.len() >= 60, "the table has {} cases", table.len());
        let mut before = snapshot_without_notices(plc);
        let mut failures = Vec::new();
        let mut observed = Vec::new();
        for case in &table {
            let started = Instant::now();
            let answer = plc.call(case.method, case.params.clone());
            let elapsed = started.elapsed();
            match judge(case, &answer) {
                Ok(seen) => observed.push(seen),
                Err(why) => failures.push(format!("[{}] {why}", case.name)),
            }
            if elapsed > Duration::from_secs(10) {
                failures.push(format!("[{}] took {elapsed:?}", case.name));
            }
            // Still answering, and nothing changed.
            match plc.call("AuthCheck", vec![plc.admin_auth()]) {
                Ok(Value::Int(1)) => {}
                other => failures.push(format!("[{}] the API no longer answers AuthCheck: {other:?}", case.name)),
            }
            let after = snapshot_without_notices(plc);
            if after != before {
                failures.push(format!("[{}] changed the database:\n{}", case.name, snapshot_diff(&before, &after)));
                before = after; // report each change once
            }
        }
        println!("{}: {} cases; observed faults:", plc.backend, table.len());
        for line in &observed {
            println!("  {line}");
        }
        assert!(
            failures.is_empty(),
            "{} of {} hostile cases failed:\n{}",
            failures.len(),
            table.len(),
            failures.join("\n")
        );
    });
}

/// Names with SQL metacharacters and unicode that ARE valid round-trip byte for byte, and
/// limits count UTF-8 bytes, not characters (§4.0).
#[test]
fn sql_metacharacters_and_unicode_in_valid_names_round_trip() {
    each_backend(|plc| {
        for (login_base, name) in [
            ("sqlsite", "O'Brien \"Labs\"; DROP TABLE sites; -- %_*\\"),
            ("uni1", "\u{1F680} R\u{e9}seau \u{5e9}\u{5dc}\u{5d5}\u{5dd}\u{200F} n\u{303}o\u{301}"),
            ("uni2", &"\u{1F30D}".repeat(63)), // 252 bytes: within 254
            ("uni3", &"\u{e9}".repeat(127)),   // 254 bytes exactly
        ] {
            let id = plc.admin_int(
                "AddSite",
                vec![st! { "name" => name, "abbreviated_name" => "A", "login_base" => login_base }],
            );
            let row = plc.admin_row("GetSites", vec![ints(&[id]), strs(&["name", "login_base"])]);
            assert_eq!(row, st! { "name" => name, "login_base" => login_base });
            assert_eq!(
                plc.admin_rows("GetSites", vec![st! { "name" => name }, strs(&["site_id"])]),
                vec![st! { "site_id" => id }]
            );
        }
        let r = plc.admin_call(
            "AddSite",
            vec![st! { "name" => "\u{e9}".repeat(128), "abbreviated_name" => "A", "login_base" => "uni4" }],
        );
        assert_fault(&r, 102, "must be at most 254 bytes long");
        let pid = plc.admin_int(
        "AddPerson",
        vec![st! { "first_name" => "Zo\u{eb} \u{1F600}", "last_name" => "O'Hara; --", "email" => "o.hara+test@hostile.org", "bio" => "\u{202E}txet desrever" }],
    );
        let row = plc.admin_row("GetPersons", vec![ints(&[pid]), strs(&["first_name", "last_name", "email", "bio"])]);
        assert_eq!(
            row,
            st! { "first_name" => "Zo\u{eb} \u{1F600}", "last_name" => "O'Hara; --", "email" => "o.hara+test@hostile.org", "bio" => "\u{202E}txet desrever" }
        );
        // A filter value with SQL metacharacters is data, not SQL.
        assert_eq!(
            plc.admin_rows("GetPersons", vec![st! { "last_name" => "O'Hara; --" }, strs(&["person_id"])]),
            vec![st! { "person_id" => pid }]
        );
        assert_eq!(plc.admin_rows("GetPersons", vec![st! { "last_name" => "' OR '1'='1" }]), Vec::<Value>::new());
        // Control characters 0x00-0x1F other than tab/newline cannot be sent in XML; 0x7F and
        // U+FFFD can, and round-trip.
        let sid = plc.admin_int(
            "AddSite",
            vec![st! { "name" => "del\u{7f} repl\u{fffd}", "abbreviated_name" => "A", "login_base" => "ctl" }],
        );
        assert_eq!(field(&plc.admin_row("GetSites", vec![ints(&[sid])]), "name"), &s("del\u{7f} repl\u{fffd}"));
    });
}
