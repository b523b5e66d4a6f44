//! Connections: the accept loop in front of the router, and what a client may hold.
//!
//! - **Caps**: at most `max_connections` open connections, `max_connections_per_ip` from one
//!   address. A connection over the per-address cap is answered `503` and closed at once. At
//!   the global cap the connection idle longest (no request in flight: never sent one, or
//!   waiting between requests, or half-way through its headers) is closed to make room, as
//!   nginx reuses keep-alive connections when it runs short; only when every connection has a
//!   request in flight is the newcomer refused. Idle sockets therefore cannot lock clients out,
//!   and a refusal never touches an admitted connection's request.
//! - **Idle time**: a connection must complete its first request's headers within
//!   `header_timeout` of being accepted, and the next request's within `keepalive_timeout` of
//!   the last response; otherwise it is closed (RFC 9112 §9.8 allows closing idle
//!   connections at any time).
//! - **Request bodies** must arrive within `body_timeout` plus one second per `body_min_rate`
//!   bytes received ([`TimedBody`]); a body that stalls or trickles is cut, its handler sees a
//!   read error and answers a fault.
//! - **Responses**: a client that accepts no response bytes for `send_timeout` is dropped
//!   ([`TimedIo`]); while it does not read, nothing but the socket buffer is spent on it.
//! - **HTTPS**: a connection accepted on a TLS listener must complete its handshake within
//!   `header_timeout` too (the same clock as its first request's headers), is counted and
//!   evicted like any other while it does, and is then served by the HTTP library alone: a
//!   download's bytes cannot go by `sendfile` through TLS, so they take the streamed path
//!   (`body.rs`), ranges and all. Something that is not a TLS handshake (plain HTTP sent to
//!   the HTTPS port) fails it and is closed.
//! - **Shutdown**: the listeners close, idle connections close at once, busy ones finish their
//!   request (keep-alive off) for at most `shutdown_grace`, then the rest are dropped.

use crate::direct::{self, Rewind};
use crate::tls::Certificates;
use crate::{Listener, ServerSettings};
use axum::Router;
use axum::body::Body;
use axum::body::Bytes;
use axum::extract::ConnectInfo;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};
use tower_service::Service;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What an over-cap client gets before the socket closes.
const REFUSAL: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: 21\r\nretry-after: 1\r\nconnection: close\r\n\r\ntoo many connections\n";

/// Request extension: the request came over TLS, to this server itself.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Secure;

/// Waits for a connection on any of `listeners`, starting with a different one each time so
/// that a busy listener cannot starve the others.
async fn accept_any(listeners: &[Listener], turn: &mut usize) -> (usize, io::Result<(TcpStream, SocketAddr)>) {
    std::future::poll_fn(|cx| {
        let n = listeners.len();
        for k in 0..n {
            let i = (*turn + k) % n;
            if let Poll::Ready(accepted) = listeners[i].tcp.poll_accept(cx) {
                *turn = (i + 1) % n;
                return Poll::Ready((i, accepted));
            }
        }
        Poll::Pending
    })
    .await
}

