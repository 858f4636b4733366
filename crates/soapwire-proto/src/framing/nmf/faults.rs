//! The framing fault URIs of [MC-NMF] §2.2.5 and the [`Error`] a receiver of each one reports.
//!
//! A Fault record carries one of these URIs (UTF-8, in the
//! `http://schemas.microsoft.com/ws/2006/05/framing/faults/` namespace). A responder sends one
//! before it closes the connection; an initiator never sends one (the initiator's stream has no
//! Fault record in the grammar of §3.1.1.2). The strings are WCF's `FramingEncodingString`
//! values exactly; note that one of them ends in `Fault`
//! ([`MAX_MESSAGE_SIZE_EXCEEDED`]) and the others do not.
//!
//! The specification's product notes say which faults Windows uses: WCF supports every one
//! below except `EndpointAccessDenied`, `EndpointPaused` and `InvalidRecordSequence` (note <7>),
//! WWSAPI only `ContentTypeInvalid`, `EndpointNotFound`, `MaxMessageSizeExceededFault`,
//! `UnsupportedMode` and `UpgradeInvalid`; and neither sends `ViaTooLong` or
//! `ContentTypeTooLong` when those quotas are exceeded (notes <12> and <15>: they just close).
//! A receiver must still understand all of them, and unknown ones ([`error_for_fault`]).
//!
//! | fault | sent when | [`error_for_fault`] gives |
//! | --- | --- | --- |
//! | [`CONNECTION_DISPATCH_FAILED`] | the Via's endpoint exists but the connection could not be handed to it | [`ErrorKind::EndpointFailure`] |
//! | [`CONTENT_TYPE_INVALID`] | the endpoint does not accept the preamble's encoding | [`ErrorKind::NotSupported`] |
//! | [`CONTENT_TYPE_TOO_LONG`] | the Extensible Encoding record is over the responder's quota | [`ErrorKind::QuotaExceeded`] |
//! | [`ENDPOINT_ACCESS_DENIED`] | the Via's endpoint refuses this client | [`ErrorKind::EndpointAccessDenied`] |
//! | [`ENDPOINT_NOT_FOUND`] | no endpoint listens at the Via | [`ErrorKind::EndpointNotFound`] |
//! | [`ENDPOINT_PAUSED`] | the endpoint exists but is paused | [`ErrorKind::EndpointNotAvailable`] |
//! | [`ENDPOINT_UNAVAILABLE`] | the endpoint exists but is unavailable | [`ErrorKind::EndpointNotAvailable`] |
//! | [`INVALID_RECORD_SEQUENCE`] | the records broke the grammar | [`ErrorKind::EndpointFailure`] |
//! | [`MAX_MESSAGE_SIZE_EXCEEDED`] | an envelope is larger than the responder's quota | [`ErrorKind::QuotaExceeded`] |
//! | [`SERVER_TOO_BUSY`] | the responder has no resources for the connection | [`ErrorKind::EndpointTooBusy`] |
//! | [`SERVICE_ACTIVATION_FAILED`] | the service behind the endpoint could not be started | [`ErrorKind::EndpointFailure`] |
//! | [`UNSUPPORTED_MODE`] | the Mode record names a mode the responder does not support | [`ErrorKind::NotSupported`] |
//! | [`UNSUPPORTED_VERSION`] | the Version record's major version is not 1 | [`ErrorKind::NotSupported`] |
//! | [`UPGRADE_INVALID`] | the requested upgrade (TLS, Negotiate) is not supported | [`ErrorKind::NotSupported`] |
//! | [`VIA_TOO_LONG`] | the Via is over the responder's quota | [`ErrorKind::QuotaExceeded`] |
//! | anything else | (vendor faults, garbage) | [`ErrorKind::EndpointFailure`] |
//!
//! `ContentTypeInvalid`, `UnsupportedMode`, `UnsupportedVersion` and `UpgradeInvalid` map to
//! [`ErrorKind::NotSupported`] rather than [`ErrorKind::EndpointFailure`]: each says that
//! the peer does not support something this side's configuration chose (encoding, mode,
//! framing version, security upgrade), so the caller has to change the binding, and retrying
//! the same call can never help. `EndpointFailure` is kept for failures on the peer's side
//! (WCF reports all four as a `ProtocolException`, which has no closer `WS_E_*` match).

use crate::error::{Error, ErrorKind};

/// The namespace every fault of this table lives in; vendor faults must use another one.
pub const NAMESPACE: &str = "http://schemas.microsoft.com/ws/2006/05/framing/faults/";

/// The endpoint the Via names exists, but the attempt to dispatch the connection to it failed.
pub const CONNECTION_DISPATCH_FAILED: &str =
    "http://schemas.microsoft.com/ws/2006/05/framing/faults/ConnectionDispatchFailed";
