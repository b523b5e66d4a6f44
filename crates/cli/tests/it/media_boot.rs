//! Boot tests (docs/media.md §3 "Boot", docs/uefi.md): media made by the real binary from the test reference boot
//! under qemu-system-x86_64 with software emulation (ISOLINUX, SYSLINUX and OVMF fail under KVM
//! on these machines), and the test root's /init reports on the serial line: the node's
//! `/usr/boot/plnode.txt`, `SECUREBOOT:` (the UEFI SecureBoot variable, `none` on BIOS) and
//! `/proc/cmdline` between markers, copied to ttyS0 when the medium's console is graphic; then
//! it powers off.
//!
//! The matrix: every node medium type (iso, usb, usb_partition, iso_cramfs, usb_cramfs) × every
//! firmware (SeaBIOS; OVMF without Secure Boot, booting the default `standalone-grub` reference;
//! OVMF with Microsoft's keys and Secure Boot enforced, booting a reference imported with
//! `--uefi signed-shim`: Debian's signed shim and GRUB and the Debian-signed kernel) × both
//! consoles (serial `--console default`, graphic), because every medium is promised to boot on
//! all three. Each boot shows every plnode.txt line and the command line the loader of that
//! firmware gives: BIOS (ISOLINUX/SYSLINUX) passes `initrd=`, GRUB loads the initrds itself and
//! passes `BOOT_IMAGE=/kernel`; a serial medium has `console=ttyS0,115200n8`, a graphic one no
//! `console=`; the kernel saw Secure Boot enforced exactly under Secure Boot firmware.
//! Beside it:
//! - the hybrid node ISO booted as a disk: on BIOS through its isohybrid MBR; OVMF, following
//!   the UEFI spec's partition discovery (GPT, then El Torito, then MBR), boots such a disk
//!   through its EFI El Torito entry, so a copy whose boot record OVMF does not recognise boots
//!   too, through the 0xEF MBR partition (as firmware that reads only a disk's partitions does);
//! - the unsigned standalone GRUB ISO under Secure Boot: the firmware refuses it, the node never
//!   starts (the negative case, so the Secure Boot cells cannot pass on firmware that does not
//!   enforce);
//! - a generic serial ISO shows no node file; the generic graphic usb template reports on ttyS0.
//!
//! The cramfs types need a kernel that mounts a cramfs initrd as its root (CONFIG_BLK_DEV_RAM=y
//! and CONFIG_CRAMFS=y); Debian's kernels, and so the test reference's, build neither in. Their
//! cells (serial console, every firmware) check what the medium and its loader are responsible
//! for: the kernel got the whole `cramfs.img` as its initial RAM disk (the `RAMDISK:` range is the
//! cramfs slot's size), with the loader's command line, and under Secure Boot the signed chain
//! started it; then this kernel fails to mount it (`VFS: Cannot open root device "ram0"`), as
//! asserted. The graphic cramfs cells are left out: with the kernel's messages on the screen and
//! no init running, nothing would reach the serial line to check.
//! - a signed-shim medium whose kernel carries no signature (a variant made with `sbattach
//!   --remove`) under Secure Boot: shim and GRUB start, GRUB refuses the kernel.
//!
//! One table drives one loop; the boots run a few at once (`run_boots`), and every failing cell
//! is reported with its telling lines and console tail before the test fails.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::support::media::{
    Boot, Booted, DataDir, Drive, Ending, FAMILY, Firmware, PLNODE, qemu_exclusive, require_tool, run_boots, section,
};

/// The reference imported with `--uefi signed-shim` (the same kernel and root as FAMILY).
const SIGNED_FAMILY: &str = "planetlab-f37-x86_64-signed";

/// Extra kernel arguments of every medium. `panic=1`: a kernel that panics reboots, which ends
/// QEMU (`-no-reboot`) at once instead of at the boot timeout.
const KARGS: [&str; 3] = ["hcheck_reboot0", "systemd.log_level=debug", "panic=1"];

/// The arguments every medium's loader configuration gives the kernel.
const FIXED_ARGS: [&str; 5] = ["root=/dev/ram0", "rw", "biosdevname=0", "net.ifnames=0", "selinux=0"];

const SERIAL_ARG: &str = "console=ttyS0,115200n8";
const GRAPHIC_REPORT: &str = "REPORT: console is graphic, report copied to ttyS0";

/// What OVMF prints when Secure Boot refuses a loader (`BdsDxe: failed to load Boot0001 …:
/// Access Denied`); it then waits in its boot manager.
const REFUSED: &str = "Access Denied";

