//! The methods' arguments and results in plc's own terms (docs/plc-api.md §10.2): the declared
//! argument types ([`Ty`], named in `system.methodSignature` and in the type faults), and the
//! typed values the methods take and give. Nothing here knows XML-RPC: `wire.rs` converts
//! between these and `bootmedium_xmlrpc::Value`.

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

pub const INT_OR_STR: Ty = Ty::Mixed(&[Ty::Int, Ty::Str]);
pub const FILTER: Ty = Ty::NullOk(&Ty::Mixed(&[Ty::Array(&INT_OR_STR), Ty::Int, Ty::Str, Ty::Struct]));
pub const RETURN_FIELDS: Ty = Ty::NullOk(&Ty::Array(&Ty::Str));

/// An id-or-name argument: an int is an id, a string a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdOrName {
    Id(i64),
    Name(String),
}

impl IdOrName {
    /// `%r` as upstream prints it in faults: ints bare, strings quoted.
    pub fn py_repr(&self) -> String {
        match self {
            IdOrName::Id(id) => id.to_string(),
            IdOrName::Name(n) => format!("'{n}'"),
        }
    }
}

/// An argument that may be nil as well as left out (`Option<OrNil<T>>`): `None` for nil.
#[derive(Debug, Clone, PartialEq)]
pub struct OrNil<T>(pub Option<T>);

/// A value a client wrote inside a struct argument (an Add*/Update* fields struct, a filter's
/// criteria): the shapes the methods tell apart, with the names upstream prints for them.
#[derive(Debug, Clone, PartialEq)]
pub enum Datum {
    Nil,
    Int(i64),
    Bool(bool),
    Double(f64),
    Str(String),
    List(Vec<Datum>),
    Map(Fields),
    /// A value no method reads (base64, a date), by its type's name.
    Other(&'static str),
}

/// A struct argument: an Add*/Update* method's fields, a filter's criteria.
pub type Fields = BTreeMap<String, Datum>;

impl Datum {
    /// The type's name as upstream prints it in faults (`expected int, got string`).
    pub fn type_name(&self) -> &'static str {
        match self {
            Datum::Nil => "nil",
            Datum::Int(_) => "int",
            Datum::Bool(_) => "boolean",
            Datum::Double(_) => "double",
            Datum::Str(_) => "string",
            Datum::List(_) => "array",
            Datum::Map(_) => "struct",
            Datum::Other(name) => name,
        }
    }

    /// Python's `int` accepts `bool` too.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Datum::Int(i) => Some(*i),
            Datum::Bool(b) => Some(i64::from(*b)),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Datum::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&Fields> {
        match self {
            Datum::Map(m) => Some(m),
            _ => None,
        }
    }
}

/// `1`, what Update*/Delete* and most other writing methods answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Done;