/// Serves `app` on `listeners` until `shutdown` resolves, then drains (see the module doc).
pub(crate) async fn serve(
    listeners: Vec<Listener>,
    app: Router,
    settings: ServerSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let settings = Arc::new(settings);
    let table = Arc::new(Table::new(settings.max_connections, settings.max_connections_per_ip));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut shutdown = pin!(shutdown);
    let mut turn = 0;
    loop {
        let (which, accepted) = tokio::select! {
            () = &mut shutdown => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
            accepted = accept_any(&listeners, &mut turn) => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            // The peer gave up before we accepted: nothing to do.
            Err(e) if matches!(e.kind(), io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset) => continue,
            // Out of file descriptors or memory: keep the listener, try again shortly.
            Err(e) => {
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        match table.admit(peer.ip()) {
            Ok(conn) => {
                let task = Connection {
                    conn,
                    peer,
                    table: Arc::clone(&table),
                    app: app.clone(),
                    settings: Arc::clone(&settings),
                    stop: stop_rx.clone(),
                };
                tasks.spawn(task.run(stream, listeners[which].tls.clone()));
            }
            Err(why) => {
                tracing::warn!(peer = %peer, why, "connection refused");
                // Best effort and never waiting: the socket buffer of a new connection is empty.
                // A TLS client could not read a plain answer: it is just closed.
                if listeners[which].tls.is_none() {
                    let _ = stream.try_write(REFUSAL);
                }
            }
        }
    }
    drop(listeners);
    let _ = stop_tx.send(true);
    let open = tasks.len();
    if open > 0 {
        tracing::info!(open, "waiting for open connections to finish");
    }
    let drained = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(settings.shutdown_grace, drained).await.is_err() {
        tracing::warn!(open = tasks.len(), "connections still busy after the shutdown grace period; dropping them");
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }
    Ok(())
}

/// The open connections: counts for the caps, and who to close when room is needed.
struct Table {
    max: usize,
    max_per_ip: usize,
    inner: Mutex<TableInner>,
}

#[derive(Default)]
struct TableInner {
    next_id: u64,
    open: HashMap<u64, Arc<Conn>>,
    per_ip: HashMap<IpAddr, usize>,
}

impl Table {
    fn new(max: usize, max_per_ip: usize) -> Self {
        Table { max: max.max(1), max_per_ip: max_per_ip.max(1), inner: Mutex::default() }
    }

    fn lock(&self) -> MutexGuard<'_, TableInner> {
        // The table holds counts only; a panic elsewhere cannot leave it half-updated.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A place for a connection from `ip`, or why there is none. An IPv6 client is counted by
    /// its /64, which it usually holds whole.
    fn admit(&self, ip: IpAddr) -> Result<Arc<Conn>, &'static str> {
        let ip = bootmedium_plc::logins::address_key(ip);
        let mut t = self.lock();
        if t.per_ip.get(&ip).copied().unwrap_or(0) >= self.max_per_ip {
            return Err("per-address connection cap reached");
        }
        if t.open.len() >= self.max {
            let victim = t.open.values().filter(|c| c.is_idle()).min_by_key(|c| c.idle_since()).map(|c| c.id);
            let Some(victim) = victim.and_then(|id| t.remove(id)) else {
                return Err("connection cap reached and every connection is busy");
            };
            victim.evict.notify_one();
        }
        t.next_id += 1;
        let conn = Arc::new(Conn::new(t.next_id, ip));
        t.open.insert(conn.id, Arc::clone(&conn));
        *t.per_ip.entry(ip).or_insert(0) += 1;
        Ok(conn)
    }

    fn release(&self, id: u64) {
        self.lock().remove(id);
    }
}

impl TableInner {
    fn remove(&mut self, id: u64) -> Option<Arc<Conn>> {
        let conn = self.open.remove(&id)?;
        if let Some(n) = self.per_ip.get_mut(&conn.ip) {
            *n -= 1;
            if *n == 0 {
                self.per_ip.remove(&conn.ip);
            }
        }
        Some(conn)
    }
}

/// How long a closing connection may take to send what its last response left in the HTTP
/// library's buffer.
const FLUSH_GRACE: Duration = Duration::from_secs(1);

/// One connection's state, shared by its task, its requests and the table.
struct Conn {
    id: u64,
    ip: IpAddr,
    /// Requests whose response has not been sent completely.
    in_flight: AtomicUsize,
    /// Requests received so far.
    requests: AtomicU64,
    /// When the connection last became idle (accepted, or its last response ended).
    idle_since: Mutex<Instant>,
    /// Asks the connection to close because room is needed.
    evict: Notify,
}

impl Conn {
    fn new(id: u64, ip: IpAddr) -> Self {
        Conn {
            id,
            ip,
            in_flight: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            idle_since: Mutex::new(Instant::now()),
            evict: Notify::new(),
        }
    }

    fn is_idle(&self) -> bool {
        self.in_flight.load(Ordering::SeqCst) == 0
    }

    fn idle_since(&self) -> Instant {
        *self.idle_since.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Marks a request in flight until the returned guard (kept by its response body) drops.
    fn begin(self: &Arc<Self>) -> InFlight {
        self.requests.fetch_add(1, Ordering::SeqCst);
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(Arc::clone(self))
    }
}

/// A request in flight on a connection.
struct InFlight(Arc<Conn>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut since = self.0.idle_since.lock().unwrap_or_else(|e| e.into_inner());
        if self.0.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            *since = Instant::now();
        }
    }
}

