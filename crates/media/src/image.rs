//! Whole images from their files, with our format writers (docs/media.md §1 image types, §2 step 1):
//!
//! - `iso`: ISO 9660 + Rock Ridge + Joliet, El Torito no-emulation boot of `isolinux.bin` (load
//!   size 4, boot-info-table, catalog `boot.cat`), files `isolinux.bin`, `ldlinux.c32`,
//!   `isolinux.cfg`, `kernel`, `bootcd.img`, `overlay.img`, `pl_version`, `bootmedium.json`;
//! - `usb`: a FAT superfloppy with `kernel`, `bootcd.img`, `overlay.img`, `syslinux.cfg`,
//!   `pl_version`, `bootmedium.json` and 4 MiB free (build.sh's FREE_SPACE), then
//!   `syslinux --install` adds `ldlinux.sys` and `ldlinux.c32`;
//! - `usb_partition`: an MBR (SYSLINUX `mbr.bin` boot code, one active partition at LBA 2048)
//!   in front of the same volume, installed with `syslinux --install --offset`;
//! - for the cramfs types, `cramfs.img` replaces `bootcd.img` and `overlay.img`.
//!
//! UEFI (docs/uefi.md), unless the reference's loader is `none`: every
//! medium carries `.disk/info` (the marker the UEFI GRUB searches for) and the
//! `boot/grub/grub.cfg` slot; GRUB reads it, the kernel and the initrds from the medium's own
//! file system, so the loader files are the same for every node.
//! - ISO types: a second El Torito entry (platform EFI) for `efiboot.img`, a FAT image holding
//!   only the loader files (`EFI/BOOT/BOOTX64.EFI`, and for shim `grubx64.efi` and `mmx64.efi`);
//!   1440 KiB FAT12 when they fit, else as large as they need. The ISO is hybrid: its system
//!   area holds an MBR ([`bootmedium_formats::mbr::HybridIso`]: ISOLINUX's `isohdpfx.bin`
//!   starting `isolinux.bin` on BIOS, an EFI system partition entry over `efiboot.img` for
//!   UEFI), so the same image written to a USB stick or attached as a disk boots too.
//! - USB types: the loader files in `EFI/BOOT/` of the FAT volume itself (UEFI 2.10 §3.5.1.1:
//!   removable media boot from `\EFI\BOOT\BOOTX64.EFI`); `usb_partition`'s one partition is
//!   then of type 0xEF (EFI system partition, still active for SYSLINUX's MBR code).
//!
//! The overlay (or `cramfs.img`), the configurations and `pl_version` are written into
//! fixed-size slots (zeros after the overlay and the cramfs, newlines after the texts, `#` after
//! `grub.cfg`), and their byte offsets returned. The same function builds a reference's
//! templates (generic slot contents) and the "full build" of one node (the node's slot
//! contents) that proves the splice right. `bootmedium.json` names the
//! family, version, variant and type, so `inspect` needs no manifest.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use bootmedium_formats::fat::{FatBuilder, FatFileOptions, FatOptions, FatType};
use bootmedium_formats::iso9660::{BootEntry, ElTorito, FileOptions, IsoBuilder, IsoOptions};
use bootmedium_formats::mbr::{ChsFields, HybridIso, Mbr, Partition, partition_type};
use bootmedium_formats::{PathSource, Timestamp};
use serde::{Deserialize, Serialize};

use crate::error::{MediaError, io_error};
use crate::manifest::{SlotKind, SlotLocation, SlotSizes};
use crate::request::ImageType;
use crate::tools;

