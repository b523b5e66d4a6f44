//! Tag types, node tags and interface tags (docs/plc-api.md §4.3, §4.4, §4.9), and the rules for who
//! may write a tag (upstream's `AuthorizeHelpers`).

use super::common::{self, collect, columns, find, find_one};
use crate::args::{Done, Fields, IdOrName};
use crate::caller::Caller;
use crate::context::Cx;
use crate::fault::{Fault, MethodResult};
use crate::roles::Role;
use bootmedium_registry::views::{INTERFACE_TAG, NODE, NODE_TAG, TAG_TYPE};
use bootmedium_registry::{SqlValue, WriteOp, ops};

/// A tag type as the permission checks need it.
pub struct TagType {
    pub id: i64,
    pub tagname: String,
    pub roles: Vec<String>,
}

pub async fn tag_type(cx: &mut Cx<'_>, key: &IdOrName) -> MethodResult<TagType> {
    let r = find_one(cx, &TAG_TYPE, key, &["tag_type_id", "tagname", "roles"], "tag type").await?;
    Ok(TagType {
        id: r.int("tag_type_id").unwrap_or(0),
        tagname: r.text("tagname").unwrap_or_default().to_string(),
        roles: r.text_list("roles").to_vec(),
    })
}

fn check_tagname(name: &str) -> MethodResult<()> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) {
        return Err(Fault::invalid(format!("Invalid tag name {name:?}: letters, digits, '_', '-' and '.' only")));
    }
    Ok(())
}

/// Categories name `plnode.txt` lines (`### Category : c`, `C_TAGNAME="v"`): same alphabet as
/// tag names, plus `/`.
fn check_category(written: &[super::common::Written]) -> MethodResult<()> {
    if let Some(c) = find(written, "category").and_then(|w| w.text())
        && (c.is_empty() || !c.chars().all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '/' | '_' | '-' | '.')))
    {
        return Err(Fault::invalid(format!("Invalid category {c:?}: letters, digits, '/', '_', '-' and '.' only")));
    }
    Ok(())
}

pub async fn add_tag_type(cx: &mut Cx<'_>, tag_type_fields: Fields) -> MethodResult<i64> {
    let (written, _) = collect(&TAG_TYPE, WriteOp::Add, &cx.caller, &[], &tag_type_fields)?;
    check_category(&written)?;
    let Some(name) = find(&written, "tagname").and_then(|w| w.text()).map(str::to_string) else {
        return Err(Fault::invalid("tagname must be specified and cannot be unset in class TagType"));
    };
    check_tagname(&name)?;
    if ops::tags::tag_type_id(&mut cx.tx, &name).await?.is_some() {
        return Err(Fault::invalid("Tag type name already in use"));
    }
    let id = cx.tx.insert("tag_types", "tag_type_id", &columns(&written)).await?;
    cx.note(format!("Tag type {id} added"), vec![("TagType", id)]);
    Ok(id)
}

pub async fn update_tag_type(
    cx: &mut Cx<'_>,
    tag_type_id_or_name: IdOrName,
    tag_type_fields: Fields,
) -> MethodResult<Done> {
    let tt = tag_type(cx, &tag_type_id_or_name).await?;
    let (written, _) = collect(&TAG_TYPE, WriteOp::Update, &cx.caller, &[], &tag_type_fields)?;
    check_category(&written)?;
    if let Some(name) = find(&written, "tagname").and_then(|w| w.text()) {
        check_tagname(name)?;
        let taken = ops::tags::tagname_taken(&mut cx.tx, name, tt.id).await?;
        if taken {
            return Err(Fault::invalid("Tag type name already in use"));
        }
    }
    cx.tx.update("tag_types", "tag_type_id", SqlValue::int(tt.id), &columns(&written)).await?;
    cx.note(format!("Tag type {} updated", tt.id), vec![("TagType", tt.id)]);
    Ok(common::one())
}

