//! Secrets: password hashes (argon2id for new ones; MD5-crypt `$1$` verification for accounts
//! imported from a PLC database, docs/plc-api.md §2.2), random session ids and node keys from the OS
//! CSPRNG (§2.4, §9.3), and the HMAC-SHA1 node signature over canonicalised arguments (§2.5).
//!
//! Section numbers (§N) refer to docs/plc-api.md.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use bootmedium_xmlrpc::{Value, python_float_repr};
use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use sha1::Sha1;
use subtle::ConstantTimeEq;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// Fills `buf` from the OS CSPRNG.
pub fn random_bytes(buf: &mut [u8]) -> Result<(), CryptoError> {
    getrandom::fill(buf).map_err(|e| CryptoError::Random(e.to_string()))
}

/// A session id: 32 random bytes, standard base64 with padding (44 characters, as upstream).
pub fn new_session_id() -> Result<String, CryptoError> {
    let mut b = [0u8; 32];
    random_bytes(&mut b)?;
    Ok(STANDARD.encode(b))
}

/// A node key: 32 random bytes, standard base64 with `=` removed (43 characters, §9.3).
pub fn new_node_key() -> Result<String, CryptoError> {
    let mut b = [0u8; 32];
    random_bytes(&mut b)?;
    Ok(STANDARD_NO_PAD.encode(b))
}

/// Hashes a new password with argon2id (PHC string).
pub fn hash_password(plain: &str) -> Result<String, CryptoError> {
    Argon2::default()
        .hash_password(plain.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| CryptoError::Hash(e.to_string()))
}

/// Whether `stored` is a hash [`verify_password`] can check (argon2 PHC or MD5-crypt).
pub fn is_password_hash(stored: &str) -> bool {
    stored.starts_with("$argon2") || stored.starts_with("$1$")
}

/// Checks a password against a stored hash: argon2 PHC strings, or MD5-crypt (`$1$salt$hash`)
/// imported from PLC. Anything else (upstream's `nopass` default, NULL, other schemes) never
/// verifies.
pub fn verify_password(plain: &str, stored: &str) -> bool {
    if stored.starts_with("$argon2") {
        return match PasswordHash::new(stored) {
            Ok(parsed) => Argon2::default().verify_password(plain.as_bytes(), &parsed).is_ok(),
            Err(_) => false,
        };
    }
    if let Some(rest) = stored.strip_prefix("$1$") {
        let Some((salt, _)) = rest.split_once('$') else { return false };
        if salt.is_empty() {
            return false;
        }
        let computed = md5_crypt(plain.as_bytes(), salt.as_bytes());
        return computed.as_bytes().ct_eq(stored.as_bytes()).into();
    }
    false
}

const CRYPT_ALPHABET: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn crypt_b64(out: &mut String, mut v: u32, n: usize) {
    for _ in 0..n {
        out.push(CRYPT_ALPHABET[(v & 0x3f) as usize] as char);
        v >>= 6;
    }
}

/// MD5-crypt as glibc's `crypt()` computes it for `$1$` salts (Poul-Henning Kamp's algorithm).
pub fn md5_crypt(password: &[u8], salt: &[u8]) -> String {
    let salt = &salt[..salt.len().min(8)];
    let alternate = Md5::new().chain_update(password).chain_update(salt).chain_update(password).finalize();
    let mut ctx = Md5::new().chain_update(password).chain_update(b"$1$").chain_update(salt);
    let mut left = password.len();
    while left > 0 {
        let n = left.min(16);
        ctx.update(&alternate[..n]);
        left -= n;
    }
    let mut i = password.len();
    while i > 0 {
        if i & 1 == 1 {
            ctx.update([0u8]);
        } else {
            ctx.update(&password[..1]);
        }
        i >>= 1;
    }
    let mut digest = ctx.finalize();
    for round in 0..1000 {
        let mut c = Md5::new();
        if round & 1 == 1 {
            c.update(password);
        } else {
            c.update(digest);
        }
        if round % 3 != 0 {
            c.update(salt);
        }
        if round % 7 != 0 {
            c.update(password);
        }
        if round & 1 == 1 {
            c.update(digest);
        } else {
            c.update(password);
        }
        digest = c.finalize();
    }
    let d = |i: usize| u32::from(digest[i]);
    let mut out = format!("$1${}$", String::from_utf8_lossy(salt));
    for (a, b, c) in [(0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)] {
        crypt_b64(&mut out, (d(a) << 16) | (d(b) << 8) | d(c), 4);
    }
    crypt_b64(&mut out, d(11), 2);
    out
}

