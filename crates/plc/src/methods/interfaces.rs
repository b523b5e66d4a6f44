//! Interfaces (docs/plc-api.md §4.2): AddInterface, GetInterfaces, UpdateInterface, DeleteInterface,
//! with the whole-row checks upstream runs on every write — made total: an inconsistent static
//! network is a fault 102, not upstream's HTTP 500.

use super::common::{self, Written, collect, columns, find};
use super::nodes::{interface_count, writable_node};
use super::tags;
use crate::args::{Done, Fields, IdOrName};
use crate::context::Cx;
use crate::fault::{Fault, MethodResult};
use crate::filter::{Filter, exposed_tags};
use crate::validate::{check_ip, check_static_ipv4, is_hostname, normalise_mac};
use bootmedium_registry::views::INTERFACE;
use bootmedium_registry::{FieldKind, FieldSpec, Given, Row, SqlValue, WriteOp, ops};

const ADDRESS_FIELDS: &[&str] = &["ip", "gateway", "network", "broadcast", "netmask", "dns1", "dns2"];

/// The writable text fields of an interface (its addresses, `type`, `method`, `hostname`).
fn text_fields() -> impl Iterator<Item = &'static FieldSpec> {
    INTERFACE.writable().filter(|f| f.kind == FieldKind::Text)
}

/// The whole interface row being validated.
#[derive(Debug, Default, Clone)]
struct Iface {
    node_id: i64,
    is_primary: bool,
    ty: String,
    method: String,
    text: std::collections::BTreeMap<&'static str, String>,
    bwlimit: Option<i64>,
}

impl Iface {
    fn get(&self, name: &str) -> Option<&str> {
        self.text.get(name).map(String::as_str).filter(|s| !s.is_empty())
    }

    fn from_row(r: &Row) -> Self {
        let mut i = Iface {
            node_id: r.int("node_id").unwrap_or(0),
            is_primary: r.bool("is_primary").unwrap_or(false),
            ty: r.text("type").unwrap_or_default().to_string(),
            method: r.text("method").unwrap_or_default().to_string(),
            bwlimit: r.int("bwlimit"),
            ..Default::default()
        };
        for f in text_fields().filter(|f| !matches!(f.name, "type" | "method")) {
            if let Some(v) = r.text(f.name) {
                i.text.insert(f.name, v.to_string());
            }
        }
        i
    }

    fn apply(&mut self, written: &[Written]) {
        for wr in written {
            match wr.field.name {
                "is_primary" => self.is_primary = wr.value.as_int().unwrap_or(0) != 0,
                "type" => self.ty = wr.text().unwrap_or_default().to_string(),
                "method" => self.method = wr.text().unwrap_or_default().to_string(),
                "bwlimit" => self.bwlimit = wr.value.as_int(),
                name => match wr.text() {
                    Some(v) => {
                        self.text.insert(wr.field.name, v.to_string());
                    }
                    None => {
                        self.text.remove(name);
                    }
                },
            }
        }
    }
}

/// Field checks that need no other row; normalises the MAC in `written`.
fn check_fields(written: &mut [Written]) -> MethodResult<()> {
    for wr in written.iter_mut() {
        let Some(v) = wr.text().filter(|v| !v.is_empty()).map(str::to_string) else {
            if wr.field.name == "bwlimit" {
                check_bwlimit(wr.value.as_int())?;
            }
            continue;
        };
        match wr.field.name {
            n if ADDRESS_FIELDS.contains(&n) => check_ip(&v)?,
            "mac" => wr.value = SqlValue::text(normalise_mac(&v)?),
            "hostname" if !is_hostname(&v) => return Err(Fault::invalid(format!("Invalid hostname {v}"))),
            _ => {}
        }
    }
    Ok(())
}

fn check_bwlimit(v: Option<i64>) -> MethodResult<()> {
    match v {
        Some(b) if b < 0 => Err(Fault::invalid("bwlimit must be at least 0")),
        Some(b) if b != 0 && b < 500_000 => Err(Fault::invalid("Minimum bw is 500 kbs")),
        _ => Ok(()),
    }
}

async fn check_row(cx: &mut Cx<'_>, i: &Iface, interface_id: i64) -> MethodResult<()> {
    if !ops::lookups::network_method_exists(&mut cx.tx, &i.method).await? {
        return Err(Fault::invalid(format!("Invalid addressing method {}", i.method)));
    }
    if !ops::lookups::network_type_exists(&mut cx.tx, &i.ty).await? {
        return Err(Fault::invalid(format!("Invalid address type {}", i.ty)));
    }
    if i.is_primary {
        let other = ops::interfaces::other_primary(&mut cx.tx, i.node_id, interface_id).await?;
        if other {
            return Err(Fault::invalid("Can only set one primary interface per node"));
        }
    }
    check_method_rules(i)
}

