//! ACL 1.0 (`aclEnable`, `${rocketmqHome}/conf/plain_acl.yml`), as Java's
//! `PlainAccessValidator` checks requests.
//!
//! Every request on both ports is checked before dispatch, in Java's order
//! (`PlainPermissionManager.validate`): a globally white-listed address
//! passes; otherwise the request must name a known `AccessKey`; an address
//! white-listed for that account passes; otherwise the signature must match
//! and the account must hold what the request's code needs: nothing more,
//! admin, or permissions on the topics and groups it names — one table for
//! every code, [`required::required`], stricter than Java's (see there and
//! docs/compatibility.md).
//!
//! A refusal is answered NO_PERMISSION (16) — Java answers SYSTEM_ERROR (1)
//! with the same texts — with remarks worded like Java's exceptions
//! (`No acl config for <ak>`, `Check signature failed for accessKey=<ak>`, …).
//!
//! The file is re-read when it changes ([`rmq_acl::RulesFile`]: looked at
//! at most once a second, on requests; a broken file leaves the previous
//! rules in force). Accounts, signatures and permissions are `rmq-acl`'s.

mod required;

use rmq_acl::{PUB, RulesFile, SUB, sign};
use rmq_protocol::{RemotingCommand, ResponseCode};
use rmq_remoting::Connection;
use rmq_store::StoreConfig;
use std::path::{Path, PathBuf};

use crate::config::BrokerConfig;
use required::{Required, named_resources, required};
use std::sync::Arc;

/// The trace topic: sending traces needs no topic permission (Java).
const TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";

/// The access rules in force.
#[derive(Debug)]
pub struct Acl {
    /// `aclEnable` as the broker started: Java installs its ACL hook at
    /// startup only, so `updateBrokerConfig -k aclEnable` takes effect at the
    /// next start, not at once for every client.
    /// `None` when off.
    file: Option<Arc<RulesFile>>,
}

impl Acl {
    pub fn new(config: &BrokerConfig, _store: &StoreConfig) -> Acl {
        let home = config
            .rocketmq_home
            .clone()
            .or_else(|| std::env::var("ROCKETMQ_HOME").ok())
            .unwrap_or_else(|| ".".to_owned());
        Acl::with_file(Path::new(&home).join("conf").join("plain_acl.yml"), config.acl_enable)
    }

    fn with_file(file: PathBuf, enabled: bool) -> Acl {
        Acl { file: enabled.then(|| Arc::new(RulesFile::open(file))) }
    }

    /// The verdict on one request from `ip`: `Err(remark)` to refuse. A
    /// [`Required::RecordTopic`] request passes here on its signature; its
    /// handler asks again with the record's topic.
    fn validate(&self, ip: std::net::IpAddr, request: &RemotingCommand) -> Result<(), String> {
        let needs = match required(request.request_code()) {
            Required::Named(names) => Needs::Resources(named_resources(request, names)),
            Required::Admin => Needs::Admin,
            Required::Signature | Required::RecordTopic => Needs::Resources(Vec::new()),
        };
        self.verdict(ip, request, needs)
    }

    fn verdict(&self, ip: std::net::IpAddr, request: &RemotingCommand, needs: Needs) -> Result<(), String> {
        let Some(file) = &self.file else { return Ok(()) };
        let rules = file.rules();
        if rules.global_white.iter().any(|p| p.matches(ip)) {
            return Ok(());
        }
        let Some(access_key) = request.ext(sign::ACCESS_KEY) else {
            return Err("No accessKey is configured".to_owned());
        };
        let Some(account) = rules.accounts.get(access_key) else {
            return Err(format!("No acl config for {access_key}"));
        };
        if account.white.matches(ip) {
            return Ok(());
        }
        let expected = sign::sign(&sign::content(&request.ext_fields, &request.body.to_bytes()), &account.secret_key);
        if !request.ext(sign::SIGNATURE).is_some_and(|s| sign::same(s, &expected)) {
            return Err(format!("Check signature failed for accessKey={access_key}"));
        }
        let needs = match needs {
            Needs::Admin if !account.admin => {
                return Err(format!(
                    "Need admin permission for request code={}, but accessKey={access_key} is not",
                    request.code
                ));
            }
            Needs::Admin => return Ok(()),
            Needs::Resources(needs) => needs,
        };
        if needs.iter().any(|(resource, perm)| resource == TRACE_TOPIC && *perm == PUB) {
            return Ok(());
        }
        account.check(&needs).map_err(|denied| denied.to_string())
    }
}

/// What [`Acl::verdict`] checks once the caller is known.
enum Needs {
    Admin,
    /// Resources and the permission each needs (groups as `%RETRY%<group>`).
    Resources(Vec<(String, u8)>),
}

impl Acl {
    /// The accounts that may replicate from this master (`haAuthEnable`):
    /// admin accounts of the file, as it stands when a slave connects.
    /// `None` when ACL is off.
    pub(crate) fn ha_accounts(&self) -> Option<rmq_replication::SecretLookup> {
        let file = self.file.clone()?;
        Some(rmq_replication::SecretLookup::new(move |access_key| {
            let rules = file.rules();
            rules.accounts.get(access_key).filter(|a| a.admin).map(|a| a.secret_key.clone())
        }))
    }

    /// Whether requests are checked (`aclEnable` at startup).
    pub(crate) fn enabled(&self) -> bool {
        self.file.is_some()
    }

