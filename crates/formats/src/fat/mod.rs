//! FAT12/16/32 volume images with VFAT long names, every file in contiguous clusters.
//!
//! Implements Microsoft's "FAT: General Overview of On-Disk Format" version 1.03 (fatgen103);
//! each submodule names its sections.
//!
//! Parameters are chosen the way dosfstools' `mkfs.fat` chooses them for an image file, unless
//! the caller fixes the FAT type or the cluster size: FAT32 from 512 MiB on, otherwise FAT12 or
//! FAT16 starting at 4 sectors per cluster (doubling until the cluster count suits the type,
//! FAT16 when it yields more clusters), the classic floppy geometries for 360/720/1200/1440/
//! 2880 KiB volumes, 1 reserved sector (32 on FAT32), 2 FATs, 512 root entries, and above 8192
//! sectors the structures aligned to clusters and the volume to tracks. One deliberate
//! difference: FAT12 layouts that syslinux's installer miscounts as having more than 4084
//! clusters (it subtracts too little for the root directory) are avoided by taking the next
//! cluster size, so every volume made here accepts `syslinux --install`.
//!
//! # How an image is made
//! Like [`crate::iso9660`]: describe the tree with a [`FatBuilder`] (contents come from
//! [`FileSource`]s), get every file's position from [`FatBuilder::layout`], stream the volume
//! front to back with [`FatBuilder::write`].
//!
//! Clusters are allocated from cluster 2 upwards: directories first (depth first, entries
//! sorted by name; the FAT32 root directory is cluster 2), then the files other than slots in
//! the same order, each file in one contiguous run. Slot files take the highest clusters of the
//! volume (in the same order among themselves), so the free clusters lie between the other
//! files and the slots: a bootloader installer run afterwards (Debian's `syslinux --install`,
//! which adds `ldlinux.sys` and `ldlinux.c32` through mtools, from the lowest free cluster or
//! FAT32's FSInfo hint, fatgen103 §5) allocates there and never moves our files, and the bytes
//! before the first slot stay the same for every volume that differs only in its slots'
//! contents. Only the slots and the sectors past the last cluster follow the first slot, so a
//! hash of the prefix can be computed once and resumed per volume (FIPS 180-4 hashes
//! sequentially).
//!
//! # Slots
//! A file added with a [`Slot`] gets `slot.size` bytes of contiguous clusters and records
//! `slot.size` as its size; per-node content padded with `slot.fill` can then be written over
//! the bytes at [`FatFileExtent::byte_offset`] (also after syslinux has been installed), with no
//! change to the FAT or any directory entry.
//!
//! # Partitions
//! `hidden_sectors` is recorded in the BPB (the partition's start LBA when the volume lives in
//! a partition); all offsets reported here are relative to the start of the volume.

mod boot_sector;
mod directory;
mod layout;
mod params;
mod reader;
mod table;

use std::io::{self, Write};

pub use reader::{FatEntry, FatReader};

pub use crate::source::Slot;
use crate::source::{CopyError, FileSource};
use crate::timestamp::Timestamp;
use crate::tree::{DirectoryNode, FileNode, TreeError};

/// The sector size of every volume written here.
pub const SECTOR_SIZE: u64 = 512;
pub(crate) const SECTOR_SIZE_USIZE: usize = 512;

/// The three FAT variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FatType {
    /// 12-bit entries, fewer than 4085 clusters.
    Fat12,
    /// 16-bit entries, 4085–65524 clusters.
    Fat16,
    /// 28-bit entries, 65525 clusters or more.
    Fat32,
}

