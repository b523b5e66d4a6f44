//! HTTPS served by `serve` itself, against the real binary: certificates made here by the real
//! `openssl` command (throw-away CAs, server certificates for 127.0.0.1 by subjectAltName IP),
//! Python's own `xmlrpc.client` with an SSL context trusting one CA, curl with `--cacert`,
//! `bootmedium verify --ca`, raw sockets for the clients that never finish a handshake, and
//! certificate reloads on file change and SIGHUP.

use crate::support::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const PYTHON_DRIVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/python/https_call.py");
const HOST: &str = "node1.tls.example.org";

// ---------------------------------------------------------------------------------------------
// Certificates

/// `openssl` settings for the test CAs and server certificates: what a real PKI issues, so
/// that rustls, curl and Python's strict default context all accept them.
const OPENSSL_CNF: &str = "\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
";

/// A directory of throw-away certificates.
struct Pki {
    dir: PathBuf,
    _tmp: tempfile::TempDir,
}

/// A certificate and its key.
#[derive(Clone)]
struct Pair {
    crt: PathBuf,
    key: PathBuf,
}

impl Pki {
    fn new() -> Pki {
        media::require_tool("openssl", "openssl");
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        std::fs::write(dir.join("openssl.cnf"), OPENSSL_CNF).unwrap();
        Pki { dir, _tmp: tmp }
    }

    fn openssl(&self, args: &[&str]) {
        let out = Command::new("openssl").args(args).current_dir(&self.dir).stdin(Stdio::null()).output().unwrap();
        assert!(out.status.success(), "openssl {args:?}: {}", describe(&out));
    }

    /// A new key: EC P-256, or RSA 2048 when `rsa`.
    fn key_args(rsa: bool) -> Vec<&'static str> {
        if rsa {
            vec!["-newkey", "rsa:2048"]
        } else {
            vec!["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
        }
    }

    /// A self-signed CA.
    fn ca(&self, name: &str) -> Pair {
        let (crt, key) = (format!("{name}-ca.crt"), format!("{name}-ca.key"));
        let subject = format!("/CN=bootmedium test CA {name}");
        let mut args = vec!["req", "-x509", "-new", "-config", "openssl.cnf", "-extensions", "ca", "-nodes"];
        args.extend(Pki::key_args(false));
        args.extend(["-keyout", &key, "-out", &crt, "-days", "2", "-subj", &subject]);
        self.openssl(&args);
        Pair { crt: self.dir.join(crt), key: self.dir.join(key) }
    }

    /// A server certificate for 127.0.0.1 issued by `ca`.
    fn server(&self, ca: &Pair, name: &str, rsa: bool) -> Pair {
        let (crt, key, csr) = (format!("{name}.crt"), format!("{name}.key"), format!("{name}.csr"));
        let mut args = vec!["req", "-new", "-config", "openssl.cnf", "-nodes"];
        args.extend(Pki::key_args(rsa));
        args.extend(["-keyout", &key, "-out", &csr, "-subj", "/CN=127.0.0.1"]);
        self.openssl(&args);
        let (ca_crt, ca_key) = (ca.crt.to_str().unwrap(), ca.key.to_str().unwrap());
        self.openssl(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            ca_crt,
            "-CAkey",
            ca_key,
            "-set_serial",
            "4711",
            "-days",
            "2",
            "-extfile",
            "openssl.cnf",
            "-extensions",
            "leaf",
            "-out",
            &crt,
        ]);
        Pair { crt: self.dir.join(crt), key: self.dir.join(key) }
    }
}

/// Where the tests put the server's certificate and key, relative to the data dir (as
/// `[server] tls_certificate` and `tls_key` name them).
const CRT: &str = "tls/server.crt";
const KEY: &str = "tls/server.key";

