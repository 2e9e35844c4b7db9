//! The broker id a controller assigned, kept in `<storePathRootDir>/brokerIdentity`
//! as Java's `BrokerMetadata` keeps it (`cluster#brokerName#brokerId`), so a
//! restarted broker is the same replica to the controller.
//!
//! A new broker asks for the next free id, writes it with a check code to
//! `brokerIdentity-temp`, applies it (the controller refuses an id another
//! broker holds, but takes the same code again), then writes the final file:
//! a crash at any step resumes at that step, as Java's registration does.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rmq_remoting::CancellationToken;

use super::link::{ControllerLink, LinkError};
use crate::BrokerError;

const RETRY: Duration = Duration::from_secs(1);

/// The id of this broker: from its file, or assigned by the controller
/// (retried until it answers or `stop`). `None` when stopped first.
pub(crate) async fn broker_id(
    link: &ControllerLink,
    root: &Path,
    stop: &CancellationToken,
) -> Result<Option<i64>, BrokerError> {
    let (final_path, temp_path) = paths(root);
    let me = &link.me;
    if let Some(id) = read(&final_path, &me.cluster, &me.broker_name)? {
        return Ok(Some(id));
    }
    loop {
        match assign(link, &final_path, &temp_path).await {
            Ok(id) => {
                tracing::info!("controller assigned broker id {id} to {} of {}", me.addr, me.broker_name);
                return Ok(Some(id));
            }
            Err(Assign::Link(e)) => tracing::warn!("getting a broker id from the controller: {e}"),
            Err(Assign::Io(e)) => return Err(e),
        }
        tokio::select! {
            _ = stop.cancelled() => return Ok(None),
            _ = tokio::time::sleep(RETRY) => {}
        }
    }
}

enum Assign {
    Link(LinkError),
    Io(BrokerError),
}

async fn assign(link: &ControllerLink, final_path: &Path, temp_path: &Path) -> Result<i64, Assign> {
    let me = &link.me;
    let (id, code) = match read_temp(temp_path, &me.cluster, &me.broker_name).map_err(Assign::Io)? {
        Some(pending) => pending,
        None => {
            let id = link.next_broker_id().await.map_err(Assign::Link)?;
            let code = format!("{};{}", me.addr, crate::now_ms());
            write(temp_path, &format!("{}#{}#{id}#{code}", me.cluster, me.broker_name)).map_err(Assign::Io)?;
            (id, code)
        }
    };
    if let Err(e) = link.apply_broker_id(id, &code).await {
        // Taken meanwhile (or the controller forgot us): start over.
        let _ = std::fs::remove_file(temp_path);
        return Err(Assign::Link(e));
    }
    write(final_path, &format!("{}#{}#{id}", me.cluster, me.broker_name)).map_err(Assign::Io)?;
    let _ = std::fs::remove_file(temp_path);
    Ok(id)
}

fn paths(root: &Path) -> (PathBuf, PathBuf) {
    (root.join("brokerIdentity"), root.join("brokerIdentity-temp"))
}

fn read(path: &Path, cluster: &str, name: &str) -> Result<Option<i64>, BrokerError> {
    Ok(fields(path)?.and_then(|f| {
        let id = check(path, &f, cluster, name)?;
        Some(id)
    }))
}

fn read_temp(path: &Path, cluster: &str, name: &str) -> Result<Option<(i64, String)>, BrokerError> {
    Ok(fields(path)?.and_then(|f| Some((check(path, &f, cluster, name)?, f.get(3)?.clone()))))
}

/// The id, if the file belongs to this cluster and broker name; a file of
/// another group is ignored with a warning (Java refuses to start; a copied
/// store directory should not pin a broker to the wrong group).
fn check(path: &Path, f: &[String], cluster: &str, name: &str) -> Option<i64> {
    if f.len() < 3 || f[0] != cluster || f[1] != name {
        tracing::warn!("{} names {:?}, not {cluster}#{name}: ignored", path.display(), f);
        return None;
    }
    f[2].parse().ok()
}

fn fields(path: &Path) -> Result<Option<Vec<String>>, BrokerError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text.trim().split('#').map(str::to_owned).collect())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(BrokerError::ControllerMode(format!("{}: {e}", path.display()))),
    }
}

fn write(path: &Path, text: &str) -> Result<(), BrokerError> {
    let tmp = path.with_extension("writing");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| BrokerError::ControllerMode(format!("{}: {e}", path.display())))
}
