//! Disks and files, through the real binary: a full disk is survivable (writes work again as
//! soon as space is freed, without a restart), file results are confined and limited (quota and
//! free-space floor), and a killed server leaves no partial or secret-bearing temporary file.

use crate::support::*;
use bootmedium_xmlrpc::Value;
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
/// works again, without a restart. A file result that meets the full disk is a clear fault and
/// leaves no partial file.
#[test]
fn disk_full_recovers_without_restart() {
    let mut mount = None;
    let server = Server::start_sqlite_with(|dir| {
        // The floor would refuse file results before they meet the full disk.
        set_config(dir, "medium", "result_min_free_bytes", 0);
        mount = data_on_tmpfs(dir, "24m");
    });
    if mount.is_none() {
        return;
    }
    server.use_admin_session();
    let (hostname, pi, _) = site_with_node(&server);
    let results = server.data_dir.join("results");
    std::fs::create_dir_all(&results).unwrap();
    let filler = fill(&server.data_dir);
    let file_result = server.call("GetBootMedium", vec![pi.clone(), s(&hostname), s("node-preview"), s("%d/full%s")]);
    match &file_result {
        Err((108, message)) if message.contains("No space left") => {}
        other => panic!("file result on a full disk: {other:?}"),
    }
    assert_eq!(entries(&results), Vec::<String>::new(), "nothing left of the refused file result");
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
    let written = server.call("GetBootMedium", vec![pi, s(&hostname), s("node-preview"), s("%d/full%s")]);
    assert!(written.is_ok(), "{written:?}");
    server.assert_alive();
}

/// A site with a node (static primary interface), a PI and a tech; returns (node hostname,
/// PI auth, tech auth).
fn site_with_node(server: &Server) -> (String, Value, Value) {
    let site = add_site(server, "disk");
    let hostname = "n1.disk.example.org".to_owned();
    let node = add_node(server, site, &hostname);
    add_static_interface(server, node, 7);
    add_person(server, "pi@disk.example.org", "pi-password", &["pi"], Some(site));
    add_person(server, "tech@disk.example.org", "tech-password", &["tech"], Some(site));
    (
        hostname,
        password_auth("pi@disk.example.org", "pi-password"),
        password_auth("tech@disk.example.org", "tech-password"),
    )
}

/// Every file below `dir` with its contents, for "nothing written outside".
fn contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
    entries(dir).into_iter().map(|p| (p.clone(), std::fs::read(&p).unwrap_or_default())).collect()
}

