//! The ISOLINUX/SYSLINUX configuration (`isolinux.cfg` on an ISO, `syslinux.cfg` on FAT) and the
//! kernel command line, as bootcd's build.sh writes them (docs/media.md §1; SYSLINUX's
//! `doc/syslinux.txt` for the directives): an optional `SERIAL <port> <baud>` first line, then
//! `PROMPT 0`, one `DEFAULT` label whose `LINUX kernel` line boots with
//! `APPEND ramdisk_size=<KiB> initrd=<initrds> root=/dev/ram0 rw <kernel arguments>`.
//! The kernel arguments are `biosdevname=0 net.ifnames=0 selinux=0`, the extra ones in order,
//! then `console=` for a serial console.
//!
//! The reader ([`parse`]) is the part `inspect` needs: it finds the `SERIAL` line and the
//! default label's kernel and `APPEND` line in configurations we or build.sh wrote.

use crate::error::MediaError;
use crate::request::{Console, KernelArg};

/// The label build.sh uses.
pub(crate) const LABEL: &str = "planetlab-bootcd";
/// The arguments every medium boots with (build.sh, after `-k` and `console=`).
pub(crate) const FIXED_KARGS: [&str; 3] = ["biosdevname=0", "net.ifnames=0", "selinux=0"];
/// x86 Linux keeps 2047 bytes of command line; SYSLINUX prepends `BOOT_IMAGE=kernel `.
pub(crate) const MAX_APPEND_LEN: usize = 2000;

/// The kernel arguments after `rw` (also written to the overlay's `kargs.txt`).
pub(crate) fn kernel_args(console: &Console, extra: &[KernelArg]) -> Vec<String> {
    let mut args: Vec<String> = FIXED_KARGS.iter().map(|s| (*s).to_owned()).collect();
    args.extend(extra.iter().map(|k| k.as_str().to_owned()));
    if let Some(serial) = console.serial() {
        args.push(serial.kernel_arg());
    }
    args
}

/// Renders the configuration; `initrds` is `bootcd.img,overlay.img` or `cramfs.img`.
pub(crate) fn render(
    console: &Console,
    ramdisk_size_kib: u64,
    initrds: &str,
    kargs: &[String],
) -> Result<String, MediaError> {
    let append = format!("ramdisk_size={ramdisk_size_kib} initrd={initrds} root=/dev/ram0 rw {}", kargs.join(" "));
    if append.len() > MAX_APPEND_LEN {
        return Err(MediaError::CommandLineTooLong { len: append.len(), max: MAX_APPEND_LEN });
    }
    let serial = console.serial().map(|s| format!("{}\n", s.serial_directive())).unwrap_or_default();
    Ok(format!("{serial}PROMPT 0\nDEFAULT {LABEL}\n\nLABEL {LABEL}\n  LINUX kernel\n  APPEND {append}\n"))
}

/// GRUB's `serial` parity words.
fn grub_parity(letter: char) -> &'static str {
    match letter {
        'o' => "odd",
        'e' => "even",
        _ => "no",
    }
}

/// A word of a GRUB command line: kernel arguments hold no whitespace, quotes or backslashes
/// (`KernelArg`), so single quotes keep GRUB from expanding `$`, `;` or `#` in them.
fn grub_word(word: &str) -> String {
    if word.chars().all(|c| c.is_ascii_alphanumeric() || "=._,:/+-@%".contains(c)) {
        word.to_owned()
    } else {
        format!("'{word}'")
    }
}

/// Renders `boot/grub/grub.cfg` for the UEFI loader (docs/uefi.md) from the same console, initrds
/// and kernel arguments as [`render`]: `serial --unit=N --speed=B` and serial terminals for a
/// serial console, `timeout=0`, one entry booting `/kernel` with `/bootcd.img /overlay.img` (or
/// `/cramfs.img`). The kernel command line is the APPEND line without `initrd=` (GRUB loads the
/// initrds itself). GRUB reads the file from the medium's file system (ISO 9660 or FAT); its `#`
/// padding is a comment.
pub(crate) fn render_grub(
    console: &Console,
    ramdisk_size_kib: u64,
    initrds: &str,
    kargs: &[String],
) -> Result<String, MediaError> {
    let mut words = vec![format!("ramdisk_size={ramdisk_size_kib}"), "root=/dev/ram0".to_owned(), "rw".to_owned()];
    words.extend(kargs.iter().cloned());
    let command_line = words.iter().map(|w| grub_word(w)).collect::<Vec<_>>().join(" ");
    if command_line.len() > MAX_APPEND_LEN {
        return Err(MediaError::CommandLineTooLong { len: command_line.len(), max: MAX_APPEND_LEN });
    }
    let mut text = String::new();
    if let Some(serial) = console.serial() {
        let parity = grub_parity(serial.parity.letter());
        text.push_str(&format!(
            "serial --unit={} --speed={} --parity={parity} --word={}\nterminal_input serial console\nterminal_output \
             serial console\n",
            serial.port, serial.baud, serial.bits
        ));
    }
    let initrds: Vec<String> = initrds.split(',').map(|i| format!("/{i}")).collect();
    text.push_str(&format!(
        "set timeout=0\nset default=0\n\nmenuentry '{LABEL}' {{\n  linux /kernel {command_line}\n  initrd {}\n}}\n",
        initrds.join(" ")
    ));
    Ok(text)
}

