//! [`RequestChannel`]: the client side of SOAP over HTTP (`WS_CHANNEL_TYPE_REQUEST` on
//! `WS_HTTP_CHANNEL_BINDING`).
//!
//! One channel owns at most one HTTP/1.1 connection, kept alive across requests and
//! re-established when the server closed it. A request is either buffered (sent with
//! `Content-Length`, at most `max_buffered_message_size` bytes) or streamed
//! (`write_message_start` / `write_body` / `write_message_end`, chunked). The reply is read
//! whole, within `max_buffered_message_size`, and parsed with the reader quotas.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use soapwire_proto::addressing::AddressingVersion;
use soapwire_proto::channel::{ChannelCall, ChannelState};
use soapwire_proto::properties::{ChannelProperties, Timeout};
use soapwire_proto::soap::{self, Envelope};
use soapwire_proto::{Error, ErrorKind, Result};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::body::OutBody;
use super::{EndpointUrl, io_error, read_body_limited};
use crate::attachment::{MtomSend, StreamingBody};
use crate::core::{ChannelCore, Direction};
use crate::message::Message;
use soapwire_proto::mtom::MtomContentType;
use soapwire_proto::properties::MessageEncoding;

type ResponseFuture = Pin<Box<dyn Future<Output = hyper::Result<Response<Incoming>>> + Send>>;

/// One live HTTP/1.1 connection.
struct Connection {
    sender: SendRequest<OutBody>,
    task: JoinHandle<()>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        // Dropping the connection task closes the socket: a rude end for anything in flight.
        self.task.abort();
    }
}

#[derive(Default)]
struct ClientState {
    url: Option<EndpointUrl>,
    connection: Option<Connection>,
    /// The response of the request in flight (sent, reply not yet read).
    response: Option<ResponseFuture>,
    /// The request whose reply is awaited (for RelatesTo correlation).
    awaiting_reply_to: Option<Option<String>>,
    /// The chunk sender of a message being written in streamed mode.
    body_tx: Option<mpsc::Sender<std::result::Result<Bytes, std::io::Error>>>,
    /// Bytes sent so far of the message being written (`max_streamed_message_size`).
    streamed_bytes: u64,
    /// The task streaming an MTOM request, and the attachments the application writes.
    streaming: Option<StreamingBody>,
    /// The last reply was MTOM: its attachments may still be on the connection.
    reply_streamed: bool,
}

/// The client side of request/reply over HTTP: `open`, then any number of
/// `request_reply` (or `send_message` + `receive_message`), then `close`.
///
/// Every method takes `&self`, so a channel shared through an `Arc` can be aborted or
/// closed from another task while a call is pending. Dropping an open channel aborts it.
///
/// ```no_run
/// # async fn demo() -> soapwire::Result<()> {
/// use soapwire::{RequestChannel, ChannelProperties};
///
/// let channel = RequestChannel::new(ChannelProperties::default());
/// channel.open("http://127.0.0.1:8080/echo").await?;
/// let reply = channel
///     .call("http://example.org/echo/echo",
///           r#"<e:echo xmlns:e="http://example.org/echo"><e:message>hi</e:message></e:echo>"#)
///     .await?;
/// println!("{}", String::from_utf8_lossy(reply.body_xml()));
/// channel.close().await?;
/// # Ok(()) }
/// ```
pub struct RequestChannel {
    core: ChannelCore,
    properties: ChannelProperties,
    state: Mutex<ClientState>,
}

impl std::fmt::Debug for RequestChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestChannel").field("state", &self.state()).finish_non_exhaustive()
    }
}

impl Drop for RequestChannel {
    fn drop(&mut self) {
        // A dropped channel is aborted: pending calls end, the connection is closed.
        self.core.abort();
    }
}

impl RequestChannel {
    /// A new channel in state `Created` (`WsCreateChannel`).
    pub fn new(properties: ChannelProperties) -> RequestChannel {
        RequestChannel { core: ChannelCore::new(), properties, state: Mutex::new(ClientState::default()) }
    }

    /// The channel's properties.
    pub fn properties(&self) -> &ChannelProperties {
        &self.properties
    }

