//! WS-Discovery messages, matching rules and application sequencing, both versions in
//! use: **2005/04** (with WS-Addressing 2004/08; what Windows WSDAPI and wsdd speak) and
//! **OASIS WS-Discovery 1.1** (2009/01, with WS-Addressing 1.0; DPWS 1.1).
//!
//! This module owns everything about a discovery datagram that can be decided from its
//! bytes and the caller's clock:
//!
//! * [`messages`]: the typed messages ([`DiscoveryMessage`]: Hello, Bye, Probe,
//!   ProbeMatches, Resolve, ResolveMatches), their encoding as SOAP 1.2 envelopes
//!   ([`DiscoveryMessage::to_envelope`]) and their decoding with the DPWS limits
//!   `MAX_ENVELOPE_SIZE` and `MAX_URI_SIZE` ([`DiscoveryMessage::parse`]).
//! * [`matching`]: Types matching by QName and Scopes matching with the `MatchBy` rules
//!   (RFC 3986 prefix, `strcmp0`, UUID, LDAP, and 1.1's `none`).
//! * [`sequence`]: `AppSequence` generation, the per-endpoint freshness tracker (tolerant of
//!   peers such as wsdd that number out of order) and duplicate suppression by `MessageID`.
//!
//! Sockets, interfaces and timers are the runtime crate's business; the SOAP-over-UDP
//! retransmission schedule is in [`crate::udp`].
//!
//! ```
//! use soapwire_proto::addressing::AddressingHeaders;
//! use soapwire_proto::discovery::{DiscoveryMessage, DiscoveryQuotas, DiscoveryVersion, Probe};
//! use soapwire_proto::xml::QName;
//!
//! let probe = DiscoveryMessage::Probe(Probe {
//!     types: vec![QName::new("http://schemas.xmlsoap.org/ws/2006/02/devprof", "Device")],
//!     ..Probe::default()
//! });
//! let addressing = AddressingHeaders {
//!     message_id: Some("urn:uuid:146d26db-d7c8-420c-b503-52baea5351fd".into()),
//!     ..AddressingHeaders::default()
//! };
//! let wire = probe.to_envelope(DiscoveryVersion::V2005_04, &addressing, None);
//! // wsdd compares the Types text literally: the devprof namespace is written as `wsdp`.
//! assert!(String::from_utf8_lossy(&wire).contains(">wsdp:Device<"));
//!
//! let received = DiscoveryMessage::parse(&wire, &DiscoveryQuotas::default())?;
//! assert_eq!(received.version, DiscoveryVersion::V2005_04);
//! let DiscoveryMessage::Probe(back) = received.message else { unreachable!() };
//! assert_eq!(back.types, [QName::new("http://schemas.xmlsoap.org/ws/2006/02/devprof", "Device")]);
//! assert_eq!(back.types_text.as_deref(), Some("wsdp:Device"));
//! # Ok::<(), soapwire_proto::Error>(())
//! ```

pub mod matching;
pub mod messages;
pub mod sequence;

#[cfg(test)]
mod tests;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use crate::addressing::AddressingVersion;
use crate::xml::ReaderQuotas;

pub use matching::{MatchBy, ScopeMatch, matching_rule_not_supported_fault, probe_matches, scopes_match, types_match};
pub use messages::{
    AppSequence, Bye, DiscoveryMessage, EndpointInfo, Hello, Probe, ProbeMatch, ReceivedDiscovery, Resolve,
    ResolveMatch, Scopes,
};
pub use sequence::{AppSequenceGenerator, AppSequenceTracker, DuplicateFilter, Freshness, Observation};

/// The WS-Discovery 2005/04 namespace.
pub const WSD_2005_04_NAMESPACE: &str = "http://schemas.xmlsoap.org/ws/2005/04/discovery";
/// The OASIS WS-Discovery 1.1 namespace.
pub const WSD_1_1_NAMESPACE: &str = "http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01";
/// `wsa:To` of multicast discovery messages, 2005/04.
pub const WSD_2005_04_TO: &str = "urn:schemas-xmlsoap-org:ws:2005:04:discovery";
/// `wsa:To` of multicast discovery messages, 1.1.
pub const WSD_1_1_TO: &str = "urn:docs-oasis-open-org:ws-dd:ns:discovery:2009:01";

/// The DPWS 2006 devices-profile namespace (prefix `wsdp`, type `wsdp:Device`).
pub const DPWS_2006_02_NAMESPACE: &str = "http://schemas.xmlsoap.org/ws/2006/02/devprof";
/// The DPWS 1.1 namespace (prefix `dpws`).
pub const DPWS_1_1_NAMESPACE: &str = "http://docs.oasis-open.org/ws-dd/ns/dpws/2009/01";
/// The Windows "pub" namespace (`pub:Computer`).
pub const WINDOWS_PUB_NAMESPACE: &str = "http://schemas.microsoft.com/windows/pub/2005/07";

/// UDP port of ad-hoc discovery (`DISCOVERY_PORT`).
pub const DISCOVERY_PORT: u16 = 3702;
/// IPv4 multicast group of ad-hoc discovery.
pub const DISCOVERY_MULTICAST_V4: Ipv4Addr = Ipv4Addr::new(239, 255, 255, 250);
/// IPv6 link-local multicast group of ad-hoc discovery (`FF02::C`).
pub const DISCOVERY_MULTICAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0xc);
/// `MAX_ENVELOPE_SIZE` of DPWS: 32767 octets.
pub const MAX_ENVELOPE_SIZE: usize = 32767;
/// `MAX_URI_SIZE` of DPWS: 2048 octets.
pub const MAX_URI_SIZE: usize = 2048;
/// `MATCH_TIMEOUT`: how long a client collects ProbeMatches / ResolveMatches (10 s).
pub const MATCH_TIMEOUT: Duration = Duration::from_secs(10);

