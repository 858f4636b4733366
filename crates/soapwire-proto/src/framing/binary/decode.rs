//! Binary to text: the [MC-NBFX] record decoder.
//!
//! This module owns the reading of records and the writing of the text XML they stand for.
//! The decoder is a single pass over the input that appends UTF-8 markup to one output
//! buffer; it keeps only the stack of open elements (as byte ranges of the output, so a
//! closing tag is a copy) and the namespace bindings in scope (borrowed from the input or
//! the dictionaries, never copied).
//!
//! Everything read from the wire is checked before memory is committed: a length against
//! the bytes that remain (`InvalidFormat` when it does not fit) and against the
//! [`ReaderQuotas`] (`QuotaExceeded`): element depth, attributes per element, namespaces in
//! scope, bytes of a name, prefix or namespace URI, bytes of one text node or attribute
//! value (adjacent text records form one node, as in text XML), and bytes of the whole
//! output. Array records are checked against the remaining input before they are expanded.
//!
//! The output is namespace-well-formed XML 1.0 or an error: names must be `NCName`s,
//! prefixes must be declared, attributes unique, `xml`/`xmlns` used as the namespaces
//! recommendation says, and characters XML 1.0 cannot carry are `InvalidFormat` (the spec's
//! `&#0;` would not be well-formed). Text and attribute values are escaped so that our
//! reader gives back exactly the decoded characters (`&#13;` for CR; `&#9;`, `&#10;` in
//! attribute values).

use std::ops::Range;

use super::records::{self as r, Cursor};
use crate::error::{Error, Result};
use crate::xml::{ReaderQuotas, XML_NAMESPACE};

/// The single-letter prefixes of the `…A` to `…Z` record ranges.
const LETTERS: [&str; 26] = [
    "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t", "u", "v", "w",
    "x", "y", "z",
];

/// Resolves `DictionaryString` ids (the static table, plus the session's for odd ids).
pub(crate) trait Strings {
    /// The string of wire id `id`, or `None` if the id is not defined (yet).
    fn get(&self, id: u32) -> Option<&str>;
}

/// The [MC-NBFS] static dictionary alone (`application/soap+msbin1`).
pub(crate) struct StaticStrings;

impl Strings for StaticStrings {
    fn get(&self, id: u32) -> Option<&str> {
        super::static_string(id)
    }
}

/// What the decoded records must form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// A document: exactly one root element; only whitespace text and comments beside it.
    Document,
    /// Any sequence of elements, text and comments (the [MC-NBFX] §3 examples).
    Fragment,
}

/// Decodes the records of `input` to text XML.
pub(crate) fn decode(input: &[u8], strings: &dyn Strings, quotas: &ReaderQuotas, shape: Shape) -> Result<Vec<u8>> {
    if input.len() > quotas.max_total_bytes {
        return Err(Error::quota_exceeded(format!(
            "binary XML input of {} bytes exceeds max_total_bytes ({})",
            input.len(),
            quotas.max_total_bytes
        )));
    }
    let mut decoder = Decoder {
        cur: Cursor::new(input),
        strings,
        quotas: *quotas,
        out: Vec::with_capacity(input.len().saturating_mul(2).min(quotas.max_total_bytes)),
        open: Vec::new(),
        bindings: Vec::new(),
        roots: 0,
        shape,
        text_run: 0,
        scratch: String::new(),
    };
    decoder.run()?;
    Ok(decoder.out)
}

/// An open element: its qualified name (a range of the output) and where its namespace
/// declarations start in the bindings.
struct Open {
    name: Range<usize>,
    bindings: usize,
}

/// One attribute record of a start tag.
enum Attr<'x> {
    Xmlns { prefix: &'x str, uri: &'x str },
    Plain { prefix: &'x str, local: &'x str, value: String },
}

struct Decoder<'x> {
    cur: Cursor<'x>,
    strings: &'x dyn Strings,
    quotas: ReaderQuotas,
    out: Vec<u8>,
    open: Vec<Open>,
    /// Namespace bindings in scope (prefix, URI), innermost last; `""` = default namespace.
    bindings: Vec<(&'x str, &'x str)>,
    roots: usize,
    shape: Shape,
    /// Bytes of the text node being written (adjacent text records merge into one node).
    text_run: usize,
    scratch: String,
}

