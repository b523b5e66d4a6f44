//! How a node's boot image is customised (docs/plc-api.md §9.2 step 4): the bootcd node tags first,
//! then the call's options, which override (serial console, variant) or append (kernel
//! arguments).

use crate::fault::{Fault, MethodResult};
use bootmedium_media::ImageType;

/// The node tags GetBootMedium reads, in the order they are applied.
pub const MEDIUM_TAGS: &[&str] =
    &["serial", "cramfs", "kvariant", "kargs", "no-hangcheck", "systemd-console", "systemd-debug"];

/// The image container an action asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Iso,
    Usb,
}

/// The customisation of one medium.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediumOptions {
    pub image_type: ImageType,
    /// A console spec (`default` or `tty:baud:parity:bits`), when a serial console is wanted.
    pub serial: Option<String>,
    pub variant: Option<String>,
    pub kargs: Vec<String>,
}

const SYSTEMD_CONSOLE: &[&str] = &[
    "systemd.log_target=console",
    "systemd.default_standard_output=journal+console",
    "systemd.default_standard_error=journal+console",
];

#[derive(Default)]
struct Builder {
    cramfs: bool,
    partition: bool,
    serial: Option<String>,
    variant: Option<String>,
    kargs: Vec<String>,
}

impl Builder {
    /// The effects shared by tags and options of the same name; false when `name` is not one.
    fn flag(&mut self, name: &str) -> bool {
        match name {
            "cramfs" => self.cramfs = true,
            "no-hangcheck" => self.kargs.push("hcheck_reboot0".into()),
            "systemd-console" => self.kargs.extend(SYSTEMD_CONSOLE.iter().map(|s| s.to_string())),
            "systemd-debug" => self.kargs.push("systemd.log_level=debug".into()),
            _ => return false,
        }
        true
    }

    fn tag(&mut self, name: &str, value: &str) {
        match name {
            "serial" => self.serial = Some(value.to_string()),
            "kvariant" => self.variant = Some(value.to_string()),
            "kargs" => self.kargs.extend(value.split_whitespace().map(str::to_string)),
            other => {
                self.flag(other);
            }
        }
    }

    fn option(&mut self, container: Container, option: &str) -> MethodResult<()> {
        if option == "partition" {
            if container != Container::Usb {
                return Err(Fault::invalid("option 'partition' is for USB images only"));
            }
            self.partition = true;
        } else if option == "serial" {
            self.serial = Some("default".into());
        } else if let Some(spec) = option.strip_prefix("serial:") {
            self.serial = Some(spec.to_string());
        } else if let Some(variant) = option.strip_prefix("variant:") {
            self.variant = Some(variant.to_string());
        } else if !self.flag(option) {
            return Err(Fault::invalid(format!("unknown option {option}")));
        }
        Ok(())
    }

    fn finish(self, container: Container) -> MethodResult<MediumOptions> {
        let image_type = match (container, self.partition, self.cramfs) {
            (Container::Iso, _, false) => ImageType::Iso,
            (Container::Iso, _, true) => ImageType::IsoCramfs,
            (Container::Usb, false, false) => ImageType::Usb,
            (Container::Usb, false, true) => ImageType::UsbCramfs,
            (Container::Usb, true, false) => ImageType::UsbPartition,
            (Container::Usb, true, true) => {
                return Err(Fault::invalid("cramfs is not supported for partitioned USB images"));
            }
        };
        Ok(MediumOptions { image_type, serial: self.serial, variant: self.variant, kargs: self.kargs })
    }
}

/// Applies the node's bootcd tags (name, value) in [`MEDIUM_TAGS`] order, then `options` in
/// the order given.
pub fn resolve(container: Container, tags: &[(String, String)], options: &[&str]) -> MethodResult<MediumOptions> {
    let mut b = Builder::default();
    for name in MEDIUM_TAGS {
        if let Some((_, value)) = tags.iter().find(|(n, _)| n == name) {
            b.tag(name, value);
        }
    }
    for o in options {
        b.option(container, o)?;
    }
    b.finish(container)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn tags_then_options() {
        let t = tags(&[("kargs", "a=1  b"), ("serial", "ttyS1:9600:n:8"), ("no-hangcheck", ""), ("kvariant", "v1")]);
        let o = resolve(Container::Usb, &t, &["serial", "variant:v2", "systemd-debug", "partition"]).unwrap();
        assert_eq!(o.image_type, ImageType::UsbPartition);
        assert_eq!(o.serial.as_deref(), Some("default"));
        assert_eq!(o.variant.as_deref(), Some("v2"));
        assert_eq!(o.kargs, ["a=1", "b", "hcheck_reboot0", "systemd.log_level=debug"]);
    }

    #[test]
    fn option_errors() {
        assert_eq!(
            resolve(Container::Iso, &[], &["partition"]).unwrap_err().message,
            "Invalid argument: option 'partition' is for USB images only"
        );
        assert_eq!(
            resolve(Container::Iso, &[], &["bogus"]).unwrap_err().message,
            "Invalid argument: unknown option bogus"
        );
        assert!(resolve(Container::Usb, &[], &["partition", "cramfs"]).is_err());
        let o = resolve(Container::Iso, &tags(&[("cramfs", "no")]), &["systemd-console"]).unwrap();
        assert_eq!(o.image_type, ImageType::IsoCramfs);
        assert_eq!(o.kargs.len(), 3);
    }
}
