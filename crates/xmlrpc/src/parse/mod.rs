//! Parsing XML-RPC `<methodCall>` and `<methodResponse>` documents as defined
//! by the XML-RPC specification (<http://xmlrpc.com/spec>), accepting what
//! Python's `xmlrpc.client` (with `allow_none=True`) and other common clients
//! send.
//!
//! The parser is a recursive descent over quick-xml's pull reader (no DOM),
//! with the XML-level rules in the private `tokens` module. Lenient where
//! clients differ and the meaning is still clear: whitespace between elements
//! is ignored, `<value>text</value>` is a string, `<params>` may be absent,
//! `<array/>`, `<data/>` and `<struct/>` are empty, duplicate struct keys keep
//! the last value (as Python does). Strict elsewhere: unknown elements and
//! stray text are errors, and [`Limits`] bound nesting depth and value count
//! before anything deep is allocated.
//!
//! Nesting is parsed by recursion, which costs stack per level: about 5 KiB
//! in an unoptimised build, under 1 KiB optimised. The default `max_depth` of
//! 64 therefore fits easily in a 2 MiB thread (Tokio's default); keep it in
//! the low hundreds unless the parsing thread has a larger stack.

mod error;
#[cfg(test)]
mod tests;
mod tokens;

use std::collections::BTreeMap;

pub use error::{ParseError, ParseErrorKind};
use tokens::{Tag, Token, Tokenizer};

use crate::scalar;
use crate::value::Value;

/// Bounds on what one document may contain, enforced while parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of arrays and structs; a top-level scalar is depth 0,
    /// an array of scalars depth 1. Each level costs stack (see the module
    /// docs), so keep this in the low hundreds on 2 MiB threads.
    pub max_depth: usize,
    /// Most `<value>` elements in the whole document, nested ones included.
    pub max_values: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_depth: 64, max_values: 1_000_000 }
    }
}

/// A parsed `<methodCall>`.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodCall {
    /// The `<methodName>` text, surrounding whitespace removed.
    pub method_name: String,
    /// The `<param>` values in order; empty when `<params>` is absent.
    pub params: Vec<Value>,
}

/// A parsed `<methodResponse>`.
#[derive(Debug, Clone, PartialEq)]
pub enum MethodResponse {
    /// `<params><param><value>…` with exactly one value.
    Success(Value),
    /// `<fault>` with its faultCode and faultString.
    Fault {
        /// The `faultCode` member.
        code: i64,
        /// The `faultString` member.
        message: String,
    },
}

/// Parses a `<methodCall>` request body.
pub fn parse_method_call(body: &[u8], limits: &Limits) -> Result<MethodCall, ParseError> {
    let mut parser = Parser::new(body, limits)?;
    let root_is_empty = parser.expect_root(Tag::MethodCall)?;
    if root_is_empty {
        return Err(parser.tokens.error(ParseErrorKind::MissingMethodName));
    }
    let method_name = parser.method_name()?;
    let params = match parser.tokens.next_markup()? {
        Token::Open { tag: Tag::Params, empty } => {
            let params = parser.params(empty)?;
            parser.expect_close(Tag::MethodCall)?;
            params
        }
        Token::Close(Tag::MethodCall) => Vec::new(),
        other => return Err(parser.unexpected("<params> or </methodCall>", &other)),
    };
    parser.expect_end_of_document("methodCall")?;
    Ok(MethodCall { method_name, params })
}

/// Parses a `<methodResponse>` body: one value or a fault.
pub fn parse_method_response(body: &[u8], limits: &Limits) -> Result<MethodResponse, ParseError> {
    let mut parser = Parser::new(body, limits)?;
    if parser.expect_root(Tag::MethodResponse)? {
        return Err(parser.unexpected_element("<params> or <fault>", "<methodResponse/>"));
    }
    let response = match parser.tokens.next_markup()? {
        Token::Open { tag: Tag::Params, empty } => parser.single_result(empty)?,
        Token::Open { tag: Tag::Fault, empty: false } => parser.fault()?,
        other => return Err(parser.unexpected("<params> or <fault>", &other)),
    };
    parser.expect_close(Tag::MethodResponse)?;
    parser.expect_end_of_document("methodResponse")?;
    Ok(response)
}

