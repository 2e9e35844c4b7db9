//! The JSON header encoding (serialize type 0), as fastjson writes and reads
//! `RemotingCommand`. Reading is lenient: numbers may come as strings, ext
//! values as numbers or booleans, unknown keys and languages are ignored.

use bytes::{BufMut, BytesMut};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::fmt;

use crate::command::{ExtFields, LanguageCode, RemotingCommand, SerializeType};
use crate::error::FrameError;
use rmq_model::fastjson::{
    self,
    scalar::{self, Integer},
};

mod plain;

#[derive(Serialize)]
struct Out<'a> {
    code: i32,
    #[serde(rename = "extFields", skip_serializing_if = "ExtFields::is_empty")]
    ext_fields: &'a ExtFields,
    flag: i32,
    language: &'a str,
    opaque: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    remark: Option<&'a str>,
    #[serde(rename = "serializeTypeCurrentRPC")]
    serialize_type: &'a str,
    version: i32,
}

/// Appends the JSON header of `cmd` to `dst`; keys in fastjson's (alphabetical) order.
pub(crate) fn encode(cmd: &RemotingCommand, dst: &mut BytesMut) -> Result<(), FrameError> {
    let out = Out {
        code: cmd.code,
        ext_fields: &cmd.ext_fields,
        flag: cmd.flag,
        language: cmd.language.name(),
        opaque: cmd.opaque,
        remark: cmd.remark.as_deref(),
        serialize_type: SerializeType::Json.name(),
        version: cmd.version,
    };
    serde_json::to_writer(dst.writer(), &out)?;
    Ok(())
}

#[derive(Deserialize)]
struct In {
    #[serde(deserialize_with = "lenient_i32")]
    code: i32,
    #[serde(default)]
    language: Scalar,
    #[serde(default, deserialize_with = "lenient_i32")]
    version: i32,
    #[serde(default, deserialize_with = "lenient_i32")]
    opaque: i32,
    #[serde(default, deserialize_with = "lenient_i32")]
    flag: i32,
    #[serde(default)]
    remark: Option<String>,
    #[serde(rename = "extFields", default, deserialize_with = "lenient_ext")]
    ext_fields: ExtFields,
}

/// Reads a JSON header: first as the flat object every client writes (the
/// common case, [`plain`]), then as standard JSON, then, if that fails, through
/// the fastjson layer that binds as Java's `RemotingCommand` decoding does
/// (keys in any case, bare keys, ...).
pub(crate) fn decode(header: &[u8]) -> Result<RemotingCommand, FrameError> {
    let h = match plain::read(header) {
        Some(h) => h,
        None => general(header)?,
    };
    Ok(h.into_command())
}

impl In {
    fn into_command(self) -> RemotingCommand {
        RemotingCommand {
            code: self.code,
            language: self.language.0.as_deref().map_or(LanguageCode::Other, LanguageCode::from_name),
            version: self.version,
            opaque: self.opaque,
            flag: self.flag,
            remark: self.remark,
            ext_fields: self.ext_fields,
            serialize_type: SerializeType::Json,
            ..RemotingCommand::default()
        }
    }
}

/// The slow path: serde, then fastjson.
fn general(header: &[u8]) -> Result<In, FrameError> {
    match serde_json::from_slice(header) {
        Ok(h) => Ok(h),
        Err(_) => Ok(fastjson::from_slice(header)?),
    }
}

/// A JSON scalar as Java's string form: strings as is, numbers and booleans as
/// their text; `null` is absent.
#[derive(Default)]
struct Scalar(Option<String>);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, number, boolean or null")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(Some(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
                Ok(Scalar(Some(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(Some(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(Some(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(Some(v.to_string())))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(Some(v.to_string())))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar(None))
            }
        }
        d.deserialize_any(V)
    }
}

fn lenient_i32<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    let Scalar(text) = Scalar::deserialize(d)?;
    match text {
        None => Ok(0),
        // Wrapped as Java's `intValue()` would: an opaque written unsigned
        // comes back as the same 32 bits.
        Some(t) => match scalar::integer(&t) {
            Some(Integer::Signed(v)) => Ok(v as i32),
            Some(Integer::Unsigned(v)) => Ok(v as i32),
            None => Err(de::Error::invalid_value(de::Unexpected::Str(&t), &"an integer")),
        },
    }
}

fn lenient_ext<'de, D: Deserializer<'de>>(d: D) -> Result<ExtFields, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = ExtFields;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object of string values")
        }
        fn visit_unit<E: de::Error>(self) -> Result<ExtFields, E> {
            Ok(ExtFields::new())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ExtFields, A::Error> {
            let mut ext = ExtFields::new();
            while let Some((key, Scalar(value))) = map.next_entry::<String, Scalar>()? {
                if let Some(value) = value {
                    ext.insert(key, value);
                }
            }
            Ok(ext)
        }
    }
    d.deserialize_any(V)
}
