//! SOAP faults of both versions: reading, writing, and the mapping to and from
//! [`Error`].

use bytes::Bytes;

use super::envelope::{XML_DECLARATION, write_envelope_end, write_envelope_start_with};
use super::{Body, ENV_PREFIX, EnvelopeVersion, Header, SOAP12_NAMESPACE, cut};
use crate::error::{Error, ErrorKind, Result};
use crate::xml::{QName, ReaderQuotas, XML_NAMESPACE, XmlReader, XmlWriter};

/// WS-Addressing 1.0, for the `ActionNotSupported` subcode (kept local: `soap` sits below
/// `addressing`).
const WSA10_NAMESPACE: &str = "http://www.w3.org/2005/08/addressing";

/// The prefix written for a fault code in a namespace other than the envelope's.
const CODE_PREFIX: &str = "c";

/// A fault code. SOAP 1.1's `Client` is [`FaultCode::Sender`] and `Server` is
/// [`FaultCode::Receiver`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FaultCode {
    /// The envelope namespace was not the expected one.
    VersionMismatch,
    /// A `mustUnderstand` header was not understood.
    MustUnderstand,
    /// A header or body used an unsupported data encoding (SOAP 1.2; written as `Client`
    /// in SOAP 1.1, which has no such code).
    DataEncodingUnknown,
    /// The message was wrong (SOAP 1.1 `Client`).
    Sender,
    /// The receiver failed (SOAP 1.1 `Server`).
    Receiver,
    /// Any other code, e.g. a dotted SOAP 1.1 code such as `Client.Authentication`.
    Other(QName),
}

impl FaultCode {
    /// The code as a qualified name in `version`.
    pub fn qname(&self, version: EnvelopeVersion) -> QName {
        let soap11 = version == EnvelopeVersion::Soap11;
        let local = match self {
            FaultCode::VersionMismatch => "VersionMismatch",
            FaultCode::MustUnderstand => "MustUnderstand",
            FaultCode::DataEncodingUnknown if soap11 => "Client",
            FaultCode::DataEncodingUnknown => "DataEncodingUnknown",
            FaultCode::Sender if soap11 => "Client",
            FaultCode::Sender => "Sender",
            FaultCode::Receiver if soap11 => "Server",
            FaultCode::Receiver => "Receiver",
            FaultCode::Other(name) => return name.clone(),
        };
        QName::new(version.namespace(), local)
    }

    /// The code a received qualified name stands for in `version`.
    pub fn from_qname(name: QName, version: EnvelopeVersion) -> FaultCode {
        if name.namespace != version.namespace() {
            return FaultCode::Other(name);
        }
        match (version, name.local.as_str()) {
            (_, "VersionMismatch") => FaultCode::VersionMismatch,
            (_, "MustUnderstand") => FaultCode::MustUnderstand,
            (EnvelopeVersion::Soap12, "DataEncodingUnknown") => FaultCode::DataEncodingUnknown,
            (EnvelopeVersion::Soap11, "Client") | (EnvelopeVersion::Soap12, "Sender") => FaultCode::Sender,
            (EnvelopeVersion::Soap11, "Server") | (EnvelopeVersion::Soap12, "Receiver") => FaultCode::Receiver,
            _ => FaultCode::Other(name),
        }
    }
}

/// A SOAP fault (`WS_FAULT`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// The fault code.
    pub code: FaultCode,
    /// The SOAP 1.2 `Subcode` chain, outermost first. SOAP 1.1 has none when read; when a
    /// `Sender`/`Receiver` fault with subcodes is written as SOAP 1.1, the first subcode
    /// becomes the `faultcode` (as WCF does).
    pub subcodes: Vec<QName>,
    /// The human-readable reason (the first one, for SOAP 1.2).
    pub reason: String,
    /// The `xml:lang` of the reason; written as `"en"` when `None`.
    pub lang: Option<String>,
    /// SOAP 1.1 `faultactor` / SOAP 1.2 `Role`.
    pub actor: Option<String>,
    /// SOAP 1.2 `Node`.
    pub node: Option<String>,
    /// The raw XML content of `detail` / `Detail`. Prefixes it uses must be declared
    /// inside it to survive being written into another envelope.
    pub detail: Option<Bytes>,
    /// For `MustUnderstand` faults: the headers not understood (SOAP 1.2 `NotUnderstood`).
    pub not_understood: Vec<QName>,
}

