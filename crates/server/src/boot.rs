//! The boot server's plain pages (docs/plc-api.md §12.4, §7.2), which a BootCD asks before its
//! BootManager runs:
//! - `POST /boot/` (also `//boot/`, the spelling the medium's `boot_server_path` gives, and
//!   `/boot/index.php`): the node is found by the request's client address (`client`); a
//!   keyless node's `nonce` is stored; the answer is the node's BootManager payload
//!   (`application/octet-stream`), the first the store has of its hostname's, its
//!   deployment's and the regular one; none → an empty 200, as upstream (the node's gpg then
//!   fails and pl_boot retries in 30 s). An address no node has gets 404 with a fixed text
//!   (upstream: an empty 200): pl_boot retries on either, and the 404 shows on the node's
//!   console as what it is; it says nothing about any other node.
//! - `POST /boot/getnodeid.php`: the node id of the interface with the form's `mac_addr`, else
//!   of the client address; `-1` when none. No newline, status 200.
//!
//! Both read their fields as PHP's `$_REQUEST` does: the query string, then the body
//! (`multipart/form-data`, what pl_boot's curl sends, or `application/x-www-form-urlencoded`,
//! what the BootManager sends), later fields winning. The body is read up to [`MAX_FORM_BYTES`]
//! and parsed by the small bounded parser here; a body too large, unreadable or malformed counts
//! as no fields (PHP's `$_POST` is then empty too), so garbage never gets a 500 and changes
//! nothing. One log line per request: client address, node, payload, nonce stored.

use crate::AppState;
use crate::body::{PIECE, ReadError, file_body, read_body, stream_body};
use axum::body::Bytes;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bootmedium_plc::boot_server::NodeAtAddress;
use std::net::IpAddr;
use std::sync::Arc;

/// The largest form read (pl_boot's carries an `ifconfig` listing: a few KiB).
pub(crate) const MAX_FORM_BYTES: usize = 1024 * 1024;
/// Fields read at most (PHP's `max_input_vars`).
const MAX_FIELDS: usize = 1000;
/// Multipart parts read at most, and the largest header block of one.
const MAX_PARTS: usize = 64;
const MAX_PART_HEADER: usize = 8 * 1024;

/// The boot pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Page {
    Index,
    NodeId,
}

/// The page a path names, however many slashes surround its segments.
pub(crate) fn page_of(path: &str) -> Option<Page> {
    let mut segments = path.split('/').filter(|s| !s.is_empty());
    if segments.next() != Some("boot") {
        return None;
    }
    let page = match segments.next() {
        None | Some("index.php") => Page::Index,
        Some("getnodeid.php") => Page::NodeId,
        Some(_) => return None,
    };
    segments.next().is_none().then_some(page)
}

pub(crate) async fn serve(state: Arc<AppState>, page: Page, client: IpAddr, req: Request) -> Response {
    if !matches!(*req.method(), Method::GET | Method::HEAD | Method::POST) {
        return (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "GET, HEAD, POST")], "").into_response();
    }
    let (parts, body) = req.into_parts();
    let mut fields = parts.uri.query().map(urlencoded).unwrap_or_default();
    let limit = state.settings.max_body_bytes.min(MAX_FORM_BYTES);
    let mut close = false;
    match read_body(&parts.headers, body, limit).await {
        Ok(body) => fields.extend(body_fields(&parts.headers, &body)),
        Err(e) => {
            // The rest of the body may not have been read.
            close = true;
            let why = match e {
                ReadError::TooLarge => format!("larger than {limit} bytes"),
                ReadError::Unreadable(why) => why,
            };
            tracing::info!(%client, "boot page: form ignored: {why}");
        }
    }
    let field = |name: &str| fields.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let mut response = match page {
        Page::Index => index(&state, client, field("nonce")).await,
        Page::NodeId => node_id(&state, client, field("mac_addr")).await,
    };
    if close {
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

async fn index(state: &AppState, client: IpAddr, nonce: Option<&str>) -> Response {
    let answer = match state.api.boot_request(client, nonce).await {
        Ok(a) => a,
        Err(f) => {
            tracing::error!(%client, error = %f.message, "boot page failed");
            return unavailable();
        }
    };
    let node = match &answer.node {
        NodeAtAddress::Unknown => "unknown".to_owned(),
        NodeAtAddress::Node(n) => format!("node_id {} ({})", n.node_id, n.hostname),
        NodeAtAddress::Several(ids) => format!("several nodes {ids:?}"),
    };
    let payload = answer.payload.as_ref().map_or_else(|| "none".to_owned(), |(name, _, _)| name.file_name());
    tracing::info!(page = "boot", %client, node, payload, nonce_stored = answer.nonce_stored, "boot page");
    if answer.node == NodeAtAddress::Unknown {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "no node is registered at this address\n",
        )
            .into_response();
    }
    let Some((_, file, len)) = answer.payload else {
        return (StatusCode::OK, [(header::CONTENT_TYPE, "application/octet-stream")], "").into_response();
    };
    let mut r = Response::new(stream_body(file_body(file, 0, len, PIECE, Bytes::from)));
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    r.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    r
}

