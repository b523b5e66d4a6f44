//! The issued-media ledger's image rows, `bootmedium verify`, and the HTTP downloads (`POST
//! /api/v1/media`, `GET|HEAD /media/{id}`) against the real server binary (issue 5,
//! deliverables 2, 4, 5 and 6). The ledger's methods on keyed configuration files (filters,
//! scope, superseding, `VerifyIssuedMedium`'s answers) are domain tests
//! (crates/plc/tests/domain/issued_media.rs).

use crate::support::*;
use bootmedium_xmlrpc::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

const FAMILY: &str = DEFAULT_FAMILY;
const HOST: &str = "node1.one.example.org";

struct Fixture {
    server: Server,
    node: i64,
    site: i64,
    work: tempfile::TempDir,
}

/// A server with the test reference, a site and a node with a static primary interface.
fn fixture_on(server: Server) -> Fixture {
    server.use_admin_session();
    let site = add_site(&server, "one");
    let node = add_node(&server, site, HOST);
    add_static_interface(&server, node, 5);
    Fixture { server, node, site, work: tempfile::tempdir().unwrap() }
}

fn fixture() -> Fixture {
    fixture_on(Server::start_with(|dir| media::provision(dir, FAMILY)))
}

fn sha256_of(bytes: &[u8]) -> String {
    bootmedium_media::sha256_hex(bytes).unwrap()
}

fn sha256_file(path: &Path) -> String {
    bootmedium_media::sha256_hex(std::fs::File::open(path).unwrap()).unwrap()
}

fn ledger(f: &Fixture) -> Vec<Value> {
    let mut rows = f.server.admin_rows("GetIssuedMedia", vec![st! { "node_id" => f.node }]);
    rows.sort_by_key(|r| int_of(field(r, "issued_medium_id")));
    rows
}

/// An inline image action, decoded into `name` under the fixture's work dir.
fn inline_medium(f: &Fixture, name: &str, action: &str, options: &[&str]) -> PathBuf {
    let result = f.server.admin("GetBootMedium", vec![s(HOST), s(action), s(""), strs(options)]);
    let path = f.work.path().join(name);
    write_inline(&result, &path);
    path
}

/// `bootmedium verify IMAGE --server URL --json`: (exit status, answer).
fn verify(f: &Fixture, image: &Path) -> (i32, serde_json::Value) {
    let out = bootmedium().arg("verify").arg(image).args(["--server", &f.server.url, "--json"]).output().unwrap();
    let code = out.status.code().unwrap_or(-1);
    assert!([0, 2, 3].contains(&code), "verify failed: {}", describe(&out));
    (code, serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(&out))))
}

