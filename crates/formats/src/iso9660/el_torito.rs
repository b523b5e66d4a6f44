//! El Torito bootable CD: the boot catalog and the ISOLINUX boot-info-table.
//!
//! El Torito 1.0 (Phoenix/IBM 1995): 2.0 boot record volume descriptor (see
//! [`super::volume_descriptor`]), 2.1 validation entry (header id 1, platform, id string,
//! checksum making the sum of the entry's 16-bit words zero, key bytes 55 AA), 2.2 initial/
//! default entry (boot indicator 0x88, media type 0 = no emulation, load segment, system type,
//! sector count in 512-byte virtual sectors, load RBA), 2.3 section header (0x90, or 0x91 for
//! the last; platform; number of entries) and 2.4 section entry.
//!
//! The catalog is the validation entry, the default entry (the first [`BootEntry`]), then one
//! section per run of further entries with the same platform — e.g. the EFI entry (platform
//! 0xEF) that UEFI boot adds next to the BIOS one.
//!
//! The boot-info-table is the mkisofs `-boot-info-table` convention ISOLINUX relies on: 56
//! bytes at offset 8 of the boot image holding the primary volume descriptor's LBA, the boot
//! image's LBA, its length in bytes and the 32-bit little-endian sum of its 32-bit words from
//! byte 64 to the end (the last word zero-padded), then 40 zero bytes.

use super::SECTOR_SIZE_USIZE;

/// A boot platform identifier (El Torito 2.1 / 2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Platform(pub u8);

impl Platform {
    /// 80x86 BIOS.
    pub const X86: Platform = Platform(0);
    /// PowerPC.
    pub const POWER_PC: Platform = Platform(1);
    /// Mac.
    pub const MAC: Platform = Platform(2);
    /// UEFI (assigned after El Torito 1.0, used by every UEFI firmware).
    pub const EFI: Platform = Platform(0xEF);
}

/// How many 512-byte virtual sectors the firmware loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadSize {
    /// A fixed count (ISOLINUX: 4).
    Sectors(u16),
    /// The whole boot image rounded up to 512 bytes (an EFI system partition image).
    WholeImage,
}

/// One no-emulation boot image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootEntry {
    /// Path of the boot image in the ISO tree (added with `add_file`).
    pub image_path: String,
    /// The firmware the image is for.
    pub platform: Platform,
    /// Sector count to record.
    pub load_size: LoadSize,
    /// Patch the boot-info-table into the image (ISOLINUX needs it; never for EFI images).
    pub boot_info_table: bool,
    /// Real-mode load segment; 0 means the BIOS default 0x7C0.
    pub load_segment: u16,
}

impl BootEntry {
    /// The BIOS entry for ISOLINUX: load size 4, boot-info-table.
    pub fn isolinux(image_path: &str) -> Self {
        Self {
            image_path: image_path.to_owned(),
            platform: Platform::X86,
            load_size: LoadSize::Sectors(4),
            boot_info_table: true,
            load_segment: 0,
        }
    }

    /// A UEFI entry for an EFI system partition image (whole image, no patching).
    pub fn efi(image_path: &str) -> Self {
        Self {
            image_path: image_path.to_owned(),
            platform: Platform::EFI,
            load_size: LoadSize::WholeImage,
            boot_info_table: false,
            load_segment: 0,
        }
    }
}

/// El Torito boot of an image: where the catalog appears in the tree and the boot entries
/// (the first one is the default entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElTorito {
    /// Path of the catalog file in the tree (e.g. `boot.cat`; upstream uses `-c boot.cat`).
    pub catalog_path: String,
    /// Boot images; at least one, at most 63 in total with headers.
    pub entries: Vec<BootEntry>,
}

/// An entry with its final numbers, ready to encode.
pub(crate) struct ResolvedEntry {
    pub platform: Platform,
    pub load_segment: u16,
    pub sector_count: u16,
    pub load_lba: u32,
}

