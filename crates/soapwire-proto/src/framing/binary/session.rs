//! The in-band session dictionary of [MC-NBFSE] (`application/soap+msbinsession1`).
//!
//! This module owns the per-direction string tables of a session channel and their quota.
//! Each message is a `StringTable` — `MultiByteInt31` size in bytes, then the new strings,
//! each a `MultiByteInt31` length and UTF-8 bytes — followed by an NBFX document whose
//! `DictionaryString`s may use odd ids: the first string ever announced on the session is
//! id 1, the next 3, and so on; even ids stay the static dictionary's. The sender's and the
//! receiver's tables of one direction evolve in lockstep; the two directions of a channel
//! are independent, hence one [`SessionEncoder`] and one [`SessionDecoder`] per direction.
//!
//! What counts toward the quota, and which strings our encoder puts into the dictionary, is
//! documented on the [parent module](super) (sections "The session dictionary quota" and
//! "Which strings go into the session dictionary").

use super::decode::{self, Shape, Strings};
use super::dictionary::FastHashMap;
use super::encode::{self, Names};
use super::records::{self as r, Cursor};
use crate::error::{Error, Result};
use crate::xml::ReaderQuotas;

/// The default of `WS_CHANNEL_PROPERTY_MAX_SESSION_DICTIONARY_SIZE` (and of WCF's
/// `BinaryMessageEncodingBindingElement.MaxSessionSize`): 2048 bytes of session strings per
/// direction, counted as described in the [module docs](super#the-session-dictionary-quota).
pub const DEFAULT_MAX_SESSION_DICTIONARY_SIZE: usize = 2048;

/// The cost of `s` against the quota: its UTF-8 length plus its length prefix.
fn cost(s: &str) -> usize {
    let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
    s.len().saturating_add(r::int31_len(len))
}

/// The send side of one direction of a binary-session channel: turns text envelopes into
/// `StringTable` + NBFX payloads, remembering the strings already announced.
///
/// ```
/// use soapwire_proto::framing::binary::{SessionDecoder, SessionEncoder, DEFAULT_MAX_SESSION_DICTIONARY_SIZE};
/// use soapwire_proto::xml::ReaderQuotas;
///
/// let mut tx = SessionEncoder::new(DEFAULT_MAX_SESSION_DICTIONARY_SIZE);
/// let mut rx = SessionDecoder::new(DEFAULT_MAX_SESSION_DICTIONARY_SIZE);
/// let xml = br#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><Order xmlns="urn:shop"/></s:Body></s:Envelope>"#;
/// let (mut first, mut second) = (Vec::new(), Vec::new());
/// tx.encode_envelope(xml, &mut first)?;
/// tx.encode_envelope(xml, &mut second)?;
/// assert!(second.len() < first.len(), "the second message refers to Order and urn:shop by id");
/// assert_eq!(second[0], 0, "an empty StringTable");
/// for payload in [&first, &second] {
///     let text = rx.decode_envelope(payload, &ReaderQuotas::default())?;
///     assert!(text.starts_with(b"<s:Envelope"));
/// }
/// # Ok::<(), soapwire_proto::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct SessionEncoder {
    /// Bytes of quota left; 0 once a string did not fit (the dictionary is then closed).
    remaining: usize,
    used: usize,
    strings: Vec<String>,
    ids: FastHashMap<String, u32>,
}

impl SessionEncoder {
    /// An encoder with an empty session dictionary that may grow to
    /// `max_session_dictionary_size` bytes (see the [module docs](super#the-session-dictionary-quota);
    /// values above 2^31 - 1 are treated as 2^31 - 1, the largest `StringTable` size).
    pub fn new(max_session_dictionary_size: usize) -> Self {
        SessionEncoder {
            remaining: max_session_dictionary_size.min(r::MAX_INT31 as usize),
            used: 0,
            strings: Vec::new(),
            ids: FastHashMap::default(),
        }
    }