    /// A snapshot of the channel's state (`WS_CHANNEL_PROPERTY_STATE`).
    pub fn state(&self) -> ChannelState {
        self.core.state()
    }

    fn with<T>(&self, f: impl FnOnce(&mut ClientState) -> T) -> T {
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    /// `WsOpenChannel`: `Created → Opening → Open`. The URL must be `http://host[:port]/path`;
    /// anything else is `WS_E_INVALID_ENDPOINT_URL`. HTTP needs no I/O to open: the
    /// connection is made by the first request.
    pub async fn open(&self, url: &str) -> Result<()> {
        self.core.open_started()?;
        if self.properties.encoding.is_binary() {
            let e = Error::new(ErrorKind::InvalidArgument, "binary XML encodings need a session binding (net.tcp)");
            return self.core.open_completed(Err(e));
        }
        let parsed = EndpointUrl::parse(url);
        let outcome = parsed.map(|u| self.with(|s| s.url = Some(u)));
        self.core.open_completed(outcome)
    }

    /// `WsAbortChannel`: cancels every pending call (they end with `WS_E_OPERATION_ABORTED`)
    /// and drops the connection. `Open → Faulted`. Allowed in every state; never waits.
    pub fn abort(&self) {
        self.core.abort();
        self.drop_connection();
    }

    /// `WsResetChannel`: `Created | Closed → Created`, ready to open again.
    pub fn reset(&self) -> Result<()> {
        self.core.reset()?;
        self.with(|s| *s = ClientState::default());
        Ok(())
    }

    /// `WsCloseChannel`, exactly as documented (see the `core` module): waits for pending
    /// I/O; graceful if no message is being read or written, rude otherwise; bounded by the
    /// close timeout; the channel ends `Closed` even when an error is returned.
    pub async fn close(&self) -> Result<()> {
        self.core
            .close(
                self.properties.timeout(Timeout::Close),
                || async {
                    // Graceful for HTTP: nothing is owed to the server. The idle connection is
                    // closed with FIN.
                    self.release_connection();
                    Ok(())
                },
                || self.drop_connection(),
            )
            .await
    }

    fn drop_connection(&self) {
        if let Some(streaming) = self.with(|s| s.streaming.take()) {
            streaming.fail_unfinished(&Error::aborted(
                "the channel was closed or aborted while the attachment was being written",
            ));
        }
        let taken = self.with(|s| {
            s.response = None;
            s.body_tx = None;
            s.awaiting_reply_to = None;
            s.connection.take()
        });
        drop(taken);
    }

    fn release_connection(&self) {
        self.drop_connection();
    }

    /// `WsAbandonMessage`: stops reading or writing `message` on this channel without
    /// blocking. A message being written is aborted on the wire (the server sees a failed
    /// request); the unread part of a reply is discarded. `E_INVALIDARG` if `message` is not
    /// the one being read or written.
    pub fn abandon_message(&self, message: &Message) -> Result<()> {
        match self.core.abandon(message.id())? {
            Direction::Write => {
                if let Some(tx) = self.with(|s| s.body_tx.take()) {
                    let _ = tx.try_send(Err(std::io::Error::other("message abandoned")));
                }
                self.drop_connection();
            }
            Direction::Read => {}
        }
        Ok(())
    }

    /// Sends `request` and reads the reply into `reply` (`WsRequestReply`). `request` must be
    /// `Initialized`, `reply` `Empty`. A fault reply is returned as
    /// `WS_E_ENDPOINT_FAULT_RECEIVED` with the fault attached; the fault message is also left
    /// in `reply`.
    pub async fn request_reply(&self, request: &mut Message, reply: &mut Message) -> Result<()> {
        reply.state_machine().check_receive()?;
        self.send_message(request).await?;
        match self.receive_message(reply).await? {
            true => Ok(()),
            false => Err(Error::new(ErrorKind::InvalidFormat, "the server sent no reply message (HTTP 202/204)")),
        }
    }

    /// Convenience: builds a request with `action` and `body` (raw XML content of
    /// `soap:Body`) using the channel's versions, sends it and returns the reply message.
    pub async fn call(&self, action: &str, body: impl Into<Bytes>) -> Result<Message> {
        let mut request = Message::new(self.properties.envelope_version, self.properties.addressing_version);
        request.initialize_request(action, body)?;
        let mut reply = Message::new(self.properties.envelope_version, self.properties.addressing_version);
        self.request_reply(&mut request, &mut reply).await?;
        Ok(reply)
    }

    /// `WsSendMessage` on a request channel: sends the whole (buffered) message as an HTTP
    /// request; read the reply with [`RequestChannel::receive_message`].
    pub async fn send_message(&self, message: &mut Message) -> Result<()> {
        // Every check comes before the message is touched: a refused call leaves it as it was.
        message.state_machine().check_send()?;
        let op = self.core.begin(ChannelCall::Send)?;
        if self.with(|s| s.response.is_some() || s.body_tx.is_some()) {
            return Err(Error::invalid_operation(
                "a request is already in flight on this channel; receive its reply first",
            ));
        }
        if message.state() == soapwire_proto::channel::MessageState::Empty {
            message.state_machine().initialize()?;
        }
        self.prepare_addressing(message);
        let bytes = message.encode();
        if bytes.len() > self.properties.max_buffered_message_size {
            return Err(Error::quota_exceeded(format!(
                "the message is {} bytes, more than max_buffered_message_size ({})",
                bytes.len(),
                self.properties.max_buffered_message_size
            )));
        }
        let send_timeout = self.properties.timeout(Timeout::Send);
        let future = if message.wants_mtom() || self.properties.encoding.is_mtom() {
            let encoding = match self.properties.encoding {
                e if e.is_mtom() => e,
                _ => MessageEncoding::MtomUtf8,
            };
            let parts = message.take_outgoing();
            let job =
                MtomSend::new(bytes, message.envelope_version(), message.action(), encoding, parts, send_timeout)?;
            message.state_machine().write_started()?;
            // "The first Write opens the attachment stream and starts transmitting the HTTP
            // headers": nothing goes out before it.
            op.run("waiting for the first attachment write", send_timeout, job.wait_for_start(None)).await?;
            let (tx, rx) = mpsc::channel(4);
            let request = self.build_request(message, OutBody::Stream(rx), Some(&job.content_type))?;
            let future = op.run("sending the request", send_timeout, self.dispatch(request)).await?;
            let streaming = job.spawn(tx);
            self.with(|s| s.streaming = Some(streaming));
            future
        } else {
            message.state_machine().write_started()?;
            let request = self.build_request(message, OutBody::full(bytes), None)?;
            op.run("sending the request", send_timeout, self.dispatch(request)).await?
        };
        let reply_to = message.addressing().message_id.clone();
        self.with(|s| {
            s.response = Some(future);
            s.awaiting_reply_to = Some(reply_to);
        });
        message.state_machine().write_completed()?;
        Ok(())
    }

    /// `WsWriteMessageStart` (streamed output): starts the HTTP request with a chunked body
    /// and sends the envelope start and headers. `message` must be `Initialized`; it is
    /// `Writing` afterwards and associated with the channel until
    /// [`RequestChannel::write_message_end`].
    pub async fn write_message_start(&self, message: &mut Message) -> Result<()> {
        let op = self.core.begin(ChannelCall::WriteMessageStart)?;
        if self.with(|s| s.response.is_some() || s.body_tx.is_some()) {
            return Err(Error::invalid_operation(
                "a request is already in flight on this channel; receive its reply first",
            ));
        }
        if message.state() != soapwire_proto::channel::MessageState::Initialized {
            return Err(Error::invalid_operation(format!(
                "write_message_start needs an Initialized message, not {}",
                message.state()
            )));
        }
        self.core.associate(Direction::Write, message.id())?;
        message.state_machine().write_started()?;
        self.prepare_addressing(message);
        let (tx, rx) = mpsc::channel(4);
        let request = self.build_request(message, OutBody::Stream(rx), None)?;
        let future = match op
            .run("starting the request", self.properties.timeout(Timeout::Send), self.dispatch(request))
            .await
        {
            Ok(f) => f,
            Err(e) => {
                self.core.disassociate(Direction::Write);
                return Err(e);
            }
        };
        let mut start = soapwire_proto::xml::XmlWriter::new();
        soap::write_envelope_start(message.envelope_version(), &message.wire_headers(), &mut start);
        let reply_to = message.addressing().message_id.clone();
        self.with(|s| {
            s.response = Some(future);
            s.awaiting_reply_to = Some(reply_to);
            s.body_tx = Some(tx.clone());
            s.streamed_bytes = 0;
        });
        op.run(
            "writing the envelope start",
            self.properties.timeout(Timeout::Send),
            send_chunk(&tx, start.into_bytes().into()),
        )
        .await
    }

    /// `WsWriteBody` + `WsFlushBody`: sends a chunk of body XML of a message being written.
    pub async fn write_body(&self, message: &Message, xml: impl Into<Bytes>) -> Result<()> {
        let op = self.core.begin(ChannelCall::WriteMessageStart)?;
        if !self.core.is_associated(Direction::Write, message.id()) {
            return Err(Error::invalid_operation("the message is not being written on this channel"));
        }
        let xml: Bytes = xml.into();
        let limit = self.properties.max_streamed_message_size;
        let (tx, total) = self.with(|s| {
            s.streamed_bytes = s.streamed_bytes.saturating_add(xml.len() as u64);
            (s.body_tx.clone(), s.streamed_bytes)
        });
        let tx = tx.ok_or_else(|| Error::aborted("the message write was aborted"))?;
        if total > limit {
            // The message cannot be completed: abort it on the wire so the server sees a
            // failed request, not a truncated one, and end the association.
            let _ = tx.try_send(Err(std::io::Error::other("max_streamed_message_size exceeded")));
            self.with(|s| s.body_tx = None);
            self.core.disassociate(Direction::Write);
            self.drop_connection();
            return Err(Error::quota_exceeded(format!(
                "the streamed message exceeds max_streamed_message_size ({limit} bytes)"
            )));
        }
        op.run("writing the body", self.properties.timeout(Timeout::Send), send_chunk(&tx, xml)).await
    }

    /// `WsWriteMessageEnd`: sends the closing tags and ends the request body.
    pub async fn write_message_end(&self, message: &mut Message) -> Result<()> {
        let op = self.core.begin(ChannelCall::WriteMessageEnd)?;
        if !self.core.is_associated(Direction::Write, message.id()) {
            return Err(Error::invalid_operation("the message is not being written on this channel"));
        }
        let tx = self.with(|s| s.body_tx.take()).ok_or_else(|| Error::aborted("the message write was aborted"))?;
        let mut end = soapwire_proto::xml::XmlWriter::new();
        soap::write_envelope_end(&mut end);
        let r = op
            .run(
                "writing the envelope end",
                self.properties.timeout(Timeout::Send),
                send_chunk(&tx, end.into_bytes().into()),
            )
            .await;
        drop(tx);
        self.core.disassociate(Direction::Write);
        r?;
        message.state_machine().write_completed()
    }

    /// `WsReceiveMessage` on a request channel: reads the reply to the request sent last, as
    /// one whole-message operation (pending I/O that `close` waits for). Returns `Ok(false)`
    /// for `WS_S_END` (the server answered 202/204 with no message).
    pub async fn receive_message(&self, message: &mut Message) -> Result<bool> {
        message.state_machine().check_receive()?;
        let op = self.core.begin(ChannelCall::Receive)?;
        if !self.receive_into(&op, message).await? {
            return Ok(false);
        }
        message.state_machine().read_completed()?;
        if let Some(fault) = message.fault(&self.properties.reader_quotas)? {
            return Err(fault.into_error());
        }
        Ok(true)
    }

    /// `WsReadMessageStart`: waits for the reply and reads it. On success the message is
    /// `Reading` and associated with the channel (it is "being read" for `close`) until
    /// [`RequestChannel::read_message_end`] or `abandon_message`. Returns `Ok(false)` for
    /// `WS_S_END`.
    pub async fn read_message_start(&self, message: &mut Message) -> Result<bool> {
        message.state_machine().check_receive()?;
        let op = self.core.begin(ChannelCall::ReadMessageStart)?;
        let got = self.receive_into(&op, message).await?;
        if got {
            self.core.associate(Direction::Read, message.id())?;
        }
        Ok(got)
    }

    async fn receive_into(&self, op: &crate::core::Op<'_>, message: &mut Message) -> Result<bool> {
        let (future, reply_to) = self.with(|s| (s.response.take(), s.awaiting_reply_to.take()));
        let future = future
            .ok_or_else(|| Error::invalid_operation("no request was sent on this channel; nothing to receive"))?;
        let result = self.read_reply(op, future, message, reply_to.flatten()).await;
        if result.is_err() {
            // The connection's state is unknown after a failed read; do not reuse it.
            self.drop_connection();
        }
        result
    }

    /// `WsReadMessageEnd`: `Reading → Done`, ends the association.
    pub async fn read_message_end(&self, message: &mut Message) -> Result<()> {
        let _op = self.core.begin(ChannelCall::ReadMessageEnd)?;
        if !self.core.is_associated(Direction::Read, message.id()) {
            return Err(Error::invalid_operation("the message is not being read on this channel"));
        }
        self.core.disassociate(Direction::Read);
        message.state_machine().read_completed()
    }

    async fn read_reply(
        &self,
        op: &crate::core::Op<'_>,
        future: ResponseFuture,
        message: &mut Message,
        request_id: Option<String>,
    ) -> Result<bool> {
        let response = op
            .run("waiting for the response", self.properties.timeout(Timeout::ReceiveResponse), async {
                future.await.map_err(hyper_error)
            })
            .await?;
        let status = response.status();
        let content_type =
            response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let www_auth =
            response.headers().get(header::WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()).map(str::to_owned);
        if let Some(ct) = content_type.as_deref().filter(|ct| MtomContentType::is_multipart(ct)) {
            let mtom = MtomContentType::parse(ct, None)?;
            if let Some(e) = status_error_without_soap(status) {
                return Err(e);
            }
            let (envelope, parts) = op
                .run(
                    "receiving the MTOM response envelope",
                    self.properties.timeout(Timeout::Receive),
                    super::read_mtom_envelope(response.into_body(), &mtom.multipart, mtom.version, &self.properties),
                )
                .await?;
            // The attachments are still on the connection: it cannot carry the next request
            // until they are read or the message is dropped.
            self.with(|s| s.reply_streamed = true);
            message.set_envelope_version(envelope.version);
            message.fill_from(envelope, mtom.action, &self.properties.reader_quotas)?;
            message.set_inbound(Some(parts));
            return check_relates_to(message, request_id);
        }
        let limit = self.properties.max_buffered_message_size;
        let body = op
            .run(
                "receiving the response",
                self.properties.timeout(Timeout::Receive),
                read_body_limited(response.into_body(), limit, 0),
            )
            .await?;
        if body.is_empty()
            && (status == StatusCode::ACCEPTED || status == StatusCode::NO_CONTENT || status == StatusCode::OK)
        {
            return Ok(false);
        }
        let parsed = match content_type.as_deref() {
            Some(ct) => soap::parse_content_type(ct, None),
            None => Err(Error::invalid_format("the response has no Content-Type")),
        };
        let (version, action) = match parsed {
            Ok(v) => v,
            Err(e) => return Err(status_error(status, www_auth.as_deref()).unwrap_or(e)),
        };
        if let Some(e) = status_error_without_soap(status) {
            return Err(e);
        }
        let envelope =
            Envelope::parse(body, Some(version), &self.properties.reader_quotas, self.properties.max_headers)?;
        message.set_envelope_version(envelope.version);
        message.fill_from(envelope, action, &self.properties.reader_quotas)?;
        check_relates_to(message, request_id)
    }

    /// Gives the request a MessageID (and To) when addressing headers are in use, so the
    /// reply can be correlated.
    fn prepare_addressing(&self, message: &mut Message) {
        if message.addressing_version() == AddressingVersion::Transport || message.is_raw() {
            return;
        }
        let url = self.with(|s| s.url.as_ref().map(|u| u.to_string()));
        let a = message.addressing_mut();
        if a.message_id.is_none() {
            a.message_id = Some(format!("urn:uuid:{}", uuid::Uuid::new_v4()));
        }
        if a.to.is_none() {
            a.to = url;
        }
    }

    fn build_request(&self, message: &Message, body: OutBody, content_type: Option<&str>) -> Result<Request<OutBody>> {
        let url = self.with(|s| s.url.clone()).ok_or_else(|| Error::invalid_operation("the channel has no address"))?;
        let version = message.envelope_version();
        let action = message.action();
        let mut builder = Request::builder()
            .method(Method::POST)
            .uri(url.path_and_query.as_str())
            .header(header::HOST, url.authority.as_str())
            .header(
                header::CONTENT_TYPE,
                content_type.map_or_else(|| soap::content_type(version, action), str::to_owned),
            )
            .header(header::USER_AGENT, concat!("soapwire/", env!("CARGO_PKG_VERSION")));
        if let Some(sa) = soap::soap_action_header(version, action) {
            let v = HeaderValue::from_str(&sa)
                .map_err(|_| Error::new(ErrorKind::InvalidArgument, "the action is not a valid header value"))?;
            builder = builder.header("SOAPAction", v);
        }
        builder
            .body(body)
            .map_err(|e| Error::new(ErrorKind::InvalidArgument, format!("cannot build the HTTP request: {e}")))
    }

    /// Queues the request on the connection (connecting first if needed) and returns the
    /// future of its response. The connection stays in the channel while the response is
    /// awaited; a cancelled dispatch drops it.
    async fn dispatch(&self, request: Request<OutBody>) -> Result<ResponseFuture> {
        // A kept-alive connection the server closed since the last exchange is replaced:
        // `is_closed` may not know it yet when the connection task is still winding down
        // on another thread, `ready` does.
        let streamed = self.with(|s| std::mem::take(&mut s.reply_streamed));
        let reused = match self.with(|s| s.connection.take()) {
            // After a reply whose attachments may still be unread, the connection is reused
            // only if it is free at once; otherwise a new one is made rather than waiting.
            Some(mut c) if !c.sender.is_closed() && streamed => {
                let ready = tokio::time::timeout(std::time::Duration::from_millis(50), c.sender.ready()).await;
                matches!(ready, Ok(Ok(()))).then_some(c)
            }
            Some(mut c) if !c.sender.is_closed() => c.sender.ready().await.is_ok().then_some(c),
            _ => None,
        };
        let mut connection = match reused {
            Some(c) => c,
            None => {
                let url = self
                    .with(|s| s.url.clone())
                    .ok_or_else(|| Error::invalid_operation("the channel has no address"))?;
                let mut c = connect(&url, &self.properties).await?;
                c.sender.ready().await.map_err(hyper_error)?;
                c
            }
        };
        let future = connection.sender.send_request(request);
        self.with(|s| s.connection = Some(connection));
        Ok(Box::pin(future))
    }
}

/// WS-Addressing correlation: a reply whose RelatesTo names another request is refused.
fn check_relates_to(message: &mut Message, request_id: Option<String>) -> Result<bool> {
    let relates_to = message.addressing().relates_to.clone();
    if let (Some(sent), Some(relates)) = (request_id, relates_to) {
        if sent != relates {
            message.reset();
            return Err(Error::invalid_format(format!(
                "the reply's RelatesTo ({relates}) does not match the request's MessageID ({sent})"
            )));
        }
    }
    Ok(true)
}

async fn send_chunk(tx: &mpsc::Sender<std::result::Result<Bytes, std::io::Error>>, chunk: Bytes) -> Result<()> {
    tx.send(Ok(chunk)).await.map_err(|_| {
        Error::new(ErrorKind::EndpointDisconnected, "the connection closed while the message was being written")
    })
}

async fn connect(url: &EndpointUrl, properties: &ChannelProperties) -> Result<Connection> {
    let target = format!("{}:{}", url.host, url.port);
    let resolve = async {
        tokio::net::lookup_host(target.as_str())
            .await
            .map_err(|e| Error::new(ErrorKind::EndpointNotFound, format!("cannot resolve {}: {e}", url.host)))
    };
    let addrs: Vec<_> =
        with_timeout(properties.timeout(Timeout::Resolve), "resolving the host", resolve).await?.collect();
    let first = addrs
        .first()
        .copied()
        .ok_or_else(|| Error::new(ErrorKind::EndpointNotFound, format!("{} has no address", url.host)))?;
    let stream = with_timeout(properties.timeout(Timeout::Connect), "connecting", async {
        tokio::net::TcpStream::connect(first).await.map_err(|e| io_error(e, &format!("connecting to {first}")))
    })
    .await?;
    let _ = stream.set_nodelay(properties.no_delay);
    let (sender, conn) = with_timeout(properties.timeout(Timeout::Connect), "the HTTP handshake", async {
        hyper::client::conn::http1::Builder::new()
            .max_buf_size(properties.max_http_request_headers_buffer_size.max(8192))
            .handshake(TokioIo::new(stream))
            .await
            .map_err(hyper_error)
    })
    .await?;
    let task = tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!("HTTP client connection ended: {e}");
        }
    });
    Ok(Connection { sender, task })
}

