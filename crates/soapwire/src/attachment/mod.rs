//! Streamed MTOM attachments: [`OutboundAttachment`] (`IWSDOutboundAttachment`) and
//! [`InboundAttachment`] (`IWSDInboundAttachment`), and the transport-independent machinery
//! that moves them: `MtomSend` turns a message and its attachments into the chunks of one
//! MTOM body, with back pressure from the connection; `inbound::MtomReader` and
//! `inbound::InboundParts` read a received one lazily.
//!
//! The semantics (which call may block, what `close` waits for, what `abort` does to the
//! message) are those of the sans-IO cores in [`soapwire_proto::attachment`]; this module
//! adds the waiting, the timers and the bytes.

pub(crate) mod inbound;
pub(crate) mod outbound;

use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use soapwire_proto::attachment::Transmit;
use soapwire_proto::mime::MultipartWriter;
use soapwire_proto::mtom;
use soapwire_proto::properties::MessageEncoding;
use soapwire_proto::soap::EnvelopeVersion;
use soapwire_proto::{Error, ErrorKind, Result};
use tokio::sync::mpsc;

pub use inbound::{AttachmentStream, InboundAttachment};
pub use outbound::{AttachmentWriter, OutboundAttachment};
pub(crate) use outbound::{OutgoingPart, PartSource};

/// Chunks handed to the HTTP body; an `Err` aborts the message on the wire.
pub(crate) type ChunkSender = mpsc::Sender<std::result::Result<Bytes, std::io::Error>>;

/// The largest piece taken from an attachment buffer at once.
const MAX_CHUNK: usize = 64 * 1024;

/// A new Content-ID for an attachment: a v4 UUID `@soapwire`.
pub fn new_content_id() -> String {
    format!("{}@soapwire", uuid::Uuid::new_v4())
}

/// One MTOM message ready to be sent: the HTTP `Content-Type`, the envelope part, and the
/// attachment parts, which [`MtomSend::run`] streams into an HTTP body.
pub(crate) struct MtomSend {
    pub(crate) content_type: String,
    writer: MultipartWriter,
    envelope: Bytes,
    charset: &'static str,
    parts: Vec<OutgoingPart>,
    /// How long one chunk may wait for the connection to take it.
    send_timeout: Option<Duration>,
}

impl MtomSend {
    /// Packages `envelope` (UTF-8, as encoded by the message) and `parts`.
    pub(crate) fn new(
        envelope: Vec<u8>,
        version: EnvelopeVersion,
        action: Option<&str>,
        encoding: MessageEncoding,
        parts: Vec<OutgoingPart>,
        send_timeout: Option<Duration>,
    ) -> Result<MtomSend> {
        let start_info = mtom::start_info(version, action);
        let seed = uuid::Uuid::new_v4().to_string();
        let root_id = new_content_id();
        let writer = MultipartWriter::new(&seed, &root_id, &start_info)?;
        let content_type = mtom::content_type_for(writer.boundary(), &root_id, &start_info, action);
        let (envelope, charset) = match encoding {
            MessageEncoding::MtomUtf16Le => (mtom::utf8_to_utf16(&envelope, true)?, "UTF-16"),
            MessageEncoding::MtomUtf16Be => (mtom::utf8_to_utf16(&envelope, false)?, "UTF-16BE"),
            _ => (envelope, "UTF-8"),
        };
        Ok(MtomSend { content_type, writer, envelope: Bytes::from(envelope), charset, parts, send_timeout })
    }

    /// Starts streaming the message into `tx` in a task of its own.
    pub(crate) fn spawn(self, tx: ChunkSender) -> StreamingBody {
        let writers = self
            .parts
            .iter()
            .filter_map(|p| match &p.source {
                PartSource::Writer(w) => Some(w.clone()),
                _ => None,
            })
            .collect();
        StreamingBody { task: tokio::spawn(self.run(tx)), writers }
    }

    /// Waits (at most `timeout`) until the message may start: "the first Write opens the
    /// attachment stream and starts transmitting the HTTP headers, the SOAP envelope and
    /// MIME-encoded data". Attachments in memory or from a stream start at once.
    pub(crate) async fn wait_for_start(&self, timeout: Option<Duration>) -> Result<()> {
        let Some(PartSource::Writer(first)) = self.parts.first().map(|p| &p.source) else {
            return Ok(());
        };
        let wait = std::future::poll_fn(|cx| first.poll_started(cx));
        match timeout {
            Some(t) => tokio::time::timeout(t, wait).await.map_err(|_| {
                Error::timed_out(format!(
                    "the message waits for the first write to its attachment, which did not come within {} ms",
                    t.as_millis()
                ))
            }),
            None => {
                wait.await;
                Ok(())
            }
        }
    }

    /// Streams the whole message into `tx`. A failed or aborted attachment (or a failed
    /// stream) makes the body fail, so the peer sees a broken message, never a truncated
    /// one that looks whole; a connection that goes away fails every unfinished attachment
    /// with `WS_E_ENDPOINT_DISCONNECTED`.
    async fn run(mut self, tx: ChunkSender) {
        let parts = std::mem::take(&mut self.parts);
        let result = self.send_all(&parts, &tx).await;
        if let Err((index, error)) = result {
            tracing::debug!("MTOM message aborted: {error}");
            // The kind survives hyper's error mapping, so a stalled source is reported to
            // the sender as WS_E_OPERATION_TIMED_OUT.
            let kind = match error.kind() {
                ErrorKind::OperationTimedOut => std::io::ErrorKind::TimedOut,
                ErrorKind::EndpointDisconnected => std::io::ErrorKind::BrokenPipe,
                _ => std::io::ErrorKind::Other,
            };
            let _ = tx.try_send(Err(std::io::Error::new(kind, error.to_string())));
            for (i, part) in parts.iter().enumerate() {
                if let PartSource::Writer(shared) = &part.source {
                    let e = if i == index || error.kind() == ErrorKind::EndpointDisconnected {
                        error.clone()
                    } else {
                        Error::aborted("an earlier attachment of the message failed; the message was aborted")
                    };
                    if i >= index {
                        shared.transport_failed(e);
                    }
                }
            }
        }
    }

