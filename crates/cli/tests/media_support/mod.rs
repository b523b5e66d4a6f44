//! Shared harness of the image-command tests (`media_cli.rs`, `media_boot.rs`): the test
//! reference from `scripts/make-test-reference.sh`, a data directory made by the real binary's
//! `init` with the reference's fake credentials, and the real binary.
//!
//! A missing tool or package fails the test naming the Debian package; nothing is skipped.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

#[path = "../../../../tests/support/tools.rs"]
mod tools;
pub use tools::{require_tool, test_reference};

pub const BIN: &str = env!("CARGO_BIN_EXE_bootmedium");
pub const FAMILY: &str = "planetlab-f37-x86_64";
pub const VERSION: &str = "5.4";
/// A node configuration as GetBootMedium writes it (PLC_SPEC §9.3).
pub const PLNODE: &str = "NODE_ID=\"4711\"\nNODE_KEY=\"q8mCz0u3pWkP2Hn4Jx7Lr1Vb6Tg9Ys5Dd0Fh3Ke8NwA\"\n\
KEY_RENEWAL_DATE=\"2026/11/25 at 14:00 +0000\"\nNET_DEVICE=\"52:54:00:12:34:56\"\nIP_METHOD=\"static\"\n\
IP_ADDRESS=\"192.0.2.17\"\nIP_GATEWAY=\"192.0.2.1\"\nIP_NETMASK=\"255.255.255.0\"\nIP_NETADDR=\"192.0.2.0\"\n\
IP_BROADCASTADDR=\"192.0.2.255\"\nIP_DNS1=\"192.0.2.53\"\nIP_DNS2=\"\"\nHOST_NAME=\"node17\"\n\
DOMAIN_NAME=\"example.org\"\n";

/// A data directory initialised by the binary, with the test credentials in place.
pub struct DataDir {
    pub dir: tempfile::TempDir,
}

impl DataDir {
    pub fn new() -> DataDir {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir { dir };
        data.ok(&["init", "--plc-name", "PlanetLab Test", "--admin-email", "a@example.org", "--admin-password", "pw"]);
        std::fs::create_dir(data.path().join("boot")).unwrap();
        for file in ["cacert.pem", "pubring.gpg"] {
            std::fs::copy(test_reference().join(file), data.path().join("boot").join(file)).unwrap();
        }
        data
    }

    /// A data directory with the test reference imported as FAMILY VERSION.
    pub fn imported() -> DataDir {
        require_tool("syslinux", "syslinux");
        require_tool("mcopy", "mtools");
        let data = DataDir::new();
        let reference = test_reference();
        let (kernel, initrd) = (reference.join("kernel"), reference.join("bootcd.img"));
        data.ok(&[
            "reference",
            "import",
            "--family",
            FAMILY,
            "--version",
            VERSION,
            "--kernel",
            kernel.to_str().unwrap(),
            "--initrd",
            initrd.to_str().unwrap(),
        ]);
        data
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `bootmedium --data-dir DIR ARGS`.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .arg("--data-dir")
            .arg(self.path())
            .args(args)
            .env_remove("BOOTMEDIUM_DATABASE_URL")
            .env_remove("RUST_BACKTRACE")
            .stdin(Stdio::null())
            .output()
            .expect("running bootmedium")
    }

    /// Like [`DataDir::run`], requiring success; returns stdout as text.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "bootmedium {args:?} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Like [`DataDir::run`], requiring failure; returns stderr as text.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "bootmedium {args:?} should have failed");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// Writes PLNODE into the data directory and returns its path.
    pub fn plnode(&self) -> PathBuf {
        let path = self.path().join("plnode.txt");
        std::fs::write(&path, PLNODE).unwrap();
        path
    }
}

/// One boot may take this long (a boot takes 6–12 s alone under TCG; five run at once).
pub const BOOT_TIMEOUT: Duration = Duration::from_secs(180);

/// Boots an image and returns the serial console output (without `\r`) and the time taken.
pub fn boot(image: &Path, cdrom: bool) -> (String, Duration) {
    boot_with(image, cdrom, &["-net", "none"], &[])
}

/// OVMF in Debian 12's package ovmf: the 4 MiB flash layout (code read-only, variables copied).
const OVMF_CODE: &str = "/usr/share/OVMF/OVMF_CODE_4M.fd";
const OVMF_VARS: &str = "/usr/share/OVMF/OVMF_VARS_4M.fd";

