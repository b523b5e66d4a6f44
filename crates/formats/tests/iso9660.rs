//! The ISO 9660 writer checked by xorriso and genisoimage's isoinfo, and by our own reader.

mod common;

use std::fs;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use bootmedium_formats::Timestamp;
use bootmedium_formats::iso9660::{
    BootEntry, ElTorito, FileOptions, IsoBuilder, IsoLayout, IsoOptions, IsoReader, NameSpace, Platform,
};
use common::{Tree, collect_tree, expected_listing, require_tool, run, tree_strategy};
use proptest::prelude::*;

const TIME: Timestamp = Timestamp(1_700_000_000); // 2023-11-14T22:13:20Z
const ISOLINUX_BIN: &str = "/usr/lib/ISOLINUX/isolinux.bin";
const LDLINUX_C32: &str = "/usr/lib/syslinux/modules/bios/ldlinux.c32";
const OVERLAY_SLOT: u64 = 256 * 1024;
const CONFIG_SLOT: u64 = 4096;

fn pseudo_random(len: usize, seed: u32) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect()
}

fn read_required(path: &str, package: &str) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("{path} is missing ({e}): install the Debian package `{package}`"))
}

struct BootCd {
    builder: IsoBuilder,
    isolinux_bin: Vec<u8>,
    overlay: Vec<u8>,
    config: Vec<u8>,
    kernel: Vec<u8>,
}

/// An image shaped like upstream's `iso` type, with the overlay and config in slots.
fn bootcd() -> BootCd {
    let isolinux_bin = read_required(ISOLINUX_BIN, "isolinux");
    let ldlinux = read_required(LDLINUX_C32, "syslinux-common");
    let kernel = pseudo_random(300_000, 1);
    let root = pseudo_random(1_000_000, 2);
    let overlay = pseudo_random(10_000, 3);
    let config = b"PROMPT 0\nDEFAULT planetlab-bootcd\n\nLABEL planetlab-bootcd\n  LINUX kernel\n".to_vec();
    let mut builder = IsoBuilder::new(IsoOptions::new("PLANETLAB_BOOTCD", TIME)).unwrap();
    builder.add_file("isolinux.bin", isolinux_bin.clone(), FileOptions::default()).unwrap();
    builder.add_file("ldlinux.c32", ldlinux, FileOptions::default()).unwrap();
    builder.add_file("isolinux.cfg", config.clone(), FileOptions::slot(CONFIG_SLOT, b' ')).unwrap();
    builder.add_file("kernel", kernel.clone(), FileOptions::default()).unwrap();
    builder.add_file("bootcd.img", root, FileOptions::default()).unwrap();
    builder.add_file("overlay.img", overlay.clone(), FileOptions::slot(OVERLAY_SLOT, 0)).unwrap();
    builder.add_file("pl_version", b"PlanetLab BootCD 5.4\n".to_vec(), FileOptions::default()).unwrap();
    builder.add_file("usr/isolinux/pl_version", b"nested\n".to_vec(), FileOptions::default()).unwrap();
    builder
        .set_boot(ElTorito { catalog_path: "boot.cat".into(), entries: vec![BootEntry::isolinux("isolinux.bin")] })
        .unwrap();
    BootCd { builder, isolinux_bin, overlay, config, kernel }
}

fn write_image(builder: &IsoBuilder, path: &Path) -> IsoLayout {
    let file = fs::File::create(path).unwrap();
    let layout = builder.write(std::io::BufWriter::new(file)).unwrap();
    assert_eq!(fs::metadata(path).unwrap().len(), layout.image_len());
    layout
}

