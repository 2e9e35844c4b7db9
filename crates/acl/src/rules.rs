//! `plain_acl.yml` (accounts, global white addresses, default topic and group
//! permissions, as Java's `PlainPermissionManager` reads it) read into [`Rules`]. Every error names its line,
//! so an operator can fix a broken file while the previous rules stay in
//! force.

use std::collections::HashMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::AclError;
use crate::address::AddressPattern;

/// Permission bits (Java's `Permission`).
pub const DENY: u8 = 1;
pub const ANY: u8 = 1 << 1;
pub const PUB: u8 = 1 << 2;
pub const SUB: u8 = 1 << 3;

/// Group resources are their retry topics, as in Java.
pub const RETRY_PREFIX: &str = "%RETRY%";

/// Java's minimum: access and secret keys must be longer than 6 characters.
const MIN_KEY_LEN: usize = 6;

/// One account of the file.
#[derive(Clone, Debug)]
pub struct Account {
    pub access_key: String,
    pub secret_key: String,
    pub white: AddressPattern,
    pub admin: bool,
    pub default_topic_perm: u8,
    pub default_group_perm: u8,
    /// Topic name or `%RETRY%<group>` → permission.
    pub perms: HashMap<String, u8>,
}

/// The rules in force.
#[derive(Clone, Debug, Default)]
pub struct Rules {
    pub global_white: Vec<AddressPattern>,
    pub accounts: HashMap<String, Account>,
}

/// Java's `Permission.parsePermFromString`: anything unknown denies.
pub fn parse_perm(text: &str) -> u8 {
    match text.trim() {
        "PUB" => PUB,
        "SUB" => SUB,
        "PUB|SUB" | "SUB|PUB" => PUB | SUB,
        _ => DENY,
    }
}

/// Java's `Permission.checkPermission`.
pub fn permits(needed: u8, owned: u8) -> bool {
    if owned & DENY != 0 {
        return false;
    }
    if needed & ANY != 0 {
        return owned & (PUB | SUB) != 0;
    }
    needed & owned != 0
}

/// The resource of consumer group `group`: its retry topic, as in Java.
pub fn group_resource(group: &str) -> String {
    format!("{RETRY_PREFIX}{group}")
}

impl Account {
    /// What the account holds on `resource` (a topic, or a group as
    /// [`group_resource`]): its own entry, else its default for topics or
    /// for groups.
    pub fn perm(&self, resource: &str) -> u8 {
        self.perms.get(resource).copied().unwrap_or(if resource.starts_with(RETRY_PREFIX) {
            self.default_group_perm
        } else {
            self.default_topic_perm
        })
    }

    /// Java's `PlainPermissionManager.checkPerm`: whether the account may
    /// do each `(resource, permission)` of `needs`. An admin that lists no
    /// `topicPerms`/`groupPerms` may do anything; an admin that lists some
    /// is held to them, as in Java. The first resource refused is named.
    pub fn check(&self, needs: &[(String, u8)]) -> Result<(), AclError> {
        if self.admin && self.perms.is_empty() {
            return Ok(());
        }
        for (resource, needed) in needs {
            if !permits(*needed, self.perm(resource)) {
                let what = match resource.strip_prefix(RETRY_PREFIX) {
                    Some(group) => format!("group:{group}"),
                    None => format!("topic:{resource}"),
                };
                return Err(AclError::Denied(what));
            }
        }
        Ok(())
    }
}

