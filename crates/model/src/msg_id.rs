//! Offset message ids: `hex(store host ip + store port + CommitLog offset)`.
//!
//! The broker answers every send with one; clients recompute it from each
//! record they pull, and `VIEW_MESSAGE_BY_ID` / `mqadmin queryMsgById` decode it
//! back into the broker address to ask and the offset to read there.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::PhysicalOffset;

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Encodes an offset msgId: 32 hex characters for IPv4 hosts, 56 for IPv6.
pub fn encode_offset_msg_id(store_host: SocketAddr, offset: PhysicalOffset) -> String {
    let mut raw = Vec::with_capacity(28);
    match store_host.ip() {
        IpAddr::V4(ip) => raw.extend_from_slice(&ip.octets()),
        IpAddr::V6(ip) => raw.extend_from_slice(&ip.octets()),
    }
    raw.extend_from_slice(&i32::from(store_host.port()).to_be_bytes());
    raw.extend_from_slice(&offset.as_i64().to_be_bytes());
    bytes_to_hex(&raw)
}

/// Uppercase hex, as Java's `UtilAll.bytes2string`.
pub fn bytes_to_hex(raw: &[u8]) -> String {
    let mut s = String::with_capacity(raw.len() * 2);
    for b in raw {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 0xF)] as char);
    }
    s
}

/// Why a string is not an offset msgId.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MsgIdError {
    #[error("message id '{0}' must be 32 (IPv4) or 56 (IPv6) hex characters")]
    Length(String),
    #[error("message id '{0}' is not hexadecimal")]
    NotHex(String),
}

/// Decodes an offset msgId into the store host and CommitLog offset.
pub fn decode_offset_msg_id(id: &str) -> Result<(SocketAddr, PhysicalOffset), MsgIdError> {
    let ip_len = match id.len() {
        32 => 4,
        56 => 16,
        _ => return Err(MsgIdError::Length(id.to_owned())),
    };
    let raw = hex_to_bytes(id).ok_or_else(|| MsgIdError::NotHex(id.to_owned()))?;
    let ip = if ip_len == 4 {
        IpAddr::V4(Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3]))
    } else {
        let mut o = [0u8; 16];
        o.copy_from_slice(&raw[..16]);
        IpAddr::V6(Ipv6Addr::from(o))
    };
    let port = i32::from_be_bytes([raw[ip_len], raw[ip_len + 1], raw[ip_len + 2], raw[ip_len + 3]]);
    let mut off = [0u8; 8];
    off.copy_from_slice(&raw[ip_len + 4..ip_len + 12]);
    let offset = u64::try_from(i64::from_be_bytes(off)).unwrap_or(0);
    Ok((SocketAddr::new(ip, port as u16), PhysicalOffset(offset)))
}

fn hex_to_bytes(s: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    s.as_bytes().chunks(2).map(|pair| Some(digit(pair[0])? << 4 | digit(*pair.get(1)?)?)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_layout() {
        let host: SocketAddr = "192.168.0.10:10911".parse().unwrap();
        let id = encode_offset_msg_id(host, PhysicalOffset(0x1234));
        // C0A8000A = 192.168.0.10, 00002A9F = 10911, then the 8-byte offset.
        assert_eq!(id, "C0A8000A00002A9F0000000000001234");
        assert_eq!(decode_offset_msg_id(&id), Ok((host, PhysicalOffset(0x1234))));
        assert_eq!(decode_offset_msg_id(&id.to_lowercase()), Ok((host, PhysicalOffset(0x1234))));
    }

    #[test]
    fn ipv6_round_trip_and_errors() {
        let host: SocketAddr = "[::1]:10911".parse().unwrap();
        let id = encode_offset_msg_id(host, PhysicalOffset(99));
        assert_eq!(id.len(), 56);
        assert_eq!(decode_offset_msg_id(&id), Ok((host, PhysicalOffset(99))));
        assert!(matches!(decode_offset_msg_id("ABC"), Err(MsgIdError::Length(_))));
        assert!(matches!(decode_offset_msg_id(&"G".repeat(32)), Err(MsgIdError::NotHex(_))));
    }
}
