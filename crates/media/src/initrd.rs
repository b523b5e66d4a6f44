//! Reading the reference's root initramfs (`bootcd.img`) once, at import: its uncompressed size
//! (for `ramdisk_size`, which build.sh computed per node with `gzip -l`) and its `/etc/passwd`
//! (which build.sh took from the reference build directory and the overlay replaces).
//!
//! Accepted: a gzip stream (one or more members) or a plain newc cpio — the formats the
//! kernel's initramfs unpacker and our cpio reader share. Only the first archive's entries
//! are looked at; everything is counted.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use bootmedium_formats::cpio::CpioReader;
use flate2::read::MultiGzDecoder;

use crate::error::{MediaError, io_error};

const MAX_PASSWD: u64 = 1024 * 1024;

/// What the scan found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InitrdScan {
    /// Bytes after decompression.
    pub uncompressed_bytes: u64,
    /// `etc/passwd`, if the root has one.
    pub passwd: Option<String>,
}

struct Counting<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

/// Opens `bootcd.img` as a stream of cpio bytes.
pub(crate) fn open_cpio_stream(path: &Path) -> Result<Box<dyn Read>, MediaError> {
    let mut file = File::open(path).map_err(io_error(format!("opening {}", path.display())))?;
    let mut magic = [0u8; 6];
    let got = read_up_to(&mut file, &mut magic).map_err(io_error(format!("reading {}", path.display())))?;
    let reopened = File::open(path).map_err(io_error(format!("opening {}", path.display())))?;
    let buffered = BufReader::with_capacity(128 * 1024, reopened);
    if got >= 2 && magic[..2] == [0x1f, 0x8b] {
        Ok(Box::new(MultiGzDecoder::new(buffered)))
    } else if got == 6 && (&magic == b"070701" || &magic == b"070702") {
        Ok(Box::new(buffered))
    } else {
        Err(MediaError::Initrd("neither gzip-compressed nor a plain newc cpio archive".to_owned()))
    }
}

fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// Decompresses `bootcd.img` once, counting bytes and keeping `etc/passwd`.
pub(crate) fn scan(path: &Path) -> Result<InitrdScan, MediaError> {
    let mut stream = Counting { inner: open_cpio_stream(path)?, count: 0 };
    let malformed = |e: bootmedium_formats::cpio::CpioError| MediaError::Initrd(e.to_string());
    let mut passwd = None;
    {
        let mut archive = CpioReader::new(&mut stream);
        while let Some(mut entry) = archive.next_entry().map_err(malformed)? {
            let name = entry.header.name_str().unwrap_or_default().trim_start_matches("./").to_owned();
            let regular = entry.header.file_type() == bootmedium_formats::cpio::mode::REGULAR;
            if name == "etc/passwd" && regular && u64::from(entry.header.file_size) <= MAX_PASSWD {
                let mut text = String::new();
                entry.read_to_string(&mut text).map_err(|e| MediaError::Initrd(format!("etc/passwd: {e}")))?;
                passwd = Some(text);
            }
        }
    }
    io::copy(&mut stream, &mut io::sink()).map_err(|e| MediaError::Initrd(format!("decompressing: {e}")))?;
    Ok(InitrdScan { uncompressed_bytes: stream.count, passwd })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bootmedium_formats::cpio::{CpioWriter, EntryDefaults, gzip_encoder};

    fn archive() -> Vec<u8> {
        let mut cpio = CpioWriter::new(Vec::new(), EntryDefaults::default());
        cpio.directory("etc", 0o755).unwrap();
        cpio.file_from_bytes("etc/passwd", 0o644, b"root:x:0:0::/:/bin/sh\n").unwrap();
        cpio.file_from_bytes("big", 0o644, &[7u8; 100_000]).unwrap();
        let mut bytes = cpio.finish().unwrap();
        bytes.extend_from_slice(&[0u8; 512]);
        bytes
    }

    #[test]
    fn gzip_and_plain_archives() {
        let dir = tempfile::tempdir().unwrap();
        let plain = archive();
        let mut gz = gzip_encoder(Vec::new(), 6);
        std::io::Write::write_all(&mut gz, &plain).unwrap();
        let compressed = gz.finish().unwrap();
        for (name, bytes) in [("plain", &plain), ("gz", &compressed)] {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            let scan = scan(&path).unwrap();
            assert_eq!(scan.uncompressed_bytes, plain.len() as u64, "{name}");
            assert_eq!(scan.passwd.as_deref(), Some("root:x:0:0::/:/bin/sh\n"), "{name}");
        }
        let junk = dir.path().join("junk");
        std::fs::write(&junk, b"\xfd7zXZ\0junk").unwrap();
        assert!(matches!(scan(&junk), Err(MediaError::Initrd(_))));
    }
}
