//! GetBootMedium's file results (PLC_SPEC §9.2 step 7): filename markers, confinement of
//! non-admin paths to the results directory, the 5-minute grace for an existing result, and
//! atomic creation (a temporary file in the same directory, then a rename) — no shell anywhere.

use crate::fault::{Fault, MethodResult};
use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
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

/// Resolves an expanded filename: relative names are taken inside the results directory. For
/// non-admins the path must stay inside it — no `..`, no symbolic link below it — or the
/// call is refused with fault 102.
pub fn resolve(expanded: &str, results_dir: &Path, admin: bool) -> MethodResult<PathBuf> {
    let outside = || Fault::invalid(format!("File {expanded} not under {}", results_dir.display()));
    let path = Path::new(expanded);
    let path = if path.is_absolute() { path.to_path_buf() } else { results_dir.join(path) };
    if path.file_name().is_none() || expanded.ends_with('/') {
        return Err(Fault::invalid(format!("File {expanded} does not name a file")));
    }
    if admin {
        return Ok(path);
    }
    if path.components().any(|c| matches!(c, Component::ParentDir | Component::CurDir)) {
        return Err(outside());
    }
    let rest = path.strip_prefix(results_dir).map_err(|_| outside())?;
    let mut at = results_dir.to_path_buf();
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

/// Writes `contents` to `path` atomically with mode 0640: a temporary file beside it, synced,
/// then renamed over it.
pub fn write_atomically(path: &Path, contents: &[u8]) -> MethodResult<()> {
    let denied = |e: std::io::Error| Fault::denied(format!("Could not write into {}: {e}", path.display()));
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut suffix = [0u8; 8];
    crate::crypto::random_bytes(&mut suffix).map_err(|e| Fault::internal(e.to_string()))?;
    let tmp = dir.join(format!(".{name}.{}.tmp", suffix.iter().map(|b| format!("{b:02x}")).collect::<String>()));
    let result = (|| {
        let mut f = fs::OpenOptions::new().write(true).create_new(true).mode(0o640).open(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(denied(e));
    }
    Ok(())
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
        assert!(resolve(&format!("{}/a/b.txt", dir.display()), dir, false).is_ok());
        assert_eq!(resolve("b.txt", dir, false).unwrap(), dir.join("b.txt"));
        for bad in [
            format!("{}/../x", dir.display()),
            "/etc/passwd".to_string(),
            "../x".to_string(),
            format!("{}/a/../../b", dir.display()),
        ] {
            let e = resolve(&bad, dir, false).unwrap_err();
            assert_eq!(e.code, 102, "{bad}");
        }
        std::os::unix::fs::symlink("/tmp", dir.join("link")).unwrap();
        assert!(resolve(&format!("{}/link/x", dir.display()), dir, false).is_err());
        assert!(resolve("/etc/x", dir, true).is_ok());
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
