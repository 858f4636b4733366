//! The preamble rules of each side ([MC-NMF] §3.2.4.2 and §3.3.4.2), for Duplex sessions
//! without upgrades.

use super::faults;
use super::record::{KnownEncoding, Mode, Record};
use crate::error::{Error, ErrorKind, Result};

/// The envelope encoding a preamble announced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encoding {
    /// A Known Encoding record.
    Known(KnownEncoding),
    /// An Extensible Encoding record: a MIME content type (for example WCF's compressed
    /// `application/soap+msbinsession1+gzip`).
    Extensible(String),
}

impl Encoding {
    /// The content type: [`KnownEncoding::content_type`] or the extensible string.
    pub fn content_type(&self) -> &str {
        match self {
            Encoding::Known(e) => e.content_type(),
            Encoding::Extensible(s) => s,
        }
    }
}

/// What a complete, accepted preamble said. Whether the Via names one of its endpoints and
/// whether the encoding is the one the channel uses is the runtime's decision (it answers
/// [`faults::ENDPOINT_NOT_FOUND`] or [`faults::CONTENT_TYPE_INVALID`] when not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreambleInfo {
    /// The framing version, `(1, minor)`; the minor version is not checked (as WCF does not).
    pub version: (u8, u8),
    /// The mode: always [`Mode::Duplex`] here.
    pub mode: Mode,
    /// The Via URI, as sent (not parsed or normalised).
    pub via: String,
    /// The envelope encoding.
    pub encoding: Encoding,
}

/// The outcome of one record given to [`ResponderPreamble::on_record`].
#[derive(Debug, Clone)]
pub enum PreambleStep {
    /// The record was expected; give the next one.
    Continue,
    /// Preamble End arrived: the responder checks [`PreambleInfo`] and then sends
    /// `Record::PreambleAck` (or a fault).
    Complete(PreambleInfo),
    /// The preamble is refused: send `Record::Fault(fault)` when there is one, then close.
    Reject {
        /// The fault to send before closing, or `None` to close without one (a record out of
        /// order, which Windows answers by closing).
        fault: Option<&'static str>,
        /// What went wrong, for the responder's own logs and results.
        error: Error,
    },
}

/// Where a [`ResponderPreamble`] is (the diagram is in its docs).
#[derive(Debug, Clone)]
enum ResponderState {
    ExpectVersion,
    ExpectMode { version: (u8, u8) },
    ExpectVia { version: (u8, u8), mode: Mode },
    ExpectEncoding { version: (u8, u8), mode: Mode, via: String },
    ExpectEnd { info: PreambleInfo },
    Done,
    Failed,
}

/// The responder's (listener's) view of an initiator's preamble, in Duplex mode and without
/// stream upgrades: Version, Mode, Via, an encoding record, then Preamble End.
///
/// * A major version other than 1 is refused with [`faults::UNSUPPORTED_VERSION`] (as WCF
///   does; WWSAPI closes without a fault); the minor version is not checked.
/// * A mode other than Duplex is refused with [`faults::UNSUPPORTED_MODE`].
/// * An Upgrade Request is refused with [`faults::UPGRADE_INVALID`]: **soapwire supports no
///   stream upgrade** (neither `application/ssl-tls` nor `application/negotiate`), so a
///   `NetTcpBinding` client must use `SecurityMode.None`.
/// * Any record out of order is refused with [`ErrorKind::InvalidFormat`] and no fault.
///
/// Refusals of values the peer may legitimately send (version, mode, upgrade) carry
/// [`ErrorKind::NotSupported`]. The Via and the encoding are not judged here; see
/// [`PreambleInfo`].
///
/// ```text
///   ExpectVersion --Version 1.x--> ExpectMode --Mode(Duplex)--> ExpectVia --Via--> ExpectEncoding
///        --Known/Extensible Encoding--> ExpectEnd --Preamble End--> Done   (Complete)
///
///   every other record, a major version other than 1, a mode other than Duplex,
///   or an Upgrade Request in ExpectEnd                                  --> Failed (Reject)
///   any record in Done or Failed: Reject with InvalidOperation (a caller bug)
/// ```
///
/// ```
/// use soapwire_proto::framing::nmf::{Encoding, KnownEncoding, Mode, PreambleStep, Record, ResponderPreamble};
///
/// let mut preamble = ResponderPreamble::new();
/// for r in [
///     Record::Version { major: 1, minor: 0 },
///     Record::Mode(Mode::Duplex),
///     Record::Via("net.tcp://host/echo".into()),
///     Record::KnownEncoding(KnownEncoding::Soap12BinarySession),
/// ] {
///     assert!(matches!(preamble.on_record(r), PreambleStep::Continue));
/// }
/// let PreambleStep::Complete(info) = preamble.on_record(Record::PreambleEnd) else { panic!() };
/// assert_eq!(info.via, "net.tcp://host/echo");
/// assert_eq!(info.encoding, Encoding::Known(KnownEncoding::Soap12BinarySession));
/// ```
#[derive(Debug, Clone)]
pub struct ResponderPreamble {
    state: ResponderState,
}

