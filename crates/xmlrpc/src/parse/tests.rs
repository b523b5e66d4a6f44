//! Unit tests of the parser: every value type, the XML safety rules, limits
//! and malformed documents.

use std::collections::BTreeMap;

use super::*;

/// A method call `M` whose single param is the `<value>` element `value_xml`.
fn call_with(value_xml: &str) -> String {
    format!(
        "<?xml version='1.0'?>\n<methodCall>\n<methodName>M</methodName>\n<params>\n<param>\n{value_xml}\n</param>\n</params>\n</methodCall>\n"
    )
}

fn parse_call(document: &str) -> Result<MethodCall, ParseError> {
    parse_method_call(document.as_bytes(), &Limits::default())
}

/// The single param of a call holding `value_xml`.
fn parse_value(value_xml: &str) -> Result<Value, ParseError> {
    let call = parse_call(&call_with(value_xml))?;
    assert_eq!(call.params.len(), 1);
    Ok(call.params.into_iter().next().unwrap_or(Value::Nil))
}

fn error_kind(value_xml: &str) -> ParseErrorKind {
    match parse_value(value_xml) {
        Ok(value) => panic!("{value_xml} parsed as {value:?}"),
        Err(error) => error.kind,
    }
}

fn call_error(document: &str) -> ParseError {
    match parse_call(document) {
        Ok(call) => panic!("{document} parsed as {call:?}"),
        Err(error) => error,
    }
}

fn nested_arrays(depth: usize) -> String {
    format!(
        "<value>{}<int>1</int>{}</value>",
        "<array><data><value>".repeat(depth),
        "</value></data></array>".repeat(depth)
    )
}

#[test]
fn python_style_call_with_every_type() {
    let document = concat!(
        "<?xml version='1.0'?>\n<methodCall>\n<methodName>AddNode</methodName>\n<params>\n",
        "<param>\n<value><nil/></value></param>\n",
        "<param>\n<value><boolean>1</boolean></value>\n</param>\n",
        "<param>\n<value><int>-5</int></value>\n</param>\n",
        "<param>\n<value><double>1.5</double></value>\n</param>\n",
        "<param>\n<value><string>\u{fc}n &lt;&amp;&gt;</string></value>\n</param>\n",
        "<param>\n<value><base64>\nYnl0ZXM=\n</base64></value>\n</param>\n",
        "<param>\n<value><dateTime.iso8601>20200102T03:04:05</dateTime.iso8601></value>\n</param>\n",
        "<param>\n<value><array><data>\n<value><int>1</int></value>\n</data></array></value>\n</param>\n",
        "<param>\n<value><struct>\n<member>\n<name>k</name>\n<value><string>v</string></value>\n</member>\n</struct></value>\n</param>\n",
        "</params>\n</methodCall>\n",
    );
    let call = parse_call(document).expect("valid call");
    assert_eq!(call.method_name, "AddNode");
    assert_eq!(
        call.params,
        vec![
            Value::Nil,
            Value::Bool(true),
            Value::Int(-5),
            Value::Double(1.5),
            Value::from("\u{fc}n <&>"),
            Value::Base64(b"bytes".to_vec()),
            Value::DateTime("20200102T03:04:05".into()),
            Value::Array(vec![Value::Int(1)]),
            Value::Struct(BTreeMap::from([("k".to_owned(), Value::from("v"))])),
        ]
    );
}

#[test]
fn untyped_value_is_a_string_with_whitespace_kept() {
    assert_eq!(parse_value("<value>  two words \n</value>"), Ok(Value::from("  two words \n")));
    assert_eq!(parse_value("<value></value>"), Ok(Value::from("")));
    assert_eq!(parse_value("<value/>"), Ok(Value::from("")));
    assert_eq!(parse_value("<value><string/></value>"), Ok(Value::from("")));
    assert_eq!(parse_value("<value><string></string></value>"), Ok(Value::from("")));
    assert_eq!(parse_value("<value><string> x </string></value>"), Ok(Value::from(" x ")));
}

