//! Python's own `xmlrpc.client` against the real server: PLC_SPEC §11.3 steps 1–5 and the §11.2
//! round trips, as upstream's test suites call them (tests/python/plc_sequence.py).

mod common;

use common::*;
use std::process::{Command, Stdio};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/python/plc_sequence.py");

#[test]
fn python_xmlrpc_client_runs_the_plc_test_sequences() {
    let server = Server::start();
    let out = Command::new("python3")
        .args([SCRIPT, &server.url, ADMIN_EMAIL, ADMIN_PASSWORD])
        .stdin(Stdio::null())
        .output()
        .expect("run python3 (install python3)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "plc_sequence.py failed ({:?}):\n{stdout}\n{stderr}", out.status);
    let last = stdout.lines().last().unwrap_or_default();
    let passed: usize = last
        .strip_suffix(" passed, 0 failed")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected summary line {last:?}:\n{stdout}"));
    assert!(passed > 300, "only {passed} checks ran:\n{stdout}");
    server.assert_alive();
}
