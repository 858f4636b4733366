//! The [MC-NMF] records (§2.2), `MultiByteInt31` (§2.2.2) and the encoder.

use bytes::Bytes;

use crate::error::{Error, Result};

/// The largest length a record may carry: `0x7FFFFFFF` (a `MultiByteInt31`). [MC-NMF] §2.2.2 says
/// an implementation SHOULD support `0xFFFFFFFF`, but its product note <2> says WCF does not
/// allow anything above `0x7FFFFFFF`, and neither do we.
pub const MAX_RECORD_SIZE: usize = i32::MAX as usize;

/// Mode record values ([MC-NMF] §2.2.3.2).
///
/// soapwire speaks only [`Mode::Duplex`], what WCF's buffered `NetTcpBinding` and WWSAPI's
/// `WS_TCP_CHANNEL_BINDING` use; the others decode so that a responder can refuse them with
/// [`faults::UNSUPPORTED_MODE`](super::faults::UNSUPPORTED_MODE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Mode {
    /// `0x01`: one message, or one request and its reply, in unsized (chunked) envelopes:
    /// WCF's streamed `NetTcpBinding`. Not supported.
    SingletonUnsized = 1,
    /// `0x02`: many messages in both directions, in sized envelopes: buffered `NetTcpBinding`
    /// and `WS_TCP_CHANNEL_BINDING`.
    Duplex = 2,
    /// `0x03`: many one-way messages with no answering stream (MSMQ). Not supported.
    Simplex = 3,
    /// `0x04`: one one-way message whose size the transport knows (MSMQ). Not supported.
    SingletonSized = 4,
}

impl Mode {
    /// The mode for a Mode record's value byte, or `None` for `0x00` and the reserved
    /// `0x05..=0xFF`.
    ///
    /// ```
    /// use soapwire_proto::framing::nmf::Mode;
    /// assert_eq!(Mode::from_byte(2), Some(Mode::Duplex));
    /// assert_eq!(Mode::from_byte(5), None);
    /// ```
    pub fn from_byte(b: u8) -> Option<Mode> {
        match b {
            1 => Some(Mode::SingletonUnsized),
            2 => Some(Mode::Duplex),
            3 => Some(Mode::Simplex),
            4 => Some(Mode::SingletonSized),
            _ => None,
        }
    }
}

/// Known Encoding record values ([MC-NMF] §2.2.3.4.1): the encoding of every envelope that
/// follows the preamble.
///
/// Which of them a listener accepts is the runtime's decision (a mismatch is answered with
/// [`faults::CONTENT_TYPE_INVALID`](super::faults::CONTENT_TYPE_INVALID)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum KnownEncoding {
    /// `0x00`: SOAP 1.1, text, UTF-8.
    Soap11Utf8 = 0,
    /// `0x01`: SOAP 1.1, text, UTF-16.
    Soap11Utf16 = 1,
    /// `0x02`: SOAP 1.1, text, "Unicode little-endian" in the specification's words. WCF's
    /// content type for it says `charset=unicodeFFFE`, which is .NET's name for *big*-endian
    /// UTF-16; do not trust the byte order implied by either name without a byte-order mark.
    Soap11Utf16Le = 2,
    /// `0x03`: SOAP 1.2, text, UTF-8.
    Soap12Utf8 = 3,
    /// `0x04`: SOAP 1.2, text, UTF-16.
    Soap12Utf16 = 4,
    /// `0x05`: SOAP 1.2, text, "Unicode little-endian" (see [`KnownEncoding::Soap11Utf16Le`]).
    Soap12Utf16Le = 5,
    /// `0x06`: SOAP 1.2, MTOM.
    Soap12Mtom = 6,
    /// `0x07`: SOAP 1.2, .NET binary XML with the static dictionary ([MC-NBFS]).
    Soap12Binary = 7,
    /// `0x08`: SOAP 1.2, .NET binary XML with an in-band session dictionary ([MC-NBFSE]):
    /// what `NetTcpBinding` uses by default.
    Soap12BinarySession = 8,
}

