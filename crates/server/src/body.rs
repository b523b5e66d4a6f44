//! Response bodies made by a blocking task (file reads, base64 encoding) and streamed: a few
//! 128 KiB pieces in flight, whatever the image size, and the task stops as soon as the client
//! goes away.

use axum::body::{Body, Bytes};
use std::io::{self, Read};

/// Bytes read per piece: 128 KiB, as `cat` (larger reads were measured slower here).
pub(crate) const PIECE: usize = 128 * 1024;

/// Hands pieces to the response; `false` once the client has gone.
pub(crate) type Send<'a> = &'a dyn Fn(io::Result<Bytes>) -> bool;

/// A body whose pieces `produce` makes on a blocking thread.
pub(crate) fn blocking_body(produce: impl FnOnce(Send<'_>) + std::marker::Send + 'static) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(4);
    tokio::task::spawn_blocking(move || {
        let send = |piece: io::Result<Bytes>| tx.blocking_send(piece).is_ok();
        produce(&send);
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    Body::from_stream(stream)
}

/// Sends everything `reader` yields in pieces of `piece` bytes (the last may be shorter), each
/// turned into a body piece by `finish`, which gets the buffer holding the piece: it may take
/// the buffer and hand it on as it is (a download: no second copy; a new buffer is made for the
/// next piece) or read from it and leave it to be reused (base64: no allocation per piece).
/// Returns whether the whole input went out.
pub(crate) fn send_all(
    mut reader: impl Read,
    piece: usize,
    finish: impl Fn(&mut Vec<u8>) -> Bytes,
    send: Send<'_>,
) -> bool {
    let mut buf = Vec::new();
    loop {
        if buf.len() != piece {
            buf = vec![0u8; piece];
        }
        match read_full(&mut reader, &mut buf) {
            Ok(0) => return true,
            Ok(n) => {
                buf.truncate(n);
                if !send(Ok(finish(&mut buf))) {
                    tracing::info!("client went away during an image download");
                    return false;
                }
                if n < piece {
                    return true;
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "reading the image failed mid-stream");
                let _ = send(Err(e));
                return false;
            }
        }
    }
}

/// Reads until `buf` is full or the input ends.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
