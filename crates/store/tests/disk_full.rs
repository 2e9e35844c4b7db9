//! A disk that really fills up mid-run: the store directory sits on a tmpfs
//! of 2 MiB, most of it taken by a filler file. Puts fail with a clear error
//! once no new CommitLog file fits, nothing acknowledged is lost, no
//! half-made file is left behind, and puts work again once space is freed.
//!
//! Mounting needs root (or CAP_SYS_ADMIN): without it the test says so and
//! passes without running.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;
use rmq_model::QueueOffset;
use rmq_store::{AcceptAll, FixedDiskUsage, MessageStore, PutMessageStatus, StoreError, StoreHooks};

/// A tmpfs mounted over a temporary directory, unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .ok()?;
        if !out.status.success() {
            eprintln!("SKIPPED: cannot mount a tmpfs here ({})", String::from_utf8_lossy(&out.stderr).trim());
            return None;
        }
        Some(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

fn commitlog_files(dir: &Path) -> Vec<(PathBuf, u64)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.path(), e.metadata().unwrap().len())
        })
        .collect();
    files.sort();
    files
}

#[test]
fn a_full_disk_refuses_puts_loses_nothing_and_recovers_when_space_is_freed() {
    let Some(fs) = Tmpfs::mount("2m") else { return };
    let root = fs.path().join("store");
    let mut cfg = sync_config(&root);
    cfg.clean_file_forcibly_enable = false;
    // The store's own disk-ratio guard would refuse puts first; the point
    // here is what happens when the filesystem itself says ENOSPC.
    let hooks = StoreHooks { disk: FixedDiskUsage::new(0.1), ..StoreHooks::default() };
    let store = MessageStore::open(cfg.clone(), hooks).unwrap();
    let filler = fs.path().join("filler");
    std::fs::write(&filler, vec![1u8; 1536 * 1024]).unwrap();

    let mut acked = Vec::new();
    let refused = loop {
        let body = format!("{:06}", acked.len()).repeat(170);
        match store.put_and_wait(&msg("D", 0, body.as_bytes(), b"")) {
            Ok(put) => acked.push((put.queue_offset.0, body)),
            Err(e) => break e,
        }
        assert!(acked.len() < 5_000, "the disk never filled");
    };
    assert!(acked.len() > 64, "several files were written first: {}", acked.len());
    assert!(matches!(refused, StoreError::CreateMappedFileFailed { .. }), "{refused}");
    assert_eq!(refused.put_status(), PutMessageStatus::CreateMappedFileFailed);
    assert!(refused.to_string().contains("No space left"), "says why: {refused}");

    // Retries fail the same way and leave no half-made file behind.
    for _ in 0..3 {
        let again = store.put_and_wait(&msg("D", 0, b"refused", b""));
        assert!(matches!(again, Err(StoreError::CreateMappedFileFailed { .. })), "{again:?}");
    }
    let files = commitlog_files(&cfg.store_path_commit_log);
    assert!(files.iter().all(|(_, len)| *len == cfg.mapped_file_size_commit_log), "{files:?}");

    std::fs::remove_file(&filler).unwrap();
    let after = store.put_and_wait(&msg("D", 0, b"after space was freed", b"")).unwrap();
    assert_eq!(after.queue_offset.0, acked.len() as u64, "no queue offset lost to the failed puts");
    assert!(store.wait_dispatched(store.max_physical_offset(), Duration::from_secs(10)), "dispatch caught up");
    for (offset, body) in &acked {
        let got = store.get_messages("D", 0, QueueOffset(*offset), 1, &AcceptAll);
        let bytes = got.messages.first().unwrap_or_else(|| panic!("acknowledged message {offset} is readable"));
        assert_eq!(decode(bytes).body, body.as_bytes());
    }
    assert_eq!(body_of(&store, "D", 0, acked.len() as u64).as_deref(), Some(&b"after space was freed"[..]));
    store.shutdown().unwrap();
}
