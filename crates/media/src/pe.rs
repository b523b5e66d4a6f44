//! Whether a PE/COFF image (a UEFI application, or a Linux bzImage with its EFI stub) carries an
//! Authenticode signature: Microsoft's "PE Format" specification §3 (MS-DOS stub: `MZ`, the PE
//! header's offset at 0x3C), §3.3 (COFF header), §3.4 (optional header: magic 0x10b PE32 or
//! 0x20b PE32+, then the data directories), §4.7 (data directory 4, the attribute certificate
//! table, where Authenticode signatures live). Only the headers are read; the signature is not
//! verified (the firmware and shim do that against their own keys).

/// How many bytes at the start of a file [`authenticode_signed`] needs at most for the usual
/// layouts (the PE header follows the MS-DOS stub within the first KiB).
pub(crate) const HEADER_BYTES: usize = 4096;

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at.checked_add(2)?)?.try_into().ok()?))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

/// `Some(true)` when the image's certificate table is not empty, `Some(false)` for a PE image
/// without one, `None` when `head` (the file's first bytes) is not a PE image.
pub(crate) fn authenticode_signed(head: &[u8]) -> Option<bool> {
    if head.get(..2)? != b"MZ" {
        return None;
    }
    let pe = usize::try_from(u32_at(head, 0x3C)?).ok()?;
    if head.get(pe..pe.checked_add(4)?)? != b"PE\0\0" {
        return None;
    }
    let optional = pe + 4 + 20;
    let (count_at, directories) = match u16_at(head, optional)? {
        0x10b => (optional + 92, optional + 96),
        0x20b => (optional + 108, optional + 112),
        _ => return None,
    };
    const SECURITY: usize = 4;
    if u32_at(head, count_at)? as usize <= SECURITY {
        return Some(false);
    }
    let size = u32_at(head, directories + SECURITY * 8 + 4)?;
    Some(size > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal PE32+ header with `directories` data directories, the fifth `security_size`
    /// bytes long.
    fn pe32_plus(directories: u32, security_size: u32) -> Vec<u8> {
        let mut head = vec![0u8; 512];
        head[..2].copy_from_slice(b"MZ");
        head[0x3C..0x40].copy_from_slice(&0x80u32.to_le_bytes());
        head[0x80..0x84].copy_from_slice(b"PE\0\0");
        let optional = 0x80 + 24;
        head[optional..optional + 2].copy_from_slice(&0x20bu16.to_le_bytes());
        head[optional + 108..optional + 112].copy_from_slice(&directories.to_le_bytes());
        let security = optional + 112 + 4 * 8;
        head[security..security + 4].copy_from_slice(&0x1000u32.to_le_bytes());
        head[security + 4..security + 8].copy_from_slice(&security_size.to_le_bytes());
        head
    }

    #[test]
    fn reads_the_certificate_table_entry() {
        assert_eq!(authenticode_signed(&pe32_plus(16, 0x5a0)), Some(true));
        assert_eq!(authenticode_signed(&pe32_plus(16, 0)), Some(false));
        assert_eq!(authenticode_signed(&pe32_plus(4, 0x5a0)), Some(false), "no fifth directory");
        assert_eq!(authenticode_signed(b"\x7fELF"), None);
        assert_eq!(authenticode_signed(&pe32_plus(16, 1)[..0x90]), None, "cut short");
        let mut bad = pe32_plus(16, 1);
        bad[0x3C..0x40].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(authenticode_signed(&bad), None);
    }
}
