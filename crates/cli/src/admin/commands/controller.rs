//! Controller sub-commands (5.x): `getControllerMetaData`,
//! `getSyncStateSet`, `electMaster`, `getControllerConfig`,
//! `updateControllerConfig`, `cleanBrokerMetadata`, and the brokers'
//! `getBrokerEpoch`, printed as Java's `tools/command/controller`, `ha` and
//! `broker` commands print them.

use anyhow::{Result, anyhow};
use rmq_protocol::body::controller::{BrokerMemberGroup, BrokerReplicasInfo, EpochEntryCache, encode_broker_names};
use rmq_protocol::header::{
    CleanControllerBrokerDataRequestHeader, ElectMasterRequestHeader, ElectMasterResponseHeader,
    GetMetaDataResponseHeader,
};
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode};

use crate::admin::options::Args;
use crate::admin::{Ctx, NO_CLUSTER};

/// CONTROLLER_GET_METADATA_INFO at `addr`.
async fn metadata(ctx: &Ctx, addr: &str) -> Result<GetMetaDataResponseHeader> {
    let response = ctx.client.call(addr, RemotingCommand::bare_request(RequestCode::ControllerGetMetadataInfo)).await?;
    Ok(response.header()?)
}

/// The leader's address, as Java asks the controller given before any change.
async fn leader(ctx: &Ctx, addr: &str) -> Result<String> {
    metadata(ctx, addr)
        .await?
        .controller_leader_address
        .filter(|a| !a.is_empty())
        .ok_or_else(|| anyhow!("the controller {addr} knows no leader"))
}

pub async fn get_metadata(ctx: &Ctx, args: &Args) -> Result<()> {
    let meta = metadata(ctx, &args.req('a')).await?;
    let text = |v: Option<String>| v.unwrap_or_else(|| "null".to_owned());
    print!("\n#ControllerGroup\t{}", text(meta.group));
    print!("\n#ControllerLeaderId\t{}", text(meta.controller_leader_id));
    print!("\n#ControllerLeaderAddress\t{}", text(meta.controller_leader_address));
    for peer in meta.peers.unwrap_or_default().split(';').filter(|p| !p.is_empty()) {
        print!("\n#Peer:\t{peer}");
    }
    print!("\n");
    Ok(())
}

pub async fn get_sync_state_set(ctx: &Ctx, args: &Args) -> Result<()> {
    let controller = args.req('a').split(';').next().unwrap_or_default().trim().to_owned();
    // -i: print again every that many seconds (3 when blank), until killed.
    let every = match args.get('i') {
        None => None,
        Some(text) if text.trim().is_empty() => Some(3),
        Some(_) => super::number::<u64>(args, 'i')?,
    };
    loop {
        let names: Vec<String> = if let Some(name) = args.get('b') {
            vec![name]
        } else if let Some(cluster) = args.get('c') {
            let info = ctx.cluster_info().await?;
            info.cluster_addr_table
                .get(&cluster)
                .ok_or_else(|| anyhow!("[error] {NO_CLUSTER}"))?
                .iter()
                .cloned()
                .collect()
        } else {
            print!("{}", crate::admin::options::help(super::find("getSyncStateSet").expect("registered")));
            return Ok(());
        };
        if !names.is_empty() {
            print_sync_state(ctx, &controller, &names).await?;
        }
        match every {
            Some(seconds) => tokio::time::sleep(std::time::Duration::from_secs(seconds.max(1))).await,
            None => return Ok(()),
        }
    }
}