async fn with_timeout<T>(
    timeout: Option<std::time::Duration>,
    what: &str,
    fut: impl Future<Output = Result<T>>,
) -> Result<T> {
    match timeout {
        Some(t) => tokio::time::timeout(t, fut)
            .await
            .unwrap_or_else(|_| Err(Error::timed_out(format!("{what} did not complete within {} ms", t.as_millis())))),
        None => fut.await,
    }
}

/// Maps a hyper error to the documented code.
pub(crate) fn hyper_error(e: hyper::Error) -> Error {
    use std::error::Error as _;
    if e.is_timeout() {
        return Error::timed_out(format!("HTTP: {e}"));
    }
    if let Some(io) = e.source().and_then(|s| s.downcast_ref::<std::io::Error>()) {
        return io_error(std::io::Error::new(io.kind(), io.to_string()), "HTTP");
    }
    if e.is_parse() || e.is_parse_status() || e.is_parse_too_large() {
        return Error::invalid_format(format!("invalid HTTP: {e}"));
    }
    if e.is_incomplete_message() || e.is_closed() || e.is_canceled() || e.is_body_write_aborted() {
        return Error::new(ErrorKind::EndpointDisconnected, format!("HTTP: {e}"));
    }
    Error::new(ErrorKind::EndpointDisconnected, format!("HTTP: {e}"))
}

