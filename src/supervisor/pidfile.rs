//! The PidFile (httpd's log.c: ap_log_pid / ap_read_pid / ap_remove_pid).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::ap_log;
use crate::config::ServerConfig;

/// What a pid file holds.
#[derive(Debug, PartialEq, Eq)]
pub enum PidFile {
    Missing,
    /// Exists but is empty, not a number, or too long (AH00058).
    Corrupt,
    Pid(i32),
}

/// `PidFile`, relative to ServerRoot.
pub fn path(config: &ServerConfig) -> PathBuf {
    if config.pid_file.is_absolute() {
        config.pid_file.clone()
    } else {
        config.server_root.join(&config.pid_file)
    }
}

pub fn read(path: &Path) -> PidFile {
    let Ok(text) = std::fs::read_to_string(path) else {
        return if path.exists() {
            PidFile::Corrupt
        } else {
            PidFile::Missing
        };
    };
    let t = text.trim_end();
    if t.is_empty() || t.len() > 19 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return PidFile::Corrupt;
    }
    match t.parse::<i32>() {
        Ok(p) if p > 0 => PidFile::Pid(p),
        _ => PidFile::Corrupt,
    }
}

/// The pid file exists but cannot be parsed (AH00058).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("AH00058: Error retrieving pid file")]
pub struct CorruptPidFile;

/// The pid of a live server according to `path` (not our own pid, and `kill(pid, 0)` works).
pub fn live_pid(path: &Path) -> Result<Option<i32>, CorruptPidFile> {
    match read(path) {
        PidFile::Corrupt => Err(CorruptPidFile),
        PidFile::Missing => Ok(None),
        PidFile::Pid(p) => Ok(is_alive(p).then_some(p)),
    }
}

pub fn is_alive(pid: i32) -> bool {
    pid as u32 != std::process::id()
        && nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
}

/// Writes `<pid>\n` atomically (temp file, mode 0644, rename). On the first write of this
/// parent an existing file earns httpd's AH00098 warning.
pub fn write(path: &Path, pid: u32, first: bool) -> std::io::Result<()> {
    if first && path.exists() {
        ap_log!(
            warn,
            "core",
            "AH00098: pid file {} overwritten -- Unclean shutdown of previous Apache run?",
            path.display()
        );
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let tmp = PathBuf::from(format!(
        "{}.{:06x}",
        path.display(),
        (nanos ^ pid) & 0xff_ffff
    ));
    let res = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&tmp)?;
        f.write_all(format!("{pid}\n").as_bytes())?;
        std::fs::rename(&tmp, path)
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

/// Removes the pid file if it still names `pid` (INFO AH00096).
pub fn remove(path: &Path, pid: u32) {
    if read(path) == PidFile::Pid(pid as i32) && std::fs::remove_file(path).is_ok() {
        ap_log!(
            info,
            "core",
            "AH00096: removed PID file {} (pid={})",
            path.display(),
            pid
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_read_remove() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.pid");
        assert_eq!(read(&p), PidFile::Missing);
        write(&p, 1234, true).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "1234\n");
        assert_eq!(read(&p), PidFile::Pid(1234));
        remove(&p, 999); // not ours: kept
        assert!(p.exists());
        remove(&p, 1234);
        assert!(!p.exists());
        // only the pid file is left behind, no temp files
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0);
    }

    #[test]
    fn corrupt_files() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.pid");
        for junk in ["", "abc", "12x", "99999999999999999999999"] {
            std::fs::write(&p, junk).unwrap();
            assert_eq!(read(&p), PidFile::Corrupt, "{junk:?}");
            assert!(live_pid(&p).is_err());
        }
    }

    #[test]
    fn own_pid_is_not_a_running_server() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.pid");
        write(&p, std::process::id(), false).unwrap();
        assert_eq!(live_pid(&p), Ok(None));
    }
}
