//! Upstream field sets (docs/plc-api.md §4): what an admin's Get* returns when no return_fields
//! are given.

pub const SITE_FIELDS: &[&str] = &[
    "site_id",
    "name",
    "abbreviated_name",
    "login_base",
    "is_public",
    "enabled",
    "latitude",
    "longitude",
    "url",
    "date_created",
    "last_updated",
    "max_slices",
    "max_slivers",
    "person_ids",
    "slice_ids",
    "address_ids",
    "pcu_ids",
    "node_ids",
    "site_tag_ids",
    "peer_id",
    "peer_site_id",
    "ext_consortium_id",
];
pub const PERSON_FIELDS: &[&str] = &[
    "person_id",
    "first_name",
    "last_name",
    "title",
    "email",
    "phone",
    "url",
    "bio",
    "enabled",
    "verification_key",
    "verification_expires",
    "last_updated",
    "date_created",
    "role_ids",
    "roles",
    "site_ids",
    "key_ids",
    "slice_ids",
    "peer_id",
    "peer_person_id",
    "person_tag_ids",
];
/// Admin view; other callers get it without [`NODE_ADMIN_ONLY`].
pub const NODE_FIELDS: &[&str] = &[
    "node_id",
    "node_type",
    "hostname",
    "site_id",
    "boot_state",
    "run_level",
    "model",
    "boot_nonce",
    "version",
    "ssh_rsa_key",
    "key",
    "session",
    "verified",
    "date_created",
    "last_updated",
    "last_contact",
    "last_boot",
    "last_download",
    "last_pcu_reboot",
    "last_pcu_confirmation",
    "last_time_spent_online",
    "last_time_spent_offline",
    "interface_ids",
    "conf_file_ids",
    "slice_ids",
    "slice_ids_whitelist",
    "pcu_ids",
    "ports",
    "node_tag_ids",
    "nodegroup_ids",
    "peer_id",
    "peer_node_id",
];
pub const NODE_ADMIN_ONLY: &[&str] = &["key", "session", "boot_nonce"];
pub const INTERFACE_FIELDS: &[&str] = &[
    "interface_id",
    "node_id",
    "is_primary",
    "type",
    "method",
    "ip",
    "mac",
    "gateway",
    "network",
    "broadcast",
    "netmask",
    "dns1",
    "dns2",
    "hostname",
    "bwlimit",
    "interface_tag_ids",
    "last_updated",
];
pub const INTERFACE_TAG_FIELDS: &[&str] =
    &["interface_tag_id", "interface_id", "ip", "tag_type_id", "tagname", "description", "category", "value"];
pub const NODE_TAG_FIELDS: &[&str] =
    &["node_tag_id", "node_id", "hostname", "tag_type_id", "value", "tagname", "description", "category"];
pub const NODEGROUP_FIELDS: &[&str] =
    &["nodegroup_id", "groupname", "tag_type_id", "value", "tagname", "conf_file_ids", "node_ids"];
pub const TAG_TYPE_FIELDS: &[&str] = &["tag_type_id", "tagname", "description", "category", "role_ids", "roles"];
pub const EVENT_FIELDS: &[&str] = &[
    "event_id",
    "person_id",
    "node_id",
    "auth_type",
    "fault_code",
    "call_name",
    "call",
    "message",
    "runtime",
    "time",
    "object_ids",
    "object_types",
];

/// `NODE_FIELDS` without the admin-only ones.
pub fn node_fields_non_admin() -> Vec<&'static str> {
    NODE_FIELDS.iter().copied().filter(|f| !NODE_ADMIN_ONLY.contains(f)).collect()
}
