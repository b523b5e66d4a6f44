//! What a booted node calls about itself (docs/plc-api.md §12.3): BootUpdateNode, ReportRunlevel,
//! BootGetNodeDetails, GetPlcRelease. (BootCheckAuthentication is AuthCheck, sessions.rs;
//! BootNotifyOwners is in messages.rs.)
//!
//! A node only ever changes itself: BootUpdateNode acts on the caller, its `primary_network`
//! must be the caller's own primary interface, and a node naming another node in
//! ReportRunlevel is refused (upstream silently updates the caller instead).
//!
//! BootUpdateNode ignores keys it does not know, as upstream does (its struct type ignores
//! unknown keys and the method reads only its own): BootManagers of several generations call it,
//! and a fault at ChainBootNode sends the node to debug mode. Values of the keys it knows are
//! checked strictly: the boot state must exist, the ssh key is one line of at most 1024 bytes
//! without control characters, and the primary network passes UpdateInterface's checks.
//!
//! Section numbers (§N) refer to docs/plc-api.md.

use super::common;
use super::interfaces;
use super::sessions;
use crate::args::{Datum, Done, Fields, IdOrName, OrNil};
use crate::auth::Credentials;
use crate::caller::{Caller, NodeCaller};
use crate::context::Cx;
use crate::fault::{Fault, MethodResult};
use crate::filter::Filter;
use bootmedium_registry::views::{INTERFACE, NODE};
use bootmedium_registry::{Row, SqlValue, ops};
use std::collections::BTreeMap;

/// `run_levels` (docs/plc-api.md §4.1).
pub const RUN_LEVELS: &[&str] = &["boot", "safeboot", "failboot", "reinstall"];
/// A PCU reboot this recent counts as confirmed when the node checks in.
const PCU_CONFIRMATION_SECONDS: i64 = 20 * 60;
const SSH_KEY_MAX_BYTES: usize = 1024;

fn node_caller(cx: &Cx<'_>) -> MethodResult<NodeCaller> {
    match &cx.caller {
        Caller::Node(n) => Ok(n.clone()),
        _ => Err(Fault::invalid("Caller is expected to be a node")),
    }
}

fn string_field<'a>(name: &str, v: &'a Datum) -> MethodResult<&'a str> {
    v.as_str().ok_or_else(|| Fault::invalid_named(name, format!("expected string, got {}", v.type_name())))
}

/// An ssh public key line: at most 1024 bytes, printable (no newline or other control
/// characters, which would let one value pose as several lines of a known_hosts file).
fn check_ssh_key(name: &str, key: &str) -> MethodResult<()> {
    crate::validate::check_max_bytes(name, key, SSH_KEY_MAX_BYTES)?;
    if key.chars().any(char::is_control) {
        return Err(Fault::invalid_named(name, "must be a single line without control characters"));
    }
    Ok(())
}

/// The node's current boot-related columns.
struct NodeState {
    boot_state: Option<String>,
    ssh_rsa_key: Option<String>,
    last_boot: Option<i64>,
    last_contact: Option<i64>,
    last_pcu_reboot: Option<i64>,
}

async fn node_state(cx: &mut Cx<'_>, node_id: i64) -> MethodResult<NodeState> {
    let s = ops::nodes::boot_state(&mut cx.tx, node_id).await?.ok_or_else(|| Fault::invalid("No such node"))?;
    Ok(NodeState {
        boot_state: Some(s.boot_state),
        ssh_rsa_key: s.ssh_rsa_key,
        last_boot: s.last_boot,
        last_contact: s.last_contact,
        last_pcu_reboot: s.last_pcu_reboot,
    })
}

