//! cramfs: the compressed read-only file system of the `*_cramfs` image types.
//!
//! Implements the format of the Linux kernel's `Documentation/filesystems/cramfs.rst` and
//! `include/uapi/linux/cramfs_fs.h`, laid out as util-linux `mkfs.cramfs` lays it out:
//! - the 76-byte superblock at offset 0: magic 0x28CD3D45, total size, flags
//!   (`FSID_VERSION_2 | SORTED_DIRS`), signature "Compressed ROMFS", `fsid` (CRC32 of the whole
//!   image computed with the CRC field zero, edition, data block count, inode count), a 16-byte
//!   name, and the root inode;
//! - 12-byte inodes (`mode:16 uid:16`, `size:24 gid:8`, `namelen:6 offset:26`, little-endian as
//!   on x86), each followed by its name NUL-padded to 4 bytes (`namelen` counts 4-byte units);
//!   a directory's `offset` (in 4-byte units) points at its children's inodes, which are
//!   contiguous and sorted by name, and its `size` is their total length in bytes;
//! - then, for every non-empty regular file and symlink, a table of one 32-bit pointer per
//!   4096-byte block (each the end offset of that block's compressed data) followed by the
//!   blocks, each compressed on its own as a zlib stream; the inode's `offset` points at the
//!   table; the next table starts at a 4-byte boundary;
//! - device nodes record the device number in `size` (`major << 8 | minor`, the kernel's
//!   `old_decode_dev`); FIFOs and sockets have size 0;
//! - the image is padded with zeros to a multiple of 4096 bytes.
//!
//! The writer needs `Write + Seek`: inodes precede the data they point at, so the directory
//! region is reserved, the data streamed (one file's compressed blocks are buffered at a time,
//! at most 16 MiB), and the directory region and superblock written last. The CRC is computed
//! while writing, combining the CRC of the metadata with that of the data.

use std::collections::BTreeMap;
use std::io::{self, Read, Seek, SeekFrom, Write};

use flate2::Compression;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;

use crate::bounded::read_exact_len;
use crate::source::{CopyError, FileSource};

/// The superblock magic.
pub const MAGIC: u32 = 0x28CD_3D45;
/// The superblock signature.
pub const SIGNATURE: &[u8; 16] = b"Compressed ROMFS";
/// Uncompressed block size (the kernel requires the page size, 4096 on x86).
pub const BLOCK_SIZE: usize = 4096;
const SUPERBLOCK_LEN: usize = 76;
const INODE_LEN: usize = 12;
const FLAG_FSID_VERSION_2: u32 = 0x1;
const FLAG_SORTED_DIRS: u32 = 0x2;
/// Field widths of `struct cramfs_inode`.
const MAX_SIZE: u64 = (1 << 24) - 1;
const MAX_NAME_LEN: usize = 63 * 4;
const MAX_OFFSET: u64 = ((1 << 26) - 1) * 4;
const CRC_OFFSET: u64 = 32;
/// Largest compressed block the reader accepts: zlib never grows 4096 bytes by more than a few
/// dozen, so anything near this is not a cramfs block.
const MAX_COMPRESSED_BLOCK: u64 = 2 * BLOCK_SIZE as u64;

const S_IFDIR: u16 = 0o040_000;
const S_IFREG: u16 = 0o100_000;
const S_IFLNK: u16 = 0o120_000;
const S_IFCHR: u16 = 0o020_000;
const S_IFBLK: u16 = 0o060_000;
const S_IFIFO: u16 = 0o010_000;
const S_IFSOCK: u16 = 0o140_000;

