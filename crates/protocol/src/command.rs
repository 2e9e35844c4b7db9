//! `RemotingCommand`: the one message type of the remoting protocol. Requests
//! and responses share it; bit 0 of `flag` tells them apart.

use bytes::Bytes;
use std::fmt;

use crate::code::{RequestCode, ResponseCode};
use crate::header::CommandHeader;

/// The custom header fields of a command: all values are strings on the wire.
/// Sorted, which is also the order ACL signatures are computed in.
pub use crate::ext_fields::ExtFields;

/// `flag` bit 0: the command is a response.
pub const FLAG_RESPONSE: i32 = 1;
/// `flag` bit 1: the request wants no response.
pub const FLAG_ONEWAY: i32 = 2;

/// The `version` this implementation writes into every command: Java's ordinal
/// of `V4_9_8`. Clients gate features on it, and Java 4.9.4+ clients ask the
/// NameServer for standard JSON when they see ≥ 401 in their own version.
pub const RMQ_VERSION: i32 = 409;

/// How a header is encoded on the wire; the top byte of the header-length word.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SerializeType {
    #[default]
    Json,
    RocketMq,
}

impl SerializeType {
    pub fn code(self) -> u8 {
        match self {
            SerializeType::Json => 0,
            SerializeType::RocketMq => 1,
        }
    }

    pub fn from_code(code: u8) -> Option<SerializeType> {
        match code {
            0 => Some(SerializeType::Json),
            1 => Some(SerializeType::RocketMq),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SerializeType::Json => "JSON",
            SerializeType::RocketMq => "ROCKETMQ",
        }
    }
}

/// The sender's implementation language, by Java's enum order. Unknown names
/// and codes decode as `Other` rather than failing the command.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum LanguageCode {
    #[default]
    Java,
    Cpp,
    Dotnet,
    Python,
    Delphi,
    Erlang,
    Ruby,
    Other,
    Http,
    Go,
    Php,
    Oms,
    Rust,
    NodeJs,
}

const LANGUAGES: [(LanguageCode, &str); 14] = [
    (LanguageCode::Java, "JAVA"),
    (LanguageCode::Cpp, "CPP"),
    (LanguageCode::Dotnet, "DOTNET"),
    (LanguageCode::Python, "PYTHON"),
    (LanguageCode::Delphi, "DELPHI"),
    (LanguageCode::Erlang, "ERLANG"),
    (LanguageCode::Ruby, "RUBY"),
    (LanguageCode::Other, "OTHER"),
    (LanguageCode::Http, "HTTP"),
    (LanguageCode::Go, "GO"),
    (LanguageCode::Php, "PHP"),
    (LanguageCode::Oms, "OMS"),
    (LanguageCode::Rust, "RUST"),
    (LanguageCode::NodeJs, "NODE_JS"),
];

impl LanguageCode {
    /// The byte used by the ROCKETMQ binary header.
    pub fn code(self) -> u8 {
        LANGUAGES.iter().position(|(l, _)| *l == self).unwrap_or(7) as u8
    }

    pub fn from_code(code: u8) -> LanguageCode {
        LANGUAGES.get(usize::from(code)).map_or(LanguageCode::Other, |(l, _)| *l)
    }

    /// Java's enum name, used by JSON headers and admin bodies.
    pub fn name(self) -> &'static str {
        LANGUAGES[usize::from(self.code())].1
    }

    /// Java's enum name in any case, or its code as a number (clients that
    /// write enums as ordinals); anything else is OTHER.
    pub fn from_name(name: &str) -> LanguageCode {
        let name = name.trim();
        if let Some((language, _)) = LANGUAGES.iter().find(|(_, n)| n.eq_ignore_ascii_case(name)) {
            return *language;
        }
        match rmq_model::fastjson::scalar::integer_as::<u8>(name) {
            Some(code) => LanguageCode::from_code(code),
            None => LanguageCode::Other,
        }
    }
}

/// A command's body: nothing, one buffer, or several buffers sent back to back
/// (a pull response made of records still lying in the store's mapped files).
#[derive(Clone, Default, PartialEq, Eq)]
pub enum Body {
    #[default]
    Empty,
    Bytes(Bytes),
    Chunks(Vec<Bytes>),
}