/// Upstream's `Interface.validate`, per method.
fn check_method_rules(i: &Iface) -> MethodResult<()> {
    let m = i.method.as_str();
    let require = |k: &str, msg: &str| -> MethodResult<()> {
        match i.get(k) {
            Some(_) => Ok(()),
            None => Err(Fault::invalid(format!("{msg}, {k} is required"))),
        }
    };
    match m {
        "proxy" | "tap" => {
            if i.get("mac").is_some() {
                return Err(Fault::invalid(format!("For {m} method, mac should not be specified")));
            }
            require("ip", &format!("For {m} method"))?;
            if m == "tap" {
                require("gateway", "For tap method")?;
            }
        }
        "static" => {
            if i.is_primary {
                for k in ["gateway", "dns1"] {
                    require(k, "For static method primary network")?;
                }
            }
            for k in ["ip", "network", "broadcast", "netmask"] {
                require(k, "For static method")?;
            }
            let g = |k| i.get(k).unwrap_or_default();
            check_static_ipv4(g("ip"), g("network"), g("broadcast"), g("netmask"), i.get("gateway"))?;
        }
        "ipmi" => require("ip", "For ipmi method")?,
        _ => {}
    }
    Ok(())
}

pub async fn add_interface(
    cx: &mut Cx<'_>,
    node_id_or_hostname: IdOrName,
    interface_fields: Fields,
) -> MethodResult<i64> {
    let node = writable_node(cx, &node_id_or_hostname, "add interfaces to").await?;
    let (mut written, tag_values) =
        collect(&INTERFACE, WriteOp::Add, &cx.caller, exposed_tags(&INTERFACE), &interface_fields)?;
    for required in ["type", "method"] {
        if find(&written, required).is_none() {
            return Err(Fault::invalid(format!("{required} must be specified and cannot be unset in class Interface")));
        }
    }
    check_fields(&mut written)?;
    // A node's first interface is its primary one.
    if interface_count(cx, node.node_id).await? == 0 {
        written.retain(|w| w.field.name != "is_primary");
        written.push(Written { field: common::spec(&INTERFACE, "is_primary")?, value: SqlValue::int(1) });
    }
    let mut row = Iface { node_id: node.node_id, ..Default::default() };
    row.apply(&written);
    check_row(cx, &row, 0).await?;
    for (_, v) in &tag_values {
        tags::check_interface_tag_value(v)?;
    }
    let mut cols = columns(&written);
    cols.extend([("node_id", SqlValue::int(node.node_id)), ("last_updated", SqlValue::int(crate::now()))]);
    let id = cx.tx.insert("interfaces", "interface_id", &cols).await?;
    set_interface_tags(cx, id, &tag_values).await?;
    cx.note(format!("Interface {id} added"), vec![("Node", node.node_id), ("Interface", id)]);
    Ok(id)
}

async fn set_interface_tags(cx: &mut Cx<'_>, interface_id: i64, values: &[(String, String)]) -> MethodResult<()> {
    for (name, value) in values {
        let tt = tags::tag_type(cx, &IdOrName::Name(name.clone())).await?;
        cx.tx
            .delete(
                "interface_tag",
                &[("interface_id", SqlValue::int(interface_id)), ("tag_type_id", SqlValue::int(tt.id))],
            )
            .await?;
        tags::store_interface_tag(cx, interface_id, tt.id, value).await?;
    }
    Ok(())
}

async fn interface(cx: &mut Cx<'_>, id: i64) -> MethodResult<Row> {
    let names: Vec<&str> = ["interface_id", "node_id", "is_primary", "type", "method", "bwlimit"]
        .into_iter()
        .chain(text_fields().map(|f| f.name))
        .collect();
    let rows = common::select(cx, &INTERFACE, &Filter::One(IdOrName::Id(id)), &names).await?;
    rows.into_iter().next().ok_or_else(|| Fault::invalid(format!("No such interface {id}")))
}

pub async fn update_interface(cx: &mut Cx<'_>, interface_id: i64, interface_fields: Fields) -> MethodResult<Done> {
    let id = interface_id;
    let existing = interface(cx, id).await?;
    let node_id = IdOrName::Id(existing.int("node_id").unwrap_or(0));
    let node = writable_node(cx, &node_id, "update interfaces of").await?;
    let (mut written, tag_values) =
        collect(&INTERFACE, WriteOp::Update, &cx.caller, exposed_tags(&INTERFACE), &interface_fields)?;
    check_fields(&mut written)?;
    let mut row = Iface::from_row(&existing);
    row.apply(&written);
    check_row(cx, &row, id).await?;
    let mut cols = columns(&written);
    cols.push(("last_updated", SqlValue::int(crate::now())));
    cx.tx.update("interfaces", "interface_id", SqlValue::int(id), &cols).await?;
    set_interface_tags(cx, id, &tag_values).await?;
    cx.note(format!("Interface {id} updated"), vec![("Node", node.node_id), ("Interface", id)]);
    Ok(common::one())
}

