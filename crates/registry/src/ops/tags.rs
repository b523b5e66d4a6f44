//! Tag types, node tags and node groups (docs/plc-api.md §4 TagType, NodeTag, NodeGroup).

use super::{any_row, first, get};
use crate::{Result, SqlValue, Tx};

/// The id of tag type `tagname`, if it exists.
pub async fn tag_type_id(tx: &mut Tx, tagname: &str) -> Result<Option<i64>> {
    first(tx, "SELECT tag_type_id FROM tag_types WHERE tagname = $1", &[SqlValue::text(tagname)], |r| {
        get(r, "tag_type_id")
    })
    .await
}

/// Whether a tag type other than `except_tag_type_id` is named `tagname`.
pub async fn tagname_taken(tx: &mut Tx, tagname: &str, except_tag_type_id: i64) -> Result<bool> {
    any_row(
        tx,
        "SELECT tag_type_id FROM tag_types WHERE tagname = $1 AND tag_type_id <> $2",
        &[SqlValue::text(tagname), SqlValue::int(except_tag_type_id)],
    )
    .await
}

/// Whether role `role_id` may write tags of type `tag_type_id`.
pub async fn tag_type_has_role(tx: &mut Tx, tag_type_id: i64, role_id: i64) -> Result<bool> {
    any_row(
        tx,
        "SELECT role_id FROM tag_type_role WHERE tag_type_id = $1 AND role_id = $2",
        &[SqlValue::int(tag_type_id), SqlValue::int(role_id)],
    )
    .await
}

/// The id of the node's tag of type `tag_type_id`, if set.
pub async fn node_tag_id(tx: &mut Tx, node_id: i64, tag_type_id: i64) -> Result<Option<i64>> {
    first(
        tx,
        "SELECT node_tag_id FROM node_tag WHERE node_id = $1 AND tag_type_id = $2",
        &[SqlValue::int(node_id), SqlValue::int(tag_type_id)],
        |r| get(r, "node_tag_id"),
    )
    .await
}

/// Whether a node group other than `except_nodegroup_id` is named `groupname`.
pub async fn groupname_taken(tx: &mut Tx, groupname: &str, except_nodegroup_id: i64) -> Result<bool> {
    any_row(
        tx,
        "SELECT nodegroup_id FROM nodegroups WHERE groupname = $1 AND nodegroup_id <> $2",
        &[SqlValue::text(groupname), SqlValue::int(except_nodegroup_id)],
    )
    .await
}