impl<'x> Decoder<'x> {
    fn run(&mut self) -> Result<()> {
        while !self.cur.is_empty() {
            let at = self.cur.position();
            let record = self.cur.u8()?;
            match record {
                r::END_ELEMENT => self.close()?,
                r::COMMENT => {
                    let text = self.cur.string()?;
                    self.comment(text)?;
                }
                r::ARRAY => self.array()?,
                r::SHORT_ATTRIBUTE..=0x3F => {
                    return Err(Error::invalid_format(format!(
                        "attribute record 0x{record:02X} at offset {at} does not follow an element record"
                    )));
                }
                r::SHORT_ELEMENT..=0x77 => {
                    let (prefix, local) = self.element_name(record)?;
                    let attrs = self.attributes()?;
                    self.start_tag(prefix, local, &attrs)?;
                }
                r::ZERO_TEXT..=r::LAST_TEXT => self.content_text(record, at)?,
                _ => return Err(Error::invalid_format(format!("unknown record type 0x{record:02X} at offset {at}"))),
            }
        }
        if let Some(open) = self.open.last() {
            let name = String::from_utf8_lossy(self.out.get(open.name.clone()).unwrap_or_default()).into_owned();
            return Err(Error::invalid_format(format!(
                "unexpected end of binary XML: {} element(s) not closed (innermost <{name}>)",
                self.open.len()
            )));
        }
        if self.shape == Shape::Document && self.roots == 0 {
            return Err(Error::invalid_format("the binary XML document has no root element"));
        }
        Ok(())
    }