#[test]
fn indentation_around_type_elements_is_ignored() {
    let value = "<value>\n   <struct>\n  <member> <name>a</name>\n <value>\n\t<i4> 3 </i4>\n </value> </member>\n</struct>\n</value>";
    assert_eq!(parse_value(value), Ok(Value::Struct(BTreeMap::from([("a".to_owned(), Value::Int(3))]))));
}

#[test]
fn integers_in_all_three_elements() {
    assert_eq!(parse_value("<value><int>42</int></value>"), Ok(Value::Int(42)));
    assert_eq!(parse_value("<value><i4>-7</i4></value>"), Ok(Value::Int(-7)));
    assert_eq!(parse_value("<value><i8>1099511627776</i8></value>"), Ok(Value::Int(1 << 40)));
    // Lenient: an <i4> beyond 32 bits is still taken.
    assert_eq!(parse_value("<value><i4>4294967296</i4></value>"), Ok(Value::Int(1 << 32)));
    assert_eq!(parse_value("<value><int>\n +9 \n</int></value>"), Ok(Value::Int(9)));
}

#[test]
fn malformed_scalars_are_rejected_with_their_text() {
    assert_eq!(error_kind("<value><int>abc</int></value>"), ParseErrorKind::InvalidInt("abc".into()));
    assert_eq!(error_kind("<value><int/></value>"), ParseErrorKind::InvalidInt(String::new()));
    assert_eq!(
        error_kind("<value><i8>99999999999999999999</i8></value>"),
        ParseErrorKind::IntOutOfRange("99999999999999999999".into())
    );
    assert_eq!(error_kind("<value><boolean>true</boolean></value>"), ParseErrorKind::InvalidBoolean("true".into()));
    assert_eq!(error_kind("<value><boolean>2</boolean></value>"), ParseErrorKind::InvalidBoolean("2".into()));
    assert_eq!(error_kind("<value><double>inf</double></value>"), ParseErrorKind::InvalidDouble("inf".into()));
    assert_eq!(error_kind("<value><double>nan</double></value>"), ParseErrorKind::InvalidDouble("nan".into()));
    assert_eq!(error_kind("<value><double>1.2.3</double></value>"), ParseErrorKind::InvalidDouble("1.2.3".into()));
    assert!(matches!(error_kind("<value><base64>a$b=</base64></value>"), ParseErrorKind::InvalidBase64(_)));
    assert_eq!(
        error_kind("<value><dateTime.iso8601>20201340T00:00:00</dateTime.iso8601></value>"),
        ParseErrorKind::InvalidDateTime("20201340T00:00:00".into())
    );
}

#[test]
fn scalar_error_points_at_the_element() {
    let document = call_with("<value><int>abc</int></value>");
    let error = call_error(&document);
    let element_offset = document.find("<int>").map(|index| index as u64);
    assert_eq!(Some(error.offset), element_offset);
    assert_eq!(error.to_string(), format!("invalid int 'abc' at byte {}", error.offset));
}

#[test]
fn booleans_doubles_and_nil() {
    assert_eq!(parse_value("<value><boolean>0</boolean></value>"), Ok(Value::Bool(false)));
    assert_eq!(parse_value("<value><boolean> 1\n</boolean></value>"), Ok(Value::Bool(true)));
    assert_eq!(parse_value("<value><double>-0.0</double></value>"), Ok(Value::Double(-0.0)));
    assert_eq!(parse_value("<value><double>1e-07</double></value>"), Ok(Value::Double(1e-7)));
    assert_eq!(parse_value("<value><nil/></value>"), Ok(Value::Nil));
    assert_eq!(parse_value("<value><nil></nil></value>"), Ok(Value::Nil));
    assert_eq!(parse_value("<value><ex:nil/></value>"), Ok(Value::Nil));
    assert_eq!(error_kind("<value><nil>x</nil></value>"), ParseErrorKind::NonEmptyNil);
}

