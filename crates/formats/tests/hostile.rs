//! The readers on hostile images: an image from the field is untrusted input (`inspect`), so a
//! crafted length field, sector count or compressed block must give an error, never a panic, a
//! loop, or an allocation sized by the field instead of by the image. Each case starts from a
//! well-formed image made by our writers and patches one field, as the fuzz targets
//! (fuzz/README.md) found or would find.
//!
//! The allocation bound is checked with a counting global allocator: reading these images
//! allocates virtual memory the kernel hands out lazily, so without counting, a 4 GiB buffer
//! that is never touched would go unnoticed. That allocator is this file's one use of
//! `unsafe` (a `GlobalAlloc` impl that forwards to the system allocator).

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Cursor, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use bootmedium_formats::Timestamp;
use bootmedium_formats::cramfs::{CramfsBuilder, CramfsReader, Metadata};
use bootmedium_formats::fat::{FatBuilder, FatFileOptions, FatOptions, FatReader};
use bootmedium_formats::iso9660::{FileOptions, IsoBuilder, IsoOptions, IsoReader, NameSpace};

/// The largest single allocation since the last reset.
static LARGEST: AtomicUsize = AtomicUsize::new(0);

struct CountingAllocator;

// SAFETY: every method forwards to `System` with the caller's arguments unchanged.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded as given.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded as given.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as given.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        // SAFETY: forwarded as given.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// The tests of this file run one at a time, image preparation included: the counter is global,
/// so a neighbour building its hostile input (the cramfs case compresses 64 MiB of zeros) while
/// another test measures would be charged to the reader being measured.
static MEASURING: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    MEASURING.lock().unwrap_or_else(|e| e.into_inner())
}

/// No hostile image here may make a reader allocate more than this at once.
const ALLOCATION_BOUND: usize = 16 << 20;

const TIME: Timestamp = Timestamp(1_700_000_000);

/// One row of a table: its name and a read of the hostile image (an error is what we want).
type Case<'a> = (&'a str, Box<dyn FnOnce() -> Result<(), String>>);

