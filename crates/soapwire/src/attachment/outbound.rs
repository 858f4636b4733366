//! [`OutboundAttachment`]: the `IWSDOutboundAttachment` analogue, a stream of bytes the
//! application writes while the message that carries it is being sent.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use bytes::Bytes;
use soapwire_proto::attachment::{
    AttachmentError, AttachmentResult, CloseOutcome, OutboundConfig, OutboundCore, OutboundState, Transmit,
    WriteOutcome,
};
use soapwire_proto::mtom;
use soapwire_proto::{Error, ErrorKind};

/// The state shared by an attachment's handles and the transport that sends it.
#[derive(Debug)]
pub(crate) struct OutboundShared {
    core: Mutex<OutboundCore>,
    /// Woken when the transport took data or failed (room in the buffer, close may finish).
    app_waker: Mutex<Option<Waker>>,
    /// Woken when the application wrote, closed or aborted (something to transmit).
    transport_waker: Mutex<Option<Waker>>,
    config: OutboundConfig,
}

impl OutboundShared {
    fn lock(&self) -> std::sync::MutexGuard<'_, OutboundCore> {
        self.core.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wake(slot: &Mutex<Option<Waker>>) {
        if let Some(w) = slot.lock().unwrap_or_else(|p| p.into_inner()).take() {
            w.wake();
        }
    }

    fn register(slot: &Mutex<Option<Waker>>, cx: &Context<'_>) {
        let mut g = slot.lock().unwrap_or_else(|p| p.into_inner());
        match g.as_ref() {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => *g = Some(cx.waker().clone()),
        }
    }

    /// The transport side: the next thing to send, waiting until there is one.
    pub(crate) fn poll_transmit(&self, cx: &mut Context<'_>, max: usize) -> Poll<Transmit> {
        // Register before looking, so a write between the look and the registration is not lost.
        Self::register(&self.transport_waker, cx);
        let next = {
            let mut core = self.lock();
            match core.poll_transmit(max) {
                // Failed without a queued Abort (the transport or the channel failed it):
                // the message must still fail on the wire.
                None if core.state() == OutboundState::Failed => Some(Transmit::Abort),
                other => other,
            }
        };
        match next {
            Some(t) => {
                Self::wake(&self.app_waker);
                Poll::Ready(t)
            }
            None => Poll::Pending,
        }
    }

    /// The transport side: sending failed; the application's next call reports `error`.
    pub(crate) fn transport_failed(&self, error: Error) {
        self.lock().transport_failed(error);
        Self::wake(&self.app_waker);
    }

    /// True while the application may still write (not closed, aborted or failed): a
    /// channel closed now would cut the message short.
    pub(crate) fn app_still_writing(&self) -> bool {
        matches!(self.lock().state(), OutboundState::NotStarted | OutboundState::Writing)
    }

    /// True once the first write happened (or the attachment can never start).
    pub(crate) fn has_started(&self) -> bool {
        self.lock().state() != OutboundState::NotStarted
    }

    /// The transport side: waits until the application's first write (the message starts
    /// then), or returns at once if it already happened.
    pub(crate) fn poll_started(&self, cx: &mut Context<'_>) -> Poll<()> {
        Self::register(&self.transport_waker, cx);
        if self.has_started() { Poll::Ready(()) } else { Poll::Pending }
    }
}

