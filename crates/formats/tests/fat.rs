//! The FAT writer checked by dosfstools (fsck.fat, mkfs.fat for parameter choices), mtools
//! (mdir, mtype, mcopy), syslinux (installed afterwards, then slots rewritten), and our reader.

mod common;

use std::fs;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use bootmedium_formats::Timestamp;
use bootmedium_formats::fat::{FatBuilder, FatFileOptions, FatLayout, FatOptions, FatReader, FatType};
use common::{Tree, collect_tree, expected_listing, require_tool, run, run_raw, tree_strategy};
use proptest::prelude::*;

const TIME: Timestamp = Timestamp(1_700_000_000); // 2023-11-14T22:13:20Z
const MIB: u64 = 1024 * 1024;
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

fn padded(content: &[u8], slot: u64, fill: u8) -> Vec<u8> {
    let mut out = content.to_vec();
    out.resize(slot as usize, fill);
    out
}

fn fsck(image: &Path) {
    fsck_allowing(image, &[]);
}

/// syslinux rewrites the FAT32 boot sector but not its backup (sector 6); fsck.fat calls that
/// "mostly harmless", and it is what syslinux does to any FAT32 volume.
fn fsck_after_syslinux(image: &Path) {
    fsck_allowing(
        image,
        &["There are differences between boot sector and its backup", "Differences: (offset:original/backup)"],
    );
}

fn fsck_allowing(image: &Path, harmless: &[&str]) {
    require_tool("fsck.fat", "dosfstools");
    let out = run_raw("fsck.fat", &["-n", "-v", image.to_str().unwrap()], None);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "fsck.fat -n failed ({}):\n{text}", out.status);
    let mut text = text;
    if harmless.iter().any(|h| text.contains(h)) {
        // Drop the boot-sector difference report (it ends at the next line without a leading
        // space or comma).
        let kept: Vec<&str> = text
            .lines()
            .filter(|l| !harmless.iter().any(|h| l.contains(h)) && !l.starts_with("  ") && !l.starts_with("  ,"))
            .collect();
        text = kept.join("\n");
    }
    // fsck.fat -n reports repairs it would make even when it exits 0 in some versions.
    for complaint in ["differ", "Free cluster summary", "wrong", "Bad short", "invalid", "Contains a free cluster"] {
        assert!(!text.contains(complaint), "fsck.fat complains ({complaint}):\n{text}");
    }
}