/// Where the partition of `usb_partition` starts (sectors of 512 bytes): 1 MiB, as fdisk does.
pub(crate) const PARTITION_START_LBA: u32 = 2048;
const PARTITION_OFFSET: u64 = PARTITION_START_LBA as u64 * 512;
/// Free space left in FAT volumes for SYSLINUX's files (build.sh: FREE_SPACE=4096 KiB).
const FAT_FREE_BYTES: u64 = 4096 * 1024;
const WRITE_BUFFER: usize = 1024 * 1024;
/// The ISO volume identifier and FAT label.
pub(crate) const VOLUME_LABEL: &str = "BOOTCD";
/// The marker file naming what an image is.
pub(crate) const MARKER_PATH: &str = "bootmedium.json";
/// The file the UEFI loader searches for to find its medium (docs/uefi.md; Debian's signed GRUB
/// looks for it too).
pub(crate) const DISK_INFO_PATH: &str = ".disk/info";
/// The EFI system partition image of the ISO types.
pub(crate) const EFIBOOT_PATH: &str = "efiboot.img";
/// The UEFI loader's configuration on the medium's file system, in GRUB's prefix directory.
pub(crate) const GRUB_CONFIG_PATH: &str = "boot/grub/grub.cfg";
/// GRUB's prefix: where it looks for `grub.cfg` (the directory of [`GRUB_CONFIG_PATH`]).
pub(crate) const GRUB_PREFIX: &str = "/boot/grub";
/// The ESP image's size: a 1.44 MB floppy's, FAT12, when the loader fits.
const EFIBOOT_BYTES: u64 = 1440 * 1024;
/// Where UEFI firmware looks for the loader of removable media (UEFI 2.10 §3.5.1.1).
pub(crate) const EFI_LOADER_PATH: &str = "EFI/BOOT/BOOTX64.EFI";
/// Where shim looks for the GRUB it starts: its own directory.
pub(crate) const EFI_SIGNED_GRUB_PATH: &str = "EFI/BOOT/grubx64.efi";
/// Where shim looks for MokManager when a key is to be enrolled.
pub(crate) const EFI_MOK_MANAGER_PATH: &str = "EFI/BOOT/mmx64.efi";
/// Room left in a larger ESP image (shim, signed GRUB, MokManager) past its files.
const ESP_SPARE_BYTES: u64 = 64 * 1024;

/// `bootmedium.json`: what an image bootmedium made is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    /// Always `"bootmedium"`.
    pub made_by: String,
    /// Node family.
    pub family: String,
    /// BootCD version.
    pub version: String,
    /// Kernel variant, `None` for the default kernel.
    pub variant: Option<String>,
    /// Image type.
    pub image_type: ImageType,
}

impl Marker {
    pub(crate) fn bytes(&self) -> Result<Vec<u8>, MediaError> {
        let mut text =
            serde_json::to_vec(self).map_err(|source| MediaError::Manifest { path: MARKER_PATH.to_owned(), source })?;
        text.push(b'\n');
        Ok(text)
    }
}

/// The root file system of the medium.
pub(crate) enum Payload<'a> {
    /// `bootcd.img` plus an overlay slot.
    Split { initrd: &'a Path, overlay: Vec<u8> },
    /// One merged `cramfs.img`, in a slot.
    Cramfs { image: crate::cramfs_medium::FileSlice },
}

/// Everything one image is made of.
pub(crate) struct ImageSpec<'a> {
    /// `iso`, `usb` or `usb_partition` (the container; cramfs is in `payload`).
    pub container: ImageType,
    pub kernel: &'a Path,
    pub payload: Payload<'a>,
    pub isolinux: &'a Path,
    pub ldlinux: &'a Path,
    pub mbr: &'a Path,
    /// ISOLINUX's `isohdpfx.bin` (the hybrid ISO's MBR code).
    pub isohybrid_mbr: &'a Path,
    /// The UEFI loader files (path under the FAT root, file); empty: BIOS only.
    pub uefi_files: Vec<(&'static str, std::path::PathBuf)>,
    pub marker: Vec<u8>,
    /// `.disk/info` (with a UEFI loader).
    pub disk_info: Vec<u8>,
    /// `boot/grub/grub.cfg` (with a UEFI loader).
    pub grub_config: Vec<u8>,
    pub config: Vec<u8>,
    pub version: Vec<u8>,
    pub slot_sizes: SlotSizes,
    pub timestamp: i64,
    /// FAT volume serial and MBR disk signature.
    pub id: u32,
}

/// Where the slot files go in every container.
fn slot_path(kind: SlotKind, container: ImageType) -> &'static str {
    match (kind, container) {
        (SlotKind::Overlay, _) => "overlay.img",
        (SlotKind::Config, ImageType::Iso) => "isolinux.cfg",
        (SlotKind::Config, _) => "syslinux.cfg",
        (SlotKind::Version, _) => "pl_version",
        (SlotKind::Cramfs, _) => "cramfs.img",
        (SlotKind::GrubConfig, _) => GRUB_CONFIG_PATH,
    }
}

fn fill(kind: SlotKind) -> u8 {
    match kind {
        SlotKind::Overlay | SlotKind::Cramfs => 0,
        SlotKind::Config | SlotKind::Version => b'\n',
        SlotKind::GrubConfig => b'#',
    }
}

fn source(path: &Path) -> Result<PathSource, MediaError> {
    PathSource::new(path).map_err(io_error(format!("reading {}", path.display())))
}

