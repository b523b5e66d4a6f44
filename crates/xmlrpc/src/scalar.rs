//! Text ⇄ scalar conversions for the XML-RPC scalar types
//! (<http://xmlrpc.com/spec>, "Scalar `<value>`s"), following what Python's
//! `xmlrpc.client` writes and accepts.
//!
//! The parser uses the `parse_*` functions on element text; the writer uses
//! [`python_float_repr`], [`base64_lines`] and [`normalize_datetime`] so that
//! its output is byte-for-byte what Python's `dumps` produces.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use crate::parse::ParseErrorKind;

/// Longest piece of offending text quoted back in an error message: enough to
/// recognise the mistake, short enough that a fault stays readable.
const QUOTE_LIMIT: usize = 40;

/// Python's `base64.encodebytes` line length: 57 input bytes → 76 characters.
const BASE64_LINE_INPUT_BYTES: usize = 57;

/// Standard alphabet; padding optional and stray low bits tolerated on input,
/// because clients differ (Python pads, some JavaScript encoders do not).
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// `text` cut to [`QUOTE_LIMIT`] characters for an error message.
pub(crate) fn quote(text: &str) -> String {
    let mut chars = text.chars();
    let mut quoted: String = chars.by_ref().take(QUOTE_LIMIT).collect();
    if chars.next().is_some() {
        quoted.push('…');
    }
    quoted
}

/// XML's whitespace (S production): space, tab, CR, LF. Not Unicode's wider set.
pub(crate) fn trim_xml_whitespace(text: &str) -> &str {
    text.trim_matches([' ', '\t', '\r', '\n'])
}

/// `<int>`, `<i4>`, `<i8>`: optional sign then decimal digits, whitespace around allowed.
pub(crate) fn parse_int(text: &str) -> Result<i64, ParseErrorKind> {
    let trimmed = trim_xml_whitespace(text);
    let digits = trimmed.strip_prefix(['+', '-']).unwrap_or(trimmed);
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(ParseErrorKind::InvalidInt(quote(text)));
    }
    // The text is well-formed, so the only way `parse` can fail is overflow.
    trimmed.parse().map_err(|_| ParseErrorKind::IntOutOfRange(quote(trimmed)))
}

/// `<boolean>`: exactly `0` or `1` (as Python's client insists).
pub(crate) fn parse_bool(text: &str) -> Result<bool, ParseErrorKind> {
    match trim_xml_whitespace(text) {
        "0" => Ok(false),
        "1" => Ok(true),
        _ => Err(ParseErrorKind::InvalidBoolean(quote(text))),
    }
}

/// `<double>`: any decimal or exponent notation Rust reads, but only finite
/// values, since the spec has no infinity or NaN.
pub(crate) fn parse_double(text: &str) -> Result<f64, ParseErrorKind> {
    let trimmed = trim_xml_whitespace(text);
    match trimmed.parse::<f64>() {
        Ok(number) if number.is_finite() => Ok(number),
        _ => Err(ParseErrorKind::InvalidDouble(quote(text))),
    }
}

/// `<base64>`: standard alphabet; whitespace anywhere is ignored because
/// Python wraps its output at 76 characters.
pub(crate) fn parse_base64(text: &str) -> Result<Vec<u8>, ParseErrorKind> {
    let compact: Vec<u8> = text.bytes().filter(|byte| !byte.is_ascii_whitespace()).collect();
    LENIENT_BASE64.decode(&compact).map_err(|error| ParseErrorKind::InvalidBase64(error.to_string()))
}

/// `<dateTime.iso8601>` in the compact `YYYYMMDDTHH:MM:SS` (Python) or dashed
/// `YYYY-MM-DDTHH:MM:SS` form, optionally followed by `Z`, normalised to the
/// compact form.
pub(crate) fn parse_datetime(text: &str) -> Result<String, ParseErrorKind> {
    normalize_datetime(trim_xml_whitespace(text)).ok_or_else(|| ParseErrorKind::InvalidDateTime(quote(text)))
}

/// The compact form of a valid dateTime text, or `None` if it is not one.
pub(crate) fn normalize_datetime(text: &str) -> Option<String> {
    let text = text.strip_suffix('Z').unwrap_or(text);
    let (date, time) = text.split_once('T')?;
    let date = compact_date(date)?;
    let time = checked_time(time)?;
    Some(format!("{date}T{time}"))
}

