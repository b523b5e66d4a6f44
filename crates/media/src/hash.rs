//! Streaming sha256 (FIPS 180-4) in lower-case hex: template and input checksums, and the
//! checksum of a finished medium.
//!
//! SHA-256 processes its message in 64-byte blocks, one after the other (FIPS 180-4 §6.2.2),
//! so the state after a prefix — the eight hash words, the count of blocks processed and the
//! bytes of the incomplete block — is all that is needed to hash the rest. A [`PrefixState`]
//! is that state after a template's bytes before its first slot (recorded in the manifest at
//! import): a node medium's sha256 then costs only its slots and what follows them.

use std::io::{self, Read};

use sha2::digest::common::hazmat::{SerializableState, SerializedState};
use sha2::{Digest, Sha256};

/// 128 KiB, as `cat`: larger read buffers measured slower (bench/media.sh).
const BUFFER: usize = 128 * 1024;

/// The sha256 of everything `reader` yields, read in 128 KiB pieces.
pub fn sha256_hex(reader: impl Read) -> io::Result<String> {
    finish(Sha256::new(), reader)
}

/// Feeds everything `reader` yields to `hasher` and returns the digest in hex.
pub(crate) fn finish(mut hasher: Sha256, reader: impl Read) -> io::Result<String> {
    feed(&mut hasher, reader, u64::MAX)?;
    Ok(hex(&hasher.finalize()))
}

/// Feeds up to `limit` bytes of `reader` to `hasher`; returns how many there were.
fn feed(hasher: &mut Sha256, mut reader: impl Read, limit: u64) -> io::Result<u64> {
    let mut buffer = vec![0u8; BUFFER];
    let mut done = 0u64;
    while done < limit {
        let want = usize::try_from(limit - done).map_or(BUFFER, |left| left.min(BUFFER));
        let n = match reader.read(&mut buffer[..want]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buffer[..n]);
        done += n as u64;
    }
    Ok(done)
}

/// The sha256 of everything `reader` yields (hex) and the hash state after its first
/// `prefix_len` bytes, in one pass.
pub(crate) fn sha256_with_prefix(mut reader: impl Read, prefix_len: u64) -> io::Result<(String, PrefixState)> {
    let mut hasher = Sha256::new();
    let read = feed(&mut hasher, &mut reader, prefix_len)?;
    if read != prefix_len {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the file is shorter than the hashed prefix"));
    }
    let prefix = PrefixState { len: prefix_len, hasher: hasher.clone() };
    Ok((finish(hasher, reader)?, prefix))
}

/// The SHA-256 state after the first `len` bytes of a file.
#[derive(Debug, Clone)]
pub(crate) struct PrefixState {
    len: u64,
    hasher: Sha256,
}

/// Layout of sha2 0.11's serialized SHA-256 state (`SerializableState`): the eight hash words
/// (32 bytes), the count of 64-byte blocks processed (u64, little-endian), then the block
/// buffer: its fill (1 byte) and 64 bytes of which the first `fill` are pending input. Read
/// only to check that a stored state covers the length recorded with it; the unit test below
/// fails if a sha2 update changes it (which would also call for a new manifest format).
const BLOCK_COUNT: std::ops::Range<usize> = 32..40;
const BUFFER_FILL: usize = 40;
const BLOCK_LEN: u64 = 64;

impl PrefixState {
    /// Bytes hashed.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// The serialized state in lower-case hex (105 bytes: see [`BLOCK_COUNT`]).
    pub fn state_hex(&self) -> String {
        hex(&self.hasher.serialize())
    }

