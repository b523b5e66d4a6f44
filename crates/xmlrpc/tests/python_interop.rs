//! Interoperability with Python's `xmlrpc.client`, the client most PLCAPI
//! users run (and the library the original server was built on). Python
//! writes calls that we must parse, reads responses that we write, and is the
//! reference for our byte layout. Skipped, with a notice, where `python3` is
//! not installed.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::{Command, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bootmedium_xmlrpc::{Limits, Value, parse_method_call, write_fault, write_method_call, write_response};

mod common;
use common::same;

/// One value as Python writes it (`python`, evaluated with `x` =
/// `xmlrpc.client` and `datetime` in scope) and as we hold it (`value`).
struct Case {
    python: &'static str,
    value: Value,
    /// Python can write it and writes it exactly as we do, so it is checked in
    /// all three directions; otherwise only our response → Python.
    symmetric: bool,
}

fn both(python: &'static str, value: Value) -> Case {
    Case { python, value, symmetric: true }
}

fn to_python_only(python: &'static str, value: Value) -> Case {
    Case { python, value, symmetric: false }
}

fn members(pairs: Vec<(&str, Value)>) -> Value {
    Value::Struct(pairs.into_iter().map(|(key, value)| (key.to_owned(), value)).collect::<BTreeMap<_, _>>())
}

fn cases() -> Vec<Case> {
    let node = members(vec![
        ("boot_state", Value::from("boot")),
        ("hostname", Value::from("node1.example.org")),
        ("interface_ids", Value::Array(vec![Value::Int(1), Value::Int(2)])),
        ("last_updated", Value::Nil),
        ("node_id", Value::Int(42)),
    ]);
    vec![
        both("None", Value::Nil),
        both("True", Value::Bool(true)),
        both("False", Value::Bool(false)),
        both("-5", Value::Int(-5)),
        both("0", Value::Int(0)),
        both("2**31 - 1", Value::Int(i64::from(i32::MAX))),
        both("-2**31", Value::Int(i64::from(i32::MIN))),
        both("1.5", Value::Double(1.5)),
        both("-0.0", Value::Double(-0.0)),
        both("0.1", Value::Double(0.1)),
        both("1e-07", Value::Double(1e-7)),
        both("1e+300", Value::Double(1e300)),
        both("123456789.0", Value::Double(123_456_789.0)),
        both("'ünïcødé <&>'", Value::from("ünïcødé <&>")),
        both("''", Value::from("")),
        both("'tab\\t newline\\n quotes \\'\"'", Value::from("tab\t newline\n quotes '\"")),
        both("'\\u20ac \\U0001F600 ]]>'", Value::from("\u{20ac} \u{1F600} ]]>")),
        both("x.Binary(b'bytes')", Value::Base64(b"bytes".to_vec())),
        both("b'\\x00\\xff' * 40", Value::Base64([0, 255].repeat(40))),
        both("b''", Value::Base64(Vec::new())),
        both("datetime.datetime(2020, 1, 2, 3, 4, 5)", Value::DateTime("20200102T03:04:05".into())),
        both("[]", Value::Array(vec![])),
        both("{}", members(vec![])),
        both(
            "[1, 'a', [None, [True, None]], {'k': None}]",
            Value::Array(vec![
                Value::Int(1),
                Value::from("a"),
                Value::Array(vec![Value::Nil, Value::Array(vec![Value::Bool(true), Value::Nil])]),
                members(vec![("k", Value::Nil)]),
            ]),
        ),
        both(
            "{'a&b': 1, 'b': {'c': [1.5, b'z']}, 'z': []}",
            members(vec![
                ("a&b", Value::Int(1)),
                ("b", members(vec![("c", Value::Array(vec![Value::Double(1.5), Value::Base64(b"z".to_vec())]))])),
                ("z", Value::Array(vec![])),
            ]),
        ),
        both(
            "{'boot_state': 'boot', 'hostname': 'node1.example.org', 'interface_ids': [1, 2], 'last_updated': None, 'node_id': 42}",
            node,
        ),
        // Python refuses to write ints beyond 32 bits but reads our <i8>.
        to_python_only("2**40", Value::Int(1 << 40)),
        to_python_only("-2**63", Value::Int(i64::MIN)),
        to_python_only("2**63 - 1", Value::Int(i64::MAX)),
        // Python writes \r raw (and reads it back as \n); we keep it.
        to_python_only("'a\\r\\nb\\rc'", Value::from("a\r\nb\rc")),
        // Characters XML forbids arrive as '?', and the document stays readable.
        to_python_only("'a?b?c?\\x7f'", Value::from("a\u{1}b\u{1b}c\u{ffff}\u{7f}")),
        to_python_only("{'?': 1}", members(vec![("\u{0}", Value::Int(1))])),
        // Dashed dateTimes go out in the compact form Python requires.
        to_python_only("datetime.datetime(1999, 12, 31, 23, 59, 58)", Value::DateTime("1999-12-31T23:59:58Z".into())),
        // No infinity in XML-RPC: documented to go out as nil.
        to_python_only("None", Value::Double(f64::INFINITY)),
    ]
}

