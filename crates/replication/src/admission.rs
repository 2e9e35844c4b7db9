//! Which peers a master lets replicate from it (an rmq extension; Java's
//! `HAService` accepts any TCP peer on the HA port).
//!
//! A peer on the HA port that sends 8 bytes is streamed the whole CommitLog,
//! and its reports count as a slave's acknowledgements for SYNC_MASTER. So the
//! master admits a connection only from an address it has reason to trust:
//! one of the registered slaves of its broker group (as the NameServers list
//! them, handed in by the broker with [`Admission::set_registered`]) or one
//! of the operator's allow-list ([`AllowList`], `haAllowedAddresses`).
//!
//! The check runs on the peer's address alone, before any byte is read or
//! written and before the connection takes a slot of `max_slaves`: a refused
//! peer is closed at once. Refusals are counted; each address is logged at
//! most once per [`LOG_EVERY_MS`]; and a refusal asks the broker, at most once
//! per [`REFRESH_EVERY_MS`], to learn the registered slaves again, since a
//! slave that has just registered may connect before the master has heard of
//! it (the slave reconnects after a second or two and is admitted then).
//!
//! Pure: the time comes in as milliseconds; the driver ([`crate::server`])
//! logs and wakes the broker as told.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

pub use rmq_model::allow_list::AllowList;

/// Each refused address is logged at most this often.
pub const LOG_EVERY_MS: u64 = 60_000;
/// Refusals ask for the registered slaves again at most this often.
pub const REFRESH_EVERY_MS: u64 = 1_000;
/// Most addresses whose last log time is remembered; past it, entries older
/// than [`LOG_EVERY_MS`] are forgotten, and if none is, refusals go unlogged
/// (still counted) until some are.
const LOGGED_MAX: usize = 4_096;

/// What to do with a new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Admit,
    /// Close it unread. `log`: first refusal of this address in a minute;
    /// `refresh`: ask the broker for the registered slaves again.
    Refuse {
        log: bool,
        refresh: bool,
    },
}

/// The master's admission rule and its refusal bookkeeping.
#[derive(Debug)]
pub struct Admission {
    /// `None`: everyone is admitted (Java's behaviour; tests of the wire).
    rule: Option<Rule>,
    refused: u64,
    last_logged: HashMap<IpAddr, u64>,
    last_refresh_ms: Option<u64>,
}

#[derive(Debug, Default)]
struct Rule {
    allowed: AllowList,
    registered: HashSet<IpAddr>,
}

impl Admission {
    /// Admits registered slaves and `allowed`.
    pub fn guarded(allowed: AllowList) -> Admission {
        Admission::with(Some(Rule { allowed, registered: HashSet::new() }))
    }

    /// Admits any peer, as Java's master does. For tests of the replication
    /// wire; a broker uses [`Admission::guarded`].
    pub fn anyone() -> Admission {
        Admission::with(None)
    }

    fn with(rule: Option<Rule>) -> Admission {
        Admission { rule, refused: 0, last_logged: HashMap::new(), last_refresh_ms: None }
    }

    /// The addresses the NameServers list as this group's slaves now;
    /// replaces what was known.
    pub fn set_registered(&mut self, slaves: impl IntoIterator<Item = IpAddr>) {
        if let Some(rule) = &mut self.rule {
            rule.registered = slaves.into_iter().map(|ip| ip.to_canonical()).collect();
        }
    }

    /// Whether `ip` is a registered slave or allowed (always, when unguarded).
    pub fn admits(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.rule.as_ref().is_none_or(|r| r.registered.contains(&ip) || r.allowed.contains(ip))
    }

    /// Decides on a connection from `peer` accepted at `now_ms`.
    pub fn check(&mut self, peer: IpAddr, now_ms: u64) -> Verdict {
        if self.admits(peer) {
            return Verdict::Admit;
        }
        let peer = peer.to_canonical();
        self.refused += 1;
        let refresh = self.last_refresh_ms.is_none_or(|at| now_ms.saturating_sub(at) >= REFRESH_EVERY_MS);
        if refresh {
            self.last_refresh_ms = Some(now_ms);
        }
        let log = match self.last_logged.get(&peer) {
            Some(at) => now_ms.saturating_sub(*at) >= LOG_EVERY_MS,
            None => {
                if self.last_logged.len() >= LOGGED_MAX {
                    self.last_logged.retain(|_, at| now_ms.saturating_sub(*at) < LOG_EVERY_MS);
                }
                self.last_logged.len() < LOGGED_MAX
            }
        };
        if log {
            self.last_logged.insert(peer, now_ms);
        }
        Verdict::Refuse { log, refresh }
    }

    /// Connections refused since the start.
    pub fn refused(&self) -> u64 {
        self.refused
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn registered_slaves_and_the_allow_list_are_admitted() {
        let mut a = Admission::guarded(AllowList::parse("10.9.0.0/16").unwrap());
        assert_eq!(a.check(ip("10.0.0.2"), 0), Verdict::Refuse { log: true, refresh: true });
        a.set_registered([ip("10.0.0.2")]);
        assert_eq!(a.check(ip("10.0.0.2"), 10), Verdict::Admit);
        assert_eq!(a.check(ip("10.9.3.3"), 10), Verdict::Admit);
        // The set is replaced, not added to: a slave gone from the routes is
        // no longer admitted.
        a.set_registered([ip("10.0.0.3")]);
        assert!(!a.admits(ip("10.0.0.2")));
        assert_eq!(a.refused(), 1);
        assert!(Admission::anyone().admits(ip("203.0.113.9")));
    }

    #[test]
    fn refusals_log_once_a_minute_and_refresh_once_a_second() {
        let mut a = Admission::guarded(AllowList::default());
        let stranger = ip("203.0.113.9");
        assert_eq!(a.check(stranger, 0), Verdict::Refuse { log: true, refresh: true });
        assert_eq!(a.check(stranger, 500), Verdict::Refuse { log: false, refresh: false });
        assert_eq!(a.check(ip("203.0.113.10"), 600), Verdict::Refuse { log: true, refresh: false });
        assert_eq!(a.check(stranger, 1_000), Verdict::Refuse { log: false, refresh: true });
        assert_eq!(a.check(stranger, 60_000), Verdict::Refuse { log: true, refresh: true });
        assert_eq!(a.refused(), 5);
    }

    #[test]
    fn the_log_memory_is_bounded() {
        let mut a = Admission::guarded(AllowList::default());
        for i in 0..LOGGED_MAX as u32 {
            a.check(IpAddr::from(i.to_be_bytes()), 0);
        }
        // Full of recent entries: a new address is refused unlogged.
        assert_eq!(a.check(ip("203.0.113.9"), 1), Verdict::Refuse { log: false, refresh: false });
        // A minute later the old entries make room.
        assert_eq!(a.check(ip("203.0.113.9"), LOG_EVERY_MS), Verdict::Refuse { log: true, refresh: true });
        assert_eq!(a.last_logged.len(), 1);
    }
}
