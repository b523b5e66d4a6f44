//! The reference store: content-addressed inputs, several versions, variants, removal with
//! garbage collection, and the errors an operator meets.

mod common;

use bootmedium_media::{ImageType, ImportRequest, MediaError, MediumRequest, ReferenceStore, inspect};
use common::{import_request, node_request, require_tool, settings, test_reference};

fn import_into(store: &ReferenceStore, request: &ImportRequest) {
    store.import(request, &settings(), &mut |_| {}).unwrap();
}

#[test]
fn versions_variants_and_removal() {
    require_tool("syslinux", "syslinux");
    let dir = tempfile::tempdir().unwrap();
    let store = ReferenceStore::open(dir.path());
    let family = "planetlab-f37-x86_64";

    // A variant kernel: the test kernel with trailing padding (it only has to differ).
    let variant_kernel = dir.path().join("kernel-variant");
    let mut bytes = std::fs::read(test_reference().join("kernel")).unwrap();
    bytes.extend_from_slice(&[0u8; 4096]);
    std::fs::write(&variant_kernel, &bytes).unwrap();

    let mut request = import_request(family, "5.9");
    request.variants.push(("debug".to_owned(), variant_kernel.clone()));
    let mut progress = Vec::new();
    store.import(&request, &settings(), &mut |p| progress.push(p.to_string())).unwrap();
    assert_eq!(progress.iter().filter(|p| p.starts_with("building template")).count(), 10, "{progress:?}");
    import_into(&store, &import_request(family, "5.10"));

    let listed: Vec<(String, String)> = store.list().unwrap().into_iter().map(|m| (m.family, m.version)).collect();
    assert_eq!(listed, [(family.to_owned(), "5.9".to_owned()), (family.to_owned(), "5.10".to_owned())]);
    assert_eq!(store.find(family, None).unwrap().version(), "5.10", "the highest version is the default");
    let old = store.find(family, Some("5.9")).unwrap();
    assert_eq!(old.manifest().variants(), ["debug"]);

    // The variant medium boots the variant kernel.
    let out = dir.path().join("variant.iso");
    let request = MediumRequest { variant: Some("debug".to_owned()), ..node_request(ImageType::Iso) };
    old.prepare(&request, &settings()).unwrap().write_to(&out).unwrap();
    let found = inspect(&out, false).unwrap();
    assert_eq!((found.version.as_deref(), found.variant.as_deref()), (Some("5.9"), Some("debug")));
    require_tool("isoinfo", "genisoimage");
    let kernel =
        std::process::Command::new("isoinfo").args(["-R", "-x", "/kernel", "-i"]).arg(&out).output().unwrap().stdout;
    assert_eq!(kernel, bytes, "the variant medium must carry the variant kernel");

    // Inputs are stored once: one kernel, one variant, one initrd, isolinux, ldlinux, mbr,
    // isohdpfx and the UEFI GRUB (made at each import, the same bytes every time).
    let objects = || std::fs::read_dir(store.root().join("objects")).unwrap().count();
    assert_eq!(objects(), 8);
    let again = import_into_err(&store, &import_request(family, "5.10"));
    assert!(matches!(again, MediaError::AlreadyExists { .. }), "{again}");

    store.remove(family, "5.10").unwrap();
    assert_eq!(store.find(family, None).unwrap().version(), "5.9");
    assert_eq!(objects(), 8, "5.9 still uses every object");
    store.remove(family, "5.9").unwrap();
    assert_eq!(objects(), 0, "unused inputs are deleted");
    assert!(matches!(store.find(family, None), Err(MediaError::NotFound { .. })));
    assert!(matches!(store.remove(family, "5.9"), Err(MediaError::NotFound { .. })));
}

fn import_into_err(store: &ReferenceStore, request: &ImportRequest) -> MediaError {
    store.import(request, &settings(), &mut |_| {}).unwrap_err()
}

#[test]
fn import_errors_name_what_to_install() {
    let dir = tempfile::tempdir().unwrap();
    let store = ReferenceStore::open(dir.path());
    let mut request = import_request("planetlab-f37-x86_64", "5.4");
    request.isolinux = dir.path().join("missing/isolinux.bin");
    let err = import_into_err(&store, &request);
    let message = err.to_string();
    assert!(message.contains("Debian package `isolinux`") && message.contains("--isolinux"), "{message}");

    let mut request = import_request("planetlab-f37-x86_64", "5.4");
    request.mbr = dir.path().join("missing/mbr.bin");
    assert!(import_into_err(&store, &request).to_string().contains("`syslinux-common`"));

    for (family, version) in [("../etc", "1"), ("ok", "a/b"), ("", "1"), ("ok", ".hidden")] {
        let err = import_into_err(&store, &import_request(family, version));
        assert!(matches!(err, MediaError::InvalidName { .. }), "{family} {version}: {err}");
    }

    let junk = dir.path().join("junk.img");
    std::fs::write(&junk, b"\xfd7zXZ\0 not gzip").unwrap();
    let mut request = import_request("planetlab-f37-x86_64", "5.4");
    request.initrd = junk;
    assert!(matches!(import_into_err(&store, &request), MediaError::Initrd(_)));
    assert!(store.list().unwrap().is_empty(), "a failed import leaves no reference");
    let staging = std::fs::read_dir(store.root().join("staging")).map(|d| d.count()).unwrap_or(0);
    assert_eq!(staging, 0, "nor a staging directory");
}

/// A root cramfs cannot hold (a file of 16 MiB or more) still imports: the other types work,
/// and the cramfs types are refused as an invalid request naming the reason.
#[test]
fn a_root_too_big_for_cramfs_still_imports_without_cramfs_types() {
    require_tool("syslinux", "syslinux");
    require_tool("cpio", "cpio");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    std::fs::write(root.join("big.bin"), vec![0u8; 17 << 20]).unwrap();
    let initrd = dir.path().join("bootcd.img");
    let script = format!("cd {} && find . | cpio --quiet -o -H newc | gzip -1 > {}", root.display(), initrd.display());
    let out = std::process::Command::new("sh").arg("-c").arg(&script).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let store = ReferenceStore::open(&dir.path().join("data"));
    let mut request = import_request("planetlab-f37-x86_64", "big");
    request.initrd = initrd;
    let reference = store.import(&request, &settings(), &mut |_| {}).unwrap();
    let manifest = reference.manifest();
    let reason = manifest.cramfs_unavailable.as_deref().expect("cramfs marked unavailable");
    assert!(reason.contains("16 MiB"), "{reason}");
    let types: Vec<ImageType> = manifest.templates.iter().map(|t| t.image_type).collect();
    assert_eq!(types, [ImageType::Iso, ImageType::Usb, ImageType::UsbPartition]);
    reference.prepare(&node_request(ImageType::Iso), &settings()).unwrap();
    for cramfs in [ImageType::IsoCramfs, ImageType::UsbCramfs] {
        let err = reference.prepare(&node_request(cramfs), &settings()).unwrap_err();
        assert!(err.is_invalid_request(), "{err}");
        assert!(err.to_string().contains("has no cramfs media"), "{err}");
    }
}
