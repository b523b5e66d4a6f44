//! Helpers of the media integration tests: the test reference (made by the project's
//! `scripts/make-test-reference.sh` from Debian packages), an imported store, node requests,
//! and the independent checker tools.
//!
//! A missing tool or package fails the test naming the Debian package; nothing is skipped.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

#[path = "../../../../tests/support/tools.rs"]
mod tools;
pub use tools::{require_tool, test_reference};

use bootmedium_media::{
    BootSettings, Console, ImageType, ImportRequest, KernelArg, MediumRequest, Reference, ReferenceStore, SerialConsole,
};

/// A node configuration as GetBootMedium writes it (docs/plc-api.md §9.3).
pub const PLNODE: &str = "NODE_ID=\"4711\"\nNODE_KEY=\"q8mCz0u3pWkP2Hn4Jx7Lr1Vb6Tg9Ys5Dd0Fh3Ke8NwA\"\n\
KEY_RENEWAL_DATE=\"2026/11/25 at 14:00 +0000\"\nNET_DEVICE=\"52:54:00:12:34:56\"\nIP_METHOD=\"dhcp\"\n\
HOST_NAME=\"node17\"\nDOMAIN_NAME=\"example.org\"\n";

/// Runs a tool; returns its output whatever the status.
pub fn run_raw(program: &str, args: &[&str]) -> Output {
    let path = std::env::var("PATH").unwrap_or_default();
    Command::new(program)
        .args(args)
        .env("PATH", format!("{path}:/usr/sbin:/sbin"))
        .env("LC_ALL", "C")
        .env("MTOOLS_SKIP_CHECK", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

/// Runs a tool, requires success, returns stdout.
pub fn run(program: &str, args: &[&str]) -> String {
    let out = run_raw(program, args);
    assert!(
        out.status.success(),
        "{program} {args:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// PLC settings with the test reference's fake credentials.
pub fn settings() -> BootSettings {
    settings_in(test_reference())
}

/// PLC settings with the fake credentials of a test reference made in `reference`.
pub fn settings_in(reference: &Path) -> BootSettings {
    BootSettings {
        plc_name: "PlanetLab Test".to_owned(),
        host: "boot.example.org".to_owned(),
        port: 443,
        path: "/boot/".to_owned(),
        ca_certificate: std::fs::read(reference.join("cacert.pem")).unwrap(),
        gpg_public_keyring: std::fs::read(reference.join("pubring.gpg")).unwrap(),
        www_url: "https://www.example.org/".to_owned(),
        support_address: "support@example.org".to_owned(),
        root_password_hash: "$5$salt$0123456789".to_owned(),
    }
}

/// An import request for the test reference.
pub fn import_request(family: &str, version: &str) -> ImportRequest {
    let reference = test_reference();
    ImportRequest::new(family, version, &reference.join("kernel"), &reference.join("bootcd.img"))
}

/// A store in a temporary directory with the test reference imported.
pub struct Imported {
    pub dir: tempfile::TempDir,
    pub store: ReferenceStore,
    pub reference: Reference,
}

pub fn import(request: &ImportRequest) -> Imported {
    require_tool("syslinux", "syslinux");
    require_tool("mcopy", "mtools");
    let dir = tempfile::tempdir().unwrap();
    let store = ReferenceStore::open(dir.path());
    let reference = store.import(request, &settings(), &mut |_| {}).unwrap();
    Imported { dir, store, reference }
}

/// A node medium with a serial console and two extra kernel arguments.
pub fn node_request(image_type: ImageType) -> MediumRequest {
    MediumRequest {
        image_type,
        console: Console::Serial(SerialConsole::DEFAULT),
        kargs: vec![KernelArg::new("hcheck_reboot0").unwrap(), KernelArg::new("systemd.log_level=debug").unwrap()],
        variant: None,
        node_config: Some(PLNODE.to_owned()),
    }
}

/// sha256 of a file.
pub fn file_sha256(path: &Path) -> String {
    bootmedium_media::sha256_hex(std::fs::File::open(path).unwrap()).unwrap()
}

/// `len` characters of incompressible text: xorshift32 from `seed`, each state mapped by `char_of`.
pub fn noise(len: usize, seed: u32, char_of: impl Fn(u32) -> char) -> String {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            char_of(state)
        })
        .collect()
}
