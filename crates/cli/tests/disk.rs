//! Disks and files, through the real binary: a full disk is survivable (writes work again as
//! soon as space is freed, without a restart), file results are confined and limited (quota and
//! free-space floor), and a killed server leaves no partial or secret-bearing temporary file.

#[macro_use]
mod common;

use bootmedium_xmlrpc::Value;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs mounted on a directory, unmounted when dropped (declare it before the server that
/// uses it, so the server stops first).
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// Mounts a tmpfs of `size` (e.g. "24m") on `dir`; `None` (with a message) when not root,
    /// since only root may mount.
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        if !is_root() {
            eprintln!("SKIPPED: mounting a tmpfs needs root (the CI runs the tests as root)");
            return None;
        }
        std::fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0755"), "tmpfs"])
            .arg(dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "mount failed: {}", describe(&out));
        Some(Tmpfs(dir.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

/// Fills the file system of `dir` with a file until writing fails with ENOSPC; returns it.
fn fill(dir: &Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let chunk = vec![0x5au8; 64 * 1024];
    for size in [chunk.len(), 4096, 512, 1] {
        loop {
            match f.write_all(&chunk[..size]) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(28) => break,
                Err(e) => panic!("filling {}: {e}", dir.display()),
            }
        }
    }
    path
}

/// The data directory moved onto a fresh tmpfs of `size` (between `init` and `serve`).
fn data_on_tmpfs(data_dir: &Path, size: &str) -> Option<Tmpfs> {
    let side = data_dir.with_extension("init");
    std::fs::rename(data_dir, &side).unwrap();
    let mounted = Tmpfs::mount(data_dir, size);
    let target = if mounted.is_some() { data_dir } else { &side };
    let out = Command::new("cp").arg("-a").arg(format!("{}/.", side.display())).arg(target).output().unwrap();
    assert!(out.status.success(), "cp failed: {}", describe(&out));
    if mounted.is_none() {
        std::fs::rename(&side, data_dir).unwrap();
    }
    mounted
}

fn site_fields(n: usize) -> Value {
    st! {
        "name" => format!("Disk full site {n} {}", "x".repeat(200)),
        "abbreviated_name" => format!("DF{n}"),
        "login_base" => format!("df{n}"),
    }
}

/// A failed COMMIT (SQLITE_FULL) discards its connection: once space is freed every write
/// works again, without a restart.
#[test]
fn disk_full_recovers_without_restart() {
    let mut mount = None;
    let server = Server::start_sqlite_with(|dir| mount = data_on_tmpfs(dir, "24m"));
    if mount.is_none() {
        return;
    }
    server.use_admin_session();
    add_site(&server, "before");
    let filler = fill(&server.data_dir);
    let mut fault = None;
    for n in 0..200 {
        match server.call("AddSite", vec![server.admin_auth(), site_fields(n)]) {
            Ok(_) => {}
            Err(f) => {
                fault = Some(f);
                break;
            }
        }
    }
    let (code, message) = fault.expect("no write failed on a full disk");
    assert_eq!(code, 106, "{message}");
    assert!(message.contains("disk is full"), "{message}");
    std::fs::remove_file(&filler).unwrap();
    // Every pooled connection takes its turn: none is left unusable.
    for n in 1000..1030 {
        server
            .call("AddSite", vec![server.admin_auth(), site_fields(n)])
            .unwrap_or_else(|f| panic!("write {n} after freeing space failed: {f:?}\n{}", server.stderr_log()));
    }
    let found = server.admin_rows("GetSites", vec![st! { "login_base" => "df1029" }, strs(&["site_id"])]);
    assert_eq!(found.len(), 1);
    server.assert_alive();
}
