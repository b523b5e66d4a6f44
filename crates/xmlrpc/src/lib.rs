//! XML-RPC wire format for bootmedium's PLCAPI server: values, method calls,
//! responses and faults as specified at <http://xmlrpc.com/spec>, with the
//! `<nil/>` extension, and written byte-for-byte as Python's `xmlrpc.client`
//! (which the original PLCAPI used) writes them.
//!
//! * [`value`]: the [`Value`] data model.
//! * [`parse`]: reading `<methodCall>` / `<methodResponse>` documents safely
//!   (no DTDs, bounded depth and size).
//! * [`write`](mod@write): writing responses, faults and calls.
#![forbid(unsafe_code)]

pub mod parse;
mod scalar;
pub mod value;
pub mod write;

pub use parse::{
    Limits, MethodCall, MethodResponse, ParseError, ParseErrorKind, parse_method_call, parse_method_response,
};
pub use scalar::python_float_repr;
pub use value::{Value, is_xml_char};
pub use write::{base64_string_response_parts, write_fault, write_method_call, write_response};