/// Installs `pair` as the data dir's HTTPS certificate and turns HTTPS on.
fn install_tls(data_dir: &Path, pair: &Pair) {
    std::fs::create_dir_all(data_dir.join("tls")).unwrap();
    std::fs::copy(&pair.crt, data_dir.join(CRT)).unwrap();
    std::fs::copy(&pair.key, data_dir.join(KEY)).unwrap();
    set_config(data_dir, "server", "tls_listen", "127.0.0.1:0");
    set_config(data_dir, "server", "tls_certificate", CRT);
    set_config(data_dir, "server", "tls_key", KEY);
}

/// Replaces `path` as a deployment tool would: a new file renamed over it.
fn replace(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Clients

/// `curl` trusting `ca` only, with `args`; never through a proxy.
fn curl(ca: &Path, args: &[&str]) -> Output {
    media::require_tool("curl", "curl");
    Command::new("curl")
        .args(["-sS", "--noproxy", "*", "--max-time", "30", "--cacert"])
        .arg(ca)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Whether the server's certificate now verifies against `ca` (a new connection each time).
/// Issues a download link over HTTPS (`POST /api/v1/media` with an admin session as Bearer):
/// its url, sha256 and size.
fn issue_link(server: &Server, ca: &Path, base: &str, request: &serde_json::Value) -> (String, String, u64) {
    let session = str_of(&server.admin("GetSession", vec![])).to_string();
    let bearer = format!("Authorization: Bearer {session}");
    let body = request.to_string();
    let args = [
        "--fail",
        "-H",
        &bearer,
        "-H",
        "Content-Type: application/json",
        "--data",
        &body,
        &format!("{base}/api/v1/media"),
    ];
    let out = curl(ca, &args);
    assert!(out.status.success(), "issuing a link over HTTPS: {}", describe(&out));
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let url = answer["url"].as_str().unwrap().to_string();
    assert!(url.starts_with(&format!("{base}/media/")), "{answer}");
    (url, answer["sha256"].as_str().unwrap().to_string(), answer["size"].as_u64().unwrap())
}

fn served_by(base: &str, ca: &Path) -> bool {
    let out = curl(ca, &["--fail", &format!("{base}/healthz")]);
    match out.status.code() {
        Some(0) => {
            assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok");
            true
        }
        // 60: the peer's certificate cannot be verified with the known CA certificates.
        Some(60) => false,
        _ => panic!("curl failed otherwise: {}", describe(&out)),
    }
}

/// Polls `what` until it holds, for at most `limit`.
fn eventually(limit: Duration, mut what: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if what() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// `https_call.py URL CA`: Python's xmlrpc.client over HTTPS.
fn python_over_https(url: &str, ca: &Path) -> Output {
    Command::new("python3")
        .arg(PYTHON_DRIVER)
        .arg(url)
        .arg(ca)
        .args([ADMIN_EMAIL, ADMIN_PASSWORD])
        .stdin(Stdio::null())
        .output()
        .expect("run python3 (install python3)")
}

#[track_caller]
fn assert_python_calls(url: &str, ca: &Path) {
    let out = python_over_https(url, ca);
    assert!(out.status.success(), "https_call.py: {}", describe(&out));
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["AuthCheck"], 1, "{answer}");
    assert_eq!(answer["persons"][0]["email"], ADMIN_EMAIL, "{answer}");
    assert!(answer["persons"][0]["roles"].as_array().unwrap().contains(&serde_json::json!("admin")), "{answer}");
}

/// `https://127.0.0.1:PORT` of an `https://…/PLCAPI/` URL.
fn base_of(url: &str) -> String {
    url.trim_end_matches("/PLCAPI/").to_string()
}

fn sha256_file(path: &Path) -> String {
    bootmedium_media::sha256_hex(std::fs::File::open(path).unwrap()).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Tests

#[test]
fn python_curl_and_verify_speak_https_and_a_download_over_it_is_byte_identical() {
    let pki = Pki::new();
    let (ca, other_ca) = (pki.ca("one"), pki.ca("other"));
    let pair = pki.server(&ca, "server", false);
    let server = Server::start_with(|dir| {
        media::provision(dir, DEFAULT_FAMILY);
        install_tls(dir, &pair);
    });
    let https = server.https_url.clone().expect("the HTTPS listening line");
    assert!(https.starts_with("https://127.0.0.1:"), "{https}");
    assert_ne!(base_of(&https), base_of(&server.url).replace("http://", "https://"), "two ports");
    let base = base_of(&https);

    // Python's xmlrpc.client, as PLC's tools use it.
    assert_python_calls(&https, &ca.crt);
    let refused = python_over_https(&https, &other_ca.crt);
    assert_eq!(refused.status.code(), Some(2), "{}", describe(&refused));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("CERTIFICATE_VERIFY_FAILED"), "{}", describe(&refused));

    // A download link issued over HTTPS points at HTTPS, and its bytes are the medium's.
    server.use_admin_session();
    let site = add_site(&server, "tls");
    let node = add_node(&server, site, HOST);
    add_static_interface(&server, node, 7);
    let (url, sha, size) = issue_link(
        &server,
        &ca.crt,
        &base,
        &serde_json::json!({"node": HOST, "action": "node-iso", "options": ["serial"]}),
    );

    let work = tempfile::tempdir().unwrap();
    let over_tls = work.path().join("over-tls.iso");
    let out = curl(&ca.crt, &["--fail", "-o", over_tls.to_str().unwrap(), &url]);
    assert!(out.status.success(), "download over HTTPS: {}", describe(&out));
    assert_eq!(std::fs::metadata(&over_tls).unwrap().len(), size);
    assert_eq!(sha256_file(&over_tls), sha);
    // The same link over plain HTTP goes by sendfile: the same bytes.
    let path = &url[base.len()..];
    let (status, _, plain) = server.get(path);
    assert_eq!(status, 200);
    let whole = std::fs::read(&over_tls).unwrap();
    assert!(plain == whole, "HTTP and HTTPS downloads differ");

    // Ranges over HTTPS: one in the middle, the tail, and a resumed download.
    let ranged = work.path().join("range.bin");
    let out = curl(&ca.crt, &["--fail", "-r", "1000-300000", "-o", ranged.to_str().unwrap(), &url]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(std::fs::read(&ranged).unwrap() == whole[1000..=300000], "a middle range");
    let out = curl(&ca.crt, &["--fail", "-r", "-5000", "-o", ranged.to_str().unwrap(), &url]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(std::fs::read(&ranged).unwrap() == whole[whole.len() - 5000..], "the last 5000 bytes");
    let resumed = work.path().join("resumed.iso");
    std::fs::write(&resumed, &whole[..whole.len() / 3]).unwrap();
    let out = curl(&ca.crt, &["--fail", "-C", "-", "-o", resumed.to_str().unwrap(), &url]);
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(sha256_file(&resumed), sha, "a resumed download");

    // Trusting another CA: refused, by curl and by verify.
    let out = curl(&other_ca.crt, &["--fail", "-o", "/dev/null", &url]);
    assert_eq!(out.status.code(), Some(60), "{}", describe(&out));
    let verify = |ca: &Path| {
        bootmedium().arg("verify").arg(&over_tls).args(["--server", &https, "--json", "--ca"]).arg(ca).output().unwrap()
    };
    let out = verify(&ca.crt);
    assert!(out.status.success(), "verify --ca: {}", describe(&out));
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((answer["status"].as_str(), &answer["image_matches"]), (Some("current"), &serde_json::json!(true)));
    let (out, took) = timed(|| verify(&other_ca.crt));
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("does not verify against the CA in"), "{}", describe(&out));
    assert!(took < Duration::from_secs(10), "a refused certificate took {took:?}");
    // Without --ca: the system's CA certificates, which know nothing of the test CA, unless
    // SSL_CERT_FILE points there (as OpenSSL's tools honour it).
    let system = |cert_file: Option<&Path>| {
        let mut cmd = bootmedium();
        cmd.arg("verify").arg(&over_tls).args(["--server", &https, "--json"]);
        cmd.env_remove("SSL_CERT_FILE").env_remove("SSL_CERT_DIR");
        if let Some(file) = cert_file {
            cmd.env("SSL_CERT_FILE", file);
        }
        cmd.output().unwrap()
    };
    let out = system(None);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("does not verify against the system's CA certificates")
            || stderr.contains("no system CA certificates found"),
        "{}",
        describe(&out)
    );
    let out = system(Some(&ca.crt));
    assert!(out.status.success(), "verify with SSL_CERT_FILE: {}", describe(&out));
    // --ca means https://.
    let out = bootmedium()
        .arg("verify")
        .arg(&over_tls)
        .args(["--server", &server.url, "--ca"])
        .arg(&ca.crt)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("--ca is for https://"), "{}", describe(&out));
    server.assert_alive();
}

#[test]
fn https_only_cuts_silent_half_and_plain_http_clients_and_keeps_serving() {
    let pki = Pki::new();
    let ca = pki.ca("only");
    let pair = pki.server(&ca, "server", true);
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let out = init(&data_dir, None);
    assert!(out.status.success(), "{}", describe(&out));
    install_tls(&data_dir, &pair);
    set_config(&data_dir, "server", "header_timeout_seconds", 2);
    set_config(&data_dir, "server", "listen", "");
    let mut cmd = bootmedium();
    cmd.arg("--data-dir").arg(&data_dir).arg("serve");
    let (mut child, urls) = spawn_listening_lines(cmd, &tmp.path().join("serve.stderr"), 1);
    let https = urls[0].clone();
    assert!(https.starts_with("https://127.0.0.1:"), "HTTPS only: {urls:?}");
    let addr = base_of(&https).trim_start_matches("https://").to_string();
    assert_python_calls(&https, &ca.crt);

    // A client that connects and sends nothing, or half a ClientHello, is cut at the header
    // timeout; one that speaks plain HTTP to the HTTPS port is closed at once, unanswered.
    let cut_after = |send: &[u8]| {
        let mut stream = TcpStream::connect(&addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        stream.write_all(send).unwrap();
        let started = Instant::now();
        let mut got = Vec::new();
        let result = stream.read_to_end(&mut got);
        let took = started.elapsed();
        if let Err(e) = &result {
            assert!(e.kind() != std::io::ErrorKind::WouldBlock && e.kind() != std::io::ErrorKind::TimedOut, "{e}");
        }
        (got, took)
    };
    let (got, took) = cut_after(b"");
    assert!(got.is_empty(), "{got:?}");
    assert!(
        (Duration::from_millis(1500)..Duration::from_secs(8)).contains(&took),
        "a silent client was cut after {took:?}"
    );
    let (_, took) = cut_after(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01]);
    assert!(
        (Duration::from_millis(1500)..Duration::from_secs(8)).contains(&took),
        "half a hello was cut after {took:?}"
    );
    let (got, took) = cut_after(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes());
    assert!(!got.starts_with(b"HTTP/"), "plain HTTP was answered: {:?}", String::from_utf8_lossy(&got));
    assert!(took < Duration::from_millis(1500), "plain HTTP was closed only after {took:?}");

    // The server is unharmed.
    assert_python_calls(&https, &ca.crt);
    assert!(served_by(&base_of(&https), &ca.crt));
    assert!(stop_child(&mut child, "TERM").is_some_and(|s| s.success()));
}

/// A TLS connection to `addr` (`127.0.0.1:PORT`) trusting `ca` alone, made by rustls.
fn tls_connect(addr: &str, ca: &Path) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pki_types::CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let connection = rustls::ClientConnection::new(std::sync::Arc::new(config), name).unwrap();
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    rustls::StreamOwned::new(connection, stream)
}

