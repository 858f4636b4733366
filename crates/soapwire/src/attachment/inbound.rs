//! [`InboundAttachment`]: the `IWSDInboundAttachment` analogue, and the lazy reader of the
//! MIME parts of a received MTOM message that feeds it.
//!
//! A received MTOM message is read as far as its envelope (the first part) and no further:
//! the attachments stay on the connection until the application asks for them, by
//! Content-ID ([`Message::attachment`](crate::Message::attachment)) or in wire order
//! ([`Message::next_attachment`](crate::Message::next_attachment)). Reading one pulls
//! network bytes through the MIME push parser as the application consumes them, so an
//! attachment of any size passes in the memory of one network read. Asking for a part that
//! comes later on the wire than one still unread buffers the skipped data in memory, within
//! the channel's `max_buffered_message_size`; past that the call fails with
//! `WS_E_QUOTA_EXCEEDED` (read attachments in order to stream them).

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use soapwire_proto::attachment::{AttachmentError, AttachmentResult, ReadOutcome};
use soapwire_proto::mime::{MimeQuotas, MultipartEvent, MultipartParser, MultipartType, PartRole, XopPackageCheck};
use soapwire_proto::{Error, ErrorKind, Result};

/// A stream of body bytes as the transport delivers them.
pub(crate) type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes>> + Send>>;

/// Drives the MIME parser from a body stream.
pub(crate) struct MtomReader {
    body: BodyStream,
    parser: MultipartParser,
    check: XopPackageCheck,
    /// How long one network read may take (the receive timeout as an inactivity bound:
    /// a multi-gigabyte attachment cannot fit in any whole-message timeout).
    idle_timeout: Option<Duration>,
    body_done: bool,
    ended: bool,
}

impl MtomReader {
    pub(crate) fn new(
        content_type: &MultipartType,
        quotas: MimeQuotas,
        body: BodyStream,
        idle_timeout: Option<Duration>,
    ) -> Result<MtomReader> {
        Ok(MtomReader {
            body,
            parser: MultipartParser::new(&content_type.boundary, quotas)?,
            check: XopPackageCheck::new(content_type)?,
            idle_timeout,
            body_done: false,
            ended: false,
        })
    }

    /// The next MIME event, pulling network bytes as needed. `End` is returned once and
    /// again on every later call.
    async fn next_event(&mut self) -> Result<MultipartEvent> {
        loop {
            if self.ended {
                return Ok(MultipartEvent::End);
            }
            if let Some(event) = self.parser.poll_event() {
                let event = event?;
                if matches!(event, MultipartEvent::End) {
                    self.ended = true;
                    self.check.finish()?;
                }
                return Ok(event);
            }
            if self.body_done {
                self.parser.finish()?;
                if let Some(event) = self.parser.poll_event() {
                    continue_with(event)?;
                }
                self.ended = true;
                self.check.finish()?;
                return Ok(MultipartEvent::End);
            }
            let next = std::future::poll_fn(|cx| self.body.as_mut().poll_next(cx));
            let frame = match self.idle_timeout {
                Some(t) => tokio::time::timeout(t, next).await.map_err(|_| {
                    Error::timed_out(format!("no MTOM message data arrived within {} ms", t.as_millis()))
                })?,
                None => next.await,
            };
            match frame {
                Some(Ok(bytes)) => self.parser.push_bytes(bytes)?,
                Some(Err(e)) => return Err(e),
                None => self.body_done = true,
            }
        }
    }

    /// Reads the root part (the envelope) whole, within `limit` bytes. Returns the root
    /// part's `Content-Type` and its bytes.
    pub(crate) async fn read_root(&mut self, limit: usize) -> Result<(Option<String>, Bytes)> {
        let content_type = match self.next_event().await? {
            MultipartEvent::PartStart { headers } => {
                self.check.check_part(&headers)?;
                headers.content_type().map(str::to_owned)
            }
            _ => return Err(Error::invalid_format("the MTOM message has no root part")),
        };
        let mut root = bytes::BytesMut::new();
        loop {
            match self.next_event().await? {
                MultipartEvent::PartData(d) => {
                    if root.len() + d.len() > limit {
                        return Err(Error::quota_exceeded(format!(
                            "the MTOM envelope part is more than max_buffered_message_size ({limit}) bytes"
                        )));
                    }
                    root.extend_from_slice(&d);
                }
                MultipartEvent::PartEnd => return Ok((content_type, root.freeze())),
                _ => return Err(Error::invalid_format("the MTOM root part did not end")),
            }
        }
    }
}