impl Rules {
    pub fn parse(text: &str) -> Result<Rules, AclError> {
        let root = load(text)?;
        let mut rules = Rules::default();
        let Some(root) = root else {
            return Ok(rules);
        };
        let entries = root.mapping("the file")?;
        for (key, value) in entries {
            match key.as_str() {
                "globalWhiteRemoteAddresses" => {
                    for item in value.list("globalWhiteRemoteAddresses")? {
                        let text = item.text("an address pattern")?.unwrap_or_default();
                        let pattern = AddressPattern::parse(&text)
                            .map_err(|message| AclError::File { line: item.line, message })?;
                        rules.global_white.push(pattern);
                    }
                }
                "accounts" => {
                    for item in value.list("accounts")? {
                        let account = account(item)?;
                        if rules.accounts.contains_key(&account.access_key) {
                            tracing::warn!(
                                "plain_acl.yml line {}: accessKey {} is defined twice; the first one is used",
                                item.line,
                                account.access_key
                            );
                            continue;
                        }
                        rules.accounts.insert(account.access_key.clone(), account);
                    }
                }
                _ => {} // dataVersion and unknown keys
            }
        }
        Ok(rules)
    }
}

fn account(node: &Node) -> Result<Account, AclError> {
    let mut fields: HashMap<&str, &Node> = HashMap::new();
    for (key, value) in node.mapping("an account")? {
        fields.insert(key.as_str(), value);
    }
    let text = |name: &str| -> Result<Option<String>, AclError> {
        match fields.get(name) {
            Some(n) => n.text(name),
            None => Ok(None),
        }
    };
    let access_key = text("accessKey")?.unwrap_or_default();
    let secret_key = text("secretKey")?.unwrap_or_default();
    if access_key.chars().count() <= MIN_KEY_LEN || secret_key.chars().count() <= MIN_KEY_LEN {
        return Err(AclError::File {
            line: node.line,
            message: format!(
                "The accessKey={access_key} and secretKey cannot be null and length should longer than {MIN_KEY_LEN}"
            ),
        });
    }
    let white_line = fields.get("whiteRemoteAddress").map_or(node.line, |n| n.line);
    let white = AddressPattern::parse(&text("whiteRemoteAddress")?.unwrap_or_default())
        .map_err(|message| AclError::File { line: white_line, message })?;
    let admin = match text("admin")? {
        None => false,
        Some(v) if v.eq_ignore_ascii_case("true") => true,
        Some(v) if v.eq_ignore_ascii_case("false") => false,
        Some(v) => {
            return Err(AclError::File {
                line: fields.get("admin").map_or(node.line, |n| n.line),
                message: format!("admin must be true or false, not {v:?}"),
            });
        }
    };
    let mut perms = HashMap::new();
    for (name, group) in [("topicPerms", false), ("groupPerms", true)] {
        let Some(list) = fields.get(name) else { continue };
        for item in list.list(name)? {
            let entry = item.text(name)?.unwrap_or_default();
            let parts: Vec<&str> = entry.split('=').filter(|p| !p.is_empty()).collect();
            let [resource, perm] = parts[..] else {
                return Err(AclError::File {
                    line: item.line,
                    message: format!(
                        "Parse resource permission failed for {}:{entry} (expected NAME=PERM)",
                        if group { "group" } else { "topic" }
                    ),
                });
            };
            let resource =
                if group { format!("{RETRY_PREFIX}{}", resource.trim()) } else { resource.trim().to_owned() };
            perms.insert(resource, parse_perm(perm));
        }
    }
    Ok(Account {
        access_key,
        secret_key,
        white,
        admin,
        default_topic_perm: parse_perm(&text("defaultTopicPerm")?.unwrap_or_default()),
        default_group_perm: parse_perm(&text("defaultGroupPerm")?.unwrap_or_default()),
        perms,
    })
}

/// A YAML node with the line it starts on.
#[derive(Clone, Debug)]
struct Node {
    line: usize,
    kind: Kind,
}

#[derive(Clone, Debug)]
enum Kind {
    Null,
    Scalar(String),
    List(Vec<Node>),
    Map(Vec<(String, Node)>),
}

impl Node {
    fn mapping(&self, what: &str) -> Result<&[(String, Node)], AclError> {
        match &self.kind {
            Kind::Map(entries) => Ok(entries),
            Kind::Null => Ok(&[]),
            _ => Err(AclError::File { line: self.line, message: format!("{what} must be a mapping") }),
        }
    }

