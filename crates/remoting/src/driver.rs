//! The task behind every connection, on the server and the client alike.
//!
//! It reads frames (two-step decode, bounded by `max_frame` and, once a frame
//! has started, by `frame_timeout`), completes our
//! own pending requests with the responses among them, and runs every
//! incoming request: first right there, and, if it cannot finish at once, in
//! a task of its own so a long-held request (the broker parking a pull, a send
//! waiting for the disk) never delays the next one. Responses go to the writer
//! task ([`crate::writer`]) through the connection's bounded queue.
//!
//! Finishing what can finish in the read loop is what makes a busy connection
//! cheap: the requests of one read are answered back to back and the writer
//! sends their responses in one write, where a task per request would cost a
//! spawn, a wake-up of the other worker and, mostly, a write per response.
//!
//! Shutdown comes in two strengths, both owned by whoever spawned the
//! connection ([`Context`]): `stop` (graceful: take no more requests, let the
//! in-flight ones finish and their responses be written, then close) and
//! `abort` (drop what is still running and close now).

use bytes::BytesMut;
use rmq_protocol::command::FLAG_RESPONSE;
use rmq_protocol::{RemotingCommand, ResponseCode, frame};
use std::any::Any;
use std::future::{Future, poll_fn};
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::limits::LimitCounters;
use crate::tls::{ReadHalf, Stream};
use crate::{Connection, Service, writer};

/// Frames a connection's write queue holds before senders wait.
pub(crate) const WRITE_QUEUE_FRAMES: usize = 1024;

/// Java's remark when the request executor's queue is full (code 2, SYSTEM_BUSY).
pub(crate) use rmq_protocol::remark::OVERLOAD as OVERLOAD_REMARK;

/// Read buffer sizing: a read asks for at least `MIN_READ` bytes of room, and
/// the room offered adapts between `MIN_READ` and `MAX_READ` to the traffic.
/// A frame larger than that grows the buffer by doubling what has actually
/// arrived, never by trusting the length the peer claims, and never past the
/// end of that frame: a peer that stops half-way holds at most its frame.
const MIN_READ: usize = 4 * 1024;
const MAX_READ: usize = 32 * 1024;
/// An empty read buffer larger than this is given back.
const RETAIN_READ: usize = 4 * MAX_READ;

/// Limits every connection of one server (or client) shares.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub max_frame: usize,
    pub max_in_flight: usize,
    /// `None`: never close for idleness.
    pub idle_timeout: Option<Duration>,
    /// Queued frames that make no write progress for this long close the
    /// connection. `None`: wait for ever.
    pub write_timeout: Option<Duration>,
    /// A frame not complete this long after it started closes the
    /// connection. `None`: wait for ever.
    pub frame_timeout: Option<Duration>,
}

/// What the connections of one server (or client) share: limits, the tracker
/// their tasks are spawned on, and the two shutdown signals.
#[derive(Debug)]
pub(crate) struct Context {
    pub settings: Settings,
    pub tracker: TaskTracker,
    /// Graceful stop: no new requests are taken; in-flight ones finish.
    pub stop: CancellationToken,
    /// Forced stop: running requests are dropped and connections closed.
    /// Every connection's `closed` token is a child of this one.
    pub abort: CancellationToken,
    /// Counts the connections the timeouts closed.
    pub counters: Arc<LimitCounters>,
}

/// Why a connection's read loop ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    /// Graceful stop: every request taken in has been answered.
    Drained,
    /// `Connection::close`, a write failure, or a forced stop.
    Closed,
    PeerClosed,
    Idle,
    /// A frame started but did not complete within `frame_timeout`.
    SlowFrame,
    BadFrame,
    ReadFailed,
}

