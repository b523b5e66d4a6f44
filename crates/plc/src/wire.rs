//! The XML-RPC adapter of the methods (docs/plc-api.md §2.1, §10.2): the auth struct as typed
//! [`Credentials`] ([`credentials`], with upstream's faults for a malformed one), the argument
//! type check (`Invalid <name> value: expected <type>, got <type>`), the conversions from
//! checked `Value`s to the methods' typed arguments ([`FromArg`]) and from their typed results
//! back ([`IntoValue`], [`IntoReply`]), and [`method!`], the one declaration of a method, which
//! generates its parameter list and the handler that converts and calls it. The methods and
//! authentication never see the auth struct; only an hmac signature is checked over the
//! argument values as sent (§2.5).

use crate::args::{Datum, Done, FILTER, Fields, INT_OR_STR, IdOrName, OrNil, RETURN_FIELDS, Ty};
use crate::auth::{AuthMethod, Credentials};
use crate::context::Reply;
use crate::fault::{Fault, MethodResult};
use crate::filter::{Filter, ReturnFields};
use crate::methods::boot_medium::{self, Issued, NodeRef};
use bootmedium_registry::{Cell, Row, SqlValue};
use bootmedium_xmlrpc::Value;
use std::collections::BTreeMap;

/// Checks `v` against `ty`, naming `name` in the fault.
pub fn check(name: &str, ty: &Ty, v: &Value) -> MethodResult<()> {
    let mismatch = || Fault::invalid_named(name, format!("expected {}, got {}", ty.xml_name(), v.type_name()));
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

/// A malformed auth struct: its fault, and its AuthMethod when the struct named a valid one (the
/// event log records it as the call's `auth_type`, §2.8).
#[derive(Debug)]
pub struct BadAuth {
    pub fault: Fault,
    pub method: Option<AuthMethod>,
}

fn auth_field<'a>(auth: &'a BTreeMap<String, Value>, key: &str) -> Result<&'a str, Fault> {
    match auth.get(key) {
        None => Err(Fault::invalid_named("auth", format!("'{key}' not specified"))),
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(Fault::invalid_named(key, format!("expected string, got {}", other.type_name()))),
    }
}

/// The auth struct (§2.1) as typed [`Credentials`]: its `AuthMethod` first, then the fields that
/// method requires, as upstream's type check of the chosen class does (102 for a missing or
/// wrongly typed field, before any role is looked at); other members are ignored.
pub fn credentials(auth: &Value) -> Result<Credentials, BadAuth> {
    let Value::Struct(fields) = auth else {
        let fault = Fault::invalid_named("auth", format!("expected struct, got {}", auth.type_name()));
        return Err(BadAuth { fault, method: None });
    };
    let method = auth_field(fields, "AuthMethod")
        .and_then(|name| {
            AuthMethod::named(name).ok_or_else(|| {
                let names: Vec<String> = AuthMethod::ALL.iter().map(|m| format!("'{}'", m.name())).collect();
                Fault::invalid_named("AuthMethod", format!("must be {}", names.join(", ")))
            })
        })
        .map_err(|fault| BadAuth { fault, method: None })?;
    let text = |key| auth_field(fields, key).map(str::to_string);
    let typed = match method {
        AuthMethod::Password | AuthMethod::Capability => text("Username").and_then(|username| {
            let capability = method == AuthMethod::Capability;
            Ok(Credentials::Password { username, password: text("AuthString")?, capability })
        }),
        AuthMethod::Session => text("session").map(Credentials::Session),
        AuthMethod::Hmac | AuthMethod::HmacDummybox => match fields.get("node_id") {
            None => Err(Fault::invalid_named("auth", "'node_id' not specified")),
            Some(v) => i64::from_value("node_id", v).and_then(|node_id| {
                let dummybox = method == AuthMethod::HmacDummybox;
                Ok(Credentials::Hmac { node_id, value: text("value")?, dummybox })
            }),
        },
        AuthMethod::Anonymous => Ok(Credentials::Anonymous),
        // Its `name` and `signature` are never checked: GPG auth is refused whatever they are.
        AuthMethod::Gpg => Ok(Credentials::Gpg),
    };
    typed.map_err(|fault| BadAuth { fault, method: Some(method) })
}

