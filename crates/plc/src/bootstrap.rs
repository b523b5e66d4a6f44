//! First-run setup: the system site and the administrator (docs/plc-api.md §4.7, §4.8: site 1 with
//! login_base PLC_SLICE_PREFIX named "<PLC_NAME> Central"; an enabled admin with roles admin and
//! pi, member of that site), and the optional demo data set.

use crate::config::PlcConfig;
use crate::crypto;
use crate::fault::Fault;
use bootmedium_registry::{Registry, SqlValue, Tx, ops};

/// What `initialise` found or did.
#[derive(Debug, PartialEq, Eq)]
pub enum InitOutcome {
    Created { admin_person_id: i64 },
    AlreadyInitialised,
}

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error(transparent)]
    Registry(#[from] bootmedium_registry::Error),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Crypto(#[from] crypto::CryptoError),
}

impl From<Fault> for BootstrapError {
    fn from(f: Fault) -> Self {
        BootstrapError::Invalid(f.message)
    }
}

/// Creates the system site and the administrator unless the registry already has sites.
pub async fn initialise(
    registry: &Registry,
    config: &PlcConfig,
    admin_email: &str,
    admin_password: &str,
) -> Result<InitOutcome, BootstrapError> {
    let email = admin_email.to_lowercase();
    if !crate::validate::is_email(&email) {
        return Err(BootstrapError::Invalid(format!("invalid administrator e-mail address {admin_email:?}")));
    }
    if admin_password.is_empty() {
        return Err(BootstrapError::Invalid("the administrator password must not be empty".into()));
    }
    if !crate::validate::is_login_base(&config.plc.slice_prefix) {
        return Err(BootstrapError::Invalid(format!("invalid slice prefix {:?}", config.plc.slice_prefix)));
    }
    let mut tx = registry.begin_write().await?;
    if ops::sites::count_all(&mut tx).await? > 0 {
        return Ok(InitOutcome::AlreadyInitialised);
    }
    let now = crate::now();
    let site_id =
        insert_site(&mut tx, &format!("{} Central", config.plc.name), &config.plc.name, &config.plc.slice_prefix, now)
            .await?;
    let hash = crypto::hash_password(admin_password)?;
    let person_id = insert_person(&mut tx, &email, "Default", "Administrator", &hash, now).await?;
    for role in [10, 20] {
        tx.insert_plain("person_role", &[("person_id", SqlValue::int(person_id)), ("role_id", SqlValue::int(role))])
            .await?;
    }
    join_site(&mut tx, person_id, site_id).await?;
    tx.commit().await?;
    Ok(InitOutcome::Created { admin_person_id: person_id })
}

async fn insert_site(
    tx: &mut Tx,
    name: &str,
    abbreviated: &str,
    login_base: &str,
    now: i64,
) -> Result<i64, BootstrapError> {
    Ok(tx
        .insert(
            "sites",
            "site_id",
            &[
                ("name", SqlValue::text(name)),
                ("abbreviated_name", SqlValue::text(abbreviated)),
                ("login_base", SqlValue::text(login_base)),
                ("date_created", SqlValue::int(now)),
                ("last_updated", SqlValue::int(now)),
            ],
        )
        .await?)
}

async fn insert_person(
    tx: &mut Tx,
    email: &str,
    first: &str,
    last: &str,
    hash: &str,
    now: i64,
) -> Result<i64, BootstrapError> {
    Ok(tx
        .insert(
            "persons",
            "person_id",
            &[
                ("email", SqlValue::text(email)),
                ("first_name", SqlValue::text(first)),
                ("last_name", SqlValue::text(last)),
                ("password", SqlValue::text(hash)),
                ("enabled", SqlValue::int(1)),
                ("date_created", SqlValue::int(now)),
                ("last_updated", SqlValue::int(now)),
            ],
        )
        .await?)
}

async fn join_site(tx: &mut Tx, person_id: i64, site_id: i64) -> Result<(), BootstrapError> {
    tx.insert_plain(
        "person_site",
        &[
            ("person_id", SqlValue::int(person_id)),
            ("site_id", SqlValue::int(site_id)),
            ("is_primary", SqlValue::int(1)),
        ],
    )
    .await?;
    Ok(())
}

/// The demo data set of `serve --demo`.
pub struct Demo {
    pub pi_email: &'static str,
    pub pi_password: &'static str,
    pub hostname: &'static str,
}

pub const DEMO: Demo =
    Demo { pi_email: "pi@demo.example.org", pi_password: "demo-pi-password", hostname: "node1.demo.example.org" };

