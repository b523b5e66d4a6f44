//! What a medium is asked to be: image type, console, extra kernel arguments, variant and node
//! configuration (docs/media.md §1; docs/plc-api.md §9.2 step 4 and step 11, which pass them to
//! build.sh as `-t`, `-s`, `-k`, `-V` and `-f`).
//!
//! Everything here is validated strictly, because it ends up in the bootloader configuration
//! and on the kernel command line: upstream ran it through a shell unquoted.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::MediaError;

/// The image types of build.sh `-t`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageType {
    /// ISO 9660 with El Torito (ISOLINUX).
    Iso,
    /// A FAT "superfloppy" (no partition table) made bootable with SYSLINUX.
    Usb,
    /// An MBR disk with one bootable FAT partition at LBA 2048.
    UsbPartition,
    /// `iso` with the root and the overlay merged into one cramfs `cramfs.img`.
    IsoCramfs,
    /// `usb` with the root and the overlay merged into one cramfs `cramfs.img`.
    UsbCramfs,
}

impl ImageType {
    /// Every type, in the order build.sh documents them.
    pub const ALL: [ImageType; 5] =
        [ImageType::Iso, ImageType::Usb, ImageType::UsbPartition, ImageType::IsoCramfs, ImageType::UsbCramfs];

    /// The types a reference has templates for: all of them (the cramfs types' templates hold
    /// `cramfs.img` in a slot).
    pub const TEMPLATED: [ImageType; 5] = Self::ALL;

    /// The name build.sh uses.
    pub fn as_str(self) -> &'static str {
        match self {
            ImageType::Iso => "iso",
            ImageType::Usb => "usb",
            ImageType::UsbPartition => "usb_partition",
            ImageType::IsoCramfs => "iso_cramfs",
            ImageType::UsbCramfs => "usb_cramfs",
        }
    }

    /// Whether the root and overlay are merged into a cramfs.
    pub fn is_cramfs(self) -> bool {
        matches!(self, ImageType::IsoCramfs | ImageType::UsbCramfs)
    }

    /// The container without cramfs: `iso`, `usb` or `usb_partition`.
    pub fn container(self) -> ImageType {
        match self {
            ImageType::IsoCramfs => ImageType::Iso,
            ImageType::UsbCramfs => ImageType::Usb,
            other => other,
        }
    }

    /// The file name suffix GetBootMedium uses (`.iso` or `.usb`).
    pub fn suffix(self) -> &'static str {
        match self.container() {
            ImageType::Iso => ".iso",
            _ => ".usb",
        }
    }
}

impl fmt::Display for ImageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ImageType {
    type Err = MediaError;
    fn from_str(s: &str) -> Result<Self, MediaError> {
        ImageType::ALL.into_iter().find(|t| t.as_str() == s).ok_or_else(|| MediaError::UnknownImageType(s.to_owned()))
    }
}

/// Parity of a serial console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Parity {
    /// `n`.
    None,
    /// `o`.
    Odd,
    /// `e`.
    Even,
}

impl Parity {
    pub(crate) fn letter(self) -> char {
        match self {
            Parity::None => 'n',
            Parity::Odd => 'o',
            Parity::Even => 'e',
        }
    }
}

/// A serial console `ttyS<port>` (the one the `SERIAL` directive and `console=` name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SerialConsole {
    /// 0–3: COM1–COM4 (SYSLINUX's `SERIAL` takes the port number; larger numbers would be
    /// read as I/O addresses).
    pub port: u8,
    /// Bits per second.
    pub baud: u32,
    /// Parity.
    pub parity: Parity,
    /// Data bits: 7 or 8.
    pub bits: u8,
}

/// Baud rates accepted in a console specification.
const BAUD_RATES: [u32; 11] = [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115_200, 230_400, 460_800, 921_600];

impl SerialConsole {
    /// `ttyS0:115200:n:8`, what build.sh's `-s default` means.
    pub const DEFAULT: SerialConsole = SerialConsole { port: 0, baud: 115_200, parity: Parity::None, bits: 8 };

    /// `console=ttyS0,115200n8`.
    pub fn kernel_arg(&self) -> String {
        format!("console=ttyS{},{}{}{}", self.port, self.baud, self.parity.letter(), self.bits)
    }

