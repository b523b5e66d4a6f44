//! A per-node medium: the bytes of a template with a few slots replaced (docs/media.md §2 step 2).
//!
//! Nothing of the image is held in memory but the slot bytes (about 260 KiB); a slot too big
//! for that (the cramfs types' `cramfs.img`) comes from an open file instead. The medium can be
//! - read through a [`MediumReader`] (`Read + Seek`, positional reads of the template, so any
//!   number of readers of one medium are independent — what an HTTP Range answer needs);
//! - copied into any writer with [`PreparedMedium::copy_to`] (128 KiB reads and writes: std's
//!   `io::copy` will not `sendfile` a regular file into a pipe or socket, and falls back to 8 KiB
//!   pieces there);
//! - written to a path with [`PreparedMedium::write_to`] (a temporary file in the same
//!   directory, private until complete, synced and renamed over the path: atomic), or into a
//!   file the caller opened with [`PreparedMedium::write_into`] (the caller's own
//!   temporary-and-rename); both copy the template parts with `copy_file_range`, as `cp` does.
//!
//! The template file is opened when the medium is prepared, so removing the reference
//! meanwhile does not disturb it.
//!
//! [`PreparedMedium::sha256`] does not read the whole image: a medium prepared from a template
//! carries the SHA-256 state after the template's bytes before its first slot (recorded at
//! import), and hashes only from there — the slots and the container's tail, a few hundred KiB
//! for the split types (FIPS 180-4 §6.2: the state after a prefix is all the prefix
//! contributes). Without a state it hashes everything.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use crate::error::{MediaError, io_error};
use crate::hash::{self, PrefixState};
use crate::request::ImageType;

/// Reads of up to 128 KiB (what `cat` uses): reads into larger buffers measured slower per byte
/// (bench/media.sh).
const COPY_BUFFER: usize = 128 * 1024;

/// Bytes that replace the template's bytes at `offset`.
#[derive(Debug, Clone)]
pub(crate) struct Patch {
    pub offset: u64,
    pub bytes: PatchBytes,
}

/// Where a patch's bytes are.
#[derive(Debug, Clone)]
pub(crate) enum PatchBytes {
    /// `content` in memory, then `fill` bytes up to `len`: a slot's padding is never held, so a
    /// medium costs its rendered files (a few KiB), not its slots' 260 KiB, while it streams.
    Memory { content: Vec<u8>, len: u64, fill: u8 },
    /// The first `len` bytes of a file (read positionally, so readers stay independent).
    File { file: Arc<File>, len: u64 },
}

impl Patch {
    /// Bytes in memory.
    #[cfg(test)]
    pub fn memory(offset: u64, bytes: Vec<u8>) -> Self {
        let len = bytes.len() as u64;
        Patch::padded(offset, bytes, len, 0)
    }

    /// `content` followed by `fill` bytes up to `len` (at least the content's length).
    pub fn padded(offset: u64, content: Vec<u8>, len: u64, fill: u8) -> Self {
        let len = len.max(content.len() as u64);
        Patch { offset, bytes: PatchBytes::Memory { content, len, fill } }
    }

    /// The first `len` bytes of `file`.
    pub fn file(offset: u64, file: File, len: u64) -> Self {
        Patch { offset, bytes: PatchBytes::File { file: Arc::new(file), len } }
    }

    /// Bytes replaced.
    pub fn len(&self) -> u64 {
        match &self.bytes {
            PatchBytes::Memory { len, .. } => *len,
            PatchBytes::File { len, .. } => *len,
        }
    }

    /// Byte after the patch.
    fn end(&self) -> u64 {
        self.offset + self.len()
    }