#[test]
fn every_keyed_medium_is_recorded_and_supersedes_the_ones_before() {
    let f = fixture();
    let sv = &f.server;
    // node-floppy: a configuration file is a keyed medium too.
    let text = str_of(&sv.admin("GetBootMedium", vec![i(f.node), s("node-floppy"), s("")])).to_string();
    let iso = inline_medium(&f, "a.iso", "node-iso", &["serial", "no-hangcheck"]);
    let usb_path = str_of(
        &sv.admin("GetBootMedium", vec![s(HOST), s("node-usb"), s("%d/%n%s"), strs(&["partition", "systemd-debug"])]),
    )
    .to_string();
    // Generic media carry no key: no row. A failed build renews nothing: no row.
    sv.admin("GetBootMedium", vec![s(HOST), s("generic-iso"), s(""), strs(&[])]);
    assert_fault(
        &sv.admin_call("GetBootMedium", vec![s(HOST), s("node-iso"), s(""), strs(&["variant:nope"])]),
        102,
        "",
    );

    let rows = ledger(&f);
    assert_eq!(rows.len(), 3, "{rows:#?}");
    let ids: Vec<i64> = rows.iter().map(|r| int_of(field(r, "issued_medium_id"))).collect();
    let admin_id = int_of(field(&sv.admin_row("GetPersons", vec![s(ADMIN_EMAIL), strs(&["person_id"])]), "person_id"));
    let now = now();
    for (row, (action, image_type, options)) in rows.iter().zip([
        ("node-floppy", "txt", vec![]),
        ("node-iso", "iso", vec!["serial", "no-hangcheck"]),
        ("node-usb", "usb_partition", vec!["partition", "systemd-debug"]),
    ]) {
        assert_eq!(str_of(field(row, "action")), action);
        assert_eq!(str_of(field(row, "image_type")), image_type);
        assert_eq!(field(row, "options"), &strs(&options));
        assert_eq!(field(row, "node_id"), &i(f.node));
        assert_eq!(str_of(field(row, "hostname")), HOST);
        assert_eq!(field(row, "site_id"), &i(f.site));
        assert_eq!(field(row, "person_id"), &i(admin_id));
        assert_time_between(row, "issued", now - 60, now + 1);
        assert!(!keys_of(row).iter().any(|k| k.contains("key") && k != "key_generation"), "no key field: {row:?}");
    }
    // Key generations count renewals; each row is superseded by the next.
    let generations: Vec<i64> = rows.iter().map(|r| int_of(field(r, "key_generation"))).collect();
    assert_eq!(generations, vec![1, 2, 3]);
    assert_eq!(field(&rows[0], "superseded_by"), &i(ids[1]));
    assert_eq!(field(&rows[1], "superseded_by"), &i(ids[2]));
    assert_eq!(field(&rows[2], "superseded_by"), &nil());
    // Checksums and sizes are those of what the caller got.
    assert_eq!(str_of(field(&rows[0], "sha256")), sha256_of(text.as_bytes()));
    assert_eq!(int_of(field(&rows[0], "size")), text.len() as i64);
    assert_eq!(str_of(field(&rows[1], "sha256")), sha256_file(&iso));
    assert_eq!(int_of(field(&rows[1], "size")), std::fs::metadata(&iso).unwrap().len() as i64);
    assert_eq!(str_of(field(&rows[2], "sha256")), sha256_file(Path::new(&usb_path)));
    assert_eq!(str_of(field(&rows[2], "filename")), usb_path);
    assert_eq!(field(&rows[1], "filename"), &nil());
    assert_eq!(str_of(field(&rows[1], "reference_family")), FAMILY);
    assert_eq!(str_of(field(&rows[1], "reference_version")), media::VERSION);
    assert_eq!(str_of(field(&rows[1], "console")), "ttyS0:115200:n:8");
    assert_eq!(str_of(field(&rows[1], "kargs")), "hcheck_reboot0");

    // GetIssuedMedia's filters and scope, on configuration files: crates/plc/tests/domain/issued_media.rs.
}

