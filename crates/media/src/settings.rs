//! The PLC-wide settings a medium's overlay carries (docs/plc-api.md §6: PLC_NAME, PLC_BOOT_HOST,
//! PLC_BOOT_SSL_PORT, PLC_BOOT_CA_SSL_CRT, PLC_ROOT_GPG_KEY_PUB, the web URL, the support
//! address and the root password; build.sh `build_overlay`, docs/media.md §1).
//!
//! [`BootConfig`] is the `[boot]` section of `bootmedium.toml` (file paths); [`BootSettings`]
//! is what the builder uses (file contents read, every value checked).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::MediaError;

/// Largest CA certificate or keyring read (they must fit the overlay slot anyway).
const MAX_CREDENTIAL_BYTES: u64 = 1024 * 1024;

/// `[boot]` of `bootmedium.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BootConfig {
    /// PLC_BOOT_HOST: the boot server nodes contact (`/usr/boot/boot_server`).
    pub host: String,
    /// PLC_BOOT_SSL_PORT (`/usr/boot/boot_server_port`).
    pub port: u16,
    /// `/usr/boot/boot_server_path` (upstream: always `/boot/`).
    pub path: String,
    /// PLC_BOOT_CA_SSL_CRT: the boot server's CA certificate (relative to the data directory).
    pub ca_certificate: PathBuf,
    /// PLC_ROOT_GPG_KEY_PUB: the GPG public keyring that signs the boot manager (relative to the
    /// data directory).
    pub gpg_public_keyring: PathBuf,
    /// The PLC web site, shown in the boot CD's `/etc/issue`.
    pub www_url: String,
    /// PLC_MAIL_SUPPORT_ADDRESS, shown in `/etc/issue`. `bootmedium.toml` leaves it empty to
    /// mean `[mail] support_address` (filled in when the file is loaded), so one address is
    /// configured once; empty here is refused by [`BootSettings::validate`].
    pub support_address: String,
    /// The crypt(3) hash put in root's `/etc/passwd` entry on the boot CD; `*` locks root.
    pub root_password_hash: String,
}

impl Default for BootConfig {
    fn default() -> Self {
        BootConfig {
            host: "localhost.localdomain".to_owned(),
            port: 443,
            path: "/boot/".to_owned(),
            ca_certificate: PathBuf::from("boot/cacert.pem"),
            gpg_public_keyring: PathBuf::from("boot/pubring.gpg"),
            www_url: "https://localhost.localdomain/".to_owned(),
            support_address: String::new(),
            root_password_hash: "*".to_owned(),
        }
    }
}

impl BootConfig {
    /// Reads the credential files (paths relative to `data_dir`) and checks every value.
    pub fn load(&self, plc_name: &str, data_dir: &Path) -> Result<BootSettings, MediaError> {
        let settings = BootSettings {
            plc_name: plc_name.to_owned(),
            host: self.host.clone(),
            port: self.port,
            path: self.path.clone(),
            ca_certificate: read_credential("boot.ca_certificate", &data_dir.join(&self.ca_certificate))?,
            gpg_public_keyring: read_credential("boot.gpg_public_keyring", &data_dir.join(&self.gpg_public_keyring))?,
            www_url: self.www_url.clone(),
            support_address: self.support_address.clone(),
            root_password_hash: self.root_password_hash.clone(),
        };
        settings.validate()?;
        Ok(settings)
    }
}

fn read_credential(setting: &'static str, path: &Path) -> Result<Vec<u8>, MediaError> {
    use std::io::Read;
    let invalid = |reason: String| MediaError::InvalidSetting { setting, reason };
    let file = std::fs::File::open(path).map_err(|e| invalid(format!("cannot read {}: {e}", path.display())))?;
    let mut bytes = Vec::new();
    file.take(MAX_CREDENTIAL_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| invalid(format!("cannot read {}: {e}", path.display())))?;
    if bytes.len() as u64 > MAX_CREDENTIAL_BYTES {
        return Err(invalid(format!("{} is larger than 1 MiB", path.display())));
    }
    Ok(bytes)
}

