//! Writing metadata exchange messages: the GetResponse body (`wsx:Metadata`), the whole
//! GetResponse and Get envelopes, and the WS-Addressing faults a metadata host answers with.
//!
//! The body follows what WSDAPI and wsdd send: sections in the order ThisDevice, ThisModel,
//! Relationship, every prefix declared once on `wsx:Metadata`, and type names written with
//! conventional prefixes (`wsdp`/`dpws`, `pub`, `pnpx`, else `t0`, `t1`, …). The prefixes
//! matter: wsdd's client compares the Host's `Types` text with the literal `pub:Computer`.

use bytes::Bytes;

use super::model::{Characteristic, DeviceMetadata, Extension, HostService, HostedService, Relationship};
use super::{
    DpwsVersion, GET_ACTION, GET_RESPONSE_ACTION, PNPX_NAMESPACE, Section, WINDOWS_PUB_NAMESPACE, WSX_NAMESPACE,
};
use crate::addressing::{AddressingHeaders, AddressingVersion, EndpointReference, WSA_2004_08_NAMESPACE};
use crate::soap::{EnvelopeVersion, Fault, FaultCode, write_envelope};
use crate::xml::{QName, XmlWriter};

/// The prefix of the WS-MetadataExchange namespace.
const WSX: &str = "wsx";
/// The prefix of the WS-Addressing namespace inside the body.
const WSA: &str = "wsa";

/// Namespace → prefix, in declaration order, and how many `tN` prefixes were made up.
struct Prefixes(Vec<(String, String)>, usize);

impl Prefixes {
    /// The prefixes a body of `version` declares for `metadata`.
    fn for_metadata(version: DpwsVersion, metadata: &DeviceMetadata) -> Prefixes {
        let mut p = Prefixes(Vec::new(), 0);
        p.add(WSX_NAMESPACE, WSX);
        p.add(version.namespace(), version.prefix());
        p.add(version.addressing().namespace().unwrap_or(WSA_2004_08_NAMESPACE), WSA);
        if metadata.this_model.as_ref().is_some_and(|m| m.device_category.is_some()) {
            p.add(PNPX_NAMESPACE, "pnpx");
        }
        let relationships = metadata.relationships.iter();
        let hosts = relationships.clone().filter_map(|r| r.host.as_ref());
        if hosts.clone().any(|h| h.computer.is_some()) {
            p.add(WINDOWS_PUB_NAMESPACE, "pub");
        }
        let host_types = hosts.flat_map(|h| h.types.iter());
        let hosted_types = relationships.flat_map(|r| r.hosted.iter()).flat_map(|h| h.types.iter());
        for name in host_types.chain(hosted_types).filter(|q| !q.namespace.is_empty()) {
            let conventional = match name.namespace.as_str() {
                WINDOWS_PUB_NAMESPACE => Some("pub"),
                PNPX_NAMESPACE => Some("pnpx"),
                ns => DpwsVersion::from_namespace(ns).map(DpwsVersion::prefix),
            };
            p.add(&name.namespace, conventional.unwrap_or(""));
        }
        p
    }

    /// Binds `ns` to `prefix` unless `ns` already has a prefix. An empty or already taken
    /// `prefix` is replaced by the next free `t0`, `t1`, ….
    fn add(&mut self, ns: &str, prefix: &str) {
        if self.0.iter().any(|(n, _)| n == ns) {
            return;
        }
        let taken = |p: &str| self.0.iter().any(|(_, q)| q == p);
        let mut prefix = prefix.to_owned();
        while prefix.is_empty() || taken(&prefix) {
            prefix = format!("t{}", self.1);
            self.1 += 1;
        }
        self.0.push((ns.to_owned(), prefix));
    }

    fn of(&self, ns: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == ns).map(|(_, p)| p.as_str())
    }

    /// `prefix:local` for each name, space-separated.
    fn types_text(&self, names: &[QName]) -> String {
        let mut text = String::new();
        for name in names {
            if !text.is_empty() {
                text.push(' ');
            }
            if let Some(prefix) = self.of(&name.namespace).filter(|_| !name.namespace.is_empty()) {
                text.push_str(prefix);
                text.push(':');
            }
            text.push_str(&name.local);
        }
        text
    }
}

/// Writes one body of `version`.
struct BodyWriter<'a> {
    w: XmlWriter,
    d: &'static str,
    prefixes: &'a Prefixes,
}