/// An attachment streamed while its message is sent (`IWSDOutboundAttachment`,
/// `WsCreateOutboundAttachment` in WSDAPI terms): place it in a message with
/// [`Message::add_attachment`](crate::Message::add_attachment), refer to it from the body
/// with [`OutboundAttachment::write_include`] (`<xop:Include href="cid:..."/>`), send the
/// message, and write the data.
///
/// Two surfaces over the same state:
///
/// * **WSDAPI's**, call for call: [`write`](Self::write) never waits and returns
///   [`WriteOutcome::Blocked`] (`STG_S_BLOCK`) without taking anything when the internal
///   buffer is full; [`try_close`](Self::try_close) returns [`CloseOutcome::Blocked`] while
///   written data waits for the network, and fails after the transmission timeout (30 s by
///   default); [`abort`](Self::abort) fails the message. `close` or `abort` before any write
///   is `HRESULT_FROM_WIN32(ERROR_INVALID_OPERATION)` = `0x800710DD`, as is `close` after
///   `abort`.
/// * **Rust's**: [`write_all`](Self::write_all) and [`close`](Self::close) wait (with back
///   pressure from the connection), and [`writer`](Self::writer) is a
///   [`tokio::io::AsyncWrite`].
///
/// The first write starts the message on the wire (HTTP headers, envelope, then this
/// part), so `send_message` / `send_reply` of a message with an unstarted attachment wait
/// for it: run the writes in another task, or `join` the two futures.
///
/// ```no_run
/// # async fn demo(channel: &soapwire::RequestChannel) -> soapwire::Result<()> {
/// use soapwire::{Message, OutboundAttachment, XmlWriter};
///
/// let attachment = OutboundAttachment::new("application/octet-stream");
/// let mut body = XmlWriter::new();
/// body.start_element(Some("e"), "upload");
/// body.namespace_decl(Some("e"), "http://example.org/echo");
/// body.start_element(Some("e"), "data");
/// attachment.write_include(&mut body);
/// body.end_element();
/// body.end_element();
/// let mut request = Message::new(soapwire::EnvelopeVersion::Soap12, soapwire::AddressingVersion::V1_0);
/// request.initialize_request("http://example.org/echo/upload", body.into_bytes())?;
/// request.add_attachment(&attachment);
///
/// let writer = attachment.clone();
/// let send = channel.send_message(&mut request);
/// let write = async move {
///     writer.write_all(b"lots of bytes").await?;
///     writer.close().await
/// };
/// let (sent, written) = tokio::join!(send, write);
/// sent?;
/// written?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct OutboundAttachment {
    shared: Arc<OutboundShared>,
    content_id: Arc<str>,
    content_type: Arc<str>,
}

impl OutboundAttachment {
    /// A new attachment of media type `content_type` with a fresh Content-ID
    /// (`<uuid>@soapwire`), a 64 KiB buffer and a 30 s transmission timeout.
    pub fn new(content_type: &str) -> OutboundAttachment {
        OutboundAttachment::with_config(content_type, OutboundConfig::default())
    }

    /// A new attachment with explicit buffer size and transmission timeout.
    pub fn with_config(content_type: &str, config: OutboundConfig) -> OutboundAttachment {
        let content_id = format!("{}@soapwire", uuid::Uuid::new_v4());
        OutboundAttachment::with_content_id(&content_id, content_type, config)
    }

    /// A new attachment with the given Content-ID (without angle brackets).
    pub fn with_content_id(content_id: &str, content_type: &str, config: OutboundConfig) -> OutboundAttachment {
        OutboundAttachment {
            shared: Arc::new(OutboundShared {
                core: Mutex::new(OutboundCore::new(config)),
                app_waker: Mutex::new(None),
                transport_waker: Mutex::new(None),
                config,
            }),
            content_id: content_id.into(),
            content_type: content_type.into(),
        }
    }

    /// The Content-ID (without angle brackets).
    pub fn content_id(&self) -> &str {
        &self.content_id
    }

    /// The media type.
    pub fn content_type(&self) -> &str {
        &self.content_type
    }

    /// The `href` that refers to this attachment: `cid:` and the Content-ID.
    pub fn href(&self) -> String {
        mtom::cid_href(&self.content_id)
    }

    /// Writes `<xop:Include href="cid:..."/>` for this attachment into a body being built.
    pub fn write_include(&self, w: &mut soapwire_proto::xml::XmlWriter) {
        mtom::write_include(w, &self.content_id);
    }

    /// The attachment's state (see [`OutboundState`] for the diagram).
    pub fn state(&self) -> OutboundState {
        self.shared.lock().state()
    }

    /// Bytes the transport has taken so far.
    pub fn bytes_transmitted(&self) -> u64 {
        self.shared.lock().bytes_transmitted()
    }

    pub(crate) fn shared(&self) -> &Arc<OutboundShared> {
        &self.shared
    }

