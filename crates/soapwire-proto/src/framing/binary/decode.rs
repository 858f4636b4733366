//! Binary to text: the [MC-NBFX] record decoder.
//!
//! This module owns the reading of records and the writing of the text XML they stand for.
//! The decoder is a single pass over the input that appends UTF-8 markup to one output
//! buffer; it keeps only the stack of open elements (as byte ranges of the output, so a
//! closing tag is a copy) and the namespace bindings in scope (borrowed from the input or
//! the dictionaries, never copied). The attributes of the current start tag and the text
//! being decoded use buffers that live as long as the decoder, so a message costs a handful
//! of allocations, not one per attribute or text node.
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
    // Text is larger than its records: about 3.5 times for a dictionary-heavy envelope,
    // about 1.3 times for base64 in Bytes records. The fixed part covers small envelopes
    // without a regrowth; the factor keeps large ones at one or two.
    let capacity = input.len().saturating_mul(2).saturating_add(512).min(quotas.max_total_bytes);
    let mut decoder = Decoder {
        cur: Cursor::new(input),
        strings,
        quotas: *quotas,
        out: Vec::with_capacity(capacity),
        // Sized for a typical envelope: one allocation each, no regrowth.
        open: Vec::with_capacity(16),
        bindings: Vec::with_capacity(16),
        roots: 0,
        shape,
        text_run: 0,
        scratch: String::with_capacity(128),
        attrs: Vec::with_capacity(8),
        values: String::with_capacity(128),
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
    Xmlns {
        prefix: &'x str,
        uri: &'x str,
    },
    /// `value` is a range of [`Decoder::values`].
    Plain {
        prefix: &'x str,
        local: &'x str,
        value: Range<usize>,
    },
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
    /// The characters of the text record being decoded.
    scratch: String,
    /// The attribute records of the start tag being decoded (see [`Decoder::attributes`]).
    attrs: Vec<Attr<'x>>,
    /// The values of the plain attributes in `attrs`, back to back.
    values: String,
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
                    let result = self.start_tag(prefix, local, &attrs);
                    self.attrs = attrs;
                    result?;
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

    /// The attribute records that follow an element record, in the decoder's `attrs` buffer
    /// (taken out, to be handed back once the start tag is written) and their values in
    /// `values`.
    fn attributes(&mut self) -> Result<Vec<Attr<'x>>> {
        let mut attrs = std::mem::take(&mut self.attrs);
        attrs.clear();
        self.values.clear();
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

    /// The one text record (or list) that is an attribute's value, appended to `values`.
    fn attribute_value(&mut self) -> Result<Range<usize>> {
        let at = self.cur.position();
        let record = self.cur.u8()?;
        if !(r::ZERO_TEXT..=r::LAST_TEXT).contains(&record) || record & r::WITH_END_ELEMENT != 0 {
            return Err(Error::invalid_format(format!(
                "record 0x{record:02X} at offset {at} cannot be an attribute value (a text record without end element is needed)"
            )));
        }
        // `text_value` bounds the whole buffer it appends to, hence the limit past `start`.
        let mut values = std::mem::take(&mut self.values);
        let start = values.len();
        let result = self.text_value(record, &mut values, start.saturating_add(self.quotas.max_text_bytes), false);
        let end = values.len();
        self.values = values;
        result.map(|()| start..end)
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
        let mut plain = 0;
        for attr in attrs {
            if let Attr::Plain { prefix, local, .. } = attr {
                self.check_qname("attribute", prefix, local)?;
                if *prefix == "xmlns" || (prefix.is_empty() && *local == "xmlns") {
                    return Err(Error::invalid_format(
                        "a namespace declaration must use an xmlns record, not an attribute record",
                    ));
                }
                self.resolve(prefix, false)?;
                plain += 1;
            }
        }
        // Most start tags have at most one attribute, which needs no comparison.
        if plain > 1 {
            let mut names: Vec<(&str, &str)> = Vec::with_capacity(plain);
            for attr in attrs {
                if let Attr::Plain { prefix, local, .. } = attr {
                    names.push((self.resolve(prefix, false)?, local));
                }
            }
            names.sort_unstable();
            if let Some(w) = names.windows(2).find(|w| w.first() == w.get(1)) {
                let (ns, local) = w.first().copied().unwrap_or_default();
                return Err(Error::invalid_format(format!("duplicate attribute {{{ns}}}{local} on one element")));
            }
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
                    self.reserve_escaped(7 + usize::from(!prefix.is_empty()) + prefix.len() + 2, uri, true)?;
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
                    let value = self.values.get(value.clone()).unwrap_or_default();
                    self.reserve_escaped(1 + qname_len(prefix, local) + 3, value, true)?;
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
        let limit = self.quotas.max_text_bytes.saturating_sub(self.text_run);
        let base = record & !r::WITH_END_ELEMENT;
        if matches!(base, r::CHARS8_TEXT | r::CHARS16_TEXT | r::CHARS32_TEXT) {
            // Most text is characters: escaped straight from the input, without a copy.
            let text = self.chars_text(base, limit)?;
            self.write_text(text)?;
        } else {
            let mut text = std::mem::take(&mut self.scratch);
            text.clear();
            let result = self.text_value(base, &mut text, limit, false);
            let result = result.and_then(|()| self.write_text(&text));
            self.scratch = text;
            result?;
        }
        if end { self.close() } else { Ok(()) }
    }

    /// The characters of a Chars8/16/32Text record (`record` without its end-element bit),
    /// borrowed from the input; `room` is how many bytes the text node may still take.
    fn chars_text(&mut self, record: u8, room: usize) -> Result<&'x str> {
        let at = self.cur.position();
        let len = self.length(record, r::CHARS8_TEXT)?;
        let bytes = self.cur.take(len)?;
        if len > room {
            return Err(Error::quota_exceeded(format!(
                "text node exceeds max_text_bytes ({}) at offset {at}",
                self.quotas.max_text_bytes
            )));
        }
        let s = std::str::from_utf8(bytes)
            .map_err(|e| Error::invalid_format(format!("text at offset {at} is not UTF-8: {e}")))?;
        r::check_xml_chars(s, "text")?;
        Ok(s)
    }

    fn write_text(&mut self, text: &str) -> Result<()> {
        if self.open.is_empty() && self.shape == Shape::Document && !crate::xml::is_whitespace(text) {
            return Err(Error::invalid_format("text outside the root element"));
        }
        self.reserve_escaped(0, text, false)?;
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
                let s = self.chars_text(record, limit.saturating_sub(buf.len()))?;
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
        let result = self.array_items(at, prefix, local, &attrs);
        self.attrs = attrs;
        result
    }

    /// The rest of an Array record whose element record (at offset `at`) and attributes
    /// are read: EndElement, value type, count, values.
    fn array_items(&mut self, at: usize, prefix: &'x str, local: &'x str, attrs: &[Attr<'x>]) -> Result<()> {
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
            self.start_tag(prefix, local, attrs)?;
            self.content_text(value_type, self.cur.position())?;
        }
        Ok(())
    }

    /// Like [`reserve`](Self::reserve) for `fixed` bytes of markup and `s` escaped, without
    /// measuring the escaped `s` unless it could matter: escaping at most sextuples a byte
    /// (`&quot;`), so far from the quota the plain length decides.
    fn reserve_escaped(&self, fixed: usize, s: &str, attr: bool) -> Result<()> {
        let worst = self.out.len().saturating_add(fixed).saturating_add(s.len().saturating_mul(6));
        if worst <= self.quotas.max_total_bytes { Ok(()) } else { self.reserve(fixed + escaped_len(s, attr)) }
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
    r::LETTERS.get(usize::from(offset)).copied().unwrap_or("a")
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

/// [`escape_of`] as a table: bit 1 for the bytes escaped in text, bit 2 for those escaped
/// in attribute values.
static ESCAPED: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b: u8 = 0;
    loop {
        table[b as usize] = (matches!(b, b'<' | b'>' | b'&' | b'\r') as u8)
            | (matches!(b, b'<' | b'>' | b'&' | b'\r' | b'"' | b'\t' | b'\n') as u8) << 1;
        if b == u8::MAX {
            break table;
        }
        b += 1;
    }
};

/// The index of the first byte of `bytes` that [`escape_of`] replaces, or `bytes.len()`.
/// Most strings need no escape at all, so whole 16-byte chunks are tested first with a
/// branch-free test the compiler vectorises; only the chunk with an escape, or the last
/// few bytes, are looked at byte by byte (through [`ESCAPED`]).
fn first_escape(bytes: &[u8], attr: bool) -> usize {
    const CHUNK: usize = 16;
    let special = |b: u8| {
        (b == b'<') | (b == b'>') | (b == b'&') | (b == b'\r') | (attr & ((b == b'"') | (b == b'\t') | (b == b'\n')))
    };
    let clean = bytes.chunks_exact(CHUNK).take_while(|chunk| !chunk.iter().fold(false, |acc, &b| acc | special(b)));
    let clean = clean.count() * CHUNK;
    let bit = if attr { 2 } else { 1 };
    let rest = bytes.get(clean..).unwrap_or_default();
    clean + rest.iter().position(|&b| ESCAPED[usize::from(b)] & bit != 0).unwrap_or(rest.len())
}

/// Appends `s` escaped so that an XML reader gives back exactly `s`.
fn escape_into(out: &mut Vec<u8>, s: &str, attr: bool) {
    let mut rest = s.as_bytes();
    loop {
        let i = first_escape(rest, attr);
        let (clean, from) = rest.split_at(i);
        out.extend_from_slice(clean);
        let Some((&b, after)) = from.split_first() else { return };
        out.extend_from_slice(escape_of(b, attr).unwrap_or(&[b]));
        rest = after;
    }
}
