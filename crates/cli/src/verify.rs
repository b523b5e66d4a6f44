//! `bootmedium verify IMAGE --server URL`: is this boot medium still good? Reads `NODE_ID` and
//! `NODE_KEY` from the image's plnode.txt, checksums the image, and calls
//! `VerifyIssuedMedium(auth, sha256)` with hmac node authentication (docs/plc-api.md §2.5): the server
//! learns which of the node's keys signed the call, never the key itself. It answers `current`,
//! `superseded` (a later medium replaced the key) or `unknown`.
//!
//! The client is a few lines of HTTP/1.1 over a TCP stream, for `https://` inside TLS (rustls,
//! TLS 1.2 and 1.3): the server's certificate must verify against `--ca FILE` alone when given,
//! else against the system's CA certificates (rustls-native-certs: `/etc/ssl/certs` on Debian,
//! or `SSL_CERT_FILE` / `SSL_CERT_DIR`). Connecting, the handshake and every read and write are
//! bounded in time; a certificate that does not verify ends the command with that error.

use anyhow::{Context, Result, bail};
use bootmedium_plc::crypto::{hmac_message, hmac_sha1_hex};
use bootmedium_xmlrpc::{Limits, MethodResponse, Value, parse_method_response, write_method_call};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Exit status per answer, so scripts can branch without parsing.
pub const EXIT_SUPERSEDED: u8 = 2;
pub const EXIT_UNKNOWN: u8 = 3;

/// Largest response accepted from the server.
const MAX_RESPONSE: u64 = 1024 * 1024;

/// How long connecting, and then each read or write, may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs the check and prints the answer; returns the process exit status. `ca`: the only CA an
/// `https://` server's certificate may come from.
pub fn verify(image: &Path, server: &str, ca: Option<&Path>, json: bool) -> Result<u8> {
    // A bad URL or CA file is reported before the image is read and hashed.
    let target = Target::parse(server, ca)?;
    let tls = match target.secure {
        true => Some(client_config(ca)?),
        false => None,
    };
    let inspection = bootmedium_media::inspect(image, true).with_context(|| format!("reading {}", image.display()))?;
    let config = inspection.node_config.with_context(|| {
        format!("{} carries no node configuration (a generic medium has no key to verify)", image.display())
    })?;
    let (node_id, key) = node_credentials(&config)?;
    let file = std::fs::File::open(image).with_context(|| format!("opening {}", image.display()))?;
    let sha256 = bootmedium_media::sha256_hex(file).with_context(|| format!("checksumming {}", image.display()))?;
    let args = [Value::String(sha256.clone())];
    let mut auth = BTreeMap::new();
    auth.insert("AuthMethod".to_string(), Value::from("hmac"));
    auth.insert("node_id".to_string(), Value::Int(node_id));
    auth.insert("value".to_string(), Value::String(hmac_sha1_hex(&key, &hmac_message(&args))));
    let call = write_method_call("VerifyIssuedMedium", &[Value::Struct(auth), args[0].clone()]);
    let answer = match post_xmlrpc(&target, tls.as_ref(), &call)? {
        MethodResponse::Success(v) => v,
        MethodResponse::Fault { code, message } => bail!("the server refused the check: {message} (fault {code})"),
    };
    let status = answer.get("status").and_then(Value::as_str).context("the server's answer has no status")?;
    let exit = match status {
        "current" => 0,
        "superseded" => EXIT_SUPERSEDED,
        "unknown" => EXIT_UNKNOWN,
        other => bail!("the server answered an unexpected status {other:?}"),
    };
    if json {
        println!("{}", to_json(&answer, &sha256));
    } else {
        println!("{}", describe(&answer, status, node_id));
    }
    Ok(exit)
}

/// `NODE_ID` and `NODE_KEY` of a plnode.txt (`NAME="value"` lines, as BootManager reads them).
fn node_credentials(config: &str) -> Result<(i64, String)> {
    let value = |name: &str| {
        config.lines().find_map(|line| {
            let (n, v) = line.split_once('=')?;
            (n.trim() == name).then(|| v.trim().trim_matches(|c| c == '"' || c == '\'').to_string())
        })
    };
    let node_id = value("NODE_ID")
        .context("the image's plnode.txt has no NODE_ID")?
        .parse::<i64>()
        .context("the image's NODE_ID is not a number")?;
    let key = value("NODE_KEY").filter(|k| !k.is_empty()).context("the image's plnode.txt has no NODE_KEY")?;
    Ok((node_id, key))
}

