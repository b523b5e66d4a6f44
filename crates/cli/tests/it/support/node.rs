//! Harness of the node-chain tests (docs/plc-api.md §7.2, §12.4): a tap device per booted node (the
//! server must see the node's own address, which QEMU's user networking hides), a throw-away CA
//! and server certificate made with the real `openssl`, and a throw-away GPG signing key made
//! with the real `gpg`.
//!
//! A missing tool fails the test naming the Debian package; nothing is skipped.

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program).args(args).stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("running {program}: {e}"))
}

#[track_caller]
fn must(program: &str, args: &[&str]) -> String {
    let out = run(program, args);
    assert!(
        out.status.success(),
        "{program} {args:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

// ---------------------------------------------------------------------------------------------
// Tap devices

/// Subnets 198.18.N.0/24 (RFC 2544's benchmarking block: never routed anywhere real).
const FIRST_OCTETS: [u8; 2] = [198, 18];
static NEXT_TAP: AtomicU32 = AtomicU32::new(0);

/// A tap device `bmnodeN` with the host side 198.18.N.1/24, up; the node gets 198.18.N.15.
/// Deleted on drop. One per boot, so boots (and test processes) run in parallel.
pub struct Tap {
    pub name: String,
    pub subnet: u8,
}

impl Tap {
    /// Creates the first free tap `bmnodeN` (N from 1 to 250 whose name and subnet nobody uses).
    pub fn create() -> Tap {
        super::media::require_tool("ip", "iproute2");
        let start = (std::process::id() + NEXT_TAP.fetch_add(7, Ordering::SeqCst)) % 250;
        for offset in 0..250 {
            let subnet = ((start + offset) % 250 + 1) as u8;
            let name = format!("bmnode{subnet}");
            let network = format!("{}.{}.{subnet}.0/24", FIRST_OCTETS[0], FIRST_OCTETS[1]);
            // A subnet some other interface already has is not ours to take.
            if !must("ip", &["-4", "route", "show", "to", "match", &network]).lines().all(|l| l.starts_with("default"))
            {
                continue;
            }
            let out = run("ip", &["tuntap", "add", "dev", &name, "mode", "tap"]);
            if !out.status.success() {
                let why = String::from_utf8_lossy(&out.stderr);
                if why.contains("exists") || why.contains("busy") {
                    continue;
                }
                panic!(
                    "cannot create the tap device {name} ({why}): the node-chain tests need root (CAP_NET_ADMIN) and \
                     /dev/net/tun"
                );
            }
            // From here on the drop deletes the device whatever fails.
            let tap = Tap { name, subnet };
            must("ip", &["addr", "add", &format!("{}/24", tap.host_ip()), "dev", &tap.name]);
            must("ip", &["link", "set", &tap.name, "up"]);
            return tap;
        }
        panic!("no free tap device bmnode1..bmnode250 / subnet 198.18.1-250.0/24");
    }

    fn address(&self, host: u8) -> Ipv4Addr {
        Ipv4Addr::new(FIRST_OCTETS[0], FIRST_OCTETS[1], self.subnet, host)
    }

    /// The host side: the node's gateway, the boot server's address.
    pub fn host_ip(&self) -> Ipv4Addr {
        self.address(1)
    }

    /// The node's static address.
    pub fn node_ip(&self) -> Ipv4Addr {
        self.address(15)
    }

    pub fn network(&self) -> Ipv4Addr {
        self.address(0)
    }

    pub fn broadcast(&self) -> Ipv4Addr {
        self.address(255)
    }

    /// The node's network card's MAC address (QEMU's prefix, unique per subnet).
    pub fn node_mac(&self) -> String {
        format!("52:54:00:12:{:02x}:0f", self.subnet)
    }

    /// A TCP port free on the host side address now.
    pub fn free_port(&self) -> u16 {
        let listener = TcpListener::bind((self.host_ip(), 0)).expect("binding the tap's host address");
        listener.local_addr().expect("local address").port()
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        let _ = run("ip", &["link", "del", &self.name]);
    }
}

// ---------------------------------------------------------------------------------------------
// Certificates (real openssl)

/// A throw-away certificate authority (EC P-256: fast handshakes under TCG).
pub struct Ca {
    pub cert: PathBuf,
    key: PathBuf,
}

impl Ca {
    /// A self-signed CA `CN=name` with its files in `dir`.
    pub fn new(dir: &Path, name: &str) -> Ca {
        super::media::require_tool("openssl", "openssl");
        let (cert, key) = (dir.join(format!("{name}.pem")), dir.join(format!("{name}.key")));
        must(
            "openssl",
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "2",
                "-subj",
                &format!("/CN={name}"),
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
                "-keyout",
                path(&key),
                "-out",
                path(&cert),
            ],
        );
        Ca { cert, key }
    }

    /// A server certificate for `ip` (subjectAltName IP) signed by this CA; returns the
    /// certificate and key paths (in `dir`).
    pub fn issue(&self, dir: &Path, name: &str, ip: Ipv4Addr) -> (PathBuf, PathBuf) {
        let (cert, key, csr, ext) = (
            dir.join(format!("{name}.pem")),
            dir.join(format!("{name}.key")),
            dir.join(format!("{name}.csr")),
            dir.join(format!("{name}.ext")),
        );
        must(
            "openssl",
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-subj",
                &format!("/CN={ip}"),
                "-keyout",
                path(&key),
                "-out",
                path(&csr),
            ],
        );
        std::fs::write(&ext, format!("subjectAltName=IP:{ip}\nextendedKeyUsage=serverAuth\n")).unwrap();
        must(
            "openssl",
            &[
                "x509",
                "-req",
                "-in",
                path(&csr),
                "-CA",
                path(&self.cert),
                "-CAkey",
                path(&self.key),
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                path(&ext),
                "-out",
                path(&cert),
            ],
        );
        (cert, key)
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

// ---------------------------------------------------------------------------------------------
// GPG (real gpg)

/// A throw-away GPG signing key (ed25519) in its own home directory; its agent is stopped on
/// drop.
pub struct GpgKey {
    home: PathBuf,
}

impl GpgKey {
    /// A new key `uid` with its home in `dir` (which must exist and be short: gpg-agent's
    /// socket path lives there).
    pub fn new(dir: &Path, uid: &str) -> GpgKey {
        super::media::require_tool("gpg", "gpg");
        super::media::require_tool("gpg-agent", "gpg-agent");
        let home = dir.to_path_buf();
        std::fs::create_dir_all(&home).unwrap();
        std::fs::set_permissions(&home, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
        let key = GpgKey { home };
        key.gpg(&[
            "--passphrase",
            "",
            "--pinentry-mode",
            "loopback",
            "--quick-gen-key",
            uid,
            "ed25519",
            "sign",
            "never",
        ]);
        key
    }

    fn gpg(&self, args: &[&str]) -> String {
        let mut all = vec!["--batch", "--homedir", path(&self.home)];
        all.extend_from_slice(args);
        must("gpg", &all)
    }

    /// Writes the public key as a keyring file (what the PLC's `pubring.gpg` holds).
    pub fn export_public(&self, to: &Path) {
        self.gpg(&["--yes", "--output", path(to), "--export"]);
    }

    /// Signs `input` as a binary inline-signed OpenPGP message (`gpg --sign`, as upstream's
    /// `bootmanager_*.sh.sgn` are) into `output`.
    pub fn sign(&self, input: &Path, output: &Path) {
        self.gpg(&["--yes", "--output", path(output), "--sign", path(input)]);
    }
}

impl Drop for GpgKey {
    fn drop(&mut self) {
        let _ = run("gpgconf", &["--homedir", path(&self.home), "--kill", "gpg-agent"]);
    }
}