impl KnownEncoding {
    /// Every known encoding, in value order.
    pub const ALL: [KnownEncoding; 9] = [
        KnownEncoding::Soap11Utf8,
        KnownEncoding::Soap11Utf16,
        KnownEncoding::Soap11Utf16Le,
        KnownEncoding::Soap12Utf8,
        KnownEncoding::Soap12Utf16,
        KnownEncoding::Soap12Utf16Le,
        KnownEncoding::Soap12Mtom,
        KnownEncoding::Soap12Binary,
        KnownEncoding::Soap12BinarySession,
    ];

    /// The encoding for a Known Encoding record's value byte, or `None` for the reserved
    /// `0x09..=0xFF`.
    ///
    /// ```
    /// use soapwire_proto::framing::nmf::KnownEncoding;
    /// assert_eq!(KnownEncoding::from_byte(8), Some(KnownEncoding::Soap12BinarySession));
    /// assert_eq!(KnownEncoding::from_byte(9), None);
    /// ```
    pub fn from_byte(b: u8) -> Option<KnownEncoding> {
        KnownEncoding::ALL.get(usize::from(b)).copied()
    }

    /// The content type WCF gives this encoding (`FramingEncodingString` in WCF's and
    /// CoreWCF's framing code; [MC-NMF] itself only names the encodings). The strings are
    /// WCF's exactly, including `charset=utf16` without a hyphen:
    ///
    /// | value | content type |
    /// | --- | --- |
    /// | `0x00` | `text/xml; charset=utf-8` |
    /// | `0x01` | `text/xml; charset=utf16` |
    /// | `0x02` | `text/xml; charset=unicodeFFFE` |
    /// | `0x03` | `application/soap+xml; charset=utf-8` |
    /// | `0x04` | `application/soap+xml; charset=utf16` |
    /// | `0x05` | `application/soap+xml; charset=unicodeFFFE` |
    /// | `0x06` | `multipart/related` |
    /// | `0x07` | `application/soap+msbin1` |
    /// | `0x08` | `application/soap+msbinsession1` |
    ///
    /// ```
    /// use soapwire_proto::framing::nmf::KnownEncoding;
    /// assert_eq!(KnownEncoding::Soap12BinarySession.content_type(), "application/soap+msbinsession1");
    /// ```
    pub fn content_type(self) -> &'static str {
        match self {
            KnownEncoding::Soap11Utf8 => "text/xml; charset=utf-8",
            KnownEncoding::Soap11Utf16 => "text/xml; charset=utf16",
            KnownEncoding::Soap11Utf16Le => "text/xml; charset=unicodeFFFE",
            KnownEncoding::Soap12Utf8 => "application/soap+xml; charset=utf-8",
            KnownEncoding::Soap12Utf16 => "application/soap+xml; charset=utf16",
            KnownEncoding::Soap12Utf16Le => "application/soap+xml; charset=unicodeFFFE",
            KnownEncoding::Soap12Mtom => "multipart/related",
            KnownEncoding::Soap12Binary => "application/soap+msbin1",
            KnownEncoding::Soap12BinarySession => "application/soap+msbinsession1",
        }
    }

    /// The known encoding whose [`content_type`](KnownEncoding::content_type) is exactly
    /// `content_type`, for an Extensible Encoding record that names one. Comparison is exact,
    /// as WCF's is; anything else (for example WCF's compressed
    /// `application/soap+msbinsession1+gzip`) is `None`.
    pub fn from_content_type(content_type: &str) -> Option<KnownEncoding> {
        KnownEncoding::ALL.into_iter().find(|e| e.content_type() == content_type)
    }
}

