//! `bootmedium.toml`: the data directory's settings file, and the commented template `init`
//! writes.

use anyhow::{Context, Result};
use bootmedium_plc::config::{ApiSettings, FlavourSettings, MediumSettings, PlcConfig, PlcSettings};
use bootmedium_server::ServerSettings;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const FILE_NAME: &str = "bootmedium.toml";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerFile {
    /// Where `serve` listens for HTTP when `--listen` is not given; empty (or `none`): no HTTP.
    pub listen: String,
    /// Where `serve` listens for HTTPS when `--tls-listen` is not given; empty: no HTTPS.
    pub tls_listen: String,
    /// The HTTPS certificate chain (PEM, leaf first) and its private key (PEM); relative paths
    /// are taken in the data directory.
    pub tls_certificate: PathBuf,
    pub tls_key: PathBuf,
    /// Largest accepted request body in bytes.
    pub max_body_bytes: usize,
    pub header_timeout_seconds: u64,
    pub keepalive_timeout_seconds: u64,
    pub body_timeout_seconds: u64,
    pub body_min_rate_bytes: u64,
    pub send_timeout_seconds: u64,
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
    pub shutdown_grace_seconds: u64,
    pub download_cache_media: usize,
    pub download_cache_bytes: u64,
    /// Threads for file reads and image builds (tokio's blocking pool).
    pub blocking_threads: usize,
    /// Peers (addresses or CIDR blocks) whose `client_address_header` is believed.
    pub trusted_proxies: Vec<String>,
    /// The header a trusted proxy puts the client address in.
    pub client_address_header: String,
}

impl Default for ServerFile {
    fn default() -> Self {
        let d = ServerSettings::default();
        ServerFile {
            listen: "127.0.0.1:8080".into(),
            tls_listen: String::new(),
            tls_certificate: PathBuf::new(),
            tls_key: PathBuf::new(),
            max_body_bytes: d.max_body_bytes,
            header_timeout_seconds: d.header_timeout.as_secs(),
            keepalive_timeout_seconds: d.keepalive_timeout.as_secs(),
            body_timeout_seconds: d.body_timeout.as_secs(),
            body_min_rate_bytes: d.body_min_rate,
            send_timeout_seconds: d.send_timeout.as_secs(),
            max_connections: d.max_connections,
            max_connections_per_ip: d.max_connections_per_ip,
            shutdown_grace_seconds: d.shutdown_grace.as_secs(),
            download_cache_media: d.download_cache_media,
            download_cache_bytes: d.download_cache_bytes,
            blocking_threads: 512,
            trusted_proxies: Vec::new(),
            client_address_header: d.client_address_header,
        }
    }
}

/// A listen setting: `None` when it is empty or `none` (that listener is off).
pub fn address(setting: &str) -> Option<&str> {
    let setting = setting.trim();
    (!setting.is_empty() && !setting.eq_ignore_ascii_case("none")).then_some(setting)
}

impl ServerFile {
    /// The certificate and key files for HTTPS, taken in `data_dir` when relative; an error
    /// names the setting that is missing.
    pub fn tls_files(&self, data_dir: &Path, tls_listen: &str) -> Result<(PathBuf, PathBuf)> {
        let file = |name: &str, path: &Path| {
            anyhow::ensure!(
                !path.as_os_str().is_empty(),
                "HTTPS is to listen on {tls_listen}, but [server] {name} is not set: name the PEM file in {}",
                data_dir.join(FILE_NAME).display()
            );
            Ok(data_dir.join(path))
        };
        Ok((file("tls_certificate", &self.tls_certificate)?, file("tls_key", &self.tls_key)?))
    }