impl Fault {
    /// A fault with a code and a reason and nothing else.
    pub fn new(code: FaultCode, reason: impl Into<String>) -> Fault {
        Fault {
            code,
            subcodes: Vec::new(),
            reason: reason.into(),
            lang: None,
            actor: None,
            node: None,
            detail: None,
            not_understood: Vec::new(),
        }
    }

    /// Parses the fault that is the first child of `body`; anything else is
    /// `InvalidFormat`.
    pub fn parse(body: &Body, version: EnvelopeVersion, quotas: &ReaderQuotas) -> Result<Fault> {
        let mut r = body.reader(quotas)?;
        match r.next_element()? {
            Some(start) if start.name.is(version.namespace(), "Fault") => {}
            _ => return Err(Error::invalid_format("the body does not hold a SOAP fault")),
        }
        match version {
            EnvelopeVersion::Soap11 => parse_soap11(&mut r, &body.xml),
            EnvelopeVersion::Soap12 => parse_soap12(&mut r, &body.xml),
        }
    }

    /// Writes the `<s:Fault>` element for `version`. It declares the `s` prefix itself,
    /// so it is well-formed anywhere.
    pub fn write(&self, version: EnvelopeVersion, out: &mut XmlWriter) {
        out.start_element(Some(ENV_PREFIX), "Fault");
        out.namespace_decl(Some(ENV_PREFIX), version.namespace());
        match version {
            EnvelopeVersion::Soap11 => self.write_soap11_content(out),
            EnvelopeVersion::Soap12 => self.write_soap12_content(out),
        }
        out.end_element();
    }

    /// A whole fault envelope: `extra_headers`, plus for a SOAP 1.2 `MustUnderstand` fault
    /// one `NotUnderstood` header per entry of [`not_understood`](Self::not_understood).
    pub fn to_envelope(&self, version: EnvelopeVersion, extra_headers: &[Header]) -> Vec<u8> {
        let not_understood = self.not_understood_headers(version);
        let detail_len = self.detail.as_ref().map_or(0, Bytes::len);
        let mut out = XmlWriter::with_capacity(512 + self.reason.len() + detail_len);
        out.raw(XML_DECLARATION);
        write_envelope_start_with(version, extra_headers.iter().chain(&not_understood), &mut out);
        self.write(version, &mut out);
        write_envelope_end(&mut out);
        out.into_bytes()
    }

    /// The fault a server sends for a local error: `InvalidFormat`, `QuotaExceeded` and
    /// `InvalidArgument` are `Sender` faults; `EndpointActionNotSupported` is `Sender` with
    /// subcode `{wsa 1.0}ActionNotSupported`; anything else is `Receiver`. The reason is
    /// the error's strings joined with `": "` if `disclose`, else the kind's generic text.
    pub fn from_error(e: &Error, disclose: bool) -> Fault {
        let (code, subcodes) = match e.kind() {
            ErrorKind::InvalidFormat | ErrorKind::QuotaExceeded | ErrorKind::InvalidArgument => {
                (FaultCode::Sender, Vec::new())
            }
            ErrorKind::EndpointActionNotSupported => {
                (FaultCode::Sender, vec![QName::new(WSA10_NAMESPACE, "ActionNotSupported")])
            }
            _ => (FaultCode::Receiver, Vec::new()),
        };
        let reason = if disclose && !e.strings().is_empty() {
            e.strings().join(": ")
        } else {
            e.kind().description().to_owned()
        };
        Fault { subcodes, ..Fault::new(code, reason) }
    }

    /// The error a client reports for this fault (`WS_E_ENDPOINT_FAULT_RECEIVED`, with the
    /// fault attached).
    pub fn into_error(self) -> Error {
        Error::fault_received(self)
    }