impl BodyWriter<'_> {
    fn section(&mut self, version: DpwsVersion, section: Section) {
        self.w.start_element(Some(WSX), "MetadataSection");
        self.w.attribute(None, "Dialect", &version.dialect(section));
        self.w.start_element(Some(self.d), section.local_name());
    }

    fn end_section(&mut self) {
        self.w.end_element();
        self.w.end_element();
    }

    fn text(&mut self, local: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.w.element_with_text(Some(self.d), local, value);
        }
    }

    fn characteristics(&mut self, characteristics: &[Characteristic<'_>]) {
        for c in characteristics {
            match *c {
                Characteristic::Localized(local, values) => {
                    for value in values {
                        self.w.start_element(Some(self.d), local);
                        if let Some(lang) = &value.lang {
                            self.w.attribute(Some("xml"), "lang", lang);
                        }
                        self.w.text(&value.text);
                        self.w.end_element();
                    }
                }
                Characteristic::Text(local, value) | Characteristic::Uri(local, value) => self.text(local, value),
            }
        }
    }

    fn extensions(&mut self, extensions: &[Extension]) {
        for extension in extensions {
            self.w.raw(&extension.xml);
        }
    }

    fn endpoint(&mut self, endpoint: &EndpointReference) {
        self.w.start_element(Some(WSA), "EndpointReference");
        self.w.element_with_text(Some(WSA), "Address", &endpoint.address);
        if let Some(parameters) = &endpoint.reference_parameters {
            self.w.start_element(Some(WSA), "ReferenceParameters");
            self.w.raw(parameters);
            self.w.end_element();
        }
        self.w.end_element();
    }

    fn types(&mut self, names: &[QName]) {
        if !names.is_empty() {
            let text = self.prefixes.types_text(names);
            self.w.element_with_text(Some(self.d), "Types", &text);
        }
    }

    fn host(&mut self, host: &HostService) {
        self.w.start_element(Some(self.d), "Host");
        self.endpoint(&host.endpoint);
        self.types(&host.types);
        self.text("ServiceId", host.service_id.as_deref());
        if let Some(computer) = &host.computer {
            self.w.element_with_text(Some("pub"), "Computer", &computer.to_text());
        }
        self.extensions(&host.extensions);
        self.w.end_element();
    }

    fn hosted(&mut self, hosted: &HostedService) {
        self.w.start_element(Some(self.d), "Hosted");
        for endpoint in &hosted.endpoints {
            self.endpoint(endpoint);
        }
        self.types(&hosted.types);
        self.text("ServiceId", Some(&hosted.service_id));
        self.extensions(&hosted.extensions);
        self.w.end_element();
    }

    fn relationship(&mut self, version: DpwsVersion, relationship: &Relationship) {
        self.section(version, Section::Relationship);
        let kind = match &relationship.relationship_type {
            Some(other) if !relationship.is_host() => other.clone(),
            _ => version.host_relationship(),
        };
        self.w.attribute(None, "Type", &kind);
        if let Some(host) = &relationship.host {
            self.host(host);
        }
        for hosted in &relationship.hosted {
            self.hosted(hosted);
        }
        self.end_section();
    }
}

impl DeviceMetadata {
    /// The GetResponse body of `version`: one `wsx:Metadata` element declaring every prefix
    /// it uses, with the sections ThisDevice, ThisModel and one Relationship per
    /// relationship (absent sections are left out; [`other_sections`] are never written).
    /// Write only metadata that passed [`DeviceMetadata::validate`].
    ///
    /// [`other_sections`]: DeviceMetadata::other_sections
    pub fn to_body_xml(&self, version: DpwsVersion) -> Vec<u8> {
        let prefixes = Prefixes::for_metadata(version, self);
        let mut b = BodyWriter { w: XmlWriter::with_capacity(2048), d: version.prefix(), prefixes: &prefixes };
        b.w.start_element(Some(WSX), "Metadata");
        for (ns, prefix) in &prefixes.0 {
            b.w.namespace_decl(Some(prefix), ns);
        }
        if let Some(device) = &self.this_device {
            b.section(version, Section::ThisDevice);
            b.characteristics(&device.characteristics());
            b.extensions(&device.extensions);
            b.end_section();
        }
        if let Some(model) = &self.this_model {
            b.section(version, Section::ThisModel);
            b.characteristics(&model.characteristics());
            if let Some(category) = &model.device_category {
                b.w.element_with_text(Some("pnpx"), "DeviceCategory", category);
            }
            b.extensions(&model.extensions);
            b.end_section();
        }
        for relationship in &self.relationships {
            b.relationship(version, relationship);
        }
        b.w.end_element();
        b.w.into_bytes()
    }
}

