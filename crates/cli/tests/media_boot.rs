//! Boot tests (issue 4 "Boot tests in CI", MEDIA.md §3): media made by the real binary from
//! the test reference boot under qemu-system-x86_64 with software emulation (ISOLINUX and
//! SYSLINUX fail under KVM on these machines), and the test root's /init prints
//! `/usr/boot/plnode.txt` and `/proc/cmdline` between markers on ttyS0, then powers off.
//!
//! - node iso, usb and usb_partition media with a serial console and extra kernel arguments
//!   show every plnode.txt line and the expected arguments; the same node iso does so on UEFI
//!   (OVMF) too, booted by GRUB from its EFI El Torito entry, beside the BIOS boots;
//! - a generic medium with a serial console shows no node file;
//! - the generic usb template (graphic console: nothing on the serial line) boots to /init's
//!   power-off, which ends QEMU.

mod media_support;

use std::path::{Path, PathBuf};

use std::time::Duration;

use media_support::{DataDir, FAMILY, PLNODE, between, boot, boot_uefi, require_tool};

const KARGS: [&str; 2] = ["hcheck_reboot0", "systemd.log_level=debug"];

fn check_node_boot(name: &str, output: &str) {
    let node = between(output, "PLNODE-BEGIN", "PLNODE-END");
    for line in PLNODE.lines() {
        assert!(node.iter().any(|l| l.trim_end() == line), "{name}: {line:?} missing from the console:\n{output}");
    }
    let cmdline = between(output, "CMDLINE-BEGIN", "CMDLINE-END").join(" ");
    let args: Vec<&str> = cmdline.split_whitespace().collect();
    for expected in
        ["biosdevname=0", "net.ifnames=0", "selinux=0", KARGS[0], KARGS[1], "console=ttyS0,115200n8", "root=/dev/ram0"]
    {
        assert!(args.contains(&expected), "{name}: {expected} not on the command line {cmdline:?}");
    }
    assert!(args.iter().any(|a| a.starts_with("ramdisk_size=")), "{cmdline}");
    if name.contains("UEFI") {
        // GRUB loads the initrds itself and names the kernel it booted.
        assert!(args.contains(&"BOOT_IMAGE=/kernel"), "{name}: {cmdline}");
        assert!(!cmdline.contains("initrd="), "{name}: {cmdline}");
    } else {
        assert!(args.contains(&"initrd=bootcd.img,overlay.img"), "{cmdline}");
    }
}

fn build(data: &DataDir, image_type: &str, node: Option<&Path>, serial: bool, name: &str) -> PathBuf {
    let out = data.path().join(name);
    let mut args = vec!["build", "--family", FAMILY, "--type", image_type, "--output", out.to_str().unwrap()];
    if serial {
        args.extend(["--console", "default"]);
        for karg in KARGS {
            args.extend(["--karg", karg]);
        }
    }
    if let Some(node) = node {
        args.extend(["--node-config", node.to_str().unwrap()]);
    }
    data.ok(&args);
    out
}

#[test]
fn node_and_generic_media_boot_under_qemu() {
    require_tool("qemu-system-x86_64", "qemu-system-x86");
    let data = DataDir::imported();
    let plnode = data.plnode();
    let media = [
        ("node iso", build(&data, "iso", Some(&plnode), true, "node.iso"), true),
        ("node usb", build(&data, "usb", Some(&plnode), true, "node.usb"), false),
        ("node usb_partition", build(&data, "usb_partition", Some(&plnode), true, "node.usbp"), false),
        ("generic iso, serial", build(&data, "iso", None, true, "generic-serial.iso"), true),
        ("generic usb", build(&data, "usb", None, false, "generic.usb"), false),
        ("node iso, UEFI", data.path().join("node.iso"), true),
    ];
    let vars = data.path().join("OVMF_VARS.fd");
    let results: Vec<(String, Duration)> = std::thread::scope(|scope| {
        let handles: Vec<_> = media
            .iter()
            .map(|(name, image, cdrom)| {
                let vars = &vars;
                scope.spawn(
                    move || if name.contains("UEFI") { boot_uefi(image, *cdrom, vars) } else { boot(image, *cdrom) },
                )
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for ((name, _, _), (output, elapsed)) in media.iter().zip(&results) {
        eprintln!("{name}: booted to power-off in {:.1} s", elapsed.as_secs_f64());
        match *name {
            "generic iso, serial" => {
                assert!(between(output, "PLNODE-BEGIN", "PLNODE-END").is_empty(), "{name}: a node file?\n{output}");
                let cmdline = between(output, "CMDLINE-BEGIN", "CMDLINE-END").join(" ");
                assert!(cmdline.contains("selinux=0 hcheck_reboot0 systemd.log_level=debug console=ttyS0,115200n8"));
            }
            "generic usb" => assert!(!output.contains("PLNODE-BEGIN"), "graphic console: nothing on ttyS0"),
            _ => check_node_boot(name, output),
        }
    }
}
