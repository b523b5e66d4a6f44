//! The `iso_cramfs` and `usb_cramfs` types (docs/media.md §1 `*_cramfs`, §2 step 4): the root
//! (`bootcd.img`) and the node's overlay merged into one cramfs `cramfs.img`, loaded with
//! `initrd=cramfs.img`. The cramfs changes per node, so it is built per node, natively and
//! streaming through temporary files in the store's `tmp/` (the root decompressed once, the
//! overlay, the cramfs), never holding more than one file's compressed blocks in memory. The
//! image around it is not: like the other types, each cramfs type has a template per kernel,
//! built at import (with `syslinux --install` once for `usb_cramfs`), in which `cramfs.img`
//! occupies a fixed-size slot ([`crate::SlotSizes::cramfs`]: the generic cramfs rounded up,
//! plus a margin for node overlays). Per node, the cramfs is checked against that slot and
//! spliced over the template from its unnamed temporary file, zero-padded — no external
//! program.
//!
//! Merging follows the kernel's initramfs unpacker: entries of the later archive (the overlay)
//! replace those of the earlier one; a hard-linked file's data is the one its last link
//! carries (newc writes the data once, with the last link).

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

use bootmedium_formats::FileSource;
use bootmedium_formats::cpio::{CpioReader, gzip_decoder, mode};
use bootmedium_formats::cramfs::{CramfsBuilder, Metadata, SpecialKind};

use crate::error::{MediaError, io_error};
use crate::initrd;
use crate::manifest::SlotKind;

/// `S_IFSOCK` (the cpio reader names the other types).
const SOCKET: u32 = 0o140_000;

/// A new read-write temporary file in `dir` that has no name from the start (`O_TMPFILE`, or
/// created and unlinked at once where that is unsupported): the overlay and the merged cramfs
/// carry the node key, and a killed process must leave nothing of them behind.
fn unnamed_temp(dir: &Path) -> Result<File, MediaError> {
    tempfile::tempfile_in(dir).map_err(io_error(format!("creating a temporary file in {}", dir.display())))
}

/// Bytes `offset..offset+len` of a shared file.
#[derive(Clone)]
pub(crate) struct FileSlice {
    file: Arc<File>,
    offset: u64,
    len: u64,
}

struct SliceReader {
    slice: FileSlice,
    done: u64,
}

impl Read for SliceReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.slice.len - self.done;
        let want = usize::try_from(left).map_or(buf.len(), |l| l.min(buf.len()));
        if want == 0 {
            return Ok(0);
        }
        let n = self.slice.file.read_at(&mut buf[..want], self.slice.offset + self.done)?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "temporary root file truncated"));
        }
        self.done += n as u64;
        Ok(n)
    }
}

impl FileSource for FileSlice {
    fn len(&self) -> u64 {
        self.len
    }
    fn open(&self) -> io::Result<Box<dyn Read + '_>> {
        Ok(Box::new(SliceReader { slice: self.clone(), done: 0 }))
    }
}

/// One entry of the merged tree.
enum Item {
    Directory(Metadata),
    File(Metadata, Box<dyn FileSource>),
    Symlink(Metadata, String),
    Special(Metadata, SpecialKind),
}

/// Counts the bytes the cpio reader consumed (shared, since the reader holds the stream).
struct Counting<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

fn metadata(header: &bootmedium_formats::cpio::Header) -> Metadata {
    Metadata {
        permissions: (header.mode & mode::PERMISSIONS_MASK) as u16,
        uid: u16::try_from(header.uid).unwrap_or(u16::MAX),
        gid: u8::try_from(header.gid).unwrap_or(u8::MAX),
    }
}

fn device_number(n: u32, name: &str) -> Result<u8, MediaError> {
    u8::try_from(n)
        .map_err(|_| MediaError::Unsupported(format!("cramfs cannot store device numbers above 255 ({name})")))
}

/// Reads an archive's entries into `items`; regular file data is taken from `data` (the same
/// bytes the archive is read from, addressable by offset).
fn merge_archive(archive: impl Read, data: &Arc<File>, items: &mut BTreeMap<String, Item>) -> Result<(), MediaError> {
    let malformed = |e: bootmedium_formats::cpio::CpioError| MediaError::Initrd(e.to_string());
    let position = Rc::new(Cell::new(0));
    let mut reader = CpioReader::new(Counting { inner: archive, count: Rc::clone(&position) });
    // Hard links: (dev, ino) → the links seen before the one carrying the data.
    let mut links: HashMap<(u32, u32, u32), Vec<String>> = HashMap::new();
    while let Some(mut entry) = reader.next_entry().map_err(malformed)? {
        let header = entry.header.clone();
        let name = header.name_str().unwrap_or_default().trim_start_matches("./").trim_end_matches('/').to_owned();
        if name.is_empty() || name == "." {
            continue;
        }
        let meta = metadata(&header);
        let item = match header.file_type() {
            mode::DIRECTORY => Item::Directory(meta),
            mode::REGULAR => {
                // The entry's data starts where the reader stands after its header.
                let slice =
                    FileSlice { file: Arc::clone(data), offset: position.get(), len: u64::from(header.file_size) };
                if header.nlink > 1 {
                    let waiting = links.entry((header.dev_major, header.dev_minor, header.ino)).or_default();
                    if header.file_size == 0 {
                        waiting.push(name.clone());
                    } else {
                        for path in waiting.drain(..) {
                            items.insert(path, Item::File(meta, Box::new(slice.clone())));
                        }
                    }
                }
                Item::File(meta, Box::new(slice))
            }
            mode::SYMLINK => {
                let mut target = String::new();
                entry.read_to_string(&mut target).map_err(io_error(format!("reading the symlink {name}")))?;
                Item::Symlink(meta, target)
            }
            kind @ (mode::CHAR_DEVICE | mode::BLOCK_DEVICE) => {
                let (major, minor) =
                    (device_number(header.rdev_major, &name)?, device_number(header.rdev_minor, &name)?);
                Item::Special(
                    meta,
                    if kind == mode::CHAR_DEVICE {
                        SpecialKind::CharacterDevice { major, minor }
                    } else {
                        SpecialKind::BlockDevice { major, minor }
                    },
                )
            }
            mode::FIFO => Item::Special(meta, SpecialKind::Fifo),
            SOCKET => Item::Special(meta, SpecialKind::Socket),
            other => return Err(MediaError::Initrd(format!("{name}: unknown file type {other:o}"))),
        };
        items.insert(name, item);
    }
    Ok(())
}