/// The task that serves one connection.
struct Connection {
    conn: Arc<Conn>,
    peer: SocketAddr,
    table: Arc<Table>,
    app: Router,
    settings: Arc<ServerSettings>,
    stop: watch::Receiver<bool>,
}

impl Connection {
    /// How long the connection may stay idle now: until its first request's headers are in,
    /// or between requests.
    fn idle_limit(&self) -> Duration {
        if self.conn.requests.load(Ordering::SeqCst) == 0 {
            self.settings.header_timeout
        } else {
            self.settings.keepalive_timeout
        }
    }

    async fn run(self, stream: TcpStream, tls: Option<Arc<Certificates>>) {
        let _ = stream.set_nodelay(true);
        match tls {
            None => self.run_plain(stream).await,
            Some(certificates) => self.run_tls(stream, &certificates).await,
        }
    }

    /// A TLS connection: the handshake (bounded by `header_timeout` from the accept, and
    /// abandoned when room is needed or the server stops), then the HTTP library.
    async fn run_tls(mut self, stream: TcpStream, certificates: &Certificates) {
        let acceptor = certificates.acceptor();
        // Idle since the accept: the handshake shares the first request's header time.
        let deadline = self.conn.idle_since() + self.settings.header_timeout;
        let handshake = acceptor.accept(TimedIo::new(stream, self.settings.send_timeout));
        let stream = tokio::select! {
            done = handshake => match done {
                Ok(stream) => stream,
                Err(e) => {
                    tracing::debug!(peer = %self.peer, error = %e, "TLS handshake failed");
                    return self.table.release(self.conn.id);
                }
            },
            () = self.conn.evict.notified() => return self.table.release(self.conn.id),
            _ = self.stop.changed() => return self.table.release(self.conn.id),
            () = tokio::time::sleep_until(deadline) => {
                tracing::debug!(peer = %self.peer, "TLS handshake timed out");
                return self.table.release(self.conn.id);
            }
        };
        self.serve_http(stream, true).await;
    }

    /// A plain connection: download requests answered here by `sendfile` until something else
    /// comes, which goes to the HTTP library.
    async fn run_plain(mut self, stream: TcpStream) {
        // Download requests first (answered here, file bytes by `sendfile`); anything else,
        // with the bytes read so far, goes to the HTTP library.
        let mut read = Vec::new();
        loop {
            if *self.stop.borrow() {
                return self.table.release(self.conn.id);
            }
            let (request, len, close) = match self.next_request(&stream, &mut read).await {
                Some(direct::Head::Media { request, len, close }) => (request, len, close),
                Some(_) => break,
                None => return self.table.release(self.conn.id),
            };
            read.drain(..len);
            let in_flight = self.conn.begin();
            let sent =
                direct::respond(&stream, &self.app, *request, self.peer, close, self.settings.send_timeout).await;
            drop(in_flight);
            match sent {
                Ok(direct::Sent::KeepAlive) => {}
                Ok(direct::Sent::Close) => return self.table.release(self.conn.id),
                Err(e) => {
                    tracing::debug!(peer = %self.peer, error = %e, "download connection ended with an error");
                    return self.table.release(self.conn.id);
                }
            }
        }
        let send_timeout = self.settings.send_timeout;
        self.serve_http(Rewind::new(read, TimedIo::new(stream, send_timeout)), false).await;
    }

