//! The manifest stored beside a reference's templates (`manifest.json`, docs/media.md §2 step 1):
//! what the reference was made from (sha256 of every input), the values computed once at
//! import (`ramdisk_size`, the root's `/etc/passwd`, the timestamp), and for every template its
//! file, size, sha256 and slots (byte offset, size and fill of each per-node file), and the
//! SHA-256 state after its bytes before the first slot ([`HashPrefix`]), from which a node
//! medium's sha256 is finished by hashing only the slots and what follows them (FIPS 180-4
//! §6.2: SHA-256 hashes block after block, so the state after a prefix is all the prefix
//! contributes).
//!
//! UEFI (docs/uefi.md): the reference's [`UefiLoader`] says which
//! loader files ([`Inputs::grub_efi`], [`Inputs::shim`], [`Inputs::mok_manager`]) go into the
//! ISO types' `efiboot.img` and onto the USB types' FAT volume; `boot/grub/grub.cfg` is one
//! more [`SlotLocation`] ([`SlotKind::GrubConfig`]) of every type.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{MediaError, io_error};
use crate::request::ImageType;

/// The manifest format this code reads and writes. Format 3 added [`Template::hash_prefix`]
/// (and templates with their slots last), format 4 UEFI boot of the ISO types
/// ([`Inputs::grub_efi`], [`SlotKind::GrubConfig`]), format 5 the loader choice
/// ([`Manifest::uefi`]), UEFI on the USB types and the hybrid ISO ([`Inputs::isohybrid_mbr`]);
/// manifests of other formats are refused, the reference to be imported again.
pub const MANIFEST_FORMAT: u32 = 5;

/// The UEFI loader a reference's media carry, chosen at import.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UefiLoader {
    /// A GRUB made at import by `grub-mkimage` (package grub-efi-amd64-bin) with its modules
    /// built in: boots on UEFI firmware with Secure Boot off; firmware enforcing Secure Boot
    /// refuses it (it is not signed).
    #[default]
    StandaloneGrub,
    /// The distribution's signed shim as `BOOTX64.EFI`, its signed GRUB as `grubx64.efi` and
    /// its MokManager as `mmx64.efi` (Debian packages shim-signed, grub-efi-amd64-signed):
    /// boots with Secure Boot enforced when the kernel is signed by a key the chain trusts
    /// (the distribution's, or one enrolled as a MOK).
    SignedShim,
    /// BIOS only: no EFI boot entry, no EFI files.
    None,
}

impl UefiLoader {
    /// Every choice, in the order `--help` lists them.
    pub const ALL: [UefiLoader; 3] = [UefiLoader::StandaloneGrub, UefiLoader::SignedShim, UefiLoader::None];

    /// The name used on the command line and in the manifest.
    pub fn name(self) -> &'static str {
        match self {
            UefiLoader::StandaloneGrub => "standalone-grub",
            UefiLoader::SignedShim => "signed-shim",
            UefiLoader::None => "none",
        }
    }

    /// Whether firmware enforcing Secure Boot (with the usual Microsoft UEFI CA) starts the
    /// loader; the kernel must then be signed too.
    pub fn secure_boot(self) -> bool {
        self == UefiLoader::SignedShim
    }
}

impl std::fmt::Display for UefiLoader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for UefiLoader {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        UefiLoader::ALL.into_iter().find(|l| l.name() == s).ok_or_else(|| {
            format!("unknown UEFI loader {s:?}: one of {}", UefiLoader::ALL.map(UefiLoader::name).join(", "))
        })
    }
}

/// The per-node files that live in slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlotKind {
    /// `overlay.img`, padded with zeros (the kernel's initramfs unpacker skips them).
    Overlay,
    /// `isolinux.cfg` / `syslinux.cfg`, padded with newlines.
    Config,
    /// The image root's `pl_version`, padded with newlines.
    Version,
    /// `cramfs.img` of the cramfs types (root and overlay merged), padded with zeros (the
    /// kernel copies the superblock's size into the ramdisk and ignores the rest).
    Cramfs,
    /// `boot/grub/grub.cfg` (read by the UEFI loader), padded with `#` (a comment to GRUB).
    GrubConfig,
}

impl SlotKind {
    /// A human name for error messages.
    pub fn describe(self) -> &'static str {
        match self {
            SlotKind::Overlay => "overlay (overlay.img)",
            SlotKind::Config => "bootloader configuration",
            SlotKind::Version => "version file (pl_version)",
            SlotKind::Cramfs => "merged root file system (cramfs.img)",
            SlotKind::GrubConfig => "UEFI bootloader configuration (boot/grub/grub.cfg)",
        }
    }
}