    /// `IWSDOutboundAttachment::Write`, which never waits: `Accepted(n)` took the first `n`
    /// bytes; `Blocked` (`STG_S_BLOCK`) took nothing because the buffer is full, so write
    /// the same bytes again later or abort. The first write starts the message.
    pub fn write(&self, data: &[u8]) -> AttachmentResult<WriteOutcome> {
        let r = self.shared.lock().write(data);
        if matches!(r, Ok(WriteOutcome::Accepted(_))) {
            OutboundShared::wake(&self.shared.transport_waker);
        }
        r
    }

    /// `IWSDOutboundAttachment::Close`, which never waits: `Closed` once everything written
    /// was handed to the connection, `Blocked` (`STG_S_BLOCK`) while data is pending. The
    /// first blocked close starts the transmission timeout; past it the attachment fails
    /// with `WS_E_OPERATION_TIMED_OUT` and the message is aborted. An error from an earlier
    /// write or from the connection is returned here.
    pub fn try_close(&self) -> AttachmentResult<CloseOutcome> {
        let r = self.shared.lock().close(Instant::now());
        OutboundShared::wake(&self.shared.transport_waker);
        r
    }

    /// `IWSDOutboundAttachment::Abort`: pending data is discarded and the message fails on
    /// the wire (the peer sees a broken message, never a truncated one that looks whole).
    /// `0x800710DD` before any write.
    pub fn abort(&self) -> AttachmentResult<()> {
        let r = self.shared.lock().abort();
        OutboundShared::wake(&self.shared.transport_waker);
        OutboundShared::wake(&self.shared.app_waker);
        r
    }

    /// Writes all of `data`, waiting for room in the buffer. Waiting for room is bounded by
    /// the transmission timeout: a peer that stops reading makes this fail with
    /// `WS_E_OPERATION_TIMED_OUT` (the attachment is then aborted).
    pub async fn write_all(&self, mut data: &[u8]) -> AttachmentResult<()> {
        // Always one call, so that an empty write still starts the attachment.
        loop {
            let n = self.write_some(data).await?;
            data = &data[n..];
            if data.is_empty() {
                return Ok(());
            }
        }
    }

    async fn write_some(&self, data: &[u8]) -> AttachmentResult<usize> {
        let deadline = tokio::time::Instant::now() + self.shared.config.transmission_timeout;
        let wait = std::future::poll_fn(|cx| self.poll_write_core(cx, data));
        match tokio::time::timeout_at(deadline, wait).await {
            Ok(r) => r,
            Err(_) => {
                let error = Error::timed_out(format!(
                    "the attachment buffer did not drain within {:?}: the peer is not reading",
                    self.shared.config.transmission_timeout
                ));
                self.shared.transport_failed(error.clone());
                let _ = self.abort();
                Err(AttachmentError::Failed(error))
            }
        }
    }