fn isoinfo_extract(image: &Path, flag: &str, path: &str) -> Vec<u8> {
    require_tool("isoinfo", "genisoimage");
    let out = common::run_raw("isoinfo", &["-i", image.to_str().unwrap(), flag, "-x", path], None);
    assert!(out.status.success(), "isoinfo -x {path}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// Names listed by `isoinfo -l` with a name-space flag, as "dir/name" paths.
fn isoinfo_paths(image: &Path, flag: &str) -> Vec<String> {
    require_tool("isoinfo", "genisoimage");
    let listing = run("isoinfo", &["-i", image.to_str().unwrap(), flag, "-l"]);
    let mut dir = String::new();
    let mut out = Vec::new();
    for line in listing.lines() {
        if let Some(rest) = line.strip_prefix("Directory listing of ") {
            dir = rest.trim_start_matches('/').to_owned();
        } else if line.len() > 60 && (line.starts_with('-') || line.starts_with('d')) {
            let name = line.rsplit_once("]  ").map(|(_, n)| n.trim_end()).unwrap_or_default();
            if name != "." && name != ".." {
                out.push(format!("{dir}{name}"));
            }
        }
    }
    out.sort();
    out
}

/// `xorriso -osirrox on -extract / DIR`: every file and directory with Rock Ridge names.
fn xorriso_extract(image: &Path) -> Vec<(String, Vec<u8>)> {
    require_tool("xorriso", "xorriso");
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out");
    run("xorriso", &["-osirrox", "on", "-indev", image.to_str().unwrap(), "-extract", "/", target.to_str().unwrap()]);
    let tree = collect_tree(&target);
    make_writable(&target);
    tree
}

/// Extracted trees are read-only (Rock Ridge modes); make them removable by non-root users.
fn make_writable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = fs::symlink_metadata(path) else { return };
    if meta.is_dir() {
        let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o755));
        for entry in fs::read_dir(path).into_iter().flatten().flatten() {
            make_writable(&entry.path());
        }
    }
}

fn padded(content: &[u8], slot: u64, fill: u8) -> Vec<u8> {
    let mut out = content.to_vec();
    out.resize(slot as usize, fill);
    out
}

#[test]
fn bootcd_passes_isoinfo_and_xorriso() {
    let cd = bootcd();
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("bootcd.iso");
    let layout = write_image(&cd.builder, &image);
    let image_str = image.to_str().unwrap();

    require_tool("isoinfo", "genisoimage");
    let info = run("isoinfo", &["-d", "-i", image_str]);
    let catalog_lba = layout.boot_catalog_lba.unwrap();
    let isolinux = layout.file("isolinux.bin").unwrap();
    for expected in [
        "Volume id: PLANETLAB_BOOTCD".to_owned(),
        "Logical block size is: 2048".to_owned(),
        format!("Volume size is: {}", layout.total_sectors),
        format!("El Torito VD version 1 found, boot catalog is in sector {catalog_lba}"),
        "Joliet with UCS level 3 found".to_owned(),
        "Rock Ridge signatures version 1 found".to_owned(),
        "Boot media 0 (No Emulation Boot)".to_owned(),
        "Nsect 4".to_owned(),
        format!("Bootoff {:x} {}", isolinux.lba, isolinux.lba),
    ] {
        assert!(info.contains(&expected), "isoinfo -d lacks {expected:?}:\n{info}");
    }

    require_tool("xorriso", "xorriso");
    let loaded = common::run_raw("xorriso", &["-indev", image_str, "-report_el_torito", "plain"], None);
    let report = String::from_utf8_lossy(&loaded.stdout).into_owned();
    let messages = String::from_utf8_lossy(&loaded.stderr);
    assert!(loaded.status.success(), "{messages}");
    for alarm in ["WARNING", "SORRY", "FAILURE", "MISHAP"] {
        assert!(!messages.contains(alarm), "xorriso reports a problem with our image:\n{messages}");
    }
    // (xorriso reads the Rock Ridge names: the extraction below compares lower-case names.)
    assert!(report.contains(&format!("El Torito catalog  : {catalog_lba}  1")), "{report}");
    assert!(report.contains("El Torito cat path : /boot.cat"), "{report}");
    let boot_line = format!("El Torito boot img :   1  BIOS  y   none  0x0000  0x00      4  {:>10}", isolinux.lba);
    assert!(report.contains(&boot_line), "expected {boot_line:?} in\n{report}");
    assert!(report.contains("El Torito img path :   1  /isolinux.bin"), "{report}");
    // xorriso recognises the boot-info-table only if its checksum and addresses are right.
    assert!(report.contains("El Torito img opts :   1  boot-info-table"), "{report}");

    let mut expected_names = vec![
        "boot.cat",
        "bootcd.img",
        "isolinux.bin",
        "isolinux.cfg",
        "kernel",
        "ldlinux.c32",
        "overlay.img",
        "pl_version",
        "usr",
        "usr/isolinux",
        "usr/isolinux/pl_version",
    ];
    expected_names.sort();
    assert_eq!(isoinfo_paths(&image, "-R"), expected_names);
    assert_eq!(isoinfo_paths(&image, "-J"), expected_names);
    let plain = run("isoinfo", &["-i", image_str, "-l"]);
    for iso_name in ["ISOLINUX.CFG;1", "PL_VERSION.;1", "OVERLAY.IMG;1", "LDLINUX.C32;1", "BOOT.CAT;1", "USR"] {
        assert!(plain.lines().any(|l| l.ends_with(&format!("]  {iso_name} "))), "{iso_name} in\n{plain}");
    }

    // Contents as isoinfo extracts them; isolinux.bin carries the boot-info-table.
    assert_eq!(isoinfo_extract(&image, "-R", "/kernel"), cd.kernel);
    assert_eq!(isoinfo_extract(&image, "-J", "/kernel"), cd.kernel);
    assert_eq!(isoinfo_extract(&image, "-R", "/overlay.img"), padded(&cd.overlay, OVERLAY_SLOT, 0));
    assert_eq!(isoinfo_extract(&image, "-R", "/isolinux.cfg"), padded(&cd.config, CONFIG_SLOT, b' '));
    let patched = isoinfo_extract(&image, "-R", "/isolinux.bin");
    assert_eq!(patched.len(), cd.isolinux_bin.len());
    assert_eq!(&patched[..8], &cd.isolinux_bin[..8]);
    assert_eq!(&patched[64..], &cd.isolinux_bin[64..]);
    assert_eq!(u32::from_le_bytes(patched[8..12].try_into().unwrap()), 16);
    assert_eq!(u32::from_le_bytes(patched[12..16].try_into().unwrap()), isolinux.lba);
    assert_eq!(u32::from_le_bytes(patched[16..20].try_into().unwrap()) as usize, cd.isolinux_bin.len());

    // Rock Ridge modes.
    let listing = run("isoinfo", &["-i", image_str, "-R", "-l"]);
    assert!(listing.lines().any(|l| l.starts_with("-r--r--r--") && l.ends_with("  kernel ")), "{listing}");
    assert!(listing.lines().any(|l| l.starts_with("dr-xr-xr-x") && l.ends_with("  usr ")), "{listing}");

    // Everything extracted by xorriso equals what we wrote.
    let extracted = xorriso_extract(&image);
    let get = |name: &str| extracted.iter().find(|(n, _)| n == name).map(|(_, c)| c.clone());
    assert_eq!(get("kernel"), Some(cd.kernel.clone()));
    assert_eq!(get("overlay.img"), Some(padded(&cd.overlay, OVERLAY_SLOT, 0)));
    assert_eq!(get("usr/isolinux/pl_version"), Some(b"nested\n".to_vec()));
    assert_eq!(extracted.len(), expected_names.len());
}

