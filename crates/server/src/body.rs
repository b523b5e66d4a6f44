//! Request and response bodies.
//!
//! Responses made of file bytes (downloads, inline images) are streamed one piece at a time:
//! each piece is read (and encoded) by a short blocking task when the connection asks for the
//! next one, so a client that reads slowly or not at all holds no thread and at most one piece
//! in memory, whatever the image size; it is dropped by the send timeout (`conn`).
//!
//! Request bodies are read whole up to a limit; the rest of an oversized body is read and
//! discarded (up to [`DRAIN_LIMIT`] bytes and [`DRAIN_TIME`]) before the fault is answered, so
//! that a client still sending sees the fault instead of a reset connection.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, header};
use futures_util::StreamExt;
use std::io::{self, Read, Seek, SeekFrom};

/// Bytes read per piece: 128 KiB, as `cat` (larger reads measured slower per byte in
/// bench/delivery.sh).
pub(crate) const PIECE: usize = 128 * 1024;

/// Most bytes of an oversized request body read and discarded so that its sender gets the
/// answer; a body announced or found longer than this is cut with the connection.
pub(crate) const DRAIN_LIMIT: u64 = 64 * 1024 * 1024;

/// Longest time spent discarding an oversized body before the fault is answered anyway.
pub(crate) const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(5);

/// Why a request body could not be had.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// Longer than the limit (the rest has been drained where it was small enough).
    TooLarge,
    /// The connection failed, or the body did not arrive in time.
    Unreadable(String),
}

/// The whole body, at most `limit` bytes.
pub(crate) async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, ReadError> {
    let announced =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    // Too large, and too large to drain: cut at once.
    if announced.is_some_and(|n| n > limit as u64 && n > DRAIN_LIMIT) {
        return Err(ReadError::TooLarge);
    }
    let mut stream = body.into_data_stream();
    let mut data = Vec::with_capacity(announced.map_or(0, |n| n.min(limit as u64) as usize));
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ReadError::Unreadable(e.to_string()))?;
        if data.len() + chunk.len() > limit {
            let mut seen = (data.len() + chunk.len()) as u64;
            drop(data);
            // Bounded in bytes and in time (as nginx's lingering_time): a sender that trickles
            // must not hold its connection busy, and so unevictable, for the whole body timeout.
            let drain = async {
                while seen <= DRAIN_LIMIT {
                    match stream.next().await {
                        Some(Ok(chunk)) => seen += chunk.len() as u64,
                        _ => break,
                    }
                }
            };
            let _ = tokio::time::timeout(DRAIN_TIME, drain).await;
            return Err(ReadError::TooLarge);
        }
        data.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(data))
}

/// A body of the `count` bytes of `reader` from `start`, in pieces of `piece` bytes (the last
/// may be shorter), each turned into body bytes by `finish` (which may take the buffer as it
/// is: a download, no second copy; or encode it: base64).
pub(crate) fn file_body<R>(
    reader: R,
    start: u64,
    count: u64,
    piece: usize,
    finish: fn(Vec<u8>) -> Bytes,
) -> impl futures_util::Stream<Item = io::Result<Bytes>> + Send + 'static
where
    R: Read + Seek + Send + 'static,
{
    struct State<R> {
        reader: R,
        position: u64,
        left: u64,
    }
    let state = Some(State { reader, position: start, left: count });
    futures_util::stream::unfold(state, move |state| async move {
        let mut state = state?;
        if state.left == 0 {
            return None;
        }
        let want = usize::try_from(state.left).map_or(piece, |left| left.min(piece));
        // Never closed, so acquiring only waits.
        let permit = readers().acquire().await.ok()?;
        let read = tokio::task::spawn_blocking(move || {
            let mut buf = vec![0u8; want];
            let result = state
                .reader
                .seek(SeekFrom::Start(state.position))
                .and_then(|_| state.reader.read_exact(&mut buf))
                .map(|()| finish(buf));
            (state, result)
        })
        .await;
        drop(permit);
        match read {
            Ok((mut state, Ok(bytes))) => {
                state.position += want as u64;
                state.left -= want as u64;
                Some((Ok(bytes), Some(state)))
            }
            Ok((_, Err(e))) => {
                tracing::error!(error = %e, "reading the image failed mid-stream");
                Some((Err(e), None))
            }
            Err(e) => Some((Err(io::Error::other(e)), None)),
        }
    })
}

/// Pieces being read at once, server-wide: two per core. A read of a cached piece takes tens
/// of microseconds; with a thousand transfers under way, a thread for each would crowd the
/// request handlers off the CPU (API calls slowed by an order of magnitude in bench/delivery.sh).
fn readers() -> &'static tokio::sync::Semaphore {
    static READERS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    READERS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        tokio::sync::Semaphore::new(2 * cores)
    })
}

/// A response body from a stream of pieces.
pub(crate) fn stream_body(stream: impl futures_util::Stream<Item = io::Result<Bytes>> + Send + 'static) -> Body {
    Body::from_stream(stream)
}