#[test]
fn a_stalled_tls_download_is_dropped_and_one_in_flight_finishes_at_shutdown() {
    let pki = Pki::new();
    let ca = pki.ca("downloads");
    let pair = pki.server(&ca, "server", false);
    let mut server = Server::start_with(|dir| {
        media::provision(dir, DEFAULT_FAMILY);
        install_tls(dir, &pair);
        set_config(dir, "server", "send_timeout_seconds", 2);
    });
    let base = base_of(server.https_url.as_deref().unwrap());
    let tls_addr = base.trim_start_matches("https://").to_string();
    server.use_admin_session();
    let site = add_site(&server, "tls");
    let node = add_node(&server, site, HOST);
    add_static_interface(&server, node, 7);
    let (url, sha, size) =
        issue_link(&server, &ca.crt, &base, &serde_json::json!({"node": HOST, "action": "node-iso"}));
    assert!(size > 8 << 20, "the medium ({size} bytes) must be larger than the socket buffers");

    // A reader that stops reading is dropped after the send timeout, as on plain HTTP.
    let mut stalled = tls_connect(&tls_addr, &ca.crt);
    let path = &url[base.len()..];
    stalled.write_all(format!("GET {path} HTTP/1.1\r\nHost: {tls_addr}\r\n\r\n").as_bytes()).unwrap();
    std::thread::sleep(Duration::from_secs(5));
    let (mut received, mut buf, started) = (0u64, vec![0u8; 64 * 1024], Instant::now());
    let ended = loop {
        match stalled.read(&mut buf) {
            Ok(0) => break "closed",
            Ok(n) => received += n as u64,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                panic!("the stalled TLS download was not dropped ({received} bytes, {:?})", started.elapsed())
            }
            Err(_) => break "cut",
        }
    };
    assert!(received < size, "{ended} after all {received} bytes");

    // SIGTERM while a slow download runs: it finishes (within the shutdown grace), whole.
    let work = tempfile::tempdir().unwrap();
    let out_file = work.path().join("slow.iso");
    media::require_tool("curl", "curl");
    let slow = Command::new("curl")
        .args(["-sS", "--noproxy", "*", "--fail", "--limit-rate", "4M", "--cacert"])
        .arg(&ca.crt)
        .arg("-o")
        .arg(&out_file)
        .arg(&url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = || std::fs::metadata(&out_file).is_ok_and(|m| m.len() > 0);
    assert!(eventually(Duration::from_secs(20), started), "the slow download never started");
    let status = server.stop_with("TERM");
    assert!(status.success(), "serve exited with {status:?}");
    let out = slow.wait_with_output().unwrap();
    assert!(out.status.success(), "the download in flight: {}", describe(&out));
    assert_eq!(sha256_file(&out_file), sha);
}

