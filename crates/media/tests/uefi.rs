//! UEFI and Secure Boot media (docs/uefi.md), checked with independent
//! tools:
//! - ISO types: xorriso sees two El Torito entries (BIOS and UEFI) and an isohybrid MBR; sfdisk
//!   reads the hybrid table (an active whole-image entry of type 0, an EFI system partition
//!   over `efiboot.img`); the ESP passes `fsck.fat -n` and `mdir` lists the loader; the node's
//!   `boot/grub/grub.cfg` carries its console and kernel arguments; `inspect` reports both
//!   paths; the GRUB made at import is the same bytes every time;
//! - `--uefi signed-shim`: the ESP holds Debian's signed shim, GRUB and MokManager, byte for
//!   byte; inspect and the manifest say Secure Boot capable; fast path == full build;
//! - USB types carry the loader, `.disk/info` and `grub.cfg` on their FAT volume (fsck.fat,
//!   mdir), `usb_partition`'s partition is an active EFI system partition (sfdisk);
//! - `--uefi none`: BIOS only, as before; a missing signed loader fails the import naming its
//!   package.
//!
//! (The boots under OVMF, with and without Secure Boot, are in the cli crate's media_boot.rs.)

mod common;

use bootmedium_media::{
    DEFAULT_MOK_MANAGER, DEFAULT_SHIM, DEFAULT_SIGNED_GRUB, ImageType, MediaError, ReferenceStore, SlotKind, UefiLoader,
};
use common::{file_sha256, import, import_request, node_request, run, settings};

#[test]
fn node_iso_has_a_uefi_entry_an_esp_and_a_grub_config() {
    let request = import_request("planetlab-f37-x86_64", "5.4");
    let first = import(&request);
    let second = import(&request);
    let grub = &first.reference.manifest().inputs.grub_efi;
    assert_eq!(grub.len(), 64, "the UEFI GRUB is a stored input");
    assert_eq!(grub, &second.reference.manifest().inputs.grub_efi, "grub-mkimage must be reproducible");

    let out = tempfile::tempdir().unwrap();
    for image_type in [ImageType::Iso, ImageType::IsoCramfs] {
        let template = first.reference.manifest().template(None, image_type).unwrap();
        let grub_slot = template.slots.iter().find(|s| s.kind == SlotKind::GrubConfig).unwrap();
        assert_eq!((grub_slot.path.as_str(), grub_slot.size, grub_slot.fill), ("boot/grub/grub.cfg", 4096, b'#'));

        let iso = out.path().join(format!("node.{image_type}"));
        first.reference.prepare(&node_request(image_type), &settings()).unwrap().write_to(&iso).unwrap();
        let iso_arg = iso.to_str().unwrap();
        let report = run("xorriso", &["-indev", iso_arg, "-report_el_torito", "plain"]);
        let entries: Vec<&str> = report.lines().filter(|l| l.starts_with("El Torito boot img :")).collect();
        assert_eq!(entries.len(), 2, "{report}");
        assert!(entries[0].contains("BIOS") && entries[0].contains("none"), "{report}");
        assert!(entries[1].contains("UEFI") && entries[1].contains("2880"), "{report}");

        let esp = out.path().join(format!("esp.{image_type}"));
        let grub_cfg = out.path().join(format!("grub.{image_type}"));
        let disk_info = out.path().join(format!("info.{image_type}"));
        run(
            "xorriso",
            &[
                "-osirrox",
                "on",
                "-indev",
                iso_arg,
                "-extract",
                "/efiboot.img",
                esp.to_str().unwrap(),
                "-extract",
                "/boot/grub/grub.cfg",
                grub_cfg.to_str().unwrap(),
                "-extract",
                "/.disk/info",
                disk_info.to_str().unwrap(),
            ],
        );
        assert_eq!(std::fs::metadata(&esp).unwrap().len(), 1440 * 1024);
        run("fsck.fat", &["-n", esp.to_str().unwrap()]);
        let listing = run("mdir", &["-i", esp.to_str().unwrap(), "::/EFI/BOOT"]);
        assert!(listing.contains("BOOTX64  EFI"), "{listing}");
        let loader = out.path().join(format!("BOOTX64.{image_type}"));
        run("mcopy", &["-i", esp.to_str().unwrap(), "::/EFI/BOOT/BOOTX64.EFI", loader.to_str().unwrap()]);
        assert_eq!(common::file_sha256(&loader), *grub, "the ESP holds the stored GRUB");

        let text = std::fs::read_to_string(&grub_cfg).unwrap();
        assert_eq!(text.len(), 4096);
        let text = text.trim_end_matches('#');
        assert!(text.starts_with("serial --unit=0 --speed=115200 --parity=no --word=8\n"), "{text}");
        assert!(text.contains("set timeout=0\n"), "{text}");
        assert!(
            text.contains(
                "biosdevname=0 net.ifnames=0 selinux=0 hcheck_reboot0 systemd.log_level=debug console=ttyS0,115200n8\n"
            ),
            "{text}"
        );
        let initrd =
            if image_type.is_cramfs() { "  initrd /cramfs.img\n" } else { "  initrd /bootcd.img /overlay.img\n" };
        assert!(text.contains(initrd), "{text}");
        assert!(std::fs::read_to_string(&disk_info).unwrap().starts_with("PlanetLab BootCD planetlab-f37-x86_64 5.4"));

        let found = bootmedium_media::inspect(&iso, false).unwrap();
        let platforms: Vec<(&str, u16)> =
            found.el_torito.iter().map(|e| (e.platform.as_str(), e.sector_count)).collect();
        assert_eq!(platforms, [("bios", 4), ("uefi", 2880)]);
        let uefi = found.uefi.as_ref().expect("inspect sees the UEFI entry");
        assert_eq!(uefi.esp_image.as_deref(), Some("efiboot.img"));
        assert_eq!(uefi.grub_config.as_deref(), Some(text));
        assert_eq!((uefi.loader.as_str(), uefi.loader_signed, uefi.secure_boot), ("standalone-grub", false, false));
        assert_eq!(uefi.loader_files, ["EFI/BOOT/BOOTX64.EFI"]);

        check_hybrid(&iso, &found, 2880);
    }
}

