//! Text to binary: the [MC-NBFX] record encoder.
//!
//! This module owns the reading of text XML (under the same rules as our reader: UTF-8
//! only, no DTD, only the predefined entities, one root element, declared prefixes, unique
//! attributes) and the choice of records for it. The document is read by quick-xml (the
//! project never tokenizes XML by hand), event by event, in document order.
//!
//! * An element or attribute becomes the shortest record for its prefix: no prefix →
//!   `Short…`; one lowercase letter → `Prefix…A`..`Z`; any other prefix → the general
//!   record with the prefix as a string. Prefixes are always sent as written, because NBFX
//!   has no dictionary form for them.
//! * Its local name is a `DictionaryString` when the dictionary (see [`Names`]) has an id
//!   for it, an inline string otherwise; the same for the URI of a namespace declaration.
//! * Namespace declarations and attributes keep their document order, and every
//!   declaration is sent, even one that repeats a binding already in scope, so the decoded
//!   document declares exactly what the text did.
//! * Text (character data, references and CDATA merged, line ends normalised as XML 1.0
//!   says) becomes one text record per node, chosen by `records::text_record_for`; text
//!   directly followed by its element's end tag uses the `…WithEndElement` form.
//! * Comments are kept (Comment record); the XML declaration and processing instructions
//!   are dropped (NBFX cannot carry them), and so is whitespace outside the root element. The
//!   declaration is still checked as our reader checks it (at the start, well-formed, UTF-8).

use std::ops::Range;

use quick_xml::Reader;
use quick_xml::XmlVersion;
use quick_xml::escape::{resolve_xml_entity, unescape_with};
use quick_xml::events::{BytesDecl, BytesRef, BytesStart, Event};

use super::records::{self as r};
use crate::error::{Error, Result};

/// Which strings the encoder may send as `DictionaryString` ids.
pub(crate) trait Names {
    /// The id of a local name or namespace URI, if it is (or may now be added to) the
    /// dictionary. Called once per occurrence, in document order.
    fn name_id(&mut self, s: &str) -> Option<u32>;
    /// The id of a text node or attribute value that is exactly a dictionary string.
    fn text_id(&self, s: &str) -> Option<u32>;
}

/// The static dictionary only (`application/soap+msbin1`).
pub(crate) struct StaticNames;

impl Names for StaticNames {
    fn name_id(&mut self, s: &str) -> Option<u32> {
        super::static_id(s)
    }

    fn text_id(&self, s: &str) -> Option<u32> {
        super::static_id(s)
    }
}

/// Appends the NBFX records of text XML `xml` to `out`; on error `out` is left as it was.
pub(crate) fn encode(xml: &[u8], names: &mut dyn Names, out: &mut Vec<u8>) -> Result<()> {
    let start = out.len();
    // The records of an envelope take a third to a half of its text (markup shrinks to a
    // few bytes, text is copied), so this spares a fresh buffer its growth steps.
    out.reserve(xml.len() / 2);
    // The buffers start at sizes that hold a typical envelope, so that each costs one
    // allocation instead of a series of small regrowths.
    let mut encoder = Encoder {
        names,
        out,
        depth: 0,
        root_seen: false,
        text: String::with_capacity(256),
        scopes: Vec::with_capacity(8),
        scope_text: String::with_capacity(256),
        marks: Vec::with_capacity(16),
        // Only quick-xml's path uses it.
        attrs: Attrs::default(),
    };
    let result = encoder.run(xml);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

struct Encoder<'e> {
    names: &'e mut dyn Names,
    out: &'e mut Vec<u8>,
    depth: usize,
    root_seen: bool,
    /// Character data not yet written (it may still merge with the next end tag). One
    /// buffer for the whole document, cleared after each text record.
    text: String,
    /// Namespace bindings in scope, innermost last.
    scopes: Vec<Binding>,
    /// The prefixes and URIs of `scopes`, back to back: one buffer rather than two
    /// `String`s per declaration, since every header of an envelope declares its namespace.
    scope_text: String,
    /// Where each open element's bindings start in `scopes`.
    marks: Vec<usize>,
    /// The attributes of the start tag being encoded.
    attrs: Attrs,
}

