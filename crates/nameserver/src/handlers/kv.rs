//! PUT/GET/DELETE_KV_CONFIG and GET_KVLIST_BY_NAMESPACE (codes 100-102 and 219;
//! Java's `DefaultRequestProcessor` over `KVConfigManager`).

use rmq_protocol::RemotingCommand;
use rmq_protocol::body::kv::KvTable;
use rmq_protocol::header::{
    GetKvConfigResponseHeader, GetKvListByNamespaceRequestHeader, KvConfigKeyRequestHeader, PutKvConfigRequestHeader,
};

use crate::error::{NamesrvError, Result};
use crate::namesrv::NameServer;

pub(crate) fn put(ns: &NameServer, req: &RemotingCommand) -> Result<RemotingCommand> {
    if req.ext("namespace").is_none() || req.ext("key").is_none() {
        return Err(NamesrvError::NamespaceOrKeyNull);
    }
    let h: PutKvConfigRequestHeader = req.header()?;
    ns.kv().put(&h.namespace, &h.key, &h.value)?;
    Ok(RemotingCommand::success())
}

pub(crate) fn get(ns: &NameServer, req: &RemotingCommand) -> Result<RemotingCommand> {
    let h: KvConfigKeyRequestHeader = req.header()?;
    let value = ns.kv().get(&h.namespace, &h.key).map(str::to_owned);
    match value {
        Some(value) => Ok(RemotingCommand::success().with_header(&GetKvConfigResponseHeader { value: Some(value) })),
        None => Err(NamesrvError::KvNotFound { namespace: h.namespace, key: h.key }),
    }
}

pub(crate) fn delete(ns: &NameServer, req: &RemotingCommand) -> Result<RemotingCommand> {
    let h: KvConfigKeyRequestHeader = req.header()?;
    ns.kv().delete(&h.namespace, &h.key)?;
    Ok(RemotingCommand::success())
}

pub(crate) fn list(ns: &NameServer, req: &RemotingCommand) -> Result<RemotingCommand> {
    let h: GetKvListByNamespaceRequestHeader = req.header()?;
    let table = ns.kv().namespace(&h.namespace).cloned();
    match table {
        Some(table) => Ok(RemotingCommand::success().with_body(KvTable::from(table).encode())),
        None => Err(NamesrvError::NamespaceNotFound(h.namespace)),
    }
}