    fn poll_write_core(&self, cx: &mut Context<'_>, data: &[u8]) -> Poll<AttachmentResult<usize>> {
        OutboundShared::register(&self.shared.app_waker, cx);
        match self.write(data) {
            Ok(WriteOutcome::Accepted(n)) => Poll::Ready(Ok(n)),
            Ok(WriteOutcome::Blocked) => Poll::Pending,
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    /// Closes the attachment and waits until everything written was handed to the
    /// connection (at most the transmission timeout, 30 s by default, after which it fails
    /// with `WS_E_OPERATION_TIMED_OUT`). Errors as [`try_close`](Self::try_close).
    pub async fn close(&self) -> AttachmentResult<()> {
        let timeout = self.shared.config.transmission_timeout;
        let deadline = tokio::time::Instant::now() + timeout;
        let wait = std::future::poll_fn(|cx| {
            OutboundShared::register(&self.shared.app_waker, cx);
            match self.try_close() {
                Ok(CloseOutcome::Closed) => Poll::Ready(Ok(())),
                Ok(CloseOutcome::Blocked) => Poll::Pending,
                Err(e) => Poll::Ready(Err(e)),
            }
        });
        match tokio::time::timeout_at(deadline, wait).await {
            Ok(r) => r,
            Err(_) => {
                // The core's own deadline is the same instant (or a hair later): let it fail.
                let now = Instant::now() + std::time::Duration::from_millis(5);
                self.shared.lock().handle_timeout(now);
                OutboundShared::wake(&self.shared.transport_waker);
                match self.try_close() {
                    Ok(CloseOutcome::Closed) => Ok(()),
                    Err(e) => Err(e),
                    Ok(CloseOutcome::Blocked) => Err(AttachmentError::Failed(Error::timed_out(format!(
                        "close: the attachment was not transmitted within {timeout:?}"
                    )))),
                }
            }
        }
    }

    /// An [`AsyncWrite`](tokio::io::AsyncWrite) over this attachment: `poll_write` waits
    /// for room, `poll_shutdown` is [`close`](Self::close) without its timeout (wrap it in
    /// one), `poll_flush` waits until every written byte was handed to the connection.
    pub fn writer(&self) -> AttachmentWriter {
        AttachmentWriter { attachment: self.clone() }
    }
}

/// The [`AsyncWrite`](tokio::io::AsyncWrite) face of an [`OutboundAttachment`], from
/// [`OutboundAttachment::writer`].
#[derive(Debug)]
pub struct AttachmentWriter {
    attachment: OutboundAttachment,
}

fn to_io(e: AttachmentError) -> std::io::Error {
    let kind = match e.kind() {
        Some(ErrorKind::OperationTimedOut) => std::io::ErrorKind::TimedOut,
        Some(ErrorKind::EndpointDisconnected) => std::io::ErrorKind::BrokenPipe,
        _ => std::io::ErrorKind::Other,
    };
    std::io::Error::new(kind, e)
}

impl tokio::io::AsyncWrite for AttachmentWriter {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.attachment.poll_write_core(cx, buf).map_err(to_io)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let shared = &self.attachment.shared;
        OutboundShared::register(&shared.app_waker, cx);
        let core = shared.lock();
        if core.state() == OutboundState::Failed {
            drop(core);
            return match self.attachment.write(&[]) {
                Err(e) => Poll::Ready(Err(to_io(e))),
                Ok(_) => Poll::Ready(Ok(())),
            };
        }
        if core.buffered() == 0 { Poll::Ready(Ok(())) } else { Poll::Pending }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        OutboundShared::register(&self.attachment.shared.app_waker, cx);
        if self.attachment.state() == OutboundState::NotStarted {
            // An empty attachment: start it so close is legal.
            self.attachment.write(&[]).map_err(to_io)?;
        }
        match self.attachment.try_close() {
            Ok(CloseOutcome::Closed) => Poll::Ready(Ok(())),
            Ok(CloseOutcome::Blocked) => Poll::Pending,
            Err(e) => Poll::Ready(Err(to_io(e))),
        }
    }
}

/// A boxed stream of attachment bytes.
pub(crate) type BoxedByteStream = Pin<Box<dyn futures_core::Stream<Item = std::io::Result<Bytes>> + Send>>;

/// What a message sends as one MIME part after the envelope.
pub(crate) enum PartSource {
    /// Bytes already in memory, sent without copying.
    Bytes(Bytes),
    /// A stream of chunks, pulled as the connection takes them; an error aborts the message.
    /// (In a mutex only so that a message holding it is `Sync`; the pump is its only user.)
    Stream(Mutex<BoxedByteStream>),
    /// An attachment the application writes.
    Writer(Arc<OutboundShared>),
}

/// One outgoing MIME part of a message.
pub(crate) struct OutgoingPart {
    pub(crate) content_id: String,
    pub(crate) content_type: String,
    pub(crate) source: PartSource,
}

impl std::fmt::Debug for OutgoingPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.source {
            PartSource::Bytes(b) => format!("{} bytes", b.len()),
            PartSource::Stream(_) => "stream".to_owned(),
            PartSource::Writer(_) => "writer".to_owned(),
        };
        f.debug_struct("OutgoingPart")
            .field("content_id", &self.content_id)
            .field("content_type", &self.content_type)
            .field("source", &kind)
            .finish()
    }
}