/// `YYYYMMDD` from `YYYYMMDD` or `YYYY-MM-DD`, with month and day in range.
fn compact_date(date: &str) -> Option<String> {
    let compact: String = match date.len() {
        8 => date.to_owned(),
        10 if date.as_bytes()[4] == b'-' && date.as_bytes()[7] == b'-' => date.replace('-', ""),
        _ => return None,
    };
    if compact.len() != 8 || !compact.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let month = two_digits(&compact[4..6])?;
    let day = two_digits(&compact[6..8])?;
    ((1..=12).contains(&month) && (1..=31).contains(&day)).then_some(compact)
}

/// `HH:MM:SS` with hour 0–23, minute 0–59 and second 0–60 (leap second).
fn checked_time(time: &str) -> Option<&str> {
    let bytes = time.as_bytes();
    if bytes.len() != 8 || bytes[2] != b':' || bytes[5] != b':' {
        return None;
    }
    let hour = two_digits(&time[0..2])?;
    let minute = two_digits(&time[3..5])?;
    let second = two_digits(&time[6..8])?;
    (hour <= 23 && minute <= 59 && second <= 60).then_some(time)
}

/// Two ASCII digits as a number; `None` for anything else (including signs,
/// which `str::parse` would accept).
fn two_digits(text: &str) -> Option<u8> {
    if text.len() == 2 && text.bytes().all(|byte| byte.is_ascii_digit()) { text.parse().ok() } else { None }
}

/// A finite `f64` exactly as Python's `repr(float)` prints it: shortest
/// round-trip digits, fixed notation for decimal exponents −4 ≤ e < 16,
/// otherwise `d.ddde±XX`, and always a `.0` on integral fixed values.
pub fn python_float_repr(number: f64) -> String {
    let scientific = nearest_shortest_scientific(number.abs());
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let sign = if number.is_sign_negative() { "-" } else { "" };
    let body = if (-4..16).contains(&exponent) {
        fixed_notation(&mantissa.replace('.', ""), exponent)
    } else {
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{exponent_sign}{:02}", exponent.unsigned_abs())
    };
    format!("{sign}{body}")
}

/// `number` in Rust's `d.ddde±x` notation with as few significant digits as
/// round-trip, and of those the decimal nearest to `number`, as Python picks.
/// Rust's `{:e}` finds the shortest length but, when several decimals of that
/// length round-trip, not always the nearest one; `{:.Ne}` rounds exactly.
fn nearest_shortest_scientific(number: f64) -> String {
    let shortest = format!("{number:e}");
    let mantissa = shortest.split('e').next().unwrap_or_default();
    let significant_digits = mantissa.bytes().filter(u8::is_ascii_digit).count();
    let nearest = format!("{number:.*e}", significant_digits.saturating_sub(1));
    // Next to a power of two the nearest decimal can fall just outside the
    // narrower lower half-interval; then the shortest one is the answer.
    if nearest.parse::<f64>() == Ok(number) { nearest } else { shortest }
}

/// Digits `d1d2d3…` meaning `d1.d2d3… × 10^exponent`, written without an exponent.
fn fixed_notation(digits: &str, exponent: i32) -> String {
    let point = exponent + 1;
    match usize::try_from(point) {
        Ok(point) if point >= digits.len() => {
            format!("{digits}{}.0", "0".repeat(point - digits.len()))
        }
        Ok(point) if point > 0 => format!("{}.{}", &digits[..point], &digits[point..]),
        _ => {
            let zeros = usize::try_from(-point).unwrap_or(0);
            format!("0.{}{digits}", "0".repeat(zeros))
        }
    }
}

