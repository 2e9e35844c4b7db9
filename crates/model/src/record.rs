//! The stored message record: the exact bytes of one message in the CommitLog
//! (written by Java's `CommitLog.DefaultAppendMessageCallback`, read by
//! `MessageDecoder.decode`), the end-of-file blank marker and the
//! SEND_BATCH_MESSAGE body (Java's `MessageDecoder.encodeMessage`).
//!
//! The same record is what PULL_MESSAGE, QUERY_MESSAGE and VIEW_MESSAGE_BY_ID
//! bodies carry back to back, so the broker, the admin tools and the benchmark
//! decode with this module too. It is a pure codec: [`encode`] writes into a
//! buffer the caller owns (the store hands it the mapped file), [`decode`]
//! borrows every variable field from the input and never allocates.
//!
//! Layout (big-endian, IPv4 hosts; IPv6 hosts take 20 bytes instead of 8):
//!
//! ```text
//!  0 TOTALSIZE i32      4 MAGICCODE i32     8 BODYCRC i32      12 QUEUEID i32
//! 16 FLAG i32          20 QUEUEOFFSET i64  28 PHYSICALOFFSET i64
//! 36 SYSFLAG i32       40 BORNTIMESTAMP i64 48 BORNHOST 8|20
//! 56 STORETIMESTAMP i64 64 STOREHOST 8|20  72 RECONSUMETIMES i32
//! 76 PREPARED TRANSACTION OFFSET i64       84 BODY len i32 + bytes
//!    TOPIC len u8 (V1) | u16 (V2) + bytes   PROPERTIES len i16 + bytes
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::sysflag::message::{BORNHOST_V6, STOREHOST_V6};

/// MAGICCODE of a message record with a 1-byte topic length (every 4.x record).
pub const MAGIC_V1: i32 = 0xDAA3_20A7_u32 as i32;
/// MAGICCODE of a 5.x record with a 2-byte topic length.
pub const MAGIC_V2: i32 = 0xDAA3_20AB_u32 as i32;
/// MAGICCODE of the blank marker that fills the end of a CommitLog file.
pub const BLANK_MAGIC: i32 = 0xCBD4_3194_u32 as i32;
/// Bytes of the blank marker itself: TOTALSIZE + MAGICCODE. A record is written
/// into a file only if it leaves at least this much room behind it.
pub const BLANK_LEN: usize = 8;
/// Longest topic a V1 record can hold (Java writes the length as a signed byte).
pub const MAX_TOPIC_LEN_V1: usize = 127;
/// Longest properties string (Java writes the length as a signed short).
pub const MAX_PROPERTIES_LEN: usize = i16::MAX as usize;

/// Byte positions of the fixed fields that sit before the first host.
pub mod pos {
    pub const TOTAL_SIZE: usize = 0;
    pub const MAGIC: usize = 4;
    pub const BODY_CRC: usize = 8;
    pub const QUEUE_ID: usize = 12;
    pub const FLAG: usize = 16;
    pub const QUEUE_OFFSET: usize = 20;
    pub const PHYSICAL_OFFSET: usize = 28;
    pub const SYS_FLAG: usize = 36;
    pub const BORN_TIMESTAMP: usize = 40;
    pub const BORN_HOST: usize = 48;
}

/// Position of STORETIMESTAMP, which moves when the born host is IPv6.
pub fn store_timestamp_pos(sys_flag: i32) -> usize {
    pos::BORN_HOST + host_len(sys_flag & BORNHOST_V6 != 0)
}

/// The body CRC exactly as Java computes it: `CRC32(body) & 0x7FFFFFFF`.
pub fn body_crc(body: &[u8]) -> i32 {
    (crc32fast::hash(body) & 0x7FFF_FFFF) as i32
}

fn host_len(v6: bool) -> usize {
    if v6 { 20 } else { 8 }
}

