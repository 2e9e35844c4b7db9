//! Who a 5.x client is and what it may do, by the ACL 1.0 accounts of
//! `plain_acl.yml` (`aclEnable` in `rmq-proxy.json`, or the broker's
//! `aclEnable` in local mode).
//!
//! Every call is authenticated once, before its body runs ([`Auth::admit`],
//! from `service.rs`): a peer in the file's `globalWhiteRemoteAddresses`
//! passes; otherwise the `authorization` metadata
//! (`MQv2-HMAC-SHA1 Credential=<ak>, SignedHeaders=x-mq-date-time, Signature=<hex>`)
//! must name a known account, and, unless the peer is in that account's
//! `whiteRemoteAddress`, carry HMAC-SHA1(secretKey, `x-mq-date-time`) in hex.
//! Failures are `UNAUTHORIZED`. The call then needs permissions on the
//! topics and groups it names ([`Guarded`]; a group is `%RETRY%<group>`, as
//! the broker reads it); a refusal is `FORBIDDEN` naming the resource.
//!
//! The proxy's own remoting calls to brokers are signed separately, with
//! the proxy's credentials (`rmq_client::Credentials`, see `server.rs`).

use rmq_acl::{ANY, PUB, Rules, RulesFile, SUB, group_resource, sign};
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use tonic::metadata::MetadataMap;

use crate::pb::*;
use crate::status::{Outcome, Refusal};

/// Metadata holding the client's signature.
const AUTHORIZATION: &str = "authorization";
/// Metadata the client signs.
const DATE_TIME: &str = "x-mq-date-time";
/// The only scheme RocketMQ 5's clients use.
const ALGORITHM: &str = "MQv2-HMAC-SHA1";

/// Who made a call, once authenticated.
#[derive(Clone, Debug)]
pub(crate) enum Caller {
    /// ACL is off, or the peer is globally white-listed: anything goes.
    Anyone,
    /// A white-listed or correctly signed account, with the rules it was
    /// found in (so one call sees one version of the file).
    Account { rules: Arc<Rules>, access_key: String },
}

impl Caller {
    /// Whether the caller may do each `(resource, permission)` of `needs`:
    /// `FORBIDDEN` naming the first resource refused.
    pub(crate) fn authorize(&self, needs: &[(String, u8)]) -> Outcome<()> {
        let Caller::Account { rules, access_key } = self else { return Ok(()) };
        let Some(account) = rules.accounts.get(access_key) else {
            return Err(Refusal::new(Code::Unauthorized, format!("User:{access_key} is not found.")));
        };
        account
            .check(needs)
            .map_err(|denied| Refusal::new(Code::Forbidden, format!("{denied}, accessKey={access_key} may not use it")))
    }
}

/// The rules the proxy checks clients against; `None` when ACL is off.
#[derive(Debug)]
pub(crate) struct Auth {
    file: Option<RulesFile>,
}

impl Auth {
    pub(crate) fn new(enabled: bool, file: &Path) -> Auth {
        if enabled {
            tracing::info!("the proxy checks 5.x clients' credentials against {}", file.display());
        }
        Auth { file: enabled.then(|| RulesFile::open(file)) }
    }

    /// Authenticates a call from `peer` and checks what its request needs.
    pub(crate) fn admit(&self, peer: IpAddr, meta: &MetadataMap, request: &impl Guarded) -> Outcome<Caller> {
        let Some(file) = &self.file else { return Ok(Caller::Anyone) };
        let caller = authenticate(file.rules(), peer, meta)?;
        caller.authorize(&request.needs())?;
        Ok(caller)
    }
}