/// The error an HTTP status means when the response is not a SOAP message.
fn status_error(status: StatusCode, www_authenticate: Option<&str>) -> Option<Error> {
    let msg = |what: &str| format!("HTTP {status}: {what}");
    Some(match status.as_u16() {
        200..=299 => return None,
        401 => {
            let scheme = www_authenticate.unwrap_or("").to_ascii_lowercase();
            let kind = if scheme.starts_with("basic") {
                ErrorKind::ServerRequiresBasicAuth
            } else if scheme.starts_with("digest") {
                ErrorKind::ServerRequiresDigestAuth
            } else if scheme.starts_with("ntlm") {
                ErrorKind::ServerRequiresNtlmAuth
            } else if scheme.starts_with("negotiate") {
                ErrorKind::ServerRequiresNegotiateAuth
            } else {
                ErrorKind::EndpointAccessDenied
            };
            Error::new(kind, msg("authentication required"))
        }
        403 => Error::new(ErrorKind::EndpointAccessDenied, msg("access denied")),
        404 => Error::new(ErrorKind::EndpointNotFound, msg("no such endpoint")),
        407 => Error::new(ErrorKind::ProxyAccessDenied, msg("proxy authentication required")),
        413 => Error::new(ErrorKind::QuotaExceeded, msg("the server refused the message size")),
        503 => Error::new(ErrorKind::EndpointNotAvailable, msg("service unavailable")),
        _ => Error::new(ErrorKind::EndpointFailure, msg("the endpoint could not process the request")),
    })
}

/// Statuses that are errors even with a SOAP body (a fault body is read normally).
fn status_error_without_soap(status: StatusCode) -> Option<Error> {
    match status.as_u16() {
        200..=299 | 400 | 500 => None,
        _ => status_error(status, None),
    }
}
