//! A log file that rolls by size into a fixed window of gzip archives, the
//! way RocketMQ's logback configuration does: once `broker.log` would pass
//! its size limit it becomes `otherdays/broker.1.log.gz`, the older archives
//! move up one index, and the one past the window's end is deleted. Tools
//! that tail `broker.log` or read `otherdays/` find what they find with Java.
//!
//! Compression runs on its own thread so that a roll does not stall the
//! writer for the seconds gzip takes over 128 MB; the next roll waits for it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use flate2::Compression;
use flate2::write::GzEncoder;

/// How large a file grows and how many archives are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// A line that would take the file past this many bytes rolls it first.
    pub max_file_size: u64,
    /// Archives kept: `<stem>.1.log.gz` (newest) to `<stem>.<max_index>.log.gz`.
    pub max_index: u32,
}

/// `<dir>/<stem>.log`, appended to, rolled into `<dir>/otherdays/`.
#[derive(Debug)]
pub struct RollingFile {
    path: PathBuf,
    archives: PathBuf,
    stem: String,
    window: Window,
    file: File,
    size: u64,
    compressing: Option<JoinHandle<()>>,
}

impl RollingFile {
    /// Opens (creating directories and the file as needed) `path`, which must
    /// end in `<stem>.log`.
    pub fn open(path: &Path, window: Window) -> io::Result<RollingFile> {
        let dir = path.parent().unwrap_or_else(|| Path::new("."));
        fs::create_dir_all(dir)?;
        let stem = path
            .file_name()
            .and_then(|n| n.to_str())
            .map(|n| n.strip_suffix(".log").unwrap_or(n).to_owned())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "a log file needs a UTF-8 name"))?;
        let file = append(path)?;
        let size = file.metadata()?.len();
        Ok(RollingFile {
            path: path.to_path_buf(),
            archives: dir.join("otherdays"),
            stem,
            window,
            file,
            size,
            compressing: None,
        })
    }

    fn archive(&self, index: u32) -> PathBuf {
        self.archives.join(format!("{}.{index}.log.gz", self.stem))
    }

    /// Moves the file into the window and starts a new one. A failure leaves
    /// the current file in place and growing: a log that cannot roll is still
    /// better than no log.
    fn roll(&mut self) -> io::Result<()> {
        if let Some(previous) = self.compressing.take() {
            let _ = previous.join();
        }
        fs::create_dir_all(&self.archives)?;
        if self.window.max_index == 0 {
            self.file = File::create(&self.path)?;
            self.size = 0;
            return Ok(());
        }
        let _ = fs::remove_file(self.archive(self.window.max_index));
        for index in (1..self.window.max_index).rev() {
            let from = self.archive(index);
            if from.exists() {
                fs::rename(&from, self.archive(index + 1))?;
            }
        }
        let pending = self.archives.join(format!("{}.1.log.rolling", self.stem));
        fs::rename(&self.path, &pending)?;
        self.file = append(&self.path)?;
        self.size = 0;
        let target = self.archive(1);
        self.compressing = Some(std::thread::spawn(move || {
            if let Err(e) = gzip(&pending, &target) {
                eprintln!("log archive {} not compressed: {e}", target.display());
            }
        }));
        Ok(())
    }

    /// Waits for a compression in progress (tests, shutdown).
    pub fn settle(&mut self) {
        if let Some(running) = self.compressing.take() {
            let _ = running.join();
        }
    }
}

impl Write for RollingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.size > 0
            && self.size + buf.len() as u64 > self.window.max_file_size
            && let Err(e) = self.roll()
        {
            eprintln!("log file {} not rolled: {e}", self.path.display());
        }
        // Whole lines only: a partial write retried by `write_all` must not
        // roll the file between the two halves of a line.
        self.file.write_all(buf)?;
        self.size += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Drop for RollingFile {
    fn drop(&mut self) {
        self.settle();
    }
}

fn append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// Compresses `from` into `to` and removes `from`.
fn gzip(from: &Path, to: &Path) -> io::Result<()> {
    let partial = to.with_extension("gz.partial");
    {
        let mut input = BufReader::new(File::open(from)?);
        let mut output = GzEncoder::new(BufWriter::new(File::create(&partial)?), Compression::fast());
        io::copy(&mut input, &mut output)?;
        output.finish()?.flush()?;
    }
    fs::rename(&partial, to)?;
    fs::remove_file(from)
}

/// Parses logback-style sizes: `128MB`, `100 mb`, `1GB`, `512KB` or bytes.
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let number: u64 = number.parse().ok()?;
    let factor = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "KB" => 1 << 10,
        "MB" => 1 << 20,
        "GB" => 1 << 30,
        _ => return None,
    };
    number.checked_mul(factor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::GzDecoder;
    use std::io::Read;

    fn gunzip(path: &Path) -> String {
        let mut text = String::new();
        GzDecoder::new(File::open(path).unwrap()).read_to_string(&mut text).unwrap();
        text
    }

    #[test]
    fn rolls_into_a_fixed_window_of_archives() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broker.log");
        let mut log = RollingFile::open(&path, Window { max_file_size: 10, max_index: 2 }).unwrap();
        for line in ["one......\n", "two......\n", "three....\n", "four.....\n"] {
            log.write_all(line.as_bytes()).unwrap();
        }
        log.settle();
        assert_eq!(fs::read_to_string(&path).unwrap(), "four.....\n");
        let archives = dir.path().join("otherdays");
        assert_eq!(gunzip(&archives.join("broker.1.log.gz")), "three....\n");
        assert_eq!(gunzip(&archives.join("broker.2.log.gz")), "two......\n");
        assert!(!archives.join("broker.3.log.gz").exists(), "the oldest falls out of the window");
        let names: Vec<_> = fs::read_dir(&archives).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 2, "no partial or pending files left: {names:?}");
    }

    #[test]
    fn reopening_appends_and_counts_what_is_there() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("namesrv.log");
        fs::write(&path, "12345678\n").unwrap();
        let mut log = RollingFile::open(&path, Window { max_file_size: 12, max_index: 1 }).unwrap();
        log.write_all(b"abcdef\n").unwrap();
        log.settle();
        assert_eq!(fs::read_to_string(&path).unwrap(), "abcdef\n");
        assert_eq!(gunzip(&dir.path().join("otherdays/namesrv.1.log.gz")), "12345678\n");
    }

    #[test]
    fn a_line_longer_than_the_limit_is_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.log");
        let mut log = RollingFile::open(&path, Window { max_file_size: 4, max_index: 3 }).unwrap();
        log.write_all(b"a long line\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "a long line\n");
    }

    #[test]
    fn sizes_read_as_logback_writes_them() {
        assert_eq!(parse_size("128MB"), Some(128 << 20));
        assert_eq!(parse_size("100 mb"), Some(100 << 20));
        assert_eq!(parse_size("1GB"), Some(1 << 30));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("12XB"), None);
        assert_eq!(parse_size("MB"), None);
    }
}
