//! The boot server's plain pages (docs/plc-api.md §12.4, §7.2), the domain half: which node a
//! request comes from, the nonce a keyless node sends, which BootManager payload it gets, and
//! `getnodeid.php`'s lookup. The HTTP half (forms, client address, streaming) is the server's.
//!
//! A node is found by an interface whose `ip` is the request's client address, among live
//! (not deleted) local (not a peer's) nodes. Where upstream takes the first of several nodes
//! sharing the address (nodes behind one NAT), this answers only what concerns none of them in
//! particular: the `regular` payload, no nonce stored.

use crate::api::Api;
use crate::bootmanager::{PayloadName, PayloadStore};
use crate::context::blocking;
use crate::fault::{Fault, MethodResult};
use bootmedium_registry::{Tx, ops};
use std::fs::File;
use std::net::IpAddr;

/// The node a request's address belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeAtAddress {
    /// No live local node has an interface with this address.
    Unknown,
    /// One node.
    Node(BootNode),
    /// Several nodes share it (their ids, for the log).
    Several(Vec<i64>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootNode {
    pub node_id: i64,
    pub hostname: String,
    /// Whether the node has a key (then a nonce is not stored).
    pub has_key: bool,
}

/// What `POST /boot/` answers.
#[derive(Debug)]
pub struct BootAnswer {
    pub node: NodeAtAddress,
    /// Whether the request's nonce was stored as the node's `boot_nonce`.
    pub nonce_stored: bool,
    /// The payload chosen, opened, with its length; `None` when the store has none that fits.
    pub payload: Option<(PayloadName, File, u64)>,
}

/// The longest nonce stored (upstream's are 64 hex characters).
pub const MAX_NONCE_CHARS: usize = 128;

/// The nonce as stored: the posted text without its line end, if it is 1–128 hex digits
/// (anything else is ignored: the value is only kept, never used to authenticate).
pub fn valid_nonce(posted: &str) -> Option<&str> {
    let nonce = posted.strip_suffix('\n').unwrap_or(posted);
    let nonce = nonce.strip_suffix('\r').unwrap_or(nonce);
    (!nonce.is_empty() && nonce.len() <= MAX_NONCE_CHARS && nonce.bytes().all(|b| b.is_ascii_hexdigit()))
        .then_some(nonce)
}

/// The address as interfaces store it: IPv4-mapped IPv6 as IPv4.
fn address_text(ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v6.to_string(),
        },
        v4 => v4.to_string(),
    }
}

async fn node_at(tx: &mut Tx, client: IpAddr) -> MethodResult<NodeAtAddress> {
    let nodes = ops::nodes::at_address(tx, &address_text(client)).await?;
    Ok(match nodes.as_slice() {
        [] => NodeAtAddress::Unknown,
        [n] => NodeAtAddress::Node(BootNode {
            node_id: n.node_id,
            hostname: n.hostname.clone(),
            has_key: n.node_key.as_deref().is_some_and(|k| !k.is_empty()),
        }),
        several => NodeAtAddress::Several(several.iter().map(|n| n.node_id).collect()),
    })
}

impl Api {
    /// `POST /boot/` (index.php) from `client`: finds the node, stores `nonce` for a keyless
    /// node, and opens the first of its hostname's, its deployment's and the regular payload
    /// that the store has.
    pub async fn boot_request(&self, client: IpAddr, nonce: Option<&str>) -> MethodResult<BootAnswer> {
        let mut tx = self.registry.begin_read().await?;
        let node = node_at(&mut tx, client).await?;
        let mut names = Vec::new();
        if let NodeAtAddress::Node(n) = &node {
            if let Ok(name) = PayloadName::hostname(&n.hostname) {
                names.push(name);
            }
            // A tag value that is no valid name (`../x`) names no file.
            if let Some(d) = ops::nodes::tag_value(&mut tx, n.node_id, "deployment").await?.filter(|d| !d.is_empty()) {
                match PayloadName::deployment(&d) {
                    Ok(name) => names.push(name),
                    Err(_) if d == "regular" => {}
                    Err(e) => tracing::warn!(node_id = n.node_id, "the node's deployment tag names no payload: {e}"),
                }
            }
        }
        drop(tx);
        let nonce_stored = match (&node, nonce.and_then(valid_nonce)) {
            (NodeAtAddress::Node(n), Some(nonce)) if !n.has_key => self.store_nonce(n.node_id, nonce).await?,
            _ => false,
        };
        let payload = match (&node, &self.bootmanager) {
            (NodeAtAddress::Unknown, _) | (_, None) => None,
            (_, Some(store)) => {
                names.push(PayloadName::Regular);
                open_payload(store, &names)?
            }
        };
        Ok(BootAnswer { node, nonce_stored, payload })
    }

    /// Stores a keyless node's nonce; false when the node has gained a key meanwhile.
    async fn store_nonce(&self, node_id: i64, nonce: &str) -> MethodResult<bool> {
        let mut tx = self.registry.begin_write().await?;
        let stored = ops::nodes::store_boot_nonce(&mut tx, node_id, nonce).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// `getnodeid.php`: the node of the interface with MAC address `mac` (any case; trimmed),
    /// else the node at `client`; `None` when there is no such node or several.
    pub async fn node_id_for(&self, mac: Option<&str>, client: IpAddr) -> MethodResult<Option<i64>> {
        let mut tx = self.registry.begin_read().await?;
        if let Some(mac) = mac.map(str::trim).filter(|m| !m.is_empty())
            && let Ok(mac) = crate::validate::normalise_mac(mac)
        {
            let nodes = ops::nodes::with_mac(&mut tx, &mac).await?;
            match nodes.as_slice() {
                [] => {}
                [node_id] => return Ok(Some(*node_id)),
                _ => return Ok(None),
            }
        }
        Ok(match node_at(&mut tx, client).await? {
            NodeAtAddress::Node(n) => Some(n.node_id),
            NodeAtAddress::Unknown | NodeAtAddress::Several(_) => None,
        })
    }
}

fn open_payload(store: &PayloadStore, names: &[PayloadName]) -> MethodResult<Option<(PayloadName, File, u64)>> {
    blocking(|| store.open_first(names))
        .map_err(|e| Fault::internal(format!("cannot read the payload store {}: {e}", store.dir().display())))
}

#[cfg(test)]
mod tests {
    #[test]
    fn nonces() {
        let upstream = format!("{}\n", "0123456789abcdef".repeat(4));
        assert_eq!(super::valid_nonce(&upstream), Some(&upstream[..64]));
        assert_eq!(super::valid_nonce("ABCDEF\r\n"), Some("ABCDEF"));
        for bad in ["", "\n", "xyz", "ab cd", "ab\n\n", &"a".repeat(129), "'; DROP TABLE nodes; --"] {
            assert_eq!(super::valid_nonce(bad), None, "{bad:?}");
        }
    }
}