/// Errors of the cramfs writer and reader.
#[derive(Debug, thiserror::Error)]
pub enum CramfsError {
    /// Writing or reading the image failed.
    #[error("cramfs I/O failed: {0}")]
    Io(#[from] io::Error),
    /// A file's contents could not be streamed.
    #[error("cramfs file {path:?}: {source}")]
    Source {
        /// Path in the tree.
        path: String,
        /// What went wrong.
        #[source]
        source: CopyError,
    },
    /// A path component is not storable.
    #[error("invalid cramfs name {name:?} in {path:?}: names are 1–252 bytes without `/` or NUL")]
    InvalidName {
        /// The whole path.
        path: String,
        /// The offending component.
        name: String,
    },
    /// The path is taken.
    #[error("cramfs path {0:?} already exists")]
    AlreadyExists(String),
    /// A non-directory is in the way.
    #[error("cramfs path {0:?}: a parent is not a directory")]
    NotADirectory(String),
    /// A value does not fit its inode field.
    #[error("cramfs {path:?}: {what}")]
    FieldOverflow {
        /// Path in the tree.
        path: String,
        /// Which limit.
        what: &'static str,
    },
    /// Data would start beyond what 26-bit offsets address (about 256 MiB).
    #[error("the cramfs image exceeds the 256 MiB that inode offsets address")]
    TooLarge,
    /// The reader found something that is not a valid image.
    #[error("malformed cramfs image: {0}")]
    Malformed(String),
}

/// Ownership and permissions of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metadata {
    /// Permission bits (with set-id and sticky bits), e.g. `0o755`.
    pub permissions: u16,
    /// Owner (16 bits in cramfs).
    pub uid: u16,
    /// Group (8 bits in cramfs).
    pub gid: u8,
}

impl Metadata {
    /// Root-owned with these permissions.
    pub fn root(permissions: u16) -> Self {
        Self { permissions, uid: 0, gid: 0 }
    }
}

/// Kinds of special files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecialKind {
    /// Character device.
    CharacterDevice {
        /// Major number (< 256).
        major: u8,
        /// Minor number (< 256).
        minor: u8,
    },
    /// Block device.
    BlockDevice {
        /// Major number (< 256).
        major: u8,
        /// Minor number (< 256).
        minor: u8,
    },
    /// Named pipe.
    Fifo,
    /// Unix socket.
    Socket,
}

enum Node {
    Directory(DirectoryNode),
    File { source: Box<dyn FileSource>, metadata: Metadata },
    Symlink { target: String, metadata: Metadata },
    Special { kind: SpecialKind, metadata: Metadata },
}

struct DirectoryNode {
    metadata: Metadata,
    children: BTreeMap<String, Node>,
}

/// What was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CramfsSummary {
    /// Image size in bytes (a multiple of 4096).
    pub size: u64,
    /// The CRC32 recorded in the superblock.
    pub crc: u32,
    /// Inodes, the root included.
    pub files: u32,
    /// Compressed data blocks.
    pub blocks: u32,
}

/// Describes a cramfs image; see the module documentation.
pub struct CramfsBuilder {
    name: [u8; 16],
    edition: u32,
    root: DirectoryNode,
}

fn split(path: &str) -> Result<Vec<&str>, CramfsError> {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    let components: Vec<&str> = trimmed.split('/').collect();
    for name in &components {
        if name.is_empty() || name.len() > MAX_NAME_LEN || name.contains('\0') || *name == "." || *name == ".." {
            return Err(CramfsError::InvalidName { path: path.to_owned(), name: (*name).to_owned() });
        }
    }
    Ok(components)
}

impl CramfsBuilder {
    /// An empty tree; `volume_name` (at most 16 bytes, mkfs.cramfs uses "Compressed") goes in
    /// the superblock, and the root directory gets `root`.
    pub fn new(volume_name: &str, edition: u32, root: Metadata) -> Self {
        let mut name = [0u8; 16];
        let bytes = volume_name.as_bytes();
        let len = bytes.len().min(16);
        name[..len].copy_from_slice(&bytes[..len]);
        Self { name, edition, root: DirectoryNode { metadata: root, children: BTreeMap::new() } }
    }

