//! The BootManager payload store (docs/plc-api.md §12.4, §7.2): the signed scripts the boot server page
//! hands to booting nodes, kept as `<data dir>/bootmanager/bootmanager_<name>.sh.sgn`, where
//! `<name>` is a node's lower-cased hostname, a deployment (the node tag `deployment`) or
//! `regular`.
//!
//! A node runs whatever `gpg --decrypt` accepts with the medium's `pubring.gpg` (§12.4), and
//! that includes an unsigned literal message (`gpg --store`). So nothing enters the store
//! unless Debian's `gpgv` verifies a signature on it by a key of the PLC's own public keyring
//! (`[boot] gpg_public_keyring`); a file that would be refused, or worse run unsigned, is refused
//! when it is added, with the reason. Names are validated so that no name can leave the
//! directory, and files appear whole (`media::files::Pending`), mode 0644.
//!
//! Section numbers (§N) refer to docs/plc-api.md.

use bootmedium_media::files::Pending;
use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// File names are `bootmanager_<name>.sh.sgn`.
const PREFIX: &str = "bootmanager_";
const SUFFIX: &str = ".sh.sgn";

/// The largest payload accepted (upstream's is a few hundred KiB of base64 tarball).
pub const MAX_PAYLOAD_BYTES: u64 = 256 * 1024 * 1024;

/// Which nodes a payload is for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum PayloadName {
    /// One node, by its lower-cased hostname.
    Hostname(String),
    /// The nodes whose `deployment` tag has this value.
    Deployment(String),
    /// Every other node.
    Regular,
}

impl PayloadName {
    /// A hostname payload; the name is lower-cased (upstream looks the file up that way).
    pub fn hostname(h: &str) -> Result<PayloadName, PayloadError> {
        let lower = h.to_ascii_lowercase();
        if !crate::validate::is_hostname(&lower) {
            return Err(PayloadError::BadName(format!(
                "{h:?} is not a hostname (letters, digits and '-' in dot-separated labels)"
            )));
        }
        Ok(PayloadName::Hostname(lower))
    }

    /// A deployment payload: `[A-Za-z0-9_.-]+`, not `regular`, no `..`, not starting with '.'.
    pub fn deployment(d: &str) -> Result<PayloadName, PayloadError> {
        if !is_deployment(d) {
            return Err(PayloadError::BadName(format!(
                "{d:?} is not a deployment name ([A-Za-z0-9_.-], at most 64, not starting with '.', no '..')"
            )));
        }
        if d == "regular" {
            return Err(PayloadError::BadName(
                "the deployment \"regular\" is the regular payload: add it without --deployment".into(),
            ));
        }
        Ok(PayloadName::Deployment(d.to_owned()))
    }

    /// The part of the file name between `bootmanager_` and `.sh.sgn`.
    pub fn stem(&self) -> &str {
        match self {
            PayloadName::Hostname(h) => h,
            PayloadName::Deployment(d) => d,
            PayloadName::Regular => "regular",
        }
    }

    pub fn file_name(&self) -> String {
        format!("{PREFIX}{}{SUFFIX}", self.stem())
    }

    /// `hostname`, `deployment` or `regular`.
    pub fn kind(&self) -> &'static str {
        match self {
            PayloadName::Hostname(_) => "hostname",
            PayloadName::Deployment(_) => "deployment",
            PayloadName::Regular => "regular",
        }
    }

    /// The name a file in the store stands for (`None`: not one of ours). A dotted name is
    /// listed as a hostname; a node finds it either way, hostname first (§12.4).
    fn of_file(file_name: &str) -> Option<PayloadName> {
        let stem = file_name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
        if stem == "regular" {
            return Some(PayloadName::Regular);
        }
        PayloadName::hostname(stem).ok().filter(|n| n.stem() == stem).or_else(|| PayloadName::deployment(stem).ok())
    }
}

impl fmt::Display for PayloadName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PayloadName::Regular => f.write_str("regular"),
            other => write!(f, "{} {}", other.kind(), other.stem()),
        }
    }
}

fn is_deployment(d: &str) -> bool {
    !d.is_empty()
        && d.len() <= 64
        && !d.starts_with('.')
        && !d.contains("..")
        && d.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// What can go wrong with the store.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    #[error("bad payload name: {0}")]
    BadName(String),
    #[error("the payload is refused: {0}")]
    Refused(String),
    #[error("cannot run gpgv (install Debian's gpgv package): {0}")]
    Gpgv(io::Error),
    #[error("{what} {path}: {source}")]
    Io { what: &'static str, path: PathBuf, source: io::Error },
    #[error("no {0} payload in the store")]
    Missing(PayloadName),
}

fn io_error<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> PayloadError + 'a {
    move |source| PayloadError::Io { what, path: path.to_path_buf(), source }
}

