//! The typed WS-Discovery messages, their SOAP 1.2 encoding and their quota-checked
//! decoding.
//!
//! Decoding is tolerant where real peers differ from the schemas (a missing
//! `MetadataVersion`, a ResolveMatch without XAddrs, unknown extension elements are all
//! accepted) and strict where safety needs it: the envelope size, every URI's size, the
//! number of list items, well-formedness, the discovery namespace and an `Action` agreeing
//! with the body. Nothing a peer sends can make it panic.

use bytes::Bytes;

use super::{DPWS_1_1_NAMESPACE, DPWS_2006_02_NAMESPACE, WINDOWS_PUB_NAMESPACE};
use super::{DiscoveryQuotas, DiscoveryVersion, MessageKind};
use crate::addressing::{AddressingHeaders, EndpointReference};
use crate::error::{Error, Result};
use crate::soap::{Envelope, EnvelopeVersion, Header, write_envelope};
use crate::xml::{QName, StartElement, XmlReader, XmlWriter};

/// The prefix written for the discovery namespace.
const D: &str = "d";
/// The prefix written for the addressing namespace.
const A: &str = "a";

/// The `AppSequence` header: lets receivers order Hello, Bye and match messages of one
/// target service.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct AppSequence {
    /// `InstanceId`: incremented each time the service restarts (at most `UINT_MAX`).
    pub instance_id: u32,
    /// `SequenceId`: a URI naming a sequence within the instance (absent = the null
    /// sequence).
    pub sequence_id: Option<String>,
    /// `MessageNumber`: incremented for each message of the sequence; retransmissions
    /// keep it.
    pub message_number: u32,
}

/// The `Scopes` of a Probe: a rule and a list of URIs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scopes {
    /// The `MatchBy` URI as received / to send (`None` = the default RFC 3986 rule). See
    /// [`super::MatchBy::from_uri`].
    pub match_by: Option<String>,
    /// The scope URIs.
    pub uris: Vec<String>,
}

impl Scopes {
    /// The matching rule named by [`Scopes::match_by`].
    pub fn rule(&self) -> super::MatchBy {
        super::MatchBy::from_uri(self.match_by.as_deref())
    }
}

/// A `Probe`: search by types and scopes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Probe {
    /// The requested types (empty = any type).
    pub types: Vec<QName>,
    /// The `Types` text exactly as received (e.g. `"wsdp:Device"`), for answering peers that
    /// compare prefixes literally; ignored when encoding (the encoder writes
    /// [`Probe::types`] with conventional prefixes, `wsdp` for DPWS 2006).
    pub types_text: Option<String>,
    /// The requested scopes (`None` = no `Scopes` element).
    pub scopes: Option<Scopes>,
}

/// A `Resolve`: ask for the transport addresses of one endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resolve {
    /// The endpoint reference to resolve.
    pub endpoint: EndpointReference,
}

/// What a target service says about itself in Hello, Bye, ProbeMatch and ResolveMatch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointInfo {
    /// The endpoint reference; its address is the stable identity (`urn:uuid:…`).
    pub endpoint: EndpointReference,
    /// The types implemented (e.g. `wsdp:Device`, `pub:Computer`).
    pub types: Vec<QName>,
    /// The `Types` text as received; ignored when encoding (see [`Probe::types_text`]).
    pub types_text: Option<String>,
    /// The scope URIs (a URI must not contain whitespace: the list is space-separated).
    pub scopes: Vec<String>,
    /// The transport addresses (`XAddrs`; space-separated on the wire like the scopes).
    pub xaddrs: Vec<String>,
    /// `MetadataVersion` (absent in Bye and from some peers).
    pub metadata_version: Option<u32>,
}

/// A `Hello` announcement's content.
pub type Hello = EndpointInfo;
/// A `Bye` announcement's content (types, scopes, XAddrs and metadata version optional).
pub type Bye = EndpointInfo;
/// One `ProbeMatch` of a `ProbeMatches`.
pub type ProbeMatch = EndpointInfo;
/// The `ResolveMatch` of a `ResolveMatches`.
pub type ResolveMatch = EndpointInfo;

