//! The reference store's manifest cache and its cross-process invalidation: `find` answers
//! from memory until the store's generation marker (`references/generation`, rewritten by every
//! import and removal) changes. A second `ReferenceStore` opened on the same directory stands
//! for another process (`bootmedium reference import/remove` beside `bootmedium serve`): it
//! shares nothing in memory with the first.

mod common;

use std::time::Instant;

use bootmedium_media::{ImportRequest, MediaError, ReferenceStore};
use common::{import_request, require_tool, settings, test_reference};

const FAMILY: &str = "planetlab-f37-x86_64";

fn import_into(store: &ReferenceStore, request: &ImportRequest) {
    require_tool("syslinux", "syslinux");
    require_tool("mcopy", "mtools");
    store.import(request, &settings(), &mut |_| {}).unwrap();
}

/// The manifest file of a stored reference.
fn manifest_path(store: &ReferenceStore, version: &str) -> std::path::PathBuf {
    store.root().join("families").join(FAMILY).join(version).join("manifest.json")
}

#[test]
fn another_store_sees_imports_and_removals() {
    let dir = tempfile::tempdir().unwrap();
    let server = ReferenceStore::open(dir.path());
    let cli = ReferenceStore::open(dir.path());

    // Nothing imported yet, no generation file: a store of an older data directory.
    assert!(matches!(server.find(FAMILY, None), Err(MediaError::NotFound { .. })));
    import_into(&cli, &import_request(FAMILY, "5.9"));
    assert!(server.root().join("generation").is_file(), "an import creates the generation marker");
    assert_eq!(server.find(FAMILY, None).unwrap().version(), "5.9");
    assert_eq!(server.find(FAMILY, Some("5.9")).unwrap().version(), "5.9");

    // Both finds are cached now; a newer version imported elsewhere becomes the default.
    import_into(&cli, &import_request(FAMILY, "5.10"));
    assert_eq!(server.find(FAMILY, None).unwrap().version(), "5.10");
    assert_eq!(server.find(FAMILY, Some("5.9")).unwrap().version(), "5.9");

    // Removed elsewhere: gone here, for the exact version and as the default.
    cli.remove(FAMILY, "5.10").unwrap();
    assert!(matches!(server.find(FAMILY, Some("5.10")), Err(MediaError::NotFound { .. })));
    assert_eq!(server.find(FAMILY, None).unwrap().version(), "5.9");
    cli.remove(FAMILY, "5.9").unwrap();
    assert!(matches!(server.find(FAMILY, Some("5.9")), Err(MediaError::NotFound { .. })));
    assert!(matches!(server.find(FAMILY, None), Err(MediaError::NotFound { .. })));
}

#[test]
fn a_reimported_version_gives_the_new_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let server = ReferenceStore::open(dir.path());
    let cli = ReferenceStore::open(dir.path());
    let mut request = import_request(FAMILY, "5.9");
    request.timestamp = Some(1_600_000_000);
    import_into(&cli, &request);
    let before = server.find(FAMILY, Some("5.9")).unwrap();
    assert_eq!(before.manifest().timestamp, 1_600_000_000);
    assert_eq!(server.find(FAMILY, None).unwrap().manifest().timestamp, 1_600_000_000);

    // The same version again from other inputs: another kernel and another timestamp.
    cli.remove(FAMILY, "5.9").unwrap();
    let kernel = dir.path().join("kernel-padded");
    let mut bytes = std::fs::read(test_reference().join("kernel")).unwrap();
    bytes.extend_from_slice(&[0u8; 4096]);
    std::fs::write(&kernel, &bytes).unwrap();
    request.kernel = kernel;
    request.timestamp = Some(1_700_000_000);
    import_into(&cli, &request);

    for found in [server.find(FAMILY, Some("5.9")).unwrap(), server.find(FAMILY, None).unwrap()] {
        assert_eq!(found.manifest().timestamp, 1_700_000_000);
        assert_ne!(found.manifest().inputs.kernel, before.manifest().inputs.kernel);
        assert_eq!(found.manifest(), cli.find(FAMILY, Some("5.9")).unwrap().manifest());
    }
    // A reference found before keeps the manifest it was found with.
    assert_eq!(before.manifest().timestamp, 1_600_000_000);
}

