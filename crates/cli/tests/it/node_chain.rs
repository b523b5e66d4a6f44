//! The whole node chain under QEMU (docs/plc-api.md §7.2, §12.1, §12.2, §12.4): a node booted from
//! a medium our server made checks in with our server over HTTPS, the way PLC's BootCD
//! (pl_netinit, pl_boot) and BootManager do.
//!
//! Each boot gets its own tap device and /24 (the boot server finds the node by its source
//! address), its own `bootmedium serve` with an HTTPS listener on the tap's host side, a
//! throw-away CA (real `openssl`) whose certificate is the PLC's `boot/cacert.pem`, and a
//! throw-away GPG key (real `gpg`) whose public ring is the PLC's `boot/pubring.gpg`; the medium
//! comes from GetBootMedium and carries both. The test reference's init (scripts/
//! make-test-reference.sh) brings the network up from plnode.txt, POSTs to `//boot/` with curl
//! checked against the medium's CA, checks the answer with gpgv against the medium's ring and
//! runs it; the payload, a busybox shell script installed with `bootmedium bootmanager add`,
//! does the BootManager's calls with curl: GetSession by hmac with the node key from plnode.txt,
//! `BootUpdateNode({})`, `ReportRunlevel({'run_level':'boot'})`,
//! `BootUpdateNode({'ssh_rsa_key': …})`.
//!
//! - the good chain: the node's last_boot, last_contact, run_level and ssh_rsa_key change;
//! - a superseded medium (a second GetBootMedium renewed the key): the payload runs, GetSession
//!   answers fault 103, nothing on the node changes;
//! - a payload signed by another key (put straight into the payload directory: the CLI would
//!   refuse it): gpgv refuses it, it never runs, nothing changes;
//! - a server certificate from another CA: curl refuses it (exit 60), nothing changes.
//!
//! The four boots run at once; the test prints what each node did and the wall time.
//! Needs root (tap devices), /dev/net/tun, and the Debian packages of scripts/test.sh.
//!
//! Section numbers (§N) refer to docs/plc-api.md.

use crate::support::node::{Ca, GpgKey, Tap};
use crate::support::*;
use bootmedium_xmlrpc::Value;
use std::time::{Duration, Instant};

/// What the node's BootManager stand-in sends as its SSH host key.
const SSH_RSA_KEY: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDTlkB+/D1N2u05SDbXO+8Uyk1lC+Rhk8He10YVulJlSWaHXoeZd0othLZLqaduWHxxtKxAlZbF7J/ivYHPYOcBVWVz3pbSsJiwI8KM28NEAsuCGm801oml/wtkX1JppcFmtX7mYQaOeLu9M3kGIkQto/k4l6Jpc0p65cJq8qDPVw== root@node1.chain.example.org";

/// The payload: what the BootManager does with the API (§12.1 steps 1, 3, 12, 13; §12.2's
/// signature of GetSession), as a busybox shell script. `@API@` becomes the API's URL (upstream's
/// bootmanager build.sh patches BOOT_API_SERVER in the same way); `@SSH_RSA_KEY@` the key line.
const PAYLOAD: &str = r#"#!/bin/sh
API="@API@"
say() { echo "BOOTMANAGER: $*"; }
# The BootManager reads plnode.txt itself (pl_validateconf drops keys with + or /).
conf_value() { sed -n "s/^$1=\"\(.*\)\"[[:space:]]*\$/\1/p" /usr/boot/plnode.txt | head -n 1; }
NODE_ID=$(conf_value NODE_ID)
NODE_KEY=$(conf_value NODE_KEY)
# call METHOD PARAMS: the response on one line, or exit on a transport failure.
call() {
  printf '<?xml version="1.0"?>\n<methodCall><methodName>%s</methodName><params>%s</params></methodCall>\n' "$1" "$2" > /tmp/call.xml
  curl --silent --show-error --fail --cacert /usr/boot/cacert.pem -H 'Content-Type: text/xml' \
    --data-binary @/tmp/call.xml "$API" > /tmp/response.xml || { say "$1: transport failed rc=$?"; exit 1; }
  tr -d '\n' < /tmp/response.xml
}
# outcome METHOD RESPONSE: prints the result or the fault; fails on a fault.
outcome() {
  fault=$(echo "$2" | sed -n 's:.*<name>faultCode</name><value><int>\([-0-9]*\)</int></value>.*<name>faultString</name><value><string>\([^<]*\)</string>.*:\1 \2:p')
  if [ -n "$fault" ]; then say "$1 -> fault $fault"; return 1; fi
  result=$(echo "$2" | sed -n 's:.*<param><value><\([a-z0-9]*\)>\([^<]*\)</\1></value></param>.*:\2:p')
  say "$1 -> $result"
}
string() { printf '<param><value><string>%s</string></value></param>' "$1"; }
member() { printf '<member><name>%s</name><value><%s>%s</%s></value></member>' "$1" "$2" "$3" "$2"; }

