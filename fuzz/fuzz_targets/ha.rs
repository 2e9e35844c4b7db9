//! The HA wire: a slave's offset reports (read by the master) and the
//! master's transfers (read by the slave).
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use rmq_replication::codec::{decode_reports, decode_transfer};

fuzz_target!(|data: &[u8]| {
    let Some((&which, wire)) = data.split_first() else { return };
    let mut buf = BytesMut::from(wire);
    if which % 2 == 0 {
        while let Ok(Some(_)) = decode_reports(&mut buf) {}
    } else {
        while let Ok(Some(_)) = decode_transfer(&mut buf, 1 << 20) {}
    }
});