    fn write_soap11_content(&self, out: &mut XmlWriter) {
        let code = match (&self.code, self.subcodes.first()) {
            (FaultCode::Sender | FaultCode::Receiver, Some(subcode)) => subcode.clone(),
            (code, _) => code.qname(EnvelopeVersion::Soap11),
        };
        write_qname_element(out, None, "faultcode", &code, EnvelopeVersion::Soap11);
        out.start_element(None, "faultstring");
        out.attribute(Some("xml"), "lang", self.lang.as_deref().unwrap_or("en"));
        out.text(&self.reason);
        out.end_element();
        if let Some(actor) = &self.actor {
            out.element_with_text(None, "faultactor", actor);
        }
        if let Some(detail) = &self.detail {
            out.start_element(None, "detail");
            out.raw(detail);
            out.end_element();
        }
    }

    fn write_soap12_content(&self, out: &mut XmlWriter) {
        let version = EnvelopeVersion::Soap12;
        out.start_element(Some(ENV_PREFIX), "Code");
        write_qname_element(out, Some(ENV_PREFIX), "Value", &self.code.qname(version), version);
        for subcode in &self.subcodes {
            out.start_element(Some(ENV_PREFIX), "Subcode");
            write_qname_element(out, Some(ENV_PREFIX), "Value", subcode, version);
        }
        for _ in &self.subcodes {
            out.end_element();
        }
        out.end_element();
        out.start_element(Some(ENV_PREFIX), "Reason");
        out.start_element(Some(ENV_PREFIX), "Text");
        out.attribute(Some("xml"), "lang", self.lang.as_deref().unwrap_or("en"));
        out.text(&self.reason);
        out.end_element();
        out.end_element();
        if let Some(node) = &self.node {
            out.element_with_text(Some(ENV_PREFIX), "Node", node);
        }
        if let Some(role) = &self.actor {
            out.element_with_text(Some(ENV_PREFIX), "Role", role);
        }
        if let Some(detail) = &self.detail {
            out.start_element(Some(ENV_PREFIX), "Detail");
            out.raw(detail);
            out.end_element();
        }
    }

    /// `<s:NotUnderstood qname="q:local" xmlns:q="ns"/>` headers (SOAP 1.2 MustUnderstand
    /// faults only).
    fn not_understood_headers(&self, version: EnvelopeVersion) -> Vec<Header> {
        if version != EnvelopeVersion::Soap12 || self.code != FaultCode::MustUnderstand {
            return Vec::new();
        }
        let envelope_binding = vec![(ENV_PREFIX.to_owned(), SOAP12_NAMESPACE.to_owned())];
        self.not_understood
            .iter()
            .map(|name| {
                let mut w = XmlWriter::with_capacity(64 + name.namespace.len() + name.local.len());
                w.start_element(Some(ENV_PREFIX), "NotUnderstood");
                let value = if name.namespace.is_empty() {
                    name.local.clone()
                } else {
                    w.namespace_decl(Some("q"), &name.namespace);
                    format!("q:{}", name.local)
                };
                w.attribute(None, "qname", &value);
                w.end_element();
                Header {
                    namespaces: envelope_binding.clone(),
                    ..Header::from_xml(
                        QName::new(SOAP12_NAMESPACE, "NotUnderstood"),
                        Bytes::from(w.into_bytes()),
                        false,
                    )
                }
            })
            .collect()
    }
}

/// `<prefix:local>p:name</prefix:local>`, declaring `p` on the element when the name is
/// not in the envelope namespace (bound to `s`) nor in no namespace.
fn write_qname_element(out: &mut XmlWriter, prefix: Option<&str>, local: &str, name: &QName, version: EnvelopeVersion) {
    out.start_element(prefix, local);
    if name.namespace == version.namespace() {
        out.text(ENV_PREFIX);
        out.text(":");
    } else if !name.namespace.is_empty() {
        out.namespace_decl(Some(CODE_PREFIX), &name.namespace);
        out.text(CODE_PREFIX);
        out.text(":");
    }
    out.text(&name.local);
    out.end_element();
}