/// Length of a record with these field sizes (Java's `calMsgLength`): 91 + body
/// + topic + properties for IPv4 hosts and a V1 record.
pub fn calc_record_len(sys_flag: i32, body_len: usize, topic_len: usize, properties_len: usize) -> usize {
    calc_len(sys_flag, 1, body_len, topic_len, properties_len)
}

fn calc_len(sys_flag: i32, topic_len_width: usize, body: usize, topic: usize, props: usize) -> usize {
    let hosts = host_len(sys_flag & BORNHOST_V6 != 0) + host_len(sys_flag & STOREHOST_V6 != 0);
    4 + 4 + 4 + 4 + 4 + 8 + 8 + 4 + 8 + 8 + 4 + 8 + hosts + 4 + body + topic_len_width + topic + 2 + props
}

/// What went wrong decoding or encoding a record. `at` is the byte position
/// within the buffer handed to the codec; the store adds the file and its offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("record truncated at byte {at}: {need} bytes needed, {have} available")]
    Truncated { at: usize, need: usize, have: usize },
    #[error("bad magic code {found:#010x} at byte {at}")]
    BadMagic { at: usize, found: u32 },
    #[error("body CRC mismatch in the record at byte {at}: stored {stored:#x}, computed {computed:#x}")]
    BadCrc { at: usize, stored: i32, computed: i32 },
    #[error("TOTALSIZE {total_size} of the record at byte {at} does not match its fields ({computed} bytes)")]
    SizeMismatch { at: usize, total_size: i64, computed: i64 },
    #[error("negative {field} length {len} at byte {at}")]
    NegativeLength { field: &'static str, at: usize, len: i64 },
    #[error("topic of the record at byte {at} is not UTF-8")]
    TopicNotUtf8 { at: usize },
    #[error("topic of {len} bytes is longer than {MAX_TOPIC_LEN_V1}")]
    TopicTooLong { len: usize },
    #[error("properties of {len} bytes are longer than {MAX_PROPERTIES_LEN}")]
    PropertiesTooLong { len: usize },
    #[error("output buffer holds {have} bytes but the record needs {need}")]
    BufferTooSmall { need: usize, have: usize },
}

/// A message as a producer hands it to the store, before the store places it.
#[derive(Clone, Copy, Debug)]
pub struct NewMessage<'a> {
    pub topic: &'a str,
    pub queue_id: i32,
    /// The user flag.
    pub flag: i32,
    /// As received: already compressed if the producer compressed it.
    pub body: &'a [u8],
    /// The encoded properties string (`name\x01value\x02` per pair), stored verbatim.
    pub properties: &'a [u8],
    /// Java's `MessageSysFlag` bits; the two host IPv6 bits are set by
    /// [`encode`] from the addresses.
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub born_host: SocketAddr,
    pub reconsume_times: i32,
    /// For committed transaction messages: CommitLog offset of the half message.
    pub prepared_transaction_offset: i64,
}

impl NewMessage<'_> {
    /// The sysFlag as stored: the caller's flags with the host IPv6 bits
    /// matching the born host and `store_host`.
    pub fn stored_sys_flag(&self, store_host: SocketAddr) -> i32 {
        let mut flag = self.sys_flag & !(BORNHOST_V6 | STOREHOST_V6);
        if self.born_host.is_ipv6() {
            flag |= BORNHOST_V6;
        }
        if store_host.is_ipv6() {
            flag |= STOREHOST_V6;
        }
        flag
    }

    /// Length of the record [`encode`] writes for this message.
    pub fn record_len(&self, store_host: SocketAddr) -> usize {
        calc_record_len(self.stored_sys_flag(store_host), self.body.len(), self.topic.len(), self.properties.len())
    }

    /// Checks the limits a V1 record imposes on topic and properties.
    pub fn check_limits(&self) -> Result<(), RecordError> {
        if self.topic.len() > MAX_TOPIC_LEN_V1 {
            return Err(RecordError::TopicTooLong { len: self.topic.len() });
        }
        if self.properties.len() > MAX_PROPERTIES_LEN {
            return Err(RecordError::PropertiesTooLong { len: self.properties.len() });
        }
        Ok(())
    }
}

