//! WS-Addressing for soapwire: the August 2004 submission (`WS_ADDRESSING_VERSION_0_9`),
//! WS-Addressing 1.0 (`WS_ADDRESSING_VERSION_1_0`) and transport-only addressing.
//!
//! This module owns the message addressing headers: reading them out of received
//! [`Header`]s ([`AddressingHeaders::from_headers`]), writing them as header blocks
//! ([`AddressingHeaders::to_headers`]), telling which ones soapwire understands (for the
//! `mustUnderstand` check) and WWSAPI's safe default of honouring only anonymous
//! `ReplyTo`/`FaultTo` addresses.
//!
//! ```
//! use soapwire_proto::addressing::{AddressingHeaders, AddressingVersion};
//! use soapwire_proto::soap::EnvelopeVersion;
//! use soapwire_proto::xml::ReaderQuotas;
//!
//! let request = AddressingHeaders {
//!     action: Some("http://example.org/echo/echo".into()),
//!     message_id: Some("urn:uuid:0f5c1c9e-4f8a-4a3e-9d61-0b8c1f6f2a10".into()),
//!     ..AddressingHeaders::default()
//! };
//! let headers = request.to_headers(AddressingVersion::V1_0, EnvelopeVersion::Soap12);
//! let read = AddressingHeaders::from_headers(&headers, AddressingVersion::V1_0, &ReaderQuotas::default())?;
//! assert_eq!(read, request);
//! # Ok::<(), soapwire_proto::Error>(())
//! ```

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::soap::{EnvelopeVersion, Header};
use crate::xml::{QName, ReaderQuotas, XmlWriter};

/// The WS-Addressing August 2004 namespace.
pub const WSA_2004_08_NAMESPACE: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
/// The WS-Addressing 1.0 namespace.
pub const WSA_1_0_NAMESPACE: &str = "http://www.w3.org/2005/08/addressing";
/// The anonymous address of WS-Addressing August 2004.
pub const WSA_2004_08_ANONYMOUS: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous";
/// The anonymous address of WS-Addressing 1.0.
pub const WSA_1_0_ANONYMOUS: &str = "http://www.w3.org/2005/08/addressing/anonymous";

/// The prefix soapwire writes addressing headers with.
const WSA_PREFIX: &str = "a";

/// The addressing headers soapwire understands, by local name.
const HEADER_NAMES: [&str; 7] = ["To", "Action", "MessageID", "RelatesTo", "ReplyTo", "FaultTo", "From"];

/// A WS-Addressing version (`WS_ADDRESSING_VERSION`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AddressingVersion {
    /// WS-Addressing August 2004 (`WS_ADDRESSING_VERSION_0_9`).
    V0_9,
    /// WS-Addressing 1.0 (`WS_ADDRESSING_VERSION_1_0`), soapwire's default.
    V1_0,
    /// Transport addressing only (`WS_ADDRESSING_VERSION_TRANSPORT`): no addressing headers.
    Transport,
}

impl AddressingVersion {
    /// The namespace of the headers, or `None` for transport addressing.
    pub fn namespace(self) -> Option<&'static str> {
        match self {
            AddressingVersion::V0_9 => Some(WSA_2004_08_NAMESPACE),
            AddressingVersion::V1_0 => Some(WSA_1_0_NAMESPACE),
            AddressingVersion::Transport => None,
        }
    }

    /// The anonymous ("reply on the same connection") address, or `None` for transport
    /// addressing.
    pub fn anonymous_uri(self) -> Option<&'static str> {
        match self {
            AddressingVersion::V0_9 => Some(WSA_2004_08_ANONYMOUS),
            AddressingVersion::V1_0 => Some(WSA_1_0_ANONYMOUS),
            AddressingVersion::Transport => None,
        }
    }

    /// The version whose namespace is `ns`, if any.
    pub fn from_namespace(ns: &str) -> Option<AddressingVersion> {
        match ns {
            WSA_2004_08_NAMESPACE => Some(AddressingVersion::V0_9),
            WSA_1_0_NAMESPACE => Some(AddressingVersion::V1_0),
            _ => None,
        }
    }
}

