//! ISO 9660 images with Rock Ridge, Joliet and El Torito no-emulation boot.
//!
//! Implements ECMA-119 4th edition (= ISO 9660:1988) at interchange level 2 (10.2), with the
//! Rock Ridge extensions (SUSP 1.12 + RRIP 1.12), Joliet (a supplementary volume descriptor
//! with UCS-2 names) and El Torito 1.0 boot; each submodule names the sections it covers.
//!
//! # How an image is made
//! 1. Describe the tree with an [`IsoBuilder`]: directories, files whose contents come from a
//!    [`FileSource`] (never held in memory), optional El Torito boot entries and an optional
//!    32 KiB system area (for a later isohybrid MBR).
//! 2. [`IsoBuilder::layout`] decides every sector up front, deterministically, and reports each
//!    file's byte offset and length ([`IsoLayout`]) without writing anything.
//! 3. [`IsoBuilder::write`] streams the image front to back into any `Write`, and returns the
//!    same layout.
//!
//! # Slots
//! A file added with a [`Slot`] gets an extent of exactly `slot.size` bytes; its content is
//! followed by `slot.fill` bytes up to that size, and **the size recorded in its directory
//! records (primary and Joliet) is the slot size**, not the content length. Per-node images
//! are then made by overwriting the `slot.size` bytes at [`FileExtent::byte_offset`] with new
//! content padded the same way — no directory record changes, so nothing else moves. This
//! suits the overlay (gzip'd cpio: the kernel skips zero padding after it) and bootloader
//! configurations (pad with spaces or newlines).
//!
//! # Layout (deterministic)
//! Sectors 0–15 system area; 16 primary volume descriptor; 17 El Torito boot record (if
//! booting); then the Joliet descriptor (if enabled) and the terminator; the L and M path
//! tables (primary, then Joliet); the boot catalog; the primary directories in path-table
//! order; the Joliet directories; the Rock Ridge continuation areas; the file extents in
//! depth-first order of the tree (entries sorted by name), except that slot files come after
//! all other files (in the same order among themselves); then `padding_sectors` zero sectors
//! (mkisofs pads 150 by default, for old Linux read-ahead bugs).
//!
//! Slots last: the bytes before the first slot are the same for every image that differs only
//! in its slots' contents, so a hash of that prefix can be computed once and resumed per image
//! (FIPS 180-4 hashes sequentially); only the slots and the padding follow it.
//!
//! Empty files get the sector the next file starts at and occupy nothing, as genisoimage does.
//! Directories deeper than 8 levels are not relocated (readers in use handle them).

mod directory_record;
mod el_torito;
mod fields;
mod layout;
mod names;
mod path_table;
mod reader;
mod rock_ridge;
mod volume_descriptor;

use std::io::{self, Write};

pub use el_torito::{BootEntry, CatalogEntry, ElTorito, LoadSize, Platform};
pub use reader::{IsoEntry, IsoReader, NameSpace};

pub use crate::source::Slot;
use crate::source::{CopyError, FileSource};
use crate::timestamp::Timestamp;
use crate::tree::{DirectoryNode, FileNode, TreeError};

/// The logical sector (and block) size of every image written here.
pub const SECTOR_SIZE: u64 = 2048;
pub(crate) const SECTOR_SIZE_USIZE: usize = 2048;
/// The system area: sectors 0–15 (ECMA-119 6.2.1), where an isohybrid MBR goes.
pub const SYSTEM_AREA_LEN: usize = 16 * SECTOR_SIZE_USIZE;
/// The primary volume descriptor's sector.
pub const PRIMARY_VOLUME_DESCRIPTOR_LBA: u32 = 16;

