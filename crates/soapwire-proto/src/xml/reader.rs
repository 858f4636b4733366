//! The namespace-aware pull reader: quick-xml's [`NsReader`] plus soapwire's rules
//! (quotas, no DTDs, only predefined entities, well-formedness checks quick-xml leaves to
//! its caller such as unclosed elements at end of input and a single root element).

use std::borrow::Cow;

use quick_xml::NsReader;
use quick_xml::XmlVersion;
use quick_xml::escape::{escape, resolve_xml_entity, unescape_with};
use quick_xml::events::{BytesDecl, BytesRef, BytesStart, Event};
use quick_xml::name::{Namespace, NamespaceError, PrefixDeclaration, QName as RawName, ResolveResult};

use super::{QName, ReaderQuotas, is_whitespace};
use crate::error::{Error, Result};

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// One event of an [`XmlReader`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum XmlEvent<'a> {
    /// A start tag. Also emitted for an empty element `<a/>`, which is then followed by an
    /// [`XmlEvent::End`].
    Start(StartElement),
    /// The end of the innermost open element.
    End,
    /// Character data, unescaped, with line ends normalised. Adjacent text, entity
    /// references and CDATA sections are merged into one event; whitespace-only text inside
    /// elements is reported too (callers skip it).
    Text(Cow<'a, str>),
    /// End of input. Returned again on every later call.
    Eof,
}

/// A start tag with its resolved name and attributes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StartElement {
    /// The expanded element name.
    pub name: QName,
    /// The prefix the element was written with, if any.
    pub prefix: Option<String>,
    /// The attributes, in document order; `xmlns` declarations are not listed.
    pub attributes: Vec<Attribute>,
}

impl StartElement {
    /// The value of attribute `{ns}local`; `ns` = `""` for an unqualified attribute.
    pub fn attribute(&self, ns: &str, local: &str) -> Option<&str> {
        self.attributes.iter().find(|a| a.name.is(ns, local)).map(|a| a.value.as_str())
    }
}

/// An attribute of a [`StartElement`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribute {
    /// The expanded attribute name (unprefixed attributes are in no namespace).
    pub name: QName,
    /// The value, unescaped and normalised as XML 1.0 requires.
    pub value: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// A whole document: exactly one root element, no text outside it.
    Document,
    /// Content cut out of a larger document: any sequence of elements and text.
    Fragment,
}

/// A streaming, namespace-aware XML reader over a byte slice (UTF-8 only), enforcing
/// [`ReaderQuotas`].
///
/// Every error is sticky: after the first failure, every later [`next`](Self::next) returns
/// the same error.
pub struct XmlReader<'a> {
    input: &'a [u8],
    /// Bytes skipped before quick-xml's input (a UTF-8 BOM).
    base: usize,
    inner: NsReader<&'a [u8]>,
    quotas: ReaderQuotas,
    mode: Mode,
    depth: usize,
    root_seen: bool,
    /// An empty element `<a/>` was reported as Start; its End is due next.
    pending_end: bool,
    last_was_start: bool,
    eof: bool,
    failure: Option<Error>,
    event_start: usize,
    position: usize,
}

impl std::fmt::Debug for XmlReader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XmlReader")
            .field("len", &self.input.len())
            .field("mode", &self.mode)
            .field("depth", &self.depth)
            .field("position", &self.position)
            .finish_non_exhaustive()
    }
}

impl<'a> XmlReader<'a> {
    /// A reader for a whole document. Fails with `QuotaExceeded` if `input` is longer than
    /// `max_total_bytes`.
    pub fn new(input: &'a [u8], quotas: &ReaderQuotas) -> Result<XmlReader<'a>> {
        XmlReader::build(input, quotas, Mode::Document)
    }

    /// A reader for a fragment cut out of a larger document (a header block, body content):
    /// `inherited` are the namespace bindings in scope where the fragment was cut
    /// (prefix → URI, `""` = default namespace). A fragment may hold several top-level
    /// elements and text.
    pub fn with_namespaces(
        input: &'a [u8],
        inherited: &[(String, String)],
        quotas: &ReaderQuotas,
    ) -> Result<XmlReader<'a>> {
        let mut reader = XmlReader::build(input, quotas, Mode::Fragment)?;
        for (prefix, uri) in inherited {
            reader.inherit(prefix, uri)?;
        }
        Ok(reader)
    }

    fn build(input: &'a [u8], quotas: &ReaderQuotas, mode: Mode) -> Result<XmlReader<'a>> {
        if input.len() > quotas.max_total_bytes {
            return Err(Error::quota_exceeded(format!(
                "XML input of {} bytes exceeds max_total_bytes ({})",
                input.len(),
                quotas.max_total_bytes
            )));
        }
        let base = if input.starts_with(UTF8_BOM) { UTF8_BOM.len() } else { 0 };
        let mut inner = NsReader::from_reader(input.get(base..).unwrap_or_default());
        let config = inner.config_mut();
        config.check_end_names = true;
        config.check_comments = true;
        config.expand_empty_elements = false;
        config.allow_unmatched_ends = false;
        config.allow_dangling_amp = false;
        config.trim_text(false);
        inner.resolver_mut().set_max_namespace_bindings(quotas.max_namespaces);
        Ok(XmlReader {
            input,
            base,
            inner,
            quotas: *quotas,
            mode,
            depth: 0,
            root_seen: false,
            pending_end: false,
            last_was_start: false,
            eof: false,
            failure: None,
            event_start: base,
            position: base,
        })
    }

    fn inherit(&mut self, prefix: &str, uri: &str) -> Result<()> {
        self.check_name_len("namespace prefix", prefix)?;
        self.check_name_len("namespace URI", uri)?;
        let declaration = if prefix.is_empty() { PrefixDeclaration::Default } else { PrefixDeclaration::Named(prefix) };
        // quick-xml keeps URIs as written; store it escaped like a declaration would be.
        let uri = escape(uri);
        self.inner.resolver_mut().add(declaration, Namespace(&uri)).map_err(namespace_error)
    }

    /// The next event. Comments, processing instructions and the XML declaration are
    /// skipped; in a whole document, whitespace outside the root element is skipped too.
    #[expect(clippy::should_implement_trait, reason = "fallible, with an explicit Eof: not an Iterator")]
    pub fn next(&mut self) -> Result<XmlEvent<'a>> {
        self.advance(true)
    }