#[test]
fn our_reader_reads_all_three_name_spaces_and_the_catalog() {
    let cd = bootcd();
    let mut bytes = Vec::new();
    let layout = cd.builder.write(&mut bytes).unwrap();
    let mut reader = IsoReader::open(std::io::Cursor::new(&bytes)).unwrap();
    assert_eq!(reader.volume_id(), "PLANETLAB_BOOTCD");
    assert!(reader.has_rock_ridge() && reader.has_joliet());
    for (names, path) in [
        (NameSpace::RockRidge, "usr/isolinux/pl_version"),
        (NameSpace::Joliet, "usr/isolinux/pl_version"),
        (NameSpace::Iso9660, "USR/ISOLINUX/PL_VERSION"),
    ] {
        let entry = reader.lookup(path, names).unwrap().unwrap_or_else(|| panic!("{path} in {names:?}"));
        assert_eq!(reader.read_file_to_vec(&entry).unwrap(), b"nested\n");
    }
    let kernel = reader.lookup("kernel", NameSpace::RockRidge).unwrap().unwrap();
    assert_eq!(kernel.mode, Some(0o100_444));
    assert_eq!(reader.read_file_to_vec(&kernel).unwrap(), cd.kernel);
    let overlay = reader.lookup("overlay.img", NameSpace::RockRidge).unwrap().unwrap();
    assert_eq!(u64::from(overlay.lba) * 2048, layout.file("overlay.img").unwrap().byte_offset);
    assert_eq!(u64::from(overlay.size), OVERLAY_SLOT);
    let catalog = reader.boot_catalog().unwrap().unwrap();
    assert_eq!(catalog.len(), 1);
    assert_eq!(catalog[0].platform, Platform::X86);
    assert_eq!(catalog[0].sector_count, 4);
    assert_eq!(catalog[0].load_lba, layout.file("isolinux.bin").unwrap().lba);
}

