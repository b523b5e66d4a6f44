//! The one error type of the media layer.

use std::io;

use bootmedium_formats::cpio::CpioError;
use bootmedium_formats::cramfs::CramfsError;
use bootmedium_formats::fat::FatError;
use bootmedium_formats::iso9660::IsoError;
use bootmedium_formats::mbr::MbrError;

/// Why a reference could not be imported, a medium not be made, or an image not be read.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// A file operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, naming the file.
        context: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A console specification is malformed (the API answers fault 102).
    #[error("invalid console {spec:?}: {reason}")]
    InvalidConsole {
        /// The specification as given.
        spec: String,
        /// The rule it breaks.
        reason: String,
    },
    /// A kernel argument is malformed.
    #[error("invalid kernel argument {karg:?}: {reason}")]
    InvalidKarg {
        /// The argument as given.
        karg: String,
        /// The rule it breaks.
        reason: &'static str,
    },
    /// The kernel command line would be longer than x86 Linux keeps.
    #[error("the kernel command line would be {len} bytes; at most {max} are allowed")]
    CommandLineTooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// An image type name is unknown.
    #[error("unknown image type {0:?}: expected iso, usb, usb_partition, iso_cramfs or usb_cramfs")]
    UnknownImageType(String),
    /// A family, version or variant name is not acceptable.
    #[error("invalid {what} {value:?}: {reason}")]
    InvalidName {
        /// Which kind of name.
        what: &'static str,
        /// The name.
        value: String,
        /// The rule it breaks.
        reason: &'static str,
    },
    /// A PLC boot setting is unusable.
    #[error("boot setting {setting}: {reason}")]
    InvalidSetting {
        /// The setting's name in `bootmedium.toml`.
        setting: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// No reference of that family (and version) is imported.
    #[error("no reference BootCD {family}{} is imported", version.as_deref().map(|v| format!(" version {v}")).unwrap_or_default())]
    NotFound {
        /// The family asked for.
        family: String,
        /// The version asked for, if any.
        version: Option<String>,
    },
    /// The reference has no such variant.
    #[error("reference {family} {version} has no variant {variant:?} (variants: {})", if available.is_empty() { "none".to_owned() } else { available.join(", ") })]
    UnknownVariant {
        /// Family.
        family: String,
        /// Version.
        version: String,
        /// The variant asked for.
        variant: String,
        /// The variants it has.
        available: Vec<String>,
    },
    /// The reference is already imported.
    #[error("reference {family} {version} is already imported; remove it first")]
    AlreadyExists {
        /// Family.
        family: String,
        /// Version.
        version: String,
    },
    /// A rendered file does not fit its slot in the template.
    #[error("the {slot} is {content_len} bytes but its slot in the template holds {slot_size} bytes")]
    SlotOverflow {
        /// Which slot.
        slot: &'static str,
        /// Bytes rendered.
        content_len: u64,
        /// Bytes reserved.
        slot_size: u64,
    },
    /// An external program needed at import is missing.
    #[error("`{tool}` is not installed: install the Debian package `{package}`")]
    MissingTool {
        /// The program.
        tool: String,
        /// The Debian package providing it.
        package: &'static str,
    },
    /// A bootloader file needed at import is missing.
    #[error("{path}: {reason}; install the Debian package `{package}` or give the file with --{flag}")]
    MissingInput {
        /// The file.
        path: String,
        /// The OS error text.
        reason: String,
        /// The Debian package providing the default file.
        package: &'static str,
        /// The CLI flag naming another file.
        flag: &'static str,
    },
    /// An external program failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    ToolFailed {
        /// The command line.
        command: String,
        /// Its exit status.
        status: String,
        /// Its standard error.
        stderr: String,
    },
    /// The reference's initrd cannot be used.
    #[error("bootcd.img: {0}")]
    Initrd(String),
    /// The reference store is inconsistent (a template changed or vanished).
    #[error("reference store: {0}")]
    Corrupt(String),
    /// The combination asked for is not supported.
    #[error("{0}")]
    Unsupported(String),
    /// A file is not an image `inspect` understands.
    #[error("{path}: {reason}")]
    NotAnImage {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The manifest cannot be read or written.
    #[error("manifest {path}: {source}")]
    Manifest {
        /// The manifest file.
        path: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// The ISO writer or reader failed.
    #[error(transparent)]
    Iso(#[from] IsoError),
    /// The FAT writer or reader failed.
    #[error(transparent)]
    Fat(#[from] FatError),
    /// The cpio writer or reader failed.
    #[error(transparent)]
    Cpio(#[from] CpioError),
    /// The MBR could not be encoded or decoded.
    #[error(transparent)]
    Mbr(#[from] MbrError),
    /// The cramfs writer failed.
    #[error(transparent)]
    Cramfs(#[from] CramfsError),
}

impl MediaError {
    /// True for errors caused by what the caller asked for (a malformed console, kernel
    /// argument, image type or variant, or a node file too large for its slot): the API answers
    /// them with fault 102, the others with fault 111.
    pub fn is_invalid_request(&self) -> bool {
        matches!(
            self,
            MediaError::InvalidConsole { .. }
                | MediaError::InvalidKarg { .. }
                | MediaError::CommandLineTooLong { .. }
                | MediaError::UnknownImageType(_)
                | MediaError::UnknownVariant { .. }
                | MediaError::SlotOverflow { .. }
                | MediaError::Unsupported(_)
        )
    }
}

/// Wraps an I/O error with what was being done.
pub(crate) fn io_error(context: impl Into<String>) -> impl FnOnce(io::Error) -> MediaError {
    let context = context.into();
    move |source| MediaError::Io { context, source }
}