#[test]
fn base64_wrapped_like_python_decodes() {
    let value = "<value><base64>\naGVsbG8gd29y\nbGQ=\n</base64></value>";
    assert_eq!(parse_value(value), Ok(Value::Base64(b"hello world".to_vec())));
    assert_eq!(parse_value("<value><base64/></value>"), Ok(Value::Base64(Vec::new())));
}

#[test]
fn datetimes_in_both_forms_are_normalised() {
    for text in ["20200102T03:04:05", "2020-01-02T03:04:05", "2020-01-02T03:04:05Z"] {
        let value = format!("<value><dateTime.iso8601>{text}</dateTime.iso8601></value>");
        assert_eq!(parse_value(&value), Ok(Value::DateTime("20200102T03:04:05".into())), "{text}");
    }
}

#[test]
fn containers_nest_and_may_be_empty() {
    let value = "<value><array><data><value><array><data/></array></value><value><struct/></value><value><array/></value><value><array></array></value></data></array></value>";
    assert_eq!(
        parse_value(value),
        Ok(Value::Array(vec![
            Value::Array(vec![]),
            Value::Struct(BTreeMap::new()),
            Value::Array(vec![]),
            Value::Array(vec![]),
        ]))
    );
    assert_eq!(parse_value("<value><struct></struct></value>"), Ok(Value::Struct(BTreeMap::new())));
}

#[test]
fn duplicate_struct_keys_keep_the_last_value() {
    let value = "<value><struct><member><name>k</name><value><int>1</int></value></member><member><name>k</name><value><int>2</int></value></member></struct></value>";
    assert_eq!(parse_value(value), Ok(Value::Struct(BTreeMap::from([("k".to_owned(), Value::Int(2))]))));
}

#[test]
fn struct_member_problems_are_named() {
    assert_eq!(
        error_kind("<value><struct><member><name>k</name></member></struct></value>"),
        ParseErrorKind::MissingMemberValue("k".into())
    );
    assert_eq!(
        error_kind("<value><struct><member><value>1</value></member></struct></value>"),
        ParseErrorKind::MissingMemberName
    );
    assert_eq!(error_kind("<value><struct><member/></struct></value>"), ParseErrorKind::MissingMemberName);
    assert!(matches!(
        error_kind("<value><struct><value>1</value></struct></value>"),
        ParseErrorKind::Unexpected { .. }
    ));
    // The name is plain text, entities decoded, whitespace kept.
    assert_eq!(
        parse_value("<value><struct><member><name> a&amp;b </name><value/></member></struct></value>"),
        Ok(Value::Struct(BTreeMap::from([(" a&b ".to_owned(), Value::from(""))])))
    );
}

#[test]
fn params_may_be_absent_or_empty() {
    let bare = "<methodCall><methodName>system.listMethods</methodName></methodCall>";
    assert_eq!(parse_call(bare), Ok(MethodCall { method_name: "system.listMethods".into(), params: vec![] }));
    let empty = "<methodCall><methodName> M\n</methodName><params/></methodCall>";
    assert_eq!(parse_call(empty), Ok(MethodCall { method_name: "M".into(), params: vec![] }));
    let python_empty =
        "<?xml version='1.0'?>\n<methodCall>\n<methodName>M</methodName>\n<params>\n</params>\n</methodCall>\n";
    assert_eq!(parse_call(python_empty).map(|call| call.params), Ok(vec![]));
}