    /// `SERIAL 0 115200`, the first line of the bootloader configuration.
    pub fn serial_directive(&self) -> String {
        format!("SERIAL {} {}", self.port, self.baud)
    }

    /// The specification form `ttyS0:115200:n:8`.
    pub fn spec(&self) -> String {
        format!("ttyS{}:{}:{}:{}", self.port, self.baud, self.parity.letter(), self.bits)
    }
}

/// The console of a medium.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Console {
    /// The screen (no `SERIAL` line, no `console=`): build.sh without `-s`.
    #[default]
    Graphic,
    /// A serial console.
    Serial(SerialConsole),
}

impl Console {
    /// Parses build.sh's `-s` argument (GetBootMedium's `serial:<spec>` option or `serial` tag):
    /// `tty:baud:parity:bits` with trailing fields optional (defaults 115200, `n`, 8, as
    /// build.sh), `default` for `ttyS0:115200:n:8`, or `graphic`. The tty must be `ttyS0`–
    /// `ttyS3`, the baud rate a standard one, parity `n`, `o` or `e`, bits 7 or 8; empty
    /// fields, extra fields and anything else are errors.
    pub fn parse(spec: &str) -> Result<Console, MediaError> {
        let invalid = |reason: &str| MediaError::InvalidConsole { spec: spec.to_owned(), reason: reason.to_owned() };
        match spec {
            "graphic" => return Ok(Console::Graphic),
            "default" => return Ok(Console::Serial(SerialConsole::DEFAULT)),
            _ => {}
        }
        let fields: Vec<&str> = spec.split(':').collect();
        if fields.len() > 4 {
            return Err(invalid("expected tty:baud:parity:bits"));
        }
        if fields.iter().any(|f| f.is_empty()) {
            return Err(invalid("empty field (expected tty:baud:parity:bits, e.g. ttyS0:115200:n:8)"));
        }
        let port = fields[0]
            .strip_prefix("ttyS")
            .filter(|n| n.len() == 1)
            .and_then(|n| n.parse::<u8>().ok())
            .filter(|n| *n <= 3)
            .ok_or_else(|| invalid("the tty must be ttyS0, ttyS1, ttyS2 or ttyS3"))?;
        let mut console = SerialConsole { port, ..SerialConsole::DEFAULT };
        if let Some(baud) = fields.get(1) {
            console.baud = baud
                .parse::<u32>()
                .ok()
                .filter(|b| BAUD_RATES.contains(b) && !baud.starts_with('0'))
                .ok_or_else(|| invalid("unsupported baud rate"))?;
        }
        if let Some(parity) = fields.get(2) {
            console.parity = match *parity {
                "n" => Parity::None,
                "o" => Parity::Odd,
                "e" => Parity::Even,
                _ => return Err(invalid("parity must be n, o or e")),
            };
        }
        if let Some(bits) = fields.get(3) {
            console.bits = match *bits {
                "7" => 7,
                "8" => 8,
                _ => return Err(invalid("data bits must be 7 or 8")),
            };
        }
        Ok(Console::Serial(console))
    }

    /// The serial console, if any.
    pub fn serial(&self) -> Option<&SerialConsole> {
        match self {
            Console::Graphic => None,
            Console::Serial(s) => Some(s),
        }
    }
}

impl fmt::Display for Console {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Console::Graphic => f.write_str("graphic"),
            Console::Serial(s) => f.write_str(&s.spec()),
        }
    }
}

/// Longest single kernel argument accepted.
pub const MAX_KARG_LEN: usize = 256;

/// One extra kernel argument (build.sh `-k`), validated: 1–256 printable ASCII characters, no
/// whitespace, no quotes (`"`, `'`, `` ` ``) and no backslash — the bootloader configuration
/// and `kargs.txt` carry it verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KernelArg(String);

impl KernelArg {
    /// Validates one argument.
    pub fn new(karg: &str) -> Result<KernelArg, MediaError> {
        let invalid = |reason| MediaError::InvalidKarg { karg: karg.to_owned(), reason };
        if karg.is_empty() {
            return Err(invalid("empty"));
        }
        if karg.len() > MAX_KARG_LEN {
            return Err(invalid("longer than 256 bytes"));
        }
        if let Some(c) = karg.chars().find(|c| !c.is_ascii_graphic()) {
            return Err(invalid(if c.is_whitespace() {
                "whitespace inside one argument (give each argument separately)"
            } else {
                "only printable ASCII characters are allowed"
            }));
        }
        if karg.contains(['"', '\'', '`', '\\']) {
            return Err(invalid("quotes and backslashes are not allowed"));
        }
        Ok(KernelArg(karg.to_owned()))
    }

