//! The tag types every PLC has: the node accessors' (docs/plc-api.md §5) and the interface settings'
//! (§4.3: ifname, driver, alias, backdoor, the wifi settings, ipv6 and ovs). Upstream creates them
//! at `plc start` (db-config.d/003-accessors, 030-interface_tags); so do `init` and `serve`.
//!
//! Section numbers (§N) refer to docs/plc-api.md.

use crate::fault::MethodResult;
use crate::roles::{self, Role};
use bootmedium_registry::{Registry, SqlValue, Tx, ops};

/// One standard tag type.
#[derive(Debug, Clone, Copy)]
pub struct TagTypeDef {
    pub tagname: &'static str,
    pub category: &'static str,
    pub description: &'static str,
    /// Roles that may write tags of this type.
    pub roles: &'static [Role],
}

const fn def(
    tagname: &'static str,
    category: &'static str,
    description: &'static str,
    roles: &'static [Role],
) -> TagTypeDef {
    TagTypeDef { tagname, category, description, roles }
}

const ADMIN_TECH: &[Role] = &[Role::Admin, Role::Tech];

/// Interface settings; they become `plnode.txt` lines (§9.3 item 6).
pub static INTERFACE_TAG_TYPES: &[TagTypeDef] = &[
    def("ifname", "interface/config", "linux name", roles::ADMIN_PI_TECH),
    def("driver", "interface/config", "driver name", roles::ADMIN_PI_TECH),
    def("alias", "interface/config", "interface alias", roles::ADMIN_PI_TECH),
    def("backdoor", "interface/hidden", "for testing new features", roles::ADMIN),
    def("mode", "interface/wifi", "Wifi operation mode - see iwconfig", roles::ADMIN_PI_TECH),
    def("essid", "interface/wifi", "Wireless essid - see iwconfig", roles::ADMIN_PI_TECH),
    def("nw", "interface/wifi", "Wireless nw - see iwconfig", roles::ADMIN_PI_TECH),
    def("freq", "interface/wifi", "Wireless freq - see iwconfig", roles::ADMIN_PI_TECH),
    def("channel", "interface/wifi", "Wireless channel - see iwconfig", roles::ADMIN_PI_TECH),
    def("sens", "interface/wifi", "Wireless sens - see iwconfig", roles::ADMIN_PI_TECH),
    def("rate", "interface/wifi", "Wireless rate - see iwconfig", roles::ADMIN_PI_TECH),
    def("key", "interface/wifi", "Wireless key - see iwconfig key", roles::ADMIN_PI_TECH),
    def("key1", "interface/wifi", "Wireless key1 - see iwconfig key[1]", roles::ADMIN_PI_TECH),
    def("key2", "interface/wifi", "Wireless key2 - see iwconfig key[2]", roles::ADMIN_PI_TECH),
    def("key3", "interface/wifi", "Wireless key3 - see iwconfig key[3]", roles::ADMIN_PI_TECH),
    def("key4", "interface/wifi", "Wireless key4 - see iwconfig key[4]", roles::ADMIN_PI_TECH),
    def("securitymode", "interface/wifi", "Wireless securitymode - see iwconfig enc", roles::ADMIN_PI_TECH),
    def("iwconfig", "interface/wifi", "Wireless iwconfig", roles::ADMIN_PI_TECH),
    def("iwpriv", "interface/wifi", "Wireless iwpriv", roles::ADMIN_PI_TECH),
    def("sliversipv6prefix", "interface/ipv6", "IPv6 prefix for slivers", roles::ADMIN_PI_TECH),
    def("ovs_bridge", "interface/ovs", "name of Open vSwitch bridge", ADMIN_TECH),
    def("ipv6_defaultgw", "interface/config", "IPv6 default gateway", ADMIN_TECH),
    def("ipv6addr", "interface/config", "IPv6 address for the interface", ADMIN_TECH),
    def("ipv6addr_secondaries", "interface/config", "IPv6 secondary addresses", ADMIN_TECH),
];

pub(crate) fn role_id(r: Role) -> i64 {
    match r {
        Role::Admin => 10,
        Role::Pi => 20,
        Role::User => 30,
        Role::Tech => 40,
        _ => 50,
    }
}

/// The tag type's id, creating it with its roles when missing.
pub async fn ensure(tx: &mut Tx, d: &TagTypeDef) -> MethodResult<i64> {
    if let Some(id) = ops::tags::tag_type_id(tx, d.tagname).await? {
        return Ok(id);
    }
    let id = tx
        .insert(
            "tag_types",
            "tag_type_id",
            &[
                ("tagname", SqlValue::text(d.tagname)),
                ("description", SqlValue::text(d.description)),
                ("category", SqlValue::text(d.category)),
            ],
        )
        .await?;
    for r in d.roles {
        tx.insert_plain(
            "tag_type_role",
            &[("tag_type_id", SqlValue::int(id)), ("role_id", SqlValue::int(role_id(*r)))],
        )
        .await?;
    }
    Ok(id)
}

/// Creates every standard tag type that is missing (existing ones are left as they are).
pub async fn ensure_all(registry: &Registry) -> MethodResult<()> {
    let mut tx = registry.begin_write().await?;
    for acc in crate::methods::ACCESSORS {
        ensure(&mut tx, &acc.definition()).await?;
    }
    for d in INTERFACE_TAG_TYPES {
        ensure(&mut tx, d).await?;
    }
    tx.commit().await?;
    Ok(())
}