/// Seeds a demo site with a PI and a node that has a static primary interface; does nothing
/// when the demo site exists. Returns whether it seeded.
pub async fn seed_demo(registry: &Registry) -> Result<bool, BootstrapError> {
    let mut tx = registry.begin_write().await?;
    if ops::sites::login_base_taken(&mut tx, "demo", 0).await? {
        return Ok(false);
    }
    let now = crate::now();
    let site_id = insert_site(&mut tx, "Demo University", "Demo", "demo", now).await?;
    let hash = crypto::hash_password(DEMO.pi_password)?;
    let pi = insert_person(&mut tx, DEMO.pi_email, "Demo", "PI", &hash, now).await?;
    tx.insert_plain("person_role", &[("person_id", SqlValue::int(pi)), ("role_id", SqlValue::int(20))]).await?;
    join_site(&mut tx, pi, site_id).await?;
    let node_id = tx
        .insert(
            "nodes",
            "node_id",
            &[
                ("hostname", SqlValue::text(DEMO.hostname)),
                ("site_id", SqlValue::int(site_id)),
                ("model", SqlValue::text("qemu/minhw")),
                ("date_created", SqlValue::int(now)),
                ("last_updated", SqlValue::int(now)),
            ],
        )
        .await?;
    let iface = [
        ("node_id", SqlValue::int(node_id)),
        ("is_primary", SqlValue::int(1)),
        ("type", SqlValue::text("ipv4")),
        ("method", SqlValue::text("static")),
        ("ip", SqlValue::text("192.0.2.10")),
        ("mac", SqlValue::text("52:54:00:12:34:56")),
        ("gateway", SqlValue::text("192.0.2.1")),
        ("network", SqlValue::text("192.0.2.0")),
        ("broadcast", SqlValue::text("192.0.2.255")),
        ("netmask", SqlValue::text("255.255.255.0")),
        ("dns1", SqlValue::text("192.0.2.53")),
        ("last_updated", SqlValue::int(now)),
    ];
    tx.insert("interfaces", "interface_id", &iface).await?;
    tx.commit().await?;
    Ok(true)
}