/// Errors of the FAT writer and reader.
#[derive(Debug, thiserror::Error)]
pub enum FatError {
    /// Writing or reading the volume failed.
    #[error("FAT volume I/O failed: {0}")]
    Io(#[from] io::Error),
    /// A file's contents could not be streamed.
    #[error("FAT file {path:?}: {source}")]
    Source {
        /// Path in the tree.
        path: String,
        /// What went wrong.
        #[source]
        source: CopyError,
    },
    /// A path component is not a valid long file name.
    #[error("invalid name {name:?} in FAT path {path:?}: {reason}")]
    InvalidName {
        /// The whole path.
        path: String,
        /// The offending component.
        name: String,
        /// The rule it breaks.
        reason: &'static str,
    },
    /// The path (or a name differing only in case: FAT names are case-insensitive) exists.
    #[error("FAT path {0:?} already exists (names are compared case-insensitively)")]
    AlreadyExists(String),
    /// A file is in the way of a directory.
    #[error("FAT path {0:?}: a parent is a file, not a directory")]
    NotADirectory(String),
    /// The content does not fit its slot.
    #[error("FAT file {path:?}: content of {content_len} bytes does not fit its {slot_size}-byte slot")]
    SlotTooSmall {
        /// Path in the tree.
        path: String,
        /// Bytes of content.
        content_len: u64,
        /// Slot size.
        slot_size: u64,
    },
    /// FAT records file sizes in 32 bits.
    #[error("FAT file {path:?} is {size} bytes; FAT holds at most 4 GiB - 1")]
    FileTooLarge {
        /// Path in the tree.
        path: String,
        /// Its size.
        size: u64,
    },
    /// The volume size cannot hold a valid FAT volume with the requested parameters.
    #[error("FAT volume of {size} bytes: {reason}")]
    InvalidSize {
        /// Requested size.
        size: u64,
        /// Why.
        reason: &'static str,
    },
    /// The files do not fit.
    #[error("FAT volume full: {needed} clusters needed, {available} available")]
    NoSpace {
        /// Clusters the tree needs.
        needed: u64,
        /// Clusters the volume has.
        available: u64,
    },
    /// The FAT12/16 root directory has a fixed number of entries.
    #[error("the root directory needs {needed} entries but holds {available}; set root_entries")]
    RootDirectoryFull {
        /// Entries needed.
        needed: u64,
        /// Entries available.
        available: u64,
    },
    /// The volume label is invalid.
    #[error("invalid FAT volume label {0:?}: at most 11 upper-case letters, digits, spaces or !#$%&'()-@^_`{{}}~")]
    InvalidLabel(String),
    /// The reader found something that is not a valid volume.
    #[error("malformed FAT volume: {0}")]
    Malformed(String),
    /// The writer's output diverged from its own layout (a bug).
    #[error("internal error: {0}")]
    Internal(String),
}

/// Volume-wide settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FatOptions {
    /// Size of the volume in bytes (a multiple of 512). The image written has exactly this
    /// length even when the file system, like mkfs.fat's, ends at a track boundary before it.
    pub size_bytes: u64,
    /// Force a FAT type; `None` chooses as mkfs.fat does.
    pub fat_type: Option<FatType>,
    /// Force a cluster size (1, 2, 4 … 128 sectors).
    pub sectors_per_cluster: Option<u8>,
    /// FAT12/16 root directory entries (rounded up to a sector's worth); default 512.
    pub root_entries: Option<u16>,
    /// The volume label (boot sector and root directory), e.g. `PLANETLAB`.
    pub volume_label: Option<String>,
    /// The volume serial number (mkfs.fat derives it from the clock; here it is an input).
    pub volume_id: u32,
    /// OEM name in the boot sector.
    pub oem_name: [u8; 8],
    /// Sectors before the volume on its disk (the partition start), recorded in the BPB.
    pub hidden_sectors: u32,
    /// (heads, sectors per track) to record; `None` chooses as mkfs.fat does.
    pub geometry: Option<(u16, u16)>,
    /// The time stamped on every directory entry.
    pub timestamp: Timestamp,
}

impl FatOptions {
    /// A volume of `size_bytes` with mkfs.fat's choices, no label, serial 0.
    pub fn new(size_bytes: u64, timestamp: Timestamp) -> Self {
        Self {
            size_bytes,
            fat_type: None,
            sectors_per_cluster: None,
            root_entries: None,
            volume_label: None,
            volume_id: 0,
            oem_name: *b"MSWIN4.1",
            hidden_sectors: 0,
            geometry: None,
            timestamp,
        }
    }
}

/// Per-file settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FatFileOptions {
    /// Reserve a slot instead of clusters sized to the content.
    pub slot: Option<Slot>,
    /// Set the read-only attribute.
    pub read_only: bool,
    /// Set the hidden attribute.
    pub hidden: bool,
    /// Set the system attribute.
    pub system: bool,
}

