//! Downloads for browsers and scripts:
//! - `POST /api/v1/media` with JSON `{"node": id or hostname, "action": "node-iso", "options":
//!   […]}` and a session (`Authorization: Bearer <session>`, or the `bootmedium_session`
//!   cookie with `Content-Type: application/json`, which a cross-site form cannot send) runs GetBootMedium's checks, key renewal and ledger row in one transaction and
//!   answers `201 {id, url, sha256, size, expires, issued_medium_id}`;
//! - `GET|HEAD /media/{id}` serves that medium, made again from its reference and ledger row (no
//!   per-request copy on disk; a cramfs type's is built once per link and kept, see `cache`),
//!   with `ETag` = its sha256, `Content-Disposition`, and single ranges for resuming (RFC 9110
//!   §14). A HEAD answers from the ledger row without making the medium. Unknown and expired
//!   ids are 404. On a connection that sends the file bytes itself (`direct`), the handler
//!   answers with the head and a description of the body, which goes out by `sendfile`.
//!
//! The id is a 128-bit random capability, so a link works with any HTTP client (`curl -C -`,
//! `wget -c`, a browser) for as long as it lives (`[medium] download_lifetime_seconds`).
//! Faults of the issuing call keep their PLC code in the JSON error body.

use crate::AppState;
use crate::body::{PIECE, ReadError, file_body, read_body, stream_body};
use crate::conn::Secure;
use crate::direct::{Direct, FileBody};
use crate::plcapi::log_call;
use crate::range::{self, Wanted};
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bootmedium_plc::Fault;
use bootmedium_plc::{Credentials, DownloadInfo, NodeRef};
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

/// The cookie a web page may carry the session in.
const SESSION_COOKIE: &str = "bootmedium_session";

/// Largest accepted issue request.
const MAX_REQUEST: usize = 64 * 1024;

/// The body of `POST /api/v1/media`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IssueRequest {
    node: JsonNode,
    action: String,
    #[serde(default)]
    options: Vec<String>,
}

/// A node id or hostname, as GetBootMedium takes it.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum JsonNode {
    Id(i64),
    Hostname(String),
}

pub(crate) async fn issue(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let started = Instant::now();
    let client = state.client_ip(peer, req.headers());
    let session = session_of(req.headers());
    let json_body_sent = is_json(req.headers());
    let base = base_url(req.headers(), req.extensions().get::<Secure>().is_some());
    let (parts, body) = req.into_parts();
    let body = match read_body(&parts.headers, body, MAX_REQUEST).await {
        Ok(b) => b,
        Err(ReadError::TooLarge) => {
            return error(StatusCode::PAYLOAD_TOO_LARGE, 102, &format!("request body over {MAX_REQUEST} bytes"));
        }
        Err(ReadError::Unreadable(why)) => {
            return error(StatusCode::BAD_REQUEST, 102, &format!("request body unreadable: {why}"));
        }
    };
    let request: IssueRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, 102, &format!("expected {{node, action, options}}: {e}")),
    };
    let session = match session {
        None => return error(StatusCode::UNAUTHORIZED, 103, "no session: send `Authorization: Bearer <session>`"),
        Some(Session::Cookie(_)) if !json_body_sent => {
            let why = "a request authenticated by cookie must send Content-Type: application/json";
            return error(StatusCode::UNSUPPORTED_MEDIA_TYPE, 102, why);
        }
        Some(Session::Bearer(s) | Session::Cookie(s)) => s,
    };
    let node = match request.node {
        JsonNode::Id(id) => NodeRef::Id(id),
        JsonNode::Hostname(h) => NodeRef::Hostname(h),
    };
    let credentials = Credentials::Session(session);
    let outcome = state.api.issue_download(&credentials, &node, &request.action, &request.options, Some(client)).await;
    log_call(client, "api/v1/media", &outcome.caller, outcome.result.as_ref().err(), started);
    match outcome.result {
        Ok(link) => {
            let url = format!("{base}/media/{}", link.id);
            let json = serde_json::json!({
                "id": link.id,
                "url": url,
                "sha256": link.sha256,
                "size": link.size,
                "expires": link.expires,
                "issued_medium_id": link.issued_medium_id,
            });
            let mut r = (StatusCode::CREATED, json_body(&json)).into_response();
            if let Ok(location) = HeaderValue::from_str(&url) {
                r.headers_mut().insert(header::LOCATION, location);
            }
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            r
        }
        Err(f) => fault_error(&f),
    }
}

