//! Frames on the wire (Java's `RemotingCommand` with `NettyEncoder`/`NettyDecoder`):
//!
//! ```text
//! +-------------+--------------------------+-------------------+---------+
//! | length: i32 | type: u8 | hdr len: u24  | header (hdr len)  | body    |
//! +-------------+--------------------------+-------------------+---------+
//!   length = 4 + hdr len + body len (everything after the length field)
//! ```
//!
//! Decoding runs in two steps: [`decode`] first checks that a whole frame is
//! buffered (returning `Ok(None)` and leaving the buffer untouched if not), and
//! rejects a bad length before anything is reserved; only a complete frame is
//! parsed. The body is split off the read buffer without copying.

use bytes::{Buf, BufMut, BytesMut};

use crate::command::{Body, RemotingCommand, SerializeType};
use crate::error::FrameError;
use crate::{binary_header, json_header};

/// Largest header the 24-bit length field can describe.
const MAX_HEADER_LEN: usize = 0xFF_FFFF;

/// Decodes one frame from the front of `src` if a whole one is there.
///
/// `max_frame` caps the frame including its length prefix (Java's 16 MiB by
/// default, [`crate::DEFAULT_MAX_FRAME`]). On `Ok(Some(_))` exactly one frame
/// was consumed; on `Ok(None)` nothing was; on `Err` the stream is unusable.
pub fn decode(src: &mut BytesMut, max_frame: usize) -> Result<Option<RemotingCommand>, FrameError> {
    if src.len() < 4 {
        return Ok(None);
    }
    let length = i64::from(i32::from_be_bytes([src[0], src[1], src[2], src[3]]));
    if length < 4 {
        return Err(FrameError::BadLength(length));
    }
    let total = length as usize + 4;
    if total > max_frame {
        return Err(FrameError::TooLarge { size: total, max: max_frame });
    }
    if src.len() < total {
        return Ok(None);
    }
    let mut frame = src.split_to(total);
    frame.advance(4);
    let word = frame.get_u32();
    let kind = (word >> 24) as u8;
    let header_len = (word & 0xFF_FFFF) as usize;
    if header_len > frame.len() {
        return Err(FrameError::BadHeaderLength { header: header_len, available: frame.len() });
    }
    let header = frame.split_to(header_len);
    let mut cmd = match SerializeType::from_code(kind) {
        Some(SerializeType::Json) => json_header::decode(&header)?,
        Some(SerializeType::RocketMq) => binary_header::decode(&header)?,
        None => return Err(FrameError::UnknownSerializeType(kind)),
    };
    cmd.body = Body::from(frame.freeze());
    Ok(Some(cmd))
}

/// Writes the length prefix and header of `cmd` for a body of `cmd.body.len()`
/// bytes; the caller sends the body chunks after it. This lets a transport send
/// bodies that live elsewhere (mapped store files) without copying them.
pub fn encode_head(cmd: &RemotingCommand, dst: &mut BytesMut) -> Result<(), FrameError> {
    let start = dst.len();
    dst.put_u64(0); // length and header word, patched below
    match cmd.serialize_type {
        SerializeType::Json => json_header::encode(cmd, dst)?,
        SerializeType::RocketMq => binary_header::encode(cmd, dst),
    }
    let header_len = dst.len() - start - 8;
    if header_len > MAX_HEADER_LEN {
        dst.truncate(start);
        return Err(FrameError::HeaderTooLarge(header_len));
    }
    let length = 4 + header_len + cmd.body.len();
    let word = (u32::from(cmd.serialize_type.code()) << 24) | header_len as u32;
    dst[start..start + 4].copy_from_slice(&(length as u32).to_be_bytes());
    dst[start + 4..start + 8].copy_from_slice(&word.to_be_bytes());
    Ok(())
}

