//! The metadata of a DPWS device as values: `ThisModel`, `ThisDevice`, `Relationship` (host
//! and hosted services), the Windows `pub:Computer` host type, and the DPWS §5.1 limits
//! checked before anything is sent.
//!
//! The types are version-independent: the same [`DeviceMetadata`] is written as DPWS 2006/02
//! or 1.1 by [`DeviceMetadata::to_body_xml`].

use bytes::Bytes;

use super::{MAX_FIELD_SIZE, MAX_URI_SIZE, PNPX_NAMESPACE, WINDOWS_PUB_NAMESPACE};
use crate::addressing::EndpointReference;
use crate::error::{Error, ErrorKind, Result};
use crate::xml::QName;

/// A string with an optional `xml:lang` (DPWS `LocalizedStringType`): manufacturer, model
/// name and friendly name may be given in several languages.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LocalizedString {
    /// The text.
    pub text: String,
    /// The language tag (`xml:lang`), if any.
    pub lang: Option<String>,
}

impl LocalizedString {
    /// A string with no language tag.
    pub fn new(text: impl Into<String>) -> LocalizedString {
        LocalizedString { text: text.into(), lang: None }
    }

    /// A string in language `lang` (e.g. `en-US`).
    pub fn with_lang(text: impl Into<String>, lang: impl Into<String>) -> LocalizedString {
        LocalizedString { text: text.into(), lang: Some(lang.into()) }
    }

    /// The best of `strings` for language `lang`: the exact tag (case-insensitive), else
    /// the same primary language (`en` for `en-GB`), else one without a tag, else the first.
    pub fn pick<'a>(strings: &'a [LocalizedString], lang: Option<&str>) -> Option<&'a str> {
        let tag = |s: &LocalizedString| s.lang.as_deref().map(str::to_ascii_lowercase);
        let wanted = lang.map(str::to_ascii_lowercase);
        let primary = |t: &str| t.split('-').next().unwrap_or(t).to_owned();
        let exact = wanted.as_ref().and_then(|w| strings.iter().find(|s| tag(s).as_ref() == Some(w)));
        let same_language = || {
            let w = primary(wanted.as_deref()?);
            strings.iter().find(|s| tag(s).is_some_and(|t| primary(&t) == w))
        };
        exact
            .or_else(same_language)
            .or_else(|| strings.iter().find(|s| s.lang.is_none()))
            .or_else(|| strings.first())
            .map(|s| s.text.as_str())
    }
}

impl From<&str> for LocalizedString {
    fn from(text: &str) -> LocalizedString {
        LocalizedString::new(text)
    }
}

/// An element of another namespace inside `ThisModel`, `ThisDevice`, `Host` or `Hosted`
/// (DPWS allows any), kept as standalone XML (every prefix it uses declared on it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extension {
    /// The element's name.
    pub name: QName,
    /// Its text content, when it has no child elements (surrounding whitespace removed).
    pub text: Option<String>,
    /// The whole element, standalone.
    pub xml: Bytes,
}

impl Extension {
    /// `<prefix:local xmlns:prefix="ns">text</prefix:local>`.
    pub fn text_element(namespace: &str, prefix: &str, local: &str, text: &str) -> Extension {
        let mut w = crate::xml::XmlWriter::with_capacity(64 + namespace.len() + text.len());
        w.start_element(Some(prefix), local);
        w.namespace_decl(Some(prefix), namespace);
        w.text(text);
        w.end_element();
        Extension { name: QName::new(namespace, local), text: Some(text.to_owned()), xml: Bytes::from(w.into_bytes()) }
    }
}

