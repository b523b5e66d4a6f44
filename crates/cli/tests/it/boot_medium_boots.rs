//! GetBootMedium's media boot: end to end over XML-RPC against the real server, each call made
//! by Python's own xmlrpc.client (inline images decoded by Python's base64, as PLC's tests do),
//! each medium boots under QEMU (TCG) and the test reference's /init prints the plnode.txt the node got and
//! its kernel command line on the serial console:
//!
//! - a partitioned node USB image (inline base64), booted as a disk;
//! - a dummynet node's ISO, built from the reference family the dummynet node type names in
//!   bootmedium.toml rather than from the node's own family;
//! - a node ISO with a serial console written as a file result under `%d`.
//!
//! One boot per test (each takes 6–12 s alone under TCG), the three tests run at once.
//!
//! Section numbers (§N) refer to docs/plc-api.md.

use crate::support::media::{VERSION, boot_node_medium, inspect, node_config, plnode_value, require_tool};
use crate::support::*;
use bootmedium_xmlrpc::Value;
use std::path::{Path, PathBuf};

/// The dummynet node type's own reference family (`[medium.node_types.dummynet] family`).
const DUMMYNET_FAMILY: &str = "dummynet-f22-x86_64";

/// The console the `default` serial spec renders to, and its kernel argument.
const DEFAULT_SERIAL: &str = "ttyS0:115200:n:8";
const DEFAULT_SERIAL_KARG: &str = "console=ttyS0,115200n8";

/// A running server with the test reference imported as the default family (and, with
/// `dummynet`, also as DUMMYNET_FAMILY, which the dummynet node type is configured to use),
/// and a site; returns the server and the site id.
fn server(dummynet: bool) -> (Server, i64) {
    let server = Server::start_with(|dir| {
        media::provision(dir, DEFAULT_FAMILY);
        if dummynet {
            // The same reference under both names: only the family the medium records tells
            // which one was used.
            media::provision(dir, DUMMYNET_FAMILY);
            set_config(dir, "medium.node_types.dummynet", "family", DUMMYNET_FAMILY);
        }
    });
    let site = add_site(&server, "one");
    (server, site)
}

/// Adds a node of `node_type` with a static primary interface (GetBootMedium needs one);
/// `serial` becomes its `serial` tag. Returns the node id.
fn add_typed_node(server: &Server, site: i64, hostname: &str, node_type: &str, serial: Option<&str>) -> i64 {
    let node = server.admin_int("AddNode", vec![i(site), st! { "hostname" => hostname, "node_type" => node_type }]);
    add_static_interface(server, node, 1);
    if let Some(spec) = serial {
        server.admin_int("AddNodeTag", vec![i(node), s("serial"), s(spec)]);
    }
    node
}

/// The plnode.txt in the medium is the node's: its id, its stored (just renewed) key, its
/// hostname.
fn assert_node_config_of(server: &Server, node: i64, hostname: &str, config: &str) {
    assert_eq!(plnode_value(config, "NODE_ID"), node.to_string(), "{config}");
    assert_eq!(Value::from(plnode_value(config, "NODE_KEY")), stored_key(server, node), "{config}");
    let (host, domain) = hostname.split_once('.').unwrap();
    assert_eq!(plnode_value(config, "HOST_NAME"), host, "{config}");
    assert_eq!(plnode_value(config, "DOMAIN_NAME"), domain, "{config}");
}