/// The grammar of <http://xmlrpc.com/spec>, one method per element.
struct Parser<'a> {
    tokens: Tokenizer<'a>,
    limits: Limits,
    values_seen: usize,
}

impl<'a> Parser<'a> {
    fn new(body: &'a [u8], limits: &Limits) -> Result<Self, ParseError> {
        Ok(Parser { tokens: Tokenizer::new(body)?, limits: *limits, values_seen: 0 })
    }

    // ---- errors ----

    fn unexpected(&self, expected: &str, found: &Token<'_>) -> ParseError {
        let kind = match found {
            Token::End => ParseErrorKind::Truncated(expected.to_owned()),
            other => ParseErrorKind::Unexpected { expected: expected.to_owned(), found: other.to_string() },
        };
        self.tokens.error(kind)
    }

    fn unexpected_element(&self, expected: &str, found: &str) -> ParseError {
        self.tokens.error(ParseErrorKind::Unexpected { expected: expected.to_owned(), found: found.to_owned() })
    }

    // ---- document structure ----

    /// Skips the prolog and reads the root start tag, which must be `root`.
    /// Returns whether the root is self-closing.
    fn expect_root(&mut self, root: Tag) -> Result<bool, ParseError> {
        match self.tokens.next_markup()? {
            Token::Open { tag, empty } if tag == root => Ok(empty),
            other => Err(self.unexpected(&format!("<{}>", root.name()), &other)),
        }
    }

    /// After the root's end tag only comments, processing instructions and
    /// whitespace may follow.
    fn expect_end_of_document(&mut self, root: &'static str) -> Result<(), ParseError> {
        match self.tokens.next_markup()? {
            Token::End => Ok(()),
            _ => Err(self.tokens.error(ParseErrorKind::TrailingContent(root))),
        }
    }

    /// Reads `</tag>`, allowing only whitespace before it.
    fn expect_close(&mut self, tag: Tag) -> Result<(), ParseError> {
        match self.tokens.next_markup()? {
            Token::Close(found) if found == tag => Ok(()),
            Token::End => Err(self.tokens.error(ParseErrorKind::Truncated(format!("</{}>", tag.name())))),
            other => Err(self.unexpected(&format!("</{}>", tag.name()), &other)),
        }
    }

    /// The character data of an element up to its end tag; any child element
    /// is an error. A self-closing element has empty text.
    fn text_of(&mut self, tag: &Tag, empty: bool) -> Result<String, ParseError> {
        let mut text = String::new();
        if empty {
            return Ok(text);
        }
        loop {
            match self.tokens.next()? {
                Token::Text(piece) => text.push_str(&piece),
                Token::Close(found) if found == *tag => return Ok(text),
                Token::End => {
                    let end_tag = format!("</{}>", tag.name());
                    return Err(self.tokens.error(ParseErrorKind::Truncated(end_tag)));
                }
                other => {
                    let expected = format!("text or </{}>", tag.name());
                    return Err(self.unexpected(&expected, &other));
                }
            }
        }
    }

    fn method_name(&mut self) -> Result<String, ParseError> {
        match self.tokens.next_markup()? {
            Token::Open { tag: Tag::MethodName, empty } => {
                let name = self.text_of(&Tag::MethodName, empty)?;
                Ok(scalar::trim_xml_whitespace(&name).to_owned())
            }
            _ => Err(self.tokens.error(ParseErrorKind::MissingMethodName)),
        }
    }

    /// The values of `<params>` (already opened), up to `</params>`.
    fn params(&mut self, empty: bool) -> Result<Vec<Value>, ParseError> {
        let mut params = Vec::new();
        if empty {
            return Ok(params);
        }
        loop {
            match self.tokens.next_markup()? {
                Token::Open { tag: Tag::Param, empty: false } => params.push(self.param()?),
                Token::Open { tag: Tag::Param, empty: true } => {
                    return Err(self.tokens.error(ParseErrorKind::MissingParamValue));
                }
                Token::Close(Tag::Params) => return Ok(params),
                other => return Err(self.unexpected("<param> or </params>", &other)),
            }
        }
    }