#[test]
fn tls_and_plain_connections_share_one_set_of_caps() {
    let pki = Pki::new();
    let ca = pki.ca("caps");
    let pair = pki.server(&ca, "server", false);
    let server = Server::start_with(|dir| {
        install_tls(dir, &pair);
        set_config(dir, "server", "max_connections_per_ip", 2);
    });
    let base = base_of(server.https_url.as_deref().unwrap());
    let tls_addr = base.trim_start_matches("https://").to_string();
    // Two handshakes that never start hold this address's two places…
    let held: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(&tls_addr).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(300));
    // …so plain HTTP gets the 503, and another TLS client is closed without a plain-text answer.
    let (status, _, body) = server.raw_exchange(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    assert_eq!((status, String::from_utf8_lossy(&body).trim()), (503, "too many connections"));
    let mut refused = TcpStream::connect(&tls_addr).unwrap();
    refused.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut got = Vec::new();
    let _ = refused.read_to_end(&mut got);
    assert!(got.is_empty(), "{:?}", String::from_utf8_lossy(&got));
    let out = curl(&ca.crt, &["--fail", &format!("{base}/healthz")]);
    assert!(!out.status.success(), "a third connection was admitted: {}", describe(&out));
    drop(held);
    assert!(eventually(Duration::from_secs(10), || served_by(&base, &ca.crt)));
    server.assert_alive();
}

