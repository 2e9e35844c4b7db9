//! `DataVersion`: the version stamp of a broker's topic table (and of other
//! config tables). The NameServer compares it to decide whether a broker's
//! registration changed anything.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DataVersion {
    /// Wall-clock milliseconds of the last change.
    pub timestamp: i64,
    /// Number of changes since the table was created.
    pub counter: i64,
    /// 5.x only; absent from 4.x JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_version: Option<i64>,
}

impl DataVersion {
    /// A fresh version stamped `now_ms`, as a table gets when it is created.
    pub fn new(now_ms: i64) -> DataVersion {
        DataVersion { timestamp: now_ms, counter: 0, state_version: None }
    }

    /// Records one change: the counter goes up and the timestamp moves to `now_ms`.
    pub fn bump(&mut self, now_ms: i64) {
        self.counter += 1;
        self.timestamp = now_ms;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_bump() {
        let mut v = DataVersion::new(1700000000000);
        v.bump(1700000000001);
        assert_eq!(serde_json::to_string(&v).unwrap(), r#"{"timestamp":1700000000001,"counter":1}"#);
        let parsed: DataVersion = serde_json::from_str(r#"{"counter":1,"stateVersion":3,"timestamp":5}"#).unwrap();
        assert_eq!(parsed.state_version, Some(3));
    }
}