/// Boots `image`, whose `inspect` output is `json`: the console shows the whole plnode.txt,
/// and the booted command line carries every argument of the medium's loader configuration,
/// the fixed ones, and `console`.
fn boot_and_check(image: &Path, cdrom: bool, json: &serde_json::Value, console: &str) {
    let (cmdline, took) = boot_node_medium(image, cdrom, node_config(json));
    eprintln!("{}: booted to power-off in {:.1} s", image.display(), took.as_secs_f64());
    let configured = json["kernel_args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap());
    let fixed =
        ["root=/dev/ram0", "rw", "biosdevname=0", "net.ifnames=0", "selinux=0", "initrd=bootcd.img,overlay.img"];
    for expected in configured.chain(fixed).chain([console]) {
        assert!(cmdline.iter().any(|a| a == expected), "{expected} not on the command line {cmdline:?}");
    }
    assert!(cmdline.iter().any(|a| a.starts_with("ramdisk_size=")), "{cmdline:?}");
}

#[test]
fn a_partitioned_node_usb_image_boots_from_disk() {
    require_tool("qemu-system-x86_64", "qemu-system-x86");
    let (sv, site) = server(false);
    let hostname = "node1.one.example.org";
    // Without a serial console /init writes to the screen, which the test cannot read: the
    // node's `serial` tag (§9.2 step 4a) asks for the default one, so the call stays bare.
    let node = add_typed_node(&sv, site, hostname, "regular", Some("default"));
    let work = tempfile::tempdir().unwrap();
    let image = work.path().join("node.usb");
    python_get_boot_medium(&sv, hostname, "node-usb", "", &["partition"], &image);
    let json = inspect(&image);
    assert_eq!(json["image_type"], "usb_partition", "{json}");
    assert_eq!(json["family"], DEFAULT_FAMILY, "{json}");
    assert_eq!(json["console"], DEFAULT_SERIAL, "{json}");
    assert_node_config_of(&sv, node, hostname, node_config(&json));
    boot_and_check(&image, false, &json, DEFAULT_SERIAL_KARG);
}

#[test]
fn a_dummynet_node_iso_comes_from_the_dummynet_family_and_boots() {
    require_tool("qemu-system-x86_64", "qemu-system-x86");
    let (sv, site) = server(true);
    let hostname = "dn1.one.example.org";
    let node = add_typed_node(&sv, site, hostname, "dummynet", Some("default"));
    let work = tempfile::tempdir().unwrap();
    let image = work.path().join("dummynet.iso");
    python_get_boot_medium(&sv, hostname, "dummynet-iso", "", &[], &image);
    let json = inspect(&image);
    assert_eq!(json["image_type"], "iso", "{json}");
    assert_eq!(json["family"], DUMMYNET_FAMILY, "{json}");
    assert_eq!(json["version"], VERSION, "{json}");
    assert_node_config_of(&sv, node, hostname, node_config(&json));
    boot_and_check(&image, true, &json, DEFAULT_SERIAL_KARG);

    // `%f` names the family the medium comes from, not the node's default one.
    let path = sv.admin("GetBootMedium", vec![s(hostname), s("dummynet-iso"), s("%d/%n-%f%s"), strs(&[])]);
    let expected = sv.data_dir.join("results").join(format!("{hostname}-{DUMMYNET_FAMILY}.iso"));
    assert_eq!(PathBuf::from(str_of(&path)), expected);
    assert_eq!(inspect(&expected)["family"], DUMMYNET_FAMILY);
}

#[test]
fn a_node_iso_file_result_under_the_results_dir_boots_with_a_serial_console() {
    use std::os::unix::fs::PermissionsExt;
    require_tool("qemu-system-x86_64", "qemu-system-x86");
    let (sv, site) = server(false);
    let hostname = "node3.one.example.org";
    // No serial tag: the console comes from the `serial` option alone.
    let node = add_typed_node(&sv, site, hostname, "regular", None);
    let unused = sv.data_dir.join("unused");
    let path = python_get_boot_medium(&sv, hostname, "node-iso", "%d/%n-%v%s", &["serial"], &unused);
    let results = sv.data_dir.join("results");
    let expected = results.join(format!("{hostname}-{VERSION}.iso"));
    assert_eq!(PathBuf::from(path), expected);
    assert!(!unused.exists());
    let mode = std::fs::metadata(&expected).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640, "{mode:o}: the medium carries the node key");
    let left: Vec<PathBuf> = std::fs::read_dir(&results).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(left, vec![expected.clone()], "nothing but the result (no temporary files)");
    let json = inspect(&expected);
    assert_eq!(json["image_type"], "iso", "{json}");
    assert_eq!(json["console"], DEFAULT_SERIAL, "{json}");
    assert_node_config_of(&sv, node, hostname, node_config(&json));
    boot_and_check(&expected, true, &json, DEFAULT_SERIAL_KARG);
}
