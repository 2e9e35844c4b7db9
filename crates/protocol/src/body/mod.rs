//! JSON bodies of requests and responses, in the exact shapes Java's fastjson
//! writes and reads (`RemotingSerializable.encode`, i.e. fastjson 1.x
//! `JSON.toJSONString`). Encode with [`rmq_model::fastjson`] unless a body
//! needs standard JSON (route data for new clients).

/// `encode` and `decode` in fastjson's dialect for body types, the pair
/// `RemotingSerializable` gives every Java body.
macro_rules! json_codec {
    ($($t:ty),* $(,)?) => {$(
        impl $t {
            pub fn encode(&self) -> Vec<u8> {
                rmq_model::fastjson::to_vec(self)
            }

            pub fn decode(body: &[u8]) -> Result<$t, serde_json::Error> {
                rmq_model::fastjson::from_slice(body)
            }
        }
    )*};
}

pub mod admin;
pub mod assignment;
pub mod cluster;
pub mod controller;
pub mod heartbeat;
pub mod kv;
pub mod lock;
pub mod pop;
pub mod register;
pub mod route;
pub mod topic_list;
