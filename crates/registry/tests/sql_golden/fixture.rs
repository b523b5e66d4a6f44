//! The rows every case runs against: a few of each class, chosen so each case's answer is
//! known by hand (see the expected ids in `cases.rs`). Ids are explicit and in distinct ranges
//! per table (sites 1–3, nodes 11–16, interfaces 21–24, persons 31–34, tag types 41–43, node
//! tags 51–56, interface tags 61–62, node groups 71–72, events 81–82, issued media 91–92), so
//! an id from the wrong table cannot pass for the right one.
//!
//! Soft-deleted rows (site 3, node 14, person 33) and rows hanging off them (node 14's
//! interface and tags) are there to be left out.

use bootmedium_registry::{Registry, SqlValue, Tx};

fn i(v: i64) -> SqlValue {
    SqlValue::int(v)
}
fn t(v: &str) -> SqlValue {
    SqlValue::text(v)
}
fn f(v: f64) -> SqlValue {
    SqlValue::Float(Some(v))
}
const NO_INT: SqlValue = SqlValue::Int(None);
const NO_TEXT: SqlValue = SqlValue::Text(None);
const NO_FLOAT: SqlValue = SqlValue::Float(None);

pub async fn load(registry: &Registry) -> bootmedium_registry::Result<()> {
    let mut tx = registry.begin_write().await?;
    sites(&mut tx).await?;
    tag_types(&mut tx).await?;
    nodes(&mut tx).await?;
    interfaces(&mut tx).await?;
    persons(&mut tx).await?;
    events(&mut tx).await?;
    issued_media(&mut tx).await?;
    tx.commit().await
}

async fn sites(tx: &mut Tx) -> bootmedium_registry::Result<()> {
    // (site_id, login_base, latitude, enabled, url, deleted)
    let rows = [
        (1, "alpha", f(1.5), 1, t("http://alpha.example.org/"), 0),
        (2, "beta", NO_FLOAT, 0, NO_TEXT, 0),
        (3, "gamma", f(1.5), 1, NO_TEXT, 1),
    ];
    for (id, base, lat, enabled, url, deleted) in rows {
        tx.insert(
            "sites",
            "site_id",
            &[
                ("site_id", i(id)),
                ("name", t(&format!("Site {base}"))),
                ("abbreviated_name", t(base)),
                ("login_base", t(base)),
                ("latitude", lat),
                ("longitude", f(-2.25)),
                ("enabled", i(enabled)),
                ("url", url),
                ("date_created", i(1000)),
                ("last_updated", i(1000)),
                ("deleted", i(deleted)),
            ],
        )
        .await?;
    }
    Ok(())
}

async fn tag_types(tx: &mut Tx) -> bootmedium_registry::Result<()> {
    for (id, name) in [(41, "arch"), (42, "pldistro"), (43, "ifname")] {
        tx.insert("tag_types", "tag_type_id", &[("tag_type_id", i(id)), ("tagname", t(name))]).await?;
    }
    tx.insert_plain("tag_type_role", &[("tag_type_id", i(41)), ("role_id", i(10))]).await?;
    Ok(())
}

async fn nodes(tx: &mut Tx) -> bootmedium_registry::Result<()> {
    // (node_id, site_id, hostname, boot_state, model, version, run_level, verified, last_contact,
    //  node_key, deleted). Byte order of the hostnames: N3.Beta < n1 < n2 < n5 < n6.
    let rows = [
        (11, 1, "n1.alpha.example.org", "boot", t("Dell R610"), t("v1"), t("boot"), 1, i(100), t("key-11"), 0),
        (12, 1, "n2.alpha.example.org", "reinstall", t("dell_r710"), t("v2"), NO_TEXT, 0, i(200), t("key-12"), 0),
        (13, 2, "N3.Beta.example.org", "safeboot", t("100% pure"), t("Élan"), t("safeboot"), 0, NO_INT, NO_TEXT, 0),
        (14, 2, "n4.beta.example.org", "boot", t("dell_r710"), t("v1"), t("boot"), 1, i(300), t("key-14"), 1),
        (15, 2, "n5.beta.example.org", "boot", t("dellXr710"), t("élan"), t("boot"), 1, i(200), t("key-15"), 0),
        (16, 1, "n6.alpha.example.org", "install", t("say \"hi\" \\ now"), NO_TEXT, NO_TEXT, 0, i(50), t("key-16"), 0),
    ];
    for (id, site, host, state, model, version, run_level, verified, contact, key, deleted) in rows {
        tx.insert(
            "nodes",
            "node_id",
            &[
                ("node_id", i(id)),
                ("site_id", i(site)),
                ("hostname", t(host)),
                ("boot_state", t(state)),
                ("model", model),
                ("version", version),
                ("run_level", run_level),
                ("boot_nonce", t(&format!("nonce-{id}"))),
                ("node_key", key),
                ("verified", i(verified)),
                ("last_contact", contact),
                ("date_created", i(1000)),
                ("last_updated", i(1000 + id)),
                ("deleted", i(deleted)),
            ],
        )
        .await?;
    }
    // arch: 11 x86_64, 12 i386, 14 (deleted) x86_64, 15 x86_64; pldistro: 13 lxc, 16 Debian.
    for (id, node, tag_type, value) in [
        (51, 11, 41, "x86_64"),
        (52, 12, 41, "i386"),
        (53, 13, 42, "lxc"),
        (54, 14, 41, "x86_64"),
        (55, 15, 41, "x86_64"),
        (56, 16, 42, "Debian"),
    ] {
        tx.insert(
            "node_tag",
            "node_tag_id",
            &[("node_tag_id", i(id)), ("node_id", i(node)), ("tag_type_id", i(tag_type)), ("value", t(value))],
        )
        .await?;
    }
    for (id, name, value) in [(71, "x86", "x86_64"), (72, "i386", "i386")] {
        tx.insert(
            "nodegroups",
            "nodegroup_id",
            &[("nodegroup_id", i(id)), ("groupname", t(name)), ("tag_type_id", i(41)), ("value", t(value))],
        )
        .await?;
    }
    tx.insert_plain("sessions", &[("session_id", t("sess-11")), ("node_id", i(11))]).await?;
    Ok(())
}