/// A WS-Discovery version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DiscoveryVersion {
    /// WS-Discovery April 2005 with WS-Addressing 2004/08 (Windows, wsdd, DPWS 2006).
    V2005_04,
    /// OASIS WS-Discovery 1.1 (2009/01) with WS-Addressing 1.0 (DPWS 1.1).
    V1_1,
}

/// The kind of a discovery message (its body element and action).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// `Hello`: a target service announces itself.
    Hello,
    /// `Bye`: a target service leaves.
    Bye,
    /// `Probe`: a client searches by types and scopes.
    Probe,
    /// `ProbeMatches`: the answer to a Probe.
    ProbeMatches,
    /// `Resolve`: a client asks for the transport addresses of an endpoint.
    Resolve,
    /// `ResolveMatches`: the answer to a Resolve.
    ResolveMatches,
}

impl MessageKind {
    /// Every kind.
    pub const ALL: [MessageKind; 6] = [
        MessageKind::Hello,
        MessageKind::Bye,
        MessageKind::Probe,
        MessageKind::ProbeMatches,
        MessageKind::Resolve,
        MessageKind::ResolveMatches,
    ];

    /// The local name of the body element (and last segment of the action).
    pub fn local_name(self) -> &'static str {
        match self {
            MessageKind::Hello => "Hello",
            MessageKind::Bye => "Bye",
            MessageKind::Probe => "Probe",
            MessageKind::ProbeMatches => "ProbeMatches",
            MessageKind::Resolve => "Resolve",
            MessageKind::ResolveMatches => "ResolveMatches",
        }
    }

    /// The kind whose body element is named `local`.
    pub fn from_local_name(local: &str) -> Option<MessageKind> {
        MessageKind::ALL.into_iter().find(|k| k.local_name() == local)
    }

    /// True for the answers (ProbeMatches, ResolveMatches), sent unicast to the requester.
    pub fn is_reply(self) -> bool {
        matches!(self, MessageKind::ProbeMatches | MessageKind::ResolveMatches)
    }

    /// True for the messages that carry an `AppSequence` header (Hello, Bye and the matches).
    pub fn has_app_sequence(self) -> bool {
        !matches!(self, MessageKind::Probe | MessageKind::Resolve)
    }
}

impl DiscoveryVersion {
    /// The discovery namespace.
    pub fn namespace(self) -> &'static str {
        match self {
            DiscoveryVersion::V2005_04 => WSD_2005_04_NAMESPACE,
            DiscoveryVersion::V1_1 => WSD_1_1_NAMESPACE,
        }
    }

    /// The version whose namespace is `ns`.
    pub fn from_namespace(ns: &str) -> Option<DiscoveryVersion> {
        match ns {
            WSD_2005_04_NAMESPACE => Some(DiscoveryVersion::V2005_04),
            WSD_1_1_NAMESPACE => Some(DiscoveryVersion::V1_1),
            _ => None,
        }
    }

    /// The WS-Addressing version this discovery version is used with.
    pub fn addressing(self) -> AddressingVersion {
        match self {
            DiscoveryVersion::V2005_04 => AddressingVersion::V0_9,
            DiscoveryVersion::V1_1 => AddressingVersion::V1_0,
        }
    }

    /// The `wsa:To` of multicast messages (Hello, Bye, Probe, Resolve) in ad-hoc mode.
    pub fn multicast_to(self) -> &'static str {
        match self {
            DiscoveryVersion::V2005_04 => WSD_2005_04_TO,
            DiscoveryVersion::V1_1 => WSD_1_1_TO,
        }
    }

    /// The action URI of `kind`: the namespace, `/`, the element name.
    pub fn action(self, kind: MessageKind) -> String {
        format!("{}/{}", self.namespace(), kind.local_name())
    }

    /// The kind whose action URI is `action`, in this version.
    pub fn kind_of_action(self, action: &str) -> Option<MessageKind> {
        let rest = action.strip_prefix(self.namespace())?.strip_prefix('/')?;
        MessageKind::from_local_name(rest)
    }

    /// The `MatchingRuleNotSupported` fault subcode's local name (in [`Self::namespace`]).
    pub fn matching_rule_not_supported_subcode(self) -> &'static str {
        "MatchingRuleNotSupported"
    }
}

/// Limits applied when decoding a discovery datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiscoveryQuotas {
    /// Maximum envelope size in octets; larger is `QuotaExceeded`. Default
    /// [`MAX_ENVELOPE_SIZE`].
    pub max_envelope_size: usize,
    /// Maximum size of every URI (addressing headers, endpoint address, scopes, XAddrs,
    /// `MatchBy`, `SequenceId`) in octets; longer is `QuotaExceeded`. Default
    /// [`MAX_URI_SIZE`].
    pub max_uri_size: usize,
    /// The XML reader quotas (`max_total_bytes` is lowered to `max_envelope_size`).
    pub reader: ReaderQuotas,
    /// Maximum number of header blocks. Default 32.
    pub max_headers: usize,
    /// Maximum number of list items (types, scopes, XAddrs, matches) in one message.
    /// Default 256.
    pub max_list_items: usize,
}

impl Default for DiscoveryQuotas {
    fn default() -> Self {
        DiscoveryQuotas {
            max_envelope_size: MAX_ENVELOPE_SIZE,
            max_uri_size: MAX_URI_SIZE,
            reader: ReaderQuotas::default(),
            max_headers: 32,
            max_list_items: 256,
        }
    }
}
