//! The HA wire format (Java's `HAConnection` and `HAService.HAClient`): plain
//! TCP, no remoting framing.
//!
//! ```text
//! slave → master   report:   | max offset: i64 BE |                       8 bytes, repeated
//! master → slave   transfer: | offset: i64 BE | size: i32 BE | data ... | 12 + size bytes
//! ```
//!
//! A report is the slave's CommitLog max offset (the next byte it needs). A
//! transfer carries `size` raw CommitLog bytes starting at `offset`; size 0 is
//! a heartbeat naming the master's transfer position. Decoding is in two
//! steps: nothing is consumed until a whole unit is in the buffer, and a
//! header is checked (sign, size limit) before any memory is reserved.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use rmq_model::PhysicalOffset;

/// Bytes of one slave report.
pub const REPORT_LEN: usize = 8;
/// Bytes of a transfer header (offset + size).
pub const TRANSFER_HEADER_LEN: usize = 12;
/// Largest transfer body accepted: Java's slave reads into a 4 MiB buffer, so
/// no Java master sends more in one frame, and neither do we.
pub const MAX_TRANSFER_BODY: usize = 4 * 1024 * 1024 - TRANSFER_HEADER_LEN;

/// A peer sent bytes that are not the HA protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("slave reported a negative offset {value}")]
    NegativeReport { value: i64 },
    #[error("transfer header names a negative offset {value}")]
    NegativeTransferOffset { value: i64 },
    #[error("transfer header at offset {offset} names a negative size {size}")]
    NegativeTransferSize { offset: i64, size: i32 },
    #[error("transfer header at offset {offset} announces {size} bytes, more than the {max} a frame may carry")]
    OversizedTransfer { offset: i64, size: usize, max: usize },
}

/// One master → slave frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// CommitLog offset of the first data byte (for a heartbeat: the master's
    /// transfer position).
    pub offset: PhysicalOffset,
    /// Raw CommitLog bytes; empty for a heartbeat.
    pub data: Bytes,
}

impl Transfer {
    pub fn is_heartbeat(&self) -> bool {
        self.data.is_empty()
    }

    /// The offset after the last data byte.
    pub fn end(&self) -> PhysicalOffset {
        self.offset + self.data.len() as u64
    }
}

/// Appends one report.
pub fn encode_report(offset: PhysicalOffset, dst: &mut BytesMut) {
    dst.put_i64(offset.as_i64());
}

/// The 12-byte header of a transfer of `len` bytes at `offset`; the data
/// follows it on the wire (written separately, so it is never copied).
pub fn transfer_header(offset: PhysicalOffset, len: usize) -> [u8; TRANSFER_HEADER_LEN] {
    debug_assert!(len <= MAX_TRANSFER_BODY);
    let mut h = [0u8; TRANSFER_HEADER_LEN];
    h[..8].copy_from_slice(&offset.as_i64().to_be_bytes());
    h[8..].copy_from_slice(&(len as i32).to_be_bytes());
    h
}

/// Consumes every complete report in `src` and returns the last one (the
/// only one that matters, as in Java); `None` if no report is complete. Any
/// negative value is garbage and fails the whole read.
pub fn decode_reports(src: &mut BytesMut) -> Result<Option<PhysicalOffset>, WireError> {
    let mut last = None;
    while src.len() >= REPORT_LEN {
        let value = src.get_i64();
        last = Some(PhysicalOffset::from_i64(value).ok_or(WireError::NegativeReport { value })?);
    }
    Ok(last)
}

