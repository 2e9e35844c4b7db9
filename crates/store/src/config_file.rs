//! The broker's JSON tables under `<root>/config/`, written atomically with a
//! temp file and a `.bak` copy as Java's `MixAll.string2File`
//! ([`MixAll.java`](https://github.com/apache/rocketmq/blob/rocketmq-all-4.9.8/common/src/main/java/org/apache/rocketmq/common/MixAll.java))
//! writes them: write `<file>.tmp` and fsync it, keep the current content as
//! `<file>.bak`, rename the temp file over the file, fsync the directory.
//! Loading falls back to `.bak` when the file is missing, empty or
//! unparsable, and reads Java's fastjson (unquoted integer keys).

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use rmq_model::fastjson;
use rmq_model::tables::{
    ConsumerOffsetSerializeWrapper, DelayOffsetSerializeWrapper, SubscriptionGroupWrapper, TopicConfigSerializeWrapper,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Result, StoreError};

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Atomically replaces `path` with `text`, keeping the old content in `.bak`.
pub fn persist_text(path: &Path, text: &str) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| StoreError::NotWritable { path: dir.to_owned(), source: e })?;
    let tmp = with_suffix(path, ".tmp");
    let mut f = File::create(&tmp).map_err(|e| StoreError::io(&tmp, "create", e))?;
    f.write_all(text.as_bytes()).map_err(|e| StoreError::io(&tmp, "write", e))?;
    f.sync_all().map_err(|e| StoreError::io(&tmp, "fsync", e))?;
    drop(f);
    if fs::metadata(path).is_ok_and(|m| m.len() > 0) {
        let bak = with_suffix(path, ".bak");
        fs::copy(path, &bak).map_err(|e| StoreError::io(&bak, "copy to backup", e))?;
        File::open(&bak).and_then(|f| f.sync_all()).map_err(|e| StoreError::io(&bak, "fsync", e))?;
    }
    fs::rename(&tmp, path).map_err(|e| StoreError::io(path, "rename", e))?;
    crate::segment::sync_dir(dir)
}

/// Serializes `value` in fastjson's pretty form and persists it atomically.
pub fn persist<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    persist_text(path, &fastjson::to_string_pretty(value))
}

/// Loads `path`, or its `.bak` when the file is missing, empty or unparsable.
/// `Ok(None)` when neither exists (first start); an error names both files
/// when both exist and neither parses.
pub fn load<T: DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    let main = match read_and_parse::<T>(path) {
        Ok(Some(v)) => return Ok(Some(v)),
        other => other.map(|_| ()),
    };
    let bak = with_suffix(path, ".bak");
    match (main, read_and_parse::<T>(&bak)) {
        (_, Ok(Some(v))) => {
            tracing::warn!(file = %path.display(), "config file unusable, loaded its .bak");
            Ok(Some(v))
        }
        (Ok(()), Ok(None)) => Ok(None),
        (Err(e), _) | (Ok(()), Err(e)) => Err(e),
    }
}

fn read_and_parse<T: DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io(path, "read", e)),
    };
    if text.trim().is_empty() {
        return Ok(None);
    }
    fastjson::from_str(&text).map(Some).map_err(|e| StoreError::Json(format!("{}: {e}", path.display())))
}

/// The four tables of `<root>/config/`, typed.
#[derive(Clone, Debug)]
pub struct ConfigFiles {
    dir: PathBuf,
}

impl ConfigFiles {
    /// Files under `dir` (normally `StoreConfig::config_dir()`).
    pub fn new(dir: impl Into<PathBuf>) -> ConfigFiles {
        ConfigFiles { dir: dir.into() }
    }

