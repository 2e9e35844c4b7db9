//! Recovery at open: find the end of the valid CommitLog, cut what follows,
//! and make consume queues and index agree with it, as Java's
//! `CommitLog.recoverNormally`/`recoverAbnormally` do
//! ([`CommitLog.java`](https://github.com/apache/rocketmq/blob/rocketmq-all-4.9.8/store/src/main/java/org/apache/rocketmq/store/CommitLog.java)).
//!
//! * Normal (no `abort` file): scan from the third-last CommitLog file.
//! * After the process died on this boot (`abort` names this boot, see
//!   [`Exit`]): the kernel kept every page the process wrote, so consume
//!   queues and index hold all it dispatched. Scan and re-dispatch only what
//!   follows the furthest consume-queue entry: the work does not grow with
//!   the store.
//! * Abnormal otherwise (power loss, a store from another machine or from
//!   Java): scan from the end of the last record older than the checkpoint
//!   (found through the consume queues, within the newest file whose first
//!   record is older, where Java starts), and re-dispatch every valid record
//!   from there, since consume queues and index may have lost their tails.
//!
//! A record is valid when its magic, length, CRC (with `checkCRCOnRecover`)
//! and physical offset field all check out. The first invalid record ends the
//! log: it and everything after it are zeroed, unless a valid record follows
//! (later in the same file, or at the start of a later file) — then the damage
//! is not a torn tail and the store refuses to open, naming the file and
//! offsets, rather than silently drop acknowledged data.

use std::sync::Arc;

use rmq_model::record::{Decoded, MAGIC_V1, MAGIC_V2};

use crate::checkpoint::Checkpoint;
use crate::commitlog::CommitLog;
use crate::config::StoreConfig;
use crate::consume_queue::ConsumeQueue;
use crate::dispatch::{Dispatch, Progress, Stop};
use crate::error::{Result, StoreError};
use crate::segment::Segment;

/// How the store was last closed, as the `abort` file tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Exit {
    /// No `abort` file: shut down cleanly, everything flushed.
    Clean,
    /// `abort` holds this boot's id: the process died (SIGKILL, a panic, the
    /// OOM killer) but the machine did not, so the page cache still holds
    /// every byte the process wrote to its mapped files.
    ProcessCrash,
    /// `abort` without this boot's id: the machine went down, or another
    /// program (Java's broker) wrote it. Only flushed data can be trusted.
    Unclean,
}

/// The kernel's id of the running boot, if it tells one.
pub(crate) fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty())
}

impl Exit {
    /// Reads the `abort` file at `path`.
    pub(crate) fn of(path: &std::path::Path) -> Exit {
        let Ok(text) = std::fs::read_to_string(path) else {
            return if path.exists() { Exit::Unclean } else { Exit::Clean };
        };
        match boot_id() {
            Some(id) if text.trim() == id => Exit::ProcessCrash,
            _ => Exit::Unclean,
        }
    }
}

/// What recovery decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Recovered {
    /// End of the valid CommitLog: the new written and flushed offset.
    pub end: u64,
    /// Where the dispatcher resumes.
    pub dispatch_from: u64,
    /// Store time of the last valid record, 0 if none was scanned.
    pub last_store_timestamp: i64,
    /// Where the CommitLog scan started.
    pub scanned_from: u64,
    /// Where dispatching into consume queues and index started again (`end`
    /// when nothing was dispatched again).
    pub redispatched_from: u64,
}

enum Step {
    Next(u64, i64),
    Invalid(StoreError),
}