/// Texts after which a boot cannot succeed any more: the firmware refused or found no loader
/// (OVMF falls back to its shell, or, under Secure Boot, which refuses that shell, says so;
/// SeaBIOS retries every minute), or GRUB failed to its prompt.
const DEAD_ENDS: [&str; 5] =
    [REFUSED, "Shell> ", "No bootable option or device was found", "No bootable device", "grub> "];

/// What Debian's signed GRUB says when shim does not trust the kernel's signature (it then
/// waits in its menu).
const BAD_KERNEL_SIGNATURE: &str = "error: bad shim signature.";

/// Console lines worth quoting from a failed boot: the firmware's and loaders' errors, the
/// command line the kernel got, and why it could not start the init.
const TELLING: [&str; 8] = [
    "BdsDxe: failed",
    "error:",
    "Command line:",
    "Initramfs unpacking failed",
    "Cannot open root device",
    "Kernel panic",
    "Secure boot",
    "Boot failed",
];

/// The node medium types and how each is attached.
const TYPES: [(&str, Drive); 5] = [
    ("iso", Drive::Cdrom),
    ("usb", Drive::Disk),
    ("usb_partition", Drive::Disk),
    ("iso_cramfs", Drive::Cdrom),
    ("usb_cramfs", Drive::Disk),
];
const FIRMWARES: [Firmware; 3] = [Firmware::Bios, Firmware::Uefi, Firmware::UefiSecureBoot];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Console {
    /// `--console default`: ttyS0 at 115200 for the loader and the kernel.
    Serial,
    /// No `--console`: the screen.
    Graphic,
}
const CONSOLES: [Console; 2] = [Console::Serial, Console::Graphic];

impl fmt::Display for Console {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Console::Serial => "serial",
            Console::Graphic => "graphic",
        })
    }
}

/// What a cell's boot must show.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// A node medium's whole report.
    Node { console: Console, cramfs: bool },
    /// A cramfs medium (serial console) under a kernel without cramfs: its `cramfs.img`, of
    /// `ramdisk_bytes` (the slot), handed to the kernel as its RAM disk, which it cannot mount.
    CramfsHandoff { ramdisk_bytes: u64 },
    /// Shim and the signed GRUB start under Secure Boot, GRUB refuses the unsigned kernel.
    KernelRefused,
    /// A generic medium: a report without a node file.
    Generic { console: Console },
    /// Secure Boot firmware refuses the loader: no report at all.
    Refused,
}

struct Cell {
    boot: Boot,
    expect: Expect,
}

/// The reference a firmware boots: Secure Boot needs the signed chain.
fn family_for(firmware: Firmware) -> &'static str {
    if firmware == Firmware::UefiSecureBoot { SIGNED_FAMILY } else { FAMILY }
}

/// `bootmedium build` of a `family` `image_type` medium (a node one with `node`) with KARGS.
fn build(data: &DataDir, family: &str, image_type: &str, console: Console, node: Option<&Path>) -> PathBuf {
    let name = format!("{family}-{image_type}-{console}-{}.img", if node.is_some() { "node" } else { "generic" });
    let out = data.path().join(name);
    let mut args = vec!["build", "--family", family, "--type", image_type, "--output", out.to_str().unwrap()];
    if console == Console::Serial {
        args.extend(["--console", "default"]);
    }
    for karg in KARGS {
        args.extend(["--karg", karg]);
    }
    if let Some(node) = node {
        args.extend(["--node-config", node.to_str().unwrap()]);
    }
    data.ok(&args);
    out
}

/// A copy of `iso` at `copy` with the El Torito boot record's identifier changed, so that UEFI
/// firmware finds no El Torito entry and looks at the MBR's partitions instead.
fn without_el_torito(iso: &Path, copy: &Path) -> PathBuf {
    use std::os::unix::fs::FileExt;
    // El Torito: the boot record volume descriptor is sector 17 (type 0, "CD001", version 1,
    // then the boot system identifier).
    const AT: u64 = 17 * 2048;
    std::fs::copy(iso, copy).unwrap();
    let file = std::fs::OpenOptions::new().read(true).write(true).open(copy).unwrap();
    let mut head = [0u8; 30];
    file.read_exact_at(&mut head, AT).unwrap();
    assert_eq!(&head[..7], b"\0CD001\x01", "no boot record in sector 17 of {}", iso.display());
    assert_eq!(&head[7..], b"EL TORITO SPECIFICATION", "no El Torito boot record in {}", iso.display());
    file.write_all_at(b"X", AT + 7).unwrap();
    copy.to_owned()
}

