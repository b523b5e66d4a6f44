//! Downloads sent by the kernel: `GET`/`HEAD /media/…` requests answered on the socket itself,
//! so that the image's file ranges go out with `sendfile(2)` (page-cache pages to the socket,
//! no copy through user space, as nginx sends static files) instead of being read into a
//! buffer and written again.
//!
//! The HTTP library owns the sockets it serves, so `conn` looks at each connection's first
//! request before handing it over: a bodiless HTTP/1.1 `GET` or `HEAD` of `/media/…` is parsed
//! here ([`classify`], RFC 9112 §2–3) and still answered by the router — the same handler, so
//! status, headers, ranges, validators and errors have one declaration
//! (`downloads`) — with the [`Direct`] mark, which makes the download handler leave the body
//! out and describe it instead ([`FileBody`]). [`respond`] writes the head (RFC 9112 §4–6), then
//! the body: file ranges by `sendfile`, the few rendered slot bytes by ordinary writes. Every
//! wait for the client is bounded by the send timeout. Anything else, on a new connection or
//! after download requests on one, goes to the HTTP library with the bytes read so far replayed
//! ([`Rewind`]). TLS connections never come here: `sendfile` cannot encrypt, so their
//! downloads take the HTTP library's streamed path.
//!
//! `sendfile` runs on the connection's task: templates are read by every download and stay in
//! the page cache, but a cold page makes the call wait for the disk on a runtime worker (as
//! nginx without `aio`), outside the two-reads-per-core limit of the streamed path.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{HeaderName, HeaderValue, Method, Request, StatusCode, Version, header};
use bootmedium_media::{PreparedMedium, Segment};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;
use tower_service::Service;

/// The longest request head read here; a longer one goes to the HTTP library, which refuses
/// it by its own buffer limit (the same size).
pub(crate) const MAX_HEAD: usize = 64 * 1024;

/// Most headers a download request may carry here (others go to the HTTP library).
const MAX_HEADERS: usize = 64;

/// Most bytes handed to one `sendfile` call, so that one fast client yields to the others.
const SENDFILE_PIECE: usize = 1024 * 1024;

/// Buffer for the bytes of in-memory slots.
const SLOT_PIECE: usize = 64 * 1024;

/// Largest error or other non-file body answered here (they are a line of text).
const MAX_SMALL_BODY: usize = 1024 * 1024;

/// Request mark: the connection sends the download's file bytes itself; the handler answers
/// with an empty body and a [`FileBody`] extension.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Direct;

/// Response extension: the body is bytes `start..start + count` of `medium`.
#[derive(Debug, Clone)]
pub(crate) struct FileBody {
    pub medium: Arc<PreparedMedium>,
    pub start: u64,
    pub count: u64,
}

/// What the bytes read so far on a connection start.
pub(crate) enum Head {
    /// Possibly a download request; its head is not complete yet.
    NeedMore,
    /// A download request served here: the request, its head's length, and whether the
    /// client asked to close the connection after it.
    Media { request: Box<Request<Body>>, len: usize, close: bool },
    /// Anything else: for the HTTP library.
    Other,
}

/// Classifies the start of `buf`.
pub(crate) fn classify(buf: &[u8]) -> Head {
    const PREFIXES: [&[u8]; 2] = [b"GET /media/", b"HEAD /media/"];
    if !PREFIXES.iter().any(|p| p.starts_with(&buf[..buf.len().min(p.len())])) {
        return Head::Other;
    }
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    let len = match parsed.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => return Head::NeedMore,
        _ => return Head::Other,
    };
    // HTTP/1.0 (other keep-alive rules) and requests with a body stay with the HTTP library.
    if parsed.version != Some(1) {
        return Head::Other;
    }
    let (Some(method), Some(path)) = (parsed.method, parsed.path) else { return Head::Other };
    let mut request = Request::builder().method(method).uri(path).version(Version::HTTP_11);
    let mut close = false;
    for h in parsed.headers.iter() {
        let (Ok(name), Ok(value)) = (HeaderName::from_bytes(h.name.as_bytes()), HeaderValue::from_bytes(h.value))
        else {
            return Head::Other;
        };
        if name == header::TRANSFER_ENCODING
            || (name == header::CONTENT_LENGTH && value.to_str().map_or(true, |v| v.trim() != "0"))
        {
            return Head::Other;
        }
        if name == header::CONNECTION {
            close |= value.to_str().is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")));
        }
        request = request.header(name, value);
    }
    match request.body(Body::empty()) {
        Ok(request) => Head::Media { request: Box::new(request), len, close },
        Err(_) => Head::Other,
    }
}

