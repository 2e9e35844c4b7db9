//! The HA wire: a slave's opening (an rmq replica's hello, or none) and
//! offset reports, read by the master; the master's transfers, read by the
//! slave.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use rmq_replication::codec::{decode_reports, decode_transfer};
use rmq_replication::hello::read_opening;

fuzz_target!(|data: &[u8]| {
    let Some((&which, wire)) = data.split_first() else { return };
    let mut buf = BytesMut::from(wire);
    if which % 2 == 0 {
        if read_opening(&mut buf).is_err() {
            return;
        }
        while let Ok(Some(_)) = decode_reports(&mut buf) {}
    } else {
        while let Ok(Some(_)) = decode_transfer(&mut buf, 1 << 20) {}
    }
});
