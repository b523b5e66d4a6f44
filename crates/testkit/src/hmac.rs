//! BootAuth (docs/plc-api.md §2.5) computed independently of the server: the message and a
//! plain HMAC-SHA1, so a test that signs a call checks the server's canonicalisation.

use crate::st;
use bootmedium_xmlrpc::Value;

/// BootAuth (§2.5): HMAC-SHA1, keyed with the node key text, over the canonicalised `args`
/// (the method's arguments without the auth struct).
pub fn hmac_auth(node_id: i64, key: &str, args: &[Value]) -> Value {
    hmac_auth_with("hmac", node_id, key, args)
}

pub fn hmac_auth_with(method: &str, node_id: i64, key: &str, args: &[Value]) -> Value {
    let value = hmac_sha1_hex(key.as_bytes(), hmac_message(args).as_bytes());
    st! { "AuthMethod" => method, "node_id" => node_id, "value" => value }
}

/// The §2.5 message: every leaf of `args` (lists flattened, struct values only) as Python's
/// `str()`, sorted, concatenated, wrapped in `[` `]`.
pub fn hmac_message(args: &[Value]) -> String {
    fn leaves(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Array(items) => items.iter().for_each(|x| leaves(x, out)),
            Value::Struct(members) => members.values().for_each(|x| leaves(x, out)),
            Value::Nil => out.push("None".into()),
            Value::Bool(b) => out.push(if *b { "True" } else { "False" }.into()),
            Value::Int(n) => out.push(n.to_string()),
            Value::Double(d) => out.push(python_float_str(*d)),
            Value::String(t) => out.push(t.clone()),
            Value::DateTime(t) => out.push(t.clone()),
            Value::Base64(b) => out.push(format!("{b:?}")),
        }
    }
    let mut out = Vec::new();
    args.iter().for_each(|a| leaves(a, &mut out));
    out.sort();
    format!("[{}]", out.concat())
}

fn python_float_str(d: f64) -> String {
    // Good for the plain values tests use (1.5, -33.25, 48.0): Python prints `48.0`, Rust `48`.
    let t = format!("{d:?}");
    if t.contains('.') || t.contains('e') || t.contains("inf") || t.contains("NaN") { t } else { format!("{t}.0") }
}

/// Lower-case hex HMAC-SHA1.
pub fn hmac_sha1_hex(key: &[u8], message: &[u8]) -> String {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..20].copy_from_slice(&sha1(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    inner.extend_from_slice(message);
    let mut outer: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    outer.extend_from_slice(&sha1(&inner));
    sha1(&outer).iter().map(|b| format!("{b:02x}")).collect()
}

/// FIPS 180-4 SHA-1 (only for computing test HMACs).
pub fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
    let mut msg = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_be_bytes());
    for chunk in msg.chunks(64) {
        let mut w = [0u32; 80];
        for t in 0..16 {
            w[t] = u32::from_be_bytes([chunk[4 * t], chunk[4 * t + 1], chunk[4 * t + 2], chunk[4 * t + 3]]);
        }
        for t in 16..80 {
            w[t] = (w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (t, wt) in w.iter().enumerate() {
            let (f, k) = match t {
                0..=19 => ((b & c) | (!b & d), 0x5A827999),
                20..=39 => (b ^ c ^ d, 0x6ED9EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDC),
                _ => (b ^ c ^ d, 0xCA62C1D6),
            };
            let temp = a.rotate_left(5).wrapping_add(f).wrapping_add(e).wrapping_add(k).wrapping_add(*wt);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = temp;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 20];
    for (i, word) in h.iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&word.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{arr, i, nil, s};

    #[test]
    fn hmac_test_vectors() {
        // §2.5 test vectors, so a failure in a test that signs is the server's, not the kit's.
        assert_eq!(hmac_message(&[]), "[]");
        assert_eq!(hmac_sha1_hex(b"testkey123", b"[]"), "cadef9fe49834569acbc2c4077ad2fd77ec84f71");
        let args = [i(5), s("node-preview"), s(""), arr![]];
        assert_eq!(hmac_message(&args), "[5node-preview]");
        assert_eq!(
            hmac_sha1_hex(b"testkey123", hmac_message(&args).as_bytes()),
            "b8a81200acae510effba8ee91a77ef85e9a8a83f"
        );
        let args = [st! { "boot_state" => "boot", "x" => true, "n" => nil() }];
        assert_eq!(hmac_message(&args), "[NoneTrueboot]");
        assert_eq!(
            hmac_sha1_hex(b"testkey123", hmac_message(&args).as_bytes()),
            "28386abf52714642d1044afada704114b240100e"
        );
    }
}
