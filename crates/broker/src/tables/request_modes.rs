//! How each group consumes each topic, PULL or POP (`mqadmin
//! setConsumeMode`), persisted as `config/messageRequestMode.json` as Java 5
//! does. A pair not in the table uses `defaultMessageRequestMode`.

use rmq_protocol::body::assignment::{MessageRequestModeSerializeWrapper, SetMessageRequestModeRequestBody};
use std::sync::RwLock;

use super::TableFile;

#[derive(Debug)]
pub struct RequestModes {
    table: RwLock<MessageRequestModeSerializeWrapper>,
    file: TableFile,
}

impl RequestModes {
    pub fn open(file: TableFile) -> Result<RequestModes, rmq_store::StoreError> {
        let table = file.load()?.unwrap_or_default();
        Ok(RequestModes { table: RwLock::new(table), file })
    }

    pub fn get(&self, topic: &str, group: &str) -> Option<SetMessageRequestModeRequestBody> {
        let table = self.table.read().unwrap_or_else(|e| e.into_inner());
        table.message_request_mode_map.get(topic).and_then(|groups| groups.get(group)).cloned()
    }

    /// Sets a pair's mode and saves the table.
    pub fn set(&self, mode: SetMessageRequestModeRequestBody) {
        let snapshot = {
            let mut table = self.table.write().unwrap_or_else(|e| e.into_inner());
            table
                .message_request_mode_map
                .entry(mode.topic.clone())
                .or_default()
                .insert(mode.consumer_group.clone(), mode);
            table.clone()
        };
        self.file.save(&snapshot);
    }

    pub fn snapshot(&self) -> MessageRequestModeSerializeWrapper {
        self.table.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
