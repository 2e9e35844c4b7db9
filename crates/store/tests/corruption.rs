//! Damaged store directories: torn and corrupted tails are cut, never served;
//! damage that is not a tail, foreign or missing files and unwritable
//! directories are clear errors naming the file, and nothing is lost silently.

mod common;

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use common::*;
use rmq_model::QueueOffset;
use rmq_store::{AcceptAll, GetMessageStatus, MessageStore, PutResult, StoreError, StoreHooks};

/// A store with `n` messages of ~3 KB in queue 0, cleanly shut down.
fn fill(root: &Path, n: usize) -> Vec<PutResult> {
    let store = open(&small_config(root));
    let puts = (0..n)
        .map(|i| {
            let mut body = format!("message-{i}-").into_bytes();
            body.resize(3000, b'x');
            store.put(&msg("T", 0, &body, b"")).unwrap()
        })
        .collect();
    store.shutdown().unwrap();
    puts
}

fn commitlog_files(root: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(root.join("commitlog")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

fn poke(path: &Path, at: u64, bytes: &[u8]) {
    OpenOptions::new().write(true).open(path).unwrap().write_all_at(bytes, at).unwrap();
}

fn file_of(root: &Path, offset: u64) -> (PathBuf, u64) {
    let size = small_config(root).mapped_file_size_commit_log;
    (root.join("commitlog").join(format!("{:020}", offset / size * size)), offset % size)
}

fn assert_first_n_intact(store: &MessageStore, n: u64) {
    let mut q = 0;
    while q < n {
        let r = store.get_messages("T", 0, QueueOffset(q), 32, &AcceptAll);
        assert_eq!(r.status, GetMessageStatus::Found);
        for (m, off) in r.messages.iter().zip(&r.queue_offsets) {
            assert!(decode(m).body.starts_with(format!("message-{}-", off.0).as_bytes()));
        }
        q = r.next_begin_offset.0;
    }
}

#[test]
fn corrupted_last_record_is_cut_and_its_offsets_reused() {
    let dir = tempfile::tempdir().unwrap();
    let puts = fill(dir.path(), 60);
    let last = puts.last().unwrap();
    let (path, pos) = file_of(dir.path(), last.offset.0);
    poke(&path, pos + 200, b"CORRUPT");
    let store = open(&small_config(dir.path()));
    assert_eq!(store.max_physical_offset(), last.offset, "the damaged record is cut");
    assert_eq!(store.max_offset_in_queue("T", 0), QueueOffset(59));
    assert!(store.message_at(last.offset).is_none());
    assert_first_n_intact(&store, 59);
    // The next put takes the cut record's place and queue offset.
    let again = store.put(&msg("T", 0, b"message-59-again", b"")).unwrap();
    assert_eq!((again.offset, again.queue_offset), (last.offset, QueueOffset(59)));
}

#[test]
fn damage_before_valid_records_in_the_same_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let puts = fill(dir.path(), 60);
    let last = puts.last().unwrap();
    let victim = &puts[puts.len() - 3];
    assert_eq!(file_of(dir.path(), victim.offset.0).0, file_of(dir.path(), last.offset.0).0);
    let (path, pos) = file_of(dir.path(), victim.offset.0);
    poke(&path, pos + 300, b"BITROT");
    let err = MessageStore::open(small_config(dir.path()), StoreHooks::default()).unwrap_err().to_string();
    let (_, next_pos) = file_of(dir.path(), puts[puts.len() - 2].offset.0);
    assert!(err.contains(path.to_str().unwrap()), "{err}");
    assert!(err.contains(&format!("file offset {pos}")), "names the damage: {err}");
    assert!(err.contains(&format!("valid record at file offset {next_pos}")), "names what follows: {err}");
}

#[test]
fn torn_tail_of_a_truncated_last_file_is_cut() {
    let dir = tempfile::tempdir().unwrap();
    let puts = fill(dir.path(), 60);
    let last = puts.last().unwrap();
    let (path, pos) = file_of(dir.path(), last.offset.0);
    // Cut the file in the middle of its last record, as a crashed copy would.
    OpenOptions::new().write(true).open(&path).unwrap().set_len(pos + 1000).unwrap();
    let store = open(&small_config(dir.path()));
    assert_eq!(store.max_physical_offset(), last.offset);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), small_config(dir.path()).mapped_file_size_commit_log);
    assert_first_n_intact(&store, 59);
}

#[test]
fn bad_magic_after_an_abnormal_exit_is_cut_too() {
    let dir = tempfile::tempdir().unwrap();
    let puts = fill(dir.path(), 30);
    std::fs::write(dir.path().join("abort"), b"").unwrap();
    let last = &puts[29];
    let (path, pos) = file_of(dir.path(), last.offset.0);
    poke(&path, pos + 4, &[0, 0, 0, 0]);
    let store = open(&small_config(dir.path()));
    assert_eq!(store.max_offset_in_queue("T", 0), QueueOffset(29));
    assert_first_n_intact(&store, 29);
}