/// Base64 as Python's `base64.encodebytes` writes it: lines of 76 characters,
/// each ending in `\n` (nothing at all for empty input).
pub(crate) fn base64_lines(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() / 3 * 4 + bytes.len() / 50 + 4);
    for chunk in bytes.chunks(BASE64_LINE_INPUT_BYTES) {
        base64::engine::general_purpose::STANDARD.encode_string(chunk, &mut text);
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_accept_sign_and_surrounding_whitespace() {
        assert_eq!(parse_int("42"), Ok(42));
        assert_eq!(parse_int(" \n-17\t"), Ok(-17));
        assert_eq!(parse_int("+5"), Ok(5));
        assert_eq!(parse_int("007"), Ok(7));
        assert_eq!(parse_int("9223372036854775807"), Ok(i64::MAX));
        assert_eq!(parse_int("-9223372036854775808"), Ok(i64::MIN));
    }

    #[test]
    fn malformed_ints_are_rejected_distinctly_from_overflow() {
        for bad in ["", " ", "abc", "1.0", "1 2", "--1", "+", "0x10", "1e3", "١٢"] {
            assert!(matches!(parse_int(bad), Err(ParseErrorKind::InvalidInt(_))), "{bad:?}");
        }
        assert!(matches!(parse_int("9223372036854775808"), Err(ParseErrorKind::IntOutOfRange(_))));
        assert!(matches!(parse_int("-99999999999999999999999"), Err(ParseErrorKind::IntOutOfRange(_))));
    }

    #[test]
    fn booleans_are_zero_or_one_only() {
        assert_eq!(parse_bool("1"), Ok(true));
        assert_eq!(parse_bool(" 0 "), Ok(false));
        for bad in ["", "true", "false", "2", "01", "yes"] {
            assert!(parse_bool(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn doubles_must_be_finite_numbers() {
        assert_eq!(parse_double(" 1.5 "), Ok(1.5));
        assert_eq!(parse_double("-2"), Ok(-2.0));
        assert_eq!(parse_double("1e+300"), Ok(1e300));
        for bad in ["", "abc", "inf", "-inf", "nan", "NaN", "infinity", "1e999", "1,5"] {
            assert!(parse_double(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn base64_ignores_whitespace_and_missing_padding() {
        assert_eq!(parse_base64("aGk="), Ok(b"hi".to_vec()));
        assert_eq!(parse_base64("aGk"), Ok(b"hi".to_vec()));
        assert_eq!(parse_base64("\naG\r\n k=\n"), Ok(b"hi".to_vec()));
        assert_eq!(parse_base64(""), Ok(Vec::new()));
        for bad in ["a", "aGk*", "aG=k", "!!!!", "aGk==="] {
            assert!(parse_base64(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn datetimes_in_both_forms_normalise_to_compact() {
        let compact = Ok("20200102T03:04:05".to_owned());
        assert_eq!(parse_datetime("20200102T03:04:05"), compact);
        assert_eq!(parse_datetime("2020-01-02T03:04:05"), compact);
        assert_eq!(parse_datetime(" 2020-01-02T03:04:05Z\n"), compact);
        assert_eq!(parse_datetime("20200102T03:04:05Z"), compact);
        assert_eq!(parse_datetime("19991231T23:59:60"), Ok("19991231T23:59:60".to_owned()));
    }

    #[test]
    fn invalid_datetimes_are_rejected() {
        for bad in [
            "",
            "2020010T03:04:05",
            "20201302T03:04:05",
            "20200100T03:04:05",
            "20200132T03:04:05",
            "20200102T24:00:00",
            "20200102T23:60:00",
            "20200102T23:59:61",
            "2020-0102T03:04:05",
            "20200102 03:04:05",
            "20200102T03:04",
            "20200102T03:04:05+01:00",
            "2020-01-02T03:04:05.123",
            "+0200102T03:04:05",
            "20200102T+3:04:05",
            "２０２００１０２T03:04:05",
        ] {
            assert!(parse_datetime(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn float_repr_matches_python() {
        let cases: [(f64, &str); 18] = [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (1.5, "1.5"),
            (-2.25, "-2.25"),
            (0.1, "0.1"),
            (1e-4, "0.0001"),
            (1e-5, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (123456789.0, "123456789.0"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.2345e16, "1.2345e+16"),
            (1e300, "1e+300"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            // Two 17-digit decimals round-trip; Python writes the nearer one.
            (f64::from_bits(0x4313_d27d_a8ac_08c1), "1394865425023536.2"),
            (f64::from_bits(0xc2e3_0d42_752c_9404), "-167581363823776.12"),
        ];
        for (number, repr) in cases {
            assert_eq!(python_float_repr(number), repr);
            assert_eq!(repr.parse::<f64>().ok(), Some(number));
        }
    }

    #[test]
    fn base64_lines_wrap_like_encodebytes() {
        assert_eq!(base64_lines(b""), "");
        assert_eq!(base64_lines(b"hi"), "aGk=\n");
        let wrapped = base64_lines(&[0u8; 58]);
        let lines: Vec<&str> = wrapped.split_terminator('\n').collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].len(), 76);
        assert_eq!(lines[1], "AA==");
    }

    #[test]
    fn long_offending_text_is_shortened_in_messages() {
        let quoted = quote(&"x".repeat(100));
        assert_eq!(quoted.chars().count(), QUOTE_LIMIT + 1);
        assert!(quoted.ends_with('…'));
        assert_eq!(quote("short"), "short");
    }
}