/// An endpoint reference (`ReplyTo`, `FaultTo`, `From`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointReference {
    /// The `Address` URI.
    pub address: String,
    /// The raw XML content of `ReferenceParameters`, if present. Prefixes it uses must be
    /// declared inside it to survive being written into another message.
    pub reference_parameters: Option<Bytes>,
}

impl EndpointReference {
    /// Reads the content of a `wsa:EndpointReference` whose start tag `r` just returned, up
    /// to and including its end tag: the `Address` (trimmed; longer than `max_uri_size`
    /// octets is `QuotaExceeded`) and the `ReferenceParameters` kept as raw XML cut from
    /// `xml`, the buffer `r` reads. Children are WS-Addressing elements when `is_wsa` says
    /// their namespace is one; other children are skipped. No `Address` is `InvalidFormat`.
    pub(crate) fn read(
        r: &mut crate::xml::XmlReader<'_>,
        xml: &Bytes,
        is_wsa: impl Fn(&str) -> bool,
        max_uri_size: usize,
    ) -> Result<EndpointReference> {
        let mut address = None;
        let mut reference_parameters = None;
        while let Some(child) = r.next_element()? {
            let wsa = is_wsa(&child.name.namespace);
            if wsa && child.name.local == "Address" {
                let text = r.read_text()?;
                let text = text.trim();
                if text.len() > max_uri_size {
                    return Err(Error::quota_exceeded(format!(
                        "EndpointReference/Address is {} octets, more than MAX_URI_SIZE ({max_uri_size})",
                        text.len()
                    )));
                }
                address = Some(text.to_owned());
            } else if wsa && child.name.local == "ReferenceParameters" {
                reference_parameters = Some(crate::soap::cut(xml, r.raw_content()?)?);
            } else {
                r.skip_element()?;
            }
        }
        let address = address.ok_or_else(|| Error::invalid_format("EndpointReference without Address"))?;
        Ok(EndpointReference { address, reference_parameters })
    }

    /// An endpoint reference with just an address.
    pub fn new(address: impl Into<String>) -> EndpointReference {
        EndpointReference { address: address.into(), reference_parameters: None }
    }
}

/// The addressing headers of one message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddressingHeaders {
    /// `To`: the destination address.
    pub to: Option<String>,
    /// `Action`: the operation.
    pub action: Option<String>,
    /// `MessageID`.
    pub message_id: Option<String>,
    /// `RelatesTo` (reply relationship): the `MessageID` of the request.
    pub relates_to: Option<String>,
    /// `ReplyTo`.
    pub reply_to: Option<EndpointReference>,
    /// `FaultTo`.
    pub fault_to: Option<EndpointReference>,
    /// `From`.
    pub from: Option<EndpointReference>,
}

impl AddressingHeaders {
    /// Reads the addressing headers of `version` (headers of other namespaces are
    /// ignored; transport addressing reads nothing). A repeated header is `InvalidFormat`.
    pub fn from_headers(
        headers: &[Header],
        version: AddressingVersion,
        quotas: &ReaderQuotas,
    ) -> Result<AddressingHeaders> {
        let mut out = AddressingHeaders::default();
        let Some(ns) = version.namespace() else { return Ok(out) };
        for header in headers.iter().filter(|h| h.name.namespace == ns) {
            let local = header.name.local.as_str();
            match local {
                "To" => set_once(&mut out.to, local, || uri_text(header, quotas))?,
                "Action" => set_once(&mut out.action, local, || uri_text(header, quotas))?,
                "MessageID" => set_once(&mut out.message_id, local, || uri_text(header, quotas))?,
                "RelatesTo" => set_once(&mut out.relates_to, local, || uri_text(header, quotas))?,
                "ReplyTo" => set_once(&mut out.reply_to, local, || read_endpoint(header, ns, quotas))?,
                "FaultTo" => set_once(&mut out.fault_to, local, || read_endpoint(header, ns, quotas))?,
                "From" => set_once(&mut out.from, local, || read_endpoint(header, ns, quotas))?,
                _ => {}
            }
        }
        Ok(out)
    }

