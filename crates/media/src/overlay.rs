//! The overlay initramfs (`overlay.img`): a gzip'd newc cpio with the PLC-wide files and, for a
//! node medium, the node's `plnode.txt` — bootcd build.sh `build_overlay` (docs/media.md §1,
//! docs/plc-api.md §7.1):
//!
//! - `pl_version`, `usr/isolinux/pl_version`: `"<PLC_NAME> BootCD <version>"`;
//! - `usr/boot/` and `usr/boot/backup/`: `cacert.pem`, `pubring.gpg`, `boot_server`,
//!   `boot_server_port`, `boot_server_path`;
//! - `usr/bootme/`: `cacert/<boot host>/cacert.pem`, `ID`, `BOOTSERVER`, `BOOTSERVER_IP` (the
//!   host, as upstream writes it), `BOOTPORT`;
//! - `etc/issue` (upstream's text) and `etc/passwd` (the reference root's, with root's hash
//!   replaced);
//! - `kargs.txt`: the kernel arguments;
//! - `usr/boot/plnode.txt` (mode 0600: it holds the node key).
//!
//! Reproducible: entries in name order (parents first), inode numbers from 1, every mtime the
//! reference's timestamp, gzip -9 with a fixed header. The network files upstream's `plnet`
//! adds are not written (docs/media.md lists them as optional).

use bootmedium_formats::cpio::{CpioWriter, EntryDefaults, gzip_encoder};
use std::collections::BTreeMap;

use crate::error::{MediaError, io_error};
use crate::settings::BootSettings;

/// Path of the node configuration in the overlay.
pub(crate) const PLNODE_PATH: &str = "usr/boot/plnode.txt";

/// What one overlay is made from.
pub(crate) struct OverlayInput<'a> {
    pub settings: &'a BootSettings,
    /// The reference's version.
    pub version: &'a str,
    /// The kernel arguments, for `kargs.txt`.
    pub kargs: &'a [String],
    /// The reference root's `/etc/passwd`.
    pub root_passwd: &'a str,
    /// `plnode.txt`, for node media.
    pub node_config: Option<&'a str>,
    /// The time stamped on every entry.
    pub mtime: u32,
}

/// `"<PLC_NAME> BootCD <version>"` (build.sh's FULL_VERSION_STRING).
pub(crate) fn full_version(plc_name: &str, version: &str) -> String {
    format!("{plc_name} BootCD {version}")
}

enum Item {
    Directory,
    File { mode: u32, data: Vec<u8> },
}

fn line(text: &str) -> Vec<u8> {
    format!("{text}\n").into_bytes()
}

/// The overlay's entries, by name.
fn entries(input: &OverlayInput<'_>) -> BTreeMap<String, Item> {
    let s = input.settings;
    let version_line = line(&full_version(&s.plc_name, input.version));
    let mut items = BTreeMap::new();
    let mut file = |path: &str, mode: u32, data: Vec<u8>| {
        let mut parent = path;
        while let Some((dir, _)) = parent.rsplit_once('/') {
            items.entry(dir.to_owned()).or_insert(Item::Directory);
            parent = dir;
        }
        items.insert(path.to_owned(), Item::File { mode, data });
    };
    file("pl_version", 0o644, version_line.clone());
    file("usr/isolinux/pl_version", 0o644, version_line.clone());
    for dir in ["usr/boot", "usr/boot/backup"] {
        file(&format!("{dir}/cacert.pem"), 0o644, s.ca_certificate.clone());
        file(&format!("{dir}/pubring.gpg"), 0o644, s.gpg_public_keyring.clone());
        file(&format!("{dir}/boot_server"), 0o644, line(&s.host));
        file(&format!("{dir}/boot_server_port"), 0o644, line(&s.port.to_string()));
        file(&format!("{dir}/boot_server_path"), 0o644, line(&s.path));
    }
    file(&format!("usr/bootme/cacert/{}/cacert.pem", s.host), 0o644, s.ca_certificate.clone());
    file("usr/bootme/ID", 0o644, version_line);
    file("usr/bootme/BOOTSERVER", 0o644, line(&s.host));
    file("usr/bootme/BOOTSERVER_IP", 0o644, line(&s.host));
    file("usr/bootme/BOOTPORT", 0o644, line(&s.port.to_string()));
    file("etc/issue", 0o644, issue(s, input.version).into_bytes());
    file("etc/passwd", 0o644, passwd(input.root_passwd, &s.root_password_hash).into_bytes());
    file("kargs.txt", 0o644, line(&input.kargs.join(" ")));
    if let Some(node) = input.node_config {
        file(PLNODE_PATH, 0o600, node.as_bytes().to_vec());
    }
    items
}

/// Renders the gzip'd cpio.
pub(crate) fn render(input: &OverlayInput<'_>) -> Result<Vec<u8>, MediaError> {
    let defaults = EntryDefaults { uid: 0, gid: 0, mtime: input.mtime };
    let mut cpio = CpioWriter::new(gzip_encoder(Vec::new(), 9), defaults);
    // Sorted names put every directory before its contents.
    for (name, item) in entries(input) {
        match item {
            Item::Directory => cpio.directory(&name, 0o755)?,
            Item::File { mode, data } => cpio.file_from_bytes(&name, mode, &data)?,
        }
    }
    cpio.finish()?.finish().map_err(io_error("compressing the overlay"))
}

