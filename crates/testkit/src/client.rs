//! [`Client`]: what a test needs of the API, whichever way its calls travel (in process or over
//! HTTP), and the helpers and fixtures built on it (all fixtures are made as the admin).

use crate::{Failures, Refusal, admin_auth, canonical, field, hmac_auth, i, s, session_auth, st, str_of, strs};
use bootmedium_xmlrpc::Value;
use std::sync::OnceLock;

/// A call's answer: a value, or a fault as `(code, message)`.
pub type Answer = Result<Value, (i64, String)>;

/// Something that answers PLCAPI calls. Implementors give [`Client::call`] and a place for the
/// admin session; everything else is built on those.
pub trait Client {
    /// One call; faults come back as `Err((code, message))`. Anything that is neither a value
    /// nor a fault (a transport error, an image) panics.
    fn call(&self, method: &str, params: Vec<Value>) -> Answer;

    /// Where [`Client::use_admin_session`] keeps its session.
    fn admin_session(&self) -> &OnceLock<String>;

    /// The URL of the registry the API runs on (`sqlite:FILE` or a PostgreSQL URL), for reading
    /// back what no method shows.
    fn registry_url(&self) -> String;

    /// Makes the `admin*` helpers use an admin session from now on: much faster than a password
    /// hash verification per call (for tests that make many admin calls).
    fn use_admin_session(&self) {
        let session = self.ok("GetSession", vec![admin_auth()]);
        let session = session.as_str().unwrap_or_else(|| panic!("GetSession returned {session:?}")).to_owned();
        let _ = self.admin_session().set(session);
    }

    /// The auth struct the `admin*` helpers use.
    fn admin_auth(&self) -> Value {
        match self.admin_session().get() {
            Some(session) => session_auth(session),
            None => admin_auth(),
        }
    }

    /// A call that must succeed.
    #[track_caller]
    fn ok(&self, method: &str, params: Vec<Value>) -> Value {
        let shown = format!("{params:?}");
        match self.call(method, params) {
            Ok(v) => v,
            Err((code, message)) => {
                panic!("{method}({}) failed: fault {code}: {message}", &shown[..shown.len().min(1500)])
            }
        }
    }

    /// A call that must return an int (an id or `1`).
    #[track_caller]
    fn ok_int(&self, method: &str, params: Vec<Value>) -> i64 {
        let v = self.ok(method, params);
        v.as_int().unwrap_or_else(|| panic!("{method} returned {v:?}, expected an int"))
    }

    /// A call that must return `1`.
    #[track_caller]
    fn ok_one(&self, method: &str, params: Vec<Value>) {
        let v = self.ok(method, params);
        assert_eq!(v, Value::Int(1), "{method} should return 1");
    }

    /// A call that must return an array; gives its items.
    #[track_caller]
    fn ok_rows(&self, method: &str, params: Vec<Value>) -> Vec<Value> {
        match self.ok(method, params) {
            Value::Array(rows) => rows,
            other => panic!("{method} returned {other:?}, expected an array"),
        }
    }

    /// An admin call (the admin's auth prepended) that must succeed.
    #[track_caller]
    fn admin(&self, method: &str, mut params: Vec<Value>) -> Value {
        params.insert(0, self.admin_auth());
        self.ok(method, params)
    }

    #[track_caller]
    fn admin_int(&self, method: &str, mut params: Vec<Value>) -> i64 {
        params.insert(0, self.admin_auth());
        self.ok_int(method, params)
    }

    #[track_caller]
    fn admin_one(&self, method: &str, mut params: Vec<Value>) {
        params.insert(0, self.admin_auth());
        self.ok_one(method, params)
    }

    #[track_caller]
    fn admin_rows(&self, method: &str, mut params: Vec<Value>) -> Vec<Value> {
        params.insert(0, self.admin_auth());
        self.ok_rows(method, params)
    }

    /// The single row an admin `Get*` returns (panics unless exactly one).
    #[track_caller]
    fn admin_row(&self, method: &str, params: Vec<Value>) -> Value {
        let rows = self.admin_rows(method, params);
        assert_eq!(rows.len(), 1, "{method}: expected exactly one row, got {rows:?}");
        rows.into_iter().next().unwrap_or(Value::Nil)
    }

    /// An admin call whatever it answers.
    fn admin_call(&self, method: &str, mut params: Vec<Value>) -> Answer {
        params.insert(0, self.admin_auth());
        self.call(method, params)
    }

    /// Runs every row of a refusal table: the call must fault as the row says, and `after` (run
    /// after each row with its result) gives the row's further failures, e.g. side effects.
    fn run_refusals(&self, rows: Vec<Refusal>, mut after: impl FnMut(&Refusal, &Answer) -> Vec<String>) -> Failures
    where
        Self: Sized,
    {
        let mut failures = Failures::default();
        for row in rows {
            failures.row();
            let got = self.call(row.method, row.params.clone());
            failures.fault(&row.name, &got, row.code, &row.needle);
            for why in after(&row, &got) {
                failures.fail(&row.name, why);
            }
        }
        failures
    }