/// `poll_event` after `finish` can only be the final `End` (or a failure).
fn continue_with(event: Result<MultipartEvent>) -> Result<()> {
    match event? {
        MultipartEvent::End => Ok(()),
        _ => Err(Error::invalid_format("the MIME body ended inside a part")),
    }
}

/// A part read ahead of the one the application asked for, held whole in memory.
struct SpilledPart {
    content_id: String,
    content_type: String,
    chunks: VecDeque<Bytes>,
    complete: bool,
    handed_out: bool,
}

struct PartsState {
    reader: MtomReader,
    /// The attachment part the reader is inside of, if any.
    current: Option<CurrentPart>,
    /// Parts the reader went past while their data was still wanted, in wire order.
    spilled: Vec<SpilledPart>,
    spilled_bytes: usize,
    /// Content-IDs of every attachment part seen so far.
    seen: HashSet<String>,
    /// A failure of the underlying message: every later call reports it.
    failure: Option<Error>,
}

struct CurrentPart {
    content_id: String,
    content_type: String,
    handed_out: bool,
    /// The application closed it early: its remaining data is dropped, not spilled.
    discard: bool,
}

/// The attachment parts of one received MTOM message, shared by the message and the
/// [`InboundAttachment`] handles taken from it.
pub(crate) struct InboundParts {
    state: tokio::sync::Mutex<PartsState>,
    references: Vec<String>,
    max_spill: usize,
}

impl std::fmt::Debug for InboundParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboundParts").field("references", &self.references).finish_non_exhaustive()
    }
}

impl InboundParts {
    /// The parts after the root, read from `reader` (positioned after the root part);
    /// `references` are the Content-IDs the envelope refers to.
    pub(crate) fn new(reader: MtomReader, references: Vec<String>, max_spill: usize) -> Arc<InboundParts> {
        Arc::new(InboundParts {
            state: tokio::sync::Mutex::new(PartsState {
                reader,
                current: None,
                spilled: Vec::new(),
                spilled_bytes: 0,
                seen: HashSet::new(),
                failure: None,
            }),
            references,
            max_spill,
        })
    }

    /// The Content-IDs the envelope's `xop:Include` elements refer to, in document order.
    pub(crate) fn references(&self) -> &[String] {
        &self.references
    }

    /// Hands out the part `content_id`, reading ahead to it if needed.
    pub(crate) async fn open(self: &Arc<Self>, content_id: &str) -> Result<InboundAttachment> {
        let mut s = self.state.lock().await;
        let r = self.open_locked(&mut s, Some(content_id)).await;
        r.map(|found| found.map(|(id, ct)| InboundAttachment::new(self.clone(), id, ct)))?.ok_or_else(|| {
            Error::invalid_format(format!("the MTOM message has no part with Content-ID '{content_id}'"))
        })
    }

    /// Hands out the next part not yet handed out, in wire order; `None` after the last.
    pub(crate) async fn next(self: &Arc<Self>) -> Result<Option<InboundAttachment>> {
        let mut s = self.state.lock().await;
        let r = self.open_locked(&mut s, None).await?;
        Ok(r.map(|(id, ct)| InboundAttachment::new(self.clone(), id, ct)))
    }