const BOOTABLE: u8 = 0x88;
const HEADER_MORE: u8 = 0x90;
const HEADER_FINAL: u8 = 0x91;

/// How many 32-byte catalog entries the catalog of these entries takes.
pub(crate) fn catalog_entry_count(entries: &[ResolvedEntry]) -> usize {
    2 + sections(entries).iter().map(|s| 1 + s.len()).sum::<usize>()
}

fn sections(entries: &[ResolvedEntry]) -> Vec<&[ResolvedEntry]> {
    let rest = entries.get(1..).unwrap_or(&[]);
    let mut out: Vec<&[ResolvedEntry]> = Vec::new();
    let mut start = 0;
    for i in 1..=rest.len() {
        if i == rest.len() || rest[i].platform != rest[start].platform {
            out.push(&rest[start..i]);
            start = i;
        }
    }
    out
}

fn boot_entry(entry: &ResolvedEntry) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[0] = BOOTABLE;
    out[1] = 0; // no emulation
    out[2..4].copy_from_slice(&entry.load_segment.to_le_bytes());
    out[4] = 0; // system type: no partition table in a no-emulation image
    out[6..8].copy_from_slice(&entry.sector_count.to_le_bytes());
    out[8..12].copy_from_slice(&entry.load_lba.to_le_bytes());
    out
}

/// Encodes the catalog sector. `entries` must not be empty and must fit in one sector.
pub(crate) fn encode_catalog(entries: &[ResolvedEntry]) -> Vec<u8> {
    let mut out = vec![0u8; SECTOR_SIZE_USIZE];
    let Some(default) = entries.first() else { return out };
    // 2.1 validation entry.
    out[0] = 1;
    out[1] = default.platform.0;
    out[30] = 0x55;
    out[31] = 0xAA;
    let sum =
        out[..32].chunks_exact(2).fold(0u16, |acc, word| acc.wrapping_add(u16::from_le_bytes([word[0], word[1]])));
    out[28..30].copy_from_slice(&0u16.wrapping_sub(sum).to_le_bytes());
    // 2.2 default entry.
    out[32..64].copy_from_slice(&boot_entry(default));
    let mut position = 64;
    let sections = sections(entries);
    for (index, section) in sections.iter().enumerate() {
        // 2.3 section header.
        out[position] = if index + 1 == sections.len() { HEADER_FINAL } else { HEADER_MORE };
        out[position + 1] = section[0].platform.0;
        out[position + 2..position + 4].copy_from_slice(&(section.len() as u16).to_le_bytes());
        position += 32;
        for entry in *section {
            // 2.4 section entry (selection criteria: none).
            out[position..position + 32].copy_from_slice(&boot_entry(entry));
            position += 32;
        }
    }
    out
}

/// Offset and length of the boot-info-table in a boot image.
pub(crate) const BOOT_INFO_OFFSET: usize = 8;
/// The checksum covers the image from this byte on.
pub(crate) const BOOT_INFO_CHECKSUM_START: usize = 64;

/// Patches the boot-info-table into `image` (which must be at least 64 bytes long).
pub(crate) fn patch_boot_info_table(image: &mut [u8], pvd_lba: u32, image_lba: u32) {
    let checksum = image[BOOT_INFO_CHECKSUM_START..].chunks(4).fold(0u32, |acc, chunk| {
        let mut word = [0u8; 4];
        word[..chunk.len()].copy_from_slice(chunk);
        acc.wrapping_add(u32::from_le_bytes(word))
    });
    let length = u32::try_from(image.len()).unwrap_or(u32::MAX);
    let table = &mut image[BOOT_INFO_OFFSET..BOOT_INFO_CHECKSUM_START];
    table.fill(0);
    table[0..4].copy_from_slice(&pvd_lba.to_le_bytes());
    table[4..8].copy_from_slice(&image_lba.to_le_bytes());
    table[8..12].copy_from_slice(&length.to_le_bytes());
    table[12..16].copy_from_slice(&checksum.to_le_bytes());
}

