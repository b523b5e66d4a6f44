//! Choosing the volume parameters: FAT type, cluster size, FAT size, root directory size.
//!
//! The FAT type is determined by the cluster count alone (fatgen103 §3.5 "FAT Type
//! Determination": fewer than 4085 clusters is FAT12, fewer than 65525 FAT16, else FAT32), so the
//! parameters must be chosen so that the count lands in the intended range. The defaults follow
//! what dosfstools' `mkfs.fat` does for an image file, so our images look like the ones upstream
//! made with `mkfs.vfat -C`:
//! - FAT32 from 512 MiB on (cluster size from its table), otherwise FAT12 or FAT16, starting at 4
//!   sectors per cluster and doubling until the count is valid, taking FAT16 when it yields more
//!   clusters than FAT12;
//! - the floppy formats (360, 720, 1200, 1440, 2880 KiB) get their classic geometry, media byte,
//!   cluster size and root directory size (the 1440 KiB EFI system partition image of the ISO types' UEFI boot);
//! - 1 reserved sector (32 for FAT32), 2 FATs, 512 root entries, and above 8192 sectors the
//!   reserved area, FATs and root directory are rounded up to whole clusters and the volume to
//!   whole tracks, as `mkfs.fat` aligns them.
//!
//! One deliberate difference: a FAT12 layout is rejected when syslinux's installer would
//! reject it. Its check (`libinstaller/fs.c`, `check_fat_bootsect`) subtracts
//! `(root_entries + 15) / 512` sectors for the root directory instead of
//! `(root_entries * 32 + 511) / 512`, so it overestimates the cluster count and refuses FAT12
//! volumes near the 4084-cluster limit that mkfs.fat does make (e.g. mkfs.fat's own 8 MiB
//! volume: "more than 4084 clusters but claims FAT12"). Such sizes get the next cluster size.

use super::{FatError, FatOptions, FatType, SECTOR_SIZE};

/// dosfstools' limits (they keep FAT16 clear of the FAT12 boundary).
const MAX_CLUSTERS_12: u32 = 4084;
const MIN_CLUSTERS_16: u32 = 4087;
const MAX_CLUSTERS_16: u32 = 65524;
const MIN_CLUSTERS_32: u32 = 65525;
const MAX_CLUSTERS_32: u32 = 0x0FFF_FFF5;
pub(crate) const NUMBER_OF_FATS: u32 = 2;

/// The decided geometry of a volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct VolumeParams {
    pub fat_type: FatType,
    pub total_sectors: u32,
    pub sectors_per_cluster: u32,
    pub reserved_sectors: u32,
    pub fat_sectors: u32,
    pub root_entries: u32,
    pub cluster_count: u32,
    pub media: u8,
    pub sectors_per_track: u16,
    pub heads: u16,
}

impl VolumeParams {
    pub fn root_sectors(&self) -> u32 {
        (self.root_entries * 32).div_ceil(SECTOR_SIZE as u32)
    }
    pub fn first_fat_sector(&self) -> u32 {
        self.reserved_sectors
    }
    pub fn root_sector(&self) -> u32 {
        self.reserved_sectors + NUMBER_OF_FATS * self.fat_sectors
    }
    pub fn data_sector(&self) -> u32 {
        self.root_sector() + self.root_sectors()
    }
    pub fn cluster_bytes(&self) -> u64 {
        u64::from(self.sectors_per_cluster) * SECTOR_SIZE
    }
    /// Byte offset (from the volume start) of a data cluster (≥ 2).
    pub fn cluster_offset(&self, cluster: u32) -> u64 {
        (u64::from(self.data_sector()) + u64::from(cluster - 2) * u64::from(self.sectors_per_cluster)) * SECTOR_SIZE
    }
}

struct Floppy {
    kib: u64,
    sectors_per_track: u16,
    media: u8,
    sectors_per_cluster: u32,
    root_entries: u32,
}

const FLOPPIES: [Floppy; 5] = [
    Floppy { kib: 360, sectors_per_track: 9, media: 0xFD, sectors_per_cluster: 2, root_entries: 112 },
    Floppy { kib: 720, sectors_per_track: 9, media: 0xF9, sectors_per_cluster: 2, root_entries: 112 },
    Floppy { kib: 1200, sectors_per_track: 15, media: 0xF9, sectors_per_cluster: 1, root_entries: 224 },
    Floppy { kib: 1440, sectors_per_track: 18, media: 0xF0, sectors_per_cluster: 1, root_entries: 224 },
    Floppy { kib: 2880, sectors_per_track: 36, media: 0xF0, sectors_per_cluster: 2, root_entries: 224 },
];

