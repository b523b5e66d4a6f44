//! `inspect` on images made the way upstream's build.sh makes them (docs/media.md §1: an overlay from
//! `cpio -H newc` with `./` names, gzip -9; `mkisofs -R -J` with ISOLINUX; `mkfs.vfat` + `mcopy`
//! + `syslinux` for USB), built here with the same Debian tools.

mod common;

use std::path::Path;

use bootmedium_media::{Container, ImageType, inspect};
use common::{PLNODE, require_tool, run, test_reference};

const UPSTREAM_CONFIG: &str = "SERIAL 0 115200\nPROMPT 0\nDEFAULT planetlab-bootcd\n\nLABEL planetlab-bootcd\n  \
DISPLAY pl_version\n  LINUX kernel\n  APPEND ramdisk_size=2000 initrd=bootcd.img,overlay.img root=/dev/ram0 rw  \
hcheck_reboot0 console=ttyS0,115200n8 biosdevname=0 net.ifnames=0 selinux=0\n";

/// build.sh's isofs directory: kernel, bootcd.img, overlay.img, pl_version, the config.
fn isofs(dir: &Path, config_name: &str) -> std::path::PathBuf {
    let isofs = dir.join("isofs");
    let overlay = dir.join("overlay");
    std::fs::create_dir_all(overlay.join("usr/boot")).unwrap();
    std::fs::write(overlay.join("usr/boot/plnode.txt"), PLNODE).unwrap();
    std::fs::write(overlay.join("pl_version"), "PlanetLab Up BootCD 5.3\n").unwrap();
    std::fs::create_dir_all(&isofs).unwrap();
    let script = format!(
        "cd {} && find . | cpio --quiet -H newc -o | gzip -9 > {}/overlay.img",
        overlay.display(),
        isofs.display()
    );
    run("sh", &["-c", &script]);
    for file in ["kernel", "bootcd.img"] {
        std::fs::copy(test_reference().join(file), isofs.join(file)).unwrap();
    }
    std::fs::write(isofs.join("pl_version"), "PlanetLab Up BootCD 5.3\n").unwrap();
    std::fs::write(isofs.join(config_name), UPSTREAM_CONFIG).unwrap();
    isofs
}

fn check(found: &bootmedium_media::Inspection, image_type: ImageType) {
    assert_eq!(found.made_by, "unknown");
    assert_eq!(found.image_type, image_type);
    assert_eq!(found.version.as_deref(), Some("5.3"));
    assert_eq!(found.version_string.as_deref(), Some("PlanetLab Up BootCD 5.3"));
    assert_eq!(found.family, None);
    assert_eq!(found.console, "ttyS0:115200:n:8");
    assert_eq!(found.serial.as_deref(), Some("SERIAL 0 115200"));
    assert_eq!(found.initrds, ["bootcd.img", "overlay.img"]);
    assert!(found.kernel_args.contains(&"hcheck_reboot0".to_owned()), "{:?}", found.kernel_args);
    assert!(found.node_key_masked);
    assert!(found.node_config.as_deref().unwrap().contains("NODE_KEY=\"********\""));
}

#[test]
fn upstream_iso_is_readable() {
    require_tool("genisoimage", "genisoimage");
    let dir = tempfile::tempdir().unwrap();
    let isofs = isofs(dir.path(), "isolinux.cfg");
    std::fs::copy(bootmedium_media::DEFAULT_ISOLINUX, isofs.join("isolinux.bin"))
        .expect("isolinux.bin: install the Debian package `isolinux`");
    let iso = dir.path().join("up.iso");
    run(
        "genisoimage",
        &[
            "-quiet",
            "-o",
            iso.to_str().unwrap(),
            "-R",
            "-J",
            "-r",
            "-f",
            "-b",
            "isolinux.bin",
            "-c",
            "boot.cat",
            "-no-emul-boot",
            "-boot-load-size",
            "4",
            "-boot-info-table",
            isofs.to_str().unwrap(),
        ],
    );
    let found = inspect(&iso, false).unwrap();
    assert_eq!(found.container, Container::Iso9660);
    check(&found, ImageType::Iso);
}

#[test]
fn upstream_usb_is_readable() {
    require_tool("mkfs.vfat", "dosfstools");
    require_tool("mcopy", "mtools");
    require_tool("syslinux", "syslinux");
    let dir = tempfile::tempdir().unwrap();
    let isofs = isofs(dir.path(), "syslinux.cfg");
    let usb = dir.path().join("up.usb");
    let names = ["kernel", "bootcd.img", "overlay.img", "pl_version", "syslinux.cfg"];
    // As build.sh sizes it: the files' KiB plus free space.
    let kib: u64 = names.iter().map(|f| std::fs::metadata(isofs.join(f)).unwrap().len().div_ceil(1024) + 4).sum();
    run("mkfs.vfat", &["-C", usb.to_str().unwrap(), &(kib + 2048).to_string()]);
    let files: Vec<String> = names.iter().map(|f| isofs.join(f).display().to_string()).collect();
    let mut args = vec!["-sQ", "-i", usb.to_str().unwrap()];
    args.extend(files.iter().map(String::as_str));
    args.push("::/");
    run("mcopy", &args);
    run("syslinux", &["--install", usb.to_str().unwrap()]);
    let found = inspect(&usb, false).unwrap();
    assert_eq!(found.container, Container::FatSuperfloppy);
    check(&found, ImageType::Usb);
}
