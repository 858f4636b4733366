//! .NET Binary XML ([MC-NBFX], [MC-NBFS], [MC-NBFSE]): a sans-IO transcoder between the
//! UTF-8 text XML soapwire keeps messages in and the record format WCF and WWSAPI send on
//! net.tcp (and named pipes).
//!
//! | encoding | media type | here |
//! | --- | --- | --- |
//! | `WS_ENCODING_XML_BINARY_1` | `application/soap+msbin1` | [`encode_document`], [`decode_document`]: one NBFX document per message, static dictionary only |
//! | `WS_ENCODING_XML_BINARY_SESSION_1` | `application/soap+msbinsession1` | [`SessionEncoder`], [`SessionDecoder`]: each message is a `StringTable` followed by an NBFX document; one encoder and one decoder per channel direction |
//!
//! The runtime transcodes at the wire boundary: text → binary just before framing a message,
//! binary → text right after unframing one, so everything above (envelopes, headers,
//! [`soap::Envelope::parse`](crate::soap::Envelope::parse)) sees text XML. Decoding keeps
//! every namespace declaration and prefix, so the text parser reads the same infoset the
//! binary carried; encoding keeps them too (see `encode.rs` for the record choices).
//!
//! | module | owns |
//! | --- | --- |
//! | `records` | record type bytes, `MultiByteInt31`, the text form of every typed text record (numbers, dates, durations, UUIDs, base64), the encoder's choice of text record |
//! | `dictionary` | the [MC-NBFS] static dictionary (487 strings, even ids 0x000..0x3CC): [`static_string`], [`static_id`] |
//! | `decode` | binary → text: every record of [MC-NBFX] §2, namespace checks, quotas before allocation |
//! | `encode` | text → binary: text XML to records, dictionary and prefix forms |
//! | `session` | [MC-NBFSE] `StringTable`s, the session dictionaries and their quota (see the two sections below) |
//!
//! # The session dictionary quota
//!
//! `WS_CHANNEL_PROPERTY_MAX_SESSION_DICTIONARY_SIZE` (default
//! [`DEFAULT_MAX_SESSION_DICTIONARY_SIZE`], 2048) bounds the bytes of session strings one
//! direction may hold, counted as WCF's binary encoder counts them: every string costs its
//! UTF-8 length **plus the size of its `MultiByteInt31` length prefix**, so the total is
//! exactly the sum of the `Size` fields of all `StringTable`s sent so far (WCF's
//! `XmlBinaryWriterSessionWithQuota.TryAdd` on send; `BinaryMessageEncoder.ReadMessage`'s
//! `remainingReaderSessionSize` on receive, which compares each table's `Size` with what is
//! left). The quota never shrinks: strings stay for the life of the session.
//!
//! * On **receive**, a `StringTable` larger than what is left of the quota is
//!   [`ErrorKind::QuotaExceeded`](crate::ErrorKind::QuotaExceeded); the runtime faults the
//!   channel. A malformed table (a size past the payload, a string past the table, bad
//!   UTF-8) is `InvalidFormat`; an id that no table has defined yet is `InvalidFormat` too.
//!   The strings of a table are kept even if the document after it then fails to decode,
//!   as WCF does (the sender has counted them already).
//! * On **send**, a string that does not fit is simply written inline; like WCF, the
//!   encoder then stops adding strings for the rest of the session (a full dictionary is
//!   not probed again), so both ends agree on the table without further signalling.
//!
//! # Which strings go into the session dictionary
//!
//! Our encoder's rule: every element local name, attribute local name (not `xmlns`) and
//! non-empty namespace URI of a namespace declaration that is **not** in the static
//! dictionary (those use their even static id). Prefixes cannot be dictionary strings in
//! NBFX, and text content and attribute values are never added (they are sent as typed or
//! character records; a text that is exactly a static string uses DictionaryText). The
//! first occurrence of a string goes into the message's `StringTable` and is already
//! referred to by its new id in that message's document; later messages refer to it by id
//! alone. If encoding a message fails, the strings it added are forgotten again.
//!
//! # Errors
//!
//! Malformed input — a truncated record, an unknown or reserved record type, a dictionary
//! id that is not defined (not in the static table, or a session id no `StringTable` has
//! announced yet), an EndElement with no open element, an undeclared prefix, a duplicate
//! attribute, a name that is not an `NCName`, a character XML 1.0 cannot carry — is
//! [`ErrorKind::InvalidFormat`](crate::ErrorKind::InvalidFormat). An exceeded
//! [`ReaderQuotas`] limit or session dictionary quota is
//! [`ErrorKind::QuotaExceeded`](crate::ErrorKind::QuotaExceeded). Nothing here panics on
//! any input.
//!
//! # Example
//!
//! ```
//! use soapwire_proto::framing::binary::{decode_document, encode_document};
//! use soapwire_proto::soap::Envelope;
//! use soapwire_proto::xml::ReaderQuotas;
//!
//! let xml = br#"<s:Envelope xmlns:a="http://www.w3.org/2005/08/addressing" xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header><a:Action s:mustUnderstand="1">action</a:Action></s:Header><s:Body><Inventory>0</Inventory></s:Body></s:Envelope>"#;
//!
//! let mut binary = Vec::new();
//! encode_document(xml, &mut binary)?;
//! // The [MC-NBFS] §3 example, byte for byte.
//! assert_eq!(binary[..4], [0x56, 0x02, 0x0B, 0x01]);
//! assert_eq!(binary.len(), 42);
//!
//! let text = decode_document(&binary, &ReaderQuotas::default())?;
//! assert_eq!(text, xml.to_vec());
//! let envelope = Envelope::parse(bytes::Bytes::from(text), None, &ReaderQuotas::default(), 64)?;
//! assert_eq!(envelope.headers.len(), 1);
//! # Ok::<(), soapwire_proto::Error>(())
//! ```
//!
//! # Non-features
//!
//! MTOM inside binary XML (`application/soap+msbin1` with XOP) is not supported, and the
//! encoder never produces Array, list, Bytes, Float/Double/Decimal/DateTime/TimeSpan or
//! QNameDictionary records (text XML does not say which text is typed); the decoder
//! accepts all of them.
//!
//! [MC-NBFX]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/mc-nbfx/
//! [MC-NBFS]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/mc-nbfs/
//! [MC-NBFSE]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/mc-nbfse/