#[test]
fn structural_problems_are_named() {
    assert_eq!(call_error("<methodCall><params/></methodCall>").kind, ParseErrorKind::MissingMethodName);
    assert_eq!(call_error("<methodCall/>").kind, ParseErrorKind::MissingMethodName);
    assert_eq!(
        call_error("<methodCall><methodName>M</methodName><params><param></param></params></methodCall>").kind,
        ParseErrorKind::MissingParamValue
    );
    assert_eq!(
        call_error("<methodCall><methodName>M</methodName><params><param/></params></methodCall>").kind,
        ParseErrorKind::MissingParamValue
    );
    let two_values =
        "<methodCall><methodName>M</methodName><params><param><value/><value/></param></params></methodCall>";
    assert_eq!(
        call_error(two_values).kind,
        ParseErrorKind::Unexpected { expected: "</param>".into(), found: "<value/>".into() }
    );
    assert_eq!(
        call_error("<methodResponse/>").kind,
        ParseErrorKind::Unexpected { expected: "<methodCall>".into(), found: "<methodResponse/>".into() }
    );
}

#[test]
fn unknown_elements_and_stray_text_are_errors() {
    assert_eq!(error_kind("<value><foo>1</foo></value>"), ParseErrorKind::UnknownType("foo".into()));
    assert_eq!(error_kind("<value><float>1</float></value>"), ParseErrorKind::UnknownType("float".into()));
    assert_eq!(error_kind("<value>abc<int>1</int></value>"), ParseErrorKind::MixedValue("int".into()));
    assert!(matches!(error_kind("<value><int>1</int>abc</value>"), ParseErrorKind::Unexpected { .. }));
    assert!(matches!(error_kind("<value><int>1<b/></int></value>"), ParseErrorKind::Unexpected { .. }));
    assert!(matches!(error_kind("<value><int>1</int><int>2</int></value>"), ParseErrorKind::Unexpected { .. }));
    let stray_text = "<methodCall><methodName>M</methodName><params>abc<param><value/></param></params></methodCall>";
    assert_eq!(
        call_error(stray_text).kind,
        ParseErrorKind::Unexpected { expected: "<param> or </params>".into(), found: "text 'abc'".into() }
    );
    let unknown = "<methodCall><methodName>M</methodName><params><foo/></params></methodCall>";
    assert!(matches!(call_error(unknown).kind, ParseErrorKind::Unexpected { .. }));
    assert!(matches!(
        call_error("<methodCall><methodName>M</methodName><extra/></methodCall>").kind,
        ParseErrorKind::Unexpected { .. }
    ));
}

#[test]
fn entities_and_character_references_are_decoded() {
    let value = "<value>&lt;&gt;&amp;&apos;&quot;&#65;&#x42;&#x1F600;</value>";
    assert_eq!(parse_value(value), Ok(Value::from("<>&'\"AB\u{1F600}")));
    assert_eq!(parse_value("<value><string>a<![CDATA[<b>&amp;]]>c</string></value>"), Ok(Value::from("a<b>&amp;c")));
    assert_eq!(parse_value("<value>a<!-- note -->b<?pi x?>c</value>"), Ok(Value::from("abc")));
}

#[test]
fn unknown_and_broken_references_are_errors() {
    assert_eq!(error_kind("<value>&nbsp;</value>"), ParseErrorKind::UnknownEntity("nbsp".into()));
    assert!(matches!(error_kind("<value>a & b</value>"), ParseErrorKind::Malformed(_)));
    assert!(matches!(error_kind("<value>&#0;</value>"), ParseErrorKind::Malformed(_)));
    assert!(matches!(error_kind("<value>&#xD800;</value>"), ParseErrorKind::Malformed(_)));
    assert!(matches!(error_kind("<value>&#xZZ;</value>"), ParseErrorKind::Malformed(_)));
}

#[test]
fn line_ends_are_normalised_but_character_reference_cr_survives() {
    assert_eq!(parse_value("<value>a\r\nb\rc</value>"), Ok(Value::from("a\nb\nc")));
    assert_eq!(parse_value("<value>a&#13;\nb</value>"), Ok(Value::from("a\r\nb")));
}