/// Takes one transfer off the front of `src`, or returns `Ok(None)` and
/// leaves `src` untouched if it is not all there yet. `max_body` bounds the
/// size a header may announce (at most [`MAX_TRANSFER_BODY`]).
pub fn decode_transfer(src: &mut BytesMut, max_body: usize) -> Result<Option<Transfer>, WireError> {
    if src.len() < TRANSFER_HEADER_LEN {
        return Ok(None);
    }
    let offset = i64::from_be_bytes(src[..8].try_into().expect("8 bytes"));
    let size = i32::from_be_bytes(src[8..12].try_into().expect("4 bytes"));
    let offset_ok = PhysicalOffset::from_i64(offset).ok_or(WireError::NegativeTransferOffset { value: offset })?;
    let size = usize::try_from(size).map_err(|_| WireError::NegativeTransferSize { offset, size })?;
    let max = max_body.min(MAX_TRANSFER_BODY);
    if size > max {
        return Err(WireError::OversizedTransfer { offset, size, max });
    }
    if src.len() < TRANSFER_HEADER_LEN + size {
        src.reserve(TRANSFER_HEADER_LEN + size - src.len());
        return Ok(None);
    }
    src.advance(TRANSFER_HEADER_LEN);
    let data = src.split_to(size).freeze();
    Ok(Some(Transfer { offset: offset_ok, data }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_bytes_are_a_big_endian_long() {
        let mut buf = BytesMut::new();
        encode_report(PhysicalOffset(0x0102_0304_0506_0708), &mut buf);
        assert_eq!(&buf[..], &[1, 2, 3, 4, 5, 6, 7, 8]);
    }

    #[test]
    fn only_the_last_complete_report_counts() {
        let mut buf = BytesMut::from(&[0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0][..]);
        assert_eq!(decode_reports(&mut buf), Ok(Some(PhysicalOffset(9))));
        assert_eq!(&buf[..], &[0, 0], "a partial report stays for the next read");
        assert_eq!(decode_reports(&mut buf), Ok(None));
    }

    #[test]
    fn a_negative_report_is_garbage() {
        let mut buf = BytesMut::from(&[0xff; 8][..]);
        assert_eq!(decode_reports(&mut buf), Err(WireError::NegativeReport { value: -1 }));
    }

    #[test]
    fn transfer_header_layout() {
        assert_eq!(transfer_header(PhysicalOffset(0x1000), 3), [0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 3]);
    }

    #[test]
    fn transfers_decode_only_when_complete() {
        let mut wire = BytesMut::new();
        wire.extend_from_slice(&transfer_header(PhysicalOffset(64), 3));
        wire.extend_from_slice(b"abc");
        wire.extend_from_slice(&transfer_header(PhysicalOffset(67), 0));
        let mut buf = BytesMut::new();
        // Byte by byte: nothing decodes before the whole frame is there.
        let mut got = Vec::new();
        for b in wire.iter() {
            buf.put_u8(*b);
            while let Some(t) = decode_transfer(&mut buf, 1024).unwrap() {
                got.push(t);
            }
        }
        assert_eq!(
            got,
            vec![
                Transfer { offset: PhysicalOffset(64), data: Bytes::from_static(b"abc") },
                Transfer { offset: PhysicalOffset(67), data: Bytes::new() },
            ]
        );
        assert!(got[1].is_heartbeat());
        assert_eq!(got[0].end(), PhysicalOffset(67));
        assert!(buf.is_empty());
    }

    #[test]
    fn garbage_headers_are_refused_before_allocating() {
        let cases: [(&[u8], WireError); 3] = [
            (&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], WireError::NegativeTransferOffset { value: i64::MIN }),
            (
                &[0, 0, 0, 0, 0, 0, 0, 8, 0xff, 0xff, 0xff, 0xfe],
                WireError::NegativeTransferSize { offset: 8, size: -2 },
            ),
            (
                &[0, 0, 0, 0, 0, 0, 0, 8, 0x7f, 0xff, 0xff, 0xff],
                WireError::OversizedTransfer { offset: 8, size: i32::MAX as usize, max: 1024 },
            ),
        ];
        for (bytes, expected) in cases {
            let mut buf = BytesMut::from(bytes);
            assert_eq!(decode_transfer(&mut buf, 1024), Err(expected));
            assert!(buf.capacity() < 4096, "no room reserved for a refused frame");
        }
    }
}