/// Where and when the store placed a message: the fields only known under the
/// put lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    pub queue_offset: i64,
    pub physical_offset: i64,
    pub store_timestamp: i64,
    pub store_host: SocketAddr,
}

/// Writes `msg` placed at `at` as a V1 record into the start of `out` and
/// returns its length. `body_crc` must be [`body_crc`]`(msg.body)`; it is a
/// parameter so the store can compute it before taking its put lock.
pub fn encode_into(msg: &NewMessage<'_>, at: &Placement, body_crc: i32, out: &mut [u8]) -> Result<usize, RecordError> {
    msg.check_limits()?;
    let sys_flag = msg.stored_sys_flag(at.store_host);
    let len = calc_record_len(sys_flag, msg.body.len(), msg.topic.len(), msg.properties.len());
    let Some(out) = out.get_mut(..len) else {
        return Err(RecordError::BufferTooSmall { need: len, have: out.len() });
    };
    let mut w = Writer { out, at: 0 };
    w.put(&(len as i32).to_be_bytes());
    w.put(&MAGIC_V1.to_be_bytes());
    w.put(&body_crc.to_be_bytes());
    w.put(&msg.queue_id.to_be_bytes());
    w.put(&msg.flag.to_be_bytes());
    w.put(&at.queue_offset.to_be_bytes());
    w.put(&at.physical_offset.to_be_bytes());
    w.put(&sys_flag.to_be_bytes());
    w.put(&msg.born_timestamp.to_be_bytes());
    w.host(msg.born_host);
    w.put(&at.store_timestamp.to_be_bytes());
    w.host(at.store_host);
    w.put(&msg.reconsume_times.to_be_bytes());
    w.put(&msg.prepared_transaction_offset.to_be_bytes());
    w.put(&(msg.body.len() as i32).to_be_bytes());
    w.put(msg.body);
    w.put(&[msg.topic.len() as u8]);
    w.put(msg.topic.as_bytes());
    w.put(&(msg.properties.len() as i16).to_be_bytes());
    w.put(msg.properties);
    debug_assert_eq!(w.at, len);
    Ok(len)
}

/// Encodes `msg` placed at `at` into a new buffer.
pub fn encode(msg: &NewMessage<'_>, at: &Placement) -> Result<Vec<u8>, RecordError> {
    let mut out = vec![0; msg.record_len(at.store_host)];
    encode_into(msg, at, body_crc(msg.body), &mut out)?;
    Ok(out)
}

/// The 8 bytes that start the blank filling the last `remaining` bytes of a file.
pub fn encode_blank(remaining: u32) -> [u8; BLANK_LEN] {
    let mut out = [0; BLANK_LEN];
    out[..4].copy_from_slice(&(remaining as i32).to_be_bytes());
    out[4..].copy_from_slice(&BLANK_MAGIC.to_be_bytes());
    out
}

struct Writer<'o> {
    out: &'o mut [u8],
    at: usize,
}

impl Writer<'_> {
    fn put(&mut self, b: &[u8]) {
        self.out[self.at..self.at + b.len()].copy_from_slice(b);
        self.at += b.len();
    }

    fn host(&mut self, host: SocketAddr) {
        match host.ip() {
            IpAddr::V4(ip) => self.put(&ip.octets()),
            IpAddr::V6(ip) => self.put(&ip.octets()),
        }
        self.put(&i32::from(host.port()).to_be_bytes());
    }
}

