//! HTTPS: the server's certificate and key (PEM files), and their reload without a restart.
//!
//! TLS 1.2 and 1.3 (RFC 5246, RFC 8446) by rustls with the `ring` provider; ALPN offers only
//! `http/1.1` (RFC 7301), the one protocol the connections speak. One [`ServerConfig`] serves
//! every connection; its certificate resolver hands out whichever certificate is current, so a
//! reload reaches every connection accepted after it, and connections already open keep theirs.
//!
//! A reload happens on [`Certificates::reload`] (`serve` calls it on SIGHUP) and when a new
//! connection finds that the certificate or key file changed (device, inode, size, mtime; looked
//! at no more than every [`CHECK_INTERVAL`], by the first connection after it, so an idle server
//! does nothing). A reload that fails — a file missing, half-written, not PEM, or a key that does
//! not belong to the certificate — keeps the certificate in use and logs why, once per change of
//! the files. Loading at start fails the same way, with an error naming the file.

use rustls::ServerConfig;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio_rustls::TlsAcceptor;

/// How often a new connection may look at the files' metadata for a change.
pub const CHECK_INTERVAL: Duration = Duration::from_secs(2);

/// Why a certificate or key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the TLS certificate {}: {source}", path.display())]
    ReadCertificate { path: PathBuf, source: std::io::Error },
    #[error("cannot read the TLS key {}: {source}", path.display())]
    ReadKey { path: PathBuf, source: std::io::Error },
    #[error("the TLS certificate {} holds no PEM certificate (-----BEGIN CERTIFICATE-----){}", path.display(), detail(.why))]
    NoCertificate { path: PathBuf, why: Option<String> },
    #[error(
        "the TLS key {} holds no usable PEM private key (PKCS#8, RSA or EC, not encrypted){}",
        path.display(),
        detail(.why)
    )]
    NoKey { path: PathBuf, why: Option<String> },
    #[error("the TLS key {} does not belong to the certificate {}", key.display(), certificate.display())]
    Mismatch { certificate: PathBuf, key: PathBuf },
    #[error("the TLS certificate {} cannot be checked against the key {}: {why}", certificate.display(), key.display())]
    Unusable { certificate: PathBuf, key: PathBuf, why: String },
}

fn detail(why: &Option<String>) -> String {
    why.as_ref().map(|w| format!(": {w}")).unwrap_or_default()
}

/// The server's certificate and key, reloaded when they change.
pub struct Certificates {
    certificate_path: PathBuf,
    key_path: PathBuf,
    config: Arc<ServerConfig>,
    current: Arc<Current>,
    watch: Mutex<Watch>,
}

impl std::fmt::Debug for Certificates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificates")
            .field("certificate", &self.certificate_path)
            .field("key", &self.key_path)
            .finish_non_exhaustive()
    }
}

/// What the resolver hands out.
#[derive(Debug)]
struct Current(RwLock<Arc<CertifiedKey>>);

impl Current {
    fn get(&self) -> Arc<CertifiedKey> {
        Arc::clone(&self.0.read().unwrap_or_else(|e| e.into_inner()))
    }

    fn set(&self, key: Arc<CertifiedKey>) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = key;
    }
}

impl ResolvesServerCert for Current {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.get())
    }
}

/// When the files were last looked at, and what they were then.
struct Watch {
    checked: Instant,
    seen: Stamp,
}

/// A file's identity and version as `stat` tells them: device, inode, size, mtime (s, ns).
type FileStamp = (u64, u64, u64, i64, i64);

/// The certificate's and the key's [`FileStamp`] (`None`: not there).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp([Option<FileStamp>; 2]);

impl Stamp {
    fn of(certificate: &Path, key: &Path) -> Stamp {
        let one = |p: &Path| std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino(), m.size(), m.mtime(), m.mtime_nsec()));
        Stamp([one(certificate), one(key)])
    }
}