/// The PLC-wide values of every medium's overlay, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootSettings {
    /// PLC_NAME.
    pub plc_name: String,
    /// The boot server's host name.
    pub host: String,
    /// The boot server's HTTPS port.
    pub port: u16,
    /// The boot server's path (`/boot/`).
    pub path: String,
    /// The CA certificate (PEM).
    pub ca_certificate: Vec<u8>,
    /// The GPG public keyring.
    pub gpg_public_keyring: Vec<u8>,
    /// The web site URL.
    pub www_url: String,
    /// The support mail address.
    pub support_address: String,
    /// root's crypt(3) hash.
    pub root_password_hash: String,
}

impl BootSettings {
    /// Checks every value: the host becomes a directory name in the overlay
    /// (`usr/bootme/cacert/<host>/`), the texts become single lines of files, the hash a field
    /// of `/etc/passwd`.
    pub fn validate(&self) -> Result<(), MediaError> {
        let invalid = |setting, reason: &str| MediaError::InvalidSetting { setting, reason: reason.to_owned() };
        single_line("plc.name", &self.plc_name)?;
        if !is_host_name(&self.host) {
            return Err(invalid("boot.host", "must be a host name (letters, digits, `-` and `.`)"));
        }
        if self.port == 0 {
            return Err(invalid("boot.port", "must be 1-65535"));
        }
        if !self.path.starts_with('/') || !self.path.chars().all(|c| c.is_ascii_graphic()) {
            return Err(invalid("boot.path", "must be an absolute URL path without spaces"));
        }
        single_line("boot.www_url", &self.www_url)?;
        single_line("boot.support_address", &self.support_address)?;
        let hash = &self.root_password_hash;
        if hash.is_empty() || !hash.chars().all(|c| c.is_ascii_graphic() && c != ':') {
            return Err(invalid("boot.root_password_hash", "must be a crypt(3) hash (printable, no `:`), or `*`"));
        }
        Ok(())
    }
}

fn single_line(setting: &'static str, value: &str) -> Result<(), MediaError> {
    if value.is_empty() || value.chars().any(char::is_control) {
        return Err(MediaError::InvalidSetting { setting, reason: "must be a non-empty single line".to_owned() });
    }
    Ok(())
}

/// RFC 1123 host names (and IPv4 addresses, which match the same characters).
fn is_host_name(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Settings for unit tests.
    pub(crate) fn sample() -> BootSettings {
        BootSettings {
            plc_name: "PlanetLab Test".to_owned(),
            host: "boot.example.org".to_owned(),
            port: 443,
            path: "/boot/".to_owned(),
            ca_certificate: b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".to_vec(),
            gpg_public_keyring: vec![0x99, 0x01, 0x0d, 0x04],
            www_url: "https://www.example.org/".to_owned(),
            support_address: "support@example.org".to_owned(),
            root_password_hash: "$5$salt$hash".to_owned(),
        }
    }

    #[test]
    fn validation() {
        sample().validate().unwrap();
        type Change = fn(&mut BootSettings);
        let cases: [(&str, Change); 7] = [
            ("boot.host", |s| s.host = "../etc".into()),
            ("boot.host", |s| s.host = "a..b".into()),
            ("boot.port", |s| s.port = 0),
            ("boot.path", |s| s.path = "boot".into()),
            ("plc.name", |s| s.plc_name = "two\nlines".into()),
            ("boot.root_password_hash", |s| s.root_password_hash = "a:b".into()),
            ("boot.root_password_hash", |s| s.root_password_hash = String::new()),
        ];
        for (setting, change) in cases {
            let mut s = sample();
            change(&mut s);
            match s.validate() {
                Err(MediaError::InvalidSetting { setting: got, .. }) => assert_eq!(got, setting),
                other => panic!("{setting}: {other:?}"),
            }
        }
    }

    #[test]
    fn load_reads_files_relative_to_the_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("boot")).unwrap();
        std::fs::write(dir.path().join("boot/cacert.pem"), "CERT").unwrap();
        let config = BootConfig { support_address: "support@example.org".to_owned(), ..BootConfig::default() };
        let err = config.load("PLC", dir.path()).unwrap_err();
        assert!(err.to_string().contains("boot.gpg_public_keyring"), "{err}");
        std::fs::write(dir.path().join("boot/pubring.gpg"), "KEYS").unwrap();
        let settings = config.load("PLC", dir.path()).unwrap();
        assert_eq!(settings.ca_certificate, b"CERT");
        assert_eq!(settings.gpg_public_keyring, b"KEYS");
    }
}