async fn print_sync_state(ctx: &Ctx, controller: &str, names: &[String]) -> Result<()> {
    let leader = leader(ctx, controller).await?;
    let request =
        RemotingCommand::bare_request(RequestCode::ControllerGetSyncStateData).with_body(encode_broker_names(names));
    let response = ctx.client.call(&leader, request).await?;
    let info = BrokerReplicasInfo::decode(&response.body.to_bytes())
        .map_err(|e| anyhow!("the sync state data of {leader} does not decode: {e}"))?;
    let number = |v: Option<i64>| v.map_or_else(|| "null".to_owned(), |v| v.to_string());
    for (name, replicas) in &info.replicas_info_table {
        print!(
            "\n#brokerName\t{}\n#MasterBrokerId\t{}\n#MasterAddr\t{}\n#MasterEpoch\t{}\n#SyncStateSetEpoch\t{}\n#SyncStateSetNums\t{}\n",
            name,
            number(replicas.master_broker_id),
            replicas.master_address.as_deref().unwrap_or("null"),
            number(replicas.master_epoch.map(i64::from)),
            number(replicas.sync_state_set_epoch.map(i64::from)),
            replicas.in_sync_replicas.len()
        );
        for member in &replicas.in_sync_replicas {
            print!("\nInSyncReplica:\t{}\n", member.java_string());
        }
        for member in &replicas.not_in_sync_replicas {
            print!("\nNotInSyncReplica:\t{}\n", member.java_string());
        }
    }
    Ok(())
}

pub async fn elect_master(ctx: &Ctx, args: &Args) -> Result<()> {
    let (cluster, broker_name) = (args.req('c'), args.req('N'));
    let broker_id: i64 = super::number(args, 'b')?.unwrap_or_default();
    let leader = leader(ctx, &args.req('a')).await?;
    let header = ElectMasterRequestHeader {
        cluster_name: Some(cluster.clone()),
        broker_name: broker_name.clone(),
        broker_id: Some(broker_id),
        designate_elect: Some(true),
        invoke_time: Some(chrono::Utc::now().timestamp_millis()),
    };
    let response =
        ctx.client.call(&leader, RemotingCommand::request(RequestCode::ControllerElectMaster, &header)).await?;
    let elected: ElectMasterResponseHeader = response.header()?;
    let text = |v: Option<String>| v.unwrap_or_else(|| "null".to_owned());
    print!("\n#ClusterName\t{cluster}");
    print!("\n#BrokerName\t{broker_name}");
    print!("\n#BrokerMasterAddr\t{}", text(elected.master_address));
    print!("\n#MasterEpoch\t{}", text(elected.master_epoch.map(|v| v.to_string())));
    print!("\n#SyncStateSetEpoch\t{}\n", text(elected.sync_state_set_epoch.map(|v| v.to_string())));
    // Java reads the body as a BrokerMemberGroup, though the controller
    // sends an ElectMasterResponseBody (whose members sit one level down):
    // the member lines it prints are those of a top-level `brokerAddrs`.
    let members = BrokerMemberGroup::decode(&response.body.to_bytes()).unwrap_or_default();
    for (id, addr) in members.broker_addrs {
        print!("\t#Broker\t{id}\t{addr}\n");
    }
    Ok(())
}

/// `-a`'s `;`-separated controller addresses.
fn controllers(args: &Args) -> Vec<String> {
    args.req('a').trim().split(';').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// A controller's answer, as an error when it is not SUCCESS.
fn succeeded(server: &str, response: RemotingCommand) -> Result<RemotingCommand> {
    if response.code == ResponseCode::Success.to_i32() {
        Ok(response)
    } else {
        Err(anyhow!(
            "CODE: {}  DESC: {} (controller {server})",
            response.code,
            response.remark.as_deref().unwrap_or("")
        ))
    }
}

pub async fn get_config(ctx: &Ctx, args: &Args) -> Result<()> {
    for server in controllers(args) {
        let response =
            ctx.client.call(&server, RemotingCommand::bare_request(RequestCode::GetControllerConfig)).await?;
        let body = response.body.to_bytes();
        print!("============{server}============\n");
        for line in String::from_utf8_lossy(&body).lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
            let (key, value) = line.split_once('=').unwrap_or((line, ""));
            print!("{key:<50}=  {value}\n");
        }
    }
    Ok(())
}

/// UPDATE_CONTROLLER_CONFIG with `-k`=`-v` to every controller of `-a`, as
/// Java's admin sends it (a properties text in the body).
pub async fn update_config(ctx: &Ctx, args: &Args) -> Result<()> {
    let (key, value) = (args.req('k').trim().to_owned(), args.req('v').trim().to_owned());
    let servers = controllers(args);
    for server in &servers {
        let request = RemotingCommand::bare_request(RequestCode::UpdateControllerConfig)
            .with_body(bytes::Bytes::from(format!("{key}={value}\n")));
        succeeded(server, ctx.client.call(server, request).await?)?;
    }
    print!("update controller config success![{}]\n{key} : {value}\n", servers.join(", "));
    Ok(())
}

