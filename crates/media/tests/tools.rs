//! Node media checked by independent tools (docs/media.md §3): xorriso and isoinfo for the ISO,
//! fsck.fat and mtools for the FAT images, sfdisk for the partition table, GNU cpio for the
//! overlay, fsck.cramfs (and fsck.fat) for the cramfs types — each must find the files we wrote, with the
//! contents we wrote.

mod common;

use std::path::Path;

use bootmedium_media::{ImageType, inspect};
use common::{PLNODE, import, import_request, node_request, require_tool, run, run_raw, settings};

const CONFIG: &str = "SERIAL 0 115200\nPROMPT 0\nDEFAULT planetlab-bootcd\n\nLABEL planetlab-bootcd\n  LINUX kernel\n";

fn build(reference: &bootmedium_media::Reference, image_type: ImageType, out: &Path) {
    reference.prepare(&node_request(image_type), &settings()).unwrap().write_to(out).unwrap();
}

/// The overlay's listing (`cpio -itv`) and its plnode.txt (`cpio -i --to-stdout`).
fn check_overlay(overlay: &[u8], dir: &Path) {
    require_tool("cpio", "cpio");
    require_tool("gzip", "gzip");
    let gz = dir.join("overlay.gz");
    std::fs::write(&gz, overlay).unwrap();
    let script = format!("gzip -dc < {0} 2>/dev/null | cpio -itv --quiet", gz.display());
    let listing = run("sh", &["-c", &script]);
    for name in ["usr/boot/plnode.txt", "usr/boot/cacert.pem", "usr/bootme/BOOTSERVER", "etc/passwd", "kargs.txt"] {
        assert!(listing.lines().any(|l| l.ends_with(&format!(" {name}"))), "{name} not in:\n{listing}");
    }
    assert!(listing.lines().any(|l| l.starts_with("-rw-------") && l.ends_with(" usr/boot/plnode.txt")), "{listing}");
    let script = format!("gzip -dc < {0} 2>/dev/null | cpio -i --quiet --to-stdout usr/boot/plnode.txt", gz.display());
    assert_eq!(run("sh", &["-c", &script]), PLNODE);
    let script = format!("gzip -dc < {0} 2>/dev/null | cpio -i --quiet --to-stdout kargs.txt", gz.display());
    assert_eq!(
        run("sh", &["-c", &script]),
        "biosdevname=0 net.ifnames=0 selinux=0 hcheck_reboot0 systemd.log_level=debug console=ttyS0,115200n8\n"
    );
}

fn check_config(config: &str) {
    assert!(config.starts_with(CONFIG), "{config}");
    let append = config.lines().find(|l| l.trim_start().starts_with("APPEND")).unwrap();
    assert!(append.contains("initrd=bootcd.img,overlay.img root=/dev/ram0 rw biosdevname=0"), "{append}");
    assert!(append.ends_with("hcheck_reboot0 systemd.log_level=debug console=ttyS0,115200n8"), "{append}");
    assert!(config.trim_end_matches('\n').ends_with("console=ttyS0,115200n8"), "padding is newlines only");
}

#[test]
fn iso_passes_xorriso_and_isoinfo() {
    require_tool("xorriso", "xorriso");
    require_tool("isoinfo", "genisoimage");
    let imported = import(&import_request("planetlab-f37-x86_64", "5.4"));
    let dir = tempfile::tempdir().unwrap();
    let iso = dir.path().join("node.iso");
    build(&imported.reference, ImageType::Iso, &iso);
    let img = iso.to_str().unwrap();

    let report = String::from_utf8_lossy(&run_raw("xorriso", &["-indev", img, "-report_el_torito", "plain"]).stdout)
        .into_owned();
    assert!(report.contains("El Torito img path :   1  /isolinux.bin"), "{report}");
    assert!(report.contains("boot-info-table"), "{report}");
    assert!(report.lines().any(|l| l.starts_with("El Torito boot img") && l.contains("BIOS  y   none")), "{report}");

    let descriptor = run("isoinfo", &["-d", "-i", img]);
    for expected in ["Volume id: BOOTCD", "Rock Ridge signatures", "Joliet with UCS level 3", "El Torito VD"] {
        assert!(descriptor.contains(expected), "{expected}:\n{descriptor}");
    }
    for names in [&["-R", "-f"][..], &["-J", "-f"][..]] {
        let mut args = names.to_vec();
        args.extend(["-i", img]);
        let mut listed: Vec<String> = run("isoinfo", &args).lines().map(str::to_owned).collect();
        listed.sort();
        let expected = [
            "/.disk",
            "/.disk/info",
            "/boot",
            "/boot.cat",
            "/boot/grub",
            "/boot/grub/grub.cfg",
            "/bootcd.img",
            "/bootmedium.json",
            "/efiboot.img",
            "/isolinux.bin",
            "/isolinux.cfg",
            "/kernel",
            "/ldlinux.c32",
            "/overlay.img",
            "/pl_version",
        ];
        assert_eq!(listed, expected, "isoinfo {names:?}");
    }
    let extract = |path: &str| run_raw("isoinfo", &["-R", "-x", path, "-i", img]).stdout;
    assert_eq!(extract("/kernel"), std::fs::read(common::test_reference().join("kernel")).unwrap());
    assert_eq!(extract("/bootcd.img"), std::fs::read(common::test_reference().join("bootcd.img")).unwrap());
    check_config(&String::from_utf8(extract("/isolinux.cfg")).unwrap());
    assert_eq!(String::from_utf8(extract("/pl_version")).unwrap().trim_end(), "PlanetLab Test BootCD 5.4");
    check_overlay(&extract("/overlay.img"), dir.path());
}

