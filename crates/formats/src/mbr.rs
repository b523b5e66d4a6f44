//! The classic MBR partition table (sector 0 of a partitioned disk).
//!
//! Layout (the de-facto IBM PC format; UEFI 2.10 §5.2.1 "Legacy Master Boot Record" documents
//! it): 440 bytes of boot code (supplied by the caller, e.g. syslinux's `mbr.bin`), the 32-bit
//! disk signature at 440, two zero bytes at 444, four 16-byte partition entries at 446 (boot
//! indicator 0x80/0x00, starting CHS, type, ending CHS, starting LBA, sector count — all
//! little-endian), and the signature 55 AA at 510.
//!
//! [`HybridIso`] is the MBR in the system area of a hybrid ISO 9660 image (the "isohybrid"
//! layout of SYSLINUX's `isohybrid --uefi` and xorriso's `-isohybrid-mbr`, which Debian's
//! installer images carry), so that the same image boots from a disk on BIOS and UEFI.
//!
//! CHS fields are either computed from a geometry (sfdisk and fdisk use 255 heads and 63
//! sectors per track) — saturating at cylinder 1023, head 254, sector 63 (`FE FF FF`) beyond
//! what CHS can address, as modern tools do — or all set to that saturated value.

/// Bytes of boot code before the disk signature.
pub const BOOT_CODE_LEN: usize = 440;
/// Size of the MBR sector.
pub const SECTOR_LEN: usize = 512;
const ENTRIES_OFFSET: usize = 446;

/// Common partition types.
pub mod partition_type {
    /// FAT12.
    pub const FAT12: u8 = 0x01;
    /// FAT16 below 32 MiB.
    pub const FAT16_SMALL: u8 = 0x04;
    /// FAT16.
    pub const FAT16: u8 = 0x06;
    /// FAT32 with CHS addressing.
    pub const FAT32: u8 = 0x0B;
    /// FAT32 with LBA addressing.
    pub const FAT32_LBA: u8 = 0x0C;
    /// FAT16 with LBA addressing.
    pub const FAT16_LBA: u8 = 0x0E;
    /// Linux.
    pub const LINUX: u8 = 0x83;
    /// EFI system partition.
    pub const EFI_SYSTEM: u8 = 0xEF;
    /// Protective MBR of a GPT disk.
    pub const GPT_PROTECTIVE: u8 = 0xEE;
}

/// Errors of the MBR writer and reader.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MbrError {
    /// Boot code longer than 440 bytes.
    #[error("MBR boot code is {0} bytes; at most 440 fit before the disk signature")]
    BootCodeTooLong(usize),
    /// A partition is empty, starts at sector 0 or overflows 32-bit LBAs.
    #[error("partition {index}: {reason}")]
    InvalidPartition {
        /// 0-based entry index.
        index: usize,
        /// Why.
        reason: &'static str,
    },
    /// Two partitions share sectors.
    #[error("partitions {0} and {1} overlap")]
    Overlap(usize, usize),
    /// The CHS geometry is impossible.
    #[error("CHS geometry needs 1–255 heads and 1–63 sectors per track")]
    InvalidGeometry,
    /// The sector does not end in 55 AA.
    #[error("not an MBR: missing the 55 AA signature")]
    MissingSignature,
}

/// One primary partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// Boot indicator (the "active" partition the MBR code boots).
    pub bootable: bool,
    /// Partition type byte (see [`partition_type`]).
    pub partition_type: u8,
    /// First sector (512-byte LBA).
    pub start_lba: u32,
    /// Number of sectors.
    pub sector_count: u32,
}

/// How the CHS fields are filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChsFields {
    /// Computed from this geometry, saturating beyond cylinder 1023.
    Geometry {
        /// Heads per cylinder (1–255).
        heads: u16,
        /// Sectors per track (1–63).
        sectors_per_track: u8,
    },
    /// Always `FE FF FF`: "use the LBA fields".
    Saturated,
}

impl Default for ChsFields {
    fn default() -> Self {
        ChsFields::Geometry { heads: 255, sectors_per_track: 63 }
    }
}

/// A master boot record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mbr {
    /// The first 440 bytes.
    pub boot_code: [u8; BOOT_CODE_LEN],
    /// The disk signature (Linux shows it as the disk identifier).
    pub disk_signature: u32,
    /// The four primary entries.
    pub partitions: [Option<Partition>; 4],
}