/// A namespace binding in scope: `scope_text[prefix]` is bound to `scope_text[uri]`.
struct Binding {
    prefix: Range<usize>,
    uri: Range<usize>,
}

/// The attributes of one start tag read by quick-xml, in document order, their names and
/// values copied into one buffer. quick-xml's attributes borrow from an event that lives for
/// one step of the reading loop; copying them lets the encoder reuse this buffer for every
/// start tag instead of allocating a list per element.
#[derive(Default)]
struct Attrs {
    list: Vec<AttrSpan>,
    text: String,
}

/// One attribute as ranges of [`Attrs::text`]; a namespace declaration has an empty `local`
/// and its URI as `value`.
struct AttrSpan {
    xmlns: bool,
    prefix: Range<usize>,
    local: Range<usize>,
    value: Range<usize>,
}

/// One attribute of a start tag, as both readers hand it to [`Encoder::open`].
#[derive(Clone, Copy, Debug)]
pub(super) enum Attr<'t> {
    Xmlns { prefix: &'t str, uri: &'t str },
    Plain { prefix: &'t str, local: &'t str, value: &'t str },
}

impl Attrs {
    fn clear(&mut self) {
        self.list.clear();
        self.text.clear();
    }

    fn push(&mut self, xmlns: bool, prefix: &str, local: &str, value: &str) {
        let mut copy = |s: &str| {
            let start = self.text.len();
            self.text.push_str(s);
            start..self.text.len()
        };
        let span = AttrSpan { xmlns, prefix: copy(prefix), local: copy(local), value: copy(value) };
        self.list.push(span);
    }

    /// The attributes in document order.
    fn iter(&self) -> impl Iterator<Item = Attr<'_>> {
        let text = |range: &Range<usize>| self.text.get(range.clone()).unwrap_or_default();
        self.list.iter().map(move |a| {
            if a.xmlns {
                Attr::Xmlns { prefix: text(&a.prefix), uri: text(&a.value) }
            } else {
                Attr::Plain { prefix: text(&a.prefix), local: text(&a.local), value: text(&a.value) }
            }
        })
    }
}