    /// Reads the patch's bytes from `start` (relative to the patch, below its length) into `buf`
    /// (no further than the patch's end); returns the count, 0 only for an empty `buf`.
    fn read_at(&self, buf: &mut [u8], start: u64) -> io::Result<usize> {
        match &self.bytes {
            PatchBytes::Memory { content, len, fill } => {
                let n = usize::try_from(len - start).map_or(buf.len(), |left| left.min(buf.len()));
                let from_content = usize::try_from(start)
                    .ok()
                    .filter(|s| *s < content.len())
                    .map_or(0, |s| (content.len() - s).min(n));
                if from_content > 0 {
                    // start < content.len(), which is a usize.
                    let s = start as usize;
                    buf[..from_content].copy_from_slice(&content[s..s + from_content]);
                }
                buf[from_content..n].fill(*fill);
                Ok(n)
            }
            PatchBytes::File { file, len } => {
                let want = usize::try_from(len - start).map_or(buf.len(), |l| l.min(buf.len()));
                let n = file.read_at(&mut buf[..want], start)?;
                if n == 0 && want > 0 {
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "a slot file is shorter than its slot"));
                }
                Ok(n)
            }
        }
    }
}

/// One medium, ready to be streamed or written.
#[derive(Debug)]
pub struct PreparedMedium {
    file: Arc<File>,
    len: u64,
    patches: Arc<[Patch]>,
    /// The hash state after the template's bytes before the first patch.
    prefix: Option<PrefixState>,
    image_type: ImageType,
    version: String,
}

impl PreparedMedium {
    /// `patches` must be non-overlapping and inside `len` bytes of `file`; `prefix` (the hash
    /// state after the first bytes of `file`) must end at or before the first patch.
    pub(crate) fn new(
        file: File,
        len: u64,
        mut patches: Vec<Patch>,
        prefix: Option<PrefixState>,
        image_type: ImageType,
        version: String,
    ) -> Result<Self, MediaError> {
        patches.sort_by_key(|p| p.offset);
        let mut end = 0;
        for patch in &patches {
            if patch.offset < end || patch.end() > len {
                return Err(MediaError::Corrupt(format!(
                    "slot at byte {} overlaps or exceeds the image",
                    patch.offset
                )));
            }
            end = patch.end();
        }
        if let Some(prefix) = &prefix {
            let first_patch = patches.first().map_or(len, |p| p.offset);
            if prefix.len() > first_patch {
                return Err(MediaError::Corrupt(format!(
                    "the hashed prefix ({} bytes) runs past the first slot (byte {first_patch})",
                    prefix.len()
                )));
            }
        }
        Ok(PreparedMedium { file: Arc::new(file), len, patches: patches.into(), prefix, image_type, version })
    }

    /// Size of the image in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the image is empty (never, for a real medium).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The image type.
    pub fn image_type(&self) -> ImageType {
        self.image_type
    }

    /// The reference's BootCD version (GetBootMedium's `%v`).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Bytes of slot files this medium holds open (a cramfs type's per-node `cramfs.img`, an
    /// unlinked temporary file): what keeping the medium costs on disk; 0 for the other types.
    pub fn slot_file_bytes(&self) -> u64 {
        self.patches.iter().map(|p| if let PatchBytes::File { len, .. } = &p.bytes { *len } else { 0 }).sum()
    }

    /// A new reader positioned at byte 0.
    pub fn reader(&self) -> MediumReader {
        MediumReader { file: Arc::clone(&self.file), len: self.len, patches: Arc::clone(&self.patches), position: 0 }
    }

    /// The pieces of the image in order: `Ok(range of the template)` or `Err(patch)`.
    fn pieces(&self) -> impl Iterator<Item = Result<(u64, u64), &Patch>> {
        let mut pieces = Vec::with_capacity(self.patches.len() * 2 + 1);
        let mut position = 0;
        for patch in self.patches.iter() {
            if patch.offset > position {
                pieces.push(Ok((position, patch.offset - position)));
            }
            pieces.push(Err(patch));
            position = patch.end();
        }
        if self.len > position {
            pieces.push(Ok((position, self.len - position)));
        }
        pieces.into_iter()
    }

