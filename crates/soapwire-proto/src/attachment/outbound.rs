//! The outbound attachment core ([`OutboundCore`], `IWSDOutboundAttachment`) and the
//! per-message ordering of several attachments ([`AttachmentSequencer`]).

use std::fmt;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use super::{AttachmentError, AttachmentResult, CloseOutcome, OutboundConfig, WriteOutcome};
use crate::error::{Error, ErrorKind};

/// The state of an outbound attachment, as [`OutboundCore::state`] reports it.
///
/// Transitions happen only inside [`OutboundCore`], through the calls named on the arrows
/// (`drained` is the transport taking the last buffered byte with
/// [`poll_transmit`](OutboundCore::poll_transmit)):
///
/// ```text
///                          new()
///                            |
///                            v
///                     +------------+  close, abort: Err(0x800710DD), no change
///                     | NotStarted |  write before its turn (sequencer): Blocked
///                     +------------+
///                            | write: Accepted, queues Transmit::Start
///                            v
///                     +------------+  write: Accepted(n), or Blocked when full
///                     |  Writing   |
///                     +------------+
///           close(now),      |     close(now), data pending: Blocked,
///           nothing pending  |     deadline = now + transmission_timeout
///              +-------------+--------------+
///              |                            v
///              |                     +------------+  close: Blocked until drained
///              |                     |  Closing   |  write: Err(0x800710DD)
///              |                     +------------+
///              |                        |       |  close / handle_timeout past the
///              |                drained |       |  deadline: queues Transmit::Abort
///              v                        v       v
///        +------------+ <---------------+   +--------+
///        |   Closed   |  queues End         | Failed |  write, close: Err(the error)
///        +------------+  close: Closed      +--------+
///
///  transport_failed(e): NotStarted, Writing, Closing, Closed (End not yet taken) -> Failed(e)
///  abort: every state but NotStarted -> Aborted (buffer discarded; queues Transmit::Abort
///         unless coming from Failed)
///         in Aborted: Ok, no change; write, close: Err(0x800710DD)
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OutboundState {
    /// Created; nothing written yet. `close` and `abort` are refused with `0x800710DD`.
    NotStarted,
    /// At least one write was accepted; more may follow.
    Writing,
    /// `close` was called while data was still buffered; waiting for the transport to drain
    /// it before the transmission deadline.
    Closing,
    /// Every byte was handed to the transport and the end of the attachment is queued (or
    /// already taken).
    Closed,
    /// The transfer failed (transport error or close deadline passed); `write` and `close`
    /// return the error.
    Failed,
    /// `abort` was called: pending data discarded, the message must fail.
    Aborted,
}

impl OutboundState {
    /// The state's name as used in error messages (`"Closing"`).
    pub fn name(self) -> &'static str {
        match self {
            OutboundState::NotStarted => "NotStarted",
            OutboundState::Writing => "Writing",
            OutboundState::Closing => "Closing",
            OutboundState::Closed => "Closed",
            OutboundState::Failed => "Failed",
            OutboundState::Aborted => "Aborted",
        }
    }
}

impl fmt::Display for OutboundState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the transport must do next for an outbound attachment, from
/// [`OutboundCore::poll_transmit`]. They come in this order: `Start`, any number of `Data`,
/// `End`; or `Abort` at any point, after which nothing more comes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transmit {
    /// The first write happened: send what precedes this attachment's data. When
    /// `first_in_message` is true that is the HTTP request headers, the SOAP envelope part
    /// and then this attachment's MIME part header; otherwise only the part header.
    Start {
        /// True for the first attachment of the message (and for a standalone core).
        first_in_message: bool,
    },
    /// Attachment bytes, in the order they were written (at most the `max` asked for).
    Data(Bytes),
    /// The attachment is complete: end the MIME part (after the last attachment, the
    /// message).
    End,
    /// The attachment was aborted or timed out: fail the message (reset the stream or the
    /// connection, never write the closing delimiter) so the peer sees a failed, not a
    /// truncated-but-valid, message.
    Abort,
}

/// The private state, with the data some states carry.
#[derive(Clone, Debug)]
enum Inner {
    NotStarted,
    Writing,
    Closing {
        /// When `close` gives up waiting; `None` if the timeout does not fit an `Instant`.
        deadline: Option<Instant>,
    },
    Closed {
        /// The transport has taken [`Transmit::End`].
        end_sent: bool,
    },
    Failed {
        error: Error,
        /// A write was accepted before the failure (so `close`/`abort` are not "before Write").
        started: bool,
    },
    Aborted,
}

