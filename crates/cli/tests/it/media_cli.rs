//! The image commands through the real binary: `reference import|list|remove`, `build` to a
//! file and to standard output (and `--no-template`, which must give the same bytes), `inspect`
//! in text and JSON with the node key masked, and the errors operators meet.

use crate::support::media::{DataDir, FAMILY, PLNODE, VERSION, test_reference};

fn build_args<'a>(image_type: &'a str, plnode: &'a str, output: &'a str) -> Vec<&'a str> {
    vec![
        "build",
        "--family",
        FAMILY,
        "--type",
        image_type,
        "--console",
        "ttyS1:38400:e:7",
        "--karg",
        "hcheck_reboot0",
        "--node-config",
        plnode,
        "--output",
        output,
    ]
}

#[test]
fn import_list_build_inspect_remove() {
    let data = DataDir::imported();
    let listing = data.ok(&["reference", "list"]);
    assert!(
        listing.starts_with("FAMILY") && listing.contains(" UEFI ") && listing.contains(" SECUREBOOT "),
        "{listing}"
    );
    let row: Vec<&str> = listing.lines().find(|l| l.starts_with(FAMILY)).unwrap().split_whitespace().collect();
    assert_eq!(row[..4], [FAMILY, VERSION, "-", "standalone-grub"], "{listing}");
    assert_eq!(row[4], "no", "an unsigned loader cannot boot under Secure Boot: {listing}");
    let json: serde_json::Value = serde_json::from_str(&data.ok(&["reference", "list", "--json"])).unwrap();
    assert_eq!(json[0]["family"], FAMILY);
    assert_eq!(json[0]["templates"].as_array().unwrap().len(), 5);
    assert_eq!(json[0]["uefi"], "standalone-grub");
    assert_eq!(json[0]["unsigned_kernels"], serde_json::json!([]));

    let plnode = data.plnode();
    let plnode = plnode.to_str().unwrap();
    for image_type in ["iso", "usb", "usb_partition", "iso_cramfs", "usb_cramfs"] {
        let file = data.path().join(format!("node.{image_type}"));
        let file = file.to_str().unwrap();
        data.ok(&build_args(image_type, plnode, file));
        let streamed = data.run(&build_args(image_type, plnode, "-"));
        assert!(streamed.status.success(), "{}", String::from_utf8_lossy(&streamed.stderr));
        assert!(streamed.stdout == std::fs::read(file).unwrap(), "{image_type}: stdout differs from the file");
        let full = data.path().join(format!("full.{image_type}"));
        let mut args = build_args(image_type, plnode, full.to_str().unwrap());
        args.push("--no-template");
        data.ok(&args);
        assert!(std::fs::read(&full).unwrap() == streamed.stdout, "{image_type}: splice != full build");

        let text = data.ok(&["inspect", file]);
        assert!(text.contains(&format!("image type:    {image_type} ")), "{text}");
        assert!(text.contains(&format!("family {FAMILY}, version {VERSION}")), "{text}");
        assert!(text.contains("console:       ttyS1:38400:e:7 (SERIAL 1 38400)"), "{text}");
        assert!(text.contains("hcheck_reboot0 console=ttyS1,38400e7"), "{text}");
        assert!(text.contains("  NODE_KEY=\"********\""), "{text}");
        assert!(!text.contains("q8mCz0u3"), "the key must be masked:\n{text}");
        // Both boot paths on every type, and the grub.cfg with the same console and arguments.
        if image_type.starts_with("iso") {
            assert!(text.contains("El Torito 1:   bios, 4 sectors"), "{text}");
            assert!(text.contains("El Torito 2:   uefi, 2880 sectors"), "{text}");
            assert!(text.contains("partition 1:   type 0x00, active,"), "{text}");
            assert!(text.contains("partition 2:   type 0xef, 2880 sectors"), "{text}");
            assert!(text.contains("ESP:           efiboot.img: EFI/BOOT/BOOTX64.EFI\n"), "{text}");
        } else {
            assert!(!text.contains("El Torito"), "{text}");
            assert!(text.contains("ESP:           the FAT volume itself: EFI/BOOT/BOOTX64.EFI\n"), "{text}");
            assert_eq!(text.contains("partition 1:   type 0xef, active"), image_type == "usb_partition", "{text}");
        }
        assert!(
            text.contains("UEFI:          loader standalone-grub (unsigned), kernel signed, Secure Boot no\n"),
            "{text}"
        );
        assert!(text.contains("grub config:   boot/grub/grub.cfg\n"), "{text}");
        assert!(text.contains("  serial --unit=1 --speed=38400 --parity=even --word=7\n"), "{text}");
        assert!(text.contains("hcheck_reboot0 console=ttyS1,38400e7\n    initrd /"), "{text}");
        let json: serde_json::Value =
            serde_json::from_str(&data.ok(&["inspect", file, "--json", "--show-key"])).unwrap();
        assert_eq!(json["node_config"], PLNODE);
        assert_eq!(json["image_type"], image_type);
        assert_eq!(json["made_by"], "bootmedium");
    }

    // A generic medium: no node file, graphic console.
    let generic = data.path().join("generic.iso");
    data.ok(&["build", "--family", FAMILY, "--type", "iso", "--output", generic.to_str().unwrap()]);
    let text = data.ok(&["inspect", generic.to_str().unwrap()]);
    assert!(text.contains("node config:   none") && text.contains("console:       graphic"), "{text}");

    data.ok(&["reference", "remove", "--family", FAMILY, "--version", VERSION]);
    assert_eq!(data.ok(&["reference", "list"]).lines().count(), 1, "only the header is left");
    let err = data.fails(&build_args("iso", plnode, generic.to_str().unwrap()));
    assert!(err.contains("no reference BootCD planetlab-f37-x86_64"), "{err}");
}

