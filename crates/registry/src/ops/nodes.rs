//! Nodes (docs/plc-api.md §4 Node, §12 the node side): callers, keys, boot state, the rows a medium
//! is made from, and the checks the Node methods make before writing.

use super::{all, any_row, first, get};
use crate::{Result, SqlValue, Tx};

/// A live local (not a peer's) node, as a caller or a tag owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalNode {
    pub node_id: i64,
    pub hostname: String,
    pub site_id: i64,
}

/// The live local node `node_id`.
pub async fn local_live(tx: &mut Tx, node_id: i64) -> Result<Option<LocalNode>> {
    first(
        tx,
        concat!(
            "SELECT t.node_id, t.hostname, t.site_id FROM nodes t WHERE t.node_id = $1 AND t.peer_id IS NULL AND ",
            node_live!("t")
        ),
        &[SqlValue::int(node_id)],
        |r| Ok(LocalNode { node_id: get(r, "node_id")?, hostname: get(r, "hostname")?, site_id: get(r, "site_id")? }),
    )
    .await
}

/// The node's key: `None` when there is no such node or it has none.
pub async fn key(tx: &mut Tx, node_id: i64) -> Result<Option<String>> {
    Ok(first(tx, "SELECT node_key FROM nodes WHERE node_id = $1", &[SqlValue::int(node_id)], |r| {
        get::<Option<String>>(r, "node_key")
    })
    .await?
    .flatten())
}

/// A live local node with an interface at some address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressNode {
    pub node_id: i64,
    pub hostname: String,
    pub node_key: Option<String>,
}

/// The live local nodes with an interface whose `ip` is `ip`, by node_id.
pub async fn at_address(tx: &mut Tx, ip: &str) -> Result<Vec<AddressNode>> {
    all(
        tx,
        concat!(
            "SELECT DISTINCT t.node_id, t.hostname, t.node_key FROM interfaces i JOIN nodes t ON t.node_id = i.node_id \
             WHERE i.ip = $1 AND t.peer_id IS NULL AND ",
            node_live!("t"),
            " ORDER BY t.node_id"
        ),
        &[SqlValue::text(ip)],
        |r| {
            Ok(AddressNode {
                node_id: get(r, "node_id")?,
                hostname: get(r, "hostname")?,
                node_key: get(r, "node_key")?,
            })
        },
    )
    .await
}

/// The live local nodes with an interface whose MAC address, lowercased, is `mac`.
pub async fn with_mac(tx: &mut Tx, mac: &str) -> Result<Vec<i64>> {
    all(
        tx,
        concat!(
            "SELECT DISTINCT t.node_id FROM interfaces i JOIN nodes t ON t.node_id = i.node_id \
             WHERE lower(i.mac) = $1 AND t.peer_id IS NULL AND ",
            node_live!("t")
        ),
        &[SqlValue::text(mac)],
        |r| get(r, "node_id"),
    )
    .await
}

/// Stores `nonce` as a live keyless node's `boot_nonce`; false when the node has a key (or
/// is gone), which a conditional UPDATE decides in one statement.
pub async fn store_boot_nonce(tx: &mut Tx, node_id: i64, nonce: &str) -> Result<bool> {
    let changed = tx
        .execute(
            concat!(
                "UPDATE nodes SET boot_nonce = $1 WHERE node_id = $2 AND ",
                node_live!("nodes"),
                " AND (node_key IS NULL OR node_key = '')"
            ),
            &[SqlValue::text(nonce), SqlValue::int(node_id)],
        )
        .await?;
    Ok(changed == 1)
}

/// Takes the node's row lock for the rest of the write transaction (a no-op UPDATE), so that
/// decisions about one node taken side by side (PostgreSQL) see each other's writes.
pub async fn lock(tx: &mut Tx, node_id: i64) -> Result<()> {
    tx.execute("UPDATE nodes SET node_id = node_id WHERE node_id = $1", &[SqlValue::int(node_id)]).await?;
    Ok(())
}

