//! Where file contents come from.
//!
//! The image writers never hold file contents in memory: a reference `bootcd.img` can be
//! hundreds of MiB. Instead every file is a [`FileSource`] that announces its exact length up
//! front (the layout needs it before any byte is written) and can be opened for streaming when
//! its turn comes. A source that yields a different number of bytes than announced is an error,
//! never a silently corrupt image.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The contents of one file, streamed when the writer reaches it.
pub trait FileSource {
    /// The exact number of bytes [`FileSource::open`] yields.
    fn len(&self) -> u64;

    /// Whether the file is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A reader positioned at the first byte. Writers may call this more than once (for
    /// example to checksum a boot image before writing it), so each call starts afresh.
    fn open(&self) -> io::Result<Box<dyn Read + '_>>;
}

impl FileSource for Vec<u8> {
    fn len(&self) -> u64 {
        self.as_slice().len() as u64
    }
    fn open(&self) -> io::Result<Box<dyn Read + '_>> {
        Ok(Box::new(self.as_slice()))
    }
}

impl FileSource for Box<[u8]> {
    fn len(&self) -> u64 {
        self.as_ref().len() as u64
    }
    fn open(&self) -> io::Result<Box<dyn Read + '_>> {
        Ok(Box::new(self.as_ref()))
    }
}

impl FileSource for Arc<[u8]> {
    fn len(&self) -> u64 {
        self.as_ref().len() as u64
    }
    fn open(&self) -> io::Result<Box<dyn Read + '_>> {
        Ok(Box::new(self.as_ref()))
    }
}

impl FileSource for &'static [u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }
    fn open(&self) -> io::Result<Box<dyn Read + '_>> {
        Ok(Box::new(*self))
    }
}

impl FileSource for String {
    fn len(&self) -> u64 {
        String::len(self) as u64
    }
    fn open(&self) -> io::Result<Box<dyn Read + '_>> {
        Ok(Box::new(self.as_bytes()))
    }
}

/// A file on the local filesystem, opened only when the writer reaches it.
///
/// The length is taken when the source is created; if the file changes size before it is
/// written, the writer reports a length mismatch instead of producing a corrupt image.
#[derive(Debug, Clone)]
pub struct PathSource {
    path: PathBuf,
    len: u64,
}

impl PathSource {
    /// Records the file's current length.
    pub fn new(path: impl Into<PathBuf>) -> io::Result<Self> {
        let path = path.into();
        let len = std::fs::metadata(&path)?.len();
        Ok(Self { path, len })
    }

    /// The file this source reads.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl FileSource for PathSource {
    fn len(&self) -> u64 {
        self.len
    }
    fn open(&self) -> io::Result<Box<dyn Read + '_>> {
        Ok(Box::new(File::open(&self.path)?))
    }
}

/// A fixed-size region reserved for a file whose content changes per image.
///
/// The writers reserve exactly `size` bytes, write the content followed by `fill` bytes up to
/// `size`, and record `size` as the file's length, so that per-node content (padded the same
/// way) can later be written over those bytes without touching any metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// Bytes reserved and recorded as the file's size.
    pub size: u64,
    /// Byte that pads the content up to `size` (0 for an initramfs, b' ' or b'\n' for text).
    pub fill: u8,
}

