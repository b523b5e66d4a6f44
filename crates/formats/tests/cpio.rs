//! The cpio writer checked by GNU cpio (listing and extraction) and by our own reader.

mod common;

use std::io::Write;

use bootmedium_formats::cpio::{self, CpioReader, CpioWriter, DeviceKind, EntryDefaults};
use common::{Tree, collect_tree, expected_listing, require_tool, run_with_input, tree_strategy};
use proptest::prelude::*;

const MTIME: u32 = 1_700_000_000; // 2023-11-14T22:13:20Z

fn defaults() -> EntryDefaults {
    EntryDefaults { uid: 0, gid: 0, mtime: MTIME }
}

fn write_tree(tree: &Tree) -> Vec<u8> {
    let mut writer = CpioWriter::new(Vec::new(), defaults());
    for (path, contents) in tree {
        match contents {
            None => writer.directory(path, 0o755).unwrap(),
            Some(bytes) => writer.file_from_bytes(path, 0o644, bytes).unwrap(),
        }
    }
    writer.finish().unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = cpio::gzip_encoder(Vec::new(), 9);
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// `gzip -dc | cpio -idm` into a fresh directory; returns the extracted tree.
fn extract_with_gnu_cpio(gzipped: &[u8]) -> Vec<(String, Vec<u8>)> {
    require_tool("gzip", "gzip");
    require_tool("cpio", "cpio");
    let dir = tempfile::tempdir().unwrap();
    let out = run_with_input("gzip", &["-dc"], gzipped, None);
    assert!(out.status.success(), "gzip -dc failed: {}", String::from_utf8_lossy(&out.stderr));
    let extracted =
        run_with_input("cpio", &["-idm", "--quiet", "--no-absolute-filenames"], &out.stdout, Some(dir.path()));
    assert!(extracted.status.success(), "cpio -id failed: {}", String::from_utf8_lossy(&extracted.stderr));
    collect_tree(dir.path())
}

#[test]
fn gnu_cpio_lists_every_kind_of_entry() {
    let mut writer = CpioWriter::new(Vec::new(), defaults());
    writer.directory("usr", 0o755).unwrap();
    writer.directory("usr/boot", 0o700).unwrap();
    writer.file_from_bytes("usr/boot/plnode.txt", 0o644, b"NODE_ID=\"1\"\n").unwrap();
    writer.file("usr/boot/boot_server", 0o600, 4, &mut &b"host"[..]).unwrap();
    writer.symlink("usr/link", "boot/plnode.txt").unwrap();
    writer.device("console", DeviceKind::Character, 0o600, 5, 1).unwrap();
    writer.device("sda", DeviceKind::Block, 0o660, 8, 0).unwrap();
    writer.fifo("pipe", 0o644).unwrap();
    let archive = gzip(&writer.finish().unwrap());

    require_tool("cpio", "cpio");
    let plain = run_with_input("gzip", &["-dc"], &archive, None).stdout;
    let listing = run_with_input("cpio", &["-itv", "--quiet"], &plain, None);
    assert!(listing.status.success(), "{}", String::from_utf8_lossy(&listing.stderr));
    let text = String::from_utf8_lossy(&listing.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 8, "{text}");
    let expect = [
        ("drwxr-xr-x", "usr"),
        ("drwx------", "usr/boot"),
        ("-rw-r--r--", "usr/boot/plnode.txt"),
        ("-rw-------", "usr/boot/boot_server"),
        ("lrwxrwxrwx", "usr/link -> boot/plnode.txt"),
        ("crw-------", "console"),
        ("brw-rw----", "sda"),
        ("prw-r--r--", "pipe"),
    ];
    for (line, (mode, name)) in lines.iter().zip(expect) {
        assert!(line.starts_with(mode), "{line:?} should start with {mode}");
        assert!(line.ends_with(name), "{line:?} should end with {name}");
    }
    assert!(lines[2].contains(" 12 "), "size of plnode.txt in {:?}", lines[2]);
    assert!(lines[5].contains("5,") && lines[5].contains(" 1 "), "device numbers in {:?}", lines[5]);
    assert!(lines[2].contains("Nov 14  2023"), "mtime in {:?}", lines[2]);
}

#[test]
fn gnu_cpio_extracts_what_we_wrote() {
    let tree: Tree = vec![
        ("etc".into(), None),
        ("etc/issue".into(), Some(b"welcome\n".to_vec())),
        ("pl_version".into(), Some(b"PlanetLab BootCD 5.4\n".to_vec())),
        ("empty".into(), Some(Vec::new())),
        ("big".into(), Some((0..100_000u32).map(|i| (i % 251) as u8).collect())),
    ];
    let listing = extract_with_gnu_cpio(&gzip(&write_tree(&tree)));
    assert_eq!(listing, expected_listing(&tree));
}

#[test]
fn same_inputs_give_identical_bytes() {
    let tree: Tree = vec![("a".into(), None), ("a/b".into(), Some(b"x".to_vec()))];
    assert_eq!(gzip(&write_tree(&tree)), gzip(&write_tree(&tree)));
}

#[test]
fn overlay_padded_with_zeros_still_reads() {
    // The overlay slot holds gzip(cpio) followed by zeros; gzip (like the kernel) must still
    // decode the archive, and our decoder must stop at the end of the member.
    let tree: Tree = vec![("kargs.txt".into(), Some(b"console=ttyS0\n".to_vec()))];
    let mut slot = gzip(&write_tree(&tree));
    slot.resize(64 * 1024, 0);
    let decoded = cpio::gzip_decoder(&slot[..]);
    let entries = CpioReader::new(decoded).read_all().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].1, b"console=ttyS0\n");
    let out = run_with_input("gzip", &["-dc"], &slot, None);
    // gzip exits 2 ("trailing zero bytes ignored" warning) but decodes the member.
    assert!(out.status.code() == Some(0) || out.status.code() == Some(2), "{out:?}");
    let listing = run_with_input("cpio", &["-it", "--quiet"], &out.stdout, None);
    assert_eq!(String::from_utf8_lossy(&listing.stdout), "kargs.txt\n");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_trees_round_trip(tree in tree_strategy(12, 6000)) {
        let archive = write_tree(&tree);
        // Our reader.
        let entries = CpioReader::new(&archive[..]).read_all().unwrap();
        prop_assert_eq!(entries.len(), tree.len());
        for ((header, data), (path, contents)) in entries.iter().zip(&tree) {
            prop_assert_eq!(header.name_str(), Some(path.as_str()));
            let empty = Vec::new();
            prop_assert_eq!(data, contents.as_ref().unwrap_or(&empty));
        }
        // GNU cpio.
        prop_assert_eq!(extract_with_gnu_cpio(&gzip(&archive)), expected_listing(&tree));
    }
}