async fn node_id(state: &AppState, client: IpAddr, mac: Option<&str>) -> Response {
    let id = match state.api.node_id_for(mac, client).await {
        Ok(id) => id,
        Err(f) => {
            tracing::error!(%client, error = %f.message, "getnodeid page failed");
            return unavailable();
        }
    };
    let shown_mac = mac.map(|m| m.trim().chars().take(64).collect::<String>()).unwrap_or_default();
    tracing::info!(page = "getnodeid", %client, mac_addr = shown_mac, node_id = id.unwrap_or(-1), "boot page");
    let body = id.unwrap_or(-1).to_string();
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

/// The database failed: the node retries.
fn unavailable() -> Response {
    let mut r = (StatusCode::SERVICE_UNAVAILABLE, "the boot server cannot answer now; try again\n").into_response();
    r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
    r
}

/// The fields of a form body, by its Content-Type; anything else has none.
fn body_fields(headers: &HeaderMap, body: &[u8]) -> Vec<(String, String)> {
    let Some(ctype) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return Vec::new() };
    let mut params = ctype.split(';').map(str::trim);
    let mime = params.next().unwrap_or_default().to_ascii_lowercase();
    match mime.as_str() {
        "application/x-www-form-urlencoded" => std::str::from_utf8(body).map(urlencoded).unwrap_or_default(),
        "multipart/form-data" => {
            let boundary = params
                .filter_map(|p| p.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
                .map(|(_, v)| v.trim().trim_matches('"'));
            boundary.and_then(|b| multipart(body, b.as_bytes())).unwrap_or_default()
        }
        _ => Vec::new(),
    }
}

/// `a=1&b=%41+c`: `+` is a space, `%XX` a byte, a bad escape stays as it is (as PHP).
fn urlencoded(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .take(MAX_FIELDS)
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// The text fields of a `multipart/form-data` body (RFC 7578); `None` when it is not one.
/// Parts without a name are skipped; values are taken as UTF-8 (lossily).
fn multipart(body: &[u8], boundary: &[u8]) -> Option<Vec<(String, String)>> {
    if boundary.is_empty() || boundary.len() > 70 {
        return None;
    }
    let mut delimiter = b"--".to_vec();
    delimiter.extend_from_slice(boundary);
    // The first delimiter: at the start, or after the preamble's line end.
    let mut at = if body.starts_with(&delimiter) {
        delimiter.len()
    } else {
        let mut with_crlf = b"\r\n".to_vec();
        with_crlf.extend_from_slice(&delimiter);
        find(body, &with_crlf)? + with_crlf.len()
    };
    let mut next_delimiter = b"\r\n".to_vec();
    next_delimiter.extend_from_slice(&delimiter);
    let mut fields = Vec::new();
    for _ in 0..MAX_PARTS {
        let rest = &body[at..];
        if rest.starts_with(b"--") {
            return Some(fields);
        }
        // Transport padding, then the line end.
        let line_end = find(rest, b"\r\n")?;
        if !rest[..line_end].iter().all(|b| *b == b' ' || *b == b'\t') {
            return None;
        }
        let part_start = at + line_end + 2;
        let part = &body[part_start..];
        let content_end = find(part, &next_delimiter)?;
        let part = &part[..content_end];
        let (head, value) = match find(part, b"\r\n\r\n") {
            Some(h) if h <= MAX_PART_HEADER => (&part[..h], &part[h + 4..]),
            // No header at all: the part begins with its blank line.
            _ if part.starts_with(b"\r\n") => (&part[..0], &part[2..]),
            _ => return None,
        };
        if let Some(name) = part_name(head) {
            fields.push((name, String::from_utf8_lossy(value).into_owned()));
        }
        at = part_start + content_end + next_delimiter.len();
    }
    // More parts than read: the fields so far.
    Some(fields)
}

/// The `name` of a part's `Content-Disposition: form-data; name="…"`.
fn part_name(head: &[u8]) -> Option<String> {
    let head = std::str::from_utf8(head).ok()?;
    let disposition = head.split("\r\n").find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.trim().eq_ignore_ascii_case("content-disposition").then_some(v)
    })?;
    let mut params = disposition.split(';').map(str::trim);
    if !params.next()?.eq_ignore_ascii_case("form-data") {
        return None;
    }
    params.filter_map(|p| p.split_once('=')).find(|(k, _)| k.trim().eq_ignore_ascii_case("name")).map(|(_, v)| {
        let v = v.trim();
        v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(v).to_owned()
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages() {
        for (path, page) in [
            ("/boot/", Some(Page::Index)),
            ("//boot/", Some(Page::Index)),
            ("/boot", Some(Page::Index)),
            ("/boot/index.php", Some(Page::Index)),
            ("//boot/getnodeid.php", Some(Page::NodeId)),
            ("/boot/getnodeid.php", Some(Page::NodeId)),
            ("/boot/other.php", None),
            ("/boot/getnodeid.php/x", None),
            ("/PLCAPI/", None),
            ("/", None),
        ] {
            assert_eq!(page_of(path), page, "{path}");
        }
    }

    #[test]
    fn urlencoded_forms() {
        assert_eq!(
            urlencoded("mac_addr=52%3A54%3A00%3AAB%3ACD%3AEF&x=a+b&bad=%zz%4&empty&=v"),
            vec![
                ("mac_addr".into(), "52:54:00:AB:CD:EF".into()),
                ("x".into(), "a b".into()),
                ("bad".into(), "%zz%4".into()),
                ("empty".into(), "".into()),
                ("".into(), "v".into()),
            ]
        );
        assert_eq!(urlencoded("%"), vec![("%".into(), "".into())]);
        assert_eq!(urlencoded(&"a=1&".repeat(5000)).len(), MAX_FIELDS);
    }

    /// What curl -F sends (pl_boot).
    #[test]
    fn multipart_forms() {
        let body = b"--------------------------abc123\r\nContent-Disposition: form-data; name=\"version\"\r\n\r\nTest BootCD 5.0\r\n--------------------------abc123\r\nContent-Disposition: form-data; name=\"nonce\"\r\n\r\n0123abcd\n\r\n--------------------------abc123\r\nContent-Disposition: form-data; name=\"ifconfig\"; filename=\"x\"\r\nContent-Type: application/octet-stream\r\n\r\neth0: up\r\n\r\nlo\r\n--------------------------abc123--\r\n";
        let fields = multipart(body, b"------------------------abc123").unwrap();
        assert_eq!(
            fields,
            vec![
                ("version".into(), "Test BootCD 5.0".into()),
                ("nonce".into(), "0123abcd\n".into()),
                ("ifconfig".into(), "eth0: up\r\n\r\nlo".into()),
            ]
        );
        // With a preamble.
        let mut with_preamble = b"preamble\r\n".to_vec();
        with_preamble.extend_from_slice(body);
        assert_eq!(multipart(&with_preamble, b"------------------------abc123").unwrap().len(), 3);
    }

    #[test]
    fn garbage_forms_have_no_fields() {
        let b = b"xyz".as_slice();
        for (body, boundary) in [
            (b"".as_slice(), b),
            (b"--xyz", b),
            (b"--xyz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nunterminated", b),
            (b"--xyz junk\r\n\r\n\r\n--xyz--", b),
            (b"no delimiter at all", b),
            (b"--\r\n--", b"".as_slice()),
            (b"\xff\xfe--xyz\r\n\xff\r\n\r\n\xff\r\n--xyz--", b),
        ] {
            let fields = multipart(body, boundary).unwrap_or_default();
            assert!(fields.is_empty(), "{:?}: {fields:?}", String::from_utf8_lossy(body));
        }
        let too_long = vec![b'x'; 71];
        assert_eq!(multipart(b"--", &too_long), None);
        // Many parts: at most MAX_PARTS read.
        let mut many = Vec::new();
        for i in 0..200 {
            many.extend_from_slice(
                format!("--b\r\nContent-Disposition: form-data; name=\"f{i}\"\r\n\r\nv\r\n").as_bytes(),
            );
        }
        many.extend_from_slice(b"--b--");
        assert_eq!(multipart(&many, b"b").unwrap().len(), MAX_PARTS);
    }

    /// Mutations of a valid form (bytes flipped, cut, spliced; random bytes) never panic and
    /// never yield more than the bounded number of fields.
    #[test]
    fn mutated_forms_never_panic() {
        let valid = b"--xyz\r\nContent-Disposition: form-data; name=\"nonce\"\r\n\r\nabcd\r\n--xyz\r\nContent-Disposition: form-data; name=\"v\"\r\n\r\n%41+b\r\n--xyz--\r\n";
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let types = [
            "multipart/form-data; boundary=xyz",
            "multipart/form-data; boundary=\"xyz\"",
            "MULTIPART/FORM-DATA;BOUNDARY=xy",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=",
        ];
        for round in 0..20_000 {
            let mut body = valid.to_vec();
            for _ in 0..(next() % 8) {
                let at = (next() as usize) % (body.len() + 1);
                match next() % 4 {
                    0 if at < body.len() => body[at] = next() as u8,
                    1 => body.truncate(at),
                    2 => body.insert(at, [b'\r', b'\n', b'-', b'%', b'"', 0xff][(next() % 6) as usize]),
                    _ => {
                        let copy = body[at..].to_vec();
                        body.extend_from_slice(&copy);
                    }
                }
            }
            if round % 10 == 0 {
                body = (0..(next() % 300)).map(|_| next() as u8).collect();
            }
            let mut headers = HeaderMap::new();
            let ctype = types[(next() as usize) % types.len()];
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
            let fields = body_fields(&headers, &body);
            assert!(fields.len() <= MAX_FIELDS, "{} fields", fields.len());
        }
    }
}
