//! Writing XML-RPC documents (<http://xmlrpc.com/spec>) byte-for-byte in the
//! layout of Python's `xmlrpc.client.dumps` (the library the original PLCAPI
//! server used), so clients see what they always saw and tests can compare
//! bytes with Python's output.
//!
//! Python's layout is followed down to its quirks: `<nil/>` values are not
//! followed by a newline, `<base64>` text is wrapped at 76 characters between
//! newlines, and doubles are written as Python's `repr(float)`. Where Python
//! would write a document that no XML parser accepts, we deliberately differ:
//!
//! * Characters XML 1.0 forbids (U+0000–U+0008, U+000B, U+000C,
//!   U+000E–U+001F, U+FFFE, U+FFFF) are replaced by `?`, as PLCAPI replaced
//!   control characters, so every document we write is well-formed.
//! * `\r` is written as `&#13;` so that it survives XML line-end
//!   normalisation (Python writes it raw and its reader turns it into `\n`).
//! * A non-finite [`Value::Double`] is written as `<nil/>`: XML-RPC has no
//!   infinity or NaN, and "no value" is the honest reading (Python would
//!   write `inf`, which other clients reject).
//! * A [`Value::DateTime`] in the dashed form is written in the compact form
//!   Python's reader requires; text that is no dateTime at all is written
//!   escaped, as given.
//! * Method names are escaped (Python inserts them raw).

use crate::scalar::{base64_lines, normalize_datetime, python_float_repr};
use crate::value::Value;

/// Start of every document, as Python writes it for UTF-8.
macro_rules! xml_declaration {
    () => {
        "<?xml version='1.0'?>\n"
    };
}

/// Everything of a success response before its value's `<value>` element.
macro_rules! response_head {
    () => {
        concat!(xml_declaration!(), "<methodResponse>\n<params>\n<param>\n")
    };
}

/// Everything of a success response after its value's `<value>` element.
macro_rules! response_tail {
    () => {
        "</param>\n</params>\n</methodResponse>\n"
    };
}

/// A success response carrying `value`: what the server sends back.
pub fn write_response(value: &Value) -> String {
    let mut document = String::from(response_head!());
    write_value(&mut document, value);
    document.push_str(response_tail!());
    document
}

/// A fault response with the standard `faultCode`/`faultString` struct.
pub fn write_fault(code: i64, message: &str) -> String {
    let mut document = String::from(concat!(
        xml_declaration!(),
        "<methodResponse>\n<fault>\n<value><struct>\n",
        "<member>\n<name>faultCode</name>\n"
    ));
    write_int(&mut document, code);
    document.push_str("</member>\n<member>\n<name>faultString</name>\n");
    write_string(&mut document, message);
    document.push_str("</member>\n</struct></value>\n</fault>\n</methodResponse>\n");
    document
}

/// A `<methodCall>` of `method` with `params`, as `xmlrpc.client.dumps(params,
/// method)` writes it: for clients and tests.
pub fn write_method_call(method: &str, params: &[Value]) -> String {
    let mut document = String::from(concat!(xml_declaration!(), "<methodCall>\n<methodName>"));
    push_escaped(&mut document, method);
    document.push_str("</methodName>\n<params>\n");
    for param in params {
        document.push_str("<param>\n");
        write_value(&mut document, param);
        document.push_str("</param>\n");
    }
    document.push_str("</params>\n</methodCall>\n");
    document
}

/// The bytes before and after the base64 text of a success response whose
/// single result is a `<string>`, so a huge base64 result can be streamed
/// without being held: `prefix + base64(data) + suffix` equals
/// `write_response(&Value::String(base64(data)))` (base64 needs no escaping).
pub fn base64_string_response_parts() -> (&'static str, &'static str) {
    (concat!(response_head!(), "<value><string>"), concat!("</string></value>\n", response_tail!()))
}

/// `value` as a `<value>` element followed by Python's newline.
fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Nil => write_nil(out),
        Value::Int(number) => write_int(out, *number),
        Value::Bool(flag) => {
            let digit = if *flag { "1" } else { "0" };
            write_scalar(out, "boolean", digit);
        }
        Value::Double(number) if number.is_finite() => {
            write_scalar(out, "double", &python_float_repr(*number));
        }
        Value::Double(_) => write_nil(out),
        Value::String(text) => write_string(out, text),
        Value::Base64(bytes) => {
            out.push_str("<value><base64>\n");
            out.push_str(&base64_lines(bytes));
            out.push_str("</base64></value>\n");
        }
        Value::DateTime(text) => write_datetime(out, text),
        Value::Array(items) => write_array(out, items),
        Value::Struct(members) => write_struct(out, members),
    }
}