    /// The single value of a `<param>` (already opened), up to `</param>`.
    fn param(&mut self) -> Result<Value, ParseError> {
        let value = match self.tokens.next_markup()? {
            Token::Open { tag: Tag::Value, empty } => self.value(empty, 0)?,
            Token::Close(Tag::Param) => {
                return Err(self.tokens.error(ParseErrorKind::MissingParamValue));
            }
            other => return Err(self.unexpected("<value>", &other)),
        };
        self.expect_close(Tag::Param)?;
        Ok(value)
    }

    /// A response's `<params>` (already opened), which must hold one value.
    fn single_result(&mut self, empty: bool) -> Result<MethodResponse, ParseError> {
        let mut params = self.params(empty)?;
        if params.len() != 1 {
            let kind = ParseErrorKind::ResponseParamCount(params.len());
            return Err(self.tokens.error(kind));
        }
        Ok(MethodResponse::Success(params.remove(0)))
    }

    /// A `<fault>` (already opened) up to `</fault>`.
    fn fault(&mut self) -> Result<MethodResponse, ParseError> {
        let value = match self.tokens.next_markup()? {
            Token::Open { tag: Tag::Value, empty } => self.value(empty, 0)?,
            other => return Err(self.unexpected("<value>", &other)),
        };
        self.expect_close(Tag::Fault)?;
        let code = value.get("faultCode").and_then(Value::as_int);
        let message = value.get("faultString").and_then(Value::as_str);
        match (code, message) {
            (Some(code), Some(message)) => Ok(MethodResponse::Fault { code, message: message.to_owned() }),
            _ => Err(self.tokens.error(ParseErrorKind::InvalidFault)),
        }
    }

    // ---- values ----

    /// Counts one more value against [`Limits::max_values`].
    fn count_value(&mut self) -> Result<(), ParseError> {
        self.values_seen += 1;
        if self.values_seen > self.limits.max_values {
            return Err(self.tokens.error(ParseErrorKind::TooManyValues(self.limits.max_values)));
        }
        Ok(())
    }

    /// A `<value>` (already opened) up to `</value>`, at nesting `depth`.
    /// Untyped text is a string; otherwise exactly one type element.
    fn value(&mut self, empty: bool, depth: usize) -> Result<Value, ParseError> {
        self.count_value()?;
        let mut text = String::new();
        if empty {
            return Ok(Value::String(text));
        }
        loop {
            match self.tokens.next()? {
                Token::Text(piece) => text.push_str(&piece),
                Token::Close(Tag::Value) => return Ok(Value::String(text)),
                Token::Open { tag, empty } => {
                    if !scalar::trim_xml_whitespace(&text).is_empty() {
                        let kind = ParseErrorKind::MixedValue(tag.name().to_owned());
                        return Err(self.tokens.error(kind));
                    }
                    let value = self.typed_value(tag, empty, depth)?;
                    self.expect_close(Tag::Value)?;
                    return Ok(value);
                }
                other => return Err(self.unexpected("</value>", &other)),
            }
        }
    }

    /// The content of a type element (already opened) up to its end tag.
    fn typed_value(&mut self, tag: Tag, empty: bool, depth: usize) -> Result<Value, ParseError> {
        match tag {
            Tag::Array => self.array(empty, depth + 1),
            Tag::Struct => self.structure(empty, depth + 1),
            Tag::Nil => self.nil(empty),
            Tag::String => self.text_of(&tag, empty).map(Value::String),
            Tag::Int | Tag::I4 | Tag::I8 => self.scalar(&tag, empty, scalar::parse_int, Value::Int),
            Tag::Boolean => self.scalar(&tag, empty, scalar::parse_bool, Value::Bool),
            Tag::Double => self.scalar(&tag, empty, scalar::parse_double, Value::Double),
            Tag::Base64 => self.scalar(&tag, empty, scalar::parse_base64, Value::Base64),
            Tag::DateTime => self.scalar(&tag, empty, scalar::parse_datetime, Value::DateTime),
            other => Err(self.tokens.error(ParseErrorKind::UnknownType(other.name().to_owned()))),
        }
    }

