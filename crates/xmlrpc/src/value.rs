//! The XML-RPC data model (<http://xmlrpc.com/spec>, "Data types"), with the
//! `<nil/>` extension that Python's `xmlrpc.client` speaks when `allow_none=True`.
//!
//! Integers are held as `i64` whatever element carried them (`<int>`, `<i4>`,
//! `<i8>`), because Python's client reads `<i8>` and PLCAPI ids and timestamps
//! are plain Python ints; the writer picks `<int>` or `<i8>` by magnitude.

use std::collections::BTreeMap;

/// One XML-RPC value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `<nil/>` (or Apache's `<ex:nil/>`): Python's `None`.
    Nil,
    /// `<int>`, `<i4>` or `<i8>`.
    Int(i64),
    /// `<boolean>`: `0` or `1` on the wire.
    Bool(bool),
    /// `<double>`. Non-finite values cannot be expressed in XML-RPC; the
    /// writer sends them as `<nil/>` (see [`crate::write`]).
    Double(f64),
    /// `<string>`, or a `<value>` with text and no type element.
    String(String),
    /// `<base64>`: raw bytes (Python's `bytes` / `xmlrpc.client.Binary`).
    Base64(Vec<u8>),
    /// `<dateTime.iso8601>`, normalised by the parser to the compact form
    /// `YYYYMMDDTHH:MM:SS` that Python's client writes and reads.
    DateTime(String),
    /// `<array><data>…</data></array>`.
    Array(Vec<Value>),
    /// `<struct>`; keys are unique (the last duplicate wins, as in Python) and
    /// kept sorted so that writing is deterministic.
    Struct(BTreeMap<String, Value>),
}

impl Value {
    /// XML-RPC type name as PLCAPI prints it in type errors.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "nil",
            Value::Int(_) => "int",
            Value::Bool(_) => "boolean",
            Value::Double(_) => "double",
            Value::String(_) => "string",
            Value::Base64(_) => "base64",
            Value::DateTime(_) => "dateTime.iso8601",
            Value::Array(_) => "array",
            Value::Struct(_) => "struct",
        }
    }

    /// True for [`Value::Nil`].
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// The text of a [`Value::String`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(text) => Some(text),
            _ => None,
        }
    }

    /// The number in a [`Value::Int`]. Booleans are not integers here, even
    /// though Python's `bool` is an `int` subclass: PLCAPI's type checks tell them apart.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(number) => Some(*number),
            _ => None,
        }
    }

    /// The flag in a [`Value::Bool`].
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(flag) => Some(*flag),
            _ => None,
        }
    }

    /// The number in a [`Value::Double`].
    pub fn as_double(&self) -> Option<f64> {
        match self {
            Value::Double(number) => Some(*number),
            _ => None,
        }
    }

    /// The bytes of a [`Value::Base64`].
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Base64(bytes) => Some(bytes),
            _ => None,
        }
    }

    /// The text of a [`Value::DateTime`] (compact `YYYYMMDDTHH:MM:SS` when parsed).
    pub fn as_datetime(&self) -> Option<&str> {
        match self {
            Value::DateTime(text) => Some(text),
            _ => None,
        }
    }

    /// The items of a [`Value::Array`].
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The members of a [`Value::Struct`].
    pub fn as_struct(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Struct(members) => Some(members),
            _ => None,
        }
    }

    /// The member `key` of a [`Value::Struct`]; `None` for other types too.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_struct().and_then(|members| members.get(key))
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Self {
        Value::String(text.to_owned())
    }
}

impl From<String> for Value {
    fn from(text: String) -> Self {
        Value::String(text)
    }
}

impl From<i64> for Value {
    fn from(number: i64) -> Self {
        Value::Int(number)
    }
}

impl From<i32> for Value {
    fn from(number: i32) -> Self {
        Value::Int(i64::from(number))
    }
}

impl From<bool> for Value {
    fn from(flag: bool) -> Self {
        Value::Bool(flag)
    }
}

impl From<f64> for Value {
    fn from(number: f64) -> Self {
        Value::Double(number)
    }
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Self {
        Value::Array(items)
    }
}

impl From<BTreeMap<String, Value>> for Value {
    fn from(members: BTreeMap<String, Value>) -> Self {
        Value::Struct(members)
    }
}

/// XML 1.0's `Char` production (surrogates cannot occur in a Rust `char`): what a string value
/// may hold on the wire. The parser refuses the others, the writer replaces them.
pub fn is_xml_char(character: char) -> bool {
    matches!(character,
        '\t' | '\n' | '\r' | '\u{20}'..='\u{FFFD}' | '\u{10000}'..)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_match_plcapi_wording() {
        let cases = [
            (Value::Nil, "nil"),
            (Value::Int(1), "int"),
            (Value::Bool(true), "boolean"),
            (Value::Double(1.5), "double"),
            (Value::from("x"), "string"),
            (Value::Base64(vec![1]), "base64"),
            (Value::DateTime("20200102T03:04:05".into()), "dateTime.iso8601"),
            (Value::Array(vec![]), "array"),
            (Value::Struct(BTreeMap::new()), "struct"),
        ];
        for (value, name) in cases {
            assert_eq!(value.type_name(), name, "{value:?}");
        }
    }

    #[test]
    fn accessors_return_only_their_own_type() {
        assert_eq!(Value::from(7i32).as_int(), Some(7));
        assert_eq!(Value::from(true).as_int(), None);
        assert_eq!(Value::from(true).as_bool(), Some(true));
        assert_eq!(Value::from("s").as_str(), Some("s"));
        assert_eq!(Value::from(String::from("s")).as_int(), None);
        assert_eq!(Value::from(2.5).as_double(), Some(2.5));
        assert_eq!(Value::Base64(vec![1, 2]).as_bytes(), Some(&[1u8, 2][..]));
        assert_eq!(Value::DateTime("d".into()).as_datetime(), Some("d"));
        assert_eq!(Value::from(vec![Value::Nil]).as_array(), Some(&[Value::Nil][..]));
        assert!(Value::Nil.is_nil());
        assert!(!Value::Int(0).is_nil());
        let members = BTreeMap::from([("k".to_owned(), Value::Int(1))]);
        let record = Value::from(members);
        assert_eq!(record.get("k"), Some(&Value::Int(1)));
        assert_eq!(record.get("missing"), None);
        assert_eq!(Value::Int(1).get("k"), None);
    }
}