impl Auth {
    /// Before the proxy changes a client's signed remoting request: checks
    /// the client's signature, and returns the client's account to sign the
    /// changed request with, so that brokers with ACL on still see the
    /// client's own account. `None`: the request is not signed. Refused
    /// (the remark) when it is signed and the proxy cannot vouch for it.
    pub(crate) fn resigner(
        &self,
        cmd: &rmq_protocol::RemotingCommand,
    ) -> Result<Option<rmq_client::Credentials>, String> {
        let Some(access_key) = cmd.ext(sign::ACCESS_KEY) else { return Ok(None) };
        let Some(file) = &self.file else {
            return Err(format!(
                "the proxy must change this request of accessKey={access_key} and cannot sign it again: set \
                 aclEnable and aclFilePath in rmq-proxy.json"
            ));
        };
        let rules = file.rules();
        let Some(account) = rules.accounts.get(access_key) else {
            return Err(format!("No acl config for {access_key}"));
        };
        let body = cmd.body.to_bytes();
        let expected = sign::sign(&sign::content(cmd.ext_fields.iter(), &body), &account.secret_key);
        if !sign::same(&expected, cmd.ext(sign::SIGNATURE).unwrap_or("")) {
            return Err(format!("Check signature failed for accessKey={access_key}"));
        }
        Ok(Some(rmq_client::Credentials::new(access_key, &account.secret_key)))
    }
}

/// The parts of an `authorization` value the proxy uses.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Authorization<'a> {
    pub access_key: &'a str,
    pub signature: &'a str,
}

/// Parses `MQv2-HMAC-SHA1 Credential=<ak>[/...], SignedHeaders=x-mq-date-time, Signature=<hex>`:
/// the access key is what precedes the credential's first `/`.
pub(crate) fn parse_authorization(value: &str) -> Option<Authorization<'_>> {
    let rest = value.trim().strip_prefix(ALGORITHM)?;
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let (mut access_key, mut signature) = (None, None);
    for part in rest.split(',') {
        let (key, value) = part.trim().split_once('=')?;
        match key.trim() {
            "Credential" => access_key = value.trim().split('/').next(),
            "Signature" => signature = Some(value.trim()),
            _ => {}
        }
    }
    let access_key = access_key.filter(|k| !k.is_empty())?;
    let signature = signature.filter(|s| !s.is_empty())?;
    Some(Authorization { access_key, signature })
}

/// Java's validation order: global white list, account, the account's white
/// list, signature.
pub(crate) fn authenticate(rules: Arc<Rules>, peer: IpAddr, meta: &MetadataMap) -> Outcome<Caller> {
    if rules.global_white.iter().any(|p| p.matches(peer)) {
        return Ok(Caller::Anyone);
    }
    let unauthorized = |message: String| Refusal::new(Code::Unauthorized, message);
    let Some(value) = meta.get(AUTHORIZATION) else {
        return Err(unauthorized("authorization header is missing, the client has no credentials".into()));
    };
    let Some(header) = value.to_str().ok().and_then(parse_authorization) else {
        return Err(unauthorized(format!("authorization header is not {ALGORITHM} Credential=..., Signature=...")));
    };
    let Some(account) = rules.accounts.get(header.access_key) else {
        return Err(unauthorized(format!("User:{} is not found.", header.access_key)));
    };
    if !account.white.matches(peer) {
        let Some(date_time) = meta.get(DATE_TIME).and_then(|v| v.to_str().ok()) else {
            return Err(unauthorized(format!("{DATE_TIME} header is missing.")));
        };
        let expected = sign::sign_hex(date_time.as_bytes(), &account.secret_key);
        if !sign::same(&header.signature.to_ascii_lowercase(), &expected) {
            return Err(unauthorized("check signature failed.".into()));
        }
    }
    let access_key = header.access_key.to_owned();
    Ok(Caller::Account { rules, access_key })
}

/// What a request needs of its caller: `(resource, permission)` pairs, a
/// group as `%RETRY%<group>`. Empty names are left to the call's own
/// checks (which refuse them).
pub(crate) trait Guarded {
    fn needs(&self) -> Vec<(String, u8)>;
}

