//! One round trip through a proxy with RocketMQ 5's official Rust client:
//! send a message to `topic`, receive it with a simple consumer, ack it.
//! Prints `GRPC_OK <message id>` and exits 0, or says what failed and exits 1.
//!
//! ```text
//! cargo run -p rmq-interop-v5 --example grpc_smoke -- 127.0.0.1:8081 TopicTest
//! ```

use rocketmq::conf::{ClientOption, ProducerOption, SimpleConsumerOption};
use rocketmq::model::common::{FilterExpression, FilterType};
use rocketmq::model::message::MessageBuilder;
use rocketmq::{Producer, SimpleConsumer};
use std::time::{Duration, Instant};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(topic)) = (args.next(), args.next()) else {
        eprintln!("usage: grpc_smoke <proxy host:port> <topic>");
        return std::process::ExitCode::from(2);
    };
    match round_trip(&url, &topic).await {
        Ok(id) => {
            println!("GRPC_OK {id}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("grpc_smoke: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn round_trip(url: &str, topic: &str) -> Result<String, String> {
    let mut client = ClientOption::default();
    client.set_access_url(url);
    client.set_enable_tls(false);
    client.set_long_polling_timeout(Duration::from_secs(6));
    let mut option = ProducerOption::default();
    option.set_topics(vec![topic]);
    let mut producer = Producer::new(option, client.clone()).map_err(|e| format!("producer: {e:?}"))?;
    producer.start().await.map_err(|e| format!("producer start: {e:?}"))?;
    let body = format!("grpc-smoke-{}", std::process::id());
    let message = MessageBuilder::builder()
        .set_topic(topic)
        .set_tag("smoke")
        .set_body(body.clone().into_bytes())
        .build()
        .map_err(|e| format!("message: {e:?}"))?;
    let receipt = producer.send(message).await.map_err(|e| format!("send: {e:?}"))?;
    let mut option = SimpleConsumerOption::default();
    option.set_topics(vec![topic]);
    option.set_consumer_group(format!("GrpcSmokeGroup{}", std::process::id()));
    let mut consumer = SimpleConsumer::new(option, client).map_err(|e| format!("consumer: {e:?}"))?;
    consumer.start().await.map_err(|e| format!("consumer start: {e:?}"))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let filter = FilterExpression::new(FilterType::Tag, "smoke");
        let messages = consumer
            .receive_with(topic, &filter, 16, Duration::from_secs(15))
            .await
            .map_err(|e| format!("receive: {e:?}"))?;
        for m in messages {
            consumer.ack(&m).await.map_err(|e| format!("ack: {e:?}"))?;
            if m.body() == body.as_bytes() {
                return Ok(receipt.message_id().to_owned());
            }
        }
    }
    Err(format!("message {} not received within 30 s", receipt.message_id()))
}