#[test]
fn verify_tells_current_superseded_and_unknown_keys_apart() {
    let f = fixture();
    let first = inline_medium(&f, "first.iso", "node-iso", &[]);
    let second = inline_medium(&f, "second.usb", "node-usb", &[]);
    let rows = ledger(&f);

    let (code, answer) = verify(&f, &second);
    assert_eq!(code, 0, "{answer}");
    assert_eq!(answer["status"], "current");
    assert_eq!(answer["node_id"], f.node);
    assert_eq!(answer["hostname"], HOST);
    assert_eq!(answer["issued_medium_id"], int_of(field(&rows[1], "issued_medium_id")));
    assert_eq!(answer["image_matches"], true);

    let (code, answer) = verify(&f, &first);
    assert_eq!(code, 2, "{answer}");
    assert_eq!(answer["status"], "superseded");
    assert_eq!(answer["issued_medium_id"], int_of(field(&rows[0], "issued_medium_id")));
    assert_eq!(answer["superseded_by"], int_of(field(&rows[1], "issued_medium_id")));
    assert_eq!(answer["image_matches"], true);

    // The same key in other bytes: still current, but not the image that was issued.
    let altered = f.work.path().join("altered.usb");
    let mut bytes = std::fs::read(&second).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&altered, bytes).unwrap();
    let (code, answer) = verify(&f, &altered);
    assert_eq!((code, answer["status"].as_str()), (0, Some("current")));
    assert_eq!(answer["image_matches"], false);

    // Verifying writes nothing.
    assert_eq!(ledger(&f), rows);

    // A generic image has no key to verify: a clear error, not a verdict.
    let sv = &f.server;
    let generic = inline_medium(&f, "generic.iso", "generic-iso", &[]);
    let out = bootmedium().arg("verify").arg(&generic).args(["--server", &sv.url]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no node configuration"), "{}", describe(&out));
    let out = bootmedium().arg("verify").arg(&second).args(["--server", "ftp://example.org/PLCAPI/"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("http://"), "{}", describe(&out));
}

// ---------------------------------------------------------------------------------------------
// HTTP downloads

/// A raw HTTP exchange with extra request headers.
fn request(f: &Fixture, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> HttpResponse {
    let mut text = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n", f.server.addr);
    for (k, v) in headers {
        text.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        text.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    text.push_str("\r\n");
    let mut raw = text.into_bytes();
    raw.extend_from_slice(body);
    f.server.raw_exchange(&raw).unwrap()
}

fn header<'a>(response: &'a HttpResponse, name: &str) -> Option<&'a str> {
    response.1.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn admin_session(f: &Fixture) -> String {
    str_of(&f.server.admin("GetSession", vec![])).to_string()
}

/// `POST /api/v1/media` with a bearer session: (status, JSON answer).
fn issue(f: &Fixture, session: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
    let bearer = format!("Bearer {session}");
    let response = request(
        f,
        "POST",
        "/api/v1/media",
        &[("Authorization", &bearer), ("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    );
    let json = serde_json::from_slice(&response.2)
        .unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(&response.2)));
    (response.0, json)
}

/// The path part of a download URL.
fn media_path(answer: &serde_json::Value) -> String {
    let url = answer["url"].as_str().unwrap();
    url[url.find("/media/").unwrap()..].to_string()
}

#[test]
fn a_download_link_serves_the_issued_image_with_ranges_and_resume() {
    let f = fixture();
    let session = admin_session(&f);
    let (status, answer) =
        issue(&f, &session, &serde_json::json!({"node": HOST, "action": "node-iso", "options": ["serial"]}));
    assert_eq!(status, 201, "{answer}");
    let id = answer["id"].as_str().unwrap();
    assert_eq!(id.len(), 32);
    assert_eq!(answer["url"], format!("{}/media/{id}", f.server.url.trim_end_matches("/PLCAPI/")));
    let size = answer["size"].as_u64().unwrap();
    let sha = answer["sha256"].as_str().unwrap().to_string();
    let expires = answer["expires"].as_i64().unwrap();
    assert!((now() + 3500..=now() + 3601).contains(&expires), "{answer}");
    let path = media_path(&answer);

    // The whole image: what the ledger recorded, carrying the node's new key.
    let whole = request(&f, "GET", &path, &[], b"");
    assert_eq!(whole.0, 200);
    assert_eq!(whole.2.len() as u64, size);
    assert_eq!(sha256_of(&whole.2), sha);
    assert_eq!(header(&whole, "etag"), Some(format!("\"{sha}\"").as_str()));
    assert_eq!(header(&whole, "accept-ranges"), Some("bytes"));
    assert_eq!(header(&whole, "content-type"), Some("application/octet-stream"));
    let disposition = header(&whole, "content-disposition").unwrap();
    assert_eq!(disposition, format!("attachment; filename=\"{HOST}-{}.iso\"", media::VERSION));
    let image = f.work.path().join("download.iso");
    std::fs::write(&image, &whole.2).unwrap();
    let rows = ledger(&f);
    assert_eq!(rows.len(), 1);
    assert_eq!(int_of(field(&rows[0], "issued_medium_id")), answer["issued_medium_id"].as_i64().unwrap());
    assert_eq!(str_of(field(&rows[0], "sha256")), sha);
    assert_eq!(int_of(field(&rows[0], "download_expires")), expires);
    // The link committed with its event, like any GetBootMedium call.
    let events = f
        .server
        .admin_rows("GetEvents", vec![st! { "call_name" => "GetBootMedium" }, strs(&["message", "object_ids"])]);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(str_of(field(&events[0], "message")), format!("GetBootMedium on node {HOST} - action=node-iso"));
    assert_eq!(field(&events[0], "object_ids"), &ints(&[f.node]));
    assert_eq!(verify(&f, &image).1["status"], "current");

    // HEAD: the headers without the body.
    let mut stream = TcpStream::connect(&f.server.addr).unwrap();
    write!(stream, "HEAD {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", f.server.addr).unwrap();
    let mut head = String::new();
    stream.read_to_string(&mut head).unwrap();
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert!(head.contains(&format!("content-length: {size}\r\n")), "{head}");
    assert!(head.ends_with("\r\n\r\n"), "a HEAD answer has no body: {head}");

    // A transfer broken at a random offset, then resumed with Range, gives the same bytes.
    let offset = 1
        + (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos() as u64)
            % (size - 1);
    let mut got = broken_transfer(&f, &path, offset as usize);
    let rest = request(&f, "GET", &path, &[("Range", &format!("bytes={}-", got.len()))], b"");
    assert_eq!(rest.0, 206, "resume from {}", got.len());
    assert_eq!(header(&rest, "content-range"), Some(format!("bytes {}-{}/{size}", got.len(), size - 1).as_str()));
    got.extend_from_slice(&rest.2);
    assert_eq!(sha256_of(&got), sha, "resumed at {offset}");

    // curl resumes a partial file the same way.
    media::require_tool("curl", "curl");
    let partial = f.work.path().join("partial.iso");
    std::fs::write(&partial, &whole.2[..offset as usize]).unwrap();
    let url = answer["url"].as_str().unwrap();
    let out =
        std::process::Command::new("curl").args(["-sSf", "-C", "-", "-o"]).arg(&partial).arg(url).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(sha256_file(&partial), sha);

    // Ranges and validators.
    let etag = format!("\"{sha}\"");
    let part = request(&f, "GET", &path, &[("Range", "bytes=-100")], b"");
    assert_eq!((part.0, &part.2[..]), (206, &whole.2[size as usize - 100..]));
    let part = request(&f, "GET", &path, &[("Range", "bytes=10-19"), ("If-Range", &etag)], b"");
    assert_eq!((part.0, &part.2[..]), (206, &whole.2[10..20]));
    let stale = request(&f, "GET", &path, &[("Range", "bytes=10-19"), ("If-Range", "\"other\"")], b"");
    assert_eq!((stale.0, stale.2.len() as u64), (200, size));
    let several = request(&f, "GET", &path, &[("Range", "bytes=0-1,5-6")], b"");
    assert_eq!((several.0, several.2.len() as u64), (200, size));
    let past = request(&f, "GET", &path, &[("Range", &format!("bytes={size}-"))], b"");
    assert_eq!(past.0, 416);
    assert_eq!(header(&past, "content-range"), Some(format!("bytes */{size}").as_str()));
    let cached = request(&f, "GET", &path, &[("If-None-Match", &etag)], b"");
    assert_eq!((cached.0, cached.2.len()), (304, 0));

    // Unknown ids are 404, whatever their shape.
    for bad in
        ["/media/00000000000000000000000000000000", "/media/x", "/media/..%2F..%2Fetc%2Fpasswd", &path.to_uppercase()]
    {
        assert_eq!(request(&f, "GET", bad, &[], b"").0, 404, "{bad}");
    }
    // A second link supersedes the first medium; the first link still serves its own bytes.
    let (status, second) = issue(&f, &session, &serde_json::json!({"node": f.node, "action": "node-usb"}));
    assert_eq!(status, 201, "{second}");
    assert_eq!(verify(&f, &image).1["status"], "superseded");
    assert_eq!(sha256_of(&request(&f, "GET", &path, &[], b"").2), sha);

    // A link whose reference is removed answers 404; one re-imported from the same inputs
    // serves the same bytes again (imports are reproducible); one re-imported from other inputs
    // of the same size answers 404 rather than other bytes under its ETag.
    let reference = |args: &[&str]| {
        let out = bootmedium().arg("--data-dir").arg(&f.server.data_dir).arg("reference").args(args).output().unwrap();
        assert!(out.status.success(), "{}", describe(&out));
    };
    let test_reference = media::test_reference();
    let kernel = test_reference.join("kernel").to_string_lossy().into_owned();
    let import = |initrd: &Path| {
        let initrd = initrd.to_string_lossy().into_owned();
        let version = media::VERSION;
        reference(&["import", "--family", FAMILY, "--version", version, "--kernel", &kernel, "--initrd", &initrd]);
    };
    let remove = || reference(&["remove", "--family", FAMILY, "--version", media::VERSION]);
    remove();
    assert_eq!(request(&f, "GET", &path, &[], b"").0, 404);
    import(&test_reference.join("bootcd.img"));
    assert_eq!(sha256_of(&request(&f, "GET", &path, &[], b"").2), sha);
    // Another gzip header timestamp (bytes 4–7, outside the CRC): the same size, other bytes.
    let mut altered = std::fs::read(test_reference.join("bootcd.img")).unwrap();
    assert_eq!(&altered[..2], b"\x1f\x8b", "bootcd.img is gzip");
    altered[4] ^= 1;
    let altered_path = f.work.path().join("bootcd-altered.img");
    std::fs::write(&altered_path, altered).unwrap();
    remove();
    import(&altered_path);
    let gone = request(&f, "GET", &path, &[], b"");
    assert_eq!(gone.0, 404, "served {} bytes", gone.2.len());
    f.server.assert_alive();
}

#[test]
fn a_link_issued_by_one_instance_is_served_by_another_sharing_the_database() {
    let Some(server) = Server::start_postgres_with(|dir| media::provision(dir, FAMILY)) else {
        eprintln!("BOOTMEDIUM_TEST_POSTGRES_URL is not set: nothing to share (scripts/test.sh sets it)");
        return;
    };
    let f = fixture_on(server);
    let url = f.server.database_url().unwrap().to_owned();
    // A second instance: its own data directory and reference import, the same registry.
    let second = tempfile::tempdir().unwrap();
    let dir = second.path().join("data");
    let out = init(&dir, Some(&url));
    assert!(out.status.success(), "{}", describe(&out));
    media::provision(&dir, FAMILY);
    let (mut child, second_url) = spawn_serve(&dir, Some(&url), &second.path().join("serve.stderr"), &[]);
    let second_addr = second_url.trim_start_matches("http://").split('/').next().unwrap().to_owned();

    let (status, answer) = issue(&f, &admin_session(&f), &serde_json::json!({"node": HOST, "action": "node-usb"}));
    assert_eq!(status, 201, "{answer}");
    let request = format!("GET {} HTTP/1.1\r\nHost: {second_addr}\r\nConnection: close\r\n\r\n", media_path(&answer));
    let (status, _, body) = http_exchange(&second_addr, request.as_bytes()).unwrap();
    assert_eq!(status, 200);
    assert_eq!(sha256_of(&body), answer["sha256"].as_str().unwrap());
    assert!(stop_child(&mut child, "TERM").is_some_and(|s| s.success()));
}

/// Reads `keep` bytes of a GET's body, then drops the connection.
fn broken_transfer(f: &Fixture, path: &str, keep: usize) -> Vec<u8> {
    let mut stream = TcpStream::connect(&f.server.addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", f.server.addr).unwrap();
    let mut raw = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "the server closed early");
        raw.extend_from_slice(&buf[..n]);
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n")
            && raw.len() >= end + 4 + keep
        {
            return raw[end + 4..end + 4 + keep].to_vec();
        }
    }
}

#[test]
fn download_requests_that_cannot_be_served_are_refused_and_leave_nothing() {
    // Links live 2 seconds here, to see one expire.
    let server = Server::start_with(|dir| {
        media::provision(dir, FAMILY);
        let toml = dir.join("bootmedium.toml");
        let text = std::fs::read_to_string(&toml)
            .unwrap()
            .replace("download_lifetime_seconds = 3600", "download_lifetime_seconds = 2");
        std::fs::write(&toml, text).unwrap();
    });
    let f = fixture_on(server);
    let sv = &f.server;
    let session = admin_session(&f);
    let user = add_person(sv, "user@one.example.org", "user-password", &["user"], Some(f.site));
    let _ = user;
    let user_session =
        str_of(&sv.ok("GetSession", vec![password_auth("user@one.example.org", "user-password")])).to_string();
    let before = sv.db_snapshot();
    let key = stored_key(&f.server, f.node);
    let json = |v: serde_json::Value| v.to_string().into_bytes();
    let good = json(serde_json::json!({"node": HOST, "action": "node-iso"}));
    let bearer = format!("Bearer {session}");
    let auth: &[(&str, &str)] = &[("Authorization", &bearer)];
    let big = vec![b' '; 70 * 1024];
    let cases: Vec<RefusedCase> = vec![
        ("no session", vec![], good.clone(), 401, 103),
        ("a made-up session", vec![("Authorization", "Bearer nope".into())], good.clone(), 401, 103),
        ("basic auth", vec![("Authorization", "Basic YTpi".into())], good.clone(), 401, 103),
        ("a user's session", vec![("Authorization", format!("Bearer {user_session}"))], good.clone(), 403, 108),
        ("not JSON", auth_vec(auth), b"node=1".to_vec(), 400, 102),
        ("empty body", auth_vec(auth), Vec::new(), 400, 102),
        ("no action", auth_vec(auth), json(serde_json::json!({"node": HOST})), 400, 102),
        (
            "unknown field",
            auth_vec(auth),
            json(serde_json::json!({"node": HOST, "action": "node-iso", "x": 1})),
            400,
            102,
        ),
        (
            "options not a list",
            auth_vec(auth),
            json(serde_json::json!({"node": HOST, "action": "node-iso", "options": "serial"})),
            400,
            102,
        ),
        ("node a float", auth_vec(auth), json(serde_json::json!({"node": 1.5, "action": "node-iso"})), 400, 102),
        (
            "unknown node",
            auth_vec(auth),
            json(serde_json::json!({"node": "nope.example.org", "action": "node-iso"})),
            400,
            102,
        ),
        ("unknown node id", auth_vec(auth), json(serde_json::json!({"node": 9999, "action": "node-iso"})), 400, 102),
        ("a text action", auth_vec(auth), json(serde_json::json!({"node": HOST, "action": "node-floppy"})), 400, 102),
        ("node-preview", auth_vec(auth), json(serde_json::json!({"node": HOST, "action": "node-preview"})), 400, 102),
        (
            "an unknown action",
            auth_vec(auth),
            json(serde_json::json!({"node": HOST, "action": "node-cdrom"})),
            400,
            102,
        ),
        (
            "unknown option",
            auth_vec(auth),
            json(serde_json::json!({"node": HOST, "action": "node-iso", "options": ["turbo"]})),
            400,
            102,
        ),
        (
            "partition on an ISO",
            auth_vec(auth),
            json(serde_json::json!({"node": HOST, "action": "node-iso", "options": ["partition"]})),
            400,
            102,
        ),
        (
            "unknown variant",
            auth_vec(auth),
            json(serde_json::json!({"node": HOST, "action": "node-iso", "options": ["variant:nope"]})),
            400,
            102,
        ),
        (
            "bad console",
            auth_vec(auth),
            json(serde_json::json!({"node": HOST, "action": "node-iso", "options": ["serial:ttyS9"]})),
            400,
            102,
        ),
        (
            "generic with options",
            auth_vec(auth),
            json(serde_json::json!({"node": HOST, "action": "generic-iso", "options": ["serial"]})),
            400,
            102,
        ),
        (
            "NUL in the hostname",
            auth_vec(auth),
            json(serde_json::json!({"node": "a\u{0}b", "action": "node-iso"})),
            400,
            102,
        ),
        ("oversized body", auth_vec(auth), big, 413, 102),
        // A cookie session only with a JSON content type: a cross-site form cannot send one.
        (
            "a cookie without a content type",
            vec![("Cookie", format!("bootmedium_session={session}"))],
            good.clone(),
            415,
            102,
        ),
        (
            "a cookie with a form body",
            vec![("Cookie", format!("bootmedium_session={session}")), ("Content-Type", "text/plain".into())],
            good.clone(),
            415,
            102,
        ),
    ];
    for (what, headers, body, status, code) in cases {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let response = request(&f, "POST", "/api/v1/media", &headers, &body);
        let answer: serde_json::Value = serde_json::from_slice(&response.2)
            .unwrap_or_else(|e| panic!("{what}: {e}: {:?}", String::from_utf8_lossy(&response.2)));
        assert_eq!((response.0, answer["code"].as_i64()), (status, Some(code)), "{what}: {answer}");
        assert!(answer["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}: {answer}");
    }
    // Wrong methods on the download routes.
    assert_eq!(request(&f, "GET", "/api/v1/media", &[], b"").0, 405);
    assert_eq!(request(&f, "DELETE", "/media/00000000000000000000000000000000", &[], b"").0, 405);
    assert_eq!(sv.db_snapshot(), before, "a refused request changed the registry");
    assert_eq!(stored_key(&f.server, f.node), key);
    assert_no_leftovers(&sv.data_dir);

    // A link stops working when it expires. (Issued by a page's script: cookie and JSON.)
    let cookie = format!("bootmedium_session={session}");
    let body = json(serde_json::json!({"node": HOST, "action": "generic-usb"}));
    let response =
        request(&f, "POST", "/api/v1/media", &[("Cookie", &cookie), ("Content-Type", "application/json")], &body);
    let answer: serde_json::Value = serde_json::from_slice(&response.2).unwrap();
    assert_eq!(response.0, 201, "{answer}");
    let path = media_path(&answer);
    let served = request(&f, "GET", &path, &[], b"");
    assert_eq!(served.0, 200);
    assert_eq!(
        header(&served, "content-disposition"),
        Some(format!("attachment; filename=\"{FAMILY}-{}.usb\"", media::VERSION).as_str())
    );
    assert_eq!(stored_key(&f.server, f.node), key, "a generic medium renews no key");
    let (status, keyed) = issue(&f, &session, &serde_json::json!({"node": HOST, "action": "node-iso"}));
    assert_eq!(status, 201, "{keyed}");
    assert_eq!(live_links(sv), (2, 1), "two live links, one keeping a plnode.txt");
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(request(&f, "GET", &path, &[], b"").0, 404);
    assert_eq!(request(&f, "GET", &media_path(&keyed), &[], b"").0, 404);
    // The next link drops what the expired ones kept (their ids and the plnode.txt with a key).
    let (status, answer) = issue(&f, &session, &serde_json::json!({"node": HOST, "action": "node-usb"}));
    assert_eq!(status, 201, "{answer}");
    assert_eq!(live_links(sv), (1, 1));
    sv.assert_alive();
}

/// Ledger rows that still hold a download id, and those that still hold a plnode.txt, read
/// straight from the server's database (neither is a field of GetIssuedMedia).
fn live_links(server: &Server) -> (i64, i64) {
    let url = server.registry_url();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let registry = bootmedium_registry::Registry::open(&url).await.unwrap();
        let mut tx = registry.begin_read().await.unwrap();
        let kept = bootmedium_registry::ops::ledger::kept_for_downloads(&mut tx).await.unwrap();
        drop(tx);
        registry.close().await;
        (kept.download_ids, kept.node_configs)
    })
}

/// What is sent (name, headers, body) and the status and fault code expected.
type RefusedCase = (&'static str, Vec<(&'static str, String)>, Vec<u8>, u16, i64);

