//! Malformed and hostile request bodies (issue 2, "Quality bars"): a table of bodies that are
//! not XML-RPC, one row per case, each answered with HTTP 200 and the right XML-RPC fault, the
//! database unchanged afterwards (as an admin sees it through the API) and the server still
//! answering; entities never resolved; garbage among valid calls at once. Hostile arguments of
//! well-formed calls are domain tests (crates/plc/tests/domain/hostile.rs).
//!
//! Section numbers (§N) refer to docs/plc-api.md.

use crate::support::*;
use bootmedium_xmlrpc::write_method_call;
use std::time::{Duration, Instant};

/// A body POSTed to /PLCAPI/ and the fault it must get.
struct Case {
    name: String,
    body: Vec<u8>,
    code: i64,
    needle: &'static str,
}

/// A malformed body: fault 102 (`Invalid argument: …`), the server's choice for requests that
/// are not XML-RPC (upstream answers HTTP 500 there, §10.1).
fn raw(name: &str, body: impl Into<Vec<u8>>) -> Case {
    Case { name: name.to_owned(), body: body.into(), code: 102, needle: "Invalid argument" }
}

const XML_DECL: &str = "<?xml version='1.0'?>\n";

fn auth_check_xml() -> String {
    write_method_call("AuthCheck", &[admin_auth()])
}

/// Bodies that are not XML-RPC at all.
fn not_xml_rpc() -> Vec<Case> {
    let auth_xml = auth_check_xml();
    vec![
        raw("empty body", ""),
        raw("whitespace body", "   \n"),
        raw("not XML (JSON)", r#"["AuthCheck", [{"AuthMethod": "anonymous"}]]"#),
        raw(
            "broken XML",
            format!("{XML_DECL}<methodCall><methodName>AuthCheck</methodName><params><<param></params></methodCall>"),
        ),
        raw("truncated XML", auth_xml[..auth_xml.len() / 2].to_owned()),
        raw("mismatched end tag", format!("{XML_DECL}<methodCall><methodName>AuthCheck</methodCall></methodName>")),
        raw(
            "wrong root element",
            format!(
                "{XML_DECL}<methodResponse><params><param><value><int>1</int></value></param></params></methodResponse>"
            ),
        ),
        raw("two root elements", format!("{auth_xml}{auth_xml}")),
        raw("methodCall without methodName", format!("{XML_DECL}<methodCall><params></params></methodCall>")),
        raw(
            "billion laughs entity expansion",
            format!(
                "{XML_DECL}<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\"><!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\"><!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\"><!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\"><!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\"><!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\"><!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\"><!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">]>\n<methodCall><methodName>GetNodes</methodName><params><param><value><struct><member><name>AuthMethod</name><value><string>&lol9;</string></value></member></struct></value></param></params></methodCall>"
            ),
        ),
        raw(
            "external entity (XXE)",
            format!(
                "{XML_DECL}<!DOCTYPE x [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n<methodCall><methodName>AuthCheck</methodName><params><param><value><struct><member><name>AuthMethod</name><value><string>&xxe;</string></value></member></struct></value></param></params></methodCall>"
            ),
        ),
        raw("undefined entity", format!("{XML_DECL}<methodCall><methodName>&nosuch;</methodName></methodCall>")),
        raw(
            "NUL character reference",
            format!(
                "{XML_DECL}<methodCall><methodName>AuthCheck</methodName><params><param><value><string>a&#0;b</string></value></param></params></methodCall>"
            ),
        ),
        raw("raw NUL byte in a string", {
            let mut b = format!("{XML_DECL}<methodCall><methodName>GetNodes</methodName><params><param><value><struct><member><name>AuthMethod</name><value><string>anonymous</string></value></member></struct></value></param><param><value><string>n").into_bytes();
            b.push(0);
            b.extend_from_slice(b".hostile.org</string></value></param></params></methodCall>");
            b
        }),
        Case {
            // XML 1.0 forbids U+0001: the parser refuses the request.
            name: "control character U+0001 in a string".into(),
            body: format!("{XML_DECL}<methodCall><methodName>GetNodes</methodName><params><param><value><string>\u{1}</string></value></param></params></methodCall>").into_bytes(),
            code: 102,
            needle: "",
        },
        raw("invalid UTF-8", {
            let mut b =
                format!("{XML_DECL}<methodCall><methodName>GetNodes</methodName><params><param><value><string>")
                    .into_bytes();
            b.extend_from_slice(&[0xff, 0xfe, 0xc3, 0x28]);
            b.extend_from_slice(b"</string></value></param></params></methodCall>");
            b
        }),
        raw(
            "unknown value type",
            format!(
                "{XML_DECL}<methodCall><methodName>AuthCheck</methodName><params><param><value><foo>1</foo></value></param></params></methodCall>"
            ),
        ),
        raw(
            "int that is not a number",
            format!(
                "{XML_DECL}<methodCall><methodName>GetNodes</methodName><params><param><value><int>abc</int></value></param></params></methodCall>"
            ),
        ),
        raw(
            "int beyond 64 bits",
            format!(
                "{XML_DECL}<methodCall><methodName>GetNodes</methodName><params><param><value><struct><member><name>AuthMethod</name><value>anonymous</value></member></struct></value></param><param><value><i8>99999999999999999999999</i8></value></param></params></methodCall>"
            ),
        ),
        raw(
            "boolean 2",
            format!(
                "{XML_DECL}<methodCall><methodName>GetNodes</methodName><params><param><value><boolean>2</boolean></value></param></params></methodCall>"
            ),
        ),
        raw(
            "bad base64",
            format!(
                "{XML_DECL}<methodCall><methodName>GetNodes</methodName><params><param><value><base64>!!not base64!!</base64></value></param></params></methodCall>"
            ),
        ),
        raw(
            "bad dateTime",
            format!(
                "{XML_DECL}<methodCall><methodName>GetNodes</methodName><params><param><value><dateTime.iso8601>yesterday</dateTime.iso8601></value></param></params></methodCall>"
            ),
        ),
        raw(
            "member without name",
            format!(
                "{XML_DECL}<methodCall><methodName>AuthCheck</methodName><params><param><value><struct><member><value>x</value></member></struct></value></param></params></methodCall>"
            ),
        ),
        raw("deep nesting (10000 arrays)", {
            let depth = 10_000;
            format!(
                "{XML_DECL}<methodCall><methodName>GetNodes</methodName><params><param><value>{}<int>1</int>{}</value></param></params></methodCall>",
                "<array><data><value>".repeat(depth),
                "</value></data></array>".repeat(depth)
            )
        }),
        raw("deep nesting in a well-formed call (100 levels)", {
            let mut v = Value::Int(1);
            for _ in 0..100 {
                v = Value::Array(vec![v]);
            }
            write_method_call("GetNodes", &[admin_auth(), v])
        }),
        raw("20 MB body", write_method_call("AuthCheck", &[admin_auth(), Value::String("x".repeat(20 * 1024 * 1024))])),
    ]
}