fn name(resource: Option<&Resource>) -> Option<&str> {
    resource.map(|r| r.name.as_str()).filter(|n| !n.is_empty())
}

fn topic(resource: Option<&Resource>, perm: u8) -> Option<(String, u8)> {
    name(resource).map(|n| (n.to_owned(), perm))
}

fn group(resource: Option<&Resource>) -> Option<(String, u8)> {
    name(resource).map(|n| (group_resource(n), SUB))
}

fn queue_topic(queue: Option<&MessageQueue>, perm: u8) -> Option<(String, u8)> {
    topic(queue.and_then(|q| q.topic.as_ref()), perm)
}

macro_rules! guarded {
    ($($request:ty => |$r:ident| $needs:expr;)*) => {$(
        impl Guarded for $request {
            fn needs(&self) -> Vec<(String, u8)> {
                let $r = self;
                $needs.into_iter().flatten().collect()
            }
        }
    )*};
}

guarded! {
    QueryRouteRequest => |r| [topic(r.topic.as_ref(), ANY)];
    QueryAssignmentRequest => |r| [topic(r.topic.as_ref(), ANY)];
    SendMessageRequest => |r| r.messages.iter().map(|m| topic(m.topic.as_ref(), PUB)).collect::<Vec<_>>();
    EndTransactionRequest => |r| [topic(r.topic.as_ref(), PUB)];
    ReceiveMessageRequest => |r| [queue_topic(r.message_queue.as_ref(), SUB), group(r.group.as_ref())];
    AckMessageRequest => |r| [topic(r.topic.as_ref(), SUB), group(r.group.as_ref())];
    ChangeInvisibleDurationRequest => |r| [topic(r.topic.as_ref(), SUB), group(r.group.as_ref())];
    ForwardMessageToDeadLetterQueueRequest => |r| [topic(r.topic.as_ref(), SUB), group(r.group.as_ref())];
    PullMessageRequest => |r| [queue_topic(r.message_queue.as_ref(), SUB), group(r.group.as_ref())];
    UpdateOffsetRequest => |r| [queue_topic(r.message_queue.as_ref(), SUB), group(r.group.as_ref())];
    GetOffsetRequest => |r| [queue_topic(r.message_queue.as_ref(), SUB), group(r.group.as_ref())];
    QueryOffsetRequest => |r| [queue_topic(r.message_queue.as_ref(), SUB)];
    RecallMessageRequest => |r| [topic(r.topic.as_ref(), PUB)];
}

/// Heartbeats and goodbyes need only authentication.
impl Guarded for HeartbeatRequest {
    fn needs(&self) -> Vec<(String, u8)> {
        Vec::new()
    }
}

impl Guarded for NotifyClientTerminationRequest {
    fn needs(&self) -> Vec<(String, u8)> {
        Vec::new()
    }
}

/// A Telemetry stream is authenticated when it opens; its Settings are
/// authorized when they arrive ([`settings_needs`]).
impl<T> Guarded for tonic::Streaming<T> {
    fn needs(&self) -> Vec<(String, u8)> {
        Vec::new()
    }
}

/// What a client's Settings need: PUB on each topic it publishes to; SUB on
/// its group and each topic it subscribes to.
pub(crate) fn settings_needs(settings: &Settings) -> Vec<(String, u8)> {
    use crate::pb::settings::PubSub;
    match &settings.pub_sub {
        Some(PubSub::Publishing(p)) => p.topics.iter().filter_map(|t| topic(Some(t), PUB)).collect(),
        Some(PubSub::Subscription(s)) => group(s.group.as_ref())
            .into_iter()
            .chain(s.subscriptions.iter().filter_map(|e| topic(e.topic.as_ref(), SUB)))
            .collect(),
        None => Vec::new(),
    }
}