    /// The addressing version the headers use: that of the first WS-Addressing header.
    pub fn detect_version(headers: &[Header]) -> Option<AddressingVersion> {
        headers.iter().find_map(|h| AddressingVersion::from_namespace(&h.name.namespace))
    }

    /// The headers as header blocks for an envelope of `envelope`'s version, in the order
    /// Action, MessageID, RelatesTo, ReplyTo, FaultTo, From, To. `Action` and `To` carry
    /// `mustUnderstand="1"` (as WCF does). Transport addressing gives no headers.
    pub fn to_headers(&self, version: AddressingVersion, envelope: EnvelopeVersion) -> Vec<Header> {
        let Some(ns) = version.namespace() else { return Vec::new() };
        let text = |local: &str, value: &str, must_understand: bool| {
            Header::text_with_prefix(QName::new(ns, local), WSA_PREFIX, value, must_understand, envelope)
        };
        let mut headers = Vec::with_capacity(4);
        if let Some(action) = &self.action {
            headers.push(text("Action", action, true));
        }
        if let Some(id) = &self.message_id {
            headers.push(text("MessageID", id, false));
        }
        if let Some(id) = &self.relates_to {
            headers.push(text("RelatesTo", id, false));
        }
        let endpoints = [("ReplyTo", &self.reply_to), ("FaultTo", &self.fault_to), ("From", &self.from)];
        for (local, endpoint) in endpoints {
            if let Some(endpoint) = endpoint {
                headers.push(endpoint_header(ns, local, endpoint));
            }
        }
        if let Some(to) = &self.to {
            headers.push(text("To", to, true));
        }
        headers
    }

    /// True if `ReplyTo` and `FaultTo` are absent or the anonymous address of `version`:
    /// WWSAPI's safe default is to honour nothing else (no redirection of replies).
    pub fn reply_is_anonymous(&self, version: AddressingVersion) -> bool {
        let anonymous = |endpoint: &Option<EndpointReference>| {
            endpoint.as_ref().is_none_or(|e| Some(e.address.as_str()) == version.anonymous_uri())
        };
        anonymous(&self.reply_to) && anonymous(&self.fault_to)
    }

    /// True if `name` is one of the addressing headers of `version` this module handles
    /// (for the `mustUnderstand` check).
    pub fn understands(name: &QName, version: AddressingVersion) -> bool {
        version.namespace() == Some(name.namespace.as_str()) && HEADER_NAMES.contains(&name.local.as_str())
    }
}

/// Fills `slot` with `read()`, unless it is already filled (a duplicate header).
fn set_once<T>(slot: &mut Option<T>, name: &str, read: impl FnOnce() -> Result<T>) -> Result<()> {
    if slot.is_some() {
        return Err(Error::invalid_format(format!("duplicate WS-Addressing {name} header")));
    }
    *slot = Some(read()?);
    Ok(())
}

/// The text of a URI-valued header, surrounding whitespace removed.
fn uri_text(header: &Header, quotas: &ReaderQuotas) -> Result<String> {
    if let Some(text) = plain_text_content(&header.xml) {
        return Ok(text.trim().to_owned());
    }
    let text = header.text_content(quotas)?;
    let trimmed = text.trim();
    Ok(if trimmed.len() == text.len() { text } else { trimmed.to_owned() })
}

/// The text of a header block cut from a parsed envelope when it is plain: one element
/// holding only character data with no markup, no entity or character reference and no CR
/// (`<a:To s:mustUnderstand="1">urn:x</a:To>`). Such content means exactly its bytes, and
/// the envelope parse already checked it (characters, quotas), so no reader is needed: the
/// common To/Action/MessageID/RelatesTo headers are read without building one. Anything
/// else (`None`) goes through the XML reader.
fn plain_text_content(xml: &[u8]) -> Option<&str> {
    let s = std::str::from_utf8(xml).ok()?;
    let tag_end = s.find('>')?;
    let tag = &s[..tag_end];
    // A '>' inside a quoted attribute value would end the tag too early: quotes must pair.
    if tag.bytes().filter(|&b| b == b'"').count() % 2 != 0 || tag.contains('\'') || tag.ends_with('/') {
        return None;
    }
    let close = s.rfind("</")?;
    let content = s.get(tag_end + 1..close)?;
    if content.contains(['<', '&', '\r']) || !s[close..].trim_end().ends_with('>') {
        return None;
    }
    Some(content)
}