    /// After a [`XmlEvent::Start`]: reads the element's text content up to and including its
    /// end tag, concatenating text and CDATA. A child element is `InvalidFormat`; calling it
    /// anywhere but right after a Start is `InvalidOperation`.
    pub fn read_text(&mut self) -> Result<String> {
        self.expect_after_start("read_text")?;
        let mut text = String::new();
        loop {
            match self.advance(false)? {
                XmlEvent::Text(piece) => {
                    self.check_text_len(text.len().saturating_add(piece.len()))?;
                    if text.is_empty() {
                        text = piece.into_owned();
                    } else {
                        text.push_str(&piece);
                    }
                }
                XmlEvent::End => return Ok(text),
                XmlEvent::Start(_) => {
                    return Err(Error::invalid_format("expected text content, found a child element"));
                }
                XmlEvent::Eof => return Err(Error::invalid_format("unexpected end of input in text content")),
            }
        }
    }

    /// After a [`XmlEvent::Start`]: reads the element's text as an `xs:QName` and resolves
    /// its prefix with the bindings in scope on that element (an unprefixed name takes the
    /// default namespace). Used for SOAP fault codes.
    pub fn read_qname(&mut self) -> Result<QName> {
        let text = self.read_text()?;
        // The end tag was the last event: quick-xml pops its scope only on the next read,
        // so the element's own declarations still resolve here.
        self.resolve_qname_text(text.trim())
    }

    fn resolve_qname_text(&self, text: &str) -> Result<QName> {
        let (prefix, local) = match text.split_once(':') {
            Some((p, l)) => (Some(p), l),
            None => (None, text),
        };
        if local.is_empty() || prefix == Some("") || local.contains(':') {
            return Err(Error::invalid_format(format!("'{text}' is not a valid QName")));
        }
        self.check_name_len("QName value", text)?;
        let (ns, local) = self.resolve(RawName(text), true)?;
        if prefix.is_some() && ns.is_empty() {
            return Err(Error::invalid_format(format!("the prefix of QName '{text}' is not bound")));
        }
        Ok(QName::new(ns, local))
    }

    /// After a [`XmlEvent::Start`]: skips everything up to and including its end tag (the
    /// skipped content is still checked for well-formedness and quotas).
    pub fn skip_element(&mut self) -> Result<()> {
        self.expect_after_start("skip_element")?;
        let target = self.depth.saturating_sub(1);
        loop {
            match self.advance(false)? {
                XmlEvent::End if self.depth == target => return Ok(()),
                XmlEvent::Eof => return Err(Error::invalid_format("unexpected end of input in element")),
                _ => {}
            }
        }
    }

    /// The next child element of the current element (or, at the top of a fragment, the
    /// next top-level element), skipping whitespace. Returns `None` at the current element's
    /// end tag (consumed) or at end of input; non-whitespace text is `InvalidFormat`.
    pub fn next_element(&mut self) -> Result<Option<StartElement>> {
        loop {
            match self.next()? {
                XmlEvent::Start(start) => return Ok(Some(start)),
                XmlEvent::End | XmlEvent::Eof => return Ok(None),
                XmlEvent::Text(t) if is_whitespace(&t) => {}
                XmlEvent::Text(_) => {
                    return Err(Error::invalid_format("unexpected text where an element was expected"));
                }
            }
        }
    }

    /// After a [`XmlEvent::Start`]: skips to the element's end tag and returns the byte range
    /// of its content (between the tags; empty for `<a/>`) in the input.
    pub fn raw_content(&mut self) -> Result<std::ops::Range<usize>> {
        let from = self.position;
        self.skip_element()?;
        Ok(from..self.event_start.max(from))
    }

    /// The byte offset in the input just after the last event read.
    pub fn position(&self) -> usize {
        self.position
    }

    /// The byte offset in the input where the last event read started (for an End that
    /// closes an empty element `<a/>`, this equals [`position`](Self::position)).
    pub fn event_start(&self) -> usize {
        self.event_start
    }

    /// The number of elements currently open.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// The namespace bindings in scope (prefix → URI, `""` = default namespace), innermost
    /// declaration of each prefix only, inherited ones included. After an End event, the
    /// closed element's own bindings are still listed until the next event is read.
    pub fn namespaces_in_scope(&self) -> Vec<(String, String)> {
        self.inner
            .resolver()
            .bindings()
            .map(|(prefix, ns)| {
                let prefix = match prefix {
                    PrefixDeclaration::Default => String::new(),
                    PrefixDeclaration::Named(p) => p.to_owned(),
                };
                (prefix, unescape_namespace(ns.into_inner()).into_owned())
            })
            .collect()
    }

