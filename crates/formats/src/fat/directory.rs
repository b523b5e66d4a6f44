//! Directory entries: short (8.3) entries, VFAT long-name entries, and their time stamps.
//!
//! fatgen103 §6 (the 32-byte directory entry: name, attributes, times, first cluster, size;
//! `.` and `..` entries; the volume label entry), §6.1 (date and time formats), §7 (long
//! directory entries: ordinal with the 0x40 "last" flag, 13 UCS-2 characters in three pieces,
//! attribute 0x0F, the checksum of the short name; stored in reverse order just before their
//! short entry; the name is NUL-terminated and padded with 0xFFFF), and the short-name
//! generation rules ("Basis-Name Generation Algorithm" and "Numeric-Tail Generation
//! Algorithm").
//!
//! A long-name entry is written whenever the caller's name is not already a valid upper-case
//! 8.3 name, so `syslinux.cfg` is stored as `SYSLINUX.CFG` plus the long name `syslinux.cfg`,
//! which is what `mdir` and Linux show.

use std::collections::BTreeSet;

use crate::timestamp::Timestamp;

pub(crate) const ENTRY_LEN: usize = 32;
pub(crate) const ATTR_READ_ONLY: u8 = 0x01;
pub(crate) const ATTR_HIDDEN: u8 = 0x02;
pub(crate) const ATTR_SYSTEM: u8 = 0x04;
pub(crate) const ATTR_VOLUME_ID: u8 = 0x08;
pub(crate) const ATTR_DIRECTORY: u8 = 0x10;
pub(crate) const ATTR_ARCHIVE: u8 = 0x20;
pub(crate) const ATTR_LONG_NAME: u8 = 0x0F;
const LAST_LONG_ENTRY: u8 = 0x40;
const CHARS_PER_LONG_ENTRY: usize = 13;
/// Longest long name (§7: 255 characters).
pub(crate) const MAX_LONG_NAME: usize = 255;

/// §6.1: (date, time, tenths) — dates count from 1980, times in 2-second units.
pub(crate) fn fat_time(time: Timestamp) -> (u16, u16, u8) {
    let civil = time.civil();
    if civil.year < 1980 {
        return ((1 << 5) | 1, 0, 0); // 1980-01-01 00:00:00, the earliest FAT time
    }
    if civil.year > 2107 {
        return ((127 << 9) | (12 << 5) | 31, (23 << 11) | (59 << 5) | 29, 100);
    }
    let date = (((civil.year - 1980) as u16) << 9) | (u16::from(civil.month) << 5) | u16::from(civil.day);
    let clock = (u16::from(civil.hour) << 11) | (u16::from(civil.minute) << 5) | u16::from(civil.second / 2);
    (date, clock, (civil.second % 2) * 100)
}

/// Characters allowed in short names besides A–Z and 0–9 (fatgen103 §6 "DIR_Name").
fn is_short_name_char(c: char) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit() || "!#$%&'()-@^_`{}~".contains(c)
}

/// Why a long name cannot be stored.
pub(crate) fn validate_long_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name == "." || name == ".." {
        return Err("empty, `.` and `..` are not file names");
    }
    if name.encode_utf16().count() > MAX_LONG_NAME {
        return Err("long names are at most 255 UTF-16 units");
    }
    if name.chars().any(|c| (c as u32) < 0x20 || "\"*/:<>?\\|\u{7f}".contains(c)) {
        return Err("control characters and \" * / : < > ? \\ | are not allowed");
    }
    if name.ends_with('.') || name.ends_with(' ') || name.starts_with(' ') {
        return Err("names cannot start with a space or end with a dot or space");
    }
    Ok(())
}

/// The name's short form and whether a long name is needed, within one directory.
pub(crate) struct ShortName {
    pub name: [u8; 11],
    pub needs_long_name: bool,
}