/// Where one slot is in a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotLocation {
    /// Which file.
    pub kind: SlotKind,
    /// Its path inside the image.
    pub path: String,
    /// Byte offset in the image file (partition offset included).
    pub offset: u64,
    /// Bytes reserved (and recorded as the file's size).
    pub size: u64,
    /// The padding byte.
    pub fill: u8,
}

/// One template image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    /// `None` for the default kernel.
    pub variant: Option<String>,
    /// `iso`, `usb`, `usb_partition`, `iso_cramfs` or `usb_cramfs`.
    pub image_type: ImageType,
    /// Path relative to the reference directory.
    pub file: String,
    /// Bytes.
    pub size: u64,
    /// sha256 of the whole template, lower-case hex.
    pub sha256: String,
    /// The slots, by offset.
    pub slots: Vec<SlotLocation>,
    /// The SHA-256 state after the bytes before the first slot.
    pub hash_prefix: HashPrefix,
}

/// The SHA-256 state after the first `len` bytes of a template: its bytes before the first
/// slot, the same in every medium made from the template. The writers put the slots after all
/// other file data (ECMA-119 data area, FAT clusters), so only the slots and the container's
/// tail (ISO padding, FAT sectors past the last cluster) come after `len`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HashPrefix {
    /// Bytes hashed: the offset of the first slot.
    pub len: u64,
    /// sha2 0.11's serialized `Sha256` state (`SerializableState`: hash words, block count,
    /// pending bytes of the incomplete block) in lower-case hex. A sha2 version serializing
    /// differently needs a new manifest format.
    pub state: String,
}

/// sha256 (lower-case hex) of every input; the files are stored under these names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inputs {
    /// The default kernel.
    pub kernel: String,
    /// `bootcd.img`.
    pub initrd: String,
    /// `isolinux.bin`.
    pub isolinux: String,
    /// `ldlinux.c32` (ISOLINUX's; SYSLINUX installs its own on FAT).
    pub ldlinux: String,
    /// SYSLINUX's `mbr.bin`.
    pub mbr: String,
    /// The UEFI GRUB: made at import by `grub-mkimage` (`EFI/BOOT/BOOTX64.EFI`) for
    /// [`UefiLoader::StandaloneGrub`], the distribution's signed GRUB (`EFI/BOOT/grubx64.efi`)
    /// for [`UefiLoader::SignedShim`]; empty for [`UefiLoader::None`].
    #[serde(default)]
    pub grub_efi: String,
    /// The signed shim (`EFI/BOOT/BOOTX64.EFI`) of [`UefiLoader::SignedShim`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shim: Option<String>,
    /// The signed MokManager (`EFI/BOOT/mmx64.efi`) shim starts to enrol a key, of
    /// [`UefiLoader::SignedShim`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mok_manager: Option<String>,
    /// SYSLINUX's `isohdpfx.bin`: the boot code of the ISO types' hybrid MBR.
    #[serde(default)]
    pub isohybrid_mbr: String,
    /// Variant name → kernel.
    pub variants: BTreeMap<String, String>,
}

/// Slot sizes of every template of a reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotSizes {
    /// `overlay.img`.
    pub overlay: u64,
    /// The bootloader configuration.
    pub config: u64,
    /// `pl_version`.
    pub version: u64,
    /// `cramfs.img` of the cramfs types: the generic merged cramfs built at import, rounded up
    /// to [`SlotSizes::CRAMFS_ROUNDING`], plus [`SlotSizes::CRAMFS_MARGIN`] for node overlays.
    pub cramfs: u64,
    /// `boot/grub/grub.cfg`.
    pub grub_config: u64,
}

impl SlotSizes {
    /// 256 KiB overlay, 4 KiB configurations (both loaders), 512-byte version; the cramfs slot
    /// is sized at import ([`SlotSizes::cramfs_slot`]).
    pub const DEFAULT: SlotSizes =
        SlotSizes { overlay: 256 * 1024, config: 4096, version: 512, cramfs: 0, grub_config: 4096 };
    /// The cramfs slot starts from the generic cramfs rounded up to this (64 KiB)…
    pub const CRAMFS_ROUNDING: u64 = 64 * 1024;
    /// …plus this much room for what a node's overlay adds (2 MiB).
    pub const CRAMFS_MARGIN: u64 = 2 * 1024 * 1024;

    /// The cramfs slot for a generic merged cramfs of `generic_len` bytes.
    pub fn cramfs_slot(generic_len: u64) -> u64 {
        generic_len.div_ceil(Self::CRAMFS_ROUNDING) * Self::CRAMFS_ROUNDING + Self::CRAMFS_MARGIN
    }