#[test]
fn certificates_reload_on_file_change_and_sighup_and_unusable_files_keep_the_current_one() {
    let pki = Pki::new();
    let (ca_a, ca_b) = (pki.ca("a"), pki.ca("b"));
    // A (EC) is smaller than B (RSA): padded to B's sizes it can replace B unseen by stat.
    let (a, b) = (pki.server(&ca_a, "a", false), pki.server(&ca_b, "b", true));
    let server = Server::start_with(|dir| install_tls(dir, &a));
    let base = base_of(server.https_url.as_deref().unwrap());
    let (crt, key) = (server.data_dir.join(CRT), server.data_dir.join(KEY));
    assert!(served_by(&base, &ca_a.crt));
    assert!(!served_by(&base, &ca_b.crt));

    // New files: new connections get B, without a restart.
    replace(&key, &std::fs::read(&b.key).unwrap());
    replace(&crt, &std::fs::read(&b.crt).unwrap());
    assert!(eventually(Duration::from_secs(15), || served_by(&base, &ca_b.crt)), "B never served");
    assert!(!served_by(&base, &ca_a.crt));
    let loaded = |s: &Server| s.stderr_log().matches("TLS certificate loaded").count();
    let before = loaded(&server);

    // Unusable files: garbage, then a key of another certificate. B stays, and the log says why.
    let log_has = |needle: &str| {
        eventually(Duration::from_secs(15), || served_by(&base, &ca_b.crt) && server.stderr_log().contains(needle))
    };
    replace(&crt, b"garbage\n");
    assert!(log_has("holds no PEM certificate"), "{}", server.stderr_log());
    replace(&crt, &std::fs::read(&b.crt).unwrap());
    replace(&key, &std::fs::read(&a.key).unwrap());
    assert!(log_has("does not belong to the certificate"), "{}", server.stderr_log());
    assert!(served_by(&base, &ca_b.crt) && !served_by(&base, &ca_a.crt));
    assert_eq!(loaded(&server), before, "nothing unusable was loaded");
    replace(&key, &std::fs::read(&b.key).unwrap());
    // (Files are looked at when a connection comes.)
    let b_again = eventually(Duration::from_secs(15), || served_by(&base, &ca_b.crt) && loaded(&server) > before);
    assert!(b_again, "B again: {}", server.stderr_log());

    // SIGHUP reads the files even when their metadata shows no change: A written into B's files
    // in place, padded to the same sizes, the modification times put back.
    std::thread::sleep(Duration::from_secs(3));
    for (path, from) in [(&crt, &a.crt), (&key, &a.key)] {
        let meta = std::fs::metadata(path).unwrap();
        let mut bytes = std::fs::read(from).unwrap();
        assert!(bytes.len() as u64 <= meta.len(), "A's {} is larger than B's", from.display());
        bytes.resize(meta.len() as usize, b'\n');
        let mut file = std::fs::OpenOptions::new().write(true).truncate(true).open(path).unwrap();
        file.write_all(&bytes).unwrap();
        file.set_modified(meta.modified().unwrap()).unwrap();
    }
    std::thread::sleep(Duration::from_secs(3));
    assert!(served_by(&base, &ca_b.crt), "the unchanged metadata made no reload");
    let status = Command::new("kill").args(["-HUP", &server.pid().to_string()]).status().unwrap();
    assert!(status.success());
    assert!(eventually(Duration::from_secs(10), || served_by(&base, &ca_a.crt)), "SIGHUP did not reload");
    assert!(server.stderr_log().contains("SIGHUP"), "{}", server.stderr_log());
    // A SIGHUP with unusable files keeps A, and the server.
    replace(&key, &std::fs::read(&b.key).unwrap());
    let status = Command::new("kill").args(["-HUP", &server.pid().to_string()]).status().unwrap();
    assert!(status.success());
    std::thread::sleep(Duration::from_secs(1));
    assert!(served_by(&base, &ca_a.crt));
    server.assert_alive();
}

