//! What a caller's text turns into before it reaches a kernel command line or a path:
//! GetBootMedium's options over the node's bootcd tags (crates/plc medium_options.rs,
//! docs/plc-api.md §9.2 step 4), console specifications (`Console::parse`), kernel arguments
//! (`KernelArg::new`), and the result filename's markers and confinement (crates/plc
//! results.rs, §9.2 step 7). Checked beyond "no panic": a parsed console prints back to itself
//! and its `console=` argument is a valid kernel argument; an accepted kernel argument is 1–256
//! printable ASCII characters without quotes or backslashes; a non-admin's result path stays
//! inside the results directory, also through symbolic links.
#![no_main]

use bootmedium_media::{Console, KernelArg, MAX_KARG_LEN};
use bootmedium_plc::fuzzing::{Container, MEDIUM_TAGS, resolve_medium_options};
use bootmedium_plc::results::{self, Markers};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

/// Options GetBootMedium knows, as prefixes of the generated ones.
const OPTIONS: &[&str] = &[
    "partition",
    "serial",
    "serial:",
    "serial:ttyS1:",
    "variant:",
    "cramfs",
    "no-hangcheck",
    "systemd-console",
    "systemd-debug",
    "",
];

#[derive(Arbitrary, Debug)]
struct Input {
    usb: bool,
    /// (index into MEDIUM_TAGS, else an unknown tag; value)
    tags: Vec<(u8, String)>,
    /// (index into OPTIONS; text appended)
    options: Vec<(u8, String)>,
    console: String,
    kargs: Vec<String>,
    filename: String,
    nodename: String,
    version: Option<String>,
    plc_name: String,
    family: String,
}

/// A results directory with a subdirectory and two symbolic links leading out of it, in the
/// temporary directory (run.sh makes a private one and removes it afterwards).
fn results_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("bootmedium-fuzz-results-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).expect("results directory");
        std::os::unix::fs::symlink("..", dir.join("up")).expect("symlink");
        std::os::unix::fs::symlink("/", dir.join("sub/root")).expect("symlink");
        dir.canonicalize().expect("canonical results directory")
    })
}

fn check_console(spec: &str) {
    if let Ok(console) = Console::parse(spec) {
        let printed = console.to_string();
        assert_eq!(Console::parse(&printed).ok(), Some(console), "{spec:?} printed as {printed:?}");
        if let Some(serial) = console.serial() {
            KernelArg::new(&serial.kernel_arg()).expect("console= of a parsed console");
        }
    }
}

fn check_karg(text: &str) {
    if let Ok(karg) = KernelArg::new(text) {
        let s = karg.as_str();
        assert!(!s.is_empty() && s.len() <= MAX_KARG_LEN, "{s:?}");
        assert!(s.bytes().all(|b| b.is_ascii_graphic() && !b"\"'`\\".contains(&b)), "{s:?}");
    }
}

/// The deepest existing ancestor of `path`, resolved.
fn existing_ancestor(path: &Path) -> PathBuf {
    let mut at = path.to_path_buf();
    loop {
        if let Ok(real) = at.canonicalize() {
            return real;
        }
        if !at.pop() {
            return PathBuf::from("/");
        }
    }
}

fuzz_target!(|input: Input| {
    let container = if input.usb { Container::Usb } else { Container::Iso };
    let tags: Vec<(String, String)> = input
        .tags
        .iter()
        .map(|(i, v)| (MEDIUM_TAGS.get(usize::from(*i)).map_or("other", |n| n).to_owned(), v.clone()))
        .collect();
    let options: Vec<String> =
        input.options.iter().map(|(i, s)| format!("{}{s}", OPTIONS[usize::from(*i) % OPTIONS.len()])).collect();
    let option_refs: Vec<&str> = options.iter().map(String::as_str).collect();
    if let Ok(resolved) = resolve_medium_options(container, &tags, &option_refs) {
        if let Some(serial) = &resolved.serial {
            check_console(serial);
        }
        for karg in &resolved.kargs {
            check_karg(karg);
        }
    }
    check_console(&input.console);
    for karg in &input.kargs {
        check_karg(karg);
    }

    let dir = results_dir();
    let markers = Markers {
        results_dir: dir,
        nodename: &input.nodename,
        suffix: if input.usb { ".usb" } else { ".iso" },
        version: input.version.as_deref(),
        plc_name: &input.plc_name,
        family: &input.family,
        arch: "x86_64",
    };
    let expanded = results::expand(&input.filename, &markers);
    let longest = [dir.as_os_str().len(), input.nodename.len(), input.plc_name.len(), input.family.len(), 6]
        .into_iter()
        .chain(input.version.as_ref().map(String::len))
        .max()
        .unwrap_or(0);
    assert!(expanded.len() <= input.filename.len() * longest.max(1), "expansion grew too much");
    if let Ok(path) = results::resolve(&expanded, dir, results::Scope::Within(&[])) {
        assert!(path.starts_with(dir), "{expanded:?} resolved outside: {}", path.display());
        assert!(
            !path.components().any(|c| matches!(c, Component::ParentDir | Component::CurDir)),
            "{expanded:?} resolved to {}",
            path.display()
        );
        let real = existing_ancestor(&path);
        assert!(real.starts_with(dir), "{expanded:?} leads out through a link to {}", real.display());
    }
});