/// The hybrid MBR as xorriso and sfdisk read it: isohybrid boot code pointing at isolinux.bin,
/// an active type-0 entry over the whole image, and the ESP entry over efiboot.img
/// (`esp_sectors` 512-byte sectors at its El Torito load address).
fn check_hybrid(iso: &std::path::Path, found: &bootmedium_media::Inspection, esp_sectors: u32) {
    let iso_arg = iso.to_str().unwrap();
    // xorriso prints the media summary ("Boot record : El Torito , MBR isohybrid …") on stderr.
    let output = common::run_raw("xorriso", &["-indev", iso_arg, "-report_el_torito", "plain"]);
    let report = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(report.contains("MBR isohybrid"), "xorriso sees no isohybrid MBR:\n{report}");
    assert!(report.contains("isohybrid-suitable"), "{report}");
    let table = run("sfdisk", &["--dump", iso_arg]);
    let image_sectors = std::fs::metadata(iso).unwrap().len() / 512;
    let lines: Vec<&str> = table.lines().filter(|l| l.contains(" : start=")).collect();
    assert_eq!(lines.len(), 2, "{table}");
    let squeeze = |l: &str| l.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(squeeze(lines[0]).ends_with(&format!(": start= 0, size= {image_sectors}, type=0, bootable")), "{table}");
    let efi = found.el_torito.iter().find(|e| e.platform == "uefi").unwrap();
    assert!(
        squeeze(lines[1]).ends_with(&format!(": start= {}, size= {esp_sectors}, type=ef", efi.load_lba * 4)),
        "{table}"
    );
    // The boot code starts isolinux.bin, whose 512-byte sector it records at byte 432.
    let bios = found.el_torito.iter().find(|e| e.platform == "bios").unwrap();
    let head = std::fs::read(iso).unwrap();
    assert_eq!(&head[..432], &std::fs::read(bootmedium_media::DEFAULT_ISOHYBRID_MBR).unwrap()[..432]);
    assert_eq!(u64::from_le_bytes(head[432..440].try_into().unwrap()), u64::from(bios.load_lba) * 4);
    let shown: Vec<(u8, bool, &str, u32, u32)> = found
        .partitions
        .iter()
        .map(|p| (p.number, p.bootable, p.partition_type.as_str(), p.start_lba, p.sectors))
        .collect();
    assert_eq!(shown, [(1, true, "0x00", 0, image_sectors as u32), (2, false, "0xef", efi.load_lba * 4, esp_sectors)]);
}