/// Runs each case's reader and requires an error (not a panic) with no allocation above
/// [`ALLOCATION_BOUND`]; lists every case that misbehaves. The caller holds [`one_at_a_time`].
fn check_cases(cases: Vec<Case<'_>>) {
    let mut failures = Vec::new();
    for (name, read) in cases {
        LARGEST.store(0, Ordering::Relaxed);
        let outcome = catch_unwind(AssertUnwindSafe(read));
        let largest = LARGEST.load(Ordering::Relaxed);
        match outcome {
            Err(_) => failures.push(format!("{name}: panicked")),
            Ok(Ok(())) => failures.push(format!("{name}: read without an error")),
            Ok(Err(_)) if largest > ALLOCATION_BOUND => {
                failures.push(format!("{name}: allocated {largest} bytes at once"))
            }
            Ok(Err(_)) => {}
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

fn put_u32_both(image: &mut [u8], at: usize, value: u32) {
    image[at..at + 4].copy_from_slice(&value.to_le_bytes());
    image[at + 4..at + 8].copy_from_slice(&value.to_be_bytes());
}

fn iso_image() -> Vec<u8> {
    let options = IsoOptions { padding_sectors: 0, ..IsoOptions::new("HOSTILE", TIME) };
    let mut builder = IsoBuilder::new(options).unwrap();
    builder.add_file("dir/file.txt", b"contents\n".to_vec(), FileOptions::default()).unwrap();
    let mut image = Vec::new();
    builder.write(&mut image).unwrap();
    image
}

/// Byte offset of a path's directory record in an ISO image.
fn iso_record(image: &[u8], path: &str) -> usize {
    let mut reader = IsoReader::open(Cursor::new(image)).unwrap();
    reader.lookup(path, NameSpace::Iso9660).unwrap().unwrap().record_offset as usize
}

/// The root directory record of the primary volume descriptor (ECMA-119 8.4.18).
const PVD_ROOT_RECORD: usize = 16 * 2048 + 156;

#[test]
fn hostile_iso_images_are_refused_within_bounds() {
    let _one_at_a_time = one_at_a_time();
    let image = iso_image();
    let file = iso_record(&image, "dir/file.txt");
    let dir = iso_record(&image, "dir");
    let with = |patch: &dyn Fn(&mut Vec<u8>)| {
        let mut patched = image.clone();
        patch(&mut patched);
        patched
    };
    let huge_root = with(&|i| put_u32_both(i, PVD_ROOT_RECORD + 10, 0xFFFF_F000));
    let huge_dir = with(&|i| put_u32_both(i, dir + 10, 0xFFFF_F000));
    let huge_file = with(&|i| put_u32_both(i, file + 10, 0xFFFF_FFFF));
    let far_file = with(&|i| put_u32_both(i, file + 2, 0xFFFF_FFF0));
    check_cases(vec![
        (
            "root directory of 4 GiB",
            Box::new(move || {
                let mut reader = IsoReader::open(Cursor::new(&huge_root[..])).map_err(|e| e.to_string())?;
                let root = reader.root(NameSpace::Iso9660).map_err(|e| e.to_string())?;
                reader.read_dir(&root, NameSpace::Iso9660).map(drop).map_err(|e| e.to_string())
            }),
        ),
        (
            "subdirectory of 4 GiB",
            Box::new(move || {
                let mut reader = IsoReader::open(Cursor::new(&huge_dir[..])).map_err(|e| e.to_string())?;
                reader.lookup("dir/file.txt", NameSpace::Iso9660).map(drop).map_err(|e| e.to_string())
            }),
        ),
        (
            "file of 4 GiB read into memory",
            Box::new(move || {
                let mut reader = IsoReader::open(Cursor::new(&huge_file[..])).map_err(|e| e.to_string())?;
                let entry = reader.lookup("dir/file.txt", NameSpace::Iso9660).map_err(|e| e.to_string())?.unwrap();
                reader.read_file_to_vec(&entry).map(drop).map_err(|e| e.to_string())
            }),
        ),
        (
            "file extent past the end of the image",
            Box::new(move || {
                let mut reader = IsoReader::open(Cursor::new(&far_file[..])).map_err(|e| e.to_string())?;
                let entry = reader.lookup("dir/file.txt", NameSpace::Iso9660).map_err(|e| e.to_string())?.unwrap();
                reader.read_file_to_vec(&entry).map(drop).map_err(|e| e.to_string())
            }),
        ),
    ]);
}

fn fat_image() -> Vec<u8> {
    let mut builder = FatBuilder::new(FatOptions::new(256 * 1024, TIME)).unwrap();
    builder.add_file("dir/file.txt", b"contents\n".to_vec(), FatFileOptions::default()).unwrap();
    let mut image = Vec::new();
    builder.write(&mut image).unwrap();
    image
}

fn fat_open_and_read(image: &[u8]) -> Result<(), String> {
    let mut reader = FatReader::open(Cursor::new(image)).map_err(|e| e.to_string())?;
    let entry = reader.lookup("dir/file.txt").map_err(|e| e.to_string())?.ok_or("no file")?;
    reader.read_file_to_vec(&entry).map(drop).map_err(|e| e.to_string())
}

#[test]
fn hostile_fat_images_are_refused_within_bounds() {
    let _one_at_a_time = one_at_a_time();
    let image = fat_image();
    let file = {
        let mut reader = FatReader::open(Cursor::new(&image[..])).unwrap();
        reader.lookup("dir/file.txt").unwrap().unwrap().entry_offset as usize
    };
    let with = |patch: &dyn Fn(&mut Vec<u8>)| {
        let mut patched = image.clone();
        patch(&mut patched);
        patched
    };
    // BPB (fatgen103 §3.1): 16-bit FAT size at 22, 32-bit FAT size at 36, number of FATs at 16,
    // total sectors at 19 / 32.
    let fat32_size_overflows = with(&|i| {
        i[22..24].fill(0);
        i[36..40].copy_from_slice(&0xFFFF_FFFFu32.to_le_bytes());
    });
    let many_fats_overflow = with(&|i| {
        i[16] = 255;
        i[22..24].fill(0);
        i[36..40].copy_from_slice(&0x0100_0001u32.to_le_bytes());
    });
    let fat_of_512_mib = with(&|i| {
        i[22..24].fill(0);
        i[36..40].copy_from_slice(&(1u32 << 20).to_le_bytes());
    });
    let huge_file = with(&|i| i[file + 28..file + 32].copy_from_slice(&0xFFFF_FFFFu32.to_le_bytes()));
    let far_cluster = with(&|i| {
        i[file + 20..file + 22].copy_from_slice(&0x0FFFu16.to_le_bytes());
        i[file + 26..file + 28].copy_from_slice(&0xFFF0u16.to_le_bytes());
    });
    check_cases(vec![
        ("FAT32 table size of 2^32 - 1 sectors", Box::new(move || fat_open_and_read(&fat32_size_overflows))),
        ("255 FATs of 2^24 sectors", Box::new(move || fat_open_and_read(&many_fats_overflow))),
        ("FAT of 512 MiB in a 256 KiB image", Box::new(move || fat_open_and_read(&fat_of_512_mib))),
        ("file of 4 GiB read into memory", Box::new(move || fat_open_and_read(&huge_file))),
        ("file starting at a cluster beyond the FAT", Box::new(move || fat_open_and_read(&far_cluster))),
    ]);
}

/// A cramfs image with `name` (8 bytes, so its inode is easy to find) holding `size` bytes.
fn cramfs_image(name: &str, size: usize) -> Vec<u8> {
    let mut builder = CramfsBuilder::new("Compressed", 0, Metadata::root(0o755));
    let contents: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    builder.add_file(name, contents, Metadata::root(0o644)).unwrap();
    let mut image = Cursor::new(Vec::new());
    builder.write(&mut image).unwrap();
    image.into_inner()
}

/// Offset of the inode of the entry named `name` (the name follows its 12-byte inode).
fn cramfs_inode(image: &[u8], name: &str) -> usize {
    image.windows(name.len()).position(|w| w == name.as_bytes()).unwrap() - 12
}

fn cramfs_read(image: &[u8], name: &str) -> Result<(), String> {
    let mut reader = CramfsReader::open(Cursor::new(image)).map_err(|e| e.to_string())?;
    let entry = reader.lookup(name).map_err(|e| e.to_string())?.ok_or("no file")?;
    reader.read_file(&entry).map(drop).map_err(|e| e.to_string())
}

#[test]
fn hostile_cramfs_images_are_refused_within_bounds() {
    let _one_at_a_time = one_at_a_time();
    const NAME: &str = "bombfile";
    let image = cramfs_image(NAME, 4096);
    let inode = cramfs_inode(&image, NAME);
    let data_offset = {
        let w2 = u32::from_le_bytes(image[inode + 8..inode + 12].try_into().unwrap());
        ((w2 >> 6) * 4) as usize
    };
    let with = |patch: &dyn Fn(&mut Vec<u8>)| {
        let mut patched = image.clone();
        patch(&mut patched);
        patched
    };
    // Superblock: the image size at 4.
    let size_of_4_gib = with(&|i| i[4..8].copy_from_slice(&0xFFFF_FFFFu32.to_le_bytes()));
    // An image size that ends before the CRC field.
    let size_of_8 = with(&|i| i[4..8].copy_from_slice(&8u32.to_le_bytes()));
    // The file's one block pointer (its end) far beyond the image.
    let block_of_4_gib = with(&|i| i[data_offset..data_offset + 4].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes()));
    // The file's one block replaced by a zlib stream of 64 MiB of zeros (64 KiB compressed):
    // a block never holds more than 4096 bytes.
    let bomb = with(&|i| {
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&vec![0u8; 64 << 20]).unwrap();
        let stream = encoder.finish().unwrap();
        let at = i.len().next_multiple_of(4);
        i.resize(at + 4, 0);
        let end = u32::try_from(at + 4 + stream.len()).unwrap();
        i[at..at + 4].copy_from_slice(&end.to_le_bytes());
        i.extend_from_slice(&stream);
        let w2 = u32::from_le_bytes(i[inode + 8..inode + 12].try_into().unwrap());
        let moved = (w2 & 0x3F) | (u32::try_from(at / 4).unwrap() << 6);
        i[inode + 8..inode + 12].copy_from_slice(&moved.to_le_bytes());
    });
    check_cases(vec![
        (
            "image size of 4 GiB checked by CRC",
            Box::new(move || {
                let mut reader = CramfsReader::open(Cursor::new(&size_of_4_gib[..])).map_err(|e| e.to_string())?;
                match reader.verify_crc() {
                    Ok(_) => Ok(()),
                    Err(e) => Err(e.to_string()),
                }
            }),
        ),
        (
            "image size shorter than the superblock checked by CRC",
            Box::new(move || {
                let mut reader = CramfsReader::open(Cursor::new(&size_of_8[..])).map_err(|e| e.to_string())?;
                match reader.verify_crc() {
                    Ok(_) => Ok(()),
                    Err(e) => Err(e.to_string()),
                }
            }),
        ),
        ("block of 4 GiB", Box::new(move || cramfs_read(&block_of_4_gib, NAME))),
        ("block decompressing to 64 MiB", Box::new(move || cramfs_read(&bomb, NAME))),
    ]);
}