impl Default for ResponderPreamble {
    fn default() -> Self {
        ResponderPreamble::new()
    }
}

impl ResponderPreamble {
    /// A preamble that expects the Version record.
    pub fn new() -> Self {
        ResponderPreamble { state: ResponderState::ExpectVersion }
    }

    /// True once [`PreambleStep::Complete`] was returned.
    pub fn is_complete(&self) -> bool {
        matches!(self.state, ResponderState::Done)
    }

    /// Feeds the next record received from the initiator.
    pub fn on_record(&mut self, record: Record) -> PreambleStep {
        let state = std::mem::replace(&mut self.state, ResponderState::Failed);
        let (next, step) = match (state, record) {
            (ResponderState::ExpectVersion, Record::Version { major, minor }) => {
                if major == super::MAJOR_VERSION {
                    (ResponderState::ExpectMode { version: (major, minor) }, PreambleStep::Continue)
                } else {
                    let error = Error::new(
                        ErrorKind::NotSupported,
                        format!("net.tcp framing: version {major}.{minor} is not supported (only 1.x)"),
                    );
                    (ResponderState::Failed, reject(Some(faults::UNSUPPORTED_VERSION), error))
                }
            }
            (ResponderState::ExpectMode { version }, Record::Mode(mode)) => {
                if mode == Mode::Duplex {
                    (ResponderState::ExpectVia { version, mode }, PreambleStep::Continue)
                } else {
                    let error = Error::new(
                        ErrorKind::NotSupported,
                        format!("net.tcp framing: mode {mode:?} is not supported (only Duplex)"),
                    );
                    (ResponderState::Failed, reject(Some(faults::UNSUPPORTED_MODE), error))
                }
            }
            (ResponderState::ExpectVia { version, mode }, Record::Via(via)) => {
                (ResponderState::ExpectEncoding { version, mode, via }, PreambleStep::Continue)
            }
            (ResponderState::ExpectEncoding { version, mode, via }, Record::KnownEncoding(e)) => {
                let info = PreambleInfo { version, mode, via, encoding: Encoding::Known(e) };
                (ResponderState::ExpectEnd { info }, PreambleStep::Continue)
            }
            (ResponderState::ExpectEncoding { version, mode, via }, Record::ExtensibleEncoding(s)) => {
                let info = PreambleInfo { version, mode, via, encoding: Encoding::Extensible(s) };
                (ResponderState::ExpectEnd { info }, PreambleStep::Continue)
            }
            (ResponderState::ExpectEnd { info }, Record::PreambleEnd) => {
                (ResponderState::Done, PreambleStep::Complete(info))
            }
            (ResponderState::ExpectEnd { .. }, Record::UpgradeRequest(protocol)) => {
                let error = Error::new(
                    ErrorKind::NotSupported,
                    format!("net.tcp framing: the stream upgrade {protocol:?} is not supported (no upgrade is)"),
                );
                (ResponderState::Failed, reject(Some(faults::UPGRADE_INVALID), error))
            }
            (state @ (ResponderState::Done | ResponderState::Failed), record) => {
                let error = Error::invalid_operation(format!(
                    "net.tcp framing: a {} record was given to a preamble that is already {}",
                    record.name(),
                    if matches!(state, ResponderState::Done) { "complete" } else { "refused" }
                ));
                (state, reject(None, error))
            }
            (state, record) => {
                let expected = match state {
                    ResponderState::ExpectVersion => "Version",
                    ResponderState::ExpectMode { .. } => "Mode",
                    ResponderState::ExpectVia { .. } => "Via",
                    ResponderState::ExpectEncoding { .. } => "Known Encoding or Extensible Encoding",
                    _ => "Preamble End",
                };
                let error = Error::invalid_format(format!(
                    "net.tcp framing: expected the {expected} record of the preamble, got {}",
                    record.name()
                ));
                (ResponderState::Failed, reject(None, error))
            }
        };
        self.state = next;
        step
    }
}

