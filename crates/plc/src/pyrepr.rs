//! Python `repr()` of call arguments, as upstream records them in `events.call`, with the
//! secrets replaced by `"Removed by API"` (§2.8): upstream's `AuthString`, `session` and
//! `password`, every field only admins (or nobody) may read (the registry views declare them: a node's `key`
//! and `boot_nonce`, a person's `verification_key`, …), and the `value` of an hmac auth struct
//! (the BootManager always signs `[]`, so that signature works again for any call without
//! arguments, GetSession included).
//!
//! Section numbers (§N) refer to docs/plc-api.md.

use bootmedium_registry::{Readers, views};
use bootmedium_xmlrpc::Value;

/// Auth struct members removed wherever they appear.
const AUTH_SECRETS: &[&str] = &["AuthString", "session", "password"];

/// Whether member `k` of struct `m` is a secret.
fn is_secret(m: &std::collections::BTreeMap<String, Value>, k: &str) -> bool {
    AUTH_SECRETS.contains(&k)
        || views::ALL.iter().flat_map(|t| t.fields).any(|f| f.readers != Readers::Anyone && f.name == k)
        || (k == "value" && matches!(m.get("AuthMethod").and_then(Value::as_str), Some("hmac" | "hmac_dummybox")))
}

/// Python's `repr` of a string, appended to `out`.
pub(crate) fn repr_str(s: &str, out: &mut String) {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(quote);
}

fn repr(v: &Value, out: &mut String) {
    match v {
        Value::Nil => out.push_str("None"),
        Value::Bool(b) => out.push_str(if *b { "True" } else { "False" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Double(d) => out.push_str(&bootmedium_xmlrpc::python_float_repr(*d)),
        Value::String(s) => repr_str(s, out),
        Value::Base64(b) => out.push_str(&format!("<Binary {} bytes>", b.len())),
        Value::DateTime(s) => out.push_str(&format!("<DateTime '{s}'>")),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                repr(item, out);
            }
            out.push(']');
        }
        Value::Struct(m) => {
            out.push('{');
            for (i, (k, item)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                repr_str(k, out);
                out.push_str(": ");
                if is_secret(m, k) {
                    out.push_str("'Removed by API'");
                } else {
                    repr(item, out);
                }
            }
            out.push('}');
        }
    }
}

/// `(arg, arg, …)` as Python prints the argument tuple (`(arg,)` for one), secrets removed.
pub fn redacted_args(args: &[Value]) -> String {
    let mut out = String::from("(");
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        repr(a, &mut out);
    }
    if args.len() == 1 {
        out.push(',');
    }
    out.push(')');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn secrets_are_removed() {
        let mut auth = BTreeMap::new();
        auth.insert("AuthMethod".to_string(), Value::from("password"));
        auth.insert("AuthString".to_string(), Value::from("hunter2"));
        let s = redacted_args(&[Value::Struct(auth), Value::Int(5), Value::from("it's")]);
        assert_eq!(s, "({'AuthMethod': 'password', 'AuthString': 'Removed by API'}, 5, \"it's\")");
        assert_eq!(redacted_args(&[Value::Int(1)]), "(1,)");
        assert!(!s.contains("hunter2"));
        // UpdateNode(auth, node, {'key': ...}): a node key is a credential too.
        let mut fields = BTreeMap::new();
        fields.insert("key".to_string(), Value::from("n0dek3y"));
        fields.insert("boot_state".to_string(), Value::from("boot"));
        let s = redacted_args(&[Value::Int(7), Value::Struct(fields)]);
        assert_eq!(s, "(7, {'boot_state': 'boot', 'key': 'Removed by API'})");
    }

    #[test]
    fn node_secrets_and_hmac_signatures_are_removed() {
        let fields: BTreeMap<String, Value> =
            [("key", "k3y"), ("boot_nonce", "n0nce"), ("verification_key", "v3rif"), ("model", "m")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), Value::from(v)))
                .collect();
        let hmac: BTreeMap<String, Value> = [("AuthMethod", "hmac"), ("value", "s1gnature")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::from(v)))
            .collect();
        let tag: BTreeMap<String, Value> =
            [("value", "tag value")].into_iter().map(|(k, v)| (k.to_string(), Value::from(v))).collect();
        let s = redacted_args(&[Value::Struct(hmac), Value::Struct(fields), Value::Struct(tag)]);
        for secret in ["k3y", "n0nce", "v3rif", "s1gnature"] {
            assert!(!s.contains(secret), "{secret} in {s}");
        }
        assert!(s.contains("'model': 'm'") && s.contains("'value': 'tag value'"), "{s}");
    }
}