    /// The HTTP layer's settings; zero timeouts, caps or thread counts are refused.
    pub fn settings(&self) -> Result<ServerSettings> {
        let positive = [
            ("header_timeout_seconds", self.header_timeout_seconds),
            ("keepalive_timeout_seconds", self.keepalive_timeout_seconds),
            ("body_timeout_seconds", self.body_timeout_seconds),
            ("send_timeout_seconds", self.send_timeout_seconds),
            ("max_connections", self.max_connections as u64),
            ("max_connections_per_ip", self.max_connections_per_ip as u64),
            ("blocking_threads", self.blocking_threads as u64),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, v)| *v == 0) {
            anyhow::bail!("[server] {name} must be at least 1");
        }
        let trusted_proxies = self
            .trusted_proxies
            .iter()
            .map(|p| p.parse().map_err(|e| anyhow::anyhow!("[server] trusted_proxies: {e}")))
            .collect::<Result<Vec<_>>>()?;
        let header = self.client_address_header.trim();
        anyhow::ensure!(is_header_name(header), "[server] client_address_header {header:?} is not an HTTP header name");
        let secs = Duration::from_secs;
        Ok(ServerSettings {
            max_body_bytes: self.max_body_bytes,
            header_timeout: secs(self.header_timeout_seconds),
            keepalive_timeout: secs(self.keepalive_timeout_seconds),
            body_timeout: secs(self.body_timeout_seconds),
            body_min_rate: self.body_min_rate_bytes,
            send_timeout: secs(self.send_timeout_seconds),
            max_connections: self.max_connections,
            max_connections_per_ip: self.max_connections_per_ip,
            shutdown_grace: secs(self.shutdown_grace_seconds),
            download_cache_media: self.download_cache_media,
            download_cache_bytes: self.download_cache_bytes,
            trusted_proxies,
            client_address_header: header.to_owned(),
        })
    }
}

/// An HTTP field name (RFC 9110 §5.1: a token).
fn is_header_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseFile {
    /// `postgres://…` or `sqlite:…`; empty means the SQLite file in the data directory.
    pub url: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FileConfig {
    pub plc: PlcSettings,
    pub flavour: FlavourSettings,
    pub api: ApiSettings,
    pub medium: MediumSettings,
    pub server: ServerFile,
    pub database: DatabaseFile,
    pub boot: bootmedium_media::BootConfig,
    pub mail: bootmedium_mail::MailSettings,
}

impl FileConfig {
    pub fn load(data_dir: &Path) -> Result<Self> {
        let path = data_dir.join(FILE_NAME);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!("reading {} (run `bootmedium --data-dir {} init` first)", path.display(), data_dir.display())
        })?;
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// The API's settings; a relative or empty results directory is taken inside `data_dir`.
    pub fn plc(&self, data_dir: &Path) -> Result<PlcConfig> {
        let api = &self.api;
        for (name, seconds) in [
            ("session_lifetime_seconds", api.session_lifetime_seconds),
            ("max_session_lifetime_seconds", api.max_session_lifetime_seconds),
            ("node_session_lifetime_seconds", api.node_session_lifetime_seconds),
        ] {
            anyhow::ensure!(seconds > 0, "[api] {name} must be a positive number of seconds, not {seconds}");
        }
        let mut medium = self.medium.clone();
        let dir = if medium.results_dir.as_os_str().is_empty() { Path::new("results") } else { &medium.results_dir };
        medium.results_dir = std::path::absolute(data_dir.join(dir))
            .with_context(|| format!("resolving the results directory {}", dir.display()))?;
        for extra in &mut medium.admin_result_dirs {
            *extra = std::path::absolute(data_dir.join(&*extra))
                .with_context(|| format!("resolving the admin result directory {}", extra.display()))?;
        }
        Ok(PlcConfig {
            plc: self.plc.clone(),
            flavour: self.flavour.clone(),
            api: self.api.clone(),
            medium,
            mail: self.mail.clone(),
        })
    }
}

