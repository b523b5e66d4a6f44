//! GetBootMedium's image actions over XML-RPC (issue 5, in progress): node-iso / node-usb /
//! generic / dummynet media built from an imported reference, the §9.2 step 4 tags and options,
//! inline base64 results streamed by the server, file results, and the key committed only with a
//! finished medium. The decoded image of the §11.3 call boots under QEMU.
//!
//! Section numbers (§N) refer to docs/plc-api.md.

use crate::support::media::inspect;
use crate::support::*;
use bootmedium_xmlrpc::Value;

struct Fixture {
    server: Server,
    node: i64,
    hostname: &'static str,
    work: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let server = Server::start_with(|dir| media::provision(dir, DEFAULT_FAMILY));
    server.admin_int("AddSite", vec![st! { "name" => "Site One", "abbreviated_name" => "One", "login_base" => "one" }]);
    let hostname = "node1.one.example.org";
    let node = server.admin_int("AddNode", vec![s("one"), st! { "hostname" => hostname }]);
    server.admin_int(
        "AddInterface",
        vec![
            i(node),
            st! {
                "method" => "static", "type" => "ipv4", "ip" => "10.0.0.5", "network" => "10.0.0.0",
                "broadcast" => "10.0.0.255", "netmask" => "255.255.255.0", "gateway" => "10.0.0.1",
                "dns1" => "10.0.0.53", "mac" => "52:54:00:AA:BB:CC"
            },
        ],
    );
    Fixture { server, node, hostname, work: tempfile::tempdir().unwrap() }
}

/// Decodes an inline result into a file and inspects it.
fn decode_and_inspect(f: &Fixture, name: &str, result: &Value) -> (std::path::PathBuf, serde_json::Value) {
    let path = f.work.path().join(name);
    write_inline(result, &path);
    (path.clone(), inspect(&path))
}