/// A boot catalog entry as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogEntry {
    /// Platform of the validation entry (default entry) or of the section header.
    pub platform: Platform,
    /// Boot indicator 0x88.
    pub bootable: bool,
    /// 0 = no emulation.
    pub media_type: u8,
    /// Load segment (0 = 0x7C0).
    pub load_segment: u16,
    /// System type byte.
    pub system_type: u8,
    /// 512-byte virtual sectors to load.
    pub sector_count: u16,
    /// Sector of the boot image.
    pub load_lba: u32,
}

/// Decodes a catalog sector; `None` when the validation entry is invalid.
pub(crate) fn decode_catalog(sector: &[u8]) -> Option<Vec<CatalogEntry>> {
    if sector.len() < 64 || sector[0] != 1 || sector[30] != 0x55 || sector[31] != 0xAA {
        return None;
    }
    let sum =
        sector[..32].chunks_exact(2).fold(0u16, |acc, word| acc.wrapping_add(u16::from_le_bytes([word[0], word[1]])));
    if sum != 0 {
        return None;
    }
    let decode_entry = |raw: &[u8], platform: Platform| CatalogEntry {
        platform,
        bootable: raw[0] == BOOTABLE,
        media_type: raw[1],
        load_segment: u16::from_le_bytes([raw[2], raw[3]]),
        system_type: raw[4],
        sector_count: u16::from_le_bytes([raw[6], raw[7]]),
        load_lba: u32::from_le_bytes([raw[8], raw[9], raw[10], raw[11]]),
    };
    let mut out = vec![decode_entry(&sector[32..64], Platform(sector[1]))];
    let mut position = 64;
    while position + 32 <= sector.len() {
        let header = &sector[position..position + 32];
        if header[0] != HEADER_MORE && header[0] != HEADER_FINAL {
            break;
        }
        let platform = Platform(header[1]);
        let count = u16::from_le_bytes([header[2], header[3]]) as usize;
        position += 32;
        for _ in 0..count {
            if position + 32 > sector.len() {
                break;
            }
            out.push(decode_entry(&sector[position..position + 32], platform));
            position += 32;
        }
        if header[0] == HEADER_FINAL {
            break;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bios_plus_efi_catalog_matches_uefi_notes() {
        let entries = [
            ResolvedEntry { platform: Platform::X86, load_segment: 0, sector_count: 4, load_lba: 40 },
            ResolvedEntry { platform: Platform::EFI, load_segment: 0, sector_count: 2880, load_lba: 50 },
        ];
        assert_eq!(catalog_entry_count(&entries), 4);
        let catalog = encode_catalog(&entries);
        assert_eq!(&catalog[32..44], &[0x88, 0, 0, 0, 0, 0, 4, 0, 40, 0, 0, 0]);
        assert_eq!(&catalog[64..68], &[0x91, 0xEF, 1, 0]);
        assert_eq!(&catalog[96..108], &[0x88, 0, 0, 0, 0, 0, 0x40, 0x0B, 50, 0, 0, 0]);
        let decoded = decode_catalog(&catalog).unwrap();
        assert_eq!(decoded.len(), 2);
        assert_eq!(decoded[1].platform, Platform::EFI);
        assert_eq!(decoded[1].sector_count, 2880);
    }

    #[test]
    fn boot_info_table() {
        let mut image = vec![0u8; 72];
        image[64..68].copy_from_slice(&1u32.to_le_bytes());
        image[68..72].copy_from_slice(&2u32.to_le_bytes());
        patch_boot_info_table(&mut image, 16, 33);
        assert_eq!(&image[8..24], &[16, 0, 0, 0, 33, 0, 0, 0, 72, 0, 0, 0, 3, 0, 0, 0]);
    }
}
