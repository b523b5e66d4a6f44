//! GetBootMedium's file results (docs/plc-api.md §9.2 step 7): filename markers, confinement to the
//! results directory (admins too, unlike upstream; `[medium] admin_result_dirs` may widen it for
//! admins), the per-caller quota and free-space floor checked before anything is written, the
//! 5-minute grace for an existing result, and atomic, private-until-complete, synced creation
//! (`bootmedium_media::files::Pending`) — no shell anywhere.

use crate::config::MediumSettings;
use crate::fault::{Fault, MethodResult};
use bootmedium_media::files::{Pending, available_bytes};
use bootmedium_registry::{Tx, ops};
use std::fs;
use std::io::Write;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How long an existing result is protected from being replaced.
pub const GRACE: Duration = Duration::from_secs(300);

/// Values of the filename markers.
pub struct Markers<'a> {
    /// `%d`: the results directory.
    pub results_dir: &'a Path,
    /// `%n`: the node's hostname (or the generic image name).
    pub nodename: &'a str,
    /// `%s`: `.txt`, `.iso` or `.usb`.
    pub suffix: &'a str,
    /// `%v`: the boot CD version, when one is known (else `%v` stays as it is, as upstream).
    pub version: Option<&'a str>,
    /// `%p`: PLC_NAME.
    pub plc_name: &'a str,
    /// `%f`: the node family, or for an image the family of the reference it comes from
    /// (which a node type may set).
    pub family: &'a str,
    /// `%a`: the architecture.
    pub arch: &'a str,
}

/// Replaces each marker once, in one pass: text a marker expands to is never scanned again.
pub fn expand(filename: &str, m: &Markers<'_>) -> String {
    let mut out = String::with_capacity(filename.len() + 64);
    let mut chars = filename.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let value = match chars.peek() {
            Some('d') => Some(m.results_dir.to_string_lossy().into_owned()),
            Some('n') => Some(m.nodename.to_string()),
            Some('s') => Some(m.suffix.to_string()),
            Some('v') => m.version.map(str::to_string),
            Some('p') => Some(m.plc_name.to_string()),
            Some('f') => Some(m.family.to_string()),
            Some('a') => Some(m.arch.to_string()),
            _ => None,
        };
        match value {
            Some(v) => {
                chars.next();
                out.push_str(&v);
            }
            None => out.push('%'),
        }
    }
    out
}

/// Where a caller's file results may go.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// The command line's operator, who already holds the data directory: anywhere.
    Anywhere,
    /// Inside the results directory or one of these directories (an admin's
    /// `admin_result_dirs`; empty for everyone else).
    Within(&'a [PathBuf]),
}

/// Resolves an expanded filename: relative names are taken inside the results directory. The
/// path must stay inside the results directory (or a directory `scope` adds) — no `..`, no
/// symbolic link at or below that directory — or the call is refused with fault 102.
pub fn resolve(expanded: &str, results_dir: &Path, scope: Scope<'_>) -> MethodResult<PathBuf> {
    let outside = || Fault::invalid(format!("File {expanded} not under {}", results_dir.display()));
    let path = Path::new(expanded);
    let path = if path.is_absolute() { path.to_path_buf() } else { results_dir.join(path) };
    if path.file_name().is_none() || expanded.ends_with('/') {
        return Err(Fault::invalid(format!("File {expanded} does not name a file")));
    }
    let extra = match scope {
        Scope::Anywhere => return Ok(path),
        Scope::Within(extra) => extra,
    };
    let root = std::iter::once(results_dir)
        .chain(extra.iter().map(PathBuf::as_path))
        .find(|root| path.starts_with(root))
        .ok_or_else(outside)?;
    let rest = path.strip_prefix(root).map_err(|_| outside())?;
    if rest.as_os_str().is_empty() || rest.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(outside());
    }
    let mut at = root.to_path_buf();
    for part in rest.components() {
        at.push(part);
        match fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => return Err(outside()),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    Ok(path)
}

