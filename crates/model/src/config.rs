//! Configuration structs keyed by RocketMQ's property names.
//!
//! [`config_struct!`](crate::config_struct) declares a struct whose fields carry
//! their Java key and default. The generated code applies `key=value` pairs as
//! Java's `MixAll.properties2Object` does (same names, case-sensitive), but
//! refuses a value it cannot parse with a message naming the key, instead of
//! silently keeping the default as Java does, and reports keys it does not know
//! so the caller can warn about each by name.

use std::fmt;

/// A value a config key can hold, parsed from and printed as properties text.
pub trait ConfigValue: Sized {
    /// Parses the text of a property (already trimmed).
    fn parse_value(text: &str) -> Result<Self, String>;
    /// The text `-p` prints and UPDATE/GET config bodies carry.
    fn to_value(&self) -> String;
}

impl ConfigValue for String {
    fn parse_value(text: &str) -> Result<String, String> {
        Ok(text.to_owned())
    }
    fn to_value(&self) -> String {
        self.clone()
    }
}

/// Optional values: an empty value means unset.
impl<T: ConfigValue> ConfigValue for Option<T> {
    fn parse_value(text: &str) -> Result<Option<T>, String> {
        if text.is_empty() { Ok(None) } else { T::parse_value(text).map(Some) }
    }
    fn to_value(&self) -> String {
        self.as_ref().map(T::to_value).unwrap_or_default()
    }
}

/// Java's `Boolean.parseBoolean` would read anything but `true` as false; we
/// accept `true`/`false` in any case and refuse the rest.
impl ConfigValue for bool {
    fn parse_value(text: &str) -> Result<bool, String> {
        match text.to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err("expected true or false".to_owned()),
        }
    }
    fn to_value(&self) -> String {
        self.to_string()
    }
}

macro_rules! numeric_value {
    ($($t:ty),*) => {$(
        impl ConfigValue for $t {
            fn parse_value(text: &str) -> Result<$t, String> {
                text.parse().map_err(|_| format!("expected a number ({})", stringify!($t)))
            }
            fn to_value(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
numeric_value!(i32, i64, u16, u32, u64, usize, f64);

/// A path, printed as the platform shows it.
impl ConfigValue for std::path::PathBuf {
    fn parse_value(text: &str) -> Result<std::path::PathBuf, String> {
        Ok(std::path::PathBuf::from(text))
    }
    fn to_value(&self) -> String {
        self.display().to_string()
    }
}

impl ConfigValue for crate::BrokerRole {
    fn parse_value(text: &str) -> Result<Self, String> {
        text.parse().map_err(|e: crate::role::UnknownName| e.to_string())
    }
    fn to_value(&self) -> String {
        self.to_string()
    }
}

impl ConfigValue for crate::FlushDiskType {
    fn parse_value(text: &str) -> Result<Self, String> {
        text.parse().map_err(|e: crate::role::UnknownName| e.to_string())
    }
    fn to_value(&self) -> String {
        self.to_string()
    }
}

/// What happened to one `key=value` pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The key is known and its value was set.
    Set,
    /// The key is not one of this struct's; the caller warns about it.
    Unknown,
}

/// A value that did not parse, naming the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadValue {
    pub key: String,
    pub value: String,
    pub reason: String,
}

impl fmt::Display for BadValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "config key '{}' has an illegal value '{}': {}", self.key, self.value, self.reason)
    }
}

impl std::error::Error for BadValue {}