pub async fn delete_tag_type(cx: &mut Cx<'_>, tag_type_id_or_name: IdOrName) -> MethodResult<Done> {
    let tt = tag_type(cx, &tag_type_id_or_name).await?;
    let id = SqlValue::int(tt.id);
    cx.tx.delete("node_tag", &[("tag_type_id", id.clone())]).await?;
    cx.tx.delete("interface_tag", &[("tag_type_id", id.clone())]).await?;
    cx.tx.delete("nodegroups", &[("tag_type_id", id.clone())]).await?;
    cx.tx.delete("tag_type_role", &[("tag_type_id", id.clone())]).await?;
    cx.tx.delete("tag_types", &[("tag_type_id", id)]).await?;
    cx.note(format!("Tag type {} deleted", tt.id), vec![("TagType", tt.id)]);
    Ok(common::one())
}

pub async fn add_role_to_tag_type(
    cx: &mut Cx<'_>,
    role_id_or_name: IdOrName,
    tag_type_id_or_name: IdOrName,
) -> MethodResult<Done> {
    let (role, _) = common::role(cx, &role_id_or_name).await?;
    let tt = tag_type(cx, &tag_type_id_or_name).await?;
    let present = ops::tags::tag_type_has_role(&mut cx.tx, tt.id, role).await?;
    if !present {
        cx.tx
            .insert_plain("tag_type_role", &[("tag_type_id", SqlValue::int(tt.id)), ("role_id", SqlValue::int(role))])
            .await?;
    }
    cx.note(format!("Role {role} added to tag type {}", tt.id), vec![("TagType", tt.id)]);
    Ok(common::one())
}

pub async fn delete_role_from_tag_type(
    cx: &mut Cx<'_>,
    role_id_or_name: IdOrName,
    tag_type_id_or_name: IdOrName,
) -> MethodResult<Done> {
    let (role, _) = common::role(cx, &role_id_or_name).await?;
    let tt = tag_type(cx, &tag_type_id_or_name).await?;
    cx.tx.delete("tag_type_role", &[("tag_type_id", SqlValue::int(tt.id)), ("role_id", SqlValue::int(role))]).await?;
    cx.note(format!("Role {role} deleted from tag type {}", tt.id), vec![("TagType", tt.id)]);
    Ok(common::one())
}

/// The node a tag is written on, as the permission check needs it.
pub struct TaggedNode {
    pub node_id: i64,
    pub hostname: String,
    pub site_id: i64,
}

pub async fn tagged_node(cx: &mut Cx<'_>, key: &IdOrName) -> MethodResult<TaggedNode> {
    let r = find_one(cx, &NODE, key, &["node_id", "hostname", "site_id"], "node").await?;
    Ok(TaggedNode {
        node_id: r.int("node_id").unwrap_or(0),
        hostname: r.text("hostname").unwrap_or_default().to_string(),
        site_id: r.int("site_id").unwrap_or(0),
    })
}

fn caller_roles(caller: &Caller) -> Vec<String> {
    match caller {
        Caller::Person(p) => p.roles.clone(),
        Caller::Node(_) => vec![Role::Node.name().to_string()],
        Caller::Anonymous => vec![],
    }
}

/// Admins may write any tag; others need one of the tag type's roles, and then a node may
/// write its own tags only (interface tags: of its own interfaces), a person those of objects at
/// their sites (upstream's `caller_may_write_node_tag`: a node is no person of its site).
pub fn may_write_tag(
    caller: &Caller,
    tt: &TagType,
    site_id: i64,
    node_id: Option<i64>,
    what: &str,
    name: &str,
) -> MethodResult<()> {
    if caller.is_admin() {
        return Ok(());
    }
    if !caller_roles(caller).iter().any(|r| tt.roles.contains(r)) {
        return Err(Fault::denied(format!("Role mismatch for writing tag {}", tt.tagname)));
    }
    let allowed = match caller {
        Caller::Node(n) => node_id == Some(n.node_id),
        _ => caller.at_site(site_id),
    };
    if !allowed {
        return Err(Fault::denied(format!("Writing {what} tag: must belong in the same site as {name}")));
    }
    Ok(())
}