    /// Serves `io` with the HTTP library until it closes, times out, is evicted or the server
    /// stops; `secure` when it is a TLS connection.
    async fn serve_http<I>(mut self, io: I, secure: bool)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let io = TokioIo::new(io);
        let (conn, peer, app, settings) =
            (Arc::clone(&self.conn), self.peer, self.app.clone(), Arc::clone(&self.settings));
        let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let in_flight = conn.begin();
            let mut req = req.map(|b| Body::new(TimedBody::new(b, settings.body_timeout, settings.body_min_rate)));
            req.extensions_mut().insert(ConnectInfo(peer));
            if secure {
                req.extensions_mut().insert(Secure);
            }
            let response = app.clone().call(req);
            async move {
                let response = response.await?;
                Ok::<_, Infallible>(response.map(|body| Guarded { body, _in_flight: in_flight }))
            }
        });
        // hyper queues response pieces until this many bytes wait to be written: at 64 KiB it
        // holds one 128 KiB download piece per connection, not up to three as with its default.
        // A request's head must fit in it too (nginx's default allows 32 KiB).
        let http = hyper::server::conn::http1::Builder::new().max_buf_size(64 * 1024).serve_connection(io, service);
        let mut http = pin!(http);
        if *self.stop.borrow() {
            return self.table.release(self.conn.id);
        }
        let mut stopping = false;
        let mut ended = false;
        loop {
            let check = if self.conn.is_idle() {
                self.conn.idle_since() + self.idle_limit()
            } else {
                Instant::now() + self.idle_limit()
            };
            tokio::select! {
                result = http.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(peer = %self.peer, error = %e, "connection ended with an error");
                    }
                    ended = true;
                    break;
                }
                () = self.conn.evict.notified() => {
                    if self.conn.is_idle() {
                        tracing::debug!(peer = %self.peer, "idle connection closed to make room");
                        break;
                    }
                    http.as_mut().graceful_shutdown();
                }
                _ = self.stop.changed(), if !stopping => {
                    stopping = true;
                    if self.conn.is_idle() {
                        break;
                    }
                    http.as_mut().graceful_shutdown();
                }
                () = tokio::time::sleep_until(check) => {
                    if self.conn.is_idle() && self.conn.idle_since().elapsed() >= self.idle_limit() {
                        tracing::debug!(peer = %self.peer, "idle connection timed out");
                        break;
                    }
                }
            }
        }
        // "Idle" means the last response body was taken, not that its bytes have left: the tail
        // of a response may still wait in the HTTP library's buffer. Let it go out (briefly)
        // instead of cutting the response short.
        if !ended && self.conn.requests.load(Ordering::SeqCst) > 0 {
            http.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(FLUSH_GRACE, http.as_mut()).await;
        }
        self.table.release(self.conn.id);
    }
}

impl Connection {
    /// Reads until `read` starts with a whole download request or with anything else (for the
    /// HTTP library); `None` when the connection is to be closed: the client closed it or sent
    /// nothing in time, or it is idle and room is needed or the server stops.
    async fn next_request(&mut self, stream: &TcpStream, read: &mut Vec<u8>) -> Option<direct::Head> {
        loop {
            match direct::classify(read) {
                direct::Head::NeedMore => {}
                head => return Some(head),
            }
            let deadline = self.conn.idle_since() + self.idle_limit();
            tokio::select! {
                ready = stream.readable() => {
                    ready.ok()?;
                    read.reserve(4096);
                    match stream.try_read_buf(read) {
                        Ok(0) => return None,
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(_) => return None,
                    }
                }
                // Nothing is in flight here: an evicted or stopping connection just closes.
                () = self.conn.evict.notified() => return None,
                _ = self.stop.changed() => return None,
                () = tokio::time::sleep_until(deadline) => {
                    tracing::debug!(peer = %self.peer, "idle connection timed out");
                    return None;
                }
            }
        }
    }
}

/// A response body that keeps its request counted as in flight until it is sent or dropped.
struct Guarded {
    body: Body,
    _in_flight: InFlight,
}

