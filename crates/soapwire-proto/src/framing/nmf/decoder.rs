//! The quota-checked record decoder.

use std::fmt;

use bytes::{Buf, BytesMut};

use super::faults;
use super::record::{KnownEncoding, Mode, Record, read_multibyte_int31, record_type_name};
use crate::error::{Error, ErrorKind};

/// The size limits of [`RecordDecoder`], in bytes of payload (the record type byte and the
/// length prefix are not counted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NmfQuotas {
    /// The longest Via record: 2048 by default, Windows' `MaxViaSize` ([MC-NMF] note <11>).
    pub max_via_length: usize,
    /// The longest Fault, Extensible Encoding and Upgrade Request string: 256 by default,
    /// Windows' `MaxContentTypeSize` and `MaxUpgradeProtocolSize` (notes <14>, <17>) and
    /// WCF's fault size quota.
    pub max_string_length: usize,
    /// The largest Sized Envelope: 65536 by default, the default of
    /// `WS_CHANNEL_PROPERTY_MAX_BUFFERED_MESSAGE_SIZE`. The runtime sets it from that property.
    pub max_envelope_size: usize,
}

impl Default for NmfQuotas {
    fn default() -> Self {
        NmfQuotas { max_via_length: 2048, max_string_length: 256, max_envelope_size: 65536 }
    }
}

/// A failure of [`RecordDecoder::decode`]: the [`Error`] to report, and the fault a responder
/// should send before closing, if any.
///
/// After any decode error the stream cannot be resynchronised and the connection must be
/// closed. Only a responder sends the fault; an initiator ignores it (the initiator's stream
/// has no Fault records).
///
/// | cause | kind | fault |
/// | --- | --- | --- |
/// | Sized Envelope longer than `max_envelope_size` | `QuotaExceeded` | [`faults::MAX_MESSAGE_SIZE_EXCEEDED`] |
/// | Via, Fault, Extensible Encoding or Upgrade Request string over its quota | `QuotaExceeded` | none (Windows sends none) |
/// | Mode byte outside `0x01..=0x04` | `InvalidFormat` | [`faults::UNSUPPORTED_MODE`] |
/// | Known Encoding byte outside `0x00..=0x08` | `InvalidFormat` | [`faults::CONTENT_TYPE_INVALID`] |
/// | unknown record type, zero length, bad `MultiByteInt31`, invalid UTF-8 | `InvalidFormat` | none |
/// | `decode` called again after an error | `InvalidOperation` | none |
#[derive(Debug, Clone)]
pub struct DecodeError {
    error: Error,
    fault: Option<&'static str>,
}

impl DecodeError {
    fn new(error: Error, fault: Option<&'static str>) -> DecodeError {
        DecodeError { error, fault }
    }

    fn invalid(message: String) -> DecodeError {
        DecodeError::new(Error::invalid_format(message), None)
    }

    /// The error (its kind and `HRESULT`).
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// The error, by value.
    pub fn into_error(self) -> Error {
        self.error
    }

    /// Shorthand for `self.error().kind()`.
    pub fn kind(&self) -> ErrorKind {
        self.error.kind()
    }

    /// The fault URI a responder should send (`Record::Fault`) before closing, or `None` when it
    /// should just close.
    pub fn fault(&self) -> Option<&'static str> {
        self.fault
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl std::error::Error for DecodeError {}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Error {
        e.error
    }
}

/// Takes [MC-NMF] records off the front of a byte buffer, checking every length against
/// [`NmfQuotas`] as soon as its prefix is complete.
///
/// The decoder keeps no bytes of its own: [`decode`](RecordDecoder::decode) either removes one
/// whole record from the caller's buffer or leaves the buffer untouched and returns
/// `Ok(None)`, so a caller appends what it reads and calls again. While `decode` answers
/// `Ok(None)`, the buffer holds fewer than [`max_record_len`](RecordDecoder::max_record_len)
/// bytes: a peer cannot make the caller buffer more than one record's quota, because a length
/// over quota is an error before its payload is waited for.
///
/// ```
/// use bytes::BytesMut;
/// use soapwire_proto::framing::nmf::{NmfQuotas, Record, RecordDecoder};
/// use soapwire_proto::ErrorKind;
///
/// let mut decoder = RecordDecoder::new(NmfQuotas::default());
/// let mut buf = BytesMut::from(&b"\x0b\x06\x03ab"[..]);
/// assert_eq!(decoder.decode(&mut buf)?, Some(Record::PreambleAck));
/// assert_eq!(decoder.decode(&mut buf)?, None); // the envelope's third byte is missing
/// buf.extend_from_slice(b"c");
/// assert_eq!(decoder.decode(&mut buf)?, Some(Record::SizedEnvelope("abc".into())));
///
/// // A 1 MiB envelope is refused as soon as its length is read.
/// buf.extend_from_slice(&[0x06, 0x80, 0x80, 0x40]);
/// let err = decoder.decode(&mut buf).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::QuotaExceeded);
/// assert!(err.fault().unwrap().ends_with("/MaxMessageSizeExceededFault"));
/// # Ok::<(), soapwire_proto::framing::nmf::DecodeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct RecordDecoder {
    quotas: NmfQuotas,
    failed: bool,
}

