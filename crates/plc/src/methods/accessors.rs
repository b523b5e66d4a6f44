//! Node tag accessors (docs/plc-api.md §5): `Get<Node><Suffix>` / `Set<Node><Suffix>` for the standard
//! node tags, the tag types they create on first use, and GetNodeFlavour.

use super::common::find_one;
use super::tags::{self, TagType, TaggedNode, may_write_tag, store_node_tag, tagged_node};
use crate::args::IdOrName;
use crate::context::Cx;
use crate::fault::{Fault, MethodResult};
use crate::roles::{self, Role};
use bootmedium_registry::ops;
use bootmedium_registry::views::NODE;
use std::collections::BTreeMap;

/// One accessor pair.
#[derive(Debug)]
pub struct Accessor {
    pub get: &'static str,
    pub set: &'static str,
    pub tagname: &'static str,
    pub category: &'static str,
    pub description: &'static str,
    pub set_roles: &'static [Role],
}

const ALL: &[Role] = &[Role::Admin, Role::Pi, Role::Tech, Role::User, Role::Node];

const fn acc(
    get: &'static str,
    set: &'static str,
    tagname: &'static str,
    category: &'static str,
    description: &'static str,
    set_roles: &'static [Role],
) -> Accessor {
    Accessor { get, set, tagname, category, description, set_roles }
}

pub static ACCESSORS: &[Accessor] = &[
    acc("GetNodeArch", "SetNodeArch", "arch", "node/slice/config", "node/slice architecture", ALL),
    acc(
        "GetNodePldistro",
        "SetNodePldistro",
        "pldistro",
        "node/slice/config/sfa",
        "PlanetLab distribution to use for node or slivers",
        ALL,
    ),
    acc(
        "GetNodeFcdistro",
        "SetNodeFcdistro",
        "fcdistro",
        "node/slice/config",
        "Linux distribution to use for node or slivers",
        ALL,
    ),
    acc("GetNodeVirt", "SetNodeVirt", "virt", "node/operation", "typically 'vs' or 'lxc'", ALL),
    acc(
        "GetNodeDeployment",
        "SetNodeDeployment",
        "deployment",
        "node/operation",
        "typically 'alpha', 'beta', or 'production'",
        roles::ADMIN,
    ),
    acc(
        "GetNodeExtensions",
        "SetNodeExtensions",
        "extensions",
        "node/config",
        "space-separated list of extensions to install",
        roles::ADMIN,
    ),
    acc("GetNodeHrn", "SetNodeHrn", "hrn", "node/person/slice/site/sfa", "SFA human readable name", ALL),
    acc(
        "GetNodePlainBootstrapfs",
        "SetNodePlainBootstrapfs",
        "plain-bootstrapfs",
        "node/config",
        "use plain bootstrapfs instead of the node flavour",
        roles::ADMIN_PI_TECH,
    ),
    acc(
        "GetNodeSerial",
        "SetNodeSerial",
        "serial",
        "node/bootcd",
        "serial console spec for the boot CD",
        roles::ADMIN_PI_TECH,
    ),
    acc(
        "GetNodeCramfs",
        "SetNodeCramfs",
        "cramfs",
        "node/bootcd",
        "boot CD uses cramfs when set",
        roles::ADMIN_PI_TECH,
    ),
    acc(
        "GetNodeKvariant",
        "SetNodeKvariant",
        "kvariant",
        "node/bootcd",
        "boot CD kernel variant",
        roles::ADMIN_PI_TECH,
    ),
    acc(
        "GetNodeKargs",
        "SetNodeKargs",
        "kargs",
        "node/bootcd",
        "extra kernel arguments for the boot CD",
        roles::ADMIN_PI_TECH,
    ),
    acc(
        "GetNodeNoHangcheck",
        "SetNodeNoHangcheck",
        "no-hangcheck",
        "node/bootcd",
        "disable hangcheck on the boot CD",
        roles::ADMIN_PI_TECH,
    ),
];

impl Accessor {
    pub fn definition(&self) -> crate::standard_tags::TagTypeDef {
        crate::standard_tags::TagTypeDef {
            tagname: self.tagname,
            category: self.category,
            description: self.description,
            roles: self.set_roles,
        }
    }
}

pub fn by_tagname(tagname: &str) -> Option<&'static Accessor> {
    ACCESSORS.iter().find(|a| a.tagname == tagname)
}

/// The accessor's tag type, created (with its category, description and roles) if missing.
pub async fn ensure_tag_type(cx: &mut Cx<'_>, acc: &Accessor) -> MethodResult<TagType> {
    let def = acc.definition();
    let id = crate::standard_tags::ensure(&mut cx.tx, &def).await?;
    tags::tag_type(cx, &IdOrName::Id(id)).await
}

/// A node's tag value, or None when unset.
pub async fn node_tag_value(cx: &mut Cx<'_>, node_id: i64, tagname: &str) -> MethodResult<Option<String>> {
    Ok(ops::nodes::tag_value(&mut cx.tx, node_id, tagname).await?)
}

/// `Get<Node><Tag>(auth, node)`: the tag's value, `None` (nil) when unset.
pub async fn get(cx: &mut Cx<'_>, acc: &Accessor, node: &IdOrName) -> MethodResult<Option<String>> {
    // Upstream answers nil for an unknown node too.
    let Ok(node) = find_one(cx, &NODE, node, &["node_id"], "node").await else { return Ok(None) };
    node_tag_value(cx, node.int("node_id").unwrap_or(0), acc.tagname).await
}