    fn dictionary(&mut self) -> Result<&'x str> {
        let at = self.cur.position();
        let id = self.cur.int31()?;
        self.strings.get(id).ok_or_else(|| {
            let which = if id % 2 == 0 { "static" } else { "session" };
            Error::invalid_format(format!("{which} dictionary id {id} (0x{id:X}) at offset {at} is not defined"))
        })
    }

    /// The (prefix, local name) of element record `record` (0x40..=0x77).
    fn element_name(&mut self, record: u8) -> Result<(&'x str, &'x str)> {
        Ok(match record {
            r::SHORT_ELEMENT => ("", self.cur.string()?),
            r::ELEMENT => (self.cur.string()?, self.cur.string()?),
            r::SHORT_DICTIONARY_ELEMENT => ("", self.dictionary()?),
            r::DICTIONARY_ELEMENT => (self.cur.string()?, self.dictionary()?),
            r::PREFIX_DICTIONARY_ELEMENT_A..=0x5D => {
                (letter(record - r::PREFIX_DICTIONARY_ELEMENT_A), self.dictionary()?)
            }
            _ => (letter(record.saturating_sub(r::PREFIX_ELEMENT_A)), self.cur.string()?),
        })
    }

    /// The attribute records that follow an element record.
    fn attributes(&mut self) -> Result<Vec<Attr<'x>>> {
        let mut attrs = Vec::new();
        let (mut plain, mut declarations) = (0usize, 0usize);
        while let Some(record @ r::SHORT_ATTRIBUTE..=0x3F) = self.cur.peek() {
            self.cur.u8()?;
            if (r::SHORT_XMLNS_ATTRIBUTE..=r::DICTIONARY_XMLNS_ATTRIBUTE).contains(&record) {
                declarations += 1;
                if self.bindings.len().saturating_add(declarations) > self.quotas.max_namespaces {
                    return Err(Error::quota_exceeded(format!(
                        "namespace quota exceeded: more than max_namespaces ({}) namespace declarations in scope",
                        self.quotas.max_namespaces
                    )));
                }
            }
            let attr = match record {
                r::SHORT_XMLNS_ATTRIBUTE => Attr::Xmlns { prefix: "", uri: self.cur.string()? },
                r::XMLNS_ATTRIBUTE => Attr::Xmlns { prefix: self.cur.string()?, uri: self.cur.string()? },
                r::SHORT_DICTIONARY_XMLNS_ATTRIBUTE => Attr::Xmlns { prefix: "", uri: self.dictionary()? },
                r::DICTIONARY_XMLNS_ATTRIBUTE => Attr::Xmlns { prefix: self.cur.string()?, uri: self.dictionary()? },
                _ => {
                    plain += 1;
                    if plain > self.quotas.max_attributes {
                        return Err(Error::quota_exceeded(format!(
                            "attribute quota exceeded: element has more than max_attributes ({}) attributes",
                            self.quotas.max_attributes
                        )));
                    }
                    let (prefix, local) = match record {
                        r::SHORT_ATTRIBUTE => ("", self.cur.string()?),
                        r::ATTRIBUTE => (self.cur.string()?, self.cur.string()?),
                        r::SHORT_DICTIONARY_ATTRIBUTE => ("", self.dictionary()?),
                        r::DICTIONARY_ATTRIBUTE => (self.cur.string()?, self.dictionary()?),
                        r::PREFIX_DICTIONARY_ATTRIBUTE_A..=0x25 => {
                            (letter(record - r::PREFIX_DICTIONARY_ATTRIBUTE_A), self.dictionary()?)
                        }
                        _ => (letter(record.saturating_sub(r::PREFIX_ATTRIBUTE_A)), self.cur.string()?),
                    };
                    let value = self.attribute_value()?;
                    Attr::Plain { prefix, local, value }
                }
            };
            attrs.push(attr);
        }
        Ok(attrs)
    }

    /// The one text record (or list) that is an attribute's value.
    fn attribute_value(&mut self) -> Result<String> {
        let at = self.cur.position();
        let record = self.cur.u8()?;
        if !(r::ZERO_TEXT..=r::LAST_TEXT).contains(&record) || record & r::WITH_END_ELEMENT != 0 {
            return Err(Error::invalid_format(format!(
                "record 0x{record:02X} at offset {at} cannot be an attribute value (a text record without end element is needed)"
            )));
        }
        let mut value = String::new();
        self.text_value(record, &mut value, self.quotas.max_text_bytes, false)?;
        Ok(value)
    }

    /// Validates a start tag, enters its namespace scope and writes it.
    fn start_tag(&mut self, prefix: &'x str, local: &'x str, attrs: &[Attr<'x>]) -> Result<()> {
        if self.open.len() >= self.quotas.max_depth {
            return Err(Error::quota_exceeded(format!(
                "depth quota exceeded: element at depth {} exceeds max_depth ({})",
                self.open.len() + 1,
                self.quotas.max_depth
            )));
        }
        if self.open.is_empty() {
            self.roots += 1;
            if self.shape == Shape::Document && self.roots > 1 {
                return Err(Error::invalid_format("a binary XML document has only one root element"));
            }
        }
        self.check_qname("element", prefix, local)?;
        if prefix == "xmlns" {
            return Err(Error::invalid_format("the prefix 'xmlns' cannot name an element"));
        }
        let mark = self.bindings.len();
        for attr in attrs {
            if let Attr::Xmlns { prefix, uri } = *attr {
                self.declare(mark, prefix, uri)?;
            }
        }
        if self.bindings.len() > self.quotas.max_namespaces {
            return Err(Error::quota_exceeded(format!(
                "namespace quota exceeded: more than max_namespaces ({}) namespace declarations in scope",
                self.quotas.max_namespaces
            )));
        }
        self.resolve(prefix, true)?;
        let mut names: Vec<(&str, &str)> = Vec::new();
        for attr in attrs {
            if let Attr::Plain { prefix, local, .. } = attr {
                self.check_qname("attribute", prefix, local)?;
                if *prefix == "xmlns" || (prefix.is_empty() && *local == "xmlns") {
                    return Err(Error::invalid_format(
                        "a namespace declaration must use an xmlns record, not an attribute record",
                    ));
                }
                names.push((self.resolve(prefix, false)?, local));
            }
        }
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w.first() == w.get(1)) {
            let (ns, local) = w.first().copied().unwrap_or_default();
            return Err(Error::invalid_format(format!("duplicate attribute {{{ns}}}{local} on one element")));
        }
        self.write_start_tag(prefix, local, attrs, mark)
    }

    fn write_start_tag(&mut self, prefix: &str, local: &str, attrs: &[Attr<'_>], mark: usize) -> Result<()> {
        self.reserve(1 + qname_len(prefix, local))?;
        self.out.push(b'<');
        let start = self.out.len();
        push_qname(&mut self.out, prefix, local);
        let name = start..self.out.len();
        for attr in attrs {
            match attr {
                Attr::Xmlns { prefix, uri } => {
                    self.reserve(7 + usize::from(!prefix.is_empty()) + prefix.len() + 2 + escaped_len(uri, true))?;
                    self.out.extend_from_slice(b" xmlns");
                    if !prefix.is_empty() {
                        self.out.push(b':');
                        self.out.extend_from_slice(prefix.as_bytes());
                    }
                    self.out.extend_from_slice(b"=\"");
                    escape_into(&mut self.out, uri, true);
                    self.out.push(b'"');
                }
                Attr::Plain { prefix, local, value } => {
                    self.reserve(1 + qname_len(prefix, local) + 3 + escaped_len(value, true))?;
                    self.out.push(b' ');
                    push_qname(&mut self.out, prefix, local);
                    self.out.extend_from_slice(b"=\"");
                    escape_into(&mut self.out, value, true);
                    self.out.push(b'"');
                }
            }
        }
        self.reserve(1)?;
        self.out.push(b'>');
        self.open.push(Open { name, bindings: mark });
        self.text_run = 0;
        Ok(())
    }

    /// Checks and enters one namespace declaration of the element whose bindings start at `mark`.
    fn declare(&mut self, mark: usize, prefix: &'x str, uri: &'x str) -> Result<()> {
        self.check_name_len("namespace prefix", prefix)?;
        self.check_name_len("namespace URI", uri)?;
        r::check_declaration(prefix, uri)?;
        if self.bindings.get(mark..).unwrap_or_default().iter().any(|(p, _)| *p == prefix) {
            return Err(Error::invalid_format(format!("namespace prefix '{prefix}' declared twice on one element")));
        }
        self.bindings.push((prefix, uri));
        Ok(())
    }

    /// The namespace of `prefix` (`""` for an unprefixed attribute, or an unprefixed element
    /// with no default namespace); an undeclared prefix is `InvalidFormat`.
    fn resolve(&self, prefix: &str, element: bool) -> Result<&'x str> {
        if prefix.is_empty() && !element {
            return Ok("");
        }
        if prefix == "xml" {
            return Ok(XML_NAMESPACE);
        }
        match self.bindings.iter().rev().find(|(p, _)| *p == prefix) {
            Some((_, uri)) => Ok(uri),
            None if prefix.is_empty() => Ok(""),
            None => Err(Error::invalid_format(format!("the prefix '{prefix}' is not bound to a namespace"))),
        }
    }

    fn check_qname(&self, what: &str, prefix: &str, local: &str) -> Result<()> {
        if !r::is_ncname(local) || (!prefix.is_empty() && !r::is_ncname(prefix)) {
            let shown = if prefix.is_empty() { local.to_owned() } else { format!("{prefix}:{local}") };
            return Err(Error::invalid_format(format!("'{}' is not a valid {what} name", shown.escape_debug())));
        }
        if qname_len(prefix, local) > self.quotas.max_name_bytes {
            return Err(Error::quota_exceeded(format!(
                "{what} name of {} bytes exceeds max_name_bytes ({})",
                qname_len(prefix, local),
                self.quotas.max_name_bytes
            )));
        }
        Ok(())
    }

    fn check_name_len(&self, what: &str, s: &str) -> Result<()> {
        if s.len() > self.quotas.max_name_bytes {
            return Err(Error::quota_exceeded(format!(
                "{what} of {} bytes exceeds max_name_bytes ({})",
                s.len(),
                self.quotas.max_name_bytes
            )));
        }
        Ok(())
    }

    fn close(&mut self) -> Result<()> {
        let open = self.open.pop().ok_or_else(|| Error::invalid_format("EndElement record with no open element"))?;
        self.reserve(3 + open.name.len())?;
        self.out.extend_from_slice(b"</");
        self.out.extend_from_within(open.name);
        self.out.push(b'>');
        self.bindings.truncate(open.bindings);
        self.text_run = 0;
        Ok(())
    }

    fn comment(&mut self, text: &str) -> Result<()> {
        r::check_xml_chars(text, "a comment")?;
        if text.contains("--") || text.ends_with('-') {
            return Err(Error::invalid_format("a comment cannot contain '--' or end with '-'"));
        }
        if text.len() > self.quotas.max_text_bytes {
            return Err(Error::quota_exceeded(format!(
                "comment of {} bytes exceeds max_text_bytes ({})",
                text.len(),
                self.quotas.max_text_bytes
            )));
        }
        self.reserve(7 + text.len())?;
        self.out.extend_from_slice(b"<!--");
        self.out.extend_from_slice(text.as_bytes());
        self.out.extend_from_slice(b"-->");
        self.text_run = 0;
        Ok(())
    }

    /// A text record in element content (or between top-level nodes).
    fn content_text(&mut self, record: u8, at: usize) -> Result<()> {
        let end = record & r::WITH_END_ELEMENT != 0;
        if record == r::START_LIST_TEXT | r::WITH_END_ELEMENT {
            return Err(Error::invalid_format(format!("reserved record type 0x{record:02X} at offset {at}")));
        }
        if self.open.is_empty() && end {
            return Err(Error::invalid_format(format!(
                "text record 0x{record:02X} at offset {at} closes an element, but none is open"
            )));
        }
        let mut text = std::mem::take(&mut self.scratch);
        text.clear();
        let limit = self.quotas.max_text_bytes.saturating_sub(self.text_run);
        let result = self.text_value(record & !r::WITH_END_ELEMENT, &mut text, limit, false);
        let result = result.and_then(|()| self.write_text(&text));
        self.scratch = text;
        result?;
        if end { self.close() } else { Ok(()) }
    }

    fn write_text(&mut self, text: &str) -> Result<()> {
        if self.open.is_empty() && self.shape == Shape::Document && !crate::xml::is_whitespace(text) {
            return Err(Error::invalid_format("text outside the root element"));
        }
        self.reserve(escaped_len(text, false))?;
        escape_into(&mut self.out, text, false);
        self.text_run = self.text_run.saturating_add(text.len());
        Ok(())
    }

    /// Appends the characters of text record `record` (without its end-element bit) to
    /// `buf`, keeping `buf` within `limit` bytes.
    fn text_value(&mut self, record: u8, buf: &mut String, limit: usize, in_list: bool) -> Result<()> {
        let at = self.cur.position();
        let max_text = self.quotas.max_text_bytes;
        let fits = move |buf: &String, more: usize| {
            if buf.len().saturating_add(more) > limit {
                Err(Error::quota_exceeded(format!("text node exceeds max_text_bytes ({max_text}) at offset {at}")))
            } else {
                Ok(())
            }
        };
        match record {
            r::ZERO_TEXT => buf.push('0'),
            r::ONE_TEXT => buf.push('1'),
            r::FALSE_TEXT => buf.push_str("false"),
            r::TRUE_TEXT => buf.push_str("true"),
            r::INT8_TEXT => r::format_int(buf, i8::from_le_bytes(self.cur.array()?)),
            r::INT16_TEXT => r::format_int(buf, i16::from_le_bytes(self.cur.array()?)),
            r::INT32_TEXT => r::format_int(buf, i32::from_le_bytes(self.cur.array()?)),
            r::INT64_TEXT => r::format_int(buf, i64::from_le_bytes(self.cur.array()?)),
            r::UINT64_TEXT => r::format_int(buf, self.cur.u64_le()?),
            r::FLOAT_TEXT => r::format_f32(buf, f32::from_le_bytes(self.cur.array()?)),
            r::DOUBLE_TEXT => r::format_f64(buf, f64::from_le_bytes(self.cur.array()?)),
            r::DECIMAL_TEXT => r::format_decimal(buf, &self.cur.array()?)?,
            r::DATETIME_TEXT => r::format_datetime(buf, self.cur.u64_le()?)?,
            r::TIMESPAN_TEXT => r::format_timespan(buf, i64::from_le_bytes(self.cur.array()?)),
            r::CHARS8_TEXT | r::CHARS16_TEXT | r::CHARS32_TEXT => {
                let len = self.length(record, r::CHARS8_TEXT)?;
                let bytes = self.cur.take(len)?;
                fits(buf, len)?;
                let s = std::str::from_utf8(bytes)
                    .map_err(|e| Error::invalid_format(format!("text at offset {at} is not UTF-8: {e}")))?;
                r::check_xml_chars(s, "text")?;
                buf.push_str(s);
            }
            r::BYTES8_TEXT | r::BYTES16_TEXT | r::BYTES32_TEXT => {
                let len = self.length(record, r::BYTES8_TEXT)?;
                let bytes = self.cur.take(len)?;
                fits(buf, r::base64_len(len))?;
                r::base64_into(buf, bytes);
            }
            r::UNICODE_CHARS8_TEXT | r::UNICODE_CHARS16_TEXT | r::UNICODE_CHARS32_TEXT => {
                let len = self.length(record, r::UNICODE_CHARS8_TEXT)?;
                let bytes = self.cur.take(len)?;
                if len % 2 != 0 {
                    return Err(Error::invalid_format(format!("UTF-16 text of odd length {len} at offset {at}")));
                }
                let units = bytes.chunks_exact(2).map(|c| <[u8; 2]>::try_from(c).map_or(0, u16::from_le_bytes));
                for c in char::decode_utf16(units) {
                    let c = c.map_err(|_| {
                        Error::invalid_format(format!("unpaired surrogate in UTF-16 text at offset {at}"))
                    })?;
                    if !r::is_xml_char(c) {
                        return Err(Error::invalid_format(format!(
                            "text holds U+{:04X}, which XML 1.0 cannot carry",
                            c as u32
                        )));
                    }
                    fits(buf, c.len_utf8())?;
                    buf.push(c);
                }
            }
            r::EMPTY_TEXT => {}
            r::DICTIONARY_TEXT => {
                let s = self.dictionary()?;
                fits(buf, s.len())?;
                r::check_xml_chars(s, "dictionary text")?;
                buf.push_str(s);
            }
            r::UNIQUE_ID_TEXT => {
                buf.push_str("urn:uuid:");
                r::format_uuid(buf, &self.cur.array()?);
            }
            r::UUID_TEXT => r::format_uuid(buf, &self.cur.array()?),
            r::BOOL_TEXT => match self.cur.u8()? {
                0 => buf.push_str("false"),
                1 => buf.push_str("true"),
                b => return Err(Error::invalid_format(format!("BoolText value {b} at offset {at} is not 0 or 1"))),
            },
            r::QNAME_DICTIONARY_TEXT => {
                let p = self.cur.u8()?;
                if p > 25 {
                    return Err(Error::invalid_format(format!(
                        "QNameDictionaryText prefix {p} at offset {at} is not 0..25"
                    )));
                }
                let name = self.dictionary()?;
                fits(buf, 2 + name.len())?;
                r::check_xml_chars(name, "dictionary text")?;
                buf.push(r::letter(p));
                buf.push(':');
                buf.push_str(name);
            }
            r::START_LIST_TEXT if !in_list => self.list(buf, limit)?,
            _ => {
                return Err(Error::invalid_format(format!(
                    "record 0x{record:02X} at offset {} is not allowed here",
                    at.saturating_sub(1)
                )));
            }
        }
        fits(buf, 0)
    }

    /// The items of a StartListText … EndListText, separated by single spaces.
    fn list(&mut self, buf: &mut String, limit: usize) -> Result<()> {
        let mut first = true;
        loop {
            let at = self.cur.position();
            let record = self.cur.u8()?;
            if record == r::END_LIST_TEXT {
                return Ok(());
            }
            if !(r::ZERO_TEXT..=r::LAST_TEXT).contains(&record) || record & r::WITH_END_ELEMENT != 0 {
                return Err(Error::invalid_format(format!(
                    "record 0x{record:02X} at offset {at} cannot be an item of a text list"
                )));
            }
            if !first {
                buf.push(' ');
            }
            first = false;
            self.text_value(record, buf, limit, true)?;
        }
    }

    /// The length field of a *8/*16/*32 text record (`base` is the 8-bit form).
    fn length(&mut self, record: u8, base: u8) -> Result<usize> {
        let at = self.cur.position();
        let len = match record.wrapping_sub(base) {
            0 => usize::from(self.cur.u8()?),
            2 => usize::from(self.cur.u16_le()?),
            _ => {
                let n = self.cur.u32_le()?;
                if n > 0x7FFF_FFFF {
                    return Err(Error::invalid_format(format!("negative 32-bit length at offset {at}")));
                }
                n as usize
            }
        };
        if len > self.cur.remaining() {
            return Err(Error::invalid_format(format!(
                "truncated record: length {len} at offset {at} exceeds the {} remaining byte(s)",
                self.cur.remaining()
            )));
        }
        Ok(len)
    }

    /// An Array record: element, attributes, EndElement, value type, count, values.
    fn array(&mut self) -> Result<()> {
        let at = self.cur.position();
        let record = self.cur.u8()?;
        if !(r::SHORT_ELEMENT..=0x77).contains(&record) {
            return Err(Error::invalid_format(format!(
                "Array record at offset {at} does not start with an element record"
            )));
        }
        let (prefix, local) = self.element_name(record)?;
        let attrs = self.attributes()?;
        let end = self.cur.u8()?;
        if end != r::END_ELEMENT {
            return Err(Error::invalid_format(format!(
                "Array record at offset {at}: 0x{end:02X} where EndElement belongs"
            )));
        }
        let value_type = self.cur.u8()?;
        let size = match value_type & !r::WITH_END_ELEMENT {
            _ if value_type & r::WITH_END_ELEMENT == 0 => 0,
            r::BOOL_TEXT => 1,
            r::INT16_TEXT => 2,
            r::INT32_TEXT | r::FLOAT_TEXT => 4,
            r::INT64_TEXT | r::DOUBLE_TEXT | r::DATETIME_TEXT | r::TIMESPAN_TEXT => 8,
            r::DECIMAL_TEXT | r::UUID_TEXT => 16,
            _ => 0,
        };
        if size == 0 {
            return Err(Error::invalid_format(format!(
                "Array record at offset {at}: 0x{value_type:02X} is not an array value type"
            )));
        }
        let count = self.cur.int31()? as usize;
        if count == 0 || count.saturating_mul(size) > self.cur.remaining() {
            return Err(Error::invalid_format(format!(
                "Array record at offset {at}: {count} value(s) of {size} bytes do not fit the {} remaining byte(s)",
                self.cur.remaining()
            )));
        }
        for _ in 0..count {
            self.start_tag(prefix, local, &attrs)?;
            self.content_text(value_type, self.cur.position())?;
        }
        Ok(())
    }

    /// Fails unless `n` more output bytes stay within `max_total_bytes`.
    fn reserve(&self, n: usize) -> Result<()> {
        if self.out.len().saturating_add(n) > self.quotas.max_total_bytes {
            return Err(Error::quota_exceeded(format!(
                "decoded XML would exceed max_total_bytes ({})",
                self.quotas.max_total_bytes
            )));
        }
        Ok(())
    }
}