/// [`boot`] on UEFI firmware (OVMF, q35, TCG KVM fails for OVMF on these machines);
/// `vars` is where the copy of OVMF's variable store goes.
pub fn boot_uefi(image: &Path, cdrom: bool, vars: &Path) -> (String, Duration) {
    require_tool("qemu-system-x86_64", "qemu-system-x86");
    assert!(Path::new(OVMF_CODE).is_file(), "{OVMF_CODE} missing: apt-get install ovmf");
    std::fs::copy(OVMF_VARS, vars).expect("copying OVMF's variable store");
    let firmware = [
        "-machine".to_owned(),
        "q35".to_owned(),
        "-drive".to_owned(),
        format!("if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}"),
        "-drive".to_owned(),
        format!("if=pflash,format=raw,unit=1,file={}", vars.display()),
    ];
    boot_with(image, cdrom, &["-net", "none"], &firmware)
}

/// Boots an image with a virtio network card on the host's tap device `tap` (which must exist;
/// see `node_support::Tap`), the card's MAC address `mac`.
pub fn boot_on_tap(image: &Path, cdrom: bool, tap: &str, mac: &str) -> (String, Duration) {
    let netdev = format!("tap,id=net0,ifname={tap},script=no,downscript=no");
    let device = format!("virtio-net-pci,netdev=net0,mac={mac}");
    boot_with(image, cdrom, &["-netdev", &netdev, "-device", &device], &[])
}

/// [`boot`] with `network` as QEMU's network arguments and `firmware` as its machine and
/// firmware arguments (none: SeaBIOS).
fn boot_with(image: &Path, cdrom: bool, network: &[&str], firmware: &[String]) -> (String, Duration) {
    let mut command = Command::new("qemu-system-x86_64");
    command.args(firmware);
    command.args(["-accel", "tcg", "-m", "512", "-nographic", "-serial", "mon:stdio", "-no-reboot"]);
    command.args(network);
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
pub fn between<'a>(output: &'a str, begin: &str, end: &str) -> Vec<&'a str> {
    let lines: Vec<&str> = output.lines().collect();
    let start = lines.iter().position(|l| l.trim_end() == begin).unwrap_or_else(|| panic!("no {begin}:\n{output}"));
    let stop = start
        + lines[start..].iter().position(|l| l.trim_end() == end).unwrap_or_else(|| panic!("no {end}:\n{output}"));
    lines[start + 1..stop].to_vec()
}

/// Puts the test reference's credentials and the test reference itself (as `family`, version
/// [`VERSION`]) into an initialised data directory.
pub fn provision(data_dir: &Path, family: &str) {
    require_tool("syslinux", "syslinux");
    require_tool("mcopy", "mtools");
    let reference = test_reference();
    std::fs::create_dir_all(data_dir.join("boot")).unwrap();
    for file in ["cacert.pem", "pubring.gpg"] {
        std::fs::copy(reference.join(file), data_dir.join("boot").join(file)).unwrap();
    }
    let out = Command::new(BIN)
        .arg("--data-dir")
        .arg(data_dir)
        .args(["reference", "import", "--family", family, "--version", VERSION, "--kernel"])
        .arg(reference.join("kernel"))
        .arg("--initrd")
        .arg(reference.join("bootcd.img"))
        .env_remove("BOOTMEDIUM_DATABASE_URL")
        .output()
        .expect("running bootmedium reference import");
    assert!(out.status.success(), "reference import failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// `bootmedium inspect --json --show-key IMAGE`.
pub fn inspect(image: &Path) -> serde_json::Value {
    let out = Command::new(BIN)
        .arg("inspect")
        .arg(image)
        .args(["--json", "--show-key"])
        .env_remove("BOOTMEDIUM_DATABASE_URL")
        .stdin(Stdio::null())
        .output()
        .expect("running bootmedium inspect");
    assert!(out.status.success(), "inspect {} failed: {}", image.display(), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The plnode.txt `inspect` found in a medium.
pub fn node_config(inspected: &serde_json::Value) -> &str {
    inspected["node_config"].as_str().unwrap_or_else(|| panic!("no node config in {inspected}"))
}

/// The value of `NAME="value"` in a plnode.txt.
pub fn plnode_value<'a>(config: &'a str, name: &str) -> &'a str {
    let prefix = format!("{name}=\"");
    let line = config.lines().find_map(|l| l.strip_prefix(prefix.as_str()));
    line.unwrap_or_else(|| panic!("no {name} in {config}")).trim_end_matches('"')
}

/// Boots a node medium, checks that its console shows every line of `node_config` (what
/// `inspect` read from the same image: what the node gets is what was written); returns the
/// kernel command line's arguments and the boot time.
pub fn boot_node_medium(image: &Path, cdrom: bool, node_config: &str) -> (Vec<String>, Duration) {
    let (console, took) = boot(image, cdrom);
    let shown = between(&console, "PLNODE-BEGIN", "PLNODE-END");
    for line in node_config.lines() {
        assert!(shown.iter().any(|l| l.trim_end() == line), "{line} not on the console:\n{console}");
    }
    let cmdline = between(&console, "CMDLINE-BEGIN", "CMDLINE-END").join(" ");
    (cmdline.split_whitespace().map(str::to_owned).collect(), took)
}