    async fn open_locked(&self, s: &mut PartsState, wanted: Option<&str>) -> Result<Option<(String, String)>> {
        if let Some(e) = &s.failure {
            return Err(e.clone());
        }
        let matches = |id: &str| wanted.is_none_or(|w| w == id);
        if let Some(p) = s.spilled.iter_mut().find(|p| matches(&p.content_id) && !p.handed_out) {
            p.handed_out = true;
            return Ok(Some((p.content_id.clone(), p.content_type.clone())));
        }
        if let Some(c) = s.current.as_mut() {
            if matches(&c.content_id) && !c.handed_out {
                c.handed_out = true;
                return Ok(Some((c.content_id.clone(), c.content_type.clone())));
            }
        }
        if let Some(w) = wanted {
            if s.seen.contains(w) {
                return Err(Error::invalid_operation(format!(
                    "the attachment '{w}' was already taken from the message"
                )));
            }
        }
        // Read ahead, keeping what the current part still owes its reader.
        loop {
            let event = self.pull(s).await?;
            match event {
                MultipartEvent::PartData(d) => self.spill(s, d)?,
                MultipartEvent::PartEnd => self.end_current(s),
                MultipartEvent::PartStart { headers } => {
                    let role = s.reader.check.check_part(&headers).inspect_err(|e| s.failure = Some(e.clone()))?;
                    let id = headers.content_id().unwrap_or_default().to_owned();
                    if role != PartRole::Attachment || !self.references.contains(&id) {
                        let e = Error::invalid_format(format!(
                            "MIME part '{id}' is not referenced by any xop:Include in the envelope"
                        ));
                        s.failure = Some(e.clone());
                        return Err(e);
                    }
                    let content_type = headers.content_type().unwrap_or("application/octet-stream").to_owned();
                    s.seen.insert(id.clone());
                    let handed_out = matches(&id);
                    s.current = Some(CurrentPart {
                        content_id: id.clone(),
                        content_type: content_type.clone(),
                        handed_out,
                        discard: false,
                    });
                    if handed_out {
                        return Ok(Some((id, content_type)));
                    }
                }
                MultipartEvent::End => return Ok(None),
            }
        }
    }

    async fn pull(&self, s: &mut PartsState) -> Result<MultipartEvent> {
        match s.reader.next_event().await {
            Ok(e) => Ok(e),
            Err(e) => {
                s.failure = Some(e.clone());
                Err(e)
            }
        }
    }

    /// Data of the current part arrived while reading ahead: keep it for its reader.
    fn spill(&self, s: &mut PartsState, data: Bytes) -> Result<()> {
        let Some(c) = s.current.as_ref() else { return Ok(()) };
        if c.discard {
            return Ok(());
        }
        if s.spilled_bytes + data.len() > self.max_spill {
            let e = Error::quota_exceeded(format!(
                "reaching a later attachment would buffer more than {} bytes of attachment '{}'; read attachments in message order to stream them",
                self.max_spill, c.content_id
            ));
            s.failure = Some(e.clone());
            return Err(e);
        }
        s.spilled_bytes += data.len();
        let (id, ct, handed_out) = (c.content_id.clone(), c.content_type.clone(), c.handed_out);
        match s.spilled.iter_mut().find(|p| p.content_id == id) {
            Some(p) => p.chunks.push_back(data),
            None => s.spilled.push(SpilledPart {
                content_id: id,
                content_type: ct,
                chunks: VecDeque::from([data]),
                complete: false,
                handed_out,
            }),
        }
        Ok(())
    }

    fn end_current(&self, s: &mut PartsState) {
        if let Some(c) = s.current.take() {
            if c.discard {
                return;
            }
            match s.spilled.iter_mut().find(|p| p.content_id == c.content_id) {
                Some(p) => p.complete = true,
                None => s.spilled.push(SpilledPart {
                    content_id: c.content_id,
                    content_type: c.content_type,
                    chunks: VecDeque::new(),
                    complete: true,
                    handed_out: c.handed_out,
                }),
            }
        }
    }

    /// The next bytes of part `id` for its reader; `None` at its end.
    async fn next_chunk(&self, id: &str) -> Result<Option<Bytes>> {
        let mut s = self.state.lock().await;
        if let Some(i) = s.spilled.iter().position(|p| p.content_id == id) {
            let p = &mut s.spilled[i];
            if let Some(chunk) = p.chunks.pop_front() {
                s.spilled_bytes -= chunk.len();
                return Ok(Some(chunk));
            }
            if p.complete {
                s.spilled.remove(i);
                return Ok(None);
            }
            // Partly spilled and still the current part: continue from the network.
        }
        if let Some(e) = &s.failure {
            return Err(e.clone());
        }
        match s.current.as_ref() {
            Some(c) if c.content_id == id => {}
            _ => return Err(Error::invalid_operation(format!("attachment '{id}' is no longer readable"))),
        }
        match self.pull(&mut s).await? {
            MultipartEvent::PartData(d) => Ok(Some(d)),
            MultipartEvent::PartEnd => {
                s.current = None;
                Ok(None)
            }
            _ => {
                let e = Error::invalid_format("MIME part ended without its end");
                s.failure = Some(e.clone());
                Err(e)
            }
        }
    }

