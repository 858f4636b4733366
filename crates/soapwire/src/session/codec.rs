//! Message encodings of a session: which [MC-NMF] known encoding a channel announces, and
//! the per-direction transcoders between our UTF-8 text envelopes and the bytes of a sized
//! envelope (text as is, binary XML, or binary XML with the session dictionary, whose state
//! lives as long as the connection).

use soapwire_proto::framing::binary::{self, SessionDecoder, SessionEncoder};
use soapwire_proto::framing::nmf::KnownEncoding;
use soapwire_proto::properties::{ChannelProperties, MessageEncoding};
use soapwire_proto::soap::EnvelopeVersion;
use soapwire_proto::xml::ReaderQuotas;
use soapwire_proto::{Error, ErrorKind, Result};

/// The known encoding announced in the preamble for a channel's properties.
pub(crate) fn known_encoding(properties: &ChannelProperties) -> Result<KnownEncoding> {
    let soap12 = properties.envelope_version == EnvelopeVersion::Soap12;
    match (properties.encoding, soap12) {
        (MessageEncoding::TextUtf8, true) => Ok(KnownEncoding::Soap12Utf8),
        (MessageEncoding::TextUtf8, false) => Ok(KnownEncoding::Soap11Utf8),
        (MessageEncoding::Binary, true) => Ok(KnownEncoding::Soap12Binary),
        (MessageEncoding::BinarySession, true) => Ok(KnownEncoding::Soap12BinarySession),
        (MessageEncoding::Binary | MessageEncoding::BinarySession, false) => {
            Err(Error::new(ErrorKind::InvalidArgument, "the binary XML encodings require SOAP 1.2"))
        }
        (e, _) => Err(Error::new(ErrorKind::NotSupported, format!("the {e:?} encoding is not supported on sessions"))),
    }
}

/// The send side of a session's encoding.
pub(crate) enum Encoder {
    Text,
    Binary,
    Session(Box<SessionEncoder>),
}

/// The receive side of a session's encoding.
pub(crate) enum Decoder {
    Text,
    Binary,
    Session(Box<SessionDecoder>),
}

/// The transcoders of both directions for a negotiated encoding.
pub(crate) fn codecs(encoding: KnownEncoding, max_session_dictionary_size: usize) -> (Encoder, Decoder) {
    match encoding {
        KnownEncoding::Soap12Binary => (Encoder::Binary, Decoder::Binary),
        KnownEncoding::Soap12BinarySession => (
            Encoder::Session(Box::new(SessionEncoder::new(max_session_dictionary_size))),
            Decoder::Session(Box::new(SessionDecoder::new(max_session_dictionary_size))),
        ),
        _ => (Encoder::Text, Decoder::Text),
    }
}

impl Encoder {
    /// Appends the sized-envelope payload for the text envelope `xml` to `out`.
    pub(crate) fn encode(&mut self, xml: &[u8], out: &mut Vec<u8>) -> Result<()> {
        match self {
            Encoder::Text => {
                out.extend_from_slice(xml);
                Ok(())
            }
            Encoder::Binary => binary::encode_document(xml, out),
            Encoder::Session(session) => session.encode_envelope(xml, out),
        }
    }

    /// True if encoding changes state that the peer must see in order (the session
    /// dictionary): a message encoded but not sent leaves the two ends out of step.
    pub(crate) fn is_stateful(&self) -> bool {
        matches!(self, Encoder::Session(_))
    }
}

impl Decoder {
    /// The UTF-8 text envelope of a received sized-envelope payload.
    pub(crate) fn decode(&mut self, payload: bytes::Bytes, quotas: &ReaderQuotas) -> Result<bytes::Bytes> {
        match self {
            Decoder::Text => Ok(payload),
            Decoder::Binary => binary::decode_document(&payload, quotas).map(bytes::Bytes::from),
            Decoder::Session(session) => session.decode_envelope(&payload, quotas).map(bytes::Bytes::from),
        }
    }
}

/// The channel encoding and envelope version a responder uses for a known encoding the
/// initiator asked for, if it serves that encoding at all.
pub(crate) fn accepts(properties: &ChannelProperties, asked: KnownEncoding) -> bool {
    known_encoding(properties).is_ok_and(|mine| mine == asked)
}