/// Credentials as the auth struct that would carry them: what the event log records for a call
/// from a typed front end (secrets redacted there, as for any call).
pub fn auth_struct(credentials: &Credentials) -> Value {
    let method = ("AuthMethod", Value::from(credentials.method().name()));
    match credentials {
        Credentials::Password { username, password, .. } => members([
            method,
            ("Username", Value::from(username.as_str())),
            ("AuthString", Value::from(password.as_str())),
        ]),
        Credentials::Session(session) => members([method, ("session", Value::from(session.as_str()))]),
        Credentials::Hmac { node_id, value, .. } => {
            members([method, ("node_id", Value::Int(*node_id)), ("value", Value::from(value.as_str()))])
        }
        Credentials::Anonymous | Credentials::Gpg => members([method]),
    }
}

/// A call's arguments after the auth struct, as sent and checked against the declaration.
pub struct Args<'a>(pub &'a [Value]);

/// Python's `int` accepts `bool` too.
fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

/// A method's argument type: its declared [`Ty`] (which the dispatcher checks the value against
/// before the method runs) and its conversion from the checked value.
pub trait FromArg: Sized {
    const TY: Ty;
    /// Whether the argument may be left out; only `Option<T>` may.
    const OPTIONAL: bool = false;
    /// Converts a value that passed the check against [`FromArg::TY`].
    fn from_value(name: &'static str, v: &Value) -> MethodResult<Self>;
    /// Converts the argument, `None` when the call left it out.
    fn from_arg(name: &'static str, v: Option<&Value>) -> MethodResult<Self> {
        match v {
            Some(v) => Self::from_value(name, v),
            // The dispatcher counted the arguments against the declaration already.
            None => Err(Fault::invalid_named(name, "missing")),
        }
    }
}

fn expected(name: &str, what: &str, v: &Value) -> Fault {
    Fault::invalid_named(name, format!("expected {what}, got {}", v.type_name()))
}

impl<T: FromArg> FromArg for Option<T> {
    const TY: Ty = T::TY;
    const OPTIONAL: bool = true;
    fn from_value(name: &'static str, v: &Value) -> MethodResult<Self> {
        T::from_value(name, v).map(Some)
    }
    fn from_arg(name: &'static str, v: Option<&Value>) -> MethodResult<Self> {
        v.map(|v| T::from_value(name, v)).transpose()
    }
}

impl<T: FromArg> FromArg for OrNil<T> {
    const TY: Ty = Ty::NullOk(&T::TY);
    fn from_value(name: &'static str, v: &Value) -> MethodResult<Self> {
        match v {
            Value::Nil => Ok(OrNil(None)),
            v => T::from_value(name, v).map(|t| OrNil(Some(t))),
        }
    }
}

impl FromArg for i64 {
    const TY: Ty = Ty::Int;
    fn from_value(name: &'static str, v: &Value) -> MethodResult<Self> {
        as_int(v).ok_or_else(|| expected(name, "int", v))
    }
}

impl FromArg for String {
    const TY: Ty = Ty::Str;
    fn from_value(name: &'static str, v: &Value) -> MethodResult<Self> {
        v.as_str().map(str::to_string).ok_or_else(|| expected(name, "string", v))
    }
}

impl FromArg for Vec<String> {
    const TY: Ty = Ty::Array(&Ty::Str);
    fn from_value(name: &'static str, v: &Value) -> MethodResult<Self> {
        let items = v.as_array().ok_or_else(|| expected(name, "array", v))?;
        items.iter().map(|i| String::from_value(name, i)).collect()
    }
}

impl FromArg for IdOrName {
    const TY: Ty = INT_OR_STR;
    fn from_value(name: &'static str, v: &Value) -> MethodResult<Self> {
        match v {
            Value::String(s) => Ok(IdOrName::Name(s.clone())),
            other => as_int(other).map(IdOrName::Id).ok_or_else(|| expected(name, "int or string", v)),
        }
    }
}

impl FromArg for NodeRef {
    const TY: Ty = INT_OR_STR;
    fn from_value(name: &'static str, v: &Value) -> MethodResult<Self> {
        Ok(match IdOrName::from_value(name, v)? {
            IdOrName::Id(id) => NodeRef::Id(id),
            IdOrName::Name(hostname) => NodeRef::Hostname(hostname),
        })
    }
}

impl FromArg for Fields {
    const TY: Ty = Ty::Struct;
    fn from_value(name: &'static str, v: &Value) -> MethodResult<Self> {
        let m = v.as_struct().ok_or_else(|| expected(name, "struct", v))?;
        Ok(fields(m))
    }
}

impl FromArg for Filter {
    const TY: Ty = FILTER;
    fn from_value(name: &'static str, v: &Value) -> MethodResult<Self> {
        Ok(match v {
            Value::Nil => Filter::All,
            Value::Array(items) => {
                Filter::Keys(items.iter().map(|i| IdOrName::from_value(name, i)).collect::<MethodResult<_>>()?)
            }
            Value::Struct(m) => Filter::Match(fields(m)),
            other => Filter::One(IdOrName::from_value(name, other)?),
        })
    }
}

impl FromArg for ReturnFields {
    const TY: Ty = RETURN_FIELDS;
    fn from_value(name: &'static str, v: &Value) -> MethodResult<Self> {
        match v {
            Value::Nil => Ok(ReturnFields::All),
            // Names the check let through are strings; anything else is refused as before.
            Value::Array(_) => Vec::<String>::from_value(name, v).map(ReturnFields::Named),
            _ => Err(Fault::invalid("return_fields must be a list of field names")),
        }
    }
}

/// A struct argument's members in plc's terms.
fn fields(m: &BTreeMap<String, Value>) -> Fields {
    m.iter().map(|(k, v)| (k.clone(), datum(v))).collect()
}

fn datum(v: &Value) -> Datum {
    match v {
        Value::Nil => Datum::Nil,
        Value::Int(i) => Datum::Int(*i),
        Value::Bool(b) => Datum::Bool(*b),
        Value::Double(d) => Datum::Double(*d),
        Value::String(s) => Datum::Str(s.clone()),
        Value::Array(items) => Datum::List(items.iter().map(datum).collect()),
        Value::Struct(m) => Datum::Map(fields(m)),
        other => Datum::Other(other.type_name()),
    }
}

/// How many of a declaration's parameters are required: those before the first optional one.
/// A required parameter after an optional one cannot be declared (it would fail to compile).
pub const fn required(optional: &[bool]) -> usize {
    let mut i = 0;
    while i < optional.len() && !optional[i] {
        i += 1;
    }
    let mut j = i;
    while j < optional.len() {
        assert!(optional[j], "a required parameter follows an optional one");
        j += 1;
    }
    i
}

/// A typed result as the value XML-RPC sends.
pub trait IntoValue {
    fn into_value(self) -> Value;
}

impl IntoValue for i64 {
    fn into_value(self) -> Value {
        Value::Int(self)
    }
}

impl IntoValue for bool {
    fn into_value(self) -> Value {
        Value::Bool(self)
    }
}

impl IntoValue for String {
    fn into_value(self) -> Value {
        Value::String(self)
    }
}

impl IntoValue for &str {
    fn into_value(self) -> Value {
        Value::from(self)
    }
}

impl IntoValue for Done {
    fn into_value(self) -> Value {
        Value::Int(1)
    }
}

impl<T: IntoValue> IntoValue for Option<T> {
    fn into_value(self) -> Value {
        self.map_or(Value::Nil, IntoValue::into_value)
    }
}

impl<T: IntoValue> IntoValue for Vec<T> {
    fn into_value(self) -> Value {
        Value::Array(self.into_iter().map(IntoValue::into_value).collect())
    }
}

impl<T: IntoValue> IntoValue for BTreeMap<String, T> {
    fn into_value(self) -> Value {
        Value::Struct(self.into_iter().map(|(k, v)| (k, v.into_value())).collect())
    }
}

impl IntoValue for NodeRef {
    fn into_value(self) -> Value {
        match self {
            NodeRef::Id(id) => Value::Int(id),
            NodeRef::Hostname(h) => Value::String(h),
        }
    }
}

/// A registry row as an XML-RPC struct.
impl IntoValue for Row {
    fn into_value(self) -> Value {
        Value::Struct(row_members(self))
    }
}

/// A row's cells as struct members.
fn row_members(row: Row) -> BTreeMap<String, Value> {
    let mut m = BTreeMap::new();
    for (name, cell) in row.cells {
        let v = match cell {
            Cell::Scalar(SqlValue::Int(Some(i))) => Value::Int(i),
            Cell::Scalar(SqlValue::Float(Some(f))) => Value::Double(f),
            Cell::Scalar(SqlValue::Text(Some(s))) => Value::String(s),
            Cell::Scalar(_) | Cell::Bool(None) => Value::Nil,
            Cell::Bool(Some(b)) => Value::Bool(b),
            Cell::IntList(v) => Value::Array(v.into_iter().map(Value::Int).collect()),
            Cell::TextList(v) => Value::Array(v.into_iter().map(Value::String).collect()),
        };
        m.insert(name, v);
    }
    m
}

/// Builds a struct from `(member, value)` pairs.
fn members<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    Value::Struct(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

impl IntoValue for crate::methods::Flavour {
    fn into_value(self) -> Value {
        members([
            ("arch", self.arch.into_value()),
            ("fcdistro", self.fcdistro.into_value()),
            ("pldistro", self.pldistro.into_value()),
            ("virt", self.virt.into_value()),
            ("nodefamily", self.nodefamily.into_value()),
            ("extensions", self.extensions.into_value()),
            ("plain", self.plain.into_value()),
        ])
    }
}

impl IntoValue for crate::methods::MediumStatus {
    fn into_value(self) -> Value {
        let mut out = BTreeMap::from([("status".to_string(), self.status.into_value())]);
        if let Some(node) = self.node {
            out.insert("node_id".to_string(), Value::Int(node.node_id));
            out.insert("hostname".to_string(), Value::String(node.hostname));
        }
        if let Some(m) = self.medium {
            out.insert("issued_medium_id".to_string(), Value::Int(m.issued_medium_id));
            out.insert("issued".to_string(), Value::Int(m.issued));
            out.insert("superseded_by".to_string(), m.superseded_by.into_value());
            out.insert("image_matches".to_string(), Value::Bool(m.image_matches));
        }
        Value::Struct(out)
    }
}

impl IntoValue for crate::methods::NodeDetails {
    fn into_value(self) -> Value {
        let mut details = BTreeMap::from([
            ("hostname".to_string(), Value::String(self.hostname)),
            ("boot_state".to_string(), Value::String(self.boot_state)),
            ("model".to_string(), Value::String(self.model)),
            ("session".to_string(), Value::String(self.session)),
        ]);
        if !self.networks.is_empty() {
            // Old BootManagers cannot unmarshal nil.
            let networks = self
                .networks
                .into_iter()
                .map(|n| {
                    let members = row_members(n).into_iter();
                    Value::Struct(
                        members.map(|(k, v)| (k, if matches!(v, Value::Nil) { Value::from("") } else { v })).collect(),
                    )
                })
                .collect();
            details.insert("networks".to_string(), Value::Array(networks));
        }
        Value::Struct(details)
    }
}

impl IntoValue for crate::methods::Release {
    fn into_value(self) -> Value {
        members([
            ("build", self.build.into_value()),
            ("tags", self.tags.into_value()),
            ("rpms", self.rpms.into_value()),
        ])
    }
}

/// A typed result as what the front end sends: a value, or a boot image to stream.
pub trait IntoReply {
    fn into_reply(self) -> Reply;
}

impl<T: IntoValue> IntoReply for T {
    fn into_reply(self) -> Reply {
        Reply::Value(self.into_value())
    }
}

impl IntoReply for Issued {
    fn into_reply(self) -> Reply {
        match self {
            Issued::Text(text) => Reply::Value(Value::String(text)),
            Issued::File(path) => Reply::Value(Value::String(path.to_string_lossy().into_owned())),
            Issued::Medium(medium) => Reply::Medium(medium),
        }
    }
}

/// Whether GetBootMedium's arguments `(node, action, filename, …)` ask for an image in the
/// response, which `system.multicall` cannot carry.
pub fn boot_medium_inline(args: &[Value]) -> bool {
    let action = args.get(1).and_then(Value::as_str).unwrap_or_default();
    let filename = args.get(2).and_then(Value::as_str);
    boot_medium::answers_with_image(action, filename)
}

/// One method's declaration: its name, roles, writing mode, result and doc, and the function
/// that implements it with its parameters' names and Rust types, written once:
///
/// ```ignore
/// method! { "GetSites", roles: ALL_AND_ANONYMOUS, writes: R, returns: "array of site structs",
///           doc: "Returns sites matching the filter.",
///           sites::get_sites(filter: Option<Filter>, return_fields: Option<ReturnFields>) }
/// ```
///
/// The parameter list (names, and the declared [`Ty`] of each Rust type's [`FromArg`]) and the
/// required count (the parameters before the first `Option`) come from the signature, and so
/// does the handler: it converts each checked argument to its type, calls
/// `sites::get_sites(cx, filter, return_fields)` and turns the result into the reply through
/// [`IntoReply`]. A function whose signature disagrees does not compile.
///
/// Arguments in brackets after the path are passed first, before the client's: methods that
/// differ only in their class share one function, `common::get[&views::SITE](filter: …, …)`.
macro_rules! method {
    (
        $name:expr, roles: $roles:expr, writes: $writes:expr, returns: $returns:expr, doc: $doc:expr,
        $($f:ident)::+ $([ $($bound:expr),* ])? ( $($p:ident : $t:ty),* $(,)? )
    ) => {
        $crate::context::MethodSpec {
            name: $name,
            roles: $roles,
            params: &[$($crate::args::Param { name: stringify!($p), ty: <$t as $crate::wire::FromArg>::TY }),*],
            required: const { $crate::wire::required(&[$(<$t as $crate::wire::FromArg>::OPTIONAL),*]) },
            returns: $returns,
            doc: $doc,
            writes: $writes,
            checks_own_auth: false,
            inline_medium: None,
            handler: {
                let h: $crate::context::Handler = |cx, a| {
                    Box::pin(async move {
                        #[allow(unused_mut, unused_variables)]
                        let mut given = a.0.iter();
                        $(let $p = <$t as $crate::wire::FromArg>::from_arg(stringify!($p), given.next())?;)*
                        $($f)::+(cx $($(, $bound)*)? $(, $p)*).await.map($crate::wire::IntoReply::into_reply)
                    })
                };
                h
            },
        }
    };
}
pub(crate) use method;

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

    /// Values of every shape, for the conversions below.
    fn samples() -> Vec<Value> {
        let member = |k: &str, v: Value| Value::Struct(BTreeMap::from([(k.to_string(), v)]));
        vec![
            Value::Nil,
            Value::Int(7),
            Value::Bool(true),
            Value::Double(1.5),
            Value::from("n1.example.org"),
            Value::Base64(vec![1, 2]),
            Value::Array(vec![]),
            Value::Array(vec![Value::from("a"), Value::from("b")]),
            Value::Array(vec![Value::Int(1), Value::from("a"), Value::Bool(false)]),
            Value::Array(vec![Value::Nil]),
            member("hostname", Value::from("x")),
            member("primary_network", member("interface_id", Value::Int(3))),
            member("-SORT", Value::Array(vec![Value::from("-hostname")])),
        ]
    }

    /// The conversion of `T` takes every value its declared type lets through: the check before
    /// the handler stays the only place a wrongly typed argument is refused.
    fn converts_what_checks<T: FromArg>() -> usize {
        let mut accepted = 0;
        for v in samples() {
            if check("x", &T::TY, &v).is_ok() {
                let converted = T::from_value("x", &v);
                assert!(converted.is_ok(), "{:?} refused {v:?}: {:?}", T::TY, converted.err());
                accepted += 1;
            }
        }
        accepted
    }

    #[test]
    fn every_argument_type_converts_what_its_check_accepts() {
        assert_eq!(converts_what_checks::<i64>(), 2);
        assert_eq!(converts_what_checks::<String>(), 1);
        assert_eq!(converts_what_checks::<Vec<String>>(), 2);
        assert_eq!(converts_what_checks::<IdOrName>(), 3);
        assert_eq!(converts_what_checks::<NodeRef>(), 3);
        assert_eq!(converts_what_checks::<Fields>(), 3);
        assert_eq!(converts_what_checks::<Filter>(), 10);
        assert_eq!(converts_what_checks::<ReturnFields>(), 3);
        assert_eq!(converts_what_checks::<Option<OrNil<i64>>>(), 3);
        assert_eq!(converts_what_checks::<Option<OrNil<IdOrName>>>(), 4);
    }

    #[test]
    fn arguments_convert_to_their_typed_form() {
        let filter = |v: Value| Filter::from_value("f", &v).unwrap();
        assert_eq!(filter(Value::Nil), Filter::All);
        assert_eq!(filter(Value::Bool(true)), Filter::One(IdOrName::Id(1)));
        assert_eq!(filter(Value::from("n*")), Filter::One(IdOrName::Name("n*".into())));
        assert_eq!(
            filter(Value::Array(vec![Value::Int(2), Value::from("a")])),
            Filter::Keys(vec![IdOrName::Id(2), IdOrName::Name("a".into())])
        );
        let criteria = Value::Struct(BTreeMap::from([
            ("~node_id".to_string(), Value::Array(vec![Value::Int(1), Value::Nil])),
            ("date".to_string(), Value::DateTime("20260101T00:00:00".into())),
        ]));
        let expected = Fields::from([
            ("~node_id".to_string(), Datum::List(vec![Datum::Int(1), Datum::Nil])),
            ("date".to_string(), Datum::Other("dateTime.iso8601")),
        ]);
        assert_eq!(filter(criteria), Filter::Match(expected));
        assert_eq!(ReturnFields::from_value("r", &Value::Nil).unwrap(), ReturnFields::All);
        assert_eq!(OrNil::<i64>::from_value("e", &Value::Nil).unwrap(), OrNil(None));
        assert_eq!(Option::<i64>::from_arg("e", None).unwrap(), None);
        assert_eq!(Option::<i64>::from_arg("e", Some(&Value::Bool(true))).unwrap(), Some(1));
        assert_eq!(NodeRef::from_value("n", &Value::from("h")).unwrap(), NodeRef::Hostname("h".into()));
    }

    /// An auth struct of `(member, value)` pairs.
    fn auth(pairs: &[(&str, Value)]) -> Value {
        Value::Struct(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
    }

    #[test]
    fn each_auth_method_converts_to_its_credentials() {
        let s = |t: &str| Value::from(t);
        let cases = [
            (
                auth(&[("AuthMethod", s("password")), ("Username", s("a@b.org")), ("AuthString", s("pw"))]),
                Credentials::Password { username: "a@b.org".into(), password: "pw".into(), capability: false },
            ),
            (
                auth(&[("AuthMethod", s("capability")), ("Username", s("a@b.org")), ("AuthString", s("pw"))]),
                Credentials::Password { username: "a@b.org".into(), password: "pw".into(), capability: true },
            ),
            (auth(&[("AuthMethod", s("session")), ("session", s("sid="))]), Credentials::Session("sid=".into())),
            (
                auth(&[("AuthMethod", s("hmac")), ("node_id", Value::Int(7)), ("value", s("ab12"))]),
                Credentials::Hmac { node_id: 7, value: "ab12".into(), dummybox: false },
            ),
            (
                // Python's int accepts a bool.
                auth(&[("AuthMethod", s("hmac_dummybox")), ("node_id", Value::Bool(true)), ("value", s("ab12"))]),
                Credentials::Hmac { node_id: 1, value: "ab12".into(), dummybox: true },
            ),
            (auth(&[("AuthMethod", s("anonymous"))]), Credentials::Anonymous),
            // Refused later, whatever its fields: there is nothing to check a signature with.
            (auth(&[("AuthMethod", s("gpg"))]), Credentials::Gpg),
        ];
        for (value, expected) in cases {
            let method = expected.method();
            assert_eq!(value.get("AuthMethod").and_then(Value::as_str), Some(method.name()));
            assert_eq!(credentials(&value).unwrap(), expected);
            // The auth struct a typed front end's call is recorded with converts back.
            assert_eq!(credentials(&auth_struct(&expected)).unwrap(), expected);
            // Unknown members are ignored (the test suites send `Role`, the BootManager
            // `node_ip`).
            let Value::Struct(mut m) = value else { panic!("not a struct") };
            m.insert("node_ip".into(), s("10.0.0.1"));
            m.insert("Role".into(), Value::Int(1));
            assert_eq!(credentials(&Value::Struct(m)).unwrap(), expected);
        }
        assert_eq!(AuthMethod::ALL.map(|m| AuthMethod::named(m.name())), AuthMethod::ALL.map(Some));
    }

    #[test]
    fn a_malformed_auth_struct_is_its_fault() {
        let s = |t: &str| Value::from(t);
        let password = |m: &[(&str, Value)]| auth(&[&[("AuthMethod", s("password"))], m].concat());
        let hmac = |m: &[(&str, Value)]| auth(&[&[("AuthMethod", s("hmac"))], m].concat());
        use AuthMethod::{Hmac, Password, Session};
        let cases = [
            (s("admin"), "Invalid auth value: expected struct, got string", None),
            (Value::Nil, "Invalid auth value: expected struct, got nil", None),
            (Value::Array(vec![]), "Invalid auth value: expected struct, got array", None),
            (
                auth(&[("Username", s("a")), ("AuthString", s("b"))]),
                "Invalid auth value: 'AuthMethod' not specified",
                None,
            ),
            (auth(&[("AuthMethod", Value::Int(1))]), "Invalid AuthMethod value: expected string, got int", None),
            (
                auth(&[("AuthMethod", s("kerberos"))]),
                "Invalid AuthMethod value: must be 'session', 'password', 'capability', 'gpg', 'hmac', 'hmac_dummybox', 'anonymous'",
                None,
            ),
            (auth(&[("AuthMethod", s("Password"))]), "Invalid AuthMethod value: must be 'session',", None),
            (password(&[("AuthString", s("pw"))]), "Invalid auth value: 'Username' not specified", Some(Password)),
            (password(&[("Username", s("a"))]), "Invalid auth value: 'AuthString' not specified", Some(Password)),
            (
                password(&[("Username", Value::Int(5)), ("AuthString", s("pw"))]),
                "Invalid Username value: expected string, got int",
                Some(Password),
            ),
            (
                password(&[("Username", s("a")), ("AuthString", Value::Nil)]),
                "Invalid AuthString value: expected string, got nil",
                Some(Password),
            ),
            (auth(&[("AuthMethod", s("session"))]), "Invalid auth value: 'session' not specified", Some(Session)),
            (
                auth(&[("AuthMethod", s("session")), ("session", Value::Int(42))]),
                "Invalid session value: expected string, got int",
                Some(Session),
            ),
            (hmac(&[("value", s("ab"))]), "Invalid auth value: 'node_id' not specified", Some(Hmac)),
            (
                hmac(&[("node_id", s("1")), ("value", s("ab"))]),
                "Invalid node_id value: expected int, got string",
                Some(Hmac),
            ),
            (hmac(&[("node_id", Value::Int(1))]), "Invalid auth value: 'value' not specified", Some(Hmac)),
            (
                hmac(&[("node_id", Value::Int(1)), ("value", Value::Int(3))]),
                "Invalid value value: expected string, got int",
                Some(Hmac),
            ),
            (
                auth(&[("AuthMethod", s("hmac_dummybox")), ("value", s("ab"))]),
                "Invalid auth value: 'node_id' not specified",
                Some(AuthMethod::HmacDummybox),
            ),
        ];
        for (value, message, method) in cases {
            let bad = credentials(&value).unwrap_err();
            assert_eq!(bad.fault.code, 102, "{value:?}");
            assert!(bad.fault.message.starts_with(message), "{value:?}: {}", bad.fault.message);
            assert_eq!(bad.method, method, "{value:?}");
        }
    }

    #[test]
    fn required_parameters_come_first() {
        assert_eq!(required(&[]), 0);
        assert_eq!(required(&[false, false, true]), 2);
        assert_eq!(required(&[true, true]), 0);
    }

    #[test]
    #[should_panic(expected = "a required parameter follows an optional one")]
    fn a_required_parameter_after_an_optional_one_is_refused() {
        required(&[false, true, false]);
    }

    #[test]
    fn results_convert_to_their_values() {
        assert_eq!(Done.into_value(), Value::Int(1));
        assert_eq!(None::<String>.into_value(), Value::Nil);
        assert_eq!(vec!["a".to_string()].into_value(), Value::Array(vec![Value::from("a")]));
        let row = Row {
            cells: vec![
                ("node_id".to_string(), Cell::Scalar(SqlValue::int(4))),
                ("model".to_string(), Cell::Scalar(SqlValue::Text(None))),
                ("is_primary".to_string(), Cell::Bool(Some(true))),
                ("tags".to_string(), Cell::TextList(vec!["x".into()])),
            ],
        };
        let details = crate::methods::NodeDetails {
            hostname: "n1".into(),
            boot_state: "boot".into(),
            model: String::new(),
            networks: vec![row.clone()],
            session: "s".into(),
        };
        let Value::Struct(m) = details.into_value() else { panic!("not a struct") };
        let Some(Value::Array(networks)) = m.get("networks") else { panic!("no networks") };
        // The row as it is, except nil, which old BootManagers cannot read.
        let Value::Struct(network) = &networks[0] else { panic!("not a struct") };
        assert_eq!(network.get("model"), Some(&Value::from("")));
        assert_eq!(network.get("node_id"), Some(&Value::Int(4)));
        assert_eq!(network.get("is_primary"), Some(&Value::Bool(true)));
        assert_eq!(network.get("tags"), Some(&Value::Array(vec![Value::from("x")])));
        let Value::Struct(plain) = row.into_value() else { panic!("not a struct") };
        assert_eq!(plain.get("model"), Some(&Value::Nil));
        let none = crate::methods::NodeDetails {
            hostname: "n1".into(),
            boot_state: "boot".into(),
            model: String::new(),
            networks: vec![],
            session: "s".into(),
        };
        let Value::Struct(m) = none.into_value() else { panic!("not a struct") };
        assert!(!m.contains_key("networks"));
        assert_eq!(m.len(), 4);
    }

    /// Fault texts name a struct member's type from the `Datum` as clients know it from the value.
    #[test]
    fn a_datum_names_its_type_as_the_value_does() {
        for v in samples() {
            assert_eq!(datum(&v).type_name(), v.type_name(), "{v:?}");
        }
    }
}