    /// The application closed part `id` before its end: drop what is buffered and what is
    /// still to come.
    fn discard(&self, id: &str) {
        // try_lock: close never waits. If a read is in flight on another handle, the part's
        // data is spilled instead and dropped when the message goes.
        if let Ok(mut s) = self.state.try_lock() {
            if let Some(i) = s.spilled.iter().position(|p| p.content_id == id) {
                let p = s.spilled.remove(i);
                s.spilled_bytes -= p.chunks.iter().map(Bytes::len).sum::<usize>();
            }
            if let Some(c) = s.current.as_mut() {
                if c.content_id == id {
                    c.discard = true;
                }
            }
        }
    }
}

/// One attachment of a received MTOM message (`IWSDInboundAttachment`), read as the
/// network delivers it.
///
/// * WSDAPI's surface: [`read`](Self::read) fills a buffer and returns
///   [`ReadOutcome::Data`] (`S_OK`) or, at the end, [`ReadOutcome::End`] (`S_FALSE`) with the
///   final bytes; [`close`](Self::close) ends an unfinished transfer (optional after the
///   end). Reading after `close` is `0x800710DD`.
/// * Rust's: [`next_chunk`](Self::next_chunk), [`into_stream`](Self::into_stream) (a
///   `Stream<Item = Result<Bytes>>`) and [`into_async_read`](Self::into_async_read) (a
///   [`tokio::io::AsyncRead`]).
///
/// Each network read waits at most the channel's receive timeout. Dropping an unfinished
/// attachment closes it.
pub struct InboundAttachment {
    parts: Arc<InboundParts>,
    content_id: String,
    content_type: String,
    leftover: Bytes,
    received: u64,
    ended: bool,
    closed: bool,
}

impl std::fmt::Debug for InboundAttachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboundAttachment")
            .field("content_id", &self.content_id)
            .field("content_type", &self.content_type)
            .field("received", &self.received)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl Drop for InboundAttachment {
    fn drop(&mut self) {
        if !self.ended && !self.closed {
            self.parts.discard(&self.content_id);
        }
    }
}

impl InboundAttachment {
    fn new(parts: Arc<InboundParts>, content_id: String, content_type: String) -> InboundAttachment {
        InboundAttachment {
            parts,
            content_id,
            content_type,
            leftover: Bytes::new(),
            received: 0,
            ended: false,
            closed: false,
        }
    }

    /// The Content-ID (without angle brackets).
    pub fn content_id(&self) -> &str {
        &self.content_id
    }

    /// The part's media type (`application/octet-stream` when it has none).
    pub fn content_type(&self) -> &str {
        &self.content_type
    }

    /// Bytes received so far.
    pub fn bytes_received(&self) -> u64 {
        self.received
    }

    /// The next bytes, as the network delivered them (no copy); `None` at the end.
    pub async fn next_chunk(&mut self) -> Result<Option<Bytes>> {
        if self.closed {
            return Err(Error::invalid_operation("read after close"));
        }
        if !self.leftover.is_empty() {
            return Ok(Some(std::mem::take(&mut self.leftover)));
        }
        if self.ended {
            return Ok(None);
        }
        loop {
            match self.parts.next_chunk(&self.content_id).await? {
                Some(c) if c.is_empty() => continue,
                Some(c) => {
                    self.received += c.len() as u64;
                    return Ok(Some(c));
                }
                None => {
                    self.ended = true;
                    return Ok(None);
                }
            }
        }
    }