/// A WS-Discovery message body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiscoveryMessage {
    /// `Hello`.
    Hello(Hello),
    /// `Bye`.
    Bye(Bye),
    /// `Probe`.
    Probe(Probe),
    /// `ProbeMatches` (zero or more `ProbeMatch`).
    ProbeMatches(Vec<ProbeMatch>),
    /// `Resolve`.
    Resolve(Resolve),
    /// `ResolveMatches` (zero or one `ResolveMatch`).
    ResolveMatches(Option<ResolveMatch>),
}

/// A decoded discovery datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedDiscovery {
    /// The version, from the namespace of the body element.
    pub version: DiscoveryVersion,
    /// The WS-Addressing headers (of the version's addressing namespace); `action` is
    /// always present.
    pub addressing: AddressingHeaders,
    /// The `AppSequence` header, if present.
    pub app_sequence: Option<AppSequence>,
    /// The message.
    pub message: DiscoveryMessage,
}

impl DiscoveryMessage {
    /// The kind of this message.
    pub fn kind(&self) -> MessageKind {
        match self {
            DiscoveryMessage::Hello(_) => MessageKind::Hello,
            DiscoveryMessage::Bye(_) => MessageKind::Bye,
            DiscoveryMessage::Probe(_) => MessageKind::Probe,
            DiscoveryMessage::ProbeMatches(_) => MessageKind::ProbeMatches,
            DiscoveryMessage::Resolve(_) => MessageKind::Resolve,
            DiscoveryMessage::ResolveMatches(_) => MessageKind::ResolveMatches,
        }
    }

    /// The whole SOAP 1.2 envelope (with XML declaration) of this message.
    ///
    /// The header holds the addressing headers of `addressing` (Action, MessageID,
    /// RelatesTo, …, To) and, if given, `d:AppSequence`. A missing `action` is filled with
    /// the message's action; a missing `to` with the ad-hoc multicast `To` for Hello, Bye,
    /// Probe and Resolve, and with the anonymous address for the matches. Types are written
    /// as prefixed QNames with conventional prefixes (`wsdp` for DPWS 2006, `dpws`, `pub`,
    /// else `t0`, `t1`, …) declared on the `Types` element.
    pub fn to_envelope(
        &self,
        version: DiscoveryVersion,
        addressing: &AddressingHeaders,
        app_sequence: Option<&AppSequence>,
    ) -> Vec<u8> {
        let kind = self.kind();
        let av = version.addressing();
        let mut a = addressing.clone();
        if a.action.is_none() {
            a.action = Some(version.action(kind));
        }
        if a.to.is_none() {
            a.to = Some(if kind.is_reply() {
                av.anonymous_uri().unwrap_or_default().to_owned()
            } else {
                version.multicast_to().to_owned()
            });
        }
        let mut headers = a.to_headers(av, EnvelopeVersion::Soap12);
        if let Some(seq) = app_sequence {
            headers.push(app_sequence_header(version, seq));
        }
        write_envelope(EnvelopeVersion::Soap12, &headers, &self.body_xml(version))
    }

