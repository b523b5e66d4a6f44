//! Field encodings shared by the ISO 9660 structures.
//!
//! ECMA-119 (4th ed.) 7.2–7.3 (8-, 16- and 32-bit numbers in little-, big- and both-byte
//! orders), 7.4 (a- and d-characters, space-padded string fields), 8.4.26.1 (the 17-byte volume
//! descriptor date) and 9.1.5 (the 7-byte directory record date).

use crate::timestamp::Timestamp;

/// 7.3.3: a 32-bit number recorded little-endian then big-endian (8 bytes).
pub(crate) fn both_endian_u32(value: u32) -> [u8; 8] {
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&value.to_le_bytes());
    out[4..].copy_from_slice(&value.to_be_bytes());
    out
}

/// 7.2.3: a 16-bit number recorded little-endian then big-endian (4 bytes).
pub(crate) fn both_endian_u16(value: u16) -> [u8; 4] {
    let mut out = [0u8; 4];
    out[..2].copy_from_slice(&value.to_le_bytes());
    out[2..].copy_from_slice(&value.to_be_bytes());
    out
}

/// Reads the little-endian half of a 7.3.3 field.
pub(crate) fn read_both_endian_u32(bytes: &[u8]) -> Option<u32> {
    bytes.get(..4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// 9.1.5: years since 1900, month, day, hour, minute, second, offset from GMT in 15-minute
/// units (always 0: everything is recorded in UTC).
pub(crate) fn directory_record_date(time: Timestamp) -> [u8; 7] {
    let civil = time.civil();
    let year = (civil.year - 1900).clamp(0, 255) as u8;
    [year, civil.month, civil.day, civil.hour, civil.minute, civil.second, 0]
}

/// 8.4.26.1: `YYYYMMDDHHMMSScc` in digits plus the GMT offset byte (0).
pub(crate) fn volume_descriptor_date(time: Timestamp) -> [u8; 17] {
    let civil = time.civil();
    let text = format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}00",
        civil.year.clamp(1, 9999),
        civil.month,
        civil.day,
        civil.hour,
        civil.minute,
        civil.second
    );
    let mut out = [0u8; 17];
    out[..16].copy_from_slice(&text.as_bytes()[..16]);
    out
}

/// 8.4.26.1: "not specified" — sixteen `'0'` digits and a zero offset.
pub(crate) const UNSPECIFIED_DATE: [u8; 17] = *b"0000000000000000\0";

/// A string field padded with spaces (7.4.3: a- and d-character fields are space-filled).
pub(crate) fn padded_ascii(text: &str, len: usize) -> Vec<u8> {
    let mut out: Vec<u8> = text.bytes().take(len).collect();
    out.resize(len, b' ');
    out
}

/// A Joliet string field: UCS-2 big-endian, padded with UCS-2 spaces (0x0020).
pub(crate) fn padded_ucs2(text: &str, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    for unit in text.encode_utf16() {
        if out.len() + 2 > len {
            break;
        }
        out.extend_from_slice(&unit.to_be_bytes());
    }
    while out.len() + 2 <= len {
        out.extend_from_slice(&[0x00, 0x20]);
    }
    out.resize(len, 0);
    out
}

/// 7.4.1: d-characters are `A–Z`, `0–9` and `_`.
pub(crate) fn is_d_character(byte: u8) -> bool {
    byte.is_ascii_uppercase() || byte.is_ascii_digit() || byte == b'_'
}

/// 7.4.1: a-characters are the d-characters plus space and ``!"%&'()*+,-./:;<=>?``.
pub(crate) fn is_a_character(byte: u8) -> bool {
    is_d_character(byte) || b" !\"%&'()*+,-./:;<=>?".contains(&byte)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        assert_eq!(both_endian_u32(0x0102_0304), [4, 3, 2, 1, 1, 2, 3, 4]);
        assert_eq!(both_endian_u16(0x0800), [0, 8, 8, 0]);
        // 2024-02-29T12:34:56Z
        let t = Timestamp(1_709_210_096);
        assert_eq!(directory_record_date(t), [124, 2, 29, 12, 34, 56, 0]);
        assert_eq!(&volume_descriptor_date(t)[..16], b"2024022912345600");
        assert_eq!(padded_ucs2("ab", 6), [0, b'a', 0, b'b', 0, 0x20]);
    }
}