#[test]
fn signed_shim_media_carry_debians_signed_loaders() {
    let mut request = import_request("planetlab-f37-x86_64", "5.4");
    request.uefi = UefiLoader::SignedShim;
    let imported = import(&request);
    let manifest = imported.reference.manifest();
    assert_eq!(manifest.uefi, UefiLoader::SignedShim);
    assert!(manifest.unsigned_kernels.is_empty(), "Debian's kernel is signed");
    assert!(manifest.secure_boot());

    let out = tempfile::tempdir().unwrap();
    let iso = out.path().join("node.iso");
    imported.reference.prepare(&node_request(ImageType::Iso), &settings()).unwrap().write_to(&iso).unwrap();
    let full = out.path().join("full.iso");
    imported.reference.build_full(&node_request(ImageType::Iso), &settings(), &full).unwrap();
    assert_eq!(file_sha256(&iso), file_sha256(&full), "fast path == full build");

    let esp = out.path().join("esp.img");
    run(
        "xorriso",
        &["-osirrox", "on", "-indev", iso.to_str().unwrap(), "-extract", "/efiboot.img", esp.to_str().unwrap()],
    );
    run("fsck.fat", &["-n", esp.to_str().unwrap()]);
    let esp_len = std::fs::metadata(&esp).unwrap().len();
    assert!(esp_len > 1440 * 1024 && esp_len.is_multiple_of(1024 * 1024), "ESP of {esp_len} bytes");
    for (name, original) in
        [("BOOTX64.EFI", DEFAULT_SHIM), ("grubx64.efi", DEFAULT_SIGNED_GRUB), ("mmx64.efi", DEFAULT_MOK_MANAGER)]
    {
        let copy = out.path().join(name);
        run("mcopy", &["-i", esp.to_str().unwrap(), &format!("::/EFI/BOOT/{name}"), copy.to_str().unwrap()]);
        assert_eq!(file_sha256(&copy), file_sha256(std::path::Path::new(original)), "{name}");
    }
    let found = bootmedium_media::inspect(&iso, false).unwrap();
    let uefi = found.uefi.as_ref().unwrap();
    assert_eq!(
        (uefi.loader.as_str(), uefi.loader_signed, uefi.kernel_signed, uefi.secure_boot),
        ("signed-shim", true, Some(true), true)
    );
    assert_eq!(uefi.loader_files, ["EFI/BOOT/BOOTX64.EFI", "EFI/BOOT/grubx64.efi", "EFI/BOOT/mmx64.efi"]);
    check_hybrid(&iso, &found, (esp_len / 512) as u32);

    // USB: the same loaders on the volume itself.
    let usb = out.path().join("node.usb");
    imported.reference.prepare(&node_request(ImageType::Usb), &settings()).unwrap().write_to(&usb).unwrap();
    let listing = run("mdir", &["-i", usb.to_str().unwrap(), "::/EFI/BOOT"]);
    for name in ["BOOTX64  EFI", "grubx64.efi", "mmx64.efi"] {
        assert!(listing.contains(name), "{name} missing:\n{listing}");
    }
    let uefi = bootmedium_media::inspect(&usb, false).unwrap().uefi.unwrap();
    assert_eq!((uefi.loader.as_str(), uefi.secure_boot, uefi.esp_image), ("signed-shim", true, None));
}

#[test]
fn usb_media_boot_uefi_from_their_fat_volume() {
    let imported = import(&import_request("planetlab-f37-x86_64", "5.4"));
    let grub = imported.reference.manifest().inputs.grub_efi.clone();
    let out = tempfile::tempdir().unwrap();
    for image_type in [ImageType::Usb, ImageType::UsbPartition, ImageType::UsbCramfs] {
        let template = imported.reference.manifest().template(None, image_type).unwrap();
        let slot = template.slots.iter().find(|s| s.kind == SlotKind::GrubConfig).expect("a grub.cfg slot");
        assert_eq!((slot.path.as_str(), slot.size, slot.fill), ("boot/grub/grub.cfg", 4096, b'#'));

        let image = out.path().join(format!("node.{image_type}"));
        imported.reference.prepare(&node_request(image_type), &settings()).unwrap().write_to(&image).unwrap();
        let full = out.path().join(format!("full.{image_type}"));
        imported.reference.build_full(&node_request(image_type), &settings(), &full).unwrap();
        assert_eq!(file_sha256(&image), file_sha256(&full), "{image_type}: fast path == full build");

        // mtools addresses a partition's volume with @@OFFSET.
        let found = bootmedium_media::inspect(&image, false).unwrap();
        let volume = match found.partition_offset {
            Some(offset) => format!("{}@@{offset}", image.display()),
            None => image.display().to_string(),
        };
        let volume_file = out.path().join(format!("volume.{image_type}"));
        let offset = found.partition_offset.unwrap_or(0);
        let bytes = std::fs::read(&image).unwrap();
        std::fs::write(&volume_file, &bytes[offset as usize..]).unwrap();
        run("fsck.fat", &["-n", volume_file.to_str().unwrap()]);
        let listing = run("mdir", &["-i", &volume, "::/EFI/BOOT"]);
        assert!(listing.contains("BOOTX64  EFI"), "{image_type}: {listing}");
        let loader = out.path().join(format!("loader.{image_type}"));
        run("mcopy", &["-i", &volume, "::/EFI/BOOT/BOOTX64.EFI", loader.to_str().unwrap()]);
        assert_eq!(file_sha256(&loader), grub, "{image_type}: the volume holds the stored GRUB");
        let grub_cfg = out.path().join(format!("grub.{image_type}"));
        run("mcopy", &["-i", &volume, "::/boot/grub/grub.cfg", grub_cfg.to_str().unwrap()]);
        let text = std::fs::read_to_string(&grub_cfg).unwrap();
        assert_eq!(text.len(), 4096);
        assert!(text.contains("console=ttyS0,115200n8\n"), "{text}");
        let info = run("mtype", &["-i", &volume, "::/.disk/info"]);
        assert!(info.starts_with("PlanetLab BootCD planetlab-f37-x86_64 5.4"), "{info}");

        let uefi = found.uefi.as_ref().expect("inspect sees the UEFI path");
        assert_eq!((uefi.loader.as_str(), uefi.esp_image.as_deref()), ("standalone-grub", None));
        assert_eq!(uefi.grub_config.as_deref(), Some(text.trim_end_matches('#')));
        if image_type == ImageType::UsbPartition {
            let table = run("sfdisk", &["--dump", image.to_str().unwrap()]);
            assert!(table.contains("start=        2048") && table.contains("type=ef, bootable"), "{table}");
        } else {
            assert!(found.partitions.is_empty(), "{:?}", found.partitions);
        }
    }
}

