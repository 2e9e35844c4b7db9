//! What every request carries besides its message: who the client is
//! (`x-mq-client-id`, and its account when ACL is on), where it connects
//! from, and how long it will wait.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use rmq_protocol::LanguageCode;

use crate::auth::{Auth, Caller, Guarded};
use crate::pb::Code;
use crate::status::{Outcome, Refusal};

#[derive(Clone, Debug)]
pub(crate) struct Ctx {
    pub client_id: String,
    pub peer: SocketAddr,
    pub local: SocketAddr,
    /// The client's deadline for this call (`grpc-timeout`), if it set one.
    pub deadline: Option<Duration>,
    /// Who authenticated (`Caller::Anyone` when ACL is off).
    pub caller: Caller,
    /// What the client says it is (`x-mq-language`, `x-mq-client-version`):
    /// brokers list a 5.x consumer registered for it with these.
    pub language: LanguageCode,
    pub client_version: String,
}

impl Ctx {
    /// The context of a call, once it is authenticated and its request
    /// authorized ([`Auth::admit`]): the one place every call passes.
    pub fn of<T: Guarded>(req: &tonic::Request<T>, auth: &Auth) -> Outcome<Ctx> {
        let meta = req.metadata();
        let client_id = meta.get("x-mq-client-id").and_then(|v| v.to_str().ok()).unwrap_or_default().trim();
        if client_id.is_empty() {
            return Err(Refusal::new(Code::ClientIdRequired, "client id cannot be empty"));
        }
        let unknown = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
        let peer = req.remote_addr().unwrap_or(unknown);
        let caller = auth.admit(peer.ip(), meta, req.get_ref())?;
        let text = |key: &str| meta.get(key).and_then(|v| v.to_str().ok()).unwrap_or_default().trim().to_owned();
        Ok(Ctx {
            client_id: client_id.to_owned(),
            caller,
            language: LanguageCode::from_name(&text("x-mq-language")),
            client_version: text("x-mq-client-version"),
            peer,
            local: req.local_addr().unwrap_or(unknown),
            deadline: meta.get("grpc-timeout").and_then(|v| v.to_str().ok()).and_then(parse_grpc_timeout),
        })
    }
}

/// `grpc-timeout` as the gRPC spec writes it: up to 8 digits and a unit
/// (H, M, S, m, u, n).
pub(crate) fn parse_grpc_timeout(text: &str) -> Option<Duration> {
    let (digits, unit) = text.split_at(text.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts() {
        assert_eq!(parse_grpc_timeout("40000m"), Some(Duration::from_secs(40)));
        assert_eq!(parse_grpc_timeout("3S"), Some(Duration::from_secs(3)));
        assert_eq!(parse_grpc_timeout("1H"), Some(Duration::from_secs(3600)));
        for bad in ["", "m", "12x", "123456789S", "-1S"] {
            assert_eq!(parse_grpc_timeout(bad), None, "{bad}");
        }
    }
}
