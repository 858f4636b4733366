//! Sans-IO cores of WSDAPI's attachment objects (`IWSDOutboundAttachment`,
//! `IWSDInboundAttachment`, `wsdattachment.h`), which the runtime drives over HTTP/MTOM.
//!
//! This module owns the *semantics* of one attachment stream and nothing about bytes on the
//! wire (the MIME framing is [`crate::mime`]'s, the sockets and the clock are the runtime's):
//!
//! * [`OutboundCore`]: the state machine behind `IWSDOutboundAttachment::Write`, `Close` and
//!   `Abort`, with a bounded buffer the transport drains through
//!   [`OutboundCore::poll_transmit`]. See [`OutboundState`] for the diagram.
//! * [`AttachmentSequencer`]: the attachments of one message, in order, so that the first
//!   write of attachment *N* waits until the attachments before it are finished.
//! * [`InboundCore`]: the state behind `IWSDInboundAttachment::Read` and `Close`, fed by the
//!   transport, with a bounded buffer, a back-pressure signal and a 64-bit size quota.
//!
//! Time is never read here: every call that can time out takes the caller's
//! [`Instant`](std::time::Instant).
//!
//! # Which documented sentence each behaviour implements
//!
//! From the seed page `IWSDOutboundAttachment::Close` (`shared/seeds/004_a9bc75172c6df71d.txt`) and
//! `shared/spec/wwsapi-wsdapi.md` §2.1:
//!
//! | behaviour | documented sentence |
//! | --- | --- |
//! | `close`/`abort` in [`OutboundState::NotStarted`] fail with `0x800710DD` | "Close was called before Write was called. You must call Write before closing the attachment stream." / Abort: "HRESULT_FROM_WIN32(ERROR_INVALID_OPERATION) when called before any Write" |
//! | the first accepted `write` queues [`Transmit::Start`] | "The first Write opens the attachment stream and starts transmitting the HTTP headers, the SOAP envelope and MIME-encoded data" |
//! | [`AttachmentSequencer`] answers `Blocked` to the first write of a later attachment | "with several attachments in one message, the first Write on an attachment may block until all earlier attachment streams are fully sent" |
//! | `write` returns [`WriteOutcome::Blocked`] and takes nothing when the buffer is full | `STG_S_BLOCK`: "internal buffers unavailable; data not accepted/queued"; "the app either resends the same data with Write or calls Abort" |
//! | `close` returns [`CloseOutcome::Blocked`] while buffered data is pending, [`CloseOutcome::Closed`] once drained | "STG_S_BLOCK: Internal buffers were not available. The data in the attachment stream was not successfully transferred." / "The Close method may return successfully after a failed Close attempt that returned STG_S_BLOCK." |
//! | the first `close` sets a deadline ([`OutboundConfig::transmission_timeout`], 30 s); past it with data pending the attachment fails with `WS_E_OPERATION_TIMED_OUT` | "Close may block for up to 30 seconds (per HTTP transmission timeouts) while waiting for a previous Write operation to complete." |
//! | an error given to [`OutboundCore::transport_failed`] is returned by the next `write` and `close` | "The return value can indicate an error in a previous Write operation or an issue closing the connection." |
//! | `close` after `abort` fails with `0x800710DD` | "Close must not be called after Abort." |
//! | `abort` discards the buffer and queues [`Transmit::Abort`] | "Aborts the transfer; pending data may be discarded." (the peer must see a failed, not a truncated-but-valid, message) |
//! | [`InboundCore::read`] returns [`ReadOutcome::End`], possibly with final bytes | `Read`: "S_FALSE (end of stream reached) … the out count is set and may be less than the buffer size" |
//! | [`InboundCore::close`] stops an unfinished transfer ([`InboundCore::wants_discard`]); optional after the end | `Close`: "Terminates an in-progress incoming transfer. Must be called before Release() unless Read already returned S_FALSE." |
//!
//! # Results and `HRESULT`s
//!
//! Success codes are values, failures are [`AttachmentError`]s; every one has the exact
//! `HRESULT` a WSDAPI caller would see:
//!
//! | Rust | `HRESULT` |
//! | --- | --- |
//! | [`WriteOutcome::Accepted`], [`CloseOutcome::Closed`], [`ReadOutcome::Data`] | `S_OK` |
//! | [`WriteOutcome::Blocked`], [`CloseOutcome::Blocked`] | `STG_S_BLOCK` (`0x00030201`, a success code: nothing was taken) |
//! | [`ReadOutcome::End`] | `S_FALSE` |
//! | [`ReadOutcome::WouldBlock`] | none: WSDAPI's `Read` blocks; the runtime waits and reads again |
//! | [`AttachmentError::InvalidOperation`] (call in the wrong state) | `HRESULT_FROM_WIN32(ERROR_INVALID_OPERATION)` = `0x800710DD` |
//! | [`AttachmentError::Failed`] with [`ErrorKind::OperationTimedOut`] (close deadline passed) | `WS_E_OPERATION_TIMED_OUT` (`0x803D0006`) |
//! | [`AttachmentError::Failed`] with [`ErrorKind::QuotaExceeded`] (inbound size quota) | `WS_E_QUOTA_EXCEEDED` (`0x803D0008`) |
//! | [`AttachmentError::Failed`] with [`ErrorKind::OperationAborted`] (an earlier attachment of the message was aborted) | `WS_E_OPERATION_ABORTED` (`0x803D0004`) |
//! | [`AttachmentError::Failed`] with the transport's [`Error`] | that error's `WS_E_*` code (e.g. `WS_E_ENDPOINT_DISCONNECTED`) |
//!
//! WSDAPI's `E_POINTER` / `E_INVALIDARG` (null pointers) cannot happen with Rust references.
//!
//! ```
//! use std::time::Instant;
//! use soapwire_proto::attachment::{CloseOutcome, OutboundConfig, OutboundCore, Transmit, WriteOutcome};
//! use soapwire_proto::Hresult;
//!
//! let now = Instant::now();
//! let mut att = OutboundCore::new(OutboundConfig { buffer_capacity: 4, ..OutboundConfig::default() });
//!
//! // Close before Write: HRESULT_FROM_WIN32(ERROR_INVALID_OPERATION).
//! assert_eq!(att.close(now).unwrap_err().hresult(), Hresult::HRESULT_INVALID_OPERATION_WIN32);
//!
//! // The first write starts the message; a full buffer blocks without taking anything.
//! assert_eq!(att.write(b"abcdef")?, WriteOutcome::Accepted(4));
//! assert_eq!(att.write(b"ef")?, WriteOutcome::Blocked);
//! assert_eq!(att.write(b"ef")?.hresult(), Hresult::STG_S_BLOCK);
//!
//! // The transport sends the start of the message, then drains the buffer.
//! assert_eq!(att.poll_transmit(1024), Some(Transmit::Start { first_in_message: true }));
//! assert_eq!(att.poll_transmit(1024), Some(Transmit::Data(bytes::Bytes::from_static(b"abcd"))));
//! assert_eq!(att.write(b"ef")?, WriteOutcome::Accepted(2)); // the retry is accepted
//!
//! // Close blocks while data is pending, and completes once it is drained.
//! assert_eq!(att.close(now)?, CloseOutcome::Blocked);
//! assert!(matches!(att.poll_transmit(1024), Some(Transmit::Data(_))));
//! assert_eq!(att.close(now)?, CloseOutcome::Closed);
//! assert_eq!(att.poll_transmit(1024), Some(Transmit::End));
//! # Ok::<(), soapwire_proto::attachment::AttachmentError>(())
//! ```

