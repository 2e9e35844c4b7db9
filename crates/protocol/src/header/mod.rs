//! Typed custom headers and their conversion to and from `extFields`.
//!
//! Java flattens a header object into string ext fields keyed by field name and
//! parses them back leniently. [`command_header!`](crate::command_header)
//! declares a struct with its wire keys; fields typed `Option<_>` are optional,
//! all others are required. A missing required field, or one that does not
//! parse, is a [`HeaderError`] naming the key and the value — the dispatcher
//! answers it with SYSTEM_ERROR and that remark, as Java answers a field its
//! `decodeCommandCustomHeader` cannot convert. An optional field that is empty
//! or `null` counts as absent; one that holds text no conversion accepts is
//! refused like a required one.
//!
//! Scalars convert by the rules bodies use too ([`rmq_model::fastjson::scalar`]):
//! numbers with surrounding whitespace or a `.0` fraction, out-of-range values
//! refused; booleans `true`/`1`/`Y`/`T` in any case, anything else false as
//! Java's `Boolean.parseBoolean` reads it.

mod admin;
mod client;
mod controller;
mod namesrv;
mod offset;
mod pop;
mod pull;
mod send;

pub use admin::*;
pub use client::*;
pub use controller::*;
pub use namesrv::*;
pub use offset::*;
pub use pop::*;
pub use pull::*;
pub use send::*;

use crate::ExtFields;
use rmq_model::fastjson::scalar;

/// A custom header that travels in a command's ext fields.
pub trait CommandHeader: Sized {
    /// Writes the header's fields; `None` fields are left out, as Java does.
    fn write_ext(&self, ext: &mut ExtFields);
    /// Reads the header, failing only on a missing or unreadable required field.
    fn read_ext(ext: &ExtFields) -> Result<Self, HeaderError>;
}

/// The empty header, for requests and responses that carry none.
impl CommandHeader for () {
    fn write_ext(&self, _: &mut ExtFields) {}
    fn read_ext(_: &ExtFields) -> Result<(), HeaderError> {
        Ok(())
    }
}

