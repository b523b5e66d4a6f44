//! The fast path equals the slow path, and the same inputs give the same bytes (docs/media.md §2):
//! reproducible media: a node medium spliced over a template has the sha256 of a full
//! build of the same inputs without templates, two imports of the same inputs give identical
//! templates and media, and a generic medium is its template byte for byte.

mod common;

use std::io::{Read, Seek, SeekFrom};

use bootmedium_media::{ImageType, MediaError, MediumRequest, SlotKind};
use common::{file_sha256, import, import_request, node_request, noise, settings};

#[test]
fn spliced_media_equal_full_builds_and_imports_are_reproducible() {
    let request = import_request("planetlab-f37-x86_64", "5.4");
    let first = import(&request);
    let second = import(&request);
    assert_eq!(
        first.reference.manifest().templates,
        second.reference.manifest().templates,
        "two imports of the same inputs must give the same templates"
    );
    let out = tempfile::tempdir().unwrap();
    for image_type in ImageType::TEMPLATED {
        let node = node_request(image_type);
        let spliced = out.path().join(format!("spliced.{image_type}"));
        let full = out.path().join(format!("full.{image_type}"));
        let mut medium = first.reference.prepare(&node, &settings()).unwrap();
        medium.write_to(&spliced).unwrap();
        first.reference.build_full(&node, &settings(), &full).unwrap();
        let sha = file_sha256(&spliced);
        assert_eq!(sha, file_sha256(&full), "{image_type}: splice differs from the full build");
        assert_eq!(medium.sha256().unwrap(), sha, "{image_type}: reader differs from write_to");
        assert_eq!(medium.len(), std::fs::metadata(&spliced).unwrap().len());
        let again = second.reference.prepare(&node, &settings()).unwrap();
        assert_eq!(again.sha256().unwrap(), sha, "{image_type}: not reproducible across imports");

        // A generic medium (the settings of the import) is the template itself.
        let generic = first.reference.prepare(&MediumRequest::generic(image_type), &settings()).unwrap();
        let template = first.reference.manifest().template(None, image_type).unwrap();
        assert_eq!(generic.sha256().unwrap(), template.sha256, "{image_type}: generic medium != template");
    }
}

#[test]
fn reader_serves_ranges_and_copy_to_matches() {
    let imported = import(&import_request("planetlab-f37-x86_64", "5.4"));
    let medium = imported.reference.prepare(&node_request(ImageType::Iso), &settings()).unwrap();
    let mut whole = Vec::new();
    assert_eq!(medium.copy_to(&mut whole).unwrap(), medium.len());
    let template = imported.reference.manifest().template(None, ImageType::Iso).unwrap();
    // Ranges that start before, inside and after each slot, as HTTP Range requests would.
    let mut reader = medium.reader();
    for slot in &template.slots {
        for start in [slot.offset - 100, slot.offset, slot.offset + 7, slot.offset + slot.size - 3] {
            let mut piece = vec![0u8; 5000];
            reader.seek(SeekFrom::Start(start)).unwrap();
            reader.read_exact(&mut piece).unwrap();
            assert_eq!(piece, whole[start as usize..start as usize + 5000], "{:?} at {start}", slot.kind);
        }
    }
    // The overlay slot holds the gzip'd overlay, then zeros.
    let overlay = template.slots.iter().find(|s| s.kind == SlotKind::Overlay).unwrap();
    let bytes = &whole[overlay.offset as usize..(overlay.offset + overlay.size) as usize];
    assert_eq!(&bytes[..2], &[0x1f, 0x8b]);
    assert_eq!(*bytes.last().unwrap(), 0);
}

#[test]
fn oversized_node_files_and_bad_requests_are_client_errors() {
    let imported = import(&import_request("planetlab-f37-x86_64", "5.4"));
    // Incompressible text: 600 KB of hexadecimal noise gzips to about 300 KB > 256 KiB.
    let noise = noise(600_000, 0x1234_5678, |x| char::from_digit(x % 16, 16).unwrap());
    let request = MediumRequest { node_config: Some(noise), ..node_request(ImageType::Usb) };
    let err = imported.reference.prepare(&request, &settings()).unwrap_err();
    assert!(err.is_invalid_request(), "{err}");
    let message = err.to_string();
    assert!(message.contains("262144"), "the error must name the slot size: {message}");
    match err {
        MediaError::SlotOverflow { content_len, slot_size, .. } => assert!(content_len > slot_size),
        other => panic!("{other}"),
    }

    let request = MediumRequest { variant: Some("nosuch".to_owned()), ..node_request(ImageType::Iso) };
    let err = imported.reference.prepare(&request, &settings()).unwrap_err();
    assert!(matches!(err, MediaError::UnknownVariant { .. }) && err.is_invalid_request(), "{err}");

    // A template that changed size is noticed, not served.
    let template = imported.reference.manifest().template(None, ImageType::Usb).unwrap();
    let path = imported.reference.dir().join(&template.file);
    std::fs::OpenOptions::new().append(true).open(&path).unwrap().set_len(template.size + 512).unwrap();
    let err = imported.reference.prepare(&node_request(ImageType::Usb), &settings()).unwrap_err();
    assert!(matches!(err, MediaError::Corrupt(_)) && !err.is_invalid_request(), "{err}");
}

/// The environment variable that makes the test below act as its own child process.
const CHILD_STORE: &str = "BOOTMEDIUM_TEST_CHILD_STORE";

