//! The rules of a `plain_acl.yml` in force, re-read when the file changes:
//! its modification time or size is looked at, at most once a second, on
//! the requests that need the rules. A file that does not load leaves the
//! previous rules in force and the error is logged with its line.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::rules::Rules;

/// How often the file's stamp is looked at, ms.
const WATCH_PERIOD_MS: i64 = 1_000;

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

/// A watched `plain_acl.yml`. Cheap to share behind an `Arc`; readers get
/// a snapshot ([`RulesFile::rules`]) and never wait for a reload.
#[derive(Debug)]
pub struct RulesFile {
    path: PathBuf,
    loaded: RwLock<Loaded>,
    last_look_ms: AtomicI64,
}

impl RulesFile {
    /// Watches `path`, loading it at once (a missing or broken file gives
    /// no accounts until it is fixed).
    pub fn open(path: impl Into<PathBuf>) -> RulesFile {
        let file = RulesFile { path: path.into(), loaded: RwLock::default(), last_look_ms: AtomicI64::new(0) };
        file.reload_if_changed();
        file.last_look_ms.store(now_ms(), Ordering::Relaxed);
        file
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The rules in force, after looking at the file if a second has passed
    /// since it was last looked at.
    pub fn rules(&self) -> Arc<Rules> {
        let now = now_ms();
        let last = self.last_look_ms.load(Ordering::Relaxed);
        if now - last >= WATCH_PERIOD_MS
            && self.last_look_ms.compare_exchange(last, now, Ordering::AcqRel, Ordering::Relaxed).is_ok()
        {
            self.reload_if_changed();
        }
        self.loaded.read().unwrap_or_else(|e| e.into_inner()).rules.clone()
    }

    /// Re-reads the file if it changed since it was last looked at.
    pub fn reload_if_changed(&self) {
        let stamp = std::fs::metadata(&self.path).ok().map(|m| Stamp { modified: m.modified().ok(), len: m.len() });
        let mut loaded = self.loaded.write().unwrap_or_else(|e| e.into_inner());
        if stamp == loaded.stamp {
            return;
        }
        let first = loaded.stamp.is_none() && loaded.rules.accounts.is_empty();
        loaded.stamp = stamp;
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) => {
                tracing::error!("ACL file {} cannot be read ({e}); the rules in force stay", self.path.display());
                return;
            }
        };
        match Rules::parse(&text) {
            Ok(rules) => {
                tracing::info!(
                    "ACL file {} {}: {} accounts, {} global white addresses",
                    self.path.display(),
                    if first { "loaded" } else { "reloaded" },
                    rules.accounts.len(),
                    rules.global_white.len()
                );
                loaded.rules = Arc::new(rules);
            }
            Err(e) => tracing::error!(
                "ACL file {} has an error at {e}; the rules in force stay until it is fixed",
                self.path.display()
            ),
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = "accounts:\n  - accessKey: RocketMQ\n    secretKey: 12345678\n";

    #[test]
    fn a_broken_file_keeps_the_old_rules_until_fixed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plain_acl.yml");
        std::fs::write(&path, ONE).unwrap();
        let file = RulesFile::open(&path);
        assert_eq!(file.rules().accounts.len(), 1);
        std::fs::write(&path, format!("{ONE}  - accessKey: [broken\n")).unwrap();
        file.reload_if_changed();
        assert_eq!(file.rules().accounts.len(), 1, "old rules stay");
        std::fs::write(&path, format!("{ONE}  - accessKey: Another1\n    secretKey: 87654321\n")).unwrap();
        file.reload_if_changed();
        assert_eq!(file.rules().accounts.len(), 2);
    }

    #[test]
    fn a_missing_file_has_no_accounts() {
        let dir = tempfile::tempdir().unwrap();
        assert!(RulesFile::open(dir.path().join("none.yml")).rules().accounts.is_empty());
    }
}
