//! Streaming sha256 (FIPS 180-4) in lower-case hex: template and input checksums, and the
//! checksum of a finished medium.

use std::io::{self, Read};

use sha2::{Digest, Sha256};

/// 128 KiB, as `cat`: larger read buffers were measured slower on this machine kind.
const BUFFER: usize = 128 * 1024;

/// The sha256 of everything `reader` yields, read in 128 KiB pieces.
pub fn sha256_hex(mut reader: impl Read) -> io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; BUFFER];
    loop {
        let n = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buffer[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
}
