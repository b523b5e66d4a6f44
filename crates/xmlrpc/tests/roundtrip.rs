//! Property tests: whatever `Value` tree we write, we read back the same
//! tree, up to the documented lossy steps of the writer (characters XML
//! forbids become `?`, non-finite doubles become nil, dateTimes are compact).

use std::collections::BTreeMap;

use bootmedium_xmlrpc::{
    Limits, MethodCall, MethodResponse, ParseErrorKind, Value, parse_method_call, parse_method_response,
    write_method_call, write_response,
};
use proptest::prelude::*;

mod common;
use common::same;

/// Arbitrary Unicode text, control characters and non-characters included.
fn any_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<char>(), 0..24).prop_map(String::from_iter)
}

/// A valid dateTime in either accepted form, possibly with a `Z`.
fn any_datetime() -> impl Strategy<Value = String> {
    (0u32..10000, 1u32..=12, 1u32..=31, 0u32..24, 0u32..60, 0u32..=60, any::<bool>(), any::<bool>()).prop_map(
        |(year, month, day, hour, minute, second, dashed, zulu)| {
            let date =
                if dashed { format!("{year:04}-{month:02}-{day:02}") } else { format!("{year:04}{month:02}{day:02}") };
            let zone = if zulu { "Z" } else { "" };
            format!("{date}T{hour:02}:{minute:02}:{second:02}{zone}")
        },
    )
}

fn any_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Nil),
        any::<i64>().prop_map(Value::Int),
        any::<i32>().prop_map(Value::from),
        any::<bool>().prop_map(Value::Bool),
        any::<f64>().prop_map(Value::Double),
        any_text().prop_map(Value::String),
        proptest::collection::vec(any::<u8>(), 0..200).prop_map(Value::Base64),
        any_datetime().prop_map(Value::DateTime),
    ]
}

fn any_value() -> impl Strategy<Value = Value> {
    any_scalar().prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::btree_map(any_text(), inner, 0..8).prop_map(Value::Struct),
        ]
    })
}

/// Text as it reads back: characters XML 1.0 forbids come back as `?`.
fn as_written(text: &str) -> String {
    text.chars()
        .map(|character| match character {
            '\t' | '\n' | '\r' | '\u{20}'..='\u{FFFD}' | '\u{10000}'.. => character,
            _ => '?',
        })
        .collect()
}

/// `value` as it reads back after writing.
fn expected_after_round_trip(value: &Value) -> Value {
    match value {
        Value::Double(number) if !number.is_finite() => Value::Nil,
        Value::String(text) => Value::String(as_written(text)),
        Value::DateTime(text) => {
            let compact: String = text.trim_end_matches('Z').replace('-', "");
            Value::DateTime(compact)
        }
        Value::Array(items) => Value::Array(items.iter().map(expected_after_round_trip).collect()),
        Value::Struct(members) => {
            // Keys that collide after `?` substitution: the later one (in
            // written order) wins on reading, exactly as inserting in order.
            let mut expected = BTreeMap::new();
            for (name, member) in members {
                expected.insert(as_written(name), expected_after_round_trip(member));
            }
            Value::Struct(expected)
        }
        other => other.clone(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn response_round_trips(value in any_value()) {
        let document = write_response(&value);
        let parsed = parse_method_response(document.as_bytes(), &Limits::default());
        let expected = expected_after_round_trip(&value);
        match parsed {
            Ok(MethodResponse::Success(read)) => prop_assert!(same(&read, &expected), "{read:?} != {expected:?}\n{document}"),
            other => prop_assert!(false, "{other:?}\n{document}"),
        }
    }

    #[test]
    fn method_call_round_trips(
        method in "[A-Za-z][A-Za-z0-9_.]{0,20}",
        params in proptest::collection::vec(any_value(), 0..4),
    ) {
        let document = write_method_call(&method, &params);
        let parsed = parse_method_call(document.as_bytes(), &Limits::default());
        let expected: Vec<Value> = params.iter().map(expected_after_round_trip).collect();
        match parsed {
            Ok(MethodCall { method_name, params: read }) => {
                prop_assert_eq!(method_name, method);
                prop_assert_eq!(read.len(), expected.len());
                for (got, want) in read.iter().zip(&expected) {
                    prop_assert!(same(got, want), "{got:?} != {want:?}");
                }
            }
            Err(error) => prop_assert!(false, "{error}\n{document}"),
        }
    }

    #[test]
    fn fault_round_trips(code in any::<i64>(), message in any_text()) {
        let document = bootmedium_xmlrpc::write_fault(code, &message);
        let parsed = parse_method_response(document.as_bytes(), &Limits::default());
        prop_assert_eq!(parsed, Ok(MethodResponse::Fault { code, message: as_written(&message) }));
    }

    #[test]
    fn parser_never_panics_on_mutated_documents(
        value in any_value(),
        cut in any::<prop::sample::Index>(),
        junk in proptest::collection::vec(any::<u8>(), 0..8),
    ) {
        // Splice random bytes into a valid document: any result is fine,
        // as long as it is a result.
        let mut document = write_response(&value).into_bytes();
        let at = cut.index(document.len() + 1);
        document.splice(at..at, junk);
        let _ = parse_method_response(&document, &Limits::default());
        let _ = parse_method_call(&document, &Limits::default());
    }
}

const SCALAR_ELEMENTS: [&str; 10] =
    ["int", "i4", "i8", "boolean", "double", "string", "base64", "dateTime.iso8601", "nil", "ex:nil"];

proptest! {
    #[test]
    fn arbitrary_scalar_text_gives_a_value_or_an_error(
        text in any_text(),
        element in proptest::sample::select(SCALAR_ELEMENTS.to_vec()),
    ) {
        let escaped = text.replace('&', "&amp;").replace('<', "&lt;");
        let document = format!(
            "<methodCall><methodName>M</methodName><params><param><value><{element}>{escaped}</{element}></value></param></params></methodCall>"
        );
        let _ = parse_method_call(document.as_bytes(), &Limits::default());
    }

    #[test]
    fn any_datetime_text_is_written_as_well_formed_xml(text in any_text()) {
        let document = write_response(&Value::DateTime(text));
        match parse_method_response(document.as_bytes(), &Limits::default()) {
            Ok(MethodResponse::Success(Value::DateTime(_))) => {}
            Err(error) => prop_assert!(
                matches!(error.kind, ParseErrorKind::InvalidDateTime(_)),
                "{error}\n{document}"
            ),
            other => prop_assert!(false, "{other:?}"),
        }
    }
}

#[test]
fn base64_string_parts_match_for_a_large_payload() {
    use base64::Engine as _;
    let payload: Vec<u8> = (0..100_000u32).map(|index| (index * 7 % 251) as u8).collect();
    let encoded = base64::engine::general_purpose::STANDARD.encode(&payload);
    let (prefix, suffix) = bootmedium_xmlrpc::base64_string_response_parts();
    let streamed = format!("{prefix}{encoded}{suffix}");
    assert_eq!(streamed, write_response(&Value::String(encoded.clone())));
    let read = parse_method_response(streamed.as_bytes(), &Limits::default());
    assert_eq!(read, Ok(MethodResponse::Success(Value::String(encoded))));
}