/// Answers from the Python oracle, one per request; `None` when python3 is
/// not installed.
fn ask_python(requests: &[String]) -> Option<Vec<String>> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/xmlrpc_oracle.py");
    let spawned =
        Command::new("python3").arg(script).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            println!("notice: python3 not found, skipping the Python interoperability test");
            return None;
        }
        Err(error) => panic!("cannot run python3: {error}"),
    };
    // The oracle reads all of stdin before writing, so this cannot deadlock.
    let mut stdin = child.stdin.take().expect("stdin is piped");
    stdin.write_all(requests.join("\n").as_bytes()).expect("write requests");
    drop(stdin);
    let output = child.wait_with_output().expect("python3 runs");
    assert!(output.status.success(), "oracle failed: {}", String::from_utf8_lossy(&output.stderr));
    let answers: Vec<String> =
        String::from_utf8(output.stdout).expect("UTF-8 output").lines().map(str::to_owned).collect();
    assert_eq!(answers.len(), requests.len(), "one answer per request");
    Some(answers)
}

fn encoded(text: &str) -> String {
    BASE64.encode(text)
}

/// A document the oracle sent back base64-encoded.
fn decoded_document(answer: &str) -> String {
    let bytes = BASE64.decode(answer).unwrap_or_else(|_| panic!("oracle answered {answer}"));
    String::from_utf8(bytes).expect("UTF-8 document")
}

/// A Python list expression of the given cases' values.
fn python_list(cases: &[&Case]) -> String {
    let items: Vec<&str> = cases.iter().map(|case| case.python).collect();
    format!("[{}]", items.join(", "))
}