    /// The size of one slot.
    pub fn of(&self, kind: SlotKind) -> u64 {
        match kind {
            SlotKind::Overlay => self.overlay,
            SlotKind::Config => self.config,
            SlotKind::Version => self.version,
            SlotKind::Cramfs => self.cramfs,
            SlotKind::GrubConfig => self.grub_config,
        }
    }
}

/// Everything known about one imported reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The manifest format version (`MANIFEST_FORMAT` when written by this build).
    pub format: u32,
    /// `<pldistro>-<fcdistro>-<arch>`.
    pub family: String,
    /// The BootCD version.
    pub version: String,
    /// Seconds since the epoch stamped on every file of every image (from the inputs).
    pub timestamp: i64,
    /// `ramdisk_size=` in KiB: the uncompressed root plus the overlay slot, rounded up.
    pub ramdisk_size_kib: u64,
    /// Uncompressed bytes of `bootcd.img`.
    pub initrd_uncompressed_bytes: u64,
    /// The root's `/etc/passwd` (the overlay's copy replaces root's hash).
    pub root_passwd: String,
    /// sha256 of every input.
    pub inputs: Inputs,
    /// `syslinux --version` of the installer that made the FAT templates.
    pub syslinux: String,
    /// The UEFI loader of every medium of this reference.
    #[serde(default)]
    pub uefi: UefiLoader,
    /// The kernels (`default` or the variant's name) without an Authenticode signature:
    /// Secure Boot refuses them even through a signed loader.
    #[serde(default)]
    pub unsigned_kernels: Vec<String>,
    /// Slot sizes.
    pub slot_sizes: SlotSizes,
    /// Every template.
    pub templates: Vec<Template>,
    /// Why this reference has no cramfs templates (its root does not fit cramfs' limits, e.g. a
    /// file of 16 MiB or more); the cramfs types are then refused for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cramfs_unavailable: Option<String>,
}

impl Manifest {
    /// Whether this reference's media boot with Secure Boot enforced: a signed loader and
    /// every kernel signed (whether the firmware trusts the kernel's signer — the
    /// distribution's key through shim, or an enrolled MOK — is not known here).
    pub fn secure_boot(&self) -> bool {
        self.uefi.secure_boot() && self.unsigned_kernels.is_empty()
    }

    /// The variants, sorted.
    pub fn variants(&self) -> Vec<String> {
        self.inputs.variants.keys().cloned().collect()
    }

    /// The template of one variant and type.
    pub fn template(&self, variant: Option<&str>, image_type: ImageType) -> Option<&Template> {
        self.templates.iter().find(|t| t.variant.as_deref() == variant && t.image_type == image_type)
    }

    /// Reads and checks a manifest file.
    pub fn load(path: &Path) -> Result<Manifest, MediaError> {
        /// The format alone, checked first: another format's fields need not parse.
        #[derive(Deserialize)]
        struct Format {
            format: u32,
        }
        let text = std::fs::read(path).map_err(io_error(format!("reading {}", path.display())))?;
        let parse_error = |source| MediaError::Manifest { path: path.display().to_string(), source };
        let Format { format } = serde_json::from_slice(&text).map_err(parse_error)?;
        if format != MANIFEST_FORMAT {
            return Err(MediaError::Corrupt(format!(
                "{}: manifest format {format} (this bootmedium reads {MANIFEST_FORMAT}); remove the reference and \
                 import it again",
                path.display(),
            )));
        }
        serde_json::from_slice(&text).map_err(parse_error)
    }

    /// The inputs named by a manifest file of any format (every format records them alike),
    /// for removing unused stored inputs while references of an older format remain.
    pub(crate) fn load_inputs(path: &Path) -> Result<Inputs, MediaError> {
        #[derive(Deserialize)]
        struct InputsOnly {
            inputs: Inputs,
        }
        let text = std::fs::read(path).map_err(io_error(format!("reading {}", path.display())))?;
        let InputsOnly { inputs } = serde_json::from_slice(&text)
            .map_err(|source| MediaError::Manifest { path: path.display().to_string(), source })?;
        Ok(inputs)
    }

    /// Writes the manifest (pretty JSON).
    pub fn save(&self, path: &Path) -> Result<(), MediaError> {
        let mut text = serde_json::to_vec_pretty(self)
            .map_err(|source| MediaError::Manifest { path: path.display().to_string(), source })?;
        text.push(b'\n');
        std::fs::write(path, text).map_err(io_error(format!("writing {}", path.display())))
    }
}
