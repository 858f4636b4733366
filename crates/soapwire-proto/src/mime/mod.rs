//! MIME `multipart/related` for MTOM/XOP: content-type parsing, a bounded-memory push
//! parser, the XOP package rules and a zero-copy writer.
//!
//! This module owns the MIME layer of an MTOM message and nothing above it:
//!
//! * [`MediaType`] and [`MultipartType`] parse `Content-Type` values such as
//!   `multipart/related; type="application/xop+xml"; boundary=...; start="<...>";
//!   start-info="application/soap+xml"` (RFC 2045 / RFC 2046 / RFC 2387).
//! * [`MultipartParser`] is a push parser: bytes in ([`MultipartParser::push`] copies a
//!   slice, [`MultipartParser::push_bytes`] keeps a `Bytes` and hands part data out as slices
//!   of it), events out ([`MultipartParser::poll_event`]): [`MultipartEvent::PartStart`]
//!   with the part's [`PartHeaders`], any number of [`MultipartEvent::PartData`] pieces, then
//!   [`MultipartEvent::PartEnd`], and [`MultipartEvent::End`] after the closing delimiter.
//!   It never holds a whole part: besides the bytes pushed and not yet turned into events it
//!   keeps a carry-over of at most `len(boundary) + 5` bytes (plus up to
//!   [`MAX_TRANSPORT_PADDING`] bytes while it decides whether a delimiter line ends), so a
//!   4 GiB attachment passes through in the memory of one network read.
//! * [`XopPackageCheck`] applies the XOP / DPWS rules to the parts as they start: the SOAP
//!   envelope (`application/xop+xml`, Content-ID = `start`) must be the first part (DPWS
//!   R0038, enforced by WSDAPI), Content-IDs are unique, and only the identity transfer
//!   encodings (`binary`, `8bit`, `7bit`) are accepted.
//! * [`MultipartWriter`] produces the delimiters and part headers of an outgoing MTOM
//!   message and passes attachment data through as [`Bytes`](bytes::Bytes) without copying.
//!
//! All limits are in [`MimeQuotas`] (64-bit, so multi-gigabyte attachments can be allowed)
//! and are enforced here, before any byte reaches the XML layer or the application.
//! Malformed input is [`ErrorKind::InvalidFormat`], an exceeded quota
//! [`ErrorKind::QuotaExceeded`], a transfer encoding soapwire does not decode
//! [`ErrorKind::NotSupported`], and API misuse [`ErrorKind::InvalidOperation`] /
//! [`ErrorKind::InvalidArgument`].
//!
//! Resolving `xop:Include href="cid:..."` references (and so detecting a reference to a
//! missing part, or a part nothing references) is the job of the MTOM layer above, which
//! sees both the envelope and the part list; this module only guarantees that every part it
//! reports has well-formed headers and a Content-ID unique within the message.
//!
//! ```
//! use soapwire_proto::mime::{MimeQuotas, MultipartEvent, MultipartParser, MultipartType,
//!     MultipartWriter, XopPackageCheck, SOAP12_START_INFO};
//! use bytes::Bytes;
//!
//! // Write: envelope first, then one attachment.
//! let mut w = MultipartWriter::new("0d6c4c5e-7f0a-4f43-9a52-2b2d1e6c9a10", "root@soapwire", SOAP12_START_INFO)?;
//! let http_content_type = w.content_type();
//! let mut wire = Vec::new();
//! wire.extend_from_slice(&w.start_root()?);
//! wire.extend_from_slice(&w.data(Bytes::from_static(b"<s:Envelope .../>"))?);
//! wire.extend_from_slice(&w.start_part("pic@soapwire", "image/png")?);
//! wire.extend_from_slice(&w.data(Bytes::from_static(b"\x89PNG..."))?);
//! wire.extend_from_slice(&w.finish()?);
//!
//! // Read it back, in two pushes.
//! let ct = MultipartType::parse(&http_content_type)?;
//! let mut check = XopPackageCheck::new(&ct)?;
//! let mut p = MultipartParser::new(&ct.boundary, MimeQuotas::default())?;
//! let (a, b) = wire.split_at(40);
//! let mut ids = Vec::new();
//! for chunk in [a, b] {
//!     p.push(chunk)?;
//!     while let Some(event) = p.poll_event() {
//!         if let MultipartEvent::PartStart { headers } = event? {
//!             check.check_part(&headers)?;
//!             ids.push(headers.content_id().unwrap_or_default().to_owned());
//!         }
//!     }
//! }
//! p.finish()?;
//! check.finish()?;
//! assert_eq!(ids, ["root@soapwire", "pic@soapwire"]);
//! # Ok::<(), soapwire_proto::Error>(())
//! ```
//!
//! [`ErrorKind::InvalidFormat`]: crate::error::ErrorKind::InvalidFormat
//! [`ErrorKind::QuotaExceeded`]: crate::error::ErrorKind::QuotaExceeded
//! [`ErrorKind::NotSupported`]: crate::error::ErrorKind::NotSupported
//! [`ErrorKind::InvalidOperation`]: crate::error::ErrorKind::InvalidOperation
//! [`ErrorKind::InvalidArgument`]: crate::error::ErrorKind::InvalidArgument