    pub fn topics_path(&self) -> PathBuf {
        self.dir.join("topics.json")
    }
    pub fn consumer_offsets_path(&self) -> PathBuf {
        self.dir.join("consumerOffset.json")
    }
    pub fn delay_offsets_path(&self) -> PathBuf {
        self.dir.join("delayOffset.json")
    }
    pub fn subscription_groups_path(&self) -> PathBuf {
        self.dir.join("subscriptionGroup.json")
    }
    /// 5.x: how each group consumes each topic (PULL or POP).
    pub fn message_request_modes_path(&self) -> PathBuf {
        self.dir.join("messageRequestMode.json")
    }

    pub fn load_topics(&self) -> Result<Option<TopicConfigSerializeWrapper>> {
        load(&self.topics_path())
    }
    pub fn save_topics(&self, v: &TopicConfigSerializeWrapper) -> Result<()> {
        persist(&self.topics_path(), v)
    }
    pub fn load_consumer_offsets(&self) -> Result<Option<ConsumerOffsetSerializeWrapper>> {
        load(&self.consumer_offsets_path())
    }
    pub fn save_consumer_offsets(&self, v: &ConsumerOffsetSerializeWrapper) -> Result<()> {
        persist(&self.consumer_offsets_path(), v)
    }
    pub fn load_delay_offsets(&self) -> Result<Option<DelayOffsetSerializeWrapper>> {
        load(&self.delay_offsets_path())
    }
    pub fn save_delay_offsets(&self, v: &DelayOffsetSerializeWrapper) -> Result<()> {
        persist(&self.delay_offsets_path(), v)
    }
    pub fn load_subscription_groups(&self) -> Result<Option<SubscriptionGroupWrapper>> {
        load(&self.subscription_groups_path())
    }
    pub fn save_subscription_groups(&self, v: &SubscriptionGroupWrapper) -> Result<()> {
        persist(&self.subscription_groups_path(), v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn persist_keeps_a_backup_and_load_falls_back() {
        let dir = tempfile::tempdir().unwrap();
        let files = ConfigFiles::new(dir.path().join("config"));
        assert_eq!(files.load_consumer_offsets().unwrap(), None);
        let mut v = ConsumerOffsetSerializeWrapper::default();
        v.offset_table.insert("T@g".into(), BTreeMap::from([(0, 12), (1, 7)]));
        files.save_consumer_offsets(&v).unwrap();
        let text = fs::read_to_string(files.consumer_offsets_path()).unwrap();
        assert!(text.contains("0: 12") && !text.contains("\"0\""), "unquoted keys like fastjson: {text}");
        let mut v2 = v.clone();
        v2.offset_table.insert("T@h".into(), BTreeMap::from([(0, 1)]));
        files.save_consumer_offsets(&v2).unwrap();
        assert_eq!(files.load_consumer_offsets().unwrap(), Some(v2.clone()));
        assert!(!with_suffix(&files.consumer_offsets_path(), ".tmp").exists());
        // A damaged main file: the backup (previous version) is used.
        fs::write(files.consumer_offsets_path(), "{garbage").unwrap();
        assert_eq!(files.load_consumer_offsets().unwrap(), Some(v.clone()));
        fs::write(files.consumer_offsets_path(), "").unwrap();
        assert_eq!(files.load_consumer_offsets().unwrap(), Some(v));
        fs::write(with_suffix(&files.consumer_offsets_path(), ".bak"), "nope").unwrap();
        let err = files.load_consumer_offsets().unwrap_err().to_string();
        assert!(err.contains("consumerOffset.json.bak"), "{err}");
    }

    #[test]
    fn reads_java_delay_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let files = ConfigFiles::new(dir.path());
        fs::write(files.delay_offsets_path(), "{\n\t\"offsetTable\":{1:5,2:17}\n}").unwrap();
        let v = files.load_delay_offsets().unwrap().unwrap();
        assert_eq!(v.offset_table, BTreeMap::from([(1, 5), (2, 17)]));
        files.save_delay_offsets(&v).unwrap();
        assert_eq!(files.load_delay_offsets().unwrap(), Some(v));
    }
}