    fn parent_of<'a>(&'a mut self, path: &str, components: &[&str]) -> Result<&'a mut DirectoryNode, CramfsError> {
        let mut dir = &mut self.root;
        for name in components {
            let node = dir.children.entry((*name).to_owned()).or_insert_with(|| {
                Node::Directory(DirectoryNode { metadata: Metadata::root(0o755), children: BTreeMap::new() })
            });
            dir = match node {
                Node::Directory(d) => d,
                _ => return Err(CramfsError::NotADirectory(path.to_owned())),
            };
        }
        Ok(dir)
    }

    fn insert(&mut self, path: &str, node: Node) -> Result<(), CramfsError> {
        let components = split(path)?;
        let Some((name, parents)) = components.split_last() else {
            return Err(CramfsError::InvalidName { path: path.to_owned(), name: String::new() });
        };
        let dir = self.parent_of(path, parents)?;
        if dir.children.contains_key(*name) {
            return Err(CramfsError::AlreadyExists(path.to_owned()));
        }
        dir.children.insert((*name).to_owned(), node);
        Ok(())
    }

    /// Adds a directory (missing parents get `0o755`, root-owned); an existing directory gets
    /// the new metadata.
    pub fn add_directory(&mut self, path: &str, metadata: Metadata) -> Result<(), CramfsError> {
        let components = split(path)?;
        let dir = self.parent_of(path, &components)?;
        dir.metadata = metadata;
        Ok(())
    }

    /// Adds a regular file (at most 16 MiB - 1: the size field has 24 bits).
    pub fn add_file(
        &mut self,
        path: &str,
        source: impl FileSource + 'static,
        metadata: Metadata,
    ) -> Result<(), CramfsError> {
        if source.len() > MAX_SIZE {
            return Err(CramfsError::FieldOverflow { path: path.to_owned(), what: "files are at most 16 MiB - 1" });
        }
        self.insert(path, Node::File { source: Box::new(source), metadata })
    }

    /// Adds a symbolic link.
    pub fn add_symlink(&mut self, path: &str, target: &str, metadata: Metadata) -> Result<(), CramfsError> {
        if target.is_empty() || target.len() as u64 > MAX_SIZE {
            return Err(CramfsError::FieldOverflow { path: path.to_owned(), what: "symlink target length" });
        }
        self.insert(path, Node::Symlink { target: target.to_owned(), metadata })
    }

    /// Adds a device node, FIFO or socket.
    pub fn add_special(&mut self, path: &str, kind: SpecialKind, metadata: Metadata) -> Result<(), CramfsError> {
        self.insert(path, Node::Special { kind, metadata })
    }

    /// Writes the image from the current position of `out` (which must be where the image
    /// starts) and returns what was written.
    pub fn write<W: Write + Seek>(&self, mut out: W) -> Result<CramfsSummary, CramfsError> {
        let base = out.stream_position()?;
        // Breadth-first list of directories; each directory's children are one contiguous run
        // of inodes. `inode_positions[i]` is where entry i's inode goes.
        struct Entry<'a> {
            path: String,
            name: &'a str,
            node: &'a Node,
            inode_position: u64,
        }
        let mut entries: Vec<Entry<'_>> = Vec::new();
        let mut directory_runs: Vec<(Option<usize>, u64, u64)> = Vec::new(); // (dir entry, start, length)
        let mut queue: Vec<(Option<usize>, String, &DirectoryNode)> = vec![(None, String::new(), &self.root)];
        let mut position = SUPERBLOCK_LEN as u64;
        let mut head = 0;
        while head < queue.len() {
            let (owner, prefix, dir) = (queue[head].0, queue[head].1.clone(), queue[head].2);
            head += 1;
            let start = position;
            for (name, node) in &dir.children {
                let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
                let index = entries.len();
                entries.push(Entry { path: path.clone(), name, node, inode_position: position });
                position += (INODE_LEN + name.len().div_ceil(4) * 4) as u64;
                if let Node::Directory(child) = node {
                    queue.push((Some(index), path, child));
                }
            }
            directory_runs.push((owner, start, position - start));
        }
        let metadata_end = position;

        // Data, streamed after the reserved metadata region.
        out.seek(SeekFrom::Start(base + metadata_end))?;
        let mut data_crc = crc32fast::Hasher::new();
        let mut data_offsets = vec![0u64; entries.len()];
        let mut blocks = 0u32;
        let mut position = metadata_end;
        for (index, entry) in entries.iter().enumerate() {
            let (bytes_len, mut reader): (u64, Box<dyn Read + '_>) = match entry.node {
                Node::File { source, .. } if !source.is_empty() => (
                    source.len(),
                    source
                        .open()
                        .map_err(|e| CramfsError::Source { path: entry.path.clone(), source: CopyError::Read(e) })?,
                ),
                Node::Symlink { target, .. } => (target.len() as u64, Box::new(target.as_bytes())),
                _ => continue,
            };
            if position > MAX_OFFSET {
                return Err(CramfsError::TooLarge);
            }
            data_offsets[index] = position;
            let (table_and_blocks, count) = compress_blocks(&mut reader, bytes_len, position)
                .map_err(|source| CramfsError::Source { path: entry.path.clone(), source })?;
            blocks += count;
            out.write_all(&table_and_blocks)?;
            data_crc.update(&table_and_blocks);
            position += table_and_blocks.len() as u64;
            let padding = position.next_multiple_of(4) - position;
            out.write_all(&[0u8; 4][..padding as usize])?;
            data_crc.update(&[0u8; 4][..padding as usize]);
            position += padding;
        }
        let size = position.next_multiple_of(BLOCK_SIZE as u64);
        let tail = vec![0u8; (size - position) as usize];
        out.write_all(&tail)?;
        data_crc.update(&tail);
        let size_u32 = u32::try_from(size).map_err(|_| CramfsError::TooLarge)?;

        // Metadata: the superblock with the root inode, then the directory runs.
        let mut metadata = vec![0u8; metadata_end as usize];
        let files = u32::try_from(entries.len() + 1).map_err(|_| CramfsError::TooLarge)?;
        let run_of = |owner: Option<usize>| directory_runs.iter().find(|r| r.0 == owner).map_or((0, 0), |r| (r.1, r.2));
        let (root_start, root_len) = run_of(None);
        let root_inode = encode_inode(
            "",
            S_IFDIR | self.root.metadata.permissions,
            self.root.metadata,
            root_len,
            if root_len == 0 { 0 } else { root_start },
            0,
        )?;
        metadata[0..4].copy_from_slice(&MAGIC.to_le_bytes());
        metadata[4..8].copy_from_slice(&size_u32.to_le_bytes());
        metadata[8..12].copy_from_slice(&(FLAG_FSID_VERSION_2 | FLAG_SORTED_DIRS).to_le_bytes());
        metadata[16..32].copy_from_slice(SIGNATURE);
        metadata[36..40].copy_from_slice(&self.edition.to_le_bytes());
        metadata[40..44].copy_from_slice(&blocks.to_le_bytes());
        metadata[44..48].copy_from_slice(&files.to_le_bytes());
        metadata[48..64].copy_from_slice(&self.name);
        metadata[64..76].copy_from_slice(&root_inode);
        for (index, entry) in entries.iter().enumerate() {
            let (mode, meta, size, offset) = match entry.node {
                Node::Directory(d) => {
                    let (start, len) = run_of(Some(index));
                    (S_IFDIR | d.metadata.permissions, d.metadata, len, if len == 0 { 0 } else { start })
                }
                Node::File { source, metadata } => {
                    (S_IFREG | metadata.permissions, *metadata, source.len(), data_offsets[index])
                }
                Node::Symlink { target, metadata } => {
                    (S_IFLNK | metadata.permissions, *metadata, target.len() as u64, data_offsets[index])
                }
                Node::Special { kind, metadata } => {
                    let (type_bits, rdev) = match kind {
                        SpecialKind::CharacterDevice { major, minor } => {
                            (S_IFCHR, u64::from(*major) << 8 | u64::from(*minor))
                        }
                        SpecialKind::BlockDevice { major, minor } => {
                            (S_IFBLK, u64::from(*major) << 8 | u64::from(*minor))
                        }
                        SpecialKind::Fifo => (S_IFIFO, 0),
                        SpecialKind::Socket => (S_IFSOCK, 0),
                    };
                    (type_bits | metadata.permissions, *metadata, rdev, 0)
                }
            };
            if size > MAX_SIZE || entry.name.len() > MAX_NAME_LEN {
                return Err(CramfsError::FieldOverflow { path: entry.path.clone(), what: "size or name too long" });
            }
            let inode = encode_inode(entry.name, mode, meta, size, offset, entry.name.len())?;
            let at = entry.inode_position as usize;
            metadata[at..at + inode.len()].copy_from_slice(&inode);
        }
        let mut crc = crc32fast::Hasher::new();
        crc.update(&metadata);
        crc.combine(&data_crc);
        let crc = crc.finalize();
        metadata[CRC_OFFSET as usize..CRC_OFFSET as usize + 4].copy_from_slice(&crc.to_le_bytes());
        out.seek(SeekFrom::Start(base))?;
        out.write_all(&metadata)?;
        out.seek(SeekFrom::Start(base + size))?;
        out.flush()?;
        Ok(CramfsSummary { size, crc, files, blocks })
    }
}

