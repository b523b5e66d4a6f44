//! The XML-RPC parser (crates/xmlrpc) on arbitrary bytes, as a method call and as a response.
//! Beyond "no panic, no hang, bounded memory": whatever parses, written back by our writer,
//! parses to the same thing (the server answers with what it read; a client reads what we wrote).
#![no_main]

use bootmedium_fuzz::all_finite;
use bootmedium_xmlrpc::{
    Limits, MethodResponse, parse_method_call, parse_method_response, write_fault, write_method_call, write_response,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    if let Ok(call) = parse_method_call(data, &limits) {
        let written = write_method_call(&call.method_name, &call.params);
        let again = parse_method_call(written.as_bytes(), &limits)
            .unwrap_or_else(|e| panic!("our own call does not parse: {e}\n{written}"));
        if call.params.iter().all(all_finite) {
            assert_eq!(again, call, "round trip changed the call:\n{written}");
        }
    }
    if let Ok(response) = parse_method_response(data, &limits) {
        let written = match &response {
            MethodResponse::Success(value) => write_response(value),
            MethodResponse::Fault { code, message } => write_fault(*code, message),
        };
        let again = parse_method_response(written.as_bytes(), &limits)
            .unwrap_or_else(|e| panic!("our own response does not parse: {e}\n{written}"));
        let finite = match &response {
            MethodResponse::Success(value) => all_finite(value),
            MethodResponse::Fault { .. } => true,
        };
        if finite {
            assert_eq!(again, response, "round trip changed the response:\n{written}");
        }
    }
});
