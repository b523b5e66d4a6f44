//! The BootManager's call sequence (docs/plc-api.md §12.1, §12.2) replayed by Python's own
//! xmlrpc.client, hmac and hashlib against the real server (tests/python/bootmanager_replay.py):
//! the boot, reinstall, safeboot and failboot paths, a saved session re-used and then refused
//! after the key is renewed, and the legacy per-call hmac with struct, list, bool and None
//! arguments; the script checks the node's fields and events as the admin afterwards.

use crate::support::*;

fn replay(server: &Server) {
    let args = [&server.url, ADMIN_EMAIL, ADMIN_PASSWORD].map(std::ffi::OsStr::new);
    let stdout = run_python_checks("bootmanager_replay.py", &args, 81);
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
