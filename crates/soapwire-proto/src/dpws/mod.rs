//! DPWS device metadata: what a device says about itself in answer to a WS-Transfer `Get`,
//! in both versions in use: **DPWS 2006/02** (with WS-Addressing 2004/08; what Windows WSDAPI
//! and wsdd speak) and **DPWS 1.1** (OASIS 2009/01, with WS-Addressing 1.0).
//!
//! This module owns everything about metadata exchange that can be decided from bytes:
//!
//! * [`model`]: the metadata as values. [`DeviceMetadata`] holds [`ThisModel`] (manufacturer,
//!   model name and number, URLs, localized strings), [`ThisDevice`] (friendly name, firmware
//!   version, serial number) and [`Relationship`]s (the [`HostService`] with its endpoint,
//!   types and service id, and the [`HostedService`]s). [`PubComputer`] is the Windows
//!   `pub:Computer` host type that makes Windows Explorer list a machine as a computer.
//!   [`DeviceMetadata::validate`] applies the DPWS §5.1 limits before anything is sent.
//! * [`write`](mod@write): the GetResponse body (`wsx:Metadata` with one `wsx:MetadataSection` per
//!   dialect), the whole GetResponse envelope, the Get request, and the WS-Addressing faults a
//!   metadata host answers with (`ActionNotSupported`, `DestinationUnreachable`).
//! * [`read`]: a tolerant, quota-bounded parser of a GetResponse (or of its body) back into
//!   those values. Unknown sections, extension elements and whitespace around values are
//!   accepted; sizes are bounded by [`MetadataQuotas`].
//!
//! HTTP (the host on port 5357 and the client) is the runtime crate's business.
//!
//! ```
//! use soapwire_proto::dpws::{
//!     DeviceMetadata, DpwsVersion, MetadataQuotas, Membership, PubComputer, parse_metadata_body,
//! };
//!
//! let endpoint = "urn:uuid:11111111-2222-3333-4444-555555555555";
//! let metadata = DeviceMetadata::computer(endpoint, PubComputer::new("HOST", Membership::Workgroup("WORKGROUP".into())));
//! metadata.validate()?;
//! let body = metadata.to_body_xml(DpwsVersion::V2006_02);
//! // wsdd compares the Host's Types text literally: it must be exactly `pub:Computer`.
//! assert!(String::from_utf8_lossy(&body).contains("<wsdp:Types>pub:Computer</wsdp:Types>"));
//!
//! let body = soapwire_proto::soap::Body { xml: body.into(), namespaces: Vec::new() };
//! let (version, back) = parse_metadata_body(&body, DpwsVersion::V1_1, &MetadataQuotas::default())?;
//! assert_eq!(version, DpwsVersion::V2006_02);
//! let host = back.host().expect("a host");
//! assert_eq!(host.types_text.as_deref(), Some("pub:Computer"));
//! assert_eq!(host.computer.as_ref().map(|c| c.to_text()).as_deref(), Some("HOST/Workgroup:WORKGROUP"));
//! assert_eq!(back.this_device, metadata.this_device);
//! # Ok::<(), soapwire_proto::Error>(())
//! ```

pub mod model;
pub mod read;
pub mod write;

#[cfg(test)]
mod tests;

use crate::addressing::AddressingVersion;
use crate::xml::ReaderQuotas;

pub use crate::discovery::{
    DPWS_1_1_NAMESPACE, DPWS_2006_02_NAMESPACE, MAX_ENVELOPE_SIZE, MAX_URI_SIZE, WINDOWS_PUB_NAMESPACE,
};
pub use model::{
    Characteristic, DeviceMetadata, Extension, HostService, HostedService, LocalizedString, Membership, OtherSection,
    PubComputer, Relationship, ThisDevice, ThisModel,
};
pub use read::{GetResponse, parse_get_response, parse_metadata_body};
pub use write::{
    action_not_supported_fault, destination_unreachable_fault, get_request_envelope, get_response_envelope,
};

/// The WS-MetadataExchange namespace (September 2004; DPWS 2006 and 1.1 both use it).
pub const WSX_NAMESPACE: &str = "http://schemas.xmlsoap.org/ws/2004/09/mex";
/// The WS-Transfer namespace (September 2004; DPWS 2006 and 1.1 both use it).
pub const WXF_NAMESPACE: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer";
/// The action of a WS-Transfer `Get` request.
pub const GET_ACTION: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get";
/// The action of a WS-Transfer `GetResponse`.
pub const GET_RESPONSE_ACTION: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/GetResponse";
/// The Windows PnP-X namespace (`pnpx:DeviceCategory`, which picks the icon Explorer shows).
pub const PNPX_NAMESPACE: &str = "http://schemas.microsoft.com/windows/pnpx/2005/10";
/// `MAX_FIELD_SIZE` of DPWS §5.1: the characteristic strings (manufacturer, model name,
/// friendly name, …) must have fewer than this many Unicode characters.
pub const MAX_FIELD_SIZE: usize = 256;
/// The TCP port of DPWS metadata and services over HTTP (IANA-reserved for WSD).
pub const DPWS_HTTP_PORT: u16 = 5357;

/// A DPWS version, which fixes the devices-profile namespace, the metadata dialects and the
/// WS-Addressing version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DpwsVersion {
    /// DPWS February 2006 (`wsdp`, WS-Addressing 2004/08): Windows WSDAPI and wsdd.
    V2006_02,
    /// OASIS DPWS 1.1 (`dpws`, 2009/01, WS-Addressing 1.0).
    V1_1,
}

