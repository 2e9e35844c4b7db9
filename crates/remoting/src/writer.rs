//! The writer task of a connection: the only code that writes to its socket.
//!
//! Frames arrive on a bounded queue. Whatever is queued when the writer wakes
//! goes out as one batch: headers and small bodies are encoded back to back
//! into one buffer, large body chunks (pull responses made of records mapped
//! from the store) are sent from where they lie with vectored writes, never
//! copied. A batch is written as soon as the queue is drained, so a lone frame
//! is never held back waiting for company (beyond letting the tasks that are
//! ready to run go first).
//!
//! A peer that reads nothing fills its receive window and then our socket's
//! send buffer; our writes stop making progress. After `write_timeout`
//! without a byte going out, the connection is closed and everything queued
//! for it is dropped: pull responses hold mapped store files, which would
//! otherwise stay pinned for as long as the peer cares to keep the socket.

use bytes::{Buf, Bytes, BytesMut};
use rmq_protocol::command::FLAG_RESPONSE;
use rmq_protocol::{FrameError, RemotingCommand, ResponseCode, frame};
use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::driver::Context;
use crate::tls::WriteHalf;
use crate::{Connection, RemotingError};

/// Body chunks up to this size are copied next to their header; larger ones
/// are written from their own buffer.
const COPY_MAX: usize = 8 * 1024;
/// A batch stops taking frames beyond this many bytes ...
const BATCH_BYTES: usize = 256 * 1024;
/// ... or this many frames.
const BATCH_FRAMES: usize = 256;
/// Buffers in one vectored write.
const MAX_IOV: usize = 64;
/// The encode buffer is given back after a batch that grew it beyond this.
const KEEP_CAPACITY: usize = 1024 * 1024;
const INITIAL_CAPACITY: usize = 8 * 1024;

/// Why a batch could not be written.
#[derive(Debug)]
enum WriteError {
    /// Not a byte went out for this long.
    Stalled(Duration),
    Io(io::Error),
}

impl From<io::Error> for WriteError {
    fn from(error: io::Error) -> WriteError {
        WriteError::Io(error)
    }
}

/// Runs until the connection is closed (queued frames are then dropped) or
/// `finish` is cancelled (queued frames are written first, then the write
/// side is shut down).
pub(crate) async fn run(
    mut socket: WriteHalf,
    mut queue: mpsc::Receiver<RemotingCommand>,
    conn: Connection,
    requests: TaskTracker,
    finish: CancellationToken,
    ctx: Arc<Context>,
) {
    let stall_limit = ctx.settings.write_timeout;
    let mut closed = pin!(conn.closed_token().cancelled());
    let mut finishing = pin!(finish.cancelled());
    let mut batch = Batch::new();
    let mut draining = false;
    loop {
        let first = if draining {
            match queue.try_recv() {
                Ok(frame) => frame,
                Err(_) => break,
            }
        } else {
            tokio::select! {
                biased;
                _ = &mut closed => return,
                frame = queue.recv() => match frame {
                    Some(frame) => frame,
                    None => break,
                },
                _ = &mut finishing => {
                    draining = true;
                    continue;
                }
            }
        };
        if !draining && !requests.is_empty() {
            // Woken by the first response of a wave (the sends one flush
            // acknowledged), the writer would run next on this worker, before
            // the tasks that queue the rest: it lets them run first so the
            // wave goes out in one write, not one each. (Requests answered in
            // the read loop are all queued before the writer can run.)
            tokio::task::yield_now().await;
        }
        batch.push(&conn, first);
        while !batch.is_full() {
            match queue.try_recv() {
                Ok(frame) => batch.push(&conn, frame),
                Err(_) => break,
            }
        }
        tokio::select! {
            biased;
            _ = &mut closed => return,
            written = batch.write_to(&mut socket, stall_limit) => match written {
                Ok(()) => {}
                Err(WriteError::Stalled(limit)) => {
                    tracing::warn!(
                        conn = %conn.id(),
                        "closing the connection from {}: it read nothing for {limit:?} ({} frames queued are dropped)",
                        conn.remote_addr(),
                        batch.frames + queue.len()
                    );
                    ctx.counters.write_timed_out();
                    conn.close();
                    return;
                }
                Err(WriteError::Io(e)) => {
                    tracing::debug!(conn = %conn.id(), "write to {} failed: {e}", conn.remote_addr());
                    conn.close();
                    return;
                }
            }
        }
        conn.touch();
    }
    tokio::select! {
        biased;
        _ = &mut closed => {}
        _ = socket.shutdown() => {}
    }
}

/// Frames encoded and waiting to be written together.
struct Batch {
    /// Headers and small bodies, back to back.
    head: BytesMut,
    /// When the batch holds large body chunks: everything in order, `head`
    /// split off before each large chunk. Empty otherwise.
    segments: Vec<Bytes>,
    large_bytes: usize,
    frames: usize,
}

impl Batch {
    fn new() -> Batch {
        Batch { head: BytesMut::with_capacity(INITIAL_CAPACITY), segments: Vec::new(), large_bytes: 0, frames: 0 }
    }

    fn is_full(&self) -> bool {
        self.frames >= BATCH_FRAMES || self.head.len() + self.large_bytes >= BATCH_BYTES
    }