/// One [MC-NMF] record (§2.2.1), as it is on the wire.
///
/// | type byte | record | data |
/// | --- | --- | --- |
/// | `0x00` | [`Record::Version`] | major, minor |
/// | `0x01` | [`Record::Mode`] | one byte |
/// | `0x02` | [`Record::Via`] | `MultiByteInt31` length + UTF-8 URI |
/// | `0x03` | [`Record::KnownEncoding`] | one byte |
/// | `0x04` | [`Record::ExtensibleEncoding`] | length + UTF-8 MIME content type |
/// | `0x05` | [`Record::UnsizedEnvelope`] | chunks (not decoded here) |
/// | `0x06` | [`Record::SizedEnvelope`] | length + payload |
/// | `0x07` | [`Record::End`] | none |
/// | `0x08` | [`Record::Fault`] | length + UTF-8 fault URI |
/// | `0x09` | [`Record::UpgradeRequest`] | length + UTF-8 protocol name |
/// | `0x0A` | [`Record::UpgradeResponse`] | none |
/// | `0x0B` | [`Record::PreambleAck`] | none |
/// | `0x0C` | [`Record::PreambleEnd`] | none |
///
/// Every length must be at least 1 ([MC-NMF] §2.2.3.3 and §3.1.4.1): [`encode`] writes what it
/// is given, and [`RecordDecoder`](super::RecordDecoder) refuses empty strings and envelopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// The framing version; [`MAJOR_VERSION`](super::MAJOR_VERSION).
    /// [`MINOR_VERSION`](super::MINOR_VERSION) is the only one defined.
    Version {
        /// Major version: 1.
        major: u8,
        /// Minor version: 0 (WCF does not check it when the major version is 1).
        minor: u8,
    },
    /// The communication mode of the session.
    Mode(Mode),
    /// The URI of the endpoint the session is for (`net.tcp://host:port/path`).
    Via(String),
    /// The envelope encoding, by number.
    KnownEncoding(KnownEncoding),
    /// The envelope encoding, as a MIME content type.
    ExtensibleEncoding(String),
    /// The type byte of an Unsized Envelope record (Singleton Unsized mode). The data chunks
    /// that follow it are **not** decoded: soapwire does not support that mode, and the
    /// runtime rejects the record.
    UnsizedEnvelope,
    /// One whole message, encoded with the session's encoding.
    SizedEnvelope(Bytes),
    /// The sender will send nothing more on this session.
    End,
    /// A framing fault URI (see [`faults`](super::faults)); the sender closes after it.
    Fault(String),
    /// A request to upgrade the stream (`application/ssl-tls`, `application/negotiate`).
    UpgradeRequest(String),
    /// The receiver agrees to the upgrade requested.
    UpgradeResponse,
    /// The receiver accepted the preamble.
    PreambleAck,
    /// The end of the initiator's preamble.
    PreambleEnd,
}

impl Record {
    /// Record type byte of [`Record::Version`].
    pub const VERSION: u8 = 0x00;
    /// Record type byte of [`Record::Mode`].
    pub const MODE: u8 = 0x01;
    /// Record type byte of [`Record::Via`].
    pub const VIA: u8 = 0x02;
    /// Record type byte of [`Record::KnownEncoding`].
    pub const KNOWN_ENCODING: u8 = 0x03;
    /// Record type byte of [`Record::ExtensibleEncoding`].
    pub const EXTENSIBLE_ENCODING: u8 = 0x04;
    /// Record type byte of [`Record::UnsizedEnvelope`].
    pub const UNSIZED_ENVELOPE: u8 = 0x05;
    /// Record type byte of [`Record::SizedEnvelope`].
    pub const SIZED_ENVELOPE: u8 = 0x06;
    /// Record type byte of [`Record::End`].
    pub const END: u8 = 0x07;
    /// Record type byte of [`Record::Fault`].
    pub const FAULT: u8 = 0x08;
    /// Record type byte of [`Record::UpgradeRequest`].
    pub const UPGRADE_REQUEST: u8 = 0x09;
    /// Record type byte of [`Record::UpgradeResponse`].
    pub const UPGRADE_RESPONSE: u8 = 0x0A;
    /// Record type byte of [`Record::PreambleAck`].
    pub const PREAMBLE_ACK: u8 = 0x0B;
    /// Record type byte of [`Record::PreambleEnd`].
    pub const PREAMBLE_END: u8 = 0x0C;

    /// The record type byte.
    pub fn record_type(&self) -> u8 {
        match self {
            Record::Version { .. } => Record::VERSION,
            Record::Mode(_) => Record::MODE,
            Record::Via(_) => Record::VIA,
            Record::KnownEncoding(_) => Record::KNOWN_ENCODING,
            Record::ExtensibleEncoding(_) => Record::EXTENSIBLE_ENCODING,
            Record::UnsizedEnvelope => Record::UNSIZED_ENVELOPE,
            Record::SizedEnvelope(_) => Record::SIZED_ENVELOPE,
            Record::End => Record::END,
            Record::Fault(_) => Record::FAULT,
            Record::UpgradeRequest(_) => Record::UPGRADE_REQUEST,
            Record::UpgradeResponse => Record::UPGRADE_RESPONSE,
            Record::PreambleAck => Record::PREAMBLE_ACK,
            Record::PreambleEnd => Record::PREAMBLE_END,
        }
    }