/// One file of a container.
struct ImageFile {
    path: &'static str,
    contents: FileContents,
    slot: Option<SlotKind>,
}

/// The files every container holds.
fn files(spec: &ImageSpec<'_>) -> Result<Vec<ImageFile>, MediaError> {
    let file = |path, contents, slot| ImageFile { path, contents, slot };
    let mut files = vec![
        file("kernel", FileContents::Path(source(spec.kernel)?), None),
        file(MARKER_PATH, FileContents::Bytes(spec.marker.clone()), None),
        file(
            slot_path(SlotKind::Config, spec.container),
            FileContents::Bytes(spec.config.clone()),
            Some(SlotKind::Config),
        ),
        file(
            slot_path(SlotKind::Version, spec.container),
            FileContents::Bytes(spec.version.clone()),
            Some(SlotKind::Version),
        ),
    ];
    match &spec.payload {
        Payload::Split { initrd, overlay } => {
            files.push(file("bootcd.img", FileContents::Path(source(initrd)?), None));
            files.push(file(
                slot_path(SlotKind::Overlay, spec.container),
                FileContents::Bytes(overlay.clone()),
                Some(SlotKind::Overlay),
            ));
        }
        Payload::Cramfs { image } => files.push(file(
            slot_path(SlotKind::Cramfs, spec.container),
            FileContents::Slice(image.clone()),
            Some(SlotKind::Cramfs),
        )),
    }
    if spec.container == ImageType::Iso {
        files.push(file("isolinux.bin", FileContents::Path(source(spec.isolinux)?), None));
        files.push(file("ldlinux.c32", FileContents::Path(source(spec.ldlinux)?), None));
    }
    if !spec.uefi_files.is_empty() {
        if spec.container == ImageType::Iso {
            files.push(file(EFIBOOT_PATH, FileContents::Bytes(efiboot(spec)?), None));
        } else {
            for (path, loader) in &spec.uefi_files {
                files.push(file(path, FileContents::Path(source(loader)?), None));
            }
        }
        files.push(file(DISK_INFO_PATH, FileContents::Bytes(spec.disk_info.clone()), None));
        files.push(file(
            slot_path(SlotKind::GrubConfig, spec.container),
            FileContents::Bytes(spec.grub_config.clone()),
            Some(SlotKind::GrubConfig),
        ));
    }
    for f in &files {
        if let Some(kind) = f.slot {
            let size = spec.slot_sizes.of(kind);
            if f.contents.len() > size {
                return Err(MediaError::SlotOverflow {
                    slot: kind.describe(),
                    content_len: f.contents.len(),
                    slot_size: size,
                });
            }
        }
    }
    Ok(files)
}

enum FileContents {
    Path(PathSource),
    /// An open (unnamed) file, such as a merged cramfs.
    Slice(crate::cramfs_medium::FileSlice),
    Bytes(Vec<u8>),
}

impl FileContents {
    fn len(&self) -> u64 {
        match self {
            FileContents::Path(p) => bootmedium_formats::FileSource::len(p),
            FileContents::Slice(s) => bootmedium_formats::FileSource::len(s),
            FileContents::Bytes(b) => b.len() as u64,
        }
    }
    fn boxed(self) -> Box<dyn bootmedium_formats::FileSource> {
        match self {
            FileContents::Path(p) => Box::new(p),
            FileContents::Slice(s) => Box::new(s),
            FileContents::Bytes(b) => Box::new(b),
        }
    }
}

/// Builds the image at `out` (created or truncated) and returns its slots by offset.
pub(crate) fn build(spec: &ImageSpec<'_>, out: &Path) -> Result<Vec<SlotLocation>, MediaError> {
    let mut slots = match spec.container {
        ImageType::Iso => build_iso(spec, out)?,
        ImageType::Usb => build_fat(spec, out, false)?,
        ImageType::UsbPartition => build_fat(spec, out, true)?,
        other => return Err(MediaError::Unsupported(format!("{other} is not a container type"))),
    };
    slots.sort_by_key(|s| s.offset);
    Ok(slots)
}

fn create(out: &Path) -> Result<BufWriter<File>, MediaError> {
    let file = File::create(out).map_err(io_error(format!("creating {}", out.display())))?;
    Ok(BufWriter::with_capacity(WRITE_BUFFER, file))
}

fn finish(writer: BufWriter<File>, out: &Path) -> Result<(), MediaError> {
    writer
        .into_inner()
        .map_err(|e| MediaError::Io { context: format!("writing {}", out.display()), source: e.into_error() })?;
    Ok(())
}