/// The proxy's own account from a `tools.yml` (Java's
/// `${ROCKETMQ_HOME}/conf/tools.yml`: `accessKey:` and `secretKey:` lines).
pub(crate) fn tools_credentials(text: &str) -> Option<rmq_client::Credentials> {
    let value = |key: &str| {
        text.lines().find_map(|line| {
            let (k, v) = line.split_once(':')?;
            (k.trim() == key).then(|| v.trim().trim_matches(|c| c == '"' || c == '\'').to_owned())
        })
    };
    let (access_key, secret_key) = (value("accessKey")?, value("secretKey")?);
    (!access_key.is_empty() && !secret_key.is_empty()).then(|| rmq_client::Credentials::new(access_key, secret_key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::metadata::MetadataValue;

    const FILE: &str = "globalWhiteRemoteAddresses:
  - 10.10.103.*
accounts:
  - accessKey: RocketMQ
    secretKey: 12345678
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - Orders=PUB|SUB
      - Audit=SUB
    groupPerms:
      - Closed=DENY
  - accessKey: Trusted1
    secretKey: 87654321
    whiteRemoteAddress: 192.168.1.*
";

    // Hex HMAC-SHA1 of the date below with key "12345678", computed with
    // Python: hmac.new(b"12345678", b"2024-05-01T10:20:30.123+08:00", hashlib.sha1).hexdigest()
    const DATE: &str = "2024-05-01T10:20:30.123+08:00";
    const SIGNATURE: &str = "a0d4c9d1365bf8a259bb0580efc2836a353f6524";

    fn meta(authorization: Option<&str>, date: Option<&str>) -> MetadataMap {
        let mut meta = MetadataMap::new();
        if let Some(a) = authorization {
            meta.insert(AUTHORIZATION, MetadataValue::try_from(a).unwrap());
        }
        if let Some(d) = date {
            meta.insert(DATE_TIME, MetadataValue::try_from(d).unwrap());
        }
        meta
    }

    fn header(ak: &str, signature: &str) -> String {
        format!("MQv2-HMAC-SHA1 Credential={ak}, SignedHeaders=x-mq-date-time, Signature={signature}")
    }

    fn refusal(outcome: Outcome<Caller>) -> (i32, String) {
        let refusal = outcome.expect_err("refused");
        (refusal.0.code, refusal.0.message)
    }

    #[test]
    fn authorization_headers() {
        assert_eq!(
            parse_authorization(&header("RocketMQ", SIGNATURE)),
            Some(Authorization { access_key: "RocketMQ", signature: SIGNATURE })
        );
        // Java's clients may append a scope after the access key.
        let scoped = "MQv2-HMAC-SHA1 Credential=ak1/20240501/region, SignedHeaders=x-mq-date-time, Signature=ABCD";
        assert_eq!(parse_authorization(scoped), Some(Authorization { access_key: "ak1", signature: "ABCD" }));
        for bad in [
            "",
            "Bearer abc",
            "MQv2-HMAC-SHA1Credential=a, Signature=b",
            "MQv2-HMAC-SHA1 Credential=a",
            "MQv2-HMAC-SHA1 Signature=b",
            "MQv2-HMAC-SHA1 Credential=/x, Signature=b",
            "MQv2-HMAC-SHA1 Credential=a, Signature",
        ] {
            assert_eq!(parse_authorization(bad), None, "{bad}");
        }
    }

    #[test]
    fn authentication_follows_javas_order() {
        let rules = Arc::new(Rules::parse(FILE).unwrap());
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let unauthorized = Code::Unauthorized as i32;
        let ok = authenticate(rules.clone(), ip, &meta(Some(&header("RocketMQ", SIGNATURE)), Some(DATE)));
        assert!(matches!(ok, Ok(Caller::Account { access_key, .. }) if access_key == "RocketMQ"));
        // Hex in upper case is the same signature.
        let upper = header("RocketMQ", &SIGNATURE.to_ascii_uppercase());
        assert!(authenticate(rules.clone(), ip, &meta(Some(&upper), Some(DATE))).is_ok());
        assert_eq!(
            refusal(authenticate(rules.clone(), ip, &meta(Some(&header("RocketMQ", SIGNATURE)), Some("2024")))),
            (unauthorized, "check signature failed.".into())
        );
        assert_eq!(
            refusal(authenticate(rules.clone(), ip, &meta(Some(&header("Nobody12", SIGNATURE)), Some(DATE)))),
            (unauthorized, "User:Nobody12 is not found.".into())
        );
        let (code, message) = refusal(authenticate(rules.clone(), ip, &meta(None, Some(DATE))));
        assert_eq!(code, unauthorized);
        assert!(message.contains("authorization header is missing"), "{message}");
        let (code, message) =
            refusal(authenticate(rules.clone(), ip, &meta(Some(&header("RocketMQ", SIGNATURE)), None)));
        assert_eq!((code, message.as_str()), (unauthorized, "x-mq-date-time header is missing."));
        // White lists: global for anyone, the account's without a signature.
        assert!(matches!(
            authenticate(rules.clone(), "10.10.103.7".parse().unwrap(), &meta(None, None)),
            Ok(Caller::Anyone)
        ));
        let white =
            authenticate(rules.clone(), "192.168.1.9".parse().unwrap(), &meta(Some(&header("Trusted1", "bad")), None));
        assert!(white.is_ok());
        assert!(authenticate(rules, ip, &meta(Some(&header("Trusted1", "bad")), Some(DATE))).is_err());
    }

    #[test]
    fn requests_need_their_topics_and_groups() {
        let rules = Arc::new(Rules::parse(FILE).unwrap());
        let caller = Caller::Account { rules, access_key: "RocketMQ".into() };
        let resource = |name: &str| Some(Resource { name: name.into(), ..Default::default() });
        let forbidden = |needs: Vec<(String, u8)>| {
            let refusal = caller.authorize(&needs).expect_err("forbidden");
            assert_eq!(refusal.0.code, Code::Forbidden as i32);
            refusal.0.message
        };
        let send = |topic: &str| SendMessageRequest {
            messages: vec![Message { topic: resource(topic), ..Default::default() }],
        };
        assert!(caller.authorize(&send("Orders").needs()).is_ok());
        assert!(forbidden(send("Audit").needs()).starts_with("No default permission for topic:Audit"));
        let receive = |topic: &str, group: &str| ReceiveMessageRequest {
            group: resource(group),
            message_queue: Some(MessageQueue { topic: resource(topic), ..Default::default() }),
            ..Default::default()
        };
        assert!(caller.authorize(&receive("Audit", "g1").needs()).is_ok());
        assert!(forbidden(receive("Audit", "Closed").needs()).starts_with("No default permission for group:Closed"));
        let route = QueryRouteRequest { topic: resource("Audit"), ..Default::default() };
        assert!(caller.authorize(&route.needs()).is_ok(), "SUB is enough to look a topic up");
        let route = QueryRouteRequest { topic: resource("Unlisted"), ..Default::default() };
        assert!(forbidden(route.needs()).contains("topic:Unlisted"));
        assert!(HeartbeatRequest::default().needs().is_empty());
        let publishing = Settings {
            pub_sub: Some(settings::PubSub::Publishing(Publishing {
                topics: vec![Resource { name: "Orders".into(), ..Default::default() }],
                ..Default::default()
            })),
            ..Default::default()
        };
        assert_eq!(settings_needs(&publishing), vec![("Orders".to_owned(), PUB)]);
    }

    #[test]
    fn tools_yml() {
        let c = tools_credentials("# the proxy\naccessKey: proxyUser\nsecretKey: \"proxy-secret\"\n").unwrap();
        assert_eq!((c.access_key.as_str(), c.secret_key.as_str()), ("proxyUser", "proxy-secret"));
        assert!(tools_credentials("accessKey: a\n").is_none());
        assert!(tools_credentials("accessKey:\nsecretKey:\n").is_none());
    }
}