/// What [`parse`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ParsedConfig {
    /// `SERIAL` port and baud rate.
    pub serial: Option<(String, Option<String>)>,
    /// The kernel of the default label (`LINUX` or `KERNEL`).
    pub kernel: Option<String>,
    /// The default label's `APPEND` text.
    pub append: Option<String>,
}

/// Reads a configuration written by us or by build.sh (keywords are case-insensitive; the
/// default label's lines win, else the first label's).
pub(crate) fn parse(text: &str) -> ParsedConfig {
    let mut parsed = ParsedConfig::default();
    let mut default_label = None;
    let mut labels: Vec<(String, Option<String>, Option<String>)> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        let (keyword, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let rest = rest.trim();
        match keyword.to_ascii_uppercase().as_str() {
            "SERIAL" => {
                let mut fields = rest.split_whitespace();
                if let Some(port) = fields.next() {
                    parsed.serial = Some((port.to_owned(), fields.next().map(str::to_owned)));
                }
            }
            "DEFAULT" => default_label = Some(rest.to_owned()),
            "LABEL" => labels.push((rest.to_owned(), None, None)),
            "LINUX" | "KERNEL" => {
                if let Some(label) = labels.last_mut() {
                    label.1 = Some(rest.to_owned());
                }
            }
            "APPEND" => {
                if let Some(label) = labels.last_mut() {
                    label.2 = Some(rest.to_owned());
                }
            }
            _ => {}
        }
    }
    let chosen =
        labels.iter().find(|(name, _, _)| Some(name) == default_label.as_ref()).or_else(|| labels.first()).cloned();
    if let Some((_, kernel, append)) = chosen {
        parsed.kernel = kernel;
        parsed.append = append;
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::SerialConsole;

    #[test]
    fn renders_build_sh_configuration() {
        let console = Console::Serial(SerialConsole::DEFAULT);
        let extra = [KernelArg::new("hcheck_reboot0").unwrap()];
        let args = kernel_args(&console, &extra);
        let text = render(&console, 12345, "bootcd.img,overlay.img", &args).unwrap();
        assert_eq!(
            text,
            "SERIAL 0 115200\nPROMPT 0\nDEFAULT planetlab-bootcd\n\nLABEL planetlab-bootcd\n  LINUX kernel\n  APPEND \
             ramdisk_size=12345 initrd=bootcd.img,overlay.img root=/dev/ram0 rw biosdevname=0 net.ifnames=0 \
             selinux=0 hcheck_reboot0 console=ttyS0,115200n8\n"
        );
        let parsed = parse(&text);
        assert_eq!(parsed.serial, Some(("0".to_owned(), Some("115200".to_owned()))));
        assert_eq!(parsed.kernel.as_deref(), Some("kernel"));
        assert!(parsed.append.unwrap().ends_with("hcheck_reboot0 console=ttyS0,115200n8"));

        let graphic = render(&Console::Graphic, 1, "cramfs.img", &kernel_args(&Console::Graphic, &[])).unwrap();
        assert!(graphic.starts_with("PROMPT 0\n"), "{graphic}");
        assert!(!graphic.contains("console="));
    }

    #[test]
    fn grub_configuration_matches_the_isolinux_one() {
        let console = Console::parse("ttyS1:38400:e:7").unwrap();
        let extra = [KernelArg::new("hcheck_reboot0").unwrap(), KernelArg::new("a=$x;y#z").unwrap()];
        let args = kernel_args(&console, &extra);
        let text = render_grub(&console, 12345, "bootcd.img,overlay.img", &args).unwrap();
        assert_eq!(
            text,
            "serial --unit=1 --speed=38400 --parity=even --word=7\nterminal_input serial console\nterminal_output \
             serial console\nset timeout=0\nset default=0\n\nmenuentry 'planetlab-bootcd' {\n  linux /kernel \
             ramdisk_size=12345 root=/dev/ram0 rw biosdevname=0 net.ifnames=0 selinux=0 hcheck_reboot0 'a=$x;y#z' \
             console=ttyS1,38400e7\n  initrd /bootcd.img /overlay.img\n}\n"
        );
        let graphic = render_grub(&Console::Graphic, 1, "cramfs.img", &kernel_args(&Console::Graphic, &[])).unwrap();
        assert!(graphic.starts_with("set timeout=0\n"), "{graphic}");
        assert!(graphic.contains("  initrd /cramfs.img\n"), "{graphic}");
        assert!(!graphic.contains("serial") && !graphic.contains("console="), "{graphic}");
    }

    #[test]
    fn command_line_is_bounded() {
        let extra: Vec<KernelArg> =
            (0..10).map(|i| KernelArg::new(&format!("{i}{}", "x".repeat(250))).unwrap()).collect();
        let err = render(&Console::Graphic, 1, "a", &kernel_args(&Console::Graphic, &extra)).unwrap_err();
        assert!(matches!(err, MediaError::CommandLineTooLong { .. }), "{err}");
        assert!(err.is_invalid_request());
    }

    #[test]
    fn parses_the_default_label() {
        let text = "serial 1 9600\nprompt 0\ndefault two\nlabel one\n kernel k1\n append a=1\nlabel two\n \
                    linux k2\n append b=2\n";
        let parsed = parse(text);
        assert_eq!(parsed.serial, Some(("1".to_owned(), Some("9600".to_owned()))));
        assert_eq!(parsed.kernel.as_deref(), Some("k2"));
        assert_eq!(parsed.append.as_deref(), Some("b=2"));
    }
}