    /// Where the bytes `start..start + count` of the image are, in order: ranges of open files
    /// (the template, a slot file) that a sender can hand to the kernel (`sendfile`), and image
    /// ranges of in-memory slots, to be read through a [`MediumReader`]. The range is cut to the
    /// image's end.
    pub fn segments(&self, start: u64, count: u64) -> Vec<Segment> {
        let end = start.saturating_add(count).min(self.len);
        let mut out = Vec::new();
        let mut image_offset = 0;
        for piece in self.pieces() {
            let (len, source) = match piece {
                Ok((offset, len)) => (len, Some((&self.file, offset))),
                Err(p @ Patch { bytes: PatchBytes::File { file, .. }, .. }) => (p.len(), Some((file, 0))),
                Err(p) => (p.len(), None),
            };
            let (from, to) = (image_offset.max(start), (image_offset + len).min(end));
            if from < to {
                out.push(match source {
                    Some((file, offset)) => {
                        Segment::File { file: Arc::clone(file), offset: offset + (from - image_offset), len: to - from }
                    }
                    None => Segment::Memory { offset: from, len: to - from },
                });
            }
            image_offset += len;
        }
        out
    }

    /// Writes the whole image to `out` (a pipe, a socket, standard output, an encoder…) through
    /// a 128 KiB buffer and returns the byte count.
    pub fn copy_to<W: Write + ?Sized>(&self, out: &mut W) -> Result<u64, MediaError> {
        let mut buffer = vec![0u8; COPY_BUFFER];
        let mut reader = self.reader();
        loop {
            let n = match reader.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(MediaError::Io { context: "reading the template".to_owned(), source: e }),
            };
            out.write_all(&buffer[..n]).map_err(io_error("writing the medium"))?;
        }
        out.flush().map_err(io_error("writing the medium"))?;
        Ok(self.len)
    }

    /// Writes the image into `out` from its start (the file is cut to the image size). A regular
    /// file gets the template parts by `copy_file_range` (std's `io::copy` between files: no
    /// byte passes through user space, and file systems that can share extents do); anything
    /// else goes through [`PreparedMedium::copy_to`]. The caller owns atomicity (e.g. a
    /// temporary file it renames).
    pub fn write_into(&mut self, out: &mut File) -> Result<(), MediaError> {
        let regular = out.metadata().map_err(io_error("inspecting the output"))?.is_file();
        if !regular {
            self.copy_to(out)?;
            return Ok(());
        }
        // Overwritten in place and cut to length afterwards: truncating to 0 first would make
        // ext4 (auto_da_alloc) start writing the whole file back when it is closed.
        out.seek(SeekFrom::Start(0)).map_err(io_error("writing the output"))?;
        let mut template: &File = &self.file;
        for piece in self.pieces() {
            match piece {
                Ok((offset, len)) => {
                    template.seek(SeekFrom::Start(offset)).map_err(io_error("reading the template"))?;
                    let copied = io::copy(&mut template.take(len), out).map_err(io_error("copying the template"))?;
                    if copied != len {
                        return Err(MediaError::Corrupt(format!(
                            "the template ended at byte {} instead of {}",
                            offset + copied,
                            self.len
                        )));
                    }
                }
                Err(Patch { bytes: PatchBytes::Memory { content, len, fill }, .. }) => {
                    out.write_all(content).map_err(io_error("writing the medium"))?;
                    let padding = len - content.len() as u64;
                    io::copy(&mut io::repeat(*fill).take(padding), out).map_err(io_error("writing the medium"))?;
                }
                Err(Patch { bytes: PatchBytes::File { file, len }, .. }) => {
                    let mut file: &File = file;
                    file.seek(SeekFrom::Start(0)).map_err(io_error("reading a slot file"))?;
                    let copied = io::copy(&mut file.take(*len), out).map_err(io_error("copying a slot file"))?;
                    if copied != *len {
                        return Err(MediaError::Corrupt(format!("a slot file ended at byte {copied} of {len}")));
                    }
                }
            }
        }
        out.set_len(self.len).map_err(io_error("truncating the output"))
    }

    /// Writes the image to `path` atomically with mode 0640 (a node's medium carries its node
    /// key, so it is not world-readable): into a private temporary file beside it, synced and
    /// renamed over `path` once complete, the directory synced ([`crate::files::Pending`]); the
    /// temporary file is removed on failure, and swept at start if the process was killed.
    pub fn write_to(&mut self, path: &Path) -> Result<(), MediaError> {
        let context = || format!("writing {}", path.display());
        let mut pending = crate::files::Pending::create(path).map_err(io_error(context()))?;
        self.write_into(pending.file())?;
        pending.publish(0o640).map_err(io_error(context()))
    }

    /// The sha256 of the image (lower-case hex): resumed from the template's prefix state when
    /// there is one, hashing only the bytes from the prefix's end (slots and tail); otherwise
    /// streamed whole.
    pub fn sha256(&self) -> Result<String, MediaError> {
        let mut reader = self.reader();
        let hasher = match &self.prefix {
            Some(prefix) => {
                reader.seek(SeekFrom::Start(prefix.len())).map_err(io_error("reading the medium"))?;
                prefix.resume()
            }
            None => sha2::Sha256::default(),
        };
        hash::finish(hasher, reader).map_err(io_error("reading the medium"))
    }

    /// Bytes [`PreparedMedium::sha256`] reads: those after the template's hashed prefix.
    pub fn hashed_len(&self) -> u64 {
        self.len - self.prefix.as_ref().map_or(0, PrefixState::len)
    }
}