    /// Checks a request before it is dispatched: `Some(refusal)` when ACL is
    /// on and the request may not pass.
    pub(crate) fn check(&self, conn: &Connection, request: &RemotingCommand) -> Option<RemotingCommand> {
        if !self.enabled() {
            return None;
        }
        let refusal = self.validate(conn.remote_addr().ip(), request).err()?;
        Some(refuse(conn, request, refusal))
    }

    /// For a request naming a stored record by its offset (VIEW_MESSAGE_BY_ID,
    /// [`Required::RecordTopic`]; CONSUMER_SEND_MSG_BACK), once its handler
    /// has found the record: `Some(refusal)` when ACL is on and
    /// the caller may not SUB `topic`, the record's topic, or, for a record
    /// no consume queue vouches for (`None`), is not admin. The answer then
    /// is the same NO_PERMISSION a topic named in the request would get, so
    /// a caller learns nothing about the record but that it may not read it.
    pub(crate) fn check_record_topic(
        &self,
        conn: &Connection,
        request: &RemotingCommand,
        topic: Option<&str>,
    ) -> Option<RemotingCommand> {
        if !self.enabled() {
            return None;
        }
        let needs = match topic {
            Some(topic) => Needs::Resources(vec![(topic.to_owned(), SUB)]),
            None => Needs::Admin,
        };
        let refusal = self.verdict(conn.remote_addr().ip(), request, needs).err()?;
        Some(refuse(conn, request, refusal))
    }
}

fn refuse(conn: &Connection, request: &RemotingCommand, refusal: String) -> RemotingCommand {
    tracing::warn!("ACL refused request code {} from {}: {refusal}", request.code, conn.remote_addr());
    RemotingCommand::response(ResponseCode::NoPermission, Some(refusal))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmq_protocol::RequestCode;
    use rmq_protocol::header::PullMessageRequestHeader;

    const FILE: &str = "globalWhiteRemoteAddresses:
  - 10.10.103.*
accounts:
  - accessKey: RocketMQ
    secretKey: 12345678
    admin: false
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - topicA=PUB|SUB
      - topicB=PUB
  - accessKey: AdminUser
    secretKey: 87654321
    whiteRemoteAddress: 192.168.1.*
    admin: true
";

    fn acl(dir: &Path, text: &str) -> Acl {
        std::fs::write(dir.join("plain_acl.yml"), text).unwrap();
        Acl::with_file(dir.join("plain_acl.yml"), true)
    }

    fn pull(topic: &str, group: &str) -> RemotingCommand {
        let header = PullMessageRequestHeader {
            consumer_group: group.into(),
            topic: topic.into(),
            queue_id: 0,
            queue_offset: 0,
            max_msg_nums: 32,
            sys_flag: 2,
            commit_offset: Some(0),
            suspend_timeout_millis: Some(15000),
            subscription: Some("*".into()),
            sub_version: Some(1),
            expression_type: Some("TAG".into()),
            max_msg_bytes: None,
        };
        RemotingCommand::request(RequestCode::PullMessage, &header)
    }

    fn signed(mut request: RemotingCommand, ak: &str, sk: &str) -> RemotingCommand {
        request.ext_fields.insert("AccessKey", ak);
        let signature = sign::sign(&sign::content(&request.ext_fields, &request.body.to_bytes()), sk);
        request.ext_fields.insert("Signature", signature);
        request
    }

    #[test]
    fn java_validation_order_and_remarks() {
        let dir = tempfile::tempdir().unwrap();
        let acl = acl(dir.path(), FILE);
        let ip = "127.0.0.1".parse().unwrap();
        assert_eq!(acl.validate(ip, &pull("topicA", "g")), Err("No accessKey is configured".into()));
        assert_eq!(acl.validate("10.10.103.5".parse().unwrap(), &pull("topicA", "g")), Ok(()));
        assert_eq!(
            acl.validate(ip, &signed(pull("topicA", "g"), "Nobody12", "12345678")),
            Err("No acl config for Nobody12".into())
        );
        assert_eq!(
            acl.validate(ip, &signed(pull("topicA", "g"), "RocketMQ", "wrong-secret")),
            Err("Check signature failed for accessKey=RocketMQ".into())
        );
        assert_eq!(acl.validate(ip, &signed(pull("topicA", "g"), "RocketMQ", "12345678")), Ok(()));
        assert_eq!(
            acl.validate(ip, &signed(pull("topicB", "g"), "RocketMQ", "12345678")),
            Err("No default permission for topic:topicB".into())
        );
        assert_eq!(
            acl.validate(ip, &signed(pull("topicZ", "g"), "RocketMQ", "12345678")),
            Err("No default permission for topic:topicZ".into())
        );
        // A tampered field breaks the signature.
        let mut tampered = signed(pull("topicA", "g"), "RocketMQ", "12345678");
        tampered.ext_fields.insert("queueOffset", "99");
        assert!(acl.validate(ip, &tampered).unwrap_err().starts_with("Check signature failed"));
        let create = RemotingCommand::bare_request(RequestCode::UpdateAndCreateTopic);
        assert_eq!(
            acl.validate(ip, &signed(create.clone(), "RocketMQ", "12345678")),
            Err("Need admin permission for request code=17, but accessKey=RocketMQ is not".into())
        );
        assert_eq!(acl.validate(ip, &signed(create, "AdminUser", "87654321")), Ok(()));
        // The admin's white address skips the signature.
        assert_eq!(
            acl.validate("192.168.1.9".parse().unwrap(), &signed(pull("x", "g"), "AdminUser", "bad-secret")),
            Ok(())
        );
    }
}