#[test]
fn a_kernel_without_a_signature_is_named() {
    common::require_tool("sbattach", "sbsigntool");
    let dir = tempfile::tempdir().unwrap();
    let kernel = dir.path().join("vmlinuz.unsigned");
    let mut request = import_request("planetlab-f37-x86_64", "5.4");
    std::fs::copy(&request.kernel, &kernel).unwrap();
    run("sbattach", &["--remove", kernel.to_str().unwrap()]);
    request.variants.push(("unsigned".to_owned(), kernel));
    request.uefi = UefiLoader::SignedShim;
    let imported = import(&request);
    let manifest = imported.reference.manifest();
    assert_eq!(manifest.unsigned_kernels, ["unsigned"]);
    assert!(!manifest.secure_boot(), "one unsigned kernel: not every medium boots under Secure Boot");

    let iso = dir.path().join("unsigned.iso");
    let node = bootmedium_media::MediumRequest { variant: Some("unsigned".to_owned()), ..node_request(ImageType::Iso) };
    imported.reference.prepare(&node, &settings()).unwrap().write_to(&iso).unwrap();
    let uefi = bootmedium_media::inspect(&iso, false).unwrap().uefi.unwrap();
    assert_eq!((uefi.loader_signed, uefi.kernel_signed, uefi.secure_boot), (true, Some(false), false));
}

#[test]
fn bios_only_references_and_missing_signed_loaders() {
    let mut request = import_request("planetlab-f37-x86_64", "5.4");
    request.uefi = UefiLoader::None;
    let imported = import(&request);
    assert!(!imported.reference.manifest().secure_boot());
    let out = tempfile::tempdir().unwrap();
    for image_type in [ImageType::Iso, ImageType::UsbPartition] {
        let template = imported.reference.manifest().template(None, image_type).unwrap();
        assert!(template.slots.iter().all(|s| s.kind != SlotKind::GrubConfig), "{image_type}: no grub.cfg slot");
        let image = out.path().join(format!("node.{image_type}"));
        imported.reference.prepare(&node_request(image_type), &settings()).unwrap().write_to(&image).unwrap();
        let found = bootmedium_media::inspect(&image, false).unwrap();
        assert!(found.uefi.is_none(), "{image_type}: {:?}", found.uefi);
        if image_type == ImageType::Iso {
            assert_eq!(found.el_torito.len(), 1);
            // Still hybrid for BIOS: the MBR has no ESP entry.
            assert_eq!(found.partitions.len(), 1, "{:?}", found.partitions);
        } else {
            assert_ne!(found.partitions[0].partition_type, "0xef");
        }
    }

    let dir = tempfile::tempdir().unwrap();
    let mut request = import_request("planetlab-f37-x86_64", "5.5");
    request.uefi = UefiLoader::SignedShim;
    request.shim = dir.path().join("no-shim.efi");
    let err = ReferenceStore::open(dir.path()).import(&request, &settings(), &mut |_| {}).unwrap_err();
    assert!(matches!(err, MediaError::MissingInput { package: "shim-signed", .. }), "{err}");
    assert!(err.to_string().contains("shim-signed"), "{err}");
    assert!(!dir.path().join("references/families").exists(), "nothing half imported");
}