fn auth_vec(auth: &[(&str, &str)]) -> Vec<(&'static str, String)> {
    auth.iter().map(|(_, v)| ("Authorization", v.to_string())).collect()
}

/// No temporary or partial files anywhere under the data directory.
fn assert_no_leftovers(data_dir: &Path) {
    for path in entries(data_dir) {
        let name = path.rsplit('/').next().unwrap_or_default();
        assert!(!name.ends_with(".tmp") && !name.starts_with(".tmp"), "left behind: {path}");
    }
    let staging = data_dir.join("references/staging");
    if staging.exists() {
        assert_eq!(std::fs::read_dir(&staging).unwrap().count(), 0, "staging not empty");
    }
}

/// Files the server process holds open for media: templates, slot files, results, and
/// unlinked temporary files (database connections and sockets come and go with the pools).
fn media_fds(pid: u32) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { return Vec::new() };
    let mut open: Vec<String> = dir
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .map(|target| target.to_string_lossy().into_owned())
        .filter(|t| t.contains("/references/") || t.contains("/results/") || t.ends_with(" (deleted)"))
        .collect();
    open.sort();
    open
}

#[test]
fn nothing_is_left_behind_after_success_failure_or_disconnect() {
    let f = fixture();
    let sv = &f.server;
    let session = admin_session(&f);
    let results = sv.data_dir.join("results");
    // Warm up (database pool, first image) before counting what the server holds when idle.
    inline_medium(&f, "warm.iso", "node-iso", &[]);
    let (_, warm) = issue(&f, &session, &serde_json::json!({"node": HOST, "action": "node-iso"}));
    assert_eq!(request(&f, "GET", &media_path(&warm), &[], b"").0, 200);
    let idle = media_fds(sv.pid());
    assert!(idle.is_empty(), "media files open while idle: {idle:?}");

    // Success: the file and nothing else.
    let written =
        str_of(&sv.admin("GetBootMedium", vec![s(HOST), s("node-iso"), s("%d/ok-%n%s"), strs(&[])])).to_string();
    // Failure after the checks: the target exists and is younger than 5 minutes.
    assert_fault(
        &sv.admin_call("GetBootMedium", vec![s(HOST), s("node-iso"), s("%d/ok-%n%s"), strs(&[])]),
        102,
        "already exists",
    );
    // Failure of the build: unknown variant.
    assert_fault(
        &sv.admin_call("GetBootMedium", vec![s(HOST), s("node-usb"), s("%d/bad-%n%s"), strs(&["variant:nope"])]),
        102,
        "",
    );
    let names: Vec<String> =
        std::fs::read_dir(&results).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names, vec![Path::new(&written).file_name().unwrap().to_string_lossy().into_owned()]);

    // Disconnects: an inline XML-RPC image and a download, each dropped a little way in.
    let call = bootmedium_xmlrpc::write_method_call(
        "GetBootMedium",
        &[session_auth(&session), s(HOST), s("node-iso"), s(""), strs(&[])],
    );
    for _ in 0..3 {
        let mut stream = TcpStream::connect(&sv.addr).unwrap();
        write!(
            stream,
            "POST /PLCAPI/ HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{call}",
            sv.addr,
            call.len()
        )
        .unwrap();
        let mut buf = vec![0u8; 256 * 1024];
        stream.read_exact(&mut buf).unwrap();
        drop(stream);
    }
    let (_, answer) = issue(&f, &session, &serde_json::json!({"node": HOST, "action": "node-usb"}));
    for keep in [1, 100_000, 1_000_000] {
        broken_transfer(&f, &media_path(&answer), keep);
    }
    // While a client stalls, the server does hold the template: the check below can see it.
    let mut stalled = TcpStream::connect(&sv.addr).unwrap();
    write!(stalled, "GET {} HTTP/1.1\r\nHost: {}\r\n\r\n", media_path(&answer), sv.addr).unwrap();
    stalled.read_exact(&mut [0u8; 1024]).unwrap();
    // ... and only the template: a download makes no copy of the image anywhere.
    let held = media_fds(sv.pid());
    assert!(!held.is_empty() && held.iter().all(|t| t.contains("/references/")), "{held:?}");
    drop(stalled);
    // The server lets go of everything it opened for them.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !media_fds(sv.pid()).is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(media_fds(sv.pid()), Vec::<String>::new(), "still open after the clients went away");
    assert_no_leftovers(&sv.data_dir);
    assert_eq!(std::fs::read_dir(&results).unwrap().count(), 1);
    sv.assert_alive();
}

