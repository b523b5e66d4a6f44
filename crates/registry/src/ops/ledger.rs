//! The issued-media ledger (`issued_media`, an extension of PLCAPI): superseding, download
//! links and the keys a node was issued.

use super::{all, first, get};
use crate::{Result, SqlValue, Tx};

/// Makes download links that expired by `now` give up what they kept to make their bytes
/// again (the download id, and the plnode.txt, which holds a key); returns how many.
pub async fn expire_downloads(tx: &mut Tx, now: i64) -> Result<u64> {
    tx.execute(
        "UPDATE issued_media SET download_id = NULL, node_config = NULL \
         WHERE download_id IS NOT NULL AND download_expires <= $1",
        &[SqlValue::int(now)],
    )
    .await
}

/// Marks every earlier keyed, not yet superseded medium of `node_id` superseded by
/// `issued_medium_id`; returns how many.
pub async fn supersede(tx: &mut Tx, issued_medium_id: i64, node_id: i64) -> Result<u64> {
    tx.execute(
        "UPDATE issued_media SET superseded_by = $1 WHERE node_id = $2 AND superseded_by IS NULL \
         AND node_key IS NOT NULL AND issued_medium_id <> $1",
        &[SqlValue::int(issued_medium_id), SqlValue::int(node_id)],
    )
    .await
}

/// A download link's row, with what makes its medium again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    pub issued_medium_id: i64,
    pub hostname: String,
    pub reference_family: Option<String>,
    pub reference_version: Option<String>,
    pub image_type: String,
    pub console: String,
    pub kargs: String,
    pub variant: Option<String>,
    pub node_config: Option<String>,
    pub sha256: String,
    pub size: i64,
    pub download_expires: i64,
    /// `None` for a generic medium (no node key).
    pub key_generation: Option<i64>,
}

/// The download `download_id` names, if it expires after `now`.
pub async fn live_download(tx: &mut Tx, download_id: &str, now: i64) -> Result<Option<Download>> {
    first(
        tx,
        "SELECT t.issued_medium_id, n.hostname, t.reference_family, t.reference_version, t.image_type, t.console, \
         t.kargs, t.variant, t.node_config, t.sha256, t.size, t.download_expires, t.key_generation \
         FROM issued_media t JOIN nodes n ON n.node_id = t.node_id WHERE t.download_id = $1 AND t.download_expires > $2",
        &[SqlValue::text(download_id), SqlValue::int(now)],
        |r| {
            Ok(Download {
                issued_medium_id: get(r, "issued_medium_id")?,
                hostname: get(r, "hostname")?,
                reference_family: get(r, "reference_family")?,
                reference_version: get(r, "reference_version")?,
                image_type: get(r, "image_type")?,
                console: get(r, "console")?,
                kargs: get(r, "kargs")?,
                variant: get(r, "variant")?,
                node_config: get(r, "node_config")?,
                sha256: get(r, "sha256")?,
                size: get(r, "size")?,
                download_expires: get(r, "download_expires")?,
                key_generation: get(r, "key_generation")?,
            })
        },
    )
    .await
}

/// A key the ledger recorded for a node, with the medium that carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedKey {
    pub issued_medium_id: i64,
    pub node_key: String,
    pub sha256: String,
    pub superseded_by: Option<i64>,
    pub issued: i64,
}

/// Every keyed medium issued for `node_id`, newest first.
pub async fn node_keys(tx: &mut Tx, node_id: i64) -> Result<Vec<IssuedKey>> {
    all(
        tx,
        "SELECT issued_medium_id, node_key, sha256, superseded_by, issued FROM issued_media \
         WHERE node_id = $1 AND node_key IS NOT NULL ORDER BY issued_medium_id DESC",
        &[SqlValue::int(node_id)],
        |r| {
            Ok(IssuedKey {
                issued_medium_id: get(r, "issued_medium_id")?,
                node_key: get(r, "node_key")?,
                sha256: get(r, "sha256")?,
                superseded_by: get(r, "superseded_by")?,
                issued: get(r, "issued")?,
            })
        },
    )
    .await
}

/// How many ledger rows still keep a download id and a plnode.txt (what expiry clears).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeptForDownloads {
    pub download_ids: i64,
    pub node_configs: i64,
}

pub async fn kept_for_downloads(tx: &mut Tx) -> Result<KeptForDownloads> {
    Ok(first(
        tx,
        "SELECT COUNT(download_id) AS download_ids, COUNT(node_config) AS node_configs FROM issued_media",
        &[],
        |r| Ok(KeptForDownloads { download_ids: get(r, "download_ids")?, node_configs: get(r, "node_configs")? }),
    )
    .await?
    .unwrap_or(KeptForDownloads { download_ids: 0, node_configs: 0 }))
}
