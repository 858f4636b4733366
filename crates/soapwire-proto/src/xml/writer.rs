//! The XML writer: appends escaped UTF-8 markup to a `Vec<u8>`, with no per-element
//! allocation (open element names are copied back from the output itself).

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::PrefixDeclaration;

/// What U+FFFE, U+FFFF and C0 controls other than tab/LF/CR become: XML 1.0 cannot carry
/// them at all, not even as character references.
const REPLACEMENT: &[u8] = "\u{FFFD}".as_bytes();

/// Writes XML as UTF-8 into a `Vec<u8>`, escaping text and attribute values so that every
/// string written reads back identically with [`XmlReader`](super::XmlReader) (characters
/// XML 1.0 cannot represent are replaced by U+FFFD).
///
/// Names are written as given (they come from the program, not from peers). Calls that
/// need an open start tag ([`namespace_decl`](Self::namespace_decl),
/// [`attribute`](Self::attribute)) and [`end_element`](Self::end_element) without an open
/// element are programming errors: they do nothing (and assert in debug builds).
#[derive(Clone, Debug, Default)]
pub struct XmlWriter {
    buf: Vec<u8>,
    /// Byte range in `buf` of the qualified name of each open element.
    open: Vec<(usize, usize)>,
    /// A start tag was written and its `>` is still due.
    tag_open: bool,
}

impl XmlWriter {
    /// An empty writer.
    pub fn new() -> XmlWriter {
        XmlWriter::default()
    }

    /// An empty writer with room for `n` bytes.
    pub fn with_capacity(n: usize) -> XmlWriter {
        XmlWriter { buf: Vec::with_capacity(n), open: Vec::with_capacity(8), tag_open: false }
    }

    /// Writes `<prefix:local`, leaving the tag open for declarations and attributes.
    pub fn start_element(&mut self, prefix: Option<&str>, local: &str) {
        self.close_start_tag();
        self.buf.push(b'<');
        let start = self.buf.len();
        self.write_name(prefix, local);
        self.open.push((start, self.buf.len()));
        self.tag_open = true;
    }

    /// Writes `xmlns:prefix="uri"` (or `xmlns="uri"` for `None`) on the open start tag.
    pub fn namespace_decl(&mut self, prefix: Option<&str>, uri: &str) {
        self.attribute_start(Some("xmlns"), prefix.unwrap_or_default(), prefix.is_none());
        self.finish_attribute(uri);
    }

    /// Writes `prefix:local="value"` on the open start tag, escaping the value.
    pub fn attribute(&mut self, prefix: Option<&str>, local: &str, value: &str) {
        self.attribute_start(prefix, local, false);
        self.finish_attribute(value);
    }

    /// Writes escaped character data, closing an open start tag first.
    pub fn text(&mut self, text: &str) {
        self.close_start_tag();
        escape_into(&mut self.buf, text, Context::Text);
    }

    /// Copies `xml` as-is (it must be well-formed in context), closing an open start tag
    /// first.
    pub fn raw(&mut self, xml: &[u8]) {
        self.close_start_tag();
        self.buf.extend_from_slice(xml);
    }

    /// Copies a fragment cut out of another document, declaring on each of its top-level
    /// elements the `inherited` bindings it relies on from its old context, so that it
    /// stays well-formed here. Bindings listed in `in_scope` (already declared here, with
    /// the same URI) and bindings the element declares itself are not repeated. A
    /// fragment quick-xml cannot parse is copied as-is from the point of failure.
    pub fn raw_with_namespaces(&mut self, xml: &[u8], inherited: &[(String, String)], in_scope: &[(&str, &str)]) {
        self.close_start_tag();
        let needed: Vec<(&str, &str)> = inherited
            .iter()
            .map(|(p, u)| (p.as_str(), u.as_str()))
            .filter(|binding| !in_scope.contains(binding))
            .collect();
        if needed.is_empty() || xml.starts_with(b"\xEF\xBB\xBF") {
            self.buf.extend_from_slice(xml);
            return;
        }
        let copied = self.copy_injecting(xml, &needed);
        self.buf.extend_from_slice(xml.get(copied..).unwrap_or_default());
    }

    /// Copies `xml` up to the end of the last top-level start tag name it finds, injecting
    /// the `needed` declarations after each such name. Returns how much was copied.
    fn copy_injecting(&mut self, xml: &[u8], needed: &[(&str, &str)]) -> usize {
        let mut reader = Reader::from_reader(xml);
        let mut copied = 0;
        let mut depth = 0usize;
        loop {
            let start = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
            let (tag, is_start) = match reader.read_event() {
                Ok(Event::Start(e)) => (e, true),
                Ok(Event::Empty(e)) => (e, false),
                Ok(Event::End(_)) => {
                    depth = depth.saturating_sub(1);
                    continue;
                }
                Ok(Event::Eof) | Err(_) => return copied,
                Ok(_) => continue,
            };
            if depth == 0 {
                let name = tag.name().into_inner().as_bytes();
                let name_end = start.saturating_add(1).saturating_add(name.len());
                if xml.get(start.saturating_add(1)..name_end) != Some(name) {
                    return copied;
                }
                self.buf.extend_from_slice(xml.get(copied..name_end).unwrap_or_default());
                copied = name_end;
                for &(prefix, uri) in needed.iter().filter(|(p, _)| !declares(&tag, p)) {
                    self.buf.push(b' ');
                    self.write_name(Some("xmlns"), prefix);
                    self.finish_attribute(uri);
                }
            }
            if is_start {
                depth += 1;
            }
        }
    }