#[test]
fn billion_laughs_is_refused() {
    let document = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<methodCall><methodName>M</methodName><params><param><value>&lol4;</value></param></params></methodCall>"#;
    let error = call_error(document);
    assert_eq!(error.kind, ParseErrorKind::Doctype);
    assert_eq!(error.to_string(), "DOCTYPE declarations are not accepted at byte 22");
}

#[test]
fn external_entity_is_refused() {
    let document = r#"<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]><methodCall><methodName>M</methodName><params><param><value>&x;</value></param></params></methodCall>"#;
    assert_eq!(call_error(document).kind, ParseErrorKind::Doctype);
    // Without the DOCTYPE the reference is merely unknown.
    let bare = "<methodCall><methodName>M</methodName><params><param><value>&x;</value></param></params></methodCall>";
    assert_eq!(call_error(bare).kind, ParseErrorKind::UnknownEntity("x".into()));
}

#[test]
fn any_doctype_is_refused() {
    let document = "<!DOCTYPE methodCall><methodCall><methodName>M</methodName></methodCall>";
    assert_eq!(call_error(document).kind, ParseErrorKind::Doctype);
}

#[test]
fn utf8_declarations_are_accepted_and_others_refused() {
    let body = "<methodName>M</methodName></methodCall>";
    for declaration in [
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>",
        "<?xml version='1.0' encoding='UTF-8'?>",
        "<?xml version=\"1.0\" encoding=\"US-ASCII\"?>",
        "\u{feff}<?xml version=\"1.0\"?>",
        "",
    ] {
        let document = format!("{declaration}<methodCall>{body}");
        assert!(parse_call(&document).is_ok(), "{declaration}");
    }
    let latin1 = format!("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><methodCall>{body}");
    assert_eq!(call_error(&latin1).kind, ParseErrorKind::UnsupportedEncoding("ISO-8859-1".into()));
}

#[test]
fn invalid_utf8_is_refused_with_its_offset() {
    let mut body = b"<methodCall><methodName>M</methodName><params><param><value>".to_vec();
    let bad_at = body.len() as u64;
    body.extend_from_slice(b"\xff\xfe</value></param></params></methodCall>");
    let error = parse_method_call(&body, &Limits::default()).err();
    assert_eq!(error, Some(ParseErrorKind::InvalidUtf8.at(bad_at)));
}

#[test]
fn comments_and_processing_instructions_are_skipped_everywhere() {
    let document = "<?xml version='1.0'?><!-- a --><?php x?>\n<methodCall><!-- b --><methodName>M</methodName><params><!-- c --><param><value><int>1</int><!-- d --></value></param></params></methodCall>\n<!-- e --><?pi?>\n";
    assert_eq!(parse_call(document).map(|call| call.params), Ok(vec![Value::Int(1)]));
}

#[test]
fn junk_after_the_root_is_refused() {
    let call = "<methodCall><methodName>M</methodName></methodCall>";
    for junk in ["<x/>", "text", "<methodCall><methodName>M</methodName></methodCall>", "</y>"] {
        let error = call_error(&format!("{call}{junk}"));
        assert!(
            matches!(error.kind, ParseErrorKind::TrailingContent("methodCall") | ParseErrorKind::Malformed(_)),
            "{junk}: {error}"
        );
    }
    assert_eq!(
        call_error(&format!("{call}<x/>")).to_string(),
        format!("trailing content after </methodCall> at byte {}", call.len())
    );
}

#[test]
fn mismatched_tags_are_not_well_formed() {
    let document =
        "<methodCall><methodName>M</methodName><params><param><value><int>1</i4></value></param></params></methodCall>";
    let error = call_error(document);
    assert!(matches!(error.kind, ParseErrorKind::Malformed(_)), "{error}");
    assert!(error.to_string().starts_with("not well-formed XML: "), "{error}");
}

