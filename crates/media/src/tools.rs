//! The one external program of the media layer: Debian's `syslinux` (package `syslinux`, which
//! drives mtools), run once per FAT template at import to make it bootable (MEDIA.md §2 step 1;
//! SYSLINUX `doc/syslinux.txt`: `--install`, `--offset`). Never on the per-node path.
//!
//! It runs with `SOURCE_DATE_EPOCH` set to the reference's timestamp and `TZ=UTC`, so the
//! directory entries mtools writes for `ldlinux.sys` and `ldlinux.c32` carry the inputs' time
//! and the template is reproducible.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::MediaError;

/// Finds `program` on PATH or in the usual system directories.
fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/bin", "/bin", "/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

fn require(program: &str, package: &'static str) -> Result<PathBuf, MediaError> {
    find_program(program).ok_or_else(|| MediaError::MissingTool { tool: program.to_owned(), package })
}

/// Checks that syslinux and mtools are installed and returns `syslinux --version`.
pub(crate) fn syslinux_version() -> Result<String, MediaError> {
    require("mcopy", "mtools")?;
    let syslinux = require("syslinux", "syslinux")?;
    let output =
        Command::new(&syslinux).arg("--version").stdin(Stdio::null()).output().map_err(|e| MediaError::ToolFailed {
            command: "syslinux --version".to_owned(),
            status: e.to_string(),
            stderr: String::new(),
        })?;
    let text = [output.stdout, output.stderr].concat();
    let text = String::from_utf8_lossy(&text);
    Ok(text.lines().next().unwrap_or_default().split("  ").next().unwrap_or_default().trim().to_owned())
}

/// `syslinux --install [--offset BYTES] IMAGE`.
pub(crate) fn install_syslinux(image: &Path, offset: u64, timestamp: i64) -> Result<(), MediaError> {
    let syslinux = require("syslinux", "syslinux")?;
    let mut command = Command::new(&syslinux);
    command.arg("--install");
    if offset > 0 {
        command.arg("--offset").arg(offset.to_string());
    }
    command
        .arg(image)
        .env("SOURCE_DATE_EPOCH", timestamp.to_string())
        .env("TZ", "UTC")
        .env("MTOOLS_SKIP_CHECK", "1")
        .stdin(Stdio::null());
    let shown = format!(
        "syslinux --install{} {}",
        if offset > 0 { format!(" --offset {offset}") } else { String::new() },
        image.display()
    );
    let output = command.output().map_err(|e| MediaError::ToolFailed {
        command: shown.clone(),
        status: e.to_string(),
        stderr: String::new(),
    })?;
    if !output.status.success() {
        return Err(MediaError::ToolFailed {
            command: shown,
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    Ok(())
}