    /// `IWSDInboundAttachment::Read`: fills `buf` as far as the data allows and returns
    /// `Data(n)` (`S_OK`), or `End(n)` (`S_FALSE`) when the attachment ended, `n` being the
    /// final bytes copied by this call (0 on every later call). `0x800710DD` after
    /// [`close`](Self::close).
    pub async fn read(&mut self, buf: &mut [u8]) -> AttachmentResult<ReadOutcome> {
        if self.closed {
            return Err(AttachmentError::InvalidOperation("Read is not allowed after Close".to_owned()));
        }
        let mut n = 0;
        while n < buf.len() {
            if self.leftover.is_empty() {
                match self.next_chunk().await.map_err(AttachmentError::Failed)? {
                    Some(c) => self.leftover = c,
                    None => return Ok(ReadOutcome::End(n)),
                }
            }
            let take = self.leftover.len().min(buf.len() - n);
            buf[n..n + take].copy_from_slice(&self.leftover.split_to(take));
            n += take;
        }
        if self.ended && self.leftover.is_empty() {
            return Ok(ReadOutcome::End(n));
        }
        Ok(ReadOutcome::Data(n))
    }

    /// `IWSDInboundAttachment::Close`: stops an unfinished transfer (the rest of the part is
    /// skipped on the wire, not kept); optional after the end. Repeating it is allowed.
    pub fn close(&mut self) -> AttachmentResult<()> {
        if !self.closed && !self.ended {
            self.parts.discard(&self.content_id);
        }
        self.closed = true;
        self.leftover = Bytes::new();
        Ok(())
    }

    /// Reads the whole attachment into memory, failing with `WS_E_QUOTA_EXCEEDED` past
    /// `limit` bytes.
    pub async fn to_bytes(mut self, limit: usize) -> Result<Bytes> {
        let mut out = bytes::BytesMut::new();
        while let Some(c) = self.next_chunk().await? {
            if out.len() + c.len() > limit {
                return Err(Error::quota_exceeded(format!("the attachment is more than {limit} bytes")));
            }
            out.extend_from_slice(&c);
        }
        Ok(out.freeze())
    }

    /// The attachment as a `Stream` of chunks.
    pub fn into_stream(self) -> AttachmentStream {
        AttachmentStream { state: StreamState::Idle(Some(self)) }
    }

    /// The attachment as a [`tokio::io::AsyncRead`].
    pub fn into_async_read(self) -> impl tokio::io::AsyncRead + Send + Unpin {
        tokio_util::io::StreamReader::new(AttachmentIoStream(self.into_stream()))
    }
}

type ChunkFuture = Pin<Box<dyn Future<Output = (InboundAttachment, Result<Option<Bytes>>)> + Send>>;

enum StreamState {
    Idle(Option<InboundAttachment>),
    Reading(ChunkFuture),
    Done,
}

/// An [`InboundAttachment`] as a `Stream<Item = Result<Bytes>>`, from
/// [`InboundAttachment::into_stream`].
pub struct AttachmentStream {
    state: StreamState,
}

impl std::fmt::Debug for AttachmentStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttachmentStream").finish_non_exhaustive()
    }
}

impl Stream for AttachmentStream {
    type Item = Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes>>> {
        loop {
            match &mut self.state {
                StreamState::Done => return Poll::Ready(None),
                StreamState::Idle(a) => {
                    let Some(mut a) = a.take() else {
                        self.state = StreamState::Done;
                        return Poll::Ready(None);
                    };
                    self.state = StreamState::Reading(Box::pin(async move {
                        let r = a.next_chunk().await;
                        (a, r)
                    }));
                }
                StreamState::Reading(f) => {
                    let (a, r) = match f.as_mut().poll(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(x) => x,
                    };
                    return match r {
                        Ok(Some(c)) => {
                            self.state = StreamState::Idle(Some(a));
                            Poll::Ready(Some(Ok(c)))
                        }
                        Ok(None) => {
                            self.state = StreamState::Done;
                            Poll::Ready(None)
                        }
                        Err(e) => {
                            self.state = StreamState::Done;
                            Poll::Ready(Some(Err(e)))
                        }
                    };
                }
            }
        }
    }
}

struct AttachmentIoStream(AttachmentStream);

impl Stream for AttachmentIoStream {
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<std::io::Result<Bytes>>> {
        Pin::new(&mut self.0).poll_next(cx).map(|o| {
            o.map(|r| {
                r.map_err(|e| {
                    let kind = match e.kind() {
                        ErrorKind::OperationTimedOut => std::io::ErrorKind::TimedOut,
                        ErrorKind::EndpointDisconnected => std::io::ErrorKind::ConnectionReset,
                        _ => std::io::ErrorKind::InvalidData,
                    };
                    std::io::Error::new(kind, e)
                })
            })
        })
    }
}