#[test]
fn every_truncation_of_a_call_is_an_error() {
    let value = Value::Struct(BTreeMap::from([
        ("list".to_owned(), Value::Array(vec![Value::Int(1), Value::from("a&b"), Value::Nil])),
        ("when".to_owned(), Value::DateTime("20200102T03:04:05".into())),
    ]));
    let document = crate::write_method_call("M", &[value, Value::Base64(vec![1, 2, 3])]);
    let end = document.find("</methodCall>").unwrap_or(document.len());
    for cut in 0..end {
        assert!(parse_call(&document[..cut]).is_err(), "prefix of {cut} bytes parsed");
    }
    assert!(parse_call(&document).is_ok());
    let error = call_error(&document[..document.find("</value>").unwrap_or(0)]);
    assert!(matches!(error.kind, ParseErrorKind::Truncated(_)), "{error}");
}

#[test]
fn empty_and_non_xml_bodies_are_errors() {
    assert!(matches!(call_error("").kind, ParseErrorKind::Truncated(_)));
    assert!(matches!(call_error("   \n").kind, ParseErrorKind::Truncated(_)));
    assert!(matches!(call_error("hello").kind, ParseErrorKind::Unexpected { .. }));
    assert!(matches!(call_error("{\"json\": 1}").kind, ParseErrorKind::Unexpected { .. }));
    assert!(matches!(call_error("<methodCall").kind, ParseErrorKind::Malformed(_)));
}

#[test]
fn nesting_up_to_the_limit_is_accepted() {
    let value = parse_value(&nested_arrays(64)).expect("depth 64 is allowed");
    let mut depth = 0;
    let mut current = &value;
    while let Value::Array(items) = current {
        depth += 1;
        current = &items[0];
    }
    assert_eq!(depth, 64);
    assert_eq!(current, &Value::Int(1));
}

#[test]
fn nesting_beyond_the_limit_is_refused() {
    assert_eq!(error_kind(&nested_arrays(65)), ParseErrorKind::TooDeep(64));
    let structs = format!(
        "<value>{}<int>1</int>{}</value>",
        "<struct><member><name>k</name><value>".repeat(65),
        "</value></member></struct>".repeat(65)
    );
    assert_eq!(error_kind(&structs), ParseErrorKind::TooDeep(64));
}

#[test]
fn depth_bomb_fails_fast_without_exhausting_the_stack() {
    // 200 000 unclosed arrays: refused at depth 65 long before the end.
    let bomb = call_with(&"<value><array><data>".repeat(200_000));
    assert_eq!(call_error(&bomb).kind, ParseErrorKind::TooDeep(64));
}

#[test]
fn default_depth_fits_in_half_a_tokio_worker_stack() {
    // Tokio workers get 2 MiB; an unoptimised build needs ~5 KiB per level.
    let document = call_with(&nested_arrays(64));
    let worker = std::thread::Builder::new()
        .stack_size(1024 * 1024)
        .spawn(move || parse_call(&document).is_ok())
        .expect("spawn");
    assert_eq!(worker.join().ok(), Some(true));
}

#[test]
fn value_count_is_limited() {
    let limits = Limits { max_depth: 64, max_values: 10 };
    let items = |count: usize| format!("<value><array><data>{}</data></array></value>", "<value/>".repeat(count));
    let ok = parse_method_call(call_with(&items(9)).as_bytes(), &limits);
    assert!(ok.is_ok(), "{ok:?}");
    let too_many = parse_method_call(call_with(&items(10)).as_bytes(), &limits);
    assert_eq!(too_many.map_err(|error| error.kind), Err(ParseErrorKind::TooManyValues(10)));
}

#[test]
fn default_value_limit_refuses_a_million_and_one() {
    assert_eq!(Limits::default(), Limits { max_depth: 64, max_values: 1_000_000 });
    let flat = format!("<value><array><data>{}</data></array></value>", "<value/>".repeat(1_000_000));
    assert_eq!(error_kind(&flat), ParseErrorKind::TooManyValues(1_000_000));
}