say "node $NODE_ID: GetSession by hmac"
HMAC=$(printf '[]' | openssl dgst -sha1 -hmac "$NODE_KEY" | sed 's/^.*= //')
AUTH="<param><value><struct>$(member AuthMethod string hmac)$(member node_id int "$NODE_ID")$(member value string "$HMAC")</struct></value></param>"
response=$(call GetSession "$AUTH")
outcome GetSession "$response" || exit 1
SESSION=$(echo "$response" | sed -n 's:.*<param><value><string>\([^<]*\)</string>.*:\1:p')
AUTH="<param><value><struct>$(member AuthMethod string session)$(member session string "$SESSION")</struct></value></param>"
outcome "BootUpdateNode({})" "$(call BootUpdateNode "$AUTH<param><value><struct></struct></value></param>")" || exit 1
outcome "ReportRunlevel(boot)" "$(call ReportRunlevel "$AUTH<param><value><struct>$(member run_level string boot)</struct></value></param>")" || exit 1
outcome "BootUpdateNode(ssh_rsa_key)" "$(call BootUpdateNode "$AUTH<param><value><struct>$(member ssh_rsa_key string "@SSH_RSA_KEY@")</struct></value></param>")" || exit 1
exit 0
"#;

/// The ways a boot is set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Case {
    /// Everything as it should be.
    Good,
    /// The booted medium's key was renewed by a later GetBootMedium.
    SupersededMedium,
    /// `bootmanager_regular.sh.sgn` is signed by a key not in the medium's ring.
    PayloadOfAnotherKey,
    /// The server's certificate comes from a CA the medium does not carry.
    CertificateOfAnotherCa,
}

/// What one boot left behind.
struct Boot {
    case: Case,
    console: String,
    took: Duration,
    /// The node as an admin saw it before and after the boot.
    before: Value,
    after: Value,
    /// Server log lines naming the node's address.
    server_lines: Vec<String>,
    started_at: i64,
}

const HOSTNAME: &str = "node1.chain.example.org";