/// A caller's result files that still exist (a file about to be replaced excepted), and the rows
/// of those removed (or replaced by something else) since.
struct Usage {
    files: u64,
    bytes: u64,
    gone: Vec<String>,
}

async fn usage(tx: &mut Tx, owner: &str, except: &Path) -> MethodResult<Usage> {
    let paths = ops::results::paths_of(tx, owner).await?;
    let mut usage = Usage { files: 0, bytes: 0, gone: Vec::new() };
    for written in paths {
        match fs::symlink_metadata(&written) {
            Ok(meta) if meta.is_file() => {
                if Path::new(&written) != except {
                    usage.files += 1;
                    usage.bytes = usage.bytes.saturating_add(meta.len());
                }
            }
            _ => usage.gone.push(written),
        }
    }
    Ok(usage)
}

/// Fault 108 when `size` more bytes in one more file take `owner` over its quota.
fn within_quota(limits: &MediumSettings, owner: &str, usage: &Usage, size: u64) -> MethodResult<()> {
    let over_files = limits.result_quota_files > 0 && usage.files + 1 > limits.result_quota_files;
    let over_bytes = limits.result_quota_bytes > 0 && usage.bytes.saturating_add(size) > limits.result_quota_bytes;
    if over_files || over_bytes {
        return Err(Fault::denied(format!(
            "this file result ({size} bytes) would exceed the quota of {owner}: {} files of {} bytes \
             already ({} files and {} bytes allowed); remove earlier results first",
            usage.files, usage.bytes, limits.result_quota_files, limits.result_quota_bytes
        )));
    }
    Ok(())
}

fn has_quota(limits: &MediumSettings) -> bool {
    limits.result_quota_bytes > 0 || limits.result_quota_files > 0
}

/// Refuses, before anything is written, a file result of `size` bytes at `path` that would
/// take `owner` (a caller's label) over its quota — counted over the result files it wrote
/// that still exist, a file about to be replaced excepted (fault 108) — or leave less than the
/// floor free on the file system that gets it (fault 111: the operator must make room). Only
/// reads: it runs before the call's write transaction ([`record`] checks the quota again there).
pub async fn admit(tx: &mut Tx, limits: &MediumSettings, owner: &str, path: &Path, size: u64) -> MethodResult<()> {
    if has_quota(limits) {
        within_quota(limits, owner, &usage(tx, owner, path).await?, size)?;
    }
    if limits.result_min_free_bytes > 0 {
        let dir = path.parent().unwrap_or(path);
        let free = available_bytes(dir)
            .map_err(|e| Fault::internal(format!("cannot tell the free space of {}: {e}", dir.display())))?;
        if free < size.saturating_add(limits.result_min_free_bytes) {
            return Err(Fault::internal(format!(
                "not enough free disk space for this file result ({size} bytes): {free} bytes are free \
                 and {} must stay free",
                limits.result_min_free_bytes
            )));
        }
    }
    Ok(())
}

/// Records that `owner` wrote `size` bytes at `path`, in the call's write transaction (so a call
/// that does not commit, whose file is removed again, leaves no row). The quota is checked again
/// here, where concurrent results of the same caller are serialised, and rows of files removed
/// since are dropped.
pub async fn record(tx: &mut Tx, limits: &MediumSettings, owner: &str, path: &Path, size: u64) -> MethodResult<()> {
    if has_quota(limits) {
        let usage = usage(tx, owner, path).await?;
        for gone in &usage.gone {
            ops::results::forget(tx, gone).await?;
        }
        within_quota(limits, owner, &usage, size)?;
    }
    let size = i64::try_from(size).unwrap_or(i64::MAX);
    ops::results::record(tx, &path.to_string_lossy(), owner, size, crate::now()).await?;
    Ok(())
}

