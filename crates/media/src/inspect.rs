//! `inspect`: what a boot image is, read back with our format readers (docs/media.md §1, §3):
//! the container (ISO 9660, FAT superfloppy, MBR + FAT partition), the bootloader
//! configuration (kernel, kernel arguments, `SERIAL` line, console), the reference it was made
//! from (`bootmedium.json`, else the `pl_version` text), and the node configuration in the
//! overlay (`usr/boot/plnode.txt`, in `overlay.img` or `cramfs.img`) with `NODE_KEY` masked
//! unless asked.
//!
//! Both boot paths are reported: the BIOS one above, the El Torito catalog, the MBR's
//! partition entries (a hybrid ISO's, a partitioned USB image's), and the UEFI one
//! ([`UefiBoot`]: the EFI system partition's `EFI/BOOT` files, found through the El Torito EFI
//! entry of an ISO or on a FAT volume itself, which loader they are, whether it and the kernel
//! carry Authenticode signatures (pe.rs), and `boot/grub/grub.cfg`).
//!
//! Images made by upstream's build.sh are read the same way (best effort): their overlay is a
//! gzip'd newc cpio whose names start with `./`, and their configuration has the same shape.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use bootmedium_formats::cpio::{CpioReader, gzip_decoder};
use bootmedium_formats::cramfs::CramfsReader;
use bootmedium_formats::fat::FatReader;
use bootmedium_formats::iso9660::{IsoReader, NameSpace, Platform};
use bootmedium_formats::mbr::Mbr;
use serde::Serialize;

use crate::error::{MediaError, io_error};
use crate::image::{MARKER_PATH, Marker};
use crate::loader_config;
use crate::overlay::PLNODE_PATH;
use crate::request::ImageType;

/// Largest small file (configuration, marker, version) read.
const MAX_SMALL_FILE: u64 = 64 * 1024;
/// Largest overlay read.
const MAX_OVERLAY: u64 = 16 * 1024 * 1024;
/// Largest decompressed overlay entry kept.
const MAX_ENTRY: u64 = 1024 * 1024;
/// Most bytes of the overlay's cpio read (after gunzip): a 16 MiB overlay may inflate a
/// thousandfold, and the files inspect wants sit in the first few KiB of ours.
const MAX_OVERLAY_UNPACKED: u64 = 64 * 1024 * 1024;
const MASK: &str = "********";

/// The container format found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Container {
    /// ISO 9660.
    Iso9660,
    /// A FAT volume from the first byte (a "superfloppy").
    FatSuperfloppy,
    /// An MBR partition table with a FAT partition.
    MbrFat,
}

/// What `inspect` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inspection {
    /// The container.
    pub container: Container,
    /// Byte offset of the FAT partition (MBR images).
    pub partition_offset: Option<u64>,
    /// `bootmedium` when the image carries our marker, else `unknown`.
    pub made_by: String,
    /// The image type (from the marker, else deduced from the container and files).
    pub image_type: ImageType,
    /// Node family (marker only).
    pub family: Option<String>,
    /// BootCD version (marker, else the last word of `pl_version`).
    pub version: Option<String>,
    /// Kernel variant (marker only).
    pub variant: Option<String>,
    /// The `pl_version` text.
    pub version_string: Option<String>,
    /// The bootloader configuration file read.
    pub config_file: Option<String>,
    /// The kernel the default label boots.
    pub kernel: Option<String>,
    /// The `initrd=` list.
    pub initrds: Vec<String>,
    /// Every word of the `APPEND` line except `initrd=`.
    pub kernel_args: Vec<String>,
    /// `tty:baud:parity:bits` from the last `console=ttyS…`, or `graphic`.
    pub console: String,
    /// The `SERIAL` directive, if any.
    pub serial: Option<String>,
    /// `usr/boot/plnode.txt` from the overlay (node media), `NODE_KEY` masked unless asked.
    pub node_config: Option<String>,
    /// Whether a `NODE_KEY` value was masked.
    pub node_key_masked: bool,
    /// The El Torito boot catalog's entries of an ISO, default entry first (empty otherwise).
    pub el_torito: Vec<BootCatalogEntry>,
    /// The entries of the MBR in the first sector (a hybrid ISO's, a partitioned image's).
    pub partitions: Vec<PartitionEntry>,
    /// The UEFI boot path, when the medium has one (an EFI El Torito entry, or
    /// `EFI/BOOT/BOOTX64.EFI` on a FAT volume).
    pub uefi: Option<UefiBoot>,
}

