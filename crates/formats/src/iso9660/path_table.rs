//! Path tables: every directory, listed by level.
//!
//! ECMA-119 9.4 (path table record: identifier length, extended attribute length, extent
//! location and parent directory number in the table's byte order, identifier, padding byte
//! for odd lengths) and 6.9 (order: by level, then by parent directory number, then by
//! identifier; directory numbers are the 1-based positions in that order; the root is number
//! 1 and its own parent). The L table is little-endian (7.3.1), the M table big-endian (7.3.2).
//! Joliet volumes carry their own pair of tables with UCS-2 identifiers.

/// One directory as the path table lists it.
pub(crate) struct PathTableEntry<'a> {
    pub identifier: &'a [u8],
    pub extent_lba: u32,
    pub parent_number: u16,
}

/// Byte order of a path table.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ByteOrder {
    /// Type L.
    Little,
    /// Type M.
    Big,
}

/// Size in bytes of one record.
pub(crate) fn record_len(identifier_len: usize) -> usize {
    8 + identifier_len + identifier_len % 2
}

/// Encodes a whole table; entries must already be in 6.9 order.
pub(crate) fn encode(entries: &[PathTableEntry<'_>], order: ByteOrder) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in entries {
        out.push(u8::try_from(entry.identifier.len()).unwrap_or(u8::MAX));
        out.push(0);
        match order {
            ByteOrder::Little => {
                out.extend_from_slice(&entry.extent_lba.to_le_bytes());
                out.extend_from_slice(&entry.parent_number.to_le_bytes());
            }
            ByteOrder::Big => {
                out.extend_from_slice(&entry.extent_lba.to_be_bytes());
                out.extend_from_slice(&entry.parent_number.to_be_bytes());
            }
        }
        out.extend_from_slice(entry.identifier);
        if entry.identifier.len() % 2 == 1 {
            out.push(0);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_and_child() {
        let entries = [
            PathTableEntry { identifier: &[0], extent_lba: 20, parent_number: 1 },
            PathTableEntry { identifier: b"BOOT", extent_lba: 21, parent_number: 1 },
        ];
        let little = encode(&entries, ByteOrder::Little);
        assert_eq!(little.len(), record_len(1) + record_len(4));
        assert_eq!(&little[..10], &[1, 0, 20, 0, 0, 0, 1, 0, 0, 0]);
        let big = encode(&entries, ByteOrder::Big);
        assert_eq!(&big[10..18], &[4, 0, 0, 0, 0, 21, 0, 1]);
    }
}
