//! Feeds arbitrary bytes to the remoting frame decoder (both header
//! encodings): it must never panic, leave an incomplete frame untouched,
//! consume exactly one frame when it decodes one, and what it decodes must
//! encode again without panicking.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut buf = BytesMut::from(data);
    loop {
        let before = buf.clone();
        match rmq_protocol::frame::decode(&mut buf, 1 << 20) {
            Ok(Some(cmd)) => {
                let _ = rmq_protocol::frame::encode(&cmd, &mut BytesMut::new());
                let length = i32::from_be_bytes([before[0], before[1], before[2], before[3]]) as usize;
                assert_eq!(before.len() - buf.len(), length + 4, "exactly one frame consumed");
            }
            Ok(None) => {
                assert_eq!(buf, before, "an incomplete frame is left untouched");
                break;
            }
            Err(_) => break,
        }
    }
});