const SATURATED_CHS: [u8; 3] = [0xFE, 0xFF, 0xFF];

fn chs(lba: u32, fields: ChsFields) -> [u8; 3] {
    let ChsFields::Geometry { heads, sectors_per_track } = fields else { return SATURATED_CHS };
    let per_cylinder = u32::from(heads) * u32::from(sectors_per_track);
    let cylinder = lba / per_cylinder;
    if cylinder > 1023 {
        return SATURATED_CHS;
    }
    let head = (lba / u32::from(sectors_per_track)) % u32::from(heads);
    let sector = lba % u32::from(sectors_per_track) + 1;
    [head as u8, (sector as u8 & 0x3F) | (((cylinder >> 2) as u8) & 0xC0), cylinder as u8]
}

impl Mbr {
    /// An MBR with `boot_code` (zero-padded to 440 bytes) and no partitions.
    pub fn new(boot_code: &[u8], disk_signature: u32) -> Result<Self, MbrError> {
        if boot_code.len() > BOOT_CODE_LEN {
            return Err(MbrError::BootCodeTooLong(boot_code.len()));
        }
        let mut code = [0u8; BOOT_CODE_LEN];
        code[..boot_code.len()].copy_from_slice(boot_code);
        Ok(Self { boot_code: code, disk_signature, partitions: [None; 4] })
    }

    /// Checks the partitions: non-empty, after sector 0, within 32-bit LBAs, not overlapping.
    pub fn validate(&self) -> Result<(), MbrError> {
        let mut ranges = Vec::new();
        for (index, partition) in self.partitions.iter().enumerate() {
            let Some(p) = partition else { continue };
            let invalid = |reason| MbrError::InvalidPartition { index, reason };
            if p.sector_count == 0 {
                return Err(invalid("no sectors"));
            }
            if p.start_lba == 0 {
                return Err(invalid("starts at sector 0, the MBR itself"));
            }
            let end = u64::from(p.start_lba) + u64::from(p.sector_count);
            if end > 1 << 32 {
                return Err(invalid("extends beyond 2^32 sectors"));
            }
            for &(other, start, other_end) in &ranges {
                if u64::from(p.start_lba) < other_end && start < end {
                    return Err(MbrError::Overlap(other, index));
                }
            }
            ranges.push((index, u64::from(p.start_lba), end));
        }
        Ok(())
    }

    /// Encodes the sector.
    pub fn encode(&self, chs_fields: ChsFields) -> Result<[u8; SECTOR_LEN], MbrError> {
        if let ChsFields::Geometry { heads, sectors_per_track } = chs_fields
            && (!(1..=255).contains(&heads) || !(1..=63).contains(&sectors_per_track))
        {
            return Err(MbrError::InvalidGeometry);
        }
        self.validate()?;
        let mut out = [0u8; SECTOR_LEN];
        out[..BOOT_CODE_LEN].copy_from_slice(&self.boot_code);
        out[440..444].copy_from_slice(&self.disk_signature.to_le_bytes());
        for (index, partition) in self.partitions.iter().enumerate() {
            let Some(p) = partition else { continue };
            let entry = &mut out[ENTRIES_OFFSET + 16 * index..ENTRIES_OFFSET + 16 * (index + 1)];
            entry[0] = if p.bootable { 0x80 } else { 0x00 };
            entry[1..4].copy_from_slice(&chs(p.start_lba, chs_fields));
            entry[4] = p.partition_type;
            entry[5..8].copy_from_slice(&chs(p.start_lba + (p.sector_count - 1), chs_fields));
            entry[8..12].copy_from_slice(&p.start_lba.to_le_bytes());
            entry[12..16].copy_from_slice(&p.sector_count.to_le_bytes());
        }
        out[510] = 0x55;
        out[511] = 0xAA;
        Ok(out)
    }