/// Declares a config struct of RocketMQ keys.
///
/// Each field is `name: Type = "javaKey" [| "alias" ...] [via setter] => default_expr`,
/// its doc comment above it. The generated struct implements `Default`,
/// `apply(key, value)`, `get(key)`, `knows(key)` and `entries()` (every key
/// with its current value, in declaration order, for `-p` and
/// GET_*_CONFIG). Aliases accept other spellings such as
/// `mapedFileSizeCommitLog`.
///
/// * `via setter`: `apply` hands the parsed value to `self.setter(value)`
///   instead of assigning the field, for a key that moves others along (the
///   store root moves the CommitLog directory with it).
/// * A field declared without a key (`name: Type => default_expr`) is part of
///   the struct but no key sets or prints it: a value computed at startup.
#[macro_export]
macro_rules! config_struct {
    (@assign $target:ident . $field:ident = $value:ident) => {
        $target.$field = $value
    };
    (@assign $target:ident . $field:ident = $value:ident via $setter:ident) => {
        $target.$setter($value)
    };
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                $field:ident : $ty:ty $(= $key:literal $(| $alias:literal)* $(via $setter:ident)?)? => $default:expr
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl Default for $name {
            fn default() -> $name {
                $name { $( $field: $default, )* }
            }
        }

        impl $name {
            /// Every key this struct knows, in declaration order.
            pub const KEYS: &'static [&'static str] = &[$($($key,)?)*];

            /// Whether `key` (or one of its aliases) is one of this struct's.
            pub fn knows(key: &str) -> bool {
                match key {
                    $($( $key $(| $alias)* => true, )?)*
                    _ => false,
                }
            }

            /// Sets the field named by `key` from its properties text.
            pub fn apply(&mut self, key: &str, value: &str) -> Result<$crate::config::Applied, $crate::config::BadValue> {
                let text = value.trim();
                match key {
                    $($(
                        $key $(| $alias)* => {
                            let parsed = <$ty as $crate::config::ConfigValue>::parse_value(text).map_err(|reason| {
                                $crate::config::BadValue { key: key.to_owned(), value: value.to_owned(), reason }
                            })?;
                            $crate::config_struct!(@assign self.$field = parsed $(via $setter)?);
                            Ok($crate::config::Applied::Set)
                        }
                    )?)*
                    _ => Ok($crate::config::Applied::Unknown),
                }
            }

            /// The current value of `key` as properties text.
            pub fn get(&self, key: &str) -> Option<String> {
                match key {
                    $($( $key $(| $alias)* => Some($crate::config::ConfigValue::to_value(&self.$field)), )?)*
                    _ => None,
                }
            }

            /// Every key with its current value, in declaration order.
            pub fn entries(&self) -> Vec<(&'static str, String)> {
                vec![$($( ($key, $crate::config::ConfigValue::to_value(&self.$field)), )?)*]
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BrokerRole;
    use std::path::PathBuf;

    crate::config_struct! {
        /// A sample.
        pub struct Sample {
            /// The port.
            listen_port: u16 = "listenPort" => 10911,
            role: BrokerRole = "brokerRole" => BrokerRole::AsyncMaster,
            size: u64 = "mappedFileSizeCommitLog" | "mapedFileSizeCommitLog" => 1 << 30,
            addr: Option<String> = "namesrvAddr" => None,
            enabled: bool = "enabled" => false,
            root: PathBuf = "root" via move_root => PathBuf::from("/r"),
            data: PathBuf = "data" => PathBuf::from("/r/data"),
            /// Computed, not configured.
            resolved: u32 => 7,
        }
    }

    impl Sample {
        fn move_root(&mut self, root: PathBuf) {
            if self.data == self.root.join("data") {
                self.data = root.join("data");
            }
            self.root = root;
        }
    }

    #[test]
    fn applies_known_keys_and_reports_unknown() {
        let mut s = Sample::default();
        assert_eq!(s.apply("listenPort", " 10921 "), Ok(Applied::Set));
        assert_eq!(s.apply("brokerRole", "SLAVE"), Ok(Applied::Set));
        assert_eq!(s.apply("mapedFileSizeCommitLog", "1024"), Ok(Applied::Set));
        assert_eq!(s.apply("sendMessageThreadPoolNums", "4"), Ok(Applied::Unknown));
        assert_eq!((s.listen_port, s.role, s.size), (10921, BrokerRole::Slave, 1024));
        let err = s.apply("listenPort", "abc").unwrap_err();
        assert_eq!(err.key, "listenPort");
        assert!(err.to_string().contains("'abc'"));
        assert_eq!(s.get("brokerRole").as_deref(), Some("SLAVE"));
        assert_eq!(s.entries()[3], ("namesrvAddr", String::new()));
        assert_eq!(Sample::KEYS.len(), 7);
    }

    #[test]
    fn booleans_ignore_case_and_refuse_anything_else() {
        let mut s = Sample::default();
        assert_eq!(s.apply("enabled", "TRUE"), Ok(Applied::Set));
        assert!(s.enabled);
        assert_eq!(s.apply("enabled", "False"), Ok(Applied::Set));
        assert!(!s.enabled);
        assert_eq!(s.apply("enabled", "yes").unwrap_err().key, "enabled");
    }

    #[test]
    fn a_setter_moves_other_fields_along() {
        let mut s = Sample::default();
        s.apply("root", "/a").unwrap();
        assert_eq!((s.root.as_path(), s.data.as_path()), (std::path::Path::new("/a"), std::path::Path::new("/a/data")));
        s.apply("data", "/elsewhere").unwrap();
        s.apply("root", "/b").unwrap();
        assert_eq!(s.data, PathBuf::from("/elsewhere"));
        assert_eq!(s.get("root").as_deref(), Some("/b"));
    }

    #[test]
    fn fields_without_a_key_are_neither_set_nor_printed() {
        let mut s = Sample::default();
        assert_eq!(s.resolved, 7);
        assert_eq!(s.apply("resolved", "8"), Ok(Applied::Unknown));
        assert!(!Sample::knows("resolved") && s.get("resolved").is_none());
        assert!(Sample::knows("mapedFileSizeCommitLog") && Sample::knows("listenPort"));
        let keys: Vec<_> = s.entries().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, Sample::KEYS);
    }
}
