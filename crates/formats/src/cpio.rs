//! The "newc" cpio archive (magic `070701`), the format of Linux initramfs images, with a gzip
//! wrapper.
//!
//! Implements the format described in the Linux kernel's
//! `Documentation/driver-api/early-userspace/buffer-format.rst`: each entry is a 110-byte ASCII
//! header (magic + 13 eight-digit hexadecimal fields), the NUL-terminated name, padding to a
//! multiple of 4 bytes, the data, and padding to a multiple of 4 bytes; the archive ends with an
//! entry named `TRAILER!!!`. The `070702` ("crc") variant is accepted by the reader.
//!
//! Writer choices, for reproducible archives the kernel unpacks correctly:
//! - ownership and mtime come from the caller ([`EntryDefaults`]), never from a clock;
//! - inode numbers count up from 1 and regular files have `nlink` 1, because the kernel treats
//!   entries sharing an inode number with `nlink >= 2` as hard links;
//! - names are stored as given (relative, e.g. `usr/boot/plnode.txt`); parents must be written
//!   before their children, as `cpio -o` and the kernel expect.
//!
//! The gzip helpers write a fixed header (mtime 0, no file name, OS "unknown") so that the
//! compressed bytes depend only on the archive bytes and the level.

use std::io::{self, Read, Write};

use flate2::Compression;
use flate2::GzBuilder;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

use crate::source::{self, CopyError, FileSource};

/// The newc magic.
pub const NEWC_MAGIC: &[u8; 6] = b"070701";
/// The newc-with-checksum magic (accepted by the reader only).
pub const NEWC_CRC_MAGIC: &[u8; 6] = b"070702";
/// The name of the entry that ends an archive.
pub const TRAILER_NAME: &str = "TRAILER!!!";
/// Size of the fixed ASCII header.
pub const HEADER_LEN: usize = 110;

/// File-type bits of `mode` (the POSIX `S_IF*` values the kernel uses).
pub mod mode {
    /// Mask of the file-type bits.
    pub const TYPE_MASK: u32 = 0o170_000;
    /// Directory.
    pub const DIRECTORY: u32 = 0o040_000;
    /// Regular file.
    pub const REGULAR: u32 = 0o100_000;
    /// Symbolic link.
    pub const SYMLINK: u32 = 0o120_000;
    /// Character device.
    pub const CHAR_DEVICE: u32 = 0o020_000;
    /// Block device.
    pub const BLOCK_DEVICE: u32 = 0o060_000;
    /// Named pipe.
    pub const FIFO: u32 = 0o010_000;
    /// Permission bits plus set-id and sticky bits.
    pub const PERMISSIONS_MASK: u32 = 0o7777;
}

/// Errors of the cpio writer and reader.
#[derive(Debug, thiserror::Error)]
pub enum CpioError {
    /// Writing to the output failed.
    #[error("writing the cpio archive failed: {0}")]
    Io(#[from] io::Error),
    /// A regular file's contents could not be streamed.
    #[error("cpio entry {name:?}: {source}")]
    Source {
        /// The entry name.
        name: String,
        /// What went wrong.
        #[source]
        source: CopyError,
    },
    /// The name cannot be stored (empty, contains NUL, or too long).
    #[error("invalid cpio entry name {0:?}: names must be non-empty, NUL-free and shorter than 4096 bytes")]
    InvalidName(String),
    /// newc records sizes in 32 bits.
    #[error("cpio entry {name:?} is {size} bytes; newc records at most 4 GiB - 1")]
    TooLarge {
        /// The entry name.
        name: String,
        /// Its size.
        size: u64,
    },
    /// More than 2^32 - 1 entries.
    #[error("too many cpio entries for 32-bit inode numbers")]
    TooManyEntries,
    /// The reader met something that is not a newc header.
    #[error("malformed cpio archive at byte {offset}: {reason}")]
    Malformed {
        /// Archive offset of the problem.
        offset: u64,
        /// What was wrong.
        reason: String,
    },
}

/// Ownership and time stamped on every entry, chosen by the caller for reproducibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EntryDefaults {
    /// Owner user id (0 = root).
    pub uid: u32,
    /// Owner group id.
    pub gid: u32,
    /// Modification time, seconds since the Unix epoch.
    pub mtime: u32,
}

