//! A node medium's sha256 from the template's prefix state (FIPS 180-4 §6.2: the state after a
//! prefix is all the prefix contributes): for every image type and two nodes with different
//! slot contents, `PreparedMedium::sha256` equals `sha256sum` of the bytes `write_to` wrote,
//! while reading only the slots and what follows them; a state that does not match its
//! manifest, and a manifest of an older format, are refused.

mod common;

use bootmedium_media::{ImageType, KernelArg, MediaError, MediumRequest, ReferenceStore};
use common::{PLNODE, import, import_request, node_request, run, settings};

/// `sha256sum` of a file: computed by another program than the one under test.
fn sha256sum(path: &std::path::Path) -> String {
    let out = run("sha256sum", &[path.to_str().unwrap()]);
    out.split_whitespace().next().unwrap().to_owned()
}

#[test]
fn node_media_hash_from_the_prefix_state_equals_sha256sum() {
    common::require_tool("sha256sum", "coreutils");
    let imported = import(&import_request("planetlab-f37-x86_64", "5.4"));
    let manifest = imported.reference.manifest();
    let other_node = |image_type| MediumRequest {
        kargs: vec![KernelArg::new("other=1").unwrap()],
        node_config: Some(PLNODE.replace("4711", "815").replace("node17", "node18")),
        ..node_request(image_type)
    };
    let out = tempfile::tempdir().unwrap();
    for image_type in ImageType::TEMPLATED {
        let template = manifest.template(None, image_type).unwrap();
        let first_slot = template.slots.iter().map(|s| s.offset).min().unwrap();
        assert_eq!(template.hash_prefix.len, first_slot, "{image_type}: the prefix ends at the first slot");
        let mut hashes = Vec::new();
        for (n, request) in [node_request(image_type), other_node(image_type)].into_iter().enumerate() {
            let mut medium = imported.reference.prepare(&request, &settings()).unwrap();
            let path = out.path().join(format!("node{n}.{image_type}"));
            medium.write_to(&path).unwrap();
            let expected = sha256sum(&path);
            assert_eq!(medium.sha256().unwrap(), expected, "{image_type} node {n}");
            assert_eq!(medium.hashed_len(), template.size - template.hash_prefix.len);
            hashes.push(expected);
        }
        assert_ne!(hashes[0], hashes[1], "{image_type}: the two nodes' media differ");

        // What is read per node: the slots and the container's tail after them.
        let slots: u64 = template.slots.iter().map(|s| s.size).sum();
        let tail = template.size - template.hash_prefix.len;
        let fraction = tail as f64 / template.size as f64;
        eprintln!(
            "{image_type}: image {} B, prefix {} B, hashed per node {tail} B ({:.2} %), of which slots {slots} B",
            template.size,
            template.hash_prefix.len,
            100.0 * fraction
        );
        if image_type.is_cramfs() {
            // The merged cramfs is per node and most of the image; its slot is hashed whole.
            assert!(tail < slots + 1024 * 1024, "{image_type}: {tail} bytes after the first slot");
        } else {
            // Slots (about 262 KiB) plus ISO padding (300 KiB) or FAT's last partial track.
            assert!(tail < 600 * 1024, "{image_type}: {tail} bytes after the first slot");
            assert!(fraction < 0.10, "{image_type}: {:.2} % of the image hashed per node", 100.0 * fraction);
        }
    }
}

/// Rewrites the reference's manifest with `change` applied to its JSON.
fn edit_manifest(dir: &std::path::Path, change: impl FnOnce(&mut serde_json::Value)) {
    let path = dir.join("manifest.json");
    let mut json: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    change(&mut json);
    std::fs::write(&path, serde_json::to_vec_pretty(&json).unwrap()).unwrap();
}

#[test]
fn mismatched_prefix_states_and_old_manifests_are_refused() {
    let imported = import(&import_request("planetlab-f37-x86_64", "5.4"));
    let dir = imported.reference.dir().to_owned();
    let find = || ReferenceStore::open(imported.dir.path()).find("planetlab-f37-x86_64", Some("5.4"));
    let usb = |json: &mut serde_json::Value| -> usize {
        json["templates"].as_array().unwrap().iter().position(|t| t["image_type"] == "usb").unwrap()
    };

    // A state recorded with another prefix length than the one it covers is noticed.
    edit_manifest(&dir, |json| {
        let i = usb(json);
        let len = json["templates"][i]["hash_prefix"]["len"].as_u64().unwrap();
        json["templates"][i]["hash_prefix"]["len"] = (len - 64).into();
    });
    let err = find().unwrap().prepare(&node_request(ImageType::Usb), &settings()).unwrap_err();
    assert!(matches!(err, MediaError::Corrupt(_)) && !err.is_invalid_request(), "{err}");
    assert!(err.to_string().contains("covers"), "{err}");
    // Other types are unaffected.
    find().unwrap().prepare(&node_request(ImageType::Iso), &settings()).unwrap();

    // A prefix running into a slot is refused even with a consistent state: a state of the
    // template's first bytes up to one block into the first slot.
    edit_manifest(&dir, |json| {
        let i = usb(json);
        let first = json["templates"][i]["slots"][0]["offset"].as_u64().unwrap();
        let file = dir.join(json["templates"][i]["file"].as_str().unwrap());
        let state = prefix_state_of(&file, first + 64);
        json["templates"][i]["hash_prefix"] = serde_json::json!({ "len": first + 64, "state": state });
    });
    let err = find().unwrap().prepare(&node_request(ImageType::Usb), &settings()).unwrap_err();
    assert!(matches!(err, MediaError::Corrupt(_)), "{err}");
    assert!(err.to_string().contains("first slot"), "{err}");

    // A manifest of the previous format (no prefix states) asks to import again.
    edit_manifest(&dir, |json| {
        json["format"] = 2.into();
        for template in json["templates"].as_array_mut().unwrap() {
            template.as_object_mut().unwrap().remove("hash_prefix");
        }
    });
    let err = find().unwrap_err();
    assert!(matches!(err, MediaError::Corrupt(_)), "{err}");
    assert!(err.to_string().contains("manifest format 2") && err.to_string().contains("import it again"), "{err}");
    // It can still be removed (its stored inputs with it).
    imported.store.remove("planetlab-f37-x86_64", "5.4").unwrap();
    assert!(imported.store.list().unwrap().is_empty());
    assert_eq!(std::fs::read_dir(imported.dir.path().join("references/objects")).unwrap().count(), 0);
}

/// The serialized SHA-256 state (hex) after the first `len` bytes of `file`.
fn prefix_state_of(file: &std::path::Path, len: u64) -> String {
    use sha2::Digest;
    use sha2::digest::common::hazmat::SerializableState;
    let bytes = std::fs::read(file).unwrap();
    let mut hasher = sha2::Sha256::new();
    hasher.update(&bytes[..len as usize]);
    hasher.serialize().iter().map(|b| format!("{b:02x}")).collect()
}
