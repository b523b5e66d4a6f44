//! Where the reference store keeps things in the data directory (docs/media.md §2 steps 1–3):
//!
//! ```text
//! <data-dir>/references/
//!   objects/<sha256>                       every input, content-addressed (kernels, bootcd.img,
//!                                          isolinux.bin, ldlinux.c32, mbr.bin, isohdpfx.bin,
//!                                          and the UEFI loader files: the GRUB made at import,
//!                                          or the signed shim, GRUB and MokManager)
//!   families/<family>/<version>/
//!     manifest.json                        see [`crate::Manifest`]
//!     <default|variant>/<type>.img         the templates (iso, usb, usb_partition, iso_cramfs,
//!                                          usb_cramfs)
//!   staging/                               imports in progress (renamed into families/ when
//!                                          complete, so a reference is there whole or not at all)
//!   tmp/                                   cramfs builds (files without a name: O_TMPFILE)
//!   generation                             rewritten (temporary file and rename) by every import
//!                                          and removal: a process caching manifests drops its
//!                                          cache when the content changes ([`crate::ReferenceStore`])
//! ```
//!
//! Its own module because both the store ([`crate::ReferenceStore`]) and a stored reference
//! ([`crate::Reference`]) find files by it, and neither should depend on the other for that.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{MediaError, io_error};

/// The directory of a reference's default-kernel templates (a variant's are under its name).
pub(crate) const VARIANT_DEFAULT_DIR: &str = "default";
/// A reference's manifest, in its directory.
pub(crate) const MANIFEST_FILE: &str = "manifest.json";

/// The paths of one store (cheap to clone: references carry it).
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    root: Arc<Path>,
}

impl Layout {
    /// The store of `data_dir`.
    pub(crate) fn new(data_dir: &Path) -> Layout {
        Layout { root: data_dir.join("references").into() }
    }

    /// `references/`.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn families(&self) -> PathBuf {
        self.root.join("families")
    }

    pub(crate) fn objects(&self) -> PathBuf {
        self.root.join("objects")
    }

    /// A stored input by its sha256.
    pub(crate) fn object(&self, sha256: &str) -> PathBuf {
        self.root.join("objects").join(sha256)
    }

    pub(crate) fn staging(&self) -> PathBuf {
        self.root.join("staging")
    }

    /// The generation marker.
    pub(crate) fn generation(&self) -> PathBuf {
        self.root.join("generation")
    }

    /// `tmp/`, created when missing.
    pub(crate) fn tmp_dir(&self) -> Result<PathBuf, MediaError> {
        let dir = self.root.join("tmp");
        create_dir(&dir)?;
        Ok(dir)
    }
}

pub(crate) fn create_dir(path: &Path) -> Result<(), MediaError> {
    std::fs::create_dir_all(path).map_err(io_error(format!("creating {}", path.display())))
}