    fn list(&self, what: &str) -> Result<&[Node], AclError> {
        match &self.kind {
            Kind::List(items) => Ok(items),
            Kind::Null => Ok(&[]),
            _ => Err(AclError::File { line: self.line, message: format!("{what} must be a list") }),
        }
    }

    fn text(&self, what: &str) -> Result<Option<String>, AclError> {
        match &self.kind {
            Kind::Scalar(s) => Ok(Some(s.clone())),
            Kind::Null => Ok(None),
            _ => Err(AclError::File { line: self.line, message: format!("{what} must be a single value") }),
        }
    }
}

/// Builds [`Node`]s from the parser's marked events.
#[derive(Default)]
struct Builder {
    /// Open containers, each with its line and, for maps, a pending key.
    stack: Vec<(Node, Option<String>)>,
    anchors: HashMap<usize, Node>,
    anchor_of_open: Vec<usize>,
    root: Option<Node>,
    error: Option<AclError>,
}

impl Builder {
    fn push_value(&mut self, node: Node) {
        if self.error.is_some() {
            return;
        }
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some((Node { kind: Kind::List(items), .. }, _)) => items.push(node),
            Some((Node { kind: Kind::Map(entries), .. }, pending)) => match pending.take() {
                Some(key) => entries.push((key, node)),
                None => match node.kind {
                    Kind::Scalar(key) => *pending = Some(key),
                    Kind::Null => *pending = Some(String::new()),
                    _ => {
                        self.error = Some(AclError::File {
                            line: node.line,
                            message: "mapping keys must be plain values".into(),
                        })
                    }
                },
            },
            Some(_) => {}
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let line = mark.line();
        match ev {
            Event::Scalar(value, style, anchor, _) => {
                let null =
                    style == TScalarStyle::Plain && matches!(value.as_str(), "~" | "null" | "Null" | "NULL" | "");
                let node = Node { line, kind: if null { Kind::Null } else { Kind::Scalar(value) } };
                if anchor > 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.push_value(node);
            }
            Event::SequenceStart(anchor, _) => {
                self.anchor_of_open.push(anchor);
                self.stack.push((Node { line, kind: Kind::List(Vec::new()) }, None));
            }
            Event::MappingStart(anchor, _) => {
                self.anchor_of_open.push(anchor);
                self.stack.push((Node { line, kind: Kind::Map(Vec::new()) }, None));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let (Some((node, _)), Some(anchor)) = (self.stack.pop(), self.anchor_of_open.pop()) {
                    if anchor > 0 {
                        self.anchors.insert(anchor, node.clone());
                    }
                    self.push_value(node);
                }
            }
            Event::Alias(anchor) => match self.anchors.get(&anchor).cloned() {
                Some(node) => self.push_value(node),
                None => self.error = Some(AclError::File { line, message: "alias of an unknown anchor".into() }),
            },
            _ => {}
        }
    }
}

/// Parses the first document of `text`; `None` for an empty file.
fn load(text: &str) -> Result<Option<Node>, AclError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser
        .load(&mut builder, false)
        .map_err(|e| AclError::File { line: e.marker().line(), message: e.info().to_owned() })?;
    if let Some(error) = builder.error {
        return Err(error);
    }
    Ok(builder.root)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 4.9.8 distribution file (comments removed).
    const DISTRIBUTION: &str = "globalWhiteRemoteAddresses:
  - 10.10.103.*
  - 192.168.0.*

accounts:
  - accessKey: RocketMQ
    secretKey: 12345678
    whiteRemoteAddress:
    admin: false
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - topicA=DENY
      - topicB=PUB|SUB
      - topicC=SUB
    groupPerms:
      # the group should convert to retry topic
      - groupA=DENY
      - groupB=PUB|SUB
      - groupC=SUB

  - accessKey: rocketmq2
    secretKey: 12345678
    whiteRemoteAddress: 192.168.1.*
    # if it is admin, it could access all resources
    admin: true
