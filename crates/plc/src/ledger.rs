//! The issued-media ledger (an extension of PLCAPI, issue 5): every node medium handed out —
//! a configuration file or a boot image carrying a node key, inline, as a file or as a download
//! link — is one row, written in the same transaction as the key it carries. A newer key
//! supersedes every earlier row of its node, so the ledger can say of any image found in the
//! field whether it is the node's current medium, a superseded one, or none of ours.

use crate::crypto;
use crate::fault::{Fault, MethodResult};
use crate::plnode::RenewedKey;
use bootmedium_media::{Console, ImageType, KernelArg, MediumRequest};
use bootmedium_registry::{FieldKind, SqlValue, Tx};

/// Where the medium's bytes came from.
#[derive(Debug, Clone)]
pub struct ReferenceId {
    pub family: String,
    pub version: String,
}

/// A download link: the capability in its URL and when it stops working.
#[derive(Debug, Clone)]
pub struct DownloadGrant {
    pub id: String,
    pub expires: i64,
}

/// One medium about to be handed out.
pub struct IssuedMedium<'a> {
    pub node_id: i64,
    pub action: &'a str,
    pub options: &'a [&'a str],
    /// The image as made (`None` for a configuration file).
    pub request: Option<&'a MediumRequest>,
    pub reference: Option<ReferenceId>,
    /// The renewal that made the medium's key; `None` for generic media.
    pub key: Option<&'a RenewedKey>,
    pub sha256: String,
    pub size: u64,
    pub person_id: Option<i64>,
    pub filename: Option<String>,
    pub download: Option<DownloadGrant>,
}

/// Records `medium` and marks the node's earlier keyed media superseded by it; returns its id.
pub async fn record(tx: &mut Tx, medium: IssuedMedium<'_>) -> MethodResult<i64> {
    let request = medium.request;
    let kargs: Vec<String> = request.map(|r| r.kargs.iter().map(ToString::to_string).collect()).unwrap_or_default();
    let (generation, key) = match medium.key {
        Some(k) => (Some(k.generation), Some(k.key.clone())),
        None => (None, None),
    };
    let size = i64::try_from(medium.size).map_err(|_| Fault::internal("medium larger than 2^63 bytes"))?;
    let id = tx
        .insert(
            "issued_media",
            "issued_medium_id",
            &[
                ("node_id", SqlValue::int(medium.node_id)),
                ("action", SqlValue::text(medium.action)),
                ("image_type", SqlValue::text(request.map_or("txt", |r| r.image_type.as_str()))),
                ("console", SqlValue::text(request.map(|r| r.console.to_string()).unwrap_or_default())),
                ("kargs", SqlValue::text(kargs.join(" "))),
                ("variant", SqlValue::Text(request.and_then(|r| r.variant.clone()))),
                ("reference_family", SqlValue::Text(medium.reference.as_ref().map(|r| r.family.clone()))),
                ("reference_version", SqlValue::Text(medium.reference.as_ref().map(|r| r.version.clone()))),
                ("key_generation", SqlValue::Int(generation)),
                ("node_key", SqlValue::Text(key)),
                ("sha256", SqlValue::text(medium.sha256)),
                ("size", SqlValue::int(size)),
                ("person_id", SqlValue::Int(medium.person_id)),
                ("issued", SqlValue::int(crate::now())),
                ("filename", SqlValue::Text(medium.filename)),
                ("download_id", SqlValue::Text(medium.download.as_ref().map(|d| d.id.clone()))),
                ("download_expires", SqlValue::Int(medium.download.as_ref().map(|d| d.expires))),
                // Kept only where a download must make the same bytes again.
                (
                    "node_config",
                    SqlValue::Text(medium.download.as_ref().and_then(|_| request.and_then(|r| r.node_config.clone()))),
                ),
            ],
        )
        .await?;
    for (position, option) in medium.options.iter().enumerate() {
        tx.insert_plain(
            "issued_medium_option",
            &[
                ("issued_medium_id", SqlValue::int(id)),
                ("position", SqlValue::int(position as i64)),
                ("value", SqlValue::text(*option)),
            ],
        )
        .await?;
    }
    if medium.download.is_some() {
        // Expired links give up what they kept to make their bytes again (the plnode.txt holds
        // a key); done when links are issued, not on every medium.
        tx.execute(
            "UPDATE issued_media SET download_id = NULL, node_config = NULL WHERE download_id IS NOT NULL AND download_expires <= $1",
            &[SqlValue::int(crate::now())],
        )
        .await?;
    }
    if medium.key.is_some() {
        tx.execute(
            "UPDATE issued_media SET superseded_by = $1 WHERE node_id = $2 AND superseded_by IS NULL AND node_key IS NOT NULL AND issued_medium_id <> $1",
            &[SqlValue::int(id), SqlValue::int(medium.node_id)],
        )
        .await?;
    }
    Ok(id)
}

