//! Boot tests (issue 4 "Boot tests in CI", MEDIA.md §3): media made by the real binary from
//! the test reference boot under qemu-system-x86_64 with software emulation (ISOLINUX and
//! SYSLINUX fail under KVM on these machines), and the test root's /init prints
//! `/usr/boot/plnode.txt` and `/proc/cmdline` between markers on ttyS0, then powers off.
//!
//! - node iso, usb and usb_partition media with a serial console and extra kernel arguments
//!   show every plnode.txt line and the expected arguments;
//! - a generic medium with a serial console shows no node file;
//! - the generic usb template (graphic console: nothing on the serial line) boots to /init's
//!   power-off, which ends QEMU.

mod media_support;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use media_support::{DataDir, FAMILY, PLNODE, require_tool};

/// One boot may take this long (a boot takes 6–12 s alone under TCG; five run at once).
const BOOT_TIMEOUT: Duration = Duration::from_secs(180);

const KARGS: [&str; 2] = ["hcheck_reboot0", "systemd.log_level=debug"];

/// Boots an image and returns the serial console output (without `\r`) and the time taken.
fn boot(image: &Path, cdrom: bool) -> (String, Duration) {
    let mut command = Command::new("qemu-system-x86_64");
    command.args(["-accel", "tcg", "-m", "512", "-nographic", "-serial", "mon:stdio", "-no-reboot", "-net", "none"]);
    if cdrom {
        command.arg("-cdrom").arg(image).args(["-boot", "d"]);
    } else {
        command.arg("-drive").arg(format!("file={},format=raw,snapshot=on", image.display()));
    }
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting qemu-system-x86_64");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.read_to_end(&mut bytes);
        bytes
    });
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > BOOT_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let elapsed = started.elapsed();
    let output = String::from_utf8_lossy(&reader.join().unwrap()).replace('\r', "");
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    let tail: String = output.chars().rev().take(3000).collect::<Vec<_>>().into_iter().rev().collect();
    match status {
        Some(s) if s.success() => (output, elapsed),
        Some(s) => panic!("{}: qemu failed ({s}): {stderr}\n{tail}", image.display()),
        None => panic!("{}: no power-off within {BOOT_TIMEOUT:?}; console tail:\n{tail}", image.display()),
    }
}

/// The lines between two marker lines.
fn between<'a>(output: &'a str, begin: &str, end: &str) -> Vec<&'a str> {
    let lines: Vec<&str> = output.lines().collect();
    let start = lines.iter().position(|l| l.trim_end() == begin).unwrap_or_else(|| panic!("no {begin}:\n{output}"));
    let stop = start
        + lines[start..].iter().position(|l| l.trim_end() == end).unwrap_or_else(|| panic!("no {end}:\n{output}"));
    lines[start + 1..stop].to_vec()
}

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
    assert!(args.contains(&"initrd=bootcd.img,overlay.img"), "{cmdline}");
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
    ];
    let results: Vec<(String, Duration)> = std::thread::scope(|scope| {
        let handles: Vec<_> = media.iter().map(|(_, image, cdrom)| scope.spawn(move || boot(image, *cdrom))).collect();
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