/// `ThisModel`: the kind of device (the same for every device of a model).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ThisModel {
    /// `Manufacturer` (at least one; several in different languages).
    pub manufacturer: Vec<LocalizedString>,
    /// `ManufacturerUrl`.
    pub manufacturer_url: Option<String>,
    /// `ModelName` (at least one; several in different languages).
    pub model_name: Vec<LocalizedString>,
    /// `ModelNumber`.
    pub model_number: Option<String>,
    /// `ModelUrl`.
    pub model_url: Option<String>,
    /// `PresentationUrl`: a web page for the device (Explorer's "View device webpage").
    pub presentation_url: Option<String>,
    /// `pnpx:DeviceCategory` (Windows PnP-X): the category Explorer files the device under and
    /// picks its icon by, e.g. `Computers` (what wsdd sends) or `Printers`.
    pub device_category: Option<String>,
    /// Other extension elements.
    pub extensions: Vec<Extension>,
}

/// `ThisDevice`: this particular device.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ThisDevice {
    /// `FriendlyName` (at least one; several in different languages).
    pub friendly_name: Vec<LocalizedString>,
    /// `FirmwareVersion`.
    pub firmware_version: Option<String>,
    /// `SerialNumber`.
    pub serial_number: Option<String>,
    /// Extension elements.
    pub extensions: Vec<Extension>,
}

/// One characteristic of [`ThisModel`] or [`ThisDevice`], as DPWS defines it: its element
/// name, its kind and its value. [`ThisModel::characteristics`] and
/// [`ThisDevice::characteristics`] list them in schema order, which is the order they are
/// written, checked and shown in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Characteristic<'a> {
    /// A localized string, required and repeatable (one per language).
    Localized(&'static str, &'a [LocalizedString]),
    /// An optional string of fewer than [`MAX_FIELD_SIZE`] characters.
    Text(&'static str, Option<&'a str>),
    /// An optional URI of at most [`MAX_URI_SIZE`] octets.
    Uri(&'static str, Option<&'a str>),
}

impl Characteristic<'_> {
    /// The element's local name (`Manufacturer`, `FirmwareVersion`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Characteristic::Localized(name, _) | Characteristic::Text(name, _) | Characteristic::Uri(name, _) => name,
        }
    }
}

impl ThisModel {
    /// `Manufacturer`, `ManufacturerUrl`, `ModelName`, `ModelNumber`, `ModelUrl`,
    /// `PresentationUrl` ([`ThisModel::device_category`] is Windows', not DPWS's).
    pub fn characteristics(&self) -> [Characteristic<'_>; 6] {
        [
            Characteristic::Localized("Manufacturer", &self.manufacturer),
            Characteristic::Uri("ManufacturerUrl", self.manufacturer_url.as_deref()),
            Characteristic::Localized("ModelName", &self.model_name),
            Characteristic::Text("ModelNumber", self.model_number.as_deref()),
            Characteristic::Uri("ModelUrl", self.model_url.as_deref()),
            Characteristic::Uri("PresentationUrl", self.presentation_url.as_deref()),
        ]
    }
}

impl ThisDevice {
    /// `FriendlyName`, `FirmwareVersion`, `SerialNumber`.
    pub fn characteristics(&self) -> [Characteristic<'_>; 3] {
        [
            Characteristic::Localized("FriendlyName", &self.friendly_name),
            Characteristic::Text("FirmwareVersion", self.firmware_version.as_deref()),
            Characteristic::Text("SerialNumber", self.serial_number.as_deref()),
        ]
    }
}

/// What a computer belongs to, in the `pub:Computer` text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Membership {
    /// A workgroup (`NAME/Workgroup:WORKGROUP`).
    Workgroup(String),
    /// A domain (`name/Domain:DOMAIN`).
    Domain(String),
    /// Neither (`NAME/NotJoined`).
    NotJoined,
    /// Anything else a peer sent after the separator, kept as it was.
    Other(String),
}

