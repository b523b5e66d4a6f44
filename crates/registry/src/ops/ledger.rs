//! The issued-media ledger (`issued_media`, an extension of PLCAPI): superseding, download
//! links and the keys a node was issued.

use super::nodes::StoredKey;
use super::{all, first, get};
use crate::{Backend, Result, SqlValue, Tx};
use sqlx::{Column as _, Row as _};

/// A medium about to enter the ledger: the columns of its `issued_media` row.
#[derive(Debug, Clone, PartialEq)]
pub struct NewIssued<'a> {
    pub node_id: i64,
    pub action: &'a str,
    pub image_type: &'a str,
    pub console: &'a str,
    pub kargs: &'a str,
    pub variant: Option<&'a str>,
    pub reference_family: Option<&'a str>,
    pub reference_version: Option<&'a str>,
    /// The new key the medium carries (`None`: a generic medium, which carries none).
    pub key: Option<NewKey<'a>>,
    pub sha256: &'a str,
    pub size: i64,
    pub person_id: Option<i64>,
    pub issued: i64,
    pub filename: Option<&'a str>,
    pub download_id: Option<&'a str>,
    pub download_expires: Option<i64>,
    pub node_config: Option<&'a str>,
    /// The GetBootMedium options, in their order.
    pub options: &'a [&'a str],
}

/// A key to store on the node with the medium that carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewKey<'a> {
    pub key: &'a str,
    /// Epoch seconds: the node's `last_download`.
    pub renewed_at: i64,
}

/// What [`record`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    pub issued_medium_id: i64,
    /// For a keyed medium: the node's new key generation and its site as the write found it.
    pub stored_key: Option<StoredKey>,
}

/// `INSERT INTO issued_media … SELECT` with [`record`]'s parameters `$1`…`$17` in column order and
/// `$generation` as the key generation; the caller adds the `FROM`.
macro_rules! insert_issued {
    ($generation:literal) => {
        concat!(
            "INSERT INTO issued_media (node_id, action, image_type, console, kargs, variant, reference_family, \
             reference_version, key_generation, node_key, sha256, size, person_id, issued, filename, download_id, \
             download_expires, node_config) SELECT $1, $2, $3, $4, $5, $6, $7, $8, ",
            $generation,
            ", $9, $10, $11, $12, $13, $14, $15, $16, $17"
        )
    };
}

/// A keyless medium (`$9`, the key, is NULL): one insert.
const RECORD_KEYLESS: &str = concat!(insert_issued!("NULL"), " RETURNING issued_medium_id");

/// A keyed medium on SQLite: a script of four statements run in one step of the connection's
/// worker (no round trip between them while the write lock is held). The ledger row is only
/// inserted when the key was stored (the node is live); the rows it supersedes are only
/// marked when that insert happened (`last_insert_rowid()` is this node's new row with this
/// key); the node's sessions end with the key that made them.
const RECORD_KEYED_SQLITE: &str = concat!(
    "UPDATE nodes SET node_key = $9, last_download = $18, key_generation = key_generation + 1 \
     WHERE node_id = $1 AND ",
    node_live!("nodes"),
    " RETURNING key_generation, site_id; ",
    insert_issued!("n.key_generation"),
    " FROM nodes n WHERE n.node_id = $1 AND n.node_key = $9 AND ",
    node_live!("n"),
    " RETURNING issued_medium_id; ",
    "UPDATE issued_media SET superseded_by = last_insert_rowid() WHERE node_id = $1 AND superseded_by IS NULL \
     AND node_key IS NOT NULL AND issued_medium_id <> last_insert_rowid() AND EXISTS (SELECT 1 FROM issued_media m \
     WHERE m.issued_medium_id = last_insert_rowid() AND m.node_id = $1 AND m.node_key = $9); ",
    "DELETE FROM sessions WHERE node_id = $1"
);

/// A keyed medium on PostgreSQL, first: the key and the ledger row, as one statement. The
/// update waits for the node's row while another renewal of the node is under way.
const RECORD_KEYED_POSTGRES: &str = concat!(
    "WITH k AS (UPDATE nodes SET node_key = $9, last_download = $18, key_generation = key_generation + 1 \
     WHERE node_id = $1 AND ",
    node_live!("nodes"),
    " RETURNING key_generation, site_id), ",
    "m AS (",
    insert_issued!("k.key_generation"),
    " FROM k RETURNING issued_medium_id) ",
    "SELECT k.key_generation, k.site_id, m.issued_medium_id FROM k CROSS JOIN m"
);