/// Writes the whole frame of `cmd`, body included, into `dst`.
pub fn encode(cmd: &RemotingCommand, dst: &mut BytesMut) -> Result<(), FrameError> {
    encode_head(cmd, dst)?;
    dst.reserve(cmd.body.len());
    for chunk in cmd.body.chunks() {
        dst.put_slice(chunk);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RequestCode;
    use crate::command::LanguageCode;
    use crate::header::GetRouteInfoRequestHeader;
    use bytes::Bytes;

    fn route_request(kind: SerializeType) -> RemotingCommand {
        let header = GetRouteInfoRequestHeader { topic: "TopicTest".into(), accept_standard_json_only: None };
        let mut cmd = RemotingCommand::request(RequestCode::GetRouteinfoByTopic, &header).with_opaque(7);
        cmd.serialize_type = kind;
        cmd
    }

    /// GET_ROUTEINFO_BY_TOPIC for `TopicTest` (opaque 7, version 409) with a
    /// 131-byte JSON header: the frame starts `00000087 00000083`.
    #[test]
    fn json_frame_matches_document() {
        let mut buf = BytesMut::new();
        encode(&route_request(SerializeType::Json), &mut buf).unwrap();
        let header = br#"{"code":105,"extFields":{"topic":"TopicTest"},"flag":0,"language":"JAVA","opaque":7,"serializeTypeCurrentRPC":"JSON","version":409}"#;
        assert_eq!(header.len(), 131);
        let mut expected = vec![0x00, 0x00, 0x00, 0x87, 0x00, 0x00, 0x00, 0x83];
        expected.extend_from_slice(header);
        assert_eq!(&buf[..], &expected[..]);
    }

    /// The same request with a 41-byte ROCKETMQ header: length 0x2d, header
    /// word 0x01000029, then the fixed fields and one ext field.
    #[test]
    fn binary_frame_matches_document() {
        let mut buf = BytesMut::new();
        encode(&route_request(SerializeType::RocketMq), &mut buf).unwrap();
        let mut expected = vec![0, 0, 0, 0x2d, 0x01, 0, 0, 0x29];
        expected.extend_from_slice(&[0x00, 0x69, 0x00, 0x01, 0x99, 0, 0, 0, 7, 0, 0, 0, 0]);
        expected.extend_from_slice(&[0, 0, 0, 0]);
        expected.extend_from_slice(&[0, 0, 0, 0x14, 0, 5]);
        expected.extend_from_slice(b"topic");
        expected.extend_from_slice(&[0, 0, 0, 9]);
        expected.extend_from_slice(b"TopicTest");
        assert_eq!(&buf[..], &expected[..]);
    }

    #[test]
    fn round_trip_both_types_with_body() {
        for kind in [SerializeType::Json, SerializeType::RocketMq] {
            let mut cmd = route_request(kind).with_body(Bytes::from_static(b"hello"));
            cmd.remark = Some("r\u{e9}mark \"quoted\"".into());
            cmd.language = LanguageCode::Go;
            let mut buf = BytesMut::new();
            encode(&cmd, &mut buf).unwrap();
            buf.extend_from_slice(b"\x00\x00"); // start of the next frame
            let decoded = decode(&mut buf, 1024).unwrap().unwrap();
            assert_eq!(decoded, cmd);
            assert_eq!(&buf[..], b"\x00\x00");
        }
    }

    #[test]
    fn incomplete_frame_leaves_buffer_untouched() {
        let mut full = BytesMut::new();
        encode(&route_request(SerializeType::Json), &mut full).unwrap();
        for cut in 0..full.len() {
            let mut partial = BytesMut::from(&full[..cut]);
            assert!(decode(&mut partial, 1024).unwrap().is_none());
            assert_eq!(&partial[..], &full[..cut]);
        }
    }

    #[test]
    fn bad_frames_are_errors_not_allocations() {
        let mut huge = BytesMut::from(&[0x7f, 0xff, 0xff, 0xff][..]);
        assert!(matches!(decode(&mut huge, 1024), Err(FrameError::TooLarge { .. })));
        let mut negative = BytesMut::from(&[0xff, 0xff, 0xff, 0xff][..]);
        assert!(matches!(decode(&mut negative, 1024), Err(FrameError::BadLength(-1))));
        let mut header_past_end = BytesMut::from(&[0, 0, 0, 6, 0, 0, 0, 9, b'{', b'}'][..]);
        assert!(matches!(decode(&mut header_past_end, 1024), Err(FrameError::BadHeaderLength { .. })));
        let mut bad_json = BytesMut::from(&[0, 0, 0, 6, 0, 0, 0, 2, b'{', b'x'][..]);
        assert!(matches!(decode(&mut bad_json, 1024), Err(FrameError::Json(_))));
        let mut bad_type = BytesMut::from(&[0, 0, 0, 6, 7, 0, 0, 2, b'{', b'}'][..]);
        assert!(matches!(decode(&mut bad_type, 1024), Err(FrameError::UnknownSerializeType(7))));
    }

    #[test]
    fn lenient_json_headers() {
        let header = br#"{"code":"105","extFields":{"topic":"T","n":5,"b":true,"z":null},"language":"KLINGON","opaque":3,"flag":0,"unknown":[1]}"#;
        let mut frame = BytesMut::new();
        frame.put_u32(4 + header.len() as u32);
        frame.put_u32(header.len() as u32);
        frame.put_slice(header);
        let cmd = decode(&mut frame, 1024).unwrap().unwrap();
        assert_eq!(cmd.code, 105);
        assert_eq!(cmd.language, LanguageCode::Other);
        assert_eq!(cmd.ext("n"), Some("5"));
        assert_eq!(cmd.ext("b"), Some("true"));
        assert_eq!(cmd.ext("z"), None);

        // Other writers: keys in another case, bare keys, the language by its
        // code, a trailing newline.
        for (header, language) in [
            (&br#"{"Code":105,"ExtFields":{"topic":"T"},"LANGUAGE":"cpp","Opaque":"9"}"#[..], LanguageCode::Cpp),
            (&b"{code:105,extFields:{topic:\"T\"},language:9,opaque:9}\n"[..], LanguageCode::Go),
        ] {
            let mut frame = BytesMut::new();
            frame.put_u32(4 + header.len() as u32);
            frame.put_u32(header.len() as u32);
            frame.put_slice(header);
            let cmd = decode(&mut frame, 1024).unwrap().unwrap();
            assert_eq!((cmd.code, cmd.opaque, cmd.ext("topic"), cmd.language), (105, 9, Some("T"), language));
        }
    }
}
