//! Python's own `xmlrpc.client` against the real server: docs/plc-api.md §11.3 steps 1–8 and the §11.2
//! round trips, as upstream's test suites call them (tests/python/plc_sequence.py). Step 6's
//! node ISO, decoded by Python, boots under QEMU and shows the node's plnode.txt and the kernel
//! arguments its options asked for.

use crate::support::*;

#[test]
fn python_xmlrpc_client_runs_the_plc_test_sequences() {
    let server = Server::start_with(|dir| media::provision(dir, DEFAULT_FAMILY));
    let work = tempfile::tempdir().unwrap();
    let image = work.path().join("node.iso");
    let args = [server.url.as_ref(), ADMIN_EMAIL.as_ref(), ADMIN_PASSWORD.as_ref(), image.as_os_str()];
    run_python_checks("plc_sequence.py", &args, 301);
    server.assert_alive();

    // The image Python decoded carries the key the server committed, and boots.
    let node: serde_json::Value =
        serde_json::from_slice(&std::fs::read(image.with_extension("iso.json")).unwrap()).unwrap();
    let inspected = media::inspect(&image);
    let config = media::node_config(&inspected);
    assert_eq!(media::plnode_value(config, "NODE_KEY"), node["key"].as_str().unwrap());
    assert_eq!(media::plnode_value(config, "NODE_ID"), node["node_id"].to_string());
    media::require_tool("qemu-system-x86_64", "qemu-system-x86");
    let (kargs, took) = media::boot_node_medium(&image, true, config);
    for wanted in ["hcheck_reboot0", "systemd.log_target=console", "console=ttyS0,115200n8"] {
        assert!(kargs.iter().any(|k| k == wanted), "{wanted} not in {kargs:?}");
    }
    eprintln!("the node ISO Python fetched booted in {took:?}");
}