";

    #[test]
    fn the_distribution_file_loads() {
        let rules = Rules::parse(DISTRIBUTION).unwrap();
        assert_eq!(rules.global_white.len(), 2);
        let a = &rules.accounts["RocketMQ"];
        assert_eq!(a.secret_key, "12345678");
        assert_eq!(a.white, AddressPattern::Nothing);
        assert!(!a.admin);
        assert_eq!((a.default_topic_perm, a.default_group_perm), (DENY, SUB));
        assert_eq!(a.perms["topicB"], PUB | SUB);
        assert_eq!(a.perms["%RETRY%groupA"], DENY);
        let b = &rules.accounts["rocketmq2"];
        assert!(b.admin);
        assert!(b.perms.is_empty());
        assert!(b.white.matches("192.168.1.7".parse().unwrap()));
    }

    #[test]
    fn errors_name_their_line() {
        let broken = DISTRIBUTION.replace("  - 192.168.0.*", "  - 192.168.0.*\n  bad: [");
        assert_eq!(Rules::parse(&broken).unwrap_err().line(), Some(4), "{:?}", Rules::parse(&broken));
        let short = DISTRIBUTION
            .replace("secretKey: 12345678\n    whiteRemoteAddress: 192", "secretKey: 123\n    whiteRemoteAddress: 192");
        assert_eq!(Rules::parse(&short).unwrap_err().line(), Some(22), "the account's first line");
        let perm = DISTRIBUTION.replace("topicC=SUB", "topicC");
        let e = Rules::parse(&perm).unwrap_err();
        assert_eq!(e.line(), Some(15), "{e}");
        let addr = DISTRIBUTION.replace("192.168.1.*", "192.168.1.300");
        assert_eq!(Rules::parse(&addr).unwrap_err().line(), Some(24));
        assert!(Rules::parse("accounts: 5").is_err());
        assert!(Rules::parse("").unwrap().accounts.is_empty());
    }

    #[test]
    fn permission_checks_follow_java() {
        assert!(permits(PUB, PUB | SUB));
        assert!(!permits(PUB, SUB));
        assert!(!permits(SUB, DENY));
        assert!(permits(ANY, SUB));
        assert_eq!(parse_perm("whatever"), DENY);
    }

    #[test]
    fn accounts_with_defaults_deny_and_admin() {
        let rules = Rules::parse(DISTRIBUTION).unwrap();
        let a = &rules.accounts["RocketMQ"];
        let need = |resource: &str, perm: u8| vec![(resource.to_owned(), perm)];
        assert_eq!(a.check(&need("topicB", PUB)), Ok(()));
        assert_eq!(a.check(&need("topicC", PUB)), Err(AclError::Denied("topic:topicC".into())));
        assert_eq!(a.check(&need("topicA", ANY)), Err(AclError::Denied("topic:topicA".into())));
        assert_eq!(a.check(&need("unlisted", SUB)), Err(AclError::Denied("topic:unlisted".into())), "default DENY");
        assert_eq!(a.check(&need(&group_resource("unlisted"), SUB)), Ok(()), "default group SUB");
        assert_eq!(a.check(&need(&group_resource("groupA"), SUB)), Err(AclError::Denied("group:groupA".into())));
        assert_eq!(
            a.check(&[("topicB".into(), SUB), (group_resource("groupA"), SUB)]).unwrap_err().to_string(),
            "No default permission for group:groupA"
        );
        let admin = &rules.accounts["rocketmq2"];
        assert_eq!(admin.check(&need("anything", PUB)), Ok(()));
        let mut listed = admin.clone();
        listed.perms.insert("topicX".into(), DENY);
        assert!(listed.check(&need("topicX", SUB)).is_err(), "an admin with perms is held to them");
    }
}
