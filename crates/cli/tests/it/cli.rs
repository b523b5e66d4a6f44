//! The `bootmedium` command line: `init` and `serve` as processes (issue 2, "Deliver" 1).
//!
//! Section numbers (§N) refer to docs/plc-api.md.

use crate::support::*;
use bootmedium_xmlrpc::{Value, write_method_call};
use std::time::{Duration, Instant};

fn files_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn init_creates_data_dir_config_and_database() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("nested").join("data");
    let pg = PgDatabase::from_env();
    let out = init(&dir, pg.as_ref().map(|p| p.url.as_str()));
    assert!(out.status.success(), "init failed: {}", describe(&out));
    assert!(dir.is_dir(), "init must create the data dir");
    let config = std::fs::read_to_string(dir.join("bootmedium.toml")).expect("bootmedium.toml must exist");
    assert!(config.lines().any(|l| l.trim_start().starts_with('#')), "bootmedium.toml should be commented:\n{config}");
    if let Err(e) = config.parse::<toml::Table>() {
        panic!("bootmedium.toml is not valid TOML ({e}):\n{config}");
    }
    if pg.is_none() {
        let others: Vec<String> = files_in(&dir).into_iter().filter(|f| f != "bootmedium.toml").collect();
        assert!(!others.is_empty(), "init must create the SQLite database in the data dir");
    }
}

#[test]
fn second_init_says_so_and_changes_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    let pg = PgDatabase::from_env();
    let db = pg.as_ref().map(|p| p.url.as_str());
    let first = init(&dir, db);
    assert!(first.status.success(), "first init: {}", describe(&first));
    let config_before = std::fs::read(dir.join("bootmedium.toml")).expect("config");

    // Again, with different values: none of them may be applied.
    let mut cmd = bootmedium();
    cmd.arg("--data-dir").arg(&dir);
    if let Some(url) = db {
        cmd.args(["--database", url]);
    }
    cmd.args(["init", "--plc-name", "Other", "--admin-email", "other@example.org", "--admin-password", "other-pw"]);
    let second = cmd.output().expect("run init");
    assert!(second.status.success(), "second init must exit 0: {}", describe(&second));
    let said = format!("{}{}", String::from_utf8_lossy(&second.stdout), String::from_utf8_lossy(&second.stderr));
    assert!(said.to_lowercase().contains("already"), "second init should say the dir is already initialised: {said:?}");
    assert_eq!(std::fs::read(dir.join("bootmedium.toml")).expect("config"), config_before, "config rewritten");

    let stderr_path = tmp.path().join("serve.stderr");
    let (mut child, url) = spawn_serve(&dir, db, &stderr_path, &[]);
    let addr = url.trim_start_matches("http://").split('/').next().unwrap_or_default().to_owned();
    let call = |method: &str, params: Vec<Value>| {
        let body = write_method_call(method, &params);
        let request = format!(
            "POST /PLCAPI/ HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let (status, _, body) = http_exchange(&addr, request.as_bytes()).expect("http");
        assert_eq!(status, 200);
        match bootmedium_xmlrpc::parse_method_response(&body, &Default::default()).expect("response") {
            bootmedium_xmlrpc::MethodResponse::Success(v) => Ok(v),
            bootmedium_xmlrpc::MethodResponse::Fault { code, message } => Err((code, message)),
        }
    };
    assert_eq!(call("AuthCheck", vec![admin_auth()]), Ok(Value::Int(1)), "the first admin must still work");
    let other = call("AuthCheck", vec![password_auth("other@example.org", "other-pw")]);
    assert_fault(&other, 103, "");
    let sites = call("GetSites", vec![admin_auth(), st! {}]).expect("GetSites");
    let sites = array_of(&sites);
    assert_eq!(sites.len(), 1, "only the system site: {sites:?}");
    assert_fields(&sites[0], &[("site_id", i(1)), ("login_base", s("pl")), ("name", s("Test PLC Central"))]);
    let persons = call("GetPersons", vec![admin_auth(), st! {}]).expect("GetPersons");
    let emails: Vec<&str> = array_of(&persons).iter().map(|p| str_of(field(p, "email"))).collect();
    assert!(emails.contains(&ADMIN_EMAIL) && !emails.contains(&"other@example.org"), "persons: {emails:?}");
    assert!(stop_child(&mut child, "TERM").is_some_and(|s| s.success()));
}

#[test]
fn init_creates_the_system_site_and_the_admin() {
    let server = Server::start();
    let site = server.admin_row("GetSites", vec![ints(&[1])]);
    assert_fields(
        &site,
        &[("site_id", i(1)), ("login_base", s("pl")), ("name", s("Test PLC Central")), ("enabled", Value::Bool(true))],
    );
    let admin = server.admin_row("GetPersons", vec![strs(&[ADMIN_EMAIL])]);
    assert_fields(&admin, &[("email", s(ADMIN_EMAIL)), ("enabled", Value::Bool(true)), ("site_ids", ints(&[1]))]);
    assert_eq!(sorted_ints(field(&admin, "role_ids")), vec![10, 20]);
    assert_eq!(sorted_strs(field(&admin, "roles")), vec!["admin", "pi"]);
    assert!(sorted_ints(field(&site, "person_ids")).contains(&int_of(field(&admin, "person_id"))));
    // The accessor tag types exist from the start (AddNode needs `hrn`, §4.1).
    let tagnames: Vec<String> =
        server.admin_rows("GetTagTypes", vec![st! {}]).iter().map(|t| str_of(field(t, "tagname")).to_owned()).collect();
    for needed in
        ["arch", "pldistro", "fcdistro", "hrn", "serial", "cramfs", "kvariant", "kargs", "no-hangcheck", "ifname"]
    {
        assert!(tagnames.iter().any(|t| t == needed), "tag type {needed} missing: {tagnames:?}");
    }
}