/// What is wrong with a cell's boot (nothing: the cell passes).
fn problems(cell: &Cell, booted: &Booted) -> Vec<String> {
    let output = &booted.output;
    let mut problems = Vec::new();
    let (console, node, cramfs) = match cell.expect {
        Expect::Refused => {
            if booted.ending != Ending::Stopped(REFUSED.to_owned()) {
                problems.push(format!("ended {:?}, not refused with {REFUSED:?}", booted.ending));
            }
            if !output.contains("failed to load Boot") {
                problems.push("the firmware did not say it failed to load the boot option".to_owned());
            }
            if output.contains("PLNODE-BEGIN") || output.contains("Linux version") {
                problems.push("the kernel started".to_owned());
            }
            return problems;
        }
        Expect::KernelRefused => {
            if booted.ending != Ending::Stopped(BAD_KERNEL_SIGNATURE.to_owned()) {
                problems.push(format!("ended {:?}, not with GRUB's {BAD_KERNEL_SIGNATURE:?}", booted.ending));
            }
            if output.contains("Linux version") || output.contains("EFI stub:") {
                problems.push("the kernel started".to_owned());
            }
            return problems;
        }
        Expect::CramfsHandoff { ramdisk_bytes } => return cramfs_problems(cell, booted, ramdisk_bytes),
        Expect::Node { console, cramfs } => (console, true, cramfs),
        Expect::Generic { console } => (console, false, false),
    };
    if booted.ending != Ending::PoweredOff {
        problems.push(format!("ended {:?}, not in the init's power-off", booted.ending));
    }
    match section(output, "PLNODE-BEGIN", "PLNODE-END") {
        None => problems.push("no PLNODE-BEGIN … PLNODE-END report".to_owned()),
        Some(shown) if node => {
            for line in PLNODE.lines().filter(|line| !shown.iter().any(|l| l.trim_end() == *line)) {
                problems.push(format!("{line:?} not on the console"));
            }
        }
        Some(shown) => {
            if shown.iter().any(|l| !l.trim().is_empty()) {
                problems.push(format!("a generic medium shows a node file: {shown:?}"));
            }
        }
    }
    let secureboot = output.lines().find_map(|l| l.trim_end().strip_prefix("SECUREBOOT: "));
    let expected = match cell.boot.firmware {
        Firmware::Bios => "none",
        Firmware::Uefi => "0",
        Firmware::UefiSecureBoot => "1",
    };
    if secureboot != Some(expected) {
        problems.push(format!("SECUREBOOT is {secureboot:?}, not {expected:?}"));
    }
    let Some(cmdline) = section(output, "CMDLINE-BEGIN", "CMDLINE-END") else {
        problems.push("no CMDLINE-BEGIN … CMDLINE-END report".to_owned());
        return problems;
    };
    let cmdline = cmdline.join(" ");
    let args: Vec<&str> = cmdline.split_whitespace().collect();
    let mut want: Vec<&str> = FIXED_ARGS.iter().chain(&KARGS).copied().collect();
    if !args.iter().any(|a| a.starts_with("ramdisk_size=")) {
        problems.push(format!("no ramdisk_size= in {cmdline:?}"));
    }
    match console {
        Console::Serial => want.push(SERIAL_ARG),
        Console::Graphic => {
            if let Some(arg) = args.iter().find(|a| a.starts_with("console=")) {
                problems.push(format!("a graphic medium has {arg}"));
            }
            if !output.lines().any(|l| l.trim_end() == GRAPHIC_REPORT) {
                problems.push(format!("no {GRAPHIC_REPORT:?} line"));
            }
        }
    }
    if cell.boot.firmware.is_uefi() {
        // GRUB loads the initrds itself and names the kernel it booted.
        want.push("BOOT_IMAGE=/kernel");
        if let Some(arg) = args.iter().find(|a| a.starts_with("initrd=")) {
            problems.push(format!("GRUB passed {arg}"));
        }
    } else {
        want.push(if cramfs { "initrd=cramfs.img" } else { "initrd=bootcd.img,overlay.img" });
    }
    for arg in want.into_iter().filter(|arg| !args.contains(arg)) {
        problems.push(format!("{arg} not on the command line {cmdline:?}"));
    }
    problems
}

