//! The external programs of the media layer, never on the per-node path: Debian's `syslinux`
//! (package `syslinux`, which drives mtools), run once per FAT template at import to make it
//! bootable (docs/media.md §2 step 1; SYSLINUX `doc/syslinux.txt`: `--install`, `--offset`), and
//! `grub-mkimage`, run once per import to make the standalone UEFI loader (docs/uefi.md).
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
    run(&mut command, shown)
}

/// Runs `command` (shown in errors as `shown`); a failure to start it or an unsuccessful exit is
/// [`MediaError::ToolFailed`] with its standard error.
fn run(command: &mut Command, shown: String) -> Result<(), MediaError> {
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

/// GRUB's x86_64-efi modules in Debian (package grub-efi-amd64-bin).
const GRUB_EFI_MODULES: &str = "/usr/lib/grub/x86_64-efi";
/// The modules built in (docs/uefi.md): enough to find the ISO by its marker file, read ISO 9660 and FAT,
/// talk to a serial console and boot Linux with two initrds.
const GRUB_MODULES: &str = "linux normal configfile search search_fs_file iso9660 fat part_gpt part_msdos serial \
                            terminal echo test gzio all_video efi_gop efi_uga";

/// The early configuration embedded in `BOOTX64.EFI`: find the medium by its marker file and
/// make its `boot/grub` the prefix, whose `grub.cfg` (the per-node slot in the ISO 9660 tree)
/// normal mode then reads; so the ESP is the same for every node.
pub(crate) fn grub_embedded_config(marker: &str, prefix: &str) -> String {
    format!("search --no-floppy --set=root --file {marker}\nset prefix=($root){prefix}\n")
}

/// Makes the UEFI GRUB at `out`, once per import: `grub-mkimage -O x86_64-efi` (packages
/// grub-common and grub-efi-amd64-bin) with the modules built in and `embedded` as the early
/// configuration. Not `grub-mkstandalone`: it puts its configuration in a memdisk tar whose
/// directories carry the time of the run (it ignores `SOURCE_DATE_EPOCH`), so two runs a second
/// apart differ; `grub-mkimage` gives the same bytes every time (the tests check it), and the
/// result is stored with the reference's inputs anyway, so `build_full` never runs it again.
pub(crate) fn make_grub_efi(work: &Path, out: &Path, embedded: &str, prefix: &str) -> Result<(), MediaError> {
    let program = require("grub-mkimage", "grub-efi-amd64-bin")?;
    if !Path::new(GRUB_EFI_MODULES).join("linux.mod").is_file() {
        return Err(MediaError::MissingTool {
            tool: format!("{GRUB_EFI_MODULES} (GRUB's x86_64-efi modules)"),
            package: "grub-efi-amd64-bin",
        });
    }
    let config = work.join("grub-early.cfg");
    std::fs::write(&config, embedded)
        .map_err(|e| MediaError::Io { context: format!("writing {}", config.display()), source: e })?;
    let mut command = Command::new(&program);
    command
        .args(["-O", "x86_64-efi", "-d", GRUB_EFI_MODULES, "-p", prefix, "-c"])
        .arg(&config)
        .arg("-o")
        .arg(out)
        .args(GRUB_MODULES.split_whitespace())
        .env("TZ", "UTC")
        .stdin(Stdio::null());
    let shown = format!("grub-mkimage -O x86_64-efi -o {}", out.display());
    let result = run(&mut command, shown);
    let _ = std::fs::remove_file(&config);
    result
}