/// The most bytes a record has besides its payload: the type byte and a five-byte length.
const MAX_HEADER_LEN: usize = 6;

impl RecordDecoder {
    /// A decoder with these quotas.
    pub fn new(quotas: NmfQuotas) -> RecordDecoder {
        RecordDecoder { quotas, failed: false }
    }

    /// The quotas in force.
    pub fn quotas(&self) -> &NmfQuotas {
        &self.quotas
    }

    /// Sets the largest Sized Envelope accepted from the next record on (the runtime sets it from
    /// `WS_CHANNEL_PROPERTY_MAX_BUFFERED_MESSAGE_SIZE`).
    pub fn set_max_envelope_size(&mut self, n: usize) {
        self.quotas.max_envelope_size = n;
    }

    /// The longest record the quotas allow, header included. While [`decode`](Self::decode)
    /// returns `Ok(None)` the buffer is shorter than this, so a read buffer of this size always
    /// suffices.
    pub fn max_record_len(&self) -> usize {
        let q = &self.quotas;
        let payload = q.max_via_length.max(q.max_string_length).max(q.max_envelope_size);
        MAX_HEADER_LEN.saturating_add(payload.min(super::MAX_RECORD_SIZE))
    }

    /// Takes one complete record off the front of `buf`, or returns `Ok(None)` (consuming
    /// nothing) when `buf` ends inside it. A Sized Envelope's payload is split off `buf` without
    /// copying.
    ///
    /// Every length is checked as soon as its `MultiByteInt31` is complete, before the payload
    /// is waited for: a Sized Envelope over `max_envelope_size` is
    /// [`ErrorKind::QuotaExceeded`] with the fault [`faults::MAX_MESSAGE_SIZE_EXCEEDED`], a
    /// string over its quota is `QuotaExceeded` with no fault. An unknown record type, a zero
    /// length, an undefined mode or encoding byte, a bad `MultiByteInt31` or invalid UTF-8 is
    /// [`ErrorKind::InvalidFormat`] (see [`DecodeError`] for the faults). After an error the
    /// decoder answers every call with [`ErrorKind::InvalidOperation`]: the connection has to
    /// be closed.
    ///
    /// [`Record::UnsizedEnvelope`] is only its type byte; the chunks after it are not decoded.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Record>, DecodeError> {
        if self.failed {
            return Err(DecodeError::new(
                Error::invalid_operation("the framing decoder failed earlier; the connection must be closed"),
                None,
            ));
        }
        let result = self.decode_record(buf);
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    fn decode_record(&self, buf: &mut BytesMut) -> Result<Option<Record>, DecodeError> {
        let Some(&record_type) = buf.first() else { return Ok(None) };
        let record = match record_type {
            Record::VERSION => {
                let (Some(&major), Some(&minor)) = (buf.get(1), buf.get(2)) else { return Ok(None) };
                buf.advance(3);
                Record::Version { major, minor }
            }
            Record::MODE => {
                let Some(&value) = buf.get(1) else { return Ok(None) };
                let Some(mode) = Mode::from_byte(value) else {
                    return Err(DecodeError::new(
                        Error::invalid_format(format!("net.tcp framing: undefined mode 0x{value:02X}")),
                        Some(faults::UNSUPPORTED_MODE),
                    ));
                };
                buf.advance(2);
                Record::Mode(mode)
            }
            Record::KNOWN_ENCODING => {
                let Some(&value) = buf.get(1) else { return Ok(None) };
                let Some(encoding) = KnownEncoding::from_byte(value) else {
                    return Err(DecodeError::new(
                        Error::invalid_format(format!("net.tcp framing: undefined known encoding 0x{value:02X}")),
                        Some(faults::CONTENT_TYPE_INVALID),
                    ));
                };
                buf.advance(2);
                Record::KnownEncoding(encoding)
            }
            Record::VIA => match self.take_string(buf, record_type, self.quotas.max_via_length)? {
                Some(s) => Record::Via(s),
                None => return Ok(None),
            },
            Record::EXTENSIBLE_ENCODING => match self.take_string(buf, record_type, self.quotas.max_string_length)? {
                Some(s) => Record::ExtensibleEncoding(s),
                None => return Ok(None),
            },
            Record::FAULT => match self.take_string(buf, record_type, self.quotas.max_string_length)? {
                Some(s) => Record::Fault(s),
                None => return Ok(None),
            },
            Record::UPGRADE_REQUEST => match self.take_string(buf, record_type, self.quotas.max_string_length)? {
                Some(s) => Record::UpgradeRequest(s),
                None => return Ok(None),
            },
            Record::SIZED_ENVELOPE => {
                let Some((header, len)) =
                    sized(buf, record_type, self.quotas.max_envelope_size, Some(faults::MAX_MESSAGE_SIZE_EXCEEDED))?
                else {
                    return Ok(None);
                };
                let mut record = buf.split_to(header + len);
                record.advance(header);
                Record::SizedEnvelope(record.freeze())
            }
            Record::UNSIZED_ENVELOPE => fixed(buf, Record::UnsizedEnvelope),
            Record::END => fixed(buf, Record::End),
            Record::UPGRADE_RESPONSE => fixed(buf, Record::UpgradeResponse),
            Record::PREAMBLE_ACK => fixed(buf, Record::PreambleAck),
            Record::PREAMBLE_END => fixed(buf, Record::PreambleEnd),
            other => {
                return Err(DecodeError::invalid(format!("net.tcp framing: unknown record type 0x{other:02X}")));
            }
        };
        Ok(Some(record))
    }

