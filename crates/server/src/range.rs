//! `Range: bytes=…` for downloads (RFC 9110 §14.1–14.2): one range, answered with 206; several
//! ranges are answered with the whole image (§14.2 lets a server ignore Range), and a range
//! that starts past the end is 416.

/// What a GET should send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    /// The whole image (no Range header, several ranges, or a syntax we ignore).
    Whole,
    /// Bytes `start..=end` (inclusive, as Content-Range writes them).
    Part { start: u64, end: u64 },
    /// No byte of the image is in the range.
    Unsatisfiable,
}

/// Interprets a Range header value for an image of `len` bytes.
pub fn wanted(header: &str, len: u64) -> Wanted {
    let Some(spec) = header.trim().strip_prefix("bytes=") else { return Wanted::Whole };
    if spec.contains(',') {
        return Wanted::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else { return Wanted::Whole };
    let number = |s: &str| (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse::<u64>().ok());
    match (number(first.trim()), number(last.trim())) {
        // `-N`: the last N bytes.
        (None, Some(Some(suffix))) if first.trim().is_empty() => match suffix {
            0 => Wanted::Unsatisfiable,
            _ if len == 0 => Wanted::Unsatisfiable,
            n => Wanted::Part { start: len.saturating_sub(n), end: len - 1 },
        },
        // `A-` and `A-B`.
        (Some(Some(start)), end) if last.trim().is_empty() || matches!(end, Some(Some(_))) => {
            if start >= len {
                return Wanted::Unsatisfiable;
            }
            match end {
                Some(Some(end)) if end < start => Wanted::Whole,
                Some(Some(end)) => Wanted::Part { start, end: end.min(len - 1) },
                _ => Wanted::Part { start, end: len - 1 },
            }
        }
        // Numbers too large for u64 start beyond any image.
        (Some(None), _) => Wanted::Unsatisfiable,
        _ => Wanted::Whole,
    }
}

#[cfg(test)]
mod tests {
    use super::{Wanted, wanted};

    #[test]
    fn ranges() {
        let part = |start, end| Wanted::Part { start, end };
        let table: &[(&str, Wanted)] = &[
            ("bytes=0-99", part(0, 99)),
            ("bytes=100-", part(100, 999)),
            ("bytes=-100", part(900, 999)),
            ("bytes=-5000", part(0, 999)),
            ("bytes=990-5000", part(990, 999)),
            ("bytes=999-999", part(999, 999)),
            ("bytes=1000-", Wanted::Unsatisfiable),
            ("bytes=1000-2000", Wanted::Unsatisfiable),
            ("bytes=-0", Wanted::Unsatisfiable),
            ("bytes=99999999999999999999999-", Wanted::Unsatisfiable),
            ("bytes=5-2", Wanted::Whole),
            ("bytes=0-1,5-6", Wanted::Whole),
            ("bytes=a-b", Wanted::Whole),
            ("bytes=-", Wanted::Whole),
            ("bytes=1-2-3", Wanted::Whole),
            ("items=0-1", Wanted::Whole),
            ("", Wanted::Whole),
            (" bytes=0-0 ", part(0, 0)),
        ];
        for (header, expected) in table {
            assert_eq!(wanted(header, 1000), *expected, "{header:?}");
        }
        assert_eq!(wanted("bytes=-1", 0), Wanted::Unsatisfiable);
        assert_eq!(wanted("bytes=0-", 0), Wanted::Unsatisfiable);
    }
}
