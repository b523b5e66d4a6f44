//! Reading a length that came from the image itself. The readers serve `inspect`, whose images
//! are untrusted: a recorded length must cost memory in proportion to the bytes really there,
//! not to the number written in the field.

use std::io::{self, Read};

/// Most bytes reserved up front for a whole-file read; beyond it the buffer grows with the
/// data actually read.
pub(crate) const PREALLOCATE_MAX: usize = 1 << 20;

/// Reads exactly `len` bytes, allocating as they arrive (an `UnexpectedEof` error when the
/// input ends first).
pub(crate) fn read_exact_len(input: &mut impl Read, len: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(usize::MAX).min(PREALLOCATE_MAX));
    input.take(len).read_to_end(&mut bytes)?;
    if (bytes.len() as u64) < len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("{len} bytes recorded, {} there", bytes.len()),
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_is_there_or_fails() {
        assert_eq!(read_exact_len(&mut &b"abcdef"[..], 4).unwrap(), b"abcd");
        let short = read_exact_len(&mut &b"abc"[..], u64::MAX).unwrap_err();
        assert_eq!(short.kind(), io::ErrorKind::UnexpectedEof);
    }
}