fn flatten_for_hmac(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| flatten_for_hmac(i, out)),
        Value::Struct(m) => m.values().for_each(|i| flatten_for_hmac(i, out)),
        Value::Nil => out.push("None".into()),
        Value::Bool(b) => out.push(if *b { "True" } else { "False" }.into()),
        Value::Int(i) => out.push(i.to_string()),
        Value::Double(d) => out.push(python_float_repr(*d)),
        Value::String(s) => out.push(s.clone()),
        Value::Base64(b) => out.push(b.iter().map(|&c| char::from(c)).collect()),
        Value::DateTime(s) => out.push(s.clone()),
    }
}

/// The message a node signs: the arguments after auth, flattened (dict keys dropped),
/// stringified as Python's `str()`, sorted by code point and concatenated inside `[` `]`.
pub fn hmac_message(args: &[Value]) -> String {
    let mut parts = Vec::new();
    args.iter().for_each(|a| flatten_for_hmac(a, &mut parts));
    parts.sort();
    format!("[{}]", parts.concat())
}

/// Lower-case hex HMAC-SHA1 of `message` keyed with the node key text.
pub fn hmac_sha1_hex(key: &str, message: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(key.as_bytes()) else {
        // HMAC accepts keys of any length; this branch cannot be taken.
        return String::new();
    };
    mac.update(message.as_bytes());
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares a client's hex signature with ours in constant time.
pub fn hmac_matches(key: &str, args: &[Value], value: &str) -> bool {
    let expected = hmac_sha1_hex(key, &hmac_message(args));
    expected.as_bytes().ct_eq(value.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn md5_crypt_matches_glibc_vector() {
        assert_eq!(md5_crypt(b"secret", b"abcdefgh"), "$1$abcdefgh$cHJi5PXp/ki/ktXzqlk6I1");
        assert!(verify_password("secret", "$1$abcdefgh$cHJi5PXp/ki/ktXzqlk6I1"));
        assert!(!verify_password("Secret", "$1$abcdefgh$cHJi5PXp/ki/ktXzqlk6I1"));
        assert!(!verify_password("nopass", "nopass"));
        assert!(!verify_password("", "$1$$"));
    }

    #[test]
    fn argon2_round_trip() {
        let h = hash_password("pw").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("pw", &h));
        assert!(!verify_password("px", &h));
    }

    #[test]
    fn hmac_vectors_from_spec() {
        assert_eq!(hmac_sha1_hex("testkey123", &hmac_message(&[])), "cadef9fe49834569acbc2c4077ad2fd77ec84f71");
        let args = [Value::Int(5), "node-preview".into(), "".into(), Value::Array(vec![])];
        assert_eq!(hmac_message(&args), "[5node-preview]");
        assert_eq!(hmac_sha1_hex("testkey123", &hmac_message(&args)), "b8a81200acae510effba8ee91a77ef85e9a8a83f");
        let mut m = BTreeMap::new();
        m.insert("boot_state".to_string(), Value::from("boot"));
        m.insert("x".to_string(), Value::Bool(true));
        m.insert("n".to_string(), Value::Nil);
        let args = [Value::Struct(m)];
        assert_eq!(hmac_message(&args), "[NoneTrueboot]");
        assert!(hmac_matches("testkey123", &args, "28386abf52714642d1044afada704114b240100e"));
        assert!(!hmac_matches("testkey124", &args, "28386abf52714642d1044afada704114b240100e"));
    }

    #[test]
    /// The HMAC message stringifies doubles as Python's `str(float)` does.
    fn python_float_reprs() {
        for (x, s) in [
            (1.5, "1.5"),
            (1.0, "1.0"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5e-7, "-2.5e-07"),
            (123.456, "123.456"),
            (0.0, "0.0"),
        ] {
            assert_eq!(python_float_repr(x), s, "{x}");
        }
    }

    #[test]
    fn keys_and_sessions_have_upstream_shapes() {
        let k = new_node_key().unwrap();
        assert_eq!(k.len(), 43);
        assert!(k.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/'));
        let s = new_session_id().unwrap();
        assert_eq!(s.len(), 44);
        assert!(s.ends_with('='));
        assert_ne!(new_node_key().unwrap(), k);
    }
}