/// CLEAN_BROKER_DATA at the leader: forgets a broker group (or some of its
/// broker ids) on the controller. Without `-l` the cluster name is needed,
/// as Java requires.
pub async fn clean_broker_metadata(ctx: &Ctx, args: &Args) -> Result<()> {
    let broker_name = args.req('N').trim().to_owned();
    let cluster_name = args.get('c').map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
    let ids = args.get('b').map(|b| b.trim().to_owned());
    if let Some(ids) = &ids
        && ids.split(';').any(|id| id.trim().parse::<i64>().is_err())
    {
        return Err(anyhow!("please set the option <brokerControllerIdsToClean> according to the format"));
    }
    let clean_living = args.has('l');
    if !clean_living && cluster_name.is_none() {
        return Err(anyhow!("cleanLivingBroker option is false, clusterName option can not be empty."));
    }
    let leader = leader(ctx, args.req('a').split(';').next().unwrap_or_default().trim()).await?;
    let header = CleanControllerBrokerDataRequestHeader {
        cluster_name,
        broker_name: broker_name.clone(),
        broker_controller_ids_to_clean: ids,
        is_clean_living_broker: Some(clean_living),
        invoke_time: Some(chrono::Utc::now().timestamp_millis()),
    };
    let response = ctx.client.call(&leader, RemotingCommand::request(RequestCode::CleanBrokerData, &header)).await?;
    succeeded(&leader, response)?;
    print!("clear broker {broker_name} metadata from controller success! \n");
    Ok(())
}

/// `getBrokerEpoch -b <brokerName> | -c <cluster> [-i seconds]`: every
/// broker's epochs (GET_BROKER_EPOCH_CACHE), the last one ending at the
/// broker's log end, as Java prints them.
pub async fn get_broker_epoch(ctx: &Ctx, args: &Args) -> Result<()> {
    let every = match args.get('i') {
        None => None,
        Some(text) if text.trim().is_empty() => Some(3),
        Some(_) => super::number::<u64>(args, 'i')?,
    };
    loop {
        let info = ctx.cluster_info().await?;
        let names: Vec<String> = if let Some(name) = args.get('b') {
            vec![name.trim().to_owned()]
        } else if let Some(cluster) = args.get('c') {
            info.cluster_addr_table
                .get(cluster.trim())
                .ok_or_else(|| anyhow!("[error] {NO_CLUSTER}"))?
                .iter()
                .cloned()
                .collect()
        } else {
            print!("{}", crate::admin::options::help(super::find("getBrokerEpoch").expect("registered")));
            return Ok(());
        };
        let addrs = names
            .iter()
            .filter_map(|name| info.broker_addr_table.get(name))
            .flat_map(|group| group.broker_addrs.values().cloned());
        for addr in addrs {
            let response =
                ctx.client.call(&addr, RemotingCommand::bare_request(RequestCode::GetBrokerEpochCache)).await?;
            if response.response_code() != ResponseCode::Success {
                return Err(anyhow!("CODE: {}  DESC: {}", response.code, response.remark.clone().unwrap_or_default()));
            }
            let cache = EpochEntryCache::decode(&response.body.to_bytes())
                .map_err(|e| anyhow!("the epochs of {addr} do not decode: {e}"))?;
            print!(
                "\n#clusterName\t{}\n#brokerName\t{}\n#brokerAddr\t{addr}\n#brokerId\t{}",
                cache.cluster_name.as_deref().unwrap_or("null"),
                cache.broker_name.as_deref().unwrap_or("null"),
                cache.broker_id
            );
            let last = cache.epoch_list.len().saturating_sub(1);
            for (i, entry) in cache.epoch_list.iter().enumerate() {
                let end = if i == last { cache.max_offset } else { entry.end_offset };
                print!(
                    "\n#Epoch: EpochEntry{{epoch={}, startOffset={}, endOffset={end}}}",
                    entry.epoch, entry.start_offset
                );
            }
            print!("\n");
        }
        match every {
            Some(seconds) => tokio::time::sleep(std::time::Duration::from_secs(seconds.max(1))).await,
            None => return Ok(()),
        }
    }
}