pub(crate) async fn serve(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    let started = Instant::now();
    let client = state.client_ip(peer, req.headers());
    let failed = |f: Fault| {
        log_call(client, "media", "", Some(&f), started);
        (StatusCode::INTERNAL_SERVER_ERROR, format!("{}\n", f.message)).into_response()
    };
    let not_found = || (StatusCode::NOT_FOUND, "no such download, or it has expired\n").into_response();
    // Never closed, so acquiring only waits.
    let Ok(opening) = state.opening.acquire().await else { return not_found() };
    let info = match state.api.find_download(&id).await {
        Ok(Some(d)) => d,
        Ok(None) => return not_found(),
        Err(f) => return failed(f),
    };
    let head = req.method() == Method::HEAD;
    let direct = req.extensions().get::<Direct>().is_some();
    let answer = match answer(&info, req.headers()) {
        Answer::Done(r) => return r,
        Answer::Bytes(a) => a,
    };
    // A HEAD, or an empty range, answers from the ledger row: no medium is made.
    if head || answer.count == 0 {
        return answer.response(&info, Body::empty());
    }
    let api = &state.api;
    let medium = if info.image_type.is_cramfs() {
        state.downloads.get_or_build(&id, info.expires, || api.prepare_download(&info)).await
    } else {
        api.prepare_download(&info).map(|m| m.map(Arc::new))
    };
    let medium = match medium {
        Ok(Some(m)) => m,
        Ok(None) => return not_found(),
        Err(f) => return failed(f),
    };
    drop(opening);
    // A connection that sends the file bytes itself (`direct`) gets their description; any
    // other gets them streamed.
    if direct {
        let mut r = answer.response(&info, Body::empty());
        r.extensions_mut().insert(FileBody { medium, start: answer.start, count: answer.count });
        return r;
    }
    let body = stream_body(file_body(medium.reader(), answer.start, answer.count, PIECE, Bytes::from));
    answer.response(&info, body)
}

/// What a GET or HEAD of a live download answers, honouring If-None-Match, Range and If-Range.
enum Answer {
    /// A bodiless answer (304, 416).
    Done(Response),
    /// Bytes of the image.
    Bytes(Part),
}

struct Part {
    status: StatusCode,
    start: u64,
    count: u64,
}

fn answer(info: &DownloadInfo, headers: &HeaderMap) -> Answer {
    let len = info.size;
    let etag = format!("\"{}\"", info.sha256);
    let header_text = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    if header_text(header::IF_NONE_MATCH).is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*")) {
        let mut r = StatusCode::NOT_MODIFIED.into_response();
        r.headers_mut().insert(header::ETAG, header_value(&etag));
        return Answer::Done(r);
    }
    // A Range whose If-Range names another version of the image gets the whole image.
    let range_applies = header_text(header::IF_RANGE).is_none_or(|v| v.trim() == etag);
    let wanted = match header_text(header::RANGE) {
        Some(r) if range_applies => range::wanted(r, len),
        _ => Wanted::Whole,
    };
    Answer::Bytes(match wanted {
        Wanted::Whole => Part { status: StatusCode::OK, start: 0, count: len },
        Wanted::Part { start, end } => Part { status: StatusCode::PARTIAL_CONTENT, start, count: end - start + 1 },
        Wanted::Unsatisfiable => {
            let mut r = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            r.headers_mut().insert(header::CONTENT_RANGE, header_value(&format!("bytes */{len}")));
            return Answer::Done(r);
        }
    })
}

impl Part {
    fn response(&self, info: &DownloadInfo, body: Body) -> Response {
        let (start, count, len) = (self.start, self.count, info.size);
        let mut r = Response::new(body);
        *r.status_mut() = self.status;
        let h = r.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(count));
        h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        h.insert(header::ETAG, header_value(&format!("\"{}\"", info.sha256)));
        // The URL is a capability: shared caches must not keep the image.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-transform"));
        h.insert(header::CONTENT_DISPOSITION, header_value(&format!("attachment; filename=\"{}\"", info.filename)));
        if self.status == StatusCode::PARTIAL_CONTENT {
            h.insert(header::CONTENT_RANGE, header_value(&format!("bytes {start}-{}/{len}", start + count - 1)));
        }
        r
    }
}