/// An inode followed by the NUL-padded name (`name_len` 0 for the root's inode alone).
fn encode_inode(
    name: &str,
    mode: u16,
    meta: Metadata,
    size: u64,
    offset: u64,
    name_len: usize,
) -> Result<Vec<u8>, CramfsError> {
    if offset > MAX_OFFSET || !offset.is_multiple_of(4) {
        return Err(CramfsError::TooLarge);
    }
    let padded = name_len.div_ceil(4) * 4;
    let mut out = Vec::with_capacity(INODE_LEN + padded);
    out.extend_from_slice(&(u32::from(mode) | u32::from(meta.uid) << 16).to_le_bytes());
    out.extend_from_slice(&((size as u32 & 0x00FF_FFFF) | u32::from(meta.gid) << 24).to_le_bytes());
    out.extend_from_slice(&(((padded / 4) as u32) | ((offset / 4) as u32) << 6).to_le_bytes());
    out.extend_from_slice(&name.as_bytes()[..name_len]);
    out.resize(INODE_LEN + padded, 0);
    Ok(out)
}

/// The block pointer table and the compressed blocks of `len` bytes from `reader`, for data
/// starting at image offset `start`.
fn compress_blocks(reader: &mut dyn Read, len: u64, start: u64) -> Result<(Vec<u8>, u32), CopyError> {
    let count = len.div_ceil(BLOCK_SIZE as u64) as usize;
    let mut table = vec![0u8; 4 * count];
    let mut blocks = Vec::new();
    let mut block = vec![0u8; BLOCK_SIZE];
    let mut left = len;
    for index in 0..count {
        let want = left.min(BLOCK_SIZE as u64) as usize;
        reader.read_exact(&mut block[..want]).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                CopyError::Length { expected: len, actual: len - left, more: false }
            } else {
                CopyError::Read(e)
            }
        })?;
        left -= want as u64;
        let mut encoder = ZlibEncoder::new(Vec::with_capacity(want / 2 + 64), Compression::default());
        encoder.write_all(&block[..want]).map_err(CopyError::Write)?;
        blocks.extend_from_slice(&encoder.finish().map_err(CopyError::Write)?);
        let end = start + table.len() as u64 + blocks.len() as u64;
        table[4 * index..4 * index + 4].copy_from_slice(&(end as u32).to_le_bytes());
    }
    let mut probe = [0u8; 1];
    if reader.read(&mut probe).map_err(CopyError::Read)? != 0 {
        return Err(CopyError::Length { expected: len, actual: len, more: true });
    }
    table.extend_from_slice(&blocks);
    Ok((table, count as u32))
}