/// A whole GetResponse envelope (SOAP 1.2, with XML declaration) of `version` for
/// `metadata`. `addressing` supplies `RelatesTo` (the Get's MessageID) and `MessageID`; a
/// missing `Action` is GetResponse and a missing `To` the anonymous address.
pub fn get_response_envelope(
    version: DpwsVersion,
    metadata: &DeviceMetadata,
    addressing: &AddressingHeaders,
) -> Vec<u8> {
    let av = version.addressing();
    let mut a = addressing.clone();
    a.action.get_or_insert_with(|| GET_RESPONSE_ACTION.to_owned());
    if a.to.is_none() {
        a.to = av.anonymous_uri().map(str::to_owned);
    }
    write_envelope(EnvelopeVersion::Soap12, &a.to_headers(av, EnvelopeVersion::Soap12), &metadata.to_body_xml(version))
}

/// A whole Get request envelope (SOAP 1.2, empty body) as WSDAPI sends it: `To` the device's
/// endpoint address, `Action` Get, `MessageID`, `ReplyTo` anonymous and, if given, `From`.
pub fn get_request_envelope(version: DpwsVersion, to: &str, message_id: &str, from: Option<&str>) -> Vec<u8> {
    let av = version.addressing();
    let a = AddressingHeaders {
        to: Some(to.to_owned()),
        action: Some(GET_ACTION.to_owned()),
        message_id: Some(message_id.to_owned()),
        reply_to: av.anonymous_uri().map(EndpointReference::new),
        from: from.map(EndpointReference::new),
        ..AddressingHeaders::default()
    };
    write_envelope(EnvelopeVersion::Soap12, &a.to_headers(av, EnvelopeVersion::Soap12), b"")
}

/// A SOAP 1.2 Sender fault with subcode `{wsa}local` of `addressing`'s namespace (2004/08
/// for transport addressing) and, if `detail` names an element, a detail holding that
/// `wsa`-prefixed element (wrapped in `wrapper` when given) with text `value`.
fn addressing_fault(
    addressing: AddressingVersion,
    local: &str,
    reason: &str,
    detail: Option<(Option<&str>, &str, &str)>,
) -> Fault {
    let ns = addressing.namespace().unwrap_or(WSA_2004_08_NAMESPACE);
    let mut fault = Fault::new(FaultCode::Sender, reason);
    fault.subcodes.push(QName::new(ns, local));
    if let Some((wrapper, element, value)) = detail {
        let mut w = XmlWriter::with_capacity(128 + value.len());
        for name in wrapper.into_iter().chain([element]) {
            w.start_element(Some(WSA), name);
            if w.depth() == 1 {
                w.namespace_decl(Some(WSA), ns);
            }
        }
        w.text(value);
        while w.depth() > 0 {
            w.end_element();
        }
        fault.detail = Some(Bytes::from(w.into_bytes()));
    }
    fault
}

/// The `wsa:ActionNotSupported` fault (WS-Addressing): what a metadata host answers to
/// anything but a WS-Transfer Get. Its detail names the action: `wsa:Action` for 2004/08,
/// `wsa:ProblemAction/wsa:Action` for 1.0.
pub fn action_not_supported_fault(addressing: AddressingVersion, action: &str) -> Fault {
    let wrapper = (addressing == AddressingVersion::V1_0).then_some("ProblemAction");
    let reason = "The [action] cannot be processed at the receiver.";
    addressing_fault(addressing, "ActionNotSupported", reason, Some((wrapper, "Action", action)))
}

/// The `wsa:DestinationUnreachable` fault: the request's `To` names another endpoint. With
/// WS-Addressing 1.0 the detail is `wsa:ProblemIRI`; 2004/08 defines no detail.
pub fn destination_unreachable_fault(addressing: AddressingVersion, to: &str) -> Fault {
    let reason = "No route can be determined to reach the destination role defined by the WS-Addressing To.";
    let detail = (addressing == AddressingVersion::V1_0).then_some((None, "ProblemIRI", to));
    addressing_fault(addressing, "DestinationUnreachable", reason, detail)
}