impl Body {
    pub fn len(&self) -> usize {
        match self {
            Body::Empty => 0,
            Body::Bytes(b) => b.len(),
            Body::Chunks(c) => c.iter().map(Bytes::len).sum(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The body as one buffer; chunks are copied together.
    pub fn to_bytes(&self) -> Bytes {
        match self {
            Body::Empty => Bytes::new(),
            Body::Bytes(b) => b.clone(),
            Body::Chunks(c) => {
                let mut all = Vec::with_capacity(self.len());
                c.iter().for_each(|b| all.extend_from_slice(b));
                Bytes::from(all)
            }
        }
    }

    /// The buffers to write, in order.
    pub fn chunks(&self) -> &[Bytes] {
        match self {
            Body::Empty => &[],
            Body::Bytes(b) => std::slice::from_ref(b),
            Body::Chunks(c) => c,
        }
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Body({} bytes)", self.len())
    }
}

impl From<Bytes> for Body {
    fn from(b: Bytes) -> Body {
        if b.is_empty() { Body::Empty } else { Body::Bytes(b) }
    }
}

impl From<Vec<u8>> for Body {
    fn from(v: Vec<u8>) -> Body {
        Body::from(Bytes::from(v))
    }
}

impl From<String> for Body {
    fn from(s: String) -> Body {
        Body::from(Bytes::from(s))
    }
}

/// One request or response.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RemotingCommand {
    /// Request code for requests, response code for responses; see
    /// [`RemotingCommand::request_code`] and [`RemotingCommand::response_code`].
    pub code: i32,
    pub language: LanguageCode,
    pub version: i32,
    /// Chosen by the requester, echoed by the response.
    pub opaque: i32,
    pub flag: i32,
    pub remark: Option<String>,
    pub ext_fields: ExtFields,
    pub body: Body,
    /// The header encoding this command arrived in, or will be sent in.
    pub serialize_type: SerializeType,
}

impl RemotingCommand {
    /// A request with `code` and the given custom header.
    pub fn request(code: RequestCode, header: &impl CommandHeader) -> RemotingCommand {
        let mut cmd = RemotingCommand::bare_request(code);
        header.write_ext(&mut cmd.ext_fields);
        cmd
    }

    /// A request with no custom header.
    pub fn bare_request(code: RequestCode) -> RemotingCommand {
        RemotingCommand { code: code.to_i32(), version: RMQ_VERSION, ..RemotingCommand::default() }
    }

    /// A response with `code` and an optional remark. The opaque is filled in
    /// when the response is tied to its request ([`RemotingCommand::answering`]).
    pub fn response(code: ResponseCode, remark: impl Into<Option<String>>) -> RemotingCommand {
        RemotingCommand {
            code: code.to_i32(),
            version: RMQ_VERSION,
            flag: FLAG_RESPONSE,
            remark: remark.into(),
            ..RemotingCommand::default()
        }
    }

    /// A successful response without remark.
    pub fn success() -> RemotingCommand {
        RemotingCommand::response(ResponseCode::Success, None)
    }

    /// Makes this response answer `request`: same opaque, same header encoding.
    pub fn answering(mut self, request: &RemotingCommand) -> RemotingCommand {
        self.opaque = request.opaque;
        self.serialize_type = request.serialize_type;
        self.flag |= FLAG_RESPONSE;
        self
    }

    pub fn with_body(mut self, body: impl Into<Body>) -> RemotingCommand {
        self.body = body.into();
        self
    }

    pub fn with_header(mut self, header: &impl CommandHeader) -> RemotingCommand {
        header.write_ext(&mut self.ext_fields);
        self
    }

    pub fn with_ext(mut self, key: impl AsRef<str>, value: impl AsRef<str>) -> RemotingCommand {
        self.ext_fields.insert(key, value);
        self
    }

    pub fn with_opaque(mut self, opaque: i32) -> RemotingCommand {
        self.opaque = opaque;
        self
    }

    pub fn into_oneway(mut self) -> RemotingCommand {
        self.flag |= FLAG_ONEWAY;
        self
    }

    pub fn is_response(&self) -> bool {
        self.flag & FLAG_RESPONSE != 0
    }

    pub fn is_oneway(&self) -> bool {
        self.flag & FLAG_ONEWAY != 0
    }

    pub fn request_code(&self) -> RequestCode {
        RequestCode::from(self.code)
    }

    pub fn response_code(&self) -> ResponseCode {
        ResponseCode::from(self.code)
    }

    /// Decodes the custom header from the ext fields.
    pub fn header<H: CommandHeader>(&self) -> Result<H, crate::HeaderError> {
        H::read_ext(&self.ext_fields)
    }

    pub fn ext(&self, key: &str) -> Option<&str> {
        self.ext_fields.get(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_codes_follow_java_order() {
        assert_eq!(LanguageCode::Java.code(), 0);
        assert_eq!(LanguageCode::Go.code(), 9);
        assert_eq!(LanguageCode::Rust.code(), 12);
        assert_eq!(LanguageCode::from_code(13), LanguageCode::NodeJs);
        assert_eq!(LanguageCode::from_code(200), LanguageCode::Other);
        assert_eq!(LanguageCode::from_name("CPP"), LanguageCode::Cpp);
        assert_eq!(LanguageCode::from_name("COBOL"), LanguageCode::Other);
        assert_eq!(LanguageCode::NodeJs.name(), "NODE_JS");
    }

    #[test]
    fn response_answers_request() {
        let req = RemotingCommand { opaque: 9, serialize_type: SerializeType::RocketMq, ..RemotingCommand::default() };
        let resp = RemotingCommand::success().answering(&req);
        assert!(resp.is_response());
        assert_eq!(resp.opaque, 9);
        assert_eq!(resp.serialize_type, SerializeType::RocketMq);
    }
}
