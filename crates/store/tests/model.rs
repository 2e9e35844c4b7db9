//! Random sequences of put, batch put, flush, reopen (clean or as after a
//! crash) and read, checked against a plain in-memory model of the queues.

mod common;

use std::time::Duration;

use common::*;
use proptest::prelude::*;
use rmq_model::QueueOffset;
use rmq_store::{AcceptAll, GetMessageStatus, MessageStore};

#[derive(Clone, Debug)]
enum Op {
    Put { queue: i32, len: usize },
    Batch { queue: i32, n: usize, len: usize },
    Flush,
    Reopen { abnormal: bool },
    Read { queue: i32, offset: u64, max: u32 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..3i32, 0..4000usize).prop_map(|(queue, len)| Op::Put { queue, len }),
        2 => (0..3i32, 1..6usize, 0..2000usize).prop_map(|(queue, n, len)| Op::Batch { queue, n, len }),
        1 => Just(Op::Flush),
        1 => any::<bool>().prop_map(|abnormal| Op::Reopen { abnormal }),
        4 => (0..3i32, 0..40u64, 1..40u32).prop_map(|(queue, offset, max)| Op::Read { queue, offset, max }),
    ]
}

fn body(n: u64, len: usize) -> Vec<u8> {
    let mut b = n.to_be_bytes().to_vec();
    b.resize(len.max(8), (n % 251) as u8);
    b
}

fn check_read(store: &MessageStore, model: &[Vec<Vec<u8>>], queue: i32, offset: u64, max: u32) {
    settle(store);
    let expected = &model[queue as usize];
    let r = store.get_messages("P", queue, QueueOffset(offset), max, &AcceptAll);
    let len = expected.len() as u64;
    if len == 0 {
        assert!(matches!(r.status, GetMessageStatus::NoMatchedLogicQueue | GetMessageStatus::NoMessageInQueue));
        return;
    }
    assert_eq!(r.max_offset, QueueOffset(len));
    match offset.cmp(&len) {
        std::cmp::Ordering::Equal => assert_eq!(r.status, GetMessageStatus::OffsetOverflowOne),
        std::cmp::Ordering::Greater => {
            assert_eq!((r.status, r.next_begin_offset), (GetMessageStatus::OffsetOverflowBadly, QueueOffset(len)))
        }
        std::cmp::Ordering::Less => {
            assert_eq!(r.status, GetMessageStatus::Found);
            assert!(!r.messages.is_empty() && r.messages.len() <= max as usize);
            assert_eq!(r.next_begin_offset.0, offset + r.messages.len() as u64);
            for (i, m) in r.messages.iter().enumerate() {
                let view = decode(m);
                assert_eq!(view.queue_offset as u64, offset + i as u64);
                assert!(
                    view.body == expected[(offset as usize) + i].as_slice(),
                    "body of {queue}/{}",
                    offset + i as u64
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn store_behaves_like_the_model(ops in proptest::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let cfg = small_config(dir.path());
        let mut store = open(&cfg);
        let mut model: Vec<Vec<Vec<u8>>> = vec![Vec::new(); 3];
        let mut n = 0u64;
        for op in ops {
            match op {
                Op::Put { queue, len } => {
                    n += 1;
                    let b = body(n, len);
                    let put = store.put(&msg("P", queue, &b, b"")).unwrap();
                    prop_assert_eq!(put.queue_offset.0, model[queue as usize].len() as u64);
                    model[queue as usize].push(b);
                }
                Op::Batch { queue, n: count, len } => {
                    let bodies: Vec<_> = (0..count).map(|i| body(n + 1 + i as u64, len)).collect();
                    n += count as u64;
                    let msgs: Vec<_> = bodies.iter().map(|b| msg("P", queue, b, b"")).collect();
                    let put = store.put_batch(&msgs).unwrap();
                    prop_assert_eq!(put.queue_offset.0, model[queue as usize].len() as u64);
                    model[queue as usize].extend(bodies);
                }
                Op::Flush => {
                    store.wait_flushed(store.max_physical_offset(), Duration::from_secs(5)).unwrap();
                }
                Op::Reopen { abnormal } => {
                    store.shutdown().unwrap();
                    drop(store);
                    if abnormal {
                        std::fs::write(dir.path().join("abort"), b"").unwrap();
                    }
                    store = open(&cfg);
                }
                Op::Read { queue, offset, max } => check_read(&store, &model, queue, offset, max),
            }
        }
        for queue in 0..3 {
            for offset in 0..model[queue as usize].len() as u64 {
                check_read(&store, &model, queue, offset, 1);
            }
        }
    }
}
