//! The boot server pages (docs/plc-api.md §12.4) and the BootManager payload store, through the real
//! binary: `bootmedium bootmanager add|list|remove` with payloads signed by a throw-away key of
//! a real gpg (its public ring is the PLC's `boot/pubring.gpg`), `POST /boot/` and
//! `/boot/getnodeid.php` from chosen loopback addresses, and the client address behind a
//! trusted proxy.
//!
//! Section numbers (§N) refer to docs/plc-api.md.

use crate::support::*;
use bootmedium_xmlrpc::Value;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

// ---------------------------------------------------------------------------------------------
// gpg

/// A throw-away signing key in its own GnuPG home.
struct Signer {
    home: tempfile::TempDir,
}

impl Signer {
    fn new(uid: &str) -> Signer {
        let home = tempfile::Builder::new().prefix("bm-gpg-").tempdir().unwrap();
        let out = gpg(home.path(), &["--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "never"]);
        assert!(out.status.success(), "gpg --quick-gen-key: {}", describe(&out));
        Signer { home }
    }

    /// The public keyring (`gpg --export`).
    fn public_ring(&self) -> Vec<u8> {
        let out = gpg(self.home.path(), &["--export"]);
        assert!(out.status.success() && !out.stdout.is_empty(), "gpg --export: {}", describe(&out));
        out.stdout
    }

    fn fingerprint(&self) -> String {
        let out = gpg(self.home.path(), &["--with-colons", "--list-keys"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.lines()
            .find_map(|l| l.strip_prefix("fpr:").map(|r| r.trim_matches(':').to_owned()))
            .unwrap_or_else(|| panic!("no fingerprint in {text}"))
    }

    /// `gpg <how> -o out in` (how: --sign, --clearsign, --detach-sign, --store).
    fn make(&self, how: &str, content: &[u8], out: &Path) {
        self.make_with(&[how], content, out)
    }

    fn make_with(&self, how: &[&str], content: &[u8], out: &Path) {
        let input = out.with_extension("in");
        std::fs::write(&input, content).unwrap();
        let _ = std::fs::remove_file(out);
        let mut args = how.to_vec();
        args.extend(["-o", out.to_str().unwrap(), input.to_str().unwrap()]);
        let result = gpg(self.home.path(), &args);
        assert!(result.status.success(), "gpg {how:?}: {}", describe(&result));
    }
}

impl Drop for Signer {
    /// The gpg-agent gpg started for this home goes with it.
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(self.home.path())
            .args(["--kill", "gpg-agent"])
            .stdin(Stdio::null())
            .output();
    }
}

fn gpg(home: &Path, args: &[&str]) -> Output {
    Command::new("gpg")
        .args(["--batch", "--quiet", "--homedir"])
        .arg(home)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run gpg (install Debian's gnupg)")
}

/// Installs `signer`'s public ring as the PLC's keyring (`[boot] gpg_public_keyring`).
fn install_ring(data_dir: &Path, signer: &Signer) {
    std::fs::create_dir_all(data_dir.join("boot")).unwrap();
    std::fs::write(data_dir.join("boot/pubring.gpg"), signer.public_ring()).unwrap();
}

fn bootmanager(data_dir: &Path, args: &[&str]) -> Output {
    let mut cmd = bootmedium();
    cmd.arg("--data-dir").arg(data_dir).arg("bootmanager").args(args);
    cmd.stdin(Stdio::null()).output().expect("run bootmedium bootmanager")
}

#[track_caller]
fn add_ok(data_dir: &Path, file: &Path, extra: &[&str]) -> String {
    let mut args = vec!["add", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = bootmanager(data_dir, &args);
    assert!(out.status.success(), "bootmanager add {extra:?}: {}", describe(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn store_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("bootmanager")
}

/// Every file of the store with its bytes.
fn store_contents(data_dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(store_dir(data_dir))
        .map(|rd| {
            rd.flatten()
                .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap()))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

// ---------------------------------------------------------------------------------------------
// HTTP

/// A request to one of the boot pages from `source`; returns status and body.
fn post_from(server: &Server, source: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Vec<u8>) {
    post_to(&server.addr, source, path, headers, body).unwrap_or_else(|e| panic!("{e}\n{}", server.stderr_log()))
}

/// The same request to `addr` (the server, or a proxy in front of it).
fn post_to(
    addr: &str,
    source: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<(u16, Vec<u8>), String> {
    let mut request = format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut request = request.into_bytes();
    request.extend_from_slice(body);
    let source: IpAddr = source.parse().unwrap();
    let (status, _, body) =
        http_exchange_from(source, addr, &request).map_err(|e| format!("POST {path} to {addr} from {source}: {e}"))?;
    Ok((status, body))
}

const BOUNDARY: &str = "------------------------a1b2c3d4e5f6";

/// What pl_boot's `curl -F` sends.
fn pl_boot_form(nonce: &str) -> Vec<u8> {
    let mut body = String::new();
    for (name, value) in [
        ("version", "Test PLC BootCD 5.4"),
        ("cmdline", "initrd=/isolinux/initrd console=ttyS0"),
        ("uptime", "12.34 10.00\n"),
        ("ifconfig", "eth0      Link encap:Ethernet  HWaddr 52:54:00:12:34:56\n"),
        ("nonce", nonce),
    ] {
        body.push_str(&format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"));
    }
    body.push_str(&format!("--{BOUNDARY}--\r\n"));
    body.into_bytes()
}

fn multipart_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// `POST //boot/` from `source` as pl_boot makes it.
fn boot_post(server: &Server, source: &str, nonce: &str) -> (u16, Vec<u8>) {
    post_from(server, source, "//boot/", &[("Content-Type", &multipart_type())], &pl_boot_form(nonce))
}

fn getnodeid(server: &Server, source: &str, mac: &str) -> String {
    let body = format!("mac_addr={}", mac.replace(':', "%3A"));
    let (status, body) = post_from(
        server,
        source,
        "//boot/getnodeid.php",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    );
    assert_eq!(status, 200, "getnodeid.php status");
    String::from_utf8(body).unwrap()
}

/// A static primary interface with address `ip` on 127.0.0.0/8, so the test can talk from it.
fn add_loopback_interface(server: &Server, node: i64, ip: &str, mac: &str) -> i64 {
    server.admin_int(
        "AddInterface",
        vec![
            i(node),
            st! {
                "method" => "static", "type" => "ipv4", "ip" => ip, "mac" => mac,
                "netmask" => "255.0.0.0", "network" => "127.0.0.0", "broadcast" => "127.255.255.255",
                "gateway" => "127.0.0.1", "dns1" => "127.0.0.1", "is_primary" => true,
            },
        ],
    )
}

fn boot_nonce(server: &Server, node: i64) -> Value {
    field(&server.admin_row("GetNodes", vec![i(node), strs(&["boot_nonce"])]), "boot_nonce").clone()
}

// ---------------------------------------------------------------------------------------------
// The payload store

#[test]
fn payloads_are_added_listed_and_removed_only_when_the_plcs_key_signed_them() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let out = init(&data, None);
    assert!(out.status.success(), "init: {}", describe(&out));
    let plc = Signer::new("Test PLC <root@plc.example.org>");
    let other = Signer::new("Somebody Else <x@example.org>");
    install_ring(&data, &plc);
    let script = b"#!/bin/sh\necho bootmanager\n";
    let files = tmp.path();
    plc.make("--sign", script, &files.join("regular.sgn"));
    plc.make("--sign", b"#!/bin/sh\necho node1\n", &files.join("host.sgn"));
    plc.make("--sign", b"#!/bin/sh\necho alpha\n", &files.join("alpha.sgn"));
    plc.make("--clearsign", script, &files.join("clear.sgn"));
    plc.make("--detach-sign", script, &files.join("detached.sgn"));
    plc.make("--store", script, &files.join("stored.sgn"));
    other.make("--sign", script, &files.join("wrong.sgn"));
    std::fs::write(files.join("garbage.sgn"), b"\x89PNG not a signature at all").unwrap();
    std::fs::write(files.join("empty.sgn"), b"").unwrap();
    // A signed message changed after signing: one byte of the (uncompressed) literal data flipped.
    plc.make_with(&["-z", "0", "--sign"], script, &files.join("plain.sgn"));
    let mut altered = std::fs::read(files.join("plain.sgn")).unwrap();
    let at = altered.windows(10).position(|w| w == b"bootmanage").expect("uncompressed literal data");
    altered[at] ^= 0x20;
    std::fs::write(files.join("altered.sgn"), &altered).unwrap();

    let said = add_ok(&data, &files.join("regular.sgn"), &[]);
    assert!(said.contains(&plc.fingerprint()), "{said}");
    add_ok(&data, &files.join("host.sgn"), &["--hostname", "Node1.Example.ORG"]);
    add_ok(&data, &files.join("alpha.sgn"), &["--deployment", "alpha"]);
    // A clearsigned payload verifies, and the node's `gpg --decrypt` takes it too (§12.4).
    add_ok(&data, &files.join("clear.sgn"), &["--deployment", "beta"]);
    let names: Vec<String> = store_contents(&data).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "bootmanager_alpha.sh.sgn",
            "bootmanager_beta.sh.sgn",
            "bootmanager_node1.example.org.sh.sgn",
            "bootmanager_regular.sh.sgn"
        ]
    );
    let mode = |name: &str| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(store_dir(&data).join(name)).unwrap().permissions().mode() & 0o777
    };
    assert_eq!(mode("bootmanager_regular.sh.sgn"), 0o644);
    assert_eq!(
        std::fs::read(store_dir(&data).join("bootmanager_regular.sh.sgn")).unwrap(),
        std::fs::read(files.join("regular.sgn")).unwrap()
    );

    let out = bootmanager(&data, &["list"]);
    assert!(out.status.success(), "list: {}", describe(&out));
    let listing = String::from_utf8_lossy(&out.stdout).into_owned();
    let sha = bootmedium_media::sha256_hex(std::fs::File::open(files.join("host.sgn")).unwrap()).unwrap();
    let line = listing.lines().find(|l| l.starts_with("node1.example.org ")).unwrap_or_else(|| panic!("{listing}"));
    let cols: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        &cols[..5],
        [
            "node1.example.org",
            "hostname",
            &std::fs::metadata(files.join("host.sgn")).unwrap().len().to_string(),
            &sha,
            &plc.fingerprint()
        ]
    );
    for (name, kind) in [("regular", "regular"), ("alpha", "deployment"), ("beta", "deployment")] {
        assert!(listing.lines().any(|l| l.split_whitespace().take(2).eq([name, kind])), "{name} {kind} in\n{listing}");
    }

    // Refused: each leaves the store as it was, and says why.
    let before = store_contents(&data);
    let cases: &[(&str, &[&str], &str)] = &[
        ("wrong.sgn", &[], "not in the PLC's keyring"),
        ("detached.sgn", &[], "detached signature"),
        ("stored.sgn", &[], "unsigned OpenPGP message"),
        ("garbage.sgn", &[], "not an OpenPGP signed message"),
        ("empty.sgn", &[], "not an OpenPGP signed message"),
        ("altered.sgn", &[], "bad signature"),
        ("missing.sgn", &[], "cannot read"),
        ("host.sgn", &["--hostname", "../../etc/passwd"], "not a hostname"),
        ("host.sgn", &["--hostname", "n1.example.org/x"], "not a hostname"),
        ("host.sgn", &["--hostname", "localhost"], "not a hostname"),
        ("host.sgn", &["--deployment", "a/b"], "not a deployment name"),
        ("host.sgn", &["--deployment", ".."], "not a deployment name"),
        ("host.sgn", &["--deployment", ""], "not a deployment name"),
        ("host.sgn", &["--deployment", "regular"], "without --deployment"),
        ("host.sgn", &["--hostname", "n1.example.org", "--deployment", "alpha"], "cannot be used with"),
    ];
    for (file, extra, needle) in cases {
        let mut args = vec!["add".to_owned(), files.join(file).to_str().unwrap().to_owned()];
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = bootmanager(&data, &args);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success(), "{file} {extra:?} was accepted");
        assert!(err.contains(needle), "{file} {extra:?}: expected {needle:?} in {err}");
        assert_eq!(store_contents(&data), before, "{file} {extra:?} changed the store");
    }
    // Nothing verifies against a keyring that is missing.
    std::fs::rename(data.join("boot/pubring.gpg"), data.join("boot/pubring.moved")).unwrap();
    let out = bootmanager(&data, &["add", files.join("regular.sgn").to_str().unwrap()]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("keyring"), "{}", describe(&out));
    // ...and the listing says the payloads no longer verify.
    let listing = String::from_utf8_lossy(&bootmanager(&data, &["list"]).stdout).into_owned();
    assert_eq!(listing.matches("NOT VERIFIED").count(), 4, "{listing}");
    std::fs::rename(data.join("boot/pubring.moved"), data.join("boot/pubring.gpg")).unwrap();
    assert_eq!(store_contents(&data), before);

    for (args, gone) in [
        (&["--hostname", "NODE1.example.org"][..], "bootmanager_node1.example.org.sh.sgn"),
        (&["--deployment", "beta"][..], "bootmanager_beta.sh.sgn"),
        (&["--regular"][..], "bootmanager_regular.sh.sgn"),
    ] {
        let mut all = vec!["remove"];
        all.extend_from_slice(args);
        let out = bootmanager(&data, &all);
        assert!(out.status.success(), "remove {args:?}: {}", describe(&out));
        assert!(!store_dir(&data).join(gone).exists(), "{gone}");
    }
    assert_eq!(store_contents(&data).len(), 1);
    let out = bootmanager(&data, &["remove", "--regular"]);
    assert!(
        !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("no regular payload"),
        "{}",
        describe(&out)
    );
    let out = bootmanager(&data, &["remove"]);
    assert!(!out.status.success(), "remove without a name must fail");
    let out = bootmanager(&data, &["remove", "--deployment", "../alpha"]);
    assert!(!out.status.success(), "{}", describe(&out));
    assert_eq!(store_contents(&data).len(), 1, "alpha is still there");
}

// ---------------------------------------------------------------------------------------------
// /boot/

struct BootSetup {
    server: Server,
    plc: Signer,
    files: tempfile::TempDir,
}

impl BootSetup {
    fn start() -> BootSetup {
        Self::start_with(|_| {})
    }

    fn start_with(more: impl FnOnce(&Path)) -> BootSetup {
        let plc = Signer::new("Test PLC <root@plc.example.org>");
        let server = Server::start_with(|data| {
            install_ring(data, &plc);
            more(data);
        });
        server.use_admin_session();
        BootSetup { server, plc, files: tempfile::tempdir().unwrap() }
    }

    /// Signs `script` and adds it with `extra` (e.g. `--hostname H`); returns the signed bytes.
    fn add(&self, label: &str, script: &str, extra: &[&str]) -> Vec<u8> {
        let path = self.files.path().join(format!("{label}.sgn"));
        self.plc.make("--sign", script.as_bytes(), &path);
        add_ok(&self.server.data_dir, &path, extra);
        std::fs::read(path).unwrap()
    }

    fn remove(&self, args: &[&str]) {
        let mut all = vec!["remove"];
        all.extend_from_slice(args);
        let out = bootmanager(&self.server.data_dir, &all);
        assert!(out.status.success(), "{}", describe(&out));
    }
}

#[test]
fn boot_page_serves_the_hostname_then_the_deployment_then_the_regular_payload() {
    let setup = BootSetup::start();
    let server = &setup.server;
    let site = add_site(server, "bootsite");
    let node = add_node(server, site, "Node1.Example.org");
    add_loopback_interface(server, node, "127.0.0.2", "52:54:00:00:00:02");
    let nonce = format!("{}\n", "ab".repeat(32));

    // No payload at all: an empty 200 (upstream's answer; the node's gpg fails and it retries).
    let (status, body) = boot_post(server, "127.0.0.2", &nonce);
    assert_eq!((status, body.len()), (200, 0));

    let regular = setup.add("regular", "#!/bin/sh\necho regular\n", &[]);
    let alpha = setup.add("alpha", "#!/bin/sh\necho alpha\n", &["--deployment", "alpha"]);
    let host = setup.add("host", "#!/bin/sh\necho node1\n", &["--hostname", "node1.example.org"]);
    let other = setup.add("other", "#!/bin/sh\necho node2\n", &["--hostname", "node2.example.org"]);
    // The hostname's payload, whatever case the node's hostname has.
    assert_eq!(boot_post(server, "127.0.0.2", &nonce), (200, host.clone()));
    setup.remove(&["--hostname", "node1.example.org"]);
    // No deployment tag: the regular one.
    assert_eq!(boot_post(server, "127.0.0.2", &nonce), (200, regular.clone()));
    server.admin("SetNodeDeployment", vec![i(node), s("alpha")]);
    assert_eq!(boot_post(server, "127.0.0.2", &nonce), (200, alpha.clone()));
    // A deployment without a payload of its own falls back to the regular one.
    server.admin("SetNodeDeployment", vec![i(node), s("gamma")]);
    assert_eq!(boot_post(server, "127.0.0.2", &nonce), (200, regular.clone()));
    // A deployment tag that is no valid name names no file.
    server.admin("SetNodeDeployment", vec![i(node), s("../bootmanager/bootmanager_alpha")]);
    assert_eq!(boot_post(server, "127.0.0.2", &nonce), (200, regular.clone()));
    server.admin("SetNodeDeployment", vec![i(node), s("alpha")]);
    let _ = other;

    // Every spelling of the page, GET as well (PHP does not look at the method).
    for path in ["/boot/", "//boot/", "/boot/index.php", "//boot/index.php", "/boot"] {
        let (status, body) = post_from(server, "127.0.0.2", path, &[], b"");
        assert_eq!((status, body == alpha), (200, true), "{path}");
    }
    let request = format!("GET //boot/ HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", server.addr);
    let (status, headers, body) =
        http_exchange_from("127.0.0.2".parse().unwrap(), &server.addr, request.as_bytes()).unwrap();
    assert_eq!(status, 200);
    assert_eq!(body, alpha);
    assert!(headers.iter().any(|(k, v)| k == "content-type" && v == "application/octet-stream"), "{headers:?}");

    // One log line per request: the client, the node and the payload.
    let log = server.stderr_log();
    assert!(
        log.lines().any(|l| l.contains("boot page")
            && l.contains("client=127.0.0.2")
            && l.contains(&format!("node_id {node}"))
            && l.contains("bootmanager_alpha.sh.sgn")),
        "{log}"
    );

    // A deleted node is no longer found.
    server.admin_one("DeleteNode", vec![i(node)]);
    assert_eq!(boot_post(server, "127.0.0.2", &nonce).0, 404);
}

#[test]
fn a_keyless_nodes_nonce_is_stored_a_keyed_nodes_is_not() {
    let setup = BootSetup::start();
    let server = &setup.server;
    setup.add("regular", "#!/bin/sh\necho regular\n", &[]);
    let site = add_site(server, "noncesite");
    let keyless = add_node(server, site, "keyless.example.org");
    add_loopback_interface(server, keyless, "127.0.0.3", "52:54:00:00:00:03");
    let keyed = add_node(server, site, "keyed.example.org");
    add_loopback_interface(server, keyed, "127.0.0.4", "52:54:00:00:00:04");
    server.admin_one("UpdateNode", vec![i(keyed), st! { "key" => "an-existing-node-key" }]);
    assert_eq!(boot_nonce(server, keyless), Value::Nil);

    let nonce = "0123456789abcdef".repeat(4);
    assert_eq!(boot_post(server, "127.0.0.3", &format!("{nonce}\n")).0, 200);
    assert_eq!(boot_nonce(server, keyless), s(&nonce));
    // The next attempt's nonce replaces it; urlencoded forms count too.
    let next = "fedcba9876543210".repeat(4);
    let (status, _) = post_from(
        server,
        "127.0.0.3",
        "/boot/",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        format!("version=x&nonce={next}%0A").as_bytes(),
    );
    assert_eq!(status, 200);
    assert_eq!(boot_nonce(server, keyless), s(&next));

    // Not hex, too long, empty: ignored, silently (the payload is still served).
    for bad in ["not hex at all", &"a".repeat(129), "", "\n", "12 34", "'; DROP TABLE nodes; --"] {
        let (status, body) = boot_post(server, "127.0.0.3", bad);
        assert_eq!((status, body.is_empty()), (200, false), "{bad:?}");
        assert_eq!(boot_nonce(server, keyless), s(&next), "{bad:?}");
    }

    // A node with a key never has its nonce stored.
    let before = server.db_snapshot();
    assert_eq!(boot_post(server, "127.0.0.4", &format!("{nonce}\n")).0, 200);
    assert_eq!(boot_nonce(server, keyed), Value::Nil);
    assert_eq!(server.db_snapshot(), before);
}

#[test]
fn an_unknown_source_learns_nothing_and_changes_nothing() {
    let setup = BootSetup::start();
    let server = &setup.server;
    setup.add("regular", "#!/bin/sh\necho regular\n", &[]);
    setup.add("host", "#!/bin/sh\necho secret-node\n", &["--hostname", "secret.example.org"]);
    let site = add_site(server, "hidden");
    let node = add_node(server, site, "secret.example.org");
    add_loopback_interface(server, node, "127.0.0.5", "52:54:00:00:00:05");
    let before = server.db_snapshot();
    for source in ["127.0.0.6", "127.0.0.1"] {
        let (status, body) = boot_post(server, source, &"ab".repeat(32));
        assert_eq!(status, 404, "{source}");
        assert_eq!(String::from_utf8_lossy(&body), "no node is registered at this address\n");
        assert_eq!(getnodeid(server, source, ""), "-1");
    }
    assert_eq!(boot_nonce(server, node), Value::Nil);
    assert_eq!(server.db_snapshot(), before);
    assert!(
        server
            .stderr_log()
            .lines()
            .any(|l| l.contains("boot page") && l.contains("client=127.0.0.6") && l.contains("\"unknown\""))
    );
}

#[test]
fn getnodeid_finds_the_node_by_mac_in_either_case_else_by_address() {
    let setup = BootSetup::start();
    let server = &setup.server;
    let site = add_site(server, "idsite");
    let n1 = add_node(server, site, "n1.example.org");
    add_loopback_interface(server, n1, "127.0.0.7", "52:54:00:ab:cd:07");
    let n2 = add_node(server, site, "n2.example.org");
    add_loopback_interface(server, n2, "127.0.0.8", "52:54:00:AB:CD:08");
    // (source, mac_addr, expected)
    let cases = [
        ("127.0.0.9", "52:54:00:AB:CD:07", n1.to_string()),
        ("127.0.0.9", "52:54:00:ab:cd:07", n1.to_string()),
        ("127.0.0.9", "  52:54:00:AB:CD:08\n", n2.to_string()),
        ("127.0.0.9", "52:54:00:ab:cd:08", n2.to_string()),
        // The MAC wins over the address.
        ("127.0.0.7", "52:54:00:AB:CD:08", n2.to_string()),
        // Unknown or malformed MAC: by address.
        ("127.0.0.7", "52:54:00:00:00:99", n1.to_string()),
        ("127.0.0.8", "not-a-mac", n2.to_string()),
        ("127.0.0.8", "", n2.to_string()),
        ("127.0.0.9", "52:54:00:00:00:99", "-1".to_owned()),
        ("127.0.0.9", "", "-1".to_owned()),
    ];
    for (source, mac, expected) in &cases {
        assert_eq!(&getnodeid(server, source, mac), expected, "from {source}, mac_addr {mac:?}");
    }
    // GET with the query string, as PHP's $_REQUEST allows; a body field wins over the query.
    let request = format!(
        "GET /boot/getnodeid.php?mac_addr=52%3A54%3A00%3AAB%3ACD%3A07 HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server.addr
    );
    let (status, _, body) = http_exchange_from("127.0.0.9".parse().unwrap(), &server.addr, request.as_bytes()).unwrap();
    assert_eq!((status, String::from_utf8(body).unwrap()), (200, n1.to_string()));
    let (status, body) = post_from(
        server,
        "127.0.0.9",
        "/boot/getnodeid.php?mac_addr=52:54:00:ab:cd:07",
        &[("Content-Type", &multipart_type())],
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"mac_addr\"\r\n\r\n52:54:00:ab:cd:08\r\n--{BOUNDARY}--\r\n").as_bytes(),
    );
    assert_eq!((status, String::from_utf8(body).unwrap()), (200, n2.to_string()));
    // A deleted node's interface is not found.
    server.admin_one("DeleteNode", vec![i(n1)]);
    assert_eq!(getnodeid(server, "127.0.0.9", "52:54:00:AB:CD:07"), "-1");
}

#[test]
fn malformed_and_oversized_forms_are_answered_without_an_error_and_change_nothing() {
    let setup = BootSetup::start();
    let server = &setup.server;
    let regular = setup.add("regular", "#!/bin/sh\necho regular\n", &[]);
    let site = add_site(server, "garbage");
    let node = add_node(server, site, "garbage.example.org");
    add_loopback_interface(server, node, "127.0.0.10", "52:54:00:00:00:10");
    let nonce_part = |boundary: &str| {
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"nonce\"\r\n\r\n{}\r\n--{boundary}--\r\n",
            "ab".repeat(32)
        )
    };
    let oversized = {
        let mut b = format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"ifconfig\"\r\n\r\n").into_bytes();
        b.extend(std::iter::repeat_n(b'x', 2 * 1024 * 1024));
        b.extend_from_slice(format!("\r\n{}", nonce_part(BOUNDARY)).as_bytes());
        b
    };
    let mp = multipart_type();
    // (content type, body): none of them carries a nonce the server can read.
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (&mp, b"complete garbage".to_vec()),
        (&mp, nonce_part("other-boundary").into_bytes()),
        ("multipart/form-data", nonce_part(BOUNDARY).into_bytes()),
        ("multipart/form-data; boundary=", nonce_part("").into_bytes()),
        (&mp, format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"nonce\"\r\n\r\nabab").into_bytes()),
        (
            &mp,
            [
                format!("--{BOUNDARY}\r\n").as_bytes(),
                b"\xff\xfe: x\r\n\r\nabab\r\n",
                format!("--{BOUNDARY}--").as_bytes(),
            ]
            .concat(),
        ),
        (&mp, vec![0xff; 4096]),
        (&mp, oversized),
        ("application/x-www-form-urlencoded", b"nonce=%zz%ff&nonce".to_vec()),
        ("application/x-www-form-urlencoded", vec![0xff, b'=', 0xfe]),
        ("text/xml", format!("nonce={}", "ab".repeat(32)).into_bytes()),
        ("garbage/garbage; boundary", b"nonce=abab".to_vec()),
    ];
    let before = server.db_snapshot();
    for (ctype, body) in &cases {
        let shown = String::from_utf8_lossy(&body[..body.len().min(80)]).into_owned();
        let (status, answer) = post_from(server, "127.0.0.10", "//boot/", &[("Content-Type", ctype)], body);
        assert_eq!((status, answer == regular), (200, true), "{ctype}: {shown}");
        let (status, answer) = post_from(server, "127.0.0.10", "/boot/getnodeid.php", &[("Content-Type", ctype)], body);
        assert_eq!(
            (status, String::from_utf8_lossy(&answer).into_owned()),
            (200, node.to_string()),
            "{ctype}: {shown}"
        );
    }
    assert_eq!(boot_nonce(server, node), Value::Nil);
    assert_eq!(server.db_snapshot(), before);
    // Other methods are refused plainly.
    let request =
        format!("PUT /boot/ HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", server.addr);
    assert_eq!(server.raw_exchange(request.as_bytes()).unwrap().0, 405);
    server.assert_alive();
}