/// What BootUpdateNode compares and updates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootState {
    pub boot_state: String,
    pub ssh_rsa_key: Option<String>,
    pub last_boot: Option<i64>,
    pub last_contact: Option<i64>,
    pub last_pcu_reboot: Option<i64>,
}

/// The node's boot state and contact times.
pub async fn boot_state(tx: &mut Tx, node_id: i64) -> Result<Option<BootState>> {
    first(
        tx,
        "SELECT boot_state, ssh_rsa_key, last_boot, last_contact, last_pcu_reboot FROM nodes WHERE node_id = $1",
        &[SqlValue::int(node_id)],
        |r| {
            Ok(BootState {
                boot_state: get(r, "boot_state")?,
                ssh_rsa_key: get(r, "ssh_rsa_key")?,
                last_boot: get(r, "last_boot")?,
                last_contact: get(r, "last_contact")?,
                last_pcu_reboot: get(r, "last_pcu_reboot")?,
            })
        },
    )
    .await
}

/// What BootGetNodeDetails tells a node of itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Details {
    pub hostname: String,
    pub boot_state: String,
    pub model: Option<String>,
}

pub async fn details(tx: &mut Tx, node_id: i64) -> Result<Option<Details>> {
    first(tx, "SELECT hostname, boot_state, model FROM nodes WHERE node_id = $1", &[SqlValue::int(node_id)], |r| {
        Ok(Details { hostname: get(r, "hostname")?, boot_state: get(r, "boot_state")?, model: get(r, "model")? })
    })
    .await
}

/// Whether a live node other than `except_node_id` has `hostname`.
pub async fn hostname_taken(tx: &mut Tx, hostname: &str, except_node_id: i64) -> Result<bool> {
    any_row(
        tx,
        concat!("SELECT t.node_id FROM nodes t WHERE t.hostname = $1 AND ", node_live!("t"), " AND t.node_id <> $2"),
        &[SqlValue::text(hostname), SqlValue::int(except_node_id)],
    )
    .await
}

/// Whether a live node has type `node_type`.
pub async fn type_in_use(tx: &mut Tx, node_type: &str) -> Result<bool> {
    any_row(
        tx,
        concat!("SELECT 1 FROM nodes t WHERE t.node_type = $1 AND ", node_live!("t")),
        &[SqlValue::text(node_type)],
    )
    .await
}

/// Moves every node of type `node_type` (soft-deleted ones keep their foreign key) to
/// `regular`; returns how many.
pub async fn move_to_regular_type(tx: &mut Tx, node_type: &str) -> Result<u64> {
    tx.execute("UPDATE nodes SET node_type = 'regular' WHERE node_type = $1", &[SqlValue::text(node_type)]).await
}

/// Deletes the tags of the node's interfaces; returns how many.
pub async fn delete_interface_tags(tx: &mut Tx, node_id: i64) -> Result<u64> {
    tx.execute(
        "DELETE FROM interface_tag WHERE interface_id IN (SELECT interface_id FROM interfaces WHERE node_id = $1)",
        &[SqlValue::int(node_id)],
    )
    .await
}

/// How many interfaces the node has.
pub async fn interface_count(tx: &mut Tx, node_id: i64) -> Result<i64> {
    Ok(first(tx, "SELECT COUNT(*) AS n FROM interfaces WHERE node_id = $1", &[SqlValue::int(node_id)], |r| get(r, "n"))
        .await?
        .unwrap_or(0))
}

/// What storing a new key tells (`ops::ledger::record`): the node's new key generation and its
/// site now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredKey {
    pub key_generation: i64,
    pub site_id: i64,
}

/// One of a node's tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub tagname: String,
    pub value: String,
}

/// A node's tags and the names of the node groups they place it in (ordered by nodegroup_id).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TagsAndGroups {
    pub tags: Vec<Tag>,
    pub groups: Vec<String>,
}