/// One MBR partition entry (entries with no sectors are left out; type 0 is shown, as a
/// hybrid ISO's whole-image entry has it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionEntry {
    /// 1–4.
    pub number: u8,
    /// The active flag.
    pub bootable: bool,
    /// The type byte, e.g. `0xef`.
    pub partition_type: String,
    /// First 512-byte sector.
    pub start_lba: u32,
    /// 512-byte sectors.
    pub sectors: u32,
}

/// One El Torito boot image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BootCatalogEntry {
    /// `bios`, `uefi`, or the platform byte in hex.
    pub platform: String,
    /// 512-byte sectors the firmware loads.
    pub sector_count: u16,
    /// The image's first 2048-byte sector.
    pub load_lba: u32,
}

/// The UEFI boot path of a medium.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UefiBoot {
    /// Our EFI system partition image in the ISO tree (`efiboot.img`), if the EFI El Torito
    /// entry points at it; `None` on FAT media, whose own volume holds the loader.
    pub esp_image: Option<String>,
    /// The files in `EFI/BOOT` of the EFI system partition (or FAT volume).
    pub loader_files: Vec<String>,
    /// `standalone-grub` (an unsigned `BOOTX64.EFI`), `signed-shim` (a signed `BOOTX64.EFI`
    /// with `grubx64.efi` beside it), `signed` (another signed loader) or `none`.
    pub loader: String,
    /// Whether `BOOTX64.EFI` carries an Authenticode signature.
    pub loader_signed: bool,
    /// Whether the kernel carries one (`None`: not a PE image, or not read).
    pub kernel_signed: Option<bool>,
    /// Both signed: the medium can boot with Secure Boot enforced, if the firmware (through
    /// shim) trusts the signers.
    pub secure_boot: bool,
    /// `boot/grub/grub.cfg` without its `#` padding, if present.
    pub grub_config: Option<String>,
}

/// A byte range of the image file, readable and seekable on its own.
struct Window<'a> {
    file: &'a File,
    start: u64,
    len: u64,
    position: u64,
}

impl Read for Window<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let left = self.len.saturating_sub(self.position);
        let want = usize::try_from(left).map_or(buf.len(), |l| l.min(buf.len()));
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.start + self.position)?;
        self.position += n as u64;
        Ok(n)
    }
}

impl Seek for Window<'_> {
    fn seek(&mut self, target: SeekFrom) -> io::Result<u64> {
        let new = match target {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.position.checked_add_signed(d),
        };
        self.position = new.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before start"))?;
        Ok(self.position)
    }
}

/// The file system holding the boot files.
enum Volume<'a> {
    Iso(IsoReader<&'a File>),
    Fat(FatReader<&'a File>, u64),
}

impl Volume<'_> {
    /// (byte offset in the image, size) of a file stored contiguously (cramfs.img is read in
    /// place).
    fn extent(&mut self, path: &str) -> Result<Option<(u64, u64)>, MediaError> {
        match self {
            Volume::Iso(iso) => {
                let entry = iso.lookup(path, NameSpace::RockRidge)?.or(iso.lookup(path, NameSpace::Iso9660)?);
                Ok(entry.filter(|e| !e.is_directory).map(|e| (u64::from(e.lba) * 2048, u64::from(e.size))))
            }
            Volume::Fat(fat, base) => {
                let Some(entry) = fat.lookup(path)?.filter(|e| !e.is_directory) else { return Ok(None) };
                let chain = fat.cluster_chain(entry.first_cluster)?;
                let contiguous = chain.windows(2).all(|w| w[1] == w[0] + 1);
                match fat.file_offset(&entry) {
                    Some(offset) if contiguous => Ok(Some((*base + offset, u64::from(entry.size)))),
                    _ => Err(MediaError::Unsupported(format!(
                        "{path} is fragmented; inspect reads contiguous files only"
                    ))),
                }
            }
        }
    }

    /// A small file's contents (FAT files may be fragmented).
    fn read(&mut self, file: &File, path: &str, max: u64) -> Result<Option<Vec<u8>>, MediaError> {
        let too_large =
            |len: u64| MediaError::Unsupported(format!("{path} is {len} bytes, more than inspect reads ({max})"));
        match self {
            Volume::Fat(fat, _) => {
                let Some(entry) = fat.lookup(path)?.filter(|e| !e.is_directory) else { return Ok(None) };
                if u64::from(entry.size) > max {
                    return Err(too_large(u64::from(entry.size)));
                }
                Ok(Some(fat.read_file_to_vec(&entry)?))
            }
            Volume::Iso(_) => {
                let Some((offset, len)) = self.extent(path)? else { return Ok(None) };
                if len > max {
                    return Err(too_large(len));
                }
                let mut bytes = Vec::new();
                Window { file, start: offset, len, position: 0 }
                    .read_to_end(&mut bytes)
                    .map_err(io_error(format!("reading {path}")))?;
                Ok(Some(bytes))
            }
        }
    }
}