/// `<nil/>` without the trailing newline, exactly as Python's `dump_nil`.
fn write_nil(out: &mut String) {
    out.push_str("<value><nil/></value>");
}

/// `<int>` when the number fits in 32 bits (all the spec allows), else
/// `<i8>`, which Python's client and most others read.
fn write_int(out: &mut String, number: i64) {
    let element = if i32::try_from(number).is_ok() { "int" } else { "i8" };
    write_scalar(out, element, &number.to_string());
}

/// `<value><element>text</element></value>\n` for text needing no escaping.
fn write_scalar(out: &mut String, element: &str, text: &str) {
    out.push_str("<value><");
    out.push_str(element);
    out.push('>');
    out.push_str(text);
    out.push_str("</");
    out.push_str(element);
    out.push_str("></value>\n");
}

fn write_string(out: &mut String, text: &str) {
    out.push_str("<value><string>");
    push_escaped(out, text);
    out.push_str("</string></value>\n");
}

fn write_datetime(out: &mut String, text: &str) {
    out.push_str("<value><dateTime.iso8601>");
    match normalize_datetime(text) {
        Some(compact) => out.push_str(&compact),
        None => push_escaped(out, text),
    }
    out.push_str("</dateTime.iso8601></value>\n");
}

fn write_array(out: &mut String, items: &[Value]) {
    out.push_str("<value><array><data>\n");
    for item in items {
        write_value(out, item);
    }
    out.push_str("</data></array></value>\n");
}

fn write_struct(out: &mut String, members: &std::collections::BTreeMap<String, Value>) {
    out.push_str("<value><struct>\n");
    for (name, value) in members {
        out.push_str("<member>\n<name>");
        push_escaped(out, name);
        out.push_str("</name>\n");
        write_value(out, value);
        out.push_str("</member>\n");
    }
    out.push_str("</struct></value>\n");
}

