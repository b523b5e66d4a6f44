//! The File Allocation Table itself.
//!
//! fatgen103 §4: entry 0 holds the media byte in its low 8 bits with all other bits set, entry 1
//! the end-of-chain mark; each allocated cluster's entry holds the next cluster of its chain or
//! an end-of-chain mark (≥ 0xFF8 / 0xFFF8 / 0x0FFFFFF8; we write 0xFFF / 0xFFFF / 0x0FFFFFFF as
//! mkfs.fat does); free clusters hold 0. FAT12 packs two 12-bit entries into three bytes
//! (§4 "FAT12"), FAT32 entries use the low 28 bits.
//!
//! Every chain written here is contiguous, so the table is described by a list of runs and
//! streamed without being built in memory.

use std::io::{self, Write};

use super::FatType;

/// A contiguous chain: clusters `first .. first + count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Run {
    pub first: u32,
    pub count: u32,
}

fn end_of_chain(fat_type: FatType) -> u32 {
    match fat_type {
        FatType::Fat12 => 0xFFF,
        FatType::Fat16 => 0xFFFF,
        FatType::Fat32 => 0x0FFF_FFFF,
    }
}

/// Writes one copy of the FAT: `entries` entries (clusters 0 .. entries), padded with zeros to
/// `sectors` sectors. `runs` must be sorted and non-overlapping.
pub(crate) fn write_table(
    out: &mut dyn Write,
    fat_type: FatType,
    media: u8,
    runs: &[Run],
    sectors: u32,
) -> io::Result<()> {
    let total_bytes = u64::from(sectors) * 512;
    let entries: u64 = match fat_type {
        FatType::Fat12 => total_bytes * 2 / 3,
        FatType::Fat16 => total_bytes / 2,
        FatType::Fat32 => total_bytes / 4,
    };
    let eoc = end_of_chain(fat_type);
    let mut run_index = 0usize;
    let mut value_of = |cluster: u64| -> u32 {
        match cluster {
            0 => (eoc & !0xFF) | u32::from(media),
            1 => eoc,
            _ => {
                let cluster = cluster as u32;
                while run_index < runs.len() && runs[run_index].first + runs[run_index].count <= cluster {
                    run_index += 1;
                }
                match runs.get(run_index) {
                    Some(run) if run.first <= cluster => {
                        if cluster + 1 == run.first + run.count {
                            eoc
                        } else {
                            cluster + 1
                        }
                    }
                    _ => 0,
                }
            }
        }
    };
    let mut buffer: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut written = 0u64;
    let mut cluster = 0u64;
    while cluster < entries {
        match fat_type {
            FatType::Fat12 => {
                let a = value_of(cluster);
                let b = if cluster + 1 < entries { value_of(cluster + 1) } else { 0 };
                let packed = a | (b << 12);
                buffer.extend_from_slice(&packed.to_le_bytes()[..3]);
                cluster += 2;
            }
            FatType::Fat16 => {
                buffer.extend_from_slice(&(value_of(cluster) as u16).to_le_bytes());
                cluster += 1;
            }
            FatType::Fat32 => {
                buffer.extend_from_slice(&value_of(cluster).to_le_bytes());
                cluster += 1;
            }
        }
        if buffer.len() >= 60 * 1024 {
            let take = (buffer.len() as u64).min(total_bytes - written) as usize;
            out.write_all(&buffer[..take])?;
            written += take as u64;
            buffer.clear();
        }
    }
    let take = (buffer.len() as u64).min(total_bytes - written) as usize;
    out.write_all(&buffer[..take])?;
    written += take as u64;
    crate::source::write_zeros(out, total_bytes - written)
}

/// Reads entry `cluster` from a FAT held in `table`.
pub(crate) fn read_entry(table: &[u8], fat_type: FatType, cluster: u32) -> Option<u32> {
    let c = cluster as usize;
    match fat_type {
        FatType::Fat12 => {
            let offset = c + c / 2;
            let pair = u16::from_le_bytes([*table.get(offset)?, *table.get(offset + 1)?]);
            Some(u32::from(if c.is_multiple_of(2) { pair & 0x0FFF } else { pair >> 4 }))
        }
        FatType::Fat16 => Some(u32::from(u16::from_le_bytes([*table.get(2 * c)?, *table.get(2 * c + 1)?]))),
        FatType::Fat32 => {
            let b = table.get(4 * c..4 * c + 4)?;
            Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) & 0x0FFF_FFFF)
        }
    }
}

/// Whether an entry value ends a chain.
pub(crate) fn is_end_of_chain(fat_type: FatType, value: u32) -> bool {
    match fat_type {
        FatType::Fat12 => value >= 0xFF8,
        FatType::Fat16 => value >= 0xFFF8,
        FatType::Fat32 => value >= 0x0FFF_FFF8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fat12_packing_and_chains() {
        let mut out = Vec::new();
        let runs = [Run { first: 2, count: 3 }, Run { first: 5, count: 1 }];
        write_table(&mut out, FatType::Fat12, 0xF8, &runs, 1).unwrap();
        assert_eq!(out.len(), 512);
        assert_eq!(&out[..3], &[0xF8, 0xFF, 0xFF]);
        let chain: Vec<u32> = (0..7).map(|c| read_entry(&out, FatType::Fat12, c).unwrap()).collect();
        assert_eq!(chain, [0xFF8, 0xFFF, 3, 4, 0xFFF, 0xFFF, 0]);
        let mut out32 = Vec::new();
        write_table(&mut out32, FatType::Fat32, 0xF8, &runs, 1).unwrap();
        assert_eq!(read_entry(&out32, FatType::Fat32, 0), Some(0x0FFF_FFF8));
        assert_eq!(read_entry(&out32, FatType::Fat32, 4), Some(0x0FFF_FFFF));
    }
}