/// The cramfs types follow the slot design (built natively per node, streaming): each has a template with a `cramfs.img` slot, and a node medium is prepared by a
/// child process whose PATH starts with stand-ins for every program an image could be made with
/// (syslinux and mtools first) that record being run and fail. None runs; the media equal the
/// full builds and, outside their slots, their templates byte for byte.
#[test]
fn cramfs_media_are_spliced_without_external_programs() {
    if let Some(store) = std::env::var_os(CHILD_STORE) {
        let store = std::path::PathBuf::from(store);
        let reference = bootmedium_media::ReferenceStore::open(&store).find("planetlab-f37-x86_64", None).unwrap();
        let settings = common::settings_in(&store.join("test-reference"));
        for image_type in [ImageType::IsoCramfs, ImageType::UsbCramfs] {
            let mut medium = reference.prepare(&node_request(image_type), &settings).unwrap();
            medium.write_to(&store.join(format!("node.{image_type}"))).unwrap();
        }
        return;
    }
    let imported = import(&import_request("planetlab-f37-x86_64", "5.4"));
    let store = imported.dir.path();
    std::os::unix::fs::symlink(common::test_reference(), store.join("test-reference")).unwrap();
    let fake_bin = store.join("fake-bin");
    std::fs::create_dir(&fake_bin).unwrap();
    let ran = store.join("ran.log");
    let programs = [
        "syslinux",
        "extlinux",
        "mcopy",
        "mmd",
        "mattrib",
        "mformat",
        "mtools",
        "mkfs.vfat",
        "mkfs.fat",
        "mkdosfs",
        "mkisofs",
        "genisoimage",
        "xorriso",
        "mkfs.cramfs",
        "mkcramfs",
        "gzip",
        "cpio",
        "sh",
        "bash",
        "dd",
        "cp",
    ];
    for program in programs {
        let path = fake_bin.join(program);
        std::fs::write(&path, format!("#!/bin/sh\necho {program} >> '{}'\nexit 1\n", ran.display())).unwrap();
        let mut permissions = std::fs::metadata(&path).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
        std::fs::set_permissions(&path, permissions).unwrap();
    }
    let path = format!("{}:{}", fake_bin.display(), std::env::var("PATH").unwrap_or_default());
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "cramfs_media_are_spliced_without_external_programs", "--test-threads=1", "--nocapture"])
        .env(CHILD_STORE, store)
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the child failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!ran.exists(), "the per-node path ran {}", std::fs::read_to_string(&ran).unwrap_or_default());

    let manifest = imported.reference.manifest();
    let out = tempfile::tempdir().unwrap();
    for image_type in [ImageType::IsoCramfs, ImageType::UsbCramfs] {
        let template = manifest.template(None, image_type).unwrap_or_else(|| panic!("no {image_type} template"));
        let kinds: Vec<SlotKind> = template.slots.iter().map(|s| s.kind).collect();
        assert!(kinds.contains(&SlotKind::Cramfs) && kinds.contains(&SlotKind::Config), "{kinds:?}");
        assert!(!kinds.contains(&SlotKind::Overlay), "{kinds:?}");
        let cramfs_slot = template.slots.iter().find(|s| s.kind == SlotKind::Cramfs).unwrap();
        assert_eq!(cramfs_slot.size, manifest.slot_sizes.cramfs);

        let node = std::fs::read(store.join(format!("node.{image_type}"))).unwrap();
        let full = out.path().join(format!("full.{image_type}"));
        imported.reference.build_full(&node_request(image_type), &settings(), &full).unwrap();
        assert!(node == std::fs::read(&full).unwrap(), "{image_type}: splice differs from the full build");
        let template_bytes = std::fs::read(imported.reference.dir().join(&template.file)).unwrap();
        assert_eq!(node.len(), template_bytes.len());
        let mut position = 0;
        for slot in &template.slots {
            let (start, end) = (slot.offset as usize, (slot.offset + slot.size) as usize);
            assert!(node[position..start] == template_bytes[position..start], "{image_type}: differs before {start}");
            position = end;
        }
        assert!(node[position..] == template_bytes[position..], "{image_type}: differs at the end");
        // The node's cramfs differs from the generic one and is zero-padded in its slot.
        let slot = &node[cramfs_slot.offset as usize..(cramfs_slot.offset + cramfs_slot.size) as usize];
        assert_eq!(&slot[..4], &0x28cd_3d45u32.to_le_bytes(), "cramfs magic");
        assert_ne!(
            slot,
            &template_bytes[cramfs_slot.offset as usize..(cramfs_slot.offset + cramfs_slot.size) as usize]
        );
        assert_eq!(*slot.last().unwrap(), 0);
    }
}

#[test]
fn oversized_cramfs_is_a_slot_overflow() {
    let imported = import(&import_request("planetlab-f37-x86_64", "5.4"));
    // Incompressible node configuration: about 3 MiB of noise overflows the 2 MiB margin.
    let noise = noise(3_200_000, 0x9e37_79b9, |x| char::from(b'!' + (x % 94) as u8));
    let request = MediumRequest { node_config: Some(noise), ..node_request(ImageType::UsbCramfs) };
    let err = imported.reference.prepare(&request, &settings()).unwrap_err();
    assert!(err.is_invalid_request(), "{err}");
    let slot_size = imported.reference.manifest().slot_sizes.cramfs;
    assert!(err.to_string().contains(&slot_size.to_string()), "the error must name the slot size: {err}");
    match err {
        MediaError::SlotOverflow { content_len, slot_size: size, .. } => {
            assert!(content_len > size);
            assert_eq!(size, slot_size);
        }
        other => panic!("{other}"),
    }
}
