//! Rock Ridge: System Use Sharing Protocol entries carrying POSIX names, modes and times.
//!
//! SUSP 1.12 (IEEE P1281): 4 (entry layout: signature, length, version), 5.1 `CE` continuation
//! area, 5.3 `SP` indicator (first entry of the root's `.` record), 5.5 `ER` extensions
//! reference. RRIP 1.12 (IEEE P1282): 4.1.1 `PX` (mode, links, uid, gid, serial number — the
//! 44-byte 1.12 form), 4.1.4 `NM` alternate name, 4.1.6 `TF` time stamps.
//!
//! The `ER` entry names "IEEE_1282" (RRIP 1.12). Linux prefers Rock Ridge over Joliet only
//! when it finds an `ER` entry, so it is always written (in a continuation area: it does not
//! fit in the root's `.` record next to `SP`, `PX` and `TF`).

use super::fields::{both_endian_u32, directory_record_date};
use crate::timestamp::Timestamp;

/// Length of a `CE` entry, reserved in every record whose entries overflow.
pub(crate) const CE_LEN: usize = 28;

const ER_IDENTIFIER: &str = "IEEE_1282";
const ER_DESCRIPTOR: &str = "THE IEEE 1282 PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS.";
const ER_SOURCE: &str = "PLEASE CONTACT THE IEEE STANDARDS DEPARTMENT, PISCATAWAY, NJ, USA FOR THE 1282 SPECIFICATION.";

fn entry(signature: &[u8; 2], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + body.len());
    out.extend_from_slice(signature);
    // Callers keep bodies short (names ≤ 192 bytes), so the length always fits.
    out.push(u8::try_from(4 + body.len()).unwrap_or(u8::MAX));
    out.push(1);
    out.extend_from_slice(body);
    out
}

/// SUSP 5.3: `SP` with check bytes BE EF and no bytes skipped.
pub(crate) fn sp() -> Vec<u8> {
    entry(b"SP", &[0xBE, 0xEF, 0])
}

/// SUSP 5.1: `CE` pointing at `length` bytes at `offset` in logical block `block`.
pub(crate) fn ce(block: u32, offset: u32, length: u32) -> Vec<u8> {
    let mut body = Vec::with_capacity(24);
    body.extend_from_slice(&both_endian_u32(block));
    body.extend_from_slice(&both_endian_u32(offset));
    body.extend_from_slice(&both_endian_u32(length));
    entry(b"CE", &body)
}

/// SUSP 5.5: `ER` for RRIP 1.12.
pub(crate) fn er() -> Vec<u8> {
    let mut body = vec![ER_IDENTIFIER.len() as u8, ER_DESCRIPTOR.len() as u8, ER_SOURCE.len() as u8, 1];
    body.extend_from_slice(ER_IDENTIFIER.as_bytes());
    body.extend_from_slice(ER_DESCRIPTOR.as_bytes());
    body.extend_from_slice(ER_SOURCE.as_bytes());
    entry(b"ER", &body)
}

/// RRIP 4.1.1: `PX` with the file serial number (RRIP 1.12 form, 44 bytes).
pub(crate) fn px(mode: u32, nlink: u32, uid: u32, gid: u32, serial: u32) -> Vec<u8> {
    let mut body = Vec::with_capacity(40);
    for value in [mode, nlink, uid, gid, serial] {
        body.extend_from_slice(&both_endian_u32(value));
    }
    entry(b"PX", &body)
}

/// RRIP 4.1.6: `TF` with modification, access and attribute-change times (7-byte form).
pub(crate) fn tf(time: Timestamp) -> Vec<u8> {
    const MODIFY: u8 = 0x02;
    const ACCESS: u8 = 0x04;
    const ATTRIBUTES: u8 = 0x08;
    let date = directory_record_date(time);
    let mut body = vec![MODIFY | ACCESS | ATTRIBUTES];
    for _ in 0..3 {
        body.extend_from_slice(&date);
    }
    entry(b"TF", &body)
}

/// RRIP 4.1.4: `NM` holding the whole name (no continuation flag).
pub(crate) fn nm(name: &str) -> Vec<u8> {
    let mut body = vec![0u8];
    body.extend_from_slice(name.as_bytes());
    entry(b"NM", &body)
}

/// A decoded entry, for the reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawEntry<'a> {
    pub signature: [u8; 2],
    pub body: &'a [u8],
}

/// Splits a System Use field into entries; stops at padding or a malformed length.
pub(crate) fn parse_entries(mut area: &[u8]) -> Vec<RawEntry<'_>> {
    let mut out = Vec::new();
    while area.len() >= 4 {
        let len = area[2] as usize;
        if len < 4 || len > area.len() {
            break;
        }
        out.push(RawEntry { signature: [area[0], area[1]], body: &area[4..len] });
        area = &area[len..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_lengths() {
        assert_eq!(sp().len(), 7);
        assert_eq!(ce(1, 2, 3).len(), CE_LEN);
        assert_eq!(px(0o100_444, 1, 0, 0, 7).len(), 44);
        assert_eq!(tf(Timestamp(0)).len(), 26);
        assert_eq!(nm("ab"), b"NM\x07\x01\x00ab");
        let er = er();
        assert_eq!(er.len(), 8 + 9 + 72 + 93);
        assert_eq!(er[2] as usize, er.len());
        let parsed = parse_entries(&[sp(), nm("x")].concat()).into_iter().map(|e| e.signature).collect::<Vec<_>>();
        assert_eq!(parsed, [*b"SP", *b"NM"]);
    }
}
