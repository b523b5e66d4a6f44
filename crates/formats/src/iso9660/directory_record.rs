//! Directory records and the packing of records into directory extents.
//!
//! ECMA-119 9.1 (directory record: length, extended attribute length, extent location (7.3.3),
//! data length (7.3.3), recording date (9.1.5), file flags (9.1.6), interleave fields,
//! volume sequence number (7.2.3), file identifier, padding byte, system use field), 6.8.1.1
//! (a record never crosses a logical sector boundary: the rest of the sector is zero-filled)
//! and 6.8.2.2 / 9.1.11 (the first two records of every directory are `.` (identifier 0x00) and
//! `..` (identifier 0x01)).

use super::SECTOR_SIZE;
use super::fields::{both_endian_u16, both_endian_u32, directory_record_date};
use crate::timestamp::Timestamp;

/// 9.1.6 bit 1: the record describes a directory.
pub(crate) const FLAG_DIRECTORY: u8 = 0x02;
/// Size of the fixed part of a record (before the identifier).
pub(crate) const FIXED_LEN: usize = 33;
/// Records are at most 255 bytes (their length is one byte).
pub(crate) const MAX_RECORD_LEN: usize = 255;

/// Length of a record's fixed part, identifier and padding byte (9.1.12: a padding byte
/// follows an identifier of even length, so the system use field starts at an even offset).
pub(crate) fn base_len(identifier_len: usize) -> usize {
    FIXED_LEN + identifier_len + usize::from(identifier_len.is_multiple_of(2))
}

/// Total record length for a given identifier and system use field, rounded to even.
pub(crate) fn record_len(identifier_len: usize, system_use_len: usize) -> usize {
    let len = base_len(identifier_len) + system_use_len;
    len + len % 2
}

/// Encodes one directory record.
pub(crate) fn encode(
    identifier: &[u8],
    extent_lba: u32,
    data_length: u32,
    flags: u8,
    time: Timestamp,
    system_use: &[u8],
) -> Vec<u8> {
    let len = record_len(identifier.len(), system_use.len());
    let mut out = Vec::with_capacity(len);
    out.push(u8::try_from(len).unwrap_or(u8::MAX));
    out.push(0); // no extended attribute record
    out.extend_from_slice(&both_endian_u32(extent_lba));
    out.extend_from_slice(&both_endian_u32(data_length));
    out.extend_from_slice(&directory_record_date(time));
    out.push(flags);
    out.push(0); // file unit size: not interleaved
    out.push(0); // interleave gap size
    out.extend_from_slice(&both_endian_u16(1)); // volume sequence number
    out.push(u8::try_from(identifier.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(identifier);
    if identifier.len().is_multiple_of(2) {
        out.push(0);
    }
    out.extend_from_slice(system_use);
    out.resize(len, 0);
    out
}

/// Places records of the given lengths into sectors (6.8.1.1); returns each record's offset
/// from the start of the directory extent and the extent's total length (whole sectors).
pub(crate) fn pack(lengths: impl IntoIterator<Item = usize>) -> (Vec<u64>, u64) {
    let mut offsets = Vec::new();
    let mut position = 0u64;
    for len in lengths {
        let len = len as u64;
        let used_in_sector = position % SECTOR_SIZE;
        if used_in_sector + len > SECTOR_SIZE {
            position += SECTOR_SIZE - used_in_sector;
        }
        offsets.push(position);
        position += len;
    }
    let total = position.div_ceil(SECTOR_SIZE).max(1) * SECTOR_SIZE;
    (offsets, total)
}

/// A record as the reader sees it.
#[derive(Debug, Clone)]
pub(crate) struct DecodedRecord<'a> {
    pub extent_lba: u32,
    pub data_length: u32,
    pub flags: u8,
    pub identifier: &'a [u8],
    pub system_use: &'a [u8],
}

/// Decodes the record at the start of `bytes` (`None` for a zero length byte, which marks the
/// unused rest of a sector).
pub(crate) fn decode(bytes: &[u8]) -> Option<Result<DecodedRecord<'_>, &'static str>> {
    let len = *bytes.first()? as usize;
    if len == 0 {
        return None;
    }
    Some((|| {
        if len < FIXED_LEN + 1 || len > bytes.len() {
            return Err("directory record length out of range");
        }
        let record = &bytes[..len];
        let id_len = record[32] as usize;
        let system_use_start = base_len(id_len);
        if system_use_start > len {
            return Err("directory record identifier overruns the record");
        }
        Ok(DecodedRecord {
            extent_lba: u32::from_le_bytes([record[2], record[3], record[4], record[5]]),
            data_length: u32::from_le_bytes([record[10], record[11], record[12], record[13]]),
            flags: record[25],
            identifier: &record[33..33 + id_len],
            system_use: &record[system_use_start..],
        })
    })())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_fields() {
        let record = encode(b"A.B;1", 20, 5, 0, Timestamp(0), b"");
        assert_eq!(record.len(), 38);
        assert_eq!(record[0], 38);
        assert_eq!(&record[2..10], &[20, 0, 0, 0, 0, 0, 0, 20]);
        assert_eq!(&record[10..18], &[5, 0, 0, 0, 0, 0, 0, 5]);
        assert_eq!(record[32], 5);
        let decoded = decode(&record).unwrap().unwrap();
        assert_eq!((decoded.extent_lba, decoded.data_length, decoded.identifier), (20, 5, &b"A.B;1"[..]));
        // Even identifier → padding byte, and the total stays even.
        assert_eq!(encode(b"AB", 0, 0, 0, Timestamp(0), b"xyz").len(), 33 + 2 + 1 + 3 + 1);
    }

    #[test]
    fn packing_never_crosses_sectors() {
        let (offsets, total) = pack([34, 34, 1000, 1000, 100]);
        assert_eq!(offsets, [0, 34, 68, 2048, 3048]);
        assert_eq!(total, 4096);
        assert_eq!(pack([34, 34]).1, 2048);
    }
}
