//! A fixed-size file mapped into memory: the unit CommitLog and consume-queue
//! streams are made of.
//!
//! # Invariants (why the unsafe code here is sound)
//!
//! A segment is shared (`Arc`) between one writer and many readers. The owner
//! of the stream (CommitLog or ConsumeQueue) publishes a *written* position with
//! release ordering, and:
//!
//! * the writer only touches bytes at or above the published position, through
//!   raw pointers or a short-lived `&mut [u8]` over exactly the bytes it is about
//!   to publish, while it holds the stream's write lock;
//! * readers only form `&[u8]` (or [`Bytes`]) over bytes below a position they
//!   loaded with acquire ordering, and those bytes are never written again;
//! * the only writes below a published position happen in recovery, before any
//!   reader exists.
//!
//! A mapping stays valid while any `Arc<Segment>` lives, even after the file was
//! deleted, so zero-copy [`Bytes`] handed to the network outlive retention.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use memmap2::{MmapOptions, MmapRaw};

use crate::error::{Result, StoreError};
use crate::faults::{self, Op};

/// Width of the zero-padded decimal offsets that name segment files.
pub const FILE_NAME_DIGITS: usize = 20;

/// The file name of the segment starting at `offset`: 20 decimal digits.
pub fn file_name(offset: u64) -> String {
    format!("{offset:020}")
}

/// The start offset encoded in a segment file name, if it is one.
pub fn parse_file_name(name: &str) -> Option<u64> {
    (name.len() == FILE_NAME_DIGITS && name.bytes().all(|b| b.is_ascii_digit())).then(|| name.parse().ok())?
}

pub(crate) struct Segment {
    path: PathBuf,
    base: u64,
    map: MmapRaw,
    _file: File,
}

impl std::fmt::Debug for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segment").field("path", &self.path).field("base", &self.base).finish()
    }
}

impl Segment {
    /// Creates a new zero-filled file of `size` bytes with its blocks reserved,
    /// so that later writes through the mapping cannot fail for lack of space.
    ///
    /// A creation that fails part way removes the file again: a file left
    /// behind would make every later attempt fail with "file exists", and the
    /// CommitLog could take no put until a restart.
    pub fn create(path: PathBuf, base: u64, size: u64) -> Result<Segment> {
        let fail = |source: io::Error| StoreError::CreateMappedFileFailed { path: path.clone(), source };
        let file = OpenOptions::new().read(true).write(true).create_new(true).open(&path).map_err(fail)?;
        let created = RemoveUnlessKept(Some(&path));
        file.set_len(size).map_err(fail)?;
        reserve(&file, size).map_err(fail)?;
        faults::check(&path, Op::Mmap).map_err(fail)?;
        let map = MmapOptions::new().len(size as usize).map_raw(&file).map_err(fail)?;
        // The new name must survive a power loss as the data flushed into it
        // does: a SYNC_FLUSH acknowledgement may be the file's first record.
        if let Some(dir) = path.parent() {
            faults::check(&path, Op::SyncDir).and_then(|()| fsync_dir(dir)).map_err(fail)?;
        }
        created.keep();
        Ok(Segment { path, base, map, _file: file })
    }

    /// Maps an existing file; the caller has checked its size.
    pub fn open(path: PathBuf, base: u64) -> Result<Segment> {
        let file =
            OpenOptions::new().read(true).write(true).open(&path).map_err(|e| StoreError::io(&path, "open", e))?;
        let map = MmapOptions::new().map_raw(&file).map_err(|e| StoreError::io(&path, "mmap", e))?;
        Ok(Segment { path, base, map, _file: file })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Offset of the segment's first byte in its stream.
    pub fn base(&self) -> u64 {
        self.base
    }

    pub fn size(&self) -> u64 {
        self.map.len() as u64
    }

    /// Offset one past the segment's last byte.
    pub fn end(&self) -> u64 {
        self.base + self.size()
    }

    fn check(&self, pos: u64, len: usize) {
        assert!(pos.checked_add(len as u64).is_some_and(|e| e <= self.size()), "range outside {self:?}");
    }

    /// Bytes `[pos, pos + len)` of the file.
    ///
    /// # Safety
    /// The range must be published (below the owner's written position) or
    /// otherwise not written while the returned slice lives.
    pub unsafe fn slice(&self, pos: u64, len: usize) -> &[u8] {
        self.check(pos, len);
        // SAFETY: in bounds (checked); no concurrent writer by the caller's contract.
        unsafe { std::slice::from_raw_parts(self.map.as_ptr().add(pos as usize), len) }
    }

    /// Mutable bytes `[pos, pos + len)`.
    ///
    /// # Safety
    /// The caller is the stream's single writer, the range is above the
    /// published position, and nothing else reads or writes it meanwhile.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn slice_mut(&self, pos: u64, len: usize) -> &mut [u8] {
        self.check(pos, len);
        // SAFETY: in bounds (checked); exclusive by the caller's contract.
        unsafe { std::slice::from_raw_parts_mut(self.map.as_mut_ptr().add(pos as usize), len) }
    }

