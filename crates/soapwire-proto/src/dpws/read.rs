//! Reading a GetResponse: tolerant of what real devices send, bounded by [`MetadataQuotas`].
//!
//! Tolerated: either SOAP version, a missing `Action`, whitespace around every value (the
//! WSDAPI documentation's samples are indented), sections in any order, several
//! `Relationship` sections, sections of other dialects (listed in
//! [`DeviceMetadata::other_sections`]), a section whose dialect and element disagree on the
//! DPWS version, extension elements anywhere DPWS allows them, and a `Hosted` without
//! `ServiceId`. Refused: a body that is not `wsx:Metadata` (WSDAPI enforces R2044), a SOAP
//! fault (returned as `WS_E_ENDPOINT_FAULT_RECEIVED` with the fault), an `Action` other than
//! GetResponse, malformed XML, an unbound type prefix; and, as `QuotaExceeded`, anything over
//! the envelope size, URI size, field size or list-item quota.

use bytes::Bytes;

use super::model::{
    DeviceMetadata, Extension, HostService, HostedService, LocalizedString, OtherSection, PubComputer, Relationship,
    ThisDevice, ThisModel,
};
use super::{DpwsVersion, GET_RESPONSE_ACTION, MetadataQuotas, Section, WINDOWS_PUB_NAMESPACE, WSX_NAMESPACE};
use crate::addressing::{AddressingHeaders, AddressingVersion, EndpointReference};
use crate::error::{Error, Result};
use crate::soap::{Body, Envelope};
use crate::xml::{QName, StartElement, XML_NAMESPACE, XmlEvent, XmlReader, XmlWriter};

/// A decoded GetResponse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetResponse {
    /// The DPWS version: that of the first DPWS section, else the one that goes with the
    /// message's WS-Addressing version.
    pub version: DpwsVersion,
    /// The WS-Addressing headers (`RelatesTo` is the Get's MessageID).
    pub addressing: AddressingHeaders,
    /// The metadata.
    pub metadata: DeviceMetadata,
}

/// Decodes a whole GetResponse envelope. See the [module documentation](self) for what is
/// tolerated and what is refused.
pub fn parse_get_response(bytes: &[u8], quotas: &MetadataQuotas) -> Result<GetResponse> {
    if bytes.len() > quotas.max_envelope_size {
        return Err(Error::quota_exceeded(format!(
            "the GetResponse is {} octets, more than MAX_ENVELOPE_SIZE ({})",
            bytes.len(),
            quotas.max_envelope_size
        )));
    }
    let rq = quotas.reader_quotas();
    let envelope = Envelope::parse(Bytes::copy_from_slice(bytes), None, &rq, quotas.max_headers)?;
    if let Some(fault) = envelope.fault(&rq)? {
        return Err(fault.into_error());
    }
    let av = AddressingHeaders::detect_version(&envelope.headers).unwrap_or(AddressingVersion::V0_9);
    let addressing = AddressingHeaders::from_headers(&envelope.headers, av, &rq)?;
    check_get_response_action(addressing.action.as_deref())?;
    let fallback = DpwsVersion::for_addressing(av).unwrap_or(DpwsVersion::V2006_02);
    let (version, metadata) = parse_metadata_body(&envelope.body, fallback, quotas)?;
    Ok(GetResponse { version, addressing, metadata })
}

/// `InvalidFormat` unless `action` is absent or the GetResponse action.
fn check_get_response_action(action: Option<&str>) -> Result<()> {
    match action {
        Some(a) if a != GET_RESPONSE_ACTION => {
            Err(Error::invalid_format(format!("expected a GetResponse, got a message with action {a}")))
        }
        _ => Ok(()),
    }
}

/// Decodes the body of a GetResponse (its single `wsx:Metadata` element). Returns the DPWS
/// version of the first DPWS section (`fallback` when there is none) and the metadata.
pub fn parse_metadata_body(
    body: &Body,
    fallback: DpwsVersion,
    quotas: &MetadataQuotas,
) -> Result<(DpwsVersion, DeviceMetadata)> {
    let mut r = body.reader(&quotas.reader_quotas())?;
    let top = r.next_element()?.ok_or_else(|| Error::invalid_format("the GetResponse body is empty"))?;
    if !top.name.is(WSX_NAMESPACE, "Metadata") {
        return Err(Error::invalid_format(format!("the GetResponse body holds {}, not wsx:Metadata", top.name)));
    }
    let mut reader = MetadataReader { r, xml: &body.xml, quotas, items: 0, version: None };
    let metadata = reader.metadata()?;
    Ok((reader.version.unwrap_or(fallback), metadata))
}