/// The contract: a reference changes only through import and remove. A manifest edited behind
/// the store's back is not seen by a store that has it cached, until the next import or
/// removal of any reference bumps the generation.
#[test]
fn finds_are_answered_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let server = ReferenceStore::open(dir.path());
    let cli = ReferenceStore::open(dir.path());
    import_into(&cli, &import_request(FAMILY, "5.9"));
    let cached = server.find(FAMILY, Some("5.9")).unwrap().manifest().clone();
    assert_eq!(server.find(FAMILY, None).unwrap().manifest(), &cached);

    let path = manifest_path(&server, "5.9");
    let mut edited: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edited["timestamp"] = 42.into();
    std::fs::write(&path, serde_json::to_vec(&edited).unwrap()).unwrap();

    assert_eq!(server.find(FAMILY, Some("5.9")).unwrap().manifest(), &cached, "not read again");
    assert_eq!(server.find(FAMILY, None).unwrap().manifest(), &cached, "not read again");
    // A clone shares the cache (the server hands its store to many tasks).
    assert_eq!(server.clone().find(FAMILY, Some("5.9")).unwrap().manifest(), &cached);
    // A store without the cached entry reads the file.
    assert_eq!(ReferenceStore::open(dir.path()).find(FAMILY, Some("5.9")).unwrap().manifest().timestamp, 42);

    // Any import or removal bumps the generation and drops every cached manifest.
    import_into(&cli, &import_request("other-family", "1"));
    assert_eq!(server.find(FAMILY, Some("5.9")).unwrap().manifest().timestamp, 42);
    assert_eq!(server.find(FAMILY, None).unwrap().manifest().timestamp, 42);
}

/// A data directory from before the generation marker: its references are found, and the
/// first import or removal creates the marker.
#[test]
fn a_store_without_a_generation_marker() {
    let dir = tempfile::tempdir().unwrap();
    let cli = ReferenceStore::open(dir.path());
    import_into(&cli, &import_request(FAMILY, "5.9"));
    let marker = cli.root().join("generation");
    std::fs::remove_file(&marker).unwrap();

    let server = ReferenceStore::open(dir.path());
    assert_eq!(server.find(FAMILY, None).unwrap().version(), "5.9");
    cli.remove(FAMILY, "5.9").unwrap();
    assert!(marker.is_file(), "a removal creates the generation marker");
    assert!(matches!(server.find(FAMILY, None), Err(MediaError::NotFound { .. })));
}

/// Nanoseconds per `find` on a store of two versions, cached or not (run with
/// `cargo test -p bootmedium-media --release --test store_cache -- --ignored --nocapture`).
#[test]
#[ignore = "a measurement, not a check"]
fn measure_find() {
    const ROUNDS: u32 = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let store = ReferenceStore::open(dir.path());
    import_into(&store, &import_request(FAMILY, "5.9"));
    import_into(&store, &import_request(FAMILY, "5.10"));
    let manifest_bytes = std::fs::metadata(manifest_path(&store, "5.10")).unwrap().len();
    let time = |what: &str, find: &dyn Fn() -> String| {
        assert_eq!(find(), "5.10");
        let start = Instant::now();
        for _ in 0..ROUNDS {
            std::hint::black_box(find());
        }
        println!("{what}: {} ns per find", start.elapsed().as_nanos() / u128::from(ROUNDS));
    };
    println!("manifest.json: {manifest_bytes} bytes");
    time("find(family, Some(version)), one store", &|| store.find(FAMILY, Some("5.10")).unwrap().version().to_owned());
    time("find(family, None), one store", &|| store.find(FAMILY, None).unwrap().version().to_owned());
    time("find(family, Some(version)), a new store each time", &|| {
        ReferenceStore::open(dir.path()).find(FAMILY, Some("5.10")).unwrap().version().to_owned()
    });
}

/// The server shares one store among its tasks.
#[test]
fn the_store_and_its_references_are_send_and_sync() {
    fn shared<T: Send + Sync + Clone>() {}
    shared::<ReferenceStore>();
    shared::<bootmedium_media::Reference>();
}