/// A part of a medium's byte range ([`PreparedMedium::segments`]).
#[derive(Debug, Clone)]
pub enum Segment {
    /// `len` bytes of `file` from `offset`.
    File { file: Arc<File>, offset: u64, len: u64 },
    /// `len` bytes of the image from `offset`, held in memory (a rendered slot and its padding).
    Memory { offset: u64, len: u64 },
}

impl Segment {
    /// How many bytes of the image it holds.
    pub fn byte_count(&self) -> u64 {
        match self {
            Segment::File { len, .. } | Segment::Memory { len, .. } => *len,
        }
    }
}

/// `Read + Seek` over a [`PreparedMedium`]: slot bytes where slots are, template bytes elsewhere.
#[derive(Debug, Clone)]
pub struct MediumReader {
    file: Arc<File>,
    len: u64,
    patches: Arc<[Patch]>,
    position: u64,
}

impl MediumReader {
    /// Size of the image in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the image is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Read for MediumReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.position >= self.len || buf.is_empty() {
            return Ok(0);
        }
        let position = self.position;
        // The first patch that ends after the position.
        let index = self.patches.partition_point(|p| p.end() <= position);
        let (limit, patch) = match self.patches.get(index) {
            Some(p) if p.offset <= position => (p.end(), Some(p)),
            Some(p) => (p.offset, None),
            None => (self.len, None),
        };
        let want = usize::try_from(limit - position).map_or(buf.len(), |n| n.min(buf.len()));
        let n = match patch {
            Some(p) => p.read_at(&mut buf[..want], position - p.offset)?,
            None => {
                let n = self.file.read_at(&mut buf[..want], position)?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the template is shorter than its manifest says",
                    ));
                }
                n
            }
        };
        self.position += n as u64;
        Ok(n)
    }
}

