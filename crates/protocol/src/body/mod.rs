//! JSON bodies of requests and responses, in the exact shapes Java's fastjson
//! writes and reads (`RemotingSerializable.encode`, i.e. fastjson 1.x
//! `JSON.toJSONString`). Encode with [`rmq_model::fastjson`] unless a body
//! needs standard JSON (route data for new clients).

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
