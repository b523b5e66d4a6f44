//! Argument types and their checks (docs/plc-api.md §10.2): what each method declares, and how a
//! mismatch is reported (`Invalid <name> value: expected <type>, got <type>`).

use crate::fault::{Fault, MethodResult};
use bootmedium_xmlrpc::Value;
use std::collections::BTreeMap;

/// A declared argument type.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    Int,
    Str,
    Bool,
    Double,
    Struct,
    Array(&'static Ty),
    /// The first alternative that fits; otherwise the last one's error.
    Mixed(&'static [Ty]),
    NullOk(&'static Ty),
}

impl Ty {
    /// The name upstream prints for the expected type.
    pub fn xml_name(&self) -> &'static str {
        match self {
            Ty::Int => "int",
            Ty::Str => "string",
            Ty::Bool => "boolean",
            Ty::Double => "double",
            Ty::Struct => "struct",
            Ty::Array(_) => "array",
            Ty::Mixed(_) => "mixed",
            Ty::NullOk(t) => t.xml_name(),
        }
    }
}

/// One declared parameter (after the auth struct).
#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub ty: Ty,
}

fn got_name(v: &Value) -> &'static str {
    v.type_name()
}

/// Checks `v` against `ty`, naming `name` in the fault.
pub fn check(name: &str, ty: &Ty, v: &Value) -> MethodResult<()> {
    let mismatch = || Fault::invalid_named(name, format!("expected {}, got {}", ty.xml_name(), got_name(v)));
    match (ty, v) {
        (Ty::NullOk(_), Value::Nil) => Ok(()),
        (Ty::NullOk(t), _) => check(name, t, v),
        (Ty::Int, Value::Int(_) | Value::Bool(_)) => Ok(()),
        // The XML parser already refuses these; other front ends (the JSON download API) meet
        // them here: NUL above all, which PostgreSQL cannot store.
        (Ty::Str, Value::String(text)) => match text.chars().find(|c| !bootmedium_xmlrpc::is_xml_char(*c)) {
            Some(c) => Err(Fault::invalid_named(name, format!("character U+{:04X} is not allowed", u32::from(c)))),
            None => Ok(()),
        },
        (Ty::Bool, Value::Bool(_)) => Ok(()),
        (Ty::Double, Value::Double(_) | Value::Int(_)) => Ok(()),
        (Ty::Struct, Value::Struct(_)) => Ok(()),
        (Ty::Array(item), Value::Array(items)) => items.iter().try_for_each(|i| check(name, item, i)),
        (Ty::Mixed(alts), _) => {
            let mut last = mismatch();
            for alt in alts.iter() {
                match check(name, alt, v) {
                    Ok(()) => return Ok(()),
                    Err(e) => last = e,
                }
            }
            Err(last)
        }
        _ => Err(mismatch()),
    }
}

/// Typed access to checked arguments. Missing optional arguments read as nil.
pub struct Args<'a>(pub &'a [Value]);

static NIL: Value = Value::Nil;

impl<'a> Args<'a> {
    pub fn get(&self, i: usize) -> &'a Value {
        self.0.get(i).unwrap_or(&NIL)
    }
    pub fn int(&self, i: usize) -> MethodResult<i64> {
        as_int(self.get(i)).ok_or_else(|| Fault::invalid("expected an integer"))
    }
    pub fn str(&self, i: usize) -> MethodResult<&'a str> {
        self.get(i).as_str().ok_or_else(|| Fault::invalid("expected a string"))
    }
    pub fn fields(&self, i: usize) -> MethodResult<&'a BTreeMap<String, Value>> {
        self.get(i).as_struct().ok_or_else(|| Fault::invalid("expected a struct"))
    }
}

/// Python's `int` accepts `bool` too.
pub fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

/// An id-or-name argument: an int is an id, a string a name.
pub enum IdOrName<'a> {
    Id(i64),
    Name(&'a str),
}

pub fn id_or_name(v: &Value) -> MethodResult<IdOrName<'_>> {
    match v {
        Value::String(s) => Ok(IdOrName::Name(s)),
        other => as_int(other).map(IdOrName::Id).ok_or_else(|| Fault::invalid("expected an id or a name")),
    }
}

pub const INT_OR_STR: Ty = Ty::Mixed(&[Ty::Int, Ty::Str]);
pub const FILTER: Ty = Ty::NullOk(&Ty::Mixed(&[Ty::Array(&INT_OR_STR), Ty::Int, Ty::Str, Ty::Struct]));
pub const RETURN_FIELDS: Ty = Ty::NullOk(&Ty::Array(&Ty::Str));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_errors_name_the_argument() {
        let e = check("hostname", &Ty::Str, &Value::Int(1)).unwrap_err();
        assert_eq!(e.message, "Invalid hostname value: expected string, got int");
        assert!(check("x", &Ty::Int, &Value::Bool(true)).is_ok());
        assert!(check("x", &Ty::NullOk(&Ty::Int), &Value::Nil).is_ok());
        let e = check("node_filter", &FILTER, &Value::Double(1.0)).unwrap_err();
        assert_eq!(e.message, "Invalid node_filter value: expected struct, got double");
        assert!(check("f", &FILTER, &Value::Array(vec![Value::Int(1), "a".into()])).is_ok());
        assert!(check("f", &FILTER, &Value::Array(vec![Value::Nil])).is_err());
    }
}