impl Seek for MediumReader {
    fn seek(&mut self, target: SeekFrom) -> io::Result<u64> {
        let new = match target {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(delta) => self.len.checked_add_signed(delta),
            SeekFrom::Current(delta) => self.position.checked_add_signed(delta),
        };
        let new =
            new.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start of the medium"))?;
        self.position = new;
        Ok(new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A patch of `bytes`, from memory or from a file (longer than the patch: only the first
    /// `bytes.len()` bytes count).
    fn patch(offset: u64, bytes: &[u8], from_file: bool) -> Patch {
        if !from_file {
            return Patch::memory(offset, bytes.to_vec());
        }
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(bytes).unwrap();
        file.write_all(&[0x5A; 50]).unwrap();
        Patch::file(offset, file, bytes.len() as u64)
    }

    fn apply(template: &[u8], patches: &[(u64, Vec<u8>)]) -> Vec<u8> {
        let mut expected = template.to_vec();
        for (offset, bytes) in patches {
            expected[*offset as usize..*offset as usize + bytes.len()].copy_from_slice(bytes);
        }
        expected
    }

    fn medium(dir: &Path) -> (PreparedMedium, Vec<u8>) {
        let template: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let path = dir.join("template");
        std::fs::write(&path, &template).unwrap();
        // The patch at 0 is 4 bytes of content padded to 10 with another byte.
        let padded = [vec![0xBB; 4], vec![0xEE; 6]].concat();
        let wanted = [(4096, vec![0xAA; 100]), (0, padded), (9_990, vec![0xCC; 10])];
        let patches = vec![
            patch(4096, &wanted[0].1, true),
            Patch::padded(0, vec![0xBB; 4], 10, 0xEE),
            patch(9_990, &wanted[2].1, true),
        ];
        let expected = apply(&template, &wanted);
        let file = File::open(&path).unwrap();
        (PreparedMedium::new(file, 10_000, patches, None, ImageType::Iso, "5.4".into()).unwrap(), expected)
    }

    #[test]
    fn segments_assemble_every_range() {
        let dir = tempfile::tempdir().unwrap();
        let (m, expected) = medium(dir.path());
        for (start, count) in [(0, 10_000), (0, 1), (5, 4_200), (4_096, 100), (4_100, 5_000), (9_995, 5), (9_999, 50)] {
            let mut got = Vec::new();
            for segment in m.segments(start, count) {
                match segment {
                    Segment::File { file, offset, len } => {
                        let mut buf = vec![0; len as usize];
                        file.read_exact_at(&mut buf, offset).unwrap();
                        got.extend_from_slice(&buf);
                    }
                    Segment::Memory { offset, len } => {
                        let mut reader = m.reader();
                        reader.seek(SeekFrom::Start(offset)).unwrap();
                        let mut buf = vec![0; len as usize];
                        reader.read_exact(&mut buf).unwrap();
                        got.extend_from_slice(&buf);
                    }
                }
            }
            let end = (start + count).min(10_000) as usize;
            assert_eq!(got, expected[start as usize..end], "{start}+{count}");
        }
    }

    #[test]
    fn reader_copy_and_write_agree() {
        let dir = tempfile::tempdir().unwrap();
        let (mut m, expected) = medium(dir.path());
        let mut read = Vec::new();
        m.reader().read_to_end(&mut read).unwrap();
        assert_eq!(read, expected);
        // Odd-sized reads across slot boundaries.
        let mut reader = m.reader();
        let mut small = Vec::new();
        let mut buf = [0u8; 7];
        loop {
            let n = reader.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            small.extend_from_slice(&buf[..n]);
        }
        assert_eq!(small, expected);
        let mut copied = Vec::new();
        assert_eq!(m.copy_to(&mut copied).unwrap(), 10_000);
        let mut into = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut into, &[9u8; 20_000]).unwrap();
        m.write_into(&mut into).unwrap();
        let mut written = Vec::new();
        into.seek(SeekFrom::Start(0)).unwrap();
        into.read_to_end(&mut written).unwrap();
        assert_eq!(written, expected, "write_into truncates and rewrites");
        assert_eq!(copied, expected);
        let out = dir.path().join("out.img");
        m.write_to(&out).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), expected);
        m.write_to(&out).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), expected, "overwrite");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o640, "not world-readable");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2, "no temporary file left");
        assert_eq!(m.sha256().unwrap(), hash::sha256_hex(&expected[..]).unwrap());
        assert_eq!(m.hashed_len(), 10_000, "no prefix state: everything is hashed");
    }

    /// A medium with patches after byte 4096 and the state of the template's first 4000 bytes
    /// (a slot-last template with a tail after its slots).
    fn medium_with_prefix(dir: &Path, prefix_len: u64) -> (Result<PreparedMedium, MediaError>, Vec<u8>) {
        let template: Vec<u8> = (0..10_000u32).map(|i| (i % 241) as u8).collect();
        let path = dir.join("template");
        std::fs::write(&path, &template).unwrap();
        let wanted = [(4096, vec![0xAA; 100]), (9_000, vec![0xCC; 700])];
        let patches = vec![patch(4096, &wanted[0].1, false), patch(9_000, &wanted[1].1, true)];
        let (_, prefix) = hash::sha256_with_prefix(&template[..], prefix_len).unwrap();
        let file = File::open(&path).unwrap();
        (
            PreparedMedium::new(file, 10_000, patches, Some(prefix), ImageType::Usb, String::new()),
            apply(&template, &wanted),
        )
    }

    #[test]
    fn sha256_resumes_from_the_prefix_state() {
        let dir = tempfile::tempdir().unwrap();
        for prefix_len in [0, 1, 4000, 4096] {
            let (m, expected) = medium_with_prefix(dir.path(), prefix_len);
            let m = m.unwrap();
            assert_eq!(m.sha256().unwrap(), hash::sha256_hex(&expected[..]).unwrap(), "prefix {prefix_len}");
            assert_eq!(m.hashed_len(), 10_000 - prefix_len);
        }
        // A state that would cover slot bytes is refused.
        let (m, _) = medium_with_prefix(dir.path(), 4097);
        assert!(matches!(m, Err(MediaError::Corrupt(_))));
    }

    #[test]
    fn reader_seeks() {
        let dir = tempfile::tempdir().unwrap();
        let (m, expected) = medium(dir.path());
        let mut reader = m.reader();
        for start in [0u64, 5, 4095, 4096, 4150, 4196, 9_995, 10_000] {
            reader.seek(SeekFrom::Start(start)).unwrap();
            let mut rest = Vec::new();
            reader.read_to_end(&mut rest).unwrap();
            assert_eq!(rest, &expected[start as usize..], "from {start}");
        }
        assert_eq!(reader.seek(SeekFrom::End(-3)).unwrap(), 9_997);
        assert!(reader.seek(SeekFrom::Current(-10_000)).is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Any patches, any seek positions and read sizes: the reader yields the bytes of the
        /// template with the patches applied in memory.
        #[test]
        fn reader_equals_the_patched_template(
            len in 1u64..20_000,
            wanted in proptest::collection::vec((0u64..20_000, 1usize..3000), 0..6),
            reads in proptest::collection::vec((0u64..20_100, 1usize..5000), 1..20),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let template: Vec<u8> = (0..len).map(|i| (i * 7 % 253) as u8).collect();
            let path = dir.path().join("t");
            std::fs::write(&path, &template).unwrap();
            let mut patches: Vec<Patch> = Vec::new();
            let mut applied = Vec::new();
            let mut sorted = wanted;
            sorted.sort();
            let mut end = 0;
            for (i, (offset, size)) in sorted.into_iter().enumerate() {
                if offset >= end && offset + size as u64 <= len {
                    let bytes = vec![200 + i as u8; size];
                    patches.push(patch(offset, &bytes, i % 2 == 1));
                    applied.push((offset, bytes));
                    end = offset + size as u64;
                }
            }
            let expected = apply(&template, &applied);
            let medium = PreparedMedium::new(File::open(&path).unwrap(), len, patches, None, ImageType::Usb, String::new())
                .unwrap();
            let mut reader = medium.reader();
            for (start, size) in reads {
                reader.seek(SeekFrom::Start(start)).unwrap();
                let mut got = vec![0u8; size];
                let mut filled = 0;
                while filled < size {
                    match reader.read(&mut got[filled..]).unwrap() {
                        0 => break,
                        n => filled += n,
                    }
                }
                let from = (start.min(len)) as usize;
                let to = (start.saturating_add(size as u64).min(len)) as usize;
                proptest::prop_assert_eq!(&got[..filled], &expected[from..to.max(from)]);
            }
        }
    }

    #[test]
    fn overlapping_patches_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t");
        std::fs::write(&path, [0u8; 100]).unwrap();
        let patches = vec![Patch::memory(0, vec![1; 10]), patch(5, &[2; 10], true)];
        assert!(
            PreparedMedium::new(File::open(&path).unwrap(), 100, patches, None, ImageType::Iso, String::new()).is_err()
        );
        let beyond = vec![patch(95, &[1; 10], true)];
        assert!(
            PreparedMedium::new(File::open(&path).unwrap(), 100, beyond, None, ImageType::Iso, String::new()).is_err()
        );
    }
}