async fn interfaces(tx: &mut Tx) -> bootmedium_registry::Result<()> {
    // (interface_id, node_id, is_primary, method, ip, bwlimit)
    let rows = [
        (21, 11, 1, "static", "10.0.0.1", i(1000)),
        (22, 11, 0, "dhcp", "10.0.0.2", NO_INT),
        (23, 12, 1, "static", "10.0.1.1", i(500)),
        (24, 14, 1, "dhcp", "10.0.9.9", NO_INT),
    ];
    for (id, node, primary, method, ip, bwlimit) in rows {
        tx.insert(
            "interfaces",
            "interface_id",
            &[
                ("interface_id", i(id)),
                ("node_id", i(node)),
                ("is_primary", i(primary)),
                ("type", t("ipv4")),
                ("method", t(method)),
                ("ip", t(ip)),
                ("bwlimit", bwlimit),
                ("last_updated", i(0)),
            ],
        )
        .await?;
    }
    for (id, interface, value) in [(61, 21, "eth0"), (62, 23, "eth_1")] {
        tx.insert(
            "interface_tag",
            "interface_tag_id",
            &[("interface_tag_id", i(id)), ("interface_id", i(interface)), ("tag_type_id", i(43)), ("value", t(value))],
        )
        .await?;
    }
    Ok(())
}

async fn persons(tx: &mut Tx) -> bootmedium_registry::Result<()> {
    // (person_id, email, title, enabled, deleted, roles, sites (first is primary))
    type Person = (i64, &'static str, SqlValue, i64, i64, &'static [i64], &'static [i64]);
    let rows: [Person; 4] = [
        (31, "alice@example.org", t("Dr"), 1, 0, &[10, 20], &[1]),
        (32, "bob@example.org", NO_TEXT, 0, 0, &[30], &[2, 1]),
        (33, "carol@example.org", t("Prof"), 1, 1, &[20], &[2]),
        (34, "dave@example.org", NO_TEXT, 1, 0, &[], &[]),
    ];
    for (id, email, title, enabled, deleted, roles, sites) in rows {
        tx.insert(
            "persons",
            "person_id",
            &[
                ("person_id", i(id)),
                ("email", t(email)),
                ("first_name", t(email.split('@').next().unwrap_or_default())),
                ("last_name", t("Example")),
                ("title", title),
                ("enabled", i(enabled)),
                ("verification_key", t(&format!("vk-{id}"))),
                ("date_created", i(1000)),
                ("last_updated", i(1000)),
                ("deleted", i(deleted)),
            ],
        )
        .await?;
        for role in roles {
            tx.insert_plain("person_role", &[("person_id", i(id)), ("role_id", i(*role))]).await?;
        }
        for (n, site) in sites.iter().enumerate() {
            tx.insert_plain(
                "person_site",
                &[("person_id", i(id)), ("site_id", i(*site)), ("is_primary", i(i64::from(n == 0)))],
            )
            .await?;
        }
    }
    Ok(())
}

async fn events(tx: &mut Tx) -> bootmedium_registry::Result<()> {
    for (id, call, runtime, fault, time) in [(81, "GetNodes", 0.25, 0, 10), (82, "AddNode", 1.5, 103, 20)] {
        tx.insert(
            "events",
            "event_id",
            &[
                ("event_id", i(id)),
                ("person_id", i(31)),
                ("call_name", t(call)),
                ("runtime", f(runtime)),
                ("fault_code", i(fault)),
                ("time", i(time)),
            ],
        )
        .await?;
    }
    for (object, kind) in [(11, "Node"), (1, "Site")] {
        tx.insert_plain("event_object", &[("event_id", i(82)), ("object_id", i(object)), ("object_type", t(kind))])
            .await?;
    }
    Ok(())
}

async fn issued_media(tx: &mut Tx) -> bootmedium_registry::Result<()> {
    for (id, node, sha, options) in [(91, 11, "aa", &["serial", "variant:x"][..]), (92, 12, "bb", &["serial"][..])] {
        tx.insert(
            "issued_media",
            "issued_medium_id",
            &[
                ("issued_medium_id", i(id)),
                ("node_id", i(node)),
                ("action", t("node-iso")),
                ("image_type", t("iso")),
                ("console", t("default")),
                ("kargs", t("")),
                ("sha256", t(sha)),
                ("size", i(1)),
                ("issued", i(1)),
            ],
        )
        .await?;
        for (position, value) in options.iter().enumerate() {
            tx.insert_plain(
                "issued_medium_option",
                &[
                    ("issued_medium_id", i(id)),
                    ("position", i(i64::try_from(position).unwrap_or_default())),
                    ("value", t(value)),
                ],
            )
            .await?;
        }
    }
    Ok(())
}