/// The node's value of tag `tagname`, if set.
pub async fn tag_value(tx: &mut Tx, node_id: i64, tagname: &str) -> Result<Option<String>> {
    first(
        tx,
        "SELECT nt.value FROM node_tag nt JOIN tag_types tt ON tt.tag_type_id = nt.tag_type_id \
         WHERE nt.node_id = $1 AND tt.tagname = $2",
        &[SqlValue::int(node_id), SqlValue::text(tagname)],
        |r| get(r, "value"),
    )
    .await
}

/// One of a node's interfaces, as a medium's configuration needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub interface_id: i64,
    pub is_primary: bool,
    pub network: Network,
}

/// An interface's addressing, as a node's configuration file states it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Network {
    pub method: String,
    pub mac: Option<String>,
    pub ip: Option<String>,
    pub gateway: Option<String>,
    pub netmask: Option<String>,
    pub network: Option<String>,
    pub broadcast: Option<String>,
    pub dns1: Option<String>,
    pub dns2: Option<String>,
}

/// An interface with its settings (interface tags).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceWithSettings {
    pub interface: Interface,
    pub settings: Vec<super::interfaces::Setting>,
}

/// Which node: by id or by hostname.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKey<'a> {
    Id(i64),
    Hostname(&'a str),
}

/// A live node (a peer's too) with everything its media are made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediumNode {
    pub node_id: i64,
    pub hostname: String,
    pub site_id: i64,
    pub node_type: String,
    pub peer_id: Option<i64>,
    pub tags: TagsAndGroups,
    /// The primary interface first, each with its settings in the order they were made.
    pub interfaces: Vec<InterfaceWithSettings>,
}

/// The statement behind [`medium_node`] for the node condition `$node` (on `nodes`): the node,
/// its tags with the node groups they select, and its interfaces with their settings, as the
/// parts of one UNION ALL (the same text on both backends). `part` says which; `k1`–`k3` order
/// each part (an interface's `k1` is 0 for the primary one, so it comes first).
macro_rules! medium_node_sql {
    ($node:literal) => {
        concat!(
            "WITH n AS (SELECT node_id, hostname, site_id, node_type, peer_id FROM nodes WHERE ",
            $node,
            " AND ",
            node_live!("nodes"),
            ") ",
            "SELECT CAST(0 AS BIGINT) AS part, n.node_id AS k1, CAST(NULL AS BIGINT) AS k2, CAST(NULL AS BIGINT) AS k3, \
             n.site_id AS n1, n.peer_id AS n2, n.hostname AS t1, n.node_type AS t2, CAST(NULL AS TEXT) AS t3, \
             CAST(NULL AS TEXT) AS t4, CAST(NULL AS TEXT) AS t5, CAST(NULL AS TEXT) AS t6, CAST(NULL AS TEXT) AS t7, \
             CAST(NULL AS TEXT) AS t8, CAST(NULL AS TEXT) AS t9, CAST(NULL AS TEXT) AS t10, CAST(NULL AS TEXT) AS t11, \
             CAST(NULL AS TEXT) AS t12 FROM n ",
            "UNION ALL SELECT 1, nt.node_tag_id, ng.nodegroup_id, NULL, NULL, NULL, tt.tagname, nt.value, ng.groupname, \
             NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM n JOIN node_tag nt ON nt.node_id = n.node_id \
             JOIN tag_types tt ON tt.tag_type_id = nt.tag_type_id \
             LEFT JOIN nodegroups ng ON ng.tag_type_id = nt.tag_type_id AND ng.value = nt.value ",
            "UNION ALL SELECT 2, 1 - i.is_primary, i.interface_id, it.interface_tag_id, NULL, NULL, i.method, i.mac, i.ip, \
             i.gateway, i.netmask, i.network, i.broadcast, i.dns1, i.dns2, tt.category, tt.tagname, it.value \
             FROM n JOIN interfaces i ON i.node_id = n.node_id \
             LEFT JOIN interface_tag it ON it.interface_id = i.interface_id \
             LEFT JOIN tag_types tt ON tt.tag_type_id = it.tag_type_id ",
            "ORDER BY part, k1, k2, k3"
        )
    };
}