#[test]
fn same_inputs_give_identical_bytes_and_layout_matches_write() {
    let mut first = Vec::new();
    let written_layout = bootcd().builder.write(&mut first).unwrap();
    let mut second = Vec::new();
    bootcd().builder.write(&mut second).unwrap();
    assert!(first == second, "two builds differ");
    assert_eq!(bootcd().builder.layout().unwrap(), written_layout);
}

#[test]
fn slots_can_be_rewritten_in_place() {
    let cd = bootcd();
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("node.iso");
    let layout = write_image(&cd.builder, &image);
    let template = fs::read(&image).unwrap();

    let overlay = layout.file("overlay.img").unwrap();
    let config = layout.file("isolinux.cfg").unwrap();
    assert!(overlay.is_slot && overlay.recorded_length == OVERLAY_SLOT);
    // The slots come after every other file (in tree order among themselves), so only the
    // slots and the padding follow the first slot.
    assert!(config.byte_offset < overlay.byte_offset);
    for file in layout.files.iter().filter(|f| !f.is_slot) {
        assert!(file.byte_offset < config.byte_offset, "{} after a slot", file.path);
    }
    let slot_bytes = [overlay, config].iter().map(|f| f.recorded_length.div_ceil(2048) * 2048).sum::<u64>();
    assert_eq!(template.len() as u64 - config.byte_offset, slot_bytes + 150 * 2048);
    let new_overlay = pseudo_random(200_000, 99);
    let new_config = b"SERIAL 0 115200\nPROMPT 0\nDEFAULT node\n".to_vec();
    {
        let mut file = fs::OpenOptions::new().write(true).open(&image).unwrap();
        file.seek(SeekFrom::Start(overlay.byte_offset)).unwrap();
        file.write_all(&padded(&new_overlay, overlay.recorded_length, 0)).unwrap();
        file.seek(SeekFrom::Start(config.byte_offset)).unwrap();
        file.write_all(&padded(&new_config, config.recorded_length, b' ')).unwrap();
    }
    assert_eq!(isoinfo_extract(&image, "-R", "/overlay.img"), padded(&new_overlay, OVERLAY_SLOT, 0));
    assert_eq!(isoinfo_extract(&image, "-J", "/isolinux.cfg"), padded(&new_config, CONFIG_SLOT, b' '));
    let extracted = xorriso_extract(&image);
    let get = |name: &str| extracted.iter().find(|(n, _)| n == name).map(|(_, c)| c.clone());
    assert_eq!(get("isolinux.cfg"), Some(padded(&new_config, CONFIG_SLOT, b' ')));
    // Only the slot bytes changed.
    let after = fs::read(&image).unwrap();
    let changed: Vec<usize> = (0..after.len()).filter(|&i| after[i] != template[i]).collect();
    let in_slot = |i: usize| {
        [overlay, config].iter().any(|s| (s.byte_offset..s.byte_offset + s.recorded_length).contains(&(i as u64)))
    };
    assert!(changed.iter().all(|&i| in_slot(i)));
    assert_eq!(cd.overlay.len(), 10_000);
}

#[test]
fn efi_section_can_follow_the_bios_entry() {
    let mut builder = IsoBuilder::new(IsoOptions::new("UEFI_TEST", TIME)).unwrap();
    builder.add_file("isolinux.bin", read_required(ISOLINUX_BIN, "isolinux"), FileOptions::default()).unwrap();
    builder.add_file("efiboot.img", vec![0u8; 1440 * 1024], FileOptions::default()).unwrap();
    builder
        .set_boot(ElTorito {
            catalog_path: "boot.cat".into(),
            entries: vec![BootEntry::isolinux("isolinux.bin"), BootEntry::efi("efiboot.img")],
        })
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("uefi.iso");
    let layout = write_image(&builder, &image);
    let efi = layout.file("efiboot.img").unwrap();
    let report = run("xorriso", &["-indev", image.to_str().unwrap(), "-report_el_torito", "plain"]);
    let efi_line = format!("El Torito boot img :   2  UEFI  y   none  0x0000  0x00   2880  {:>10}", efi.lba);
    assert!(report.contains(&efi_line), "expected {efi_line:?} in\n{report}");
    assert!(report.contains("El Torito img path :   2  /efiboot.img"), "{report}");
}