/// An endpoint reference header: `Address` (required) and `ReferenceParameters` (raw).
fn read_endpoint(header: &Header, ns: &str, quotas: &ReaderQuotas) -> Result<EndpointReference> {
    let mut r = header.reader(quotas)?;
    if r.next_element()?.is_none() {
        return Err(Error::invalid_format(format!("empty {} header", header.name.local)));
    }
    let mut endpoint = EndpointReference::default();
    let mut address = None;
    while let Some(child) = r.next_element()? {
        if child.name.is(ns, "Address") {
            address = Some(r.read_text()?.trim().to_owned());
        } else if child.name.is(ns, "ReferenceParameters") {
            endpoint.reference_parameters = Some(crate::soap::cut(&header.xml, r.raw_content()?)?);
        } else {
            r.skip_element()?;
        }
    }
    endpoint.address =
        address.ok_or_else(|| Error::invalid_format(format!("{} header without Address", header.name.local)))?;
    Ok(endpoint)
}

/// `<a:local xmlns:a="ns"><a:Address>..</a:Address>[<a:ReferenceParameters>..]</a:local>`.
fn endpoint_header(ns: &str, local: &str, endpoint: &EndpointReference) -> Header {
    let parameters = endpoint.reference_parameters.as_ref();
    let mut w = XmlWriter::with_capacity(160 + endpoint.address.len() + parameters.map_or(0, Bytes::len));
    w.start_element(Some(WSA_PREFIX), local);
    w.namespace_decl(Some(WSA_PREFIX), ns);
    w.element_with_text(Some(WSA_PREFIX), "Address", &endpoint.address);
    if let Some(parameters) = parameters {
        w.start_element(Some(WSA_PREFIX), "ReferenceParameters");
        w.raw(parameters);
        w.end_element();
    }
    w.end_element();
    Header::from_xml(QName::new(ns, local), Bytes::from(w.into_bytes()), false)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::soap::{Envelope, SOAP12_NAMESPACE, write_envelope};

    fn q() -> ReaderQuotas {
        ReaderQuotas::default()
    }

    #[test]
    fn plain_header_text_is_read_without_a_reader_and_anything_else_goes_through_one() {
        assert_eq!(plain_text_content(br#"<a:To s:mustUnderstand="1"> urn:x </a:To>"#), Some(" urn:x "));
        assert_eq!(plain_text_content(b"<To>urn:y</To>"), Some("urn:y"));
        for other in [
            &br#"<a:To>a &amp; b</a:To>"#[..],
            br#"<a:To><![CDATA[urn:x]]></a:To>"#,
            br#"<a:To>urn:<!-- c -->x</a:To>"#,
            br#"<a:To x="1>2">urn:x</a:To>"#,
            br#"<a:To x='1'>urn:x</a:To>"#,
            b"<a:To/>",
            b"<a:To>a\r\nb</a:To>",
        ] {
            assert_eq!(plain_text_content(other), None, "{}", String::from_utf8_lossy(other));
        }
        // Both ways give the same values for what the fast path takes, and the reader does
        // the rest (entities, CDATA, comments).
        let env = br#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header><a:To s:mustUnderstand="1">http://x/?a=1&amp;b=2</a:To><a:Action><![CDATA[urn:act]]></a:Action><a:MessageID> urn:id </a:MessageID><a:RelatesTo>urn:<!--c-->rel</a:RelatesTo></s:Header><s:Body/></s:Envelope>"#;
        let parsed = Envelope::parse(Bytes::from_static(env), None, &q(), 64).unwrap();
        let a = AddressingHeaders::from_headers(&parsed.headers, AddressingVersion::V1_0, &q()).unwrap();
        assert_eq!(a.to.as_deref(), Some("http://x/?a=1&b=2"));
        assert_eq!(a.action.as_deref(), Some("urn:act"));
        assert_eq!(a.message_id.as_deref(), Some("urn:id"));
        assert_eq!(a.relates_to.as_deref(), Some("urn:rel"));
    }

    fn full_headers(version: AddressingVersion) -> AddressingHeaders {
        AddressingHeaders {
            to: Some("http://localhost:8080/echo".to_owned()),
            action: Some("http://example.org/echo/echo".to_owned()),
            message_id: Some("urn:uuid:6b29fc40-ca47-1067-b31d-00dd010662da".to_owned()),
            relates_to: Some("urn:uuid:00000000-0000-0000-0000-000000000001".to_owned()),
            reply_to: Some(EndpointReference::new(version.anonymous_uri().unwrap())),
            fault_to: Some(EndpointReference {
                address: "http://client/faults".to_owned(),
                reference_parameters: Some(Bytes::from_static(b"<p:Key xmlns:p=\"urn:p\">42 &amp; more</p:Key>")),
            }),
            from: Some(EndpointReference::new("http://client/")),
        }
    }

    /// `to_headers`, through a whole envelope on the wire, then `from_headers`.
    fn through_the_wire(h: &AddressingHeaders, version: AddressingVersion, envelope: EnvelopeVersion) -> Envelope {
        let wire = write_envelope(envelope, &h.to_headers(version, envelope), b"");
        Envelope::parse(Bytes::from(wire), Some(envelope), &q(), 16).unwrap()
    }

    #[test]
    fn wsa10_headers_round_trip() {
        let h = full_headers(AddressingVersion::V1_0);
        let headers = h.to_headers(AddressingVersion::V1_0, EnvelopeVersion::Soap12);
        assert_eq!(headers.len(), 7);
        assert_eq!(AddressingHeaders::from_headers(&headers, AddressingVersion::V1_0, &q()).unwrap(), h);
        let env = through_the_wire(&h, AddressingVersion::V1_0, EnvelopeVersion::Soap12);
        assert_eq!(AddressingHeaders::from_headers(&env.headers, AddressingVersion::V1_0, &q()).unwrap(), h);
    }

    #[test]
    fn wsa2004_headers_round_trip() {
        let h = full_headers(AddressingVersion::V0_9);
        let env = through_the_wire(&h, AddressingVersion::V0_9, EnvelopeVersion::Soap11);
        assert_eq!(AddressingHeaders::detect_version(&env.headers), Some(AddressingVersion::V0_9));
        assert_eq!(AddressingHeaders::from_headers(&env.headers, AddressingVersion::V0_9, &q()).unwrap(), h);
        let other = AddressingHeaders::from_headers(&env.headers, AddressingVersion::V1_0, &q()).unwrap();
        assert_eq!(other, AddressingHeaders::default(), "headers of another version are ignored");
    }

    #[test]
    fn action_and_to_are_must_understand() {
        let h = full_headers(AddressingVersion::V1_0);
        let env = through_the_wire(&h, AddressingVersion::V1_0, EnvelopeVersion::Soap12);
        let must: Vec<&str> = env.headers.iter().filter(|h| h.must_understand).map(|h| h.name.local.as_str()).collect();
        assert_eq!(must, ["Action", "To"]);
        assert!(env.check_must_understand(|n| AddressingHeaders::understands(n, AddressingVersion::V1_0)).is_ok());
        assert!(env.check_must_understand(|n| AddressingHeaders::understands(n, AddressingVersion::V0_9)).is_err());
    }

    #[test]
    fn transport_addressing_has_no_headers() {
        let h = full_headers(AddressingVersion::V1_0);
        assert!(h.to_headers(AddressingVersion::Transport, EnvelopeVersion::Soap12).is_empty());
        let headers = h.to_headers(AddressingVersion::V1_0, EnvelopeVersion::Soap12);
        let read = AddressingHeaders::from_headers(&headers, AddressingVersion::Transport, &q()).unwrap();
        assert_eq!(read, AddressingHeaders::default());
        assert!(!AddressingHeaders::understands(&QName::new(WSA_1_0_NAMESPACE, "To"), AddressingVersion::Transport));
    }

    #[test]
    fn reply_to_anonymous_detection() {
        let v = AddressingVersion::V1_0;
        let mut h = AddressingHeaders::default();
        assert!(h.reply_is_anonymous(v), "absent ReplyTo");
        h.reply_to = Some(EndpointReference::new(WSA_1_0_ANONYMOUS));
        assert!(h.reply_is_anonymous(v));
        assert!(!h.reply_is_anonymous(AddressingVersion::V0_9), "1.0 anonymous is not 2004/08 anonymous");
        h.fault_to = Some(EndpointReference::new("http://attacker.example/"));
        assert!(!h.reply_is_anonymous(v), "FaultTo elsewhere");
        h.fault_to = None;
        h.reply_to = Some(EndpointReference::new("http://attacker.example/"));
        assert!(!h.reply_is_anonymous(v), "ReplyTo elsewhere");
    }

    #[test]
    fn duplicate_message_id_is_invalid_format() {
        let id = |v: &str| Header::text(QName::new(WSA_1_0_NAMESPACE, "MessageID"), v, false, EnvelopeVersion::Soap12);
        let headers = [id("urn:1"), id("urn:2")];
        let e = AddressingHeaders::from_headers(&headers, AddressingVersion::V1_0, &q()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidFormat);
        assert!(e.to_string().contains("MessageID"), "{e}");
    }

    #[test]
    fn duplicate_to_action_relates_to_and_reply_to_are_invalid_format() {
        for local in ["To", "Action", "RelatesTo"] {
            let h = Header::text(QName::new(WSA_1_0_NAMESPACE, local), "urn:x", false, EnvelopeVersion::Soap12);
            let e = AddressingHeaders::from_headers(&[h.clone(), h], AddressingVersion::V1_0, &q()).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidFormat, "{local}");
        }
        let reply = AddressingHeaders { reply_to: Some(EndpointReference::new("urn:r")), ..Default::default() }
            .to_headers(AddressingVersion::V1_0, EnvelopeVersion::Soap12);
        let twice = [reply.clone(), reply].concat();
        assert!(AddressingHeaders::from_headers(&twice, AddressingVersion::V1_0, &q()).is_err());
    }

    #[test]
    fn headers_sent_by_a_peer_are_read_with_inherited_prefixes() {
        let xml = format!(
            r#"<s:Envelope xmlns:s="{SOAP12_NAMESPACE}" xmlns:wsa="{WSA_1_0_NAMESPACE}"><s:Header>
<wsa:Action s:mustUnderstand="1"> http://example.org/echo/echo </wsa:Action>
<wsa:MessageID>urn:uuid:1</wsa:MessageID>
<wsa:ReplyTo><wsa:Address>{WSA_1_0_ANONYMOUS}</wsa:Address><wsa:Metadata/></wsa:ReplyTo>
</s:Header><s:Body/></s:Envelope>"#
        );
        let env = Envelope::parse(Bytes::from(xml), None, &q(), 16).unwrap();
        assert_eq!(AddressingHeaders::detect_version(&env.headers), Some(AddressingVersion::V1_0));
        let h = AddressingHeaders::from_headers(&env.headers, AddressingVersion::V1_0, &q()).unwrap();
        assert_eq!(h.action.as_deref(), Some("http://example.org/echo/echo"));
        assert_eq!(h.message_id.as_deref(), Some("urn:uuid:1"));
        assert!(h.reply_is_anonymous(AddressingVersion::V1_0));
    }

    #[test]
    fn endpoint_reference_without_address_is_invalid_format() {
        let h = Header::from_xml(
            QName::new(WSA_1_0_NAMESPACE, "ReplyTo"),
            Bytes::from(format!(r#"<a:ReplyTo xmlns:a="{WSA_1_0_NAMESPACE}"/>"#)),
            false,
        );
        let e = AddressingHeaders::from_headers(&[h], AddressingVersion::V1_0, &q()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidFormat);
    }

    #[test]
    fn versions_and_namespaces() {
        for v in [AddressingVersion::V0_9, AddressingVersion::V1_0] {
            assert_eq!(AddressingVersion::from_namespace(v.namespace().unwrap()), Some(v));
        }
        assert_eq!(AddressingVersion::Transport.namespace(), None);
        assert_eq!(AddressingVersion::Transport.anonymous_uri(), None);
        assert_eq!(AddressingHeaders::detect_version(&[]), None);
    }
}
