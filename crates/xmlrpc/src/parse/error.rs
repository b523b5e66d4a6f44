//! Errors from parsing an XML-RPC document. The server turns them into an
//! XML-RPC fault, so each message says what is wrong in the client's terms and
//! [`ParseError`] adds where (a byte offset into the request body).

use thiserror::Error;

/// What was wrong with a document, and where.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{kind} at byte {offset}")]
pub struct ParseError {
    /// What is wrong.
    pub kind: ParseErrorKind,
    /// Byte offset into the body of the construct at fault (best effort: the
    /// start of the element or text being read when the problem was found).
    pub offset: u64,
}

/// The kinds of problem a document can have.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The body is not UTF-8.
    #[error("invalid UTF-8")]
    InvalidUtf8,
    /// The XML declaration names an encoding other than UTF-8 or US-ASCII.
    #[error("unsupported encoding '{0}' (only UTF-8 is accepted)")]
    UnsupportedEncoding(String),
    /// A `<!DOCTYPE …>`: refused outright so no entity can ever be defined
    /// (billion laughs, external entities).
    #[error("DOCTYPE declarations are not accepted")]
    Doctype,
    /// The XML itself is broken (as reported by the XML reader).
    #[error("not well-formed XML: {0}")]
    Malformed(String),
    /// A character XML 1.0 does not allow in a document (§2.2 `Char`), raw or as a reference.
    #[error("character U+{0:04X} is not allowed in XML")]
    ForbiddenCharacter(u32),
    /// An entity reference other than the five XML predefines them.
    #[error("unknown entity '&{0};' (only &lt; &gt; &amp; &apos; &quot; and character references are accepted)")]
    UnknownEntity(String),
    /// The document ended inside an element.
    #[error("document ended early, expected {0}")]
    Truncated(String),
    /// Something other than what the XML-RPC grammar allows here.
    #[error("expected {expected}, found {found}")]
    Unexpected {
        /// What the grammar allows at this point.
        expected: String,
        /// What the document has instead.
        found: String,
    },
    /// A `<value>` holding an element that is not an XML-RPC type.
    #[error("unknown value type <{0}>")]
    UnknownType(String),
    /// Arrays and structs nested deeper than [`crate::Limits::max_depth`].
    #[error("nesting deeper than {0}")]
    TooDeep(usize),
    /// More values than [`crate::Limits::max_values`].
    #[error("more than {0} values")]
    TooManyValues(usize),
    /// `<int>`, `<i4>` or `<i8>` text that is not a decimal integer.
    #[error("invalid int '{0}'")]
    InvalidInt(String),
    /// A decimal integer that does not fit in 64 bits.
    #[error("integer out of range '{0}'")]
    IntOutOfRange(String),
    /// `<boolean>` text other than `0` or `1`.
    #[error("invalid boolean '{0}' (must be 0 or 1)")]
    InvalidBoolean(String),
    /// `<double>` text that is not a finite number.
    #[error("invalid double '{0}'")]
    InvalidDouble(String),
    /// `<base64>` text that does not decode.
    #[error("invalid base64: {0}")]
    InvalidBase64(String),
    /// `<dateTime.iso8601>` text in neither accepted form, or out of range.
    #[error("invalid dateTime '{0}' (expected YYYYMMDDTHH:MM:SS)")]
    InvalidDateTime(String),
    /// A `<nil/>` with content.
    #[error("<nil/> must be empty")]
    NonEmptyNil,
    /// A `<value>` with both text and a type element.
    #[error("<value> mixes text with <{0}>")]
    MixedValue(String),
    /// A `<methodCall>` without its `<methodName>`.
    #[error("missing <methodName>")]
    MissingMethodName,
    /// A `<param>` without a `<value>`.
    #[error("<param> without <value>")]
    MissingParamValue,
    /// A struct `<member>` without a `<name>`.
    #[error("struct <member> without <name>")]
    MissingMemberName,
    /// A struct `<member>` without a `<value>`.
    #[error("struct member '{0}' has no <value>")]
    MissingMemberValue(String),
    /// A `<methodResponse>` whose `<params>` do not hold exactly one value.
    #[error("a response must hold exactly one <param>, found {0}")]
    ResponseParamCount(usize),
    /// A `<fault>` whose value is not the standard faultCode/faultString struct.
    #[error("<fault> must hold a struct with an int faultCode and a string faultString")]
    InvalidFault,
    /// Anything but comments and whitespace after the root element.
    #[error("trailing content after </{0}>")]
    TrailingContent(&'static str),
}

impl ParseErrorKind {
    /// This problem, found at byte `offset`.
    pub(crate) fn at(self, offset: u64) -> ParseError {
        ParseError { kind: self, offset }
    }
}
