//! Feeds arbitrary bytes to the remoting frame decoder: it must never panic,
//! leave an incomplete frame untouched, and consume exactly one frame when it
//! decodes one.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut buf = BytesMut::from(data);
    loop {
        let before = buf.clone();
        match rmq_protocol::frame::decode(&mut buf, 1 << 20) {
            Ok(Some(_)) => {
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
