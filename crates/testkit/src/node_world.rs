//! The node side's fixture (docs/plc-api.md §12): two sites with a keyed node each, site A's
//! staff, and the registry's own rows read back with its command-line client (the mail queue is
//! no field of any method).

use crate::{Client, add_node, add_person, add_site, add_static_interface, describe, hmac_auth, i, st, str_of};
use bootmedium_xmlrpc::Value;
use std::process::{Command, Stdio};

pub const KEY_A: &str = "node-a-key-0123456789";
pub const KEY_B: &str = "node-b-key-9876543210";
pub const PI: &str = "pi@a.example.org";
pub const TECH: &str = "tech@a.example.org";
pub const TECH_OFF: &str = "tech-disabled@a.example.org";
pub const USER: &str = "user@a.example.org";
pub const PI_B: &str = "pi@b.example.org";
pub const PW: &str = "Person-passw0rd";

/// Site A with node A (keyed, static primary interface 10.1.0.10) and its PI, tech, a disabled
/// tech and a user; site B with node B (keyed, 10.2.0.10) and its PI.
pub struct World {
    pub node_a: i64,
    pub node_b: i64,
    pub iface_a: i64,
    pub iface_b: i64,
    /// Node A's session (GetSession with hmac).
    pub session_a: String,
}

pub fn world(plc: &impl Client) -> World {
    plc.use_admin_session();
    let site_a = add_site(plc, "sitea");
    let site_b = add_site(plc, "siteb");
    let node_a = add_node(plc, site_a, "node-a.a.example.org");
    let node_b = add_node(plc, site_b, "node-b.b.example.org");
    let iface_a = add_static_interface(plc, node_a, 1);
    let iface_b = add_static_interface(plc, node_b, 2);
    plc.admin_one("UpdateNode", vec![i(node_a), st! { "key" => KEY_A }]);
    plc.admin_one("UpdateNode", vec![i(node_b), st! { "key" => KEY_B }]);
    add_person(plc, PI, PW, &["pi"], Some(site_a));
    add_person(plc, TECH, PW, &["tech"], Some(site_a));
    let off = add_person(plc, TECH_OFF, PW, &["tech"], Some(site_a));
    plc.admin_one("UpdatePerson", vec![i(off), st! { "enabled" => false }]);
    add_person(plc, USER, PW, &["user"], Some(site_a));
    add_person(plc, PI_B, PW, &["pi"], Some(site_b));
    let session_a = str_of(&plc.ok("GetSession", vec![hmac_auth(node_a, KEY_A, &[])])).to_owned();
    World { node_a, node_b, iface_a, iface_b, session_a }
}

/// Runs one SQL statement on the plc's database (sqlite3 or psql); rows come back with
/// fields split on U+001F.
pub fn sql(plc: &impl Client, statement: &str) -> Vec<Vec<String>> {
    let url = plc.registry_url();
    let out = match url.strip_prefix("sqlite:") {
        None => Command::new("psql")
            .args([
                url.as_str(),
                "-v",
                "ON_ERROR_STOP=1",
                "-A",
                "-t",
                "-q",
                "-F",
                "\u{1f}",
                "-R",
                "\u{1e}",
                "-c",
                statement,
            ])
            .stdin(Stdio::null())
            .output()
            .expect("run psql (install postgresql-client)"),
        Some(path) => Command::new("sqlite3")
            .args(["-separator", "\u{1f}", "-newline", "\u{1e}"])
            .arg(path)
            .arg(statement)
            .stdin(Stdio::null())
            .output()
            .expect("run sqlite3 (install sqlite3)"),
    };
    assert!(out.status.success(), "{statement}: {}", describe(&out));
    String::from_utf8(out.stdout)
        .unwrap()
        .split('\u{1e}')
        .map(|r| r.trim_matches('\n'))
        .filter(|r| !r.is_empty())
        .map(|r| r.split('\u{1f}').map(str::to_owned).collect())
        .collect()
}

/// The queued mails: (message_id, recipients, subject, body, sender, reply_to), oldest first.
pub fn outbox(plc: &impl Client) -> Vec<[String; 6]> {
    sql(plc, "SELECT message_id, recipients, subject, body, sender, reply_to FROM mail_outbox ORDER BY mail_id")
        .into_iter()
        .map(|r| {
            let mut it = r.into_iter();
            std::array::from_fn(|_| it.next().unwrap_or_default())
        })
        .collect()
}

/// The events of calls to `call_name`.
pub fn events_named(plc: &impl Client, call_name: &str) -> Vec<Value> {
    plc.admin_rows("GetEvents", vec![st! { "call_name" => call_name }])
}