/// The children of a SOAP 1.1 `Fault` (unqualified; envelope-qualified ones accepted).
fn parse_soap11(r: &mut XmlReader<'_>, xml: &Bytes) -> Result<Fault> {
    let version = EnvelopeVersion::Soap11;
    let mut fault = Fault::new(FaultCode::Receiver, "");
    let mut code = None;
    while let Some(child) = r.next_element()? {
        if !child.name.namespace.is_empty() && child.name.namespace != version.namespace() {
            r.skip_element()?;
            continue;
        }
        match child.name.local.as_str() {
            "faultcode" => code = Some(FaultCode::from_qname(r.read_qname()?, version)),
            "faultstring" => {
                fault.lang = child.attribute(XML_NAMESPACE, "lang").map(str::to_owned);
                fault.reason = r.read_text()?;
            }
            "faultactor" => fault.actor = Some(r.read_text()?),
            "detail" => fault.detail = Some(cut(xml, r.raw_content()?)?),
            _ => r.skip_element()?,
        }
    }
    fault.code = code.ok_or_else(|| Error::invalid_format("SOAP 1.1 fault without faultcode"))?;
    Ok(fault)
}

/// The children of a SOAP 1.2 `Fault`.
fn parse_soap12(r: &mut XmlReader<'_>, xml: &Bytes) -> Result<Fault> {
    let ns = EnvelopeVersion::Soap12.namespace();
    let mut fault = Fault::new(FaultCode::Receiver, "");
    let mut code = None;
    while let Some(child) = r.next_element()? {
        if child.name.namespace != ns {
            r.skip_element()?;
            continue;
        }
        match child.name.local.as_str() {
            "Code" => {
                let (value, subcodes) = parse_soap12_code(r)?;
                code = Some(value);
                fault.subcodes = subcodes;
            }
            "Reason" => (fault.reason, fault.lang) = parse_soap12_reason(r)?,
            "Node" => fault.node = Some(r.read_text()?),
            "Role" => fault.actor = Some(r.read_text()?),
            "Detail" => fault.detail = Some(cut(xml, r.raw_content()?)?),
            _ => r.skip_element()?,
        }
    }
    fault.code = code.ok_or_else(|| Error::invalid_format("SOAP 1.2 fault without Code"))?;
    Ok(fault)
}

/// Inside `Code`: its `Value` and the `Value`s of the nested `Subcode`s, up to `</Code>`.
fn parse_soap12_code(r: &mut XmlReader<'_>) -> Result<(FaultCode, Vec<QName>)> {
    let version = EnvelopeVersion::Soap12;
    let ns = version.namespace();
    let mut value = None;
    let mut subcodes = Vec::new();
    let mut open_subcodes = 0usize;
    loop {
        match r.next_element()? {
            Some(c) if c.name.is(ns, "Value") => {
                let name = r.read_qname()?;
                if open_subcodes == 0 {
                    value = Some(FaultCode::from_qname(name, version));
                } else {
                    subcodes.push(name);
                }
            }
            Some(c) if c.name.is(ns, "Subcode") => open_subcodes += 1,
            Some(_) => r.skip_element()?,
            None if open_subcodes == 0 => break,
            None => open_subcodes -= 1,
        }
    }
    let value = value.ok_or_else(|| Error::invalid_format("SOAP 1.2 fault Code without Value"))?;
    Ok((value, subcodes))
}