#[test]
fn serve_answers_healthz_and_both_plcapi_paths() {
    let server = Server::start();
    let (status, _, body) = server.get("/healthz");
    assert_eq!((status, String::from_utf8_lossy(&body).trim().to_owned()), (200, "ok".to_owned()));
    for path in ["/PLCAPI/", "//PLCAPI//"] {
        let body = write_method_call("AuthCheck", &[admin_auth()]);
        let (status, response) = server.post_raw(path, body.as_bytes());
        assert_eq!(server.decode(path, status, &response), Ok(Value::Int(1)), "POST {path}");
    }
}

#[test]
fn responses_are_text_xml() {
    let server = Server::start();
    let body = write_method_call("AuthCheck", &[admin_auth()]);
    let request = format!(
        "POST /PLCAPI/ HTTP/1.1\r\nHost: {}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        server.addr,
        body.len()
    );
    let (status, headers, _) = server.raw_exchange(request.as_bytes()).expect("exchange");
    assert_eq!(status, 200);
    let ctype = headers.iter().find(|(k, _)| k == "content-type").map(|(_, v)| v.to_lowercase()).unwrap_or_default();
    assert!(ctype.starts_with("text/xml"), "Content-Type {ctype:?} (§10.1: text/xml; charset=utf-8)");
}

#[test]
fn get_plcapi_is_not_a_server_error() {
    let server = Server::start();
    for path in ["/PLCAPI/", "//PLCAPI//", "/PLCAPI", "/nonexistent"] {
        let (status, _, _) = server.get(path);
        assert!(status < 500, "GET {path} gave HTTP {status}");
    }
    server.assert_alive();
}

#[test]
fn sigterm_exits_cleanly() {
    let mut server = Server::start();
    server.assert_alive();
    let status = server.stop_with("TERM");
    assert!(status.success(), "SIGTERM: exit status {status:?}; log:\n{}", server.stderr_log());
}

#[test]
fn sigint_exits_cleanly() {
    let mut server = Server::start();
    server.assert_alive();
    let status = server.stop_with("INT");
    assert!(status.success(), "SIGINT: exit status {status:?}; log:\n{}", server.stderr_log());
}

#[test]
fn one_log_line_per_call_on_stderr() {
    let server = Server::start();
    let _ = server.call("AuthCheck", vec![admin_auth()]);
    let _ = server.call("GetNodes", vec![password_auth(ADMIN_EMAIL, "wrong password")]);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let log = server.stderr_log();
        let auth_line = log.lines().any(|l| l.contains("AuthCheck"));
        let fault_line = log.lines().any(|l| l.contains("GetNodes") && l.contains("103"));
        if auth_line && fault_line {
            break;
        }
        assert!(Instant::now() < deadline, "no per-call log lines (method, caller, fault code) on stderr:\n{log}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = server.stderr_log();
    assert!(!log.contains(ADMIN_PASSWORD), "the admin password leaked into the log");
}

#[test]
fn data_dir_and_database_from_the_environment() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("envdata");
    let pg = PgDatabase::from_env();
    let with_env = |cmd: &mut std::process::Command| {
        cmd.env("BOOTMEDIUM_DATA_DIR", &dir);
        if let Some(p) = &pg {
            cmd.env("BOOTMEDIUM_DATABASE_URL", &p.url);
        }
    };
    let mut cmd = bootmedium();
    with_env(&mut cmd);
    cmd.args(["init", "--plc-name", PLC_NAME, "--admin-email", ADMIN_EMAIL, "--admin-password", ADMIN_PASSWORD]);
    let out = cmd.output().expect("init");
    assert!(out.status.success(), "init with BOOTMEDIUM_DATA_DIR: {}", describe(&out));
    assert!(dir.join("bootmedium.toml").is_file());
    let mut cmd = bootmedium();
    with_env(&mut cmd);
    cmd.args(["serve", "--listen", "127.0.0.1:0"]);
    let (mut child, url) = spawn_listening(cmd, &tmp.path().join("serve.stderr"));
    let addr = url.trim_start_matches("http://").split('/').next().unwrap_or_default().to_owned();
    let body = write_method_call("AuthCheck", &[admin_auth()]);
    let request = format!(
        "POST /PLCAPI/ HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let (status, _, response) = http_exchange(&addr, request.as_bytes()).expect("http");
    assert_eq!(status, 200);
    assert_eq!(
        bootmedium_xmlrpc::parse_method_response(&response, &Default::default()).expect("parse"),
        bootmedium_xmlrpc::MethodResponse::Success(Value::Int(1))
    );
    assert!(stop_child(&mut child, "TERM").is_some_and(|s| s.success()));
}
