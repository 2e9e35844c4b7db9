//! A remoting peer that writes its frames byte by byte, as a client in
//! another language would: JSON headers with a trailing newline, ext values
//! and header fields of whatever JSON type the test chooses. Answers are read
//! with rmq's own frame decoder; requests the server sends meanwhile
//! (NOTIFY_CONSUMER_IDS_CHANGED, ...) are skipped.

use bytes::BytesMut;
use rmq_protocol::{RemotingCommand, frame};
use std::io;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ANSWER_WITHIN: Duration = Duration::from_secs(10);

/// One TCP connection speaking raw frames.
#[derive(Debug)]
pub struct RawClient {
    stream: TcpStream,
    buffer: BytesMut,
    next_opaque: i32,
    /// The `language` value written into every header (a JSON value's text).
    pub language: String,
}

impl RawClient {
    pub async fn connect(addr: &str) -> io::Result<RawClient> {
        let stream = TcpStream::connect(addr).await?;
        Ok(RawClient { stream, buffer: BytesMut::new(), next_opaque: 1, language: "\"CPP\"".into() })
    }

    /// Sends request `code` with `ext` as a JSON object's text (`{"topic":"T"}`)
    /// and `body`, the header ending with a newline as jsoncpp writes it.
    pub async fn call(&mut self, code: i32, ext: &str, body: &[u8]) -> io::Result<RemotingCommand> {
        let opaque = self.next_opaque;
        self.next_opaque += 1;
        let header = format!(
            "{{\"code\":{code},\"extFields\":{ext},\"flag\":0,\"language\":{},\"opaque\":{opaque},\"serializeTypeCurrentRPC\":\"JSON\",\"version\":431}}\n",
            self.language
        );
        self.call_raw(header.as_bytes(), body, opaque).await
    }

    /// Sends `header` (JSON, as is) and `body`, and waits for the answer
    /// carrying `opaque`.
    pub async fn call_raw(&mut self, header: &[u8], body: &[u8], opaque: i32) -> io::Result<RemotingCommand> {
        let mut frame = Vec::with_capacity(8 + header.len() + body.len());
        frame.extend_from_slice(&((4 + header.len() + body.len()) as u32).to_be_bytes());
        frame.extend_from_slice(&(header.len() as u32).to_be_bytes());
        frame.extend_from_slice(header);
        frame.extend_from_slice(body);
        self.stream.write_all(&frame).await?;
        tokio::time::timeout(ANSWER_WITHIN, self.answer(opaque))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no answer"))?
    }

    async fn answer(&mut self, opaque: i32) -> io::Result<RemotingCommand> {
        loop {
            match frame::decode(&mut self.buffer, 64 << 20) {
                Ok(Some(cmd)) if cmd.is_response() && cmd.opaque == opaque => return Ok(cmd),
                Ok(Some(_)) => continue,
                Ok(None) => {}
                Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string())),
            }
            if self.stream.read_buf(&mut self.buffer).await? == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the server closed the connection"));
            }
        }
    }
}
