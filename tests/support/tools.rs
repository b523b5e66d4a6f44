//! Test helpers shared by the integration tests of several crates (included with `#[path]`):
//! the external tools a test needs, and the project's test reference BootCD.
//!
//! A missing tool or package fails the test naming the Debian package; nothing is skipped.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Panics with the Debian package name when `tool` is not installed.
pub fn require_tool(tool: &str, debian_package: &str) {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .chain(["/usr/bin".into(), "/bin".into(), "/sbin".into(), "/usr/sbin".into()])
        .any(|dir| dir.join(tool).is_file());
    assert!(found, "the tool `{tool}` is not installed: install the Debian package `{debian_package}`");
}

/// The test reference made by `scripts/make-test-reference.sh`: `kernel`, `bootcd.img`,
/// `cacert.pem`, `pubring.gpg` (made once per test process; the script replaces each file
/// atomically with identical bytes, so concurrent test binaries agree).
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
