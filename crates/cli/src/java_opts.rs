//! JVM system properties the RocketMQ scripts pass as `-Dkey=value` in
//! `JAVA_OPT` (prepended by the scripts) and `JAVA_OPT_EXT` (appended, so it
//! wins). Only the handful that change where files go or what the boot line
//! says are read; the shell wrappers deal with the rest.

use std::path::PathBuf;

/// The value of `-D<name>=` in `java_opt` then `java_opt_ext`; the last one
/// given wins, as on a JVM command line. Surrounding quotes are removed.
pub fn property_in(name: &str, java_opt: Option<&str>, java_opt_ext: Option<&str>) -> Option<String> {
    let prefix = format!("-D{name}=");
    [java_opt, java_opt_ext]
        .into_iter()
        .flatten()
        .flat_map(str::split_whitespace)
        .rev()
        .find_map(|token| token.strip_prefix(&prefix))
        .map(|value| value.trim_matches(|c| c == '"' || c == '\'').to_owned())
}

/// `-D<name>=` from the environment's `JAVA_OPT` and `JAVA_OPT_EXT`.
pub fn property(name: &str) -> Option<String> {
    let opt = std::env::var("JAVA_OPT").ok();
    let ext = std::env::var("JAVA_OPT_EXT").ok();
    property_in(name, opt.as_deref(), ext.as_deref())
}

/// Java's `user.home`: `-Duser.home=` if given, else `$HOME`, else the
/// current directory. Logs and the NameServer's KV file live under it.
pub fn user_home() -> PathBuf {
    property("user.home")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The serialize type named in boot lines: `-Drocketmq.serialize.type=` or
/// `ROCKETMQ_SERIALIZE_TYPE`, `JSON` by default. (Responses always use the
/// request's own type, whatever this says.)
pub fn serialize_type() -> String {
    property("rocketmq.serialize.type")
        .or_else(|| std::env::var("ROCKETMQ_SERIALIZE_TYPE").ok())
        .filter(|t| t.eq_ignore_ascii_case("ROCKETMQ"))
        .map_or_else(|| "JSON".to_owned(), |_| "ROCKETMQ".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_definition_wins() {
        let opt = Some("-server -Xms1g -Duser.home=/a -Dx=1");
        let ext = Some("-Duser.home=\"/b c\" -Duser.home=/d");
        assert_eq!(property_in("user.home", opt, None).as_deref(), Some("/a"));
        assert_eq!(property_in("user.home", opt, ext).as_deref(), Some("/d"));
        assert_eq!(property_in("user.home", None, Some("-Duser.home='/q'")).as_deref(), Some("/q"));
        assert_eq!(property_in("user.dir", opt, ext), None);
        assert_eq!(property_in("x", opt, None).as_deref(), Some("1"));
    }
}