/// Inside `Reason`: the first `Text` and its `xml:lang`, up to `</Reason>`.
fn parse_soap12_reason(r: &mut XmlReader<'_>) -> Result<(String, Option<String>)> {
    let ns = EnvelopeVersion::Soap12.namespace();
    let mut reason = None;
    while let Some(child) = r.next_element()? {
        if reason.is_none() && child.name.is(ns, "Text") {
            let lang = child.attribute(XML_NAMESPACE, "lang").map(str::to_owned);
            reason = Some((r.read_text()?, lang));
        } else {
            r.skip_element()?;
        }
    }
    Ok(reason.unwrap_or_default())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::soap::{Envelope, SOAP11_NAMESPACE};

    fn q() -> ReaderQuotas {
        ReaderQuotas::default()
    }

    /// Writes `fault` as a whole envelope and reads it back.
    fn round_trip(fault: &Fault, version: EnvelopeVersion) -> (Envelope, Fault) {
        let wire = fault.to_envelope(version, &[]);
        let env = Envelope::parse(Bytes::from(wire), Some(version), &q(), 16).unwrap();
        let parsed = env.fault(&q()).unwrap().expect("a fault");
        (env, parsed)
    }

    fn full_fault(code: FaultCode, subcodes: Vec<QName>) -> Fault {
        Fault {
            subcodes,
            lang: Some("en-US".to_owned()),
            actor: Some("urn:actor".to_owned()),
            detail: Some(Bytes::from_static(b"<d:info xmlns:d=\"urn:d\">x &amp; y</d:info>")),
            ..Fault::new(code, "it <failed> & \"how\"")
        }
    }

    #[test]
    fn soap11_fault_round_trips() {
        for code in [
            FaultCode::Sender,
            FaultCode::Receiver,
            FaultCode::VersionMismatch,
            FaultCode::MustUnderstand,
            FaultCode::Other(QName::new("urn:app", "Busy")),
            FaultCode::Other(QName::new(SOAP11_NAMESPACE, "Client.Authentication")),
        ] {
            let fault = full_fault(code, Vec::new());
            let (_, parsed) = round_trip(&fault, EnvelopeVersion::Soap11);
            assert_eq!(parsed, fault);
        }
    }

    #[test]
    fn soap12_fault_round_trips_with_subcodes_node_role_and_detail() {
        let fault = Fault {
            node: Some("urn:node".to_owned()),
            ..full_fault(FaultCode::Sender, vec![QName::new("urn:a", "Outer"), QName::new(SOAP12_NAMESPACE, "Inner")])
        };
        let (_, parsed) = round_trip(&fault, EnvelopeVersion::Soap12);
        assert_eq!(parsed, fault);
        for code in [FaultCode::Receiver, FaultCode::VersionMismatch, FaultCode::DataEncodingUnknown] {
            let fault = Fault::new(code, "r");
            let (_, parsed) = round_trip(&fault, EnvelopeVersion::Soap12);
            assert_eq!(parsed, Fault { lang: Some("en".to_owned()), ..fault });
        }
    }

    #[test]
    fn soap11_faultcode_client_is_sender_and_server_is_receiver() {
        let body = |code: &str| {
            let xml = format!(
                r#"<s:Envelope xmlns:s="{SOAP11_NAMESPACE}"><s:Body><s:Fault><faultcode>{code}</faultcode><faultstring>bad</faultstring></s:Fault></s:Body></s:Envelope>"#
            );
            let env = Envelope::parse(Bytes::from(xml), None, &q(), 4).unwrap();
            env.fault(&q()).unwrap().unwrap()
        };
        let f = body("s:Client");
        assert_eq!(f.code, FaultCode::Sender);
        assert_eq!(f.reason, "bad");
        assert_eq!(f.lang, None);
        assert!(f.subcodes.is_empty());
        assert_eq!(body(" s:Server ").code, FaultCode::Receiver);
        assert_eq!(body("s:Client.Auth").code, FaultCode::Other(QName::new(SOAP11_NAMESPACE, "Client.Auth")));
    }

    #[test]
    fn soap11_fault_with_subcode_writes_the_subcode_as_faultcode() {
        let e = Error::new(ErrorKind::EndpointActionNotSupported, "no such action");
        let fault = Fault::from_error(&e, true);
        let (_, parsed) = round_trip(&fault, EnvelopeVersion::Soap11);
        assert_eq!(parsed.code, FaultCode::Other(QName::new(WSA10_NAMESPACE, "ActionNotSupported")));
    }

    #[test]
    fn soap12_must_understand_fault_carries_not_understood_headers() {
        let mut fault = Fault::new(FaultCode::MustUnderstand, "not understood");
        fault.not_understood = vec![QName::new("urn:h", "A"), QName::new("", "B")];
        let (env, parsed) = round_trip(&fault, EnvelopeVersion::Soap12);
        assert_eq!(parsed.code, FaultCode::MustUnderstand);
        assert_eq!(env.headers.len(), 2);
        let mut qnames = Vec::new();
        for h in &env.headers {
            assert_eq!(h.name, QName::new(SOAP12_NAMESPACE, "NotUnderstood"));
            let mut r = h.reader(&q()).unwrap();
            let start = r.next_element().unwrap().unwrap();
            qnames.push(start.attribute("", "qname").unwrap().to_owned());
        }
        assert_eq!(qnames, ["q:A", "B"]);
        let (env11, _) = round_trip(&fault, EnvelopeVersion::Soap11);
        assert!(env11.headers.is_empty(), "SOAP 1.1 has no NotUnderstood header");
    }

    #[test]
    fn fault_envelope_keeps_extra_headers() {
        let extra = Header::text(QName::new("urn:h", "RelatesTo"), "id-1", false, EnvelopeVersion::Soap12);
        let wire = Fault::new(FaultCode::Receiver, "x").to_envelope(EnvelopeVersion::Soap12, &[extra]);
        let env = Envelope::parse(Bytes::from(wire), None, &q(), 4).unwrap();
        assert_eq!(env.headers[0].text_content(&q()).unwrap(), "id-1");
    }

    #[test]
    fn fault_without_code_is_invalid_format() {
        let xml = format!(
            r#"<s:Envelope xmlns:s="{SOAP12_NAMESPACE}"><s:Body><s:Fault><s:Reason><s:Text xml:lang="en">r</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>"#
        );
        let env = Envelope::parse(Bytes::from(xml), None, &q(), 4).unwrap();
        assert_eq!(env.fault(&q()).unwrap_err().kind(), ErrorKind::InvalidFormat);
    }

    #[test]
    fn parse_of_a_non_fault_body_is_invalid_format() {
        let body = Body { xml: Bytes::from_static(b"<x/>"), namespaces: Vec::new() };
        assert_eq!(Fault::parse(&body, EnvelopeVersion::Soap12, &q()).unwrap_err().kind(), ErrorKind::InvalidFormat);
    }

    #[test]
    fn from_error_maps_kinds_to_codes() {
        let cases = [
            (ErrorKind::InvalidFormat, FaultCode::Sender),
            (ErrorKind::QuotaExceeded, FaultCode::Sender),
            (ErrorKind::InvalidArgument, FaultCode::Sender),
            (ErrorKind::EndpointActionNotSupported, FaultCode::Sender),
            (ErrorKind::OperationTimedOut, FaultCode::Receiver),
            (ErrorKind::OutOfMemory, FaultCode::Receiver),
        ];
        for (kind, code) in cases {
            let fault = Fault::from_error(&Error::from_kind(kind), false);
            assert_eq!(fault.code, code, "{kind:?}");
        }
        let subcodes = Fault::from_error(&Error::from_kind(ErrorKind::EndpointActionNotSupported), false).subcodes;
        assert_eq!(subcodes, vec![QName::new("http://www.w3.org/2005/08/addressing", "ActionNotSupported")]);
    }

    #[test]
    fn from_error_discloses_strings_only_when_asked() {
        let e = Error::invalid_format("bad element at byte 12").context("reading request");
        assert_eq!(Fault::from_error(&e, true).reason, "bad element at byte 12: reading request");
        let hidden = Fault::from_error(&e, false).reason;
        assert!(!hidden.contains("byte 12"));
        assert_eq!(hidden, ErrorKind::InvalidFormat.description());
    }

    #[test]
    fn into_error_is_fault_received_with_the_fault_attached() {
        let e = Fault::new(FaultCode::Sender, "go away").into_error();
        assert_eq!(e.kind(), ErrorKind::EndpointFaultReceived);
        assert_eq!(e.fault().map(|f| f.reason.as_str()), Some("go away"));
    }

    #[test]
    fn fault_code_qnames_per_version() {
        assert_eq!(FaultCode::Sender.qname(EnvelopeVersion::Soap11).local, "Client");
        assert_eq!(FaultCode::Receiver.qname(EnvelopeVersion::Soap11).local, "Server");
        assert_eq!(FaultCode::Sender.qname(EnvelopeVersion::Soap12).local, "Sender");
        assert_eq!(FaultCode::DataEncodingUnknown.qname(EnvelopeVersion::Soap11).local, "Client");
        assert_eq!(
            FaultCode::from_qname(QName::new(SOAP12_NAMESPACE, "Client"), EnvelopeVersion::Soap12),
            FaultCode::Other(QName::new(SOAP12_NAMESPACE, "Client"))
        );
    }
}
