//! Shared harness of the image-command tests (`media_cli.rs`, `media_boot.rs`): the test
//! reference from `scripts/make-test-reference.sh`, a data directory made by the real binary's
//! `init` with the reference's fake credentials, and the real binary.
//!
//! A missing tool or package fails the test naming the Debian package; nothing is skipped.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

pub const BIN: &str = env!("CARGO_BIN_EXE_bootmedium");
pub const FAMILY: &str = "planetlab-f37-x86_64";
pub const VERSION: &str = "5.4";
/// A node configuration as GetBootMedium writes it (PLC_SPEC §9.3).
pub const PLNODE: &str = "NODE_ID=\"4711\"\nNODE_KEY=\"q8mCz0u3pWkP2Hn4Jx7Lr1Vb6Tg9Ys5Dd0Fh3Ke8NwA\"\n\
KEY_RENEWAL_DATE=\"2026/11/25 at 14:00 +0000\"\nNET_DEVICE=\"52:54:00:12:34:56\"\nIP_METHOD=\"static\"\n\
IP_ADDRESS=\"192.0.2.17\"\nIP_GATEWAY=\"192.0.2.1\"\nIP_NETMASK=\"255.255.255.0\"\nIP_NETADDR=\"192.0.2.0\"\n\
IP_BROADCASTADDR=\"192.0.2.255\"\nIP_DNS1=\"192.0.2.53\"\nIP_DNS2=\"\"\nHOST_NAME=\"node17\"\n\
DOMAIN_NAME=\"example.org\"\n";

/// Panics with the Debian package name when `tool` is not installed.
pub fn require_tool(tool: &str, debian_package: &str) {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .chain(["/usr/bin".into(), "/bin".into(), "/sbin".into(), "/usr/sbin".into()])
        .any(|dir| dir.join(tool).is_file());
    assert!(found, "the tool `{tool}` is not installed: install the Debian package `{debian_package}`");
}

/// The test reference directory (made once per test process).
pub fn test_reference() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        require_tool("cpio", "cpio");
        require_tool("busybox", "busybox-static");
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("test-reference");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/make-test-reference.sh");
        let out = Command::new("bash").arg(&script).arg(&dir).output().expect("running make-test-reference.sh");
        assert!(
            out.status.success(),
            "make-test-reference.sh failed (it needs the Debian packages linux-image-cloud-amd64, busybox-static, \
             cpio):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
}

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