/// Sets up a connection over `stream`: the handle, its writer task (spawned),
/// and the future that reads and dispatches until the connection ends, for
/// the caller to spawn.
pub(crate) fn start<S: Service>(
    stream: Stream,
    service: Arc<S>,
    ctx: Arc<Context>,
) -> io::Result<(Connection, impl Future<Output = ()> + Send + 'static)> {
    let remote = stream.peer_addr()?;
    let local = stream.local_addr()?;
    let (reader, writer) = stream.into_split();
    let (queue, frames) = mpsc::channel(WRITE_QUEUE_FRAMES);
    let conn = Connection::new(remote, local, queue, ctx.abort.child_token());
    let finish = CancellationToken::new();
    // The requests of this connection still running in tasks of their own.
    let requests = TaskTracker::new();
    let writing = ctx.tracker.spawn(writer::run(
        writer,
        frames,
        conn.clone(),
        requests.clone(),
        finish.clone(),
        Arc::clone(&ctx),
    ));
    let handle = conn.clone();
    let drive = async move {
        service.on_connected(&conn);
        let end = read_loop(reader, &conn, &service, &ctx, &requests).await;
        if end != End::Drained {
            conn.close();
        }
        // Lets the writer send what is queued (nothing, if closed) and end.
        finish.cancel();
        let _ = writing.await;
        conn.shut();
        tracing::debug!(conn = %conn.id(), "connection with {} ended: {end:?}", conn.remote_addr());
        service.on_disconnected(&conn);
    };
    Ok((handle, drive))
}

/// Reads and dispatches frames until the connection ends.
///
/// After a graceful stop the loop goes on reading, so that the responses to
/// requests our side sent still arrive, but takes no new request (the peer
/// sees the connection close and tries elsewhere); it ends once the requests
/// it took in are answered.
async fn read_loop<S: Service>(
    mut socket: ReadHalf,
    conn: &Connection,
    service: &Arc<S>,
    ctx: &Arc<Context>,
    requests: &TaskTracker,
) -> End {
    let mut closed = pin!(conn.closed_token().cancelled());
    let mut stop = pin!(ctx.stop.cancelled());
    let mut drained = pin!(requests.wait());
    let mut draining = false;
    let idle = ctx.settings.idle_timeout;
    let mut idle_check = pin!(tokio::time::sleep(idle.unwrap_or(Duration::from_secs(3600))));
    let frame_timeout = ctx.settings.frame_timeout;
    let mut frame_check = pin!(tokio::time::sleep(frame_timeout.unwrap_or(Duration::from_secs(3600))));
    // When the frame now in `buf` started (or the last frame before it
    // completed, on a connection that streams frames back to back).
    let mut partial_since: Option<Instant> = None;
    conn.touch();
    let mut buf = BytesMut::new();
    let mut room = MIN_READ * 2;
    loop {
        let mut completed = false;
        loop {
            match frame::decode(&mut buf, ctx.settings.max_frame) {
                Ok(Some(cmd)) if cmd.is_response() => conn.complete(cmd),
                Ok(Some(cmd)) if draining => {
                    tracing::debug!(conn = %conn.id(), "shutting down: ignoring a request (code {}) from {}", cmd.code, conn.remote_addr());
                }
                Ok(Some(cmd)) => dispatch(cmd, conn, service, ctx, requests),
                Ok(None) => break,
                Err(error) => {
                    tracing::warn!(conn = %conn.id(), "closing the connection from {}: bad frame: {error}", conn.remote_addr());
                    return End::BadFrame;
                }
            }
            completed = true;
        }
        if buf.is_empty() {
            partial_since = None;
        } else if completed || partial_since.is_none() {
            partial_since = Some(Instant::now());
        }
        if buf.is_empty() && buf.capacity() > RETAIN_READ {
            // After a large frame: let go of its allocation (the body may
            // still use it) instead of reading every later frame into it.
            buf = BytesMut::new();
        }
        make_room(&mut buf, room);
        let offered = buf.capacity() - buf.len();
        tokio::select! {
            biased;
            _ = &mut closed => return End::Closed,
            _ = &mut stop, if !draining => {
                draining = true;
                requests.close();
            }
            _ = &mut drained, if draining => return End::Drained,
            _ = &mut idle_check, if idle.is_some() => {
                let due = conn.last_io() + idle.unwrap_or_default();
                if Instant::now() >= due {
                    tracing::info!(conn = %conn.id(), "closing the connection from {}: idle for {:?}", conn.remote_addr(), idle.unwrap_or_default());
                    return End::Idle;
                }
                idle_check.as_mut().reset(due);
            }
            _ = &mut frame_check, if frame_timeout.is_some() => {
                let limit = frame_timeout.unwrap_or_default();
                match partial_since {
                    Some(since) if Instant::now() >= since + limit => {
                        tracing::warn!(
                            conn = %conn.id(),
                            "closing the connection from {}: a frame started {limit:?} ago is still incomplete ({} bytes arrived)",
                            conn.remote_addr(),
                            buf.len()
                        );
                        ctx.counters.frame_timed_out();
                        return End::SlowFrame;
                    }
                    Some(since) => frame_check.as_mut().reset(since + limit),
                    None => frame_check.as_mut().reset(Instant::now() + limit),
                }
            }
            read = socket.read_buf(&mut buf) => match read {
                Ok(0) => {
                    if !buf.is_empty() {
                        tracing::debug!(conn = %conn.id(), "{} hung up in the middle of a frame ({} bytes buffered)", conn.remote_addr(), buf.len());
                    }
                    return End::PeerClosed;
                }
                Ok(n) => {
                    conn.touch();
                    if n == offered {
                        room = (room * 2).min(MAX_READ);
                    } else if n < room / 4 {
                        room = (room / 2).max(MIN_READ);
                    }
                }
                Err(error) => {
                    tracing::debug!(conn = %conn.id(), "read from {} failed: {error}", conn.remote_addr());
                    return End::ReadFailed;
                }
            }
        }
    }
}