/// One decoded record; variable fields borrow from the decoded buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordView<'a> {
    pub total_size: u32,
    pub magic: i32,
    pub body_crc: i32,
    pub queue_id: i32,
    pub flag: i32,
    pub queue_offset: i64,
    pub physical_offset: i64,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub born_host: SocketAddr,
    pub store_timestamp: i64,
    pub store_host: SocketAddr,
    pub reconsume_times: i32,
    pub prepared_transaction_offset: i64,
    pub body: &'a [u8],
    pub topic: &'a str,
    /// The raw properties string (`name\x01value\x02` per pair).
    pub properties: &'a [u8],
}

impl<'a> RecordView<'a> {
    /// The stored message as a new one to store again (a retry, a delayed or
    /// timed message reaching its topic, a committed half message): body,
    /// flags, born time and host, reconsume times and prepared offset as
    /// stored, under `topic` and `queue_id` with `properties`. Callers
    /// change what differs with struct update syntax.
    pub fn stored_again<'m>(&self, topic: &'m str, queue_id: i32, properties: &'m [u8]) -> NewMessage<'m>
    where
        'a: 'm,
    {
        NewMessage {
            topic,
            queue_id,
            flag: self.flag,
            body: self.body,
            properties,
            sys_flag: self.sys_flag,
            born_timestamp: self.born_timestamp,
            born_host: self.born_host,
            reconsume_times: self.reconsume_times,
            prepared_transaction_offset: self.prepared_transaction_offset,
        }
    }

    /// The value of one property, found without allocating.
    pub fn property(&self, name: &str) -> Option<&'a [u8]> {
        property_value(self.properties, name)
    }

    /// All properties, decoded (invalid UTF-8 is replaced as Java does).
    pub fn decode_properties(&self) -> crate::Properties {
        crate::Properties::decode(&String::from_utf8_lossy(self.properties))
    }

    /// The offset msgId of this record (store host + physical offset).
    pub fn offset_msg_id(&self) -> String {
        let offset = crate::PhysicalOffset(self.physical_offset.max(0) as u64);
        crate::msg_id::encode_offset_msg_id(self.store_host, offset)
    }
}

/// The value of property `name` in an encoded properties string, or `None`.
/// Follows Java's decoding: a pair needs a non-empty name and value.
pub fn property_value<'a>(properties: &'a [u8], name: &str) -> Option<&'a [u8]> {
    properties.split(|b| *b == 2).find_map(|pair| {
        let sep = pair.iter().position(|b| *b == 1)?;
        let (n, v) = (&pair[..sep], &pair[sep + 1..]);
        (n == name.as_bytes() && !v.is_empty()).then_some(v)
    })
}

/// What starts at a position of a CommitLog file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoded<'a> {
    Message(RecordView<'a>),
    /// The blank marker: the file's remaining `len` bytes hold no record.
    EndOfFile {
        len: u32,
    },
}