/// The encoding of the preamble (known or extensible) is not supported by the endpoint. The
/// runtime sends it when the channel's encoding does not match; the decoder proposes it for a
/// Known Encoding byte outside `0x00..=0x08`.
pub const CONTENT_TYPE_INVALID: &str = "http://schemas.microsoft.com/ws/2006/05/framing/faults/ContentTypeInvalid";
/// The Extensible Encoding record is longer than the responder allows. Windows defines it but
/// does not send it (it just closes), and neither do we.
pub const CONTENT_TYPE_TOO_LONG: &str = "http://schemas.microsoft.com/ws/2006/05/framing/faults/ContentTypeTooLong";
/// The endpoint the Via names cannot be accessed.
pub const ENDPOINT_ACCESS_DENIED: &str = "http://schemas.microsoft.com/ws/2006/05/framing/faults/EndpointAccessDenied";
/// No endpoint listens at the Via: the runtime's listener sends it when the path does not
/// match.
pub const ENDPOINT_NOT_FOUND: &str = "http://schemas.microsoft.com/ws/2006/05/framing/faults/EndpointNotFound";
/// The endpoint the Via names exists but is paused.
pub const ENDPOINT_PAUSED: &str = "http://schemas.microsoft.com/ws/2006/05/framing/faults/EndpointPaused";
/// The endpoint the Via names exists but is currently unavailable (for example, closing).
pub const ENDPOINT_UNAVAILABLE: &str = "http://schemas.microsoft.com/ws/2006/05/framing/faults/EndpointUnavailable";
/// The records do not follow the grammar. Defined by [MC-NMF], never sent by Windows, and not
/// sent by us (a broken sequence is answered by closing).
pub const INVALID_RECORD_SEQUENCE: &str =
    "http://schemas.microsoft.com/ws/2006/05/framing/faults/InvalidRecordSequence";
/// A Sized Envelope is larger than the responder's maximum message size; sent before closing,
/// as soon as the envelope's length is read. Note the `Fault` suffix, which the other names
/// do not have.
pub const MAX_MESSAGE_SIZE_EXCEEDED: &str =
    "http://schemas.microsoft.com/ws/2006/05/framing/faults/MaxMessageSizeExceededFault";
/// The responder has no resources for another connection (for example, its connection limit
/// is reached).
pub const SERVER_TOO_BUSY: &str = "http://schemas.microsoft.com/ws/2006/05/framing/faults/ServerTooBusy";
/// The service behind the endpoint could not be activated.
pub const SERVICE_ACTIVATION_FAILED: &str =
    "http://schemas.microsoft.com/ws/2006/05/framing/faults/ServiceActivationFailed";
/// The Mode record names a mode the responder does not support (soapwire supports only
/// Duplex), or an undefined mode byte.
pub const UNSUPPORTED_MODE: &str = "http://schemas.microsoft.com/ws/2006/05/framing/faults/UnsupportedMode";
/// The Version record's major version is not 1. WCF sends it; WWSAPI closes without a fault;
/// soapwire sends it, as WCF does.
pub const UNSUPPORTED_VERSION: &str = "http://schemas.microsoft.com/ws/2006/05/framing/faults/UnsupportedVersion";
/// The requested stream upgrade is not supported: soapwire supports no upgrade, so every
/// Upgrade Request gets this fault.
pub const UPGRADE_INVALID: &str = "http://schemas.microsoft.com/ws/2006/05/framing/faults/UpgradeInvalid";
/// The Via is longer than the responder allows. Windows defines it but does not send it, and
/// neither do we.
pub const VIA_TOO_LONG: &str = "http://schemas.microsoft.com/ws/2006/05/framing/faults/ViaTooLong";

/// Every fault of [MC-NMF] §2.2.5, in the specification's (alphabetical) order.
pub const ALL: [&str; 15] = [
    CONNECTION_DISPATCH_FAILED,
    CONTENT_TYPE_INVALID,
    CONTENT_TYPE_TOO_LONG,
    ENDPOINT_ACCESS_DENIED,
    ENDPOINT_NOT_FOUND,
    ENDPOINT_PAUSED,
    ENDPOINT_UNAVAILABLE,
    INVALID_RECORD_SEQUENCE,
    MAX_MESSAGE_SIZE_EXCEEDED,
    SERVER_TOO_BUSY,
    SERVICE_ACTIVATION_FAILED,
    UNSUPPORTED_MODE,
    UNSUPPORTED_VERSION,
    UPGRADE_INVALID,
    VIA_TOO_LONG,
];

/// The error a receiver of the Fault record `fault` reports (see the table in the
/// [module docs](self)). The fault string is the error's message; it comes from the peer, so
/// treat it as untrusted text.
///
/// ```
/// use soapwire_proto::framing::nmf::faults;
/// use soapwire_proto::ErrorKind;
///
/// let e = faults::error_for_fault(faults::ENDPOINT_NOT_FOUND);
/// assert_eq!(e.kind(), ErrorKind::EndpointNotFound);
/// assert!(e.to_string().contains("EndpointNotFound"));
/// assert_eq!(faults::error_for_fault("urn:vendor:oops").kind(), ErrorKind::EndpointFailure);
/// ```
pub fn error_for_fault(fault: &str) -> Error {
    let kind = match fault {
        ENDPOINT_NOT_FOUND => ErrorKind::EndpointNotFound,
        ENDPOINT_ACCESS_DENIED => ErrorKind::EndpointAccessDenied,
        ENDPOINT_UNAVAILABLE | ENDPOINT_PAUSED => ErrorKind::EndpointNotAvailable,
        SERVER_TOO_BUSY => ErrorKind::EndpointTooBusy,
        MAX_MESSAGE_SIZE_EXCEEDED | CONTENT_TYPE_TOO_LONG | VIA_TOO_LONG => ErrorKind::QuotaExceeded,
        CONTENT_TYPE_INVALID | UNSUPPORTED_MODE | UNSUPPORTED_VERSION | UPGRADE_INVALID => ErrorKind::NotSupported,
        _ => ErrorKind::EndpointFailure,
    };
    Error::new(kind, format!("the remote endpoint sent the framing fault {fault}"))
}