#[test]
fn success_response_is_parsed() {
    let document = crate::write_response(&Value::Array(vec![Value::Int(1), Value::Nil]));
    assert_eq!(
        parse_method_response(document.as_bytes(), &Limits::default()),
        Ok(MethodResponse::Success(Value::Array(vec![Value::Int(1), Value::Nil])))
    );
}

#[test]
fn fault_response_is_parsed() {
    let document = crate::write_fault(103, "No such node <x>");
    assert_eq!(
        parse_method_response(document.as_bytes(), &Limits::default()),
        Ok(MethodResponse::Fault { code: 103, message: "No such node <x>".into() })
    );
}

#[test]
fn malformed_responses_are_refused() {
    let parse =
        |document: &str| parse_method_response(document.as_bytes(), &Limits::default()).map_err(|error| error.kind);
    assert_eq!(parse("<methodResponse><params></params></methodResponse>"), Err(ParseErrorKind::ResponseParamCount(0)));
    assert_eq!(
        parse("<methodResponse><params><param><value/></param><param><value/></param></params></methodResponse>"),
        Err(ParseErrorKind::ResponseParamCount(2))
    );
    assert_eq!(
        parse(
            "<methodResponse><fault><value><struct><member><name>faultCode</name><value><string>x</string></value></member></struct></value></fault></methodResponse>"
        ),
        Err(ParseErrorKind::InvalidFault)
    );
    assert_eq!(
        parse("<methodResponse><fault><value><int>1</int></value></fault></methodResponse>"),
        Err(ParseErrorKind::InvalidFault)
    );
    assert!(matches!(parse("<methodResponse/>"), Err(ParseErrorKind::Unexpected { .. })));
    assert!(matches!(
        parse("<methodCall><methodName>M</methodName></methodCall>"),
        Err(ParseErrorKind::Unexpected { .. })
    ));
    let response = crate::write_response(&Value::Int(1));
    assert_eq!(parse(&format!("{response}<x/>")), Err(ParseErrorKind::TrailingContent("methodResponse")));
}

#[test]
fn error_messages_read_well() {
    let cases = [
        (ParseErrorKind::UnknownType("foo".into()), "unknown value type <foo> at byte 7"),
        (ParseErrorKind::TooDeep(64), "nesting deeper than 64 at byte 7"),
        (ParseErrorKind::IntOutOfRange("9".into()), "integer out of range '9' at byte 7"),
        (ParseErrorKind::MissingMethodName, "missing <methodName> at byte 7"),
        (ParseErrorKind::TrailingContent("methodCall"), "trailing content after </methodCall> at byte 7"),
        (ParseErrorKind::Truncated("</value>".into()), "document ended early, expected </value> at byte 7"),
    ];
    for (kind, message) in cases {
        assert_eq!(kind.at(7).to_string(), message);
    }
}

#[test]
fn characters_xml_forbids_are_refused_raw_and_as_references() {
    for (value_xml, code) in [
        ("<value><string>a\u{0}b</string></value>", 0),
        ("<value><string>a&#0;b</string></value>", 0),
        ("<value><string>\u{1}</string></value>", 1),
        ("<value><string>&#x1F;</string></value>", 0x1f),
        ("<value><string>\u{FFFE}</string></value>", 0xfffe),
        ("<value>x\u{8}y</value>", 8),
    ] {
        let kind = error_kind(value_xml);
        // quick-xml itself refuses `&#0;`; every other case is ours.
        assert!(
            kind == ParseErrorKind::ForbiddenCharacter(code)
                || matches!(kind, ParseErrorKind::Malformed(_)) && code == 0,
            "{value_xml:?}: {kind:?}"
        );
    }
    assert_eq!(
        parse_value("<value><string>tab\there\r\nnext</string></value>").unwrap(),
        Value::from("tab\there\nnext")
    );
}