/// Makes room for the next read when less than `MIN_READ` is left: `room`
/// bytes, or as many as are buffered when a large frame is arriving (so it
/// is copied a logarithmic number of times), but never past the end of the
/// frame being read: its length was checked against `max_frame` by the
/// decoder, and a peer that stops sending leaves at most its frame behind.
fn make_room(buf: &mut BytesMut, room: usize) {
    if buf.capacity() - buf.len() >= MIN_READ {
        return;
    }
    let additional = room.max(buf.len());
    match frame_missing(buf) {
        Some(missing) if buf.len() + missing > RETAIN_READ => {
            // A large frame: exactly what is asked, where `reserve` may
            // double the allocation past the frame's end.
            let mut bigger = BytesMut::with_capacity(buf.len() + additional.min(missing.max(MIN_READ)));
            bigger.extend_from_slice(buf);
            *buf = bigger;
        }
        // Small frames: `reserve` may reuse the space of frames already
        // taken out, at most `RETAIN_READ` plus one doubling.
        _ => buf.reserve(additional),
    }
}

/// Bytes still to come of the frame at the head of `buf`, once its length
/// prefix has arrived.
fn frame_missing(buf: &[u8]) -> Option<usize> {
    let prefix: [u8; 4] = buf.get(..4)?.try_into().ok()?;
    let total = usize::try_from(i32::from_be_bytes(prefix)).ok()? + 4;
    Some(total.saturating_sub(buf.len())).filter(|&missing| missing > 0)
}

/// Runs a request: to its end if it can finish without waiting, otherwise on
/// in a task of its own; SYSTEM_BUSY beyond the in-flight limit.
fn dispatch<S: Service>(
    cmd: RemotingCommand,
    conn: &Connection,
    service: &Arc<S>,
    ctx: &Arc<Context>,
    requests: &TaskTracker,
) {
    if requests.len() >= ctx.settings.max_in_flight {
        tracing::debug!(conn = %conn.id(), "{} requests in flight from {}: refusing code {}", requests.len(), conn.remote_addr(), cmd.code);
        if !cmd.is_oneway() {
            let busy = RemotingCommand::response(ResponseCode::SystemBusy, Some(OVERLOAD_REMARK.to_owned()));
            // Never wait here: with the write queue full too, the peer is
            // not reading and will time out anyway.
            let _ = conn.outbound().try_send(answer(busy, &cmd));
        }
        return;
    }
    let mut work = Box::pin(serve(cmd, conn.clone(), Arc::clone(service), Arc::clone(ctx)));
    // The first poll's waker may go nowhere: a request that is not done is
    // moved to a task, whose own first poll registers the waker that counts.
    if work.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop())).is_ready() {
        return;
    }
    ctx.tracker.spawn(requests.track_future(work));
}