fn describe(answer: &Value, status: &str, node_id: i64) -> String {
    let int = |k: &str| answer.get(k).and_then(Value::as_int);
    let host = answer.get("hostname").and_then(Value::as_str).unwrap_or("?");
    let medium = int("issued_medium_id").map(|id| format!(", issued medium {id}")).unwrap_or_default();
    let matches = match answer.get("image_matches") {
        Some(Value::Bool(true)) => "; the image is byte for byte the medium issued",
        Some(Value::Bool(false)) => "; the image differs from the medium issued (rebuilt or modified)",
        _ => "",
    };
    match status {
        "current" => format!("current: node {node_id} ({host}){medium} carries the node's current key{matches}"),
        "superseded" => {
            let by = int("superseded_by").map(|id| format!(" by medium {id}")).unwrap_or_default();
            format!("superseded: node {node_id} ({host}){medium} was replaced{by}; this key no longer authenticates")
        }
        _ => format!("unknown: the server issued no medium with this key for node {node_id}"),
    }
}

fn to_json(answer: &Value, sha256: &str) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    if let Some(fields) = answer.as_struct() {
        for (k, v) in fields {
            let j = match v {
                Value::Int(i) => serde_json::Value::from(*i),
                Value::Bool(b) => serde_json::Value::from(*b),
                Value::String(s) => serde_json::Value::from(s.as_str()),
                _ => serde_json::Value::Null,
            };
            out.insert(k.clone(), j);
        }
    }
    out.insert("sha256".to_string(), serde_json::Value::from(sha256));
    serde_json::Value::Object(out)
}

/// Where the call goes: `http://host[:port]/path` or `https://…` with its TLS settings.
struct Target {
    url: String,
    authority: String,
    host: String,
    address: String,
    path: String,
    /// `https://`.
    secure: bool,
}

impl Target {
    fn parse(url: &str, ca: Option<&Path>) -> Result<Target> {
        let (secure, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else {
            bail!("--server must be an http:// or https:// URL (e.g. https://plc.example.org/PLCAPI/), got {url:?}");
        };
        if ca.is_some() && !secure {
            bail!("--ca is for https:// servers; {url:?} is plain HTTP");
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/PLCAPI/"),
        };
        // `host`, `host:port`, `[v6]` or `[v6]:port`.
        let (host, port) = match authority.strip_prefix('[') {
            Some(v6) => {
                let (host, after) = v6.split_once(']').with_context(|| format!("no `]` in {authority:?}"))?;
                (host, after.strip_prefix(':'))
            }
            None => match authority.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            },
        };
        anyhow::ensure!(!host.is_empty(), "no host in {url:?}");
        let port = port.unwrap_or(if secure { "443" } else { "80" });
        let address = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
        Ok(Target {
            url: url.to_string(),
            authority: authority.to_string(),
            host: host.to_string(),
            address,
            path: path.to_string(),
            secure,
        })
    }
}

/// TLS client settings trusting `ca` alone, or the system's CA certificates; and which.
fn client_config(ca: Option<&Path>) -> Result<(Arc<rustls::ClientConfig>, String)> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    let trusted = match ca {
        Some(path) => {
            let pem = std::fs::read(path).with_context(|| format!("reading the CA file {}", path.display()))?;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.with_context(|| format!("reading the CA file {}", path.display()))?;
                roots
                    .add(cert)
                    .with_context(|| format!("a certificate in the CA file {} is unusable", path.display()))?;
            }
            anyhow::ensure!(!roots.is_empty(), "the CA file {} holds no PEM certificate", path.display());
            format!("the CA in {}", path.display())
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for e in &found.errors {
                tracing::debug!(error = %e, "a system CA certificate could not be read");
            }
            let (added, _ignored) = roots.add_parsable_certificates(found.certs);
            anyhow::ensure!(added > 0, "no system CA certificates found (install ca-certificates, or pass --ca FILE)");
            "the system's CA certificates".to_string()
        }
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .context("setting up TLS")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok((Arc::new(config), trusted))
}

/// POSTs an XML-RPC call to `target` (over TLS with `tls`: its settings and what they trust)
/// and parses the answer.
fn post_xmlrpc(
    target: &Target,
    tls: Option<&(Arc<rustls::ClientConfig>, String)>,
    body: &str,
) -> Result<MethodResponse> {
    let Target { url, authority, address, path, .. } = target;
    let socket = address
        .to_socket_addrs()
        .with_context(|| format!("resolving {address}"))?
        .next()
        .with_context(|| format!("{address} resolves to no address"))?;
    let mut stream =
        TcpStream::connect_timeout(&socket, CONNECT_TIMEOUT).with_context(|| format!("connecting to {address}"))?;
    stream.set_read_timeout(Some(IO_TIMEOUT)).context("setting a read timeout")?;
    stream.set_write_timeout(Some(IO_TIMEOUT)).context("setting a write timeout")?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\nUser-Agent: bootmedium-verify\r\n\r\n{body}",
        body.len()
    );
    let response = match tls {
        None => exchange(&mut stream, request.as_bytes()).with_context(|| format!("talking to {url}"))?,
        Some((config, trusted)) => {
            let name = rustls_pki_types::ServerName::try_from(target.host.clone())
                .with_context(|| format!("{:?} is not a host name or IP address", target.host))?;
            let connection =
                rustls::ClientConnection::new(Arc::clone(config), name).context("starting the TLS connection")?;
            let mut tls = rustls::StreamOwned::new(connection, stream);
            exchange(&mut tls, request.as_bytes()).map_err(|e| tls_error(e, url, trusted))?
        }
    };
    let body = http_body(&response).with_context(|| format!("the answer from {url}"))?;
    parse_method_response(&body, &Limits::default()).with_context(|| format!("parsing the XML-RPC answer from {url}"))
}