    /// The specification's name of the record ("Sized Envelope"), for messages.
    pub fn name(&self) -> &'static str {
        record_type_name(self.record_type())
    }
}

/// The specification's name of a record type byte, or `"unknown"`.
pub(super) fn record_type_name(record_type: u8) -> &'static str {
    match record_type {
        Record::VERSION => "Version",
        Record::MODE => "Mode",
        Record::VIA => "Via",
        Record::KNOWN_ENCODING => "Known Encoding",
        Record::EXTENSIBLE_ENCODING => "Extensible Encoding",
        Record::UNSIZED_ENVELOPE => "Unsized Envelope",
        Record::SIZED_ENVELOPE => "Sized Envelope",
        Record::END => "End",
        Record::FAULT => "Fault",
        Record::UPGRADE_REQUEST => "Upgrade Request",
        Record::UPGRADE_RESPONSE => "Upgrade Response",
        Record::PREAMBLE_ACK => "Preamble Ack",
        Record::PREAMBLE_END => "Preamble End",
        _ => "unknown",
    }
}

/// Appends `value` as a `MultiByteInt31` ([MC-NMF] §2.2.2, [MC-NBFX] §2.1.2): seven bits per
/// byte, least significant first, the high bit set on every byte but the last; always the
/// shortest form, one to five bytes.
///
/// `value` must be at most `i32::MAX`. This function never panics: a larger value is written
/// as five bytes whose last one exceeds `0x07`, which every conforming decoder (ours, WCF's)
/// rejects, so the mistake shows up as a failed exchange rather than a silently truncated
/// length.
///
/// ```
/// use soapwire_proto::framing::nmf::write_multibyte_int31;
/// let mut out = Vec::new();
/// write_multibyte_int31(205, &mut out);
/// assert_eq!(out, [0xCD, 0x01]);
/// ```
pub fn write_multibyte_int31(value: u32, out: &mut Vec<u8>) {
    let mut rest = value;
    while rest >= 0x80 {
        out.push((rest & 0x7F) as u8 | 0x80);
        rest >>= 7;
    }
    out.push(rest as u8);
}

/// Reads a `MultiByteInt31` from the front of `buf`: `Ok(Some((value, bytes_used)))`, or
/// `Ok(None)` when `buf` ends before the last byte of the integer.
///
/// At most five bytes are read, and a fifth byte must be at most `0x07` (so the value fits in
/// 31 bits); anything else is [`ErrorKind::InvalidFormat`](crate::ErrorKind::InvalidFormat).
/// Non-minimal forms (`80 00` for 0) are accepted: [MC-NMF]'s grammar (§3.1.1.2) does not
/// allow them, but WCF's `IntDecoder` accepts them, and they cost nothing to accept.
///
/// ```
/// use soapwire_proto::framing::nmf::read_multibyte_int31;
/// assert_eq!(read_multibyte_int31(&[0xCD, 0x01, 0xFF])?, Some((205, 2)));
/// assert_eq!(read_multibyte_int31(&[0xCD])?, None);
/// assert!(read_multibyte_int31(&[0xFF, 0xFF, 0xFF, 0xFF, 0x08]).is_err());
/// # Ok::<(), soapwire_proto::Error>(())
/// ```
pub fn read_multibyte_int31(buf: &[u8]) -> Result<Option<(u32, usize)>> {
    let mut value: u32 = 0;
    for (i, &byte) in buf.iter().take(5).enumerate() {
        if i == 4 && byte > 0x07 {
            return Err(Error::invalid_format(format!(
                "MultiByteInt31 is longer than 31 bits (fifth byte 0x{byte:02X}, at most 0x07 allowed)"
            )));
        }
        value |= u32::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(Some((value, i + 1)));
        }
    }
    Ok(None)
}