fn align(sectors: u32, cluster: u32, enabled: bool) -> u32 {
    if enabled { sectors.div_ceil(cluster) * cluster } else { sectors }
}

/// FAT sectors and cluster count for one type and cluster size, or `None` when the count is
/// out of the type's range.
fn try_type(
    fat_type: FatType,
    total: u32,
    reserved: u32,
    root_sectors: u32,
    spc: u32,
    aligned: bool,
    explicit: bool,
) -> Option<(u32, u32)> {
    let bits = match fat_type {
        FatType::Fat12 => 12u64,
        FatType::Fat16 => 16,
        FatType::Fat32 => 32,
    };
    let root = if fat_type == FatType::Fat32 { 0 } else { align(root_sectors, spc, aligned) };
    let fat_data = total.checked_sub(align(reserved, spc, aligned))?.checked_sub(root)?;
    let mut fat_sectors = 1u32;
    let clusters = loop {
        let fats = NUMBER_OF_FATS * align(fat_sectors, spc, aligned);
        let clusters = fat_data.checked_sub(fats)? / spc;
        let needed = ((u64::from(clusters) + 2) * bits).div_ceil(8).div_ceil(SECTOR_SIZE) as u32;
        if needed <= fat_sectors {
            break clusters;
        }
        fat_sectors = needed;
    };
    let fat_sectors = align(fat_sectors, spc, aligned);
    // What syslinux computes (see the module documentation).
    let syslinux_estimate = (total
        - align(reserved, spc, aligned)
        - NUMBER_OF_FATS * fat_sectors
        - (root_sectors * 16 + 15) / SECTOR_SIZE as u32)
        / spc;
    let valid = match fat_type {
        FatType::Fat12 => (1..=MAX_CLUSTERS_12).contains(&clusters) && syslinux_estimate <= MAX_CLUSTERS_12,
        FatType::Fat16 => (MIN_CLUSTERS_16..=MAX_CLUSTERS_16).contains(&clusters),
        FatType::Fat32 => (if explicit { 1 } else { MIN_CLUSTERS_32 }..=MAX_CLUSTERS_32).contains(&clusters),
    };
    valid.then_some((fat_sectors, clusters))
}