/// The Windows Publication Services host type ([MS-PBSD] §2.2): a `Host` whose `Types` is
/// `pub:Computer` and which carries a `pub:Computer` element with the NetBIOS computer name
/// and its workgroup or domain. Windows Explorer lists such a device under "Computer" and
/// opens `\\NAME` when it is clicked.
///
/// [MS-PBSD] writes the workgroup form with a backslash (`NAME\Workgroup:WG`); Windows
/// itself, Samba NAS firmware and wsdd all send a slash (`NAME/Workgroup:WG`), and wsdd's own
/// client splits at the slash, so soapwire writes the slash and reads either.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PubComputer {
    /// The NetBIOS computer name.
    pub name: String,
    /// The workgroup or domain.
    pub membership: Membership,
}

impl PubComputer {
    /// A computer named `name`.
    pub fn new(name: impl Into<String>, membership: Membership) -> PubComputer {
        PubComputer { name: name.into(), membership }
    }

    /// The element text: `NAME/Workgroup:WG`, `NAME/Domain:DOM` or `NAME/NotJoined`.
    pub fn to_text(&self) -> String {
        match &self.membership {
            Membership::Workgroup(wg) => format!("{}/Workgroup:{wg}", self.name),
            Membership::Domain(d) => format!("{}/Domain:{d}", self.name),
            Membership::NotJoined => format!("{}/NotJoined", self.name),
            Membership::Other(rest) => format!("{}/{rest}", self.name),
        }
    }

    /// Reads the element text, tolerantly: the separator may be `/` or `\`, the keywords are
    /// matched without regard to case, surrounding whitespace is ignored, and text with no
    /// separator is a bare name ([`Membership::Other`] of `""`).
    pub fn parse(text: &str) -> PubComputer {
        let text = text.trim();
        let Some(at) = text.find(['/', '\\']) else {
            return PubComputer::new(text, Membership::Other(String::new()));
        };
        let (name, rest) = (&text[..at], &text[at + 1..]);
        let keyword = |word: &str| {
            let head = rest.get(..word.len())?;
            head.eq_ignore_ascii_case(word).then(|| rest[word.len()..].to_owned())
        };
        let membership = if let Some(wg) = keyword("Workgroup:") {
            Membership::Workgroup(wg)
        } else if let Some(domain) = keyword("Domain:") {
            Membership::Domain(domain)
        } else if rest.eq_ignore_ascii_case("NotJoined") {
            Membership::NotJoined
        } else {
            Membership::Other(rest.to_owned())
        };
        PubComputer::new(name, membership)
    }

    /// The `pub:Computer` type.
    pub fn type_name() -> QName {
        QName::new(WINDOWS_PUB_NAMESPACE, "Computer")
    }
}

impl std::fmt::Display for PubComputer {
    /// The element text ([`PubComputer::to_text`]).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// The hosting service of a device (`Host`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostService {
    /// Its endpoint reference (the device's own endpoint address, e.g. `urn:uuid:…`).
    pub endpoint: EndpointReference,
    /// The types it implements (e.g. `pub:Computer`).
    pub types: Vec<QName>,
    /// The `Types` text as received (`pub:Computer`); ignored when writing.
    pub types_text: Option<String>,
    /// `ServiceId`.
    pub service_id: Option<String>,
    /// The `pub:Computer` element ([`PubComputer`]), for a computer.
    pub computer: Option<PubComputer>,
    /// Other extension elements.
    pub extensions: Vec<Extension>,
}

/// A service the device hosts (`Hosted`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostedService {
    /// Its endpoint references (at least one; the addresses a client sends requests to).
    pub endpoints: Vec<EndpointReference>,
    /// The port types it implements.
    pub types: Vec<QName>,
    /// The `Types` text as received; ignored when writing.
    pub types_text: Option<String>,
    /// `ServiceId`: stable across restarts and address changes.
    pub service_id: String,
    /// Extension elements.
    pub extensions: Vec<Extension>,
}

/// A `Relationship` section: a host and the services it hosts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Relationship {
    /// The `Type` attribute as received (`…/host` of the DPWS version); `None` means the
    /// DPWS host relationship, and is what writing uses.
    pub relationship_type: Option<String>,
    /// The hosting service.
    pub host: Option<HostService>,
    /// The hosted services.
    pub hosted: Vec<HostedService>,
}

