//! Values, auth structs and the §2.5 signature (docs/plc-api.md), the upstream field lists of
//! §4, assertions, refusal tables and fixtures: the one copy the domain tests
//! (`crates/plc/tests/domain`, in process) and the binary's integration tests
//! (`crates/cli/tests/it`, over HTTP) share. Both talk to the API through [`Client`], so a test
//! reads the same whichever way its calls travel.
//!
//! A dev-dependency only; it knows nothing of the code under test beyond the XML-RPC `Value`.
#![forbid(unsafe_code)]

mod client;
mod fields;
mod hmac;
mod node_world;
mod tables;
mod values;

pub use client::*;
pub use fields::*;
pub use hmac::*;
pub use node_world::*;
pub use tables::*;
pub use values::*;

/// The `Value` type the macros build (so a user need not name the xmlrpc crate).
pub use bootmedium_xmlrpc::Value;

/// The PLC name the harnesses initialise with.
pub const PLC_NAME: &str = "Test PLC";
/// The administrator the harnesses create (the `admin*` helpers authenticate as it).
pub const ADMIN_EMAIL: &str = "admin@test-plc.example.org";
pub const ADMIN_PASSWORD: &str = "Adm1n-secret-pw";
/// The node family of the `[flavour]` defaults.
pub const DEFAULT_FAMILY: &str = "lxc-f22-x86_64";

/// Builds a struct value: `st! { "hostname" => "n1.example.org", "model" => "x" }`.
#[macro_export]
macro_rules! st {
    () => { $crate::Value::Struct(::std::collections::BTreeMap::new()) };
    ($($k:expr => $v:expr),+ $(,)?) => {{
        let mut m = ::std::collections::BTreeMap::new();
        $( m.insert(::std::string::String::from($k), $crate::Value::from($v)); )+
        $crate::Value::Struct(m)
    }};
}

/// Builds an array value: `arr![1, "two", st!{}]`.
#[macro_export]
macro_rules! arr {
    () => { $crate::Value::Array(::std::vec::Vec::new()) };
    ($($v:expr),+ $(,)?) => {
        $crate::Value::Array(::std::vec![$($crate::Value::from($v)),+])
    };
}