/// Decodes the record at the start of `buf`. With `check_crc` the body CRC is
/// verified too. Never panics, whatever the input.
pub fn decode(buf: &[u8], check_crc: bool) -> Result<Decoded<'_>, RecordError> {
    let mut r = Reader { buf, at: 0 };
    let total_size = r.i32()?;
    let magic = r.i32()?;
    if magic == BLANK_MAGIC {
        return match u32::try_from(total_size) {
            Ok(len) if len as usize >= BLANK_LEN => Ok(Decoded::EndOfFile { len }),
            _ => Err(RecordError::SizeMismatch { at: 0, total_size: total_size.into(), computed: BLANK_LEN as i64 }),
        };
    }
    if magic != MAGIC_V1 && magic != MAGIC_V2 {
        return Err(RecordError::BadMagic { at: pos::MAGIC, found: magic as u32 });
    }
    if total_size < 0 {
        return Err(RecordError::NegativeLength { field: "TOTALSIZE", at: 0, len: total_size.into() });
    }
    let stored_crc = r.i32()?;
    let queue_id = r.i32()?;
    let flag = r.i32()?;
    let queue_offset = r.i64()?;
    let physical_offset = r.i64()?;
    let sys_flag = r.i32()?;
    let born_timestamp = r.i64()?;
    let born_host = r.host(sys_flag & BORNHOST_V6 != 0)?;
    let store_timestamp = r.i64()?;
    let store_host = r.host(sys_flag & STOREHOST_V6 != 0)?;
    let reconsume_times = r.i32()?;
    let prepared_transaction_offset = r.i64()?;
    let body_len = r.len_i32("BODY")?;
    let body = r.sized(body_len)?;
    let topic_at = r.at;
    let topic_len = if magic == MAGIC_V1 { usize::from(r.take::<1>()?[0]) } else { usize::from(r.u16()?) };
    let topic = r.sized(topic_len)?;
    let props_len = r.i16()?;
    let props_len = usize::try_from(props_len).map_err(|_| RecordError::NegativeLength {
        field: "PROPERTIES",
        at: r.at - 2,
        len: props_len.into(),
    })?;
    let properties = r.sized(props_len)?;
    if r.at != total_size as usize {
        return Err(RecordError::SizeMismatch { at: 0, total_size: total_size.into(), computed: r.at as i64 });
    }
    let topic = std::str::from_utf8(topic).map_err(|_| RecordError::TopicNotUtf8 { at: topic_at })?;
    if check_crc {
        let computed = body_crc(body);
        if computed != stored_crc {
            return Err(RecordError::BadCrc { at: pos::BODY_CRC, stored: stored_crc, computed });
        }
    }
    Ok(Decoded::Message(RecordView {
        total_size: total_size as u32,
        magic,
        body_crc: stored_crc,
        queue_id,
        flag,
        queue_offset,
        physical_offset,
        sys_flag,
        born_timestamp,
        born_host,
        store_timestamp,
        store_host,
        reconsume_times,
        prepared_transaction_offset,
        body,
        topic,
        properties,
    }))
}

/// Decodes a message record; a blank marker is an error here. For pulled and
/// queried bodies, where blanks never appear.
pub fn decode_message(buf: &[u8], check_crc: bool) -> Result<RecordView<'_>, RecordError> {
    match decode(buf, check_crc)? {
        Decoded::Message(view) => Ok(view),
        Decoded::EndOfFile { .. } => Err(RecordError::BadMagic { at: pos::MAGIC, found: BLANK_MAGIC as u32 }),
    }
}

/// Iterates over records laid back to back, as in a pull response body. Stops
/// after the first error; error positions are relative to `buf`.
pub fn records(buf: &[u8], check_crc: bool) -> impl Iterator<Item = Result<RecordView<'_>, RecordError>> {
    let mut at = 0;
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed || at >= buf.len() {
            return None;
        }
        let result = decode_message(&buf[at..], check_crc).map_err(|e| shift(e, at));
        match &result {
            Ok(view) => at += view.total_size as usize,
            Err(_) => failed = true,
        }
        Some(result)
    })
}