    /// Appends one message — the `StringTable` of the strings this envelope adds to the
    /// session dictionary, then the NBFX document — for text XML envelope `xml`.
    ///
    /// Errors are those of [`encode_document`](super::encode_document) (`InvalidFormat` for
    /// text that is not well-formed, namespace-well-formed XML with one root); on error,
    /// `out` and the session dictionary are left as they were.
    pub fn encode_envelope(&mut self, xml: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let (count, remaining, used) = (self.strings.len(), self.remaining, self.used);
        // The document is encoded straight into `out`, behind the one-byte size of an empty
        // StringTable. That is the steady state of a session (every string already
        // announced), where nothing is copied; a message that adds strings has its table
        // spliced in over that byte afterwards.
        let start = out.len();
        out.push(0);
        if let Err(e) = encode::encode(xml, self, out) {
            out.truncate(start);
            for s in self.strings.drain(count..) {
                self.ids.remove(&s);
            }
            (self.remaining, self.used) = (remaining, used);
            return Err(e);
        }
        let new = self.strings.get(count..).unwrap_or_default();
        if !new.is_empty() {
            let size: usize = new.iter().map(|s| cost(s)).sum();
            let mut table = Vec::with_capacity(r::int31_len(u32::try_from(size).unwrap_or(u32::MAX)) + size);
            r::write_int31(&mut table, u32::try_from(size).unwrap_or(r::MAX_INT31));
            for s in new {
                r::write_int31(&mut table, u32::try_from(s.len()).unwrap_or(r::MAX_INT31));
                table.extend_from_slice(s.as_bytes());
            }
            out.splice(start..start + 1, table);
        }
        Ok(())
    }

    /// The number of strings in this direction's session dictionary.
    pub fn dictionary_len(&self) -> usize {
        self.strings.len()
    }

    /// The bytes of session strings counted against the quota so far.
    pub fn dictionary_bytes(&self) -> usize {
        self.used
    }
}

impl Names for SessionEncoder {
    fn name_id(&mut self, s: &str) -> Option<u32> {
        if let Some(id) = super::static_id(s) {
            return Some(id);
        }
        if let Some(&id) = self.ids.get(s) {
            return Some(id);
        }
        if s.is_empty() || self.remaining == 0 {
            return None;
        }
        let cost = cost(s);
        let id = u32::try_from(self.strings.len()).ok()?.checked_mul(2)?.checked_add(1)?;
        if cost > self.remaining || id > r::MAX_INT31 {
            self.remaining = 0;
            return None;
        }
        self.remaining -= cost;
        self.used += cost;
        self.strings.push(s.to_owned());
        self.ids.insert(s.to_owned(), id);
        Some(id)
    }

    fn text_id(&self, s: &str) -> Option<u32> {
        super::static_id(s)
    }
}

/// The receive side of one direction of a binary-session channel: reads each message's
/// `StringTable` into the session dictionary (within the quota), then decodes its document.
#[derive(Clone, Debug)]
pub struct SessionDecoder {
    max: usize,
    remaining: usize,
    strings: Vec<String>,
}

impl SessionDecoder {
    /// A decoder with an empty session dictionary that accepts up to
    /// `max_session_dictionary_size` bytes of session strings (see the
    /// [module docs](super#the-session-dictionary-quota)).
    pub fn new(max_session_dictionary_size: usize) -> Self {
        SessionDecoder { max: max_session_dictionary_size, remaining: max_session_dictionary_size, strings: Vec::new() }
    }

    /// Decodes one message (`StringTable` + NBFX document) to text XML, like
    /// [`decode_document`](super::decode_document) but with the session's strings.
    ///
    /// A `StringTable` beyond the remaining quota is `QuotaExceeded` (fault the channel); a
    /// malformed table or document is `InvalidFormat`; the `quotas` apply to the document
    /// and its output as in `decode_document`.
    pub fn decode_envelope(&mut self, payload: &[u8], quotas: &ReaderQuotas) -> Result<Vec<u8>> {
        let mut cur = Cursor::new(payload);
        let size = cur.int31()? as usize;
        if size > cur.remaining() {
            return Err(Error::invalid_format(format!(
                "session StringTable of {size} bytes, but only {} byte(s) follow",
                cur.remaining()
            )));
        }
        if size > self.remaining {
            return Err(Error::quota_exceeded(format!(
                "session dictionary quota exceeded: a StringTable of {size} bytes with {} of \
                 max_session_dictionary_size ({}) left",
                self.remaining, self.max
            )));
        }
        let mut table = Cursor::new(cur.take(size)?);
        let mut new = Vec::new();
        while !table.is_empty() {
            new.push(table.string().map_err(|e| e.context("reading the session StringTable"))?.to_owned());
        }
        self.remaining -= size;
        self.strings.append(&mut new);
        let document = payload.get(cur.position()..).unwrap_or_default();
        decode::decode(document, self, quotas, Shape::Document)
    }

    /// The number of strings in this direction's session dictionary.
    pub fn dictionary_len(&self) -> usize {
        self.strings.len()
    }

    /// The bytes of session strings counted against the quota so far.
    pub fn dictionary_bytes(&self) -> usize {
        self.max - self.remaining
    }
}

impl Strings for SessionDecoder {
    fn get(&self, id: u32) -> Option<&str> {
        if id % 2 == 0 {
            return super::static_string(id);
        }
        self.strings.get(usize::try_from(id / 2).ok()?).map(String::as_str)
    }
}