    /// The body content (one element declaring the `d` and `a` prefixes).
    fn body_xml(&self, version: DiscoveryVersion) -> Vec<u8> {
        let mut w = XmlWriter::with_capacity(512);
        w.start_element(Some(D), self.kind().local_name());
        w.namespace_decl(Some(D), version.namespace());
        w.namespace_decl(Some(A), version.addressing().namespace().unwrap_or_default());
        match self {
            DiscoveryMessage::Hello(info) | DiscoveryMessage::Bye(info) => write_info(&mut w, info),
            DiscoveryMessage::Probe(probe) => {
                if !probe.types.is_empty() {
                    write_types(&mut w, &probe.types);
                }
                if let Some(scopes) = &probe.scopes {
                    w.start_element(Some(D), "Scopes");
                    if let Some(rule) = &scopes.match_by {
                        w.attribute(None, "MatchBy", rule);
                    }
                    w.text(&scopes.uris.join(" "));
                    w.end_element();
                }
            }
            DiscoveryMessage::ProbeMatches(matches) => {
                for info in matches {
                    w.start_element(Some(D), "ProbeMatch");
                    write_info(&mut w, info);
                    w.end_element();
                }
            }
            DiscoveryMessage::Resolve(resolve) => write_endpoint(&mut w, &resolve.endpoint),
            DiscoveryMessage::ResolveMatches(info) => {
                if let Some(info) = info {
                    w.start_element(Some(D), "ResolveMatch");
                    write_info(&mut w, info);
                    w.end_element();
                }
            }
        }
        w.end_element();
        w.into_bytes()
    }

    /// Decodes a discovery datagram (a SOAP 1.2 or 1.1 envelope).
    ///
    /// Errors: more than `max_envelope_size` octets, a URI longer than `max_uri_size`, or
    /// more than `max_list_items` items is `QuotaExceeded`; anything malformed (not XML,
    /// not an envelope, a body that is not a discovery message of a known version, a
    /// missing or disagreeing `Action`, a bad `AppSequence`, an unbound Types prefix, a
    /// `mustUnderstand` header we do not know) is `InvalidFormat`. A SOAP fault is
    /// `InvalidFormat` too: discovery over UDP never carries one to a client.
    pub fn parse(bytes: &[u8], quotas: &DiscoveryQuotas) -> Result<ReceivedDiscovery> {
        if bytes.len() > quotas.max_envelope_size {
            return Err(Error::quota_exceeded(format!(
                "discovery envelope of {} octets exceeds MAX_ENVELOPE_SIZE ({})",
                bytes.len(),
                quotas.max_envelope_size
            )));
        }
        let mut rq = quotas.reader;
        rq.max_total_bytes = rq.max_total_bytes.min(quotas.max_envelope_size);
        let env = Envelope::parse(Bytes::copy_from_slice(bytes), None, &rq, quotas.max_headers)?;

        let mut r = env.body.reader(&rq)?;
        let top = r.next_element()?.ok_or_else(|| Error::invalid_format("the discovery message has an empty Body"))?;
        let version = DiscoveryVersion::from_namespace(&top.name.namespace)
            .ok_or_else(|| Error::invalid_format(format!("{} is not a WS-Discovery message", top.name)))?;
        let kind = MessageKind::from_local_name(&top.name.local)
            .ok_or_else(|| Error::invalid_format(format!("{} is not a WS-Discovery message", top.name)))?;

        let av = version.addressing();
        let addressing = AddressingHeaders::from_headers(&env.headers, av, &rq)?;
        let action = addressing.action.as_deref().ok_or_else(|| {
            Error::invalid_format(format!(
                "the discovery message has no {} Action header",
                av.namespace().unwrap_or("")
            ))
        })?;
        let mut checker = Checker { quotas, items: 0 };
        let header_uris =
            [addressing.message_id.as_deref(), addressing.to.as_deref(), addressing.relates_to.as_deref()];
        for uri in header_uris.into_iter().flatten().chain([action]) {
            checker.uri(uri)?;
        }
        for endpoint in [&addressing.reply_to, &addressing.fault_to, &addressing.from].into_iter().flatten() {
            checker.uri(&endpoint.address)?;
        }
        if version.kind_of_action(action) != Some(kind) {
            return Err(Error::invalid_format(format!(
                "Action '{action}' does not match the body element {}",
                top.name
            )));
        }

        let seq_name = QName::new(version.namespace(), "AppSequence");
        if let Err(fault) = env.check_must_understand(|n| *n == seq_name || AddressingHeaders::understands(n, av)) {
            return Err(Error::invalid_format(fault.reason));
        }
        let app_sequence = match env.header(version.namespace(), "AppSequence") {
            Some(h) => Some(read_app_sequence(h, &mut checker, &rq)?),
            None => None,
        };

        let mut body =
            BodyReader { r, xml: &env.body.xml, d: version.namespace(), a: av.namespace().unwrap_or(""), checker };
        let message = body.message(kind)?;
        Ok(ReceivedDiscovery { version, addressing, app_sequence, message })
    }
}