/// build.sh's `/etc/issue` (getty expands `\n`, `\r` and `\m`).
fn issue(s: &BootSettings, version: &str) -> String {
    let name = &s.plc_name;
    format!(
        "{full}\n{name} Node: \\n\nKernel \\r on an \\m\n{url}\n\n\
         This machine is a node in the {name} distributed network.  It has\n\
         not fully booted yet. If you have cancelled the boot process at the\n\
         request of {name} Support, please follow the instructions provided\n\
         to you. Otherwise, please contact {support}.\n\n\
         Console login at this point is restricted to root. Provide the root\n\
         password of the default {name} Central administrator account at the\n\
         time that this CD was created.\n\n",
        full = full_version(name, version),
        url = s.www_url,
        support = s.support_address,
    )
}

/// The root's passwd with root's hash replaced (build.sh's `sed s@^root:[^:]*:@root:HASH:@`);
/// a root line is added when there is none.
pub(crate) fn passwd(root_passwd: &str, hash: &str) -> String {
    let mut out = String::new();
    let mut found = false;
    for entry in root_passwd.lines() {
        match entry.strip_prefix("root:").and_then(|rest| rest.split_once(':')) {
            Some((_, rest)) => {
                found = true;
                out.push_str(&format!("root:{hash}:{rest}\n"));
            }
            None => {
                out.push_str(entry);
                out.push('\n');
            }
        }
    }
    if !found {
        out.insert_str(0, &format!("root:{hash}:0:0:root:/root:/bin/sh\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::tests::sample;
    use bootmedium_formats::cpio::{CpioReader, gzip_decoder};

    fn read(overlay: &[u8]) -> Vec<(String, u32, Vec<u8>)> {
        CpioReader::new(gzip_decoder(overlay))
            .read_all()
            .unwrap()
            .into_iter()
            .map(|(h, d)| (h.name_str().unwrap().to_owned(), h.mode, d))
            .collect()
    }

    #[test]
    fn overlay_has_build_sh_files() {
        let settings = sample();
        let kargs = vec!["biosdevname=0".to_owned(), "console=ttyS0,115200n8".to_owned()];
        let input = OverlayInput {
            settings: &settings,
            version: "5.4",
            kargs: &kargs,
            root_passwd: "root:x:0:0:root:/root:/bin/sh\nbin:*:1:1::/:/sbin/nologin\n",
            node_config: Some("NODE_ID=\"1\"\n"),
            mtime: 1_700_000_000,
        };
        let overlay = render(&input).unwrap();
        assert_eq!(overlay, render(&input).unwrap(), "reproducible");
        let entries = read(&overlay);
        let names: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
        for expected in [
            "etc/issue",
            "etc/passwd",
            "kargs.txt",
            "pl_version",
            "usr/boot/backup/boot_server",
            "usr/boot/backup/cacert.pem",
            "usr/boot/boot_server_path",
            "usr/boot/plnode.txt",
            "usr/boot/pubring.gpg",
            "usr/bootme/BOOTPORT",
            "usr/bootme/BOOTSERVER_IP",
            "usr/bootme/ID",
            "usr/bootme/cacert/boot.example.org/cacert.pem",
            "usr/isolinux/pl_version",
        ] {
            assert!(names.contains(&expected), "{expected} missing from {names:?}");
        }
        for (i, name) in names.iter().enumerate() {
            if let Some((parent, _)) = name.rsplit_once('/') {
                assert!(names[..i].contains(&parent), "{parent} must precede {name}");
            }
        }
        let get = |name: &str| entries.iter().find(|e| e.0 == name).unwrap();
        assert_eq!(get("pl_version").2, b"PlanetLab Test BootCD 5.4\n");
        assert_eq!(get("usr/boot/boot_server_path").2, b"/boot/\n");
        assert_eq!(get("kargs.txt").2, b"biosdevname=0 console=ttyS0,115200n8\n");
        assert_eq!(get("etc/passwd").2, b"root:$5$salt$hash:0:0:root:/root:/bin/sh\nbin:*:1:1::/:/sbin/nologin\n");
        assert_eq!(get("usr/boot/plnode.txt").1, 0o100_600);
        assert_eq!(get("usr/boot").1, 0o040_755);
        let issue = String::from_utf8(get("etc/issue").2.clone()).unwrap();
        assert!(issue.starts_with("PlanetLab Test BootCD 5.4\nPlanetLab Test Node: \\n\n"), "{issue}");
        assert!(issue.contains("please contact support@example.org."), "{issue}");

        let generic = render(&OverlayInput { node_config: None, ..input }).unwrap();
        assert!(read(&generic).iter().all(|e| e.0 != PLNODE_PATH));
    }

    #[test]
    fn passwd_without_root_gets_one() {
        assert_eq!(
            passwd("bin:x:1:1::/:/bin/false\n", "*"),
            "root:*:0:0:root:/root:/bin/sh\nbin:x:1:1::/:/bin/false\n"
        );
        assert_eq!(passwd("", "*"), "root:*:0:0:root:/root:/bin/sh\n");
    }
}