impl Encoder<'_> {
    fn run(&mut self, xml: &[u8]) -> Result<()> {
        let xml = xml.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(xml);
        self.read(xml)?;
        self.flush_text(false)?;
        if self.depth > 0 {
            return Err(Error::invalid_format(format!(
                "unexpected end of input: {} element(s) not closed",
                self.depth
            )));
        }
        if !self.root_seen {
            return Err(Error::invalid_format("the document has no root element"));
        }
        Ok(())
    }

    /// Every event of quick-xml's reader.
    fn read(&mut self, xml: &[u8]) -> Result<()> {
        let mut reader = Reader::from_reader(xml);
        let config = reader.config_mut();
        config.check_end_names = true;
        config.check_comments = true;
        config.expand_empty_elements = false;
        config.allow_unmatched_ends = false;
        config.allow_dangling_amp = false;
        config.trim_text(false);
        let mut first = true;
        loop {
            let event = reader.read_event().map_err(|e| {
                Error::invalid_format(format!("malformed XML at byte {}: {e}", reader.error_position()))
            })?;
            let at_start = std::mem::replace(&mut first, false);
            match event {
                Event::Start(e) => self.start(&e)?,
                Event::Empty(e) => {
                    self.start(&e)?;
                    self.end()?;
                }
                Event::End(_) => self.end()?,
                Event::Text(t) => self.push_text(&t.xml10_content())?,
                Event::CData(c) => self.push_text(&c.xml10_content())?,
                Event::GeneralRef(reference) => self.push_text(&resolve_reference(&reference)?)?,
                Event::Comment(c) => {
                    self.flush_text(false)?;
                    let text = c.xml10_content();
                    r::check_xml_chars(&text, "a comment")?;
                    self.out.push(r::COMMENT);
                    self.string(&text)?;
                }
                Event::Decl(d) => check_declaration(&d, at_start)?,
                Event::PI(_) => {}
                Event::DocType(_) => {
                    return Err(Error::invalid_format("DTDs are not allowed (found a DOCTYPE declaration)"));
                }
                Event::Eof => return Ok(()),
            }
        }
    }

    fn push_text(&mut self, text: &str) -> Result<()> {
        r::check_xml_chars(text, "text")?;
        self.text.push_str(text);
        Ok(())
    }

    /// Writes the pending text as one record (`end`: merged with the end of its element).
    /// Returns whether a record was written.
    fn flush_text(&mut self, end: bool) -> Result<bool> {
        if self.text.is_empty() {
            return Ok(false);
        }
        let result = if self.depth == 0 {
            if crate::xml::is_whitespace(&self.text) {
                Ok(false)
            } else {
                Err(Error::invalid_format("text outside the root element"))
            }
        } else {
            let (text, names) = (&self.text, &self.names);
            r::write_text_record(self.out, &r::text_record_for(text, || names.text_id(text)), end).map(|()| true)
        };
        self.text.clear();
        result
    }

    /// A start tag read by quick-xml.
    fn start(&mut self, e: &BytesStart<'_>) -> Result<()> {
        self.enter_element()?;
        let (prefix, local) = split_qname(e.name().into_inner(), "element")?;
        check_element_prefix(prefix)?;
        // The attribute buffer is taken out while the records are written (`self` is
        // borrowed mutably for that), then handed back for the next start tag.
        let mut attrs = std::mem::take(&mut self.attrs);
        let result = read_attributes(e, &mut attrs).and_then(|()| self.open(prefix, local, || attrs.iter()));
        self.attrs = attrs;
        result
    }

    /// What every start tag does first: the pending text is written, and a second root is
    /// refused.
    fn enter_element(&mut self) -> Result<()> {
        self.flush_text(false)?;
        if self.depth == 0 {
            if self.root_seen {
                return Err(Error::invalid_format("a document has only one root element"));
            }
            self.root_seen = true;
        }
        Ok(())
    }

    /// Opens element `prefix:local` with attributes `attrs` (called once per pass over
    /// them): enters its namespace declarations, checks its names and writes its records.
    fn open<'a, I>(&mut self, prefix: &str, local: &str, attrs: impl Fn() -> I) -> Result<()>
    where
        I: Iterator<Item = Attr<'a>>,
    {
        let mark = self.scopes.len();
        for attr in attrs() {
            if let Attr::Xmlns { prefix, uri } = attr {
                r::check_declaration(prefix, uri)?;
                self.bind(prefix, uri);
            }
        }
        self.marks.push(mark);
        self.depth += 1;
        self.resolve(prefix, true)?;
        let mut plain = 0;
        for attr in attrs() {
            if let Attr::Plain { prefix, .. } = attr {
                self.resolve(prefix, false)?;
                plain += 1;
            }
        }
        // Most start tags have at most one attribute, which needs no comparison.
        if plain > 1 {
            let mut names = Vec::with_capacity(plain);
            for attr in attrs() {
                if let Attr::Plain { prefix, local, .. } = attr {
                    names.push((self.resolve(prefix, false)?, local));
                }
            }
            names.sort_unstable();
            if names.windows(2).any(|w| w.first() == w.get(1)) {
                return Err(Error::invalid_format("two attributes with the same expanded name on one element"));
            }
        }
        self.element(prefix, local)?;
        for attr in attrs() {
            match attr {
                Attr::Xmlns { prefix, uri } => self.xmlns(prefix, uri)?,
                Attr::Plain { prefix, local, value } => {
                    self.attribute(prefix, local)?;
                    let names = &self.names;
                    r::write_text_record(self.out, &r::text_record_for(value, || names.text_id(value)), false)?;
                }
            }
        }
        Ok(())
    }

    fn end(&mut self) -> Result<()> {
        if !self.flush_text(true)? {
            self.out.push(r::END_ELEMENT);
        }
        self.depth = self.depth.saturating_sub(1);
        if let Some(mark) = self.marks.pop() {
            if let Some(first) = self.scopes.get(mark) {
                self.scope_text.truncate(first.prefix.start);
            }
            self.scopes.truncate(mark);
        }
        Ok(())
    }

    /// Enters the binding of `prefix` to `uri` (innermost).
    fn bind(&mut self, prefix: &str, uri: &str) {
        let start = self.scope_text.len();
        self.scope_text.push_str(prefix);
        let middle = self.scope_text.len();
        self.scope_text.push_str(uri);
        self.scopes.push(Binding { prefix: start..middle, uri: middle..self.scope_text.len() });
    }

    fn resolve(&self, prefix: &str, element: bool) -> Result<&str> {
        if prefix.is_empty() && !element {
            return Ok("");
        }
        if prefix == "xml" {
            return Ok(crate::xml::XML_NAMESPACE);
        }
        let text = |range: &Range<usize>| self.scope_text.get(range.clone()).unwrap_or_default();
        match self.scopes.iter().rev().find(|b| text(&b.prefix) == prefix) {
            Some(b) => Ok(text(&b.uri)),
            None if prefix.is_empty() => Ok(""),
            None => Err(Error::invalid_format(format!("the prefix '{prefix}' is not bound to a namespace"))),
        }
    }

    fn element(&mut self, prefix: &str, local: &str) -> Result<()> {
        let id = self.names.name_id(local);
        let letter = r::letter_index(prefix);
        match (id, letter) {
            (Some(id), _) if prefix.is_empty() => self.record_id(r::SHORT_DICTIONARY_ELEMENT, id),
            (Some(id), Some(i)) => self.record_id(r::PREFIX_DICTIONARY_ELEMENT_A + i, id),
            (Some(id), None) => {
                self.out.push(r::DICTIONARY_ELEMENT);
                self.string(prefix)?;
                r::write_int31(self.out, id);
                Ok(())
            }
            (None, _) if prefix.is_empty() => self.record_string(r::SHORT_ELEMENT, local),
            (None, Some(i)) => self.record_string(r::PREFIX_ELEMENT_A + i, local),
            (None, None) => {
                self.out.push(r::ELEMENT);
                self.string(prefix)?;
                self.string(local)
            }
        }
    }

    fn attribute(&mut self, prefix: &str, local: &str) -> Result<()> {
        let id = self.names.name_id(local);
        let letter = r::letter_index(prefix);
        match (id, letter) {
            (Some(id), _) if prefix.is_empty() => self.record_id(r::SHORT_DICTIONARY_ATTRIBUTE, id),
            (Some(id), Some(i)) => self.record_id(r::PREFIX_DICTIONARY_ATTRIBUTE_A + i, id),
            (Some(id), None) => {
                self.out.push(r::DICTIONARY_ATTRIBUTE);
                self.string(prefix)?;
                r::write_int31(self.out, id);
                Ok(())
            }
            (None, _) if prefix.is_empty() => self.record_string(r::SHORT_ATTRIBUTE, local),
            (None, Some(i)) => self.record_string(r::PREFIX_ATTRIBUTE_A + i, local),
            (None, None) => {
                self.out.push(r::ATTRIBUTE);
                self.string(prefix)?;
                self.string(local)
            }
        }
    }

    fn xmlns(&mut self, prefix: &str, uri: &str) -> Result<()> {
        let id = if uri.is_empty() { None } else { self.names.name_id(uri) };
        match id {
            Some(id) if prefix.is_empty() => self.record_id(r::SHORT_DICTIONARY_XMLNS_ATTRIBUTE, id),
            Some(id) => {
                self.out.push(r::DICTIONARY_XMLNS_ATTRIBUTE);
                self.string(prefix)?;
                r::write_int31(self.out, id);
                Ok(())
            }
            None if prefix.is_empty() => self.record_string(r::SHORT_XMLNS_ATTRIBUTE, uri),
            None => {
                self.out.push(r::XMLNS_ATTRIBUTE);
                self.string(prefix)?;
                self.string(uri)
            }
        }
    }

    fn record_id(&mut self, record: u8, id: u32) -> Result<()> {
        self.out.push(record);
        r::write_int31(self.out, id);
        Ok(())
    }

    fn record_string(&mut self, record: u8, s: &str) -> Result<()> {
        self.out.push(record);
        self.string(s)
    }

    /// A `String`: `MultiByteInt31` length, then the UTF-8 bytes.
    fn string(&mut self, s: &str) -> Result<()> {
        let len = u32::try_from(s.len()).ok().filter(|n| *n <= r::MAX_INT31).ok_or_else(|| {
            Error::quota_exceeded(format!("a string of {} bytes is too long for .NET binary XML", s.len()))
        })?;
        r::write_int31(self.out, len);
        self.out.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// Reads the attributes of `e` into `attrs` in document order, values unescaped and
/// normalised like our reader does (namespace URIs are unescaped only).
fn read_attributes(e: &BytesStart<'_>, attrs: &mut Attrs) -> Result<()> {
    attrs.clear();
    let mut iter = e.attributes();
    iter.with_checks(true);
    for attr in iter {
        let attr = attr.map_err(|err| Error::invalid_format(format!("malformed attribute: {err}")))?;
        let key: &str = attr.key.into_inner();
        if attr.value.contains('<') {
            return Err(Error::invalid_format("'<' is not allowed in an attribute value"));
        }
        if key == "xmlns" || key.starts_with("xmlns:") {
            let prefix = key.strip_prefix("xmlns:").unwrap_or("");
            let uri = unescape_with(&attr.value, resolve_xml_entity)
                .map_err(|err| Error::invalid_format(format!("bad namespace URI: {err}")))?;
            attrs.push(true, prefix, "", &uri);
            continue;
        }
        let (prefix, local) = split_qname(key, "attribute")?;
        let value = attr
            .normalized_value_with(XmlVersion::Implicit1_0, 1, resolve_xml_entity)
            .map_err(|err| Error::invalid_format(format!("bad attribute value: {err}")))?;
        r::check_xml_chars(&value, "an attribute value")?;
        attrs.push(false, prefix, local, &value);
    }
    Ok(())
}

/// The XML declaration, which is dropped, under our reader's rules: first in the document
/// (after a BOM), well-formed, and naming no encoding but UTF-8 (or its subset US-ASCII).
fn check_declaration(decl: &BytesDecl<'_>, at_start: bool) -> Result<()> {
    if !at_start {
        return Err(Error::invalid_format("the XML declaration must be at the start of the document"));
    }
    match decl.encoding() {
        None => Ok(()),
        Some(Ok(enc)) if enc.eq_ignore_ascii_case("utf-8") || enc.eq_ignore_ascii_case("us-ascii") => Ok(()),
        Some(Ok(enc)) => Err(Error::invalid_format(format!("unsupported document encoding '{enc}' (only UTF-8)"))),
        Some(Err(e)) => Err(Error::invalid_format(format!("malformed XML declaration: {e}"))),
    }
}

fn check_element_prefix(prefix: &str) -> Result<()> {
    if prefix == "xmlns" {
        return Err(Error::invalid_format("the prefix 'xmlns' cannot name an element"));
    }
    Ok(())
}

/// `prefix:local` (or `local`) as two `NCName`s.
pub(super) fn split_qname<'t>(name: &'t str, what: &str) -> Result<(&'t str, &'t str)> {
    let (prefix, local) = name.split_once(':').unwrap_or(("", name));
    if !r::is_ncname(local) || (name.contains(':') && !r::is_ncname(prefix)) {
        return Err(Error::invalid_format(format!("'{}' is not a valid {what} name", name.escape_debug())));
    }
    Ok((prefix, local))
}

/// The text of a character or predefined-entity reference.
fn resolve_reference(reference: &BytesRef<'_>) -> Result<String> {
    let name: &str = reference.as_ref();
    match reference.resolve_char_ref() {
        Ok(Some(c)) if r::is_xml_char(c) => Ok(c.to_string()),
        Ok(Some(c)) => {
            Err(Error::invalid_format(format!("character reference to U+{:04X}, not an XML character", c as u32)))
        }
        Ok(None) => resolve_xml_entity(name).map(str::to_owned).ok_or_else(|| {
            Error::invalid_format(format!(
                "reference to undeclared entity '&{name};' (only the predefined entities are allowed)"
            ))
        }),
        Err(e) => Err(Error::invalid_format(format!("bad character reference '&{name};': {e}"))),
    }
}