/// Errors of the ISO writer and reader.
#[derive(Debug, thiserror::Error)]
pub enum IsoError {
    /// Writing or reading the image failed.
    #[error("ISO image I/O failed: {0}")]
    Io(#[from] io::Error),
    /// A file's contents could not be streamed.
    #[error("ISO file {path:?}: {source}")]
    Source {
        /// Path in the tree.
        path: String,
        /// What went wrong.
        #[source]
        source: CopyError,
    },
    /// A path component cannot be stored exactly in every name space.
    #[error("invalid name {name:?} in ISO path {path:?}: {reason}")]
    InvalidName {
        /// The whole path.
        path: String,
        /// The offending component.
        name: String,
        /// The rule it breaks.
        reason: &'static str,
    },
    /// The path is already taken.
    #[error("ISO path {0:?} already exists")]
    AlreadyExists(String),
    /// A file is in the way of a directory.
    #[error("ISO path {0:?}: a parent is a file, not a directory")]
    NotADirectory(String),
    /// The content does not fit its slot.
    #[error("ISO file {path:?}: content of {content_len} bytes does not fit its {slot_size}-byte slot")]
    SlotTooSmall {
        /// Path in the tree.
        path: String,
        /// Bytes of content.
        content_len: u64,
        /// Slot size.
        slot_size: u64,
    },
    /// ISO 9660 records file sizes in 32 bits (multi-extent files are not written).
    #[error("ISO file {path:?} is {size} bytes; a single extent holds at most 4 GiB - 1")]
    FileTooLarge {
        /// Path in the tree.
        path: String,
        /// Its size.
        size: u64,
    },
    /// More sectors than 32-bit LBAs address.
    #[error("the image would exceed 2^32 sectors")]
    ImageTooLarge,
    /// A volume descriptor text field is invalid.
    #[error("ISO {field} {value:?}: {reason}")]
    InvalidField {
        /// Which field.
        field: &'static str,
        /// The value given.
        value: String,
        /// The rule it breaks.
        reason: &'static str,
    },
    /// The system area is at most 32 KiB.
    #[error("system area of {0} bytes exceeds 32768")]
    SystemAreaTooLarge(usize),
    /// The El Torito configuration cannot be satisfied.
    #[error("El Torito: {0}")]
    Boot(String),
    /// The reader found something that is not a valid image.
    #[error("malformed ISO image: {0}")]
    Malformed(String),
    /// The writer's output diverged from its own layout (a bug).
    #[error("internal error: {0}")]
    Internal(String),
}

/// Volume-wide settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsoOptions {
    /// Volume identifier (8.4.5): at most 32 upper-case a-characters (e.g. `PLANETLAB_BOOTCD`);
    /// the Joliet descriptor records its first 16 characters.
    pub volume_id: String,
    /// System identifier (8.4.4), e.g. `LINUX`.
    pub system_id: String,
    /// Volume set identifier (8.4.19).
    pub volume_set_id: String,
    /// Publisher identifier (8.4.20).
    pub publisher_id: String,
    /// Data preparer identifier (8.4.21).
    pub preparer_id: String,
    /// Application identifier (8.4.22).
    pub application_id: String,
    /// The one time stamped on every descriptor, record and Rock Ridge `TF`.
    pub timestamp: Timestamp,
    /// Write Rock Ridge entries (names, modes, times).
    pub rock_ridge: bool,
    /// Write a Joliet tree.
    pub joliet: bool,
    /// Owner recorded in Rock Ridge `PX`.
    pub uid: u32,
    /// Group recorded in Rock Ridge `PX`.
    pub gid: u32,
    /// Zero sectors appended after the last file (counted in the volume size).
    pub padding_sectors: u32,
}

impl IsoOptions {
    /// Defaults: Rock Ridge and Joliet on, root ownership, 150 padding sectors like mkisofs.
    pub fn new(volume_id: &str, timestamp: Timestamp) -> Self {
        Self {
            volume_id: volume_id.to_owned(),
            system_id: "LINUX".to_owned(),
            volume_set_id: String::new(),
            publisher_id: String::new(),
            preparer_id: String::new(),
            application_id: "BOOTMEDIUM".to_owned(),
            timestamp,
            rock_ridge: true,
            joliet: true,
            uid: 0,
            gid: 0,
            padding_sectors: 150,
        }
    }
}