    /// Zero-copy bytes `[pos, pos + len)` that keep the mapping alive.
    ///
    /// # Safety
    /// As [`Segment::slice`], for as long as the returned `Bytes` lives: the range
    /// must be published and immutable.
    pub unsafe fn bytes(self: &Arc<Segment>, pos: u64, len: usize) -> Bytes {
        self.check(pos, len);
        Bytes::from_owner(SegmentSlice { segment: self.clone(), pos: pos as usize, len })
    }

    /// Reads a big-endian integer from a published range.
    ///
    /// # Safety
    /// As [`Segment::slice`].
    pub unsafe fn read_u32(&self, pos: u64) -> u32 {
        // SAFETY: forwarded contract.
        u32::from_be_bytes(unsafe { self.slice(pos, 4) }.try_into().unwrap_or([0; 4]))
    }

    /// Forces `[from, to)` to disk (msync).
    pub fn flush(&self, from: u64, to: u64) -> Result<()> {
        if to <= from {
            return Ok(());
        }
        faults::check(&self.path, Op::Msync)
            .and_then(|()| self.map.flush_range(from as usize, (to - from) as usize))
            .map_err(|e| StoreError::io(&self.path, "msync", e))
    }

    /// Pre-faults `[from, to)` writable (`MADV_POPULATE_WRITE`) so that the
    /// writer's copies into it take no page faults. The content is unchanged:
    /// it is a hint to the kernel, not a write, and so races with nothing.
    pub fn populate(&self, from: u64, to: u64) -> bool {
        const MADV_POPULATE_WRITE: libc::c_int = 23;
        let page = page_size();
        let (from, to) = (from - from % page, to.min(self.size()));
        if to <= from {
            return true;
        }
        // SAFETY: the range lies inside the mapping; the advice does not
        // change its content.
        let rc = unsafe {
            libc::madvise(self.map.as_mut_ptr().add(from as usize).cast(), (to - from) as usize, MADV_POPULATE_WRITE)
        };
        rc == 0
    }

    /// The parts of `[from, to)` that may hold non-zero bytes, in order.
    /// Holes and unwritten extents (reserved by fallocate, never written
    /// back) read as zeros: they are left out without touching their pages,
    /// which would fault in and zero-fill every page of a mostly empty
    /// 1 GiB file. Pages the page cache holds count as data. A filesystem
    /// that cannot tell reports the whole range.
    pub fn data_ranges(&self, from: u64, to: u64) -> Vec<(u64, u64)> {
        use std::os::fd::AsRawFd;
        let fd = self._file.as_raw_fd();
        let to = to.min(self.size());
        let mut ranges = Vec::new();
        let mut at = from;
        while at < to {
            // SAFETY: plain syscall on an open descriptor; the file offset it
            // moves is used by nothing else (all access goes through the map).
            let data = unsafe { libc::lseek(fd, at as libc::off_t, libc::SEEK_DATA) };
            if data < 0 {
                // ENXIO: only zeros from `at` on. Anything else: cannot tell.
                if io::Error::last_os_error().raw_os_error() != Some(libc::ENXIO) {
                    ranges.push((at, to));
                }
                break;
            }
            let data = data as u64;
            if data >= to {
                break;
            }
            // SAFETY: as above.
            let hole = unsafe { libc::lseek(fd, data as libc::off_t, libc::SEEK_HOLE) };
            let end = if hole < 0 { to } else { (hole as u64).clamp(data + 1, to) };
            ranges.push((data.max(at), end));
            at = end;
        }
        ranges
    }

