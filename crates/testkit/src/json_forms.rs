//! JSON bodies in the forms clients other than Java's write them, and
//! mangled beyond meaning, for tests of rmq's lenient decoding.
//!
//! [`Rewrite`] and [`apply`] rewrite a Java-shaped body without changing what
//! it means to fastjson: numbers as strings (with stray spaces), enums as
//! ordinals or in lower case, booleans as `1`/`"true"`/`"TRUE"`, field names
//! in another case, snake_case, kebab-case or with an `is` prefix, unknown
//! keys added, pretty-printed with a trailing newline. [`mangle`] replaces a
//! value with one of another kind, cuts or garbles the text.
//!
//! Objects whose keys all look like field names (`^[a-z][a-zA-Z]*$`) are
//! taken for structs; samples keep their map keys (topic, group and broker
//! names) out of that shape.

use serde_json::{Map, Value, json};

/// Java's enum constants the bodies carry, with their ordinals.
pub const ENUMS: &[(&str, u32)] = &[
    ("CONSUME_ACTIVELY", 0),
    ("CONSUME_PASSIVELY", 1),
    ("CONSUME_POP", 2),
    ("BROADCASTING", 0),
    ("CLUSTERING", 1),
    ("CONSUME_FROM_LAST_OFFSET", 0),
    ("CONSUME_FROM_LAST_OFFSET_AND_FROM_MIN_WHEN_BOOT_FIRST", 1),
    ("CONSUME_FROM_MIN_OFFSET", 2),
    ("CONSUME_FROM_MAX_OFFSET", 3),
    ("CONSUME_FROM_FIRST_OFFSET", 4),
    ("CONSUME_FROM_TIMESTAMP", 5),
    ("SINGLE_TAG", 0),
    ("MULTI_TAG", 1),
];

/// The ways clients rewrite a body without changing what it means.
#[derive(Clone, Copy, Debug)]
pub struct Rewrite {
    pub numbers_as_strings: bool,
    pub enums_as_ordinals: bool,
    pub booleans_spelled_otherwise: bool,
    pub keys_recased: bool,
    pub unknown_keys: bool,
    pub pretty_with_newline: bool,
}

impl Rewrite {
    /// The rewrites switched on by `flags`, in field order.
    pub fn from_flags(b: [bool; 6]) -> Rewrite {
        Rewrite {
            numbers_as_strings: b[0],
            enums_as_ordinals: b[1],
            booleans_spelled_otherwise: b[2],
            keys_recased: b[3],
            unknown_keys: b[4],
            pretty_with_newline: b[5],
        }
    }

    /// Every rewrite at once.
    pub fn all() -> Rewrite {
        Rewrite::from_flags([true; 6])
    }
}

/// Whether a key is a field name (a map key in a sample never looks so).
pub fn looks_like_field(key: &str) -> bool {
    key.starts_with(|c: char| c.is_ascii_lowercase()) && key.chars().all(|c| c.is_ascii_alphabetic())
}

fn recase(key: &str, rng: &mut fastrand::Rng, is_bool: bool) -> String {
    let snake = || {
        let mut out = String::new();
        for c in key.chars() {
            if c.is_ascii_uppercase() {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        }
        out
    };
    match rng.u8(0..5) {
        0 => key.to_ascii_lowercase(),
        1 => key.to_ascii_uppercase(),
        2 => snake(),
        3 => snake().replace('_', "-"),
        _ if is_bool => format!("is{}{}", key[..1].to_ascii_uppercase(), &key[1..]),
        _ => key.to_owned(),
    }
}

/// Rewrites `value` by `r`, the random choices drawn from `rng`.
pub fn apply(value: &Value, r: Rewrite, rng: &mut fastrand::Rng) -> Value {
    match value {
        Value::Number(n) if r.numbers_as_strings && rng.bool() => {
            let pad = if rng.bool() { " " } else { "" };
            Value::String(format!("{pad}{n}{pad}"))
        }
        Value::Bool(b) if r.booleans_spelled_otherwise => match rng.u8(0..4) {
            0 => json!(u8::from(*b)),
            1 => json!(if *b { "1" } else { "0" }),
            2 => json!(if *b { "TRUE" } else { "False" }),
            _ => json!(b.to_string()),
        },
        Value::String(s) if r.enums_as_ordinals => match ENUMS.iter().find(|(name, _)| name == s) {
            Some((_, ordinal)) => match rng.u8(0..3) {
                0 => json!(ordinal),
                1 => json!(ordinal.to_string()),
                _ => json!(s.to_ascii_lowercase()),
            },
            None => value.clone(),
        },
        Value::Array(items) => Value::Array(items.iter().map(|v| apply(v, r, rng)).collect()),
        Value::Object(map) => {
            // An object whose keys all look like field names is a struct;
            // unknown keys added to a map would change its data.
            let is_struct = !map.is_empty() && map.keys().all(|k| looks_like_field(k));
            let mut out = Map::new();
            for (key, v) in map {
                let key = if r.keys_recased && looks_like_field(key) {
                    recase(key, rng, v.is_boolean())
                } else {
                    key.clone()
                };
                out.insert(key, apply(v, r, rng));
            }
            if r.unknown_keys && is_struct {
                out.insert("zzFutureField".into(), json!({"nested": [1, "x", null], "n": 1.5}));
                out.insert("anotherUnknown".into(), Value::Null);
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// The text of `value`, pretty with a trailing newline when `r` says so.
pub fn render(value: &Value, r: Rewrite) -> String {
    if r.pretty_with_newline { serde_json::to_string_pretty(value).unwrap() + "\n" } else { value.to_string() }
}

/// Values of every kind that a field can be given instead of its own.
pub fn odd_values() -> Vec<Value> {
    vec![
        json!(null),
        json!(-1),
        json!(i64::MIN),
        json!(u64::MAX),
        json!(1e308),
        json!(-0.5),
        json!("abc"),
        json!(""),
        json!("99999999999999999999999"),
        json!([]),
        json!([null, {"a": 1}]),
        json!({}),
        json!({"x": [1, 2, 3]}),
        json!(true),
        json!("x".repeat(300)),
    ]
}

/// Three mangled forms of `body` (standard JSON): one value replaced with an
/// odd one, the text cut short, one byte garbled.
pub fn mangle(body: &str, rng: &mut fastrand::Rng) -> [Vec<u8>; 3] {
    let odd = odd_values();
    let mut value: Value = serde_json::from_str(body).expect("a JSON sample");
    let mut slot = rng.usize(..count_values(&value));
    replace_nth(&mut value, &mut slot, &odd[rng.usize(..odd.len())]);
    let text = body.as_bytes();
    let cut = text[..rng.usize(..=text.len())].to_vec();
    let mut garbled = text.to_vec();
    let at = rng.usize(..garbled.len());
    garbled[at] = rng.u8(..);
    [value.to_string().into_bytes(), cut, garbled]
}

fn count_values(value: &Value) -> usize {
    1 + match value {
        Value::Array(items) => items.iter().map(count_values).sum(),
        Value::Object(map) => map.values().map(count_values).sum(),
        _ => 0,
    }
}

fn replace_nth(value: &mut Value, n: &mut usize, with: &Value) -> bool {
    if *n == 0 {
        *value = with.clone();
        return true;
    }
    *n -= 1;
    match value {
        Value::Array(items) => items.iter_mut().any(|child| replace_nth(child, n, with)),
        Value::Object(map) => map.values_mut().any(|child| replace_nth(child, n, with)),
        _ => false,
    }
}
