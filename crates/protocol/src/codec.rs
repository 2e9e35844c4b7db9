//! A `tokio_util` codec over [`crate::frame`], for transports built on
//! `Framed`. The remoting crate writes bodies itself to avoid copies; this
//! codec is the simple path for tools and tests.

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};

use crate::command::RemotingCommand;
use crate::error::{DEFAULT_MAX_FRAME, FrameError};
use crate::frame;

/// Frames remoting commands, refusing frames over `max_frame` bytes.
#[derive(Clone, Copy, Debug)]
pub struct RemotingCodec {
    pub max_frame: usize,
}

impl Default for RemotingCodec {
    fn default() -> RemotingCodec {
        RemotingCodec { max_frame: DEFAULT_MAX_FRAME }
    }
}

impl Decoder for RemotingCodec {
    type Item = RemotingCommand;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<RemotingCommand>, FrameError> {
        frame::decode(src, self.max_frame)
    }
}

impl Encoder<RemotingCommand> for RemotingCodec {
    type Error = FrameError;

    fn encode(&mut self, cmd: RemotingCommand, dst: &mut BytesMut) -> Result<(), FrameError> {
        frame::encode(&cmd, dst)
    }
}

impl Encoder<&RemotingCommand> for RemotingCodec {
    type Error = FrameError;

    fn encode(&mut self, cmd: &RemotingCommand, dst: &mut BytesMut) -> Result<(), FrameError> {
        frame::encode(cmd, dst)
    }
}