/// Role × filename → fault 102 or a file inside the allowed directories; nothing is ever
/// written outside them (admins included: an admin's filename once overwrote /etc/passwd).
#[test]
fn file_results_are_confined_for_every_role() {
    let outside_tmp = tempfile::tempdir().unwrap();
    let outside = outside_tmp.path().to_path_buf();
    let admin_dir = outside.join("admin-results");
    std::fs::create_dir(&admin_dir).unwrap();
    std::fs::write(outside.join("passwd"), b"root:x:0:0::/root:/bin/sh\n").unwrap();
    let admin_dir_config = admin_dir.display().to_string();
    let server = Server::start_with(|dir| {
        set_config(dir, "medium", "admin_result_dirs", toml::Value::Array(vec![admin_dir_config.into()]));
        let results = dir.join("results");
        std::fs::create_dir_all(&results).unwrap();
        std::os::unix::fs::symlink(&outside, results.join("escape")).unwrap();
        std::os::unix::fs::symlink(outside.join("passwd"), results.join("passwd-link")).unwrap();
    });
    server.use_admin_session();
    let (hostname, pi, tech) = site_with_node(&server);
    let results = server.data_dir.join("results");
    let before = contents(&outside);
    let o = outside.display().to_string();
    let a = admin_dir.display().to_string();
    // (filename, admin allowed, others allowed); {role} keeps each role's file apart.
    let cases: Vec<(String, bool, bool)> = vec![
        (format!("{o}/passwd"), false, false),
        (format!("{o}/{{role}}.txt"), false, false),
        ("%d/../{role}.txt".to_owned(), false, false),
        ("../{role}.txt".to_owned(), false, false),
        ("%d/sub/../../{role}.txt".to_owned(), false, false),
        ("%d/./{role}-dot.txt".to_owned(), true, true),
        ("%d/escape/{role}.txt".to_owned(), false, false),
        ("escape/{role}.txt".to_owned(), false, false),
        ("%d/passwd-link".to_owned(), false, false),
        (format!("{o}/admin-results/../{{role}}.txt"), false, false),
        (format!("{o}/admin-results-x/{{role}}.txt"), false, false),
        ("%d/{role}/%n%s".to_owned(), true, true),
        ("{role}-plain.txt".to_owned(), true, true),
        (format!("{a}/{{role}}/%n%s"), true, false),
    ];
    let roles = [("admin", server.admin_auth(), true), ("pi", pi, false), ("tech", tech, false)];
    let mut failures = Vec::new();
    for (pattern, admin_ok, others_ok) in &cases {
        for (role, auth, is_admin) in &roles {
            let filename = pattern.replace("{role}", role);
            let allowed = if *is_admin { *admin_ok } else { *others_ok };
            let got = server.call("GetBootMedium", vec![auth.clone(), s(&hostname), s("node-preview"), s(&filename)]);
            match (&got, allowed) {
                (Ok(Value::String(path)), true) => {
                    let path = Path::new(path);
                    let inside = path.starts_with(&results) || (*is_admin && path.starts_with(&admin_dir));
                    if !inside || !path.is_file() {
                        failures.push(format!("{role} {filename}: wrote {}", path.display()));
                    }
                }
                (Err((102, message)), false) if message.contains("not under") => {}
                _ => failures.push(format!(
                    "{role} {filename}: expected {}, got {got:?}",
                    if allowed { "a file" } else { "fault 102" }
                )),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let after: Vec<_> = contents(&outside).into_iter().filter(|(p, _)| !Path::new(p).starts_with(&admin_dir)).collect();
    let before: Vec<_> = before.into_iter().filter(|(p, _)| !Path::new(p).starts_with(&admin_dir)).collect();
    assert_eq!(after, before, "something was written outside the allowed directories");
    assert!(admin_dir.join("admin").join(format!("{hostname}.txt")).is_file());
}

/// `[medium]` limit settings for a server, and what a PI's file results then get.
struct LimitCase {
    name: &'static str,
    settings: Vec<(&'static str, i64)>,
    /// Faults expected for the first few writes (None: written).
    expect: Vec<Option<i64>>,
}

/// The per-caller quota (bytes and files) and the free-space floor refuse a file result with a
/// clear fault before anything is written; a caller's removed files stop counting.
#[test]
fn file_result_quota_and_free_space_floor() {
    let cases = [
        LimitCase { name: "two files", settings: vec![("result_quota_files", 2)], expect: vec![None, None, Some(108)] },
        LimitCase { name: "one byte", settings: vec![("result_quota_bytes", 1)], expect: vec![Some(108)] },
        LimitCase {
            name: "floor above the disk",
            settings: vec![("result_min_free_bytes", 1 << 60)],
            expect: vec![Some(111)],
        },
        LimitCase {
            name: "no limits",
            settings: vec![("result_quota_files", 0), ("result_quota_bytes", 0), ("result_min_free_bytes", 0)],
            expect: vec![None, None, None, None],
        },
    ];
    for case in cases {
        let server = Server::start_with(|dir| {
            for (key, value) in &case.settings {
                set_config(dir, "medium", key, *value);
            }
        });
        server.use_admin_session();
        let (hostname, pi, _) = site_with_node(&server);
        let results = server.data_dir.join("results");
        for (n, expected) in case.expect.iter().enumerate() {
            let filename = format!("%d/quota/{n}-%n%s");
            let got = server.call("GetBootMedium", vec![pi.clone(), s(&hostname), s("node-preview"), s(&filename)]);
            let written = results.join("quota").join(format!("{n}-{hostname}.txt"));
            match (expected, &got) {
                (None, Ok(_)) => assert!(written.is_file(), "{}: {n} not written", case.name),
                (Some(code), Err((c, message))) if c == code => {
                    assert!(message.contains("quota") || message.contains("free"), "{}: {message}", case.name);
                    assert!(!written.exists(), "{}: {n} written although refused", case.name);
                    let leftovers: Vec<String> =
                        entries(&results).into_iter().filter(|p| p.ends_with(".tmp")).collect();
                    assert!(leftovers.is_empty(), "{}: {leftovers:?}", case.name);
                }
                _ => panic!("{}: write {n}: expected {expected:?}, got {got:?}", case.name),
            }
        }
        if case.name == "two files" {
            // Removing one of its files makes room again; another caller has its own quota.
            std::fs::remove_file(results.join("quota").join(format!("0-{hostname}.txt"))).unwrap();
            let again =
                server.call("GetBootMedium", vec![pi.clone(), s(&hostname), s("node-preview"), s("%d/again%s")]);
            assert!(again.is_ok(), "{again:?}");
            let admin = server
                .call("GetBootMedium", vec![server.admin_auth(), s(&hostname), s("node-preview"), s("%d/admin%s")]);
            assert!(admin.is_ok(), "{admin:?}");
        }
    }
}

/// Events keep no node key: UpdateNode's `key` is redacted like passwords.
#[test]
fn events_redact_node_keys() {
    let server = Server::start();
    server.use_admin_session();
    let site = add_site(&server, "keys");
    let node = add_node(&server, site, "n1.keys.example.org");
    server.admin_one("UpdateNode", vec![i(node), st! { "key" => "s3cretN0deKey" }]);
    let events = server.admin_rows("GetEvents", vec![st! { "call_name" => "UpdateNode" }, strs(&["call"])]);
    assert_eq!(events.len(), 1);
    let call = str_of(field(&events[0], "call"));
    assert!(!call.contains("s3cretN0deKey") && call.contains("'key': 'Removed by API'"), "{call}");
}

/// The SQLite database (and its -wal and -shm) is 0600 after init and serve.
#[test]
fn database_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let server = Server::start_sqlite_with(|_| {});
    server.use_admin_session();
    add_site(&server, "private");
    for name in ["bootmedium.db", "bootmedium.db-wal", "bootmedium.db-shm"] {
        let mode = std::fs::metadata(server.data_dir.join(name)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{name}");
    }
}

/// Files below `dir` whose name ends in `.tmp`, with their modes.
fn temporary_files(dir: &Path) -> Vec<(String, u32)> {
    use std::os::unix::fs::PermissionsExt;
    entries(dir)
        .into_iter()
        .filter(|p| p.ends_with(".tmp"))
        .filter_map(|p| std::fs::metadata(&p).ok().map(|m| (p, m.permissions().mode() & 0o777)))
        .collect()
}

/// SIGKILL in the middle of a file result: while it runs no temporary file is readable by
/// others and none carries a name in the reference store's scratch directory; after a restart
/// no partial image is left.
#[test]
fn a_killed_server_leaves_no_partial_or_secret_files() {
    let mut server = Server::start_with(|dir| media::provision(dir, DEFAULT_FAMILY));
    server.use_admin_session();
    let site = add_site(&server, "kill");
    let results = server.data_dir.join("results");
    let scratch = server.data_dir.join("references").join("tmp");
    let mut seen = Vec::new();
    let mut scratch_names = Vec::new();
    for attempt in 0..20 {
        let hostname = format!("n{attempt}.kill.example.org");
        let node = add_node(&server, site, &hostname);
        add_static_interface(&server, node, attempt as u8 + 1);
        let (url, auth) = (server.url.clone(), server.admin_auth());
        // The call runs on its own thread; this one watches the directories and kills the
        // server as soon as a partial image appears.
        let call = std::thread::spawn(move || {
            let body = bootmedium_xmlrpc::write_method_call(
                "GetBootMedium",
                &[auth, s(&hostname), s("node-iso"), s("%d/%n%s"), strs(&["cramfs"])],
            );
            let addr = url.trim_start_matches("http://").split('/').next().unwrap_or_default().to_owned();
            let request = format!(
                "POST /PLCAPI/ HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            http_exchange(&addr, request.as_bytes()).is_ok()
        });
        while !call.is_finished() {
            scratch_names.extend(entries(&scratch));
            let partial = temporary_files(&results);
            if !partial.is_empty() {
                server.stop_with("KILL");
                seen = partial;
                break;
            }
        }
        let _ = call.join();
        if !seen.is_empty() {
            break;
        }
    }
    assert!(!seen.is_empty(), "no partial image was ever seen in 20 attempts");
    assert!(seen.iter().all(|(_, mode)| *mode == 0o600), "partial images readable by others: {seen:?}");
    scratch_names.sort();
    scratch_names.dedup();
    assert!(scratch_names.is_empty(), "named scratch files (they carry the node key): {scratch_names:?}");
    assert!(!temporary_files(&results).is_empty(), "the killed server left its partial image");
    // A reference import killed while it announced itself leaves its unfinished generation
    // marker beside the real one.
    let references = server.data_dir.join("references");
    let marker_leftover = references.join(".generation.4242-0.tmp");
    std::fs::write(&marker_leftover, "12345 4242-0\n").unwrap();
    let marker = std::fs::read(references.join("generation")).expect("the import wrote the generation marker");
    // Restart on the same data directory: the sweep removes the partial image.
    let stderr = server.data_dir.join("restart.stderr");
    let (mut child, url) = spawn_serve(&server.data_dir, server.database_url(), &stderr, &[]);
    let leftovers = temporary_files(&results);
    let log = std::fs::read_to_string(&stderr).unwrap_or_default();
    stop_child(&mut child, "TERM");
    assert!(leftovers.is_empty(), "after restart ({url}): {leftovers:?}\n{log}");
    assert!(log.contains("removed 1 partial file results"), "{log}");
    assert!(entries(&scratch).is_empty(), "scratch files after restart: {:?}", entries(&scratch));
    assert!(!marker_leftover.exists(), "the killed import's marker leftover stayed\n{log}");
    assert_eq!(std::fs::read(references.join("generation")).unwrap(), marker, "the live marker changed");
    // The only files left that hold a node key are finished results (and the database).
    let holding_keys: Vec<String> = entries(&server.data_dir)
        .into_iter()
        .filter(|p| !p.contains("bootmedium.db") && !p.starts_with(&*results.to_string_lossy()))
        .filter(|p| std::fs::read(p).is_ok_and(|b| b.windows(9).any(|w| w == b"NODE_KEY=")))
        .collect();
    assert!(holding_keys.is_empty(), "files holding a node key: {holding_keys:?}");
}
