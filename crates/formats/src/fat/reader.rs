//! A FAT reader for `inspect` and the tests: the BPB (fatgen103 §3), FAT type determination by
//! cluster count (§3.5; a zero 16-bit FAT size means FAT32, as Linux decides), cluster chains
//! (§4), directory entries with long names (§6, §7; a long name is used only when its checksum
//! matches the short entry that follows it).

use std::io::{Read, Seek, SeekFrom, Write};

use super::boot_sector::{self, DecodedBpb};
use super::directory::{self, ATTR_DIRECTORY, ATTR_LONG_NAME, ATTR_VOLUME_ID, ENTRY_LEN};
use super::table;
use super::{FatError, FatType};
use crate::bounded::{PREALLOCATE_MAX, read_exact_len};

/// A directory entry as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FatEntry {
    /// The long name if there is one, else the short name as `NAME.EXT`.
    pub name: String,
    /// The short name as `NAME.EXT`.
    pub short_name: String,
    /// Whether the entry is a directory.
    pub is_directory: bool,
    /// First cluster (0 for empty files, and for the FAT12/16 root).
    pub first_cluster: u32,
    /// Recorded size in bytes.
    pub size: u32,
    /// Attribute byte.
    pub attributes: u8,
    /// Byte offset of the short entry from the start of the volume.
    pub entry_offset: u64,
}

/// Reads a FAT volume through `Read + Seek`.
pub struct FatReader<R: Read + Seek> {
    inner: R,
    volume_offset: u64,
    bpb: DecodedBpb,
    fat_type: FatType,
    fat: Vec<u8>,
    label: String,
    /// First sector of the FAT12/16 root directory.
    root_start: u64,
    /// First sector of cluster 2.
    data_start: u64,
}

impl<R: Read + Seek> FatReader<R> {
    /// Opens a volume that starts at the first byte.
    pub fn open(inner: R) -> Result<Self, FatError> {
        Self::open_at(inner, 0)
    }

    /// Opens a volume that starts at `volume_offset` (e.g. a partition of a disk image).
    pub fn open_at(mut inner: R, volume_offset: u64) -> Result<Self, FatError> {
        let mut sector = vec![0u8; 512];
        inner.seek(SeekFrom::Start(volume_offset))?;
        inner.read_exact(&mut sector)?;
        let bpb = boot_sector::decode(&sector).ok_or_else(|| FatError::Malformed("no FAT boot sector".to_owned()))?;
        // Sector numbers in u64: a crafted BPB's products overflow u32.
        let root_start = u64::from(bpb.reserved_sectors) + u64::from(bpb.number_of_fats) * u64::from(bpb.fat_sectors);
        let data_start = root_start + u64::from((bpb.root_entries * 32).div_ceil(bpb.bytes_per_sector));
        let clusters = u64::from(bpb.total_sectors).saturating_sub(data_start) / u64::from(bpb.sectors_per_cluster);
        let is_32 = u16::from_le_bytes([sector[22], sector[23]]) == 0;
        let fat_type = if is_32 {
            FatType::Fat32
        } else if clusters < 4085 {
            FatType::Fat12
        } else {
            FatType::Fat16
        };
        let label_offset = if is_32 { 71 } else { 43 };
        let label = String::from_utf8_lossy(&sector[label_offset..label_offset + 11]).trim_end().to_owned();
        let sector_bytes = u64::from(bpb.bytes_per_sector);
        inner.seek(SeekFrom::Start(volume_offset + u64::from(bpb.reserved_sectors) * sector_bytes))?;
        let fat = read_exact_len(&mut inner, u64::from(bpb.fat_sectors) * sector_bytes)?;
        Ok(Self { inner, volume_offset, bpb, fat_type, fat, label, root_start, data_start })
    }

    /// The FAT variant.
    pub fn fat_type(&self) -> FatType {
        self.fat_type
    }

    /// The label recorded in the boot sector.
    pub fn volume_label(&self) -> &str {
        &self.label
    }

    /// The hidden-sectors field of the BPB.
    pub fn hidden_sectors(&self) -> u32 {
        self.bpb.hidden_sectors
    }

    /// The root directory.
    pub fn root(&self) -> FatEntry {
        FatEntry {
            name: String::new(),
            short_name: String::new(),
            is_directory: true,
            first_cluster: self.bpb.root_cluster,
            size: 0,
            attributes: ATTR_DIRECTORY,
            entry_offset: 0,
        }
    }

    fn sector_bytes(&self) -> u64 {
        u64::from(self.bpb.bytes_per_sector)
    }

    fn cluster_offset(&self, cluster: u32) -> u64 {
        (self.data_start + u64::from(cluster.saturating_sub(2)) * u64::from(self.bpb.sectors_per_cluster))
            * self.sector_bytes()
    }

    /// The clusters of a chain, in order.
    pub fn cluster_chain(&self, first: u32) -> Result<Vec<u32>, FatError> {
        let mut chain = Vec::new();
        let mut cluster = first;
        let limit = self.fat.len() as u64 * 8 / 12 + 2;
        while cluster >= 2 && !table::is_end_of_chain(self.fat_type, cluster) {
            if chain.len() as u64 > limit {
                return Err(FatError::Malformed(format!("cluster chain from {first} loops")));
            }
            chain.push(cluster);
            cluster = table::read_entry(&self.fat, self.fat_type, cluster)
                .ok_or_else(|| FatError::Malformed(format!("cluster {cluster} beyond the FAT")))?;
            if cluster == 0 {
                return Err(FatError::Malformed(format!("chain from {first} runs into a free cluster")));
            }
        }
        Ok(chain)
    }