/// What a cramfs cell's boot must show; see the module documentation.
fn cramfs_problems(cell: &Cell, booted: &Booted, ramdisk_bytes: u64) -> Vec<String> {
    let output = &booted.output;
    let mut problems = Vec::new();
    if booted.ending != Ending::PoweredOff {
        problems.push(format!("ended {:?}, not in the kernel's panic=1 reboot", booted.ending));
    }
    // `[    0.000000] RAMDISK: [mem 0x1d35f000-0x1e10efff]`: the initrd the loader placed.
    let range = output.lines().find_map(|l| l.split_once("RAMDISK: [mem ").map(|(_, r)| r.trim_end_matches(']')));
    let size = range.and_then(|r| {
        let (start, end) = r.split_once('-')?;
        let hex = |v: &str| u64::from_str_radix(v.trim_start_matches("0x"), 16).ok();
        Some(hex(end)? + 1 - hex(start)?)
    });
    if size != Some(ramdisk_bytes) {
        problems.push(format!("RAM disk of {size:?} bytes ({range:?}), not the cramfs slot's {ramdisk_bytes}"));
    }
    let cmdline = output.lines().find_map(|l| l.split_once("Command line: ").map(|(_, c)| c.trim_end()));
    let args: Vec<&str> = cmdline.unwrap_or_default().split_whitespace().collect();
    let mut want: Vec<&str> = FIXED_ARGS.iter().chain(&KARGS).copied().collect();
    want.push(SERIAL_ARG);
    want.push(if cell.boot.firmware.is_uefi() { "BOOT_IMAGE=/kernel" } else { "initrd=cramfs.img" });
    for arg in want.into_iter().filter(|arg| !args.contains(arg)) {
        problems.push(format!("{arg} not on the kernel's command line {cmdline:?}"));
    }
    let secure_boot = match cell.boot.firmware {
        Firmware::Bios => None,
        Firmware::Uefi => Some("secureboot: Secure boot disabled"),
        Firmware::UefiSecureBoot => Some("secureboot: Secure boot enabled"),
    };
    if let Some(line) = secure_boot.filter(|line| !output.contains(line)) {
        problems.push(format!("no {line:?}"));
    }
    if !output.contains("VFS: Cannot open root device \"ram0\"") {
        problems.push("the kernel did not fail the way a kernel without cramfs does".to_owned());
    }
    problems
}