/// The same error with its position moved by `by` bytes.
pub fn shift(err: RecordError, by: usize) -> RecordError {
    use RecordError::*;
    match err {
        Truncated { at, need, have } => Truncated { at: at + by, need, have },
        BadMagic { at, found } => BadMagic { at: at + by, found },
        BadCrc { at, stored, computed } => BadCrc { at: at + by, stored, computed },
        SizeMismatch { at, total_size, computed } => SizeMismatch { at: at + by, total_size, computed },
        NegativeLength { field, at, len } => NegativeLength { field, at: at + by, len },
        TopicNotUtf8 { at } => TopicNotUtf8 { at: at + by },
        other => other,
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], RecordError> {
        let bytes = self.sized(N)?;
        let mut out = [0; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    fn sized(&mut self, n: usize) -> Result<&'a [u8], RecordError> {
        let have = self.buf.len() - self.at;
        if n > have {
            return Err(RecordError::Truncated { at: self.at, need: n, have });
        }
        let out = &self.buf[self.at..self.at + n];
        self.at += n;
        Ok(out)
    }

    fn i16(&mut self) -> Result<i16, RecordError> {
        self.take().map(i16::from_be_bytes)
    }
    fn u16(&mut self) -> Result<u16, RecordError> {
        self.take().map(u16::from_be_bytes)
    }
    fn i32(&mut self) -> Result<i32, RecordError> {
        self.take().map(i32::from_be_bytes)
    }
    fn i64(&mut self) -> Result<i64, RecordError> {
        self.take().map(i64::from_be_bytes)
    }

    fn len_i32(&mut self, field: &'static str) -> Result<usize, RecordError> {
        let at = self.at;
        let len = self.i32()?;
        usize::try_from(len).map_err(|_| RecordError::NegativeLength { field, at, len: len.into() })
    }

    fn host(&mut self, v6: bool) -> Result<SocketAddr, RecordError> {
        let ip = if v6 {
            IpAddr::V6(Ipv6Addr::from(self.take::<16>()?))
        } else {
            IpAddr::V4(Ipv4Addr::from(self.take::<4>()?))
        };
        let port = self.i32()?;
        Ok(SocketAddr::new(ip, port as u16))
    }
}

/// One message of a SEND_BATCH_MESSAGE body (as Java's `MessageDecoder.encodeMessage` writes it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchItem<'a> {
    pub flag: i32,
    pub body: &'a [u8],
    /// This message's own properties string (with its `UNIQ_KEY`).
    pub properties: &'a [u8],
}

/// Iterates over the messages of a batch body. Like Java, fields are read in
/// sequence and the per-item TOTALSIZE, MAGICCODE and BODYCRC are not trusted.
/// Stops after the first error.
pub fn decode_batch(body: &[u8]) -> impl Iterator<Item = Result<BatchItem<'_>, RecordError>> {
    let mut r = Reader { buf: body, at: 0 };
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed || r.at >= r.buf.len() {
            return None;
        }
        let item = (|| {
            let _total_size = r.i32()?;
            let _magic = r.i32()?;
            let _crc = r.i32()?;
            let flag = r.i32()?;
            let body_len = r.len_i32("BODY")?;
            let body = r.sized(body_len)?;
            let props_at = r.at;
            let len = r.i16()?;
            let len = usize::try_from(len).map_err(|_| RecordError::NegativeLength {
                field: "PROPERTIES",
                at: props_at,
                len: len.into(),
            })?;
            let properties = r.sized(len)?;
            Ok(BatchItem { flag, body, properties })
        })();
        failed = item.is_err();
        Some(item)
    })
}