/// The state of one body decoding.
struct MetadataReader<'a, 'q> {
    r: XmlReader<'a>,
    xml: &'a Bytes,
    quotas: &'q MetadataQuotas,
    items: usize,
    /// The DPWS version of the first DPWS section.
    version: Option<DpwsVersion>,
}

impl MetadataReader<'_, '_> {
    fn item(&mut self) -> Result<()> {
        self.items += 1;
        if self.items > self.quotas.max_list_items {
            return Err(Error::quota_exceeded(format!(
                "the metadata has more than {} items (sections, strings, types, services)",
                self.quotas.max_list_items
            )));
        }
        Ok(())
    }

    /// The trimmed text of the current element, checked as a URI.
    fn uri(&mut self, what: &str) -> Result<String> {
        let text = self.trimmed()?;
        if text.len() > self.quotas.max_uri_size {
            return Err(Error::quota_exceeded(format!(
                "{what} is {} octets, more than MAX_URI_SIZE ({})",
                text.len(),
                self.quotas.max_uri_size
            )));
        }
        Ok(text)
    }

    /// The trimmed text of the current element, checked as a characteristic string.
    fn field(&mut self, what: &str) -> Result<String> {
        let text = self.trimmed()?;
        let chars = text.chars().count();
        if chars > self.quotas.max_field_chars {
            return Err(Error::quota_exceeded(format!(
                "{what} has {chars} characters, more than MAX_FIELD_SIZE ({})",
                self.quotas.max_field_chars
            )));
        }
        Ok(text)
    }

    fn trimmed(&mut self) -> Result<String> {
        let text = self.r.read_text()?;
        let trimmed = text.trim();
        Ok(if trimmed.len() == text.len() { text } else { trimmed.to_owned() })
    }

    fn localized(&mut self, start: &StartElement, what: &str) -> Result<LocalizedString> {
        self.item()?;
        let lang = start.attribute(XML_NAMESPACE, "lang").map(|l| l.trim().to_owned());
        Ok(LocalizedString { text: self.field(what)?, lang })
    }

    /// After the Start of `wsx:Metadata`.
    fn metadata(&mut self) -> Result<DeviceMetadata> {
        let mut metadata = DeviceMetadata::default();
        while let Some(child) = self.r.next_element()? {
            if child.name.is(WSX_NAMESPACE, "MetadataSection") {
                self.item()?;
                self.section(&child, &mut metadata)?;
            } else {
                self.r.skip_element()?;
            }
        }
        Ok(metadata)
    }

    /// After the Start of `wsx:MetadataSection`.
    fn section(&mut self, start: &StartElement, metadata: &mut DeviceMetadata) -> Result<()> {
        let dialect = start.attribute("", "Dialect").map(str::trim).unwrap_or_default().to_owned();
        let identifier = start.attribute("", "Identifier").map(|s| s.trim().to_owned());
        if dialect.len() > self.quotas.max_uri_size {
            return Err(Error::quota_exceeded("a metadata section's Dialect exceeds MAX_URI_SIZE"));
        }
        let known = DpwsVersion::parse_dialect(&dialect);
        let mut understood = false;
        while let Some(child) = self.r.next_element()? {
            let element = DpwsVersion::from_namespace(&child.name.namespace);
            match (known, element) {
                (Some((_, section)), Some(v)) if child.name.local == section.local_name() && !understood => {
                    self.version.get_or_insert(v);
                    self.section_content(section, v, &child, metadata)?;
                    understood = true;
                }
                _ => self.r.skip_element()?,
            }
        }
        if !understood {
            metadata.other_sections.push(OtherSection { dialect, identifier });
        }
        Ok(())
    }