/// The EFI system partition image of the ISO types: the loader files only; a 1440 KiB FAT12
/// floppy image when they fit (a standalone GRUB), else the smallest FAT volume (1 MiB steps)
/// holding them with [`ESP_SPARE_BYTES`] to spare (shim, signed GRUB and MokManager take
/// about 6 MB; El Torito counts the image in 512-byte sectors, 16 bits: 32 MiB at most).
fn efiboot(spec: &ImageSpec<'_>) -> Result<Vec<u8>, MediaError> {
    let esp = |size: u64, fat_type: Option<FatType>| -> Result<FatBuilder, MediaError> {
        let mut options = FatOptions::new(size, Timestamp(spec.timestamp));
        options.fat_type = fat_type;
        options.volume_label = Some("EFIBOOT".to_owned());
        options.volume_id = spec.id;
        let mut fat = FatBuilder::new(options)?;
        for (path, loader) in &spec.uefi_files {
            fat.add_boxed_file(path, Box::new(source(loader)?), FatFileOptions::default())?;
        }
        Ok(fat)
    };
    let mut fat = esp(EFIBOOT_BYTES, Some(FatType::Fat12))?;
    if fat.layout().is_err() {
        fat = esp(0, None)?;
        let size = fat.fit_size(ESP_SPARE_BYTES)?;
        fat.set_size_bytes(size);
    }
    let size = fat.options().size_bytes;
    if size / 512 > u64::from(u16::MAX) {
        return Err(MediaError::Unsupported(format!(
            "the UEFI loader files need a {size}-byte ESP image; El Torito can load at most 32 MiB"
        )));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    fat.write(&mut bytes)?;
    Ok(bytes)
}

/// The hybrid ISO's MBR, from the layout: `isolinux.bin`'s and `efiboot.img`'s extents and
/// the image's size, in 512-byte sectors.
fn hybrid_mbr(spec: &ImageSpec<'_>, layout: &bootmedium_formats::iso9660::IsoLayout) -> Result<Vec<u8>, MediaError> {
    let code =
        std::fs::read(spec.isohybrid_mbr).map_err(io_error(format!("reading {}", spec.isohybrid_mbr.display())))?;
    let isolinux = layout
        .file("isolinux.bin")
        .ok_or_else(|| MediaError::Corrupt("isolinux.bin missing from the ISO layout".to_owned()))?;
    let image_sectors = u32::try_from(layout.image_len() / 512)
        .map_err(|_| MediaError::Unsupported("the ISO exceeds 2 TiB".to_owned()))?;
    let esp = match layout.file(EFIBOOT_PATH) {
        Some(extent) => Some((
            extent.lba.checked_mul(4).ok_or_else(|| MediaError::Unsupported("the ISO exceeds 2 TiB".to_owned()))?,
            u32::try_from(extent.content_length.div_ceil(512))
                .map_err(|_| MediaError::Unsupported("the ESP image exceeds 2 TiB".to_owned()))?,
        )),
        None => None,
    };
    let mbr = HybridIso {
        boot_code: &code,
        boot_image_sector: u64::from(isolinux.lba) * 4,
        image_sectors,
        esp,
        disk_signature: spec.id,
    }
    .encode()?;
    Ok(mbr.to_vec())
}

fn build_iso(spec: &ImageSpec<'_>, out: &Path) -> Result<Vec<SlotLocation>, MediaError> {
    let mut iso = IsoBuilder::new(IsoOptions::new(VOLUME_LABEL, Timestamp(spec.timestamp)))?;
    if !spec.uefi_files.is_empty() {
        for dir in [".disk", "boot", "boot/grub"] {
            iso.add_directory(dir, 0o755)?;
        }
    }
    let slot_files = add_files(spec, |path, contents, slot| {
        let options = slot.map_or_else(FileOptions::default, |(size, fill)| FileOptions::slot(size, fill));
        Ok(iso.add_boxed_file(path, contents, options)?)
    })?;
    let mut entries = vec![BootEntry::isolinux("isolinux.bin")];
    if !spec.uefi_files.is_empty() {
        entries.push(BootEntry::efi(EFIBOOT_PATH));
    }
    iso.set_boot(ElTorito { catalog_path: "boot.cat".to_owned(), entries })?;
    // The system area does not move anything, so the layout it is made from is final.
    let system_area = hybrid_mbr(spec, &iso.layout()?)?;
    iso.set_system_area(system_area)?;
    let mut writer = create(out)?;
    let layout = iso.write(&mut writer)?;
    finish(writer, out)?;
    slot_locations(slot_files, "ISO", 0, |path| layout.file(path).map(|e| (e.byte_offset, e.recorded_length)))
}

fn build_fat(spec: &ImageSpec<'_>, out: &Path, partitioned: bool) -> Result<Vec<SlotLocation>, MediaError> {
    let mut options = FatOptions::new(0, Timestamp(spec.timestamp));
    options.volume_label = Some(VOLUME_LABEL.to_owned());
    options.volume_id = spec.id;
    options.hidden_sectors = if partitioned { PARTITION_START_LBA } else { 0 };
    let mut fat = FatBuilder::new(options)?;
    let slot_files = add_files(spec, |path, contents, slot| {
        let options = slot.map_or_else(FatFileOptions::default, |(size, fill)| FatFileOptions::slot(size, fill));
        Ok(fat.add_boxed_file(path, contents, options)?)
    })?;
    let size = fat.fit_size(FAT_FREE_BYTES)?;
    fat.set_size_bytes(size);
    let layout = fat.layout()?;
    let base = if partitioned { PARTITION_OFFSET } else { 0 };
    let mut writer = create(out)?;
    if partitioned {
        writer
            .write_all(&mbr_sector(spec, size, layout.fat_type)?)
            .map_err(io_error(format!("writing {}", out.display())))?;
        let gap = vec![0u8; (PARTITION_OFFSET - 512) as usize];
        writer.write_all(&gap).map_err(io_error(format!("writing {}", out.display())))?;
    }
    fat.write(&mut writer)?;
    finish(writer, out)?;
    tools::install_syslinux(out, base, spec.timestamp)?;
    slot_locations(slot_files, "FAT", base, |path| layout.file(path).map(|e| (e.byte_offset, e.recorded_length)))
}

/// Adds every file of the container through `add` (path, contents, and size and fill when the
/// file is a slot); returns the slot files.
fn add_files(
    spec: &ImageSpec<'_>,
    mut add: impl FnMut(&'static str, Box<dyn bootmedium_formats::FileSource>, Option<(u64, u8)>) -> Result<(), MediaError>,
) -> Result<Vec<(SlotKind, &'static str)>, MediaError> {
    let mut slot_files = Vec::new();
    for ImageFile { path, contents, slot } in files(spec)? {
        if let Some(kind) = slot {
            slot_files.push((kind, path));
        }
        add(path, contents.boxed(), slot.map(|kind| (spec.slot_sizes.of(kind), fill(kind))))?;
    }
    Ok(slot_files)
}

/// Where the slot files ended up: `extent` gives a path's byte offset in its volume and its
/// recorded length; `base` is the volume's offset in the image.
fn slot_locations(
    slot_files: Vec<(SlotKind, &'static str)>,
    container: &str,
    base: u64,
    extent: impl Fn(&str) -> Option<(u64, u64)>,
) -> Result<Vec<SlotLocation>, MediaError> {
    slot_files
        .into_iter()
        .map(|(kind, path)| {
            let (offset, size) = extent(path)
                .ok_or_else(|| MediaError::Corrupt(format!("{path} missing from the {container} layout")))?;
            Ok(SlotLocation { kind, path: path.to_owned(), offset: base + offset, size, fill: fill(kind) })
        })
        .collect()
}

fn mbr_sector(spec: &ImageSpec<'_>, volume_bytes: u64, fat_type: FatType) -> Result<[u8; 512], MediaError> {
    let code = std::fs::read(spec.mbr).map_err(io_error(format!("reading {}", spec.mbr.display())))?;
    let mut mbr = Mbr::new(&code, spec.id)?;
    let sector_count = u32::try_from(volume_bytes / 512)
        .map_err(|_| MediaError::Unsupported("the FAT volume exceeds 2 TiB".to_owned()))?;
    mbr.partitions[0] = Some(Partition {
        bootable: true,
        // With a UEFI loader the volume is an EFI system partition: the type firmware looks
        // for first; BIOS MBR code boots the active partition whatever its type.
        partition_type: match fat_type {
            _ if !spec.uefi_files.is_empty() => partition_type::EFI_SYSTEM,
            FatType::Fat12 => partition_type::FAT12,
            FatType::Fat16 => partition_type::FAT16,
            FatType::Fat32 => partition_type::FAT32_LBA,
        },
        start_lba: PARTITION_START_LBA,
        sector_count,
    });
    Ok(mbr.encode(ChsFields::default())?)
}