/// The basis name (fatgen103 "Basis-Name Generation"): upper-cased, invalid characters replaced
/// by `_`, spaces and leading dots removed, 8 + 3 characters. Returns the base, the extension
/// and whether information was lost (which forces a numeric tail).
fn basis_name(long: &str) -> (String, String, bool) {
    let mut lossy = false;
    let convert = |part: &str, lossy: &mut bool| -> String {
        let mut out = String::with_capacity(part.len());
        for c in part.chars() {
            if c == ' ' || c == '.' {
                *lossy = true;
                continue;
            }
            let upper = c.to_ascii_uppercase();
            if is_short_name_char(upper) {
                out.push(upper);
            } else {
                *lossy = true;
                out.push('_');
            }
        }
        out
    };
    let trimmed = long.trim_start_matches('.');
    lossy |= trimmed.len() != long.len();
    let (base, ext) = match trimmed.rfind('.') {
        Some(dot) => (&trimmed[..dot], &trimmed[dot + 1..]),
        None => (trimmed, ""),
    };
    let mut base = convert(base, &mut lossy);
    let mut ext = convert(ext, &mut lossy);
    if base.len() > 8 {
        base.truncate(8);
        lossy = true;
    }
    if ext.len() > 3 {
        ext.truncate(3);
        lossy = true;
    }
    if base.is_empty() {
        base.push('_');
        lossy = true;
    }
    (base, ext, lossy)
}

fn pack(base: &str, ext: &str) -> [u8; 11] {
    let mut out = [b' '; 11];
    out[..base.len()].copy_from_slice(base.as_bytes());
    out[8..8 + ext.len()].copy_from_slice(ext.as_bytes());
    out
}

/// Assigns short names to the long names of one directory, in order, avoiding clashes with
/// each other (numeric tails `~1`, `~2`, …).
pub(crate) fn assign_short_names(names: &[&str]) -> Vec<ShortName> {
    let mut taken: BTreeSet<[u8; 11]> = BTreeSet::new();
    let mut out = Vec::with_capacity(names.len());
    for long in names {
        let (base, ext, lossy) = basis_name(long);
        let exact = |packed: &[u8; 11]| display_short_name(packed) == *long;
        let mut name = pack(&base, &ext);
        if lossy || taken.contains(&name) {
            let mut n = 1u32;
            loop {
                let tail = format!("~{n}");
                let keep = base.len().min(8 - tail.len());
                name = pack(&format!("{}{tail}", &base[..keep]), &ext);
                if !taken.contains(&name) {
                    break;
                }
                n += 1;
            }
        }
        taken.insert(name);
        out.push(ShortName { name, needs_long_name: !exact(&name) });
    }
    out
}

/// `NAME    EXT` → `NAME.EXT`.
pub(crate) fn display_short_name(raw: &[u8; 11]) -> String {
    let base = String::from_utf8_lossy(&raw[..8]).trim_end().to_owned();
    let ext = String::from_utf8_lossy(&raw[8..]).trim_end().to_owned();
    if ext.is_empty() { base } else { format!("{base}.{ext}") }
}

/// §7 "LDIR_Chksum".
pub(crate) fn short_name_checksum(name: &[u8; 11]) -> u8 {
    name.iter().fold(0u8, |sum, &c| (if sum & 1 != 0 { 0x80u8 } else { 0 }).wrapping_add(sum >> 1).wrapping_add(c))
}

/// Number of long entries a name needs.
pub(crate) fn long_entry_count(long: &str) -> usize {
    long.encode_utf16().count().div_ceil(CHARS_PER_LONG_ENTRY)
}

