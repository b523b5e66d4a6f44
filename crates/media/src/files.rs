//! Files that appear whole or not at all, and never readable by others before they are done:
//! a [`Pending`] file is a private (0600) temporary file beside its target, locked (`flock`)
//! while it is written, then synced, given its final mode, renamed over the target and its
//! directory synced. A process killed half-way leaves the temporary file behind; [`sweep`]
//! (run by `serve` at start) removes such files that no live process holds locked.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Temporary names are `.<name>.<pid>-<n>` followed by this.
const SUFFIX: &str = ".tmp";

/// A file being written; removed when dropped unless [`Pending::publish`]ed.
pub struct Pending {
    file: File,
    tmp: PathBuf,
    target: PathBuf,
    published: bool,
}

impl Pending {
    /// A new private temporary file in the target's directory (which must exist), locked.
    pub fn create(target: &Path) -> io::Result<Pending> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let dir = parent(target);
        let name = target.file_name().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("{} names no file", target.display()))
        })?;
        let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{}.{}-{unique}{SUFFIX}", name.to_string_lossy(), std::process::id()));
        let file = OpenOptions::new().read(true).write(true).create_new(true).mode(0o600).open(&tmp)?;
        let pending = Pending { file, tmp, target: target.to_path_buf(), published: false };
        rustix::fs::flock(&pending.file, rustix::fs::FlockOperation::NonBlockingLockExclusive)?;
        Ok(pending)
    }

    pub fn file(&mut self) -> &mut File {
        &mut self.file
    }

    /// Where the bytes are until published.
    pub fn temporary_path(&self) -> &Path {
        &self.tmp
    }

    /// Syncs the file, gives it `mode`, renames it over the target and syncs the directory,
    /// so that after a crash the target is either the old file or the whole new one.
    pub fn publish(mut self, mode: u32) -> io::Result<()> {
        self.file.sync_all()?;
        self.file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        std::fs::rename(&self.tmp, &self.target)?;
        self.published = true;
        sync_dir(parent(&self.target))
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.published {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

fn parent(path: &Path) -> &Path {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// Makes a directory's entries (a rename, a new file) durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Bytes available to unprivileged writers on the file system of `path`, or of its nearest
/// existing ancestor (the directories of a file result may not exist yet).
pub fn available_bytes(path: &Path) -> io::Result<u64> {
    let mut at = path;
    loop {
        match rustix::fs::statvfs(at) {
            Ok(stat) => return Ok(stat.f_bavail.saturating_mul(stat.f_frsize)),
            Err(rustix::io::Errno::NOENT | rustix::io::Errno::NOTDIR) => match at.parent() {
                Some(up) if !up.as_os_str().is_empty() => at = up,
                _ => return Ok(0),
            },
            Err(e) => return Err(e.into()),
        }
    }
}

/// Whether a file name is one of [`Pending`]'s temporary names (`.<name>.<pid>-<n>.tmp`), so a
/// sweep of a directory shared with other programs removes only ours.
fn is_temporary(name: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let Some(inner) = name.strip_prefix('.').and_then(|n| n.strip_suffix(SUFFIX)) else { return false };
    match inner.rsplit_once('.') {
        Some((target, unique)) => {
            !target.is_empty() && unique.split_once('-').is_some_and(|(pid, n)| digits(pid) && digits(n))
        }
        None => false,
    }
}

/// Removes the temporary files of [`Pending`] below `dir` (recursively; symbolic links are not
/// followed) that no process holds locked, i.e. those a killed writer left; returns how many.
/// A missing `dir` has none.
pub fn sweep(dir: &Path) -> io::Result<usize> {
    sweep_matching(dir, &is_temporary)
}

/// Removes every regular file directly in `dir` that no process holds locked (a scratch
/// directory such as the reference store's `tmp/`); returns how many.
pub fn sweep_all(dir: &Path) -> io::Result<usize> {
    let mut removed = 0;
    for entry in read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_file() && remove_unlocked(&entry.path())? {
            removed += 1;
        }
    }
    Ok(removed)
}

fn sweep_matching(dir: &Path, wanted: &dyn Fn(&str) -> bool) -> io::Result<usize> {
    let mut removed = 0;
    for entry in read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            removed += sweep_matching(&entry.path(), wanted)?;
        } else if kind.is_file() && wanted(&entry.file_name().to_string_lossy()) && remove_unlocked(&entry.path())? {
            removed += 1;
        }
    }
    Ok(removed)
}

fn read_dir(dir: &Path) -> io::Result<Box<dyn Iterator<Item = io::Result<std::fs::DirEntry>>>> {
    match std::fs::read_dir(dir) {
        Ok(entries) => Ok(Box::new(entries)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Box::new(std::iter::empty())),
        Err(e) => Err(e),
    }
}

/// Removes `path` unless another process holds its lock (a writer still at work).
fn remove_unlocked(path: &Path) -> io::Result<bool> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => {}
        Err(rustix::io::Errno::WOULDBLOCK) => return Ok(false),
        Err(e) => return Err(e.into()),
    }
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn pending_files_are_private_until_published() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("node.iso");
        let mut pending = Pending::create(&target).unwrap();
        pending.file().write_all(b"image").unwrap();
        let tmp = pending.temporary_path().to_path_buf();
        assert_eq!(std::fs::metadata(&tmp).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(!target.exists());
        // A sweep while the writer holds the lock leaves it alone.
        assert_eq!(sweep(dir.path()).unwrap(), 0);
        pending.publish(0o640).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"image");
        assert_eq!(std::fs::metadata(&target).unwrap().permissions().mode() & 0o777, 0o640);
        assert!(!tmp.exists());
        // Dropped unpublished: gone.
        let pending = Pending::create(&target).unwrap();
        let tmp = pending.temporary_path().to_path_buf();
        drop(pending);
        assert!(!tmp.exists());
    }

    #[test]
    fn sweep_removes_what_a_killed_writer_left() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let left = [dir.path().join(".a.iso.1-0.tmp"), dir.path().join("sub/.b.usb.2-0.tmp")];
        for p in &left {
            std::fs::write(p, b"partial").unwrap();
        }
        let kept = [
            dir.path().join("a.iso"),
            dir.path().join("notes.tmp"),
            dir.path().join(".hidden"),
            dir.path().join(".editor-swap.tmp"),
            dir.path().join(".a.iso.12-x.tmp"),
        ];
        for p in &kept {
            std::fs::write(p, b"kept").unwrap();
        }
        assert_eq!(sweep(dir.path()).unwrap(), 2);
        assert!(left.iter().all(|p| !p.exists()));
        assert!(kept.iter().all(|p| p.exists()));
        assert_eq!(sweep(&dir.path().join("missing")).unwrap(), 0);
        assert_eq!(sweep_all(dir.path()).unwrap(), kept.len());
    }
}