impl FatFileOptions {
    /// A file in a slot of `size` bytes padded with `fill`.
    pub fn slot(size: u64, fill: u8) -> Self {
        Self { slot: Some(Slot { size, fill }), ..Self::default() }
    }
}

/// Where a file landed in the volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FatFileExtent {
    /// Path in the tree, components joined with `/`, no leading `/`.
    pub path: String,
    /// First cluster (0 for an empty file).
    pub first_cluster: u32,
    /// Byte offset of the file's first byte from the start of the volume.
    pub byte_offset: u64,
    /// The size recorded in the directory entry (the slot size for slots).
    pub recorded_length: u64,
    /// Bytes of content written now.
    pub content_length: u64,
    /// Whether the file is a slot.
    pub is_slot: bool,
}

/// The decided geometry and every file's place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FatLayout {
    /// The FAT variant.
    pub fat_type: FatType,
    /// Sectors of the file system (≤ the volume size / 512).
    pub total_sectors: u32,
    /// Bytes written (the requested volume size).
    pub image_len: u64,
    /// Cluster size in sectors.
    pub sectors_per_cluster: u32,
    /// Reserved sectors before the first FAT.
    pub reserved_sectors: u32,
    /// Sectors per FAT (there are two).
    pub fat_sectors: u32,
    /// FAT12/16 root directory entries (0 on FAT32).
    pub root_entries: u32,
    /// First sector of cluster 2.
    pub data_start_sector: u32,
    /// Data clusters of the volume.
    pub cluster_count: u32,
    /// Clusters left free.
    pub free_clusters: u32,
    /// Every file, in cluster order (slots last; empty files where their group has them).
    pub files: Vec<FatFileExtent>,
}

impl FatLayout {
    /// The extent of the file at `path` (exact long names, no leading `/`).
    pub fn file(&self, path: &str) -> Option<&FatFileExtent> {
        let path = path.trim_start_matches('/');
        self.files.iter().find(|f| f.path == path)
    }
}

/// Describes a volume; see the module documentation.
pub struct FatBuilder {
    pub(crate) options: FatOptions,
    pub(crate) root: DirectoryNode,
    pub(crate) label: [u8; 11],
}

pub(crate) const ATTRIBUTE_READ_ONLY: u32 = 0o1;
pub(crate) const ATTRIBUTE_HIDDEN: u32 = 0o2;
pub(crate) const ATTRIBUTE_SYSTEM: u32 = 0o4;

impl FatBuilder {
    /// An empty volume with these settings (the label is checked now, the size when the
    /// layout is computed, so that [`FatBuilder::fit_size`] can choose it after the files are
    /// added).
    pub fn new(options: FatOptions) -> Result<Self, FatError> {
        let label = match &options.volume_label {
            None => *b"NO NAME    ",
            Some(text) => {
                let valid = !text.is_empty()
                    && text.len() <= 11
                    && !text.starts_with(' ')
                    && text.chars().all(|c| {
                        c == ' ' || c.is_ascii_uppercase() || c.is_ascii_digit() || "!#$%&'()-@^_`{}~".contains(c)
                    });
                if !valid {
                    return Err(FatError::InvalidLabel(text.clone()));
                }
                let mut label = [b' '; 11];
                label[..text.len()].copy_from_slice(text.as_bytes());
                label
            }
        };
        Ok(Self { options, root: DirectoryNode::new(0), label })
    }

    /// The volume settings.
    pub fn options(&self) -> &FatOptions {
        &self.options
    }

    /// Changes the volume size (e.g. to what [`FatBuilder::fit_size`] found).
    pub fn set_size_bytes(&mut self, size_bytes: u64) {
        self.options.size_bytes = size_bytes;
    }

    /// Adds a directory and any missing parents.
    pub fn add_directory(&mut self, path: &str) -> Result<(), FatError> {
        let components = self.split_path(path)?;
        self.root.ensure_directory(&components, 0).map_err(|e| tree_error(e, path))?;
        Ok(())
    }

    /// Adds a file (creating missing parent directories).
    pub fn add_file(
        &mut self,
        path: &str,
        source: impl FileSource + 'static,
        options: FatFileOptions,
    ) -> Result<(), FatError> {
        self.add_boxed_file(path, Box::new(source), options)
    }