/// The live node `key` names, with its tags, node groups and interfaces: everything a medium
/// or a configuration file is made from, in one statement.
pub async fn medium_node(tx: &mut Tx, key: NodeKey<'_>) -> Result<Option<MediumNode>> {
    let rows = match key {
        NodeKey::Id(id) => tx.rows(medium_node_sql!("node_id = $1"), &[SqlValue::int(id)]).await?,
        NodeKey::Hostname(h) => tx.rows(medium_node_sql!("hostname = $1"), &[SqlValue::text(h)]).await?,
    };
    let mut node: Option<MediumNode> = None;
    let mut last_tag = None;
    let mut groups: Vec<(i64, String)> = Vec::new();
    for r in &rows {
        match (get::<i64>(r, "part")?, node.as_mut()) {
            (0, _) => {
                node = Some(MediumNode {
                    node_id: get(r, "k1")?,
                    hostname: get(r, "t1")?,
                    site_id: get(r, "n1")?,
                    node_type: get(r, "t2")?,
                    peer_id: get(r, "n2")?,
                    tags: TagsAndGroups::default(),
                    interfaces: Vec::new(),
                })
            }
            (1, Some(node)) => {
                let id: i64 = get(r, "k1")?;
                if last_tag != Some(id) {
                    node.tags.tags.push(Tag { tagname: get(r, "t1")?, value: get(r, "t2")? });
                    last_tag = Some(id);
                }
                let group: Option<i64> = get(r, "k2")?;
                groups.extend(group.zip(get::<Option<String>>(r, "t3")?));
            }
            (2, Some(node)) => {
                let interface_id: i64 = get(r, "k2")?;
                let same = node.interfaces.last().is_some_and(|last| last.interface.interface_id == interface_id);
                if !same {
                    let network = Network {
                        method: get(r, "t1")?,
                        mac: get(r, "t2")?,
                        ip: get(r, "t3")?,
                        gateway: get(r, "t4")?,
                        netmask: get(r, "t5")?,
                        network: get(r, "t6")?,
                        broadcast: get(r, "t7")?,
                        dns1: get(r, "t8")?,
                        dns2: get(r, "t9")?,
                    };
                    let is_primary = get::<i64>(r, "k1")? == 0;
                    let interface = Interface { interface_id, is_primary, network };
                    node.interfaces.push(InterfaceWithSettings { interface, settings: Vec::new() });
                }
                if let (Some(category), Some(tagname), Some(value), Some(last)) =
                    (get(r, "t10")?, get(r, "t11")?, get(r, "t12")?, node.interfaces.last_mut())
                {
                    last.settings.push(super::interfaces::Setting { category, tagname, value });
                }
            }
            // The node's own row sorts first: without it, the node is not live.
            _ => return Ok(None),
        }
    }
    if let Some(node) = &mut node {
        groups.sort_unstable_by_key(|(id, _)| *id);
        groups.dedup_by_key(|(id, _)| *id);
        node.tags.groups = groups.into_iter().map(|(_, name)| name).collect();
    }
    Ok(node)
}

/// Marks node `node_id` deleted (out of its class's `live` condition) as of `now`; the row
/// stays for the event log and foreign keys. Returns how many rows changed.
pub async fn soft_delete(tx: &mut Tx, node_id: i64, now: i64) -> Result<u64> {
    tx.update(
        "nodes",
        "node_id",
        SqlValue::int(node_id),
        &[("deleted", SqlValue::int(1)), ("last_updated", SqlValue::int(now))],
    )
    .await
}