/// A tag value's limit is the same for node and interface tags (the description's `value`).
fn check_value(v: &str) -> MethodResult<()> {
    common::check_text(&NODE_TAG, "value", v)
}

/// Sets (adds or replaces) a node tag without permission checks.
pub async fn store_node_tag(cx: &mut Cx<'_>, node_id: i64, tag_type_id: i64, value: &str) -> MethodResult<i64> {
    check_value(value)?;
    let existing = ops::tags::node_tag_id(&mut cx.tx, node_id, tag_type_id).await?;
    if let Some(id) = existing {
        cx.tx.update("node_tag", "node_tag_id", SqlValue::int(id), &[("value", SqlValue::text(value))]).await?;
        return Ok(id);
    }
    Ok(cx
        .tx
        .insert(
            "node_tag",
            "node_tag_id",
            &[
                ("node_id", SqlValue::int(node_id)),
                ("tag_type_id", SqlValue::int(tag_type_id)),
                ("value", SqlValue::text(value)),
            ],
        )
        .await?)
}

pub async fn add_node_tag(
    cx: &mut Cx<'_>,
    node_id_or_hostname: IdOrName,
    tag_type_id_or_name: IdOrName,
    value: String,
) -> MethodResult<i64> {
    let node = tagged_node(cx, &node_id_or_hostname).await?;
    let tt = tag_type(cx, &tag_type_id_or_name).await?;
    let dup = ops::tags::node_tag_id(&mut cx.tx, node.node_id, tt.id).await?.is_some();
    if dup {
        return Err(Fault::invalid(format!("Node {} already has tag {}", node.node_id, tt.id)));
    }
    may_write_tag(&cx.caller, &tt, node.site_id, Some(node.node_id), "node", &node.hostname)?;
    let id = store_node_tag(cx, node.node_id, tt.id, &value).await?;
    cx.note(format!("Node tag {id} added"), vec![("Node", node.node_id), ("NodeTag", id)]);
    Ok(id)
}

async fn node_tag(cx: &mut Cx<'_>, node_tag_id: i64) -> MethodResult<(TaggedNode, TagType)> {
    let key = IdOrName::Id(node_tag_id);
    let r = find_one(cx, &NODE_TAG, &key, &["node_id", "tag_type_id"], "node tag").await?;
    let node = tagged_node(cx, &IdOrName::Id(r.int("node_id").unwrap_or(0))).await?;
    let tt = tag_type(cx, &IdOrName::Id(r.int("tag_type_id").unwrap_or(0))).await?;
    Ok((node, tt))
}

pub async fn update_node_tag(cx: &mut Cx<'_>, node_tag_id: i64, value: String) -> MethodResult<Done> {
    let id = node_tag_id;
    let (node, tt) = node_tag(cx, id).await?;
    check_value(&value)?;
    may_write_tag(&cx.caller, &tt, node.site_id, Some(node.node_id), "node", &node.hostname)?;
    cx.tx.update("node_tag", "node_tag_id", SqlValue::int(id), &[("value", SqlValue::text(value))]).await?;
    cx.note(format!("Node tag {id} updated"), vec![("Node", node.node_id), ("NodeTag", id)]);
    Ok(common::one())
}

pub async fn delete_node_tag(cx: &mut Cx<'_>, node_tag_id: i64) -> MethodResult<Done> {
    let id = node_tag_id;
    let (node, tt) = node_tag(cx, id).await?;
    may_write_tag(&cx.caller, &tt, node.site_id, Some(node.node_id), "node", &node.hostname)?;
    cx.tx.delete("node_tag", &[("node_tag_id", SqlValue::int(id))]).await?;
    cx.note(format!("Node tag {id} deleted"), vec![("Node", node.node_id), ("NodeTag", id)]);
    Ok(common::one())
}

/// The interface a tag is written on, with its node's site.
async fn tagged_interface(cx: &mut Cx<'_>, interface_id: i64) -> MethodResult<(i64, TaggedNode)> {
    let n = ops::interfaces::live_node_of(&mut cx.tx, interface_id)
        .await?
        .ok_or_else(|| Fault::invalid(format!("No such interface {interface_id}")))?;
    Ok((interface_id, TaggedNode { node_id: n.node_id, hostname: n.hostname, site_id: n.site_id }))
}