/// The long entries for `long`, in on-disk order (last piece first).
pub(crate) fn long_entries(long: &str, short: &[u8; 11]) -> Vec<[u8; ENTRY_LEN]> {
    let mut units: Vec<u16> = long.encode_utf16().collect();
    let count = units.len().div_ceil(CHARS_PER_LONG_ENTRY);
    if !units.len().is_multiple_of(CHARS_PER_LONG_ENTRY) {
        units.push(0);
    }
    units.resize(count * CHARS_PER_LONG_ENTRY, 0xFFFF);
    let checksum = short_name_checksum(short);
    (0..count)
        .rev()
        .map(|index| {
            let piece = &units[index * CHARS_PER_LONG_ENTRY..(index + 1) * CHARS_PER_LONG_ENTRY];
            let mut entry = [0u8; ENTRY_LEN];
            entry[0] = (index + 1) as u8 | if index + 1 == count { LAST_LONG_ENTRY } else { 0 };
            let positions = (1..11).step_by(2).chain((14..26).step_by(2)).chain((28..32).step_by(2));
            for (unit, position) in piece.iter().zip(positions) {
                entry[position..position + 2].copy_from_slice(&unit.to_le_bytes());
            }
            entry[11] = ATTR_LONG_NAME;
            entry[13] = checksum;
            entry
        })
        .collect()
}

/// A short directory entry.
pub(crate) fn short_entry(
    name: &[u8; 11],
    attributes: u8,
    first_cluster: u32,
    size: u32,
    time: Timestamp,
) -> [u8; ENTRY_LEN] {
    let (date, clock, tenths) = fat_time(time);
    let mut entry = [0u8; ENTRY_LEN];
    entry[..11].copy_from_slice(name);
    entry[11] = attributes;
    entry[13] = tenths;
    entry[14..16].copy_from_slice(&clock.to_le_bytes());
    entry[16..18].copy_from_slice(&date.to_le_bytes());
    entry[18..20].copy_from_slice(&date.to_le_bytes());
    entry[20..22].copy_from_slice(&((first_cluster >> 16) as u16).to_le_bytes());
    entry[22..24].copy_from_slice(&clock.to_le_bytes());
    entry[24..26].copy_from_slice(&date.to_le_bytes());
    entry[26..28].copy_from_slice(&(first_cluster as u16).to_le_bytes());
    entry[28..32].copy_from_slice(&size.to_le_bytes());
    entry
}

/// The characters of one long entry (up to 13, stopping at the terminator).
pub(crate) fn long_entry_units(entry: &[u8]) -> Vec<u16> {
    let positions = (1..11).step_by(2).chain((14..26).step_by(2)).chain((28..32).step_by(2));
    positions.map(|p| u16::from_le_bytes([entry[p], entry[p + 1]])).take_while(|&u| u != 0 && u != 0xFFFF).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shorts(names: &[&str]) -> Vec<(String, bool)> {
        assign_short_names(names).into_iter().map(|s| (display_short_name(&s.name), s.needs_long_name)).collect()
    }

    #[test]
    fn short_names() {
        assert_eq!(
            shorts(&["syslinux.cfg", "LDLINUX.SYS", "pl_version", "overlay.img", "a+b.c"]),
            [
                ("SYSLINUX.CFG".into(), true),
                ("LDLINUX.SYS".into(), false),
                ("PL_VER~1".into(), true),
                ("OVERLAY.IMG".into(), true),
                ("A_B~1.C".into(), true),
            ]
        );
        assert_eq!(shorts(&["Kernel", "kernel.x", "KERNEL"])[2], ("KERNEL~1".into(), true));
        assert_eq!(shorts(&[".disk"])[0], ("DISK~1".into(), true));
    }

    #[test]
    fn long_entries_round_trip() {
        let short = *b"SYSLIN~1CFG";
        let entries = long_entries("syslinux.config", &short);
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0][0], 0x42);
        assert_eq!(entries[1][0], 0x01);
        let mut units = long_entry_units(&entries[1]);
        units.extend(long_entry_units(&entries[0]));
        assert_eq!(String::from_utf16(&units).unwrap(), "syslinux.config");
        // 13 characters exactly: no terminator, no padding.
        assert_eq!(long_entry_units(&long_entries("abcdefghijklm", &short)[0]).len(), 13);
    }

    #[test]
    fn times() {
        // 2023-11-14T22:13:20Z
        assert_eq!(fat_time(Timestamp(1_700_000_000)), ((43 << 9) | (11 << 5) | 14, (22 << 11) | (13 << 5) | 10, 0));
        assert_eq!(fat_time(Timestamp(0)).0, (1 << 5) | 1);
    }
}
