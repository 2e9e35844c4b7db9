//! The cost of a send's header on the broker: decoding the frame of a
//! `SEND_MESSAGE_V2` request as Java's producer writes it (JSON header,
//! single-letter keys, properties with `\u0001`/`\u0002` escapes), binding the
//! typed header, and encoding the response's header.
//!
//! ```text
//! cargo bench -p rmq-protocol --bench header
//! ```

use bytes::{Bytes, BytesMut};
use criterion::{Criterion, Throughput, black_box, criterion_group, criterion_main};
use rmq_protocol::RemotingCommand;
use rmq_protocol::header::SendMessageRequestHeaderV2;

/// The broker's allocator, so allocation costs what it costs there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The frame a Java 4.9 producer sends for one 1 KiB message, as its bytes.
fn send_frame() -> BytesMut {
    let mut cmd = RemotingCommand { code: 310, version: 409, opaque: 123_456, ..RemotingCommand::default() };
    for (k, v) in [
        ("a", "please_rename_unique_group_name"),
        ("b", "BenchTopic"),
        ("c", "TBW102"),
        ("d", "4"),
        ("e", "1"),
        ("f", "0"),
        ("g", "1700000000000"),
        ("h", "0"),
        (
            "i",
            "KEYS\u{1}order-42\u{2}UNIQ_KEY\u{1}7F00000100002A9F0000000000000000\u{2}WAIT\u{1}true\u{2}TAGS\u{1}TagA",
        ),
        ("j", "0"),
        ("k", "false"),
        ("l", "16"),
        ("m", "false"),
        ("n", "broker-a"),
    ] {
        cmd.ext_fields.insert(k, v);
    }
    let cmd = cmd.with_body(Bytes::from(vec![b'x'; 1024]));
    let mut buf = BytesMut::new();
    rmq_protocol::frame::encode(&cmd, &mut buf).expect("encode");
    buf
}

fn send_response() -> RemotingCommand {
    RemotingCommand { code: 0, flag: 1, opaque: 123_456, version: 409, ..RemotingCommand::default() }
        .with_ext("msgId", "7F00000100002A9F0000000000012C40")
        .with_ext("queueId", "1")
        .with_ext("queueOffset", "98765")
        .with_ext("transactionId", "7F00000100002A9F0000000000000000")
        .with_ext("MSG_REGION", "DefaultRegion")
        .with_ext("TRACE_ON", "true")
}

fn header(c: &mut Criterion) {
    let frame = send_frame();
    let mut group = c.benchmark_group("send_header");
    group.throughput(Throughput::Elements(1));
    // What the two decode figures include besides decoding: the copy of the
    // frame each iteration starts from.
    group.bench_function("copy_frame", |b| b.iter(|| black_box(frame.clone())));
    group.bench_function("decode_frame", |b| {
        b.iter(|| {
            let mut src = frame.clone();
            let cmd = rmq_protocol::frame::decode(&mut src, 16 << 20).unwrap().unwrap();
            black_box(cmd)
        })
    });
    group.bench_function("decode_frame_and_bind", |b| {
        b.iter(|| {
            let mut src = frame.clone();
            let cmd = rmq_protocol::frame::decode(&mut src, 16 << 20).unwrap().unwrap();
            black_box(cmd.header::<SendMessageRequestHeaderV2>().unwrap())
        })
    });
    let response = send_response();
    let mut out = BytesMut::with_capacity(4096);
    group.bench_function("encode_response", |b| {
        b.iter(|| {
            out.clear();
            rmq_protocol::frame::encode(black_box(&response), &mut out).unwrap();
            black_box(out.len())
        })
    });
    group.finish();
}

criterion_group!(benches, header);
criterion_main!(benches);
