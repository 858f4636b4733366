//! The records legal after the preamble, in Duplex mode.

use bytes::Bytes;

use super::faults;
use super::record::Record;
use crate::error::{Error, Result};

/// Which side of the connection this end is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The side that connected and sent the preamble (a client channel).
    Initiator,
    /// The side that accepted the connection (a listener's channel).
    Responder,
}

/// What a received session record means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// One message, in the session's encoding.
    Envelope(Bytes),
    /// The peer will send nothing more (`WS_S_END` for a pending receive); this side may still
    /// send, and should answer with its own End before closing.
    End,
}

/// Where a [`SessionRecords`] is (the diagram is in its docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SessionState {
    Open,
    Ended,
    Failed,
}

/// Checks the records *received* on a Duplex session after its preamble ([MC-NMF] §3.1.1.2,
/// `DuplexStream-a` and `DuplexStream-b`).
///
/// Legal are Sized Envelope ([`SessionEvent::Envelope`]) and End ([`SessionEvent::End`]); after
/// End nothing is. An initiator may also receive a Fault, which ends the session with
/// [`faults::error_for_fault`]. Every other record (preamble records, Unsized Envelope, a Fault
/// sent to a responder) is [`ErrorKind::InvalidFormat`](crate::ErrorKind::InvalidFormat), after
/// which the connection must be closed.
///
/// ```text
///   Open --Sized Envelope--> Open
///   Open --End--> Ended
///   Open --Fault (towards the initiator), or any other record--> Failed
///   Ended --any record--> Failed
///   any record in Failed: InvalidOperation (a caller bug)
/// ```
///
/// ```
/// use soapwire_proto::framing::nmf::{Record, Role, SessionEvent, SessionRecords};
/// use soapwire_proto::ErrorKind;
///
/// let mut session = SessionRecords::new(Role::Responder);
/// assert_eq!(session.on_record(Record::SizedEnvelope("m".into()))?, SessionEvent::Envelope("m".into()));
/// assert_eq!(session.on_record(Record::End)?, SessionEvent::End);
/// assert_eq!(session.on_record(Record::End).unwrap_err().kind(), ErrorKind::InvalidFormat);
/// # Ok::<(), soapwire_proto::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct SessionRecords {
    role: Role,
    state: SessionState,
}

impl SessionRecords {
    /// Validates records received by the side playing `role`.
    pub fn new(role: Role) -> SessionRecords {
        SessionRecords { role, state: SessionState::Open }
    }

    /// The side this end plays.
    pub fn role(&self) -> Role {
        self.role
    }

    /// True once the peer's End record was received.
    pub fn is_ended(&self) -> bool {
        self.state == SessionState::Ended
    }

    /// Feeds the next record received from the peer.
    pub fn on_record(&mut self, record: Record) -> Result<SessionEvent> {
        let state = self.state;
        if state == SessionState::Failed {
            return Err(Error::invalid_operation(format!(
                "net.tcp framing: a {} record was given to a session that already failed",
                record.name()
            )));
        }
        self.state = SessionState::Failed;
        match (state, record) {
            (SessionState::Open, Record::SizedEnvelope(payload)) => {
                self.state = SessionState::Open;
                Ok(SessionEvent::Envelope(payload))
            }
            (SessionState::Open, Record::End) => {
                self.state = SessionState::Ended;
                Ok(SessionEvent::End)
            }
            (SessionState::Open, Record::Fault(fault)) if self.role == Role::Initiator => {
                Err(faults::error_for_fault(&fault))
            }
            (SessionState::Open, other) => Err(Error::invalid_format(format!(
                "net.tcp framing: a {} record is not allowed in a duplex session{}",
                other.name(),
                if matches!(other, Record::Fault(_)) { " towards the responder" } else { "" }
            ))),
            (_, other) => Err(Error::invalid_format(format!(
                "net.tcp framing: a {} record arrived after the End record",
                other.name()
            ))),
        }
    }
}