    /// The argument text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for KernelArg {
    type Error = MediaError;
    fn try_from(value: String) -> Result<Self, MediaError> {
        KernelArg::new(&value)
    }
}

impl From<KernelArg> for String {
    fn from(value: KernelArg) -> String {
        value.0
    }
}

impl fmt::Display for KernelArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What one medium should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediumRequest {
    /// The image type.
    pub image_type: ImageType,
    /// The console.
    pub console: Console,
    /// Extra kernel arguments, in order, after the fixed ones and before `console=`.
    pub kargs: Vec<KernelArg>,
    /// Another kernel of the reference (build.sh `-V`).
    pub variant: Option<String>,
    /// The node's `plnode.txt`, installed as `/usr/boot/plnode.txt`; `None` for a generic medium.
    pub node_config: Option<String>,
}

impl MediumRequest {
    /// A generic medium: graphic console, no extra arguments, default kernel, no node file —
    /// what the templates carry and what upstream's generic images are.
    pub fn generic(image_type: ImageType) -> Self {
        MediumRequest { image_type, console: Console::Graphic, kargs: Vec::new(), variant: None, node_config: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_specs() {
        assert_eq!(Console::parse("default").unwrap(), Console::Serial(SerialConsole::DEFAULT));
        assert_eq!(Console::parse("graphic").unwrap(), Console::Graphic);
        let c = Console::parse("ttyS1:38400:e:7").unwrap();
        let s = c.serial().unwrap();
        assert_eq!(s.kernel_arg(), "console=ttyS1,38400e7");
        assert_eq!(s.serial_directive(), "SERIAL 1 38400");
        assert_eq!(c.to_string(), "ttyS1:38400:e:7");
        assert_eq!(Console::parse("ttyS2").unwrap().serial().unwrap().kernel_arg(), "console=ttyS2,115200n8");
        assert_eq!(Console::parse("ttyS0:9600").unwrap().serial().unwrap().kernel_arg(), "console=ttyS0,9600n8");
        for bad in [
            "",
            "ttyS",
            "ttyS4",
            "ttyS01",
            "tty0",
            "ttyUSB0",
            "ttyS0:115201",
            "ttyS0:0115200",
            "ttyS0::n:8",
            "ttyS0:115200:x:8",
            "ttyS0:115200:N:8",
            "ttyS0:115200:n:9",
            "ttyS0:115200:n:8:1",
            "ttyS0;touch /tmp/x",
            "ttyS0:115200 ",
            "Default",
        ] {
            let err = Console::parse(bad).unwrap_err();
            assert!(err.is_invalid_request(), "{bad:?}");
            assert!(matches!(err, MediaError::InvalidConsole { .. }), "{bad:?}: {err}");
        }
    }

    #[test]
    fn kernel_args() {
        for good in ["hcheck_reboot0", "systemd.log_level=debug", "a=b,c:d/e+f@g%h", "x"] {
            assert_eq!(KernelArg::new(good).unwrap().as_str(), good);
        }
        let long = "a".repeat(MAX_KARG_LEN + 1);
        for bad in ["", "a b", "a\tb", "a\nb", "\"quoted\"", "it's", "a`b`", "back\\slash", "é", "\u{7f}", &long] {
            let err = KernelArg::new(bad).unwrap_err();
            assert!(err.is_invalid_request(), "{bad:?}");
        }
        assert!(KernelArg::new(&"a".repeat(MAX_KARG_LEN)).is_ok());
    }

    #[test]
    fn image_types() {
        for t in ImageType::ALL {
            assert_eq!(t.as_str().parse::<ImageType>().unwrap(), t);
        }
        assert!("usb_partition_cramfs".parse::<ImageType>().is_err());
        assert_eq!(ImageType::UsbCramfs.container(), ImageType::Usb);
        assert_eq!(ImageType::UsbPartition.suffix(), ".usb");
        assert_eq!(ImageType::IsoCramfs.suffix(), ".iso");
    }
}