#[test]
fn operator_errors_are_clear() {
    let data = DataDir::imported();
    let plnode = data.plnode();
    let plnode = plnode.to_str().unwrap();
    let out = data.path().join("x.iso");
    let out = out.to_str().unwrap();
    let cases: [(&[&str], &str); 6] = [
        (&["--console", "ttyS0;touch /tmp/x"], "invalid console"),
        (&["--console", "ttyS9"], "ttyS0, ttyS1, ttyS2 or ttyS3"),
        (&["--karg", "two words"], "invalid kernel argument"),
        (&["--karg", "quote\"d"], "quotes"),
        (&["--variant", "nosuch"], "has no variant \"nosuch\""),
        (&["--version", "9.9"], "no reference BootCD planetlab-f37-x86_64 version 9.9"),
    ];
    for (extra, expected) in cases {
        let mut args = vec!["build", "--family", FAMILY, "--type", "iso", "--node-config", plnode, "--output", out];
        args.extend_from_slice(extra);
        let err = data.fails(&args);
        assert!(err.contains(expected), "{extra:?}: {err}");
    }
    let err = data.fails(&["build", "--family", FAMILY, "--type", "usb_partition_cramfs", "--output", out]);
    assert!(err.contains("unknown image type"), "{err}");
    assert!(!std::path::Path::new(out).exists(), "no output after a failure");

    let reference = test_reference();
    let (kernel, initrd) = (reference.join("kernel"), reference.join("bootcd.img"));
    let import = |version: &str, extra: &[&str]| {
        let mut args = vec![
            "reference",
            "import",
            "--family",
            FAMILY,
            "--version",
            version,
            "--kernel",
            kernel.to_str().unwrap(),
            "--initrd",
            initrd.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        data.fails(&args)
    };
    let err = import(VERSION, &[]);
    assert!(err.contains("already imported"), "{err}");
    let err = import("6.0", &["--isolinux", "/nonexistent/isolinux.bin"]);
    assert!(err.contains("install the Debian package `isolinux`"), "{err}");
    let err = import("6.0", &["--variant", "novalue"]);
    assert!(err.contains("expected NAME=KERNEL_PATH"), "{err}");
    let err = import("6.0", &["--uefi", "secureboot"]);
    assert!(err.contains("unknown UEFI loader \"secureboot\": one of standalone-grub, signed-shim, none"), "{err}");
    let err = import("6.0", &["--uefi", "signed-shim", "--signed-grub", "/nonexistent/grubx64.efi.signed"]);
    assert!(err.contains("install the Debian package `grub-efi-amd64-signed`"), "{err}");
    let err = import("6.0", &["--isohybrid-mbr", "/nonexistent/isohdpfx.bin"]);
    assert!(err.contains("install the Debian package `isolinux`"), "{err}");
    assert!(!data.ok(&["reference", "list"]).contains("6.0"), "nothing imported by a failed import");

    // A signed-shim reference: Secure Boot capable (Debian's kernel is signed).
    let mut args = vec!["reference", "import", "--family", FAMILY, "--version", "6.1", "--uefi", "signed-shim"];
    args.extend(["--kernel", kernel.to_str().unwrap(), "--initrd", initrd.to_str().unwrap()]);
    data.ok(&args);
    let listing = data.ok(&["reference", "list"]);
    let row: Vec<&str> = listing.lines().find(|l| l.contains(" 6.1 ")).unwrap().split_whitespace().collect();
    assert_eq!(row[2..5], ["-", "signed-shim", "yes"], "{listing}");

    let err = data.fails(&["inspect", plnode]);
    assert!(err.contains("neither ISO 9660, FAT nor an MBR disk") || err.contains("too short"), "{err}");
}