impl Inner {
    fn state(&self) -> OutboundState {
        match self {
            Inner::NotStarted => OutboundState::NotStarted,
            Inner::Writing => OutboundState::Writing,
            Inner::Closing { .. } => OutboundState::Closing,
            Inner::Closed { .. } => OutboundState::Closed,
            Inner::Failed { .. } => OutboundState::Failed,
            Inner::Aborted => OutboundState::Aborted,
        }
    }
}

/// The sans-IO core of one `IWSDOutboundAttachment`.
///
/// The application calls [`write`](Self::write), [`close`](Self::close) and
/// [`abort`](Self::abort); the transport calls [`poll_transmit`](Self::poll_transmit) to take
/// what to send, [`transport_failed`](Self::transport_failed) when sending fails and
/// [`handle_timeout`](Self::handle_timeout) when [`deadline`](Self::deadline) passes. Data
/// is held in a buffer of at most [`OutboundConfig::buffer_capacity`] bytes; every byte
/// accepted by `write` is handed to the transport exactly once, in order, unless the
/// attachment is aborted or fails. Nothing panics; illegal calls return
/// [`AttachmentError::InvalidOperation`]. See [`OutboundState`] for the diagram and the
/// [module docs](super) for the `HRESULT` mapping.
#[derive(Clone, Debug)]
pub struct OutboundCore {
    inner: Inner,
    buf: BytesMut,
    capacity: usize,
    timeout: Duration,
    first_in_message: bool,
    /// May the first write start this attachment (false while earlier attachments of the
    /// message are unfinished).
    turn: bool,
    /// [`Transmit::Start`] is queued.
    start_pending: bool,
    /// [`Transmit::Abort`] is queued.
    abort_pending: bool,
    accepted: u64,
    transmitted: u64,
}

impl OutboundCore {
    /// A standalone attachment (`WSDCreateOutboundAttachment`), in
    /// [`OutboundState::NotStarted`]; its first write starts the message.
    pub fn new(config: OutboundConfig) -> Self {
        OutboundCore {
            inner: Inner::NotStarted,
            buf: BytesMut::new(),
            capacity: config.buffer_capacity.max(1),
            timeout: config.transmission_timeout,
            first_in_message: true,
            turn: true,
            start_pending: false,
            abort_pending: false,
            accepted: 0,
            transmitted: 0,
        }
    }

    /// Attachment `index` of a message: only the first may start at once.
    fn in_sequence(config: OutboundConfig, index: usize) -> Self {
        let mut core = OutboundCore::new(config);
        core.first_in_message = index == 0;
        core.turn = index == 0;
        core
    }

    /// The current state.
    pub fn state(&self) -> OutboundState {
        self.inner.state()
    }

    /// Bytes accepted and not yet taken by the transport.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Room left in the buffer: how many bytes the next write can take.
    pub fn free_capacity(&self) -> usize {
        self.capacity - self.buf.len()
    }

    /// Total bytes accepted by `write` (64-bit: attachments may exceed 4 GiB).
    pub fn bytes_accepted(&self) -> u64 {
        self.accepted
    }

    /// Total bytes handed to the transport as [`Transmit::Data`].
    pub fn bytes_transmitted(&self) -> u64 {
        self.transmitted
    }

    /// When a pending `close` gives up (in [`OutboundState::Closing`]); the runtime arms a
    /// timer and calls [`handle_timeout`](Self::handle_timeout) then.
    pub fn deadline(&self) -> Option<Instant> {
        match self.inner {
            Inner::Closing { deadline } => deadline,
            _ => None,
        }
    }

    /// [`Transmit::Start`] is queued: the runtime must send the message start first.
    pub fn wants_message_start(&self) -> bool {
        self.start_pending
    }

    /// [`Transmit::Abort`] is queued: the runtime must fail the message.
    pub fn wants_abort(&self) -> bool {
        self.abort_pending
    }

    /// Closed and [`Transmit::End`] taken: the transport is done with this attachment.
    pub fn is_finished(&self) -> bool {
        matches!(self.inner, Inner::Closed { end_sent: true })
    }

