//! Harness of the image-command tests (`media_cli`, `media_boot` and the modules that boot a
//! medium): the test reference from `scripts/make-test-reference.sh`, a data directory made by
//! the real binary's `init` with the reference's fake credentials, the real binary, and QEMU
//! boots.
//!
//! All tests share one process, so QEMU boots of different modules could run at once: a boot
//! matrix's own runner already fills the machine, and a boot must end within [`BOOT_TIMEOUT`].
//! [`qemu_exclusive`] (held by the tests that run several boots at once) and the single boots'
//! [`boot`] take one lock, so either one matrix or single boots (at most one per test thread)
//! run at a time.
//!
//! A missing tool or package fails the test naming the Debian package; nothing is skipped.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

#[path = "../../../../../tests/support/tools.rs"]
mod tools;
pub use tools::{require_tool, test_reference};

pub const BIN: &str = env!("CARGO_BIN_EXE_bootmedium");
pub const FAMILY: &str = "planetlab-f37-x86_64";
pub const VERSION: &str = "5.4";
/// A node configuration as GetBootMedium writes it (docs/plc-api.md §9.3).
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
        let data = DataDir::new();
        data.import(FAMILY, &[]);
        data
    }

    /// Imports the test reference as `family` VERSION, with `extra` arguments to
    /// `reference import`.
    pub fn import(&self, family: &str, extra: &[&str]) {
        require_tool("syslinux", "syslinux");
        require_tool("mcopy", "mtools");
        let reference = test_reference();
        let (kernel, initrd) = (reference.join("kernel"), reference.join("bootcd.img"));
        let mut args = vec![
            "reference",
            "import",
            "--family",
            family,
            "--version",
            VERSION,
            "--kernel",
            kernel.to_str().unwrap(),
            "--initrd",
            initrd.to_str().unwrap(),
        ];
        args.extend(extra);
        self.ok(&args);
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

/// The QEMU lock (see the module documentation).
static QEMU: RwLock<()> = RwLock::new(());

/// Holds off every other boot of the test binary while the guard lives: for a test that runs
/// several boots at once itself. A test that failed while holding it does not block the rest.
pub fn qemu_exclusive() -> RwLockWriteGuard<'static, ()> {
    QEMU.write().unwrap_or_else(PoisonError::into_inner)
}

/// Waits while a test holds [`qemu_exclusive`]; single boots share it.
fn qemu_shared() -> RwLockReadGuard<'static, ()> {
    QEMU.read().unwrap_or_else(PoisonError::into_inner)
}

/// One boot may take this long (a boot takes 6–16 s alone under TCG; several run at once).
pub const BOOT_TIMEOUT: Duration = Duration::from_secs(180);

/// The firmware a boot runs on. UEFI is OVMF from Debian 12's package ovmf, 4 MiB flash
/// layout: the code read-only (pflash unit 0), a per-boot copy of the variable store (unit 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Firmware {
    /// SeaBIOS on QEMU's default machine.
    Bios,
    /// OVMF without Secure Boot (no keys enrolled).
    Uefi,
    /// OVMF with Microsoft's keys enrolled and Secure Boot enforced (the `.ms` flash images);
    /// the secure variable store needs SMM, so q35 with `smm=on` and a secure pflash.
    UefiSecureBoot,
}

impl Firmware {
    pub fn name(self) -> &'static str {
        match self {
            Firmware::Bios => "BIOS",
            Firmware::Uefi => "UEFI",
            Firmware::UefiSecureBoot => "UEFI Secure Boot",
        }
    }

    pub fn is_uefi(self) -> bool {
        self != Firmware::Bios
    }

    /// QEMU's machine and firmware arguments; copies the variable store to `vars` first.
    fn qemu_args(self, vars: &Path) -> Vec<String> {
        let (machine, code, template) = match self {
            Firmware::Bios => return Vec::new(),
            Firmware::Uefi => ("q35", "/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd"),
            Firmware::UefiSecureBoot => {
                ("q35,smm=on", "/usr/share/OVMF/OVMF_CODE_4M.ms.fd", "/usr/share/OVMF/OVMF_VARS_4M.ms.fd")
            }
        };
        assert!(Path::new(code).is_file(), "{code} missing: apt-get install ovmf");
        std::fs::copy(template, vars).unwrap_or_else(|e| panic!("copying {template} to {}: {e}", vars.display()));
        let mut args = vec!["-machine".to_owned(), machine.to_owned()];
        if self == Firmware::UefiSecureBoot {
            args.extend(["-global".to_owned(), "driver=cfi.pflash01,property=secure,value=on".to_owned()]);
        }
        args.extend([
            "-drive".to_owned(),
            format!("if=pflash,format=raw,unit=0,readonly=on,file={code}"),
            "-drive".to_owned(),
            format!("if=pflash,format=raw,unit=1,file={}", vars.display()),
        ]);
        args
    }
}