    /// The four entries as recorded, type 0 included (a hybrid ISO's whole-image entry has
    /// it); entries with no sectors are empty.
    pub fn decode_entries(sector: &[u8]) -> Result<[Option<Partition>; 4], MbrError> {
        if sector.len() < SECTOR_LEN || sector[510] != 0x55 || sector[511] != 0xAA {
            return Err(MbrError::MissingSignature);
        }
        let mut partitions = [None; 4];
        for (index, slot) in partitions.iter_mut().enumerate() {
            let entry = &sector[ENTRIES_OFFSET + 16 * index..ENTRIES_OFFSET + 16 * (index + 1)];
            let sector_count = u32::from_le_bytes([entry[12], entry[13], entry[14], entry[15]]);
            if sector_count == 0 {
                continue;
            }
            *slot = Some(Partition {
                bootable: entry[0] & 0x80 != 0,
                partition_type: entry[4],
                start_lba: u32::from_le_bytes([entry[8], entry[9], entry[10], entry[11]]),
                sector_count,
            });
        }
        Ok(partitions)
    }

    /// Decodes a sector (entries with type 0 or no sectors are empty).
    pub fn decode(sector: &[u8]) -> Result<Self, MbrError> {
        let partitions = Self::decode_entries(sector)?.map(|p| p.filter(|p| p.partition_type != 0));
        let mut boot_code = [0u8; BOOT_CODE_LEN];
        boot_code.copy_from_slice(&sector[..BOOT_CODE_LEN]);
        Ok(Self {
            boot_code,
            disk_signature: u32::from_le_bytes([sector[440], sector[441], sector[442], sector[443]]),
            partitions,
        })
    }
}

/// Bytes of boot code in a hybrid ISO's MBR: ISOLINUX's `isohdpfx.bin` is this long, and the
/// boot image's address follows it.
pub const HYBRID_BOOT_CODE_LEN: usize = 432;

/// The MBR of a hybrid ISO 9660 image: ISOLINUX's hybrid boot code, which loads `isolinux.bin`
/// from the 512-byte sector recorded at byte 432 (64-bit little-endian); the disk signature;
/// entry 1 active, type 0, from sector 0 over the whole image (what BIOSes that want an active
/// partition look for; type 0 marks it unused to UEFI firmware, which would otherwise refuse a
/// table whose entries overlap, UEFI 2.10 §5.2.1); entry 2 the EFI system partition image
/// (type 0xEF), which UEFI firmware boots from. Geometry 64 heads × 32 sectors, as isohybrid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HybridIso<'a> {
    /// At most [`HYBRID_BOOT_CODE_LEN`] bytes (ISOLINUX's `isohdpfx.bin`).
    pub boot_code: &'a [u8],
    /// The 512-byte sector where the BIOS boot image (`isolinux.bin`) starts.
    pub boot_image_sector: u64,
    /// The image's length in 512-byte sectors.
    pub image_sectors: u32,
    /// The EFI system partition image: first 512-byte sector and sector count.
    pub esp: Option<(u32, u32)>,
    /// The disk signature.
    pub disk_signature: u32,
}

