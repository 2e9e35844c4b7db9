//! Maps whose keys fastjson writes as inline objects
//! (`{{"brokerName":"b","queueId":0,"topic":"t"}:10}`): [`normalize`](super::normalize)
//! turns each key into a string holding the object's JSON, and [`map`] reads
//! that string back into the key type, with the same leniency as any body.

use serde::de::{DeserializeOwned, Deserializer, MapAccess, Visitor};
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

/// Deserializes `{"<json of K>": V, …}` into a `BTreeMap<K, V>`: use with
/// `#[serde(deserialize_with = "fastjson::object_key::map")]`.
pub fn map<'de, D, K, V>(deserializer: D) -> Result<BTreeMap<K, V>, D::Error>
where
    D: Deserializer<'de>,
    K: DeserializeOwned + Ord,
    V: DeserializeOwned,
{
    struct MapVisitor<K, V>(PhantomData<(K, V)>);
    impl<'de, K: DeserializeOwned + Ord, V: DeserializeOwned> Visitor<'de> for MapVisitor<K, V> {
        type Value = BTreeMap<K, V>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a map keyed by JSON objects")
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(BTreeMap::new())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some((key, value)) = access.next_entry::<String, V>()? {
                let key: K = super::from_str(&key).map_err(serde::de::Error::custom)?;
                out.insert(key, value);
            }
            Ok(out)
        }
    }
    deserializer.deserialize_map(MapVisitor(PhantomData))
}