/// Why streaming a file's contents failed.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// The source could not be opened or read.
    #[error("reading the source failed: {0}")]
    Read(#[source] io::Error),
    /// The output refused the bytes.
    #[error("writing the output failed: {0}")]
    Write(#[source] io::Error),
    /// The source yielded fewer (or more) bytes than it announced.
    #[error("the source announced {expected} bytes but yielded {actual}{}", if *.more { " or more" } else { "" })]
    Length {
        /// What [`FileSource::len`] said.
        expected: u64,
        /// What was read before the mismatch was noticed.
        actual: u64,
        /// True when the source had bytes left after `expected`.
        more: bool,
    },
}

const COPY_BUFFER: usize = 64 * 1024;

/// Copies exactly `expected` bytes from `reader` to `out`. When `check_end` is true, one more
/// read makes sure the reader is exhausted (used for [`FileSource`]s, whose length is a
/// promise); otherwise the reader is left just after the copied bytes (used when the reader is
/// a part of a larger stream).
pub(crate) fn copy_exact(
    reader: &mut dyn Read,
    expected: u64,
    out: &mut dyn Write,
    check_end: bool,
) -> Result<(), CopyError> {
    let mut buffer = vec![0u8; COPY_BUFFER.min(usize::try_from(expected).unwrap_or(COPY_BUFFER)).max(1)];
    let mut copied = 0u64;
    while copied < expected {
        let want = usize::try_from(expected - copied).map_or(buffer.len(), |r| r.min(buffer.len()));
        let got = match reader.read(&mut buffer[..want]) {
            Ok(0) => {
                return Err(CopyError::Length { expected, actual: copied, more: false });
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Read(e)),
        };
        out.write_all(&buffer[..got]).map_err(CopyError::Write)?;
        copied += got as u64;
    }
    if check_end {
        let mut probe = [0u8; 1];
        loop {
            match reader.read(&mut probe) {
                Ok(0) => break,
                Ok(_) => return Err(CopyError::Length { expected, actual: copied, more: true }),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(CopyError::Read(e)),
            }
        }
    }
    Ok(())
}

/// Streams a whole [`FileSource`] to `out`, checking its announced length.
pub(crate) fn copy_source(source: &dyn FileSource, out: &mut dyn Write) -> Result<(), CopyError> {
    let mut reader = source.open().map_err(CopyError::Read)?;
    copy_exact(&mut reader, source.len(), out, true)
}

/// Reads a whole [`FileSource`] into memory; only for small files the writers must patch or
/// checksum (boot images), never for bulk data.
pub(crate) fn read_source(source: &dyn FileSource) -> Result<Vec<u8>, CopyError> {
    let mut bytes = Vec::new();
    copy_source(source, &mut bytes)?;
    Ok(bytes)
}

/// Writes `count` zero bytes.
pub(crate) fn write_zeros(out: &mut dyn Write, count: u64) -> io::Result<()> {
    const ZEROS: [u8; 8192] = [0u8; 8192];
    let mut left = count;
    while left > 0 {
        let n = usize::try_from(left).map_or(ZEROS.len(), |l| l.min(ZEROS.len()));
        out.write_all(&ZEROS[..n])?;
        left -= n as u64;
    }
    Ok(())
}

/// Writes `count` copies of `byte`.
pub(crate) fn write_fill(out: &mut dyn Write, byte: u8, count: u64) -> io::Result<()> {
    if byte == 0 {
        return write_zeros(out, count);
    }
    let chunk = [byte; 8192];
    let mut left = count;
    while left > 0 {
        let n = usize::try_from(left).map_or(chunk.len(), |l| l.min(chunk.len()));
        out.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    Ok(())
}

/// A writer adapter that counts the bytes passed through, so the writers can check that what
/// they emit matches the layout they computed.
pub(crate) struct CountingWriter<W> {
    pub(crate) inner: W,
    pub(crate) count: u64,
}

impl<W: Write> CountingWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        Self { inner, count: 0 }
    }
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_exact_detects_short_and_long_sources() {
        let mut out = Vec::new();
        let short = copy_exact(&mut &b"abc"[..], 4, &mut out, true);
        assert!(matches!(short, Err(CopyError::Length { expected: 4, actual: 3, more: false })));
        let mut out = Vec::new();
        let long = copy_exact(&mut &b"abcde"[..], 4, &mut out, true);
        assert!(matches!(long, Err(CopyError::Length { expected: 4, actual: 4, more: true })));
        let mut out = Vec::new();
        let mut reader = &b"abcde"[..];
        copy_exact(&mut reader, 4, &mut out, false).unwrap();
        assert_eq!(out, b"abcd");
        assert_eq!(reader, b"e");
    }
}