/// An inode as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CramfsEntry {
    /// The entry's name (empty for the root).
    pub name: String,
    /// Type and permission bits.
    pub mode: u16,
    /// Owner.
    pub uid: u16,
    /// Group.
    pub gid: u8,
    /// Bytes (files, symlinks), children bytes (directories) or device number.
    pub size: u32,
    /// Byte offset of the data or of the children's inodes.
    pub offset: u32,
}

impl CramfsEntry {
    /// Whether this is a directory.
    pub fn is_directory(&self) -> bool {
        self.mode & 0o170_000 == S_IFDIR
    }
}

/// A cramfs reader for `inspect` and the tests.
pub struct CramfsReader<R: Read + Seek> {
    inner: R,
    size: u32,
    root: CramfsEntry,
    crc: u32,
}

fn decode_inode(raw: &[u8]) -> (u16, u16, u32, u8, usize, u32) {
    let w0 = u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
    let w1 = u32::from_le_bytes([raw[4], raw[5], raw[6], raw[7]]);
    let w2 = u32::from_le_bytes([raw[8], raw[9], raw[10], raw[11]]);
    (w0 as u16, (w0 >> 16) as u16, w1 & 0x00FF_FFFF, (w1 >> 24) as u8, ((w2 & 0x3F) * 4) as usize, (w2 >> 6) * 4)
}