#[test]
fn usb_images_pass_fsck_mtools_and_sfdisk() {
    require_tool("fsck.fat", "dosfstools");
    require_tool("mdir", "mtools");
    require_tool("sfdisk", "fdisk");
    let imported = import(&import_request("planetlab-f37-x86_64", "5.4"));
    let dir = tempfile::tempdir().unwrap();
    for (image_type, offset) in [(ImageType::Usb, 0u64), (ImageType::UsbPartition, 1024 * 1024)] {
        let path = dir.path().join(format!("node.{image_type}"));
        build(&imported.reference, image_type, &path);
        let volume = if offset == 0 {
            path.clone()
        } else {
            let table = run("sfdisk", &["-d", path.to_str().unwrap()]);
            let line = table.lines().find(|l| l.contains(": start=")).unwrap_or_else(|| panic!("{table}"));
            assert!(line.contains("start=        2048") && line.contains("bootable"), "{table}");
            // An EFI system partition: the volume carries the UEFI loader too.
            assert!(line.contains("type=ef"), "{table}");
            // fsck.fat checks a volume from its first byte: the partition, copied out.
            let bytes = std::fs::read(&path).unwrap();
            let partition = dir.path().join("partition.img");
            std::fs::write(&partition, &bytes[offset as usize..]).unwrap();
            partition
        };
        let fsck = run_raw("fsck.fat", &["-n", volume.to_str().unwrap()]);
        assert!(fsck.status.success(), "fsck.fat {image_type}: {}", String::from_utf8_lossy(&fsck.stdout));

        let image = format!("{}@@{offset}", path.display());
        let listing = run("mdir", &["-a", "-b", "-i", &image, "::/"]).to_lowercase();
        for name in ["kernel", "bootcd.img", "overlay.img", "syslinux.cfg", "ldlinux.sys", "ldlinux.c32"] {
            assert!(listing.lines().any(|l| l.ends_with(&format!("/{name}"))), "{name} missing:\n{listing}");
        }
        check_config(&run("mtype", &["-i", &image, "::/syslinux.cfg"]));
        let out = dir.path().join("overlay.img");
        let _ = std::fs::remove_file(&out);
        run("mcopy", &["-n", "-i", &image, "::/overlay.img", out.to_str().unwrap()]);
        check_overlay(&std::fs::read(&out).unwrap(), dir.path());

        let found = inspect(&path, true).unwrap();
        assert_eq!(found.image_type, image_type);
        assert_eq!(found.node_config.as_deref(), Some(PLNODE));
    }
}

#[test]
fn cramfs_media_pass_fsck_cramfs() {
    require_tool("fsck.cramfs", "util-linux");
    require_tool("isoinfo", "genisoimage");
    require_tool("mcopy", "mtools");
    let imported = import(&import_request("planetlab-f37-x86_64", "5.4"));
    let dir = tempfile::tempdir().unwrap();
    for image_type in [ImageType::IsoCramfs, ImageType::UsbCramfs] {
        let path = dir.path().join(format!("node.{image_type}"));
        build(&imported.reference, image_type, &path);
        let img = path.to_str().unwrap();
        let cramfs = dir.path().join(format!("cramfs.{image_type}"));
        match image_type {
            ImageType::IsoCramfs => {
                std::fs::write(&cramfs, run_raw("isoinfo", &["-R", "-x", "/cramfs.img", "-i", img]).stdout).unwrap()
            }
            _ => {
                require_tool("fsck.fat", "dosfstools");
                run("fsck.fat", &["-n", img]);
                run("mcopy", &["-n", "-i", img, "::/cramfs.img", cramfs.to_str().unwrap()]);
            }
        }
        let extracted = dir.path().join(format!("root.{image_type}"));
        let extract = format!("--extract={}", extracted.display());
        run("fsck.cramfs", &[&extract, cramfs.to_str().unwrap()]);
        assert_eq!(std::fs::read_to_string(extracted.join("usr/boot/plnode.txt")).unwrap(), PLNODE);
        assert!(std::fs::read_to_string(extracted.join("init")).unwrap().contains("PLNODE-BEGIN"));
        assert!(std::fs::symlink_metadata(extracted.join("bin/sh")).unwrap().file_type().is_symlink());
        assert!(
            std::fs::read_to_string(extracted.join("etc/passwd")).unwrap().starts_with("root:$5$salt$0123456789:"),
            "the overlay's passwd replaces the root's"
        );
        let found = inspect(&path, false).unwrap();
        assert_eq!(found.image_type, image_type);
        assert_eq!(found.initrds, ["cramfs.img"]);
        assert!(found.node_key_masked);
    }
}