/// Sets up the case's server, node and medium, boots it, and reads the node back.
fn boot_case(case: Case) -> Boot {
    let tap = Tap::create();
    let work = tempfile::Builder::new().prefix("bm-chain-").tempdir().unwrap();
    let dir = work.path();
    let port = tap.free_port();
    let ca = Ca::new(dir, "plc-ca");
    let other_ca = (case == Case::CertificateOfAnotherCa).then(|| Ca::new(dir, "other-ca"));
    let (cert, key) = other_ca.as_ref().unwrap_or(&ca).issue(dir, "boot-server", tap.host_ip());
    let plc_key = GpgKey::new(&dir.join("g1"), "Test PLC <root@chain.example.org>");
    let payload = dir.join("bootmanager_regular.sh");
    let api = format!("https://{}:{port}/PLCAPI/", tap.host_ip());
    std::fs::write(&payload, PAYLOAD.replace("@API@", &api).replace("@SSH_RSA_KEY@", SSH_RSA_KEY)).unwrap();
    let signed = dir.join("bootmanager_regular.sh.sgn");
    plc_key.sign(&payload, &signed);
    let foreign = (case == Case::PayloadOfAnotherKey).then(|| {
        let other = GpgKey::new(&dir.join("g2"), "Somebody Else <else@example.org>");
        let out = dir.join("foreign.sh.sgn");
        other.sign(&payload, &out);
        out
    });

    let tls_listen = format!("{}:{port}", tap.host_ip());
    let server = Server::start_with_tls_on(&tls_listen, |data| {
        media::provision(data, DEFAULT_FAMILY);
        // The PLC's credentials, before any medium is made: the medium carries them.
        std::fs::copy(&ca.cert, data.join("boot/cacert.pem")).unwrap();
        plc_key.export_public(&data.join("boot/pubring.gpg"));
        set_config(data, "boot", "host", tap.host_ip().to_string());
        set_config(data, "boot", "port", i64::from(port));
        set_config(data, "server", "tls_listen", tls_listen.as_str());
        set_config(data, "server", "tls_certificate", cert.to_str().unwrap());
        set_config(data, "server", "tls_key", key.to_str().unwrap());
        let out = bootmedium()
            .arg("--data-dir")
            .arg(data)
            .args(["bootmanager", "add"])
            .arg(&signed)
            .output()
            .expect("running bootmedium bootmanager add");
        assert!(out.status.success(), "bootmanager add: {}", describe(&out));
        if let Some(foreign) = &foreign {
            // Straight into the payload directory: `bootmanager add` would refuse it.
            std::fs::copy(foreign, data.join("bootmanager/bootmanager_regular.sh.sgn")).unwrap();
        }
    });
    let https = server.https_url.clone().unwrap_or_default();
    assert_eq!(https, format!("https://{tls_listen}/PLCAPI/"), "the server's HTTPS listener");

    let site = add_site(&server, "chain");
    let node = server.admin_int("AddNode", vec![i(site), st! { "hostname" => HOSTNAME }]);
    server.admin_int(
        "AddInterface",
        vec![
            i(node),
            st! {
                "method" => "static", "type" => "ipv4", "is_primary" => true,
                "ip" => tap.node_ip().to_string(), "mac" => tap.node_mac(),
                "netmask" => "255.255.255.0", "network" => tap.network().to_string(),
                "broadcast" => tap.broadcast().to_string(), "gateway" => tap.host_ip().to_string(),
                "dns1" => tap.host_ip().to_string(),
            },
        ],
    );
    // The test reads the node's serial console.
    server.admin_int("AddNodeTag", vec![i(node), s("serial"), s("default")]);
    let image = dir.join("node.iso");
    let medium = server.admin("GetBootMedium", vec![s(HOSTNAME), s("node-iso"), s(""), strs(&[])]);
    write_inline(&medium, &image);
    if case == Case::SupersededMedium {
        // A second medium renews the key: the first one's is dead.
        let newer = server.admin("GetBootMedium", vec![s(HOSTNAME), s("node-iso"), s(""), strs(&[])]);
        write_inline(&newer, &dir.join("newer.iso"));
    }

    let before = node_row(&server, node);
    let started_at = now();
    let (console, took) = media::boot_on_tap(&image, true, &tap.name, &tap.node_mac());
    let after = node_row(&server, node);
    let node_ip = tap.node_ip().to_string();
    let server_lines = server.stderr_log().lines().filter(|l| l.contains(&node_ip)).map(str::to_owned).collect();
    Boot { case, console, took, before, after, server_lines, started_at }
}

fn node_row(server: &Server, node: i64) -> Value {
    server.admin_row("GetNodes", vec![i(node)])
}

/// The console lines of the chain and the payload.
fn chain_lines(console: &str) -> Vec<&str> {
    console
        .lines()
        .map(str::trim_end)
        .filter(|l| l.starts_with("NODE-CHAIN:") || l.starts_with("BOOTMANAGER:") || l.starts_with("gpgv:"))
        .collect()
}