    fn push(&mut self, conn: &Connection, cmd: RemotingCommand) {
        let start = self.head.len();
        if let Err(error) = frame::encode_head(&cmd, &mut self.head) {
            self.head.truncate(start);
            self.unencodable(conn, cmd, error);
            return;
        }
        for chunk in cmd.body.chunks() {
            if chunk.len() <= COPY_MAX {
                self.head.extend_from_slice(chunk);
            } else {
                if !self.head.is_empty() {
                    self.segments.push(self.head.split().freeze());
                }
                self.segments.push(chunk.clone());
                self.large_bytes += chunk.len();
            }
        }
        self.frames += 1;
    }

    /// A command whose header cannot be encoded (a header beyond 16 MiB): a
    /// request of ours fails its caller; a response is replaced by an error
    /// response so the peer is not left waiting.
    fn unencodable(&mut self, conn: &Connection, cmd: RemotingCommand, error: FrameError) {
        tracing::warn!(conn = %conn.id(), "cannot encode a frame (code {}) for {}: {error}", cmd.code, conn.remote_addr());
        if cmd.is_response() {
            let mut answer = RemotingCommand::response(
                ResponseCode::SystemError,
                Some(format!("cannot encode the response: {error}")),
            );
            answer.opaque = cmd.opaque;
            answer.serialize_type = cmd.serialize_type;
            answer.flag |= FLAG_RESPONSE;
            if frame::encode_head(&answer, &mut self.head).is_ok() {
                self.frames += 1;
            }
        } else {
            conn.fail(cmd.opaque, RemotingError::Frame(error));
        }
    }

    /// Writes the batch; fails with `Stalled` if one write waits longer
    /// than `stall_limit` for the socket to take a byte.
    async fn write_to(&mut self, socket: &mut WriteHalf, stall_limit: Option<Duration>) -> Result<(), WriteError> {
        if self.segments.is_empty() {
            let mut written = 0;
            while written < self.head.len() {
                let n = progress(stall_limit, socket.write(&self.head[written..])).await?;
                if n == 0 {
                    return Err(io::Error::from(io::ErrorKind::WriteZero).into());
                }
                written += n;
            }
            self.head.clear();
        } else {
            if !self.head.is_empty() {
                self.segments.push(self.head.split().freeze());
            }
            write_segments(socket, &mut self.segments, stall_limit).await?;
            self.segments.clear();
        }
        // TLS holds records back until flushed; a TCP socket has nothing to
        // flush. A peer that reads nothing stalls a flush too.
        match stall_limit {
            Some(limit) => {
                tokio::time::timeout(limit, socket.flush()).await.map_err(|_| WriteError::Stalled(limit))??
            }
            None => socket.flush().await?,
        }
        if self.head.capacity() > KEEP_CAPACITY {
            self.head = BytesMut::with_capacity(INITIAL_CAPACITY);
        }
        self.large_bytes = 0;
        self.frames = 0;
        Ok(())
    }
}

/// One write, which must take a byte within `stall_limit` (if any).
async fn progress(
    stall_limit: Option<Duration>,
    write: impl Future<Output = io::Result<usize>>,
) -> Result<usize, WriteError> {
    match stall_limit {
        Some(limit) => match tokio::time::timeout(limit, write).await {
            Ok(written) => Ok(written?),
            Err(_) => Err(WriteError::Stalled(limit)),
        },
        None => Ok(write.await?),
    }
}

/// Writes every segment, in order, with as few syscalls as the socket allows.
async fn write_segments(
    socket: &mut WriteHalf,
    segments: &mut [Bytes],
    stall_limit: Option<Duration>,
) -> Result<(), WriteError> {
    let mut first = 0;
    while first < segments.len() {
        let mut iov = [IoSlice::new(&[]); MAX_IOV];
        let mut count = 0;
        for segment in segments[first..].iter().filter(|s| !s.is_empty()).take(MAX_IOV) {
            iov[count] = IoSlice::new(segment);
            count += 1;
        }
        if count == 0 {
            break;
        }
        let mut written = progress(stall_limit, socket.write_vectored(&iov[..count])).await?;
        if written == 0 {
            return Err(io::Error::from(io::ErrorKind::WriteZero).into());
        }
        while written > 0 {
            let segment = &mut segments[first];
            let n = written.min(segment.len());
            segment.advance(n);
            written -= n;
            if segment.is_empty() {
                first += 1;
            }
        }
        while first < segments.len() && segments[first].is_empty() {
            first += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn segments_are_written_in_order_across_partial_writes() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let reader = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut all = Vec::new();
            tokio::io::AsyncReadExt::read_to_end(&mut s, &mut all).await.unwrap();
            all
        });
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (_rd, mut wr) = crate::tls::Stream::from(stream).into_split();
        let mut expected = Vec::new();
        let mut segments = Vec::new();
        for i in 0..200u32 {
            let len = (i as usize * 7919) % 40_000;
            let seg: Vec<u8> = (0..len).map(|j| (i as usize + j) as u8).collect();
            expected.extend_from_slice(&seg);
            segments.push(Bytes::from(seg));
        }
        write_segments(&mut wr, &mut segments, Some(Duration::from_secs(5))).await.unwrap();
        wr.shutdown().await.unwrap();
        drop(wr);
        drop(_rd);
        assert_eq!(reader.await.unwrap(), expected);
    }
}