/// Runs one request through the service and queues its response.
///
/// This future is the body of a task per request, so its size matters: kept
/// under 1 KiB, it stays a small allocation for the allocator.
async fn serve<S: Service>(request: RemotingCommand, conn: Connection, service: Arc<S>, ctx: Arc<Context>) {
    let work = async {
        let oneway = request.is_oneway();
        let code = request.code;
        let (opaque, serialize_type) = (request.opaque, request.serialize_type);
        let response = match catch_panic(service.handle(&conn, request)).await {
            Ok(response) => response,
            Err(panic) => {
                let what = panic_message(&*panic);
                tracing::error!(conn = %conn.id(), "the handler of code {code} from {} panicked: {what}", conn.remote_addr());
                Some(RemotingCommand::response(ResponseCode::SystemError, Some(format!("handler panicked: {what}"))))
            }
        };
        if let Some(mut response) = response.filter(|_| !oneway) {
            response.opaque = opaque;
            response.serialize_type = serialize_type;
            response.flag |= FLAG_RESPONSE;
            queue(&conn, response).await;
        }
    };
    tokio::select! {
        biased;
        _ = work => {}
        _ = ctx.abort.cancelled() => {}
    }
}

/// Queues a frame for the writer, waiting for room if the queue is full.
/// A closed connection takes the frame down with it.
async fn queue(conn: &Connection, frame: RemotingCommand) {
    match conn.outbound().try_send(frame) {
        Ok(()) => {}
        // Rare: the waiting future is large, so it lives on the heap rather
        // than in every request's task.
        Err(mpsc::error::TrySendError::Full(frame)) => {
            let _ = Box::pin(conn.outbound().send(frame)).await;
        }
        Err(mpsc::error::TrySendError::Closed(_)) => {}
    }
}

/// Ties `response` to `request`: its opaque, its header encoding, the
/// response flag.
fn answer(mut response: RemotingCommand, request: &RemotingCommand) -> RemotingCommand {
    response.opaque = request.opaque;
    response.serialize_type = request.serialize_type;
    response.flag |= FLAG_RESPONSE;
    response
}

/// Polls `fut`, turning a panic into an error instead of losing the task.
async fn catch_panic<F: Future>(fut: F) -> Result<F::Output, Box<dyn Any + Send>> {
    let mut fut = pin!(fut);
    poll_fn(|cx| match catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
        Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
        Ok(Poll::Pending) => Poll::Pending,
        Err(panic) => Poll::Ready(Err(panic)),
    })
    .await
}