/// A merged cramfs in an unnamed temporary file.
pub(crate) struct BuiltCramfs {
    file: File,
    len: u64,
}

impl BuiltCramfs {
    /// The cramfs as a file source for the image writers (the whole-image builds).
    pub fn source(&self) -> Result<FileSlice, MediaError> {
        let file = self.file.try_clone().map_err(io_error("sharing the temporary cramfs"))?;
        Ok(FileSlice { file: Arc::new(file), offset: 0, len: self.len })
    }

    /// Its size in bytes (without padding).
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Checks that the cramfs fits a slot of `slot_size` bytes (the error names both sizes).
    pub fn check_fits(&self, slot_size: u64) -> Result<(), MediaError> {
        if self.len > slot_size {
            return Err(MediaError::SlotOverflow {
                slot: SlotKind::Cramfs.describe(),
                content_len: self.len,
                slot_size,
            });
        }
        Ok(())
    }

    /// The open file, zero-padded to `slot_size` bytes (sparse) and unlinked.
    pub fn into_padded_file(self, slot_size: u64) -> Result<File, MediaError> {
        self.check_fits(slot_size)?;
        self.file.set_len(slot_size).map_err(io_error("padding the temporary cramfs"))?;
        Ok(self.file)
    }
}

/// Builds the cramfs of the root `initrd` (a gzip'd newc cpio, the reference's stored
/// `bootcd.img`) merged with `overlay` (likewise) into unnamed temporary files in `tmp`.
pub(crate) fn build(tmp: &Path, initrd: &Path, overlay: &[u8]) -> Result<BuiltCramfs, MediaError> {
    // 1. The root, decompressed once into a file the cramfs reads its files from.
    let mut root_file = unnamed_temp(tmp)?;
    io::copy(&mut initrd::open_cpio_stream(initrd)?, &mut root_file)
        .map_err(|e| MediaError::Initrd(format!("decompressing: {e}")))?;
    let root = Arc::new(root_file);

    // 2. The overlay, decompressed likewise.
    let mut overlay_file = unnamed_temp(tmp)?;
    io::copy(&mut gzip_decoder(overlay), &mut overlay_file).map_err(io_error("decompressing the overlay"))?;
    let overlay = Arc::new(overlay_file);

    let mut items = BTreeMap::new();
    merge_archive(BufReader::new(SliceReader { slice: whole(&root)?, done: 0 }), &root, &mut items)?;
    merge_archive(BufReader::new(SliceReader { slice: whole(&overlay)?, done: 0 }), &overlay, &mut items)?;

    // 3. The cramfs.
    let mut cramfs = CramfsBuilder::new("Compressed", 0, Metadata::root(0o755));
    for (path, item) in items {
        match item {
            Item::Directory(meta) => cramfs.add_directory(&path, meta)?,
            Item::File(meta, source) => cramfs.add_file(&path, BoxedSource(source), meta)?,
            Item::Symlink(meta, target) => cramfs.add_symlink(&path, &target, meta)?,
            Item::Special(meta, kind) => cramfs.add_special(&path, kind, meta)?,
        }
    }
    let mut writer = io::BufWriter::with_capacity(1024 * 1024, unnamed_temp(tmp)?);
    cramfs.write(&mut writer)?;
    let file = writer
        .into_inner()
        .map_err(|e| MediaError::Io { context: "writing the temporary cramfs".to_owned(), source: e.into_error() })?;
    let len = file.metadata().map_err(io_error("reading the temporary cramfs"))?.len();
    Ok(BuiltCramfs { file, len })
}

fn whole(file: &Arc<File>) -> Result<FileSlice, MediaError> {
    let len = file.metadata().map_err(io_error("reading a temporary file"))?.len();
    Ok(FileSlice { file: Arc::clone(file), offset: 0, len })
}

/// A boxed source as a source (the cramfs builder wants `impl FileSource`).
struct BoxedSource(Box<dyn FileSource>);

impl FileSource for BoxedSource {
    fn len(&self) -> u64 {
        self.0.len()
    }
    fn open(&self) -> io::Result<Box<dyn Read + '_>> {
        self.0.open()
    }
}