fn letter(offset: u8) -> &'static str {
    LETTERS.get(usize::from(offset)).copied().unwrap_or("a")
}

fn qname_len(prefix: &str, local: &str) -> usize {
    if prefix.is_empty() { local.len() } else { prefix.len() + 1 + local.len() }
}

fn push_qname(out: &mut Vec<u8>, prefix: &str, local: &str) {
    if !prefix.is_empty() {
        out.extend_from_slice(prefix.as_bytes());
        out.push(b':');
    }
    out.extend_from_slice(local.as_bytes());
}

/// The escape of byte `b` in text (`attr` = false) or in a double-quoted attribute value.
fn escape_of(b: u8, attr: bool) -> Option<&'static [u8]> {
    match b {
        b'<' => Some(b"&lt;"),
        b'>' => Some(b"&gt;"),
        b'&' => Some(b"&amp;"),
        b'\r' => Some(b"&#13;"),
        b'"' if attr => Some(b"&quot;"),
        b'\t' if attr => Some(b"&#9;"),
        b'\n' if attr => Some(b"&#10;"),
        _ => None,
    }
}

fn escaped_len(s: &str, attr: bool) -> usize {
    s.bytes().map(|b| escape_of(b, attr).map_or(1, <[u8]>::len)).sum()
}

/// Appends `s` escaped so that an XML reader gives back exactly `s`.
fn escape_into(out: &mut Vec<u8>, s: &str, attr: bool) {
    let bytes = s.as_bytes();
    let mut copied = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if let Some(escape) = escape_of(b, attr) {
            out.extend_from_slice(bytes.get(copied..i).unwrap_or_default());
            out.extend_from_slice(escape);
            copied = i + 1;
        }
    }
    out.extend_from_slice(bytes.get(copied..).unwrap_or_default());
}