/// Per-file settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileOptions {
    /// Permission bits recorded in Rock Ridge (default `0o444`).
    pub permissions: u32,
    /// Reserve a slot instead of an extent sized to the content.
    pub slot: Option<Slot>,
}

impl Default for FileOptions {
    fn default() -> Self {
        Self { permissions: 0o444, slot: None }
    }
}

impl FileOptions {
    /// Read-only file in a slot of `size` bytes padded with `fill`.
    pub fn slot(size: u64, fill: u8) -> Self {
        Self { permissions: 0o444, slot: Some(Slot { size, fill }) }
    }
}

/// Where a file landed in the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileExtent {
    /// Path in the tree, components joined with `/`, no leading `/`.
    pub path: String,
    /// First sector of the extent.
    pub lba: u32,
    /// `lba * 2048`: where the file's bytes start in the image.
    pub byte_offset: u64,
    /// The size recorded in the directory records (the slot size for slots).
    pub recorded_length: u64,
    /// Bytes of content written now (≤ `recorded_length`).
    pub content_length: u64,
    /// Whether the file is a slot.
    pub is_slot: bool,
}

/// Where a boot entry's image is and what the catalog records for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootImageLayout {
    /// Path of the boot image in the tree.
    pub image_path: String,
    /// Platform of the entry.
    pub platform: Platform,
    /// The image's first sector (the catalog's load RBA).
    pub lba: u32,
    /// Sector count recorded in the catalog (512-byte units).
    pub sector_count: u16,
}

/// Every sector decided, before (or after) writing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsoLayout {
    /// Volume space size in 2048-byte sectors, including the system area and padding.
    pub total_sectors: u32,
    /// Every regular file, in data order (the boot catalog included).
    pub files: Vec<FileExtent>,
    /// The boot catalog's sector, when booting.
    pub boot_catalog_lba: Option<u32>,
    /// The boot entries in catalog order.
    pub boot_images: Vec<BootImageLayout>,
}

impl IsoLayout {
    /// The extent of the file at `path` (no leading `/`).
    pub fn file(&self, path: &str) -> Option<&FileExtent> {
        let path = path.trim_start_matches('/');
        self.files.iter().find(|f| f.path == path)
    }

    /// Size of the image in bytes.
    pub fn image_len(&self) -> u64 {
        u64::from(self.total_sectors) * SECTOR_SIZE
    }
}

/// Describes an image; see the module documentation.
pub struct IsoBuilder {
    pub(crate) options: IsoOptions,
    pub(crate) root: DirectoryNode,
    pub(crate) boot: Option<ElTorito>,
    pub(crate) system_area: Vec<u8>,
}

fn validate_text(field: &'static str, value: &str, max: usize) -> Result<(), IsoError> {
    let invalid = |reason| IsoError::InvalidField { field, value: value.to_owned(), reason };
    if value.len() > max {
        return Err(invalid("too long"));
    }
    if !value.bytes().all(fields::is_a_character) {
        return Err(invalid("only upper-case letters, digits, space and !\"%&'()*+,-./:;<=>?_ are allowed"));
    }
    Ok(())
}

impl IsoBuilder {
    /// An empty tree with these volume settings.
    pub fn new(options: IsoOptions) -> Result<Self, IsoError> {
        validate_text("volume identifier", &options.volume_id, 32)?;
        validate_text("system identifier", &options.system_id, 32)?;
        validate_text("volume set identifier", &options.volume_set_id, 128)?;
        validate_text("publisher identifier", &options.publisher_id, 128)?;
        validate_text("data preparer identifier", &options.preparer_id, 128)?;
        validate_text("application identifier", &options.application_id, 128)?;
        Ok(Self { options, root: DirectoryNode::new(0o555), boot: None, system_area: Vec::new() })
    }