fn reject(fault: Option<&'static str>, error: Error) -> PreambleStep {
    PreambleStep::Reject { fault, error }
}

/// Where an [`InitiatorPreamble`] is (the diagram is in its docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InitiatorState {
    AwaitingAck,
    Acked,
    Failed,
}

/// The initiator's (client's) view of the responder's answer to its preamble
/// ([`initiator_preamble`](super::initiator_preamble)).
///
/// The first record must be Preamble Ack (`Ok(true)`). A Fault becomes
/// [`faults::error_for_fault`] (for example `EndpointNotFound` for a wrong path). An Upgrade
/// Response is [`ErrorKind::InvalidFormat`], because soapwire never requests an upgrade, and
/// so is anything else. `Ok(false)` would mean "legal, but not yet acknowledged", which only an
/// upgrade exchange could produce; with no upgrades every success is `Ok(true)`.
///
/// The initiator may send its first envelope before the acknowledgement arrives, as WCF does;
/// the first record it *reads* must still be this answer.
///
/// ```text
///   AwaitingAck --Preamble Ack--> Acked
///   AwaitingAck --Fault, Upgrade Response or anything else--> Failed
///   any record in Acked or Failed: InvalidOperation (a caller bug)
/// ```
///
/// ```
/// use soapwire_proto::framing::nmf::{faults, InitiatorPreamble, Record};
/// use soapwire_proto::ErrorKind;
///
/// assert!(InitiatorPreamble::new().on_record(Record::PreambleAck)?);
///
/// let err = InitiatorPreamble::new().on_record(Record::Fault(faults::ENDPOINT_NOT_FOUND.into())).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::EndpointNotFound);
/// # Ok::<(), soapwire_proto::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct InitiatorPreamble {
    state: InitiatorState,
}

impl Default for InitiatorPreamble {
    fn default() -> Self {
        InitiatorPreamble::new()
    }
}

impl InitiatorPreamble {
    /// Waiting for the responder's answer.
    pub fn new() -> Self {
        InitiatorPreamble { state: InitiatorState::AwaitingAck }
    }

    /// True once Preamble Ack was received.
    pub fn is_acked(&self) -> bool {
        self.state == InitiatorState::Acked
    }

    /// Feeds the next record received from the responder.
    pub fn on_record(&mut self, record: Record) -> Result<bool> {
        match self.state {
            InitiatorState::AwaitingAck => {}
            InitiatorState::Acked | InitiatorState::Failed => {
                return Err(Error::invalid_operation(format!(
                    "net.tcp framing: a {} record was given to a preamble that is already {}",
                    record.name(),
                    if self.state == InitiatorState::Acked { "acknowledged" } else { "refused" }
                )));
            }
        }
        self.state = InitiatorState::Failed;
        match record {
            Record::PreambleAck => {
                self.state = InitiatorState::Acked;
                Ok(true)
            }
            Record::Fault(fault) => Err(faults::error_for_fault(&fault)),
            Record::UpgradeResponse => Err(Error::invalid_format(
                "net.tcp framing: the responder sent an Upgrade Response, but no upgrade was requested",
            )),
            other => Err(Error::invalid_format(format!(
                "net.tcp framing: expected Preamble Ack from the responder, got {}",
                other.name()
            ))),
        }
    }
}
