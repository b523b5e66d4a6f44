//! The issued-media ledger (an extension of PLCAPI; README.md, "Node media"): every node medium handed out —
//! a configuration file or a boot image carrying a node key, inline, as a file or as a download
//! link — is one row, written in the same transaction as the key it carries. A newer key
//! supersedes every earlier row of its node, so the ledger can say of any image found in the
//! field whether it is the node's current medium, a superseded one, or none of ours.

use crate::crypto;
use crate::fault::{Fault, MethodResult};
use crate::plnode::RenewedKey;
use bootmedium_media::{Console, ImageType, KernelArg, MediumRequest};
use bootmedium_registry::{Tx, ops};

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

/// Records `medium`: a keyed medium's key is stored on the node in the
/// same write, which supersedes the node's earlier keyed media and ends its sessions. A node
/// deleted since the medium was prepared is fault 102, with nothing written.
pub async fn record(tx: &mut Tx, medium: IssuedMedium<'_>) -> MethodResult<ops::ledger::Recorded> {
    let request = medium.request;
    let kargs: Vec<String> = request.map(|r| r.kargs.iter().map(ToString::to_string).collect()).unwrap_or_default();
    let console = request.map(|r| r.console.to_string()).unwrap_or_default();
    let reference = medium.reference.as_ref();
    let size = i64::try_from(medium.size).map_err(|_| Fault::internal("medium larger than 2^63 bytes"))?;
    let row = ops::ledger::NewIssued {
        node_id: medium.node_id,
        action: medium.action,
        image_type: request.map_or("txt", |r| r.image_type.as_str()),
        console: &console,
        kargs: &kargs.join(" "),
        variant: request.and_then(|r| r.variant.as_deref()),
        reference_family: reference.map(|r| r.family.as_str()),
        reference_version: reference.map(|r| r.version.as_str()),
        key: medium.key.map(|k| ops::ledger::NewKey { key: &k.key, renewed_at: k.renewed_at }),
        sha256: &medium.sha256,
        size,
        person_id: medium.person_id,
        issued: crate::now(),
        filename: medium.filename.as_deref(),
        download_id: medium.download.as_ref().map(|d| d.id.as_str()),
        download_expires: medium.download.as_ref().map(|d| d.expires),
        // Kept only where a download must make the same bytes again.
        node_config: medium.download.as_ref().and_then(|_| request.and_then(|r| r.node_config.as_deref())),
        options: medium.options,
    };
    ops::ledger::record(tx, &row)
        .await?
        .ok_or_else(|| Fault::invalid(format!("Node {} was deleted during the call", medium.node_id)))
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
    let Some(d) = ops::ledger::live_download(tx, id, now).await? else { return Ok(None) };
    let corrupt = |what: &str| Fault::internal(format!("issued medium {} has an unusable {what}", d.issued_medium_id));
    let image_type: ImageType = d.image_type.parse().map_err(|_| corrupt("image type"))?;
    let console = Console::parse(&d.console).map_err(|_| corrupt("console"))?;
    let kargs = d
        .kargs
        .split_whitespace()
        .map(KernelArg::new)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| corrupt("kernel argument list"))?;
    let size = u64::try_from(d.size).map_err(|_| corrupt("size"))?;
    let request = MediumRequest { image_type, console, kargs, variant: d.variant, node_config: d.node_config };
    Ok(Some(StoredDownload {
        issued_medium_id: d.issued_medium_id,
        generic: d.key_generation.is_none(),
        hostname: d.hostname,
        reference: ReferenceId {
            family: d.reference_family.unwrap_or_default(),
            version: d.reference_version.unwrap_or_default(),
        },
        request,
        sha256: d.sha256,
        size,
        expires: d.download_expires,
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
    Ok(ops::ledger::node_keys(tx, node_id)
        .await?
        .into_iter()
        .map(|k| LedgerKey {
            issued_medium_id: k.issued_medium_id,
            key: k.node_key,
            sha256: k.sha256,
            superseded_by: k.superseded_by,
            issued: k.issued,
        })
        .collect())
}
