//! Envelope parsing (zero-copy cutting of header blocks and body content), the
//! `mustUnderstand` check and envelope serialisation.

use bytes::Bytes;

use super::{
    ENV_PREFIX, EnvelopeVersion, Fault, FaultCode, SOAP11_ACTOR_NEXT, SOAP12_ROLE_NEXT, SOAP12_ROLE_ULTIMATE_RECEIVER,
    cut,
};
use crate::error::{Error, Result};
use crate::xml::{QName, ReaderQuotas, StartElement, XmlEvent, XmlReader, XmlWriter};

/// The XML declaration soapwire puts in front of every envelope it writes.
pub const XML_DECLARATION: &[u8] = b"<?xml version=\"1.0\" encoding=\"utf-8\"?>";

/// One header block, as received or to be sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The name of the header element.
    pub name: QName,
    /// The `mustUnderstand` attribute (absent = false).
    pub must_understand: bool,
    /// SOAP 1.1 `actor` / SOAP 1.2 `role`, if present.
    pub role: Option<String>,
    /// The whole header element as raw XML (for a received header, a zero-copy slice of
    /// the message buffer).
    pub xml: Bytes,
    /// Namespace bindings inherited from `Envelope`/`Header` (prefix → URI, `""` = default),
    /// needed to re-read `xml`; the header's own declarations are in `xml`.
    pub namespaces: Vec<(String, String)>,
}

impl Header {
    /// A simple header `<h:local xmlns:h="ns" [s:mustUnderstand="1"]>text</h:local>`; the
    /// `s` prefix is the envelope namespace of `version`, which the envelope declares.
    pub fn text(name: QName, text: &str, must_understand: bool, version: EnvelopeVersion) -> Header {
        Header::text_with_prefix(name, "h", text, must_understand, version)
    }

    /// [`Header::text`] with a chosen element prefix (not `s`).
    pub(crate) fn text_with_prefix(
        name: QName,
        prefix: &str,
        text: &str,
        must_understand: bool,
        version: EnvelopeVersion,
    ) -> Header {
        let mut w = XmlWriter::with_capacity(name.namespace.len() + 2 * name.local.len() + text.len() + 64);
        let prefix = (!name.namespace.is_empty()).then_some(prefix);
        w.start_element(prefix, &name.local);
        if let Some(p) = prefix {
            w.namespace_decl(Some(p), &name.namespace);
        }
        if must_understand {
            w.attribute(Some(ENV_PREFIX), "mustUnderstand", "1");
        }
        w.text(text);
        w.end_element();
        let namespaces =
            if must_understand { vec![(ENV_PREFIX.to_owned(), version.namespace().to_owned())] } else { Vec::new() };
        Header { name, must_understand, role: None, xml: Bytes::from(w.into_bytes()), namespaces }
    }

    /// A header from a caller-built element: `xml` must be the whole element, declaring the
    /// namespaces it uses (including the envelope one for a `mustUnderstand` attribute
    /// written with another prefix than `s`).
    pub fn from_xml(name: QName, xml: Bytes, must_understand: bool) -> Header {
        Header { name, must_understand, role: None, xml, namespaces: Vec::new() }
    }

    /// A reader over `xml`, positioned before the element's Start.
    pub fn reader(&self, quotas: &ReaderQuotas) -> Result<XmlReader<'_>> {
        XmlReader::with_namespaces(&self.xml, &self.namespaces, quotas)
    }

    /// The text content of a simple header (a child element is `InvalidFormat`).
    pub fn text_content(&self, quotas: &ReaderQuotas) -> Result<String> {
        let mut r = self.reader(quotas)?;
        match r.next_element()? {
            Some(_) => r.read_text(),
            None => Err(Error::invalid_format(format!("header {} holds no element", self.name))),
        }
    }
}