pub(crate) fn recover(d: &Dispatch, cfg: &StoreConfig, exit: Exit, cp: &Checkpoint) -> Result<Recovered> {
    let abnormal = exit != Exit::Clean;
    let cl = d.commitlog();
    let segs = cl.segments();
    if segs.is_empty() {
        for cq in d.queues().remove_all() {
            cq.destroy()?;
        }
        if let Some(index) = d.index() {
            index.destroy()?;
        }
        cl.truncate_after_recovery(0, None)?;
        return Ok(Recovered {
            end: 0,
            dispatch_from: 0,
            last_store_timestamp: 0,
            scanned_from: 0,
            redispatched_from: 0,
        });
    }
    let from = match exit {
        Exit::Clean => segs[segs.len().saturating_sub(3)].base(),
        Exit::ProcessCrash => dispatched_end(d, cl, &segs),
        Exit::Unclean => checkpoint_start(d, cl, &segs, cfg, cp),
    };
    // After a process crash the page cache is whole: past the end there can
    // only be what one interrupted put wrote, then zeros.
    let dirty = (exit == Exit::ProcessCrash).then(|| cfg.max_message_size as u64 * 2 + (1 << 20));
    let (end, last_ts) = scan(cl, &segs, from, cfg.check_crc_on_recover, dirty)?;
    tracing::info!(?exit, from, end, "CommitLog recovered");
    let (end, dirty) = match cfg.truncate_to.filter(|to| *to < end) {
        Some(to) => {
            check_record_boundary(cl, to)?;
            tracing::warn!(
                "truncating the CommitLog from {end} to {to}: {} bytes the new master never had are dropped",
                end - to
            );
            (to, None)
        }
        None => (end, dirty),
    };
    cl.truncate_after_recovery(end, dirty)?;
    let min = cl.min_offset();
    for cq in d.queues().all() {
        cq.truncate_dirty(end)?;
        cq.correct_min(min);
    }
    // Every record up to `end` is in the consume queues before the store
    // opens: the queues' next offsets are taken from them, and a put given an
    // offset an undispatched record holds would never be served. After a
    // normal shutdown this is usually nothing; with consume queues deleted
    // (to rebuild them) or a CommitLog copied in, it is all of it, as Java
    // waits for at start.
    let redispatch_from = if abnormal {
        from
    } else {
        d.queues().all().iter().map(|q| q.max_physical_end()).max().unwrap_or(0).clamp(min, end)
    };
    if redispatch_from < end {
        tracing::info!(from = redispatch_from, end, "dispatching the CommitLog into consume queues and index");
        let mut progress = Progress { offset: redispatch_from, ..Progress::default() };
        if d.run(&mut progress, end, usize::MAX)? == Stop::Broken {
            return Err(StoreError::bad_file(cl.dir(), format!("re-dispatch stopped at offset {}", progress.offset)));
        }
    }
    Ok(Recovered {
        end,
        dispatch_from: end,
        last_store_timestamp: last_ts,
        scanned_from: from,
        redispatched_from: redispatch_from.min(end),
    })
}

/// A truncation point must be where a record starts: cutting inside one
/// would leave a torn record that the next recovery reads as damage.
fn check_record_boundary(cl: &CommitLog, offset: u64) -> Result<()> {
    let starts_record = cl.decode_at(offset, false, |decoded, _| {
        matches!(decoded, Ok(Decoded::Message(v)) if v.physical_offset == offset as i64)
            || matches!(decoded, Ok(Decoded::EndOfFile { .. }))
    });
    match starts_record {
        Some(true) => Ok(()),
        _ => Err(StoreError::bad_file(cl.dir(), format!("truncation point {offset} is not the start of a record"))),
    }
}

/// Where dispatch stood when the process died: the end of the furthest
/// consume-queue entry (the dispatcher writes index keys before the entry,
/// so the index holds everything below it too). Every record below it was
/// whole in the page cache; what follows is scanned and dispatched again.
fn dispatched_end(d: &Dispatch, cl: &CommitLog, segs: &[Arc<Segment>]) -> u64 {
    let furthest = d.queues().all().iter().map(|q| q.max_physical_end()).max().unwrap_or(0);
    let last = segs.last().map_or(0, |s| s.end());
    furthest.clamp(cl.min_offset().min(last), last)
}

/// The store time before which the checkpoint vouches for the CommitLog and
/// the consume queues (and the index with `messageIndexSafe`).
fn safe_timestamp(cfg: &StoreConfig, cp: &Checkpoint) -> i64 {
    if cfg.message_index_enable && cfg.message_index_safe { cp.min_timestamp_index() } else { cp.min_timestamp() }
}

