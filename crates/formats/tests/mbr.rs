//! The MBR writer checked by sfdisk, and a partitioned FAT disk (upstream's `usb_partition`)
//! checked by mtools, fsck.fat and syslinux.

mod common;

use std::fs;
use std::io::Write;

use bootmedium_formats::Timestamp;
use bootmedium_formats::fat::{FatBuilder, FatFileOptions, FatOptions, FatReader};
use bootmedium_formats::mbr::{ChsFields, Mbr, Partition, partition_type};
use common::{require_tool, run, run_raw};

const TIME: Timestamp = Timestamp(1_700_000_000);
const MBR_BIN: &str = "/usr/lib/syslinux/mbr/mbr.bin";
const PARTITION_START: u32 = 2048;

fn sfdisk_json(image: &std::path::Path) -> String {
    require_tool("sfdisk", "fdisk");
    run("sfdisk", &["--json", image.to_str().unwrap()])
}

#[test]
fn sfdisk_reads_four_partitions_with_saturated_chs() {
    let mut mbr = Mbr::new(&[], 0x0102_0304).unwrap();
    mbr.partitions = [
        Some(Partition { bootable: false, partition_type: partition_type::FAT12, start_lba: 63, sector_count: 1000 }),
        Some(Partition {
            bootable: true,
            partition_type: partition_type::FAT32_LBA,
            start_lba: 2048,
            sector_count: 100_000,
        }),
        None,
        Some(Partition {
            bootable: false,
            partition_type: partition_type::LINUX,
            start_lba: 20_000_000,
            sector_count: 4096,
        }),
    ];
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("disk.img");
    let mut file = fs::File::create(&image).unwrap();
    file.write_all(&mbr.encode(ChsFields::default()).unwrap()).unwrap();
    // sfdisk reads the table without needing the disk to be as large as its partitions.
    file.set_len(1024 * 1024).unwrap();
    drop(file);

    let json = sfdisk_json(&image);
    let compact: String = json.split_whitespace().collect();
    assert!(compact.contains("\"label\":\"dos\""), "{json}");
    assert!(compact.contains("\"id\":\"0x01020304\""), "{json}");
    let path = image.to_str().unwrap();
    for expected in [
        format!("{{\"node\":\"{path}1\",\"start\":63,\"size\":1000,\"type\":\"1\"}}"),
        format!("{{\"node\":\"{path}2\",\"start\":2048,\"size\":100000,\"type\":\"c\",\"bootable\":true}}"),
        format!("{{\"node\":\"{path}4\",\"start\":20000000,\"size\":4096,\"type\":\"83\"}}"),
    ] {
        assert!(compact.contains(&expected), "{expected} in {json}");
    }
    assert!(!compact.contains(&format!("{path}3")), "{json}");
    // The entry beyond cylinder 1023 carries the saturated CHS value.
    let sector = fs::read(&image).unwrap();
    assert_eq!(&sector[446 + 48 + 1..446 + 48 + 4], &[0xFE, 0xFF, 0xFF]);
    assert_eq!(Mbr::decode(&sector[..512]).unwrap(), mbr);
}

#[test]
fn partitioned_fat_disk_works_with_mtools_fsck_and_syslinux() {
    let boot_code = fs::read(MBR_BIN)
        .unwrap_or_else(|e| panic!("{MBR_BIN} is missing ({e}): install the Debian package `syslinux-common`"));
    let volume_size = 32 * 1024 * 1024u64;
    let mut options = FatOptions::new(volume_size, TIME);
    options.hidden_sectors = PARTITION_START;
    options.volume_label = Some("PLANETLAB".into());
    let mut fat = FatBuilder::new(options).unwrap();
    fat.add_file("syslinux.cfg", b"DEFAULT x\n".to_vec(), FatFileOptions::slot(4096, b'\n')).unwrap();
    fat.add_file("kernel", vec![7u8; 100_000], FatFileOptions::default()).unwrap();

    let mut mbr = Mbr::new(&boot_code, 0xCAFE_F00D).unwrap();
    mbr.partitions[0] = Some(Partition {
        bootable: true,
        partition_type: partition_type::FAT16,
        start_lba: PARTITION_START,
        sector_count: (volume_size / 512) as u32,
    });
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("usb_partition.img");
    let mut disk = Vec::new();
    disk.extend_from_slice(&mbr.encode(ChsFields::default()).unwrap());
    disk.resize(PARTITION_START as usize * 512, 0);
    let layout = fat.write(&mut disk).unwrap();
    fs::write(&image, &disk).unwrap();

    let json: String = sfdisk_json(&image).split_whitespace().collect();
    let expected =
        format!("{{\"node\":\"{}1\",\"start\":2048,\"size\":65536,\"type\":\"6\",\"bootable\":true}}", image.display());
    assert!(json.contains(&expected), "{expected} in {json}");
    let dump = run("sfdisk", &["-d", image.to_str().unwrap()]);
    assert!(dump.contains("label-id: 0xcafef00d"), "{dump}");

    let at_offset = format!("{}@@{}", image.display(), PARTITION_START as u64 * 512);
    require_tool("mdir", "mtools");
    let listing = run("mdir", &["-i", &at_offset, "::/"]);
    assert!(listing.contains(" syslinux.cfg") && listing.contains("KERNEL"), "{listing}");
    assert_eq!(run("mtype", &["-i", &at_offset, "::/syslinux.cfg"]).trim_end(), "DEFAULT x");

    require_tool("syslinux", "syslinux");
    let offset = (PARTITION_START as u64 * 512).to_string();
    run("syslinux", &["--install", "--offset", &offset, image.to_str().unwrap()]);
    let after = fs::read(&image).unwrap();
    assert_eq!(
        &after[..440],
        &boot_code[..440.min(boot_code.len())]
            .iter()
            .chain(std::iter::repeat(&0u8))
            .take(440)
            .copied()
            .collect::<Vec<u8>>()[..]
    );

    // fsck.fat has no offset option: check the partition's bytes on their own.
    let volume = dir.path().join("volume.img");
    fs::write(&volume, &after[PARTITION_START as usize * 512..]).unwrap();
    require_tool("fsck.fat", "dosfstools");
    let fsck = run_raw("fsck.fat", &["-n", volume.to_str().unwrap()], None);
    assert!(fsck.status.success(), "{}", String::from_utf8_lossy(&fsck.stdout));

    let mut reader = FatReader::open_at(std::io::Cursor::new(&after), PARTITION_START as u64 * 512).unwrap();
    assert_eq!(reader.hidden_sectors(), PARTITION_START);
    assert!(reader.lookup("ldlinux.sys").unwrap().is_some());
    let config = reader.lookup("syslinux.cfg").unwrap().unwrap();
    assert_eq!(config.first_cluster, layout.file("syslinux.cfg").unwrap().first_cluster);
}