impl Relationship {
    /// True when this is the DPWS host relationship (`Type` absent on our side, or ending in
    /// `/host` in a devices-profile namespace).
    pub fn is_host(&self) -> bool {
        self.relationship_type
            .as_deref()
            .is_none_or(|t| super::DpwsVersion::ALL.iter().any(|v| v.host_relationship() == t.trim()))
    }
}

/// A metadata section of a dialect this module does not model (WSDL, a `MetadataReference`,
/// a `Location`, …): listed, not kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OtherSection {
    /// The `Dialect` URI.
    pub dialect: String,
    /// The `Identifier` attribute, if any.
    pub identifier: Option<String>,
}

/// The metadata of a device: what a WS-Transfer `Get` returns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceMetadata {
    /// `ThisModel` (WSDAPI clients refuse metadata without it).
    pub this_model: Option<ThisModel>,
    /// `ThisDevice` (WSDAPI clients refuse metadata without it).
    pub this_device: Option<ThisDevice>,
    /// The `Relationship` sections (WSDAPI accepts several, and none when nothing is hosted).
    pub relationships: Vec<Relationship>,
    /// Sections of other dialects (read only; never written).
    pub other_sections: Vec<OtherSection>,
}

impl DeviceMetadata {
    /// The metadata wsdd publishes for a computer, which is what Windows Explorer needs to
    /// list a machine under "Computer": a friendly name, a model with `pnpx:DeviceCategory`
    /// `Computers`, and a host of type `pub:Computer` with the NetBIOS name and workgroup or
    /// domain. `endpoint` is the device's endpoint address (`urn:uuid:…`); it is also the
    /// host's address and service id, as wsdd makes them.
    pub fn computer(endpoint: &str, computer: PubComputer) -> DeviceMetadata {
        DeviceMetadata {
            this_device: Some(ThisDevice {
                friendly_name: vec![LocalizedString::new(computer.name.clone())],
                firmware_version: Some(env!("CARGO_PKG_VERSION").to_owned()),
                serial_number: None,
                extensions: Vec::new(),
            }),
            this_model: Some(ThisModel {
                manufacturer: vec!["soapwire".into()],
                model_name: vec!["soapwire".into()],
                device_category: Some("Computers".to_owned()),
                ..ThisModel::default()
            }),
            relationships: vec![Relationship {
                relationship_type: None,
                host: Some(HostService {
                    endpoint: EndpointReference::new(endpoint),
                    types: vec![PubComputer::type_name()],
                    types_text: None,
                    service_id: Some(endpoint.to_owned()),
                    computer: Some(computer),
                    extensions: Vec::new(),
                }),
                hosted: Vec::new(),
            }],
            other_sections: Vec::new(),
        }
    }

    /// The hosting service: the `Host` of the first host relationship that has one.
    pub fn host(&self) -> Option<&HostService> {
        self.relationships.iter().filter(|r| r.is_host()).find_map(|r| r.host.as_ref())
    }

    /// Every hosted service of every host relationship, in document order.
    pub fn hosted(&self) -> impl Iterator<Item = &HostedService> {
        self.relationships.iter().filter(|r| r.is_host()).flat_map(|r| r.hosted.iter())
    }

    /// WSDAPI's client rule: metadata without `ThisModel` or `ThisDevice` is refused
    /// (`InvalidFormat`).
    pub fn require_model_and_device(&self) -> Result<()> {
        match (&self.this_model, &self.this_device) {
            (Some(_), Some(_)) => Ok(()),
            (None, _) => Err(Error::invalid_format("the metadata has no ThisModel section")),
            (_, None) => Err(Error::invalid_format("the metadata has no ThisDevice section")),
        }
    }