    /// Zeroes the file from `pos` to its end: a cut tail can never be mistaken
    /// for records later.
    ///
    /// # Safety
    /// No reader may hold a slice of `[pos, size)`: call during recovery only.
    pub unsafe fn zero_from(&self, pos: u64) -> Result<()> {
        // SAFETY: the caller's contract, passed on.
        unsafe { self.zero_range(pos, self.size()) }
    }

    /// Like [`Segment::zero_from`], from `pos` up to `end` only: for a tail
    /// known to be zeros past `end` (only one interrupted write can lie
    /// there), which spares reading the rest of a large file.
    ///
    /// # Safety
    /// As [`Segment::zero_from`].
    pub unsafe fn zero_range(&self, pos: u64, end: u64) -> Result<()> {
        let end = end.min(self.size());
        for (from, to) in self.data_ranges(pos, end) {
            let mut at = from;
            while at < to {
                let len = (to - at).min(1 << 20) as usize;
                // SAFETY: exclusive by the caller's contract.
                let chunk = unsafe { self.slice_mut(at, len) };
                if chunk.iter().any(|b| *b != 0) {
                    chunk.fill(0);
                }
                at += len as u64;
            }
        }
        self.flush(pos, end)
    }

    /// Removes the file; the mapping stays valid for outstanding readers.
    pub fn delete_file(&self) -> Result<()> {
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(StoreError::io(&self.path, "delete", e)),
            _ => Ok(()),
        }
    }
}

struct SegmentSlice {
    segment: Arc<Segment>,
    pos: usize,
    len: usize,
}

impl AsRef<[u8]> for SegmentSlice {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: built by `Segment::bytes`, whose caller promised the range is
        // published and immutable; the Arc keeps the mapping alive.
        unsafe { self.segment.slice(self.pos as u64, self.len) }
    }
}

fn page_size() -> u64 {
    static PAGE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    // SAFETY: sysconf has no preconditions.
    *PAGE.get_or_init(|| u64::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096).max(1))
}

/// Reserves the file's blocks so writes through the mapping cannot hit ENOSPC
/// (which would be a SIGBUS). Filesystems without fallocate stay sparse.
fn reserve(file: &File, size: u64) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: plain syscall on an open descriptor.
    let rc = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, size as libc::off_t) };
    match rc {
        0 | libc::EOPNOTSUPP | libc::EINVAL => Ok(()),
        errno => Err(io::Error::from_raw_os_error(errno)),
    }
}

/// Fsyncs a directory so that created, renamed or deleted entries persist.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    fsync_dir(dir).map_err(|e| StoreError::io(dir, "fsync directory", e))
}

fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir).and_then(|d| d.sync_all())
}

/// Removes a file just created when dropped, unless [`RemoveUnlessKept::keep`]
/// was called: every early return of a failed creation cleans up.
struct RemoveUnlessKept<'a>(Option<&'a Path>);

impl RemoveUnlessKept<'_> {
    fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for RemoveUnlessKept<'_> {
    fn drop(&mut self) {
        if let Some(path) = self.0
            && let Err(e) = std::fs::remove_file(path)
        {
            tracing::warn!(file = %path.display(), error = %e, "could not remove a file whose creation failed");
        }
    }
}