/// Refuses to replace a result younger than [`GRACE`]; an older one will be replaced.
pub fn check_existing(path: &Path) -> MethodResult<()> {
    let Ok(meta) = fs::symlink_metadata(path) else { return Ok(()) };
    if meta.is_dir() {
        return Err(Fault::invalid(format!("File {} is a directory", path.display())));
    }
    let age = meta.modified().ok().and_then(|m| SystemTime::now().duration_since(m).ok()).unwrap_or_default();
    if age < GRACE {
        return Err(Fault::invalid(format!(
            "Resulting file {} already exists - please try again in 5 minutes",
            path.display()
        )));
    }
    Ok(())
}

/// Creates the missing parent directories (mode 0750).
pub fn create_parents(path: &Path) -> MethodResult<()> {
    let Some(dir) = path.parent() else { return Ok(()) };
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o750)
        .create(dir)
        .map_err(|e| Fault::denied(format!("Could not create dir {}: {e}", dir.display())))
}

/// Writes `contents` to `path` atomically with mode 0640: a private temporary file beside it,
/// synced, then renamed over it and the directory synced.
pub fn write_atomically(path: &Path, contents: &[u8]) -> MethodResult<()> {
    let denied = |e: std::io::Error| Fault::denied(format!("Could not write into {}: {e}", path.display()));
    let mut pending = Pending::create(path).map_err(denied)?;
    pending.file().write_all(contents).map_err(denied)?;
    pending.publish(0o640).map_err(denied)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn markers(dir: &Path) -> Markers<'_> {
        Markers {
            results_dir: dir,
            nodename: "n1.example.org",
            suffix: ".txt",
            version: None,
            plc_name: "Test %d Lab",
            family: "lxc-f22-x86_64",
            arch: "x86_64",
        }
    }

    #[test]
    fn markers_expand_once() {
        let d = Path::new("/r");
        assert_eq!(expand("%d/%n-%a-%v%s", &markers(d)), "/r/n1.example.org-x86_64-%v.txt");
        // The PLC name contains a marker: it is not expanded again.
        assert_eq!(expand("%p-%f%%x", &markers(d)), "Test %d Lab-lxc-f22-x86_64%%x");
    }

    #[test]
    fn confinement() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let within = Scope::Within(&[]);
        assert!(resolve(&format!("{}/a/b.txt", dir.display()), dir, within).is_ok());
        assert_eq!(resolve("b.txt", dir, within).unwrap(), dir.join("b.txt"));
        for bad in [
            format!("{}/../x", dir.display()),
            "/etc/passwd".to_string(),
            "../x".to_string(),
            format!("{}/a/../../b", dir.display()),
        ] {
            let e = resolve(&bad, dir, within).unwrap_err();
            assert_eq!(e.code, 102, "{bad}");
        }
        std::os::unix::fs::symlink("/tmp", dir.join("link")).unwrap();
        assert!(resolve(&format!("{}/link/x", dir.display()), dir, within).is_err());
        assert!(resolve("/etc/x", dir, within).is_err());
        assert!(resolve("/etc/x", dir, Scope::Within(&[PathBuf::from("/etc")])).is_ok());
        assert!(resolve("/etcetera/x", dir, Scope::Within(&[PathBuf::from("/etc")])).is_err());
        assert!(resolve("/etc/x", dir, Scope::Anywhere).is_ok());
    }

    #[test]
    fn atomic_write_and_grace() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("sub/dir/f.txt");
        create_parents(&p).unwrap();
        write_atomically(&p, b"hello").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"hello");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o640);
        assert_eq!(fs::metadata(p.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o750);
        let e = check_existing(&p).unwrap_err();
        assert!(e.message.contains("already exists - please try again in 5 minutes"));
        let old = SystemTime::now() - Duration::from_secs(600);
        fs::File::options().write(true).open(&p).unwrap().set_modified(old).unwrap();
        assert!(check_existing(&p).is_ok());
        assert_eq!(fs::read_dir(p.parent().unwrap()).unwrap().count(), 1, "no temporary file left");
    }
}
