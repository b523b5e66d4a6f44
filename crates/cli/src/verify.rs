//! `bootmedium verify IMAGE --server URL`: is this boot medium still good? Reads `NODE_ID` and
//! `NODE_KEY` from the image's plnode.txt, checksums the image, and calls
//! `VerifyIssuedMedium(auth, sha256)` with hmac node authentication (PLC_SPEC §2.5): the server
//! learns which of the node's keys signed the call, never the key itself. It answers `current`,
//! `superseded` (a later medium replaced the key) or `unknown`.
//!
//! Plain `http://` only: the client is a few lines of HTTP/1.1 over a TCP stream (a TLS client
//! would be the project's largest dependency for one command); reach an HTTPS-only server
//! through its local address or a tunnel.

use anyhow::{Context, Result, bail};
use bootmedium_plc::crypto::{hmac_message, hmac_sha1_hex};
use bootmedium_xmlrpc::{Limits, MethodResponse, Value, parse_method_response, write_method_call};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

/// Exit status per answer, so scripts can branch without parsing.
pub const EXIT_SUPERSEDED: u8 = 2;
pub const EXIT_UNKNOWN: u8 = 3;

/// Largest response accepted from the server.
const MAX_RESPONSE: u64 = 1024 * 1024;

/// Runs the check and prints the answer; returns the process exit status.
pub fn verify(image: &Path, server: &str, json: bool) -> Result<u8> {
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
    let answer = match post_xmlrpc(server, &call)? {
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

/// POSTs an XML-RPC call to `url` (`http://host[:port]/path`) and parses the answer.
fn post_xmlrpc(url: &str, body: &str) -> Result<MethodResponse> {
    let Some(rest) = url.strip_prefix("http://") else {
        bail!("--server must be an http:// URL (e.g. http://plc.example.org/PLCAPI/), got {url:?}");
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/PLCAPI/"),
    };
    let address = if authority.contains(':') { authority.to_string() } else { format!("{authority}:80") };
    let mut stream = TcpStream::connect(&address).with_context(|| format!("connecting to {address}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(60))).context("setting a read timeout")?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\nUser-Agent: bootmedium-verify\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).with_context(|| format!("sending the call to {url}"))?;
    let mut response = Vec::new();
    stream.take(MAX_RESPONSE).read_to_end(&mut response).with_context(|| format!("reading the answer from {url}"))?;
    let body = http_body(&response).with_context(|| format!("the answer from {url}"))?;
    parse_method_response(&body, &Limits::default()).with_context(|| format!("parsing the XML-RPC answer from {url}"))
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
        return Ok(body.to_vec());
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
    }
}