#[test]
fn plain_iso9660_without_extensions() {
    let options = IsoOptions { rock_ridge: false, joliet: false, ..IsoOptions::new("PLAIN", TIME) };
    let mut builder = IsoBuilder::new(options).unwrap();
    builder.add_file("dir/readme.txt", b"plain\n".to_vec(), FileOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("plain.iso");
    write_image(&builder, &image);
    let info = run("isoinfo", &["-d", "-i", image.to_str().unwrap()]);
    assert!(info.contains("NO Joliet present") && info.contains("NO Rock Ridge present"), "{info}");
    let extracted = common::run_raw("isoinfo", &["-i", image.to_str().unwrap(), "-x", "/DIR/README.TXT;1"], None);
    assert_eq!(extracted.stdout, b"plain\n");
    let mut reader = IsoReader::open(std::io::Cursor::new(fs::read(&image).unwrap())).unwrap();
    assert!(!reader.has_rock_ridge() && !reader.has_joliet());
    let entry = reader.lookup("dir/readme.txt", NameSpace::Iso9660).unwrap().unwrap();
    assert_eq!(entry.name, "README.TXT");
    assert_eq!(reader.read_file_to_vec(&entry).unwrap(), b"plain\n");
}

#[test]
fn invalid_names_and_overfull_slots_are_rejected() {
    let mut builder = IsoBuilder::new(IsoOptions::new("X", TIME)).unwrap();
    assert!(builder.add_file("a:b", Vec::new(), FileOptions::default()).is_err());
    assert!(builder.add_file(&"n".repeat(65), Vec::new(), FileOptions::default()).is_err());
    assert!(builder.add_file("big", vec![0u8; 10], FileOptions::slot(5, 0)).is_err());
    builder.add_file("f", Vec::new(), FileOptions::default()).unwrap();
    assert!(builder.add_file("f", Vec::new(), FileOptions::default()).is_err());
    assert!(builder.add_file("f/g", Vec::new(), FileOptions::default()).is_err());
    assert!(IsoBuilder::new(IsoOptions::new("lower", TIME)).is_err());
}

fn build_tree_image(tree: &Tree) -> IsoBuilder {
    let mut builder = IsoBuilder::new(IsoOptions { padding_sectors: 0, ..IsoOptions::new("RANDOM", TIME) }).unwrap();
    for (path, contents) in tree {
        match contents {
            None => builder.add_directory(path, 0o755).unwrap(),
            Some(bytes) => builder.add_file(path, bytes.clone(), FileOptions::default()).unwrap(),
        }
    }
    builder
}

/// Our reader's view of the whole Rock Ridge (or Joliet) tree.
fn read_back(bytes: &[u8], names: NameSpace) -> Vec<(String, Vec<u8>)> {
    let mut reader = IsoReader::open(std::io::Cursor::new(bytes)).unwrap();
    let mut out = Vec::new();
    let mut stack = vec![(String::new(), reader.root(names).unwrap())];
    while let Some((prefix, dir)) = stack.pop() {
        for entry in reader.read_dir(&dir, names).unwrap() {
            let path = format!("{prefix}{}", entry.name);
            if entry.is_directory {
                out.push((format!("{path}/"), Vec::new()));
                stack.push((format!("{path}/"), entry));
            } else {
                out.push((path, reader.read_file_to_vec(&entry).unwrap()));
            }
        }
    }
    out.sort();
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn random_trees_round_trip(tree in tree_strategy(16, 5000)) {
        let builder = build_tree_image(&tree);
        let mut bytes = Vec::new();
        builder.write(&mut bytes).unwrap();
        let expected = expected_listing(&tree);
        prop_assert_eq!(&read_back(&bytes, NameSpace::RockRidge), &expected);
        prop_assert_eq!(&read_back(&bytes, NameSpace::Joliet), &expected);
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("random.iso");
        fs::write(&image, &bytes).unwrap();
        prop_assert_eq!(&xorriso_extract(&image), &expected);
        let mut listed: Vec<String> = expected.iter().map(|(p, _)| p.trim_end_matches('/').to_owned()).collect();
        listed.sort();
        prop_assert_eq!(isoinfo_paths(&image, "-J"), listed.clone());
        prop_assert_eq!(isoinfo_paths(&image, "-R"), listed);
    }
}
