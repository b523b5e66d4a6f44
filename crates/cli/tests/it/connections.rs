//! What a client can hold of the server, against the real binary over HTTP: idle and half-sent
//! connections, slow bodies, connection caps, shutdown with requests in flight, the body-limit
//! fault as Python's xmlrpc.client sees it, and downloads that clients stop reading.

use crate::support::*;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Sets `[server]` keys of bootmedium.toml.
fn set_server(dir: &Path, settings: &[(&str, i64)]) {
    for (key, value) in settings {
        set_config(dir, "server", key, *value);
    }
}

fn connect(server: &Server) -> TcpStream {
    let stream = TcpStream::connect(&server.addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    stream
}

/// Reads until the server closes the connection (EOF or reset); returns how long that took
/// and what was read, or `None` if it was still open after `limit`.
fn wait_for_close(stream: &mut TcpStream, limit: Duration) -> Option<(Duration, Vec<u8>)> {
    let start = Instant::now();
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Some((start.elapsed(), seen)),
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => return None,
            Err(_) => return Some((start.elapsed(), seen)),
        }
        if start.elapsed() > limit {
            return None;
        }
    }
}

/// One keep-alive `GET /healthz` on `stream`; the status.
fn healthz_on(stream: &mut TcpStream) -> u16 {
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    // `ok\n` is the whole body: read until it has come after the headers.
    while !got.windows(4).any(|w| w == b"\r\n\r\n") || !got.ends_with(b"ok") {
        let n = stream.read(&mut buf).unwrap_or(0);
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&got).split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

fn fault_code(response: &[u8]) -> Option<i64> {
    let text = String::from_utf8_lossy(response);
    let at = text.find("<name>faultCode</name>")?;
    let rest = &text[at..];
    let start = rest.find("<int>")? + 5;
    rest[start..start + rest[start..].find('<')?].parse().ok()
}

#[test]
fn idle_and_half_sent_connections_are_closed_after_their_timeouts() {
    let server =
        Server::start_with(|dir| set_server(dir, &[("header_timeout_seconds", 2), ("keepalive_timeout_seconds", 3)]));
    // (case, bytes sent, whether a response comes first, the timeout that applies)
    let cases: [(&str, &[u8], bool, f64); 5] = [
        ("nothing sent", b"", false, 2.0),
        ("half a request line", b"POST /PLCA", false, 2.0),
        ("half the headers", b"POST /PLCAPI/ HTTP/1.1\r\nHost: t\r\nContent-Le", false, 2.0),
        ("idle after a keep-alive response", b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n", true, 3.0),
        ("half the next request's headers", b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\nGET /heal", true, 3.0),
    ];
    let threads: Vec<_> = cases
        .iter()
        .map(|&(name, bytes, _, _)| {
            let mut stream = connect(&server);
            stream.write_all(bytes).unwrap();
            std::thread::spawn(move || (name, wait_for_close(&mut stream, Duration::from_secs(8))))
        })
        .collect();
    for (thread, (_, _, answered, timeout)) in threads.into_iter().zip(cases) {
        let (name, closed) = thread.join().unwrap();
        let (after, seen) = closed.unwrap_or_else(|| panic!("{name}: still open after 8 s"));
        let secs = after.as_secs_f64();
        assert!(
            secs > timeout - 0.5 && secs < timeout + 2.0,
            "{name}: closed after {secs:.2} s, expected ~{timeout} s"
        );
        assert_eq!(seen.starts_with(b"HTTP/1.1 200"), answered, "{name}: {:?}", String::from_utf8_lossy(&seen));
    }
    server.assert_alive();
}

#[test]
fn slow_or_unfinished_bodies_are_cut_at_the_body_timeout() {
    let server =
        Server::start_with(|dir| set_server(dir, &[("body_timeout_seconds", 2), ("body_min_rate_bytes", 1000)]));
    let head = format!(
        "POST /PLCAPI/ HTTP/1.1\r\nHost: {}\r\nContent-Type: text/xml\r\nContent-Length: 100000\r\n\r\n",
        server.addr
    );
    // (case, bytes sent at once, then one byte every this often while the connection is open)
    let cases: [(&str, usize, Option<Duration>); 3] = [
        ("stops after 10 bytes", 10, None),
        ("stops after 3000 bytes (3 s of allowance at 1000 B/s)", 3000, None),
        ("trickles a byte every 100 ms", 10, Some(Duration::from_millis(100))),
    ];
    let threads: Vec<_> = cases
        .iter()
        .map(|&(name, first, trickle)| {
            let mut stream = connect(&server);
            stream.write_all(head.as_bytes()).unwrap();
            stream.write_all(&vec![b' '; first]).unwrap();
            let writer = stream.try_clone().unwrap();
            if let Some(every) = trickle {
                std::thread::spawn(move || {
                    let mut writer = writer;
                    while writer.write_all(b" ").is_ok() {
                        std::thread::sleep(every);
                    }
                });
            }
            std::thread::spawn(move || (name, wait_for_close(&mut stream, Duration::from_secs(10))))
        })
        .collect();
    for (thread, (_, first, _)) in threads.into_iter().zip(cases) {
        let (name, closed) = thread.join().unwrap();
        let (after, seen) = closed.unwrap_or_else(|| panic!("{name}: still open after 10 s"));
        let allowed = 2.0 + first as f64 / 1000.0;
        let secs = after.as_secs_f64();
        assert!(secs > allowed - 0.5 && secs < allowed + 2.0, "{name}: cut after {secs:.2} s, expected ~{allowed} s");
        assert_eq!(fault_code(&seen), Some(102), "{name}: {:?}", String::from_utf8_lossy(&seen));
    }
    server.assert_alive();
}

#[test]
fn a_client_over_its_address_cap_is_refused_and_admitted_ones_keep_working() {
    let server = Server::start_with(|dir| set_server(dir, &[("max_connections_per_ip", 4)]));
    let mut admitted: Vec<TcpStream> = (0..4).map(|_| connect(&server)).collect();
    for stream in &mut admitted {
        assert_eq!(healthz_on(stream), 200);
    }
    for extra in 0..3 {
        let mut stream = connect(&server);
        let _ = stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
        let (after, seen) = wait_for_close(&mut stream, Duration::from_secs(5))
            .unwrap_or_else(|| panic!("connection {extra} over the cap was neither answered nor closed"));
        assert!(seen.starts_with(b"HTTP/1.1 503"), "over the cap: {:?}", String::from_utf8_lossy(&seen));
        assert!(after < Duration::from_secs(1), "refused after {after:?}");
    }
    for stream in &mut admitted {
        assert_eq!(healthz_on(stream), 200, "an admitted connection still works");
    }
    drop(admitted);
    // Their places are free again once they close.
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.raw_exchange(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").map(|r| r.0).ok()
        != Some(200)
    {
        assert!(Instant::now() < deadline, "a new connection is still refused after the others closed");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn three_hundred_idle_sockets_do_not_stop_a_normal_call() {
    // 256 open files: the idle sockets alone would use up every descriptor.
    let server = Server::start_launched_with(&["prlimit", "--nofile=256:256", "--"], |_| {});
    let idle: Vec<TcpStream> = (0..300).map(|_| connect(&server)).collect();
    let (answer, took) = timed(|| {
        let mut stream = connect(&server);
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let body = bootmedium_xmlrpc::write_method_call("AuthCheck", &[server.admin_auth()]);
        let request = format!(
            "POST /PLCAPI/ HTTP/1.1\r\nHost: t\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut got = Vec::new();
        let _ = stream.read_to_end(&mut got);
        got
    });
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 200") && text.contains("<int>1</int>"), "after {took:?}: {text:?}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    drop(idle);
    server.assert_alive();
}

#[test]
fn sigterm_with_half_sent_requests_exits_within_the_grace_period() {
    let mut server =
        Server::start_with(|dir| set_server(dir, &[("shutdown_grace_seconds", 2), ("body_timeout_seconds", 600)]));
    let half_body = format!(
        "POST /PLCAPI/ HTTP/1.1\r\nHost: {}\r\nContent-Type: text/xml\r\nContent-Length: 1000\r\n\r\n<?xml",
        server.addr
    );
    let pending: [&[u8]; 3] = [half_body.as_bytes(), b"POST /PLCAPI/ HTTP/1.1\r\nHost: t\r\n", b""];
    let _open: Vec<TcpStream> = pending
        .iter()
        .map(|bytes| {
            let mut s = connect(&server);
            s.write_all(bytes).unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let (status, took) = timed(|| server.stop_with("TERM"));
    assert!(status.success(), "{status:?}");
    assert!(took < Duration::from_secs(4), "exit took {took:?} (grace 2 s)");
}

#[test]
fn python_xmlrpc_client_gets_the_body_limit_fault() {
    const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/python/oversized_call.py");
    let server = Server::start_with(|dir| set_server(dir, &[("max_body_bytes", 1048576)]));
    for size in [2 << 20, 20 << 20] {
        let out = Command::new("python3")
            .args([SCRIPT, &server.url, &size.to_string()])
            .stdin(Stdio::null())
            .output()
            .expect("run python3");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{size} bytes: {stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert!(
            stdout.starts_with("fault 102: ") && stdout.contains("request body larger than 1048576 bytes"),
            "{size} bytes: {stdout}"
        );
    }
    server.assert_alive();
}

// ---------------------------------------------------------------------------------------------
// Downloads

const HOST: &str = "node1.one.example.org";

/// A server with the test reference and a node; `settings` go to `[server]`.
fn download_server(settings: &[(&str, i64)]) -> (Server, String) {
    let server = Server::start_with(|dir| {
        media::provision(dir, DEFAULT_FAMILY);
        set_server(dir, settings);
    });
    server.use_admin_session();
    let site = add_site(&server, "one");
    let node = add_node(&server, site, HOST);
    add_static_interface(&server, node, 5);
    let session = str_of(&server.admin("GetSession", vec![])).to_string();
    (server, session)
}

/// A download link for `HOST`'s medium: (path, size).
fn issue_link(server: &Server, session: &str, options: &[&str]) -> (String, u64) {
    let body = serde_json::json!({"node": HOST, "action": "node-iso", "options": options}).to_string();
    let request = format!(
        "POST /api/v1/media HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {session}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        server.addr,
        body.len()
    );
    let (status, _, answer) = server.raw_exchange(request.as_bytes()).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(status, 201, "{json}");
    let url = json["url"].as_str().unwrap();
    (url[url.find("/media/").unwrap()..].to_string(), json["size"].as_u64().unwrap())
}

fn request(server: &Server, method: &str, path: &str, extra: &str) -> HttpResponse {
    let text = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n{extra}Connection: close\r\n\r\n", server.addr);
    server.raw_exchange(text.as_bytes()).unwrap()
}

fn header<'a>(response: &'a HttpResponse, name: &str) -> Option<&'a str> {
    response.1.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// A HEAD request: the status and headers (the harness's client expects a body).
fn head(server: &Server, path: &str, extra: &str) -> HttpResponse {
    let mut stream = connect(server);
    let text = format!("HEAD {path} HTTP/1.1\r\nHost: t\r\n{extra}Connection: close\r\n\r\n");
    stream.write_all(text.as_bytes()).unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let mut lines = raw.lines();
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|c| c.parse().ok()).unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, Vec::new())
}

#[test]
fn stalled_download_readers_delay_neither_a_range_request_nor_an_inline_image() {
    // Fewer file threads than stalled readers: a reader that held one would starve the rest.
    let (server, session) = download_server(&[("blocking_threads", 4), ("send_timeout_seconds", 600)]);
    let (path, size) = issue_link(&server, &session, &[]);
    assert!(size > 8 << 20, "the medium ({size} bytes) must be larger than the socket buffers");
    let inline = || server.admin("GetBootMedium", vec![s(HOST), s("generic-iso"), s(""), strs(&[])]);
    let (_, before) = timed(inline);
    let stalled: Vec<TcpStream> = (0..16)
        .map(|_| {
            let mut s = connect(&server);
            s.write_all(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes()).unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    let (part, took) = timed(|| request(&server, "GET", &path, "Range: bytes=1000-1999\r\n"));
    assert_eq!(part.0, 206);
    assert_eq!(part.2.len(), 1000);
    assert!(took < Duration::from_secs(2), "a range request took {took:?} beside 16 stalled readers");
    let (image, took) = timed(inline);
    assert!(!str_of(&image).is_empty());
    assert!(took < before * 3 + Duration::from_secs(2), "an inline image took {took:?} (alone: {before:?})");
    drop(stalled);
    server.assert_alive();
}

#[test]
fn a_client_that_stops_reading_is_dropped_after_the_send_timeout() {
    let (server, session) = download_server(&[("send_timeout_seconds", 2)]);
    let (path, _) = issue_link(&server, &session, &[]);
    let mut stream = connect(&server);
    stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes()).unwrap();
    // Not reading while the server fills the socket buffers, then draining what they held.
    std::thread::sleep(Duration::from_secs(5));
    let (_, seen) = wait_for_close(&mut stream, Duration::from_secs(10)).expect("the stalled download was not dropped");
    assert!(seen.starts_with(b"HTTP/1.1 200"));
    server.assert_alive();
}

#[test]
fn head_of_a_download_answers_from_the_ledger_without_making_the_medium() {
    let (server, session) = download_server(&[]);
    let (path, size) = issue_link(&server, &session, &[]);
    let before = head(&server, &path, "");
    // Without its templates the medium cannot be made; HEAD does not need it.
    let reference = server.data_dir.join("references/families").join(DEFAULT_FAMILY).join(media::VERSION);
    for entry in std::fs::read_dir(&reference).unwrap() {
        let p = entry.unwrap().path();
        if p.file_name().is_some_and(|n| n != "manifest.json") {
            std::fs::rename(&p, p.with_extension("moved")).unwrap();
        }
    }
    let after = head(&server, &path, "");
    assert_eq!(after.0, 200);
    assert_eq!(header(&after, "content-length"), Some(size.to_string().as_str()));
    assert_eq!(header(&after, "etag"), header(&before, "etag"));
    let ranged = head(&server, &path, "Range: bytes=0-99\r\n");
    assert_eq!((ranged.0, header(&ranged, "content-range")), (206, Some(format!("bytes 0-99/{size}").as_str())));
    // A GET does need it.
    assert_ne!(request(&server, "GET", &path, "").0, 200);
}

/// The unlinked temporary files the server process holds open.
fn unlinked_files(pid: u32) -> Vec<String> {
    let mut open: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .map(|t| t.to_string_lossy().into_owned())
        .filter(|t| t.ends_with(" (deleted)"))
        .collect();
    open.sort();
    open
}

#[test]
fn a_cramfs_download_is_built_once_per_link() {
    let (server, session) = download_server(&[]);
    let (path, size) = issue_link(&server, &session, &["cramfs"]);
    let (first, built) = timed(|| request(&server, "GET", &path, ""));
    assert_eq!((first.0, first.2.len() as u64), (200, size));
    let kept = unlinked_files(server.pid());
    assert_eq!(kept.len(), 1, "the link's cramfs medium is kept as one unlinked file: {kept:?}");
    let (range, again) = timed(|| request(&server, "GET", &path, "Range: bytes=4096-8191\r\n"));
    assert_eq!(range.2, first.2[4096..8192]);
    let (whole, _) = timed(|| request(&server, "GET", &path, ""));
    assert_eq!(whole.2, first.2);
    assert_eq!(unlinked_files(server.pid()), kept, "the same medium served every request");
    eprintln!("first GET (build) {built:?}, range GET {again:?}");
}

/// The server process's I/O counters (`/proc/PID/io`).
fn proc_io(pid: u32) -> std::collections::HashMap<String, u64> {
    std::fs::read_to_string(format!("/proc/{pid}/io"))
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_string(), v.trim().parse().unwrap()))
        .collect()
}

/// A whole response split into status line, headers without `date` and `connection`, and body.
fn split_response(raw: &[u8]) -> (String, Vec<String>, Vec<u8>) {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a response head") + 4;
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.lines().filter(|l| !l.is_empty());
    let status = lines.next().unwrap().split_once(' ').unwrap().1.to_string();
    let mut headers: Vec<String> = lines
        .map(str::to_ascii_lowercase)
        .filter(|l| !l.starts_with("date:") && !l.starts_with("connection:"))
        .collect();
    headers.sort();
    (status, headers, raw[end..].to_vec())
}

#[test]
fn downloads_are_sent_by_sendfile_with_the_same_answer_as_the_http_library_gives() {
    let (server, session) = download_server(&[]);
    let (path, size) = issue_link(&server, &session, &[]);
    // A cramfs type's medium has a slot file (its cramfs.img), sent by sendfile too.
    let (cramfs, _) = issue_link(&server, &session, &["cramfs"]);
    let send = |method: &str, path: &str, version: &str, extra: &str| {
        let mut stream = connect(&server);
        let text = format!("{method} {path} HTTP/{version}\r\nHost: t\r\n{extra}Connection: close\r\n\r\n");
        stream.write_all(text.as_bytes()).unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        split_response(&raw)
    };
    let fetch = |version: &str, extra: &str| send("GET", &path, version, extra);
    // HTTP/1.0 requests go to the HTTP library's streaming path: the reference answer.
    let cases: &[(&str, &str, &str)] = &[
        (&path, "", "200 OK"),
        (&path, "HEAD", "200 OK"),
        (&path, "HEAD Range: bytes=5-9\r\n", "206 Partial Content"),
        (&path, "Range: bytes=100-5000000\r\n", "206 Partial Content"),
        (&path, "Range: bytes=-70000\r\n", "206 Partial Content"),
        (&path, "Range: bytes=999999999-\r\n", "416 Range Not Satisfiable"),
        (&path, "Range: bytes=0-9\r\nIf-Range: \"other\"\r\n", "200 OK"),
        (&path, "If-None-Match: *\r\n", "304 Not Modified"),
        ("/media/0123456789abcdef0123456789abcdef", "", "404 Not Found"),
        ("/media/0123456789abcdef0123456789abcdef", "HEAD", "404 Not Found"),
        (&cramfs, "", "200 OK"),
        (&cramfs, "Range: bytes=4000-900000\r\n", "206 Partial Content"),
    ];
    for (path, extra, expected) in cases {
        // "HEAD …" cases: a HEAD with the rest as headers.
        let (method, extra) = extra.strip_prefix("HEAD").map_or(("GET", *extra), |rest| ("HEAD", rest.trim_start()));
        let (status, headers, body) = send(method, path, "1.1", extra);
        let (_, reference_headers, reference_body) = send(method, path, "1.0", extra);
        assert_eq!(&status, expected, "{path} {extra:?}");
        assert_eq!(headers, reference_headers, "{path} {extra:?}");
        assert!(body == reference_body, "{path} {extra:?}: the bodies differ ({status})");
    }
    // Keep-alive: two downloads, then another kind of request, pipelined on one connection.
    let mut stream = connect(&server);
    let ranged = format!("GET {path} HTTP/1.1\r\nHost: t\r\nRange: bytes=0-99\r\n\r\n");
    let text = format!("{ranged}{ranged}GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    stream.write_all(text.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw);
    assert_eq!(text.matches("HTTP/1.1 206 Partial Content\r\n").count(), 2, "{text}");
    assert!(text.contains("HTTP/1.1 200 OK\r\n") && text.ends_with("\r\n\r\nok"), "{text}");
    // Bytes sent by sendfile count as read (rchar) too, but a sendfile call is one read system
    // call for up to a megabyte, where a copy through user space reads at most 128 KiB a call:
    // a 16 MB image takes 120 and more reads that way, far fewer this way. The socket buffer
    // decides how much each call sends; the best of three fetches is compared.
    let mut calls = Vec::new();
    for _ in 0..3 {
        let before = proc_io(server.pid());
        let (status, _, body) = fetch("1.1", "");
        let after = proc_io(server.pid());
        assert_eq!((status.as_str(), body.len() as u64), ("200 OK", size));
        calls.push(after["syscr"] - before["syscr"]);
    }
    let copying = size / (128 * 1024);
    assert!(
        calls.iter().min().unwrap() * 2 < copying,
        "read system calls per {size}-byte download: {calls:?}; a 128 KiB copy loop needs {copying}"
    );
}