fn assert_all_ok(requests: &[String], answers: &[String]) {
    let failures: Vec<String> = requests
        .iter()
        .zip(answers)
        .filter(|(_, answer)| answer.as_str() != "ok")
        .map(|(request, answer)| format!("{request}\n  -> {answer}"))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn calls_written_by_python_parse_to_the_expected_values() {
    let all = cases();
    let symmetric: Vec<&Case> = all.iter().filter(|case| case.symmetric).collect();
    let mut requests: Vec<String> =
        symmetric.iter().map(|case| format!("dumps_call\t{}", encoded(case.python))).collect();
    requests.push(format!("dumps_calls\t{}", encoded(&python_list(&symmetric))));
    let Some(answers) = ask_python(&requests) else {
        return;
    };
    for (case, answer) in symmetric.iter().zip(&answers) {
        let document = decoded_document(answer);
        let call = parse_method_call(document.as_bytes(), &Limits::default())
            .unwrap_or_else(|error| panic!("{}: {error}\n{document}", case.python));
        assert_eq!(call.method_name, "M");
        assert_eq!(call.params.len(), 1, "{}", case.python);
        assert!(
            same(&call.params[0], &case.value),
            "{}: parsed {:?}, expected {:?}",
            case.python,
            call.params[0],
            case.value
        );
    }
    let document = decoded_document(answers.last().expect("answers"));
    let call = parse_method_call(document.as_bytes(), &Limits::default()).expect("parses");
    let expected: Vec<Value> = symmetric.iter().map(|case| case.value.clone()).collect();
    assert_eq!(call.params.len(), expected.len());
    assert!(call.params.iter().zip(&expected).all(|(a, b)| same(a, b)));
}

#[test]
fn responses_we_write_read_back_in_python() {
    let all = cases();
    let mut requests: Vec<String> = all
        .iter()
        .map(|case| {
            let document = write_response(&case.value);
            format!("check_response\t{}\t{}", encoded(case.python), encoded(&document))
        })
        .collect();
    let every: Vec<&Case> = all.iter().collect();
    let params: Vec<Value> = all.iter().map(|case| case.value.clone()).collect();
    requests.push(format!(
        "check_call\t{}\t{}\t{}",
        encoded(&python_list(&every)),
        encoded("GetNodes"),
        encoded(&write_method_call("GetNodes", &params))
    ));
    for (code, message) in [(102, "bad <x> & \"y\""), (-1, ""), (1 << 40, "big\u{1}code")] {
        let expected = message.replace('\u{1}', "?");
        requests.push(format!("check_fault\t{code}\t{}\t{}", encoded(&expected), encoded(&write_fault(code, message))));
    }
    if let Some(answers) = ask_python(&requests) {
        assert_all_ok(&requests, &answers);
    }
}

#[test]
fn our_bytes_equal_pythons_where_python_is_canonical() {
    let all = cases();
    let symmetric: Vec<&Case> = all.iter().filter(|case| case.symmetric).collect();
    let mut requests: Vec<String> =
        symmetric.iter().map(|case| format!("dumps_response\t{}", encoded(case.python))).collect();
    requests.push(format!("dumps_calls\t{}", encoded(&python_list(&symmetric))));
    let faults = [(102, "Invalid argument <x> & y"), (103, ""), (-32700, "ünï")];
    for (code, message) in faults {
        requests.push(format!("dumps_fault\t{code}\t{}", encoded(message)));
    }
    let Some(answers) = ask_python(&requests) else {
        return;
    };
    let mut answers = answers.iter();
    for case in &symmetric {
        let python = decoded_document(answers.next().expect("answer"));
        assert_eq!(write_response(&case.value), python, "{}", case.python);
    }
    let params: Vec<Value> = symmetric.iter().map(|case| case.value.clone()).collect();
    let python = decoded_document(answers.next().expect("answer"));
    assert_eq!(write_method_call("M", &params), python);
    for (code, message) in faults {
        let python = decoded_document(answers.next().expect("answer"));
        assert_eq!(write_fault(code, message), python, "fault {code}");
    }
}

/// A deterministic stream of 64-bit patterns (xorshift64*).
fn bit_patterns(count: usize) -> Vec<u64> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..count)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_F491_4F6C_DD1D)
        })
        .collect()
}

#[test]
fn doubles_read_back_exactly_and_match_python_repr() {
    let special = [
        0.0,
        -0.0,
        1.0,
        0.1 + 0.2,
        1e15,
        1e16,
        9_007_199_254_740_993.0,
        1e-4,
        1e-5,
        f64::MIN_POSITIVE,
        5e-324,
        f64::MAX,
        f64::MIN,
        f64::EPSILON,
        std::f64::consts::PI,
    ];
    let random = bit_patterns(4000).into_iter().map(f64::from_bits).filter(|number| number.is_finite());
    let scaled = bit_patterns(1000).into_iter().map(|bits| (bits >> 11) as f64 / (1u64 << 20) as f64);
    let requests: Vec<String> = special
        .into_iter()
        .chain(random)
        .chain(scaled)
        .map(|number| {
            let document = write_response(&Value::Double(number));
            format!("check_double\t{:016x}\t{}", number.to_bits(), encoded(&document))
        })
        .collect();
    if let Some(answers) = ask_python(&requests) {
        assert_all_ok(&requests, &answers);
    }
}