#[test]
fn a_node_booted_from_its_medium_checks_in_over_https_and_bad_chains_are_refused() {
    media::require_tool("qemu-system-x86_64", "qemu-system-x86");
    // Four boots at once, with a bound on their wall time: no other module's boot beside them.
    let _qemu = media::qemu_exclusive();
    let started = Instant::now();
    let cases = [Case::Good, Case::SupersededMedium, Case::PayloadOfAnotherKey, Case::CertificateOfAnotherCa];
    let boots: Vec<Boot> = std::thread::scope(|scope| {
        let handles: Vec<_> = cases.iter().map(|case| scope.spawn(move || boot_case(*case))).collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    });
    let wall = started.elapsed();

    // Straight to stderr, past the test harness's capture: CI logs show what the nodes did.
    let mut report = String::new();
    for boot in &boots {
        report += &format!(
            "=== {:?}: booted to power-off in {:.1} s; what the node did:\n",
            boot.case,
            boot.took.as_secs_f64()
        );
        for line in chain_lines(&boot.console) {
            report += &format!("    {line}\n");
        }
        for line in &boot.server_lines {
            report += &format!("    server: {line}\n");
        }
    }
    report += &format!("=== {} boots in {:.1} s wall time\n", boots.len(), wall.as_secs_f64());
    let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), report.as_bytes());

    for boot in &boots {
        let lines = chain_lines(&boot.console);
        let has = |needle: &str| lines.iter().any(|l| l.contains(needle));
        let case = boot.case;
        let context = || format!("{case:?}; console:\n{}", boot.console);
        assert!(has("NODE-CHAIN: network eth0 static"), "{}", context());
        match case {
            Case::Good => {
                for step in [
                    "NODE-CHAIN: signature good",
                    "BOOTMANAGER: GetSession -> ",
                    "BOOTMANAGER: BootUpdateNode({}) -> 1",
                    "BOOTMANAGER: ReportRunlevel(boot) -> 1",
                    "BOOTMANAGER: BootUpdateNode(ssh_rsa_key) -> 1",
                    "NODE-CHAIN: payload exit 0",
                    "NODE-CHAIN: done",
                ] {
                    assert!(has(step), "{step:?} missing: {}", context());
                }
                let (before, after) = (&boot.before, &boot.after);
                for stamp in ["last_boot", "last_contact"] {
                    assert_eq!(field(before, stamp), &Value::Nil, "{stamp} before the first boot");
                    assert_time_between(after, stamp, boot.started_at, now());
                }
                assert_eq!(field(after, "run_level"), &Value::from("boot"), "{after:?}");
                assert_eq!(field(after, "ssh_rsa_key"), &Value::from(SSH_RSA_KEY), "{after:?}");
                assert_ne!(field(before, "ssh_rsa_key"), &Value::from(SSH_RSA_KEY));
            }
            Case::SupersededMedium => {
                assert!(has("NODE-CHAIN: signature good"), "{}", context());
                assert!(has("BOOTMANAGER: GetSession -> fault 103"), "{}", context());
                assert!(!has("BootUpdateNode"), "{}", context());
                assert!(has("NODE-CHAIN: payload exit 1"), "{}", context());
            }
            Case::PayloadOfAnotherKey => {
                assert!(has("NODE-CHAIN: signature refused"), "{}", context());
                assert!(!has("signature good") && !has("BOOTMANAGER:") && !has("payload exit"), "{}", context());
            }
            Case::CertificateOfAnotherCa => {
                assert!(has("NODE-CHAIN: curl failed rc=60"), "{}", context());
                assert!(!has("signature") && !has("BOOTMANAGER:"), "{}", context());
            }
        }
        if case != Case::Good {
            assert!(has("NODE-CHAIN: giving up after 2 attempts"), "{}", context());
            assert_eq!(boot.before, boot.after, "{case:?}: the node changed");
        }
    }
    assert!(wall < Duration::from_secs(170), "the four boots took {wall:?}");
}