    fn section_content(
        &mut self,
        section: Section,
        version: DpwsVersion,
        start: &StartElement,
        metadata: &mut DeviceMetadata,
    ) -> Result<()> {
        let d = version.namespace();
        match section {
            Section::ThisModel => metadata.this_model = Some(self.this_model(d)?),
            Section::ThisDevice => metadata.this_device = Some(self.this_device(d)?),
            Section::Relationship => {
                let relationship_type = start.attribute("", "Type").map(|t| t.trim().to_owned());
                let mut relationship = Relationship { relationship_type, ..Relationship::default() };
                if relationship.is_host() {
                    relationship.relationship_type = None;
                }
                while let Some(child) = self.r.next_element()? {
                    if child.name.is(d, "Host") && relationship.host.is_none() {
                        relationship.host = Some(self.host(d)?);
                    } else if child.name.is(d, "Hosted") {
                        self.item()?;
                        relationship.hosted.push(self.hosted(d)?);
                    } else {
                        self.r.skip_element()?;
                    }
                }
                metadata.relationships.push(relationship);
            }
        }
        Ok(())
    }

    /// After the Start of `ThisModel`.
    fn this_model(&mut self, d: &str) -> Result<ThisModel> {
        let mut model = ThisModel::default();
        while let Some(child) = self.r.next_element()? {
            let local = if child.name.namespace == d { child.name.local.as_str() } else { "" };
            match local {
                "Manufacturer" => model.manufacturer.push(self.localized(&child, "Manufacturer")?),
                "ManufacturerUrl" => model.manufacturer_url = Some(self.uri("ManufacturerUrl")?),
                "ModelName" => model.model_name.push(self.localized(&child, "ModelName")?),
                "ModelNumber" => model.model_number = Some(self.field("ModelNumber")?),
                "ModelUrl" => model.model_url = Some(self.uri("ModelUrl")?),
                "PresentationUrl" => model.presentation_url = Some(self.uri("PresentationUrl")?),
                _ if DeviceMetadata::is_device_category(&child.name) => {
                    model.device_category = Some(self.field("pnpx:DeviceCategory")?);
                }
                _ => model.extensions.push(self.extension(child.name)?),
            }
        }
        Ok(model)
    }

    /// After the Start of `ThisDevice`.
    fn this_device(&mut self, d: &str) -> Result<ThisDevice> {
        let mut device = ThisDevice::default();
        while let Some(child) = self.r.next_element()? {
            let local = if child.name.namespace == d { child.name.local.as_str() } else { "" };
            match local {
                "FriendlyName" => device.friendly_name.push(self.localized(&child, "FriendlyName")?),
                "FirmwareVersion" => device.firmware_version = Some(self.field("FirmwareVersion")?),
                "SerialNumber" => device.serial_number = Some(self.field("SerialNumber")?),
                _ => device.extensions.push(self.extension(child.name)?),
            }
        }
        Ok(device)
    }

    /// After the Start of `Host`.
    fn host(&mut self, d: &str) -> Result<HostService> {
        let mut host = HostService::default();
        let mut endpoint = None;
        while let Some(child) = self.r.next_element()? {
            if is_endpoint_reference(&child.name) && endpoint.is_none() {
                endpoint = Some(self.endpoint()?);
            } else if child.name.is(d, "Types") {
                let (types, text) = self.types()?;
                host.types = types;
                host.types_text = Some(text);
            } else if child.name.is(d, "ServiceId") {
                host.service_id = Some(self.uri("Host/ServiceId")?);
            } else if child.name.is(WINDOWS_PUB_NAMESPACE, "Computer") {
                host.computer = Some(PubComputer::parse(&self.field("pub:Computer")?));
            } else {
                host.extensions.push(self.extension(child.name)?);
            }
        }
        host.endpoint = endpoint.ok_or_else(|| Error::invalid_format("Host without EndpointReference"))?;
        Ok(host)
    }