    async fn send_all(&mut self, parts: &[OutgoingPart], tx: &ChunkSender) -> std::result::Result<(), (usize, Error)> {
        let fail = |i: usize| move |e: Error| (i, e);
        let timeout = self.send_timeout;
        let send = |tx: &ChunkSender, chunk: Bytes| {
            let tx = tx.clone();
            async move { send_within(&tx, chunk, timeout).await }
        };
        let mut head = bytes::BytesMut::new();
        head.extend_from_slice(&self.writer.start_root_with_charset(self.charset).map_err(fail(0))?);
        head.extend_from_slice(&self.envelope);
        send(tx, head.freeze()).await.map_err(fail(0))?;
        for (i, part) in parts.iter().enumerate() {
            let header = self.writer.start_part(&part.content_id, &part.content_type).map_err(fail(i))?;
            send(tx, header).await.map_err(fail(i))?;
            match &part.source {
                PartSource::Bytes(b) => send(tx, b.clone()).await.map_err(fail(i))?,
                PartSource::Stream(stream) => {
                    let mut stream = {
                        let mut g = stream.lock().unwrap_or_else(|p| p.into_inner());
                        std::mem::replace(&mut *g, Box::pin(EmptyStream))
                    };
                    loop {
                        // A source that stops producing must not hold the connection (and a
                        // channel's close) forever: it gets the send timeout per chunk too.
                        let next = std::future::poll_fn(|cx| stream.as_mut().poll_next(cx));
                        let next = match timeout {
                            Some(t) => tokio::time::timeout(t, next).await.map_err(|_| {
                                (
                                    i,
                                    Error::timed_out(format!(
                                        "the attachment source produced nothing for {} ms (send timeout)",
                                        t.as_millis()
                                    )),
                                )
                            })?,
                            None => next.await,
                        };
                        match next {
                            Some(Ok(chunk)) => send(tx, chunk).await.map_err(fail(i))?,
                            Some(Err(e)) => {
                                return Err((i, Error::aborted(format!("reading the attachment source failed: {e}"))));
                            }
                            None => break,
                        }
                    }
                }
                PartSource::Writer(shared) => loop {
                    let transmit = tokio::select! {
                        t = std::future::poll_fn(|cx| shared.poll_transmit(cx, MAX_CHUNK)) => t,
                        () = tx.closed() => return Err((i, disconnected())),
                    };
                    match transmit {
                        Transmit::Start { .. } => {}
                        Transmit::Data(chunk) => send(tx, chunk).await.map_err(fail(i))?,
                        Transmit::End => break,
                        Transmit::Abort => {
                            return Err((i, Error::aborted("the attachment was aborted; the message was aborted")));
                        }
                    }
                },
            }
        }
        let end = self.writer.finish().map_err(fail(parts.len()))?;
        send(tx, end).await.map_err(fail(parts.len()))
    }
}

fn disconnected() -> Error {
    Error::new(ErrorKind::EndpointDisconnected, "the connection closed while the attachment was being sent")
}

async fn send_within(tx: &ChunkSender, chunk: Bytes, timeout: Option<Duration>) -> Result<()> {
    let sent = tx.send(Ok(chunk));
    match timeout {
        Some(t) => match tokio::time::timeout(t, sent).await {
            Ok(r) => r.map_err(|_| disconnected()),
            Err(_) => Err(Error::timed_out(format!(
                "the peer took no attachment data for {} ms (send timeout)",
                t.as_millis()
            ))),
        },
        None => sent.await.map_err(|_| disconnected()),
    }
}

struct EmptyStream;

impl futures_core::Stream for EmptyStream {
    type Item = std::io::Result<Bytes>;
    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> Poll<Option<std::io::Result<Bytes>>> {
        Poll::Ready(None)
    }
}

/// Wraps any byte stream as an attachment source for
/// [`Message::add_attachment_stream`](crate::Message::add_attachment_stream).
pub(crate) fn boxed_stream<S>(stream: S) -> PartSource
where
    S: futures_core::Stream<Item = std::io::Result<Bytes>> + Send + 'static,
{
    PartSource::Stream(std::sync::Mutex::new(Box::pin(stream)))
}

/// Builds an outgoing part.
pub(crate) fn part(content_id: &str, content_type: &str, source: PartSource) -> OutgoingPart {
    OutgoingPart { content_id: content_id.to_owned(), content_type: content_type.to_owned(), source }
}

/// An MTOM body being streamed by its task ([`MtomSend::spawn`]), and the attachments the
/// application still writes into it: what a channel holds until the message is sent.
pub(crate) struct StreamingBody {
    task: tokio::task::JoinHandle<()>,
    writers: Vec<std::sync::Arc<outbound::OutboundShared>>,
}

impl StreamingBody {
    /// The channel is going away while the message may be unfinished: every attachment the
    /// application is still writing fails with `error` (so the message fails on the wire and
    /// the writer learns why), then the stream task is left to end on its own.
    pub(crate) fn fail_unfinished(&self, error: &Error) {
        for w in self.writers.iter().filter(|w| w.app_still_writing()) {
            w.transport_failed(error.clone());
        }
    }

    /// Waits until the stream task has ended (every chunk handed over or the message failed).
    pub(crate) async fn finished(self) {
        let _ = self.task.await;
    }
}
