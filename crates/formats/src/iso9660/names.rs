//! File and directory identifiers of the three name spaces of one image.
//!
//! - ISO 9660 (ECMA-119 7.5 file identifiers, 7.6 directory identifiers): upper-case
//!   d-characters, `NAME.EXT;1` for files (the separator `.` is always present, 7.5.1), at most
//!   30 characters of name and extension together and 31 for directories (interchange level 2,
//!   10.2). Anything else is mapped to `_`; clashes within a directory get a `~N` tail.
//! - Rock Ridge (RRIP 1.12 4.1.4 `NM`): the caller's name, byte for byte.
//! - Joliet (Joliet specification 1995, "Joliet Unicode" level 3): the caller's name in UCS-2
//!   big-endian, at most 64 characters, none of `* / : ; ? \` or control characters, and no
//!   `;1` version suffix (as genisoimage and libisofs write them).
//!
//! The caller's names must be representable exactly in Rock Ridge and Joliet; [`validate`]
//! rejects those that are not, so that `isoinfo -R -l` and `isoinfo -J -l` always show the
//! names exactly as given.
//!
//! Records are sorted as ECMA-119 9.3 requires: by file name, then extension, each compared as if
//! padded with spaces (0x20); Joliet records by their UCS-2 bytes.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use super::fields::is_d_character;

/// Longest name in UCS-2 units Joliet allows.
pub const JOLIET_MAX_UNITS: usize = 64;
const ISO_FILE_MAX: usize = 30;
const ISO_DIR_MAX: usize = 31;

/// Why a name cannot be stored.
pub(crate) fn validate(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("empty name");
    }
    if name == "." || name == ".." {
        return Err("`.` and `..` are reserved");
    }
    if name.chars().any(|c| (c as u32) < 0x20 || c == '\u{7f}') {
        return Err("control characters are not allowed");
    }
    if name.chars().any(|c| matches!(c, '/' | '\\' | '*' | ':' | ';' | '?')) {
        return Err("Joliet forbids the characters * / : ; ? \\");
    }
    if name.chars().any(|c| (c as u32) > 0xFFFF) {
        return Err("Joliet (UCS-2) cannot store characters outside the Basic Multilingual Plane");
    }
    if name.encode_utf16().count() > JOLIET_MAX_UNITS {
        return Err("Joliet names are at most 64 characters");
    }
    Ok(())
}

/// The Joliet identifier bytes (UCS-2 big-endian).
pub(crate) fn joliet_identifier(name: &str) -> Vec<u8> {
    name.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

fn map_d_characters(text: &str) -> String {
    text.chars()
        .map(|c| {
            let upper = c.to_ascii_uppercase();
            if upper.is_ascii() && is_d_character(upper as u8) { upper } else { '_' }
        })
        .collect()
}

/// The (base, extension) of a file's ISO identifier before clash resolution.
fn file_candidate(name: &str) -> (String, String) {
    let (base, ext) = match name.rfind('.') {
        Some(dot) if dot > 0 => (&name[..dot], &name[dot + 1..]),
        _ => (name, ""),
    };
    let mut ext = map_d_characters(ext);
    ext.truncate(8);
    let mut base = map_d_characters(base);
    base.truncate(ISO_FILE_MAX - ext.len());
    (base, ext)
}

/// Assigns ISO 9660 identifiers to the entries of one directory. `entries` are the caller's
/// names with a flag telling directories apart, in the order clashes are to be resolved (the
/// caller passes them sorted by name, which makes the result deterministic). Returns the
/// identifier bytes (files carry `;1`).
pub(crate) fn assign_iso_identifiers(entries: &[(&str, bool)]) -> Vec<Vec<u8>> {
    let mut taken: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::with_capacity(entries.len());
    for &(name, is_dir) in entries {
        let (base, ext) = if is_dir {
            let mut base = map_d_characters(name);
            base.truncate(ISO_DIR_MAX);
            (base, String::new())
        } else {
            file_candidate(name)
        };
        let max_base = if is_dir { ISO_DIR_MAX } else { ISO_FILE_MAX - ext.len() };
        let render = |base: &str| if is_dir { base.to_owned() } else { format!("{base}.{ext}") };
        let mut chosen = render(&base);
        let mut counter = 1u32;
        while taken.contains(&chosen) {
            let tail = format!("~{counter}");
            let keep = base.len().min(max_base.saturating_sub(tail.len()));
            chosen = render(&format!("{}{tail}", &base[..keep]));
            counter += 1;
        }
        taken.insert(chosen.clone());
        if !is_dir {
            chosen.push_str(";1");
        }
        out.push(chosen.into_bytes());
    }
    out
}

/// ECMA-119 9.3 ordering of two ISO identifiers.
pub(crate) fn compare_iso_identifiers(a: &[u8], b: &[u8]) -> Ordering {
    fn split(id: &[u8]) -> (&[u8], &[u8]) {
        let id = match id.iter().position(|&c| c == b';') {
            Some(semi) => &id[..semi],
            None => id,
        };
        match id.iter().position(|&c| c == b'.') {
            Some(dot) => (&id[..dot], &id[dot + 1..]),
            None => (id, &[][..]),
        }
    }
    fn padded_cmp(a: &[u8], b: &[u8]) -> Ordering {
        let len = a.len().max(b.len());
        let at = |s: &[u8], i: usize| s.get(i).copied().unwrap_or(b' ');
        (0..len).map(|i| at(a, i).cmp(&at(b, i))).find(|o| o.is_ne()).unwrap_or(Ordering::Equal)
    }
    let (a_name, a_ext) = split(a);
    let (b_name, b_ext) = split(b);
    padded_cmp(a_name, b_name).then_with(|| padded_cmp(a_ext, b_ext))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(entries: &[(&str, bool)]) -> Vec<String> {
        assign_iso_identifiers(entries).into_iter().map(|b| String::from_utf8(b).unwrap()).collect()
    }

    #[test]
    fn iso_identifiers() {
        assert_eq!(
            ids(&[("isolinux.cfg", false), ("pl_version", false), (".disk", true), ("boot", true)]),
            ["ISOLINUX.CFG;1", "PL_VERSION.;1", "_DISK", "BOOT"]
        );
        assert_eq!(ids(&[("a.b", false), ("A.B", false), ("a+b", false)]), ["A.B;1", "A~1.B;1", "A_B.;1"]);
        let long = "x".repeat(40);
        let got = ids(&[(&long, false), (&format!("{long}y"), false)]);
        assert_eq!(got[0].len(), 30 + 1 + 2);
        assert_eq!(got[1], format!("{}~1.;1", "X".repeat(28)));
    }

    #[test]
    fn ordering_pads_with_spaces() {
        // "A.B" sorts before "A0.B" because ' ' < '0'; and "AB" before "AB.C" by extension.
        assert_eq!(compare_iso_identifiers(b"A.B;1", b"A0.B;1"), Ordering::Less);
        assert_eq!(compare_iso_identifiers(b"AB.;1", b"AB.C;1"), Ordering::Less);
        assert_eq!(compare_iso_identifiers(b"A_B", b"AB"), Ordering::Greater);
    }

    #[test]
    fn validation() {
        assert!(validate("overlay.img").is_ok());
        assert!(validate("a;b").is_err());
        assert!(validate(&"a".repeat(65)).is_err());
        assert!(validate("..").is_err());
    }
}
