//! Nodes (docs/plc-api.md §4.1): AddNode, GetNodes, UpdateNode, DeleteNode.

use super::common::{self, Written, collect, columns, find, find_one};
use super::{accessors, sessions};
use crate::args::{Done, Fields, IdOrName};
use crate::context::Cx;
use crate::fault::{Fault, MethodResult};
use crate::filter::exposed_tags;
use crate::validate::is_hostname;
use bootmedium_registry::views::{NODE, SITE};
use bootmedium_registry::{SqlValue, WriteOp, ops};

async fn validate(cx: &mut Cx<'_>, written: &mut [Written], node_id: i64) -> MethodResult<()> {
    for wr in written.iter_mut() {
        match wr.field.name {
            "hostname" => {
                let h = wr.text().unwrap_or_default().to_lowercase();
                if !is_hostname(&h) {
                    return Err(Fault::invalid("Invalid hostname"));
                }
                let taken = ops::nodes::hostname_taken(&mut cx.tx, &h, node_id).await?;
                if taken {
                    return Err(Fault::invalid("Hostname already in use"));
                }
                wr.value = SqlValue::text(h);
            }
            "node_type" => {
                let t = wr.text().unwrap_or_default().to_string();
                if !ops::lookups::node_type_exists(&mut cx.tx, &t).await? {
                    return Err(Fault::invalid(format!("Invalid node type '{t}'")));
                }
            }
            "boot_state" => {
                let b = wr.text().unwrap_or_default().to_string();
                if !ops::lookups::boot_state_exists(&mut cx.tx, &b).await? {
                    return Err(Fault::invalid(format!("Invalid boot state '{b}'")));
                }
            }
            "site_id" => {
                let s = wr.value.as_int().unwrap_or(0);
                if !ops::sites::live_exists(&mut cx.tx, s).await? {
                    return Err(Fault::invalid(format!("No such site {s}")));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// `hrn` of a node: `<hrn_root>.<login_base>.<hostname with dots escaped>`.
fn node_hrn(root: &str, login_base: &str, hostname: &str) -> String {
    format!("{root}.{login_base}.{}", hostname.replace('.', "\\."))
}

pub async fn add_node(cx: &mut Cx<'_>, site_id_or_login_base: IdOrName, node_fields: Fields) -> MethodResult<i64> {
    let site = find_one(cx, &SITE, &site_id_or_login_base, &["site_id", "login_base"], "site").await?;
    let site_id = site.int("site_id").unwrap_or(0);
    if !cx.caller.is_admin() && !cx.caller.at_site(site_id) {
        return Err(Fault::denied("Not allowed to add nodes to specified site"));
    }
    let (mut written, tags) = collect(&NODE, WriteOp::Add, &cx.caller, exposed_tags(&NODE), &node_fields)?;
    if find(&written, "hostname").is_none() {
        return Err(Fault::invalid("hostname must be specified and cannot be unset in class Node"));
    }
    validate(cx, &mut written, 0).await?;
    let hostname = find(&written, "hostname").and_then(Written::text).unwrap_or_default().to_string();
    let now = crate::now();
    let mut cols = columns(&written);
    cols.extend([
        ("site_id", SqlValue::int(site_id)),
        ("date_created", SqlValue::int(now)),
        ("last_updated", SqlValue::int(now)),
    ]);
    let node_id = cx.tx.insert("nodes", "node_id", &cols).await?;
    let hrn = node_hrn(&cx.config().plc.hrn_root, site.text("login_base").unwrap_or_default(), &hostname);
    let mut tags = tags;
    tags.retain(|(k, _)| k != "hrn");
    tags.push(("hrn".to_string(), hrn));
    accessors::set_exposed(cx, node_id, &tags).await?;
    cx.note(format!("Node {node_id}={hostname} created"), vec![("Site", site_id), ("Node", node_id)]);
    Ok(node_id)
}

/// The node a write targets, after the local-node and site checks.
pub struct TargetNode {
    pub node_id: i64,
    pub hostname: String,
    pub site_id: i64,
}

pub async fn writable_node(cx: &mut Cx<'_>, key: &IdOrName, verb: &str) -> MethodResult<TargetNode> {
    let r = find_one(cx, &NODE, key, &["node_id", "hostname", "site_id", "peer_id"], "node").await?;
    let node = TargetNode {
        node_id: r.int("node_id").unwrap_or(0),
        hostname: r.text("hostname").unwrap_or_default().to_string(),
        site_id: r.int("site_id").unwrap_or(0),
    };
    if r.int("peer_id").is_some() {
        return Err(Fault::invalid(format!("Not a local node {}", node.hostname)));
    }
    if !cx.caller.is_admin() && !cx.caller.at_site(node.site_id) {
        return Err(Fault::denied(format!("Not allowed to {verb} nodes from specified site")));
    }
    Ok(node)
}

pub async fn update_node(cx: &mut Cx<'_>, node_id_or_hostname: IdOrName, node_fields: Fields) -> MethodResult<Done> {
    let node = writable_node(cx, &node_id_or_hostname, "update").await?;
    // The admin-only fields (`key`, `boot_nonce`, `site_id`, `session`) others give are dropped.
    let (mut written, tags) = collect(&NODE, WriteOp::Update, &cx.caller, exposed_tags(&NODE), &node_fields)?;
    validate(cx, &mut written, node.node_id).await?;
    if find(&written, "key").is_some() {
        sessions::end_node_sessions(cx, node.node_id).await?;
    }
    // An admin sets or clears the node's session.
    if let Some(session) = find(&written, "session").map(|w| w.value.clone()) {
        match session.as_text().filter(|s| !s.is_empty()) {
            Some(s) => sessions::set_node_session(cx, node.node_id, s).await?,
            None => sessions::end_node_sessions(cx, node.node_id).await?,
        }
    }
    // `session` has no column: `columns` leaves it out.
    let mut cols = columns(&written);
    cols.push(("last_updated", SqlValue::int(crate::now())));
    cx.tx.update("nodes", "node_id", SqlValue::int(node.node_id), &cols).await?;
    accessors::set_exposed(cx, node.node_id, &tags).await?;
    cx.note(format!("Node {} updated", node.hostname), vec![("Node", node.node_id)]);
    Ok(common::one())
}

/// Marks a node deleted and removes what hangs off it.
pub async fn delete_node_rows(cx: &mut Cx<'_>, node_id: i64) -> MethodResult<()> {
    let id = SqlValue::int(node_id);
    ops::nodes::delete_interface_tags(&mut cx.tx, node_id).await?;
    cx.tx.delete("interfaces", &[("node_id", id.clone())]).await?;
    cx.tx.delete("node_tag", &[("node_id", id.clone())]).await?;
    sessions::end_node_sessions(cx, node_id).await?;
    ops::nodes::soft_delete(&mut cx.tx, node_id, crate::now()).await?;
    Ok(())
}

pub async fn delete_node(cx: &mut Cx<'_>, node_id_or_hostname: IdOrName) -> MethodResult<Done> {
    let node = writable_node(cx, &node_id_or_hostname, "delete").await?;
    delete_node_rows(cx, node.node_id).await?;
    cx.note(format!("Node {} deleted", node.hostname), vec![("Node", node.node_id)]);
    Ok(common::one())
}

/// The number of interfaces a node has (AddInterface makes the first one primary).
pub async fn interface_count(cx: &mut Cx<'_>, node_id: i64) -> MethodResult<i64> {
    Ok(ops::nodes::interface_count(&mut cx.tx, node_id).await?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn hrn_escapes_dots() {
        assert_eq!(super::node_hrn("planetlab.test", "pl", "n1.example.org"), "planetlab.test.pl.n1\\.example\\.org");
    }
}
