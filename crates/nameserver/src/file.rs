//! Small config files written the way Java's `MixAll.string2File` does, but
//! crash-safe: the new content goes to `<file>.tmp` and is synced, the old
//! content is kept in `<file>.bak`, then the tmp file is renamed over the
//! file. A crash leaves either the old or the new file in place.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Replaces `path`'s content with `content`, keeping the previous content in
/// `<path>.bak`. Creates missing parent directories.
pub fn write_atomically(path: &Path, content: &str) -> io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)?;
    }
    let tmp = with_suffix(path, ".tmp");
    let mut file = fs::File::create(&tmp)?;
    file.write_all(content.as_bytes())?;
    file.sync_all()?;
    drop(file);
    match fs::copy(path, with_suffix(path, ".bak")) {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    fs::rename(&tmp, path)
}

/// Reads `path`, falling back to `<path>.bak` when the file is missing or
/// empty or `parse` refuses it. `Ok(None)` when neither exists; an error
/// (naming the file) when one exists but neither parses.
pub fn read_with_backup<T>(path: &Path, parse: impl Fn(&str) -> Result<T, String>) -> Result<Option<T>, String> {
    let mut first_error = None;
    for candidate in [path.to_path_buf(), with_suffix(path, ".bak")] {
        match fs::read_to_string(&candidate) {
            Ok(text) if text.trim().is_empty() => continue,
            Ok(text) => match parse(&text) {
                Ok(value) => {
                    if candidate != path {
                        tracing::warn!("{} was unusable, loaded {}", path.display(), candidate.display());
                    }
                    return Ok(Some(value));
                }
                Err(e) => {
                    first_error.get_or_insert(format!("{}: {e}", candidate.display()));
                }
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => {
                first_error.get_or_insert(format!("{}: {e}", candidate.display()));
            }
        }
    }
    first_error.map_or(Ok(None), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<String, String> {
        if text.starts_with('{') { Ok(text.to_owned()) } else { Err("not an object".into()) }
    }

    #[test]
    fn write_keeps_a_backup_and_read_falls_back_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/kv.json");
        assert_eq!(read_with_backup(&path, parse), Ok(None));
        write_atomically(&path, "{1}").unwrap();
        write_atomically(&path, "{2}").unwrap();
        assert_eq!(fs::read_to_string(with_suffix(&path, ".bak")).unwrap(), "{1}");
        assert_eq!(read_with_backup(&path, parse), Ok(Some("{2}".to_owned())));
        assert!(!with_suffix(&path, ".tmp").exists());
        fs::write(&path, "garbage").unwrap();
        assert_eq!(read_with_backup(&path, parse), Ok(Some("{1}".to_owned())));
        fs::write(with_suffix(&path, ".bak"), "garbage").unwrap();
        assert!(read_with_backup(&path, parse).unwrap_err().contains("kv.json: not an object"));
    }
}