    /// Like [`FatBuilder::add_file`] with an already boxed source.
    pub fn add_boxed_file(
        &mut self,
        path: &str,
        source: Box<dyn FileSource>,
        options: FatFileOptions,
    ) -> Result<(), FatError> {
        let components = self.split_path(path)?;
        if let Some(slot) = options.slot
            && source.len() > slot.size
        {
            return Err(FatError::SlotTooSmall {
                path: path.to_owned(),
                content_len: source.len(),
                slot_size: slot.size,
            });
        }
        // The tree's permission bits carry the DOS attributes.
        let attributes = if options.read_only { ATTRIBUTE_READ_ONLY } else { 0 }
            | if options.hidden { ATTRIBUTE_HIDDEN } else { 0 }
            | if options.system { ATTRIBUTE_SYSTEM } else { 0 };
        let file = FileNode { source, permissions: attributes, slot: options.slot };
        if file.recorded_len() > u64::from(u32::MAX) {
            return Err(FatError::FileTooLarge { path: path.to_owned(), size: file.recorded_len() });
        }
        self.root.insert_file(&components, file, 0).map_err(|e| tree_error(e, path))
    }

    /// Validates each component and rejects names that clash case-insensitively with an
    /// existing sibling of a different spelling.
    fn split_path<'p>(&self, path: &'p str) -> Result<Vec<&'p str>, FatError> {
        let trimmed = path.strip_prefix('/').unwrap_or(path);
        let components: Vec<&str> = trimmed.split('/').collect();
        let mut dir = Some(&self.root);
        for name in &components {
            directory::validate_long_name(name).map_err(|reason| FatError::InvalidName {
                path: path.to_owned(),
                name: (*name).to_owned(),
                reason,
            })?;
            if let Some(current) = dir {
                let clash = current
                    .children
                    .keys()
                    .any(|existing| existing != name && existing.to_lowercase() == name.to_lowercase());
                if clash {
                    return Err(FatError::AlreadyExists(path.to_owned()));
                }
                dir = match current.children.get(*name) {
                    Some(crate::tree::Node::Directory(d)) => Some(d),
                    _ => None,
                };
            }
        }
        Ok(components)
    }

    /// Computes where everything goes, without reading file contents.
    pub fn layout(&self) -> Result<FatLayout, FatError> {
        Ok(layout::Plan::new(self)?.public_layout())
    }

    /// Writes the volume front to back (exactly `size_bytes` bytes) and returns its layout.
    pub fn write<W: Write>(&self, out: W) -> Result<FatLayout, FatError> {
        let plan = layout::Plan::new(self)?;
        plan.write(out)?;
        Ok(plan.public_layout())
    }

    /// The smallest volume size (a multiple of 1 MiB, as `mkfs.fat -C` sizes are usually
    /// given in KiB) that holds the tree with at least `free_bytes` to spare, with the other
    /// options unchanged.
    pub fn fit_size(&self, free_bytes: u64) -> Result<u64, FatError> {
        const STEP: u64 = 1024 * 1024;
        let fits = |size: u64| -> bool {
            let options = FatOptions { size_bytes: size, ..self.options.clone() };
            let Ok(plan) = layout::Plan::with(&options, self.label, &self.root) else { return false };
            let layout = plan.public_layout();
            u64::from(layout.free_clusters) * u64::from(layout.sectors_per_cluster) * SECTOR_SIZE >= free_bytes
        };
        let mut high = STEP;
        while !fits(high) {
            high = high.checked_mul(2).ok_or(FatError::InvalidSize { size: high, reason: "tree too large" })?;
            if high > (u64::from(u32::MAX) + 1) * SECTOR_SIZE {
                return Err(FatError::InvalidSize { size: high, reason: "tree too large for FAT" });
            }
        }
        let mut low = 0;
        // Invariant: fits(high); sizes ≤ low were not found to fit.
        while high - low > STEP {
            let middle = (low + high) / 2 / STEP * STEP;
            if middle <= low {
                break;
            }
            if fits(middle) { high = middle } else { low = middle }
        }
        Ok(high)
    }
}

fn tree_error(error: TreeError, path: &str) -> FatError {
    match error {
        TreeError::AlreadyExists => FatError::AlreadyExists(path.to_owned()),
        TreeError::NotADirectory => FatError::NotADirectory(path.to_owned()),
    }
}