    /// `next`, with sticky errors; `build` = false reports starts without building their
    /// names and attributes (everything is still validated).
    fn advance(&mut self, build: bool) -> Result<XmlEvent<'a>> {
        if let Some(e) = &self.failure {
            return Err(e.clone());
        }
        match self.read_event(build) {
            Ok(event) => {
                self.last_was_start = matches!(event, XmlEvent::Start(_));
                Ok(event)
            }
            Err(e) => {
                self.failure = Some(e.clone());
                Err(e)
            }
        }
    }

    fn read_event(&mut self, build: bool) -> Result<XmlEvent<'a>> {
        if self.pending_end {
            return Ok(self.close_empty_element());
        }
        if self.eof {
            return Ok(XmlEvent::Eof);
        }
        loop {
            let start = self.offset();
            let event = self.inner.read_event().map_err(|e| self.xml_error(e))?;
            match event {
                Event::Start(e) => return self.on_start(&e, start, build),
                Event::Empty(e) => {
                    let event = self.on_start(&e, start, build)?;
                    self.pending_end = true;
                    return Ok(event);
                }
                Event::End(_) => return Ok(self.on_end(start)),
                Event::Text(t) => {
                    check_xml_chars(&t)?;
                    if let Some(text) = self.on_text(t.xml10_content(), start)? {
                        return Ok(text);
                    }
                }
                Event::CData(c) => {
                    check_xml_chars(&c)?;
                    if let Some(text) = self.on_text(c.xml10_content(), start)? {
                        return Ok(text);
                    }
                }
                Event::GeneralRef(r) => {
                    if let Some(text) = self.on_text(resolve_reference(&r)?, start)? {
                        return Ok(text);
                    }
                }
                Event::Decl(d) => self.on_declaration(&d, start)?,
                Event::Comment(_) | Event::PI(_) => {}
                Event::DocType(_) => {
                    return Err(Error::invalid_format("DTDs are not allowed (found a DOCTYPE declaration)"));
                }
                Event::Eof => return self.on_eof(),
            }
        }
    }

    fn on_start(&mut self, e: &BytesStart<'a>, start: usize, build: bool) -> Result<XmlEvent<'a>> {
        self.check_depth()?;
        if self.mode == Mode::Document && self.depth == 0 && self.root_seen {
            return Err(Error::invalid_format("a document has only one root element"));
        }
        let element = self.start_element(e, build)?;
        self.depth += 1;
        self.root_seen = true;
        self.event_start = start;
        self.position = self.offset();
        Ok(XmlEvent::Start(element))
    }

    fn on_end(&mut self, start: usize) -> XmlEvent<'a> {
        self.depth = self.depth.saturating_sub(1);
        self.event_start = start;
        self.position = self.offset();
        XmlEvent::End
    }

    fn close_empty_element(&mut self) -> XmlEvent<'a> {
        self.pending_end = false;
        self.depth = self.depth.saturating_sub(1);
        self.event_start = self.position;
        XmlEvent::End
    }

    fn on_text(&mut self, first: Cow<'a, str>, start: usize) -> Result<Option<XmlEvent<'a>>> {
        let text = self.merge_text(first)?;
        self.event_start = start;
        self.position = self.offset();
        if self.mode == Mode::Document && self.depth == 0 {
            if is_whitespace(&text) {
                return Ok(None);
            }
            return Err(Error::invalid_format("text outside the root element"));
        }
        Ok(Some(XmlEvent::Text(text)))
    }

    /// Appends the text, references and CDATA sections that directly follow `first`.
    fn merge_text(&mut self, first: Cow<'a, str>) -> Result<Cow<'a, str>> {
        self.check_text_len(first.len())?;
        let mut text = first;
        while self.text_follows() {
            let piece = match self.inner.read_event().map_err(|e| self.xml_error(e))? {
                Event::Text(t) => {
                    check_xml_chars(&t)?;
                    t.xml10_content()
                }
                Event::CData(c) => {
                    check_xml_chars(&c)?;
                    c.xml10_content()
                }
                Event::GeneralRef(r) => resolve_reference(&r)?,
                other => {
                    return Err(Error::invalid_format(format!("unexpected {other:?} while reading text")));
                }
            };
            self.check_text_len(text.len().saturating_add(piece.len()))?;
            text.to_mut().push_str(&piece);
        }
        Ok(text)
    }

    /// True if the unread input starts with more character data (text, a reference or CDATA).
    fn text_follows(&self) -> bool {
        let rest = self.input.get(self.offset()..).unwrap_or_default();
        match rest.first() {
            None => false,
            Some(b'<') => rest.starts_with(b"<![CDATA["),
            Some(_) => true,
        }
    }

    fn on_declaration(&self, decl: &BytesDecl<'_>, start: usize) -> Result<()> {
        if start != self.base {
            return Err(Error::invalid_format("the XML declaration must be at the start of the document"));
        }
        match decl.encoding() {
            None => Ok(()),
            Some(Ok(enc)) if enc.eq_ignore_ascii_case("utf-8") || enc.eq_ignore_ascii_case("us-ascii") => Ok(()),
            Some(Ok(enc)) => Err(Error::invalid_format(format!("unsupported document encoding '{enc}' (only UTF-8)"))),
            Some(Err(e)) => Err(Error::invalid_format(format!("malformed XML declaration: {e}"))),
        }
    }

    fn on_eof(&mut self) -> Result<XmlEvent<'a>> {
        if self.depth > 0 {
            return Err(Error::invalid_format(format!(
                "unexpected end of input: {} element(s) not closed",
                self.depth
            )));
        }
        if self.mode == Mode::Document && !self.root_seen {
            return Err(Error::invalid_format("the document has no root element"));
        }
        self.eof = true;
        self.event_start = self.offset();
        self.position = self.event_start;
        Ok(XmlEvent::Eof)
    }

    /// Validates a start tag against the quotas and namespace rules; builds the public
    /// form only if `build`.
    fn start_element(&self, e: &BytesStart<'_>, build: bool) -> Result<StartElement> {
        let raw = e.name();
        self.check_name_len("element name", raw.into_inner())?;
        let (ns, local) = self.resolve(raw, true)?;
        let mut element = StartElement::default();
        if build {
            element.name = QName::new(ns, local);
            element.prefix = raw.prefix().map(|p| p.into_inner().to_owned());
        }
        self.visit_attributes(e, |ns, local, value| {
            if build {
                element.attributes.push(Attribute { name: QName::new(ns, local), value: value.into_owned() });
            }
        })?;
        Ok(element)
    }

    /// Checks every attribute of `e` and hands each non-`xmlns` one to `f` as
    /// (namespace, local name, normalised value).
    fn visit_attributes(&self, e: &BytesStart<'_>, mut f: impl FnMut(&str, &str, Cow<'_, str>)) -> Result<()> {
        let mut count = 0usize;
        for attr in e.attributes() {
            let attr = attr.map_err(|err| Error::invalid_format(format!("malformed attribute: {err}")))?;
            self.check_name_len("attribute name", attr.key.into_inner())?;
            if attr.key.as_namespace_binding().is_some() {
                self.check_namespace_declaration(&attr.value)?;
                continue;
            }
            count += 1;
            if count > self.quotas.max_attributes {
                return Err(Error::quota_exceeded(format!(
                    "attribute quota exceeded: element has more than max_attributes ({}) attributes",
                    self.quotas.max_attributes
                )));
            }
            if attr.value.contains('<') {
                return Err(Error::invalid_format("'<' is not allowed in an attribute value"));
            }
            let value = attr
                .normalized_value_with(XmlVersion::Implicit1_0, 1, resolve_xml_entity)
                .map_err(|err| Error::invalid_format(format!("bad attribute value: {err}")))?;
            self.check_text_len(value.len())?;
            check_xml_chars(&value)?;
            let (ns, local) = self.resolve(attr.key, false)?;
            f(&ns, local, value);
        }
        Ok(())
    }

    fn check_namespace_declaration(&self, uri: &str) -> Result<()> {
        self.check_name_len("namespace URI", uri)?;
        if uri.contains('<') {
            return Err(Error::invalid_format("'<' is not allowed in a namespace URI"));
        }
        if uri.contains('&') {
            let unescaped = unescape_with(uri, resolve_xml_entity)
                .map_err(|err| Error::invalid_format(format!("bad namespace URI: {err}")))?;
            check_xml_chars(&unescaped)?;
        }
        Ok(())
    }

    /// Resolves a qualified name to (namespace, local name); an unbound prefix is
    /// `InvalidFormat`.
    fn resolve<'s, 'n>(&'s self, name: RawName<'n>, element: bool) -> Result<(Cow<'s, str>, &'n str)> {
        let (result, local) = self.inner.resolver().resolve(name, element);
        match result {
            ResolveResult::Bound(ns) => Ok((unescape_namespace(ns.into_inner()), local.into_inner())),
            ResolveResult::Unbound => Ok((Cow::Borrowed(""), local.into_inner())),
            ResolveResult::Unknown(prefix) => {
                Err(Error::invalid_format(format!("the prefix '{prefix}' is not bound to a namespace")))
            }
        }
    }

    fn expect_after_start(&self, call: &str) -> Result<()> {
        if self.last_was_start && self.failure.is_none() {
            Ok(())
        } else {
            Err(Error::invalid_operation(format!("XmlReader::{call} must directly follow a Start event")))
        }
    }

    fn check_depth(&self) -> Result<()> {
        if self.depth >= self.quotas.max_depth {
            return Err(Error::quota_exceeded(format!(
                "depth quota exceeded: element at depth {} exceeds max_depth ({})",
                self.depth + 1,
                self.quotas.max_depth
            )));
        }
        Ok(())
    }

    fn check_name_len(&self, what: &str, name: &str) -> Result<()> {
        if name.len() > self.quotas.max_name_bytes {
            return Err(Error::quota_exceeded(format!(
                "name quota exceeded: {what} of {} bytes exceeds max_name_bytes ({})",
                name.len(),
                self.quotas.max_name_bytes
            )));
        }
        Ok(())
    }

    fn check_text_len(&self, len: usize) -> Result<()> {
        if len > self.quotas.max_text_bytes {
            return Err(Error::quota_exceeded(format!(
                "text quota exceeded: text of {len} bytes exceeds max_text_bytes ({})",
                self.quotas.max_text_bytes
            )));
        }
        Ok(())
    }

    /// quick-xml's position, as an offset into `input`.
    fn offset(&self) -> usize {
        let consumed = usize::try_from(self.inner.buffer_position()).unwrap_or(usize::MAX);
        self.base.saturating_add(consumed)
    }

    fn xml_error(&self, e: quick_xml::Error) -> Error {
        match e {
            quick_xml::Error::Namespace(ns) => namespace_error(ns),
            other => {
                let at = usize::try_from(self.inner.error_position()).unwrap_or(usize::MAX);
                Error::invalid_format(format!("malformed XML at byte {}: {other}", self.base.saturating_add(at)))
            }
        }
    }
}