/// Answers `request` through `app` on `stream`, the file bytes by `sendfile`. `Ok` when the
/// response was sent completely, saying whether the connection may carry another request.
pub(crate) async fn respond(
    stream: &TcpStream,
    app: &Router,
    mut request: Request<Body>,
    peer: SocketAddr,
    close: bool,
    send_timeout: Duration,
) -> io::Result<Sent> {
    let head_only = request.method() == Method::HEAD;
    request.extensions_mut().insert(Direct);
    request.extensions_mut().insert(ConnectInfo(peer));
    let response = match app.clone().call(request).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    let (parts, body) = response.into_parts();
    // A handler that ends the connection is obeyed, as the HTTP library would.
    let close =
        close || parts.headers.get(header::CONNECTION).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
    let sent = if close { Sent::Close } else { Sent::KeepAlive };
    let file = parts.extensions.get::<FileBody>().cloned();
    // Statuses that never have a body (RFC 9110 §15.3.5, §15.4.5) carry no length either, as
    // the HTTP library sends them.
    let no_content = parts.status == StatusCode::NOT_MODIFIED
        || parts.status == StatusCode::NO_CONTENT
        || parts.status.is_informational();
    let bodiless = head_only || no_content;
    let small = if file.is_some() || bodiless {
        Bytes::new()
    } else {
        axum::body::to_bytes(body, MAX_SMALL_BODY).await.map_err(io::Error::other)?
    };
    let mut head = Vec::with_capacity(512);
    head.extend_from_slice(
        format!("HTTP/1.1 {} {}\r\n", parts.status.as_str(), parts.status.canonical_reason().unwrap_or("")).as_bytes(),
    );
    for (name, value) in &parts.headers {
        if name == header::CONNECTION
            || name == header::TRANSFER_ENCODING
            || (no_content && name == header::CONTENT_LENGTH)
        {
            continue;
        }
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    if !parts.headers.contains_key(header::CONTENT_LENGTH) && !bodiless {
        let len = file.as_ref().map_or(small.len() as u64, |f| f.count);
        head.extend_from_slice(format!("content-length: {len}\r\n").as_bytes());
    }
    if !parts.headers.contains_key(header::DATE) {
        head.extend_from_slice(
            format!("date: {}\r\n", httpdate::fmt_http_date(std::time::SystemTime::now())).as_bytes(),
        );
    }
    if close {
        head.extend_from_slice(b"connection: close\r\n");
    }
    head.extend_from_slice(b"\r\n");
    head.extend_from_slice(&small);
    send_all(stream, &head, send_timeout).await?;
    let Some(file) = file.filter(|_| !head_only) else { return Ok(sent) };
    let segments = file.medium.segments(file.start, file.count);
    // The head promised `count` bytes: a shorter body would frame the next response wrongly.
    if segments.iter().map(Segment::byte_count).sum::<u64>() != file.count {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the medium is shorter than the range sent"));
    }
    let mut slots = None;
    for segment in segments {
        match segment {
            Segment::File { file, offset, len } => send_file(stream, &file, offset, len, send_timeout).await?,
            Segment::Memory { offset, len } => {
                let (reader, buf) = slots.get_or_insert_with(|| (file.medium.reader(), vec![0u8; SLOT_PIECE]));
                reader.seek(SeekFrom::Start(offset))?;
                let mut left = len;
                while left > 0 {
                    let n = usize::try_from(left).map_or(buf.len(), |l| l.min(buf.len()));
                    // In-memory slot bytes: no file is read here.
                    reader.read_exact(&mut buf[..n])?;
                    send_all(stream, &buf[..n], send_timeout).await?;
                    left -= n as u64;
                }
            }
        }
    }
    Ok(sent)
}

/// Whether a connection may carry another request after a response was sent completely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sent {
    KeepAlive,
    Close,
}

