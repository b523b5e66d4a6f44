//! One stored reference (docs/media.md §2; docs/uefi.md for its EFI files): its manifest and what
//! it makes. [`Reference::prepare`] makes a node's medium by rendering its slots (and, for the
//! cramfs types, building its cramfs natively) over a template; [`Reference::build_full`]
//! builds the same medium from the stored inputs without templates (the slow path the tests
//! compare the fast one with); `build_image` is the whole-image build that both import (for
//! the templates) and `build_full` use.
//!
//! A `Reference` is cheap to clone (the manifest is shared behind an `Arc`), so the store's
//! manifest cache ([`crate::ReferenceStore::find`]) hands out copies. It finds its inputs
//! through the store's layout (layout.rs), not the store itself, so this module does not
//! depend on `store`; the cramfs builder is given the paths it needs.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cramfs_medium::{self, BuiltCramfs};
use crate::error::{MediaError, io_error};
use crate::hash::{PrefixState, derived_id};
use crate::image::{self, ImageSpec, Marker, Payload};
use crate::layout::{Layout, VARIANT_DEFAULT_DIR};
use crate::manifest::{Manifest, SlotKind, SlotLocation, UefiLoader};
use crate::prepared::{Patch, PreparedMedium};
use crate::render::{self, Rendered};
use crate::request::MediumRequest;
use crate::settings::BootSettings;

/// One imported reference.
#[derive(Debug, Clone)]
pub struct Reference {
    layout: Layout,
    dir: Arc<Path>,
    manifest: Arc<Manifest>,
}

impl Reference {
    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The node family.
    pub fn family(&self) -> &str {
        &self.manifest.family
    }

    /// The BootCD version.
    pub fn version(&self) -> &str {
        &self.manifest.version
    }

    /// The directory holding the manifest and templates.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A reference in `dir` (staging during its import) with `manifest`.
    pub(crate) fn new(layout: Layout, dir: PathBuf, manifest: Manifest) -> Reference {
        Reference { layout, dir: dir.into(), manifest: Arc::new(manifest) }
    }

    /// The same reference in another directory (renamed out of staging).
    pub(crate) fn moved_to(self, dir: PathBuf) -> Reference {
        Reference { dir: dir.into(), ..self }
    }

    /// The manifest to change, during import (before the reference is shared: no copy).
    pub(crate) fn manifest_mut(&mut self) -> &mut Manifest {
        Arc::make_mut(&mut self.manifest)
    }

    /// Builds the cramfs of the reference's root merged with `overlay` into the store's `tmp/`.
    pub(crate) fn build_cramfs(&self, overlay: &[u8]) -> Result<BuiltCramfs, MediaError> {
        cramfs_medium::build(&self.layout.tmp_dir()?, &self.layout.object(&self.manifest.inputs.initrd), overlay)
    }

    fn kernel(&self, variant: Option<&str>) -> Result<PathBuf, MediaError> {
        let hash = match variant {
            None => &self.manifest.inputs.kernel,
            Some(name) => self.manifest.inputs.variants.get(name).ok_or_else(|| MediaError::UnknownVariant {
                family: self.manifest.family.clone(),
                version: self.manifest.version.clone(),
                variant: name.to_owned(),
                available: self.manifest.variants(),
            })?,
        };
        Ok(self.layout.object(hash))
    }

    /// The files of the EFI side (path on the FAT volume, stored input), by the reference's
    /// loader: `BOOTX64.EFI` is what firmware starts from removable media; shim starts
    /// `grubx64.efi` (and `mmx64.efi` to enrol a key) from its own directory.
    /// A manifest naming a loader without its files is refused, not built without them.
    fn uefi_files(&self) -> Result<Vec<(&'static str, PathBuf)>, MediaError> {
        let inputs = &self.manifest.inputs;
        let object = |what: &str, hash: Option<&str>| match hash.filter(|h| !h.is_empty()) {
            Some(hash) => Ok(self.layout.object(hash)),
            None => Err(MediaError::Corrupt(format!(
                "{}: the {} loader has no {what}",
                self.dir.display(),
                self.manifest.uefi
            ))),
        };
        Ok(match self.manifest.uefi {
            UefiLoader::StandaloneGrub => vec![(image::EFI_LOADER_PATH, object("GRUB", Some(&inputs.grub_efi))?)],
            UefiLoader::SignedShim => vec![
                (image::EFI_LOADER_PATH, object("shim", inputs.shim.as_deref())?),
                (image::EFI_SIGNED_GRUB_PATH, object("GRUB", Some(&inputs.grub_efi))?),
                (image::EFI_MOK_MANAGER_PATH, object("MokManager", inputs.mok_manager.as_deref())?),
            ],
            UefiLoader::None => Vec::new(),
        })
    }