/// Where recovery after a machine crash starts. Java starts at the newest
/// file whose first record is older than the checkpoint: with 1 GiB files
/// that is up to a GiB to scan and dispatch again, however recent the
/// checkpoint. The consume queues narrow it down: every record before the
/// end of an entry older than the checkpoint is older too (store times never
/// go backwards in file order), so it and its entry reached the disk.
fn checkpoint_start(d: &Dispatch, cl: &CommitLog, segs: &[Arc<Segment>], cfg: &StoreConfig, cp: &Checkpoint) -> u64 {
    let safe_ts = safe_timestamp(cfg, cp);
    let file_start = segs[abnormal_start(cl, segs, safe_ts)].base();
    let last = segs.last().map_or(0, |s| s.end());
    d.queues()
        .all()
        .iter()
        .filter_map(|q| last_end_older_than(cl, q, safe_ts))
        .filter(|end| (file_start..=last).contains(end))
        .max()
        .unwrap_or(file_start)
}

/// The end of the newest record in `q` stored at or before `ts`, found by a
/// binary search over its entries. An entry counts only if the record it
/// points to names this queue and offset: after a machine crash the
/// queue's unflushed tail may hold anything. Whatever the search meets, the
/// answer is the end of a record that is truly older, so at worst it is an
/// earlier start than it could be.
fn last_end_older_than(cl: &CommitLog, q: &ConsumeQueue, ts: i64) -> Option<u64> {
    let older_end = |i: u64| -> Option<u64> {
        let entry = q.entry(i)?;
        cl.decode_at(entry.physical_offset, false, |decoded, _| match decoded {
            Ok(Decoded::Message(v))
                if v.queue_offset == i as i64
                    && v.queue_id == q.queue_id()
                    && v.topic == q.topic()
                    && v.store_timestamp <= ts =>
            {
                Some(entry.physical_offset + u64::from(v.total_size))
            }
            _ => None,
        })
        .flatten()
    };
    let (mut lo, mut hi) = (q.min_offset(), q.max_offset());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if older_end(mid).is_some() { lo = mid + 1 } else { hi = mid }
    }
    lo.checked_sub(1).filter(|i| *i >= q.min_offset()).and_then(older_end)
}

/// The newest file whose first record was stored at or before `safe_ts`.
fn abnormal_start(cl: &CommitLog, segs: &[Arc<Segment>], safe_ts: i64) -> usize {
    (0..segs.len())
        .rev()
        .find(|&i| {
            cl.decode_at(segs[i].base(), false, |decoded, _| match decoded {
                Ok(Decoded::Message(v)) => {
                    (v.magic == MAGIC_V1 || v.magic == MAGIC_V2)
                        && v.store_timestamp != 0
                        && v.store_timestamp <= safe_ts
                }
                _ => false,
            })
            .unwrap_or(false)
        })
        .unwrap_or(0)
}

/// Scans forward from `from`; returns the end of the last valid record and its
/// store time. `dirty` bounds how far past damage valid data is looked for.
fn scan(cl: &CommitLog, segs: &[Arc<Segment>], from: u64, check_crc: bool, dirty: Option<u64>) -> Result<(u64, i64)> {
    let mut offset = from;
    let mut last_ts = 0;
    loop {
        let step = cl.decode_at(offset, check_crc, |decoded, seg| {
            let pos = offset - seg.base();
            let invalid = |reason: String| Step::Invalid(StoreError::bad_file(seg.path(), reason));
            match decoded {
                Ok(Decoded::Message(v)) if v.physical_offset == offset as i64 => {
                    Step::Next(offset + u64::from(v.total_size), v.store_timestamp)
                }
                Ok(Decoded::Message(v)) => invalid(format!(
                    "record at file offset {pos} claims physical offset {}, expected {offset}",
                    v.physical_offset
                )),
                Ok(Decoded::EndOfFile { len }) if offset + u64::from(len) == seg.end() => Step::Next(seg.end(), 0),
                Ok(Decoded::EndOfFile { len }) => {
                    invalid(format!("blank marker at file offset {pos} covers {len} bytes, not the file's rest"))
                }
                Err(source) => Step::Invalid(StoreError::Corrupt { path: seg.path().to_owned(), offset: pos, source }),
            }
        });
        match step {
            None => return Ok((offset, last_ts)),
            Some(Step::Next(next, ts)) => {
                offset = next;
                if ts != 0 {
                    last_ts = ts;
                }
            }
            Some(Step::Invalid(err)) => {
                refuse_if_valid_data_follows(cl, segs, offset, check_crc, dirty, &err)?;
                if !is_zero_at(cl, offset) {
                    tracing::warn!(error = %err, "CommitLog tail cut");
                }
                return Ok((offset, last_ts));
            }
        }
    }
}