/// Then, in a statement of its own: superseding and the end of the node's sessions. Its own,
/// because a statement sees the rows committed before it began: the renewal the first one
/// waited for committed after that, and its ledger row must be superseded too.
const SUPERSEDE_POSTGRES: &str = "WITH o AS (UPDATE issued_media SET superseded_by = $2 WHERE node_id = $1 \
     AND superseded_by IS NULL AND node_key IS NOT NULL AND issued_medium_id <> $2) \
     DELETE FROM sessions WHERE node_id = $1";

/// Records a medium in the ledger. A keyed medium also stores its key on the node (with
/// `last_download` and the next key generation), marks every earlier keyed medium of the node
/// superseded by it, and ends the node's sessions (whoever held the old key must not keep a
/// session made with it) — in one script on SQLite (one step under the write lock), in two
/// statements on PostgreSQL. `None` when the node is gone: then nothing was written.
/// Options and expired download links are written after, where there are any.
pub async fn record(tx: &mut Tx, m: &NewIssued<'_>) -> Result<Option<Recorded>> {
    let text = |v: Option<&str>| SqlValue::Text(v.map(str::to_string));
    let params = [
        SqlValue::int(m.node_id),
        SqlValue::text(m.action),
        SqlValue::text(m.image_type),
        SqlValue::text(m.console),
        SqlValue::text(m.kargs),
        text(m.variant),
        text(m.reference_family),
        text(m.reference_version),
        text(m.key.map(|k| k.key)),
        SqlValue::text(m.sha256),
        SqlValue::int(m.size),
        SqlValue::Int(m.person_id),
        SqlValue::int(m.issued),
        text(m.filename),
        text(m.download_id),
        SqlValue::Int(m.download_expires),
        text(m.node_config),
        SqlValue::Int(m.key.map(|k| k.renewed_at)),
    ];
    let recorded = match (m.key, tx.backend()) {
        (None, _) => {
            let rows = tx.rows(RECORD_KEYLESS, &params).await?;
            let Some(row) = rows.first() else { return Ok(None) };
            Recorded { issued_medium_id: get(row, "issued_medium_id")?, stored_key: None }
        }
        (Some(_), Backend::Postgres) => {
            let rows = tx.rows(RECORD_KEYED_POSTGRES, &params).await?;
            let Some(row) = rows.first() else { return Ok(None) };
            let stored_key = StoredKey { key_generation: get(row, "key_generation")?, site_id: get(row, "site_id")? };
            let issued_medium_id = get(row, "issued_medium_id")?;
            tx.execute(SUPERSEDE_POSTGRES, &[SqlValue::int(m.node_id), SqlValue::int(issued_medium_id)]).await?;
            Recorded { issued_medium_id, stored_key: Some(stored_key) }
        }
        (Some(_), Backend::Sqlite) => {
            // The script's rows: the stored key's, then the ledger row's (neither when the
            // node is gone).
            let rows = tx.rows(RECORD_KEYED_SQLITE, &params).await?;
            let has = |row: &sqlx::any::AnyRow, column: &str| row.columns().iter().any(|c| c.name() == column);
            let (Some(key_row), Some(row)) =
                (rows.iter().find(|r| has(r, "site_id")), rows.iter().find(|r| has(r, "issued_medium_id")))
            else {
                return Ok(None);
            };
            let stored_key =
                StoredKey { key_generation: get(key_row, "key_generation")?, site_id: get(key_row, "site_id")? };
            Recorded { issued_medium_id: get(row, "issued_medium_id")?, stored_key: Some(stored_key) }
        }
    };
    for (position, option) in m.options.iter().enumerate() {
        tx.insert_plain(
            "issued_medium_option",
            &[
                ("issued_medium_id", SqlValue::int(recorded.issued_medium_id)),
                ("position", SqlValue::int(position as i64)),
                ("value", SqlValue::text(*option)),
            ],
        )
        .await?;
    }
    if m.download_id.is_some() {
        // Expired links give up what they kept to make their bytes again (the plnode.txt holds
        // a key); done when links are issued, not on every medium.
        expire_downloads(tx, m.issued).await?;
    }
    Ok(Some(recorded))
}

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