    /// Closes the innermost open element: `/>` if its start tag is still open (no content),
    /// else `</prefix:local>`.
    pub fn end_element(&mut self) {
        debug_assert!(!self.open.is_empty(), "XmlWriter::end_element without an open element");
        let Some((start, end)) = self.open.pop() else { return };
        if self.tag_open {
            self.buf.extend_from_slice(b"/>");
            self.tag_open = false;
        } else {
            self.buf.extend_from_slice(b"</");
            self.buf.extend_from_within(start..end);
            self.buf.push(b'>');
        }
    }

    /// `<prefix:local>text</prefix:local>`.
    pub fn element_with_text(&mut self, prefix: Option<&str>, local: &str, text: &str) {
        self.start_element(prefix, local);
        self.text(text);
        self.end_element();
    }

    /// The bytes written so far (an open start tag is not yet closed).
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// The bytes written, consuming the writer.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// Number of elements currently open (started and not yet ended).
    pub fn depth(&self) -> usize {
        self.open.len()
    }

    /// Number of bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True if nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    fn close_start_tag(&mut self) {
        if self.tag_open {
            self.buf.push(b'>');
            self.tag_open = false;
        }
    }

    /// ` prefix:local="` (or ` prefix="` when `bare_prefix`, for `xmlns="..."`).
    fn attribute_start(&mut self, prefix: Option<&str>, local: &str, bare_prefix: bool) {
        debug_assert!(self.tag_open, "XmlWriter: attribute or namespace_decl outside a start tag");
        self.buf.push(b' ');
        if bare_prefix {
            self.write_name(None, prefix.unwrap_or_default());
        } else {
            self.write_name(prefix, local);
        }
    }

    fn finish_attribute(&mut self, value: &str) {
        self.buf.extend_from_slice(b"=\"");
        escape_into(&mut self.buf, value, Context::Attribute);
        self.buf.push(b'"');
    }

    fn write_name(&mut self, prefix: Option<&str>, local: &str) {
        if let Some(p) = prefix.filter(|p| !p.is_empty()) {
            self.buf.extend_from_slice(p.as_bytes());
            self.buf.push(b':');
        }
        self.buf.extend_from_slice(local.as_bytes());
    }
}