    /// `IWSDOutboundAttachment::Write`: offers `data` to the buffer.
    ///
    /// - [`WriteOutcome::Accepted`]`(n)`: the first `n` bytes were taken (`n` < `data.len()`
    ///   when only that much room was left). The first accepted write (even of 0 bytes)
    ///   starts the attachment and queues [`Transmit::Start`].
    /// - [`WriteOutcome::Blocked`] (`STG_S_BLOCK`): the buffer is full, or an earlier
    ///   attachment of the message is unfinished; nothing was taken. Retry the same bytes
    ///   after the transport drained, or abort.
    /// - `Err(InvalidOperation)` (`0x800710DD`) after `close` or `abort`.
    /// - `Err(Failed(e))` after the transport reported `e` or the close deadline passed.
    pub fn write(&mut self, data: &[u8]) -> AttachmentResult<WriteOutcome> {
        match &self.inner {
            Inner::NotStarted if !self.turn => return Ok(WriteOutcome::Blocked),
            Inner::NotStarted | Inner::Writing => {}
            Inner::Failed { error, .. } => return Err(AttachmentError::Failed(error.clone())),
            Inner::Closing { .. } | Inner::Closed { .. } | Inner::Aborted => {
                return Err(AttachmentError::not_allowed("write", self.state()));
            }
        }
        let free = self.free_capacity();
        if free == 0 && !data.is_empty() {
            return Ok(WriteOutcome::Blocked);
        }
        if matches!(self.inner, Inner::NotStarted) {
            self.inner = Inner::Writing;
            self.start_pending = true;
        }
        let n = data.len().min(free);
        self.buf.extend_from_slice(&data[..n]);
        self.accepted += n as u64;
        Ok(WriteOutcome::Accepted(n))
    }

    /// `IWSDOutboundAttachment::Close` at time `now`: no more data for this attachment.
    ///
    /// - [`CloseOutcome::Closed`] (`S_OK`) when everything written has been handed to the
    ///   transport; [`Transmit::End`] is then queued. Repeating `close` when closed returns
    ///   `Closed` again.
    /// - [`CloseOutcome::Blocked`] (`STG_S_BLOCK`) while buffered data waits for the
    ///   transport. The first such call sets the deadline `now + transmission_timeout`; call
    ///   `close` again after the transport drained, or abort.
    /// - `Err(Failed(WS_E_OPERATION_TIMED_OUT))` when `now` is at or past the deadline with
    ///   data still pending: the data is discarded and [`Transmit::Abort`] queued.
    /// - `Err(Failed(e))`: the error the transport reported for an earlier write or for
    ///   closing the connection.
    /// - `Err(InvalidOperation)` (`0x800710DD`) before any write and after `abort`.
    pub fn close(&mut self, now: Instant) -> AttachmentResult<CloseOutcome> {
        match &self.inner {
            Inner::NotStarted | Inner::Failed { started: false, .. } => {
                Err(AttachmentError::InvalidOperation("close is not allowed before any write".to_owned()))
            }
            Inner::Aborted => Err(AttachmentError::not_allowed("close", self.state())),
            Inner::Failed { error, .. } => Err(AttachmentError::Failed(error.clone())),
            Inner::Closed { .. } => Ok(CloseOutcome::Closed),
            Inner::Writing if self.buf.is_empty() => {
                self.inner = Inner::Closed { end_sent: false };
                Ok(CloseOutcome::Closed)
            }
            Inner::Writing => {
                self.inner = Inner::Closing { deadline: now.checked_add(self.timeout) };
                Ok(CloseOutcome::Blocked)
            }
            Inner::Closing { .. } => {
                self.handle_timeout(now);
                match &self.inner {
                    Inner::Failed { error, .. } => Err(AttachmentError::Failed(error.clone())),
                    _ => Ok(CloseOutcome::Blocked),
                }
            }
        }
    }

    /// `IWSDOutboundAttachment::Abort`: discards buffered data and queues
    /// [`Transmit::Abort`] so the runtime fails the message. Allowed in every state after the
    /// first write (typically after `write` or `close` returned `STG_S_BLOCK`); repeating it
    /// is a no-op, and from [`OutboundState::Failed`] it queues nothing (the transport
    /// already knows). `Err(InvalidOperation)` (`0x800710DD`) before any write.
    pub fn abort(&mut self) -> AttachmentResult<()> {
        match self.inner {
            Inner::NotStarted | Inner::Failed { started: false, .. } => {
                Err(AttachmentError::InvalidOperation("abort is not allowed before any write".to_owned()))
            }
            Inner::Aborted => Ok(()),
            // The transport already knows about a failure (a timeout queued its own Abort).
            Inner::Failed { started: true, .. } => {
                self.inner = Inner::Aborted;
                Ok(())
            }
            Inner::Writing | Inner::Closing { .. } | Inner::Closed { .. } => {
                self.inner = Inner::Aborted;
                self.discard();
                self.abort_pending = true;
                Ok(())
            }
        }
    }

