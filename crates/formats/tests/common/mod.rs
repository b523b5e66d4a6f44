//! Helpers shared by the integration tests: running the independent checker tools.
//!
//! A missing tool fails the test with the Debian package to install; it never skips silently,
//! because a skipped check would make the suite pass without checking anything.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

#[path = "../../../../tests/support/tools.rs"]
mod tools;
pub use tools::require_tool;

fn command(program: &str) -> Command {
    // fsck.fat, sfdisk and fsck.cramfs live in /usr/sbin, which a non-root PATH may lack.
    let mut cmd = Command::new(program);
    let path = std::env::var("PATH").unwrap_or_default();
    cmd.env("PATH", format!("{path}:/usr/sbin:/sbin"));
    cmd.env("LC_ALL", "C");
    cmd
}

/// Runs a tool and returns its output, whatever the exit status.
pub fn run_raw(program: &str, args: &[&str], cwd: Option<&Path>) -> Output {
    let mut cmd = command(program);
    cmd.args(args).stdin(Stdio::null());
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    cmd.output().unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

/// Runs a tool, requires exit status 0, returns stdout as text.
pub fn run(program: &str, args: &[&str]) -> String {
    run_in(program, args, None)
}

/// Like [`run`] in a working directory.
pub fn run_in(program: &str, args: &[&str], cwd: Option<&Path>) -> String {
    let out = run_raw(program, args, cwd);
    assert!(
        out.status.success(),
        "{program} {args:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs a tool with bytes on stdin; returns the whole output.
pub fn run_with_input(program: &str, args: &[&str], input: &[u8], cwd: Option<&Path>) -> Output {
    use std::io::Write;
    let mut cmd = command(program);
    cmd.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let mut stdin = child.stdin.take().expect("stdin piped");
    let input = input.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("wait");
    feeder.join().expect("feeder thread");
    out
}

/// Every regular file under `root` as (relative path, contents), sorted; directories as
/// (path + "/", empty).
pub fn collect_tree(root: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).expect("read_dir").map(|e| e.expect("entry")).collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let rel = path.strip_prefix(root).expect("prefix").to_string_lossy().into_owned();
            let kind = entry.file_type().expect("file type");
            if kind.is_dir() {
                out.push((format!("{rel}/"), Vec::new()));
                walk(root, &path, out);
            } else {
                out.push((rel, std::fs::read(&path).expect("read")));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

/// A random file tree: (path, None) for a directory, (path, Some(contents)) for a file; parents
/// come before children. Names are unique case-insensitively (FAT folds case) and use
/// characters every format here can store exactly.
pub type Tree = Vec<(String, Option<Vec<u8>>)>;

/// Builds a [`Tree`] from raw proptest choices.
pub fn build_tree(items: Vec<(usize, String, Option<Vec<u8>>)>) -> Tree {
    let mut dirs = vec![String::new()];
    let mut seen = std::collections::BTreeSet::new();
    let mut tree = Vec::new();
    for (parent_choice, name, contents) in items {
        let parent = dirs[parent_choice % dirs.len()].clone();
        let path = if parent.is_empty() { name } else { format!("{parent}/{name}") };
        if !seen.insert(path.to_lowercase()) {
            continue;
        }
        if contents.is_none() {
            dirs.push(path.clone());
        }
        tree.push((path, contents));
    }
    tree
}

/// The proptest strategy for [`Tree`]s.
pub fn tree_strategy(max_entries: usize, max_file: usize) -> impl proptest::strategy::Strategy<Value = Tree> {
    use proptest::prelude::*;
    // Not ending with a dot: FAT (like Windows) cannot store such names.
    let name = "[a-z0-9_]([a-zA-Z0-9_.-]{0,13}[a-zA-Z0-9_-])?";
    let contents = prop_oneof![
        3 => proptest::collection::vec(any::<u8>(), 0..max_file).prop_map(Some),
        1 => Just(None),
    ];
    proptest::collection::vec((any::<usize>(), name, contents), 1..max_entries).prop_map(build_tree)
}

/// The expected result of [`collect_tree`] for a [`Tree`].
pub fn expected_listing(tree: &Tree) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = tree
        .iter()
        .map(|(path, contents)| match contents {
            None => (format!("{path}/"), Vec::new()),
            Some(bytes) => (path.clone(), bytes.clone()),
        })
        .collect();
    out.sort();
    out
}