/// A namespace URI as quick-xml stores it (as written) to its value; declarations were
/// checked to unescape cleanly when read.
fn unescape_namespace(raw: &str) -> Cow<'_, str> {
    if raw.contains('&') {
        unescape_with(raw, resolve_xml_entity).unwrap_or(Cow::Borrowed(raw))
    } else {
        Cow::Borrowed(raw)
    }
}

fn namespace_error(e: NamespaceError) -> Error {
    match e {
        NamespaceError::TooManyBindings(max) => Error::quota_exceeded(format!(
            "namespace quota exceeded: more than max_namespaces ({max}) namespace declarations in scope"
        )),
        NamespaceError::TooDeeplyNested(max) => {
            Error::quota_exceeded(format!("depth quota exceeded: nesting deeper than {max}"))
        }
        other => Error::invalid_format(format!("namespace error: {other}")),
    }
}

/// Expands a character reference or one of the five predefined entities; anything else is
/// `InvalidFormat` (no entity is ever declared, DTDs being refused).
fn resolve_reference<'a>(r: &BytesRef<'_>) -> Result<Cow<'a, str>> {
    let name: &str = r.as_ref();
    match r.resolve_char_ref() {
        Ok(Some(c)) if is_xml_char(c) => Ok(Cow::Owned(c.to_string())),
        Ok(Some(c)) => {
            Err(Error::invalid_format(format!("character reference to U+{:04X}, not an XML character", c as u32)))
        }
        Ok(None) => match resolve_xml_entity(name) {
            Some(text) => Ok(Cow::Borrowed(text)),
            None => Err(Error::invalid_format(format!(
                "reference to undeclared entity '&{name};' (only the predefined entities are allowed)"
            ))),
        },
        Err(e) => Err(Error::invalid_format(format!("bad character reference '&{name};': {e}"))),
    }
}