// ---------------------------------------------------------------------------------------------
// The client address behind a proxy

#[test]
fn the_client_address_comes_from_a_trusted_proxys_header_only() {
    let setup = BootSetup::start_with(|data| {
        set_config(data, "server", "trusted_proxies", vec!["127.0.0.1", "10.0.0.0/8"]);
        set_config(data, "api", "failed_logins_per_address", 2);
    });
    let server = &setup.server;
    let regular = setup.add("regular", "#!/bin/sh\necho regular\n", &[]);
    let site = add_site(server, "proxied");
    let node = add_node(server, site, "proxied.example.org");
    add_static_interface(server, node, 5); // 10.5.0.10, inside a trusted block
    let near = add_node(server, site, "near.example.org");
    add_loopback_interface(server, near, "127.0.0.11", "52:54:00:00:00:11");
    let far = add_node(server, site, "far.example.org");
    let far_interface = st! {
        "method" => "static", "type" => "ipv4", "ip" => "192.0.2.44", "mac" => "52:54:00:00:01:11",
        "netmask" => "255.255.255.0", "network" => "192.0.2.0", "broadcast" => "192.0.2.255",
        "gateway" => "192.0.2.1", "dns1" => "192.0.2.2",
    };
    server.admin_int("AddInterface", vec![i(far), far_interface]);

    let form = pl_boot_form(&"cd".repeat(32));
    let mp = multipart_type();
    // (socket source, X-Forwarded-For lines, expected: the node found, by its payload, or 404)
    let found = |status: u16, body: &[u8]| status == 200 && body == regular.as_slice();
    let cases: &[(&str, &[&str], bool, &str)] = &[
        // A trusted proxy's header names the node.
        ("127.0.0.1", &["10.5.0.10"], true, "trusted proxy, the node's address"),
        // The right-most address that is not a trusted proxy: 10.5.0.10 is inside 10.0.0.0/8, so
        // the walk goes on to 192.0.2.44 (the far node's address).
        ("127.0.0.1", &["192.0.2.44, 10.5.0.10"], true, "walks past trusted entries"),
        // A client's forged entries to the left of its own address change nothing.
        ("127.0.0.1", &["127.0.0.11, 198.51.100.1"], false, "forged entry left of the real one"),
        // Untrusted peer: the header is ignored (127.0.0.11 is the near node's own address).
        ("127.0.0.11", &["198.51.100.1"], true, "untrusted peer, forged header ignored"),
        ("127.0.0.12", &["10.5.0.10"], false, "untrusted peer, header ignored"),
        // Trusted peer, no header or a malformed one: the peer itself, which has no node.
        ("127.0.0.1", &[], false, "trusted peer, no header"),
        ("127.0.0.1", &["not-an-address"], false, "trusted peer, malformed header"),
        ("127.0.0.1", &["10.5.0.10, junk"], false, "malformed right-most entry"),
    ];
    for (source, xff, expect_found, what) in cases {
        let mut headers = vec![("Content-Type", mp.as_str())];
        headers.extend(xff.iter().map(|v| ("X-Forwarded-For", *v)));
        let (status, body) = post_from(server, source, "//boot/", &headers, &form);
        assert_eq!(found(status, &body), *expect_found, "{what}: status {status}");
        if !expect_found {
            assert_eq!(status, 404, "{what}");
        }
    }
    let log = server.stderr_log();
    for (client, id) in [("10.5.0.10", node), ("192.0.2.44", far), ("127.0.0.11", near)] {
        assert!(
            log.lines().any(|l| l.contains("boot page")
                && l.contains(&format!("client={client} "))
                && l.contains(&format!("node_id {id} "))),
            "{client}: {log}"
        );
    }

    // Failed logins are counted per client address, the forwarded one behind the proxy.
    let login = |xff: &str, password: &str| {
        let body = bootmedium_xmlrpc::write_method_call("AuthCheck", &[password_auth(ADMIN_EMAIL, password)]);
        let (status, answer) = post_from(
            server,
            "127.0.0.1",
            "/PLCAPI/",
            &[("Content-Type", "text/xml"), ("X-Forwarded-For", xff)],
            body.as_bytes(),
        );
        server.decode("AuthCheck", status, &answer)
    };
    for _ in 0..2 {
        assert_eq!(login("198.51.100.7", "wrong").map_err(|(c, _)| c), Err(103));
    }
    assert_eq!(login("198.51.100.7", ADMIN_PASSWORD).map_err(|(c, _)| c), Err(103), "that address is now refused");
    assert_eq!(login("198.51.100.8", ADMIN_PASSWORD), Ok(i(1)), "another client behind the same proxy is not");
    assert_eq!(server.call("AuthCheck", vec![admin_auth()]), Ok(i(1)), "nor is the proxy itself");
    let log = server.stderr_log();
    assert!(log.lines().any(|l| l.contains("client=198.51.100.7 ") && l.contains("AuthCheck")), "{log}");
}