/// A TOML basic string.
fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The commented settings file `init` writes.
pub fn template(plc_name: &str, database_url: Option<&str>) -> String {
    let d = FileConfig::default();
    format!(
        r#"# bootmedium settings. Every key is optional; the values shown are the defaults
# except `plc.name`, which `init` set.

[plc]
# PLC_NAME: shown in events, media names and the boot CD banner.
name = {name}
# PLC_SLICE_PREFIX: login_base of the system site.
slice_prefix = {prefix}
# PLC_HRN_ROOT: prefix of the `hrn` tags given to new nodes.
hrn_root = {hrn}
# PLC_WWW_HOST and PLC_WWW_SSL_PORT: the web site mails to site staff point at.
www_host = {www_host}
www_ssl_port = {www_ssl_port}

[flavour]
# The default node family <pldistro>-<fcdistro>-<arch> (PLC_FLAVOUR_NODE_*).
pldistro = {pldistro}
fcdistro = {fcdistro}
arch = {arch}
# PLC_FLAVOUR_VIRT_MAP, read by GetNodeFlavour.
virt_map = {virt_map}

[api]
# The maintenance account (PLC_API_MAINTENANCE_*); empty user disables it.
maintenance_user = ""
maintenance_password = ""
maintenance_sources = []
# PLC_API_DEBUG: record every call as an event, failed ones included.
debug = false
# Lifetime of person sessions made by GetSession without an explicit expiry.
session_lifetime_seconds = {lifetime}
# The longest person session GetSession or AddSession makes; longer requests are cut to it
# (14 days: what the web UI asks for at login).
max_session_lifetime_seconds = {max_lifetime}
# A node session ends when unused this long; every use pushes it out again, so a running node
# (its NodeManager and RunlevelAgent call every few minutes) keeps it, and a node that was off
# longer authenticates again with its key at boot. A new node key ends it at once.
node_session_lifetime_seconds = {node_lifetime}
# The most calls one system.multicall may carry (more: fault 102, none run).
max_multicall_calls = {max_multicall}
# Password checks (argon2, MD5-crypt) running at once, on blocking threads.
password_check_concurrency = {password_checks}
# Failed password logins are counted per account and per client address (IPv6: per /64) over
# windows of this many seconds; past a limit, password logins are refused (fault 103, nothing
# checked) until the window ends. A limit of 0 disables it.
failed_login_window_seconds = {login_window}
failed_logins_per_account = {per_account}
failed_logins_per_address = {per_address}

[medium]
# `%d` of GetBootMedium filenames: where file results go (relative to this directory).
results_dir = "results"
# How long a download link from POST /api/v1/media works, in seconds.
download_lifetime_seconds = 3600
# File results stay inside results_dir, admins' too; directories listed here (absolute, or
# relative to this directory) are open to admins as well.
admin_result_dirs = []
# Per caller (person or node): bytes and number of its file results that may exist at a time
# (0 = no limit). A file counts from when the caller writes it until it is removed.
result_quota_bytes = {quota_bytes}
result_quota_files = {quota_files}
# A file result that would leave less than this many bytes free on its file system (usually the
# database's too) is refused before it is written (0 = no floor).
result_min_free_bytes = {min_free}

# Which GetBootMedium actions each node type offers.
[medium.node_types.regular]
actions = ["node-preview", "node-floppy", "node-iso", "node-usb", "generic-iso", "generic-usb"]
[medium.node_types.reservable]
actions = ["node-preview", "node-iso", "node-usb"]
[medium.node_types.dummynet]
actions = ["node-preview", "dummynet-iso", "dummynet-usb"]

[server]
# Address `serve` listens on for plain HTTP when --listen is not given; "" (or --listen none)
# for none, e.g. to serve HTTPS only.
listen = {listen}
# Address for HTTPS (TLS 1.2 and 1.3) when --tls-listen is not given, e.g. "0.0.0.0:443";
# "" for none. It needs both files below: the certificate chain (PEM, the server's certificate
# first, then intermediates) and its private key (PEM: PKCS#8, RSA or EC, unencrypted);
# relative paths are taken in this directory. serve refuses to start when they are missing,
# unreadable or do not belong together. They are read again on SIGHUP, and when a new
# connection finds either file changed (looked at every few seconds at most); new files that
# cannot be used are logged and the certificate in use stays.
tls_listen = ""
tls_certificate = ""
tls_key = ""
# Largest accepted XML-RPC request body, in bytes. The rest of a longer body is read and
# discarded (up to 64 MiB) so that the client gets the fault.
max_body_bytes = {max_body}
# A new connection must send its first request's headers within this time, an idle keep-alive
# connection its next request's; otherwise it is closed.
header_timeout_seconds = {header_timeout}
keepalive_timeout_seconds = {keepalive_timeout}
# A request body must arrive within body_timeout_seconds plus one second per
# body_min_rate_bytes received (0: no allowance for long bodies).
body_timeout_seconds = {body_timeout}
body_min_rate_bytes = {body_min_rate}
# A client that accepts no response bytes for this long (a stalled download) is dropped.
send_timeout_seconds = {send_timeout}
# Open connections at most, and from one IP address (IPv6: one /64) at most. At the global cap
# the connection idle longest is closed to make room; a client over its address's cap gets 503.
# serve raises its open-file limit to the hard limit and uses fewer connections when two
# descriptors each (socket and image) and about 100 more do not fit under it.
max_connections = {max_connections}
max_connections_per_ip = {max_per_ip}
# On SIGTERM/SIGINT: how long requests in flight may still take.
shutdown_grace_seconds = {shutdown_grace}
# Cramfs-type download media are built once per link and kept (unlinked temporary files) while
# the link lives: at most this many, holding at most this many bytes.
download_cache_media = {cache_media}
download_cache_bytes = {cache_bytes}
# Threads for file reads and image builds.
blocking_threads = {blocking_threads}
# Behind a reverse proxy: the proxies' addresses or CIDR blocks (e.g. ["127.0.0.1", "::1",
# "10.0.0.0/8"]). Only for requests from these is the client address taken from
# client_address_header (its right-most address that is not itself a trusted proxy); it is what
# the /boot/ pages find nodes by, what failed logins are counted per, and what the log shows.
trusted_proxies = []
client_address_header = {client_header}

[database]
# postgres://user@host/db to share one registry between instances; empty = SQLite in this directory.
url = {database}

[boot]
# What every boot medium tells its node (bootcd build.sh's overlay). Paths are relative to this
# directory.
# PLC_BOOT_HOST and PLC_BOOT_SSL_PORT: the boot server the node contacts, and its path.
host = {boot_host}
port = {boot_port}
path = {boot_path}
# PLC_BOOT_CA_SSL_CRT: the boot server's CA certificate (PEM).
ca_certificate = {boot_ca}
# PLC_ROOT_GPG_KEY_PUB: the GPG public keyring that signs the boot manager.
gpg_public_keyring = {boot_gpg}
# Shown in the boot CD's /etc/issue.
www_url = {boot_www}
support_address = {boot_support}
# crypt(3) hash of the boot CD's root password (e.g. from `openssl passwd -5`); "*" locks root.
root_password_hash = {boot_hash}
"#,
        database = quoted(database_url.unwrap_or("")),
        name = quoted(plc_name),
        prefix = quoted(&d.plc.slice_prefix),
        hrn = quoted(&d.plc.hrn_root),
        www_host = quoted(&d.plc.www_host),
        www_ssl_port = d.plc.www_ssl_port,
        pldistro = quoted(&d.flavour.pldistro),
        fcdistro = quoted(&d.flavour.fcdistro),
        arch = quoted(&d.flavour.arch),
        virt_map = quoted(&d.flavour.virt_map),
        lifetime = d.api.session_lifetime_seconds,
        max_lifetime = d.api.max_session_lifetime_seconds,
        node_lifetime = d.api.node_session_lifetime_seconds,
        quota_bytes = d.medium.result_quota_bytes,
        quota_files = d.medium.result_quota_files,
        min_free = d.medium.result_min_free_bytes,
        max_multicall = d.api.max_multicall_calls,
        password_checks = d.api.password_check_concurrency,
        login_window = d.api.failed_login_window_seconds,
        per_account = d.api.failed_logins_per_account,
        per_address = d.api.failed_logins_per_address,
        listen = quoted(&d.server.listen),
        max_body = d.server.max_body_bytes,
        header_timeout = d.server.header_timeout_seconds,
        keepalive_timeout = d.server.keepalive_timeout_seconds,
        body_timeout = d.server.body_timeout_seconds,
        body_min_rate = d.server.body_min_rate_bytes,
        send_timeout = d.server.send_timeout_seconds,
        max_connections = d.server.max_connections,
        max_per_ip = d.server.max_connections_per_ip,
        shutdown_grace = d.server.shutdown_grace_seconds,
        cache_media = d.server.download_cache_media,
        cache_bytes = d.server.download_cache_bytes,
        blocking_threads = d.server.blocking_threads,
        client_header = quoted(&d.server.client_address_header),
        boot_host = quoted(&d.boot.host),
        boot_port = d.boot.port,
        boot_path = quoted(&d.boot.path),
        boot_ca = quoted(&d.boot.ca_certificate.display().to_string()),
        boot_gpg = quoted(&d.boot.gpg_public_keyring.display().to_string()),
        boot_www = quoted(&d.boot.www_url),
        boot_support = quoted(&d.boot.support_address),
        boot_hash = quoted(&d.boot.root_password_hash),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_parses_back_with_the_name() {
        let t = template("Test \"Lab\" \\ 1", Some("postgres://u@h/db"));
        let c: FileConfig = toml::from_str(&t).unwrap();
        assert_eq!(c.plc.name, "Test \"Lab\" \\ 1");
        assert_eq!(c.server.max_body_bytes, 16 * 1024 * 1024);
        let written = format!("{:?}", c.server.settings().unwrap());
        assert_eq!(written, format!("{:?}", ServerSettings::default()), "the template writes the defaults");
        assert_eq!(c.boot, bootmedium_media::BootConfig::default());
        assert_eq!(c.database.url, "postgres://u@h/db");
    }

    #[test]
    fn tls_files_are_taken_in_the_data_dir_and_listeners_may_be_off() {
        let c: FileConfig =
            toml::from_str("[server]\ntls_certificate = \"tls/a.crt\"\ntls_key = \"/etc/k.pem\"\n").unwrap();
        let files = c.server.tls_files(Path::new("/data"), "0.0.0.0:443").unwrap();
        assert_eq!(files, (PathBuf::from("/data/tls/a.crt"), PathBuf::from("/etc/k.pem")));
        let e = FileConfig::default().server.tls_files(Path::new("/data"), "0.0.0.0:443").unwrap_err().to_string();
        assert!(e.contains("tls_certificate is not set"), "{e}");
        assert_eq!((address(""), address(" none "), address("NONE")), (None, None, None));
        assert_eq!(address("127.0.0.1:0"), Some("127.0.0.1:0"));
    }

    #[test]
    fn trusted_proxies_and_the_header_are_checked() {
        let c: FileConfig = toml::from_str(
            "[server]\ntrusted_proxies = [\"127.0.0.1\", \"::1\", \"10.0.0.0/8\"]\nclient_address_header = \"X-Real-IP\"\n",
        )
        .unwrap();
        let s = c.server.settings().unwrap();
        assert_eq!(s.trusted_proxies.len(), 3);
        assert_eq!(s.client_address_header, "X-Real-IP");
        for (key, value, needle) in [
            ("trusted_proxies", "[\"10.0.0.0/33\"]", "trusted_proxies"),
            ("trusted_proxies", "[\"proxy.example.org\"]", "trusted_proxies"),
            ("client_address_header", "\"X Forwarded\"", "client_address_header"),
            ("client_address_header", "\"\"", "client_address_header"),
        ] {
            let c: FileConfig = toml::from_str(&format!("[server]\n{key} = {value}\n")).unwrap();
            let e = c.server.settings().unwrap_err().to_string();
            assert!(e.contains(needle), "{key} = {value}: {e}");
        }
    }

    #[test]
    fn session_lifetimes_must_be_positive() {
        let dir = Path::new("/data");
        assert!(FileConfig::default().plc(dir).is_ok());
        for key in ["session_lifetime_seconds", "max_session_lifetime_seconds", "node_session_lifetime_seconds"] {
            let c: FileConfig = toml::from_str(&format!("[api]\n{key} = 0\n")).unwrap();
            let e = c.plc(dir).unwrap_err().to_string();
            assert!(e.contains(key), "{e}");
        }
    }
}