#[test]
fn malformed_bodies_get_faults_and_change_nothing() {
    let server = Server::start();
    server.use_admin_session();
    let table = not_xml_rpc();
    assert!(table.len() >= 25, "the table has {} cases", table.len());
    let mut before = server.db_snapshot();
    let mut failures = Vec::new();
    let mut observed = Vec::new();
    for case in &table {
        let started = Instant::now();
        let (status, body) = server.post_raw("/PLCAPI/", &case.body);
        let elapsed = started.elapsed();
        let outcome = if status != 200 {
            Err(format!("HTTP {status}: {:?}", String::from_utf8_lossy(&body[..body.len().min(300)])))
        } else {
            match bootmedium_xmlrpc::parse_method_response(&body, &bootmedium_xmlrpc::Limits::default()) {
                Err(e) => Err(format!(
                    "unparseable response {e:?}: {:?}",
                    String::from_utf8_lossy(&body[..body.len().min(300)])
                )),
                Ok(bootmedium_xmlrpc::MethodResponse::Success(v)) => {
                    Err(format!("expected a fault, got success {}", &canonical(&v)[..canonical(&v).len().min(300)]))
                }
                Ok(bootmedium_xmlrpc::MethodResponse::Fault { code, message }) => {
                    let short: String = message.chars().take(200).collect();
                    if code != case.code || !message.contains(case.needle) {
                        Err(format!("expected fault {} containing {:?}, got {code}: {short:?}", case.code, case.needle))
                    } else {
                        observed.push(format!("{}: {code} {short:?}", case.name));
                        Ok(())
                    }
                }
            }
        };
        if let Err(why) = outcome {
            failures.push(format!("[{}] {why}", case.name));
        }
        if elapsed > Duration::from_secs(10) {
            failures.push(format!("[{}] took {elapsed:?}", case.name));
        }
        // Still up, and nothing changed.
        match server.call("AuthCheck", vec![server.admin_auth()]) {
            Ok(Value::Int(1)) => {}
            other => failures.push(format!("[{}] server no longer answers AuthCheck: {other:?}", case.name)),
        }
        let after = server.db_snapshot();
        if after != before {
            failures.push(format!("[{}] changed the database:\n{}", case.name, snapshot_diff(&before, &after)));
            before = after; // report each change once
        }
    }
    println!("{} cases; observed faults:", table.len());
    for line in &observed {
        println!("  {line}");
    }
    server.assert_alive();
    assert!(
        failures.is_empty(),
        "{} of {} malformed bodies failed:\n{}",
        failures.len(),
        table.len(),
        failures.join("\n")
    );
}

/// The XXE case must not leak the file into any answer.
#[test]
fn external_entities_are_never_resolved() {
    let server = Server::start();
    let body = format!(
        "{XML_DECL}<!DOCTYPE x [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n<methodCall><methodName>&xxe;</methodName><params></params></methodCall>"
    );
    let (status, response) = server.post_raw("/PLCAPI/", body.as_bytes());
    assert_eq!(status, 200);
    let text = String::from_utf8_lossy(&response);
    assert!(!text.contains("root:"), "the entity was resolved: {text}");
    assert!(server.decode("xxe", status, &response).is_err());
    server.assert_alive();
}

/// Many concurrent hostile and valid requests: nothing crashes, every answer is HTTP 200.
#[test]
fn concurrent_garbage_and_valid_calls() {
    let server = Server::start();
    let before = server.db_snapshot();
    std::thread::scope(|scope| {
        for t in 0..8 {
            let server = &server;
            scope.spawn(move || {
                for n in 0..25 {
                    let body: Vec<u8> = match (t + n) % 4 {
                        0 => b"<methodCall><methodName>".to_vec(),
                        1 => write_method_call("GetNodes", &[password_auth(ADMIN_EMAIL, "wrong")]).into_bytes(),
                        2 => write_method_call("AddSite", &[admin_auth(), st! { "login_base" => "BAD" }]).into_bytes(),
                        _ => write_method_call("AuthCheck", &[admin_auth()]).into_bytes(),
                    };
                    let (status, response) = server.post_raw("/PLCAPI/", &body);
                    let result = server.decode("concurrent", status, &response);
                    if (t + n) % 4 == 3 {
                        assert_eq!(result, Ok(Value::Int(1)));
                    } else {
                        assert!(result.is_err(), "garbage accepted: {result:?}");
                    }
                }
            });
        }
    });
    assert_eq!(server.db_snapshot(), before);
    server.assert_alive();
}
