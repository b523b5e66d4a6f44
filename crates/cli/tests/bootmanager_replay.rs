//! The BootManager's call sequence (PLC_SPEC §12.1, §12.2) replayed by Python's own
//! xmlrpc.client, hmac and hashlib against the real server (tests/python/bootmanager_replay.py):
//! the boot, reinstall, safeboot and failboot paths, a saved session re-used and then refused
//! after the key is renewed, and the legacy per-call hmac with struct, list, bool and None
//! arguments; the script checks the node's fields and events as the admin afterwards.

mod common;

use common::*;
use std::process::{Command, Stdio};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/python/bootmanager_replay.py");

fn replay(server: &Server) {
    let out = Command::new("python3")
        .args([SCRIPT, &server.url, ADMIN_EMAIL, ADMIN_PASSWORD])
        .stdin(Stdio::null())
        .output()
        .expect("run python3 (install python3)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "bootmanager_replay.py failed ({:?}):\n{stdout}\n{stderr}", out.status);
    let last = stdout.lines().last().unwrap_or_default();
    let passed: usize = last
        .strip_suffix(" passed, 0 failed")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected summary line {last:?}:\n{stdout}"));
    assert!(passed > 80, "only {passed} checks ran:\n{stdout}");
    eprintln!("{stdout}");
    server.assert_alive();
}

#[test]
fn python_replays_the_bootmanager_on_sqlite() {
    replay(&Server::start_sqlite_with(|_| {}));
}

#[test]
fn python_replays_the_bootmanager_on_postgres() {
    if let Some(server) = Server::start_postgres_with(|_| {}) {
        replay(&server);
    }
}