    /// After the Start of `Hosted`.
    fn hosted(&mut self, d: &str) -> Result<HostedService> {
        let mut hosted = HostedService::default();
        while let Some(child) = self.r.next_element()? {
            if is_endpoint_reference(&child.name) {
                self.item()?;
                hosted.endpoints.push(self.endpoint()?);
            } else if child.name.is(d, "Types") {
                let (types, text) = self.types()?;
                hosted.types = types;
                hosted.types_text = Some(text);
            } else if child.name.is(d, "ServiceId") {
                hosted.service_id = self.uri("Hosted/ServiceId")?;
            } else {
                hosted.extensions.push(self.extension(child.name)?);
            }
        }
        if hosted.endpoints.is_empty() {
            return Err(Error::invalid_format("Hosted without EndpointReference"));
        }
        Ok(hosted)
    }

    /// After the Start of `wsa:EndpointReference` (either WS-Addressing version).
    fn endpoint(&mut self) -> Result<EndpointReference> {
        let is_wsa = |ns: &str| AddressingVersion::from_namespace(ns).is_some();
        EndpointReference::read(&mut self.r, self.xml, is_wsa, self.quotas.max_uri_size)
    }

    /// After the Start of `Types`: the names resolved with the bindings in scope there, and
    /// the literal text.
    fn types(&mut self) -> Result<(Vec<QName>, String)> {
        let text = self.trimmed()?;
        // read_text consumed the End of Types; its own declarations are still in scope.
        let scope = self.r.namespaces_in_scope();
        let mut names = Vec::new();
        for token in text.split_ascii_whitespace() {
            self.item()?;
            if token.len() > self.quotas.max_uri_size {
                return Err(Error::quota_exceeded("a type name exceeds MAX_URI_SIZE"));
            }
            let (prefix, local) = match token.split_once(':') {
                Some((p, l)) if !p.is_empty() && !l.is_empty() && !l.contains(':') => (p, l),
                None => ("", token),
                Some(_) => return Err(Error::invalid_format(format!("'{token}' is not a valid type name"))),
            };
            let namespace = scope.iter().find(|(p, _)| p == prefix).map(|(_, ns)| ns.as_str());
            names.push(match (namespace, prefix.is_empty()) {
                (Some(ns), _) => QName::new(ns, local),
                (None, true) => QName::new("", local),
                (None, false) => {
                    return Err(Error::invalid_format(format!("the prefix of type '{token}' is not bound")));
                }
            });
        }
        Ok((names, text))
    }

    /// After the Start of an element kept as an [`Extension`]: cuts it out with the
    /// namespace bindings it inherited declared on it.
    fn extension(&mut self, name: QName) -> Result<Extension> {
        self.item()?;
        let start = self.r.event_start();
        let scope = self.r.namespaces_in_scope();
        self.r.skip_element()?;
        let raw = crate::soap::cut(self.xml, start..self.r.position())?;
        // Only the bindings whose prefix it mentions (the default one always): names, attributes
        // and QName-valued text all spell a prefix as `prefix:`.
        let used: Vec<(String, String)> =
            scope.into_iter().filter(|(prefix, _)| prefix.is_empty() || mentions_prefix(&raw, prefix)).collect();
        let mut w = XmlWriter::with_capacity(raw.len() + 64 * used.len());
        w.raw_with_namespaces(&raw, &used, &[]);
        let xml = Bytes::from(w.into_bytes());
        let text = element_text(&xml, &self.quotas.reader);
        Ok(Extension { name, text, xml })
    }
}

/// True if `xml` contains `prefix:` where `prefix` starts a name (not inside `xmlns:p`).
fn mentions_prefix(xml: &[u8], prefix: &str) -> bool {
    let needle = [prefix.as_bytes(), b":"].concat();
    let name_byte = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_') || b >= 0x80;
    memchr::memmem::find_iter(xml, &needle).any(|at| at == 0 || xml.get(at - 1).is_none_or(|&b| !name_byte(b)))
}

fn is_endpoint_reference(name: &QName) -> bool {
    name.local == "EndpointReference" && AddressingVersion::from_namespace(&name.namespace).is_some()
}

/// The trimmed text of a standalone element with no child elements.
fn element_text(xml: &[u8], quotas: &crate::xml::ReaderQuotas) -> Option<String> {
    let mut r = XmlReader::new(xml, quotas).ok()?;
    let XmlEvent::Start(_) = r.next().ok()? else { return None };
    r.read_text().ok().map(|t| t.trim().to_owned())
}