pub async fn delete_interface(cx: &mut Cx<'_>, interface_id: i64) -> MethodResult<Done> {
    let id = interface_id;
    let existing = interface(cx, id).await?;
    let node_id = IdOrName::Id(existing.int("node_id").unwrap_or(0));
    let node = writable_node(cx, &node_id, "delete interfaces from").await?;
    cx.tx.delete("interface_tag", &[("interface_id", SqlValue::int(id))]).await?;
    cx.tx.delete("interfaces", &[("interface_id", SqlValue::int(id))]).await?;
    cx.note(format!("Interface {id} deleted"), vec![("Node", node.node_id), ("Interface", id)]);
    Ok(common::one())
}

/// BootUpdateNode's `primary_network` (docs/plc-api.md §12.3): `interface_id` must name the calling
/// node's own primary interface; the fields given that the Interface description lets a node
/// write (upstream's `can_update`: `method`, `mac` and the network settings) are checked as
/// UpdateInterface checks them (whole-row rules included) and stored; its address (`ip`) and
/// every other key are ignored unchecked, as upstream ignores them. Returns the names of the
/// fields whose value changed.
pub async fn update_primary_by_node(
    cx: &mut Cx<'_>,
    node_id: i64,
    network: &Fields,
) -> MethodResult<Vec<&'static str>> {
    let Some(key) = network.get("interface_id") else {
        return Err(Fault::invalid("Interface not specified"));
    };
    let id = key
        .as_int()
        .ok_or_else(|| Fault::invalid_named("interface_id", format!("expected int, got {}", key.type_name())))?;
    let existing = match interface(cx, id).await {
        Ok(found) if found.int("node_id") == Some(node_id) => found,
        // Another node's interface looks exactly like a missing one.
        _ => return Err(Fault::invalid("Interface not associated with calling node")),
    };
    if !existing.bool("is_primary").unwrap_or(false) {
        return Err(Fault::invalid("Not the primary interface on record"));
    }
    let given: Fields = network
        .iter()
        .filter(|(k, _)| {
            INTERFACE.field(k).is_some_and(|f| {
                f.write.on(WriteOp::Update) == Given::Taken && common::may_write(&cx.caller, f.writers)
            })
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let (mut written, _) = collect(&INTERFACE, WriteOp::Update, &cx.caller, &[], &given)?;
    check_fields(&mut written)?;
    let before = Iface::from_row(&existing);
    let mut row = before.clone();
    row.apply(&written);
    check_row(cx, &row, id).await?;
    let changed: Vec<&'static str> = written
        .iter()
        .map(|w| w.field.name)
        .filter(|name| match *name {
            "method" => before.method != row.method,
            other => before.text.get(other) != row.text.get(other),
        })
        .collect();
    if !changed.is_empty() {
        let mut cols = columns(&written);
        cols.push(("last_updated", SqlValue::int(crate::now())));
        cx.tx.update("interfaces", "interface_id", SqlValue::int(id), &cols).await?;
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iface(method: &str, primary: bool, kv: &[(&'static str, &str)]) -> Iface {
        let mut i = Iface { method: method.into(), ty: "ipv4".into(), is_primary: primary, ..Default::default() };
        for (k, v) in kv {
            i.text.insert(k, v.to_string());
        }
        i
    }

    #[test]
    fn static_primary_needs_gateway_and_dns() {
        let base =
            [("ip", "10.0.0.5"), ("network", "10.0.0.0"), ("broadcast", "10.0.0.255"), ("netmask", "255.255.255.0")];
        let e = check_method_rules(&iface("static", true, &base)).unwrap_err();
        assert_eq!(e.message, "Invalid argument: For static method primary network, gateway is required");
        assert!(check_method_rules(&iface("static", false, &base)).is_ok());
        let e = check_method_rules(&iface("static", false, &base[..3])).unwrap_err();
        assert_eq!(e.message, "Invalid argument: For static method, netmask is required");
    }

    #[test]
    fn proxy_and_tap_rules() {
        let e =
            check_method_rules(&iface("proxy", false, &[("ip", "1.2.3.4"), ("mac", "00:00:00:00:00:01")])).unwrap_err();
        assert!(e.message.contains("mac should not be specified"));
        let e = check_method_rules(&iface("tap", false, &[("ip", "1.2.3.4")])).unwrap_err();
        assert!(e.message.contains("gateway is required"));
        assert!(check_method_rules(&iface("dhcp", true, &[])).is_ok());
    }
}