/// Quota bookkeeping while decoding.
struct Checker<'q> {
    quotas: &'q DiscoveryQuotas,
    items: usize,
}

impl Checker<'_> {
    fn uri(&self, uri: &str) -> Result<()> {
        if uri.len() > self.quotas.max_uri_size {
            return Err(Error::quota_exceeded(format!(
                "a URI of {} octets exceeds MAX_URI_SIZE ({})",
                uri.len(),
                self.quotas.max_uri_size
            )));
        }
        Ok(())
    }

    fn item(&mut self) -> Result<()> {
        self.items += 1;
        if self.items > self.quotas.max_list_items {
            return Err(Error::quota_exceeded(format!(
                "the discovery message has more than {} list items",
                self.quotas.max_list_items
            )));
        }
        Ok(())
    }

    /// A whitespace-separated list of URIs.
    fn uri_list(&mut self, text: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for uri in text.split_ascii_whitespace() {
            self.item()?;
            self.uri(uri)?;
            out.push(uri.to_owned());
        }
        Ok(out)
    }
}

fn read_app_sequence(h: &Header, checker: &mut Checker<'_>, rq: &crate::xml::ReaderQuotas) -> Result<AppSequence> {
    let mut r = h.reader(rq)?;
    let start = r.next_element()?.ok_or_else(|| Error::invalid_format("empty AppSequence header"))?;
    let number = |name: &str| -> Result<u32> {
        let value =
            start.attribute("", name).ok_or_else(|| Error::invalid_format(format!("AppSequence without {name}")))?;
        parse_unsigned_int(value).map_err(|e| e.context(format!("AppSequence/@{name}")))
    };
    let instance_id = number("InstanceId")?;
    let message_number = number("MessageNumber")?;
    let sequence_id = start.attribute("", "SequenceId").map(|s| s.trim().to_owned());
    if let Some(s) = &sequence_id {
        checker.uri(s)?;
    }
    Ok(AppSequence { instance_id, sequence_id, message_number })
}

/// An `xs:unsignedInt` (surrounding whitespace allowed).
fn parse_unsigned_int(value: &str) -> Result<u32> {
    let v = value.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid_format(format!("'{value}' is not an xs:unsignedInt")));
    }
    v.parse::<u32>().map_err(|_| Error::invalid_format(format!("'{value}' is out of range for xs:unsignedInt")))
}

/// Reads the body element's content.
struct BodyReader<'a, 'q> {
    r: XmlReader<'a>,
    xml: &'a Bytes,
    d: &'static str,
    a: &'static str,
    checker: Checker<'q>,
}

impl BodyReader<'_, '_> {
    fn message(&mut self, kind: MessageKind) -> Result<DiscoveryMessage> {
        Ok(match kind {
            MessageKind::Hello => DiscoveryMessage::Hello(self.info("Hello")?),
            MessageKind::Bye => DiscoveryMessage::Bye(self.info("Bye")?),
            MessageKind::Probe => DiscoveryMessage::Probe(self.probe()?),
            MessageKind::Resolve => {
                let mut endpoint = None;
                while let Some(child) = self.r.next_element()? {
                    if child.name.is(self.a, "EndpointReference") && endpoint.is_none() {
                        endpoint = Some(self.endpoint()?);
                    } else {
                        self.r.skip_element()?;
                    }
                }
                let endpoint = endpoint.ok_or_else(|| Error::invalid_format("Resolve without EndpointReference"))?;
                DiscoveryMessage::Resolve(Resolve { endpoint })
            }
            MessageKind::ProbeMatches => {
                let mut matches = Vec::new();
                while let Some(child) = self.r.next_element()? {
                    if child.name.is(self.d, "ProbeMatch") {
                        self.checker.item()?;
                        matches.push(self.info("ProbeMatch")?);
                    } else {
                        self.r.skip_element()?;
                    }
                }
                DiscoveryMessage::ProbeMatches(matches)
            }
            MessageKind::ResolveMatches => {
                let mut found = None;
                while let Some(child) = self.r.next_element()? {
                    if child.name.is(self.d, "ResolveMatch") && found.is_none() {
                        found = Some(self.info("ResolveMatch")?);
                    } else {
                        self.r.skip_element()?;
                    }
                }
                DiscoveryMessage::ResolveMatches(found)
            }
        })
    }