/// Waits until `stream` accepts bytes, for at most `send_timeout`.
async fn writable(stream: &TcpStream, send_timeout: Duration) -> io::Result<()> {
    match tokio::time::timeout(send_timeout, stream.writable()).await {
        Ok(ready) => ready,
        Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "the client accepted no data for the send timeout")),
    }
}

/// Writes all of `bytes`.
async fn send_all(stream: &TcpStream, mut bytes: &[u8], send_timeout: Duration) -> io::Result<()> {
    while !bytes.is_empty() {
        writable(stream, send_timeout).await?;
        match stream.try_write(bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Sends `len` bytes of `file` from `offset` with `sendfile`, as the socket takes them.
async fn send_file(
    stream: &TcpStream,
    file: &File,
    mut offset: u64,
    mut len: u64,
    timeout: Duration,
) -> io::Result<()> {
    while len > 0 {
        writable(stream, timeout).await?;
        let want = usize::try_from(len).map_or(SENDFILE_PIECE, |l| l.min(SENDFILE_PIECE));
        let sent = stream.try_io(Interest::WRITABLE, || {
            rustix::fs::sendfile(stream, file, Some(&mut offset), want).map_err(io::Error::from)
        });
        match sent {
            Ok(0) => {
                tracing::error!("reading the image failed mid-stream: a file is shorter than its medium says");
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the image file is shorter than its medium"));
            }
            Ok(n) => len -= n as u64,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A connection handed to the HTTP library with the bytes already read from it in front.
pub(crate) struct Rewind<T> {
    prefix: Bytes,
    inner: T,
}

impl<T> Rewind<T> {
    pub(crate) fn new(prefix: Vec<u8>, inner: T) -> Self {
        Rewind { prefix: Bytes::from(prefix), inner }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Rewind<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.remaining());
            let taken = self.prefix.split_to(n);
            buf.put_slice(&taken);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Rewind<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bodiless_http11_downloads_are_served_here() {
        let media = |buf: &[u8]| matches!(classify(buf), Head::Media { .. });
        let other = |buf: &[u8]| matches!(classify(buf), Head::Other);
        let more = |buf: &[u8]| matches!(classify(buf), Head::NeedMore);
        assert!(more(b""));
        assert!(more(b"GE"));
        assert!(more(b"HEAD /med"));
        assert!(more(b"GET /media/abc HTTP/1.1\r\nHost: x\r\n"));
        assert!(media(b"GET /media/abc HTTP/1.1\r\nHost: x\r\n\r\n"));
        assert!(media(b"HEAD /media/abc HTTP/1.1\r\nRange: bytes=0-1\r\n\r\n"));
        assert!(media(b"GET /media/abc HTTP/1.1\r\nContent-Length: 0\r\n\r\n"));
        assert!(other(b"POST /PLCAPI/ HTTP/1.1\r\n"));
        assert!(other(b"GET /healthz HTTP/1.1\r\n\r\n"));
        assert!(other(b"GET /media/abc HTTP/1.0\r\n\r\n"));
        assert!(other(b"GET /media/abc HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"));
        assert!(other(b"GET /media/abc HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"));
        assert!(other(b"GET /media/abc HTTP/1.1\r\nBad Header\r\n\r\n"));
        let Head::Media { len, close, .. } = classify(b"GET /media/a HTTP/1.1\r\nConnection: Close\r\n\r\nGET /")
        else {
            panic!("not a download request")
        };
        assert_eq!((len, close), (44, true));
    }
}
