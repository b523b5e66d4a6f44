//! Limits and ordering over HTTP against the real binary, for what needs the test reference:
//! image actions refused inside multicall before anything runs, and a medium being built not
//! holding the write lock. The other limits are domain tests (crates/plc/tests/domain/limits.rs).

use crate::support::*;
use std::time::{Duration, Instant};

#[test]
fn image_actions_inside_multicall_are_refused_before_anything_runs() {
    let server = Server::start_with(|dir| media::provision(dir, DEFAULT_FAMILY));
    server.use_admin_session();
    let site = add_site(&server, "mc");
    let host = "node1.mc.example.org";
    let node = add_node(&server, site, host);
    add_static_interface(&server, node, 5);
    let auth = server.admin_auth();
    let medium = |action: &str, filename: &str, options: &[&str]| {
        multicall_entry("GetBootMedium", vec![auth.clone(), s(host), s(action), s(filename), strs(options)])
    };
    let write_first =
        multicall_entry("UpdateSite", vec![auth.clone(), i(site), st! { "url" => "http://changed.example.org/" }]);
    // (what, calls, refused). A refused multicall runs nothing, not even the calls before the
    // image; calls that answer text or write a file run.
    let cases: Vec<(&str, Vec<Value>, bool)> = vec![
        ("node-iso", vec![medium("node-iso", "", &[])], true),
        ("node-usb with options", vec![medium("node-usb", "", &["serial"])], true),
        ("generic-iso", vec![medium("generic-iso", "", &[])], true),
        ("a write, then node-iso", vec![write_first.clone(), medium("node-iso", "", &[])], true),
        (
            "node-iso by node id",
            vec![multicall_entry("GetBootMedium", vec![auth.clone(), i(node), s("node-iso"), s("")])],
            true,
        ),
        ("node-preview", vec![medium("node-preview", "", &[])], false),
        ("node-iso into a file", vec![medium("node-iso", "%d/mc-%n.iso", &[])], false),
    ];
    for (what, calls, refused) in cases {
        let before = server.db_snapshot();
        let result = server.call("system.multicall", vec![Value::Array(calls)]);
        let after = server.db_snapshot();
        if refused {
            assert_fault(&result, 102, "cannot be returned inside system.multicall");
            assert_eq!(before, after, "{what}: something ran:\n{}", snapshot_diff(&before, &after));
        } else {
            let results = result.unwrap_or_else(|f| panic!("{what}: {f:?}"));
            for r in array_of(&results) {
                assert!(matches!(r, Value::Array(_)), "{what}: {r:?}");
            }
        }
    }
    assert_ne!(site_url(&server, site), s("http://changed.example.org/"));
}

#[test]
fn a_medium_being_built_does_not_hold_the_write_lock() {
    // SQLite: its one writer at a time is the lock in question (PostgreSQL's BEGIN takes none).
    let server = Server::start_sqlite_with(|dir| media::provision(dir, DEFAULT_FAMILY));
    server.use_admin_session();
    let site = add_site(&server, "build");
    let host = "node1.build.example.org";
    let node = add_node(&server, site, host);
    add_static_interface(&server, node, 5);
    let ledger_rows = || server.admin_rows("GetIssuedMedia", vec![st! { "node_id" => node }]).len();
    let before = ledger_rows();
    // (action, file name, options): a cramfs build written to a file is the slowest medium (the
    // test reference is small: still many times a write's time).
    let cases: &[(&str, &str, &[&str])] =
        &[("node-iso", "%d/build-%n-cramfs.iso", &["cramfs"]), ("node-usb", "%d/build-%n-cramfs.usb", &["cramfs"])];
    for &(action, filename, options) in cases {
        let done = std::sync::atomic::AtomicBool::new(false);
        let (build, writes) = std::thread::scope(|scope| {
            let builder = scope.spawn(|| {
                let started = Instant::now();
                let path = server.admin("GetBootMedium", vec![s(host), s(action), s(filename), strs(options)]);
                done.store(true, std::sync::atomic::Ordering::SeqCst);
                (path, started.elapsed())
            });
            std::thread::sleep(Duration::from_millis(50));
            let mut writes = Vec::new();
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                let started = Instant::now();
                server.admin_one(
                    "UpdateSite",
                    vec![i(site), st! { "url" => format!("http://{}.example.org/", writes.len()) }],
                );
                writes.push(started.elapsed());
            }
            (builder.join().unwrap(), writes)
        });
        let ((path, took), writes) = (build, writes);
        let slowest = writes.iter().max().copied().unwrap_or_default();
        eprintln!("{action} {options:?} into a file: {took:?}; {} writes meanwhile, slowest {slowest:?}", writes.len());
        assert!(std::path::Path::new(str_of(&path)).is_file(), "{path:?}");
        assert!(writes.len() >= 2, "{action}: too quick to tell ({took:?}, {} writes)", writes.len());
        // Holding the lock, the build would keep the first write waiting for most of its time.
        assert!(slowest < took / 2, "{action}: a write waited {slowest:?} during a {took:?} GetBootMedium");
    }
    assert_eq!(ledger_rows(), before + cases.len(), "every medium was recorded");
}