    /// (volume offset, bytes) of each piece of a directory's storage.
    fn directory_regions(&self, dir: &FatEntry) -> Result<Vec<(u64, u64)>, FatError> {
        if dir.first_cluster == 0 {
            return Ok(vec![(self.root_start * self.sector_bytes(), u64::from(self.bpb.root_entries) * 32)]);
        }
        let cluster_bytes = u64::from(self.bpb.sectors_per_cluster) * self.sector_bytes();
        Ok(self
            .cluster_chain(dir.first_cluster)?
            .into_iter()
            .map(|c| (self.cluster_offset(c), cluster_bytes))
            .collect())
    }

    /// The entries of a directory (without `.`, `..` and the volume label).
    pub fn read_dir(&mut self, dir: &FatEntry) -> Result<Vec<FatEntry>, FatError> {
        let mut out = Vec::new();
        let mut long_parts: Vec<(u8, u8, Vec<u16>)> = Vec::new();
        for (offset, len) in self.directory_regions(dir)? {
            let mut bytes = vec![0u8; len as usize];
            self.inner.seek(SeekFrom::Start(self.volume_offset + offset))?;
            self.inner.read_exact(&mut bytes)?;
            for (index, raw) in bytes.chunks_exact(ENTRY_LEN).enumerate() {
                match raw[0] {
                    0x00 => return Ok(out),
                    0xE5 => {
                        long_parts.clear();
                        continue;
                    }
                    _ => {}
                }
                if raw[11] == ATTR_LONG_NAME {
                    long_parts.push((raw[0], raw[13], directory::long_entry_units(raw)));
                    continue;
                }
                let mut short = [0u8; 11];
                short.copy_from_slice(&raw[..11]);
                let long = std::mem::take(&mut long_parts);
                if raw[11] & ATTR_VOLUME_ID != 0 || short[0] == b'.' {
                    continue;
                }
                let checksum = directory::short_name_checksum(&short);
                let long_name = (!long.is_empty() && long.iter().all(|(_, sum, _)| *sum == checksum)).then(|| {
                    let units: Vec<u16> = long.iter().rev().flat_map(|(_, _, u)| u.iter().copied()).collect();
                    String::from_utf16_lossy(&units)
                });
                let short_name = directory::display_short_name(&short);
                let cluster = u32::from(u16::from_le_bytes([raw[26], raw[27]]))
                    | (u32::from(u16::from_le_bytes([raw[20], raw[21]])) << 16);
                out.push(FatEntry {
                    name: long_name.unwrap_or_else(|| short_name.clone()),
                    short_name,
                    is_directory: raw[11] & ATTR_DIRECTORY != 0,
                    first_cluster: cluster,
                    size: u32::from_le_bytes([raw[28], raw[29], raw[30], raw[31]]),
                    attributes: raw[11],
                    entry_offset: offset + (index * ENTRY_LEN) as u64,
                });
            }
        }
        Ok(out)
    }

    /// Finds `path`, matching long or short names case-insensitively (as FAT does).
    pub fn lookup(&mut self, path: &str) -> Result<Option<FatEntry>, FatError> {
        let mut current = self.root();
        for component in path.split('/').filter(|c| !c.is_empty()) {
            if !current.is_directory {
                return Ok(None);
            }
            let wanted = component.to_lowercase();
            let found = self
                .read_dir(&current)?
                .into_iter()
                .find(|e| e.name.to_lowercase() == wanted || e.short_name.to_lowercase() == wanted);
            match found {
                Some(entry) => current = entry,
                None => return Ok(None),
            }
        }
        Ok(Some(current))
    }

    /// Byte offset of a file's first byte from the start of the volume (None when empty).
    pub fn file_offset(&self, entry: &FatEntry) -> Option<u64> {
        (entry.first_cluster >= 2).then(|| self.cluster_offset(entry.first_cluster))
    }

    /// Streams a file's recorded size, following its cluster chain.
    pub fn read_file(&mut self, entry: &FatEntry, out: &mut dyn Write) -> Result<(), FatError> {
        let mut left = u64::from(entry.size);
        if left == 0 {
            return Ok(());
        }
        let cluster_bytes = u64::from(self.bpb.sectors_per_cluster) * self.sector_bytes();
        for cluster in self.cluster_chain(entry.first_cluster)? {
            let take = left.min(cluster_bytes);
            self.inner.seek(SeekFrom::Start(self.volume_offset + self.cluster_offset(cluster)))?;
            let copied = std::io::copy(&mut (&mut self.inner).take(take), out)?;
            if copied != take {
                return Err(FatError::Malformed(format!("{:?} runs past the end of the image", entry.name)));
            }
            left -= take;
            if left == 0 {
                return Ok(());
            }
        }
        Err(FatError::Malformed(format!("the cluster chain of {:?} is shorter than its size", entry.name)))
    }

    /// Reads a whole file into memory.
    pub fn read_file_to_vec(&mut self, entry: &FatEntry) -> Result<Vec<u8>, FatError> {
        let mut out = Vec::with_capacity((entry.size as usize).min(PREALLOCATE_MAX));
        self.read_file(entry, &mut out)?;
        Ok(out)
    }
}