    /// The state of `state_hex` ([`PrefixState::state_hex`]'s output), which must have
    /// hashed exactly `len` bytes; the error says what is wrong.
    pub fn from_hex(len: u64, state_hex: &str) -> Result<PrefixState, String> {
        let bytes = unhex(state_hex).ok_or("the hash state is not hexadecimal")?;
        let serialized = SerializedState::<Sha256>::try_from(&bytes[..])
            .map_err(|_| format!("the hash state is {} bytes, not {}", bytes.len(), hash_state_len()))?;
        let blocks = u64::from_le_bytes(
            serialized[BLOCK_COUNT].try_into().map_err(|_| "the hash state is too short".to_owned())?,
        );
        let hashed = blocks.checked_mul(BLOCK_LEN).and_then(|b| b.checked_add(u64::from(serialized[BUFFER_FILL])));
        if hashed != Some(len) {
            return Err(format!("the hash state covers {hashed:?} bytes, its prefix is {len}"));
        }
        let hasher = Sha256::deserialize(&serialized).map_err(|e| format!("the hash state is invalid: {e}"))?;
        Ok(PrefixState { len, hasher })
    }

    /// A hasher that has hashed the prefix, ready for the bytes after it.
    pub fn resume(&self) -> Sha256 {
        self.hasher.clone()
    }
}

fn hash_state_len() -> usize {
    SerializedState::<Sha256>::default().len()
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of lower-case or upper-case hex text, `None` if it is not hex.
fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.as_bytes()
        .chunks(2)
        .map(|pair| {
            let digit = |c: u8| char::from(c).to_digit(16);
            Some((digit(pair[0])? * 16 + digit(pair[1])?) as u8)
        })
        .collect()
}

/// The first four bytes of the sha256 of `text`, as a number: the volume serial and disk
/// signature of an image, derived from what the image is made of.
pub(crate) fn derived_id(text: &str) -> u32 {
    let digest = Sha256::digest(text.as_bytes());
    u32::from_le_bytes([digest[0], digest[1], digest[2], digest[3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digest() {
        assert_eq!(
            sha256_hex(&b"abc"[..]).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(derived_id("x"), derived_id("x"));
        assert_ne!(derived_id("x"), derived_id("y"));
    }

    #[test]
    fn a_stored_prefix_state_resumes_to_the_full_digest() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 31 % 251) as u8).collect();
        let whole = sha256_hex(&data[..]).unwrap();
        // Block boundaries, inside a block, the empty prefix, the whole input.
        for split in [0usize, 1, 63, 64, 65, 130, 131_072, 200_001, 300_000] {
            let (full, prefix) = sha256_with_prefix(&data[..], split as u64).unwrap();
            assert_eq!(full, whole);
            assert_eq!(prefix.len(), split as u64);
            let text = prefix.state_hex();
            assert_eq!(text.len(), 2 * hash_state_len());
            let restored = PrefixState::from_hex(split as u64, &text).unwrap();
            assert_eq!(finish(restored.resume(), &data[split..]).unwrap(), whole, "split at {split}");
        }
        assert!(sha256_with_prefix(&data[..10], 11).is_err(), "a prefix longer than the input");
    }

    #[test]
    fn mismatched_or_malformed_states_are_refused() {
        let (_, prefix) = sha256_with_prefix(&[7u8; 1000][..], 700).unwrap();
        let text = prefix.state_hex();
        PrefixState::from_hex(700, &text).unwrap();
        // The state of 700 bytes is not the state of 701 or of 636 (one block less).
        for wrong in [701, 636, 0] {
            let err = PrefixState::from_hex(wrong, &text).unwrap_err();
            assert!(err.contains("covers"), "{err}");
        }
        assert!(PrefixState::from_hex(700, &text[..text.len() - 2]).unwrap_err().contains("bytes"));
        assert!(PrefixState::from_hex(700, &format!("{}zz", &text[..text.len() - 2])).is_err());
        assert!(PrefixState::from_hex(700, "").is_err());
        // Pending bytes beyond the buffer's fill: refused by sha2's own check.
        let mut bytes = unhex(&text).unwrap();
        *bytes.last_mut().unwrap() = 1;
        assert!(PrefixState::from_hex(700, &hex(&bytes)).unwrap_err().contains("invalid"));
    }
}