/// A required header field that is missing or unreadable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("the custom header field '{0}' is missing")]
    Missing(&'static str),
    #[error("the custom header field '{key}' has an illegal value '{value}'")]
    Illegal { key: &'static str, value: String },
}

/// A type that can be a header field. Implemented for the scalar types Java
/// headers use and for `Option` of them.
pub trait ExtValue: Sized {
    fn write(&self, key: &str, ext: &mut ExtFields);
    fn read(ext: &ExtFields, key: &'static str) -> Result<Self, HeaderError>;
}

/// A scalar with Java's text form.
pub trait ExtScalar: Sized {
    fn to_text(&self) -> String;
    /// Parses Java's text form; `None` if it does not parse.
    fn from_text(text: &str) -> Option<Self>;
    /// Whether an optional field holding `text` counts as absent: empty,
    /// blank or `null` for numbers and booleans (fastjson's casts read them
    /// as null).
    fn is_absent(text: &str) -> bool {
        scalar::is_null_text(text)
    }
}

/// Strings are taken as written; only an empty one counts as absent, so a
/// topic or group literally named `null` stays itself.
impl ExtScalar for String {
    fn to_text(&self) -> String {
        self.clone()
    }
    fn from_text(text: &str) -> Option<String> {
        Some(text.to_owned())
    }
    fn is_absent(text: &str) -> bool {
        text.is_empty()
    }
}

/// Java's `Boolean.parseBoolean` reads `true` in any case as true and
/// anything else as false, never failing; fastjson's other true spellings
/// (`1`, `Y`, `T`) are true here too.
impl ExtScalar for bool {
    fn to_text(&self) -> String {
        self.to_string()
    }
    fn from_text(text: &str) -> Option<bool> {
        Some(scalar::boolean(text).unwrap_or(false))
    }
}

macro_rules! integer_scalar {
    ($($t:ty),*) => {$(
        impl ExtScalar for $t {
            fn to_text(&self) -> String {
                self.to_string()
            }
            fn from_text(text: &str) -> Option<$t> {
                scalar::integer_as(text)
            }
        }
    )*};
}
integer_scalar!(i32, i64, u32, u64);

impl ExtScalar for f64 {
    fn to_text(&self) -> String {
        self.to_string()
    }
    fn from_text(text: &str) -> Option<f64> {
        scalar::float(text)
    }
}

impl<T: ExtScalar> ExtValue for T {
    fn write(&self, key: &str, ext: &mut ExtFields) {
        ext.insert(key, self.to_text());
    }
    fn read(ext: &ExtFields, key: &'static str) -> Result<T, HeaderError> {
        let text = ext.get(key).ok_or(HeaderError::Missing(key))?;
        T::from_text(text).ok_or_else(|| HeaderError::Illegal { key, value: text.to_owned() })
    }
}

impl<T: ExtScalar> ExtValue for Option<T> {
    fn write(&self, key: &str, ext: &mut ExtFields) {
        if let Some(v) = self {
            ext.insert(key, v.to_text());
        }
    }
    fn read(ext: &ExtFields, key: &'static str) -> Result<Option<T>, HeaderError> {
        match ext.get(key) {
            None => Ok(None),
            Some(text) if T::is_absent(text) => Ok(None),
            Some(text) => {
                T::from_text(text).map(Some).ok_or_else(|| HeaderError::Illegal { key, value: text.to_owned() })
            }
        }
    }
}

/// Declares a custom header struct and its ext-field conversion.
///
/// ```
/// rmq_protocol::command_header! {
///     /// Asks for a topic's route.
///     pub struct RouteRequest {
///         topic: String => "topic",
///         accept_standard_json_only: Option<bool> => "acceptStandardJsonOnly",
///     }
/// }
/// ```
#[macro_export]
macro_rules! command_header {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* $field:ident : $ty:ty => $key:literal ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl $crate::header::CommandHeader for $name {
            fn write_ext(&self, ext: &mut $crate::ExtFields) {
                $( $crate::header::ExtValue::write(&self.$field, $key, ext); )*
                let _ = ext;
            }

            fn read_ext(ext: &$crate::ExtFields) -> ::std::result::Result<Self, $crate::header::HeaderError> {
                let _ = ext;
                Ok($name { $( $field: $crate::header::ExtValue::read(ext, $key)?, )* })
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::command_header! {
        pub struct Sample {
            topic: String => "topic",
            queue_id: i32 => "queueId",
            order: bool => "order",
            offset: Option<i64> => "offset",
        }
    }

    #[test]
    fn round_trip_and_leniency() {
        let s = Sample { topic: "t".into(), queue_id: 3, order: true, offset: None };
        let mut ext = ExtFields::new();
        s.write_ext(&mut ext);
        assert_eq!(ext.len(), 3);
        assert_eq!(Sample::read_ext(&ext), Ok(s));

        ext.insert("queueId", " 4 ");
        ext.insert("order", "TRUE");
        ext.insert("offset", "null");
        let lenient = Sample::read_ext(&ext).unwrap();
        assert_eq!((lenient.queue_id, lenient.order, lenient.offset), (4, true, None));
        for (text, order) in [("1", true), ("t", true), ("false", false), ("0", false), ("whatever", false)] {
            ext.insert("order", text);
            assert_eq!(Sample::read_ext(&ext).unwrap().order, order, "{text}");
        }
        ext.insert("offset", " 12.0 ");
        assert_eq!(Sample::read_ext(&ext).unwrap().offset, Some(12));
        ext.insert("offset", "not-a-number");
        assert_eq!(Sample::read_ext(&ext), Err(HeaderError::Illegal { key: "offset", value: "not-a-number".into() }));
        ext.remove("offset");
        ext.insert("queueId", "3000000000");
        assert_eq!(Sample::read_ext(&ext), Err(HeaderError::Illegal { key: "queueId", value: "3000000000".into() }));

        ext.insert("queueId", "x");
        assert_eq!(Sample::read_ext(&ext), Err(HeaderError::Illegal { key: "queueId", value: "x".into() }));
        ext.remove("topic");
        assert_eq!(Sample::read_ext(&ext), Err(HeaderError::Missing("topic")));
    }
}