    /// A scalar element's text converted by `convert`; errors point at the element.
    fn scalar<T>(
        &mut self,
        tag: &Tag,
        empty: bool,
        convert: fn(&str) -> Result<T, ParseErrorKind>,
        wrap: fn(T) -> Value,
    ) -> Result<Value, ParseError> {
        let start = self.tokens.token_start();
        let text = self.text_of(tag, empty)?;
        convert(&text).map(wrap).map_err(|kind| kind.at(start))
    }

    fn nil(&mut self, empty: bool) -> Result<Value, ParseError> {
        let text = self.text_of(&Tag::Nil, empty)?;
        if scalar::trim_xml_whitespace(&text).is_empty() {
            Ok(Value::Nil)
        } else {
            Err(self.tokens.error(ParseErrorKind::NonEmptyNil))
        }
    }

    /// Refuses to go deeper than [`Limits::max_depth`].
    fn check_depth(&self, depth: usize) -> Result<(), ParseError> {
        if depth > self.limits.max_depth {
            return Err(self.tokens.error(ParseErrorKind::TooDeep(self.limits.max_depth)));
        }
        Ok(())
    }

    /// `<array>` (already opened) holding `<data>` with values, up to `</array>`.
    fn array(&mut self, empty: bool, depth: usize) -> Result<Value, ParseError> {
        self.check_depth(depth)?;
        if empty {
            return Ok(Value::Array(Vec::new()));
        }
        let items = match self.tokens.next_markup()? {
            Token::Close(Tag::Array) => return Ok(Value::Array(Vec::new())),
            Token::Open { tag: Tag::Data, empty } => self.data(empty, depth)?,
            other => return Err(self.unexpected("<data>", &other)),
        };
        self.expect_close(Tag::Array)?;
        Ok(Value::Array(items))
    }

    /// The values of `<data>` (already opened), up to `</data>`.
    fn data(&mut self, empty: bool, depth: usize) -> Result<Vec<Value>, ParseError> {
        let mut items = Vec::new();
        if empty {
            return Ok(items);
        }
        loop {
            match self.tokens.next_markup()? {
                Token::Open { tag: Tag::Value, empty } => items.push(self.value(empty, depth)?),
                Token::Close(Tag::Data) => return Ok(items),
                other => return Err(self.unexpected("<value> or </data>", &other)),
            }
        }
    }

    /// `<struct>` (already opened) with its members, up to `</struct>`.
    fn structure(&mut self, empty: bool, depth: usize) -> Result<Value, ParseError> {
        self.check_depth(depth)?;
        let mut members = BTreeMap::new();
        if empty {
            return Ok(Value::Struct(members));
        }
        loop {
            match self.tokens.next_markup()? {
                Token::Open { tag: Tag::Member, empty: false } => {
                    let (name, value) = self.member(depth)?;
                    // Last duplicate wins, as in Python's client.
                    members.insert(name, value);
                }
                Token::Open { tag: Tag::Member, empty: true } => {
                    return Err(self.tokens.error(ParseErrorKind::MissingMemberName));
                }
                Token::Close(Tag::Struct) => return Ok(Value::Struct(members)),
                other => return Err(self.unexpected("<member> or </struct>", &other)),
            }
        }
    }

    /// A `<member>` (already opened): `<name>` then `<value>`, up to `</member>`.
    fn member(&mut self, depth: usize) -> Result<(String, Value), ParseError> {
        let name = match self.tokens.next_markup()? {
            Token::Open { tag: Tag::Name, empty } => self.text_of(&Tag::Name, empty)?,
            Token::Open { tag: Tag::Value, .. } | Token::Close(Tag::Member) => {
                return Err(self.tokens.error(ParseErrorKind::MissingMemberName));
            }
            other => return Err(self.unexpected("<name>", &other)),
        };
        let value = match self.tokens.next_markup()? {
            Token::Open { tag: Tag::Value, empty } => self.value(empty, depth)?,
            Token::Close(Tag::Member) => {
                let kind = ParseErrorKind::MissingMemberValue(scalar::quote(&name));
                return Err(self.tokens.error(kind));
            }
            other => return Err(self.unexpected("<value>", &other)),
        };
        self.expect_close(Tag::Member)?;
        Ok((name, value))
    }
}