use std::fmt;
use std::time::Duration;

use crate::error::{Error, ErrorKind, Hresult};

mod inbound;
mod outbound;

#[cfg(test)]
mod tests;

pub use inbound::{InboundConfig, InboundCore, InboundState};
pub use outbound::{AttachmentSequencer, OutboundCore, OutboundState, Transmit};

/// The default size of an attachment's internal buffer: 64 KiB.
pub const DEFAULT_BUFFER_CAPACITY: usize = 64 * 1024;

/// The default time `close` waits for earlier writes to be transmitted: 30 s, WSDAPI's HTTP
/// transmission timeout.
pub const DEFAULT_TRANSMISSION_TIMEOUT: Duration = Duration::from_secs(30);

/// A failed attachment call, with the exact `HRESULT` WSDAPI would return.
#[derive(Clone, Debug)]
pub enum AttachmentError {
    /// The call is not allowed in the attachment's state (close before any write, close after
    /// abort, write after close, read after close, …):
    /// `HRESULT_FROM_WIN32(ERROR_INVALID_OPERATION)` = `0x800710DD`. The string says which
    /// call and which state.
    InvalidOperation(String),
    /// The transfer failed: a timeout, an exceeded quota, or an error reported by the
    /// transport. The `HRESULT` is the error's `WS_E_*` code.
    Failed(Error),
}