/// Appends `text` as XML character data: `&`, `<`, `>` escaped as Python
/// does, `\r` as a character reference, forbidden characters as `?`.
fn push_escaped(out: &mut String, text: &str) {
    out.reserve(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            forbidden if !crate::value::is_xml_char(forbidden) => out.push('?'),
            allowed => out.push(allowed),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// A success response whose value element is `value_xml`.
    fn response_with(value_xml: &str) -> String {
        format!(
            "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n{value_xml}</param>\n</params>\n</methodResponse>\n"
        )
    }

    #[test]
    fn scalars_are_written_like_python() {
        let cases = [
            (Value::Nil, "<value><nil/></value>"),
            (Value::Int(7), "<value><int>7</int></value>\n"),
            (Value::Int(-2147483648), "<value><int>-2147483648</int></value>\n"),
            (Value::Int(2147483648), "<value><i8>2147483648</i8></value>\n"),
            (Value::Int(i64::MIN), "<value><i8>-9223372036854775808</i8></value>\n"),
            (Value::Bool(true), "<value><boolean>1</boolean></value>\n"),
            (Value::Bool(false), "<value><boolean>0</boolean></value>\n"),
            (Value::Double(1.5), "<value><double>1.5</double></value>\n"),
            (Value::Double(1e20), "<value><double>1e+20</double></value>\n"),
            (Value::from("plain"), "<value><string>plain</string></value>\n"),
            (Value::from(""), "<value><string></string></value>\n"),
            (Value::Base64(b"hi".to_vec()), "<value><base64>\naGk=\n</base64></value>\n"),
            (Value::Base64(Vec::new()), "<value><base64>\n</base64></value>\n"),
            (
                Value::DateTime("20200102T03:04:05".into()),
                "<value><dateTime.iso8601>20200102T03:04:05</dateTime.iso8601></value>\n",
            ),
        ];
        for (value, xml) in cases {
            assert_eq!(write_response(&value), response_with(xml), "{value:?}");
        }
    }

    #[test]
    fn non_finite_doubles_become_nil() {
        for number in [f64::INFINITY, f64::NEG_INFINITY, f64::NAN] {
            assert_eq!(write_response(&Value::Double(number)), response_with("<value><nil/></value>"));
        }
    }

    #[test]
    fn dashed_datetimes_are_written_compact_and_junk_is_escaped() {
        assert_eq!(
            write_response(&Value::DateTime("2020-01-02T03:04:05Z".into())),
            response_with("<value><dateTime.iso8601>20200102T03:04:05</dateTime.iso8601></value>\n")
        );
        assert_eq!(
            write_response(&Value::DateTime("<now>".into())),
            response_with("<value><dateTime.iso8601>&lt;now&gt;</dateTime.iso8601></value>\n")
        );
    }

    #[test]
    fn markup_characters_are_escaped_and_quotes_left_alone() {
        assert_eq!(
            write_response(&Value::from("a<b>&c\"d'e")),
            response_with("<value><string>a&lt;b&gt;&amp;c\"d'e</string></value>\n")
        );
    }

    #[test]
    fn carriage_return_becomes_a_character_reference() {
        assert_eq!(
            write_response(&Value::from("a\r\nb")),
            response_with("<value><string>a&#13;\nb</string></value>\n")
        );
    }

    #[test]
    fn characters_xml_forbids_become_question_marks() {
        let text = "\u{0}\u{1}\u{8}\t\n\u{b}\u{c}\u{e}\u{1f} \u{7f}\u{85}\u{d7ff}\u{e000}\u{fffd}\u{fffe}\u{ffff}\u{10000}\u{10ffff}";
        let expected = "???\t\n???? \u{7f}\u{85}\u{d7ff}\u{e000}\u{fffd}??\u{10000}\u{10ffff}";
        assert_eq!(
            write_response(&Value::from(text)),
            response_with(&format!("<value><string>{expected}</string></value>\n"))
        );
    }

    #[test]
    fn containers_use_python_layout() {
        let members = BTreeMap::from([("b".to_owned(), Value::Int(2)), ("a&".to_owned(), Value::Nil)]);
        let value = Value::Array(vec![
            Value::Int(1),
            Value::Nil,
            Value::Struct(members),
            Value::Array(vec![]),
            Value::Struct(BTreeMap::new()),
        ]);
        let expected = concat!(
            "<value><array><data>\n",
            "<value><int>1</int></value>\n",
            "<value><nil/></value>",
            "<value><struct>\n",
            "<member>\n<name>a&amp;</name>\n<value><nil/></value></member>\n",
            "<member>\n<name>b</name>\n<value><int>2</int></value>\n</member>\n",
            "</struct></value>\n",
            "<value><array><data>\n</data></array></value>\n",
            "<value><struct>\n</struct></value>\n",
            "</data></array></value>\n",
        );
        assert_eq!(write_response(&value), response_with(expected));
    }

    #[test]
    fn fault_has_pythons_layout() {
        let expected = concat!(
            "<?xml version='1.0'?>\n<methodResponse>\n<fault>\n<value><struct>\n",
            "<member>\n<name>faultCode</name>\n<value><int>102</int></value>\n</member>\n",
            "<member>\n<name>faultString</name>\n<value><string>bad &lt;x&gt;</string></value>\n</member>\n",
            "</struct></value>\n</fault>\n</methodResponse>\n",
        );
        assert_eq!(write_fault(102, "bad <x>"), expected);
    }

    #[test]
    fn method_call_has_pythons_layout() {
        let expected = concat!(
            "<?xml version='1.0'?>\n<methodCall>\n<methodName>Get&amp;Nodes</methodName>\n<params>\n",
            "<param>\n<value><int>1</int></value>\n</param>\n",
            "<param>\n<value><string>x</string></value>\n</param>\n",
            "</params>\n</methodCall>\n",
        );
        assert_eq!(write_method_call("Get&Nodes", &[Value::Int(1), Value::from("x")]), expected);
        assert_eq!(
            write_method_call("M", &[]),
            "<?xml version='1.0'?>\n<methodCall>\n<methodName>M</methodName>\n<params>\n</params>\n</methodCall>\n"
        );
    }

    #[test]
    fn base64_string_parts_wrap_exactly_like_write_response() {
        let encoded = "aGVsbG8gd29ybGQ=";
        let (prefix, suffix) = base64_string_response_parts();
        assert_eq!(format!("{prefix}{encoded}{suffix}"), write_response(&Value::from(encoded)));
        assert_eq!(format!("{prefix}{suffix}"), write_response(&Value::from("")));
    }
}