/// `BootUpdateNode(auth, {boot_state?, ssh_rsa_key? | ssh_host_key?, primary_network?})` → 1.
pub async fn boot_update_node(cx: &mut Cx<'_>, node_fields: Fields) -> MethodResult<Done> {
    let node = node_caller(cx)?;
    let fields = &node_fields;
    let state = node_state(cx, node.node_id).await?;
    let mut cols: Vec<(&'static str, SqlValue)> = Vec::new();
    let mut changed: Vec<String> = Vec::new();

    if let Some(v) = fields.get("boot_state") {
        let b = string_field("boot_state", v)?;
        common::check_text(&NODE, "boot_state", b)?;
        if !ops::lookups::boot_state_exists(&mut cx.tx, b).await? {
            return Err(Fault::invalid(format!("Invalid boot state '{b}'")));
        }
        if state.boot_state.as_deref() != Some(b) {
            changed.push("boot_state".into());
        }
        cols.push(("boot_state", SqlValue::text(b)));
    }
    // The old BootManagers' name first; ssh_rsa_key wins when both are given, as upstream.
    let mut key = None;
    for name in ["ssh_host_key", "ssh_rsa_key"] {
        if let Some(v) = fields.get(name) {
            let k = string_field(name, v)?;
            check_ssh_key(name, k)?;
            key = Some(k);
        }
    }
    if let Some(k) = key {
        if state.ssh_rsa_key.as_deref() != Some(k) {
            changed.push("ssh_rsa_key".into());
        }
        cols.push(("ssh_rsa_key", SqlValue::text(k)));
    }
    if let Some(v) = fields.get("primary_network") {
        let network = v.as_map().ok_or_else(|| {
            Fault::invalid_named("primary_network", format!("expected struct, got {}", v.type_name()))
        })?;
        let names = interfaces::update_primary_by_node(cx, node.node_id, network).await?;
        changed.extend(names.into_iter().map(|n| format!("Interface.{n}")));
    }
    // A plain check-in (the BootManager's UpdateLastBootOnce): the node has booted.
    if !fields.contains_key("boot_state") && key.is_none() {
        let now = crate::now();
        if let (Some(boot), Some(contact)) = (state.last_boot, state.last_contact) {
            cols.push(("last_time_spent_online", SqlValue::int(contact - boot)));
            cols.push(("last_time_spent_offline", SqlValue::int(now - contact)));
        }
        cols.push(("last_contact", SqlValue::int(now)));
        cols.push(("last_boot", SqlValue::int(now)));
        if state.last_pcu_reboot.is_some_and(|t| now - t <= PCU_CONFIRMATION_SECONDS) {
            cols.push(("last_pcu_confirmation", SqlValue::int(now)));
        }
    }
    if !cols.is_empty() {
        cx.tx.update("nodes", "node_id", SqlValue::int(node.node_id), &cols).await?;
    }
    // Only changes are logged: every boot would otherwise add events that say nothing.
    if !changed.is_empty() {
        cx.note(format!("Boot updated: {}", changed.join(", ")), vec![("Node", node.node_id)]);
    }
    Ok(common::one())
}

/// `ReportRunlevel(auth, {'run_level': R}, node_id_or_hostname=None)` → 1: a node reports its
/// own run level (naming itself is allowed, another node is refused); an admin names the node.
/// Never logged as an event (§2.8: a node reports every 15 minutes).
pub async fn report_runlevel(
    cx: &mut Cx<'_>,
    report_fields: Fields,
    node_id_or_hostname: Option<OrNil<IdOrName>>,
) -> MethodResult<Done> {
    let report = &report_fields;
    let target = node_id_or_hostname.and_then(|t| t.0);
    let node_id = match cx.caller.clone() {
        Caller::Node(n) => {
            if let Some(target) = &target {
                let named = common::find_one(cx, &bootmedium_registry::views::NODE, target, &["node_id"], "node")
                    .await
                    .ok()
                    .and_then(|r| r.int("node_id"));
                if named != Some(n.node_id) {
                    return Err(Fault::denied("A node may only report its own run level"));
                }
            }
            n.node_id
        }
        caller if caller.is_admin() => {
            let Some(target) = &target else {
                return Err(Fault::invalid("No such node"));
            };
            let node = super::nodes::writable_node(cx, target, "update").await?;
            node.node_id
        }
        _ => return Err(Fault::denied("Not allowed to update node run_level")),
    };
    let mut cols = vec![("last_contact", SqlValue::int(crate::now()))];
    if let Some(v) = report.get("run_level") {
        let r = string_field("run_level", v)?;
        if !RUN_LEVELS.contains(&r) {
            return Err(Fault::invalid(format!("Invalid run level '{}'", r.escape_debug())));
        }
        cols.push(("run_level", SqlValue::text(r)));
    }
    cx.tx.update("nodes", "node_id", SqlValue::int(node_id), &cols).await?;
    Ok(common::one())
}

/// BootGetNodeDetails' answer (the adapter sends the networks' nil values as "", which old
/// BootManagers need, and leaves `networks` out when the node has none).
pub struct NodeDetails {
    pub hostname: String,
    pub boot_state: String,
    /// "" for nil.
    pub model: String,
    pub networks: Vec<Row>,
    /// A new node session.
    pub session: String,
}

/// `BootGetNodeDetails(auth)` (hmac only; old BootManagers): hostname, boot_state, model ("" for
/// nil), the node's interfaces with nil values as "", and a new node session.
pub async fn boot_get_node_details(cx: &mut Cx<'_>) -> MethodResult<NodeDetails> {
    let node = node_caller(cx)?;
    if !matches!(cx.credentials(), Some(Credentials::Hmac { .. })) {
        return Err(Fault::invalid_named("auth", "BootGetNodeDetails requires hmac authentication"));
    }
    let d = ops::nodes::details(&mut cx.tx, node.node_id).await?.ok_or_else(|| Fault::invalid("No such node"))?;
    let filter = Filter::field_is("node_id", Datum::Int(node.node_id));
    let networks = common::get(cx, &INTERFACE, Some(filter), None).await?;
    let session = crate::crypto::new_session_id().map_err(|e| Fault::internal(e.to_string()))?;
    sessions::set_node_session(cx, node.node_id, &session).await?;
    Ok(NodeDetails {
        hostname: d.hostname,
        boot_state: d.boot_state,
        model: d.model.unwrap_or_default(),
        networks,
        session,
    })
}

/// GetPlcRelease's answer: `build`, `tags` and `rpms`, each a struct of strings.
pub struct Release {
    pub build: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub rpms: BTreeMap<String, String>,
}

/// `GetPlcRelease(auth)`: upstream reads /etc/myplc-release into `build` (`Build <key>: value`
/// lines), `tags` and `rpms`; here they describe this server, with the flavour's architecture
/// as `build['target-arch']`, which the tests read.
pub async fn get_plc_release(cx: &mut Cx<'_>) -> MethodResult<Release> {
    let flavour = &cx.config().flavour;
    let s = |k: &str, v: &str| (k.to_string(), v.to_string());
    let build = BTreeMap::from([
        s("name", "bootmedium"),
        s("version", env!("CARGO_PKG_VERSION")),
        s("target-arch", &flavour.arch),
        s("pldistro", &flavour.pldistro),
        s("fcdistro", &flavour.fcdistro),
    ]);
    let tags = BTreeMap::from([s("bootmedium", env!("CARGO_PKG_VERSION"))]);
    Ok(Release { build, tags, rpms: BTreeMap::new() })
}
