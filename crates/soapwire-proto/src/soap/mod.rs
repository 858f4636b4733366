//! SOAP 1.1 / 1.2 for soapwire: envelopes, header blocks, `mustUnderstand`, faults and the
//! SOAP-over-HTTP content-type rules.
//!
//! This module owns the envelope layer of a message:
//!
//! * [`Envelope::parse`] checks the envelope structure and version and cuts the header
//!   blocks and the body content out of the received buffer *without copying*
//!   ([`bytes::Bytes::slice`]); nothing is parsed into a DOM. Each piece keeps the namespace
//!   bindings it inherited so it can be re-read with [`Header::reader`] / [`Body::reader`].
//! * [`write_envelope`] and friends serialise envelopes (prefix `s` for the envelope
//!   namespace).
//! * [`Fault`] reads and writes faults of both versions and maps them to and from
//!   [`crate::error::Error`].
//! * [`http`] holds the `Content-Type` / `SOAPAction` rules.
//!
//! ```
//! use bytes::Bytes;
//! use soapwire_proto::soap::{Envelope, EnvelopeVersion, write_envelope};
//! use soapwire_proto::xml::{QName, ReaderQuotas};
//!
//! let wire = write_envelope(EnvelopeVersion::Soap12, &[], b"<e:echo xmlns:e=\"urn:e\"/>");
//! let env = Envelope::parse(Bytes::from(wire), Some(EnvelopeVersion::Soap12), &ReaderQuotas::default(), 64)?;
//! assert_eq!(env.body.first_element(&ReaderQuotas::default())?, Some(QName::new("urn:e", "echo")));
//! # Ok::<(), soapwire_proto::Error>(())
//! ```

mod envelope;
mod fault;
pub mod http;

use bytes::Bytes;

pub use envelope::{
    Body, Envelope, Header, XML_DECLARATION, write_envelope, write_envelope_end, write_envelope_start,
    write_envelope_with_body,
};
pub use fault::{Fault, FaultCode};
pub use http::{SOAP11_CONTENT_TYPE, content_type, parse_content_type, soap_action_header};

use crate::error::{Error, Result};

/// The SOAP 1.1 envelope namespace.
pub const SOAP11_NAMESPACE: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// The SOAP 1.2 envelope namespace.
pub const SOAP12_NAMESPACE: &str = "http://www.w3.org/2003/05/soap-envelope";
/// SOAP 1.1 `actor` URI targeting the next node (which includes us).
pub const SOAP11_ACTOR_NEXT: &str = "http://schemas.xmlsoap.org/soap/actor/next";
/// SOAP 1.2 `role` URI targeting the next node (which includes us).
pub const SOAP12_ROLE_NEXT: &str = "http://www.w3.org/2003/05/soap-envelope/role/next";
/// SOAP 1.2 `role` URI targeting the ultimate receiver (us).
pub const SOAP12_ROLE_ULTIMATE_RECEIVER: &str = "http://www.w3.org/2003/05/soap-envelope/role/ultimateReceiver";
/// SOAP 1.2 `role` URI that targets no node.
pub const SOAP12_ROLE_NONE: &str = "http://www.w3.org/2003/05/soap-envelope/role/none";

/// The prefix soapwire writes for the envelope namespace.
pub(crate) const ENV_PREFIX: &str = "s";

/// The SOAP version of an envelope (`WS_ENVELOPE_VERSION` without `NONE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EnvelopeVersion {
    /// SOAP 1.1 (`WS_ENVELOPE_VERSION_SOAP_1_1`).
    Soap11,
    /// SOAP 1.2 (`WS_ENVELOPE_VERSION_SOAP_1_2`), soapwire's default.
    Soap12,
}

impl EnvelopeVersion {
    /// The envelope namespace URI of this version.
    pub fn namespace(self) -> &'static str {
        match self {
            EnvelopeVersion::Soap11 => SOAP11_NAMESPACE,
            EnvelopeVersion::Soap12 => SOAP12_NAMESPACE,
        }
    }

    /// The version whose envelope namespace is `ns`, if any.
    pub fn from_namespace(ns: &str) -> Option<EnvelopeVersion> {
        match ns {
            SOAP11_NAMESPACE => Some(EnvelopeVersion::Soap11),
            SOAP12_NAMESPACE => Some(EnvelopeVersion::Soap12),
            _ => None,
        }
    }

    /// "1.1" or "1.2", for messages.
    pub fn number(self) -> &'static str {
        match self {
            EnvelopeVersion::Soap11 => "1.1",
            EnvelopeVersion::Soap12 => "1.2",
        }
    }
}

/// `bytes[range]` without copying; an out-of-range cut is an internal inconsistency
/// reported as `InvalidFormat` rather than a panic.
pub(crate) fn cut(bytes: &Bytes, range: std::ops::Range<usize>) -> Result<Bytes> {
    if range.start <= range.end && range.end <= bytes.len() {
        Ok(bytes.slice(range))
    } else {
        Err(Error::invalid_format(format!("fragment {range:?} outside a buffer of {} bytes", bytes.len())))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn envelope_version_namespaces_round_trip() {
        for v in [EnvelopeVersion::Soap11, EnvelopeVersion::Soap12] {
            assert_eq!(EnvelopeVersion::from_namespace(v.namespace()), Some(v));
        }
        assert_eq!(EnvelopeVersion::from_namespace("urn:other"), None);
        assert_eq!(EnvelopeVersion::Soap11.namespace(), "http://schemas.xmlsoap.org/soap/envelope/");
        assert_eq!(EnvelopeVersion::Soap12.namespace(), "http://www.w3.org/2003/05/soap-envelope");
    }

    #[test]
    fn cut_out_of_range_is_an_error_not_a_panic() {
        let b = Bytes::from_static(b"abc");
        assert_eq!(&cut(&b, 1..3).unwrap()[..], b"bc");
        assert!(cut(&b, 2..4).is_err());
        assert!(cut(&b, std::ops::Range { start: 2, end: 1 }).is_err());
    }
}
