//! Where a table lives on disk: one JSON file under the store's `config/`,
//! written whole and atomically with a `.bak` (Java's `ConfigManager`), or
//! nowhere for tables that unit tests build.

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::PathBuf;

/// The file a table is saved to and loaded from.
#[derive(Clone, Debug, Default)]
pub struct TableFile {
    path: Option<PathBuf>,
}

impl TableFile {
    pub fn at(path: PathBuf) -> TableFile {
        TableFile { path: Some(path) }
    }

    /// A table that is never saved.
    pub fn none() -> TableFile {
        TableFile { path: None }
    }

    /// What the file holds (its `.bak` if the file is unusable), if anything.
    pub fn load<T: DeserializeOwned>(&self) -> Result<Option<T>, rmq_store::StoreError> {
        match &self.path {
            Some(path) => rmq_store::config_file::load(path),
            None => Ok(None),
        }
    }

    /// Writes `table`; a failure is logged and the table stays in memory, as
    /// in Java (the next change or the next period writes it again).
    /// Returns whether it was written.
    pub fn save<T: Serialize>(&self, table: &T) -> bool {
        let Some(path) = &self.path else { return true };
        match rmq_store::config_file::persist(path, table) {
            Ok(()) => true,
            Err(e) => {
                tracing::error!("persist {} failed: {e}", path.display());
                false
            }
        }
    }
}