/// Searches the rest of the file holding `offset` (or its first `window`
/// bytes) for a record that checks out completely (magic, its own physical
/// offset, length, CRC). Zeros are skipped quickly; this runs only after
/// damage was found.
fn valid_record_after(
    cl: &CommitLog,
    offset: u64,
    check_crc: bool,
    window: Option<u64>,
) -> Option<(std::path::PathBuf, u64)> {
    let seg = cl.segment_for(offset)?;
    let max = window.map_or(usize::MAX, |w| usize::try_from(w).unwrap_or(usize::MAX));
    let rest = cl.read_raw(offset, max)?;
    let magics = [MAGIC_V1.to_be_bytes(), MAGIC_V2.to_be_bytes()];
    let base = offset - seg.base();
    let last = rest.len().saturating_sub(32);
    let found = |i: usize| -> Option<(std::path::PathBuf, u64)> {
        let magic: [u8; 4] = rest[i + 4..i + 8].try_into().ok()?;
        if !magics.contains(&magic) {
            return None;
        }
        let at = offset + i as u64;
        match rmq_model::record::decode(&rest[i..], check_crc) {
            Ok(Decoded::Message(v)) if v.physical_offset == at as i64 => Some((seg.path().to_owned(), at - seg.base())),
            _ => None,
        }
    };
    for (lo, hi) in seg.data_ranges(base, base + rest.len() as u64) {
        let (lo, hi) = ((lo - base) as usize, ((hi - base) as usize).min(last));
        let mut i = lo.max(1);
        while i < hi {
            // A block of zeros holds no record start but in its last 8 bytes
            // (a record's magic, 4 bytes in, is never zero).
            const BLOCK: usize = 4096;
            if i + BLOCK <= hi && rest[i..i + BLOCK].iter().all(|b| *b == 0) {
                i += BLOCK - 8;
                continue;
            }
            if let Some(hit) = found(i) {
                return Some(hit);
            }
            i += 1;
        }
    }
    None
}

fn is_zero_at(cl: &CommitLog, offset: u64) -> bool {
    cl.read_raw(offset, 8).is_some_and(|b| b.iter().all(|x| *x == 0))
}

/// Damage followed by a valid record — later in the same file or at the start
/// of a later file — is not a torn tail: refuse rather than cut it.
fn refuse_if_valid_data_follows(
    cl: &CommitLog,
    segs: &[Arc<Segment>],
    offset: u64,
    check_crc: bool,
    window: Option<u64>,
    err: &StoreError,
) -> Result<()> {
    if let Some((seg, found)) = valid_record_after(cl, offset, check_crc, window) {
        return Err(StoreError::bad_file(
            seg,
            format!(
                "a valid record at file offset {found} follows damaged data ({err}); refusing to cut it: repair or remove the damaged record"
            ),
        ));
    }
    for later in segs.iter().filter(|s| s.base() > offset) {
        let valid = cl
            .decode_at(
                later.base(),
                check_crc,
                |d, _| matches!(d, Ok(Decoded::Message(v)) if v.physical_offset == later.base() as i64),
            )
            .unwrap_or(false);
        if valid {
            return Err(StoreError::bad_file(
                later.path(),
                format!(
                    "holds valid records after damaged data ({err}); refusing to cut them: repair or remove the damaged file"
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_abort_file_tells_a_process_crash_from_a_machine_crash() {
        let dir = tempfile::tempdir().unwrap();
        let abort = dir.path().join("abort");
        assert_eq!(Exit::of(&abort), Exit::Clean);
        std::fs::write(&abort, b"").unwrap();
        assert_eq!(Exit::of(&abort), Exit::Unclean, "Java's empty abort file");
        std::fs::write(&abort, b"00000000-1111-2222-3333-444444444444").unwrap();
        assert_eq!(Exit::of(&abort), Exit::Unclean, "another boot");
        if let Some(id) = boot_id() {
            std::fs::write(&abort, format!("{id}\n")).unwrap();
            assert_eq!(Exit::of(&abort), Exit::ProcessCrash);
        }
    }
}