/// Who signed a payload, as gpgv reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signer {
    /// The signing key's fingerprint (VALIDSIG).
    pub fingerprint: String,
    /// The user id gpgv printed (GOODSIG), possibly empty.
    pub user_id: String,
}

/// One file of the store.
#[derive(Debug, Clone)]
pub struct StoredPayload {
    pub name: PayloadName,
    pub path: PathBuf,
    pub size: u64,
    pub sha256: String,
}

/// The directory of payloads.
#[derive(Debug, Clone)]
pub struct PayloadStore {
    dir: PathBuf,
}

impl PayloadStore {
    /// The store of a data directory: `<data dir>/bootmanager`.
    pub fn of_data_dir(data_dir: &Path) -> PayloadStore {
        PayloadStore { dir: data_dir.join("bootmanager") }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path_of(&self, name: &PayloadName) -> PathBuf {
        self.dir.join(name.file_name())
    }

    /// The first of `names` the store has, opened (so a payload replaced or removed meanwhile
    /// is either served whole or skipped, never half).
    pub fn open_first(&self, names: &[PayloadName]) -> io::Result<Option<(PayloadName, File, u64)>> {
        for name in names {
            match File::open(self.path_of(name)) {
                Ok(file) => {
                    let meta = file.metadata()?;
                    if meta.is_file() {
                        return Ok(Some((name.clone(), file, meta.len())));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    /// Checks `source` against `keyring` and stores it as `name` (replacing an earlier one).
    pub fn add(
        &self,
        source: &Path,
        name: &PayloadName,
        keyring: &Path,
    ) -> Result<(StoredPayload, Signer), PayloadError> {
        let mut input = File::open(source).map_err(io_error("cannot read", source))?;
        let size = input.metadata().map_err(io_error("cannot read", source))?.len();
        if size > MAX_PAYLOAD_BYTES {
            return Err(PayloadError::Refused(format!("{size} bytes is more than the {MAX_PAYLOAD_BYTES} accepted")));
        }
        std::fs::create_dir_all(&self.dir).map_err(io_error("cannot create", &self.dir))?;
        let target = self.path_of(name);
        // Copied first, then verified: what is checked is exactly what is published.
        let mut pending = Pending::create(&target).map_err(io_error("cannot write", &target))?;
        let copied = io::copy(&mut (&mut input).take(MAX_PAYLOAD_BYTES + 1), pending.file())
            .map_err(io_error("cannot copy", source))?;
        if copied > MAX_PAYLOAD_BYTES {
            return Err(PayloadError::Refused(format!("more than the {MAX_PAYLOAD_BYTES} bytes accepted")));
        }
        let signer = verify(pending.temporary_path(), keyring)?;
        let sha256 = File::open(pending.temporary_path())
            .and_then(bootmedium_media::sha256_hex)
            .map_err(io_error("cannot read", pending.temporary_path()))?;
        pending.publish(0o644).map_err(io_error("cannot publish", &target))?;
        Ok((StoredPayload { name: name.clone(), path: target, size: copied, sha256 }, signer))
    }

    /// Removes the payload `name`.
    pub fn remove(&self, name: &PayloadName) -> Result<PathBuf, PayloadError> {
        let path = self.path_of(name);
        match std::fs::remove_file(&path) {
            Ok(()) => {
                bootmedium_media::files::sync_dir(&self.dir).map_err(io_error("cannot sync", &self.dir))?;
                Ok(path)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(PayloadError::Missing(name.clone())),
            Err(e) => Err(PayloadError::Io { what: "cannot remove", path, source: e }),
        }
    }

    /// Every payload in the store, by name (a missing directory holds none).
    pub fn list(&self) -> Result<Vec<StoredPayload>, PayloadError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(PayloadError::Io { what: "cannot list", path: self.dir.clone(), source: e }),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io_error("cannot list", &self.dir))?;
            let Some(name) = entry.file_name().to_str().and_then(PayloadName::of_file) else { continue };
            let path = entry.path();
            let file = File::open(&path).map_err(io_error("cannot read", &path))?;
            let size = file.metadata().map_err(io_error("cannot read", &path))?.len();
            let sha256 = bootmedium_media::sha256_hex(file).map_err(io_error("cannot read", &path))?;
            out.push(StoredPayload { name, path, size, sha256 });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}

/// Verifies that `file` is a signed OpenPGP message (inline-signed, binary or armored, or
/// clearsigned: the node's `gpg --decrypt` takes all three) whose signature verifies against
/// `keyring`, with Debian's `gpgv`. The reason for a refusal is taken from gpgv's status lines.
pub fn verify(file: &Path, keyring: &Path) -> Result<Signer, PayloadError> {
    let keyring = std::path::absolute(keyring).map_err(io_error("cannot resolve", keyring))?;
    // gpgv's own error for a missing keyring is obscure.
    File::open(&keyring).map_err(io_error("cannot read the PLC's keyring", &keyring))?;
    let input = File::open(file).map_err(io_error("cannot read", file))?;
    // The file comes on stdin: given as an argument, a detached signature would be checked
    // against a neighbouring file of the same name without `.sgn`.
    let out = Command::new("gpgv")
        .arg("--keyring")
        .arg(&keyring)
        .args(["--status-fd", "1", "-"])
        .stdin(Stdio::from(input))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("LC_ALL", "C")
        .output()
        .map_err(PayloadError::Gpgv)?;
    let status = String::from_utf8_lossy(&out.stdout);
    let said = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<Vec<&str>> =
        status.lines().filter_map(|l| l.strip_prefix("[GNUPG:] ")).map(|l| l.split(' ').collect()).collect();
    let find = |key: &str| lines.iter().find(|l| l.first() == Some(&key));
    let refused = |why: String| Err(PayloadError::Refused(why));
    if let Some(l) = find("NO_PUBKEY") {
        let id = l.get(1).copied().unwrap_or("?");
        return refused(format!("it is signed by key {id}, which is not in the PLC's keyring {}", keyring.display()));
    }
    if let Some(l) = find("BADSIG") {
        let id = l.get(1).copied().unwrap_or("?");
        return refused(format!("bad signature by key {id}: the file was changed after it was signed"));
    }
    if out.status.success()
        && find("BADSIG").is_none()
        && find("ERRSIG").is_none()
        && let Some(valid) = find("VALIDSIG")
    {
        let user_id = find("GOODSIG").map(|l| l.get(2..).unwrap_or_default().join(" ")).unwrap_or_default();
        return Ok(Signer { fingerprint: valid.get(1).copied().unwrap_or_default().to_owned(), user_id });
    }
    // NODATA 4 ("signature expected but not found") alone: well-formed OpenPGP packets (a
    // literal message, compressed or not) without a signature. Garbage also gets NODATA 1–3.
    let nodata: Vec<&str> =
        lines.iter().filter(|l| l.first() == Some(&"NODATA")).filter_map(|l| l.get(1).copied()).collect();
    if nodata == ["4"] && find("NEWSIG").is_none() {
        return refused(
            "it is an unsigned OpenPGP message (gpg --store): nodes would run it unverified; sign it with gpg --sign"
                .into(),
        );
    }
    if said.contains("no signed data") {
        return refused("it is a detached signature: sign the payload itself with gpg --sign (inline)".into());
    }
    if find("NODATA").is_some() {
        return refused("it is not an OpenPGP signed message".into());
    }
    let said = said.lines().filter(|l| !l.trim().is_empty()).collect::<Vec<_>>().join("; ");
    refused(format!("gpgv did not verify it ({}): {said}", out.status))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_in_the_directory() {
        for bad in ["", "..", "a/b", "../x.example.org", "a..b", ".hidden", "x y", "a\nb", &"d".repeat(65), "regular"] {
            assert!(PayloadName::deployment(bad).is_err(), "deployment {bad:?}");
        }
        for bad in ["", "x", "a/b.example.org", "..example.org", "n1.example.org/..", "n1.example.org\n", "-a.org"] {
            assert!(PayloadName::hostname(bad).is_err(), "hostname {bad:?}");
        }
        assert_eq!(PayloadName::hostname("N1.Example.ORG").unwrap().file_name(), "bootmanager_n1.example.org.sh.sgn");
        assert_eq!(PayloadName::deployment("alpha_2-x.y").unwrap().file_name(), "bootmanager_alpha_2-x.y.sh.sgn");
        assert_eq!(PayloadName::Regular.file_name(), "bootmanager_regular.sh.sgn");
    }

    #[test]
    fn file_names_map_back() {
        assert_eq!(PayloadName::of_file("bootmanager_regular.sh.sgn"), Some(PayloadName::Regular));
        assert_eq!(
            PayloadName::of_file("bootmanager_n1.example.org.sh.sgn"),
            Some(PayloadName::Hostname("n1.example.org".into()))
        );
        assert_eq!(PayloadName::of_file("bootmanager_alpha.sh.sgn"), Some(PayloadName::Deployment("alpha".into())));
        assert_eq!(PayloadName::of_file("bootmanager_Alpha.x.sh.sgn"), Some(PayloadName::Deployment("Alpha.x".into())));
        assert_eq!(PayloadName::of_file(".bootmanager_regular.sh.sgn.1-2.tmp"), None);
        assert_eq!(PayloadName::of_file("README"), None);
    }
}