/// `Set<Node><Tag>(auth, node, value)`: sets the tag and answers the value.
pub async fn set(cx: &mut Cx<'_>, acc: &Accessor, key: &IdOrName, value: String) -> MethodResult<String> {
    let node =
        tagged_node(cx, key).await.map_err(|_| Fault::invalid(format!("Cannot set tag on Node {}", key.py_repr())))?;
    let tt = ensure_tag_type(cx, acc).await?;
    may_write_tag(&cx.caller, &tt, node.site_id, Some(node.node_id), "node", &node.hostname)?;
    store_node_tag(cx, node.node_id, tt.id, &value).await?;
    cx.note(format!("Node {} updated", node.hostname), vec![("Node", node.node_id)]);
    Ok(value)
}

/// Sets exposed tags given as pseudo-fields of AddNode/UpdateNode.
pub async fn set_exposed(cx: &mut Cx<'_>, node_id: i64, tags: &[(String, String)]) -> MethodResult<()> {
    for (name, value) in tags {
        let acc = by_tagname(name).ok_or_else(|| Fault::invalid(format!("Unknown tag {name}")))?;
        let tt = ensure_tag_type(cx, acc).await?;
        store_node_tag(cx, node_id, tt.id, value).await?;
    }
    Ok(())
}

/// `PLC_FLAVOUR_VIRT_MAP`: `f8,f12:vs; default:lxc`.
fn virt_for(map: &str, fcdistro: &str) -> String {
    let mut default = "lxc".to_string();
    for entry in map.split(';') {
        let Some((keys, virt)) = entry.split_once(':') else { continue };
        let virt = virt.trim();
        for k in keys.split(',').map(str::trim) {
            if k == fcdistro {
                return virt.to_string();
            }
            if k == "default" {
                default = virt.to_string();
            }
        }
    }
    default
}

/// Whether the caller may set the accessor's tag on `node`, by the tag type's roles as stored
/// (or, before the type's first use, as the accessor defines them). Creates nothing.
async fn may_set(cx: &mut Cx<'_>, acc: &Accessor, node: &TaggedNode) -> MethodResult<bool> {
    let stored = ops::tags::tag_type_id(&mut cx.tx, acc.tagname).await?;
    let tt = match stored {
        Some(id) => tags::tag_type(cx, &IdOrName::Id(id)).await?,
        None => TagType {
            id: 0,
            tagname: acc.tagname.to_string(),
            roles: acc.set_roles.iter().map(|r| r.name().to_string()).collect(),
        },
    };
    Ok(may_write_tag(&cx.caller, &tt, node.site_id, Some(node.node_id), "node", &node.hostname).is_ok())
}

/// GetNodeFlavour's answer.
pub struct Flavour {
    pub arch: String,
    pub fcdistro: String,
    pub pldistro: String,
    pub virt: String,
    pub nodefamily: String,
    pub extensions: Vec<String>,
    /// Whether the node uses the plain bootstrapfs.
    pub plain: bool,
}

/// GetNodeFlavour: the node's family, writing back the flavour tags it was missing where the
/// caller may write them (elsewhere it answers the defaults and writes nothing).
pub async fn get_node_flavour(cx: &mut Cx<'_>, node_id_or_hostname: IdOrName) -> MethodResult<Flavour> {
    let node = tagged_node(cx, &node_id_or_hostname).await?;
    let defaults = cx.config().flavour.clone();
    let mut flavour = BTreeMap::new();
    for (tagname, default) in
        [("arch", &defaults.arch), ("fcdistro", &defaults.fcdistro), ("pldistro", &defaults.pldistro)]
    {
        let value = match node_tag_value(cx, node.node_id, tagname).await?.filter(|v| !v.is_empty()) {
            Some(v) => v,
            None => {
                let acc = by_tagname(tagname).ok_or_else(|| Fault::internal("missing accessor"))?;
                if may_set(cx, acc, &node).await? {
                    let tt = ensure_tag_type(cx, acc).await?;
                    store_node_tag(cx, node.node_id, tt.id, default).await?;
                }
                default.clone()
            }
        };
        flavour.insert(tagname.to_string(), value);
    }
    let virt = match node_tag_value(cx, node.node_id, "virt").await?.filter(|v| !v.is_empty()) {
        Some(v) => v,
        None => virt_for(&defaults.virt_map, &flavour["fcdistro"]),
    };
    let nodefamily = match node_tag_value(cx, node.node_id, "deployment").await?.filter(|v| !v.is_empty()) {
        Some(d) => d,
        None => format!("{}-{}-{}", flavour["pldistro"], flavour["fcdistro"], flavour["arch"]),
    };
    let extensions = node_tag_value(cx, node.node_id, "extensions").await?.unwrap_or_default();
    let plain = node_tag_value(cx, node.node_id, "plain-bootstrapfs").await?.is_some_and(|v| !v.is_empty());
    let mut take = |name: &str| flavour.remove(name).unwrap_or_default();
    Ok(Flavour {
        arch: take("arch"),
        fcdistro: take("fcdistro"),
        pldistro: take("pldistro"),
        virt,
        nodefamily,
        extensions: extensions.split_whitespace().map(str::to_string).collect(),
        plain,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn virt_map() {
        let m = " f8,f12,f14,centos5,centos6:vs; default:lxc ";
        assert_eq!(super::virt_for(m, "f12"), "vs");
        assert_eq!(super::virt_for(m, "f22"), "lxc");
    }
}