/// The body of a received envelope: the raw bytes between the `Body` tags plus the
/// namespace bindings in scope there. Never parsed into a DOM.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Body {
    /// The content of `Body` (a zero-copy slice of the message buffer).
    pub xml: Bytes,
    /// Namespace bindings in scope inside `Body` (prefix → URI, `""` = default).
    pub namespaces: Vec<(String, String)>,
}

impl Body {
    /// A fragment reader over the body content.
    pub fn reader(&self, quotas: &ReaderQuotas) -> Result<XmlReader<'_>> {
        XmlReader::with_namespaces(&self.xml, &self.namespaces, quotas)
    }

    /// The name of the first child element of `Body`, if any (whitespace is skipped).
    pub fn first_element(&self, quotas: &ReaderQuotas) -> Result<Option<QName>> {
        Ok(self.reader(quotas)?.next_element()?.map(|start| start.name))
    }

    /// Writes the body content into another envelope (written by [`write_envelope_start`]
    /// for `version`), declaring on each top-level element the inherited bindings it may
    /// rely on, so that it stays well-formed there.
    pub fn write_content(&self, version: EnvelopeVersion, out: &mut XmlWriter) {
        out.raw_with_namespaces(&self.xml, &self.namespaces, &[(ENV_PREFIX, version.namespace())]);
    }
}

/// A parsed envelope: version, header blocks and body, all sharing the received buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// The SOAP version of the envelope.
    pub version: EnvelopeVersion,
    /// The header blocks, in document order.
    pub headers: Vec<Header>,
    /// The body content.
    pub body: Body,
}

impl Envelope {
    /// Parses a whole envelope: root `Envelope`, optional `Header`, then `Body`, nothing
    /// after. If `expected` is given and the document is of the other version, fails with
    /// `InvalidFormat` and a message containing "VersionMismatch" (as does an unknown
    /// envelope namespace). More than `max_headers` header blocks is `QuotaExceeded`.
    pub fn parse(
        bytes: Bytes,
        expected: Option<EnvelopeVersion>,
        quotas: &ReaderQuotas,
        max_headers: usize,
    ) -> Result<Envelope> {
        let mut r = XmlReader::new(&bytes, quotas)?;
        let root = r.next_element()?.ok_or_else(|| Error::invalid_format("the document has no root element"))?;
        let version = envelope_version(&root.name, expected)?;
        let ns = version.namespace();
        let mut child = r.next_element()?;
        let mut headers = Vec::new();
        if child.as_ref().is_some_and(|c| c.name.is(ns, "Header")) {
            headers = read_headers(&mut r, &bytes, version, max_headers)?;
            child = r.next_element()?;
        }
        let body = match child {
            Some(c) if c.name.is(ns, "Body") => read_body(&mut r, &bytes)?,
            Some(c) => return Err(Error::invalid_format(format!("unexpected {} in the SOAP envelope", c.name))),
            None => return Err(Error::invalid_format("the SOAP envelope has no Body")),
        };
        if let Some(extra) = r.next_element()? {
            return Err(Error::invalid_format(format!("unexpected {} after the SOAP Body", extra.name)));
        }
        match r.next()? {
            XmlEvent::Eof => Ok(Envelope { version, headers, body }),
            other => Err(Error::invalid_format(format!("unexpected {other:?} after the SOAP envelope"))),
        }
    }

    /// The first header named `{ns}local`.
    pub fn header(&self, ns: &str, local: &str) -> Option<&Header> {
        self.headers.iter().find(|h| h.name.is(ns, local))
    }