/// The kind of device node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    /// Character device (`S_IFCHR`).
    Character,
    /// Block device (`S_IFBLK`).
    Block,
}

/// One decoded newc header (all fields as stored).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Header {
    /// `c_ino`.
    pub ino: u32,
    /// `c_mode`: type bits and permissions.
    pub mode: u32,
    /// `c_uid`.
    pub uid: u32,
    /// `c_gid`.
    pub gid: u32,
    /// `c_nlink`.
    pub nlink: u32,
    /// `c_mtime`.
    pub mtime: u32,
    /// `c_filesize`: bytes of data after the name.
    pub file_size: u32,
    /// `c_maj`: device of the file system the file was on.
    pub dev_major: u32,
    /// `c_min`.
    pub dev_minor: u32,
    /// `c_rmaj`: for device nodes, the device they stand for.
    pub rdev_major: u32,
    /// `c_rmin`.
    pub rdev_minor: u32,
    /// `c_chksum`: zero for `070701`.
    pub check: u32,
    /// The entry name, without the terminating NUL.
    pub name: Vec<u8>,
}

impl Header {
    /// The name as UTF-8, if it is.
    pub fn name_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.name).ok()
    }

    /// The file-type bits of `mode`.
    pub fn file_type(&self) -> u32 {
        self.mode & mode::TYPE_MASK
    }

    /// Encodes the 110-byte header, the name, its NUL and the padding to 4 bytes.
    fn encode(&self) -> Vec<u8> {
        let name_size = self.name.len() + 1;
        let mut out = Vec::with_capacity(HEADER_LEN + name_size + 3);
        out.extend_from_slice(NEWC_MAGIC);
        let name_size_u32 = u32::try_from(name_size).unwrap_or(u32::MAX);
        for field in [
            self.ino,
            self.mode,
            self.uid,
            self.gid,
            self.nlink,
            self.mtime,
            self.file_size,
            self.dev_major,
            self.dev_minor,
            self.rdev_major,
            self.rdev_minor,
            name_size_u32,
            self.check,
        ] {
            out.extend_from_slice(format!("{field:08X}").as_bytes());
        }
        out.extend_from_slice(&self.name);
        out.push(0);
        out.resize(align4(out.len() as u64) as usize, 0);
        out
    }
}

fn align4(n: u64) -> u64 {
    (n + 3) & !3
}

/// A streaming newc writer.
///
/// Entries are written immediately; [`CpioWriter::finish`] writes the trailer. Because every
/// header starts at a multiple of 4 bytes from the start of the archive, the writer must be
/// given the archive from its first byte.
pub struct CpioWriter<W: Write> {
    out: W,
    written: u64,
    next_ino: u32,
    defaults: EntryDefaults,
}

impl<W: Write> CpioWriter<W> {
    /// Starts an archive; `defaults` is stamped on every entry.
    pub fn new(out: W, defaults: EntryDefaults) -> Self {
        Self { out, written: 0, next_ino: 1, defaults }
    }

    /// Bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    /// Adds a directory; `permissions` are the low 12 mode bits (e.g. `0o755`).
    pub fn directory(&mut self, name: &str, permissions: u32) -> Result<(), CpioError> {
        let header = self.header(name, mode::DIRECTORY | (permissions & mode::PERMISSIONS_MASK), 2, 0)?;
        self.emit(&header, |_| Ok(()))
    }

    /// Adds a regular file whose `size` bytes are read from `data`; exactly `size` bytes are
    /// read, so `data` may be a part of a longer stream.
    pub fn file(&mut self, name: &str, permissions: u32, size: u64, data: &mut dyn Read) -> Result<(), CpioError> {
        let file_size = u32::try_from(size).map_err(|_| CpioError::TooLarge { name: name.to_owned(), size })?;
        let header = self.header(name, mode::REGULAR | (permissions & mode::PERMISSIONS_MASK), 1, file_size)?;
        self.emit(&header, |out| {
            source::copy_exact(data, size, out, false)
                .map_err(|source| CpioError::Source { name: name.to_owned(), source })
        })
    }