/// Header values made from validated text (hex digests, numbers, hostnames, family names).
fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

/// Where a request's session came from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Session {
    /// `Authorization: Bearer …`: scripts; a browser never sends it on its own.
    Bearer(String),
    /// The session cookie: a browser sends it with any request to this server, even one a
    /// foreign page makes it send.
    Cookie(String),
}

/// The session from `Authorization: Bearer …`, else from the session cookie.
fn session_of(headers: &HeaderMap) -> Option<Session> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if let Some(bearer) = bearer {
        return Some(Session::Bearer(bearer.to_string()));
    }
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name == SESSION_COOKIE && !value.is_empty()).then(|| Session::Cookie(value.to_string()))
    })
}

/// Whether the request says its body is JSON. A cross-site form can only send form or text
/// bodies, and a foreign page's script cannot send `application/json` without this server's
/// CORS consent (which it never gives), so a cookie session with a JSON body is this site's own.
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

/// `scheme://host` of this server as the client reached it (`secure`: by our own TLS; a TLS
/// proxy says so with `X-Forwarded-Proto: https`); empty when the request names no host,
/// leaving a relative URL.
fn base_url(headers: &HeaderMap, secure: bool) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)));
    let https = secure || headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https");
    match host {
        Some(host) => format!("{}://{host}", if https { "https" } else { "http" }),
        None => String::new(),
    }
}

fn json_body(value: &serde_json::Value) -> String {
    let mut text = value.to_string();
    text.push('\n');
    text
}

/// A JSON error: `{"code": PLC fault code, "message": …}`.
fn error(status: StatusCode, code: i64, message: &str) -> Response {
    let body = json_body(&serde_json::json!({ "code": code, "message": message }));
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A fault of the issuing call, with the HTTP status that says whose problem it is.
fn fault_error(f: &Fault) -> Response {
    let status = match f.code {
        103 => StatusCode::UNAUTHORIZED,
        108 => StatusCode::FORBIDDEN,
        100 | 101 | 102 | 104..=107 => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error(status, f.code, &f.message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn sessions_from_bearer_or_cookie() {
        let bearer = |s: &str| Some(Session::Bearer(s.into()));
        assert_eq!(session_of(&headers(&[("authorization", "Bearer abc")])), bearer("abc"));
        assert_eq!(
            session_of(&headers(&[("cookie", "a=b; bootmedium_session=xyz")])),
            Some(Session::Cookie("xyz".into()))
        );
        assert_eq!(
            session_of(&headers(&[("authorization", "Bearer abc"), ("cookie", "bootmedium_session=xyz")])),
            bearer("abc")
        );
        assert_eq!(session_of(&headers(&[("authorization", "Basic abc")])), None);
        assert_eq!(session_of(&headers(&[("cookie", "bootmedium_session=")])), None);
        assert_eq!(session_of(&headers(&[])), None);
    }

    #[test]
    fn json_content_types() {
        assert!(is_json(&headers(&[("content-type", "application/json")])));
        assert!(is_json(&headers(&[("content-type", "Application/JSON; charset=utf-8")])));
        assert!(!is_json(&headers(&[("content-type", "text/plain")])));
        assert!(!is_json(&headers(&[("content-type", "application/x-www-form-urlencoded")])));
        assert!(!is_json(&headers(&[])));
    }

    #[test]
    fn base_urls() {
        assert_eq!(base_url(&headers(&[("host", "127.0.0.1:8080")]), false), "http://127.0.0.1:8080");
        assert_eq!(base_url(&headers(&[("host", "127.0.0.1:8443")]), true), "https://127.0.0.1:8443");
        assert_eq!(
            base_url(&headers(&[("host", "plc.example.org"), ("x-forwarded-proto", "https")]), false),
            "https://plc.example.org"
        );
        assert_eq!(base_url(&headers(&[("host", "evil\"host")]), false), "");
        assert_eq!(base_url(&headers(&[]), true), "");
    }
}
