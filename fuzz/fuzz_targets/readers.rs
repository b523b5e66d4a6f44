//! The on-disk format readers of crates/formats on arbitrary bytes — ISO 9660 (all three name
//! spaces and the El Torito catalog), FAT (a superfloppy, and each partition of an MBR), newc
//! cpio (plain and gzip'd) and cramfs — every reader tried on every input, each walking the
//! whole tree and reading every file. An image from the field is untrusted input: no panic, no
//! loop, and no allocation sized by a length field beyond what the image holds.
#![no_main]

use bootmedium_formats::cpio::{CpioReader, gzip_decoder};
use bootmedium_formats::cramfs::CramfsReader;
use bootmedium_formats::fat::FatReader;
use bootmedium_formats::iso9660::{IsoReader, NameSpace};
use bootmedium_formats::mbr::Mbr;
use libfuzzer_sys::fuzz_target;
use std::io::{Cursor, Read, sink};

/// Most directories or files visited per tree (a crafted tree may be a cycle).
const MAX_VISITS: usize = 256;

/// Visits a tree depth first, at most [`MAX_VISITS`] entries: `visit` reads an entry and
/// answers its children (none for a file).
fn walk<E>(root: E, mut visit: impl FnMut(&E) -> Vec<E>) {
    let mut queue = vec![root];
    let mut visits = 0;
    while let Some(entry) = queue.pop() {
        visits += 1;
        if visits > MAX_VISITS {
            break;
        }
        queue.extend(visit(&entry));
    }
}

fn iso(data: &[u8]) {
    let Ok(mut reader) = IsoReader::open(Cursor::new(data)) else { return };
    let _ = reader.boot_catalog();
    for names in [NameSpace::Iso9660, NameSpace::RockRidge, NameSpace::Joliet] {
        let Ok(root) = reader.root(names) else { continue };
        walk(root, |entry| {
            if entry.is_directory {
                return reader.read_dir(entry, names).unwrap_or_default();
            }
            let _ = reader.read_file_to_vec(entry);
            Vec::new()
        });
        let _ = reader.lookup("isolinux/isolinux.cfg", names);
    }
}

fn fat(data: &[u8], offset: u64) {
    let Ok(mut reader) = FatReader::open_at(Cursor::new(data), offset) else { return };
    let root = reader.root();
    walk(root, |entry| {
        if entry.is_directory {
            return reader.read_dir(entry).unwrap_or_default();
        }
        let _ = reader.file_offset(entry);
        let _ = reader.cluster_chain(entry.first_cluster);
        let _ = reader.read_file_to_vec(entry);
        Vec::new()
    });
    let _ = reader.lookup("boot/syslinux/syslinux.cfg");
}

fn cpio(archive: impl Read) {
    let mut reader = CpioReader::new(archive);
    while let Ok(Some(mut entry)) = reader.next_entry() {
        let _ = entry.header.name_str();
        if std::io::copy(&mut entry, &mut sink()).is_err() {
            break;
        }
    }
}

fn cramfs(data: &[u8]) {
    let Ok(mut reader) = CramfsReader::open(Cursor::new(data)) else { return };
    let _ = reader.verify_crc();
    let mut queue = vec![reader.root()];
    let mut visits = 0;
    while let Some(entry) = queue.pop() {
        visits += 1;
        if visits > MAX_VISITS {
            break;
        }
        if entry.is_directory() {
            if let Ok(children) = reader.read_dir(&entry) {
                queue.extend(children);
            }
        } else {
            let _ = reader.read_file(&entry);
        }
    }
    let _ = reader.lookup("usr/boot/plnode.txt");
}

fuzz_target!(|data: &[u8]| {
    iso(data);
    fat(data, 0);
    if let Some(sector) = data.get(..512)
        && let Ok(mbr) = Mbr::decode(sector)
    {
        for partition in mbr.partitions.iter().flatten() {
            fat(data, u64::from(partition.start_lba) * 512);
        }
    }
    cpio(data);
    cpio(gzip_decoder(data).take(1 << 20));
    cramfs(data);
});
