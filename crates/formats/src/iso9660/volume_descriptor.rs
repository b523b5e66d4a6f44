//! Volume descriptors: the sectors from 16 on that describe the volume.
//!
//! ECMA-119 8.4 (primary volume descriptor), 8.5 (supplementary volume descriptor, used for
//! Joliet with escape sequence `%/E` = UCS-2 level 3 and UCS-2 string fields), 8.2 (boot record,
//! whose content El Torito 1.0 section 2.0 defines: system identifier "EL TORITO
//! SPECIFICATION" and the boot catalog's sector) and 8.3 (the set terminator).

use super::fields::{
    UNSPECIFIED_DATE, both_endian_u16, both_endian_u32, padded_ascii, padded_ucs2, volume_descriptor_date,
};
use super::{SECTOR_SIZE, SECTOR_SIZE_USIZE};
use crate::timestamp::Timestamp;

/// The standard identifier of every volume descriptor (8.1.2).
pub(crate) const STANDARD_IDENTIFIER: &[u8; 5] = b"CD001";
/// 8.1.1 volume descriptor types.
pub(crate) const TYPE_BOOT_RECORD: u8 = 0;
pub(crate) const TYPE_PRIMARY: u8 = 1;
pub(crate) const TYPE_SUPPLEMENTARY: u8 = 2;
pub(crate) const TYPE_TERMINATOR: u8 = 255;
/// Joliet's escape sequence for UCS-2 level 3.
pub(crate) const JOLIET_ESCAPE: &[u8; 3] = b"%/E";
/// El Torito 2.0: the boot system identifier.
pub(crate) const EL_TORITO_ID: &[u8] = b"EL TORITO SPECIFICATION";
/// Offset of the root directory record in a primary/supplementary descriptor (8.4.18).
pub(crate) const ROOT_RECORD_OFFSET: usize = 156;

/// The text fields of a volume descriptor.
pub(crate) struct VolumeIds<'a> {
    pub system: &'a str,
    pub volume: &'a str,
    pub volume_set: &'a str,
    pub publisher: &'a str,
    pub preparer: &'a str,
    pub application: &'a str,
}

/// Everything that differs between the primary and the Joliet descriptor.
pub(crate) struct VolumeDescriptor<'a> {
    pub joliet: bool,
    pub ids: VolumeIds<'a>,
    pub volume_space_sectors: u32,
    pub path_table_size: u32,
    pub l_path_table_lba: u32,
    pub m_path_table_lba: u32,
    /// The 34-byte root directory record (8.4.18).
    pub root_record: &'a [u8],
    pub time: Timestamp,
}

/// Encodes a primary (8.4) or Joliet supplementary (8.5) volume descriptor.
pub(crate) fn encode(vd: &VolumeDescriptor<'_>) -> Vec<u8> {
    let text = |value: &str, len: usize| if vd.joliet { padded_ucs2(value, len) } else { padded_ascii(value, len) };
    let mut out = vec![0u8; SECTOR_SIZE_USIZE];
    out[0] = if vd.joliet { TYPE_SUPPLEMENTARY } else { TYPE_PRIMARY };
    out[1..6].copy_from_slice(STANDARD_IDENTIFIER);
    out[6] = 1; // version
    out[8..40].copy_from_slice(&text(vd.ids.system, 32));
    out[40..72].copy_from_slice(&text(vd.ids.volume, 32));
    out[80..88].copy_from_slice(&both_endian_u32(vd.volume_space_sectors));
    if vd.joliet {
        out[88..91].copy_from_slice(JOLIET_ESCAPE);
    }
    out[120..124].copy_from_slice(&both_endian_u16(1)); // volume set size
    out[124..128].copy_from_slice(&both_endian_u16(1)); // volume sequence number
    out[128..132].copy_from_slice(&both_endian_u16(SECTOR_SIZE as u16));
    out[132..140].copy_from_slice(&both_endian_u32(vd.path_table_size));
    out[140..144].copy_from_slice(&vd.l_path_table_lba.to_le_bytes());
    out[148..152].copy_from_slice(&vd.m_path_table_lba.to_be_bytes());
    let root_len = vd.root_record.len().min(34);
    out[ROOT_RECORD_OFFSET..ROOT_RECORD_OFFSET + root_len].copy_from_slice(&vd.root_record[..root_len]);
    out[190..318].copy_from_slice(&text(vd.ids.volume_set, 128));
    out[318..446].copy_from_slice(&text(vd.ids.publisher, 128));
    out[446..574].copy_from_slice(&text(vd.ids.preparer, 128));
    out[574..702].copy_from_slice(&text(vd.ids.application, 128));
    out[702..739].copy_from_slice(&text("", 37)); // copyright file
    out[739..776].copy_from_slice(&text("", 37)); // abstract file
    out[776..813].copy_from_slice(&text("", 37)); // bibliographic file
    let date = volume_descriptor_date(vd.time);
    out[813..830].copy_from_slice(&date); // creation
    out[830..847].copy_from_slice(&date); // modification
    out[847..864].copy_from_slice(&UNSPECIFIED_DATE); // expiration
    out[864..881].copy_from_slice(&UNSPECIFIED_DATE); // effective
    out[881] = 1; // file structure version
    out
}

/// El Torito 2.0: the boot record volume descriptor.
pub(crate) fn encode_boot_record(catalog_lba: u32) -> Vec<u8> {
    let mut out = vec![0u8; SECTOR_SIZE_USIZE];
    out[0] = TYPE_BOOT_RECORD;
    out[1..6].copy_from_slice(STANDARD_IDENTIFIER);
    out[6] = 1;
    out[7..7 + EL_TORITO_ID.len()].copy_from_slice(EL_TORITO_ID);
    out[0x47..0x4B].copy_from_slice(&catalog_lba.to_le_bytes());
    out
}

/// 8.3: the volume descriptor set terminator.
pub(crate) fn encode_terminator() -> Vec<u8> {
    let mut out = vec![0u8; SECTOR_SIZE_USIZE];
    out[0] = TYPE_TERMINATOR;
    out[1..6].copy_from_slice(STANDARD_IDENTIFIER);
    out[6] = 1;
    out
}