    /// A length-prefixed UTF-8 record: `Ok(None)` when incomplete, else the string, consumed.
    fn take_string(&self, buf: &mut BytesMut, record_type: u8, max: usize) -> Result<Option<String>, DecodeError> {
        let Some((header, len)) = sized(buf, record_type, max, None)? else { return Ok(None) };
        let Some(payload) = buf.get(header..header + len) else { return Ok(None) };
        let text = std::str::from_utf8(payload)
            .map_err(|_| {
                let name = record_type_name(record_type);
                DecodeError::invalid(format!("net.tcp framing: the {name} record is not valid UTF-8"))
            })?
            .to_owned();
        buf.advance(header + len);
        Ok(Some(text))
    }
}

/// Reads the length of the variable-sized record at the front of `buf` and checks it:
/// `Ok(Some((header_len, payload_len)))` once the whole record is in `buf`, `Ok(None)` while it
/// is not. Zero is `InvalidFormat`; over `max` is `QuotaExceeded` with `quota_fault`, decided
/// before the payload is waited for.
fn sized(
    buf: &[u8],
    record_type: u8,
    max: usize,
    quota_fault: Option<&'static str>,
) -> Result<Option<(usize, usize)>, DecodeError> {
    let name = record_type_name(record_type);
    let after_type = buf.get(1..).unwrap_or_default();
    let Some((len, used)) = read_multibyte_int31(after_type)
        .map_err(|e| DecodeError::new(e.context(format!("net.tcp framing: length of the {name} record")), None))?
    else {
        return Ok(None);
    };
    let len = len as usize;
    if len == 0 {
        return Err(DecodeError::invalid(format!("net.tcp framing: the {name} record has a length of zero")));
    }
    if len > max {
        let message = if record_type == Record::SIZED_ENVELOPE {
            format!("net.tcp framing: a message of {len} bytes exceeds the maximum message size of {max} bytes")
        } else {
            format!("net.tcp framing: the {name} string of {len} bytes exceeds the maximum of {max} bytes")
        };
        return Err(DecodeError::new(Error::quota_exceeded(message), quota_fault));
    }
    let header = 1 + used;
    if buf.len().saturating_sub(header) < len { Ok(None) } else { Ok(Some((header, len))) }
}

/// Consumes the type byte of a record without data and returns the record.
fn fixed(buf: &mut BytesMut, record: Record) -> Record {
    buf.advance(1);
    record
}