/// Appends the header of a Sized Envelope record of `len` payload bytes (`0x06` and the
/// `MultiByteInt31` length), so that the caller can write the payload itself without copying
/// it into the output. `sized_envelope_header(p.len(), out)` followed by `p` is exactly what
/// [`encode`] writes for `Record::SizedEnvelope(p)`.
///
/// `len` must be between 1 and [`MAX_RECORD_SIZE`]; the caller checks it against its own quota
/// first. A larger length is written as an encoding every decoder rejects (see
/// [`write_multibyte_int31`]); this never panics.
///
/// ```
/// use soapwire_proto::framing::nmf::sized_envelope_header;
/// let mut out = Vec::new();
/// sized_envelope_header(170, &mut out);
/// assert_eq!(out, [0x06, 0xAA, 0x01]);
/// ```
pub fn sized_envelope_header(len: usize, out: &mut Vec<u8>) {
    out.push(Record::SIZED_ENVELOPE);
    write_len(len, out);
}

/// Appends the bytes of `record`.
///
/// Lengths are not checked here: an empty string or envelope is written with a zero length,
/// which the peer's decoder rejects ([MC-NMF] §3.1.4.1), and a length above
/// [`MAX_RECORD_SIZE`] is written as an encoding every decoder rejects. Never panics.
///
/// ```
/// use soapwire_proto::framing::nmf::{encode, Record};
/// let mut out = Vec::new();
/// encode(&Record::Fault("x".into()), &mut out);
/// encode(&Record::End, &mut out);
/// assert_eq!(out, [0x08, 0x01, b'x', 0x07]);
/// ```
pub fn encode(record: &Record, out: &mut Vec<u8>) {
    match record {
        Record::Version { major, minor } => out.extend_from_slice(&[Record::VERSION, *major, *minor]),
        Record::Mode(mode) => out.extend_from_slice(&[Record::MODE, *mode as u8]),
        Record::Via(s) | Record::ExtensibleEncoding(s) | Record::Fault(s) | Record::UpgradeRequest(s) => {
            out.push(record.record_type());
            write_len(s.len(), out);
            out.extend_from_slice(s.as_bytes());
        }
        Record::KnownEncoding(e) => out.extend_from_slice(&[Record::KNOWN_ENCODING, *e as u8]),
        Record::SizedEnvelope(payload) => {
            sized_envelope_header(payload.len(), out);
            out.extend_from_slice(payload);
        }
        Record::UnsizedEnvelope | Record::End | Record::UpgradeResponse | Record::PreambleAck | Record::PreambleEnd => {
            out.push(record.record_type())
        }
    }
}

/// Appends the initiator's preamble ([MC-NMF] §2.2.6 and §3.2.4.2, without upgrades): Version
/// 1.0, `Mode(mode)`, `Via(via)`, `KnownEncoding(encoding)` and Preamble End, in one buffer so
/// that it can go out in one write (the first envelope may follow it at once, before the
/// Preamble Ack arrives, as WCF's client does).
///
/// `mode` is [`Mode::Duplex`] for every session soapwire opens.
///
/// ```
/// use soapwire_proto::framing::nmf::{initiator_preamble, KnownEncoding, Mode};
/// let mut out = Vec::new();
/// initiator_preamble("net.tcp://h/", Mode::Duplex, KnownEncoding::Soap12BinarySession, &mut out);
/// assert_eq!(out, b"\x00\x01\x00\x01\x02\x02\x0cnet.tcp://h/\x03\x08\x0c");
/// ```
pub fn initiator_preamble(via: &str, mode: Mode, encoding: KnownEncoding, out: &mut Vec<u8>) {
    encode(&Record::Version { major: super::MAJOR_VERSION, minor: super::MINOR_VERSION }, out);
    encode(&Record::Mode(mode), out);
    out.push(Record::VIA);
    write_len(via.len(), out);
    out.extend_from_slice(via.as_bytes());
    encode(&Record::KnownEncoding(encoding), out);
    encode(&Record::PreambleEnd, out);
}

/// Writes a record length; lengths beyond `u32` become `u32::MAX`, which no decoder accepts.
fn write_len(len: usize, out: &mut Vec<u8>) {
    write_multibyte_int31(u32::try_from(len).unwrap_or(u32::MAX), out);
}