/// Decides the parameters for `options`.
pub(crate) fn choose(options: &FatOptions) -> Result<VolumeParams, FatError> {
    if !options.size_bytes.is_multiple_of(SECTOR_SIZE) {
        return Err(FatError::InvalidSize { size: options.size_bytes, reason: "not a multiple of 512 bytes" });
    }
    let sectors = options.size_bytes / SECTOR_SIZE;
    let mut total = u32::try_from(sectors)
        .map_err(|_| FatError::InvalidSize { size: options.size_bytes, reason: "more than 2^32 - 1 sectors" })?;
    if total < 64 {
        return Err(FatError::InvalidSize { size: options.size_bytes, reason: "too small for a FAT volume" });
    }

    // Geometry recorded in the BPB (only old BIOS code uses it), as mkfs.fat picks it.
    let (mut heads, mut sectors_per_track): (u16, u16) = if total <= 524_288 {
        (
            match total {
                0..=32_768 => 2,
                32_769..=65_536 => 4,
                65_537..=262_144 => 8,
                _ => 16,
            },
            if total <= 4096 { 16 } else { 32 },
        )
    } else {
        (
            match total {
                0..=1_032_192 => 16,
                1_032_193..=2_064_384 => 32,
                2_064_385..=4_128_768 => 64,
                4_128_769..=8_257_536 => 128,
                _ => 255,
            },
            63,
        )
    };
    let mut media = 0xF8;
    let mut spc = 4u32;
    let mut root_entries = 512u32;
    if let Some(floppy) = FLOPPIES.iter().find(|f| f.kib * 1024 == options.size_bytes) {
        heads = 2;
        sectors_per_track = floppy.sectors_per_track;
        media = floppy.media;
        spc = floppy.sectors_per_cluster;
        root_entries = floppy.root_entries;
    }
    if let Some((h, s)) = options.geometry {
        heads = h;
        sectors_per_track = s;
    }
    if let Some(entries) = options.root_entries {
        root_entries = u32::from(entries).div_ceil(16) * 16;
    }

    let fat_type = options.fat_type.or((options.size_bytes >= 512 * 1024 * 1024).then_some(FatType::Fat32));
    if fat_type == Some(FatType::Fat32) {
        spc = match total {
            t if t > 32 * 1024 * 1024 * 2 => 64,
            t if t > 16 * 1024 * 1024 * 2 => 32,
            t if t > 8 * 1024 * 1024 * 2 => 16,
            t if t > 260 * 1024 * 2 => 8,
            _ => 1,
        };
    }
    let mut max_spc = 128;
    if let Some(requested) = options.sectors_per_cluster {
        if !requested.is_power_of_two() || requested > 128 {
            return Err(FatError::InvalidSize {
                size: options.size_bytes,
                reason: "sectors per cluster must be 1, 2, 4 … 128",
            });
        }
        spc = u32::from(requested);
        max_spc = spc;
    }
    let reserved = if fat_type == Some(FatType::Fat32) { 32 } else { 1 };
    let aligned = total > 8192;
    if aligned && sectors_per_track > 0 {
        total = total / u32::from(sectors_per_track) * u32::from(sectors_per_track);
    }
    let root_sectors = (root_entries * 32).div_ceil(SECTOR_SIZE as u32);
    let explicit = options.fat_type.is_some();

    while spc <= max_spc {
        let attempt = |t| try_type(t, total, reserved, root_sectors, spc, aligned, explicit);
        let chosen = match fat_type {
            Some(t) => attempt(t).map(|r| (t, r)),
            None => match (attempt(FatType::Fat12), attempt(FatType::Fat16)) {
                (Some(a), Some(b)) => Some(if b.1 > a.1 { (FatType::Fat16, b) } else { (FatType::Fat12, a) }),
                (Some(a), None) => Some((FatType::Fat12, a)),
                (None, Some(b)) => Some((FatType::Fat16, b)),
                (None, None) => None,
            },
        };
        if let Some((fat_type, (fat_sectors, cluster_count))) = chosen {
            let is_32 = fat_type == FatType::Fat32;
            let root_entries = if is_32 { 0 } else { align(root_sectors, spc, aligned) * (SECTOR_SIZE as u32 / 32) };
            return Ok(VolumeParams {
                fat_type,
                total_sectors: total,
                sectors_per_cluster: spc,
                reserved_sectors: align(reserved, spc, aligned),
                fat_sectors,
                root_entries,
                cluster_count,
                media,
                sectors_per_track,
                heads,
            });
        }
        spc *= 2;
    }
    Err(FatError::InvalidSize {
        size: options.size_bytes,
        reason: "no cluster size gives a valid cluster count for the FAT type",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timestamp::Timestamp;

    fn params(size: u64, fat_type: Option<FatType>) -> VolumeParams {
        let mut options = FatOptions::new(size, Timestamp(0));
        options.fat_type = fat_type;
        choose(&options).unwrap()
    }

    #[test]
    fn types_follow_the_size() {
        assert_eq!(params(1440 * 1024, None).fat_type, FatType::Fat12);
        let floppy = params(1440 * 1024, None);
        assert_eq!((floppy.media, floppy.sectors_per_cluster, floppy.root_entries), (0xF0, 1, 224));
        assert_eq!(params(8 * 1024 * 1024, None).fat_type, FatType::Fat12);
        assert_eq!(params(64 * 1024 * 1024, None).fat_type, FatType::Fat16);
        assert_eq!(params(600 * 1024 * 1024, None).fat_type, FatType::Fat32);
        let forced = params(64 * 1024 * 1024, Some(FatType::Fat32));
        assert_eq!((forced.fat_type, forced.reserved_sectors), (FatType::Fat32, 32));
        for p in [params(20 * 1024 * 1024, None), params(300 * 1024 * 1024, None)] {
            let data = p.total_sectors - p.data_sector();
            assert!(p.cluster_count <= data / p.sectors_per_cluster);
            assert!(u64::from(p.fat_sectors) * 512 * 8 / 16 >= u64::from(p.cluster_count) + 2);
        }
    }
}