mod decode;
mod dictionary;
mod encode;
mod records;
mod session;
#[cfg(test)]
mod tests;

pub use dictionary::{static_id, static_string};
pub use session::{DEFAULT_MAX_SESSION_DICTIONARY_SIZE, SessionDecoder, SessionEncoder};

use crate::error::Result;
use crate::xml::ReaderQuotas;

/// Decodes one `application/soap+msbin1` message (an NBFX document using the static
/// dictionary) to well-formed UTF-8 text XML without an XML declaration.
///
/// Every namespace declaration and prefix of the binary is kept, so
/// [`soap::Envelope::parse`](crate::soap::Envelope::parse) reads the same infoset. The
/// `quotas` bound the input (`max_total_bytes`), the output (`max_total_bytes`), the element
/// depth, attributes per element, namespaces in scope, name bytes and text bytes, each
/// checked before the memory is committed; exceeding one is `QuotaExceeded`. Malformed
/// input is `InvalidFormat` (see the [module docs](self#errors)).
pub fn decode_document(input: &[u8], quotas: &ReaderQuotas) -> Result<Vec<u8>> {
    decode::decode(input, &decode::StaticStrings, quotas, decode::Shape::Document)
}

/// Like [`decode_document`], but for any sequence of records: zero or more top-level
/// elements, text and comments (as in the [MC-NBFX] §3 examples). The result is an XML
/// fragment rather than a document.
pub fn decode_fragment(input: &[u8], quotas: &ReaderQuotas) -> Result<Vec<u8>> {
    decode::decode(input, &decode::StaticStrings, quotas, decode::Shape::Fragment)
}

/// Appends the NBFX document (`application/soap+msbin1`) for text XML `xml` — soapwire's
/// writer output or an application's raw envelope, UTF-8 with or without a declaration or
/// BOM — to `out`.
///
/// Names and namespace URIs in the static dictionary are sent as ids; everything else
/// inline. `xml` must be a namespace-well-formed document with one root element, no DTD
/// and only the predefined entities, otherwise the result is `InvalidFormat` and `out` is
/// left as it was.
pub fn encode_document(xml: &[u8], out: &mut Vec<u8>) -> Result<()> {
    encode::encode(xml, &mut encode::StaticNames, out)
}
