//! The fast path equals the slow path, and the same inputs give the same bytes (MEDIA.md §2;
//! issue 4 "Reproducible"): a node medium spliced over a template has the sha256 of a full
//! build of the same inputs without templates, two imports of the same inputs give identical
//! templates and media, and a generic medium is its template byte for byte.

mod common;

use std::io::{Read, Seek, SeekFrom};

use bootmedium_media::{ImageType, MediaError, MediumRequest, SlotKind};
use common::{file_sha256, import, import_request, node_request, settings};

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
    let mut state = 0x1234_5678u32;
    let noise: String = (0..600_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            char::from_digit(state % 16, 16).unwrap()
        })
        .collect();
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