fn open_volume<'a>(file: &'a File, path: &Path) -> Result<(Container, Volume<'a>, Option<u64>), MediaError> {
    let not_an_image = |reason: String| MediaError::NotAnImage { path: path.display().to_string(), reason };
    let mut probe = [0u8; 5];
    {
        use std::os::unix::fs::FileExt;
        if file.read_at(&mut probe, 0x8001).map_err(io_error(format!("reading {}", path.display())))? == 5
            && &probe == b"CD001"
        {
            return Ok((Container::Iso9660, Volume::Iso(IsoReader::open(file)?), None));
        }
    }
    if let Ok(fat) = FatReader::open(file) {
        return Ok((Container::FatSuperfloppy, Volume::Fat(fat, 0), None));
    }
    let mut sector = [0u8; 512];
    {
        use std::os::unix::fs::FileExt;
        file.read_exact_at(&mut sector, 0).map_err(|e| not_an_image(format!("too short ({e})")))?;
    }
    let mbr = Mbr::decode(&sector).map_err(|_| not_an_image("neither ISO 9660, FAT nor an MBR disk".to_owned()))?;
    for partition in mbr.partitions.iter().flatten() {
        let offset = u64::from(partition.start_lba) * 512;
        if let Ok(fat) = FatReader::open_at(file, offset) {
            return Ok((Container::MbrFat, Volume::Fat(fat, offset), Some(offset)));
        }
    }
    Err(not_an_image("an MBR disk without a FAT partition".to_owned()))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Replaces the value of every `NODE_KEY=` line.
pub fn mask_node_key(config: &str) -> (String, bool) {
    let mut masked = false;
    let mut out = String::with_capacity(config.len());
    for line in config.split_inclusive('\n') {
        let (body, end) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        match body.split_once('=').filter(|(name, _)| name.trim() == "NODE_KEY") {
            Some((name, value)) => {
                let value = value.trim();
                let quote = value.chars().next().filter(|c| *c == '"' || *c == '\'');
                let shown = match quote {
                    Some(q) => format!("{q}{MASK}{q}"),
                    None => MASK.to_owned(),
                };
                out.push_str(&format!("{name}={shown}{end}"));
                masked = true;
            }
            None => out.push_str(line),
        }
    }
    (out, masked)
}

/// The files of interest in an overlay cpio: `plnode.txt` and `pl_version`.
fn overlay_files(archive: impl Read) -> Result<(Option<String>, Option<String>), MediaError> {
    let mut node = None;
    let mut version = None;
    let mut reader = CpioReader::new(archive.take(MAX_OVERLAY_UNPACKED));
    while let Some(mut entry) = reader.next_entry().map_err(|e| MediaError::Unsupported(format!("overlay: {e}")))? {
        let name = entry.header.name_str().unwrap_or_default().trim_start_matches("./").to_owned();
        let wanted = name == PLNODE_PATH || name == "pl_version";
        if wanted && u64::from(entry.header.file_size) <= MAX_ENTRY {
            let mut data = Vec::new();
            entry.read_to_end(&mut data).map_err(io_error(format!("reading {name} from the overlay")))?;
            if name == PLNODE_PATH { node = Some(text(&data)) } else { version = Some(text(&data)) }
        }
    }
    Ok((node, version))
}

fn cramfs_files(file: &File, start: u64, len: u64) -> Result<(Option<String>, Option<String>), MediaError> {
    let mut cramfs = CramfsReader::open(Window { file, start, len, position: 0 })?;
    let mut read = |path: &str| -> Result<Option<String>, MediaError> {
        match cramfs.lookup(path)? {
            Some(entry) if !entry.is_directory() && u64::from(entry.size) <= MAX_ENTRY => {
                Ok(Some(text(&cramfs.read_file(&entry)?)))
            }
            _ => Ok(None),
        }
    };
    Ok((read(PLNODE_PATH)?, read("pl_version")?))
}

/// `console=ttyS0,115200n8` → `ttyS0:115200:n:8`.
fn console_spec(arg: &str) -> String {
    let (tty, options) = arg.split_once(',').unwrap_or((arg, ""));
    let digits: String = options.chars().take_while(char::is_ascii_digit).collect();
    let rest = &options[digits.len()..];
    let mut chars = rest.chars();
    match (digits.is_empty(), chars.next(), chars.as_str()) {
        (true, _, _) => tty.to_owned(),
        (false, Some(parity), bits) if !bits.is_empty() => format!("{tty}:{digits}:{parity}:{bits}"),
        (false, Some(parity), _) => format!("{tty}:{digits}:{parity}"),
        (false, None, _) => format!("{tty}:{digits}"),
    }
}

/// Reads what `path` is.
pub fn inspect(path: &Path, show_key: bool) -> Result<Inspection, MediaError> {
    let file = File::open(path).map_err(io_error(format!("opening {}", path.display())))?;
    let (container, mut volume, partition_offset) = open_volume(&file, path)?;
    let marker: Option<Marker> = volume
        .read(&file, MARKER_PATH, MAX_SMALL_FILE)?
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .filter(|m: &Marker| m.made_by == "bootmedium");

    let mut config_file = None;
    let mut config = None;
    let candidates: &[&str] = match container {
        Container::Iso9660 => &["isolinux.cfg", "isolinux/isolinux.cfg", "syslinux.cfg"],
        _ => &["syslinux.cfg", "syslinux/syslinux.cfg", "boot/syslinux/syslinux.cfg", "isolinux.cfg"],
    };
    for candidate in candidates {
        if let Some(bytes) = volume.read(&file, candidate, MAX_SMALL_FILE)? {
            config_file = Some((*candidate).to_owned());
            config = Some(loader_config::parse(&text(&bytes)));
            break;
        }
    }
    let config = config.unwrap_or_default();
    let words: Vec<String> =
        config.append.as_deref().unwrap_or_default().split_whitespace().map(str::to_owned).collect();
    let initrds: Vec<String> = words
        .iter()
        .filter_map(|w| w.strip_prefix("initrd="))
        .flat_map(|list| list.split(',').map(str::to_owned))
        .collect();
    let kernel_args: Vec<String> = words.iter().filter(|w| !w.starts_with("initrd=")).cloned().collect();
    let console = kernel_args
        .iter()
        .rev()
        .filter_map(|w| w.strip_prefix("console="))
        .find(|c| c.starts_with("ttyS"))
        .map_or_else(|| "graphic".to_owned(), console_spec);

    let cramfs = volume.extent("cramfs.img")?;
    let (node, overlay_version) = match cramfs {
        Some((start, len)) => cramfs_files(&file, start, len)?,
        None => match volume.read(&file, "overlay.img", MAX_OVERLAY)? {
            Some(bytes) => overlay_files(gzip_decoder(&bytes[..]))?,
            None => (None, None),
        },
    };
    let version_string = volume
        .read(&file, "pl_version", MAX_SMALL_FILE)?
        .map(|b| text(&b))
        .or(overlay_version)
        .map(|v| v.trim_end().to_owned())
        .filter(|v| !v.is_empty());
    let (node_config, node_key_masked) = match node {
        Some(n) if !show_key => {
            let (masked, any) = mask_node_key(&n);
            (Some(masked), any)
        }
        other => (other, false),
    };
    let el_torito: Vec<BootCatalogEntry> = match &mut volume {
        Volume::Iso(iso) => iso.boot_catalog()?.unwrap_or_default(),
        Volume::Fat(..) => Vec::new(),
    }
    .into_iter()
    .map(|entry| BootCatalogEntry {
        platform: match entry.platform {
            Platform::X86 => "bios".to_owned(),
            Platform::EFI => "uefi".to_owned(),
            Platform(other) => format!("{other:#04x}"),
        },
        sector_count: entry.sector_count,
        load_lba: entry.load_lba,
    })
    .collect();
    let efi_entry = el_torito.iter().find(|e| e.platform == "uefi").map(|e| u64::from(e.load_lba) * 2048);
    let uefi = uefi_boot(&file, &mut volume, efi_entry, config.kernel.as_deref())?;
    // A superfloppy's sector 0 is its FAT boot sector (it ends in 55 AA too), not an MBR.
    let partitions = if container == Container::FatSuperfloppy { Vec::new() } else { partition_entries(&file) };
    let deduced = match (container, cramfs.is_some()) {
        (Container::Iso9660, false) => ImageType::Iso,
        (Container::Iso9660, true) => ImageType::IsoCramfs,
        (Container::FatSuperfloppy, false) => ImageType::Usb,
        (_, true) => ImageType::UsbCramfs,
        (Container::MbrFat, false) => ImageType::UsbPartition,
    };
    Ok(Inspection {
        container,
        partition_offset,
        made_by: if marker.is_some() { "bootmedium" } else { "unknown" }.to_owned(),
        image_type: marker.as_ref().map_or(deduced, |m| m.image_type),
        family: marker.as_ref().map(|m| m.family.clone()),
        version: marker
            .as_ref()
            .map(|m| m.version.clone())
            .or_else(|| version_string.as_ref().and_then(|v| v.split_whitespace().last().map(str::to_owned))),
        variant: marker.as_ref().and_then(|m| m.variant.clone()),
        version_string,
        config_file,
        kernel: config.kernel,
        initrds,
        kernel_args,
        console,
        serial: config.serial.map(|(port, baud)| match baud {
            Some(b) => format!("SERIAL {port} {b}"),
            None => format!("SERIAL {port}"),
        }),
        node_config,
        node_key_masked,
        el_torito,
        partitions,
        uefi,
    })
}

/// The MBR entries of sector 0 (none without an MBR there).
fn partition_entries(file: &File) -> Vec<PartitionEntry> {
    use std::os::unix::fs::FileExt;
    let mut sector = [0u8; 512];
    let entries = match file.read_exact_at(&mut sector, 0) {
        Ok(()) => Mbr::decode_entries(&sector).unwrap_or_default(),
        Err(_) => Default::default(),
    };
    (1u8..)
        .zip(entries)
        .filter_map(|(number, p)| {
            p.map(|p| PartitionEntry {
                number,
                bootable: p.bootable,
                partition_type: format!("{:#04x}", p.partition_type),
                start_lba: p.start_lba,
                sectors: p.sector_count,
            })
        })
        .collect()
}

/// Keeps the first [`crate::pe::HEADER_BYTES`] bytes written to it.
struct Head(Vec<u8>);

impl io::Write for Head {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = crate::pe::HEADER_BYTES.saturating_sub(self.0.len());
        self.0.extend_from_slice(&buf[..buf.len().min(room)]);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The first bytes of a file on the volume, for its PE headers (contiguous files only).
fn file_head(file: &File, volume: &mut Volume<'_>, path: &str) -> Result<Option<Vec<u8>>, MediaError> {
    let Ok(Some((start, len))) = volume.extent(path) else { return Ok(None) };
    let mut head = Vec::new();
    Window { file, start, len: len.min(crate::pe::HEADER_BYTES as u64), position: 0 }
        .read_to_end(&mut head)
        .map_err(io_error(format!("reading {path}")))?;
    Ok(Some(head))
}

/// The UEFI side: the ESP the El Torito EFI entry loads (at `efi_entry`, a byte offset) on an
/// ISO, or the FAT volume itself.
fn uefi_boot(
    file: &File,
    volume: &mut Volume<'_>,
    efi_entry: Option<u64>,
    kernel: Option<&str>,
) -> Result<Option<UefiBoot>, MediaError> {
    use crate::image::{EFI_LOADER_PATH, EFIBOOT_PATH, GRUB_CONFIG_PATH};
    let esp_image = match (&mut *volume, efi_entry) {
        (Volume::Iso(_), None) => return Ok(None),
        (Volume::Iso(_), Some(offset)) => {
            volume.extent(EFIBOOT_PATH)?.filter(|(start, _)| *start == offset).map(|_| EFIBOOT_PATH.to_owned())
        }
        (Volume::Fat(..), _) => None,
    };
    let mut loader_files = Vec::new();
    let mut loader_head = None;
    let mut list = |fat: &mut FatReader<&File>| -> Result<(), MediaError> {
        let Some(dir) = fat.lookup("EFI/BOOT")?.filter(|d| d.is_directory) else { return Ok(()) };
        for entry in fat.read_dir(&dir)? {
            if entry.is_directory {
                continue;
            }
            if entry.name.eq_ignore_ascii_case("BOOTX64.EFI") && u64::from(entry.size) <= MAX_OVERLAY {
                let mut head = Head(Vec::new());
                fat.read_file(&entry, &mut head)?;
                loader_head = Some(head.0);
            }
            loader_files.push(format!("EFI/BOOT/{}", entry.name));
        }
        Ok(())
    };
    match (&mut *volume, efi_entry) {
        (Volume::Iso(_), Some(offset)) => {
            if let Ok(mut esp) = FatReader::open_at(file, offset) {
                list(&mut esp)?;
            }
        }
        (Volume::Fat(fat, _), _) => {
            if fat.lookup(EFI_LOADER_PATH)?.is_none() {
                return Ok(None);
            }
            list(fat)?;
        }
        (Volume::Iso(_), None) => return Ok(None),
    }
    loader_files.sort();
    let loader_signed = loader_head.as_deref().and_then(crate::pe::authenticode_signed).unwrap_or(false);
    let has_grub_beside = loader_files.iter().any(|f| f.eq_ignore_ascii_case(crate::image::EFI_SIGNED_GRUB_PATH));
    let loader = match (&loader_head, loader_signed, has_grub_beside) {
        (None, _, _) => "none",
        (Some(_), false, _) => "standalone-grub",
        (Some(_), true, true) => "signed-shim",
        (Some(_), true, false) => "signed",
    };
    let kernel_signed = match kernel {
        Some(path) => {
            file_head(file, volume, path.trim_start_matches('/'))?.as_deref().and_then(crate::pe::authenticode_signed)
        }
        None => None,
    };
    let grub_config =
        volume.read(file, GRUB_CONFIG_PATH, MAX_SMALL_FILE)?.map(|b| text(&b).trim_end_matches('#').to_owned());
    Ok(Some(UefiBoot {
        esp_image,
        loader_files,
        loader: loader.to_owned(),
        loader_signed,
        kernel_signed,
        secure_boot: loader_signed && kernel_signed == Some(true),
        grub_config,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_key_is_masked() {
        let (masked, any) = mask_node_key("NODE_ID=\"1\"\nNODE_KEY=\"abc+/def\"\nHOST_NAME=\"n\"\n");
        assert!(any);
        assert_eq!(masked, "NODE_ID=\"1\"\nNODE_KEY=\"********\"\nHOST_NAME=\"n\"\n");
        let (unchanged, any) = mask_node_key("IP_METHOD=\"dhcp\"");
        assert!(!any);
        assert_eq!(unchanged, "IP_METHOD=\"dhcp\"");
        assert_eq!(mask_node_key("NODE_KEY=bare").0, "NODE_KEY=********");
    }

    /// Counts the bytes read through it.
    struct Counting<R>(R, u64);

    impl<R: Read> Read for Counting<R> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.read(buf)?;
            self.1 += n as u64;
            Ok(n)
        }
    }

    #[test]
    fn overlay_reading_is_bounded() {
        // One entry claiming 4 GiB - 1 of data, and the data there (zeros, as a gzip bomb
        // inflates): skipping it must stop at the bound, not read 4 GiB.
        let mut header = b"070701".to_vec();
        for field in [1u32, 0o100_644, 0, 0, 1, 0, u32::MAX, 0, 0, 0, 0, 5, 0] {
            header.extend_from_slice(format!("{field:08X}").as_bytes());
        }
        header.extend_from_slice(b"junk\0\0");
        let mut counting = Counting(header.as_slice().chain(io::repeat(0)), 0);
        assert!(overlay_files(&mut counting).is_err());
        assert!(counting.1 <= MAX_OVERLAY_UNPACKED, "read {} bytes of the overlay", counting.1);
    }

    #[test]
    fn console_specs_from_kernel_args() {
        assert_eq!(console_spec("ttyS0,115200n8"), "ttyS0:115200:n:8");
        assert_eq!(console_spec("ttyS1,9600"), "ttyS1:9600");
        assert_eq!(console_spec("ttyS1"), "ttyS1");
    }
}
