//! A thread per log destination (stdout, each file) writes the lines the
//! server's threads queue for it, so that a slow disk or a stdout nobody
//! drains costs them no more than a full queue's wait (files) or a dropped
//! line (stdout, [`spawn`]'s `lossy`).
//!
//! This replaces tracing-appender's non-blocking writer for one reason: at
//! exit its `WorkerGuard` waits at most 1 s for the thread to write what is
//! queued (and 100 ms just to queue the request when the queue is full), then
//! lets the process exit with the rest unwritten. Under load that lost the
//! last lines of a shutdown ("shutdown complete"). [`Drain::finish`] waits
//! until the thread has written every line queued before it, up to a cap
//! that only a disk that stopped answering reaches.

/// A lossy writer (stdout) that has written nothing for this long is not
/// waited for at exit: nobody reads that pipe, and a file has the lines.
const STALL: Duration = Duration::from_secs(1);

use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::{Duration, Instant};

use tracing_subscriber::fmt::MakeWriter;

enum Msg {
    Line(Vec<u8>),
    /// Everything queued before has been written: flush and stop.
    Finish,
}

/// The fmt layers' writer: each event is one `write` of one whole line,
/// queued for the thread.
#[derive(Clone, Debug)]
pub struct LineWriter {
    queue: SyncSender<Msg>,
    lossy: bool,
}

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let line = Msg::Line(buf.to_vec());
        // An error is a full queue (lossy) or a finished thread: the line is
        // dropped either way, and a log line is not worth failing the caller.
        if self.lossy {
            let _ = self.queue.try_send(line);
        } else {
            let _ = self.queue.send(line);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LineWriter {
    type Writer = LineWriter;

    fn make_writer(&'a self) -> LineWriter {
        self.clone()
    }
}

/// Ends a writer thread once its queue is written out ([`Drain::finish`]).
#[derive(Debug)]
pub struct Drain {
    queue: SyncSender<Msg>,
    /// Disconnected when the thread has ended (its sender dropped).
    ended: Receiver<()>,
    /// Lines the thread has written, to tell a slow sink from a stuck one.
    written: Arc<AtomicU64>,
    lossy: bool,
}

impl Drain {
    /// Queues the request to stop behind every line queued so far and waits
    /// for the thread to write them, flush and close `sink` (a
    /// [`RollingFile`](super::rolling::RollingFile) also finishes compressing
    /// an archive). False if `deadline` came first, or for a lossy writer
    /// whose sink took no line for [`STALL`].
    pub fn finish(self, deadline: Instant) -> bool {
        let mut progress = (self.written.load(Ordering::Relaxed), Instant::now());
        let mut give_up = || {
            let (now, written) = (Instant::now(), self.written.load(Ordering::Relaxed));
            if written != progress.0 {
                progress = (written, now);
            }
            now >= deadline || (self.lossy && now - progress.1 >= STALL)
        };
        let mut request = Msg::Finish;
        loop {
            match self.queue.try_send(request) {
                Ok(()) | Err(TrySendError::Disconnected(_)) => break,
                // A full queue has room again as soon as the thread writes a
                // line (std's bounded channel cannot wait with a timeout).
                Err(TrySendError::Full(_)) if give_up() => return false,
                Err(TrySendError::Full(back)) => {
                    request = back;
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
        loop {
            match self.ended.recv_timeout(Duration::from_millis(50)) {
                Err(RecvTimeoutError::Disconnected) => return true,
                _ if give_up() => return false,
                _ => {}
            }
        }
    }
}

/// Starts the thread that writes to `sink` the lines queued through the
/// returned writer: up to `lines` wait in the queue, beyond that a `lossy`
/// writer drops the line and any other waits for room.
pub fn spawn(sink: impl Write + Send + 'static, lines: usize, lossy: bool) -> io::Result<(LineWriter, Drain)> {
    let (queue, received) = mpsc::sync_channel(lines);
    let (ended_tx, ended) = mpsc::channel::<()>();
    let written = Arc::new(AtomicU64::new(0));
    let counter = written.clone();
    std::thread::Builder::new().name("rmq-log".into()).spawn(move || {
        let _ended = ended_tx;
        let mut sink = sink;
        while let Ok(Msg::Line(line)) = received.recv() {
            // Write errors (a full disk) are dropped lines, as above.
            let _ = sink.write_all(&line);
            counter.fetch_add(1, Ordering::Relaxed);
        }
        let _ = sink.flush();
    })?;
    Ok((LineWriter { queue: queue.clone(), lossy }, Drain { queue, ended, written, lossy }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A sink as slow as a disk under load: 5 ms a line.
    #[derive(Clone, Default)]
    struct Slow(Arc<Mutex<Vec<u8>>>);

    impl Write for Slow {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            std::thread::sleep(Duration::from_millis(5));
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// 400 queued lines take 2 s to write, twice what tracing-appender's
    /// guard waited (its drop returned with about 200 written): every one is
    /// in the sink when `finish` returns.
    #[test]
    fn finish_waits_until_every_queued_line_is_written() {
        let sink = Slow::default();
        let (mut writer, drain) = spawn(sink.clone(), 1_024, false).unwrap();
        for i in 0..400 {
            writer.write_all(format!("line {i}\n").as_bytes()).unwrap();
        }
        assert!(drain.finish(Instant::now() + Duration::from_secs(30)));
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 400);
        assert!(text.ends_with("line 399\n"), "in order, the last one too");
        // Lines after the end are dropped, never waited on.
        writer.write_all(b"late\n").unwrap();
    }

    /// A sink that never returns: a wedged disk, a pipe nobody reads.
    struct Stuck;

    impl Write for Stuck {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            std::thread::sleep(Duration::from_secs(3600));
            Ok(0)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// A file's writer is waited for until the deadline, and no longer.
    #[test]
    fn finish_gives_up_at_the_deadline() {
        let (mut writer, drain) = spawn(Stuck, 4, false).unwrap();
        writer.write_all(b"never written\n").unwrap();
        let started = Instant::now();
        assert!(!drain.finish(started + Duration::from_millis(300)));
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    /// A lossy writer (stdout) never waits for room, and a stuck one is given
    /// up on after [`STALL`] whatever the deadline.
    #[test]
    fn lossy_writers_drop_lines_and_a_stuck_one_is_not_waited_for() {
        let (mut writer, drain) = spawn(Stuck, 4, true).unwrap();
        for _ in 0..100 {
            writer.write_all(b"dropped when the queue is full\n").unwrap();
        }
        let started = Instant::now();
        assert!(!drain.finish(started + Duration::from_secs(30)));
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
