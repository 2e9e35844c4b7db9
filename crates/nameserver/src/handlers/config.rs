//! GET_NAMESRV_CONFIG and UPDATE_NAMESRV_CONFIG: the config as properties text.

use std::path::Path;

use rmq_protocol::RemotingCommand;

use crate::error::{NamesrvError, Result};
use crate::file;
use crate::namesrv::NameServer;

pub(crate) fn get(ns: &NameServer) -> Result<RemotingCommand> {
    Ok(RemotingCommand::success().with_body(ns.config().to_properties_text()))
}

/// Applies the properties in the body, all or nothing, then writes the whole
/// config to `configStorePath` as Java does. Keys of the black list are
/// refused; unknown keys are logged and ignored. `rmqLogLevel` takes effect at
/// once (a filter `tracing` cannot parse refuses the whole update).
pub(crate) fn update(ns: &NameServer, req: &RemotingCommand) -> Result<RemotingCommand> {
    let body = req.body.to_bytes();
    if body.is_empty() {
        return Ok(RemotingCommand::success());
    }
    let pairs =
        java_properties::read(&body[..]).map_err(|e| NamesrvError::BadBody(format!("string2Properties error: {e}")))?;
    let mut config = ns.config();
    if let Some(key) = pairs.keys().find(|k| config.black_list().contains(&k.as_str())) {
        return Err(NamesrvError::ConfigBlackListed { key: key.clone() });
    }
    let report = config.apply_all(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    if let Some(level) = pairs.get("rmqLogLevel") {
        rmq_model::log_level::apply(level).map_err(|reason| NamesrvError::BadConfigValue {
            key: "rmqLogLevel".to_owned(),
            value: level.clone(),
            reason,
        })?;
    }
    config.write_allow_list()?;
    report.log("UPDATE_NAMESRV_CONFIG");
    let text = config.to_properties_text();
    let path = config.config_store_path.clone();
    ns.replace_config(config);
    tracing::info!(
        "update namesrv config: {}",
        pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
    );
    file::write_atomically(Path::new(&path), &text)
        .map_err(|source| NamesrvError::Persist { path: path.into(), source })?;
    Ok(RemotingCommand::success())
}
