//! XML for soapwire: a namespace-aware streaming reader with WWSAPI-style quotas and a
//! small escaping writer, both over [quick-xml](https://docs.rs/quick-xml).
//!
//! This module owns everything soapwire knows about XML syntax:
//!
//! * [`XmlReader`] turns UTF-8 bytes into [`XmlEvent`]s with resolved [`QName`]s, enforces
//!   the [`ReaderQuotas`] and refuses DTDs (so no entity other than the five predefined ones
//!   and character references is ever expanded). It reports byte offsets so callers can cut
//!   raw fragments (header blocks, body content) out of the input without copying.
//! * [`XmlWriter`] appends UTF-8 markup to a `Vec<u8>`, escaping text and attribute values so
//!   that whatever string is written reads back identically.
//!
//! Errors follow the WWSAPI model: malformed input is [`ErrorKind::InvalidFormat`], an
//! exceeded quota is [`ErrorKind::QuotaExceeded`].
//!
//! ```
//! use soapwire_proto::xml::{ReaderQuotas, XmlEvent, XmlReader, XmlWriter};
//!
//! let mut w = XmlWriter::new();
//! w.start_element(Some("e"), "echo");
//! w.namespace_decl(Some("e"), "http://example.org/echo");
//! w.element_with_text(Some("e"), "message", "1 < 2 & \"so\" on");
//! w.end_element();
//!
//! let mut r = XmlReader::new(w.as_bytes(), &ReaderQuotas::default())?;
//! let XmlEvent::Start(echo) = r.next()? else { unreachable!() };
//! assert_eq!(echo.name.namespace, "http://example.org/echo");
//! let XmlEvent::Start(_) = r.next()? else { unreachable!() };
//! assert_eq!(r.read_text()?, "1 < 2 & \"so\" on");
//! # Ok::<(), soapwire_proto::Error>(())
//! ```
//!
//! [`ErrorKind::InvalidFormat`]: crate::error::ErrorKind::InvalidFormat
//! [`ErrorKind::QuotaExceeded`]: crate::error::ErrorKind::QuotaExceeded

mod reader;
mod writer;

pub use reader::{Attribute, StartElement, XmlEvent, XmlReader};
pub use writer::XmlWriter;

/// The namespace bound to the reserved `xml` prefix (`xml:lang`, `xml:space`).
pub const XML_NAMESPACE: &str = "http://www.w3.org/XML/1998/namespace";

/// An expanded XML name: namespace URI (empty for "no namespace") and local name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QName {
    /// The namespace URI, as written in the declaration; `""` when the name is in no namespace.
    pub namespace: String,
    /// The local part of the name.
    pub local: String,
}

impl QName {
    /// A name in namespace `ns` (use `""` for no namespace).
    pub fn new(ns: impl Into<String>, local: impl Into<String>) -> QName {
        QName { namespace: ns.into(), local: local.into() }
    }

    /// True if this is `{ns}local`; compares without allocating.
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.namespace == ns && self.local == local
    }
}

impl std::fmt::Display for QName {
    /// Clark notation: `{namespace}local`, or just `local` for no namespace.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.namespace.is_empty() {
            f.write_str(&self.local)
        } else {
            write!(f, "{{{}}}{}", self.namespace, self.local)
        }
    }
}

/// Reader quotas, the analogues of the `WS_XML_READER_PROPERTY_*` limits. Exceeding any of
/// them makes the reader fail with [`ErrorKind::QuotaExceeded`] and a message naming the
/// quota and the values involved.
///
/// [`ErrorKind::QuotaExceeded`]: crate::error::ErrorKind::QuotaExceeded
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReaderQuotas {
    /// Maximum element nesting depth. Default 32 (`WS_XML_READER_PROPERTY_MAX_DEPTH`).
    pub max_depth: usize,
    /// Maximum number of attributes on one element, not counting `xmlns` declarations.
    /// Default 128 (`WS_XML_READER_PROPERTY_MAX_ATTRIBUTES`).
    pub max_attributes: usize,
    /// Maximum number of namespace declarations in scope at once (inherited ones included).
    /// Default 32 (`WS_XML_READER_PROPERTY_MAX_NAMESPACES`).
    pub max_namespaces: usize,
    /// Maximum bytes of any one qualified name, prefix or namespace URI. Default 1024.
    pub max_name_bytes: usize,
    /// Maximum bytes of one text node or attribute value, after unescaping. Default 4 MiB.
    pub max_text_bytes: usize,
    /// Maximum bytes of the whole input given to one reader. Default 4 MiB.
    pub max_total_bytes: usize,
}

impl Default for ReaderQuotas {
    fn default() -> Self {
        ReaderQuotas {
            max_depth: 32,
            max_attributes: 128,
            max_namespaces: 32,
            max_name_bytes: 1024,
            max_text_bytes: 4 * 1024 * 1024,
            max_total_bytes: 4 * 1024 * 1024,
        }
    }
}

/// True if `s` is empty or only XML whitespace (space, tab, CR, LF).
pub fn is_whitespace(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}
