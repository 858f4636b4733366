//! .NET Message Framing ([MC-NMF]), the record layer of `net.tcp`, as a sans-IO codec.
//!
//! This module owns the bytes and the rules of the framing, and nothing about sockets, time or
//! the messages inside the envelopes (those are the runtime's and
//! [`framing::binary`](super::binary)'s):
//!
//! * [`Record`], [`encode`], [`sized_envelope_header`] and [`initiator_preamble`]: the records of
//!   §2.2 and how they are written; [`write_multibyte_int31`] / [`read_multibyte_int31`]: the
//!   length encoding of §2.2.2.
//! * [`RecordDecoder`]: takes whole records off a [`BytesMut`](bytes::BytesMut), checking every
//!   length against [`NmfQuotas`] as soon as it is read, before any payload is waited for or
//!   allocated. A failure is a [`DecodeError`], which says which fault a responder sends.
//! * [`ResponderPreamble`] and [`InitiatorPreamble`]: the preamble exchange from each side;
//!   [`SessionRecords`]: what may follow it.
//! * [`faults`]: the fault URIs of §2.2.5 and the [`Error`](crate::Error) each one becomes.
//!
//! A Duplex session, as WCF's buffered `NetTcpBinding` and WWSAPI's `WS_TCP_CHANNEL_BINDING`
//! run it ([MC-NMF] §4.1):
//!
//! ```text
//!   initiator                                   responder
//!   Version 1.0, Mode Duplex, Via, Known Encoding, Preamble End  -->
//!                                          <--  Preamble Ack  (or a Fault, then close)
//!   Sized Envelope*                        <->  Sized Envelope*
//!   End                                    <->  End           (either may be first)
//! ```
//!
//! ```
//! use bytes::BytesMut;
//! use soapwire_proto::framing::nmf::{
//!     encode, initiator_preamble, KnownEncoding, Mode, NmfQuotas, PreambleStep, Record, RecordDecoder,
//!     ResponderPreamble,
//! };
//!
//! // The client writes its preamble and a first message in one go.
//! let mut wire = Vec::new();
//! initiator_preamble("net.tcp://host/echo", Mode::Duplex, KnownEncoding::Soap12BinarySession, &mut wire);
//! encode(&Record::SizedEnvelope("<message>".into()), &mut wire);
//!
//! // The listener decodes records as the bytes arrive, and checks the preamble.
//! let mut decoder = RecordDecoder::new(NmfQuotas::default());
//! let mut preamble = ResponderPreamble::new();
//! let mut buf = BytesMut::from(&wire[..]);
//! let info = loop {
//!     let record = decoder.decode(&mut buf)?.expect("the whole preamble is in the buffer");
//!     match preamble.on_record(record) {
//!         PreambleStep::Continue => {}
//!         PreambleStep::Complete(info) => break info,
//!         PreambleStep::Reject { fault, error } => panic!("{fault:?}: {error}"),
//!     }
//! };
//! assert_eq!(info.via, "net.tcp://host/echo");
//!
//! let mut reply = Vec::new();
//! encode(&Record::PreambleAck, &mut reply);
//! assert_eq!(reply, [0x0B]);
//! assert_eq!(decoder.decode(&mut buf)?, Some(Record::SizedEnvelope("<message>".into())));
//! # Ok::<(), soapwire_proto::framing::nmf::DecodeError>(())
//! ```
//!
//! ## Non-features
//! Only Duplex mode, as WWSAPI: Singleton Unsized (streamed `NetTcpBinding`), Simplex and
//! Singleton Sized (MSMQ) records decode, but the preamble rules refuse those modes, and the
//! chunks of an Unsized Envelope are not decoded. No stream upgrade (TLS, Negotiate) is
//! supported: an Upgrade Request is refused with [`faults::UPGRADE_INVALID`].
//!
//! ## Where the numbers come from
//! Record types, modes, encodings and faults: [MC-NMF] v20190313, §2.2. The content types of the
//! known encodings and the exact fault strings: WCF's `FramingEncodingString`. The default
//! quotas: [MC-NMF] §6 product notes <11>, <14> and <17> (2048-byte Via, 256-byte content type
//! and upgrade name) and the 65536-byte default of `WS_CHANNEL_PROPERTY_MAX_BUFFERED_MESSAGE_SIZE`.
//! Which faults are sent when: the product notes <8> to <21>.

mod decoder;
pub mod faults;
mod preamble;
mod record;
mod session;

pub use decoder::{DecodeError, NmfQuotas, RecordDecoder};
pub use preamble::{Encoding, InitiatorPreamble, PreambleInfo, PreambleStep, ResponderPreamble};
pub use record::{
    KnownEncoding, MAX_RECORD_SIZE, Mode, Record, encode, initiator_preamble, read_multibyte_int31,
    sized_envelope_header, write_multibyte_int31,
};
pub use session::{Role, SessionEvent, SessionRecords};

/// The framing major version this module speaks (the Version record's first byte).
pub const MAJOR_VERSION: u8 = 1;
/// The framing minor version this module sends.
pub const MINOR_VERSION: u8 = 0;

#[cfg(test)]
mod tests;