mod content_type;
mod parser;
mod writer;
mod xop;

#[cfg(test)]
mod tests;

pub use content_type::{MediaType, MultipartType, validate_boundary};
pub use parser::{MultipartEvent, MultipartParser, PartHeaders};
pub use writer::MultipartWriter;
pub use xop::{PartRole, XopPackageCheck};

/// The media type of the root part of an XOP package: `application/xop+xml`.
pub const XOP_MEDIA_TYPE: &str = "application/xop+xml";

/// The `start-info` (and root `type`) of a SOAP 1.2 envelope: `application/soap+xml`.
pub const SOAP12_START_INFO: &str = "application/soap+xml";

/// The `start-info` (and root `type`) of a SOAP 1.1 envelope: `text/xml`.
pub const SOAP11_START_INFO: &str = "text/xml";

/// The longest boundary RFC 2046 allows, in bytes.
pub const MAX_BOUNDARY_LEN: usize = 70;

/// The most transport padding (spaces and tabs) accepted between a delimiter and its line
/// end (RFC 2046 `transport-padding`); more is [`InvalidFormat`](crate::ErrorKind::InvalidFormat).
pub const MAX_TRANSPORT_PADDING: usize = 256;

/// Limits of the MIME layer. Exceeding one makes the parser fail with
/// [`ErrorKind::QuotaExceeded`](crate::ErrorKind::QuotaExceeded) (except
/// `max_preamble_bytes`, see there) before the offending bytes are handed on.
///
/// The defaults allow one attachment of up to 4 GiB in a message of up to 8 GiB; a
/// service that expects larger transfers raises them, one that expects none lowers them.
/// The SOAP envelope (the root part) is additionally bounded by the XML reader's quotas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MimeQuotas {
    /// Maximum body bytes of any one part (headers not counted). Default 4 GiB.
    pub max_part_size: u64,
    /// Maximum bytes of the whole multipart body as pushed (preamble, delimiters, headers,
    /// part bodies and epilogue). Default 8 GiB.
    pub max_message_size: u64,
    /// Maximum number of parts, the root part included. Default 1000.
    pub max_parts: u64,
    /// Maximum bytes of one part's header block, its terminating empty line included.
    /// Default 16 KiB.
    pub max_header_bytes: usize,
    /// Maximum number of header fields in one part. Default 64.
    pub max_headers: usize,
    /// Maximum bytes before the first delimiter. A body that shows no delimiter within this
    /// window is not the multipart message its content type claims, so this one fails with
    /// [`ErrorKind::InvalidFormat`](crate::ErrorKind::InvalidFormat). Default 64 KiB.
    pub max_preamble_bytes: u64,
}

impl Default for MimeQuotas {
    fn default() -> Self {
        MimeQuotas {
            max_part_size: 4 * 1024 * 1024 * 1024,
            max_message_size: 8 * 1024 * 1024 * 1024,
            max_parts: 1000,
            max_header_bytes: 16 * 1024,
            max_headers: 64,
            max_preamble_bytes: 64 * 1024,
        }
    }
}