impl http_body::Body for Guarded {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The body of a request was not received in time.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time ({received} bytes in {elapsed:?})")]
pub(crate) struct BodyTimeout {
    received: u64,
    elapsed: Duration,
}

/// A request body that fails once it is late: later than `timeout` plus one second per
/// `min_rate` bytes received since the request's headers arrived.
pub(crate) struct TimedBody<B> {
    inner: B,
    started: Instant,
    received: u64,
    timeout: Duration,
    min_rate: u64,
    sleep: Pin<Box<Sleep>>,
}

impl<B> TimedBody<B> {
    pub(crate) fn new(inner: B, timeout: Duration, min_rate: u64) -> Self {
        let started = Instant::now();
        TimedBody {
            inner,
            started,
            received: 0,
            timeout,
            min_rate,
            sleep: Box::pin(tokio::time::sleep_until(started + timeout)),
        }
    }

    fn deadline(&self) -> Instant {
        let allowance = if self.min_rate == 0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(self.received as f64 / self.min_rate as f64)
        };
        self.started + self.timeout + allowance
    }
}

impl<B> http_body::Body for TimedBody<B>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received += data.len() as u64;
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                let deadline = this.deadline();
                this.sleep.as_mut().reset(deadline);
                ready!(this.sleep.as_mut().poll(cx));
                let late = BodyTimeout { received: this.received, elapsed: this.started.elapsed() };
                tracing::info!(error = %late, "request body cut");
                Poll::Ready(Some(Err(Box::new(late))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A socket whose writes fail with `TimedOut` once the peer has accepted nothing for
/// `send_timeout`: a client that stops reading costs a socket buffer for that long, no more.
pub(crate) struct TimedIo<S> {
    inner: S,
    send_timeout: Duration,
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<S> TimedIo<S> {
    fn new(inner: S, send_timeout: Duration) -> Self {
        TimedIo { inner, send_timeout, stalled: None }
    }

    /// Called when a write would block: `Ready(error)` once it has blocked for too long.
    fn poll_stall(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        let timeout = self.send_timeout;
        let sleep = self.stalled.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        ready!(sleep.as_mut().poll(cx));
        Poll::Ready(io::Error::new(io::ErrorKind::TimedOut, "the client accepted no data for the send timeout"))
    }

    fn written<T>(&mut self, cx: &mut Context<'_>, result: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match result {
            Poll::Pending => self.poll_stall(cx).map(Err),
            ready => {
                self.stalled = None;
                ready
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for TimedIo<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for TimedIo<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.written(cx, result)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.written(cx, result)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let result = Pin::new(&mut self.inner).poll_flush(cx);
        self.written(cx, result)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_refuses_per_address_and_evicts_the_longest_idle() {
        let table = Table::new(3, 2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let a1 = table.admit(a).unwrap();
        let _a2 = table.admit(a).unwrap();
        assert!(table.admit(a).is_err(), "third connection from one address");
        let b1 = table.admit(b).unwrap();
        let _busy = b1.begin();
        // Full: the longest-idle connection (a1, the first accepted) makes room.
        let _b2 = table.admit(b).unwrap();
        assert!(!table.lock().open.contains_key(&a1.id));
        table.release(a1.id);
        assert_eq!(table.lock().open.len(), 3);
        // A third from `a` is allowed again now that a1 is gone.
        assert_eq!(table.lock().per_ip.get(&a), Some(&1));
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_64() {
        let table = Table::new(10, 2);
        let one: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let other_host: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other_net: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        let _a = table.admit(one).unwrap();
        let _b = table.admit(other_host).unwrap();
        assert!(table.admit("2001:db8:1:2:abcd::7".parse().unwrap()).is_err(), "a third address of one /64");
        assert!(table.admit(other_net).is_ok());
    }

    #[test]
    fn a_table_of_busy_connections_refuses() {
        let table = Table::new(1, 10);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let c = table.admit(ip).unwrap();
        let guard = c.begin();
        assert!(table.admit(ip).is_err());
        drop(guard);
        assert!(table.admit(ip).is_ok());
    }
}