/// The XML 1.0 `Char` production.
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Fails on characters XML 1.0 does not allow (C0 controls other than tab/LF/CR, U+FFFE,
/// U+FFFF). The byte scan makes the common case cheap.
fn check_xml_chars(s: &str) -> Result<()> {
    let Some(from) = first_suspect_chunk(s.as_bytes()) else { return Ok(()) };
    match s.get(from..).unwrap_or(s).chars().find(|c| !is_xml_char(*c)) {
        None => Ok(()),
        Some(c) => Err(Error::invalid_format(format!("U+{:04X} is not an XML character", c as u32))),
    }
}

/// The start of the first 64-byte chunk holding a byte that may begin a character XML
/// forbids (a C0 control other than tab, LF and CR, or 0xEF, the lead byte of U+FFFE and
/// U+FFFF), or `None`. The per-chunk test is branch-free so that the compiler vectorises it:
/// a megabyte of base64 text is checked at memory speed rather than byte by byte.
fn first_suspect_chunk(bytes: &[u8]) -> Option<usize> {
    const CHUNK: usize = 64;
    let suspect = |b: u8| ((b < 0x20) & (b != b'\t') & (b != b'\n') & (b != b'\r')) | (b == 0xEF);
    let chunks = bytes.chunks_exact(CHUNK);
    let tail = chunks.remainder();
    for (i, chunk) in chunks.enumerate() {
        if chunk.iter().fold(0u8, |acc, &b| acc | u8::from(suspect(b))) != 0 {
            return Some(i * CHUNK);
        }
    }
    tail.iter().any(|&b| suspect(b)).then(|| bytes.len() - tail.len())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn forbidden_characters_are_found_in_every_chunk_position() {
        for len in [1usize, 63, 64, 65, 200] {
            for pos in [0, len / 2, len - 1] {
                for bad in ['\u{1}', '\u{FFFE}', '\u{FFFF}'] {
                    let mut text: Vec<char> = std::iter::repeat_n('a', len).collect();
                    text[pos] = bad;
                    let text: String = text.into_iter().collect();
                    let xml = format!("<a>{text}</a>");
                    let e = events(&xml).unwrap_err();
                    assert_eq!(e.kind(), ErrorKind::InvalidFormat, "{len} {pos} {bad:?}");
                }
                let ok = format!("<a>{}\t\n\r\u{FEFF}\u{FFFD}</a>", "b".repeat(len));
                assert!(events(&ok).is_ok(), "{len}");
            }
        }
    }

    fn quotas() -> ReaderQuotas {
        ReaderQuotas::default()
    }

    /// All events of a whole document, with texts owned.
    fn events(xml: &str) -> Result<Vec<XmlEvent<'static>>> {
        let mut r = XmlReader::new(xml.as_bytes(), &quotas())?;
        let mut out = Vec::new();
        loop {
            let e = r.next()?;
            let done = e == XmlEvent::Eof;
            out.push(match e {
                XmlEvent::Text(t) => XmlEvent::Text(Cow::Owned(t.into_owned())),
                XmlEvent::Start(s) => XmlEvent::Start(s),
                XmlEvent::End => XmlEvent::End,
                XmlEvent::Eof => XmlEvent::Eof,
            });
            if done {
                return Ok(out);
            }
        }
    }

    fn kind_of(xml: &str) -> ErrorKind {
        events(xml).expect_err("should fail").kind()
    }

    fn read_all(xml: &str, q: ReaderQuotas) -> Result<()> {
        let mut r = XmlReader::new(xml.as_bytes(), &q)?;
        while r.next()? != XmlEvent::Eof {}
        Ok(())
    }

    fn kind_with(xml: &str, q: ReaderQuotas) -> ErrorKind {
        read_all(xml, q).expect_err("should fail").kind()
    }

    #[test]
    fn names_are_resolved_with_prefixes_and_default_namespace() {
        let ev = events(r#"<p:a xmlns:p="urn:p" xmlns="urn:d" x="1" p:y="2"><b/></p:a>"#).unwrap();
        let XmlEvent::Start(a) = &ev[0] else { panic!("{ev:?}") };
        assert_eq!(a.name, QName::new("urn:p", "a"));
        assert_eq!(a.prefix.as_deref(), Some("p"));
        assert_eq!(a.attributes.len(), 2, "xmlns declarations are not attributes");
        assert_eq!(a.attribute("", "x"), Some("1"));
        assert_eq!(a.attribute("urn:p", "y"), Some("2"));
        assert_eq!(a.attribute("urn:d", "x"), None, "unprefixed attributes take no default namespace");
        let XmlEvent::Start(b) = &ev[1] else { panic!("{ev:?}") };
        assert_eq!(b.name, QName::new("urn:d", "b"));
        assert_eq!(&ev[2..], &[XmlEvent::End, XmlEvent::End, XmlEvent::Eof]);
    }

    #[test]
    fn text_references_and_cdata_merge_into_one_text_event() {
        let ev = events("<a>x &lt;&#65;&#x42; <![CDATA[<raw&>]]>&amp;y\r\nz</a>").unwrap();
        assert_eq!(ev[1], XmlEvent::Text(Cow::Borrowed("x <AB <raw&>&y\nz")));
        assert_eq!(ev[2], XmlEvent::End);
    }

    #[test]
    fn comments_pis_and_declaration_are_skipped() {
        let ev = events("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!-- c --><?pi x?><a>1<!-- c -->2</a>\n").unwrap();
        assert!(matches!(&ev[0], XmlEvent::Start(s) if s.name.local == "a"));
        assert_eq!(ev[1], XmlEvent::Text(Cow::Borrowed("1")));
        assert_eq!(ev[2], XmlEvent::Text(Cow::Borrowed("2")));
        assert_eq!(&ev[3..], &[XmlEvent::End, XmlEvent::Eof]);
    }

    #[test]
    fn whitespace_inside_elements_is_reported() {
        let ev = events("<a>\n  <b/>\n</a>").unwrap();
        assert_eq!(ev[1], XmlEvent::Text(Cow::Borrowed("\n  ")));
    }

    #[test]
    fn positions_cut_elements_out_of_the_input() {
        let xml = "<r><h a=\"1\">t</h><e/></r>";
        let mut r = XmlReader::new(xml.as_bytes(), &quotas()).unwrap();
        r.next().unwrap();
        assert!(matches!(r.next().unwrap(), XmlEvent::Start(_)));
        let start = r.event_start();
        r.skip_element().unwrap();
        assert_eq!(&xml[start..r.position()], "<h a=\"1\">t</h>");
        assert!(matches!(r.next().unwrap(), XmlEvent::Start(_)));
        let start = r.event_start();
        r.skip_element().unwrap();
        assert_eq!(&xml[start..r.position()], "<e/>");
        assert_eq!(r.event_start(), r.position(), "the End of an empty element has no bytes");
    }

    #[test]
    fn utf8_bom_is_skipped_and_offsets_stay_in_input_coordinates() {
        let xml = b"\xEF\xBB\xBF<a>x</a>";
        let mut r = XmlReader::new(xml, &quotas()).unwrap();
        r.next().unwrap();
        assert_eq!(r.event_start(), 3);
        assert_eq!(r.position(), 6);
    }

    #[test]
    fn read_text_concatenates_and_consumes_the_end_tag() {
        let mut r = XmlReader::new(b"<a><b>x<!--c-->y&amp;</b><c/></a>", &quotas()).unwrap();
        r.next().unwrap();
        r.next().unwrap();
        assert_eq!(r.read_text().unwrap(), "xy&");
        assert!(matches!(r.next().unwrap(), XmlEvent::Start(s) if s.name.local == "c"));
        assert_eq!(r.read_text().unwrap(), "", "empty element has empty text");
        assert_eq!(r.next().unwrap(), XmlEvent::End);
    }

    #[test]
    fn read_text_with_child_element_is_invalid_format() {
        let mut r = XmlReader::new(b"<a>x<b/></a>", &quotas()).unwrap();
        r.next().unwrap();
        assert_eq!(r.read_text().unwrap_err().kind(), ErrorKind::InvalidFormat);
    }

    #[test]
    fn read_text_not_after_start_is_invalid_operation() {
        let mut r = XmlReader::new(b"<a>x</a>", &quotas()).unwrap();
        assert_eq!(r.read_text().unwrap_err().kind(), ErrorKind::InvalidOperation);
        r.next().unwrap();
        r.next().unwrap();
        assert_eq!(r.skip_element().unwrap_err().kind(), ErrorKind::InvalidOperation);
    }

    #[test]
    fn read_qname_resolves_prefix_declared_on_the_element_itself() {
        let mut r = XmlReader::new(b"<a xmlns:x=\"urn:a\"><c xmlns:y=\"urn:y\"> y:Local </c><d>x:B</d></a>", &quotas())
            .unwrap();
        r.next().unwrap();
        r.next().unwrap();
        assert_eq!(r.read_qname().unwrap(), QName::new("urn:y", "Local"));
        r.next().unwrap();
        assert_eq!(r.read_qname().unwrap(), QName::new("urn:a", "B"));
    }

    #[test]
    fn read_qname_with_unbound_prefix_is_invalid_format() {
        let mut r = XmlReader::new(b"<a>z:B</a>", &quotas()).unwrap();
        r.next().unwrap();
        assert_eq!(r.read_qname().unwrap_err().kind(), ErrorKind::InvalidFormat);
    }

    #[test]
    fn fragment_reader_uses_inherited_namespaces() {
        let inherited = vec![("w".to_owned(), "urn:w".to_owned()), (String::new(), "urn:default".to_owned())];
        let mut r = XmlReader::with_namespaces(b"<w:To>x</w:To> <Other/>", &inherited, &quotas()).unwrap();
        let XmlEvent::Start(to) = r.next().unwrap() else { panic!() };
        assert_eq!(to.name, QName::new("urn:w", "To"));
        assert_eq!(r.read_text().unwrap(), "x");
        assert_eq!(r.next().unwrap(), XmlEvent::Text(Cow::Borrowed(" ")));
        let XmlEvent::Start(other) = r.next().unwrap() else { panic!() };
        assert_eq!(other.name, QName::new("urn:default", "Other"));
        assert!(r.namespaces_in_scope().contains(&("w".to_owned(), "urn:w".to_owned())));
    }

    #[test]
    fn next_element_skips_whitespace_and_stops_at_end() {
        let mut r = XmlReader::new(b"<a>\n <b>x</b> <c/>\n</a>", &quotas()).unwrap();
        assert_eq!(r.next_element().unwrap().map(|s| s.name.local), Some("a".to_owned()));
        assert_eq!(r.next_element().unwrap().map(|s| s.name.local), Some("b".to_owned()));
        r.skip_element().unwrap();
        assert_eq!(r.next_element().unwrap().map(|s| s.name.local), Some("c".to_owned()));
        assert_eq!(r.next_element().unwrap(), None, "end of <c/>");
        assert_eq!(r.next_element().unwrap(), None, "end of <a>");
        let mut r = XmlReader::new(b"<a>text<b/></a>", &quotas()).unwrap();
        r.next_element().unwrap();
        assert_eq!(r.next_element().unwrap_err().kind(), ErrorKind::InvalidFormat);
    }

    #[test]
    fn raw_content_is_the_range_between_the_tags() {
        let xml = "<a><d> <x:y xmlns:x=\"u\">1</x:y> </d><e/></a>";
        let mut r = XmlReader::new(xml.as_bytes(), &quotas()).unwrap();
        r.next_element().unwrap();
        r.next_element().unwrap();
        assert_eq!(&xml[r.raw_content().unwrap()], " <x:y xmlns:x=\"u\">1</x:y> ");
        r.next_element().unwrap();
        assert_eq!(&xml[r.raw_content().unwrap()], "");
    }

    #[test]
    fn namespaces_in_scope_lists_innermost_bindings() {
        let mut r =
            XmlReader::new(b"<a xmlns:p=\"urn:1\" xmlns=\"urn:d\"><b xmlns:p=\"urn:2\"/></a>", &quotas()).unwrap();
        r.next().unwrap();
        r.next().unwrap();
        let mut ns = r.namespaces_in_scope();
        ns.sort();
        assert_eq!(ns, vec![(String::new(), "urn:d".to_owned()), ("p".to_owned(), "urn:2".to_owned())]);
    }

    #[test]
    fn doctype_is_refused_with_invalid_format() {
        let e = events("<!DOCTYPE a><a/>").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidFormat);
        assert!(e.to_string().contains("DTD"), "{e}");
    }

    #[test]
    fn billion_laughs_entity_declaration_is_invalid_format() {
        let xml = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<lolz>&lol3;</lolz>"#;
        assert_eq!(kind_of(xml), ErrorKind::InvalidFormat);
    }

    #[test]
    fn undeclared_entity_is_invalid_format() {
        assert_eq!(kind_of("<a>&lol;</a>"), ErrorKind::InvalidFormat);
        assert_eq!(kind_of("<a b=\"&lol;\"/>"), ErrorKind::InvalidFormat);
    }

    #[test]
    fn truncated_document_is_invalid_format() {
        for xml in ["<a><b>text</b>", "<a><b", "<a>", "<a x=\"1", "<a>&amp"] {
            assert_eq!(kind_of(xml), ErrorKind::InvalidFormat, "{xml}");
        }
    }

    #[test]
    fn mismatched_end_tag_is_invalid_format() {
        assert_eq!(kind_of("<a><b></a></b>"), ErrorKind::InvalidFormat);
        assert_eq!(kind_of("<a></a></a>"), ErrorKind::InvalidFormat);
    }

    #[test]
    fn unbound_prefix_is_invalid_format() {
        assert_eq!(kind_of("<p:a/>"), ErrorKind::InvalidFormat);
        assert_eq!(kind_of("<a p:x=\"1\"/>"), ErrorKind::InvalidFormat);
    }

    #[test]
    fn bad_utf8_is_invalid_format() {
        let mut r = XmlReader::new(b"<a>\xFF\xFE</a>", &quotas()).unwrap();
        r.next().unwrap();
        assert_eq!(r.next().unwrap_err().kind(), ErrorKind::InvalidFormat);
    }

    #[test]
    fn non_xml_characters_are_invalid_format() {
        assert_eq!(kind_of("<a>\u{1}</a>"), ErrorKind::InvalidFormat);
        assert_eq!(kind_of("<a>&#1;</a>"), ErrorKind::InvalidFormat);
        assert_eq!(kind_of("<a>&#0;</a>"), ErrorKind::InvalidFormat);
        assert_eq!(kind_of("<a b=\"&#xFFFE;\"/>"), ErrorKind::InvalidFormat);
        assert_eq!(kind_of("<a>\u{FFFF}</a>"), ErrorKind::InvalidFormat);
    }

    #[test]
    fn document_rules_are_enforced() {
        assert_eq!(kind_of(""), ErrorKind::InvalidFormat, "no root");
        assert_eq!(kind_of("<a/><b/>"), ErrorKind::InvalidFormat, "two roots");
        assert_eq!(kind_of("x<a/>"), ErrorKind::InvalidFormat, "text before root");
        assert_eq!(kind_of("<a/>x"), ErrorKind::InvalidFormat, "text after root");
        assert_eq!(kind_of("<a/><?xml version=\"1.0\"?>"), ErrorKind::InvalidFormat, "late declaration");
        assert_eq!(kind_of("<?xml version=\"1.0\" encoding=\"utf-16\"?><a/>"), ErrorKind::InvalidFormat);
        assert_eq!(kind_of("<a x=\"1\" x=\"2\"/>"), ErrorKind::InvalidFormat, "duplicate attribute");
        assert_eq!(kind_of("<a x=\"<\"/>"), ErrorKind::InvalidFormat);
    }

    #[test]
    fn errors_are_sticky() {
        let mut r = XmlReader::new(b"<a>&bad;</a>", &quotas()).unwrap();
        r.next().unwrap();
        let first = r.next().unwrap_err();
        assert_eq!(r.next().unwrap_err().strings(), first.strings());
    }

    #[test]
    fn total_bytes_quota_exceeded_before_reading() {
        let q = ReaderQuotas { max_total_bytes: 8, ..quotas() };
        assert_eq!(XmlReader::new(b"<a>123456</a>", &q).unwrap_err().kind(), ErrorKind::QuotaExceeded);
        assert!(XmlReader::new(b"<a>1</a>", &q).is_ok());
    }

    #[test]
    fn depth_quota_exceeded_reports_quota_exceeded() {
        let q = ReaderQuotas { max_depth: 3, ..quotas() };
        let e = read_all("<a><b><c><d/></c></b></a>", q).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::QuotaExceeded);
        assert!(e.to_string().contains("max_depth (3)"), "{e}");
        assert!(read_all("<a><b><c/></b></a>", q).is_ok(), "depth 3 is within the quota");
    }

    #[test]
    fn attribute_count_quota_exceeded_reports_quota_exceeded() {
        let q = ReaderQuotas { max_attributes: 2, ..quotas() };
        assert_eq!(kind_with("<a x=\"1\" y=\"2\" z=\"3\"/>", q), ErrorKind::QuotaExceeded);
        let ok = XmlReader::new(b"<a xmlns:p=\"urn:p\" x=\"1\" p:y=\"2\"/>", &q).and_then(|mut r| r.next());
        assert!(ok.is_ok(), "xmlns declarations do not count: {ok:?}");
    }

    #[test]
    fn namespace_quota_exceeded_reports_quota_exceeded() {
        let q = ReaderQuotas { max_namespaces: 2, ..quotas() };
        assert_eq!(kind_with("<a xmlns:a=\"1\" xmlns:b=\"2\" xmlns:c=\"3\"/>", q), ErrorKind::QuotaExceeded);
        assert_eq!(
            kind_with("<a xmlns:a=\"1\"><b xmlns:b=\"2\"><c xmlns:c=\"3\"/></b></a>", q),
            ErrorKind::QuotaExceeded
        );
    }

    #[test]
    fn name_length_quota_exceeded_reports_quota_exceeded() {
        let q = ReaderQuotas { max_name_bytes: 8, ..quotas() };
        assert_eq!(kind_with("<abcdefghi/>", q), ErrorKind::QuotaExceeded);
        assert_eq!(kind_with("<a abcdefghi=\"1\"/>", q), ErrorKind::QuotaExceeded);
        assert_eq!(kind_with("<a xmlns:p=\"urn:123456789\"/>", q), ErrorKind::QuotaExceeded);
        assert!(read_all("<abcdefgh/>", q).is_ok(), "8 bytes is within the quota");
    }

    #[test]
    fn text_length_quota_exceeded_reports_quota_exceeded() {
        let q = ReaderQuotas { max_text_bytes: 4, ..quotas() };
        assert_eq!(kind_with("<a>12345</a>", q), ErrorKind::QuotaExceeded);
        assert_eq!(kind_with("<a>12&amp;45</a>", q), ErrorKind::QuotaExceeded, "merged pieces count together");
        assert_eq!(kind_with("<a b=\"12345\"/>", q), ErrorKind::QuotaExceeded);
        let mut r = XmlReader::new(b"<a>&lt;&lt;&lt;&lt;</a>", &q).unwrap();
        r.next().unwrap();
        assert_eq!(r.read_text().unwrap(), "<<<<", "the quota applies after unescaping");
    }
}