/// The boot message templates (docs/plc-api.md §12.5): (message_id, subject, body). Bodies are ours;
/// subjects and substitutions are upstream's.
pub const DEFAULT_MESSAGES: &[(&str, &str, &str)] = &[
    (
        "installfinished",
        "%(hostname)s completed installation",
        "%(hostname)s (node %(node_id)d) has finished installing and is booting into production.\n\n\
         Nothing needs to be done. The node's record:\n\
         https://%(PLC_WWW_HOST)s:%(PLC_WWW_SSL_PORT)d/db/nodes/?id=%(node_id)d\n",
    ),
    (
        "insufficientdisk",
        "%(hostname)s does not have sufficient disk space",
        "%(hostname)s (node %(node_id)d) stopped its installation: its disks are too small.\n\n\
         Add or replace disks, then boot the node again from its boot medium. The node's record:\n\
         https://%(PLC_WWW_HOST)s:%(PLC_WWW_SSL_PORT)d/db/nodes/?id=%(node_id)d\n",
    ),
    (
        "insufficientmemory",
        "%(hostname)s does not have sufficient memory",
        "%(hostname)s (node %(node_id)d) stopped its installation: it has too little memory.\n\n\
         Add memory, then boot the node again from its boot medium. The node's record:\n\
         https://%(PLC_WWW_HOST)s:%(PLC_WWW_SSL_PORT)d/db/nodes/?id=%(node_id)d\n",
    ),
    (
        "authfail",
        "%(hostname)s failed to authenticate",
        "A call signed as %(hostname)s (node %(node_id)d) could not be authenticated:\n\n  %(fault)s\n\n\
         If the node was booted from an old boot medium, its key has been superseded: download a new\n\
         medium for it and boot from that. If nobody booted the node, somebody else tried to act as it.\n\
         The node's record:\n\
         https://%(PLC_WWW_HOST)s:%(PLC_WWW_SSL_PORT)d/db/nodes/?id=%(node_id)d\n",
    ),
    (
        "notinstalled",
        "%(hostname)s is not installed",
        "%(hostname)s (node %(node_id)d) booted in the 'boot' state but found no installation on its disks.\n\n\
         Set its boot state to 'reinstall' and boot it again. The node's record:\n\
         https://%(PLC_WWW_HOST)s:%(PLC_WWW_SSL_PORT)d/db/nodes/?id=%(node_id)d\n",
    ),
    (
        "missingkernel",
        "%(hostname)s is missing its production kernel",
        "%(hostname)s (node %(node_id)d) could not find its production kernel and cannot start.\n\n\
         Set its boot state to 'reinstall' and boot it again. The node's record:\n\
         https://%(PLC_WWW_HOST)s:%(PLC_WWW_SSL_PORT)d/db/nodes/?id=%(node_id)d\n",
    ),
    (
        "filesystemcorrupted",
        "%(hostname)s may have corrupt filesystem",
        "%(hostname)s (node %(node_id)d) found errors on its file systems it could not repair.\n\n\
         Check its disks; reinstalling (boot state 'reinstall') erases them. The node's record:\n\
         https://%(PLC_WWW_HOST)s:%(PLC_WWW_SSL_PORT)d/db/nodes/?id=%(node_id)d\n",
    ),
    (
        "mountfailed",
        "%(hostname)s could not mount filesystem",
        "%(hostname)s (node %(node_id)d) could not mount its file systems.\n\n\
         Check its disks; reinstalling (boot state 'reinstall') erases them. The node's record:\n\
         https://%(PLC_WWW_HOST)s:%(PLC_WWW_SSL_PORT)d/db/nodes/?id=%(node_id)d\n",
    ),
    (
        "hostnamenotresolve",
        "%(hostname)s does not resolve",
        "%(hostname)s (node %(node_id)d) booted, but its host name does not resolve to its address.\n\n\
         Fix the DNS entry for %(hostname)s, then boot the node again. The node's record:\n\
         https://%(PLC_WWW_HOST)s:%(PLC_WWW_SSL_PORT)d/db/nodes/?id=%(node_id)d\n",
    ),
    (
        "noconfig",
        "%(hostname)s does not have a configuration file",
        "%(hostname)s (node %(node_id)d) booted without a node configuration file.\n\n\
         Download a boot medium (or a configuration file) for it and boot from that. The node's record:\n\
         https://%(PLC_WWW_HOST)s:%(PLC_WWW_SSL_PORT)d/db/nodes/?id=%(node_id)d\n",
    ),
    (
        "nodetectednetwork",
        "%(hostname)s has unsupported network hardware",
        "%(hostname)s (node %(node_id)d) found no network interface it has a driver for.\n\n\
         Use a supported network card. The node's record:\n\
         https://%(PLC_WWW_HOST)s:%(PLC_WWW_SSL_PORT)d/db/nodes/?id=%(node_id)d\n",
    ),
];

/// Inserts the [`DEFAULT_MESSAGES`] that are missing (run at every start: an operator's edits,
/// deletions aside, survive). Returns how many were inserted.
pub async fn ensure_messages(registry: &Registry) -> Result<usize, BootstrapError> {
    let mut tx = registry.begin_write().await?;
    let mut added = 0;
    for (id, subject, template) in DEFAULT_MESSAGES {
        if ops::messages::exists(&mut tx, id).await? {
            continue;
        }
        tx.insert_plain(
            "messages",
            &[
                ("message_id", SqlValue::text(*id)),
                ("subject", SqlValue::text(*subject)),
                ("template", SqlValue::text(*template)),
                ("enabled", SqlValue::int(1)),
            ],
        )
        .await?;
        added += 1;
    }
    tx.commit().await?;
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::DEFAULT_MESSAGES;
    use crate::pyformat::{PyValue, format};
    use std::collections::BTreeMap;

    /// Every default template renders with exactly the substitutions BootNotifyOwners offers.
    #[test]
    fn default_messages_render() {
        let params = BTreeMap::from([
            ("node_id", PyValue::Int(3)),
            ("hostname", PyValue::Str("n.example.org".into())),
            ("PLC_WWW_HOST", PyValue::Str("www.example.org".into())),
            ("PLC_WWW_SSL_PORT", PyValue::Int(443)),
            ("fault", PyValue::None),
        ]);
        assert_eq!(DEFAULT_MESSAGES.len(), 11);
        for (id, subject, body) in DEFAULT_MESSAGES {
            let s = format(subject, &params).unwrap_or_else(|e| panic!("{id}: {e}"));
            assert!(s.starts_with("n.example.org ") && !s.contains('\n'), "{id}: {s}");
            let b = format(body, &params).unwrap_or_else(|e| panic!("{id}: {e}"));
            assert!(b.contains("https://www.example.org:443/db/nodes/?id=3"), "{id}: {b}");
        }
    }
}
