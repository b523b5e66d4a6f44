//! The XML layer under the XML-RPC grammar: quick-xml's pull reader turned
//! into a stream of [`Token`]s that only the grammar still has to judge.
//!
//! This is where the XML-level safety rules live: any DOCTYPE is refused (so
//! no entity can be declared, which rules out entity-expansion and external
//! entity attacks), only the five predefined entities and character
//! references are decoded, a declared encoding must be UTF-8 or US-ASCII, and
//! text is XML 1.0 line-end normalised (`\r\n` → `\n`) as any XML parser,
//! Python's expat included, would do. Comments and processing instructions
//! are skipped, as Python's `xmlrpc.client` skips them.

use std::borrow::Cow;
use std::fmt;

use quick_xml::Reader;
use quick_xml::events::{BytesDecl, BytesRef, Event};

use super::error::{ParseError, ParseErrorKind};
use crate::scalar::{quote, trim_xml_whitespace};

/// Element names of the XML-RPC grammar, recognised once so that the grammar
/// matches on them rather than on bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Tag {
    MethodCall,
    MethodResponse,
    MethodName,
    Params,
    Param,
    Fault,
    Value,
    Array,
    Data,
    Struct,
    Member,
    Name,
    Int,
    I4,
    I8,
    Boolean,
    Double,
    String,
    Base64,
    DateTime,
    /// `<nil/>`, or `<ex:nil/>` as Apache's XML-RPC library writes it.
    Nil,
    /// Any other element, kept by name for the error message.
    Other(String),
}

impl Tag {
    fn from_name(name: &str) -> Tag {
        match name {
            "methodCall" => Tag::MethodCall,
            "methodResponse" => Tag::MethodResponse,
            "methodName" => Tag::MethodName,
            "params" => Tag::Params,
            "param" => Tag::Param,
            "fault" => Tag::Fault,
            "value" => Tag::Value,
            "array" => Tag::Array,
            "data" => Tag::Data,
            "struct" => Tag::Struct,
            "member" => Tag::Member,
            "name" => Tag::Name,
            "int" => Tag::Int,
            "i4" => Tag::I4,
            "i8" => Tag::I8,
            "boolean" => Tag::Boolean,
            "double" => Tag::Double,
            "string" => Tag::String,
            "base64" => Tag::Base64,
            "dateTime.iso8601" => Tag::DateTime,
            "nil" | "ex:nil" => Tag::Nil,
            other => Tag::Other(other.to_owned()),
        }
    }

    /// The element name as written in documents.
    pub(super) fn name(&self) -> &str {
        match self {
            Tag::MethodCall => "methodCall",
            Tag::MethodResponse => "methodResponse",
            Tag::MethodName => "methodName",
            Tag::Params => "params",
            Tag::Param => "param",
            Tag::Fault => "fault",
            Tag::Value => "value",
            Tag::Array => "array",
            Tag::Data => "data",
            Tag::Struct => "struct",
            Tag::Member => "member",
            Tag::Name => "name",
            Tag::Int => "int",
            Tag::I4 => "i4",
            Tag::I8 => "i8",
            Tag::Boolean => "boolean",
            Tag::Double => "double",
            Tag::String => "string",
            Tag::Base64 => "base64",
            Tag::DateTime => "dateTime.iso8601",
            Tag::Nil => "nil",
            Tag::Other(name) => name,
        }
    }
}

/// One piece of the document, as the grammar sees it.
#[derive(Debug)]
pub(super) enum Token<'a> {
    /// A start tag, or a self-closing tag when `empty`.
    Open { tag: Tag, empty: bool },
    /// An end tag (quick-xml has already checked it matches its start tag).
    Close(Tag),
    /// Character data: a run of text, a CDATA section or one decoded reference.
    Text(Cow<'a, str>),
    /// End of input.
    End,
}

impl Token<'_> {
    /// Whitespace-only text, which is insignificant between elements.
    fn is_blank(&self) -> bool {
        matches!(self, Token::Text(text) if trim_xml_whitespace(text).is_empty())
    }
}

impl fmt::Display for Token<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Open { tag, empty: false } => write!(f, "<{}>", tag.name()),
            Token::Open { tag, empty: true } => write!(f, "<{}/>", tag.name()),
            Token::Close(tag) => write!(f, "</{}>", tag.name()),
            Token::Text(text) => write!(f, "text '{}'", quote(trim_xml_whitespace(text))),
            Token::End => f.write_str("end of document"),
        }
    }
}

/// Pulls [`Token`]s out of a UTF-8 body, remembering where each one started
/// so that errors can point at it.
pub(super) struct Tokenizer<'a> {
    reader: Reader<&'a [u8]>,
    token_start: u64,
}