    /// The transport failed to send (connection refused, reset, …): the attachment moves to
    /// [`OutboundState::Failed`], buffered data is discarded, and the next `write` or `close`
    /// returns `error`. Ignored once the attachment is finished, aborted or already failed
    /// (the first error wins).
    pub fn transport_failed(&mut self, error: Error) {
        let started = match self.inner {
            Inner::NotStarted => false,
            Inner::Writing | Inner::Closing { .. } | Inner::Closed { end_sent: false } => true,
            Inner::Closed { end_sent: true } | Inner::Failed { .. } | Inner::Aborted => return,
        };
        self.inner = Inner::Failed { error, started };
        self.discard();
    }

    /// The runtime's timer fired at `now`: if a pending `close` is past its deadline, the
    /// attachment fails with `WS_E_OPERATION_TIMED_OUT`, buffered data is discarded and
    /// [`Transmit::Abort`] queued. Otherwise nothing changes.
    pub fn handle_timeout(&mut self, now: Instant) {
        let Inner::Closing { deadline: Some(deadline) } = self.inner else { return };
        if now < deadline {
            return;
        }
        let pending = self.buf.len();
        let error = Error::timed_out(format!(
            "close: {pending} buffered attachment bytes were not transmitted within {:?}",
            self.timeout
        ));
        self.inner = Inner::Failed { error, started: true };
        self.discard();
        self.abort_pending = true;
    }

    /// The next thing the transport must do, taking at most `max` bytes of data: see
    /// [`Transmit`] for the order. `None` when there is nothing to do now (the buffer is
    /// empty, or `max` is 0 and only data is pending, or the attachment is done).
    pub fn poll_transmit(&mut self, max: usize) -> Option<Transmit> {
        if self.abort_pending {
            self.abort_pending = false;
            return Some(Transmit::Abort);
        }
        if matches!(self.inner, Inner::NotStarted | Inner::Failed { .. } | Inner::Aborted) {
            return None;
        }
        if self.start_pending {
            self.start_pending = false;
            return Some(Transmit::Start { first_in_message: self.first_in_message });
        }
        if !self.buf.is_empty() && max > 0 {
            let n = self.buf.len().min(max);
            let chunk = self.buf.split_to(n).freeze();
            self.transmitted += n as u64;
            if self.buf.is_empty() && matches!(self.inner, Inner::Closing { .. }) {
                self.inner = Inner::Closed { end_sent: false };
            }
            return Some(Transmit::Data(chunk));
        }
        if let Inner::Closed { end_sent: false } = self.inner {
            self.inner = Inner::Closed { end_sent: true };
            return Some(Transmit::End);
        }
        None
    }

    /// Drops buffered data and a queued `Start` (the transport must not begin a part that
    /// will never be finished).
    fn discard(&mut self) {
        self.buf.clear();
        self.start_pending = false;
    }
}

/// The outbound attachments of one message, in order: `IWSDOutboundAttachment`s placed in
/// one request, which travel one after the other in a single MIME body.
///
/// The first write of attachment *N* returns [`WriteOutcome::Blocked`] until attachments
/// `0..N` are finished (closed and their [`Transmit::End`] taken by the transport). When an
/// attachment is aborted or fails, the message fails: the attachments after it fail with
/// `WS_E_OPERATION_ABORTED` (their `close`/`abort` before any write are still
/// `0x800710DD`).
///
/// ```
/// use std::time::Instant;
/// use soapwire_proto::attachment::{AttachmentSequencer, OutboundConfig, Transmit, WriteOutcome};
///
/// let now = Instant::now();
/// let mut msg = AttachmentSequencer::new(2, OutboundConfig::default());
/// assert_eq!(msg.write(1, b"second")?, WriteOutcome::Blocked); // waits for attachment 0
/// assert_eq!(msg.write(0, b"first")?, WriteOutcome::Accepted(5));
/// msg.close(0, now)?;
/// assert_eq!(msg.poll_transmit(64), Some((0, Transmit::Start { first_in_message: true })));
/// assert!(matches!(msg.poll_transmit(64), Some((0, Transmit::Data(_)))));
/// assert_eq!(msg.poll_transmit(64), Some((0, Transmit::End)));
/// assert_eq!(msg.write(1, b"second")?, WriteOutcome::Accepted(6)); // its turn now
/// assert_eq!(msg.poll_transmit(64), Some((1, Transmit::Start { first_in_message: false })));
/// # Ok::<(), soapwire_proto::attachment::AttachmentError>(())
/// ```
#[derive(Clone, Debug)]
pub struct AttachmentSequencer {
    parts: Vec<OutboundCore>,
    /// Index of the first unfinished attachment (== `parts.len()` when all are finished).
    current: usize,
}