impl<R: Read + Seek> CramfsReader<R> {
    /// Reads the superblock.
    pub fn open(mut inner: R) -> Result<Self, CramfsError> {
        let mut superblock = [0u8; SUPERBLOCK_LEN];
        inner.seek(SeekFrom::Start(0))?;
        inner.read_exact(&mut superblock)?;
        if u32::from_le_bytes([superblock[0], superblock[1], superblock[2], superblock[3]]) != MAGIC {
            return Err(CramfsError::Malformed("bad magic".to_owned()));
        }
        if &superblock[16..32] != SIGNATURE {
            return Err(CramfsError::Malformed("bad signature".to_owned()));
        }
        let (mode, uid, size, gid, _, offset) = decode_inode(&superblock[64..76]);
        Ok(Self {
            inner,
            size: u32::from_le_bytes([superblock[4], superblock[5], superblock[6], superblock[7]]),
            crc: u32::from_le_bytes([superblock[32], superblock[33], superblock[34], superblock[35]]),
            root: CramfsEntry { name: String::new(), mode, uid, gid, size, offset },
        })
    }

    /// The image size the superblock records.
    pub fn image_size(&self) -> u32 {
        self.size
    }

    /// Recomputes the CRC (with the CRC field zeroed) and compares it with the recorded one.
    pub fn verify_crc(&mut self) -> Result<bool, CramfsError> {
        self.inner.seek(SeekFrom::Start(0))?;
        let mut image = read_exact_len(&mut self.inner, u64::from(self.size))?;
        if image.len() < CRC_OFFSET as usize + 4 {
            return Err(CramfsError::Malformed(format!("image size {} is below the superblock's", self.size)));
        }
        image[CRC_OFFSET as usize..CRC_OFFSET as usize + 4].fill(0);
        Ok(crc32fast::hash(&image) == self.crc)
    }

    /// The root directory.
    pub fn root(&self) -> CramfsEntry {
        self.root.clone()
    }

    /// A directory's entries.
    pub fn read_dir(&mut self, dir: &CramfsEntry) -> Result<Vec<CramfsEntry>, CramfsError> {
        if !dir.is_directory() {
            return Err(CramfsError::Malformed(format!("{:?} is not a directory", dir.name)));
        }
        self.inner.seek(SeekFrom::Start(u64::from(dir.offset)))?;
        let bytes = read_exact_len(&mut self.inner, u64::from(dir.size))?;
        let mut out = Vec::new();
        let mut position = 0;
        while position + INODE_LEN <= bytes.len() {
            let (mode, uid, size, gid, name_len, offset) = decode_inode(&bytes[position..]);
            let name_start = position + INODE_LEN;
            let name_bytes = bytes
                .get(name_start..name_start + name_len)
                .ok_or_else(|| CramfsError::Malformed("name runs past its directory".to_owned()))?;
            let name = String::from_utf8_lossy(name_bytes).trim_end_matches('\0').to_owned();
            out.push(CramfsEntry { name, mode, uid, gid, size, offset });
            position = name_start + name_len;
        }
        Ok(out)
    }

    /// Finds `path` below the root.
    pub fn lookup(&mut self, path: &str) -> Result<Option<CramfsEntry>, CramfsError> {
        let mut current = self.root();
        for component in path.split('/').filter(|c| !c.is_empty()) {
            if !current.is_directory() {
                return Ok(None);
            }
            match self.read_dir(&current)?.into_iter().find(|e| e.name == component) {
                Some(entry) => current = entry,
                None => return Ok(None),
            }
        }
        Ok(Some(current))
    }