    /// The volume settings.
    pub fn options(&self) -> &IsoOptions {
        &self.options
    }

    /// Adds a directory (and any missing parents, with permissions `0o555`). Adding an
    /// existing directory again sets its permissions.
    pub fn add_directory(&mut self, path: &str, permissions: u32) -> Result<(), IsoError> {
        let components = split_path(path)?;
        let dir = self.root.ensure_directory(&components, 0o555).map_err(|e| tree_error(e, path))?;
        dir.permissions = permissions & 0o7777;
        Ok(())
    }

    /// Adds a file (creating missing parent directories).
    pub fn add_file(
        &mut self,
        path: &str,
        source: impl FileSource + 'static,
        options: FileOptions,
    ) -> Result<(), IsoError> {
        self.add_boxed_file(path, Box::new(source), options)
    }

    /// Like [`IsoBuilder::add_file`] with an already boxed source.
    pub fn add_boxed_file(
        &mut self,
        path: &str,
        source: Box<dyn FileSource>,
        options: FileOptions,
    ) -> Result<(), IsoError> {
        let components = split_path(path)?;
        if let Some(slot) = options.slot
            && source.len() > slot.size
        {
            return Err(IsoError::SlotTooSmall {
                path: path.to_owned(),
                content_len: source.len(),
                slot_size: slot.size,
            });
        }
        let file = FileNode { source, permissions: options.permissions & 0o7777, slot: options.slot };
        if file.recorded_len() > u64::from(u32::MAX) {
            return Err(IsoError::FileTooLarge { path: path.to_owned(), size: file.recorded_len() });
        }
        self.root.insert_file(&components, file, 0o555).map_err(|e| tree_error(e, path))
    }

    /// Makes the image bootable. The boot images must be files of the tree; the catalog path
    /// must be free (it becomes a 2048-byte file, like mkisofs `-c`).
    pub fn set_boot(&mut self, boot: ElTorito) -> Result<(), IsoError> {
        if boot.entries.is_empty() {
            return Err(IsoError::Boot("at least one boot entry is needed".to_owned()));
        }
        split_path(&boot.catalog_path)?;
        self.boot = Some(boot);
        Ok(())
    }

    /// Sets the first 32 KiB (or fewer bytes, zero-padded) of the image.
    pub fn set_system_area(&mut self, bytes: Vec<u8>) -> Result<(), IsoError> {
        if bytes.len() > SYSTEM_AREA_LEN {
            return Err(IsoError::SystemAreaTooLarge(bytes.len()));
        }
        self.system_area = bytes;
        Ok(())
    }

    /// Computes where everything goes, without reading file contents.
    pub fn layout(&self) -> Result<IsoLayout, IsoError> {
        Ok(layout::Plan::new(self)?.public_layout())
    }

    /// Writes the image front to back and returns its layout.
    pub fn write<W: Write>(&self, out: W) -> Result<IsoLayout, IsoError> {
        let plan = layout::Plan::new(self)?;
        plan.write(out, &self.system_area)?;
        Ok(plan.public_layout())
    }
}

fn tree_error(error: TreeError, path: &str) -> IsoError {
    match error {
        TreeError::AlreadyExists => IsoError::AlreadyExists(path.to_owned()),
        TreeError::NotADirectory => IsoError::NotADirectory(path.to_owned()),
    }
}

/// Splits `a/b/c` (a leading `/` is allowed) and validates each component.
fn split_path(path: &str) -> Result<Vec<&str>, IsoError> {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    let components: Vec<&str> = trimmed.split('/').collect();
    for name in &components {
        names::validate(name).map_err(|reason| IsoError::InvalidName {
            path: path.to_owned(),
            name: (*name).to_owned(),
            reason,
        })?;
    }
    Ok(components)
}
