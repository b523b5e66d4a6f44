//! The README's first command, `scripts/demo.sh`, does the main job on this machine: it starts
//! the service on its embedded database with the demo reference, fetches a node ISO over
//! XML-RPC and as a download link, and verifies it (DEMO_ONCE=1 stops it after the show).

use crate::support::*;
use std::process::{Command, Stdio};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/demo.sh");

#[test]
fn the_demo_script_fetches_and_verifies_a_node_iso() {
    media::test_reference(); // the Debian packages the demo reference needs
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("demo-data");
    let out = Command::new("bash")
        .arg(SCRIPT)
        .arg(&data)
        .arg("127.0.0.1:0")
        .env("BOOTMEDIUM_BIN", BIN)
        .env("DEMO_ONCE", "1")
        .env_remove("BOOTMEDIUM_DATABASE_URL")
        .stdin(Stdio::null())
        .output()
        .expect("running scripts/demo.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "demo.sh failed: {}", describe(&out));
    for wanted in [
        ">>> AuthCheck(auth) = 1",
        "bytes written to",
        ">>> POST /api/v1/media = {",
        "sha256 matches: True",
        "type:",
        "superseded: node 1 (node1.demo.example.org)",
        "current: node 1 (node1.demo.example.org)",
    ] {
        assert!(stdout.contains(wanted), "{wanted:?} missing from the demo's output:\n{stdout}");
    }
    let iso = std::fs::read(data.join("node1-download.iso")).unwrap();
    assert_eq!(&iso[0x8001..0x8006], b"CD001");
}