/// Interface tag values end up in plnode.txt (`<CATEGORY>_<NAME>="value"`), which bash and the
/// BootManager read: refuse what could break out of the quotes or the line.
pub fn check_interface_tag_value(value: &str) -> MethodResult<()> {
    check_value(value)?;
    if let Some(c) = value.chars().find(|c| matches!(c, '"' | '\'' | '\\' | '$' | '`') || c.is_control()) {
        return Err(Fault::invalid_named("value", format!("character {c:?} is not allowed in interface settings")));
    }
    Ok(())
}

pub async fn store_interface_tag(
    cx: &mut Cx<'_>,
    interface_id: i64,
    tag_type_id: i64,
    value: &str,
) -> MethodResult<i64> {
    check_interface_tag_value(value)?;
    Ok(cx
        .tx
        .insert(
            "interface_tag",
            "interface_tag_id",
            &[
                ("interface_id", SqlValue::int(interface_id)),
                ("tag_type_id", SqlValue::int(tag_type_id)),
                ("value", SqlValue::text(value)),
            ],
        )
        .await?)
}

pub async fn add_interface_tag(
    cx: &mut Cx<'_>,
    interface_id: i64,
    tag_type_id_or_name: IdOrName,
    value: String,
) -> MethodResult<i64> {
    let (interface_id, node) = tagged_interface(cx, interface_id).await?;
    let tt = tag_type(cx, &tag_type_id_or_name).await?;
    let dup = ops::interfaces::has_tag(&mut cx.tx, interface_id, tt.id).await?;
    if dup {
        return Err(Fault::invalid(format!("Interface {interface_id} already has setting {}", tt.id)));
    }
    may_write_tag(&cx.caller, &tt, node.site_id, Some(node.node_id), "interface", &node.hostname)?;
    let id = store_interface_tag(cx, interface_id, tt.id, &value).await?;
    cx.note(format!("Interface tag {id} added"), vec![("Interface", interface_id), ("InterfaceTag", id)]);
    Ok(id)
}

async fn interface_tag(cx: &mut Cx<'_>, interface_tag_id: i64) -> MethodResult<(i64, TaggedNode, TagType)> {
    let key = IdOrName::Id(interface_tag_id);
    let r = find_one(cx, &INTERFACE_TAG, &key, &["interface_id", "tag_type_id"], "interface tag").await?;
    let (interface_id, node) = tagged_interface(cx, r.int("interface_id").unwrap_or(0)).await?;
    let tt = tag_type(cx, &IdOrName::Id(r.int("tag_type_id").unwrap_or(0))).await?;
    Ok((interface_id, node, tt))
}

pub async fn update_interface_tag(cx: &mut Cx<'_>, interface_tag_id: i64, value: String) -> MethodResult<Done> {
    let id = interface_tag_id;
    let (interface_id, node, tt) = interface_tag(cx, id).await?;
    check_interface_tag_value(&value)?;
    may_write_tag(&cx.caller, &tt, node.site_id, Some(node.node_id), "interface", &node.hostname)?;
    cx.tx.update("interface_tag", "interface_tag_id", SqlValue::int(id), &[("value", SqlValue::text(value))]).await?;
    cx.note(format!("Interface tag {id} updated"), vec![("Interface", interface_id), ("InterfaceTag", id)]);
    Ok(common::one())
}

pub async fn delete_interface_tag(cx: &mut Cx<'_>, interface_tag_id: i64) -> MethodResult<Done> {
    let id = interface_tag_id;
    let (interface_id, node, tt) = interface_tag(cx, id).await?;
    may_write_tag(&cx.caller, &tt, node.site_id, Some(node.node_id), "interface", &node.hostname)?;
    cx.tx.delete("interface_tag", &[("interface_tag_id", SqlValue::int(id))]).await?;
    cx.note(format!("Interface tag {id} deleted"), vec![("Interface", interface_id), ("InterfaceTag", id)]);
    Ok(common::one())
}
