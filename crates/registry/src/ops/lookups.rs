//! The lookup tables upstream keeps as enumerations: node types, boot states, network methods
//! and network types (docs/plc-api.md §4: GetNodeTypes, GetBootStates, GetNetworkMethods,
//! GetNetworkTypes).

use super::{all, any_row, get};
use crate::{Result, SqlValue, Tx};

/// Every node type, by name.
pub async fn node_types(tx: &mut Tx) -> Result<Vec<String>> {
    all(tx, "SELECT node_type FROM node_types ORDER BY node_type", &[], |r| get(r, "node_type")).await
}

/// Every boot state, by name.
pub async fn boot_states(tx: &mut Tx) -> Result<Vec<String>> {
    all(tx, "SELECT boot_state FROM boot_states ORDER BY boot_state", &[], |r| get(r, "boot_state")).await
}

/// Every network method, by name.
pub async fn network_methods(tx: &mut Tx) -> Result<Vec<String>> {
    all(tx, "SELECT method FROM network_methods ORDER BY method", &[], |r| get(r, "method")).await
}

/// Every network type, by name.
pub async fn network_types(tx: &mut Tx) -> Result<Vec<String>> {
    all(tx, "SELECT type FROM network_types ORDER BY type", &[], |r| get(r, "type")).await
}

pub async fn node_type_exists(tx: &mut Tx, node_type: &str) -> Result<bool> {
    any_row(tx, "SELECT 1 FROM node_types WHERE node_type = $1", &[SqlValue::text(node_type)]).await
}

pub async fn boot_state_exists(tx: &mut Tx, boot_state: &str) -> Result<bool> {
    any_row(tx, "SELECT 1 FROM boot_states WHERE boot_state = $1", &[SqlValue::text(boot_state)]).await
}

pub async fn network_method_exists(tx: &mut Tx, method: &str) -> Result<bool> {
    any_row(tx, "SELECT 1 FROM network_methods WHERE method = $1", &[SqlValue::text(method)]).await
}

pub async fn network_type_exists(tx: &mut Tx, network_type: &str) -> Result<bool> {
    any_row(tx, "SELECT 1 FROM network_types WHERE type = $1", &[SqlValue::text(network_type)]).await
}
