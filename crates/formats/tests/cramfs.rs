//! The cramfs writer checked by util-linux fsck.cramfs (CRC, decompression, extraction) and our
//! reader.

mod common;

use std::fs;
use std::io::Cursor;

use bootmedium_formats::cramfs::{CramfsBuilder, CramfsReader, Metadata, SpecialKind};
use common::{Tree, collect_tree, expected_listing, require_tool, run_raw, tree_strategy};
use proptest::prelude::*;

fn write(builder: &CramfsBuilder) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    let summary = builder.write(&mut out).unwrap();
    let bytes = out.into_inner();
    assert_eq!(bytes.len() as u64, summary.size);
    bytes
}

/// `fsck.cramfs -v --extract=DIR`: returns the verbose listing and the extracted tree.
fn fsck_extract(image: &[u8]) -> (String, Vec<(String, Vec<u8>)>) {
    require_tool("fsck.cramfs", "util-linux");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("image.cramfs");
    fs::write(&path, image).unwrap();
    let target = dir.path().join("out");
    let out = run_raw("fsck.cramfs", &["-v", &format!("--extract={}", target.display()), path.to_str().unwrap()], None);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "fsck.cramfs failed: {text}{}", String::from_utf8_lossy(&out.stderr));
    (text, collect_tree(&target))
}

fn build_tree(tree: &Tree) -> CramfsBuilder {
    let mut builder = CramfsBuilder::new("Compressed", 0, Metadata::root(0o755));
    for (path, contents) in tree {
        match contents {
            None => builder.add_directory(path, Metadata::root(0o755)).unwrap(),
            Some(bytes) => builder.add_file(path, bytes.clone(), Metadata::root(0o644)).unwrap(),
        }
    }
    builder
}

#[test]
fn fsck_cramfs_extracts_what_we_wrote() {
    let big: Vec<u8> = (0..50_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut builder = CramfsBuilder::new("bootcd", 0, Metadata::root(0o755));
    builder.add_file("usr/boot/plnode.txt", b"NODE_ID=\"1\"\n".to_vec(), Metadata::root(0o600)).unwrap();
    builder.add_file("bin/big", big.clone(), Metadata { permissions: 0o755, uid: 1000, gid: 100 }).unwrap();
    builder.add_file("empty", Vec::new(), Metadata::root(0o644)).unwrap();
    builder.add_symlink("bin/sh", "big", Metadata::root(0o777)).unwrap();
    builder.add_directory("tmp", Metadata::root(0o1777)).unwrap();
    let image = write(&builder);
    let (listing, extracted) = fsck_extract(&image);
    assert!(listing.contains(": OK"), "{listing}");
    for line in [
        "f 0600        12     0:0",
        "f 0755     50000  1000:100",
        "l 0777         3     0:0",
        "d 1777         0     0:0",
    ] {
        assert!(listing.contains(line), "{line:?} in\n{listing}");
    }
    assert!(listing.lines().any(|l| l.ends_with("bin/sh -> big")), "{listing}");
    let get = |name: &str| extracted.iter().find(|(n, _)| n == name).map(|(_, c)| c.clone());
    assert_eq!(get("bin/big"), Some(big));
    assert_eq!(get("usr/boot/plnode.txt"), Some(b"NODE_ID=\"1\"\n".to_vec()));
    assert_eq!(get("empty"), Some(Vec::new()));
    let sh = extracted.iter().find(|(n, _)| n == "bin/sh");
    assert!(sh.is_some(), "{extracted:?}");
}

#[test]
fn device_nodes_are_listed_with_their_numbers() {
    let mut builder = CramfsBuilder::new("Compressed", 0, Metadata::root(0o755));
    builder
        .add_special("dev/console", SpecialKind::CharacterDevice { major: 5, minor: 1 }, Metadata::root(0o600))
        .unwrap();
    builder.add_special("dev/sda", SpecialKind::BlockDevice { major: 8, minor: 0 }, Metadata::root(0o660)).unwrap();
    builder.add_special("dev/initctl", SpecialKind::Fifo, Metadata::root(0o600)).unwrap();
    let image = write(&builder);
    require_tool("fsck.cramfs", "util-linux");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dev.cramfs");
    fs::write(&path, &image).unwrap();
    // --extract without a directory tests everything but creates nothing (no root needed).
    let out = run_raw("fsck.cramfs", &["-v", "--extract", path.to_str().unwrap()], None);
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{listing}{}", String::from_utf8_lossy(&out.stderr));
    assert!(listing.contains("c 0600    5,   1     0:0   /dev/console"), "{listing}");
    assert!(listing.contains("b 0660    8,   0     0:0   /dev/sda"), "{listing}");
    assert!(listing.contains("p 0600         0     0:0   /dev/initctl"), "{listing}");
    let mut reader = CramfsReader::open(Cursor::new(image)).unwrap();
    let console = reader.lookup("dev/console").unwrap().unwrap();
    assert_eq!((console.mode, console.size), (0o020_600, 0x501));
}

#[test]
fn corruption_is_detected() {
    let tree: Tree = vec![("a".into(), Some(vec![1u8; 9000]))];
    let mut image = write(&build_tree(&tree));
    image[200] ^= 0xFF;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.cramfs");
    fs::write(&path, &image).unwrap();
    require_tool("fsck.cramfs", "util-linux");
    let out = run_raw("fsck.cramfs", &[path.to_str().unwrap()], None);
    assert!(!out.status.success(), "fsck.cramfs accepted a corrupted image");
    assert!(!CramfsReader::open(Cursor::new(image)).unwrap().verify_crc().unwrap());
}

#[test]
fn same_inputs_give_identical_bytes() {
    let tree: Tree = vec![("d".into(), None), ("d/f".into(), Some(vec![3u8; 5000]))];
    assert!(write(&build_tree(&tree)) == write(&build_tree(&tree)));
}

fn read_back(image: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut reader = CramfsReader::open(Cursor::new(image)).unwrap();
    assert!(reader.verify_crc().unwrap());
    let mut out = Vec::new();
    let mut stack = vec![(String::new(), reader.root())];
    while let Some((prefix, dir)) = stack.pop() {
        for entry in reader.read_dir(&dir).unwrap() {
            let path = format!("{prefix}{}", entry.name);
            if entry.is_directory() {
                out.push((format!("{path}/"), Vec::new()));
                stack.push((format!("{path}/"), entry));
            } else {
                out.push((path, reader.read_file(&entry).unwrap()));
            }
        }
    }
    out.sort();
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn random_trees_round_trip(tree in tree_strategy(16, 12_000)) {
        let image = write(&build_tree(&tree));
        let expected = expected_listing(&tree);
        prop_assert_eq!(&read_back(&image), &expected);
        let (_, extracted) = fsck_extract(&image);
        prop_assert_eq!(&extracted, &expected);
    }
}