impl AttachmentError {
    /// The `0x800710DD` error for `call` made in `state`.
    pub(crate) fn not_allowed(call: &str, state: impl fmt::Display) -> AttachmentError {
        AttachmentError::InvalidOperation(format!("{call} is not allowed in state {state}"))
    }

    /// The exact `HRESULT`: `0x800710DD` for [`InvalidOperation`](Self::InvalidOperation),
    /// the error's `WS_E_*` code for [`Failed`](Self::Failed).
    pub fn hresult(&self) -> Hresult {
        match self {
            AttachmentError::InvalidOperation(_) => Hresult::HRESULT_INVALID_OPERATION_WIN32,
            AttachmentError::Failed(e) => e.hresult(),
        }
    }

    /// The WWSAPI kind of a [`Failed`](Self::Failed) error; `None` for
    /// [`InvalidOperation`](Self::InvalidOperation), which has no `WS_E_*` equivalent.
    pub fn kind(&self) -> Option<ErrorKind> {
        match self {
            AttachmentError::InvalidOperation(_) => None,
            AttachmentError::Failed(e) => Some(e.kind()),
        }
    }

    /// True for [`InvalidOperation`](Self::InvalidOperation).
    pub fn is_invalid_operation(&self) -> bool {
        matches!(self, AttachmentError::InvalidOperation(_))
    }
}

impl From<Error> for AttachmentError {
    fn from(e: Error) -> AttachmentError {
        AttachmentError::Failed(e)
    }
}

impl fmt::Display for AttachmentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttachmentError::InvalidOperation(s) => write!(f, "{s} ({})", self.hresult()),
            AttachmentError::Failed(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl std::error::Error for AttachmentError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AttachmentError::InvalidOperation(_) => None,
            AttachmentError::Failed(e) => Some(e),
        }
    }
}

/// For `?` in functions returning [`crate::Result`]: `Failed(e)` is `e`; `InvalidOperation`
/// becomes an [`ErrorKind::InvalidOperation`] error (`WS_E_INVALID_OPERATION`: the
/// `0x800710DD` of WSDAPI is only visible on the [`AttachmentError`] itself).
impl From<AttachmentError> for Error {
    fn from(e: AttachmentError) -> Error {
        match e {
            AttachmentError::Failed(e) => e,
            AttachmentError::InvalidOperation(s) => Error::invalid_operation(s),
        }
    }
}

/// Result of the attachment calls.
pub type AttachmentResult<T> = std::result::Result<T, AttachmentError>;