    /// A canonical dump of every row the API shows an admin (sites, persons, nodes, interfaces,
    /// tags, tag types, node groups, node types, events with their objects, issued media), one
    /// row per line.
    fn db_snapshot(&self) -> String {
        let mut out = String::new();
        let tables: [(&str, Vec<Value>); 13] = [
            ("GetSites", vec![st! {}]),
            ("GetPersons", vec![st! {}]),
            ("GetNodes", vec![st! {}]),
            ("GetInterfaces", vec![st! {}]),
            ("GetNodeTags", vec![st! {}]),
            ("GetInterfaceTags", vec![st! {}]),
            ("GetTagTypes", vec![st! {}]),
            ("GetNodeGroups", vec![st! {}]),
            ("GetNodeTypes", vec![]),
            ("GetRoles", vec![]),
            ("GetEvents", vec![st! {}]),
            ("GetEventObjects", vec![st! {}]),
            ("GetIssuedMedia", vec![st! {}]),
        ];
        for (method, params) in tables {
            let rows = self.admin_rows(method, params);
            let mut lines: Vec<String> = rows.iter().map(|r| format!("{method} {}", canonical(r))).collect();
            lines.sort();
            for line in lines {
                out.push_str(&line);
                out.push('\n');
            }
        }
        out
    }
}

/// Adds a site with `login_base`; returns its id.
pub fn add_site(plc: &impl Client, login_base: &str) -> i64 {
    plc.admin_int(
        "AddSite",
        vec![st! {
            "name" => format!("Site {login_base}"),
            "abbreviated_name" => login_base.to_uppercase(),
            "login_base" => login_base,
        }],
    )
}

/// Adds an enabled person with `roles` at `site` (when given); returns the person_id.
pub fn add_person(plc: &impl Client, email: &str, password: &str, roles: &[&str], site: Option<i64>) -> i64 {
    let id = plc.admin_int(
        "AddPerson",
        vec![st! { "first_name" => "Test", "last_name" => email, "email" => email, "password" => password }],
    );
    plc.admin_one("UpdatePerson", vec![i(id), st! { "enabled" => true }]);
    for role in roles {
        plc.admin_one("AddRoleToPerson", vec![s(role), i(id)]);
    }
    if let Some(site) = site {
        plc.admin_one("AddPersonToSite", vec![i(id), i(site)]);
    }
    id
}

/// Adds a regular node at `site`; returns its id.
pub fn add_node(plc: &impl Client, site: i64, hostname: &str) -> i64 {
    plc.admin_int("AddNode", vec![i(site), st! { "hostname" => hostname, "boot_state" => "boot" }])
}

/// Adds a consistent static primary interface 10.<net>.0.10/24 to `node`; returns its id.
pub fn add_static_interface(plc: &impl Client, node: i64, net: u8) -> i64 {
    plc.admin_int("AddInterface", vec![i(node), static_interface_fields(net)])
}

pub fn static_interface_fields(net: u8) -> Value {
    st! {
        "method" => "static", "type" => "ipv4",
        "ip" => format!("10.{net}.0.10"), "netmask" => "255.255.255.0",
        "network" => format!("10.{net}.0.0"), "broadcast" => format!("10.{net}.0.255"),
        "gateway" => format!("10.{net}.0.1"), "dns1" => format!("10.{net}.0.2"),
    }
}

/// The node's stored key, as an admin's GetNodes shows it.
pub fn stored_key(plc: &impl Client, node: i64) -> Value {
    field(&plc.admin_row("GetNodes", vec![i(node), strs(&["key"])]), "key").clone()
}

/// The node's current key (an admin reads it), or a new one set by the admin when it has none.
pub fn node_key(plc: &impl Client, node: i64) -> String {
    match stored_key(plc, node) {
        Value::String(k) if !k.is_empty() => k,
        _ => {
            plc.admin_one("UpdateNode", vec![i(node), st! { "key" => "first-key-of-the-node" }]);
            "first-key-of-the-node".to_owned()
        }
    }
}

/// A node session made the BootManager's way: GetSession with hmac over `[]`.
pub fn node_session(plc: &impl Client, node: i64) -> String {
    let key = node_key(plc, node);
    let session = plc.ok("GetSession", vec![hmac_auth(node, &key, &[])]);
    str_of(&session).to_owned()
}

/// The fault code of `AuthCheck` with this session, 0 when it works.
pub fn session_check(plc: &impl Client, session: &str) -> i64 {
    match plc.call("AuthCheck", vec![session_auth(session)]) {
        Ok(v) => {
            assert_eq!(v, i(1));
            0
        }
        Err((code, _)) => code,
    }
}

/// Every row of the `Get*` `methods` as an admin sees them, one line each (what a refused call
/// must leave as it was).
pub fn rows_snapshot(plc: &impl Client, methods: &[&str]) -> String {
    let mut out = String::new();
    for method in methods {
        for row in plc.admin_rows(method, vec![st! {}]) {
            out.push_str(&format!("{method} {}\n", canonical(&row)));
        }
    }
    out
}

/// An entry of a `system.multicall` list.
pub fn multicall_entry(method: &str, params: Vec<Value>) -> Value {
    st! { "methodName" => method, "params" => Value::Array(params) }
}

/// A site's `url`, as an admin reads it.
pub fn site_url(plc: &impl Client, site: i64) -> Value {
    field(&plc.admin_row("GetSites", vec![i(site), strs(&["url"])]), "url").clone()
}