    /// Adds a regular file with contents from a [`FileSource`] (its length is checked).
    pub fn file_from_source(&mut self, name: &str, permissions: u32, data: &dyn FileSource) -> Result<(), CpioError> {
        let size = data.len();
        let file_size = u32::try_from(size).map_err(|_| CpioError::TooLarge { name: name.to_owned(), size })?;
        let header = self.header(name, mode::REGULAR | (permissions & mode::PERMISSIONS_MASK), 1, file_size)?;
        self.emit(&header, |out| {
            source::copy_source(data, out).map_err(|source| CpioError::Source { name: name.to_owned(), source })
        })
    }

    /// Adds a regular file from bytes in memory.
    pub fn file_from_bytes(&mut self, name: &str, permissions: u32, data: &[u8]) -> Result<(), CpioError> {
        let mut reader = data;
        self.file(name, permissions, data.len() as u64, &mut reader)
    }

    /// Adds a symbolic link (mode 0777, as `ln -s` makes them); the data is the target.
    pub fn symlink(&mut self, name: &str, target: &str) -> Result<(), CpioError> {
        let size = target.len() as u64;
        let file_size = u32::try_from(size).map_err(|_| CpioError::TooLarge { name: name.to_owned(), size })?;
        let header = self.header(name, mode::SYMLINK | 0o777, 1, file_size)?;
        self.emit(&header, |out| out.write_all(target.as_bytes()).map_err(CpioError::Io))
    }

    /// Adds a device node.
    pub fn device(
        &mut self,
        name: &str,
        kind: DeviceKind,
        permissions: u32,
        major: u32,
        minor: u32,
    ) -> Result<(), CpioError> {
        let type_bits = match kind {
            DeviceKind::Character => mode::CHAR_DEVICE,
            DeviceKind::Block => mode::BLOCK_DEVICE,
        };
        let mut header = self.header(name, type_bits | (permissions & mode::PERMISSIONS_MASK), 1, 0)?;
        header.rdev_major = major;
        header.rdev_minor = minor;
        self.emit(&header, |_| Ok(()))
    }

    /// Adds a named pipe.
    pub fn fifo(&mut self, name: &str, permissions: u32) -> Result<(), CpioError> {
        let header = self.header(name, mode::FIFO | (permissions & mode::PERMISSIONS_MASK), 1, 0)?;
        self.emit(&header, |_| Ok(()))
    }

    /// Writes the `TRAILER!!!` entry, flushes, and returns the output.
    pub fn finish(mut self) -> Result<W, CpioError> {
        let trailer = Header { nlink: 1, name: TRAILER_NAME.as_bytes().to_vec(), ..Header::default() };
        self.emit(&trailer, |_| Ok(()))?;
        self.out.flush()?;
        Ok(self.out)
    }

    fn header(&mut self, name: &str, mode: u32, nlink: u32, file_size: u32) -> Result<Header, CpioError> {
        if name.is_empty() || name.len() >= 4096 || name.contains('\0') || name == TRAILER_NAME {
            return Err(CpioError::InvalidName(name.to_owned()));
        }
        let ino = self.next_ino;
        self.next_ino = self.next_ino.checked_add(1).ok_or(CpioError::TooManyEntries)?;
        Ok(Header {
            ino,
            mode,
            uid: self.defaults.uid,
            gid: self.defaults.gid,
            nlink,
            mtime: self.defaults.mtime,
            file_size,
            name: name.as_bytes().to_vec(),
            ..Header::default()
        })
    }

    fn emit(
        &mut self,
        header: &Header,
        write_data: impl FnOnce(&mut dyn Write) -> Result<(), CpioError>,
    ) -> Result<(), CpioError> {
        let encoded = header.encode();
        self.out.write_all(&encoded)?;
        let mut counting = source::CountingWriter::new(&mut self.out);
        write_data(&mut counting)?;
        let data_len = counting.count;
        let padding = align4(data_len) - data_len;
        source::write_zeros(&mut self.out, padding)?;
        self.written += encoded.len() as u64 + data_len + padding;
        Ok(())
    }
}

