//! The inbound attachment core ([`InboundCore`], `IWSDInboundAttachment`).

use std::collections::VecDeque;
use std::fmt;

use bytes::{Buf, Bytes};

use super::{AttachmentError, AttachmentResult, DEFAULT_BUFFER_CAPACITY, ReadOutcome};
use crate::error::Error;

/// Settings of an [`InboundCore`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InboundConfig {
    /// Buffered bytes at which [`InboundCore::can_accept`] turns false (back-pressure on the
    /// transport). Default [`DEFAULT_BUFFER_CAPACITY`] (64 KiB); 0 is treated as 1.
    pub buffer_capacity: usize,
    /// Most bytes the whole attachment may have (64-bit); more fails the transfer with
    /// `WS_E_QUOTA_EXCEEDED`. Default 4 GiB, like [`MimeQuotas::max_part_size`](crate::mime::MimeQuotas).
    pub max_size: u64,
}

impl Default for InboundConfig {
    fn default() -> Self {
        InboundConfig { buffer_capacity: DEFAULT_BUFFER_CAPACITY, max_size: 4 * 1024 * 1024 * 1024 }
    }
}

/// The state of an inbound attachment, as [`InboundCore::state`] reports it.
///
/// ```text
///                 new()
///                   |
///                   v
///            +-------------+  push_data: buffered;  read: Data(n) | WouldBlock
///            |  Receiving  |
///            +-------------+
///     push_end |     | push_error(e), quota exceeded
///              v     v
///      +-------+     +--------+
///      | Ended |     | Failed |  read: Err(e)
///      +-------+     +--------+
///  read: Data(n) while buffered bytes remain, End(n) with the last ones, then End(0)
///
///  close: every state -> Closed (buffer dropped; from Receiving also wants_discard)
///  Closed: read -> Err(0x800710DD); close -> Ok; push_* ignored
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InboundState {
    /// The transport is still delivering the attachment.
    Receiving,
    /// The transport delivered the end; buffered bytes may remain to be read.
    Ended,
    /// The transfer failed (transport error or quota); `read` returns the error.
    Failed,
    /// The application closed the attachment.
    Closed,
}

impl InboundState {
    /// The state's name as used in error messages (`"Closed"`).
    pub fn name(self) -> &'static str {
        match self {
            InboundState::Receiving => "Receiving",
            InboundState::Ended => "Ended",
            InboundState::Failed => "Failed",
            InboundState::Closed => "Closed",
        }
    }
}

impl fmt::Display for InboundState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Clone, Debug)]
enum Inner {
    Receiving,
    Ended,
    Failed(Error),
    Closed {
        /// Closed before the end arrived: the transport should skip the rest.
        discard: bool,
    },
}

/// The sans-IO core of one `IWSDInboundAttachment`.
///
/// The transport pushes the attachment's bytes ([`push_data`](Self::push_data)) while
/// [`can_accept`](Self::can_accept) is true, then [`push_end`](Self::push_end) or
/// [`push_error`](Self::push_error); the application [`read`](Self::read)s and may
/// [`close`](Self::close) early, after which [`wants_discard`](Self::wants_discard) tells
/// the transport to skip the rest of the part. Memory is bounded by the buffer capacity plus
/// one pushed chunk. Nothing panics; see [`InboundState`] for the diagram.
///
/// ```
/// use bytes::Bytes;
/// use soapwire_proto::attachment::{InboundConfig, InboundCore, ReadOutcome};
/// use soapwire_proto::Hresult;
///
/// let mut att = InboundCore::new(InboundConfig::default());
/// let mut buf = [0u8; 8];
/// assert_eq!(att.read(&mut buf)?, ReadOutcome::WouldBlock);
/// att.push_data(Bytes::from_static(b"hello"))?;
/// att.push_end()?;
/// let end = att.read(&mut buf)?;
/// assert_eq!(end, ReadOutcome::End(5)); // S_FALSE with the final bytes
/// assert_eq!(end.hresult(), Some(Hresult::S_FALSE));
/// assert_eq!(&buf[..5], b"hello");
/// # Ok::<(), soapwire_proto::attachment::AttachmentError>(())
/// ```
#[derive(Clone, Debug)]
pub struct InboundCore {
    inner: Inner,
    chunks: VecDeque<Bytes>,
    buffered: usize,
    capacity: usize,
    max_size: u64,
    received: u64,
}

impl InboundCore {
    /// An attachment in [`InboundState::Receiving`], nothing received yet.
    pub fn new(config: InboundConfig) -> Self {
        InboundCore {
            inner: Inner::Receiving,
            chunks: VecDeque::new(),
            buffered: 0,
            capacity: config.buffer_capacity.max(1),
            max_size: config.max_size,
            received: 0,
        }
    }

    /// The current state.
    pub fn state(&self) -> InboundState {
        match self.inner {
            Inner::Receiving => InboundState::Receiving,
            Inner::Ended => InboundState::Ended,
            Inner::Failed(_) => InboundState::Failed,
            Inner::Closed { .. } => InboundState::Closed,
        }
    }

    /// Bytes received and not yet read.
    pub fn buffered(&self) -> usize {
        self.buffered
    }

    /// Total bytes received so far (64-bit).
    pub fn bytes_received(&self) -> u64 {
        self.received
    }

