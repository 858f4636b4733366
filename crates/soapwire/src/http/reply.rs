//! [`ReplyChannel`]: one request/reply exchange on the server side of the HTTP binding
//! (`WS_CHANNEL_TYPE_REPLY`).
//!
//! The loop WWSAPI documents is `accept receive end* send? end* close`: a reply channel
//! carries exactly one request and at most one reply. Closing without a reply answers
//! `202 Accepted` (a one-way exchange: the client's receive gets `WS_S_END`). A rude close
//! drops the connection without a response.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http::{HeaderValue, Response, StatusCode, header};
use hyper::body::Incoming;
use soapwire_proto::channel::{ChannelCall, ChannelState};
use soapwire_proto::properties::{ChannelProperties, Timeout};
use soapwire_proto::soap::{self, Envelope, EnvelopeVersion, Fault, FaultCode};
use soapwire_proto::xml::QName;
use soapwire_proto::{Error, ErrorKind, Result};
use tokio::sync::{OwnedSemaphorePermit, oneshot, watch};

use super::body::{BodyProgress, OutBody, TrackedBody};
use super::listener::{Exchange, Listener, Reply};
use super::monitor::ConnectionMonitor;
use crate::attachment::{MtomSend, StreamingBody};
use crate::core::ChannelCore;
use crate::message::Message;
use soapwire_proto::mime::MultipartType;
use soapwire_proto::properties::MessageEncoding;

#[derive(Default)]
struct ReplyState {
    request: Option<Incoming>,
    respond: Option<oneshot::Sender<Reply>>,
    monitor: Option<Arc<ConnectionMonitor>>,
    remote: Option<SocketAddr>,
    path: Option<String>,
    version: Option<EnvelopeVersion>,
    action: Option<String>,
    /// The multipart parameters of an MTOM request.
    mtom: Option<MultipartType>,
    /// The task streaming an MTOM reply, while it runs.
    streaming: Option<StreamingBody>,
    received: bool,
    /// A fault decided while receiving (mustUnderstand, version mismatch) that
    /// `send_fault_for_error` sends instead of a generic one.
    receive_fault: Option<Fault>,
    sent: Option<watch::Receiver<BodyProgress>>,
    permit: Option<OwnedSemaphorePermit>,
}

/// The server side of one request/reply exchange, accepted from a [`Listener`].
///
/// ```no_run
/// # async fn serve(listener: &soapwire::Listener) -> soapwire::Result<()> {
/// use soapwire::{Message, ReplyChannel};
///
/// let channel = ReplyChannel::new(listener);
/// listener.accept_channel(&channel).await?;
/// let mut request = channel.new_message();
/// channel.receive_message(&mut request).await?;
/// let mut reply = channel.new_message();
/// reply.initialize_reply(&request, "urn:reply", "<r xmlns='urn:x'/>")?;
/// channel.send_reply(&mut reply).await?;
/// channel.close().await?;
/// # Ok(()) }
/// ```
pub struct ReplyChannel {
    core: ChannelCore,
    properties: ChannelProperties,
    any_envelope_version: bool,
    understood: Mutex<Vec<QName>>,
    state: Mutex<ReplyState>,
}

impl std::fmt::Debug for ReplyChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplyChannel").field("state", &self.state()).finish_non_exhaustive()
    }
}

impl Drop for ReplyChannel {
    fn drop(&mut self) {
        // A dropped channel is aborted: the connection is dropped without a response.
        self.abort();
    }
}

impl ReplyChannel {
    /// A channel for `listener`, in state `Created` (`WsCreateChannelForListener`). It takes
    /// the listener's channel properties.
    pub fn new(listener: &Listener) -> ReplyChannel {
        ReplyChannel::for_listener_properties(listener.properties())
    }

    pub(crate) fn for_listener_properties(p: &soapwire_proto::properties::ListenerProperties) -> ReplyChannel {
        ReplyChannel {
            core: ChannelCore::new(),
            properties: p.channel.clone(),
            any_envelope_version: p.any_envelope_version,
            understood: Mutex::new(Vec::new()),
            state: Mutex::new(ReplyState::default()),
        }
    }

    pub(crate) fn core(&self) -> &ChannelCore {
        &self.core
    }