/// A gzip encoder with a reproducible header (mtime 0, no name, OS 255 "unknown").
/// `level` is 0–9 (upstream uses `gzip -9`). Call `finish()` on it to write the gzip trailer.
pub fn gzip_encoder<W: Write>(out: W, level: u32) -> GzEncoder<W> {
    GzBuilder::new().mtime(0).operating_system(255).write(out, Compression::new(level.min(9)))
}

/// A gzip decoder for one gzip member. Bytes after the member (e.g. the zero padding of an
/// overlay slot, which the kernel's initramfs unpacker skips) are left unread.
pub fn gzip_decoder<R: Read>(input: R) -> GzDecoder<R> {
    GzDecoder::new(input)
}

/// A streaming newc reader: [`CpioReader::next_entry`] yields each entry, whose data can be
/// read from the returned [`Entry`]; unread data is skipped on the next call.
pub struct CpioReader<R: Read> {
    input: R,
    offset: u64,
    data_left: u64,
    padding_after_data: u64,
    finished: bool,
}

/// One archive entry: its header and a reader of its data.
pub struct Entry<'a, R: Read> {
    /// The decoded header.
    pub header: Header,
    reader: &'a mut CpioReader<R>,
}

impl<R: Read> Read for Entry<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = usize::try_from(self.reader.data_left).map_or(buf.len(), |l| l.min(buf.len()));
        if want == 0 {
            return Ok(0);
        }
        let n = self.reader.input.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "cpio entry data truncated"));
        }
        self.reader.data_left -= n as u64;
        self.reader.offset += n as u64;
        Ok(n)
    }
}

impl<R: Read> CpioReader<R> {
    /// Reads an archive from its first byte.
    pub fn new(input: R) -> Self {
        Self { input, offset: 0, data_left: 0, padding_after_data: 0, finished: false }
    }

    /// The next entry, or `None` after the trailer.
    pub fn next_entry(&mut self) -> Result<Option<Entry<'_, R>>, CpioError> {
        if self.finished {
            return Ok(None);
        }
        let skip = self.data_left + self.padding_after_data;
        let skipped = io::copy(&mut (&mut self.input).take(skip), &mut io::sink())?;
        if skipped != skip {
            return Err(self.malformed("archive ends inside entry data"));
        }
        self.offset += skip;
        self.data_left = 0;
        self.padding_after_data = 0;

