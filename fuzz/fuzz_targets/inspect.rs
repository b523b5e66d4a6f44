//! `bootmedium inspect` (crates/media inspect.rs) on arbitrary image files: container detection,
//! the bootloader configuration, the marker, the overlay (gzip'd cpio) or cramfs.img, and
//! NODE_KEY masking. An image from the field is untrusted input: no panic, no loop, bounded
//! memory; and unless asked, no NODE_KEY value is shown.
#![no_main]

use bootmedium_media::inspect;
use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;

/// `inspect` reads a path: one scratch file per process, in the temporary directory (run.sh
/// makes a private one, on tmpfs where there is one, and removes it afterwards).
fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| std::env::temp_dir().join(format!("bootmedium-fuzz-inspect-{}.img", std::process::id())))
}

fuzz_target!(|data: &[u8]| {
    let path = scratch();
    std::fs::write(path, data).expect("scratch image");
    if let Ok(found) = inspect(path, false)
        && let Some(config) = &found.node_config
    {
        for line in config.lines() {
            if let Some((name, value)) = line.split_once('=')
                && name.trim() == "NODE_KEY"
            {
                assert!(value.trim().trim_matches(['"', '\'']) == "********", "unmasked key: {line:?}");
            }
        }
    }
    let _ = inspect(path, true);
});