#[test]
fn damage_before_valid_later_files_is_refused_not_cut() {
    let dir = tempfile::tempdir().unwrap();
    let puts = fill(dir.path(), 80);
    let files = commitlog_files(dir.path());
    assert!(files.len() >= 3, "need several files");
    // Damage a record in the second-last file; the last file stays valid.
    // Its last record: only the blank follows in that file, so the valid data
    // that follows is the next file's.
    let victim = puts.iter().rev().find(|p| file_of(dir.path(), p.offset.0).0 == files[files.len() - 2]).unwrap();
    let (path, pos) = file_of(dir.path(), victim.offset.0);
    poke(&path, pos + 100, b"BITROT");
    let err = MessageStore::open(small_config(dir.path()), StoreHooks::default()).unwrap_err();
    let text = err.to_string();
    assert!(text.contains(files.last().unwrap().to_str().unwrap()), "names the later file: {text}");
    assert!(text.contains(&format!("file offset {pos}")), "names the damaged offset: {text}");
    assert!(text.contains("CRC"), "{text}");
    // Nothing was cut: the later file is untouched.
    let size = small_config(dir.path()).mapped_file_size_commit_log;
    assert_eq!(std::fs::metadata(files.last().unwrap()).unwrap().len(), size);
    assert_eq!(commitlog_files(dir.path()), files);
}

#[test]
fn truncated_middle_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path(), 60);
    let files = commitlog_files(dir.path());
    OpenOptions::new().write(true).open(&files[0]).unwrap().set_len(1000).unwrap();
    let err = MessageStore::open(small_config(dir.path()), StoreHooks::default()).unwrap_err();
    assert!(matches!(err, StoreError::BadFile { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains(files[0].to_str().unwrap()) && text.contains("1000 bytes"), "{text}");
}

#[test]
fn foreign_and_missing_files_are_errors_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path(), 60);
    let foreign = dir.path().join("commitlog").join("notes.txt");
    std::fs::write(&foreign, b"hello").unwrap();
    let err = MessageStore::open(small_config(dir.path()), StoreHooks::default()).unwrap_err().to_string();
    assert!(err.contains("notes.txt") && err.contains("foreign"), "{err}");
    std::fs::remove_file(&foreign).unwrap();
    let cq_foreign = dir.path().join("consumequeue").join("T").join("zero");
    std::fs::create_dir_all(&cq_foreign).unwrap();
    let err = MessageStore::open(small_config(dir.path()), StoreHooks::default()).unwrap_err().to_string();
    assert!(err.contains("zero"), "{err}");
    std::fs::remove_dir(&cq_foreign).unwrap();
    let files = commitlog_files(dir.path());
    std::fs::remove_file(&files[1]).unwrap();
    let err = MessageStore::open(small_config(dir.path()), StoreHooks::default()).unwrap_err().to_string();
    assert!(err.contains(files[1].file_name().unwrap().to_str().unwrap()) && err.contains("missing"), "{err}");
}

#[test]
fn unwritable_store_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"").unwrap();
    // Tests may run as root, which ignores permission bits: a store root
    // beneath a regular file cannot be created by anyone.
    let err = MessageStore::open(small_config(&file.join("store")), StoreHooks::default()).unwrap_err();
    assert!(matches!(err, StoreError::NotWritable { .. }), "{err}");
    assert!(err.to_string().contains("a-file/store"), "{err}");
}

#[test]
fn stale_consume_queue_entries_past_the_log_are_cut() {
    let dir = tempfile::tempdir().unwrap();
    let puts = fill(dir.path(), 20);
    // Zero the last two records: the queue still points at them.
    let (path, pos) = file_of(dir.path(), puts[18].offset.0);
    poke(&path, pos, &vec![0u8; (puts[19].end_offset.0 - puts[18].offset.0) as usize]);
    let store = open(&small_config(dir.path()));
    assert_eq!(store.max_offset_in_queue("T", 0), QueueOffset(18));
    let r = store.get_messages("T", 0, QueueOffset(18), 32, &AcceptAll);
    assert_eq!(r.status, GetMessageStatus::OffsetOverflowOne);
}

#[test]
fn an_index_header_with_a_wild_count_answers_queries_without_panicking() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = small_config(dir.path());
    let store = open(&cfg);
    for i in 0..20 {
        store.put(&msg("T", 0, format!("m{i}").as_bytes(), format!("KEYS\x01k{i}\x02").as_bytes())).unwrap();
    }
    settle(&store);
    store.shutdown().unwrap();
    drop(store);
    let index = std::fs::read_dir(dir.path().join("index")).unwrap().next().unwrap().unwrap().path();
    // indexCount (header bytes 36..40) claims far more entries than the file
    // holds, and every hash slot points far past its end.
    poke(&index, 36, &i32::MAX.to_be_bytes());
    let slots: Vec<u8> = (0..cfg.max_hash_slot_num).flat_map(|_| (i32::MAX - 1).to_be_bytes()).collect();
    poke(&index, 40, &slots);
    let store = open(&cfg);
    for i in 0..20 {
        let found = store.query_by_key("T", &format!("k{i}"), 32, 0, i64::MAX);
        assert!(found.messages.is_empty(), "k{i}: the damaged index finds nothing, and does not crash");
    }
}