impl AttachmentSequencer {
    /// A message with `count` attachments, each with `config`.
    pub fn new(count: usize, config: OutboundConfig) -> Self {
        AttachmentSequencer { parts: (0..count).map(|i| OutboundCore::in_sequence(config, i)).collect(), current: 0 }
    }

    /// The number of attachments.
    pub fn len(&self) -> usize {
        self.parts.len()
    }

    /// True for a message without attachments.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// Attachment `index`, to inspect its state.
    pub fn attachment(&self, index: usize) -> Option<&OutboundCore> {
        self.parts.get(index)
    }

    /// Index of the attachment the transport is sending (the first unfinished one), or
    /// `None` when all are finished.
    pub fn current(&self) -> Option<usize> {
        (self.current < self.parts.len()).then_some(self.current)
    }

    /// Every attachment is finished: the transport may end the message.
    pub fn is_complete(&self) -> bool {
        self.current == self.parts.len()
    }

    /// [`OutboundCore::write`] on attachment `index`. `E_INVALIDARG` for an unknown index.
    pub fn write(&mut self, index: usize, data: &[u8]) -> AttachmentResult<WriteOutcome> {
        let r = self.part(index)?.write(data);
        self.propagate(index);
        r
    }

    /// [`OutboundCore::close`] on attachment `index`. `E_INVALIDARG` for an unknown index.
    pub fn close(&mut self, index: usize, now: Instant) -> AttachmentResult<CloseOutcome> {
        let r = self.part(index)?.close(now);
        self.propagate(index);
        r
    }

    /// [`OutboundCore::abort`] on attachment `index`; the message fails.
    /// `E_INVALIDARG` for an unknown index.
    pub fn abort(&mut self, index: usize) -> AttachmentResult<()> {
        let r = self.part(index)?.abort();
        self.propagate(index);
        r
    }

    /// The earliest deadline of a pending close.
    pub fn deadline(&self) -> Option<Instant> {
        self.parts.iter().filter_map(OutboundCore::deadline).min()
    }

    /// [`OutboundCore::handle_timeout`] on every attachment.
    pub fn handle_timeout(&mut self, now: Instant) {
        for i in 0..self.parts.len() {
            self.parts[i].handle_timeout(now);
            self.propagate(i);
        }
    }

    /// The message's transport failed: every unfinished attachment fails with `error`.
    pub fn transport_failed(&mut self, error: Error) {
        for part in &mut self.parts {
            part.transport_failed(error.clone());
        }
    }

    /// What the transport must send next, tagged with the attachment's index: a queued
    /// [`Transmit::Abort`] of any attachment first, else the current attachment's
    /// [`OutboundCore::poll_transmit`]. After its [`Transmit::End`], the next
    /// attachment becomes current and may start.
    pub fn poll_transmit(&mut self, max: usize) -> Option<(usize, Transmit)> {
        // An abort of any attachment (even a finished one) fails the message: it goes first.
        if let Some(index) = self.parts.iter().position(OutboundCore::wants_abort) {
            return self.parts[index].poll_transmit(max).map(|t| (index, t));
        }
        let index = self.current;
        let t = self.parts.get_mut(index)?.poll_transmit(max)?;
        if t == Transmit::End {
            self.current += 1;
            if let Some(next) = self.parts.get_mut(self.current) {
                next.turn = true;
            }
        }
        Some((index, t))
    }

    fn part(&mut self, index: usize) -> AttachmentResult<&mut OutboundCore> {
        let count = self.parts.len();
        self.parts.get_mut(index).ok_or_else(|| {
            AttachmentError::Failed(Error::new(
                ErrorKind::InvalidArgument,
                format!("attachment index {index} is out of range (the message has {count})"),
            ))
        })
    }

    /// If attachment `index` aborted or failed, the attachments after it cannot be sent.
    fn propagate(&mut self, index: usize) {
        let why = match self.parts.get(index).map(OutboundCore::state) {
            Some(OutboundState::Aborted) => "aborted",
            Some(OutboundState::Failed) => "failed",
            _ => return,
        };
        for later in self.parts.iter_mut().skip(index + 1) {
            later.transport_failed(Error::aborted(format!("attachment {index} of the message {why}")));
        }
    }
}
