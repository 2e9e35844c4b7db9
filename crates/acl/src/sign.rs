//! The request signature of ACL 1.0 (Java's `AclClientRPCHook` and
//! `AclUtils.calSignature`): HMAC-SHA1 keyed with the secret key over the
//! values of every ext field but `Signature`, in key order, then the body;
//! Base64-encoded. RocketMQ 5's gRPC clients sign their `x-mq-date-time`
//! header instead, in hex ([`sign_hex`]).

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// Ext field holding the access key.
pub const ACCESS_KEY: &str = "AccessKey";
/// Ext field holding the signature.
pub const SIGNATURE: &str = "Signature";
/// Ext field of unique-key queries, which the broker leaves out of the
/// signed content (Java adds it after signing).
pub const UNIQUE_KEY_QUERY: &str = "_UNIQUE_KEY_QUERY";

/// The bytes a request's signature covers (its ext fields, then its body),
/// as the broker verifies it and as a client signs it.
pub fn content<'a>(ext: impl IntoIterator<Item = (&'a str, &'a str)>, body: &[u8]) -> Vec<u8> {
    // Java sorts with a TreeMap, i.e. by UTF-16 code units; for the keys
    // clients send this is byte order, but sort the Java way to be exact.
    let mut fields: Vec<(&str, &str)> =
        ext.into_iter().filter(|(k, _)| *k != SIGNATURE && *k != UNIQUE_KEY_QUERY).collect();
    fields.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
    let mut out = Vec::with_capacity(fields.iter().map(|(_, v)| v.len()).sum::<usize>() + body.len());
    for (_, value) in fields {
        out.extend_from_slice(value.as_bytes());
    }
    out.extend_from_slice(body);
    out
}

/// Base64(HMAC-SHA1(secret, data)).
pub fn sign(data: &[u8], secret: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(data);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Hex(HMAC-SHA1(secret, data)), lower case: the signature of RocketMQ 5's
/// gRPC clients, computed over their `x-mq-date-time` header.
pub fn sign_hex(data: &[u8], secret: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares two signatures without leaking where they differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn pairs(ext: &BTreeMap<String, String>) -> impl Iterator<Item = (&str, &str)> {
        ext.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Vectors computed with Java 17's `Mac.getInstance("HmacSHA1")` and
    /// `Base64.getEncoder()` over a `TreeMap` of the same fields, exactly as
    /// `AclClientRPCHook.doBeforeRequest` builds its content.
    #[test]
    fn matches_java_vectors() {
        let mut ext = BTreeMap::<String, String>::new();
        for (k, v) in [
            ("AccessKey", "RocketMQ"),
            ("topic", "TopicTest"),
            ("consumerGroup", "please_rename_unique_group_name_4"),
            ("queueId", "0"),
            ("queueOffset", "128"),
            ("bname", "broker-a"),
            ("Z_last", "ä€"),
        ] {
            ext.insert(k.to_owned(), v.to_owned());
        }
        assert_eq!(sign(&content(pairs(&ext), br#"{"hello":"world"}"#), "12345678"), "MJGRcJyafoKWp+l4u669LH8ztTc=");
        assert_eq!(sign(&content(pairs(&ext), b""), "12345678"), "TyYOmbMQPHSv4P88+LOt/b118tY=");
        // The signature itself and the unique-key flag are not signed.
        ext.insert(SIGNATURE.to_owned(), "whatever".to_owned());
        ext.insert(UNIQUE_KEY_QUERY.to_owned(), "true".to_owned());
        assert_eq!(sign(&content(pairs(&ext), b""), "12345678"), "TyYOmbMQPHSv4P88+LOt/b118tY=");
    }

    /// Vectors computed with Python's `hmac.new(key, msg, hashlib.sha1).hexdigest()`.
    #[test]
    fn hex_signatures_match_python() {
        assert_eq!(sign_hex(b"2024-05-01T10:20:30.123+08:00", "12345678"), "a0d4c9d1365bf8a259bb0580efc2836a353f6524");
        assert_eq!(sign_hex(b"20240501T102030Z", "secret-key-1"), "9aa5f85fe22f2e561fbb7eba6f80cb554525ec39");
    }

    #[test]
    fn comparison() {
        assert!(same("abc=", "abc="));
        assert!(!same("abc=", "abd="));
        assert!(!same("abc", "abc="));
    }
}