/// Appends one batch item in the form producers send (`MessageDecoder.encodeMessage`).
pub fn encode_batch_item(item: &BatchItem<'_>, out: &mut Vec<u8>) {
    let total = 4 + 4 + 4 + 4 + 4 + item.body.len() + 2 + item.properties.len();
    out.extend_from_slice(&(total as i32).to_be_bytes());
    out.extend_from_slice(&0i32.to_be_bytes());
    out.extend_from_slice(&0i32.to_be_bytes());
    out.extend_from_slice(&item.flag.to_be_bytes());
    out.extend_from_slice(&(item.body.len() as i32).to_be_bytes());
    out.extend_from_slice(item.body);
    out.extend_from_slice(&(item.properties.len() as i16).to_be_bytes());
    out.extend_from_slice(item.properties);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample<'a>(body: &'a [u8], props: &'a [u8]) -> NewMessage<'a> {
        NewMessage {
            topic: "T",
            queue_id: 1,
            flag: 2,
            body,
            properties: props,
            sys_flag: 0,
            born_timestamp: 0x0102,
            born_host: "10.0.0.1:1234".parse().unwrap(),
            reconsume_times: 3,
            prepared_transaction_offset: 0,
        }
    }

    fn placement() -> Placement {
        Placement {
            queue_offset: 5,
            physical_offset: 0x1000,
            store_timestamp: 0x0203,
            store_host: "192.168.0.10:10911".parse().unwrap(),
        }
    }

    /// The CommitLog record layout, field by field, for body "AB", topic "T",
    /// properties "K\u1V\u2".
    #[test]
    fn ipv4_record_matches_the_protocol_table() {
        let bytes = encode(&sample(b"AB", b"K\x01V\x02"), &placement()).unwrap();
        let crc = body_crc(b"AB");
        #[rustfmt::skip]
        let expected: Vec<u8> = [
            &[0, 0, 0, 98][..],                    // TOTALSIZE = 91 + 2 + 1 + 4
            &[0xDA, 0xA3, 0x20, 0xA7],             // MAGICCODE V1
            &crc.to_be_bytes(),                    // BODYCRC
            &[0, 0, 0, 1],                         // QUEUEID
            &[0, 0, 0, 2],                         // FLAG
            &[0, 0, 0, 0, 0, 0, 0, 5],             // QUEUEOFFSET
            &[0, 0, 0, 0, 0, 0, 0x10, 0],          // PHYSICALOFFSET
            &[0, 0, 0, 0],                         // SYSFLAG
            &[0, 0, 0, 0, 0, 0, 1, 2],             // BORNTIMESTAMP
            &[10, 0, 0, 1, 0, 0, 0x04, 0xD2],      // BORNHOST 10.0.0.1:1234
            &[0, 0, 0, 0, 0, 0, 2, 3],             // STORETIMESTAMP
            &[192, 168, 0, 10, 0, 0, 0x2A, 0x9F],  // STOREHOST 192.168.0.10:10911
            &[0, 0, 0, 3],                         // RECONSUMETIMES
            &[0, 0, 0, 0, 0, 0, 0, 0],             // PREPARED TRANSACTION OFFSET
            &[0, 0, 0, 2], b"AB",                  // BODY
            &[1], b"T",                            // TOPIC
            &[0, 4], b"K\x01V\x02",                // PROPERTIES
        ].concat();
        assert_eq!(bytes, expected);
        assert_eq!(calc_record_len(0, 2, 1, 4), 98);
        assert_eq!(store_timestamp_pos(0), 56);
    }

    #[test]
    fn java_crc_clears_the_sign_bit() {
        // CRC32("123456789") = 0xCBF43926; Java keeps the low 31 bits.
        assert_eq!(body_crc(b"123456789"), 0x4BF4_3926);
        assert_eq!(body_crc(b""), 0);
    }

    #[test]
    fn ipv6_hosts_set_their_flags_and_take_20_bytes() {
        let mut msg = sample(b"x", b"");
        msg.born_host = "[::1]:7".parse().unwrap();
        let mut at = placement();
        at.store_host = "[fe80::2]:10911".parse().unwrap();
        let bytes = encode(&msg, &at).unwrap();
        assert_eq!(bytes.len(), 91 + 1 + 1 + 24);
        assert_eq!(&bytes[36..40], &[0, 0, 0, 0x30]);
        assert_eq!(store_timestamp_pos(0x30), 68);
        let Decoded::Message(view) = decode(&bytes, true).unwrap() else { panic!("blank") };
        assert_eq!(view.born_host, msg.born_host);
        assert_eq!(view.store_host, at.store_host);
        assert_eq!(view.store_timestamp, at.store_timestamp);
    }

    #[test]
    fn decode_round_trips_every_field() {
        let msg = sample(b"hello", b"TAGS\x01a\x02KEYS\x01k1 k2\x02");
        let bytes = encode(&msg, &placement()).unwrap();
        let view = decode_message(&bytes, true).unwrap();
        assert_eq!((view.topic, view.queue_id, view.flag, view.body), ("T", 1, 2, &b"hello"[..]));
        assert_eq!((view.queue_offset, view.physical_offset, view.reconsume_times), (5, 0x1000, 3));
        assert_eq!(view.property("KEYS"), Some(&b"k1 k2"[..]));
        assert_eq!(view.property("TAG"), None);
        assert_eq!(view.offset_msg_id(), "C0A8000A00002A9F0000000000001000");
    }

    #[test]
    fn errors_say_what_and_where() {
        let mut bytes = encode(&sample(b"hello", b""), &placement()).unwrap();
        assert!(matches!(decode(&bytes[..50], true), Err(RecordError::Truncated { at: 48, .. })));
        bytes[88] ^= 0xFF;
        let err = decode(&bytes, true).unwrap_err();
        assert!(matches!(err, RecordError::BadCrc { at: 8, .. }), "{err}");
        assert!(decode(&bytes, false).is_ok());
        bytes[4] = 0;
        assert_eq!(decode(&bytes, true).unwrap_err().to_string(), "bad magic code 0x00a320a7 at byte 4");
        let mut bytes = encode(&sample(b"hello", b""), &placement()).unwrap();
        bytes[3] += 1;
        bytes.push(0);
        assert!(matches!(decode(&bytes, true), Err(RecordError::SizeMismatch { .. })));
    }

    #[test]
    fn blank_marker() {
        let blank = encode_blank(100);
        assert_eq!(blank, [0, 0, 0, 100, 0xCB, 0xD4, 0x31, 0x94]);
        assert_eq!(decode(&blank, true), Ok(Decoded::EndOfFile { len: 100 }));
        assert!(decode_message(&blank, true).is_err());
    }

    #[test]
    fn back_to_back_records() {
        let mut buf = encode(&sample(b"a", b""), &placement()).unwrap();
        let first = buf.len();
        buf.extend(encode(&sample(b"bb", b""), &placement()).unwrap());
        buf.extend_from_slice(&[0, 0, 0]);
        let got: Vec<_> = records(&buf, true).collect();
        assert_eq!(got.len(), 3);
        assert_eq!(got[1].as_ref().unwrap().body, b"bb");
        assert!(matches!(got[2], Err(RecordError::Truncated { at, .. }) if at == first + 94));
    }

    #[test]
    fn batch_body_layout_and_round_trip() {
        let mut body = Vec::new();
        encode_batch_item(&BatchItem { flag: 7, body: b"xy", properties: b"A\x011\x02" }, &mut body);
        #[rustfmt::skip]
        let expected: Vec<u8> = [
            &[0, 0, 0, 28][..], &[0; 4], &[0; 4], &[0, 0, 0, 7],
            &[0, 0, 0, 2], b"xy", &[0, 4], b"A\x011\x02",
        ].concat();
        assert_eq!(body, expected);
        encode_batch_item(&BatchItem { flag: 0, body: b"", properties: b"" }, &mut body);
        let items: Vec<_> = decode_batch(&body).collect::<Result<_, _>>().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].body, b"xy");
        assert!(decode_batch(&body[..30]).last().unwrap().is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode(&bytes, true);
            let _ = records(&bytes, true).count();
            let _ = decode_batch(&bytes).count();
        }

        #[test]
        fn mutated_records_never_panic(idx in 0usize..120, val in any::<u8>(), cut in 0usize..130) {
            let mut bytes = encode(&sample(b"0123456789", b"K\x01V\x02"), &placement()).unwrap();
            let i = idx % bytes.len();
            bytes[i] = val;
            let _ = decode(&bytes[..cut.min(bytes.len())], true);
            let _ = decode(&bytes, true);
        }

        #[test]
        fn encode_decode_round_trip(body in proptest::collection::vec(any::<u8>(), 0..64), q in any::<i32>()) {
            let mut msg = sample(&body, b"");
            msg.queue_id = q;
            let bytes = encode(&msg, &placement()).unwrap();
            let view = decode_message(&bytes, true).unwrap();
            prop_assert_eq!(view.body, &body[..]);
            prop_assert_eq!(view.queue_id, q);
        }
    }
}
