//! NameServer sub-commands: `updateKvConfig`, `deleteKvConfig`,
//! `wipeWritePerm`, `addWritePerm`, `getNamesrvConfig`, `updateNamesrvConfig`.

use anyhow::{Result, anyhow};

use crate::admin::Ctx;
use crate::admin::options::Args;

pub async fn update_kv(ctx: &Ctx, args: &Args) -> Result<()> {
    ctx.admin.put_kv(&args.req('s'), &args.req('k'), &args.req('v')).await?;
    println!("create or update kv config to namespace success.");
    Ok(())
}

pub async fn delete_kv(ctx: &Ctx, args: &Args) -> Result<()> {
    ctx.admin.delete_kv(&args.req('s'), &args.req('k')).await?;
    println!("delete kv config from namespace success.");
    Ok(())
}

pub async fn write_perm(ctx: &Ctx, args: &Args, wipe: bool) -> Result<()> {
    let broker = args.req('b');
    let verb = if wipe { "wipe" } else { "add" };
    let mut failed = None;
    for namesrv in ctx.client.namesrv_addrs() {
        match ctx.admin.change_write_perm(namesrv, &broker, wipe).await {
            Ok(count) => println!("{verb} write perm of broker[{broker}] in name server[{namesrv}] OK, {count}"),
            Err(e) => {
                println!("{verb} write perm of broker[{broker}] in name server[{namesrv}] Failed");
                failed = Some(anyhow!("name server {namesrv}: {e}"));
            }
        }
    }
    if ctx.client.namesrv_addrs().is_empty() {
        return Err(rmq_client::ClientError::NoNameServer.into());
    }
    failed.map_or(Ok(()), Err)
}

pub async fn get_config(ctx: &Ctx, _args: &Args) -> Result<()> {
    if ctx.client.namesrv_addrs().is_empty() {
        return Err(rmq_client::ClientError::NoNameServer.into());
    }
    for namesrv in ctx.client.namesrv_addrs() {
        let text = ctx.admin.namesrv_config(namesrv).await.map_err(|e| anyhow!("name server {namesrv}: {e}"))?;
        print!("============{namesrv}============\n");
        for line in text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
            let (key, value) = line.split_once('=').unwrap_or((line, ""));
            print!("{key:<50}=  {value}\n");
        }
    }
    Ok(())
}

pub async fn update_config(ctx: &Ctx, args: &Args) -> Result<()> {
    let (key, value) = (args.req('k'), args.req('v'));
    if ctx.client.namesrv_addrs().is_empty() {
        return Err(rmq_client::ClientError::NoNameServer.into());
    }
    let properties = format!("{key}={value}\n");
    for namesrv in ctx.client.namesrv_addrs() {
        ctx.admin
            .update_namesrv_config(namesrv, &properties)
            .await
            .map_err(|e| anyhow!("name server {namesrv}: {e}"))?;
    }
    let list = match &ctx.namesrv_option {
        Some(_) => format!("[{}]", ctx.client.namesrv_addrs().join(", ")),
        None => String::new(),
    };
    print!("update name server config success!{list}\n{key} : {value}\n");
    Ok(())
}