        let mut raw = [0u8; HEADER_LEN];
        self.read_fully(&mut raw, "archive ends inside a header (no trailer)")?;
        if &raw[..6] != NEWC_MAGIC && &raw[..6] != NEWC_CRC_MAGIC {
            return Err(self.malformed(&format!("bad magic {:?}", String::from_utf8_lossy(&raw[..6]))));
        }
        let mut fields = [0u32; 13];
        for (i, field) in fields.iter_mut().enumerate() {
            let text = &raw[6 + 8 * i..14 + 8 * i];
            *field = std::str::from_utf8(text)
                .ok()
                .and_then(|t| u32::from_str_radix(t, 16).ok())
                .ok_or_else(|| self.malformed("header field is not 8 hexadecimal digits"))?;
        }
        let name_size = fields[11] as usize;
        if name_size == 0 || name_size > 1 << 20 {
            return Err(self.malformed("implausible name size"));
        }
        let name_padded = (align4((HEADER_LEN + name_size) as u64) as usize) - HEADER_LEN;
        let mut name = vec![0u8; name_padded];
        self.read_fully(&mut name, "archive ends inside a name")?;
        name.truncate(name_size);
        if name.pop() != Some(0) {
            return Err(self.malformed("name is not NUL-terminated"));
        }
        let header = Header {
            ino: fields[0],
            mode: fields[1],
            uid: fields[2],
            gid: fields[3],
            nlink: fields[4],
            mtime: fields[5],
            file_size: fields[6],
            dev_major: fields[7],
            dev_minor: fields[8],
            rdev_major: fields[9],
            rdev_minor: fields[10],
            check: fields[12],
            name,
        };
        if header.name == TRAILER_NAME.as_bytes() {
            self.finished = true;
            return Ok(None);
        }
        self.data_left = u64::from(header.file_size);
        self.padding_after_data = align4(self.data_left) - self.data_left;
        Ok(Some(Entry { header, reader: self }))
    }

    /// Reads every entry into memory (for tests and small archives such as an overlay).
    pub fn read_all(mut self) -> Result<Vec<(Header, Vec<u8>)>, CpioError> {
        let mut entries = Vec::new();
        while let Some(mut entry) = self.next_entry()? {
            let mut data = Vec::new();
            entry.read_to_end(&mut data)?;
            entries.push((entry.header, data));
        }
        Ok(entries)
    }

    fn read_fully(&mut self, buf: &mut [u8], eof_reason: &str) -> Result<(), CpioError> {
        match self.input.read_exact(buf) {
            Ok(()) => {
                self.offset += buf.len() as u64;
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Err(self.malformed(eof_reason)),
            Err(e) => Err(CpioError::Io(e)),
        }
    }

    fn malformed(&self, reason: &str) -> CpioError {
        CpioError::Malformed { offset: self.offset, reason: reason.to_owned() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> EntryDefaults {
        EntryDefaults { uid: 0, gid: 0, mtime: 1_700_000_000 }
    }

    #[test]
    fn header_layout_matches_buffer_format() {
        let mut writer = CpioWriter::new(Vec::new(), defaults());
        writer.file_from_bytes("ab", 0o644, b"xyz").unwrap();
        let bytes = writer.finish().unwrap();
        // 110-byte header + "ab\0" = 113 → padded to 116; data 3 → padded to 4.
        assert_eq!(&bytes[..6], b"070701");
        assert_eq!(&bytes[6..14], b"00000001"); // ino
        assert_eq!(&bytes[14..22], b"000081A4"); // mode 0100644
        assert_eq!(&bytes[54..62], b"00000003"); // filesize
        assert_eq!(&bytes[94..102], b"00000003"); // namesize incl. NUL
        assert_eq!(&bytes[110..116], b"ab\0\0\0\0");
        assert_eq!(&bytes[116..120], b"xyz\0");
        assert_eq!(&bytes[120..126], b"070701");
        assert_eq!(bytes.len() % 4, 0);
    }

    #[test]
    fn round_trip_through_reader() {
        let mut writer = CpioWriter::new(Vec::new(), defaults());
        writer.directory("usr", 0o755).unwrap();
        writer.file_from_bytes("usr/a", 0o600, b"hello").unwrap();
        writer.symlink("usr/l", "a").unwrap();
        writer.device("dev-console", DeviceKind::Character, 0o600, 5, 1).unwrap();
        let bytes = writer.finish().unwrap();
        let entries = CpioReader::new(&bytes[..]).read_all().unwrap();
        let names: Vec<_> = entries.iter().map(|(h, _)| h.name_str().unwrap().to_owned()).collect();
        assert_eq!(names, ["usr", "usr/a", "usr/l", "dev-console"]);
        assert_eq!(entries[1].1, b"hello");
        assert_eq!(entries[1].0.mode, 0o100_600);
        assert_eq!(entries[2].1, b"a");
        assert_eq!((entries[3].0.rdev_major, entries[3].0.rdev_minor), (5, 1));
        assert_eq!(entries[0].0.mtime, 1_700_000_000);
    }

    #[test]
    fn short_reader_is_an_error() {
        let mut writer = CpioWriter::new(Vec::new(), defaults());
        let err = writer.file("f", 0o644, 10, &mut &b"abc"[..]).unwrap_err();
        assert!(matches!(err, CpioError::Source { .. }), "{err}");
    }

    #[test]
    fn gzip_is_reproducible_and_decodes() {
        let compress = |data: &[u8]| {
            let mut encoder = gzip_encoder(Vec::new(), 9);
            encoder.write_all(data).unwrap();
            encoder.finish().unwrap()
        };
        let a = compress(b"some archive bytes");
        assert_eq!(a, compress(b"some archive bytes"));
        assert_eq!(&a[4..8], &[0, 0, 0, 0], "mtime must be zero");
        assert_eq!(a[3] & 0x08, 0, "no file name");
        let mut padded = a.clone();
        padded.extend_from_slice(&[0u8; 100]);
        let mut out = Vec::new();
        gzip_decoder(&padded[..]).read_to_end(&mut out).unwrap();
        assert_eq!(out, b"some archive bytes");
    }
}