/// How the image is attached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Drive {
    /// `-cdrom` and `-boot d`: an ISO read through El Torito.
    Cdrom,
    /// A raw disk (snapshot: the image is not written), as a USB stick or a hybrid ISO is.
    Disk,
}

/// One boot: an image on a drive and firmware, with the texts that end it early.
#[derive(Clone, Debug)]
pub struct Boot {
    pub name: String,
    pub image: PathBuf,
    pub drive: Drive,
    pub firmware: Firmware,
    /// Where the copy of OVMF's variable store goes (unused on BIOS); one per boot.
    pub vars: PathBuf,
    /// QEMU is killed as soon as the console shows one of these (firmware that refused a
    /// loader waits in its boot manager forever).
    pub stop_at: Vec<String>,
}

impl Boot {
    pub fn new(name: &str, image: &Path, drive: Drive, firmware: Firmware, vars: &Path) -> Boot {
        Boot {
            name: name.to_owned(),
            image: image.to_owned(),
            drive,
            firmware,
            vars: vars.to_owned(),
            stop_at: Vec::new(),
        }
    }
}

/// How a boot ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    /// The guest powered off (the test root's /init does, after its report).
    PoweredOff,
    /// The console showed this text of [`Boot::stop_at`]; QEMU was killed.
    Stopped(String),
    /// Neither within [`BOOT_TIMEOUT`]; QEMU was killed.
    TimedOut,
    /// QEMU itself failed: its exit status and stderr.
    QemuFailed(String),
}

/// A finished boot: the serial console (without `\r`), how it ended and how long it took.
#[derive(Clone, Debug)]
pub struct Booted {
    pub output: String,
    pub ending: Ending,
    pub took: Duration,
}

impl Booted {
    /// The last `chars` characters of the console, for failure messages.
    pub fn tail(&self, chars: usize) -> String {
        let skip = self.output.chars().count().saturating_sub(chars);
        self.output.chars().skip(skip).collect()
    }
}

/// Boots an image and returns the serial console output (without `\r`) and the time taken.
pub fn boot(image: &Path, cdrom: bool) -> (String, Duration) {
    let drive = if cdrom { Drive::Cdrom } else { Drive::Disk };
    let _shared = qemu_shared();
    powered_off(image, run_qemu(image, drive, Firmware::Bios, Path::new(""), &["-net", "none"], &[]))
}

/// Runs one [`Boot`] (no network card), whatever its ending.
pub fn run_boot(boot: &Boot) -> Booted {
    let stop_at: Vec<&str> = boot.stop_at.iter().map(String::as_str).collect();
    run_qemu(&boot.image, boot.drive, boot.firmware, &boot.vars, &["-net", "none"], &stop_at)
}

/// Runs `boots` with at most as many QEMUs at once as the machine has cores (at least 2);
/// prints each boot's name, ending and time as it finishes. The results are in `boots`' order.
pub fn run_boots(boots: &[Boot]) -> Vec<Booted> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).max(2).min(boots.len().max(1));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Booted>>> = Mutex::new(vec![None; boots.len()]);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(boot) = boots.get(i) else { break };
                    let booted = run_boot(boot);
                    let ending = match &booted.ending {
                        Ending::PoweredOff => "powered off".to_owned(),
                        Ending::Stopped(text) => format!("stopped at {text:?}"),
                        Ending::TimedOut => "TIMED OUT".to_owned(),
                        Ending::QemuFailed(why) => format!("QEMU FAILED: {why}"),
                    };
                    eprintln!("{}: {ending} after {:.1} s", boot.name, booted.took.as_secs_f64());
                    results.lock().unwrap()[i] = Some(booted);
                }
            });
        }
    });
    results.into_inner().unwrap().into_iter().map(|r| r.unwrap()).collect()
}