    fn with<T>(&self, f: impl FnOnce(&mut ReplyState) -> T) -> T {
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    pub(crate) fn install(&self, exchange: Exchange, permit: OwnedSemaphorePermit) {
        let path = exchange.request.uri().path().to_owned();
        let (_, body) = exchange.request.into_parts();
        self.with(|s| {
            *s = ReplyState {
                request: Some(body),
                respond: Some(exchange.respond),
                monitor: Some(exchange.monitor),
                remote: Some(exchange.remote),
                path: Some(path),
                version: Some(exchange.version),
                action: exchange.action,
                mtom: exchange.mtom,
                permit: Some(permit),
                ..ReplyState::default()
            }
        });
    }

    /// The channel's properties.
    pub fn properties(&self) -> &ChannelProperties {
        &self.properties
    }

    /// A snapshot of the channel's state.
    pub fn state(&self) -> ChannelState {
        self.core.state()
    }

    /// The client's address (`WS_CHANNEL_PROPERTY_REMOTE_ADDRESS`), once accepted.
    pub fn remote_address(&self) -> Option<SocketAddr> {
        self.with(|s| s.remote)
    }

    /// The request's envelope version, once accepted.
    pub fn envelope_version(&self) -> EnvelopeVersion {
        self.with(|s| s.version).unwrap_or(self.properties.envelope_version)
    }

    /// Declares a header this application understands, so a `mustUnderstand` header of that
    /// name does not fault. The addressing headers are always understood.
    pub fn understand_header(&self, name: QName) {
        self.understood.lock().unwrap_or_else(|p| p.into_inner()).push(name);
    }

    /// A new empty message with this channel's versions (the request's envelope version once
    /// accepted).
    pub fn new_message(&self) -> Message {
        Message::new(self.envelope_version(), self.properties.addressing_version)
    }

    /// `WsReceiveMessage`: reads the request (buffered, at most `max_buffered_message_size`
    /// bytes, within the receive timeout), checks `mustUnderstand`, and fills `message`
    /// (`Empty → Done`). Returns `Ok(false)` (`WS_S_END`) when the request was already
    /// received: a reply channel carries one request.
    pub async fn receive_message(&self, message: &mut Message) -> Result<bool> {
        message.state_machine().check_receive()?;
        let op = self.core.begin(ChannelCall::Receive)?;
        let (body, version, action) = match self.with(|s| (s.request.take(), s.version, s.action.clone())) {
            (Some(body), Some(version), action) => (body, version, action),
            _ => return Ok(false),
        };
        self.with(|s| s.received = true);
        if !self.any_envelope_version && version != self.properties.envelope_version {
            let fault =
                Fault::new(FaultCode::VersionMismatch, "the envelope version is not the one this endpoint accepts");
            self.with(|s| s.receive_fault = Some(fault));
            return Err(Error::invalid_format(format!(
                "a {version:?} message arrived on a {:?} channel",
                self.properties.envelope_version
            )));
        }
        let limit = self.properties.max_buffered_message_size;
        let mtom = self.with(|s| s.mtom.clone());
        let (envelope, parts) = match &mtom {
            Some(multipart) => {
                let (envelope, parts) = op
                    .run(
                        "receiving the MTOM request envelope",
                        self.properties.timeout(Timeout::Receive),
                        // Boxed: the MIME reader's state is large and 32-byte aligned (its
                        // SIMD boundary searcher), and would otherwise make every receive
                        // future, MTOM or not, that large and an aligned allocation.
                        Box::pin(super::read_mtom_envelope(body, multipart, version, &self.properties)),
                    )
                    .await?;
                (envelope, Some(parts))
            }
            None => {
                let bytes = op
                    .run(
                        "receiving the request",
                        self.properties.timeout(Timeout::Receive),
                        super::read_body_limited(body, limit, MAX_DRAIN_BYTES),
                    )
                    .await?;
                let envelope =
                    Envelope::parse(bytes, Some(version), &self.properties.reader_quotas, self.properties.max_headers)?;
                (envelope, None)
            }
        };
        if let Err(rejected) = crate::core::check_must_understand(&envelope, &self.understood) {
            let (fault, error) = *rejected;
            self.with(|s| s.receive_fault = Some(fault));
            return Err(error);
        }
        message.set_envelope_version(version);
        message.fill_from(envelope, action, &self.properties.reader_quotas)?;
        if mtom.is_some() {
            message.set_inbound(parts);
        }
        message.state_machine().read_completed()?;
        self.check_reply_address(message)?;
        Ok(true)
    }

    /// WWSAPI's security advice, soapwire's rule: replies and faults only ever go back on the
    /// connection the request came on. A request whose ReplyTo or FaultTo names another
    /// address gets a `wsa:OnlyAnonymousAddressSupported` fault (WS-Addressing 1.0 Metadata;
    /// `InvalidMessageInformationHeader` for 2004/08) instead of a reply sent elsewhere.
    fn check_reply_address(&self, message: &mut Message) -> Result<()> {
        let version = message.addressing_version();
        if message.addressing().reply_is_anonymous(version) {
            return Ok(());
        }
        let (ns, subcode) = match version.namespace() {
            Some(ns) if version == soapwire_proto::addressing::AddressingVersion::V0_9 => {
                (ns, "InvalidMessageInformationHeader")
            }
            Some(ns) => (ns, "OnlyAnonymousAddressSupported"),
            None => return Ok(()),
        };
        let mut fault = Fault::new(
            FaultCode::Sender,
            "this endpoint only replies on the request's own connection (anonymous ReplyTo and FaultTo)",
        );
        fault.subcodes.push(QName::new(ns, subcode));
        self.with(|s| s.receive_fault = Some(fault));
        Err(Error::invalid_format(
            "ReplyTo or FaultTo is not the anonymous address; only anonymous replies are supported",
        ))
    }

    /// `WsSendReplyMessage`: sends `reply` (initialized with [`Message::initialize_reply`])
    /// as the HTTP response. A fault message goes with status 500 (SOAP 1.1 and 1.2
    /// receiver faults) or 400 (SOAP 1.2 sender faults), as the SOAP HTTP bindings say.
    pub async fn send_reply(&self, reply: &mut Message) -> Result<()> {
        reply.state_machine().check_send()?;
        let _op = self.core.begin(ChannelCall::Send)?;
        let status = match reply.fault_code(&self.properties.reader_quotas)? {
            Some(code) => fault_status(&code, reply.envelope_version()),
            None => StatusCode::OK,
        };
        self.respond(reply, status).await
    }

    /// `WsSendFaultMessageForError`: answers with the fault for `error` (or the fault that
    /// receiving decided, e.g. `MustUnderstand`). The error's strings are disclosed in the
    /// fault reason: they describe the client's own request.
    pub async fn send_fault_for_error(&self, request: Option<&Message>, error: &Error) -> Result<()> {
        let fault = self.with(|s| s.receive_fault.take()).unwrap_or_else(|| Fault::from_error(error, true));
        let mut reply = self.new_message();
        reply.initialize_fault(request, &fault)?;
        self.send_reply(&mut reply).await
    }

    async fn respond(&self, reply: &mut Message, status: StatusCode) -> Result<()> {
        if reply.addressing().relates_to.is_some() && reply.addressing().to.is_none() {
            let anonymous = reply.addressing_version().anonymous_uri().map(str::to_owned);
            reply.addressing_mut().to = anonymous;
        }
        let bytes = reply.encode();
        if bytes.len() > self.properties.max_buffered_message_size {
            return Err(Error::quota_exceeded(format!(
                "the reply is {} bytes, more than max_buffered_message_size ({})",
                bytes.len(),
                self.properties.max_buffered_message_size
            )));
        }
        if self.with(|s| s.respond.is_none()) {
            return Err(Error::invalid_operation("a reply was already sent on this channel"));
        }
        // An MTOM request gets an MTOM reply (its client reads MTOM), as does any reply with
        // attachments or on a channel whose encoding is MTOM.
        let request_was_mtom = self.with(|s| s.mtom.is_some());
        let encoding = match self.properties.encoding {
            e if e.is_mtom() => e,
            _ => MessageEncoding::MtomUtf8,
        };
        let (out, content_type, streaming) =
            if reply.wants_mtom() || request_was_mtom || self.properties.encoding.is_mtom() {
                let parts = reply.take_outgoing();
                let job = MtomSend::new(
                    bytes,
                    reply.envelope_version(),
                    reply.action(),
                    encoding,
                    parts,
                    self.properties.timeout(Timeout::Send),
                )?;
                job.wait_for_start(self.properties.timeout(Timeout::Send)).await?;
                let (tx, rx) = tokio::sync::mpsc::channel(4);
                let content_type = job.content_type.clone();
                (OutBody::Stream(rx), content_type, Some((job, tx)))
            } else {
                (OutBody::full(bytes), soap::content_type(reply.envelope_version(), reply.action()), None)
            };
        let (respond, monitor) = self.with(|s| (s.respond.take(), s.monitor.clone()));
        let respond = respond.ok_or_else(|| Error::invalid_operation("a reply was already sent on this channel"))?;
        let monitor = monitor.unwrap_or_default();
        reply.state_machine().write_started()?;
        if let Some((job, tx)) = streaming {
            let streaming = job.spawn(tx);
            self.with(|s| s.streaming = Some(streaming));
        }
        let (body, progress) = TrackedBody::new(out, monitor);
        let mut response = Response::new(body);
        *response.status_mut() = status;
        let ct = HeaderValue::from_str(&content_type)
            .unwrap_or_else(|_| HeaderValue::from_static("application/soap+xml; charset=utf-8"));
        response.headers_mut().insert(header::CONTENT_TYPE, ct);
        self.with(|s| s.sent = Some(progress));
        respond.send(Reply::Response(response)).map_err(|_| {
            Error::new(ErrorKind::EndpointDisconnected, "the client closed the connection before the reply")
        })?;
        reply.state_machine().write_completed()
    }

    /// `WsAbortChannel`: the connection is dropped without a response; pending calls end with
    /// `WS_E_OPERATION_ABORTED`. Allowed in every state.
    pub fn abort(&self) {
        self.core.abort();
        self.drop_exchange();
    }

    fn drop_exchange(&self) {
        let (respond, permit) = self.with(|s| {
            s.request = None;
            (s.respond.take(), s.permit.take())
        });
        if let Some(r) = respond {
            let _ = r.send(Reply::Drop);
        }
        drop(permit);
    }

    /// `WsCloseChannel` (see the `core` module for the sentences it implements). Graceful:
    /// if no reply was sent, answers `202 Accepted`; then waits until the response has been
    /// flushed to the connection. An error there (the client went away) is returned and the
    /// channel is `Closed` all the same. Rude: the connection is dropped.
    pub async fn close(&self) -> Result<()> {
        // A streamed MTOM reply: while the application still writes an attachment, the
        // message is being written, so the close is rude (the seed's rule); once every
        // attachment is closed, let the transmission finish first (it is bounded by the send
        // timeout per chunk, not by the close timeout, so large transfers can complete).
        if let Some(streaming) = self.with(|s| s.streaming.take()) {
            streaming.fail_unfinished(&Error::aborted("the channel was closed while the attachment was being written"));
            streaming.finished().await;
        }
        let r = self
            .core
            .close(self.properties.timeout(Timeout::Close), || self.graceful_shutdown(), || self.drop_exchange())
            .await;
        drop(self.with(|s| s.permit.take()));
        r
    }

    async fn graceful_shutdown(&self) -> Result<()> {
        let (respond, monitor) = self.with(|s| (s.respond.take(), s.monitor.clone()));
        if let Some(respond) = respond {
            // One-way: acknowledge with 202 and no body.
            let (body, progress) = TrackedBody::new(OutBody::Empty, monitor.clone().unwrap_or_default());
            let mut response = Response::new(body);
            *response.status_mut() = StatusCode::ACCEPTED;
            self.with(|s| s.sent = Some(progress));
            if respond.send(Reply::Response(response)).is_err() {
                return Err(Error::new(
                    ErrorKind::EndpointDisconnected,
                    "the client closed the connection before the response",
                ));
            }
        }
        let (sent, monitor) = self.with(|s| (s.sent.take(), s.monitor.clone()));
        let (Some(mut sent), Some(monitor)) = (sent, monitor) else {
            return Ok(());
        };
        let disconnected =
            || Error::new(ErrorKind::EndpointDisconnected, "the connection closed before the response was sent");
        let taken = loop {
            match *sent.borrow_and_update() {
                BodyProgress::Taken(n) => break n,
                BodyProgress::Dropped => return Err(disconnected()),
                BodyProgress::Sending => {}
            }
            if sent.changed().await.is_err() {
                return match *sent.borrow() {
                    BodyProgress::Taken(_) => Ok(()),
                    _ => Err(disconnected()),
                };
            }
        };
        monitor.wait_flushed_after(taken).await.map_err(|()| disconnected())
    }

    /// `WsResetChannel`: `Created | Closed → Created`, ready for the next accept.
    pub fn reset(&self) -> Result<()> {
        self.core.reset()?;
        self.with(|s| *s = ReplyState::default());
        Ok(())
    }

    /// `WsAbandonMessage` for the request being read. Reply channels read whole messages,
    /// so there is never one mid-read: this checks the state and returns `E_INVALIDARG`.
    pub fn abandon_message(&self, message: &Message) -> Result<()> {
        self.core.abandon(message.id()).map(|_| ())
    }

    /// The request path, once accepted.
    pub fn request_path(&self) -> Option<String> {
        self.with(|s| s.path.clone())
    }

    /// Bytes helper for services: the request's action as the transport carried it.
    pub fn transport_action(&self) -> Option<String> {
        self.with(|s| s.action.clone())
    }
}

/// How much of an over-quota request body is read and discarded so that the fault can be
/// delivered: clients that write the whole request before reading the response (gSOAP, most
/// blocking stacks) would otherwise get a broken pipe instead of the fault. Past this, the
/// connection is dropped after the fault.
const MAX_DRAIN_BYTES: u64 = 4 * 1024 * 1024;

/// The HTTP status for a fault (SOAP 1.2 HTTP binding §7.5.2; SOAP 1.1 always 500).
fn fault_status(code: &FaultCode, version: EnvelopeVersion) -> StatusCode {
    match (version, code) {
        (EnvelopeVersion::Soap12, FaultCode::Sender) => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}