fn mtools(tool: &str, args: &[&str]) -> Vec<u8> {
    require_tool(tool, "mtools");
    let out = run_raw(tool, args, None);
    assert!(
        out.status.success(),
        "{tool} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

struct UsbStick {
    builder: FatBuilder,
    kernel: Vec<u8>,
    overlay: Vec<u8>,
    config: Vec<u8>,
}

/// An image shaped like upstream's `usb` type, with the overlay and config in slots.
fn usb_stick(size: u64, fat_type: Option<FatType>) -> UsbStick {
    let kernel = pseudo_random(300_000, 1);
    let overlay = pseudo_random(10_000, 3);
    let config = b"PROMPT 0\nDEFAULT planetlab-bootcd\n\nLABEL planetlab-bootcd\n  LINUX kernel\n".to_vec();
    let mut options = FatOptions::new(size, TIME);
    options.fat_type = fat_type;
    options.volume_label = Some("PLANETLAB".into());
    options.volume_id = 0x1234_ABCD;
    let mut builder = FatBuilder::new(options).unwrap();
    builder.add_file("kernel", kernel.clone(), FatFileOptions::default()).unwrap();
    builder.add_file("bootcd.img", pseudo_random(700_000, 2), FatFileOptions::default()).unwrap();
    builder.add_file("overlay.img", overlay.clone(), FatFileOptions::slot(OVERLAY_SLOT, 0)).unwrap();
    builder.add_file("syslinux.cfg", config.clone(), FatFileOptions::slot(CONFIG_SLOT, b'\n')).unwrap();
    builder.add_file("pl_version", b"PlanetLab BootCD 5.4\n".to_vec(), FatFileOptions::default()).unwrap();
    builder.add_file("usr/isolinux/pl_version", b"nested\n".to_vec(), FatFileOptions::default()).unwrap();
    builder.add_file("EFI/BOOT/BOOTX64.EFI", pseudo_random(5000, 4), FatFileOptions::default()).unwrap();
    builder.add_file("a long file name with spaces.txt", b"spaces\n".to_vec(), FatFileOptions::default()).unwrap();
    builder.add_file("empty", Vec::new(), FatFileOptions::default()).unwrap();
    UsbStick { builder, kernel, overlay, config }
}

fn write_image(builder: &FatBuilder, path: &Path) -> FatLayout {
    let file = fs::File::create(path).unwrap();
    let layout = builder.write(std::io::BufWriter::new(file)).unwrap();
    assert_eq!(fs::metadata(path).unwrap().len(), layout.image_len);
    layout
}

fn check_usb_stick(size: u64, fat_type: Option<FatType>, expected_type: FatType) {
    let stick = usb_stick(size, fat_type);
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("usb.img");
    let layout = write_image(&stick.builder, &image);
    assert_eq!(layout.fat_type, expected_type);
    fsck(&image);
    let img = format!("{}", image.display());

    let listing = String::from_utf8(mtools("mdir", &["-i", &img, "::/"])).unwrap();
    assert!(listing.contains("Volume in drive : is PLANETLAB"), "{listing}");
    for name in
        ["syslinux.cfg", "overlay.img", "pl_version", "bootcd.img", "a long file name with spaces.txt", "usr", "EFI"]
    {
        assert!(
            listing.lines().any(|l| l.ends_with(&format!(" {name}")) || l.starts_with(name)),
            "{name} in\n{listing}"
        );
    }
    assert_eq!(mtools("mtype", &["-i", &img, "::/pl_version"]), b"PlanetLab BootCD 5.4\n");
    assert_eq!(mtools("mtype", &["-i", &img, "::/usr/isolinux/pl_version"]), b"nested\n");
    assert_eq!(mtools("mcopy", &["-n", "-i", &img, "::/kernel", "-"]), stick.kernel);
    assert_eq!(mtools("mcopy", &["-n", "-i", &img, "::/overlay.img", "-"]), padded(&stick.overlay, OVERLAY_SLOT, 0));
    assert_eq!(mtools("mcopy", &["-n", "-i", &img, "::/syslinux.cfg", "-"]), padded(&stick.config, CONFIG_SLOT, b'\n'));
    assert!(mtools("mcopy", &["-n", "-i", &img, "::/empty", "-"]).is_empty());

    // Our reader agrees, and the layout's offsets are where the bytes are.
    let bytes = fs::read(&image).unwrap();
    let mut reader = FatReader::open(std::io::Cursor::new(&bytes)).unwrap();
    assert_eq!(reader.fat_type(), expected_type);
    assert_eq!(reader.volume_label(), "PLANETLAB");
    let overlay = reader.lookup("overlay.img").unwrap().unwrap();
    assert_eq!(overlay.short_name, "OVERLAY.IMG");
    assert_eq!(reader.file_offset(&overlay), Some(layout.file("overlay.img").unwrap().byte_offset));
    let offset = layout.file("kernel").unwrap().byte_offset as usize;
    assert_eq!(&bytes[offset..offset + stick.kernel.len()], &stick.kernel[..]);
    let efi = reader.lookup("EFI/BOOT/BOOTX64.EFI").unwrap().unwrap();
    assert_eq!(reader.read_file_to_vec(&efi).unwrap(), pseudo_random(5000, 4));
}

#[test]
fn fat12_stick_passes_fsck_and_mtools() {
    check_usb_stick(8 * MIB, None, FatType::Fat12);
}

#[test]
fn fat16_stick_passes_fsck_and_mtools() {
    check_usb_stick(32 * MIB, None, FatType::Fat16);
}

#[test]
fn fat32_stick_passes_fsck_and_mtools() {
    check_usb_stick(64 * MIB, Some(FatType::Fat32), FatType::Fat32);
}

#[test]
fn parameters_match_mkfs_fat() {
    require_tool("mkfs.fat", "dosfstools");
    let dir = tempfile::tempdir().unwrap();
    // 8192 KiB is left out on purpose: mkfs.fat makes a FAT12 volume there that syslinux
    // refuses; see `syslinux_accepts_the_8_mib_volume_mkfs_fat_gets_wrong`.
    for kib in [1440u64, 2880, 4096, 6 * 1024, 16 * 1024, 33 * 1024, 64 * 1024, 300 * 1024, 600 * 1024] {
        let path = dir.path().join(format!("{kib}.img"));
        run("mkfs.fat", &["-C", path.to_str().unwrap(), &kib.to_string()]);
        let boot = fs::read(&path).unwrap()[..64].to_vec();
        fs::remove_file(&path).unwrap();
        let theirs_spc = u32::from(boot[13]);
        let theirs_32 = boot[22] == 0 && boot[23] == 0;
        let ours = FatBuilder::new(FatOptions::new(kib * 1024, TIME)).unwrap().layout().unwrap();
        assert_eq!(ours.sectors_per_cluster, theirs_spc, "cluster size for {kib} KiB");
        assert_eq!(ours.fat_type == FatType::Fat32, theirs_32, "FAT32 or not for {kib} KiB");
        let theirs_root = u32::from(u16::from_le_bytes([boot[17], boot[18]]));
        assert_eq!(ours.root_entries, theirs_root, "root entries for {kib} KiB");
        let theirs_fat = if theirs_32 {
            u32::from_le_bytes(boot[36..40].try_into().unwrap())
        } else {
            u32::from(u16::from_le_bytes([boot[22], boot[23]]))
        };
        assert_eq!(ours.fat_sectors, theirs_fat, "FAT size for {kib} KiB");
        assert_eq!(
            ours.reserved_sectors,
            u32::from(u16::from_le_bytes([boot[14], boot[15]])),
            "reserved for {kib} KiB"
        );
    }
}

#[test]
fn syslinux_accepts_the_8_mib_volume_mkfs_fat_gets_wrong() {
    require_tool("syslinux", "syslinux");
    let dir = tempfile::tempdir().unwrap();
    let theirs = dir.path().join("mkfs.img");
    run("mkfs.fat", &["-C", theirs.to_str().unwrap(), "8192"]);
    let refused = run_raw("syslinux", &["--install", theirs.to_str().unwrap()], None);
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("more than 4084 clusters"), "syslinux's quirk changed: {message}");
    let ours = dir.path().join("ours.img");
    let layout = write_image(&FatBuilder::new(FatOptions::new(8 * MIB, TIME)).unwrap(), &ours);
    assert_eq!((layout.fat_type, layout.sectors_per_cluster), (FatType::Fat12, 8));
    run("syslinux", &["--install", ours.to_str().unwrap()]);
    fsck(&ours);
}

#[test]
fn same_inputs_give_identical_bytes() {
    let mut first = Vec::new();
    let layout = usb_stick(8 * MIB, None).builder.write(&mut first).unwrap();
    let mut second = Vec::new();
    usb_stick(8 * MIB, None).builder.write(&mut second).unwrap();
    assert!(first == second);
    assert_eq!(usb_stick(8 * MIB, None).builder.layout().unwrap(), layout);
}

#[test]
fn syslinux_installs_and_slots_rewrite_in_place_afterwards() {
    require_tool("syslinux", "syslinux");
    for (size, fat_type) in [(8 * MIB, None), (32 * MIB, None), (64 * MIB, Some(FatType::Fat32))] {
        let stick = usb_stick(size, fat_type);
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("usb.img");
        let layout = write_image(&stick.builder, &image);
        run("syslinux", &["--install", image.to_str().unwrap()]);
        fsck_after_syslinux(&image);
        let img = image.to_str().unwrap();
        let listing = String::from_utf8(mtools("mdir", &["-a", "-i", img, "::/"])).unwrap();
        let lower = listing.to_lowercase();
        assert!(lower.contains("ldlinux  sys") && lower.contains("ldlinux  c32"), "{listing}");

        // Our files did not move.
        let bytes = fs::read(&image).unwrap();
        let mut reader = FatReader::open(std::io::Cursor::new(&bytes)).unwrap();
        for extent in &layout.files {
            let entry = reader.lookup(&extent.path).unwrap().unwrap();
            assert_eq!(entry.first_cluster, extent.first_cluster, "{} moved", extent.path);
        }

        // The slots take the last clusters, after every other file, syslinux's included: only
        // the slots and the sectors past the last cluster follow the first slot.
        let slots: Vec<_> = layout.files.iter().filter(|f| f.is_slot).collect();
        let first_slot = slots.iter().map(|f| f.first_cluster).min().unwrap();
        for extent in layout.files.iter().filter(|f| !f.is_slot && f.first_cluster >= 2) {
            assert!(extent.first_cluster < first_slot, "{} after a slot", extent.path);
        }
        for name in ["ldlinux.sys", "ldlinux.c32"] {
            let entry = reader.lookup(name).unwrap().unwrap();
            assert!(entry.first_cluster < first_slot, "syslinux put {name} after the slots");
        }
        let cluster_bytes = u64::from(layout.sectors_per_cluster) * 512;
        let slot_bytes: u64 = slots.iter().map(|f| f.recorded_length.div_ceil(cluster_bytes) * cluster_bytes).sum();
        let first_slot_offset = slots.iter().map(|f| f.byte_offset).min().unwrap();
        let tail = layout.image_len - first_slot_offset;
        assert!(
            tail < slot_bytes + cluster_bytes + 64 * 512,
            "{tail} bytes after the first slot ({slot_bytes} in slots)"
        );

        let overlay = layout.file("overlay.img").unwrap();
        let config = layout.file("syslinux.cfg").unwrap();
        let new_overlay = pseudo_random(250_000, 7);
        let new_config = b"SERIAL 0 115200\nDEFAULT node\n".to_vec();
        {
            let mut file = fs::OpenOptions::new().write(true).open(&image).unwrap();
            file.seek(SeekFrom::Start(overlay.byte_offset)).unwrap();
            file.write_all(&padded(&new_overlay, overlay.recorded_length, 0)).unwrap();
            file.seek(SeekFrom::Start(config.byte_offset)).unwrap();
            file.write_all(&padded(&new_config, config.recorded_length, b'\n')).unwrap();
        }
        fsck_after_syslinux(&image);
        assert_eq!(mtools("mcopy", &["-n", "-i", img, "::/overlay.img", "-"]), padded(&new_overlay, OVERLAY_SLOT, 0));
        assert_eq!(mtools("mtype", &["-i", img, "::/syslinux.cfg"]), padded(&new_config, CONFIG_SLOT, b'\n'));
        assert_eq!(stick.overlay.len(), 10_000);
    }
}

#[test]
fn invalid_input_is_rejected() {
    let mut builder = FatBuilder::new(FatOptions::new(8 * MIB, TIME)).unwrap();
    assert!(builder.add_file("a:b", Vec::new(), FatFileOptions::default()).is_err());
    assert!(builder.add_file("trailing.", Vec::new(), FatFileOptions::default()).is_err());
    builder.add_file("Kernel", Vec::new(), FatFileOptions::default()).unwrap();
    assert!(builder.add_file("KERNEL", Vec::new(), FatFileOptions::default()).is_err());
    assert!(builder.add_file("big", vec![0u8; 10], FatFileOptions::slot(5, 0)).is_err());
    let options = FatOptions { volume_label: Some("lower".into()), ..FatOptions::new(8 * MIB, TIME) };
    assert!(FatBuilder::new(options).is_err());
    let mut small = FatBuilder::new(FatOptions::new(MIB, TIME)).unwrap();
    small.add_file("huge", vec![0u8; 2 * MIB as usize], FatFileOptions::default()).unwrap();
    assert!(small.layout().is_err());
    let size = small.fit_size(512 * 1024).unwrap();
    small.set_size_bytes(size);
    assert!(small.layout().unwrap().free_clusters > 0);
}

fn build_tree_volume(tree: &Tree, fat_type: Option<FatType>) -> FatBuilder {
    let size = if fat_type == Some(FatType::Fat32) { 40 * MIB } else { 4 * MIB };
    let options = FatOptions { fat_type, ..FatOptions::new(size, TIME) };
    let mut builder = FatBuilder::new(options).unwrap();
    for (path, contents) in tree {
        match contents {
            None => builder.add_directory(path).unwrap(),
            Some(bytes) => builder.add_file(path, bytes.clone(), FatFileOptions::default()).unwrap(),
        }
    }
    builder
}

fn read_back(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut reader = FatReader::open(std::io::Cursor::new(bytes)).unwrap();
    let mut out = Vec::new();
    let mut stack = vec![(String::new(), reader.root())];
    while let Some((prefix, dir)) = stack.pop() {
        for entry in reader.read_dir(&dir).unwrap() {
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
    fn random_trees_round_trip(tree in tree_strategy(16, 5000), fat32 in any::<bool>()) {
        let builder = build_tree_volume(&tree, fat32.then_some(FatType::Fat32));
        let mut bytes = Vec::new();
        builder.write(&mut bytes).unwrap();
        let expected = expected_listing(&tree);
        prop_assert_eq!(&read_back(&bytes), &expected);
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("random.img");
        fs::write(&image, &bytes).unwrap();
        fsck(&image);
        let target = dir.path().join("out");
        fs::create_dir(&target).unwrap();
        if !tree.is_empty() {
            mtools("mcopy", &["-s", "-n", "-m", "-i", image.to_str().unwrap(), "::/*", target.to_str().unwrap()]);
        }
        prop_assert_eq!(&collect_tree(&target), &expected);
    }
}