impl HybridIso<'_> {
    /// Encodes the sector.
    pub fn encode(&self) -> Result<[u8; SECTOR_LEN], MbrError> {
        if self.boot_code.len() > HYBRID_BOOT_CODE_LEN {
            return Err(MbrError::BootCodeTooLong(self.boot_code.len()));
        }
        let invalid = |index, reason| MbrError::InvalidPartition { index, reason };
        if self.image_sectors == 0 {
            return Err(invalid(0, "no sectors"));
        }
        if self.boot_image_sector >= u64::from(self.image_sectors) {
            return Err(invalid(0, "the boot image lies beyond the image"));
        }
        let geometry = ChsFields::Geometry { heads: 64, sectors_per_track: 32 };
        let mut out = [0u8; SECTOR_LEN];
        out[..self.boot_code.len()].copy_from_slice(self.boot_code);
        out[432..440].copy_from_slice(&self.boot_image_sector.to_le_bytes());
        out[440..444].copy_from_slice(&self.disk_signature.to_le_bytes());
        let mut entry = |index: usize, active: bool, kind: u8, start: u32, count: u32| {
            let e = &mut out[ENTRIES_OFFSET + 16 * index..ENTRIES_OFFSET + 16 * (index + 1)];
            e[0] = if active { 0x80 } else { 0 };
            e[1..4].copy_from_slice(&chs(start, geometry));
            e[4] = kind;
            e[5..8].copy_from_slice(&chs(start + (count - 1), geometry));
            e[8..12].copy_from_slice(&start.to_le_bytes());
            e[12..16].copy_from_slice(&count.to_le_bytes());
        };
        entry(0, true, 0, 0, self.image_sectors);
        if let Some((start, count)) = self.esp {
            if start == 0 || count == 0 {
                return Err(invalid(1, "empty, or starts at sector 0"));
            }
            if u64::from(start) + u64::from(count) > u64::from(self.image_sectors) {
                return Err(invalid(1, "extends beyond the image"));
            }
            entry(1, false, partition_type::EFI_SYSTEM, start, count);
        }
        out[510] = 0x55;
        out[511] = 0xAA;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hybrid_iso_mbr() {
        let code = [0x33u8; HYBRID_BOOT_CODE_LEN];
        let hybrid = HybridIso {
            boot_code: &code,
            boot_image_sector: 4 * 40,
            image_sectors: 4 * 5000,
            esp: Some((4 * 50, 2880)),
            disk_signature: 0x1234_5678,
        };
        let sector = hybrid.encode().unwrap();
        assert_eq!(&sector[..432], &code[..]);
        assert_eq!(&sector[432..440], &160u64.to_le_bytes());
        assert_eq!(&sector[440..444], &[0x78, 0x56, 0x34, 0x12]);
        // Entry 1: active, type 0, CHS 0/0/1 to the last sector (19999: cylinder 9, head 48,
        // sector 32),
        // LBA 0, 20000 sectors.
        assert_eq!(&sector[446..462], &[0x80, 0, 1, 0, 0, 48, 32, 9, 0, 0, 0, 0, 0x20, 0x4E, 0, 0]);
        // Entry 2: the ESP, type 0xEF.
        assert_eq!(&sector[462..478], &[0, 6, 9, 0, 0xEF, 32, 8, 1, 200, 0, 0, 0, 0x40, 0x0B, 0, 0]);
        assert_eq!(&sector[510..], &[0x55, 0xAA]);
        // What readers see: the ESP (a type-0 entry is unused).
        let decoded = Mbr::decode(&sector).unwrap();
        assert_eq!(decoded.partitions[0], None);
        assert_eq!(
            decoded.partitions[1].map(|p| (p.partition_type, p.start_lba, p.sector_count)),
            Some((0xEF, 200, 2880))
        );

        assert!(HybridIso { esp: Some((19_000, 2880)), ..hybrid.clone() }.encode().is_err());
        assert!(HybridIso { boot_image_sector: 20_000, ..hybrid.clone() }.encode().is_err());
        assert!(HybridIso { boot_code: &[0; 433], ..hybrid }.encode().is_err());
    }

    #[test]
    fn chs_values() {
        let geometry = ChsFields::default();
        assert_eq!(chs(0, geometry), [0, 1, 0]);
        assert_eq!(chs(2048, geometry), [32, 33, 0]); // 2048 = 0*16065 + 32*63 + 32
        assert_eq!(chs(16_450_560, geometry), SATURATED_CHS); // cylinder 1024
        assert_eq!(chs(16_450_559, geometry), [254, 0xFF, 0xFF]); // last addressable sector
        assert_eq!(chs(5, ChsFields::Saturated), SATURATED_CHS);
    }

    #[test]
    fn round_trip_and_validation() {
        let mut mbr = Mbr::new(&[0xFA; 10], 0xDEAD_BEEF).unwrap();
        mbr.partitions[0] = Some(Partition {
            bootable: true,
            partition_type: partition_type::FAT16,
            start_lba: 2048,
            sector_count: 4096,
        });
        let sector = mbr.encode(ChsFields::default()).unwrap();
        // Start CHS 0/32/33, type, end CHS of LBA 6143 = 0/97/33, LBA 2048, 4096 sectors.
        assert_eq!(&sector[446..462], &[0x80, 32, 33, 0, 0x06, 97, 33, 0, 0, 8, 0, 0, 0, 16, 0, 0]);
        assert_eq!(&sector[440..444], &[0xEF, 0xBE, 0xAD, 0xDE]);
        assert_eq!(Mbr::decode(&sector).unwrap(), mbr);
        mbr.partitions[1] =
            Some(Partition { bootable: false, partition_type: 0x83, start_lba: 4000, sector_count: 10 });
        assert_eq!(mbr.encode(ChsFields::default()), Err(MbrError::Overlap(0, 1)));
        assert!(Mbr::new(&[0; 441], 0).is_err());
    }
}
