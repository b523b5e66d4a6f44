//! Node groups (§4.5), node types (§4.6), the reference lists (roles, boot states, network
//! methods and types) and the event log (§4.10).
//!
//! Section numbers (§N) refer to docs/plc-api.md.

use super::common::{self, collect, columns, find, find_one};
use super::tags;
use crate::args::{Done, Fields, IdOrName};
use crate::context::Cx;
use crate::fault::{Fault, MethodResult};
use bootmedium_registry::views::{NODE_GROUP, ROLE};
use bootmedium_registry::{Row, SqlValue, WriteOp, ops};

async fn groupname_free(cx: &mut Cx<'_>, name: &str, except: i64) -> MethodResult<()> {
    if name.trim().is_empty() {
        return Err(Fault::invalid("Node group name must be specified"));
    }
    let taken = ops::tags::groupname_taken(&mut cx.tx, name, except).await?;
    if taken {
        return Err(Fault::invalid("Node group name already in use"));
    }
    Ok(())
}

pub async fn add_node_group(
    cx: &mut Cx<'_>,
    groupname: String,
    tag_type_id_or_name: IdOrName,
    value: String,
) -> MethodResult<i64> {
    common::check_text(&NODE_GROUP, "groupname", &groupname)?;
    groupname_free(cx, &groupname, 0).await?;
    let tt = tags::tag_type(cx, &tag_type_id_or_name).await?;
    common::check_text(&NODE_GROUP, "value", &value)?;
    let id = cx
        .tx
        .insert(
            "nodegroups",
            "nodegroup_id",
            &[
                ("groupname", SqlValue::text(groupname)),
                ("tag_type_id", SqlValue::int(tt.id)),
                ("value", SqlValue::text(value)),
            ],
        )
        .await?;
    cx.note(format!("Node group {id} created"), vec![("NodeGroup", id)]);
    Ok(id)
}

pub async fn update_node_group(
    cx: &mut Cx<'_>,
    nodegroup_id_or_name: IdOrName,
    nodegroup_fields: Fields,
) -> MethodResult<Done> {
    let g = find_one(cx, &NODE_GROUP, &nodegroup_id_or_name, &["nodegroup_id"], "node group").await?;
    let id = g.int("nodegroup_id").unwrap_or(0);
    let (written, _) = collect(&NODE_GROUP, WriteOp::Update, &cx.caller, &[], &nodegroup_fields)?;
    if let Some(name) = find(&written, "groupname").and_then(|w| w.text()).map(str::to_string) {
        groupname_free(cx, &name, id).await?;
    }
    cx.tx.update("nodegroups", "nodegroup_id", SqlValue::int(id), &columns(&written)).await?;
    cx.note(format!("Node group {id} updated"), vec![("NodeGroup", id)]);
    Ok(common::one())
}

pub async fn delete_node_group(cx: &mut Cx<'_>, nodegroup_id_or_name: IdOrName) -> MethodResult<Done> {
    let g = find_one(cx, &NODE_GROUP, &nodegroup_id_or_name, &["nodegroup_id"], "node group").await?;
    let id = g.int("nodegroup_id").unwrap_or(0);
    cx.tx.delete("nodegroups", &[("nodegroup_id", SqlValue::int(id))]).await?;
    cx.note(format!("Node group {id} deleted"), vec![("NodeGroup", id)]);
    Ok(common::one())
}

pub async fn get_node_types(cx: &mut Cx<'_>) -> MethodResult<Vec<String>> {
    Ok(ops::lookups::node_types(&mut cx.tx).await?)
}

pub async fn get_boot_states(cx: &mut Cx<'_>) -> MethodResult<Vec<String>> {
    Ok(ops::lookups::boot_states(&mut cx.tx).await?)
}

pub async fn get_network_methods(cx: &mut Cx<'_>) -> MethodResult<Vec<String>> {
    Ok(ops::lookups::network_methods(&mut cx.tx).await?)
}

pub async fn get_network_types(cx: &mut Cx<'_>) -> MethodResult<Vec<String>> {
    Ok(ops::lookups::network_types(&mut cx.tx).await?)
}

pub async fn get_roles(cx: &mut Cx<'_>) -> MethodResult<Vec<Row>> {
    common::get(cx, &ROLE, None, None).await
}

pub async fn add_node_type(cx: &mut Cx<'_>, name: String) -> MethodResult<Done> {
    let name = name.as_str();
    common::check_text(&bootmedium_registry::views::NODE, "node_type", name)?;
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(Fault::invalid(format!("Invalid node type name {name:?}")));
    }
    if ops::lookups::node_type_exists(&mut cx.tx, name).await? {
        return Err(Fault::invalid(format!("Node type {name} already exists")));
    }
    cx.tx.insert_plain("node_types", &[("node_type", SqlValue::text(name))]).await?;
    cx.note(format!("Node type {name} added"), vec![]);
    Ok(common::one())
}

pub async fn delete_node_type(cx: &mut Cx<'_>, name: String) -> MethodResult<Done> {
    let name = name.as_str();
    if !ops::lookups::node_type_exists(&mut cx.tx, name).await? {
        return Err(Fault::invalid(format!("No such node type {name}")));
    }
    if ops::nodes::type_in_use(&mut cx.tx, name).await? {
        return Err(Fault::invalid(format!("Node type {name} is in use")));
    }
    // Soft-deleted nodes keep their foreign key; move them to the base type.
    ops::nodes::move_to_regular_type(&mut cx.tx, name).await?;
    cx.tx.delete("node_types", &[("node_type", SqlValue::text(name))]).await?;
    cx.note(format!("Node type {name} deleted"), vec![]);
    Ok(common::one())
}
