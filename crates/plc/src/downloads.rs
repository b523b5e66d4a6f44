//! Download links (`GET|HEAD /media/{id}`): a link issued by
//! [`crate::methods::boot_medium::issue_link`] is a ledger row with a random id, an expiry and
//! the plnode.txt the medium was made with; answering it reads that row and prepares the same
//! medium again from its reference (no copy on disk, so any server sharing the database can
//! answer).

use crate::context::{Services, blocking};
use crate::fault::{Fault, MethodResult};
use crate::ledger;
use bootmedium_media::PreparedMedium;

/// A live download as its ledger row describes it ([`Services::find_download`]).
pub struct DownloadInfo {
    pub sha256: String,
    pub size: u64,
    /// The file name a browser should save it under.
    pub filename: String,
    pub expires: i64,
    pub image_type: bootmedium_media::ImageType,
    stored: ledger::StoredDownload,
    reference: bootmedium_media::Reference,
}

impl Services {
    /// The live download `id` names, as its ledger row describes it (the database and the
    /// reference's manifest only: no medium is made, so a HEAD costs nothing); `None` when the
    /// id is unknown or expired, or its reference has gone.
    pub async fn find_download(&self, id: &str) -> MethodResult<Option<DownloadInfo>> {
        let mut tx = self.registry.begin_read().await?;
        let stored = ledger::find_download(&mut tx, id, crate::now()).await?;
        drop(tx);
        let Some(stored) = stored else { return Ok(None) };
        let env = self.media()?;
        let reference = match env.store.find(&stored.reference.family, Some(&stored.reference.version)) {
            Ok(r) => r,
            Err(bootmedium_media::MediaError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(Fault::internal(e.to_string())),
        };
        let stem = if stored.generic { stored.reference.family.clone() } else { stored.hostname.clone() };
        let filename = format!("{stem}-{}{}", stored.reference.version, stored.request.image_type.suffix());
        Ok(Some(DownloadInfo {
            sha256: stored.sha256.clone(),
            size: stored.size,
            filename,
            expires: stored.expires,
            image_type: stored.request.image_type,
            stored,
            reference,
        }))
    }

    /// The medium of a download [`Api::find_download`] described, made again from its
    /// reference; `None` when it no longer comes out byte for byte as issued.
    pub fn prepare_download(&self, info: &DownloadInfo) -> MethodResult<Option<PreparedMedium>> {
        let env = self.media()?;
        let settings = env.settings()?;
        let stored = &info.stored;
        let medium = blocking(|| info.reference.prepare(&stored.request, settings))
            .map_err(|e| Fault::internal(e.to_string()))?;
        // The ETag promises these exact bytes; a reference re-imported under the same version
        // with other inputs cannot keep that promise (the check costs the slots' hash only).
        let sha256 = blocking(|| medium.sha256()).map_err(|e| Fault::internal(e.to_string()))?;
        if medium.len() != stored.size || sha256 != stored.sha256 {
            tracing::warn!(
                issued_medium_id = stored.issued_medium_id,
                family = %stored.reference.family,
                version = %stored.reference.version,
                "a download no longer comes out byte for byte as issued (its reference changed); answering 404"
            );
            return Ok(None);
        }
        Ok(Some(medium))
    }
}
