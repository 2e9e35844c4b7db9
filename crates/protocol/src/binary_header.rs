//! The ROCKETMQ binary header encoding (serialize type 1; Java's `RocketMQSerializable`):
//! code (i16) · language (u8) · version (i16) · opaque (i32) · flag (i32) ·
//! remark (i32 length + UTF-8) · ext fields (i32 length + entries of
//! i16 key length, key, i32 value length, value). Big-endian throughout.

use bytes::{Buf, BufMut, BytesMut};

use crate::command::{ExtFields, LanguageCode, RemotingCommand, SerializeType};
use crate::error::FrameError;

/// Bytes before the remark: code, language, version, opaque, flag, remark length.
const FIXED_LEN: usize = 2 + 1 + 2 + 4 + 4 + 4;

pub(crate) fn encode(cmd: &RemotingCommand, dst: &mut BytesMut) {
    let remark = cmd.remark.as_deref().unwrap_or("");
    let ext_len: usize = cmd.ext_fields.iter().map(|(k, v)| 2 + k.len() + 4 + v.len()).sum();
    dst.reserve(FIXED_LEN + remark.len() + 4 + ext_len);
    dst.put_i16(cmd.code as i16);
    dst.put_u8(cmd.language.code());
    dst.put_i16(cmd.version as i16);
    dst.put_i32(cmd.opaque);
    dst.put_i32(cmd.flag);
    dst.put_i32(remark.len() as i32);
    dst.put_slice(remark.as_bytes());
    dst.put_i32(ext_len as i32);
    for (k, v) in &cmd.ext_fields {
        dst.put_i16(k.len() as i16);
        dst.put_slice(k.as_bytes());
        dst.put_i32(v.len() as i32);
        dst.put_slice(v.as_bytes());
    }
}

pub(crate) fn decode(mut h: &[u8]) -> Result<RemotingCommand, FrameError> {
    if h.len() < FIXED_LEN {
        return Err(FrameError::Binary("header shorter than its 17 fixed bytes"));
    }
    let code = i32::from(h.get_i16());
    let language = LanguageCode::from_code(h.get_u8());
    let version = i32::from(h.get_i16());
    let opaque = h.get_i32();
    let flag = h.get_i32();
    let remark = take_string(&mut h, "remark")?;
    let mut ext_fields = ExtFields::new();
    if h.remaining() >= 4 {
        let ext_len = usize::try_from(h.get_i32()).map_err(|_| FrameError::Binary("negative ext fields length"))?;
        if ext_len > h.remaining() {
            return Err(FrameError::Binary("ext fields length exceeds the header"));
        }
        let mut map = &h[..ext_len];
        while map.has_remaining() {
            if map.remaining() < 2 {
                return Err(FrameError::Binary("truncated ext field key length"));
            }
            let key_len = usize::try_from(map.get_i16()).map_err(|_| FrameError::Binary("negative key length"))?;
            let key = take(&mut map, key_len, "ext field key")?;
            if map.remaining() < 4 {
                return Err(FrameError::Binary("truncated ext field value length"));
            }
            let value_len = usize::try_from(map.get_i32()).map_err(|_| FrameError::Binary("negative value length"))?;
            let value = take(&mut map, value_len, "ext field value")?;
            // Java reads a zero-length value as null, i.e. the field is absent
            // (a required one is then refused, not taken as "").
            if !value.is_empty() {
                ext_fields.insert(key, value);
            }
        }
    }
    Ok(RemotingCommand {
        code,
        language,
        version,
        opaque,
        flag,
        remark: (!remark.is_empty()).then_some(remark),
        ext_fields,
        serialize_type: SerializeType::RocketMq,
        ..RemotingCommand::default()
    })
}

fn take_string(h: &mut &[u8], what: &'static str) -> Result<String, FrameError> {
    let len = usize::try_from(h.get_i32()).map_err(|_| FrameError::Binary("negative remark length"))?;
    take(h, len, what)
}

fn take(h: &mut &[u8], len: usize, what: &'static str) -> Result<String, FrameError> {
    if len > h.remaining() {
        return Err(FrameError::Binary(what));
    }
    let s = String::from_utf8_lossy(&h[..len]).into_owned();
    h.advance(len);
    Ok(s)
}