#[test]
fn serve_refuses_unusable_tls_settings_naming_the_file() {
    let pki = Pki::new();
    let ca = pki.ca("refusals");
    let (good, other) = (pki.server(&ca, "good", false), pki.server(&ca, "other", false));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let out = init(&dir, None);
    assert!(out.status.success(), "{}", describe(&out));
    std::fs::create_dir_all(dir.join("tls")).unwrap();
    let put = |name: &str, bytes: &[u8]| std::fs::write(dir.join("tls").join(name), bytes).unwrap();
    put("good.crt", &std::fs::read(&good.crt).unwrap());
    put("good.key", &std::fs::read(&good.key).unwrap());
    put("other.key", &std::fs::read(&other.key).unwrap());
    put("garbage.pem", b"this is not PEM\n");
    let key_text = std::fs::read(&good.key).unwrap();
    put("cut.key", &key_text[..key_text.len() / 2]);
    let abs = |name: &str| dir.join("tls").join(name).display().to_string();

    // (certificate, key, what stderr must say)
    let cases: Vec<(&str, &str, Vec<String>)> = vec![
        ("", "", vec!["[server] tls_certificate is not set".into()]),
        ("tls/good.crt", "", vec!["[server] tls_key is not set".into()]),
        ("tls/missing.crt", "tls/good.key", vec![format!("cannot read the TLS certificate {}", abs("missing.crt"))]),
        ("tls/good.crt", "tls/missing.key", vec![format!("cannot read the TLS key {}", abs("missing.key"))]),
        ("tls", "tls/good.key", vec![format!("cannot read the TLS certificate {}", dir.join("tls").display())]),
        (
            "tls/garbage.pem",
            "tls/good.key",
            vec![format!("the TLS certificate {} holds no PEM certificate", abs("garbage.pem"))],
        ),
        (
            "tls/good.crt",
            "tls/garbage.pem",
            vec![format!("the TLS key {} holds no usable PEM private key", abs("garbage.pem"))],
        ),
        (
            "tls/good.crt",
            "tls/good.crt",
            vec![format!("the TLS key {} holds no usable PEM private key", abs("good.crt"))],
        ),
        (
            "tls/good.crt",
            "tls/cut.key",
            vec![format!("the TLS key {} holds no usable PEM private key", abs("cut.key"))],
        ),
        (
            "tls/good.crt",
            "tls/other.key",
            vec![format!("the TLS key {} does not belong to the certificate {}", abs("other.key"), abs("good.crt"))],
        ),
    ];
    let serve = |args: &[&str]| {
        let mut child = bootmedium()
            .arg("--data-dir")
            .arg(&dir)
            .arg("serve")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("serve {args:?} did not refuse to start");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        child.wait_with_output().unwrap()
    };
    for (certificate, key, wanted) in &cases {
        set_config(&dir, "server", "tls_certificate", *certificate);
        set_config(&dir, "server", "tls_key", *key);
        let out = serve(&["--listen", "127.0.0.1:0", "--tls-listen", "127.0.0.1:0"]);
        assert_eq!(out.status.code(), Some(1), "{certificate:?} {key:?}: {}", describe(&out));
        assert!(out.stdout.is_empty(), "{certificate:?} {key:?} listened: {}", describe(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        for w in wanted {
            assert!(stderr.contains(w.as_str()), "{certificate:?} {key:?}: expected {w:?} in {}", describe(&out));
        }
    }
    // Nothing to listen on.
    set_config(&dir, "server", "listen", "");
    let out = serve(&[]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to listen on"), "{}", describe(&out));
    let out = serve(&["--listen", "none", "--tls-listen", "none"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to listen on"), "{}", describe(&out));
    // The good pair from the settings file alone (tls_listen there, HTTP off) starts.
    set_config(&dir, "server", "tls_certificate", "tls/good.crt");
    set_config(&dir, "server", "tls_key", "tls/good.key");
    set_config(&dir, "server", "tls_listen", "127.0.0.1:0");
    let mut cmd = bootmedium();
    cmd.arg("--data-dir").arg(&dir).arg("serve");
    let (mut child, urls) = spawn_listening_lines(cmd, &tmp.path().join("serve.stderr"), 1);
    assert!(urls[0].starts_with("https://127.0.0.1:"), "{urls:?}");
    assert!(served_by(&base_of(&urls[0]), &ca.crt));
    assert!(stop_child(&mut child, "TERM").is_some_and(|s| s.success()));
}
