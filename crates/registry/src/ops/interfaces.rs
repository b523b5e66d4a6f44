//! Interfaces and their settings (docs/plc-api.md §4 Interface, InterfaceTag).

use super::{any_row, first, get};
use crate::{Result, SqlValue, Tx};

/// One interface setting (an interface tag with its type's category and name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub category: String,
    pub tagname: String,
    pub value: String,
}

/// Whether the node has a primary interface other than `interface_id`.
pub async fn other_primary(tx: &mut Tx, node_id: i64, interface_id: i64) -> Result<bool> {
    any_row(
        tx,
        "SELECT interface_id FROM interfaces WHERE node_id = $1 AND is_primary = 1 AND interface_id <> $2",
        &[SqlValue::int(node_id), SqlValue::int(interface_id)],
    )
    .await
}

/// The live node an interface belongs to (tags written on the interface are checked against
/// it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerNode {
    pub node_id: i64,
    pub hostname: String,
    pub site_id: i64,
}

/// The live node of interface `interface_id`; `None` when there is no such interface or its
/// node is deleted.
pub async fn live_node_of(tx: &mut Tx, interface_id: i64) -> Result<Option<OwnerNode>> {
    first(
        tx,
        concat!(
            "SELECT t.node_id, t.hostname, t.site_id FROM interfaces i JOIN nodes t ON t.node_id = i.node_id \
             WHERE i.interface_id = $1 AND ",
            node_live!("t")
        ),
        &[SqlValue::int(interface_id)],
        |r| Ok(OwnerNode { node_id: get(r, "node_id")?, hostname: get(r, "hostname")?, site_id: get(r, "site_id")? }),
    )
    .await
}

/// Whether the interface has a setting of tag type `tag_type_id`.
pub async fn has_tag(tx: &mut Tx, interface_id: i64, tag_type_id: i64) -> Result<bool> {
    any_row(
        tx,
        "SELECT interface_tag_id FROM interface_tag WHERE interface_id = $1 AND tag_type_id = $2",
        &[SqlValue::int(interface_id), SqlValue::int(tag_type_id)],
    )
    .await
}