    fn probe(&mut self) -> Result<Probe> {
        let mut probe = Probe::default();
        while let Some(child) = self.r.next_element()? {
            if child.name.is(self.d, "Types") {
                let (types, text) = self.types()?;
                probe.types = types;
                probe.types_text = Some(text);
            } else if child.name.is(self.d, "Scopes") {
                probe.scopes = Some(self.scopes(&child)?);
            } else {
                self.r.skip_element()?;
            }
        }
        Ok(probe)
    }

    fn scopes(&mut self, start: &StartElement) -> Result<Scopes> {
        let match_by = start.attribute("", "MatchBy").map(|s| s.trim().to_owned());
        if let Some(m) = &match_by {
            self.checker.uri(m)?;
        }
        let text = self.r.read_text()?;
        Ok(Scopes { match_by, uris: self.checker.uri_list(&text)? })
    }

    /// After the Start of Hello / Bye / ProbeMatch / ResolveMatch.
    fn info(&mut self, what: &str) -> Result<EndpointInfo> {
        let mut info = EndpointInfo::default();
        let mut endpoint = None;
        while let Some(child) = self.r.next_element()? {
            let name = &child.name;
            if name.is(self.a, "EndpointReference") && endpoint.is_none() {
                endpoint = Some(self.endpoint()?);
            } else if name.is(self.d, "Types") {
                let (types, text) = self.types()?;
                info.types = types;
                info.types_text = Some(text);
            } else if name.is(self.d, "Scopes") {
                info.scopes = self.scopes(&child)?.uris;
            } else if name.is(self.d, "XAddrs") {
                let text = self.r.read_text()?;
                info.xaddrs = self.checker.uri_list(&text)?;
            } else if name.is(self.d, "MetadataVersion") {
                info.metadata_version = Some(parse_unsigned_int(&self.r.read_text()?)?);
            } else {
                self.r.skip_element()?;
            }
        }
        info.endpoint = endpoint.ok_or_else(|| Error::invalid_format(format!("{what} without EndpointReference")))?;
        Ok(info)
    }

    /// After the Start of `wsa:EndpointReference`.
    fn endpoint(&mut self) -> Result<EndpointReference> {
        let a = self.a;
        EndpointReference::read(&mut self.r, self.xml, |ns| ns == a, self.checker.quotas.max_uri_size)
    }

    /// After the Start of `Types`: the resolved QNames and the literal text.
    fn types(&mut self) -> Result<(Vec<QName>, String)> {
        let text = self.r.read_text()?;
        // The End of Types was the last event: its own declarations are still listed.
        let scope = self.r.namespaces_in_scope();
        let max_name = self.checker.quotas.reader.max_name_bytes;
        let mut names = Vec::new();
        for token in text.split_ascii_whitespace() {
            self.checker.item()?;
            if token.len() > max_name {
                return Err(Error::quota_exceeded(format!(
                    "a type name of {} bytes exceeds max_name_bytes ({max_name})",
                    token.len()
                )));
            }
            names.push(resolve_qname(token, &scope)?);
        }
        Ok((names, text))
    }
}