/// The successful outcome of [`OutboundCore::write`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WriteOutcome {
    /// `S_OK`: the first `n` bytes were taken (`*pdwNumberOfBytesWritten = n`). `n` is less
    /// than the slice's length when the buffer had room for only part of it; the caller
    /// writes the rest later. `n` is 0 only for an empty slice.
    Accepted(usize),
    /// `STG_S_BLOCK`: no room in the internal buffer (or, in a message with several
    /// attachments, an earlier attachment is not finished). **Nothing was taken**; write the
    /// same bytes again once the transport has drained, or abort.
    Blocked,
}

impl WriteOutcome {
    /// `S_OK` or `STG_S_BLOCK` (both success codes).
    pub fn hresult(self) -> Hresult {
        match self {
            WriteOutcome::Accepted(_) => Hresult::S_OK,
            WriteOutcome::Blocked => Hresult::STG_S_BLOCK,
        }
    }

    /// The number of bytes taken: `n` for `Accepted(n)`, 0 for `Blocked`.
    pub fn accepted(self) -> usize {
        match self {
            WriteOutcome::Accepted(n) => n,
            WriteOutcome::Blocked => 0,
        }
    }
}

/// The successful outcome of [`OutboundCore::close`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CloseOutcome {
    /// `S_OK`: every byte written was handed to the transport and the end of the attachment
    /// is queued ([`Transmit::End`]).
    Closed,
    /// `STG_S_BLOCK`: buffered data is still waiting for the transport; the data was not
    /// (yet) transferred. Call `close` again after the transport drained, or abort. The
    /// transmission deadline set by the first `close` keeps running.
    Blocked,
}

impl CloseOutcome {
    /// `S_OK` or `STG_S_BLOCK` (both success codes).
    pub fn hresult(self) -> Hresult {
        match self {
            CloseOutcome::Closed => Hresult::S_OK,
            CloseOutcome::Blocked => Hresult::STG_S_BLOCK,
        }
    }
}

/// The successful outcome of [`InboundCore::read`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReadOutcome {
    /// `S_OK`: `n` bytes were copied into the caller's buffer and more may follow.
    Data(usize),
    /// `S_FALSE`: the end of the attachment was reached. The last `n` bytes of it (possibly
    /// 0) were copied with this call; every later read returns `End(0)`.
    End(usize),
    /// No data yet and the attachment has not ended: the runtime waits for the transport
    /// (WSDAPI's `Read` blocks here) and reads again. Has no `HRESULT`.
    WouldBlock,
}

impl ReadOutcome {
    /// `S_OK` for `Data`, `S_FALSE` for `End`, `None` for `WouldBlock` (never seen by a
    /// WSDAPI caller).
    pub fn hresult(self) -> Option<Hresult> {
        match self {
            ReadOutcome::Data(_) => Some(Hresult::S_OK),
            ReadOutcome::End(_) => Some(Hresult::S_FALSE),
            ReadOutcome::WouldBlock => None,
        }
    }

    /// The number of bytes copied (0 for `WouldBlock`).
    pub fn bytes_read(self) -> usize {
        match self {
            ReadOutcome::Data(n) | ReadOutcome::End(n) => n,
            ReadOutcome::WouldBlock => 0,
        }
    }
}

/// Settings of an [`OutboundCore`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutboundConfig {
    /// Most bytes buffered between the application's writes and the transport. Default
    /// [`DEFAULT_BUFFER_CAPACITY`] (64 KiB); 0 is treated as 1.
    pub buffer_capacity: usize,
    /// How long `close` waits for buffered data to be transmitted before the attachment fails
    /// with `WS_E_OPERATION_TIMED_OUT`. Default [`DEFAULT_TRANSMISSION_TIMEOUT`] (30 s).
    pub transmission_timeout: Duration,
}

impl Default for OutboundConfig {
    fn default() -> Self {
        OutboundConfig { buffer_capacity: DEFAULT_BUFFER_CAPACITY, transmission_timeout: DEFAULT_TRANSMISSION_TIMEOUT }
    }
}
