//! Java `.properties` files as RocketMQ's `-c` option reads them
//! (`java.util.Properties.load`: `=`, `:` or blank separators, `#`/`!`
//! comments, backslash escapes and continuations).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

/// Every `key=value` of the file at `path`, keys sorted.
pub fn load(path: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let file = File::open(path).map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
    let pairs = java_properties::read(BufReader::new(file))
        .map_err(|e| anyhow::anyhow!("cannot parse {}: {e}", path.display()))?;
    Ok(pairs.into_iter().collect())
}

/// Reads a server's `-c FILE` as Java's servers do: the file's pairs are
/// handed to `apply` (which reads them into the server's configuration),
/// then Java's line is printed, `load config properties file OK, FILE` or
/// `load config properties file failed, WHY` (on stderr). On failure the
/// caller exits with [`crate::exit::START_FAILED`], which is returned.
pub fn load_config_file<T>(
    file: &Path,
    apply: impl FnOnce(&BTreeMap<String, String>) -> anyhow::Result<T>,
) -> Result<T, i32> {
    match load(file).and_then(|map| apply(&map)) {
        Ok(applied) => {
            println!("load config properties file OK, {}", file.display());
            Ok(applied)
        }
        Err(e) => {
            eprintln!("load config properties file failed, {e}");
            Err(crate::exit::START_FAILED)
        }
    }
}

/// The pairs as `(&str, &str)`, the shape config structs' `apply_all` take.
pub fn pairs(map: &BTreeMap<String, String>) -> impl Iterator<Item = (&str, &str)> {
    map.iter().map(|(k, v)| (k.as_str(), v.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_java_syntax() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("namesrv.properties");
        std::fs::write(
            &path,
            "# comment\nlistenPort = 9877\n! other comment\nkvConfigPath:/tmp/kv.json\nlong=a\\\n  b\n",
        )
        .unwrap();
        let map = load(&path).unwrap();
        assert_eq!(map["listenPort"], "9877");
        assert_eq!(map["kvConfigPath"], "/tmp/kv.json");
        assert_eq!(map["long"], "ab");
        assert_eq!(pairs(&map).count(), 3);
        assert!(load(&dir.path().join("missing")).unwrap_err().to_string().contains("cannot open"));
    }
}
