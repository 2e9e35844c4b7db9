//! Text a client controls: message properties (`name\u0001value\u0002`),
//! SQL92 filter expressions, and JSON in fastjson's dialect.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rmq_model::{Properties, fastjson};

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    match which % 3 {
        0 => drop(Properties::decode(&text)),
        1 => drop(rmq_broker::parse_sql92(&text)),
        _ => drop(fastjson::from_str::<serde_json::Value>(&text)),
    }
});