/// Resolves one `prefix:local` / `local` token against in-scope bindings (an unprefixed
/// name takes the default namespace, as `xs:QName` does).
fn resolve_qname(token: &str, scope: &[(String, String)]) -> Result<QName> {
    let (prefix, local) = token.split_once(':').unwrap_or(("", token));
    if local.is_empty() || local.contains(':') || (token.contains(':') && prefix.is_empty()) {
        return Err(Error::invalid_format(format!("'{token}' is not a valid QName")));
    }
    match scope.iter().find(|(p, _)| p == prefix) {
        Some((_, ns)) => Ok(QName::new(ns.clone(), local)),
        None if prefix.is_empty() => Ok(QName::new("", local)),
        None => Err(Error::invalid_format(format!("the prefix of type '{token}' is not bound"))),
    }
}

/// The conventional prefix for a type namespace (`None` for no namespace).
fn type_prefix(ns: &str, index: usize) -> Option<String> {
    match ns {
        "" => None,
        DPWS_2006_02_NAMESPACE => Some("wsdp".to_owned()),
        DPWS_1_1_NAMESPACE => Some("dpws".to_owned()),
        WINDOWS_PUB_NAMESPACE => Some("pub".to_owned()),
        _ => Some(format!("t{index}")),
    }
}

fn write_types(w: &mut XmlWriter, types: &[QName]) {
    let mut namespaces: Vec<&str> = Vec::new();
    for t in types {
        if !t.namespace.is_empty() && !namespaces.contains(&t.namespace.as_str()) {
            namespaces.push(&t.namespace);
        }
    }
    let prefixes: Vec<(&str, Option<String>)> =
        namespaces.iter().enumerate().map(|(i, ns)| (*ns, type_prefix(ns, i))).collect();
    w.start_element(Some(D), "Types");
    for (ns, prefix) in &prefixes {
        w.namespace_decl(prefix.as_deref(), ns);
    }
    let mut text = String::new();
    for t in types {
        if !text.is_empty() {
            text.push(' ');
        }
        if let Some((_, Some(p))) = prefixes.iter().find(|(ns, _)| *ns == t.namespace) {
            text.push_str(p);
            text.push(':');
        }
        text.push_str(&t.local);
    }
    w.text(&text);
    w.end_element();
}

fn write_endpoint(w: &mut XmlWriter, endpoint: &EndpointReference) {
    w.start_element(Some(A), "EndpointReference");
    w.element_with_text(Some(A), "Address", &endpoint.address);
    if let Some(parameters) = &endpoint.reference_parameters {
        w.start_element(Some(A), "ReferenceParameters");
        w.raw(parameters);
        w.end_element();
    }
    w.end_element();
}

fn write_info(w: &mut XmlWriter, info: &EndpointInfo) {
    write_endpoint(w, &info.endpoint);
    if !info.types.is_empty() {
        write_types(w, &info.types);
    }
    if !info.scopes.is_empty() {
        w.element_with_text(Some(D), "Scopes", &info.scopes.join(" "));
    }
    if !info.xaddrs.is_empty() {
        w.element_with_text(Some(D), "XAddrs", &info.xaddrs.join(" "));
    }
    if let Some(v) = info.metadata_version {
        w.element_with_text(Some(D), "MetadataVersion", &v.to_string());
    }
}

/// `<d:AppSequence xmlns:d=".." InstanceId=".." [SequenceId=".."] MessageNumber=".."/>`.
fn app_sequence_header(version: DiscoveryVersion, seq: &AppSequence) -> Header {
    let mut w = XmlWriter::with_capacity(160);
    w.start_element(Some(D), "AppSequence");
    w.namespace_decl(Some(D), version.namespace());
    w.attribute(None, "InstanceId", &seq.instance_id.to_string());
    if let Some(id) = &seq.sequence_id {
        w.attribute(None, "SequenceId", id);
    }
    w.attribute(None, "MessageNumber", &seq.message_number.to_string());
    w.end_element();
    Header::from_xml(QName::new(version.namespace(), "AppSequence"), Bytes::from(w.into_bytes()), false)
}