/// Lists, validates and maps the segment files of one stream directory.
pub(crate) fn load_segments(dir: &Path, file_size: u64, what: &str) -> Result<Vec<Arc<Segment>>> {
    std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, "create directory", e))?;
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| StoreError::io(dir, "list directory", e))? {
        let entry = entry.map_err(|e| StoreError::io(dir, "list directory", e))?;
        let name = entry.file_name();
        let path = entry.path();
        match name.to_str().and_then(parse_file_name) {
            Some(base) => found.push((base, path)),
            None => {
                return Err(StoreError::bad_file(
                    path,
                    format!("foreign file in the {what} directory: names must be 20-digit offsets"),
                ));
            }
        }
    }
    found.sort();
    let mut segments: Vec<Arc<Segment>> = Vec::with_capacity(found.len());
    let count = found.len();
    for (i, (base, path)) in found.into_iter().enumerate() {
        if base % file_size != 0 {
            return Err(StoreError::bad_file(path, format!("start offset is not a multiple of {file_size}")));
        }
        if let Some(prev) = segments.last()
            && prev.end() != base
        {
            let missing = dir.join(file_name(prev.end()));
            return Err(StoreError::bad_file(missing, format!("{what} file missing: the chain has a gap")));
        }
        let len = std::fs::metadata(&path).map_err(|e| StoreError::io(&path, "stat", e))?.len();
        if len != file_size {
            if i + 1 == count && len < file_size {
                tracing::warn!(file = %path.display(), len, "last {what} file is short; extending it with zeros");
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .and_then(|f| f.set_len(file_size))
                    .map_err(|e| StoreError::io(&path, "extend", e))?;
            } else {
                return Err(StoreError::bad_file(
                    path,
                    format!(
                        "{what} file has {len} bytes, expected {file_size} (mappedFileSize changed or file damaged)"
                    ),
                ));
            }
        }
        segments.push(Arc::new(Segment::open(path, base)?));
    }
    Ok(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_twenty_digits() {
        assert_eq!(file_name(1073741824), "00000000001073741824");
        assert_eq!(parse_file_name("00000000001073741824"), Some(1073741824));
        assert_eq!(parse_file_name("0000000000107374182"), None);
        assert_eq!(parse_file_name("0000000000107374182x"), None);
    }

    #[test]
    fn write_read_and_outlive_deletion() {
        let dir = tempfile::tempdir().unwrap();
        let seg = Arc::new(Segment::create(dir.path().join(file_name(0)), 0, 4096).unwrap());
        // SAFETY: single-threaded test, nothing reads the range while writing.
        unsafe { seg.slice_mut(10, 3) }.copy_from_slice(b"abc");
        // SAFETY: written above, no writer afterwards.
        let b = unsafe { seg.bytes(10, 3) };
        seg.delete_file().unwrap();
        drop(seg);
        assert_eq!(&b[..], b"abc");
        assert!(Segment::create(dir.path().join("x"), 0, 4096).is_ok());
        let again = Segment::create(dir.path().join("x"), 0, 4096);
        assert!(matches!(again, Err(StoreError::CreateMappedFileFailed { .. })));
    }

    #[test]
    fn a_creation_that_fails_part_way_leaves_no_file_behind() {
        for op in [Op::Mmap, Op::SyncDir] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(file_name(0));
            faults::arm(dir.path(), op, 1);
            let failed = Segment::create(path.clone(), 0, 4096);
            assert!(matches!(failed, Err(StoreError::CreateMappedFileFailed { .. })), "{op:?}: {failed:?}");
            assert!(!path.exists(), "{op:?}: the half-made file was removed");
            let retried = Segment::create(path.clone(), 0, 4096);
            assert!(retried.is_ok(), "{op:?}: the retry creates the file: {retried:?}");
        }
    }

    #[test]
    fn an_injected_msync_failure_is_reported_with_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let seg = Segment::create(dir.path().join(file_name(0)), 0, 4096).unwrap();
        faults::arm(dir.path(), Op::Msync, 1);
        let err = seg.flush(0, 4096).unwrap_err().to_string();
        assert!(err.contains("msync") && err.contains(&file_name(0)), "{err}");
        assert!(seg.flush(0, 4096).is_ok(), "armed for one call only");
    }

    #[test]
    fn data_ranges_cover_every_written_byte() {
        let dir = tempfile::tempdir().unwrap();
        let size = 1 << 20;
        let seg = Segment::create(dir.path().join(file_name(0)), 0, size).unwrap();
        // SAFETY: single-threaded test.
        unsafe { seg.slice_mut(300_000, 3) }.copy_from_slice(b"abc");
        seg.flush(0, size).unwrap();
        let ranges = seg.data_ranges(4096, size);
        assert!(ranges.iter().any(|(lo, hi)| *lo <= 300_000 && 300_003 <= *hi), "{ranges:?}");
        assert!(ranges.iter().all(|(lo, hi)| 4096 <= *lo && lo < hi && *hi <= size), "{ranges:?}");
        // SAFETY: no reader holds a slice.
        unsafe { seg.zero_from(4096).unwrap() };
        // SAFETY: as above.
        assert_eq!(unsafe { seg.slice(300_000, 3) }, [0, 0, 0]);
    }
}