/// True if the start tag declares `prefix` (`""` = the default namespace) itself.
fn declares(tag: &BytesStart<'_>, prefix: &str) -> bool {
    tag.attributes().with_checks(false).flatten().any(|a| match a.key.as_namespace_binding() {
        Some(PrefixDeclaration::Default) => prefix.is_empty(),
        Some(PrefixDeclaration::Named(p)) => p == prefix,
        None => false,
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    Text,
    Attribute,
}

/// Appends `s` escaped for `context`: `<`, `>`, `&` and CR always (CR as `&#13;` so that
/// end-of-line normalisation keeps it); in attributes also quotes, tab and LF (which
/// attribute-value normalisation would turn into spaces).
fn escape_into(buf: &mut Vec<u8>, s: &str, context: Context) {
    let bytes = s.as_bytes();
    let in_attribute = context == Context::Attribute;
    // The usual text (an action URI, an ID, a short value) has nothing to escape: find that
    // out with a branch-free pass the compiler vectorises, then copy it whole.
    let attention = |b: u8| b < 0x20 || b == b'<' || b == b'>' || b == b'&' || b == 0xEF || b == b'"' || b == b'\'';
    if !bytes.iter().fold(false, |seen, &b| seen | attention(b)) {
        buf.extend_from_slice(bytes);
        return;
    }
    let mut copied = 0;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let (replacement, width): (&[u8], usize) = match b {
            b'<' => (b"&lt;", 1),
            b'>' => (b"&gt;", 1),
            b'&' => (b"&amp;", 1),
            b'\r' => (b"&#13;", 1),
            b'"' if in_attribute => (b"&quot;", 1),
            b'\'' if in_attribute => (b"&apos;", 1),
            b'\t' if in_attribute => (b"&#9;", 1),
            b'\n' if in_attribute => (b"&#10;", 1),
            b'\t' | b'\n' => {
                i += 1;
                continue;
            }
            0..=0x1F => (REPLACEMENT, 1),
            0xEF if matches!(bytes.get(i + 1..i + 3), Some([0xBF, 0xBE | 0xBF])) => (REPLACEMENT, 3),
            _ => {
                i += 1;
                continue;
            }
        };
        buf.extend_from_slice(bytes.get(copied..i).unwrap_or_default());
        buf.extend_from_slice(replacement);
        i += width;
        copied = i;
    }
    buf.extend_from_slice(bytes.get(copied..).unwrap_or_default());
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::xml::{QName, ReaderQuotas, XmlEvent, XmlReader};
    use proptest::prelude::*;

    fn written(f: impl FnOnce(&mut XmlWriter)) -> String {
        let mut w = XmlWriter::new();
        f(&mut w);
        String::from_utf8(w.into_bytes()).unwrap()
    }

    #[test]
    fn elements_attributes_and_declarations_are_written() {
        let xml = written(|w| {
            w.start_element(Some("s"), "Envelope");
            w.namespace_decl(Some("s"), "urn:s");
            w.namespace_decl(None, "urn:d");
            w.attribute(None, "a", "1");
            w.start_element(None, "empty");
            w.end_element();
            w.element_with_text(Some("s"), "t", "x");
            w.end_element();
        });
        assert_eq!(xml, r#"<s:Envelope xmlns:s="urn:s" xmlns="urn:d" a="1"><empty/><s:t>x</s:t></s:Envelope>"#);
    }

    #[test]
    fn text_and_attribute_escaping() {
        let xml = written(|w| {
            w.start_element(None, "a");
            w.attribute(None, "v", "<&>\"'\t\n\r");
            w.text("<&>\"'\t\n\r]]>");
            w.end_element();
        });
        assert_eq!(xml, "<a v=\"&lt;&amp;&gt;&quot;&apos;&#9;&#10;&#13;\">&lt;&amp;&gt;\"'\t\n&#13;]]&gt;</a>");
    }

    #[test]
    fn characters_xml_cannot_carry_become_replacement_characters() {
        let xml = written(|w| w.element_with_text(None, "a", "x\u{0}\u{1B}\u{FFFE}\u{FFFF}\u{FEFF}y"));
        assert_eq!(xml, "<a>x\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FEFF}y</a>");
    }

    #[test]
    fn raw_closes_open_start_tag() {
        let xml = written(|w| {
            w.start_element(None, "a");
            w.raw(b"<b/>");
            w.end_element();
        });
        assert_eq!(xml, "<a><b/></a>");
    }

    #[test]
    fn raw_with_namespaces_declares_inherited_bindings_on_top_level_elements() {
        let inherited = vec![
            ("s".to_owned(), "urn:s".to_owned()),
            ("e".to_owned(), "urn:e".to_owned()),
            ("d".to_owned(), "urn:d".to_owned()),
        ];
        let xml = written(|w| {
            w.start_element(Some("s"), "Body");
            w.raw_with_namespaces(b" <e:a xmlns:d=\"urn:own\"><e:b/></e:a><e:c/>", &inherited, &[("s", "urn:s")]);
            w.end_element();
        });
        assert_eq!(
            xml,
            "<s:Body> <e:a xmlns:e=\"urn:e\" xmlns:d=\"urn:own\"><e:b/></e:a><e:c xmlns:e=\"urn:e\" xmlns:d=\"urn:d\"/></s:Body>"
        );
    }

    #[test]
    fn raw_with_namespaces_without_needed_bindings_copies_as_is() {
        let xml = written(|w| w.raw_with_namespaces(b"<x:a/>", &[("x".to_owned(), "u".to_owned())], &[("x", "u")]));
        assert_eq!(xml, "<x:a/>");
    }

    /// Any string made of XML characters.
    fn xml_text() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                3 => prop::sample::select(vec!['<', '&', '>', '"', '\'', '\r', '\n', '\t', ' ', ']', ';', '#']),
                2 => any::<char>().prop_filter("XML Char", |c| crate::xml::reader::is_xml_char(*c)),
            ],
            0..48,
        )
        .prop_map(|chars| chars.into_iter().collect())
    }

    proptest! {
        #[test]
        fn text_round_trips_through_writer_and_reader(text in xml_text()) {
            let mut w = XmlWriter::new();
            w.element_with_text(Some("p"), "a", &text);
            let xml = w.into_bytes();
            let inherited = vec![("p".to_owned(), "urn:p".to_owned())];
            let mut r = XmlReader::with_namespaces(&xml, &inherited, &ReaderQuotas::default()).unwrap();
            let XmlEvent::Start(start) = r.next().unwrap() else { panic!("no start") };
            prop_assert_eq!(start.name, QName::new("urn:p", "a"));
            prop_assert_eq!(r.read_text().unwrap(), text);
            prop_assert_eq!(r.next().unwrap(), XmlEvent::Eof);
        }

        #[test]
        fn attribute_round_trips_through_writer_and_reader(value in xml_text(), ns in xml_text()) {
            let mut w = XmlWriter::new();
            w.start_element(None, "a");
            w.namespace_decl(Some("p"), &format!("urn:{ns}"));
            w.attribute(None, "v", &value);
            w.attribute(Some("p"), "w", &value);
            w.end_element();
            let xml = w.into_bytes();
            let mut r = XmlReader::new(&xml, &ReaderQuotas::default()).unwrap();
            let XmlEvent::Start(start) = r.next().unwrap() else { panic!("no start") };
            prop_assert_eq!(start.attribute("", "v"), Some(value.as_str()));
            prop_assert_eq!(start.attribute(&format!("urn:{ns}"), "w").map(str::to_owned), Some(value.clone()));
        }
    }
}
