//! First-run setup: the system site and the administrator (PLC_SPEC §4.7, §4.8: site 1 with
//! login_base PLC_SLICE_PREFIX named "<PLC_NAME> Central"; an enabled admin with roles admin and
//! pi, member of that site), and the optional demo data set.

use crate::config::PlcConfig;
use crate::crypto;
use crate::fault::Fault;
use bootmedium_registry::{FieldKind, Registry, SqlValue, Tx};

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

async fn count(tx: &mut Tx, sql: &'static str, params: &[SqlValue]) -> Result<i64, BootstrapError> {
    let rows = tx.fetch(sql, params, &[FieldKind::Int]).await?;
    Ok(rows.first().and_then(|r| r[0].as_int()).unwrap_or(0))
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
    if count(&mut tx, "SELECT COUNT(*) FROM sites", &[]).await? > 0 {
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
    if count(&mut tx, "SELECT COUNT(*) FROM sites WHERE login_base = $1 AND deleted = 0", &[SqlValue::text("demo")])
        .await?
        > 0
    {
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