impl Certificates {
    /// Loads the certificate chain (leaf first) and its key; fails naming the file at fault.
    pub fn load(certificate: &Path, key: &Path) -> Result<Certificates, TlsError> {
        let seen = Stamp::of(certificate, key);
        let loaded = load_pair(certificate, key)?;
        let current = Arc::new(Current(RwLock::new(loaded)));
        let resolver: Arc<dyn ResolvesServerCert> = Arc::clone(&current) as Arc<dyn ResolvesServerCert>;
        let mut config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| unusable(certificate, key, e))?
            .with_no_client_auth()
            .with_cert_resolver(resolver);
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Certificates {
            certificate_path: certificate.to_path_buf(),
            key_path: key.to_path_buf(),
            config: Arc::new(config),
            current,
            watch: Mutex::new(Watch { checked: Instant::now(), seen }),
        })
    }

    /// The certificate file.
    pub fn certificate_path(&self) -> &Path {
        &self.certificate_path
    }

    /// Reads the files again now (SIGHUP); on failure the certificate in use stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let mut watch = self.watch.lock().unwrap_or_else(|e| e.into_inner());
        self.reload_locked(&mut watch)
    }

    fn reload_locked(&self, watch: &mut Watch) -> Result<(), TlsError> {
        watch.checked = Instant::now();
        watch.seen = Stamp::of(&self.certificate_path, &self.key_path);
        let loaded = load_pair(&self.certificate_path, &self.key_path)?;
        self.current.set(loaded);
        tracing::info!(certificate = %self.certificate_path.display(), key = %self.key_path.display(), "TLS certificate loaded");
        Ok(())
    }

    /// Reloads when the files changed since they were last looked at, looking at most every
    /// [`CHECK_INTERVAL`]; a connection that finds another one checking does not wait.
    fn check(&self) {
        let Ok(mut watch) = self.watch.try_lock() else { return };
        if watch.checked.elapsed() < CHECK_INTERVAL {
            return;
        }
        watch.checked = Instant::now();
        if Stamp::of(&self.certificate_path, &self.key_path) == watch.seen {
            return;
        }
        if let Err(e) = self.reload_locked(&mut watch) {
            tracing::warn!(error = %e, "the TLS files changed but cannot be used; still serving the previous certificate");
        }
    }

    /// What a new connection's handshake uses: the current certificate, after a look at the
    /// files when one is due.
    pub(crate) fn acceptor(&self) -> TlsAcceptor {
        self.check();
        TlsAcceptor::from(Arc::clone(&self.config))
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn unusable(certificate: &Path, key: &Path, why: impl std::fmt::Display) -> TlsError {
    TlsError::Unusable { certificate: certificate.to_path_buf(), key: key.to_path_buf(), why: why.to_string() }
}

/// Reads and checks a certificate chain and its key.
fn load_pair(certificate: &Path, key: &Path) -> Result<Arc<CertifiedKey>, TlsError> {
    let cert_pem = std::fs::read(certificate)
        .map_err(|source| TlsError::ReadCertificate { path: certificate.to_path_buf(), source })?;
    let key_pem = std::fs::read(key).map_err(|source| TlsError::ReadKey { path: key.to_path_buf(), source })?;
    let no_cert = |why: Option<String>| TlsError::NoCertificate { path: certificate.to_path_buf(), why };
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| no_cert(Some(e.to_string())))?;
    if chain.is_empty() {
        return Err(no_cert(None));
    }
    let no_key = |why: Option<String>| TlsError::NoKey { path: key.to_path_buf(), why };
    let der = match PrivateKeyDer::from_pem_slice(&key_pem) {
        Ok(der) => der,
        Err(rustls_pki_types::pem::Error::NoItemsFound) => return Err(no_key(None)),
        Err(e) => return Err(no_key(Some(e.to_string()))),
    };
    let signing = provider().key_provider.load_private_key(der).map_err(|e| no_key(Some(e.to_string())))?;
    let pair = CertifiedKey::new(chain, signing);
    match pair.keys_match() {
        Ok(()) => Ok(Arc::new(pair)),
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            Err(TlsError::Mismatch { certificate: certificate.to_path_buf(), key: key.to_path_buf() })
        }
        Err(e) => Err(unusable(certificate, key, e)),
    }
}