/// 20 concurrent node-iso calls for one node (file results, so the images can be verified):
/// all succeed, the ledger chains them in commit order, and `verify` agrees on each image.
fn twenty_concurrent_calls(f: &Fixture) {
    let sv = &f.server;
    let session = admin_session(f);
    let paths: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..20)
            .map(|n| {
                let session = session.clone();
                scope.spawn(move || {
                    let target = format!("%d/c{n:02}-%n%s");
                    let answer = sv.call(
                        "GetBootMedium",
                        vec![session_auth(&session), s(HOST), s("node-iso"), s(&target), strs(&["serial"])],
                    );
                    str_of(&answer.unwrap_or_else(|e| panic!("call {n}: {e:?}"))).to_string()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let rows = ledger(f);
    assert_eq!(rows.len(), 20);
    let ids: Vec<i64> = rows.iter().map(|r| int_of(field(r, "issued_medium_id"))).collect();
    for (n, row) in rows.iter().enumerate() {
        let expected = ids.get(n + 1).map_or(nil(), |next| i(*next));
        assert_eq!(field(row, "superseded_by"), &expected, "row {n}: {row:?}");
        assert_eq!(int_of(field(row, "key_generation")), n as i64 + 1);
    }
    assert_eq!(rows.iter().filter(|r| field(r, "superseded_by") == &nil()).count(), 1);
    let last = str_of(field(&rows[19], "filename")).to_string();
    for path in &paths {
        let row = rows
            .iter()
            .find(|r| str_of(field(r, "filename")) == path)
            .unwrap_or_else(|| panic!("{path} not in the ledger"));
        let (code, answer) = verify(f, Path::new(path));
        let expected = if *path == last { (0, "current") } else { (2, "superseded") };
        assert_eq!((code, answer["status"].as_str().unwrap()), expected, "{path}: {answer}");
        assert_eq!(answer["issued_medium_id"], int_of(field(row, "issued_medium_id")));
        assert_eq!(answer["image_matches"], true);
        assert_eq!(sha256_file(Path::new(path)), str_of(field(row, "sha256")));
    }
    // The node authenticates with the last image's key only.
    let key = stored_key(&f.server, f.node);
    assert_eq!(sv.call("AuthCheck", vec![hmac_auth(f.node, str_of(&key), &[])]), Ok(i(1)));
}

#[test]
fn twenty_concurrent_node_isos_on_sqlite() {
    twenty_concurrent_calls(&fixture_on(Server::start_sqlite_with(|dir| media::provision(dir, FAMILY))));
}

#[test]
fn twenty_concurrent_node_isos_on_postgresql() {
    match Server::start_postgres_with(|dir| media::provision(dir, FAMILY)) {
        Some(server) => twenty_concurrent_calls(&fixture_on(server)),
        None => eprintln!(
            "BOOTMEDIUM_TEST_POSTGRES_URL is not set: the PostgreSQL run is skipped (scripts/test.sh sets it)"
        ),
    }
}
