//! The per-node part of a medium, rendered from a request, the PLC settings and the
//! reference's manifest (docs/media.md §1 and §2 step 2): the overlay, the bootloader configuration
//! `pl_version` and the UEFI loader's `grub.cfg`, each checked against its slot.

use crate::error::MediaError;
use crate::loader_config;
use crate::manifest::{Manifest, SlotKind};
use crate::overlay::{self, OverlayInput};
use crate::request::MediumRequest;
use crate::settings::BootSettings;

/// The slot contents of one medium (unpadded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rendered {
    /// The gzip'd cpio overlay.
    pub overlay: Vec<u8>,
    /// `isolinux.cfg` / `syslinux.cfg`.
    pub config: Vec<u8>,
    /// `pl_version`.
    pub version: Vec<u8>,
    /// `boot/grub/grub.cfg` (rendered for every type; media of a `none` loader leave it out).
    pub grub_config: Vec<u8>,
}

impl Rendered {
    /// The contents of one slot; empty for `cramfs.img`, which is built into a file
    /// (`cramfs_medium`), not rendered.
    pub fn slot(&self, kind: SlotKind) -> &[u8] {
        match kind {
            SlotKind::Overlay => &self.overlay,
            SlotKind::Config => &self.config,
            SlotKind::Version => &self.version,
            SlotKind::GrubConfig => &self.grub_config,
            SlotKind::Cramfs => &[],
        }
    }

    /// The contents of one slot, checked to fit in `size` bytes, or the error naming both
    /// sizes (the slot's padding is added where the bytes are read).
    pub fn fitting(&self, kind: SlotKind, size: u64) -> Result<Vec<u8>, MediaError> {
        let content = self.slot(kind);
        let len = content.len() as u64;
        if len > size {
            return Err(MediaError::SlotOverflow { slot: kind.describe(), content_len: len, slot_size: size });
        }
        Ok(content.to_vec())
    }
}

/// Checks the variant and renders the three slot files.
pub(crate) fn render(
    manifest: &Manifest,
    request: &MediumRequest,
    settings: &BootSettings,
) -> Result<Rendered, MediaError> {
    settings.validate()?;
    if let Some(variant) = &request.variant
        && !manifest.inputs.variants.contains_key(variant)
    {
        return Err(MediaError::UnknownVariant {
            family: manifest.family.clone(),
            version: manifest.version.clone(),
            variant: variant.clone(),
            available: manifest.variants(),
        });
    }
    let kargs = loader_config::kernel_args(&request.console, &request.kargs);
    let initrds = if request.image_type.is_cramfs() { "cramfs.img" } else { "bootcd.img,overlay.img" };
    let config = loader_config::render(&request.console, manifest.ramdisk_size_kib, initrds, &kargs)?;
    let grub_config = loader_config::render_grub(&request.console, manifest.ramdisk_size_kib, initrds, &kargs)?;
    let overlay = overlay::render(&OverlayInput {
        settings,
        version: &manifest.version,
        kargs: &kargs,
        root_passwd: &manifest.root_passwd,
        node_config: request.node_config.as_deref(),
        mtime: u32::try_from(manifest.timestamp.max(0)).unwrap_or(u32::MAX),
    })?;
    let version = format!("{}\n", overlay::full_version(&settings.plc_name, &manifest.version)).into_bytes();
    let rendered = Rendered { overlay, config: config.into_bytes(), version, grub_config: grub_config.into_bytes() };
    for kind in [SlotKind::Overlay, SlotKind::Config, SlotKind::Version, SlotKind::GrubConfig] {
        let size = manifest.slot_sizes.of(kind);
        let len = rendered.slot(kind).len() as u64;
        if len > size && !(kind == SlotKind::Overlay && request.image_type.is_cramfs()) {
            return Err(MediaError::SlotOverflow { slot: kind.describe(), content_len: len, slot_size: size });
        }
    }
    Ok(rendered)
}
