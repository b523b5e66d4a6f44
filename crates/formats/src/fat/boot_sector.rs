//! The boot sector with its BIOS Parameter Block, and the FAT32 FSInfo sector.
//!
//! Microsoft "FAT: General Overview of On-Disk Format" 1.03 (fatgen103) §3.1 (BPB common to all
//! types), §3.2 (FAT12/16 extension at offset 36), §3.3 (FAT32 extension at offset 36), §5
//! (FSInfo). The boot code is a stub that asks the BIOS for the next boot device (`int 18h`):
//! a bootloader installer (syslinux) replaces it, keeping the BPB.

use super::params::{NUMBER_OF_FATS, VolumeParams};
use super::{FatType, SECTOR_SIZE_USIZE};

/// `int 18h` (boot failure: try the next device), then `jmp $`.
const STUB_BOOT_CODE: [u8; 4] = [0xCD, 0x18, 0xEB, 0xFE];
/// §3.2/§3.3 `BS_BootSig`: the three following fields are present.
const EXTENDED_BOOT_SIGNATURE: u8 = 0x29;
/// FAT32: sector of the FSInfo structure and of the boot sector backup.
pub(crate) const FSINFO_SECTOR: u32 = 1;
pub(crate) const BACKUP_BOOT_SECTOR: u32 = 6;

/// Text and identity fields of the boot sector.
pub(crate) struct BootSectorIds<'a> {
    pub oem_name: &'a [u8; 8],
    pub volume_id: u32,
    /// 11 bytes, space padded (`NO NAME    ` when unlabelled).
    pub volume_label: &'a [u8; 11],
    pub hidden_sectors: u32,
}

/// Encodes sector 0.
pub(crate) fn encode(params: &VolumeParams, ids: &BootSectorIds<'_>) -> Vec<u8> {
    let mut out = vec![0u8; SECTOR_SIZE_USIZE];
    let is_32 = params.fat_type == FatType::Fat32;
    let code_offset = if is_32 { 0x5A } else { 0x3E };
    out[0] = 0xEB; // jmp short to the boot code, then nop (§3.1 BS_jmpBoot)
    out[1] = (code_offset - 2) as u8;
    out[2] = 0x90;
    out[3..11].copy_from_slice(ids.oem_name);
    out[11..13].copy_from_slice(&(SECTOR_SIZE_USIZE as u16).to_le_bytes());
    out[13] = params.sectors_per_cluster as u8;
    out[14..16].copy_from_slice(&(params.reserved_sectors as u16).to_le_bytes());
    out[16] = NUMBER_OF_FATS as u8;
    out[17..19].copy_from_slice(&(params.root_entries as u16).to_le_bytes());
    if !is_32 && params.total_sectors < 0x10000 {
        out[19..21].copy_from_slice(&(params.total_sectors as u16).to_le_bytes());
    } else {
        out[32..36].copy_from_slice(&params.total_sectors.to_le_bytes());
    }
    out[21] = params.media;
    if !is_32 {
        out[22..24].copy_from_slice(&(params.fat_sectors as u16).to_le_bytes());
    }
    out[24..26].copy_from_slice(&params.sectors_per_track.to_le_bytes());
    out[26..28].copy_from_slice(&params.heads.to_le_bytes());
    out[28..32].copy_from_slice(&ids.hidden_sectors.to_le_bytes());
    let drive_number = if params.media == 0xF8 { 0x80 } else { 0x00 };
    let (ext, fs_type): (usize, &[u8; 8]) = if is_32 {
        out[36..40].copy_from_slice(&params.fat_sectors.to_le_bytes());
        // 40: ExtFlags 0 (FATs mirrored), 42: FSVer 0.0
        out[44..48].copy_from_slice(&2u32.to_le_bytes()); // root directory cluster
        out[48..50].copy_from_slice(&(FSINFO_SECTOR as u16).to_le_bytes());
        out[50..52].copy_from_slice(&(BACKUP_BOOT_SECTOR as u16).to_le_bytes());
        (64, b"FAT32   ")
    } else if params.fat_type == FatType::Fat16 {
        (36, b"FAT16   ")
    } else {
        (36, b"FAT12   ")
    };
    out[ext] = drive_number;
    out[ext + 2] = EXTENDED_BOOT_SIGNATURE;
    out[ext + 3..ext + 7].copy_from_slice(&ids.volume_id.to_le_bytes());
    out[ext + 7..ext + 18].copy_from_slice(ids.volume_label);
    out[ext + 18..ext + 26].copy_from_slice(fs_type);
    out[code_offset..code_offset + STUB_BOOT_CODE.len()].copy_from_slice(&STUB_BOOT_CODE);
    out[510] = 0x55;
    out[511] = 0xAA;
    out
}

/// §5: the FSInfo sector with the free cluster count and the next free cluster hint.
pub(crate) fn encode_fsinfo(free_clusters: u32, next_free: u32) -> Vec<u8> {
    let mut out = vec![0u8; SECTOR_SIZE_USIZE];
    out[0..4].copy_from_slice(&0x4161_5252u32.to_le_bytes());
    out[484..488].copy_from_slice(&0x6141_7272u32.to_le_bytes());
    out[488..492].copy_from_slice(&free_clusters.to_le_bytes());
    out[492..496].copy_from_slice(&next_free.to_le_bytes());
    out[508..512].copy_from_slice(&0xAA55_0000u32.to_le_bytes());
    out
}

/// The BPB fields the reader needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DecodedBpb {
    pub bytes_per_sector: u32,
    pub sectors_per_cluster: u32,
    pub reserved_sectors: u32,
    pub number_of_fats: u32,
    pub root_entries: u32,
    pub total_sectors: u32,
    pub fat_sectors: u32,
    pub root_cluster: u32,
    pub hidden_sectors: u32,
}

/// Decodes the BPB; `None` if the sector does not look like a FAT boot sector.
pub(crate) fn decode(sector: &[u8]) -> Option<DecodedBpb> {
    if sector.len() < 512 || sector[510] != 0x55 || sector[511] != 0xAA {
        return None;
    }
    let u16_at = |o: usize| u32::from(u16::from_le_bytes([sector[o], sector[o + 1]]));
    let u32_at = |o: usize| u32::from_le_bytes([sector[o], sector[o + 1], sector[o + 2], sector[o + 3]]);
    let fat16_sectors = u16_at(22);
    let bpb = DecodedBpb {
        bytes_per_sector: u16_at(11),
        sectors_per_cluster: u32::from(sector[13]),
        reserved_sectors: u16_at(14),
        number_of_fats: u32::from(sector[16]),
        root_entries: u16_at(17),
        total_sectors: if u16_at(19) != 0 { u16_at(19) } else { u32_at(32) },
        fat_sectors: if fat16_sectors != 0 { fat16_sectors } else { u32_at(36) },
        root_cluster: if fat16_sectors == 0 { u32_at(44) } else { 0 },
        hidden_sectors: u32_at(28),
    };
    let sane = bpb.bytes_per_sector.is_power_of_two()
        && (512..=4096).contains(&bpb.bytes_per_sector)
        && bpb.sectors_per_cluster.is_power_of_two()
        && bpb.number_of_fats >= 1
        && bpb.reserved_sectors >= 1
        && bpb.fat_sectors >= 1;
    sane.then_some(bpb)
}
