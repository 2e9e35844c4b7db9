//! ACL 1.0 over the wire (Java's `PlainAccessValidator`): signed requests
//! within their permissions pass, unsigned, forged and out-of-permission ones
//! get NO_PERMISSION with Java's wording, and the file is reloaded when it
//! changes (a broken file keeps the old rules).

mod common;

use base64::Engine;
use common::*;
use hmac::{Hmac, Mac};
use rmq_protocol::RemotingCommand;
use std::time::Duration;

const RULES: &str = "globalWhiteRemoteAddresses:
accounts:
  - accessKey: RocketMQ
    secretKey: 12345678
    admin: false
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - Allowed=PUB|SUB
      - ReadOnly=SUB
  - accessKey: Operator
    secretKey: 87654321
    admin: true
";

/// Signs as Java's `AclClientRPCHook` does, written out here independently
/// of the broker's code: values of the sorted ext fields, then the body.
fn signed(mut request: RemotingCommand, ak: &str, sk: &str) -> RemotingCommand {
    request.ext_fields.insert("AccessKey".into(), ak.into());
    let mut data: Vec<u8> = request.ext_fields.values().flat_map(|v| v.as_bytes().to_vec()).collect();
    data.extend_from_slice(&request.body.to_bytes());
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(sk.as_bytes()).unwrap();
    mac.update(&data);
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    request.ext_fields.insert("Signature".into(), signature);
    request
}

fn send(topic: &str) -> RemotingCommand {
    send_request("acl-pg", topic, 0, 0, &[("TAGS", "T")], b"hello")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_and_permissions_are_enforced_and_the_file_reloads() {
    let home = tempfile::tempdir().unwrap();
    let conf = home.path().join("conf");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(conf.join("plain_acl.yml"), RULES).unwrap();
    let home_text = home.path().to_str().unwrap().to_owned();
    let broker = TestBroker::start(home.path(), &[("aclEnable", "true"), ("rocketmqHome", &home_text)]).await;
    let addr = broker.addr.clone();
    let (client, _) = client();
    let call = |r| invoke(&client, &addr, r);

    let ok = call(signed(send("Allowed"), "RocketMQ", "12345678")).await;
    assert_eq!(ok.code, 0, "{:?}", ok.remark);
    let cases = [
        (send("Allowed"), "No accessKey is configured"),
        (signed(send("Allowed"), "Stranger", "12345678"), "No acl config for Stranger"),
        (signed(send("Allowed"), "RocketMQ", "87654321"), "Check signature failed for accessKey=RocketMQ"),
        (signed(send("ReadOnly"), "RocketMQ", "12345678"), "No default permission for topic:ReadOnly"),
        (signed(send("Elsewhere"), "RocketMQ", "12345678"), "No default permission for topic:Elsewhere"),
        (
            signed(
                RemotingCommand::bare_request(rmq_protocol::RequestCode::UpdateAndCreateTopic),
                "RocketMQ",
                "12345678",
            ),
            "Need admin permission for request code=17, but accessKey=RocketMQ is not",
        ),
    ];
    for (request, remark) in cases {
        let r = call(request).await;
        assert_eq!((r.code, r.remark.as_deref()), (16, Some(remark)));
    }
    // 5.x POP needs SUB on the topic as pulls do.
    let pop = |topic| {
        rmq_testkit::pop::pop_request(&rmq_testkit::pop::PopAsk {
            group: "acl-cg",
            topic,
            queue_id: -1,
            max: 1,
            invisible_ms: 1000,
            poll_ms: 0,
            order: false,
        })
    };
    let r = call(signed(pop("Elsewhere"), "RocketMQ", "12345678")).await;
    assert_eq!((r.code, r.remark.as_deref()), (16, Some("No default permission for topic:Elsewhere")));
    let r = call(signed(pop("ReadOnly"), "RocketMQ", "12345678")).await;
    assert_ne!(r.code, 16, "SUB on ReadOnly allows a POP: {:?}", r.remark);
    // A signature over other content: tamper after signing.
    let mut forged = signed(send("Allowed"), "RocketMQ", "12345678");
    forged.ext_fields.insert("topic".into(), "Elsewhere".into());
    assert_eq!(call(forged).await.code, 16);

    // A broken file: logged, the old rules stay.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    std::fs::write(conf.join("plain_acl.yml"), format!("{RULES}      - Broken=[\n")).unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(call(signed(send("Allowed"), "RocketMQ", "12345678")).await.code, 0);
    assert_eq!(call(signed(send("Allowed"), "RocketMQ", "12345678")).await.code, 0);
    // A fixed file with new rules takes over.
    std::fs::write(conf.join("plain_acl.yml"), RULES.replace("Allowed=PUB|SUB", "Allowed=SUB")).unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let r = call(signed(send("Allowed"), "RocketMQ", "12345678")).await;
        if r.code == 16 {
            assert_eq!(r.remark.as_deref(), Some("No default permission for topic:Allowed"));
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the changed file was not reloaded");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // aclEnable changed at run time takes effect at the next start, as in
    // Java: until then unsigned requests stay refused.
    let update = RemotingCommand::bare_request(rmq_protocol::RequestCode::UpdateBrokerConfig)
        .with_body(b"aclEnable=false\n".to_vec());
    let r = call(signed(update, "Operator", "87654321")).await;
    assert_eq!(r.code, 0, "{:?}", r.remark);
    let r = call(send("Allowed")).await;
    assert_eq!((r.code, r.remark.as_deref()), (16, Some("No accessKey is configured")));
    broker.stop().await;
}
