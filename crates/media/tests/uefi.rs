//! UEFI boot of the ISO types (UEFI.md), checked with independent tools: xorriso sees two El
//! Torito entries (BIOS and UEFI), the ESP extracted from a node ISO passes `fsck.fat -n` and
//! `mdir` lists `EFI/BOOT/BOOTX64.EFI` in it, the node's `boot/grub/grub.cfg` carries its
//! console and kernel arguments, `inspect` reports the UEFI path, and the GRUB made at import is
//! the same bytes every time.
//! (The OVMF boot itself is in the cli crate's media_boot.rs.)

mod common;

use bootmedium_media::{ImageType, SlotKind};
use common::{import, import_request, node_request, run, settings};

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
        let uefi = found.uefi.expect("inspect sees the UEFI entry");
        assert_eq!(uefi.esp_image.as_deref(), Some("efiboot.img"));
        assert_eq!(uefi.grub_config.as_deref(), Some(text));
    }
}
