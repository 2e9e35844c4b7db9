//! Property tests of the frame decoder, run with every `cargo test`: the
//! invariants the `frame_decode` fuzz target checks, on random input, plus
//! round trips of random commands in both header encodings.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use rmq_protocol::{ExtFields, LanguageCode, RemotingCommand, SerializeType, frame};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic_and_respect_frame_boundaries(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut buf = BytesMut::from(&data[..]);
        loop {
            let before = buf.clone();
            match frame::decode(&mut buf, 1 << 16) {
                Ok(Some(_)) => {
                    let length = i32::from_be_bytes([before[0], before[1], before[2], before[3]]) as usize;
                    prop_assert_eq!(before.len() - buf.len(), length + 4);
                }
                Ok(None) => {
                    prop_assert_eq!(&buf, &before);
                    break;
                }
                Err(_) => break,
            }
        }
    }

    #[test]
    fn commands_round_trip(
        code in any::<i16>(),
        opaque in any::<i32>(),
        flag in 0..4i32,
        language in 0u8..14,
        remark in proptest::option::of("[ -~\u{e9}\u{4e2d}]{0,40}"),
        ext in proptest::collection::btree_map("[a-zA-Z_]{1,12}", "[ -~]{0,30}", 0..8),
        body in proptest::collection::vec(any::<u8>(), 0..256),
        binary in any::<bool>(),
    ) {
        let cmd = RemotingCommand {
            code: i32::from(code),
            language: LanguageCode::from_code(language),
            version: 409,
            opaque,
            flag,
            remark: remark.filter(|r| !r.is_empty()),
            ext_fields: ext.into_iter().collect::<ExtFields>(),
            body: Bytes::from(body).into(),
            serialize_type: if binary { SerializeType::RocketMq } else { SerializeType::Json },
        };
        let mut buf = BytesMut::new();
        frame::encode(&cmd, &mut buf).unwrap();
        let decoded = frame::decode(&mut buf, 1 << 20).unwrap().unwrap();
        prop_assert!(buf.is_empty());
        let mut expected = cmd;
        if binary {
            // The ROCKETMQ encoding reads an empty value as absent, as Java does.
            expected.ext_fields.retain(|_, v| !v.is_empty());
        }
        prop_assert_eq!(decoded, expected);
    }
}