    /// Checks what a host sends (DPWS §5.1 and the schema's required elements), as WSDAPI
    /// does before sending: `ThisModel` with a `Manufacturer` and a `ModelName`, `ThisDevice`
    /// with a `FriendlyName`; every characteristic string fewer than [`MAX_FIELD_SIZE`]
    /// characters and every URI at most [`MAX_URI_SIZE`] octets; a host with an address;
    /// hosted services with an endpoint, types and a service id; no whitespace inside a
    /// URI; type names that are XML names. Any violation is `InvalidArgument` (`E_INVALIDARG`)
    /// naming the field.
    pub fn validate(&self) -> Result<()> {
        let model = self.this_model.as_ref().ok_or_else(|| invalid("ThisModel is required"))?;
        let device = self.this_device.as_ref().ok_or_else(|| invalid("ThisDevice is required"))?;
        let model_fields = model.characteristics().map(|c| ("ThisModel", c));
        for (section, c) in model_fields.into_iter().chain(device.characteristics().map(|c| ("ThisDevice", c))) {
            let what = format!("{section}/{}", c.name());
            match c {
                Characteristic::Localized(_, []) => {
                    return Err(invalid(format!("{what} is required")));
                }
                Characteristic::Localized(_, values) => values.iter().try_for_each(|s| field(&what, &s.text))?,
                Characteristic::Text(_, value) => value.map_or(Ok(()), |v| field(&what, v))?,
                Characteristic::Uri(_, value) => value.map_or(Ok(()), |v| uri(&what, v))?,
            }
        }
        if let Some(category) = &model.device_category {
            field("ThisModel/pnpx:DeviceCategory", category)?;
        }
        for relationship in &self.relationships {
            if let Some(t) = &relationship.relationship_type {
                uri("Relationship/@Type", t)?;
            }
            if let Some(host) = &relationship.host {
                uri("Host/EndpointReference/Address", &host.endpoint.address)?;
                types("Host/Types", &host.types)?;
                if let Some(id) = &host.service_id {
                    uri("Host/ServiceId", id)?;
                }
                if let Some(computer) = &host.computer {
                    field("Host/pub:Computer", &computer.to_text())?;
                }
            }
            for hosted in &relationship.hosted {
                if hosted.endpoints.is_empty() {
                    return Err(invalid("a Hosted service needs at least one EndpointReference"));
                }
                for endpoint in &hosted.endpoints {
                    uri("Hosted/EndpointReference/Address", &endpoint.address)?;
                }
                if hosted.types.is_empty() {
                    return Err(invalid("a Hosted service needs Types"));
                }
                types("Hosted/Types", &hosted.types)?;
                uri("Hosted/ServiceId", &hosted.service_id)?;
            }
        }
        Ok(())
    }

    /// True when `name` is the `pnpx:DeviceCategory` element (kept in
    /// [`ThisModel::device_category`] rather than in the extensions).
    pub(crate) fn is_device_category(name: &QName) -> bool {
        name.is(PNPX_NAMESPACE, "DeviceCategory")
    }
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidArgument, message)
}

fn field(what: &str, value: &str) -> Result<()> {
    let chars = value.chars().count();
    if chars >= MAX_FIELD_SIZE {
        return Err(invalid(format!("{what} has {chars} characters; DPWS allows fewer than {MAX_FIELD_SIZE}")));
    }
    Ok(())
}

fn uri(what: &str, value: &str) -> Result<()> {
    if value.is_empty() || value.chars().any(char::is_whitespace) {
        return Err(invalid(format!("{what} {value:?} is not a URI")));
    }
    if value.len() > MAX_URI_SIZE {
        return Err(invalid(format!("{what} has {} octets; DPWS allows {MAX_URI_SIZE}", value.len())));
    }
    Ok(())
}

fn types(what: &str, names: &[QName]) -> Result<()> {
    let bad = |s: &str| s.is_empty() || s.contains(':') || s.chars().any(|c| c.is_whitespace() || c == '<' || c == '&');
    match names.iter().find(|q| bad(&q.local)) {
        Some(q) => Err(invalid(format!("{what}: {q} is not a valid type name"))),
        None => Ok(()),
    }
}
