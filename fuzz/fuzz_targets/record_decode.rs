//! Feeds arbitrary bytes to the stored-record decoder.
//!
//! Invariants: decoding never panics; a decoded record never claims more bytes
//! than it was given; encoding the decoded fields again (V1 records) decodes
//! to the same record; iterating back-to-back records and
//! batch bodies never panics either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rmq_model::record::{self, Decoded, NewMessage, Placement};

fuzz_target!(|data: &[u8]| {
    if let Ok(Decoded::Message(v)) = record::decode(data, false) {
        let len = v.total_size as usize;
        assert!(len <= data.len());
        if v.magic == record::MAGIC_V1 {
            let msg = NewMessage {
                topic: v.topic,
                queue_id: v.queue_id,
                flag: v.flag,
                body: v.body,
                properties: v.properties,
                sys_flag: v.sys_flag,
                born_timestamp: v.born_timestamp,
                born_host: v.born_host,
                reconsume_times: v.reconsume_times,
                prepared_transaction_offset: v.prepared_transaction_offset,
            };
            let at = Placement {
                queue_offset: v.queue_offset,
                physical_offset: v.physical_offset,
                store_timestamp: v.store_timestamp,
                store_host: v.store_host,
            };
            let mut out = vec![0u8; len];
            if record::encode_into(&msg, &at, v.body_crc, &mut out).is_ok() {
                // Ports are read as Java ints and kept as u16, so compare the
                // decoded views rather than the raw bytes.
                assert_eq!(record::decode(&out, false), Ok(Decoded::Message(v)), "re-encoding changed the record");
            }
        }
    }
    let _ = record::records(data, true).count();
    let _ = record::decode_batch(data).count();
});
