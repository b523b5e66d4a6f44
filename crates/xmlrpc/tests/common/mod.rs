//! Helpers shared by the integration tests.

use bootmedium_xmlrpc::Value;

/// Value equality that tells `-0.0` from `0.0` (and NaN from nothing).
pub fn same(left: &Value, right: &Value) -> bool {
    match (left, right) {
        (Value::Double(a), Value::Double(b)) => a.to_bits() == b.to_bits(),
        (Value::Array(a), Value::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y)),
        (Value::Struct(a), Value::Struct(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|((key_a, a), (key_b, b))| key_a == key_b && same(a, b))
        }
        _ => left == right,
    }
}