    /// Back-pressure: true while the transport may push more data (receiving, and the buffer
    /// below its capacity).
    pub fn can_accept(&self) -> bool {
        matches!(self.inner, Inner::Receiving) && self.buffered < self.capacity
    }

    /// The application closed the attachment before its end arrived: the transport should
    /// stop delivering it and skip the rest of the part (what it still pushes is dropped).
    pub fn wants_discard(&self) -> bool {
        matches!(self.inner, Inner::Closed { discard: true })
    }

    /// The transport delivers the next bytes of the attachment.
    ///
    /// - Dropped (`Ok`) after the application closed the attachment.
    /// - `Err(Failed(WS_E_QUOTA_EXCEEDED))` when the total would exceed
    ///   [`InboundConfig::max_size`]; the attachment fails (the reader gets the same error)
    ///   and the transport must stop.
    /// - `Err(InvalidOperation)` when [`can_accept`](Self::can_accept) is false because the
    ///   buffer is full (nothing changes: push again after the application read), or after
    ///   the end or an error was pushed.
    pub fn push_data(&mut self, data: Bytes) -> AttachmentResult<()> {
        match &self.inner {
            Inner::Closed { .. } => return Ok(()),
            Inner::Receiving => {}
            Inner::Ended | Inner::Failed(_) => return Err(AttachmentError::not_allowed("push_data", self.state())),
        }
        if self.buffered >= self.capacity {
            return Err(AttachmentError::InvalidOperation(format!(
                "push_data while the buffer is full ({} of {} bytes); wait for can_accept",
                self.buffered, self.capacity
            )));
        }
        let total = self.received.saturating_add(data.len() as u64);
        if total > self.max_size {
            let error = Error::quota_exceeded(format!(
                "the attachment exceeds its size quota of {} bytes ({total} received)",
                self.max_size
            ));
            self.fail(error.clone());
            return Err(AttachmentError::Failed(error));
        }
        self.received = total;
        if !data.is_empty() {
            self.buffered += data.len();
            self.chunks.push_back(data);
        }
        Ok(())
    }

    /// The transport reached the end of the attachment. Ignored after close;
    /// `Err(InvalidOperation)` after the end or an error was already pushed.
    pub fn push_end(&mut self) -> AttachmentResult<()> {
        match self.inner {
            Inner::Receiving => {
                self.inner = Inner::Ended;
                Ok(())
            }
            Inner::Closed { .. } => Ok(()),
            Inner::Ended | Inner::Failed(_) => Err(AttachmentError::not_allowed("push_end", self.state())),
        }
    }

    /// The transfer failed (connection reset, malformed MIME, …): buffered data is dropped and
    /// the next `read` returns `error`. Ignored unless receiving.
    pub fn push_error(&mut self, error: Error) {
        if matches!(self.inner, Inner::Receiving) {
            self.fail(error);
        }
    }

    /// `IWSDInboundAttachment::Read` into `buf`.
    ///
    /// - [`ReadOutcome::Data`]`(n)` (`S_OK`): `n` ≥ 1 bytes copied, or 0 when `buf` is empty.
    /// - [`ReadOutcome::End`]`(n)` (`S_FALSE`): the end was reached; `n` final bytes copied
    ///   (possibly 0). Repeats as `End(0)`.
    /// - [`ReadOutcome::WouldBlock`]: nothing buffered yet; read again after the transport
    ///   pushed.
    /// - `Err(Failed(e))` after a transport error or an exceeded quota;
    ///   `Err(InvalidOperation)` (`0x800710DD`) after `close`.
    pub fn read(&mut self, buf: &mut [u8]) -> AttachmentResult<ReadOutcome> {
        match &self.inner {
            Inner::Closed { .. } => return Err(AttachmentError::not_allowed("read", self.state())),
            Inner::Failed(e) => return Err(AttachmentError::Failed(e.clone())),
            Inner::Receiving | Inner::Ended => {}
        }
        let mut n = 0;
        while n < buf.len() {
            let Some(front) = self.chunks.front_mut() else { break };
            let k = front.len().min(buf.len() - n);
            buf[n..n + k].copy_from_slice(&front[..k]);
            front.advance(k);
            if front.is_empty() {
                self.chunks.pop_front();
            }
            n += k;
        }
        self.buffered -= n;
        Ok(match self.inner {
            Inner::Ended if self.buffered == 0 => ReadOutcome::End(n),
            _ if n > 0 || buf.is_empty() => ReadOutcome::Data(n),
            _ => ReadOutcome::WouldBlock,
        })
    }

    /// `IWSDInboundAttachment::Close`: the application is done. Before the end arrived this
    /// terminates the transfer ([`wants_discard`](Self::wants_discard)); after it, it only
    /// drops unread bytes (and is optional). Always `Ok` (`S_OK`); repeating it is a no-op.
    pub fn close(&mut self) -> AttachmentResult<()> {
        let discard = match self.inner {
            Inner::Receiving => true,
            Inner::Ended | Inner::Failed(_) => false,
            Inner::Closed { .. } => return Ok(()),
        };
        self.inner = Inner::Closed { discard };
        self.drop_buffer();
        Ok(())
    }

    fn fail(&mut self, error: Error) {
        self.inner = Inner::Failed(error);
        self.drop_buffer();
    }

    fn drop_buffer(&mut self) {
        self.chunks.clear();
        self.buffered = 0;
    }
}