/// Debian's nginx as a reverse proxy in front of `upstream` (plain HTTP), on a free loopback
/// port, appending the client address to X-Forwarded-For as the README tells operators to.
struct Nginx {
    child: std::process::Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Nginx {
    fn start(upstream: &str) -> Nginx {
        let dir = tempfile::Builder::new().prefix("bm-nginx-").tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let d = dir.path().display();
        let conf = format!(
            "user root;\ndaemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
               fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
               server {{\n    listen 127.0.0.1:{port};\n    location / {{\n      proxy_pass http://{upstream};\n\
                   proxy_set_header Host $host;\n\
                   proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n    }}\n  }}\n}}\n"
        );
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let child = Command::new("nginx")
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run nginx (install Debian's nginx)");
        let addr = format!("127.0.0.1:{port}");
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(&addr).is_err() {
            assert!(started.elapsed() < std::time::Duration::from_secs(20), "nginx did not start: {d}/error.log");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Nginx { child, addr, _dir: dir }
    }
}

impl Drop for Nginx {
    /// SIGTERM, not SIGKILL: the master takes its worker with it (a killed master leaves the
    /// worker running).
    fn drop(&mut self) {
        if stop_child(&mut self.child, "TERM").is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[test]
fn behind_a_real_nginx_nodes_are_found_by_the_address_it_forwards() {
    let setup = BootSetup::start_with(|data| set_config(data, "server", "trusted_proxies", vec!["127.0.0.1"]));
    let server = &setup.server;
    let regular = setup.add("regular", "#!/bin/sh\necho regular\n", &[]);
    let site = add_site(server, "behindproxy");
    let node = add_node(server, site, "proxied.example.org");
    add_loopback_interface(server, node, "127.0.0.21", "52:54:00:00:00:21");
    let nginx = Nginx::start(&server.addr);

    let form = pl_boot_form(&"ef".repeat(32));
    let mp = multipart_type();
    let via = |source: &str, headers: &[(&str, &str)]| {
        let mut all = vec![("Content-Type", mp.as_str())];
        all.extend_from_slice(headers);
        post_to(&nginx.addr, source, "//boot/", &all, &form).unwrap_or_else(|e| panic!("{e}\n{}", server.stderr_log()))
    };
    // The node, through the proxy: nginx forwards its address and the server believes it.
    assert_eq!(via("127.0.0.21", &[]), (200, regular.clone()), "the node through nginx");
    // Another machine through the proxy, and one forging the node's address in its own header:
    // nginx appends the real address, the right-most one, which is no node's.
    assert_eq!(via("127.0.0.22", &[]).0, 404, "another address through nginx");
    assert_eq!(via("127.0.0.22", &[("X-Forwarded-For", "127.0.0.21")]).0, 404, "a forged header through nginx");
    // getnodeid.php by address behind the proxy too.
    let (status, body) = post_to(&nginx.addr, "127.0.0.21", "//boot/getnodeid.php", &[], b"").unwrap();
    assert_eq!((status, String::from_utf8_lossy(&body).into_owned()), (200, node.to_string()));
    let log = server.stderr_log();
    assert!(
        log.lines().any(|l| l.contains("boot page")
            && l.contains("client=127.0.0.21 ")
            && l.contains(&format!("node_id {node} "))),
        "{log}"
    );
    assert!(log.lines().any(|l| l.contains("boot page") && l.contains("client=127.0.0.22 ")), "{log}");
}

#[test]
fn nodes_sharing_an_address_get_only_the_regular_payload() {
    let setup = BootSetup::start();
    let server = &setup.server;
    let regular = setup.add("regular", "#!/bin/sh\necho regular\n", &[]);
    setup.add("one", "#!/bin/sh\necho one\n", &["--hostname", "one.example.org"]);
    let site = add_site(server, "natsite");
    let one = add_node(server, site, "one.example.org");
    add_loopback_interface(server, one, "127.0.0.13", "52:54:00:00:00:13");
    let two = add_node(server, site, "two.example.org");
    add_loopback_interface(server, two, "127.0.0.13", "52:54:00:00:00:14");
    let before = server.db_snapshot();
    // Behind one NAT: neither node's own payload, and no nonce stored on either.
    assert_eq!(boot_post(server, "127.0.0.13", &"ef".repeat(32)), (200, regular));
    assert_eq!(server.db_snapshot(), before);
    assert_eq!(boot_nonce(server, one), Value::Nil);
    // getnodeid.php cannot tell them apart by address, but by MAC.
    assert_eq!(getnodeid(server, "127.0.0.13", ""), "-1");
    assert_eq!(getnodeid(server, "127.0.0.13", "52:54:00:00:00:14"), two.to_string());
}

#[test]
fn serve_sweeps_what_a_killed_add_left_in_the_store() {
    let leftover = ".bootmanager_regular.sh.sgn.4242-0.tmp";
    let setup = BootSetup::start_with(|data| {
        std::fs::create_dir_all(store_dir(data)).unwrap();
        std::fs::write(store_dir(data).join(leftover), b"half a payload").unwrap();
        std::fs::write(store_dir(data).join("README"), b"not ours").unwrap();
    });
    let dir = store_dir(&setup.server.data_dir);
    assert!(!dir.join(leftover).exists(), "{}", setup.server.stderr_log());
    assert!(dir.join("README").exists());
    assert!(setup.server.stderr_log().contains("removed 1 partial payloads"));
}