    /// The uncompressed contents of a regular file or the target of a symlink.
    pub fn read_file(&mut self, entry: &CramfsEntry) -> Result<Vec<u8>, CramfsError> {
        let count = (entry.size as usize).div_ceil(BLOCK_SIZE);
        if count == 0 {
            return Ok(Vec::new());
        }
        let mut table = vec![0u8; 4 * count];
        self.inner.seek(SeekFrom::Start(u64::from(entry.offset)))?;
        self.inner.read_exact(&mut table)?;
        let mut out = Vec::with_capacity(entry.size as usize);
        let mut start = u64::from(entry.offset) + table.len() as u64;
        for pointer in table.chunks_exact(4) {
            let end = u64::from(u32::from_le_bytes([pointer[0], pointer[1], pointer[2], pointer[3]]));
            let len = end
                .checked_sub(start)
                .ok_or_else(|| CramfsError::Malformed("block pointers go backwards".to_owned()))?;
            if len > MAX_COMPRESSED_BLOCK {
                return Err(CramfsError::Malformed(format!("a block of {:?} is {len} bytes compressed", entry.name)));
            }
            self.inner.seek(SeekFrom::Start(start))?;
            let compressed = read_exact_len(&mut self.inner, len)?;
            // A block holds at most BLOCK_SIZE bytes: a stream that inflates to more is refused
            // after one byte more, not inflated to the end.
            let before = out.len();
            ZlibDecoder::new(&compressed[..]).take(BLOCK_SIZE as u64 + 1).read_to_end(&mut out)?;
            if out.len() - before > BLOCK_SIZE || out.len() > entry.size as usize {
                return Err(CramfsError::Malformed(format!("a block of {:?} inflates beyond its size", entry.name)));
            }
            start = end;
        }
        if out.len() != entry.size as usize {
            return Err(CramfsError::Malformed(format!(
                "{:?} decompresses to {} bytes, not {}",
                entry.name,
                out.len(),
                entry.size
            )));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inode_bit_fields() {
        let inode =
            encode_inode("abcde", S_IFREG | 0o644, Metadata { permissions: 0o644, uid: 1000, gid: 7 }, 5000, 4096, 5)
                .unwrap();
        assert_eq!(inode.len(), 12 + 8);
        let (mode, uid, size, gid, name_len, offset) = decode_inode(&inode);
        assert_eq!((mode, uid, size, gid, name_len, offset), (S_IFREG | 0o644, 1000, 5000, 7, 8, 4096));
        assert_eq!(&inode[12..20], b"abcde\0\0\0");
    }

    #[test]
    fn round_trip_with_crc() {
        let mut builder = CramfsBuilder::new("Compressed", 0, Metadata::root(0o755));
        let big: Vec<u8> = (0..10_000u32).map(|i| (i % 13) as u8).collect();
        builder.add_file("etc/big", big.clone(), Metadata::root(0o644)).unwrap();
        builder.add_symlink("etc/link", "big", Metadata::root(0o777)).unwrap();
        builder.add_file("empty", Vec::new(), Metadata::root(0o600)).unwrap();
        let mut image = io::Cursor::new(Vec::new());
        let summary = builder.write(&mut image).unwrap();
        assert_eq!(summary.size % 4096, 0);
        assert_eq!((summary.files, summary.blocks), (5, 4));
        let mut reader = CramfsReader::open(io::Cursor::new(image.into_inner())).unwrap();
        assert!(reader.verify_crc().unwrap());
        let big_entry = reader.lookup("etc/big").unwrap().unwrap();
        assert_eq!(reader.read_file(&big_entry).unwrap(), big);
        let link = reader.lookup("etc/link").unwrap().unwrap();
        assert_eq!(reader.read_file(&link).unwrap(), b"big");
        assert_eq!(reader.lookup("empty").unwrap().unwrap().offset, 0);
    }
}