/// A new download capability: 128 bits from the OS CSPRNG, hex.
pub fn new_download_id() -> MethodResult<String> {
    let mut bytes = [0u8; 16];
    crypto::random_bytes(&mut bytes).map_err(|e| Fault::internal(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A download still within its lifetime, with what is needed to make its bytes again.
#[derive(Debug, Clone)]
pub struct StoredDownload {
    pub issued_medium_id: i64,
    /// A generic medium (no node key, named after its family).
    pub generic: bool,
    pub hostname: String,
    pub reference: ReferenceId,
    pub request: MediumRequest,
    pub sha256: String,
    pub size: u64,
    pub expires: i64,
}

/// The live download `id` names, if any. Ids that are not 32 hex digits are never looked up.
pub async fn find_download(tx: &mut Tx, id: &str, now: i64) -> MethodResult<Option<StoredDownload>> {
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
        return Ok(None);
    }
    use FieldKind::{Int, Text};
    let rows = tx
        .fetch(
            "SELECT t.issued_medium_id, n.hostname, t.reference_family, t.reference_version, t.image_type, t.console, t.kargs, t.variant, t.node_config, t.sha256, t.size, t.download_expires, t.key_generation FROM issued_media t JOIN nodes n ON n.node_id = t.node_id WHERE t.download_id = $1 AND t.download_expires > $2",
            &[SqlValue::text(id), SqlValue::int(now)],
            &[Int, Text, Text, Text, Text, Text, Text, Text, Text, Text, Int, Int, Int],
        )
        .await?;
    let Some(r) = rows.first() else { return Ok(None) };
    let text = |i: usize| r[i].as_text().unwrap_or_default().to_string();
    let corrupt =
        |what: &str| Fault::internal(format!("issued medium {} has an unusable {what}", r[0].as_int().unwrap_or(0)));
    let image_type: ImageType = text(4).parse().map_err(|_| corrupt("image type"))?;
    let console = Console::parse(&text(5)).map_err(|_| corrupt("console"))?;
    let kargs = text(6)
        .split_whitespace()
        .map(KernelArg::new)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| corrupt("kernel argument list"))?;
    let request = MediumRequest {
        image_type,
        console,
        kargs,
        variant: r[7].as_text().map(str::to_string),
        node_config: r[8].as_text().map(str::to_string),
    };
    Ok(Some(StoredDownload {
        issued_medium_id: r[0].as_int().unwrap_or(0),
        generic: r[12].as_int().is_none(),
        hostname: text(1),
        reference: ReferenceId { family: text(2), version: text(3) },
        request,
        sha256: text(9),
        size: r[10].as_int().and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
        expires: r[11].as_int().unwrap_or(0),
    }))
}

/// A key of a node as the ledger knows it: the medium that carried it and what replaced it.
#[derive(Debug, Clone)]
pub struct LedgerKey {
    pub issued_medium_id: i64,
    pub key: String,
    pub sha256: String,
    pub superseded_by: Option<i64>,
    pub issued: i64,
}

/// Every keyed medium issued for `node_id`, newest first.
pub async fn node_keys(tx: &mut Tx, node_id: i64) -> MethodResult<Vec<LedgerKey>> {
    use FieldKind::{Int, Text};
    let rows = tx
        .fetch(
            "SELECT issued_medium_id, node_key, sha256, superseded_by, issued FROM issued_media WHERE node_id = $1 AND node_key IS NOT NULL ORDER BY issued_medium_id DESC",
            &[SqlValue::int(node_id)],
            &[Int, Text, Text, Int, Int],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| LedgerKey {
            issued_medium_id: r[0].as_int().unwrap_or(0),
            key: r[1].as_text().unwrap_or_default().to_string(),
            sha256: r[2].as_text().unwrap_or_default().to_string(),
            superseded_by: r[3].as_int(),
            issued: r[4].as_int().unwrap_or(0),
        })
        .collect())
}