impl<'a> Tokenizer<'a> {
    /// A tokenizer over `body`, which must be UTF-8 (a leading BOM is skipped).
    pub(super) fn new(body: &'a [u8]) -> Result<Self, ParseError> {
        let text = std::str::from_utf8(body)
            .map_err(|error| ParseErrorKind::InvalidUtf8.at(offset_of(error.valid_up_to())))?;
        let mut reader = Reader::from_str(text);
        let config = reader.config_mut();
        config.check_end_names = true;
        config.expand_empty_elements = false;
        config.allow_dangling_amp = false;
        config.trim_text(false);
        Ok(Tokenizer { reader, token_start: 0 })
    }

    /// `kind`, located at the start of the last token read.
    pub(super) fn error(&self, kind: ParseErrorKind) -> ParseError {
        kind.at(self.token_start)
    }

    /// Byte offset where the last token read began.
    pub(super) fn token_start(&self) -> u64 {
        self.token_start
    }

    /// The next token, including whitespace-only text.
    pub(super) fn next(&mut self) -> Result<Token<'a>, ParseError> {
        loop {
            self.token_start = self.reader.buffer_position();
            let event = self
                .reader
                .read_event()
                .map_err(|error| ParseErrorKind::Malformed(error.to_string()).at(self.reader.error_position()))?;
            if let Some(token) = self.token_from(event)? {
                return Ok(token);
            }
        }
    }

    /// The next token that is not whitespace-only text: what the grammar
    /// wants between elements, where indentation is insignificant.
    pub(super) fn next_markup(&mut self) -> Result<Token<'a>, ParseError> {
        loop {
            let token = self.next()?;
            if !token.is_blank() {
                return Ok(token);
            }
        }
    }

    /// The token for `event`, or `None` for events the grammar never sees.
    fn token_from(&self, event: Event<'a>) -> Result<Option<Token<'a>>, ParseError> {
        let token = match event {
            Event::Start(start) => Token::Open { tag: Tag::from_name(start.name().as_ref()), empty: false },
            Event::Empty(start) => Token::Open { tag: Tag::from_name(start.name().as_ref()), empty: true },
            Event::End(end) => Token::Close(Tag::from_name(end.name().as_ref())),
            Event::Text(text) => Token::Text(self.allowed(text.xml10_content())?),
            Event::CData(data) => Token::Text(self.allowed(data.xml10_content())?),
            Event::GeneralRef(reference) => Token::Text(self.allowed(self.resolve(&reference)?)?),
            Event::Decl(declaration) => {
                self.check_encoding(&declaration)?;
                return Ok(None);
            }
            Event::DocType(_) => return Err(self.error(ParseErrorKind::Doctype)),
            Event::Comment(_) | Event::PI(_) => return Ok(None),
            Event::Eof => Token::End,
        };
        Ok(Some(token))
    }

    /// `text`, unless it holds a character XML 1.0 forbids (C0 controls other than tab, newline
    /// and carriage return; U+FFFE, U+FFFF). Refusing them here keeps them — NUL above all,
    /// which PostgreSQL cannot store — out of every value a method sees.
    fn allowed<'t>(&self, text: Cow<'t, str>) -> Result<Cow<'t, str>, ParseError> {
        match text.chars().find(|c| !crate::value::is_xml_char(*c)) {
            Some(c) => Err(self.error(ParseErrorKind::ForbiddenCharacter(u32::from(c)))),
            None => Ok(text),
        }
    }

    /// The text of `&name;`: a character reference or one of the five
    /// predefined entities. There is no DTD, so nothing else can be defined.
    fn resolve(&self, reference: &BytesRef<'a>) -> Result<Cow<'a, str>, ParseError> {
        let character =
            reference.resolve_char_ref().map_err(|error| self.error(ParseErrorKind::Malformed(error.to_string())))?;
        if let Some(character) = character {
            return Ok(Cow::Owned(character.to_string()));
        }
        let text = match &**reference {
            "lt" => "<",
            "gt" => ">",
            "amp" => "&",
            "apos" => "'",
            "quot" => "\"",
            unknown => return Err(self.error(ParseErrorKind::UnknownEntity(quote(unknown)))),
        };
        Ok(Cow::Borrowed(text))
    }

    /// Refuses an XML declaration naming an encoding the body cannot be in,
    /// since we only read UTF-8 (of which US-ASCII is a subset).
    fn check_encoding(&self, declaration: &BytesDecl<'_>) -> Result<(), ParseError> {
        let Some(encoding) = declaration.encoding() else {
            return Ok(());
        };
        let encoding = encoding.map_err(|error| self.error(ParseErrorKind::Malformed(error.to_string())))?;
        let accepted = ["utf-8", "utf8", "us-ascii", "ascii"].iter().any(|name| encoding.eq_ignore_ascii_case(name));
        if accepted { Ok(()) } else { Err(self.error(ParseErrorKind::UnsupportedEncoding(quote(&encoding)))) }
    }
}

/// A byte index as the `u64` offsets that quick-xml and [`ParseError`] use.
fn offset_of(index: usize) -> u64 {
    u64::try_from(index).unwrap_or(u64::MAX)
}