/// Boots an image with a virtio network card on the host's tap device `tap` (which must exist;
/// see `support::node::Tap`), the card's MAC address `mac`.
pub fn boot_on_tap(image: &Path, cdrom: bool, tap: &str, mac: &str) -> (String, Duration) {
    let netdev = format!("tap,id=net0,ifname={tap},script=no,downscript=no");
    let device = format!("virtio-net-pci,netdev=net0,mac={mac}");
    let drive = if cdrom { Drive::Cdrom } else { Drive::Disk };
    powered_off(
        image,
        run_qemu(image, drive, Firmware::Bios, Path::new(""), &["-netdev", &netdev, "-device", &device], &[]),
    )
}

/// The console and time of a boot that must have ended in the guest's power-off.
fn powered_off(image: &Path, booted: Booted) -> (String, Duration) {
    match &booted.ending {
        Ending::PoweredOff => (booted.output, booted.took),
        Ending::QemuFailed(why) => panic!("{}: qemu failed ({why}):\n{}", image.display(), booted.tail(3000)),
        ending => panic!("{}: no power-off ({ending:?}); console tail:\n{}", image.display(), booted.tail(3000)),
    }
}

/// Runs QEMU (TCG: ISOLINUX, SYSLINUX and OVMF fail under KVM on these machines) with the
/// serial console on stdout, `network` as its network arguments, until the guest powers off,
/// the console shows a text of `stop_at`, or [`BOOT_TIMEOUT`].
fn run_qemu(image: &Path, drive: Drive, firmware: Firmware, vars: &Path, network: &[&str], stop_at: &[&str]) -> Booted {
    use std::sync::{Arc, Mutex};
    require_tool("qemu-system-x86_64", "qemu-system-x86");
    let mut command = Command::new("qemu-system-x86_64");
    command.args(firmware.qemu_args(vars));
    command.args(["-accel", "tcg", "-m", "512", "-nographic", "-serial", "mon:stdio", "-no-reboot"]);
    command.args(network);
    match drive {
        Drive::Cdrom => command.arg("-cdrom").arg(image).args(["-boot", "d"]),
        Drive::Disk => command.arg("-drive").arg(format!("file={},format=raw,snapshot=on", image.display())),
    };
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting qemu-system-x86_64");
    let mut stdout = child.stdout.take().unwrap();
    let console = Arc::new(Mutex::new(Vec::new()));
    let reader = {
        let console = Arc::clone(&console);
        std::thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            while let Ok(n @ 1..) = stdout.read(&mut chunk) {
                console.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        })
    };
    let mut stderr = child.stderr.take().unwrap();
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    // Only the part not yet searched (and a pattern's length before it) is searched again.
    let longest = stop_at.iter().map(|t| t.len()).max().unwrap_or(0);
    let mut searched: usize = 0;
    let ending = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break if status.success() { Ending::PoweredOff } else { Ending::QemuFailed(status.to_string()) };
        }
        if !stop_at.is_empty() {
            let bytes = console.lock().unwrap();
            let from = searched.saturating_sub(longest);
            let text = String::from_utf8_lossy(&bytes[from..]).replace('\r', "");
            searched = bytes.len();
            if let Some(seen) = stop_at.iter().find(|t| text.contains(**t)) {
                break Ending::Stopped((*seen).to_owned());
            }
        }
        if started.elapsed() > BOOT_TIMEOUT {
            break Ending::TimedOut;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    if ending != Ending::PoweredOff && !matches!(ending, Ending::QemuFailed(_)) {
        let _ = child.kill();
        let _ = child.wait();
    }
    let took = started.elapsed();
    reader.join().unwrap();
    let stderr = errors.join().unwrap();
    let ending = match ending {
        Ending::QemuFailed(status) => Ending::QemuFailed(format!("{status}: {}", stderr.trim())),
        ending => ending,
    };
    let output = String::from_utf8_lossy(&console.lock().unwrap()).replace('\r', "");
    Booted { output, ending, took }
}

/// The lines between two marker lines, if both are there.
pub fn section<'a>(output: &'a str, begin: &str, end: &str) -> Option<Vec<&'a str>> {
    let lines: Vec<&str> = output.lines().collect();
    let start = lines.iter().position(|l| l.trim_end() == begin)?;
    let stop = start + lines[start..].iter().position(|l| l.trim_end() == end)?;
    Some(lines[start + 1..stop].to_vec())
}

/// The lines between two marker lines.
pub fn between<'a>(output: &'a str, begin: &str, end: &str) -> Vec<&'a str> {
    section(output, begin, end).unwrap_or_else(|| panic!("no {begin} … {end}:\n{output}"))
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
