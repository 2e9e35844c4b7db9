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
//! The file is re-read when its modification time or size changes (looked at
//! at most once a second, on requests); a file that does not load leaves
//! the previous rules in force and the error is logged with its line.

mod address;
mod required;
mod rules;
mod sign;

use rmq_protocol::{RemotingCommand, ResponseCode};
use rmq_remoting::Connection;
use rmq_store::StoreConfig;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use crate::config::BrokerConfig;
use required::{Required, named_resources, required};
use rules::{PUB, RETRY_PREFIX, Rules, SUB};

/// How often the file's stamp is looked at, ms.
const WATCH_PERIOD_MS: i64 = 1_000;
/// The trace topic: sending traces needs no topic permission (Java).
const TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";

/// What identifies a version of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
}

#[derive(Debug, Default)]
struct Loaded {
    rules: Arc<Rules>,
    /// Stamp of the file last looked at (loaded or refused).
    stamp: Option<Stamp>,
}

/// The access rules in force.
#[derive(Debug)]
pub struct Acl {
    /// `aclEnable` as the broker started: Java installs its ACL hook at
    /// startup only, so `updateBrokerConfig -k aclEnable` takes effect at the
    /// next start, not at once for every client.
    enabled: bool,
    file: PathBuf,
    loaded: RwLock<Loaded>,
    last_look_ms: AtomicI64,
}

impl Acl {
    pub fn new(config: &BrokerConfig, _store: &StoreConfig) -> Acl {
        let home = config
            .rocketmq_home
            .clone()
            .or_else(|| std::env::var("ROCKETMQ_HOME").ok())
            .unwrap_or_else(|| ".".to_owned());
        let acl = Acl::with_file(Path::new(&home).join("conf").join("plain_acl.yml"), config.acl_enable);
        if acl.enabled {
            acl.reload_if_changed();
        }
        acl
    }

    fn with_file(file: PathBuf, enabled: bool) -> Acl {
        Acl { enabled, file, loaded: RwLock::new(Loaded::default()), last_look_ms: AtomicI64::new(0) }
    }

    fn rules(&self) -> Arc<Rules> {
        self.loaded.read().unwrap_or_else(|e| e.into_inner()).rules.clone()
    }

    /// Re-reads the file if it changed since it was last looked at.
    fn reload_if_changed(&self) {
        let stamp = std::fs::metadata(&self.file).ok().map(|m| Stamp { modified: m.modified().ok(), len: m.len() });
        let mut loaded = self.loaded.write().unwrap_or_else(|e| e.into_inner());
        if stamp == loaded.stamp {
            return;
        }
        let first = loaded.stamp.is_none() && loaded.rules.accounts.is_empty();
        loaded.stamp = stamp;
        let text = match std::fs::read_to_string(&self.file) {
            Ok(text) => text,
            Err(e) => {
                tracing::error!("ACL file {} cannot be read ({e}); the rules in force stay", self.file.display());
                return;
            }
        };
        match Rules::parse(&text) {
            Ok(rules) => {
                tracing::info!(
                    "ACL file {} {}: {} accounts, {} global white addresses",
                    self.file.display(),
                    if first { "loaded" } else { "reloaded" },
                    rules.accounts.len(),
                    rules.global_white.len()
                );
                loaded.rules = Arc::new(rules);
            }
            Err(e) => tracing::error!(
                "ACL file {} has an error at {e}; the rules in force stay until it is fixed",
                self.file.display()
            ),
        }
    }

    /// Looks at the file at most once per [`WATCH_PERIOD_MS`].
    fn watch(&self, now_ms: i64) {
        let last = self.last_look_ms.load(Ordering::Relaxed);
        if now_ms - last >= WATCH_PERIOD_MS
            && self.last_look_ms.compare_exchange(last, now_ms, Ordering::AcqRel, Ordering::Relaxed).is_ok()
        {
            self.reload_if_changed();
        }
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
        let rules = self.rules();
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
        if account.admin && account.perms.is_empty() {
            return Ok(());
        }
        for (resource, needed) in &needs {
            let group = resource.starts_with(RETRY_PREFIX);
            let owned = account.perms.get(resource).copied().unwrap_or(if group {
                account.default_group_perm
            } else {
                account.default_topic_perm
            });
            if !rules::permits(*needed, owned) {
                let what = match resource.strip_prefix(RETRY_PREFIX) {
                    Some(g) => format!("group:{g}"),
                    None => format!("topic:{resource}"),
                };
                return Err(format!("No default permission for {what}"));
            }
        }
        Ok(())
    }
}

/// What [`Acl::verdict`] checks once the caller is known.
enum Needs {
    Admin,
    /// Resources and the permission each needs (groups as `%RETRY%<group>`).
    Resources(Vec<(String, u8)>),
}

impl Acl {
    /// Whether requests are checked (`aclEnable` at startup).
    pub(crate) fn enabled(&self) -> bool {
        self.enabled
    }

    /// Checks a request before it is dispatched: `Some(refusal)` when ACL is
    /// on and the request may not pass.
    pub(crate) fn check(&self, conn: &Connection, request: &RemotingCommand) -> Option<RemotingCommand> {
        if !self.enabled {
            return None;
        }
        self.watch(crate::now_ms());
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
        if !self.enabled {
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
        let acl = Acl::with_file(dir.join("plain_acl.yml"), true);
        acl.reload_if_changed();
        acl
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
        request.ext_fields.insert("AccessKey".into(), ak.into());
        let signature = sign::sign(&sign::content(&request.ext_fields, &request.body.to_bytes()), sk);
        request.ext_fields.insert("Signature".into(), signature);
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
        tampered.ext_fields.insert("queueOffset".into(), "99".into());
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

    #[test]
    fn a_broken_file_keeps_the_old_rules_until_fixed() {
        let dir = tempfile::tempdir().unwrap();
        let acl = acl(dir.path(), FILE);
        let ip = "127.0.0.1".parse().unwrap();
        let request = signed(pull("topicA", "g"), "RocketMQ", "12345678");
        assert_eq!(acl.validate(ip, &request), Ok(()));
        std::fs::write(dir.path().join("plain_acl.yml"), format!("{FILE}  - accessKey: [broken\n")).unwrap();
        acl.reload_if_changed();
        assert_eq!(acl.validate(ip, &request), Ok(()), "old rules stay");
        std::fs::write(dir.path().join("plain_acl.yml"), FILE.replace("topicA=PUB|SUB", "topicA=DENY")).unwrap();
        acl.reload_if_changed();
        assert_eq!(acl.validate(ip, &request), Err("No default permission for topic:topicA".into()));
    }
}