#[test]
fn every_medium_boots_on_bios_uefi_and_secure_boot() {
    require_tool("qemu-system-x86_64", "qemu-system-x86");
    // Its runner fills the machine with boots: no other module's boot beside them.
    let _qemu = qemu_exclusive();
    require_tool("sbattach", "sbsigntool");
    let data = DataDir::imported();
    // The signed reference also gets the same kernel with its signature removed, as a variant.
    let unsigned_kernel = data.path().join("vmlinuz.unsigned");
    std::fs::copy(crate::support::media::test_reference().join("kernel"), &unsigned_kernel).unwrap();
    let status = std::process::Command::new("sbattach").arg("--remove").arg(&unsigned_kernel).status().unwrap();
    assert!(status.success(), "sbattach --remove failed");
    let variant = format!("unsigned={}", unsigned_kernel.display());
    data.import(SIGNED_FAMILY, &["--uefi", "signed-shim", "--variant", &variant]);
    let plnode = data.plnode();
    // The cramfs slot: what the loaders must hand the kernel whole.
    let references: serde_json::Value = serde_json::from_str(&data.ok(&["reference", "list", "--json"])).unwrap();
    let cramfs_slot = |family: &str| {
        let manifest = references.as_array().unwrap().iter().find(|m| m["family"] == family).unwrap();
        manifest["slot_sizes"]["cramfs"].as_u64().unwrap()
    };

    let built = Instant::now();
    let mut media: HashMap<(&str, &str, Console), PathBuf> = HashMap::new();
    for family in [FAMILY, SIGNED_FAMILY] {
        for (image_type, _) in TYPES {
            for console in CONSOLES {
                if image_type.ends_with("_cramfs") && console == Console::Graphic {
                    continue;
                }
                media.insert((family, image_type, console), build(&data, family, image_type, console, Some(&plnode)));
            }
        }
    }
    let generic_iso = build(&data, FAMILY, "iso", Console::Serial, None);
    let generic_usb = build(&data, FAMILY, "usb", Console::Graphic, None);
    let unsigned_iso = data.path().join("unsigned-kernel.iso");
    let mut args = vec!["build", "--family", SIGNED_FAMILY, "--type", "iso", "--variant", "unsigned"];
    args.extend(["--console", "default", "--node-config", plnode.to_str().unwrap()]);
    args.extend(["--output", unsigned_iso.to_str().unwrap()]);
    data.ok(&args);
    eprintln!("built {} media in {:.1} s", media.len() + 3, built.elapsed().as_secs_f64());

    let mut cells = Vec::new();
    let mut cell = |name: String, image: &Path, drive: Drive, firmware: Firmware, expect: Expect| {
        let vars = data.path().join(format!("OVMF_VARS-{}.fd", cells.len()));
        let mut boot = Boot::new(&name, image, drive, firmware, &vars);
        boot.stop_at = DEAD_ENDS.iter().chain(&[BAD_KERNEL_SIGNATURE]).map(|t| (*t).to_owned()).collect();
        cells.push(Cell { boot, expect });
    };
    for (image_type, drive) in TYPES {
        for firmware in FIRMWARES {
            for console in CONSOLES {
                let Some(image) = media.get(&(family_for(firmware), image_type, console)) else { continue };
                let name = format!("node {image_type}, {console}, {}", firmware.name());
                let expect = if image_type.ends_with("_cramfs") {
                    Expect::CramfsHandoff { ramdisk_bytes: cramfs_slot(family_for(firmware)) }
                } else {
                    Expect::Node { console, cramfs: false }
                };
                cell(name, image, drive, firmware, expect);
            }
        }
    }
    for firmware in FIRMWARES {
        let image = &media[&(family_for(firmware), "iso", Console::Serial)];
        let name = format!("node iso as a disk (hybrid), serial, {}", firmware.name());
        cell(name, image, Drive::Disk, firmware, Expect::Node { console: Console::Serial, cramfs: false });
    }
    for firmware in [Firmware::Uefi, Firmware::UefiSecureBoot] {
        let image = &media[&(family_for(firmware), "iso", Console::Serial)];
        let copy = without_el_torito(image, &data.path().join(format!("no-el-torito-{}.iso", family_for(firmware))));
        let name = format!("node iso as a disk, El Torito hidden (0xEF partition), serial, {}", firmware.name());
        cell(name, &copy, Drive::Disk, firmware, Expect::Node { console: Console::Serial, cramfs: false });
    }
    let unsigned = &media[&(FAMILY, "iso", Console::Serial)];
    cell(
        "unsigned node iso on Secure Boot".to_owned(),
        unsigned,
        Drive::Cdrom,
        Firmware::UefiSecureBoot,
        Expect::Refused,
    );
    cell(
        "signed-shim node iso, unsigned kernel, on Secure Boot".to_owned(),
        &unsigned_iso,
        Drive::Cdrom,
        Firmware::UefiSecureBoot,
        Expect::KernelRefused,
    );
    let serial = Expect::Generic { console: Console::Serial };
    cell("generic iso, serial, BIOS".to_owned(), &generic_iso, Drive::Cdrom, Firmware::Bios, serial);
    let graphic = Expect::Generic { console: Console::Graphic };
    cell("generic usb, graphic, BIOS".to_owned(), &generic_usb, Drive::Disk, Firmware::Bios, graphic);

    // BOOT_MATRIX_ONLY=TEXT boots only the cells whose name contains TEXT (to look at one).
    if let Ok(only) = std::env::var("BOOT_MATRIX_ONLY") {
        let all = cells.len();
        cells.retain(|c| c.boot.name.contains(&only));
        eprintln!("BOOT_MATRIX_ONLY={only:?}: {} of {all} cells", cells.len());
    }
    let started = Instant::now();
    let boots: Vec<Boot> = cells.iter().map(|c| c.boot.clone()).collect();
    let results = run_boots(&boots);
    let wall = started.elapsed();
    let total: f64 = results.iter().map(|r| r.took.as_secs_f64()).sum();

    let mut failures = Vec::new();
    for (cell, booted) in cells.iter().zip(&results) {
        let found = problems(cell, booted);
        let verdict = if found.is_empty() { "ok" } else { "FAIL" };
        eprintln!("{verdict:4} {:5.1} s  {}", booted.took.as_secs_f64(), cell.boot.name);
        if !found.is_empty() {
            // The lines that usually say why, wherever they are (the tail may start after them).
            let why: Vec<&str> = booted.output.lines().filter(|l| TELLING.iter().any(|t| l.contains(t))).collect();
            failures.push(format!(
                "{}:\n  {}\n  telling lines:\n{}\n  console tail:\n{}",
                cell.boot.name,
                found.join("\n  "),
                why.join("\n"),
                booted.tail(4000)
            ));
        }
    }
    eprintln!(
        "boot matrix: {} boots in {:.1} s wall ({total:.1} s of boots, up to {} at once); {} failed",
        cells.len(),
        wall.as_secs_f64(),
        std::thread::available_parallelism().map_or(2, |n| n.get()).max(2),
        failures.len()
    );
    assert!(failures.is_empty(), "{} of {} boots failed:\n\n{}", failures.len(), cells.len(), failures.join("\n\n"));
}
