//! Faults injected at the store's system calls, for unit tests only.
//!
//! A failed `mmap`, a failed directory fsync or a failed `msync` cannot be
//! provoked portably from outside the process: a full disk makes `fallocate`
//! fail first, and a writeback error needs a failing device. The code that
//! handles them is tested by making the call itself report an error. Outside
//! `cfg(test)` [`check`] is an empty inline function.
//!
//! A fault is armed for the files under one directory, so that tests running
//! in parallel, each in its own temporary directory, never meet another's.

use std::io;
use std::path::Path;

/// A system call the store can be made to fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// Mapping a newly created segment file.
    Mmap,
    /// Fsyncing the directory after a segment file was created in it.
    SyncDir,
    /// Flushing a segment's pages (`msync`).
    Msync,
}

/// Fails with an injected `EIO` if a fault for `op` is armed over `path`.
#[cfg(not(test))]
#[inline(always)]
pub(crate) fn check(_path: &Path, _op: Op) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
pub(crate) use armed::{arm, check};

#[cfg(test)]
mod armed {
    use super::*;
    use std::path::PathBuf;
    use std::sync::Mutex;

    /// Directory, system call, failures left.
    static FAULTS: Mutex<Vec<(PathBuf, Op, u32)>> = Mutex::new(Vec::new());

    /// Makes the next `times` calls of `op` on files under `dir` fail.
    pub(crate) fn arm(dir: &Path, op: Op, times: u32) {
        FAULTS.lock().unwrap_or_else(|p| p.into_inner()).push((dir.to_owned(), op, times));
    }

    /// Fails with an injected `EIO` if a fault for `op` is armed over `path`.
    pub(crate) fn check(path: &Path, op: Op) -> io::Result<()> {
        let mut faults = FAULTS.lock().unwrap_or_else(|p| p.into_inner());
        let Some(fault) = faults.iter_mut().find(|(dir, o, left)| *o == op && *left > 0 && path.starts_with(dir))
        else {
            return Ok(());
        };
        fault.2 -= 1;
        Err(io::Error::other(format!("injected {op:?} failure (EIO)")))
    }
}
