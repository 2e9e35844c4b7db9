//! How far delivery of each delay level has come: level (1-based) → the next
//! queue offset of `SCHEDULE_TOPIC_XXXX` queue `level - 1` to deliver.
//! Saved as `config/delayOffset.json`.

use rmq_model::tables::DelayOffsetSerializeWrapper;
use std::collections::BTreeMap;
use std::sync::Mutex;

use super::TableFile;

#[derive(Debug, Default)]
pub struct DelayOffsets {
    table: Mutex<BTreeMap<i32, i64>>,
    file: TableFile,
}

impl DelayOffsets {
    /// The table saved in `file`, or an empty one.
    pub fn open(file: TableFile) -> Result<DelayOffsets, rmq_store::StoreError> {
        let stored: Option<DelayOffsetSerializeWrapper> = file.load()?;
        Ok(DelayOffsets { table: Mutex::new(stored.map(|w| w.offset_table).unwrap_or_default()), file })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<i32, i64>> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, level: i32) -> i64 {
        self.lock().get(&level).copied().unwrap_or(0)
    }

    pub fn set(&self, level: i32, offset: i64) {
        self.lock().insert(level, offset);
    }

    pub fn snapshot(&self) -> DelayOffsetSerializeWrapper {
        DelayOffsetSerializeWrapper { offset_table: self.lock().clone(), data_version: None }
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Replaces every level's offset with the master's (a slave's metadata sync).
    pub fn replace_all(&self, from_master: DelayOffsetSerializeWrapper) {
        *self.lock() = from_master.offset_table;
    }

    /// Writes `delayOffset.json`.
    pub fn persist(&self) {
        self.file.save(&self.snapshot());
    }
}