    /// The fault in the body, if the body's first child is a `Fault` of this version.
    pub fn fault(&self, quotas: &ReaderQuotas) -> Result<Option<Fault>> {
        match self.body.first_element(quotas)? {
            Some(name) if name.is(self.version.namespace(), "Fault") => {
                Fault::parse(&self.body, self.version, quotas).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// The `mustUnderstand` check: every header with `must_understand` whose role targets
    /// us (SOAP 1.1: no actor or `.../actor/next`; SOAP 1.2: no role, `.../role/next` or
    /// `.../role/ultimateReceiver`) and for which `understood(&name)` is false makes a
    /// `MustUnderstand` fault listing them in [`Fault::not_understood`].
    #[expect(clippy::result_large_err, reason = "the contract returns the fault itself; this is not a hot error path")]
    pub fn check_must_understand(&self, understood: impl Fn(&QName) -> bool) -> std::result::Result<(), Fault> {
        let not_understood: Vec<QName> = self
            .headers
            .iter()
            .filter(|h| h.must_understand && role_targets_us(h.role.as_deref(), self.version))
            .filter(|h| !understood(&h.name))
            .map(|h| h.name.clone())
            .collect();
        match not_understood.first() {
            None => Ok(()),
            Some(first) => {
                let reason = format!(
                    "The header '{}' from the namespace '{}' was not understood by the recipient of this message",
                    first.local, first.namespace
                );
                let mut fault = Fault::new(FaultCode::MustUnderstand, reason);
                fault.not_understood = not_understood;
                Err(fault)
            }
        }
    }
}

/// The version of a root element, checked against `expected`.
fn envelope_version(root: &QName, expected: Option<EnvelopeVersion>) -> Result<EnvelopeVersion> {
    if root.local != "Envelope" {
        return Err(Error::invalid_format(format!("the root element {root} is not a SOAP Envelope")));
    }
    let Some(version) = EnvelopeVersion::from_namespace(&root.namespace) else {
        return Err(Error::invalid_format(format!(
            "VersionMismatch: unknown SOAP envelope namespace '{}'",
            root.namespace
        )));
    };
    match expected {
        Some(expected) if expected != version => Err(Error::invalid_format(format!(
            "VersionMismatch: expected a SOAP {} envelope, received SOAP {}",
            expected.number(),
            version.number()
        ))),
        _ => Ok(version),
    }
}

/// After `<Header>`: cuts out each header block, up to and including `</Header>`.
fn read_headers(r: &mut XmlReader<'_>, bytes: &Bytes, version: EnvelopeVersion, max: usize) -> Result<Vec<Header>> {
    let inherited = r.namespaces_in_scope();
    let mut headers = Vec::new();
    while let Some(start) = r.next_element()? {
        if headers.len() >= max {
            return Err(Error::quota_exceeded(format!("the message has more than max_headers ({max}) header blocks")));
        }
        let from = r.event_start();
        let (must_understand, role) = header_attributes(&start, version)?;
        r.skip_element()?;
        let xml = cut(bytes, from..r.position())?;
        headers.push(Header { name: start.name, must_understand, role, xml, namespaces: inherited.clone() });
    }
    Ok(headers)
}

/// `mustUnderstand` and `actor`/`role` of a header block.
fn header_attributes(start: &StartElement, version: EnvelopeVersion) -> Result<(bool, Option<String>)> {
    let ns = version.namespace();
    let must_understand = match start.attribute(ns, "mustUnderstand") {
        None => false,
        Some(value) => parse_boolean(value)?,
    };
    let role_name = match version {
        EnvelopeVersion::Soap11 => "actor",
        EnvelopeVersion::Soap12 => "role",
    };
    Ok((must_understand, start.attribute(ns, role_name).map(str::to_owned)))
}

/// An `xs:boolean`: `1`/`true` or `0`/`false`, surrounding whitespace allowed.
fn parse_boolean(value: &str) -> Result<bool> {
    match value.trim() {
        "1" | "true" => Ok(true),
        "0" | "false" => Ok(false),
        other => Err(Error::invalid_format(format!("mustUnderstand value '{other}' is not a boolean"))),
    }
}

/// After `<Body>`: cuts out its content, up to and including `</Body>`.
fn read_body(r: &mut XmlReader<'_>, bytes: &Bytes) -> Result<Body> {
    let namespaces = r.namespaces_in_scope();
    let range = r.raw_content()?;
    Ok(Body { xml: cut(bytes, range)?, namespaces })
}

/// True if a header with this actor/role is meant for us (the ultimate receiver).
fn role_targets_us(role: Option<&str>, version: EnvelopeVersion) -> bool {
    match (role.map(str::trim), version) {
        (None | Some(""), _) => true,
        (Some(r), EnvelopeVersion::Soap11) => r == SOAP11_ACTOR_NEXT,
        (Some(r), EnvelopeVersion::Soap12) => r == SOAP12_ROLE_NEXT || r == SOAP12_ROLE_ULTIMATE_RECEIVER,
    }
}

/// Writes `<s:Envelope xmlns:s=".."><s:Header>..</s:Header><s:Body>` (the `Header`
/// element only if there are headers). Each header is copied with the inherited bindings
/// it needs declared on it. Finish with [`write_envelope_end`] on the same writer.
pub fn write_envelope_start(version: EnvelopeVersion, headers: &[Header], out: &mut XmlWriter) {
    write_envelope_start_with(version, headers, out);
}

/// [`write_envelope_start`] over any sequence of headers.
pub(crate) fn write_envelope_start_with<'h>(
    version: EnvelopeVersion,
    headers: impl IntoIterator<Item = &'h Header>,
    out: &mut XmlWriter,
) {
    let ns = version.namespace();
    out.start_element(Some(ENV_PREFIX), "Envelope");
    out.namespace_decl(Some(ENV_PREFIX), ns);
    let mut headers = headers.into_iter().peekable();
    if headers.peek().is_some() {
        out.start_element(Some(ENV_PREFIX), "Header");
        for header in headers {
            out.raw_with_namespaces(&header.xml, &header.namespaces, &[(ENV_PREFIX, ns)]);
        }
        out.end_element();
    }
    out.start_element(Some(ENV_PREFIX), "Body");
    out.raw(b"");
}

/// Writes `</s:Body></s:Envelope>`: closes what [`write_envelope_start`] opened if `out`
/// is the same writer, else (a streamed message, whose start went out in another writer)
/// writes the two end tags as they are.
pub fn write_envelope_end(out: &mut XmlWriter) {
    if out.depth() >= 2 {
        out.end_element();
        out.end_element();
    } else {
        out.raw(b"</s:Body></s:Envelope>");
    }
}

/// A whole envelope with the XML declaration whose body is a received [`Body`] (e.g. an
/// echo): its content keeps the namespace bindings it inherited (see
/// [`Body::write_content`]), which copying `body.xml` alone would lose.
pub fn write_envelope_with_body(version: EnvelopeVersion, headers: &[Header], body: &Body) -> Vec<u8> {
    let headers_len: usize = headers.iter().map(|h| h.xml.len()).sum();
    let mut out = XmlWriter::with_capacity(XML_DECLARATION.len() + 256 + headers_len + body.xml.len());
    out.raw(XML_DECLARATION);
    write_envelope_start(version, headers, &mut out);
    body.write_content(version, &mut out);
    write_envelope_end(&mut out);
    out.into_bytes()
}

/// A whole envelope with the XML declaration: headers, then `body_xml` copied as-is (it
/// must be well-formed on its own, or use only the `s` prefix for the envelope namespace;
/// for a received body use [`write_envelope_with_body`]).
pub fn write_envelope(version: EnvelopeVersion, headers: &[Header], body_xml: &[u8]) -> Vec<u8> {
    let headers_len: usize = headers.iter().map(|h| h.xml.len()).sum();
    let mut out = XmlWriter::with_capacity(XML_DECLARATION.len() + 160 + headers_len + body_xml.len());
    out.raw(XML_DECLARATION);
    write_envelope_start(version, headers, &mut out);
    out.raw(body_xml);
    write_envelope_end(&mut out);
    out.into_bytes()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::soap::{SOAP11_NAMESPACE, SOAP12_NAMESPACE, SOAP12_ROLE_NONE};

    /// The peers' sample requests (shared/peers/common/echo11.xml and echo12.xml).
    const ECHO11: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:e="http://example.org/echo"><soap:Body><e:echo><e:message>hello, world</e:message></e:echo></soap:Body></soap:Envelope>
"#;
    const ECHO12: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:e="http://example.org/echo"><soap:Body><e:echo><e:message>hello, world</e:message></e:echo></soap:Body></soap:Envelope>
"#;
    const ECHO_NS: &str = "http://example.org/echo";

    fn q() -> ReaderQuotas {
        ReaderQuotas::default()
    }

    fn parse(xml: &str, expected: Option<EnvelopeVersion>) -> Result<Envelope> {
        Envelope::parse(Bytes::copy_from_slice(xml.as_bytes()), expected, &q(), 64)
    }

    fn envelope12(headers: &str, body: &str) -> String {
        format!(
            r#"<s:Envelope xmlns:s="{SOAP12_NAMESPACE}"><s:Header>{headers}</s:Header><s:Body>{body}</s:Body></s:Envelope>"#
        )
    }

    /// The echo message text, read from the body like a service would.
    fn echo_message(body: &Body) -> String {
        let mut r = body.reader(&q()).unwrap();
        let echo = r.next_element().unwrap().unwrap();
        assert_eq!(echo.name, QName::new(ECHO_NS, "echo"));
        r.next_element().unwrap().unwrap();
        r.read_text().unwrap()
    }

    #[test]
    fn soap11_echo_sample_parses() {
        let env = parse(ECHO11, Some(EnvelopeVersion::Soap11)).unwrap();
        assert_eq!(env.version, EnvelopeVersion::Soap11);
        assert!(env.headers.is_empty());
        assert_eq!(&env.body.xml[..], b"<e:echo><e:message>hello, world</e:message></e:echo>");
        assert_eq!(env.body.first_element(&q()).unwrap(), Some(QName::new(ECHO_NS, "echo")));
        assert_eq!(echo_message(&env.body), "hello, world");
        assert_eq!(env.fault(&q()).unwrap(), None);
    }

    #[test]
    fn soap12_echo_sample_parses() {
        let env = parse(ECHO12, None).unwrap();
        assert_eq!(env.version, EnvelopeVersion::Soap12);
        assert_eq!(echo_message(&env.body), "hello, world");
        assert!(env.body.namespaces.contains(&("e".to_owned(), ECHO_NS.to_owned())));
    }

    #[test]
    fn body_is_a_zero_copy_slice_of_the_input() {
        let input = Bytes::from_static(ECHO12.as_bytes());
        let env = Envelope::parse(input.clone(), None, &q(), 64).unwrap();
        let start = input.as_ptr() as usize;
        let body = env.body.xml.as_ptr() as usize;
        assert!(body > start && body < start + input.len(), "body points into the input buffer");
    }

    #[test]
    fn version_mismatch_is_detected() {
        let e = parse(ECHO11, Some(EnvelopeVersion::Soap12)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidFormat);
        assert!(e.to_string().contains("VersionMismatch"), "{e}");
        let e = parse(ECHO12, Some(EnvelopeVersion::Soap11)).unwrap_err();
        assert!(e.to_string().contains("VersionMismatch"), "{e}");
        let e = parse(r#"<s:Envelope xmlns:s="urn:soap-2.0"><s:Body/></s:Envelope>"#, None).unwrap_err();
        assert!(e.to_string().contains("VersionMismatch"), "{e}");
    }

    #[test]
    fn envelope_structure_is_enforced() {
        let cases = [
            format!(r#"<s:Envelop xmlns:s="{SOAP12_NAMESPACE}"><s:Body/></s:Envelop>"#),
            format!(r#"<s:Envelope xmlns:s="{SOAP12_NAMESPACE}"></s:Envelope>"#),
            format!(r#"<s:Envelope xmlns:s="{SOAP12_NAMESPACE}"><s:Header/></s:Envelope>"#),
            format!(r#"<s:Envelope xmlns:s="{SOAP12_NAMESPACE}"><s:Body/><s:Header/></s:Envelope>"#),
            format!(r#"<s:Envelope xmlns:s="{SOAP12_NAMESPACE}"><s:Body/><x/></s:Envelope>"#),
            format!(r#"<s:Envelope xmlns:s="{SOAP12_NAMESPACE}"><Body/></s:Envelope>"#),
            format!(r#"<s:Envelope xmlns:s="{SOAP12_NAMESPACE}">text<s:Body/></s:Envelope>"#),
            format!(r#"<s:Envelope xmlns:s="{SOAP11_NAMESPACE}"><s:Body/></s:Envelope><x/>"#),
        ];
        for xml in &cases {
            assert_eq!(parse(xml, None).unwrap_err().kind(), ErrorKind::InvalidFormat, "{xml}");
        }
        assert!(
            parse(&format!("<s:Envelope xmlns:s=\"{SOAP12_NAMESPACE}\">\n <s:Body/>\n</s:Envelope>\n"), None).is_ok()
        );
    }

    #[test]
    fn truncated_envelope_is_invalid_format() {
        for cut_at in [10, ECHO12.len() / 2, ECHO12.len() - 20] {
            let e = parse(&ECHO12[..cut_at], None).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidFormat, "cut at {cut_at}: {e}");
        }
    }

    #[test]
    fn empty_body_has_empty_content() {
        let env = parse(&envelope12("", ""), None).unwrap();
        assert!(env.body.xml.is_empty());
        assert_eq!(env.body.first_element(&q()).unwrap(), None);
        let env = parse(&format!(r#"<s:Envelope xmlns:s="{SOAP12_NAMESPACE}"><s:Body/></s:Envelope>"#), None).unwrap();
        assert!(env.body.xml.is_empty());
    }

    #[test]
    fn header_fragments_are_rereadable_with_inherited_namespaces() {
        let xml = format!(
            r#"<s:Envelope xmlns:s="{SOAP12_NAMESPACE}" xmlns:wsa="http://www.w3.org/2005/08/addressing"><s:Header xmlns:x="urn:x"> <wsa:Action s:mustUnderstand="1">urn:echo</wsa:Action>
<x:Custom><x:Inner a="1"/></x:Custom></s:Header><s:Body/></s:Envelope>"#
        );
        let env = parse(&xml, None).unwrap();
        assert_eq!(env.headers.len(), 2);
        let action = env.header("http://www.w3.org/2005/08/addressing", "Action").unwrap();
        assert_eq!(&action.xml[..], br#"<wsa:Action s:mustUnderstand="1">urn:echo</wsa:Action>"#);
        assert!(action.must_understand);
        assert_eq!(action.text_content(&q()).unwrap(), "urn:echo");
        let custom = &env.headers[1];
        assert_eq!(custom.name, QName::new("urn:x", "Custom"));
        assert!(!custom.must_understand);
        let mut r = custom.reader(&q()).unwrap();
        r.next_element().unwrap();
        assert_eq!(r.next_element().unwrap().unwrap().name, QName::new("urn:x", "Inner"));
    }

    #[test]
    fn header_quota_exceeded_reports_quota_exceeded() {
        let xml = envelope12("<a/><b/><c/>", "");
        let err = Envelope::parse(Bytes::from(xml.clone()), None, &q(), 2).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::QuotaExceeded);
        assert!(Envelope::parse(Bytes::from(xml), None, &q(), 3).is_ok());
    }

    #[test]
    fn bad_must_understand_value_is_invalid_format() {
        let xml = envelope12(r#"<a s:mustUnderstand="yes"/>"#, "");
        assert_eq!(parse(&xml, None).unwrap_err().kind(), ErrorKind::InvalidFormat);
    }

    #[test]
    fn must_understand_header_not_understood_faults() {
        let xml = envelope12(
            r#"<a xmlns="urn:h" s:mustUnderstand="1"/><b xmlns="urn:h" s:mustUnderstand="true"/><c xmlns="urn:h" s:mustUnderstand="0"/><d xmlns="urn:h" s:mustUnderstand="false"/><e xmlns="urn:h"/>"#,
            "",
        );
        let env = parse(&xml, None).unwrap();
        let flags: Vec<bool> = env.headers.iter().map(|h| h.must_understand).collect();
        assert_eq!(flags, [true, true, false, false, false]);
        let fault = env.check_must_understand(|_| false).unwrap_err();
        assert_eq!(fault.code, FaultCode::MustUnderstand);
        assert_eq!(fault.not_understood, vec![QName::new("urn:h", "a"), QName::new("urn:h", "b")]);
        assert!(fault.reason.contains("'a'"), "{}", fault.reason);
        assert!(env.check_must_understand(|n| n.local == "a" || n.local == "b").is_ok());
    }

    #[test]
    fn must_understand_honours_soap12_roles() {
        let xml = envelope12(
            &format!(
                r#"<a xmlns="urn:h" s:mustUnderstand="1" s:role="{SOAP12_ROLE_NONE}"/><b xmlns="urn:h" s:mustUnderstand="1" s:role="urn:some-other-node"/><c xmlns="urn:h" s:mustUnderstand="1" s:role="{SOAP12_ROLE_NEXT}"/><d xmlns="urn:h" s:mustUnderstand="1" s:role="{SOAP12_ROLE_ULTIMATE_RECEIVER}"/>"#
            ),
            "",
        );
        let env = parse(&xml, None).unwrap();
        assert_eq!(env.headers[0].role.as_deref(), Some(SOAP12_ROLE_NONE));
        let fault = env.check_must_understand(|_| false).unwrap_err();
        assert_eq!(fault.not_understood, vec![QName::new("urn:h", "c"), QName::new("urn:h", "d")]);
    }

    #[test]
    fn must_understand_honours_soap11_actors() {
        let xml = format!(
            r#"<s:Envelope xmlns:s="{SOAP11_NAMESPACE}"><s:Header><a xmlns="urn:h" s:mustUnderstand="1" s:actor="urn:elsewhere"/><b xmlns="urn:h" s:mustUnderstand="1" s:actor="{SOAP11_ACTOR_NEXT}"/><c xmlns="urn:h" s:mustUnderstand="1"/><d xmlns="urn:h" s:mustUnderstand="1" s:role="urn:elsewhere"/></s:Header><s:Body/></s:Envelope>"#
        );
        let env = parse(&xml, None).unwrap();
        let fault = env.check_must_understand(|_| false).unwrap_err();
        let names: Vec<&str> = fault.not_understood.iter().map(|n| n.local.as_str()).collect();
        assert_eq!(names, ["b", "c", "d"], "SOAP 1.1 ignores a 1.2-style role attribute");
    }

    #[test]
    fn envelope_written_then_parsed_back() {
        let headers = [
            Header::text(QName::new("urn:h", "Plain"), "a < b", false, EnvelopeVersion::Soap11),
            Header::text(QName::new("urn:h", "Must"), "x", true, EnvelopeVersion::Soap11),
        ];
        let wire = write_envelope(EnvelopeVersion::Soap11, &headers, b"<m:op xmlns:m=\"urn:m\">1</m:op>");
        assert!(wire.starts_with(XML_DECLARATION));
        let env = Envelope::parse(Bytes::from(wire), Some(EnvelopeVersion::Soap11), &q(), 8).unwrap();
        assert_eq!(env.headers.len(), 2);
        assert_eq!(env.headers[0].text_content(&q()).unwrap(), "a < b");
        assert!(!env.headers[0].must_understand);
        assert!(env.headers[1].must_understand);
        assert_eq!(env.headers[1].name, QName::new("urn:h", "Must"));
        assert_eq!(env.body.first_element(&q()).unwrap(), Some(QName::new("urn:m", "op")));
    }

    #[test]
    fn envelope_without_headers_has_no_header_element() {
        let wire = write_envelope(EnvelopeVersion::Soap12, &[], b"");
        let expected = format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><s:Envelope xmlns:s=\"{SOAP12_NAMESPACE}\"><s:Body></s:Body></s:Envelope>"
        );
        assert_eq!(String::from_utf8(wire).unwrap(), expected);
    }

    #[test]
    fn write_envelope_start_ends_with_a_complete_body_tag() {
        let mut w = XmlWriter::new();
        write_envelope_start(EnvelopeVersion::Soap12, &[], &mut w);
        assert!(w.as_bytes().ends_with(b"<s:Body>"));
        write_envelope_end(&mut w);
        assert!(w.as_bytes().ends_with(b"</s:Body></s:Envelope>"));
        assert_eq!(w.depth(), 0);
    }

    #[test]
    fn streamed_envelope_end_in_a_fresh_writer_closes_body_and_envelope() {
        let mut start = XmlWriter::new();
        write_envelope_start(EnvelopeVersion::Soap11, &[], &mut start);
        let mut end = XmlWriter::new();
        write_envelope_end(&mut end);
        assert_eq!(end.as_bytes(), b"</s:Body></s:Envelope>");
        let wire = [start.as_bytes(), b"<x xmlns=\"urn:x\"/>", end.as_bytes()].concat();
        let env = Envelope::parse(Bytes::from(wire), None, &q(), 4).unwrap();
        assert_eq!(env.body.first_element(&q()).unwrap(), Some(QName::new("urn:x", "x")));
    }

    #[test]
    fn echoing_a_received_body_keeps_its_inherited_namespaces() {
        let received = parse(ECHO11, None).unwrap();
        let naive = write_envelope(EnvelopeVersion::Soap11, &[], &received.body.xml);
        assert!(Envelope::parse(Bytes::from(naive), None, &q(), 4).is_err(), "xmlns:e was on the old Envelope");
        let reply = write_envelope_with_body(EnvelopeVersion::Soap11, &[], &received.body);
        let env = Envelope::parse(Bytes::from(reply), None, &q(), 4).unwrap();
        assert_eq!(echo_message(&env.body), "hello, world");
    }

    #[test]
    fn received_headers_and_body_can_be_echoed_into_a_new_envelope() {
        // xmlns:e and xmlns:wsa are declared on the received Envelope only.
        let xml = format!(
            r#"<soap:Envelope xmlns:soap="{SOAP12_NAMESPACE}" xmlns:e="{ECHO_NS}" xmlns:wsa="urn:wsa"><soap:Header><wsa:Id soap:mustUnderstand="1">7</wsa:Id></soap:Header><soap:Body><e:echo><e:message>hi</e:message></e:echo></soap:Body></soap:Envelope>"#
        );
        let received = parse(&xml, None).unwrap();
        let mut out = XmlWriter::new();
        write_envelope_start(EnvelopeVersion::Soap12, &received.headers, &mut out);
        received.body.write_content(EnvelopeVersion::Soap12, &mut out);
        write_envelope_end(&mut out);
        let echoed = Envelope::parse(Bytes::from(out.into_bytes()), None, &q(), 8).unwrap();
        assert_eq!(echoed.headers[0].name, QName::new("urn:wsa", "Id"));
        assert!(echoed.headers[0].must_understand);
        assert_eq!(echoed.headers[0].text_content(&q()).unwrap(), "7");
        assert_eq!(echo_message(&echoed.body), "hi");
    }
}