/// Sends `request` and reads the response until the server closes the connection.
fn exchange(stream: &mut (impl Read + Write), request: &[u8]) -> std::io::Result<Vec<u8>> {
    stream.write_all(request)?;
    stream.flush()?;
    let mut response = Vec::new();
    match stream.take(MAX_RESPONSE).read_to_end(&mut response) {
        Ok(_) => Ok(response),
        // A TLS peer that closes without close_notify: the response's own framing (checked by
        // `http_body`) tells whether it is complete.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !response.is_empty() => Ok(response),
        Err(e) => Err(e),
    }
}

/// A failed TLS exchange, saying so plainly when the server's certificate did not verify.
fn tls_error(e: std::io::Error, url: &str, trusted: &str) -> anyhow::Error {
    let rustls_error = e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match rustls_error {
        Some(rustls::Error::InvalidCertificate(why)) => {
            anyhow::anyhow!("the certificate of {url} does not verify against {trusted}: {why:?}")
        }
        Some(other) => anyhow::anyhow!("TLS with {url} failed: {other}"),
        None => anyhow::Error::new(e).context(format!("talking to {url} over TLS")),
    }
}

/// The body of a complete HTTP/1.1 response with status 200 (identity or chunked).
fn http_body(response: &[u8]) -> Result<Vec<u8>> {
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").context("no end of headers")?;
    let head = String::from_utf8_lossy(&response[..split]);
    let body = &response[split + 4..];
    let status = head.lines().next().unwrap_or_default();
    if status.split_whitespace().nth(1) != Some("200") {
        bail!("HTTP status {status:?}");
    }
    let chunked = head.lines().any(|l| {
        l.split_once(':').is_some_and(|(n, v)| {
            n.trim().eq_ignore_ascii_case("transfer-encoding") && v.trim().eq_ignore_ascii_case("chunked")
        })
    });
    if !chunked {
        let length = head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case("content-length").then(|| v.trim().parse::<usize>().ok()).flatten()
        });
        return match length {
            Some(n) => body.get(..n).map(<[u8]>::to_vec).context("the answer is shorter than its Content-Length"),
            None => Ok(body.to_vec()),
        };
    }
    let mut out = Vec::new();
    let mut rest = body;
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n").context("truncated chunk header")?;
        let size_text = String::from_utf8_lossy(&rest[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .with_context(|| format!("bad chunk size {size_text:?}"))?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        let chunk = rest.get(..size).context("truncated chunk")?;
        out.extend_from_slice(chunk);
        rest = rest.get(size + 2..).context("truncated chunk")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_from_plnode() {
        let text = "IP_METHOD=\"dhcp\"\nNODE_ID=\"42\"\nNODE_KEY=\"abc+/=\"\nHOST_NAME=\"n1\"\n";
        assert_eq!(node_credentials(text).unwrap(), (42, "abc+/=".to_string()));
        assert!(node_credentials("NODE_ID=\"x\"\nNODE_KEY=\"k\"\n").is_err());
        assert!(node_credentials("NODE_ID=\"1\"\n").is_err());
        assert!(node_credentials("NODE_ID=\"1\"\nNODE_KEY=\"\"\n").is_err());
    }

    #[test]
    fn http_bodies() {
        assert_eq!(http_body(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi").unwrap(), b"hi");
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhe\r\n3;x=y\r\nllo\r\n0\r\n\r\n";
        assert_eq!(http_body(chunked).unwrap(), b"hello");
        assert!(http_body(b"HTTP/1.1 500 Oops\r\n\r\nno").is_err());
        assert!(http_body(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab").is_err());
        assert!(http_body(b"garbage").is_err());
        assert!(http_body(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhi").is_err(), "cut short");
    }

    #[test]
    fn server_urls() {
        let t = Target::parse("http://plc.example.org/PLCAPI/", None).unwrap();
        assert_eq!((t.address.as_str(), t.path.as_str(), !t.secure), ("plc.example.org:80", "/PLCAPI/", true));
        let t = Target::parse("https://plc.example.org", None).unwrap();
        assert_eq!((t.address.as_str(), t.path.as_str(), t.secure), ("plc.example.org:443", "/PLCAPI/", true));
        let t = Target::parse("https://[::1]:8443/PLCAPI/", None).unwrap();
        assert_eq!((t.address.as_str(), t.host.as_str()), ("[::1]:8443", "::1"));
        assert!(Target::parse("ftp://x/", None).is_err());
        assert!(Target::parse("http://x/", Some(Path::new("/ca.pem"))).is_err(), "--ca with http://");
        assert!(Target::parse("https:///PLCAPI/", None).is_err());
    }
}