fn kargs(json: &serde_json::Value) -> Vec<String> {
    json["kernel_args"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect()
}

fn node_key_in(json: &serde_json::Value) -> String {
    media::plnode_value(media::node_config(json), "NODE_KEY").to_string()
}

#[test]
fn the_regression_suite_call_returns_a_bootable_node_iso() {
    let f = fixture();
    let sv = &f.server;
    let options = strs(&["serial", "no-hangcheck", "systemd-console"]);
    let result = sv.admin("GetBootMedium", vec![s(f.hostname), s("node-iso"), s(""), options]);
    let (iso, json) = decode_and_inspect(&f, "node.iso", &result);
    assert_eq!(json["image_type"], "iso");
    assert_eq!(json["family"], DEFAULT_FAMILY);
    assert_eq!(json["console"], "ttyS0:115200:n:8");
    let args = kargs(&json);
    for expected in ["hcheck_reboot0", "systemd.log_target=console", "console=ttyS0,115200n8"] {
        assert!(args.iter().any(|a| a == expected), "{expected} in {args:?}");
    }
    assert_eq!(Value::from(node_key_in(&json).as_str()), stored_key(sv, f.node));

    media::require_tool("qemu-system-x86_64", "qemu-system-x86");
    let (cmdline, took) = media::boot_node_medium(&iso, true, media::node_config(&json));
    for expected in ["hcheck_reboot0", "console=ttyS0,115200n8"] {
        assert!(cmdline.iter().any(|a| a == expected), "{expected} in {cmdline:?}");
    }
    eprintln!("booted in {took:?}");
}

/// (action, options, image type, console, kernel arguments after the fixed ones and before
/// `console=`).
type Row = (&'static str, Vec<&'static str>, &'static str, &'static str, Vec<&'static str>);

#[test]
fn tags_and_options_shape_the_medium() {
    let f = fixture();
    let sv = &f.server;
    for (tag, value) in [("serial", "ttyS1:38400:e:7"), ("kargs", "a=1 b=2"), ("no-hangcheck", "yes")] {
        sv.admin_int("AddNodeTag", vec![i(f.node), s(tag), s(value)]);
    }
    sv.admin_int("AddTagType", vec![st! { "tagname" => "systemd-debug", "category" => "node/bootcd" }]);
    sv.admin_int("AddNodeTag", vec![i(f.node), s("systemd-debug"), s("1")]);
    let table: Vec<Row> = vec![
        ("node-iso", vec![], "iso", "ttyS1:38400:e:7", vec!["a=1", "b=2", "hcheck_reboot0", "systemd.log_level=debug"]),
        (
            "node-usb",
            vec!["serial"],
            "usb",
            "ttyS0:115200:n:8",
            vec!["a=1", "b=2", "hcheck_reboot0", "systemd.log_level=debug"],
        ),
        (
            "node-usb",
            vec!["partition", "serial:ttyS2:9600:n:8", "no-hangcheck"],
            "usb_partition",
            "ttyS2:9600:n:8",
            vec!["a=1", "b=2", "hcheck_reboot0", "systemd.log_level=debug", "hcheck_reboot0"],
        ),
    ];
    for (n, (action, options, image_type, console, extra)) in table.into_iter().enumerate() {
        let result = sv.admin("GetBootMedium", vec![i(f.node), s(action), s(""), strs(&options)]);
        let (_, json) = decode_and_inspect(&f, &format!("m{n}"), &result);
        assert_eq!(json["image_type"], image_type, "{action} {options:?}");
        assert_eq!(json["console"], console, "{action} {options:?}");
        let args = kargs(&json);
        let fixed = ["root=/dev/ram0", "rw", "biosdevname=0", "net.ifnames=0", "selinux=0"];
        let start = args.iter().position(|a| a == "selinux=0").unwrap() + 1;
        let end = args.iter().position(|a| a.starts_with("console=")).unwrap_or(args.len());
        assert_eq!(&args[start..end], extra.as_slice(), "{action} {options:?}");
        assert!(fixed.iter().all(|x| args.iter().any(|a| a == x)));
    }
}

#[test]
fn a_failed_build_keeps_the_old_key_and_files_appear_only_when_finished() {
    let f = fixture();
    let sv = &f.server;
    let path = sv.admin("GetBootMedium", vec![i(f.node), s("node-usb"), s("%d/%n-%a-%v%s"), strs(&["partition"])]);
    let path = std::path::PathBuf::from(path.as_str().unwrap());
    assert_eq!(path.file_name().unwrap(), "node1.one.example.org-x86_64-5.4.usb");
    let json = inspect(&path);
    assert_eq!(json["image_type"], "usb_partition");
    let key = stored_key(sv, f.node);
    assert_eq!(Value::from(node_key_in(&json).as_str()), key);
    let events = sv.admin_rows("GetEvents", vec![st! { "call_name" => "GetBootMedium" }, strs(&["message"])]);
    assert_eq!(
        field(&events[0], "message"),
        &Value::from(format!("GetBootMedium on node {} - action=node-usb", f.hostname))
    );

    let bad: Vec<(Vec<&str>, &str)> = vec![
        (vec!["variant:nope"], "has no variant \"nope\" (variants: none)"),
        (vec!["serial:ttyS9:1:x:y"], "invalid console"),
        (vec!["bogus"], "unknown option bogus"),
        (vec!["partition"], "option 'partition' is for USB images only"),
        (vec!["partition", "cramfs"], "cramfs is not supported for partitioned USB images"),
    ];
    for (options, needle) in bad {
        let action = if options.contains(&"cramfs") { "node-usb" } else { "node-iso" };
        let r = sv.admin_call("GetBootMedium", vec![i(f.node), s(action), s(""), strs(&options)]);
        assert_fault(&r, 102, needle);
        assert_eq!(stored_key(sv, f.node), key, "{options:?} must leave the key");
    }
    sv.admin_int("AddNodeTag", vec![i(f.node), s("arch"), s("i386")]);
    let r = sv.admin_call("GetBootMedium", vec![i(f.node), s("node-iso"), s(""), strs(&[])]);
    assert_fault(&r, 111, "No reference BootCD is imported for node family lxc-f22-i386: import one with `bootmedium");
    assert_eq!(stored_key(sv, f.node), key);
    let results: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
    assert_eq!(results.len(), 1, "no temporary files are left");
}

#[test]
fn generic_media_come_from_the_template_and_leave_the_node_alone() {
    let f = fixture();
    let sv = &f.server;
    let before = stored_key(sv, f.node);
    let r = sv.admin_call("GetBootMedium", vec![i(f.node), s("generic-iso"), s(""), strs(&["serial"])]);
    assert_fault(&r, 102, "Options are not supported for generic images");
    let r = sv.admin_call("GetBootMedium", vec![i(f.node), s("generic-iso"), s(""), strs(&["nonsense"])]);
    assert_fault(&r, 102, "unknown option nonsense");
    let result = sv.admin("GetBootMedium", vec![i(f.node), s("generic-iso"), s("")]);
    let (_, json) = decode_and_inspect(&f, "generic.iso", &result);
    assert!(json["node_config"].is_null(), "{json}");
    assert_eq!(json["console"], "graphic");
    assert_eq!(stored_key(sv, f.node), before);
    let events =
        sv.admin_rows("GetEvents", vec![st! { "call_name" => "GetBootMedium" }, strs(&["message", "object_ids"])]);
    assert_eq!(field(&events[0], "message"), &Value::from("GetBootMedium - generic - action=generic-iso"));
    assert_eq!(field(&events[0], "object_ids"), &arr![]);
}