fn panic_message(panic: &(dyn Any + Send)) -> &str {
    if let Some(s) = panic.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s
    } else {
        "unknown panic"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    struct Echo;

    impl Service for Echo {
        async fn handle(&self, _conn: &Connection, request: RemotingCommand) -> Option<RemotingCommand> {
            Some(RemotingCommand::success().with_body(request.body))
        }
    }

    fn parts() -> (Connection, mpsc::Receiver<RemotingCommand>, Arc<Context>) {
        let (tx, rx) = mpsc::channel(1);
        let addr = "127.0.0.1:1".parse().unwrap();
        let conn = Connection::new(addr, addr, tx, CancellationToken::new());
        let settings = Settings {
            max_frame: 1024,
            max_in_flight: 1,
            idle_timeout: None,
            write_timeout: None,
            frame_timeout: None,
        };
        let ctx = Context {
            settings,
            tracker: TaskTracker::new(),
            stop: CancellationToken::new(),
            abort: CancellationToken::new(),
            counters: Arc::default(),
        };
        (conn, rx, Arc::new(ctx))
    }

    /// One of these lives in every request's task; a parked pull keeps it for
    /// up to 30 s, thousands at a time.
    #[test]
    fn request_task_stays_small() {
        let (conn, _rx, ctx) = parts();
        let task = serve(RemotingCommand::default(), conn, Arc::new(Echo), ctx);
        assert!(std::mem::size_of_val(&task) <= 1024, "{} bytes", std::mem::size_of_val(&task));
    }

    #[tokio::test]
    async fn response_answers_the_request_and_waits_for_room_in_the_queue() {
        let (conn, mut rx, ctx) = parts();
        conn.outbound().try_send(RemotingCommand::default()).unwrap(); // queue full
        let mut request =
            RemotingCommand { code: 7, opaque: 41, ..RemotingCommand::default() }.with_body(Bytes::from_static(b"b"));
        request.serialize_type = rmq_protocol::SerializeType::RocketMq;
        let task = tokio::spawn(serve(request, conn, Arc::new(Echo), ctx));
        assert_eq!(rx.recv().await.unwrap(), RemotingCommand::default());
        let response = rx.recv().await.unwrap();
        task.await.unwrap();
        assert!(response.is_response());
        assert_eq!(response.opaque, 41);
        assert_eq!(response.serialize_type, rmq_protocol::SerializeType::RocketMq);
        assert_eq!(response.body.to_bytes(), Bytes::from_static(b"b"));
    }

    /// Waits until told to, then echoes.
    struct Gate(tokio::sync::Notify);

    impl Service for Gate {
        async fn handle(&self, _conn: &Connection, request: RemotingCommand) -> Option<RemotingCommand> {
            self.0.notified().await;
            Some(RemotingCommand::success().with_body(request.body))
        }
    }

    #[tokio::test]
    async fn a_request_that_can_finish_is_answered_without_a_task_one_that_waits_gets_one() {
        let (conn, mut rx, ctx) = parts();
        let requests = TaskTracker::new();
        dispatch(RemotingCommand { opaque: 1, ..RemotingCommand::default() }, &conn, &Arc::new(Echo), &ctx, &requests);
        assert_eq!((requests.len(), ctx.tracker.len()), (0, 0), "answered in place");
        assert_eq!(rx.try_recv().unwrap().opaque, 1);

        let gate = Arc::new(Gate(tokio::sync::Notify::new()));
        dispatch(RemotingCommand { opaque: 2, ..RemotingCommand::default() }, &conn, &gate, &ctx, &requests);
        assert_eq!((requests.len(), ctx.tracker.len()), (1, 1), "moved to a task");
        assert!(rx.try_recv().is_err());
        gate.0.notify_one();
        assert_eq!(rx.recv().await.unwrap().opaque, 2);
    }

    /// Feeds `buf` the way the read loop does: a read fills the room offered.
    fn arrive(buf: &mut BytesMut, bytes: usize, room: usize) -> usize {
        let mut peak = 0;
        let mut left = bytes;
        while left > 0 {
            make_room(buf, room);
            peak = peak.max(buf.capacity());
            let n = (buf.capacity() - buf.len()).min(left);
            buf.extend_from_slice(&vec![7u8; n]);
            left -= n;
        }
        peak
    }

    #[test]
    fn a_half_frame_holds_what_arrived_not_what_it_claims() {
        let declared: usize = 16 * 1024 * 1024;
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&(declared as i32 - 4).to_be_bytes());
        let peak = arrive(&mut buf, 100 * 1024, MAX_READ);
        assert!(peak <= 2 * 100 * 1024 + MAX_READ, "100 KiB of a 16 MiB frame took {peak} bytes");
    }

    #[test]
    fn a_whole_frame_never_grows_the_buffer_past_its_length() {
        for declared in [1_000_000usize, 5 * 1024 * 1024 + 3, 16 * 1024 * 1024] {
            let mut buf = BytesMut::new();
            buf.extend_from_slice(&(declared as i32 - 4).to_be_bytes());
            let peak = arrive(&mut buf, declared - 4, MAX_READ);
            assert_eq!(buf.len(), declared);
            assert!(peak <= declared + MIN_READ, "a {declared}-byte frame took {peak} bytes");
        }
    }

    #[test]
    fn the_missing_bytes_of_a_frame() {
        assert_eq!(frame_missing(&[0, 0]), None, "no length yet");
        assert_eq!(frame_missing(&[0, 0, 0, 10, 1, 2]), Some(8));
        assert_eq!(frame_missing(&[0, 0, 0, 2, 1, 2]), None, "complete");
        assert_eq!(frame_missing(&[0xFF, 0, 0, 0]), None, "negative: the decoder refuses it");
    }

    #[tokio::test]
    async fn oneway_requests_get_nothing() {
        let (conn, mut rx, ctx) = parts();
        serve(RemotingCommand::default().into_oneway(), conn.clone(), Arc::new(Echo), ctx).await;
        drop(conn);
        assert!(rx.try_recv().is_err());
    }
}