/// The three metadata sections DPWS defines (the dialect is the devices-profile namespace,
/// `/`, the section name).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Section {
    /// `ThisModel`: what kind of device this is.
    ThisModel,
    /// `ThisDevice`: this particular device.
    ThisDevice,
    /// `Relationship`: the hosting service and the hosted services.
    Relationship,
}

impl Section {
    /// The section's (and its element's) local name.
    pub fn local_name(self) -> &'static str {
        match self {
            Section::ThisModel => "ThisModel",
            Section::ThisDevice => "ThisDevice",
            Section::Relationship => "Relationship",
        }
    }
}

impl DpwsVersion {
    /// Both versions, the one Windows speaks first.
    pub const ALL: [DpwsVersion; 2] = [DpwsVersion::V2006_02, DpwsVersion::V1_1];

    /// The devices-profile namespace.
    pub fn namespace(self) -> &'static str {
        match self {
            DpwsVersion::V2006_02 => DPWS_2006_02_NAMESPACE,
            DpwsVersion::V1_1 => DPWS_1_1_NAMESPACE,
        }
    }

    /// The version whose devices-profile namespace is `ns`.
    pub fn from_namespace(ns: &str) -> Option<DpwsVersion> {
        DpwsVersion::ALL.into_iter().find(|v| v.namespace() == ns)
    }

    /// The prefix soapwire writes for the devices-profile namespace (`wsdp` or `dpws`).
    pub fn prefix(self) -> &'static str {
        match self {
            DpwsVersion::V2006_02 => "wsdp",
            DpwsVersion::V1_1 => "dpws",
        }
    }

    /// The WS-Addressing version this DPWS version is used with.
    pub fn addressing(self) -> AddressingVersion {
        match self {
            DpwsVersion::V2006_02 => AddressingVersion::V0_9,
            DpwsVersion::V1_1 => AddressingVersion::V1_0,
        }
    }

    /// The DPWS version a request in `addressing` is answered in (`None` for transport
    /// addressing, which DPWS does not allow).
    pub fn for_addressing(addressing: AddressingVersion) -> Option<DpwsVersion> {
        DpwsVersion::ALL.into_iter().find(|v| v.addressing() == addressing)
    }

    /// The `Dialect` URI of a metadata section.
    pub fn dialect(self, section: Section) -> String {
        format!("{}/{}", self.namespace(), section.local_name())
    }

    /// The version and section a `Dialect` URI names, if it is one of DPWS's.
    pub fn parse_dialect(dialect: &str) -> Option<(DpwsVersion, Section)> {
        let (ns, local) = dialect.trim().rsplit_once('/')?;
        let version = DpwsVersion::from_namespace(ns)?;
        [Section::ThisModel, Section::ThisDevice, Section::Relationship]
            .into_iter()
            .find(|s| s.local_name() == local)
            .map(|s| (version, s))
    }

    /// The `Type` of the relationship between a device and its hosted services
    /// (`…/devprof/host`, `…/dpws/2009/01/host`).
    pub fn host_relationship(self) -> String {
        format!("{}/host", self.namespace())
    }

    /// A short name for messages: `DPWS 2006/02` or `DPWS 1.1`.
    pub fn name(self) -> &'static str {
        match self {
            DpwsVersion::V2006_02 => "DPWS 2006/02",
            DpwsVersion::V1_1 => "DPWS 1.1",
        }
    }
}

/// Limits applied when reading metadata a peer sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetadataQuotas {
    /// Maximum size of a GetResponse envelope in octets; larger is `QuotaExceeded`. Default
    /// [`MAX_ENVELOPE_SIZE`] (32767), which WSDAPI enforces unless both sides negotiate more
    /// ([MS-DPWSSN]).
    pub max_envelope_size: usize,
    /// Maximum size of every URI (endpoint addresses, service ids, URLs, dialects, types
    /// text) in octets; longer is `QuotaExceeded`. Default [`MAX_URI_SIZE`] (2048).
    pub max_uri_size: usize,
    /// Maximum number of Unicode characters of a characteristic string (manufacturer, model
    /// name, friendly name, …); more is `QuotaExceeded`. Default [`MAX_FIELD_SIZE`]: what we
    /// send has fewer (DPWS §5.1), what we accept may reach it.
    pub max_field_chars: usize,
    /// Maximum number of list items in one message (sections, localized strings, types,
    /// endpoint references, hosted services, extension elements). Default 256.
    pub max_list_items: usize,
    /// Maximum number of header blocks of a GetResponse. Default 32.
    pub max_headers: usize,
    /// The XML reader quotas (`max_total_bytes` is lowered to `max_envelope_size`).
    pub reader: ReaderQuotas,
}

impl Default for MetadataQuotas {
    fn default() -> Self {
        MetadataQuotas {
            max_envelope_size: MAX_ENVELOPE_SIZE,
            max_uri_size: MAX_URI_SIZE,
            max_field_chars: MAX_FIELD_SIZE,
            max_list_items: 256,
            max_headers: 32,
            reader: ReaderQuotas::default(),
        }
    }
}

impl MetadataQuotas {
    /// The reader quotas to parse an envelope of at most `max_envelope_size` octets with.
    pub fn reader_quotas(&self) -> ReaderQuotas {
        let mut q = self.reader;
        q.max_total_bytes = q.max_total_bytes.min(self.max_envelope_size);
        q
    }
}
