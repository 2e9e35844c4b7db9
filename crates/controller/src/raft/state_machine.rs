//! The Raft state machine: the [`ReplicaState`] the controller decides
//! against, shared with it, changed only by applying committed entries.
//!
//! A snapshot is the whole state serialized as JSON (with the last applied
//! log id and the membership), kept in `snapshot.json` so that a restarted
//! controller starts from it once openraft has purged the log before it.

use std::io::{self, Cursor};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use openraft::storage::RaftStateMachine;
use openraft::{
    AnyError, EntryPayload, LogId, RaftSnapshotBuilder, Snapshot, SnapshotMeta, StorageError, StorageIOError,
    StoredMembership,
};
use serde::{Deserialize, Serialize};

use super::{Entry, NodeId, TypeConfig};
use crate::config::Peer;
use crate::state::ReplicaState;

const SNAPSHOT_FILE: &str = "snapshot.json";

/// What `apply` maintains besides the replica state itself.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Applied {
    last_applied: Option<LogId<NodeId>>,
    membership: StoredMembership<NodeId, Peer>,
}

/// A snapshot's bytes: the state and where it stands in the log.
#[derive(Serialize, Deserialize)]
struct SnapshotBody {
    applied: Applied,
    state: ReplicaState,
}

#[derive(Serialize, Deserialize)]
struct StoredSnapshot {
    meta: SnapshotMeta<NodeId, Peer>,
    body: Vec<u8>,
}

#[derive(Clone, Debug)]
pub struct StateMachine {
    state: Arc<Mutex<ReplicaState>>,
    applied: Arc<Mutex<Applied>>,
    dir: PathBuf,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn snapshot_error(e: impl std::error::Error + 'static) -> StorageError<NodeId> {
    StorageError::IO { source: StorageIOError::write_snapshot(None, AnyError::new(&e)) }
}

impl StateMachine {
    /// The state machine over `state`, starting from the snapshot in `dir` if any.
    pub fn open(dir: &Path, state: Arc<Mutex<ReplicaState>>) -> io::Result<StateMachine> {
        let machine = StateMachine { state, applied: Arc::default(), dir: dir.to_owned() };
        if let Some(stored) = machine.stored_snapshot()? {
            let body: SnapshotBody = serde_json::from_slice(&stored.body).map_err(io::Error::other)?;
            *lock(&machine.state) = body.state;
            *lock(&machine.applied) = body.applied;
        }
        Ok(machine)
    }

    fn stored_snapshot(&self) -> io::Result<Option<StoredSnapshot>> {
        match std::fs::read(self.dir.join(SNAPSHOT_FILE)) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(io::Error::other),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn store_snapshot(&self, meta: &SnapshotMeta<NodeId, Peer>, body: &[u8]) -> io::Result<()> {
        let stored = StoredSnapshot { meta: meta.clone(), body: body.to_vec() };
        super::log_store::write_json_atomically(&self.dir.join(SNAPSHOT_FILE), &stored)
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachine {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<NodeId>> {
        let (body, applied) = {
            // Both locks at once: the state and its position must match.
            let state = lock(&self.state);
            let applied = lock(&self.applied);
            let body = SnapshotBody { applied: applied.clone(), state: state.clone() };
            (serde_json::to_vec(&body).map_err(snapshot_error)?, applied.clone())
        };
        let meta = SnapshotMeta {
            last_log_id: applied.last_applied,
            last_membership: applied.membership,
            snapshot_id: format!("{}", applied.last_applied.map_or(0, |l| l.index)),
        };
        self.store_snapshot(&meta, &body).map_err(snapshot_error)?;
        Ok(Snapshot { meta, snapshot: Box::new(Cursor::new(body)) })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = StateMachine;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId<NodeId>>, StoredMembership<NodeId, Peer>), StorageError<NodeId>> {
        let applied = lock(&self.applied);
        Ok((applied.last_applied, applied.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<()>, StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let mut state = lock(&self.state);
        let mut applied = lock(&self.applied);
        let mut responses = Vec::new();
        for entry in entries {
            applied.last_applied = Some(entry.log_id);
            match entry.payload {
                EntryPayload::Blank => {}
                EntryPayload::Normal(events) => events.iter().for_each(|event| state.apply(event)),
                EntryPayload::Membership(m) => applied.membership = StoredMembership::new(Some(entry.log_id), m),
            }
            responses.push(());
        }
        Ok(responses)
    }

    async fn get_snapshot_builder(&mut self) -> StateMachine {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError<NodeId>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, Peer>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError<NodeId>> {
        let bytes = snapshot.into_inner();
        let body: SnapshotBody = serde_json::from_slice(&bytes).map_err(snapshot_error)?;
        self.store_snapshot(meta, &bytes).map_err(snapshot_error)?;
        *lock(&self.state) = body.state;
        *lock(&self.applied) = body.applied;
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError<NodeId>> {
        let stored = self.stored_snapshot().map_err(snapshot_error)?;
        Ok(stored.map(|s| Snapshot { meta: s.meta, snapshot: Box::new(Cursor::new(s.body)) }))
    }
}