    /// Builds one whole image from the stored inputs with `rendered` in its slots; `cramfs` is
    /// the merged root for the cramfs types.
    pub(crate) fn build_image(
        &self,
        request: &MediumRequest,
        rendered: &Rendered,
        cramfs: Option<&BuiltCramfs>,
        out: &Path,
    ) -> Result<Vec<SlotLocation>, MediaError> {
        let inputs = &self.manifest.inputs;
        let kernel = self.kernel(request.variant.as_deref())?;
        let initrd = self.layout.object(&inputs.initrd);
        let payload = match cramfs {
            Some(built) => Payload::Cramfs { image: built.source()? },
            None => Payload::Split { initrd: &initrd, overlay: rendered.overlay.clone() },
        };
        let marker = Marker {
            made_by: "bootmedium".to_owned(),
            family: self.manifest.family.clone(),
            version: self.manifest.version.clone(),
            variant: request.variant.clone(),
            image_type: request.image_type,
        };
        let id = derived_id(&format!(
            "{}\0{}\0{}\0{}\0{}\0{}",
            self.manifest.family,
            self.manifest.version,
            request.variant.as_deref().unwrap_or(VARIANT_DEFAULT_DIR),
            request.image_type,
            inputs.kernel,
            inputs.initrd
        ));
        let spec = ImageSpec {
            container: request.image_type.container(),
            kernel: &kernel,
            payload,
            isolinux: &self.layout.object(&inputs.isolinux),
            ldlinux: &self.layout.object(&inputs.ldlinux),
            mbr: &self.layout.object(&inputs.mbr),
            uefi_files: self.uefi_files()?,
            isohybrid_mbr: &self.layout.object(&inputs.isohybrid_mbr),
            disk_info: format!(
                "PlanetLab BootCD {} {} ({})\n",
                self.manifest.family,
                self.manifest.version,
                request.variant.as_deref().unwrap_or(VARIANT_DEFAULT_DIR)
            )
            .into_bytes(),
            grub_config: rendered.grub_config.clone(),
            marker: marker.bytes()?,
            config: rendered.config.clone(),
            version: rendered.version.clone(),
            slot_sizes: self.manifest.slot_sizes,
            timestamp: self.manifest.timestamp,
            id,
        };
        image::build(&spec, out)
    }

    /// A medium: renders the request's overlay, configuration and `pl_version` (for the cramfs
    /// types, builds the merged cramfs into an unlinked temporary file instead of the overlay),
    /// checks that they fit their slots, and returns the template with them spliced in (no
    /// image bytes are copied here). No external program runs.
    pub fn prepare(&self, request: &MediumRequest, settings: &BootSettings) -> Result<PreparedMedium, MediaError> {
        self.check_cramfs(request)?;
        let rendered = render::render(&self.manifest, request, settings)?;
        let template = self.manifest.template(request.variant.as_deref(), request.image_type).ok_or_else(|| {
            MediaError::Corrupt(format!("{} has no {} template", self.dir.display(), request.image_type))
        })?;
        let path = self.dir.join(&template.file);
        let file = File::open(&path).map_err(io_error(format!("opening the template {}", path.display())))?;
        let len = file.metadata().map_err(io_error(format!("reading {}", path.display())))?.len();
        if len != template.size {
            return Err(MediaError::Corrupt(format!(
                "{} is {len} bytes, its manifest says {}",
                path.display(),
                template.size
            )));
        }
        let mut cramfs =
            if request.image_type.is_cramfs() { Some(self.build_cramfs(&rendered.overlay)?) } else { None };
        let mut patches = Vec::with_capacity(template.slots.len());
        for slot in &template.slots {
            patches.push(if slot.kind == SlotKind::Cramfs {
                let built = cramfs
                    .take()
                    .ok_or_else(|| MediaError::Corrupt(format!("{}: unexpected cramfs slot", path.display())))?;
                Patch::file(slot.offset, built.into_padded_file(slot.size)?, slot.size)
            } else {
                Patch::padded(slot.offset, rendered.fitting(slot.kind, slot.size)?, slot.size, slot.fill)
            });
        }
        if cramfs.is_some() {
            return Err(MediaError::Corrupt(format!("{} has no cramfs slot", path.display())));
        }
        // Checked against the slots by `PreparedMedium::new`. The template's bytes before the
        // first slot are trusted to be those hashed at import (their size is checked above; a
        // full check would read the whole template, which is what the state saves).
        let prefix = PrefixState::from_hex(template.hash_prefix.len, &template.hash_prefix.state)
            .map_err(|reason| MediaError::Corrupt(format!("{}: {reason}", path.display())))?;
        PreparedMedium::new(file, len, patches, Some(prefix), request.image_type, self.manifest.version.clone())
    }

    /// Refuses the cramfs types for a reference whose root cramfs cannot hold.
    fn check_cramfs(&self, request: &MediumRequest) -> Result<(), MediaError> {
        match &self.manifest.cramfs_unavailable {
            Some(reason) if request.image_type.is_cramfs() => Err(MediaError::Unsupported(format!(
                "reference {} {} has no cramfs media: {reason}",
                self.manifest.family, self.manifest.version
            ))),
            _ => Ok(()),
        }
    }

    /// Builds the medium from the stored inputs without templates (running `syslinux` for the
    /// FAT types) into `out`: the slow path, whose bytes [`Reference::prepare`] must equal.
    pub fn build_full(&self, request: &MediumRequest, settings: &BootSettings, out: &Path) -> Result<(), MediaError> {
        self.check_cramfs(request)?;
        let rendered = render::render(&self.manifest, request, settings)?;
        let cramfs = if request.image_type.is_cramfs() {
            let built = self.build_cramfs(&rendered.overlay)?;
            built.check_fits(self.manifest.slot_sizes.cramfs)?;
            Some(built)
        } else {
            None
        };
        self.build_image(request, &rendered, cramfs.as_ref(), out)?;
        Ok(())
    }
}
