//! `POST /PLCAPI/` (and `//PLCAPI//`, the BootManager's spelling): XML-RPC. Every request a
//! client can get wrong is answered with an XML-RPC fault and HTTP 200 — oversized or malformed
//! bodies included — and a panic inside a method becomes fault 111 rather than a dropped
//! connection or an HTTP 500. Images are streamed as one base64 `<string>` (docs/plc-api.md §9.4).

use crate::AppState;
use crate::body::{ReadError, file_body, read_body, stream_body};
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bootmedium_media::PreparedMedium;
use bootmedium_plc::Fault;
use bootmedium_plc::Reply;
use bootmedium_xmlrpc::{Limits, base64_string_response_parts, parse_method_call, write_fault, write_response};
use futures_util::StreamExt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

/// `/PLCAPI/`, however many slashes surround it.
fn is_api_path(path: &str) -> bool {
    let mut segments = path.split('/').filter(|s| !s.is_empty());
    segments.next() == Some("PLCAPI") && segments.next().is_none()
}

/// `client` is the request's client address (`crate::client`).
pub(crate) async fn dispatch(state: Arc<AppState>, client: IpAddr, req: Request) -> Response {
    if !is_api_path(req.uri().path()) {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    }
    match *req.method() {
        Method::POST => {}
        Method::GET | Method::HEAD => {
            // Upstream answers GET with an HTML page and status 200.
            let page = "<html><body><p>This is a PLCAPI XML-RPC endpoint (bootmedium). POST method calls here.</p></body></html>\n";
            return ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response();
        }
        _ => return (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "GET, POST")], "").into_response(),
    }
    let started = Instant::now();
    let limit = state.settings.max_body_bytes;
    let (parts, body) = req.into_parts();
    let body = match read_body(&parts.headers, body, limit).await {
        Ok(b) => b,
        Err(e) => {
            let why = match e {
                ReadError::TooLarge => format!("request body larger than {limit} bytes"),
                ReadError::Unreadable(why) => format!("request body unreadable: {why}"),
            };
            let f = Fault::invalid(why);
            log_call(client, "-", "", Some(&f), started);
            // The rest of the body may not have been read: this connection carries no more.
            let mut r = fault_response(&f);
            r.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            return r;
        }
    };
    handle_call(state, client, body, started).await
}

async fn handle_call(state: Arc<AppState>, client: IpAddr, body: Bytes, started: Instant) -> Response {
    let call = match parse_method_call(&body, &Limits::default()) {
        Ok(c) => c,
        Err(e) => {
            let f = Fault::invalid(format!("malformed XML-RPC request: {e}"));
            log_call(client, "-", "", Some(&f), started);
            return fault_response(&f);
        }
    };
    let method = call.method_name.clone();
    // A panic inside a method must not take the connection down with it.
    let task = tokio::spawn(async move {
        let outcome = state.api.call(&call.method_name, &call.params, Some(client)).await;
        (outcome.result, outcome.caller)
    });
    let (result, caller) = match task.await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(method = %method, error = %e, "method panicked");
            (Err(Fault::internal("the server failed while running this call; see its log")), String::new())
        }
    };
    log_call(client, &method, &caller, result.as_ref().err(), started);
    match result {
        Ok(Reply::Value(v)) => xml_response(write_response(&v)),
        Ok(Reply::Medium(m)) => medium_response(m),
        Err(f) => fault_response(&f),
    }
}

/// Bytes of image read and base64-encoded at a time: a multiple of 3, so the pieces concatenate
/// into one valid base64 text. Each piece is one short blocking task; at 128 KiB the hand-overs
/// to and from the blocking pool cost more than the encoding, so inline pieces are 512 KiB.
const ENCODE_CHUNK: usize = 3 * 174_762;

/// An image as the one `<string>` of a method response, base64-encoded while it streams: the
/// length is known up front, and memory holds a chunk or two whatever the image size.
fn medium_response(medium: PreparedMedium) -> Response {
    let (prefix, suffix) = base64_string_response_parts();
    let total = prefix.len() as u64 + medium.len().div_ceil(3) * 4 + suffix.len() as u64;
    let len = medium.len();
    let image = file_body(medium.reader(), 0, len, ENCODE_CHUNK, |piece| Bytes::from(base64_of(&piece)));
    let whole = futures_util::stream::once(async move { Ok(Bytes::from_static(prefix.as_bytes())) })
        .chain(image)
        .chain(futures_util::stream::once(async move { Ok(Bytes::from_static(suffix.as_bytes())) }));
    let body = stream_body(whole);
    let mut r = Response::new(body);
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml; charset=utf-8"));
    r.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(total));
    r
}

/// Standard base64 with padding, written straight into bytes (`Engine::encode` would build a
/// `String`, validating every piece of text as UTF-8 again).
fn base64_of(piece: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let engine = &base64::engine::general_purpose::STANDARD;
    let mut out = vec![0u8; piece.len().div_ceil(3) * 4];
    // The buffer has exactly the encoded length, so encoding cannot run out of room.
    let written = engine.encode_slice(piece, &mut out).unwrap_or(0);
    out.truncate(written);
    out
}

pub(crate) fn log_call(client: IpAddr, method: &str, caller: &str, fault: Option<&Fault>, started: Instant) {
    let fault_code = fault.map(|f| f.code).unwrap_or(0);
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(%client, method, caller, fault_code, duration_ms = format!("{duration_ms:.2}"), "call");
}

fn xml_response(body: String) -> Response {
    let mut r = Response::new(Body::from(body));
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml; charset=utf-8"));
    r
}

fn fault_response(f: &Fault) -> Response {
    xml_response(write_fault(f.code, &f.message))
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_pieces_match_the_engine() {
        use base64::Engine;
        for len in [0, 1, 2, 3, 4, 5, 6, 1000, 3 * 43_690] {
            let piece: Vec<u8> = (0..len).map(|i| (i * 7 % 256) as u8).collect();
            let expected = base64::engine::general_purpose::STANDARD.encode(&piece);
            assert_eq!(super::base64_of(&piece), expected.as_bytes(), "{len} bytes");
        }
    }

    #[test]
    fn api_paths() {
        assert!(super::is_api_path("/PLCAPI/"));
        assert!(super::is_api_path("//PLCAPI//"));
        assert!(super::is_api_path("/PLCAPI"));
        assert!(!super::is_api_path("/PLCAPI/x"));
        assert!(!super::is_api_path("/"));
    }
}
